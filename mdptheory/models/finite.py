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


def check_mask(mask, shape: tuple, name: str = "mask") -> np.ndarray | None:
    """Boolean action mask of ``shape`` ((S, A), or (H, S, A) for a finite horizon, which also
    takes an (S, A) mask used at every step); True = the action is available.

    Returns None when every action is available (the unmasked fast paths), else a read-only
    bool array of ``shape``. Integers 0/1 are accepted; a state (at some step) left without any
    available action is a ValueError naming it."""
    if mask is None:
        return None
    arr = np.array(mask)                      # a copy: the caller's array is never frozen
    if arr.dtype != np.bool_:
        if arr.dtype.kind not in "iu" or not np.isin(arr, (0, 1)).all():
            raise TypeError(f"{name} must be a boolean array (True = action available), got "
                            f"dtype {arr.dtype}")
        arr = arr.astype(bool)
    if arr.shape != shape:
        if len(shape) == 3 and arr.shape == shape[1:]:
            arr = np.broadcast_to(arr, shape)
        else:
            alt = f" or {tuple(shape[1:])}" if len(shape) == 3 else ""
            raise ValueError(f"{name} must have shape {tuple(shape)}{alt}, got {arr.shape}")
    if arr.all():
        return None
    empty = ~arr.any(axis=-1)
    if empty.any():
        idx = np.unravel_index(int(np.argmax(empty)), empty.shape)
        where = f"state {idx[-1]}" + (f" at step {idx[0]}" if len(idx) == 2 else "")
        raise ValueError(f"{name}[{_validate._index(idx)}] is all False: the mask leaves "
                         f"{where} without any available action")
    return _validate.freeze(arr)


def _apply_mask(P: np.ndarray, r: np.ndarray, mask: np.ndarray | None):
    """Masked pairs get a self-loop P[..., s, a, s] = 1 and reward 0 in place (whatever the
    caller put there, e.g. -inf rewards); no solver reads them."""
    if mask is None:
        return
    *lead, s, a = np.nonzero(~mask)
    P[(*lead, s, a)] = 0.0
    P[(*lead, s, a, s)] = 1.0
    r[~mask] = 0.0


def _check_rewards(r: np.ndarray):
    """Any finite real reward (the algorithms' [0, 1] assumption is checked where they start)."""
    _validate.finite("r", r)


