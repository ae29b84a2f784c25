"""StepMix / EpsMix (our reconstruction): kernels vs their Python and NumPy twins, the search rule,
exact values of the executed policies, safety on small instances, the offline baseline, the
Bernstein variant, instances, bounds and bad input."""
import itertools

import numpy as np
import pandas as pd
import pytest

from mdptheory.algorithms import stepmix as sm
from mdptheory.algorithms.stepmix import (
    EpsMix,
    ExactValueMonitor,
    SameBonusUCBVI,
    StepMix,
    epsmix_epsilon,
    equivalent_markov_policy,
    learn_baseline,
    mixture_weights,
)
from mdptheory.bounds import base as bounds_base
from mdptheory.bounds import stepmix as bsm
from mdptheory.envs import conservative as cenv
from mdptheory.kernels import stepmix as km
from mdptheory.models import FiniteHorizonMDP
from mdptheory.runner import Episode, collect, online
from mdptheory.solvers.finite import backward_induction, evaluate_finite_policy

INST = cenv.garnet_instance(4, 2, 4, ratio=0.9, rng=1)      # all search paths occur (below)
MDP = INST.mdp


def value(pi, mdp=MDP):
    return evaluate_finite_policy(mdp, pi).value(mdp.rho0)


def trained(cls=StepMix, K=300, seed=1, **kw):
    """A learner after K episodes on INST (c_b = 0.3 by default: mixed episodes happen)."""
    kw = {"c_b": 0.3, **kw}
    if cls is SameBonusUCBVI:
        learner = cls(MDP.S, MDP.A, MDP.H, 400, rho0=0, **kw)
    else:
        learner = cls(MDP.S, MDP.A, MDP.H, 400, INST.pi_b, INST.V_b, 0.2, rho0=0, **kw)
    if K:
        online(learner, MDP, K, rng=seed)
    return learner


def pessimistic_twin(learner, pi, sign=-1):
    """rho0 . V_0 of pi under the signed bonus, by plain NumPy backward induction."""
    st = learner.stats
    H, S = learner.H, learner.S
    V = np.zeros(S)
    for h in range(H - 1, -1, -1):
        Q = st.r_hat[h] + sign * learner.bonus_values[h] + st.P_hat[h] @ V     # (S, A)
        Q = np.clip(Q, 0.0, H - h)
        Q = np.where(st.n_sa[h] > 0, Q, (H - h) if sign > 0 else 0.0)
        V = (pi[h] * Q).sum(axis=-1)
    return float(learner.rho0 @ V)


def mixture_pi(learner, u, mixture):
    w = mixture_weights(u, learner.H, mixture)[:, 0]
    pi_bar = learner.optimistic_policy()
    return w[:, None, None] * pi_bar + (1.0 - w[:, None, None]) * learner.pi_b


# ------------------------------------------------------------------------------ kernels

def test_kernels_equal_their_python_versions():
    L = trained()
    st = L.stats
    rng = np.random.default_rng(0)
    W = rng.random((L.H, 5))
    W_hi = np.minimum(W + 0.3, 1.0)
    outs = []
    for f in (km.mixture_values, km.mixture_values.py_func):
        work = (np.empty((L.S, 5)), np.empty((L.S, 5)), np.empty(5), np.empty(5), np.empty(5))
        out = np.empty(5)
        f(st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ, L.bonus_values, L.v_max, -1.0,
          L.act, L.pi_b, W, W_hi, L.rho0, *work, out)
        outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])
    args = (st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ, L.bonus_values, L.v_max, L.act,
            L.pi_b, L._w_top, L.rho0)
    assert km.search_prelude(*args, np.empty((L.S, 3)), np.empty((L.S, 3))) == \
        km.search_prelude.py_func(*args, np.empty((L.S, 3)), np.empty((L.S, 3)))
    w = rng.random(L.H)
    p1, p2 = np.empty((L.H, L.S, L.A)), np.empty((L.H, L.S, L.A))
    km.mixture_policy(L.act, L.pi_b, w, p1)
    km.mixture_policy.py_func(L.act, L.pi_b, w, p2)
    np.testing.assert_array_equal(p1, p2)
    b1, b2 = np.zeros_like(L.bonus_values), np.zeros_like(L.bonus_values)
    km.fill_bonus(st.n_sa, L.coef, b1)
    km.fill_bonus.py_func(st.n_sa, L.coef, b2)
    np.testing.assert_array_equal(b1, b2)
    visited = st.n_sa > 0
    np.testing.assert_allclose(b1[visited], (L.coef[:, None, None] / np.sqrt(
        np.maximum(st.n_sa, 1)))[visited], rtol=1e-14)
    np.testing.assert_array_equal(b1[visited], L.bonus_values[visited])   # incremental refresh
    res = []
    for f in (km.lcb_backward_induction, km.lcb_backward_induction.py_func):
        V, Q, act = np.zeros((L.H + 1, L.S)), np.zeros((L.H, L.S, L.A)), np.zeros((L.H, L.S),
                                                                                 np.int64)
        f(st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ, L.bonus_values, V, Q, act)
        res.append((V, Q, act))
    for x, y in zip(*res):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("mixture", sm.MIXTURES)
