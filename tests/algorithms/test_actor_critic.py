"""Tests of the rare-switching actor-critic: kernels vs py_func and vs slow
references, the critic against exact solvers, the actor's closed form, the switching rules,
the variants and ablations, the bounds, and every bad-input branch."""
import math
import warnings

import numpy as np
import pytest

from mdptheory import envs
from mdptheory.algorithms import _common
from mdptheory.algorithms import actor_critic as ac
from mdptheory.bounds import actor_critic as bac
from mdptheory.kernels import actor_critic as kac
from mdptheory.kernels import online as kon
from mdptheory.models import FiniteHorizonMDP, LinearMDP
from mdptheory.runner import Dataset, Episode, collect, online
from mdptheory.solvers.finite import backward_induction, evaluate_finite_policy


def _mdp(seed=0, S=4, A=3, H=3):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    return FiniteHorizonMDP(P, rng.random((H, S, A)), np.full(S, 1.0 / S))


def _episodes(mdp, pi, N, seed):
    return collect(mdp, pi, N, rng=seed)


def _stats(mdp, N, seed, pooled=False):
    st = _common.CountStatistics(mdp.S, mdp.A, mdp.H, pooled=pooled)
    st.add_dataset(_episodes(mdp, np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A), N, seed))
    return st


def _run(learner, mdp, K, seed):
    """Plain loop (no driver): returns the list of policies played."""
    rng = np.random.default_rng(seed)
    P, r, rho0 = np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r), mdp.rho0
    played = []
    for _ in range(K):
        pi = learner.policy()
        played.append(pi)
        s, a, rew = np.empty(mdp.H + 1, np.int64), np.empty(mdp.H, np.int64), np.empty(mdp.H)
        kon.sample_episode(P, r, pi, rho0, rng.random(2 * mdp.H + 1), False, s, a, rew)
        learner.update(Episode(s, a, rew))
    return played


# ------------------------------------------------------------------ kernels: compiled = py_func

def test_kernels_equal_their_python_versions():
    rng = np.random.default_rng(3)
    mdp = _mdp(1)
    st = _stats(mdp, 30, 2)
    H, S, A = mdp.H, mdp.S, mdp.A
    f = rng.random((H, S, A)) * 3
    base = rng.normal(size=(H, S, A))
    for fn in (kac.actor_policy,):
        o1, o2 = np.empty((H, S, A)), np.empty((H, S, A))
        fn(base, f, 2.5, True, o1)
        fn.py_func(base, f, 2.5, True, o2)
        np.testing.assert_allclose(o1, o2, rtol=1e-14)       # exp may differ by an ulp
    E1, E2 = np.empty((H, S, A)), np.empty((H, S, A))
    kac.phase_multipliers(f, 0.7, E1)
    kac.phase_multipliers.py_func(f, 0.7, E2)
    np.testing.assert_allclose(E1, E2, rtol=1e-14)
    pi = np.full((H, S, A), 1.0 / A)
    o1, o2 = np.empty((H, S, A)), np.empty((H, S, A))
    assert kac.actor_step(pi, E1, o1) == kac.actor_step.py_func(pi, E1, o2)
    np.testing.assert_array_equal(o1, o2)
    f_tie = np.round(f)
    kac.greedy_uniform_policy(f_tie, o1)
    kac.greedy_uniform_policy.py_func(f_tie, o2)
    np.testing.assert_array_equal(o1, o2)
    b = rng.random((H, S, A))
    v_max = _common.step_caps(H)
    for use_pi, unv in ((False, v_max), (True, np.zeros(H))):
        V1, V2 = np.zeros((H + 1, S)), np.zeros((H + 1, S))
        Q1, Q2 = np.empty((H, S, A)), np.empty((H, S, A))
        kac.critic_backward_induction(st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ, b, v_max,
                                      unv, pi, use_pi, V1, Q1)
        kac.critic_backward_induction.py_func(st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ, b,
                                              v_max, unv, pi, use_pi, V2, Q2)
        np.testing.assert_array_equal(Q1, Q2)
        np.testing.assert_array_equal(V1, V2)
    ep = _episodes(mdp, pi, 1, 5)
    snap = st.n_sa * 0.6
    assert kac.doubling_switch(ep.s[0], ep.a[0], st.n_sa, snap) == \
        kac.doubling_switch.py_func(ep.s[0], ep.a[0], st.n_sa, snap)
    phi = rng.dirichlet(np.ones(4), size=(S, A))
    stats = [ac.RidgeStatistics(phi, H, 0.7) for _ in range(2)]
    q1, q2 = np.empty(H), np.empty(H)
    for rg, fn, q in ((stats[0], kac.ridge_episode_update, q1),
                      (stats[1], kac.ridge_episode_update.py_func, q2)):
        fn(phi, ep.s[0], ep.a[0], ep.r[0], rg.Lambda, rg.Lambda_inv, rg.M, rg.counts,
           rg.reward_sum, q)
    np.testing.assert_array_equal(q1, q2)
    for name in ("Lambda", "Lambda_inv", "M", "counts", "reward_sum"):
        np.testing.assert_array_equal(getattr(stats[0], name), getattr(stats[1], name))
    # slow NumPy twin
    X = phi[ep.s[0, :H], ep.a[0]]                                     # (H, d)
    np.testing.assert_allclose(q1, np.einsum("hi,hi->h", X, X) / 0.7, rtol=1e-12)
    Lam = 0.7 * np.eye(4) + np.einsum("hi,hj->hij", X, X)
    np.testing.assert_allclose(stats[0].Lambda, Lam, rtol=1e-12)
    np.testing.assert_allclose(stats[0].Lambda_inv, np.linalg.inv(Lam), rtol=1e-10, atol=1e-12)
    for h in range(H):
        np.testing.assert_allclose(stats[0].M[h, :, ep.s[0, h + 1]], X[h])
        np.testing.assert_allclose(stats[0].reward_sum[h], X[h] * ep.r[0, h])
    assert stats[0].counts.sum() == H


