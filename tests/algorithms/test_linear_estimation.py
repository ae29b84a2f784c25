"""Shared ridge machinery of the linear robust algorithms: kernels against slow references and
against the exact inner problems, grouped = per-sample regressions, Sherman–Morrison, the
penalty forms, the backward pass and every input check."""
import numpy as np
import pytest

from mdptheory import envs
from mdptheory.algorithms import linear_estimation as le
from mdptheory.algorithms.baselines_linear import drvi_l
from mdptheory.envs.put_option import always_hold_policy, put_option
from mdptheory.kernels import linear as klin
from mdptheory.kernels import robust as krob
from mdptheory.runner.online import Dataset, collect


def _step_from_coefficients(C):
    """A RidgeStep whose coefficient matrix is exactly C (Lambda = I, M = C)."""
    d, n = C.shape
    return le.RidgeStep(Lambda=np.eye(d), M=np.array(C, dtype=float), cols=np.arange(n),
                        counts=np.ones(n), Lambda_inv=np.eye(d))


def _random_problem(rng, d=3, n=7, ridge_like=True):
    C = rng.normal(size=(d, n)) * 0.3
    if ridge_like:
        C += rng.dirichlet(np.ones(n), size=d)
    vals = rng.choice(rng.uniform(0, 3, size=5), size=n)           # repeated values (ties)
    return C, vals


def _objective_tv(C, vals, rad, a, anchor):
    """Objective at alpha = a (scalar, or (G,) grid -> (d, G)); C (d, n) or (n,)."""
    a = np.asarray(a, dtype=float)
    T = np.minimum(vals[None, :], np.atleast_1d(a)[:, None])           # (G, n)
    z = np.atleast_2d(C) @ T.T                                          # (d, G)
    out = z - np.atleast_1d(rad)[:, None] * (np.atleast_1d(a)[None, :] - anchor)
    return out[:, 0] if a.ndim == 0 else out


def _objective_chi2(C, vals, lam, a, clip, cap):
    a = np.asarray(a, dtype=float)
    T = np.minimum(vals[None, :], np.atleast_1d(a)[:, None])
    z1 = np.atleast_2d(C) @ T.T
    z2 = np.atleast_2d(C) @ (T ** 2).T
    if clip:
        z1, z2 = np.clip(z1, 0, cap), np.clip(z2, 0, cap * cap)
    lam = np.atleast_1d(lam)[:, None]
    out = z1 + z1 ** 2 / (4 * lam) - z2 / (4 * lam)
    return out[:, 0] if a.ndim == 0 else out


# ---------------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("seed", range(6))
def test_tv_dual_ridge_is_the_exact_maximum_over_alpha(seed):
    rng = np.random.default_rng(seed)
    C, vals = _random_problem(rng, ridge_like=seed % 2 == 0)
    rad = rng.uniform(0, 1, size=3)
    lo, hi, anchor = 0.2, 2.7, 0.2
    out, alpha = np.empty(3), np.empty(3)
    klin.tv_dual_ridge(C, vals, rad, lo, hi, anchor, out, alpha)
    grid = np.concatenate([np.linspace(lo, hi, 4001), vals[(vals >= lo) & (vals <= hi)]])
    best = _objective_tv(C, vals, rad, grid, anchor).max(axis=1)
    np.testing.assert_allclose(out, best, atol=1e-12)              # piecewise linear: exact
    attained = np.array([_objective_tv(C[i], vals, rad[i], alpha[i], anchor)[0]
                         for i in range(3)])
    np.testing.assert_allclose(attained, out, atol=1e-12)
    assert np.all((alpha >= lo) & (alpha <= hi))


