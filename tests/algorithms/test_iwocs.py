"""IWOCS, robust DP over model sets, the model sets and WindyWalk, checked where the answer is
known: the WindyWalk reference numbers (an independent computation of our stand-in),
brute-force enumeration of vertices,
policies and parameter grids, independent evaluation through mdptheory.solvers, and the
compiled kernels against their Python versions."""
import itertools

import numba
import numpy as np
import pytest

from mdptheory.algorithms import iwocs as I
from mdptheory.envs import windy_walk as W
from mdptheory.envs.random_sets import random_affine_set, random_finite_set, random_rectangular_set
from mdptheory.kernels import iwocs as K
from mdptheory.models.model_sets import (
    AffineModelSet,
    FiniteModelSet,
    ParametricModelSet,
    RectangularModelSet,
)
from mdptheory.models.policies import deterministic, uniform
from mdptheory.solvers.discounted import policy_iteration
from mdptheory.solvers.evaluation import evaluate_policy, evaluate_static


@pytest.fixture(autouse=True, scope="module")
def _one_numba_thread():
    """Performance only: solvers.discounted's prange kernels are ~1000x slower with 2 threads
    on a loaded 2-core machine (16 ms vs 4 us per backup at S=32); results are the same."""
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(n)


def _det_policies(S, A):
    for acts in itertools.product(range(A), repeat=S):
        yield deterministic(np.array(acts), A)


def _static_values(ms: FiniteModelSet, pi):
    """V^pi_T(rho0) for every model, through mdptheory.solvers.evaluation.evaluate_static."""
    out = []
    for k in range(ms.n):
        base = ms.model(k)
        out.append(evaluate_static(base, pi, ms.P[k]).value(ms.rho0))
    return np.array(out)


# ---------------------------------------------------------------------------------------------
# WindyWalk: the reference values (an independent computation), rewards converted to costs
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def windy():
    R = W.windy_walk("R")
    nominal = W.windy_walk("nominal")
    return R, nominal, policy_iteration(nominal), I.robust_policy_iteration(R)


def test_windy_walk_reproduces_the_reference_values(windy):
    R, _, nom_sol, rob = windy
    g = R.gamma
    start = W.layout()["start"]
    assert W.to_cost(rob.V[start], g) == pytest.approx(W.REFERENCE["robust_optimum"], abs=5e-3)
    assert W.to_cost(nom_sol.V[start], g) == pytest.approx(W.REFERENCE["nominal_value"],
                                                           abs=5e-3)
    nom_rob = I.robust_evaluate(R, nom_sol.pi)
    assert W.to_cost(nom_rob.V[start], g) == pytest.approx(
        W.REFERENCE["nominal_robust_value"], abs=5e-3)
    # closed form of the nominal value: 9 steps at cost -1 (up, 7 x right, down)
    assert W.to_cost(nom_sol.V[start], g) == pytest.approx(-(1 - g ** 9) / (1 - g), abs=1e-10)


def test_windy_walk_policies_differ_in_13_states(windy):
    """Reference: robust and nominal policies differ in 13 of 32 states (compared through the
    lowest-index action among those optimal within 1e-9, so rounding between tied actions does
    not count)."""
    _, _, nom_sol, rob = windy

    def lowest_optimal(Q):
        return np.array([int(np.flatnonzero(q >= q.max() - 1e-9)[0]) for q in Q])

    assert int((lowest_optimal(nom_sol.Q) != lowest_optimal(rob.Q)).sum()) == \
        W.REFERENCE["policies_differ"]


def test_windy_walk_worst_gusts_under_robust_policy_along_its_nominal_path(windy):
    """The independent computation found the worst-case gusts under the robust policy upward in
    all reachable non-terminal states except (row 1, col 7), where they are leftward. Reproduced
    along the robust policy's path under the nominal kernel, with one exception it did not
    mention: at S itself the unique worst gust is downward (it undoes the first move up).
    (Under the worst-case kernel more cells become reachable, e.g. (3, 6), whose unique worst
    gust is leftward.) Worst gusts are compared as sets of candidates within 1e-9 (ties)."""
    R, _, _, rob = windy
    V = I.robust_evaluate(R, rob.pi).V
    Qk = np.empty((R.S, R.A, R.n))
    K.candidate_q(np.ascontiguousarray(R.P), np.ascontiguousarray(R.r), R.gamma, V, Qk)
    nominal = R.nominal_model().P
    acts = rob.pi.argmax(axis=1)
    lay = W.layout()
    path, s = [], lay["start"]
    while s != lay["goal"] and s not in path:
        path.append(s)
        s = int(np.flatnonzero(nominal[s, acts[s]] > 0)[0])
    assert s == lay["goal"]

    def worst(s):
        q = Qk[s, acts[s]]
        return {W.GUSTS[k] for k in np.flatnonzero(q <= q.min() + 1e-9)}

    assert worst(W.state(1, 7)) == {"left"}
    assert worst(lay["start"]) == {"down"}
    others = [t for t in path if t not in (W.state(1, 7), lay["start"])]
    assert len(others) >= 8 and all("up" in worst(t) for t in others)


