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
        assert v.provenance != "unlabelled"                     # every claim says its source
        assert v.outcome in ("inconclusive", "info"), (v.claim, v.outcome, v.reason)  # 2 seeds
    paths = ex.plot(results, tmp_path)
    assert paths[0].name == f"{name}.png" and paths[0].stat().st_size > 0
    return verdicts


def test_r2pvi_rate_small(tmp_path):
    res = _run(rate_ex)
    Ks = rate_ex.K_grid(rate_ex.SMALL)
    assert set(res["K"]) == set(Ks)
    assert res.groupby(["seed", "instance", "divergence"]).size().eq(len(Ks)).all()
    # raw SubOpt: exact values, never clipped (round-off only below 0)
    assert np.all(res["subopt"] >= -1e-12) and np.all(res["subopt_theory"] >= -1e-12)
    np.testing.assert_allclose(res["bound"], 2 * res["beta_theory"] * res["phi_sup"])
    np.testing.assert_array_equal(res["bound_leading"], res["bound"])   # one order in K
    np.testing.assert_array_equal(res["trivial_bound"], res["optimal_value"])
    assert np.all(res["phi_sup"] >= res["phi_nominal"] - 1e-12)
    assert np.all(res["phi_sup"] >= res["phi_worst"] - 1e-12)
    again = rate_ex.run(rate_ex.SMALL, 1)
    pd.testing.assert_frame_equal(res[res.seed == 1].reset_index(drop=True), again)
    # coverage: violated (c_dagger = 0) for TV on the simulated MDP, met elsewhere
    cov = res.groupby(["instance", "divergence"])["c_dagger"].min()
    assert cov["simulated", "tv"] == 0.0
    assert cov["random"].min() >= rate_ex.SMALL["coverage_min"]
    verdicts = _check_outputs(rate_ex, res, tmp_path, "r2pvi_rate")
    by_claim = {v.claim: v for v in verdicts}
    violated = [v for v in verdicts if "coverage assumption is violated" in v.claim]
    assert violated and all("simulated" in v.claim and "R2PVI-tv" in v.claim for v in violated)
    theorem = [v for v in verdicts if v.theorem.startswith("Theorem 5.2 (v1) and")]
    assert all(v.provenance == "paper" and v.bound_status == "vacuous" for v in theorem)
    assert all(by_claim[c].provenance == "calibrated" for c in by_claim if "beta = 1" in c
               and "not tested" not in c and "Phi_sup flat" not in c)
    two_sided = [v for v in verdicts if not v.exponent_is_upper and v.claimed_exponent
                 is not None]
    assert two_sided and all("lower_bound" in v.claim for v in two_sided)


def test_r2pvi_rate_random_instances_follow_the_preregistered_screen():
    cfg = dict(rate_ex.SMALL, coverage_min=0.1)   # candidates 0-2 fall short, 3 passes
    _, j, cov = rate_ex.random_instance(cfg, 0)
    assert j == 3 and min(cov.values()) >= 0.1
    for k in range(j):                                          # every earlier one rejected
        cand = rate_ex.envs.random_linear_mdp(cfg["rand_S"], cfg["rand_A"], cfg["rand_d"],
                                              cfg["rand_H"], rng=cfg["instance_seed"] + k)
        c = min(rate_ex.coverage_constant(cand, div, cfg["lam"],
                                          np.full((cand.H, cand.S, cand.A), 1 / cand.A))
                ["c_dagger"] for div in cfg["divergences"])
        assert c < 0.1
    with pytest.raises(RuntimeError, match="no random instance of seed 0"):
        rate_ex.random_instance(dict(cfg, coverage_min=10.0, max_candidates=2), 0)


