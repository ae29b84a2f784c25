"""Numeric checks of the lemmas behind SubPO (Prajapat, Mutny, Zeilinger & Krause 2024,
"Submodular Reinforcement Learning", ICLR 2024; docs/papers/subpo.md). Theorem / equation numbers
are those of secondary sources
(the numbering differs between paper versions).
"""
import numpy as np
import pytest

pytest.importorskip("hypothesis")
import hypothesis.strategies as st  # noqa: E402
from hypothesis import HealthCheck, example, given  # noqa: E402

from mdptheory.algorithms import subpo as sp  # noqa: E402
from mdptheory.envs import submodular as sm  # noqa: E402
from mdptheory.models.finite import FiniteHorizonMDP  # noqa: E402
from mdptheory.testing import examples  # noqa: E402
from mdptheory.testing import strategies as mst  # noqa: E402
from mdptheory.testing.concentration import FALSE_ALARM, empirical_bernstein_halfwidth  # noqa: E402

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def set_functions(draw, max_n=8):
    """A random member of one of the paper's reward families (plus GP mutual information)."""
    n = draw(st.integers(1, max_n), label="n")
    seed = draw(mst.seeds(), label="seed")
    family = draw(st.sampled_from(sm.FAMILIES + ("gp_mi",)), label="family")
    rng = np.random.default_rng(seed)
    if family == "gp_mi":
        return sm.gp_mutual_information(rng.random((n, 2)) * 3, noise=draw(
            st.sampled_from([1e-3, 0.1, 1.0]), label="noise"))
    return sm.random_set_function(family, n, rng=rng)


@st.composite
def smdps(draw, max_S=5, max_A=3, max_H=4):
    """A random SMDP: dynamics from mst.finite_mdps (dense / sparse / deterministic rows,
    stationary or not) and a random reward family over its states."""
    mdp = draw(mst.finite_mdps(max_S=max_S, max_A=max_A, max_H=max_H), label="mdp")
    rng = np.random.default_rng(draw(mst.seeds(), label="F_seed"))
    family = draw(st.sampled_from(sm.FAMILIES), label="family")
    return sm.SubmodularMDP(mdp, sm.random_set_function(family, mdp.S, rng=rng))


# ----------------------------------------------------------------------------- rewards

@examples(150, **SETTINGS)
@given(set_functions())
def test_reward_families_are_monotone_submodular(F):
    # exhaustive diminishing-returns check F(v | M) >= F(v | M + u) and F(M + v) >= F(M)
    assert sm.find_violations(F, exhaustive_up_to=8, tol=1e-9) == []


@examples(100, **SETTINGS)
@given(set_functions(max_n=7), st.data())
def test_curvature_lower_bound(F, data):      # Conforti & Cornuejols (1984): the (1 - c) lemma
    # F(V) >= (1 - c) sum_{v in V} F({v}) for total curvature c (behind Proposition 3)
    c = F.curvature()
    V = data.draw(st.lists(st.integers(0, F.n - 1), unique=True), label="V")
    single = F.singletons()
    assert F.value(V) >= (1 - c) * single[V].sum() - 1e-9 * (1 + single.sum())


# ----------------------------------------------------------------------------- SMDP lemmas

@examples(60, **SETTINGS)
@given(smdps(), mst.seeds())
def test_telescoping_identity(smdp, seed):
    pi = np.random.default_rng(seed).dirichlet(np.ones(smdp.A), size=(smdp.H, smdp.S))
    batch = sp.sample_markov(smdp, pi, 20, rng=seed)
    for b in range(20):
        assert batch.returns[b] == pytest.approx(smdp.F.value(batch.s[b]), abs=1e-9)
        assert np.all(batch.gains[b] >= -1e-12)                  # monotone F: gains >= 0


