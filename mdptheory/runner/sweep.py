"""Sweeps: one experiment x a grid of configs x seeds, stored run by run, resumable.

A *run* is ``experiment.run(config, seed)`` for one config and one seed; it returns a tidy
DataFrame. :func:`run_sweep` computes the runs not yet stored (all of them with
``resume=False``) on a backend (``serial``, ``process``, ``ray``; see ``backends``), writes each
one atomically as it finishes (``storage``), and merges the requested runs into
``DIR/<experiment>/results.parquet``. A sweep killed at any moment loses only the runs in
flight; rerun, it computes the missing runs and produces exactly the table an uninterrupted
sweep produces.

Seeds. Seed ``i`` of a sweep is the integer ``i`` (``seeds=N`` means seeds 0, 1, ..., N-1), the
same for every config of the grid and every backend. So ``--seeds 20`` after ``--seeds 10``
reuses the first ten runs, and configs of a grid are compared on common random numbers. The
instance an experiment solves comes from its own config (e.g. ``instance_seed``), not from the
run seed.

The config passed to ``run`` is the experiment's config without the "seeds" key (one run does
not need the seed count), and the config hash ignores "seeds" too.

Each stored run gets three columns if ``run`` did not set them: ``seed``, ``config_hash`` and
``wall_time_s`` (seconds the run took; a timing column, ignored by ``storage.comparable``).

Resuming is keyed on (config, seed), not on code: a run stored by an earlier version of the
experiment file is reused as it is. Each run file records the SHA-256 of the experiment file
that produced it; :class:`SweepOutcome` counts reused runs from another version (``stale``),
and ``mdptheory run`` warns about them; ``rerun_stale=True`` (``--rerun-stale``, and always in
the demo) recomputes them instead.

:func:`run_experiment` is the whole of ``mdptheory run``: pick CONFIG or SMALL, apply
overrides, sweep, then write verdict.json and the figures next to results.parquet.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import experiments_registry as registry
from . import backends as _backends
from .storage import ResultStore, atomic_write_text, canonical_json, config_hash

SIZES = ("small", "paper")
DEFAULT_SEEDS = 10


class UsageError(ValueError):
    """A sweep asked for in a way that cannot run (unknown key, bad size, seeds < 1 ...)."""


class RunFailed(RuntimeError):
    """A run raised; ``details`` holds the worker's traceback."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` did: the merged table and how many runs it computed or reused."""

    table: pd.DataFrame
    computed: int
    reused: int
    seconds: float
    backend: str
    results_path: Path
    stale: int = 0       # reused runs stored by another version of the experiment file


@dataclass
class ExperimentOutcome:
    """What :func:`run_experiment` wrote: the sweep, its verdicts and figure files."""

    sweep: SweepOutcome
    verdicts: list
    figures: list
    verdict_path: Path
    config: dict
    seeds: list
    size: str
    extra: dict = field(default_factory=dict)


def seed_list(seeds) -> list[int]:
    """``N`` -> [0, ..., N-1]; an iterable of ints is taken as given (duplicates dropped)."""
    if isinstance(seeds, (int,)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise UsageError(f"seeds must be >= 1, got {seeds}")
        return list(range(seeds))
    try:
        out = list(dict.fromkeys(int(s) for s in seeds))
    except (TypeError, ValueError):
        raise UsageError(f"seeds must be a positive int or a list of ints, got {seeds!r}") \
            from None
    if not out:
        raise UsageError("seeds is empty")
    return out


def expand_grid(base: dict, grid: dict | None = None) -> list[dict]:
    """Configs of the Cartesian product of ``grid`` {key: [values]} over ``base``, in the
    order of ``grid``'s keys (last key varies fastest). Every grid key must be in ``base``."""
    if not grid:
        return [dict(base)]
    for key, values in grid.items():
        if key not in base:
            raise UsageError(f"grid key {key!r} is not in the config "
                             f"(keys: {', '.join(sorted(base))})")
        if not isinstance(values, (list, tuple)) or not values:
            raise UsageError(f"grid values for {key!r} must be a non-empty list, got {values!r}")
    keys = list(grid)
    return [dict(base, **dict(zip(keys, combo)))
            for combo in itertools.product(*(grid[k] for k in keys))]


def execute_run(exp_file: str, config: dict, seed: int, isolated: bool = True):
    """One run in whatever process the backend chose: ("ok", df, seconds) or ("error", tb).

    ``isolated``: the process is a pool/Ray worker, made single-threaded first.
    """
    if isolated:
        _backends.limit_worker_threads()
    t0 = time.perf_counter()
    try:
        module = registry.load_module_from_path(exp_file)
        df = module.run(dict(config), int(seed))
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"run() returned {type(df).__name__}, expected a pandas DataFrame")
    except Exception:
        return ("error", traceback.format_exc())
    return ("ok", df, time.perf_counter() - t0)


