"""The verdict engine, path by path: schema, bound tests, regime, burn-in, floors, curvature,
TOST, the non-curve claims and Holm's correction."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from mdptheory import analysis
from mdptheory.analysis import Verdict
from mdptheory.analysis.bound_test import clopper_pearson, seeds_to_certify

K = np.unique(np.round(np.logspace(1, 5, 33)).astype(np.int64))
META = dict(claim="c", paper="P", theorem="T")
SCHEMA = {"outcome", "reason", "needs", "provenance", "bound_status", "tightness", "vacuity",
          "rate_status", "window", "n_points", "paper", "theorem", "claim", "passed",
          "measured", "bound", "exponent", "exponent_ci", "claimed_exponent", "note",
          "exponent_is_upper"}


def table(f, n_seeds=10, noise=0.05, rng=0, xs=K):
    gen = np.random.default_rng(rng)
    rows = []
    for s in range(n_seeds):
        y = f(xs.astype(float)) * np.exp(0.1 * gen.normal()) \
            * np.exp(noise * gen.normal(size=xs.size))
        rows.append(pd.DataFrame({"seed": s, "k": xs, "y": y}))
    return pd.concat(rows, ignore_index=True)


# ----------------------------------------------------------------------------- schema

def test_schema_keys_and_passed_follow_the_outcome():
    v = analysis.verdict(table(np.sqrt), x="k", y="y", claimed_exponent=0.5,
                         exponent_is_upper=True, provenance="paper", **META)
    d = v.to_dict()
    assert SCHEMA <= set(d)
    assert d["outcome"] == "verified" and d["passed"] is True
    json.dumps(d)                                        # JSON-ready
    back = Verdict.from_dict(d)
    assert back.outcome == "verified" and back.window == v.window


def test_provenance_defaults_to_unlabelled_and_is_checked():
    v = analysis.verdict(table(np.sqrt), x="k", y="y", claimed_exponent=0.5,
                         exponent_is_upper=True, **META)
    assert v.provenance == "unlabelled"
    with pytest.raises(ValueError, match="provenance='paperish'"):
        analysis.verdict(table(np.sqrt), x="k", y="y", claimed_exponent=0.5,
                         provenance="paperish", **META)


def test_bad_calls_name_the_argument():
    df = table(np.sqrt)
    with pytest.raises(ValueError, match="give a bound column or a claimed_exponent"):
        analysis.verdict(df, x="k", y="y", **META)
    with pytest.raises(ValueError, match="column 'nope'"):
        analysis.verdict(df, x="k", y="nope", claimed_exponent=0.5, **META)
    with pytest.raises(ValueError, match="delta must be in"):
        analysis.verdict(df.assign(b=1.0), x="k", y="y", bound="b", delta=2.0, **META)
    with pytest.raises(ValueError, match="probability='sometimes'"):
        analysis.verdict(df.assign(b=1.0), x="k", y="y", bound="b", probability="sometimes",
                         **META)
    with pytest.raises(ValueError, match="bound_leading needs the bound"):
        analysis.verdict(df.assign(b=1.0), x="k", y="y", bound_leading="b",
                         claimed_exponent=0.5, **META)


def test_hand_made_verdicts_are_not_trusted():
    with pytest.warns(DeprecationWarning):
        v = Verdict(paper="P", theorem="T", claim="c", passed=True)
    assert v.outcome == "inconclusive" and not v.passed and "hand-made" in v.reason
    old = Verdict.from_dict({"paper": "P", "theorem": "T", "claim": "c", "passed": True})
    assert old.outcome == "inconclusive"
    with pytest.raises(ValueError, match="outcome='maybe'"):
        Verdict(paper="P", theorem="T", claim="c", outcome="maybe")


def test_calibrated_runs_cannot_verify():
    v = analysis.verdict(table(np.sqrt), x="k", y="y", claimed_exponent=0.5,
                         exponent_is_upper=True, provenance="calibrated", **META)
    assert v.outcome == "info" and "calibrated" in v.reason


# ----------------------------------------------------------------------------- bounds

def test_clopper_pearson_certification_counts():
    assert seeds_to_certify(0.05) == 59
    assert clopper_pearson(0, 59)[1] <= 0.05 < clopper_pearson(0, 58)[1]
    assert seeds_to_certify(0.1) == 29


def _bounded(n_seeds, crossing_seeds=0, factor=3.0):
    df = table(np.sqrt, n_seeds=n_seeds)
    df["bound"] = factor * np.sqrt(df["k"])
    df.loc[df["seed"] < crossing_seeds, "bound"] = 0.5 * np.sqrt(df["k"])
    return df


def test_high_probability_bound_needs_59_clean_seeds_for_delta_005():
    v = analysis.verdict(_bounded(59), x="k", y="y", bound="bound", delta=0.05, **META)
    assert v.bound_status == "holds" and v.outcome == "verified"
    v = analysis.verdict(_bounded(20), x="k", y="y", bound="bound", delta=0.05, **META)
    assert v.bound_status == "uncertain" and v.outcome == "inconclusive"
    assert v.needs == "seeds >= 59"
    v = analysis.verdict(_bounded(40, crossing_seeds=10), x="k", y="y", bound="bound",
                         delta=0.05, **META)
    assert v.bound_status == "violated" and v.outcome == "refuted" and v.p_value < 1e-4


def test_deterministic_bound_one_counterexample_refutes():
    df = _bounded(12, crossing_seeds=1)
    v = analysis.verdict(df, x="k", y="y", bound="bound", probability="deterministic", **META)
    assert v.outcome == "refuted" and "counterexample" in v.reason and v.p_value == 0.0


def test_bound_in_expectation_uses_the_mean_ci():
    df = _bounded(12)
    v = analysis.verdict(df, x="k", y="y", bound="bound", probability="in expectation",
                         **META)
    assert v.bound_status == "holds" and v.outcome == "verified"
    df["bound"] = 0.2 * np.sqrt(df["k"])
    v = analysis.verdict(df, x="k", y="y", bound="bound", probability="in expectation",
                         **META)
    assert v.outcome == "refuted" and v.bound_status == "violated"


def test_rate_only_bound_has_no_level_to_test():
    df = _bounded(12, crossing_seeds=12)
    v = analysis.verdict(df, x="k", y="y", bound="bound", constants="rate-only",
                         claimed_exponent=0.5, exponent_is_upper=True, **META)
    assert v.bound_status == "n/a" and v.outcome == "verified"


def test_bound_spec_supplies_probability_and_constants():
    from mdptheory import bounds
    spec = bounds.get("ucbvi_ch_regret")
    v = analysis.verdict(_bounded(20), x="k", y="y", bound="bound", bound_spec=spec,
                         delta=0.05, **META)
    assert v.bound_status == "uncertain"              # high-probability: CP on 20 seeds


# ----------------------------------------------------------------------------- regime

def test_rate_waits_for_the_leading_term_and_says_from_where():
    df = table(lambda k: 0.01 * k, n_seeds=10)        # linear: would refute sqrt
    df["lead"] = 100 * np.sqrt(df["k"])
    df["bound"] = df["lead"] + 1e4                     # lead >= 10 rest from k = 1e6
    v = analysis.verdict(df, x="k", y="y", bound="bound", bound_leading="lead",
                         claimed_exponent=0.5, exponent_is_upper=True,
                         probability="in expectation",
                         bound_parts=lambda k: {"leading": 100 * np.sqrt(k),
                                                "lower": 1e4 + 0 * k}, **META)
    assert v.outcome == "inconclusive" and v.rate_status == "inconclusive"
    assert "outside the theorem's regime" in v.reason
    assert v.needs.startswith("k >= 1e+07 ")
    # inside the regime from k ~ 1e2 on: refuted
    df["bound"] = df["lead"] + 1.0
    v = analysis.verdict(df, x="k", y="y", bound="bound", bound_leading="lead",
                         claimed_exponent=0.5, exponent_is_upper=True,
                         probability="in expectation", **META)
    assert v.outcome == "refuted" and v.rate_status == "inconsistent"


def test_vacuous_bound_keeps_the_rate_out_of_its_regime():
    df = table(np.sqrt)
    df["trivial"] = df["k"] * 1.0
    df["bound"] = df["trivial"] * 50
    v = analysis.verdict(df, x="k", y="y", bound="bound", bound_leading="bound",
                         trivial_bound="trivial", claimed_exponent=0.5, exponent_is_upper=True,
                         probability="deterministic", **META)
    assert v.outcome == "inconclusive" and v.bound_status == "vacuous"
    assert "trivial bound" in v.reason
    assert "below the trivial bound nowhere in the sweep" in v.needs   # the rate's sharper word
    # a bound-only claim: the generic word of what would decide it
    b = analysis.verdict(df, x="k", y="y", bound="bound", trivial_bound="trivial",
                         probability="deterministic", **META)
    assert b.outcome == "inconclusive" and "falls below the trivial bound" in b.needs


def test_linear_phase_of_a_cumulative_curve_is_not_a_rate():
    df = table(lambda k: 0.5 * k, n_seeds=10)
    v = analysis.verdict(df, x="k", y="y", claimed_exponent=0.5, exponent_is_upper=True,
                         cumulative=True, **META)
    assert v.outcome == "inconclusive" and "linear phase" in v.reason
    assert "past the burn-in" in v.needs


def test_burn_in_does_not_refute():
    # linear up to k = 100, then sqrt growth for three decades
    f = lambda k: np.where(k <= 100, k, 100 + 10 * (np.sqrt(k) - 10))
    v = analysis.verdict(table(f, noise=0.01), x="k", y="y", claimed_exponent=0.5,
                         exponent_is_upper=True, cumulative=True, **META)
    assert v.outcome != "refuted"


def test_switching_policies_mark_the_linear_phase():
    df = table(np.sqrt)
    df["switches"] = 0.9 * df["k"]
    v = analysis.verdict(df, x="k", y="y", claimed_exponent=0.5, exponent_is_upper=True,
                         cumulative=True, switches="switches", **META)
    assert v.outcome == "inconclusive" and "switches in 90%" in v.reason


# ----------------------------------------------------------------------------- floors

def test_frozen_curve_is_a_floor_not_a_rate():
    df = table(lambda k: k ** -0.5)
    df.loc[df["k"] >= 100, "y"] = 4e-4                 # frozen from k = 100 on
    v = analysis.verdict(df, x="k", y="y", claimed_exponent=-0.5, exponent_is_upper=True,
                         window=(100, 1e5), **META)
    assert v.rate_status == "floor" and v.outcome == "inconclusive"
    assert "floor reached at k = 100" in v.reason
    assert "off its floor" in v.needs and "k = 100" in v.needs


def test_flat_within_noise_is_a_floor():
    df = table(lambda k: 1.0 + 0 * k, noise=0.01)
    v = analysis.verdict(df, x="k", y="y", claimed_exponent=-0.5, exponent_is_upper=True,
                         **META)
    assert v.rate_status == "floor"


def test_zero_and_negative_means_are_never_dropped_silently():
    df = table(np.sqrt)
    df.loc[df["k"] == K[-1], "y"] = -1.0
    v = analysis.verdict(df, x="k", y="y", claimed_exponent=0.5, exponent_is_upper=True,
                         **META)
    assert v.outcome == "inconclusive" and "<= 0" in v.reason
    assert "seed mean > 0" in v.needs


# ----------------------------------------------------------------------------- curvature

def test_a_bending_curve_is_not_refuted():
    # slope 1.3 until 3e4 and then 0.3: the fit over the window is steep, but it slows
    f = lambda k: np.where(k <= 3e4, k ** 1.3, 3e4 ** 1.3 * (k / 3e4) ** 0.3)
    v = analysis.verdict(table(f, noise=0.01), x="k", y="y", claimed_exponent=0.5,
                         exponent_is_upper=True, window=(1e2, 1e5), **META)
    assert v.outcome == "inconclusive" and "bending down" in v.reason


# ----------------------------------------------------------------------------- two-sided

def test_two_sided_claims_use_tost_only_with_a_matching_lower_bound():
    df = table(lambda k: k ** -0.5)
    v = analysis.verdict(df, x="k", y="y", claimed_exponent=-0.5, matching_lower_bound=True,
                         **META)
    assert v.outcome == "verified" and "TOST" in v.reason
    fast = table(lambda k: k ** -0.8)
    v = analysis.verdict(fast, x="k", y="y", claimed_exponent=-0.5,
                         matching_lower_bound=True, **META)
    assert v.outcome == "refuted"
    v = analysis.verdict(fast, x="k", y="y", claimed_exponent=-0.5, **META)
    assert v.outcome == "verified" and "tested as an upper rate" in v.reason


# ----------------------------------------------------------------------------- other claims

def test_compare():
    rng = np.random.default_rng(0)
    up = analysis.compare(1.0 + 0.3 * rng.normal(size=12), **META)
    assert up.outcome == "verified" and up.kind == "comparison"
    down = analysis.compare(-1.0 + 0.3 * rng.normal(size=12), **META)
    assert down.outcome == "refuted"
    noisy = analysis.compare(0.1 + 1.0 * rng.normal(size=12), **META)
    assert noisy.outcome == "inconclusive" and noisy.needs
    few = analysis.compare(1.0 + 0.3 * rng.normal(size=4), **META)
    assert few.outcome == "inconclusive" and few.needs == "seeds >= 10"
    tie = analysis.compare(np.zeros(12), **META)
    assert tie.outcome == "inconclusive" and "ties" in tie.reason
    assert analysis.compare(np.zeros(12), strict=False, **META).outcome == "verified"
    pre = analysis.compare(np.ones(12), applies=False, applies_reason="ablation identical",
                           **META)
    assert pre.outcome == "inconclusive" and "ablation identical" in pre.reason
    less = analysis.compare(-np.ones(12) + 0.1 * rng.normal(size=12), direction="less", **META)
    assert less.outcome == "verified"
    # a difference that is the same on every seed is deterministic (decided without a t test),
    # but one seed cannot show that
    same = analysis.compare(np.full(3, 0.5), **META)
    assert same.outcome == "verified" and "the same on every seed" in same.reason
    assert analysis.compare(np.full(3, -0.5), **META).outcome == "refuted"
    one = analysis.compare(np.array([0.5]), **META)
    assert one.outcome == "inconclusive" and "one seed" in one.reason


def test_proportion():
    assert analysis.proportion(59, 59, at_least=0.95, **META).outcome == "verified"
    v = analysis.proportion(20, 20, at_least=0.95, **META)
    assert v.outcome == "inconclusive" and v.needs == "runs >= 59 (all succeeding)"
    assert analysis.proportion(40, 59, at_least=0.95, **META).outcome == "refuted"
    v = analysis.proportion(59, 59, at_least=0.95, family_size=3, **META)
    assert v.outcome == "inconclusive"                 # Bonferroni over 3 configurations
    assert analysis.proportion(80, 80, at_least=0.95, family_size=3, **META).outcome \
        == "verified"
    with pytest.raises(ValueError, match="successes"):
        analysis.proportion(5, 3, at_least=0.9, **META)


def test_inequality_and_info():
    assert analysis.inequality([-1.0, 0.0, 1e-12], **META).outcome == "verified"
    v = analysis.inequality([-1.0, 0.5], **META)
    assert v.outcome == "refuted" and "case 1 of 2" in v.reason
    i = analysis.info(measured=3.0, **META)
    assert i.outcome == "info" and i.measured == 3.0 and not i.passed


def test_monotone():
    assert analysis.monotone([3.0, 2.0, 2.0, 1.0], **META).outcome == "verified"
    v = analysis.monotone([3.0, 2.0, 2.0, 1.0], strict=True, **META)
    assert v.outcome == "refuted"                      # a tie breaks a strict claim
    rng = np.random.default_rng(1)
    noisy = np.array([3.0, 2.0, 1.0]) + 0.05 * rng.normal(size=(12, 3))
    assert analysis.monotone(noisy, strict=True, **META).outcome == "verified"
    rising = np.array([1.0, 2.0, 3.0]) + 0.05 * rng.normal(size=(12, 3))
    assert analysis.monotone(rising, **META).outcome == "refuted"


def test_holm_demotes_weak_refutations_within_a_paper():
    def v(p, paper="P", outcome="refuted"):
        return Verdict(paper=paper, theorem="T", claim="c", outcome=outcome, p_value=p,
                       kind="rate")
    vs = [v(0.03), v(0.0), v(0.5, outcome="verified"), v(0.6, outcome="verified"),
          v(0.03, paper="Q")]
    out = analysis.correct(vs)
    assert out[0].outcome == "inconclusive" and "Holm" in out[0].reason
    assert out[1].outcome == "refuted"                 # a counterexample always stands
    assert out[4].outcome == "refuted"                 # its own family of one test
    assert analysis.correct(out) == out                # idempotent


def test_no_deprecation_warning_from_the_engine():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        analysis.verdict(table(np.sqrt), x="k", y="y", claimed_exponent=0.5,
                         exponent_is_upper=True, **META)


def test_a_failed_precondition_makes_a_curve_claim_inconclusive():
    v = analysis.verdict(table(np.sqrt), x="k", y="y", claimed_exponent=0.5,
                         exponent_is_upper=True, applies=False,
                         applies_reason="coverage fails", **META)
    assert v.outcome == "inconclusive" and "coverage fails" in v.reason
    assert v.rate_status == "consistent"               # the measurement is still reported


def test_two_identical_seeds_are_not_an_exact_computation():
    v = analysis.monotone([[1.0, 2.0], [1.0, 2.0]], **META)
    assert v.outcome == "inconclusive" and v.needs == "seeds >= 10"
    assert analysis.monotone([[1.0, 2.0]] * 10, **META).outcome == "refuted"
