"""Exact robust inner problems: worst-case means over divergence balls around a distribution.

p (S,) is a probability vector (may contain zeros; assumed to sum to 1), v (S,) a value
vector, both float64. supp p = {s : p(s) > 0}. Divergences (kernel code in brackets):

  TV   [0]  D(q||p) = 1/2 sum_s |q(s) - p(s)|        (q may put mass outside supp p)
  KL   [1]  D(q||p) = sum_s q(s) log(q(s)/p(s))       (requires q << p)
  chi2 [2]  D(q||p) = sum_s (q(s) - p(s))^2 / p(s)    (requires q << p)

Constrained form (radius rho >= 0):   C(p, v) = inf_{q in simplex, D(q||p) <= rho} q.v
Regularized form (weight lam >= 0):   R(p, v) = inf_{q in simplex} q.v + lam D(q||p)

Notation: v_min = min_s v(s) over ALL states (TV), m = min_{s in supp p} v(s) (KL, chi2),
B = {s in supp p : v(s) = m}, [x]_a = min(x, a), s* = lowest index attaining v_min.

Closed forms / exact algorithms (no sorting of the whole support; see _threshold):
  TV  constrained  C = sup_a E_p[v]_a - rho (a - v_min) (concave, piecewise linear), attained
                   at a* = the smallest support value with P(v <= a*) >= 1 - rho; q moves rho
                   of mass from the highest-v states of supp p onto s*.
                   rho >= P(v > v_min) gives v_min.
  TV  regularized  R = E_p[min(v, v_min + lam)]; q moves p-mass on {v > v_min + lam} to s*.
  KL  regularized  R = m - lam log E_p exp(-(v - m)/lam);  q(s) ∝ p(s) exp(-v(s)/lam).
  KL  constrained  C = sup_{beta>0} -beta log E_p exp(-v/beta) - beta rho  (Hu & Hong 2013).
                   With theta = 1/beta and q_theta ∝ p exp(-theta v), the derivative of the
                   dual in beta is KL(q_theta||p) - rho, increasing in theta from 0 to
                   kappa = -log P(B); it is solved by safeguarded Halley steps in log theta
                   (d KL / d log theta = theta^2 Var_q(v), next derivative from the third
                   central moment). The value is the dual at the root
                   (flat there, so round-off in theta enters only at second order).
                   rho >= kappa gives C = m (q = p restricted to B); rho = 0 gives p.v.
  chi2 regularized q = p r with r = (c - v)_+ / (2 lam), E_p (c - v)_+ = 2 lam (c found exactly
                   on the piecewise-linear left side); the value is the stationary dual
                   R = c - lam - E_p[(c - v)_+^2] / (4 lam), robust to round-off in c.
  chi2 constrained the regularized solution at weight lam has chi2 = D(c) = E_p(c-v)_+^2 /
                   (E_p(c-v)_+)^2 - 1, decreasing in c; the active set A = {v < c*} with
                   D(c*) = rho is found exactly, and then, with W = P(A), mu and sigma^2 the
                   p-mean and variance of v on A:  C = mu - sqrt(sigma^2 (W (1 + rho) - 1)),
                   r = 1/W + (mu - v)/(2 lam) on A, 2 lam = sqrt(W^2 sigma^2 / (W (1 + rho) - 1)).
                   (Equals sup_a E_p[v]_a - sqrt(rho Var_p([v]_a)).)  rho >= 1/P(B) - 1 gives m.

The three threshold searches (TV constrained, both chi2) share _threshold, a bisection in
value space: each pass computes, branch-free (vectorized), the sums of p, p (v - m),
p (v - m)^2 below the midpoint and the number of support values on each side, until at most
32 candidates remain; those are sorted and scanned (about log2(S / 32) passes on spread-out
values; on clustered values more, and at worst a sort of the candidates left).
Minima and maxima use four running accumulators (a compare-and-select chain does not vectorize).
Exponentials go through _expneg, a branch-free exp for x <= 0 (Cody-Waite reduction plus a
degree-13 Taylor polynomial, within 2 ulp of libm) that LLVM vectorizes.

Limits: lam = 0 gives v_min (TV) or m (KL, chi2); rho = 0 gives p.v (q = p).
Ties: s* is the lowest index attaining v_min; the limit minimizers for KL/chi2 put q ∝ p on B.
Every kernel returns the value and, when q_out.shape[0] == S, writes a minimizer into q_out;
pass np.empty(0) to skip it.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

TV, KL, CHI2 = 0, 1, 2
_FAST = {"reassoc", "contract", "nsz"}  # lets LLVM vectorize sums; no nnan/ninf assumptions
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split for an exact k ln 2 (Cody-Waite)
_LN2_LO = 1.90821492927058770002e-10


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
@intrinsic
def _bits_to_float(typingctx, x):
    """Reinterpret the bits of an int64 as a float64."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@njit(inline="always")
def _expneg(x):
    """exp(x) for x <= 0 (x < -708 gives 0): x = k ln 2 + r, |r| <= ln2/2, Taylor to r^13."""
    ok = x >= -708.0
    x = max(x, -708.0)
    kf = np.floor(x * _LOG2E + 0.5)
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    y = 1.0 / 6227020800.0
    y = y * r + 1.0 / 479001600.0
    y = y * r + 1.0 / 39916800.0
    y = y * r + 1.0 / 3628800.0
    y = y * r + 1.0 / 362880.0
    y = y * r + 1.0 / 40320.0
    y = y * r + 1.0 / 5040.0
    y = y * r + 1.0 / 720.0
    y = y * r + 1.0 / 120.0
    y = y * r + 1.0 / 24.0
    y = y * r + 1.0 / 6.0
    y = y * r + 0.5
    y = y * r + 1.0
    y = y * r + 1.0
    return y * _bits_to_float((np.int64(kf) + 1023) << 52) if ok else 0.0


@njit(inline="always")
def _expm1neg(x):
    """exp(x) - 1 for x <= 0 (x < -708 gives -1), to relative round-off also for tiny |x|:
    with x = k ln 2 + r, exp(x) - 1 = 2^k expm1(r) + (2^k - 1), expm1(r) = r (1 + r/2 + ...)
    from the same Taylor polynomial as _expneg (branch-free, vectorizes)."""
    ok = x >= -708.0
    x = max(x, -708.0)
    kf = np.floor(x * _LOG2E + 0.5)
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    y = 1.0 / 6227020800.0
    y = y * r + 1.0 / 479001600.0
    y = y * r + 1.0 / 39916800.0
    y = y * r + 1.0 / 3628800.0
    y = y * r + 1.0 / 362880.0
    y = y * r + 1.0 / 40320.0
    y = y * r + 1.0 / 5040.0
    y = y * r + 1.0 / 720.0
    y = y * r + 1.0 / 120.0
    y = y * r + 1.0 / 24.0
    y = y * r + 1.0 / 6.0
    y = y * r + 0.5
    y = y * r + 1.0
    scale = _bits_to_float((np.int64(kf) + 1023) << 52)
    return scale * (y * r) + (scale - 1.0) if ok else -1.0


