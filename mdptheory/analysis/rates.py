"""The pieces of a rate test (docs/verdicts.md): seed matrices, the theorem's regime, floors,
burn-in, curvature, the seed-bootstrap slope over a window and the margin for log factors.

Every function here works on one claim's curves: ``xs`` (n_x,) sorted x values shared by all
seeds and ``Y`` (n_seeds, n_x), one row per seed. The verdict engine
(:func:`mdptheory.analysis.verdict`) strings them together; they are public so that users can
inspect each step.

Thresholds (stated once, used everywhere; docs/verdicts.md lists them):

* regime: the bound's leading part is >= ``REGIME_RATIO`` (10) times the rest of the bound, and,
  for bounds with the paper's constants, the bound is below the trivial bound;
* power: >= ``MIN_SEEDS`` (10) seeds, >= ``MIN_POINTS`` (5) distinct x over >= ``MIN_DECADES``
  (1) decade, a 95% CI half-width <= ``MAX_HALFWIDTH`` (0.1);
* margin: m = |slope of the bound over the window - claimed| + ``BASE_MARGIN`` (0.05);
* floor: >= ``FLOOR_FRACTION`` (20%) of the seeds at exact 0 or exactly constant in the window,
  or a mean curve whose slope CI lies inside +-``FLAT_SLOPE`` (0.05) while the claim is not flat;
* linear phase (cumulative curves): the burn-in lasts until the local slope (over a
  half-decade) falls below (1 + a) / 2 for good and is cut from the window; the window is still
  in the linear phase if its regret per step is >= ``LINEAR_PHASE_RATIO`` (0.5) times that of
  the first decade, or the policy switches in >= 50% of its steps;
* curvature: the slope over the last half-decade differs from the slope over the half-decade
  before it by more than max(``CURVATURE_MIN`` (0.1), the CI width).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

REGIME_RATIO = 10.0
MIN_SEEDS = 10
MIN_POINTS = 5
MIN_DECADES = 1.0
MAX_HALFWIDTH = 0.1
BASE_MARGIN = 0.05
FLOOR_FRACTION = 0.2
FLAT_SLOPE = 0.05
LINEAR_PHASE_RATIO = 0.5
SWITCHING_FRACTION = 0.5
CURVATURE_MIN = 0.1
HALF_DECADE = 10.0 ** 0.5


def seed_matrix(results: pd.DataFrame, x: str, y: str, seed_col: str = "seed"):
    """x grid (n_x,) and Y (n_seeds, n_x): the x values present for every seed, sorted.

    Several rows with the same (seed, x) are averaged. Without a ``seed_col`` column the table
    is one curve (one row of Y).
    """
    for col in (x, y):
        if col not in results.columns:
            raise ValueError(f"column {col!r} is not in the results (columns: "
                             f"{', '.join(map(str, results.columns))})")
    if len(results) == 0:
        raise ValueError("results is empty: nothing to judge")
    if seed_col not in results.columns:
        tab = results.groupby(x)[y].mean().to_frame().T
    else:
        tab = results.pivot_table(index=seed_col, columns=x, values=y, aggfunc="mean",
                                  dropna=False)
    tab = tab.dropna(axis=1)
    return tab.columns.to_numpy(dtype=np.float64), tab.to_numpy(dtype=np.float64)


def resample_weights(n_seeds: int, n_boot: int, rng) -> np.ndarray:
    """(n_boot, n_seeds) multiplicities of a seed bootstrap, divided by n_seeds."""
    counts = rng.multinomial(n_seeds, np.full(n_seeds, 1.0 / n_seeds), size=n_boot)
    return counts / n_seeds


def ols_slopes(lx: np.ndarray, LY: np.ndarray):
    """Slopes and intercepts of each row of LY against lx (least squares)."""
    xc = lx - lx.mean()
    sxx = float(xc @ xc)
    slope = (LY - LY.mean(axis=-1, keepdims=True)) @ xc / sxx
    intercept = LY.mean(axis=-1) - slope * lx.mean()
    return slope, intercept


def loglog_slope(xs: np.ndarray, ys: np.ndarray) -> float:
    """Least-squares slope of log y against log x (NaN if fewer than 2 positive points)."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    ok = (xs > 0) & (ys > 0) & np.isfinite(ys)
    if ok.sum() < 2 or np.ptp(np.log(xs[ok])) == 0:
        return float("nan")
    s, _ = ols_slopes(np.log(xs[ok]), np.log(ys[ok])[None, :])
    return float(s[0])


def decades(lo: float, hi: float) -> float:
    """log10(hi / lo), or 0 for an empty or non-positive range."""
    if not (lo > 0 and hi > 0) or hi <= lo:
        return 0.0
    return float(np.log10(hi / lo))