def test_windy_walk_iwocs_trajectory_matches_the_reference(windy):
    """Reference: upper/lower -7.40/-79.19 -> -15.40/-15.73 -> -15.73/-15.73 (2 models added)."""
    R, _, _, rob = windy
    res = I.iwocs(R)
    h = res.history_frame()
    g = R.gamma
    np.testing.assert_allclose(W.to_cost(h["upper"], g), W.REFERENCE["iwocs_upper"], atol=5e-3)
    np.testing.assert_allclose(W.to_cost(h["lower"], g), W.REFERENCE["iwocs_lower"], atol=5e-3)
    assert res.certified and res.stop_reason == "certificate" and res.solves == 3
    assert abs(res.value - R.rho0 @ rob.V) <= 1e-8


def test_windy_walk_cost_map_is_affine_and_invertible():
    g = 0.95
    v = np.array([0.0, 3.3, 1 / (1 - g)])
    np.testing.assert_allclose(W.to_reward(W.to_cost(v, g), g), v, atol=1e-12)
    assert W.to_cost(1 / (1 - g), g) == pytest.approx(0.0, abs=1e-12)       # reward 1 = cost 0
    assert W.to_cost(0.0, g) == pytest.approx(-20 / (1 - g))                 # reward 0 = cost -20
    np.testing.assert_allclose(W.reward_from_cost([-20, -1, 0]), [0.0, 0.95, 1.0])


def test_windy_walk_parametric_sets_are_the_rectangular_rows_at_w():
    """P1 at w = w_max equals the all-down-gust member of R; P8 with all w_c = w equals P1."""
    R = W.windy_walk("R")
    P1 = W.windy_walk("P1")
    P8 = W.windy_walk("P8")
    Pd, rd = R.rows(np.full((R.S, R.A), 2))
    P, r = P1.kernel([0.3])
    np.testing.assert_allclose(P, Pd, atol=1e-14)
    np.testing.assert_allclose(r, rd, atol=1e-14)
    P8k, r8k = P8.kernel(np.full(8, 0.17))
    P1k, r1k = P1.kernel([0.17])
    np.testing.assert_allclose(P8k, P1k, atol=1e-14)
    np.testing.assert_allclose(r8k, r1k, atol=1e-14)
    assert P1.d == 1 and P8.d == 8 and not P1.rectangular


def test_windy_walk_rejects_bad_arguments():
    with pytest.raises(ValueError, match="uncertainty must be one of"):
        W.windy_walk("Q")
    with pytest.raises(ValueError, match="w_max must be <= 1"):
        W.windy_walk("R", w_max=1.5)
    with pytest.raises(ValueError, match="cols must be >= 3"):
        W.windy_walk("R", cols=2)


# ---------------------------------------------------------------------------------------------
# robust DP over model sets
# ---------------------------------------------------------------------------------------------
def test_robust_policy_iteration_matches_enumeration_of_vertices_and_policies():
    """Tiny rectangular set: V*_rob(rho0) = max over deterministic pi of min over all n^(SA)
    vertex kernels of V^pi_T(rho0) (F1 + F2), and statewise min_T V*_T = V*_rob (F3)."""
    ms = random_rectangular_set(3, 2, 2, branching=2, rng=4)
    verts = ms.vertices()
    sol = I.robust_policy_iteration(ms)
    best = max(min(_static_values(verts, pi)) for pi in _det_policies(3, 2))
    assert ms.rho0 @ sol.V == pytest.approx(best, abs=1e-10)
    V_star = np.array([policy_iteration(verts.model(k)).V for k in range(verts.n)])
    np.testing.assert_allclose(V_star.min(axis=0), sol.V, atol=1e-10)


@pytest.mark.parametrize("maker", [lambda: random_rectangular_set(12, 3, 4, rng=1),
                                   lambda: random_finite_set(10, 3, 5, rng=2),
                                   lambda: random_affine_set(8, 3, 3, rng=3),
                                   lambda: W.windy_walk("P8")])