# ------------------------------------------------------------------ the critic

def test_critic_kernel_on_the_exact_model_gives_q_star_and_q_pi():
    mdp = _mdp(4, S=5, A=3, H=4)
    H, S, A = mdp.H, mdp.S, mdp.A
    P = np.ascontiguousarray(mdp.P)
    succ, n_succ = _common.support_lists(P)
    ones = np.ones((H, S, A))
    zeros = np.zeros((H, S, A))
    v_max = _common.step_caps(H)
    V, Q = np.zeros((H + 1, S)), np.empty((H, S, A))
    kac.critic_backward_induction(P, mdp.r, ones, succ, n_succ, zeros, v_max, v_max, ones,
                                  False, V, Q)
    np.testing.assert_allclose(Q, backward_induction(mdp).Q, atol=1e-12)
    pi = np.random.default_rng(0).dirichlet(np.ones(A), size=(H, S))
    kac.critic_backward_induction(P, mdp.r, ones, succ, n_succ, zeros, v_max, v_max, pi, True,
                                  V, Q)
    np.testing.assert_allclose(Q, evaluate_finite_policy(mdp, pi).Q, atol=1e-12)


@pytest.mark.parametrize("pooled", [False, True])
def test_optimistic_critic_matches_the_ucbvi_kernel(pooled):
    mdp = _mdp(5, S=6, A=3, H=4)
    st = _stats(mdp, 40, 1, pooled=pooled)
    b = ac.tabular_bonus(st.n_sa, mdp.H, 7.0, 0.3)
    v_max = _common.step_caps(mdp.H)
    V1, Q1 = np.zeros((mdp.H + 1, mdp.S)), np.empty((mdp.H, mdp.S, mdp.A))
    kac.critic_backward_induction(st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ, b, v_max,
                                  v_max, Q1, False, V1, Q1)
    Q2, V2, _ = _common.optimistic_backward_induction(st.P_hat, st.r_hat, st.n_sa, b, v_max)
    np.testing.assert_allclose(Q1, Q2, atol=1e-12)
    np.testing.assert_allclose(V1, V2, atol=1e-12)


def test_tabular_bonus_formula():
    n = np.array([[[0.0, 1.0, 4.0, 1e6]]])
    got = ac.tabular_bonus(n, H=3, L=2.0, c_b=0.5)
    want = np.minimum(3.0, 0.5 * 3 * np.sqrt(2.0 / np.array([1.0, 1.0, 4.0, 1e6])))
    np.testing.assert_allclose(got[0, 0], want)
    assert ac.log_term(2, 3, 4, 5, 0.1) == pytest.approx(math.log(2 * 3 * 4 * 5 / 0.1))
    assert ac.linear_beta(4, 5, 100, 0.1, 0.5) == pytest.approx(0.5 * 4 * 5 * math.sqrt(
        math.log(2 * 4 * 100 / 0.1)))


def test_non_optimistic_critic_with_covering_offline_data_on_a_deterministic_mdp_is_q_star():
    rng = np.random.default_rng(0)
    S, A, H = 4, 3, 3
    P = np.zeros((H, S, A, S))
    P[np.arange(H)[:, None, None], np.arange(S)[None, :, None], np.arange(A)[None, None, :],
      rng.integers(0, S, size=(H, S, A))] = 1.0
    mdp = FiniteHorizonMDP(P, rng.random((H, S, A)), np.full(S, 1.0 / S))
    data = _episodes(mdp, np.full((H, S, A), 1.0 / A), 400, 1)
    learner = ac.ActorCritic(S, A, H, 10, optimistic=False, offline_data=data)
    visited = learner.stats.n_sa > 0
    assert visited[0].all()                       # rho0 uniform: every pair of step 0 seen
    Qs = backward_induction(mdp).Q
    # every successor of a visited pair had all its actions tried, so the Bellman targets agree
    np.testing.assert_allclose(learner.Q[0], Qs[0], atol=1e-12)
    assert learner.n_off == 400 and learner.stats.n_sa.sum() == 400 * H


def _slow_linear_critic(mdp, data_s, data_a, data_r, beta, ridge, v_max):
    """Reference LSVI(-UCB) from stacked data: np.linalg.solve on explicit Gram matrices."""
    phi = mdp.phi
    H, S, A = mdp.H, mdp.S, mdp.A
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    for h in range(H - 1, -1, -1):
        X = phi[data_s[:, h], data_a[:, h]]
        y = data_r[:, h] + V[h + 1][data_s[:, h + 1]]
        Lam = ridge * np.eye(mdp.d) + X.T @ X
        w = np.linalg.solve(Lam, X.T @ y)
        Linv = np.linalg.inv(Lam)
        bonus = beta * np.sqrt(np.einsum("sai,ij,saj->sa", phi, Linv, phi))
        Q[h] = np.clip(phi @ w + bonus, 0, v_max[h])
        V[h] = Q[h].max(-1)
    return Q


