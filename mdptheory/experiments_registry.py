"""Where experiments and proof checks live, and how they are found and loaded.

An experiment is a file ``<dir>/<name>.py`` defining ``CONFIG``, ``SMALL``, ``run(config, seed)``,
``verdict(results)`` and ``plot(results, path)`` (DESIGN.md, "How an experiment looks"); a proof
check is a file ``<dir>/<name>.py`` of pytest/hypothesis tests. Files whose name starts with
``_`` are helpers, and ``conftest.py`` is pytest's: neither is listed.

Search order for the experiments folder (the proofs folder is the same with ``proofs_check``):

1. the ``path`` argument of the function called;
2. the environment variable ``MDPTHEORY_EXPERIMENTS`` (``MDPTHEORY_PROOFS``);
3. ``./experiments`` (``./proofs_check``) in the current working directory, if it exists;
4. ``experiments`` (``proofs_check``) in the repository root, i.e. next to the installed
   ``mdptheory`` package directory.

Experiment modules are imported as members of a synthetic package (one per folder), so a
helper next to them can be imported relatively (``from . import _common``). Loading is by path,
so worker processes (and Ray workers sharing the file system) load exactly the same file.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import types
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIRED_ATTRIBUTES = ("CONFIG", "SMALL", "run", "verdict", "plot")


class UnknownName(ValueError):
    """An experiment or proof-check name that is not in the folder searched."""


def _resolve_dir(path, env_var: str, folder: str) -> Path:
    if path is not None:
        return Path(path).resolve()
    env = os.environ.get(env_var)
    if env:
        return Path(env).resolve()
    local = Path.cwd() / folder
    if local.is_dir():
        return local.resolve()
    return _REPO_ROOT / folder


def experiments_dir(path=None) -> Path:
    """The experiments folder (see the module docstring for the search order)."""
    return _resolve_dir(path, "MDPTHEORY_EXPERIMENTS", "experiments")


def proofs_dir(path=None) -> Path:
    """The proof-checks folder (see the module docstring for the search order)."""
    return _resolve_dir(path, "MDPTHEORY_PROOFS", "proofs_check")


def _names(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.py")
                  if not p.name.startswith("_") and p.stem.isidentifier()
                  and p.stem != "conftest")


def list_experiments(path=None) -> list[str]:
    """Names of the experiments in the experiments folder, sorted."""
    return _names(experiments_dir(path))


def list_proofs(path=None) -> list[str]:
    """Names of the proof-check modules in the proofs folder, sorted."""
    return _names(proofs_dir(path))


def _find(name: str, folder: Path, kind: str) -> Path:
    available = _names(folder)
    if name not in available:
        hint = ", ".join(available) if available else "none"
        raise UnknownName(f"unknown {kind} {name!r} in {folder} (available: {hint})")
    return folder / f"{name}.py"


def experiment_path(name: str, path=None) -> Path:
    """File of experiment ``name``; UnknownName if there is none."""
    return _find(name, experiments_dir(path), "experiment")


def proof_path(name: str, path=None) -> Path:
    """File of proof-check module ``name``; UnknownName if there is none."""
    return _find(name, proofs_dir(path), "proof check")


def _package_for(folder: Path) -> str:
    """Name of a synthetic package whose __path__ is ``folder`` (created on first use)."""
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:10]
    pkg_name = f"_mdptheory_experiments_{digest}"
    if pkg_name not in sys.modules:
        pkg = types.ModuleType(pkg_name)
        pkg.__path__ = [str(folder)]
        pkg.__file__ = str(folder / "__init__.py")
        pkg.__package__ = pkg_name
        sys.modules[pkg_name] = pkg
    return pkg_name


def load_module_from_path(file) -> types.ModuleType:
    """Import the experiment file ``file`` (cached: importing twice gives the same module)."""
    file = Path(file).resolve()
    pkg = _package_for(file.parent)
    mod_name = f"{pkg}.{file.stem}"
    mod = sys.modules.get(mod_name)
    if mod is not None:
        return mod
    spec = importlib.util.spec_from_file_location(mod_name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {file}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[mod_name]
        raise
    return mod


def load_experiment(name: str, path=None) -> types.ModuleType:
    """Import experiment ``name`` and check that it has the protocol's attributes."""
    mod = load_module_from_path(experiment_path(name, path))
    missing = [a for a in REQUIRED_ATTRIBUTES if not hasattr(mod, a)]
    if missing:
        raise UnknownName(f"experiment {name!r} ({mod.__file__}) lacks {', '.join(missing)}")
    return mod


__all__ = ["experiments_dir", "proofs_dir", "list_experiments", "list_proofs",
           "experiment_path", "proof_path", "load_experiment", "load_module_from_path",
           "UnknownName"]
