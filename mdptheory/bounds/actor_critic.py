"""Bounds of the optimal-rate actor-critic (K. Tan, W. Fan, Y. Wei 2025, "Actor-Critics Can
Achieve Optimal Sample Efficiency", ICML; arXiv 2505.03710) and of the pieces of its
reconstruction.

What is stated in the paper and what is our reconstruction (docs/papers/actor_critic.md):

* sample complexity O(d H^5 log|A| / eps^2 + d H^4 log|F| / eps^2) trajectories (the abstract);
  the absolute constant is unknown: ``constants="rate-only"`` with constant 1;
* sqrt(T) regret; the form sqrt(d H^5 T log|A|) + sqrt(d H^4 T log|F|) is implied;
* non-optimistic hybrid: N_off >= c*_off d H^4 / eps^2 suffices (the paper's claim),
  constant unknown;
* hybrid (optimistic) partition bound (recalled, not read in this paper): Kevin Tan's
  earlier hybrid form;
* switch counts of the count-doubling and determinant-doubling rules, and the exponential-weights
  regret inequality: exact counting / textbook bounds of our reconstruction (constants exact).

log|F| is not defined for the tabular and linear critics; these estimates are used:
S A H ln(H T) (tabular) and H d^2 ln(H T) (linear: O~(d^2) per step because of the
Gram matrix in the class).
"""
from __future__ import annotations

import numpy as np

from .base import register

_PAPER = "Tan, Fan & Wei (2025), Actor-Critics Can Achieve Optimal Sample Efficiency (ICML)"
_RECON = "reconstruction"
_TRACK = ("critic values in [0, H]; actor reset to uniform at each of the K switches; "
          "exponential weights with step eta (Hoeffding-lemma bound)")
_HEDGE = "rewards f_t in [lo, lo + range]; pi_1 uniform; restarts from uniform after resets"
_COUNT = ("switch when some n_h(s, a) >= max(1, 2 n^(k)_h(s, a)); each pair triggers at most "
          "1 + log2(n_max) times")
_DET = ("switch when log det Lambda_h > log 2 + log det Lambda^(k)_h; ||phi|| <= 1; "
        "Lambda = ridge I + sum phi phi^T")
_ASSUME_N_OFF = (("c*_off = max_h max_(s,a) d^{pi*}_h(s,a) / mu_h(s,a) (single-policy "
                  "concentrability, our reconstruction's definition)"),)
_ASSUME_HYBRID = (("form of Kevin Tan's earlier hybrid bound, not read in this "
                   "paper; evaluated at the two trivial partitions X_off = {} and "
                   "X_off = S x A"),)
_COMMON = (
    "episodic MDP, horizon H, finite A, rewards in [0, 1]",
    "realizability Q* in F and Bellman completeness",
    "d = Bellman eluder dimension: S A (tabular) or the feature dimension (linear)",
    "absolute constant unknown (paper not readable): constant 1, rate only",
)


def log_covering_tabular(S: int, A: int, H: int, T):
    """log|F| ~ S A H ln(H T) for the tabular critic class."""
    return S * A * H * np.log(H * np.asarray(T, dtype=np.float64))


def log_covering_linear(d: int, H: int, T):
    """log|F| ~ H d^2 ln(H T) for the LSVI-UCB critic class."""
    return H * d * d * np.log(H * np.asarray(T, dtype=np.float64))


@register("actor_critic_sample_complexity", paper=_PAPER, theorem="main theorem (abstract)",
          quantity="trajectories until the output policy is eps-optimal", variable="eps",
          exponent=-2.0, constants="rate-only", probability="w.p. >= 1 - delta",
          assumptions=_COMMON)
def actor_critic_sample_complexity(d: int, H: int, A: int, log_F, eps):
    """d H^5 log|A| / eps^2 + d H^4 log|F| / eps^2 (constant 1; vectorised over eps)."""
    eps = np.asarray(eps, dtype=np.float64)
    return (d * H ** 5 * np.log(A) + d * H ** 4 * np.asarray(log_F)) / eps ** 2


@register("actor_critic_regret", paper=_PAPER, theorem="regret corollary (sqrt(T) form, recalled)",
          quantity="Regret(T) = sum_t V*(rho0) - V^{pi^t}(rho0)", variable="T", exponent=0.5,
          constants="rate-only", probability="w.p. >= 1 - delta", assumptions=_COMMON)
def actor_critic_regret(d: int, H: int, A: int, log_F, T):
    """sqrt(d H^5 T log|A|) + sqrt(d H^4 T log|F|) (constant 1; vectorised over T)."""
    T = np.asarray(T, dtype=np.float64)
    return np.sqrt(d * H ** 5 * T * np.log(A)) + np.sqrt(d * H ** 4 * T * np.asarray(log_F))


