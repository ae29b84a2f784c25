"""Slow, independent references for the robust inner problems, in mpmath (for tests only).

    regularized_value(p, v, D, lam) = inf_q q.v + lam D(q||p)
    constrained_value(p, v, D, rho) = inf_{q: D(q||p) <= rho} q.v

for D = 'tv' (1/2 L1), 'kl', 'chi2'. Written from the definitions, not from
:mod:`mdptheory.kernels.robust`: the float64 inputs are converted exactly to mpmath numbers
and p is normalized by its exact sum; the regularized values come from their closed forms
(docs/papers/r2pvi.md) evaluated with enough digits for the cancellation they involve; the
constrained value is the Lagrangian dual

    C(rho) = sup_{lam >= 0} R(lam) - lam rho,

a concave maximization in lam (R is an infimum of affine functions of lam), done by golden
section in log lam over a bracket that contains the maximizer: its upper end is provable,
dR/dlam = D(q_lam||p) is at most (M - m)^2 / (8 lam^2) for KL and (M - m)^2 / (16 lam^2) for
chi2 (M - m the range of v on supp p), and 0 for TV once lam >= max v - min v; the lower end is
found by stepping down by factors 10^10 until the objective decreases (down to 10^-1200 times
the upper end, below which the lam -> 0 limit is used). So the search works for masses down
to the smallest subnormal and weights up to the largest float, where float64 references (and
cvxpy) lose their digits.
"""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np

__all__ = ["constrained_value", "divergence", "regularized_value"]

DPS = 50                 # working digits (more where a closed form cancels)
_GOLDEN_STEPS = 120      # golden-section steps in log lam (bracket shrinks by 0.618 each)


def _mp(x) -> list:
    return [mp.mpf(float(t)) for t in np.asarray(x, dtype=np.float64)]


def _normalized(p):
    ps = _mp(p)
    total = mp.fsum(ps)
    return [t / total for t in ps]


def _support(p, v):
    return [(pi, vi) for pi, vi in zip(p, v) if pi > 0]


def _regularized(p, v, div: str, lam):
    """R(lam) with p normalized (mp numbers), lam an mp number or mp.inf."""
    sup = _support(p, v)
    if div == "tv":
        vmin = min(v)                        # over all states: TV may move mass anywhere
        if lam == 0:
            return vmin
        return mp.fsum(pi * min(vi, vmin + lam) for pi, vi in sup)
    m = min(vi for _, vi in sup)
    if lam == 0:
        return m
    if lam == mp.inf:
        return mp.fsum(pi * vi for pi, vi in sup)
    spread = max(vi for _, vi in sup) - m
    if spread == 0:
        return m
    if div == "kl":
        # m - lam log E_p exp(-(v - m)/lam): for lam >= spread the sum of expm1 terms keeps the
        # O(1/lam) part that 1 + ... would round away; below, the sum of positive terms keeps
        # P(v = m) however small it is
        if lam >= spread:
            return m - lam * mp.log1p(mp.fsum(pi * mp.expm1(-(vi - m) / lam) for pi, vi in sup))
        return m - lam * mp.log(mp.fsum(pi * mp.exp(-(vi - m) / lam) for pi, vi in sup))
    # chi2: q = p (c - v)_+ / (2 lam), c from E_p (c - v)_+ = 2 lam (piecewise linear in c)
    pts = sorted(sup, key=lambda t: t[1])
    W = S1 = mp.mpf(0)
    c = None
    for k, (pi, vi) in enumerate(pts):
        W += pi
        S1 += pi * vi
        c_k = (2 * lam + S1) / W
        if k == len(pts) - 1 or c_k <= pts[k + 1][1]:
            c = c_k
            break
    return c - lam - mp.fsum(pi * max(c - vi, 0) ** 2 for pi, vi in sup) / (4 * lam)


def _digits_for(lam, spread, scale) -> int:
    """Extra digits for the chi2 closed form c - lam - E_p (c - v)_+^2 / (4 lam), c from
    E_p (c - v)_+ = 2 lam (spread = range of v on supp p, scale = max |v| there):

    * lam >> spread: c ~ 2 lam + v, so terms of size lam cancel to a value of size spread:
      log10(lam / spread) more digits.
    * lam << scale: the form is stationary in c, with curvature W / (2 lam) (W = P(v < c) <= 1),
      so an error dc in c costs W dc^2 / (4 lam), always downwards (every c gives a lower bound
      of the infimum). With d digits, dc ~ 10^-d scale; d = DPS + log10(scale / lam) / 2 + 5
      makes the loss at most 10^-(2 DPS + 10) scale / 4. (Without it: p = (1, 6.2e-37),
      v = (9.57, -6.81), lam = 1e-300 gave -1.8e163, below min v: c - v(1) = 3.2e-264 was lost
      at 50 digits and the curvature 3e263 squared the error into the value.)
    """
    if spread == 0 or lam == 0 or lam == mp.inf:
        return 0
    large = int(mp.ceil(mp.log10(lam / spread))) + 5
    small = int(mp.ceil(mp.log10(scale / lam) / 2)) + 5
    return max(0, large, small)


