"""Converters from mdptoolbox and QuantEcon: their examples solve without glue and match the
values published in the peers' documentation and tests (cited at each test)."""
import numpy as np
import pytest
from scipy import sparse

import mdptheory as mt
from mdptheory import solvers
from mdptheory.models import DiscountedMDP

mdptoolbox_example = pytest.importorskip("hiive.mdptoolbox.example")
mdptoolbox_mdp = pytest.importorskip("hiive.mdptoolbox.mdp")
quantecon_markov = pytest.importorskip("quantecon.markov")


def _puterman_621():
    """QuantEcon's tests/test_ddp.py, TestDiscreteDP.setup_method: Puterman (2005) Example 6.2.1
    (state 1 has a single action; R = -inf marks the infeasible one), beta = 0.95, in the product
    form and in the state-action-pair form (sparse and dense Q)."""
    DiscreteDP = quantecon_markov.DiscreteDP
    beta = 0.95
    R = [[5, 10], [-1, -np.inf]]
    Q = np.empty((2, 2, 2))
    Q[0, 0, :] = 0.5, 0.5
    Q[0, 1, :] = 0, 1
    Q[1, :, :] = 0, 1
    s_indices, a_indices = [0, 0, 1], [0, 1, 0]
    Q_sa = sparse.lil_matrix((3, 2))
    Q_sa[0, :], Q_sa[1, :], Q_sa[2, :] = Q[0, 0], Q[0, 1], Q[1, 0]
    ddps = [DiscreteDP(R, Q, beta), DiscreteDP([5, 10, -1], Q_sa, beta, s_indices, a_indices),
            DiscreteDP([5, 10, -1], Q_sa.toarray(), beta, s_indices, a_indices)]
    # "Analytical solution for beta > 10/11, Example 6.2.1" (same test file)
    v_star = [(5 - 5.5 * beta) / ((1 - 0.5 * beta) * (1 - beta)), -1 / (1 - beta)]
    return ddps, np.array(v_star), [0, 0]


def test_puterman_621_with_its_infeasible_action_from_quantecon():
    ddps, v_star, sigma_star = _puterman_621()
    for ddp in ddps:
        mdp = mt.from_quantecon(ddp)
        np.testing.assert_array_equal(mdp.mask, [[True, True], [True, False]])
        for sol in (solvers.policy_iteration(mdp), solvers.value_iteration(mdp, tol=1e-10),
                    solvers.modified_policy_iteration(mdp, tol=1e-10), solvers.solve_lp(mdp)):
            np.testing.assert_allclose(sol.V, v_star, atol=1e-8)
            np.testing.assert_array_equal(sol.pi.argmax(1), sigma_star)
            assert sol.Q[1, 1] == -np.inf
        # and back: QuantEcon's own solver on our export gives the same values
        back = mt.to_quantecon(mdp)
        np.testing.assert_allclose(back.solve("policy_iteration").v, v_star, atol=1e-12)


def test_inventory_problem_finite_horizon_from_quantecon():
    """QuantEcon's tests/test_ddp.py, TestFiniteHorizon: Puterman (2005) Sec. 3.2 / 4.6.1,
    single-product stochastic inventory control, beta = 1, T = 3, state-action-pair form."""
    s_indices = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
    a_indices = [0, 1, 2, 3, 0, 1, 2, 0, 1, 0]
    R = [0., -1., -2., -5., 5., 0., -3., 6., -1., 5.]
    Q = [[1., 0., 0., 0.], [0.75, 0.25, 0., 0.], [0.25, 0.5, 0.25, 0.], [0., 0.25, 0.5, 0.25],
         [0.75, 0.25, 0., 0.], [0.25, 0.5, 0.25, 0.], [0., 0.25, 0.5, 0.25],
         [0.25, 0.5, 0.25, 0.], [0., 0.25, 0.5, 0.25], [0., 0.25, 0.5, 0.25]]
    with pytest.warns(UserWarning, match="beta=1"):
        ddp = quantecon_markov.DiscreteDP(R, Q, 1, s_indices, a_indices)
    vs_expected = [[67 / 16, 129 / 16, 194 / 16, 227 / 16], [2, 25 / 4, 10, 21 / 2],
                   [0, 5, 6, 5], [0, 0, 0, 0]]
    sigmas_expected = [[3, 0, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0]]
    mdp = mt.from_quantecon(ddp, horizon=3)
    assert mdp.mask is not None and mdp.mask[0, 3].sum() == 1
    sol = solvers.backward_induction(mdp)
    np.testing.assert_allclose(sol.V, vs_expected, atol=1e-13)
    np.testing.assert_array_equal(sol.pi.argmax(-1), sigmas_expected)
    np.testing.assert_allclose(solvers.solve_lp(mdp).V, vs_expected, atol=1e-7)
    with pytest.raises(ValueError, match="beta = 1.0: a DiscountedMDP needs beta < 1"):
        mt.from_quantecon(ddp)


