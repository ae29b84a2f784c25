"""Compiled episode loops of the online driver: bit-identical to the generic loop (every
learner that has one), O(checkpoints + S A H) memory, the value hook, the incremental UCBVI
plan against the full one, and the evaluation cache against the generic evaluator."""
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdptheory import envs
from mdptheory.algorithms import UCBVI, QLearningUCB
from mdptheory.kernels import online as kon
from mdptheory.kernels import optimistic as ko
from mdptheory.models import FiniteHorizonMDP
from mdptheory.runner import Episode, online
from mdptheory.runner.online import _Evaluator, _Tally
from mdptheory.testing.strategies import finite_mdps

ENVS = {"river_swim": envs.river_swim(6, H=20), "grid": envs.grid_world_5x5(H=10)}


def both_tables(make, mdp, K, **kw):
    """The generic and the compiled run of fresh learners, timings dropped."""
    return [online(make(), mdp, K, compiled=compiled, **kw).drop(columns="wall_time")
            for compiled in (False, True)]


@pytest.mark.parametrize("env", sorted(ENVS))
@pytest.mark.parametrize("bonus", ["hoeffding", "bernstein"])
@pytest.mark.parametrize("stage_dependent", [True, False])
def test_ucbvi_compiled_loop_is_bit_identical(env, bonus, stage_dependent):
    mdp = ENVS[env]
    K = 700
    # the paper's constants (clip phase) and a small bonus_scale (learning phase, V moves)
    cases = [(0, False, 1.0, True), (1, True, 1.0, True), (2, False, 0.03, True),
             (3, True, 0.03, False)]
    for seed, bern, scale, monotone in cases:
        def make(scale=scale, monotone=monotone):
            return UCBVI(mdp.S, mdp.A, mdp.H, K, bonus=bonus, stage_dependent=stage_dependent,
                         bonus_scale=scale, monotone=monotone)

        a, b = both_tables(make, mdp, K, rng=seed, bernoulli_rewards=bern,
                           checkpoints=np.arange(1, K + 1, 9))
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert a["policy_switches"].iloc[-1] > 20


def test_compiled_learner_state_equals_generic_state_and_can_continue():
    mdp = ENVS["river_swim"]
    learners = [UCBVI(mdp.S, mdp.A, mdp.H, 900, bonus="bernstein", bonus_scale=0.05)
                for _ in range(2)]
    for part in range(3):                     # three calls of the driver on the same learners
        for learner, compiled in zip(learners, (False, True)):
            online(learner, mdp, 300, rng=part, compiled=compiled)
    g, c = learners
    for name in ("Q", "V", "_act", "bonus_values"):
        np.testing.assert_array_equal(getattr(g, name), getattr(c, name))
    for name in ("n_sa", "n_sas", "r_sum", "n_s", "P_hat", "succ", "n_succ"):
        np.testing.assert_array_equal(getattr(g.stats, name), getattr(c.stats, name))
    np.testing.assert_array_equal(g.policy(), c.policy())
    assert g.episodes == c.episodes == 900 and g.policy_switches == c.policy_switches


def test_compiled_loop_runs_all_K_episodes_after_the_last_checkpoint():
    """Regression: with the last checkpoint below K the compiled loop stopped there while the
    generic loop ran all K episodes; both must leave the learner after K episodes."""
    mdp = ENVS["river_swim"]
    learners = [UCBVI(mdp.S, mdp.A, mdp.H, 500, bonus_scale=0.05) for _ in range(2)]
    tables = [online(learner, mdp, 500, rng=3, checkpoints=[10, 99], compiled=compiled)
              .drop(columns="wall_time") for learner, compiled in zip(learners, (False, True))]
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    g, c = learners
    assert g.episodes == c.episodes == 500
    assert g.stats.n_sa.sum() == c.stats.n_sa.sum() == 500 * mdp.H
    np.testing.assert_array_equal(g.Q, c.Q)


