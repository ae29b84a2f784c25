"""Optimistic planning for UCBVI-type learners (Azar, Osband & Munos 2017), as numba kernels.

Plain arrays in, results written into ``*_out`` (or in-place statistics) arguments, no checks.
Statistics are kept either per step (G = H groups) or pooled over steps (G = 1 group); a kernel
reads group ``g = h`` when G > 1 and ``g = 0`` otherwise.

Shapes
------
=============  ==============  ================================================================
name           shape           meaning
=============  ==============  ================================================================
s, a, r        (H+1,),(H,),(H,) one episode: states s_0..s_H, actions, rewards
n_sa           (G, S, A)       visits of (s, a) (at step h when G = H)
n_sas          (G, S, A, S)    transitions (s, a) -> s'
r_sum          (G, S, A)       summed observed rewards
n_s            (H + 1, S)      visits of state s at step h (h = H counts the final state);
                               the paper's N'_{k,h}(y) summed over actions
P_hat, r_hat   (G, S, A, S),   empirical model, refreshed row by row as episodes arrive;
               (G, S, A)       rows never visited stay 0
succ, n_succ   (G, S, A, S),   observed next states of (s, a), sorted, in
               (G, S, A) int64 succ[g, s, a, :n_succ[g, s, a]] (sparse rows of P_hat)
bonus          (G, S, A)       exploration bonus b(s, a) (Hoeffding kernel)
v_max          (H,)            clip of Q_h (H - h for rewards in [0, 1], 0-based h)
V_out          (H + 1, S)      optimistic values, V_out[H] = 0 preset by the caller
Q_out          (H, S, A)       optimistic Q; holds Q_{k-1} on entry when ``monotone``
act            (H, S) int64    greedy action; updated in place. Ties go to the action with
                               the fewest visits n(s, a), then to the lowest index
b_out          (H, S, A)       the Bernstein bonus used at step h (Bernstein kernel)
=============  ==============  ================================================================
"""
import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def record_episode(s, a, r, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, pmark=None):
    """Add one episode to the counts and refresh the H rows of (P_hat, r_hat) it touched.

    P_hat[g, s, a, :] = n_sas[g, s, a, :] / n_sa[g, s, a],  r_hat[g, s, a] = r_sum / n_sa.
    A next state seen for the first time from (g, s, a) is inserted into the sorted successor
    list succ[g, s, a, :n_succ[g, s, a]]. A row is rewritten on its successor list only: an entry
    off the list has n_sas = 0, so the dense refresh would write 0 * (1 / n) = 0.0 there, which
    is what it already holds (P_hat starts at 0 and such an entry was never written). Cost
    O(H x successors) per episode, whatever the number of states.

    The rows are refreshed after all the counts (a refresh is a function of the final counts
    only). With pooled counts (G = 1) a pair repeated at the next step is refreshed once
    there, and with ``pmark`` (S, A) uint8 zeros (left zero) every distinct pair is refreshed
    once (the grid's episodes visit ~5 distinct pairs in 20 steps).
    """
    H = a.shape[0]
    G = n_sa.shape[0]
    for h in range(H):
        g = h if G > 1 else 0
        st = s[h]
        at = a[h]
        nx = s[h + 1]
        n_sa[g, st, at] += 1.0
        if n_sas[g, st, at, nx] == 0.0:
            m = n_succ[g, st, at]
            while m > 0 and succ[g, st, at, m - 1] > nx:
                succ[g, st, at, m] = succ[g, st, at, m - 1]
                m -= 1
            succ[g, st, at, m] = nx
            n_succ[g, st, at] += 1
        n_sas[g, st, at, nx] += 1.0
        r_sum[g, st, at] += r[h]
        n_s[h, st] += 1.0
    n_s[H, s[H]] += 1.0
    for h in range(H):
        g = h if G > 1 else 0
        st = s[h]
        at = a[h]
        if G == 1:
            if pmark is not None:
                if pmark[st, at] != 0:
                    continue
                pmark[st, at] = 1
            elif h + 1 < H and s[h + 1] == st and a[h + 1] == at:
                continue
        inv = 1.0 / n_sa[g, st, at]
        for i in range(n_succ[g, st, at]):       # the other entries are 0 * inv = 0 already
            t = succ[g, st, at, i]
            P_hat[g, st, at, t] = n_sas[g, st, at, t] * inv
        r_hat[g, st, at] = r_sum[g, st, at] * inv
    if G == 1 and pmark is not None:
        for h in range(H):
            pmark[s[h], a[h]] = 0