def test_r2pvi_robustness_small(tmp_path):
    res = _run(robust_ex)
    assert set(res["figure"]) == {"1a", "1b", "1d", "exact"}
    assert set(res.loc[res.figure != "exact", "setting"]) == set(robust_ex.SETTINGS)
    # exact returns: q = 0 return of the nominal-optimal policy (1,1,1,1) is 1.6249 (exact DP)
    ex = res[(res.figure == "exact") & (res.x == 0.0)]
    assert np.all(ex["nominal_first_action"] == robust_ex.ALL_UP)
    sim = res[res.figure.isin(["1a", "1b"])]
    assert np.all((sim["value"] >= 0) & (sim["value"] <= 3 + 1e-9))
    verdicts = robust_ex.verdict(res)
    finding = [v for v in verdicts if v.kind == "inequality"]
    assert len(finding) == 1 and finding[0].outcome == "verified"     # exact: decided
    assert finding[0].provenance == "derived"
    rest = [v for v in verdicts if v.kind != "inequality"]
    assert all(v.outcome in ("inconclusive", "info") and v.provenance == "paper" for v in rest)
    assert robust_ex.plot(res, tmp_path)[0].stat().st_size > 0


def test_put_option_code_model_caps_only_the_hold_value():
    opt = robust_ex.put_option(0.5, 10, 6, start_price=99.0)
    code = robust_ex.apo_model(opt, "code")
    assert code.uncapped_actions == (robust_ex.EXERCISE,)
    np.testing.assert_array_equal(code.v_max, np.arange(6, -1, -1.0))
    assert robust_ex.apo_model(opt, "paper") is opt


def test_r2pvi_runtime_small(tmp_path):
    res = _run(runtime_ex)
    n_set = len(runtime_ex.settings(runtime_ex.SMALL))
    assert len(res) == 2 * n_set * len(runtime_ex.METHODS) * len(runtime_ex.MODES)
    assert np.all(res["seconds"] > 0)
    assert np.allclose(res.loc[res.algorithm == "PEVI", "vs_pevi"], 1.0)
    verdicts = _check_outputs(runtime_ex, res, tmp_path, "r2pvi_runtime")
    assert {v.claim for v in verdicts} >= {("R2PVI-TV costs <= 1.5x PEVI on the same data "
                                           "[grouped]")}
    assert all(v.provenance == "paper" for v in verdicts if "PEVI" in v.claim)


def test_dr_rpo_regret_small(tmp_path):
    res = _run(regret_ex)
    groups = res.groupby(["seed", "instance", "algorithm", "beta_mode"])
    assert groups.ngroups == (2 * len(regret_ex.INSTANCES) * len(regret_ex.LEARNERS)
                              * len(regret_ex.BETA_MODES))
    assert (groups["k"].max() == regret_ex.SMALL["K"]).all()
    for _, df in groups:
        assert np.all(np.diff(df["regret"].to_numpy()) >= -1e-9)    # exact, nonnegative
    assert np.all(res["episode_regret"] >= -1e-12)
    assert np.all(res.loc[res.beta_mode == "notebook", "beta_used"] == 1.0)
    assert np.all(res.loc[res.beta_mode == "theory", "beta_used"] > 1.0)
    verdicts = _check_outputs(regret_ex, res, tmp_path, "dr_rpo_regret")
    rates = [v for v in verdicts if v.kind != "info"]
    assert all(v.claimed_exponent == 0.5 and v.exponent_is_upper for v in rates)
    for v in verdicts:       # DR-RPO is a reconstruction: never a claim of the paper itself
        if v.claim.startswith("DR-RPO"):
            assert v.provenance in ("expectation", "calibrated")
        if "[notebook beta]" in v.claim:
            assert v.provenance == "calibrated"


def test_put_option_and_rate_configs_name_the_paper_settings():
    assert robust_ex.CONFIG["apo_H"] == 20 and robust_ex.CONFIG["apo_d"] == 30
    assert robust_ex.CONFIG["K"] == 100 and robust_ex.CONFIG["lam"] == pytest.approx(0.1)
    assert set(runtime_ex.PAPER_TIMES) == set(runtime_ex.settings(runtime_ex.CONFIG))
    Ks = rate_ex.K_grid(rate_ex.CONFIG)
    assert Ks[-1] / Ks[0] >= 100                                      # >= two decades