@register("actor_critic_actor_tracking", paper=_PAPER, theorem=_RECON + ", pi*-tracking term",
          quantity="sum_t sum_h E_{d^{pi*}_h}[<pi*_h - pi^t_h, f^(k)_h>]", variable="T",
          exponent=0.5, constants="paper", probability="deterministic",
          assumptions=(_TRACK,))
def actor_tracking_regret(H: int, A: int, T, K, eta: float):
    """H ((K + 1) log|A| / eta + eta T H^2 / 8): the exponential-weights regret of the actor
    against pi*, summed over the H steps and the K + 1 phases."""
    T = np.asarray(T, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    return H * ((K + 1.0) * np.log(A) / eta + eta * T * H * H / 8.0)


@register("exponential_weights_regret", paper="Cesa-Bianchi & Lugosi (2006), Thm 2.2 / "
          "Hoeffding's lemma", theorem="exponential weights regret",
          quantity="max_a sum_t f_t(a) - sum_t <pi_t, f_t>", variable="T", exponent=0.5,
          constants="paper", probability="deterministic",
          assumptions=(_HEDGE,))
def exponential_weights_regret(T, A: int, eta: float, value_range: float, resets=0):
    """(resets + 1) log|A| / eta + eta T range^2 / 8 (against a fixed comparator)."""
    T = np.asarray(T, dtype=np.float64)
    return (np.asarray(resets, dtype=np.float64) + 1.0) * np.log(A) / eta \
        + eta * T * value_range ** 2 / 8.0


@register("actor_critic_switches_tabular", paper=_PAPER, theorem=_RECON + ", count doubling",
          quantity="number of critic switches after T online episodes", variable="T",
          exponent=0.0, constants="paper", probability="deterministic",
          assumptions=(_COUNT,))
def switches_tabular(S: int, A: int, H: int, T, *, n_off=0, pooled: bool = False):
    """H S A (1 + log2(T + N_off)) per-step counts; S A (1 + log2(H (T + N_off))) pooled."""
    n = np.asarray(T, dtype=np.float64) + n_off
    if pooled:
        return S * A * (1.0 + np.log2(H * n))
    return H * S * A * (1.0 + np.log2(n))


@register("actor_critic_switches_linear", paper=_PAPER, theorem=_RECON + ", determinant doubling",
          quantity="number of critic switches after T online episodes", variable="T",
          exponent=0.0, constants="paper", probability="deterministic",
          assumptions=(_DET,))
def switches_linear(d: int, H: int, T, *, n_off=0, ridge: float = 1.0):
    """H d log2(1 + (T + N_off) / (d ridge)) (Wang et al. 2021 rare-switching LSVI-UCB)."""
    n = np.asarray(T, dtype=np.float64) + n_off
    return H * d * np.log2(1.0 + n / (d * ridge))


@register("actor_critic_n_off_threshold", paper=_PAPER,
          theorem="non-optimistic hybrid actor-critic (abstract)",
          quantity="offline sample size sufficient for the non-optimistic variant",
          variable="eps", exponent=-2.0, constants="rate-only", probability="w.p. >= 1 - delta",
          assumptions=_COMMON + _ASSUME_N_OFF)
def n_off_threshold(c_off, d: int, H: int, eps):
    """c*_off d H^4 / eps^2 (constant 1)."""
    return np.asarray(c_off, dtype=np.float64) * d * H ** 4 / np.asarray(eps,
                                                                         dtype=np.float64) ** 2


@register("actor_critic_hybrid_regret", paper=_PAPER,
          theorem="hybrid (optimistic) actor-critic, partition form (recalled, unread)",
          quantity="online Regret(T) with N_off offline trajectories", variable="N_off",
          exponent=-0.5, constants="rate-only", probability="w.p. >= 1 - delta",
          assumptions=_COMMON + _ASSUME_HYBRID)
def hybrid_regret(d: int, H: int, A: int, log_F, T, n_off, c_off):
    """min over the partitions X_off = {} and X_off = S x A of
    sqrt(d H^5 T log|A|) + sqrt(d_on H^4 T log|F|) + T sqrt(c_off H^4 log|F| / N_off)."""
    T = np.asarray(T, dtype=np.float64)
    n_off = np.asarray(n_off, dtype=np.float64)
    actor = np.sqrt(d * H ** 5 * T * np.log(A))
    online_part = np.sqrt(d * H ** 4 * T * np.asarray(log_F))
    with np.errstate(divide="ignore", over="ignore"):
        offline_part = np.where(n_off > 0, T * np.sqrt(c_off * H ** 4 * np.asarray(log_F)
                                                       / np.maximum(n_off, 1e-300)), np.inf)
    return actor + np.minimum(online_part, offline_part)


__all__ = [
    "actor_critic_regret",
    "actor_critic_sample_complexity",
    "actor_tracking_regret",
    "exponential_weights_regret",
    "hybrid_regret",
    "log_covering_linear",
    "log_covering_tabular",
    "n_off_threshold",
    "switches_linear",
    "switches_tabular",
]
