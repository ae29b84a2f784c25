"""Shared input checks for every public boundary of mdptheory.

Each check raises ``ValueError`` or ``TypeError`` with a message naming the argument, the
offending index and its value, e.g. ``"P[2, 5, 1] sums to 0.93, expected 1 (tolerance 1e-08)"``.
All checks are O(size of the input) and allocate at most one temporary of the input's size.

Probability rows (transition rows, policies, initial distributions, factor measures) are held to
``|sum - 1| <= 1e-8`` (``SIMPLEX_TOL``), or, for input stored in a lower precision than float64
(float32, float16), to ``max(1e-8, n * eps)`` for rows of length n, the worst-case rounding of a
sum of n numbers in that precision. Accepted rows are then renormalised in float64
(:func:`normalize`; rows already within 16 float64 eps = 3.6e-15 of 1 are kept bit for bit), so
every model sums to 1 to within float64 rounding: a row summing to
1 + 1e-8 would otherwise act as a discount of gamma (1 + 1e-8), which at gamma = 0.9999 moves
values by ~1e-4 V / (1 - gamma).
"""
from __future__ import annotations

import numbers

import numpy as np

SIMPLEX_TOL = 1e-8  # |sum - 1| tolerance for probability rows
ROUNDING_TOL = 16 * float(np.finfo(np.float64).eps)   # rows this close to 1 are kept as given
DIVERGENCES = {"tv": 0, "kl": 1, "chi2": 2}
_DIVERGENCE_ALIASES = {"tv": "tv", "total_variation": "tv", "kl": "kl", "chi2": "chi2",
                       "chi-square": "chi2", "chi_square": "chi2", "chisquare": "chi2",
                       "chi2_divergence": "chi2"}


def _index(idx) -> str:
    return ", ".join(str(int(i)) for i in idx)


def as_float_array(name: str, x, *, copy: bool = True) -> np.ndarray:
    """float64 array copy of ``x``; TypeError if it is not numeric or if it is complex (its
    imaginary part would be dropped silently)."""
    if x is None:
        raise TypeError(f"{name} must be an array of numbers, got None")
    if isinstance(x, str):
        raise TypeError(f"{name} must be an array of numbers, got the string {x!r}")
    if np.iscomplexobj(x):
        raise TypeError(f"{name} must be real, got complex values (dtype "
                        f"{np.asarray(x).dtype}); pass the real part explicitly if that is meant")
    try:
        arr = np.array(x, dtype=np.float64, copy=True) if copy else np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}") from exc
    return arr


def shape(name: str, x: np.ndarray, *, ndim: int | None = None, expected: tuple | None = None):
    """Check ``x.ndim == ndim`` and/or ``x.shape == expected`` (None entries are free)."""
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {x.shape}")
    if expected is not None:
        if x.ndim != len(expected) or any(e is not None and e != g
                                          for e, g in zip(expected, x.shape)):
            parts = ["*" if e is None else str(e) for e in expected]
            want = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
            raise ValueError(f"{name} must have shape {want}, got {x.shape}")


def finite(name: str, x: np.ndarray):
    """No NaN or infinity anywhere in ``x``."""
    bad = ~np.isfinite(x)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), x.shape) if x.ndim else ()
        where = f"{name}[{_index(idx)}]" if x.ndim else name
        raise ValueError(f"{where} is {float(x[idx])}, expected a finite number")


def interval(name: str, x: np.ndarray, lo: float, hi: float, *, tol: float = 1e-12):
    """All entries finite and in [lo, hi] (up to ``tol``)."""
    finite(name, x)
    bad = (x < lo - tol) | (x > hi + tol)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), x.shape) if x.ndim else ()
        where = f"{name}[{_index(idx)}]" if x.ndim else name
        val = x[idx] if x.ndim else x
        raise ValueError(f"{where} is {val:.6g}, expected a value in [{lo}, {hi}]")


def simplex_tol(source, n: int) -> float:
    """Tolerance on row sums for probability rows of length ``n`` given as ``source``: 1e-8,
    or ``n * eps`` of the source's floating dtype if that is coarser than float64 (a float32
    row normalised in float32 is off by up to ~n * 1.2e-7)."""
    dtype = getattr(source, "dtype", None)
    if dtype is None or not np.issubdtype(dtype, np.floating):
        return SIMPLEX_TOL
    eps = float(np.finfo(dtype).eps)
    return max(SIMPLEX_TOL, max(1, int(n)) * eps) if eps > np.finfo(np.float64).eps \
        else SIMPLEX_TOL


