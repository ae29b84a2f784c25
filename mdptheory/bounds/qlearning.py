"""Regret bounds of Q-learning with UCB exploration (Jin, Allen-Zhu, Bubeck & Jordan 2018, "Is
Q-learning provably efficient?", NeurIPS; arXiv 1807.03765).

Regret(K) = sum_{k=1}^K V*_1(x_1^k) - V^{pi_k}_1(x_1^k), T = K H steps, iota = log(S A T / p),
w.p. >= 1 - p (absolute constants the paper does not give: ``constants="rate-only"``, each
term with constant 1):

* Theorem 1 (UCB-Hoeffding): Regret(K) = O(sqrt(H^4 S A T iota));
* Theorem 2 (UCB-Bernstein): Regret(K) = O(sqrt(H^3 S A T iota) + sqrt(H^9 S^3 A^3) iota^2).

The Hoeffding bound's lower-order part H^2 S A is ours (``derived``): the proof's
initialisation term sum_k alpha^0_{n_h^k} H summed over h (at most S A H per step), which the
theorem absorbs into its O(.). It marks where the sqrt(T) term dominates. As for UCBVI, the
bound after k episodes of a run planned for K_total episodes uses iota of the whole run.
"""
from __future__ import annotations

import numpy as np

from .base import register

_PAPER = "Jin, Allen-Zhu, Bubeck & Jordan (2018), Is Q-learning provably efficient?"
_COMMON = (
    ("episodic MDP with horizon H, S states, A actions, rewards in [0, 1]; P and r may depend "
     "on the step h (the algorithm keeps Q, counts per step)"),
    ("regret counted from the initial states; here its expectation over rho0 (exact "
     "V* - V^{pi_k} at rho0), which the same bound covers"),
    "absolute constants not given by the paper: rate only, each term with constant 1",
    "bound after k episodes uses iota = log(S A T_total / p) of the whole run",
    "statement recalled from the paper (Theorems 1-2), not re-read from its PDF here",
)


def _sizes(S, A, H, K, p, K_total):
    K = np.asarray(K, dtype=np.float64)
    K_tot = K if K_total is None else np.asarray(K_total, dtype=np.float64)
    T = K * H
    iota = np.log(S * A * K_tot * H / p)
    return T, iota


def _hoeffding_parts(S, A, H, K, p, *, K_total=None):
    """Leading sqrt(H^4 S A T iota) and lower-order H^2 S A (derived) parts of Theorem 1."""
    T, iota = _sizes(S, A, H, K, p, K_total)
    return {"leading": np.sqrt(float(H) ** 4 * S * A * T * iota),
            "lower": np.zeros_like(T) + float(H) ** 2 * S * A}


def _bernstein_parts(S, A, H, K, p, *, K_total=None):
    """Leading sqrt(H^3 S A T iota) and lower-order sqrt(H^9 S^3 A^3) iota^2 parts of
    Theorem 2."""
    T, iota = _sizes(S, A, H, K, p, K_total)
    return {"leading": np.sqrt(float(H) ** 3 * S * A * T * iota),
            "lower": np.sqrt(float(H) ** 9 * float(S * A) ** 3) * iota ** 2 + 0.0 * T}


@register("qlearning_hoeffding_regret", paper=_PAPER, theorem="Theorem 1 (UCB-Hoeffding)",
          quantity="Regret(K) = sum_k V*(rho0) - V^{pi_k}(rho0)", variable="K", exponent=0.5,
          constants="rate-only", probability="w.p. >= 1 - p", assumptions=_COMMON,
          parts=_hoeffding_parts)
def qlearning_hoeffding_regret(S: int, A: int, H: int, K, p: float, *, K_total=None):
    """sqrt(H^4 S A T iota) + H^2 S A, T = K H (rate only; vectorised over K)."""
    parts = _hoeffding_parts(S, A, H, K, p, K_total=K_total)
    return parts["leading"] + parts["lower"]


@register("qlearning_bernstein_regret", paper=_PAPER, theorem="Theorem 2 (UCB-Bernstein)",
          quantity="Regret(K) = sum_k V*(rho0) - V^{pi_k}(rho0)", variable="K", exponent=0.5,
          constants="rate-only", probability="w.p. >= 1 - p", assumptions=_COMMON,
          parts=_bernstein_parts)
def qlearning_bernstein_regret(S: int, A: int, H: int, K, p: float, *, K_total=None):
    """sqrt(H^3 S A T iota) + sqrt(H^9 S^3 A^3) iota^2, T = K H (rate only; vectorised)."""
    parts = _bernstein_parts(S, A, H, K, p, K_total=K_total)
    return parts["leading"] + parts["lower"]


def qlearning_regret(S: int, A: int, H: int, K, p: float, *, bonus: str = "hoeffding",
                     K_total=None):
    """Theorem 1 (``bonus="hoeffding"``) or Theorem 2 (``"bernstein"``) bound."""
    key = str(bonus).lower()
    if key == "hoeffding":
        return qlearning_hoeffding_regret(S, A, H, K, p, K_total=K_total)
    if key == "bernstein":
        return qlearning_bernstein_regret(S, A, H, K, p, K_total=K_total)
    raise ValueError(f"bonus must be 'hoeffding' or 'bernstein', got {bonus!r}")


__all__ = ["qlearning_bernstein_regret", "qlearning_hoeffding_regret", "qlearning_regret"]
