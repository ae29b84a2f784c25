"""Smoke runs of the four robust-linear experiments (r2pvi_rate, r2pvi_robustness,
r2pvi_runtime, dr_rpo_regret) on SMALL, in-process, 2 seeds each: tidy output, exact
quantities consistent with their definitions, seed determinism, verdicts and figures."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mdptheory.analysis import Verdict

ROOT = str(Path(__file__).resolve().parents[2])      # the repository: `experiments` package
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
import mdptheory.experiments.dr_rpo_regret as regret_ex
import mdptheory.experiments.r2pvi_rate as rate_ex
import mdptheory.experiments.r2pvi_robustness as robust_ex
import mdptheory.experiments.r2pvi_runtime as runtime_ex


def _run(ex):
    assert set(ex.CONFIG) == set(ex.SMALL) and ex.CONFIG["seeds"] >= 10
    return pd.concat([ex.run(ex.SMALL, seed) for seed in range(2)], ignore_index=True)


def _check_outputs(ex, results, tmp_path, name):
    verdicts = ex.verdict(results)
    assert verdicts and all(isinstance(v, Verdict) for v in verdicts)
    for v in verdicts:
        v.to_dict()                                             # JSON-ready
    paths = ex.plot(results, tmp_path)
    assert paths[0].name == f"{name}.png" and paths[0].stat().st_size > 0
    return verdicts


def test_r2pvi_rate_small(tmp_path):
    res = _run(rate_ex)
    Ks = rate_ex.K_grid(rate_ex.SMALL)
    assert set(res["K"]) == set(Ks)
    assert res.groupby(["seed", "instance", "divergence"]).size().eq(len(Ks)).all()
    assert np.all(res["subopt"] >= 0) and np.all(res["subopt_theory"] >= 0)
    np.testing.assert_allclose(res["bound"], 2 * res["beta_theory"] * res["phi_sup"])
    assert np.all(res["phi_sup"] >= res["phi_nominal"] - 1e-12)
    assert np.all(res["phi_sup"] >= res["phi_worst"] - 1e-12)
    again = rate_ex.run(rate_ex.SMALL, 1)
    pd.testing.assert_frame_equal(res[res.seed == 1].reset_index(drop=True), again)
    verdicts = _check_outputs(rate_ex, res, tmp_path, "r2pvi_rate")
    theorem_52 = [v for v in verdicts if v.theorem.startswith("Theorem 5.2 (v1)")]
    assert all(v.measured <= v.bound for v in theorem_52)
    assert all(not v.passed for v in theorem_52)                 # 2 seeds never verify


def test_r2pvi_robustness_small(tmp_path):
    res = _run(robust_ex)
    assert set(res["figure"]) == {"1a", "1b", "1d", "exact"}
    assert set(res.loc[res.figure != "exact", "setting"]) == set(robust_ex.SETTINGS)
    # exact returns: q = 0 return of the nominal-optimal policy (1,1,1,1) is the spec's 1.6249
    ex = res[(res.figure == "exact") & (res.x == 0.0)]
    assert np.all(ex["nominal_first_action"] == robust_ex.ALL_UP)
    sim = res[res.figure.isin(["1a", "1b"])]
    assert np.all((sim["value"] >= 0) & (sim["value"] <= 3 + 1e-9))
    verdicts = _check_outputs(robust_ex, res, tmp_path, "r2pvi_robustness")
    finding = [v for v in verdicts if "§2.7" in v.theorem]
    assert len(finding) == 1 and finding[0].measured == 0.0


def test_r2pvi_runtime_small(tmp_path, capsys):
    res = _run(runtime_ex)
    n_set = len(runtime_ex.settings(runtime_ex.SMALL))
    assert len(res) == 2 * n_set * len(runtime_ex.METHODS) * len(runtime_ex.MODES)
    assert np.all(res["seconds"] > 0)
    assert np.allclose(res.loc[res.algorithm == "PEVI", "vs_pevi"], 1.0)
    verdicts = _check_outputs(runtime_ex, res, tmp_path, "r2pvi_runtime")
    assert "paper time / our time" in capsys.readouterr().out
    assert {v.claim for v in verdicts} >= {("R2PVI-TV costs <= 1.5x PEVI on the same data "
                                           "[grouped]")}


def test_dr_rpo_regret_small(tmp_path):
    res = _run(regret_ex)
    groups = res.groupby(["seed", "instance", "algorithm"])
    assert groups.ngroups == 2 * len(regret_ex.INSTANCES) * len(regret_ex.LEARNERS)
    assert (groups["k"].max() == regret_ex.SMALL["K"]).all()
    for _, df in groups:
        assert np.all(np.diff(df["regret"].to_numpy()) >= -1e-9)    # exact, nonnegative
    assert np.all(res["episode_regret"] >= -1e-12)
    verdicts = _check_outputs(regret_ex, res, tmp_path, "dr_rpo_regret")
    assert all(v.claimed_exponent == 0.5 and v.exponent_is_upper for v in verdicts)


def test_put_option_and_rate_configs_name_the_paper_settings():
    assert robust_ex.CONFIG["apo_H"] == 20 and robust_ex.CONFIG["apo_d"] == 30
    assert robust_ex.CONFIG["K"] == 100 and robust_ex.CONFIG["lam"] == pytest.approx(0.1)
    assert set(runtime_ex.PAPER_TIMES) == set(runtime_ex.settings(runtime_ex.CONFIG))
    Ks = rate_ex.K_grid(rate_ex.CONFIG)
    assert Ks[-1] / Ks[0] >= 100                                      # >= two decades
