"""Discounted solvers: VI = PI = MPI on random MDPs, brute force, closed forms, layouts,
guaranteed error bounds, and every error branch."""
import itertools

import numpy as np
import pytest
import scipy.sparse.linalg

from mdptheory.models import DiscountedMDP, SparseTransitions
from mdptheory.solvers import discounted as D


def random_mdp(seed, S=6, A=3, gamma=0.9, zero_frac=0.0, sparse=False):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S))
    if zero_frac:
        P[rng.random(P.shape) < zero_frac] = 0.0
        P[:, :, 0] += P.sum(axis=2) == 0
    P /= P.sum(axis=2, keepdims=True)
    r = rng.random((S, A))
    if sparse:
        P = SparseTransitions.from_dense(P)
    return DiscountedMDP(P=P, r=r, gamma=gamma)


def exact_value(mdp, actions):
    """V^pi of a deterministic policy: a dense solve refined with residuals in extended
    precision, so the reference is right to ~1e-16 * |V| even at gamma = 0.999 (a plain LU
    solve is off by ~cond * 1e-16 * |V|, about 3e-11 there)."""
    P = mdp.dense_P()
    S = mdp.S
    rows = np.arange(S)
    M = np.eye(S) - mdp.gamma * P[rows, actions]
    b = mdp.r[rows, actions]
    V = np.linalg.solve(M, b)
    M_ext, b_ext = M.astype(np.longdouble), b.astype(np.longdouble)
    for _ in range(3):
        residual = b_ext - M_ext @ V.astype(np.longdouble)
        V = V + np.linalg.solve(M, residual.astype(np.float64))
    return V


def brute_force(mdp):
    """V* = the elementwise max of V^pi over all A^S deterministic policies."""
    best = None
    for actions in itertools.product(range(mdp.A), repeat=mdp.S):
        V = exact_value(mdp, np.array(actions))
        best = V if best is None else np.maximum(best, V)
    return best


SOLVERS = [
    ("vi", lambda mdp, **kw: D.value_iteration(mdp, tol=1e-10, **kw)),
    ("pi", lambda mdp, **kw: D.policy_iteration(mdp, **kw)),
    ("mpi", lambda mdp, **kw: D.modified_policy_iteration(mdp, tol=1e-10, **kw)),
    ("mpi_m1", lambda mdp, **kw: D.modified_policy_iteration(mdp, tol=1e-10, m=1, **kw)),
]


@pytest.mark.parametrize("seed, S, A, gamma", [(0, 5, 2, 0.5), (1, 12, 4, 0.9),
                                               (2, 30, 3, 0.99), (3, 8, 5, 0.999)])
def test_vi_pi_mpi_agree_on_random_dense_mdps(seed, S, A, gamma):
    mdp = random_mdp(seed, S, A, gamma, zero_frac=0.3)
    pi_sol = D.policy_iteration(mdp)
    V_star = exact_value(mdp, pi_sol.pi.argmax(axis=1))
    for name, solve in SOLVERS:
        sol = solve(mdp)
        assert sol.converged, name
        np.testing.assert_allclose(sol.V, V_star, rtol=0, atol=1e-8, err_msg=name)
        # the bound is MacQueen's, evaluated in float64: allow for rounding in the backups
        rounding = 4 * np.finfo(float).eps * np.abs(V_star).max() / (1 - gamma)
        assert np.abs(sol.V - V_star).max() <= sol.error_bound + rounding, name
        np.testing.assert_array_equal(sol.pi, pi_sol.pi, err_msg=name)
        np.testing.assert_allclose(sol.Q.max(axis=1), sol.V, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("seed, S, A", [(10, 1, 3), (11, 2, 2), (12, 3, 3), (13, 4, 2),
                                        (14, 4, 3)])
def test_solvers_match_brute_force_over_all_deterministic_policies(seed, S, A):
    mdp = random_mdp(seed, S, A, gamma=0.95)
    V_star = brute_force(mdp)
    for name, solve in SOLVERS:
        sol = solve(mdp)
        np.testing.assert_allclose(sol.V, V_star, rtol=0, atol=1e-8, err_msg=name)
        np.testing.assert_allclose(exact_value(mdp, sol.pi.argmax(axis=1)), V_star,
                                   rtol=0, atol=1e-8, err_msg=name)


def puterman_two_state(beta):
    """Puterman (2005) Sec. 3.1 / Example 6.1.1: s1 has a11 (reward 5, stay or move with
    prob. 1/2) and a12 (reward 10, move to s2); s2 has a21 (reward -1, stay). Rewards are
    mapped to [0, 1] by r' = (r + 1) / 11, so V' = (V + 1 / (1 - beta)) / 11."""
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0.0, 1.0]
    P[1, :] = [0.0, 1.0]                         # s2: both actions are a21
    r = (np.array([[5.0, 10.0], [-1.0, -1.0]]) + 1.0) / 11.0
    mdp = DiscountedMDP(P=P, r=r, gamma=beta)
    v2 = -1.0 / (1.0 - beta)
    v1_a11 = (5.0 + 0.5 * beta * v2) / (1.0 - 0.5 * beta)
    v1_a12 = 10.0 + beta * v2
    V = (np.array([max(v1_a11, v1_a12), v2]) + 1.0 / (1.0 - beta)) / 11.0
    return mdp, V, int(v1_a12 > v1_a11)


