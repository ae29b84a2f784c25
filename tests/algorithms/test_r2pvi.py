"""R2PVI and its offline baselines (PEVI, DRPVI, DRVI-L), the put option and lower-bound
environments, and the Theorem 5.2 uncertainty function: checked against slow per-sample
reimplementations of the algorithm boxes, exact robust DP and closed forms."""
import numpy as np
import pytest

from mdptheory import envs
from mdptheory.algorithms import linear_estimation as le
from mdptheory.algorithms.baselines_linear import (
    drpvi,
    drvi_l,
    pevi,
    simulated_radius,
    theory_beta_linear,
)
from mdptheory.algorithms.r2pvi import (
    CODE_SETTINGS,
    R2PVI,
    r2pvi,
    theory_beta,
    theory_beta_curve,
    va_r2pvi_tv,
)
from mdptheory.bounds import REGISTRY
from mdptheory.bounds.robust_linear import (
    admissible_radius,
    coverage_constant,
    r2pvi_rate,
    regularized_shift,
    uncertainty_function,
    uncertainty_functions,
)
from mdptheory.envs.lower_bound import lower_bound_instance, two_absorbing_state_mdp
from mdptheory.envs.put_option import (
    EXERCISE,
    HOLD,
    always_hold_policy,
    hat_features,
    lattice_index,
    put_option,
)
from mdptheory.runner.online import collect, offline
from mdptheory.solvers.robust import (
    regularized_robust_backward_induction,
    regularized_robust_evaluate_policy,
)


def _data(mdp, N, seed):
    return collect(mdp.to_finite(), np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A), N, rng=seed)


def _reference_r2pvi(ds, mdp, div, lam, beta, gamma):
    """Algorithm 1-4 written sample by sample from the boxes (no grouping, explicit inverse,
    chi2 maximised on a fine grid plus the sample values)."""
    H, S, _A, d = mdp.H, mdp.S, mdp.A, mdp.d
    V = np.zeros((H + 1, S))
    W = np.zeros((H, d))
    for h in reversed(range(H)):
        Phi = mdp.phi[ds.s[:, h], ds.a[:, h]]
        Linv = np.linalg.inv(Phi.T @ Phi + gamma * np.eye(d))
        v = V[h + 1][ds.s[:, h + 1]]
        if div == "tv":
            w = Linv @ Phi.T @ np.minimum(v, V[h + 1].min() + lam)
        elif div == "kl":
            w = -lam * np.log(np.maximum(Linv @ Phi.T @ np.exp(-v / lam), np.exp(-H / lam)))
        else:
            grid = np.unique(np.concatenate([np.linspace(V[h + 1].min(), V[h + 1].max(), 4001),
                                             V[h + 1]]))
            T = np.minimum(v[:, None], grid[None, :])
            z1 = np.clip(Linv @ Phi.T @ T, 0, H)
            z2 = np.clip(Linv @ Phi.T @ T ** 2, 0, H * H)
            w = (z1 + z1 ** 2 / (4 * lam) - z2 / (4 * lam)).max(axis=1)
        W[h] = w
        pen = beta * mdp.phi @ np.sqrt(np.diag(Linv))
        Q = np.clip(mdp.r[h] + mdp.phi @ w - pen, 0, H - h)
        V[h] = Q.max(-1)
    return W, V


@pytest.mark.parametrize("div", ["tv", "kl", "chi2"])
def test_r2pvi_equals_a_per_sample_reimplementation_of_the_algorithm_box(div):
    mdp = envs.random_linear_mdp(5, 3, 3, 3, rng=7)
    ds = _data(mdp, 80, 1)
    res = r2pvi(ds, mdp, div, 0.5, beta=0.3, gamma=0.7)
    W, V = _reference_r2pvi(ds, mdp, div, 0.5, 0.3, 0.7)
    tol = 1e-3 if div == "chi2" else 1e-10       # the reference's chi2 grid is only fine, not exact
    np.testing.assert_allclose(res.w, W, atol=tol)
    np.testing.assert_allclose(res.V, V, atol=tol)
    if div == "chi2":
        assert np.all(res.w >= W - 1e-12)         # the exact search is never below the grid


