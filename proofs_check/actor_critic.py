"""Numeric checks of the lemmas behind the rare-switching optimistic actor-critic (Tan, Fan & Wei
2025, "Actor-Critics Can Achieve Optimal Sample Efficiency", ICML). The paper's own lemma numbers
could not be read; each check tests a piece of our reconstruction
(docs/papers/actor_critic.md).

* Optimism of the critic on its good event (tabular, linear): when the bonus covers
  the estimation error of the Bellman-optimality target at every visited pair, the critic
  dominates Q* everywhere (by backward induction; deterministic given the event). At the theory
  constants the event has probability >= 1 - delta.
* Switch count within its bound (count doubling H S A (1 + log2 T), pooled S A
  (1 + log2(H T)); determinant doubling H d log2(1 + T/d)); with offline data too.
* Exponential-weights regret inequality: against any fixed comparator, with restarts,
  regret <= (resets + 1) log|A| / eta + eta T range^2 / 8; the phase closed form
  softmax(eta n f) equals n multiplicative steps; softmax greedy gap <= log|A| / beta.
* The actor's pi*-tracking term of a run <= H ((K + 1) log|A| / eta + eta T H^2 / 8).
* The two regret decompositions (identities) and the optimism inequality
  V* - V^pi <= greedy tracking + Bellman error along pi.
"""
import math

import numpy as np
import pytest

pytest.importorskip("hypothesis")
import hypothesis.strategies as st
from hypothesis import HealthCheck, given

from mdptheory.algorithms import actor_critic as ac
from mdptheory.bounds import actor_critic as bac
from mdptheory.kernels import actor_critic as kac
from mdptheory.kernels import online as kon
from mdptheory.models import FiniteHorizonMDP
from mdptheory.runner import Episode, collect
from mdptheory.solvers.finite import backward_induction, evaluate_finite_policy, occupancy_measure
from mdptheory.testing import examples
from mdptheory.testing import strategies as mst

pytestmark = pytest.mark.property
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


def _uniform(mdp):
    return np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A)


def _play(learner, mdp, K, rng, on_episode=None):
    """Plain online loop; ``on_episode(t, pi, learner)`` is called before each update."""
    P, r, rho0 = np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r), mdp.rho0
    H = mdp.H
    for t in range(1, K + 1):
        pi = learner.policy()
        if on_episode is not None:
            on_episode(t, pi, learner)
        s, a, rew = np.empty(H + 1, np.int64), np.empty(H, np.int64), np.empty(H)
        kon.sample_episode(P, r, pi, rho0, rng.random(2 * H + 1), False, s, a, rew)
        learner.update(Episode(s, a, rew))


# ------------------------------------------------------------------ optimism

def tabular_good_event(mdp, learner, V_star) -> bool:
    """|r_hat - r| + |(P_hat - P) V*_{h+1}| <= b_h(s, a) at every visited (h, s, a)."""
    st_ = learner.stats
    b = learner.bonus()
    G = st_.n_sa.shape[0]
    for h in range(mdp.H):
        g = h if G > 1 else 0
        err = (np.abs(st_.r_hat[g] - mdp.r[h])
               + np.abs((st_.P_hat[g] - mdp.P[h]) @ V_star[h + 1]))
        vis = st_.n_sa[g] > 0
        if np.any(err[vis] > b[g][vis] + 1e-12):
            return False
    return True


@examples(60, **SETTINGS)
@given(mst.finite_mdps(max_S=4, max_A=3, max_H=3), st.integers(1, 60),
       st.sampled_from([0.02, 0.1, 0.3, 1.0]), st.booleans(), mst.seeds())
def test_tabular_critic_is_optimistic_on_its_good_event(mdp, N, c_b, pooled, seed):
    data = collect(mdp, _uniform(mdp), N, rng=seed)
    learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, 10, bonus_scale=c_b, offline_data=data,
                             pooled=pooled)
    sol = backward_induction(mdp)
    if tabular_good_event(mdp, learner, sol.V):
        assert np.all(learner.Q >= sol.Q - 1e-10)
        assert np.all(learner.V >= sol.V - 1e-10)