@njit(cache=True)
def expm1_nonpositive(x_arr, out):
    """out[i] = exp(x_arr[i]) - 1 for x_arr[i] <= 0 with the kernels' expm1 (for tests)."""
    for i in range(x_arr.shape[0]):
        out[i] = _expm1neg(x_arr[i])


@njit(cache=True)
def exp_nonpositive(x_arr, out):
    """out[i] = exp(x_arr[i]) for x_arr[i] <= 0 with the kernels' exponential (for tests)."""
    for i in range(x_arr.shape[0]):
        out[i] = _expneg(x_arr[i])


@njit(inline="always")
def _lower(x, lo):
    return x if x < lo else lo  # noqa: FURB136  (a plain select; numba min adds NaN logic)


@njit(inline="always")
def _upper(x, hi):
    return x if x > hi else hi  # noqa: FURB136


@njit(cache=True)
def _min_all(v):
    """min_s v(s). Four running minima: a compare-and-select chain does not vectorize, so one
    accumulator would wait on the previous comparison at every element."""
    n = v.shape[0]
    a0 = a1 = a2 = a3 = np.inf
    n4 = n - n % 4
    for i in range(0, n4, 4):
        a0 = _lower(v[i], a0)
        a1 = _lower(v[i + 1], a1)
        a2 = _lower(v[i + 2], a2)
        a3 = _lower(v[i + 3], a3)
    for i in range(n4, n):
        a0 = _lower(v[i], a0)
    return min(min(a0, a1), min(a2, a3))


@njit(cache=True)
def _argmin_all(v):
    """Lowest index of min_s v(s) over all states."""
    vmin = _min_all(v)
    for i in range(v.shape[0]):
        if v[i] == vmin:
            return i
    return 0


@njit(inline="always")
def _support_value(p, v, i, lo, hi):
    """(min, max) running over the support: states with p = 0 leave them unchanged."""
    x = v[i]
    sup = p[i] > 0.0
    return _lower(x if sup else np.inf, lo), _upper(x if sup else -np.inf, hi)


@njit(cache=True, fastmath=_FAST)
def _support_stats(p, v):
    """(m, M, P(B), p.v, sum p): min and max of v over supp p, p-mass where v = m, sum_s p v
    and the total mass (1 up to the caller's rounding; the KL and chi2 kernels divide by it).

    v must be finite (states outside supp p then add exact zeros to the sums)."""
    n = p.shape[0]
    mean = 0.0
    total = 0.0
    for i in range(n):
        mean += p[i] * v[i]
        total += p[i]
    a0 = a1 = a2 = a3 = np.inf
    b0 = b1 = b2 = b3 = -np.inf
    n4 = n - n % 4
    for i in range(0, n4, 4):
        a0, b0 = _support_value(p, v, i, a0, b0)
        a1, b1 = _support_value(p, v, i + 1, a1, b1)
        a2, b2 = _support_value(p, v, i + 2, a2, b2)
        a3, b3 = _support_value(p, v, i + 3, a3, b3)
    for i in range(n4, n):
        a0, b0 = _support_value(p, v, i, a0, b0)
    m = min(min(a0, a1), min(a2, a3))
    M = max(max(b0, b1), max(b2, b3))
    mass = 0.0
    for i in range(n):
        mass += p[i] if v[i] == m else 0.0
    return m, M, mass, mean, total


@njit(cache=True)
def _go_up(kind, w0, e1, e2, param):
    """Monotone criterion 'the threshold lies strictly above t', from the sums over
    {s in supp p : v(s) < t}: w0 = sum p, e1 = sum p (t - v), e2 = sum p (t - v)^2 (summed
    directly, not from moments about m: t - v is then exact to round-off even when most of the
    mass sits just below t). Nonincreasing in t (true, then false) for every real t >= m.
    kind 0 (TV, param = rho):        P(v < t) < 1 - rho
    kind 1 (chi2 reg, param = 2 lam): E_p (t - v)_+ < 2 lam
    kind 2 (chi2 con, param = rho):  E_p (t - v)_+^2 / (E_p (t - v)_+)^2 - 1 > rho (true at m)
    """
    if kind == 0:
        return w0 < 1.0 - param
    if kind == 1:
        return e1 < param
    if w0 <= 0.0 or e1 <= 0.0:
        return True
    return e2 > (1.0 + param) * e1 * e1


@njit(cache=True, fastmath=_FAST)
def _split(kind, p, v, m, x):
    """One pass at the pivot x: over {v < x}, the sums of p, p d, p d^2 (d = v - m), of
    p (x - v) and p (x - v)^2 (not for kind 0, which needs none of them), and the number of
    support states. Branch-free, so it vectorizes (v finite: p = 0 adds zeros)."""
    if kind == 0:
        w0 = 0.0
        w1 = 0.0
        w2 = 0.0
        count = 0.0
        for i in range(p.shape[0]):
            vi = v[i]
            d = vi - m
            below = vi < x
            pw = p[i] if below else 0.0
            w0 += pw
            w1 += pw * d
            w2 += pw * d * d
            count += 1.0 if (below and p[i] > 0.0) else 0.0
        return w0, w1, w2, 0.0, 0.0, count
    w0 = 0.0
    w1 = 0.0
    w2 = 0.0
    e1 = 0.0
    e2 = 0.0
    count = 0.0
    for i in range(p.shape[0]):
        vi = v[i]
        d = vi - m
        g = x - vi
        below = vi < x
        pw = p[i] if below else 0.0
        w0 += pw
        w1 += pw * d
        w2 += pw * d * d
        e1 += pw * g
        e2 += pw * g * g
        count += 1.0 if (below and p[i] > 0.0) else 0.0
    return w0, w1, w2, e1, e2, count


@njit(cache=True)
def _support_max_below(p, v, x):
    """Largest support value below x (-inf if none)."""
    b = -np.inf
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] < x and v[i] > b:
            b = v[i]
    return b


@njit(cache=True)
def _residual(kind, w0, e1, e2, param):
    """A residual increasing in t whose sign change is _go_up's switch (negative while it
    holds), from the same sums below t; used only to place the next pivot."""
    if kind == 0:
        return w0 - (1.0 - param)
    if kind == 1:
        return e1 - param
    if e1 <= 0.0:
        return -np.inf            # no mass below t: the criterion holds
    return (1.0 + param) - e2 / (e1 * e1)


