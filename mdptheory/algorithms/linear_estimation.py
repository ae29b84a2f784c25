"""Ridge regression for d-rectangular linear MDPs: the one module every linear algorithm
(R2PVI, PEVI, DRPVI, DRVI-L, DR-LSVI-UCB, DR-RPO) builds on.

Documentation: docs/papers/r2pvi.md §2.3 (inner problems), §3 (estimators, penalty, baselines).

Estimator (r2pvi.md §3.2). At step h, with transitions (s^t_h, a^t_h, s^t_{h+1}) and any target
function g of the next state,

    Lambda_h = sum_t phi(s^t_h, a^t_h) phi(s^t_h, a^t_h)^T + gamma I              (Gram matrix)
    w_hat[g] = Lambda_h^{-1} sum_t phi(s^t_h, a^t_h) g(s^t_{h+1})                  (ridge fit)

estimates the factor means (E_{mu0_{h,i}}[g])_{i=1..d}. Because g depends on the next state
only, the sum is grouped by next state: with M_h[:, j] = sum_{t: s^t_{h+1} = col_j}
phi(s^t_h, a^t_h) (d, n_cols), w_hat[g] = Lambda_h^{-1} M_h g(col) exactly. Grouping is an
algebraic identity (it changes round-off only); ``group_next=False`` keeps one column per
sample, which is what data with continuous next states would give and what the runtime
experiment times as the per-sample path. Coefficients C = Lambda^{-1} M (d, n_cols): row i
holds the weights c_{i,j} of the columns in the estimate of coordinate i.

Robust next-step terms with ridge expectations (docs/papers/r2pvi.md §2.3, §2.2; kernels in
:mod:`mdptheory.kernels.linear`):

  regularised (R2PVI)   TV   w_i = (C [V]_{alpha})_i,  alpha = min_S V + lam_i     (Alg. 2)
                        KL   w_i = -lam_i log max((C e^{-V/lam_i})_i, e^{-H/lam_i})  (Alg. 3)
                        chi2 w_i = max_{a in [V_min, V_max]} u + u^2/(4 lam) - w/(4 lam),
                             u = clip(C [V]_a, 0, H)_i, w = clip(C [V]_a^2, 0, H^2)_i (Alg. 4)
  constrained (DRPVI, DR-LSVI-UCB)
                        TV   nu_i = max_{a in [lo, hi]} (C [V]_a)_i - rho_i (a - anchor)
                             (exact breakpoint search; fail-state form lo = anchor = 0,
                             hi = H; exact form lo = anchor = min_S V, hi = max_S V)
  constrained (DRVI-L)  KL   nu_i = max_{beta > 0} -beta log((C (e^{-V/beta} - 1))_i + 1)
                             - beta rho_i (grid + golden section in log beta; no breakpoints
                             exist for KL)

The d-rectangular penalty (docs/papers/r2pvi.md §3.2), Gamma_h(s, a) = beta sum_i phi_i(s, a)
sqrt((Lambda_h^{-1})_{ii}) = <phi(s, a), b_h> (paper, ``form="l1"``, the default), or the
authors' code's beta sqrt(sum_i phi_i(s, a)^2 (Lambda_h^{-1})_{ii}) (``form="l2diag"``, never
larger). PEVI's bonus is beta sqrt(phi^T Lambda^{-1} phi) (:func:`elliptical_bonus`).

What the algorithms know is a :class:`FeatureModel`: features phi (S, A, d) on a finite state
set, the known rewards r (H, S, A) (R2PVI's theta_h are known; r_h = <phi, theta_h> for a
LinearMDP) and the per-step value caps v_max (H + 1,) (H - h for rewards in [0, 1]; Q_hat_h is
clipped to [0, v_max[h]], the paper's [0, H - h + 1] with 1-based h). Steps are 0-based here.

Datasets are :class:`mdptheory.runner.online.Dataset` (s (N, H + 1), a (N, H), r (N, H)); they
are validated by :func:`validate_dataset` with errors naming the field, index and value.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.linalg.lapack import dpotrf as _potrf
from scipy.linalg.lapack import dpotri as _potri

from ..kernels import linear as klin
from ..models import LinearMDP, _validate
from ..models.policies import greedy
from ._common import require_unit_rewards

PENALTY_FORMS = ("l1", "l2diag")
Q_CLIPS = ("paper", "upper")
TV_FORMS = ("exact", "fail_state")


# ----------------------------------------------------------------------------------------------
# what the learner knows
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FeatureModel:
    """Known parts of a linear problem: features, rewards and value caps.

    Attributes
    ----------
    phi : ndarray of shape (S, A, d)
        Features. With ``simplex=True`` (default) every phi(s, a) must lie on the probability
        simplex (Assumption 3.1); with ``simplex=False`` only phi >= 0 and sum_i phi_i <= 1 are
        required (the put option's hat features, docs/papers/r2pvi.md §7.2).
    r : ndarray of shape (H, S, A)
        Known rewards r_h(s, a) (finite; not restricted to [0, 1]).
    v_max : ndarray of shape (H + 1,)
        Value caps: Q_hat_h is clipped to [0, v_max[h]]; v_max[H] = 0. Default H - h.
    simplex : bool
        Whether the simplex condition is enforced.
    zero_states : tuple of int
        States whose estimated Q is forced to 0 (the authors' code does this for the fail
        state x4 of the simulated MDP; the paper does not). Default none.
    uncapped_actions : tuple of int
        Actions whose Q is never clipped to [0, v_max[h]]: their value is known exactly
        (zero features, known reward), as the put option's exercise payoff in the authors'
        code, which caps only the estimated hold value (docs/papers/r2pvi.md). Default none.
    """

    phi: np.ndarray
    r: np.ndarray
    v_max: np.ndarray | None = None
    simplex: bool = True
    zero_states: tuple = ()
    uncapped_actions: tuple = ()

    def __post_init__(self):
        phi = _validate.as_float_array("phi", self.phi)
        _validate.shape("phi", phi, ndim=3)
        S, A, d = phi.shape
        if min(S, A, d) < 1:
            raise ValueError(f"phi must have S, A, d >= 1, got shape {phi.shape}")
        _validate.finite("phi", phi)
        if self.simplex:
            try:
                _validate.simplex("phi", phi)
            except ValueError as exc:
                raise ValueError(f"features must lie on the simplex (d-rectangular linear MDP, "
                                 f"Assumption 3.1): {exc}; pass simplex=False for "
                                 f"sub-stochastic features") from None
        else:
            neg = phi < 0
            if neg.any():
                idx = np.unravel_index(int(np.argmax(neg)), phi.shape)
                raise ValueError(f"phi[{_validate._index(idx)}] is {phi[idx]:.6g}, expected a "
                                 f"feature >= 0")
            sums = phi.sum(-1)
            if np.any(sums > 1.0 + _validate.SIMPLEX_TOL):
                idx = np.unravel_index(int(np.argmax(sums)), sums.shape)
                raise ValueError(f"phi[{_validate._index(idx)}] sums to {sums[idx]:.10g}, "
                                 f"expected <= 1")
        r = _validate.as_float_array("r", self.r)
        _validate.shape("r", r, ndim=3)
        H = r.shape[0]
        _validate.shape("r", r, expected=(H, S, A))
        if H < 1:
            raise ValueError(f"r must have H >= 1 steps, got shape {r.shape}")
        _validate.finite("r", r)
        if self.v_max is None:
            v_max = np.arange(H, -1, -1, dtype=np.float64)
        else:
            v_max = _validate.as_float_array("v_max", self.v_max)
            _validate.shape("v_max", v_max, expected=(H + 1,))
            _validate.finite("v_max", v_max)
            if np.any(v_max < 0):
                idx = int(np.argmax(v_max < 0))
                raise ValueError(f"v_max[{idx}] is {v_max[idx]:.6g}, expected >= 0")
        zs = tuple(int(s) for s in np.atleast_1d(np.asarray(self.zero_states, dtype=np.int64)))
        for j, s in enumerate(zs):
            if not 0 <= s < S:
                raise ValueError(f"zero_states[{j}] is {s}, expected a state in [0, {S})")
        ua = tuple(int(a) for a in np.atleast_1d(np.asarray(self.uncapped_actions,
                                                             dtype=np.int64)))
        for j, a in enumerate(ua):
            if not 0 <= a < A:
                raise ValueError(f"uncapped_actions[{j}] is {a}, expected an action in [0, {A})")
        object.__setattr__(self, "uncapped_actions", tuple(sorted(set(ua))))
        object.__setattr__(self, "phi", _validate.freeze(phi))
        object.__setattr__(self, "r", _validate.freeze(r))
        object.__setattr__(self, "v_max", _validate.freeze(v_max))
        object.__setattr__(self, "zero_states", zs)

    H = property(lambda self: self.r.shape[0], doc="horizon")
    S = property(lambda self: self.phi.shape[0], doc="number of states")
    A = property(lambda self: self.phi.shape[1], doc="number of actions")
    d = property(lambda self: self.phi.shape[2], doc="feature dimension")

    @property
    def value_cap(self) -> float:
        """The largest value cap v_max[0] (H for rewards in [0, 1]): the "H" of the KL clip
        e^{-H/lam} and of the chi2 clips [0, H], [0, H^2]."""
        return float(self.v_max[0])

    @classmethod
    def from_linear_mdp(cls, mdp: LinearMDP, *, zero_states=()) -> FeatureModel:
        """phi and r_h = <phi, theta_h> of a LinearMDP, caps H - h."""
        if not isinstance(mdp, LinearMDP):
            raise TypeError(f"mdp must be a LinearMDP, got {type(mdp).__name__}")
        require_unit_rewards(mdp, "the linear-MDP algorithms (R2PVI, DR-RPO, PEVI, DRPVI, "
                             "linear actor-critic, RegBPI-Linear)", "the d-rectangular "
                             "linear MDP assumption of Ma et al. 2022 / Liu & Xu 2024, "
                             "Assumption 3.1 of R2PVI, on which their theorems rest; values are "
                             "capped at H - h")
        return cls(phi=mdp.phi, r=mdp.r, zero_states=zero_states)


def feature_model(model, *, zero_states=None) -> FeatureModel:
    """A FeatureModel from a FeatureModel (returned as is, or with new zero_states), a
    LinearMDP, or any object with attributes phi, r, v_max, simplex (e.g.
    :class:`mdptheory.envs.put_option.PutOption`)."""
    if isinstance(model, FeatureModel):
        if zero_states is None:
            return model
        return FeatureModel(phi=model.phi, r=model.r, v_max=model.v_max, simplex=model.simplex,
                            zero_states=zero_states, uncapped_actions=model.uncapped_actions)
    if isinstance(model, LinearMDP):
        return FeatureModel.from_linear_mdp(model, zero_states=() if zero_states is None
                                            else zero_states)
    if all(hasattr(model, k) for k in ("phi", "r", "v_max", "simplex")):
        zs = getattr(model, "zero_states", ()) if zero_states is None else zero_states
        return FeatureModel(phi=model.phi, r=model.r, v_max=model.v_max,
                            simplex=bool(model.simplex), zero_states=zs,
                            uncapped_actions=getattr(model, "uncapped_actions", ()))
    raise TypeError(f"model must be a LinearMDP, a FeatureModel or have attributes phi, r, "
                    f"v_max, simplex; got {type(model).__name__}")


# ----------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------
def validate_dataset(dataset, fm: FeatureModel):
    """(s (N, H + 1), a (N, H), r (N, H)) of ``dataset`` checked against ``fm``.

    Raises TypeError when ``dataset`` lacks the fields or they are not integer/numeric arrays,
    ValueError for wrong shapes, states/actions out of range, non-finite rewards, or N = 0.
    """
    for name in ("s", "a", "r"):
        if not hasattr(dataset, name):
            raise TypeError(f"dataset must have fields s, a, r (a runner Dataset), got "
                            f"{type(dataset).__name__} without '{name}'")
    H, S, A = fm.H, fm.S, fm.A
    out = []
    for name, hi, extra in (("s", S, 1), ("a", A, 0)):
        x = np.asarray(getattr(dataset, name))
        if x.ndim != 2 or x.shape[1] != H + extra:
            want = "(N, H + 1)" if extra else "(N, H)"
            raise ValueError(f"dataset.{name} must have shape {want} = (*, {H + extra}), got "
                             f"{x.shape}")
        if x.shape[0] < 1:
            raise ValueError(f"dataset.{name} holds no episodes (N = 0)")
        if not np.issubdtype(x.dtype, np.integer):
            raise TypeError(f"dataset.{name} must hold integers, got dtype {x.dtype}")
        bad = (x < 0) | (x >= hi)
        if bad.any():
            idx = np.unravel_index(int(np.argmax(bad)), x.shape)
            what = "state" if name == "s" else "action"
            raise ValueError(f"dataset.{name}[{idx[0]}, {idx[1]}] is {x[idx]}, expected a "
                             f"{what} in [0, {hi})")
        out.append(x.astype(np.int64, copy=False))
    s, a = out
    if s.shape[0] != a.shape[0]:
        raise ValueError(f"dataset.s has {s.shape[0]} episodes but dataset.a has {a.shape[0]}")
    try:
        r = np.asarray(dataset.r, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("dataset.r must hold numbers") from exc
    if r.shape != a.shape:
        raise ValueError(f"dataset.r must have shape (N, H) = {a.shape}, got {r.shape}")
    _validate.finite("dataset.r", r)
    return s, a, r


def positive_weights(name: str, value, shape: tuple) -> np.ndarray:
    """A scalar or array broadcastable to ``shape`` with every entry finite and > 0 (lam)."""
    arr = _validate.as_float_array(name, value)
    _validate.finite(name, arr)
    bad = arr <= 0
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), arr.shape) if arr.ndim else ()
        where = f"{name}[{_validate._index(idx)}]" if arr.ndim else name
        raise ValueError(f"{where} is {float(arr[idx]):.6g}, expected a value > 0")
    try:
        return np.array(np.broadcast_to(arr, shape), dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{name} must be a scalar or broadcastable to shape {shape}, got shape "
                         f"{arr.shape}") from exc


def choice(name: str, value, options: tuple) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


# ----------------------------------------------------------------------------------------------
# BLAS threads
# ----------------------------------------------------------------------------------------------
_BLAS_SETTERS = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
                 ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
                 ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
                 ("openblas_set_num_threads", "openblas_get_num_threads"))


def _openblas_handles():
    """(set, get) function pairs of every OpenBLAS loaded in this process (numpy's and
    scipy's copies), found through /proc/self/maps (Linux); empty elsewhere."""
    import ctypes
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower()
                            and ".so" in ln})
    except OSError:
        return []
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _BLAS_SETTERS:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                out.append((getattr(lib, set_name), getattr(lib, get_name)))
                break
    return out


