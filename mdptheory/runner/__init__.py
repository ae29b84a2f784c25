"""Running algorithms against exact ground truth: the online loop, the offline driver (and,
from the sweep layer, config grids x seeds on several backends)."""
from .online import Dataset, Episode, collect, offline, online

__all__ = ["online", "offline", "collect", "Episode", "Dataset"]
from .backends import BackendError, make_backend
from .storage import ResultStore, comparable, config_hash
from .sweep import RunFailed, UsageError, run_experiment, run_sweep

__all__ += ["run_sweep", "run_experiment", "make_backend", "ResultStore", "comparable",
            "config_hash", "RunFailed", "UsageError", "BackendError"]
