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
                   kappa = -log P(B); it is solved by safeguarded Newton in log theta
                   (d KL / d log theta = theta^2 Var_q(v)). The value is the dual at the root
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

The three threshold searches (TV constrained, both chi2) share _threshold: one pass puts the
support into value buckets with per-bucket sums of p, p (v - m), p (v - m)^2; a scan of the
buckets locates the bucket holding the threshold, and only that bucket is sorted (O(S) on
spread-out values, O(S log S) in the worst case where all values share a bucket).
Exponentials go through _expneg, a branch-free exp for x <= 0 (Cody-Waite reduction plus a
degree-13 Taylor polynomial, within 2 ulp of libm) that LLVM vectorizes.

Limits: lam = 0 gives v_min (TV) or m (KL, chi2); rho = 0 gives p.v (q = p).
Ties: s* is the lowest index attaining v_min; the limit minimizers for KL/chi2 put q ∝ p on B.
Every kernel returns the value and, when q_out.shape[0] == S, writes a minimizer into q_out;
pass np.empty(0) to skip it.
"""
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


@njit(cache=True)
def exp_nonpositive(x_arr, out):
    """out[i] = exp(x_arr[i]) for x_arr[i] <= 0 with the kernels' exponential (for tests)."""
    for i in range(x_arr.shape[0]):
        out[i] = _expneg(x_arr[i])


@njit(cache=True)
def _argmin_all(v):
    """Lowest index of min_s v(s) over all states."""
    best = 0
    for i in range(1, v.shape[0]):
        if v[i] < v[best]:
            best = i
    return best


@njit(cache=True)
def _support_stats(p, v):
    """(m, M, P(B), p.v): min and max of v over supp p, p-mass where v = m, and E_p v."""
    m = np.inf
    M = -np.inf
    mean = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0:
            vi = v[i]
            mean += p[i] * vi
            m = min(m, vi)
            M = max(M, vi)
    mass = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] == m:
            mass += p[i]
    return m, M, mass, mean


@njit(cache=True)
def _go_up(kind, t, m, w0, w1, w2, param):
    """Monotone criterion 'the threshold lies strictly above the support value t', from the
    sums over {s in supp p : v(s) < t}: w0 = sum p, w1 = sum p (v - m), w2 = sum p (v - m)^2.
    kind 0 (TV, param = rho):        P(v < t) < 1 - rho
    kind 1 (chi2 reg, param = 2 lam): E_p (t - v)_+ < 2 lam
    kind 2 (chi2 con, param = rho):  E_p (t - v)_+^2 / (E_p (t - v)_+)^2 - 1 > rho (true at m)
    """
    if kind == 0:
        return w0 < 1.0 - param
    tt = t - m
    e1 = tt * w0 - w1
    if kind == 1:
        return e1 < param
    if w0 <= 0.0:
        return True
    e2 = (tt * w0 - 2.0 * w1) * tt + w2
    return e2 > (1.0 + param) * e1 * e1


@njit(cache=True)
def _threshold(p, v, m, M, kind, param):
    """Largest support value t with _go_up(kind, t, sums below t) true (it must hold at t = m
    and be monotone in t). Returns (t, W, S1, S2): sums of p, p (v - m), p (v - m)^2 over
    {s in supp p : v(s) <= t}.

    Buckets: b(s) = min(floor((v(s) - m) K / (M - m)), K - 1) is nondecreasing in v(s), so the
    bucket order is the sorted order; scanning bucket minima finds the bucket holding t, and
    only that bucket is sorted."""
    n = p.shape[0]
    K = n // 4 + 1
    width = M - m
    scale = K / width if width > 0.0 else 0.0
    if not scale < np.inf:
        scale = 0.0
    bw = np.zeros(K)
    b1 = np.zeros(K)
    b2 = np.zeros(K)
    bmin = np.full(K, np.inf)
    bidx = np.empty(n, np.int64)
    for i in range(n):
        if p[i] > 0.0:
            d = v[i] - m
            b = min(np.int64(d * scale), K - 1)
            bidx[i] = b
            bw[b] += p[i]
            b1[b] += p[i] * d
            if kind == 2:
                b2[b] += p[i] * d * d
            bmin[b] = min(bmin[b], v[i])
        else:
            bidx[i] = -1
    w0 = 0.0
    w1 = 0.0
    w2 = 0.0
    best = 0
    c0 = 0.0
    c1 = 0.0
    c2 = 0.0
    for b in range(K):
        if bmin[b] < np.inf:
            if not _go_up(kind, bmin[b], m, w0, w1, w2, param):
                break
            best = b
            c0, c1, c2 = w0, w1, w2
            w0 += bw[b]
            w1 += b1[b]
            w2 += b2[b]
    cnt = 0
    for i in range(n):
        if bidx[i] == best:
            cnt += 1
    xs = np.empty(cnt)
    ws = np.empty(cnt)
    k = 0
    for i in range(n):
        if bidx[i] == best:
            xs[k] = v[i]
            ws[k] = p[i]
            k += 1
    order = np.argsort(xs)
    t = xs[order[0]]
    k = 0
    while k < cnt:
        val = xs[order[k]]
        if k > 0 and not _go_up(kind, val, m, c0, c1, c2, param):
            break
        t = val
        d = val - m
        while k < cnt and xs[order[k]] == val:
            wk = ws[order[k]]
            c0 += wk
            c1 += wk * d
            c2 += wk * d * d
            k += 1
    return t, c0, c1, c2


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
    m, M, mass, mean = _support_stats(p, v)
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
@njit(cache=True, fastmath=_FAST)
def _kl_partition(p, v, m, lam):
    """E_p exp(-(v - m)/lam); the min(., 0) keeps states outside supp p (p = 0) harmless."""
    z = 0.0
    for i in range(p.shape[0]):
        z += p[i] * _expneg(min((m - v[i]) / lam, 0.0))
    return z


