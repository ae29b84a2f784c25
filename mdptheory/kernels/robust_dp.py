"""Robust and regularised-robust backward induction (finite horizon).

Two rectangularities, one inner problem (kernels.robust.inner_problem: constrained
inf_{D(q||p) <= radius} q.V or regularised inf_q q.V + lam D(q||p)):

* (s,a)-rectangular tabular:  Q_h(s,a) = r_h(s,a) + inner(P_h(.|s,a), V_{h+1}; param[h,s,a]).
* d-rectangular linear:
      nu_{h,i} = inner(mu_{h,i}, V_{h+1}; param[h,i]),   Q_h(s,a) = <phi(s,a), theta_h + nu_h>.
  (The penalty lam <phi, D(mu_h || mu0_h)> of the d-RRMDP splits over factors the same way.)

V_h(s) = max_a Q_h(s,a) when use_pi is False, else sum_a pi_h(a|s) Q_h(s,a). The worst-case
kernel rows are written to the *_worst_out arrays when want_worst is True. V_{h+1} is checked
once per step and, when max |V_{h+1}| is outside [2^-300, 2^300], solved scaled by a power of
two (kernels.robust.scaled_inner_problem).
"""
import numpy as np
from numba import njit

from .robust import scale_values, scaled_inner_problem, value_exponent


@njit(cache=True)
def _state_value(Q_hs, pi_hs, use_pi):
    if use_pi:
        v = 0.0
        for a in range(Q_hs.shape[0]):
            v += pi_hs[a] * Q_hs[a]
        return v
    best = -np.inf
    for a in range(Q_hs.shape[0]):
        if Q_hs[a] > best:
            best = Q_hs[a]
    return best


@njit(cache=True)
def _scaled_next(v_next, buf):
    """(k, v_next 2^-k) with k = value_exponent(v_next) (buf is used only when k != 0)."""
    k = value_exponent(v_next)
    if k == 0:
        return 0, v_next
    scale_values(v_next, k, buf)
    return k, buf


@njit(cache=True)
def robust_backward_sa(P, r, pi, use_pi, div, regularized, param, want_worst,
                       V_out, Q_out, P_worst_out):
    """(s,a)-rectangular robust DP. P (H,S,A,S), r/param/pi (H,S,A), V_out (H+1,S) with V[H]
    preset, Q_out (H,S,A), P_worst_out (H,S,A,S) (ignored unless want_worst)."""
    H, S, A, _ = P.shape
    empty = np.empty(0)
    buf = np.empty(S)
    for h in range(H - 1, -1, -1):
        k, v_next = _scaled_next(V_out[h + 1], buf)
        for s in range(S):
            for a in range(A):
                q_out = P_worst_out[h, s, a] if want_worst else empty
                Q_out[h, s, a] = r[h, s, a] + scaled_inner_problem(
                    P[h, s, a], v_next, k, div, regularized, param[h, s, a], q_out)
            V_out[h, s] = _state_value(Q_out[h, s], pi[h, s], use_pi)


@njit(cache=True)
def robust_backward_linear(phi, mu, theta, pi, use_pi, div, regularized, param, want_worst,
                           V_out, Q_out, nu_out, mu_worst_out):
    """d-rectangular robust DP. phi (S,A,d), mu (H,d,S), theta/param/nu_out (H,d), pi (H,S,A),
    V_out (H+1,S), Q_out (H,S,A), mu_worst_out (H,d,S) (ignored unless want_worst)."""
    S, A, d = phi.shape
    H = mu.shape[0]
    empty = np.empty(0)
    buf = np.empty(S)
    for h in range(H - 1, -1, -1):
        k, v_next = _scaled_next(V_out[h + 1], buf)
        for i in range(d):
            q_out = mu_worst_out[h, i] if want_worst else empty
            nu_out[h, i] = scaled_inner_problem(mu[h, i], v_next, k, div, regularized,
                                                param[h, i], q_out)
        for s in range(S):
            for a in range(A):
                q = 0.0
                for i in range(d):
                    q += phi[s, a, i] * (theta[h, i] + nu_out[h, i])
                Q_out[h, s, a] = q
            V_out[h, s] = _state_value(Q_out[h, s], pi[h, s], use_pi)
