"""Demonstration-regularized RL: BC closed forms, exact trajectory KL, the optimistic soft backup
vs the exact soft solver, kernels vs their Python twins, the tabular and linear solvers, the
full procedure, RLHF, and every bad-input branch."""
import itertools

import numpy as np
import pytest

from mdptheory import envs
from mdptheory.algorithms import demo_regularized as dr
from mdptheory.algorithms.linear_estimation import elliptical_bonus, ridge_regression
from mdptheory.bounds import demo_regularized as bdr
from mdptheory.kernels import demo_regularized as kdr
from mdptheory.models import FiniteHorizonMDP
from mdptheory.runner import Dataset, collect
from mdptheory.solvers.finite import (
    backward_induction,
    evaluate_finite_policy,
    soft_backward_induction,
    soft_evaluate_policy,
)


def random_mdp(seed, H=3, S=3, A=2):
    rng = np.random.default_rng(seed)
    return FiniteHorizonMDP(rng.dirichlet(np.ones(S), size=(H, S, A)), rng.random((H, S, A)),
                            rng.dirichlet(np.ones(S)))


def random_policy(rng, H, S, A, alpha=1.0):
    return rng.dirichlet(np.full(A, alpha), size=(H, S))


# ------------------------------------------------------------------------------ BC, exact KL
def test_tabular_bc_is_the_add_kappa_closed_form():
    s = np.array([[0, 1, 1], [0, 0, 1]])          # (N, H + 1) with H = 2
    a = np.array([[1, 0], [1, 1]])
    pi = dr.behavior_cloning(Dataset(s, a, np.zeros((2, 2))), S=3, A=2, kappa=0.5)
    assert pi.shape == (2, 3, 2)
    np.testing.assert_allclose(pi[0, 0], [(0 + 0.5) / 3.0, (2 + 0.5) / 3.0])   # N_0(0) = 2
    np.testing.assert_allclose(pi[1, 1], [(1 + 0.5) / 2.0, (0 + 0.5) / 2.0])   # N_1(1) = 1
    np.testing.assert_allclose(pi[1, 0], [(0 + 0.5) / 2.0, (1 + 0.5) / 2.0])
    np.testing.assert_allclose(pi[0, 2], [0.5, 0.5])                           # unvisited
    np.testing.assert_allclose(pi.sum(-1), 1.0)
    # (s, a) pairs and (N, H) state arrays are accepted too
    np.testing.assert_array_equal(dr.behavior_cloning((s[:, :2], a), 3, 2, kappa=0.5), pi)


def test_bc_converges_to_the_expert():
    mdp = random_mdp(0, H=3, S=3, A=3)
    piE = random_policy(np.random.default_rng(1), 3, 3, 3)
    D = collect(mdp, piE, 20000, rng=2)
    kls = [dr.trajectory_kl(mdp, piE, dr.behavior_cloning(D.head(n), 3, 3)) for n in
           (100, 20000)]
    assert kls[1] < kls[0] / 20 and kls[1] < 2e-3


def test_trajectory_kl_equals_kl_of_trajectory_distributions():
    mdp = random_mdp(3, H=3, S=2, A=2)
    rng = np.random.default_rng(4)
    pi, ref = random_policy(rng, 3, 2, 2), random_policy(rng, 3, 2, 2)
    P, rho0 = mdp.P, mdp.rho0

    def prob(policy, traj):
        s, a = traj[0::2], traj[1::2]
        p = rho0[s[0]]
        for h in range(3):
            p *= policy[h, s[h], a[h]] * (P[h, s[h], a[h], s[h + 1]] if h < 2 else 1.0)
        return p

    kl = 0.0                                           # brute force over (s0 a0 s1 a1 s2 a2)
    for traj in itertools.product(range(2), repeat=6):
        p, q = prob(pi, traj), prob(ref, traj)
        if p > 0:
            kl += p * np.log(p / q)
    assert dr.trajectory_kl(mdp, pi, ref) == pytest.approx(kl, rel=1e-10, abs=1e-13)


def test_trajectory_kl_gives_the_soft_value_identity_and_inf_off_support():
    mdp = random_mdp(5)
    rng = np.random.default_rng(6)
    pi, ref = random_policy(rng, 3, 3, 2), random_policy(rng, 3, 3, 2)
    lam = 0.7
    lhs = soft_evaluate_policy(mdp, pi, ref, lam).value(mdp.rho0)
    rhs = evaluate_finite_policy(mdp, pi).value(mdp.rho0) - lam * dr.trajectory_kl(mdp, pi, ref)
    assert lhs == pytest.approx(rhs, abs=1e-12)
    det = np.zeros((3, 3, 2))
    det[..., 0] = 1.0
    assert dr.trajectory_kl(mdp, det, det) == 0.0
    assert dr.trajectory_kl(mdp, ref, det) == np.inf


