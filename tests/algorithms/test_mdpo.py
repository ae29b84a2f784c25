"""Exact PMD and tabular MDPO: kernels vs their Python twins, exact quantities vs the shared
solvers and closed forms, updates, schedules and their theorem conditions, MDPO inner loop,
sample-based variants, bounds, and every bad-input branch."""
import math
import warnings

import numpy as np
import pytest

from mdptheory import bounds, envs
from mdptheory.algorithms import mdpo as M
from mdptheory.bounds import pmd as B
from mdptheory.envs.mismatch_chain import mismatch_chain
from mdptheory.kernels import pmd as kp
from mdptheory.models import DiscountedMDP
from mdptheory.models.sparse import SparseTransitions
from mdptheory.solvers.discounted import evaluate_policy, value_iteration
from mdptheory.testing.concentration import (
    FALSE_ALARM,
    bernstein_halfwidth,
    empirical_bernstein_halfwidth,
)


def random_mdp(seed, S=5, A=3, gamma=0.9, rho0=None):
    rng = np.random.default_rng(seed)
    return DiscountedMDP(P=rng.dirichlet(np.ones(S), size=(S, A)), r=rng.random((S, A)),
                         gamma=gamma, rho0=rho0)


def random_policy(seed, S, A):
    return np.random.default_rng(seed).dirichlet(np.ones(A), size=S)


def ell(mdp):
    return M._dense(mdp)[:2]


# ----------------------------------------------------------------------------- kernels


def test_compiled_kernels_equal_their_python_functions():
    mdp = random_mdp(0)
    Pp, Pi = ell(mdp)
    r, g = np.ascontiguousarray(mdp.r), mdp.gamma
    lp = np.log(random_policy(1, 5, 3))
    Q = np.random.default_rng(2).random((5, 3)) * 5
    for fn in (kp.evaluate,):
        V1, Q1, V2, Q2 = np.empty(5), np.empty((5, 3)), np.empty(5), np.empty((5, 3))
        fn(Pp, Pi, r, lp, g, 0.3, V1, Q1)
        fn.py_func(Pp, Pi, r, lp, g, 0.3, V2, Q2)
        np.testing.assert_allclose(V1, V2, rtol=1e-12)
        np.testing.assert_allclose(Q1, Q2, rtol=1e-12)
    d1, d2 = np.empty(5), np.empty(5)
    kp.occupancy(Pp, Pi, lp, g, mdp.rho0, d1)
    kp.occupancy.py_func(Pp, Pi, lp, g, mdp.rho0, d2)
    np.testing.assert_allclose(d1, d2, rtol=1e-12)
    o1, o2 = np.empty((5, 3)), np.empty((5, 3))
    kp.mirror_step(lp, Q, 0.7, 2.0, o1)
    kp.mirror_step.py_func(lp, Q, 0.7, 2.0, o2)
    np.testing.assert_array_equal(o1, o2)
    C, w = Q * 0.1, np.full(5, 0.2)
    g1, g2 = np.empty((5, 3)), np.empty((5, 3))
    assert kp.mdpo_gradient(lp, lp * 0.5, C, w, 2.0, g1) == \
        kp.mdpo_gradient.py_func(lp, lp * 0.5, C, w, 2.0, g2)
    np.testing.assert_array_equal(g1, g2)
    for opt in (0, 1):
        th1, th2 = lp.copy(), lp.copy()
        st1 = (np.zeros((5, 3)), np.zeros((5, 3)), np.zeros(1, dtype=np.int64))
        st2 = (np.zeros((5, 3)), np.zeros((5, 3)), np.zeros(1, dtype=np.int64))
        kp.mdpo_ascent(th1, lp, C, w, 2.0, 0.3, 7, opt, *st1, 0.5)
        kp.mdpo_ascent.py_func(th2, lp, C, w, 2.0, 0.3, 7, opt, *st2, 0.5)
        np.testing.assert_allclose(th1, th2, rtol=1e-12, atol=1e-14)
    pi = np.exp(lp)
    outs = []
    for fn in (kp.sample_stream, kp.sample_stream.py_func):
        arrs = [np.empty(200, dtype=np.int64), np.empty(200, dtype=np.int64), np.empty(200),
                np.empty(200, dtype=np.int64), np.empty(200, dtype=np.int64)]
        last = fn(Pp, Pi, r, pi, mdp.rho0, g, -1, np.random.default_rng(5), *arrs)
        outs.append((last, arrs))
    assert outs[0][0] == outs[1][0]
    for a1, a2 in zip(outs[0][1], outs[1][1]):
        np.testing.assert_array_equal(a1, a2)
    rew, cont = outs[0][1][2], outs[0][1][4]
    G1, G2 = np.empty(200), np.empty(200)
    c1, c2 = np.empty(200, dtype=np.int64), np.empty(200, dtype=np.int64)
    kp.episode_returns(rew, cont, G1, c1)
    kp.episode_returns.py_func(rew, cont, G2, c2)
    np.testing.assert_array_equal(G1, G2)
    np.testing.assert_array_equal(c1, c2)