@pytest.mark.parametrize("div", ["tv", "kl", "chi2"])
def test_r2pvi_converges_to_the_exact_regularized_robust_solution(div):
    """One-hot features (every factor sampled), many samples, no penalty: w_hat -> the exact
    regularised factor values and the learned policy is regularised-robust optimal."""
    mdp = envs.random_linear_mdp(6, 3, 4, 3, rng=2, features="onehot")
    ds = _data(mdp, 6000, 3)
    lam = 1.0
    res = r2pvi(ds, mdp, div, lam, beta=0.0, gamma=1e-3, group_next=True)
    exact = regularized_robust_backward_induction(mdp, div, lam)
    sampled = np.array([np.isin(i, mdp.phi.argmax(-1)) for i in range(mdp.d)])
    np.testing.assert_allclose(res.w[:, sampled], exact.info["nu"][:, sampled], atol=0.08)
    ev = regularized_robust_evaluate_policy(mdp, res.pi, div, lam)
    assert mdp.rho0 @ (exact.V[0] - ev.V[0]) <= 0.02


def test_r2pvi_grouped_and_per_sample_paths_agree():
    mdp = envs.simulated_linear_mdp()
    ds = _data(mdp, 120, 5)
    for div in ("tv", "kl", "chi2"):
        a = r2pvi(ds, mdp, div, 0.3, beta=1.0, gamma=0.1)
        b = r2pvi(ds, mdp, div, 0.3, beta=1.0, gamma=0.1, group_next=False)
        np.testing.assert_allclose(a.Q, b.Q, atol=1e-9)


def test_code_switches_change_what_the_paper_leaves_to_the_code():
    mdp = envs.simulated_linear_mdp()
    ds = _data(mdp, 100, 0)
    paper = r2pvi(ds, mdp, "tv", 0.1, beta=1.0, gamma=0.1)
    code = r2pvi(ds, mdp, "tv", 0.1, beta=1.0, gamma=0.1, zero_states=(3,), **CODE_SETTINGS)
    # I1: the paper truncates at min over S (the fail state, 0) + lam; the code at the sampled min
    np.testing.assert_allclose(paper.info["tv_alpha"][0], 0.1)
    sampled_min = code.V[1][np.unique(ds.s[:, 1])].min()
    np.testing.assert_allclose(code.info["tv_alpha"][0], sampled_min + 0.1)
    assert sampled_min > 0.0
    # I2: the code's l2diag penalty is never larger
    assert np.all(code.bonus <= paper.bonus + 1e-12)
    # I4: the code clips only from above (negative Q possible); the paper clips at 0
    assert paper.Q.min() >= 0.0
    assert np.all(code.Q[:, 3] == 0.0)                                  # forced fail state


def test_va_r2pvi_tv_reweights_by_estimated_variance():
    mdp = envs.random_linear_mdp(5, 3, 3, 3, rng=1)
    ds = _data(mdp, 60, 0)
    res = va_r2pvi_tv(ds, mdp, 0.5, beta=0.2)
    sigma2 = res.info["sigma2"]
    assert sigma2.shape == ds.a.shape and np.all(sigma2 >= 1.0)
    again = r2pvi(ds, mdp, "tv", 0.5, beta=0.2, weights=1.0 / sigma2)
    np.testing.assert_allclose(res.Q, again.Q)
    assert res.info["algorithm"] == "VA-R2PVI-TV"


