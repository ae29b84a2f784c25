"""Numba kernels of the linear (ridge-regression) robust algorithms: R2PVI, DRPVI, DRVI-L,
DR-LSVI-UCB, DR-RPO (docs/papers/r2pvi.md §2.3-2.4, §3; docs/papers/dr_rpo.md §2).

Plain float64/int64 arrays in, results in ``*_out`` arrays, no validation (callers go through
:mod:`mdptheory.algorithms.linear_estimation`).

Ridge duals. For one coordinate i, ``C[i]`` (n,) are the ridge weights of the n regression
columns (c_i = row i of Lambda^{-1} Phi^T W) and ``vals`` (n,) the next-state values of the
columns, so the ridge estimate of E_{mu_i}[g(V)] is sum_k C[i, k] g(vals[k]). With
[x]_a = min(x, a):

  z1_i(a) = sum_k C[i,k] [vals_k]_a     piecewise linear in a, breakpoints at the vals
  z2_i(a) = sum_k C[i,k] [vals_k]_a^2   piecewise quadratic, same breakpoints

* TV constrained (DRPVI / DR-LSVI-UCB):  max_{a in [lo, hi]} z1_i(a) - rho_i (a - anchor).
  Linear between breakpoints, so the max is at a breakpoint or an endpoint: one sort of vals
  (shared by all coordinates), then one prefix-sum pass per coordinate (exact; r2pvi.md §2.3).
* chi2 regularised (R2PVI-chi2, Algorithm 4): max_{a in [lo, hi]} u + u^2/(4 lam) - w/(4 lam)
  with u = clip(z1_i(a), 0, cap1), w = clip(z2_i(a), 0, cap2). Between breakpoints z1 is linear
  and z2 quadratic in a; the clips add at most four kinks per interval (z1 = 0, cap1; z2 = 0,
  cap2), and on each resulting piece the objective is one quadratic in a: the max is at a piece
  end or at the vertex of a concave piece. Every such candidate is evaluated (exact).
* KL constrained (DRVI-L): max_{beta > 0} min(-beta log max(y_i(beta), floor), vcap) -
  beta rho_i with y_i(beta) = 1 + sum_k C[i,k] (exp(-vals_k/beta) - 1) (the code's centred
  regression) or sum_k C[i,k] exp(-vals_k/beta); floor = 1e-6 in the authors' code (it makes
  the objective vanish as beta -> 0 when the estimate y is not positive). Sums are shifted by
  the smallest weighted value (no underflow). There are no breakpoints: a log-spaced grid
  followed by golden-section refinement in log beta around the best grid point (exact for a
  unimodal objective, which the exact-expectation dual is: it is concave in beta). Never
  Nelder-Mead.
* KL regularised (R2PVI-KL, Algorithm 3):
  -lam log max(sum_k C[i,k] exp(-vals_k/lam), e^{-vcap/lam}) computed with the shift
  m = min vals: the estimate is linear in the target, so sum_k C exp(-v/lam) = e^{-m/lam} sum_k C exp(-(v - m)/lam) exactly; no underflow.

Robust linear DP with a policy-KL term (DR-RPO ground truth, dr_rpo.md §2.1) and a general reward
vector (used for the uncertainty function of Theorem 5.2):

  nu_{h,i} = inner(mu_{h,i}, V_{h+1}),  Q_h(s,a) = <phi(s,a), theta_h + nu_h>,
  V_h(s) = tau log sum_a ref(a|s) exp(Q_h(s,a)/tau)         (optimal, tau > 0)
         = max_a Q_h(s,a)                                   (optimal, tau = 0)
         = sum_a pi(a|s) Q_h(s,a) - tau KL(pi(.|s) || ref(.|s))   (evaluation of pi).
"""
import numpy as np
from numba import njit

from .robust import inner_problem

_GOLDEN = 0.3819660112501051  # 2 - golden ratio


