"""Worst-case means over divergence balls: the robust "inner problems".

  worst_case_mean(p, v, D, rho)           = inf_{q in simplex, D(q||p) <= rho} q.v
  regularized_worst_case_mean(p, v, D, lam) = inf_{q in simplex} q.v + lam D(q||p)

with D one of 'tv' (1/2 L1), 'kl', 'chi2' (:mod:`mdptheory.models.uncertainty`). Both are
computed exactly (closed forms and exact one-dimensional searches, see
:mod:`mdptheory.kernels.robust`); limits: rho = 0 gives p.v, lam = 0 gives min_s v(s) over all
states for TV and over supp p for KL/chi2.
"""
from __future__ import annotations

import numpy as np

from ..kernels import robust as _kernels
from ..models import _validate
from ..models.uncertainty import parse


def _inputs(p, v):
    if (type(p) is np.ndarray and type(v) is np.ndarray and p.dtype == np.float64
            and v.dtype == np.float64 and p.ndim == 1 and v.shape == p.shape):
        total = _kernels.valid_total(p, v, _validate.SIMPLEX_TOL)   # one compiled pass
        if abs(total - 1.0) <= 1e-12:
            return p, v     # rescaling would move values by < 1e-12 relative; kernels only read
        if not np.isnan(total):
            return p / total, v
    # the full checks, which name the offending argument and index
    p_arr = _validate.as_float_array("p", p)
    _validate.shape("p", p_arr, ndim=1)
    _validate.simplex("p", p_arr)
    v_arr = _validate.as_float_array("v", v)
    _validate.shape("v", v_arr, expected=p_arr.shape)
    _validate.finite("v", v_arr)
    p_arr /= p_arr.sum()  # within 1e-8 of 1 already; the kernels assume exactly 1
    return p_arr, v_arr


def _solve(p, v, divergence, param, name, regularized, return_q):
    div = parse(divergence)
    p_arr, v_arr = _inputs(p, v)
    value = param if type(param) is float and 0.0 <= param < np.inf \
        else _validate.real(name, param, lo=0.0)
    q = np.empty(p_arr.shape[0] if return_q else 0)
    out = float(_kernels.inner_problem(p_arr, v_arr, div, regularized, value, q))
    return (out, q) if return_q else out


def worst_case_mean(p, v, divergence, radius, *, return_q: bool = False):
    """inf_{q: D(q||p) <= radius} q.v.

    Parameters
    ----------
    p : array_like of shape (S,)
        Nominal distribution (entries >= 0, sum 1 within 1e-8; zeros allowed).
    v : array_like of shape (S,)
        Finite values.
    divergence : str or Divergence
        'tv', 'kl' or 'chi2'.
    radius : float
        Radius rho >= 0 of the ball.
    return_q : bool
        Also return a minimizer q (on the simplex, D(q||p) <= radius, q.v = value).

    Returns
    -------
    float, or (float, ndarray of shape (S,)) when ``return_q``.

    Raises
    ------
    TypeError
        Non-numeric p/v/radius, or divergence not a string.
    ValueError
        p not a probability vector, v of another shape or not finite, radius < 0 or not
        finite, unknown divergence.
    """
    return _solve(p, v, divergence, radius, "radius", False, return_q)


def regularized_worst_case_mean(p, v, divergence, lam, *, return_q: bool = False):
    """inf_q q.v + lam D(q||p); same parameters as :func:`worst_case_mean` with the weight
    ``lam >= 0`` in place of the radius."""
    return _solve(p, v, divergence, lam, "lam", True, return_q)


def divergence_value(q, p, divergence) -> float:
    """D(q||p) for 'tv' (1/2 sum |q - p|), 'kl' and 'chi2' (inf unless q << p)."""
    div = parse(divergence)
    p_arr = _validate.as_float_array("p", p)
    _validate.shape("p", p_arr, ndim=1)
    _validate.simplex("p", p_arr)
    q_arr = _validate.as_float_array("q", q)
    _validate.shape("q", q_arr, expected=p_arr.shape)
    _validate.simplex("q", q_arr)
    if div == 0:
        return float(0.5 * np.abs(q_arr - p_arr).sum())
    supp = p_arr > 0
    if np.any(q_arr[~supp] > 0):
        return float("inf")
    qs, ps = q_arr[supp], p_arr[supp]
    if div == 1:
        pos = qs > 0
        return float(np.sum(qs[pos] * np.log(qs[pos] / ps[pos])))
    return float(np.sum((qs - ps) ** 2 / ps))