@pytest.mark.parametrize("beta, best", [(0.5, 1), (0.95, 0), (0.99, 0)])
def test_puterman_two_state_closed_form(beta, best):
    mdp, V, best_action = puterman_two_state(beta)
    assert best_action == best                   # a11 is optimal exactly when beta > 10/11
    for name, solve in SOLVERS:
        sol = solve(mdp)
        np.testing.assert_allclose(sol.V, V, rtol=0, atol=1e-9, err_msg=name)
        assert sol.pi[0].argmax() == best and sol.pi[1].argmax() == 0, name


@pytest.mark.parametrize("seed", [20, 21])
def test_sparse_model_gives_the_dense_results(seed):
    dense = random_mdp(seed, S=25, A=3, gamma=0.97, zero_frac=0.7)
    sparse = dense.replace(P=SparseTransitions.from_dense(dense.P))
    for name, solve in SOLVERS:
        a, b = solve(dense), solve(sparse)
        np.testing.assert_allclose(a.V, b.V, rtol=0, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(a.Q, b.Q, rtol=0, atol=1e-9, err_msg=name)
        np.testing.assert_array_equal(a.pi, b.pi, err_msg=name)
    assert D.policy_iteration(sparse).info["krylov_iterations"] > 0
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(3), size=25)
    V = rng.normal(size=25)
    np.testing.assert_allclose(D.bellman(dense, V), D.bellman(sparse, V), atol=1e-13)
    np.testing.assert_allclose(D.bellman_policy(dense, pi, V), D.bellman_policy(sparse, pi, V),
                               atol=1e-13)
    ev_d, ev_s = D.evaluate_policy(dense, pi), D.evaluate_policy(sparse, pi)
    np.testing.assert_allclose(ev_d.V, ev_s.V, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ev_d.Q, ev_s.Q, rtol=0, atol=1e-10)
    assert ev_s.info["error_bound"] < 1e-9 and ev_s.num_iter > 0


def test_the_compacted_copy_is_made_once_per_model_and_freed_with_it():
    import gc

    mdp = random_mdp(32, S=30, A=2, gamma=0.9, zero_frac=0.8)
    first = D._operator(mdp, "sparse")
    second = D._operator(mdp, "sparse")
    assert second.probs is first.probs and second.idx is first.idx     # no second pass
    assert not first.probs.flags.writeable and not first.idx.flags.writeable
    a = D.modified_policy_iteration(mdp, tol=1e-10, layout="sparse")
    b = D.modified_policy_iteration(mdp, tol=1e-10, layout="sparse")
    np.testing.assert_array_equal(a.V, b.V)
    other = random_mdp(33, S=30, A=2, gamma=0.9, zero_frac=0.8)       # its own copy
    assert D._operator(other, "sparse").probs is not first.probs
    n = len(D._COMPACTED)
    del mdp, first, second, a, b
    gc.collect()
    assert len(D._COMPACTED) == n - 1


def test_layouts_agree_and_auto_compacts_large_sparse_dense_models(monkeypatch):
    mdp = random_mdp(30, S=40, A=3, gamma=0.9, zero_frac=0.9)
    results = {lay: D.modified_policy_iteration(mdp, tol=1e-11, layout=lay)
               for lay in ("dense", "sparse", "auto")}
    assert results["dense"].info["layout"] == "dense"
    assert results["auto"].info["layout"] == "dense"          # too small to be worth it
    assert results["sparse"].info["compacted"] is True
    assert results["sparse"].info["width"] == int((mdp.P > 0).sum(axis=2).max())
    for sol in results.values():
        np.testing.assert_allclose(sol.V, results["dense"].V, rtol=0, atol=1e-10)
    monkeypatch.setattr(D, "_COMPACT_MIN_BYTES", 0)
    assert D.value_iteration(mdp, layout="auto").info["layout"] == "sparse"
    full = random_mdp(31, S=40, A=3, gamma=0.9)               # no zeros: stays dense
    assert D.value_iteration(full, layout="auto").info["layout"] == "dense"
    monkeypatch.setattr(D, "_BLAS_MIN_BYTES", 0)              # the BLAS gemv path
    sol = D.value_iteration(full, tol=1e-11, layout="dense")
    monkeypatch.undo()
    np.testing.assert_allclose(sol.V, D.value_iteration(full, tol=1e-11).V, atol=1e-10)