# ----------------------------------------------------------------------------------------------
# ridge statistics
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def design_by_column(Phi, w, col, M_out):
    """M_out[:, col[t]] += w[t] Phi[t]: the regression design grouped by column
    (M = Phi^T W E with E the one-hot column indicator). Phi (N, d), w (N,), col (N,) int64,
    M_out (d, n) (not zeroed here)."""
    N, d = Phi.shape
    for t in range(N):
        c = col[t]
        wt = w[t]
        for i in range(d):
            M_out[i, c] += wt * Phi[t, i]


@njit(cache=True)
def accumulate_triples(step, Phi, w, col, Lambda_out, M_out):
    """For every aggregated sample t (all steps at once): Lambda_out[step[t]] += w[t] Phi[t]
    Phi[t]^T and M_out[step[t], :, col[t]] += w[t] Phi[t]. step/col (m,) int64, Phi (m, d),
    w (m,), Lambda_out (H, d, d) (preset to gamma I), M_out (H, d, n_cols) (zeroed)."""
    m, d = Phi.shape
    for t in range(m):
        h = step[t]
        c = col[t]
        for i in range(d):
            xi = w[t] * Phi[t, i]
            if xi != 0.0:
                M_out[h, i, c] += xi
                for j in range(d):
                    Lambda_out[h, i, j] += xi * Phi[t, j]


@njit(cache=True)
def sherman_morrison(Ainv, x, weight):
    """In place: Ainv <- (A + weight x x^T)^{-1} = Ainv - weight Ainv x x^T Ainv / (1 + weight
    x^T Ainv x), for symmetric Ainv (d, d). Returns x^T Ainv_old x."""
    d = x.shape[0]
    u = np.zeros(d)
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += Ainv[i, j] * x[j]
        u[i] = acc
    q = 0.0
    for i in range(d):
        q += x[i] * u[i]
    f = weight / (1.0 + weight * q)
    for i in range(d):
        for j in range(d):
            Ainv[i, j] -= f * u[i] * u[j]
    return q


# ----------------------------------------------------------------------------------------------
# TV constrained dual with ridge expectations
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def tv_dual_ridge(C, vals, radius, lo, hi, anchor, out, alpha_out):
    """out[i] = max_{a in [lo, hi]} sum_k C[i,k] min(vals_k, a) - radius[i] (a - anchor);
    alpha_out[i] = the smallest maximiser. C (d, n), vals (n,), radius (d,)."""
    d, n = C.shape
    order = np.argsort(vals)
    for i in range(d):
        total = 0.0
        for k in range(n):
            total += C[i, k]
        P = 0.0      # sum of C v over processed (v <= a)
        T = total    # sum of C over unprocessed (v > a)
        j = 0
        best = -np.inf
        best_a = lo
        # candidate points in increasing order: lo, the vals in (lo, hi), hi
        a = lo
        while True:
            while j < n and vals[order[j]] <= a:
                k = order[j]
                P += C[i, k] * vals[k]
                T -= C[i, k]
                j += 1
            f = P + a * T - radius[i] * (a - anchor)
            if f > best:
                best = f
                best_a = a
            if a >= hi:
                break
            if j < n and vals[order[j]] < hi:
                a = vals[order[j]]
            else:
                a = hi
        out[i] = best
        alpha_out[i] = best_a


# ----------------------------------------------------------------------------------------------
# chi-square regularised dual with ridge expectations
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _chi2_obj(a, P1, P2, T, lam, cap1, cap2):
    u = min(max(P1 + T * a, 0.0), cap1)
    w = min(max(P2 + T * a * a, 0.0), cap2)
    return u + u * u / (4.0 * lam) - w / (4.0 * lam)


