"""Smoke run of experiments/qlearning_regret.py on SMALL, in-process."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from mdptheory.analysis import Verdict

ROOT = str(Path(__file__).resolve().parents[2])      # the repository: `experiments` package
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import mdptheory.experiments.qlearning_regret as ex


def test_small_runs_end_to_end(tmp_path):
    assert ex.SMALL["K"] <= 5_000 and set(ex.CONFIG) == set(ex.SMALL)
    results = pd.concat([ex.run(ex.SMALL, seed) for seed in range(2)], ignore_index=True)
    groups = results.groupby(["seed", "env", "algorithm"])
    assert groups.ngroups == 2 * len(ex.ENVS) * len(ex.BONUSES)
    assert (groups["k"].max() == ex.SMALL["K"]).all()
    for col in ("experiment", "seed", "k", "regret", "bound", "trivial_bound", "value_estimate",
                "policy_switches", "S", "A", "H", "p", "c", "c1", "c2"):
        assert col in results.columns
    for _, df in groups:
        assert np.all(np.diff(df["regret"].to_numpy()) >= -1e-9)
    assert np.all(results["regret"] <= results["trivial_bound"] + 1e-9)
    # optimism of the learner's own V_0, recorded through the value hook
    assert np.all(results["value_estimate"] >= results["optimal_value"] - 1e-9)
    again = ex.run(ex.SMALL, 1).drop(columns="wall_time")
    pd.testing.assert_frame_equal(
        results[results.seed == 1].drop(columns="wall_time").reset_index(drop=True), again)

    verdicts = ex.verdict(results)
    assert len(verdicts) == len(ex.ENVS) * len(ex.BONUSES)
    for v in verdicts:
        assert isinstance(v, Verdict)
        assert v.claimed_exponent == 0.5 and v.exponent_is_upper
        assert v.outcome in ("inconclusive", "verified", "refuted")
        assert v.provenance == "paper-recalled"
        assert v.to_dict()["theorem"].startswith("Theorem")

    paths = ex.plot(results, tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert paths[0].name == "qlearning_regret.png"
