"""Small shared pieces of the solver layer: model coercion and policy checks."""
from __future__ import annotations

import numpy as np

from ..models import DiscountedMDP, FiniteHorizonMDP, LinearMDP
from ..models.policies import validate_policy


def as_finite(mdp, name: str = "mdp") -> FiniteHorizonMDP:
    """A FiniteHorizonMDP (a LinearMDP is converted with .to_finite())."""
    if isinstance(mdp, FiniteHorizonMDP):
        return mdp
    if isinstance(mdp, LinearMDP):
        return mdp.to_finite()
    raise TypeError(f"{name} must be a FiniteHorizonMDP or LinearMDP, got {type(mdp).__name__}")


def finite_policy(mdp: FiniteHorizonMDP, pi, name: str = "pi") -> np.ndarray:
    """pi validated to shape (H, S, A) with probability rows; an (S, A) policy is broadcast.
    Integer arrays are actions: (H, S), or (S,) used at every step."""
    arr = pi
    if not isinstance(pi, str):
        try:
            arr = np.asarray(pi)
        except (TypeError, ValueError):
            arr = pi
    if isinstance(arr, np.ndarray):
        stationary = (mdp.S,) if arr.dtype.kind in "iu" else (mdp.S, mdp.A)
        if arr.shape == stationary and mdp.H > 0:
            arr = np.broadcast_to(arr, (mdp.H,) + arr.shape)
    return validate_policy(arr, (mdp.H, mdp.S, mdp.A), name, getattr(mdp, "mask", None))


def solver_reward(mdp) -> np.ndarray:
    """The reward array the optimising solvers use: the model's r, or, for a masked model, a
    copy with -inf at unavailable pairs, so that no max or argmax can pick them (their Q is
    -inf + finite = -inf)."""
    mask = getattr(mdp, "mask", None)
    if mask is None:
        return mdp.r
    return np.where(mask, mdp.r, -np.inf)


def mask_q(mdp, Q: np.ndarray) -> np.ndarray:
    """Q with -inf at the model's unavailable pairs (in place; Q is returned)."""
    mask = getattr(mdp, "mask", None)
    if mask is not None:
        Q[~np.broadcast_to(mask, Q.shape)] = -np.inf
    return Q


def check_kind(mdp, kinds: tuple, name: str = "mdp"):
    if not isinstance(mdp, kinds):
        want = " or ".join(k.__name__ for k in kinds)
        raise TypeError(f"{name} must be a {want}, got {type(mdp).__name__}")


__all__ = [
    "DiscountedMDP",
    "FiniteHorizonMDP",
    "LinearMDP",
    "as_finite",
    "check_kind",
    "finite_policy",
]
