"""DR-RPO (reconstruction) and DR-LSVI-UCB: the exact policy-regularised robust DP against the
reference table of an independent exact script and the package's robust / soft solvers, the
actor's mirror-descent update, the robust online loop, and input checks."""
import numpy as np
import pytest

from mdptheory import envs
from mdptheory.algorithms.baselines_linear import DRLSVIUCB, simulated_radius
from mdptheory.algorithms.dr_rpo import (
    DRRPO,
    RobustValue,
    oppo_step_size,
    robust_online,
    soft_robust_backward_induction,
    soft_robust_evaluate_policy,
)
from mdptheory.kernels import linear as klin
from mdptheory.runner.online import Episode
from mdptheory.solvers.finite import soft_backward_induction, soft_evaluate_policy
from mdptheory.solvers.robust import (
    regularized_robust_backward_induction,
    robust_backward_induction,
    robust_evaluate_policy,
)

SIM = envs.simulated_linear_mdp(0.3, 0.2)


# reference values from an exact soft robust DP written independently of the package
@pytest.mark.parametrize("tau, rho, v, p_all_up, p_all_down", [
    (0.01, 0.0, 1.5758, 0.999, 0.000), (0.01, 0.3, 1.2812, 0.582, 0.000),
    (0.01, 0.6, 1.1392, 0.000, 0.934), (0.1, 0.0, 1.3273, 0.296, 0.005),
    (0.1, 0.3, 1.1054, 0.136, 0.024), (0.1, 0.6, 0.9174, 0.044, 0.086),
    (1.0, 0.0, 1.1856, 0.078, 0.049), (1.0, 0.3, 1.0004, 0.070, 0.056),
    (1.0, 0.6, 0.8188, 0.062, 0.063)])
def test_soft_robust_optimum_reproduces_the_spec_reference_table(tau, rho, v, p_all_up,
                                                                 p_all_down):
    V, _, pi, _ = soft_robust_backward_induction(SIM, "tv", simulated_radius(rho), tau)
    assert V[0, 0] == pytest.approx(v, abs=5e-5)
    assert pi[0, 0, 15] == pytest.approx(p_all_up, abs=5e-4)     # a = (1, 1, 1, 1)
    assert pi[0, 0, 0] == pytest.approx(p_all_down, abs=5e-4)    # a = (-1, -1, -1, -1)


@pytest.mark.parametrize("div", ["tv", "kl", "chi2"])
def test_tau_zero_is_the_robust_solver_and_zero_radius_is_the_soft_solver(div):
    mdp = envs.random_linear_mdp(5, 3, 3, 3, rng=4)
    V, _Q, pi, _ = soft_robust_backward_induction(mdp, div, 0.2, 0.0)
    ref = robust_backward_induction(mdp, div, 0.2)
    np.testing.assert_allclose(V, ref.V, atol=1e-12)
    np.testing.assert_array_equal(pi, ref.pi)
    V, _, _, _ = soft_robust_backward_induction(mdp, div, 0.4, 0.0, regularized=True)
    np.testing.assert_allclose(V, regularized_robust_backward_induction(mdp, div, 0.4).V,
                               atol=1e-12)
    ref_pol = np.random.default_rng(1).dirichlet(np.ones(3), size=(3, 5))
    V, _, pi, _ = soft_robust_backward_induction(mdp, div, 0.0, 0.3, ref_pol)
    soft = soft_backward_induction(mdp, ref_pol, 0.3)
    np.testing.assert_allclose(V, soft.V, atol=1e-12)
    np.testing.assert_allclose(pi, soft.pi, atol=1e-12)


def test_soft_robust_evaluation_is_consistent_with_the_optimum_and_other_solvers():
    mdp = envs.random_linear_mdp(4, 3, 3, 3, rng=6)
    pi_rand = np.random.default_rng(2).dirichlet(np.ones(3), size=(3, 4))
    V, _, pi, _ = soft_robust_backward_induction(mdp, "tv", 0.3, 0.2)
    Ve, _ = soft_robust_evaluate_policy(mdp, pi, "tv", 0.3, 0.2)
    np.testing.assert_allclose(Ve, V, atol=1e-12)               # pi* attains the optimum
    Vr, _ = soft_robust_evaluate_policy(mdp, pi_rand, "tv", 0.3, 0.2)
    assert np.all(Vr[0] <= V[0] + 1e-12)                          # and is optimal
    Vt, _ = soft_robust_evaluate_policy(mdp, pi_rand, "kl", 0.3, 0.0)
    np.testing.assert_allclose(Vt, robust_evaluate_policy(mdp, pi_rand, "kl", 0.3).V,
                               atol=1e-12)
    Vs, _ = soft_robust_evaluate_policy(mdp, pi_rand, "chi2", 0.0, 0.5)
    np.testing.assert_allclose(Vs, soft_evaluate_policy(mdp, pi_rand, np.full((3, 4, 3), 1 / 3),
                                                        0.5).V, atol=1e-12)