@njit(cache=True, fastmath=_FAST)
def _moments(p, v, m, M):
    """Over all states (v finite; p = 0 adds zeros): sums of p, p (v - m), p (v - m)^2,
    p (M - v), p (M - v)^2, and the support size."""
    w0 = 0.0
    w1 = 0.0
    w2 = 0.0
    e1 = 0.0
    e2 = 0.0
    count = 0.0
    for i in range(p.shape[0]):
        d = v[i] - m
        g = M - v[i]
        w0 += p[i]
        w1 += p[i] * d
        w2 += p[i] * d * d
        e1 += p[i] * g
        e2 += p[i] * g * g
        count += 1.0 if p[i] > 0.0 else 0.0
    return w0, w1, w2, e1, e2, count


@njit(cache=True)
def _sort_pairs(xs, ws):
    """Sort xs ascending in place, carrying ws along (insertion sort when short)."""
    n = xs.shape[0]
    ordered = True
    for i in range(1, n):
        if xs[i] < xs[i - 1]:
            ordered = False
            break
    if ordered:
        return
    if n > 48:
        order = np.argsort(xs, kind="mergesort")
        xs[:] = xs[order]
        ws[:] = ws[order]
        return
    for i in range(1, n):
        x = xs[i]
        w = ws[i]
        j = i - 1
        while j >= 0 and xs[j] > x:
            xs[j + 1] = xs[j]
            ws[j + 1] = ws[j]
            j -= 1
        xs[j + 1] = x
        ws[j + 1] = w


_FEW = 32           # candidates left to the sort
_MAX_SPLITS = 64    # passes at most (then the candidates are sorted, however many)
# A search also stops when two pivots in a row removed no candidate (tied values).


@njit(cache=True)
def _threshold(p, v, m, M, kind, param):
    """Largest support value t with _go_up(kind, t, sums below t) true (it must hold at t = m).
    Returns (t, W, S1, S2): sums of p, p (v - m), p (v - m)^2 over {s in supp p : v(s) <= t}.

    Bracketing search in value space: each pass (_split) evaluates the monotone criterion at
    a pivot x in [lo, hi] from the sums below x and counts the support values on each side,
    until at most _FEW candidates remain; those are sorted and scanned. The pivot
    interpolates the residual (_residual) linearly between lo and hi (regula falsi with the
    Illinois correction, kept 5% inside the bracket; for chi2-regularized, between the chord's
    and the tangent's zeros of the convex residual); after two pivots in a row that did not
    halve the candidates, one bisection. A pass is a
    few vectorized operations per state: about three passes on spread-out values; clustered
    values need more and, at worst (no pivot left between lo and hi), a sort of the rest."""
    lo = m
    hi = M
    hi_closed = True
    c0 = 0.0                      # sums over {v < lo}
    c1 = 0.0
    c2 = 0.0
    d0 = 0.0                      # sums of p (lo - v), p (lo - v)^2 over {v < lo}
    d1 = 0.0
    r_lo = _residual(kind, 0.0, 0.0, 0.0, param)
    # everything lies below a pivot just above M (p (M - v) is 0 on the states at M)
    t0, t1, t2, f1, f2, n_hi = _moments(p, v, m, M)
    if _go_up(kind, t0, f1, f2, param):
        return M, t0, t1, t2        # the criterion still holds above M
    r_hi = _residual(kind, t0, f1, f2, param)
    w_hi = t0                     # P(v < hi): the residual's slope at hi for kind 1
    n_lo = 0.0                    # support states below lo; n_hi: in [m, hi] (or [m, hi))
    before = n_hi
    interpolate = True
    poor = 0                      # pivots in a row that did not halve the candidates
    stalled = 0                   # pivots in a row that removed no candidate
    last = 0                      # +1: lo moved last, -1: hi moved last
    for _ in range(_MAX_SPLITS):
        if n_hi - n_lo <= _FEW:
            break
        x = 0.5 * lo + 0.5 * hi
        if interpolate and -np.inf < r_lo < 0.0 < r_hi < np.inf and hi - lo < np.inf:
            frac = -r_lo / (r_hi - r_lo)
            if kind == 1 and w_hi > 0.0:
                # convex residual with slope W(t) = P(v < t): the root lies between the
                # chord's zero and the zero of the tangent at hi; aim between them
                frac = 0.5 * frac + 0.5 * (1.0 - r_hi / (w_hi * (hi - lo)))
            frac = min(max(frac, 0.05), 0.95)
            x = lo + frac * (hi - lo)
        if not (lo < x < hi):
            break
        w0, w1, w2, e1, e2, below = _split(kind, p, v, m, x)
        if _go_up(kind, w0, e1, e2, param):
            lo = x
            n_lo = below
            c0, c1, c2 = w0, w1, w2
            d0, d1 = e1, e2
            r_lo = _residual(kind, w0, e1, e2, param)
            if last == 1 and kind != 1:
                r_hi *= 0.5           # Illinois: the same end moved twice, pull the other in
            last = 1
        else:
            hi = x
            n_hi = below
            hi_closed = False
            w_hi = w0
            r_hi = _residual(kind, w0, e1, e2, param)
            if last == -1 and kind != 1:
                r_lo *= 0.5
            last = -1
        left = n_hi - n_lo
        stalled = stalled + 1 if left == before else 0
        if stalled >= 2:          # ties: the candidates share one value (or a few)
            break
        poor = poor + 1 if 2.0 * left > before else 0
        interpolate = poor < 2    # two pivots in a row that did not halve: bisect once
        if not interpolate:
            poor = 0
        before = left
    # candidates: the support values in [lo, hi] (or [lo, hi)), sorted
    size = int(n_hi - n_lo)
    xs = np.empty(size)
    ws = np.empty(size)
    cnt = 0
    for i in range(p.shape[0]):
        vi = v[i]
        if p[i] > 0.0 and vi >= lo and (vi < hi or (hi_closed and vi == hi)) and cnt < size:
            xs[cnt] = vi
            ws[cnt] = p[i]
            cnt += 1
    _sort_pairs(xs, ws)
    # below lo the criterion holds; the largest support value there is found only if needed
    t = m if lo == m else np.nan
    k = 0
    at = lo                       # d0, d1: sums of p (at - v), p (at - v)^2 over {v < at}
    while k < cnt:
        val = xs[k]
        step = val - at           # moving up by step adds c0 step to each sum of distances
        d1 = d1 + step * (2.0 * d0 + step * c0)
        d0 = d0 + step * c0
        at = val
        if not _go_up(kind, c0, d0, d1, param):
            break
        t = val
        d = val - m
        while k < cnt and xs[k] == val:
            c0 += ws[k]
            c1 += ws[k] * d
            c2 += ws[k] * d * d
            k += 1
    if np.isnan(t):
        t = _support_max_below(p, v, lo)
    return t, c0, c1, c2


