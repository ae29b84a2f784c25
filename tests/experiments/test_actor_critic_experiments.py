"""Smoke runs of experiments/actor_critic_regret.py and experiments/actor_critic_hybrid.py on
SMALL, in-process (2 seeds): tidy tables, exact-regret invariants, seeding, verdicts, figures."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from mdptheory.analysis import Verdict

ROOT = str(Path(__file__).resolve().parents[2])      # the repository: `experiments` package
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import mdptheory.experiments.actor_critic_hybrid as hy
import mdptheory.experiments.actor_critic_regret as rg


def test_regret_small_runs_end_to_end(tmp_path):
    assert set(rg.CONFIG) == set(rg.SMALL) and rg.CONFIG["seeds"] >= 10
    results = pd.concat([rg.run(rg.SMALL, seed) for seed in range(2)], ignore_index=True)
    jobs = rg._jobs(rg.SMALL)
    groups = results.groupby(["seed", "env", "algorithm"])
    assert groups.ngroups == 2 * len(jobs)
    for col in ("experiment", "seed", "k", "regret", "bound", "trivial_bound", "switches",
                "switch_bound", "env", "variant", "c", "eta_used", "delta"):
        assert col in results.columns
    for (_, env, _), df in groups:
        K = rg.SMALL["K_linear"] if env == "linear" else rg.SMALL["K"]
        assert df["k"].max() == K
        assert np.all(np.diff(df["regret"].to_numpy()) >= -1e-9)
    assert np.all(results["regret"] <= results["trivial_bound"] + 1e-9)
    rare = results[results["variant"] != "refit_every_no_reset"]
    assert np.all(rare["switches"] <= rare["switch_bound"])            # deterministic bounds
    every = results[results["variant"] == "refit_every_no_reset"]
    assert np.all(every["switches"] == every["k"])
    again = rg.run(rg.SMALL, 1).drop(columns="wall_time")
    pd.testing.assert_frame_equal(
        results[results.seed == 1].drop(columns="wall_time").reset_index(drop=True), again)

    verdicts = rg.verdict(results)
    n_defaults = len({(e, c) for e, v, c in jobs if v == "AC"})
    assert len(verdicts) >= 2 * n_defaults
    for v in verdicts:
        assert isinstance(v, Verdict) and v.paper == rg.PAPER
        assert not v.passed and "only 2 seeds" in v.note               # < 10 seeds never passes
    switch_v = [v for v in verdicts if v.claim.startswith("critic switches")]
    assert len(switch_v) == n_defaults and all(v.measured <= v.bound for v in switch_v)

    paths = rg.plot(results, tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert paths[0].name == "actor_critic_regret.png"


def test_hybrid_small_runs_end_to_end(tmp_path):
    assert set(hy.CONFIG) == set(hy.SMALL) and hy.CONFIG["seeds"] >= 10
    results = pd.concat([hy.run(hy.SMALL, seed) for seed in range(2)], ignore_index=True)
    assert set(results["part"]) == {"hybrid", "threshold"}
    hyb = results[results["part"] == "hybrid"]
    grid = sorted(int(x) for x in hy.SMALL["n_off_grid"].split(","))
    per = hyb.groupby(["seed", "behaviour"])["n_off"].apply(lambda s: sorted(s))
    assert all(list(v) == grid for v in per)
    assert np.all(hyb["avg_regret"] <= hyb["optimal_value"] + 1e-9)
    assert np.all(hyb["c_off"] >= 1.0)
    # N_off = 0 is the same online-only run for every behaviour (common random numbers)
    zero = hyb[hyb["n_off"] == 0].groupby("seed")["regret"].nunique()
    assert (zero == 1).all()
    thr = results[results["part"] == "threshold"]
    pos = thr[thr["ratio"] > 0]
    np.testing.assert_allclose(pos["ratio"] * pos["threshold"], pos["n_off"], rtol=1e-9)
    assert set(thr["success"].astype(bool)) <= {True, False}
    again = hy.run(hy.SMALL, 0)
    pd.testing.assert_frame_equal(results[results.seed == 0].reset_index(drop=True), again)

    verdicts = hy.verdict(results)
    assert any("lowers the online regret" in v.claim for v in verdicts)
    assert any("fails on the exploration-hard lock" in v.claim for v in verdicts)
    for v in verdicts:
        assert isinstance(v, Verdict) and not v.passed and "only 2 seeds" in v.note
    paths = hy.plot(results, tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert paths[0].name == "actor_critic_hybrid.png"


def test_transition_ratio_interpolates_and_flags_censoring():
    curve = pd.DataFrame({"ratio": [0.0, 1e-3, 1e-2, 1e-1], "success": [0.0, 0.0, 0.25, 0.75]})
    r, cens = hy.transition_ratio(curve)
    assert not cens and abs(r - 10 ** -1.5) <= 1e-12
    r, cens = hy.transition_ratio(curve.assign(success=[0, 0.6, 1, 1]))
    assert cens and r == 1e-3
    r, cens = hy.transition_ratio(curve.assign(success=0.0))
    assert np.isnan(r) and not cens
