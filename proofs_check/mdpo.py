"""Numeric checks of the lemmas and theorems behind exact policy mirror descent and MDPO.

The statements (our numbering T0-T7, docs/papers/mdpo.md): the performance-difference lemmas,
the MDPO surrogate (gradient, reverse-KL identity, softmax policy-gradient theorem) and T0-T7.
T0-T6 are our derivations, T7 our recollection of Cen et al. (2022) Theorem 1; each test
re-checks one of them on random MDPs drawn by hypothesis (mdptheory.testing.strategies).
Bounds are asserted with an absolute slack for float64 rounding scaled by the value range:
1e-10 * max(1, 1/(1 - gamma)).
"""
import math

import numpy as np
import pytest

pytest.importorskip("hypothesis")
import hypothesis.strategies as st  # noqa: E402
from hypothesis import example, given  # noqa: E402

from mdptheory.algorithms import mdpo as M  # noqa: E402
from mdptheory.bounds import pmd as B  # noqa: E402
from mdptheory.models import DiscountedMDP  # noqa: E402
from mdptheory.testing import examples  # noqa: E402
from mdptheory.testing import strategies as mst  # noqa: E402

PMD_EXAMPLES = 25         # examples per PMD-run property
K = 40                                  # PMD steps per example


def _slack(gamma):
    return 1e-10 * max(1.0, 1.0 / (1.0 - gamma))


def _log(p):
    with np.errstate(divide="ignore"):
        return np.log(p)


def _kl(p, q):
    m = p > 0
    return float(np.sum(p[m] * (np.log(p[m]) - np.log(q[m]))))


def _ent(p):
    m = p > 0
    return float(-np.sum(p[m] * np.log(p[m])))


etas = st.floats(min_value=1e-3, max_value=50.0)
taus = st.floats(min_value=1e-2, max_value=2.0)


# --------------------------------------------------------------------------- T0


@examples(200)
@given(st.integers(1, 6).flatmap(lambda A: st.tuples(
    mst.distributions(A, full_support=True), mst.distributions(A), mst.value_vectors(A, 10.0))),
    etas)
def test_three_point_identity_kl(data, eta):                       # T0, KL-PMD
    p0, p, q = data
    lp_plus = M.pmd_step(np.log(p0)[None], q[None], eta)[0]
    p_plus = np.exp(lp_plus)
    lhs = eta * float(q @ (p - p_plus))
    rhs = _kl(p, p0) - _kl(p, p_plus) - _kl(p_plus, p0)
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs), eta * np.abs(q).max())


@examples(200)
@given(st.integers(1, 6).flatmap(lambda A: st.tuples(
    mst.distributions(A, full_support=True), mst.distributions(A), mst.value_vectors(A, 10.0))),
    etas, taus)
def test_three_point_identity_entropy_prox(data, eta, tau):        # T0, exact prox
    p0, p, q = data
    lp_plus = M.pmd_step(np.log(p0)[None], q[None], eta, update="prox", tau=tau)[0]
    p_plus = np.exp(lp_plus)
    lhs = eta * (float(q @ (p - p_plus)) + tau * _ent(p) - tau * _ent(p_plus))
    rhs = _kl(p, p0) - (1 + eta * tau) * _kl(p, p_plus) - _kl(p_plus, p0)
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs), eta * np.abs(q).max())


# --------------------------------------------------------------------------- PDL


@examples(60)
@given(mst.discounted_mdps(max_S=6, max_A=4), st.data())
def test_performance_difference_lemma(mdp, data):                  # PDL
    pi = data.draw(mst.discounted_policies(mdp.S, mdp.A))
    pi2 = data.draw(mst.discounted_policies(mdp.S, mdp.A))
    mu = data.draw(mst.distributions(mdp.S))
    V, Q = M.evaluate(mdp, pi)
    V2, _ = M.evaluate(mdp, pi2)
    d2 = M.occupancy(mdp, pi2, mu=mu)
    lhs = float(mu @ (V2 - V))
    rhs = float(d2 @ np.einsum("sa,sa->s", Q, pi2 - pi)) / (1 - mdp.gamma)
    assert abs(lhs - rhs) <= _slack(mdp.gamma)


