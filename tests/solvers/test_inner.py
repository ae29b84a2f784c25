"""Public inner-problem API against cvxpy solves of the primal, plus every error branch."""
import warnings

import cvxpy as cp
import numpy as np
import pytest

from mdptheory.models.uncertainty import Divergence, name, parse
from mdptheory.solvers.inner import divergence_value, regularized_worst_case_mean, worst_case_mean

CLARABEL_TIGHT = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}


def cvxpy_primal(p, v, div, regularized, param):
    """inf over the simplex of q.v (+ lam D) s.t. (D <= rho), solved by CLARABEL."""
    S = p.shape[0]
    q = cp.Variable(S)
    supp = np.flatnonzero(p > 0)
    out = np.flatnonzero(p == 0)
    cons = [q >= 0, cp.sum(q) == 1]
    if div == "tv":
        D = 0.5 * cp.norm1(q - p)
    else:
        if out.size:
            cons.append(q[out] == 0)
        qs, ps = q[supp], p[supp]
        D = (cp.sum(cp.kl_div(qs, ps)) if div == "kl"
             else cp.sum(cp.multiply(1.0 / ps, cp.square(qs - ps))))
    if regularized:
        # divide by lam: keeps the exponential cone well scaled when lam is small
        prob = cp.Problem(cp.Minimize(q @ v / param + D), cons)
        scale = param
    else:
        prob = cp.Problem(cp.Minimize(q @ v), cons + [D <= param])
        scale = 1.0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        prob.solve(solver="CLARABEL", **CLARABEL_TIGHT)
    # at 1e-9 CLARABEL sometimes stops at its "reduced accuracy" level; the value is still
    # compared to 1e-6 below
    assert prob.status in ("optimal", "optimal_inaccurate"), prob.status
    # opt_val rather than prob.value: the latter re-evaluates kl_div at a q with -1e-10 entries
    return prob.solution.opt_val * scale


def instances():
    rng = np.random.default_rng(2024)
    cases = []
    for it in range(14):
        S = int(rng.integers(2, 10))
        p = rng.dirichlet(np.full(S, 0.7))
        if it % 3 == 0:
            p[rng.integers(S)] = 0.0
            p /= p.sum()
        v = rng.uniform(0, 10, S)
        if it % 4 == 0:
            v = np.round(v)
        cases.append((p, v))
    cases.append((np.array([0.0, 1.0, 0.0]), np.array([3.0, 1.0, 2.0])))          # one-hot p
    cases.append((np.array([0.2, 0.3, 0.5]), np.full(3, 2.5)))                    # constant v
    cases.append((rng.dirichlet(np.ones(6)), rng.uniform(0, 1000, 6)))            # large values
    return cases


CASES = instances()
DIVS = ["tv", "kl", "chi2"]


@pytest.mark.parametrize("div", DIVS)
@pytest.mark.parametrize("radius", [1e-4, 0.02, 0.3, 1.5, 1e3])  # 0: separate test
def test_worst_case_mean_matches_cvxpy_primal(div, radius):
    for p, v in CASES:
        value, q = worst_case_mean(p, v, div, radius, return_q=True)
        scale = max(1.0, np.abs(v).max())
        assert value == pytest.approx(cvxpy_primal(p, v, div, False, radius), abs=1e-6 * scale)
        assert np.all(q >= 0) and q.sum() == pytest.approx(1.0, abs=1e-12)
        assert divergence_value(q, p, div) <= radius * (1 + 1e-9) + 1e-12
        assert q @ v == pytest.approx(value, abs=1e-9 * scale)


@pytest.mark.parametrize("div", DIVS)
@pytest.mark.parametrize("lam", [1e-6, 0.05, 0.5, 4.0])
def test_regularized_worst_case_mean_matches_cvxpy_primal(div, lam):
    for p, v in CASES:
        value, q = regularized_worst_case_mean(p, v, div, lam, return_q=True)
        scale = max(1.0, np.abs(v).max())
        assert value == pytest.approx(cvxpy_primal(p, v, div, True, lam), abs=1e-6 * scale)
        assert np.all(q >= 0) and q.sum() == pytest.approx(1.0, abs=1e-12)
        assert q @ v + lam * divergence_value(q, p, div) == pytest.approx(value,
                                                                          abs=1e-9 * scale)


def test_lam_zero_and_radius_zero_limits():
    p = [0.0, 0.5, 0.5]
    v = [-4.0, 1.0, 3.0]
    assert regularized_worst_case_mean(p, v, "tv", 0) == -4.0   # min over all states
    assert regularized_worst_case_mean(p, v, "kl", 0) == 1.0    # min over supp p
    assert regularized_worst_case_mean(p, v, "chi2", 0.0) == 1.0
    for div in DIVS:
        assert worst_case_mean(p, v, div, 0.0) == 2.0


