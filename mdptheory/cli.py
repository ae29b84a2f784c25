"""The ``mdptheory`` command: list, run, report, check (``docs/experiments.md``).

    mdptheory list [--experiments-dir DIR ...] [--proofs-dir DIR ...]
    mdptheory run EXPERIMENT|FILE.py [--size small|paper] [--seeds N]
                             [--backend serial|process|ray] [--address A] [--workers N]
                             [--out DIR] [--set key=value ...] [--grid key=[v1,v2] ...]
                             [--no-resume] [--rerun-stale] [--quiet] [--experiments-dir DIR ...]
    mdptheory report [--out DIR] [--figures DIR] [--reverdict] [--experiments-dir DIR ...]
    mdptheory check [NAME|FILE.py ...] [--proofs-dir DIR ...] [-v]

Exit codes: 0 done (a claim that fails is a finding, not an error); 1 a run crashed or a proof
check broke; 2 the command was asked wrongly (unknown experiment, malformed or ill-typed
``--set``, unknown config key, a value out of range, bad size, seeds < 1, workers < 1, an
output folder that cannot be written, Ray missing or unreachable) — one line on stderr, no
traceback.
"""
from __future__ import annotations

import argparse
import ast
import io
import os
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from . import experiments_registry as registry

PROG = "mdptheory"


class UsageFailure(Exception):
    """Wrong usage: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the usage block and exit itself
        raise UsageFailure(message)


# ----------------------------------------------------------------------------- helpers


def parse_assignment(text: str, option: str = "--set") -> tuple[str, str]:
    """'key=value' -> (key, value text). The text is read later as the type of the config's
    value for ``key`` (:func:`mdptheory.runner.configs.coerce`)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not key.isidentifier():
        raise UsageFailure(f"malformed {option} {text!r}: expected key=value")
    return key, raw.strip()


def _docline(path: Path) -> str:
    """First line of a module's docstring, read without importing it."""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text()))
    except (SyntaxError, OSError, ValueError):
        return ""
    return doc.strip().splitlines()[0] if doc else ""


# ----------------------------------------------------------------------------- list


def cmd_list(args) -> int:
    for kind, title, dirs in (("experiment", "experiments", args.experiments_dir),
                              ("proof check", "proof checks", args.proofs_dir)):
        entries = registry.catalogue(kind, dirs)
        print(f"{title}:")
        for name, e in entries.items():
            where = "" if e.origin == "built-in" else f"  [{e.origin}: {e.file or e.module}]"
            doc = _docline(e.file) if e.file else ""
            print(f"  {name:24s} {doc}{where}".rstrip())
        if not entries:
            print("  (none)")
    return 0


# ----------------------------------------------------------------------------- run


def cmd_run(args) -> int:
    from .runner import sweep as sw

    overrides = {}
    for text in args.set or []:
        key, value = parse_assignment(text)
        overrides[key] = value
    grid = {}
    for text in args.grid or []:
        key, values = parse_assignment(text, "--grid")
        grid[key] = values
    if args.seeds is not None and args.seeds < 1:
        raise UsageFailure(f"--seeds must be >= 1, got {args.seeds}")
    if args.workers is not None and args.workers < 1:
        raise UsageFailure(f"--workers must be >= 1, got {args.workers} (leave it out to use "
                           f"all cores)")
    if args.address is not None and args.backend != "ray":
        raise UsageFailure("--address applies only to --backend ray")
    if args.backend == "ray":
        _preflight_ray(args.address)
    outcome = sw.run_experiment(
        args.experiment, size=args.size, seeds=args.seeds, overrides=overrides, grid=grid,
        backend=args.backend, address=args.address, workers=args.workers, out=args.out,
        resume=args.resume, experiments_dir=args.experiments_dir,
        progress=False if args.quiet else None, rerun_stale=args.rerun_stale)
    s = outcome.sweep
    name = Path(s.results_path).parent.name
    print(f"{name}: {args.size} size, {len(outcome.seeds)} seeds, "
          f"{s.computed} runs computed, {s.reused} reused ({s.backend}, {s.seconds:.1f} s)")
    if s.corrupt:
        print(f"warning: {s.corrupt} stored run(s) failed their checksum and were recomputed",
              file=sys.stderr)
    if s.stale:
        print(f"warning: {s.stale} reused run(s) were made by different code (changed: "
              f"{', '.join(s.stale_reasons)}); rerun with --rerun-stale to recompute them",
              file=sys.stderr)
    from .report import format_claims_table
    print(format_claims_table([v.to_dict() for v in outcome.verdicts]))
    print(f"wrote {s.results_path}, {outcome.verdict_path}"
          + "".join(f", {p}" for p in outcome.figures))
    return 0