def test_expert_with_gap_hits_the_gap():
    mdp = random_mdp(7, H=4, S=4, A=3)
    v_star = backward_induction(mdp).value(mdp.rho0)
    pi, tau = dr.expert_with_gap(mdp, 0.05)
    assert tau > 0
    assert v_star - evaluate_finite_policy(mdp, pi).value(mdp.rho0) == pytest.approx(0.05,
                                                                                     rel=1e-4)
    pi0, tau0 = dr.expert_with_gap(mdp, 0.0)
    assert tau0 == 0.0 and evaluate_finite_policy(mdp, pi0).value(mdp.rho0) == \
        pytest.approx(v_star)
    with pytest.raises(ValueError, match="not below the uniform policy"):
        dr.expert_with_gap(mdp, 100.0)


def test_linear_bc_recovers_a_softmax_linear_expert():
    lm = envs.random_linear_mdp(6, 3, 3, 2, rng=0)
    theta = np.random.default_rng(1).normal(size=(2, 3)) * 2.0
    piE = dr.softmax_linear_policy(lm.phi, theta)
    D = collect(lm, piE, 20000, rng=2)
    bc = dr.linear_behavior_cloning(D, lm.phi, ridge=1e-6)
    assert bc.converged and bc.gamma_s == pytest.approx(1 / 20000)
    np.testing.assert_allclose(bc.theta - bc.theta.mean(1, keepdims=True),
                               theta - theta.mean(1, keepdims=True), atol=0.25)
    small = dr.linear_behavior_cloning(D.head(50), lm.phi)
    assert dr.trajectory_kl(lm, piE, bc.pi) < dr.trajectory_kl(lm, piE, small.pi) / 20
    assert small.gamma_s == pytest.approx(0.02)
    # the fitted theta is a stationary point of the regularised log-likelihood
    n = np.zeros((2, 6, 3))
    kdr.bc_counts(D.s, D.a, n)
    p = dr.softmax_linear_policy(lm.phi, bc.theta)
    grad = (np.einsum("hs,hsa,sad->hd", n.sum(-1), p, lm.phi)
            - np.einsum("hsa,sad->hd", n, lm.phi) + 1e-6 * bc.theta)
    assert np.abs(grad).max() < 1e-5 * 20000


def test_lambda_schedule_formula():
    assert dr.lambda_schedule(0.3, 100, H=5, S=4, A=3) == pytest.approx(0.3 * 100 / (3 * 60))
    assert dr.lambda_schedule(0.3, 100, H=5, d=4, c_lambda=2.0) == pytest.approx(
        2 * 0.3 * 100 / (3 * 20))


# ------------------------------------------------------------------------ soft optimistic plan
def test_plan_without_bonus_is_the_exact_soft_solver():
    mdp = random_mdp(8, H=4, S=4, A=3)
    ref = random_policy(np.random.default_rng(9), 4, 4, 3)
    for lam in (0.05, 1.0, 30.0):
        V, Q, pi = dr.regularized_plan(mdp.P, mdp.r, ref, lam)
        sol = soft_backward_induction(mdp, ref, lam)
        np.testing.assert_allclose(V, sol.V, atol=1e-12)
        np.testing.assert_allclose(Q, sol.Q, atol=1e-12)
        np.testing.assert_allclose(pi, sol.pi, atol=1e-12)


def _numpy_plan(P, r, visited, bonus, ref, lam, v_max):
    H, S, A, _ = P.shape
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    pi = np.empty((H, S, A))
    for h in range(H - 1, -1, -1):
        q = np.minimum(v_max[h], r[h] + bonus[h] + P[h] @ V[h + 1])
        Q[h] = np.where(visited[h] > 0, q, v_max[h])
        m = Q[h].max(-1, keepdims=True)
        w = ref[h] * np.exp((Q[h] - m) / lam)
        V[h] = m[:, 0] + lam * np.log(w.sum(-1))
        pi[h] = w / w.sum(-1, keepdims=True)
    return V, Q, pi


def test_clipped_optimistic_plan_matches_a_numpy_twin_and_its_python_kernel():
    rng = np.random.default_rng(10)
    H, S, A = 4, 5, 3
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    r = rng.random((H, S, A))
    bonus = 2.0 * rng.random((H, S, A))
    visited = (rng.random((H, S, A)) < 0.7).astype(float)
    ref = random_policy(rng, H, S, A)
    v_max = (H - np.arange(H)).astype(float)
    twin = _numpy_plan(P, r, visited, bonus, ref, 0.3, v_max)
    outs = []
    for fn in (kdr.optimistic_soft_plan, kdr.optimistic_soft_plan.py_func):
        V, Q, pi = np.zeros((H + 1, S)), np.empty((H, S, A)), np.empty((H, S, A))
        fn(P, r, visited, bonus, ref, 0.3, v_max, V, Q, pi, np.empty((H, S, A)))
        outs.append((V, Q, pi))
    for V, Q, pi in outs:
        np.testing.assert_allclose(V, twin[0], atol=1e-12)
        np.testing.assert_allclose(Q, twin[1], atol=1e-12)
        np.testing.assert_allclose(pi, twin[2], atol=1e-12)
    assert np.all(outs[0][1] <= v_max[:, None, None] + 1e-12)
    assert np.any(outs[0][1] == v_max[:, None, None])          # the clip is active somewhere