@njit(cache=True)
def record_episodes(s, a, r, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ):
    """:func:`record_episode` for N episodes s (N, H + 1), a (N, H), r (N, H)."""
    for i in range(a.shape[0]):
        record_episode(s[i], a[i], r[i], n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ)


@njit(cache=True)
def hoeffding_bonus(n, H, L, c):
    """UCBVI-CH bonus c H L sqrt(1 / n) for one visited pair (n >= 1); the paper's c is 7."""
    return c * H * L / np.sqrt(n)


@njit(cache=True, inline="always")
def refresh_hoeffding_bonus(s, a, n_sa, coef, bonus):
    """bonus[g, s_h, a_h] = hoeffding_bonus(n_sa[g, s_h, a_h]) with c H L = coef, for the H
    pairs of one episode (call after :func:`record_episode`); other entries are unchanged."""
    H = a.shape[0]
    G = n_sa.shape[0]
    for h in range(H):
        g = h if G > 1 else 0
        bonus[g, s[h], a[h]] = coef / np.sqrt(n_sa[g, s[h], a[h]])


@njit(cache=True)
def bernstein_bonus(p, v_next, w_next, n, H, L):
    """UCBVI-BF bonus for one visited pair (n >= 1):

        sqrt(8 L Var_{y~p}(V_{h+1}(y)) / n) + 14 H L / (3 n) + sqrt(8 sum_y p(y) w_{h+1}(y) / n)

    with ``w_next[y] = min(c' H^3 S^2 A L^2 / N'_{h+1}(y), H^2)`` precomputed by the caller
    (H^2 where N' = 0). p (S,) is P_hat(. | s, a), v_next (S,) is V_{h+1}.
    """
    m1 = 0.0
    corr = 0.0
    for y in range(p.shape[0]):
        if p[y] != 0.0:
            m1 += p[y] * v_next[y]
            corr += p[y] * w_next[y]
    var = 0.0
    for y in range(p.shape[0]):
        if p[y] != 0.0:
            d = v_next[y] - m1
            var += p[y] * d * d
    return np.sqrt(8.0 * L * var / n) + 14.0 * H * L / (3.0 * n) + np.sqrt(8.0 * corr / n)


@njit(cache=True)
def _greedy_step(Q_out, n_sa, g, act, h, s, A):
    """argmax_a Q_out[h, s, a]; ties -> fewest visits n_sa[g, s, a], then lowest index.

    Returns (max, changed) and writes the action into act[h, s].
    """
    best = Q_out[h, s, 0]
    arg = 0
    for a in range(1, A):
        q = Q_out[h, s, a]
        if q > best or (q == best and n_sa[g, s, a] < n_sa[g, s, arg]):
            best = q
            arg = a
    changed = 0
    if act[h, s] != arg:
        act[h, s] = arg
        changed = 1
    return best, changed


@njit(cache=True)
def _expect(P_hat, succ, n_succ, g, s, a, v):
    """sum_t P_hat[g, s, a, t] v[t] over the observed successors (increasing t): the same sum,
    term for term, as the dense loop without its zero terms."""
    q = 0.0
    for i in range(n_succ[g, s, a]):
        t = succ[g, s, a, i]
        q += P_hat[g, s, a, t] * v[t]
    return q


