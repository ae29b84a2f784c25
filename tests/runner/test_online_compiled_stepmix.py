"""Compiled episode loops of StepMix and EpsMix: the driver's table bit-identical to the generic
loop (every bonus, both mixtures, both searches, with and without screening, known and unknown
V^b, Bernoulli rewards), the learner's state afterwards the same, the mixed (deterministic and
stochastic) evaluation cache, and the clean fallback to the generic loop."""
import numpy as np
import pandas as pd
import pytest

from mdptheory.algorithms.stepmix import EpsMix, ExactValueMonitor, StepMix, epsmix_epsilon
from mdptheory.envs import conservative as cenv
from mdptheory.kernels import online as kon
from mdptheory.kernels import stepmix_loop as kml
from mdptheory.runner import online

# Garnet instances with the mixture baseline of baseline_for_ratio (stochastic pi^b), as in the
# experiments, and RiverSwim with the deterministic "always left" baseline.
INSTANCES = {
    "garnet_small": (cenv.garnet_instance(4, 2, 4, ratio=0.9, rng=1), 0.1, 0.3),
    "garnet": (cenv.garnet_instance(5, 3, 5, ratio=0.7, rng=0), 0.5, 0.05),
    "river_swim": (cenv.river_swim_instance(4, 8), 0.5, 0.05),
}


def make(cls, name, K, **kw):
    inst, alpha, c_b = INSTANCES[name]
    mdp = inst.mdp
    kw = {"c_b": c_b, **kw}
    if kw.get("bonus") == "bernstein":
        kw["c_b"] = kw["c_b"] / 5.0
    V_b = kw.pop("V_b", inst.V_b)
    if V_b is None:                                 # baseline value unknown to the learner
        kw.setdefault("threshold", (1.0 - alpha) * inst.V_b * 1.05)
    return cls(mdp.S, mdp.A, mdp.H, K, inst.pi_b, V_b, alpha, rho0=mdp.rho0, **kw)


def state(L):
    """Everything the next episodes depend on, and what the driver reads."""
    out = {"policy": L.policy().copy(), "metrics": L.metrics(), "act": L.act.copy(),
           "Q": L.Q.copy(), "V": L.V.copy(), "n_sa": L.stats.n_sa.copy(),
           "n_sas": L.stats.n_sas.copy(), "P_hat": L.stats.P_hat.copy(),
           "bonus": L.bonus_values.copy(), "plan_bonus": L.plan_bonus.copy(),
           "episodes": L.episodes, "lower": L.lower}
    if isinstance(L, StepMix):
        out.update(u=L.u, status=L.status, screened=L.screened, grid=L.grid_evaluations)
    else:
        out.update(eps=L.eps, Z=L.Z, certified=L.certified, lower_baseline=L.lower_baseline,
                   rng=L.rng.bit_generator.state, executed=L.executed_mixture()[0][0])
    return out


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            assert a[k] == b[k], k


def check_identical(cls, name, K, seeds, bernoulli=False, checkpoints=None, **kw):
    """Generic vs compiled run of fresh learners: the same table (wall_time aside) and the same
    learner state afterwards; returns the compiled table of the last seed."""
    for seed in seeds:
        learners = [make(cls, name, K, **kw) for _ in range(2)]
        tables = [online(L, INSTANCES[name][0].mdp, K, rng=seed, compiled=c,
                         bernoulli_rewards=bernoulli, checkpoints=checkpoints)
                  .drop(columns="wall_time")
                  for L, c in zip(learners, (False, True))]
        pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
        assert_same_state(state(learners[0]), state(learners[1]))
    return tables[1]


@pytest.mark.parametrize("name", sorted(INSTANCES))
@pytest.mark.parametrize("bonus", ["l1", "hoeffding", "bernstein"])
@pytest.mark.parametrize("mixture", ["per_step", "switch_step"])
def test_stepmix_compiled_loop_is_bit_identical(name, bonus, mixture):
    K = 700
    cps = np.unique(np.r_[np.arange(1, 40), np.arange(50, K + 1, 50)])   # many short blocks
    table = check_identical(StepMix, name, K, seeds=(0, 1, 2), checkpoints=cps, bonus=bonus,
                            mixture=mixture)
    assert table["k"].tolist() == cps.tolist()
    assert table["evaluations"].iloc[-1] >= 1


