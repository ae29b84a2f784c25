"""Smoke run of experiments/iwocs_convergence.py on SMALL, in-process (2 seeds)."""
import sys
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest

from mdptheory.analysis import Verdict
from mdptheory.envs import windy_walk as W

ROOT = str(Path(__file__).resolve().parents[2])      # the repository: `experiments` package
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import mdptheory.experiments.iwocs_convergence as ex

TIMES = ["run_time", "wall_time"]


@pytest.fixture(autouse=True, scope="module")
def _one_numba_thread():
    """Performance only (see tests/algorithms/test_iwocs.py)."""
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(n)


def test_small_runs_end_to_end(tmp_path):
    assert set(ex.CONFIG) == set(ex.SMALL) and ex.CONFIG["seeds"] >= 10
    results = pd.concat([ex.run(ex.SMALL, seed) for seed in range(2)], ignore_index=True)
    assert set(results["part"]) == {"iwocs", "robust_dp", "static_dynamic", "iwocs_static",
                                    "tiny_static"}
    it = results[results["part"] == "iwocs"]
    # one IWOCS run per seed x instance x variant, each with exactly one final row
    runs = it.groupby(["seed", "instance", "variant"])
    assert runs.ngroups == 2 * (len(ex.VARIANTS) + (len(ex.VARIANTS) - 1)
                                * len(ex.SMALL["rect_sizes"]))
    assert (runs["final"].sum() == 1).all()
    # certificates bracket the exact robust optimum on the rectangular sets
    rect = it[it["certificate_valid"].astype(bool)]
    assert np.all(rect["upper"] >= rect["V_star"] - 1e-9)
    assert np.all(rect["best_lower"] <= rect["V_star"] + 1e-9)
    # WindyWalk (R) reference numbers of spec §2.7, in costs
    w = it[(it["instance"] == "windy_R") & (it["variant"] == "S1+S2")]
    assert w["V_star_cost"].iloc[0] == pytest.approx(W.REFERENCE["robust_optimum"], abs=5e-3)
    # static >= dynamic for every fixed policy
    sd = results[results["part"] == "static_dynamic"]
    assert len(sd) and np.all(sd["static_value"] >= sd["dynamic_value"] - 1e-9)
    # the run is a function of the seed only (wall times aside)
    again = ex.run(ex.SMALL, 1).drop(columns=TIMES, errors="ignore")
    pd.testing.assert_frame_equal(
        results[results.seed == 1].drop(columns=TIMES, errors="ignore").reset_index(drop=True)
        .dropna(axis=1, how="all"), again.dropna(axis=1, how="all"))

    verdicts = ex.verdict(results)
    assert len(verdicts) == 8
    for v in verdicts:
        assert isinstance(v, Verdict) and v.paper == ex.PAPER and v.note
    by_theorem = {v.theorem: v for v in verdicts}
    ref = by_theorem["spec §2.7 (WindyWalk reference values)"]
    assert ref.passed and ref.measured == pytest.approx(-15.73, abs=5e-3)
    # < 10 seeds never verifies a measured claim
    assert all(not v.passed and "2 seeds" in v.note for v in verdicts if v is not ref)

    paths = ex.plot(results, tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert paths[0].name == "iwocs_convergence.png"
