"""Where experiments and proof checks come from, how they are found, loaded and fingerprinted.

An experiment is a module defining ``CONFIG``, ``SMALL``, ``run(config, seed)``,
``verdict(results)`` and ``plot(results, path)`` (see ``docs/experiments.md``); a proof check
is a module of pytest/hypothesis tests. Files whose name starts with ``_`` are helpers and
``conftest.py`` is pytest's: neither is listed.

Sources, all added together (the built-ins are always there):

1. **built-in**: the package ``mdptheory.experiments`` (``mdptheory.proofs_check``). In a
   source checkout these are the folders ``experiments/`` and ``proofs_check/`` at the top of
   the repository, mounted under those names by :func:`mount_source_folders` (called when
   ``mdptheory`` is imported); in a wheel they are ordinary subpackages. Either way a built-in
   experiment has one import identity, ``mdptheory.experiments.<name>``.
2. **search path**: folders given with ``--experiments-dir DIR`` (``--proofs-dir DIR``), then
   those of the environment variable ``MDPTHEORY_EXPERIMENTS`` (``MDPTHEORY_PROOFS``), several
   separated by ``os.pathsep``.
3. **entry points**: the group ``mdptheory.experiments`` (``mdptheory.proofs_check``) of
   installed distributions, ``name = "package.module"``.
4. **a path**: ``mdptheory run path/to/my_experiment.py`` runs that file whatever its name.

A name found in two sources is an error naming both files, except for a file given by path.
User files (search path, path) are imported as members of a synthetic package per folder
(``_mdptheory_user_<hash>``), so a helper next to them imports relatively
(``from . import _common``); workers load them by path, so every process runs the same file.
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import os
import sys
import types
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REQUIRED_ATTRIBUTES = ("CONFIG", "SMALL", "run", "verdict", "plot")
_PACKAGE_DIR = Path(__file__).resolve().parent


class RegistryError(ValueError):
    """An experiment or proof check that cannot be found or used as asked."""


class UnknownName(RegistryError):
    """A name that is in no source searched."""


class NameClash(RegistryError):
    """Two sources define the same name."""


# ----------------------------------------------------------------------------- built-ins


_BUNDLED = {"experiments": "mdptheory.experiments", "proofs_check": "mdptheory.proofs_check"}


def mount_source_folders() -> None:
    """Import the checkout's ``experiments/`` and ``proofs_check/`` as ``mdptheory.experiments``
    and ``mdptheory.proofs_check``, when this ``mdptheory`` is a source folder (repository root
    on ``sys.path``, or an editable install) rather than an installed wheel, where they already
    are subpackages. Idempotent."""
    parent = sys.modules.get("mdptheory")
    for folder, name in _BUNDLED.items():
        if name in sys.modules or (_PACKAGE_DIR / folder / "__init__.py").is_file():
            continue
        init = _PACKAGE_DIR.parent / folder / "__init__.py"
        if not init.is_file():
            continue
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(init.parent)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        if parent is not None:
            setattr(parent, folder, module)


def _builtin_dir(kind: str) -> Path | None:
    package = _BUNDLED["experiments" if kind == "experiment" else "proofs_check"]
    mount_source_folders()
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    paths = list(getattr(module, "__path__", []))
    return Path(paths[0]).resolve() if paths else None


def builtin_experiments_dir() -> Path | None:
    """Folder of the built-in experiments (``mdptheory.experiments``)."""
    return _builtin_dir("experiment")


def builtin_proofs_dir() -> Path | None:
    """Folder of the built-in proof checks (``mdptheory.proofs_check``)."""
    return _builtin_dir("proof check")


# ----------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Entry:
    """One experiment or proof check: where it comes from and how to import it."""

    name: str
    kind: str                 # "experiment" | "proof check"
    origin: str               # "built-in" | "search path" | "entry point" | "path"
    file: Path | None         # its source file, if known
    module: str | None = None  # importable module name (built-ins and entry points)

    @property
    def locator(self) -> str:
        """What a worker needs to import it: ``module:NAME`` or ``file:PATH``."""
        return f"module:{self.module}" if self.module else f"file:{self.file}"


_ENV = {"experiment": "MDPTHEORY_EXPERIMENTS", "proof check": "MDPTHEORY_PROOFS"}
_GROUP = {"experiment": "mdptheory.experiments", "proof check": "mdptheory.proofs_check"}


def _names(folder: Path | None) -> list[str]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.py")
                  if not p.name.startswith("_") and p.stem.isidentifier()
                  and p.stem != "conftest")


def search_path(kind: str = "experiment", dirs=None) -> list[Path]:
    """Extra folders searched for ``kind``: ``dirs`` (a path or a list), then the environment
    variable's folders; resolved, duplicates and the built-in folder dropped."""
    if dirs is None:
        dirs = []
    elif isinstance(dirs, (str, os.PathLike)):
        dirs = [dirs]
    env = os.environ.get(_ENV[kind], "")
    found = [Path(d) for d in dirs] + [Path(p) for p in env.split(os.pathsep) if p.strip()]
    builtin = _builtin_dir(kind)
    out = []
    for d in found:
        d = d.expanduser().resolve()
        if d != builtin and d not in out:
            out.append(d)
    return out


