"""Numba kernels of demonstration-regularized RL (Tiapkin et al., ICLR 2024;
docs/papers/demo_regularized.md): behaviour-cloning counts, the optimistic
KL-regularized backup (UCBVI-Ent+-style) built on
:func:`mdptheory.kernels.backward.soft_backward_induction`, the gap certificate and the
Bradley–Terry trajectory features.

Plain arrays in, results in ``*_out`` arrays, no validation (the callers in
:mod:`mdptheory.algorithms.demo_regularized` check their inputs). Steps h = 0..H-1.

Shapes
------
=============  ===============  ============================================================
name           shape            meaning
=============  ===============  ============================================================
s, a           (N, H+1), (N, H) demonstrations (states may also be (N, H): only s[:, :H] read)
n_sa           (H, S, A)        counts N_h(s, a) of the demonstrations (float64)
P_hat          (H, S, A, S)     empirical kernel, or any signed "pseudo-kernel" (the ridge
                                kernel phi Lambda^{-1} M of the linear solver)
r              (H, S, A)        rewards of the backup (known r, or r_hat of RLHF)
visited        (H, S, A)        1.0 where the pair has data (Q from the backup), 0.0 where it
                                has none (Q set to the cap v_max[h])
bonus          (H, S, A)        optimism bonus b_h(s, a)
ref            (H, S, A)        reference policy pi~ (the BC policy); rows sum to 1
v_max          (H,)             cap of Q_h (H - h for rewards in [0, 1])
V_out          (H + 1, S)       V_out[H] preset (0) by the caller
Q_out, pi_out  (H, S, A)
r_eff          (H, S, A)        work array: the reward that makes the unclipped backup clip
=============  ===============  ============================================================
"""
import numpy as np
from numba import njit

from . import backward as kb
from . import online as kon
from . import optimistic as ko


@njit(cache=True)
def bc_counts(s, a, n_out):
    """n_out[h, s_h, a_h] += 1 over all demonstrations: N_h(s, a) (n_out zeroed by caller)."""
    N, H = a.shape
    for i in range(N):
        for h in range(H):
            n_out[h, s[i, h], a[i, h]] += 1.0


@njit(cache=True)
def bc_policy(n_sa, kappa, pi_out):
    """Add-kappa smoothed MLE pi_h(a|s) = (N_h(s,a) + kappa) / (N_h(s) + kappa A);
    a state never visited at step h gets the uniform policy (also when kappa = 0)."""
    H, S, A = n_sa.shape
    for h in range(H):
        for s in range(S):
            tot = 0.0
            for a in range(A):
                tot += n_sa[h, s, a]
            den = tot + kappa * A
            if den > 0.0:
                for a in range(A):
                    pi_out[h, s, a] = (n_sa[h, s, a] + kappa) / den
            else:
                for a in range(A):
                    pi_out[h, s, a] = 1.0 / A


@njit(cache=True)
def confidence_width(n_sa, log_term, S, out):
    """out[h, s, a] = min(2, sqrt(2 beta(n) / n)), n = max(1, n_h(s, a)),
    beta(n) = log_term + S log(8 e (n + 1)) with log_term = log(3 S A H / delta) (
    KL(p_hat || p) <= beta / n w.h.p., so ||p_hat - p||_1 <= this width by Pinsker)."""
    H, S_, A = n_sa.shape
    for h in range(H):
        for s in range(S_):
            for a in range(A):
                n = max(1.0, n_sa[h, s, a])
                beta = log_term + S * np.log(8.0 * np.e * (n + 1.0))
                out[h, s, a] = min(2.0, np.sqrt(2.0 * beta / n))


@njit(cache=True)
def tie_policy(Q, ref, h, s, pi_out, tol):
    """lam -> 0 limit of the soft policy: pi(a) proportional to ref(a) on the maximisers of Q
    over supp(ref) (|Q - max| <= tol (1 + |max|)). Returns the max."""
    A = Q.shape[2]
    m = -np.inf
    for a in range(A):
        if ref[h, s, a] > 0.0 and Q[h, s, a] > m:
            m = Q[h, s, a]
    thr = tol * (1.0 + abs(m))
    z = 0.0
    for a in range(A):
        if ref[h, s, a] > 0.0 and Q[h, s, a] >= m - thr:
            pi_out[h, s, a] = ref[h, s, a]
            z += ref[h, s, a]
        else:
            pi_out[h, s, a] = 0.0
    for a in range(A):
        pi_out[h, s, a] /= z
    return m