def test_robust_value_iteration_matches_robust_policy_iteration(maker):
    ms = maker()
    pi_sol = I.robust_policy_iteration(ms)
    vi_sol = I.robust_value_iteration(ms, tol=1e-10)
    assert pi_sol.converged and vi_sol.converged
    assert np.abs(vi_sol.V - pi_sol.V).max() <= vi_sol.error_bound + 1e-10
    # the greedy policies are equally good: their robust values agree
    v1 = I.robust_evaluate(ms, pi_sol.pi).V
    v2 = I.robust_evaluate(ms, vi_sol.pi).V
    assert np.abs(v1 - v2).max() <= vi_sol.info["policy_error_bound"] + 1e-9


def test_robust_evaluate_is_a_fixed_point_and_nature_reply_reproduces_it():
    ms = random_finite_set(9, 3, 4, rng=5)
    pi = np.random.default_rng(0).dirichlet(np.ones(3), size=9)
    for nature in ("sa", "s"):
        pv = I.robust_evaluate(ms, pi, nature=nature)
        # evaluating pi nominally in nature's reply gives back V (the min is attained)
        back = evaluate_policy(FiniteModelSet(pv.P_worst[None], pv.info["r_worst"], ms.gamma,
                                              ms.rho0).model(0), pi).V
        np.testing.assert_allclose(back, pv.V, atol=1e-10)
        assert pv.info["error_bound"] <= 1e-9


def test_static_at_least_s_rectangular_at_least_sa_rectangular_value():
    """Our derivation: for a fixed stochastic policy, static >= dynamic (s-hull) >= dynamic
    (sa-hull), statewise; the two hulls agree for deterministic policies."""
    ms = random_finite_set(7, 3, 4, rng=6)
    pi = np.random.default_rng(1).dirichlet(np.ones(3), size=7)
    static = np.array([evaluate_policy(ms.model(k), pi).V for k in range(ms.n)]).min(axis=0)
    v_s = I.robust_evaluate(ms, pi, nature="s").V
    v_sa = I.robust_evaluate(ms, pi, nature="sa").V
    assert np.all(static >= v_s - 1e-10) and np.all(v_s >= v_sa - 1e-10)
    det = deterministic(np.array([0, 2, 1, 1, 0, 2, 1]), 3)
    np.testing.assert_allclose(I.robust_evaluate(ms, det, nature="s").V,
                               I.robust_evaluate(ms, det, nature="sa").V, atol=1e-10)


