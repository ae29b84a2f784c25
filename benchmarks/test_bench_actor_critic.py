"""Speed of the rare-switching actor-critic on a Garnet with S = 20, A = 5, H = 10.

Target of the issue: >= 10^4 episodes per second (tabular), rare switching amortising the
planning. Measured side by side in one process (best of 3):

* ``bare``: the learner and the sampling kernel in a plain loop (what the learner costs);
* ``driver``: :func:`mdptheory.runner.online` with the exact value V^{pi_t}(rho0) of every
  episode's policy. The softmax actor changes every episode, so almost every episode costs an
  exact policy evaluation O(H S A B) on top of the learner;
* ``every``: the same learner refitting its critic after every episode (``switching="every"``,
  no resets), i.e. without rare switching: what the count-doubling rule saves.

* ``generic`` vs ``compiled``: the driver's generic loop (``policy()`` / ``update()`` from
  Python, one update kernel per episode) and the learner's compiled episode loop
  (:func:`mdptheory.kernels.actor_critic_loop.actor_critic_episodes`), same episodes, same
  table bit for bit, in CPU seconds (``time.process_time``, best of 3) on RiverSwim(6, H=20)
  and the Garnet (:func:`test_compiled_vs_generic_side_by_side`, printed).

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


# ------------------------------------------------------------------ generic vs compiled loop
K_SIDE = 5000
SIDE_ENVS = {"RiverSwim(6, H=20)": envs.river_swim(6, H=20), f"Garnet({S}, {A}, H={H})": MDP}
SIDE_VARIANTS = {
    "c_b=1 (theory)": {"bonus_scale": 1.0},
    "c_b=0.1": {"bonus_scale": 0.1},
    "c_b=0.1 no reset": {"bonus_scale": 0.1, "reset": False},
    "c_b=0.1 greedy": {"bonus_scale": 0.1, "eta": np.inf},
}


def best_cpu_time(fn, rounds=3):
    """Best of ``rounds`` calls in CPU seconds of this process (robust to other load)."""
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def measure(kw, mdp, n=K_SIDE):
    """Episodes/s of both loops over the same n episodes (same learner, same uniforms), and
    the compiled run's switches and exact evaluations."""
    def make():
        return ActorCritic(mdp.S, mdp.A, mdp.H, n, **kw)

    t_gen = best_cpu_time(lambda: online(make(), mdp, n, rng=1, compiled=False))
    t_cmp = best_cpu_time(lambda: online(make(), mdp, n, rng=1, compiled=True))
    df = online(make(), mdp, n, rng=1, compiled=True)
    return n / t_gen, n / t_cmp, int(df["switches"].iloc[-1]), int(df["evaluations"].iloc[-1])


def side_by_side() -> list[str]:
    """One line per (variant, environment): episodes/s of both loops and their ratio."""
    lines = [(f"{'variant':<18} {'environment':<20} {'generic/s':>10} {'compiled/s':>11} "
              f"{'ratio':>6} {'switches':>8} {'evals':>6}")]
    for name, kw in SIDE_VARIANTS.items():
        for env_name, mdp in SIDE_ENVS.items():
            gen, cmp_, sw, ev = measure(kw, mdp)
            lines.append(f"{name:<18} {env_name:<20} {gen:>10,.0f} {cmp_:>11,.0f} "
                         f"{cmp_ / gen:>5.1f}x {sw:>8} {ev:>6}")
    lines.append(f"K = {K_SIDE} episodes per run, CPU seconds (time.process_time), best of 3; "
                 f"evals: exact policy evaluations of the run (the softmax actor changes every "
                 f"episode, so most episodes cost one O(H S A B) evaluation in both loops)")
    return lines


def test_compiled_vs_generic_side_by_side(benchmark, capsys):
    """Both loops in one process, printed for the report (the benchmark fixture times the
    whole table once, so that ``--benchmark-only`` runs it)."""
    for kw in SIDE_VARIANTS.values():                       # compile both paths first
        for mdp in SIDE_ENVS.values():
            for compiled in (False, True):
                online(ActorCritic(mdp.S, mdp.A, mdp.H, 20, **kw), mdp, 20, rng=0,
                       compiled=compiled)
    lines = benchmark.pedantic(side_by_side, rounds=1, iterations=1)
    with capsys.disabled():
        print("\n" + "\n".join(lines))
