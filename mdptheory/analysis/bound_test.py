"""Is a bound violated? Tested the way the theorem promises it (docs/verdicts.md).

* ``"high-probability"`` (w.p. >= 1 - delta): count the seeds whose curve crosses the bound
  anywhere; Clopper-Pearson on the crossing probability against delta. Holding is certified
  when the one-sided 95% upper confidence bound is <= delta (0 crossings of 59 seeds certify
  delta = 0.05); a violation needs the lower confidence bound above delta.
* ``"expectation"``: the seed mean against the bound at every x; holds when the one-sided 95%
  upper confidence bound of the mean is below the bound everywhere, violated when the lower
  confidence bound at level 0.05 / n_x (Bonferroni over x) is above it somewhere.
* ``"deterministic"``: one counterexample (a crossing beyond rounding) refutes.

A bound whose constants are the paper's is *vacuous* when it is at or above the trivial bound
(e.g. K V* for regret, H for a suboptimality) at every x: it then says nothing and cannot be
verified. Bounds with ``constants="rate-only"`` have no level to test (status "n/a").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
#: crossing tolerance: y > b (1 + RTOL) + ATOL counts as above the bound
RTOL, ATOL = 1e-9, 1e-12

_KINDS = {
    "high-probability": "high-probability", "whp": "high-probability",
    "w.p.": "high-probability", "probability": "high-probability",
    "expectation": "expectation", "in expectation": "expectation", "mean": "expectation",
    "deterministic": "deterministic", "always": "deterministic", "exact": "deterministic",
}


def probability_kind(text: str | None, delta: float | None = None) -> str:
    """Normalise a theorem's guarantee ("w.p. >= 1 - delta", "in expectation",
    "deterministic" ...) to one of "high-probability", "expectation", "deterministic".

    None gives "high-probability" when ``delta`` is given, else "expectation".
    """
    if text is None or not str(text).strip():
        return "high-probability" if delta is not None else "expectation"
    t = str(text).strip().lower()
    if t in _KINDS:
        return _KINDS[t]
    if "w.p" in t or "probability" in t or "delta" in t:
        return "high-probability"
    if "expect" in t:
        return "expectation"
    if "determin" in t or "always" in t:
        return "deterministic"
    raise ValueError(f"probability={text!r}: expected 'w.p. >= 1 - delta', 'in expectation' "
                     f"or 'deterministic'")


def clopper_pearson(k: int, n: int, level: float = 1 - ALPHA) -> tuple[float, float]:
    """One-sided Clopper-Pearson bounds (lower, upper) at ``level`` for k successes in n."""
    if n < 1:
        return 0.0, 1.0
    a = 1.0 - level
    lower = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    upper = 1.0 if k == n else float(stats.beta.ppf(1.0 - a, k + 1, n - k))
    return lower, upper


def seeds_to_certify(delta: float, crossings_share: float = 0.0,
                     level: float = 1 - ALPHA, n_max: int = 10 ** 6) -> int | None:
    """Smallest n whose Clopper-Pearson upper bound at ``level`` is <= delta when a share
    ``crossings_share`` of the seeds cross (None if no n up to n_max does)."""
    if crossings_share >= delta:
        return None
    if crossings_share == 0.0:
        return int(math.ceil(math.log(1.0 - level) / math.log(1.0 - delta)))
    n = 1
    while n <= n_max:
        k = int(round(crossings_share * n))
        if clopper_pearson(k, n, level)[1] <= delta:
            return n
        n = int(n * 1.25) + 1
    return None


@dataclass(frozen=True)
class BoundTest:
    """Outcome of a bound test. ``status``: "holds" (certified), "uncertain", "violated",
    "vacuous" or "n/a"; ``p_value`` of the violation test (None if not applicable)."""

    status: str
    tightness: float | None
    vacuity: float | None
    p_value: float | None
    reason: str
    needs: str | None = None
    crossings: int | None = None


def check_bound(xs: np.ndarray, Y: np.ndarray, B: np.ndarray, trivial: np.ndarray | None = None,
               *, kind: str, delta: float | None = None, paper_constants: bool = True,
               x_name: str = "x") -> BoundTest:
    """Test y <= bound for curves Y (n_seeds, n_x) against bounds B (n_seeds, n_x).

    ``trivial`` (n_x,) is the trivial bound (seed mean), used for vacuity when the constants
    are the paper's.
    """
    bmean = B.mean(axis=0)
    ymean = Y.mean(axis=0)
    tightness = float(ymean[-1] / bmean[-1]) if bmean[-1] != 0 else None
    vacuity = None
    if trivial is not None and paper_constants:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(trivial > 0, bmean / trivial, np.inf)
        vacuity = float(np.min(ratio))
    if not paper_constants:
        return BoundTest("n/a", tightness, None, None,
                         "rate-only constants: the bound's level is not tested")
    above = Y > B * (1.0 + RTOL) + ATOL                    # (n_seeds, n_x)
    n = Y.shape[0]
    crossing = above.any(axis=1)
    c = int(crossing.sum())
    if kind == "deterministic":
        if c:
            i, j = np.argwhere(above)[0]
            return BoundTest("violated", tightness, vacuity, 0.0,
                             f"counterexample: y = {Y[i, j]:.6g} > bound {B[i, j]:.6g} at "
                             f"{x_name} = {xs[j]:.6g} (seed row {i})", crossings=c)
        status, reason, p, needs = "holds", "no curve crosses the bound", 1.0, None
    elif kind == "high-probability":
        if delta is None or not (0.0 < delta < 1.0):
            raise ValueError(f"delta must be in (0, 1) for a high-probability bound, got {delta!r}")
        lo, hi = clopper_pearson(c, n)
        p = float(stats.binom.sf(c - 1, n, delta)) if c > 0 else 1.0   # P(X >= c | delta)
        if lo > delta:
            return BoundTest("violated", tightness, vacuity, p,
                             f"{c} of {n} seeds cross the bound; Clopper-Pearson 95% lower "
                             f"bound {lo:.3g} > delta = {delta:g}", crossings=c)
        if hi <= delta:
            status, reason, needs = "holds", (f"{c} of {n} seeds cross the bound; "
                                              f"Clopper-Pearson 95% upper bound {hi:.3g} <= "
                                              f"delta = {delta:g}"), None
        else:
            n_need = seeds_to_certify(delta, c / n)
            status = "uncertain"
            reason = (f"{c} of {n} seeds cross the bound; Clopper-Pearson 95% upper bound "
                      f"{hi:.3g} > delta = {delta:g}: too few seeds to certify")
            needs = (f"seeds >= {n_need}" if n_need is not None
                     else "fewer crossings (the crossing rate is at or above delta)")
    elif kind == "expectation":
        n_x = Y.shape[1]
        gap = bmean - ymean
        if n < 2:
            se = np.zeros(n_x)
        else:
            se = Y.std(axis=0, ddof=1) / math.sqrt(n)
        if n >= 2:
            t_hi = stats.t.ppf(1 - ALPHA, n - 1)
            t_bonf = stats.t.ppf(1 - ALPHA / n_x, n - 1)
        else:
            t_hi = t_bonf = 0.0
        exact = np.all(se == 0)
        viol = (ymean - t_bonf * se) > bmean * (1 + RTOL) + ATOL
        if viol.any():
            j = int(np.argmax(ymean - bmean))
            if exact:
                p = 0.0
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    tstat = np.where(se > 0, (ymean - bmean) / se, np.inf)
                p = float(min(1.0, n_x * stats.t.sf(np.max(tstat), n - 1)))
            return BoundTest("violated", tightness, vacuity, p,
                             f"seed mean {ymean[j]:.6g} > bound {bmean[j]:.6g} at "
                             f"{x_name} = {xs[j]:.6g} (significant, Bonferroni over "
                             f"{n_x} points)", crossings=c)
        p = 1.0
        if np.all(ymean + t_hi * se <= bmean * (1 + RTOL) + ATOL) and (n >= 2 or exact):
            status, reason, needs = "holds", (f"seed mean + 95% one-sided CI below the "
                                              f"bound at every {x_name}"), None
        else:
            j = int(np.argmax((ymean + t_hi * se) - bmean))
            status = "uncertain"
            reason = (f"the 95% CI of the seed mean reaches the bound at {x_name} = "
                      f"{xs[j]:.6g}")
            if gap[j] > 0 and se[j] > 0 and n >= 2:
                n_need = int(math.ceil(n * (t_hi * se[j] / gap[j]) ** 2)) + 1
                needs = f"seeds >= {max(n_need, n + 1)}"
            else:
                needs = "more seeds"
    else:
        raise ValueError(f"unknown bound-test kind {kind!r}")
    if vacuity is not None and vacuity >= 1.0:
        return BoundTest("vacuous", tightness, vacuity, p,
                         f"the bound is >= the trivial bound at every {x_name} "
                         f"(at best {vacuity:.3g}x it): it cannot fail",
                         f"a run where the bound falls below the trivial bound (a larger "
                         f"{x_name}, or another instance)", crossings=c)
    return BoundTest(status, tightness, vacuity, p, reason, needs, crossings=c)


__all__ = [
    "ALPHA",
    "BoundTest",
    "check_bound",
    "clopper_pearson",
    "probability_kind",
    "seeds_to_certify",
]
