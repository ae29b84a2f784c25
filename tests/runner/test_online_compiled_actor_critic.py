"""The tabular actor-critic's compiled episode loop (mdptheory.kernels.actor_critic_loop):
bit-identical tables to the generic loop of the online driver for every constructor variant,
the same learner state afterwards, exact values of its stochastic policies (checked against an
independent evaluation), and the generic fallback for learners without the loop."""
import numpy as np
import pandas as pd
import pytest

from mdptheory import envs
from mdptheory.algorithms.actor_critic import ActorCritic, ActorTracking, LinearActorCritic
from mdptheory.runner import collect, online
from mdptheory.solvers.finite import evaluate_finite_policy

ENVS = {"river_swim": envs.river_swim(6, H=20), "garnet": envs.garnet(8, 3, 3, H=6, rng=0),
        "lock": envs.combination_lock(5, 7, A=3, rng=0)}

# constructor flags of the experiments; "offline" = N_off uniform episodes (hybrid)
VARIANTS = {
    "theory": {},
    "practical": {"bonus_scale": 0.1},
    "no_reset": {"bonus_scale": 0.1, "reset": False},
    "every_no_reset": {"bonus_scale": 0.1, "switching": "every", "reset": False},
    "every_reset": {"bonus_scale": 0.1, "switching": "every"},
    "never": {"bonus_scale": 0.1, "switching": "never"},
    "policy_target": {"bonus_scale": 0.1, "target": "policy"},
    "greedy": {"bonus_scale": 0.1, "eta": np.inf},
    "greedy_no_reset": {"bonus_scale": 0.1, "eta": np.inf, "reset": False},
    "non_optimistic": {"optimistic": False},
    "pooled": {"bonus_scale": 0.1, "pooled": True},
    "hybrid": {"bonus_scale": 0.1, "offline": 40},
    "hybrid_nonopt_policy_target": {"optimistic": False, "offline": 40, "target": "policy",
                                    "reset": False},
}


def make(variant, mdp, K):
    kw = dict(VARIANTS[variant])
    n_off = kw.pop("offline", 0)
    if n_off:
        kw["offline_data"] = collect(mdp, np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A), n_off,
                                     rng=11)
    return ActorCritic(mdp.S, mdp.A, mdp.H, K, **kw)


def both_runs(variant, mdp, K, **kw):
    """(table, learner) of the generic and of the compiled loop, timings dropped."""
    out = []
    for compiled in (False, True):
        learner = make(variant, mdp, K)
        df = online(learner, mdp, K, compiled=compiled, **kw).drop(columns="wall_time")
        out.append((df, learner))
    return out


def assert_same_state(g, c):
    np.testing.assert_array_equal(g.policy(), c.policy())
    assert g.metrics() == c.metrics()
    assert g.switch_times == c.switch_times
    assert (g.episodes, g.phase_start, g.switches) == (c.episodes, c.phase_start, c.switches)
    for name in ("Q", "V", "n_snap"):
        np.testing.assert_array_equal(getattr(g, name), getattr(c, name))
    if np.isfinite(g.eta):                       # phase multipliers (unused by the greedy actor)
        np.testing.assert_array_equal(g._E, c._E)
    for name in ("n_sa", "n_sas", "r_sum", "n_s", "P_hat", "r_hat", "succ", "n_succ"):
        np.testing.assert_array_equal(getattr(g.stats, name), getattr(c.stats, name))
    if g._base is not None:
        np.testing.assert_array_equal(g._base, c._base)
    if g._last_pi is None:
        assert c._last_pi is None
    else:
        np.testing.assert_array_equal(g._last_pi, c._last_pi)


@pytest.mark.parametrize("env", sorted(ENVS))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_compiled_loop_is_bit_identical_to_the_generic_loop(variant, env):
    mdp = ENVS[env]
    K = 600
    for seed, bern in ((0, False), (1, True)):
        (a, g), (b, c) = both_runs(variant, mdp, K, rng=seed, bernoulli_rewards=bern,
                                   checkpoints=np.append(np.arange(1, K, 7), K))
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert_same_state(g, c)
        assert g.episodes == K
        if VARIANTS[variant].get("switching") != "never":
            assert g.switches >= 3                     # the runs span several phases
        else:
            assert g.switches == 0


