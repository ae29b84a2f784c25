"""The online and offline drivers: exact regret against brute force, seeding, caching, errors."""
import numpy as np
import pandas as pd
import pytest

from mdptheory.kernels import online as kon
from mdptheory.kernels import sampling as ksamp
from mdptheory.models import FiniteHorizonMDP, LinearMDP
from mdptheory.runner import Dataset, Episode, collect, offline, online
from mdptheory.solvers.finite import backward_induction, evaluate_finite_policy


def tiny_mdp(seed=0, H=3, S=3, A=2):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    P[0, 0, 0] = [1.0] + [0.0] * (S - 1)          # a sparse row too
    return FiniteHorizonMDP(P, rng.random((H, S, A)), rng.dirichlet(np.ones(S)))


def einsum_value(mdp, pi):
    """V^pi_0(rho0) by the plain recursion, in NumPy."""
    V = np.zeros(mdp.S)
    for h in range(mdp.H - 1, -1, -1):
        Q = mdp.r[h] + np.einsum("sat,t->sa", mdp.P[h], V)
        V = np.einsum("sa,sa->s", pi[h], Q)
    return float(mdp.rho0 @ V)


def optimal_value_by_enumeration(mdp):
    """max over all deterministic Markov policies of V^pi_0(rho0) (A^(H S) of them)."""
    H, S, A = mdp.H, mdp.S, mdp.A
    best = -np.inf
    for code in range(A ** (H * S)):
        acts = np.array([(code // A ** i) % A for i in range(H * S)]).reshape(H, S)
        pi = np.eye(A)[acts]
        best = max(best, einsum_value(mdp, pi))
    return best


class RandomPolicyLearner:
    """Plays a fresh random stochastic policy each episode (repeats one now and then), keeps
    every policy and episode it saw."""

    def __init__(self, H, S, A, seed):
        self.rng = np.random.default_rng(seed)
        self.H, self.S, self.A = H, S, A
        self.played, self.episodes = [], []
        self._pi = self._draw()

    def _draw(self):
        return self.rng.dirichlet(np.ones(self.A), size=(self.H, self.S))

    def policy(self):
        self.played.append(self._pi.copy())
        return self._pi

    def update(self, episode):
        self.episodes.append(episode)
        if self.rng.random() < 0.7:
            self._pi = self._draw()

    def metrics(self):
        return {"episodes_seen": len(self.episodes)}


class FixedLearner:
    def __init__(self, pi):
        self.pi = pi

    def policy(self):
        return self.pi

    def update(self, episode):
        pass


def test_regret_equals_brute_force_on_tiny_mdp():
    mdp = tiny_mdp(1)
    learner = RandomPolicyLearner(mdp.H, mdp.S, mdp.A, seed=3)
    K = 60
    df = online(learner, mdp, K, rng=5, checkpoints=np.arange(1, K + 1))
    v_star = optimal_value_by_enumeration(mdp)
    values = np.array([einsum_value(mdp, pi) for pi in learner.played])
    assert len(values) == K
    np.testing.assert_allclose(df["optimal_value"], v_star, rtol=0, atol=1e-12)
    np.testing.assert_allclose(df["value"], values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(df["episode_regret"], v_star - values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(df["regret"], np.cumsum(v_star - values), rtol=0, atol=1e-10)
    np.testing.assert_array_equal(df["episodes_seen"], np.arange(1, K + 1))


def test_regret_at_sparse_checkpoints_sums_every_episode():
    mdp = tiny_mdp(2)
    learner = RandomPolicyLearner(mdp.H, mdp.S, mdp.A, seed=4)
    df = online(learner, mdp, 50, rng=0, checkpoints=[7, 50])
    v_star = backward_induction(mdp).value(mdp.rho0)
    gaps = v_star - np.array([einsum_value(mdp, pi) for pi in learner.played])
    np.testing.assert_allclose(df["regret"], [gaps[:7].sum(), gaps.sum()], atol=1e-10)
    assert list(df["k"]) == [7, 50]


def test_optimal_policy_has_zero_regret():
    mdp = tiny_mdp(3, H=4, S=4, A=3)
    pi_star = backward_induction(mdp).pi
    df = online(FixedLearner(pi_star), mdp, 200, rng=1)
    assert np.abs(df["regret"]).max() <= 1e-12
    assert np.abs(df["episode_regret"]).max() <= 1e-13
    assert df["evaluations"].iloc[-1] == 1               # evaluated once, then cached


def test_same_seed_same_dataframe_and_different_seed_differs():
    mdp = tiny_mdp(4)

    def go(seed):
        return online(RandomPolicyLearner(mdp.H, mdp.S, mdp.A, seed=9), mdp, 80, rng=seed,
                      bernoulli_rewards=True).drop(columns="wall_time")

    pd.testing.assert_frame_equal(go(11), go(11))
    a = RandomPolicyLearner(mdp.H, mdp.S, mdp.A, seed=9)
    b = RandomPolicyLearner(mdp.H, mdp.S, mdp.A, seed=9)
    online(a, mdp, 30, rng=11)
    online(b, mdp, 30, rng=12)
    assert any(not np.array_equal(x.s, y.s) for x, y in zip(a.episodes, b.episodes))


def test_episodes_are_those_of_sample_episodes_with_the_same_generator():
    mdp = tiny_mdp(5, H=4, S=5, A=3)
    pi = np.random.default_rng(0).dirichlet(np.ones(mdp.A), size=(mdp.H, mdp.S))
    for bern in (False, True):
        learner = RandomPolicyLearner(mdp.H, mdp.S, mdp.A, seed=0)
        learner._draw = lambda: pi                      # always the same policy
        learner._pi = pi
        online(learner, mdp, 25, rng=np.random.default_rng(42), bernoulli_rewards=bern)
        K, H = 25, mdp.H
        s = np.empty((K, H + 1), np.int64)
        a = np.empty((K, H), np.int64)
        r = np.empty((K, H))
        ksamp.sample_episodes(np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r), pi,
                              mdp.rho0, np.random.default_rng(42), bern, s, a, r)
        np.testing.assert_array_equal(np.stack([e.s for e in learner.episodes]), s)
        np.testing.assert_array_equal(np.stack([e.a for e in learner.episodes]), a)
        np.testing.assert_array_equal(np.stack([e.r for e in learner.episodes]), r)
        if bern:
            assert set(np.unique(r)) <= {0.0, 1.0}


def test_episode_record_shapes_and_fresh_arrays():
    mdp = tiny_mdp(6, H=5)
    learner = RandomPolicyLearner(mdp.H, mdp.S, mdp.A, seed=1)
    online(learner, mdp, 3, rng=0)
    e0, e1 = learner.episodes[:2]
    assert isinstance(e0, Episode)
    assert e0.s.shape == (6,) and e0.a.shape == (5,) and e0.r.shape == (5,)
    assert e0.s.dtype == np.int64 and e0.a.dtype == np.int64 and e0.r.dtype == np.float64
    assert not np.shares_memory(e0.s, e1.s)
    np.testing.assert_allclose(e0.r, mdp.r[np.arange(5), e0.s[:5], e0.a])   # mean rewards
    assert e0.H == 5 and e0.ret == pytest.approx(e0.r.sum())


def test_alternating_policies_are_evaluated_once_each():
    mdp = tiny_mdp(7)
    pis = [np.eye(mdp.A)[np.zeros((mdp.H, mdp.S), int)], np.full((mdp.H, mdp.S, mdp.A), 0.5)]

    class Alternating:
        k = 0

        def policy(self):
            return pis[self.k % 2].copy()               # new objects, same bytes

        def update(self, episode):
            self.k += 1

    df = online(Alternating(), mdp, 40, rng=0)
    assert df["evaluations"].iloc[-1] == 2
    v = [einsum_value(mdp, p) for p in pis]
    np.testing.assert_allclose(df["value"], [v[(k - 1) % 2] for k in df["k"]], atol=1e-12)


def test_in_place_mutated_policy_is_re_evaluated():
    mdp = tiny_mdp(8)
    pi = np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A)

    class Mutating:
        def policy(self):
            return pi

        def update(self, episode):
            pi[:] = np.eye(mdp.A)[episode.a[0] % mdp.A]   # same object, new content

    learner_values = []

    class Recording(Mutating):
        def policy(self):
            learner_values.append(einsum_value(mdp, pi))
            return pi

    df = online(Recording(), mdp, 20, rng=3, checkpoints=np.arange(1, 21))
    np.testing.assert_allclose(df["value"], learner_values, atol=1e-12)


def test_invalid_policy_names_the_episode_and_row():
    mdp = tiny_mdp(9)
    bad = np.full((mdp.H, mdp.S, mdp.A), 0.4)
    with pytest.raises(ValueError, match=r"policy of episode 1: pi\[0, 0\] sums to 0.8"):
        online(FixedLearner(bad), mdp, 5, rng=0)
    with pytest.raises(ValueError, match=r"policy of episode 1 has shape \(2, 3, 2\)"):
        online(FixedLearner(np.full((2, 3, 2), 0.5)), mdp, 5, rng=0)
    neg = np.full((mdp.H, mdp.S, mdp.A), 0.5)
    neg[1, 2] = [1.5, -0.5]
    with pytest.raises(ValueError, match=r"pi\[1, 2, 1\] is -0.5"):
        online(FixedLearner(neg), mdp, 5, rng=0)


def test_bad_arguments():
    mdp = tiny_mdp(10)
    learner = FixedLearner(np.full((mdp.H, mdp.S, mdp.A), 0.5))
    with pytest.raises(ValueError, match="K must be >= 1"):
        online(learner, mdp, 0, rng=0)
    with pytest.raises(ValueError, match=r"checkpoints must lie in \[1, K=5\]"):
        online(learner, mdp, 5, rng=0, checkpoints=[3, 6])
    with pytest.raises(TypeError, match="rng must be"):
        online(learner, mdp, 5, rng="seed")
    with pytest.raises(TypeError, match="mdp must be a FiniteHorizonMDP or LinearMDP"):
        online(learner, "mdp", 5, rng=0)


def test_default_checkpoints_are_log_spaced_and_end_at_K():
    mdp = tiny_mdp(11)
    df = online(FixedLearner(np.full((mdp.H, mdp.S, mdp.A), 0.5)), mdp, 1000, rng=0)
    k = df["k"].to_numpy()
    assert k[0] == 1 and k[-1] == 1000 and np.all(np.diff(k) > 0) and 20 <= len(k) <= 50
    np.testing.assert_allclose(df["regret"], k * df["episode_regret"].iloc[0], rtol=1e-12)


def test_linear_mdp_is_run_on_its_tabular_equivalent():
    rng = np.random.default_rng(0)
    S, A, d, H = 4, 2, 3, 3
    phi = rng.dirichlet(np.ones(d), size=(S, A))
    mu = rng.dirichlet(np.ones(S), size=(H, d))
    theta = rng.random((H, d))
    lin = LinearMDP(phi, mu, theta, np.full(S, 1.0 / S))
    learner = RandomPolicyLearner(H, S, A, seed=2)
    df = online(learner, lin, 20, rng=0, checkpoints=np.arange(1, 21))
    fin = lin.to_finite()
    values = [evaluate_finite_policy(fin, pi).value(fin.rho0) for pi in learner.played]
    np.testing.assert_allclose(df["value"], values, atol=1e-12)


def test_kernels_compiled_equal_python():
    mdp = tiny_mdp(12, H=4, S=5, A=3)
    P, r = np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r)
    pi = np.random.default_rng(1).dirichlet(np.ones(3), size=(4, 5))
    u = np.random.default_rng(2).random(3 * 4 + 1)
    outs = []
    for f in (kon.sample_episode, kon.sample_episode.py_func):
        s, a, rr = np.empty(5, np.int64), np.empty(4, np.int64), np.empty(4)
        f(P, r, pi, mdp.rho0, u, True, s, a, rr)
        outs.append((s, a, rr))
    for x, y in zip(*outs):
        np.testing.assert_array_equal(x, y)
    pos = P > 0
    n_succ = pos.sum(-1).astype(np.int64)
    succ = np.argsort(~pos, axis=-1, kind="stable").astype(np.int64)
    V1, V2 = np.zeros((5, 5)), np.zeros((5, 5))
    v1 = kon.policy_value_sparse(P, succ, n_succ, r, pi, mdp.rho0, V1)
    v2 = kon.policy_value_sparse.py_func(P, succ, n_succ, r, pi, mdp.rho0, V2)
    assert v1 == v2 and np.array_equal(V1, V2)
    assert v1 == pytest.approx(einsum_value(mdp, pi), abs=1e-12)
    assert kon.policy_value(P, r, pi, mdp.rho0, V1) == pytest.approx(v1, abs=1e-13)
    assert kon.policy_defect(pi, 1e-8) == kon.policy_defect.py_func(pi, 1e-8) == -1
    bad = pi.copy()
    bad[2, 3, 0] += 0.1
    assert kon.policy_defect(bad, 1e-8) == kon.policy_defect.py_func(bad, 1e-8) == 2 * 5 + 3
    act1, act2 = np.zeros((4, 5), np.int64), np.zeros((4, 5), np.int64)
    assert kon.policy_digest(pi, 1e-8, act1) == kon.policy_digest.py_func(pi, 1e-8, act2) \
        == (-1, False)
    assert kon.policy_digest(bad, 1e-8, act1) == (2 * 5 + 3, False)
    acts = np.random.default_rng(3).integers(0, 3, (4, 5))
    onehot = np.eye(3)[acts]
    assert kon.policy_digest(onehot, 1e-8, act1) == kon.policy_digest.py_func(onehot, 1e-8, act2) \
        == (-1, True)
    np.testing.assert_array_equal(act1, acts)
    np.testing.assert_array_equal(act2, acts)
    Vd = np.zeros((5, 5))
    vd = kon.deterministic_value(P, succ, n_succ, r, acts, mdp.rho0, Vd)
    assert vd == kon.deterministic_value.py_func(P, succ, n_succ, r, acts, mdp.rho0, V2)
    assert vd == kon.policy_value_sparse(P, succ, n_succ, r, onehot, mdp.rho0, V1)
    assert vd == pytest.approx(einsum_value(mdp, onehot), abs=1e-12)


def test_collect_and_offline_record_exact_suboptimality():
    mdp = tiny_mdp(13, H=3, S=4, A=2)
    behaviour = np.full((mdp.H, mdp.S, mdp.A), 0.5)
    data = collect(mdp, behaviour, 300, rng=0)
    assert isinstance(data, Dataset) and len(data) == 300 and data.H == 3
    assert data.s.shape == (300, 4) and data.a.shape == (300, 3) and data.r.shape == (300, 3)
    assert len(data.head(10)) == 10 and isinstance(next(iter(data)), Episode)

    def first_action_counts(dataset, bias=0.0):
        """Greedy in the empirical mean reward at each (h, s); returns (pi, metrics)."""
        H, S, A = mdp.H, mdp.S, mdp.A
        tot, cnt = np.zeros((H, S, A)), np.zeros((H, S, A))
        for h in range(H):
            np.add.at(tot[h], (dataset.s[:, h], dataset.a[:, h]), dataset.r[:, h])
            np.add.at(cnt[h], (dataset.s[:, h], dataset.a[:, h]), 1.0)
        pi = np.eye(A)[np.argmax(tot / np.maximum(cnt, 1) + bias, axis=-1)]
        return pi, {"pairs_seen": int((cnt > 0).sum())}

    df = offline(first_action_counts, mdp, data)
    pi, _ = first_action_counts(data)
    v_star = optimal_value_by_enumeration(mdp)
    assert df.shape[0] == 1 and df["N"].iloc[0] == 300
    assert df["suboptimality"].iloc[0] == pytest.approx(v_star - einsum_value(mdp, pi), abs=1e-12)
    assert df["pairs_seen"].iloc[0] > 0 and df["wall_time"].iloc[0] >= 0

    class Fits:
        def fit(self, dataset):
            return np.full((mdp.H, mdp.S, mdp.A), 0.5)

    sub = offline(Fits(), mdp, data)["suboptimality"].iloc[0]
    assert sub == pytest.approx(v_star - einsum_value(mdp, behaviour), abs=1e-12)
    with pytest.raises(ValueError, match="policy returned by the offline algorithm"):
        offline(lambda d: np.zeros((mdp.H, mdp.S, mdp.A)), mdp, data)
