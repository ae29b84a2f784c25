"""SubPO: exact visit-graph DP / evaluation / gradients against slow references, samplers,
estimators, learners and the eps-bandit tools (mdptheory.algorithms.subpo)."""
import functools
import itertools

import numpy as np
import pytest

from mdptheory.algorithms import subpo as sp
from mdptheory.bounds import subpo as bd
from mdptheory.envs import submodular as sm
from mdptheory.kernels import subpo as k
from mdptheory.models.finite import FiniteHorizonMDP
from mdptheory.testing.concentration import FALSE_ALARM, empirical_bernstein_halfwidth


def random_smdp(seed, S=4, A=2, H=3, family="weighted_coverage", stationary=False):
    """Small stochastic SMDP with time-dependent sparse transitions and a random reward."""
    rng = np.random.default_rng(seed)
    shape = (S, A) if stationary else (H, S, A)
    P = rng.dirichlet(np.ones(S), size=shape)
    P = np.where(rng.random(P.shape) < 0.4, 0.0, P)
    P[..., 0] += 1e-3
    P /= P.sum(-1, keepdims=True)
    rho0 = rng.dirichlet(np.ones(S))
    mdp = (FiniteHorizonMDP.stationary(P, np.zeros((S, A)), H, rho0) if stationary
           else FiniteHorizonMDP(P, np.zeros((H, S, A)), rho0))
    return sm.SubmodularMDP(mdp, sm.random_set_function(family, S, rng=rng))


def ref_value(smdp, pi=None):
    """Slow reference: memoised recursion over (h, s, visited frozenset); max over actions if
    pi is None (history-dependent optimum), else the Markov policy's value."""
    P, H, F = smdp.P, smdp.H, smdp.F

    @functools.lru_cache(maxsize=None)
    def W(h, s, V):
        if h == H:
            return 0.0
        qs = []
        for a in range(smdp.A):
            q = 0.0
            for t in np.flatnonzero(P[h, s, a] > 0):
                V2 = V | {int(t)}
                gain = F.value(sorted(V2)) - F.value(sorted(V))
                q += P[h, s, a, t] * (gain + W(h + 1, int(t), V2))
            qs.append(q)
        return max(qs) if pi is None else float(np.dot(pi[h, s], qs))

    return sum(smdp.rho0[s] * (F.value([s]) + W(0, s, frozenset({s})))
               for s in range(smdp.S) if smdp.rho0[s] > 0)


def softmax(z):
    return sp._softmax(z)


# ------------------------------------------------------------------ exact ground truth

