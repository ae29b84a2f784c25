"""UCBVI: optimism, kernels vs their Python and NumPy twins, learning, bounds."""
import numpy as np
import pytest

from mdptheory import bounds, envs
from mdptheory.algorithms import UCBVI
from mdptheory.algorithms import _common as C
from mdptheory.kernels import optimistic as ko
from mdptheory.models import FiniteHorizonMDP
from mdptheory.runner import Episode, collect, online
from mdptheory.solvers.finite import backward_induction


def random_mdp(seed, H=3, S=3, A=2, stationary=False):
    rng = np.random.default_rng(seed)
    if stationary:
        return FiniteHorizonMDP.stationary(rng.dirichlet(np.ones(S), size=(S, A)),
                                           rng.random((S, A)), H, np.full(S, 1.0 / S))
    return FiniteHorizonMDP(rng.dirichlet(np.ones(S), size=(H, S, A)), rng.random((H, S, A)),
                            np.full(S, 1.0 / S))


class Checked(UCBVI):
    """UCBVI that checks Q >= Q* and V >= V* after every update."""

    def __init__(self, *args, Q_star, V_star, **kw):
        super().__init__(*args, **kw)
        self.Q_star, self.V_star, self.violations = Q_star, V_star, 0

    def update(self, episode):
        super().update(episode)
        if not (np.all(self.Q >= self.Q_star - 1e-9) and np.all(self.V >= self.V_star - 1e-9)):
            self.violations += 1


@pytest.mark.parametrize("stage_dependent,stationary", [(True, False), (False, True)])
def test_bernstein_q_is_optimistic_along_a_seeded_run(stage_dependent, stationary):
    mdp = random_mdp(0, stationary=stationary)
    sol = backward_induction(mdp)
    K = 8000
    algo = Checked(mdp.S, mdp.A, mdp.H, K, bonus="bernstein", stage_dependent=stage_dependent,
                   Q_star=sol.Q, V_star=sol.V)
    online(algo, mdp, K, rng=1)
    assert algo.violations == 0
    below_cap = algo.Q < algo.v_max[:, None, None]
    assert below_cap.mean() > 0.5                       # the check is not vacuous
    assert algo.bonus_values.max() > 0


def test_hoeffding_q_is_optimistic_once_bonuses_bite():
    # UCBVI-CH's bonus 7 H L / sqrt(n) only drops below the clip after ~10^5 visits: warm-start
    # with a large uniform-policy dataset, then check optimism over further planned episodes.
    base = random_mdp(1, H=2, S=2, A=2)
    mdp = base.replace(r=0.1 * base.r)                  # small rewards: Q can leave the clip
    sol = backward_induction(mdp)
    K = 400_000
    algo = Checked(mdp.S, mdp.A, mdp.H, K, bonus="hoeffding", Q_star=sol.Q, V_star=sol.V)
    algo.warm_start(collect(mdp, np.full((mdp.H, mdp.S, mdp.A), 0.5), 400_000, rng=2))
    assert algo.stats.n_sa.sum() == 2 * 400_000
    online(algo, mdp, 300, rng=3)
    assert algo.violations == 0
    assert (algo.Q < algo.v_max[:, None, None]).any()   # some bonus below the clip
    n = algo.stats.n_sa
    np.testing.assert_allclose(algo.bonus_values_ch, 7 * 2 * algo.L / np.sqrt(n))