@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_chi2_reg_dual_ridge_is_attained_and_beats_a_fine_grid(seed, clip):
    rng = np.random.default_rng(100 + seed)
    C, vals = _random_problem(rng, ridge_like=seed % 2 == 0)
    lam = rng.uniform(0.05, 2, size=3)
    lo, hi, cap = 0.0, 3.0, 3.0
    out, alpha = np.empty(3), np.empty(3)
    klin.chi2_reg_dual_ridge(C, vals, lam, lo, hi, clip, cap, cap * cap, out, alpha)
    grid = np.linspace(lo, hi, 30001)
    vals_grid = _objective_chi2(C, vals, lam, grid, clip, cap)          # (d, G)
    assert np.all(out >= vals_grid.max(1) - 1e-12)                # no grid point is better
    attained = np.array([_objective_chi2(C[i], vals, lam[i], alpha[i], clip, cap)[0]
                         for i in range(3)])
    np.testing.assert_allclose(attained, out, atol=1e-12)         # and the value is attained


def test_compiled_kernels_equal_their_python_versions():
    rng = np.random.default_rng(3)
    C, vals = _random_problem(rng)
    rad = np.array([0.1, 0.0, 0.4])
    lam = np.array([0.3, 1.0, 0.05])
    for fn, args in [
        (klin.tv_dual_ridge, (C, vals, rad, 0.0, 3.0, 0.0)),
        (klin.chi2_reg_dual_ridge, (C, vals, lam, 0.0, 3.0, True, 3.0, 9.0)),
    ]:
        o1, a1, o2, a2 = (np.empty(3) for _ in range(4))
        fn(*args, o1, a1)
        fn.py_func(*args, o2, a2)
        np.testing.assert_allclose(o1, o2, atol=1e-13)
        np.testing.assert_allclose(a1, a2, atol=1e-13)
    o1, o2 = np.empty(3), np.empty(3)
    klin.kl_reg_ridge(C, vals, lam, 3.0, o1)
    klin.kl_reg_ridge.py_func(C, vals, lam, 3.0, o2)
    np.testing.assert_allclose(o1, o2, rtol=1e-12)
    grid = np.linspace(-3, 2, 20)
    bhi = np.array([7.0, 3.0, 1.0])
    for centered, floor in [(True, 1e-6), (False, 0.0)]:
        o1, b1, o2, b2 = (np.empty(3) for _ in range(4))
        klin.kl_dual_ridge(C, vals, rad, centered, floor, 3.0, grid, bhi, 30, o1, b1)
        klin.kl_dual_ridge.py_func(C, vals, rad, centered, floor, 3.0, grid, bhi, 30, o2, b2)
        np.testing.assert_allclose(o1, o2, rtol=1e-12)
        np.testing.assert_allclose(b1, b2, rtol=1e-12)
    lo_b, hi_b = le.kl_dual_range(rad, 3.0)
    for centered, floor in [(True, 1e-6), (False, 0.0)]:
        o1, b1, o2, b2 = (np.empty(3) for _ in range(4))
        c1, c2 = np.empty(3, np.int8), np.empty(3, np.int8)
        klin.kl_dual_ridge_exact(C, vals, rad, centered, floor, 3.0, lo_b, hi_b, 16, 1e-10,
                                 5000, o1, b1, c1)
        klin.kl_dual_ridge_exact.py_func(C, vals, rad, centered, floor, 3.0, lo_b, hi_b, 16,
                                         1e-10, 5000, o2, b2, c2)
        np.testing.assert_allclose(o1, o2, rtol=1e-12)
        np.testing.assert_allclose(b1, b2, rtol=1e-12)
        np.testing.assert_array_equal(c1, c2)
    Phi = rng.random((9, 3))
    col = rng.integers(0, 4, size=9)
    M1, M2 = np.zeros((3, 4)), np.zeros((3, 4))
    klin.design_by_column(Phi, np.ones(9), col, M1)
    klin.design_by_column.py_func(Phi, np.ones(9), col, M2)
    np.testing.assert_allclose(M1, M2)
    step = rng.integers(0, 2, size=9)
    L1, L2 = np.zeros((2, 3, 3)), np.zeros((2, 3, 3))
    M1, M2 = np.zeros((2, 3, 4)), np.zeros((2, 3, 4))
    w = rng.random(9)
    klin.accumulate_triples(step, Phi, w, col, L1, M1)
    klin.accumulate_triples.py_func(step, Phi, w, col, L2, M2)
    np.testing.assert_allclose(L1, L2, atol=1e-14)
    np.testing.assert_allclose(M1, M2, atol=1e-14)
    for h in range(2):                                   # = sum_t w phi phi^T over step h
        sel = step == h
        np.testing.assert_allclose(L1[h], (Phi[sel] * w[sel, None]).T @ Phi[sel], atol=1e-14)
    A1 = np.linalg.inv(np.eye(3) * 2 + Phi.T @ Phi)
    A2 = A1.copy()
    klin.sherman_morrison(A1, Phi[0], 0.7)
    klin.sherman_morrison.py_func(A2, Phi[0], 0.7)
    np.testing.assert_allclose(A1, A2, atol=1e-14)