@pytest.mark.parametrize("variant", ["practical", "no_reset", "greedy", "hybrid"])
def test_bit_identical_over_driver_blocks_and_a_wrapped_evaluation_cache(variant):
    """K > 4096 (the compiled loop runs in several blocks between checkpoints), more distinct
    policies than the driver's FIFO cache holds (256), so cached values are evicted and
    re-evaluated exactly as the generic loop does (the ``evaluations`` column)."""
    mdp = ENVS["garnet"]
    K = 5000
    (a, g), (b, c) = both_runs(variant, mdp, K, rng=4)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert_same_state(g, c)
    assert a["k"].iloc[-1] == K
    if variant != "greedy":
        assert a["evaluations"].iloc[-1] > 256          # the ring wrapped


class Recorder:
    """Generic-loop wrapper noting whether each played policy is one-hot."""

    def __init__(self, learner):
        self.learner, self.one_hot = learner, []

    def policy(self):
        pi = self.learner.policy()
        self.one_hot.append(bool(np.all((pi == 0.0) | (pi == 1.0))))
        return pi

    def update(self, episode):
        self.learner.update(episode)


def test_greedy_actor_mixes_one_hot_and_stochastic_policies_in_the_cache():
    """eta = inf: the actor is one-hot where the critic's maximiser is unique and uniform over
    ties elsewhere; with counts pooled over h on RiverSwim it becomes one-hot after a while, so
    both kinds of cache keys (action tables and policy bytes) occur in one run; both loops
    agree, and a greedy actor costs at most one evaluation per phase."""
    mdp = ENVS["river_swim"]
    K = 900
    kw = {"bonus_scale": 0.1, "eta": np.inf, "pooled": True}
    runs = []
    for compiled in (False, True):
        learner = ActorCritic(mdp.S, mdp.A, mdp.H, K, **kw)
        df = online(learner, mdp, K, rng=2, compiled=compiled, checkpoints=np.arange(1, K + 1))
        runs.append((df.drop(columns="wall_time"), learner))
    (a, g), (b, c) = runs
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert_same_state(g, c)
    rec = Recorder(ActorCritic(mdp.S, mdp.A, mdp.H, K, **kw))
    online(rec, mdp, K, rng=2, checkpoints=[K])
    assert any(rec.one_hot) and not all(rec.one_hot)
    assert a["evaluations"].iloc[-1] <= g.switches + 1


def test_learner_state_equal_after_several_driver_calls_and_can_continue():
    """Three driver calls on the same learners (a fresh evaluation cache each call)."""
    mdp = ENVS["river_swim"]
    learners = [make("practical", mdp, 900) for _ in range(2)]
    tables = [[], []]
    for part in range(3):
        for i, compiled in enumerate((False, True)):
            df = online(learners[i], mdp, 300, rng=part, compiled=compiled)
            tables[i].append(df.drop(columns="wall_time"))
    for x, y in zip(*tables):
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    assert_same_state(*learners)
    assert learners[0].episodes == 900


def test_compiled_values_are_the_exact_values_of_the_played_stochastic_policies():
    """The value column at episode k equals V^{pi_k}_0(rho0) computed independently
    (evaluate_finite_policy) from pi_k = the learner's policy after k - 1 episodes (the
    uniforms are one stream, so the first k - 1 episodes are the same in both runs)."""
    mdp = ENVS["garnet"]
    K = 400
    df = online(make("practical", mdp, K), mdp, K, rng=6, compiled=True,
                checkpoints=[1, 137, 290, K])
    for k, v in zip(df["k"], df["value"]):
        learner = make("practical", mdp, K)
        if k > 1:
            online(learner, mdp, k - 1, rng=6, compiled=True)
        pi = learner.policy()
        assert np.any((pi > 0.0) & (pi < 1.0))                     # a stochastic policy
        assert v == pytest.approx(evaluate_finite_policy(mdp, pi).value(mdp.rho0), abs=1e-12)


