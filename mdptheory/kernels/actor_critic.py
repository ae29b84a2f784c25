"""Kernels of the rare-switching optimistic actor-critic (Tan, Fan & Wei
2025): the switching tests, the exponential-weights actor, and the critic's backward pass for
the variants the UCBVI kernel of :mod:`mdptheory.kernels.optimistic` does not cover.

Plain arrays in, results written into ``*_out`` arguments, no checks (callers go through
:mod:`mdptheory.algorithms.actor_critic`). Statistics are per step (G = H groups) or pooled
(G = 1); a kernel reads group ``g = h`` when G > 1 and ``g = 0`` otherwise, as in
:mod:`mdptheory.kernels.optimistic`.

Shapes
------
============  ===============  ==============================================================
name          shape            meaning
============  ===============  ==============================================================
s, a          (H + 1,), (H,)   one episode's states s_0..s_H and actions (int64)
n_sa, n_snap  (G, S, A)        visit counts now / at the last switch
f             (H, S, A)        the phase's critic f^(k)_h(s, a)
E             (H, S, A)        per-episode multipliers exp(eta (f - max_a f)) of a phase
base          (H, S, A)        logits of earlier phases (no-reset ablation)
pi_out        (H, S, A)        actor policy pi[h, s, a]
P_hat, r_hat  (G, S, A, S),    empirical model (rows with n = 0 are 0)
              (G, S, A)
succ, n_succ  (G, S, A, S),    observed successors of (s, a), increasing
              (G, S, A) int64
bonus         (G, S, A)        exploration bonus (0 for the non-optimistic critic)
v_max         (H,)             clip of f_h: H - h (the paper's H - h + 1 with 1-based h)
pi_target     (H, S, A)        the policy whose value the critic targets (``use_pi``)
V_out, Q_out  (H + 1, S),      critic values; V_out[H] = 0 preset by the caller
              (H, S, A)
phi           (S, A, d)        features; Lambda, Lambda_inv (H, d, d) Gram matrices and inverses,
                               M (H, d, S), counts (H, S), reward_sum (H, d)
============  ===============  ==============================================================
"""
import numpy as np
from numba import njit

from .linear import sherman_morrison
from .optimistic import _expect


@njit(cache=True)
def doubling_switch(s, a, n_sa, n_snap):
    """Count-doubling test after one episode: True iff some pair visited in the
    episode has n_h(s, a) >= max(1, 2 n^(k)_h(s, a)).

    Pairs not visited in the episode keep their counts, and they failed the test at the last
    check (or the switch then reset n^(k) to n), so only the H visited pairs need a look.
    """
    H = a.shape[0]
    G = n_sa.shape[0]
    for h in range(H):
        g = h if G > 1 else 0
        n = n_sa[g, s[h], a[h]]
        if n >= max(1.0, 2.0 * n_snap[g, s[h], a[h]]):
            return True
    return False


@njit(cache=True)
def actor_policy(base, f, coef, use_base, pi_out):
    """Closed form of the exponential weights: pi_out[h, s, :] = softmax(base[h, s, :] +
    coef f[h, s, :]) (``use_base``) or softmax(coef f[h, s, :]), stabilised by the row maximum.
    coef = eta (t - t_k); coef = 0 (and no base) gives the uniform policy. ``base`` holds the
    logits of earlier phases when the actor is not reset (ablation a).
    """
    H, S, A = f.shape
    z = np.empty(A)
    for h in range(H):
        for s in range(S):
            m = -np.inf
            for a in range(A):
                v = coef * f[h, s, a]
                if use_base:
                    v += base[h, s, a]
                z[a] = v
                m = max(m, v)
            tot = 0.0
            for a in range(A):
                e = np.exp(z[a] - m)
                z[a] = e
                tot += e
            inv = 1.0 / tot
            for a in range(A):
                pi_out[h, s, a] = z[a] * inv


@njit(cache=True)
def phase_multipliers(f, eta, E_out):
    """E_out[h, s, a] = exp(eta (f[h, s, a] - max_a' f[h, s, a'])) in (0, 1]: the per-episode
    multiplier of the exponential-weights actor in a phase with critic f (computed once per
    phase, so an actor step needs no exponential)."""
    H, S, A = f.shape
    for h in range(H):
        for s in range(S):
            m = f[h, s, 0]
            for a in range(1, A):
                m = max(m, f[h, s, a])
            for a in range(A):
                E_out[h, s, a] = np.exp(eta * (f[h, s, a] - m))