@contextlib.contextmanager
def blas_threads(n: int = 1):
    """Limit every loaded OpenBLAS to ``n`` threads inside the block (best effort, restores the
    previous counts; yields how many libraries were changed). The matrices of the linear
    algorithms are at most d x d with d <= a few hundred: BLAS threads only add contention on
    a shared, loaded machine (slowdowns of up to 100x were observed on 2 cores)."""
    handles = _openblas_handles()
    before = [get() for _, get in handles]
    for set_, _ in handles:
        set_(int(n))
    try:
        yield len(handles)
    finally:
        for (set_, _), b in zip(handles, before):
            set_(int(b))


# ----------------------------------------------------------------------------------------------
# Gram matrices and solves
# ----------------------------------------------------------------------------------------------
def gram(Phi, gamma: float, weights=None) -> np.ndarray:
    """Lambda = sum_t w_t phi_t phi_t^T + gamma I for Phi (N, d) (weights default 1)."""
    Phi = np.asarray(Phi, dtype=np.float64)
    d = Phi.shape[1]
    G = Phi.T @ (Phi if weights is None else Phi * np.asarray(weights)[:, None])
    G[np.diag_indices(d)] += gamma
    return G


def sherman_morrison_update(Lambda_inv, x, weight: float = 1.0) -> np.ndarray:
    """In place (A + weight x x^T)^{-1} from Lambda_inv = A^{-1} (symmetric, (d, d))."""
    klin.sherman_morrison(Lambda_inv, np.ascontiguousarray(x, dtype=np.float64), float(weight))
    return Lambda_inv


