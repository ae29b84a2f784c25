"""Finite-horizon Bellman recursions on dense arrays.

Shapes: P (H, S, A, S) (zero-stride stationary views accepted), r (H, S, A), pi (H, S, A),
V (H + 1, S) with V[H] preset by the caller (the terminal values, normally 0), Q (H, S, A).
``gamma`` (default 1) discounts each step: Q_h = r_h + gamma P_h V_{h+1}; with gamma = 1 the
sums are formed exactly as without it. Ties in the max go to the lowest action index; a reward
of -inf (a masked action) gives Q = -inf, which no max picks while another action is finite.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def _q_row(P, r, V_next, h, s, Q_out, gamma):
    """Q_h(s, .) = r_h(s, .) + gamma P_h(.|s, .) V_{h+1}, written into Q_out[h, s]."""
    A = P.shape[2]
    S = P.shape[3]
    for a in range(A):
        if gamma == 1.0:
            q = r[h, s, a]
            for t in range(S):
                q += P[h, s, a, t] * V_next[t]
        else:
            q = 0.0
            for t in range(S):
                q += P[h, s, a, t] * V_next[t]
            q = r[h, s, a] + gamma * q
        Q_out[h, s, a] = q


@njit(cache=True)
def backward_induction(P, r, V_out, Q_out, gamma=1.0):
    """Q_h(s,a) = r_h(s,a) + sum_s' P_h(s'|s,a) V_{h+1}(s');  V_h(s) = max_a Q_h(s,a)."""
    H, S, A, _ = P.shape
    for h in range(H - 1, -1, -1):
        for s in range(S):
            _q_row(P, r, V_out[h + 1], h, s, Q_out, gamma)
            best = -np.inf
            for a in range(A):
                if Q_out[h, s, a] > best:
                    best = Q_out[h, s, a]
            V_out[h, s] = best


@njit(cache=True)
def evaluate_policy(P, r, pi, V_out, Q_out, gamma=1.0):
    """Q^pi_h(s,a) = r_h(s,a) + P_h V^pi_{h+1}(s,a);  V^pi_h(s) = sum_a pi_h(a|s) Q^pi_h(s,a)."""
    H, S, A, _ = P.shape
    for h in range(H - 1, -1, -1):
        for s in range(S):
            _q_row(P, r, V_out[h + 1], h, s, Q_out, gamma)
            v = 0.0
            for a in range(A):
                v += pi[h, s, a] * Q_out[h, s, a]
            V_out[h, s] = v


_SERIES = 2.0**-26    # span(Q)/lam below this: V = E_ref Q + Var_ref Q / (2 lam) (next term < 1e-17)
_EXPM1 = 0.5          # span(Q)/lam below this: lam log1p(E_ref expm1(.)) (log z ~ 1 loses lam ulp)


@njit(cache=True)
def _soft_value(Q_hs, ref_hs, lam):
    """lam log sum_a ref(a) exp(Q(a)/lam), clamped to [sum_a ref(a) Q(a), max_{ref > 0} Q]
    (the value of ref and the hard optimum: the soft value lies between them; the lower end
    is summed as in evaluate_policy, so V^ref <= V_lam <= V* also holds in floating point).
    span(Q)/lam small: log1p / expm1 or the expansion in 1/lam (log z rounds to 0 there)."""
    A = Q_hs.shape[0]
    m = -np.inf
    lo = np.inf
    mean = 0.0
    total = 0.0
    for a in range(A):
        mean += ref_hs[a] * Q_hs[a]
        if ref_hs[a] > 0.0:
            total += ref_hs[a]
            m = max(m, Q_hs[a])
            lo = min(lo, Q_hs[a])
    spread = m - lo
    if spread <= _SERIES * lam:
        mean_d = 0.0
        for a in range(A):
            if ref_hs[a] > 0.0:
                mean_d += ref_hs[a] * (Q_hs[a] - m)
        mean_d /= total
        var = 0.0
        for a in range(A):
            if ref_hs[a] > 0.0:
                dev = (Q_hs[a] - m) - mean_d
                var += ref_hs[a] * dev * dev
        value = m + (mean_d + 0.5 * (var / total) / lam)
    elif spread < _EXPM1 * lam:
        acc = 0.0
        for a in range(A):
            if ref_hs[a] > 0.0:
                acc += ref_hs[a] * np.expm1((Q_hs[a] - m) / lam)
        value = m + lam * np.log1p(acc / total)
    else:
        z = 0.0
        for a in range(A):
            if ref_hs[a] > 0.0:
                z += ref_hs[a] * np.exp((Q_hs[a] - m) / lam)
        value = m + lam * np.log(z / total)
    return min(max(value, mean), m)


@njit(cache=True)
def soft_backward_induction(P, r, ref, lam, V_out, Q_out, pi_out, gamma=1.0):
    """KL-regularised backup towards a reference policy ref[h, s, a] with weight lam > 0:

    V_h(s) = lam log sum_a ref_h(a|s) exp(Q_h(s,a) / lam)
           = max_pi sum_a pi(a) Q_h(s,a) - lam KL(pi || ref_h(.|s)),
    pi_h(a|s) proportional to ref_h(a|s) exp(Q_h(s,a) / lam)   (log-sum-exp shifted by max Q).
    Actions with ref = 0 get probability 0. V by _soft_value (exact for every lam in (0, inf]).
    """
    H, S, A, _ = P.shape
    for h in range(H - 1, -1, -1):
        for s in range(S):
            _q_row(P, r, V_out[h + 1], h, s, Q_out, gamma)
            m = -np.inf
            for a in range(A):
                if ref[h, s, a] > 0.0 and Q_out[h, s, a] > m:
                    m = Q_out[h, s, a]
            z = 0.0
            for a in range(A):
                if ref[h, s, a] > 0.0:
                    w = ref[h, s, a] * np.exp((Q_out[h, s, a] - m) / lam)
                    pi_out[h, s, a] = w
                    z += w
                else:
                    pi_out[h, s, a] = 0.0
            for a in range(A):
                pi_out[h, s, a] /= z
            V_out[h, s] = _soft_value(Q_out[h, s], ref[h, s], lam)


@njit(cache=True)
def soft_evaluate_policy(P, r, pi, ref, lam, V_out, Q_out, gamma=1.0):
    """V^pi_h(s) = sum_a pi(a|s) Q^pi_h(s,a) - lam KL(pi_h(.|s) || ref_h(.|s))."""
    H, S, A, _ = P.shape
    for h in range(H - 1, -1, -1):
        for s in range(S):
            _q_row(P, r, V_out[h + 1], h, s, Q_out, gamma)
            v = 0.0
            for a in range(A):
                q = Q_out[h, s, a]
                p = pi[h, s, a]
                if p > 0.0:
                    v += p * q
                    if ref[h, s, a] > 0.0:
                        v -= lam * p * np.log(p / ref[h, s, a])
                    else:
                        v = -np.inf
            V_out[h, s] = v


@njit(cache=True)
def occupancy(P, pi, rho0, d_out):
    """Forward occupancy d_h(s, a) = Pr(s_h = s, a_h = a) under pi from rho0; d_out (H, S, A)."""
    H, S, A, _ = P.shape
    mu = rho0.copy()
    nxt = np.empty(S)
    for h in range(H):
        nxt[:] = 0.0
        for s in range(S):
            ms = mu[s]
            for a in range(A):
                w = ms * pi[h, s, a]
                d_out[h, s, a] = w
                if w != 0.0:
                    for t in range(S):
                        nxt[t] += w * P[h, s, a, t]
        mu[:] = nxt