def test_off_policy_kernel_equals_its_python_function():
    mdp = random_mdp(3, S=3, A=2, gamma=0.8)
    Pp, Pi = ell(mdp)
    res = []
    for fn in (kp.off_policy_loop, kp.off_policy_loop.py_func):
        arrays = [np.zeros((3, 2)) for _ in range(6)]
        ck = np.array([50, 300], dtype=np.int64)
        snaps = np.empty((2, 3, 2))
        fn(Pp, Pi, np.ascontiguousarray(mdp.r), mdp.rho0, mdp.gamma, 300,
           np.random.default_rng(1), arrays[0], arrays[1], arrays[2], arrays[3], 0.1, 1.0, 20,
           8, 100, 20, 0.5, 0.2, 0.05, True, arrays[4], arrays[5], ck, snaps)
        res.append((arrays, snaps))
    for a, b in zip(res[0][0], res[1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12, atol=1e-14)


def test_ell_compaction_reproduces_dense_transitions():
    mdp = envs.garnet(12, 3, 4, gamma=0.9, rng=0)
    Pp, Pi = ell(mdp)
    assert Pp.shape == (12, 3, 4)
    dense = np.zeros((12, 3, 12))
    for s in range(12):
        for a in range(3):
            np.add.at(dense[s, a], Pi[s, a], Pp[s, a])
    np.testing.assert_array_equal(dense, mdp.P)


# ----------------------------------------------------------------------------- exact quantities


@pytest.mark.parametrize("sparse", [False, True])
def test_evaluate_matches_shared_policy_evaluation(sparse):
    mdp = random_mdp(4, S=6, A=3, gamma=0.95)
    if sparse:
        mdp = DiscountedMDP(P=SparseTransitions.from_dense(mdp.P), r=mdp.r, gamma=mdp.gamma)
    pi = random_policy(5, 6, 3)
    V, Q = M.evaluate(mdp, pi)
    ref = evaluate_policy(mdp, pi)
    np.testing.assert_allclose(V, ref.V, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(Q, ref.Q, rtol=1e-10, atol=1e-10)


def test_regularized_evaluation_satisfies_soft_bellman_equation():
    mdp = random_mdp(6)
    pi = random_policy(7, 5, 3)
    tau = 0.4
    V, Q = M.evaluate(mdp, pi, tau=tau)
    # V(s) = sum_a pi(a|s) (Q(s, a) - tau log pi(a|s)), Q = r + gamma P V
    np.testing.assert_allclose(V, np.einsum("sa,sa->s", pi, Q - tau * np.log(pi)), atol=1e-12)
    np.testing.assert_allclose(Q, mdp.r + mdp.gamma * mdp.P @ V, atol=1e-12)


def test_occupancy_is_the_discounted_state_distribution():
    mdp = random_mdp(8)
    pi = random_policy(9, 5, 3)
    mu = np.random.default_rng(1).dirichlet(np.ones(5))
    d = M.occupancy(mdp, pi, mu=mu)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    ref, x = np.zeros(5), mu.copy()
    for t in range(600):                                  # (1 - gamma) sum_t gamma^t mu P^t
        ref += (1 - mdp.gamma) * mdp.gamma ** t * x
        x = x @ P_pi
    np.testing.assert_allclose(d, ref, atol=1e-12)
    assert np.all(d >= (1 - mdp.gamma) * mu - 1e-15)


def test_stationary_distribution_of_reducible_chain_is_stationary():
    P = np.array([[0.5, 0.5, 0, 0], [0.2, 0.8, 0, 0], [0, 0, 0, 1.0], [0, 0, 1.0, 0]])
    nu = M.stationary_distribution(P)
    np.testing.assert_allclose(nu @ P, nu, atol=1e-12)
    assert nu.min() >= 0 and abs(nu.sum() - 1) < 1e-12


def test_optimal_matches_value_iteration_and_is_greedy():
    mdp = random_mdp(10, gamma=0.99)
    opt = M.optimal(mdp)
    vi = value_iteration(mdp, tol=1e-11)
    np.testing.assert_allclose(opt.V, vi.V, atol=1e-9)
    assert opt.residual <= 1e-10
    np.testing.assert_array_equal(opt.pi.argmax(1), opt.Q.argmax(1))


def test_soft_optimal_single_state_closed_form():
    # one state: V = tau logsumexp(r/tau) + gamma V  =>  V = tau lse(r/tau) / (1 - gamma)
    r = np.array([[0.2, 0.9, 0.5]])
    mdp = DiscountedMDP(P=np.ones((1, 3, 1)), r=r, gamma=0.8)
    tau = 0.3
    sol = M.soft_optimal(mdp, tau)
    lse = tau * np.log(np.exp(r[0] / tau).sum())
    assert abs(sol.V[0] - lse / (1 - 0.8)) <= 1e-12
    np.testing.assert_allclose(sol.pi[0], np.exp(r[0] / tau) / np.exp(r[0] / tau).sum(),
                               atol=1e-12)


def test_soft_optimal_matches_soft_value_iteration():
    mdp = random_mdp(11, gamma=0.9)
    tau = 0.2
    sol = M.soft_optimal(mdp, tau)
    V = np.zeros(5)
    for _ in range(2000):                                 # slow reference: soft VI
        z = (mdp.r + mdp.gamma * mdp.P @ V) / tau
        V = tau * (z.max(1) + np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)))
    np.testing.assert_allclose(sol.V, V, atol=1e-10)


def test_mismatch_coefficient_is_large_on_the_mismatch_chain():
    theta_chain = M.mismatch_coefficient(mismatch_chain(10, gamma=0.9, eps=1e-3))
    theta_garnet = M.mismatch_coefficient(envs.garnet(10, 2, 3, gamma=0.9, rng=0))
    assert theta_chain >= 1 / (1 - 0.9) and theta_garnet >= 1 / (1 - 0.9)
    assert theta_chain > 100 * theta_garnet


# ----------------------------------------------------------------------------- updates


def test_kl_step_is_the_exponentiated_update():
    lp = np.log(random_policy(12, 4, 3))
    Q = np.random.default_rng(3).random((4, 3)) * 10
    out = M.pmd_step(lp, Q, 0.7)
    ref = np.exp(lp) * np.exp(0.7 * Q)
    np.testing.assert_allclose(np.exp(out), ref / ref.sum(1, keepdims=True), atol=1e-14)


def test_huge_steps_stay_normalised_and_greedy():
    lp = np.log(random_policy(13, 4, 3))
    Q = np.random.default_rng(4).random((4, 3)) * 100
    out = M.pmd_step(lp, Q, 1e250)
    assert np.all(out <= 0)
    np.testing.assert_array_equal(out.argmax(1), Q.argmax(1))
    np.testing.assert_allclose(np.exp(out).sum(1), 1.0, atol=1e-15)