def test_return_types_and_inputs_untouched():
    p = np.array([0.25, 0.75])
    v = np.array([1.0, 2.0])
    out = worst_case_mean(p, v, "kl", 0.1)
    assert type(out) is float
    value, q = regularized_worst_case_mean(p, v, "chi2", 1.0, return_q=True)
    assert type(value) is float and q.shape == (2,) and q.dtype == np.float64
    np.testing.assert_array_equal(p, [0.25, 0.75])
    np.testing.assert_array_equal(v, [1.0, 2.0])


def test_divergence_aliases_and_enum_are_accepted():
    p = [0.3, 0.7]
    v = [0.0, 1.0]
    ref = worst_case_mean(p, v, "chi2", 0.2)
    for d in ("chi-square", "CHI2", Divergence.CHI2):
        assert worst_case_mean(p, v, d, 0.2) == ref
    assert worst_case_mean(p, v, "total_variation", 0.2) == worst_case_mean(p, v, "tv", 0.2)
    assert parse("kl") == Divergence.KL == 1 and parse(Divergence.TV) == 0
    assert name("chi-square") == "chi2" and name(Divergence.KL) == "kl"


def test_p_within_tolerance_is_renormalised():
    p = np.array([0.5, 0.5 + 5e-9])
    v = np.array([0.0, 1.0])
    value = worst_case_mean(p, v, "tv", 0.0)
    assert value == pytest.approx((0.5 + 5e-9) / (1 + 5e-9), abs=1e-15)


def test_divergence_value():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.75, 0.0])
    assert divergence_value(q, p, "tv") == pytest.approx(0.25)
    assert divergence_value(q, p, "kl") == pytest.approx(
        0.25 * np.log(0.5) + 0.75 * np.log(1.5))
    assert divergence_value(q, p, "chi2") == pytest.approx(2 * 0.0625 / 0.5)
    outside = np.array([0.5, 0.25, 0.25])
    assert divergence_value(outside, p, "kl") == np.inf
    assert divergence_value(outside, p, "chi2") == np.inf
    assert divergence_value(outside, p, "tv") == pytest.approx(0.25)
    assert divergence_value([1.0, 0.0, 0.0], p, "kl") == pytest.approx(np.log(2))


@pytest.mark.parametrize("fn,param_name", [(worst_case_mean, "radius"),
                                           (regularized_worst_case_mean, "lam")])
def test_error_branches(fn, param_name):
    p = [0.5, 0.5]
    v = [1.0, 2.0]
    with pytest.raises(TypeError, match=r"divergence must be a string"):
        fn(p, v, 1, 0.1)
    with pytest.raises(ValueError, match=r"divergence 'hellinger' is unknown"):
        fn(p, v, "hellinger", 0.1)
    with pytest.raises(TypeError, match=r"p must be an array of numbers, got None"):
        fn(None, v, "tv", 0.1)
    with pytest.raises(TypeError, match=r"p must be an array of numbers"):
        fn(["a", "b"], v, "tv", 0.1)
    with pytest.raises(ValueError, match=r"p must have 1 dimensions, got shape \(1, 2\)"):
        fn([[0.5, 0.5]], v, "tv", 0.1)
    with pytest.raises(ValueError, match=r"p\[1\] is -0.1, expected a probability >= 0"):
        fn([1.1, -0.1], v, "tv", 0.1)
    with pytest.raises(ValueError, match=r"p sums to 0.9, expected 1"):
        fn([0.5, 0.4], v, "tv", 0.1)
    with pytest.raises(ValueError, match=r"p\[0\] is nan, expected a finite number"):
        fn([np.nan, 0.5], v, "tv", 0.1)
    with pytest.raises(ValueError, match=r"p sums to 0, expected 1"):
        fn([], [], "tv", 0.1)
    with pytest.raises(TypeError, match=r"v must be an array of numbers, got None"):
        fn(p, None, "tv", 0.1)
    with pytest.raises(ValueError, match=r"v must have shape \(2,\), got \(3,\)"):
        fn(p, [1.0, 2.0, 3.0], "tv", 0.1)
    with pytest.raises(ValueError, match=r"v\[1\] is inf, expected a finite number"):
        fn(p, [1.0, np.inf], "tv", 0.1)
    with pytest.raises(TypeError, match=param_name + r" must be a real number, got str"):
        fn(p, v, "tv", "0.1")
    with pytest.raises(TypeError, match=param_name + r" must be a real number, got bool"):
        fn(p, v, "tv", True)
    with pytest.raises(ValueError, match=param_name + r" must be >= 0.0, got -0.1"):
        fn(p, v, "tv", -0.1)
    with pytest.raises(ValueError, match=param_name + r" is inf, expected a finite number"):
        fn(p, v, "kl", np.inf)