def test_lam_zero_is_the_limit_of_the_soft_backup():
    mdp = random_mdp(11, H=3, S=4, A=3)
    ref = random_policy(np.random.default_rng(12), 3, 4, 3)
    V0, _, pi0 = dr.regularized_plan(mdp.P, mdp.r, ref, 0.0)
    np.testing.assert_allclose(V0, backward_induction(mdp).V, atol=1e-12)
    Vs, _, pis = dr.regularized_plan(mdp.P, mdp.r, ref, 1e-4)
    np.testing.assert_allclose(Vs, V0, atol=1e-2)
    np.testing.assert_allclose(pis, pi0, atol=1e-6)
    # ties are broken by the reference: all-equal Q gives pi = ref
    flat = FiniteHorizonMDP(mdp.P, np.zeros((3, 4, 3)), mdp.rho0)
    _, _, pi_t = dr.regularized_plan(flat.P, flat.r, ref, 0.0)
    np.testing.assert_allclose(pi_t, ref, atol=1e-15)
    V_opt, pi_opt = dr.regularized_optimum(mdp, ref, 0.0)
    np.testing.assert_allclose(V_opt, V0)
    np.testing.assert_allclose(pi_opt, pi0)


def test_kernels_equal_their_python_versions():
    rng = np.random.default_rng(13)
    H, S, A, d, N = 3, 4, 3, 2, 6
    s = rng.integers(0, S, size=(N, H + 1))
    a = rng.integers(0, A, size=(N, H))
    outs = [np.zeros((H, S, A)), np.zeros((H, S, A))]
    kdr.bc_counts(s, a, outs[0])
    kdr.bc_counts.py_func(s, a, outs[1])
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0].sum(), N * H)
    pis = [np.empty((H, S, A)), np.empty((H, S, A))]
    kdr.bc_policy(outs[0], 0.7, pis[0])
    kdr.bc_policy.py_func(outs[0], 0.7, pis[1])
    np.testing.assert_allclose(pis[0], pis[1])
    w = [np.empty((H, S, A)), np.empty((H, S, A))]
    kdr.confidence_width(outs[0], 3.0, float(S), w[0])
    kdr.confidence_width.py_func(outs[0], 3.0, float(S), w[1])
    n = np.maximum(outs[0], 1.0)
    twin = np.minimum(2.0, np.sqrt(2 * (3.0 + S * np.log(8 * np.e * (n + 1))) / n))
    np.testing.assert_allclose(w[0], twin)
    np.testing.assert_allclose(w[1], twin)
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    vis = (outs[0] > 0).astype(float)
    c = rng.random((H, S, A))
    pi = random_policy(rng, H, S, A)
    dmax = dr.deviation_bounds(H)
    G = [np.empty((H, S, A)), np.empty((H, S, A))]
    w0 = [kdr.gap_certificate(P, vis, c, pi, dmax, G[0]),
          kdr.gap_certificate.py_func(P, vis, c, pi, dmax, G[1])]
    np.testing.assert_allclose(G[0], G[1])
    np.testing.assert_allclose(w0[0], w0[1])
    Gt = np.zeros((H + 1, S, A))                     # numpy twin of the certificate
    for h in range(H - 1, -1, -1):
        nxt = (pi[h + 1] * Gt[h + 1]).sum(-1) if h + 1 < H else np.zeros(S)
        Gt[h] = np.where(vis[h] > 0, np.minimum(dmax[h], c[h] + P[h] @ nxt), dmax[h])
    np.testing.assert_allclose(G[0], Gt[:H])
    phi = rng.dirichlet(np.ones(d), size=(S, A))
    Linv = np.stack([np.linalg.inv(np.eye(d) + np.outer(x, x)) for x in rng.random((H, d))])
    M = rng.random((H, d, S))
    res = []
    for fn in (kdr.ridge_pseudo_kernel, kdr.ridge_pseudo_kernel.py_func):
        Pl, b = np.empty((H, S, A, S)), np.empty((H, S, A))
        fn(phi, Linv, M, 0.3, Pl, b)
        res.append((Pl, b))
    np.testing.assert_allclose(res[0][0], np.einsum("sad,hde,het->hsat", phi, Linv, M))
    np.testing.assert_allclose(res[0][1], np.stack([elliptical_bonus(phi, Linv[h], 0.3)
                                                    for h in range(H)]))
    np.testing.assert_allclose(res[1][0], res[0][0])
    np.testing.assert_allclose(res[1][1], res[0][1])
    e = [kdr.episode_elliptical_sum(phi, Linv, s[0], a[0]),
         kdr.episode_elliptical_sum.py_func(phi, Linv, s[0], a[0])]
    twin_e = sum(np.sqrt(phi[s[0, h], a[0, h]] @ Linv[h] @ phi[s[0, h], a[0, h]])
                 for h in range(H))
    np.testing.assert_allclose(e, [twin_e, twin_e])
    F = [np.zeros((N, H, d)), np.zeros((N, H, d))]
    kdr.linear_trajectory_features(s, a, phi, F[0])
    kdr.linear_trajectory_features.py_func(s, a, phi, F[1])
    np.testing.assert_array_equal(F[0], phi[s[:, :H], a])
    np.testing.assert_array_equal(F[1], F[0])
    p, q, wt = rng.dirichlet(np.ones(A), 5), rng.dirichlet(np.ones(A), 5), rng.random(5)
    twin_kl = float(wt @ (p * np.log(p / q)).sum(-1))
    assert kdr.row_kl(p, q, wt) == pytest.approx(twin_kl)
    assert kdr.row_kl.py_func(p, q, wt) == pytest.approx(twin_kl)


