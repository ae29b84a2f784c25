"""Random Garnet MDPs ("Generic Average Reward Non-stationary Environment Testbed").

Source: Archibald, McKinnon & Thomas (1995), "On the generation of Markov decision processes",
J. Oper. Res. Soc. 46(3); in the form of Bhatnagar, Sutton, Ghavamzadeh & Lee (2009), "Natural
actor-critic algorithms", Automatica 45(11), Sec. 6: every (s, a) has ``branching`` distinct
successor states chosen uniformly at random, and the transition probabilities to them are the
gaps between ``branching - 1`` sorted Uniform(0, 1) cut points of [0, 1] (a "uniform split",
which is the Dirichlet(1, ..., 1) distribution; we draw it as normalised standard
exponentials). Rewards are Uniform(0, 1), either per (s, a) or per state.

Successor sets are drawn with Robert Floyd's subset-sampling algorithm (Bentley & Floyd 1987,
"A sample of brilliance", CACM 30(9)) in a small numba loop fed with the caller's uniforms, so the
cost is O(S * A * branching) whatever S is. Memory is O(S * A * branching) for the sparse layout,
plus O(S * A * S) for the dense one.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..models import _validate
from ..models.finite import DiscountedMDP
from ..models.sparse import SparseTransitions
from . import _common

_REWARDS = ("uniform", "state")


@njit(cache=True)
def _floyd_subsets(u, S, out):
    """Robert Floyd's sampling of a uniform random ``b``-subset of range(S), once per row.

    u (rows, b) Uniform(0, 1) numbers from the caller's Generator; out (rows, b) int64 receives
    each row's subset (unordered). O(rows * b) time, one int64 marker per state.
    """
    rows, b = u.shape
    owner = np.full(S, -1, dtype=np.int64)    # owner[t] == i: state t already taken by row i
    for i in range(rows):
        for k in range(b):
            j = S - b + k
            t = min(int(u[i, k] * (j + 1)), j)  # uniform on 0..j (min: round-off guard)
            if owner[t] == i:                   # taken: j itself is free (all picks so far < j)
                t = j
            owner[t] = i
            out[i, k] = t


def _distinct_successors(S: int, rows: int, branching: int, rng: np.random.Generator):
    """``branching`` distinct states in [0, S) for each of ``rows`` rows, sorted per row.

    Returns int64 array of shape (rows, branching); each row is a uniform random subset.
    """
    u = rng.random((rows, branching))
    out = np.empty((rows, branching), dtype=np.int64)
    _floyd_subsets(u, S, out)
    out.sort(axis=1)          # numpy's row sort is ~10x faster than sorting rows inside numba
    return out


def garnet(S: int, A: int, branching: int, *, H: int | None = None, gamma: float | None = None,
           rng, sparse: bool = False, reward: str = "uniform"):
    """Random Garnet MDP with ``branching`` distinct successors per (s, a).

    Parameters
    ----------
    S, A : int
        Numbers of states and actions (>= 1).
    branching : int
        Successors per (s, a), in [1, S]. P(. | s, a) is Dirichlet(1, ..., 1) (a uniform split of
        [0, 1]) on a uniformly random subset of ``branching`` states, so almost surely exactly
        ``branching`` entries of each row are positive.
    H : int, optional
        Horizon: return a stationary :class:`FiniteHorizonMDP` with P of shape (H, S, A, S).
    gamma : float, optional
        Discount in [0, 1): return a :class:`DiscountedMDP` with P of shape (S, A, S).
        Exactly one of ``H`` and ``gamma`` must be given.
    rng : numpy.random.Generator or int
        Source of randomness (a seed is turned into ``default_rng(seed)``).
    sparse : bool
        Store P as :class:`SparseTransitions` of width ``branching`` (needs ``gamma``); with
        the same ``rng`` the dense and sparse models have the same transitions and rewards.
    reward : {"uniform", "state"}
        ``r[s, a]`` i.i.d. Uniform(0, 1), or ``r[s, a] = u[s]`` with ``u[s]`` i.i.d. Uniform(0, 1).

    Returns
    -------
    FiniteHorizonMDP or DiscountedMDP
        rho0 is uniform over the states.

    Raises
    ------
    ValueError
        S, A or branching < 1, branching > S, both or neither of H and gamma, gamma outside
        [0, 1), unknown ``reward``, ``sparse=True`` with ``H``.
    TypeError
        Non-integer sizes, ``rng`` that is neither a Generator nor an integer seed.
    """
    S = _validate.positive_int("S", S)
    A = _validate.positive_int("A", A)
    branching = _validate.positive_int("branching", branching)
    if branching > S:
        raise ValueError(f"branching must be <= S={S} (distinct successors), got {branching}")
    H, gamma = _common.horizon_or_discount(H, gamma)
    if not isinstance(reward, str) or reward not in _REWARDS:
        raise ValueError(f"reward must be one of {_REWARDS}, got {reward!r}")
    if sparse and H is not None:
        raise ValueError(f"sparse=True builds a DiscountedMDP and needs gamma, got H={H}")
    rng = _validate.rng(rng)

    rows = S * A                                                     # row s * A + a
    successors = _distinct_successors(S, rows, branching, rng)       # (S * A, branching)
    weights = rng.standard_exponential((rows, branching))
    probs = weights / weights.sum(axis=1, keepdims=True)             # Dirichlet(1, ..., 1)
    if reward == "uniform":
        r = rng.random((S, A))                                       # r[s, a]
    else:
        r = np.repeat(rng.random(S)[:, None], A, axis=1)

    if sparse:
        P = SparseTransitions(indices=successors.reshape(S, A, branching),
                              probs=probs.reshape(S, A, branching), num_states=S)
        return DiscountedMDP(P=P, r=r, gamma=gamma)
    P = np.zeros((rows, S))
    np.put_along_axis(P, successors, probs, axis=1)
    P = P.reshape(S, A, S)                                           # P[s, a, s_next]
    return _common.build(P, r, np.full(S, 1.0 / S), H, gamma)
