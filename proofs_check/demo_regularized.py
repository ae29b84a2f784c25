"""Lemmas behind demonstration-regularized RL (Tiapkin et al. 2024, "Demonstration-Regularized
RL", ICLR 2024; docs/papers/demo_regularized.md), checked on random instances. The soft Bellman
facts are textbook; the reduction inequality has the structure of the paper's reduction (our
proof); the certificate and the BC bound are our derivations for our reconstruction.

* Soft Bellman = log-sum-exp backup: lam log sum_a ref(a) exp(Q(a)/lam) =
  max_q <q, Q> - lam KL(q || ref), attained by the Gibbs policy; the package's optimistic soft
  backup with no bonus is the exact KL-regularised solver.
* Regularized values (consequences of KL >= 0): V^pi_lam <= V^pi, V*_lam <= V*, V^ref_lam = V^ref,
  V*_lam decreasing in lam and -> V* as lam -> 0; and the identity
  V*_lam - V^pi_lam = lam KL_traj(pi || pi*_lam) (regularized gap = lam x trajectory KL to the
  soft-optimal policy; the reason the regularized problem has a fast rate).
* The reduction inequality, for every policy pi^RL and every lam >= 0.
* Optimism and the gap certificate of our tabular solver, deterministic core: with
  any model P_hat and bonus b_h = (H - h - 1) ||P_hat_h - P_h||_1, the clipped optimistic soft
  values dominate V*_lam, and the certificate with c_h = 2 b_h + D_{h+1} ||P_hat_h - P_h||_1
  bounds the true regularized gap of the plan's policy.
* BC error vs N^E (add-kappa BC): for a deterministic expert, E[KL_traj(pi^E || pi^BC)] is
  decreasing in N^E (exact, via the binomial visit counts); for stochastic experts it is NOT
  monotone in general (a near-uniform expert is matched best by the N = 0 uniform policy; the
  counterexample is checked); the expectation bound E KL <= (kappa A - 1) sum_h |supp d_h| /
  (N^E + 1) for kappa >= 1 (derived in mdptheory.bounds.demo_regularized) holds exactly.
"""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom, multinomial

from mdptheory.algorithms import demo_regularized as dr
from mdptheory.bounds.demo_regularized import bc_kl_expected_bound
from mdptheory.kernels import demo_regularized as kdr
from mdptheory.solvers.finite import (
    backward_induction,
    evaluate_finite_policy,
    occupancy_measure,
    soft_backward_induction,
    soft_evaluate_policy,
)
from mdptheory.testing import examples
from mdptheory.testing import strategies as mst

pytestmark = pytest.mark.property

MANY = examples(60)
FEW = examples(20)


def _full_support(pi, w=0.1):
    return (1.0 - w) * pi + w / pi.shape[-1]


def _val(mdp, pi):
    return evaluate_finite_policy(mdp, pi).value(mdp.rho0)


def _soft(mdp, pi, ref, lam):
    return soft_evaluate_policy(mdp, pi, ref, lam).value(mdp.rho0)


# ------------------------------------------------------------------------- soft Bellman
@MANY
@given(st.integers(1, 6), st.data())
def test_soft_bellman_is_the_log_sum_exp_backup(A, data):
    rng = np.random.default_rng(data.draw(mst.seeds(), label="seed"))
    Q = rng.normal(size=A) * data.draw(st.sampled_from([0.1, 1.0, 10.0]), label="scale")
    ref = _full_support(rng.dirichlet(np.ones(A)))
    lam = data.draw(mst.lams(1e-2, 1e2), label="lam")
    lse = lam * np.log(np.sum(ref * np.exp((Q - Q.max()) / lam))) + Q.max()
    gibbs = ref * np.exp((Q - lse) / lam)
    assert gibbs.sum() == pytest.approx(1.0, abs=1e-9)
    pos = gibbs > 0                                     # 0 log 0 = 0 (underflowed weights)
    attained = gibbs @ Q - lam * np.sum(gibbs[pos] * np.log(gibbs[pos] / ref[pos]))
    assert attained == pytest.approx(lse, abs=1e-9 * (1 + abs(lse)))
    for q in rng.dirichlet(np.ones(A), size=50):                            # the max
        kl = np.sum(np.where(q > 0, q * np.log(np.maximum(q, 1e-300) / ref), 0.0))
        assert q @ Q - lam * kl <= lse + 1e-9 * (1 + abs(lse))


@MANY
@given(mst.finite_mdps(max_S=5, max_A=4, max_H=4), st.data())
def test_optimistic_backup_without_bonus_is_the_exact_soft_solver(mdp, data):
    ref = _full_support(data.draw(mst.policies(mdp.H, mdp.S, mdp.A), label="ref"))
    lam = data.draw(mst.lams(1e-2, 1e2), label="lam")
    V, _, pi = dr.regularized_plan(mdp.P, mdp.r, ref, lam)
    sol = soft_backward_induction(mdp, ref, lam)
    assert np.abs(V - sol.V).max() <= 1e-10 * (1 + np.abs(sol.V).max())
    assert np.abs(pi - sol.pi).max() <= 1e-10