def test_affine_dynamic_inner_min_equals_the_hull_of_the_box_corners():
    """The affine family's exact inner min (box ends, per (s, a) and per s) equals robust DP over
    the finite set of its 2^d corner kernels (an affine image of a box is the hull of the
    corner images)."""
    ms = random_affine_set(6, 2, 3, rng=7)
    corners = np.array(list(itertools.product((0.0, 1 / 3), repeat=3)))
    P, r = ms.models_at(corners)
    fin = FiniteModelSet(P, r, ms.gamma, ms.rho0)
    np.testing.assert_allclose(I.robust_policy_iteration(ms).V,
                               I.robust_policy_iteration(fin).V, atol=1e-10)
    pi = np.random.default_rng(2).dirichlet(np.ones(2), size=6)
    for nature in ("sa", "s"):
        np.testing.assert_allclose(I.robust_evaluate(ms, pi, nature=nature).V,
                                   I.robust_evaluate(fin, pi, nature=nature).V, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# static worst-case oracle
# ---------------------------------------------------------------------------------------------
def test_static_worst_case_of_a_finite_set_is_the_min_over_models():
    ms = random_finite_set(8, 3, 6, rng=8)
    pi = uniform(8, 3)
    wc = I.static_worst_case(ms, pi)
    vals = _static_values(ms, pi)
    assert wc.member == int(np.argmin(vals)) and wc.exact
    assert wc.value == pytest.approx(vals.min(), abs=1e-12)
    assert I.member_value(ms, pi, wc.member).value(ms.rho0) == pytest.approx(wc.value, abs=1e-12)


def test_static_worst_case_of_rectangular_set_equals_vertex_enumeration():
    """F1: for an (s, a)-rectangular set the robust (dynamic) evaluation is the static minimum
    over all vertex kernels, for deterministic and stochastic policies."""
    ms = random_rectangular_set(3, 2, 3, branching=2, rng=9)
    verts = ms.vertices()
    for pi in (deterministic(np.array([1, 0, 1]), 2),
               np.random.default_rng(3).dirichlet(np.ones(2), size=3)):
        wc = I.static_worst_case(ms, pi)
        assert wc.value == pytest.approx(_static_values(verts, pi).min(), abs=1e-10)
        assert I.member_value(ms, pi, wc.member).value(ms.rho0) == pytest.approx(wc.value,
                                                                                 abs=1e-10)


def test_grid_oracle_is_the_min_over_the_grid_and_nelder_mead_does_not_do_worse():
    ms = W.windy_walk("P1")
    pi = policy_iteration(W.windy_walk("nominal")).pi
    wc = I.static_worst_case(ms, pi, method="grid", grid_points=7)
    brute = [I.member_value(ms, pi, [w]).value(ms.rho0) for w in np.linspace(0, 0.3, 7)]
    assert wc.value == pytest.approx(min(brute), abs=1e-10) and not wc.exact
    nm = I.static_worst_case(ms, pi, method="nelder-mead", grid_points=3, restarts=1, rng=0)
    coarse = I.static_worst_case(ms, pi, method="grid", grid_points=3)
    fine = I.static_worst_case(ms, pi, method="grid", grid_points=301)
    assert nm.value <= coarse.value + 1e-12
    assert abs(nm.value - fine.value) <= 1e-6 * max(1.0, abs(fine.value))


def test_general_parametric_family_agrees_with_its_affine_version():
    aff = random_affine_set(5, 2, 2, rng=10)

    def fn(psi):
        return aff.kernel(psi)
    par = ParametricModelSet(fn=fn, lower=aff.lower, upper=aff.upper, gamma=aff.gamma,
                             rho0=aff.rho0)
    pi = uniform(5, 2)
    a = I.static_worst_case(aff, pi, method="grid", grid_points=5)
    b = I.static_worst_case(par, pi, method="grid", grid_points=5)
    assert a.value == pytest.approx(b.value, abs=1e-12)
    np.testing.assert_allclose(a.member, b.member)


def test_cma_method_reports_the_missing_optional_package():
    # cma is not a dependency; if it is installed, the method runs instead
    import importlib.util

    ms = W.windy_walk("P1")
    pi = uniform(ms.S, ms.A)
    if importlib.util.find_spec("cma") is None:
        with pytest.raises(ImportError, match="optional package `cma`"):
            I.static_worst_case(ms, pi, method="cma")
    else:                                                        # pragma: no cover
        wc = I.static_worst_case(ms, pi, method="cma", restarts=0)
        assert wc.value <= I.static_worst_case(ms, pi, method="grid",
                                               grid_points=3).value + 1e-12


# ---------------------------------------------------------------------------------------------
# IWOCS
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_iwocs_certificates_bracket_the_robust_optimum_on_rectangular_sets(seed):
    ms = random_rectangular_set(15, 3, 4, rng=seed)
    V_star = ms.rho0 @ I.robust_policy_iteration(ms).V
    res = I.iwocs(ms, stopping="S1")
    h = res.history_frame()
    assert np.all(h["upper"] >= V_star - 1e-10)                     # u_i >= V*_T(rho0)
    assert np.all(h["best_lower"] <= V_star + 1e-10)                # max_j v_j <= V*_T(rho0)
    assert np.all(np.diff(h["upper"]) <= 1e-12)                     # u_i non-increasing
    assert res.certified and abs(res.value - V_star) <= 1e-8
    # v_i is the exact static value of pi_i: re-evaluate the returned policy over the set
    assert I.static_worst_case(ms, res.pi).value == pytest.approx(res.value, abs=1e-12)


def test_iwocs_robust_hull_policy_update_also_certifies():
    ms = random_rectangular_set(15, 3, 4, rng=11)
    V_star = ms.rho0 @ I.robust_policy_iteration(ms).V
    res = I.iwocs(ms, policy_update="robust_hull", stopping="S1")
    assert np.all(res.history_frame()["upper"] >= V_star - 1e-10)
    assert res.certified and abs(res.value - V_star) <= 1e-8


def test_iwocs_on_a_finite_set_terminates_and_is_below_the_deterministic_optimum():
    """Finite (non-rectangular) set: at most n models, no certificate, and its value (an exact
    static value) is at most the best deterministic static-robust value (enumeration)."""
    ms = random_finite_set(4, 2, 5, rng=12)
    res = I.iwocs(ms)
    assert not res.certificate_valid and not res.certified
    assert res.solves <= ms.n and len(res.models) == res.solves
    truth = max(_static_values(ms, pi).min() for pi in _det_policies(4, 2))
    assert res.value <= truth + 1e-12
    assert _static_values(ms, res.pi).min() == pytest.approx(res.value, abs=1e-12)


def test_iwocs_on_parametric_set_targets_the_static_value():
    """P1 (one shared gust): IWOCS's value is at least the static value of the dynamic-robust
    policy on the same grid (our expectation), and static >= dynamic for that policy."""
    ms = W.windy_walk("P1")
    res = I.iwocs(ms, grid_points=31)
    dyn = I.robust_policy_iteration(ms)
    static_dyn = I.static_worst_case(ms, dyn.pi, grid_points=31).value
    assert res.value >= static_dyn - 1e-10
    assert static_dyn >= ms.rho0 @ dyn.V - 1e-10
    assert not res.certificate_valid


def test_iwocs_options_change_what_they_are_documented_to_change():
    ms = random_rectangular_set(10, 3, 4, rng=13)
    a = I.iwocs(ms, T0="random", rng=0, stopping=("S1", "S2"))
    b = I.iwocs(ms, T0=np.zeros((10, 3), dtype=np.int64))
    c = I.iwocs(ms, max_iter=1)
    assert a.history["n_models"][0] == 1 and b.models[0].shape == (10, 3)
    assert c.num_iter == 1 and c.solves == 1
    assert c.stop_reason in ("max_iter", "certificate", "no_new_worst_case", "repeat")
    f = I.iwocs(random_finite_set(5, 2, 3, rng=1), T0=2)
    assert f.models[0] == 2


# ---------------------------------------------------------------------------------------------
# bad input: clear errors naming argument, index and value
# ---------------------------------------------------------------------------------------------
def _finite_arrays(n=3, S=3, A=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(S), size=(n, S, A)), rng.random((S, A))


def test_invalid_kernel_in_finite_set_names_model_and_row():
    P, r = _finite_arrays()
    P[2, 1, 0, 0] += 0.07
    with pytest.raises(ValueError, match=r"model 2 of P .* P\[2, 1, 0\] sums to .*row s=1, a=0"):
        FiniteModelSet(P, r, 0.9)
    P, r = _finite_arrays()
    P[1, 2, 1, 2] = -0.1
    with pytest.raises(ValueError, match=r"model 1 of P .* P\[1, 2, 1, 2\] is -0.1, expected a "
                                         r"probability >= 0 \(row s=2, a=1\)"):
        FiniteModelSet(P, r, 0.9)
    P, r = _finite_arrays()
    P[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"model 0 of P .* is nan"):
        FiniteModelSet(P, r, 0.9)


def test_invalid_candidate_in_rectangular_set_names_candidate_and_pair():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=(3, 2, 4))
    P[1, 1, 3] *= 0.5
    with pytest.raises(ValueError, match=r"candidate 3 of pair \(s=1, a=1\) of P .* "
                                         r"P\[1, 1, 3\] sums to 0.5"):
        RectangularModelSet(P, rng.random((3, 2)), 0.9)


