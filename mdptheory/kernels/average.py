"""Relative value iteration sweeps for the average-reward criterion (Puterman 2005, §8.5).

With the aperiodicity transformation P' = tau I + (1 - tau) P (Puterman §8.5.4; gains are
unchanged and biases scale by 1 / (1 - tau)) one sweep computes

    (T' V)(s) = max_a  r(s, a) + (1 - tau) * (P(.|s, a) . V - V(s)) + V(s)

and returns (lo, hi), the min and max of T' V - V: every sweep brackets the optimal gain,
lo <= g* <= hi (Puterman Thm 8.5.5). Rewards of -inf mark masked actions (never chosen while
another action is finite). Ties go to the lowest action index.

Shapes: P2 (S * A, S) dense rows (row s * A + a); probs, idx (S, A, m) ELL rows; r (S, A);
V, V_out (S,); act_out (S,) int64.
"""
import numpy as np
from numba import njit


@njit(inline="always")
def _finish_row(best, best_a, s, V, V_out, act_out, lo_hi):
    V_out[s] = best
    act_out[s] = best_a
    d = best - V[s]
    lo_hi[0] = min(lo_hi[0], d)
    lo_hi[1] = max(lo_hi[1], d)


@njit(cache=True)
def dense_sweep(P2, r, tau, V, V_out, act_out):
    """One sweep of T' on dense rows; returns (lo, hi) of V_out - V."""
    S, A = r.shape
    lo_hi = np.array([np.inf, -np.inf])
    for s in range(S):
        best = -np.inf
        best_a = 0
        for a in range(A):
            i = s * A + a
            pv = 0.0
            for t in range(S):
                pv += P2[i, t] * V[t]
            q = r[s, a] + (1.0 - tau) * (pv - V[s]) + V[s]
            if q > best:
                best = q
                best_a = a
        _finish_row(best, best_a, s, V, V_out, act_out, lo_hi)
    return lo_hi[0], lo_hi[1]


@njit(cache=True)
def ell_sweep(probs, idx, r, tau, V, V_out, act_out):
    """One sweep of T' on fixed-width successor lists; returns (lo, hi) of V_out - V."""
    S, A = r.shape
    lo_hi = np.array([np.inf, -np.inf])
    for s in range(S):
        best = -np.inf
        best_a = 0
        for a in range(A):
            pv = 0.0
            for j in range(probs.shape[2]):
                pv += probs[s, a, j] * V[idx[s, a, j]]
            q = r[s, a] + (1.0 - tau) * (pv - V[s]) + V[s]
            if q > best:
                best = q
                best_a = a
        _finish_row(best, best_a, s, V, V_out, act_out, lo_hi)
    return lo_hi[0], lo_hi[1]