@pytest.mark.parametrize("optimistic", [True, False])
def test_linear_critic_equals_a_slow_lsvi_reference(optimistic):
    lm = envs.random_linear_mdp(6, 3, 4, 3, rng=2)
    fin = lm.to_finite()
    data = _episodes(fin, np.full((3, 6, 3), 1 / 3), 25, 3)
    learner = ac.LinearActorCritic(lm, 50, offline_data=data, beta=0.7, ridge=0.5,
                                   optimistic=optimistic, switching="never")
    beta = 0.7 if optimistic else 0.0
    ref = _slow_linear_critic(lm, data.s, data.a, data.r, beta, 0.5, np.arange(3, 0, -1.0))
    np.testing.assert_allclose(learner.Q, ref, atol=1e-9)
    # online episodes go through Sherman-Morrison; a refit sees offline + online data
    eps = _episodes(fin, np.full((3, 6, 3), 1 / 3), 7, 4)
    learner2 = ac.LinearActorCritic(lm, 50, offline_data=data, beta=0.7, ridge=0.5,
                                    optimistic=optimistic, switching="every", reset=False)
    for e in eps:
        learner2.update(e)
    allS = np.vstack([data.s, eps.s])
    allA = np.vstack([data.a, eps.a])
    allR = np.vstack([data.r, eps.r])
    ref2 = _slow_linear_critic(lm, allS, allA, allR, beta, 0.5, np.arange(3, 0, -1.0))
    np.testing.assert_allclose(learner2.Q, ref2, atol=1e-8)


def test_linear_critic_recovers_q_star_on_a_deterministic_linear_mdp():
    S, A, d, H = 3, 2, 3, 3
    phi = np.zeros((S, A, d))
    for s in range(S):
        for a in range(A):
            phi[s, a, (s + a) % d] = 1.0
    mu = np.zeros((H, d, S))
    for h in range(H):
        for i in range(d):
            mu[h, i, (i + 1) % S] = 1.0
    theta = np.random.default_rng(0).random((H, d))
    lm = LinearMDP(phi=phi, mu=mu, theta=theta, rho0=np.full(S, 1 / S))
    data = _episodes(lm.to_finite(), np.full((H, S, A), 1 / A), 300, 0)
    for rewards in ("observed", "known"):
        learner = ac.LinearActorCritic(lm, 10, optimistic=False, offline_data=data,
                                       ridge=1e-9, rewards=rewards)
        np.testing.assert_allclose(learner.Q, backward_induction(lm).Q, atol=1e-6)


# ------------------------------------------------------------------ the actor

def test_actor_inside_a_phase_is_the_softmax_closed_form():
    mdp = _mdp(6)
    data = _episodes(mdp, np.full((mdp.H, mdp.S, mdp.A), 1 / mdp.A), 50, 0)
    learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, 100, offline_data=data, switching="never",
                             eta=0.37)
    played = _run(learner, mdp, 12, 1)
    for n, pi in enumerate(played):
        want = np.empty_like(pi)
        kac.actor_policy(pi, learner.Q, 0.37 * n, False, want)
        np.testing.assert_allclose(pi, want, rtol=1e-12, atol=1e-15)
        # and the reference exponential weights on one state
        ew = ac.exponential_weights(np.repeat(learner.Q[1, 2][None], n + 1, 0), 0.37)
        np.testing.assert_allclose(pi[1, 2], ew[n], rtol=1e-12)


def test_first_episode_of_each_phase_is_uniform_and_switch_times_follow_count_doubling():
    mdp = _mdp(7, S=3, A=2, H=2)
    learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, 200, bonus_scale=0.1)
    rng = np.random.default_rng(0)
    n = np.zeros((mdp.H, mdp.S, mdp.A))
    snap = n.copy()
    expected_switches = []
    for t in range(1, 201):
        pi = learner.policy()
        if t == 1 or (expected_switches and expected_switches[-1] == t):
            np.testing.assert_array_equal(pi, np.full(pi.shape, 0.5))
        s, a, rew = np.empty(3, np.int64), np.empty(2, np.int64), np.empty(2)
        kon.sample_episode(np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r), pi,
                           mdp.rho0, rng.random(5), False, s, a, rew)
        learner.update(Episode(s, a, rew))
        for h in range(2):
            n[h, s[h], a[h]] += 1
        if np.any(n >= np.maximum(1.0, 2.0 * snap)):
            expected_switches.append(t + 1)
            snap = n.copy()
    assert learner.switch_times == expected_switches
    assert learner.switches == len(expected_switches)


def test_greedy_actor_is_uniform_over_the_critic_maximisers():
    mdp = _mdp(8)
    data = _episodes(mdp, np.full((mdp.H, mdp.S, mdp.A), 1 / mdp.A), 30, 0)
    learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, 20, eta=np.inf, offline_data=data)
    pi = learner.policy()
    Q = learner.Q
    ismax = Q == Q.max(-1, keepdims=True)
    np.testing.assert_allclose(pi, ismax / ismax.sum(-1, keepdims=True))
    assert learner.inverse_temperature == math.inf


