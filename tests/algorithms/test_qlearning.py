"""Q-learning with UCB-Hoeffding / UCB-Bernstein (Jin et al. 2018): the updates against a
plain-Python transcription of Algorithms 1-2 and against hand computations, optimism, the
beta recursion, the compiled loop against the generic driver, bounds and errors."""
import math

import numpy as np
import pandas as pd
import pytest

from mdptheory import bounds, envs
from mdptheory.algorithms import QLearningUCB
from mdptheory.algorithms.qlearning import iota
from mdptheory.models import FiniteHorizonMDP
from mdptheory.runner import Episode, online
from mdptheory.solvers.finite import backward_induction


class PlainQLearning:
    """Algorithms 1 and 2 of the paper in plain Python (lists and floats), step by step during
    the episode, as the paper writes them."""

    def __init__(self, S, A, H, K, p, bonus, c=2.0, c1=4.0, c2=4.0):
        self.S, self.A, self.H, self.bonus = S, A, H, bonus
        self.c, self.c1, self.c2 = c, c1, c2
        self.iota = math.log(S * A * K * H / p)
        self.Q = [[[float(H)] * A for _ in range(S)] for _ in range(H)]
        self.V = [[float(H)] * S for _ in range(H)] + [[0.0] * S]
        self.N = [[[0] * A for _ in range(S)] for _ in range(H)]
        self.mu = [[[0.0] * A for _ in range(S)] for _ in range(H)]
        self.sg = [[[0.0] * A for _ in range(S)] for _ in range(H)]
        self.beta = [[[0.0] * A for _ in range(S)] for _ in range(H)]

    def act(self, h, x):
        q = self.Q[h][x]
        return max(range(self.A), key=lambda a: (q[a], -a))     # lowest index on ties

    def step(self, h, x, a, r, y):
        H, io = self.H, self.iota
        self.N[h][x][a] += 1
        t = self.N[h][x][a]
        alpha = (H + 1) / (H + t)
        v = self.V[h + 1][y]
        if self.bonus == "hoeffding":
            b = self.c * math.sqrt(H ** 3 * io / t)
        else:
            self.mu[h][x][a] += v
            self.sg[h][x][a] += v * v
            W = max(self.sg[h][x][a] / t - (self.mu[h][x][a] / t) ** 2, 0.0)
            beta = min(self.c1 * (math.sqrt(H / t * (W + H) * io)
                                  + math.sqrt(H ** 7 * self.S * self.A * io) * io / t),
                       self.c2 * math.sqrt(H ** 3 * io / t))
            b = (beta - (1 - alpha) * self.beta[h][x][a]) / (2 * alpha)
            self.beta[h][x][a] = beta
        self.Q[h][x][a] = (1 - alpha) * self.Q[h][x][a] + alpha * (r + v + b)
        self.V[h][x] = min(float(H), max(self.Q[h][x]))

    def episode(self, mdp, x0):
        """Play one episode on a deterministic MDP (P one-hot, mean rewards)."""
        s, a_list, r_list = [x0], [], []
        x = x0
        for h in range(self.H):
            a = self.act(h, x)
            y = int(np.argmax(mdp.P[h, x, a]))
            r = float(mdp.r[h, x, a])
            self.step(h, x, a, r, y)
            s.append(y)
            a_list.append(a)
            r_list.append(r)
            x = y
        return Episode(np.array(s), np.array(a_list), np.array(r_list))


def deterministic_mdp(seed, H=3, S=3, A=2):
    rng = np.random.default_rng(seed)
    nxt = rng.integers(0, S, size=(H, S, A))
    P = np.zeros((H, S, A, S))
    np.put_along_axis(P, nxt[..., None], 1.0, axis=-1)
    rho0 = np.zeros(S)
    rho0[0] = 1.0
    return FiniteHorizonMDP(P, rng.random((H, S, A)), rho0)