@MANY
@given(mst.finite_mdps(max_S=5, max_A=3, max_H=4), st.data())
def test_regularized_value_facts(mdp, data):
    ref = _full_support(data.draw(mst.policies(mdp.H, mdp.S, mdp.A), label="ref"))
    pi = data.draw(mst.policies(mdp.H, mdp.S, mdp.A), label="pi")
    lam = data.draw(mst.lams(1e-2, 1e1), label="lam")
    v_star = backward_induction(mdp).value(mdp.rho0)
    v_lam = soft_backward_induction(mdp, ref, lam).value(mdp.rho0)
    tol = 1e-10 * (1 + mdp.H)
    assert _soft(mdp, pi, ref, lam) <= _val(mdp, pi) + tol                   # V^pi_lam <= V^pi
    assert v_lam <= v_star + tol                                             # V*_lam <= V*
    assert _soft(mdp, ref, ref, lam) == pytest.approx(_val(mdp, ref), abs=tol)
    assert _soft(mdp, pi, ref, lam) <= v_lam + tol                           # optimality
    v_lam2 = soft_backward_induction(mdp, ref, 2.0 * lam).value(mdp.rho0)
    assert v_lam2 <= v_lam + tol                                             # decreasing in lam
    v_small = soft_backward_induction(mdp, ref, 1e-4).value(mdp.rho0)        # -> V* as lam -> 0
    assert v_star - v_small <= 1e-4 * mdp.H * np.log(1.0 / ref.min()) + tol


@MANY
@given(mst.finite_mdps(max_S=5, max_A=3, max_H=4), st.data())
def test_regularized_gap_is_lam_times_kl_to_the_soft_optimum(mdp, data):
    ref = _full_support(data.draw(mst.policies(mdp.H, mdp.S, mdp.A), label="ref"))
    pi = _full_support(data.draw(mst.policies(mdp.H, mdp.S, mdp.A), label="pi"), 0.01)
    lam = data.draw(mst.lams(1e-1, 1e1), label="lam")
    sol = soft_backward_induction(mdp, ref, lam)
    gap = sol.value(mdp.rho0) - _soft(mdp, pi, ref, lam)
    kl = dr.trajectory_kl(mdp, pi, sol.pi)
    assert gap == pytest.approx(lam * kl, rel=1e-7, abs=1e-9 * (1 + mdp.H))


# ------------------------------------------------------------------------ reduction
@MANY
@given(mst.finite_mdps(max_S=5, max_A=3, max_H=4), st.data())
def test_reduction_inequality(mdp, data):
    expert = data.draw(mst.policies(mdp.H, mdp.S, mdp.A), label="expert")
    bc = _full_support(data.draw(mst.policies(mdp.H, mdp.S, mdp.A), label="bc"),
                       data.draw(st.sampled_from([1e-3, 0.1, 0.5]), label="smoothing"))
    pi_rl = data.draw(mst.policies(mdp.H, mdp.S, mdp.A), label="pi_rl")
    lam = data.draw(st.one_of(st.just(0.0), mst.lams(1e-3, 1e2)), label="lam")
    v_star = backward_induction(mdp).value(mdp.rho0)
    eps_e = v_star - _val(mdp, expert)
    kl = dr.trajectory_kl(mdp, expert, bc)
    tol = 1e-9 * (1 + mdp.H)
    if lam == 0.0:
        v_lam, reg_val = dr.regularized_optimum(mdp, bc, 0.0)[0][0] @ mdp.rho0, _val(mdp, pi_rl)
    else:
        v_lam = soft_backward_induction(mdp, bc, lam).value(mdp.rho0)
        reg_val = _soft(mdp, pi_rl, bc, lam)
    lhs = v_star - _val(mdp, pi_rl)
    assert lhs <= eps_e + lam * kl + (v_lam - reg_val) + tol
    if lam > 0:                                                 # pi^RL = pi*_lam: no RL error
        pi_star_lam = soft_backward_induction(mdp, bc, lam).pi
        assert v_star - _val(mdp, pi_star_lam) <= eps_e + lam * kl + tol


# --------------------------------------------------- optimism and the certificate
@FEW
@given(mst.finite_mdps(max_S=4, max_A=3, max_H=4), st.data())
def test_optimism_and_certificate_with_valid_bonuses(mdp, data):
    H, S, A = mdp.H, mdp.S, mdp.A
    rng = np.random.default_rng(data.draw(mst.seeds(), label="seed"))
    mix = data.draw(st.sampled_from([0.0, 0.05, 0.3, 1.0]), label="model error")
    P_hat = (1 - mix) * np.asarray(mdp.P) + mix * rng.dirichlet(np.ones(S), size=(H, S, A))
    width = np.abs(P_hat - mdp.P).sum(-1)                             # ||P_hat - P||_1
    bonus = (H - np.arange(H) - 1.0)[:, None, None] * width          # >= |(P_hat - P) V|
    ref = _full_support(data.draw(mst.policies(H, S, A), label="ref"))
    lam = data.draw(mst.lams(1e-2, 1e1), label="lam")
    V_bar, _, pi = dr.regularized_plan(P_hat, mdp.r, ref, lam, bonus=bonus)
    sol = soft_backward_induction(mdp, ref, lam)
    tol = 1e-9 * (1 + H)
    assert np.all(V_bar >= sol.V - tol)                                       # optimism
    d_max = dr.deviation_bounds(H)
    c = 2.0 * bonus + d_max[1:, None, None] * width
    G = np.empty((H, S, A))
    w0 = kdr.gap_certificate(np.ascontiguousarray(P_hat), np.ones((H, S, A)), c, pi, d_max, G)
    true_gap = sol.value(mdp.rho0) - _soft(mdp, pi, ref, lam)
    assert mdp.rho0 @ w0 >= true_gap - tol
    assert mdp.rho0 @ w0 >= mdp.rho0 @ V_bar[0] - _soft(mdp, pi, ref, lam) - tol