@njit(cache=True, fastmath=_FAST)
def _variance(p, v, mean):
    """E_p (v - mean)^2 (v finite: states outside supp p add exact zeros)."""
    var = 0.0
    for i in range(p.shape[0]):
        dev = v[i] - mean
        var += p[i] * dev * dev
    return var


@njit(cache=True)
def _shifted_moments(p, v, m, M, total):
    """(E_p (v - m), Var_p v) with p normalized by total, both from the differences v - m (so
    they keep their digits when v is clustered far from 0); M = max of v on supp p."""
    s = 0.0
    for i in range(p.shape[0]):
        s += p[i] * (v[i] - m)
    mean_d = s / total
    return mean_d, _active_variance(p, v, m, M, mean_d) / total


@njit(cache=True)
def _restrict_to_min(p, v, m, mass, q_out):
    """q = p restricted to B = {v = m} and renormalized (the lam -> 0 / large-radius limit)."""
    for i in range(p.shape[0]):
        q_out[i] = p[i] / mass if (p[i] > 0.0 and v[i] == m) else 0.0


@njit(cache=True)
def _copy(p, q_out):
    for i in range(p.shape[0]):
        q_out[i] = p[i]


# ----------------------------------------------------------------------------------------------
# total variation
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def tv_constrained(p, v, radius, q_out):
    """inf_{q: 1/2 |q - p|_1 <= radius} q.v = sup_a E_p[v]_a - radius (a - v_min), v_min over all
    states; = v_min if radius >= P(v > v_min)."""
    want_q = q_out.shape[0] == v.shape[0]
    s_star = _argmin_all(v)
    vmin = v[s_star]
    m, M, mass, mean, _ = _support_stats(p, v)
    above = 1.0 - mass if m == vmin else 1.0  # P(v > v_min)
    if radius <= 0.0 or above <= 0.0:
        if want_q:
            _copy(p, q_out)
        return mean
    if radius >= above:
        if want_q:
            for i in range(p.shape[0]):
                q_out[i] = p[i] if v[i] == vmin else 0.0
            q_out[s_star] += above
        return vmin
    t, W, S1, _ = _threshold(p, v, m, M, 0, radius)
    # E_p[v]_t = sum_{v <= t} p v + P(v > t) t
    value = (m * W + S1) + (1.0 - W) * t - radius * (t - vmin)
    if want_q:
        rem = radius - (1.0 - W)  # mass to take from the states with v == t
        moved = 0.0
        for s in range(p.shape[0]):
            if p[s] > 0.0 and v[s] > t:
                q_out[s] = 0.0
                moved += p[s]
            elif p[s] > 0.0 and v[s] == t and rem > 0.0:
                cut = min(p[s], rem)
                q_out[s] = p[s] - cut
                rem -= cut
                moved += cut
            else:
                q_out[s] = p[s]
        q_out[s_star] += moved
    return value


@njit(cache=True)
def tv_regularized(p, v, lam, q_out):
    """inf_q q.v + lam 1/2 |q - p|_1 = E_p[min(v, v_min + lam)], v_min over all states."""
    want_q = q_out.shape[0] == v.shape[0]
    s_star = _argmin_all(v)
    cap = v[s_star] + lam
    value = 0.0
    for i in range(p.shape[0]):
        value += p[i] * min(v[i], cap)
    if want_q:
        moved = 0.0
        for i in range(p.shape[0]):
            if v[i] > cap:
                moved += p[i]
                q_out[i] = 0.0
            else:
                q_out[i] = p[i]
        q_out[s_star] += moved
    return value


# ----------------------------------------------------------------------------------------------
# Kullback-Leibler
# ----------------------------------------------------------------------------------------------
_SERIES = 2.0**-26      # spread / lam below this: two-term expansion in 1/lam (error < 1e-17)
_EXPM1 = 0.1            # spread / lam below this: log E_p exp(.) as log1p(E_p expm1(.))


@njit(cache=True, fastmath=_FAST)
def _kl_partition(p, v, m, lam):
    """E_p exp(-(v - m)/lam) (unnormalized); the min(., 0) keeps states outside supp p (p = 0)
    harmless."""
    z = 0.0
    for i in range(p.shape[0]):
        z += p[i] * _expneg(min((m - v[i]) / lam, 0.0))
    return z


@njit(cache=True, fastmath=_FAST)
def _kl_partition_m1(p, v, m, theta):
    """sum_s p(s) (exp(-theta (v(s) - m)) - 1), each term to relative round-off (so that the log
    of the partition function keeps its O(theta) terms when theta (v - m) is small)."""
    s = 0.0
    for i in range(p.shape[0]):
        s += p[i] * _expm1neg(min(-theta * (v[i] - m), 0.0))
    return s


@njit(cache=True)
def _log_partition(p, v, m, M, theta, total):
    """log E_p exp(-theta (v - m)) with p normalized by total: log1p(E_p expm1(.)) when
    theta (M - m) < _EXPM1 (log(z) would lose the O(theta) terms), else log(E_p exp(.))."""
    if theta * (M - m) < _EXPM1:
        return np.log1p(_kl_partition_m1(p, v, m, theta) / total)
    return np.log(_kl_partition(p, v, m, 1.0 / theta) / total)


@njit(cache=True)
def _kl_weights(p, v, m, lam, q_out):
    """q ∝ p exp(-(v - m)/lam) written into q_out (lam may be inf: q = p normalized).
    Normalized by the sum of the weights as written (not by 1 / _kl_partition: the fast-math
    sum and the reciprocal can leave sum q = 1 + a few ulp, and with q(s) ~ 1 that excess
    enters KL(q||p) directly, e.g. 1.1e-15 against a radius of 1e-15)."""
    tot = 0.0
    for i in range(p.shape[0]):
        qi = p[i] * _expneg(min((m - v[i]) / lam, 0.0))
        q_out[i] = qi
        tot += qi
    for i in range(p.shape[0]):
        q_out[i] /= tot