# ------------------------------------------------------------------------------ tabular solver
def test_tabular_solver_is_optimistic_and_its_certificate_bounds_the_regularized_gap():
    mdp = random_mdp(14, H=3, S=3, A=2)
    ref = random_policy(np.random.default_rng(15), 3, 3, 2)
    lam = 0.2
    sol = soft_backward_induction(mdp, ref, lam)
    L = dr.RegBPITabular(3, 2, 3, ref, lam, rho0=mdp.rho0)
    np.testing.assert_array_equal(L.policy(), ref)                # episode 1 plays pi~
    checks = []

    def cb(t, learner):
        if t % 500 == 0:
            gap = sol.value(mdp.rho0) - soft_evaluate_policy(mdp, learner.policy(), ref,
                                                             lam).value(mdp.rho0)
            checks.append((np.all(learner.V >= sol.V - 1e-9), learner.certificate >= gap - 1e-9,
                           gap))
        return False

    dr.run_episodes(L, mdp, 4000, rng=16, callback=cb, stop_on_certificate=False)
    assert all(c[0] for c in checks) and all(c[1] for c in checks)
    assert checks[-1][2] < checks[0][2] and checks[-1][2] < 0.05
    assert L.episodes == 4000 and L.stats.n_sa.sum() == 4000 * 3


def test_compiled_run_replays_the_python_learner_exactly():
    mdp = random_mdp(17, H=3, S=4, A=3)
    ref = random_policy(np.random.default_rng(18), 3, 4, 3)
    for lam, reward in ((0.1, None), (0.0, np.random.default_rng(19).random((3, 4, 3)))):
        L1 = dr.RegBPITabular(4, 3, 3, ref, lam, bonus_scale=0.3, reward=reward)
        tr = L1.run_compiled(mdp, 300, rng=20, checkpoints=[0, 1, 7, 300], eval_lam=0.5,
                             eval_ref=ref)
        L2 = dr.RegBPITabular(4, 3, 3, ref, lam, bonus_scale=0.3, reward=reward)
        seen = {0: (L2.policy().copy(), L2.certificate)}

        def cb(t, learner, seen=seen):
            if t in (1, 7, 300):
                seen[t] = (learner.policy().copy(), learner.certificate)

        dr.run_episodes(L2, mdp, 300, rng=20, callback=cb, stop_on_certificate=False)
        np.testing.assert_array_equal(L1.policy(), L2.policy())
        np.testing.assert_array_equal(L1.stats.n_sas, L2.stats.n_sas)
        v_star = backward_induction(mdp).value(mdp.rho0)
        v_lam = soft_backward_induction(mdp, ref, 0.5).value(mdp.rho0)
        for i, t in enumerate((0, 1, 7, 300)):
            pi, cert = seen[t]
            assert tr.gap[i] == pytest.approx(
                v_star - evaluate_finite_policy(mdp, pi).value(mdp.rho0), abs=1e-12)
            assert tr.reg_gap[i] == pytest.approx(
                v_lam - soft_evaluate_policy(mdp, pi, ref, 0.5).value(mdp.rho0), abs=1e-12)
            if t > 0:
                assert tr.certificate[i] == pytest.approx(cert, rel=1e-12)


def test_plan_step_kernel_equals_its_python_version():
    mdp = random_mdp(21, H=3, S=3, A=2)
    L = dr.RegBPITabular(3, 2, 3, np.full((3, 3, 2), 0.5), 0.3)
    dr.run_episodes(L, mdp, 20, rng=22, stop_on_certificate=False)
    st = L.stats
    outs = []
    for fn in (kdr.tabular_plan_step, kdr.tabular_plan_step.py_func):
        arrs = [np.zeros((4, 3))] + [np.empty((3, 3, 2)) for _ in range(7)]
        arrs[0][:3] = 0.0
        c = fn(st.n_sa, st.P_hat, st.r_hat, L.ref, 0.3, L.log_term, 3.0, 1.0, L.v_max,
               L.d_max, np.full(3, 1 / 3), arrs[5], arrs[6], arrs[7], arrs[0], arrs[1],
               arrs[2], arrs[3], arrs[4])
        outs.append((c, arrs))
    assert outs[0][0] == pytest.approx(outs[1][0])
    for x, y in zip(outs[0][1], outs[1][1]):
        np.testing.assert_allclose(x, y)