def _preflight_ray(address):
    """Fail early, in one line, when Ray is missing or the address does not answer."""
    from .runner import backends

    backends._import_ray()
    if address is not None and address != "auto":
        backends.check_reachable(address)


# ----------------------------------------------------------------------------- report


def cmd_report(args) -> int:
    from . import report as rp

    if args.reverdict:
        written = rp.reverdict(args.out, experiments_dir=args.experiments)
        print(f"recomputed {len(written)} verdict(s) from the stored results under {args.out}")
    path, found = rp.write_report(args.out, args.figures)
    n = len(found.verdicts)
    claims = [c for _, v in found.verdicts for c in v.get("claims", [])]
    counts = {o: sum(c.get("outcome") == o for c in claims)
              for o in ("verified", "refuted", "inconclusive", "info")}
    print(f"wrote {path} ({n} experiment verdict(s) from {args.out}: "
          + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")")
    if found.missing:
        rp.print_missing(found)
        print(f"{PROG}: {len(found.missing)} experiment(s) have no readable verdict; they are "
              f"listed as missing in the report", file=sys.stderr)
        return 1
    return 0


# ----------------------------------------------------------------------------- check


class _Outcomes:
    """pytest plugin: the outcome of each test item (and of each module's collection)."""

    def __init__(self):
        self.items: dict[str, dict] = {}

    def pytest_collectreport(self, report):
        if report.failed:
            self.items[report.nodeid or "collection"] = {
                "outcome": "broke", "message": _crash_message(report)}

    def pytest_runtest_logreport(self, report):
        entry = self.items.setdefault(report.nodeid, {"outcome": "held", "message": ""})
        if report.failed:
            entry["outcome"] = "broke"
            entry["message"] = entry["message"] or _crash_message(report)
        elif report.skipped and report.when in ("setup", "call"):
            entry["outcome"] = "skipped"
            entry["message"] = _crash_message(report)


def _crash_message(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    if isinstance(report.longrepr, tuple):  # skip: (file, line, reason)
        return str(report.longrepr[-1])
    return str(report.longreprtext or "").strip().splitlines()[-1:][0] if report.longrepr \
        else ""


class _Markers:
    """pytest plugin: the project's markers, known without its ini file."""

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "slow: long tests")
        config.addinivalue_line("markers", "property: hypothesis property tests")


def _hypothesis_home() -> None:
    """Keep hypothesis' files (its unicode tables) in the user's cache folder, not in the
    current folder, which `mdptheory check` leaves as it found it."""
    from hypothesis import configuration

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    home = cache / "mdptheory" / "hypothesis"
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    configuration.set_hypothesis_home_dir(str(home))