@njit(cache=True)
def kl_regularized(p, v, lam, q_out):
    """inf_q q.v + lam KL(q||p) = m - lam log E_p exp(-(v - m)/lam), m = min_{supp p} v;
    q ∝ p exp(-v/lam). Three regimes in r = (M - m)/lam: r < 2^-26 uses the expansion
    p.v - Var_p(v)/(2 lam) (next term below 1e-17 (M - m)); r < 1/10 uses log1p of the mean of
    expm1 (log z near 1 would lose lam * 1e-16); else log z directly."""
    want_q = q_out.shape[0] == v.shape[0]
    m, M, mass, mean, total = _support_stats(p, v)
    if lam <= 0.0:
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    mean_n = mean / total
    spread = M - m
    if spread <= _SERIES * lam:            # includes lam = inf and a constant v on supp p
        mean_d, var = _shifted_moments(p, v, m, M, total)
        value = m + (mean_d - 0.5 * (var / lam))
    elif spread < _EXPM1 * lam:
        value = m - lam * np.log1p(_kl_partition_m1(p, v, m, 1.0 / lam) / total)
    else:
        value = m - lam * np.log(_kl_partition(p, v, m, lam) / total)
    if want_q:
        _kl_weights(p, v, m, lam, q_out)
    return min(max(value, m), mean_n)


@njit(cache=True, fastmath=_FAST)
def _kl_tilt(p, v, m, theta):
    """(z, E_q x, Var_q x, k3) for q ∝ p exp(-x), x = theta w, w = v - m >= 0 on supp p; z is
    unnormalized and k3 is the third central moment of x under q (from raw moments: only steers
    Halley's step). The moments are of x, not w: they do not depend on the scale of v (with
    |v| ~ 1e-65 and p(m) = 1e-136, e w^3 underflowed to 0 and the wrong k3 stopped the root
    search early, 6e-5 off; the kernels rescale v only outside [2^-300, 2^300])."""
    z = 0.0
    z1 = 0.0
    z2 = 0.0
    z3 = 0.0
    for i in range(p.shape[0]):
        xi = theta * (v[i] - m)
        e = p[i] * _expneg(min(-xi, 0.0))
        z += e
        z1 += e * xi
        z2 += e * xi * xi
        z3 += e * xi * xi * xi
    e1 = z1 / z
    e2 = z2 / z
    var = max(e2 - e1 * e1, 0.0)
    k3 = z3 / z - 3.0 * e1 * e2 + 2.0 * e1 * e1 * e1
    return z, e1, var, k3


_KL_MAX_ITER = 200


@njit(cache=True, fastmath=_FAST)
def _kl_centered(p, v, m, theta, c):
    """(sum p e, sum p e (w - c), sum p e (w - c)^2) with e = exp(-theta (w - c)), w = v - m.
    With c = E_q w each p e is at most 1 (it is q(s) exp(-KL) times the normalization), so the
    exponent is capped at 709 only where p is subnormal."""
    z = 0.0
    z1 = 0.0
    z2 = 0.0
    for i in range(p.shape[0]):
        d = (v[i] - m) - c
        e = p[i] * np.exp(min(-theta * d, 709.0))
        z += e
        z1 += e * d
        z2 += e * d * d
    return z, z1, z2


@njit(cache=True)
def _kl_polish(p, v, m, total, radius, theta, c):
    """(theta', dual value at theta') with theta' <= theta the first of a few Newton steps down
    (in log theta) at which KL(q_theta'||p) <= radius, KL evaluated around c ~ E_q w:
    KL = -theta E_q (w - c) - log E_p exp(-theta (w - c)), whose terms stay small when q is
    concentrated far from m (there the uncentered form cancels terms of size theta (M - m))."""
    log_z_c = 0.0
    for _ in range(8):
        z, z1, z2 = _kl_centered(p, v, m, theta, c)
        mean_c = z1 / z
        log_z_c = np.log(z / total)
        h = -theta * mean_c - log_z_c - radius
        if h <= 0.0:
            break
        var = max(z2 / z - mean_c * mean_c, 0.0)
        slope = theta * theta * var
        step = 2.0 * h / slope if slope > 0.0 else 1e-12
        theta *= np.exp(-min(max(step, 1e-15), 1.0))
        c = c + mean_c
    # log E_p exp(-theta w) = log_z_c - theta c: the dual m - (log E_p e^{-theta w} + rho)/theta
    return theta, m + c - (log_z_c + radius) / theta


@njit(cache=True)
def kl_constrained(p, v, radius, q_out):
    """inf_{q: KL(q||p) <= radius} q.v = sup_{beta > 0} -beta log E_p exp(-v/beta) - beta radius;
    = m if radius >= -log P(B), = p.v if radius = 0; q ∝ p exp(-v/beta*).

    With theta = 1/beta, f(theta) = KL(q_theta||p) increases from 0 to kappa = -log P(B), and
    f(theta) <= theta^2 (M - m)^2 / 8 (the variance of w under any q is <= (M - m)^2 / 4), so
    u = log theta has f < radius at u_lo = log(sqrt(8 radius) / (M - m)). The root of
    f = radius is found in u by Halley/Newton steps safeguarded by the bracket [lo, hi]
    (bisection when a step leaves it or does not halve the step before last; expanding steps
    while no hi is known), and the result is taken at the last point with f <= radius: q is
    feasible, and the value is the dual there (a lower bound of the infimum, flat at the root)."""
    want_q = q_out.shape[0] == v.shape[0]
    m, M, mass, mean, total = _support_stats(p, v)
    mean_n = mean / total
    if radius <= 0.0:
        if want_q:
            _copy(p, q_out)
        return mean_n
    if radius >= -np.log(mass / total):
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    spread = M - m
    # p.v - value <= spread TV(q, p) <= spread sqrt(radius / 2) (Pinsker) below float
    # resolution: the value is p.v. (Not sqrt(2 radius Var_p v), the small-radius slope: with a
    # tiny mass far from p.v the ball reaches much further, e.g. p = (1 - 1e-160, 1e-160).)
    if spread * np.sqrt(0.5 * radius) <= 2.0**-56 * max(abs(m), abs(M)):
        if want_q:
            _copy(p, q_out)
        return mean_n
    var0 = _variance(p, v, mean_n) / total
    lo = np.log(np.sqrt(8.0 * radius) / spread)    # f < radius there (not evaluated)
    hi = np.inf
    u = max(0.5 * np.log(2.0 * radius / var0), lo)  # small-radius guess f ≈ theta^2 Var_p / 2
    u = min(u, 700.0)
    have_lo = False
    lo_theta = 0.0
    lo_log_z = 0.0
    lo_e1 = 0.0
    dx_old = np.inf                                # step before last (rtsafe's rule)
    dx = np.inf
    expand = 1.0
    converging = False
    for _ in range(_KL_MAX_ITER):
        theta = np.exp(u)
        z, ex, var_x, k3_x = _kl_tilt(p, v, m, theta)
        log_z = _log_partition(p, v, m, M, theta, total) if theta * spread < _EXPM1 \
            else np.log(z / total)
        h = -ex - log_z - radius
        if h <= 0.0:
            lo = u
            have_lo = True
            lo_theta = theta
            lo_log_z = log_z
            lo_e1 = ex / theta
            if h == 0.0 or converging:
                break
        else:
            hi = u
        if have_lo and hi - lo <= 1e-15 * max(1.0, abs(lo)):
            break
        slope = var_x                              # theta^2 Var_q w
        step = -h / slope if slope > 0.0 else np.inf
        # Halley: f'' = d/du theta^2 Var_q w = 2 theta^2 Var_q w - theta^3 k3(w)
        # (dVar/dtheta = -k3), theta^3 k3(w) = k3(x)
        curv = 2.0 * slope - k3_x
        denom = 2.0 * slope * slope - h * curv
        if slope > 0.0 and denom > 0.0:
            halley = -2.0 * h * slope / denom
            if abs(halley) <= 2.0 * abs(step):
                step = halley
        tiny = 1e-12 * max(1.0, abs(u))
        if abs(step) <= tiny:
            if h < 0.0:
                break                              # converged from the feasible side
            # converged from above: step just past the root estimate onto the feasible side
            step = 1.001 * step - tiny
            converging = True
        u_new = u + step
        if hi == np.inf:                           # no point above the root known yet
            if not (u < u_new < np.inf):
                u_new = u + expand
                expand *= 2.0
        elif not (lo < u_new < hi) or (not converging and abs(2.0 * step) > abs(dx_old)):
            u_new = 0.5 * (lo + hi)
            converging = False
        dx_old = dx
        dx = u_new - u
        u = min(u_new, 700.0)
    if not have_lo:                                # only the analytic lower end is known
        lo_theta = np.exp(lo)
        lo_log_z = _log_partition(p, v, m, M, lo_theta, total)
        lo_e1 = _kl_tilt(p, v, m, lo_theta)[1] / lo_theta
    theta = lo_theta
    value = m - (lo_log_z + radius) / theta
    if theta * spread >= _EXPM1 and theta * lo_e1 - lo_log_z > 64.0 * radius:
        # KL = theta E_q w - ... cancelled terms > 64 radius (mass far from m, e.g. m on a
        # mass of 1e-60): recheck feasibility around c = E_q w, where the terms are small
        theta, value = _kl_polish(p, v, m, total, radius, theta, lo_e1)
    if want_q:
        _kl_weights(p, v, m, 1.0 / theta, q_out)
    return min(max(value, m), mean_n)


