"""Robust and regularised-robust DP against independent computations: cvxpy solves of every
inner problem inside a plain-Python DP, enumeration of deterministic policies, the
d-rectangular decomposition solved jointly over factors, and independently computed reference numbers."""
import itertools

import cvxpy as cp
import numpy as np
import pytest

from mdptheory.models import LinearMDP
from mdptheory.models.policies import deterministic, uniform
from mdptheory.solvers.finite import backward_induction, evaluate_finite_policy
from mdptheory.solvers.robust import (regularized_robust_backward_induction,
                                      regularized_robust_evaluate_policy,
                                      robust_backward_induction, robust_evaluate_policy)

DIVS = ["tv", "kl", "chi2"]


def _divergence_expr(q, p, div):
    """cvxpy expression of D(q || p) (p > 0 on the support variables)."""
    if div == "tv":
        return 0.5 * cp.sum(cp.abs(q - p))
    if div == "kl":
        return cp.sum(cp.kl_div(q, p))   # kl_div(q, p) = q log(q/p) - q + p; sums agree
    return cp.sum(cp.square(q - p) / p)


def cvx_inner(p, v, div, param, regularized):
    """inf over q (constrained ball or regularised) of q.v with cvxpy, on supp p for kl/chi2."""
    supp = np.arange(len(p)) if div == "tv" else np.flatnonzero(p > 0)
    q = cp.Variable(len(supp), nonneg=True)
    ps = p[supp]
    D = _divergence_expr(q, ps, div)
    if regularized:
        prob = cp.Problem(cp.Minimize(q @ v[supp] + param * D), [cp.sum(q) == 1])
    else:
        prob = cp.Problem(cp.Minimize(q @ v[supp]), [cp.sum(q) == 1, D <= param])
    prob.solve(solver=cp.CLARABEL)
    return prob.value


def cvx_robust_dp(mdp, div, param, regularized, pi=None):
    H, S, A = mdp.H, mdp.S, mdp.A
    V = np.zeros((H + 1, S))
    for h in reversed(range(H)):
        Q = np.array([[mdp.r[h, s, a] + cvx_inner(mdp.P[h, s, a], V[h + 1], div, param, regularized)
                       for a in range(A)] for s in range(S)])
        V[h] = Q.max(-1) if pi is None else (pi[h] * Q).sum(-1)
    return V


@pytest.mark.parametrize("div", DIVS)
@pytest.mark.parametrize("regularized, param", [(False, 0.15), (True, 0.4)])
def test_tabular_robust_dp_matches_cvxpy_dp(finite_mdp_factory, div, regularized, param):
    mdp = finite_mdp_factory(11, H=2, S=3, A=2, sparse_frac=0.3)
    solve = regularized_robust_backward_induction if regularized else robust_backward_induction
    sol = solve(mdp, div, param)
    np.testing.assert_allclose(sol.V, cvx_robust_dp(mdp, div, param, regularized), atol=1e-6)


@pytest.mark.parametrize("div", DIVS)
def test_robust_optimum_equals_best_deterministic_policy(finite_mdp_factory, div):
    mdp = finite_mdp_factory(2, H=2, S=3, A=2)
    radius = 0.2
    sol = robust_backward_induction(mdp, div, radius)
    best = np.full(mdp.S, -np.inf)
    for acts in itertools.product(range(2), repeat=6):
        pi = deterministic(np.array(acts).reshape(2, 3), 2)
        best = np.maximum(best, robust_evaluate_policy(mdp, pi, div, radius).V[0])
    np.testing.assert_allclose(sol.V[0], best, atol=1e-10)
    np.testing.assert_allclose(robust_evaluate_policy(mdp, sol.pi, div, radius).V, sol.V, atol=1e-10)


@pytest.mark.parametrize("div", DIVS)
def test_worst_case_kernel_attains_robust_value_and_lies_in_the_ball(finite_mdp_factory, div):
    from mdptheory.solvers.inner import divergence_value
    mdp = finite_mdp_factory(5, H=3, S=4, A=2)
    pi = np.random.default_rng(0).dirichlet(np.ones(2), size=(3, 4))
    radius = 0.1
    res = robust_evaluate_policy(mdp, pi, div, radius)
    nominal_under_worst = evaluate_finite_policy(mdp.replace(P=res.P_worst), pi)
    np.testing.assert_allclose(nominal_under_worst.V, res.V, atol=1e-9)
    for h, s, a in itertools.product(range(3), range(4), range(2)):
        assert divergence_value(res.P_worst[h, s, a], mdp.P[h, s, a], div) <= radius + 1e-7
    assert np.all(res.V <= evaluate_finite_policy(mdp, pi).V + 1e-12)