def test_empty_sets_are_refused():
    with pytest.raises(ValueError, match="P holds no models: the uncertainty set is empty"):
        FiniteModelSet(np.zeros((0, 3, 2, 3)), np.zeros((3, 2)), 0.9)
    with pytest.raises(ValueError, match="holds no candidate rows: the uncertainty set is empty"):
        RectangularModelSet(np.zeros((3, 2, 0, 3)), np.zeros((3, 2)), 0.9)
    with pytest.raises(ValueError, match=r"lower\[1\] = 0.5 > upper\[1\] = 0.2: the parameter "
                                         r"box is empty"):
        AffineModelSet.from_arrays(np.full((2, 1, 2), 0.5), np.zeros((2, 2, 1, 2)),
                                   np.zeros((2, 1)), [0, 0.5], [1, 0.2], 0.9)
    with pytest.raises(ValueError, match="lower holds no parameters"):
        ParametricModelSet(fn=lambda psi: np.ones((1, 1, 1)), lower=np.zeros(0),
                           upper=np.zeros(0), gamma=0.9, r=np.zeros((1, 1)))


def test_other_set_errors():
    P, r = _finite_arrays()
    with pytest.raises(ValueError, match=r"P must have shape \(n, S, A, S\) \(a stack of "):
        FiniteModelSet(P[0], r, 0.9)
    with pytest.raises(ValueError, match=r"r\[0, 1\] is 1.5, expected a value in \[0.0, 1.0\]"):
        FiniteModelSet(P, np.where(np.eye(3, 2, 1) > 0, 1.5, r), 0.9)
    with pytest.raises(ValueError, match="nominal is 3, expected a model index in"):
        FiniteModelSet(P, r, 0.9, nominal=3)
    with pytest.raises(ValueError, match="gamma must be < 1"):
        FiniteModelSet(P, r, 1.0)
    # affine: a direction that does not conserve mass, and a box that leaves the simplex
    P0 = np.full((2, 1, 2), 0.5)
    D = np.zeros((1, 2, 1, 2))
    D[0, 1, 0] = [0.3, 0.3]
    with pytest.raises(ValueError, match=r"direction 0 of D .* D\[0, 1, 0\] sums to 0.6"):
        AffineModelSet.from_arrays(P0, D, np.zeros((2, 1)), [0], [1], 0.9)
    D[0, 1, 0] = [0.6, -0.6]
    with pytest.raises(ValueError, match=r"the model at psi=\[1\] is not a transition kernel: "
                                         r"P_psi\[1, 0, 1\] is -0.1"):
        AffineModelSet.from_arrays(P0, D, np.zeros((2, 1)), [0], [1], 0.9)
    # a general family producing a bad kernel at a corner of its box
    def fn(psi):
        return np.array([[[1.0 - psi[0], 2 * psi[0]]], [[0.0, 1.0]]])
    with pytest.raises(ValueError, match=r"the model at psi=\[0.5\] of P_psi is not a "
                                         r"transition kernel: P_psi\[0, 0\] sums to 1.5, "
                                         r"expected 1 .* \(row s=0, a=0\)"):
        ParametricModelSet(fn=fn, lower=[0.0], upper=[0.5], gamma=0.9, r=np.zeros((2, 1)))
    ok = ParametricModelSet(fn=fn, lower=[0.0], upper=[0.0], gamma=0.9, r=np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"psi\[0\] is 0.2, outside the parameter box"):
        ok.kernel([0.2])
    with pytest.raises(ValueError, match=r"choice\[0, 0\] is 7, expected a candidate index"):
        random_rectangular_set(3, 2, 2).rows(np.full((3, 2), 7))