class FullPlanUCBVI(UCBVI):
    """UCBVI re-planning from scratch (the full optimistic backward induction) every episode."""

    def update(self, episode):
        self.stats.add(episode)
        if self.bonus == "hoeffding":
            ko.refresh_hoeffding_bonus(episode.s, episode.a, self.stats.n_sa, self._coef_ch,
                                       self.bonus_values_ch)
        self._plan()
        self._counters[0] += 1


class Both:
    """Plays ``inc``'s policy, updates both learners, checks their plans agree bit for bit."""

    def __init__(self, inc, full):
        self.inc, self.full = inc, full

    def policy(self):
        return self.inc.policy()

    def update(self, episode):
        self.inc.update(episode)
        self.full.update(episode)
        for name in ("Q", "V", "_act", "bonus_values"):
            np.testing.assert_array_equal(getattr(self.inc, name), getattr(self.full, name))


@pytest.mark.parametrize("bonus", ["hoeffding", "bernstein"])
@pytest.mark.parametrize("stage_dependent", [True, False])
def test_incremental_plan_equals_the_full_plan_at_every_episode(bonus, stage_dependent):
    mdp = ENVS["grid"]
    small = 0.002 if bonus == "hoeffding" else 0.02       # reaches the learning phase
    for scale, monotone in [(1.0, True), (small, True), (small, False)]:
        kw = {"bonus": bonus, "stage_dependent": stage_dependent, "bonus_scale": scale,
              "monotone": monotone}
        inc = UCBVI(mdp.S, mdp.A, mdp.H, 600, **kw)
        full = FullPlanUCBVI(mdp.S, mdp.A, mdp.H, 600, **kw)
        online(Both(inc, full), mdp, 600, rng=7, compiled=False)
        assert inc.policy_switches == full.policy_switches > 20
        if scale < 1:
            assert (inc.Q < inc.v_max[:, None, None]).mean() > 0.1   # learning phase reached


def clip_shortcut_applies(learner, episode, Q_prev, V_prev):
    """numpy statement of the clip-phase condition of ``ucbvi_replan`` (UCBVI-CH, monotone):
    every pair the episode recomputes has r_hat + b >= v_max[h] > 0 and Q_prev <= v_max[h],
    and V_prev >= 0 at steps 1..H. Returns (applies, some re-greedied row is not tied)."""
    H = learner.H
    cap = learner.v_max
    st = learner.stats
    pooled = st.n_sa.shape[0] == 1
    hs = np.arange(H)
    g = np.zeros(H, dtype=int) if pooled else hs
    s, a = episode.s[:H], episode.a
    q0 = st.r_hat[g, s, a] + learner.bonus_values_ch[g, s, a]
    if pooled:      # a visited pair is recomputed at every step
        ok = (q0 >= cap.max()).all() and (Q_prev[:, s, a] <= cap[:, None]).all()
        rows = Q_prev[:, np.unique(s), :]
    else:
        ok = (q0 >= cap).all() and (Q_prev[hs, s, a] <= cap).all()
        rows = Q_prev[hs, s, :]
    ok = ok and (cap > 0).all() and (V_prev[1:] >= 0).all()
    untied = (rows != rows[..., :1]).any()
    return bool(ok), bool(untied)


def check_clip_facts(learner):
    """The facts the re-plan keeps in its workspace (``clip``) hold for the learner's Q and V:
    clip[S] = 1 only if V_1..V_H >= 0; clip[s] = 1 (every row of s tied, <= v_max), 2 (<= v_max,
    some row untied), 3 (some Q above v_max), 0 unknown. Returns the codes (S,)."""
    clip = learner._work[-1]
    S, Q, cap = learner.S, learner.Q, learner.v_max[:, None, None]
    if clip[S]:
        assert (learner.V[1:] >= 0).all()
    rows = Q.transpose(1, 0, 2)                                   # (S, H, A)
    above = (~(rows <= cap.transpose(1, 0, 2))).any(axis=(1, 2))
    untied = (rows != rows[..., :1]).any(axis=(1, 2))
    truth = np.where(above, 3, np.where(untied, 2, 1))
    known = clip[:S] != 0
    np.testing.assert_array_equal(clip[:S][known], truth[known])
    return clip[:S].copy()