def test_incremental_statistics_match_counts_from_scratch():
    mdp = random_mdp(2, H=4, S=5, A=3)
    data = collect(mdp, np.full((4, 5, 3), 1.0 / 3), 200, rng=0, bernoulli_rewards=True)
    for pooled in (False, True):
        st = C.CountStatistics(5, 3, 4, pooled=pooled)
        for e in data:
            st.add(e)
        n_sa = np.zeros((4, 5, 3))
        n_sas = np.zeros((4, 5, 3, 5))
        r_sum = np.zeros((4, 5, 3))
        for h in range(4):
            np.add.at(n_sa[h], (data.s[:, h], data.a[:, h]), 1.0)
            np.add.at(n_sas[h], (data.s[:, h], data.a[:, h], data.s[:, h + 1]), 1.0)
            np.add.at(r_sum[h], (data.s[:, h], data.a[:, h]), data.r[:, h])
        if pooled:
            n_sa, n_sas, r_sum = (x.sum(0, keepdims=True) for x in (n_sa, n_sas, r_sum))
        np.testing.assert_array_equal(st.n_sa, n_sa)
        np.testing.assert_array_equal(st.n_sas, n_sas)
        np.testing.assert_allclose(st.r_sum, r_sum, atol=1e-12)
        P_hat, r_hat = C.empirical_model(n_sa, n_sas, r_sum)
        np.testing.assert_allclose(st.P_hat, P_hat, atol=1e-15)
        np.testing.assert_allclose(st.r_hat, r_hat, atol=1e-15)
        succ, n_succ = C.support_lists(P_hat)
        np.testing.assert_array_equal(st.n_succ, n_succ)
        for idx in np.ndindex(n_succ.shape):
            np.testing.assert_array_equal(st.succ[idx][:n_succ[idx]], succ[idx][:n_succ[idx]])
        n_s = np.stack([np.bincount(data.s[:, h], minlength=5) for h in range(5)])
        np.testing.assert_array_equal(st.n_s, n_s)


def reference_plan(P_hat, r_hat, n_sa, bonus, v_max, Q_prev):
    """NumPy twin of the optimistic backward induction (per-step statistics, G = H)."""
    H, S, A = Q_prev.shape
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    act = np.empty((H, S), dtype=np.int64)
    for h in range(H - 1, -1, -1):
        q = np.minimum(r_hat[h] + bonus[h] + np.einsum("sat,t->sa", P_hat[h], V[h + 1]),
                       v_max[h])
        q = np.where(n_sa[h] > 0, q, v_max[h])
        Q[h] = np.minimum(q, Q_prev[h])
        for s in range(S):
            best = np.flatnonzero(Q[h, s] == Q[h, s].max())
            act[h, s] = best[np.argmin(n_sa[h, s, best])]      # fewest visits, then lowest
        V[h] = Q[h].max(axis=1)
    return Q, V, act


def stats_after(seed, episodes, H=4, S=5, A=3, pooled=False):
    mdp = random_mdp(seed, H=H, S=S, A=A)
    st = C.CountStatistics(S, A, H, pooled=pooled)
    for e in collect(mdp, np.full((H, S, A), 1.0 / A), episodes, rng=seed):
        st.add(e)
    return st


def test_optimistic_backward_induction_matches_numpy_twin_and_python():
    st = stats_after(3, 40)
    H, S, A = 4, 5, 3
    rng = np.random.default_rng(0)
    bonus = rng.random((H, S, A))
    v_max = C.step_caps(H)
    Q_prev = np.minimum(v_max[:, None, None], 0.5 + 3 * rng.random((H, S, A)))
    Q_ref, V_ref, act_ref = reference_plan(st.P_hat, st.r_hat, st.n_sa, bonus, v_max, Q_prev)
    outs = []
    for f in (ko.optimistic_backward_induction, ko.optimistic_backward_induction.py_func):
        V, Q, act = np.zeros((H + 1, S)), Q_prev.copy(), np.full((H, S), -1, np.int64)
        changed = f(st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ, bonus, v_max, True, V, Q,
                    act)
        assert changed == H * S
        outs.append((Q, V, act))
    for x, y in zip(*outs):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(outs[0][0], Q_ref, atol=1e-12)
    np.testing.assert_allclose(outs[0][1], V_ref, atol=1e-12)
    np.testing.assert_array_equal(outs[0][2], act_ref)
    Q2, _, act2 = C.optimistic_backward_induction(st.P_hat, st.r_hat, st.n_sa, bonus, v_max,
                                                   Q_prev)
    np.testing.assert_array_equal(Q2, outs[0][0])
    np.testing.assert_array_equal(act2, outs[0][2])


