"""Submodular reward functions and SMDP environments (mdptheory.envs.submodular)."""
import itertools

import networkx as nx
import numpy as np
import pytest

from mdptheory.envs import submodular as sm
from mdptheory.kernels import subpo as k


def _subsets(n):
    for r in range(n + 1):
        yield from itertools.combinations(range(n), r)


# ------------------------------------------------------------------ values vs slow references

def test_weighted_coverage_matches_union_of_footprints():
    rng = np.random.default_rng(0)
    fps = [sorted(set(rng.choice(7, size=3).tolist())) for _ in range(5)]
    w = rng.random(7)
    F = sm.weighted_coverage(fps, w)
    for V in _subsets(5):
        covered = set().union(*[fps[v] for v in V]) if V else set()
        assert F.value(V) == pytest.approx(sum(w[u] for u in covered), abs=1e-12)


def test_item_collection_matches_capped_counts():
    groups, demands = [[0, 1, 2], [3, 4]], [2, 1]
    F = sm.item_collection(groups, demands, 6)
    assert F.value([0, 1, 2, 3, 4]) == 3.0          # min(3, 2) + min(2, 1)
    assert F.value([0, 5]) == 1.0
    assert F.value([5]) == 0.0
    for V in _subsets(6):
        ref = sum(min(len(set(V) & set(g)), d) for g, d in zip(groups, demands))
        assert F.value(V) == ref


def test_facility_location_matches_max_formula():
    rng = np.random.default_rng(1)
    W = rng.random((4, 5))
    F = sm.facility_location(W)
    assert F.value([]) == 0.0
    for V in _subsets(5):
        ref = W[:, list(V)].max(axis=1).sum() if V else 0.0
        assert F.value(V) == pytest.approx(ref, abs=1e-12)


def test_modular_is_sum_of_weights_with_zero_curvature():
    F = sm.modular([1.0, 2.0, 0.5])
    assert F.value([0, 2]) == 1.5
    assert F.curvature() == 0.0


def test_bitmask_kernel_equals_set_evaluation_and_py_func():
    rng = np.random.default_rng(2)
    F = (sm.weighted_coverage([[0, 1], [1, 2], [2, 3], [3]], rng.random(4))
         + sm.facility_location(rng.random((3, 4))) + sm.item_collection([[0, 1]], [1], 4))
    masks = np.arange(16, dtype=np.int64)
    fast = F.values(masks)
    slow = np.empty(16)
    k.structured_values.py_func(masks, F.n, *F._cs, F.w, F.cap, F.U1, *F._fl, F.U2, slow)
    assert np.allclose(fast, slow)
    for M in range(16):
        members = [v for v in range(4) if (M >> v) & 1]
        assert fast[M] == pytest.approx(F.value(members), abs=1e-12)


def test_gp_mutual_information_is_half_logdet_and_submodular():
    X = np.random.default_rng(3).random((6, 2)) * 3
    F = sm.gp_mutual_information(X, lengthscale=1.0, noise=0.1)
    K = sm.matern_kernel(X)
    V = [0, 2, 5]
    ref = 0.5 * np.linalg.slogdet(np.eye(3) + K[np.ix_(V, V)] / 0.1)[1]
    assert F.value(V) == pytest.approx(ref, rel=1e-12)
    assert np.allclose(F.values(np.arange(64)), [F.value([v for v in range(6) if (M >> v) & 1])
                                                  for M in range(64)])
    assert sm.find_violations(F) == []


@pytest.mark.parametrize("family", sm.FAMILIES)
def test_random_families_are_monotone_submodular_exhaustively(family):
    for seed in range(3):
        F = sm.random_set_function(family, 8, rng=seed)
        assert sm.find_violations(F, exhaustive_up_to=10) == []


# ------------------------------------------------------------------ curvature

def test_curvature_of_f_alpha_is_one_minus_alpha_on_two_overlapping_elements():
    for alpha in (0.0, 0.3, 1.0):
        F = sm.f_alpha(alpha, [1.0, 1.0], [[0], [0]], [1.0])
        # F({v}) = alpha + (1 - alpha); F(v | other) = alpha
        assert F.curvature() == pytest.approx(1.0 - alpha, abs=1e-12)


def test_curvature_of_f_alpha_decreases_in_alpha():
    rng = np.random.default_rng(4)
    fps = sm.grid_footprints([(i, j) for i in range(3) for j in range(3)])
    mw, cw = rng.random(9), rng.random(9)
    cs = [sm.f_alpha(a, mw, fps, cw).curvature() for a in np.linspace(0, 1, 6)]
    assert all(c1 >= c2 - 1e-12 for c1, c2 in zip(cs, cs[1:]))
    assert cs[-1] == pytest.approx(0.0, abs=1e-12) and cs[0] > 0.5


def test_redundant_coverage_element_has_curvature_one():
    F = sm.coverage([[0, 1], [1], [0]], 2)      # element 1's cell is covered by element 0
    assert F.curvature() == 1.0


