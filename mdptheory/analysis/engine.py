"""The verdict engine for curve claims: a measured curve against a theorem's bound and rate
(docs/verdicts.md; thresholds in :mod:`mdptheory.analysis.rates`).

:func:`verdict` takes one claim's tidy rows (one per seed x checkpoint) and runs the sub-tests
that apply:

* **bound** (``bound`` column): tested the way the theorem promises it
  (:mod:`mdptheory.analysis.bound_test`): holds / uncertain / violated / vacuous / n/a;
* **rate** (``claimed_exponent``): the seed-bootstrap log-log slope over a window inside the
  theorem's regime, after checks for burn-in, floors and curvature, against the claimed
  exponent with a margin m for the log factors the theorem itself carries.

The claim is verified when every sub-test that applies is informative and agrees, refuted on a
significant violation inside the regime, and inconclusive otherwise, with the reason and what
would decide it (``needs``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import rates as R
from .bound_test import check_bound, probability_kind
from .verdict import Verdict, check_provenance


def _matrices(results: pd.DataFrame, x: str, cols: list[str], seed_col: str):
    """Common x grid and one (n_seeds, n_x) matrix per column (x shared by all)."""
    for c in [x, *cols]:
        if c not in results.columns:
            raise ValueError(f"column {c!r} is not in the results (columns: "
                             f"{', '.join(map(str, results.columns))})")
    if len(results) == 0:
        raise ValueError("results is empty: nothing to judge")
    df = results
    if seed_col not in df.columns:
        df = df.assign(**{seed_col: 0})
    tabs = {c: df.pivot_table(index=seed_col, columns=x, values=c, aggfunc="mean",
                              dropna=False) for c in cols}
    common = None
    for t in tabs.values():
        ok = t.columns[~t.isna().any(axis=0).to_numpy()]
        common = ok if common is None else common.intersection(ok)
    common = common.sort_values()
    xs = np.asarray(common, dtype=np.float64)
    if xs.size == 0:
        raise ValueError(f"no value of {x!r} is shared by every seed and column")
    return xs, {c: tabs[c][common].to_numpy(dtype=np.float64) for c in cols}


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _needs_beyond(x: str, x_end: float, bound_parts, paper_constants: bool) -> str:
    cond = "the leading term is >= 10x the rest of the bound"
    if bound_parts is None:
        if paper_constants:
            cond += " and the bound is below the trivial bound"
        return (f"a sweep beyond {x} = {_fmt(x_end)} ({cond} nowhere in the sweep; "
                f"give bound_parts to compute where)")
    if paper_constants and bound_parts(np.array([x_end])).get("trivial") is not None:
        cond += " and the bound is below the trivial bound"
    xr = R.regime_start_beyond(bound_parts, x_end, paper_constants=paper_constants)
    if xr is None:
        return f"not reachable: {cond} for no {x} <= 1e40"
    return (f"{x} >= {_fmt(10 * xr)} (the regime, where {cond}, starts at {x} = {_fmt(xr)}; "
            f"a fit needs a decade in it)")


def _rate_test(xs, Y, *, x, a, upper, matching_lower_bound, lead, tot, triv, paper_constants,
               bound_parts, cumulative, sw, window, decades, min_seeds, n_boot, rng):
    """Returns (status, reason, needs, p_value, fit_or_None, margin, window, n_points, decades)."""
    n_seeds = Y.shape[0]
    mean = Y.mean(axis=0)
    out = dict(status="inconclusive", reason="", needs=None, p=None, fit=None, margin=None,
               window=None, n_points=None, decades=None)
    two_sided = (not upper) and matching_lower_bound
    # 1. regime
    x_reg = R.regime_start(xs, lead, tot, triv, paper_constants=paper_constants)
    if x_reg is None:
        bits = []
        if lead is not None and tot is not None:
            rest = abs(tot[-1] - lead[-1])
            ratio = lead[-1] / rest if rest > 0 else np.inf
            bits.append(f"the leading part is {_fmt(ratio)}x the rest of the bound at "
                        f"{x} = {_fmt(xs[-1])}")
        if paper_constants and triv is not None and tot is not None and tot[-1] >= triv[-1]:
            bits.append(f"the bound is {_fmt(tot[-1] / triv[-1])}x the trivial bound there")
        out["reason"] = "outside the theorem's regime: " + "; ".join(bits or ["not reached"])
        out["needs"] = _needs_beyond(x, xs[-1], bound_parts, paper_constants)
        return out
    lo, hi = x_reg, float(xs[-1])
    if window is not None:
        lo, hi = max(lo, float(window[0])), min(hi, float(window[1]))
    if decades is not None:
        lo = max(lo, hi / 10.0 ** float(decades))
    # 2. burn-in of cumulative curves
    if cumulative and a < 1.0:
        sw_mean = None if sw is None else sw.mean(axis=0)
        lp = R.linear_phase(xs, mean, (lo, hi), a, sw_mean)
        if lp.ends is not None:
            lo = max(lo, lp.ends)
        if lp.in_phase:
            if lp.ends is None:
                what = (f"the local slope never falls below {(1 + a) / 2:.2f} (midway between "
                        f"linear and {a:g}) by {x} = {_fmt(hi)}")
            else:
                what = (f"the increase per step over [{_fmt(lo)}, {_fmt(hi)}] is "
                        f"{lp.ratio:.2f}x that of the first decade")
            if lp.switching is not None and lp.switching >= R.SWITCHING_FRACTION:
                what += f", and the policy switches in {lp.switching:.0%} of its steps"
            out["reason"] = f"linear phase (burn-in): {what}; learning has not started"
            out["needs"] = f"a sweep beyond {x} = {_fmt(hi)} (past the burn-in)"
            return out
    win_sel = (xs >= lo) & (xs <= hi)
    n_points = int(win_sel.sum())
    dec = R.decades(lo, hi)
    out.update(window=(float(lo), float(hi)), n_points=n_points, decades=dec)
    # 3. floors and non-positive means
    fl = R.detect_floor(xs, Y, (lo, hi))
    if fl.reached:
        out["status"] = "floor"
        what = "exact 0" if fl.kind == "zero" else "exactly constant"
        out["reason"] = (f"floor reached at {x} = {_fmt(fl.x_star)}: {fl.fraction:.0%} of the "
                         f"seeds are at {what} in the window (level {fl.level:.4g}); no power "
                         f"law is fitted")
        out["needs"] = (f"an instance where the quantity stays off its floor over a decade of "
                        f"{x} (on this one the rate cannot be observed past {x} = "
                        f"{_fmt(fl.x_star)})")
        return out
    if np.any(mean[win_sel] <= 0):
        j = int(np.flatnonzero(win_sel & (mean <= 0))[0])
        out["reason"] = (f"the seed mean is {mean[j]:.4g} <= 0 at {x} = {_fmt(xs[j])}: no "
                         f"power law can be fitted")
        out["needs"] = (f"a seed mean > 0 at every {x} of the window (more seeds, or a run "
                        f"where the quantity is clearly positive)")
        return out
    # 4. power of the window
    short = []
    if n_points < R.MIN_POINTS:
        short.append(f"{n_points} x values in the window (< {R.MIN_POINTS})")
    if dec < R.MIN_DECADES:
        short.append(f"the window spans {dec:.2f} decades (< {R.MIN_DECADES:g})")
    if short:
        out["reason"] = "window too short: " + "; ".join(short) + f" in [{_fmt(lo)}, {_fmt(hi)}]"
        if dec < R.MIN_DECADES:
            out["needs"] = f"{x} >= {_fmt(lo * 10 ** R.MIN_DECADES)}"
        else:
            out["needs"] = f">= {R.MIN_POINTS} checkpoints in [{_fmt(lo)}, {_fmt(hi)}]"
        return out
    fit = R.fit_slope(xs, Y, (lo, hi), n_boot=n_boot, level=0.95, rng=rng)
    out["fit"] = fit
    if not np.isfinite(fit.exponent) or not np.all(np.isfinite(fit.ci)):
        out["reason"] = "the slope could not be fitted (non-positive bootstrap means)"
        return out
    # 5. margin from the bound's own slope
    b_slope = None
    if tot is not None:
        b_slope = R.loglog_slope(xs[win_sel], tot[win_sel])
    elif bound_parts is not None:
        p = bound_parts(xs[win_sel])
        b_slope = R.loglog_slope(xs[win_sel], np.asarray(p["leading"]) + np.asarray(p["lower"]))
    m = R.margin(b_slope, a)
    out["margin"] = m
    # flat within noise
    if abs(a) >= 2 * R.FLAT_SLOPE and -R.FLAT_SLOPE <= fit.ci[0] and fit.ci[1] <= R.FLAT_SLOPE:
        out["status"] = "floor"
        out["reason"] = (f"floor: the curve is flat within its noise over [{_fmt(lo)}, "
                         f"{_fmt(hi)}] (slope {fit.exponent:.3f} [{fit.ci[0]:.3f}, "
                         f"{fit.ci[1]:.3f}]); no power law is fitted")
        return out
    cur = R.curvature(xs, mean, (lo, hi), fit.ci[1] - fit.ci[0])
    slope_txt = (f"slope {fit.exponent:.3f} [{fit.ci[0]:.3f}, {fit.ci[1]:.3f}] over "
                 f"{x} in [{_fmt(lo)}, {_fmt(hi)}] ({n_points} points, {dec:.1f} decades)")
    bend_txt = (f"the slope over the last half-decade is {cur.last:.3f} against {cur.previous:.3f}"
                f" over the half-decade before")
    # 6. power of the fit
    if n_seeds < min_seeds:
        out["reason"] = f"{slope_txt}; only {n_seeds} seeds (< {min_seeds})"
        out["needs"] = f"seeds >= {min_seeds}"
        return out
    if fit.halfwidth > R.MAX_HALFWIDTH:
        out["reason"] = (f"{slope_txt}; CI half-width {fit.halfwidth:.3f} > "
                         f"{R.MAX_HALFWIDTH:g}")
        out["needs"] = f"seeds >= {R.seeds_for_halfwidth(n_seeds, fit.halfwidth, R.MAX_HALFWIDTH)}"
        return out
    top_ok = a + m
    if not two_sided:
        if fit.ci[1] <= top_ok:
            if cur.steepening:
                out["reason"] = f"{slope_txt} <= {top_ok:.3f}, but the curve steepens: {bend_txt}"
                out["needs"] = f"a sweep beyond {x} = {_fmt(hi)} (until the slope settles)"
                return out
            out.update(status="consistent", p=fit.upper_p(top_ok),
                       reason=f"{slope_txt}; top <= claimed {a:g} + margin {m:.3f}")
            return out
        if fit.ci[0] > top_ok:
            p = fit.upper_p(top_ok)
            if cur.slowing:
                out["reason"] = (f"{slope_txt} > {top_ok:.3f}, but the curve is still bending "
                                 f"down: {bend_txt}")
                out["needs"] = f"a sweep beyond {x} = {_fmt(hi)} (until the slope settles)"
                out["p"] = p
                return out
            out.update(status="inconsistent", p=p,
                       reason=f"{slope_txt}; bottom > claimed {a:g} + margin {m:.3f}")
            return out
        gap = abs(fit.exponent - top_ok)
        out["reason"] = f"{slope_txt} straddles claimed {a:g} + margin {m:.3f}"
        out["needs"] = (f"seeds >= {R.seeds_for_halfwidth(n_seeds, fit.halfwidth, gap)}"
                        if gap > 0.01 else "a longer sweep (the slope sits on the margin)")
        out["p"] = fit.upper_p(top_ok)
        return out
    # two-sided (TOST) on a family with a matching lower bound
    lo90, hi90 = fit.interval(0.90)
    p_hi, p_lo = fit.upper_p(a + m), fit.lower_p(a - m)
    p = min(1.0, 2 * min(p_hi, p_lo))
    if a - m <= lo90 and hi90 <= a + m:
        if cur.bending:
            out["reason"] = f"{slope_txt} inside {a:g} +- {m:.3f}, but the curve bends: {bend_txt}"
            out["needs"] = f"a sweep beyond {x} = {_fmt(hi)} (until the slope settles)"
            return out
        out.update(status="consistent", p=p,
                   reason=f"{slope_txt}; 90% CI [{lo90:.3f}, {hi90:.3f}] inside {a:g} +- {m:.3f}"
                          f" (TOST)")
        return out
    if fit.ci[0] > a + m or fit.ci[1] < a - m:
        if (fit.ci[0] > a + m and cur.slowing) or (fit.ci[1] < a - m and cur.steepening):
            out["reason"] = f"{slope_txt} outside {a:g} +- {m:.3f}, but the curve bends: {bend_txt}"
            out["needs"] = f"a sweep beyond {x} = {_fmt(hi)} (until the slope settles)"
            out["p"] = p
            return out
        out.update(status="inconsistent", p=p,
                   reason=f"{slope_txt}; 95% CI outside {a:g} +- {m:.3f}")
        return out
    out["reason"] = f"{slope_txt}; 90% CI [{lo90:.3f}, {hi90:.3f}] not inside {a:g} +- {m:.3f}"
    out["needs"] = f"seeds >= {R.seeds_for_halfwidth(n_seeds, fit.halfwidth, max(m / 2, 0.01))}"
    out["p"] = p
    return out


def verdict(results: pd.DataFrame, *, x: str, y: str, claim: str, paper: str, theorem: str,
            provenance: str | None = None, bound: str | None = None,
            bound_leading: str | None = None, trivial_bound: str | None = None,
            claimed_exponent: float | None = None, exponent_is_upper: bool = False,
            matching_lower_bound: bool = False, probability: str | None = None,
            delta: float | None = None, constants: str | None = None, bound_spec=None,
            bound_parts=None, cumulative: bool = False, switches: str | None = None,
            window: tuple[float, float] | None = None, decades: float | None = None,
            min_seeds: int = R.MIN_SEEDS, seed_col: str = "seed", n_boot: int = 2000,
            rng=0, note: str = "", tol: float | None = None, applies: bool = True,
            applies_reason: str = "") -> Verdict:
    """Judge one claim about a measured curve (see the module docstring and docs/verdicts.md).

    Parameters
    ----------
    results : DataFrame
        One claim's rows: columns ``seed_col``, ``x``, ``y`` and the bound columns named below.
    x, y : str
        Swept variable (e.g. "k") and measured quantity (e.g. "regret").
    claim, paper, theorem : str
        The claim in words, the citation and the theorem number as printed.
    provenance : str, optional
        "paper", "paper-recalled", "derived", "expectation" or "calibrated"; left out, the claim
        is "unlabelled" and the report flags it.
    bound : str, optional
        Column with the theorem's bound at each (seed, x).
    bound_leading : str, optional
        Column with the bound's leading part (every term of the claimed order, logs included);
        the rest is ``bound - bound_leading``. The rate is tested only where the leading part is
        >= 10x the rest.
    trivial_bound : str, optional
        Column with the trivial bound (e.g. K V* for regret): a bound with the paper's constants
        at or above it is vacuous, and the rate is tested only where the bound is below it.
    claimed_exponent : float, optional
        The claimed growth exponent a in x.
    exponent_is_upper : bool
        True for an O(x^a) claim (one-sided). False for a two-sided exponent, which is tested
        by TOST only when ``matching_lower_bound`` (the instance family has a matching lower
        bound); otherwise it is tested one-sided, and the reason says so.
    probability : str, optional
        How the bound holds: "w.p. >= 1 - delta", "in expectation" or "deterministic".
        Defaults to ``bound_spec.probability``, else high-probability if ``delta`` is given,
        else in expectation.
    delta : float, optional
        The failure probability of a high-probability bound.
    constants : {"paper", "rate-only"}, optional
        Whether the bound's constants are the paper's (default ``bound_spec.constants``, else
        "paper"). Rate-only bounds are not tested for level or vacuity.
    bound_spec : Bound or str, optional
        The registered bound (:mod:`mdptheory.bounds`) for the defaults above.
    bound_parts : callable, optional
        ``bound_parts(x_array) -> {"leading": ..., "lower": ..., "trivial": ...}`` (trivial
        optional), used beyond the sweep to say where the regime starts (``needs``).
    cumulative : bool
        ``y`` is a cumulative sum over x steps (regret): the burn-in (linear phase) is excluded.
    switches : str, optional
        Column with the cumulative number of policy switches (for the linear-phase detector).
    window : (lo, hi), optional
        Restrict the fit to this x range (intersected with the regime).
    decades : float, optional
        Restrict the fit to the last ``decades`` decades of the window.
    min_seeds : int
        Seeds needed to decide a rate (10).
    note : str
        Free text kept with the verdict (constants used, instance, ...).
    tol : float, optional
        Ignored; the margin m replaces it (kept so old calls still run).
    applies, applies_reason : bool, str
        A precondition of the theorem that this run must meet (an assumption such as coverage);
        when it fails the claim is inconclusive with this reason, whatever the measurements.
    """
    if not isinstance(x, str) or not isinstance(y, str):
        raise TypeError(f"x and y must be column names, got {x!r} and {y!r}")
    provenance = check_provenance(provenance)
    if bound is None and claimed_exponent is None:
        raise ValueError(f"claim {claim!r}: give a bound column or a claimed_exponent (use "
                         f"analysis.info() for a measurement that is not a claim)")
    if bound_leading is not None and bound is None:
        raise ValueError("bound_leading needs the bound column too (the rest is "
                         "bound - bound_leading)")
    if bound_spec is not None and isinstance(bound_spec, str):
        from ..bounds import get as _get_bound
        bound_spec = _get_bound(bound_spec)
    if constants is None:
        constants = getattr(bound_spec, "constants", "paper") or "paper"
    if constants not in ("paper", "rate-only"):
        raise ValueError(f"constants={constants!r}: expected 'paper' or 'rate-only'")
    if probability is None and bound_spec is not None:
        probability = getattr(bound_spec, "probability", None) or None
    if delta is not None and not (0.0 < float(delta) < 1.0):
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    kind = probability_kind(probability, delta)
    if claimed_exponent is not None and not np.isfinite(claimed_exponent):
        raise ValueError(f"claimed_exponent must be finite, got {claimed_exponent!r}")
    if min_seeds < 1:
        raise ValueError(f"min_seeds must be >= 1, got {min_seeds}")
    paper_constants = constants == "paper"

    cols = [y] + [c for c in (bound, bound_leading, trivial_bound, switches) if c is not None]
    xs, M = _matrices(results, x, list(dict.fromkeys(cols)), seed_col)
    Y = M[y]
    n_seeds = Y.shape[0]
    mean = Y.mean(axis=0)
    B = M.get(bound) if bound else None
    tot = B.mean(axis=0) if B is not None else None
    lead = M[bound_leading].mean(axis=0) if bound_leading else None
    triv = M[trivial_bound].mean(axis=0) if trivial_bound else None
    measured = float(mean[-1])

    reasons, needs, p_values = [], [], []
    statuses = []               # "ok", "refuted", "inconclusive"
    bt = None
    if B is not None:
        bt = check_bound(xs, Y, B, triv, kind=kind, delta=delta,
                         paper_constants=paper_constants, x_name=x)
        if bt.status != "n/a":
            st = {"holds": "ok", "violated": "refuted"}.get(bt.status, "inconclusive")
            statuses.append(st)
            reasons.append(f"bound {bt.status}: {bt.reason}")
            if bt.needs and bt.status != "vacuous":
                needs.append(bt.needs)
            if bt.p_value is not None:
                p_values.append(bt.p_value)
    rt = None
    if claimed_exponent is not None:
        rt = _rate_test(xs, Y, x=x, a=float(claimed_exponent), upper=exponent_is_upper,
                        matching_lower_bound=matching_lower_bound, lead=lead, tot=tot,
                        triv=triv, paper_constants=paper_constants, bound_parts=bound_parts,
                        cumulative=cumulative, sw=M.get(switches) if switches else None,
                        window=window, decades=decades, min_seeds=min_seeds, n_boot=n_boot,
                        rng=rng)
        st = {"consistent": "ok", "inconsistent": "refuted"}.get(rt["status"], "inconclusive")
        statuses.append(st)
        prefix = "rate"
        if not exponent_is_upper and not matching_lower_bound:
            prefix = "rate (two-sided claim tested as an upper rate: no matching lower bound " \
                     "declared for this instance family)"
        reasons.append(f"{prefix} {rt['status']}: {rt['reason']}")
        if rt["needs"]:
            needs.append(rt["needs"])
        if rt["p"] is not None:
            p_values.append(rt["p"])
    if not statuses:
        statuses.append("inconclusive")
        reasons.append("nothing to test: the bound has rate-only constants and no exponent is "
                       "claimed")
    if bt is not None and bt.status == "vacuous" and not needs:
        needs.append(bt.needs)      # the generic word, when the rate gives no sharper one
    if "refuted" in statuses:
        outcome = "refuted"
        reasons = [r for r, s in zip(reasons, statuses) if s == "refuted"] + \
                  [r for r, s in zip(reasons, statuses) if s != "refuted"]
    elif all(s == "ok" for s in statuses):
        outcome = "verified"
    else:
        outcome = "inconclusive"
    if not applies:
        outcome = "inconclusive"
        reasons.insert(0, "the theorem's precondition fails in this run: "
                          + (applies_reason or "not met"))
        needs.insert(0, "an instance or run where the precondition holds")
    if provenance == "calibrated" and outcome == "verified":
        outcome = "info"
        reasons.insert(0, "calibrated constants: agreement here cannot verify the theorem, "
                          "which uses its own constants")
    fit = rt["fit"] if rt else None
    kind_name = "+".join(k for k, on in (("rate", rt is not None), ("bound", bt is not None))
                         if on) or "info"
    return Verdict(
        paper=paper, theorem=theorem, claim=claim, outcome=outcome,
        reason="; ".join(reasons), needs="; ".join(dict.fromkeys(needs)) or None,
        provenance=provenance, kind=kind_name, measured=measured,
        bound=None if tot is None else float(tot[-1]),
        bound_status="n/a" if bt is None else bt.status,
        tightness=None if bt is None else bt.tightness,
        vacuity=None if bt is None else bt.vacuity,
        rate_status="n/a" if rt is None else rt["status"],
        exponent=None if fit is None else fit.exponent,
        exponent_ci=None if fit is None else (
            fit.ci if exponent_is_upper or not matching_lower_bound else fit.interval(0.90)),
        claimed_exponent=None if claimed_exponent is None else float(claimed_exponent),
        exponent_is_upper=bool(exponent_is_upper),
        window=None if rt is None else rt["window"],
        n_points=None if rt is None else rt["n_points"],
        decades=None if rt is None else rt["decades"],
        margin=None if rt is None else rt["margin"], n_seeds=int(n_seeds),
        p_value=min(p_values) if p_values else None, note=note)


__all__ = ["verdict"]
