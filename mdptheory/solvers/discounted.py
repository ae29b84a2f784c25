"""Exact planning in discounted MDPs: value, policy and modified policy iteration.

Every solver returns a :class:`~mdptheory.solvers.results.Solution` whose ``error_bound`` is a
*guaranteed* sup-norm bound on ``|V - V*|``, computed from MacQueen's bounds on the last Bellman
backup (Puterman 2005, Thm 6.6.6; MacQueen 1966): for any V, with d = T V - V, c = gamma/(1-gamma),

    T V + c * min(d)  <=  V*  <=  T V + c * max(d),                       (elementwise)
    V* - V^pi  <=  c * (max(d) - min(d))    for pi greedy with respect to V.

Value iteration and modified policy iteration return the midpoint of these bounds, so their V is
right in sup norm (never only up to a constant); ``info["policy_error_bound"]`` bounds the
suboptimality of the returned policy. Ties go to the lowest action index. Masked actions
(``mdp.mask``) enter every backup with reward -inf, so no max or argmax picks them; their Q is
-inf in every result, and policies given to the evaluations must put no mass on them.

The bounds are certified in float64: they add every rounding of the last backup (the n-term dot
products, the rewards, the differences, the midpoint) and use the rows' actual sums 1 + eps
(summed with compensation, once per model) in place of 1, since c * eps * |V| matters near
gamma = 1. Value and modified policy iteration iterate on V = k + W (relative values: a level k
and a vector W of the size of span(V), rewards r - (1 - gamma) k + gamma k eps), so the rounding
scales with |r| + n * span(V) rather than |V| ~ |r| / (1 - gamma), and move the level to the
midpoint after each greedy backup; at gamma = 0.99999 they certify 1e-8 in ~20 backups. A tol
below the rounding floor (~c * 1e-16 * (|r| + n span(V))) is refused with a ValueError that
names the floor.

Layouts. A solver works on one of two representations of P, chosen by ``layout``:

* ``"dense"``: P viewed as the C-contiguous (S * A, S) matrix. A backup is a matrix-vector
  product, bound by memory bandwidth; below ``_BLAS_MIN_BYTES`` a numba kernel (faster while P is
  in cache), above it a BLAS gemv (DESIGN.md, "Performance notes").
* ``"sparse"``: fixed-width successor lists (ELL, ``probs`` / ``idx`` of shape (S, A, m), int32
  indices). Sparse models always use it. A dense model is compacted into it in one streaming
  pass over P.
* ``"auto"`` (default): sparse models -> "sparse"; a dense model -> "sparse" when P is large
  (>= ``_COMPACT_MIN_BYTES``) and at most a third of each row is nonzero (so a backup moves at
  most half the bytes of the dense one), else "dense". Results agree across layouts to rounding.
  The compacted copy is made once per model and kept (read-only) while the model lives, so
  later solves on the same model skip that pass over P.

Threads. The kernels are numba ``prange`` loops. A parallel loop waits for its slowest thread,
so on a machine whose cores are busy with other processes two threads are several times slower
than one (measured here: a sparse solve took 2.1 s with 2 threads and 0.6 s with 1 while other
jobs kept the two cores busy; OpenBLAS's threaded dot products inside scipy's BiCGSTAB took
22 ms each at S = 100,000). Each public function therefore runs its kernels, and the OpenBLAS
libraries numpy and scipy load, on ``min(NUMBA_NUM_THREADS, idle cores)`` threads, idle cores
being counted once at the call from the number of runnable threads in /proc/loadavg less this
process's own runnable threads (numba's OpenMP workers spin briefly after each parallel loop;
all threads where /proc is missing), and uses the numba kernel instead of a BLAS gemv when that
leaves one thread. The numba work split does not depend on the thread count, so neither do the
results of the numba kernels.
"""
from __future__ import annotations

import functools
import math
import os
import weakref

import numba
import numpy as np
import scipy.sparse.linalg  # noqa: F401  (loads scipy's OpenBLAS before _openblas_controls looks)

from ..kernels import discounted as kd
from ..models import _validate
from ..models.finite import DiscountedMDP
from ..models.policies import validate_policy
from ._common import mask_q, solver_reward
from .results import PolicyValue, Solution

_BLAS_MIN_BYTES = 32 * 2**20      # dense P2 this large: BLAS gemv (both bandwidth-bound)
_COMPACT_MIN_BYTES = 8 * 2**20    # "auto": compact a dense P only from this size on
_COMPACT_MAX_FILL = 1.0 / 3.0     # ... and only if every row has <= S/3 nonzeros
_KRYLOV_RTOL = 1e-13              # relative 2-norm residual of the sparse evaluations
_EVAL_RATIO = 0.05                # MPI: evaluate to this fraction of the current error bound
_EXTRACT_MAX_WIDTH = 16           # ELL rows this narrow are copied out for evaluation sweeps
_LAYOUTS = ("auto", "dense", "sparse")


# ----------------------------------------------------------------------------- threads


def _own_running_threads() -> int:
    """Threads of this process that are runnable now (Linux /proc), at least 1 (the caller).

    Numba's OpenMP workers spin for a moment after each parallel region; they show up as
    runnable in /proc/loadavg but are ours to use, not other processes' load."""
    n = 0
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:                      # the thread ended meanwhile
            continue
        close = stat.rfind(b")")             # state follows the parenthesised command name
        if stat[close + 2:close + 3] == b"R":
            n += 1
    return max(1, n)


