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

Closed forms / exact algorithms used (all O(S) expected time, no sorting):
  TV  constrained  move delta = min(rho, P(v > v_min)) of mass from the highest-v states of
                   supp p onto s*; the cut is a weighted quantile found by quickselect.
                   (Equivalently sup_a E_p[v]_a - rho (a - v_min).)
  TV  regularized  R = E_p[min(v, v_min + lam)]; q moves p-mass on {v > v_min + lam} to s*.
  KL  regularized  R = m - lam log E_p exp(-(v - m)/lam);  q(s) ∝ p(s) exp(-v(s)/lam).
  KL  constrained  C = sup_{beta>0} -beta log E_p exp(-v/beta) - beta rho  (Hu & Hong 2013).
                   With theta = 1/beta and q_theta ∝ p exp(-theta v), the derivative of the
                   dual in beta is KL(q_theta||p) - rho, increasing in theta from 0 to
                   kappa = -log P(B); it is solved by safeguarded Newton in log theta.
                   rho >= kappa gives C = m (q = p restricted to B); rho = 0 gives p.v.
  chi2 regularized q = p r with r = (c - v)_+ / (2 lam), E_p (c - v)_+ = 2 lam; c is found by
                   quickselect on the piecewise-linear E_p (c - v)_+, and the value is the
                   (stationary, hence round-off-robust) dual
                   R = c - lam - E_p[(c - v)_+^2] / (4 lam).
  chi2 constrained the regularized solution with c(lam) has D(lam) = E_p(c-v)_+^2 /
                   (E_p(c-v)_+)^2 - 1, decreasing in c; quickselect finds the active set
                   A = {v < c*} with D = rho, and then, with W = P(A), mu/sigma^2 the p-mean and
                   variance of v on A:  C = mu - sqrt(sigma^2 (W (1 + rho) - 1)),
                   r = 1/W + (mu - v)/(2 lam) on A, lam = sqrt(W sigma^2 / (4 (rho + 1 - 1/W))).
                   (Equals sup_a E_p[v]_a - sqrt(rho Var_p([v]_a)).)  rho >= 1/P(B) - 1 gives m.

Limits: lam = 0 gives v_min (TV) or m (KL, chi2); rho = 0 gives p.v (q = p).
Ties: s* is the lowest index attaining v_min; the limit minimizers for KL/chi2 put q ∝ p on B.
Every kernel returns the value and, when q_out.shape[0] == S, writes a minimizer into q_out;
pass np.empty(0) to skip it.
"""
import numpy as np
from numba import njit

TV, KL, CHI2 = 0, 1, 2


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def _argmin_all(v):
    """Lowest index of min_s v(s) over all states."""
    best = 0
    for i in range(1, v.shape[0]):
        if v[i] < v[best]:
            best = i
    return best


@njit(cache=True)
def _support_min(p, v):
    """(m, P(B), p.v): min of v over supp p, p-mass of the states attaining it, and E_p v."""
    m = np.inf
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] < m:
            m = v[i]
    mass = 0.0
    mean = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0:
            mean += p[i] * v[i]
            if v[i] == m:
                mass += p[i]
    return m, mass, mean


@njit(cache=True)
def _gather_support(p, v, above):
    """Copies (v(s), p(s)) for s in supp p with v(s) > above into two new arrays."""
    n = 0
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] > above:
            n += 1
    x = np.empty(n)
    w = np.empty(n)
    k = 0
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] > above:
            x[k] = v[i]
            w[k] = p[i]
            k += 1
    return x, w


@njit(cache=True)
def _pivot(x, lo, hi):
    """Median of x[lo], x[mid], x[hi - 1]."""
    a, b, c = x[lo], x[(lo + hi) // 2], x[hi - 1]
    if a < b:
        if b < c:
            return b
        return c if a < c else a
    if a < c:
        return a
    return c if b < c else b


@njit(cache=True)
def _partition3(x, w, lo, hi, t):
    """Reorders x[lo:hi] (w alongside) into [< t | == t | > t]; returns the two cut indices."""
    i, k, j = lo, lo, hi
    while k < j:
        xk = x[k]
        if xk < t:
            x[k], x[i] = x[i], xk
            w[k], w[i] = w[i], w[k]
            i += 1
            k += 1
        elif xk > t:
            j -= 1
            x[k], x[j] = x[j], xk
            w[k], w[j] = w[j], w[k]
        else:
            k += 1
    return i, j


@njit(cache=True)
def _sums(x, w, lo, hi):
    """(sum w, sum w x, sum w x^2) over [lo, hi)."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    for k in range(lo, hi):
        s0 += w[k]
        s1 += w[k] * x[k]
        s2 += w[k] * x[k] * x[k]
    return s0, s1, s2


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
    """inf_{q: 1/2 |q - p|_1 <= radius} q.v = p.v - (delta mass taken from the top of v) + delta
    v_min, delta = min(radius, P(v > v_min)), v_min over all states (mass goes to s*)."""
    want_q = q_out.shape[0] == v.shape[0]
    s_star = _argmin_all(v)
    vmin = v[s_star]
    x, w = _gather_support(p, v, vmin)
    above = 0.0  # P(v > v_min)
    mean = 0.0
    for i in range(p.shape[0]):
        mean += p[i] * v[i]
    for k in range(x.shape[0]):
        above += w[k]
    delta = min(radius, above)
    if delta <= 0.0:
        if want_q:
            _copy(p, q_out)
        return mean
    # weighted quickselect: threshold t with W(v > t) < delta <= W(v >= t)
    lo, hi = 0, x.shape[0]
    need = delta
    taken = 0.0    # mass strictly above the active range (all removed)
    taken_v = 0.0  # its p-weighted value
    t = vmin
    rem = 0.0      # mass to remove from the states with v == t
    found = False
    while hi > lo:
        t = _pivot(x, lo, hi)
        i, j = _partition3(x, w, lo, hi, t)
        wg, sg, _ = _sums(x, w, j, hi)
        if taken + wg > need:
            lo = j
            continue
        we, _, _ = _sums(x, w, i, j)
        if taken + wg + we >= need:
            taken += wg
            taken_v += sg
            rem = need - taken
            found = True
            break
        taken += wg + we
        taken_v += sg + we * t
        hi = i
    if not found:
        # only reachable through round-off in the masses: everything above v_min is moved
        rem = 0.0
        t = vmin
        need = taken
    value = mean - taken_v - rem * t + need * vmin
    if want_q:
        left = rem
        for s in range(p.shape[0]):
            if p[s] > 0.0 and v[s] > t:
                q_out[s] = 0.0
            elif p[s] > 0.0 and v[s] == t and t > vmin and left > 0.0:
                cut = min(p[s], left)
                q_out[s] = p[s] - cut
                left -= cut
            else:
                q_out[s] = p[s]
        q_out[s_star] += need
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
@njit(cache=True)
def kl_regularized(p, v, lam, q_out):
    """inf_q q.v + lam KL(q||p) = m - lam log E_p exp(-(v - m)/lam), m = min_{supp p} v;
    q ∝ p exp(-v/lam)."""
    want_q = q_out.shape[0] == v.shape[0]
    m, mass, _ = _support_min(p, v)
    if lam <= 0.0:
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    z = 0.0
    for i in range(p.shape[0]):
        # min(., 0) keeps exp finite on states outside supp p, where p = 0 anyway
        z += p[i] * np.exp(min((m - v[i]) / lam, 0.0))
    if want_q:
        for i in range(p.shape[0]):
            q_out[i] = p[i] * np.exp(min((m - v[i]) / lam, 0.0)) / z
    return m - lam * np.log(z)