@examples(60)
@given(mst.discounted_mdps(max_S=6, max_A=4), st.data(), taus)
def test_regularized_performance_difference_lemma(mdp, data, tau):  # reg. PDL
    pi = data.draw(mst.discounted_policies(mdp.S, mdp.A))
    pi2 = data.draw(mst.discounted_policies(mdp.S, mdp.A))
    mu = data.draw(mst.distributions(mdp.S))
    V, Q = M.evaluate(mdp, pi, tau=tau)
    V2, _ = M.evaluate(mdp, pi2, tau=tau)
    d2 = M.occupancy(mdp, pi2, mu=mu)
    H = M.entropy_rows(_log(pi))
    H2 = M.entropy_rows(_log(pi2))
    lhs = float(mu @ (V2 - V))
    rhs = float(d2 @ (np.einsum("sa,sa->s", Q, pi2 - pi) + tau * (H2 - H))) / (1 - mdp.gamma)
    assert abs(lhs - rhs) <= _slack(mdp.gamma) * (1 + tau * math.log(mdp.A + 1))


# --------------------------------------------------------------------------- T1


@examples(PMD_EXAMPLES)
@given(mst.discounted_mdps(max_S=6, max_A=4), st.lists(etas, min_size=K, max_size=K))
def test_monotone_improvement(mdp, steps):                         # T1 (Xiao 2022)
    its = list(M.pmd_iterates(mdp, K, M.sequence(steps), warn=False))
    tol = _slack(mdp.gamma)
    for cur, nxt in zip(its[:-1], its[1:]):
        pi_cur, pi_nxt = np.exp(cur.log_pi), np.exp(nxt.log_pi)
        assert np.einsum("sa,sa->s", cur.Q, pi_nxt - pi_cur).min() >= -tol
        assert (nxt.V - cur.V).min() >= -tol
        assert (nxt.Q - cur.Q).min() >= -tol


@examples(PMD_EXAMPLES)
@given(mst.discounted_mdps(max_S=6, max_A=4), etas, taus)
def test_monotone_improvement_entropy_prox(mdp, eta, tau):         # T1 analogue for V_tau
    its = list(M.pmd_iterates(mdp, K, M.constant(eta), update="prox", tau=tau))
    for cur, nxt in zip(its[:-1], its[1:]):
        assert (nxt.V - cur.V).min() >= -_slack(mdp.gamma)


# --------------------------------------------------------------------------- T2-T5


def _opt_quantities(mdp):
    opt = M.optimal(mdp)
    a_star = opt.pi.argmax(axis=1)
    d_star = M.occupancy(mdp, opt.pi)
    return opt, a_star, d_star


def _subnormal_gamma_mdp():
    """gamma = 5e-324 (found by hypothesis in CI: policy_iteration's iteration cap overflowed)."""
    rng = np.random.default_rng(0)
    return DiscountedMDP(P=rng.dirichlet(np.ones(3), size=(3, 2)), r=rng.random((3, 2)),
                         gamma=5e-324)


@examples(PMD_EXAMPLES)
@given(mst.discounted_mdps(max_S=6, max_A=4), etas, st.floats(1.0, 3.0))
@example(mdp=_subnormal_gamma_mdp(), eta0=1.0, growth=1.0)
def test_t2_sublinear_bound(mdp, eta0, growth):                    # T2 (any rho)
    opt, a_star, d_star = _opt_quantities(mdp)
    steps = eta0 * growth ** np.minimum(np.arange(K), 20.0)         # non-decreasing
    its = list(M.pmd_iterates(mdp, K, M.sequence(steps)))
    D0 = float(d_star @ M.kl_to_deterministic(its[0].log_pi, a_star))
    for it in its[1:]:
        gap = float(mdp.rho0 @ (opt.V - it.V))
        bound = B.pmd_t2_sublinear(it.k, D0, steps[0], mdp.gamma)
        assert gap <= bound + _slack(mdp.gamma)


@examples(PMD_EXAMPLES)
@given(mst.discounted_mdps(max_S=6, max_A=4, min_gamma=0.1), st.data(), st.floats(1e-3, 2.0),
       st.floats(1.0, 1.5))
def test_t3_linear_bound(mdp, data, eta0, extra):                  # T3 (Xiao 2022)
    rho = data.draw(mst.distributions(mdp.S, full_support=True))
    mdp = mdp.replace(rho0=rho)
    opt, a_star, d_star = _opt_quantities(mdp)
    theta = M.mismatch_coefficient(mdp)
    ratio = theta / (theta - 1.0) * extra
    its = list(M.pmd_iterates(mdp, K, M.geometric(eta0, ratio)))
    D0 = float(d_star @ M.kl_to_deterministic(its[0].log_pi, a_star))
    gap0 = float(rho @ (opt.V - its[0].V))
    for it in its:
        gap = float(rho @ (opt.V - it.V))
        bound = B.pmd_t3_linear(it.k, gap0, D0, eta0, theta, mdp.gamma, ratio=ratio)
        assert gap <= bound + _slack(mdp.gamma)