@njit(cache=True)
def kl_regularized(p, v, lam, q_out):
    """inf_q q.v + lam KL(q||p) = m - lam log E_p exp(-(v - m)/lam), m = min_{supp p} v;
    q ∝ p exp(-v/lam)."""
    want_q = q_out.shape[0] == v.shape[0]
    m, _, mass, _ = _support_stats(p, v)
    if lam <= 0.0:
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    z = _kl_partition(p, v, m, lam)
    if want_q:
        for i in range(p.shape[0]):
            q_out[i] = p[i] * _expneg(min((m - v[i]) / lam, 0.0)) / z
    return m - lam * np.log(z)


@njit(cache=True, fastmath=_FAST)
def _kl_tilt(p, v, m, theta):
    """(z, E_q w, Var_q w) for q ∝ p exp(-theta w), w = v - m >= 0 on supp p."""
    z = 0.0
    z1 = 0.0
    z2 = 0.0
    for i in range(p.shape[0]):
        wi = v[i] - m
        e = p[i] * _expneg(min(-theta * wi, 0.0))
        z += e
        z1 += e * wi
        z2 += e * wi * wi
    e1 = z1 / z
    return z, e1, max(z2 / z - e1 * e1, 0.0)


@njit(cache=True)
def _log_z_small_theta(p, v, m, theta):
    """log E_p exp(-theta (v - m)) as log1p(sum_i p_i expm1(-theta (v_i - m))): exact to relative
    round-off even when theta (v - m) is tiny, where log(z) loses the O(theta) terms."""
    s = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0:
            s += p[i] * np.expm1(-theta * (v[i] - m))
    return np.log1p(s)


@njit(cache=True)
def kl_constrained(p, v, radius, q_out):
    """inf_{q: KL(q||p) <= radius} q.v = sup_{beta > 0} -beta log E_p exp(-v/beta) - beta radius;
    = m if radius >= -log P(B), = p.v if radius = 0; q ∝ p exp(-v/beta*)."""
    want_q = q_out.shape[0] == v.shape[0]
    m, M, mass, mean = _support_stats(p, v)
    if radius <= 0.0:
        if want_q:
            _copy(p, q_out)
        return mean
    if radius >= -np.log(mass):
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    # f(theta) = KL(q_theta || p) = -theta E_q w - log z, df/du = theta^2 Var_q w, u = log theta
    var0 = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0:
            var0 += p[i] * (v[i] - mean) * (v[i] - mean)
    # first-order deviation sqrt(2 radius Var_p v) below float resolution: the value is p.v
    if np.sqrt(2.0 * radius * var0) <= 1e-17 * max(1.0, abs(mean)):
        if want_q:
            _copy(p, q_out)
        return mean
    u = 0.5 * np.log(2.0 * radius / var0)  # small-radius approximation f ≈ theta^2 Var_p / 2
    u = min(u, 700.0)
    lo = -np.inf
    hi = np.inf
    best_theta = np.exp(u)
    best_z = 1.0
    best_gap = np.inf
    for _ in range(200):
        theta = np.exp(u)
        z, e1, var = _kl_tilt(p, v, m, theta)
        small = theta * (M - m) < 0.1
        log_z = _log_z_small_theta(p, v, m, theta) if small else np.log(z)
        h = -theta * e1 - log_z - radius
        if h > 0.0:
            hi = u
        else:
            lo = u
        if abs(h) < best_gap:
            best_gap = abs(h)
            best_theta = theta
            best_z = z
        if h == 0.0 or hi - lo <= 1e-15 * max(1.0, abs(u)):
            break
        slope = theta * theta * var
        step = -h / slope if slope > 0.0 else np.inf
        u_new = u + step
        if not (u_new > lo and u_new < hi):
            if lo > -np.inf and hi < np.inf:
                u_new = 0.5 * (lo + hi)
            elif h > 0.0:
                u_new = u - 2.0
            else:
                u_new = u + 2.0
        elif abs(step) > 2.0 and (lo == -np.inf or hi == np.inf):
            u_new = u + (2.0 if step > 0.0 else -2.0)
        elif abs(step) <= 1e-12 * max(1.0, abs(u)):
            # u is within ~1e-12 of the root (Newton converges quadratically); the dual is
            # flat there, so the value is off by O(1e-24) and KL(q||p) by ~1e-12 relative
            break
        u = min(u_new, 700.0)
    theta = best_theta
    z = best_z
    # value = m - (log z + radius) / theta divides by theta: keep log z exact for small theta
    log_z = _log_z_small_theta(p, v, m, theta) if theta * (M - m) < 0.1 else np.log(z)
    value = m - (log_z + radius) / theta
    if want_q:
        for i in range(p.shape[0]):
            q_out[i] = p[i] * _expneg(min(-theta * (v[i] - m), 0.0)) / z
    return value


