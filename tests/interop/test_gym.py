"""gymnasium in both directions (issue 15, item 6)."""
import numpy as np
import pytest

import mdptheory as mt
from mdptheory import envs, solvers
from mdptheory.interop import NoTransitionTableError
from mdptheory.models import DiscountedMDP, FiniteHorizonMDP

gym = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env


def _table_value_iteration(table, S, A, gamma, sweeps):
    """Independent value iteration on the environment's own table: a terminated transition
    ends the return (value 0 after it)."""
    V = np.zeros(S)
    for _ in range(sweeps):
        V = np.array([max(sum(p * (rew + (0.0 if term else gamma * V[t]))
                              for p, t, rew, term in table[s][a]) for a in range(A))
                      for s in range(S)])
    return V


@pytest.mark.parametrize("name, kwargs, gamma, sweeps", [
    ("FrozenLake8x8-v1", {"is_slippery": True}, 0.95, 700),
    ("FrozenLake-v1", {"is_slippery": True}, 0.9, 400),
    ("CliffWalking-v1", {}, 0.9, 400),
])
def test_from_gymnasium_matches_value_iteration_on_the_table(name, kwargs, gamma, sweeps):
    env = gym.make(name, **kwargs)
    mdp = mt.from_gymnasium(env, gamma=gamma)
    S, A = env.observation_space.n, env.action_space.n
    assert (mdp.S, mdp.A) == (S + 1, A)
    sol = solvers.policy_iteration(mdp)
    ref = _table_value_iteration(env.unwrapped.P, S, A, gamma, sweeps)   # error <= gamma^sweeps
    np.testing.assert_allclose(sol.V[:S], ref, atol=1e-10)
    assert sol.V[S] == 0.0                               # the absorbing terminal state
    np.testing.assert_allclose(mdp.rho0[:S], env.unwrapped.initial_state_distrib)
    np.testing.assert_allclose(solvers.solve_lp(mdp).V, sol.V, atol=1e-7)


def test_taxi_solves_and_a_finite_horizon_is_available():
    env = gym.make("Taxi-v3") if "Taxi-v4" not in gym.envs.registry else gym.make("Taxi-v4")
    mdp = mt.from_gymnasium(env, gamma=0.99)
    sol = solvers.modified_policy_iteration(mdp, tol=1e-9)
    ref = solvers.policy_iteration(mdp)
    np.testing.assert_allclose(sol.V, ref.V, atol=1e-8)
    # every start state has a positive optimal value: the passenger gets delivered (+20)
    assert (sol.V[:500][mdp.rho0[:500] > 0] > 0).all()
    fin = mt.from_gymnasium(env, horizon=30)
    assert isinstance(fin, FiniteHorizonMDP) and fin.gamma == 1.0 and fin.H == 30
    with pytest.raises(ValueError, match="gamma is required"):
        mt.from_gymnasium(env)


def test_environment_without_a_table_is_a_named_error():
    env = gym.make("CartPole-v1")
    with pytest.raises(NoTransitionTableError, match=r"exposes its transition table as "
                                                     r"env\.unwrapped\.P.*CartPoleEnv has none"):
        mt.from_gymnasium(env, gamma=0.9)


def _masked_model():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(6), size=(6, 3))
    mask = rng.random((6, 3)) > 0.4
    mask[:, 1] = True
    return DiscountedMDP(P, rng.random((6, 3)), 0.9, mask=mask)


@pytest.mark.parametrize("make", [
    lambda: envs.garnet(12, 3, 4, gamma=0.9, rng=0),
    lambda: envs.garnet(12, 3, 4, gamma=0.9, rng=1, sparse=True),
    lambda: envs.river_swim(6, gamma=0.95),
    lambda: envs.river_swim(6, H=10),
    _masked_model,
    lambda: FiniteHorizonMDP.stationary(_masked_model().P, _masked_model().r, 5,
                                        np.ones(6) / 6, mask=_masked_model().mask),
])
def test_to_gymnasium_passes_the_environment_checker(make):
    env = mt.to_gymnasium(make())
    check_env(env, skip_render_check=True)


def test_to_gymnasium_samples_the_model_with_its_seed_and_honours_masks():
    mdp = _masked_model()
    env = mt.to_gymnasium(mdp)
    s, info = env.reset(seed=3)
    np.testing.assert_array_equal(info["action_mask"], mdp.mask[s].astype(np.int8))
    for _ in range(50):
        assert mdp.mask[env.unwrapped.state, env.action_space.sample()]
    # a masked action runs as the state's first available one, or is an error on request
    s = next(x for x in range(6) if not mdp.mask[x].all())
    bad, first = int(np.flatnonzero(~mdp.mask[s])[0]), int(np.flatnonzero(mdp.mask[s])[0])
    strict = mt.to_gymnasium(mdp, masked_action="raise")
    for e in (env, strict):
        e.reset(seed=0)
        e.unwrapped.state = s
    with pytest.raises(ValueError, match=f"action {bad} is not available in state {s}"):
        strict.step(bad)
    env.reset(seed=5)
    env.unwrapped.state = s
    out_bad = env.step(bad)
    env.reset(seed=5)
    env.unwrapped.state = s
    out_first = env.step(first)
    assert out_bad[4]["executed_action"] == first and out_bad[:2] == out_first[:2]
    with pytest.raises(ValueError, match="masked_action must be 'first' or 'raise'"):
        mt.to_gymnasium(mdp, masked_action="stay")
    # same seed, same trajectory; transition frequencies match P
    def run(seed, n):
        env.reset(seed=seed)
        env.unwrapped.state = 0
        out = []
        for _ in range(n):
            env.unwrapped.state = 0
            out.append(env.step(1)[0])
        return np.array(out)
    a, b = run(11, 4000), run(11, 4000)
    np.testing.assert_array_equal(a, b)
    freq = np.bincount(a, minlength=6) / a.size
    assert np.abs(freq - mdp.P[0, 1]).max() < 4 * np.sqrt(0.25 / a.size) + 1e-3
    fin = mt.to_gymnasium(envs.river_swim(4, H=3))
    fin.reset(seed=0)
    flags = [fin.step(1)[3] for _ in range(3)]
    assert flags == [False, False, True]
