"""Episode sampling and count accumulation (finite horizon), seeded by a numpy Generator.

Randomness: the Generator is passed in (numba supports numpy Generators); same seed, same
episodes, compiled or not. Draws per episode, in order: the initial state, then for each step
the action, the reward (only if ``bernoulli_rewards``) and the next state.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def draw(p, u):
    """Inverse-CDF draw from probability vector p with uniform u; on round-off past the end,
    the last index with p > 0."""
    c = 0.0
    last = 0
    for i in range(p.shape[0]):
        if p[i] > 0.0:
            last = i
            c += p[i]
            if u < c:
                return i
    return last


@njit(cache=True)
def sample_episodes(P, r, pi, rho0, rng, bernoulli_rewards, s_out, a_out, r_out):
    """Roll out pi for K = s_out.shape[0] episodes.

    P (H, S, A, S), r (H, S, A), pi (H, S, A), rho0 (S,); s_out (K, H + 1) int64,
    a_out (K, H) int64, r_out (K, H) float64. Rewards are the mean r_h(s,a), or Bernoulli draws
    with that mean when ``bernoulli_rewards``.
    """
    K = s_out.shape[0]
    H = P.shape[0]
    for k in range(K):
        s = draw(rho0, rng.random())
        for h in range(H):
            s_out[k, h] = s
            a = draw(pi[h, s], rng.random())
            a_out[k, h] = a
            if bernoulli_rewards:
                r_out[k, h] = 1.0 if rng.random() < r[h, s, a] else 0.0
            else:
                r_out[k, h] = r[h, s, a]
            s = draw(P[h, s, a], rng.random())
        s_out[k, H] = s


@njit(cache=True)
def accumulate_counts(s, a, rew, n_sa, n_sas, r_sum):
    """Add K episodes to per-step counts: n_sa (H, S, A), n_sas (H, S, A, S), r_sum (H, S, A).

    s (K, H + 1), a (K, H), rew (K, H).
    """
    K, H = a.shape
    for k in range(K):
        for h in range(H):
            st = s[k, h]
            at = a[k, h]
            n_sa[h, st, at] += 1.0
            n_sas[h, st, at, s[k, h + 1]] += 1.0
            r_sum[h, st, at] += rew[k, h]