def test_regularized_parametrisations_agree_under_the_step_mappings():
    # eta_c = (1 - gamma) eta / (1 + eta tau) (Lan <-> Cen), eta_c = (1 - gamma) t
    lp = np.log(random_policy(14, 4, 3))
    Q = np.random.default_rng(5).random((4, 3)) * 3
    gamma, tau, eta = 0.9, 0.5, 1.3
    eta_c = (1 - gamma) * eta / (1 + eta * tau)
    np.testing.assert_allclose(M.pmd_step(lp, Q, eta, update="prox", tau=tau),
                               M.pmd_step(lp, Q, eta_c, update="cen", tau=tau, gamma=gamma),
                               atol=1e-12)
    t = 0.8
    np.testing.assert_allclose(M.pmd_step(lp, Q, t, update="linearized", tau=tau),
                               M.pmd_step(lp, Q, (1 - gamma) * t, update="cen", tau=tau,
                                          gamma=gamma), atol=1e-12)


def test_npg_normalisation():
    assert M.npg_to_pmd(0.5, 0.9) == pytest.approx(5.0)


# ----------------------------------------------------------------------------- exact PMD


def test_pmd_with_huge_steps_is_policy_iteration():
    mdp = random_mdp(15, S=8, A=4, gamma=0.95)
    opt = M.optimal(mdp)
    res = M.policy_mirror_descent(mdp, 60, M.constant(1e12), tol=1e-9)
    assert res.converged and res.num_iter <= 20
    np.testing.assert_allclose(res.V, opt.V, atol=1e-8)


def test_cen_at_the_largest_step_is_soft_policy_iteration():
    mdp = random_mdp(16, gamma=0.9)
    tau = 0.3
    res = M.policy_mirror_descent(mdp, 60, M.constant((1 - 0.9) / tau), update="cen", tau=tau)
    np.testing.assert_allclose(res.V, M.soft_optimal(mdp, tau).V, atol=1e-10)


@pytest.mark.parametrize("update,gamma,tau", [("cen", 0.9, 0.1), ("cen", 0.99, 0.3),
                                              ("cen", 0.7, 0.07), ("linearized", 0.9, 0.1),
                                              ("linearized", 0.9, 0.3), ("linearized", 0.9, 3.0)])
def test_soft_policy_iteration_step_with_a_zero_probability_is_the_softmax(update, gamma, tau):
    """Issue 12: alpha = 0 (Cen at eta = (1 - gamma)/tau, linearised at tau eta = 1) with an
    action of probability 0 gave a NaN row (0 * log 0). pi+ is softmax(beta Q): pi^0 = 1."""
    eta = (1 - gamma) / tau if update == "cen" else 1 / tau
    alpha, beta = M.update_coefficients(update, eta, tau, gamma)
    assert alpha == 0.0                          # rounding in 1 - eta tau (...) snapped to 0
    with np.errstate(divide="ignore"):
        log_pi = np.log(np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5]]))
    Q = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.0, 5.0, 2.0]])
    out = M.pmd_step(log_pi, Q, eta, update=update, tau=tau, gamma=gamma)
    expected = beta * Q - np.log(np.exp(beta * Q).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)


def test_soft_policy_iteration_from_a_policy_with_zeros_reaches_the_soft_optimum():
    """The iterate route of the same case: PMD from pi0 with zero entries."""
    mdp = random_mdp(16, gamma=0.9)
    tau = 0.3
    pi0 = np.zeros((mdp.S, mdp.A))
    pi0[:, 0] = 1.0
    for update, eta in (("cen", (1 - 0.9) / tau), ("linearized", 1 / tau)):
        res = M.policy_mirror_descent(mdp, 60, M.constant(eta), update=update, tau=tau,
                                      pi0=pi0, warn=False)
        assert np.all(np.isfinite(res.log_pi[np.isfinite(res.log_pi)]))
        assert not np.any(np.isnan(res.log_pi))
        np.testing.assert_allclose(res.V, M.soft_optimal(mdp, tau).V, atol=1e-10)


def test_pmd_result_records_values_steps_and_monotone_gaps():
    mdp = random_mdp(17)
    res = M.policy_mirror_descent(mdp, 30, M.inverse_gamma(0.5), tol=1e-10)
    assert res.values.shape == (res.num_iter + 1, 5)
    assert len(res.etas) == res.num_iter
    np.testing.assert_allclose(res.etas, 0.5 * mdp.gamma ** -np.arange(res.num_iter))
    assert np.all(np.diff(res.gaps) <= 1e-12)
    assert res.conditions["T4"].holds and res.conditions["T2"].holds


def test_pmd_iterates_from_a_given_policy():
    mdp = random_mdp(18)
    pi0 = random_policy(19, 5, 3)
    it0 = next(M.pmd_iterates(mdp, 3, 1.0, pi0=pi0))
    np.testing.assert_allclose(np.exp(it0.log_pi), pi0, atol=1e-14)
    np.testing.assert_allclose(it0.V, M.evaluate(mdp, pi0)[0], atol=1e-12)


# ----------------------------------------------------------------------------- schedules


def test_schedule_values():
    g = 0.9
    assert M.constant(2.0).eta(5, gamma=g) == 2.0
    assert M.geometric(1.0, 1.5).eta(3, gamma=g) == pytest.approx(1.5 ** 3)
    sch = M.inverse_gamma(2.0).resolve(g, 0.0)
    assert sch.eta(4, gamma=g) == pytest.approx(2.0 / g ** 4)
    assert M.shani(2.0).eta(3, gamma=g) == pytest.approx((1 - g) / (2.0 * 2.0))
    assert M.shani_regularized().eta(3, gamma=g, tau=0.5) == pytest.approx(1 / (0.5 * 5))
    assert M.anneal(10, 1.0).eta(3, gamma=g) == pytest.approx(0.7)
    assert M.sequence([0.1, 0.2]).eta(1, gamma=g) == 0.2
    lp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    Q = np.array([[0.0, 1.0, 0.0], [5.0, 0.0, 1.0]])        # greedy actions 1 and 0
    eta = M.adaptive(2.0).eta(1, gamma=g, log_pi=lp, Q=Q)
    assert eta == pytest.approx(max(np.log(4.0), np.log(10.0)) / (2.0 * g ** 2))
    assert M.geometric(1.0, 10.0).eta(500, gamma=g) == M.ETA_MAX