@dataclass(frozen=True)
class SlopeFit:
    """Slope of log(seed-mean y) against log x over ``window``, with seed-bootstrap quantiles.

    ``ci`` is the central interval at ``level``; ``boot`` the bootstrap slopes (for p-values
    and other levels); ``invalid`` the fraction of bootstrap means with a non-positive point.
    """

    exponent: float
    ci: tuple[float, float]
    intercept: float
    window: tuple[float, float]
    n_points: int
    n_seeds: int
    level: float
    boot: np.ndarray
    invalid: float

    @property
    def halfwidth(self) -> float:
        return 0.5 * (self.ci[1] - self.ci[0])

    def interval(self, level: float) -> tuple[float, float]:
        """Central bootstrap interval at another ``level``."""
        if self.boot.size == 0:
            return (self.exponent, self.exponent)
        a = (1.0 - level) / 2.0
        lo, hi = np.nanquantile(self.boot, [a, 1.0 - a])
        return float(lo), float(hi)

    def upper_p(self, threshold: float) -> float:
        """Bootstrap p-value of "the slope exceeds ``threshold``": the share of bootstrap slopes
        at or below it (with the +1 correction)."""
        b = self.boot[np.isfinite(self.boot)]
        return float((1 + np.sum(b <= threshold)) / (1 + b.size))

    def lower_p(self, threshold: float) -> float:
        """Bootstrap p-value of "the slope is below ``threshold``"."""
        b = self.boot[np.isfinite(self.boot)]
        return float((1 + np.sum(b >= threshold)) / (1 + b.size))

    def predict(self, xs) -> np.ndarray:
        return np.exp(self.intercept) * np.asarray(xs, dtype=np.float64) ** self.exponent


def fit_slope(xs: np.ndarray, Y: np.ndarray, window: tuple[float, float] | None = None, *,
              n_boot: int = 2000, level: float = 0.95, rng=0) -> SlopeFit:
    """Log-log slope of the seed-mean curve over ``window`` (all x if None), seed bootstrap.

    Bootstrap replicates whose mean curve has a non-positive point are dropped from the
    quantiles and counted in ``invalid``; a window with a non-positive mean gives NaN.
    """
    xs = np.asarray(xs, dtype=np.float64)
    lo, hi = (xs.min(), xs.max()) if window is None else window
    sel = (xs >= lo) & (xs <= hi) & (xs > 0)
    xw, Yw = xs[sel], Y[:, sel]
    n_seeds, n_points = Yw.shape
    nan = float("nan")
    win = (float(xw.min()), float(xw.max())) if xw.size else (nan, nan)
    mean = Yw.mean(axis=0)
    if n_points < 2 or np.any(mean <= 0) or not np.all(np.isfinite(mean)):
        return SlopeFit(nan, (nan, nan), nan, win, int(n_points), int(n_seeds), level,
                        np.empty(0), 1.0)
    lx = np.log(xw)
    s, c = ols_slopes(lx, np.log(mean)[None, :])
    slope, intercept = float(s[0]), float(c[0])
    if n_seeds > 1:
        gen = np.random.default_rng(rng)
        boot_means = resample_weights(n_seeds, n_boot, gen) @ Yw
        ok = np.all(boot_means > 0, axis=1)
        boot = np.full(n_boot, np.nan)
        if ok.any():
            boot[ok], _ = ols_slopes(lx, np.log(boot_means[ok]))
        invalid = float(1.0 - ok.mean())
        a = (1.0 - level) / 2.0
        if ok.any():
            q = np.nanquantile(boot, [a, 1.0 - a])
            ci = (float(q[0]), float(q[1]))
        else:
            ci = (nan, nan)
    else:
        boot, invalid, ci = np.empty(0), 0.0, (slope, slope)
    return SlopeFit(slope, ci, intercept, win, int(n_points), int(n_seeds), level, boot,
                    invalid)


def regime_start(xs: np.ndarray, leading: np.ndarray | None, total: np.ndarray | None,
                 trivial: np.ndarray | None = None, *, paper_constants: bool = True,
                 ratio: float = REGIME_RATIO) -> float | None:
    """Smallest x of the sweep from which the theorem's regime holds at every larger x.

    In the regime, ``leading`` >= ``ratio`` x |total - leading| and, when ``paper_constants``
    and ``trivial`` is given, total < trivial. Arrays are per x (seed means). None when the
    regime is not reached by the largest x; xs[0] when no bound is given.
    """
    ok = np.ones(xs.shape, dtype=bool)
    if leading is not None and total is not None:
        rest = np.abs(total - leading)
        ok &= leading >= ratio * rest
    if paper_constants and trivial is not None and total is not None:
        ok &= total < trivial
    if not ok[-1]:
        return None
    bad = np.flatnonzero(~ok)
    start = 0 if bad.size == 0 else bad[-1] + 1
    return float(xs[start])


