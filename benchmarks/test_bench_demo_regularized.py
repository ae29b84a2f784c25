"""Benchmarks of the demonstration-regularized solvers (episodes per second).

Run with:  python -m pytest benchmarks/test_bench_demo_regularized.py --benchmark-enable
No target is set by the issue; these figures size the experiments: the tabular solver
(RegBPITabular: count update, optimistic soft backup through the shared soft kernel, gap
certificate) driven by the Python loop (``run_episodes``) and by the compiled loop
(``run_compiled``, same episodes), and the linear solver (RegBPILinear) on the Python loop.
"""
import numpy as np

from mdptheory import envs
from mdptheory.algorithms import demo_regularized as dr
from mdptheory.models import FiniteHorizonMDP

K = 2000


def _mdp(S=10, A=4, H=5, seed=0):
    rng = np.random.default_rng(seed)
    return FiniteHorizonMDP(rng.dirichlet(np.ones(S), size=(H, S, A)), rng.random((H, S, A)),
                            np.full(S, 1.0 / S))


def _ref(H, S, A):
    return np.full((H, S, A), 1.0 / A)


def test_tabular_python_loop(benchmark):
    mdp = _mdp()

    def go():
        L = dr.RegBPITabular(10, 4, 5, _ref(5, 10, 4), 0.1, bonus_scale=0.1)
        return dr.run_episodes(L, mdp, K, rng=0, stop_on_certificate=False)

    go()
    out = benchmark.pedantic(go, rounds=3, iterations=1)
    assert out == (K, False)
    benchmark.extra_info["episodes_per_s"] = K / benchmark.stats.stats.median


def test_tabular_compiled_loop(benchmark):
    mdp = _mdp()

    def go():
        L = dr.RegBPITabular(10, 4, 5, _ref(5, 10, 4), 0.1, bonus_scale=0.1)
        return L.run_compiled(mdp, K, rng=0, checkpoints=[0, K])

    go()
    tr = benchmark.pedantic(go, rounds=3, iterations=1)
    assert tr.t[-1] == K
    benchmark.extra_info["episodes_per_s"] = K / benchmark.stats.stats.median


def test_linear_python_loop(benchmark):
    lm = envs.random_linear_mdp(20, 4, 4, 4, rng=0)

    def go():
        L = dr.RegBPILinear(lm, _ref(4, 20, 4), 0.1, K=K // 4)
        return dr.run_episodes(L, lm, K // 4, rng=0, stop_on_certificate=False)

    go()
    out = benchmark.pedantic(go, rounds=3, iterations=1)
    assert out == (K // 4, False)
    benchmark.extra_info["episodes_per_s"] = (K // 4) / benchmark.stats.stats.median
