"""Instance generators: shapes, validity, seeding, closed forms and independently computed reference values."""
import collections
import itertools

import networkx as nx
import numpy as np
import pytest

from mdptheory.envs import (
    SIMULATED_ACTIONS,
    chain,
    combination_lock,
    garnet,
    grid_world,
    grid_world_5x5,
    random_linear_mdp,
    river_swim,
    simulated_linear_mdp,
    simulated_linear_mdp_perturbed,
)
from mdptheory.envs.garnet import _distinct_successors
from mdptheory.kernels.backward import backward_induction, evaluate_policy
from mdptheory.models import DiscountedMDP, FiniteHorizonMDP, LinearMDP, SparseTransitions


def solve(mdp):
    """V*, Q* of a FiniteHorizonMDP with the backward-induction kernel."""
    V = np.zeros((mdp.H + 1, mdp.S))        # V[h, s], V[H] = 0
    Q = np.zeros((mdp.H, mdp.S, mdp.A))     # Q[h, s, a]
    backward_induction(mdp.P, mdp.r, V, Q)
    return V, Q


def evaluate(mdp, pi):
    V = np.zeros((mdp.H + 1, mdp.S))
    Q = np.zeros((mdp.H, mdp.S, mdp.A))
    evaluate_policy(mdp.P, mdp.r, pi, V, Q)
    return V


def value_iteration(P, r, gamma, tol=1e-12):
    """Slow, obvious discounted VI on dense P[s, a, s'], r[s, a]."""
    V = np.zeros(r.shape[0])
    while True:
        Q = r + gamma * P @ V
        V_new = Q.max(axis=1)
        if np.abs(V_new - V).max() < tol:
            return V_new, Q
        V = V_new


def assert_rows_are_distributions(P):
    assert (np.asarray(P) >= 0).all()
    np.testing.assert_allclose(np.asarray(P).sum(axis=-1), 1.0, atol=1e-12)


# ----------------------------------------------------------------------------------- Garnet

def test_garnet_discounted_and_episodic_shapes():
    m = garnet(7, 3, 2, gamma=0.9, rng=0)
    assert isinstance(m, DiscountedMDP) and not m.is_sparse
    assert m.P.shape == (7, 3, 7) and m.r.shape == (7, 3) and m.gamma == 0.9
    np.testing.assert_allclose(m.rho0, np.full(7, 1 / 7))
    f = garnet(7, 3, 2, H=4, rng=0)
    assert isinstance(f, FiniteHorizonMDP)
    assert f.P.shape == (4, 7, 3, 7) and f.r.shape == (4, 7, 3)
    # the same seed builds the same kernel whichever model is returned
    np.testing.assert_array_equal(f.P[2], m.P)
    np.testing.assert_array_equal(f.r[0], m.r)
    assert ((m.r >= 0) & (m.r <= 1)).all()


@pytest.mark.parametrize("S,A,b", [(1, 1, 1), (5, 2, 1), (5, 2, 5), (30, 4, 3), (30, 4, 29),
                                   (200, 3, 60)])
def test_garnet_has_exactly_branching_successors(S, A, b):
    m = garnet(S, A, b, gamma=0.5, rng=S + b)
    assert ((m.P > 0).sum(axis=2) == b).all()
    assert_rows_are_distributions(m.P)
    sp = garnet(S, A, b, gamma=0.5, rng=S + b, sparse=True)
    assert isinstance(sp.P, SparseTransitions) and sp.P.width == b
    assert (sp.P.probs > 0).all()
    assert (np.diff(sp.P.indices, axis=2) > 0).all()        # distinct, sorted successors
    np.testing.assert_array_equal(sp.P.to_dense(), m.P)     # sparse == dense for one seed
    np.testing.assert_array_equal(sp.r, m.r)


def test_garnet_seeding():
    a = garnet(20, 3, 4, gamma=0.9, rng=11)
    b = garnet(20, 3, 4, gamma=0.9, rng=np.random.default_rng(11))
    c = garnet(20, 3, 4, gamma=0.9, rng=12)
    np.testing.assert_array_equal(a.P, b.P)
    np.testing.assert_array_equal(a.r, b.r)
    assert not np.array_equal(a.P, c.P)
    assert not np.array_equal(a.r, c.r)
    g = np.random.default_rng(5)                 # a Generator is consumed, not reset
    assert not np.array_equal(garnet(20, 3, 4, gamma=0.9, rng=g).P,
                              garnet(20, 3, 4, gamma=0.9, rng=g).P)


