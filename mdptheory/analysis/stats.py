"""Curves across seeds: log-spaced checkpoints, mean with bootstrap bands, log-log growth
exponents with seed-bootstrap CIs, and the verdict of a claim (DESIGN.md, "What verified means").

Input is a tidy DataFrame: one row per (seed, x) (plus optional grouping columns), as returned by
the experiments. Bootstraps resample *seeds* (whole curves) with replacement, so the bands and
CIs reflect the seed-to-seed variation of the curve, not the noise of single points.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .verdict import Verdict


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
    if seed_col not in results.columns:
        tab = results.groupby(x)[y].mean().to_frame().T
    else:
        tab = results.pivot_table(index=seed_col, columns=x, values=y, aggfunc="mean")
    tab = tab.dropna(axis=1)
    return tab.columns.to_numpy(dtype=np.float64), tab.to_numpy(dtype=np.float64)


def _resample_weights(n_seeds: int, n_boot: int, rng) -> np.ndarray:
    """(n_boot, n_seeds) multiplicities of a seed bootstrap, divided by n_seeds."""
    counts = rng.multinomial(n_seeds, np.full(n_seeds, 1.0 / n_seeds), size=n_boot)
    return counts / n_seeds


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
            boot = _resample_weights(n, n_boot, rng) @ Y          # (n_boot, n_x)
            lo, hi = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
        else:
            lo = hi = mean
        frame = pd.DataFrame({x: xs, "mean": mean, "lo": lo, "hi": hi, "n_seeds": n})
        key = key if isinstance(key, tuple) else (key,)
        for col, val in zip(by, key):
            frame[col] = val
        out.append(frame[by + [x, "mean", "lo", "hi", "n_seeds"]])
    return pd.concat(out, ignore_index=True)


def _ols_slopes(lx: np.ndarray, LY: np.ndarray):
    """Slopes and intercepts of LY[i] ~ lx for each row i (NaN rows where LY has NaNs)."""
    xc = lx - lx.mean()
    sxx = float(xc @ xc)
    slope = (LY - LY.mean(axis=-1, keepdims=True)) @ xc / sxx
    intercept = LY.mean(axis=-1) - slope * lx.mean()
    return slope, intercept


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
                 rng=0) -> ExponentFit:
    """Growth exponent of the mean curve over the last ``decades`` of x, with a bootstrap CI.

    The exponent is the least-squares slope of log(mean_seeds y) against log x over
    x in [x_max / 10^decades, x_max]; the CI comes from refitting on the mean of seeds
    resampled with replacement (``n_boot`` times). Points where the mean is <= 0 are left out
    of a fit (log undefined); a fit with fewer than 2 usable points gives NaN.
    """
    xs, Y = _matrix(results, x, y, seed_col)
    if xs.size == 0:
        raise ValueError(f"no x values of column {x!r} are shared by all seeds")
    x_max = float(xs.max())
    win = (xs >= x_max / 10.0 ** decades) & (xs > 0)
    xw, Yw = xs[win], Y[:, win]
    n_seeds = Yw.shape[0]
    lx = np.log(xw)

    def fit(means):
        ok = means > 0
        if ok.sum() < 2:
            return np.nan, np.nan
        s, c = _ols_slopes(lx[ok], np.log(means[ok])[None, :])
        return float(s[0]), float(c[0])

    slope, intercept = fit(Yw.mean(axis=0))
    if n_seeds > 1 and np.isfinite(slope):
        rng = np.random.default_rng(rng)
        boot = _resample_weights(n_seeds, n_boot, rng) @ Yw        # (n_boot, n_points)
        if np.all(boot > 0):
            slopes, _ = _ols_slopes(lx, np.log(boot))
        else:
            slopes = np.array([fit(b)[0] for b in boot])
        alpha = (1.0 - level) / 2.0
        lo, hi = np.nanquantile(slopes, [alpha, 1.0 - alpha])
        ci = (float(lo), float(hi))
    else:
        ci = (slope, slope)
    return ExponentFit(exponent=slope, ci=ci, intercept=intercept,
                       x_min=float(xw.min()) if xw.size else np.nan, x_max=x_max,
                       n_points=int(xw.size), n_seeds=int(n_seeds), level=level)


def exponent_consistent(fit: ExponentFit, claimed: float, *, upper: bool = False,
                        tol: float = 0.0) -> bool:
    """Whether the fitted exponent agrees with the claimed rate.

    Two-sided claim (y ~ x^claimed): claimed lies in the CI (widened by ``tol``).
    Upper-rate claim (y = O(x^claimed)): the curve does not grow significantly faster, i.e. the
    CI's lower end is <= claimed + tol.
    """
    lo, hi = fit.ci
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False
    if upper:
        return bool(lo <= claimed + tol)
    return bool(lo - tol <= claimed <= hi + tol)


def verdict(results: pd.DataFrame, *, x: str, y: str, claim: str, paper: str, theorem: str,
            bound: str | None = None, claimed_exponent: float | None = None,
            exponent_is_upper: bool = False, decades: float = 1.0, min_seeds: int = 10,
            seed_col: str = "seed", n_boot: int = 2000, rng=0, tol: float = 0.0,
            note: str = "") -> Verdict:
    """Measured curve vs a theorem: under the bound, growth exponent, enough seeds.

    ``results`` holds one claim's rows (filter groups first). ``measured`` is the seed-mean of
    ``y`` at the largest x and ``bound`` the bound column's mean there. The claim passes when
    (a) the seed-mean of y is <= the bound at every x (when ``bound`` is given), (b) the fitted
    exponent over the last ``decades`` agrees with ``claimed_exponent``
    (:func:`exponent_consistent`; when given), and (c) at least ``min_seeds`` seeds were run.
    The note says which condition failed and how many single seeds cross the bound.
    """
    reasons, facts = [], []
    n_seeds = results[seed_col].nunique() if seed_col in results.columns else 1
    xs, Y = _matrix(results, x, y, seed_col)
    mean = Y.mean(axis=0)
    measured = float(mean[-1])
    bound_val = None
    ok_bound = True
    if bound is not None:
        _, B = _matrix(results, x, bound, seed_col)
        bmean = B.mean(axis=0)
        bound_val = float(bmean[-1])
        ok_bound = bool(np.all(mean <= bmean * (1 + 1e-12) + 1e-12))
        n_cross = int(np.any(Y > B * (1 + 1e-12) + 1e-12, axis=1).sum())
        facts.append(f"mean {'<=' if ok_bound else 'exceeds'} bound; {n_cross}/{Y.shape[0]} "
                     f"seeds cross it somewhere")
        if not ok_bound:
            worst = int(np.argmax(mean - bmean))
            reasons.append(f"mean {mean[worst]:.4g} > bound {bmean[worst]:.4g} at {x}="
                           f"{xs[worst]:.6g}")
    exp_val, ci = None, None
    ok_exp = True
    if claimed_exponent is not None:
        f = fit_exponent(results, x, y, seed_col=seed_col, decades=decades, n_boot=n_boot,
                         rng=rng)
        exp_val, ci = f.exponent, f.ci
        ok_exp = exponent_consistent(f, claimed_exponent, upper=exponent_is_upper, tol=tol)
        rel = "<=" if exponent_is_upper else "="
        facts.append(f"fitted exponent {f.exponent:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] over "
                     f"{x} in [{f.x_min:.6g}, {f.x_max:.6g}]; claimed {rel} {claimed_exponent}")
        if not ok_exp:
            reasons.append("fitted exponent inconsistent with the claimed rate")
    ok_seeds = n_seeds >= min_seeds
    if not ok_seeds:
        reasons.append(f"only {n_seeds} seeds (< {min_seeds} required)")
    passed = ok_bound and ok_exp and ok_seeds
    text = "; ".join(facts)
    if reasons:
        text += ". FAILED: " + "; ".join(reasons)
    if note:
        text = note + ". " + text if text else note
    return Verdict(paper=paper, theorem=theorem, claim=claim, passed=bool(passed),
                   measured=measured, bound=bound_val, exponent=exp_val,
                   exponent_ci=None if ci is None else (float(ci[0]), float(ci[1])),
                   claimed_exponent=claimed_exponent, exponent_is_upper=exponent_is_upper,
                   note=text)


__all__ = [
    "ExponentFit",
    "exponent_consistent",
    "fit_exponent",
    "log_spaced",
    "mean_band",
    "verdict",
]
