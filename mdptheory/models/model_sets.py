"""Uncertainty sets of transition models for robust discounted MDPs (IWOCS; docs/papers/iwocs.md).

A *model set* is a robust discounted MDP (S, A, T, gamma, rho0): a set T of transition models
plus a discount factor and an initial distribution. A transition model is a pair (P, r) of a
kernel P[s, a, s'] and the expected reward r[s, a] in [0, 1] that goes with it. In the paper's
setting the reward is known and fixed (the same r for every model); the pair form also covers
rewards that depend on the landing state (reward r(s, a, s') or the outcome of a transition),
whose expectation then depends on the kernel, as in our WindyWalk instance
(:mod:`mdptheory.envs.windy_walk`).

Four kinds, all dense (no sparse transitions):

========================  ==================================================================
FiniteModelSet            an explicit list of n models; not rectangular
RectangularModelSet       (s, a)-rectangular: for each (s, a) independently, any convex
                          combination of n candidate (row, reward) pairs (case (c); a
                          segment or box linear in a parameter is the hull of its ends)
ParametricModelSet        {T_psi : psi in [lower, upper]} for a callable psi -> (P, r) (case (b))
AffineModelSet            parametric with P_psi = P0 + sum_i psi_i D_i, r_psi = r0 + sum_i
                          psi_i e_i: validated exactly over the whole box, and with an exact
                          dynamic (rectangular-hull) worst case
========================  ==================================================================

Validation. Every kernel of a set is checked when the set is built: each model of a finite
set, each candidate row of a rectangular set, every entry of an affine family at its worst
corner of the box (which checks the whole continuum). A general parametric family is checked
at its nominal parameter and at the corners of its box (when there are at most 1024), and every
kernel it produces later is checked when produced. Error messages name the model (index,
candidate or parameter) and the offending row, e.g.
``"model 2 of P is not a transition kernel: P[2, 3, 1] sums to 0.93, expected 1 (tolerance
1e-08) (row s=3, a=1)"``.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import _validate
from .finite import DiscountedMDP

_TOL = _validate.SIMPLEX_TOL
MAX_CORNERS = 1024      # corners of a parametric box checked at construction (2^d <= this)


# ----------------------------------------------------------------------------- checks


def _idx(t) -> str:
    return ", ".join(str(int(i)) for i in t)


def check_kernel_stack(name: str, P: np.ndarray, model_axes: int, what: str,
                       tol: float = _TOL, *, label: str | None = None) -> None:
    """Every row P[..., s, a, :] of a stack of kernels is a probability vector.

    ``model_axes`` leading axes index the models (1 for (n, S, A, S)); for a rectangular
    candidate array (S, A, n, S) pass ``model_axes=-1`` (the model axis is the third one).
    ``what`` describes the model in messages (e.g. "model" or "candidate"); with ``label`` the
    stack holds one model described by ``label`` and indices are printed without its model axis.
    """
    def where(idx):
        idx = tuple(int(i) for i in idx)
        if label is not None:
            return label, f" (row s={idx[model_axes]}, a={idx[model_axes + 1]})"
        if model_axes == -1:
            s, a, k = idx[:3]
            return f"{what} {k} of pair (s={s}, a={a})", ""
        m = idx[:model_axes]
        s, a = idx[model_axes:model_axes + 2]
        return f"{what} {_idx(m)}", f" (row s={s}, a={a})"

    def shown(idx):
        return idx[model_axes:] if label is not None else idx

    bad = ~np.isfinite(P)
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad)), P.shape)
        head, tail = where(i)
        raise ValueError(f"{head} of {name} is not a transition kernel: {name}[{_idx(shown(i))}] "
                         f"is {float(P[i])}, expected a finite probability{tail}")
    neg = P < 0
    if neg.any():
        i = np.unravel_index(int(np.argmax(neg)), P.shape)
        head, tail = where(i)
        raise ValueError(f"{head} of {name} is not a transition kernel: {name}[{_idx(shown(i))}] "
                         f"is {P[i]:.6g}, expected a probability >= 0{tail}")
    sums = P.sum(axis=-1)
    off = np.abs(sums - 1.0) > tol
    if off.any():
        i = np.unravel_index(int(np.argmax(off)), sums.shape)
        head, tail = where(i)
        raise ValueError(f"{head} of {name} is not a transition kernel: {name}[{_idx(shown(i))}] "
                         f"sums to {sums[i]:.10g}, expected 1 (tolerance {tol:g}){tail}")


def _check_gamma_rho0(gamma, rho0, S: int):
    gamma = _validate.real("gamma", gamma, lo=0.0, hi=1.0, hi_open=True)
    rho0 = np.full(S, 1.0 / S) if rho0 is None else _validate.as_float_array("rho0", rho0)
    _validate.shape("rho0", rho0, expected=(S,))
    _validate.normalize("rho0", rho0)
    return gamma, _validate.freeze(rho0)


def _check_size(name: str, n: int, what: str = "models"):
    if n < 1:
        raise ValueError(f"{name} holds no {what}: the uncertainty set is empty")


def _as_model(P, r, gamma, rho0) -> DiscountedMDP:
    return DiscountedMDP(P=P, r=r, gamma=gamma, rho0=rho0)


# ----------------------------------------------------------------------------- finite


@dataclass(frozen=True, eq=False)
class FiniteModelSet:
    """An explicit finite uncertainty set {(P_k, r_k) : k = 0..n-1} .

    Attributes
    ----------
    P : ndarray of shape (n, S, A, S)
        P[k, s, a, s'] = kernel of model k; every row is validated.
    r : ndarray of shape (S, A) or (n, S, A)
        Rewards in [0, 1]: one array shared by all models (the paper's setting) or one per model.
        Stored as (n, S, A).
    gamma : float in [0, 1)
    rho0 : ndarray of shape (S,), optional (default uniform)
    nominal : int
        Index of the nominal model (IWOCS's default T_0), default 0.

    A finite set is not (s, a)-rectangular in general: its static worst case can be strictly
    larger than its dynamic one, and IWOCS's upper certificate does not apply
    (docs/papers/iwocs.md).
    """

    P: np.ndarray
    r: np.ndarray
    gamma: float
    rho0: np.ndarray | None = None
    nominal: int = 0
    kind = "finite"
    rectangular = False

    def __post_init__(self):
        P = _validate.as_float_array("P", self.P)
        if P.ndim == 3:
            raise ValueError(f"P must have shape (n, S, A, S) (a stack of kernels), got "
                             f"{P.shape}; wrap a single kernel as P[None]")
        _validate.shape("P", P, ndim=4)
        n, S, A, S2 = P.shape
        _check_size("P", n)
        if S2 != S:
            raise ValueError(f"P must have shape (n, S, A, S), got {P.shape} (last axis {S2} != "
                             f"S={S})")
        check_kernel_stack("P", P, 1, "model")
        _validate.normalize("P", P, tol=np.inf)        # checked: renormalise in float64
        r = _validate.as_float_array("r", self.r)
        if r.ndim == 2:
            _validate.shape("r", r, expected=(S, A))
            _validate.interval("r", r, 0.0, 1.0)
            r = np.broadcast_to(r, (n, S, A)).copy()
        else:
            _validate.shape("r", r, expected=(n, S, A))
            _validate.interval("r", r, 0.0, 1.0)
        gamma, rho0 = _check_gamma_rho0(self.gamma, self.rho0, S)
        nominal = _check_index("nominal", self.nominal, n)
        object.__setattr__(self, "P", _validate.freeze(P))
        object.__setattr__(self, "r", _validate.freeze(r))
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "rho0", rho0)
        object.__setattr__(self, "nominal", nominal)

    n = property(lambda self: self.P.shape[0], doc="number of models")
    S = property(lambda self: self.P.shape[1], doc="number of states")
    A = property(lambda self: self.P.shape[2], doc="number of actions")

    def __len__(self) -> int:
        return self.n

    def model(self, k: int) -> DiscountedMDP:
        """Model k as a DiscountedMDP (P[k], r[k], gamma, rho0)."""
        k = _check_index("k", k, self.n)
        return _as_model(self.P[k], self.r[k], self.gamma, self.rho0)

    def nominal_model(self) -> DiscountedMDP:
        return self.model(self.nominal)

    def hull(self):
        """Candidates of the (s, a)-rectangular hull: Pc (S, A, n, S), rc (S, A, n)."""
        return (np.ascontiguousarray(self.P.transpose(1, 2, 0, 3)),
                np.ascontiguousarray(self.r.transpose(1, 2, 0)))

    def __repr__(self) -> str:
        return f"FiniteModelSet(n={self.n}, S={self.S}, A={self.A}, gamma={self.gamma})"


def _check_index(name: str, k, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"{name} must be an integer model index, got {type(k).__name__} {k!r}")
    if not 0 <= k < n:
        raise ValueError(f"{name} is {k}, expected a model index in [0, {n - 1}]")
    return int(k)


# ----------------------------------------------------------------------------- rectangular


@dataclass(frozen=True, eq=False)
class RectangularModelSet:
    """(s, a)-rectangular set: prod_{s,a} conv{(P[s, a, k], r[s, a, k]) : k = 0..n-1}.

    Attributes
    ----------
    P : ndarray of shape (S, A, n, S)
        Candidate rows; P[s, a, k] is the k-th candidate for P(. | s, a). Pairs with fewer
        distinct candidates repeat one.
    r : ndarray of shape (S, A) or (S, A, n)
        Rewards in [0, 1]: shared by the candidates of a pair, or one per candidate (stored as
        (S, A, n)). A convex combination of candidates mixes rows and rewards with the same
        weights.
    gamma : float in [0, 1)
    rho0 : ndarray of shape (S,), optional (default uniform)
    nominal : int
        Candidate index of the nominal model (the same index in every pair), default 0.

    A member of the set is given by a choice ``k[s, a]`` of candidate per pair; the vertices
    are all that worst cases need (a linear objective over a polytope).
    """

    P: np.ndarray
    r: np.ndarray
    gamma: float
    rho0: np.ndarray | None = None
    nominal: int = 0
    kind = "rectangular"
    rectangular = True

    def __post_init__(self):
        P = _validate.as_float_array("P", self.P)
        _validate.shape("P", P, ndim=4)
        S, A, n, S2 = P.shape
        _check_size("P", n, "candidate rows")
        if S2 != S:
            raise ValueError(f"P must have shape (S, A, n, S), got {P.shape} (last axis {S2} != "
                             f"S={S})")
        check_kernel_stack("P", P, -1, "candidate")
        _validate.normalize("P", P, tol=np.inf)        # checked: renormalise in float64
        r = _validate.as_float_array("r", self.r)
        if r.ndim == 2:
            _validate.shape("r", r, expected=(S, A))
            _validate.interval("r", r, 0.0, 1.0)
            r = np.broadcast_to(r[:, :, None], (S, A, n)).copy()
        else:
            _validate.shape("r", r, expected=(S, A, n))
            _validate.interval("r", r, 0.0, 1.0)
        gamma, rho0 = _check_gamma_rho0(self.gamma, self.rho0, S)
        nominal = _check_index("nominal", self.nominal, n)
        object.__setattr__(self, "P", _validate.freeze(P))
        object.__setattr__(self, "r", _validate.freeze(r))
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "rho0", rho0)
        object.__setattr__(self, "nominal", nominal)

    S = property(lambda self: self.P.shape[0], doc="number of states")
    A = property(lambda self: self.P.shape[1], doc="number of actions")
    n = property(lambda self: self.P.shape[2], doc="candidates per (s, a)")

    def check_choice(self, choice, name: str = "choice") -> np.ndarray:
        """An int array (S, A) of candidate indices in [0, n)."""
        c = np.asarray(choice)
        if not np.issubdtype(c.dtype, np.integer):
            raise TypeError(f"{name} must be an integer array of shape (S, A), got dtype "
                            f"{c.dtype}")
        _validate.shape(name, c, expected=(self.S, self.A))
        bad = (c < 0) | (c >= self.n)
        if bad.any():
            i = np.unravel_index(int(np.argmax(bad)), c.shape)
            raise ValueError(f"{name}[{_idx(i)}] is {c[i]}, expected a candidate index in "
                             f"[0, {self.n - 1}]")
        return c.astype(np.int64)

    def rows(self, choice):
        """The member of the set with candidate choice[s, a] in each pair: P (S, A, S), r (S, A)."""
        c = self.check_choice(choice)
        P = np.take_along_axis(self.P, c[:, :, None, None], axis=2)[:, :, 0]
        r = np.take_along_axis(self.r, c[:, :, None], axis=2)[:, :, 0]
        return P, r

    def model(self, choice) -> DiscountedMDP:
        P, r = self.rows(choice)
        return _as_model(P, r, self.gamma, self.rho0)

    def nominal_choice(self) -> np.ndarray:
        return np.full((self.S, self.A), self.nominal, dtype=np.int64)

    def nominal_model(self) -> DiscountedMDP:
        return self.model(self.nominal_choice())

    def hull(self):
        """The set is its own (s, a)-rectangular hull: Pc (S, A, n, S), rc (S, A, n)."""
        return np.ascontiguousarray(self.P), np.ascontiguousarray(self.r)

    def vertices(self, max_count: int = 100_000) -> FiniteModelSet:
        """All n^(S A) vertex models as a FiniteModelSet (tiny sets only: brute-force checks)."""
        count = self.n ** (self.S * self.A)
        if count > max_count:
            raise ValueError(f"the set has {count} vertices (n={self.n}, S={self.S}, "
                             f"A={self.A}), more than max_count={max_count}")
        Ps, rs = [], []
        for combo in itertools.product(range(self.n), repeat=self.S * self.A):
            P, r = self.rows(np.array(combo, dtype=np.int64).reshape(self.S, self.A))
            Ps.append(P)
            rs.append(r)
        return FiniteModelSet(np.array(Ps), np.array(rs), self.gamma, self.rho0)

    def __repr__(self) -> str:
        return (f"RectangularModelSet(S={self.S}, A={self.A}, n={self.n} candidates per pair, "
                f"gamma={self.gamma})")


# ----------------------------------------------------------------------------- parametric


def _check_box(lower, upper):
    lo = _validate.as_float_array("lower", lower)
    hi = _validate.as_float_array("upper", upper)
    lo = np.atleast_1d(lo)
    hi = np.atleast_1d(hi)
    _validate.shape("lower", lo, ndim=1)
    _validate.shape("upper", hi, expected=lo.shape)
    if lo.size < 1:
        raise ValueError("lower holds no parameters: the parameter box is empty")
    _validate.finite("lower", lo)
    _validate.finite("upper", hi)
    bad = lo > hi
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"lower[{i}] = {lo[i]:.6g} > upper[{i}] = {hi[i]:.6g}: the parameter "
                         f"box is empty")
    return _validate.freeze(lo), _validate.freeze(hi)


def _psi_text(psi) -> str:
    return "[" + ", ".join(f"{x:.6g}" for x in np.atleast_1d(psi)) + "]"


@dataclass(frozen=True, eq=False)
class ParametricModelSet:
    """{T_psi = (P_psi, r_psi) : psi in [lower, upper]} for a callable family.

    Attributes
    ----------
    fn : callable
        fn(psi) with psi an ndarray of shape (d,) returns P_psi (S, A, S), or a pair
        (P_psi (S, A, S), r_psi (S, A)).
    lower, upper : array of shape (d,)
        The parameter box Psi (lower <= upper entrywise).
    gamma : float in [0, 1)
    rho0 : ndarray of shape (S,), optional (default uniform)
    r : ndarray of shape (S, A), optional
        The reward when ``fn`` returns only kernels (required then).
    nominal : array of shape (d,), optional
        Nominal parameter (IWOCS's default T_0); default ``lower``.
    rectangular : bool
        Declare the family (s, a)-rectangular (each parameter moves rows of one pair only).
        Default False (a physical parameter shared by all states): then the static worst case
        can exceed the dynamic one and IWOCS reports only its lower bound (docs/papers/iwocs.md).

    Every kernel produced by ``fn`` is validated when produced; the nominal parameter and the
    box corners (if at most ``MAX_CORNERS``) are checked at construction.
    """

    fn: Callable
    lower: np.ndarray
    upper: np.ndarray
    gamma: float
    rho0: np.ndarray | None = None
    r: np.ndarray | None = None
    nominal: np.ndarray | None = None
    rectangular: bool = False
    _shape: tuple = field(default=(), repr=False)
    kind = "parametric"

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"fn must be callable psi -> P or (P, r), got "
                            f"{type(self.fn).__name__}")
        lo, hi = _check_box(self.lower, self.upper)
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)
        nominal = lo.copy() if self.nominal is None else self.check_psi(self.nominal, "nominal")
        object.__setattr__(self, "nominal", _validate.freeze(nominal))
        if self.r is not None:
            r = _validate.as_float_array("r", self.r)
            _validate.shape("r", r, ndim=2)
            _validate.interval("r", r, 0.0, 1.0)
            object.__setattr__(self, "r", _validate.freeze(r))
        object.__setattr__(self, "rectangular", bool(self.rectangular))
        P, r = self._call(nominal, first=True)
        object.__setattr__(self, "_shape", P.shape)
        gamma, rho0 = _check_gamma_rho0(self.gamma, self.rho0, P.shape[0])
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "rho0", rho0)
        self._check_corners()

    def _check_corners(self):
        d = self.d
        if 2 ** d <= MAX_CORNERS:
            for bits in itertools.product((0, 1), repeat=d):
                psi = np.where(np.array(bits, dtype=bool), self.upper, self.lower)
                self.kernel(psi)

    d = property(lambda self: self.lower.shape[0], doc="number of parameters")
    S = property(lambda self: self._shape[0], doc="number of states")
    A = property(lambda self: self._shape[1], doc="number of actions")

    def check_psi(self, psi, name: str = "psi") -> np.ndarray:
        """psi as a float array (d,) inside the box (1e-12 slack, then clipped)."""
        x = np.atleast_1d(_validate.as_float_array(name, psi))
        _validate.shape(name, x, expected=self.lower.shape)
        _validate.finite(name, x)
        bad = (x < self.lower - 1e-12) | (x > self.upper + 1e-12)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name}[{i}] is {x[i]:.6g}, outside the parameter box "
                             f"[{self.lower[i]:.6g}, {self.upper[i]:.6g}]")
        return np.clip(x, self.lower, self.upper)

    def _call(self, psi, first: bool = False):
        out = self.fn(psi.copy())
        if isinstance(out, tuple):
            if len(out) != 2:
                raise TypeError(f"fn(psi={_psi_text(psi)}) must return P or a pair (P, r), got "
                                f"a tuple of length {len(out)}")
            P, r = out
        else:
            P, r = out, self.r
        if r is None:
            raise ValueError("fn returns only kernels, so the reward r (S, A) must be given")
        try:                                  # copies: fn may reuse its output buffers
            P = np.array(P, dtype=np.float64)
        except (TypeError, ValueError):
            P = _validate.as_float_array(f"fn(psi={_psi_text(psi)})", P)   # raises TypeError
        try:
            r = np.array(r, dtype=np.float64)
        except (TypeError, ValueError):
            r = _validate.as_float_array(f"r(psi={_psi_text(psi)})", r)    # raises TypeError
        if P.ndim != 3 or P.shape[0] != P.shape[2]:
            raise ValueError(f"fn(psi={_psi_text(psi)}) must return a kernel of shape (S, A, S), "
                             f"got shape {P.shape}")
        if not first and P.shape != self._shape:
            raise ValueError(f"fn(psi={_psi_text(psi)}) returned shape {P.shape}, but the "
                             f"nominal kernel has shape {self._shape}")
        if r.shape != P.shape[:2]:
            _validate.shape(f"r(psi={_psi_text(psi)})", r, expected=P.shape[:2])
        # fast test first; the detailed checks (and their messages) only when it fails
        ok = (np.all(np.isfinite(P)) and P.min() >= 0.0
              and np.abs(P.sum(axis=-1) - 1.0).max() <= _TOL
              and np.all(np.isfinite(r)) and r.min() >= -1e-12 and r.max() <= 1.0 + 1e-12)
        if not ok:
            check_kernel_stack("P_psi", P[None], 1, "model",
                               label=f"the model at psi={_psi_text(psi)}")
            _validate.interval(f"r(psi={_psi_text(psi)})", r, 0.0, 1.0)
        return P, r

    def kernel(self, psi):
        """(P_psi (S, A, S), r_psi (S, A)), validated."""
        return self._call(self.check_psi(psi))

    def models_at(self, psis):
        """Stacked validated models at the parameters psis (m, d): P (m, S, A, S), r (m, S, A)."""
        psis = np.atleast_2d(np.asarray(psis, dtype=np.float64))
        Ps = np.empty((psis.shape[0],) + self._shape)
        rs = np.empty((psis.shape[0],) + self._shape[:2])
        for j, psi in enumerate(psis):
            Ps[j], rs[j] = self.kernel(psi)
        return Ps, rs

    def model(self, psi) -> DiscountedMDP:
        P, r = self.kernel(psi)
        return _as_model(P, r, self.gamma, self.rho0)

    def nominal_model(self) -> DiscountedMDP:
        return self.model(self.nominal)

    def grid(self, points) -> np.ndarray:
        """Tensor grid of the box with ``points`` values per parameter (an int, or one int per
        parameter; 1 point = the lower end): psis (m, d), m = prod(points)."""
        pts = np.broadcast_to(np.asarray(points), (self.d,))
        axes = []
        for i, p in enumerate(pts):
            p = _validate.positive_int(f"grid_points[{i}]" if np.ndim(points) else "grid_points",
                                       p.item() if hasattr(p, "item") else p)
            axes.append(np.linspace(self.lower[i], self.upper[i], p) if p > 1
                        else np.array([self.lower[i]]))
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.reshape(-1) for m in mesh], axis=1)

    def hull(self, grid_points=5):
        """Candidates of the (s, a)-rectangular hull of the grid models: Pc (S, A, m, S),
        rc (S, A, m). The dynamic model over a general family is approximated by its grid."""
        P, r = self.models_at(self.grid(grid_points))
        return (np.ascontiguousarray(P.transpose(1, 2, 0, 3)),
                np.ascontiguousarray(r.transpose(1, 2, 0)))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(d={self.d}, S={self.S}, A={self.A}, "
                f"gamma={self.gamma})")


@dataclass(frozen=True, eq=False, repr=False)
class AffineModelSet(ParametricModelSet):
    """Affine family P_psi = P0 + sum_i psi_i D[i], r_psi = r0 + sum_i psi_i e[i], psi in a box.

    Built with :meth:`from_arrays`. Validation is exact for the whole box: rows of P0 sum to 1,
    rows of every D[i] sum to 0, and every entry of P_psi (and r_psi) stays in range at the
    corner of the box where it is smallest (largest). The dynamic worst case over the
    (s, a)-rectangular hull is exact (the objective is affine and separable in psi).

    Attributes (beyond :class:`ParametricModelSet`)
    -----------------------------------------------
    P0 : ndarray (S, A, S);  D : ndarray (d, S, A, S);  r0 : ndarray (S, A);  e : ndarray (d, S, A)
    """

    P0: np.ndarray | None = None
    D: np.ndarray | None = None
    r0: np.ndarray | None = None
    e: np.ndarray | None = None
    kind = "parametric"

    @classmethod
    def from_arrays(cls, P0, D, r0, lower, upper, gamma, *, e=None, rho0=None, nominal=None,
                    rectangular: bool = False) -> AffineModelSet:
        """Validated affine family (see the class docstring); shapes as in Attributes."""
        P0 = _validate.as_float_array("P0", P0)
        _validate.shape("P0", P0, ndim=3)
        S, A, S2 = P0.shape
        if S2 != S:
            raise ValueError(f"P0 must have shape (S, A, S), got {P0.shape}")
        lo, hi = _check_box(lower, upper)
        d = lo.shape[0]
        D = _validate.as_float_array("D", D)
        _validate.shape("D", D, expected=(d, S, A, S))
        _validate.finite("D", D)
        r0 = _validate.as_float_array("r0", r0)
        _validate.shape("r0", r0, expected=(S, A))
        _validate.finite("r0", r0)
        e = np.zeros((d, S, A)) if e is None else _validate.as_float_array("e", e)
        _validate.shape("e", e, expected=(d, S, A))
        _validate.finite("e", e)
        check_kernel_stack("P0", P0[None], 1, "model", label="the base kernel")
        _validate.normalize("P0", P0, tol=np.inf)      # checked: renormalise in float64
        sums = D.sum(axis=-1)
        off = np.abs(sums) > _TOL
        if off.any():
            i = np.unravel_index(int(np.argmax(off)), sums.shape)
            raise ValueError(f"direction {i[0]} of D moves probability mass in or out: "
                             f"D[{_idx(i)}] sums to {sums[i]:.10g}, expected 0 (tolerance "
                             f"{_TOL:g}) (row s={i[1]}, a={i[2]})")
        lo_b = lo[:, None, None, None]
        hi_b = hi[:, None, None, None]
        Pmin = P0 + np.minimum(lo_b * D, hi_b * D).sum(axis=0)      # smallest entry over the box
        neg = Pmin < -1e-12
        if neg.any():
            i = np.unravel_index(int(np.argmax(neg)), Pmin.shape)
            corner = np.where(D[(slice(None),) + i] >= 0, lo, hi)
            raise ValueError(f"the model at psi={_psi_text(corner)} is not a transition kernel: "
                             f"P_psi[{_idx(i)}] is {Pmin[i]:.6g}, expected a probability >= 0 "
                             f"(row s={i[0]}, a={i[1]})")
        lo_e = lo[:, None, None]
        hi_e = hi[:, None, None]
        rmin = r0 + np.minimum(lo_e * e, hi_e * e).sum(axis=0)
        rmax = r0 + np.maximum(lo_e * e, hi_e * e).sum(axis=0)
        for arr, bad, word in ((rmin, rmin < -1e-12, "smallest"), (rmax, rmax > 1 + 1e-12,
                                                                    "largest")):
            if bad.any():
                i = np.unravel_index(int(np.argmax(bad)), arr.shape)
                raise ValueError(f"r_psi[{_idx(i)}] reaches {arr[i]:.6g} ({word} value over the "
                                 f"box), expected rewards in [0, 1]")
        for name, x in (("P0", P0), ("D", D), ("r0", r0), ("e", e)):
            _validate.freeze(x)

        def fn(psi, P0=P0, D=D, r0=r0, e=e):
            P = P0 + np.tensordot(psi, D, axes=1)
            P = np.clip(P, 0.0, None)          # remove -1e-17 rounding at zero entries
            r = np.clip(r0 + np.tensordot(psi, e, axes=1), 0.0, 1.0)
            return P, r

        return cls(fn=fn, lower=lo, upper=hi, gamma=gamma, rho0=rho0, nominal=nominal,
                   rectangular=rectangular, P0=P0, D=D, r0=r0, e=e)

    def _check_corners(self):
        if self.P0 is None:
            raise TypeError("build an AffineModelSet with AffineModelSet.from_arrays(...)")
        # the whole box was checked exactly in from_arrays

    def kernel(self, psi):
        """(P_psi, r_psi) without re-validation: the whole box was checked in from_arrays."""
        psi = self.check_psi(psi)
        P = np.clip(self.P0 + np.tensordot(psi, self.D, axes=1), 0.0, None)
        r = np.clip(self.r0 + np.tensordot(psi, self.e, axes=1), 0.0, 1.0)
        return P, r

    def models_at(self, psis):
        """Vectorised: P (m, S, A, S), r (m, S, A) at psis (m, d) (inside the box)."""
        psis = np.atleast_2d(np.asarray(psis, dtype=np.float64))
        _validate.shape("psis", psis, expected=(None, self.d))
        _validate.finite("psis", psis)
        bad = (psis < self.lower - 1e-12) | (psis > self.upper + 1e-12)
        if bad.any():
            j, i = np.unravel_index(int(np.argmax(bad)), bad.shape)
            raise ValueError(f"psis[{j}, {i}] is {psis[j, i]:.6g}, outside the parameter box "
                             f"[{self.lower[i]:.6g}, {self.upper[i]:.6g}]")
        psis = np.clip(psis, self.lower, self.upper)
        P = self.P0[None] + np.tensordot(psis, self.D, axes=1)
        r = self.r0[None] + np.tensordot(psis, self.e, axes=1)
        return np.clip(P, 0.0, None), np.clip(r, 0.0, 1.0)


__all__ = [
    "MAX_CORNERS",
    "AffineModelSet",
    "FiniteModelSet",
    "ParametricModelSet",
    "RectangularModelSet",
    "check_kernel_stack",
]
