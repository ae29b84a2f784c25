"""Speed of the online driver with exact regret recording, against the bare learner loop.

Setting of the issue: UCBVI on the 5 x 5 GridWorld (S = 23, A = 4, H = 20). rlberry's UCBVI runs
~27 episodes/s there (figure quoted in the issue, not re-measured here: rlberry is not a
dependency); the target is >= 100x that, 2,700 episodes/s, *including* the exact value of
every episode's policy.

* ``driver``: :func:`mdptheory.runner.online` (exact V^{pi_k}(rho0) of every episode, cached on
  the policy's bytes, log-spaced checkpoints).
* ``bare``: the same learner and the same sampling kernel in a plain loop, no evaluation, no
  records. The driver's overhead is driver time / bare time - 1.

Run with ``make bench`` (or ``pytest benchmarks/test_bench_online.py --benchmark-enable``).
UCBVI-CH with the paper's constants changes its policy at nearly every episode during the first
thousands of episodes, so nearly every episode needs a fresh exact evaluation: the worst case for
the cache.
"""
import time

import numpy as np
import pytest

from mdptheory import envs
from mdptheory.algorithms import UCBVI
from mdptheory.kernels import online as kon
from mdptheory.runner import Episode, online

K = 3000
TARGET_EPISODES_PER_S = 2700.0          # 100 x rlberry's ~27 episodes/s
MDP = envs.grid_world_5x5(H=20)


def bare_loop(learner, mdp, K, rng):
    """The learner alone: sample with the same kernel, update; nothing recorded."""
    H = mdp.H
    P, r, rho0 = np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r), mdp.rho0
    U = rng.random((K, 2 * H + 1))
    for k in range(K):
        pi = learner.policy()
        s, a, rew = np.empty(H + 1, np.int64), np.empty(H, np.int64), np.empty(H)
        kon.sample_episode(P, r, pi, rho0, U[k], False, s, a, rew)
        learner.update(Episode(s, a, rew))


def _learner(bonus):
    return UCBVI(MDP.S, MDP.A, MDP.H, K, bonus=bonus)


def _warm():
    online(_learner("hoeffding"), MDP, 20, rng=0)          # compile everything once
    online(_learner("bernstein"), MDP, 20, rng=0)
    bare_loop(_learner("hoeffding"), MDP, 20, np.random.default_rng(0))


@pytest.mark.parametrize("bonus", ["hoeffding", "bernstein"])
def test_driver_with_exact_regret(benchmark, bonus):
    _warm()
    out = {}

    def run():
        out["df"] = online(_learner(bonus), MDP, K, rng=1)

    benchmark.pedantic(run, rounds=3, iterations=1)
    best = benchmark.stats.stats.min if benchmark.stats else None
    eps = K / best if best else K / out["df"]["wall_time"].iloc[-1]
    benchmark.extra_info["episodes_per_s"] = eps
    benchmark.extra_info["evaluations"] = int(out["df"]["evaluations"].iloc[-1])
    assert out["df"]["k"].iloc[-1] == K


@pytest.mark.parametrize("bonus", ["hoeffding", "bernstein"])
def test_bare_learner_loop(benchmark, bonus):
    _warm()
    benchmark.pedantic(lambda: bare_loop(_learner(bonus), MDP, K, np.random.default_rng(1)),
                       rounds=3, iterations=1)
    if benchmark.stats:
        benchmark.extra_info["episodes_per_s"] = K / benchmark.stats.stats.min


def best_time(fn, rounds=3):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def test_driver_meets_target_and_reports_overhead(capsys):
    """Both loops timed side by side in one process (best of 3), printed for the report."""
    _warm()
    lines, rates = [], {}
    for bonus in ("hoeffding", "bernstein"):
        t_drv = best_time(lambda b=bonus: online(_learner(b), MDP, K, rng=1))
        t_bare = best_time(lambda b=bonus: bare_loop(_learner(b), MDP, K,
                                                     np.random.default_rng(1)))
        name = {"hoeffding": "UCBVI-CH", "bernstein": "UCBVI-BF"}[bonus]
        lines.append(f"{name}: driver {K / t_drv:,.0f} episodes/s, bare "
                     f"{K / t_bare:,.0f} episodes/s, overhead {t_drv / t_bare - 1:+.0%} "
                     f"(GridWorld 5x5, H=20, K={K})")
        rates[bonus] = K / t_drv
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    # the target is stated against rlberry's UCBVI, whose bonus is Hoeffding-type: UCBVI-CH is
    # the like-for-like learner. UCBVI-BF's own planning is ~1.5x dearer; its rate is reported.
    assert rates["hoeffding"] >= TARGET_EPISODES_PER_S, lines[0]
