"""Benchmarks of the six exact inner problems on S = 2000 (p ~ Dirichlet(1), v ~ U[0, 100]).

Run with:  python -m pytest benchmarks/test_bench_inner.py --benchmark-enable
Compare each kernel against a plain `p @ v` (target: within 10x) and against a cvxpy solve of
the primal on the same input (target: >= 100x faster; cvxpy gets 2 rounds).
"""
import warnings

import cvxpy as cp
import numpy as np
import pytest

from mdptheory.kernels.robust import inner_problem
from mdptheory.solvers.inner import regularized_worst_case_mean, worst_case_mean

S = 2000
RADIUS = 0.1
LAM = 10.0
PROBLEMS = [("tv", False), ("tv", True), ("kl", False), ("kl", True), ("chi2", False),
            ("chi2", True)]
CODE = {"tv": 0, "kl": 1, "chi2": 2}
IDS = [f"{d}-{'reg' if r else 'con'}" for d, r in PROBLEMS]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2000)
    return rng.dirichlet(np.ones(S)), rng.uniform(0.0, 100.0, S)


def _cvxpy_value(p, v, div, regularized, param):
    q = cp.Variable(S)
    cons = [q >= 0, cp.sum(q) == 1]
    if div == "tv":
        D = 0.5 * cp.norm1(q - p)
    elif div == "kl":
        D = cp.sum(cp.kl_div(q, p))
    else:
        # scaled sum of squares: better conditioned than sum((q - p)^2 / p), which CLARABEL
        # returned ~1.6e-5 infeasible on this input
        D = cp.sum_squares(cp.multiply(1.0 / np.sqrt(p), q - p))
    if regularized:
        prob = cp.Problem(cp.Minimize(q @ v / param + D), cons)
    else:
        prob = cp.Problem(cp.Minimize(q @ v), cons + [D <= param])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        prob.solve(solver="CLARABEL")
    return prob.solution.opt_val * (param if regularized else 1.0)


def test_dot_product_baseline(benchmark, data):
    p, v = data
    benchmark(lambda: p @ v)


@pytest.mark.parametrize("div,regularized", PROBLEMS, ids=IDS)
def test_kernel(benchmark, data, div, regularized):
    p, v = data
    param = LAM if regularized else RADIUS
    empty = np.empty(0)
    inner_problem(p, v, CODE[div], regularized, param, empty)  # compile outside the timing
    value = benchmark(inner_problem, p, v, CODE[div], regularized, param, empty)
    assert np.isfinite(value)


@pytest.mark.parametrize("div,regularized", PROBLEMS, ids=IDS)
def test_kernel_with_minimizer(benchmark, data, div, regularized):
    p, v = data
    param = LAM if regularized else RADIUS
    q = np.empty(S)
    value = benchmark(inner_problem, p, v, CODE[div], regularized, param, q)
    assert q @ v <= value + 1e-9 * 100


@pytest.mark.parametrize("div,regularized", PROBLEMS, ids=IDS)
def test_public_api(benchmark, data, div, regularized):
    p, v = data
    fn = regularized_worst_case_mean if regularized else worst_case_mean
    param = LAM if regularized else RADIUS
    assert np.isfinite(benchmark(fn, p, v, div, param))


@pytest.mark.parametrize("div,regularized", PROBLEMS, ids=IDS)
def test_cvxpy(benchmark, data, div, regularized):
    p, v = data
    param = LAM if regularized else RADIUS
    value = benchmark.pedantic(_cvxpy_value, args=(p, v, div, regularized, param), rounds=2,
                               iterations=1)
    exact = inner_problem(p, v, CODE[div], regularized, param, np.empty(0))
    assert value == pytest.approx(exact, abs=1e-6 * 100)


# The radius / lam above are one point; the searches take more or fewer passes elsewhere
# (chi2-constrained at radius 0.1 keeps every state active, so it needs no search at all).
SWEEP = [(div, False, r) for div in ("tv", "kl", "chi2") for r in (0.01, 0.5, 2.0)
         if not (div == "tv" and r >= 1.0)] + \
        [(div, True, lam) for div in ("tv", "kl", "chi2") for lam in (0.1, 1.0, 100.0)]


@pytest.mark.benchmark(group="kernel-parameter-sweep")
@pytest.mark.parametrize("div,regularized,param", SWEEP,
                         ids=[f"{d}-{'reg' if r else 'con'}-{x:g}" for d, r, x in SWEEP])
def test_kernel_parameter_sweep(benchmark, data, div, regularized, param):
    p, v = data
    empty = np.empty(0)
    value = benchmark(inner_problem, p, v, CODE[div], regularized, param, empty)
    assert v.min() - 1e-9 <= value <= p @ v + 1e-9


@pytest.mark.benchmark(group="kernel-parameter-sweep")
def test_dot_product_baseline_in_sweep_group(benchmark, data):
    p, v = data
    benchmark(lambda: p @ v)