@pytest.mark.parametrize("variant", [
    {"search": "bisect"},
    {"screen": False},
    {"monotone": True, "search": "bisect", "mixture": "switch_step"},
    {"V_b": None},                                   # certificate by the pessimistic value only
    {"grid": 5, "refine": 2, "refine_points": 3},    # a grid that is not a multiple of the chunk
])
def test_stepmix_variants_are_bit_identical(variant):
    check_identical(StepMix, "garnet", 500, seeds=(3, 4), **variant)


def test_stepmix_mixed_policies_occur_and_several_blocks():
    """The comparison covers every search outcome, stochastic policies (evaluated under their
    bytes) and more distinct policies than the cache holds (FIFO eviction), over K spanning
    two blocks of 4096 uniforms and the driver's log-spaced checkpoints."""
    K = 5000
    a = make(StepMix, "garnet", K, bonus="bernstein")
    b = make(StepMix, "garnet", K, bonus="bernstein")
    mdp = INSTANCES["garnet"][0].mdp
    ta = online(a, mdp, K, rng=7, compiled=False).drop(columns="wall_time")
    statuses = []

    class Watch(StepMix):                      # records statuses; forces the generic loop
        def _plan(self):
            super()._plan()
            statuses.append(self.status)

    w = make(Watch, "garnet", K, bonus="bernstein")
    online(w, mdp, K, rng=7)
    assert {"optimistic", "mixed", "baseline"} <= set(statuses)
    tb = online(b, mdp, K, rng=7, compiled=True).drop(columns="wall_time")
    pd.testing.assert_frame_equal(ta, tb, check_exact=True)
    assert tb["evaluations"].iloc[-1] > kon.EVAL_CACHE_SIZE
    assert_same_state(state(a), state(b))


@pytest.mark.parametrize("name", sorted(INSTANCES))
@pytest.mark.parametrize("bonus", ["l1", "hoeffding", "bernstein"])
def test_epsmix_compiled_loop_is_bit_identical(name, bonus):
    K = 700
    cps = np.unique(np.r_[np.arange(1, 30), np.arange(100, K + 1, 100)])
    for rng in (0, 5):
        table = check_identical(EpsMix, name, K, seeds=(0, 1), checkpoints=cps, bonus=bonus,
                                rng=rng)
    assert table["played_optimistic"].isin([0, 1]).all()


@pytest.mark.parametrize("variant", [{"V_b": None}, {"monotone": True}])
def test_epsmix_variants_are_bit_identical(variant):
    check_identical(EpsMix, "garnet", 500, seeds=(2,), rng=9, **variant)


def test_bernoulli_rewards_and_several_blocks_are_bit_identical():
    check_identical(StepMix, "garnet_small", 4500, seeds=(11,), bernoulli=True)
    check_identical(EpsMix, "garnet_small", 4500, seeds=(12,), bernoulli=True, rng=3)


def test_compiled_then_generic_continues_the_same_run():
    """The state the compiled loop leaves is the one update() continues from: a compiled run
    followed by generic episodes equals generic episodes all along."""
    mdp = INSTANCES["garnet"][0].mdp
    for cls in (StepMix, EpsMix):
        a, b = make(cls, "garnet", 800), make(cls, "garnet", 800)
        rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
        online(a, mdp, 400, rng=rng_a, compiled=False)
        online(b, mdp, 400, rng=rng_b, compiled=True)
        ta = online(a, mdp, 400, rng=rng_a, compiled=False).drop(columns="wall_time")
        tb = online(b, mdp, 400, rng=rng_b, compiled=False).drop(columns="wall_time")
        pd.testing.assert_frame_equal(ta, tb, check_exact=True)