def _annotate(df: pd.DataFrame, chash: str, seed: int, seconds: float) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    extra = {}
    if "seed" not in df.columns:
        extra["seed"] = int(seed)
    if "config_hash" not in df.columns:
        extra["config_hash"] = chash
    if "wall_time_s" not in df.columns:
        extra["wall_time_s"] = float(seconds)
    return df.assign(**extra) if extra else df


def _progress(total: int, desc: str, enabled):
    from tqdm.auto import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="run", disable=not enabled, file=sys.stderr,
                dynamic_ncols=True)


def run_sweep(experiment: str, configs, seeds, *, out="results", backend="process",
              address: str | None = None, workers: int | None = None, resume: bool = True,
              experiments_dir=None, progress: bool | None = None,
              rerun_stale: bool = False) -> SweepOutcome:
    """Run ``experiment`` on every config of ``configs`` (a dict or a list of dicts) and every
    seed of ``seeds`` (N or a list), store each run, merge them into results.parquet.

    Parameters
    ----------
    backend : "serial" | "process" | "ray", or a backend object (left open on return)
    address : Ray address ("auto", "HOST:PORT"); None starts a local Ray
    workers : processes (process backend) or CPUs of a local Ray; default all cores
    resume : skip runs already stored (default); False recomputes and overwrites them
    progress : tqdm bar on stderr; default only when stderr is a terminal
    rerun_stale : also recompute stored runs made by another version of the experiment file

    Raises
    ------
    RunFailed if a run raises (runs finished before stay stored); UsageError, UnknownName,
    BackendError for requests that cannot run.
    """
    t0 = time.perf_counter()
    exp_file = registry.experiment_path(experiment, experiments_dir)
    configs = [configs] if isinstance(configs, dict) else list(configs)
    if not configs:
        raise UsageError("no configs to run")
    configs = [{k: v for k, v in c.items() if k != "seeds"} for c in configs]
    seeds = seed_list(seeds)
    store = ResultStore(out, experiment)
    store.dir.mkdir(parents=True, exist_ok=True)
    store.clean()

    hashes = []
    for c in configs:
        h = config_hash(c)
        if h not in hashes:
            hashes.append(h)
            store.write_config(h, c)
    by_hash = {config_hash(c): c for c in configs}
    keys = [(h, s) for h in hashes for s in seeds]           # grid order, then seeds ascending
    source = hashlib.sha256(exp_file.read_bytes()).hexdigest()[:16]
    stored = {k for k in keys if resume and store.has(*k)}
    stale_keys = {k for k in stored
                  if store.run_metadata(*k).get("experiment_source") != source}
    if rerun_stale:
        stored -= stale_keys
    stale = len(stored & stale_keys)
    todo = [k for k in keys if k not in stored]

    owns_backend = isinstance(backend, str)
    backend_name = backend if owns_backend else backend.name
    if todo:
        be = (_backends.make_backend(backend, address=address, workers=workers)
              if owns_backend else backend)
        bar = _progress(len(todo), experiment, progress)
        isolated = be.name != "serial"
        tasks = [(str(exp_file), by_hash[h], s, isolated) for h, s in todo]
        failure = None
        try:
            for i, result in be.imap_unordered(execute_run, tasks):
                h, s = todo[i]
                if result[0] == "error":
                    failure = RunFailed(f"{experiment} run failed (config {h}, seed {s})",
                                        result[1])
                    break
                _, df, seconds = result
                store.write_run(h, s, _annotate(df, h, s, seconds),
                                {"experiment_source": source})
                bar.update(1)
        finally:
            bar.close()
            if owns_backend:
                be.close()
        if failure is not None:
            raise failure

    table = store.merge(keys)
    atomic_write_text(store.dir / "sweep.json", json.dumps({
        "experiment": experiment,
        "experiment_file": str(exp_file),
        "configs": [json.loads(canonical_json(by_hash[h])) for h in hashes],
        "config_hashes": hashes,
        "seeds": seeds,
        "backend": backend_name,
        "computed": len(todo),
        "reused": len(keys) - len(todo),
        "reused_from_other_source": stale,
        "experiment_source_sha256": source,
    }, indent=1) + "\n")
    return SweepOutcome(table=table, computed=len(todo), reused=len(keys) - len(todo),
                        seconds=time.perf_counter() - t0, backend=backend_name,
                        results_path=store.results_path, stale=stale)