def _entry_points(kind: str) -> list:
    from importlib.metadata import entry_points
    try:
        return list(entry_points(group=_GROUP[kind]))
    except Exception:  # noqa: BLE001  a broken distribution's metadata must not break the command
        return []


def _module_file(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin).resolve() if spec is not None and spec.origin else None


def _describe(entry: Entry) -> str:
    return f"{entry.file or entry.module} ({entry.origin})"


def catalogue(kind: str = "experiment", dirs=None) -> dict[str, Entry]:
    """Every ``kind`` available by name: built-ins, search path, entry points (see module
    docstring). NameClash if two of them define the same name."""
    found: dict[str, Entry] = {}

    def add(entry: Entry):
        other = found.get(entry.name)
        if other is not None and other.file != entry.file:
            raise NameClash(f"{kind} {entry.name!r} is defined twice: {_describe(other)} and "
                            f"{_describe(entry)}; rename one, or run a file by its path")
        found.setdefault(entry.name, entry)

    builtin = _builtin_dir(kind)
    package = _BUNDLED["experiments" if kind == "experiment" else "proofs_check"]
    for name in _names(builtin):
        add(Entry(name, kind, "built-in", builtin / f"{name}.py", f"{package}.{name}"))
    for folder in search_path(kind, dirs):
        for name in _names(folder):
            add(Entry(name, kind, "search path", folder / f"{name}.py"))
    for ep in _entry_points(kind):
        module = ep.value.split(":", 1)[0].strip()
        add(Entry(ep.name, kind, "entry point", _module_file(module), module))
    return dict(sorted(found.items()))


def _looks_like_path(text: str) -> bool:
    return text.endswith(".py") or os.sep in text or (os.altsep or os.sep) in text


def find(name: str, kind: str = "experiment", dirs=None) -> Entry:
    """The entry for ``name``, or for the file ``name`` if it is a path to a ``.py`` file."""
    name = str(name)
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if not path.is_file():
            raise UnknownName(f"no {kind} file {name}")
        if path.suffix != ".py" or not path.stem.isidentifier():
            raise UnknownName(f"{kind} file {name} must be a .py file with an identifier name")
        path = path.resolve()
        return Entry(path.stem, kind, "path", path)
    entries = catalogue(kind, dirs)
    if name not in entries:
        hint = ", ".join(entries) if entries else "none"
        raise UnknownName(f"unknown {kind} {name!r} (available: {hint})")
    return entries[name]


# ----------------------------------------------------------------------------- loading


def _package_for(folder: Path) -> str:
    """Name of a synthetic package whose __path__ is ``folder`` (created on first use)."""
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:10]
    pkg_name = f"_mdptheory_user_{digest}"
    if pkg_name not in sys.modules:
        pkg = types.ModuleType(pkg_name)
        pkg.__path__ = [str(folder)]
        pkg.__file__ = str(folder / "__init__.py")
        pkg.__package__ = pkg_name
        sys.modules[pkg_name] = pkg
    return pkg_name


def _file_in_builtin(file: Path) -> str | None:
    """The built-in module name of ``file`` if it is a built-in's file (one import identity)."""
    for kind in ("experiment", "proof check"):
        folder = _builtin_dir(kind)
        if folder is not None and file.parent == folder:
            package = _BUNDLED["experiments" if kind == "experiment" else "proofs_check"]
            return f"{package}.{file.stem}"
    return None


def load_module_from_path(file) -> types.ModuleType:
    """Import the file ``file`` (cached: importing twice gives the same module). A built-in's
    file is imported under its package name."""
    file = Path(file).resolve()
    builtin = _file_in_builtin(file)
    if builtin is not None:
        return importlib.import_module(builtin)
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