# --------------------------------------------------------------------------- BC error
def _expected_kl_given_n(p, n, kappa):
    """E over counts ~ Multinomial(n, p) of KL(p || (counts + kappa) / (n + kappa A)), exact."""
    A = p.size
    tot = 0.0
    for c in itertools.product(range(n + 1), repeat=A - 1):
        if sum(c) > n:
            continue
        cnt = np.array(c + (n - sum(c),))
        q = (cnt + kappa) / (n + kappa * A)
        m = p > 0
        tot += multinomial.pmf(cnt, n, p) * float(np.sum(p[m] * np.log(p[m] / q[m])))
    return tot


def _expected_traj_kl(mdp, expert, N, f):
    """E[KL_traj(pi^E || pi^BC)] with N^E = N: sum_{h,s} d_h(s) E_{n ~ Bin(N, d_h(s))} f(h,s,n)."""
    d = occupancy_measure(mdp, expert).sum(-1)
    tot = 0.0
    for h, s in zip(*np.nonzero(d > 0)):
        n = np.arange(N + 1)
        tot += d[h, s] * float(binom.pmf(n, N, min(d[h, s], 1.0)) @ [f(h, s, k) for k in n])
    return tot


@FEW
@given(mst.finite_mdps(max_S=4, max_A=3, max_H=3), st.data())
def test_bc_error_is_monotone_in_NE_for_deterministic_experts(mdp, data):
    expert = data.draw(mst.policies(mdp.H, mdp.S, mdp.A, deterministic=True), label="expert")
    kappa = data.draw(st.sampled_from([0.1, 0.5, 1.0, 2.0]), label="kappa")
    A = mdp.A

    def f(h, s, n):                     # exact: KL(e_a || (e_a n + kappa) / (n + kappa A))
        return math.log((n + kappa * A) / (n + kappa))

    vals = [_expected_traj_kl(mdp, expert, N, f) for N in range(12)]
    assert np.all(np.diff(vals) <= 1e-12)
    support = int((occupancy_measure(mdp, expert).sum(-1) > 0).sum())
    if kappa >= 1.0:
        for N, v in enumerate(vals):
            assert v <= bc_kl_expected_bound(support, A, N, kappa) + 1e-12


def test_bc_error_is_not_monotone_for_a_near_uniform_expert():
    # N^E = 0 gives the uniform policy, which matches a near-uniform expert best: the expected
    # KL first *increases* with the data (counterexample to "monotone in N^E" in general).
    p = np.array([0.48, 0.52])
    f = [_expected_kl_given_n(p, n, 2.0) for n in range(6)]
    assert f[1] > f[0] + 1e-3 and f[4] > f[1]
    assert f[5] < f[4]                                      # ... before it starts to decrease


@FEW
@given(st.integers(2, 3), st.integers(0, 7), st.sampled_from([1.0, 1.5, 2.0]), st.data())
def test_bc_expected_kl_bound_per_state(A, n, kappa, data):                  # bounds module
    rng = np.random.default_rng(data.draw(mst.seeds(), label="seed"))
    p = rng.dirichlet(np.ones(A) * data.draw(st.sampled_from([0.2, 1.0, 5.0]), label="alpha"))
    e = _expected_kl_given_n(p, n, kappa)
    assert e <= math.log((n + kappa * A) / (n + 1)) + 1e-12
    assert e <= (kappa * A - 1) / (n + 1) + 1e-12


@FEW
@given(mst.finite_mdps(max_S=3, max_A=2, max_H=2), st.data())
def test_bc_expected_kl_bound_trajectory_level(mdp, data):                   # bounds module
    expert = _full_support(data.draw(mst.policies(mdp.H, mdp.S, mdp.A), label="expert"), 0.05)
    kappa = data.draw(st.sampled_from([1.0, 2.0]), label="kappa")
    N = data.draw(st.integers(0, 6), label="N")

    def f(h, s, n):
        return _expected_kl_given_n(expert[h, s], n, kappa)

    support = int((occupancy_measure(mdp, expert).sum(-1) > 0).sum())
    assert _expected_traj_kl(mdp, expert, N, f) <= \
        bc_kl_expected_bound(support, mdp.A, N, kappa) + 1e-12