# ----------------------------------------------------------------------------------------------
# chi-square
# ----------------------------------------------------------------------------------------------
@njit(cache=True, fastmath=_FAST)
def _positive_part_moment(p, v, m, cd):
    """E_p [(cd - (v - m))_+^2] (v finite: states outside supp p add exact zeros)."""
    e2 = 0.0
    for i in range(p.shape[0]):
        gap = max(cd - (v[i] - m), 0.0)
        e2 += p[i] * gap * gap
    return e2


@njit(cache=True, fastmath=_FAST)
def _active_variance(p, v, m, top, mu_d):
    """sum_{v <= top} p ((v - m) - mu_d)^2 (v finite: states outside supp p add exact zeros)."""
    ss = 0.0
    for i in range(p.shape[0]):
        dev = (v[i] - m) - mu_d
        ss += p[i] * dev * dev if v[i] <= top else 0.0
    return ss


@njit(cache=True)
def _active_deviation(p, v, vk, top, off):
    """(D, sum_{A} p (dev / D)^2) with dev(s) = off - (v(s) - vk) the deviation from the mean
    of A = {s in supp p : v(s) <= top} (off = E_A[v - vk]) and D = max_A |dev| (0: v constant
    on A). Scaled by D, the sum is at least p(s') for a state s' with |dev(s')| = D, so terms
    that underflow cost at most S 2^-1074 against it (relative 1e-23 for masses >= 1e-300);
    unscaled, the variance itself can underflow (masses of 1e-300, values a few ulp apart)."""
    D = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] <= top:
            D = max(D, abs(off + (vk - v[i])))
    if D == 0.0:
        return 0.0, 0.0
    ss = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] <= top:
            x = (off + (vk - v[i])) / D
            ss += p[i] * x * x
    return D, ss


@njit(cache=True)
def _heavy_offset(p, v, top):
    """(k, E_A[v] - v(k)) over A = {s in supp p : v(s) <= top}, k the heaviest state of A,
    the mean summed as E_A[v - v(k)]: the minimizers' ratios q/p are affine in v, and taking
    them around v(k) (where q/p ~ 1 and the mass is) keeps sum_s q(s) = 1 to round-off;
    around m, E_A v - v(k) would lose ~1e-16 |v| / |E_A v - v(k)| of its digits, which the
    normalization then spreads over the small states (e.g. a chi2 of 1 + 6e-9 for radius 1)."""
    k = -1
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] <= top and (k < 0 or p[i] > p[k]):
            k = i
    vk = v[k]
    off = 0.0
    wa = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] <= top:
            off += p[i] * (v[i] - vk)
            wa += p[i]
    return k, off / wa


@njit(cache=True, fastmath=_FAST)
def _gap_sum(p, v, M):
    """sum_s p(s) (M - v(s)) (v finite: states outside supp p add exact zeros)."""
    g = 0.0
    for i in range(p.shape[0]):
        g += p[i] * (M - v[i])
    return g