def test_iwocs_and_oracle_argument_errors():
    ms = random_rectangular_set(4, 2, 2, rng=0)
    with pytest.raises(ValueError, match="max_iter must be >= 1, got 0"):
        I.iwocs(ms, max_iter=0)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        I.iwocs(ms, eps=-1.0)
    with pytest.raises(ValueError, match="stopping rule 'S4' is unknown"):
        I.iwocs(ms, stopping=("S1", "S4"))
    with pytest.raises(ValueError, match="policy_update must be one of"):
        I.iwocs(ms, policy_update="greedy")
    with pytest.raises(ValueError, match="T0 must be 'nominal', 'random' or a member"):
        I.iwocs(ms, T0="worst")
    with pytest.raises(ValueError, match=r"T0\[0, 0\] is 5, expected a candidate index"):
        I.iwocs(ms, T0=np.full((4, 2), 5))
    with pytest.raises(ValueError, match="T0 is 9, expected a model index in"):
        I.iwocs(random_finite_set(4, 2, 3), T0=9)
    with pytest.raises(TypeError, match="model_set must be a FiniteModelSet"):
        I.iwocs(W.windy_walk("nominal"))
    with pytest.raises(ValueError, match="method='grid' searches a parameter box"):
        I.static_worst_case(ms, uniform(4, 2), method="grid")
    with pytest.raises(ValueError, match="method must be one of"):
        I.static_worst_case(ms, uniform(4, 2), method="bfgs")
    p1 = W.windy_walk("P1")
    with pytest.raises(ValueError, match="grid_points must be >= 1, got 0"):
        I.static_worst_case(p1, uniform(p1.S, p1.A), grid_points=0)
    with pytest.raises(ValueError, match=r"grid_points\[0\] must be >= 1, got 0"):
        I.iwocs(W.windy_walk("P1"), grid_points=[0])
    with pytest.raises(ValueError, match="restarts must be an integer >= 0"):
        I.static_worst_case(p1, uniform(p1.S, p1.A), method="nelder-mead", restarts=-1)
    with pytest.raises(ValueError, match=r"pi\[0\] sums to 2"):
        I.robust_evaluate(ms, np.ones((4, 2)))
    with pytest.raises(ValueError, match="nature must be 'sa'"):
        I.robust_evaluate(ms, uniform(4, 2), nature="a")
    with pytest.raises(ValueError, match="tol must be > 0"):
        I.robust_value_iteration(ms, tol=0.0)


