"""Calibration of the verdict engine on synthetic curves of known exponent and noise.

Each scenario draws many independent replicates (fixed seeds, so the suite is deterministic) and
checks how often the engine verifies / refutes: the referee's error rates, not single cases.
"""
import numpy as np
import pandas as pd
import pytest

from mdptheory import analysis

X = np.unique(np.round(np.logspace(2, 5, 21)).astype(np.int64))      # 3 decades, 21 points
REPLICATES = 60


def curves(exponent, *, n_seeds=10, seed_sd=0.2, point_sd=0.05, rng=0, xs=X, shape=None,
           scale=1.0):
    """Tidy table: y_i(x) = scale * c_i * f(x) * exp(point noise), f = x^exponent (or shape)."""
    gen = np.random.default_rng(rng)
    f = xs.astype(float) ** exponent if shape is None else shape(xs.astype(float))
    rows = []
    for s in range(n_seeds):
        c = np.exp(seed_sd * gen.normal())
        y = scale * c * f * np.exp(point_sd * gen.normal(size=xs.size))
        rows.append(pd.DataFrame({"seed": s, "k": xs, "y": y}))
    return pd.concat(rows, ignore_index=True)


def judge(df, **kw):
    kw.setdefault("claimed_exponent", 0.5)
    kw.setdefault("exponent_is_upper", True)
    return analysis.verdict(df, x="k", y="y", claim="synthetic", paper="synthetic",
                            theorem="T", provenance="paper", n_boot=600, **kw)


def outcomes(make, **kw):
    return [judge(make(r), **kw).outcome for r in range(REPLICATES)]


def test_clean_sqrt_curve_is_verified_at_least_90_percent():
    out = outcomes(lambda r: curves(0.5, rng=r))
    assert out.count("verified") >= 0.9 * REPLICATES, out


def test_fast_growth_with_wide_ci_is_never_verified():
    out = outcomes(lambda r: curves(0.9, rng=1000 + r, n_seeds=10, seed_sd=0.5, point_sd=1.0))
    assert "verified" not in out, out


def _with_bound(df, lead_coef, lower):
    return df.assign(bound=lead_coef * np.sqrt(df["k"]) + lower,
                     lead=lead_coef * np.sqrt(df["k"]))


def test_linear_curve_with_dominant_leading_term_is_refuted():
    out = outcomes(lambda r: _with_bound(curves(1.0, rng=2000 + r, scale=1e-3), 10.0, 1.0),
                   bound="bound", bound_leading="lead", probability="in expectation")
    assert out.count("refuted") >= 0.9 * REPLICATES, out


def test_linear_curve_with_dominant_lower_term_is_inconclusive_with_needs():
    def parts(k):
        return {"leading": 10.0 * np.sqrt(k), "lower": np.full_like(np.asarray(k, float), 1e9)}
    for r in range(5):
        df = _with_bound(curves(1.0, rng=3000 + r, scale=1e-3), 10.0, 1e9)
        v = judge(df, bound="bound", bound_leading="lead", probability="in expectation",
                  bound_parts=parts)
        assert v.outcome == "inconclusive"
        assert v.rate_status == "inconclusive"
        # leading >= 10 x lower  <=>  sqrt(k) >= 1e9  <=>  k >= 1e18; one decade beyond it
        assert v.needs is not None and v.needs.startswith("k >= 1e+19 "), v.needs


def test_all_zero_curves_are_not_verified():
    df = curves(0.5, rng=1).assign(y=0.0)
    v = judge(df)
    assert v.outcome == "inconclusive" and v.rate_status == "floor"
    v = judge(df.assign(bound=1.0), bound="bound", probability="deterministic")
    assert v.outcome == "inconclusive"


def test_vacuous_bound_alone_is_not_verified():
    df = curves(0.5, rng=2).assign(trivial=lambda d: d["k"] * 1.0)
    df["bound"] = 10 * df["trivial"]
    v = analysis.verdict(df, x="k", y="y", claim="c", paper="p", theorem="t",
                         provenance="paper", bound="bound", trivial_bound="trivial",
                         probability="deterministic")
    assert v.outcome == "inconclusive" and v.bound_status == "vacuous"
    assert v.vacuity == pytest.approx(10.0)


def test_three_seeds_are_inconclusive_not_refuted():
    for r in range(10):
        v = judge(curves(1.0, rng=4000 + r, n_seeds=3))
        assert v.outcome == "inconclusive"
        assert v.needs == "seeds >= 10"


def test_slope_just_beyond_the_margin_is_rarely_verified():
    # a + m + 0.1 with m = 0.05 (no bound): the true slope is 0.65
    out = outcomes(lambda r: curves(0.65, rng=5000 + r, seed_sd=0.3, point_sd=0.3))
    assert out.count("verified") <= 0.05 * REPLICATES, out


def test_log_factor_with_many_seeds_is_rarely_refuted():
    shape = lambda k: np.sqrt(k) * np.log(k)
    def make(r):
        df = curves(None, rng=6000 + r, n_seeds=100, shape=shape)
        return df.assign(bound=20.0 * shape(df["k"].to_numpy(float)))
    out = outcomes(make, bound="bound", probability="in expectation")
    assert out.count("refuted") <= 0.05 * REPLICATES, out
    assert out.count("verified") >= 0.9 * REPLICATES, out