def run_checks(paths, verbose: bool = False, keyword: str | None = None) -> tuple[int, dict]:
    """Run pytest on ``paths`` with pytest's own output captured; (pytest exit code, outcomes).

    The hypothesis profile of :mod:`mdptheory.testing.profiles` is loaded first (derandomized
    ``ci`` unless ``MDPTHEORY_HYPOTHESIS_PROFILE=fuzz``), so a check gives the same result on
    every run wherever it is installed; no ini file of the current folder is read.
    """
    import pytest

    from .testing import load_profile

    load_profile()
    _hypothesis_home()
    paths = [Path(p).resolve() for p in paths]
    rootdir = os.path.commonpath([str(p.parent.parent) for p in paths])
    plugin = _Outcomes()
    argv = ["-c", os.devnull, f"--rootdir={rootdir}", "--import-mode=importlib",
            "-p", "no:cacheprovider", "-p", "no:benchmark",
            "-p", "no:terminal", *(["-k", keyword] if keyword else []),
            *[str(p) for p in paths]]
    buf = io.StringIO()
    with redirect_stdout(buf), redirect_stderr(buf):
        code = int(pytest.main(argv, plugins=[plugin, _Markers()]))
    if verbose or code not in (0, 1):
        sys.stdout.write(buf.getvalue())
    return code, plugin.items


def cmd_check(args) -> int:
    if args.names:
        entries = [registry.find(n, "proof check", args.proofs_dir) for n in args.names]
    else:
        entries = list(registry.catalogue("proof check", args.proofs_dir).values())
    if not entries:
        print("no proof checks found")
        return 1
    missing = [e.name for e in entries if e.file is None]
    if missing:
        raise UsageFailure(f"proof check(s) without a source file: {', '.join(missing)}")
    names = [e.name for e in entries]
    code, items = run_checks([e.file for e in entries], verbose=args.verbose,
                             keyword=args.keyword)
    held = [k for k, v in items.items() if v["outcome"] == "held"]
    broke = [k for k, v in items.items() if v["outcome"] == "broke"]
    skipped = [k for k, v in items.items() if v["outcome"] == "skipped"]
    for nodeid, v in items.items():
        label = {"held": "held ", "broke": "BROKE", "skipped": "skip "}[v["outcome"]]
        print(f"{label}  {nodeid}")
        if v["outcome"] != "held" and v["message"]:
            for line in v["message"].strip().splitlines()[:12]:
                print(f"         {line}")
    print(f"{len(held)} held, {len(broke)} broke, {len(skipped)} skipped "
          f"({', '.join(names)})")
    if not items:
        print(f"no checks collected (pytest exit code {code})")
        return 1
    return 1 if broke or code not in (0, 1) else 0


# ----------------------------------------------------------------------------- main


