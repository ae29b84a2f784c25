"""Policies as arrays: pi[h, s, a] (finite horizon) or pi[s, a] (discounted), rows sum to 1.

Deterministic policies are stored the same way (one-hot rows). Greedy ties go to the lowest
action index everywhere in mdptheory.

Every public function that takes a policy accepts either action probabilities of shape
(..., S, A), rows summing to 1 within 1e-8 (renormalised in float64 on input), or an *integer*
array of action indices of shape (..., S) (a deterministic policy; integer arrays are always read
as actions). Strings such as ``"uniform"`` are not policies: pass ``uniform(H, S, A)`` (or
``uniform(S, A)``).
"""
from __future__ import annotations

import numpy as np

from . import _validate


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def validate_policy(pi, shape: tuple, name: str = "pi", mask=None) -> np.ndarray:
    """float64 copy of ``pi`` with ``shape`` (..., S, A) and probability rows over actions,
    renormalised to sum to 1 in float64; an integer array of shape ``shape[:-1]`` (action
    indices) is turned into the one-hot policy. With a model's action ``mask`` (bool, same
    shape, False = unavailable), any positive probability on an unavailable action is a
    ValueError."""
    pi = _validate_policy(pi, shape, name)
    if mask is not None:
        bad = (pi > 0) & ~mask
        if bad.any():
            idx = np.unravel_index(int(np.argmax(bad)), bad.shape)
            raise ValueError(f"{name}[{_validate._index(idx)}] is {pi[idx]:.6g}, but action "
                             f"{idx[-1]} is not available in state {idx[-2]} (the model's "
                             f"mask[{_validate._index(idx)}] is False)")
    return pi


def _validate_policy(pi, shape: tuple, name: str) -> np.ndarray:
    shape = tuple(int(n) for n in shape)
    want = (f"{name} must be action probabilities of shape {_shape_text(shape)} or integer "
            f"actions of shape {_shape_text(shape[:-1])}")
    if isinstance(pi, str):
        hint = (f"; for the uniform policy pass mdptheory.models.uniform"
                f"{_shape_text(shape)}" if pi.strip().lower() == "uniform" else "")
        raise TypeError(f"{want}, got the string {pi!r}{hint}")
    raw = pi if isinstance(pi, np.ndarray) else None
    if raw is None:
        try:
            raw = np.asarray(pi)
        except (TypeError, ValueError):
            raw = None
    if raw is not None and raw.dtype.kind in "iu":
        if raw.shape != shape[:-1]:
            raise ValueError(f"{want}, got integer array of shape {raw.shape}")
        bad = (raw < 0) | (raw >= shape[-1])
        if bad.any():
            idx = np.unravel_index(int(np.argmax(bad)), raw.shape)
            raise ValueError(f"{name}[{_validate._index(idx)}] is {raw[idx]}, expected an "
                             f"action in [0, {shape[-1] - 1}]")
        return deterministic(raw, shape[-1])
    arr = _validate.as_float_array(name, pi)
    if arr.shape != shape:
        raise ValueError(f"{want}, got shape {arr.shape}")
    return _validate.normalize(name, arr, source=raw)


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