@njit(cache=True)
def _chi2_interval(a0, a1, P1, P2, T, lam, cap1, cap2, best, best_a):
    """Max of the clipped chi2 objective over [a0, a1] where z1 = P1 + T a, z2 = P2 + T a^2."""
    knots = np.empty(10)
    nk = 0
    knots[nk] = a0
    nk += 1
    knots[nk] = a1
    nk += 1
    if T != 0.0:
        for b in (0.0, cap1):
            if b < np.inf:
                x = (b - P1) / T
                if a0 < x < a1:
                    knots[nk] = x
                    nk += 1
        for b in (0.0, cap2):
            if b < np.inf:
                y = (b - P2) / T
                if y >= 0.0:
                    r = np.sqrt(y)
                    if a0 < r < a1:
                        knots[nk] = r
                        nk += 1
                    if a0 < -r < a1:
                        knots[nk] = -r
                        nk += 1
    ks = np.sort(knots[:nk])
    for t in range(nk):
        f = _chi2_obj(ks[t], P1, P2, T, lam, cap1, cap2)
        if f > best or (f == best and ks[t] < best_a):
            best = f
            best_a = ks[t]
    for t in range(nk - 1):
        p = ks[t]
        q = ks[t + 1]
        if q <= p:
            continue
        mid = 0.5 * (p + q)
        z1 = P1 + T * mid
        z2 = P2 + T * mid * mid
        u1 = T if (0.0 < z1 < cap1) else 0.0
        u0 = P1 if (0.0 < z1 < cap1) else (0.0 if z1 <= 0.0 else cap1)
        w2 = T if (0.0 < z2 < cap2) else 0.0
        a2 = (u1 * u1 - w2) / (4.0 * lam)
        a1c = u1 + 2.0 * u1 * u0 / (4.0 * lam)
        if a2 < 0.0:
            x = -a1c / (2.0 * a2)
            if p < x < q:
                f = _chi2_obj(x, P1, P2, T, lam, cap1, cap2)
                if f > best:
                    best = f
                    best_a = x
    return best, best_a


@njit(cache=True)
def chi2_reg_dual_ridge(C, vals, lam, lo, hi, clip, cap1, cap2, out, alpha_out):
    """out[i] = max_{a in [lo, hi]} u + u^2/(4 lam_i) - w/(4 lam_i) with u = z1_i(a),
    w = z2_i(a), clipped to [0, cap1] and [0, cap2] when ``clip`` (Algorithm 4) and raw
    otherwise (the authors' code). C (d, n), vals (n,), lam (d,) > 0; alpha_out[i] = the
    smallest maximiser found."""
    d, n = C.shape
    order = np.argsort(vals)
    for i in range(d):
        total = 0.0
        for k in range(n):
            total += C[i, k]
        P1 = 0.0
        P2 = 0.0
        T = total
        j = 0
        best = -np.inf
        best_a = lo
        a = lo
        while True:
            while j < n and vals[order[j]] <= a:
                k = order[j]
                P1 += C[i, k] * vals[k]
                P2 += C[i, k] * vals[k] * vals[k]
                T -= C[i, k]
                j += 1
            if j < n and vals[order[j]] < hi:
                b = vals[order[j]]
            else:
                b = hi
            if clip:
                best, best_a = _chi2_interval(a, b, P1, P2, T, lam[i], cap1, cap2, best, best_a)
            else:
                best, best_a = _chi2_interval_free(a, b, P1, P2, T, lam[i], best, best_a)
            if b >= hi:
                break
            a = b
        out[i] = best
        alpha_out[i] = best_a


@njit(cache=True)
def _chi2_interval_free(a0, a1, P1, P2, T, lam, best, best_a):
    """Unclipped version of :func:`_chi2_interval` (the authors' code does not clip)."""
    for x in (a0, a1):
        u = P1 + T * x
        f = u + u * u / (4.0 * lam) - (P2 + T * x * x) / (4.0 * lam)
        if f > best or (f == best and x < best_a):
            best = f
            best_a = x
    a2 = (T * T - T) / (4.0 * lam)
    a1c = T + 2.0 * T * P1 / (4.0 * lam)
    if a2 < 0.0:
        x = -a1c / (2.0 * a2)
        if a0 < x < a1:
            u = P1 + T * x
            f = u + u * u / (4.0 * lam) - (P2 + T * x * x) / (4.0 * lam)
            if f > best:
                best = f
                best_a = x
    return best, best_a