def test_no_reset_keeps_the_accumulated_logits_across_switches():
    mdp = _mdp(9, S=3, A=3, H=2)
    eta = 0.8
    learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, 50, eta=eta, reset=False, bonus_scale=0.2)
    logits = np.zeros((mdp.H, mdp.S, mdp.A))      # sum over finished phases of eta n_j f^(j)
    start = 1
    rng = np.random.default_rng(3)
    for t in range(1, 41):
        pi = learner.policy()
        want = np.empty_like(pi)
        kac.actor_policy(logits, learner.Q, eta * (t - start), True, want)
        np.testing.assert_allclose(pi, want, rtol=1e-10, atol=1e-14)
        s, a, rew = np.empty(3, np.int64), np.empty(2, np.int64), np.empty(2)
        kon.sample_episode(np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r), pi,
                           mdp.rho0, rng.random(5), False, s, a, rew)
        before, k = learner.Q.copy(), learner.switches
        learner.update(Episode(s, a, rew))
        if learner.switches > k:
            logits = logits + eta * (t + 1 - start) * before
            start = t + 1
    assert learner.switches >= 2
    # with resets the same run restarts from uniform at every switch
    reset = ac.ActorCritic(mdp.S, mdp.A, mdp.H, 50, eta=eta, bonus_scale=0.2)
    played = _run(reset, mdp, 40, 3)
    for t in reset.switch_times:
        if t <= 40:
            np.testing.assert_array_equal(played[t - 1], np.full((2, 3, 3), 1 / 3))


def test_policy_target_critic_evaluates_the_last_played_policy():
    mdp = _mdp(10, S=4, A=2, H=3)
    learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, 30, target="policy", bonus_scale=0.0,
                             switching="every", reset=False, eta=0.5)
    played = _run(learner, mdp, 30, 2)
    st = learner.stats
    V, Q = np.zeros((mdp.H + 1, mdp.S)), np.empty((mdp.H, mdp.S, mdp.A))
    kac.critic_backward_induction(st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ,
                                  learner.bonus(), learner.v_max, learner.v_max, played[-1],
                                  True, V, Q)
    np.testing.assert_allclose(learner.Q, Q, atol=1e-12)
    assert not np.allclose(learner.V[0], learner.Q[0].max(-1))   # not the max backup


def test_linear_ablations():
    lm = envs.random_linear_mdp(5, 3, 3, 2, rng=3)
    fin = lm.to_finite()
    lin = ac.LinearActorCritic(lm, 20, beta_scale=0.05, target="policy", switching="every",
                               reset=False)
    played = _run(lin, fin, 20, 1)
    np.testing.assert_allclose(lin.V[:2], np.einsum("hsa,hsa->hs", played[-1], lin.Q),
                               atol=1e-12)
    greedy = ac.LinearActorCritic(lm, 20, beta_scale=0.05, eta=np.inf)
    _run(greedy, fin, 20, 1)
    ismax = greedy.Q == greedy.Q.max(-1, keepdims=True)
    np.testing.assert_allclose(greedy.policy(), ismax / ismax.sum(-1, keepdims=True))
    never = ac.LinearActorCritic(lm, 20, switching="never")
    _run(never, fin, 20, 1)
    assert never.switches == 0


def test_non_optimistic_without_data_is_uniform_with_zero_critic():
    learner = ac.ActorCritic(3, 4, 2, 10, optimistic=False)
    assert np.all(learner.Q == 0)
    np.testing.assert_allclose(learner.policy(), 0.25)


def test_hybrid_counts_offline_data_and_fits_the_first_critic():
    mdp = _mdp(11)
    data = _episodes(mdp, np.full((mdp.H, mdp.S, mdp.A), 1 / mdp.A), 60, 0)
    learner = ac.ActorCritic.hybrid(mdp.S, mdp.A, mdp.H, 100, offline_data=data,
                                    bonus_scale=0.05)
    assert learner.n_off == 60 and learner.stats.n_sa.sum() == 60 * mdp.H
    assert learner.L == pytest.approx(ac.log_term(mdp.S, mdp.A, mdp.H, 160, 0.1))
    assert np.any(learner.Q < _common.step_caps(mdp.H)[:, None, None])
    np.testing.assert_array_equal(learner.n_snap, learner.stats.n_sa)
    lm = envs.random_linear_mdp(5, 2, 3, 2, rng=0)
    ldata = _episodes(lm.to_finite(), np.full((2, 5, 2), 0.5), 40, 1)
    lin = ac.LinearActorCritic.hybrid(lm, 100, offline_data=ldata)
    assert lin.n_off == 40 and lin.ridge.n == 40
    np.testing.assert_allclose(lin.logdet, [np.linalg.slogdet(L)[1] for L in lin.ridge.Lambda])