def test_theory_beta_follows_theorem_5_2():
    d, H, K, lam, delta = 4, 3, 100, 0.5, 0.1
    xi = 2 * np.log(1024 * H * np.sqrt(d) * K ** 2 / delta)
    assert theory_beta("tv", d, H, K, lam, delta) == pytest.approx(16 * H * d * np.sqrt(xi))
    xi = np.log(1024 * d * lam ** 2 * K ** 3 * H / delta)
    assert theory_beta("kl", d, H, K, lam, delta) == pytest.approx(
        16 * d * lam * np.exp(H / lam) * np.sqrt(H / lam + xi))
    xi = np.log(192 * K ** 5 * H ** 6 * d ** 3 * (1 + H / (2 * lam)) ** 3 / delta)
    assert theory_beta("chi2", d, H, K, lam, delta) == pytest.approx(
        8 * d * H ** 2 * (1 + 1 / lam) * np.sqrt(xi))
    mdp = envs.simulated_linear_mdp()
    ds = _data(mdp, 30, 0)
    assert r2pvi(ds, mdp, "tv", 0.5).beta == pytest.approx(theory_beta("tv", 4, 3, 30, 0.5))
    assert theory_beta_linear(4, 3, 30) == pytest.approx(12 * np.sqrt(np.log(2 * 12 * 30 / 0.1)))


def test_r2pvi_object_runs_in_the_offline_driver():
    mdp = envs.simulated_linear_mdp()
    algo = R2PVI(mdp, "kl", 0.5, beta=1.0, gamma=0.1)
    df = offline(algo, mdp, _data(mdp, 40, 1))
    assert algo.name == "R2PVI-KL" and df["suboptimality"].iloc[0] >= -1e-12