@pytest.mark.parametrize("bonus", ["hoeffding", "bernstein"])
@pytest.mark.parametrize("seed", [0, 1])
def test_updates_equal_the_papers_steps_during_the_episode(bonus, seed):
    # small constants, so that Q drops below H and the greedy policy moves within K episodes
    mdp = deterministic_mdp(seed)
    K = 60
    consts = {"c": 0.02, "c1": 0.02, "c2": 0.03}
    ref = PlainQLearning(mdp.S, mdp.A, mdp.H, K, 0.1, bonus, **consts)
    algo = QLearningUCB(mdp.S, mdp.A, mdp.H, K, p=0.1, bonus=bonus, **consts)
    assert algo.iota == pytest.approx(ref.iota, rel=1e-15)
    for _ in range(K):
        greedy = np.array([[ref.act(h, x) for x in range(mdp.S)] for h in range(mdp.H)])
        np.testing.assert_array_equal(algo.policy().argmax(axis=-1), greedy)
        ep = ref.episode(mdp, 0)               # the paper updates during the episode
        algo.update(ep)                        # we update after it, h = 0..H-1
        np.testing.assert_allclose(algo.Q, np.array(ref.Q), rtol=1e-13, atol=0)
        np.testing.assert_allclose(algo.V, np.array(ref.V), rtol=1e-13, atol=0)
        np.testing.assert_array_equal(algo.N, np.array(ref.N, dtype=float))
    assert algo.episodes == K
    assert len(np.unique(algo.N)) > 3               # several pairs visited several times
    assert algo.policy_switches >= 2


def test_first_episode_by_hand():
    # H = 2, one state, one action, reward 0.5: alpha_1 = 1, so Q_h = r + V_{h+1} + b_1 with
    # V_1 = H = 2 (not yet updated when step 0 is) and V_2 = 0.
    P = np.ones((2, 1, 1, 1))
    mdp = FiniteHorizonMDP(P, np.full((2, 1, 1), 0.5), np.ones(1))
    algo = QLearningUCB(1, 1, 2, K=10, p=0.1, c=2.0)
    io = math.log(1 * 1 * 10 * 2 / 0.1)
    b1 = 2.0 * math.sqrt(8 * io)
    algo.update(Episode(np.zeros(3, np.int64), np.zeros(2, np.int64), np.full(2, 0.5)))
    assert algo.Q[0, 0, 0] == pytest.approx(0.5 + 2.0 + b1, rel=1e-14)
    assert algo.Q[1, 0, 0] == pytest.approx(0.5 + 0.0 + b1, rel=1e-14)
    assert algo.V[0, 0] == 2.0 and algo.V[1, 0] == 2.0          # clipped at H
    # second visit: alpha_2 = 3/4, b_2 = 2 sqrt(8 io / 2); V_1 is now min(H, Q_1) = 2
    algo.update(Episode(np.zeros(3, np.int64), np.zeros(2, np.int64), np.full(2, 0.5)))
    b2 = 2.0 * math.sqrt(8 * io / 2)
    q1 = 0.25 * (0.5 + b1) + 0.75 * (0.5 + 0.0 + b2)
    q0 = 0.25 * (0.5 + 2.0 + b1) + 0.75 * (0.5 + 2.0 + b2)
    assert algo.Q[1, 0, 0] == pytest.approx(q1, rel=1e-14)
    assert algo.Q[0, 0, 0] == pytest.approx(q0, rel=1e-14)
    del mdp


def test_bernstein_bonus_recursion_gives_beta_as_the_weighted_bonus_sum():
    # beta_t = 2 sum_i alpha_t^i b_i with alpha_t^i = alpha_i prod_{j>i} (1 - alpha_j): the
    # identity that b_t = (beta_t - (1 - alpha_t) beta_{t-1}) / (2 alpha_t) is built for.
    H, S, A = 4, 2, 2
    algo = QLearningUCB(S, A, H, K=1000, bonus="bernstein")
    rng = np.random.default_rng(0)
    alphas, bonuses = [], []
    for t in range(1, 60):
        beta_prev = algo.beta[0, 0, 0]
        q_prev = algo.Q[0, 0, 0]
        v_next = algo.V[1, 1]
        ep = Episode(np.array([0, 1] + list(rng.integers(0, S, H - 1))),
                     np.array([0] + list(rng.integers(0, A, H - 1))), rng.random(H))
        algo.update(ep)
        alpha = (H + 1) / (H + t)
        b = (algo.Q[0, 0, 0] - (1 - alpha) * q_prev) / alpha - ep.r[0] - v_next
        assert b == pytest.approx((algo.beta[0, 0, 0] - (1 - alpha) * beta_prev) / (2 * alpha),
                                  rel=1e-9, abs=1e-9)
        alphas.append(alpha)
        bonuses.append(b)
        weights = [alphas[i] * np.prod([1 - a for a in alphas[i + 1:]]) for i in range(t)]
        assert algo.beta[0, 0, 0] == pytest.approx(2 * np.dot(weights, bonuses), rel=1e-9)
    assert algo.N[0, 0, 0] == 59