@njit(cache=True)
def actor_step(pi, E, pi_out):
    """One exponential-weights step pi_out ∝ pi * E per (h, s) row (
    pi^{t+1} ∝ pi^t exp(eta f^(k)); E from :func:`phase_multipliers`). Entries that fall below
    1e-300 of their row are set to 0 (no subnormal arithmetic; they are exp(-690) and below).
    Returns True when pi_out equals pi exactly (a saturated, deterministic actor)."""
    H, S, A = pi.shape
    same = True
    for h in range(H):
        for s in range(S):
            tot = 0.0
            for a in range(A):
                w = pi[h, s, a] * E[h, s, a]
                pi_out[h, s, a] = w
                tot += w
            inv = 1.0 / tot
            for a in range(A):
                w = pi_out[h, s, a] * inv
                if w < 1e-300:
                    w = 0.0
                pi_out[h, s, a] = w
                if w != pi[h, s, a]:
                    same = False
    return same


@njit(cache=True)
def greedy_uniform_policy(f, pi_out):
    """pi_out[h, s, :] uniform over argmax_a f[h, s, a] (exact ties): the eta -> inf limit of
    the softmax actor."""
    H, S, A = f.shape
    for h in range(H):
        for s in range(S):
            m = f[h, s, 0]
            for a in range(1, A):
                m = max(m, f[h, s, a])
            cnt = 0
            for a in range(A):
                if f[h, s, a] == m:
                    cnt += 1
            w = 1.0 / cnt
            for a in range(A):
                pi_out[h, s, a] = w if f[h, s, a] == m else 0.0


@njit(cache=True)
def critic_backward_induction(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, unvisited,
                              pi_target, use_pi, V_out, Q_out):
    """The critic's backward pass in every variant:

        Q_h(s, a) = min(v_max[h], max(0, r_hat + P_hat(.|s,a) . V_{h+1} + bonus))  if n > 0,
                    unvisited[h]                                                 if n = 0,
        V_h(s)    = max_a Q_h(s, a)                       (target Q*: Bellman optimality)
                  = sum_a pi_target[h, s, a] Q_h(s, a)    (``use_pi``: target Q^pi, ablation c)

    With the tabular bonus and unvisited = v_max this is the optimistic Q*-critic (the same
    numbers as :func:`mdptheory.kernels.optimistic.optimistic_backward_induction` without
    ``monotone``); with bonus 0 and unvisited = 0 it is the non-optimistic empirical-model VI of
    the non-optimistic variant. P_hat V is summed over the observed successors.
    """
    H = Q_out.shape[0]
    S = Q_out.shape[1]
    A = Q_out.shape[2]
    G = n_sa.shape[0]
    for h in range(H - 1, -1, -1):
        g = h if G > 1 else 0
        cap = v_max[h]
        v_next = V_out[h + 1]
        for s in range(S):
            best = -np.inf
            avg = 0.0
            for a in range(A):
                if n_sa[g, s, a] > 0.0:
                    q = r_hat[g, s, a] + bonus[g, s, a]
                    q += _expect(P_hat, succ, n_succ, g, s, a, v_next)
                    q = min(max(q, 0.0), cap)
                else:
                    q = unvisited[h]
                Q_out[h, s, a] = q
                best = max(best, q)
                if use_pi:
                    avg += pi_target[h, s, a] * q
            V_out[h, s] = avg if use_pi else best


@njit(cache=True)
def ridge_episode_update(phi, s, a, r, Lambda, Lambda_inv, M, counts, reward_sum, quad_out):
    """Add one episode to per-step ridge statistics in one compiled pass (the statistics of
    :class:`mdptheory.algorithms.linear_estimation.OnlineRidge`, whose ``update`` is a Python
    loop over h): for each h with x = phi(s_h, a_h),

        quad_out[h] = x^T Lambda_inv[h] x   (before the update; log(1 + quad) is the increase of
                                             log det Lambda_h, matrix determinant lemma)
        Lambda[h] += x x^T,  Lambda_inv[h] by Sherman-Morrison (the shared kernel
        :func:`mdptheory.kernels.linear.sherman_morrison`),  M[h, :, s_{h+1}] += x,
        counts[h, s_{h+1}] += 1,  reward_sum[h] += x r_h.
    """
    H = a.shape[0]
    d = phi.shape[2]
    for h in range(H):
        x = phi[s[h], a[h]]
        quad_out[h] = sherman_morrison(Lambda_inv[h], x, 1.0)
        nxt = s[h + 1]
        for i in range(d):
            for j in range(d):
                Lambda[h, i, j] += x[i] * x[j]
            M[h, i, nxt] += x[i]
            reward_sum[h, i] += x[i] * r[h]
        counts[h, nxt] += 1.0
