"""Speed of the online driver with exact regret recording: compiled episode loop vs generic loop,
side by side in one run, with the per-episode cost model.

Setting of the issue: UCBVI on RiverSwim(6, H = 20) and on the 5 x 5 GridWorld (S = 23, A = 4,
H = 20). rlberry's UCBVI runs ~27 episodes/s on the grid (figure quoted in the issue, not
re-measured here: rlberry is not a dependency); the first target was >= 100x that, 2,700
episodes/s, *including* the exact value of every episode's policy. The compiled loops aim at
>= 5x the generic loop and >= 300,000 episodes/s for UCBVI-CH on RiverSwim.

Measured (side-by-side runs on the 2-core development machine, ratio of compiled to generic
episodes/s over four runs; one row moves by up to ~10% between runs): UCBVI-CH pooled RiverSwim
5.8-6.1x (~600,000 episodes/s compiled), grid 5.5-6.1x (~335,000); UCBVI-CH per-step RiverSwim
5.8-6.0x (~510,000), grid 5.4-5.6x (~285,000); UCBVI-BF pooled 2.4-2.6x / 2.0-2.2x (a full
re-plan per episode, shared by both loops); Q-learning-UCB-H 6.8-7.3x / 6.1-6.3x. So 300,000
episodes/s on RiverSwim is reached and 5x is met by UCBVI-CH and Q-learning-UCB on both
environments, not by UCBVI-BF (see docs/scale-out.md for where a compiled grid episode goes:
two thirds of it is the exact evaluation of the new policy, shared with the generic loop).

* ``generic``: :func:`mdptheory.runner.online` with ``compiled=False`` (Python calls
  ``policy()`` and ``update()`` every episode; exact V^{pi_k}(rho0) cached on the policy's
  bytes).
* ``compiled``: the same learner, same uniforms, same table, through its compiled loop
  (``compiled=True``; the tests check the tables are equal bit for bit).
* ``bare``: the learner alone in a Python loop (no evaluation, no records); the generic
  driver's overhead is generic time / bare time - 1.
* both loops run the same K_SIDE episodes (a learner's per-episode cost changes along a run:
  the clip phase, then full re-plans once values move).
* cost model: per episode, a full optimistic backward pass costs H S A B multiply-adds (B: mean
  number of observed successors of a pair; H S A S for a dense pass), 20 sampled steps and,
  when the policy changed, an exact evaluation of H S B' (B': successors in the true model).
  The benchmark times one full pass and one evaluation on the learner's final state (the same
  kernels) and prints the implied limit 1 / (pass + evaluation). The compiled loop re-plans
  incrementally (only what the episode changed, exactly), so it can beat that limit while the
  bonuses keep Q at its clip.

Run with ``make bench`` (or ``pytest benchmarks/test_bench_online.py --benchmark-enable -s``).
The side-by-side table times CPU seconds of this process (best of 3), so another job on a
shared machine changes it little; pytest-benchmark's columns are wall time. Speed figures are
reported, and only the first target (2,700 episodes/s) is asserted.
"""
import time

import numpy as np
import pytest

from mdptheory import envs
from mdptheory.algorithms import UCBVI, QLearningUCB
from mdptheory.kernels import online as kon
from mdptheory.kernels import optimistic as ko
from mdptheory.runner import Episode, online
from mdptheory.runner.online import _reach, _support

K = 3000
K_SIDE = 10_000                         # episodes of each loop in the side-by-side table
K_COMPILED = 60_000
TARGET_EPISODES_PER_S = 2700.0          # 100 x rlberry's ~27 episodes/s
MDP = envs.grid_world_5x5(H=20)
ENVS = {"RiverSwim(6, H=20)": envs.river_swim(6, H=20), "GridWorld 5x5 (H=20)": MDP}
VARIANTS = {
    "UCBVI-CH pooled": lambda m, k: UCBVI(m.S, m.A, m.H, k, stage_dependent=False),
    "UCBVI-CH per-step": lambda m, k: UCBVI(m.S, m.A, m.H, k),
    "UCBVI-BF pooled": lambda m, k: UCBVI(m.S, m.A, m.H, k, bonus="BF", stage_dependent=False),
    "Q-learning-UCB-H": lambda m, k: QLearningUCB(m.S, m.A, m.H, k),
}


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
    for make in VARIANTS.values():                          # compile everything once
        for mdp in ENVS.values():
            for compiled in (False, True):
                online(make(mdp, 20), mdp, 20, rng=0, compiled=compiled)
    bare_loop(_learner("hoeffding"), MDP, 20, np.random.default_rng(0))


def best_time(fn, rounds=3, clock=time.process_time):
    """Best of ``rounds`` calls, in CPU seconds of this process by default (robust to other
    load on a shared machine; pytest-benchmark's own columns are wall time)."""
    times = []
    for _ in range(rounds):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)


