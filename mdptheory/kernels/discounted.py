"""Discounted Bellman backups on dense and fixed-width sparse (ELL) transition arrays.

All functions here are numba kernels: plain float64/int arrays in, results written into the
``*_out`` arguments, no validation (callers go through :mod:`mdptheory.solvers.discounted`).

Shapes
------
P2          (S * A, S)   C-contiguous view of a dense P[s, a, s'] (row ``s * A + a``)
probs, idx  (S, A, m)    ELL layout: P(idx[s, a, j] | s, a) = probs[s, a, j]; padding has prob 0
r           (S, A)       rewards (r1, Q1: the flat (S * A,) views);  Q (S, A);  V (S,)
act         (S,)         int64 actions of a deterministic policy
p, ix, rp   (S, m), (S,) the rows of one deterministic policy, extracted from an ELL layout
pi          (S, A)       stochastic policy, rows sum to 1

Backups that produce a new value vector ``V_out`` from ``V`` also return ``(lo, hi)``, the
minimum and maximum of ``V_out - V``: the span used by MacQueen's bounds

    V_out + gamma / (1 - gamma) * lo  <=  V*  <=  V_out + gamma / (1 - gamma) * hi

(Puterman 2005, Thm 6.6.6) costs no extra pass over memory. Ties in every max go to the lowest
action index, as in :func:`mdptheory.models.policies.greedy`.

Performance (DESIGN.md, "Performance notes"): a dense backup is bound by memory bandwidth.
:func:`dense_q` reads four rows of ``P2`` per pass over ``V`` (``V`` stays in L1), which keeps
two cores streaming; the solver layer picks it or a BLAS gemv by size. Sums may be reassociated
(``fastmath`` reassoc/contract only: no assumptions about NaN or infinity), so compiled results
equal ``.py_func`` up to rounding (~1e-15 relative), not bit for bit.
"""
import numpy as np
from numba import njit, prange

_FM = {"reassoc", "contract"}   # vectorise dot products; keep IEEE NaN/inf semantics
_CHUNK = 64                     # states per parallel work item (min/max reduced per chunk)