def test_xiao_ratio_defaults_to_theta_over_theta_minus_one():
    mdp = random_mdp(20)
    theta = M.mismatch_coefficient(mdp)
    res = M.policy_mirror_descent(mdp, 5, M.geometric(0.1))
    np.testing.assert_allclose(res.etas[1:] / res.etas[:-1], theta / (theta - 1), rtol=1e-12)
    assert res.conditions["T3"].holds


def test_schedule_conditions_report_which_theorems_apply():
    conds = M.schedule_conditions(M.inverse_gamma(1.0).resolve(0.9, 0.0), update="kl",
                                  gamma=0.9, K=50, theta=20.0)
    assert conds["T2"].holds and conds["T3"].holds and conds["T4"].holds
    assert not conds["T5"].holds
    conds = M.schedule_conditions(M.constant(1.0), update="kl", gamma=0.9, K=50, theta=20.0)
    assert conds["T2"].holds and not conds["T3"].holds and not conds["T4"].holds
    conds = M.schedule_conditions(M.anneal(50), update="kl", gamma=0.9, K=50)
    assert conds["T2"].holds is False
    conds = M.schedule_conditions(M.adaptive(1.0), update="kl", gamma=0.9, K=50)
    assert conds["T5"].holds and conds["T2"].holds is None
    conds = M.schedule_conditions(M.constant(5.0), update="cen", gamma=0.9, tau=0.1, K=5)
    assert conds["T7"].holds is False and conds["T1"].holds is False


@pytest.mark.parametrize("schedule,kw,match", [
    (M.geometric(1.0, 1.0001), {}, r"ratio violates the condition of T3"),
    (M.inverse_gamma(1.0, 1.01), {}, r"growth violates the condition of T4"),
    (M.anneal(20), {}, r"t_k \(anneal\) violates the condition of T2"),
    (M.sequence([1.0, 0.5, 0.2]), {}, r"etas violates the condition of T2"),
    (M.constant(5.0), dict(update="cen", tau=0.1), r"eta=5.0 violates the condition of T7"),
    (M.constant(5.0), dict(update="linearized", tau=0.5), r"T8"),
])
def test_schedules_that_violate_their_theorem_warn(schedule, kw, match):
    mdp = random_mdp(21, gamma=0.9)
    with pytest.warns(UserWarning, match=match):
        M.policy_mirror_descent(mdp, 3, schedule, **kw)