@pytest.mark.parametrize("seed", range(4))
def test_optimum_equals_slow_recursion_on_stochastic_smdps(seed):
    env = random_smdp(seed, stationary=seed % 2 == 0)
    assert sp.optimum(env).value == pytest.approx(ref_value(env), abs=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_exact_value_equals_slow_recursion(seed):
    env = random_smdp(seed)
    pi = np.random.default_rng(seed).dirichlet(np.ones(env.A), size=(env.H, env.S))
    assert sp.exact_value(env, pi) == pytest.approx(ref_value(env, pi), abs=1e-10)


@pytest.mark.parametrize("family", sm.FAMILIES)
def test_dp_equals_bruteforce_sequences_on_deterministic_grids(family):
    env = sm.random_grid_smdp((3, 3), 5, family, rng=7, start=(1, 1))
    opt = sp.optimum(env)
    bf, seq = sp.bruteforce_optimum(env)
    assert opt.value == pytest.approx(bf, abs=1e-10)
    pi = np.zeros((env.H, env.S, env.A))           # the open-loop sequence as a Markov policy
    pi[np.arange(env.H), :, list(seq)] = 1.0
    assert sp.exact_value(env, pi) == pytest.approx(bf, abs=1e-10)


def test_optimal_node_policy_attains_opt_and_dominates_random_policies():
    env = random_smdp(11, S=5, A=3, H=4)
    opt = sp.optimum(env)
    assert sp.exact_value_history(env, opt.policy) == pytest.approx(opt.value, abs=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(20):
        pi = rng.dirichlet(np.ones(env.A), size=(env.H, env.S))
        assert sp.exact_value(env, pi) <= opt.value + 1e-12
        node_pi = rng.dirichlet(np.ones(env.A), size=opt.graph.n_decision_nodes)
        assert sp.exact_value_history(env, node_pi) <= opt.value + 1e-12


def test_visit_graph_layers_hold_reachable_pairs():
    env = sm.grid_smdp((2, 2), 2, start=(0, 0))
    g = sp.visit_graph(env)
    layer = {(1 << 0, 0)}                          # (visited mask, state); (0,0) is state 0
    for h in range(2):
        ref = {(M | (1 << int(t)), int(t)) for M, s in layer for a in range(env.A)
               for t in np.flatnonzero(env.P[h, s, a])}
        got = set(zip(g.node_M[g.lay_ptr[h + 1]:g.lay_ptr[h + 2]].tolist(),
                      g.node_s[g.lay_ptr[h + 1]:g.lay_ptr[h + 2]].tolist()))
        assert got == ref
        layer = ref
    assert list(g.layer_sizes()) == [1, 3, 7]
    assert np.all((g.node_M >> g.node_s) & 1)      # the current state is always visited
    assert sp.visit_graph(env) is g                 # cached


def test_exact_value_equals_monte_carlo_mean():
    env = sm.random_grid_smdp((3, 3), 4, "facility_location", slip=0.2, rng=3)
    pi = np.random.default_rng(1).dirichlet(np.ones(env.A), size=(env.H, env.S))
    batch = sp.sample_markov(env, pi, 40_000, rng=0)
    # returns F(visited) lie in [0, F(all states)]: empirical Bernstein, false alarm <= 1e-6
    t = empirical_bernstein_halfwidth(batch.returns[:, None], env.F.value(range(env.S)),
                                      FALSE_ALARM)
    assert abs(batch.returns.mean() - sp.exact_value(env, pi)) <= t[0]


def test_telescoped_gains_equal_f_of_visited_set():
    env = sm.random_grid_smdp((3, 3), 5, "item_collection", slip=0.3, rng=4)
    pi = np.full((env.H, env.S, env.A), 1.0 / env.A)
    batch = sp.sample_markov(env, pi, 50, rng=2)
    for b in range(50):
        assert batch.returns[b] == pytest.approx(env.F.value(batch.s[b]), abs=1e-12)
        prefix = [env.F.value(batch.s[b, :j + 1]) for j in range(env.H + 1)]
        assert np.allclose(np.diff(prefix), batch.gains[b])


# ------------------------------------------------------------------ exact gradients

def _fd(f, x, E, eps=1e-6):
    return (f(x + eps * E) - f(x - eps * E)) / (2 * eps)


@pytest.mark.parametrize("seed", range(3))
def test_exact_softmax_gradient_matches_finite_differences(seed):
    env = random_smdp(seed, S=4, A=3, H=3)
    rng = np.random.default_rng(seed)
    th, E = rng.normal(size=(2, env.H, env.S, env.A))
    _, g = sp.exact_gradient(env, softmax(th))
    fd = _fd(lambda t: sp.exact_value(env, softmax(t)), th, E)
    assert (g * E).sum() == pytest.approx(fd, abs=1e-7)


def test_exact_direct_gradient_matches_finite_differences_of_the_multilinear_value():
    env = random_smdp(5, S=4, A=3, H=3)
    pi = np.random.default_rng(5).dirichlet(np.ones(3), size=(3, 4))
    _, G = sp.exact_gradient(env, pi, parametrization="direct")
    h, s, a = 1, 2, 0
    for delta in (0.3, -0.2):                     # J is linear in the single entry pi_h(a|s)
        pi2 = pi.copy()
        pi2[h, s, a] += delta

        def val(p):
            g = sp.visit_graph(env)
            return sp._evaluate(g, p, True)[0]
        assert val(pi2) - val(pi) == pytest.approx(delta * G[h, s, a], abs=1e-12)


def test_history_and_linear_gradients_match_finite_differences():
    env = random_smdp(8, S=4, A=2, H=3)
    g = sp.visit_graph(env)
    rng = np.random.default_rng(8)
    th, E = rng.normal(size=(2, g.n_decision_nodes, env.A))
    _, gh = sp.exact_gradient_history(env, softmax(th))
    assert (gh * E).sum() == pytest.approx(
        _fd(lambda t: sp.exact_value_history(env, softmax(t)), th, E), abs=1e-7)
    theta, Et = rng.normal(size=(2, env.H, env.S, env.A))
    psi, Ep = rng.normal(size=(2, env.S, env.A))
    _, gt, gp = sp.exact_linear_gradient(env, theta, psi)

    def J(t, p):
        return sp.exact_value_history(env, sp.linear_node_policy(env, t, p))
    fd = (J(theta + 1e-6 * Et, psi + 1e-6 * Ep) - J(theta - 1e-6 * Et, psi - 1e-6 * Ep)) / 2e-6
    assert (gt * Et).sum() + (gp * Ep).sum() == pytest.approx(fd, abs=1e-7)


def test_modular_value_gradient_matches_finite_differences_and_optimum():
    env = random_smdp(9, S=4, A=3, H=3)
    rng = np.random.default_rng(9)
    th, E = rng.normal(size=(2, 3, 4, 3))
    _, g = sp.modular_value_gradient(env, softmax(th))
    fd = _fd(lambda t: sp.modular_value_gradient(env, softmax(t))[0], th, E)
    assert (g * E).sum() == pytest.approx(fd, abs=1e-7)
    best = sp.modular_value_gradient(env, sp.modular_optimal_policy(env))[0]
    for _ in range(10):
        assert sp.modular_value_gradient(env, rng.dirichlet(np.ones(3), size=(3, 4)))[0] <= \
            best + 1e-12


# ------------------------------------------------------------------ estimators

def test_estimator_weights_on_a_hand_batch():
    batch = sp.Batch(s=np.array([[0, 1, 1, 2]]), a=np.zeros((1, 3), int),
                     gains=np.array([[2.0, 0.0, 1.0]]), f0=np.array([3.0]))
    w = lambda e, **kw: sp.estimator_weights(batch, estimator=e, baseline="none", **kw)[0]
    assert np.allclose(w("reward_to_go"), [3.0, 1.0, 1.0])
    assert np.allclose(w("myopic_prefix"), [5.0, 5.0, 6.0])     # F(tau_{0:i+1})
    assert np.allclose(w("reinforce"), [6.0, 6.0, 6.0])
    sing = np.array([3.0, 10.0, 20.0])
    assert np.allclose(w("reward_to_go", reward="modular", singletons=sing), [40.0, 30.0, 20.0])
    assert np.allclose(w("myopic_prefix", reward="modular", singletons=sing, return_scale=2.0),
                       [6.5, 11.5, 21.5])


def test_leave_one_out_baseline():
    gains = np.array([[1.0, 0.0], [3.0, 2.0], [2.0, 1.0]])
    batch = sp.Batch(s=np.zeros((3, 3), int), a=np.zeros((3, 2), int), gains=gains,
                     f0=np.zeros(3))
    w = sp.estimator_weights(batch, estimator="reward_to_go", baseline="batch_mean")
    G = np.array([[1.0, 0.0], [5.0, 2.0], [3.0, 1.0]])
    assert np.allclose(w[0], G[0] - (G[1] + G[2]) / 2)
    assert np.allclose(w[1], G[1] - (G[0] + G[2]) / 2)


@pytest.mark.parametrize("policy", ["markov", "history", "linear"])
def test_reward_to_go_estimator_is_unbiased(policy):
    env = random_smdp(3, S=4, A=2, H=3)
    algo = sp.SubPO(env, policy=policy, batch_size=100, init="random", rng=1)
    _, exact = algo.exact_gradient()
    n = 1000
    ests = [algo.gradient_estimate(algo.sample()) for _ in range(n)]
    # a batch estimate's coordinate lies in [-W, W] (theta) or [-H W, H W] (psi), W = F(all)
    # - min F({v}) (see proofs_check/subpo.py): empirical Bernstein, false alarm <= 1e-6 in all
    W = env.F.value(range(env.S)) - float(np.min(env.F.singletons()))
    d = sum(v.size for v in exact.values())
    for key in exact:
        X = np.stack([e[key] for e in ests]).reshape(n, -1)
        width = 2 * W * (env.H if key == "psi" else 1)
        t = empirical_bernstein_halfwidth(X, width, FALSE_ALARM / d)
        assert np.all(np.abs(X.mean(axis=0) - exact[key].ravel()) <= t + 1e-12)


def test_myopic_prefix_estimates_the_myopic_gradient_not_grad_j():
    env = sm.random_grid_smdp((2, 3), 3, "weighted_coverage", slip=0.2, rng=2)
    algo = sp.SubPO(env, estimator="myopic_prefix", batch_size=500, init="random", rng=3)
    pi = softmax(algo.params["theta"])
    myopic = sp.exact_myopic_gradient(env, pi)
    _, full = sp.exact_gradient(env, pi)
    X = np.stack([algo.gradient_estimate(algo.sample())["theta"] for _ in range(100)])
    # A separation check at a fixed seed, not a test with a false-alarm rate: the two targets
    # differ by 0.026 here, while a distribution-free interval (empirical Bernstein, 1e-6) for
    # 100 batches is 0.26 wide; telling them apart with a stated rate would need ~10^5
    # trajectories. Unbiasedness with a stated rate: test_reward_to_go_estimator_is_unbiased.
    se = X.std(axis=0) / 10 + 1e-12
    assert np.max(np.abs(X.mean(0) - myopic) / se) < 5.0
    assert np.abs(myopic - full).max() > 10 * se.max()


# ------------------------------------------------------------------ kernels: compiled == python

def test_compiled_kernels_equal_python():
    env = random_smdp(2, S=4, A=3, H=3)
    g = sp.visit_graph(env)
    pi = np.random.default_rng(0).dirichlet(np.ones(3), size=(3, 4))
    W1, W2 = np.empty(g.n_nodes), np.empty(g.n_nodes)
    a1, a2 = np.empty(g.n_decision_nodes, np.int64), np.empty(g.n_decision_nodes, np.int64)
    args = (g.lay_ptr, g.node_s, g.node_F, g.child, g.nsucc, g.psucc)
    k.optimal_values(*args, W1, a1)
    k.optimal_values.py_func(*args, W2, a2)
    assert np.allclose(W1, W2) and np.array_equal(a1, a2)
    Q1, Q2 = np.empty((g.n_decision_nodes, 3)), np.empty((g.n_decision_nodes, 3))
    k.policy_values(*args, pi, True, W1, Q1)
    k.policy_values.py_func(*args, pi, True, W2, Q2)
    assert np.allclose(Q1, Q2) and np.allclose(W1, W2)
    d1, d2 = np.empty(g.n_nodes), np.empty(g.n_nodes)
    k.node_occupancy(g.lay_ptr, g.node_s, g.child, g.nsucc, g.psucc, pi, True, g.root_w, d1)
    k.node_occupancy.py_func(g.lay_ptr, g.node_s, g.child, g.nsucc, g.psucc, pi, True,
                             g.root_w, d2)
    assert np.allclose(d1, d2)
    keys1, ch1 = k.expand_layer(g.node_M[:g.lay_ptr[1]], g.node_s[:g.lay_ptr[1]], 0, g.succ,
                                g.nsucc)
    keys2, ch2 = k.expand_layer.py_func(g.node_M[:g.lay_ptr[1]], g.node_s[:g.lay_ptr[1]], 0,
                                        g.succ, g.nsucc)
    assert np.array_equal(keys1, keys2) and np.array_equal(ch1, ch2)


def test_compiled_sampler_equals_python_with_the_same_seed():
    env = sm.random_grid_smdp((2, 3), 4, "f_alpha", slip=0.3, rng=5)
    pi = np.random.default_rng(0).dirichlet(np.ones(env.A), size=(env.H, env.S))
    succ, nsucc, psucc = sp._transitions(env)
    out = []
    for fn in (k.sample_markov, k.sample_markov.py_func):
        s, a, gains, f0 = sp._alloc(30, env.H, env.A)
        fn(succ, nsucc, psucc, pi, env.rho0, *env.F.kernel_args(), np.random.default_rng(4),
           s, a, gains, f0)
        out.append((s, a, gains, f0))
    for x, y in zip(*out):
        assert np.allclose(x, y)


def test_table_and_structured_samplers_agree():
    env = sm.random_grid_smdp((2, 3), 4, "weighted_coverage", slip=0.3, rng=6)
    tab = sm.SubmodularMDP(env.mdp, sm.SetFunction.from_table(env.F.table()))
    pi = np.full((env.H, env.S, env.A), 0.2)
    b1 = sp.sample_markov(env, pi, 100, rng=9)
    b2 = sp.sample_markov(tab, pi, 100, rng=9)
    assert np.array_equal(b1.s, b2.s) and np.allclose(b1.gains, b2.gains)


# ------------------------------------------------------------------ learners

def test_exact_npg_on_history_policies_improves_monotonically_to_opt():
    # on the augmented (h, s, M) MDP, softmax NPG with exact Q is soft policy iteration:
    # monotone improvement and O(1/T) convergence to OPT (Agarwal et al. 2021, Thm 5.3)
    env = random_smdp(12, S=4, A=3, H=3)
    algo = sp.SubPO(env, policy="history", optimizer="npg", gradient="exact", lr=10.0)
    vals = []
    for _ in range(200):
        algo.step()
        vals.append(algo.value())
    assert np.all(np.diff(vals) >= -1e-12)
    assert sp.optimum(env).value - vals[-1] <= 1e-3 * sp.optimum(env).value


def test_sampled_subpo_improves_on_the_uniform_policy_and_beats_modpo():
    env = sm.grid_smdp((1, 5), 4, start=(0, 2), footprint="self")   # a corridor: go one way
    algo = sp.SubPO(env, batch_size=64, lr=0.2, rng=0)
    J0 = algo.value()
    algo.fit(150)
    assert algo.value() > J0 + 1.0
    assert sp.optimum(env).value == 4.0   # one step one way, three the other
    mod = sp.ModPO(env, batch_size=64, lr=0.2, rng=0)
    mod.fit(150)
    assert algo.value() >= mod.value() - 1e-9


def test_entropy_gradient_and_bonus():
    z = np.random.default_rng(0).normal(size=(3, 4))
    E = np.random.default_rng(1).normal(size=z.shape)

    def ent(x):
        p = softmax(x)
        return -(p * np.log(p)).sum()
    fd = (ent(z + 1e-6 * E) - ent(z - 1e-6 * E)) / 2e-6
    assert (sp._entropy_grad(softmax(z)) * E).sum() == pytest.approx(fd, abs=1e-7)
    env = sm.random_grid_smdp((3, 3), 4, "weighted_coverage", rng=2)
    runs = {}
    for c in (0.0, 50.0):
        algo = sp.SubPO(env, batch_size=32, lr=0.3, ent_coef=c, rng=0)
        algo.fit(60)
        p = algo.policy()
        runs[c] = -(p * np.log(np.maximum(p, 1e-300))).sum(-1).mean()
    assert runs[50.0] > runs[0.0]


def test_same_seed_same_run_different_seed_different_run():
    env = sm.random_grid_smdp((3, 3), 3, "weighted_coverage", slip=0.2, rng=1)
    runs = [sp.SubPO(env, batch_size=16, rng=s).fit(5)["mean_F"].to_numpy() for s in (3, 3, 4)]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])


