"""Speed of the rare-switching actor-critic on a Garnet with S = 20, A = 5, H = 10.

Target of the issue: >= 10^4 episodes per second (tabular), rare switching amortising the
planning. Measured side by side in one process (best of 3):

* ``bare``: the learner and the sampling kernel in a plain loop (what the learner costs);
* ``driver``: :func:`mdptheory.runner.online` with the exact value V^{pi_t}(rho0) of every
  episode's policy. The softmax actor changes every episode, so almost every episode costs an
  exact policy evaluation O(H S A B) on top of the learner;
* ``every``: the same learner refitting its critic after every episode (``switching="every"``,
  no resets), i.e. without rare switching: what the count-doubling rule saves.

Both the theory constant (c_b = 1: the critic stays at its clip for long, the actor is uniform,
so the driver's cache hits) and the practical one (c_b = 0.1: a new policy every episode) are
timed; the assertion is on the learner's rate (bare loop, c_b = 0.1) and on the driver's with
c_b = 1. Run with ``make bench`` or ``pytest benchmarks/test_bench_actor_critic.py
--benchmark-enable``; the figures are printed.
"""
import time

import numpy as np
import pytest

from mdptheory import envs
from mdptheory.algorithms.actor_critic import ActorCritic
from mdptheory.kernels import online as kon
from mdptheory.runner import Episode, online

S, A, H = 20, 5, 10
K = 10_000
TARGET_EPISODES_PER_S = 10_000.0
MDP = envs.garnet(S, A, 5, H=H, rng=0)


def bare_loop(learner, K, rng):
    """The learner alone: sample with the driver's kernel, update; nothing recorded."""
    P, r, rho0 = np.ascontiguousarray(MDP.P), np.ascontiguousarray(MDP.r), MDP.rho0
    U = rng.random((K, 2 * H + 1))
    for k in range(K):
        pi = learner.policy()
        s, a, rew = np.empty(H + 1, np.int64), np.empty(H, np.int64), np.empty(H)
        kon.sample_episode(P, r, pi, rho0, U[k], False, s, a, rew)
        learner.update(Episode(s, a, rew))


def _learner(c_b, **kw):
    return ActorCritic(S, A, H, K, bonus_scale=c_b, **kw)


def _warm():
    for c_b in (1.0, 0.1):
        online(_learner(c_b), MDP, 50, rng=0)
        bare_loop(_learner(c_b, switching="every", reset=False), 50, np.random.default_rng(0))


def best_time(fn, rounds=3):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


@pytest.mark.parametrize("c_b", [1.0, 0.1])
def test_bare_learner_loop(benchmark, c_b):
    _warm()
    benchmark.pedantic(lambda: bare_loop(_learner(c_b), K, np.random.default_rng(1)),
                       rounds=3, iterations=1)
    if benchmark.stats:
        benchmark.extra_info["episodes_per_s"] = K / benchmark.stats.stats.min


@pytest.mark.parametrize("c_b", [1.0, 0.1])
def test_driver_with_exact_regret(benchmark, c_b):
    _warm()
    out = {}

    def run():
        out["df"] = online(_learner(c_b), MDP, K, rng=1)

    benchmark.pedantic(run, rounds=3, iterations=1)
    if benchmark.stats:
        benchmark.extra_info["episodes_per_s"] = K / benchmark.stats.stats.min
    benchmark.extra_info["switches"] = int(out["df"]["switches"].iloc[-1])
    benchmark.extra_info["evaluations"] = int(out["df"]["evaluations"].iloc[-1])


def test_actor_critic_meets_target_and_rare_switching_pays(capsys):
    """All variants timed in one process (best of 3), printed for the report."""
    _warm()
    lines, rates = [], {}
    for c_b in (1.0, 0.1):
        res = {}
        t_drv = best_time(lambda c=c_b, out=res: out.update(df=online(_learner(c), MDP, K,
                                                                         rng=1)))
        t_bare = best_time(lambda c=c_b: bare_loop(_learner(c), K, np.random.default_rng(1)))
        t_every = best_time(lambda c=c_b: bare_loop(_learner(c, switching="every", reset=False),
                                                    K, np.random.default_rng(1)), rounds=1)
        df = res["df"]
        rates[c_b] = (K / t_bare, K / t_drv)
        lines.append(f"c_b={c_b}: learner {K / t_bare:,.0f} episodes/s, driver with exact regret "
                     f"{K / t_drv:,.0f} episodes/s ({int(df['switches'].iloc[-1])} switches, "
                     f"{int(df['evaluations'].iloc[-1])} exact evaluations), refit every "
                     f"episode {K / t_every:,.0f} episodes/s (Garnet S={S}, A={A}, H={H}, K={K})")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert rates[0.1][0] >= TARGET_EPISODES_PER_S, lines[1]
    assert rates[1.0][1] >= TARGET_EPISODES_PER_S, lines[0]
