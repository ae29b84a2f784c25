"""Q-learning with UCB-Hoeffding / UCB-Bernstein bonuses (Jin, Allen-Zhu, Bubeck & Jordan 2018,
Algorithms 1 and 2) as numba kernels: the per-episode update and the whole compiled loop.

Steps are 0-based here (h = 0..H-1; the paper's h = 1..H). All statistics are per step.

Shapes
------
=============  ==============  ================================================================
name           shape           meaning
=============  ==============  ================================================================
s, a, r        (H+1,),(H,),(H,) one episode: states s_0..s_H, actions, rewards
Q              (H, S, A)       optimistic Q_h(x, a), initialised to H
V              (H + 1, S)      V_h(x) = min(H, max_a Q_h(x, a)); V[H] = 0
N              (H, S, A)       visits N_h(x, a) (float64)
mu, sigma      (H, S, A)       Bernstein: sums of V_{h+1}(x') and of V_{h+1}(x')^2 over the
                               visits of (x, a) at step h, each with the V of its time
beta           (H, S, A)       Bernstein: beta_{t} of the last visit (beta_0 = 0)
act            (H, S) int64    greedy action argmax_a Q_h(x, a), ties to the lowest index
consts         (6,) float64    [H, iota, c (Hoeffding), c1, c2 (Bernstein), S A (Bernstein)]
counters       (2,) int64      [episodes, policy switches]
=============  ==============  ================================================================

Updating at the end of the episode, for h = 0, 1, ..., H-1 in that order, is the paper's
update during the episode: the step-h update reads V_{h+1}, which only the later step-(h+1)
update changes, and the actions of the episode are greedy for the Q of its start (Q_h only
changes after the step-h action).
"""
import numpy as np
from numba import njit

from .online import sample_episode_deterministic, tally_episode


@njit(cache=True, inline="always")
def learning_rate(H, t):
    """alpha_t = (H + 1) / (H + t) (the paper's learning rate, t >= 1 visits)."""
    return (H + 1.0) / (H + t)


@njit(cache=True, inline="always")
def hoeffding_bonus(H, iota, c, t):
    """b_t = c sqrt(H^3 iota / t) (Algorithm 1)."""
    return c * np.sqrt(H * H * H * iota / t)


@njit(cache=True, inline="always")
def bernstein_beta(H, iota, c1, c2, SA, t, mu, sigma):
    """beta_t = min(c1 (sqrt(H / t (W_t + H) iota) + sqrt(H^7 S A iota) iota / t),
    c2 sqrt(H^3 iota / t)) with W_t = sigma / t - (mu / t)^2 (Algorithm 2; W_t clamped at 0
    against round-off)."""
    m = mu / t
    W = max(sigma / t - m * m, 0.0)
    first = c1 * (np.sqrt(H / t * (W + H) * iota) + np.sqrt(H ** 7 * SA * iota) * iota / t)
    return min(first, c2 * np.sqrt(H * H * H * iota / t))


@njit(cache=True, inline="always")
def _greedy(Q, act, h, x):
    """act[h, x] = argmax_a Q[h, x, a] (lowest index on ties); returns (max, changed)."""
    best = Q[h, x, 0]
    arg = 0
    for b in range(1, Q.shape[2]):
        if Q[h, x, b] > best:
            best = Q[h, x, b]
            arg = b
    changed = 0
    if act[h, x] != arg:
        act[h, x] = arg
        changed = 1
    return best, changed


@njit(cache=True, inline="always")
def _qlearning_update(s, a, r, Q, V, N, mu, sigma, beta, act, consts, bernstein, counters):
    """The updates of one episode (s (H + 1,), a (H,), r (H,)), steps h = 0..H-1 in order:

        t = N_h(x, a) += 1,  alpha = (H + 1) / (H + t),
        Q_h(x, a) = (1 - alpha) Q_h(x, a) + alpha (r + V_{h+1}(x') + b_t),
        V_h(x) = min(H, max_a Q_h(x, a)),

    b_t = c sqrt(H^3 iota / t) (Hoeffding) or, for Bernstein, mu += V_{h+1}(x'),
    sigma += V_{h+1}(x')^2, beta_t as in :func:`bernstein_beta` and
    b_t = (beta_t - (1 - alpha) beta_{t-1}) / (2 alpha). Refreshes the greedy action of the H
    states updated; returns 1 if any changed (and counts a policy switch), else 0.
    """
    H = a.shape[0]
    Hf = consts[0]
    iota = consts[1]
    changed = 0
    for h in range(H):
        x = s[h]
        u = a[h]
        y = s[h + 1]
        N[h, x, u] += 1.0
        t = N[h, x, u]
        alpha = learning_rate(Hf, t)
        v_next = V[h + 1, y]
        if bernstein:
            mu[h, x, u] += v_next
            sigma[h, x, u] += v_next * v_next
            b_new = bernstein_beta(Hf, iota, consts[3], consts[4], consts[5], t, mu[h, x, u],
                                   sigma[h, x, u])
            bonus = (b_new - (1.0 - alpha) * beta[h, x, u]) / (2.0 * alpha)
            beta[h, x, u] = b_new
        else:
            bonus = hoeffding_bonus(Hf, iota, consts[2], t)
        Q[h, x, u] = (1.0 - alpha) * Q[h, x, u] + alpha * (r[h] + v_next + bonus)
        best, c = _greedy(Q, act, h, x)
        V[h, x] = min(Hf, best)
        changed += c
    counters[0] += 1
    if changed > 0:
        counters[1] += 1
        return 1
    return 0


@njit(cache=True)
def qlearning_update(s, a, r, Q, V, N, mu, sigma, beta, act, consts, bernstein, counters):
    """The updates of one episode (the generic learner's entry point; see
    :func:`_qlearning_update`, which the compiled loop inlines)."""
    return _qlearning_update(s, a, r, Q, V, N, mu, sigma, beta, act, consts, bernstein,
                             counters)


@njit(cache=True)
def qlearning_episodes(truth, tally, U, bernoulli_rewards, Q, V, N, mu, sigma, beta, act,
                       consts, bernstein, counters, s_ep, a_ep, r_ep):
    """U.shape[0] episodes of Q-learning-UCB with exact regret: per episode the exact value of
    the greedy policy (re-evaluated when it changed; :func:`mdptheory.kernels.online.
    tally_episode`), the episode sampled from the greedy actions, and
    :func:`qlearning_update`, the same kernel the generic learner calls."""
    P, r, rho0, succ_t, n_succ_t, p_succ_t, reach, n_reach = truth
    acc, cnt, keys, hashes, vals, V_work, index = tally
    for i in range(U.shape[0]):
        tally_episode(P, r, rho0, succ_t, n_succ_t, p_succ_t, reach, n_reach, acc, cnt, keys,
                      hashes, vals, V_work, index, act)
        sample_episode_deterministic(P, r, act, rho0, U[i], bernoulli_rewards, s_ep, a_ep, r_ep,
                                     succ_t, n_succ_t, p_succ_t)
        if _qlearning_update(s_ep, a_ep, r_ep, Q, V, N, mu, sigma, beta, act, consts,
                             bernstein, counters):
            cnt[3] = 1
