"""Curves across seeds: log-spaced checkpoints, mean with bootstrap bands, and log-log growth
exponents with seed-bootstrap CIs (descriptions; the verdicts are :mod:`.engine`'s).

Input is a tidy DataFrame: one row per (seed, x) (plus optional grouping columns), as returned by
the experiments. Bootstraps resample *seeds* (whole curves) with replacement, so the bands and
CIs reflect the seed-to-seed variation of the curve, not the noise of single points.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import rates


def log_spaced(K: int, n: int = 50) -> np.ndarray:
    """About n distinct integers from 1 to K (both included), evenly spaced in log k.

    Small k are all kept (the grid is integer), so the result may hold fewer than n points.
    """
    K = int(K)
    if K < 1:
        raise ValueError(f"K must be >= 1, got {K}")
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    k = np.unique(np.round(np.logspace(0.0, np.log10(K), int(n))).astype(np.int64))
    k = k[(k >= 1) & (k <= K)]
    if k[-1] != K:
        k = np.append(k, K)
    return k


def _matrix(results: pd.DataFrame, x: str, y: str, seed_col: str):
    """x grid (n_x,) and Y (n_seeds, n_x): x values common to every seed, sorted."""
    return rates.seed_matrix(results, x, y, seed_col)


def mean_band(results: pd.DataFrame, x: str, y: str, *, by=(), seed_col: str = "seed",
              n_boot: int = 1000, level: float = 0.95, rng=0) -> pd.DataFrame:
    """Mean of y over seeds at each x, with a percentile seed-bootstrap band.

    Returns a DataFrame with columns ``*by, x, mean, lo, hi, n_seeds``.
    """
    by = [by] if isinstance(by, str) else list(by)
    rng = np.random.default_rng(rng)
    alpha = (1.0 - level) / 2.0
    out = []
    groups = results.groupby(by, sort=True) if by else [((), results)]
    for key, df in groups:
        xs, Y = _matrix(df, x, y, seed_col)
        n = Y.shape[0]
        mean = Y.mean(axis=0)
        if n > 1:
            boot = rates.resample_weights(n, n_boot, rng) @ Y          # (n_boot, n_x)
            lo, hi = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
        else:
            lo = hi = mean
        frame = pd.DataFrame({x: xs, "mean": mean, "lo": lo, "hi": hi, "n_seeds": n})
        key = key if isinstance(key, tuple) else (key,)
        for col, val in zip(by, key):
            frame[col] = val
        out.append(frame[by + [x, "mean", "lo", "hi", "n_seeds"]])
    return pd.concat(out, ignore_index=True)


@dataclass(frozen=True)
class ExponentFit:
    """y ~ exp(intercept) x^exponent fitted on log-log axes over [x_min, x_max].

    ``ci`` is the percentile seed-bootstrap interval at ``level``; ``n_points`` the number of
    x values in the window, ``n_seeds`` the number of curves averaged.
    """

    exponent: float
    ci: tuple[float, float]
    intercept: float
    x_min: float
    x_max: float
    n_points: int
    n_seeds: int
    level: float = 0.95

    def predict(self, xs) -> np.ndarray:
        return np.exp(self.intercept) * np.asarray(xs, dtype=np.float64) ** self.exponent


def fit_exponent(results: pd.DataFrame, x: str, y: str, *, seed_col: str = "seed",
                 decades: float = 1.0, n_boot: int = 2000, level: float = 0.95,
                 rng=0, window: tuple[float, float] | None = None) -> ExponentFit:
    """Growth exponent of the mean curve with a seed-bootstrap CI (a description, not a verdict:
    claims go through :func:`mdptheory.analysis.verdict`).

    The exponent is the least-squares slope of log(mean_seeds y) against log x over ``window``
    or, by default, over x in [x_max / 10^decades, x_max]. The CI comes from refitting on the
    mean of seeds resampled with replacement (``n_boot`` times). A window whose mean curve has a
    point <= 0 gives NaN (log undefined).
    """
    xs, Y = _matrix(results, x, y, seed_col)
    if xs.size == 0:
        raise ValueError(f"no x values of column {x!r} are shared by all seeds")
    if window is None:
        x_max = float(xs.max())
        window = (x_max / 10.0 ** decades, x_max)
    f = rates.fit_slope(xs, Y, window, n_boot=n_boot, level=level, rng=rng)
    return ExponentFit(exponent=f.exponent, ci=f.ci, intercept=f.intercept,
                       x_min=f.window[0], x_max=f.window[1], n_points=f.n_points,
                       n_seeds=f.n_seeds, level=level)


__all__ = ["ExponentFit", "fit_exponent", "log_spaced", "mean_band"]