def _objective_kl(Ci, vals, rho, beta, floor, vcap, centered=True):
    """DRVI-L objective of one coordinate on a beta grid (G,) -> (G,)."""
    beta = np.atleast_1d(np.asarray(beta, dtype=float))
    E = np.exp(-vals[None, :] / beta[:, None])
    y = 1.0 + (Ci[None, :] * (E - 1.0)).sum(1) if centered else (Ci[None, :] * E).sum(1)
    with np.errstate(divide="ignore"):
        return np.minimum(-beta * np.log(np.maximum(y, floor)), vcap) - beta * rho


def _check_kl_target(step, v, rho, cap, nu, beta, rec, coords=None, n_dense=20001):
    """nu_i = min(max over the admissible range, nominal): no dense grid point beats it, and it
    is attained (at beta_i, or by the nominal cap)."""
    C = step.coefficients()
    nominal = C @ v
    lo, hi = le.kl_dual_range(rho, cap)
    assert rec["certified"].all()
    for i in range(C.shape[0]) if coords is None else coords:
        grid = np.exp(np.linspace(np.log(lo), np.log(hi[i]), n_dense))
        dense = _objective_kl(C[i], v, rho[i], grid, 1e-6, cap).max()
        assert nu[i] >= min(dense, nominal[i]) - 1e-9 * max(cap, 1.0)
        at = _objective_kl(C[i], v, rho[i], beta[i], 1e-6, cap)[0]
        if rec["capped"][i]:
            assert nu[i] == nominal[i] and at >= nominal[i]
        else:
            assert at == pytest.approx(nu[i], abs=1e-12) and nu[i] <= nominal[i]


@pytest.mark.parametrize("seed", range(3))
def test_kl_dual_exact_search_is_the_capped_maximum_over_the_admissible_range(seed):
    """Ridge coefficients of the put option's always-hold data (weights of both signs), random
    next values with zeros (the exercised terminal state) and random radii."""
    opt = put_option(0.5, d=12, H=8, rng=seed)
    fm = le.feature_model(opt)
    steps = le.offline_ridge_steps(collect(opt.mdp, always_hold_policy(opt), 80,
                                           rng=seed + 10), fm, 1.0)
    cap = fm.value_cap
    rng = np.random.default_rng(seed)
    for step in steps:
        n = step.cols.size
        v = rng.uniform(0, cap, size=n) * (rng.random(n) < 0.8)
        rho = rng.uniform(0.01, 0.5, size=fm.d)
        rec: dict = {}
        nu, beta = le.kl_constrained_estimate(step, v, rho, cap, record=rec)
        _check_kl_target(step, v, rho, cap, nu, beta, rec)