# ----------------------------------------------------------------------------------------------
# KL duals with ridge expectations
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def kl_reg_ridge(C, vals, lam, vcap, out):
    """out[i] = -lam_i log max(sum_k C[i,k] exp(-vals_k/lam_i), exp(-vcap/lam_i))
    = min(m - lam_i log sum_k C[i,k] exp(-(vals_k - m)/lam_i), vcap), m = min vals
    (= vcap when the sum is <= 0). C (d, n), vals (n,), lam (d,) > 0."""
    d, n = C.shape
    if n == 0:
        for i in range(d):
            out[i] = vcap
        return
    m = vals[0]
    for k in range(1, n):
        m = min(m, vals[k])
    for i in range(d):
        y = 0.0
        li = lam[i]
        for k in range(n):
            y += C[i, k] * np.exp(-(vals[k] - m) / li)
        if y > 0.0:
            out[i] = min(m - li * np.log(y), vcap)
        else:
            out[i] = vcap


@njit(cache=True)
def _kl_shift(Ci, vals, centered):
    """(m, phantom): the smallest value with a nonzero weight (the centred form adds a phantom
    column of value 0 and weight 1 - sum_k C[i,k]) and that phantom weight."""
    m = np.inf
    tot = 0.0
    for k in range(vals.shape[0]):
        tot += Ci[k]
        if Ci[k] != 0.0 and vals[k] < m:
            m = vals[k]
    phantom = 1.0 - tot if centered else 0.0
    if phantom != 0.0 and m > 0.0:
        m = 0.0
    if m == np.inf:
        m = 0.0
    return m, phantom


@njit(cache=True)
def _kl_con_obj(Ci, vals, beta, rho, m, phantom, log_floor, vcap):
    """min(-beta log max(y, floor), vcap) - beta rho with y = phantom + sum_k C[i,k]
    exp(-vals_k/beta), evaluated as log y = -m/beta + log(sum c exp(-(v - m)/beta)) so that no
    term underflows before the comparison with the floor."""
    ys = phantom * np.exp(m / beta) if phantom != 0.0 else 0.0
    for k in range(vals.shape[0]):
        if Ci[k] != 0.0:
            ys += Ci[k] * np.exp(-(vals[k] - m) / beta)
    if ys > 0.0:
        logy = max(np.log(ys) - m / beta, log_floor)
    else:
        logy = log_floor
    if logy > -np.inf:
        return min(-beta * logy, vcap) - beta * rho
    return vcap - beta * rho


@njit(cache=True)
def kl_dual_ridge(C, vals, radius, centered, floor, vcap, log_grid, beta_hi, n_golden, out,
                  beta_out):
    """out[i] = max_{beta} min(-beta log max(y_i(beta), floor), vcap) - beta radius[i],
    y_i(beta) = [1 +] sum_k C[i,k] (exp(-vals_k/beta) [- 1]) (centred when ``centered``): the
    best point of the log grid ``log_grid`` (log beta, restricted to beta <= beta_hi[i]), then
    ``n_golden`` golden-section steps on the bracket around it. radius[i] == 0 gives the
    beta -> inf limit sum_k C[i,k] vals_k (beta_out = inf)."""
    d, n = C.shape
    G = log_grid.shape[0]
    log_floor = np.log(floor) if floor > 0.0 else -np.inf
    for i in range(d):
        Ci = C[i]
        if radius[i] <= 0.0:
            acc = 0.0
            for k in range(n):
                acc += Ci[k] * vals[k]
            out[i] = acc
            beta_out[i] = np.inf
            continue
        m, ph = _kl_shift(Ci, vals, centered)
        rho = radius[i]
        best = -np.inf
        g = 0
        top = G
        for t in range(G):
            if np.exp(log_grid[t]) > beta_hi[i] * (1.0 + 1e-12):
                top = t
                break
            f = _kl_con_obj(Ci, vals, np.exp(log_grid[t]), rho, m, ph, log_floor, vcap)
            if f > best:
                best = f
                g = t
        best_l = log_grid[g]
        a = log_grid[max(g - 1, 0)]
        b = log_grid[min(g + 1, max(top - 1, 0))]
        x1 = a + _GOLDEN * (b - a)
        x2 = b - _GOLDEN * (b - a)
        f1 = _kl_con_obj(Ci, vals, np.exp(x1), rho, m, ph, log_floor, vcap)
        f2 = _kl_con_obj(Ci, vals, np.exp(x2), rho, m, ph, log_floor, vcap)
        for _ in range(n_golden):
            if f1 >= f2:
                b = x2
                x2 = x1
                f2 = f1
                x1 = a + _GOLDEN * (b - a)
                f1 = _kl_con_obj(Ci, vals, np.exp(x1), rho, m, ph, log_floor, vcap)
            else:
                a = x1
                x1 = x2
                f1 = f2
                x2 = b - _GOLDEN * (b - a)
                f2 = _kl_con_obj(Ci, vals, np.exp(x2), rho, m, ph, log_floor, vcap)
        if f1 > best:
            best = f1
            best_l = x1
        if f2 > best:
            best = f2
            best_l = x2
        out[i] = best
        beta_out[i] = np.exp(best_l)