@pytest.mark.parametrize("div", DIVS)
def test_regularized_worst_case_kernel_attains_value_with_penalty(finite_mdp_factory, div):
    from mdptheory.solvers.inner import divergence_value
    mdp = finite_mdp_factory(6, H=2, S=3, A=2)
    pi = uniform(2, 3, 2)
    lam = 0.5
    res = regularized_robust_evaluate_policy(mdp, pi, div, lam)
    # V_h(s) = sum_a pi (r + P_worst V_{h+1} + lam D(P_worst || P))
    for h in range(2):
        pen = np.array([[divergence_value(res.P_worst[h, s, a], mdp.P[h, s, a], div)
                         for a in range(2)] for s in range(3)])
        Q = mdp.r[h] + res.P_worst[h] @ res.V[h + 1] + lam * pen
        np.testing.assert_allclose((pi[h] * Q).sum(-1), res.V[h], atol=1e-9)


def test_radius_zero_and_large_lam_recover_nominal(finite_mdp_factory):
    mdp = finite_mdp_factory(8, H=3, S=4, A=3)
    nominal = backward_induction(mdp).V
    for div in DIVS:
        np.testing.assert_allclose(robust_backward_induction(mdp, div, 0.0).V, nominal, atol=1e-12)
        np.testing.assert_allclose(regularized_robust_backward_induction(mdp, div, 1e7).V, nominal,
                                   atol=1e-5)


def _random_linear(seed, S=4, A=2, d=3, H=2):
    rng = np.random.default_rng(seed)
    phi = rng.dirichlet(np.ones(d), size=(S, A))
    mu = rng.dirichlet(np.ones(S), size=(H, d))
    mu[mu < 0.1] = 0.0                        # some zeros: KL/chi2 balls keep the support
    mu /= mu.sum(-1, keepdims=True)
    return LinearMDP(phi, mu, rng.random((H, d)), np.ones(S) / S)


def joint_d_rectangular_dp(lin, div, radius):
    """Tabular DP where each (h, s, a) picks its own factors mu_i in the balls, jointly in cvxpy:
    inf sum_i phi_i mu_i . V  s.t.  D(mu_i || mu0_i) <= radius  (independent of the factor
    decomposition used by the solver)."""
    H, S, A, d = lin.H, lin.S, lin.A, lin.d
    V = np.zeros((H + 1, S))
    for h in reversed(range(H)):
        Q = np.empty((S, A))
        for s, a in itertools.product(range(S), range(A)):
            terms, cons = [], []
            for i in range(d):
                supp = np.arange(S) if div == "tv" else np.flatnonzero(lin.mu[h, i] > 0)
                m = cp.Variable(len(supp), nonneg=True)
                cons += [cp.sum(m) == 1, _divergence_expr(m, lin.mu[h, i, supp], div) <= radius]
                terms.append(lin.phi[s, a, i] * (m @ V[h + 1, supp]))
            prob = cp.Problem(cp.Minimize(cp.sum(cp.hstack(terms))), cons)
            prob.solve(solver=cp.CLARABEL)
            Q[s, a] = lin.phi[s, a] @ lin.theta[h] + prob.value
        V[h] = Q.max(-1)
    return V


@pytest.mark.parametrize("div", DIVS)
def test_d_rectangular_value_equals_joint_tabular_computation(div):
    lin = _random_linear(3)
    sol = robust_backward_induction(lin, div, 0.2)
    np.testing.assert_allclose(sol.V, joint_d_rectangular_dp(lin, div, 0.2), atol=1e-6)
    # Q is linear in phi: Q_h(s,a) = <phi(s,a), theta_h + nu_h>
    np.testing.assert_allclose(sol.Q, np.einsum("sad,hd->hsa", lin.phi, lin.theta + sol.info["nu"]),
                               atol=1e-13)


