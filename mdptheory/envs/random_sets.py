"""Random uncertainty sets of transition models (instances for IWOCS and robust DP).

All three share the Garnet recipe for their kernels: each row puts Dirichlet(1)
probabilities on ``branching`` successors drawn uniformly without replacement; rewards
r(s, a) ~ U[0, 1] shared by every model (the paper's fixed-reward setting); rho0 uniform.

* :func:`random_rectangular_set`: (s, a)-rectangular, ``n`` independent Garnet candidate rows per
  pair (candidate 0 is the nominal row);
* :func:`random_finite_set`: ``n`` independent Garnet kernels (model 0 nominal);
* :func:`random_affine_set`: P_psi = P0 + sum_i psi_i (P_i - P0) with psi in [0, 1/d]^d and
  P0, P_1..P_d Garnet kernels, a shared (non-rectangular) parameter; every psi in the box gives
  a convex combination of the P_i, hence a kernel;
* :func:`random_episodic_rectangular_set`: the episodic counterpart of the first, candidate rows
  P (H, S, A, n, S) and rewards r (H, S, A) shared by the candidates, rho0 uniform (for
  :func:`mdptheory.algorithms.iwocs.iwocs_finite_horizon`).
"""
from __future__ import annotations

import numpy as np

from ..models import _validate
from ..models.model_sets import AffineModelSet, FiniteModelSet, RectangularModelSet


def _rows(gen, shape: tuple, S: int, branching: int) -> np.ndarray:
    """Garnet rows of shape shape + (S,)."""
    n_rows = int(np.prod(shape))
    out = np.zeros((n_rows, S))
    for i in range(n_rows):
        succ = gen.choice(S, size=branching, replace=False)
        out[i, succ] = gen.dirichlet(np.ones(branching))
    return out.reshape(shape + (S,))


def _common(S, A, n, branching, gamma, rng, n_name="n"):
    S = _validate.positive_int("S", S)
    A = _validate.positive_int("A", A)
    n = _validate.positive_int(n_name, n)
    b = S if branching is None else _validate.positive_int("branching", branching)
    if b > S:
        raise ValueError(f"branching must be <= S={S}, got {b}")
    gamma = _validate.real("gamma", gamma, lo=0.0, hi=1.0, hi_open=True)
    return S, A, n, b, gamma, _validate.rng(rng)


def random_rectangular_set(S: int, A: int, n: int, *, branching: int | None = 3,
                           gamma: float = 0.9, rng=0) -> RectangularModelSet:
    """(s, a)-rectangular set with n Garnet candidate rows per pair (candidate 0 nominal)."""
    S, A, n, b, gamma, gen = _common(S, A, n, branching, gamma, rng)
    P = _rows(gen, (S, A, n), S, b)                                   # P[s, a, k, s']
    r = gen.random((S, A))
    return RectangularModelSet(P=P, r=r, gamma=gamma, rho0=np.full(S, 1.0 / S), nominal=0)


def random_finite_set(S: int, A: int, n: int, *, branching: int | None = 3,
                      gamma: float = 0.9, rng=0) -> FiniteModelSet:
    """n independent Garnet kernels with a shared reward (model 0 nominal)."""
    S, A, n, b, gamma, gen = _common(S, A, n, branching, gamma, rng)
    P = _rows(gen, (n, S, A), S, b)                                   # P[k, s, a, s']
    r = gen.random((S, A))
    return FiniteModelSet(P=P, r=r, gamma=gamma, rho0=np.full(S, 1.0 / S), nominal=0)


def random_affine_set(S: int, A: int, d: int, *, branching: int | None = 3,
                      gamma: float = 0.9, rng=0) -> AffineModelSet:
    """P_psi = P0 + sum_i psi_i (P_i - P0), psi in [0, 1/d]^d (non-rectangular); nominal psi = 0."""
    S, A, d, b, gamma, gen = _common(S, A, d, branching, gamma, rng, "d")
    Ps = _rows(gen, (d + 1, S, A), S, b)
    r = gen.random((S, A))
    D = Ps[1:] - Ps[0][None]
    return AffineModelSet.from_arrays(Ps[0], D, r, np.zeros(d), np.full(d, 1.0 / d), gamma,
                                      rho0=np.full(S, 1.0 / S), nominal=np.zeros(d))


def random_episodic_rectangular_set(H: int, S: int, A: int, n: int, *,
                                    branching: int | None = 3, rng=0):
    """(h, s, a)-rectangular episodic set: n Garnet candidate rows per (h, s, a) and a reward
    r_h(s, a) ~ U[0, 1] shared by the candidates. Returns (P (H, S, A, n, S), r (H, S, A, n),
    rho0 (S,) uniform)."""
    H = _validate.positive_int("H", H)
    S, A, n, b, _, gen = _common(S, A, n, branching, 0.0, rng)
    P = _rows(gen, (H, S, A, n), S, b)
    r = np.repeat(gen.random((H, S, A))[..., None], n, axis=3)
    return P, r, np.full(S, 1.0 / S)


__all__ = ["random_affine_set", "random_episodic_rectangular_set", "random_finite_set",
           "random_rectangular_set"]
