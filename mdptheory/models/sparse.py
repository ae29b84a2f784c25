"""Sparse transition kernels in a fixed-width successor layout (ELL).

For each (s, a) we store at most ``m`` successor indices and their probabilities; rows with
fewer successors are padded with probability 0 (index repeated). This layout lets numba kernels
stream ``probs`` and ``indices`` contiguously and gather from ``V``: the cost of a backup is
O(S * A * m) instead of O(S * A * S).

Symbol    Shape        Description
indices   (S, A, m)    int64 successor states s'
probs     (S, A, m)    float64 P(s' | s, a); padding entries are 0
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import _validate


@dataclass(frozen=True, eq=False)
class SparseTransitions:
    """P[s, a, s'] stored as ``indices[s, a, j]`` / ``probs[s, a, j]`` (j < m).

    Each row ``probs[s, a]`` must sum to 1 within 1e-8 (``m * eps`` for float32 input) and is
    renormalised in float64 so that it sums to 1 to rounding."""

    indices: np.ndarray
    probs: np.ndarray
    num_states: int

    def __post_init__(self):
        S = _validate.positive_int("num_states", self.num_states)
        probs = _validate.as_float_array("probs", self.probs)
        _validate.shape("probs", probs, ndim=3)
        idx = np.asarray(self.indices)
        if not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"indices must be an integer array, got dtype {idx.dtype}")
        idx = np.array(idx, dtype=np.int64)
        _validate.shape("indices", idx, expected=probs.shape)
        if probs.shape[0] != S:
            raise ValueError(f"probs has {probs.shape[0]} states in axis 0, num_states is {S}")
        bad = (idx < 0) | (idx >= S)
        if bad.any():
            i = np.unravel_index(int(np.argmax(bad)), idx.shape)
            raise ValueError(f"indices[{_validate._index(i)}] is {idx[i]}, expected a state "
                             f"in [0, {S - 1}]")
        _validate.normalize("probs", probs, source=self.probs)
        object.__setattr__(self, "indices", _validate.freeze(idx))
        object.__setattr__(self, "probs", _validate.freeze(probs))
        object.__setattr__(self, "num_states", S)

    @property
    def shape(self) -> tuple:
        S, A, _ = self.probs.shape
        return (S, A, S)

    @property
    def width(self) -> int:
        return self.probs.shape[2]

    @functools.cached_property
    def narrow_indices(self) -> np.ndarray:
        """``indices`` as int32 when S < 2**31 (fewer bytes per gather in the backup kernels),
        else ``indices``; a read-only copy made on first use and kept."""
        if self.num_states >= 2**31:
            return self.indices
        return _validate.freeze(self.indices.astype(np.int32))

    @classmethod
    def from_dense(cls, P) -> SparseTransitions:
        """From a dense ``P[s, a, s']``; width = the largest number of successors of any (s, a)."""
        P_in = P
        P = _validate.as_float_array("P", P)
        _validate.shape("P", P, ndim=3)
        S = P.shape[0]
        if S < 1 or P.shape[1] < 1:
            raise ValueError(f"P must have S >= 1 states and A >= 1 actions, got shape {P.shape}")
        _validate.normalize("P", P, source=P_in)
        nz = P > 0
        m = max(1, int(nz.sum(axis=2).max()))
        order = np.argsort(~nz, axis=2, kind="stable")[:, :, :m]   # nonzeros first, in s' order
        probs = np.take_along_axis(P, order, axis=2)
        return cls(indices=order.astype(np.int64), probs=probs, num_states=S)

    @classmethod
    def from_scipy(cls, matrix, num_actions: int) -> SparseTransitions:
        """From a scipy.sparse matrix of shape (S * A, S) with row ``s * A + a``."""
        import scipy.sparse as sp

        if not sp.issparse(matrix):
            raise TypeError(f"matrix must be a scipy.sparse matrix, got {type(matrix).__name__}")
        A = _validate.positive_int("num_actions", num_actions)
        csr = sp.csr_matrix(matrix)
        csr.sum_duplicates()
        SA, S = csr.shape
        if SA != S * A:
            raise ValueError(f"matrix must have shape (S * A, S) = ({S * A}, {S}), got {csr.shape}")
        counts = np.diff(csr.indptr)
        m = max(1, int(counts.max()))
        indices = np.zeros((SA, m), dtype=np.int64)
        probs = np.zeros((SA, m))
        rows = np.repeat(np.arange(SA), counts)
        cols = np.arange(csr.nnz) - np.repeat(csr.indptr[:-1], counts)
        indices[rows, cols] = csr.indices
        probs[rows, cols] = csr.data
        _validate.normalize("matrix", probs, tol=_validate.simplex_tol(csr.data, m))
        # padding repeats the row's first successor, so gathers stay in cache
        pad = np.arange(m)[None, :] >= counts[:, None]
        indices[pad] = np.broadcast_to(indices[:, :1], indices.shape)[pad]
        return cls(indices=indices.reshape(S, A, m), probs=probs.reshape(S, A, m), num_states=S)

    def with_self_loops(self, pairs) -> SparseTransitions:
        """A copy whose rows at ``pairs`` (bool (S, A), True = replace) are the self-loop
        P(s | s, a) = 1 (used for masked actions)."""
        probs = np.array(self.probs)
        idx = np.array(self.indices)
        s, a = np.nonzero(pairs)
        probs[s, a] = 0.0
        probs[s, a, 0] = 1.0
        idx[s, a] = s[:, None]
        return SparseTransitions(indices=idx, probs=probs, num_states=self.num_states)

    def to_scipy(self):
        """The (S * A, S) CSR matrix with row ``s * A + a``."""
        import scipy.sparse as sp

        S, A, m = self.probs.shape
        rows = np.repeat(np.arange(S * A), m)
        mat = sp.csr_matrix((self.probs.ravel(), (rows, self.indices.ravel())), shape=(S * A, S))
        mat.eliminate_zeros()
        return mat

    def to_dense(self) -> np.ndarray:
        """Dense P[s, a, s'] (sums padding duplicates correctly)."""
        S, A, m = self.probs.shape
        P = np.zeros((S, A, S))
        s_idx = np.repeat(np.arange(S), A * m)
        a_idx = np.tile(np.repeat(np.arange(A), m), S)
        np.add.at(P, (s_idx, a_idx, self.indices.ravel()), self.probs.ravel())
        return P