def test_kl_dual_exact_search_finds_the_kink_peaks_the_grid_search_missed():
    """Regression (issue "Experiments that can decide"): on DRVI-L's own targets for the put
    option, the former grid + golden-section search misses maxima that sit at the kink where
    y(beta) crosses the floor (ridge weights make the objective multi-peaked); some of them lie
    above the nominal ridge estimate, which the capped target excludes."""
    rng = np.random.default_rng(1)
    opt = put_option(0.5, d=30, H=20, rng=rng)
    ds = collect(opt.mdp, always_hold_policy(opt), 1000, rng=rng)
    fm = le.feature_model(opt)
    res = drvi_l(ds, opt, 0.025, beta=0.1, gamma=1.0, kl_search="grid")
    steps = le.offline_ridge_steps(ds, fm, 1.0)
    cap = fm.value_cap
    missed = above_nominal = 0
    for h, step in enumerate(steps):
        v = res.V[h + 1][step.cols]
        rho = np.full(fm.d, 0.025)
        rec: dict = {}
        nu, beta = le.kl_constrained_estimate(step, v, rho, cap, record=rec)
        grid, _ = le.kl_constrained_estimate(step, v, rho, cap, search="grid",
                                             cap_nominal=False)
        nominal = step.coefficients() @ v
        differ = np.flatnonzero(np.abs(nu - np.minimum(grid, nominal)) > 1e-9)
        missed += differ.size
        above_nominal += int(np.sum(rec["capped"][differ]))
        _check_kl_target(step, v, rho, cap, nu, beta, rec, coords=differ)
    assert missed >= 1 and above_nominal >= 1


@pytest.mark.parametrize("seed", range(5))
def test_ridge_duals_with_exact_expectations_equal_the_exact_inner_problems(seed):
    """C = p (the exact expectation operator): the four estimators reduce to the closed forms
    and duals of docs/papers/r2pvi.md §2.3, i.e. to mdptheory.kernels.robust (strong duality)."""
    rng = np.random.default_rng(seed)
    S = 6
    p = rng.dirichlet(np.ones(S))
    v = rng.uniform(0, 3, size=S)
    step = _step_from_coefficients(p[None, :])
    skip = np.empty(0)
    lam, rho = rng.uniform(0.1, 2.0), rng.uniform(0.01, 0.6)
    # TV regularised: E_p min(v, v_min + lam) (v_min over all states)
    w = le.tv_regularized_estimate(step, v, [lam], v.min())
    assert w[0] == pytest.approx(krob.tv_regularized(p, v, lam, skip), abs=1e-12)
    # KL regularised (clip at a value cap above max v never binds)
    w = le.kl_regularized_estimate(step, v, [lam], 10.0)
    assert w[0] == pytest.approx(krob.kl_regularized(p, v, lam, skip), abs=1e-10)
    # chi2 regularised, unclipped, alpha over [min v, max v]
    w, _ = le.chi2_regularized_estimate(step, v, [lam], v.min(), v.max(), clip=False)
    assert w[0] == pytest.approx(krob.chi2_regularized(p, v, lam, skip), abs=1e-10)
    # TV constrained, exact form
    nu, _ = le.tv_constrained_estimate(step, v, [rho], v.min(), v.max(), v.min())
    assert nu[0] == pytest.approx(krob.tv_constrained(p, v, rho, skip), abs=1e-12)
    # KL constrained (concave dual: grid + golden section reaches it)
    nu, _ = le.kl_constrained_estimate(step, v, [rho], 3.0, centered=False, floor=0.0)
    assert nu[0] == pytest.approx(krob.kl_constrained(p, v, rho, skip), abs=1e-8)


def test_kl_regularized_estimate_does_not_underflow_for_small_lam():
    """lam = 0.025 and values near 20 give exp(-800) = 0 in float64; the exact shift by min V
    keeps the estimate finite and equal to the closed form."""
    p = np.array([0.3, 0.7])
    v = np.array([18.0, 19.5])
    step = _step_from_coefficients(p[None, :])
    w = le.kl_regularized_estimate(step, v, [0.025], 20.0)
    assert np.isfinite(w[0])
    assert w[0] == pytest.approx(krob.kl_regularized(p, v, 0.025, np.empty(0)), abs=1e-9)
    w2 = le.kl_regularized_estimate(step, v, np.array([0.025]), 20.0)   # kernel path, d = 1
    assert w2[0] == pytest.approx(w[0], abs=1e-12)