# ----------------------------------------------------------------------------------------------
# exact (policy-regularised) robust DP on a d-rectangular linear MDP
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def soft_robust_linear_dp(phi, mu, theta, ref, tau, pi, use_pi, div, regularized, param,
                          V_out, Q_out, nu_out, pi_out):
    """Backward induction h = H-1..0 on a d-rectangular model with the (constrained or
    regularised) factor inner problem and a policy-KL term of weight tau >= 0 towards ref.

    phi (S, A, d), mu (H, d, S), theta/param/nu_out (H, d), ref/pi/pi_out (H, S, A),
    V_out (H + 1, S) with V_out[H] preset, Q_out (H, S, A). With use_pi, V is the value of pi
    (pi_out untouched); otherwise the optimal soft value and pi_out the soft-optimal policy
    (tau > 0: pi ∝ ref exp(Q / tau); tau = 0: greedy, ties to the lowest index).
    param[h, i] = 0 with regularized=False gives the nominal factor mean."""
    S, A, d = phi.shape
    H = mu.shape[0]
    empty = np.empty(0)
    for h in range(H - 1, -1, -1):
        v_next = V_out[h + 1]
        for i in range(d):
            nu_out[h, i] = inner_problem(mu[h, i], v_next, div, regularized, param[h, i],
                                         empty)     # (scales V_{h+1} itself when extreme)
        for s in range(S):
            for a in range(A):
                q = 0.0
                for i in range(d):
                    q += phi[s, a, i] * (theta[h, i] + nu_out[h, i])
                Q_out[h, s, a] = q
            if use_pi:
                v = 0.0
                for a in range(A):
                    p = pi[h, s, a]
                    if p > 0.0:
                        v += p * Q_out[h, s, a]
                        if tau > 0.0:
                            v -= tau * p * np.log(p / ref[h, s, a])
                V_out[h, s] = v
            elif tau > 0.0:
                mx = -np.inf
                for a in range(A):
                    if ref[h, s, a] > 0.0 and Q_out[h, s, a] > mx:
                        mx = Q_out[h, s, a]
                z = 0.0
                for a in range(A):
                    e = ref[h, s, a] * np.exp((Q_out[h, s, a] - mx) / tau) \
                        if ref[h, s, a] > 0.0 else 0.0
                    pi_out[h, s, a] = e
                    z += e
                for a in range(A):
                    pi_out[h, s, a] /= z
                V_out[h, s] = mx + tau * np.log(z)
            else:
                best = 0
                for a in range(1, A):
                    if Q_out[h, s, a] > Q_out[h, s, best]:
                        best = a
                for a in range(A):
                    pi_out[h, s, a] = 0.0
                pi_out[h, s, best] = 1.0
                V_out[h, s] = Q_out[h, s, best]


