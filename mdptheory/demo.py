"""``make demo`` / ``python -m mdptheory.demo``: the package end to end in a few minutes.

1. Solves a few classic instances exactly and prints their values (backward induction for the
   finite-horizon versions; value iteration, policy iteration and the LP for the discounted
   ones, where those solvers are available), so the agreement of independent solvers is visible.
2. Runs every experiment (the built-ins, and those of ``--experiments-dir``) at its SMALL size
   on the local process backend, writing ``results/<experiment>/`` (resumable: a second demo
   reuses the finished runs, unless the code that made them changed since).
3. Writes ``results/REPORT.md`` beside them with every verdict and figure (as
   ``mdptheory report --out results --figures results`` would).

Everything goes to ``results/``, which git ignores; ``figures/paper/`` (the paper-size report)
is not touched. Needs neither Ray nor the test tools. Exit code 0 when every experiment ran
(whatever its verdicts), 1 if one crashed.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from . import experiments_registry as registry


def _optional(module: str, name: str):
    """``module.name`` if that solver exists in this checkout, else None."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def solved_instances() -> list[dict]:
    """Rows (instance, solver, value rho0.V, note) for a few classic instances."""
    from . import envs
    from .solvers.finite import backward_induction

    rows = []
    for label, mdp in [("RiverSwim S=6, H=20", envs.river_swim(6, H=20)),
                       ("Garnet S=10 A=3 b=3, H=10", envs.garnet(10, 3, 3, H=10, rng=0))]:
        t = time.perf_counter()
        sol = backward_induction(mdp)
        rows.append({"instance": label, "solver": "backward induction",
                         "value": sol.value(mdp.rho0), "note": f"{time.perf_counter() - t:.3f} s"})

    solvers = [("value iteration", _optional("mdptheory.solvers.discounted", "value_iteration")),
               ("policy iteration", _optional("mdptheory.solvers.discounted",
                                              "policy_iteration")),
               ("LP (cvxpy)", _optional("mdptheory.solvers.lp", "solve_lp"))]
    solvers = [(n, f) for n, f in solvers if f is not None]
    if solvers:
        for label, mdp in [("RiverSwim S=6, gamma=0.95", envs.river_swim(6, gamma=0.95)),
                           ("Garnet S=50 A=4 b=5, gamma=0.9",
                            envs.garnet(50, 4, 5, gamma=0.9, rng=0))]:
            for name, solve in solvers:
                t = time.perf_counter()
                try:
                    sol = solve(mdp)
                except Exception as exc:  # noqa: BLE001  (a missing LP backend is not fatal)
                    rows.append({"instance": label, "solver": name, "value": None,
                                     "note": f"failed: {type(exc).__name__}: {exc}"})
                    continue
                note = f"{time.perf_counter() - t:.3f} s"
                if sol.num_iter is not None:
                    note += f", {sol.num_iter} iterations"
                if sol.error_bound is not None:
                    note += f", |V - V*| <= {sol.error_bound:.1e}"
                rows.append({"instance": label, "solver": name, "value": sol.value(mdp.rho0),
                                 "note": note})
    return rows


def print_table(rows: list[dict]) -> None:
    header = ["instance", "solver", "value rho0.V", "notes"]
    body = [[r["instance"], r["solver"], "-" if r["value"] is None else f"{r['value']:.10f}",
             r["note"]] for r in rows]
    widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *body]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())


def main(argv=None) -> int:
    from .cli import _HelpFormatter

    parser = argparse.ArgumentParser(prog="python -m mdptheory.demo", description=__doc__,
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--out", default="results", help="results folder")
    parser.add_argument("--report", metavar="DIR",
                        help="folder of REPORT.md (default: the results folder)")
    parser.add_argument("--backend", default="process", choices=["serial", "process", "ray"],
                        help="where runs execute")
    parser.add_argument("--workers", type=int, help="processes, >= 1 (default: all cores)")
    parser.add_argument("--experiments-dir", action="append", metavar="DIR",
                        help="extra folder of experiments, added to the built-ins "
                             "(default: none)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()

    print("== Exact solutions of a few classic instances\n")
    print_table(solved_instances())

    names = registry.list_experiments(args.experiments_dir)
    print(f"\n== Experiments at SMALL size ({len(names)} found)")
    if not names:
        print("none yet; nothing to verify.")
    from .report import format_claims_table, write_report
    from .runner.sweep import RunFailed, run_experiment

    # Import every experiment first: the process pool's server then preloads all their modules.
    for name in names:
        try:
            registry.load_experiment(name, args.experiments_dir)
        except Exception:  # noqa: BLE001, S110  (reported when the experiment runs)
            pass
    crashed = []
    for name in names:
        t = time.perf_counter()
        print(f"\n-- {name}")
        try:
            out = run_experiment(name, size="small", backend=args.backend, out=args.out,
                                 workers=args.workers, experiments_dir=args.experiments_dir,
                                 rerun_stale=True)
        except Exception as exc:  # noqa: BLE001  (one broken experiment must not hide others)
            crashed.append(name)
            if isinstance(exc, RunFailed):
                print(exc.details, file=sys.stderr)
            else:
                traceback.print_exc()
            print(f"{name} crashed: {type(exc).__name__}: {exc}")
            continue
        s = out.sweep
        print(f"{len(out.seeds)} seeds, {s.computed} runs computed, {s.reused} reused, "
              f"{time.perf_counter() - t:.1f} s")
        print(format_claims_table([v.to_dict() for v in out.verdicts]))

    report, _ = write_report(args.out, args.report)
    print(f"\n== Report: {report} ({time.perf_counter() - t0:.0f} s in all)")
    if crashed:
        print(f"crashed: {', '.join(crashed)}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