@pytest.mark.parametrize("sign", [-1, 1])
def test_mixture_values_match_numpy_backward_induction(mixture, sign):
    L = trained(mixture=mixture)
    us = np.array([0.0, 0.1, 0.37, 0.5, 0.93, 1.0])
    got = L._values(mixture_weights(us, L.H, mixture), sign=sign)
    want = [pessimistic_twin(L, mixture_pi(L, u, mixture), sign) for u in us]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # endpoints: the baseline and the optimistic policy themselves
    assert got[0] == pytest.approx(pessimistic_twin(L, L.pi_b, sign), abs=1e-12)
    assert got[-1] == pytest.approx(pessimistic_twin(L, L.optimistic_policy(), sign), abs=1e-12)
    assert L.confidence_value(L.pi_b, sign) == pytest.approx(got[0], abs=1e-12)


@pytest.mark.parametrize("mixture", sm.MIXTURES)
def test_interval_weights_bound_every_mixture_inside(mixture):
    L = trained(mixture=mixture)
    rng = np.random.default_rng(3)
    for _ in range(20):
        lo, hi = np.sort(rng.random(2))
        ub = L._values(mixture_weights(lo, L.H, mixture), W_hi=mixture_weights(hi, L.H, mixture))
        inside = L.lower_values(np.linspace(lo, hi, 9))
        assert np.all(inside <= ub[0] + 1e-12)


def test_search_prelude_is_the_generic_kernel_bit_for_bit():
    L = trained()
    st = L.stats
    g1, bound, g0 = km.search_prelude(st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ,
                                      L.bonus_values, L.v_max, L.act, L.pi_b, L._w_top, L.rho0,
                                      np.empty((L.S, 3)), np.empty((L.S, 3)))
    W = np.column_stack([np.ones(L.H), np.zeros(L.H), np.zeros(L.H)])
    W_hi = np.column_stack([np.ones(L.H), L._w_top, np.zeros(L.H)])
    assert (g1, bound, g0) == tuple(L._values(W, W_hi=W_hi))


# ------------------------------------------------------------------------------ the rule

class Audited(StepMix):
    """StepMix that checks the mixing rule against the full grid at every plan."""

    def _plan(self):
        super()._plan()
        theta, M = self.threshold, self.grid
        grid = self.lower_values(np.arange(M) / M)
        g1 = self.lower_values(1.0)[0]
        feas = np.flatnonzero(grid >= theta)
        self.audit.append(self.status)
        if g1 >= theta:
            assert self.u == 1.0 and self.status == "optimistic"
        elif feas.size == 0:
            assert self.u == 0.0 and self.status == "baseline"
            assert self.lower == grid[0]
        else:
            assert int(np.floor(self.u * M + 1e-12)) == feas[-1]     # largest feasible cell
            assert self.lower_values(self.u)[0] >= theta              # feasible left end
            assert self.lower == pytest.approx(self.lower_values(self.u)[0], abs=1e-12)
        if self.status in ("baseline",):
            assert self.policy() is self.pi_b

    def __init__(self, *a, **k):
        self.audit = []
        super().__init__(*a, **k)


@pytest.mark.parametrize("mixture,search", [("per_step", "nested"), ("switch_step", "nested"),
                                            ("per_step", "bisect")])
def test_search_follows_the_mixing_rule(mixture, search):
    L = trained(Audited, K=400, mixture=mixture, search=search)
    seen = set(L.audit)
    assert {"optimistic", "mixed", "baseline"} <= seen          # every branch was exercised


@pytest.mark.parametrize("mixture", sm.MIXTURES)
def test_grid_pruning_changes_nothing(mixture):
    runs = []
    for screen in (True, False):
        L = StepMix(MDP.S, MDP.A, MDP.H, 400, INST.pi_b, INST.V_b, 0.2, rho0=0, c_b=0.3,
                    mixture=mixture, screen=screen)
        runs.append(online(L, MDP, 400, rng=1, checkpoints=np.arange(1, 401))
                    .drop(columns="wall_time"))
        if screen:
            assert L.screened > 0 and 0 < L.grid_evaluations < 400 * L.grid
    pd.testing.assert_frame_equal(*runs)