def test_tabular_good_event_has_probability_at_least_one_minus_delta():
    rng = np.random.default_rng(0)
    fails, runs = 0, 200
    for i in range(runs):
        S, A, H = 3, 2, 3
        P = rng.dirichlet(np.ones(S), size=(H, S, A))
        mdp = FiniteHorizonMDP(P, rng.random((H, S, A)), np.full(S, 1.0 / S))
        data = collect(mdp, _uniform(mdp), int(rng.integers(1, 40)), rng=rng)
        learner = ac.ActorCritic(S, A, H, 10, bonus_scale=1.0, delta=0.1, offline_data=data)
        fails += not tabular_good_event(mdp, learner, backward_induction(mdp).V)
    assert fails / runs <= 0.1                      # delta = 0.1 (theory constant c_b = 1)


@examples(40, **SETTINGS)
@given(mst.linear_mdps(max_S=4, max_A=3, max_d=3, max_H=3), st.integers(1, 40),
       st.sampled_from([0.01, 0.1, 1.0]), mst.seeds())
def test_linear_critic_is_optimistic_on_its_good_event(lm, N, c_beta, seed):
    fin = lm.to_finite()
    data = collect(fin, _uniform(fin), N, rng=seed)
    learner = ac.LinearActorCritic(lm, 10, beta_scale=c_beta, offline_data=data,
                                   switching="never")
    sol = backward_induction(fin)
    phi = lm.phi
    event = True
    for h in range(lm.H):
        stp = learner.ridge.step(h)
        w_hat = stp.solve(stp.M @ learner.V[h + 1][stp.cols] + stp.reward_sum)
        w_true = lm.theta[h] + lm.mu[h] @ learner.V[h + 1]       # T_h f_{h+1} = <phi, w_true>
        err = np.abs(phi @ (w_hat - w_true))
        bonus = learner.beta * np.sqrt(np.einsum("sai,ij,saj->sa", phi, stp.Lambda_inv, phi))
        event &= bool(np.all(err <= bonus + 1e-10))
    if event:
        assert np.all(learner.Q >= sol.Q - 1e-9)


# ------------------------------------------------------------------ switch counts

@examples(40, **SETTINGS)
@given(mst.finite_mdps(max_S=4, max_A=3, max_H=3), st.integers(1, 150),
       st.sampled_from([0.0, 0.1, 1.0]), st.booleans(), st.integers(0, 30), mst.seeds())
def test_count_doubling_switches_within_bound(mdp, K, c_b, pooled, n_off, seed):
    data = collect(mdp, _uniform(mdp), n_off, rng=seed) if n_off else None
    learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, K, bonus_scale=c_b, pooled=pooled,
                             offline_data=data)
    _play(learner, mdp, K, np.random.default_rng(seed))
    bound = bac.switches_tabular(mdp.S, mdp.A, mdp.H, K, n_off=n_off, pooled=pooled)
    assert learner.switches <= bound


@examples(25, **SETTINGS)
@given(mst.linear_mdps(max_S=4, max_A=3, max_d=3, max_H=3), st.integers(1, 120),
       st.sampled_from([0.5, 1.0, 4.0]), st.integers(0, 20), mst.seeds())
def test_determinant_doubling_switches_within_bound(lm, K, ridge, n_off, seed):
    fin = lm.to_finite()
    data = collect(fin, _uniform(fin), n_off, rng=seed) if n_off else None
    learner = ac.LinearActorCritic(lm, K, beta_scale=0.1, ridge=ridge, offline_data=data)
    _play(learner, fin, K, np.random.default_rng(seed))
    assert learner.switches <= bac.switches_linear(lm.d, lm.H, K, n_off=n_off, ridge=ridge)


# ------------------------------------------------------------------ exponential weights

@st.composite
def reward_sequences(draw):
    T = draw(st.integers(1, 60), label="T")
    A = draw(st.integers(1, 5), label="A")
    R = draw(st.sampled_from([0.5, 1.0, 5.0]), label="range")
    rng = np.random.default_rng(draw(mst.seeds(), label="seed"))
    kind = draw(st.sampled_from(["uniform", "binary", "adversarial"]), label="kind")
    if kind == "uniform":
        f = rng.random((T, A)) * R
    elif kind == "binary":
        f = rng.integers(0, 2, size=(T, A)) * R
    else:                                   # the leader flips every round
        f = np.zeros((T, A))
        f[np.arange(T), np.arange(T) % A] = R
    return f, R