def test_garnet_state_rewards_do_not_depend_on_the_action():
    m = garnet(10, 4, 3, H=2, rng=3, reward="state")
    np.testing.assert_array_equal(m.r[0], np.repeat(m.r[0, :, :1], 4, axis=1))
    assert len(np.unique(m.r[0, :, 0])) == 10


def test_floyd_successor_sets_are_uniform_subsets():
    # all C(5, 2) = 10 subsets equally likely: 200,000 rows, 20,000 expected each (sd ~134)
    rows = _distinct_successors(5, 200_000, 2, np.random.default_rng(0))
    counts = collections.Counter(map(tuple, rows))
    assert set(counts) == set(itertools.combinations(range(5), 2))
    assert all(abs(n - 20_000) < 700 for n in counts.values())
    # each state is included with probability b / S (here 40 / 100), also when b^2 > S
    rows = _distinct_successors(100, 20_000, 40, np.random.default_rng(1))
    freq = np.bincount(rows.ravel(), minlength=100) / 20_000
    assert np.abs(freq - 0.4).max() < 0.02
    assert (np.diff(rows, axis=1) > 0).all()


def test_garnet_sparse_large_instance_has_the_benchmark_shape():
    # build speed is measured in benchmarks/, not asserted here
    m = garnet(100_000, 4, 4, gamma=0.99, rng=0, sparse=True)
    assert m.P.probs.shape == (100_000, 4, 4) and m.S == 100_000
    assert (m.P.probs > 0).all()
    assert (np.diff(np.sort(m.P.indices, axis=2), axis=2) > 0).all()   # distinct successors


def test_garnet_dense_instance_has_exactly_branching_successors():
    m = garnet(500, 4, 50, gamma=0.9, rng=0)
    assert m.P.shape == (500, 4, 500)
    assert ((m.P > 0).sum(axis=2) == 50).all()


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(S=0, A=2, branching=1, gamma=0.9), ValueError, "S must be >= 1, got 0"),
    (dict(S=3, A=0, branching=1, gamma=0.9), ValueError, "A must be >= 1, got 0"),
    (dict(S=3, A=2, branching=0, gamma=0.9), ValueError, "branching must be >= 1, got 0"),
    (dict(S=3, A=2, branching=4, gamma=0.9), ValueError, r"branching must be <= S=3.*got 4"),
    (dict(S=2.5, A=2, branching=1, gamma=0.9), TypeError, "S must be an integer"),
    (dict(S=3, A=2, branching=1), ValueError, "exactly one of H .* got neither"),
    (dict(S=3, A=2, branching=1, H=2, gamma=0.9), ValueError, "got H=2 and gamma=0.9"),
    (dict(S=3, A=2, branching=1, gamma=1.0), ValueError, "gamma must be < 1"),
    (dict(S=3, A=2, branching=1, H=0), ValueError, "H must be >= 1, got 0"),
    (dict(S=3, A=2, branching=1, gamma=0.9, reward="gauss"), ValueError,
     "reward must be one of .* got 'gauss'"),
    (dict(S=3, A=2, branching=1, H=3, sparse=True), ValueError,
     "sparse=True builds a DiscountedMDP and needs gamma, got H=3"),
])
def test_garnet_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        garnet(rng=0, **kwargs)


def test_garnet_rejects_a_bad_rng():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator or an integer"):
        garnet(3, 2, 1, gamma=0.9, rng="seed")


# ------------------------------------------------------------------------- classic chains

def test_river_swim_matches_the_published_numbers():
    m = river_swim(gamma=0.95)
    assert m.P.shape == (6, 2, 6) and m.r.shape == (6, 2)
    left, right = m.P[:, 0], m.P[:, 1]
    np.testing.assert_array_equal(left, np.eye(6)[[0, 0, 1, 2, 3, 4]])
    np.testing.assert_allclose(right[0], [0.4, 0.6, 0, 0, 0, 0])
    for s in range(1, 5):
        expected = np.zeros(6)
        expected[[s - 1, s, s + 1]] = [0.05, 0.6, 0.35]
        np.testing.assert_allclose(right[s], expected)
    np.testing.assert_allclose(right[5], [0, 0, 0, 0, 0.4, 0.6])
    expected_r = np.zeros((6, 2))
    expected_r[0, 0], expected_r[5, 1] = 0.005, 1.0
    np.testing.assert_array_equal(m.r, expected_r)
    np.testing.assert_array_equal(m.rho0, np.eye(6)[0])