def test_determinant_doubling_switches_match_a_slogdet_reference():
    lm = envs.random_linear_mdp(8, 3, 3, 3, rng=1)
    fin = lm.to_finite()
    learner = ac.LinearActorCritic(lm, 300, beta_scale=0.05)
    rng = np.random.default_rng(4)
    snap = np.zeros(3)
    Lam = np.stack([np.eye(3)] * 3)
    expected = []
    for t in range(1, 301):
        pi = learner.policy()
        s, a, rew = np.empty(4, np.int64), np.empty(3, np.int64), np.empty(3)
        kon.sample_episode(np.ascontiguousarray(fin.P), np.ascontiguousarray(fin.r), pi,
                           fin.rho0, rng.random(7), False, s, a, rew)
        learner.update(Episode(s, a, rew))
        for h in range(3):
            x = lm.phi[s[h], a[h]]
            Lam[h] += np.outer(x, x)
        ld = np.array([np.linalg.slogdet(L)[1] for L in Lam])
        if np.any(ld > np.log(2) + snap):
            expected.append(t + 1)
            snap = ld
    assert learner.switch_times == expected
    np.testing.assert_allclose(learner.logdet, [np.linalg.slogdet(L)[1] for L in Lam],
                               rtol=1e-9)
    assert learner.switches <= bac.switches_linear(3, 3, 300)


@pytest.mark.parametrize("kw", [{}, {"pooled": True}])
def test_switch_count_stays_under_its_bound(kw):
    mdp = _mdp(12, S=3, A=2, H=3)
    learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, 500, bonus_scale=0.1, **kw)
    df = online(learner, mdp, 500, rng=0, checkpoints=[10, 100, 500])
    bound = bac.switches_tabular(mdp.S, mdp.A, mdp.H, df["k"].to_numpy(),
                                 pooled=kw.get("pooled", False))
    assert np.all(df["switches"].to_numpy() <= bound)
    assert df["switches"].iloc[-1] >= 1


def test_online_run_is_seeded_and_reports_metrics():
    mdp = _mdp(13)
    runs = [online(ac.ActorCritic(mdp.S, mdp.A, mdp.H, 300, bonus_scale=0.1), mdp, 300, rng=7)
            for _ in range(2)]
    a, b = (r.drop(columns="wall_time") for r in runs)
    import pandas as pd
    pd.testing.assert_frame_equal(a, b)
    assert {"switches", "phase_length", "eta"} <= set(a.columns)
    assert np.all(np.diff(a["regret"]) >= -1e-12)
    other = online(ac.ActorCritic(mdp.S, mdp.A, mdp.H, 300, bonus_scale=0.1), mdp, 300, rng=8)
    assert not np.allclose(other["regret"], a["regret"])
    lm = envs.random_linear_mdp(5, 2, 3, 2, rng=0)
    lin = online(ac.LinearActorCritic(lm, 100, beta_scale=0.1), lm, 100, rng=0)
    assert lin["switches"].iloc[-1] <= bac.switches_linear(3, 2, 100)


def test_presets_build_the_learners():
    for key in ("theory", "practical"):
        assert ac.ActorCritic(2, 2, 2, 5, **ac.PRESETS_TABULAR[key]).bonus_scale == \
            ac.PRESETS_TABULAR[key]["bonus_scale"]
        lin = ac.LinearActorCritic(envs.random_linear_mdp(3, 2, 2, 2, rng=0), 5,
                                   **ac.PRESETS_LINEAR[key])
        assert lin.beta_scale == ac.PRESETS_LINEAR[key]["beta_scale"]


def test_single_action_mdp_runs_and_default_eta_formula():
    learner = ac.ActorCritic(2, 1, 2, 10)
    online(learner, _mdp(0, S=2, A=1, H=2), 10, rng=0)
    T, A, H, d = 1000, 4, 5, 12
    khat = H * d * math.log2(1 + T / d)
    assert ac.default_eta(T, A, H, d) == pytest.approx(math.sqrt(8 * khat * math.log(A)
                                                                 / (T * H * H)))
    learner = ac.ActorCritic(3, 4, 5, 1000)
    assert learner.eta == pytest.approx(ac.default_eta(1000, 4, 5, 12))
    assert ac.ActorCritic(3, 4, 5, 1000, eta_scale=3.0).eta == pytest.approx(3 * learner.eta)
    assert ac.ActorCritic(3, 4, 5, 1000, temperature=0.5).eta == 2.0


# ------------------------------------------------------------------ ground-truth helpers

def test_concentrability_known_answers():
    mdp = _mdp(14, S=3, A=4, H=2)
    pi_star = backward_induction(mdp).pi
    assert ac.single_policy_concentrability(mdp, pi_star) == pytest.approx(1.0)
    # one step, point-mass start: uniform behaviour covers pi*'s single pair with mass 1/A
    P = np.full((1, 1, 4, 1), 1.0)
    bandit = FiniteHorizonMDP(P, np.array([[[0.1, 0.9, 0.3, 0.2]]]), np.ones(1))
    assert ac.single_policy_concentrability(bandit, np.full((1, 1, 4), 0.25)) == \
        pytest.approx(4.0)
    mu = np.array([[[0.5, 0.0, 0.25, 0.25]]])
    assert ac.single_policy_concentrability(bandit, mu) == math.inf


