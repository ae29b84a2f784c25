"""Finite-horizon solvers against independent computations: brute-force enumeration of
deterministic Markov policies, an einsum reference recursion, occupancy identities, and the
closed form of the soft (KL-regularised) backup."""
import itertools

import numpy as np
import pytest

from mdptheory.models import LinearMDP
from mdptheory.models.policies import deterministic, uniform
from mdptheory.solvers.finite import (backward_induction, evaluate_finite_policy,
                                      evaluate_static_finite, occupancy_measure,
                                      soft_backward_induction, soft_evaluate_policy)


def einsum_evaluate(P, r, pi):
    """Slow obvious reference: V_h = sum_a pi (r + P V_{h+1})."""
    H, S, A, _ = P.shape
    V = np.zeros((H + 1, S))
    for h in reversed(range(H)):
        Q = r[h] + np.einsum("sat,t->sa", P[h], V[h + 1])
        V[h] = (pi[h] * Q).sum(-1)
    return V


@pytest.mark.parametrize("seed", range(6))
def test_backward_induction_equals_best_deterministic_policy_by_enumeration(finite_mdp_factory, seed):
    mdp = finite_mdp_factory(seed, H=2, S=3, A=2, sparse_frac=0.3 * (seed % 2))
    sol = backward_induction(mdp)
    best = np.full(mdp.S, -np.inf)
    for acts in itertools.product(range(mdp.A), repeat=mdp.H * mdp.S):   # 2^6 policies
        pi = deterministic(np.array(acts).reshape(mdp.H, mdp.S), mdp.A)
        best = np.maximum(best, einsum_evaluate(mdp.P, mdp.r, pi)[0])
    np.testing.assert_allclose(sol.V[0], best, atol=1e-12)
    # the returned policy attains the optimum everywhere and is deterministic
    np.testing.assert_allclose(evaluate_finite_policy(mdp, sol.pi).V, sol.V, atol=1e-12)
    assert set(np.unique(sol.pi)) <= {0.0, 1.0}
    assert np.all(sol.V[-1] == 0.0)


@pytest.mark.parametrize("seed", range(4))
def test_evaluate_policy_matches_einsum_reference(finite_mdp_factory, seed):
    mdp = finite_mdp_factory(seed, H=4, S=5, A=3)
    pi = np.random.default_rng(seed).dirichlet(np.ones(3), size=(4, 5))
    res = evaluate_finite_policy(mdp, pi)
    np.testing.assert_allclose(res.V, einsum_evaluate(mdp.P, mdp.r, pi), atol=1e-12)
    np.testing.assert_allclose(res.Q[1], mdp.r[1] + mdp.P[1] @ res.V[2], atol=1e-12)


def test_stationary_policy_is_broadcast_and_linear_mdp_accepted():
    rng = np.random.default_rng(1)
    phi = rng.dirichlet(np.ones(2), size=(3, 2))
    lin = LinearMDP(phi, rng.dirichlet(np.ones(3), size=(4, 2)), rng.random((4, 2)), np.ones(3) / 3)
    pi = rng.dirichlet(np.ones(2), size=3)
    a = evaluate_finite_policy(lin, pi)
    b = evaluate_finite_policy(lin.to_finite(), np.broadcast_to(pi, (4, 3, 2)))
    np.testing.assert_allclose(a.V, b.V, atol=1e-14)


def test_occupancy_measure_identities(finite_mdp_factory):
    mdp = finite_mdp_factory(7, H=5, S=4, A=3)
    pi = np.random.default_rng(0).dirichlet(np.ones(3), size=(5, 4))
    d = occupancy_measure(mdp, pi)
    np.testing.assert_allclose(d.sum(axis=(1, 2)), 1.0, atol=1e-13)
    np.testing.assert_allclose(d[0].sum(-1), mdp.rho0, atol=1e-15)
    # V^pi(rho0) = sum_{h,s,a} d_h(s,a) r_h(s,a)
    V = evaluate_finite_policy(mdp, pi).V
    assert abs((d * mdp.r).sum() - mdp.rho0 @ V[0]) < 1e-12
    # flow conservation: d_{h+1}(s') = sum_{s,a} d_h(s,a) P_h(s'|s,a)
    np.testing.assert_allclose(d[3].sum(-1), np.einsum("sa,sat->t", d[2], mdp.P[2]), atol=1e-14)