def simplex(name: str, x: np.ndarray, *, tol: float = SIMPLEX_TOL):
    """Every row along the last axis is a probability vector (>= 0, sums to 1 within tol)."""
    finite(name, x)
    neg = x < 0
    if neg.any():
        idx = np.unravel_index(int(np.argmax(neg)), x.shape)
        raise ValueError(f"{name}[{_index(idx)}] is {x[idx]:.6g}, expected a probability >= 0")
    sums = x.sum(axis=-1)
    bad = np.abs(sums - 1.0) > tol
    if np.any(bad):
        if x.ndim == 1:
            raise ValueError(f"{name} sums to {float(sums):.10g}, expected 1 (tolerance {tol:g})")
        idx = np.unravel_index(int(np.argmax(bad)), sums.shape)
        raise ValueError(f"{name}[{_index(idx)}] sums to {sums[idx]:.10g}, expected 1 "
                         f"(tolerance {tol:g})")


def normalize(name: str, x: np.ndarray, *, source=None, tol: float | None = None) -> np.ndarray:
    """Check that ``x`` (float64, the caller's own copy) holds probability rows along its last
    axis (:func:`simplex`; tolerance :func:`simplex_tol` of ``source``, the caller's original
    input, unless ``tol`` is given), then divide every row by its sum in place so that it sums
    to 1 in float64 (rows within ``ROUNDING_TOL`` of 1 already are left untouched, so
    normalised input round-trips bit for bit). Returns ``x``."""
    if tol is None:
        tol = simplex_tol(source, x.shape[-1] if x.ndim else 1)
    simplex(name, x, tol=tol)
    if x.size:
        sums = x.sum(axis=-1, keepdims=True)
        off = np.abs(sums - 1.0) > ROUNDING_TOL
        if off.any():
            x /= np.where(off, sums, 1.0)
    return x


def positive_int(name: str, value) -> int:
    """An integer >= 1 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def real(name: str, value, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite real scalar in the given (half-)open/closed interval."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} is {v}, expected a finite number")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {v}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {v}")
    return v


def nonnegative_array(name: str, value, shape_: tuple) -> np.ndarray:
    """A scalar or array broadcastable to ``shape_``, finite and >= 0, as a float64 array of
    exactly ``shape_`` (used for radii and regularization weights). Indices in messages refer to
    the array the caller passed."""
    arr = as_float_array(name, value)
    finite(name, arr)
    neg = arr < 0
    if neg.any():
        idx = np.unravel_index(int(np.argmax(neg)), arr.shape) if arr.ndim else ()
        where = f"{name}[{_index(idx)}]" if arr.ndim else name
        raise ValueError(f"{where} is {float(arr[idx]):.6g}, expected a value >= 0")
    try:
        return np.array(np.broadcast_to(arr, shape_), dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{name} must be a scalar or broadcastable to shape {shape_}, "
                         f"got shape {arr.shape}") from exc


def divergence(name) -> str:
    """Canonical divergence name: 'tv' (with the 1/2 factor), 'kl' or 'chi2'."""
    if not isinstance(name, str):
        raise TypeError(f"divergence must be a string ('tv', 'kl' or 'chi2'), got {name!r}")
    key = _DIVERGENCE_ALIASES.get(name.strip().lower())
    if key is None:
        raise ValueError(f"divergence {name!r} is unknown; expected one of 'tv', 'kl', 'chi2'")
    return key


def divergence_code(name) -> int:
    """Integer code of a divergence for numba kernels: tv=0, kl=1, chi2=2."""
    return DIVERGENCES[divergence(name)]


def rng(value) -> np.random.Generator:
    """Accept a Generator or an integer seed; anything else is a TypeError."""
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        return np.random.default_rng(int(value))
    raise TypeError(f"rng must be a numpy.random.Generator or an integer seed, got {value!r}")


def freeze(x: np.ndarray) -> np.ndarray:
    x.setflags(write=False)
    return x