@pytest.mark.parametrize("bonus", ["hoeffding", "bernstein"])
def test_q_stays_optimistic_along_a_run(bonus):
    rng = np.random.default_rng(3)
    H, S, A = 2, 2, 2
    mdp = FiniteHorizonMDP(rng.dirichlet(np.ones(S), size=(H, S, A)), rng.random((H, S, A)),
                           np.full(S, 1 / S))
    Q_star = backward_induction(mdp).Q

    class Checked(QLearningUCB):
        violations = 0

        def update(self, episode):
            super().update(episode)
            self.violations += int(np.any(self.Q < Q_star - 1e-9))

    K = 20_000
    algo = Checked(S, A, H, K, bonus=bonus)
    df = online(algo, mdp, K, rng=4, compiled=False)
    assert algo.violations == 0
    assert (algo.Q < H).mean() > 0.5                     # not vacuous: Q left its start H
    assert np.all(df["value_estimate"] >= df["optimal_value"] - 1e-9)   # V_0 >= V*_0


@pytest.mark.parametrize("bonus", ["hoeffding", "bernstein"])
@pytest.mark.parametrize("env", ["river_swim", "grid"])
def test_compiled_loop_is_bit_identical_to_the_generic_driver(bonus, env):
    mdp = envs.river_swim(6, H=20) if env == "river_swim" else envs.grid_world_5x5(H=10)
    K = 1500
    for seed, bern in [(0, False), (1, True), (2, False)]:
        tables = [online(QLearningUCB(mdp.S, mdp.A, mdp.H, K, bonus=bonus, c=0.005, c1=0.005,
                                      c2=0.005), mdp, K,
                         rng=seed, bernoulli_rewards=bern, compiled=compiled,
                         checkpoints=np.arange(1, K + 1, 13)).drop(columns="wall_time")
                  for compiled in (False, True)]
        pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
        assert tables[0]["policy_switches"].iloc[-1] > 10           # policies did change


def test_bounds_registered_with_rate_only_constants():
    for name, theorem in [("qlearning_hoeffding_regret", "Theorem 1"),
                          ("qlearning_bernstein_regret", "Theorem 2")]:
        b = bounds.get(name)
        assert b.constants == "rate-only" and b.exponent == 0.5 and theorem in b.theorem
        K = np.array([10.0, 1e4, 1e8])
        parts = b.split(6, 2, 20, K, 0.1, K_total=1e8)
        np.testing.assert_allclose(parts["leading"] + parts["lower"],
                                   b(6, 2, 20, K, 0.1, K_total=1e8))
    io = math.log(6 * 2 * 1e8 * 20 / 0.1)
    T = 1e8 * 20
    assert bounds.qlearning_hoeffding_regret(6, 2, 20, 1e8, 0.1) == pytest.approx(
        math.sqrt(20 ** 4 * 12 * T * io) + 20 ** 2 * 12)
    assert bounds.qlearning_bernstein_regret(6, 2, 20, 1e8, 0.1) == pytest.approx(
        math.sqrt(20 ** 3 * 12 * T * io) + math.sqrt(20 ** 9 * 12 ** 3) * io ** 2)
    assert iota(6, 2, 20 * 10, 0.1) == pytest.approx(math.log(6 * 2 * 200 / 0.1))
    with pytest.raises(ValueError, match="bonus"):
        bounds.qlearning_regret(6, 2, 20, 10, 0.1, bonus="x")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="bonus"):
        QLearningUCB(2, 2, 2, 10, bonus="optimistic")
    with pytest.raises(ValueError, match="p"):
        QLearningUCB(2, 2, 2, 10, p=1.5)
    with pytest.raises(ValueError, match="c1"):
        QLearningUCB(2, 2, 2, 10, c1=-1.0)
    with pytest.raises((ValueError, TypeError), match="H"):
        QLearningUCB(2, 2, 0, 10)
