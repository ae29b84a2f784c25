"""Smoke runs of experiments/pmd_convergence.py and experiments/mdpo_vs_pmd.py on SMALL,
in-process (2 seeds), with checks of what the runs assert."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from mdptheory.analysis import Verdict

ROOT = str(Path(__file__).resolve().parents[2])      # the repository: `experiments` package
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import mdptheory.experiments.mdpo_vs_pmd as mv  # noqa: E402
import mdptheory.experiments.pmd_convergence as pc  # noqa: E402


def _config(mod):
    return {k: v for k, v in mod.SMALL.items() if k != "seeds"}


def test_pmd_convergence_small_end_to_end(tmp_path):
    assert set(pc.CONFIG) == set(pc.SMALL) and pc.CONFIG["seeds"] >= 10
    cfg = _config(pc)
    results = pd.concat([pc.run(cfg, seed) for seed in range(2)], ignore_index=True)
    for col in ("experiment", "seed", "env", "S", "A", "gamma", "schedule", "theorem", "k",
                "measured", "bound", "max_excess", "rate_measured", "rate_predicted"):
        assert col in results.columns
    # every theorem that the schedules target is checked on both environments
    for env in ("garnet", "mismatch_chain"):
        seen = set(results.loc[results["env"] == env, "theorem"])
        assert {"T1", "T2", "T3", "T4", "T5", "T6", "T7_Q", "T7_logpi", "T8_unregularized",
                "T8_regularized"} <= seen
    # the bounds held at every iteration (running max of measured - bound, slack 1e-10 / (1-g))
    checked = results[~results["theorem"].str.startswith("T8")]
    slack = 1e-10 * np.maximum(1.0, 1.0 / (1.0 - checked["gamma"]))
    assert np.all(checked["max_excess"] <= slack)
    # T1 at every iteration: no state's value ever decreased
    assert results.loc[results["theorem"] == "T1", "measured"].max() <= 1e-10 * 10
    # the same seed gives the same rows (a reduced grid keeps this cheap)
    tiny = dict(cfg, chain_S=(), schedules=("constant", "adaptive"))
    pd.testing.assert_frame_equal(pc.run(tiny, 1), pc.run(tiny, 1))

    verdicts = pc.verdict(results)
    assert verdicts and all(isinstance(v, Verdict) for v in verdicts)
    # every claim is labelled: our derivations, recalled theorems, or our expectations
    assert {v.provenance for v in verdicts} <= {"derived", "paper-recalled", "expectation"}
    # the bounds are deterministic (exact PMD): decided even at SMALL size, and they hold
    bound_verdicts = [v for v in verdicts if "at every iteration" in v.claim]
    assert bound_verdicts and all(v.kind == "inequality" for v in bound_verdicts)
    assert all(v.outcome == "verified" for v in bound_verdicts)
    # exponent claims need >= 10 runs: with 2 seeds they are never decided
    rates = [v for v in verdicts if v.claimed_exponent is not None]
    assert rates and all(v.outcome == "inconclusive" and v.needs for v in rates)
    assert all(v.provenance == "paper-recalled" for v in rates if "T8" in v.theorem)
    # a file stem, as the CLI passes; four theorems keep matplotlib's text layout cheap
    few = results[results["theorem"].isin(["T1", "T2", "T4", "T7_Q"])]
    paths = pc.plot(few, tmp_path / "pmd_convergence")
    assert len({str(p) for p in paths}) == len(paths) == 6  # three figures, PNG + PDF each
    assert any(str(p).endswith("pmd_convergence.png") for p in paths)
    assert all(Path(p).exists() for p in paths)


def test_mdpo_vs_pmd_small_end_to_end(tmp_path):
    assert set(mv.CONFIG) == set(mv.SMALL) and mv.CONFIG["seeds"] >= 10
    cfg = _config(mv)
    results = pd.concat([mv.run(cfg, seed) for seed in range(2)], ignore_index=True)
    assert set(results["part"]) == {"exact", "schedule", "sample"}
    ex = results[results["part"] == "exact"]
    # m = inf is exact PMD: KL to the PMD step is 0 (to rounding)
    assert ex.loc[ex["m"] == "inf", "kl_max"].dropna().max() <= 1e-12
    assert ex.loc[ex["m"] == "1", "pg_deviation"].dropna().max() <= 1e-6
    assert (results["gap"] >= -1e-9).all()                 # exact suboptimality is >= 0
    # sample-based runs are a function of the seed
    small = dict(cfg, on_iterations=3, authors_on_iterations=1, off_steps=500, K=3)
    a, b = mv.run(small, 5), mv.run(small, 5)
    pd.testing.assert_frame_equal(a, b)
    c = mv.run(small, 6)
    assert not np.array_equal(a["gap"].to_numpy(), c["gap"].to_numpy())

    verdicts = mv.verdict(results)
    assert verdicts and all(isinstance(v, Verdict) for v in verdicts)
    assert all(v.provenance != "unlabelled" for v in verdicts)
    # the N^-1/2 rate (Shani et al.'s) is tested only on the run with their step schedule
    rates = [v for v in verdicts if v.claimed_exponent is not None]
    assert len(rates) == 1 and mv.SHANI_RUN in rates[0].claim
    assert rates[0].provenance == "paper-recalled" and rates[0].paper == mv.SHANI
    assert rates[0].outcome == "inconclusive" and rates[0].needs
    # the authors' deep-RL preset is a labelled measurement, never a rate claim
    preset = [v for v in verdicts if "authors' preset" in v.claim]
    assert len(preset) == 2 and all(v.outcome == "info" for v in preset)
    # exact identities are decided at any size; seed comparisons need 10 seeds
    exact = [v for v in verdicts if v.kind == "inequality"]
    assert exact and all(v.outcome == "verified" and v.provenance == "derived" for v in exact)
    seeded = [v for v in verdicts if v.kind in ("comparison", "monotone")]
    assert seeded and all(v.outcome == "inconclusive" and v.needs == "seeds >= 10"
                          for v in seeded)
    paths = mv.plot(results, tmp_path)
    assert any(str(p).endswith("mdpo_vs_pmd.png") for p in paths)
    assert any(str(p).endswith("mdpo_vs_pmd_samples.png") for p in paths)
    assert all(Path(p).exists() for p in paths)