def regime_start_beyond(parts, x_from: float, *, paper_constants: bool = True,
                        ratio: float = REGIME_RATIO, x_max: float = 1e40) -> float | None:
    """Where the regime starts beyond the sweep, from the bound's callables.

    ``parts(x_array)`` returns a dict with "leading" and "lower" (and optionally "trivial"),
    each an array over ``x_array``. Searches a log grid (20 points per decade) from ``x_from``
    to ``x_max``; None if the regime is not reached there.
    """
    grid = np.logspace(np.log10(max(x_from, 1e-300)), np.log10(x_max),
                       int(20 * max(np.log10(x_max / max(x_from, 1e-300)), 1)) + 1)
    p = parts(grid)
    leading = np.asarray(p["leading"], dtype=np.float64) * np.ones_like(grid)
    lower = np.asarray(p["lower"], dtype=np.float64) * np.ones_like(grid)
    ok = leading >= ratio * np.abs(lower)
    if paper_constants and p.get("trivial") is not None:
        trivial = np.asarray(p["trivial"], dtype=np.float64) * np.ones_like(grid)
        ok &= (leading + lower) < trivial
    if not ok.any():
        return None
    # the regime must persist: the first point after the last failure
    bad = np.flatnonzero(~ok)
    start = 0 if bad.size == 0 else bad[-1] + 1
    if start >= grid.size:
        return None
    return float(grid[start])


@dataclass(frozen=True)
class Floor:
    """A curve that stopped moving: ``fraction`` of seeds at exact 0 or exactly constant in the
    window (from ``x_star``), or a mean curve flat within its noise."""

    reached: bool
    fraction: float
    x_star: float | None
    level: float | None
    kind: str = ""          # "zero", "constant", "flat"


def _seed_at_floor(yw: np.ndarray) -> str:
    if np.any(yw == 0.0):
        return "zero"
    scale = float(np.max(np.abs(yw)))
    if yw.size >= 2 and float(np.ptp(yw)) <= 1e-12 * max(scale, 1e-300):
        return "constant"
    return ""


def detect_floor(xs: np.ndarray, Y: np.ndarray, window: tuple[float, float], *,
                 fraction: float = FLOOR_FRACTION) -> Floor:
    """Seeds at exact 0 or exactly constant inside ``window`` (see :class:`Floor`)."""
    sel = (xs >= window[0]) & (xs <= window[1])
    if not sel.any():
        return Floor(False, 0.0, None, None)
    kinds = [_seed_at_floor(row[sel]) for row in Y]
    share = float(np.mean([k != "" for k in kinds]))
    if share < fraction:
        return Floor(False, share, None, None)
    kind = "zero" if kinds.count("zero") >= kinds.count("constant") else "constant"
    # x*: first sweep x from which that share of seeds stays at 0 / constant to the end
    x_star = float(xs[sel][0])
    idx = np.flatnonzero(xs <= window[1])
    for j in idx[::-1]:
        tail = Y[:, j:idx[-1] + 1]
        share_j = float(np.mean([_seed_at_floor(row) != "" for row in tail]))
        if share_j < fraction:
            break
        x_star = float(xs[j])
    level = float(Y[:, sel].mean(axis=0)[-1])
    return Floor(True, share, x_star, level, kind)


@dataclass(frozen=True)
class Curvature:
    """Slopes over the last half-decade and the half-decade before it."""

    last: float
    previous: float
    threshold: float
    bending: bool
    slowing: bool
    steepening: bool


def curvature(xs: np.ndarray, mean: np.ndarray, window: tuple[float, float],
              ci_width: float) -> Curvature:
    """Compare the slopes of the mean curve over [hi/10^0.5, hi] and [hi/10, hi/10^0.5]."""
    hi = window[1]
    mid, lo = hi / HALF_DECADE, hi / 10.0
    last_sel = (xs >= mid) & (xs <= hi)
    prev_sel = (xs >= lo) & (xs <= mid)
    s_last = loglog_slope(xs[last_sel], mean[last_sel])
    s_prev = loglog_slope(xs[prev_sel], mean[prev_sel])
    thr = max(CURVATURE_MIN, ci_width if np.isfinite(ci_width) else CURVATURE_MIN)
    if not (np.isfinite(s_last) and np.isfinite(s_prev)):
        return Curvature(s_last, s_prev, thr, False, False, False)
    diff = s_last - s_prev
    bending = abs(diff) > thr
    return Curvature(s_last, s_prev, thr, bending, bending and diff < 0, bending and diff > 0)