@examples(60, **SETTINGS)
@given(smdps(), mst.seeds())
def test_dp_optimum_dominates_every_policy(smdp, seed):
    # OPT = max over history-dependent policies >= J of any Markov, state-independent or
    # history-dependent policy; the DP's own policy attains it
    opt = sp.optimum(smdp)
    rng = np.random.default_rng(seed)
    assert sp.exact_value_history(smdp, opt.policy) == pytest.approx(opt.value, abs=1e-9)
    tol = 1e-9 * (1 + abs(opt.value))
    for _ in range(5):
        assert sp.exact_value(smdp, rng.dirichlet(np.ones(smdp.A), size=(smdp.H, smdp.S))) \
            <= opt.value + tol
        assert sp.exact_value(smdp, rng.dirichlet(np.ones(smdp.A), size=smdp.H)) <= opt.value + tol
        node = rng.dirichlet(np.ones(smdp.A), size=opt.graph.n_decision_nodes)
        assert sp.exact_value_history(smdp, node) <= opt.value + tol
    assert sp.exact_value_history(smdp, sp.greedy_policy(smdp)) <= opt.value + tol


@examples(40, **SETTINGS)
@given(smdps(max_S=5, max_A=3, max_H=4).filter(lambda m: m.is_deterministic()))
def test_deterministic_smdp_optimum_is_open_loop(smdp):   # Proposition 2
    # on a deterministic SMDP the history-dependent optimum = the best action sequence
    assert sp.optimum(smdp).value == pytest.approx(sp.bruteforce_optimum(smdp)[0], abs=1e-9)


@examples(8, **SETTINGS)
@example(sm.SubmodularMDP(FiniteHorizonMDP(
    np.full((2, 2, 3, 2), 0.5), np.zeros((2, 2, 3)), np.array([1.0, 0.0])),
    sm.random_set_function(sm.FAMILIES[0], 2, rng=np.random.default_rng(0))),
    3, "linear")       # the shape of the one false alarm seen: (S, A, H) = (2, 3, 2), seed 3
@given(smdps(max_S=4, max_A=3, max_H=3), mst.seeds(), st.sampled_from(["markov", "linear"]))
def test_policy_gradient_estimator_is_unbiased(smdp, seed, policy):     # Theorem 2 (Eq. 7)
    """The marginal-gain reward-to-go estimator with the leave-one-out batch baseline has
    expectation grad J: the mean of n = 1000 independent batch estimates (B = 100
    trajectories each) lies within an empirical Bernstein interval of the exact gradient in
    every coordinate (:func:`mdptheory.testing.concentration.empirical_bernstein_halfwidth`).
    False-alarm rate <= FALSE_ALARM = 1e-6 per example, by a union bound over the coordinates; the interval is about 0.1 of a coordinate's range wide,
    so a bias of that size is caught.

    Range of one batch estimate, per coordinate: the reward-to-go sum_{j >= i} Delta_j lies in
    [0, W] with W = F(all states) - min_v F({v}) (gains are >= 0 and telescope), so after the
    leave-one-out baseline a weight lies in [-W, W]; a softmax score e_a - pi has entries in
    [-1, 1] with one sign per weight, so a theta coordinate lies in [-W, W] / return_scale, and
    a psi coordinate of the linear class (a sum of up to H such terms) in [-H W, H W] /
    return_scale. A mean over B trajectories stays in the same interval.
    """
    algo = sp.SubPO(smdp, policy=policy, batch_size=100, init="random", rng=seed)
    _, exact = algo.exact_gradient()
    n = 1000
    ests = [algo.gradient_estimate(algo.sample()) for _ in range(n)]
    F = smdp.F
    W = F.value(list(range(smdp.mdp.S))) - float(np.min(F.singletons()))
    half_range = {"theta": W, "psi": smdp.mdp.H * W}
    d = sum(v.size for v in exact.values())
    delta = FALSE_ALARM / d
    for key in exact:
        X = np.stack([e[key] for e in ests]).reshape(n, -1)
        assert np.abs(X).max() <= half_range[key] / algo.return_scale * (1 + 1e-12) + 1e-12
        t = empirical_bernstein_halfwidth(X, 2 * half_range[key] / algo.return_scale, delta)
        err = np.abs(X.mean(axis=0) - exact[key].ravel())
        assert np.all(err <= t + 1e-12), (key, float((err - t).max()))