def load(entry_or_locator) -> types.ModuleType:
    """Import an :class:`Entry` or a locator string (``module:NAME`` / ``file:PATH``)."""
    locator = entry_or_locator.locator if isinstance(entry_or_locator, Entry) \
        else str(entry_or_locator)
    how, _, what = locator.partition(":")
    if how == "module":
        mount_source_folders()
        return importlib.import_module(what)
    if how == "file":
        return load_module_from_path(what)
    raise ValueError(f"bad locator {locator!r}: expected module:NAME or file:PATH")


def load_experiment(name, dirs=None) -> types.ModuleType:
    """Import experiment ``name`` (a name, the path of a file, or an :class:`Entry`) and check
    it has the protocol's attributes."""
    entry = name if isinstance(name, Entry) else find(name, "experiment", dirs)
    mod = load(entry)
    missing = [a for a in REQUIRED_ATTRIBUTES if not hasattr(mod, a)]
    if missing:
        raise RegistryError(f"experiment {entry.name!r} ({entry.file}) lacks "
                            f"{', '.join(missing)}")
    return mod


# ----------------------------------------------------------------------------- fingerprints


def _digest(paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(str(p.name).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _local_imports(file: Path, package: str | None) -> set[Path]:
    """Files of the same folder that ``file`` imports (relative imports, and absolute imports
    of ``package``.NAME), found from its syntax tree."""
    folder = file.parent
    try:
        tree = ast.parse(file.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                if node.module:
                    names.add(node.module.split(".")[0])
                else:
                    names.update(a.name for a in node.names)
            elif node.level == 0 and package and node.module:
                if node.module.startswith(package + "."):
                    names.add(node.module[len(package) + 1:].split(".")[0])
                elif node.module == package:
                    names.update(a.name for a in node.names)
        elif isinstance(node, ast.Import) and package:
            for a in node.names:
                if a.name.startswith(package + "."):
                    names.add(a.name[len(package) + 1:].split(".")[0])
    out = set()
    for n in names:
        if (folder / f"{n}.py").is_file():
            out.add(folder / f"{n}.py")
        elif (folder / n / "__init__.py").is_file():
            out.update(sorted((folder / n).rglob("*.py")))
    return out


def helper_files(file: Path, package: str | None = None) -> list[Path]:
    """The files of ``file``'s folder that it imports, directly or through each other
    (``file`` itself excluded), sorted."""
    file = Path(file).resolve()
    seen, todo = set(), [file]
    while todo:
        for dep in _local_imports(todo.pop(), package):
            dep = dep.resolve()
            if dep != file and dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return sorted(seen)


#: Package files that cannot change a run's numbers (the command line, the demo, test helpers).
_NOT_IN_SOURCE_HASH = ("cli.py", "demo.py", "testing", "experiments", "proofs_check")


@lru_cache(maxsize=1)
def package_source_hash() -> str:
    """SHA-256 (16 hex digits) of the mdptheory package's Python source, files in path order,
    without the modules listed in ``_NOT_IN_SOURCE_HASH`` (built-in experiments are
    fingerprinted on their own)."""
    files = sorted(p for p in _PACKAGE_DIR.rglob("*.py")
                   if p.relative_to(_PACKAGE_DIR).parts[0] not in _NOT_IN_SOURCE_HASH)
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(_PACKAGE_DIR)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def code_fingerprint(entry: Entry) -> dict[str, str]:
    """What made a run: the experiment file, the helpers it imports from its folder, the
    mdptheory version and the hash of its source. Stored with every run; a stored run whose
    fingerprint differs from the current one was made by different code."""
    from . import __version__

    out = {"mdptheory_version": __version__, "mdptheory_source": package_source_hash()}
    if entry.file is not None and entry.file.is_file():
        package = entry.module.rsplit(".", 1)[0] if entry.module and "." in entry.module \
            else None
        out["experiment_source"] = _digest([entry.file])
        helpers = helper_files(entry.file, package)
        out["experiment_helpers"] = _digest(helpers) if helpers else "-"
    return out


# ----------------------------------------------------------------------------- compatibility


def list_experiments(dirs=None) -> list[str]:
    """Names of every experiment available (built-ins and search path), sorted."""
    return list(catalogue("experiment", dirs))


def list_proofs(dirs=None) -> list[str]:
    """Names of every proof-check module available, sorted."""
    return list(catalogue("proof check", dirs))


__all__ = [
    "Entry",
    "NameClash",
    "RegistryError",
    "UnknownName",
    "builtin_experiments_dir",
    "builtin_proofs_dir",
    "catalogue",
    "code_fingerprint",
    "find",
    "helper_files",
    "list_experiments",
    "list_proofs",
    "load",
    "load_experiment",
    "load_module_from_path",
    "mount_source_folders",
    "package_source_hash",
    "search_path",
]