# ----------------------------------------------------------------------------- regressions
def _dataset(mdp, N, seed):
    pi = np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A)
    return collect(mdp.to_finite(), pi, N, rng=seed)


def test_grouped_regression_equals_the_per_sample_regression():
    mdp = envs.random_linear_mdp(6, 3, 4, 3, rng=1)
    ds = _dataset(mdp, 200, 0)
    fm = le.feature_model(mdp)
    g = np.random.default_rng(0).uniform(0, 3, size=mdp.S)
    for h, (sg, sp) in enumerate(zip(le.offline_ridge_steps(ds, fm, 0.5),
                                     le.offline_ridge_steps(ds, fm, 0.5, group_next=False))):
        np.testing.assert_allclose(sg.Lambda, sp.Lambda, rtol=1e-12)
        np.testing.assert_allclose(sg.fit(g[sg.cols]), sp.fit(g[sp.cols]), atol=1e-12)
        Phi = fm.phi[ds.s[:, h], ds.a[:, h]]
        ref = np.linalg.solve(Phi.T @ Phi + 0.5 * np.eye(4), Phi.T @ g[ds.s[:, h + 1]])
        np.testing.assert_allclose(sg.fit(g[sg.cols]), ref, atol=1e-12)
        np.testing.assert_allclose(sg.reward_sum, Phi.T @ ds.r[:, h], atol=1e-10)
        np.testing.assert_allclose(sg.inv_diag(), np.diag(np.linalg.inv(sg.Lambda)), rtol=1e-10)
    W = np.random.default_rng(1).uniform(0.2, 1.0, size=ds.a.shape)        # weighted samples
    for h, (sg, sp) in enumerate(zip(le.offline_ridge_steps(ds, fm, 0.5, weights=W),
                                     le.offline_ridge_steps(ds, fm, 0.5, weights=W,
                                                            group_next=False))):
        Phi = fm.phi[ds.s[:, h], ds.a[:, h]]
        ref = np.linalg.solve((Phi * W[:, h, None]).T @ Phi + 0.5 * np.eye(4),
                              Phi.T @ (W[:, h] * g[ds.s[:, h + 1]]))
        np.testing.assert_allclose(sg.fit(g[sg.cols]), ref, atol=1e-12)
        np.testing.assert_allclose(sp.fit(g[sp.cols]), ref, atol=1e-12)


def test_ridge_regression_recovers_the_factor_means_on_the_simulated_mdp():
    """E[g(s_{h+1}) | s_h, a_h] = <phi, (E_{mu0_{h,i}} g)_i>: with many samples the ridge fit of
    the excited factors (1 and 4 at paper step 1) converges to the true factor means."""
    mdp = envs.simulated_linear_mdp()
    ds = _dataset(mdp, 20000, 1)
    g = np.array([0.5, 1.0, 2.0, 0.0, 3.0])
    step = le.offline_ridge_steps(ds, le.feature_model(mdp), 0.01)[0]
    w = step.fit(g[step.cols])
    truth = mdp.mu[0] @ g
    np.testing.assert_allclose(w[[0, 3]], truth[[0, 3]], atol=0.15)   # ~3 s.e.


def test_online_ridge_sherman_morrison_matches_the_batch_gram_and_fit():
    mdp = envs.random_linear_mdp(5, 3, 3, 2, rng=4)
    ds = _dataset(mdp, 60, 2)
    online = le.OnlineRidge(mdp.phi, mdp.H, 0.3)
    for ep in ds:
        online.update(ep.s, ep.a, ep.r)
    batch = le.offline_ridge_steps(ds, le.feature_model(mdp), 0.3)
    g = np.linspace(0, 2, mdp.S)
    for h in range(mdp.H):
        st = online.step(h)
        np.testing.assert_allclose(st.Lambda, batch[h].Lambda, rtol=1e-12)
        np.testing.assert_allclose(st.Lambda_inv, np.linalg.inv(batch[h].Lambda), atol=1e-10)
        np.testing.assert_allclose(st.fit(g[st.cols]), batch[h].fit(g[batch[h].cols]),
                                   atol=1e-10)
    A = np.eye(3)
    Ainv = np.eye(3)
    x = np.array([0.2, 0.5, 0.3])
    le.sherman_morrison_update(Ainv, x, 2.0)
    np.testing.assert_allclose(Ainv, np.linalg.inv(A + 2.0 * np.outer(x, x)), atol=1e-14)


