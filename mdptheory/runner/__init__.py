"""Running algorithms against exact ground truth: the online loop, the offline driver (and,
from the sweep layer, config grids x seeds on several backends)."""
from .online import Dataset, Episode, collect, offline, online

__all__ = ["online", "offline", "collect", "Episode", "Dataset"]