def test_linear_robust_evaluation_worst_kernel_is_a_feature_mixture():
    lin = _random_linear(4)
    pi = uniform(2, 4, 2)
    res = robust_evaluate_policy(lin, pi, "kl", 0.1)
    np.testing.assert_allclose(res.P_worst, np.einsum("sad,hdt->hsat", lin.phi, res.mu_worst),
                               atol=1e-14)
    np.testing.assert_allclose(evaluate_finite_policy(lin.to_finite().replace(P=res.P_worst), pi).V,
                               res.V, atol=1e-9)


def test_per_factor_radius_only_on_one_factor():
    lin = _random_linear(5, d=3)
    radius = np.zeros((2, 3))
    radius[0, 2] = 0.3
    only = robust_backward_induction(lin, "tv", radius).V
    everywhere = robust_backward_induction(lin, "tv", 0.3).V
    nominal = backward_induction(lin).V
    assert np.all(everywhere <= only + 1e-12) and np.all(only <= nominal + 1e-12)
    np.testing.assert_allclose(only[1:], nominal[1:], atol=1e-12)   # steps h >= 1 untouched


def test_robust_input_errors(finite_mdp_factory):
    mdp = finite_mdp_factory(0, H=2, S=3, A=2)
    with pytest.raises(ValueError, match=r"radius\[1, 2, 0\] is -0\.1"):
        r = np.full((2, 3, 2), 0.1)
        r[1, 2, 0] = -0.1
        robust_backward_induction(mdp, "tv", r)
    with pytest.raises(ValueError, match=r"divergence 'hellinger' is unknown"):
        robust_backward_induction(mdp, "hellinger", 0.1)
    with pytest.raises(TypeError, match="divergence must be a string"):
        robust_backward_induction(mdp, 3, 0.1)
    with pytest.raises(ValueError, match=r"lam is -1\.0, expected a value >= 0|lam is -1, expected"):
        regularized_robust_backward_induction(mdp, "kl", -1.0)
    with pytest.raises(ValueError, match=r"radius must be a scalar or broadcastable to shape \(2, 3\)"):
        robust_backward_induction(_random_linear(0), "tv", np.zeros(4))
    with pytest.raises(ValueError, match=r"radius is nan"):
        robust_backward_induction(mdp, "chi2", np.nan)
    with pytest.raises(TypeError, match="model must be a FiniteHorizonMDP or LinearMDP"):
        robust_backward_induction(object(), "tv", 0.1)


# independently computed reference values on the simulated linear MDP (delta = 0.3)
@pytest.mark.parametrize("radius, want", [(0.1, 1.5243), (0.3, 1.3243), (0.5, 1.2237)])
def test_simulated_mdp_tv_radius_on_factor_4_at_step_1(radius, want):
    from mdptheory.envs import simulated_linear_mdp
    lin = simulated_linear_mdp(delta=0.3, xi_norm=0.2)
    rad = np.zeros((lin.H, lin.d))
    rad[0, 3] = radius                      # spec: factor 4, step 1 (1-based)
    sol = robust_backward_induction(lin, "tv", rad)
    assert abs(sol.V[0, 0] - want) < 5e-5


@pytest.mark.parametrize("radius, want", [(0.1, 1.3830), (0.3, 0.9531)])
def test_simulated_mdp_tv_radius_on_all_factors(radius, want):
    from mdptheory.envs import simulated_linear_mdp
    sol = robust_backward_induction(simulated_linear_mdp(delta=0.3, xi_norm=0.2), "tv", radius)
    # we get 1.383050 / 0.953150: the reference's 4-decimal figures are truncated here, hence 1e-4
    assert abs(sol.V[0, 0] - want) < 1e-4
    assert np.argmax(sol.Q[0, 0]) == 15     # first action stays (1, 1, 1, 1)


@pytest.mark.parametrize("div, lam, want", [
    ("tv", 0.1, 0.0999), ("tv", 0.3, 0.2998), ("tv", 1.0, 0.9995),
    ("kl", 0.1, 1.3452), ("kl", 0.2, 1.5830), ("kl", 0.6, 1.6227),
    ("chi2", 0.1, 1.6221), ("chi2", 0.3, 1.6235), ("chi2", 1.0, 1.6240),
])
def test_simulated_mdp_regularized_optimum_table(div, lam, want):
    from mdptheory.envs import simulated_linear_mdp
    sol = regularized_robust_backward_induction(simulated_linear_mdp(delta=0.3, xi_norm=0.2), div, lam)
    assert abs(sol.V[0, 0] - want) < 5e-5