@njit(cache=True)
def optimistic_backward_induction(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, monotone,
                                  V_out, Q_out, act):
    """Optimistic backward induction with a given bonus (UCBVI-CH, Azar et al. 2017, Alg. 2):

        Q_h(s,a) = min(Q_prev_h(s,a), v_max[h], r_hat(s,a) + P_hat(.|s,a) . V_{h+1} + b(s,a))
                   if n(s, a) > 0, else v_max[h];        V_h(s) = max_a Q_h(s, a).

    ``Q_prev`` is Q_out on entry and only enters when ``monotone``. P_hat V is summed over the
    successor lists (succ, n_succ), so a plan costs O(H S A x successors). Updates the greedy
    actions ``act`` in place and returns how many (h, s) changed their action.
    """
    H = Q_out.shape[0]
    S = Q_out.shape[1]
    A = Q_out.shape[2]
    G = n_sa.shape[0]
    changed = 0
    for h in range(H - 1, -1, -1):
        g = h if G > 1 else 0
        cap = v_max[h]
        v_next = V_out[h + 1]
        for s in range(S):
            for a in range(A):
                if n_sa[g, s, a] > 0.0:
                    q = r_hat[g, s, a] + bonus[g, s, a]
                    q += _expect(P_hat, succ, n_succ, g, s, a, v_next)
                    q = min(q, cap)
                else:
                    q = cap
                if monotone and Q_out[h, s, a] < q:
                    q = Q_out[h, s, a]
                Q_out[h, s, a] = q
            best, c = _greedy_step(Q_out, n_sa, g, act, h, s, A)
            V_out[h, s] = best
            changed += c
    return changed


@njit(cache=True)
def optimistic_backward_induction_bernstein(P_hat, r_hat, n_sa, succ, n_succ, n_s, H_bonus, L,
                                            c_corr, scale, v_max, monotone, V_out, Q_out, act,
                                            b_out):
    """Optimistic backward induction with the UCBVI-BF bonus (Azar et al. 2017, Alg. 2 + 4).

    The bonus at step h reads V_{h+1} of this same pass, so it is computed here:
    b_h(s,a) = scale * bernstein_bonus(P_hat(.|s,a), V_{h+1}, w_{h+1}, n(s,a), H_bonus, L) with
    w_{h+1}(y) = min(c_corr / N'_{h+1}(y), H_bonus^2) and N'_{h+1}(y) = n_s[h + 1, y]
    (c_corr = 100^2 H^3 S^2 A L^2 in the paper). Sums run over the successor lists. Clipping,
    ``monotone`` and the return value as in :func:`optimistic_backward_induction`;
    b_out[h, s, a] receives the bonus (0 where n(s, a) = 0).
    """
    H = Q_out.shape[0]
    S = Q_out.shape[1]
    A = Q_out.shape[2]
    G = n_sa.shape[0]
    H2 = H_bonus * H_bonus
    w = np.empty(S)
    changed = 0
    for h in range(H - 1, -1, -1):
        g = h if G > 1 else 0
        cap = v_max[h]
        for y in range(S):
            m = n_s[h + 1, y]
            if m > 0.0:
                w[y] = min(c_corr / m, H2)
            else:
                w[y] = H2
        v_next = V_out[h + 1]
        for s in range(S):
            for a in range(A):
                n = n_sa[g, s, a]
                if n > 0.0:
                    m1 = 0.0
                    corr = 0.0
                    for i in range(n_succ[g, s, a]):
                        t = succ[g, s, a, i]
                        p = P_hat[g, s, a, t]
                        m1 += p * v_next[t]
                        corr += p * w[t]
                    var = 0.0                      # two-pass: no cancellation when V is flat
                    for i in range(n_succ[g, s, a]):
                        t = succ[g, s, a, i]
                        d = v_next[t] - m1
                        var += P_hat[g, s, a, t] * d * d
                    b = scale * (np.sqrt(8.0 * L * var / n) + 14.0 * H_bonus * L / (3.0 * n)
                                 + np.sqrt(8.0 * corr / n))
                    b_out[h, s, a] = b
                    q = r_hat[g, s, a] + b + m1
                    q = min(q, cap)
                else:
                    b_out[h, s, a] = 0.0
                    q = cap
                if monotone and Q_out[h, s, a] < q:
                    q = Q_out[h, s, a]
                Q_out[h, s, a] = q
            best, c = _greedy_step(Q_out, n_sa, g, act, h, s, A)
            V_out[h, s] = best
            changed += c
    return changed


@njit(cache=True)
def one_hot(act, A, pi_out):
    """pi_out[h, s, :] = e_{act[h, s]}; pi_out (H, S, A)."""
    H, S = act.shape
    for h in range(H):
        for s in range(S):
            for a in range(A):
                pi_out[h, s, a] = 0.0
            pi_out[h, s, act[h, s]] = 1.0