class Counting(Both):
    """:class:`Both`, counting the episodes the clip-phase shortcut of the re-plan applies to
    (and those among them with a re-greedied row that is not tied), checking the re-plan's
    remembered clip-phase facts after every episode and counting the states recorded as all
    tied (1) and as not all tied (2)."""

    def __init__(self, inc, full):
        super().__init__(inc, full)
        self.shortcut = self.untied = self.fallback = 0
        self.facts = np.zeros(4, dtype=int)

    def update(self, episode):
        Q_prev, V_prev = self.full.Q.copy(), self.full.V.copy()
        self.inc.update(episode)
        self.facts += np.bincount(check_clip_facts(self.inc), minlength=4)
        ok, untied = clip_shortcut_applies(self.inc, episode, Q_prev, V_prev)
        self.shortcut += ok
        self.untied += ok and untied
        self.fallback += not ok
        self.full.update(episode)
        for name in ("Q", "V", "_act", "bonus_values"):
            np.testing.assert_array_equal(getattr(self.inc, name), getattr(self.full, name))


@pytest.mark.parametrize("stage_dependent", [True, False])
def test_clip_phase_shortcut_and_its_exits_equal_the_full_plan(stage_dependent):
    """Bonus scales where the re-plan's clip-phase shortcut applies to some episodes and not to
    others, in both orders, and to episodes whose re-greedied rows are not all tied: the plan
    stays bit for bit the full one."""
    mdp = ENVS["grid"]
    totals = np.zeros(3, dtype=int)
    facts = np.zeros(4, dtype=int)
    for scale in (0.002, 0.05):
        kw = {"stage_dependent": stage_dependent, "bonus_scale": scale}
        both = Counting(UCBVI(mdp.S, mdp.A, mdp.H, 600, **kw),
                        FullPlanUCBVI(mdp.S, mdp.A, mdp.H, 600, **kw))
        online(both, mdp, 300, rng=11, compiled=False)
        # then a 100x larger bonus, planned in full: the monotone Q keeps its learnt rows
        # (not tied) while the new bonuses put every visited pair above the clip
        for learner in (both.inc, both.full):
            _set_bonus_coefficient(learner, learner._coef_ch * 100.0)
        online(both, mdp, 300, rng=12, compiled=False)
        totals += (both.shortcut, both.untied, both.fallback)
        facts += both.facts
    assert (totals > 10).all(), totals
    if not stage_dependent:                       # states remembered as tied and as untied
        assert (facts[1:3] > 10).all(), facts


def _set_bonus_coefficient(learner, coef):
    """Change UCBVI-CH's bonus coefficient c H L and re-plan in full (as warm_start does)."""
    learner._coef_ch = coef
    learner._consts[0] = coef
    learner.bonus_values_ch[:] = coef / np.sqrt(np.maximum(learner.stats.n_sa, 1.0))
    learner._plan()


def test_a_full_plan_between_episodes_forgets_the_remembered_clip_facts():
    """Clip phase (the re-plan remembers visited states as all tied), then two full plans
    with no episode between them: a small bonus pulls the visited rows below the clip, the
    paper's bonus again keeps them there (monotone Q) while every pair is back above its clip.
    The shortcut then applies to rows that are no longer tied, so remembering the earlier
    facts through the full plans would take the wrong greedy actions."""
    mdp = ENVS["grid"]
    kw = {"stage_dependent": False}
    both = Counting(UCBVI(mdp.S, mdp.A, mdp.H, 600, **kw),
                    FullPlanUCBVI(mdp.S, mdp.A, mdp.H, 600, **kw))
    online(both, mdp, 200, rng=3, compiled=False)
    assert both.facts[1] > 10 and both.fallback == 0
    coef = both.inc._coef_ch
    for learner in (both.inc, both.full):
        _set_bonus_coefficient(learner, coef * 0.002)
        _set_bonus_coefficient(learner, coef)
    assert (both.inc.Q < both.inc.v_max[:, None, None]).any()
    untied = both.untied
    online(both, mdp, 200, rng=4, compiled=False)
    assert both.untied - untied > 10


