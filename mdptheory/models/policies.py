"""Policies as arrays: pi[h, s, a] (finite horizon) or pi[s, a] (discounted), rows sum to 1.

Deterministic policies are stored the same way (one-hot rows). Greedy ties go to the lowest
action index everywhere in mdptheory.
"""
from __future__ import annotations

import numpy as np

from . import _validate


def validate_policy(pi, shape: tuple, name: str = "pi") -> np.ndarray:
    """float64 copy of ``pi`` checked to have ``shape`` and probability rows over actions."""
    arr = _validate.as_float_array(name, pi)
    _validate.shape(name, arr, expected=shape)
    _validate.simplex(name, arr)
    return arr


def greedy(Q: np.ndarray) -> np.ndarray:
    """One-hot policy argmax_a Q[..., a] (ties -> lowest index); same shape as Q."""
    Q = np.asarray(Q)
    pi = np.zeros(Q.shape)
    np.put_along_axis(pi, np.argmax(Q, axis=-1)[..., None], 1.0, axis=-1)
    return pi


def uniform(*shape: int) -> np.ndarray:
    """Uniform policy of shape (..., A)."""
    return np.full(shape, 1.0 / shape[-1])


def deterministic(actions, A: int) -> np.ndarray:
    """One-hot policy from integer actions[...] in [0, A): shape actions.shape + (A,)."""
    act = np.asarray(actions)
    if not np.issubdtype(act.dtype, np.integer):
        raise TypeError(f"actions must be integers, got dtype {act.dtype}")
    A = _validate.positive_int("A", A)
    bad = (act < 0) | (act >= A)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), act.shape)
        raise ValueError(f"actions[{_validate._index(idx)}] is {act[idx]}, expected in [0, {A - 1}]")
    pi = np.zeros(act.shape + (A,))
    np.put_along_axis(pi, act[..., None], 1.0, axis=-1)
    return pi


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    z = logits - np.max(logits, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)