@njit(cache=True)
def optimistic_soft_plan(P_hat, r, visited, bonus, ref, lam, v_max, V_out, Q_out, pi_out,
                         r_eff):
    """Optimistic KL-regularized backup, h = H-1..0:

        Q_h(s,a) = min(v_max[h], r_h(s,a) + P_hat_h(.|s,a) . V_{h+1} + b_h(s,a))  if visited,
                   v_max[h]                                                       otherwise;
        V_h(s)   = lam log sum_a ref_h(a|s) exp(Q_h(s,a) / lam),
        pi_h(a|s) = ref_h(a|s) exp((Q_h(s,a) - V_h(s)) / lam).

    The soft step is :func:`mdptheory.kernels.backward.soft_backward_induction` called on the
    one-step slice h with the reward r_eff = min(r + b, v_max - P_hat V_{h+1}) (visited) or
    v_max - P_hat V_{h+1} (not visited), which makes its unclipped backup return the clipped Q.
    lam = 0 is the lam -> 0 limit: V = max_a Q over supp(ref) and pi proportional to ref on the
    maximisers (ties within 1e-12 relative)."""
    H, S, A, _ = P_hat.shape
    for h in range(H - 1, -1, -1):
        cap = v_max[h]
        for s in range(S):
            for a in range(A):
                pv = 0.0
                for t in range(S):
                    pv += P_hat[h, s, a, t] * V_out[h + 1, t]
                if visited[h, s, a] > 0.0:
                    r_eff[h, s, a] = min(r[h, s, a] + bonus[h, s, a], cap - pv)
                else:
                    r_eff[h, s, a] = cap - pv
        if lam > 0.0:
            kb.soft_backward_induction(P_hat[h:h + 1], r_eff[h:h + 1], ref[h:h + 1], lam,
                                       V_out[h:h + 2], Q_out[h:h + 1], pi_out[h:h + 1])
        else:
            kb.backward_induction(P_hat[h:h + 1], r_eff[h:h + 1], V_out[h:h + 2],
                                  Q_out[h:h + 1])
            for s in range(S):
                V_out[h, s] = tie_policy(Q_out, ref, h, s, pi_out, 1e-12)


@njit(cache=True)
def gap_certificate(P_hat, visited, c, pi, d_max, G_out):
    """Certificate recursion (G_H = 0), h = H-1..0:

        G_h(s,a) = min(d_max[h], c_h(s,a) + sum_s' P_hat_h(s'|s,a) sum_a' pi_{h+1}(a'|s')
                   G_{h+1}(s',a'))  if visited, else d_max[h];

    c = the per-pair certificate bonus, d_max[h] the deterministic upper bound on
    Q_bar_h - Q^pi_{lam,h} (clipping there keeps G >= D). G_out (H, S, A)."""
    H, S, A, _ = P_hat.shape
    w = np.zeros(S)            # w[s'] = sum_a' pi_{h+1}(a'|s') G_{h+1}(s', a')
    for h in range(H - 1, -1, -1):
        for s in range(S):
            for a in range(A):
                if visited[h, s, a] > 0.0:
                    g = c[h, s, a]
                    for t in range(S):
                        g += P_hat[h, s, a, t] * w[t]
                    G_out[h, s, a] = min(d_max[h], g)
                else:
                    G_out[h, s, a] = d_max[h]
        for s in range(S):
            acc = 0.0
            for a in range(A):
                acc += pi[h, s, a] * G_out[h, s, a]
            w[s] = acc
    return w


@njit(cache=True)
def linear_trajectory_features(s, a, phi, out):
    """Linear trajectory features Phi(tau) = sum_h e_h (x) phi(s_h, a_h): out (N, H, d)."""
    N, H = a.shape
    d = phi.shape[2]
    for i in range(N):
        for h in range(H):
            for j in range(d):
                out[i, h, j] = phi[s[i, h], a[i, h], j]


@njit(cache=True)
def row_kl(p, q, w):
    """sum_rows w[row] KL(p[row] || q[row]) for p, q (R, A), w (R,); +inf when p > 0 = q on a
    row of positive weight; 0 log 0 = 0."""
    R, A = p.shape
    tot = 0.0
    for i in range(R):
        if w[i] == 0.0:
            continue
        k = 0.0
        for a in range(A):
            pa = p[i, a]
            if pa > 0.0:
                qa = q[i, a]
                if qa <= 0.0:
                    return np.inf
                k += pa * np.log(pa / qa)
        tot += w[i] * k
    return tot


