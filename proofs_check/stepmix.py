"""Numeric checks of the facts our reconstruction of StepMix / EpsMix rests on (Li, Huang, Shen
& Yang 2023, arXiv 2306.06265; the derivations are ours, see :mod:`mdptheory.algorithms.stepmix`
and docs/papers/stepmix.md).

* Continuity: the value of the mixture (per-step and switch-step) is continuous in its
  coefficient, with the Lipschitz constants H (H + 1) / 2 (per-step) and H^2 (switch-step in
  u = t / H), and runs from V^b (u = 0) to V^{pi_bar} (u = 1); the same holds for the pessimistic
  value g(u) the search uses.
* EpsMix's eps_k >= alpha, eps_k <= 1, and eps V_low + (1 - eps) V^b >= (1 - alpha) V^b.
* The good event of the L1 bonus: if ||P_hat_h(.|s, a) - P_h(.|s, a)||_1 <= beta(n_h(s, a)) on every
  visited pair, then V_low^pi <= V^pi <= V_up^pi for every policy pi and Q_bar >= Q*.
* Our safety argument: on that event, the policy StepMix executes (either mixture) and EpsMix's
  conditional value satisfy V >= (1 - alpha) V^b. The event is built directly (P_hat drawn inside
  the L1 ball), so the check is deterministic, not a frequency.
* Grid pruning: the interval weights bound g from above on the whole interval.
* Exact values: the switch-step mixture is the random switch time T in {h*, h* + 1}; an
  episode-level mixture of Markov policies and its occupancy-matched Markov policy have the same
  occupancy at every step (hence the same value).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdptheory.algorithms import stepmix as sm
from mdptheory.algorithms._common import support_lists
from mdptheory.kernels import stepmix as km
from mdptheory.solvers.finite import (
    backward_induction,
    evaluate_finite_policy,
    occupancy_measure,
)
from mdptheory.testing import examples
from mdptheory.testing import strategies as mst

pytestmark = pytest.mark.property

SOME = examples(60)
TOL = 1e-10


def _value(mdp, pi):
    return evaluate_finite_policy(mdp, pi).value(mdp.rho0)


def _mix(pi_bar, pi_b, u, mixture):
    w = sm.mixture_weights(u, pi_b.shape[0], mixture)[:, 0]
    return w[:, None, None] * pi_bar + (1 - w[:, None, None]) * pi_b


def _l1_event_learner(mdp, pi_b, alpha, data, cls=sm.StepMix, **kw):
    """A learner whose statistics satisfy the B1 good event for ``mdp`` by construction:
    random counts n_h(s, a), P_hat = (1 - lam) P + lam q with lam = beta(n) / 2 (so
    ||P_hat - P||_1 <= beta(n)), r_hat = r on visited pairs."""
    H, S, A = mdp.H, mdp.S, mdp.A
    V_b = _value(mdp, pi_b)
    L = cls(S, A, H, 1000, pi_b, V_b, alpha, rho0=np.asarray(mdp.rho0), **kw)
    rng = np.random.default_rng(data.draw(mst.seeds(), label="stats seed"))
    scale = data.draw(st.sampled_from([1, 30, 3000, 10 ** 6]), label="count scale")
    n = rng.integers(0, scale + 1, size=(H, S, A)).astype(np.float64)
    n[rng.random((H, S, A)) < 0.2] = 0.0
    beta = sm.l1_width(n, S, A, H, 1000, L.delta)
    lam = np.minimum(np.where(n > 0, beta, 0.0) / 2.0, 1.0)
    q = rng.dirichlet(np.ones(S), size=(H, S, A))
    P = np.asarray(mdp.P)
    P_hat = np.where(n[..., None] > 0, (1 - lam[..., None]) * P + lam[..., None] * q, 0.0)
    assert np.all(np.abs(P_hat - P).sum(-1)[n > 0] <= beta[n > 0] + 1e-12)
    stt = L.stats
    stt.n_sa[:] = n
    stt.P_hat[:] = P_hat
    stt.r_hat[:] = np.where(n > 0, np.asarray(mdp.r), 0.0)
    stt.succ[:], stt.n_succ[:] = support_lists(P_hat)
    L.bonus_values[:] = 0.0
    km.fill_bonus(stt.n_sa, L.coef, L.bonus_values)
    L._plan()
    return L


@st.composite
def instances(draw, max_S=4, max_A=3, max_H=4):
    mdp = draw(mst.finite_mdps(max_S=max_S, max_A=max_A, max_H=max_H), label="mdp")
    pi_b = draw(mst.policies(mdp.H, mdp.S, mdp.A), label="pi_b")
    pi_bar = draw(mst.policies(mdp.H, mdp.S, mdp.A, deterministic=True), label="pi_bar")
    return mdp, pi_b, pi_bar


# ------------------------------------------------------------------ continuity

@SOME
@given(instances(), st.sampled_from(sm.MIXTURES))
def test_mixture_value_is_continuous_from_baseline_to_optimistic(inst, mixture):
    mdp, pi_b, pi_bar = inst
    H = mdp.H
    us = np.linspace(0.0, 1.0, 65)
    vals = np.array([_value(mdp, _mix(pi_bar, pi_b, u, mixture)) for u in us])
    assert abs(vals[0] - _value(mdp, pi_b)) <= TOL
    assert abs(vals[-1] - _value(mdp, pi_bar)) <= TOL
    lip = H * (H + 1) / 2 if mixture == "per_step" else H ** 2
    assert np.all(np.abs(np.diff(vals)) <= lip * np.diff(us) + TOL)


@SOME
@given(instances(), st.sampled_from(sm.MIXTURES), st.data())
def test_pessimistic_mixture_value_is_continuous(inst, mixture, data):
    mdp, pi_b, _ = inst
    L = _l1_event_learner(mdp, pi_b, 0.2, data, mixture=mixture)
    us = np.linspace(0.0, 1.0, 129)
    g = L.lower_values(us)
    H = mdp.H
    lip = H * (H + 1) / 2 if mixture == "per_step" else H ** 2
    assert np.all(np.abs(np.diff(g)) <= lip * np.diff(us) + TOL)
    assert abs(g[0] - L.confidence_value(pi_b)) <= TOL
    assert abs(g[-1] - L.confidence_value(L.optimistic_policy())) <= TOL


# ------------------------------------------------------------------ EpsMix

@examples(300)
@given(st.floats(1e-3, 50.0), st.floats(1e-3, 1 - 1e-3), st.floats(0.0, 1.0))
def test_epsmix_epsilon_is_at_least_alpha_and_safe(V_b, alpha, frac):
    theta = (1 - alpha) * V_b
    low = frac * theta                                     # pessimistic value in [0, theta]
    eps = sm.epsmix_epsilon(low, V_b, theta, alpha)
    assert alpha <= eps <= 1.0
    assert eps * low + (1 - eps) * V_b >= theta - 1e-12 * V_b
    assert sm.epsmix_epsilon(theta + frac, V_b, theta, alpha) == 1.0


# ------------------------------------------------------------------ good event

@SOME
@given(instances(), st.data())
def test_confidence_values_bracket_every_policy_on_the_l1_event(inst, data):
    mdp, pi_b, pi_bar = inst
    L = _l1_event_learner(mdp, pi_b, 0.2, data)
    for pi in (pi_b, pi_bar, L.optimistic_policy(), L.policy()):
        v = _value(mdp, pi)
        assert L.confidence_value(pi, -1) <= v + TOL
        assert L.confidence_value(pi, +1) >= v - TOL
    assert np.all(L.Q >= backward_induction(mdp).Q - TOL)                  # optimism
    assert L.upper_value() >= backward_induction(mdp).value(mdp.rho0) - TOL


# ------------------------------------------------------------------ safety argument

@SOME
@given(instances(), st.sampled_from(sm.MIXTURES), st.sampled_from([0.05, 0.2, 0.5]), st.data())
def test_stepmix_executed_policy_is_safe_on_the_l1_event(inst, mixture, alpha, data):
    mdp, pi_b, _ = inst
    L = _l1_event_learner(mdp, pi_b, alpha, data, mixture=mixture)
    theta = L.threshold
    v = _value(mdp, L.policy())
    assert v >= theta - TOL
    if L.status != "baseline":
        assert v >= L.lower - TOL >= theta - 2 * TOL         # certified by g(u) >= theta


@SOME
@given(instances(), st.sampled_from([0.05, 0.2, 0.5]), st.data())
def test_epsmix_conditional_value_is_safe_on_the_l1_event(inst, alpha, data):
    mdp, pi_b, _ = inst
    L = _l1_event_learner(mdp, pi_b, alpha, data, cls=sm.EpsMix, rng=0)
    v = sum(w * _value(mdp, p) for w, p in L.executed_mixture())
    assert v >= L.threshold - TOL
    assert L.eps >= alpha


@SOME
@given(instances(), st.sampled_from(sm.MIXTURES), st.data())
def test_interval_weights_bound_g_on_the_interval(inst, mixture, data):       # grid pruning
    mdp, pi_b, _ = inst
    L = _l1_event_learner(mdp, pi_b, 0.2, data, mixture=mixture)
    lo, hi = sorted(data.draw(st.lists(st.floats(0, 1), min_size=2, max_size=2), label="u"))
    ub = L._values(sm.mixture_weights(lo, mdp.H, mixture),
                   W_hi=sm.mixture_weights(hi, mdp.H, mixture))[0]
    assert np.all(L.lower_values(np.linspace(lo, hi, 17)) <= ub + TOL)


# ------------------------------------------------------------------ exact values

@SOME
@given(instances(), st.integers(0, 3), st.floats(0.0, 1.0))
def test_switch_step_mixture_is_a_random_switch_time(inst, h_star, rho):
    mdp, pi_b, pi_bar = inst
    H = mdp.H
    h_star = min(h_star, H - 1)

    def switch_at(T):
        return np.where((np.arange(H) < T)[:, None, None], pi_bar, pi_b)

    v = _value(mdp, _mix(pi_bar, pi_b, (h_star + rho) / H, "switch_step"))
    want = rho * _value(mdp, switch_at(h_star + 1)) + (1 - rho) * _value(mdp, switch_at(h_star))
    assert abs(v - want) <= TOL


@SOME
@given(instances(), st.floats(0.0, 1.0))
def test_episode_mixture_and_its_markov_equivalent_share_occupancies(inst, eps):
    mdp, pi_b, pi_bar = inst
    pi = sm.equivalent_markov_policy(mdp, ((eps, pi_bar), (1 - eps, pi_b)))
    d_mix = eps * occupancy_measure(mdp, pi_bar) + (1 - eps) * occupancy_measure(mdp, pi_b)
    np.testing.assert_allclose(occupancy_measure(mdp, pi), d_mix, atol=1e-12)
    assert abs(_value(mdp, pi) - (eps * _value(mdp, pi_bar) + (1 - eps) * _value(mdp, pi_b))) \
        <= TOL