def test_regret_decomposition_identities():
    mdp = _mdp(15, S=4, A=3, H=3)
    rng = np.random.default_rng(0)
    f = rng.random((3, 4, 3)) * 3
    pi = rng.dirichlet(np.ones(3), size=(3, 4))
    out = ac.regret_decomposition(mdp, f, pi)
    v_pi = evaluate_finite_policy(mdp, pi).value(mdp.rho0)
    assert out["optimistic_value"] - v_pi == pytest.approx(
        out["greedy_tracking"] + out["bellman_error_pi"], abs=1e-10)
    assert out["regret"] == pytest.approx(out["star_tracking"] + out["star_residual"], abs=1e-10)


# ------------------------------------------------------------------ bounds

def test_bounds_hand_computed_values():
    assert bac.switches_tabular(2, 3, 4, 8) == pytest.approx(4 * 2 * 3 * (1 + 3))
    assert bac.switches_tabular(2, 3, 4, 8, pooled=True) == pytest.approx(2 * 3 * (1 + 5))
    assert bac.switches_tabular(2, 3, 4, 6, n_off=2) == pytest.approx(96.0)
    assert bac.switches_linear(2, 3, 6) == pytest.approx(3 * 2 * 2.0)
    assert bac.n_off_threshold(2.0, 3, 2, 0.5) == pytest.approx(2 * 3 * 16 / 0.25)
    assert bac.actor_critic_sample_complexity(2, 1, math.e, 3.0, 0.5) == pytest.approx(
        (2 + 6) / 0.25)
    assert bac.actor_critic_regret(1, 1, math.e, 1.0, 4.0) == pytest.approx(4.0)
    assert bac.exponential_weights_regret(8, math.e, 0.5, 2.0, resets=1) == pytest.approx(
        2 / 0.5 + 0.5 * 8 * 4 / 8)
    assert bac.actor_tracking_regret(2, math.e, 8, 1, 0.5) == pytest.approx(
        2 * (2 / 0.5 + 0.5 * 8 * 4 / 8))
    h = bac.hybrid_regret(1, 1, math.e, 1.0, 4.0, np.array([0.0, 1e8]), 1.0)
    assert h[0] == pytest.approx(2 + 2) and h[1] == pytest.approx(2 + 4 * 1e-4)
    from mdptheory.bounds import get
    assert get("actor_critic_regret").exponent == 0.5
    assert get("actor_critic_switches_tabular").constants == "paper"


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("kw, match", [
    ({"eta": 0.0}, r"eta must be > 0"),
    ({"eta": -1.0}, r"eta must be > 0"),
    ({"eta": -np.inf}, r"eta is -inf"),
    ({"temperature": 0.0}, r"temperature must be > 0"),
    ({"temperature": -2.0}, r"temperature must be > 0"),
    ({"eta": 1.0, "temperature": 1.0}, r"at most one of eta and temperature"),
    ({"eta_scale": 0.0}, r"eta_scale must be > 0"),
    ({"bonus_scale": -0.1}, r"bonus_scale must be >= 0"),
    ({"delta": 1.0}, r"delta must be < 1"),
    ({"switching": "sometimes"}, r"switching must be one of"),
    ({"target": "q_pi"}, r"target must be one of"),
])
def test_bad_hyperparameters_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        ac.ActorCritic(3, 2, 2, 10, **kw)


def test_bad_linear_hyperparameters_are_named():
    lm = envs.random_linear_mdp(4, 2, 3, 2, rng=0)
    with pytest.raises(ValueError, match=r"ridge must be > 0"):
        ac.LinearActorCritic(lm, 10, ridge=0.0)
    with pytest.raises(ValueError, match=r"beta must be >= 0"):
        ac.LinearActorCritic(lm, 10, beta=-1.0)
    with pytest.raises(ValueError, match=r"rewards must be one of"):
        ac.LinearActorCritic(lm, 10, rewards="estimated")
    with pytest.raises(ValueError, match=r"eta must be > 0"):
        ac.LinearActorCritic(lm, 10, eta=0)
    with pytest.raises(ValueError, match=r"switching must be one of"):
        ac.LinearActorCritic(lm, 10, switching="count")
    with pytest.raises(TypeError, match=r"eta must be a real number"):
        ac.LinearActorCritic(lm, 10, eta="fast")


def _ds(s, a, r):
    return Dataset(np.asarray(s), np.asarray(a), np.asarray(r))


@pytest.mark.parametrize("data, exc, match", [
    (_ds(np.zeros((2, 4), int), np.zeros((2, 2), int), np.zeros((2, 2))), ValueError,
     r"offline_data.s must have shape \(N, H \+ 1\) = \(\*, 3\) for H = 2"),
    (_ds(np.zeros((2, 3), int), np.zeros((2, 3), int), np.zeros((2, 3))), ValueError,
     r"offline_data.a must have shape"),
    (_ds(np.full((2, 3), 5), np.zeros((2, 2), int), np.zeros((2, 2))), ValueError,
     r"offline_data.s\[0, 0\] is 5, expected a state in \[0, 3\)"),
    (_ds(np.zeros((2, 3), int), np.array([[0, 1], [2, 0]]), np.zeros((2, 2))), ValueError,
     r"offline_data.a\[1, 0\] is 2, expected an action in \[0, 2\)"),
    (_ds(np.zeros((2, 3)), np.zeros((2, 2), int), np.zeros((2, 2))), TypeError,
     r"offline_data.s must hold integers"),
    (_ds(np.zeros((3, 3), int), np.zeros((2, 2), int), np.zeros((2, 2))), ValueError,
     r"offline_data.s holds 3 episodes but offline_data.a holds 2"),
    (_ds(np.zeros((2, 3), int), np.zeros((2, 2), int), np.zeros((2, 3))), ValueError,
     r"offline_data.r must have shape \(N, H\) = \(2, 2\)"),
    (_ds(np.zeros((2, 3), int), np.zeros((2, 2), int), np.array([[0, np.nan], [0, 0]])),
     ValueError, r"offline_data.r\[0, 1\] is nan"),
    ((np.zeros((2, 3), int),), TypeError, r"offline_data must have fields s, a, r"),
])
def test_inconsistent_offline_data_raises_naming_the_field(data, exc, match):
    with pytest.raises(exc, match=match):
        ac.ActorCritic(3, 2, 2, 10, offline_data=data)


