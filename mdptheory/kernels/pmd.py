"""Numba kernels for exact policy mirror descent (PMD) and tabular MDPO.

Plain arrays in, out-params, no validation (callers in ``mdptheory.algorithms.mdpo`` check).
Transitions in successor-list (ELL) form ``probs[s, a, j]``, ``idx[s, a, j]`` (S, A, w):
P(idx[s, a, j] | s, a) = probs[s, a, j], padding with probability 0 (a dense model has w <= S;
a Garnet has w = branching, so building P_pi and Q costs O(S A w)); ``r[s, a]``; policies in
log space ``log_pi[s, a]`` (exponentiated updates underflow to exact zeros; log space keeps KL
finite).

Contents
--------
* ``policy_system`` / ``evaluate`` / ``occupancy``: exact evaluation of a stochastic policy by a
  dense linear solve. ``np.linalg.solve`` inside numba calls LAPACK through
  scipy's bindings; on these shared 2-core machines it was ~50x faster than numpy's threaded
  ``np.linalg.solve`` for S = 200 (1.9 ms vs 100 ms under load), hence a kernel.
* ``mirror_step``: the one update every PMD variant (docs/papers/mdpo.md) reduces to,
  ``log pi+(a|s) = alpha log pi(a|s) + beta Q(s, a) - logsumexp_b(...)``.
* ``mdpo_ascent``: m gradient steps (plain or Adam) on the tabular MDPO surrogate
  ``L(theta) = sum_s [<pi_theta(s), C(s)> - w(s)/t KL(pi_theta(s) || pi_k(s))]``.
* ``sample_stream`` and ``episode_returns``: on-policy transitions of the discounted MDP as
  geometric-length episodes (restart with probability 1 - gamma after each step), and their
  undiscounted tail sums (unbiased Monte-Carlo Q estimates).
* ``off_policy_loop``: the whole off-policy tabular MDPO loop in one kernel.
"""
import numpy as np
from numba import njit

from .sampling import draw as _draw  # inverse-CDF draw shared by every sampler

PI_FLOOR = 1e-30   # policy_system: smaller action probabilities are below float64 resolution

# ----------------------------------------------------------------------------- evaluation


@njit(cache=True)
def policy_system(probs, idx, r, log_pi, gamma, tau, M_out, b_out):
    """M = I - gamma P_pi and b = r_pi - tau * sum_a pi log pi for the policy exp(log_pi).

    probs, idx (S, A, w): P(s'|s, a) in successor-list (ELL) form, P(idx[s,a,j]|s,a) =
    probs[s,a,j] (padding has probability 0); r (S, A), log_pi (S, A); M_out (S, S),
    b_out (S,). Actions with pi(a|s) < ``PI_FLOOR`` (1e-30) are left out: their mass is far
    below float64 resolution of a row sum (the change in V is at most 1e-30 / (1 - gamma)^2),
    and keeping them fills M with subnormal numbers, which made the LU solve ~4x slower once
    PMD policies became nearly deterministic. 0 log 0 = 0.
    """
    S, A = r.shape
    w = probs.shape[2]
    for s in range(S):
        Ms = M_out[s]
        for t in range(S):
            Ms[t] = 0.0
        acc = 0.0
        for a in range(A):
            p = np.exp(log_pi[s, a])
            if p >= PI_FLOOR:
                acc += p * (r[s, a] - tau * log_pi[s, a])
                gp = gamma * p
                for j in range(w):
                    Ms[idx[s, a, j]] -= gp * probs[s, a, j]
        Ms[s] += 1.0
        b_out[s] = acc


@njit(cache=True)
def q_from_v(probs, idx, r, gamma, V, Q_out):
    """Q(s, a) = r(s, a) + gamma * sum_s' P(s'|s, a) V(s'); ELL probs, idx (S, A, w)."""
    S, A = r.shape
    w = probs.shape[2]
    for s in range(S):
        for a in range(A):
            acc = 0.0
            for j in range(w):
                acc += probs[s, a, j] * V[idx[s, a, j]]
            Q_out[s, a] = r[s, a] + gamma * acc