# ----------------------------------------------------------------------------------------------
# chi-square
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def chi2_regularized(p, v, lam, q_out):
    """inf_q q.v + lam chi2(q||p) = c - lam - E_p[(c - v)_+^2]/(4 lam) with E_p (c - v)_+ = 2 lam;
    q = p (c - v)_+ / (2 lam)."""
    want_q = q_out.shape[0] == v.shape[0]
    m, M, mass, _ = _support_stats(p, v)
    if lam <= 0.0:
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    _, W, S1, _ = _threshold(p, v, m, M, 1, 2.0 * lam)
    # work with d = v - m (exact for v near m): c - v = cd - d keeps its relative accuracy
    # when the values are clustered far from 0
    cd = (2.0 * lam + S1) / W  # E_p (c - v)_+ = 2 lam on the active set {v <= t}, c = m + cd
    e2 = 0.0
    for i in range(p.shape[0]):
        gap = cd - (v[i] - m)
        if p[i] > 0.0 and gap > 0.0:
            e2 += p[i] * gap * gap
    value = m + (cd - lam - e2 / (4.0 * lam))
    if want_q:
        tot = 0.0
        for i in range(p.shape[0]):
            gap = cd - (v[i] - m)
            qi = p[i] * gap if (p[i] > 0.0 and gap > 0.0) else 0.0
            q_out[i] = qi
            tot += qi
        if tot > 0.0:
            for i in range(p.shape[0]):
                q_out[i] /= tot
        else:  # lam so small that c rounds to m
            _restrict_to_min(p, v, m, mass, q_out)
    return value


@njit(cache=True)
def chi2_constrained(p, v, radius, q_out):
    """inf_{q: chi2(q||p) <= radius} q.v = sup_a E_p[v]_a - sqrt(radius Var_p([v]_a))
    = mu_A - sqrt(sigma_A^2 (P(A)(1 + radius) - 1)), A = {v < c*}; = m if radius >= 1/P(B) - 1."""
    want_q = q_out.shape[0] == v.shape[0]
    m, M, mass, mean = _support_stats(p, v)
    if radius <= 0.0:
        if want_q:
            _copy(p, q_out)
        return mean
    if radius >= 1.0 / mass - 1.0:
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    var0 = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0:
            var0 += p[i] * (v[i] - mean) * (v[i] - mean)
    # first-order deviation sqrt(radius Var_p v) below float resolution (e.g. subnormal radii,
    # where W (1 + radius) - 1 rounds to 0): the value is p.v
    if np.sqrt(radius * var0) <= 1e-17 * max(1.0, abs(mean)):
        if want_q:
            _copy(p, q_out)
        return mean
    top, W, S1, _ = _threshold(p, v, m, M, 2, radius)
    # moments of d = v - m on A (exact differences for clustered values), second pass for
    # the variance: no cancellation
    mu_d = S1 / W
    ss = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] <= top:
            dev = (v[i] - m) - mu_d
            ss += p[i] * dev * dev
    var = ss / W
    slack = max(W * (1.0 + radius) - 1.0, 0.0)
    value = m + (mu_d - np.sqrt(var * slack))
    if want_q and slack == 0.0:
        _copy(p, q_out)
    elif want_q:
        two_lam = np.sqrt(W * W * var / slack)
        tot = 0.0
        for i in range(p.shape[0]):
            if p[i] > 0.0 and v[i] <= top:
                qi = p[i] * max(1.0 / W + (mu_d - (v[i] - m)) / two_lam, 0.0)
            else:
                qi = 0.0
            q_out[i] = qi
            tot += qi
        for i in range(p.shape[0]):
            q_out[i] /= tot
    return value


# ----------------------------------------------------------------------------------------------
# dispatch
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def inner_problem(p, v, div, regularized, param, q_out):
    """Value of the inner problem for divergence code div (0 tv, 1 kl, 2 chi2); param is the
    radius (regularized=False) or lam (regularized=True). Writes a minimizer into q_out when
    q_out.shape[0] == v.shape[0] (pass np.empty(0) to skip)."""
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
def inner_problem_rows(Prows, v, div, regularized, params, out):
    """out[i] = inner_problem(Prows[i], v, div, regularized, params[i]) for each row i."""
    skip = np.empty(0)
    for i in range(Prows.shape[0]):
        out[i] = inner_problem(Prows[i], v, div, regularized, params[i], skip)