def test_ties_go_to_the_fewest_visited_action():
    # all Q at the clip: the greedy action is the least visited one, then the lowest index
    n_sa = np.array([[[5.0, 2.0, 2.0]]])
    P_hat = np.ones((1, 1, 3, 1))
    succ, n_succ = C.support_lists(P_hat)
    bonus = np.full((1, 1, 3), 100.0)
    V, Q, act = np.zeros((2, 1)), np.ones((1, 1, 3)), np.zeros((1, 1), np.int64)
    ko.optimistic_backward_induction(P_hat, np.zeros((1, 1, 3)), n_sa, succ, n_succ, bonus,
                                     np.ones(1), True, V, Q, act)
    assert act[0, 0] == 1 and V[0, 0] == 1.0


def test_bernstein_kernel_matches_python_and_the_numpy_bonus():
    H, S, A = 4, 5, 3
    for pooled in (False, True):
        st = stats_after(4, 30, pooled=pooled)
        L, c_corr = 3.0, 50.0
        v_max = C.step_caps(H)
        outs = []
        for f in (ko.optimistic_backward_induction_bernstein,
                  ko.optimistic_backward_induction_bernstein.py_func):
            V = np.zeros((H + 1, S))
            Q = np.broadcast_to(v_max[:, None, None], (H, S, A)).copy()
            act, b = np.zeros((H, S), np.int64), np.zeros((H, S, A))
            f(st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ, st.n_s, float(H), L, c_corr,
              1.0, v_max, True, V, Q, act, b)
            outs.append((Q, V, act, b))
        for x, y in zip(*outs):
            np.testing.assert_array_equal(x, y)
        Q, V, act, b = outs[0]
        for h in range(H):
            g = 0 if pooled else h
            # c_corr = c H^3 S^2 A L^2 with the c below
            w = C.bernstein_correction_weights(st.n_s[h + 1], H, S, A, L,
                                               c=c_corr / (H ** 3 * S ** 2 * A * L ** 2))
            assert np.all(w[st.n_s[h + 1] == 0] == H ** 2)
            for s in range(S):
                for a in range(A):
                    n = st.n_sa[g, s, a]
                    if n == 0:
                        assert b[h, s, a] == 0 and Q[h, s, a] == v_max[h]
                        continue
                    ref = C.bernstein_bonus(st.P_hat[g, s, a], V[h + 1], w, n, H, L)
                    assert b[h, s, a] == pytest.approx(ref, rel=1e-12)
                    assert ref == pytest.approx(ko.bernstein_bonus(
                        st.P_hat[g, s, a], V[h + 1], w, n, float(H), L), rel=1e-12)
                    q = st.r_hat[g, s, a] + ref + st.P_hat[g, s, a] @ V[h + 1]
                    assert Q[h, s, a] == pytest.approx(min(q, v_max[h]), abs=1e-12)