def test_penalty_forms_and_pevi_bonus():
    rng = np.random.default_rng(5)
    phi = rng.dirichlet(np.ones(4), size=(3, 2))
    L = rng.normal(size=(4, 4))
    Linv = np.linalg.inv(L @ L.T + np.eye(4))
    diag = np.diag(Linv)
    l1 = le.d_rectangular_penalty(phi, diag, 0.7, "l1")
    l2 = le.d_rectangular_penalty(phi, diag, 0.7, "l2diag")
    np.testing.assert_allclose(l1, 0.7 * (phi * np.sqrt(diag)).sum(-1))
    np.testing.assert_allclose(l2, 0.7 * np.sqrt((phi ** 2 * diag).sum(-1)))
    assert np.all(l2 <= l1 + 1e-15)                                   # code's form never larger
    np.testing.assert_allclose(l1, phi @ le.penalty_vector(diag, 0.7))  # linear in phi
    eb = le.elliptical_bonus(phi, Linv, 0.7)
    np.testing.assert_allclose(eb, 0.7 * np.sqrt(np.einsum("sai,ij,saj->sa", phi, Linv, phi)))


def test_ridge_regression_helper_matches_normal_equations():
    rng = np.random.default_rng(0)
    Phi, y = rng.random((30, 4)), rng.random(30)
    np.testing.assert_allclose(le.ridge_regression(Phi, y, 0.2),
                               np.linalg.solve(Phi.T @ Phi + 0.2 * np.eye(4), Phi.T @ y))


def test_backward_pass_clips_and_forces_zero_states():
    mdp = envs.simulated_linear_mdp()
    fm = le.feature_model(mdp, zero_states=(3,))
    steps = le.offline_ridge_steps(_dataset(mdp, 50, 0), fm, 0.1)
    res = le.backward_pass(fm, steps, lambda h, st, V: st.fit(V[st.cols]),
                           lambda h, st: np.full((fm.S, fm.A), 5.0), sign=-1.0)
    assert np.all(res.Q == 0.0)                              # penalty 5 > H: clipped at 0
    res = le.backward_pass(fm, steps, lambda h, st, V: st.fit(V[st.cols]),
                           lambda h, st: np.full((fm.S, fm.A), 5.0), sign=-1.0, q_clip="upper")
    assert np.all(res.Q[:, [0, 1, 2, 4]] < 0) and np.all(res.Q[:, 3] == 0)
    res = le.backward_pass(fm, steps, lambda h, st, V: st.fit(V[st.cols]),
                           lambda h, st: np.full((fm.S, fm.A), 5.0), sign=+1.0)
    np.testing.assert_allclose(res.V[:-1, [0, 1, 2, 4]],
                               np.broadcast_to(fm.v_max[:-1, None], (3, 4)))


# ---------------------------------------------------------------------------------- errors
def test_feature_model_rejects_bad_features_and_caps():
    phi = np.full((2, 2, 3), 1.0 / 3)
    r = np.zeros((2, 2, 2))
    bad = phi.copy()
    bad[1, 0] = [0.5, 0.4, 0.0]
    with pytest.raises(ValueError, match=r"features must lie on the simplex.*phi\[1, 0\] sums to"):
        le.FeatureModel(phi=bad, r=r)
    le.FeatureModel(phi=bad, r=r, simplex=False)                   # sub-stochastic allowed
    neg = phi.copy()
    neg[0, 1, 2] = -0.1
    with pytest.raises(ValueError, match=r"phi\[0, 1, 2\] is -0.1"):
        le.FeatureModel(phi=neg, r=r, simplex=False)
    with pytest.raises(ValueError, match=r"r must have shape \(2, 2, 2\)"):
        le.FeatureModel(phi=phi, r=np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match=r"r\[0, 1, 0\] is nan"):
        le.FeatureModel(phi=phi, r=np.where(np.arange(2)[None, :, None] == 1, np.nan, r))
    with pytest.raises(ValueError, match=r"v_max\[1\] is -1"):
        le.FeatureModel(phi=phi, r=r, v_max=[2.0, -1.0, 0.0])
    with pytest.raises(ValueError, match=r"zero_states\[0\] is 5"):
        le.FeatureModel(phi=phi, r=r, zero_states=(5,))
    with pytest.raises(TypeError, match="model must be a LinearMDP"):
        le.feature_model("not a model")


