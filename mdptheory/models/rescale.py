"""Affine reward rescaling into [0, 1], for running algorithms whose theory assumes rewards in
[0, 1] on models that have other rewards (textbook costs, negative rewards, ...).

With lo, hi the smallest and largest reward over available pairs and c = hi - lo (c = 1 when all
rewards are equal), the rescaled model has r' = (r - lo) / c in [0, 1] and the same P, rho0 and
mask. Values map back exactly, because r = lo + c r' is affine and P rows sum to 1:

* finite horizon (discount gamma, terminal values V_T -> V_T / c):
  V_h = c V'_h + b_h,  Q_h = c Q'_h + b_h,  b_h = lo * sum_{k=0}^{H-h-1} gamma^k  (b_H = 0);
* discounted: V = c V' + lo / (1 - gamma), Q = c Q' + lo / (1 - gamma);
* linear: theta' = (theta - lo) / c (phi rows sum to 1), then as finite horizon.

Optimal policies (and any policy's ranking) are unchanged: c > 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .finite import DiscountedMDP, FiniteHorizonMDP
from .linear import LinearMDP


@dataclass(frozen=True)
class RewardMap:
    """The affine map back from the rescaled model: V = scale * V' + offset (and Q alike).

    ``offset`` is a float for a discounted model and an array of shape (H + 1,) (offset[h] for
    step h, offset[H] = 0) for a finite horizon."""

    scale: float
    offset: float | np.ndarray
    lo: float
    hi: float

    def value(self, V_rescaled) -> np.ndarray:
        """V of the original model from V' ((H + 1, S) or (S,))."""
        V = np.asarray(V_rescaled, dtype=np.float64)
        off = self.offset if np.ndim(self.offset) == 0 else np.asarray(self.offset)[:, None]
        return self.scale * V + off

    def q(self, Q_rescaled) -> np.ndarray:
        """Q of the original model from Q' ((H, S, A) or (S, A))."""
        Q = np.asarray(Q_rescaled, dtype=np.float64)
        off = (self.offset if np.ndim(self.offset) == 0
               else np.asarray(self.offset)[:-1, None, None])
        return self.scale * Q + off


def _range(r: np.ndarray, mask) -> tuple[float, float]:
    vals = r if mask is None else r[np.broadcast_to(mask, r.shape)]
    return float(vals.min()), float(vals.max())


def rescale_rewards(mdp):
    """(model with rewards in [0, 1], :class:`RewardMap` back to the original values).

    Accepts a FiniteHorizonMDP, DiscountedMDP or LinearMDP."""
    if isinstance(mdp, LinearMDP):
        lo, hi = _range(mdp.r, None)
        c = hi - lo if hi > lo else 1.0
        new = mdp.replace(theta=(mdp.theta - lo) / c)
        return new, RewardMap(c, _finite_offset(lo, 1.0, mdp.H), lo, hi)
    if isinstance(mdp, FiniteHorizonMDP):
        lo, hi = _range(mdp.r, mdp.mask)
        c = hi - lo if hi > lo else 1.0
        r = np.where(mdp.mask, (mdp.r - lo) / c, 0.0) if mdp.mask is not None \
            else (mdp.r - lo) / c
        new = mdp.replace(r=np.clip(r, 0.0, 1.0), V_terminal=mdp.V_terminal / c)
        return new, RewardMap(c, _finite_offset(lo, mdp.gamma, mdp.H), lo, hi)
    if isinstance(mdp, DiscountedMDP):
        lo, hi = _range(mdp.r, mdp.mask)
        c = hi - lo if hi > lo else 1.0
        r = np.clip((mdp.r - lo) / c, 0.0, 1.0)
        if mdp.mask is not None:
            r[~mdp.mask] = 0.0
        return mdp.replace(r=r), RewardMap(c, lo / (1.0 - mdp.gamma), lo, hi)
    raise TypeError(f"mdp must be a FiniteHorizonMDP, DiscountedMDP or LinearMDP, got "
                    f"{type(mdp).__name__}")


def _finite_offset(lo: float, gamma: float, H: int) -> np.ndarray:
    """b_h = lo * sum_{k=0}^{H-h-1} gamma^k for h = 0..H (b_H = 0)."""
    b = np.zeros(H + 1)
    for h in range(H - 1, -1, -1):
        b[h] = lo + gamma * b[h + 1]
    return b


__all__ = ["RewardMap", "rescale_rewards"]
