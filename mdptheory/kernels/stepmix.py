"""Kernels of the conservative learners StepMix / EpsMix (our reconstruction, see
docs/papers/stepmix.md).

The optimistic backward pass is the engine's (:func:`mdptheory.kernels.optimistic.
optimistic_backward_induction`); what is new here is *evaluation with a signed bonus* of a whole
family of mixture policies at once, which is what the mixing-coefficient search needs:

    Q_h^m(s, a) = clip(r_hat_h(s, a) + sign * b_h(s, a) + sum_s' P_hat_h(s'|s, a) V_{h+1}^m(s'),
                       0, v_max[h])                     if n_h(s, a) > 0,
                = (v_max[h] if sign > 0 else 0)         if n_h(s, a) = 0,
    V_h^m(s)    = W[h, m] Q_h^m(s, act[h, s]) + (1 - W[h, m]) sum_a pi_b[h, s, a] Q_h^m(s, a),

for every candidate m at once (sign = -1: the pessimistic value of the learners; sign = +1: an
upper confidence value of a fixed policy). Member m of the family plays the optimistic action
act[h, s] with probability W[h, m] and a baseline action otherwise, at every step: W[h, m] = rho_m
for the per-step mixture, W[h, m] = clip(t_m - h, 0, 1) for the switch-step one. The candidate
axis m is the innermost (contiguous) one, so each read of a successor probability is reused by
all M candidates and the loops over m vectorise.

Plain arrays in, results written into ``*_out`` / work arguments, no checks (callers validate).

Shapes
------
===========  ===============  ===========================================================
name         shape            meaning
===========  ===============  ===========================================================
P_hat        (G, S, A, S)     empirical model (G = H: per-step statistics)
r_hat        (G, S, A)        empirical mean rewards
n_sa         (G, S, A)        visit counts
succ, n_succ (G, S, A, S),    observed successors of each pair (sorted), as in
             (G, S, A) int64  :mod:`mdptheory.kernels.optimistic`
bonus        (G, S, A)        b_h(s, a) (entries of unvisited pairs are ignored)
v_max        (H,)             value cap of step h (H - h, 0-based)
act          (H, S) int64     optimistic (greedy) action
pi_b         (H, S, A)        baseline policy
W, W_hi      (H, M)           probability of the optimistic action at step h, candidate m
                              (W_hi = W for values; W <= W_hi for upper bounds over intervals)
rho0         (S,)             initial distribution
V_a, V_b     (S, M)           work arrays
q, qo, acc   (M,)             work arrays
out          (M,)             rho0 . V_0^m
===========  ===============  ===========================================================
"""
import numpy as np
from numba import njit


@njit(cache=True)
def refresh_bonus(s, a, n_sa, coef, bonus):
    """bonus[h, s_h, a_h] = coef[h] / sqrt(n_sa[h, s_h, a_h]) for the H pairs of one episode
    (per-step statistics; call after the counts were updated). Other entries are unchanged."""
    H = a.shape[0]
    for h in range(H):
        bonus[h, s[h], a[h]] = coef[h] / np.sqrt(n_sa[h, s[h], a[h]])


@njit(cache=True)
def fill_bonus(n_sa, coef, bonus):
    """bonus[h, s, a] = coef[h] / sqrt(n) where n = n_sa[h, s, a] > 0 (others left as they are)."""
    H, S, A = n_sa.shape
    for h in range(H):
        for s in range(S):
            for a in range(A):
                n = n_sa[h, s, a]
                if n > 0.0:
                    bonus[h, s, a] = coef[h] / np.sqrt(n)