def test_fallback_plays_the_baseline_exactly_and_u_one_the_optimistic_policy():
    L = trained(K=0)
    assert L.u == 0.0 and L.status == "baseline"             # no data: nothing certified
    np.testing.assert_array_equal(L.policy(), INST.pi_b)
    pi = np.empty_like(INST.pi_b)
    km.mixture_policy(L.act, L.pi_b, np.ones(L.H), pi)
    np.testing.assert_array_equal(pi, L.optimistic_policy())


# ------------------------------------------------------------------------------ mixtures' values

def test_switch_step_mixture_is_a_random_switch_time():
    """Markov switch-step policy at (h*, rho) = switch at h* + 1 w.p. rho, at h* otherwise."""
    H = MDP.H
    pi_bar = backward_induction(MDP).pi
    pi_b = INST.pi_b

    def switch_at(T):
        return np.where((np.arange(H) < T)[:, None, None], pi_bar, pi_b)

    for h_star, rho in itertools.product(range(H), (0.0, 0.3, 0.8)):
        u = (h_star + rho) / H
        w = mixture_weights(u, H, "switch_step")[:, 0]
        pi = w[:, None, None] * pi_bar + (1 - w[:, None, None]) * pi_b
        want = rho * value(switch_at(h_star + 1)) + (1 - rho) * value(switch_at(h_star))
        assert value(pi) == pytest.approx(want, abs=1e-12)


def test_per_step_mixture_value_is_the_switching_pattern_average_not_a_value_mixture():
    H = MDP.H
    pi_bar = backward_induction(MDP).pi
    pi_b = INST.pi_b
    rho = 0.5
    pi = rho * pi_bar + (1 - rho) * pi_b
    patterns = 0.0
    for sigma in itertools.product((0, 1), repeat=H):
        s = np.array(sigma, dtype=bool)
        prob = rho ** s.sum() * (1 - rho) ** (H - s.sum())
        patterns += prob * value(np.where(s[:, None, None], pi_bar, pi_b))
    assert value(pi) == pytest.approx(patterns, abs=1e-12)
    linear = rho * value(pi_bar) + (1 - rho) * value(pi_b)
    assert abs(value(pi) - linear) > 1e-3


def test_equivalent_markov_policy_has_the_mixture_value():
    pi_bar = backward_induction(MDP).pi
    comps = ((0.3, pi_bar), (0.7, INST.pi_b))
    pi = equivalent_markov_policy(MDP, comps)
    assert value(pi) == pytest.approx(0.3 * value(pi_bar) + 0.7 * value(INST.pi_b), abs=1e-12)
    with pytest.raises(ValueError, match="sum to 1"):
        equivalent_markov_policy(MDP, ((0.5, pi_bar),))


# ------------------------------------------------------------------------------ EpsMix

def test_epsmix_epsilon_is_the_largest_safe_weight_and_at_least_alpha():
    V_b, alpha = 2.0, 0.1
    theta = (1 - alpha) * V_b
    for low in (0.0, 0.5, 1.7):
        eps = epsmix_epsilon(low, V_b, theta, alpha)
        assert eps == pytest.approx(alpha * V_b / (V_b - low), rel=1e-14)
        assert eps == pytest.approx(epsmix_epsilon(low, V_b, theta), rel=1e-14)
        assert eps >= alpha
        assert eps * low + (1 - eps) * V_b == pytest.approx(theta, rel=1e-14)
    assert epsmix_epsilon(0.0, V_b, theta, alpha) == alpha               # exactly, not 0.0999..
    assert epsmix_epsilon(theta, V_b, theta) == 1.0
    assert epsmix_epsilon(0.3, 1.0, 1.0) == 0.0            # unknown-baseline case, uncertified


def test_epsmix_plays_its_coin_and_reports_the_conditional_law():
    E = EpsMix(MDP.S, MDP.A, MDP.H, 2000, INST.pi_b, INST.V_b, 0.2, rho0=0, rng=7)
    eps, Z = [], []
    for k in range(600):
        (w1, p1), (w2, p2) = E.executed_mixture()
        assert w1 + w2 == 1.0 and w1 == E.eps >= 0.2
        pi = E.policy()
        assert pi is (p1 if E.Z else p2)
        np.testing.assert_array_equal(p2, INST.pi_b)
        assert np.all(p1.max(axis=-1) == 1.0)                  # pi_bar is one-hot
        eps.append(E.eps)
        Z.append(E.Z)
        ep = collect(MDP, pi, 1, rng=k).episode(0)
        E.update(Episode(ep.s, ep.a, ep.r))
    eps, Z = np.array(eps), np.array(Z)
    sd = np.sqrt((eps * (1 - eps)).sum())
    assert abs(Z.sum() - eps.sum()) <= 4 * sd + 1
    assert E.metrics()["optimistic_episodes"] == Z.sum()
    assert E.metrics()["conservative_episodes"] == int((eps < 1).sum())