def test_demo_regularized_bpi_stops_on_the_certificate():
    mdp = random_mdp(23, H=3, S=3, A=2)
    piE = backward_induction(mdp).pi
    D = collect(mdp, piE, 50, rng=24)
    big = 3.0 * dr.deviation_bounds(3)[0]                    # eps / 3 >= certificate at once
    res = dr.demo_regularized_bpi(D, mdp, big, rng=25, max_episodes=50)
    assert res.stopped and res.episodes == 1 and res.certificate <= big / 3
    assert res.lam == pytest.approx(dr.lambda_schedule(big, 50, H=3, S=3, A=2))
    np.testing.assert_allclose(res.pi_bc, dr.behavior_cloning(D, 3, 2))
    res2 = dr.demo_regularized_bpi(D, mdp, 0.01, rng=25, max_episodes=30, lam=0.5)
    assert not res2.stopped and res2.episodes == 30 and res2.lam == 0.5
    calls = []
    res3 = dr.demo_regularized_bpi(D, mdp, 0.01, rng=25, max_episodes=30,
                                   callback=lambda t, L: calls.append(t) or t == 5)
    assert res3.episodes == 5 and calls == [1, 2, 3, 4, 5]


# ------------------------------------------------------------------------------- linear solver
def test_linear_solver_pseudo_kernel_is_the_ridge_regression():
    lm = envs.random_linear_mdp(5, 3, 3, 3, rng=26)
    ref = np.full((3, 5, 3), 1 / 3)
    L = dr.RegBPILinear(lm, ref, 0.1, K=100, ridge=1.0)
    D = collect(lm, ref, 40, rng=27)
    for ep in D:
        L.update(ep)
    V = np.random.default_rng(28).random(5)
    for h in range(3):
        Phi = lm.phi[D.s[:, h], D.a[:, h]]
        w = ridge_regression(Phi, V[D.s[:, h + 1]], 1.0)
        np.testing.assert_allclose(L.P_lin[h] @ V, lm.phi @ w, atol=1e-10)
        Linv = np.linalg.inv(Phi.T @ Phi + np.eye(3))
        np.testing.assert_allclose(L.bonus[h], elliptical_bonus(lm.phi, Linv, L.beta),
                                   atol=1e-10)
    assert L.beta == pytest.approx(0.1 * 3 * 3 * np.sqrt(np.log(2 * 3 * 3 * 100 / 0.1)))
    assert np.all(L.Q <= (3 - np.arange(3))[:, None, None] + 1e-12)


def test_linear_demo_regularized_bpi_improves_on_bc():
    lm = envs.random_linear_mdp(8, 3, 3, 3, rng=29)
    fin = lm.to_finite()
    piE, _ = dr.expert_with_gap(lm, 0.02)
    D = collect(lm, piE, 30, rng=30)
    v_star = backward_induction(fin).value(fin.rho0)
    res = dr.demo_regularized_bpi(D, lm, 0.05, rng=31, linear=True, max_episodes=1500,
                                  lam=0.02)
    gap_bc = v_star - evaluate_finite_policy(fin, res.pi_bc).value(fin.rho0)
    gap = v_star - evaluate_finite_policy(fin, res.policy).value(fin.rho0)
    assert gap < gap_bc
    with pytest.raises(TypeError, match="needs a LinearMDP"):
        dr.demo_regularized_bpi(D, fin, 0.05, rng=0, linear=True)


# ------------------------------------------------------------------------------------- RLHF
def test_bradley_terry_recovers_within_step_reward_differences():
    mdp = FiniteHorizonMDP(np.full((2, 2, 2, 2), 0.5),
                           np.array([[[0.1, 0.9], [0.5, 0.3]], [[0.8, 0.2], [0.6, 0.4]]]),
                           np.array([0.5, 0.5]))
    prefs = dr.collect_preferences(mdp, np.full((2, 2, 2), 0.5), 20000, rng=32)
    rm = dr.fit_bradley_terry(prefs, 2, 2)
    assert rm.converged and rm.r_hat.shape == (2, 2, 2)
    for h in range(2):
        np.testing.assert_allclose(rm.r_hat[h] - rm.r_hat[h].mean(),
                                   mdp.r[h] - mdp.r[h].mean(), atol=0.08)
    assert rm.coverage.sum() == 2 * 20000 * 2
    # the linear fit with one-hot features is the tabular fit
    phi = np.eye(4).reshape(2, 2, 4)
    rm_lin = dr.fit_bradley_terry(prefs.head(3000), 2, 2, phi=phi)
    rm_tab = dr.fit_bradley_terry(prefs.head(3000), 2, 2)
    np.testing.assert_allclose(rm_lin.r_hat, rm_tab.r_hat, atol=1e-4)


