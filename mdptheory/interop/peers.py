"""Converters from and to the peers' model layouts, so that no layout is ever guessed.

mdptoolbox (``pymdptoolbox`` / ``mdptoolbox-hiive``)
    ``P`` has shape (A, S, S) (or is a list of A (S, S) arrays or scipy matrices), ``R`` shape
    (S, A), (S,) (a reward per state) or (A, S, S) (a reward per transition, made an expected
    reward). mdptheory's layout is ``P[s, a, s']``: a raw (A, S, S) array given to a model is
    misread silently when S == A, so pass mdptoolbox arrays through :func:`from_mdptoolbox`.
    ``FiniteHorizon(P, R, discount, N, h)`` is ``from_mdptoolbox(P, R, discount, horizon=N,
    V_terminal=h)``; mdptoolbox's V (S, N + 1) is our ``V.T``.
QuantEcon (``quantecon.markov.DiscreteDP``)
    Product form R (S, A), Q (S, A, S), or the state-action-pair form R (L,), Q (L, S) (dense
    or scipy sparse) with ``s_indices``, ``a_indices``. Actions that a state lacks (pairs not
    listed, or R = -inf in the product form) become the model's action mask.
"""
from __future__ import annotations

import numpy as np

from ..models import _validate
from ..models.finite import DiscountedMDP, FiniteHorizonMDP
from ..models.sparse import SparseTransitions

# ----------------------------------------------------------------------------- mdptoolbox


def _mdptoolbox_P(P) -> np.ndarray:
    """(A, S, S) float64 array from mdptoolbox's P (array, or list/tuple of A matrices)."""
    import scipy.sparse as sp

    if isinstance(P, (list, tuple)) or (isinstance(P, np.ndarray) and P.dtype == object):
        mats = [np.asarray(m.toarray() if sp.issparse(m) else m, dtype=np.float64) for m in P]
        if not mats:
            raise ValueError("P must hold A >= 1 transition matrices, got none")
        shapes = {m.shape for m in mats}
        if len(shapes) != 1:
            raise ValueError(f"P's matrices must all have shape (S, S), got {sorted(shapes)}")
        P = np.stack(mats)
    arr = _validate.as_float_array("P", P)
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise ValueError(f"P must have mdptoolbox's layout (A, S, S): one (S, S) matrix per "
                         f"action; got shape {arr.shape}")
    return arr


def _mdptoolbox_R(R, P: np.ndarray) -> np.ndarray:
    """Expected reward r[s, a] from mdptoolbox's R: (S, A), (S,), (A, S, S) or a list."""
    import scipy.sparse as sp

    A, S, _ = P.shape
    if isinstance(R, (list, tuple)) or (isinstance(R, np.ndarray) and R.dtype == object):
        R = np.stack([np.asarray(m.toarray() if sp.issparse(m) else m, dtype=np.float64)
                      for m in R])
    arr = _validate.as_float_array("R", R)
    if arr.shape == (A, S, S):                    # reward per transition: E over s'
        return np.einsum("ast,ast->sa", P, arr)
    if arr.shape == (S,):
        return np.repeat(arr[:, None], A, axis=1)
    if arr.shape == (S, A):
        return arr
    if arr.shape == (A, S) and A != S:
        raise ValueError(f"R has shape (A, S) = {arr.shape}; mdptoolbox's layout is (S, A) = "
                         f"({S}, {A}): pass R.T")
    raise ValueError(f"R must have one of mdptoolbox's shapes (S, A) = ({S}, {A}), (S,) = "
                     f"({S},) or (A, S, S) = ({A}, {S}, {S}); got {arr.shape}")


def from_mdptoolbox(P, R, gamma: float | None = None, *, horizon: int | None = None,
                    V_terminal=None, rho0=None):
    """The model of mdptoolbox's (P, R) in mdptheory's layout.

    Parameters
    ----------
    P : array (A, S, S) or list of A (S, S) matrices (dense or scipy sparse)
        mdptoolbox's transition layout: ``P[a][s, s']``.
    R : array (S, A), (S,), (A, S, S) or list of A (S, S) matrices
        Rewards; per-transition rewards become expected rewards sum_s' P R.
    gamma : float
        Discount: required for the discounted model (``DiscountedMDP``; the average-reward
        solvers ignore it), default 1 with ``horizon``.
    horizon : int, optional
        N of mdptoolbox's ``FiniteHorizon``: returns a stationary ``FiniteHorizonMDP``.
    V_terminal : array (S,), optional
        mdptoolbox's ``h`` (terminal values), with ``horizon`` only.
    rho0 : array (S,), optional
        Initial distribution (default uniform).
    """
    P3 = _mdptoolbox_P(P)
    r = _mdptoolbox_R(R, P3)
    S = P3.shape[1]
    P_sas = np.ascontiguousarray(P3.transpose(1, 0, 2))       # P[s, a, s']
    rho0 = np.full(S, 1.0 / S) if rho0 is None else rho0
    if horizon is not None:
        return FiniteHorizonMDP.stationary(P_sas, r, horizon, rho0,
                                           gamma=1.0 if gamma is None else gamma,
                                           V_terminal=V_terminal)
    if V_terminal is not None:
        raise ValueError("V_terminal (mdptoolbox's h) needs a horizon")
    if gamma is None:
        raise ValueError("gamma is required for a discounted model (any value in [0, 1) for "
                         "the average-reward solvers, which ignore it), or pass horizon=N")
    return DiscountedMDP(P_sas, r, gamma, rho0)