def test_r2pvi_rejects_bad_inputs_with_named_fields():
    mdp = envs.simulated_linear_mdp()
    ds = _data(mdp, 10, 0)
    with pytest.raises(ValueError, match="lam is 0, expected a value > 0"):
        r2pvi(ds, mdp, "tv", 0.0)
    with pytest.raises(ValueError, match=r"lam\[0, 1\] is -1"):
        r2pvi(ds, mdp, "tv", np.array([[1, -1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]))
    with pytest.raises(ValueError, match="divergence 'hellinger' is unknown"):
        r2pvi(ds, mdp, "hellinger", 1.0)
    with pytest.raises(ValueError, match="tv_min must be one of"):
        r2pvi(ds, mdp, "tv", 1.0, tv_min="sample")
    with pytest.raises(ValueError, match="beta must be >= 0"):
        r2pvi(ds, mdp, "tv", 1.0, beta=-1.0)
    with pytest.raises(ValueError, match=r"radius\[0, 3\] is -0.1"):
        drpvi(ds, mdp, np.array([[0, 0, 0, -0.1], [0] * 4, [0] * 4]))
    with pytest.raises(ValueError, match="rewards must be one of"):
        pevi(ds, mdp, rewards="estimated")


# --------------------------------------------------------------------------------- baselines
def test_constrained_baselines_with_zero_radius_and_the_ridge_mean():
    """rho = 0: the KL dual is the beta -> inf limit, the ridge mean of V; the TV dual
    max_alpha (C [V]_alpha)_i has alpha = max V among its candidates, so it is >= the ridge
    mean (ridge weights can be negative, so z(alpha) need not be monotone)."""
    mdp = envs.random_linear_mdp(5, 3, 3, 3, rng=3)
    ds = _data(mdp, 70, 2)
    steps = le.offline_ridge_steps(ds, le.feature_model(mdp), 1.0)
    kl = drvi_l(ds, mdp, 0.0, beta=0.2)
    tv = drpvi(ds, mdp, 0.0, beta=0.2)
    for h in range(mdp.H):
        mean_kl = steps[h].fit(kl.V[h + 1][steps[h].cols])
        np.testing.assert_allclose(kl.w[h], mean_kl, atol=1e-12)
        mean_tv = steps[h].fit(tv.V[h + 1][steps[h].cols])
        assert np.all(tv.w[h] >= mean_tv - 1e-12)


def test_drpvi_fail_state_form_equals_exact_form_with_a_zero_value_state():
    mdp = envs.simulated_linear_mdp()
    ds = _data(mdp, 100, 4)
    rad = simulated_radius(0.3)
    a = drpvi(ds, mdp, rad, beta=1.0, gamma=0.1, tv_form="fail_state")
    b = drpvi(ds, mdp, rad, beta=1.0, gamma=0.1, tv_form="exact")
    assert np.all(b.V[1:].min(axis=1) == 0.0)                # x4 has value 0 (clipped)
    np.testing.assert_allclose(a.Q, b.Q, atol=1e-12)


def test_drpvi_and_drvi_l_converge_to_the_exact_robust_values():
    from mdptheory.solvers.robust import robust_backward_induction
    mdp = envs.random_linear_mdp(6, 3, 3, 2, rng=5, features="onehot")
    ds = _data(mdp, 6000, 6)
    for div, fn in (("tv", drpvi), ("kl", drvi_l)):
        res = fn(ds, mdp, 0.2, beta=0.0, gamma=1e-3)
        exact = robust_backward_induction(mdp, div, 0.2)
        sampled = np.array([np.isin(i, mdp.phi.argmax(-1)) for i in range(mdp.d)])
        np.testing.assert_allclose(res.w[:, sampled], exact.info["nu"][:, sampled], atol=0.08)


def test_pevi_uses_the_elliptical_bonus_and_observed_rewards_option():
    mdp = envs.random_linear_mdp(5, 2, 3, 2, rng=9)
    ds = _data(mdp, 50, 1)
    res = pevi(ds, mdp, beta=0.4, gamma=0.5)
    step = le.offline_ridge_steps(ds, le.feature_model(mdp), 0.5)[0]
    np.testing.assert_allclose(res.bonus[0], le.elliptical_bonus(mdp.phi, step.inverse(), 0.4))
    obs = pevi(ds, mdp, beta=0.0, gamma=1e-6, rewards="observed")
    known = pevi(ds, mdp, beta=0.0, gamma=1e-6)
    np.testing.assert_allclose(obs.Q, known.Q, atol=1e-3)   # mean rewards are linear in phi


# ------------------------------------------------------------------------------ put option
def test_put_option_lattice_payoffs_and_exact_values():
    opt = put_option(0.5, d=10, H=4, start_price=98.0)
    assert opt.S == 5 * 6 // 2 + 1 and opt.terminal == opt.S - 1
    s = lattice_index(2, 1)
    assert opt.prices[s] == pytest.approx(98.0 * 1.02 * 0.98)
    P = opt.mdp.P
    assert P[2, s, HOLD, lattice_index(3, 2)] == pytest.approx(0.5)
    assert P[2, s, EXERCISE, opt.terminal] == 1.0
    exercise_now = np.zeros((4, opt.S, 2))
    exercise_now[..., EXERCISE] = 1.0
    assert opt.value(exercise_now) == pytest.approx(2.0)               # 100 - 98
    assert opt.value(always_hold_policy(opt)) == 0.0
    # p = 1: price rises every step; exercising at step 1 pays max(0, 100 - 98 * 1.02)
    later = always_hold_policy(opt)
    later[1, :, :] = [0.0, 1.0]
    assert opt.with_p(1.0).value(later) == pytest.approx(max(0.0, 100 - 98 * 1.02))
    assert opt.with_p(0.0).value(later) == pytest.approx(100 - 98 * 0.98)
    assert opt.with_p(0.3).start_price == 98.0


def test_hat_features_are_on_the_simplex_inside_the_anchor_range_only():
    d = 30
    inside = hat_features(np.linspace(80, 80 + (d - 1) * 100 / d, 50), d)
    np.testing.assert_allclose(inside.sum(1), 1.0, atol=1e-12)
    below = hat_features(np.array([70.0, 60.0]), d)
    assert np.all(below.sum(1) < 1.0)
    np.testing.assert_allclose(hat_features(np.array([80.0 + 5 * 100 / d]), d)[0],
                               np.eye(d)[5], atol=1e-12)


def test_algorithms_run_on_the_put_option_and_the_learned_rule_beats_never_exercising():
    opt = put_option(0.5, d=30, H=20, rng=0)
    ds = collect(opt.mdp, always_hold_policy(opt), 100, rng=1)
    for res in (pevi(ds, opt, beta=0.1), r2pvi(ds, opt, "tv", 3.0, beta=0.1),
                drpvi(ds, opt, 0.1, beta=0.1), r2pvi(ds, opt, "kl", 3.0, beta=0.1)):
        assert opt.value(res.pi) > 0.0
        assert np.all(res.Q[:, opt.terminal] == 0.0)                    # zero features, reward
    with pytest.raises(ValueError, match="features must lie on the simplex"):
        le.FeatureModel(phi=opt.phi, r=opt.r, v_max=opt.v_max)           # hat features < 1
    with pytest.raises(ValueError, match="give start_price or rng"):
        put_option()


def test_code_setting_caps_only_the_hold_value_of_the_put_option():
    """Regression (issue "Experiments that can decide"): the authors' code clips the estimated
    hold value at H - h and compares it with the exact exercise payoff, which it never clips.
    Capping every action at H - h changed 64 of the 210 reachable nodes here."""
    opt = put_option(0.5, d=30, H=20, rng=0)
    ds = collect(opt.mdp, always_hold_policy(opt), 100, rng=1)
    H = opt.H
    code = le.FeatureModel(phi=opt.phi, r=opt.r, v_max=np.arange(H, -1, -1.0), simplex=False,
                           uncapped_actions=(EXERCISE,))
    nodes = np.flatnonzero((opt.layer >= 0) & (opt.layer < H))
    h_of = opt.layer[nodes]
    payoff = opt.r[h_of, nodes, EXERCISE]
    above = payoff > H - h_of
    assert above.sum() == 64 and nodes.size == 210
    for res in (pevi(ds, code, beta=0.1, q_clip="upper"),
                r2pvi(ds, code, "tv", 1.0, beta=0.1, **{k: CODE_SETTINGS[k] for k in
                                                         ("penalty", "tv_min", "q_clip")}),
                drpvi(ds, code, 0.2, beta=0.1, tv_form="fail_state", penalty="l2diag",
                      q_clip="upper")):
        np.testing.assert_array_equal(res.Q[h_of, nodes, EXERCISE], payoff)   # never capped
        assert np.all(res.Q[h_of, nodes, HOLD] <= H - h_of)                    # hold capped
    # the decision rule: exercise iff the payoff beats the capped hold value
    res = pevi(ds, code, beta=0.1, q_clip="upper")
    hold = res.Q[h_of, nodes, HOLD]
    np.testing.assert_array_equal(res.pi[h_of, nodes, EXERCISE] == 1.0, payoff > hold)
    with pytest.raises(ValueError, match=r"uncapped_actions\[0\] is 2"):
        le.FeatureModel(phi=opt.phi, r=opt.r, v_max=opt.v_max, simplex=False,
                        uncapped_actions=(2,))


def test_r2pvi_kl_is_optimistic_at_coordinates_the_data_never_excite():
    """Algorithm 3 at an unexcited coordinate: the ridge estimate is 0, the clip e^{-H/lam}
    gives w_hat = H, and the penalty beta / sqrt(gamma) = 1 does not offset it: the fail state
    x4 (phi = e_2, never excited at step 0 by uniform data from x1) gets Q_hat_0 = H - 1 = 2,
    against a true regularised-robust value 0. TV and chi2 give 0 there."""
    mdp = envs.simulated_linear_mdp(0.3, 0.2)
    ds = _data(mdp, 100, 0)
    x4 = 3
    assert not np.any(mdp.phi[ds.s[:, 0], ds.a[:, 0]][:, 1:3])          # never excited at h=0
    for lam in (0.1, 1.0):
        res = r2pvi(ds, mdp, "kl", lam, beta=1.0, gamma=1.0)
        assert res.w[0, 1] == res.w[0, 2] == mdp.H                          # the clip's value
        assert res.inv_diag[0, 2] == pytest.approx(1.0)                     # 1 / gamma
        np.testing.assert_allclose(res.Q[0, x4], mdp.H - 1.0)
        exact = regularized_robust_backward_induction(mdp, "kl", lam)
        np.testing.assert_allclose(exact.Q[0, x4], 0.0, atol=1e-12)
        for div in ("tv", "chi2"):
            np.testing.assert_allclose(r2pvi(ds, mdp, div, lam, beta=1.0, gamma=1.0).Q[0, x4],
                                       0.0)
        # beta >= H sqrt(gamma) offsets the clip
        assert np.all(r2pvi(ds, mdp, "kl", lam, beta=mdp.H, gamma=1.0).Q[0, x4] == 0.0)


# ----------------------------------------------------------------------------- lower bound
def test_two_absorbing_state_family():
    mdp = lower_bound_instance(3, 2, eps=0.3, gap=0.1, signs=[[1, -1], [-1, 1]])
    np.testing.assert_allclose(mdp.mu[:, :2, 1], [[0.2, 0.4], [0.4, 0.2]])
    fin = mdp.to_finite()
    np.testing.assert_allclose(fin.P[:, 1, :, 1], 1.0)                   # s2 absorbing
    np.testing.assert_allclose(fin.r[:, 0], 1.0)
    np.testing.assert_allclose(fin.r[:, 1], 0.0)
    with pytest.raises(ValueError, match="need 0 <= eps - gap"):
        lower_bound_instance(3, 2, eps=0.05, gap=0.1, rng=0)
    with pytest.raises(ValueError, match=r"signs\[0, 1\] is 0.5"):
        lower_bound_instance(3, 2, eps=0.3, gap=0.1, signs=[[1, 0.5], [1, 1]])
    with pytest.raises(ValueError, match=r"leave\[0, 0\] is 1.5"):
        two_absorbing_state_mdp([[1.5]])


def test_regularized_shift_matches_the_kl_closed_form():
    """KL worst case: mu*(s2) = eps / (eps + (1 - eps) e^{-V(s1)/lam}) with V(s1) the next
    regularised-robust value at s1."""
    eps, lam = 0.2, 0.7
    mdp = two_absorbing_state_mdp(np.full((2, 1), eps))
    delta = regularized_shift(mdp, "kl", lam)
    sol = regularized_robust_backward_induction(mdp, "kl", lam)
    v1 = sol.V[1, 0]
    closed = eps / (eps + (1 - eps) * np.exp(-v1 / lam)) - eps
    assert delta[0, 0] == pytest.approx(closed, abs=1e-10)
    assert delta[1, 0] == pytest.approx(0.0, abs=1e-12)                 # V_H = 0: no shift


# ---------------------------------------------------------------------- uncertainty function
def test_uncertainty_function_nominal_equals_explicit_expectation():
    mdp = envs.random_linear_mdp(4, 2, 3, 3, rng=11)
    pi = np.random.default_rng(0).dirichlet(np.ones(2), size=(3, 4))
    inv_diag = np.random.default_rng(1).uniform(0.01, 1.0, size=(3, 3))
    from mdptheory.solvers.finite import occupancy_measure
    occ = occupancy_measure(mdp, pi)                                     # (H, S, A)
    u = np.einsum("sai,hi->hsa", mdp.phi, np.sqrt(inv_diag))
    assert uncertainty_function(mdp, pi, inv_diag) == pytest.approx((occ * u).sum(), rel=1e-12)
    for div in ("tv", "kl", "chi2"):
        sup = uncertainty_function(mdp, pi, inv_diag, divergence=div, radius=0.5)
        inf = uncertainty_function(mdp, pi, inv_diag, divergence=div, radius=0.5,
                                   maximize=False)
        nominal = uncertainty_function(mdp, pi, inv_diag)
        assert inf - 1e-12 <= nominal <= sup + 1e-12


def test_uncertainty_functions_order_and_bound_rates():
    mdp = envs.simulated_linear_mdp()
    res = r2pvi(_data(mdp, 50, 0), mdp, "kl", 0.5, beta=1.0)
    phis = uncertainty_functions(mdp, "kl", 0.5, res.inv_diag)
    assert phis["sup"] >= phis["worst"] - 1e-12 and phis["sup"] >= phis["nominal"] - 1e-12
    assert admissible_radius("tv", 0.5, 3) == 1.0 and admissible_radius("kl", 0.5, 3) == 6.0
    K = np.array([100.0, 400.0])
    for div in ("tv", "kl", "chi2"):
        r = r2pvi_rate(div, 4, 3, K, lam=0.5)
        assert r[1] / r[0] == pytest.approx(0.5)                         # K^{-1/2}


def test_robust_linear_bounds_expose_their_parts():
    """Each bound has a single order in its variable: leading = the bound, lower = 0."""
    K = np.array([10.0, 1e3, 1e5])
    args = {"r2pvi_suboptimality": (np.array([3.0, 2.0, 1.0]), 1 / np.sqrt(K)),
            "r2pvi_tv_rate": (4, 3, K), "r2pvi_kl_rate": (4, 3, K, 0.5),
            "r2pvi_chi2_rate": (4, 3, K, 0.5), "r2pvi_lower_bound": (1 / np.sqrt(K),),
            "dr_rpo_regret": (4, 3, K), "dr_lsvi_ucb_regret": (4, 3, K)}
    for name, a in args.items():
        b = REGISTRY[name]
        p = b.split(*a)
        np.testing.assert_allclose(p["leading"] + p["lower"], b(*a), rtol=1e-15)
        np.testing.assert_array_equal(p["lower"], 0.0)


def test_theory_beta_curve_matches_the_scalar_theorem_constants():
    for div in ("tv", "kl", "chi2"):
        Ks = [10, 1000, 123_456]
        np.testing.assert_allclose(
            [theory_beta(div, 4, 3, K, 0.7, 0.05) for K in Ks],
            theory_beta_curve(div, 4, 3, np.array(Ks, float), 0.7, 0.05), rtol=1e-13)


def _forward_occupancy(mdp, pi):
    """d[h, s, a] by explicit forward propagation (independent of the solvers)."""
    fin = mdp.to_finite()
    d = np.zeros((mdp.H, mdp.S, mdp.A))
    state = fin.rho0.copy()
    for h in range(mdp.H):
        d[h] = state[:, None] * pi[h]
        state = np.einsum("sa,sat->t", d[h], fin.P[h])
    return d


@pytest.mark.parametrize("div", ["tv", "kl", "chi2"])
def test_coverage_constant_is_the_largest_psd_scaling(div):
    """c_{h,i} is the largest c with Sigma_h - c m_{h,i} e_i e_i^T >= 0 (eigenvalues), Sigma_h
    the behaviour's feature covariance by explicit forward propagation; and the simulated MDP
    with TV has an uncovered reachable direction (x2 at step 2: c_dagger = 0)."""
    mdp = envs.random_linear_mdp(6, 3, 3, 3, rng=5)
    pi = np.full((3, 6, 3), 1 / 3)
    cov = coverage_constant(mdp, div, 1.0, pi)
    occ = _forward_occupancy(mdp, pi)
    for h in range(mdp.H):
        sigma = np.einsum("sa,sai,saj->ij", occ[h], mdp.phi, mdp.phi)
        for i in range(mdp.d):
            c, m = cov["per_coordinate"][h, i], cov["reach"][h, i]
            assert m > 0 and np.isfinite(c)
            E = np.zeros((mdp.d, mdp.d))
            E[i, i] = m
            assert np.linalg.eigvalsh(sigma - c * E).min() >= -1e-10
            assert np.linalg.eigvalsh(sigma - c * (1 + 1e-6) * E).min() < 0
    assert cov["c_dagger"] == pytest.approx(cov["per_coordinate"].min())
    sim = envs.simulated_linear_mdp(0.3, 0.2)
    unif = np.full((3, 5, 16), 1 / 16)
    tv = coverage_constant(sim, "tv", 1.0, unif)
    assert tv["c_dagger"] == 0.0 and not tv["covered"][2, 1] and tv["reach"][2, 1] > 0