def test_schedules_that_meet_their_theorem_do_not_warn():
    mdp = random_mdp(22, gamma=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for sch, kw in ((M.constant(1.0), {}), (M.geometric(0.5), {}), (M.inverse_gamma(1.0), {}),
                        (M.adaptive(1.0), {}), (M.shani(), {}),
                        (M.constant(1.0), dict(update="prox", tau=0.1)),
                        (M.constant(0.5), dict(update="cen", tau=0.1)),
                        (M.shani_regularized(), dict(update="linearized", tau=0.1))):
            M.policy_mirror_descent(mdp, 5, sch, **kw)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call,exc,match", [
    (lambda: M.constant(0.0), ValueError, r"eta must be > 0.0, got 0.0"),
    (lambda: M.constant(-1), ValueError, r"eta must be > 0"),
    (lambda: M.geometric(-1.0), ValueError, r"eta0 must be > 0"),
    (lambda: M.geometric(1.0, 0.0), ValueError, r"ratio must be > 0"),
    (lambda: M.inverse_gamma(1.0, -2.0), ValueError, r"growth must be > 0"),
    (lambda: M.adaptive(0.0), ValueError, r"c must be > 0"),
    (lambda: M.shani(0.0), ValueError, r"C must be > 0"),
    (lambda: M.anneal(0), ValueError, r"n must be >= 1"),
    (lambda: M.sequence([0.1, 0.2, -0.3]), ValueError, r"etas\[2\] is -0.3, expected a step"),
    (lambda: M.make_schedule("fast"), TypeError, r"schedule must be a StepSchedule"),
    (lambda: M.pmd_step(np.zeros((2, 2)), np.zeros((2, 2)), 0.0), ValueError, r"eta must be > 0"),
    (lambda: M.pmd_step(np.zeros((2, 2)), np.zeros((2, 2)), 1.0, update="prox"), ValueError,
     r"tau \(temperature\) must be > 0 for update='prox', got 0.0"),
    (lambda: M.pmd_step(np.zeros((2, 2)), np.zeros((2, 2)), 1.0, update="cen", tau=-1.0),
     ValueError, r"tau \(temperature\) must be > 0"),
    (lambda: M.pmd_step(np.zeros((2, 2)), np.zeros((2, 2)), 1.0, tau=0.5), ValueError,
     r"tau must be 0 for update='kl'"),
    (lambda: M.pmd_step(np.zeros((2, 2)), np.zeros((2, 2)), 1.0, update="mirror"), ValueError,
     r"update must be one of"),
    (lambda: M.pmd_step(np.zeros((2, 2)), np.zeros((2, 2)), 1.0, update="cen", tau=1.0),
     ValueError, r"update='cen' needs gamma"),
    (lambda: M.soft_optimal(random_mdp(0), 0.0), ValueError, r"tau must be > 0.0, got 0.0"),
    (lambda: M.evaluate(random_mdp(0), np.full((5, 3), 0.5)), ValueError, r"pi\[0\] sums to"),
    (lambda: M.evaluate("mdp", np.full((5, 3), 1 / 3)), TypeError, r"mdp must be a "
                                                                    r"DiscountedMDP"),
    (lambda: M.evaluate(random_mdp(0), np.full((5, 3), 1 / 3), tau=-0.1), ValueError,
     r"tau must be >= 0.0"),
    (lambda: M.policy_mirror_descent(random_mdp(0), 3, 1.0, log_pi0=np.zeros((5, 3))),
     ValueError, r"log_pi0\[0\] has logsumexp 1.09"),
    (lambda: M.policy_mirror_descent(random_mdp(0), 0.5, 1.0), TypeError, r"K must be an "
                                                                         r"integer"),
    (lambda: M.policy_mirror_descent(random_mdp(0), 3, 1.0, tol=0.0), ValueError,
     r"tol must be > 0"),
    (lambda: M.policy_mirror_descent(random_mdp(0, gamma=0.0), 3, M.adaptive()), ValueError,
     r"adaptive step \(T5\) needs gamma > 0"),
    (lambda: M.policy_mirror_descent(random_mdp(0), 30, M.anneal(10)), ValueError,
     r"anneal schedule with n=10 cannot run K=30"),
    (lambda: M.policy_mirror_descent(random_mdp(0), 5, [0.1, 0.2]), ValueError,
     r"K=5 iterations need 5 step sizes"),
    (lambda: M.policy_mirror_descent(random_mdp(0), 5, M.shani_regularized(), update="prox",
                                     tau=0.1), ValueError, r"'shani_regularized' is for"),
    (lambda: M.mismatch_coefficient(random_mdp(0, rho0=np.array([1.0, 0, 0, 0, 0]))),
     ValueError, r"rho\[1\] is 0: theta_rho \(T3\) needs rho with full support"),
    (lambda: M.stationary_distribution(np.eye(3)[:2]), ValueError, r"P_pi must have shape"),
    (lambda: M.mdpo_update(np.zeros((2, 2)) - np.log(2), np.zeros((2, 2)), np.ones(2), 0.0),
     ValueError, r"t must be > 0"),
    (lambda: M.mdpo_update(np.zeros((2, 2)) - np.log(2), np.zeros((2, 2)), np.ones(2), 1.0,
                           m=0), ValueError, r"m must be >= 1"),
    (lambda: M.mdpo_update(np.zeros((2, 2)) - np.log(2), np.zeros((2, 2)), np.ones(2), 1.0,
                           lr="fast"), ValueError, r"lr must be a positive number or 'auto'"),
    (lambda: M.mdpo_update(np.zeros((2, 2)) - np.log(2), np.zeros((2, 2)), np.ones(2), 1.0,
                           optimizer="rmsprop"), ValueError, r"optimizer must be one of"),
    (lambda: M.mdpo_on_policy(random_mdp(0), 2, rng=0, batch=0), ValueError,
     r"batch must be >= 1"),
    (lambda: M.mdpo_on_policy(random_mdp(0), 2, rng=0, m=math.inf), ValueError,
     r"sample-based MDPO needs a finite m"),
    (lambda: M.mdpo_on_policy(random_mdp(0), 2, rng=0, advantage="td"), ValueError,
     r"advantage must be one of"),
    (lambda: M.mdpo_on_policy(random_mdp(0), 2, rng=0, preset="ppo"), ValueError,
     r"unknown preset 'ppo'"),
    (lambda: M.mdpo_on_policy(random_mdp(0), 2, rng=0, preset="off_policy_authors"),
     ValueError, r"not a on-policy preset"),
    (lambda: M.mdpo_off_policy(random_mdp(0), 10, rng=0, critic_lr=2.0), ValueError,
     r"critic_lr must be <= 1.0"),
    (lambda: M.mdpo_off_policy(random_mdp(0), 10, rng=0, klcoeff=0.0), ValueError,
     r"klcoeff must be > 0"),
    (lambda: M.mdpo_off_policy(random_mdp(0), 10, rng=0, checkpoints=[20]), ValueError,
     r"checkpoints must lie in \[1, n_steps=10\]"),
    (lambda: M.sample_transitions(random_mdp(0), np.full((5, 3), 1 / 3), 10, rng="x"),
     TypeError, r"rng must be a numpy.random.Generator"),
    (lambda: mismatch_chain(1), ValueError, r"S must be >= 2"),
    (lambda: mismatch_chain(5, eps=0.0), ValueError, r"eps must be > 0.0"),
])
def test_bad_input_is_refused_with_the_argument_named(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ----------------------------------------------------------------------------- MDPO (Alg. B)


def _mdpo_inputs(seed, S=5, A=3):
    mdp = random_mdp(seed, S=S, A=A)
    pi = random_policy(seed + 1, S, A)
    V, Q = M.evaluate(mdp, pi)
    d = M.occupancy(mdp, pi)
    return mdp, np.log(pi), Q - V[:, None], d


def test_mdpo_with_m_infinite_is_the_pmd_step():
    _, lp, A_k, d = _mdpo_inputs(23)
    out = M.mdpo_update(lp, d[:, None] * A_k, d, 0.7, math.inf)
    np.testing.assert_allclose(out, M.pmd_step(lp, A_k, 0.7), atol=1e-12)


def test_mdpo_inner_loop_converges_to_the_pmd_step():
    # Algorithm B: with m -> infinity and a small inner step the loop recovers exact PMD
    _, lp, A_k, d = _mdpo_inputs(24)
    out = M.mdpo_update(lp, d[:, None] * A_k, d, 0.7, 30_000)
    assert M.kl_rows(out, M.pmd_step(lp, A_k, 0.7)).max() <= 1e-12


def test_mdpo_one_sgd_step_is_the_softmax_pg_step():
    _, lp, A_k, d = _mdpo_inputs(25)
    lr = 0.3
    out = M.mdpo_update(lp, d[:, None] * A_k, d, 2.0, 1, lr=lr)
    theta = lp + lr * d[:, None] * np.exp(lp) * A_k          # grad L_k(theta_k) = d pi A
    ref = theta - np.log(np.exp(theta).sum(1, keepdims=True))
    np.testing.assert_allclose(out, ref, atol=1e-13)


def test_first_adam_step_moves_every_coordinate_by_lr():
    _, lp, A_k, d = _mdpo_inputs(26)
    lr = 1e-3
    adam = M.AdamState.zeros(*lp.shape)
    theta = lp.copy()
    kp.mdpo_ascent(theta, lp, d[:, None] * A_k, d, 1.0, lr, 1, 1, adam.m, adam.v, adam.step,
                   0.0)
    g = np.empty_like(lp)
    kp.mdpo_gradient(lp, lp, d[:, None] * A_k, d, 1.0, g)
    np.testing.assert_allclose(theta - lp, lr * g / (np.abs(g) + 1e-8), atol=1e-12)
    assert adam.step[0] == 1


def test_gradient_clipping_rescales_to_the_global_norm():
    _, lp, A_k, d = _mdpo_inputs(27)
    g = np.empty_like(lp)
    kp.mdpo_gradient(lp, lp, d[:, None] * A_k, d, 1.0, g)
    clip = 0.1 * np.linalg.norm(g)
    theta = lp.copy()
    st = M.AdamState.zeros(*lp.shape)
    kp.mdpo_ascent(theta, lp, d[:, None] * A_k, d, 1.0, 1.0, 1, 0, st.m, st.v, st.step, clip)
    np.testing.assert_allclose(theta - lp, g * clip / np.linalg.norm(g), atol=1e-14)


def test_mdpo_exact_with_m_infinite_follows_pmd():
    mdp = random_mdp(28)
    a = [it.log_pi for it in M.mdpo_exact_iterates(mdp, 10, math.inf, 0.8)]
    b = [it.log_pi for it in M.pmd_iterates(mdp, 10, 0.8)]
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=1e-11)