@njit(cache=True)
def chi2_regularized(p, v, lam, q_out):
    """inf_q q.v + lam chi2(q||p) = c - lam - E_p[(c - v)_+^2]/(4 lam) with E_p (c - v)_+ = 2 lam;
    q = p (c - v)_+ / (2 lam). When every support state is active (2 lam >= M - p.v, so
    c = p.v + 2 lam >= M) this is exactly p.v - Var_p(v)/(4 lam), which is used there: the
    general form would cancel terms of size lam (all digits lost from lam ~ 1e16 (M - m))."""
    want_q = q_out.shape[0] == v.shape[0]
    m, M, mass, mean, total = _support_stats(p, v)
    if lam <= 0.0:
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    mean_n = mean / total
    # all of supp p active (includes lam = inf) iff 2 lam >= E_p (M - v); M - p.v cancels when
    # the mass sits near M, so near the switch E_p (M - v) is summed directly
    band = 1e-10 * max(abs(m), abs(M))
    active = 2.0 * lam >= (M - mean_n) + band
    if not active and 2.0 * lam + band >= M - mean_n:
        active = 2.0 * lam >= _gap_sum(p, v, M) / total
    if active:
        mean_d, var = _shifted_moments(p, v, m, M, total)
        value = m + (mean_d - 0.25 * (var / lam))
        if want_q:
            # q/p = 1 + (p.v - v)/(2 lam), p.v - v(s) = (p.v - v(k)) + (v(k) - v(s)) around the
            # heaviest state k (see _heavy_offset)
            k, off = _heavy_offset(p, v, M)
            inv = 0.5 / lam
            tot = 0.0
            for i in range(p.shape[0]):
                qi = p[i] * max(1.0 + (off + (v[k] - v[i])) * inv, 0.0) if p[i] > 0.0 else 0.0
                q_out[i] = qi
                tot += qi
            for i in range(p.shape[0]):
                q_out[i] /= tot
        return min(max(value, m), mean_n)
    t, W, _, _ = _threshold(p, v, m, M, 1, 2.0 * lam)
    # c - v(s) = (c - v(k)) + (v(k) - v(s)) around the heaviest active state k, with
    # c - v(k) = (2 lam + E_A[v - v(k)] P(A)) / P(A) (see _heavy_offset), E_p (c - v)_+ = 2 lam
    # on the active set A = {v <= t}. The dual below is stationary in c but has curvature
    # P(A) / (2 lam): an error d in the gap c - v(k) of the heaviest state costs p(k) d^2 / (4 lam).
    # Around k that gap is ck itself (error eps ck); around m it was (c - m) - (v(k) - m),
    # off by eps (v(k) - m) (p = (1, 1e-114, 4e-218), lam = 2e-134: value off by 1.2e-11)
    k, off = _heavy_offset(p, v, t)
    ck = 2.0 * lam / W + off
    e2 = _positive_part_moment(p, v, v[k], ck)
    value = v[k] + (ck - lam - e2 / (4.0 * lam))
    if want_q:
        tot = 0.0
        for i in range(p.shape[0]):
            gap = ck + (v[k] - v[i])
            qi = p[i] * gap if (p[i] > 0.0 and gap > 0.0) else 0.0
            q_out[i] = qi
            tot += qi
        if tot > 0.0:
            for i in range(p.shape[0]):
                q_out[i] /= tot
        else:  # lam so small that c rounds to m
            _restrict_to_min(p, v, m, mass, q_out)
    return min(max(value, m), mean_n)


@njit(cache=True)
def chi2_constrained(p, v, radius, q_out):
    """inf_{q: chi2(q||p) <= radius} q.v = sup_a E_p[v]_a - sqrt(radius Var_p([v]_a))
    = mu_A - sqrt(sigma_A^2 (P(A)(1 + radius) - 1)), A = {v < c*}; = m if radius >= 1/P(B) - 1."""
    want_q = q_out.shape[0] == v.shape[0]
    m, M, mass, mean, total = _support_stats(p, v)
    mean_n = mean / total
    if radius <= 0.0:
        if want_q:
            _copy(p, q_out)
        return mean_n
    if radius >= total / mass - 1.0:
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    var0 = _variance(p, v, mean_n) / total
    # first-order deviation sqrt(radius Var_p v) below float resolution (e.g. subnormal radii,
    # where W (1 + radius) - 1 rounds to 0): the value is p.v
    if np.sqrt(radius * var0) <= 2.0**-56 * max(abs(m), abs(M)):
        if want_q:
            _copy(p, q_out)
        return mean_n
    top, W, _, _ = _threshold(p, v, m, M, 2, radius)
    W_A = W                       # sum of p over A (not divided by total)
    # mean and variance of v on A around the heaviest active state k (exact differences for
    # clustered values; second pass for the variance: no cancellation). The variance enters
    # the value as sqrt(var slack), with slack up to ~radius: it must be accurate relative to
    # itself, not to (v - m)^2. Centred at the mean of d = v - m, the heavy state's deviation
    # d(k) - E_A d is off by ~eps |d(k)| (a rounding of the mean), and var by ~eps^2 d(k)^2,
    # which can dwarf var when the rest of A is tiny: p = (5.9e-232, 2.2e-26, 1), radius
    # 1.4e48 had var 1.6e-206 computed as 4.9e-32, value off by 3.8e-5. Around v(k) the
    # offset off = E_A[v - v(k)] is off by ~eps E_A|v - v(k)| <= eps sqrt(|A| var) (as
    # var >= P(k|A) off^2 >= off^2 / |A|), so var keeps its relative accuracy.
    k, off = _heavy_offset(p, v, top)
    vk = v[k]
    # Var_A v = D^2 sd_s^2, kept as the two factors (see _active_deviation)
    D, ss = _active_deviation(p, v, vk, top, off)
    sd_s = np.sqrt(ss / W)
    # slack = W (1 + radius) - 1 (>= 0 at the threshold; the ball's chi2 at the minimizer is
    # (1 + slack) / W - 1, so W and slack must come from the same W). Two forms:
    # * radius - P(v > top) (1 + radius), W = 1 - P(v > top): exact in the all-active case,
    #   and for radius <= 1 its round-off is ~eps radius (W (1 + radius) would round a radius
    #   below 1e-13 to a few digits);
    # * W (1 + radius) - 1 with W = P(A) summed directly: round-off ~eps (1 + slack). For
    #   radius > 1 the first form loses ~eps radius absolutely (e.g. radius 1e6: slack off by
    #   2.6e-10; radius 3e16 with P(A) = 3e-17: 1 - P(v > top) rounds to 0, slack to 0).
    above = 0.0
    if top < M:
        for i in range(p.shape[0]):
            above += p[i] if v[i] > top else 0.0
    above /= total
    if above > 0.0 and radius > 1.0:
        W = W / total
        slack = max(W * (1.0 + radius) - 1.0, 0.0)
    else:
        W = 1.0 - above
        slack = max(radius - above * (1.0 + radius), 0.0)
    root = np.sqrt(slack)
    value = vk + (off - D * sd_s * root)
    if want_q and (slack == 0.0 or D == 0.0):
        # the value is mu_A: q = p restricted to A and renormalized (chi2 = 1/P(A) - 1 = radius)
        tot = 0.0
        for i in range(p.shape[0]):
            qi = p[i] if (p[i] > 0.0 and v[i] <= top) else 0.0
            q_out[i] = qi
            tot += qi
        for i in range(p.shape[0]):
            q_out[i] /= tot
    elif want_q:
        # q/p = 1/W + (mu - v) / (2 lam) with 2 lam = W sqrt(Var_A v / slack), i.e.
        # q = P(s|A) (1 + z(s) sqrt(slack)) with the score z(s) = (mu - v(s)) / sqrt(Var_A v)
        # = (dev(s) / D) / sd_s. Formed this way no intermediate leaves the float range:
        # P(s|A) z(s)^2 <= 1, so |z(s)| sqrt(slack) <= sqrt(W (1 + radius) / P(s|A)), about
        # 1e300 at most for masses >= 1e-300 and radii <= 1e300. (2 lam itself underflowed:
        # p = (2.3e-228, 5.4e-26, 1), radius 4.8e86 gave 2 lam = 1.7e-158 from the subnormal
        # W^2 var / slack = 2.9e-316, q(0) 4e-9 off and chi2(q) = radius (1 + 8.5e-9); with
        # p(0) = 2e-236 it rounded to 0: ZeroDivisionError.) P(s|A) = p(s) / W_A, both sums
        # unnormalized; mu - v(s) = (mu - v(k)) + (v(k) - v(s)) around the heaviest state k.
        tot = 0.0
        for i in range(p.shape[0]):
            if p[i] > 0.0 and v[i] <= top:
                z = ((off + (vk - v[i])) / D) / sd_s
                qi = (p[i] / W_A) * max(1.0 + z * root, 0.0)
            else:
                qi = 0.0
            q_out[i] = qi
            tot += qi
        for i in range(p.shape[0]):
            q_out[i] /= tot
    return min(max(value, m), mean_n)