def ridge_regression(Phi, Y, gamma: float):
    """Lambda^{-1} Phi^T Y for Phi (N, d) and targets Y (N,) or (N, m): the ridge fit."""
    c = cho_factor(gram(Phi, gamma), lower=True, check_finite=False)
    return cho_solve(c, np.asarray(Phi).T @ np.asarray(Y, dtype=np.float64), check_finite=False)


def spd_inverse(A) -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix (LAPACK dpotrf + dpotri, symmetrised);
    ValueError if A is not positive definite."""
    c, info = _potrf(np.asarray(A, dtype=np.float64), lower=1, clean=1)
    if info != 0:
        raise ValueError(f"Gram matrix is not positive definite (LAPACK potrf info={info})")
    inv, info = _potri(c, lower=1)
    if info != 0:
        raise ValueError(f"Gram matrix inversion failed (LAPACK potri info={info})")
    upper = inv.T.copy()
    upper[np.diag_indices_from(upper)] = 0.0
    return inv + upper


@dataclass(eq=False)
class RidgeStep:
    """Sufficient statistics of one step's regression.

    Lambda (d, d) Gram matrix; M (d, n) design grouped by column; cols (n,) next state of each
    column; counts (n,) samples per column; reward_sum (d,) = sum_t phi_t r_t (for targets that
    include the observed reward). Either a Cholesky factor (offline) or an explicit inverse
    (online, Sherman–Morrison) is held.
    """

    Lambda: np.ndarray
    M: np.ndarray
    cols: np.ndarray
    counts: np.ndarray
    reward_sum: np.ndarray | None = None
    Lambda_inv: np.ndarray | None = None
    _C: np.ndarray | None = field(default=None, repr=False)
    _inv_diag: np.ndarray | None = field(default=None, repr=False)

    @property
    def d(self) -> int:
        return self.Lambda.shape[0]

    def solve(self, B) -> np.ndarray:
        """Lambda^{-1} B for B (d,) or (d, m) (through the cached inverse)."""
        return self.inverse() @ B

    def fit(self, G) -> np.ndarray:
        """Ridge estimates Lambda^{-1} M G for column targets G (n,) or (n, m): batched
        Lambda^{-1} Phi^T g for many targets g at once."""
        return self.solve(self.M @ G)

    def coefficients(self) -> np.ndarray:
        """C = Lambda^{-1} M (d, n) (cached)."""
        if self._C is None:
            self._C = np.ascontiguousarray(self.solve(self.M))
        return self._C

    def inv_diag(self) -> np.ndarray:
        """diag(Lambda^{-1}) (d,) (cached)."""
        if self._inv_diag is None:
            inv = self.inverse()
            self._inv_diag = np.ascontiguousarray(np.diag(inv).copy())
        return self._inv_diag

    def inverse(self) -> np.ndarray:
        """Lambda^{-1} (cached): Cholesky factor and its inverse by LAPACK (potrf / potri).
        Lambda >= gamma I, so the inverse is well conditioned (cond <= 1 + N max|phi|^2 /
        gamma); one inversion per step replaces the code's inversion per sample."""
        if self.Lambda_inv is None:
            self.Lambda_inv = spd_inverse(self.Lambda)
        return self.Lambda_inv

    def observed(self) -> np.ndarray:
        """Boolean mask of the columns with at least one sample."""
        return self.counts > 0