def test_offline_data_warnings_and_variant_checks():
    with pytest.warns(UserWarning, match=r"offline_data.r\[1, 0\] is 2.0, outside \[0, 1\]"):
        ac.ActorCritic(3, 2, 2, 10, offline_data=_ds(np.zeros((2, 3), int),
                                                     np.zeros((2, 2), int),
                                                     np.array([[0, 0], [2.0, 0]])))
    # a reward one ulp above 1 (e.g. phi . theta rounded up) is named with all its digits
    with pytest.warns(UserWarning, match=r"r\[0, 1\] is 1.0000000000000002, outside"):
        ac.ActorCritic(3, 2, 2, 10, offline_data=_ds(np.zeros((1, 3), int),
                                                     np.zeros((1, 2), int),
                                                     np.array([[0.5, np.nextafter(1.0, 2.0)]])))
    empty = _ds(np.zeros((0, 3), int), np.zeros((0, 2), int), np.zeros((0, 2)))
    with pytest.warns(UserWarning, match=r"offline_data holds no episodes"):
        learner = ac.ActorCritic(3, 2, 2, 10, offline_data=empty)
    assert learner.n_off == 0
    with pytest.warns(UserWarning, match=r"no guarantee without offline data"):
        ac.ActorCritic.non_optimistic(3, 2, 2, 10, offline_data=None)
    data = _ds(np.zeros((4, 3), int), np.zeros((4, 2), int), np.zeros((4, 2)))
    with pytest.warns(UserWarning, match=r"N_off = 4 episodes < c_off d H\^4 / eps\^2 = 192"):
        ac.ActorCritic.non_optimistic(3, 2, 2, 10, offline_data=data, c_off=2.0, eps=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ac.ActorCritic.non_optimistic(3, 2, 2, 10, offline_data=data, c_off=1.0, eps=100.0)
    with pytest.raises(ValueError, match=r"give both c_off and eps"):
        ac.ActorCritic.non_optimistic(3, 2, 2, 10, offline_data=data, c_off=2.0)
    with pytest.raises(ValueError, match=r"c_off must be >= 1"):
        ac.ActorCritic.non_optimistic(3, 2, 2, 10, offline_data=data, c_off=0.5, eps=1.0)
    with pytest.raises(ValueError, match=r"offline_data is required for the hybrid"):
        ac.ActorCritic.hybrid(3, 2, 2, 10, offline_data=None)
    lm = envs.random_linear_mdp(4, 2, 3, 2, rng=0)
    with pytest.raises(ValueError, match=r"offline_data.a\[0, 1\] is 7"):
        ac.LinearActorCritic(lm, 10, offline_data=_ds(np.zeros((1, 3), int),
                                                      np.array([[0, 7]]), np.zeros((1, 2))))
    with pytest.raises(TypeError, match=r"mdp must be a FiniteHorizonMDP"):
        ac.single_policy_concentrability("mdp", np.ones((1, 1, 1)))
    with pytest.raises(ValueError, match=r"f must have shape"):
        ac.regret_decomposition(_mdp(0), np.zeros((1, 1, 1)), np.full((3, 4, 3), 1 / 3))


# --------------------------------------------- ablation (c): the Q^pi target is a different critic

def _reference_critic(mdp, episodes, c_b, K, delta, target_pi):
    """Independent numpy version of the optimistic tabular critic on per-step counts:
    Q_h = min(H - h, r_hat + b + P_hat V_{h+1}) on visited pairs, H - h on unvisited ones, with
    V_h = max_a Q_h (target Q*) or sum_a target_pi_h Q_h (target Q^pi)."""
    H, S, A = mdp.H, mdp.S, mdp.A
    n = np.zeros((H, S, A))
    nsas = np.zeros((H, S, A, S))
    rsum = np.zeros((H, S, A))
    for s, a, r in episodes:
        for h in range(H):
            n[h, s[h], a[h]] += 1
            nsas[h, s[h], a[h], s[h + 1]] += 1
            rsum[h, s[h], a[h]] += r[h]
    L = math.log(S * A * H * K / delta)
    V = np.zeros((H + 1, S))
    Q = np.zeros((H, S, A))
    for h in range(H - 1, -1, -1):
        cap = H - h
        for s in range(S):
            for a in range(A):
                if n[h, s, a] == 0:
                    Q[h, s, a] = cap
                    continue
                b = min(H, c_b * H * math.sqrt(L / n[h, s, a]))
                q = rsum[h, s, a] / n[h, s, a] + b + nsas[h, s, a] @ V[h + 1] / n[h, s, a]
                Q[h, s, a] = min(max(q, 0.0), cap)
        V[h] = Q[h].max(-1) if target_pi is None else (target_pi[h] * Q[h]).sum(-1)
    return Q


def test_policy_target_and_optimal_target_give_different_critics_where_they_must():
    """With a refit after every episode and resets, every episode is played by the uniform
    policy, so the Q^pi critic backs up the action average and the Q* critic the maximum: they
    must differ at the first step wherever the next-step critic varies over actions. Both
    learners see the same episodes; each is compared with an independent computation."""
    mdp = _mdp(3, S=3, A=3, H=3)
    K, c_b = 40, 0.05
    kw = dict(bonus_scale=c_b, switching="every", delta=0.1)
    opt = ac.ActorCritic(mdp.S, mdp.A, mdp.H, K, target="optimal", **kw)
    pol = ac.ActorCritic(mdp.S, mdp.A, mdp.H, K, target="policy", **kw)
    data = collect(mdp, np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A), K, rng=5)
    episodes = []
    for i in range(K):
        ep = Episode(data.s[i].copy(), data.a[i].copy(), data.r[i].copy())
        for learner in (opt, pol):
            assert np.all(learner.policy() == 1.0 / mdp.A)     # every episode starts a phase
            learner.update(ep)
        episodes.append((data.s[i], data.a[i], data.r[i]))
    unif = np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A)
    np.testing.assert_allclose(opt.Q, _reference_critic(mdp, episodes, c_b, K, 0.1, None),
                               atol=1e-12)
    np.testing.assert_allclose(pol.Q, _reference_critic(mdp, episodes, c_b, K, 0.1, unif),
                               atol=1e-12)
    assert np.max(np.abs(opt.Q[0] - pol.Q[0])) > 0.1              # the two updates differ
    assert np.all(pol.Q <= opt.Q + 1e-12)                          # average <= maximum
    # the recorded gap is max_{h,s} max_a f - <pi, f> of the last refit's critic, here > 0
    gap = np.max(pol.Q.max(-1) - pol.Q.mean(-1))
    assert pol.metrics()["target_gap"] >= gap - 1e-12 and gap > 0.1
    assert opt.metrics()["target_gap"] == 0.0


