"""Shipping the code of a sweep to Ray workers through a runtime environment.

Workers of a Ray cluster need not share the driver's files. For each sweep the Ray backend
stages, in a temporary folder, a copy of

* the ``mdptheory`` package the driver imported (its source, without ``__pycache__``), and
* the checkout's built-in ``experiments/`` folder, next to the package as in the repository (a
  registry that imports built-ins as ``mdptheory.experiments`` finds it there), and
* the folder of every file named in the tasks' arguments (the experiment file and its helpers),
  under that folder's own name,

and hands the folder to ``ray.init`` as the job's ``working_dir`` (Ray accepts local folders
only there, not per task): Ray uploads it once to the cluster,
and every worker (on any node) runs in its own unpacked copy, which comes first on its
``sys.path`` — so ``import mdptheory`` and the experiment load the driver's code, not whatever
the node has installed. On the worker, :func:`call_shipped` rewrites each driver path in the
arguments into the path of the same file in that copy, then calls the task.

The workers still need mdptheory's dependencies (numpy, numba, pandas, pyarrow ...): the same
Python environment on every node, or Ray's ``pip``/``conda`` runtime-environment fields.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.nbi", "*.nbc", ".*")
_PACKAGE_DIR = Path(__file__).resolve().parents[1]          # the mdptheory package


_FILE_PREFIX = "file:"        # an experiment locator given by path (experiments_registry)


def _as_path(a):
    """The path an argument names: a plain absolute path or a ``file:PATH`` locator."""
    if isinstance(a, os.PathLike):
        a = os.fspath(a)
    if isinstance(a, str) and a.startswith(_FILE_PREFIX):
        a = a[len(_FILE_PREFIX):]
    return a


def _file_args(args_list) -> list[Path]:
    """Absolute paths of existing files among the string arguments (plain or ``file:`` locators),
    in first-seen order."""
    found: dict[Path, None] = {}
    for args in args_list:
        for a in args:
            a = _as_path(a)
            if isinstance(a, str) and os.path.isabs(a) and os.path.isfile(a):
                found[Path(a).resolve()] = None
    return list(found)


def stage(args_list, env_vars: dict | None = None) -> tuple[dict, dict, Path]:
    """Stage the code of these tasks; returns (runtime_env, remap, staging folder).

    ``remap`` maps a driver folder (str) to its relative place in the working dir; the caller
    deletes the staging folder after ``ray.init`` (which uploads it).
    """
    root = Path(tempfile.mkdtemp(prefix="mdptheory-ship-"))
    shutil.copytree(_PACKAGE_DIR, root / "mdptheory", ignore=_IGNORE)
    remap: dict[str, str] = {}
    builtin = _PACKAGE_DIR.parent / "experiments"
    if builtin.is_dir() and (builtin / "__init__.py").is_file():
        shutil.copytree(builtin, root / "experiments", ignore=_IGNORE)
        remap[str(builtin)] = "experiments"
    for f in _file_args(args_list):
        folder = f.parent
        if str(folder) in remap or folder == _PACKAGE_DIR or _PACKAGE_DIR in folder.parents:
            continue
        name = folder.name if folder.name not in ("", "mdptheory") else "shipped"
        base, i = name, 1
        while (root / name).exists():
            name, i = f"{base}_{i}", i + 1
        shutil.copytree(folder, root / name, ignore=_IGNORE)
        remap[str(folder)] = name
    env = {"working_dir": str(root)}
    if env_vars:
        env["env_vars"] = dict(env_vars)
    return env, remap, root


def local_path(arg, remap: dict):
    """``arg`` with a driver folder of ``remap`` replaced by its copy under the current working
    directory (the unpacked runtime environment); other arguments unchanged."""
    if not isinstance(arg, str):
        return arg
    prefix = _FILE_PREFIX if arg.startswith(_FILE_PREFIX) else ""
    path = arg[len(prefix):]
    for folder, name in remap.items():
        if path == folder or path.startswith(folder + os.sep):
            return prefix + os.path.join(os.getcwd(), name, path[len(folder):].lstrip(os.sep))
    return arg


def call_shipped(fn, remap: dict, *args):
    """Worker side: ``fn(*args)`` with driver paths rewritten into the shipped copy."""
    return fn(*(local_path(a, remap) for a in args))


__all__ = ["call_shipped", "local_path", "stage"]