def test_compaction_retries_when_sampled_rows_underestimate_the_width():
    S, A = 50, 3
    rng = np.random.default_rng(40)
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, (S, A))] = 1.0
    P[7, 1] = rng.dirichlet(np.ones(S))                       # one wide row, not sampled
    P2 = P.reshape(S * A, S)
    probs, idx = D._compact(P2, S, A, max_width=None)
    assert probs.shape == (S, A, S) and idx.dtype == np.int32
    np.testing.assert_allclose(SparseTransitions(idx, probs, S).to_dense(), P, atol=0)
    assert D._compact(P2, S, A, max_width=10) is None         # too wide: stay dense


def test_error_bounds_are_guaranteed_for_loose_tolerances():
    mdp = random_mdp(50, S=20, A=4, gamma=0.99, zero_frac=0.5)
    V_star = D.policy_iteration(mdp).V
    for solve in (D.value_iteration, D.modified_policy_iteration):
        for tol in (1e-1, 1e-3, 1e-6):
            sol = solve(mdp, tol=tol)
            assert sol.converged and sol.error_bound <= tol
            assert np.abs(sol.V - V_star).max() <= sol.error_bound
            loss = V_star - exact_value(mdp, sol.pi.argmax(axis=1))
            assert loss.max() <= sol.info["policy_error_bound"] + 1e-12


def mp_optimal_value(mdp, actions):
    """V^pi of a deterministic policy by an mpmath solve at 40 digits, after checking in the
    same arithmetic that no action improves on it (so it is V*, exactly to ~1e-35)."""
    import mpmath as mp
    P, S = mdp.dense_P(), mdp.S
    with mp.workdps(40):
        g = mp.mpf(mdp.gamma)
        M = mp.matrix(S, S)
        b = mp.matrix(S, 1)
        for s in range(S):
            for t in range(S):
                M[s, t] = (1 if s == t else 0) - g * mp.mpf(P[s, actions[s], t])
            b[s] = mp.mpf(mdp.r[s, actions[s]])
        x = mp.lu_solve(M, b)
        for s, a in itertools.product(range(S), range(mdp.A)):
            q = mp.mpf(mdp.r[s, a]) + g * mp.fsum(mp.mpf(P[s, a, t]) * x[t] for t in range(S))
            assert q <= x[s] + mp.mpf(10) ** -30
        return np.array([float(v) for v in x])


@pytest.mark.parametrize("seed, S, gamma", [(1, 6, 0.99999), (2, 10, 0.99999), (3, 6, 0.9999),
                                            (4, 8, 0.999999)])
@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_error_bounds_hold_near_gamma_one(seed, S, gamma, layout):
    """Issue 12: at gamma = 0.99999 value iteration reported error_bound = 0.0 after 2.6 million
    backups while 4.9e-7 off, and MPI did not converge in 80 s. The bounds now count rounding
    and the rows' actual sums, and the iterations run on V = k + W (relative values)."""
    mdp = random_mdp(seed, S=S, A=3, gamma=gamma)
    pi = D.policy_iteration(mdp, layout=layout)
    V_star = mp_optimal_value(mdp, pi.pi.argmax(axis=1))
    assert np.abs(pi.V - V_star).max() <= pi.error_bound
    for solve in (D.value_iteration, D.modified_policy_iteration,
                  lambda mdp, **kw: D.modified_policy_iteration(mdp, m=1, **kw)):
        sol = solve(mdp, tol=1e-8, layout=layout)
        assert sol.converged and sol.error_bound <= 1e-8 and sol.num_iter <= 200
        assert np.abs(sol.V - V_star).max() <= sol.error_bound
        loss = V_star - mp_optimal_value(mdp, sol.pi.argmax(axis=1))
        assert loss.max() <= sol.info["policy_error_bound"]


def test_a_tolerance_below_the_rounding_floor_is_refused_with_the_floor():
    mdp = random_mdp(1, S=6, A=3, gamma=0.99999)
    for solve in (D.value_iteration, D.modified_policy_iteration):
        with pytest.raises(ValueError, match=r"tol=1e-14 is below what .* can certify"):
            solve(mdp, tol=1e-14)