def test_small_kernels_compiled_equal_python():
    mdp = random_mdp(5, H=3, S=4, A=2)
    e = collect(mdp, np.full((3, 4, 2), 0.5), 1, rng=0).episode(0)
    arrays = []
    for rec, ref in ((ko.record_episode, ko.refresh_hoeffding_bonus),
                     (ko.record_episode.py_func, ko.refresh_hoeffding_bonus.py_func)):
        st = C.CountStatistics(4, 2, 3)
        bonus = np.full((3, 4, 2), -1.0)
        for _ in range(2):
            rec(e.s, e.a, e.r, st.n_sa, st.n_sas, st.r_sum, st.n_s, st.P_hat, st.r_hat, st.succ,
                st.n_succ)
            ref(e.s, e.a, st.n_sa, 10.0, bonus)
        arrays.append((st.n_sa, st.n_sas, st.P_hat, st.succ, st.n_succ, bonus))
    for x, y in zip(*arrays):
        np.testing.assert_array_equal(x, y)
    bonus = arrays[0][-1]
    visited = bonus > -1
    np.testing.assert_allclose(bonus[visited], 10.0 / np.sqrt(2.0))   # each pair seen twice
    assert ko.hoeffding_bonus(4.0, 3.0, 2.0, 7.0) == ko.hoeffding_bonus.py_func(4.0, 3.0, 2.0,
                                                                                7.0) == 21.0
    act = np.array([[0, 1], [1, 1]])
    p1, p2 = np.empty((2, 2, 3)), np.empty((2, 2, 3))
    ko.one_hot(act, 3, p1)
    ko.one_hot.py_func(act, 3, p2)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(p1.argmax(-1), act)


def test_hoeffding_bonus_and_log_term_are_the_papers():
    assert C.log_term(6, 2, 2000, 0.1) == pytest.approx(np.log(5 * 6 * 2 * 2000 / 0.1))
    b = C.hoeffding_bonus(np.array([0.0, 4.0]), H=10, L=2.0)
    assert np.isinf(b[0]) and b[1] == pytest.approx(7 * 10 * 2.0 / 2.0)
    algo = UCBVI(6, 2, 20, 1000, delta=0.05)
    assert algo.L == pytest.approx(np.log(5 * 120 * 2 * 20_000 / 0.05))   # S' = H S
    assert UCBVI(6, 2, 20, 1000, delta=0.05, stage_dependent=False).L == pytest.approx(
        np.log(5 * 6 * 2 * 20_000 / 0.05))
    algo.update(Episode(np.zeros(21, np.int64), np.zeros(20, np.int64), np.zeros(20)))
    np.testing.assert_allclose(algo.bonus_values_ch[:, 0, 0], 7 * 20 * algo.L)


def test_policy_object_is_stable_until_the_greedy_policy_changes():
    mdp = random_mdp(6)
    algo = UCBVI(mdp.S, mdp.A, mdp.H, 100, bonus="bernstein")
    pi0 = algo.policy()
    assert pi0.shape == (3, 3, 2) and np.all(pi0.sum(-1) == 1)
    before = pi0.copy()
    data = collect(mdp, np.full((3, 3, 2), 0.5), 50, rng=0)
    for e in data:
        old = algo.policy()
        switches = algo.policy_switches
        algo.update(e)
        if algo.policy_switches == switches:
            assert algo.policy() is old
        np.testing.assert_array_equal(pi0, before)           # never mutated afterwards
    assert algo.metrics() == {"policy_switches": algo.policy_switches}


def test_regret_is_sublinear_on_riverswim_with_the_papers_constants():
    mdp = envs.river_swim(4, H=5)
    K = 6000
    algo = UCBVI(mdp.S, mdp.A, mdp.H, K, bonus="bernstein", stage_dependent=False)
    df = online(algo, mdp, K, rng=0, checkpoints=np.arange(1000, K + 1, 1000))
    per_block = np.diff(np.r_[0.0, df["regret"].to_numpy()])
    assert per_block[-1] < 0.75 * per_block[0]
    assert df["regret"].iloc[-1] < 0.8 * K * df["optimal_value"].iloc[0]


def test_regret_flattens_on_riverswim_with_a_scaled_bonus():
    # bonus_scale != 1 is not the paper's algorithm; it shows the learner converges once the
    # bonuses allow it (per-step counts, H = 20)
    mdp = envs.river_swim(6, H=20)
    K = 4000
    algo = UCBVI(mdp.S, mdp.A, mdp.H, K, bonus="bernstein", bonus_scale=0.01)
    df = online(algo, mdp, K, rng=0, checkpoints=[1000, 2000, 3000, 4000])
    per_block = np.diff(np.r_[0.0, df["regret"].to_numpy()])
    assert per_block[-1] < 0.1 * per_block[0]
    assert df["episode_regret"].iloc[-1] < 0.05 * df["optimal_value"].iloc[-1]