def test_river_swim_optimal_policy_swims_right():
    # the point of the instance: the small reward on the left is a trap
    V, Q = solve(river_swim(H=20))
    assert (Q[0].argmax(axis=1) == 1).all()
    assert V[0, 0] > 20 * 0.005
    long_river = river_swim(S=10, gamma=0.95)
    _, Qd = value_iteration(long_river.P, long_river.r, 0.95)
    assert (Qd.argmax(axis=1) == 1).all()


def test_river_swim_rejects_bad_arguments():
    with pytest.raises(ValueError, match="S must be >= 2 for RiverSwim"):
        river_swim(S=1, H=3)
    with pytest.raises(ValueError, match=r"large_reward must be <= 1.0, got 2.0"):
        river_swim(H=3, large_reward=2.0)
    with pytest.raises(ValueError, match="exactly one of H"):
        river_swim()


def test_chain_dynamics_and_mean_rewards():
    m = chain(H=4, slip=0.0)
    np.testing.assert_array_equal(m.P[0, :, 0], np.eye(5)[[1, 2, 3, 4, 4]])
    np.testing.assert_array_equal(m.P[0, :, 1], np.eye(5)[[0] * 5])
    np.testing.assert_allclose(m.r[0, :, 0], [0, 0, 0, 0, 1.0])
    np.testing.assert_allclose(m.r[0, :, 1], 0.2)
    s = chain(gamma=0.9, slip=0.2)
    np.testing.assert_allclose(s.P[2, 0], [0.2, 0, 0, 0.8, 0])
    np.testing.assert_allclose(s.P[2, 1], [0.8, 0, 0, 0.2, 0])
    np.testing.assert_allclose(s.r[4], [0.8 * 1.0 + 0.2 * 0.2, 0.8 * 0.2 + 0.2 * 1.0])
    np.testing.assert_allclose(s.r[0], [0.2 * 0.2, 0.8 * 0.2])


def test_chain_optimal_policy_goes_forward_despite_the_myopic_trap():
    m = chain(gamma=0.99)
    assert m.r[0, 1] > m.r[0, 0]                      # returning pays more now ...
    _, Q = value_iteration(m.P, m.r, 0.99)
    assert (Q.argmax(axis=1) == 0).all()              # ... but forward is optimal (Strens 2000)


def test_chain_rejects_bad_slip():
    with pytest.raises(ValueError, match=r"slip must be <= 1.0, got 1.5"):
        chain(H=3, slip=1.5)
    with pytest.raises(ValueError, match=r"slip must be >= 0.0, got -0.1"):
        chain(H=3, slip=-0.1)


@pytest.mark.parametrize("S,A,H", [(1, 2, 3), (2, 2, 1), (4, 3, 3), (4, 3, 10), (7, 2, 12)])
def test_combination_lock_optimal_value_closed_form(S, A, H):
    m = combination_lock(S, H, A=A, rng=S * A)
    V, _ = solve(m)
    h = np.arange(H + 1)[:, None]
    s = np.arange(S)[None, :]
    expected = np.maximum(0, H - h - (S - 1 - s))      # V*_h(s) = max(0, H - h - (S-1-s))
    np.testing.assert_allclose(V, expected, atol=1e-12)


def test_combination_lock_discounted_closed_form_and_structure():
    combo = [2, 0, 1, 1]
    m = combination_lock(5, A=3, gamma=0.8, correct_actions=combo)
    for s, a in enumerate(combo):
        assert m.P[s, a, s + 1] == 1.0
        others = [b for b in range(3) if b != a]
        assert (m.P[s, others, 0] == 1.0).all()
    assert (m.P[4, :, 4] == 1.0).all()
    V, _ = value_iteration(m.P, m.r, 0.8)
    np.testing.assert_allclose(V, 0.8 ** (4 - np.arange(5)) / 0.2, rtol=1e-10)


def test_combination_lock_seeding():
    a = combination_lock(30, 40, A=4, rng=1)
    b = combination_lock(30, 40, A=4, rng=1)
    c = combination_lock(30, 40, A=4, rng=2)
    np.testing.assert_array_equal(a.P, b.P)
    assert not np.array_equal(a.P, c.P)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(S=3, H=4), ValueError, "exactly one of rng .* got neither"),
    (dict(S=3, H=4, rng=0, correct_actions=[0, 1]), ValueError, "got both"),
    (dict(S=3, H=4, correct_actions=[0, 2]), ValueError,
     r"correct_actions\[1\] is 2, expected an action in \[0, 1\]"),
    (dict(S=3, H=4, correct_actions=[0, 1, 1]), ValueError,
     r"correct_actions must have shape \(2,\), got \(3,\)"),
    (dict(S=3, H=4, correct_actions=[0.0, 1.0]), TypeError, "correct_actions must be integers"),
    (dict(S=0, H=4, rng=0), ValueError, "S must be >= 1, got 0"),
    (dict(S=3, H=4, A=0, rng=0), ValueError, "A must be >= 1, got 0"),
])
def test_combination_lock_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        combination_lock(**kwargs)