def test_max_iter_stops_early_and_reports_an_honest_bound():
    mdp = random_mdp(51, S=15, A=3, gamma=0.99)
    V_star = D.policy_iteration(mdp).V
    sol = D.value_iteration(mdp, tol=1e-12, max_iter=2)
    assert not sol.converged and sol.num_iter == 2 and sol.error_bound > 1e-12
    assert np.abs(sol.V - V_star).max() <= sol.error_bound
    sol = D.modified_policy_iteration(mdp, tol=1e-12, m=1, max_iter=1)
    assert not sol.converged and sol.num_iter == 1
    assert np.abs(sol.V - V_star).max() <= sol.error_bound
    assert D.policy_iteration(mdp, max_iter=1).num_iter == 1


def test_gamma_zero_is_the_immediate_reward():
    mdp = random_mdp(52, S=5, A=3, gamma=0.0)
    for name, solve in SOLVERS:
        sol = solve(mdp)
        np.testing.assert_allclose(sol.V, mdp.r.max(axis=1), atol=1e-15, err_msg=name)
        assert sol.error_bound == 0.0


@pytest.mark.parametrize("gamma", [5e-324, 1e-310, 2.2250738585072014e-308, 1e-300])
def test_subnormal_and_tiny_gamma_give_the_immediate_reward(gamma):
    """Issue 12: the iteration cap computed tol / (c span(r)) with c = gamma / (1 - gamma)
    ~ 5e-324 (OverflowError / ZeroDivisionError in policy_iteration)."""
    mdp = random_mdp(52, S=5, A=3, gamma=gamma)
    for name, solve in SOLVERS:
        sol = solve(mdp)
        assert sol.converged, name
        np.testing.assert_allclose(sol.V, mdp.r.max(axis=1), atol=1e-15, err_msg=name)
        assert np.abs(sol.V - mdp.r.max(axis=1)).max() <= sol.error_bound + 2 * gamma


def test_policy_iteration_stops_between_identical_actions():
    mdp = random_mdp(53, S=10, A=2, gamma=0.99)
    P = np.concatenate([mdp.P, mdp.P], axis=1)                # actions 2, 3 copy 0, 1
    twin = DiscountedMDP(P=P, r=np.concatenate([mdp.r, mdp.r], axis=1), gamma=0.99)
    sol = D.policy_iteration(twin)
    assert sol.converged and (sol.pi.argmax(axis=1) < 2).all()  # ties -> lowest index
    np.testing.assert_allclose(sol.V, D.policy_iteration(mdp).V, atol=1e-12)


def test_evaluate_policy_solves_the_linear_system_for_stochastic_policies():
    mdp = random_mdp(60, S=9, A=3, gamma=0.9)
    pi = np.random.default_rng(60).dirichlet(np.ones(3), size=9)
    ev = D.evaluate_policy(mdp, pi)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    r_pi = (pi * mdp.r).sum(axis=1)
    np.testing.assert_allclose(ev.V, np.linalg.solve(np.eye(9) - 0.9 * P_pi, r_pi), atol=1e-13)
    np.testing.assert_allclose(ev.Q, mdp.r + 0.9 * mdp.P @ ev.V, atol=1e-13)
    np.testing.assert_allclose((pi * ev.Q).sum(axis=1), ev.V, atol=1e-13)
    assert ev.info["error_bound"] < 1e-12
    np.testing.assert_allclose(D.bellman_policy(mdp, pi, ev.V), ev.V, atol=1e-13)  # fixed point


def test_bellman_is_a_monotone_gamma_contraction_with_fixed_point_v_star():
    mdp = random_mdp(61, S=12, A=4, gamma=0.8, zero_frac=0.4)
    rng = np.random.default_rng(61)
    for _ in range(20):
        V, W = rng.normal(size=12) * 5, rng.normal(size=12) * 5
        gap = np.abs(D.bellman(mdp, V) - D.bellman(mdp, W)).max()
        assert gap <= 0.8 * np.abs(V - W).max() + 1e-12
        U = np.maximum(V, W)
        assert (D.bellman(mdp, U) >= D.bellman(mdp, V) - 1e-12).all()
    V_star = D.policy_iteration(mdp).V
    np.testing.assert_allclose(D.bellman(mdp, V_star), V_star, atol=1e-12)


def test_krylov_falls_back_to_gmres_when_bicgstab_fails(monkeypatch):
    mdp = random_mdp(62, S=15, A=2, gamma=0.95, sparse=True)
    ref = D.policy_iteration(random_mdp(62, S=15, A=2, gamma=0.95))
    monkeypatch.setattr(scipy.sparse.linalg, "bicgstab", lambda op, b, x0, **kw: (x0, 1))
    sol = D.policy_iteration(mdp)
    np.testing.assert_allclose(sol.V, ref.V, atol=1e-10)
    assert sol.error_bound < 1e-9