@examples(30, **SETTINGS)
@given(smdps(max_S=4, max_A=3, max_H=3), mst.seeds())
def test_exact_gradient_is_derivative_of_exact_value(smdp, seed):
    rng = np.random.default_rng(seed)
    th = rng.normal(size=(smdp.H, smdp.S, smdp.A))
    E = rng.normal(size=th.shape)
    _, g = sp.exact_gradient(smdp, sp._softmax(th))
    fd = (sp.exact_value(smdp, sp._softmax(th + 1e-6 * E))
          - sp.exact_value(smdp, sp._softmax(th - 1e-6 * E))) / 2e-6
    assert (g * E).sum() == pytest.approx(fd, abs=1e-6 * (1 + abs(fd)))


# ----------------------------------------------------------------------------- Theorem 3

@examples(40, **SETTINGS)
@given(set_functions(max_n=5), st.integers(1, 3), st.sampled_from([0.0, 0.05, 0.3]),
       mst.seeds())
def test_bandit_objective_is_monotone_dr_submodular(F, H, eps, seed):      # Theorem 3
    # on the eps-Bandit SMDP, J(x) is monotone (grad >= 0) and DR-submodular (grad antitone:
    # x <= y coordinate-wise => grad J(x) >= grad J(y)) on the down-closed polytope
    env = sm.epsilon_bandit(F, H, eps)
    rng = np.random.default_rng(seed)
    y = rng.dirichlet(np.ones(F.n + 1), size=H)[:, :F.n]
    y[:, 0] = 0.0
    x = y * rng.random(y.shape)
    _, gx = sp.bandit_value_grad(env, x)
    _, gy = sp.bandit_value_grad(env, y)
    scale = 1e-9 * (1 + F.singletons().sum())
    assert np.all(gx >= -scale) and np.all(gy >= -scale)
    assert np.all(gx >= gy - scale)


@examples(20, **SETTINGS)
@given(set_functions(max_n=4), st.integers(1, 3), st.sampled_from([0.0, 0.1]), mst.seeds())
def test_bandit_stationary_points_are_half_optimal(F, H, eps, seed):  # Thm 3 + Hassani 2017
    env = sm.epsilon_bandit(F, H, eps)
    opt = sp.bandit_optimum(env)[0]
    x0 = np.random.default_rng(seed).dirichlet(np.ones(F.n + 1), size=H)[:, :F.n]
    res = sp.projected_gradient_bandit(env, x0)
    assert res.value >= 0.5 * opt - 1e-9
    fw = sp.frank_wolfe_bandit(env, 40)
    L, D2 = sp.bandit_smoothness(env, eps)
    assert fw.value >= (1 - np.exp(-1)) * opt - L * D2 / 80 - 1e-9        # Bian et al. 2017


def test_myopic_prefix_expectation_is_the_myopic_gradient():
    # E[sum_i grad log pi(a_i) F(tau_{0:i+1})] = E[sum_i grad log pi(a_i) Delta_i], because
    # F(tau_{0:i}) is a prefix baseline; checked on an explicit SMDP where it differs from grad J.
    # A weight F(tau_{0:i+1}) lies in [0, F(all)], in [-F(all), F(all)] after the leave-one-out
    # baseline, and so does a theta coordinate: empirical Bernstein, false alarm <= 1e-6.
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=(3, 2))
    mdp = FiniteHorizonMDP.stationary(P, np.zeros((3, 2)), 3, np.array([1.0, 0, 0]))
    env = sm.SubmodularMDP(mdp, sm.coverage([[0], [1, 2], [2]], 3))
    algo = sp.SubPO(env, estimator="myopic_prefix", batch_size=400, init="random", rng=1)
    pi = sp._softmax(algo.params["theta"])
    X = np.stack([algo.gradient_estimate(algo.sample())["theta"] for _ in range(1000)])
    X = X.reshape(len(X), -1)
    top = env.F.value([0, 1, 2])
    t = empirical_bernstein_halfwidth(X, 2 * top, FALSE_ALARM / X.shape[1])
    assert np.all(np.abs(X.mean(0) - sp.exact_myopic_gradient(env, pi).ravel()) <= t + 1e-12)