@njit(cache=True)
def tabular_plan_step(n_sa, P_hat, r, ref, lam, log_term, S, scale, v_max, d_max, w0_weights,
                      width, bonus, visited, V_out, Q_out, pi_out, G_out, r_eff):
    """One re-plan of the tabular solver, fused: confidence widths, bonus
    b = scale (H - h - 1) width, the optimistic soft backup (:func:`optimistic_soft_plan`) and
    the certificate (:func:`gap_certificate`) with c = 2 b + scale d_max[h + 1] width.
    Returns sum_s w0_weights[s] sum_a pi_0(a|s) G_0(s, a)."""
    H, S_, A = n_sa.shape
    confidence_width(n_sa, log_term, S, width)
    for h in range(H):
        f = scale * (H - h - 1.0)
        for s in range(S_):
            for a in range(A):
                bonus[h, s, a] = f * width[h, s, a]
                visited[h, s, a] = 1.0 if n_sa[h, s, a] > 0.0 else 0.0
    optimistic_soft_plan(P_hat, r, visited, bonus, ref, lam, v_max, V_out, Q_out, pi_out, r_eff)
    for h in range(H):
        f = scale * d_max[h + 1]
        for s in range(S_):
            for a in range(A):
                r_eff[h, s, a] = 2.0 * bonus[h, s, a] + f * width[h, s, a]   # c_h(s, a)
    w = gap_certificate(P_hat, visited, r_eff, pi_out, d_max, G_out)
    tot = 0.0
    for s in range(S_):
        tot += w0_weights[s] * w[s]
    return tot


@njit(cache=True)
def _bpi_update(s_ep, a_ep, r_ep, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, n_s0, w0,
                rho_cert, use_rho_cert, rw, ref, lam, log_term, S_f, scale, v_max, d_max, width,
                bonus, visited, V, Q, pi, G, r_eff):
    """One update of the tabular solver, what :meth:`RegBPITabular.update` does: add the episode
    to the counts (:func:`mdptheory.kernels.optimistic.record_episode`) and to the initial-state
    counts n_s0, set the certificate weights w0 (rho_cert, or n_s0 / sum n_s0) and re-plan
    (:func:`tabular_plan_step`, rewards rw); returns the certificate."""
    ko.record_episode(s_ep, a_ep, r_ep, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ)
    n_s0[s_ep[0]] += 1.0
    S = n_s0.shape[0]
    tot = 0.0
    for s in range(S):
        tot += n_s0[s]
    for s in range(S):
        w0[s] = rho_cert[s] if use_rho_cert else n_s0[s] / tot
    return tabular_plan_step(n_sa, P_hat, rw, ref, lam, log_term, S_f, scale, v_max, d_max, w0,
                             width, bonus, visited, V, Q, pi, G, r_eff)


@njit(cache=True)
def tabular_bpi_run(P, r, rho0, U, ref, lam, log_term, S_f, scale, v_max, d_max, rho_cert,
                    use_rho_cert, reward, use_reward, checkpoints, eval_lam, eval_ref,
                    n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, n_s0,
                    V, Q, pi, G, width, bonus, visited, r_eff,
                    val_out, reg_out, cert_out):
    """The whole online loop of the tabular solver in one kernel: for t = 1..K (K = U.shape[0])
    roll out the current policy with the uniforms U[t - 1] (the runner's order, 2 H + 1 per
    episode, :func:`mdptheory.kernels.online.sample_episode`) and update (:func:`_bpi_update`).
    At each checkpoint c (sorted, in [0, K]; c = 0 is the initial
    policy) record, for the policy the learner holds *after* c episodes, its exact value
    rho0 . V^pi_0 (val_out), its exact regularized value rho0 . V^pi_{eval_lam,0} towards
    eval_ref (reg_out; the plain value when eval_lam = 0) and the certificate (cert_out).
    pi holds the initial policy on entry; the count/model arrays are the learner's state
    (zeroed by the caller); rw = ``reward`` if ``use_reward`` else the empirical r_hat;
    certificate weights rho_cert if ``use_rho_cert`` else the empirical initial states."""
    H, S, A, _ = P.shape
    K = U.shape[0]
    s_ep = np.empty(H + 1, dtype=np.int64)
    a_ep = np.empty(H, dtype=np.int64)
    r_ep = np.empty(H)
    Vw = np.zeros((H + 1, S))
    Qw = np.empty((H, S, A))
    w0 = np.zeros(S)
    rw = reward if use_reward else r_hat
    ci = 0
    n_c = checkpoints.shape[0]
    cert = d_max[0]
    for t in range(K + 1):
        if t > 0:
            kon.sample_episode(P, r, pi, rho0, U[t - 1], False, s_ep, a_ep, r_ep)
            cert = _bpi_update(s_ep, a_ep, r_ep, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ,
                               n_succ, n_s0, w0, rho_cert, use_rho_cert, rw, ref, lam, log_term,
                               S_f, scale, v_max, d_max, width, bonus, visited, V, Q, pi, G,
                               r_eff)
        while ci < n_c and checkpoints[ci] == t:
            v = 0.0
            Vw[H, :] = 0.0
            kb.evaluate_policy(P, r, pi, Vw, Qw)
            for s in range(S):
                v += rho0[s] * Vw[0, s]
            val_out[ci] = v
            if eval_lam > 0.0:
                kb.soft_evaluate_policy(P, r, pi, eval_ref, eval_lam, Vw, Qw)
                v = 0.0
                for s in range(S):
                    v += rho0[s] * Vw[0, s]
            reg_out[ci] = v
            cert_out[ci] = cert
            ci += 1