# ----------------------------------------------------------------------------- grid worlds

def test_grid_world_5x5_layout():
    m, nodes = grid_world_5x5(return_nodes=True)
    assert isinstance(m, FiniteHorizonMDP)
    assert (m.H, m.S, m.A) == (20, 23, 4)
    assert (1, 1) not in nodes and (2, 2) not in nodes
    assert nodes[0] == (0, 0) and nodes[-1] == (4, 4)
    np.testing.assert_array_equal(m.rho0, np.eye(23)[0])
    assert_rows_are_distributions(m.P[0])
    d = grid_world_5x5(gamma=0.9)
    assert isinstance(d, DiscountedMDP) and d.S == 23


def test_grid_world_deterministic_moves_walls_and_edges():
    m, nodes = grid_world((3, 3), slip=0.0, walls=[(1, 1)], goal=(2, 2), gamma=0.9,
                          return_nodes=True)
    ix = {v: i for i, v in enumerate(nodes)}
    up, down, left, right = range(4)

    def target(v, a):
        return nodes[int(np.argmax(m.P[ix[v], a]))]

    assert target((0, 0), up) == (0, 0)               # off the grid: stay
    assert target((0, 0), left) == (0, 0)
    assert target((0, 0), right) == (0, 1)
    assert target((0, 0), down) == (1, 0)
    assert target((0, 1), down) == (0, 1)             # into the wall: stay
    assert target((1, 0), right) == (1, 0)
    assert target((2, 1), up) == (2, 1)
    assert target((2, 1), right) == (2, 2)
    assert (m.P[ix[(2, 2)], :, ix[(2, 2)]] == 1).all()  # goal absorbing and rewarded
    assert (m.r[ix[(2, 2)]] == 1).all() and m.r.sum() == 4
    assert set(np.unique(m.P)) == {0.0, 1.0}


def test_grid_world_slip_spreads_over_neighbours_and_staying():
    m, nodes = grid_world((3, 3), slip=0.3, H=2, return_nodes=True)
    ix = {v: i for i, v in enumerate(nodes)}
    row = m.P[0, ix[(0, 0)], 3]                       # corner, "right": 2 neighbours + stay
    expected = np.zeros(9)
    expected[[ix[(0, 0)], ix[(0, 1)], ix[(1, 0)]]] = 0.1
    expected[ix[(0, 1)]] += 0.7
    np.testing.assert_allclose(row, expected)
    row = m.P[0, ix[(1, 1)], 0]                       # centre, "up": 4 neighbours + stay
    expected = np.zeros(9)
    expected[[ix[(0, 1)], ix[(2, 1)], ix[(1, 0)], ix[(1, 2)], ix[(1, 1)]]] = 0.06
    expected[ix[(0, 1)]] += 0.7
    np.testing.assert_allclose(row, expected)


def test_grid_world_optimal_value_is_horizon_minus_shortest_path():
    G = nx.grid_2d_graph(5, 5)
    walls = [(1, 1), (2, 2), (3, 1), (1, 3)]
    m, nodes = grid_world(G, slip=0.0, walls=walls, start=(0, 0), goal=(4, 4), H=20,
                          return_nodes=True)
    assert G.number_of_nodes() == 25                  # the caller's graph is untouched
    V, _ = solve(m)
    G.remove_nodes_from(walls)
    dist = nx.single_source_shortest_path_length(G, (4, 4))
    expected = np.array([max(0, 20 - dist[v]) for v in nodes])
    np.testing.assert_allclose(V[0], expected, atol=1e-12)