@njit(cache=True)
def evaluate(probs, idx, r, log_pi, gamma, tau, V_out, Q_out):
    """Exact (entropy-regularised if tau > 0) V^pi_tau and Q^pi_tau (no entropy at the current
    step inside Q).

    Solves (I - gamma P_pi) V = r_pi - tau sum_a pi log pi by LU (LAPACK gesv); then
    Q = r + gamma P V (no entropy at the current step inside Q). V_out (S,), Q_out (S, A).
    """
    S = r.shape[0]
    M = np.empty((S, S))
    b = np.empty(S)
    policy_system(probs, idx, r, log_pi, gamma, tau, M, b)
    V = np.linalg.solve(M, b)
    for s in range(S):
        V_out[s] = V[s]
    q_from_v(probs, idx, r, gamma, V_out, Q_out)


@njit(cache=True)
def occupancy(probs, idx, log_pi, gamma, mu, d_out):
    """Normalised discounted occupancy d^pi_mu = (1 - gamma) mu^T (I - gamma P_pi)^{-1}."""
    S, A = log_pi.shape
    M = np.empty((S, S))
    b = np.empty(S)
    r0 = np.zeros((S, A))
    policy_system(probs, idx, r0, log_pi, gamma, 0.0, M, b)
    MT = np.ascontiguousarray(M.T)
    rhs = (1.0 - gamma) * mu
    d = np.linalg.solve(MT, rhs)
    for s in range(S):
        d_out[s] = d[s]


# ----------------------------------------------------------------------------- updates


@njit(inline="always")
def _row_logsumexp(z, s):
    """logsumexp(z[s]), shifted by the row's max (stable)."""
    A = z.shape[1]
    m = z[s, 0]
    for a in range(1, A):
        m = max(m, z[s, a])
    acc = 0.0
    for a in range(A):
        acc += np.exp(z[s, a] - m)
    return m + np.log(acc)


@njit(cache=True)
def log_normalize(z, out):
    """out[s] = z[s] - logsumexp(z[s]) row by row (stable; out may alias z)."""
    S, A = z.shape
    for s in range(S):
        lse = _row_logsumexp(z, s)
        for a in range(A):
            out[s, a] = z[s, a] - lse


@njit(cache=True)
def mirror_step(log_pi, Q, alpha, beta, out):
    """log pi+ = alpha * log pi + beta * Q, renormalised per state.

    KL-PMD: (1, eta); Lan's exact entropy prox: (1/(1+eta tau), eta/(1+eta tau));
    Cen et al.: (1 - eta_c tau/(1-gamma), eta_c/(1-gamma)); Shani's linearised: (1 - tau t, t).
    Q is shifted per state by its maximum first (a state-only shift leaves the update
    unchanged): then beta * (Q - max Q) is exactly 0 for the greedy actions however large beta
    is, so huge steps cannot wash out log pi by rounding (with beta |Q| ~ 1e12 the unshifted
    sum has an absolute rounding error ~1e-4, enough to break exact evaluation).
    ``out`` (S, A) may alias ``log_pi``. alpha = 0 (Cen's step at eta_c = (1 - gamma)/tau, the
    linearised one at tau eta = 1: soft policy iteration) drops the old policy, zeros included
    (pi^0 = 1): pi+ ∝ exp(beta Q) (0 * log 0 would be NaN).
    """
    S, A = log_pi.shape
    for s in range(S):
        qmax = Q[s, 0]
        for a in range(1, A):
            qmax = max(qmax, Q[s, a])
        for a in range(A):
            dq = Q[s, a] - qmax
            out[s, a] = (alpha * log_pi[s, a] if alpha != 0.0 else 0.0) + \
                (beta * dq if dq != 0.0 else 0.0)
    log_normalize(out, out)