@pytest.mark.property
@settings(max_examples=25, deadline=None)
@given(mdp=finite_mdps(max_S=5, max_A=3, max_H=5), stage_dependent=st.booleans(),
       scales=st.lists(st.sampled_from([1.0, 0.05, 0.002]), min_size=1, max_size=3),
       seed=st.integers(0, 2**32 - 1))
def test_incremental_ucbvi_ch_plan_equals_the_full_plan_on_random_mdps(mdp, stage_dependent,
                                                                     scales, seed):
    """Random MDPs, phases of 40 episodes with the bonus coefficient scaled between them (a
    full plan in between; 1.0 keeps Q at the clip, the small ones reach the learning phase):
    the incremental plan equals the full plan bit for bit after every episode, and the facts
    it remembers hold."""
    kw = {"stage_dependent": stage_dependent}
    both = Counting(UCBVI(mdp.S, mdp.A, mdp.H, 1000, **kw),
                    FullPlanUCBVI(mdp.S, mdp.A, mdp.H, 1000, **kw))
    coef = both.inc._coef_ch
    for i, scale in enumerate(scales):
        for learner in (both.inc, both.full):
            _set_bonus_coefficient(learner, coef * scale)
        online(both, mdp, 40, rng=seed + i, compiled=False)
    assert both.shortcut + both.fallback == 40 * len(scales)


@pytest.mark.parametrize("case", ["bonus between the clips", "negative values"])
def test_pooled_clip_shortcut_boundary_cases(case):
    """Constructed cases at the shortcut's boundary (pooled counts, H = 2, S = 2, A = 1):
    state 1 is visited 400 times, then two episodes 0 -> 0 -> 1 (the pair (0, 0) at n = 4).

    * "bonus between the clips": bonus 2.4/sqrt(n), rewards 0, so V_1(1) ~ 0.12 and the pair
      (0, 0) gets the bonus 1.2, above the last clip v_max[1] = 1 but below v_max[0] = 2:
      1.2 + P_hat V_1 ~ 1.76 < 2, Q_0(0, 0) leaves the clip, so the shortcut must not apply
      (checking the pairs against the smallest clip instead of the largest would keep 2).
    * "negative values": bonus 10/sqrt(n), reward -100 in state 1 (outside UCBVI's [0, 1],
      fed directly to ``update``): the pair (0, 0) has r_hat + b = 5 >= every clip, but
      V_1(1) ~ -99.5 pulls Q_0(0, 0) below 0, so the check V >= 0 must stop the shortcut.
    """
    coef, r1 = (2.4, 0.0) if case == "bonus between the clips" else (10.0, -100.0)
    learners = [cls(2, 1, 2, 1000, stage_dependent=False) for cls in (UCBVI, FullPlanUCBVI)]
    for learner in learners:
        _set_bonus_coefficient(learner, coef)       # no counts yet: the bonus is coef
    both = Counting(*learners)
    for _ in range(200):
        both.update(Episode(np.array([1, 1, 1]), np.zeros(2, dtype=int), np.full(2, r1)))
    for _ in range(2):
        both.update(Episode(np.array([0, 0, 1]), np.zeros(2, dtype=int), np.zeros(2)))
    Q = learners[0].Q
    if case == "bonus between the clips":
        assert Q[1, 0, 0] == 1.0 and Q[1, 1, 0] < 0.2 and 1.7 < Q[0, 0, 0] < 1.8
    else:
        assert Q[1, 0, 0] == 1.0 and Q[1, 1, 0] < -99 and Q[0, 0, 0] < -40
    assert both.fallback >= 2


