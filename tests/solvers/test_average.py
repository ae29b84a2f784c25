"""Average reward (issue 15, item 4): relative value iteration, policy iteration and the LP agree
with one another to 1e-8, with brute force over deterministic policies, and with mdptoolbox's
RelativeValueIteration on its documented examples; multichain models are named errors."""
import itertools

import numpy as np
import pytest

import mdptheory as mt
from mdptheory import solvers
from mdptheory.models import DiscountedMDP, SparseTransitions
from mdptheory.solvers import MultichainError

SOLVERS = (solvers.relative_value_iteration, solvers.average_policy_iteration,
           solvers.average_lp)


def _gain_and_bias(P_pi, r_pi):
    """Independent: stationary distribution by least squares, gain mu . r, bias by the
    fundamental matrix Z = (I - P + 1 mu)^-1 (Puterman eq. A.16): h = Z (r - g)."""
    S = P_pi.shape[0]
    M = np.vstack([(np.eye(S) - P_pi).T, np.ones(S)])
    mu = np.linalg.lstsq(M, np.r_[np.zeros(S), 1.0], rcond=None)[0]
    g = mu @ r_pi
    Z = np.linalg.inv(np.eye(S) - P_pi + np.outer(np.ones(S), mu))
    return g, Z @ (r_pi - g)


def _brute_force(P, r, mask):
    """Optimal gain, and the elementwise largest bias among gain-optimal policies (the solution
    of the optimality equation: at a state that is transient under every gain-optimal policy
    the equation picks the action with the larger bias)."""
    S = r.shape[0]
    vals = []
    for acts in itertools.product(*[np.flatnonzero(mask[s]) for s in range(S)]):
        acts = np.array(acts)
        vals.append(_gain_and_bias(P[np.arange(S), acts], r[np.arange(S), acts]))
    g_star = max(g for g, _ in vals)
    h_star = np.max([h for g, h in vals if g > g_star - 1e-10], axis=0)
    return g_star, h_star


def _unichain_model(seed, S=5, A=3, masked=False):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, A)) * (rng.random((S, A, S)) < 0.6)
    P[:, :, 0] += 0.05                       # state 0 is entered from everywhere: unichain
    P /= P.sum(-1, keepdims=True)
    r = rng.normal(size=(S, A))
    mask = rng.random((S, A)) > 0.3 if masked else np.ones((S, A), dtype=bool)
    mask[:, 0] = True
    return P, r, mask


@pytest.mark.parametrize("seed, masked, sparse", [(0, False, False), (1, True, False),
                                                  (2, False, True), (3, True, True)])
def test_three_solvers_agree_with_brute_force(seed, masked, sparse):
    P, r, mask = _unichain_model(seed, masked=masked)
    g_bf, h_bf = _brute_force(P, r, mask)
    PP = SparseTransitions.from_dense(P) if sparse else P
    mdp = DiscountedMDP(PP, r, 0.5, mask=mask if masked else None)
    sols = [f(mdp) for f in SOLVERS]
    for sol in sols:
        assert abs(sol.gain - g_bf) < 1e-9
        assert sol.error_bound < 1e-8
        acts = sol.pi.argmax(1)
        g_pi, h_pi = _gain_and_bias(P[np.arange(5), acts], r[np.arange(5), acts])
        assert abs(g_pi - g_bf) < 1e-9
        np.testing.assert_allclose(sol.bias, h_bf, atol=1e-8)
        np.testing.assert_allclose(h_pi, h_bf, atol=1e-8)
        np.testing.assert_allclose(sol.Q.max(axis=1), sol.bias, atol=1e-8)
        assert (sol.pi[~mask] == 0).all() and np.isneginf(sol.Q[~mask]).all()
    for a, b in itertools.combinations(sols, 2):
        assert abs(a.gain - b.gain) < 1e-8
        np.testing.assert_allclose(a.bias, b.bias, atol=1e-8)


def test_rvi_converges_on_a_periodic_chain_thanks_to_the_aperiodicity_transform():
    P = np.zeros((3, 1, 3))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 0] = 1.0              # a 3-cycle: period 3
    r = np.array([[3.0], [0.0], [0.0]])
    mdp = DiscountedMDP(P, r, 0.0)
    for f in SOLVERS:
        sol = f(mdp)
        assert abs(sol.gain - 1.0) < 1e-10
        np.testing.assert_allclose(sol.bias, [1.0, -1.0, 0.0], atol=1e-9)
    with pytest.raises(ValueError, match="tau must be < 1"):
        solvers.relative_value_iteration(mdp, tau=1.0)