@dataclass(frozen=True, eq=False)
class FiniteHorizonMDP:
    """Episodic tabular MDP (S, A, H, P, r, rho0), optionally discounted, with terminal values
    and an action mask.

    Attributes
    ----------
    P : ndarray of shape (H, S, A, S)
        P[h, s, a, s'] = Pr(s_{h+1} = s' | s_h = s, a_h = a), steps h = 0..H-1.
    r : ndarray of shape (H, S, A)
        Mean reward r_h(s, a), any finite real (algorithms whose theory assumes [0, 1] check it
        themselves; :func:`mdptheory.models.rescale_rewards` maps a model into [0, 1]).
    rho0 : ndarray of shape (S,)
        Initial-state distribution.
    gamma : float in [0, 1], default 1
        Discount per step: Q_h = r_h + gamma P_h V_{h+1} (mdptoolbox's ``FiniteHorizon``
        ``discount``).
    V_terminal : ndarray of shape (S,), default 0
        Terminal values V_H (mdptoolbox's ``h``).
    mask : bool ndarray of shape (H, S, A) (an (S, A) mask is used at every step), optional
        ``mask[h, s, a]`` is False where action a is not available in s at step h. Stored as
        None when every action is available. At masked pairs P holds a self-loop and r = 0
        (whatever was passed there, e.g. -inf); solvers never choose them and report
        Q = -inf there; a policy with mass on them is refused.

    A stationary model built by :meth:`stationary` stores ``P``, ``r`` (and ``mask``) as
    zero-stride read-only views over h (no H-fold copy); every kernel accepts them.
    """

    P: np.ndarray
    r: np.ndarray
    rho0: np.ndarray
    gamma: float = 1.0
    V_terminal: np.ndarray | None = None
    mask: np.ndarray | None = None

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
        mask = check_mask(self.mask, (H, S, A))
        _apply_mask(P, r, mask)
        _validate.normalize("P", P, source=self.P)
        _check_rewards(r)
        _validate.normalize("rho0", rho0, source=self.rho0)
        for name, x in (("P", P), ("r", r), ("rho0", rho0)):
            object.__setattr__(self, name, _validate.freeze(x))
        object.__setattr__(self, "mask", mask)
        self._set_horizon_fields(S)

    def _set_horizon_fields(self, S: int):
        gamma = _validate.real("gamma", self.gamma, lo=0.0, hi=1.0)
        if self.V_terminal is None:
            V_T = np.zeros(S)
        else:
            V_T = _validate.as_float_array("V_terminal", self.V_terminal)
            _validate.shape("V_terminal", V_T, expected=(S,))
            _validate.finite("V_terminal", V_T)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "V_terminal", _validate.freeze(V_T))

    @classmethod
    def stationary(cls, P, r, H: int, rho0, *, gamma: float = 1.0, V_terminal=None,
                   mask=None) -> FiniteHorizonMDP:
        """Build from P[s, a, s'], r[s, a] (and an (S, A) mask) repeated over h = 0..H-1
        (zero-stride views)."""
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
        mask = check_mask(mask, (S, A))
        _apply_mask(P, r, mask)
        _validate.normalize("P", P, source=P_in)
        _check_rewards(r)
        _validate.normalize("rho0", rho0, source=rho0_in)
        obj = object.__new__(cls)
        object.__setattr__(obj, "P", _validate.freeze(np.broadcast_to(P, (H, S, A, S))))
        object.__setattr__(obj, "r", _validate.freeze(np.broadcast_to(r, (H, S, A))))
        object.__setattr__(obj, "rho0", _validate.freeze(rho0))
        object.__setattr__(obj, "mask", None if mask is None else
                           _validate.freeze(np.broadcast_to(mask, (H, S, A))))
        object.__setattr__(obj, "gamma", gamma)
        object.__setattr__(obj, "V_terminal", V_terminal)
        obj._set_horizon_fields(S)
        return obj

    H = property(lambda self: self.P.shape[0], doc="horizon")
    S = property(lambda self: self.P.shape[1], doc="number of states")
    A = property(lambda self: self.P.shape[2], doc="number of actions")

    @property
    def is_plain(self) -> bool:
        """Undiscounted (gamma = 1), V_terminal = 0 and no mask: the setting of the papers'
        episodic algorithms."""
        return self.gamma == 1.0 and self.mask is None and not self.V_terminal.any()

    def replace(self, **changes) -> FiniteHorizonMDP:
        """A new validated model with some of P, r, rho0, gamma, V_terminal, mask replaced."""
        fields = {"P": self.P, "r": self.r, "rho0": self.rho0, "gamma": self.gamma,
                  "V_terminal": self.V_terminal, "mask": self.mask}
        fields.update(changes)
        return FiniteHorizonMDP(**fields)

    def __repr__(self) -> str:
        extra = "" if self.gamma == 1.0 else f", gamma={self.gamma}"
        extra += "" if self.mask is None else f", masked pairs={int((~self.mask).sum())}"
        return f"FiniteHorizonMDP(H={self.H}, S={self.S}, A={self.A}{extra})"


@dataclass(frozen=True, eq=False)
class DiscountedMDP:
    """Infinite-horizon discounted tabular MDP (S, A, P, r, gamma, rho0), with an optional
    action mask.

    Attributes
    ----------
    P : ndarray of shape (S, A, S) or SparseTransitions
        P[s, a, s'] = Pr(s' | s, a). Large models pass a :class:`SparseTransitions`.
    r : ndarray of shape (S, A)
        Mean reward r(s, a), any finite real.
    gamma : float
        Discount factor in [0, 1).
    rho0 : ndarray of shape (S,), optional
        Initial-state distribution (default uniform).
    mask : bool ndarray of shape (S, A), optional
        ``mask[s, a]`` is False where action a is not available in s (None: all available).
        Masked pairs hold a self-loop and r = 0; solvers never choose them and report
        Q = -inf there; a policy with mass on them is refused.
    """

    P: object
    r: np.ndarray
    gamma: float
    rho0: np.ndarray | None = None
    mask: np.ndarray | None = None

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
        r = _validate.as_float_array("r", self.r)
        _validate.shape("r", r, expected=(S, A))
        mask = check_mask(self.mask, (S, A))
        if isinstance(P, SparseTransitions):
            if mask is not None:
                P = P.with_self_loops(~mask)
                r[~mask] = 0.0
        else:
            _apply_mask(P, r, mask)
            _validate.normalize("P", P, source=self.P)
            _validate.freeze(P)
        _check_rewards(r)
        gamma = _validate.real("gamma", self.gamma, lo=0.0, hi=1.0, hi_open=True)
        rho0 = np.full(S, 1.0 / S) if self.rho0 is None else _validate.as_float_array("rho0", self.rho0)
        _validate.shape("rho0", rho0, expected=(S,))
        _validate.normalize("rho0", rho0, source=self.rho0)
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "r", _validate.freeze(r))
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "rho0", _validate.freeze(rho0))
        object.__setattr__(self, "mask", mask)

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