def test_soft_robust_kernel_equals_its_python_version():
    mdp = envs.random_linear_mdp(4, 3, 2, 2, rng=1)
    ref = np.full((2, 4, 3), 1 / 3)
    prm = np.full((2, 2), 0.3)
    out = []
    for fn in (klin.soft_robust_linear_dp, klin.soft_robust_linear_dp.py_func):
        V, Q, nu, pi = np.zeros((3, 4)), np.empty((2, 4, 3)), np.empty((2, 2)), np.empty((2, 4, 3))
        fn(mdp.phi, mdp.mu, mdp.theta, ref, 0.2, ref, False, 0, False, prm, V, Q, nu, pi)
        out.append((V, pi))
    np.testing.assert_allclose(out[0][0], out[1][0], atol=1e-13)
    np.testing.assert_allclose(out[0][1], out[1][1], atol=1e-13)


def test_mirror_descent_step_matches_the_closed_form_update():
    rad = simulated_radius(0.3)
    agent = DRRPO(SIM, rad, K=50, tau=0.2, eta=0.7, beta=1.0, gamma=0.1)
    pi1 = agent.policy().copy()
    rng = np.random.default_rng(0)
    agent.update(Episode(np.array([0, 1, 2, 2]), rng.integers(0, 16, 3), np.zeros(3)))
    Q = agent.Q
    et = 0.7 * 0.2
    logits = (np.log(pi1) + et * np.log(agent.ref) + 0.7 * Q) / (1 + et)
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(agent.policy(), expected, atol=1e-12)
    assert oppo_step_size(16, 3, 100) == pytest.approx(np.sqrt(2 * np.log(16) / (9 * 100)))


def test_robust_online_records_exact_cumulative_robust_regret():
    rad = simulated_radius(0.3)
    val = RobustValue(SIM, "tv", rad, 0.1)
    df = robust_online(DRRPO(SIM, rad, K=40, tau=0.1, beta=1.0, gamma=0.1), SIM, 40, val, rng=3,
                       checkpoints=range(1, 41))
    assert np.all(df["episode_regret"] >= -1e-12)
    np.testing.assert_allclose(df["regret"], np.cumsum(df["episode_regret"]), atol=1e-12)
    v_star, _, _, _ = soft_robust_backward_induction(SIM, "tv", rad, 0.1)
    assert df["optimal_value"].iloc[0] == pytest.approx(v_star[0, 0])
    again = robust_online(DRRPO(SIM, rad, K=40, tau=0.1, beta=1.0, gamma=0.1), SIM, 40,
                          RobustValue(SIM, "tv", rad, 0.1), rng=3, checkpoints=range(1, 41))
    np.testing.assert_array_equal(df["regret"], again["regret"])
    other = robust_online(DRRPO(SIM, rad, K=40, tau=0.1, beta=1.0, gamma=0.1), SIM, 40,
                          RobustValue(SIM, "tv", rad, 0.1), rng=4, checkpoints=range(1, 41))
    assert not np.array_equal(df["regret"], other["regret"])


def test_dr_lsvi_ucb_is_optimistic_and_learns_the_robust_optimal_policy():
    rad = simulated_radius(0.3)
    v_star = robust_backward_induction(SIM, "tv", rad).V[0, 0]
    agent = DRLSVIUCB(SIM, rad, K=400, beta=1.0, gamma=0.1)
    val = RobustValue(SIM, "tv", rad, 0.0)
    df = robust_online(agent, SIM, 400, val, rng=0, checkpoints=[1, 10, 100, 400])
    assert agent.result.V[0, 0] >= v_star - 1e-9                  # optimism at the start state
    assert df["episode_regret"].iloc[-1] == pytest.approx(0.0, abs=1e-12)


def test_soft_greedy_variant_and_rrmdp_setting_run():
    rad = simulated_radius(0.3)
    for kw in ({"actor": "soft_greedy"}, {"setting": "rrmdp", "divergence": "kl"}):
        param = 0.5 if kw.get("setting") == "rrmdp" else rad
        agent = DRRPO(SIM, param, K=20, tau=0.1, beta=1.0, gamma=0.1, **kw)
        val = RobustValue(SIM, kw.get("divergence", "tv"), param, 0.1,
                          regularized=kw.get("setting") == "rrmdp")
        df = robust_online(agent, SIM, 20, val, rng=1, checkpoints=[20])
        assert df["regret"].iloc[0] >= 0.0
        np.testing.assert_allclose(agent.policy().sum(-1), 1.0)


def test_dr_rpo_rejects_bad_settings():
    with pytest.raises(ValueError, match="setting must be one of"):
        DRRPO(SIM, 0.1, K=5, setting="both")
    with pytest.raises(ValueError, match="supports divergence 'tv' only"):
        DRRPO(SIM, 0.1, K=5, divergence="kl")
    with pytest.raises(ValueError, match="soft_greedy' needs tau > 0"):
        DRRPO(SIM, 0.1, K=5, actor="soft_greedy", tau=0.0)
    with pytest.raises(ValueError, match="eta must be > 0"):
        DRRPO(SIM, 0.1, K=5, eta=0.0)
    with pytest.raises(ValueError, match=r"radius\[1, 0\] is -0.2"):
        DRRPO(SIM, np.array([[0] * 4, [-0.2, 0, 0, 0], [0] * 4]), K=5)
    with pytest.raises(ValueError, match="lam is 0, expected a value > 0"):
        DRRPO(SIM, 0.0, K=5, setting="rrmdp")
    with pytest.raises(TypeError, match="model must be a LinearMDP"):
        soft_robust_backward_induction(SIM.to_finite(), "tv", 0.1, 0.1)
    with pytest.raises(ValueError, match="tau must be >= 0"):
        RobustValue(SIM, "tv", 0.1, -1.0)