def test_epsilon_kernel_is_the_python_rule():
    """EpsMix's eps in the kernel equals epsmix_epsilon (the same operations) on a grid of
    values, both forms (alpha known or not), including the boundary cases."""
    theta, base, alpha = 0.63, 0.9, 0.3
    lows = np.r_[np.linspace(-0.1, 1.0, 57), theta, np.nextafter(theta, 0.0), 0.0]
    for lo in lows:
        for b, use in ((base, True), (base, False), (theta, False), (0.5, False)):
            want = epsmix_epsilon(lo, b, theta, alpha if use else None)
            assert kml.epsilon.py_func(lo, b, theta, alpha, use) == want
            assert kml.epsilon(lo, b, theta, alpha, use) == want


class Observed(StepMix):
    """A subclass that observes every plan: the compiled loop would skip its _plan."""

    def _plan(self):
        self.plans = getattr(self, "plans", 0) + 1
        super()._plan()


class ObservedEps(EpsMix):
    def update(self, episode):
        self.seen = getattr(self, "seen", 0) + 1
        super().update(episode)


def test_overriding_subclasses_fall_back_to_the_generic_loop():
    mdp = INSTANCES["garnet"][0].mdp
    for cls, count in ((Observed, "plans"), (ObservedEps, "seen")):
        L = make(cls, "garnet", 60)
        assert L.compiled_episodes is None
        with pytest.raises(TypeError, match="no compiled episode loop"):
            online(L, mdp, 60, rng=0, compiled=True)
        L = make(cls, "garnet", 60)
        t = online(L, mdp, 60, rng=0).drop(columns="wall_time")     # compiled=None: generic
        assert getattr(L, count) >= 60                              # every episode went through it
        base = StepMix if cls is Observed else EpsMix
        ref = online(make(base, "garnet", 60), mdp, 60, rng=0, compiled=True)
        pd.testing.assert_frame_equal(t, ref.drop(columns="wall_time"), check_exact=True)
    for cls in (StepMix, EpsMix):
        assert callable(make(cls, "garnet", 10).compiled_episodes)


MONITORED = [(StepMix, "garnet", {}), (StepMix, "river_swim", {"mixture": "switch_step"}),
             (EpsMix, "garnet", {}), (EpsMix, "garnet_small", {"V_b": None}),
             (EpsMix, "river_swim", {"bonus": "bernstein"})]


@pytest.mark.parametrize("cls, name, kw", MONITORED,
                         ids=[f"{c.__name__}-{n}-{'-'.join(k) or 'default'}"
                              for c, n, k in MONITORED])
def test_monitor_compiled_is_bit_identical(cls, name, kw):
    """ExactValueMonitor over a StepMix / EpsMix runs the learner's compiled loop with a
    per-episode trace: the same table, the same per-episode values and the same safety
    counts as the generic loop (where the monitor observes every policy() call)."""
    inst = INSTANCES[name][0]
    mdp = inst.mdp
    K = 900
    cps = np.unique(np.r_[np.arange(1, 30), np.arange(100, K + 1, 100)])
    runs = []
    for compiled in (False, True):
        L = make(cls, name, K, rng=3, **kw) if cls is EpsMix else make(cls, name, K, **kw)
        # a threshold between the values played, so that violations are counted
        mon = ExactValueMonitor(L, mdp, threshold=(1.0 - INSTANCES[name][1] / 2) * inst.V_b)
        assert callable(mon.compiled_episodes)
        df = online(mon, mdp, K, rng=5, checkpoints=cps, compiled=compiled)
        runs.append((df.drop(columns="wall_time"), mon))
    (t0, m0), (t1, m1) = runs
    pd.testing.assert_frame_equal(t0, t1, check_exact=True)
    assert m0.values == m1.values and len(m1.values) == K and m1.k == K
    for attr in ("regret", "violations", "min_margin", "first_violation",
                 "realized_violations", "value"):
        assert getattr(m0, attr) == getattr(m1, attr), attr
    assert_same_state(state(m0.learner), state(m1.learner))
    if cls is StepMix:      # a Markov policy: the value given the past is the one played
        assert t1["exact_regret"].iloc[-1] == t1["regret"].iloc[-1]