@njit(cache=True)
def _kl_tilt(p, v, m, theta):
    """(z, E_q w, Var_q w) for q ∝ p exp(-theta w), w = v - m >= 0 on supp p."""
    z = 0.0
    z1 = 0.0
    z2 = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0:
            wi = v[i] - m
            e = p[i] * np.exp(-theta * wi)
            z += e
            z1 += e * wi
            z2 += e * wi * wi
    e1 = z1 / z
    var = z2 / z - e1 * e1
    return z, e1, max(var, 0.0)


@njit(cache=True)
def kl_constrained(p, v, radius, q_out):
    """inf_{q: KL(q||p) <= radius} q.v = sup_{beta > 0} -beta log E_p exp(-v/beta) - beta radius;
    = m if radius >= -log P(B), = p.v if radius = 0; q ∝ p exp(-v/beta*)."""
    want_q = q_out.shape[0] == v.shape[0]
    m, mass, mean = _support_min(p, v)
    if radius <= 0.0:
        if want_q:
            _copy(p, q_out)
        return mean
    if radius >= -np.log(mass):
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    # f(theta) = KL(q_theta || p) = -theta E_q w - log z, df/du = theta^2 Var_q w, u = log theta.
    var0 = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0:
            var0 += p[i] * (v[i] - mean) * (v[i] - mean)
    u = 0.5 * np.log(2.0 * radius / var0)  # small-radius approximation f ≈ theta^2 Var_p / 2
    lo = -np.inf
    hi = np.inf
    best_u = u
    best_gap = np.inf
    for _ in range(200):
        theta = np.exp(u)
        z, e1, var = _kl_tilt(p, v, m, theta)
        h = -theta * e1 - np.log(z) - radius
        if h > 0.0:
            hi = u
        else:
            lo = u
        if abs(h) < best_gap or (h <= 0.0 and abs(h) == best_gap):
            best_gap = abs(h)
            best_u = u
        if h == 0.0 or hi - lo <= 1e-15 * max(1.0, abs(u)):
            break
        slope = theta * theta * var
        step = -h / slope if slope > 0.0 else np.inf
        u_new = u + step
        if not (u_new > lo and u_new < hi) or step != step:
            if lo > -np.inf and hi < np.inf:
                u_new = 0.5 * (lo + hi)
            elif h > 0.0:
                u_new = u - 2.0
            else:
                u_new = u + 2.0
        elif abs(step) > 2.0 and (lo == -np.inf or hi == np.inf):
            u_new = u + (2.0 if step > 0.0 else -2.0)
        if abs(u_new - u) <= 1e-15 * max(1.0, abs(u)):
            break
        u = u_new
    theta = np.exp(best_u)
    z, _, _ = _kl_tilt(p, v, m, theta)
    value = m - (np.log(z) + radius) / theta
    if want_q:
        for i in range(p.shape[0]):
            q_out[i] = p[i] * np.exp(-theta * (v[i] - m)) / z if p[i] > 0.0 else 0.0
    return value