def test_divergence_value_error_branches():
    with pytest.raises(ValueError, match=r"q must have shape \(2,\), got \(3,\)"):
        divergence_value([0.2, 0.3, 0.5], [0.5, 0.5], "tv")
    with pytest.raises(ValueError, match=r"q sums to 0.5, expected 1"):
        divergence_value([0.2, 0.3], [0.5, 0.5], "tv")
    with pytest.raises(ValueError, match=r"p\[0\] is -0.5, expected a probability >= 0"):
        divergence_value([0.5, 0.5], [-0.5, 1.5], "kl")
    with pytest.raises(ValueError, match=r"p must have 1 dimensions"):
        divergence_value([0.5, 0.5], 1.0, "kl")
    with pytest.raises(ValueError, match=r"divergence 'js' is unknown"):
        divergence_value([0.5, 0.5], [0.5, 0.5], "js")


@pytest.mark.parametrize("radius", [5e-324, 1e-300, 1e-100, 1e-30, 1e-20, 1e-12])
def test_kl_constrained_tiny_radius_matches_second_order_expansion(radius):
    # inf_{KL(q||p) <= rho} q.v = E_p v - sqrt(2 rho Var_p v) + O(rho)   (regression: tiny radii
    # once returned min v, and the robust DP divided by zero)
    p = np.array([0.2, 0.3, 0.5])
    v = np.array([1.0, 2.0, 3.0])
    var = p @ v**2 - (p @ v) ** 2
    want = p @ v - np.sqrt(2 * radius * var)
    assert abs(worst_case_mean(p, v, "kl", radius) - want) <= radius + 1e-15


def test_robust_dp_with_tiny_kl_radius_is_nominal():
    from mdptheory.envs import garnet
    from mdptheory.solvers import backward_induction, robust_backward_induction
    mdp = garnet(6, 3, 3, H=5, rng=0)
    np.testing.assert_allclose(robust_backward_induction(mdp, "kl", 1e-309).V,
                               backward_induction(mdp).V, atol=1e-12)


@pytest.mark.parametrize("div", ["tv", "kl", "chi2"])
@pytest.mark.parametrize("radius", [5e-324, 2.2250738585e-313, 1e-300])
def test_subnormal_radii_give_the_nominal_mean(div, radius):
    p = np.array([0.2, 0.3, 0.5])
    v = np.array([1.0, 2.0, 3.0])
    value, q = worst_case_mean(p, v, div, radius, return_q=True)
    assert abs(value - p @ v) <= 1e-15 and abs(q @ v - value) <= 1e-15


@pytest.mark.parametrize("fn,param_name", [(worst_case_mean, "radius"),
                                           (regularized_worst_case_mean, "lam")])
def test_error_branches_with_float64_arrays_take_the_compiled_check_then_name_the_entry(
        fn, param_name):
    """float64 ndarrays go through one compiled check (kernels.robust.valid_total); any
    failure falls back to the checks that name argument, index and value."""
    a = np.array
    v = a([1.0, 2.0])
    cases = [
        ((a([1.1, -0.1]), v), r"p\[1\] is -0.1, expected a probability >= 0"),
        ((a([0.5, 0.4]), v), r"p sums to 0.9, expected 1"),
        ((a([np.nan, 0.5]), v), r"p\[0\] is nan, expected a finite number"),
        ((a([np.inf, 0.5]), v), r"p\[0\] is inf, expected a finite number"),
        ((a([]), a([])), r"p sums to 0, expected 1"),
        ((a([0.5, 0.5]), a([1.0, np.inf])), r"v\[1\] is inf, expected a finite number"),
        ((a([0.5, 0.5]), a([np.nan, 1.0])), r"v\[0\] is nan, expected a finite number"),
        ((a([0.5, 0.5]), a([1.0, 2.0, 3.0])), r"v must have shape \(2,\), got \(3,\)"),
    ]
    for (p, vv), message in cases:
        with pytest.raises(ValueError, match=message):
            fn(p, vv, "tv", 0.1)
    with pytest.raises(ValueError, match=param_name + r" is nan, expected a finite number"):
        fn(a([0.5, 0.5]), v, "chi2", float("nan"))
    with pytest.raises(ValueError, match=param_name + r" must be >= 0.0, got -0.1"):
        fn(a([0.5, 0.5]), v, "kl", -0.1)


def test_fast_path_rescales_p_only_beyond_rounding():
    """p within 1e-12 of summing to 1 is used as given; within the 1e-8 tolerance it is
    rescaled first, as the list path does."""
    v = np.array([0.0, 1.0])
    p_off = np.array([0.5, 0.5 + 1e-9])
    expected = worst_case_mean(list(p_off), list(v), "tv", 0.0)       # slow path: p / sum
    assert worst_case_mean(p_off, v, "tv", 0.0) == expected
    assert expected == pytest.approx((0.5 + 1e-9) / (1.0 + 1e-9), abs=1e-15)