def test_validate_dataset_names_the_field_index_and_value():
    mdp = envs.simulated_linear_mdp()
    fm = le.feature_model(mdp)
    ds = _dataset(mdp, 4, 0)
    with pytest.raises(ValueError, match=r"dataset.s must have shape \(N, H \+ 1\) = \(\*, 4\)"):
        le.validate_dataset(Dataset(ds.s[:, :3], ds.a, ds.r), fm)
    with pytest.raises(ValueError, match=r"dataset.a must have shape \(N, H\)"):
        le.validate_dataset(Dataset(ds.s, ds.a[:, :2], ds.r), fm)
    s = ds.s.copy()
    s[2, 1] = 9
    with pytest.raises(ValueError, match=r"dataset.s\[2, 1\] is 9, expected a state in \[0, 5\)"):
        le.validate_dataset(Dataset(s, ds.a, ds.r), fm)
    a = ds.a.copy()
    a[0, 2] = -1
    with pytest.raises(ValueError, match=r"dataset.a\[0, 2\] is -1"):
        le.validate_dataset(Dataset(ds.s, a, ds.r), fm)
    r = ds.r.copy()
    r[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"dataset.r\[3, 0\] is nan"):
        le.validate_dataset(Dataset(ds.s, ds.a, r), fm)
    with pytest.raises(ValueError, match=r"dataset.r must have shape \(N, H\)"):
        le.validate_dataset(Dataset(ds.s, ds.a, ds.r[:, :1]), fm)
    with pytest.raises(TypeError, match="dataset.s must hold integers"):
        le.validate_dataset(Dataset(ds.s.astype(float), ds.a, ds.r), fm)
    with pytest.raises(TypeError, match="dataset must have fields s, a, r"):
        le.validate_dataset(object(), fm)
    with pytest.raises(ValueError, match="holds no episodes"):
        le.validate_dataset(Dataset(ds.s[:0], ds.a[:0], ds.r[:0]), fm)


def test_parameter_checks():
    with pytest.raises(ValueError, match=r"lam\[1, 2\] is -0.1, expected a value > 0"):
        le.positive_weights("lam", np.array([[1, 1, 1], [1, 1, -0.1]]), (2, 3))
    with pytest.raises(ValueError, match="lam is 0, expected a value > 0"):
        le.positive_weights("lam", 0.0, (2, 3))
    with pytest.raises(ValueError, match="broadcastable to shape"):
        le.positive_weights("lam", np.ones(4), (2, 3))
    with pytest.raises(ValueError, match="penalty must be one of"):
        le.d_rectangular_penalty(np.ones((1, 1)), np.ones(1), 1.0, "l3")
    mdp = envs.simulated_linear_mdp()
    with pytest.raises(ValueError, match="gamma must be > 0"):
        le.offline_ridge_steps(_dataset(mdp, 3, 0), le.feature_model(mdp), 0.0)


def test_spd_inverse_matches_numpy_and_rejects_indefinite_matrices():
    rng = np.random.default_rng(2)
    B = rng.normal(size=(6, 6))
    A = B @ B.T + 0.1 * np.eye(6)
    np.testing.assert_allclose(le.spd_inverse(A), np.linalg.inv(A), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="not positive definite"):
        le.spd_inverse(-np.eye(3))