def test_grid_world_on_a_general_graph_uses_neighbour_actions():
    m = grid_world(nx.cycle_graph(6), slip=0.0, goal=3, start=0, H=5)
    assert (m.S, m.A) == (6, 2)
    np.testing.assert_array_equal(m.P[0, 0], np.eye(6)[[1, 5]])    # neighbours in state order
    V, _ = solve(m)
    assert V[0, 0] == 5 - 3
    star = grid_world(nx.star_graph(3), slip=0.0, H=2)              # hub 0 with 3 leaves
    assert star.A == 3
    np.testing.assert_array_equal(star.P[0, 1], np.eye(4)[[0, 1, 1]])   # leaf: 1 move, else stay


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(graph_or_shape=(0, 3), H=3), ValueError, r"positive integers, got \(0, 3\)"),
    (dict(graph_or_shape="grid", H=3), TypeError, "graph_or_shape must be a networkx graph"),
    (dict(graph_or_shape=(3, 3), slip=1.2, H=3), ValueError, r"slip must be <= 1.0, got 1.2"),
    (dict(graph_or_shape=(3, 3), walls=[(5, 5)], H=3), ValueError,
     r"walls contains \(5, 5\), which is not a node"),
    (dict(graph_or_shape=(3, 3), walls=[(1, 1)], goal=(1, 1), H=3), ValueError,
     r"goal contains \(1, 1\), which is not a node of the graph \(after removing walls\)"),
    (dict(graph_or_shape=(3, 3), start=(9, 9), H=3), ValueError, r"start \(9, 9\) is not a node"),
    (dict(graph_or_shape=(1, 1), walls=[(0, 0)], H=3), ValueError, "no nodes left"),
    (dict(graph_or_shape=(3, 3)), ValueError, "exactly one of H"),
])
def test_grid_world_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        grid_world(**kwargs)


# ---------------------------------------------------------------------------- linear MDPs

def test_random_linear_mdp_shapes_rewards_and_seeding():
    m = random_linear_mdp(6, 3, 4, 5, rng=0)
    assert isinstance(m, LinearMDP)
    assert m.phi.shape == (6, 3, 4) and m.mu.shape == (5, 4, 6) and m.theta.shape == (5, 4)
    np.testing.assert_allclose(m.phi.sum(axis=2), 1.0)
    np.testing.assert_allclose(m.mu.sum(axis=2), 1.0)
    r = m.r
    assert ((r >= 0) & (r <= 1)).all()
    f = m.to_finite()
    assert f.P.shape == (5, 6, 3, 6)
    same = random_linear_mdp(6, 3, 4, 5, rng=np.random.default_rng(0))
    other = random_linear_mdp(6, 3, 4, 5, rng=1)
    for name in ("phi", "mu", "theta"):
        np.testing.assert_array_equal(getattr(m, name), getattr(same, name))
        assert not np.array_equal(getattr(m, name), getattr(other, name))


def test_random_linear_mdp_onehot_features():
    m = random_linear_mdp(5, 2, 3, 2, rng=4, features="onehot", factor_concentration=0.1)
    assert set(np.unique(m.phi)) == {0.0, 1.0}
    assert (m.phi.sum(axis=2) == 1).all()


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(d=0), ValueError, "d must be >= 1, got 0"),
    (dict(features="gauss"), ValueError, "features must be one of"),
    (dict(feature_concentration=0.0), ValueError, "feature_concentration must be > 0.0"),
    (dict(factor_concentration=-1.0), ValueError, "factor_concentration must be > 0.0"),
    (dict(rng=None), TypeError, "rng must be"),
])
def test_random_linear_mdp_rejects_bad_arguments(kwargs, exc, match):
    args = dict(S=3, A=2, d=2, H=2, rng=0)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        random_linear_mdp(**args)


def test_simulated_linear_mdp_structure():
    m = simulated_linear_mdp()
    assert (m.S, m.A, m.d, m.H) == (5, 16, 4, 3)
    np.testing.assert_array_equal(SIMULATED_ACTIONS, list(itertools.product([-1, 1], repeat=4)))
    np.testing.assert_array_equal(m.rho0, np.eye(5)[0])
    # a = (1, 1, 1, 1) at x1: <xi, a> = 0.2, phi = (0.5, 0, 0, 0.5)
    np.testing.assert_allclose(m.phi[0, 15], [0.5, 0, 0, 0.5])
    np.testing.assert_allclose(m.phi[2, 0], [0, 0, 0.9, 0.1])
    np.testing.assert_allclose(m.phi[1, 5], [0, 0.7, 0, 0.3])         # sum(a) = 0
    np.testing.assert_array_equal(m.phi[3], np.tile([0, 0, 1, 0], (16, 1)))
    np.testing.assert_array_equal(m.phi[4], np.tile([0, 0, 0, 1], (16, 1)))
    np.testing.assert_allclose(m.mu[0, 0], [0, 0.999, 0, 0.001, 0])
    np.testing.assert_allclose(m.mu[1, 1], [0, 0, 0.999, 0.001, 0])
    np.testing.assert_array_equal(m.mu[:, 2], np.tile(np.eye(5)[3], (3, 1)))   # fail state
    np.testing.assert_array_equal(m.mu[:, 3], np.tile(np.eye(5)[4], (3, 1)))   # good state
    np.testing.assert_array_equal(m.theta, [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1]])