def test_mdpo_keeps_unvisited_states_and_improves_visited_ones():
    _, lp, A_k, d = _mdpo_inputs(29)
    w = d.copy()
    w[0] = 0.0
    C = w[:, None] * A_k
    out = M.mdpo_update(lp, C, w, 1.0, math.inf)
    np.testing.assert_allclose(out[0], lp[0], atol=1e-14)
    out = M.mdpo_update(lp, C, w, 1.0, 20)
    np.testing.assert_allclose(out[0], lp[0], atol=1e-14)


# ----------------------------------------------------------------------------- sample-based


def _episode_ends(cont) -> np.ndarray:
    """Indices of the transitions that end an episode (cont == 0), in stream order."""
    return np.flatnonzero(np.asarray(cont) == 0)


def test_sampled_states_follow_the_discounted_occupancy():
    """Each geometric-length episode ends after step t with probability (1 - gamma) gamma^t, so
    the state of its last transition is distributed exactly as d^pi_rho0, independently across
    episodes. On the first m = 20,000 episodes (fixed in advance; ~60,000 end in the stream) the
    frequencies pass Bernstein's inequality with known variance d (1 - d): false alarm <= 1e-6
    over the 4 states (plus P(fewer than m episodes) < 1e-300)."""
    mdp = random_mdp(30, S=4, A=2, gamma=0.8)
    pi = random_policy(31, 4, 2)
    n, m = 300_000, 20_000
    data = M.sample_transitions(mdp, pi, n, rng=0)
    ends = _episode_ends(data["cont"])
    assert ends.size >= m
    freq = np.bincount(data["s"][ends[:m]], minlength=4) / m
    d = M.occupancy(mdp, pi)
    t = bernstein_halfwidth(m, d * (1 - d), 1.0, FALSE_ALARM / d.size)
    assert np.all(np.abs(freq - d) <= t)


def test_monte_carlo_returns_estimate_q_without_bias():
    """First-visit returns of (s, a), one per episode among the first m = 60,000 episodes
    (fixed in advance; ~90,000 end in the stream), are iid with mean Q(s, a) (the episode after
    a visit is independent of what came before). A return is at most max r times the rest of
    its episode's length, which exceeds ell = 80 with probability gamma^80 < 5e-13, so all are
    <= ell max r except with probability < 1e-7; on that event the mean of the returns equals
    the mean of the returns truncated there, whose expectation is within
    max r gamma^ell / (1 - gamma) of Q. Empirical Bernstein on the truncated returns: false
    alarm <= 1e-6 over the 6 pairs (plus 1e-7)."""
    mdp = random_mdp(32, S=3, A=2, gamma=0.7)
    pi = random_policy(33, 3, 2)
    data = M.sample_transitions(mdp, pi, 300_000, rng=1)
    G, done = M.mc_returns(data["r"], data["cont"])
    _, Q = M.evaluate(mdp, pi)
    episode = np.concatenate([[0], np.cumsum(data["cont"][:-1] == 0)])
    m = 60_000
    assert _episode_ends(data["cont"]).size >= m and done[episode < m].all()
    ell, rmax = 80, float(np.max(mdp.r))
    tail = rmax * mdp.gamma ** ell / (1 - mdp.gamma)
    for s in range(3):
        for a in range(2):
            sel = np.flatnonzero((episode < m) & (data["s"] == s) & (data["a"] == a))
            first = sel[np.unique(episode[sel], return_index=True)[1]]   # one per episode
            X = np.minimum(G[first], ell * rmax)[:, None]
            t = empirical_bernstein_halfwidth(X, ell * rmax, FALSE_ALARM / 6)[0]
            assert abs(G[first].mean() - Q[s, a]) <= t + tail


def test_gae_with_lambda_one_and_zero_critic_is_the_discounted_tail():
    rng = np.random.default_rng(2)
    rew = rng.random(50)
    cont = (rng.random(50) < 0.8).astype(np.int64)
    s = rng.integers(0, 3, 50)
    sn = rng.integers(0, 3, 50)
    adv = M.gae_advantages(rew, s, sn, cont, np.zeros(3), 0.9, 1.0)
    ref = np.empty(50)
    for i in range(50):
        acc, j, disc = 0.0, i, 1.0
        while True:
            acc += disc * rew[j]
            if cont[j] == 0 or j == 49:
                break
            disc *= 0.9
            j += 1
        ref[i] = acc
    np.testing.assert_allclose(adv, ref, atol=1e-12)


def test_on_policy_mdpo_is_seeded_and_improves():
    mdp = random_mdp(34, S=4, A=3, gamma=0.8)
    a = M.mdpo_on_policy(mdp, 15, rng=3, batch=400)
    b = M.mdpo_on_policy(mdp, 15, rng=3, batch=400)
    c = M.mdpo_on_policy(mdp, 15, rng=4, batch=400)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert a.values[-1] > a.values[0]
    np.testing.assert_array_equal(a.samples, 400 * np.arange(16))
    gae = M.mdpo_on_policy(mdp, 15, rng=3, batch=400, advantage="gae", standardize=True)
    assert gae.values[-1] > gae.values[0]


