"""Benchmarks of SubPO's exact ground truth and sampler.

Run with:  python -m pytest benchmarks/test_bench_subpo.py --benchmark-enable
Targets (issue 7): the (h, s, visited-set) DP on |S| = 14, H = 10, A = 5 (dense random
transitions, the worst case: every visited set containing the start is reachable) under 10 s,
visit graph included; exact J(pi) and its gradient on a 5 x 5 grid with H = 8 under 1 s, graph
included. Each round builds a fresh SMDP, so the graph construction is timed too.
"""
import numpy as np
import pytest

from mdptheory.algorithms import subpo as sp
from mdptheory.envs import submodular as sm
from mdptheory.models.finite import FiniteHorizonMDP


def dense_smdp(S=14, A=5, H=10, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    rho0 = np.zeros(S)
    rho0[0] = 1.0
    mdp = FiniteHorizonMDP.stationary(P, np.zeros((S, A)), H, rho0)
    return sm.SubmodularMDP(mdp, sm.random_set_function("weighted_coverage", S, rng=seed))


def _dp_from_scratch():
    return sp.optimum(dense_smdp()).value


def _grid_value_and_gradient():
    env = sm.grid_smdp((5, 5), 8, start=(2, 2), slip=0.1,
                       weights=np.random.default_rng(0).random(25))
    pi = np.random.default_rng(1).dirichlet(np.ones(env.A), size=(env.H, env.S))
    return sp.exact_gradient(env, pi)


def test_dp_s14_h10_a5_dense(benchmark):
    _dp_from_scratch()                                     # compile outside the timing
    value = benchmark.pedantic(_dp_from_scratch, rounds=3, iterations=1)
    g = sp.visit_graph(dense_smdp())
    benchmark.extra_info["nodes"] = g.n_nodes
    assert np.isfinite(value)


def test_dp_only_given_graph(benchmark):
    env = dense_smdp()
    g = sp.visit_graph(env)
    W = np.empty(g.n_nodes)
    act = np.empty(g.n_decision_nodes, np.int64)
    from mdptheory.kernels import subpo as k
    benchmark(k.optimal_values, g.lay_ptr, g.node_s, g.node_F, g.child, g.nsucc, g.psucc, W, act)
    assert np.isfinite(W).all()


def test_exact_value_and_gradient_5x5_h8(benchmark):
    _grid_value_and_gradient()
    J, grad = benchmark(_grid_value_and_gradient)
    assert np.isfinite(J) and grad.shape == (8, 25, 5)


@pytest.mark.parametrize("policy", ["markov", "linear"])
def test_two_rooms_epoch(benchmark, policy):
    """One SubPO epoch on the two-rooms map at the code's batch size (B = 3000, H = 39)."""
    algo = sp.SubPO(sm.two_rooms(), policy=policy, batch_size=3000, rng=0)
    algo.step()
    benchmark.pedantic(algo.step, rounds=5, iterations=1)