@njit(cache=True)
def mixture_values(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, sign, act, pi_b, W, W_hi,
                   rho0, V_a, V_b, q, qo, acc, out):
    """rho0 . V_0^m of every mixture m (module docstring) under the signed bonus; out (M,).

    With ``W_hi`` the same array as ``W`` this is the value of mixture m. With W <= W_hi it is an
    upper bound (for sign = -1: on the pessimistic value) valid for every mixture whose weights
    lie between them at every step: the backup takes, state by state, the larger of the two
    endpoint mixtures, V_h^m(s) = max over w in {W[h, m], W_hi[h, m]} of
    (1 - w) sum_a pi_b Q + w Q(act) (linear in w, so the max over the interval is at an
    endpoint; monotonicity of the backup carries it down the steps). A switch-step family is
    monotone in u at every step, so the weights of u in [u_lo, u_hi] lie between those of the
    endpoints.

    Actions outside the baseline's support are skipped except the optimistic one, and the
    baseline's actions are skipped at a step where every weight is 1 (the optimistic policy
    alone), so evaluating the optimistic policy costs O(H S B) and the whole family
    O(H S |supp pi_b| B M).
    """
    H = act.shape[0]
    S = act.shape[1]
    A = pi_b.shape[2]
    M = W.shape[1]
    G = n_sa.shape[0]
    V_next = V_a
    V_cur = V_b
    for s in range(S):
        for m in range(M):
            V_next[s, m] = 0.0
    for h in range(H - 1, -1, -1):
        g = h if G > 1 else 0
        cap = v_max[h]
        need_base = False
        need_opt = False
        for m in range(M):
            if W[h, m] < 1.0 or W_hi[h, m] < 1.0:
                need_base = True
            if W[h, m] > 0.0 or W_hi[h, m] > 0.0:
                need_opt = True
        for s in range(S):
            ao = act[h, s]
            for m in range(M):
                acc[m] = 0.0
                qo[m] = 0.0
            for a in range(A):
                wb = pi_b[h, s, a] if need_base else 0.0
                is_opt = need_opt and a == ao
                if wb == 0.0 and not is_opt:
                    continue
                n = n_sa[g, s, a]
                if n > 0.0:
                    base = r_hat[g, s, a] + sign * bonus[g, s, a]
                    for m in range(M):
                        q[m] = base
                    for i in range(n_succ[g, s, a]):
                        t = succ[g, s, a, i]
                        p = P_hat[g, s, a, t]
                        for m in range(M):
                            q[m] += p * V_next[t, m]
                    for m in range(M):
                        q[m] = min(max(q[m], 0.0), cap)
                else:
                    fill = cap if sign > 0.0 else 0.0
                    for m in range(M):
                        q[m] = fill
                if wb != 0.0:
                    for m in range(M):
                        acc[m] += wb * q[m]
                if is_opt:
                    for m in range(M):
                        qo[m] = q[m]
            for m in range(M):
                w = W[h, m]
                v = (1.0 - w) * acc[m] + w * qo[m]
                w = W_hi[h, m]
                v2 = (1.0 - w) * acc[m] + w * qo[m]
                V_cur[s, m] = max(v, v2)
        tmp = V_next
        V_next = V_cur
        V_cur = tmp
    for m in range(M):
        tot = 0.0
        for s in range(S):
            tot += rho0[s] * V_next[s, m]
        out[m] = tot