@njit(cache=True)
def _num_chunks(n):
    """Number of prange work items for n states: chunks of _CHUNK states, and at least 32
    items (when n allows) so that any thread count up to 8 gets a balanced share.

    Independent of the thread count, so results do not depend on NUMBA_NUM_THREADS."""
    return max(1, min(n, max(32, (n + _CHUNK - 1) // _CHUNK)))


# --------------------------------------------------------------------------- dense


@njit(cache=True, parallel=True, fastmath=_FM)
def dense_q(P2, r1, gamma, V, Q1_out):
    """Q = r + gamma * P V on flat views: P2 (S * A, S), r1 and Q1_out (S * A,) (row s * A + a).

    Rows are taken four at a time so that each load of V(s') serves four products.
    """
    SA, S = P2.shape
    nb = (SA + 3) // 4
    for b in prange(nb):
        i = 4 * b
        if i + 3 < SA:
            q0 = 0.0
            q1 = 0.0
            q2 = 0.0
            q3 = 0.0
            for t in range(S):
                v = V[t]
                q0 += P2[i, t] * v
                q1 += P2[i + 1, t] * v
                q2 += P2[i + 2, t] * v
                q3 += P2[i + 3, t] * v
            Q1_out[i] = r1[i] + gamma * q0
            Q1_out[i + 1] = r1[i + 1] + gamma * q1
            Q1_out[i + 2] = r1[i + 2] + gamma * q2
            Q1_out[i + 3] = r1[i + 3] + gamma * q3
        else:
            for k in range(i, SA):
                q = 0.0
                for t in range(S):
                    q += P2[k, t] * V[t]
                Q1_out[k] = r1[k] + gamma * q


@njit(cache=True, parallel=True, fastmath=_FM)
def dense_policy_backup(P2, r, gamma, act, V, V_out):
    """(T_pi V)(s) = r(s, act[s]) + gamma * P(. | s, act[s]) . V for a deterministic policy.

    Reads only the S chosen rows of P2 (S * S numbers). Returns (lo, hi) of V_out - V.
    """
    S = V.shape[0]
    A = r.shape[1]
    nc = _num_chunks(S)
    lo = np.empty(nc)
    hi = np.empty(nc)
    for c in prange(nc):
        s0 = c * S // nc
        s1 = (c + 1) * S // nc
        lo_c = np.inf
        hi_c = -np.inf
        s = s0
        while s < s1:
            if s + 3 < s1:
                i0 = s * A + act[s]
                i1 = (s + 1) * A + act[s + 1]
                i2 = (s + 2) * A + act[s + 2]
                i3 = (s + 3) * A + act[s + 3]
                q0 = 0.0
                q1 = 0.0
                q2 = 0.0
                q3 = 0.0
                for t in range(S):
                    v = V[t]
                    q0 += P2[i0, t] * v
                    q1 += P2[i1, t] * v
                    q2 += P2[i2, t] * v
                    q3 += P2[i3, t] * v
                V_out[s] = r[s, act[s]] + gamma * q0
                V_out[s + 1] = r[s + 1, act[s + 1]] + gamma * q1
                V_out[s + 2] = r[s + 2, act[s + 2]] + gamma * q2
                V_out[s + 3] = r[s + 3, act[s + 3]] + gamma * q3
                step = 4
            else:
                i0 = s * A + act[s]
                q0 = 0.0
                for t in range(S):
                    q0 += P2[i0, t] * V[t]
                V_out[s] = r[s, act[s]] + gamma * q0
                step = 1
            for u in range(s, s + step):
                dv = V_out[u] - V[u]
                lo_c = min(lo_c, dv)
                hi_c = max(hi_c, dv)
            s += step
        lo[c] = lo_c
        hi[c] = hi_c
    return lo.min(), hi.max()


@njit(cache=True, parallel=True)
def dense_to_ell(P2, probs_out, idx_out, counts_out):
    """Compact a dense P2 (S * A, S) into ELL rows of width w = probs_out.shape[1].

    Row i gets its nonzeros in increasing s' order; counts_out[i] receives the row's number of
    nonzeros even when it exceeds w (then only the first w are stored and the caller must retry
    with a wider array). Padding repeats the row's first successor with probability 0, so that
    gathers from V stay in cache. One streaming pass over P2; the scan is branch-free.
    """
    SA, S = P2.shape
    w = probs_out.shape[1]
    nc = _num_chunks(SA)
    for c in prange(nc):
        buf = np.empty(S + 1, dtype=np.int64)   # positions of nonzeros in the current row
        for i in range(c * SA // nc, (c + 1) * SA // nc):
            k = 0
            for t in range(S):
                buf[k] = t
                k += P2[i, t] != 0.0
            counts_out[i] = k
            n = min(k, w)
            for j in range(n):
                t = buf[j]
                probs_out[i, j] = P2[i, t]
                idx_out[i, j] = t
            first = buf[0] if k > 0 else 0
            for j in range(n, w):
                probs_out[i, j] = 0.0
                idx_out[i, j] = first


# --------------------------------------------------------------------------- ELL (sparse)


@njit(inline="always")
def _ell_dot(probs, idx, s, a, x):
    """sum_j probs[s, a, j] x[idx[s, a, j]]: one ELL row times x."""
    q = 0.0
    for j in range(probs.shape[2]):
        q += probs[s, a, j] * x[idx[s, a, j]]
    return q


@njit(inline="always")
def _row_dot(p, ix, s, x):
    """sum_j p[s, j] x[ix[s, j]]: one extracted policy row times x."""
    q = 0.0
    for j in range(p.shape[1]):
        q += p[s, j] * x[ix[s, j]]
    return q


@njit(inline="always")
def _copy_row(probs, idx, r, s, a, p_out, ix_out, rp_out):
    """p_out[s] = probs[s, a], ix_out[s] = idx[s, a], rp_out[s] = r[s, a]."""
    for j in range(probs.shape[2]):
        p_out[s, j] = probs[s, a, j]
        ix_out[s, j] = idx[s, a, j]
    rp_out[s] = r[s, a]


@njit(cache=True, parallel=True, fastmath=_FM)
def ell_q(probs, idx, r, gamma, V, Q_out):
    """Q(s,a) = r(s,a) + gamma * sum_j probs[s,a,j] V(idx[s,a,j]); Q_out (S, A)."""
    S, A = probs.shape[:2]
    nc = _num_chunks(S)
    for c in prange(nc):
        for s in range(c * S // nc, (c + 1) * S // nc):
            for a in range(A):
                Q_out[s, a] = r[s, a] + gamma * _ell_dot(probs, idx, s, a, V)


@njit(cache=True, parallel=True, fastmath=_FM)
def ell_bellman(probs, idx, r, gamma, V, V_out, act_out, p_out, ix_out, rp_out):
    """(T V)(s) = max_a r(s,a) + gamma * sum_j probs[s,a,j] V(idx[s,a,j]) into V_out, the
    maximising action (lowest on ties) into act_out. Returns (lo, hi) of V_out - V.

    If p_out (S, m) is not empty, the greedy policy's rows are also copied out while they are
    in cache: p_out[s] = probs[s, act], ix_out[s] = idx[s, act], rp_out[s] = r[s, act] (the
    contiguous layout :func:`row_backup` streams). Pass empty arrays to skip the copy.
    """
    S, A = probs.shape[:2]
    extract = p_out.shape[0] > 0
    nc = _num_chunks(S)
    lo = np.empty(nc)
    hi = np.empty(nc)
    for c in prange(nc):
        lo_c = np.inf
        hi_c = -np.inf
        for s in range(c * S // nc, (c + 1) * S // nc):
            best = -np.inf
            best_a = 0
            for a in range(A):
                q = r[s, a] + gamma * _ell_dot(probs, idx, s, a, V)
                if q > best:
                    best = q
                    best_a = a
            V_out[s] = best
            act_out[s] = best_a
            if extract:
                _copy_row(probs, idx, r, s, best_a, p_out, ix_out, rp_out)
            dv = best - V[s]
            lo_c = min(lo_c, dv)
            hi_c = max(hi_c, dv)
        lo[c] = lo_c
        hi[c] = hi_c
    return lo.min(), hi.max()


@njit(cache=True, parallel=True, fastmath=_FM)
def ell_policy_backup(probs, idx, r, gamma, act, V, V_out):
    """(T_pi V)(s) = r(s, act[s]) + gamma * sum_j probs[s, act[s], j] V(idx[s, act[s], j]).

    Reads the policy's rows in place; for narrow rows (small m) most of each cache line
    fetched belongs to other actions, and :func:`row_backup` on extracted rows moves ~3x fewer
    bytes. Returns (lo, hi) of V_out - V."""
    S = probs.shape[0]
    nc = _num_chunks(S)
    lo = np.empty(nc)
    hi = np.empty(nc)
    for c in prange(nc):
        lo_c = np.inf
        hi_c = -np.inf
        for s in range(c * S // nc, (c + 1) * S // nc):
            a = act[s]
            v = r[s, a] + gamma * _ell_dot(probs, idx, s, a, V)
            V_out[s] = v
            dv = v - V[s]
            lo_c = min(lo_c, dv)
            hi_c = max(hi_c, dv)
        lo[c] = lo_c
        hi[c] = hi_c
    return lo.min(), hi.max()


@njit(cache=True, parallel=True)
def ell_extract(probs, idx, r, act, p_out, ix_out, rp_out):
    """Rows of a deterministic policy: p_out[s] = probs[s, act[s]], ix_out[s] = idx[s, act[s]],
    rp_out[s] = r[s, act[s]]; p_out, ix_out (S, m), rp_out (S,)."""
    S = probs.shape[0]
    nc = _num_chunks(S)
    for c in prange(nc):
        for s in range(c * S // nc, (c + 1) * S // nc):
            _copy_row(probs, idx, r, s, act[s], p_out, ix_out, rp_out)


@njit(cache=True, parallel=True, fastmath=_FM)
def row_backup(p, ix, rp, gamma, V, V_out):
    """(T_pi V)(s) = rp(s) + gamma * sum_j p[s, j] V(ix[s, j]) on a policy's extracted rows
    p, ix (S, m), rp (S,). Returns (lo, hi) of V_out - V."""
    S = p.shape[0]
    nc = _num_chunks(S)
    lo = np.empty(nc)
    hi = np.empty(nc)
    for c in prange(nc):
        lo_c = np.inf
        hi_c = -np.inf
        for s in range(c * S // nc, (c + 1) * S // nc):
            v = rp[s] + gamma * _row_dot(p, ix, s, V)
            V_out[s] = v
            dv = v - V[s]
            lo_c = min(lo_c, dv)
            hi_c = max(hi_c, dv)
        lo[c] = lo_c
        hi[c] = hi_c
    return lo.min(), hi.max()


@njit(cache=True, parallel=True, fastmath=_FM)
def row_matvec(p, ix, gamma, x, y_out):
    """y = (I - gamma P_pi) x on a policy's extracted rows p, ix (S, m): the operator a Krylov
    solver inverts in exact evaluation of a deterministic policy on a sparse model."""
    S = p.shape[0]
    nc = _num_chunks(S)
    for c in prange(nc):
        for s in range(c * S // nc, (c + 1) * S // nc):
            y_out[s] = x[s] - gamma * _row_dot(p, ix, s, x)


@njit(cache=True, parallel=True, fastmath=_FM)
def ell_policy_matvec(probs, idx, pi, gamma, x, y_out):
    """y = (I - gamma P_pi) x with P_pi(s, s') = sum_a pi(s,a) P(s'|s,a); pi (S, A) stochastic.

    Actions with pi(s, a) = 0 are skipped."""
    S, A = probs.shape[:2]
    nc = _num_chunks(S)
    for c in prange(nc):
        for s in range(c * S // nc, (c + 1) * S // nc):
            acc = 0.0
            for a in range(A):
                w = pi[s, a]
                if w != 0.0:
                    acc += w * _ell_dot(probs, idx, s, a, x)
            y_out[s] = x[s] - gamma * acc


# --------------------------------------------------------------------------- shared


@njit(inline="always")
def _row_max(Q, s):
    """(max_a Q[s, a], lowest maximising a)."""
    best = Q[s, 0]
    best_a = 0
    for a in range(1, Q.shape[1]):
        if Q[s, a] > best:
            best = Q[s, a]
            best_a = a
    return best, best_a


@njit(cache=True)
def greedy_max(Q, V, V_out, act_out):
    """V_out(s) = max_a Q(s,a), act_out(s) = lowest maximising a. Returns (lo, hi) of V_out - V.

    Serial: Q is S * A numbers, small next to the pass over P that produced it.
    """
    lo = np.inf
    hi = -np.inf
    for s in range(Q.shape[0]):
        best, best_a = _row_max(Q, s)
        V_out[s] = best
        act_out[s] = best_a
        dv = best - V[s]
        lo = min(lo, dv)
        hi = max(hi, dv)
    return lo, hi


@njit(cache=True)
def greedy_one_hot(Q, pi_out):
    """pi_out[s] = one-hot of the lowest maximising action of Q[s] (as models.policies.greedy,
    which is bound by numpy's argmax over a short last axis); Q, pi_out (S, A)."""
    for s in range(Q.shape[0]):
        best_a = _row_max(Q, s)[1]
        for a in range(Q.shape[1]):
            pi_out[s, a] = 0.0
        pi_out[s, best_a] = 1.0


@njit(cache=True)
def macqueen_midpoint(TV, lo, hi, gamma, V_out):
    """V_out = TV + gamma / (1 - gamma) * (lo + hi) / 2, the midpoint of MacQueen's bounds.

    Returns the guaranteed sup-norm error gamma / (1 - gamma) * (hi - lo) / 2 of V_out."""
    c = gamma / (1.0 - gamma)
    shift = c * 0.5 * (lo + hi)
    for s in range(TV.shape[0]):
        V_out[s] = TV[s] + shift
    return c * 0.5 * (hi - lo)


# --------------------------------------------------------------------------- row-sum defects


@njit(cache=True, parallel=True)
def dense_row_defects(P2, out):
    """out[i] = sum_t P2[i, t] - 1 for the rows of P2 (S * A, S), by Neumaier's compensated
    summation: error <= 2 ulp of the result + S^2 eps^2 (a row normalized in float64 is off
    by ~1e-16, which a plain sum could not resolve). Not fastmath: that would undo the
    compensation."""
    SA, S = P2.shape
    for i in prange(SA):
        s = -1.0
        comp = 0.0
        for t in range(S):
            x = P2[i, t]
            u = s + x
            if abs(s) >= abs(x):
                comp += (s - u) + x
            else:
                comp += (x - u) + s
            s = u
        out[i] = s + comp


@njit(cache=True, parallel=True)
def ell_row_defects(probs, out):
    """out[s, a] = sum_j probs[s, a, j] - 1 (ELL rows, padding 0), compensated as above."""
    S, A, m = probs.shape
    for s_ in prange(S):
        for a in range(A):
            s = -1.0
            comp = 0.0
            for j in range(m):
                x = probs[s_, a, j]
                u = s + x
                if abs(s) >= abs(x):
                    comp += (s - u) + x
                else:
                    comp += (x - u) + s
                s = u
            out[s_, a] = s + comp