def test_evaluation_cache_matches_the_generic_evaluator_beyond_its_capacity():
    # a cycle of 300 > 256 distinct deterministic policies, revisited: hits, misses, evictions
    mdp = ENVS["grid"]
    rng = np.random.default_rng(0)
    tables = rng.integers(0, mdp.A, size=(300, mdp.H, mdp.S))
    order = np.concatenate([np.arange(300), rng.integers(0, 300, 400), np.arange(50)])
    P, r, rho0 = (np.ascontiguousarray(x) for x in (mdp.P, mdp.r, mdp.rho0))
    ev = _Evaluator(P, r, rho0)
    tally = _Tally(_Evaluator(P, r, rho0), 0.0)
    for i in order:
        act = np.ascontiguousarray(tables[i])
        v = ev.value(np.eye(mdp.A)[act], 0)
        tally.cnt[3] = 1
        kon.tally_episode(*tally.truth, *tally.arrays, act)
        assert tally.acc[1] == v
        assert tally.cnt[0] == ev.evaluations
    assert 300 < ev.evaluations < len(order)


def test_memory_does_not_grow_with_K():
    # a 1-state, 1-step MDP: 3 10^6 episodes cost ~1 s; memory stays O(checkpoints + S A H)
    mdp = FiniteHorizonMDP(np.ones((1, 1, 2, 1)), np.array([[[0.3, 0.6]]]), np.ones(1))

    def peak(K):
        learner = QLearningUCB(1, 2, 1, K)
        online(learner, mdp, 10, rng=0)                      # compile outside the measure
        tracemalloc.start()
        df = online(learner, mdp, K, rng=0)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert df["k"].iloc[-1] == K and learner.episodes == K + 10
        return top

    small, large = peak(10_000), peak(3_000_000)
    assert large < 4_000_000                 # one block of uniforms (~100 kB) and the rows
    assert large < 2 * small + 1_000_000     # 300x the episodes, not 300x the memory


def test_value_hook_and_compiled_switch():
    mdp = ENVS["river_swim"]
    learner = UCBVI(mdp.S, mdp.A, mdp.H, 200)
    df = online(learner, mdp, 200, rng=0)
    np.testing.assert_allclose(df["value_estimate"].iloc[-1], mdp.rho0 @ learner.V[0],
                               rtol=1e-15)
    assert np.all(df["value_estimate"] >= df["optimal_value"])       # optimism

    class NoLoop:
        def policy(self):
            return np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A)

        def update(self, episode):
            pass

    with pytest.raises(TypeError, match="compiled_episodes"):
        online(NoLoop(), mdp, 5, rng=0, compiled=True)
    assert "value_estimate" not in online(NoLoop(), mdp, 5, rng=0).columns