# ----------------------------------------------------------------------------------------------
# input check (the public wrappers' fast path)
# ----------------------------------------------------------------------------------------------
@njit(cache=True, fastmath=_FAST)
def valid_total(p, v, tol):
    """sum(p) if p is a probability vector (finite, >= 0, sums to 1 within tol) and v is
    finite, else NaN (the caller then finds and reports the offending entry). One
    branch-free pass: a NaN or infinity anywhere turns x * 0 into NaN."""
    total = 0.0
    negative = 0.0
    nonfinite = 0.0
    for i in range(p.shape[0]):
        pi = p[i]
        total += pi
        negative += min(pi, 0.0)
        nonfinite += pi * 0.0 + v[i] * 0.0
    if negative == 0.0 and nonfinite == 0.0 and abs(total - 1.0) <= tol:
        return total
    return np.nan


# ----------------------------------------------------------------------------------------------
# dispatch
# ----------------------------------------------------------------------------------------------
_SCALE_HI = 2.0**300    # max |v| above this or below _SCALE_LO: solve on v scaled by a power
_SCALE_LO = 2.0**-300   # of two (cubes and squares of v then neither overflow nor underflow)


@njit(cache=True)
def _abs_max(v):
    """max_s |v(s)| (four running maxima, as in _min_all)."""
    n = v.shape[0]
    a0 = a1 = a2 = a3 = 0.0
    n4 = n - n % 4
    for i in range(0, n4, 4):
        a0 = _upper(abs(v[i]), a0)
        a1 = _upper(abs(v[i + 1]), a1)
        a2 = _upper(abs(v[i + 2]), a2)
        a3 = _upper(abs(v[i + 3]), a3)
    for i in range(n4, n):
        a0 = _upper(abs(v[i]), a0)
    return max(max(a0, a1), max(a2, a3))


@njit(cache=True, fastmath=_FAST)
def _out_of_range(v):
    """Whether max_s |v(s)| is above 2^300, or in (0, 2^-300): counts of |v| > 2^300, of
    |v| >= 2^-300 and of v != 0, branch-free (vectorizes; the maximum itself would not)."""
    big = 0.0
    normal = 0.0
    nonzero = 0.0
    for i in range(v.shape[0]):
        a = abs(v[i])
        big += 1.0 if a > _SCALE_HI else 0.0
        normal += 1.0 if a >= _SCALE_LO else 0.0
        nonzero += 1.0 if a > 0.0 else 0.0
    return big > 0.0 or (normal == 0.0 and nonzero > 0.0)


@njit(cache=True)
def value_exponent(v):
    """0 if max_s |v(s)| lies in [2^-300, 2^300] (or v = 0), else the k with max |v| = f 2^k,
    f in [1/2, 1): the kernels then work on v 2^-k (exact for every entry that stays normal;
    the others are below 2^-1022 of max |v|)."""
    if not _out_of_range(v):
        return 0
    return math.frexp(_abs_max(v))[1]


@njit(cache=True)
def scale_values(v, k, out):
    """out = v 2^-k (exact for entries that stay normal)."""
    for i in range(v.shape[0]):
        out[i] = math.ldexp(v[i], -k)


@njit(cache=True)
def _dispatch(p, v, div, regularized, param, q_out):
    if regularized:
        if div == TV:
            return tv_regularized(p, v, param, q_out)
        if div == KL:
            return kl_regularized(p, v, param, q_out)
        return chi2_regularized(p, v, param, q_out)
    if div == TV:
        return tv_constrained(p, v, param, q_out)
    if div == KL:
        return kl_constrained(p, v, param, q_out)
    return chi2_constrained(p, v, param, q_out)


@njit(cache=True)
def scaled_inner_problem(p, vs, k, div, regularized, param, q_out):
    """inner_problem(p, v, ...) for v = vs 2^k, given vs = scale_values(v, k) (k from
    value_exponent(v); k = 0: vs is v). Both problems are scale equivariant: the constrained
    value of a v is a times that of v, the regularized one at weight lam is a times that of v at
    weight lam / a, and the minimizers are the same."""
    if k == 0:
        return _dispatch(p, vs, div, regularized, param, q_out)
    prm = math.ldexp(param, -k) if regularized else param
    return math.ldexp(_dispatch(p, vs, div, regularized, prm, q_out), k)


@njit(cache=True)
def inner_problem(p, v, div, regularized, param, q_out):
    """Value of the inner problem for divergence code div (0 tv, 1 kl, 2 chi2); param is the
    radius (regularized=False) or lam (regularized=True, lam = inf allowed: the nominal p.v).
    Writes a minimizer into q_out when q_out.shape[0] == v.shape[0] (pass np.empty(0) to
    skip). Values with max |v| outside [2^-300, 2^300] are solved scaled by a power of two
    (scaled_inner_problem)."""
    k = value_exponent(v)
    if k == 0:
        return _dispatch(p, v, div, regularized, param, q_out)
    vs = np.empty(v.shape[0])
    scale_values(v, k, vs)
    return scaled_inner_problem(p, vs, k, div, regularized, param, q_out)


@njit(cache=True)
def inner_problem_rows(Prows, v, div, regularized, params, out):
    """out[i] = inner_problem(Prows[i], v, div, regularized, params[i]) for each row i."""
    skip = np.empty(0)
    for i in range(Prows.shape[0]):
        out[i] = inner_problem(Prows[i], v, div, regularized, params[i], skip)