def test_one_step_pooled_and_per_step_coincide():
    mdp = random_mdp(7, H=1, S=4, A=3)
    a = UCBVI(4, 3, 1, 500, bonus="bernstein", stage_dependent=True)
    b = UCBVI(4, 3, 1, 500, bonus="bernstein", stage_dependent=False)
    da = online(a, mdp, 500, rng=0).drop(columns="wall_time")
    db = online(b, mdp, 500, rng=0).drop(columns="wall_time")
    assert da.equals(db)


def test_constructor_errors():
    with pytest.raises(ValueError, match="bonus must be 'hoeffding'"):
        UCBVI(2, 2, 2, 10, bonus="ucb")
    with pytest.raises(ValueError, match="clip must be"):
        UCBVI(2, 2, 2, 10, clip="none")
    with pytest.raises(ValueError, match=r"delta must be < 1"):
        UCBVI(2, 2, 2, 10, delta=1.0)
    with pytest.raises(TypeError, match="K must be an integer"):
        UCBVI(2, 2, 2, 10.5)
    assert UCBVI(2, 2, 2, 10, bonus="BF").name == "UCBVI-BF"
    assert UCBVI(2, 2, 2, 10, clip="H").v_max.tolist() == [2.0, 2.0]


def test_ucbvi_bounds_formulas_and_metadata():
    S, A, H, K, delta = 6, 2, 20, np.array([10, 1000, 100_000]), 0.1
    T = K * H
    L = np.log(5 * H * S * A * T / delta)
    ch = bounds.ucbvi_ch_regret(S, A, H, K, delta, stage_dependent=False)
    np.testing.assert_allclose(ch, 20 * H * L * np.sqrt(S * A * T) + 250 * H ** 2 * S ** 2 * A
                               * L ** 2)
    bf = bounds.ucbvi_bf_regret(S, A, H, K, delta, stage_dependent=False)
    np.testing.assert_allclose(bf, 30 * L * np.sqrt(H * S * A * T)
                               + 2500 * H ** 2 * S ** 2 * A * L ** 2 + 4 * H * L * np.sqrt(T))
    layered = bounds.ucbvi_ch_regret(S, A, H, K, delta)                    # S -> H S
    np.testing.assert_allclose(layered, bounds.ucbvi_ch_regret(S * H, A, H, K, delta,
                                                               stage_dependent=False))
    fixed_L = bounds.ucbvi_regret(S, A, H, K, delta, bonus="CH", K_total=100_000,
                                  stage_dependent=False)
    assert np.all(np.diff(fixed_L) > 0) and fixed_L[-1] == pytest.approx(ch[-1])
    assert np.all(fixed_L[:-1] > ch[:-1])                  # L of the whole run is larger
    b = bounds.get("ucbvi_ch_regret")
    assert b is bounds.ucbvi_ch_regret and b.theorem.startswith("Theorem 1")
    assert b.exponent == 0.5 and b.variable == "K" and b.constants == "paper"
    assert "Azar" in b.paper and any("H S" in a for a in b.assumptions)
    assert "Theorem 2" in bounds.REGISTRY["ucbvi_bf_regret"].describe()
    with pytest.raises(ValueError, match="unknown bound 'nope'"):
        bounds.get("nope")
    with pytest.raises(ValueError, match="bonus must be"):
        bounds.ucbvi_regret(S, A, H, K, delta, bonus="x")
    with pytest.raises(ValueError, match="already registered"):
        bounds.register("ucbvi_ch_regret", paper="", theorem="", quantity="", variable="K",
                        exponent=0.5)(lambda: 0)