def test_rlhf_pipeline_regularization_limits_overoptimization():
    mdp = random_mdp(33, H=3, S=4, A=3)
    piE = backward_induction(mdp).pi
    D = collect(mdp, piE, 300, rng=34)
    prefs = dr.collect_preferences(mdp, dr.behavior_cloning(D, 4, 3), 200, rng=35)
    res0 = dr.rlhf_pipeline(D, mdp, 200, rng=36, lam=0.0, preferences=prefs)
    res1 = dr.rlhf_pipeline(D, mdp, 200, rng=36, lam=1e6, preferences=prefs)
    np.testing.assert_allclose(res1.policy, res0.pi_bc, atol=1e-4)   # huge lam: pi = pi^BC
    _, pi_greedy = dr.regularized_optimum(FiniteHorizonMDP(mdp.P, res0.r_hat, mdp.rho0),
                                          res0.pi_bc, 0.0)
    np.testing.assert_allclose(res0.policy, pi_greedy)
    res2 = dr.rlhf_pipeline(D, mdp, 200, rng=36, lam=0.3, solver="online", episodes=50,
                            preferences=prefs, bonus_scale=0.1)
    assert res2.episodes == 50 and res2.policy.shape == (3, 4, 3)
    with pytest.raises(ValueError, match="solver must be"):
        dr.rlhf_pipeline(D, mdp, 10, rng=0, lam=0.1, solver="magic")


# ------------------------------------------------------------------------------- bad input
def test_bad_demonstrations_raise_clear_errors():
    s = np.zeros((2, 4), dtype=int)
    a = np.zeros((2, 3), dtype=int)
    with pytest.raises(ValueError, match=r"no trajectories \(N\^E = 0\)"):
        dr.behavior_cloning((np.zeros((0, 4), int), np.zeros((0, 3), int)), 2, 2)
    with pytest.raises(TypeError, match="must be a Dataset"):
        dr.behavior_cloning([1, 2, 3], 2, 2)
    with pytest.raises(TypeError, match=r"demonstrations.a must hold integer actions"):
        dr.behavior_cloning((s, np.full((2, 3), 0.5)), 2, 2)
    with pytest.raises(ValueError, match=r"demonstrations.a\[1, 2\] is 2, expected an? "
                                         r"action in \[0, 2\)"):
        dr.behavior_cloning((s, np.array([[0, 0, 0], [0, 1, 2]])), 2, 2)
    with pytest.raises(ValueError, match=r"demonstrations.s\[0, 1\] is 5, expected a state"):
        dr.behavior_cloning((np.array([[0, 5, 0, 0], [0, 0, 0, 0]]), a), 2, 2)
    with pytest.raises(ValueError, match="has 2 trajectories but demonstrations.a has 3"):
        dr.behavior_cloning((s, np.zeros((3, 3), int)), 2, 2)
    with pytest.raises(ValueError, match=r"must have H \+ 1 = 4"):
        dr.behavior_cloning((np.zeros((2, 6), int), a), 2, 2)
    with pytest.raises(ValueError, match="3 steps per trajectory, expected H = 2"):
        dr.behavior_cloning((s, a), 2, 2, H=2)
    with pytest.raises(ValueError, match="must be a 2-D array"):
        dr.behavior_cloning((s, np.zeros(3, int)), 2, 2)
    with pytest.raises(ValueError, match="kappa must be > 0"):
        dr.behavior_cloning((s, a), 2, 2, kappa=0.0)
    with pytest.raises(ValueError, match="ridge must be > 0"):
        dr.linear_behavior_cloning((s, a), np.full((2, 2, 2), 0.5), ridge=0.0)


def test_negative_lambda_and_other_bad_parameters_raise():
    ref = np.full((2, 2, 2), 0.5)
    with pytest.raises(ValueError, match="lam must be >= 0.0, got -0.1"):
        dr.RegBPITabular(2, 2, 2, ref, -0.1)
    with pytest.raises(ValueError, match="lam must be >= 0.0"):
        dr.regularized_plan(np.full((2, 2, 2, 2), 0.5), np.zeros((2, 2, 2)), ref, -1.0)
    lm = envs.random_linear_mdp(2, 2, 2, 2, rng=0)
    with pytest.raises(ValueError, match="lam must be >= 0.0"):
        dr.RegBPILinear(lm, ref, -2.0, K=10)
    with pytest.raises(ValueError, match="lam must be >= 0.0"):
        dr.rlhf_pipeline((np.zeros((1, 3), int), np.zeros((1, 2), int)), lm, 5, rng=0,
                         lam=-1.0)
    with pytest.raises(ValueError, match="eps must be > 0"):
        dr.lambda_schedule(0.0, 10, H=2, S=2, A=2)
    with pytest.raises(ValueError, match="needs S and A"):
        dr.lambda_schedule(0.1, 10, H=2)
    with pytest.raises(ValueError, match=r"ref_policy\[0, 1\] sums to"):
        dr.RegBPITabular(2, 2, 2, np.array([[[0.5, 0.5], [0.5, 0.6]]] * 2), 0.1)
    with pytest.raises(ValueError, match=r"reward must have shape \(2, 2, 2\)"):
        dr.RegBPITabular(2, 2, 2, ref, 0.1, reward=np.zeros(3))
    with pytest.raises(ValueError, match="checkpoints must lie in"):
        dr.RegBPITabular(2, 2, 2, ref, 0.1).run_compiled(random_mdp(0, 2, 2, 2), 5, rng=0,
                                                         checkpoints=[9])


