"""Tabular MDP models: episodic (finite horizon) and discounted.

Data plus validation, nothing else. Arrays are float64 copies of the caller's input and are
read-only, so no solver or algorithm downstream can change a model.

Probability rows (P[..., s, a, :] and rho0) must sum to 1 within 1e-8 (within ``n * eps`` for
float32/float16 input, n the row length); accepted rows are renormalised in float64 so that they
sum to 1 to rounding (:func:`mdptheory.models._validate.normalize`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import _validate
from .sparse import SparseTransitions


def _check_sizes(name: str, shape: tuple, **sizes):
    """Every named dimension (H, S, A) of ``shape`` is >= 1."""
    for dim, n in sizes.items():
        if n < 1:
            raise ValueError(f"{name} has shape {shape}: {dim} = {n}, expected {dim} >= 1 "
                             f"(a model needs at least one step, state and action)")


@dataclass(frozen=True, eq=False)
class FiniteHorizonMDP:
    """Episodic tabular MDP (S, A, H, P, r, rho0).

    Attributes
    ----------
    P : ndarray of shape (H, S, A, S)
        P[h, s, a, s'] = Pr(s_{h+1} = s' | s_h = s, a_h = a), steps h = 0..H-1.
    r : ndarray of shape (H, S, A)
        Mean reward r_h(s, a), in [0, 1].
    rho0 : ndarray of shape (S,)
        Initial-state distribution.

    A stationary model built by :meth:`stationary` stores ``P`` and ``r`` as zero-stride
    read-only views over h (no H-fold copy); every kernel accepts them.
    """

    P: np.ndarray
    r: np.ndarray
    rho0: np.ndarray

    def __post_init__(self):
        P = _validate.as_float_array("P", self.P)
        if P.ndim == 3:
            raise ValueError(f"P must have shape (H, S, A, S), got {P.shape}; use "
                             "FiniteHorizonMDP.stationary(P, r, H, rho0) for a stationary P[s, a, s']")
        _validate.shape("P", P, ndim=4)
        H, S, A, S2 = P.shape
        if S2 != S:
            raise ValueError(f"P must have shape (H, S, A, S), got {P.shape} (last axis {S2} != S={S})")
        _check_sizes("P", P.shape, H=H, S=S, A=A)
        r = _validate.as_float_array("r", self.r)
        _validate.shape("r", r, expected=(H, S, A))
        rho0 = _validate.as_float_array("rho0", self.rho0)
        _validate.shape("rho0", rho0, expected=(S,))
        _validate.normalize("P", P, source=self.P)
        _validate.interval("r", r, 0.0, 1.0)
        _validate.normalize("rho0", rho0, source=self.rho0)
        for name, x in (("P", P), ("r", r), ("rho0", rho0)):
            object.__setattr__(self, name, _validate.freeze(x))

    @classmethod
    def stationary(cls, P, r, H: int, rho0) -> FiniteHorizonMDP:
        """Build from P[s, a, s'], r[s, a] repeated over h = 0..H-1 (zero-stride views)."""
        H = _validate.positive_int("H", H)
        P_in = P
        P = _validate.as_float_array("P", P)
        _validate.shape("P", P, ndim=3)
        S, A, S2 = P.shape
        if S2 != S:
            raise ValueError(f"P must have shape (S, A, S), got {P.shape}")
        _check_sizes("P", P.shape, S=S, A=A)
        rho0_in = rho0
        r = _validate.as_float_array("r", r)
        _validate.shape("r", r, expected=(S, A))
        rho0 = _validate.as_float_array("rho0", rho0)
        _validate.shape("rho0", rho0, expected=(S,))
        _validate.normalize("P", P, source=P_in)
        _validate.interval("r", r, 0.0, 1.0)
        _validate.normalize("rho0", rho0, source=rho0_in)
        obj = object.__new__(cls)
        object.__setattr__(obj, "P", _validate.freeze(np.broadcast_to(P, (H, S, A, S))))
        object.__setattr__(obj, "r", _validate.freeze(np.broadcast_to(r, (H, S, A))))
        object.__setattr__(obj, "rho0", _validate.freeze(rho0))
        return obj

    H = property(lambda self: self.P.shape[0], doc="horizon")
    S = property(lambda self: self.P.shape[1], doc="number of states")
    A = property(lambda self: self.P.shape[2], doc="number of actions")

    def replace(self, **changes) -> FiniteHorizonMDP:
        """A new validated model with some of P, r, rho0 replaced."""
        fields = {"P": self.P, "r": self.r, "rho0": self.rho0}
        fields.update(changes)
        return FiniteHorizonMDP(**fields)

    def __repr__(self) -> str:
        return f"FiniteHorizonMDP(H={self.H}, S={self.S}, A={self.A})"


@dataclass(frozen=True, eq=False)
class DiscountedMDP:
    """Infinite-horizon discounted tabular MDP (S, A, P, r, gamma, rho0).

    Attributes
    ----------
    P : ndarray of shape (S, A, S) or SparseTransitions
        P[s, a, s'] = Pr(s' | s, a). Large models pass a :class:`SparseTransitions`.
    r : ndarray of shape (S, A)
        Mean reward r(s, a), in [0, 1].
    gamma : float
        Discount factor in [0, 1).
    rho0 : ndarray of shape (S,), optional
        Initial-state distribution (default uniform).
    """

    P: object
    r: np.ndarray
    gamma: float
    rho0: np.ndarray | None = None

    def __post_init__(self):
        if isinstance(self.P, SparseTransitions):
            P = self.P
            S, A, _ = P.shape
        else:
            try:
                import scipy.sparse as sp
                is_sparse = sp.issparse(self.P)
            except ImportError:  # pragma: no cover
                is_sparse = False
            if is_sparse:
                raise TypeError("P is a scipy.sparse matrix; wrap it with "
                                "SparseTransitions.from_scipy(matrix, num_actions)")
            P = _validate.as_float_array("P", self.P)
            _validate.shape("P", P, ndim=3)
            S, A, S2 = P.shape
            if S2 != S:
                raise ValueError(f"P must have shape (S, A, S), got {P.shape}")
            _check_sizes("P", P.shape, S=S, A=A)
            _validate.normalize("P", P, source=self.P)
            _validate.freeze(P)
        r = _validate.as_float_array("r", self.r)
        _validate.shape("r", r, expected=(S, A))
        _validate.interval("r", r, 0.0, 1.0)
        gamma = _validate.real("gamma", self.gamma, lo=0.0, hi=1.0, hi_open=True)
        rho0 = np.full(S, 1.0 / S) if self.rho0 is None else _validate.as_float_array("rho0", self.rho0)
        _validate.shape("rho0", rho0, expected=(S,))
        _validate.normalize("rho0", rho0, source=self.rho0)
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "r", _validate.freeze(r))
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "rho0", _validate.freeze(rho0))

    S = property(lambda self: self.r.shape[0], doc="number of states")
    A = property(lambda self: self.r.shape[1], doc="number of actions")
    is_sparse = property(lambda self: isinstance(self.P, SparseTransitions))

    def dense_P(self) -> np.ndarray:
        """P[s, a, s'] as a dense array (a view for dense models)."""
        return self.P.to_dense() if self.is_sparse else self.P

    def replace(self, **changes) -> DiscountedMDP:
        """A new validated model with some fields replaced."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        kind = f", sparse width {self.P.width}" if self.is_sparse else ""
        return f"DiscountedMDP(S={self.S}, A={self.A}, gamma={self.gamma}{kind})"