def test_mdptoolbox_relative_value_iteration_examples():
    tb_example = pytest.importorskip("hiive.mdptoolbox.example")
    tb = pytest.importorskip("hiive.mdptoolbox.mdp")
    # mdptoolbox docs, RelativeValueIteration: forest() -> average_reward 3.2399999999999993,
    # policy (0, 0, 0)
    P, R = tb_example.forest()
    forest = mt.from_mdptoolbox(P, R, 0.9)
    # mdptoolbox docs, second example: average_reward 3.8852352464118312, policy (1, 0), at
    # its default epsilon = 0.01 (a bracket of width 0.01 around the gain)
    P2 = np.array([[[0.5, 0.5], [0.8, 0.2]], [[0, 1], [0.1, 0.9]]])
    R2 = np.array([[5, 10], [-1, 2]])
    two = mt.from_mdptoolbox(P2, R2, 0.9)
    for f in SOLVERS:
        a, b = f(forest), f(two)
        assert abs(a.gain - 3.2399999999999993) < 1e-9
        np.testing.assert_array_equal(a.pi.argmax(1), (0, 0, 0))
        assert abs(b.gain - 3.8852352464118312) < 0.01
        assert abs(b.gain - 35 / 9) < 1e-10          # exact: mu = (1/9, 8/9) under (1, 0)
        np.testing.assert_array_equal(b.pi.argmax(1), (1, 0))
    # the peer itself at a tight epsilon (hiive 4.0.3.1's RelativeValueIteration reads
    # self.gamma, which its constructor never sets: we set it to 1, the undiscounted case)
    for (PP, RR), model in (((P, R), forest), ((P2, R2), two)):
        peer = tb.RelativeValueIteration(PP, RR, epsilon=1e-13)
        peer.gamma = 1.0
        peer.run()
        ours = solvers.average_policy_iteration(model)
        assert abs(ours.gain - peer.average_reward) < 1e-10
        np.testing.assert_array_equal(ours.pi.argmax(1), peer.policy)
        V = np.asarray(peer.V)
        np.testing.assert_allclose(ours.bias - ours.bias[0], V - V[0], atol=1e-9)


def test_multichain_and_undecidable_models_are_named_errors():
    P = np.zeros((4, 2, 4))
    P[0, :, 0] = P[1, :, 1] = 1.0                     # two absorbing states
    P[2, 0, 0] = P[2, 1, 1] = 1.0
    P[3, :, 2] = 1.0
    mdp = DiscountedMDP(P, np.zeros((4, 2)), 0.9)
    for f in SOLVERS:
        with pytest.raises(MultichainError, match=r"the model is multichain: the deterministic "
                                                  r"policy with actions \[0, 0, 0, 0\] has 2 "
                                                  r"recurrent classes, e.g. states \[0\] and "
                                                  r"states \[1\]"):
            f(mdp)
    # multichain only under some policies: found by enumeration
    P = np.zeros((2, 2, 2))
    P[:, 0] = [[1, 0], [0, 1]]                        # action 0 stays
    P[:, 1] = [[0, 1], [1, 0]]                        # action 1 swaps
    with pytest.raises(MultichainError, match=r"actions \[0, 0\] has 2 recurrent classes"):
        solvers.check_unichain(DiscountedMDP(P, np.zeros((2, 2)), 0.9))
    # masking the staying action in state 1 makes it unichain
    masked = DiscountedMDP(P, np.zeros((2, 2)), 0.9, mask=np.array([[1, 1], [0, 1]], bool))
    assert solvers.check_unichain(masked)["method"].startswith("exact")
    # too many policies to enumerate, no common state: cannot be decided
    S, A = 14, 2
    P = np.zeros((S, A, S))
    for s in range(S):
        P[s, 0, s] = 1.0                               # stay
        P[s, 1, (s + 1) % S] = 1.0                     # move on: unichain only if never staying
    with pytest.raises(MultichainError):
        solvers.check_unichain(DiscountedMDP(P, np.zeros((S, A)), 0.9), max_policies=100)
    with pytest.raises(ValueError, match="unichain must be 'check' or 'assume'"):
        solvers.average_policy_iteration(masked, unichain="yes")


def test_large_unichain_model_is_certified_by_the_common_state_condition():
    P, r, _ = _unichain_model(7, S=40, A=3)
    mdp = DiscountedMDP(P, r, 0.9)
    info = solvers.check_unichain(mdp)
    assert info["method"].startswith("sufficient") and info["state"] == 0
    a, b = solvers.relative_value_iteration(mdp), solvers.average_policy_iteration(mdp)
    assert abs(a.gain - b.gain) < 1e-10
    np.testing.assert_allclose(a.bias, b.bias, atol=1e-8)


def test_rvi_stops_at_the_rounding_floor_for_large_rewards():
    P, r, _ = _unichain_model(9)
    mdp = DiscountedMDP(P, 1e7 * r, 0.5)
    a, b = solvers.relative_value_iteration(mdp), solvers.average_policy_iteration(mdp)
    assert a.converged and a.num_iter < 1000
    assert abs(a.gain - b.gain) <= 1e-14 * 1e7 * np.abs(r).max()
    np.testing.assert_allclose(a.bias, b.bias, atol=1e-13 * 1e7 * np.abs(r).max())