def cost_model(learner, mdp):
    """Multiply-adds of one full pass and one evaluation, and their measured times (s)."""
    H, S, A = mdp.H, mdp.S, mdp.A
    P = np.ascontiguousarray(mdp.P)
    succ, n_succ, p_succ = _support(P)
    reach, n_reach = _reach(P, mdp.rho0)
    V = np.zeros((H + 1, S))
    act = np.zeros((H, S), dtype=np.int64)
    t_eval = best_time(lambda: [kon.deterministic_value_packed(p_succ, succ, n_succ, mdp.r, act,
                                                               mdp.rho0, reach, n_reach, V)
                                for _ in range(200)]) / 200
    g = np.arange(H)[:, None] if n_succ.shape[0] > 1 else 0     # stationary lists: G = 1
    listed = np.arange(S) < n_reach[:, None]                      # (h, s) the pass visits
    row = {"dense pass": H * S * A * S,
           "evaluation": int((n_succ[g, reach, act[np.arange(H)[:, None], reach]]
                              * listed).sum())}
    if isinstance(learner, UCBVI):
        st = learner.stats
        g = np.arange(H) if st.n_sa.shape[0] > 1 else np.zeros(H, dtype=np.int64)
        row["sparse pass"] = int(st.n_succ[g].sum())     # sum over (h, s, a) of successors
        Q, Vo, ac = learner.Q.copy(), learner.V.copy(), learner._act.copy()

        def full_pass():
            for _ in range(50):
                ko.optimistic_backward_induction(st.P_hat, st.r_hat, st.n_sa, st.succ,
                                                 st.n_succ, learner.bonus_values_ch,
                                                 learner.v_max, True, Vo, Q, ac)
        t_pass = best_time(full_pass) / 50
    else:
        row["sparse pass"] = 0                           # Q-learning: O(H A) per episode
        t_pass = 0.0
    return row, t_pass, t_eval


def measure(make, mdp, n=K_SIDE):
    """Episodes/s of both loops over the same n episodes (same learner, same uniforms)."""
    t_gen = best_time(lambda: online(make(mdp, n), mdp, n, rng=1, compiled=False))
    t_cmp = best_time(lambda: online(make(mdp, n), mdp, n, rng=1, compiled=True))
    learner = make(mdp, n)
    online(learner, mdp, n, rng=1, compiled=True)
    return n / t_gen, n / t_cmp, cost_model(learner, mdp)


def test_compiled_vs_generic_side_by_side(benchmark, capsys):
    """Both loops in one process (best of 3), with the cost model, printed for the report (the
    benchmark fixture times the whole table once, so that ``--benchmark-only`` runs it)."""
    _warm()
    lines = benchmark.pedantic(side_by_side, rounds=1, iterations=1)
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def side_by_side() -> list[str]:
    """One line per (learner, environment): episodes/s of both loops, ratio, cost model."""
    lines = [(f"{'learner':<18} {'environment':<21} {'generic/s':>10} {'compiled/s':>11} "
              f"{'ratio':>6}  {'full pass':>9} {'eval':>5}  {'pass+eval limit/s':>17}")]
    for name, make in VARIANTS.items():
        for env_name, mdp in ENVS.items():
            gen, cmp_, (ops, t_pass, t_eval) = measure(make, mdp)
            limit = 1.0 / (t_pass + t_eval)
            lines.append(f"{name:<18} {env_name:<21} {gen:>10,.0f} {cmp_:>11,.0f} "
                         f"{cmp_ / gen:>5.1f}x  {ops['sparse pass']:>9,} {ops['evaluation']:>5,}"
                         f"  {limit:>17,.0f}")
    lines.append("full pass: multiply-adds of one optimistic backward pass over observed "
                 "successors (dense H S A S: RiverSwim 1,440, grid 42,320); eval: of one exact "
                 "evaluation; limit: 1 / (measured pass + evaluation time)")
    return lines


@pytest.mark.parametrize("env_name", sorted(ENVS))
@pytest.mark.parametrize("compiled", [False, True], ids=["generic", "compiled"])
def test_ucbvi_ch_driver(benchmark, env_name, compiled):
    _warm()
    mdp = ENVS[env_name]
    n = K_COMPILED if compiled else K
    benchmark.pedantic(lambda: online(UCBVI(mdp.S, mdp.A, mdp.H, n, stage_dependent=False),
                                      mdp, n, rng=1, compiled=compiled), rounds=3, iterations=1)
    if benchmark.stats:
        benchmark.extra_info["episodes_per_s"] = n / benchmark.stats.stats.min


def test_driver_meets_target_and_reports_overhead(benchmark, capsys):
    """Generic driver, bare learner loop and compiled loop side by side (best of 3)."""
    _warm()
    lines, rates = benchmark.pedantic(overheads, rounds=1, iterations=1)
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    # the target is stated against rlberry's UCBVI, whose bonus is Hoeffding-type
    assert rates["hoeffding"] >= TARGET_EPISODES_PER_S, lines[0]


def overheads():
    lines, rates = [], {}
    for bonus in ("hoeffding", "bernstein"):
        t_drv = best_time(lambda b=bonus: online(_learner(b), MDP, K, rng=1, compiled=False))
        t_bare = best_time(lambda b=bonus: bare_loop(_learner(b), MDP, K,
                                                     np.random.default_rng(1)))
        t_cmp = best_time(lambda b=bonus: online(_learner(b), MDP, K, rng=1, compiled=True))
        name = {"hoeffding": "UCBVI-CH", "bernstein": "UCBVI-BF"}[bonus]
        lines.append(f"{name}: generic driver {K / t_drv:,.0f} episodes/s, bare "
                     f"{K / t_bare:,.0f} episodes/s, overhead {t_drv / t_bare - 1:+.0%}; "
                     f"compiled {K / t_cmp:,.0f} episodes/s (GridWorld 5x5, H=20, K={K})")
        rates[bonus] = K / t_cmp
    return lines, rates
