"""Shared argument checks and model assembly for the instance generators."""
from __future__ import annotations

import numpy as np

from ..models import _validate
from ..models.finite import DiscountedMDP, FiniteHorizonMDP


def horizon_or_discount(H, gamma):
    """Exactly one of ``H`` (episodic) and ``gamma`` (discounted); returns the checked pair."""
    if H is None and gamma is None:
        raise ValueError("give exactly one of H (episodic model) or gamma (discounted model), "
                         "got neither")
    if H is not None and gamma is not None:
        raise ValueError(f"give exactly one of H (episodic model) or gamma (discounted model), "
                         f"got H={H!r} and gamma={gamma!r}")
    if H is not None:
        return _validate.positive_int("H", H), None
    return None, _validate.real("gamma", gamma, lo=0.0, hi=1.0, hi_open=True)


def build(P, r, rho0, H, gamma):
    """FiniteHorizonMDP.stationary(P, r, H, rho0) if H is set, else DiscountedMDP(P, r, gamma)."""
    if H is not None:
        return FiniteHorizonMDP.stationary(P, r, H, rho0)
    return DiscountedMDP(P=P, r=r, gamma=gamma, rho0=rho0)


def probability(name: str, value) -> float:
    """A real number in [0, 1]."""
    return _validate.real(name, value, lo=0.0, hi=1.0)


def point_mass(S: int, s: int) -> np.ndarray:
    """rho0 = delta_s over S states."""
    rho0 = np.zeros(S)
    rho0[s] = 1.0
    return rho0