# ---------------------------------------------------------------------------------------------
# kernels: compiled == Python
# ---------------------------------------------------------------------------------------------
def test_kernels_match_their_python_versions():
    rng = np.random.default_rng(0)
    S, A, n, d, m = 5, 3, 4, 2, 3
    Pc = rng.dirichlet(np.ones(S), size=(S, A, n))
    rc = rng.random((S, A, n))
    V = rng.random(S)
    pi = rng.dirichlet(np.ones(A), size=S)

    def both(fn, *args, outs):
        res = []
        for f in (fn, fn.py_func):
            o = [np.zeros_like(x) for x in outs]
            f(*args, *o)
            res.append(o)
        for x, y in zip(*res):
            np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-13)
        return res[0]

    Q, arg = both(K.candidate_min, Pc, rc, 0.9, V,
                  outs=[np.empty((S, A)), np.empty((S, A), dtype=np.int64)])
    Qk, = both(K.candidate_q, Pc, rc, 0.9, V, outs=[np.empty((S, A, n))])
    np.testing.assert_allclose(Q, Qk.min(axis=2), atol=1e-14)        # and an einsum twin
    np.testing.assert_array_equal(arg, Qk.argmin(axis=2))
    both(K.state_min, Qk, pi, outs=[np.empty(S), np.empty(S, dtype=np.int64)])
    aff = random_affine_set(S, A, d, rng=1)
    args = (np.ascontiguousarray(aff.P0), np.ascontiguousarray(aff.r0),
            np.ascontiguousarray(aff.D), np.ascontiguousarray(aff.e), aff.lower.copy(),
            aff.upper.copy(), 0.9, V)
    both(K.affine_min, *args, outs=[np.empty((S, A)), np.empty((S, A, d))])
    both(K.affine_state_min, *args, pi, outs=[np.empty(S), np.empty((S, d))])
    Pm = rng.dirichlet(np.ones(S), size=(m, S, A))
    rm = rng.random((m, S, A))
    rho0 = np.full(S, 1 / S)
    _, vals = both(K.evaluate_many, Pm, rm, 0.9, pi, rho0, outs=[np.empty((m, S)),
                                                                 np.empty(m)])
    fin = FiniteModelSet(Pm, rm, 0.9, rho0)
    np.testing.assert_allclose(vals, [evaluate_policy(fin.model(j), pi).value(rho0)
                                      for j in range(m)], atol=1e-12)
    psis = rng.uniform(0, 1 / d, size=(4, d))
    contracted = (np.einsum("sa,sat->st", pi, aff.P0), np.einsum("sa,isat->ist", pi, aff.D),
                  np.einsum("sa,sa->s", pi, aff.r0), np.einsum("sa,isa->is", pi, aff.e))
    vals_aff, = both(K.evaluate_affine_many, *contracted, 0.9, psis, rho0, outs=[np.empty(4)])
    P_all, r_all = aff.models_at(psis)
    _, vals_ref = both(K.evaluate_many, P_all, r_all, 0.9, pi, rho0,
                       outs=[np.empty((4, S)), np.empty(4)])
    np.testing.assert_allclose(vals_aff, vals_ref, atol=1e-12)


# ----------------------------------------------------------------------------- finite horizon


def _fh_instance(seed, H=2, S=2, A=2, n=2):
    """A random (h, s, a)-rectangular episodic set: n Dirichlet candidate rows per (h, s, a),
    each with its own reward in [0, 1]."""
    g = np.random.default_rng(seed)
    Pc = g.dirichlet(np.ones(S), size=(H, S, A, n))
    rc = g.uniform(0.0, 1.0, size=(H, S, A, n))
    rho0 = g.dirichlet(np.ones(S))
    return Pc, rc, rho0


def _fh_value(P, r, rho0, acts):
    """V^pi(rho0) of the deterministic Markov policy acts (H, S) by plain backward recursion."""
    H, S = acts.shape
    V = np.zeros(S)
    for h in range(H - 1, -1, -1):
        V = np.array([r[h, s, acts[h, s]] + P[h, s, acts[h, s]] @ V for s in range(S)])
    return float(rho0 @ V)


