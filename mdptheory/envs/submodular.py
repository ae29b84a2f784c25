"""Submodular rewards over visited states and the SMDP environments of Prajapat et al. (2024).

Paper: M. Prajapat, M. Mutny, M. N. Zeilinger, A. Krause, "Submodular Reinforcement Learning",
ICLR 2024 (arXiv 2307.13372); see docs/papers/subpo.md.

Set functions. A set function F : 2^{0..n-1} -> R is given as a :class:`SetFunction`;
the ground set is the state space (F is defined on states, not on (state, time) pairs, as in
the released code). Every family built here is normalized (F(empty) = 0),
monotone and submodular by construction:

* :func:`modular` -- F(V) = sum_{v in V} w_v;
* :func:`coverage` / :func:`weighted_coverage` -- F(V) = sum_{u in U_{v in V} D(v)} w_u with
  footprints D(v) (the paper's coverage reward; grid footprint 2x2 with v at its top-left corner,
  as in
  the released code's ``diag_reward_graph``; "3x3" is the code's "large disc");
* :func:`facility_location` -- F(V) = sum_u max_{v in V} W[u, v] (max over the empty set = 0);
* :func:`item_collection` -- F(V) = sum_k min(|V n G_k|, D_k);
* :func:`f_alpha` -- F_alpha = alpha * modular + (1 - alpha) * weighted coverage, a family with
  curvature decreasing in alpha;
* :func:`gp_mutual_information` -- F(V) = 1/2 log det(I + sigma^-2 K_VV) (the
  paper's "clean" experiment-design reward); computed per set, tabulated for kernels;
* :meth:`SetFunction.from_callable` / :meth:`SetFunction.from_table` -- anything else, checked
  for normalization, monotonicity and submodularity on random sets when used in an SMDP.

The first five are one :class:`StructuredSetFunction`,
F(V) = sum_u w_u min(sum_{v in V} C[u, v], cap_u) + sum_u' max_{v in V} W[u', v], which the
numba samplers evaluate incrementally for any n (the visited set of a 30 x 30 grid).
Total curvature (the standard definition of Conforti & Cornuejols 1984; whether the paper
uses exactly this one could not be checked):
c = 1 - min_{v: F({v}) > 0} F(v | Omega - v) / F({v}).

Environments. :class:`SubmodularMDP` pairs the dynamics (a FiniteHorizonMDP whose rewards are
ignored) with F. Trajectories tau = (s_0, a_0, ..., a_{H-1}, s_H) have H actions (the paper's
convention; the released code's H counts states, H_paper = H_code - 1), and
J(pi) = E[F({s_0, ..., s_H})].

* :func:`grid_smdp` -- the released code's grid world: 5 actions 0 stay,
  1 (i, j+1), 2 (i+1, j), 3 (i, j-1), 4 (i-1, j); moves off the grid or into a wall stay.
  ``slip`` = probability that the action is replaced by a uniformly random one (the code's
  ``stochasticity``, applied per step and trajectory instead of to a random fraction of the
  batch). States are the non-wall cells in sorted (row, col) order -- with walls this differs
  from the code's n = i * Y + j numbering; ``return_nodes`` gives the map.
* :func:`graph_smdp` -- any networkx graph: action 0 stays, action k moves to the k-th
  neighbour (sorted), coverage footprints are closed neighbourhoods.
* :func:`two_rooms` -- building exploration (the paper's map; start (2, 6) = the code's node 34,
  unweighted 2x2 coverage restricted to non-wall cells -- a reconstruction of the code's
  ``room_diag_reward_graph``, which drops footprint edges into walls).
* :func:`paper_grid` -- the paper's discrete domains ("coverage", "bimodal", "gp",
  "item_collection", "two_rooms"), start node 34. The gorilla density is not public and the
  code's entropy reward is not a set function; neither is provided.
* :func:`epsilon_bandit` -- the eps-Bandit SMDP of Theorem 3: A = S,
  action a moves to state a w.p. 1 - eps and to a uniform state otherwise; the start state's
  action acts as the "dropped" null action of the down-closed polytope.
* :func:`random_grid_smdp` -- random small instances of the families above.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..kernels import subpo as _k
from ..models import _validate
from ..models.finite import FiniteHorizonMDP

PAPER_ACTIONS = ((0, 0), (0, 1), (1, 0), (0, -1), (-1, 0))   # stay, right, down, left, up
ACTION_NAMES = ("stay", "right", "down", "left", "up")
MAX_TABLE_BITS = 24      # 2**24 float64 = 128 MB
MAX_CALLABLE_BITS = 20   # 2**20 Python calls
TWO_ROOMS_LAYOUT = (
    "....######....",
    "....######....",
    "..............",
    "..............",
    "....######....",
    "....######....",
    "....######....",
)
PAPER_START_NODE = 34    # the released code starts every trajectory at node 34 = i * Y + j
FAMILIES = ("coverage", "weighted_coverage", "facility_location", "item_collection", "f_alpha")


def _fmt_set(members) -> str:
    return "{" + ", ".join(str(int(m)) for m in members) + "}"


def _members_of_mask(M: int) -> list:
    out, v = [], 0
    M = int(M)
    while M:
        if M & 1:
            out.append(v)
        M >>= 1
        v += 1
    return out


# ============================================================================= set functions

class SetFunction:
    """A normalized set function on the ground set {0, ..., n-1}.

    Subclasses implement :meth:`values` (bitmasks) and/or :meth:`value` (any collection).
    """

    n: int
    name: str = "F"
    structured: bool = False

    # ---- evaluation
    def value(self, V) -> float:
        """F(V) for a collection of element indices or a boolean mask of shape (n,)."""
        members = self._members(V)
        if self.n > 62:
            raise NotImplementedError(f"{type(self).__name__} cannot evaluate sets over "
                                      f"n={self.n} > 62 elements")
        M = 0
        for v in members:
            M |= 1 << int(v)
        return float(self.values(np.array([M], dtype=np.int64))[0])

    __call__ = value

    def values(self, masks) -> np.ndarray:
        """F at each bitmask in ``masks`` (int64, element v <-> bit v; needs n <= 62)."""
        raise NotImplementedError

    def marginal(self, v, V) -> float:
        """F(v | V) = F(V + v) - F(V)."""
        members = self._members(V)
        v = self._element(v, "v")
        return self.value(sorted(set(members) | {v})) - self.value(members)

    def singletons(self) -> np.ndarray:
        """F({v}) for v = 0..n-1, shape (n,)."""
        return np.array([self.value([v]) for v in range(self.n)])

    def table(self) -> np.ndarray:
        """F(M) for every bitmask M < 2**n, shape (2**n,) (n <= 24)."""
        if self.n > MAX_TABLE_BITS:
            raise ValueError(f"table() needs n <= {MAX_TABLE_BITS} (2**n entries), got n={self.n}")
        return self.values(np.arange(1 << self.n, dtype=np.int64))

    def curvature(self) -> float:
        """Total curvature c = 1 - min_{v: F({v}) > 0} F(v | Omega - v) / F({v}) in [0, 1]
        (Conforti & Cornuejols 1984). 0 for modular F, 1 when some element's gain
        vanishes once everything else is in the set."""
        full = self.value(range(self.n))
        single = self.singletons()
        ratios = []
        for v in range(self.n):
            if single[v] > 1e-12 * max(1.0, abs(full)):
                rest = [u for u in range(self.n) if u != v]
                ratios.append((full - self.value(rest)) / single[v])
        if not ratios:
            return 0.0
        return float(np.clip(1.0 - min(ratios), 0.0, 1.0))

    def kernel_args(self) -> tuple:
        """Arguments (use_table, table, cs_ptr, cs_idx, cs_val, cs_w, cs_cap, U1, fl_ptr,
        fl_idx, fl_val, U2) of the numba samplers: a table for n <= 24."""
        if self.n > MAX_TABLE_BITS:
            raise ValueError(f"{type(self).__name__} over n={self.n} > {MAX_TABLE_BITS} "
                             f"elements cannot be sampled in the numba kernels; use a "
                             f"StructuredSetFunction (coverage, facility location, ...)")
        if getattr(self, "_table_cache", None) is None:
            self._table_cache = np.ascontiguousarray(self.table(), dtype=np.float64)
        return (True, self._table_cache) + _EMPTY_STRUCT

    # ---- helpers
    def _element(self, v, name: str) -> int:
        if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
            raise TypeError(f"{name} must be an integer element index, got {v!r}")
        if not 0 <= int(v) < self.n:
            raise ValueError(f"{name} is {v}, expected an element in [0, {self.n - 1}]")
        return int(v)

    def _members(self, V) -> list:
        arr = np.asarray(list(V) if not isinstance(V, np.ndarray) else V)
        if arr.dtype == np.bool_:
            if arr.shape != (self.n,):
                raise ValueError(f"a boolean set mask must have shape ({self.n},), got "
                                 f"{arr.shape}")
            return [int(i) for i in np.flatnonzero(arr)]
        if arr.size == 0:
            return []
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"a set must hold integer element indices, got dtype {arr.dtype}")
        arr = arr.ravel()
        bad = (arr < 0) | (arr >= self.n)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"set element [{i}] is {arr[i]}, expected an element in "
                             f"[0, {self.n - 1}]")
        return sorted({int(x) for x in arr})

    # ---- constructors for arbitrary functions
    @staticmethod
    def from_table(table, name: str = "tabulated") -> TabulatedSetFunction:
        """F given by its values on all 2**n bitmasks (table[0] must be 0)."""
        return TabulatedSetFunction(table, name=name)

    @staticmethod
    def from_callable(fn, n: int, name: str = "callable") -> TabulatedSetFunction:
        """Tabulate fn(frozenset) over the 2**n subsets (n <= 20); fn(empty) must be 0."""
        n = _validate.positive_int("n", n)
        if n > MAX_CALLABLE_BITS:
            raise ValueError(f"from_callable tabulates 2**n sets; n must be <= "
                             f"{MAX_CALLABLE_BITS}, got {n}")
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        table = np.empty(1 << n)
        for M in range(1 << n):
            val = fn(frozenset(_members_of_mask(M)))
            try:
                table[M] = float(val)
            except (TypeError, ValueError):
                raise TypeError(f"fn({_fmt_set(_members_of_mask(M))}) returned {val!r}, "
                                f"expected a real number") from None
        return TabulatedSetFunction(table, name=name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, n={self.n})"


_EMPTY_STRUCT = (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0),
                 np.zeros(0), np.zeros(0), 0, np.zeros(1, dtype=np.int64),
                 np.zeros(0, dtype=np.int64), np.zeros(0), 0)


def _csc(M: np.ndarray):
    """Column-wise sparse storage of a dense (U, n) matrix: ptr (n+1,), row idx, values."""
    n = M.shape[1]
    ptr = np.zeros(n + 1, dtype=np.int64)
    idx, val = [], []
    for v in range(n):
        rows = np.flatnonzero(M[:, v] != 0.0)
        idx.append(rows)
        val.append(M[rows, v])
        ptr[v + 1] = ptr[v] + rows.size
    idx = np.concatenate(idx).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
    val = np.concatenate(val).astype(np.float64) if n else np.zeros(0)
    return ptr, idx, val


class StructuredSetFunction(SetFunction):
    """F(V) = sum_u w[u] min(sum_{v in V} C[u, v], cap[u]) + sum_u' max_{v in V} W[u', v].

    Monotone and submodular for C >= 0, w >= 0, cap > 0 (inf allowed), W >= 0 (a sum of
    concave functions of nonnegative modular functions plus a facility-location term); F of
    the empty set is 0.

    Parameters
    ----------
    n : int
        Ground-set size.
    C : ndarray of shape (U1, n), optional
        Capped-sum incidence (coverage footprints, item groups, identity for modular).
    w : ndarray of shape (U1,), optional
        Weights of the capped-sum rows (default 1).
    cap : ndarray of shape (U1,), optional
        Caps (default 1: coverage).
    W : ndarray of shape (U2, n), optional
        Facility-location benefits.
    """

    structured = True

    def __init__(self, n: int, C=None, w=None, cap=None, W=None, name: str = "structured"):
        self.n = _validate.positive_int("n", n)
        self.name = str(name)
        if C is None:
            C = np.zeros((0, self.n))
        C = _validate.as_float_array("C", C)
        _validate.shape("C", C, expected=(None, self.n))
        U1 = C.shape[0]
        w = np.ones(U1) if w is None else _validate.as_float_array("w", w)
        _validate.shape("w", w, expected=(U1,))
        cap = np.ones(U1) if cap is None else _validate.as_float_array("cap", cap)
        _validate.shape("cap", cap, expected=(U1,))
        if W is None:
            W = np.zeros((0, self.n))
        W = _validate.as_float_array("W", W)
        _validate.shape("W", W, expected=(None, self.n))
        for nm, x in (("C", C), ("w", w), ("W", W)):
            _validate.finite(nm, x)
            neg = x < 0
            if neg.any():
                idx = np.unravel_index(int(np.argmax(neg)), x.shape)
                raise ValueError(f"{nm}[{_validate._index(idx)}] is {x[idx]:.6g}, expected a "
                                 f"value >= 0 (monotone submodular form)")
        if np.isnan(cap).any() or (cap <= 0).any():
            i = int(np.argmax(np.isnan(cap) | (cap <= 0)))
            raise ValueError(f"cap[{i}] is {cap[i]}, expected a cap > 0 (inf allowed)")
        self.C, self.w, self.cap, self.W = C, w, cap, W
        self._cs = _csc(C)
        self._fl = _csc(W)

    @property
    def U1(self) -> int:
        return self.C.shape[0]

    @property
    def U2(self) -> int:
        return self.W.shape[0]

    def value(self, V) -> float:
        members = self._members(V)
        if not members:
            return 0.0
        tot = 0.0
        if self.U1:
            tot += float(self.w @ np.minimum(self.C[:, members].sum(axis=1), self.cap))
        if self.U2:
            tot += float(self.W[:, members].max(axis=1).sum())
        return tot

    __call__ = value

    def values(self, masks) -> np.ndarray:
        if self.n > 62:
            raise ValueError(f"bitmask evaluation needs n <= 62, got n={self.n}")
        masks = np.ascontiguousarray(masks, dtype=np.int64)
        out = np.empty(masks.shape[0])
        _k.structured_values(masks, self.n, *self._cs, self.w, self.cap, self.U1, *self._fl,
                             self.U2, out)
        return out

    def singletons(self) -> np.ndarray:
        out = np.zeros(self.n)
        if self.U1:
            out += self.w @ np.minimum(self.C, self.cap[:, None])
        if self.U2:
            out += self.W.sum(axis=0)
        return out

    def kernel_args(self) -> tuple:
        return ((False, np.zeros(1)) + self._cs + (self.w, self.cap, self.U1) + self._fl
                + (self.U2,))

    def __add__(self, other):
        if not isinstance(other, StructuredSetFunction):
            return NotImplemented
        if other.n != self.n:
            raise ValueError(f"cannot add set functions over n={self.n} and n={other.n} "
                             f"elements")
        return StructuredSetFunction(self.n, np.vstack([self.C, other.C]),
                                     np.concatenate([self.w, other.w]),
                                     np.concatenate([self.cap, other.cap]),
                                     np.vstack([self.W, other.W]),
                                     name=f"{self.name}+{other.name}")

    def __mul__(self, c):
        c = _validate.real("scale", c, lo=0.0)
        return StructuredSetFunction(self.n, self.C, self.w * c, self.cap, self.W * c,
                                     name=f"{c:g}*{self.name}")

    __rmul__ = __mul__


class TabulatedSetFunction(SetFunction):
    """F given on all 2**n bitmasks (n <= 24); table[0] = F(empty) must be 0."""

    def __init__(self, table, name: str = "tabulated"):
        t = _validate.as_float_array("table", table)
        _validate.shape("table", t, ndim=1)
        n = int(np.log2(t.shape[0])) if t.shape[0] > 0 else -1
        if n < 1 or (1 << n) != t.shape[0]:
            raise ValueError(f"table must have 2**n entries (n >= 1), got {t.shape[0]}")
        if n > MAX_TABLE_BITS:
            raise ValueError(f"table over n={n} > {MAX_TABLE_BITS} elements is too large")
        _validate.finite("table", t)
        if abs(t[0]) > 1e-12:
            raise ValueError(f"F(empty set) = table[0] = {t[0]:.6g}, expected 0 (normalized "
                             f"set function; subtract F(empty))")
        self.n = n
        self.name = str(name)
        self._t = _validate.freeze(t)
        self._table_cache = self._t

    def values(self, masks) -> np.ndarray:
        masks = np.asarray(masks, dtype=np.int64)
        return self._t[masks]

    def table(self) -> np.ndarray:
        return self._t


class GPMutualInformation(SetFunction):
    """F(V) = 1/2 log det(I + K_VV / noise) for a GP kernel matrix K (the
    paper's mutual-information form of Bayesian D-optimal design). Monotone submodular
    (Krause & Guestrin 2005). Evaluated per set (Cholesky log-determinants); the samplers
    use its table, so n <= 24 there."""

    def __init__(self, K, noise: float, name: str = "gp_mi"):
        K = _validate.as_float_array("K", K)
        _validate.shape("K", K, ndim=2)
        if K.shape[0] != K.shape[1]:
            raise ValueError(f"K must be square, got shape {K.shape}")
        _validate.finite("K", K)
        if not np.allclose(K, K.T, atol=1e-10):
            raise ValueError("K must be symmetric")
        self.noise = _validate.real("noise", noise, lo=0.0, lo_open=True)
        self.K = K
        self.n = K.shape[0]
        self.name = name

    def value(self, V) -> float:
        m = self._members(V)
        if not m:
            return 0.0
        _, ld = np.linalg.slogdet(np.eye(len(m)) + self.K[np.ix_(m, m)] / self.noise)
        return 0.5 * float(ld)

    __call__ = value

    def values(self, masks) -> np.ndarray:
        masks = np.asarray(masks, dtype=np.int64)
        out = np.zeros(masks.shape[0])
        bits = ((masks[:, None] >> np.arange(self.n)) & 1).astype(bool)
        sizes = bits.sum(axis=1)
        for k in np.unique(sizes):
            if k == 0:
                continue
            rows = np.flatnonzero(sizes == k)
            idx = np.nonzero(bits[rows])[1].reshape(rows.size, k)
            sub = self.K[idx[:, :, None], idx[:, None, :]] / self.noise
            sub += np.eye(k)
            out[rows] = 0.5 * np.linalg.slogdet(sub)[1]
        return out


# ---------------------------------------------------------------------------- constructors

def _weights(name: str, w, n: int) -> np.ndarray:
    arr = np.ones(n) if w is None else _validate.as_float_array(name, w)
    _validate.shape(name, arr, expected=(n,))
    _validate.finite(name, arr)
    neg = arr < 0
    if neg.any():
        i = int(np.argmax(neg))
        raise ValueError(f"{name}[{i}] is {arr[i]:.6g}, expected a weight >= 0 (monotone "
                         f"submodular reward)")
    return arr


def _footprint_matrix(footprints, n: int, U: int) -> np.ndarray:
    if len(footprints) != n:
        raise ValueError(f"footprints must have one entry per element (n={n}), got "
                         f"{len(footprints)}")
    C = np.zeros((U, n))
    for v, fp in enumerate(footprints):
        for u in fp:
            if isinstance(u, bool) or not isinstance(u, (numbers.Integral, np.integer)):
                raise TypeError(f"footprints[{v}] contains {u!r}, expected integer indices")
            if not 0 <= int(u) < U:
                raise ValueError(f"footprints[{v}] contains {u}, expected an index in "
                                 f"[0, {U - 1}]")
            C[int(u), v] = 1.0
    return C


def modular(w, name: str = "modular") -> StructuredSetFunction:
    """F(V) = sum_{v in V} w[v], w >= 0 (the additive special case; curvature 0)."""
    w = _validate.as_float_array("w", w)
    _validate.shape("w", w, ndim=1)
    w = _weights("w", w, w.shape[0])
    n = w.shape[0]
    return StructuredSetFunction(n, np.eye(n), w, np.ones(n), name=name)


def weighted_coverage(footprints, weights, name: str = "weighted_coverage"):
    """F(V) = sum_{u in U_{v in V} footprints[v]} weights[u].

    footprints : sequence of n iterables of universe indices in [0, U); weights (U,) >= 0.
    """
    weights = _validate.as_float_array("weights", weights)
    _validate.shape("weights", weights, ndim=1)
    weights = _weights("weights", weights, weights.shape[0])
    n = len(footprints)
    if n == 0:
        raise ValueError("footprints must list at least one element")
    C = _footprint_matrix(footprints, n, weights.shape[0])
    return StructuredSetFunction(n, C, weights, np.ones(weights.shape[0]), name=name)


def coverage(footprints, U: int | None = None, name: str = "coverage"):
    """Unweighted coverage |U_{v in V} footprints[v]| over the universe [0, U)."""
    if U is None:
        U = 1 + max((int(u) for fp in footprints for u in fp), default=0)
    U = _validate.positive_int("U", U)
    return weighted_coverage(footprints, np.ones(U), name=name)


def facility_location(W, name: str = "facility_location") -> StructuredSetFunction:
    """F(V) = sum_u max_{v in V} W[u, v], W (U, n) >= 0 (Cornuejols et al. 1977)."""
    W = _validate.as_float_array("W", W)
    _validate.shape("W", W, ndim=2)
    return StructuredSetFunction(W.shape[1], W=W, name=name)


def item_collection(groups, demands, n: int, name: str = "item_collection"):
    """F(V) = sum_k min(|V n G_k|, D_k)."""
    n = _validate.positive_int("n", n)
    demands = _validate.as_float_array("demands", demands)
    _validate.shape("demands", demands, ndim=1)
    if len(groups) != demands.shape[0]:
        raise ValueError(f"groups and demands must have the same length, got {len(groups)} "
                         f"and {demands.shape[0]}")
    C = _footprint_matrix([[k for k, g in enumerate(groups) if v in set(g)] for v in range(n)],
                          n, len(groups))
    for k, g in enumerate(groups):
        for v in g:
            if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) \
                    or not 0 <= int(v) < n:
                raise ValueError(f"groups[{k}] contains {v!r}, expected an element in "
                                 f"[0, {n - 1}]")
    return StructuredSetFunction(n, C, np.ones(len(groups)), demands, name=name)


def f_alpha(alpha: float, modular_weights, footprints, coverage_weights, name: str = "f_alpha"):
    """F_alpha(V) = alpha sum_{v in V} w(v) + (1 - alpha) WeightedCoverage(V)."""
    alpha = _validate.real("alpha", alpha, lo=0.0, hi=1.0)
    F = alpha * modular(modular_weights) + (1.0 - alpha) * weighted_coverage(
        footprints, coverage_weights)
    F.name = name
    return F


def gp_mutual_information(X, *, lengthscale: float = 1.0, outputscale: float = 1.0,
                          noise: float = 1e-3, nu: float = 2.5, name: str = "gp_mi"):
    """Mutual information of a GP with a Matern kernel at the points X (n, dim) (the paper's
    experiment-design reward): F(V) = 1/2 log det(I + K_VV / noise)."""
    K = matern_kernel(X, lengthscale=lengthscale, outputscale=outputscale, nu=nu)
    return GPMutualInformation(K, noise, name=name)


def matern_kernel(X, *, lengthscale: float = 1.0, outputscale: float = 1.0, nu: float = 2.5):
    """Matern kernel matrix (nu in {0.5, 1.5, 2.5}) of the rows of X."""
    X = _validate.as_float_array("X", X)
    if X.ndim == 1:
        X = X[:, None]
    ell = _validate.real("lengthscale", lengthscale, lo=0.0, lo_open=True)
    sc = _validate.real("outputscale", outputscale, lo=0.0, lo_open=True)
    d = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)) / ell
    if nu == 0.5:
        k = np.exp(-d)
    elif nu == 1.5:
        k = (1 + np.sqrt(3) * d) * np.exp(-np.sqrt(3) * d)
    elif nu == 2.5:
        k = (1 + np.sqrt(5) * d + 5.0 / 3.0 * d ** 2) * np.exp(-np.sqrt(5) * d)
    else:
        raise ValueError(f"nu must be 0.5, 1.5 or 2.5, got {nu}")
    return sc * k


# ------------------------------------------------------------------------------- checks

def _rand_subset(rng, pool: np.ndarray) -> np.ndarray:
    if pool.size == 0:
        return pool
    return pool[rng.random(pool.size) < rng.random()]


def find_violations(F: SetFunction, *, n_checks: int = 2000, rng=0, tol: float = 1e-9,
                    exhaustive_up_to: int = 10, max_report: int = 5) -> list:
    """Monotonicity and diminishing-returns violations of F.

    For n <= ``exhaustive_up_to`` every (M, v, u) with v, u not in M is checked:
    F(v | M) >= F(v | M + u) and F(M + v) >= F(M) (equivalent to submodularity and
    monotonicity). Otherwise ``n_checks`` random triples C subset B, v not in B are drawn and
    F(v | C) >= F(v | B), F(B) >= F(C) are checked. Returns up to ``max_report`` dicts with keys
    kind ("monotone" / "submodular"), v, C, B, lhs, rhs.
    """
    if not isinstance(F, SetFunction):
        raise TypeError(f"F must be a SetFunction, got {type(F).__name__}")
    rng = _validate.rng(rng)
    n = F.n
    out = []
    if n <= exhaustive_up_to:
        t = F.table()
        scale = 1.0 + np.abs(t).max()
        masks = np.arange(1 << n, dtype=np.int64)
        for v in range(n):
            bv = np.int64(1) << v
            M = masks[(masks & bv) == 0]
            gain = t[M | bv] - t[M]
            bad = np.flatnonzero(gain < -tol * scale)
            for j in bad[:max_report - len(out)]:
                out.append(dict(kind="monotone", v=v, C=_members_of_mask(M[j]),
                                B=_members_of_mask(M[j] | bv), lhs=float(t[M[j] | bv]),
                                rhs=float(t[M[j]])))
            for u in range(n):
                if u == v:
                    continue
                bu = np.int64(1) << u
                Mu = M[(M & bu) == 0]
                g1 = t[Mu | bv] - t[Mu]
                g2 = t[Mu | bu | bv] - t[Mu | bu]
                bad = np.flatnonzero(g1 < g2 - tol * scale)
                for j in bad[:max_report - len(out)]:
                    out.append(dict(kind="submodular", v=v, C=_members_of_mask(Mu[j]),
                                    B=_members_of_mask(Mu[j] | bu), lhs=float(g1[j]),
                                    rhs=float(g2[j])))
            if len(out) >= max_report:
                break
        return out[:max_report]
    universe = np.arange(n)
    for _ in range(int(n_checks)):
        B = _rand_subset(rng, universe)
        C = _rand_subset(rng, B)
        rest = np.setdiff1d(universe, B)
        fB, fC = F.value(B), F.value(C)
        scale = 1.0 + abs(fB) + abs(fC)
        if fB < fC - tol * scale:
            out.append(dict(kind="monotone", v=None, C=sorted(C.tolist()),
                            B=sorted(B.tolist()), lhs=fB, rhs=fC))
        if rest.size:
            v = int(rng.choice(rest))
            gC = F.value(np.append(C, v)) - fC
            gB = F.value(np.append(B, v)) - fB
            if gC < gB - tol * scale:
                out.append(dict(kind="submodular", v=v, C=sorted(C.tolist()),
                                B=sorted(B.tolist()), lhs=gC, rhs=gB))
        if len(out) >= max_report:
            break
    return out[:max_report]


def describe_violation(viol: dict) -> str:
    """One sentence naming the violating sets."""
    C, B = _fmt_set(viol["C"]), _fmt_set(viol["B"])
    if viol["kind"] == "monotone":
        return (f"F is not monotone: F(B) = {viol['lhs']:.6g} < F(C) = {viol['rhs']:.6g} for "
                f"C = {C} subset of B = {B}")
    v = viol["v"]
    return (f"F is not submodular: F({v} | C) = {viol['lhs']:.6g} < F({v} | B) = "
            f"{viol['rhs']:.6g} for C = {C} subset of B = {B}, element {v} not in B")


def check_monotone_submodular(F: SetFunction, *, n_checks: int = 2000, rng=0,
                              tol: float = 1e-9) -> None:
    """Raise ValueError naming the violating sets if F is found not monotone or not submodular
    (exhaustively for n <= 10, on ``n_checks`` random sets otherwise); also checks F(empty)=0."""
    if not isinstance(F, SetFunction):
        raise TypeError(f"F must be a SetFunction, got {type(F).__name__}")
    f0 = F.value([])
    if abs(f0) > tol:
        raise ValueError(f"F(empty set) = {f0:.6g}, expected 0 (normalized set function)")
    viol = find_violations(F, n_checks=n_checks, rng=rng, tol=tol)
    if viol:
        more = f" ({len(viol)} violations found; first shown)" if len(viol) > 1 else ""
        raise ValueError(describe_violation(viol[0]) + more)


# ============================================================================ environments

class SubmodularMDP:
    """A submodular MDP <S, A, P, rho0, H, F>.

    Parameters
    ----------
    mdp : FiniteHorizonMDP
        Dynamics P (H, S, A, S) and rho0 (S,); its rewards are ignored.
    F : SetFunction
        Reward on the set of visited states, over n = S elements.
    nodes : list, optional
        ``nodes[s]`` = the graph node of state s (grid cells).
    check : bool
        Check a non-structured F for normalization, monotonicity and submodularity
        (:func:`check_monotone_submodular`). Structured functions are so by construction.
    """

    def __init__(self, mdp: FiniteHorizonMDP, F: SetFunction, *, nodes=None, name: str = "smdp",
                 check: bool = True, rng=0):
        if not isinstance(mdp, FiniteHorizonMDP):
            raise TypeError(f"mdp must be a FiniteHorizonMDP, got {type(mdp).__name__}")
        if not isinstance(F, SetFunction):
            raise TypeError(f"F must be a SetFunction, got {type(F).__name__}")
        if F.n != mdp.S:
            raise ValueError(f"F is defined on n={F.n} elements but the MDP has S={mdp.S} "
                             f"states")
        if nodes is not None and len(nodes) != mdp.S:
            raise ValueError(f"nodes must have S={mdp.S} entries, got {len(nodes)}")
        if check and not F.structured:
            check_monotone_submodular(F, rng=rng)
        self.mdp = mdp
        self.F = F
        self.nodes = None if nodes is None else list(nodes)
        self.name = str(name)
        self._cache = {}

    P = property(lambda self: self.mdp.P, doc="P[h, s, a, s'] (H, S, A, S)")
    rho0 = property(lambda self: self.mdp.rho0, doc="rho0[s] (S,)")
    H = property(lambda self: self.mdp.H, doc="number of actions per trajectory")
    S = property(lambda self: self.mdp.S)
    A = property(lambda self: self.mdp.A)

    def is_deterministic(self) -> bool:
        """Every transition row is one-hot (and rho0 a point mass)."""
        return bool(np.all(np.isclose(self.P.max(axis=-1), 1.0))
                    and np.isclose(self.rho0.max(), 1.0))

    def state_of(self, node) -> int:
        """Index of a graph node (grids: (row, col))."""
        if self.nodes is None:
            raise ValueError("this SMDP has no node labels")
        try:
            return self.nodes.index(node)
        except ValueError:
            raise ValueError(f"{node!r} is not a state of this SMDP") from None

    def __repr__(self) -> str:
        return (f"SubmodularMDP({self.name!r}, S={self.S}, A={self.A}, H={self.H}, "
                f"F={self.F.name})")


def _grid_graph(shape_or_graph):
    import networkx as nx
    if isinstance(shape_or_graph, nx.Graph):
        return shape_or_graph.copy()
    shape = shape_or_graph
    if (isinstance(shape, (tuple, list)) and len(shape) == 2
            and all(isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, bool)
                    for x in shape)):
        if shape[0] < 1 or shape[1] < 1:
            raise ValueError(f"shape must be a pair of positive integers, got {tuple(shape)}")
        return nx.grid_2d_graph(int(shape[0]), int(shape[1]))
    raise TypeError(f"shape must be a (rows, cols) pair of integers or a networkx graph, got "
                    f"{shape_or_graph!r}")


FOOTPRINTS = {
    "self": ((0, 0),),
    "2x2": ((0, 0), (0, 1), (1, 0), (1, 1)),
    "3x3": tuple((i, j) for i in range(3) for j in range(3)),
    "cross": ((0, 0), (0, 1), (1, 0), (0, -1), (-1, 0)),
}


def grid_footprints(nodes, kind: str = "2x2") -> list:
    """footprints[s] = indices (into ``nodes``) of the cells that state s covers.

    kind: "2x2" (the code's default: (i, j), (i, j+1), (i+1, j), (i+1, j+1)), "3x3" (the
    code's "large disc"), "cross" (von Neumann neighbourhood) or "self".
    """
    if kind not in FOOTPRINTS:
        raise ValueError(f"footprint kind {kind!r} is unknown; expected one of "
                         f"{sorted(FOOTPRINTS)}")
    index = {v: i for i, v in enumerate(nodes)}
    out = []
    for v in nodes:
        out.append(sorted({index[(v[0] + di, v[1] + dj)] for di, dj in FOOTPRINTS[kind]
                           if (v[0] + di, v[1] + dj) in index}))
    return out


def _node_weights(weights, nodes, name="weights") -> np.ndarray:
    S = len(nodes)
    if weights is None:
        return np.ones(S)
    if isinstance(weights, dict):
        missing = [v for v in nodes if v not in weights]
        if missing:
            raise ValueError(f"{name} has no entry for node {missing[0]!r}")
        weights = [weights[v] for v in nodes]
    elif callable(weights):
        weights = [weights(v) for v in nodes]
    return _weights(name, _validate.as_float_array(name, weights), S)


def _finish(P, F, nodes, H, start_index, name, check=True):
    S = P.shape[0]
    rho0 = np.zeros(S)
    rho0[start_index] = 1.0
    mdp = FiniteHorizonMDP.stationary(P, np.zeros(P.shape[:2]), H, rho0)
    if callable(F) and not isinstance(F, SetFunction):
        F = F(nodes)
    return SubmodularMDP(mdp, F, nodes=nodes, name=name, check=check)


def grid_smdp(shape, H: int, *, F=None, weights=None, footprint: str = "2x2", start=(0, 0),
              walls=(), slip: float = 0.0, name: str = "grid", check: bool = True):
    """Grid-world SMDP with the released code's 5 actions (module docstring).

    Parameters
    ----------
    shape : (rows, cols) or networkx graph with (row, col) nodes
    H : int
        Number of actions per trajectory (paper convention).
    F : SetFunction or callable(nodes) -> SetFunction, optional
        Reward; default weighted coverage with ``weights`` (default 1) and ``footprint``.
    start : (row, col)
    walls : iterable of (row, col)
        Cells removed (moves into them stay).
    slip : float
        Probability in [0, 1] that the action is replaced by a uniformly random one.
    """
    H = _validate.positive_int("H", H)
    slip = _validate.real("slip", slip, lo=0.0, hi=1.0)
    G = _grid_graph(shape)
    for w in walls:
        if w not in G:
            raise ValueError(f"walls contains {w!r}, which is not a cell of the grid")
    G.remove_nodes_from(list(walls))
    nodes = sorted(G.nodes)
    if not all(isinstance(v, tuple) and len(v) == 2 for v in nodes):
        raise ValueError("grid_smdp needs (row, col) nodes; use graph_smdp for other graphs")
    index = {v: i for i, v in enumerate(nodes)}
    if start not in index:
        raise ValueError(f"start {start!r} is not a (non-wall) cell of the grid")
    S, A = len(nodes), len(PAPER_ACTIONS)
    target = np.empty((S, A), dtype=np.int64)
    for s, v in enumerate(nodes):
        for a, (di, dj) in enumerate(PAPER_ACTIONS):
            u = (v[0] + di, v[1] + dj)
            target[s, a] = index[u] if u in index and (a == 0 or G.has_edge(v, u)) else s
    P = np.zeros((S, A, S))                       # P[s, a, s_next]
    for s in range(S):
        for a in range(A):
            P[s, a, target[s, a]] += 1.0 - slip
            for b in range(A):
                P[s, a, target[s, b]] += slip / A
    if F is None:
        fps = grid_footprints(nodes, footprint)
        F = weighted_coverage(fps, _node_weights(weights, nodes), name=f"coverage_{footprint}")
    elif weights is not None:
        raise ValueError("give either F or weights, not both")
    return _finish(P, F, nodes, H, index[start], name, check)


def graph_smdp(G, H: int, *, F=None, weights=None, radius: int = 1, start=None,
               slip: float = 0.0, name: str = "graph", check: bool = True):
    """SMDP on a networkx graph: action 0 stays, action k moves to the k-th neighbour (sorted;
    stay if fewer), A = 1 + max degree. Default F: weighted coverage of the closed
    ``radius``-neighbourhood of each visited node."""
    import networkx as nx
    if not isinstance(G, nx.Graph):
        raise TypeError(f"G must be a networkx graph, got {type(G).__name__}")
    if G.number_of_nodes() == 0:
        raise ValueError("G has no nodes")
    H = _validate.positive_int("H", H)
    slip = _validate.real("slip", slip, lo=0.0, hi=1.0)
    radius = int(radius)
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    try:
        nodes = sorted(G.nodes)
    except TypeError:
        nodes = list(G.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    start = nodes[0] if start is None else start
    if start not in index:
        raise ValueError(f"start {start!r} is not a node of G")
    nbrs = [sorted(index[u] for u in G.neighbors(v) if u != v) for v in nodes]
    S = len(nodes)
    A = 1 + max(len(x) for x in nbrs)
    P = np.zeros((S, A, S))
    for s in range(S):
        tg = [s] + nbrs[s] + [s] * (A - 1 - len(nbrs[s]))
        for a in range(A):
            P[s, a, tg[a]] += 1.0 - slip
            for b in range(A):
                P[s, a, tg[b]] += slip / A
    if F is None:
        fps = [sorted(index[u] for u in nx.single_source_shortest_path_length(G, v, cutoff=radius))
               for v in nodes]
        F = weighted_coverage(fps, _node_weights(weights, nodes), name=f"coverage_r{radius}")
    elif weights is not None:
        raise ValueError("give either F or weights, not both")
    return _finish(P, F, nodes, H, index[start], name, check)


def two_rooms(H: int = 39, *, slip: float = 0.0):
    """Building exploration: 7 x 14 grid, two 7 x 4 rooms joined by a 2-row
    corridor, start (2, 6) (the code's node 34), unweighted 2x2 coverage, H = 40 - 1."""
    walls = [(i, j) for i, row in enumerate(TWO_ROOMS_LAYOUT) for j, c in enumerate(row)
             if c == "#"]
    return grid_smdp((7, 14), H, start=(2, 6), walls=walls, slip=slip, name="two_rooms")


PAPER_GRIDS = {
    # name: (shape, H_code, reward)
    "coverage": ((30, 30), 80, "constant"),
    "bimodal": ((30, 30), 40, "bimodal"),
    "gp": ((30, 30), 40, "gp"),
    "item_collection": ((7, 15), 40, "items"),
    "two_rooms": ((7, 14), 40, "rooms"),
}
ITEM_GROUP_SIZES = (18, 14, 13, 16, 18, 14)
ITEM_DEMANDS = (3, 2, 3, 4, 6, 3)


def gp_sample_weights(shape, *, rng=0, lengthscale: float = 1.0, noise: float = 1e-3,
                      outputscale: float = 0.6931471805599453, step: float = 0.1,
                      offset: float = 1.0) -> np.ndarray:
    """Positive weights from a GP sample as in the code's "GP" domain (our
    reconstruction): Matern-5/2 kernel (lengthscale 1, gpytorch's default outputscale
    softplus(0) = log 2), cell (i, j) at offset + step * (i, j), posterior given one
    observation 0 at a uniform point of [0, 10]^2 with noise 1e-3, shifted by +3 (or by -min
    if the sample goes below -3; the code adds min there, which we read as a typo)."""
    rng = _validate.rng(rng)
    X = offset + step * np.array([(i, j) for i in range(shape[0]) for j in range(shape[1])],
                                 dtype=float)
    x0 = rng.random((1, 2)) * 10.0
    allx = np.vstack([x0, X])
    K = matern_kernel(allx, lengthscale=lengthscale, outputscale=outputscale)
    k00 = K[0, 0] + noise
    mean = np.zeros(len(X))
    cov = K[1:, 1:] - np.outer(K[1:, 0], K[0, 1:]) / k00
    L = np.linalg.cholesky(cov + 1e-8 * np.eye(len(X)))
    f = mean + L @ rng.standard_normal(len(X))
    return f + 3.0 if f.min() > -3.0 else f - f.min()


def paper_grid(name: str, *, instance: int = 0, H: int | None = None, slip: float = 0.0):
    """The paper's discrete domains, H = H_code - 1 by default.

    name: "coverage" (30x30, unweighted, H=79), "bimodal" (30x30, w = 1/(1+exp(-x y)) on
    x, y in linspace(-1, 1), H=39), "gp" (30x30, GP-sample weights from ``instance``, H=39),
    "item_collection" (7x15, 6 item types with |G_k| = 18,14,13,16,18,14 random disjoint
    cells from ``instance`` and demands 3,2,3,4,6,3, H=39), "two_rooms" (7x14, H=39).
    Start: the code's node 34.
    """
    if name not in PAPER_GRIDS:
        raise ValueError(f"unknown paper grid {name!r}; expected one of {sorted(PAPER_GRIDS)}")
    shape, H_code, kind = PAPER_GRIDS[name]
    H = H_code - 1 if H is None else _validate.positive_int("H", H)
    if kind == "rooms":
        return two_rooms(H, slip=slip)
    start = (PAPER_START_NODE // shape[1], PAPER_START_NODE % shape[1])
    nodes = [(i, j) for i in range(shape[0]) for j in range(shape[1])]
    if kind == "constant":
        w = None
    elif kind == "bimodal":
        x = np.linspace(-1, 1, shape[0])
        y = np.linspace(-1, 1, shape[1])
        w = {(i, j): 1.0 / (1.0 + np.exp(-x[i] * y[j])) for i, j in nodes}
    elif kind == "gp":
        w = gp_sample_weights(shape, rng=instance)
    else:
        rng = np.random.default_rng(instance)
        perm = rng.permutation(len(nodes))
        groups, at = [], 0
        for size in ITEM_GROUP_SIZES:
            groups.append(perm[at:at + size].tolist())
            at += size
        F = item_collection(groups, ITEM_DEMANDS, len(nodes))
        return grid_smdp(shape, H, F=F, start=start, slip=slip, name=name)
    return grid_smdp(shape, H, weights=w, start=start, slip=slip, name=name)


def epsilon_bandit(F: SetFunction, H: int, eps: float, *, start: int = 0,
                   name: str = "eps_bandit", check: bool = True):
    """eps-Bandit SMDP: S = A = F.n, P(s' | s, a) = (1 - eps) 1[s' = a]
    + eps / S from every state s; rho0 = delta_start. Action ``start`` leads (w.p. 1 - eps) to
    the already-visited start state: it is the null action whose probability is the
    remainder in the down-closed polytope of Theorem 3."""
    if not isinstance(F, SetFunction):
        raise TypeError(f"F must be a SetFunction, got {type(F).__name__}")
    eps = _validate.real("eps", eps, lo=0.0, hi=1.0)
    H = _validate.positive_int("H", H)
    S = F.n
    if not 0 <= int(start) < S:
        raise ValueError(f"start is {start}, expected a state in [0, {S - 1}]")
    P = np.full((S, S, S), eps / S)
    P[:, np.arange(S), np.arange(S)] += 1.0 - eps
    return _finish(P, F, list(range(S)), H, int(start), name, check)


def random_set_function(family: str, n: int, *, rng=0, footprints=None, coords=None,
                        alpha: float | None = None) -> StructuredSetFunction:
    """A random monotone submodular function of one of the families.

    family: "coverage" (unit weights), "weighted_coverage" (U(0, 1) weights),
    "facility_location" (W[u, v] = b_u exp(-|x_u - x_v|_1), b ~ U(0, 1), over n customers),
    "item_collection" (3 random groups of 2..n/2 elements, demand uniform in 1..|G_k|),
    "f_alpha" (alpha ~ U(0, 1) unless given, U(0, 1) modular and coverage weights).
    ``footprints`` default to random subsets (each element covers itself and 0-2 others);
    ``coords`` (n, d) default to random points in [0, 3]^2.
    """
    rng = _validate.rng(rng)
    n = _validate.positive_int("n", n)
    if family not in FAMILIES:
        raise ValueError(f"family {family!r} is unknown; expected one of {FAMILIES}")
    if footprints is None:
        footprints = [sorted({v} | set(rng.choice(n, size=rng.integers(0, 3)).tolist()))
                      for v in range(n)]
    if family == "coverage":
        return coverage(footprints, n)
    if family == "weighted_coverage":
        return weighted_coverage(footprints, rng.random(n))
    if family == "facility_location":
        X = rng.random((n, 2)) * 3.0 if coords is None else np.asarray(coords, float)
        dist = np.abs(X[:, None, :] - X[None, :, :]).sum(-1)
        return facility_location(rng.random(n)[:, None] * np.exp(-dist))
    if family == "item_collection":
        groups, demands = [], []
        for _ in range(3):
            size = int(rng.integers(2, max(3, n // 2 + 1)))
            g = rng.choice(n, size=min(size, n), replace=False)
            groups.append(sorted(g.tolist()))
            demands.append(int(rng.integers(1, len(g) + 1)))
        return item_collection(groups, demands, n)
    a = rng.random() if alpha is None else alpha
    return f_alpha(a, rng.random(n), footprints, rng.random(n))


def random_grid_smdp(shape, H: int, family: str, *, slip: float = 0.0, rng=0,
                     start=(0, 0), alpha: float | None = None):
    """A random grid SMDP: reward of ``family`` (see :func:`random_set_function`) with the
    grid's 2x2 footprints and cell coordinates."""
    rng = _validate.rng(rng)
    nodes = [(i, j) for i in range(shape[0]) for j in range(shape[1])]
    F = random_set_function(family, len(nodes), rng=rng, footprints=grid_footprints(nodes),
                            coords=np.array(nodes, dtype=float), alpha=alpha)
    return grid_smdp(shape, H, F=F, start=start, slip=slip, name=f"grid_{family}")


__all__ = ["SetFunction", "StructuredSetFunction", "TabulatedSetFunction", "GPMutualInformation",
           "modular", "coverage", "weighted_coverage", "facility_location", "item_collection",
           "f_alpha", "gp_mutual_information", "matern_kernel", "find_violations",
           "describe_violation", "check_monotone_submodular", "SubmodularMDP", "grid_smdp",
           "graph_smdp", "grid_footprints", "two_rooms", "paper_grid", "epsilon_bandit",
           "random_set_function", "random_grid_smdp", "gp_sample_weights", "PAPER_ACTIONS",
           "ACTION_NAMES", "TWO_ROOMS_LAYOUT", "FAMILIES", "PAPER_GRIDS"]