# ----------------------------------------------------------------------------------------------
# chi-square
# ----------------------------------------------------------------------------------------------
@njit(cache=True)
def chi2_regularized(p, v, lam, q_out):
    """inf_q q.v + lam chi2(q||p) = c - lam - E_p[(c - v)_+^2]/(4 lam) with E_p (c - v)_+ = 2 lam;
    q = p (c - v)_+ / (2 lam)."""
    want_q = q_out.shape[0] == v.shape[0]
    m, mass, _ = _support_min(p, v)
    if lam <= 0.0:
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    target = 2.0 * lam
    x, w = _gather_support(p, v, -np.inf)
    # quickselect on phi(t) = E_p (t - v)_+, increasing, phi(m) = 0 < target
    lo, hi = 0, x.shape[0]
    acc_w = 0.0  # p-mass strictly below the active range
    acc_s = 0.0  # its p-weighted value
    while hi > lo:
        t = _pivot(x, lo, hi)
        i, j = _partition3(x, w, lo, hi, t)
        wl, sl, _ = _sums(x, w, lo, i)
        phi = t * (acc_w + wl) - (acc_s + sl)
        if phi >= target:
            hi = i
        else:
            we, se, _ = _sums(x, w, i, j)
            acc_w += wl + we
            acc_s += sl + se
            lo = j
    c = (target + acc_s) / acc_w
    e2 = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] < c:
            e2 += p[i] * (c - v[i]) * (c - v[i])
    value = c - lam - e2 / (4.0 * lam)
    if want_q:
        tot = 0.0
        for i in range(p.shape[0]):
            qi = p[i] * (c - v[i]) if (p[i] > 0.0 and v[i] < c) else 0.0
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
    m, mass, mean = _support_min(p, v)
    if radius <= 0.0:
        if want_q:
            _copy(p, q_out)
        return mean
    if radius >= 1.0 / mass - 1.0:
        if want_q:
            _restrict_to_min(p, v, m, mass, q_out)
        return m
    x, w = _gather_support(p, v, -np.inf)
    # quickselect on D(t) = E_p(t - v)_+^2 / (E_p(t - v)_+)^2 - 1, decreasing in t; c* > t iff
    # D(t) > radius.  Sums are taken relative to m to limit cancellation.
    lo, hi = 0, x.shape[0]
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    while hi > lo:
        t = _pivot(x, lo, hi)
        i, j = _partition3(x, w, lo, hi, t)
        w0 = a0
        w1 = a1
        w2 = a2
        for k in range(lo, i):
            d = x[k] - m
            w0 += w[k]
            w1 += w[k] * d
            w2 += w[k] * d * d
        go_up = True
        if w0 > 0.0:
            tt = t - m
            e1 = tt * w0 - w1
            e2 = tt * tt * w0 - 2.0 * tt * w1 + w2
            go_up = e2 > (1.0 + radius) * e1 * e1
        if go_up:
            a0, a1, a2 = w0, w1, w2
            for k in range(i, j):
                d = x[k] - m
                a0 += w[k]
                a1 += w[k] * d
                a2 += w[k] * d * d
            lo = j
        else:
            hi = i
    # exact evaluation on the active set A = {v <= largest accumulated value}, two-pass moments
    top = -np.inf
    for k in range(lo):
        if x[k] > top:
            top = x[k]
    W = 0.0
    S1 = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] <= top:
            W += p[i]
            S1 += p[i] * v[i]
    mu = S1 / W
    ss = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0 and v[i] <= top:
            ss += p[i] * (v[i] - mu) * (v[i] - mu)
    var = ss / W
    slack = max(W * (1.0 + radius) - 1.0, 0.0)
    value = mu - np.sqrt(var * slack)
    if want_q:
        # r = 1/W + (mu - v)/(2 lam), 2 lam = sqrt(W var / (radius + 1 - 1/W))
        two_lam = np.sqrt(W * W * var / slack)
        tot = 0.0
        for i in range(p.shape[0]):
            if p[i] > 0.0 and v[i] <= top:
                qi = p[i] * max(1.0 / W + (mu - v[i]) / two_lam, 0.0)
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
