"""Smoke runs of experiments/stepmix_safety.py and experiments/stepmix_regret.py on SMALL,
in-process, 2 seeds."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from mdptheory.analysis import Verdict

ROOT = str(Path(__file__).resolve().parents[2])      # the repository: `experiments` package
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import mdptheory.experiments.stepmix_regret as reg
import mdptheory.experiments.stepmix_safety as saf


def test_safety_small_runs_end_to_end(tmp_path):
    assert saf.SMALL["K"] <= 2_000 and set(saf.CONFIG) == set(saf.SMALL)
    assert saf.CONFIG["seeds"] >= 10
    results = pd.concat([saf.run(saf.SMALL, seed) for seed in range(2)], ignore_index=True)
    K = saf.SMALL["K"]
    groups = results.groupby(["seed", "instance", "bonus", "alpha", "algorithm"])
    n_cfg = len(saf.SMALL["instances"]) * len(saf.SMALL["bonuses"]) * len(saf.SMALL["alphas"])
    assert groups.ngroups == 2 * n_cfg * len(saf.ALGORITHMS)
    assert (groups["k"].max() == K).all()
    for col in ("experiment", "seed", "k", "exact_value", "threshold", "violations", "min_margin",
                "V_b", "V_star", "kappa", "alpha", "bonus", "instance", "delta"):
        assert col in results.columns
    # violation counts are cumulative, and consistent with the margin
    for _, df in groups:
        assert np.all(np.diff(df["violations"].to_numpy()) >= 0)
        assert ((df["violations"] > 0) == (df["min_margin"] < -saf.TOL)).all()
    cons = results[results["algorithm"].isin(saf.CONSERVATIVE) & (results["bonus"] == "l1")]
    assert (cons["violations"] == 0).all()                   # safety at SMALL with B1
    assert (results[results["algorithm"] == "UCBVI"]["violations"].max()) > 0
    again = saf.run(saf.SMALL, 1).drop(columns="wall_time")
    pd.testing.assert_frame_equal(
        results[results.seed == 1].drop(columns="wall_time").reset_index(drop=True), again)

    verdicts = saf.verdict(results)
    assert len(verdicts) == n_cfg * len(saf.CONSERVATIVE)
    for v in verdicts:
        assert isinstance(v, Verdict)
        assert v.measured == 0.0 and v.bound == saf.SMALL["delta"]
        assert not v.passed and "only 2 seeds" in v.note     # < 10 seeds never verifies
        assert "UCBVI" in v.note
    paths = saf.plot(results, tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert paths[0].name == "stepmix_safety.png"


def test_regret_small_runs_end_to_end(tmp_path):
    assert reg.SMALL["K"] <= 5_000 and set(reg.CONFIG) == set(reg.SMALL)
    assert reg.CONFIG["seeds"] >= 10
    results = pd.concat([reg.run(reg.SMALL, seed) for seed in range(2)], ignore_index=True)
    K = reg.SMALL["K"]
    runs = reg._runs(reg.SMALL)
    groups = results.groupby(["seed", "algorithm", "alpha", "ratio"], dropna=False)
    assert groups.ngroups == 2 * len(runs)
    assert (groups["k"].max() == K).all()
    for col in ("k", "regret", "regret_realized", "bound", "trivial_bound", "alpha", "ratio",
                "kappa", "V_b", "conservative_episodes", "main", "seed", "experiment"):
        assert col in results.columns
    for _, df in groups:
        assert np.all(np.diff(df["regret"].to_numpy()) >= -1e-9)
    assert np.all(results["regret"] <= results["trivial_bound"] + 1e-9)
    assert np.all(results["regret"] <= results["bound"])
    markov = results[results["algorithm"] != "EpsMix"]
    np.testing.assert_allclose(markov["regret"], markov["regret_realized"], atol=1e-8)
    assert not np.array_equal(results[results.seed == 0]["regret"].to_numpy(),
                              results[results.seed == 1]["regret"].to_numpy())   # seeds differ

    verdicts = reg.verdict(results)
    assert all(isinstance(v, Verdict) for v in verdicts)
    claims = " | ".join(v.claim for v in verdicts)
    for algo in ("UCBVI", "StepMix", "EpsMix", "StepMix-switch"):
        assert f"{algo} regret is O(sqrt(K))" in claims
    assert "tends to 1" in claims and "decreases in alpha" in claims
    assert "conservative episodes grows" in claims
    for v in verdicts:
        assert not v.passed and "only 2 seeds" in v.note
    paths = reg.plot(results, tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert paths[0].name == "stepmix_regret.png"