def _spread(p, v, div):
    if div == "tv":
        return max(v) - min(v)
    vals = [vi for _, vi in _support(p, v)]
    return max(vals) - min(vals)


def _scale(p, v):
    """max |v| on supp p (the size of the values the chi2 closed form works with)."""
    return max(abs(vi) for _, vi in _support(p, v))


def regularized_value(p, v, divergence: str, lam) -> mp.mpf:
    """inf_q q.v + lam D(q||p) for float arrays p (S,), v (S,) and a float lam >= 0 (inf
    allowed), as an mpmath number."""
    with mp.workdps(DPS):
        pm, vm = _normalized(p), _mp(v)
        lam_m = mp.inf if math.isinf(lam) else mp.mpf(float(lam))
        extra = _digits_for(lam_m, _spread(pm, vm, divergence), _scale(pm, vm)) \
            if divergence == "chi2" else 0
    with mp.workdps(DPS + extra):
        pm, vm = _normalized(p), _mp(v)
        return +_regularized(pm, vm, divergence, lam_m)


def constrained_value(p, v, divergence: str, radius) -> mp.mpf:
    """inf_{q: D(q||p) <= radius} q.v for float arrays p, v and a float radius >= 0."""
    with mp.workdps(DPS):
        pm, vm = _normalized(p), _mp(v)
        rho = mp.mpf(float(radius))
        if rho == 0:
            return mp.fsum(pi * vi for pi, vi in zip(pm, vm))
        spread = _spread(pm, vm, divergence)
        scale = _scale(pm, vm)
        if spread == 0:
            return _regularized(pm, vm, divergence, mp.mpf(0)) if divergence == "tv" \
                else min(vi for pi, vi in zip(pm, vm) if pi > 0)
        # maximizer of R(lam) - lam rho lies in [0, hi] (module docstring)
        hi = spread if divergence == "tv" else spread * max(1, 1 / mp.sqrt(rho))

    def g(log_lam):
        lam = mp.exp(log_lam)
        extra = _digits_for(lam, spread, scale) if divergence == "chi2" else 0
        if extra == 0:
            return _regularized(pm, vm, divergence, lam) - lam * rho
        with mp.workdps(DPS + extra):           # p normalized again at this precision
            return +(_regularized(_normalized(p), vm, divergence, lam) - lam * rho)

    with mp.workdps(DPS):
        # bracket from above: lam = hi 10^-10j until g stops increasing (g is unimodal in
        # log lam), or lam is negligible (then the sup is the lam -> 0 end, taken below)
        step = 10 * mp.log(10)
        b = mp.log(hi)
        x, fx = b - step, g(b - step)
        while x > b - 120 * step:
            f_next = g(x - step)
            if f_next < fx:
                break
            x, fx = x - step, f_next
        a, b = x - step, min(b, x + step)
        invphi = (mp.sqrt(5) - 1) / 2
        x1, x2 = b - invphi * (b - a), a + invphi * (b - a)
        f1, f2 = g(x1), g(x2)
        for _ in range(_GOLDEN_STEPS):
            if f1 < f2:
                a, x1, f1 = x1, x2, f2
                x2 = a + invphi * (b - a)
                f2 = g(x2)
            else:
                b, x2, f2 = x2, x1, f1
                x1 = b - invphi * (b - a)
                f1 = g(x1)
        ends = (_regularized(pm, vm, divergence, mp.mpf(0)), g(mp.log(hi)))
        return max(f1, f2, *ends)


def divergence(q, p, divergence: str) -> mp.mpf:
    """D(q||p) of two float arrays, exactly as mpmath numbers (inf unless q << p for KL and
    chi2); p is normalized by its sum, q is taken as given."""
    with mp.workdps(DPS):
        pm, qm = _normalized(p), _mp(q)
        if divergence == "tv":
            return mp.fsum(abs(a - b) for a, b in zip(qm, pm)) / 2
        if any(a > 0 and b == 0 for a, b in zip(qm, pm)):
            return mp.inf
        if divergence == "kl":
            return mp.fsum(a * mp.log(a / b) for a, b in zip(qm, pm) if a > 0)
        return mp.fsum((a - b) ** 2 / b for a, b in zip(qm, pm) if b > 0)
