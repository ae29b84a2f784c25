"""The ``mdptheory`` command: list, run, report, check.

    mdptheory list
    mdptheory run EXPERIMENT [--size small|paper] [--seeds N] [--backend serial|process|ray]
                             [--address A] [--out DIR] [--set key=value ...]
                             [--grid key=[v1,v2] ...] [--workers N] [--no-resume]
                             [--rerun-stale] [--quiet]
    mdptheory report [--out DIR] [--figures DIR] [--reverdict]
    mdptheory check [NAME ...]

Exit codes: 0 done (a claim that fails is a finding, not an error); 1 a run crashed or a proof
check broke; 2 the command was asked wrongly (unknown experiment, malformed ``--set``, unknown
config key, bad size, seeds < 1, Ray missing or unreachable) — one line on stderr, no traceback.
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


def parse_assignment(text: str, option: str = "--set") -> tuple[str, object]:
    """'key=value' -> (key, value); value read as a Python literal, else kept as a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not key.isidentifier():
        raise UsageFailure(f"malformed {option} {text!r}: expected key=value")
    raw = raw.strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = raw
    return key, value


def _docline(path: Path) -> str:
    """First line of a module's docstring, read without importing it."""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text()))
    except (SyntaxError, OSError, ValueError):
        return ""
    return doc.strip().splitlines()[0] if doc else ""


# ----------------------------------------------------------------------------- list


def cmd_list(args) -> int:
    exp_dir = registry.experiments_dir(args.experiments)
    proof_dir = registry.proofs_dir(args.proofs)
    exps = registry.list_experiments(exp_dir)
    proofs = registry.list_proofs(proof_dir)
    print(f"experiments ({exp_dir}):")
    for name in exps:
        print(f"  {name:24s} {_docline(exp_dir / f'{name}.py')}".rstrip())
    if not exps:
        print("  (none)")
    print(f"proof checks ({proof_dir}):")
    for name in proofs:
        print(f"  {name:24s} {_docline(proof_dir / f'{name}.py')}".rstrip())
    if not proofs:
        print("  (none)")
    return 0


# ----------------------------------------------------------------------------- run


def cmd_run(args) -> int:
    from .runner import sweep as sw

    overrides = dict(parse_assignment(s) for s in args.set or [])
    grid = {}
    for text in args.grid or []:
        key, values = parse_assignment(text, "--grid")
        if not isinstance(values, (list, tuple)) or not values:
            raise UsageFailure(f"--grid {text!r}: expected key=[v1, v2, ...]")
        grid[key] = list(values)
    if args.seeds is not None and args.seeds < 1:
        raise UsageFailure(f"--seeds must be >= 1, got {args.seeds}")
    if args.address is not None and args.backend != "ray":
        raise UsageFailure("--address applies only to --backend ray")
    if args.backend == "ray":
        _preflight_ray(args.address)
    outcome = sw.run_experiment(
        args.experiment, size=args.size, seeds=args.seeds, overrides=overrides, grid=grid,
        backend=args.backend, address=args.address, workers=args.workers, out=args.out,
        resume=args.resume, experiments_dir=args.experiments,
        progress=False if args.quiet else None, rerun_stale=args.rerun_stale)
    s = outcome.sweep
    print(f"{args.experiment}: {args.size} size, {len(outcome.seeds)} seeds, "
          f"{s.computed} runs computed, {s.reused} reused ({s.backend}, {s.seconds:.1f} s)")
    if s.stale:
        print(f"warning: {s.stale} reused run(s) were computed by another version of the "
              f"experiment file; rerun with --rerun-stale to recompute them", file=sys.stderr)
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


def run_checks(paths, verbose: bool = False) -> tuple[int, dict]:
    """Run pytest on ``paths`` with pytest's own output captured; (pytest exit code, outcomes)."""
    try:
        import pytest
    except ImportError:
        raise UsageFailure("`mdptheory check` needs pytest: pip install 'mdptheory[dev]'") \
            from None
    plugin = _Outcomes()
    argv = ["-p", "no:cacheprovider", "-o", "addopts=", "-p", "no:terminal",
            *[str(p) for p in paths]]
    buf = io.StringIO()
    with redirect_stdout(buf), redirect_stderr(buf):
        code = int(pytest.main(argv, plugins=[plugin]))
    if verbose or code not in (0, 1):
        sys.stdout.write(buf.getvalue())
    return code, plugin.items


def cmd_check(args) -> int:
    folder = registry.proofs_dir(args.proofs)
    names = args.names or registry.list_proofs(folder)
    if not names:
        print(f"no proof checks in {folder}")
        return 1
    paths = [registry.proof_path(n, folder) for n in names]
    code, items = run_checks(paths, verbose=args.verbose)
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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Exact MDP solvers and theorem-vs-measurement checks.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    q = sub.add_parser("list", help="experiments and proof checks available")
    q.add_argument("--experiments", metavar="DIR", help="experiments folder")
    q.add_argument("--proofs", metavar="DIR", help="proof checks folder")
    q.set_defaults(func=cmd_list)

    q = sub.add_parser("run", help="sweep an experiment, write results, verdict and figures")
    q.add_argument("experiment")
    q.add_argument("--size", default="paper", choices=["small", "paper"],
                   help="SMALL or CONFIG of the experiment (default paper)")
    q.add_argument("--seeds", type=int,
                   help="number of seeds N; runs use seeds 0..N-1 (default: config's, else 10)")
    q.add_argument("--backend", default="process", choices=["serial", "process", "ray"])
    q.add_argument("--address", help="Ray address: auto or HOST:PORT (default: local Ray)")
    q.add_argument("--workers", type=int, help="processes / local Ray CPUs (default: all cores)")
    q.add_argument("--out", default="results", metavar="DIR", help="results folder")
    q.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config value (Python literal, else string)")
    q.add_argument("--grid", action="append", metavar="KEY=[V1,V2]",
                   help="sweep a config key over a list of values")
    q.add_argument("--no-resume", dest="resume", action="store_false",
                   help="recompute runs already stored")
    q.add_argument("--rerun-stale", action="store_true",
                   help="recompute stored runs made by another version of the experiment file")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.add_argument("--experiments", metavar="DIR", help="experiments folder")
    q.set_defaults(func=cmd_run)

    q = sub.add_parser("report", help="gather verdicts and figures into REPORT.md")
    q.add_argument("--out", default="results", metavar="DIR", help="results folder")
    q.add_argument("--figures", default=None, metavar="DIR",
                   help="report folder (default: the results folder)")
    q.add_argument("--reverdict", action="store_true",
                   help="recompute every verdict from the stored results first (no rerun)")
    q.add_argument("--experiments", metavar="DIR", help="experiments folder")
    q.set_defaults(func=cmd_report)

    q = sub.add_parser("check", help="run the proof checks (all modules if none named)")
    q.add_argument("names", nargs="*", metavar="NAME")
    q.add_argument("--proofs", metavar="DIR", help="proof checks folder")
    q.add_argument("-v", "--verbose", action="store_true", help="show pytest's own report")
    q.set_defaults(func=cmd_check)
    return p


def _is_usage_error(exc: BaseException) -> bool:
    if isinstance(exc, (UsageFailure, registry.UnknownName)):
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
    except Exception as exc:
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
