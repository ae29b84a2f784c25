"""Smoke run of experiments/subpo_approximation.py on SMALL, in-process (2 seeds)."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from mdptheory.analysis import Verdict

ROOT = str(Path(__file__).resolve().parents[2])      # the repository: `experiments` package
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import mdptheory.experiments.subpo_approximation as ex  # noqa: E402

TIMES = ["wall_time"]


def test_small_runs_end_to_end(tmp_path):
    assert set(ex.CONFIG) == set(ex.SMALL) and ex.CONFIG["seeds"] >= 10
    assert ex.CONFIG["seeds"] * ex.CONFIG["instances_per_seed"] == 100
    results = pd.concat([ex.run(ex.SMALL, seed) for seed in range(2)], ignore_index=True)
    assert set(results["part"]) == {"ratio", "bandit", "curvature", "estimator", "enumeration",
                                     "two_rooms", "paper_grid"}
    r = results[results["part"] == "ratio"]
    # every instance has every method, and no policy beats the exact optimum
    per = r.groupby(["seed", "instance"])["method"].nunique()
    assert (per == len(ex.RATIO_METHODS) + 2).all()
    assert np.all(r["ratio"] <= 1 + 1e-9) and np.all(r["ratio"] > 0)
    b = results[results["part"] == "bandit"]
    assert np.all(b["ratio"] <= 1 + 1e-9)
    c = results[results["part"] == "curvature"]
    assert np.all((c["curvature"] >= 0) & (c["curvature"] <= 1))
    e = results[results["part"] == "estimator"]
    assert len(e) == 2 * 6 and np.all(e["bias_z"] >= 0)
    assert np.all(e[e["estimator"] != "myopic_prefix"]["exact_bias_rel"] == 0)
    # the run is a function of the seed only (wall times aside)
    again = ex.run(ex.SMALL, 1).drop(columns=TIMES)
    pd.testing.assert_frame_equal(
        results[results.seed == 1].drop(columns=TIMES).reset_index(drop=True), again)

    verdicts = ex.verdict(results)
    for v in verdicts:
        assert isinstance(v, Verdict) and v.paper == ex.PAPER
        assert v.provenance in ("paper-recalled", "expectation", "derived")
    # 2 seeds decide no statistical claim: comparisons are inconclusive, never refuted
    comparisons = [v for v in verdicts if v.kind == "comparison"]
    assert comparisons and all(v.outcome == "inconclusive" for v in comparisons)
    assert all(v.needs == "seeds >= 10" for v in comparisons)
    # the exact enumeration decides Theorem 2 even at SMALL size
    thm2 = [v for v in verdicts if v.theorem == "Theorem 2 (marginal-gain policy gradient)"]
    assert [v.outcome for v in thm2] == ["verified"]
    g = results[results["part"] == "paper_grid"]
    assert np.all(g["ratio"] <= 1 + 1e-9) and np.all(g["ratio"] > 0)

    paths = ex.plot(results, tmp_path)
    assert any(str(p).endswith(".png") and Path(p).stat().st_size > 0 for p in paths)
    assert len({Path(p).name for p in paths}) == len(paths) == 4      # two distinct figures
    results.to_parquet(tmp_path / "results.parquet")            # tidy, storable
