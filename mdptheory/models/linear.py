"""d-rectangular linear MDPs (Ma et al. 2022; Liu & Xu 2024).

P_h(s' | s, a) = <phi(s, a), mu_h(s')> = sum_i phi_i(s, a) mu_{h,i}(s'),
r_h(s, a)      = <phi(s, a), theta_h>.

d-rectangular conditions (checked by the constructor): phi(s, a) lies on the simplex
(phi_i >= 0, sum_i phi_i = 1) and every factor mu_{h,i} is a probability vector over S. Then every
P_h(. | s, a) is a mixture of the d factor distributions, and robust sets can be built per factor.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate
from .finite import FiniteHorizonMDP


@dataclass(frozen=True, eq=False)
class LinearMDP:
    """Episodic d-rectangular linear MDP.

    Attributes
    ----------
    phi : ndarray of shape (S, A, d)
        Features phi(s, a) on the probability simplex.
    mu : ndarray of shape (H, d, S)
        Factor distributions mu[h, i, s'] = mu_{h,i}(s'), each row a probability vector.
    theta : ndarray of shape (H, d)
        Reward parameters (any finite reals; rewards are <phi(s, a), theta_h>, which the
        robust-linear algorithms require in [0, 1] and check themselves).
    rho0 : ndarray of shape (S,)
        Initial-state distribution.

    phi rows, mu rows and rho0 must sum to 1 within 1e-8 (``n * eps`` for float32 input, n the
    row length) and are renormalised in float64 so that they sum to 1 to rounding.
    """

    phi: np.ndarray
    mu: np.ndarray
    theta: np.ndarray
    rho0: np.ndarray

    def __post_init__(self):
        phi = _validate.as_float_array("phi", self.phi)
        _validate.shape("phi", phi, ndim=3)
        S, A, d = phi.shape
        if min(S, A, d) < 1:
            raise ValueError(f"phi has shape {phi.shape}: expected S >= 1 states, A >= 1 "
                             f"actions and d >= 1 features")
        mu = _validate.as_float_array("mu", self.mu)
        _validate.shape("mu", mu, ndim=3)
        H = mu.shape[0]
        _validate.shape("mu", mu, expected=(H, d, S))
        if H < 1:
            raise ValueError(f"mu must have H >= 1 steps in axis 0, got shape {mu.shape}")
        theta = _validate.as_float_array("theta", self.theta)
        _validate.shape("theta", theta, expected=(H, d))
        rho0 = _validate.as_float_array("rho0", self.rho0)
        _validate.shape("rho0", rho0, expected=(S,))
        tol = max(_validate.simplex_tol(self.phi, d), _validate.simplex_tol(self.mu, S))
        check_d_rectangular(phi, mu, tol=tol)
        _validate.normalize("phi", phi, tol=tol)     # renormalise in float64 (_validate doc)
        _validate.normalize("mu", mu, tol=tol)
        _validate.finite("theta", theta)
        _validate.normalize("rho0", rho0, source=self.rho0)
        for name, x in (("phi", phi), ("mu", mu), ("theta", theta), ("rho0", rho0)):
            object.__setattr__(self, name, _validate.freeze(x))

    H = property(lambda self: self.mu.shape[0], doc="horizon")
    S = property(lambda self: self.phi.shape[0], doc="number of states")
    A = property(lambda self: self.phi.shape[1], doc="number of actions")
    d = property(lambda self: self.phi.shape[2], doc="feature dimension")

    @property
    def r(self) -> np.ndarray:
        """Rewards r[h, s, a] = <phi(s, a), theta_h>."""
        return np.einsum("sad,hd->hsa", self.phi, self.theta)

    @property
    def P(self) -> np.ndarray:
        """Transition tensor P[h, s, a, s'] = sum_i phi[s, a, i] mu[h, i, s']."""
        return np.einsum("sad,hdt->hsat", self.phi, self.mu)

    def to_finite(self) -> FiniteHorizonMDP:
        """The equivalent tabular FiniteHorizonMDP (rows renormalised against round-off)."""
        P = self.P
        P /= P.sum(axis=-1, keepdims=True)
        return FiniteHorizonMDP(P=P, r=self.r, rho0=self.rho0)

    def replace(self, **changes) -> LinearMDP:
        fields = {"phi": self.phi, "mu": self.mu, "theta": self.theta, "rho0": self.rho0}
        fields.update(changes)
        return LinearMDP(**fields)

    def __repr__(self) -> str:
        return f"LinearMDP(H={self.H}, S={self.S}, A={self.A}, d={self.d})"


def check_d_rectangular(phi: np.ndarray, mu: np.ndarray, *, tol: float = _validate.SIMPLEX_TOL):
    """Raise ValueError unless phi (S, A, d) rows and mu (H, d, S) rows are probability vectors."""
    try:
        _validate.simplex("phi", phi, tol=tol)
    except ValueError as exc:
        raise ValueError(f"features violate d-rectangularity (phi(s, a) must lie on the "
                         f"simplex): {exc}") from None
    try:
        _validate.simplex("mu", mu, tol=tol)
    except ValueError as exc:
        raise ValueError(f"factor distributions violate d-rectangularity (each mu[h, i] must "
                         f"be a probability vector): {exc}") from None
