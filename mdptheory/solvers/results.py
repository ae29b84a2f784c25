"""Frozen result records returned by every solver."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Solution:
    """Optimal (or regularised-optimal) values and a policy attaining them.

    Finite horizon: V (H + 1, S) with V[H] = 0, Q (H, S, A), pi (H, S, A).
    Discounted:     V (S,), Q (S, A), pi (S, A).
    Iterative solvers also set ``num_iter``, ``converged`` and ``error_bound`` (a guaranteed
    sup-norm bound on |V - V*|); ``info`` holds solver-specific extras.
    """

    V: np.ndarray
    Q: np.ndarray
    pi: np.ndarray
    num_iter: int | None = None
    converged: bool | None = None
    error_bound: float | None = None
    info: dict = field(default_factory=dict)

    def value(self, rho0: np.ndarray) -> float:
        """Expected initial value rho0 . V_0 (finite) or rho0 . V (discounted)."""
        V0 = self.V[0] if self.V.ndim == 2 else self.V
        return float(np.dot(rho0, V0))


@dataclass(frozen=True, eq=False)
class PolicyValue:
    """Value of a given policy: V and Q with the same shapes as in :class:`Solution`.

    Robust evaluations also carry the worst-case kernel the policy meets (``P_worst``, same shape
    as the model's P; for a LinearMDP also the worst-case factors ``mu_worst`` (H, d, S)).
    """

    V: np.ndarray
    Q: np.ndarray
    P_worst: np.ndarray | None = None
    mu_worst: np.ndarray | None = None
    num_iter: int | None = None
    converged: bool | None = None
    info: dict = field(default_factory=dict)

    def value(self, rho0: np.ndarray) -> float:
        V0 = self.V[0] if self.V.ndim == 2 else self.V
        return float(np.dot(rho0, V0))