@njit(cache=True)
def _tsallis_mass(base, c, z, lam, q):
    """sum_a p_a(lam) of the Tsallis mirror step (see :func:`tsallis_step`)."""
    tot = 0.0
    for a in range(base.shape[0]):
        tot += _tsallis_p(base[a], c, z[a], lam, q)
    return tot


@njit(cache=True)
def _tsallis_p(base_a, c, z_a, lam, q):
    if q > 1.0:
        x = base_a + c * (z_a - lam)
        return x ** (1.0 / (q - 1.0)) if x > 0.0 else 0.0
    if base_a == np.inf:                     # pi_k(a|s) = 0 stays 0 (the barrier)
        return 0.0
    x = base_a - c * (z_a - lam)
    return x ** (-1.0 / (1.0 - q)) if x > 0.0 else np.inf


@njit(cache=True)
def tsallis_step(log_pi, Q, eta, q, out):
    """One exact mirror step with the negative Tsallis entropy psi_q(p) = (sum_a p_a^q - 1)/(q - 1)
    as mirror map (q > 0, q != 1; q -> 1 is the KL step), per state:
    p+ = argmax_{p in simplex} eta <Q(s), p> - D_psi(p, pi(s)), D_psi the Bregman divergence.

    First-order conditions: p_a^{q-1} = pi_a^{q-1} + ((q-1)/q)(eta Q_a - lam), cut at 0 for
    q > 1 (sparse steps; q = 2 is the Euclidean projection of pi + eta Q / 2 onto the simplex);
    for q < 1 the map is a barrier and the support of pi is kept. The multiplier lam is found
    by bisection on sum_a p_a(lam) = 1 (monotone in lam) to float64 resolution. Q is shifted
    per state by its maximum first. ``out`` (S, A) receives log p+ (-inf where p+ = 0).
    """
    S, A = log_pi.shape
    base = np.empty(A)
    z = np.empty(A)
    c = abs(q - 1.0) / q
    for s in range(S):
        zmax = Q[s, 0]
        for a in range(1, A):
            zmax = max(zmax, Q[s, a])
        for a in range(A):
            z[a] = eta * (Q[s, a] - zmax)                  # <= 0, 0 at the greedy actions
            lp = log_pi[s, a]
            if q > 1.0:
                base[a] = np.exp((q - 1.0) * lp) if lp > -np.inf else 0.0
            else:
                base[a] = np.exp((q - 1.0) * lp) if lp > -np.inf else np.inf
        if q > 1.0:
            lo = -1.0 / c                                  # mass >= 1 at the greedy action
            hi = 0.0
            for a in range(A):
                hi = max(hi, z[a] + base[a] / c)           # every p_a = 0 beyond
        else:
            lo = -np.inf                                   # mass -> infinity at the barrier
            for a in range(A):
                if base[a] < np.inf:
                    lo = max(lo, z[a] - base[a] / c)
            hi = A ** (1.0 - q) / c                        # every p_a <= 1/A beyond
        for _ in range(2000):
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            if _tsallis_mass(base, c, z, mid, q) > 1.0:
                lo = mid
            else:
                hi = mid
        lam = hi
        tot = _tsallis_mass(base, c, z, lam, q)
        for a in range(A):
            p = _tsallis_p(base[a], c, z[a], lam, q) / tot
            out[s, a] = np.log(p) if p > 0.0 else -np.inf


# ----------------------------------------------------------------------------- MDPO inner loop