class EpsilonGreedyCritic(ActorCritic):
    """A subclass with its own update: the compiled loop would not reproduce it."""

    calls = 0

    def update(self, episode):
        type(self).calls += 1
        super().update(episode)


def test_learners_without_the_loop_fall_back_to_the_generic_loop():
    mdp = ENVS["river_swim"]
    for variant in VARIANTS:
        assert callable(getattr(make(variant, mdp, 10), "compiled_episodes", None))
    sub = EpsilonGreedyCritic(mdp.S, mdp.A, mdp.H, 50, bonus_scale=0.1)
    assert getattr(sub, "compiled_episodes", None) is None
    with pytest.raises(AttributeError, match="overrides update"):
        _ = sub.compiled_episodes
    df = online(sub, mdp, 50, rng=0)                                # compiled=None: generic
    assert EpsilonGreedyCritic.calls == 50
    ref = online(ActorCritic(mdp.S, mdp.A, mdp.H, 50, bonus_scale=0.1), mdp, 50, rng=0)
    pd.testing.assert_frame_equal(df.drop(columns="wall_time"), ref.drop(columns="wall_time"),
                                  check_exact=True)
    with pytest.raises(TypeError, match="no compiled episode loop"):
        online(EpsilonGreedyCritic(mdp.S, mdp.A, mdp.H, 5), mdp, 5, rng=0, compiled=True)
    lm = envs.random_linear_mdp(5, 3, 3, 2, rng=3)                # the linear learner has none
    probe = ActorTracking(LinearActorCritic(lm, 5), lm.to_finite())
    assert getattr(probe, "compiled_episodes", None) is None
    online(probe, lm, 5, rng=0)


@pytest.mark.parametrize("env", sorted(ENVS))
@pytest.mark.parametrize("variant", ["theory", "practical", "no_reset", "greedy", "hybrid"])
def test_tracking_probe_compiled_loop_is_bit_identical(variant, env):
    """The pi*-tracking probe of the regret experiment runs the learner's compiled loop with
    its term accumulated inside; the ``actor_tracking`` column is bit-identical too."""
    mdp = ENVS[env]
    K = 500
    out = []
    for compiled in (False, True):
        probe = ActorTracking(make(variant, mdp, K), mdp)
        assert callable(probe.compiled_episodes)
        df = online(probe, mdp, K, rng=3, compiled=compiled,
                    checkpoints=[1, 10, 100, 250, K]).drop(columns="wall_time")
        out.append((df, probe))
    (a, g), (b, c) = out
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert "actor_tracking" in a and g.actor_tracking == c.actor_tracking
    if variant != "theory":               # (c_b = 1: the critic's rows are flat at the clip)
        assert g.actor_tracking != 0.0
    assert_same_state(g.learner, c.learner)


def test_bonus_kernel_equals_the_bonus_formula_bit_for_bit():
    """The refit's bonus kernel and the formula b = min(H, c_b H sqrt(L / max(1, n)))
    (numpy, :func:`tabular_bonus`) agree exactly, counts 0 included."""
    from mdptheory.algorithms.actor_critic import log_term, tabular_bonus
    from mdptheory.kernels.actor_critic_loop import tabular_bonus_into

    n = np.random.default_rng(0).integers(0, 5000, size=(4, 6, 3)).astype(float)
    n[0, 0, :] = 0.0
    for H, c_b in ((20, 1.0), (7, 0.1), (3, 0.0)):
        L = log_term(6, 3, H, 1000, 0.1)
        out = np.empty_like(n)
        tabular_bonus_into(n, H, L, c_b, out)
        np.testing.assert_array_equal(out, tabular_bonus(n, H, L, c_b))