def test_policy_target_ablation_changes_the_run_in_the_experiment_setting():
    """At rare switching the played policy at a switch is the phase's softmax, so the Q^pi
    target is close to the Q* one; the ablation still runs a different critic (target_gap > 0)
    and a different sequence of policies."""
    mdp = envs.garnet(10, 3, 3, H=5, rng=0)
    K = 2000
    runs = {}
    for target in ("optimal", "policy"):
        learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, K, bonus_scale=0.1, target=target)
        df = online(learner, mdp, K, rng=np.random.default_rng(1), checkpoints=[K])
        runs[target] = (learner, float(df["regret"].iloc[-1]))
    assert runs["policy"][0].target_gap > 0.0 == runs["optimal"][0].target_gap
    assert runs["policy"][1] != runs["optimal"][1]


def test_actor_tracking_probe_sums_the_pi_star_tracking_term():
    """The probe's column equals sum_t sum_h sum_s d*_h(s) sum_a (pi*_h - pi^t_h)(a|s) f_h(s, a),
    recomputed with explicit loops from the played policies and the phase critics, and stays
    under the exponential-weights bound."""
    mdp = _mdp(6, S=3, A=3, H=3)
    K = 60
    learner = ac.ActorCritic(mdp.S, mdp.A, mdp.H, K, bonus_scale=0.1)
    probe = ac.ActorTracking(learner, mdp)
    sol = backward_induction(mdp)
    rng = np.random.default_rng(3)
    # state distribution of pi* by explicit forward recursion
    d = np.zeros((mdp.H, mdp.S))
    d[0] = mdp.rho0
    for h in range(mdp.H - 1):
        for s in range(mdp.S):
            for a in range(mdp.A):
                d[h + 1] += d[h, s] * sol.pi[h, s, a] * mdp.P[h, s, a]
    total = 0.0
    P, r = np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.r)
    for _ in range(K):
        pi, f = probe.policy().copy(), learner.Q.copy()
        for h in range(mdp.H):
            for s in range(mdp.S):
                total += d[h, s] * sum((sol.pi[h, s, a] - pi[h, s, a]) * f[h, s, a]
                                       for a in range(mdp.A))
        s_, a_, rew = np.empty(mdp.H + 1, np.int64), np.empty(mdp.H, np.int64), np.empty(mdp.H)
        kon.sample_episode(P, r, probe.policy(), mdp.rho0, rng.random(2 * mdp.H + 1), False,
                           s_, a_, rew)
        probe.update(Episode(s_, a_, rew))
    assert probe.metrics()["actor_tracking"] == pytest.approx(total, abs=1e-10)
    assert probe.metrics()["switches"] == learner.switches
    bound = bac.actor_tracking_regret(mdp.H, mdp.A, K, learner.switches, learner.eta)
    assert total <= bound
    with pytest.raises(TypeError, match="learner"):
        ac.ActorTracking(object(), mdp)
    with pytest.raises(ValueError, match="shape"):
        ac.ActorTracking(ac.ActorCritic(2, 3, 3, 10), mdp)