@njit(cache=True)
def mdpo_gradient(theta, log_pi_k, C, w, inv_t, grad_out):
    """Gradient of L(theta) = sum_s [<pi_theta(s), C(s)> - w(s) inv_t KL(pi_theta(s)||pi_k(s))].

    dL/dtheta[s, a] = pi_theta(a|s) [C(s,a) - <pi_theta(s), C(s)>
                                     - w(s) inv_t (log(pi_theta(a|s)/pi_k(a|s)) - KL(s))].
    With C = d_k * A_k and w = d_k this is MDPO's tabular surrogate with exact A_k and d_k.
    theta, log_pi_k, C, grad_out (S, A); w (S,). Returns L(theta).
    """
    S, A = theta.shape
    lp = np.empty(A)
    value = 0.0
    for s in range(S):
        lse = _row_logsumexp(theta, s)
        lin = 0.0
        kl = 0.0
        for a in range(A):
            lp[a] = theta[s, a] - lse
            p = np.exp(lp[a])
            lin += p * C[s, a]
            if p > 0.0:
                kl += p * (lp[a] - log_pi_k[s, a])
        value += lin - w[s] * inv_t * kl
        for a in range(A):
            p = np.exp(lp[a])
            grad_out[s, a] = p * (C[s, a] - lin - w[s] * inv_t * (lp[a] - log_pi_k[s, a] - kl))
    return value


@njit(cache=True)
def mdpo_ascent(theta, log_pi_k, C, w, inv_t, lr, m, optimizer, adam_m, adam_v, adam_step,
                clip_norm):
    """m ascent steps on the MDPO surrogate, in place on ``theta`` (S, A).

    optimizer 0: plain gradient ascent theta += lr * grad. optimizer 1: Adam (beta1 0.9, beta2
    0.999, eps 1e-8, the TF1 defaults) with state adam_m, adam_v (S, A) and the step counter
    adam_step[0] carried across calls. clip_norm > 0 rescales the gradient to that global
    2-norm first (the authors' code clips at 0.5); clip_norm <= 0 disables clipping.
    Returns the surrogate value at the final theta.
    """
    S, A = theta.shape
    g = np.empty((S, A))
    b1 = 0.9
    b2 = 0.999
    eps = 1e-8
    for _ in range(m):
        mdpo_gradient(theta, log_pi_k, C, w, inv_t, g)
        if clip_norm > 0.0:
            nrm = 0.0
            for s in range(S):
                for a in range(A):
                    nrm += g[s, a] * g[s, a]
            nrm = np.sqrt(nrm)
            if nrm > clip_norm:
                sc = clip_norm / nrm
                for s in range(S):
                    for a in range(A):
                        g[s, a] *= sc
        if optimizer == 0:
            for s in range(S):
                for a in range(A):
                    theta[s, a] += lr * g[s, a]
        else:
            adam_step[0] += 1
            k = adam_step[0]
            c1 = 1.0 - b1 ** k
            c2 = 1.0 - b2 ** k
            for s in range(S):
                for a in range(A):
                    adam_m[s, a] = b1 * adam_m[s, a] + (1.0 - b1) * g[s, a]
                    adam_v[s, a] = b2 * adam_v[s, a] + (1.0 - b2) * g[s, a] * g[s, a]
                    mh = adam_m[s, a] / c1
                    vh = adam_v[s, a] / c2
                    theta[s, a] += lr * mh / (np.sqrt(vh) + eps)
    return mdpo_gradient(theta, log_pi_k, C, w, inv_t, g)


# ----------------------------------------------------------------------------- sampling




@njit(cache=True)
def sample_stream(probs, idx, r, pi, rho0, gamma, s0, rng, s_out, a_out, r_out, sn_out,
                  cont_out):
    """n = s_out.shape[0] on-policy transitions in geometric-length episodes.

    Each episode starts at s ~ rho0; after every transition it continues with probability gamma
    (cont_out = 1) and otherwise restarts (cont_out = 0). So the visited states, pooled, follow
    d^pi_rho0 and the undiscounted sum of an episode's rewards from step t on is an unbiased
    estimate of Q^pi(s_t, a_t). ``s0`` >= 0 continues an episode from that state (-1: start a
    new one). Draws per step, in order: (start state), action, next state, continuation coin.
    Returns the state to continue from (-1 if the last transition ended its episode).
    """
    n = s_out.shape[0]
    s = s0
    for i in range(n):
        if s < 0:
            s = _draw(rho0, rng.random())
        a = _draw(pi[s], rng.random())
        sn = idx[s, a, _draw(probs[s, a], rng.random())]
        s_out[i] = s
        a_out[i] = a
        r_out[i] = r[s, a]
        sn_out[i] = sn
        if rng.random() < gamma:
            cont_out[i] = 1
            s = sn
        else:
            cont_out[i] = 0
            s = -1
    return s