def test_mdptoolbox_forest_discounted_and_finite_horizon():
    P, R = mdptoolbox_example.forest()           # P (A, S, S) = (2, 3, 3), R (S, A)
    # mdptoolbox docs, PolicyIteration example: forest(), discount 0.9
    expected = (26.244000000000014, 29.484000000000016, 33.484000000000016)
    mdp = mt.from_mdptoolbox(P, R, 0.9)
    for sol in (solvers.policy_iteration(mdp), solvers.value_iteration(mdp, tol=1e-10),
                solvers.solve_lp(mdp)):
        np.testing.assert_allclose(sol.V, expected, atol=1e-8)
        np.testing.assert_array_equal(sol.pi.argmax(1), (0, 0, 0))
    # mdptoolbox docs, FiniteHorizon(P, R, 0.9, 3) example (V is (S, N + 1), 4 decimals)
    fh_V = np.array([[2.6973, 0.81, 0., 0.], [5.9373, 3.24, 1., 0.], [9.9373, 7.24, 4., 0.]])
    fh_policy = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]])
    fin = mt.from_mdptoolbox(P, R, 0.9, horizon=3)
    sol = solvers.backward_induction(fin)
    np.testing.assert_allclose(sol.V.T, fh_V, atol=5e-5)
    np.testing.assert_array_equal(sol.pi.argmax(-1).T, fh_policy)
    # the peer itself, with terminal values h, agrees to rounding
    h = np.array([1.0, -2.0, 3.0])
    peer = mdptoolbox_mdp.FiniteHorizon(P, R, 0.9, 3, h)
    peer.run()
    ours = solvers.backward_induction(mt.from_mdptoolbox(P, R, 0.9, horizon=3, V_terminal=h))
    np.testing.assert_allclose(ours.V.T, peer.V, atol=1e-12)
    np.testing.assert_array_equal(ours.pi.argmax(-1).T, peer.policy)


def test_mdptoolbox_layout_is_explicit_when_S_equals_A():
    """mdptoolbox's RelativeValueIteration docstring example has S = A = 2: a raw (A, S, S) array
    read as P[s, a, s'] is a different model, the converter says which layout it reads."""
    P = np.array([[[0.5, 0.5], [0.8, 0.2]], [[0, 1], [0.1, 0.9]]])
    R = np.array([[5, 10], [-1, 2]])
    mdp = mt.from_mdptoolbox(P, R, 0.9)
    np.testing.assert_array_equal(mdp.P[0, 1], P[1, 0])           # P[s, a] = P_tb[a, s]
    wrong = DiscountedMDP(P, R, 0.9)                               # accepted, but another model
    assert not np.allclose(solvers.policy_iteration(wrong).V, solvers.policy_iteration(mdp).V)
    with pytest.raises(ValueError, match=r"layout \(A, S, S\)"):
        mt.from_mdptoolbox(np.ones((2, 3, 4)) / 4, R, 0.9)
    with pytest.raises(ValueError, match=r"R has shape \(A, S\) = \(2, 3\); mdptoolbox's layout "
                                         r"is \(S, A\) = \(3, 2\)"):
        mt.from_mdptoolbox(np.stack([np.eye(3)] * 2), np.zeros((2, 3)), 0.9)
    with pytest.raises(ValueError, match="gamma is required"):
        mt.from_mdptoolbox(P, R)
    # per-transition rewards (A, S, S) become expected rewards; lists of sparse matrices work
    R3 = np.arange(8.0).reshape(2, 2, 2)
    m3 = mt.from_mdptoolbox([sparse.csr_matrix(P[0]), sparse.csr_matrix(P[1])], R3, 0.5)
    np.testing.assert_allclose(m3.r, np.einsum("ast,ast->sa", P, R3))


@pytest.mark.parametrize("sparse_model", [False, True])
def test_to_quantecon_round_trip_and_quantecon_solves_our_models(sparse_model):
    mdp = mt.envs.garnet(30, 4, 5, gamma=0.9, rng=3, sparse=sparse_model)
    ddp = mt.to_quantecon(mdp)
    assert ddp._sa_pair == sparse_model          # product form unless sparse or masked
    ours = solvers.policy_iteration(mdp)
    theirs = ddp.solve("policy_iteration")
    np.testing.assert_allclose(theirs.v, ours.V, atol=1e-10)
    np.testing.assert_array_equal(theirs.sigma, ours.pi.argmax(1))
    back = mt.from_quantecon(ddp, rho0=mdp.rho0)
    np.testing.assert_allclose(back.dense_P(), mdp.dense_P(), atol=0)
    np.testing.assert_array_equal(back.r, mdp.r)
    assert back.gamma == mdp.gamma and back.mask is None