@examples(PMD_EXAMPLES)
@given(mst.discounted_mdps(max_S=6, max_A=4, min_gamma=0.1), st.floats(1e-3, 2.0))
def test_t4_gamma_rate_bound(mdp, eta0):                           # T4 (Lan-style)
    opt, a_star, _ = _opt_quantities(mdp)
    nu = M.stationary_distribution(M.policy_matrix(mdp, opt.pi))
    its = list(M.pmd_iterates(mdp, K, M.inverse_gamma(eta0)))
    f0 = float(nu @ (opt.V - its[0].V))
    D0 = float(nu @ M.kl_to_deterministic(its[0].log_pi, a_star))
    for cur, nxt in zip(its[:-1], its[1:]):
        f_k = float(nu @ (opt.V - cur.V))
        f_next = float(nu @ (opt.V - nxt.V))
        D_k = float(nu @ M.kl_to_deterministic(cur.log_pi, a_star))
        D_next = float(nu @ M.kl_to_deterministic(nxt.log_pi, a_star))
        # one-step inequality eta_k (f_{k+1} - gamma f_k) <= D_k - D_{k+1}
        assert cur.eta * (f_next - mdp.gamma * f_k) <= D_k - D_next + cur.eta * _slack(mdp.gamma)
        bound = B.pmd_t4_gamma_rate(nxt.k, f0, D0, eta0, mdp.gamma)
        assert f_next <= bound + _slack(mdp.gamma)


@examples(PMD_EXAMPLES)
@given(mst.discounted_mdps(max_S=6, max_A=4, min_gamma=0.1), st.floats(0.05, 5.0))
def test_t5_adaptive_bound(mdp, c):                                # T5 (Johnson+ 2023)
    opt, _, _ = _opt_quantities(mdp)
    its = list(M.pmd_iterates(mdp, K, M.adaptive(c)))
    err0 = float(np.abs(opt.V - its[0].V).max())
    for cur, nxt in zip(its[:-1], its[1:]):
        err_k = float(np.abs(opt.V - cur.V).max())
        greedy = cur.Q.argmax(axis=1)
        eps_k = float(M.kl_to_deterministic(cur.log_pi, greedy).max()) / cur.eta
        err_next = float(np.abs(opt.V - nxt.V).max())
        assert err_next <= B.pmd_t5_step(err_k, eps_k, mdp.gamma) + _slack(mdp.gamma)
        assert err_next <= B.pmd_t5_adaptive(nxt.k, err0, c, mdp.gamma) + _slack(mdp.gamma)


# --------------------------------------------------------------------------- T6, T7


@examples(PMD_EXAMPLES)
@given(mst.discounted_mdps(max_S=6, max_A=4, min_gamma=0.1), st.floats(0.05, 10.0), taus)
def test_t6_regularized_bound(mdp, eta, tau):                      # T6 (Lan Thm 1)
    sopt = M.soft_optimal(mdp, tau)
    nu = M.stationary_distribution(M.policy_matrix(mdp, sopt.pi))
    its = list(M.pmd_iterates(mdp, K, M.constant(eta), update="prox", tau=tau))
    f = np.array([nu @ (sopt.V - it.V) for it in its])
    D = np.array([nu @ M.kl_rows(sopt.log_pi, it.log_pi) for it in its])
    tol = _slack(mdp.gamma) * (1 + 1 / eta)
    pot = f + (1 / eta + tau) * D
    assert np.all(pot[1:] <= B.pmd_t6_step(f[:-1], D[:-1], eta, tau, mdp.gamma) + tol)
    k = np.arange(len(its))
    assert np.all(pot <= B.pmd_t6_regularized(k, f[0], D[0], eta, tau, mdp.gamma) + tol)