def test_authors_presets_are_applied_and_overridable():
    mdp = random_mdp(35, S=3, A=2)
    with pytest.warns(UserWarning, match="T2"):                 # annealed t_k decreases
        run = M.mdpo_on_policy(mdp, 2, rng=0, preset="on_policy_authors", batch=100)
    assert run.info["optimizer"] == "adam" and run.info["advantage"] == "gae"
    assert run.info["batch"] == 100 and run.info["m"] == 10 and run.info["schedule"] == "anneal"
    off = M.mdpo_off_policy(mdp, 50, rng=0, preset="off_policy_authors", learning_starts=10)
    assert off.info["lam"] == 0.2 and off.info["m_refresh"] == 1000 and off.info["batch"] == 256


def test_off_policy_critic_converges_to_soft_q_of_a_frozen_policy():
    # actor step ~0: the policy stays uniform; expected SARSA with lam then converges to the
    # soft Q of the uniform policy (with entropy weight lam), Algorithm D
    mdp = random_mdp(36, S=3, A=2, gamma=0.5)
    lam = 0.3
    run = M.mdpo_off_policy(mdp, 40_000, rng=0, lam=lam, actor_lr=1e-300, critic_lr=0.05,
                            polyak=0.1, learning_starts=0, batch=8)
    _, Q = M.evaluate(mdp, np.full((3, 2), 0.5), tau=lam)
    np.testing.assert_allclose(run.info["critic"], Q, atol=0.05)


def test_off_policy_mdpo_improves_on_a_small_mdp():
    mdp = random_mdp(37, S=4, A=3, gamma=0.8)
    run = M.mdpo_off_policy(mdp, 20_000, rng=1)
    assert run.values[-1] > run.values[0] + 0.5 * (M.optimal(mdp).V @ mdp.rho0 - run.values[0])


# ----------------------------------------------------------------------------- bounds


def test_bounds_are_registered_with_their_theorems():
    for name in ("pmd_t1_improvement", "pmd_t2_sublinear", "pmd_t3_linear", "pmd_t4_gamma_rate",
                 "pmd_t5_adaptive", "pmd_t6_regularized", "pmd_t7_cen_q", "pmd_t7_cen_logpi",
                 "pmd_t8_unregularized", "pmd_t8_regularized"):
        b = bounds.get(name)
        assert b.theorem and b.assumptions
    assert bounds.get("pmd_t8_regularized").constants == "rate-only"


def test_bound_formulas():
    g = 0.9
    assert B.pmd_t2_sublinear(4, 1.0, 2.0, g) == pytest.approx((1 / (0.1 * 2) + 100) / 4)
    th = 15.0
    assert B.pmd_t3_linear(3, 0.5, 1.0, 2.0, th, g) == pytest.approx(
        (1 - 1 / th) ** 3 * (0.5 + 1.0 / (0.1 * 2.0 * (th - 1))))
    assert B.pmd_t4_gamma_rate(5, 0.3, 1.0, 2.0, g) == pytest.approx(g ** 5 * (0.3 + 1 / (g * 2)))
    assert B.pmd_t5_adaptive(5, 2.0, 0.5, g) == pytest.approx(g ** 5 * (2.0 + 2.5))
    assert B.pmd_t6_rate(1.0, 0.1, g) == pytest.approx(max(g, 1 / 1.1))
    C1 = B.cen_c1(1.0, 2.0, 0.5, 0.1, g)
    assert C1 == pytest.approx(1.0 + 2 * 0.1 * (1 - 0.05 / 0.1) * 2.0)
    assert B.pmd_t7_cen_logpi(2, C1, 0.5, 0.1, g) == pytest.approx(2 * C1 * 0.95 ** 2 / 0.1)
    np.testing.assert_allclose(B.pmd_t1_improvement(np.arange(3)), 0.0)


@pytest.mark.parametrize("call,match", [
    (lambda: B.pmd_t3_linear(3, 0.5, 1.0, 1.0, 15.0, 0.9, ratio=1.0), r"ratio violates .* T3"),
    (lambda: B.pmd_t4_gamma_rate(3, 0.5, 1.0, 1.0, 0.9, growth=1.05), r"growth violates .* T4"),
    (lambda: B.pmd_t2_sublinear(3, 1.0, 1.0, 0.9, etas=[1.0, 0.5]), r"etas violates .* T2"),
    (lambda: B.pmd_t7_cen_q(3, 1.0, 2.0, 0.1, 0.9), r"eta_c violates .* T7"),
    (lambda: B.pmd_t5_adaptive(2, 1.0, 1.0, 0.9, etas=[0.1, 0.1],
                               log_inv_pi_greedy=[1.0, 1.0]), r"etas violates .* T5"),
])
def test_bounds_warn_and_return_nan_when_the_step_condition_fails(call, match):
    with pytest.warns(UserWarning, match=match):
        assert math.isnan(call())