@examples(200, **SETTINGS)
@given(reward_sequences(), st.floats(1e-3, 20.0), st.integers(0, 5), mst.seeds())
def test_exponential_weights_regret_inequality(seq, eta, n_resets, seed):
    f, R = seq
    T, A = f.shape
    resets = np.sort(np.random.default_rng(seed).choice(T, size=min(n_resets, T),
                                                        replace=False))
    pis = ac.exponential_weights(f, eta, resets)
    regret = np.max(f.sum(0)) - np.sum(pis * f)
    bound = bac.exponential_weights_regret(T, A, eta, R, resets=len(resets))
    assert regret <= bound + 1e-9 * (1 + bound)


@examples(100, **SETTINGS)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 5), st.floats(1e-3, 10.0),
       st.integers(0, 40), mst.seeds())
def test_phase_closed_form_equals_multiplicative_steps(H, S, A, eta, n, seed):
    f = np.random.default_rng(seed).random((H, S, A)) * H
    E = np.empty((H, S, A))
    kac.phase_multipliers(f, eta, E)
    pi = np.full((H, S, A), 1.0 / A)
    for _ in range(n):
        nxt = np.empty_like(pi)
        kac.actor_step(pi, E, nxt)
        pi = nxt
    closed = np.empty_like(pi)
    kac.actor_policy(pi, f, eta * n, False, closed)
    np.testing.assert_allclose(pi, closed, rtol=1e-9, atol=1e-280)
    gap = f.max(-1) - np.einsum("hsa,hsa->hs", closed, f)      # greedy gap of softmax(beta f)
    if n > 0:
        assert np.all(gap <= math.log(A) / (eta * n) + 1e-12)


@examples(25, **SETTINGS)
@given(mst.finite_mdps(max_S=4, max_A=3, max_H=3), st.integers(5, 120),
       st.sampled_from([0.05, 0.3, 1.0, 3.0]), mst.seeds())
def test_actor_pi_star_tracking_within_bound(mdp, K, eta_scale, seed):
    sol = backward_induction(mdp)
    d_star = occupancy_measure(mdp, sol.pi).sum(-1)                 # d^{pi*}_h(s)
    learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, K, bonus_scale=0.1, eta_scale=eta_scale)
    total = [0.0]

    def track(t, pi, lrn):
        total[0] += float(np.einsum("hs,hsa,hsa->", d_star, sol.pi - pi, lrn.Q))

    _play(learner, mdp, K, np.random.default_rng(seed), track)
    bound = bac.actor_tracking_regret(mdp.H, mdp.A, K, learner.switches, learner.eta) \
        if mdp.A > 1 else 0.0
    assert total[0] <= bound + 1e-9


# ------------------------------------------------------------------ regret decompositions

@examples(80, **SETTINGS)
@given(mst.finite_mdps(max_S=4, max_A=3, max_H=4), st.data())
def test_regret_decompositions(mdp, data):
    pi = data.draw(mst.policies(mdp.H, mdp.S, mdp.A), label="pi")
    seed = data.draw(mst.seeds(), label="f_seed")
    optimistic = data.draw(st.booleans(), label="optimistic")
    rng = np.random.default_rng(seed)
    Qs = backward_induction(mdp).Q
    f = Qs + rng.random(Qs.shape) if optimistic else rng.random(Qs.shape) * mdp.H
    out = ac.regret_decomposition(mdp, f, pi)
    v_pi = evaluate_finite_policy(mdp, pi).value(mdp.rho0)
    v_star = backward_induction(mdp).value(mdp.rho0)
    assert abs(out["regret"] - (v_star - v_pi)) <= 1e-9
    assert abs(out["optimistic_value"] - v_pi
               - (out["greedy_tracking"] + out["bellman_error_pi"])) <= 1e-9      # (i)
    assert abs(out["regret"] - (out["star_tracking"] + out["star_residual"])) <= 1e-9  # (ii)
    assert out["greedy_tracking"] >= -1e-12
    if out["optimistic_value"] >= v_star:                          # optimism at rho0
        assert out["regret"] <= out["greedy_tracking"] + out["bellman_error_pi"] + 1e-9