@njit(cache=True)
def search_prelude(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, act, pi_b, w_top, rho0,
                   V_a, V_b):
    """The three pessimistic numbers every search starts with, in one pass (sign = -1):

        (g(1), an upper bound on g over u in [0, u_top], g(0)),

    i.e. :func:`mixture_values` with the columns W = (1, 0, 0), W_hi = (1, w_top, 0), where
    w_top (H,) holds the weights of u_top at each step; bit for bit the same numbers, with
    scalar loops instead of candidate loops. V_a, V_b (S, 3) work arrays.
    """
    H = act.shape[0]
    S = act.shape[1]
    A = pi_b.shape[2]
    G = n_sa.shape[0]
    V_next = V_a
    V_cur = V_b
    for s in range(S):
        V_next[s, 0] = 0.0
        V_next[s, 1] = 0.0
        V_next[s, 2] = 0.0
    for h in range(H - 1, -1, -1):
        g = h if G > 1 else 0
        cap = v_max[h]
        w = w_top[h]
        for s in range(S):
            ao = act[h, s]
            q1 = 0.0
            qo = 0.0
            accb = 0.0
            acc0 = 0.0
            for a in range(A):
                wb = pi_b[h, s, a]
                is_opt = a == ao
                if wb == 0.0 and not is_opt:
                    continue
                x1 = 0.0
                xb = 0.0
                x0 = 0.0
                if n_sa[g, s, a] > 0.0:
                    base = r_hat[g, s, a] + -1.0 * bonus[g, s, a]
                    x1 = base
                    xb = base
                    x0 = base
                    for i in range(n_succ[g, s, a]):
                        t = succ[g, s, a, i]
                        p = P_hat[g, s, a, t]
                        x1 += p * V_next[t, 0]
                        xb += p * V_next[t, 1]
                        x0 += p * V_next[t, 2]
                    x1 = min(max(x1, 0.0), cap)
                    xb = min(max(xb, 0.0), cap)
                    x0 = min(max(x0, 0.0), cap)
                if wb != 0.0:
                    accb += wb * xb
                    acc0 += wb * x0
                if is_opt:
                    q1 = x1
                    qo = xb
            V_cur[s, 0] = (1.0 - 1.0) * 0.0 + 1.0 * q1
            v = (1.0 - 0.0) * accb + 0.0 * qo
            v2 = (1.0 - w) * accb + w * qo
            V_cur[s, 1] = max(v, v2)
            V_cur[s, 2] = (1.0 - 0.0) * acc0 + 0.0 * 0.0
        tmp = V_next
        V_next = V_cur
        V_cur = tmp
    t1 = 0.0
    tb = 0.0
    t0 = 0.0
    for s in range(S):
        t1 += rho0[s] * V_next[s, 0]
        tb += rho0[s] * V_next[s, 1]
        t0 += rho0[s] * V_next[s, 2]
    return t1, tb, t0


@njit(cache=True)
def mixture_policy(act, pi_b, w, pi_out):
    """pi_out[h, s, :] = (1 - w[h]) pi_b[h, s, :] + w[h] e_{act[h, s]}; w (H,), pi_out (H, S, A).

    w[h] = 0 copies the baseline row and w[h] = 1 gives the one-hot optimistic row exactly.
    """
    H, S, A = pi_b.shape
    for h in range(H):
        wh = w[h]
        for s in range(S):
            for a in range(A):
                pi_out[h, s, a] = (1.0 - wh) * pi_b[h, s, a]
            pi_out[h, s, act[h, s]] += wh


@njit(cache=True)
def lcb_backward_induction(P_hat, r_hat, n_sa, succ, n_succ, bonus, V_out, Q_out, act_out):
    """Pessimistic planning (VI-LCB / PEVI form) on per-step statistics:

        Q_h(s, a) = max(0, r_hat + P_hat V_{h+1} - b) if n_h(s, a) > 0 else 0,
        V_h(s) = max_a Q_h(s, a),  act_out[h, s] = argmax (ties -> lowest index).

    V_out (H + 1, S) with V_out[H] = 0 preset, Q_out (H, S, A), act_out (H, S) int64.
    """
    H = Q_out.shape[0]
    S = Q_out.shape[1]
    A = Q_out.shape[2]
    for h in range(H - 1, -1, -1):
        for s in range(S):
            best = -1.0
            arg = 0
            for a in range(A):
                q = 0.0
                if n_sa[h, s, a] > 0.0:
                    q = r_hat[h, s, a] - bonus[h, s, a]
                    for i in range(n_succ[h, s, a]):
                        t = succ[h, s, a, i]
                        q += P_hat[h, s, a, t] * V_out[h + 1, t]
                    q = max(q, 0.0)
                Q_out[h, s, a] = q
                if q > best:
                    best = q
                    arg = a
            V_out[h, s] = best
            act_out[h, s] = arg