@pytest.mark.parametrize("call,match", [
    (lambda: B.pmd_t2_sublinear(3, 1.0, 0.0, 0.9), r"eta0 must be > 0"),
    (lambda: B.pmd_t6_regularized(3, 1.0, 1.0, 1.0, 0.0, 0.9), r"tau must be > 0"),
    (lambda: B.pmd_t3_linear(3, 1.0, 1.0, 1.0, 1.0, 0.9), r"theta must be > 1.0"),
    (lambda: B.pmd_t4_gamma_rate(-1, 1.0, 1.0, 1.0, 0.9), r"k must be iteration counts"),
    (lambda: B.pmd_t2_sublinear(3, -1.0, 1.0, 0.9), r"D0 must be >= 0"),
    (lambda: B.pmd_t2_sublinear(3, 1.0, 1.0, 1.0), r"gamma must be < 1.0"),
    (lambda: B.pmd_t2_sublinear(3, 1.0, 1.0, 0.9, etas=[1.0, -1.0]), r"etas\[1\] is -1"),
])
def test_bounds_refuse_bad_parameters(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- Tsallis variant


def _tsallis_cvxpy(p0, Q, eta, q):
    """The Tsallis mirror step as a convex program, solved by cvxpy (an independent solve)."""
    cp = pytest.importorskip("cvxpy")
    p = cp.Variable(p0.size, nonneg=True)
    grad0 = q * p0 ** (q - 1.0) / (q - 1.0)
    # -D_psi(p, p0) up to constants: -psi(p) + <grad psi(p0), p>; psi(p) = (sum p^q - 1)/(q - 1)
    neg_psi = (cp.sum(cp.power(p, q)) / (1.0 - q))
    prob = cp.Problem(cp.Maximize(eta * Q @ p + neg_psi + grad0 @ p), [cp.sum(p) == 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # "may be inaccurate" at 1e-12
        prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    ref = np.maximum(np.asarray(p.value), 0.0)
    return ref / ref.sum()


def _tsallis_objective(p, p0, Q, eta, q):
    """eta <Q, p> - D_psi(p, p0), psi(p) = (sum p^q - 1)/(q - 1), in plain numpy."""
    def psi(x):
        return (np.sum(x ** q) - 1.0) / (q - 1.0)
    grad0 = q * p0 ** (q - 1.0) / (q - 1.0)
    return eta * Q @ p - (psi(p) - psi(p0) - grad0 @ (p - p0))


@pytest.mark.parametrize("q", [0.5, 1.5, 2.0, 3.0])
def test_tsallis_step_matches_a_convex_solver(q):
    rng = np.random.default_rng(int(q * 10))
    S, A = 6, 4
    pi = rng.dirichlet(np.ones(A), size=S)
    Q = rng.normal(scale=2.0, size=(S, A))
    for eta in (0.1, 1.0, 5.0):
        got = np.exp(M.tsallis_step(np.log(pi), Q, eta, q))
        assert np.allclose(got.sum(axis=1), 1.0, atol=1e-12)
        for s in range(S):
            ref = _tsallis_cvxpy(pi[s], Q[s], eta, q)
            # the exact step is at least as good as the solver's point, and close to it
            f_got = _tsallis_objective(got[s], pi[s], Q[s], eta, q)
            f_ref = _tsallis_objective(ref, pi[s], Q[s], eta, q)
            assert f_got >= f_ref - 1e-10, (q, eta, s, f_got, f_ref)
            assert np.abs(got[s] - ref).max() <= 1e-4, (q, eta, s, got[s], ref)


def _simplex_projection(y):
    """Euclidean projection onto the simplex by sorting (Held, Wolfe & Crowder 1974)."""
    u = np.sort(y)[::-1]
    css = np.cumsum(u)
    k = np.flatnonzero(u - (css - 1.0) / np.arange(1, y.size + 1) > 0)[-1]
    return np.maximum(y - (css[k] - 1.0) / (k + 1), 0.0)


def test_tsallis_step_q2_is_the_euclidean_projection_and_sparse():
    rng = np.random.default_rng(3)
    pi = rng.dirichlet(np.ones(5), size=8)
    Q = rng.normal(size=(8, 5))
    got = np.exp(M.tsallis_step(np.log(pi), Q, 3.0, 2.0))
    ref = np.array([_simplex_projection(pi[s] + 3.0 * Q[s] / 2.0) for s in range(8)])
    assert np.abs(got - ref).max() <= 1e-12
    assert (got == 0).any()                     # q > 1 steps can leave actions


def test_tsallis_step_tends_to_the_kl_step_as_q_tends_to_1():
    rng = np.random.default_rng(4)
    pi = rng.dirichlet(np.ones(3), size=4)
    Q = rng.normal(size=(4, 3))
    kl = np.exp(M.pmd_step(np.log(pi), Q, 0.7))
    for q in (1 - 1e-5, 1 + 1e-5):
        assert np.abs(np.exp(M.tsallis_step(np.log(pi), Q, 0.7, q)) - kl).max() <= 1e-4


def test_tsallis_step_keeps_the_support_for_q_below_1():
    log_pi = np.array([[np.log(0.5), np.log(0.5), -np.inf]])
    out = M.tsallis_step(log_pi, np.array([[0.0, 1.0, 5.0]]), 2.0, 0.5)
    assert out[0, 2] == -np.inf and np.exp(out[0, :2]).sum() == pytest.approx(1.0, abs=1e-12)


def test_tsallis_pmd_improves_monotonically_and_converges():
    """Exact PMD with any Bregman mirror map improves every state's value at every step (the
    three-point argument of Xiao 2022 only uses the prox step's optimality), and converges to V*
    (policy iteration, an independent solver)."""
    mdp = random_mdp(5, S=6, A=3)
    V_star = value_iteration(mdp, tol=1e-13).V
    for q in (0.5, 2.0):
        res = M.tsallis_policy_mirror_descent(mdp, 300, eta=5.0, q=q)
        assert np.all(np.diff(res.values, axis=0) >= -1e-10)
        assert res.gaps[0] > 0.1
        assert float(mdp.rho0 @ (V_star - res.V)) <= 1e-3 * res.gaps[0]


def test_tsallis_rejects_bad_input():
    lp = np.log(np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="q"):
        M.tsallis_step(lp, np.zeros((2, 2)), 1.0, 1.0)
    with pytest.raises(ValueError, match="q"):
        M.tsallis_policy_mirror_descent(random_mdp(0), 3, q=1.0)
    with pytest.raises(ValueError, match="q"):
        M.tsallis_step(lp, np.zeros((2, 2)), 1.0, -0.5)
    with pytest.raises(ValueError, match="eta"):
        M.tsallis_step(lp, np.zeros((2, 2)), 0.0, 2.0)
    with pytest.raises(ValueError, match="Q"):
        M.tsallis_step(lp, np.zeros((3, 2)), 1.0, 2.0)