def _idle_cores() -> int:
    """Cores not taken by other processes' runnable threads at this moment (Linux), >= 1."""
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])   # includes this thread
    except (OSError, ValueError, IndexError):
        return numba.config.NUMBA_NUM_THREADS
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    others = running - 1
    if others > 0:                           # only then is it worth scanning our own threads
        others = max(0, running - _own_running_threads())
    return max(1, (cores or 1) - others)


_OPENBLAS_SYMBOLS = ("scipy_openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads",
                     "openblas_{}_num_threads64_", "openblas_{}_num_threads")


@functools.lru_cache(maxsize=1)
def _openblas_controls() -> tuple:
    """(get, set) pairs of the OpenBLAS libraries loaded in this process (numpy's and scipy's
    wheels each bundle one), found in /proc/self/maps; empty where that is not possible."""
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower()})
    except OSError:
        return ()
    controls = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pattern in _OPENBLAS_SYMBOLS:
            get = getattr(lib, pattern.format("get"), None)
            set_ = getattr(lib, pattern.format("set"), None)
            if get is not None and set_ is not None:
                get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                controls.append((get, set_))
                break
    return tuple(controls)


def _with_idle_threads(func):
    """Run ``func`` with numba's and OpenBLAS's thread counts set to the idle cores (module
    docstring); both are restored afterwards."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        n = max(1, min(numba.config.NUMBA_NUM_THREADS, _idle_cores()))
        before = numba.get_num_threads()
        blas = _openblas_controls()
        blas_before = [get() for get, _ in blas]
        numba.set_num_threads(n)
        for (get, set_), b in zip(blas, blas_before):
            set_(min(n, b))
        try:
            return func(*args, **kwargs)
        finally:
            numba.set_num_threads(before)
            for (_, set_), b in zip(blas, blas_before):
                set_(b)

    return wrapper


# ----------------------------------------------------------------------------- validation


def _check_mdp(mdp) -> DiscountedMDP:
    if not isinstance(mdp, DiscountedMDP):
        raise TypeError(f"mdp must be a DiscountedMDP, got {type(mdp).__name__}")
    return mdp


def _check_layout(layout, mdp: DiscountedMDP) -> str:
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be one of {_LAYOUTS}, got {layout!r}")
    if layout == "dense" and mdp.is_sparse:
        raise ValueError(f"layout='dense' needs a dense model; this one has sparse transitions "
                         f"(S={mdp.S}, width {mdp.P.width}); use layout='sparse' or 'auto'")
    return layout


def _check_max_iter(max_iter, default: int) -> int:
    return default if max_iter is None else _validate.positive_int("max_iter", max_iter)


def _check_tol(tol) -> float:
    return _validate.real("tol", tol, lo=0.0, lo_open=True)


def _check_V(mdp: DiscountedMDP, V) -> np.ndarray:
    V = _validate.as_float_array("V", V)
    _validate.shape("V", V, expected=(mdp.S,))
    _validate.finite("V", V)
    return V


def _vi_iterations(mdp: DiscountedMDP, tol: float) -> int:
    """Backups after which value iteration from V0 = min(r)/(1-gamma) is certain to meet tol.

    From that start 0 <= T V0 - V0 <= span(r), and the sup-norm contraction gives
    c/2 * span(T V_k - V_k) <= c * gamma^k * span(r) (c = gamma/(1-gamma)); two spare backups
    absorb rounding."""
    g = mdp.gamma
    lo, hi = float(mdp.r.min()), float(mdp.r.max())
    if g == 0.0 or lo == hi:
        return 2
    # in logs: tol / (c * span(r)) overflows for a subnormal gamma (c ~ 5e-324), and span(r)
    # itself overflows for rewards near +-1.8e308
    log_span = math.log(hi - lo) if math.isfinite(hi - lo) else math.log(hi) + math.log1p(-lo / hi)
    log_c = math.log(g) - math.log1p(-g)
    k = (math.log(tol) - log_c - log_span) / math.log(g)
    return max(1, math.ceil(k)) + 2


# ----------------------------------------------------------------------------- layouts


class _Dense:
    """Backups on P viewed as P2 (S * A, S).

    Engines share one interface: ``bellman`` (greedy backup; with ``keep_policy`` its greedy
    policy becomes the current one), ``set_policy``, ``policy_backup`` (T_pi of the current
    policy), ``q`` and ``last_q``."""

    layout = "dense"

    def __init__(self, mdp: DiscountedMDP, masked: bool = True):
        S, A = mdp.S, mdp.A
        self.P2 = np.ascontiguousarray(mdp.P).reshape(S * A, S)
        r = solver_reward(mdp) if masked else mdp.r        # -inf at masked pairs
        self.r, self.r1, self.gamma = r, r.reshape(-1), mdp.gamma
        self.r0 = self.r                    # the model's rewards (set_rewards changes self.r)
        self.width = S                      # terms in one row's dot product
        self.use_blas = self.P2.nbytes >= _BLAS_MIN_BYTES and numba.get_num_threads() > 1
        self.Q = np.empty((S, A))    # Q of the last bellman() call
        self.act = None

    def q(self, V, Q_out):
        if self.use_blas:
            Q1 = Q_out.reshape(-1)
            np.dot(self.P2, V, out=Q1)
            Q1 *= self.gamma
            Q1 += self.r1
        else:
            kd.dense_q(self.P2, self.r1, self.gamma, V, Q_out.reshape(-1))
        return Q_out

    def bellman(self, V, V_out, act_out, keep_policy=False):
        self.q(V, self.Q)
        if keep_policy:
            self.act = act_out
        return kd.greedy_max(self.Q, V, V_out, act_out)

    def last_q(self, V):
        return self.Q.copy()

    def set_policy(self, act):
        self.act = act

    def set_rewards(self, r):
        """Backups use rewards r (S, A) from now on (the relative iterations' r_eff)."""
        self.r, self.r1 = r, r.reshape(-1)

    def row_defects(self, out):
        kd.dense_row_defects(self.P2, out.reshape(-1))

    def policy_backup(self, V, V_out):
        return kd.dense_policy_backup(self.P2, self.r, self.gamma, self.act, V, V_out)


class _Ell:
    """Backups on fixed-width successor lists probs / idx (S, A, m).

    Evaluation sweeps of a deterministic policy read its rows from a contiguous copy
    (p, ix (S, m), rp (S,)) when rows are narrow (m <= _EXTRACT_MAX_WIDTH): reading them in
    place would fetch whole cache lines shared with the other actions, ~3x the bytes at
    m = 4. The greedy backup writes that copy while the rows are in cache."""

    layout = "sparse"

    def __init__(self, probs, idx, mdp: DiscountedMDP, compacted: bool):
        self.probs, self.idx = probs, idx
        self.r, self.gamma = solver_reward(mdp), mdp.gamma     # -inf at masked pairs
        self.r0 = self.r                    # the model's rewards (set_rewards changes self.r)
        self.width = probs.shape[2]
        self.compacted = compacted
        m = probs.shape[2]
        self.narrow = m <= _EXTRACT_MAX_WIDTH
        self.p = self.ix = self.rp = None           # extracted rows of the current policy
        self.rows_valid = False
        self.act = None
        self._none = (np.empty((0, m)), np.empty((0, m), dtype=idx.dtype), np.empty(0))

    def _rows(self):
        if self.p is None:
            S, _, m = self.probs.shape
            self.p = np.empty((S, m))
            self.ix = np.empty((S, m), dtype=self.idx.dtype)
            self.rp = np.empty(S)
        return self.p, self.ix, self.rp

    def q(self, V, Q_out):
        kd.ell_q(self.probs, self.idx, self.r, self.gamma, V, Q_out)
        return Q_out

    def bellman(self, V, V_out, act_out, keep_policy=False):
        rows = self._none
        if keep_policy:
            self.act = act_out
            self.rows_valid = self.narrow
            if self.narrow:
                rows = self._rows()
        return kd.ell_bellman(self.probs, self.idx, self.r, self.gamma, V, V_out, act_out,
                              *rows)

    def last_q(self, V):
        return self.q(V, np.empty(self.r.shape))

    def set_policy(self, act):
        """Current policy act (S,); its rows are always extracted (row_matvec needs them)."""
        self.act = act
        kd.ell_extract(self.probs, self.idx, self.r, act, *self._rows())
        self.rows_valid = True

    def set_rewards(self, r):
        """Backups use rewards r (S, A) from now on; extracted rows are stale until the next
        greedy backup with keep_policy (or set_policy) copies them again."""
        self.r = r
        self.rows_valid = False

    def row_defects(self, out):
        kd.ell_row_defects(self.probs, out)

    def policy_backup(self, V, V_out):
        if self.rows_valid:
            return kd.row_backup(self.p, self.ix, self.rp, self.gamma, V, V_out)
        return kd.ell_policy_backup(self.probs, self.idx, self.r, self.gamma, self.act, V, V_out)

    def matvec(self, x, y_out):
        """y = (I - gamma P_pi) x for the current policy (after set_policy)."""
        kd.row_matvec(self.p, self.ix, self.gamma, x, y_out)


def _index_dtype(S: int):
    return np.int32 if S < 2**31 else np.int64


def _compact(P2: np.ndarray, S: int, A: int, max_width: int | None):
    """ELL copy of a dense P2 (one streaming pass; a second one only if sampling guessed the
    width too small). Returns (probs, idx) of shape (S, A, m), or None when some row has more
    than ``max_width`` nonzeros (then compaction would not move fewer bytes)."""
    SA = S * A
    rows = np.unique(np.linspace(0, SA - 1, num=min(SA, 64)).astype(np.int64))
    width = max(1, int(np.count_nonzero(P2[rows], axis=1).max()))
    if max_width is not None and width > max_width:
        return None
    while True:
        probs = np.empty((SA, width))
        idx = np.empty((SA, width), dtype=_index_dtype(S))
        counts = np.empty(SA, dtype=np.int64)
        kd.dense_to_ell(P2, probs, idx, counts)
        m = int(counts.max())
        if m <= width:
            break
        if max_width is not None and m > max_width:
            return None
        width = m
    if m < width:
        probs, idx = np.ascontiguousarray(probs[:, :m]), np.ascontiguousarray(idx[:, :m])
    return probs.reshape(S, A, m), idx.reshape(S, A, m)


def _operator(mdp: DiscountedMDP, layout: str):
    """The backup engine for ``layout`` ("auto" resolved as described in the module doc)."""
    S, A = mdp.S, mdp.A
    if mdp.is_sparse:
        return _Ell(mdp.P.probs, mdp.P.narrow_indices, mdp, compacted=False)
    if layout == "dense":
        return _Dense(mdp)
    P2 = np.ascontiguousarray(mdp.P).reshape(S * A, S)
    if layout == "sparse":
        probs, idx = _compacted(mdp, P2, max_width=None)
        return _Ell(probs, idx, mdp, compacted=True)
    if P2.nbytes >= _COMPACT_MIN_BYTES:
        out = _compacted(mdp, P2, max_width=int(S * _COMPACT_MAX_FILL))
        if out is not None:
            return _Ell(out[0], out[1], mdp, compacted=True)
    return _Dense(mdp)


_COMPACTED = weakref.WeakKeyDictionary()   # model -> {max_width: (probs, idx) or None}


def _compacted(mdp: DiscountedMDP, P2: np.ndarray, max_width: int | None):
    """_compact of the model's P, made once per model and kept while the model lives (the
    model is immutable; the copy is read-only and at most half the bytes of P)."""
    per_model = _COMPACTED.setdefault(mdp, {})
    if max_width not in per_model:
        out = _compact(P2, mdp.S, mdp.A, max_width)
        if out is not None:
            out = (_validate.freeze(out[0]), _validate.freeze(out[1]))
        per_model[max_width] = out
    return per_model[max_width]


def _info(ops, **extra) -> dict:
    info = {"layout": ops.layout}
    if isinstance(ops, _Ell):
        info["width"] = int(ops.probs.shape[2])
        info["compacted"] = ops.compacted
    info.update(extra)
    return info


def _greedy(Q: np.ndarray) -> np.ndarray:
    """models.policies.greedy(Q) for Q (S, A), in one compiled pass."""
    pi = np.empty(Q.shape)
    kd.greedy_one_hot(np.ascontiguousarray(Q), pi)
    return pi


_U = 2.0**-53                       # unit round-off of float64
_DEFECTS = weakref.WeakKeyDictionary()   # model -> {layout key: row-sum defects or None}


def _row_defects(mdp: DiscountedMDP, ops):
    """eps[s, a] = sum_s' P(s'|s,a) - 1, summed with compensation (kernels.discounted), or None
    when every row sums to exactly 1. Made once per model and kept while it lives."""
    per_model = _DEFECTS.setdefault(mdp, {})
    key = (ops.layout, ops.width)
    if key not in per_model:
        eps = np.empty((mdp.S, mdp.A))
        ops.row_defects(eps)
        per_model[key] = _validate.freeze(eps) if np.any(eps != 0.0) else None
    return per_model[key]


class _Relative:
    """V = k + W: a scalar level k and a vector W of the size of span(V) (relative value
    iteration). T(k + W) = k + T_eff W with T_eff the backup with rewards
    r_eff = r - (1 - gamma) k + gamma k eps (eps: row-sum defects), so rounding in the backups
    scales with |W| and |r|, not |V| ~ |r| / (1 - gamma): what makes the bounds below
    certifiable near gamma = 1 (the plain iteration's floor is ~1e-16 |r| / (1 - gamma)^2).

    MacQueen's bounds are taken with the rows' actual sums sigma = 1 + eps in
    [sigma_min, sigma_max]: T(V + x) lies between T V + gamma sigma_min x and
    T V + gamma sigma_max x, so with d = T V - V in [lo, hi],
        V* - T V in [f_lo(lo), f_hi(hi)],   f(x) = x g / (1 - g),
    g = gamma sigma_min (lower end, x >= 0) or gamma sigma_max (x < 0), and the reverse for the
    upper end. With eps ~ 1e-16 the difference matters once c^2 eps |d| does (c = 1e5 at
    gamma = 0.99999: 3e-7 for d ~ 0.6); moving the level to the midpoint after each greedy
    backup (extrapolate) keeps d near 0, and with it that term."""

    def __init__(self, mdp: DiscountedMDP, ops, k: float):
        self.ops, self.gamma = ops, mdp.gamma
        self.eps = _row_defects(mdp, ops)
        if self.eps is None:
            self.eps_max, self.g_min, self.g_max = 0.0, mdp.gamma, mdp.gamma
        else:
            self.eps_max = float(np.abs(self.eps).max())
            slack = 4.0 * _U * self.eps_max + 1e-30      # the compensated sums' own error
            self.g_min = mdp.gamma * (1.0 + min(float(self.eps.min()), 0.0) - slack)
            self.g_max = mdp.gamma * (1.0 + max(float(self.eps.max()), 0.0) + slack)
            if self.g_max >= 1.0:
                raise ValueError(f"gamma * max row sum = {self.g_max!r} >= 1: the rows of P "
                                 f"sum to up to 1 + {float(self.eps.max()):.3g}, too much for "
                                 f"gamma = {mdp.gamma!r}")
        self.r_max = float(np.abs(mdp.r).max())
        self.k = None
        self.set_level(k)

    def set_level(self, k: float):
        if k == self.k:
            return
        self.k = k
        g = self.gamma
        if k == 0.0:
            self.ops.set_rewards(self.ops.r0)
            return
        r = self.ops.r0 - (1.0 - g) * k
        if self.eps is not None:
            r += (g * k) * self.eps
        self.ops.set_rewards(r)

    def recenter(self, W: np.ndarray, extra: float = 0.0):
        """k += extra + midrange(W), W -= midrange(W) (in place): V = k + W moves by extra
        (the level update of extrapolate) and otherwise only by rounding."""
        shift = 0.5 * (float(W.min()) + float(W.max()))
        if shift != 0.0:
            W -= shift
        if shift != 0.0 or extra != 0.0:
            self.set_level(self.k + (shift + extra))

    def backup_error(self, W_max: float, TW_max: float, lo: float, hi: float) -> float:
        """Bound on |d_true(s) - d(s)|, d = fl(TW - W) the backup's difference for the
        represented V = k + W, d_true = (T V - V)(s) exactly: rounding of r_eff (3 ops, and
        the compensated eps), of the n-term dot product (gamma_n = 1.01 n u), of gamma * dot,
        of the reward addition and of the difference. 0 for gamma = 0 (r + 0 is exact)."""
        g, k = self.gamma, self.k
        if g == 0.0 and k == 0.0:
            return 0.0
        n = self.ops.width + 1
        e_r = 3.0 * _U * (self.r_max + g * abs(k) * self.eps_max + (1.0 - g) * abs(k)) \
            + g * abs(k) * 2.0 * n * n * _U * _U if k != 0.0 else 0.0
        return e_r + g * 1.01 * n * _U * W_max + _U * TW_max + _U * max(abs(lo), abs(hi))

    def _ends(self, lo, hi):
        """(f_lo(lo), f_hi(hi)): V* - T V lies between them when d is in [lo, hi]."""
        g_lo = self.g_min if lo >= 0.0 else self.g_max
        g_hi = self.g_max if hi >= 0.0 else self.g_min
        return lo * (g_lo / (1.0 - g_lo)), hi * (g_hi / (1.0 - g_hi))

    def certificate(self, W, TW, lo, hi):
        """(K, bound, floor, e): the midpoint V_mid = K + TW of MacQueen's bounds, a guaranteed
        sup-norm bound on |fl(K + TW) - V*|, its part that is rounding (floor: no further
        backup removes it), and the backup's rounding bound e."""
        g = self.gamma
        if g == 0.0:
            return self.k, 0.0, 0.0, 0.0            # T V = max_a r exactly
        e = self.backup_error(float(np.abs(W).max()), float(np.abs(TW).max()), lo, hi)
        b_lo, b_hi = self._ends(lo - e, hi + e)
        m_lo, m_hi = self._ends(lo, hi)
        shift = 0.5 * (m_lo + m_hi)
        K = self.k + shift
        c = self.g_max / (1.0 - self.g_max)
        # fl(K + TW), fl(k + shift), the ends' rounding (c: 3 ulp, product, sum, halving)
        assemble = _U * (2.0 * float(np.abs(TW).max()) + 3.0 * abs(K)) \
            + 6.0 * _U * (abs(m_lo) + abs(m_hi) + abs(b_lo) + abs(b_hi))
        half = max(b_hi - shift, shift - b_lo)
        floor = ((1.0 + c) * e + assemble) * (1.0 + 16.0 * _U)
        bound = (half + e + assemble) * (1.0 + 16.0 * _U)
        return K, bound, floor, e

    def policy_bound(self, lo, hi, e):
        """V* - V^pi for pi greedy in the last backup: c (span(d) + 2 e), c at sigma_max, plus
        the ends' spread from the row sums."""
        c_max = self.g_max / (1.0 - self.g_max)
        c_min = self.g_min / (1.0 - self.g_min)
        return (c_max * (hi - lo + 2.0 * e) + (c_max - c_min) * (abs(lo) + abs(hi) + 2.0 * e)) \
            * (1.0 + 16.0 * _U)


def _floor_error(tol, floor, g, name):
    raise ValueError(
        f"tol={tol:g} is below what {name} can certify on this model in float64: rounding in "
        f"the backups alone allows an error of {floor:.3g} at gamma={g} (the bound is "
        f"MacQueen's, ~c * 1e-16 * (|r| + S span(V)) with c = gamma / (1 - gamma) = "
        f"{g / (1.0 - g):.3g}); pass tol >= {floor:.2g}, or use policy_iteration")


def _midpoint_solution(ops, rel, W, TW, act, lo, hi, num_iter, converged, info):
    """Solution from the last backup TW = T_eff W (V = k + W): MacQueen midpoint V_mid, its
    certified bound, Q consistent with it (max_a Q = V_mid), the greedy policy."""
    K, bound, _, e = rel.certificate(W, TW, lo, hi)
    V_mid = TW + K
    # Q(V) + (V_mid - T V): max over a is V_mid (Q(V) = k + Q_eff(W))
    Q = ops.last_q(W) + K
    pi = _greedy(Q)
    info["policy_error_bound"] = float(rel.policy_bound(lo, hi, e))
    rel.set_level(0.0)                      # the engine back on the model's rewards
    return Solution(V=V_mid, Q=Q, pi=pi, num_iter=num_iter, converged=converged,
                    error_bound=float(bound), info=info)


# ----------------------------------------------------------------------------- solvers


@_with_idle_threads
def value_iteration(mdp, tol: float = 1e-8, max_iter: int | None = None, *,
                    layout: str = "auto") -> Solution:
    """Value iteration stopped by MacQueen's bounds (Puterman 2005, Sec. 6.3 and 6.6.3).

    Parameters
    ----------
    mdp : DiscountedMDP
    tol : float > 0
        Stop as soon as the returned V is guaranteed within ``tol`` of V* in sup norm.
    max_iter : int >= 1, optional
        Cap on the number of backups (default: enough for the sup-norm contraction alone to
        meet ``tol``; the span usually stops the iteration far earlier).
    layout : {"auto", "dense", "sparse"}
        Representation of P used by the backups (module docstring).

    Returns
    -------
    Solution
        V (S,) the midpoint of MacQueen's bounds, Q (S, A) consistent with it, pi (S, A)
        greedy; ``num_iter`` backups; ``error_bound`` >= |V - V*| (guaranteed);
        ``info["policy_error_bound"]`` >= V* - V^pi.
    """
    mdp = _check_mdp(mdp)
    tol = _check_tol(tol)
    layout = _check_layout(layout, mdp)
    max_iter = _check_max_iter(max_iter, _vi_iterations(mdp, tol))
    ops = _operator(mdp, layout)
    S, g = mdp.S, mdp.gamma
    # V = k + W (_Relative), V0 = min(r) / (1 - gamma): T V >= V, the iterates increase
    rel = _Relative(mdp, ops, mdp.r.min() / (1.0 - g) if g > 0.0 else 0.0)
    W = np.zeros(S)
    TW = np.empty(S)
    act = np.empty(S, dtype=np.int64)
    converged = False
    for k in range(1, max_iter + 1):
        lo, hi = ops.bellman(W, TW, act)
        K, bound, floor, _ = rel.certificate(W, TW, lo, hi)
        if bound <= tol:
            converged = True
            break
        if floor > tol and bound <= 2.0 * floor:
            _floor_error(tol, floor, g, "value iteration")
        if k < max_iter:
            # next iterate: the midpoint V_mid = K + TW (T V + a constant: the same span
            # contraction as value iteration, and d stays near 0, see _Relative)
            W, TW = TW, W
            rel.recenter(W, extra=K - rel.k)
    return _midpoint_solution(ops, rel, W, TW, act, lo, hi, k, converged,
                              _info(ops, backups=k))


@_with_idle_threads
def modified_policy_iteration(mdp, tol: float = 1e-8, m: int = 100,
                              max_iter: int | None = None, *, layout: str = "auto") -> Solution:
    """Modified policy iteration with MacQueen stopping (Puterman 2005, Sec. 6.5).

    Each step takes a greedy backup u = T V (which also gives the stopping test), then applies
    T_pi of the greedy pi up to ``m`` times. Those evaluation sweeps stop early once their own
    MacQueen bound says V is within ``max(tol / 2, 0.05 * current error bound)`` of V^pi in span
    (0.05 = ``_EVAL_RATIO``, the best of 0.3 ... 1e-3 by cost on the benchmark Garnets):
    sweeping further cannot change the next greedy step much. When a greedy step leaves the
    policy unchanged (it is then usually optimal) the sweeps go on to ``tol / 2`` instead, as
    in a Howard step, which saved one or two greedy backups on the benchmark Garnets. The
    guarantee of the result never depends on the sweeps (it comes from the last greedy
    backup). Starting from
    V0 = min(r)/(1-gamma), where T V0 >= V0, the iterates increase monotonically to V*
    (Puterman Thm 6.5.5).

    Parameters
    ----------
    mdp : DiscountedMDP
    tol : float > 0
        Guaranteed sup-norm error of the returned V.
    m : int >= 1
        Largest number of evaluation sweeps per greedy step.
    max_iter : int >= 1, optional
        Cap on greedy steps (default: the value-iteration cap, which MPI never needs more of).
    layout : {"auto", "dense", "sparse"}

    Returns
    -------
    Solution
        As :func:`value_iteration`; ``num_iter`` greedy steps, ``info["sweeps"]`` evaluation
        sweeps in total.
    """
    mdp = _check_mdp(mdp)
    tol = _check_tol(tol)
    m = _validate.positive_int("m", m)
    layout = _check_layout(layout, mdp)
    max_iter = _check_max_iter(max_iter, _vi_iterations(mdp, tol))
    ops = _operator(mdp, layout)
    S, g = mdp.S, mdp.gamma
    c = g / (1.0 - g)
    rel = _Relative(mdp, ops, mdp.r.min() / (1.0 - g) if g > 0.0 else 0.0)
    W = np.zeros(S)
    TW = np.empty(S)
    act = np.empty(S, dtype=np.int64)
    prev = np.full(S, -1, dtype=np.int64)
    sweeps = 0
    converged = False
    for k in range(1, max_iter + 1):
        lo, hi = ops.bellman(W, TW, act, keep_policy=True)
        K, bound, floor, _ = rel.certificate(W, TW, lo, hi)
        if bound <= tol:
            converged = True
            break
        if floor > tol and bound <= 2.0 * floor:
            _floor_error(tol, floor, g, "modified policy iteration")
        if k == max_iter:
            break
        # partial evaluation of the greedy policy, starting from TW = T_act W; deeper when
        # the greedy step kept the policy (it is then likely optimal: Howard's step). The
        # sweeps' own MacQueen test stops at its rounding floor too (2 floor).
        stable = np.array_equal(act, prev)
        prev[:] = act
        eval_tol = max(0.5 * tol if stable else max(0.5 * tol, _EVAL_RATIO * bound),
                       2.0 * floor)
        W, TW = TW, W
        rel.recenter(W, extra=K - rel.k)            # from the midpoint, as in value_iteration
        ops.set_policy(act)                         # its rows with the new rewards
        for _ in range(m):
            e_lo, e_hi = ops.policy_backup(W, TW)
            W, TW = TW, W
            sweeps += 1
            if c * 0.5 * (e_hi - e_lo) <= eval_tol:
                break
        rel.recenter(W)
    return _midpoint_solution(ops, rel, W, TW, act, lo, hi, k, converged,
                              _info(ops, backups=k, sweeps=sweeps))


@_with_idle_threads
def policy_iteration(mdp, max_iter: int | None = None, *, layout: str = "auto") -> Solution:
    """Howard's policy iteration with exact evaluation (Puterman 2005, Sec. 6.4).

    Evaluation: a dense LU solve of (I - gamma P_pi) V = r_pi for dense models; for sparse
    models a Krylov solver (BiCGSTAB, GMRES as fallback) on the same system, warm-started from
    the previous policy's values, to a relative residual of 1e-13 (a sparse LU does not finish
    at S = 100,000: DESIGN.md). An action changes only if it improves on the current one by
    more than 1e-12 * max(1, |V|), so rounding noise between tied actions cannot make it cycle;
    it stops when the policy is stable.

    Returns
    -------
    Solution
        V = V^pi of the final policy (not a midpoint), Q = r + gamma P V, pi greedy in Q;
        ``num_iter`` improvement steps; ``error_bound`` >= |V - V*| from the final backup.
    """
    mdp = _check_mdp(mdp)
    layout = _check_layout(layout, mdp)
    max_iter = _check_max_iter(max_iter, _vi_iterations(mdp, 1e-12) + 10)
    ops = _operator(mdp, layout)
    S, g = mdp.S, mdp.gamma
    V = np.full(S, mdp.r.min() / (1.0 - g))
    TV = np.empty(S)
    act = np.empty(S, dtype=np.int64)
    ops.bellman(V, TV, act)                     # greedy in r: the first policy
    new_act = np.empty(S, dtype=np.int64)
    rows = np.arange(S)
    krylov_iters = 0
    converged = False
    for k in range(1, max_iter + 1):
        if not mdp.is_sparse:
            P_pi = np.ascontiguousarray(mdp.P).reshape(S * mdp.A, S)[rows * mdp.A + act]
            V = _dense_solve(P_pi, mdp.r[rows, act], g)
        else:
            ops.set_policy(act)
            V, its = _krylov_solve(ops.matvec, ops.rp, V, S)
            krylov_iters += its
        ops.bellman(V, TV, new_act)
        # T V(s) - V(s) is the improvement of the greedy action over act[s]
        slack = 1e-12 * max(1.0, float(np.abs(V).max()))
        change = (new_act != act) & (TV > V + slack)
        if not change.any():
            converged = True
            break
        act = np.where(change, new_act, act)
    Q = ops.last_q(V)
    bound, policy_bound = _pi_certificate(mdp, ops, V)
    info = _info(ops, policy_error_bound=policy_bound)
    if mdp.is_sparse:
        info["krylov_iterations"] = krylov_iters
    return Solution(V=V, Q=Q, pi=_greedy(Q), num_iter=k, converged=converged,
                    error_bound=bound, info=info)


def _certified_bounds(mdp: DiscountedMDP, V: np.ndarray):
    """(|V - V*| bound, V* - V^pi bound for pi greedy in V) for any V (S,), certified as in
    policy_iteration (used by the LP solver)."""
    return _pi_certificate(mdp, _operator(mdp, "auto"), np.ascontiguousarray(V, dtype=float))


def _pi_certificate(mdp: DiscountedMDP, ops, V: np.ndarray):
    """(|V - V*| bound, V* - V^pi bound) for the final V, from one backup of V = k + W with
    k = midrange(V) (_Relative): V* - V in [d + c min d, d + c max d] (MacQueen), with the
    backup's rounding added to d and the representation error |V - (k + W)| <= u |W|."""
    g = mdp.gamma
    k = 0.5 * (float(V.min()) + float(V.max())) if g > 0.0 else 0.0
    rel = _Relative(mdp, ops, k)
    W = V - k
    TW = np.empty_like(V)
    lo, hi = ops.bellman(W, TW, np.empty(V.shape[0], dtype=np.int64))
    e = rel.backup_error(float(np.abs(W).max()), float(np.abs(TW).max()), lo, hi)
    rel.set_level(0.0)
    # V* - V = (T V - V) + (V* - T V) in [lo - e + f_lo(lo - e), hi + e + f_hi(hi + e)]
    b_lo, b_hi = rel._ends(lo - e, hi + e)
    bound = max(abs(lo - e + b_lo), abs(hi + e + b_hi)) \
        + 6.0 * _U * (abs(b_lo) + abs(b_hi)) + (_U * float(np.abs(W).max()) if k else 0.0)
    return float(bound * (1.0 + 16.0 * _U)), float(rel.policy_bound(lo, hi, e))


# ----------------------------------------------------------------------------- evaluation


def _dense_solve(P_pi: np.ndarray, r_pi: np.ndarray, gamma: float) -> np.ndarray:
    M = np.eye(P_pi.shape[0]) - gamma * P_pi
    return np.linalg.solve(M, r_pi)


def _krylov_solve(matvec_into, b: np.ndarray, x0: np.ndarray, S: int):
    """Solve (I - gamma P_pi) x = b; ``matvec_into(x, y)`` writes (I - gamma P_pi) x into y.

    BiCGSTAB from x0, then GMRES(60) from its result if it did not reach the tolerance.
    Returns (x, number of Krylov iterations)."""
    from scipy.sparse.linalg import LinearOperator, bicgstab, gmres  # patchable in tests

    count = [0]

    def mv(x):
        count[0] += 1
        y = np.empty(S)
        matvec_into(np.ascontiguousarray(x, dtype=np.float64).reshape(-1), y)
        return y

    op = LinearOperator((S, S), matvec=mv, dtype=np.float64)
    x, info = bicgstab(op, b, x0=x0, rtol=_KRYLOV_RTOL, atol=0.0, maxiter=10 * S + 1000)
    if info != 0:
        x, info = gmres(op, b, x0=x, rtol=_KRYLOV_RTOL, atol=0.0, restart=60,
                        maxiter=10 * S + 1000)
    return x, count[0]


@_with_idle_threads
def evaluate_policy(mdp, pi) -> PolicyValue:
    """Exact value of a (possibly stochastic) stationary policy in a discounted MDP.

    Solves (I - gamma P_pi) V = r_pi with P_pi(s, s') = sum_a pi(a|s) P(s'|s,a): by LU for dense
    models, by BiCGSTAB/GMRES (relative residual 1e-13) for sparse ones.

    Parameters
    ----------
    mdp : DiscountedMDP
    pi : array of shape (S, A)
        pi[s, a] = probability of a in s; rows sum to 1.

    Returns
    -------
    PolicyValue
        V (S,), Q (S, A) = r + gamma P V; ``info["error_bound"]`` >= |V - V^pi| (from the
        residual r_pi + gamma P_pi V - V, divided by 1 - gamma).
    """
    mdp = _check_mdp(mdp)
    pi = validate_policy(pi, (mdp.S, mdp.A), "pi", mdp.mask)
    S, g = mdp.S, mdp.gamma
    r_pi = np.einsum("sa,sa->s", pi, mdp.r)
    if mdp.is_sparse:
        probs, idx = mdp.P.probs, mdp.P.indices
        x0 = r_pi + g * r_pi.mean() / (1.0 - g)
        V, its = _krylov_solve(lambda x, y: kd.ell_policy_matvec(probs, idx, pi, g, x, y),
                               r_pi, x0, S)
        Q = np.empty((S, mdp.A))
        kd.ell_q(probs, idx, mdp.r, g, V, Q)
        info = {"krylov_iterations": its}
    else:
        P_pi = np.einsum("sa,sat->st", pi, mdp.P)
        V = _dense_solve(P_pi, r_pi, g)
        Q = _Dense(mdp, masked=False).q(V, np.empty((S, mdp.A)))
        info = {}
    residual = np.einsum("sa,sa->s", pi, Q) - V          # r_pi + gamma P_pi V - V
    info["error_bound"] = float(np.abs(residual).max() / (1.0 - g))
    return PolicyValue(V=V, Q=mask_q(mdp, Q), num_iter=info.get("krylov_iterations"),
                       converged=True, info=info)


# ----------------------------------------------------------------------------- operators


def _q_values(mdp: DiscountedMDP, V: np.ndarray, masked: bool = True) -> np.ndarray:
    """Q = r + gamma P V; -inf at masked pairs unless ``masked`` is False (then finite)."""
    Q = np.empty((mdp.S, mdp.A))
    if mdp.is_sparse:
        r = solver_reward(mdp) if masked else mdp.r
        kd.ell_q(mdp.P.probs, mdp.P.indices, r, mdp.gamma, V, Q)
        return Q
    return _Dense(mdp, masked).q(V, Q)


@_with_idle_threads
def bellman(mdp, V) -> np.ndarray:
    """(T V)(s) = max_a r(s,a) + gamma * sum_s' P(s'|s,a) V(s'); V (S,) -> (S,)."""
    mdp = _check_mdp(mdp)
    V = _check_V(mdp, V)
    TV = np.empty(mdp.S)
    act = np.empty(mdp.S, dtype=np.int64)
    if mdp.is_sparse:
        m = mdp.P.width
        kd.ell_bellman(mdp.P.probs, mdp.P.indices, solver_reward(mdp), mdp.gamma, V, TV, act,
                       np.empty((0, m)), np.empty((0, m), dtype=np.int64), np.empty(0))
    else:
        _Dense(mdp).bellman(V, TV, act)
    return TV


@_with_idle_threads
def bellman_policy(mdp, pi, V) -> np.ndarray:
    """(T_pi V)(s) = sum_a pi(a|s) [r(s,a) + gamma * sum_s' P(s'|s,a) V(s')]; pi (S, A)."""
    mdp = _check_mdp(mdp)
    pi = validate_policy(pi, (mdp.S, mdp.A), "pi", mdp.mask)
    V = _check_V(mdp, V)
    return np.einsum("sa,sa->s", pi, _q_values(mdp, V, masked=False))


__all__ = ["bellman", "bellman_policy", "evaluate_policy", "modified_policy_iteration",
           "policy_iteration", "value_iteration"]