def base_config(module, size: str) -> dict:
    """The experiment's CONFIG ("paper") or SMALL ("small"), copied."""
    if size not in SIZES:
        raise UsageError(f"unknown size {size!r} (choose from {', '.join(SIZES)})")
    return dict(module.CONFIG if size == "paper" else module.SMALL)


def apply_overrides(config: dict, overrides: dict | None) -> dict:
    """``config`` with ``overrides`` applied; a key not in ``config`` is a UsageError."""
    config = dict(config)
    for key, value in (overrides or {}).items():
        if key not in config:
            raise UsageError(f"unknown config key {key!r} (keys: {', '.join(sorted(config))})")
        config[key] = value
    return config


def run_experiment(name: str, *, size: str = "paper", seeds: int | None = None,
                   overrides: dict | None = None, grid: dict | None = None,
                   backend="process", address: str | None = None, workers: int | None = None,
                   out="results", resume: bool = True, experiments_dir=None,
                   progress: bool | None = None, rerun_stale: bool = False
                   ) -> ExperimentOutcome:
    """Sweep experiment ``name`` and write results.parquet, verdict.json and its figures under
    ``out/name/``.

    Seeds: ``seeds`` if given, else "seeds" of the (overridden) config, else 10.
    """
    module = registry.load_experiment(name, experiments_dir)
    config = apply_overrides(base_config(module, size), overrides)
    n = seeds if seeds is not None else config.get("seeds", DEFAULT_SEEDS)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError(f"seeds must be an integer >= 1, got {n!r}")
    configs = expand_grid(config, grid)
    sweep = run_sweep(name, configs, n, out=out, backend=backend, address=address,
                      workers=workers, resume=resume, experiments_dir=experiments_dir,
                      progress=progress, rerun_stale=rerun_stale)
    from ..report import finalize, verdict_record, write_verdict

    verdicts = finalize(module.verdict(sweep.table))
    exp_dir = Path(out) / name
    verdict_path = write_verdict(exp_dir, verdict_record(
        name, size=size, seeds=n,
        config=json.loads(canonical_json({k: v for k, v in config.items() if k != "seeds"})),
        grid=json.loads(canonical_json(grid)) if grid else None, verdicts=verdicts))
    written = module.plot(sweep.table, exp_dir / name) or []
    figures = [Path(p) for p in written]
    return ExperimentOutcome(sweep=sweep, verdicts=verdicts, figures=figures,
                             verdict_path=verdict_path, config=config,
                             seeds=list(range(n)), size=size)


__all__ = ["run_sweep", "run_experiment", "expand_grid", "seed_list", "execute_run",
           "SweepOutcome", "ExperimentOutcome", "RunFailed", "UsageError", "SIZES",
           "DEFAULT_SEEDS", "config_hash"]
