"""Demonstration-regularized BPI's compiled episode loop in the online driver
(mdptheory.kernels.demo_regularized.tabular_bpi_episodes): bit-identical tables to the generic
loop for each constructor variant, the same learner state afterwards, exact values of its
softmax policies (checked against an independent evaluation), the generic fallback where the
loop cannot stand in for update()."""
import numpy as np
import pandas as pd
import pytest

from mdptheory import envs
from mdptheory.algorithms import demo_regularized as dr
from mdptheory.runner import online
from mdptheory.solvers.finite import evaluate_finite_policy

ENVS = {"river_swim": envs.river_swim(6, H=8), "garnet": envs.garnet(8, 3, 3, H=5, rng=0)}


def uniform_ref(mdp, seed):
    """A BC-like reference policy: random rows bounded away from 0."""
    w = np.random.default_rng(seed).random((mdp.H, mdp.S, mdp.A)) + 0.2
    return w / w.sum(axis=-1, keepdims=True)


VARIANTS = {
    "theory": lambda mdp, ref: dr.RegBPITabular(mdp.S, mdp.A, mdp.H, ref, 0.1),
    "practical": lambda mdp, ref: dr.RegBPITabular(mdp.S, mdp.A, mdp.H, ref, 0.05,
                                                   bonus_scale=0.1),
    "lam0_known_reward": lambda mdp, ref: dr.RegBPITabular(mdp.S, mdp.A, mdp.H, ref, 0.0,
                                                           bonus_scale=0.1, reward=mdp.r),
    "rho0": lambda mdp, ref: dr.RegBPITabular(mdp.S, mdp.A, mdp.H, ref, 0.2, bonus_scale=0.3,
                                              rho0=mdp.rho0),
}


@pytest.mark.parametrize("env", sorted(ENVS))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("bern", [False, True])
def test_compiled_loop_is_bit_identical_to_the_generic_loop(env, variant, bern):
    mdp = ENVS[env]
    ref = uniform_ref(mdp, 5)
    learners = [VARIANTS[variant](mdp, ref) for _ in range(2)]
    K = 400
    tables = [online(learner, mdp, K, rng=11, bernoulli_rewards=bern, compiled=compiled,
                     checkpoints=np.arange(1, K + 1, 7)).drop(columns="wall_time")
              for learner, compiled in zip(learners, (False, True))]
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    g, c = learners
    np.testing.assert_array_equal(g.policy(), c.policy())
    for name in ("V", "Q", "G", "n_s0"):
        np.testing.assert_array_equal(getattr(g, name), getattr(c, name))
    for name in ("n_sa", "n_sas", "r_sum", "P_hat", "r_hat"):
        np.testing.assert_array_equal(getattr(g.stats, name), getattr(c.stats, name))
    assert g.episodes == c.episodes == K and g.certificate == c.certificate
    # the policy moves: the table records many distinct policies, and it is not a constant
    assert tables[0]["evaluations"].iloc[-1] > 20


def test_recorded_values_are_exact_values_of_the_policies_played():
    """The last row's value is V^pi_0(rho0) of the policy held before the last episode,
    recomputed independently; continuing a learner with a second driver call equals one
    longer generic run."""
    mdp = ENVS["garnet"]
    ref = uniform_ref(mdp, 6)
    L = dr.RegBPITabular(mdp.S, mdp.A, mdp.H, ref, 0.1, bonus_scale=0.1)
    online(L, mdp, 99, rng=1, compiled=True)
    pi_before = L.policy().copy()
    row = online(L, mdp, 1, rng=2, compiled=True).iloc[-1]
    v = float(mdp.rho0 @ evaluate_finite_policy(mdp, pi_before).V[0])
    assert row["value"] == pytest.approx(v, abs=1e-12)
    G = dr.RegBPITabular(mdp.S, mdp.A, mdp.H, ref, 0.1, bonus_scale=0.1)
    online(G, mdp, 99, rng=1, compiled=False)
    online(G, mdp, 1, rng=2, compiled=False)
    np.testing.assert_array_equal(G.policy(), L.policy())


def test_generic_fallback_where_the_loop_cannot_stand_in():
    mdp = ENVS["river_swim"]
    ref = uniform_ref(mdp, 7)
    with_bonus = dr.RegBPITabular(mdp.S, mdp.A, mdp.H, ref, 0.1, reward_bonus=True)
    assert with_bonus.compiled_episodes is None

    class Observed(dr.RegBPITabular):
        def update(self, episode):
            super().update(episode)

    assert Observed(mdp.S, mdp.A, mdp.H, ref, 0.1).compiled_episodes is None
    with pytest.raises(TypeError, match="compiled_episodes"):
        online(with_bonus, mdp, 5, rng=0, compiled=True)
    plain = dr.RegBPITabular(mdp.S, mdp.A, mdp.H, ref, 0.1)
    assert plain.compiled_episodes is not None