@njit(cache=True)
def episode_returns(rew, cont, G_out, complete_out):
    """Undiscounted reward-to-go within each geometric-length episode of a stream.

    G_out[i] = sum of rew[j] for j >= i up to the end of i's episode; complete_out[i] = 1 if
    that episode ended inside the stream (else its return is truncated by the budget).
    """
    n = rew.shape[0]
    acc = 0.0
    done = 0
    for i in range(n - 1, -1, -1):
        if cont[i] == 0:
            acc = 0.0
            done = 1
        acc += rew[i]
        G_out[i] = acc
        complete_out[i] = done


# ----------------------------------------------------------------------------- off-policy loop


@njit(cache=True)
def _cached_row(theta, s, tag, logp, p, stamp):
    """Row s of log-softmax(theta) (and its exp) in logp[s], p[s], recomputed only when
    stamp[s] != tag (theta changed since): a minibatch revisits the same states many times."""
    if stamp[s] == tag:
        return
    lse = _row_logsumexp(theta, s)
    for a in range(theta.shape[1]):
        logp[s, a] = theta[s, a] - lse
        p[s, a] = np.exp(logp[s, a])
    stamp[s] = tag


@njit(cache=True)
def off_policy_loop(probs, idx, r, rho0, gamma, n_steps, rng, theta, theta_old, Q, Q_targ,
                    lam, inv_t, m_refresh, batch, buffer_size, learning_starts, actor_lr,
                    critic_lr, polyak, actor_adam, adam_m, adam_v, checkpoints, snapshots):
    """Off-policy tabular MDPO for ``n_steps`` environment steps.

    Environment: one stream, restarting from rho0 with probability 1 - gamma after each step
    (a truncation, not a termination: TD targets always bootstrap). Behaviour: a ~ pi_theta
    (uniform before ``learning_starts``). Per step after ``learning_starts``, on a minibatch
    of ``batch`` transitions drawn uniformly from the FIFO buffer of the last ``buffer_size``:

    * critic (expected SARSA, soft when lam > 0): the batch's transitions applied one after
      the other as TD steps Q(s, a) -= critic_lr (Q(s, a) - y) with
      y = r + gamma * sum_a' pi_theta(a'|s') [Q_targ(s', a') - lam log pi_theta(a'|s')];
      then the Polyak target Q_targ <- (1 - polyak) Q_targ + polyak Q (whole table);
    * actor: one gradient step (SGD, or Adam if actor_adam) on the minimised loss
      mean_s sum_a pi_theta(a|s) [inv_t (log pi_theta - log pi_old) + lam log pi_old - Q](s, a);
    * theta_old <- theta every ``m_refresh`` steps (the old policy pi_{theta_k}).

    theta, theta_old, Q, Q_targ, adam_m, adam_v (S, A) are updated in place.
    checkpoints (n_ckpt,) int64 increasing step counts; snapshots (n_ckpt, S, A) receives
    theta after that many steps. Policy rows are cached per step (theta changes once a step).
    """
    S, A = r.shape
    buf_s = np.empty(buffer_size, dtype=np.int64)
    buf_a = np.empty(buffer_size, dtype=np.int64)
    buf_r = np.empty(buffer_size)
    buf_sn = np.empty(buffer_size, dtype=np.int64)
    n_buf = 0
    pos = 0
    logp = np.empty((S, A))            # log pi_theta rows, valid where stamp == step
    p = np.empty((S, A))
    stamp = np.full(S, -1, dtype=np.int64)
    logo = np.empty((S, A))            # log pi_old rows, valid where ostamp == version
    po = np.empty((S, A))
    ostamp = np.full(S, -1, dtype=np.int64)
    version = 0
    g_actor = np.zeros((S, A))
    touched = np.zeros(S, dtype=np.bool_)
    adam_k = 0
    c_idx = 0
    s = _draw(rho0, rng.random())
    for step in range(1, n_steps + 1):
        # act
        if step <= learning_starts:
            a = int(rng.random() * A)
            if a >= A:
                a = A - 1
        else:
            _cached_row(theta, s, step, logp, p, stamp)
            a = _draw(p[s], rng.random())
        sn = idx[s, a, _draw(probs[s, a], rng.random())]
        buf_s[pos] = s
        buf_a[pos] = a
        buf_r[pos] = r[s, a]
        buf_sn[pos] = sn
        pos = (pos + 1) % buffer_size
        if n_buf < buffer_size:
            n_buf += 1
        if rng.random() < gamma:
            s = sn
        else:
            s = _draw(rho0, rng.random())
        if step > learning_starts:
            for k in range(S):
                if touched[k]:
                    touched[k] = False
                    for b in range(A):
                        g_actor[k, b] = 0.0
            for j in range(batch):
                i = int(rng.random() * n_buf)
                if i >= n_buf:
                    i = n_buf - 1
                bs = buf_s[i]
                ba = buf_a[i]
                bsn = buf_sn[i]
                # critic target
                _cached_row(theta, bsn, step, logp, p, stamp)
                y = 0.0
                for b in range(A):
                    if p[bsn, b] > 0.0:
                        y += p[bsn, b] * (Q_targ[bsn, b] - lam * logp[bsn, b])
                y = buf_r[i] + gamma * y
                Q[bs, ba] -= critic_lr * (Q[bs, ba] - y)
                # actor gradient at state bs (exact expectation over a ~ pi_theta)
                _cached_row(theta, bs, step, logp, p, stamp)
                _cached_row(theta_old, bs, version, logo, po, ostamp)
                lin = 0.0
                for b in range(A):
                    if p[bs, b] > 0.0:
                        lin += p[bs, b] * (inv_t * (logp[bs, b] - logo[bs, b]) + lam * logo[bs, b]
                                           - Q[bs, b])
                for b in range(A):
                    if p[bs, b] > 0.0:
                        f = inv_t * (logp[bs, b] - logo[bs, b]) + lam * logo[bs, b] - Q[bs, b]
                        # d/dtheta_b of sum_a pi_a f_a, with d f_a/d theta_b = inv_t (1[a=b] - pi_b)
                        g_actor[bs, b] += p[bs, b] * (f - lin) / batch
                touched[bs] = True
            # the inv_t * sum_a pi_a d(log pi_a) term is zero (sum_a pi_a (1[a=b] - pi_b) = 0)
            for k in range(S):
                for b in range(A):
                    Q_targ[k, b] = (1.0 - polyak) * Q_targ[k, b] + polyak * Q[k, b]
            if actor_adam:
                adam_k += 1
                c1 = 1.0 - 0.9 ** adam_k
                c2 = 1.0 - 0.999 ** adam_k
                for k in range(S):
                    for b in range(A):
                        gk = g_actor[k, b]
                        adam_m[k, b] = 0.9 * adam_m[k, b] + 0.1 * gk
                        adam_v[k, b] = 0.999 * adam_v[k, b] + 0.001 * gk * gk
                        theta[k, b] -= actor_lr * (adam_m[k, b] / c1) / (
                            np.sqrt(adam_v[k, b] / c2) + 1e-8)
            else:
                for k in range(S):
                    if touched[k]:
                        for b in range(A):
                            theta[k, b] -= actor_lr * g_actor[k, b]
            if (step - learning_starts) % m_refresh == 0:
                for k in range(S):
                    for b in range(A):
                        theta_old[k, b] = theta[k, b]
                version += 1
        while c_idx < checkpoints.shape[0] and checkpoints[c_idx] == step:
            for k in range(S):
                for b in range(A):
                    snapshots[c_idx, k, b] = theta[k, b]
            c_idx += 1
