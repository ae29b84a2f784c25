"""The cvxpy LP agrees with dynamic programming for both model kinds."""
import numpy as np
import pytest

from mdptheory.kernels import backward as kb
from mdptheory.models import DiscountedMDP, FiniteHorizonMDP, SparseTransitions
from mdptheory.solvers import discounted as D
from mdptheory.solvers.lp import solve_lp


def random_discounted(seed, S=6, A=3, gamma=0.9, zero_frac=0.0):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S))
    if zero_frac:
        P[rng.random(P.shape) < zero_frac] = 0.0
        P[:, :, 0] += P.sum(axis=2) == 0
    P /= P.sum(axis=2, keepdims=True)
    return DiscountedMDP(P=P, r=rng.random((S, A)), gamma=gamma)


def random_finite(seed, H=4, S=5, A=3):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    return FiniteHorizonMDP(P=P, r=rng.random((H, S, A)), rho0=rng.dirichlet(np.ones(S)))


def backward_induction(mdp):
    V = np.zeros((mdp.H + 1, mdp.S))
    Q = np.empty((mdp.H, mdp.S, mdp.A))
    kb.backward_induction(mdp.P, mdp.r, V, Q)
    return V, Q


@pytest.mark.parametrize("seed, S, A, gamma", [(0, 4, 2, 0.5), (1, 10, 3, 0.9),
                                               (2, 25, 4, 0.99), (3, 12, 3, 0.999)])
def test_lp_equals_vi_pi_mpi_on_random_discounted_mdps(seed, S, A, gamma):
    mdp = random_discounted(seed, S, A, gamma, zero_frac=0.4)
    lp = solve_lp(mdp)
    polished = solve_lp(mdp, polish=True)
    pi_sol = D.policy_iteration(mdp)
    assert lp.info["solver"] == "CLARABEL" and lp.info["status"] == "optimal"
    assert not lp.info["polished"] and polished.info["polished"]
    np.testing.assert_allclose(lp.V, pi_sol.V, rtol=0, atol=1e-8)          # raw LP
    np.testing.assert_allclose(polished.V, pi_sol.V, rtol=0, atol=1e-10)   # exact greedy value
    for sol in (D.value_iteration(mdp, tol=1e-10),
                D.modified_policy_iteration(mdp, tol=1e-10)):
        np.testing.assert_allclose(lp.V, sol.V, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(lp.pi, pi_sol.pi)
    np.testing.assert_allclose(lp.Q, mdp.r + gamma * mdp.P @ lp.V, atol=1e-12)
    assert np.abs(lp.V - pi_sol.V).max() <= lp.error_bound + 1e-12


def test_lp_accepts_small_sparse_models_and_matches_dense():
    dense = random_discounted(4, S=15, A=3, gamma=0.95, zero_frac=0.8)
    sparse = dense.replace(P=SparseTransitions.from_dense(dense.P))
    np.testing.assert_allclose(solve_lp(sparse).V, solve_lp(dense).V, atol=1e-10)


@pytest.mark.parametrize("seed, H, S, A", [(10, 1, 3, 2), (11, 4, 5, 3), (12, 7, 6, 4)])
def test_lp_equals_backward_induction_on_random_finite_mdps(seed, H, S, A):
    mdp = random_finite(seed, H, S, A)
    V, Q = backward_induction(mdp)
    lp = solve_lp(mdp)
    assert lp.V.shape == (H + 1, S) and lp.Q.shape == (H, S, A) and lp.pi.shape == (H, S, A)
    assert (lp.V[H] == 0).all()
    np.testing.assert_allclose(lp.V, V, rtol=0, atol=1e-8)
    np.testing.assert_allclose(lp.Q, Q, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(lp.pi.argmax(axis=2), Q.argmax(axis=2))
    assert np.abs(lp.V[0] - V[0]).max() <= lp.error_bound + 1e-12
    polished = solve_lp(mdp, polish=True)
    np.testing.assert_allclose(polished.V, V, rtol=0, atol=1e-12)


def test_lp_pins_unreachable_states_of_stationary_finite_models():
    # state 2 is never reached from rho0, but every V_h(s) is in the objective
    P = np.zeros((3, 2, 3))
    P[:2, 0, 0] = 1.0
    P[:2, 1, 1] = 1.0
    P[2, :, 2] = 1.0                                          # state 2 is absorbing
    r = np.array([[0.2, 0.1], [0.0, 0.5], [1.0, 0.3]])
    mdp = FiniteHorizonMDP.stationary(P, r, H=3, rho0=np.array([1.0, 0.0, 0.0]))
    V, _ = backward_induction(mdp)
    lp = solve_lp(mdp)
    np.testing.assert_allclose(lp.V, V, atol=1e-9)
    np.testing.assert_allclose(lp.V[:, 2], [3.0, 2.0, 1.0, 0.0], atol=1e-9)


def test_lp_refuses_large_sparse_models_and_bad_arguments():
    S = 5001
    idx = np.zeros((S, 1, 1), dtype=np.int64)
    big = DiscountedMDP(P=SparseTransitions(idx, np.ones((S, 1, 1)), S), r=np.zeros((S, 1)),
                        gamma=0.9)
    with pytest.raises(ValueError, match=r"sparse models only up to S=5000 .*S=5001"):
        solve_lp(big)
    small = random_discounted(5, S=3, A=2)
    with pytest.raises(TypeError, match=r"mdp must be a FiniteHorizonMDP or DiscountedMDP"):
        solve_lp(small.P)
    with pytest.raises(TypeError, match=r"polish must be True or False"):
        solve_lp(small, polish="yes")
    with pytest.raises(ValueError, match=r"solver 'GUROBI_X' is not installed"):
        solve_lp(small, solver="GUROBI_X")
    with pytest.raises(TypeError, match=r"solver must be a cvxpy solver name"):
        solve_lp(small, solver=3)


def test_lp_with_highs_is_within_its_own_tolerance():
    mdp = random_discounted(6, S=8, A=3, gamma=0.9)
    lp = solve_lp(mdp, solver="highs")
    assert lp.info["solver"] == "HIGHS"
    np.testing.assert_allclose(lp.V, D.policy_iteration(mdp).V, atol=1e-6)