def test_packed_support_kernels_equal_the_dense_ones():
    from mdptheory.kernels.sampling import draw
    from mdptheory.runner.online import _reach, _support

    rng = np.random.default_rng(5)
    rs = envs.river_swim(6, H=20)                 # some states unreachable at the first steps
    mixed = FiniteHorizonMDP(P=rs.P, r=rs.r, rho0=np.array([0.5, 0.0, 0.25, 0.0, 0.0, 0.25]))
    for mdp in [*ENVS.values(), mixed]:
        P = np.ascontiguousarray(mdp.P)
        r = np.ascontiguousarray(mdp.r)
        succ, n_succ, p_succ = _support(P)
        reach, n_reach = _reach(P, mdp.rho0)
        for _ in range(5):
            act = rng.integers(0, mdp.A, size=(mdp.H, mdp.S))
            V1, V2 = np.zeros((mdp.H + 1, mdp.S)), np.zeros((mdp.H + 1, mdp.S))
            v1 = kon.deterministic_value_packed(p_succ, succ, n_succ, r, act, mdp.rho0, reach,
                                                n_reach, V1)
            v2 = kon.deterministic_value(P, succ, n_succ, r, act, mdp.rho0, V2)
            assert np.float64(v1).tobytes() == np.float64(v2).tobytes()
            for h in range(mdp.H):                 # the same V_h at every reachable state
                listed = reach[h, :n_reach[h]]
                assert V1[h, listed].tobytes() == V2[h, listed].tobytes()
                # and the list holds every state a policy can reach at h (exact occupancy)
                d = mdp.rho0.copy()
                for j in range(h):
                    d = np.einsum("s,st->t", d, P[j, np.arange(mdp.S), act[j]])
                assert set(np.flatnonzero(d > 0)) <= set(listed.tolist())
        for h, s, a in zip(rng.integers(0, mdp.H, 200), rng.integers(0, mdp.S, 200),
                           rng.integers(0, mdp.A, 200)):
            for u in np.append(rng.random(20), [0.0, np.nextafter(1.0, 0.0)]):
                assert kon.draw_support(p_succ, succ, n_succ, h, s, a, u) == draw(P[h, s, a], u)


def test_stationary_support_lists_are_one_block_with_the_per_step_results():
    # a stationary model gets lists of leading size 1; the kernels read them at g = 0 and give
    # the very bits of the per-step (G = H) lists; a model whose steps differ keeps G = H
    from mdptheory.runner.online import _reach, _support

    rng = np.random.default_rng(11)
    mdp = ENVS["grid"]
    P, r = np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r)
    lists = _support(P)
    reach = _reach(P, mdp.rho0)
    assert [x.shape[0] for x in lists] == [1, 1, 1]
    succ_h, n_succ_h, p_succ_h = (np.ascontiguousarray(np.repeat(x, mdp.H, axis=0))
                                  for x in lists)
    succ, n_succ, p_succ = lists
    for _ in range(5):
        act = rng.integers(0, mdp.A, size=(mdp.H, mdp.S))
        pi = rng.dirichlet(np.ones(mdp.A), size=(mdp.H, mdp.S))
        Vs = [np.zeros((mdp.H + 1, mdp.S)) for _ in range(6)]
        pairs = [(kon.deterministic_value_packed(p_succ, succ, n_succ, r, act, mdp.rho0, *reach,
                                                 Vs[0]),
                  kon.deterministic_value_packed(p_succ_h, succ_h, n_succ_h, r, act, mdp.rho0,
                                                 *reach, Vs[1])),
                 (kon.deterministic_value(P, succ, n_succ, r, act, mdp.rho0, Vs[2]),
                  kon.deterministic_value(P, succ_h, n_succ_h, r, act, mdp.rho0, Vs[3])),
                 (kon.policy_value_sparse(P, succ, n_succ, r, pi, mdp.rho0, Vs[4]),
                  kon.policy_value_sparse(P, succ_h, n_succ_h, r, pi, mdp.rho0, Vs[5]))]
        for (a, b), i in zip(pairs, (0, 2, 4)):
            assert np.float64(a).tobytes() == np.float64(b).tobytes()
            assert Vs[i].tobytes() == Vs[i + 1].tobytes()
    for h, s, a in zip(rng.integers(0, mdp.H, 100), rng.integers(0, mdp.S, 100),
                       rng.integers(0, mdp.A, 100)):
        for u in rng.random(10):
            assert (kon.draw_support(p_succ, succ, n_succ, h, s, a, u)
                    == kon.draw_support(p_succ_h, succ_h, n_succ_h, h, s, a, u))
    P2 = P.copy()
    P2[-1] = P2[-1, :, ::-1]                       # the last step moves differently
    assert _support(P2)[0].shape[0] == mdp.H