@pytest.mark.parametrize("call, exc, match", [
    (lambda m: D.value_iteration(m, tol=0.0), ValueError, r"tol must be > 0"),
    (lambda m: D.value_iteration(m, tol=-1e-3), ValueError, r"tol must be > 0"),
    (lambda m: D.modified_policy_iteration(m, tol=float("nan")), ValueError, r"tol is nan"),
    (lambda m: D.value_iteration(m, tol="small"), TypeError, r"tol must be a real number"),
    (lambda m: D.value_iteration(m, max_iter=0), ValueError, r"max_iter must be >= 1, got 0"),
    (lambda m: D.policy_iteration(m, max_iter=2.5), TypeError, r"max_iter must be an integer"),
    (lambda m: D.modified_policy_iteration(m, m=0), ValueError, r"m must be >= 1, got 0"),
    (lambda m: D.modified_policy_iteration(m, m=3.0), TypeError, r"m must be an integer"),
    (lambda m: D.value_iteration(m, layout="csr"), ValueError, r"layout must be one of"),
    (lambda m: D.bellman(m, np.zeros(3)), ValueError, r"V must have shape \(4,?\), got \(3,\)"),
    (lambda m: D.bellman(m, [0.0, np.inf, 0.0, 0.0]), ValueError, r"V\[1\] is inf"),
    (lambda m: D.bellman_policy(m, np.full((4, 2), 0.5), np.zeros(4)), ValueError,
     r"pi must be action probabilities of shape \(4, 3\)"),
    (lambda m: D.evaluate_policy(m, np.full((4, 3), 0.5)), ValueError,
     r"pi\[0\] sums to 1.5, expected 1"),
    (lambda m: D.evaluate_policy(m, -np.eye(4, 3)), ValueError,
     r"pi\[0, 0\] is -1, expected a probability >= 0"),
])
def test_bad_arguments_are_refused_with_a_message(call, exc, match):
    with pytest.raises(exc, match=match):
        call(random_mdp(70, S=4, A=3))


def test_layout_dense_is_refused_for_sparse_models_and_non_models_are_type_errors():
    with pytest.raises(ValueError, match=r"layout='dense' needs a dense model"):
        D.policy_iteration(random_mdp(71, S=4, A=2, sparse=True), layout="dense")
    for f in (D.value_iteration, D.policy_iteration, D.modified_policy_iteration):
        with pytest.raises(TypeError, match=r"mdp must be a DiscountedMDP, got dict"):
            f({})
    with pytest.raises(TypeError, match=r"mdp must be a DiscountedMDP, got ndarray"):
        D.bellman(np.zeros((2, 2, 2)), np.zeros(2))


def test_results_do_not_depend_on_the_number_of_threads(monkeypatch):
    import numba

    mdp = random_mdp(80, S=300, A=3, gamma=0.95, zero_frac=0.97, sparse=True)
    dense = random_mdp(81, S=60, A=4, gamma=0.95)
    runs = []
    for idle in (1, 64):
        monkeypatch.setattr(D, "_idle_cores", lambda idle=idle: idle)
        runs.append((D.modified_policy_iteration(mdp), D.value_iteration(dense),
                     D.bellman(mdp, np.arange(300.0))))
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS   # restored
    for a, b in zip(runs[0][:2], runs[1][:2]):
        np.testing.assert_array_equal(a.V, b.V)                       # bit for bit
        np.testing.assert_array_equal(a.pi, b.pi)
    np.testing.assert_array_equal(runs[0][2], runs[1][2])


def test_idle_cores_reads_loadavg_and_falls_back_to_all_threads(monkeypatch):
    import builtins

    import numba

    n = D._idle_cores()
    assert isinstance(n, int) and n >= 1

    def no_file(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(builtins, "open", no_file)
    assert D._idle_cores() == numba.config.NUMBA_NUM_THREADS


def test_openblas_threads_follow_the_idle_cores_and_are_restored(monkeypatch):
    controls = D._openblas_controls()
    assert controls                        # numpy's and scipy's wheels bundle OpenBLAS here
    before = [get() for get, _ in controls]
    monkeypatch.setattr(D, "_idle_cores", lambda: 1)
    inside = D._with_idle_threads(lambda: [get() for get, _ in controls])()
    assert inside == [1] * len(controls)
    assert [get() for get, _ in controls] == before