def _all_markov_policies(H, S, A):
    for flat in itertools.product(range(A), repeat=H * S):
        yield np.array(flat).reshape(H, S)


def _all_rectangular_models(Pc, rc):
    H, S, A, n, _ = Pc.shape
    for flat in itertools.product(range(n), repeat=H * S * A):
        k = np.array(flat).reshape(H, S, A)
        idx = np.indices((H, S, A))
        yield Pc[idx[0], idx[1], idx[2], k], rc[idx[0], idx[1], idx[2], k]


@pytest.mark.parametrize("seed", range(4))
def test_finite_horizon_iwocs_matches_brute_force_robust_optimum(seed):
    """On a tiny (h, s, a)-rectangular episodic set (2^8 = 256 models, 16 deterministic Markov
    policies), IWOCS's certified value and robust backward induction both equal
    max_pi min_T V^pi_T(rho0) by enumeration, and the certificates bracket it throughout."""
    Pc, rc, rho0 = _fh_instance(seed)
    H, S, A, _, _ = Pc.shape
    models = list(_all_rectangular_models(Pc, rc))
    truth = max(min(_fh_value(P, r, rho0, pi) for P, r in models)
                for pi in _all_markov_policies(H, S, A))
    dp = I.robust_backward_induction(Pc, rc, rho0)
    assert dp["value"] == pytest.approx(truth, abs=1e-12)
    res = I.iwocs_finite_horizon(Pc, rc, rho0, stopping="S1")
    assert res.certified and res.stop_reason == "certificate"
    assert res.value == pytest.approx(truth, abs=1e-8)
    # the returned policy's static worst case, by enumeration of every model, is its value
    assert min(_fh_value(P, r, rho0, res.pi) for P, r in models) == pytest.approx(res.value,
                                                                                 abs=1e-12)
    up, lo = np.array(res.history["upper"]), np.array(res.history["best_lower"])
    assert np.all(up >= truth - 1e-12) and np.all(lo <= truth + 1e-12)
    assert np.all(np.diff(up) <= 1e-12)


def test_finite_horizon_iwocs_on_a_finite_set_is_a_lower_bound():
    """A finite (non-rectangular) set of complete episodic models: IWOCS's value is the exact
    static worst case of its deterministic policy, hence <= the best deterministic static value
    by enumeration; the certificate is not claimed."""
    g = np.random.default_rng(7)
    H, S, A, m = 3, 2, 2, 4
    P = g.dirichlet(np.ones(S), size=(m, H, S, A))
    r = g.uniform(size=(m, H, S, A))
    rho0 = np.array([1.0, 0.0])
    res = I.iwocs_finite_horizon(P, r, rho0, kind="finite")
    assert not res.certificate_valid and not res.certified
    exact = min(_fh_value(P[j], r[j], rho0, res.pi) for j in range(m))
    assert res.value == pytest.approx(exact, abs=1e-12)
    best = max(min(_fh_value(P[j], r[j], rho0, pi) for j in range(m))
               for pi in _all_markov_policies(H, S, A))
    assert res.value <= best + 1e-12


def test_finite_horizon_backward_induction_is_exact():
    Pc, rc, rho0 = _fh_instance(11, H=3, S=3, A=2, n=1)
    P, r = Pc[:, :, :, 0], rc[:, :, :, 0]
    V, Q = I.backward_induction(P, r)
    best = max(_fh_value(P, r, rho0, pi) for pi in _all_markov_policies(3, 3, 2))
    assert float(rho0 @ V[0]) == pytest.approx(best, abs=1e-12)
    assert V.shape == (4, 3) and Q.shape == (3, 3, 2) and np.all(V[3] == 0)


def test_finite_horizon_iwocs_rejects_bad_input():
    Pc, rc, rho0 = _fh_instance(0)
    with pytest.raises(ValueError, match="kind"):
        I.iwocs_finite_horizon(Pc, rc, rho0, kind="dynamic")
    with pytest.raises(ValueError, match="r must have shape"):
        I.iwocs_finite_horizon(Pc, rc[..., :1], rho0)
    with pytest.raises(ValueError, match="rho0"):
        I.iwocs_finite_horizon(Pc, rc, np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="T0"):
        I.iwocs_finite_horizon(Pc, rc, rho0, T0=5)
    bad = Pc.copy()
    bad[0, 0, 0, 0] = [0.7, 0.7]
    with pytest.raises(ValueError, match="probability"):
        I.iwocs_finite_horizon(bad, rc, rho0)