@dataclass(frozen=True)
class LinearPhase:
    """Burn-in of a cumulative curve (regret).

    ``ends``: the sweep x from which the local log-log slope (over the next half-decade) stays
    below (1 + a) / 2, midway between linear growth and the claimed exponent a (None if it
    never does); ``in_phase``: whether the window [ends, hi] still looks linear by the
    per-step test (increase per step >= 0.5x that of the first decade, or policy switching in
    >= 50% of the window's steps); ``ratio`` and ``switching`` are that test's figures.
    """

    in_phase: bool
    ratio: float
    switching: float | None
    ends: float | None


def _window_rates(xs, mean, sw, lo, hi, first_rate):
    sel = (xs >= lo) & (xs <= hi)
    xw, mw = xs[sel], mean[sel]
    if xw.size < 2 or xw[-1] <= xw[0]:
        return np.nan, None
    rate = (mw[-1] - mw[0]) / (xw[-1] - xw[0])
    ratio = rate / first_rate if first_rate > 0 else (np.inf if rate > 0 else 0.0)
    switching = None
    if sw is not None:
        s = sw[sel]
        switching = float((s[-1] - s[0]) / (xw[-1] - xw[0]))
    return float(ratio), switching


def burn_in_end(xs: np.ndarray, mean: np.ndarray, claimed: float,
                hi: float | None = None) -> float | None:
    """Smallest sweep x from which the local slope of the mean curve (over [x, x 10^0.5])
    stays below (1 + claimed) / 2 up to ``hi``; None if it never does."""
    hi = float(xs[-1]) if hi is None else hi
    thr = 0.5 * (1.0 + claimed)
    cand = xs[(xs <= hi / HALF_DECADE * (1 + 1e-12))]
    ok = np.zeros(cand.size, dtype=bool)
    for i, x0 in enumerate(cand):
        sel = (xs >= x0) & (xs <= x0 * HALF_DECADE * (1 + 1e-12))
        s = loglog_slope(xs[sel], mean[sel])
        ok[i] = np.isfinite(s) and s < thr
    if cand.size == 0 or not ok[-1]:
        return None
    bad = np.flatnonzero(~ok)
    return float(cand[0] if bad.size == 0 else cand[bad[-1] + 1])


def linear_phase(xs: np.ndarray, mean: np.ndarray, window: tuple[float, float],
                 claimed: float, switches_mean: np.ndarray | None = None) -> LinearPhase:
    """Locate the burn-in of a cumulative curve and test the window after it (see
    :class:`LinearPhase`). The first decade is [x_0, 10 x_0] of the sweep; its per-step rate
    is mean(x_1) / x_1 at the sweep point x_1 nearest to 10 x_0."""
    x0 = xs[0]
    j1 = int(np.argmin(np.abs(np.log(xs / (10.0 * x0)))))
    first_rate = mean[j1] / xs[j1] if xs[j1] > 0 else np.nan
    ends = burn_in_end(xs, mean, claimed, window[1])
    lo = window[0] if ends is None else max(window[0], ends)
    ratio, switching = _window_rates(xs, mean, switches_mean, lo, window[1], first_rate)
    in_phase = bool(ends is None
                    or (np.isfinite(ratio) and ratio >= LINEAR_PHASE_RATIO)
                    or (switching is not None and switching >= SWITCHING_FRACTION))
    return LinearPhase(in_phase, float(ratio), switching, ends)


def margin(bound_slope: float | None, claimed: float) -> float:
    """m = |slope of the bound over the window - claimed| + BASE_MARGIN (BASE_MARGIN alone when
    there is no bound to read the slope from)."""
    if bound_slope is None or not np.isfinite(bound_slope):
        return BASE_MARGIN
    return abs(bound_slope - claimed) + BASE_MARGIN


def seeds_for_halfwidth(n_seeds: int, halfwidth: float, target: float) -> int:
    """Seeds that would bring a CI half-width down to ``target`` (half-width ~ 1/sqrt(n))."""
    if not np.isfinite(halfwidth) or halfwidth <= 0:
        return max(n_seeds, MIN_SEEDS)
    return int(max(MIN_SEEDS, np.ceil(n_seeds * (halfwidth / target) ** 2)))


__all__ = [
    "BASE_MARGIN", "CURVATURE_MIN", "FLAT_SLOPE", "FLOOR_FRACTION", "LINEAR_PHASE_RATIO",
    "MAX_HALFWIDTH", "MIN_DECADES", "MIN_POINTS", "MIN_SEEDS", "REGIME_RATIO",
    "SWITCHING_FRACTION", "Curvature", "Floor", "LinearPhase", "SlopeFit", "burn_in_end",
    "curvature",
    "decades", "detect_floor", "fit_slope", "linear_phase", "loglog_slope", "margin",
    "ols_slopes", "regime_start", "regime_start_beyond", "resample_weights",
    "seed_matrix", "seeds_for_halfwidth",
]