RUN_EPILOG = """\
Resume: runs are keyed on (config, seed). A run already stored under --out for the same config
and seed is reused, not recomputed, even if the code changed since; such stale runs (experiment
file, its helper modules, or mdptheory changed) are counted in a warning, and --rerun-stale
recomputes them. --no-resume recomputes everything. A stored run whose checksum fails is always
recomputed.

--set KEY=VALUE values are read as the type of the config's value (bool: true/false/yes/no/1/0;
int: 2000 or 1e5, not 2.5; float; str; lists [v1, v2] elementwise). --grid KEY=[V1,V2] sweeps
a key over values checked the same way.
"""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter,
                     argparse.RawDescriptionHelpFormatter):
    """Shows every option's default (as argparse's "(default: X)", unless the help text
    already says it in words), keeps the epilog's line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "(default:" in text:
            return text
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Exact MDP solvers and theorem-vs-measurement checks.",
                formatter_class=_HelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    dirs_help = ("extra folder of experiments, added to the built-ins (repeatable; also "
                 "$MDPTHEORY_EXPERIMENTS, separated by os.pathsep) (default: none)")
    proofs_help = ("extra folder of proof checks, added to the built-ins (repeatable; also "
                   "$MDPTHEORY_PROOFS) (default: none)")

    q = sub.add_parser("list", help="experiments and proof checks available",
                       formatter_class=_HelpFormatter)
    q.add_argument("--experiments-dir", action="append", metavar="DIR", help=dirs_help)
    q.add_argument("--proofs-dir", action="append", metavar="DIR", help=proofs_help)
    q.set_defaults(func=cmd_list)

    q = sub.add_parser("run", help="sweep an experiment, write results, verdict and figures",
                       formatter_class=_HelpFormatter, epilog=RUN_EPILOG)
    q.add_argument("experiment", help="experiment name (see `mdptheory list`) or a .py file")
    q.add_argument("--size", default="paper", choices=["small", "paper"],
                   help="the experiment's SMALL or CONFIG")
    q.add_argument("--seeds", type=int,
                   help="number of seeds N; runs use seeds 0..N-1 (default: the config's "
                        "'seeds', else 10)")
    q.add_argument("--backend", default="process", choices=["serial", "process", "ray"],
                   help="where runs execute")
    q.add_argument("--address",
                   help="Ray cluster: auto or HOST:PORT (default: start a local Ray)")
    q.add_argument("--workers", type=int,
                   help="processes / local Ray CPUs, >= 1 (default: all cores)")
    q.add_argument("--out", default="results", metavar="DIR",
                   help="results folder; DIR/EXPERIMENT/ is locked while a sweep writes it")
    q.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config value, read as the type of the config's value "
                        "(default: none)")
    q.add_argument("--grid", action="append", metavar="KEY=[V1,V2]",
                   help="sweep a config key over a list of values (default: none)")
    q.add_argument("--no-resume", dest="resume", action="store_false",
                   help="recompute every run, even those already stored (default: resume)")
    q.add_argument("--rerun-stale", action="store_true",
                   help="recompute stored runs made by different code")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.add_argument("--experiments-dir", action="append", metavar="DIR", help=dirs_help)
    q.set_defaults(func=cmd_run)

    q = sub.add_parser("report", help="gather verdicts and figures into REPORT.md",
                       formatter_class=_HelpFormatter)
    q.add_argument("--out", default="results", metavar="DIR", help="results folder")
    q.add_argument("--figures", default=None, metavar="DIR",
                   help="report folder (default: the results folder)")
    q.add_argument("--reverdict", action="store_true",
                   help="recompute every verdict from the stored results first (no rerun)")
    q.add_argument("--experiments-dir", "--experiments", dest="experiments", action="append",
                   metavar="DIR", help=dirs_help)
    q.set_defaults(func=cmd_report)

    q = sub.add_parser("check", help="run the proof checks (all if none named), derandomized",
                       formatter_class=_HelpFormatter)
    q.add_argument("names", nargs="*", metavar="NAME",
                   help="proof-check modules (names or .py files) (default: all)")
    q.add_argument("--proofs-dir", action="append", metavar="DIR", help=proofs_help)
    q.add_argument("-k", dest="keyword", metavar="EXPRESSION",
                   help="only the checks whose names match (pytest's -k) (default: all)")
    q.add_argument("-v", "--verbose", action="store_true", help="show pytest's own report")
    q.set_defaults(func=cmd_check)
    return p


def _is_usage_error(exc: BaseException) -> bool:
    if isinstance(exc, (UsageFailure, registry.RegistryError)):
        return True
    from .report import ReportError
    if isinstance(exc, ReportError):
        return True
    # Imported only here: the runner pulls in pandas and numba, which `list` does not need.
    from .runner.backends import BackendError
    from .runner.sweep import UsageError
    return isinstance(exc, (UsageError, BackendError))


def main(argv=None) -> int:
    """Entry point of the ``mdptheory`` script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (finished runs are stored; rerun to resume)",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mdptheory ... | head`: the reader left; the work is done
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001  (anything else is a crash, reported below)
        if _is_usage_error(exc):
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            print(f"{PROG}: error: {message}", file=sys.stderr)
            return 2
        from .runner.sweep import RunFailed
        if isinstance(exc, RunFailed):
            print(exc.details, file=sys.stderr)
            print(f"{PROG}: {exc} (finished runs are stored; rerun to resume)",
                  file=sys.stderr)
            return 1
        traceback.print_exc()   # a crash: the traceback is the useful part
        print(f"{PROG}: crashed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
