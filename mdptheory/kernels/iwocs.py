"""Numba kernels of IWOCS and of robust dynamic programming over sets of transition models.

Plain float64/int64 arrays in, results written into ``*_out`` arguments, no validation (callers
go through :mod:`mdptheory.algorithms.iwocs`). Serial loops: the models these kernels serve are
small dense ones (S up to a few hundred) and the machines are shared.

Shapes
------
Pc      (S, A, n, S)   candidate rows: Pc[s, a, k] is the k-th candidate for P(. | s, a)
rc      (S, A, n)      reward that goes with candidate k of (s, a) (the same for every k when
                       the reward does not depend on the model)
P0      (S, A, S)      affine family: P_psi = P0 + sum_i psi_i D[i]
D       (d, S, A, S)   directions of the affine family (rows sum to 0)
r0, e   (S, A), (d, S, A)   r_psi = r0 + sum_i psi_i e[i]
lo, hi  (d,)           the parameter box [lo, hi]
V       (S,)           value vector;  pi (S, A) stochastic policy;  rho0 (S,)
Pm, rm  (m, S, A, S), (m, S, A)   a stack of m complete models (for batch evaluation)

Ties in every min go to the lowest candidate index (or to the lower end ``lo`` of a parameter
interval), so results are reproducible.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def candidate_min(Pc, rc, gamma, V, Q_out, arg_out):
    """Q_out[s, a] = min_k rc[s, a, k] + gamma * Pc[s, a, k] . V, arg_out[s, a] = lowest argmin.

    The (s, a)-rectangular robust backup over finite candidate sets (for a finite candidate
    set, take the min); the min over the convex hull of the candidates is the same.
    """
    S, A, n, S2 = Pc.shape
    for s in range(S):
        for a in range(A):
            best = np.inf
            best_k = 0
            for k in range(n):
                acc = 0.0
                for t in range(S2):
                    acc += Pc[s, a, k, t] * V[t]
                q = rc[s, a, k] + gamma * acc
                if q < best:
                    best = q
                    best_k = k
            Q_out[s, a] = best
            arg_out[s, a] = best_k


@njit(cache=True)
def candidate_q(Pc, rc, gamma, V, Qk_out):
    """Qk_out[s, a, k] = rc[s, a, k] + gamma * Pc[s, a, k] . V (every candidate)."""
    S, A, n, S2 = Pc.shape
    for s in range(S):
        for a in range(A):
            for k in range(n):
                acc = 0.0
                for t in range(S2):
                    acc += Pc[s, a, k, t] * V[t]
                Qk_out[s, a, k] = rc[s, a, k] + gamma * acc


@njit(cache=True)
def state_min(Qk, pi, V_out, arg_out):
    """V_out[s] = min_k sum_a pi[s, a] Qk[s, a, k], arg_out[s] = lowest argmin.

    The s-rectangular backup: nature picks one candidate index per state, before the action is
    drawn from the stochastic policy pi.
    """
    S, A, n = Qk.shape
    for s in range(S):
        best = np.inf
        best_k = 0
        for k in range(n):
            acc = 0.0
            for a in range(A):
                acc += pi[s, a] * Qk[s, a, k]
            if acc < best:
                best = acc
                best_k = k
        V_out[s] = best
        arg_out[s] = best_k


@njit(cache=True)
def _affine_coeffs(P0, r0, D, e, gamma, V, base_out, c_out):
    """base_out[s, a] = r0 + gamma P0 . V; c_out[i, s, a] = e[i] + gamma D[i] . V."""
    d, S, A, S2 = D.shape
    for s in range(S):
        for a in range(A):
            acc = 0.0
            for t in range(S2):
                acc += P0[s, a, t] * V[t]
            base_out[s, a] = r0[s, a] + gamma * acc
            for i in range(d):
                acc = 0.0
                for t in range(S2):
                    acc += D[i, s, a, t] * V[t]
                c_out[i, s, a] = e[i, s, a] + gamma * acc


@njit(cache=True)
def affine_min(P0, r0, D, e, lo, hi, gamma, V, Q_out, psi_out):
    """(s, a)-rectangular backup over an affine family with a box of parameters:

    Q_out[s, a] = min_{psi in [lo, hi]} r_psi(s, a) + gamma P_psi(. | s, a) . V
                = base(s, a) + sum_i min(lo_i c_i(s, a), hi_i c_i(s, a)),

    exact because the objective is affine and separable in psi; psi_out[s, a, i] is the
    minimising end (lo_i on ties).
    """
    d, S, A, _ = D.shape
    base = np.empty((S, A))
    c = np.empty((d, S, A))
    _affine_coeffs(P0, r0, D, e, gamma, V, base, c)
    for s in range(S):
        for a in range(A):
            q = base[s, a]
            for i in range(d):
                if c[i, s, a] >= 0.0:
                    q += lo[i] * c[i, s, a]
                    psi_out[s, a, i] = lo[i]
                else:
                    q += hi[i] * c[i, s, a]
                    psi_out[s, a, i] = hi[i]
            Q_out[s, a] = q


@njit(cache=True)
def affine_state_min(P0, r0, D, e, lo, hi, gamma, V, pi, V_out, psi_out):
    """s-rectangular version of :func:`affine_min`: one psi per state, chosen before the action
    is drawn from pi. V_out[s] = min_psi sum_a pi[s, a] (r_psi + gamma P_psi V)(s, a);
    psi_out[s, i] the minimising end (lo_i on ties)."""
    d, S, A, _ = D.shape
    base = np.empty((S, A))
    c = np.empty((d, S, A))
    _affine_coeffs(P0, r0, D, e, gamma, V, base, c)
    for s in range(S):
        v = 0.0
        for a in range(A):
            v += pi[s, a] * base[s, a]
        for i in range(d):
            ci = 0.0
            for a in range(A):
                ci += pi[s, a] * c[i, s, a]
            if ci >= 0.0:
                v += lo[i] * ci
                psi_out[s, i] = lo[i]
            else:
                v += hi[i] * ci
                psi_out[s, i] = hi[i]
        V_out[s] = v


@njit(cache=True)
def evaluate_many(Pm, rm, gamma, pi, rho0, V_out, values_out):
    """Exact values of one stationary policy pi in m models (exact linear solves, batched):
    V_out[j] solves (I - gamma P_pi^j) V = r_pi^j by LU, values_out[j] = rho0 . V_out[j]."""
    m, S, A, _ = Pm.shape
    M = np.empty((S, S))
    b = np.empty(S)
    for j in range(m):
        for s in range(S):
            acc_r = 0.0
            for t in range(S):
                M[s, t] = 0.0
            for a in range(A):
                w = pi[s, a]
                if w != 0.0:
                    acc_r += w * rm[j, s, a]
                    for t in range(S):
                        M[s, t] -= gamma * w * Pm[j, s, a, t]
            M[s, s] += 1.0
            b[s] = acc_r
        x = np.linalg.solve(M, b)
        tot = 0.0
        for s in range(S):
            V_out[j, s] = x[s]
            tot += rho0[s] * x[s]
        values_out[j] = tot


@njit(cache=True)
def evaluate_affine_many(P0_pi, D_pi, r0_pi, e_pi, gamma, psis, rho0, values_out):
    """values_out[j] = rho0 . V, V solving (I - gamma (P0_pi + sum_i psis[j, i] D_pi[i])) V =
    r0_pi + sum_i psis[j, i] e_pi[i]: exact values of one policy at m parameters of an affine
    family, with the policy contracted in beforehand (P0_pi (S, S), D_pi (d, S, S), r0_pi (S,),
    e_pi (d, S), psis (m, d))."""
    m, d = psis.shape
    S = P0_pi.shape[0]
    M = np.empty((S, S))
    b = np.empty(S)
    for j in range(m):
        for s in range(S):
            acc = r0_pi[s]
            for i in range(d):
                acc += psis[j, i] * e_pi[i, s]
            b[s] = acc
            for t in range(S):
                p = P0_pi[s, t]
                for i in range(d):
                    p += psis[j, i] * D_pi[i, s, t]
                M[s, t] = -gamma * p
            M[s, s] += 1.0
        x = np.linalg.solve(M, b)
        tot = 0.0
        for s in range(S):
            tot += rho0[s] * x[s]
        values_out[j] = tot