# ----------------------------------------------------------------------------------------------
# KL constrained dual with ridge expectations: certified maximum (branch and bound)
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _kl_con_interval_bound(Ci, vals, a, b, fa, fb, rho, m, phantom, log_floor, vcap):
    """Upper bound of the objective of :func:`_kl_con_obj` on [a, b] (0 < a < b), the smaller of

    * a monotone sandwich: each term c e^{-u/beta} of ys(beta) = phantom e^{m/beta} +
      sum_k C_k e^{-(v_k - m)/beta} is monotone in beta, so ys and log y = log ys - m/beta lie
      between their values at the ends taken term by term; -beta max(log y, log floor) is then
      largest at an end, and the min with vcap and the -beta rho term follow;
    * a Lipschitz (Piyavskii) bound (fa + fb + G (b - a)) / 2, where G bounds |f'| on every
      piece that can occur on [a, b]: the floor piece (slope -log floor - rho), the cap piece
      (-rho) and the smooth piece, whose slope -log ys - beta ys'/ys - rho is bounded by
      interval arithmetic (beta ys' = sum_k c u e^{-u/beta} / beta, each term unimodal in beta
      with its extremum at beta = u).

    f is continuous and piecewise C^1, so both bounds are valid; the second shrinks like
    (b - a)^2 near a smooth maximum, the first like (b - a) near a kink."""
    ys_lo = 0.0
    ys_hi = 0.0
    p_lo = 0.0
    p_hi = 0.0
    n = vals.shape[0]
    for k in range(n + 1):
        if k < n:
            c = Ci[k]
            u = vals[k] - m
        else:
            c = phantom
            u = -m
        if c == 0.0:
            continue
        ea = np.exp(min(-u / a, 700.0))
        eb = np.exp(min(-u / b, 700.0))
        lo = min(ea, eb)
        hi = max(ea, eb)
        qa = u * ea / a
        qb = u * eb / b
        q_lo = min(qa, qb)
        q_hi = max(qa, qb)
        if u > 0.0 and a <= u <= b:
            q_hi = np.exp(-1.0)
        if c > 0.0:
            ys_lo += c * lo
            ys_hi += c * hi
            p_lo += c * q_lo
            p_hi += c * q_hi
        else:
            ys_lo += c * hi
            ys_hi += c * lo
            p_lo += c * q_hi
            p_hi += c * q_lo
    sh_lo = min(-m / a, -m / b)
    sh_hi = max(-m / a, -m / b)
    l_lo = np.log(ys_lo) + sh_lo if ys_lo > 0.0 else -np.inf
    l_hi = np.log(ys_hi) + sh_hi if ys_hi > 0.0 else -np.inf
    lf_lo = max(l_lo, log_floor)
    if lf_lo == -np.inf:
        g_hi = np.inf
    else:
        g_hi = max(-a * lf_lo, -b * lf_lo)
    ub0 = min(g_hi, vcap) - a * rho
    # Lipschitz constant over the pieces that can occur on [a, b]
    G = 0.0
    if g_hi >= vcap:                                 # the cap piece vcap - beta rho
        G = rho
    if l_lo <= log_floor and log_floor > -np.inf:
        G = max(G, abs(-log_floor - rho))
    if l_hi > log_floor and ys_hi > 0.0:
        # on the smooth piece ys > floor e^{m/beta} and -beta log y < vcap: ys > e^{(m - vcap)/beta}
        low = ys_lo
        if log_floor > -np.inf:
            low = max(low, min(np.exp(min(log_floor + m / a, 700.0)),
                               np.exp(min(log_floor + m / b, 700.0))))
        low = max(low, min(np.exp(min((m - vcap) / a, 700.0)),
                           np.exp(min((m - vcap) / b, 700.0))))
        if low >= ys_hi:
            pass                                     # the smooth piece is empty here
        elif low <= 0.0:
            G = np.inf
        else:
            r_lo = min(p_lo / ys_hi, p_lo / low)
            r_hi = max(p_hi / ys_hi, p_hi / low)
            d_lo = -np.log(ys_hi) - r_hi - rho
            d_hi = -np.log(low) - r_lo - rho
            G = max(G, max(abs(d_lo), abs(d_hi)))
    ub1 = 0.5 * (fa + fb + G * (b - a))
    return min(ub0, ub1)