def test_bad_preferences_raise_clear_errors():
    s = np.zeros((3, 3), int)
    a = np.zeros((3, 2), int)
    good = dr.Preferences(s, a, s, a, np.array([0, 1, 1]))
    dr.validate_preferences(good, 2, 2)
    with pytest.raises(ValueError, match=r"preferences.s1 has 2 trajectories but "
                                         r"preferences.o has 3 labels"):
        dr.validate_preferences(dr.Preferences(s, a, s[:2], a[:2], good.o), 2, 2)
    with pytest.raises(ValueError, match=r"preferences\[1\].a has 3 steps per trajectory, "
                                         r"expected H = 2"):
        dr.validate_preferences(dr.Preferences(s, a, np.zeros((3, 4), int),
                                               np.zeros((3, 3), int), good.o), 2, 2)
    with pytest.raises(ValueError, match=r"preferences.o\[2\] is 2, expected a label 0 or 1"):
        dr.validate_preferences(dr.Preferences(s, a, s, a, np.array([0, 1, 2])), 2, 2)
    with pytest.raises(ValueError, match="hold no pairs"):
        dr.validate_preferences(dr.Preferences(s, a, s, a, np.array([], int)), 2, 2)
    with pytest.raises(TypeError, match="must have fields s0, a0, s1, a1, o"):
        dr.fit_bradley_terry(object(), 2, 2)


def test_bounds_of_the_module():
    # E[KL] bound: (kappa A - 1) support / (N + 1); NaN where kappa < 1
    assert bdr.bc_kl_expected_bound(10, 3, 9) == pytest.approx(2 * 10 / 10)
    assert np.isnan(bdr.bc_kl_expected_bound(10, 3, 9, kappa=0.5))
    assert bdr.reduction_bound(0.1, 2.0, 0.3, 0.05) == pytest.approx(0.75)
    n = bdr.demo_bpi_tabular(5, 3, 4, np.array([0.1, 0.2]), np.array([10, 10]))
    assert n[0] / n[1] == pytest.approx(4.0)
    assert bdr.bc_kl_heuristic(4, 3, 5, 100, expert="stochastic") == pytest.approx(0.2)
    with pytest.raises(ValueError, match="expert must be"):
        bdr.bc_kl_heuristic(4, 3, 5, 100, expert="other")


def test_solvers_run_under_the_shared_online_driver():
    from mdptheory.runner import online
    mdp = random_mdp(40, H=3, S=3, A=2)
    ref = np.full((3, 3, 2), 0.5)
    df = online(dr.RegBPITabular(3, 2, 3, ref, 0.2, bonus_scale=0.1), mdp, 300, rng=41,
                checkpoints=[1, 100, 300])
    assert list(df["k"]) == [1, 100, 300] and {"certificate", "lam"} <= set(df.columns)
    assert np.all(np.diff(df["regret"]) >= -1e-12)
    lm = envs.random_linear_mdp(4, 2, 2, 3, rng=42)
    df = online(dr.RegBPILinear(lm, np.full((3, 4, 2), 0.5), 0.2, K=50), lm, 50, rng=43,
                checkpoints=[50])
    assert df["k"].iloc[0] == 50 and np.isfinite(df["certificate"].iloc[0])


# ------------------------------------------------------------- noisy rewards: the reward bonus
def test_bernoulli_rewards_are_zero_one_with_the_right_means():
    mdp = random_mdp(40, H=2, S=2, A=2)
    ref = np.full((2, 2, 2), 0.5)
    L = dr.RegBPITabular(2, 2, 2, ref, 0.0, reward_bonus=True)
    dr.run_episodes(L, mdp, 6000, rng=41, stop_on_certificate=False, bernoulli_rewards=True)
    st = L.stats
    frac = st.r_sum / np.maximum(st.n_sa, 1)
    # a 0/1 reward: r_sum counts successes, so each sum is an integer
    np.testing.assert_array_equal(st.r_sum, np.round(st.r_sum))
    visited = st.n_sa > 200
    assert visited.sum() >= 4
    # Hoeffding at 5 sigma-ish: the empirical success rate is near the Bernoulli mean
    tol = np.sqrt(np.log(2e6) / (2 * np.maximum(st.n_sa, 1)))
    assert np.all(np.abs(frac - mdp.r)[visited] <= tol[visited])


