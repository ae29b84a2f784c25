"""Kernels of mdptheory.kernels.robust against slow, obvious NumPy/SciPy twins.

Each twin uses a different formula from the kernel it checks (sorting instead of the bucket search,
the primal objective or the alpha-dual instead of the kernel's dual, brentq instead of
Newton), so agreement to 1e-9 is evidence of exactness.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import brentq, minimize_scalar
from scipy.special import logsumexp

from mdptheory.kernels import robust as K
from mdptheory.testing import examples

EMPTY = np.empty(0)
KERNELS = {(0, False): K.tv_constrained, (0, True): K.tv_regularized,
           (1, False): K.kl_constrained, (1, True): K.kl_regularized,
           (2, False): K.chi2_constrained, (2, True): K.chi2_regularized}


# ---------------------------------------------------------------------------------------------
# slow references
# ---------------------------------------------------------------------------------------------
def ref_tv_constrained(p, v, rho):
    """Greedy by sorting: delta = min(rho, 1 - p(s*)) moved from the highest v onto s*."""
    s_star = int(np.argmin(v))
    delta = min(rho, 1.0 - p[s_star])
    q = p.copy()
    left = delta
    for s in np.argsort(-v, kind="stable"):
        if s == s_star or left <= 0:
            continue
        cut = min(q[s], left)
        q[s] -= cut
        left -= cut
    q[s_star] += delta - left
    return float(q @ v)


def ref_tv_regularized(p, v, lam):
    return float(np.sum(p * np.minimum(v, v.min() + lam)))


def ref_kl_regularized(p, v, lam):
    s = p > 0
    if lam == 0:
        return float(v[s].min())
    return float(-lam * logsumexp(-v[s] / lam, b=p[s]))


def ref_kl_constrained(p, v, rho):
    """brentq on KL(q_theta||p) = rho, then the dual at theta (written with logsumexp)."""
    s = p > 0
    ps, vs = p[s], v[s]
    m = vs.min()
    if rho == 0:
        return float(ps @ vs)
    if rho >= -np.log(ps[vs == m].sum()):
        return float(m)

    def kl(theta):
        lz = logsumexp(-theta * (vs - m), b=ps)
        q = ps * np.exp(-theta * (vs - m) - lz)
        return float(q @ (-theta * (vs - m)) - lz) - rho

    hi = 1.0
    while kl(hi) < 0:
        hi *= 2.0
    theta = brentq(kl, 0.0, hi, xtol=1e-15, rtol=1e-15, maxiter=500)
    lz = logsumexp(-theta * (vs - m), b=ps)
    return float(m - (lz + rho) / theta)


def ref_chi2_regularized(p, v, lam):
    """Sort, find c with E_p (c - v)_+ = 2 lam on the sorted breakpoints, primal objective."""
    s = p > 0
    ps, vs = p[s], v[s]
    if lam == 0:
        return float(vs.min())
    order = np.argsort(vs)
    ps, vs = ps[order], vs[order]
    W = np.cumsum(ps)
    S1 = np.cumsum(ps * vs)
    c = None
    for k in range(len(vs)):
        c_k = (2 * lam + S1[k]) / W[k]
        if k == len(vs) - 1 or c_k <= vs[k + 1]:
            c = c_k
            break
    q = ps * np.maximum(c - vs, 0.0) / (2 * lam)
    q /= q.sum()
    return float(q @ vs + lam * np.sum((q - ps) ** 2 / ps))


def ref_chi2_constrained(p, v, rho):
    """The alpha-dual sup_a E_p[v]_a - sqrt(rho Var_p([v]_a)), concave on each interval between
    sorted support values: bounded scalar maximisation per interval plus all breakpoints."""
    s = p > 0
    ps, vs = p[s], v[s]

    def phi(a):
        t = np.minimum(vs, a)
        e = ps @ t
        var = max(ps @ (t - e) ** 2, 0.0)
        return e - np.sqrt(rho * var)

    pts = np.unique(vs)
    best = max(phi(a) for a in pts)
    for lo, hi in itertools.pairwise(pts):
        r = minimize_scalar(lambda a: -phi(a), bounds=(lo, hi), method="bounded",
                            options={"xatol": 1e-13 * max(1.0, abs(hi))})
        best = max(best, -r.fun)
    return float(best)


REFS = {(0, False): ref_tv_constrained, (0, True): ref_tv_regularized,
        (1, False): ref_kl_constrained, (1, True): ref_kl_regularized,
        (2, False): ref_chi2_constrained, (2, True): ref_chi2_regularized}
PROBLEMS = sorted(KERNELS)


def divergence(div, q, p):
    if div == 0:
        return 0.5 * np.abs(q - p).sum()
    s = p > 0
    assert np.all(q[~s] <= 1e-15)
    if div == 1:
        pos = (q > 0) & s
        return float(np.sum(q[pos] * np.log(q[pos] / p[pos])))
    return float(np.sum((q[s] - p[s]) ** 2 / p[s]))


def random_instance(rng, S, *, zeros=False, ties=False, scale=10.0):
    p = rng.dirichlet(np.full(S, 0.5))
    if zeros and S > 2:
        p[rng.choice(S, size=S // 3, replace=False)] = 0.0
        if p.sum() == 0:
            p[0] = 1.0
        p /= p.sum()
    v = rng.uniform(0.0, scale, S)
    if ties:
        v = np.round(v / scale * 4) * scale / 4
    return p, v


def check_minimizer(div, reg, p, v, param, value, q, tol=1e-9):
    """q is on the simplex, feasible (constrained) and attains the value."""
    scale = max(1.0, np.abs(v).max())
    assert np.all(q >= 0) and abs(q.sum() - 1) < 1e-12
    d = divergence(div, q, p)
    if reg:
        attained = q @ v + param * d if param > 0 else q @ v
    else:
        assert d <= param * (1 + 1e-9) + 1e-12
        attained = q @ v
    assert attained == pytest.approx(value, abs=tol * scale)


# ---------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_kernel_matches_slow_reference_on_random_instances(div, reg):
    rng = np.random.default_rng(100 + 10 * div + reg)
    for it in range(40):
        S = int(rng.integers(1, 40))
        p, v = random_instance(rng, S, zeros=it % 3 == 0, ties=it % 4 == 1)
        for param in (0.0, 1e-3, 0.05, 0.3, 1.0, 5.0):
            q = np.empty(S)
            value = KERNELS[div, reg](p, v, param, q)
            assert value == pytest.approx(REFS[div, reg](p, v, param), abs=1e-9 * 10), \
                (div, reg, param, p, v)
            check_minimizer(div, reg, p, v, param, value, q)


@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_kernel_without_q_returns_the_same_value(div, reg):
    rng = np.random.default_rng(7)
    p, v = random_instance(rng, 300, zeros=True, ties=True)
    q = np.empty(300)
    assert KERNELS[div, reg](p, v, 0.2, EMPTY) == KERNELS[div, reg](p, v, 0.2, q)


@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_compiled_equals_py_func(div, reg):
    rng = np.random.default_rng(11)
    for _ in range(5):
        p, v = random_instance(rng, 60, zeros=True, ties=True)
        q1, q2 = np.empty(60), np.empty(60)
        a = KERNELS[div, reg](p, v, 0.1, q1)
        b = KERNELS[div, reg].py_func(p, v, 0.1, q2)
        assert a == pytest.approx(b, abs=1e-12)
        np.testing.assert_allclose(q1, q2, atol=1e-12)
        assert K.inner_problem.py_func(p, v, div, reg, 0.1, EMPTY) == pytest.approx(a, abs=1e-12)


def _threshold_by_sorted_scan(p, v, kind, param):
    """The largest support value whose criterion (sums strictly below it) holds, by a scan
    of all distinct support values."""
    s = p > 0
    m = v[s].min()
    expected = m
    for t in np.unique(v[s]):
        below = s & (v < t)
        g = t - v[below]
        if K._go_up(kind, p[below].sum(), p[below] @ g, p[below] @ g**2, param):
            expected = t
    return expected


def _check_threshold(p, v, kind, param):
    s = p > 0
    m, M = v[s].min(), v[s].max()
    got = K._threshold(p, v, m, M, kind, param)
    expected = _threshold_by_sorted_scan(p, v, kind, param)
    assert got[0] == expected
    upto = s & (v <= expected)
    assert got[1] == pytest.approx(p[upto].sum(), abs=1e-12)
    assert got[2] == pytest.approx(p[upto] @ (v[upto] - m), abs=1e-10 * max(1.0, M - m))
    return got


@pytest.mark.parametrize("kind,param", [(0, 0.3), (1, 0.05), (2, 0.4)])
def test_threshold_search_compiled_equals_py_func_and_sorted_scan(kind, param):
    rng = np.random.default_rng(13)
    p, v = random_instance(rng, 200, zeros=True, ties=True)
    s = p > 0
    m, M = v[s].min(), v[s].max()
    got = _check_threshold(p, v, kind, param)
    assert got == pytest.approx(K._threshold.py_func(p, v, m, M, kind, param), abs=1e-12)


VALUE_SHAPES = {
    "uniform": lambda rng, n: rng.uniform(0.0, 100.0, n),
    "heavy tail": lambda rng, n: rng.exponential(1.0, n) ** 3,
    "many ties": lambda rng, n: np.round(rng.normal(50.0, 1.0, n), 1),
    "near H = 1000": lambda rng, n: 1000.0 - rng.exponential(0.01, n),
    "two values": lambda rng, n: rng.choice([3.0, 7.0], n),
}


@pytest.mark.parametrize("shape", list(VALUE_SHAPES))
@pytest.mark.parametrize("kind,params", [(0, (0.05, 0.3, 0.7)), (1, (0.01, 0.5, 20.0)),
                                         (2, (0.05, 0.5, 3.0))])
def test_threshold_search_on_large_spread_clustered_and_tied_values(shape, kind, params):
    """The pivoted search (several passes, tie stops, the fallback below lo) against the
    sorted scan on S = 2000."""
    rng = np.random.default_rng(17)
    for param in params:
        v = VALUE_SHAPES[shape](rng, 2000)
        p = rng.dirichlet(np.ones(2000))
        p[rng.random(2000) < 0.2] = 0.0
        p /= p.sum()
        s = p > 0
        mass = p[s & (v == v[s].min())].sum()
        if kind == 2 and param >= 1.0 / mass - 1.0:
            continue                    # the kernel answers m before searching
        _check_threshold(p, v, kind, param)


@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_inner_problem_dispatches_to_the_named_kernel(div, reg):
    rng = np.random.default_rng(3)
    p, v = random_instance(rng, 25, zeros=True)
    q1, q2 = np.empty(25), np.empty(25)
    assert K.inner_problem(p, v, div, reg, 0.4, q1) == KERNELS[div, reg](p, v, 0.4, q2)
    np.testing.assert_array_equal(q1, q2)


@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_inner_problem_rows_equals_a_loop_over_rows(div, reg):
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.ones(30), size=8)
    P[2, :10] = 0.0
    P[2] /= P[2].sum()
    v = rng.uniform(0, 5, 30)
    params = rng.uniform(0, 1, 8)
    params[0] = 0.0
    out = np.empty(8)
    K.inner_problem_rows(P, v, div, reg, params, out)
    expected = [K.inner_problem(P[i], v, div, reg, params[i], EMPTY) for i in range(8)]
    np.testing.assert_array_equal(out, expected)
    out2 = np.empty(8)
    K.inner_problem_rows.py_func(P, v, div, reg, params, out2)
    np.testing.assert_allclose(out2, out, atol=1e-12)


@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_zero_parameter_limits(div, reg):
    p = np.array([0.0, 0.2, 0.5, 0.3])
    v = np.array([-1.0, 3.0, 2.0, 7.0])
    q = np.empty(4)
    value = KERNELS[div, reg](p, v, 0.0, q)
    if not reg:  # radius 0: the nominal mean, q = p
        assert value == pytest.approx(p @ v, abs=1e-15)
        np.testing.assert_array_equal(q, p)
    elif div == 0:  # lam 0, TV: min over all states, mass on s* = 0 (outside supp p)
        assert value == -1.0
        np.testing.assert_array_equal(q, [1.0, 0.0, 0.0, 0.0])
    else:  # lam 0, KL/chi2: min over supp p, q = p restricted to it
        assert value == 2.0
        np.testing.assert_array_equal(q, [0.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_huge_radius_or_tiny_weight_gives_the_minimum(div, reg):
    p = np.array([0.1, 0.0, 0.4, 0.5])
    v = np.array([4.0, -2.0, 1.0, 1.0])
    param = 1e-300 if reg else 1e6
    q = np.empty(4)
    value = KERNELS[div, reg](p, v, param, q)
    expected = -2.0 if div == 0 else 1.0  # TV reaches the state outside supp p
    assert value == pytest.approx(expected, abs=1e-12)
    check_minimizer(div, reg, p, v, param, value, q)


@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_one_hot_p(div, reg):
    p = np.array([0.0, 1.0, 0.0])
    v = np.array([5.0, 3.0, 1.0])
    q = np.empty(3)
    for param in (0.0, 0.25, 1.0, 50.0):
        value = KERNELS[div, reg](p, v, param, q)
        if div == 0:
            expected = (3.0 - 2.0 * min(param, 1.0)) if not reg else min(3.0, 1.0 + param)
        else:  # q << p forces q = p
            expected = 3.0
        assert value == pytest.approx(expected, abs=1e-14)
        check_minimizer(div, reg, p, v, param, value, q)


@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_constant_v_gives_the_constant(div, reg):
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(9))
    v = np.full(9, 4.25)
    q = np.empty(9)
    for param in (0.0, 0.3, 3.0):
        value = KERNELS[div, reg](p, v, param, q)
        assert value == pytest.approx(4.25, abs=1e-13)
        check_minimizer(div, reg, p, v, param, value, q)


@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_tiny_weight_and_large_values_are_stable(div, reg):
    rng = np.random.default_rng(9)
    for _ in range(10):
        p, v = random_instance(rng, 50, zeros=True, scale=1000.0)
        param = 1e-6  # a tiny weight, or a tiny radius
        q = np.empty(50)
        value = KERNELS[div, reg](p, v, param, q)
        assert np.isfinite(value) and np.all(np.isfinite(q))
        assert value == pytest.approx(REFS[div, reg](p, v, param), abs=1e-9 * 1000)
        check_minimizer(div, reg, p, v, param, value, q, tol=1e-11)


def test_kl_regularized_small_lam_does_not_underflow():
    p = np.array([0.5, 0.5])
    v = np.array([1000.0, 999.0])
    # exp(-v/lam) underflows for lam = 1e-6; the shifted form gives 999 + lam log 2
    assert K.kl_regularized(p, v, 1e-6, EMPTY) == pytest.approx(999.0 + 1e-6 * np.log(2),
                                                                abs=1e-12)


def test_two_state_closed_forms():
    """Hand-solved: p = (1/2, 1/2), v = (0, 1)."""
    p = np.array([0.5, 0.5])
    v = np.array([0.0, 1.0])
    # TV ball radius 0.2: move 0.2 from state 1 to state 0 -> 0.3
    assert K.tv_constrained(p, v, 0.2, EMPTY) == pytest.approx(0.3, abs=1e-15)
    # TV regularized lam 0.4: E min(v, 0.4) = 0.2
    assert K.tv_regularized(p, v, 0.4, EMPTY) == pytest.approx(0.2, abs=1e-15)
    # chi2 ball: q = (1/2 + e, 1/2 - e), chi2 = 4 e^2 <= rho -> 1/2 - sqrt(rho)/2
    assert K.chi2_constrained(p, v, 0.5, EMPTY) == pytest.approx(0.5 - np.sqrt(0.5) / 2,
                                                                 abs=1e-15)
    # chi2 regularized: min_e 1/2 - e + 4 lam e^2 -> e = 1/(8 lam), value 1/2 - 1/(16 lam)
    assert K.chi2_regularized(p, v, 1.0, EMPTY) == pytest.approx(0.5 - 1 / 16, abs=1e-15)
    # KL regularized lam 1: -log((1 + e^-1)/2)
    assert K.kl_regularized(p, v, 1.0, EMPTY) == pytest.approx(
        -np.log((1 + np.exp(-1)) / 2), abs=1e-15)
    # KL ball: q = (1/2 + e, 1/2 - e) with KL = rho, value 1/2 - e
    e = 0.3
    rho = (0.5 + e) * np.log(2 * (0.5 + e)) + (0.5 - e) * np.log(2 * (0.5 - e))
    assert K.kl_constrained(p, v, rho, EMPTY) == pytest.approx(0.5 - e, abs=1e-13)


def test_tv_constrained_moves_mass_outside_the_support():
    p = np.array([0.0, 0.6, 0.4])
    v = np.array([0.0, 2.0, 5.0])
    q = np.empty(3)
    assert K.tv_constrained(p, v, 0.5, q) == pytest.approx(0.6 * 2.0 - 0.1 * 2.0, abs=1e-15)
    np.testing.assert_allclose(q, [0.5, 0.5, 0.0], atol=1e-15)


def test_divergence_boundary_cases_of_kl_and_chi2():
    p = np.array([0.25, 0.25, 0.5])
    v = np.array([1.0, 1.0, 3.0])  # B = {0, 1}, P(B) = 1/2
    # KL ball reaches q = p|B exactly at rho = log 2; chi2 ball at rho = 1/P(B) - 1 = 1
    for rho in (np.log(2.0), np.log(2.0) * (1 - 1e-9)):
        assert K.kl_constrained(p, v, rho, EMPTY) == pytest.approx(
            ref_kl_constrained(p, v, rho), abs=1e-9)
    for rho in (1.0, 1.0 - 1e-9):
        assert K.chi2_constrained(p, v, rho, EMPTY) == pytest.approx(
            ref_chi2_constrained(p, v, rho), abs=1e-9)


def test_tv_constrained_with_tied_values_at_the_cut():
    p = np.full(6, 1 / 6)
    v = np.array([1.0, 3.0, 3.0, 3.0, 2.0, 0.5])
    q = np.empty(6)
    value = K.tv_constrained(p, v, 0.25, q)
    assert value == pytest.approx(ref_tv_constrained(p, v, 0.25), abs=1e-15)
    check_minimizer(0, False, p, v, 0.25, value, q)


def awkward_value_vectors(rng, S):
    """Values that stress the bucket search: clustered with one outlier (one bucket holds
    almost everything), values one ulp apart, heavy ties, a huge range."""
    base = rng.uniform(0, 1, S)
    clustered = 5.0 + 1e-9 * base
    clustered[0] = 1000.0
    ulps = 3.0 + np.arange(S) * np.spacing(3.0)
    rng.shuffle(ulps)
    ties = np.floor(base * 3)
    wide = np.where(base < 0.5, base * 1e-6, 1e3 * base)
    return {"clustered": clustered, "ulps": ulps, "ties": ties, "wide": wide}


@pytest.mark.parametrize("div,reg", PROBLEMS)
def test_awkward_values_match_the_reference(div, reg):
    rng = np.random.default_rng(77)
    S = 400
    for label, v in awkward_value_vectors(rng, S).items():
        p = rng.dirichlet(np.full(S, 0.3))
        p[rng.choice(S, size=40, replace=False)] = 0.0
        p /= p.sum()
        for param in (1e-3, 0.2, 0.9):
            q = np.empty(S)
            value = KERNELS[div, reg](p, v, param, q)
            ref = REFS[div, reg](p, v, param)
            scale = max(1.0, np.abs(v).max())
            assert value == pytest.approx(ref, abs=1e-9 * scale), (label, param)
            check_minimizer(div, reg, p, v, param, value, q)


def test_exp_nonpositive_is_within_two_ulp_of_numpy():
    x = -np.concatenate([np.linspace(0, 1e-3, 1000), np.linspace(0, 745, 100001)])
    out = np.empty_like(x)
    K.exp_nonpositive(x, out)
    ref = np.exp(x)
    normal = ref > 1e-300
    assert np.all(np.abs(out[normal] - ref[normal]) <= 2 * np.spacing(ref[normal]))
    assert np.all(out[x < -708] == 0.0)
    assert out[0] == 1.0


@st.composite
def instances(draw):
    S = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    p, v = random_instance(rng, S, zeros=draw(st.booleans()), ties=draw(st.booleans()))
    param = draw(st.sampled_from([0.0, 1e-4, 0.01, 0.1, 0.5, 2.0, 100.0]))
    return p, v, param


@pytest.mark.property
@examples(60)
@given(instances(), st.sampled_from(PROBLEMS))
def test_property_value_matches_reference_and_minimizer_attains_it(inst, problem):
    p, v, param = inst
    div, reg = problem
    q = np.empty(p.shape[0])
    value = KERNELS[div, reg](p, v, param, q)
    assert value == pytest.approx(REFS[div, reg](p, v, param), abs=1e-8)
    check_minimizer(div, reg, p, v, param, value, q)
    # a robust mean lies between the worst state and the nominal mean
    lo = v.min() if div == 0 else v[p > 0].min()
    assert lo - 1e-12 <= value <= p @ v + 1e-12