@examples(PMD_EXAMPLES)
@given(mst.discounted_mdps(max_S=6, max_A=4), st.floats(0.01, 1.0), taus)
def test_t7_cen_entropy_npg_bound(mdp, frac, tau):                 # T7 (Cen Thm 1)
    eta_c = frac * (1 - mdp.gamma) / tau
    sopt = M.soft_optimal(mdp, tau)
    its = list(M.pmd_iterates(mdp, K, M.constant(eta_c), update="cen", tau=tau))
    q_err = np.array([np.abs(sopt.Q - it.Q).max() for it in its])
    l_err = np.array([np.abs(sopt.log_pi - it.log_pi).max() for it in its])
    C1 = B.cen_c1(q_err[0], l_err[0], eta_c, tau, mdp.gamma)
    t = np.arange(len(its) - 1)
    tol = _slack(mdp.gamma) * (1 + 1 / tau)
    assert np.all(q_err[1:] <= B.pmd_t7_cen_q(t, C1, eta_c, tau, mdp.gamma) + tol)
    assert np.all(l_err[1:] <= B.pmd_t7_cen_logpi(t, C1, eta_c, tau, mdp.gamma) + tol)


# --------------------------------------------------------------------------- MDPO surrogate


def _mdpo_setup(mdp, data):
    pi_k = data.draw(mst.discounted_policies(mdp.S, mdp.A, deterministic=False))
    log_pi_k = np.log(pi_k)
    V, Q = M.evaluate(mdp, pi_k)
    d = M.occupancy(mdp, pi_k)
    return log_pi_k, Q - V[:, None], d


@examples(60)
@given(mst.discounted_mdps(max_S=5, max_A=4), st.data(), st.floats(0.1, 5.0))
def test_mdpo_surrogate_gradient_matches_finite_differences(mdp, data, t):  # gradient
    log_pi_k, A_k, d = _mdpo_setup(mdp, data)
    theta = log_pi_k + data.draw(mst.discounted_policies(mdp.S, mdp.A))  # an arbitrary point
    C = d[:, None] * A_k
    _, grad = M.mdpo_surrogate(theta, log_pi_k, C, d, t)
    h = 1e-6
    for s in range(mdp.S):
        for a in range(mdp.A):
            e = np.zeros_like(theta)
            e[s, a] = h
            fd = (M.mdpo_surrogate(theta + e, log_pi_k, C, d, t)[0]
                  - M.mdpo_surrogate(theta - e, log_pi_k, C, d, t)[0]) / (2 * h)
            assert abs(fd - grad[s, a]) <= 1e-6 * max(1.0, abs(fd))


@examples(60)
@given(mst.discounted_mdps(max_S=5, max_A=4), st.data(), st.floats(0.1, 5.0))
def test_mdpo_surrogate_is_reverse_kl_to_pmd_iterate(mdp, data, t):  # identity
    log_pi_k, A_k, d = _mdpo_setup(mdp, data)
    theta = data.draw(mst.discounted_policies(mdp.S, mdp.A, deterministic=False))
    theta = np.log(theta)
    L, _ = M.mdpo_surrogate(theta, log_pi_k, d[:, None] * A_k, d, t)
    log_pmd = M.pmd_step(log_pi_k, A_k, t)
    Z = np.log(np.einsum("sa,sa->s", np.exp(log_pi_k), np.exp(t * A_k)))
    kl = M.kl_rows(theta - np.log(np.exp(theta).sum(1, keepdims=True)), log_pmd)
    rhs = float(d @ (Z - kl)) / t
    assert abs(L - rhs) <= 1e-9 * max(1.0, abs(L), float(np.abs(A_k).max()))


@examples(40)
@given(mst.discounted_mdps(max_S=5, max_A=4, max_gamma=0.95), st.data(), st.floats(0.1, 5.0))
def test_mdpo_gradient_at_theta_k_is_softmax_policy_gradient(mdp, data, t):  # PG theorem
    log_pi_k, A_k, d = _mdpo_setup(mdp, data)
    _, grad = M.mdpo_surrogate(log_pi_k, log_pi_k, d[:, None] * A_k, d, t)
    h = 1e-6
    for s in range(mdp.S):
        for a in range(mdp.A):
            e = np.zeros_like(log_pi_k)
            e[s, a] = h

            def value(th):
                lp = th - np.log(np.exp(th).sum(1, keepdims=True))
                return float(mdp.rho0 @ M.evaluate(mdp, log_pi=lp)[0])

            dV = (value(log_pi_k + e) - value(log_pi_k - e)) / (2 * h)
            assert abs(grad[s, a] - (1 - mdp.gamma) * dV) <= 1e-6 * max(1.0, abs(dV))