def test_reward_bonus_is_the_hoeffding_width_added_to_the_mean_reward():
    mdp = random_mdp(42, H=3, S=3, A=2)
    ref = random_policy(np.random.default_rng(43), 3, 3, 2)
    lam, delta, scale = 0.2, 0.1, 0.5
    L = dr.RegBPITabular(3, 2, 3, ref, lam, delta=delta, bonus_scale=scale, reward_bonus=True,
                         rho0=mdp.rho0)
    dr.run_episodes(L, mdp, 300, rng=44, stop_on_certificate=False, bernoulli_rewards=True)
    n = L.stats.n_sa
    b_r = np.where(n > 0, scale * np.minimum(1.0, np.sqrt(2.0 * np.log(3 * 3 * 2 * 3 / delta)
                                                          / np.maximum(n, 1))), 0.0)
    np.testing.assert_allclose(L.reward_bonus_array(), b_r, rtol=1e-14, atol=0)
    # the plan equals the optimistic soft backup with reward r_hat + b^r (explicit arrays)
    _, Q, pi = dr.regularized_plan(L.stats.P_hat, L.stats.r_hat + b_r, ref, lam,
                                   bonus=L.bonus, visited=(n > 0).astype(float))
    np.testing.assert_allclose(L.Q, Q, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(L.policy(), pi, rtol=1e-12, atol=1e-12)
    # without the reward bonus the plan uses r_hat itself: strictly smaller Q somewhere
    L0 = dr.RegBPITabular(3, 2, 3, ref, lam, delta=delta, bonus_scale=scale, rho0=mdp.rho0)
    dr.run_episodes(L0, mdp, 300, rng=44, stop_on_certificate=False, bernoulli_rewards=True)
    assert np.all(L0.Q <= L.Q + 1e-12) and np.any(L0.Q < L.Q - 1e-6)
    # the certificate: a plain numpy recursion with per-pair term 2 b + scale D_{h+1} width
    # + 2 b^r, clipped at D_h, evaluated under pi from rho0
    H, S = 3, 3
    d_max = dr.deviation_bounds(H)
    G = np.zeros((H + 1, S, 2))
    for h in range(H - 1, -1, -1):
        nxt = (L.policy()[h + 1] * G[h + 1]).sum(-1) if h + 1 < H else np.zeros(S)
        c = 2 * L.bonus[h] + scale * d_max[h + 1] * L.width[h] + 2 * b_r[h]
        G[h] = np.where(n[h] > 0, np.minimum(d_max[h], c + L.stats.P_hat[h] @ nxt), d_max[h])
    cert = float(mdp.rho0 @ (L.policy()[0] * G[0]).sum(-1))
    assert L.certificate == pytest.approx(cert, rel=1e-12)
    assert L.certificate > L0.certificate


def test_reward_bonus_keeps_optimism_and_the_certificate_under_noisy_rewards():
    mdp = random_mdp(45, H=3, S=3, A=2)
    ref = random_policy(np.random.default_rng(46), 3, 3, 2)
    lam = 0.2
    sol = soft_backward_induction(mdp, ref, lam)
    L = dr.RegBPITabular(3, 2, 3, ref, lam, rho0=mdp.rho0, reward_bonus=True)
    checks = []

    def cb(t, learner):
        if t % 400 == 0:
            gap = sol.value(mdp.rho0) - soft_evaluate_policy(mdp, learner.policy(), ref,
                                                             lam).value(mdp.rho0)
            checks.append((np.all(learner.V >= sol.V - 1e-9), learner.certificate >= gap - 1e-9,
                           gap))
        return False

    dr.run_episodes(L, mdp, 4000, rng=47, callback=cb, stop_on_certificate=False,
                    bernoulli_rewards=True)
    assert all(c[0] for c in checks) and all(c[1] for c in checks)
    assert checks[-1][2] < checks[0][2]


def test_reward_bonus_bad_uses_raise():
    ref = np.full((2, 2, 2), 0.5)
    with pytest.raises(ValueError, match="reward_bonus"):
        dr.RegBPITabular(2, 2, 2, ref, 0.1, reward=np.zeros((2, 2, 2)), reward_bonus=True)
    with pytest.raises(TypeError, match="reward_bonus"):
        dr.RegBPITabular(2, 2, 2, ref, 0.1, reward_bonus="yes")
    L = dr.RegBPITabular(2, 2, 2, ref, 0.1, reward_bonus=True)
    with pytest.raises(ValueError, match="reward_bonus"):
        L.run_compiled(random_mdp(48, H=2, S=2, A=2), 10, rng=0)
    with pytest.raises(TypeError, match="bernoulli_rewards"):
        dr.run_episodes(L, random_mdp(48, H=2, S=2, A=2), 5, rng=0, bernoulli_rewards=1)