def test_epsmix_run_is_a_function_of_its_seeds():
    def go():
        E = EpsMix(MDP.S, MDP.A, MDP.H, 500, INST.pi_b, INST.V_b, 0.1, rho0=0, rng=3)
        return online(E, MDP, 200, rng=5).drop(columns="wall_time")
    pd.testing.assert_frame_equal(go(), go())


# ------------------------------------------------------------------------------ exact values

class Recorder:
    """Wraps a learner and keeps each episode's executed mixture (copies)."""

    def __init__(self, learner):
        self.learner, self.log = learner, []

    def policy(self):
        pi = self.learner.policy()
        self.log.append([(w, p.copy()) for w, p in self.learner.executed_mixture()])
        return pi

    def executed_mixture(self):
        return self.learner.executed_mixture()

    def update(self, ep):
        self.learner.update(ep)


@pytest.mark.parametrize("cls", [StepMix, EpsMix])
def test_monitor_records_the_exact_conditional_value_of_every_episode(cls):
    K = 150
    rec = Recorder(trained(cls, K=0))
    theta = (1 - 0.2) * INST.V_b
    mon = ExactValueMonitor(rec, MDP, threshold=theta)
    df = online(mon, MDP, K, rng=2, checkpoints=np.arange(1, K + 1))
    want = np.array([sum(w * value(p) for w, p in comps) for comps in rec.log])
    np.testing.assert_allclose(mon.values, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(df["exact_value"], want, atol=1e-12)
    v_star = backward_induction(MDP).value(MDP.rho0)
    assert df["exact_regret"].iloc[-1] == pytest.approx((v_star - want).sum(), abs=1e-9)
    assert df["violations"].iloc[-1] == int((want < theta - 1e-10).sum())
    if cls is StepMix:                        # Markov: the driver's exact value is the same
        np.testing.assert_allclose(df["value"], df["exact_value"], atol=1e-12)
        assert (df["realized_violations"] == df["violations"]).all()


@pytest.mark.parametrize("inst", [cenv.garnet_instance(4, 2, 4, ratio=0.9, rng=1),
                                  cenv.river_swim_instance(4, 8)],
                         ids=["garnet", "river_swim"])
def test_no_episode_violates_the_constraint_with_the_l1_bonus(inst):
    mdp, K, alpha = inst.mdp, 1500, 0.2
    theta = (1 - alpha) * inst.V_b
    counts = {}
    for name, learner in [
            ("StepMix", StepMix(mdp.S, mdp.A, mdp.H, K, inst.pi_b, inst.V_b, alpha, rho0=0)),
            ("StepMix-switch", StepMix(mdp.S, mdp.A, mdp.H, K, inst.pi_b, inst.V_b, alpha,
                                       rho0=0, mixture="switch_step")),
            ("EpsMix", EpsMix(mdp.S, mdp.A, mdp.H, K, inst.pi_b, inst.V_b, alpha, rho0=0)),
            ("UCBVI", SameBonusUCBVI(mdp.S, mdp.A, mdp.H, K, rho0=0))]:
        mon = ExactValueMonitor(learner, mdp, threshold=theta)
        online(mon, mdp, K, rng=11)
        counts[name] = mon.violations
        assert len(mon.values) == K
    assert counts["StepMix"] == counts["StepMix-switch"] == counts["EpsMix"] == 0
    assert counts["UCBVI"] > 0                    # the constraint binds: the check is not vacuous


class Checked(StepMix):
    """StepMix that checks optimism (Q_bar >= Q*) and pessimism (V_low^pi <= V^pi)."""

    def __init__(self, *a, Q_star, pis, **k):
        self.Q_star, self.pis, self.bad = Q_star, pis, 0
        super().__init__(*a, **k)

    def _plan(self):
        super()._plan()
        if np.any(self.Q < self.Q_star - 1e-9):
            self.bad += 1
        for pi in self.pis + [self.policy()]:
            if self.confidence_value(pi, -1) > value(pi) + 1e-9 or \
                    self.confidence_value(pi, +1) < value(pi) - 1e-9:
                self.bad += 1


def test_confidence_values_bracket_the_truth_along_a_run():
    rng = np.random.default_rng(0)
    pis = [rng.dirichlet(np.ones(MDP.A), size=(MDP.H, MDP.S)) for _ in range(3)]
    L = Checked(MDP.S, MDP.A, MDP.H, 600, INST.pi_b, INST.V_b, 0.2, rho0=0,
                Q_star=backward_induction(MDP).Q, pis=pis)
    online(L, MDP, 600, rng=9)
    assert L.bad == 0
    assert L.confidence_value(INST.pi_b, -1) > 0.3 * INST.V_b     # the bracket is not vacuous


def test_same_bonus_ucbvi_is_optimistic_and_regret_under_the_derived_bound():
    K = 1500
    U = SameBonusUCBVI(MDP.S, MDP.A, MDP.H, K, rho0=0, delta=0.05)
    df = online(U, MDP, K, rng=1)
    Q_star = backward_induction(MDP).Q
    assert np.all(U.Q >= Q_star - 1e-9)
    bound = bsm.ucbvi_l1_regret(MDP.S, MDP.A, MDP.H, df["k"].to_numpy(), 0.05, K_total=K)
    assert np.all(df["regret"].to_numpy() <= bound)


# ------------------------------------------------------------------------------ offline baseline

def test_learn_baseline_cloning_and_interval():
    beta = np.random.default_rng(1).dirichlet(np.ones(MDP.A), size=(MDP.H, MDP.S))
    data = collect(MDP, beta, 4000, rng=2)
    base = learn_baseline(data, MDP.S, MDP.A, delta=0.05)
    counts = np.zeros((MDP.H, MDP.S, MDP.A))
    for ep in data:
        for h in range(MDP.H):
            counts[h, ep.s[h], ep.a[h]] += 1
    seen = counts.sum(-1) > 0
    np.testing.assert_allclose(base.pi_b[seen], (counts / np.maximum(counts.sum(-1,
                               keepdims=True), 1))[seen], atol=1e-15)
    np.testing.assert_allclose(base.pi_b[~seen], 1.0 / MDP.A)
    assert base.V_low <= value(beta) <= base.V_high
    assert base.V_hat == pytest.approx(data.r.sum(axis=1).mean())
    lcb = learn_baseline(data, MDP.S, MDP.A, method="lcb")
    assert np.all(lcb.pi_b.max(axis=-1) == 1.0) and lcb.method == "lcb"
    with pytest.raises(ValueError, match="method must be"):
        learn_baseline(data, MDP.S, MDP.A, method="nope")


@pytest.mark.parametrize("cls", [StepMix, EpsMix])
def test_offline_variant_warm_starts_and_flags_uncertified_episodes(cls):
    beta = np.random.default_rng(1).dirichlet(np.ones(MDP.A), size=(MDP.H, MDP.S))
    data = collect(MDP, beta, 300, rng=2)
    L = cls.from_dataset(data, MDP.S, MDP.A, 500, 0.2, rho0=0)
    base = L.baseline_info
    assert not L.baseline_known and L.V_b is None
    assert L.threshold == pytest.approx(0.8 * base.V_high)
    assert L.stats.n_sa.sum() == 300 * MDP.H
    np.testing.assert_array_equal(L.pi_b, base.pi_b)
    df = online(L, MDP, 100, rng=3)
    m = df.iloc[-1]
    assert 0 <= m["uncertified_episodes"] <= m["baseline_episodes"] <= 100


# ------------------------------------------------------------------------------ bad input

def test_bad_input_is_refused_with_a_clear_message():
    args = (MDP.S, MDP.A, MDP.H, 100)
    for alpha, msg in ((0.0, "alpha must be > 0"), (1.0, "alpha must be < 1"),
                       (1.5, "alpha must be < 1"), (-0.2, "alpha must be > 0")):
        for cls in (StepMix, EpsMix):
            with pytest.raises(ValueError, match=msg):
                cls(*args, INST.pi_b, INST.V_b, alpha, rho0=0)
    bad = INST.pi_b.copy()
    bad[1, 2] *= 0.5
    with pytest.raises(ValueError, match=r"pi_b\[1, 2\] sums to"):
        StepMix(*args, bad, INST.V_b, 0.1, rho0=0)
    neg = INST.pi_b.copy()
    neg[0, 1, 0] = -0.1
    neg[0, 1, 1] = 1.1
    with pytest.raises(ValueError, match=r"pi_b\[0, 1, 0\] is -0.1, expected a probability"):
        EpsMix(*args, neg, INST.V_b, 0.1, rho0=0)
    with pytest.raises(ValueError, match=r"pi_b must be action probabilities of shape"):
        StepMix(*args, INST.pi_b[:, :2], INST.V_b, 0.1, rho0=0)
    for cls in (StepMix, EpsMix):
        with pytest.raises(ValueError, match="K must be >= 1, got 0"):
            cls(MDP.S, MDP.A, MDP.H, 0, INST.pi_b, INST.V_b, 0.1, rho0=0)
    with pytest.raises(ValueError, match="K must be >= 1, got -3"):
        SameBonusUCBVI(MDP.S, MDP.A, MDP.H, -3, rho0=0)
    with pytest.raises(TypeError, match="K must be an integer"):
        StepMix(MDP.S, MDP.A, MDP.H, 10.5, INST.pi_b, INST.V_b, 0.1, rho0=0)
    with pytest.raises(ValueError, match="bonus must be one of"):
        StepMix(*args, INST.pi_b, INST.V_b, 0.1, rho0=0, bonus="empirical")
    with pytest.raises(ValueError, match="mixture must be one of"):
        StepMix(*args, INST.pi_b, INST.V_b, 0.1, rho0=0, mixture="episode")
    with pytest.raises(ValueError, match="search must be one of"):
        StepMix(*args, INST.pi_b, INST.V_b, 0.1, rho0=0, search="golden")
    with pytest.raises(ValueError, match="grid must be >= 2"):
        StepMix(*args, INST.pi_b, INST.V_b, 0.1, rho0=0, grid=1)
    with pytest.raises(ValueError, match="delta must be < 1"):
        StepMix(*args, INST.pi_b, INST.V_b, 0.1, rho0=0, delta=1.0)
    with pytest.raises(ValueError, match=r"V_b must be <= 4.0, got 9.0"):
        StepMix(*args, INST.pi_b, 9.0, 0.1, rho0=0)
    with pytest.raises(ValueError, match="V_b is None"):
        EpsMix(*args, INST.pi_b, None, 0.1, rho0=0)
    with pytest.raises(ValueError, match=r"rho0 \(the initial state s_1\) is 7"):
        StepMix(*args, INST.pi_b, INST.V_b, 0.1, rho0=7)
    with pytest.raises(ValueError, match="rho0 sums to"):
        StepMix(*args, INST.pi_b, INST.V_b, 0.1, rho0=np.full(MDP.S, 0.5))
    with pytest.raises(ValueError, match="sign must be"):
        trained(K=0).confidence_value(INST.pi_b, 0)
    with pytest.raises(ValueError, match="ratio must be > 0"):
        cenv.baseline_for_ratio(MDP, 0.0)
    with pytest.raises(ValueError, match="ratio must be <= 1"):
        cenv.baseline_for_ratio(MDP, 1.2)
    with pytest.raises(ValueError, match="s1 must be a state"):
        cenv.episodic_garnet(3, 2, 2, rng=0, s1=5)
    with pytest.raises(ValueError, match="lam must be <= 1"):
        cenv.mixture_baseline(MDP, 2.0)


# ------------------------------------------------------------------------------ instances, bounds

@pytest.mark.parametrize("ratio", [0.35, 0.5, 0.7, 0.95])
def test_baseline_for_ratio_hits_the_ratio(ratio):
    mdp = cenv.episodic_garnet(5, 3, 4, rng=2)
    pi_b, info = cenv.baseline_for_ratio(mdp, ratio)
    V_star = backward_induction(mdp).value(mdp.rho0)
    assert value(pi_b, mdp) == pytest.approx(ratio * V_star, abs=1e-10)
    assert info["V_b"] == pytest.approx(value(pi_b, mdp), abs=1e-14)
    np.testing.assert_allclose(pi_b.sum(-1), 1.0)
    assert info["family"].startswith("lam" if ratio * V_star >= info["V_uniform"] else "mu")


def test_baseline_for_ratio_refuses_an_unreachable_ratio():
    mdp = cenv.episodic_garnet(5, 3, 4, rng=2)
    worst = value(cenv.worst_policy(mdp), mdp) / backward_induction(mdp).value(mdp.rho0)
    with pytest.raises(ValueError, match="below V\\^worst / V\\*"):
        cenv.baseline_for_ratio(mdp, worst / 2)


def test_instances():
    g = cenv.episodic_garnet(6, 3, 5, branching=2, rng=0)
    assert g.P.shape == (5, 6, 3, 6) and np.all((g.P > 0).sum(-1) == 2)
    assert not np.allclose(g.P[0], g.P[1])                     # independent steps
    assert g.rho0[0] == 1.0
    gs = cenv.episodic_garnet(6, 3, 5, rng=0, stationary=True)
    np.testing.assert_array_equal(gs.P[0], gs.P[4])
    rv = cenv.river_swim_instance(6, 20)
    assert rv.V_b == pytest.approx(0.005 * 20) and rv.kappa > 3.0
    pi = cenv.mixture_baseline(g, 0.4)
    pi_star = backward_induction(g).pi
    np.testing.assert_allclose(pi, 0.4 * pi_star + 0.6 / 3)
    inst = cenv.garnet_instance(5, 3, 4, ratio=0.7, rng=0)
    assert inst.V_b == pytest.approx(0.7 * inst.V_star, abs=1e-10)
    assert isinstance(inst.mdp, FiniteHorizonMDP)


def test_bounds():
    K = np.array([10, 100, 1000, 10000])
    b = bsm.ucbvi_l1_regret(5, 3, 5, K, 0.05, K_total=10000)
    assert np.all(np.diff(b) > 0)
    s = bsm.stepmix_regret(5, 3, 5, K, 0.05, 0.1, 2.0, 1.0, K_total=10000)
    assert np.all(s >= b) and np.all(s - b <= 1.0 * K + 1e-9)       # overhead <= kappa K
    n_c = bsm.conservative_episodes(5, 3, 5, 10000, 0.05, np.array([0.05, 0.1, 0.2]), 2.0, 1.0)
    assert np.all(np.diff(n_c) < 0)
    assert bsm.violation_probability(0.05) == 0.05
    assert bsm.width_constant(5, 3, 5, 100, 0.05) == pytest.approx(
        2 * (5 * np.log(2) + np.log(5 * 3 * 5 * 100 / 0.05)) * 5 * 3 * 25 * 16)
    for name in ("ucbvi_l1_regret", "stepmix_regret", "stepmix_conservative_episodes",
                 "stepmix_violation_probability"):
        assert name in bounds_base.REGISTRY
    # B1 coefficient: c_b (H - h - 1)/2 sqrt(2 L'); beta(n) of Weissman's inequality
    coef = sm.bonus_coefficients(5, 3, 5, 100, 0.05, "l1")
    L1 = bsm.l1_log_term(5, 3, 5, 100, 0.05)
    np.testing.assert_allclose(coef / np.sqrt(7.0),
                               (5 - 1 - np.arange(5)) / 2 * sm.l1_width(7, 5, 3, 5, 100, 0.05))
    assert coef[0] == pytest.approx(2.0 * np.sqrt(2 * L1))


# ------------------------------------------------------------------------------ Bernstein bonus

def test_bernstein_bonus_by_hand_on_a_deterministic_chain():
    """One episode on a deterministic 2-state chain: every visited pair has n = 1 and a single
    successor, so Var = 0 and N'_{h+1}(y) = 1; with the UCBVI-BF constants (c_corr huge) the
    correction weight is H^2, so b_h = 14 H L / 3 + sqrt(8 H^2) (Azar et al. 2017, Alg. 4)."""
    S, A, H, K, delta = 2, 2, 3, 50, 0.05
    P = np.zeros((H, S, A, S))
    P[..., 1] = 1.0                                        # always go to state 1
    mdp = FiniteHorizonMDP(P=P, r=np.full((H, S, A), 0.5), rho0=np.array([1.0, 0.0]))
    U = SameBonusUCBVI(S, A, H, K, rho0=0, delta=delta, bonus="bernstein")
    online(U, mdp, 1, rng=0)
    L = np.log(5 * S * A * K * H / delta)
    assert U.L_bernstein == pytest.approx(L)
    expected = 14 * H * L / 3 + np.sqrt(8 * H ** 2)
    visited = U.stats.n_sa > 0
    assert visited.sum() == H                              # one pair per step
    np.testing.assert_allclose(U.plan_bonus[visited], expected, rtol=1e-12)
    assert np.all(U.plan_bonus[~visited] == 0.0)
    # visited pairs: Q = min(H - h, r + b + V_{h+1}) = the cap here (the bonus is large)
    for h in range(H):
        assert np.all(U.Q[h][U.stats.n_sa[h] > 0] == H - h)
    # the pessimistic evaluation keeps the B1 bonus: coef_h / sqrt(1)
    coef = sm.bonus_coefficients(S, A, H, K, delta, "l1")
    np.testing.assert_allclose(U.bonus_values[visited], coef[np.nonzero(visited)[0]], rtol=1e-12)


def test_bernstein_bonus_with_variance_by_hand():
    """A visited pair with two successors: b = sqrt(8 L Var / n) + 14 H L / (3 n)
    + sqrt(8 sum_y p(y) w(y) / n), computed here from P_hat, V_bar and N' directly."""
    L = trained(SameBonusUCBVI, K=200, seed=3, bonus="bernstein", c_b=1.0)
    st = L.stats
    H = L.H
    checked = 0
    for h in range(H):
        w = np.where(st.n_s[h + 1] > 0, np.minimum(L.c_corr / np.maximum(st.n_s[h + 1], 1),
                                                   H ** 2), H ** 2)
        for s in range(L.S):
            for a in range(L.A):
                n = st.n_sa[h, s, a]
                if n == 0:
                    continue
                p = st.n_sas[h, s, a] / n
                v = L.V[h + 1]
                var = p @ (v - p @ v) ** 2
                b = (np.sqrt(8 * L.L_bernstein * var / n) + 14 * H * L.L_bernstein / (3 * n)
                     + np.sqrt(8 * (p @ w) / n))
                assert L.plan_bonus[h, s, a] == pytest.approx(b, rel=1e-10)
                assert L.plan_bonus[h, s, a] >= 0
                checked += 1
    assert checked > 5


@pytest.mark.parametrize("cls", [StepMix, EpsMix, SameBonusUCBVI])
def test_bernstein_variant_is_optimistic_and_safe(cls):
    """The Bernstein variant: optimistic (Q_bar >= Q*, paper constants) and, the pessimistic
    check keeping B1, no episode below (1 - alpha) V^b on a small instance."""
    inst = cenv.garnet_instance(3, 2, 3, ratio=0.8, rng=2)
    mdp, K, alpha = inst.mdp, 800, 0.2
    if cls is SameBonusUCBVI:
        learner = cls(mdp.S, mdp.A, mdp.H, K, rho0=0, bonus="bernstein")
    else:
        learner = cls(mdp.S, mdp.A, mdp.H, K, inst.pi_b, inst.V_b, alpha, rho0=0,
                      bonus="bernstein")
    mon = ExactValueMonitor(learner, mdp, threshold=(1 - alpha) * inst.V_b)
    online(mon, mdp, K, rng=5)
    assert np.all(learner.Q >= backward_induction(mdp).Q - 1e-9)
    assert np.all(learner.plan_bonus >= 0)
    assert learner.hyperparameters()["bonus"] == "bernstein"
    if cls is not SameBonusUCBVI:
        assert mon.violations == 0


def test_bound_parts_and_certification_time():
    K = np.array([10.0, 1e3, 1e5])
    p = bsm.ucbvi_l1_parts(5, 3, 5, K, 0.05, K_total=1e5)
    np.testing.assert_allclose(p["leading"] + p["lower"],
                               bsm.ucbvi_l1_regret(5, 3, 5, K, 0.05, K_total=1e5))
    q = bsm.stepmix_regret_parts(5, 3, 5, K, 0.05, 0.1, 2.0, 1.0, K_total=1e5)
    np.testing.assert_allclose(q["leading"] + q["lower"],
                               bsm.stepmix_regret(5, 3, 5, K, 0.05, 0.1, 2.0, 1.0, K_total=1e5))
    # n_cert on a one-path occupancy: sum_h c_h * 1, squared over the gap
    H = 4
    d = np.zeros((H, 2, 2))
    d[:, 0, 0] = 1.0
    L1 = bsm.l1_log_term(2, 2, H, 100, 0.05)
    c = (H - 1 - np.arange(H)) / 2 * np.sqrt(2 * L1)
    assert bsm.certification_episodes(d, 2, 2, H, 100, 0.05, 0.5) == pytest.approx(
        (c.sum() / 0.5) ** 2)
    # spreading the occupancy over two pairs costs a factor (2 sqrt(1/2))^2 = 2
    d2 = np.zeros((H, 2, 2))
    d2[:, 0, :] = 0.5
    assert bsm.certification_episodes(d2, 2, 2, H, 100, 0.05, 0.5) == pytest.approx(
        2 * (c.sum() / 0.5) ** 2)
    with pytest.raises(ValueError, match="gap"):
        bsm.certification_episodes(d, 2, 2, H, 100, 0.05, 0.0)
    with pytest.raises(ValueError, match="occupancy"):
        bsm.certification_episodes(d[:2], 2, 2, H, 100, 0.05, 0.5)