@njit(cache=True)
def kl_dual_ridge_exact(C, vals, radius, centered, floor, vcap, beta_lo, beta_hi, n_grid, tol,
                        max_evals, out, beta_out, certified_out):
    """Certified maximum of the DRVI-L objective of :func:`kl_dual_ridge` over the admissible
    range beta in [beta_lo, beta_hi[i]]: out[i] = max f_i(beta) to within ``tol`` (absolute),
    beta_out[i] a maximiser, certified_out[i] = 1 when the bound closed within ``max_evals``
    evaluations (0 otherwise; out[i] is then the best value found).

    f_i(beta) = min(-beta log max(y_i(beta), floor), vcap) - beta radius[i] is continuous and
    piecewise smooth: its kinks are where y_i(beta) = floor (below, f_i is the line
    beta (-log floor - radius[i])) and where -beta log y_i = vcap (above, the line
    vcap - beta radius[i]); with ridge weights (of either sign) the smooth piece need not be
    concave either. Branch and bound: ``n_grid`` log-spaced points, then every interval whose
    upper bound (:func:`_kl_con_interval_bound`) exceeds the incumbent by more than ``tol`` is
    split at its geometric midpoint, depth first. radius[i] == 0 gives the beta -> inf limit,
    the ridge mean sum_k C[i,k] vals_k (beta_out = inf)."""
    d, n = C.shape
    log_floor = np.log(floor) if floor > 0.0 else -np.inf
    cap = n_grid + 2 * max_evals + 4
    sa = np.empty(cap)
    sb = np.empty(cap)
    sfa = np.empty(cap)
    sfb = np.empty(cap)
    for i in range(d):
        Ci = C[i]
        rho = radius[i]
        certified_out[i] = 1
        if rho <= 0.0:
            acc = 0.0
            for k in range(n):
                acc += Ci[k] * vals[k]
            out[i] = acc
            beta_out[i] = np.inf
            continue
        m, ph = _kl_shift(Ci, vals, centered)
        lo = np.log(beta_lo)
        hi = np.log(max(beta_hi[i], beta_lo))
        best = -np.inf
        best_b = beta_lo
        top = 0
        prev_b = 0.0
        prev_f = 0.0
        for t in range(n_grid):
            x = np.exp(lo + (hi - lo) * t / (n_grid - 1)) if n_grid > 1 else beta_lo
            f = _kl_con_obj(Ci, vals, x, rho, m, ph, log_floor, vcap)
            if f > best:
                best = f
                best_b = x
            if t > 0:
                sa[top] = prev_b
                sb[top] = x
                sfa[top] = prev_f
                sfb[top] = f
                top += 1
            prev_b = x
            prev_f = f
        evals = 0
        while top > 0:
            top -= 1
            a = sa[top]
            b = sb[top]
            fa = sfa[top]
            fb = sfb[top]
            ub = _kl_con_interval_bound(Ci, vals, a, b, fa, fb, rho, m, ph, log_floor, vcap)
            if ub <= best + tol:
                continue
            c = np.sqrt(a * b)
            if not (a < c < b) or evals >= max_evals:
                certified_out[i] = 0
                continue
            fc = _kl_con_obj(Ci, vals, c, rho, m, ph, log_floor, vcap)
            evals += 1
            if fc > best:
                best = fc
                best_b = c
            sa[top] = a
            sb[top] = c
            sfa[top] = fa
            sfb[top] = fc
            sa[top + 1] = c
            sb[top + 1] = b
            sfa[top + 1] = fc
            sfb[top + 1] = fb
            top += 2
        out[i] = best
        beta_out[i] = best_b