def test_greedy_planner_on_a_decoy_instance():
    # path 0-1-2-3; start at 1; cell 0 worth 1 (one step left), cell 3 worth 3 (two steps
    # right). Greedy takes the immediate gain (left) and cannot reach 3 within H = 2.
    import networkx as nx
    F = sm.modular([1.0, 0.0, 0.0, 3.0])
    env = sm.graph_smdp(nx.path_graph(4), 2, F=F, start=1)
    assert sp.exact_value_history(env, sp.greedy_policy(env)) == 1.0
    assert sp.optimum(env).value == 3.0


# ------------------------------------------------------------------ eps-bandit

def test_bandit_gradient_and_optimum():
    F = sm.random_set_function("weighted_coverage", 4, rng=2)
    env = sm.epsilon_bandit(F, 3, 0.1)
    rng = np.random.default_rng(0)
    x = rng.dirichlet(np.ones(5), size=3)[:, :4]
    x[:, 0] = 0.0
    _, grad = sp.bandit_value_grad(env, x)
    E = rng.normal(size=x.shape)
    E[:, 0] = 0.0
    fd = (sp.bandit_value_grad(env, x + 1e-6 * E)[0]
          - sp.bandit_value_grad(env, x - 1e-6 * E)[0]) / 2e-6
    assert (grad * E).sum() == pytest.approx(fd, abs=1e-8)
    best = max(sp.exact_value(env, np.eye(4)[list(seq)])
               for seq in itertools.product(range(4), repeat=3))
    assert sp.bandit_optimum(env)[0] == pytest.approx(best, abs=1e-12)
    env0 = sm.epsilon_bandit(F, 3, 0.0)                     # deterministic: = history OPT
    assert sp.bandit_optimum(env0)[0] == pytest.approx(sp.optimum(env0).value, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_frank_wolfe_and_projected_gradient_meet_theorem_3(seed):
    F = sm.random_set_function(sm.FAMILIES[seed], 5, rng=seed)
    env = sm.epsilon_bandit(F, 3, 0.1)
    opt = sp.bandit_optimum(env)[0]
    fw = sp.frank_wolfe_bandit(env, 50)
    assert np.all(fw.x >= 0) and np.all(fw.x.sum(1) <= 1 + 1e-12)
    L, D2 = sp.bandit_smoothness(env, 0.1)
    assert fw.value >= bd.subpo_frank_wolfe_bandit(opt, 50, L, D2) - 1e-12
    assert fw.value >= (1 - 1 / np.e) * opt
    x0 = np.random.default_rng(seed).dirichlet(np.ones(6), size=3)[:, :5]
    pga = sp.projected_gradient_bandit(env, x0)
    assert pga.stationarity <= 1e-9
    assert pga.value >= bd.subpo_gradient_bandit(opt) - 1e-12


def test_bounds_values():
    assert bd.subpo_frank_wolfe_bandit(2.0) == pytest.approx(2 * (1 - np.exp(-1)))
    assert bd.subpo_frank_wolfe_bandit(2.0, 10, 1.0, 4.0) == pytest.approx(
        2 * (1 - np.exp(-1)) - 0.2)
    assert bd.subpo_gradient_bandit(3.0) == 1.5
    assert bd.subpo_curvature(4.0, 0.25) == 3.0
    with pytest.raises(ValueError, match="curvature c must lie in"):
        bd.subpo_curvature(1.0, 1.5)
    from mdptheory.bounds import REGISTRY
    assert {"subpo_frank_wolfe_bandit", "subpo_gradient_bandit", "subpo_curvature"} <= set(REGISTRY)


# ------------------------------------------------------------------ bad input

@pytest.fixture(scope="module")
def env():
    return sm.random_grid_smdp((2, 2), 2, "coverage", rng=0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(policy="mlp"), "policy must be one of"),
    (dict(estimator="gae"), "estimator must be one of"),
    (dict(baseline="critic"), "baseline must be one of"),
    (dict(optimizer="rmsprop"), "optimizer must be one of"),
    (dict(reward="entropy"), "reward must be one of"),
    (dict(lr=0.0), "lr must be > 0"),
    (dict(lr=-1.0), "lr must be > 0"),
    (dict(ent_coef=-0.1), "ent_coef must be >= 0"),
    (dict(batch_size=1), "batch_size must be >= 2 with baseline='batch_mean'"),
    (dict(return_scale=0.0), "return_scale must be > 0"),
    (dict(policy="linear", optimizer="npg"), "optimizer='npg' is the tabular"),
    (dict(gradient="exact", estimator="myopic_prefix"), "gradient='exact' is the exact"),
    (dict(init="zeros"), "init must be one of"),
    (dict(policy="linear", ent_coef=0.1), "ent_coef > 0"),
    (dict(gradient="exact", ent_coef=0.1), "ent_coef > 0"),
])
def test_subpo_bad_arguments(env, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sp.SubPO(env, **kwargs)


def test_exact_methods_bad_input(env):
    with pytest.raises(ValueError, match=r"pi must have shape \(2, 4, 5\)"):
        sp.exact_value(env, np.full((2, 3, 5), 0.2))
    with pytest.raises(ValueError, match=r"pi\[0, 0\] sums to"):
        sp.exact_value(env, np.full((2, 4, 5), 0.3))
    with pytest.raises(ValueError, match=r"pi_node must have shape"):
        sp.exact_value_history(env, np.full((3, 5), 0.2))
    with pytest.raises(ValueError, match="parametrization must be one of"):
        sp.exact_gradient(env, np.full((2, 4, 5), 0.2), parametrization="natural")
    with pytest.raises(TypeError, match="smdp must be a SubmodularMDP"):
        sp.optimum(env.mdp)
    with pytest.raises(ValueError, match="needs a deterministic SMDP"):
        sp.bruteforce_optimum(sm.grid_smdp((2, 2), 2, slip=0.1))
    with pytest.raises(ValueError, match="need S <= 57, got S=68"):
        sp.visit_graph(sm.two_rooms(3))
    with pytest.raises(ValueError, match="exceeds max_nodes=10"):
        sp.visit_graph(sm.grid_smdp((3, 3), 4), max_nodes=10)
    with pytest.raises(ValueError, match="null_action is 7"):
        sp.frank_wolfe_bandit(env, 3, null_action=7)
    with pytest.raises(ValueError, match="K must be >= 1"):
        sp.frank_wolfe_bandit(env, 0)
    with pytest.raises(ValueError, match=r"x0 must have shape \(2, 5\)"):
        sp.projected_gradient_bandit(env, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="batch_mean' \\(leave-one-out\\) needs a batch"):
        sp.estimator_weights(sp.Batch(np.zeros((1, 3), int), np.zeros((1, 2), int),
                                      np.zeros((1, 2)), np.zeros(1)))
    with pytest.raises(ValueError, match="reward='modular' needs singletons"):
        sp.estimator_weights(sp.Batch(np.zeros((2, 3), int), np.zeros((2, 2), int),
                                      np.zeros((2, 2)), np.zeros(2)), reward="modular")
    with pytest.raises(ValueError, match="B must be >= 1"):
        sp.sample_markov(env, np.full((2, 4, 5), 0.2), 0, rng=0)
    with pytest.raises(TypeError, match="rng must be"):
        sp.sample_markov(env, np.full((2, 4, 5), 0.2), 3, rng="seed")


def test_paper_presets_use_the_released_codes_return_scale():
    # MAX_Ret = 2 (H_code + 1) with H_code = H + 1: 82 for H = 39, 162 for H = 79
    for name, preset in sp.PAPER_PRESETS.items():
        assert preset["return_scale"] == 2 * (preset["H"] + 2), name


def test_improvement_gap_is_zero_at_stationary_points_and_not_on_plateaus():
    env = sm.grid_smdp((2, 3), 3, weights=np.arange(1.0, 7.0), start=(0, 0))
    opt = sp.optimum(env)
    # a deterministic optimal Markov policy of a deterministic SMDP is stationary (Prop. 2)
    best = np.full((env.H, env.S, env.A), 1e-12)
    acts = sp.bruteforce_optimum(env)[1]
    nxt = np.argmax(env.P, axis=-1)
    s = int(np.argmax(env.rho0))
    for h, a in enumerate(acts):
        best[h, s, a] = 1.0
        s = int(nxt[h, s, a])
    best /= best.sum(-1, keepdims=True)
    assert sp.exact_value(env, best) == pytest.approx(opt.value)
    assert sp.improvement_gap(env, best) == pytest.approx(0.0, abs=1e-9)
    # a near-deterministic policy that stays put is a softmax plateau: the logit gradient is
    # tiny there, the improvement gap is not
    stay = np.full((env.H, env.S, env.A), 1e-9)
    stay[..., 0] = 1.0
    stay /= stay.sum(-1, keepdims=True)
    _, g_logits = sp.exact_gradient(env, stay)
    gap = sp.improvement_gap(env, stay)
    assert np.abs(g_logits).max() < 1e-6 < gap
    # the gap is the best first-order improvement over policies: check against vertices
    _, G = sp.exact_gradient(env, stay, parametrization="direct")
    brute = sum(max(G[h, s] @ (np.eye(env.A)[a] - stay[h, s]) for a in range(env.A))
                for h in range(env.H) for s in range(env.S))
    assert gap == pytest.approx(brute)


def test_best_path_proxy_is_a_feasible_path_value_below_opt():
    for seed in range(3):
        env = sm.random_grid_smdp((3, 3), 4, "weighted_coverage", rng=seed)
        val, acts = sp.best_path_proxy(env, beam=5)
        nxt = np.argmax(env.P, axis=-1)
        s = int(np.argmax(env.rho0))
        visited = {s}
        for h, a in enumerate(acts):
            s = int(nxt[h, s, a])
            visited.add(s)
        assert val == pytest.approx(env.F.value(sorted(visited)))    # the path's own value
        assert val <= sp.optimum(env).value + 1e-9
        big, _ = sp.best_path_proxy(env, beam=10_000)                 # exhaustive here
        assert big == pytest.approx(sp.optimum(env).value)
    with pytest.raises(ValueError, match="deterministic"):
        sp.best_path_proxy(sm.random_grid_smdp((2, 2), 2, "coverage", slip=0.1, rng=0))
