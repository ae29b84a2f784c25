"""Regret bounds of UCBVI (Azar, Osband & Munos 2017, "Minimax Regret Bounds for Reinforcement
Learning", ICML; arXiv 1703.05449).

Regret(K) = sum_{k=1}^K V*_1(s_1^k) - V^{pi_k}_1(s_1^k), T = K H time steps, w.p. >= 1 - delta:

* Theorem 1 (UCBVI-CH):  Regret(K) <= 20 H L sqrt(S A T) + 250 H^2 S^2 A L^2;
* Theorem 2 (UCBVI-BF):  Regret(K) <= 30 L sqrt(H S A T) + 2500 H^2 S^2 A L^2 + 4 H L sqrt(T),

with L = ln(5 H S A T / delta). The constants are recalled from the paper, not re-read from its
PDF here; the rates agree with the abstract's
O~(sqrt(H S A T) + H^2 S^2 A + H sqrt(T)). The H sqrt(T) term of Theorem 2 is written with L
rather than sqrt(L), the larger of the two readings.

Stage-dependent learners (counts per step, as :class:`mdptheory.algorithms.ucbvi.UCBVI` keeps
them by default) are UCBVI on the layered MDP with states (h, s); the theorems then hold with S
replaced by H S (``stage_dependent=True``, the default here).

The bound after k episodes of a run planned for ``K_total`` episodes uses L of the whole run
(the good event of the proof is defined with that L) and T = k H in the sqrt terms.
"""
from __future__ import annotations

import numpy as np

from .base import register

_PAPER = "Azar, Osband & Munos (2017), Minimax Regret Bounds for Reinforcement Learning"
_COMMON = (
    ("episodic MDP with horizon H, S states, A actions, rewards in [0, 1]; "
     "the paper's setting is a stationary P with counts pooled over steps"),
    ("regret counted from the initial states; here its expectation over rho0 "
     "(exact V* - V^{pi_k} at rho0), which the same bound covers"),
    "stage_dependent=True: S replaced by H S (UCBVI on the layered MDP, states (h, s))",
    "bound after k episodes uses L = ln(5 H S A T_total / delta) of the whole run",
    ("constants recalled from the paper (Theorems 1-2, arXiv 1703.05449); not re-checked "
     "against its PDF"),
)


def _sizes(S, A, H, K, delta, K_total, stage_dependent):
    S_eff = S * H if stage_dependent else S
    K = np.asarray(K, dtype=np.float64)
    K_tot = K if K_total is None else np.asarray(K_total, dtype=np.float64)
    T = K * H
    L = np.log(5.0 * H * S_eff * A * K_tot * H / delta)
    return S_eff, T, L


def _ch_parts(S, A, H, K, delta, *, K_total=None, stage_dependent=True):
    """Leading 20 H L sqrt(S A T) and lower-order 250 H^2 S^2 A L^2 terms of Theorem 1."""
    S_eff, T, L = _sizes(S, A, H, K, delta, K_total, stage_dependent)
    return {"leading": 20.0 * H * L * np.sqrt(S_eff * A * T),
            "lower": 250.0 * H ** 2 * S_eff ** 2 * A * L ** 2}


def _bf_parts(S, A, H, K, delta, *, K_total=None, stage_dependent=True):
    """Leading 30 L sqrt(H S A T) + 4 H L sqrt(T) and lower-order 2500 H^2 S^2 A L^2 terms of
    Theorem 2 (both sqrt(T) terms are of the claimed order)."""
    S_eff, T, L = _sizes(S, A, H, K, delta, K_total, stage_dependent)
    return {"leading": 30.0 * L * np.sqrt(H * S_eff * A * T) + 4.0 * H * L * np.sqrt(T),
            "lower": 2500.0 * H ** 2 * S_eff ** 2 * A * L ** 2}


@register("ucbvi_ch_regret", paper=_PAPER, theorem="Theorem 1 (UCBVI-CH)",
          quantity="Regret(K) = sum_k V*(rho0) - V^{pi_k}(rho0)", variable="K", exponent=0.5,
          constants="paper", probability="w.p. >= 1 - delta", assumptions=_COMMON,
          parts=_ch_parts)
def ucbvi_ch_regret(S: int, A: int, H: int, K, delta: float, *, K_total=None,
                    stage_dependent: bool = True):
    """20 H L sqrt(S A T) + 250 H^2 S^2 A L^2, T = K H (vectorised over K)."""
    p = _ch_parts(S, A, H, K, delta, K_total=K_total, stage_dependent=stage_dependent)
    return p["leading"] + p["lower"]


@register("ucbvi_bf_regret", paper=_PAPER, theorem="Theorem 2 (UCBVI-BF)",
          quantity="Regret(K) = sum_k V*(rho0) - V^{pi_k}(rho0)", variable="K", exponent=0.5,
          constants="paper", probability="w.p. >= 1 - delta", assumptions=_COMMON,
          parts=_bf_parts)
def ucbvi_bf_regret(S: int, A: int, H: int, K, delta: float, *, K_total=None,
                    stage_dependent: bool = True):
    """30 L sqrt(H S A T) + 2500 H^2 S^2 A L^2 + 4 H L sqrt(T), T = K H (vectorised over K)."""
    p = _bf_parts(S, A, H, K, delta, K_total=K_total, stage_dependent=stage_dependent)
    return p["leading"] + p["lower"]


def ucbvi_regret(S: int, A: int, H: int, K, delta: float, *, bonus: str = "hoeffding",
                 K_total=None, stage_dependent: bool = True):
    """Theorem 1 (``bonus="hoeffding"``/"CH") or Theorem 2 ("bernstein"/"BF") bound."""
    key = str(bonus).lower()
    if key in ("hoeffding", "ch"):
        b = ucbvi_ch_regret
    elif key in ("bernstein", "bf"):
        b = ucbvi_bf_regret
    else:
        raise ValueError(f"bonus must be 'hoeffding' ('CH') or 'bernstein' ('BF'), got {bonus!r}")
    return b(S, A, H, K, delta, K_total=K_total, stage_dependent=stage_dependent)


__all__ = ["ucbvi_bf_regret", "ucbvi_ch_regret", "ucbvi_regret"]