def test_soft_backup_closed_form_one_step():
    """H = 1: V(s) = lam log sum_a ref(a) exp(r(s,a)/lam) exactly."""
    from mdptheory.models import FiniteHorizonMDP
    r = np.array([[[0.2, 0.9, 0.5]]])
    mdp = FiniteHorizonMDP(np.ones((1, 1, 3, 1)), r, [1.0])
    ref = np.array([[[0.5, 0.25, 0.25]]])
    lam = 0.3
    sol = soft_backward_induction(mdp, ref, lam)
    want = lam * np.log(np.sum(ref[0, 0] * np.exp(r[0, 0] / lam)))
    assert abs(sol.V[0, 0] - want) < 1e-14
    w = ref[0, 0] * np.exp(r[0, 0] / lam)
    np.testing.assert_allclose(sol.pi[0, 0], w / w.sum(), atol=1e-14)


@pytest.mark.parametrize("seed", range(3))
def test_soft_optimum_dominates_and_is_attained(finite_mdp_factory, seed):
    mdp = finite_mdp_factory(seed, H=3, S=4, A=3)
    rng = np.random.default_rng(seed + 10)
    ref = rng.dirichlet(np.ones(3), size=(3, 4))
    lam = 0.2
    sol = soft_backward_induction(mdp, ref, lam)
    own = soft_evaluate_policy(mdp, sol.pi, ref, lam)
    np.testing.assert_allclose(own.V, sol.V, atol=1e-12)
    for _ in range(20):
        other = rng.dirichlet(np.ones(3), size=(3, 4))
        assert np.all(soft_evaluate_policy(mdp, other, ref, lam).V[0] <= sol.V[0] + 1e-12)


def test_soft_tends_to_hard_as_lam_vanishes(finite_mdp_factory):
    mdp = finite_mdp_factory(3, H=4, S=4, A=3)
    hard = backward_induction(mdp).V
    ref = uniform(4, 4, 3)
    gaps = [np.abs(soft_backward_induction(mdp, ref, lam).V - hard).max()
            for lam in (1e-1, 1e-2, 1e-3, 1e-5)]
    assert gaps[-1] < 1e-4 * 4 * np.log(3) * 10
    assert all(g1 >= g2 - 1e-15 for g1, g2 in zip(gaps, gaps[1:]))
    # soft value with uniform ref is within lam * H * log A of the hard optimum (from below)
    lam = 0.05
    soft = soft_backward_induction(mdp, ref, lam).V
    assert np.all(soft <= hard + 1e-12) and np.all(hard - soft <= lam * 4 * np.log(3) + 1e-12)


def test_soft_is_stable_for_tiny_lam(finite_mdp_factory):
    mdp = finite_mdp_factory(2, H=20, S=3, A=2)
    sol = soft_backward_induction(mdp, uniform(20, 3, 2), 1e-8)
    assert np.all(np.isfinite(sol.V)) and np.all(np.isfinite(sol.pi))


def test_evaluate_static_equals_evaluation_in_replaced_model(finite_mdp_factory):
    mdp = finite_mdp_factory(4, H=3, S=4, A=2)
    other = finite_mdp_factory(5, H=3, S=4, A=2)
    pi = uniform(3, 4, 2)
    a = evaluate_static_finite(mdp, pi, other.P)
    b = evaluate_finite_policy(mdp.replace(P=other.P), pi)
    np.testing.assert_allclose(a.V, b.V, atol=1e-14)
    c = evaluate_static_finite(mdp, pi, other.P[0])      # stationary (S, A, S) broadcast
    d = evaluate_finite_policy(mdp.replace(P=np.broadcast_to(other.P[0], other.P.shape)), pi)
    np.testing.assert_allclose(c.V, d.V, atol=1e-14)


def test_solver_input_errors(finite_mdp_factory):
    mdp = finite_mdp_factory(0, H=2, S=3, A=2)
    bad_pi = uniform(2, 3, 2)
    bad_pi[1, 2] = [0.7, 0.7]
    with pytest.raises(ValueError, match=r"pi\[1, 2\] sums to 1\.4"):
        evaluate_finite_policy(mdp, bad_pi)
    with pytest.raises(ValueError, match=r"pi must be action probabilities of shape \(2, 3, 2\)"):
        evaluate_finite_policy(mdp, uniform(2, 3, 3))
    with pytest.raises(ValueError, match="lam must be > 0.0"):
        soft_backward_induction(mdp, uniform(2, 3, 2), 0.0)
    with pytest.raises(ValueError, match=r"ref_policy\[0, 0, 1\] is -0\.5"):
        soft_backward_induction(mdp, np.broadcast_to([1.5, -0.5], (2, 3, 2)), 1.0)
    with pytest.raises(TypeError, match="mdp must be a FiniteHorizonMDP or LinearMDP"):
        backward_induction("not a model")
    with pytest.raises(ValueError, match=r"P_alt\[0, 0\] sums to 1\.5"):
        evaluate_static_finite(mdp, bad_pi * 0 + 0.5, np.full((3, 2, 3), 0.5))