def test_monitor_counts_violations_in_compiled_runs():
    """A threshold above every value the learner can play: every episode is a violation,
    counted from the first, in both loops."""
    inst = INSTANCES["garnet"][0]
    mdp = inst.mdp
    for compiled in (False, True):
        L = make(StepMix, "garnet", 40)
        mon = ExactValueMonitor(L, mdp, threshold=inst.V_star + 1.0)
        online(mon, mdp, 40, rng=0, compiled=compiled)
        assert (mon.violations, mon.realized_violations, mon.first_violation) == (40, 40, 1)
        assert mon.min_margin <= -1.0


def test_monitor_of_other_learners_keeps_the_generic_loop():
    """A learner without a traced compiled loop (here a StepMix subclass observing update(),
    and UCBVI) is monitored in the generic loop, where every episode is observed."""
    from mdptheory.algorithms import UCBVI

    class Observed(StepMix):
        def update(self, episode):
            super().update(episode)

    inst = INSTANCES["garnet"][0]
    mdp = inst.mdp
    for L in (make(Observed, "garnet", 50), UCBVI(mdp.S, mdp.A, mdp.H, 50)):
        mon = ExactValueMonitor(L, mdp, threshold=0.0)
        assert mon.compiled_episodes is None
        with pytest.raises(TypeError):
            online(mon, mdp, 50, rng=0, compiled=True)
        df = online(mon, mdp, 50, rng=0)
        assert mon.k == 50 and len(mon.values) == 50
        assert df["exact_regret"].iloc[-1] == df["regret"].iloc[-1]


@pytest.mark.parametrize("cls", [StepMix, EpsMix])
@pytest.mark.parametrize("baseline", ["bc", "lcb"])
def test_offline_baseline_variant_is_bit_identical(cls, baseline):
    """The offline-learned-baseline variant (counts warm-started, V^b unknown): the same table
    and state from both loops."""
    from mdptheory.runner import collect

    inst = INSTANCES["garnet"][0]
    mdp = inst.mdp
    data = collect(mdp, inst.pi_b, 200, rng=2)
    kw = {"rng": 4} if cls is EpsMix else {}
    learners = [cls.from_dataset(data, mdp.S, mdp.A, 600, 0.3, rho0=mdp.rho0, c_b=0.05,
                                 baseline=baseline, **kw) for _ in range(2)]
    tables = [online(L, mdp, 600, rng=8, compiled=c).drop(columns="wall_time")
              for L, c in zip(learners, (False, True))]
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    assert_same_state(state(learners[0]), state(learners[1]))


@pytest.mark.parametrize("bonus", ["l1", "bernstein"])
@pytest.mark.parametrize("monotone", [False, True])
def test_incremental_plan_is_the_full_plan(bonus, monotone):
    """update() re-plans incrementally (the engine's UCBVI re-plan): after every episode Q, V,
    the greedy actions and the plan's bonus equal, bit for bit, the full optimistic backward
    induction on the same statistics (started from the previous Q for the monotone min)."""
    from mdptheory.kernels.online import sample_episode
    from mdptheory.runner import Episode

    inst = INSTANCES["garnet"][0]
    mdp = inst.mdp
    L = make(StepMix, "garnet", 300, bonus=bonus, monotone=monotone)
    P, r = np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r)
    U = np.random.default_rng(6).random((300, 2 * mdp.H + 1))
    moved = 0
    for k in range(300):
        Q_prev, act_prev = L.Q.copy(), L.act.copy()
        s, a, rew = np.empty(mdp.H + 1, np.int64), np.empty(mdp.H, np.int64), np.empty(mdp.H)
        sample_episode(P, r, L.policy(), mdp.rho0, U[k], False, s, a, rew)
        L.update(Episode(s, a, rew))
        Q, V, act = Q_prev, np.zeros_like(L.V), act_prev.copy()
        pb = np.zeros_like(L.plan_bonus) if bonus == "bernstein" else L.bonus_values
        plan = (L.bonus_values, pb, L.coef, L.v_max, Q, V, act)
        kml.optimistic_plan(L._stats_tuple, plan, L._consts, bonus == "bernstein", monotone)
        np.testing.assert_array_equal(Q, L.Q)
        np.testing.assert_array_equal(V, L.V)
        np.testing.assert_array_equal(act, L.act)
        np.testing.assert_array_equal(pb, L.plan_bonus)
        moved += int(not np.array_equal(act_prev, act))
    assert moved > 0