# ------------------------------------------------------------------ bad input

def test_supermodular_function_is_reported_with_violating_sets():
    F = sm.SetFunction.from_callable(lambda V: len(V) ** 2, 4)
    with pytest.raises(ValueError, match=r"not submodular: F\(\d \| C\) = .* for C = \{.*\} "
                                         r"subset of B = \{.*\}"):
        sm.check_monotone_submodular(F)
    viol = sm.find_violations(F)
    assert viol and viol[0]["kind"] == "submodular"
    v, C, B = viol[0]["v"], viol[0]["C"], viol[0]["B"]
    assert set(C) <= set(B) and v not in B
    assert F.value(C + [v]) - F.value(C) < F.value(B + [v]) - F.value(B)


def test_non_monotone_function_is_reported():
    F = sm.SetFunction.from_callable(lambda V: len(V) * (4 - len(V)), 4)
    with pytest.raises(ValueError, match="not monotone"):
        sm.check_monotone_submodular(F)


def test_random_check_finds_violation_on_large_ground_set():
    n = 14
    w = np.ones(n)
    F = sm.SetFunction.from_callable(lambda V: float(sum(w[list(V)])) ** 1.5, n)
    viol = sm.find_violations(F, n_checks=500, rng=0, exhaustive_up_to=10)
    assert viol and viol[0]["kind"] == "submodular"


def test_smdp_rejects_non_submodular_reward():
    F = sm.SetFunction.from_callable(lambda V: len(V) ** 2, 4)
    mdp = sm.epsilon_bandit(sm.modular(np.ones(4)), 2, 0.0).mdp
    with pytest.raises(ValueError, match="not submodular"):
        sm.SubmodularMDP(mdp, F)


@pytest.mark.parametrize("call, match", [
    (lambda: sm.weighted_coverage([[0], [1]], [1.0, -0.5]), r"weights\[1\] is -0.5"),
    (lambda: sm.weighted_coverage([[0], [3]], [1.0, 1.0]), r"footprints\[1\] contains 3"),
    (lambda: sm.facility_location(-np.ones((2, 2))), r"W\[0, 0\] is -1"),
    (lambda: sm.modular([1.0, np.nan]), r"w\[1\] is nan"),
    (lambda: sm.f_alpha(1.5, [1.0], [[0]], [1.0]), r"alpha must be <= 1"),
    (lambda: sm.item_collection([[0, 9]], [1], 3), r"groups\[0\] contains 9"),
    (lambda: sm.item_collection([[0]], [1, 2], 3), "same length"),
    (lambda: sm.StructuredSetFunction(2, C=np.ones((1, 2)), cap=[0.0]), r"cap\[0\] is 0"),
    (lambda: sm.SetFunction.from_table(np.ones(3)), "2\\*\\*n entries"),
    (lambda: sm.SetFunction.from_table(np.ones(4)), r"F\(empty set\) = table\[0\] = 1"),
    (lambda: sm.SetFunction.from_callable(lambda V: 1.0, 30), "n must be <= 20"),
    (lambda: sm.modular([1.0, 2.0]).value([0, 5]), r"set element \[1\] is 5"),
    (lambda: sm.modular([1.0, 2.0]).marginal(-1, [0]), "v is -1"),
    (lambda: sm.grid_footprints([(0, 0)], "4x4"), "footprint kind '4x4' is unknown"),
    (lambda: sm.random_set_function("entropy", 4), "family 'entropy' is unknown"),
])
def test_bad_reward_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_callable_returning_non_number_is_a_type_error():
    with pytest.raises(TypeError, match=r"fn\(\{\}\) returned 'x'"):
        sm.SetFunction.from_callable(lambda V: "x", 2)
    with pytest.raises(TypeError, match="F must be a SetFunction"):
        sm.find_violations(lambda V: 0.0)


# ------------------------------------------------------------------ environments

def test_grid_actions_follow_the_released_code():
    env = sm.grid_smdp((3, 4), 2, start=(1, 1))
    idx = {v: i for i, v in enumerate(env.nodes)}
    s = idx[(1, 1)]
    expected = {0: (1, 1), 1: (1, 2), 2: (2, 1), 3: (1, 0), 4: (0, 1)}
    for a, node in expected.items():
        assert env.P[0, s, a, idx[node]] == 1.0
    corner = idx[(0, 0)]
    assert env.P[0, corner, 4, corner] == 1.0 and env.P[0, corner, 3, corner] == 1.0
    assert env.rho0[s] == 1.0 and env.is_deterministic()


def test_grid_slip_spreads_mass_over_all_five_actions():
    env = sm.grid_smdp((3, 3), 2, slip=0.5, start=(1, 1))
    idx = {v: i for i, v in enumerate(env.nodes)}
    s = idx[(1, 1)]
    assert env.P[0, s, 1, idx[(1, 2)]] == pytest.approx(0.5 + 0.1)
    assert env.P[0, s, 1, idx[(0, 1)]] == pytest.approx(0.1)
    assert np.allclose(env.P.sum(-1), 1.0)