@njit(cache=True)
def tabular_bpi_episodes(truth, tally, U, bernoulli_rewards, ref, lam, log_term, S_f, scale,
                         v_max, d_max, rho_cert, use_rho_cert, reward, use_reward, n_sa, n_sas,
                         r_sum, n_s, P_hat, r_hat, succ, n_succ, n_s0, V, Q, pi, G, width,
                         bonus, visited, r_eff, kinds, pkeys, act_work, s_ep, a_ep, r_ep, w0):
    """U.shape[0] episodes of the tabular solver with the online driver's exact regret (its
    compiled loop, :mod:`mdptheory.runner.online`): per episode the exact value of the policy
    played through the driver's cache (:func:`mdptheory.kernels.online.tally_any_policy`), the
    episode (:func:`mdptheory.kernels.online.sample_episode`, 2 H + 1 or 3 H + 1 uniforms) and
    the update (:func:`_bpi_update`), the kernels of the generic loop in its order. ``truth``,
    ``tally``: :mod:`mdptheory.kernels.online`; kinds (C,) int8, pkeys (C, H, S, A), act_work
    (H, S) int64: the cache's scratch; s_ep, a_ep, r_ep, w0 (S,): scratch. The policy is
    re-planned after every episode, so it is looked up in the cache every episode (a policy
    equal to a cached one is not evaluated again). Returns the last certificate."""
    P, r, rho0, succ_t, n_succ_t, p_succ_t, reach, n_reach = truth
    acc, cnt, keys, hashes, vals, V_work, index = tally
    rw = reward if use_reward else r_hat
    cert = np.nan
    for i in range(U.shape[0]):
        if cnt[3] != 0:
            kon.tally_any_policy(P, r, rho0, succ_t, n_succ_t, p_succ_t, reach, n_reach, acc,
                                 cnt, keys, hashes, vals, V_work, index, pi, kinds, pkeys,
                                 act_work)
        acc[0] += acc[2] - acc[1]
        kon.sample_episode(P, r, pi, rho0, U[i], bernoulli_rewards, s_ep, a_ep, r_ep)
        cert = _bpi_update(s_ep, a_ep, r_ep, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ,
                           n_s0, w0, rho_cert, use_rho_cert, rw, ref, lam, log_term, S_f, scale,
                           v_max, d_max, width, bonus, visited, V, Q, pi, G, r_eff)
        cnt[3] = 1
    return cert


@njit(cache=True)
def ridge_pseudo_kernel(phi, Lambda_inv, M, beta, P_out, bonus_out):
    """Linear solver's model: P_out[h, s, a, s'] = phi(s,a)^T Lambda_h^{-1} M_h[:, s']
    (signed; P_out[h] . V = <phi, Lambda_h^{-1} sum_t phi_t V(s'_t)>) and the elliptical bonus
    bonus_out[h, s, a] = beta sqrt(phi(s,a)^T Lambda_h^{-1} phi(s,a)).
    phi (S, A, d), Lambda_inv (H, d, d), M (H, d, S)."""
    S, A, d = phi.shape
    H = Lambda_inv.shape[0]
    C = np.empty((d, S))
    u = np.empty(d)
    for h in range(H):
        for i in range(d):
            for t in range(S):
                acc = 0.0
                for j in range(d):
                    acc += Lambda_inv[h, i, j] * M[h, j, t]
                C[i, t] = acc
        for s in range(S):
            for a in range(A):
                for t in range(S):
                    acc = 0.0
                    for i in range(d):
                        acc += phi[s, a, i] * C[i, t]
                    P_out[h, s, a, t] = acc
                q = 0.0
                for i in range(d):
                    acc = 0.0
                    for j in range(d):
                        acc += Lambda_inv[h, i, j] * phi[s, a, j]
                    u[i] = acc
                    q += phi[s, a, i] * acc
                bonus_out[h, s, a] = beta * np.sqrt(max(q, 0.0))


@njit(cache=True)
def episode_elliptical_sum(phi, Lambda_inv, s, a):
    """sum_h sqrt(phi(s_h,a_h)^T Lambda_h^{-1} phi(s_h,a_h)) along one episode."""
    H = a.shape[0]
    d = phi.shape[2]
    tot = 0.0
    for h in range(H):
        q = 0.0
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += Lambda_inv[h, i, j] * phi[s[h], a[h], j]
            q += phi[s[h], a[h], i] * acc
        tot += np.sqrt(max(q, 0.0))
    return tot