def offline_ridge_steps(dataset, fm: FeatureModel, gamma: float, *, group_next: bool = True,
                        weights=None) -> list[RidgeStep]:
    """One :class:`RidgeStep` per step h = 0..H-1 from a dataset (validated).

    ``group_next=True`` (default): the samples of all steps are first aggregated into distinct
    (h, s, a, s') tuples with their counts (or summed weights), so Lambda_h costs O(m d^2) for
    m distinct tuples and the regression columns are the distinct next states — an exact
    regrouping of the sums (one sort of the N H codes, one compiled accumulation).
    ``group_next=False``: the literal per-sample computation (Lambda_h = Phi^T Phi + gamma I over
    all N samples, one column per sample), what data with continuous states would need.
    ``weights`` (N, H), optional per-sample weights (e.g. 1 / sigma^2 of the variance-aware
    variant): Lambda = sum_t w_t phi phi^T + gamma I and M sums w_t phi_t.
    """
    s, a, r = validate_dataset(dataset, fm)
    gamma = _validate.real("gamma", gamma, lo=0.0, lo_open=True)
    N, H = a.shape
    S, A, d = fm.S, fm.A, fm.d
    W = np.ones((N, H)) if weights is None else np.asarray(weights, dtype=np.float64)
    if group_next:
        hh = np.broadcast_to(np.arange(H), (N, H))
        code = (((hh * S + s[:, :H]) * A + a) * S + s[:, 1:]).ravel()
        space = H * S * A * S
        if space <= 2 * code.size:                  # dense counting beats sorting
            n_all = np.bincount(code, minlength=space)
            uniq = np.flatnonzero(n_all)
            n_u = n_all[uniq].astype(np.float64)
            w_u = n_u if weights is None else np.bincount(code, weights=W.ravel(),
                                                          minlength=space)[uniq]
            wr_u = np.bincount(code, weights=(W * r).ravel(), minlength=space)[uniq]
        else:
            uniq, inv = np.unique(code, return_inverse=True)
            w_u = np.bincount(inv, weights=W.ravel(), minlength=uniq.size)
            wr_u = np.bincount(inv, weights=(W * r).ravel(), minlength=uniq.size)
            n_u = np.bincount(inv, minlength=uniq.size).astype(np.float64)
        h_u, rest = np.divmod(uniq, S * A * S)
        sa_u, nxt_u = np.divmod(rest, S)
        Phi = np.ascontiguousarray(fm.phi[sa_u // A, sa_u % A])                # (m, d)
        ucol, col_of = np.unique(h_u * S + nxt_u, return_inverse=True)          # by (h, s')
        col_h = ucol // S
        start = np.searchsorted(col_h, np.arange(H), side="left")
        end = np.searchsorted(col_h, np.arange(H), side="right")
        local = (col_of - start[h_u]).astype(np.int64)
        Lam = np.broadcast_to(gamma * np.eye(d), (H, d, d)).copy()
        M = np.zeros((H, d, max(int((end - start).max()), 1)))
        klin.accumulate_triples(h_u.astype(np.int64), Phi, w_u, local, Lam, M)
        counts = np.bincount(col_of, weights=n_u, minlength=ucol.size)
        rsum = np.zeros((H, d))
        np.add.at(rsum, h_u, Phi * wr_u[:, None])
        return [RidgeStep(Lambda=Lam[h], M=np.ascontiguousarray(M[h, :, :end[h] - start[h]]),
                          cols=ucol[start[h]:end[h]] % S, counts=counts[start[h]:end[h]],
                          reward_sum=rsum[h]) for h in range(H)]
    steps = []
    for h in range(H):
        w = np.ascontiguousarray(W[:, h])
        Phi = np.ascontiguousarray(fm.phi[s[:, h], a[:, h]])            # (N, d)
        steps.append(RidgeStep(Lambda=gram(Phi, gamma, None if weights is None else w),
                               M=np.ascontiguousarray((Phi * w[:, None]).T),
                               cols=s[:, h + 1].copy(), counts=np.ones(N),
                               reward_sum=Phi.T @ (w * r[:, h])))
    return steps


class OnlineRidge:
    """Running per-step ridge statistics for online learners (DR-LSVI-UCB, DR-RPO).

    Keeps Lambda_h (H, d, d), its inverse updated by Sherman–Morrison after every transition,
    M_h (H, d, S) grouped by next state and counts (H, S). ``step(h)`` gives a RidgeStep whose
    columns are the next states observed so far.
    """

    def __init__(self, phi, H: int, gamma: float):
        self.phi = np.ascontiguousarray(phi, dtype=np.float64)
        S, _, d = self.phi.shape
        self.H = _validate.positive_int("H", H)
        self.gamma = _validate.real("gamma", gamma, lo=0.0, lo_open=True)
        self.Lambda = np.broadcast_to(self.gamma * np.eye(d), (H, d, d)).copy()
        self.Lambda_inv = np.broadcast_to(np.eye(d) / self.gamma, (H, d, d)).copy()
        self.M = np.zeros((H, d, S))                                  # M[h, :, s']
        self.counts = np.zeros((H, S))
        self.reward_sum = np.zeros((H, d))
        self.n = 0
        self._cols = [np.zeros(0, dtype=np.int64) for _ in range(H)]

    def update(self, s, a, r=None):
        """Add one episode: s (H + 1,), a (H,), r (H,) optional."""
        for h in range(self.H):
            x = self.phi[s[h], a[h]]
            self.Lambda[h] += np.outer(x, x)
            klin.sherman_morrison(self.Lambda_inv[h], x, 1.0)
            self.M[h, :, s[h + 1]] += x
            if self.counts[h, s[h + 1]] == 0.0:
                self._cols[h] = np.flatnonzero(self.counts[h] > 0)
                self._cols[h] = np.union1d(self._cols[h], [s[h + 1]])
            self.counts[h, s[h + 1]] += 1.0
            if r is not None:
                self.reward_sum[h] += x * r[h]
        self.n += 1

    def step(self, h: int) -> RidgeStep:
        cols = self._cols[h]
        return RidgeStep(Lambda=self.Lambda[h], M=np.ascontiguousarray(self.M[h][:, cols]),
                         cols=cols, counts=self.counts[h, cols],
                         reward_sum=self.reward_sum[h], Lambda_inv=self.Lambda_inv[h])


# ----------------------------------------------------------------------------------------------
# penalties / bonuses
# ----------------------------------------------------------------------------------------------
def penalty_vector(inv_diag, beta: float) -> np.ndarray:
    """b_i = beta sqrt((Lambda^{-1})_{ii}): the l1 penalty is <phi(s, a), b>."""
    return beta * np.sqrt(np.maximum(np.asarray(inv_diag, dtype=np.float64), 0.0))


def d_rectangular_penalty(phi, inv_diag, beta: float, form: str = "l1") -> np.ndarray:
    """Gamma(s, a) for phi (..., d):

    ``"l1"`` (paper):      beta sum_i phi_i sqrt((Lambda^{-1})_{ii}) = <phi, b>;
    ``"l2diag"`` (code):   beta sqrt(sum_i phi_i^2 (Lambda^{-1})_{ii}) (never larger).
    """
    form = choice("penalty", form, PENALTY_FORMS)
    phi = np.asarray(phi, dtype=np.float64)
    diag = np.maximum(np.asarray(inv_diag, dtype=np.float64), 0.0)
    if form == "l1":
        return phi @ penalty_vector(diag, beta)
    return beta * np.sqrt(np.maximum((phi * phi) @ diag, 0.0))


def elliptical_bonus(phi, Lambda_inv, beta: float) -> np.ndarray:
    """PEVI's beta sqrt(phi^T Lambda^{-1} phi) for phi (..., d)."""
    phi = np.asarray(phi, dtype=np.float64)
    flat = phi.reshape(-1, phi.shape[-1])
    quad = ((flat @ Lambda_inv) * flat).sum(-1).reshape(phi.shape[:-1])
    return beta * np.sqrt(np.maximum(quad, 0.0))


# ----------------------------------------------------------------------------------------------
# next-step terms with ridge expectations
# ----------------------------------------------------------------------------------------------
def ridge_mean(step: RidgeStep, v_cols) -> np.ndarray:
    """Plain ridge estimate of (E_{mu_i} V)_i: Lambda^{-1} M V(cols)."""
    return step.fit(np.asarray(v_cols, dtype=np.float64))


def tv_regularized_estimate(step: RidgeStep, v_cols, lam, v_min: float) -> np.ndarray:
    """R2PVI-TV (Alg. 2): w_i = (Lambda^{-1} M [V]_{alpha_i})_i, alpha_i = v_min + lam_i.

    lam (d,); one regression per distinct lam (one in the paper)."""
    lam = np.asarray(lam, dtype=np.float64)
    v = np.asarray(v_cols, dtype=np.float64)
    uniq, which = np.unique(lam, return_inverse=True)
    T = np.minimum(v[:, None], v_min + uniq[None, :])                 # (n, n_lam)
    W = step.fit(T)                                                   # (d, n_lam)
    return W[np.arange(step.d), which]


def kl_regularized_estimate(step: RidgeStep, v_cols, lam, v_cap: float) -> np.ndarray:
    """R2PVI-KL (Alg. 3): w_i = -lam_i log max((Lambda^{-1} M e^{-V/lam_i})_i, e^{-v_cap/lam_i}),
    computed with the exact shift by min V (no underflow)."""
    lam = np.asarray(lam, dtype=np.float64)
    v = np.ascontiguousarray(v_cols, dtype=np.float64)
    out = np.empty(step.d)
    if np.all(lam == lam[0]) and v.size:
        m = v.min()
        y = step.fit(np.exp(-(v - m) / lam[0]))
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.where(y > 0, m - lam[0] * np.log(np.where(y > 0, y, 1.0)), v_cap)
        return np.minimum(val, v_cap)
    klin.kl_reg_ridge(step.coefficients(), v, lam, float(v_cap), out)
    return out


def chi2_regularized_estimate(step: RidgeStep, v_cols, lam, lo: float, hi: float, *,
                              clip: bool = True, v_cap: float | None = None):
    """R2PVI-chi2 (Alg. 4): max over alpha in [lo, hi] of u + u^2/(4 lam) - w/(4 lam) with the
    ridge estimates u of E[V]_alpha and w of E[V]_alpha^2, clipped to [0, v_cap] and
    [0, v_cap^2] when ``clip`` (exact piecewise-quadratic search). Returns (w (d,), alpha (d,))."""
    lam = np.asarray(lam, dtype=np.float64)
    out = np.empty(step.d)
    alpha = np.empty(step.d)
    cap1 = np.inf if v_cap is None else float(v_cap)
    klin.chi2_reg_dual_ridge(step.coefficients(), np.ascontiguousarray(v_cols, np.float64), lam,
                             float(lo), float(max(hi, lo)), bool(clip), cap1, cap1 * cap1,
                             out, alpha)
    return out, alpha


def tv_constrained_estimate(step: RidgeStep, v_cols, radius, lo: float, hi: float,
                            anchor: float):
    """DRPVI / DR-LSVI-UCB TV dual: max_{alpha in [lo, hi]} (C [V]_alpha)_i - rho_i (alpha -
    anchor), exact breakpoint search. Returns (nu (d,), alpha (d,))."""
    out = np.empty(step.d)
    alpha = np.empty(step.d)
    klin.tv_dual_ridge(step.coefficients(), np.ascontiguousarray(v_cols, np.float64),
                       np.ascontiguousarray(radius, np.float64), float(lo), float(max(hi, lo)),
                       float(anchor), out, alpha)
    return out, alpha


KL_SEARCHES = ("exact", "grid")


def kl_dual_range(radius, v_cap: float):
    """The admissible dual range of :func:`kl_constrained_estimate`: beta in
    [1e-7 v_cap, 4 v_cap max(1, rho_i^{-1/2})] per coordinate. Returns (beta_lo, beta_hi (d,)).

    With exact expectations the sup sits at beta -> 0 when rho >= -log P(V = min V) (the
    value tends to min V, reached to within 1e-7 v_cap log(1/P) at beta_lo), and otherwise the
    maximiser is <= range(V) / sqrt(2 rho) <= beta_hi (the authors' code searches (0, H])."""
    radius = np.asarray(radius, dtype=np.float64)
    scale = max(float(v_cap), 1e-12)
    pos = radius > 0
    beta_hi = 4.0 * scale * np.maximum(1.0, 1.0 / np.sqrt(np.where(pos, radius, 1.0)))
    return 1e-7 * scale, np.ascontiguousarray(beta_hi)


def kl_constrained_estimate(step: RidgeStep, v_cols, radius, v_cap: float, *,
                            centered: bool = True, floor: float = 1e-6, search: str = "exact",
                            cap_nominal: bool | None = None, n_grid: int = 64,
                            n_golden: int = 40,
                            tol: float | None = None, max_evals: int = 20_000, record=None):
    """DRVI-L KL dual with ridge expectations. The objective of coordinate i is

        f_i(beta) = min(-beta log max(y_i(beta), floor), v_cap) - beta rho_i,
        y_i(beta) = 1 + (C (e^{-V/beta} - 1))_i

    (the authors' centred regression; ``centered=False`` gives (C e^{-V/beta})_i), with
    floor = 1e-6 as in their code (0 with exact expectations).

    Target (``search="exact"``, default): nu_i = min(max_{beta in [beta_lo, beta_hi_i]}
    f_i(beta), (C V)_i) — the maximum over the admissible dual range (:func:`kl_dual_range`),
    capped at the plain ridge (nominal) estimate of E V. The cap is needed because ridge
    weights of either sign make f_i multi-peaked: below the beta where y_i crosses the floor,
    f_i is the line beta (-log floor - rho_i), and the kink where it meets the smooth piece is
    a peak that can exceed the nominal estimate, while a robust value is never above the
    nominal one (the exact dual is <= E V for every rho >= 0). The maximum is certified by a
    branch and bound (:func:`mdptheory.kernels.linear.kl_dual_ridge_exact`) to ``tol``
    (default 1e-10 max(1, v_cap)) within ``max_evals`` objective evaluations per coordinate.

    ``search="grid"``: the former estimator (log grid of ``n_grid`` points, then ``n_golden``
    golden-section steps around the best one, no cap; exact for the concave dual of exact
    expectations, but it can miss the kink peaks). ``cap_nominal`` defaults to True for
    "exact" and False for "grid". rho_i = 0 gives the beta -> inf limit, the
    ridge mean. ``record`` (dict, optional) receives "certified" and "capped" (bool (d,)).
    Returns (nu (d,), beta (d,)), beta the maximiser of f_i (before the cap)."""
    choice("search", search, KL_SEARCHES)
    radius = np.ascontiguousarray(radius, np.float64)
    v = np.ascontiguousarray(v_cols, np.float64)
    beta_lo, beta_hi = kl_dual_range(radius, v_cap)
    C = step.coefficients()
    out = np.empty(step.d)
    beta = np.empty(step.d)
    certified = np.ones(step.d, dtype=np.int8)
    if cap_nominal is None:
        cap_nominal = search == "exact"
    if search == "exact":
        t = 1e-10 * max(1.0, float(v_cap)) if tol is None else float(tol)
        klin.kl_dual_ridge_exact(C, v, radius, bool(centered), float(floor), float(v_cap),
                                 float(beta_lo), beta_hi, int(n_grid), t, int(max_evals), out,
                                 beta, certified)
    else:
        log_grid = np.linspace(np.log(beta_lo), np.log(beta_hi.max()), int(n_grid))
        klin.kl_dual_ridge(C, v, radius, bool(centered), float(floor), float(v_cap),
                           log_grid, beta_hi, int(n_golden), out, beta)
    capped = np.zeros(step.d, dtype=bool)
    if cap_nominal:
        nominal = C @ v
        capped = out > nominal
        out = np.minimum(out, nominal)
    if record is not None:
        record["certified"] = certified.astype(bool)
        record["capped"] = capped
    return out, beta


# ----------------------------------------------------------------------------------------------
# the pessimistic backward pass shared by the offline algorithms
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LinearVIResult:
    """Output of a linear value-iteration algorithm.

    pi (H, S, A) greedy in Q (ties -> lowest action index); Q (H, S, A); V (H + 1, S) with
    V[H] = 0; w (H, d) the estimated next-step term (w_hat^lam_h of R2PVI, nu_hat_h of the
    constrained methods, the regression of V for PEVI); bonus (H, S, A) the penalty (offline) or
    bonus (online) Gamma_h(s, a); inv_diag (H, d) diag(Lambda_h^{-1}); beta the penalty scale.
    """

    pi: np.ndarray
    Q: np.ndarray
    V: np.ndarray
    w: np.ndarray
    bonus: np.ndarray
    inv_diag: np.ndarray
    beta: float
    info: dict = field(default_factory=dict)


def clip_q(q, v_cap: float, mode: str):
    """Q clipped to [0, v_cap] (paper) or only from above (authors' code)."""
    if mode == "paper":
        return np.clip(q, 0.0, v_cap)
    return np.minimum(q, v_cap)


def backward_pass(fm: FeatureModel, steps, next_term, bonus_fn, *, sign: float = -1.0,
                  q_clip: str = "paper") -> LinearVIResult:
    """Q_h = clip(r_h + <phi, w_h> + sign * Gamma_h, 0, v_max[h]), V_h = max_a Q_h, h = H-1..0.

    ``next_term(h, step, V_next) -> w_h (d,)``; ``bonus_fn(h, step) -> Gamma_h (S, A)``;
    sign -1 for pessimism (offline), +1 for optimism (online). States in fm.zero_states get
    Q = 0; actions in fm.uncapped_actions keep their unclipped Q.
    """
    H, S, A, d = fm.H, fm.S, fm.A, fm.d
    V = np.zeros((H + 1, S))            # V[h, s], V[H] = 0
    Q = np.empty((H, S, A))             # Q[h, s, a]
    W = np.empty((H, d))                # w[h, i]
    B = np.empty((H, S, A))             # Gamma[h, s, a]
    D = np.empty((H, d))                # diag Lambda_h^{-1}
    zs = list(fm.zero_states)
    free = list(fm.uncapped_actions)
    for h in range(H - 1, -1, -1):
        step = steps[h]
        W[h] = next_term(h, step, V[h + 1])
        B[h] = bonus_fn(h, step)
        D[h] = step.inv_diag()
        raw = fm.r[h] + fm.phi @ W[h] + sign * B[h]
        q = clip_q(raw, fm.v_max[h], q_clip)
        if free:
            q[:, free] = raw[:, free]
        if zs:
            q[zs] = 0.0
        Q[h] = q
        V[h] = q.max(axis=-1)
    return LinearVIResult(pi=greedy(Q), Q=Q, V=V, w=W, bonus=B, inv_diag=D, beta=np.nan)


__all__ = [
    "KL_SEARCHES",
    "PENALTY_FORMS",
    "Q_CLIPS",
    "TV_FORMS",
    "FeatureModel",
    "LinearVIResult",
    "OnlineRidge",
    "RidgeStep",
    "backward_pass",
    "blas_threads",
    "chi2_regularized_estimate",
    "clip_q",
    "d_rectangular_penalty",
    "elliptical_bonus",
    "feature_model",
    "gram",
    "kl_constrained_estimate",
    "kl_dual_range",
    "kl_regularized_estimate",
    "offline_ridge_steps",
    "penalty_vector",
    "positive_weights",
    "ridge_mean",
    "ridge_regression",
    "sherman_morrison_update",
    "spd_inverse",
    "tv_constrained_estimate",
    "tv_regularized_estimate",
    "validate_dataset",
]