def test_grid_default_reward_is_2x2_coverage():
    env = sm.grid_smdp((2, 3), 2)
    idx = {v: i for i, v in enumerate(env.nodes)}
    assert env.F.value([idx[(0, 0)]]) == 4.0      # (0,0),(0,1),(1,0),(1,1)
    assert env.F.value([idx[(1, 2)]]) == 1.0      # bottom-right corner covers itself only
    assert env.F.value([idx[(0, 0)], idx[(0, 1)]]) == 6.0


def test_two_rooms_layout():
    env = sm.two_rooms()
    assert env.S == 68 and env.A == 5 and env.H == 39
    assert env.nodes[int(np.argmax(env.rho0))] == (2, 6)
    assert (0, 5) not in env.nodes and (2, 5) in env.nodes and (6, 13) in env.nodes
    idx = {v: i for i, v in enumerate(env.nodes)}
    s = idx[(1, 3)]                               # moving right from the room edge hits a wall
    assert env.P[0, s, 1, s] == 1.0


def test_paper_grids_sizes_and_start_node_34():
    for name, (shape, H_code, _) in sm.PAPER_GRIDS.items():
        if name == "gp":        # a 900 x 900 Cholesky; its weights are checked on a 6 x 6 grid
            continue
        env = sm.paper_grid(name)
        assert env.H == H_code - 1
        start = env.nodes[int(np.argmax(env.rho0))]
        assert start == (sm.PAPER_START_NODE // shape[1], sm.PAPER_START_NODE % shape[1])
    items = sm.paper_grid("item_collection", instance=3)
    assert items.F.value(range(items.S)) == sum(sm.ITEM_DEMANDS)
    bimodal = sm.paper_grid("bimodal")
    x = np.linspace(-1, 1, 30)
    assert bimodal.F.w[31] == pytest.approx(1 / (1 + np.exp(-x[1] * x[1])))   # cell (1, 1)
    gp = sm.gp_sample_weights((6, 6), rng=0)
    assert gp.shape == (36,) and np.all(gp >= 0)
    assert not np.allclose(gp, sm.gp_sample_weights((6, 6), rng=1))


def test_graph_smdp_actions_move_to_sorted_neighbours():
    G = nx.path_graph(4)
    env = sm.graph_smdp(G, 3, start=1, radius=0)
    assert env.A == 3
    assert env.P[0, 1, 0, 1] == 1.0 and env.P[0, 1, 1, 0] == 1.0 and env.P[0, 1, 2, 2] == 1.0
    assert env.P[0, 0, 2, 0] == 1.0                       # node 0 has one neighbour: stay
    assert env.F.value([0, 1]) == 2.0


def test_epsilon_bandit_transitions():
    env = sm.epsilon_bandit(sm.modular(np.ones(4)), 3, 0.2)
    assert np.allclose(env.P[0, 2, 1], [0.05, 0.85, 0.05, 0.05])
    assert np.allclose(env.P[1, 0, 3], [0.05, 0.05, 0.05, 0.85])


@pytest.mark.parametrize("call, match", [
    (lambda: sm.grid_smdp((3, 3), 2, start=(5, 5)), r"start \(5, 5\) is not"),
    (lambda: sm.grid_smdp((3, 3), 2, walls=[(7, 7)]), r"walls contains \(7, 7\)"),
    (lambda: sm.grid_smdp((3, 3), 2, slip=1.5), "slip must be <= 1"),
    (lambda: sm.grid_smdp((3, 3), 0), "H must be >= 1"),
    (lambda: sm.grid_smdp((3, 3), 2, F=sm.modular(np.ones(4))), "n=4 elements but the MDP "
                                                                "has S=9"),
    (lambda: sm.grid_smdp((3, 3), 2, weights=-np.ones(9)), r"weights\[0\] is -1"),
    (lambda: sm.paper_grid("gorilla"), "unknown paper grid 'gorilla'"),
    (lambda: sm.epsilon_bandit(sm.modular(np.ones(3)), 2, -0.1), "eps must be >= 0"),
    (lambda: sm.graph_smdp(nx.path_graph(3), 2, start=9), "start 9 is not a node"),
])
def test_bad_environment_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_smdp_type_errors():
    env = sm.grid_smdp((2, 2), 2)
    with pytest.raises(TypeError, match="mdp must be a FiniteHorizonMDP"):
        sm.SubmodularMDP("mdp", env.F)
    with pytest.raises(TypeError, match="F must be a SetFunction"):
        sm.SubmodularMDP(env.mdp, lambda V: 0.0)
    with pytest.raises(TypeError, match="shape must be a"):
        sm.grid_smdp("3x3", 2)