@pytest.mark.parametrize("xi_norm,v_star", [(0.1, 1.4232), (0.2, 1.6243), (0.3, 1.7753)])
def test_simulated_linear_mdp_nominal_value_matches_spec(xi_norm, v_star):
    # independently computed reference: nominal V*(x1) for delta = 0.3, optimal first action (1,1,1,1)
    V, Q = solve(simulated_linear_mdp(delta=0.3, xi_norm=xi_norm).to_finite())
    assert abs(V[0, 0] - v_star) < 5e-5
    assert Q[0, 0].argmax() == 15
    np.testing.assert_array_equal(SIMULATED_ACTIONS[15], [1, 1, 1, 1])


@pytest.mark.parametrize("xi_norm,nominal,robust", [
    (0.1, (1.4239, -0.8), (1.2318, -0.4)),
    (0.2, (1.6249, -1.0), (1.3248, -0.2)),
    (0.3, (1.7759, -1.2), (1.4398, 0.0)),
])
def test_simulated_linear_mdp_perturbed_returns_match_spec(xi_norm, nominal, robust):
    # independently computed reference: test return at q of the nominal-optimal policy and of the "robust" policy
    # (a(x1) = (-1,-1,-1,-1), then (1,1,1,1))
    _, Q = solve(simulated_linear_mdp(xi_norm=xi_norm).to_finite())
    pi_nominal = np.zeros(Q.shape)
    np.put_along_axis(pi_nominal, Q.argmax(axis=2)[..., None], 1.0, axis=2)
    pi_robust = np.zeros(Q.shape)
    pi_robust[0, :, 0] = 1.0
    pi_robust[1:, :, 15] = 1.0
    for q in np.linspace(0, 1, 11):
        test_env = simulated_linear_mdp_perturbed(q, xi_norm=xi_norm)
        assert abs(evaluate(test_env, pi_nominal)[0, 0] - (nominal[0] + nominal[1] * q)) < 5e-5
        assert abs(evaluate(test_env, pi_robust)[0, 0] - (robust[0] + robust[1] * q)) < 5e-5


def test_simulated_linear_mdp_perturbation_changes_only_step_one():
    q = 0.3
    nominal = simulated_linear_mdp().to_finite()
    test_env = simulated_linear_mdp_perturbed(q)
    assert isinstance(test_env, FiniteHorizonMDP) and test_env.P.shape == (3, 5, 16, 5)
    np.testing.assert_allclose(test_env.P[1:], nominal.P[1:])
    np.testing.assert_allclose(test_env.r, nominal.r)
    phi = simulated_linear_mdp().phi
    for a in range(16):                      # from x1: x2 w.p. phi_1, x4 q phi_4, x5 (1-q) phi_4
        p1, p4 = phi[0, a, 0], phi[0, a, 3]
        np.testing.assert_allclose(test_env.P[0, 0, a], [0, p1, 0, q * p4, (1 - q) * p4])
    np.testing.assert_allclose(simulated_linear_mdp_perturbed(0.0).P[0, 0, 15],
                               [0, 0.5, 0, 0, 0.5])


@pytest.mark.parametrize("call,exc,match", [
    (lambda: simulated_linear_mdp(delta=0.9, xi_norm=0.2), ValueError,
     "need delta - xi_norm >= 0 and delta \\+ xi_norm <= 1"),
    (lambda: simulated_linear_mdp(delta=0.1, xi_norm=0.2), ValueError, "delta=0.1, xi_norm=0.2"),
    (lambda: simulated_linear_mdp(xi_norm=-0.1), ValueError, "xi_norm must be >= 0.0"),
    (lambda: simulated_linear_mdp(H=0), ValueError, "H must be >= 1, got 0"),
    (lambda: simulated_linear_mdp_perturbed(1.5), ValueError, r"q must be <= 1.0, got 1.5"),
    (lambda: simulated_linear_mdp_perturbed("a"), TypeError, "q must be a real number"),
])
def test_simulated_linear_mdp_rejects_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