# ----------------------------------------------------------------------------- QuantEcon


def _quantecon_arrays(ddp):
    """(P (S, A, S) dense array or SparseTransitions, r (S, A), mask or None) of a DiscreteDP."""
    import scipy.sparse as sp

    if not all(hasattr(ddp, k) for k in ("R", "Q", "beta")):
        raise TypeError(f"ddp must be a quantecon.markov.DiscreteDP, got {type(ddp).__name__}")
    if getattr(ddp, "_sa_pair", getattr(ddp, "s_indices", None) is not None):
        s_idx = np.asarray(ddp.s_indices, dtype=np.int64)
        a_idx = np.asarray(ddp.a_indices, dtype=np.int64)
        S = int(ddp.num_states)
        A = int(a_idx.max()) + 1
        mask = np.zeros((S, A), dtype=bool)
        mask[s_idx, a_idx] = True
        r = np.zeros((S, A))
        r[s_idx, a_idx] = np.asarray(ddp.R, dtype=np.float64)
        if sp.issparse(ddp.Q):
            L = len(s_idx)
            pick = sp.csr_matrix((np.ones(L), (s_idx * A + a_idx, np.arange(L))), shape=(S * A, L))
            missing = np.flatnonzero(~mask.reshape(-1))   # placeholder self-loops (masked)
            full = (pick @ sp.csr_matrix(ddp.Q)) + sp.csr_matrix(
                (np.ones(missing.size), (missing, missing // A)), shape=(S * A, S))
            P = SparseTransitions.from_scipy(full.tocsr(), A)
        else:
            P = np.zeros((S, A, S))
            P[s_idx, a_idx] = np.asarray(ddp.Q, dtype=np.float64)
            P[~mask] = 1.0 / S                          # placeholder rows (masked)
        return P, r, None if mask.all() else mask
    R = np.asarray(ddp.R, dtype=np.float64)
    mask = R > -np.inf
    P = np.array(ddp.Q.toarray() if sp.issparse(ddp.Q) else ddp.Q, dtype=np.float64)
    return P, np.where(mask, R, 0.0), None if mask.all() else mask


def from_quantecon(ddp, *, horizon: int | None = None, rho0=None):
    """The model of a ``quantecon.markov.DiscreteDP``, in either of its forms.

    Missing state-action pairs (state-action-pair form) and R = -inf (product form) become the
    action mask. Returns a DiscountedMDP (gamma = ddp.beta, which must then be < 1) or, with
    ``horizon=T``, the stationary FiniteHorizonMDP of ``quantecon.markov.backward_induction(ddp,
    T)`` (gamma = beta, which may be 1; V_terminal = 0)."""
    P, r, mask = _quantecon_arrays(ddp)
    beta = float(ddp.beta)
    if horizon is not None:
        if isinstance(P, SparseTransitions):
            P = P.to_dense()
        return FiniteHorizonMDP.stationary(P, r, horizon, np.full(r.shape[0], 1 / r.shape[0])
                                           if rho0 is None else rho0, gamma=beta, mask=mask)
    if beta >= 1.0:
        raise ValueError(f"ddp.beta = {beta}: a DiscountedMDP needs beta < 1; pass horizon=T "
                         f"for a finite horizon")
    return DiscountedMDP(P, r, beta, rho0, mask=mask)


def to_quantecon(mdp):
    """``quantecon.markov.DiscreteDP`` of a DiscountedMDP: the product form (R, Q, beta) for an
    unmasked dense model, the state-action-pair form (s_indices, a_indices; Q a scipy CSR
    matrix for sparse models) when the model has a mask or sparse transitions."""
    from quantecon.markov import DiscreteDP

    if not isinstance(mdp, DiscountedMDP):
        raise TypeError(f"mdp must be a DiscountedMDP, got {type(mdp).__name__}")
    S, A = mdp.S, mdp.A
    if mdp.mask is None and not mdp.is_sparse:
        return DiscreteDP(np.array(mdp.r), np.array(mdp.P), mdp.gamma)
    keep = (np.ones((S, A), dtype=bool) if mdp.mask is None else mdp.mask).reshape(-1)
    pairs = np.flatnonzero(keep)
    s_idx, a_idx = pairs // A, pairs % A
    if mdp.is_sparse:
        Q = mdp.P.to_scipy()[pairs]
    else:
        Q = np.ascontiguousarray(mdp.P).reshape(S * A, S)[pairs]
    return DiscreteDP(mdp.r.reshape(-1)[pairs], Q, mdp.gamma, s_idx, a_idx)


__all__ = ["from_mdptoolbox", "from_quantecon", "to_quantecon"]
