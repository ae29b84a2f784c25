"""Hypothesis strategies for MDPs, values, distributions, policies and robustness parameters.

Shared by ``tests/`` and ``proofs_check/`` (STYLE.md §4.8). The model strategies draw only
**sizes, flags and one integer seed**, then build every array with
``numpy.random.default_rng(seed)``: hypothesis then shrinks a failure towards small S, A, H, d
and simple flags instead of through thousands of floats. Flags cover the cases lemmas tend to
break on: deterministic or sparse-support transitions, zero or 0/1 rewards (ties), one-hot
initial distributions. :func:`edge_value_vectors` is the one strategy built element by element
(``hypothesis.extra.numpy``), for ties, constants and boundary values.

Usage::

    from hypothesis import given, settings
    from mdptheory.testing import strategies as mst

    @settings(max_examples=300, deadline=None)
    @given(mst.discounted_mdps(max_S=6, max_A=4), st.data())
    def test_something(mdp, data):
        V = data.draw(mst.value_vectors(mdp.S))
"""
from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
from hypothesis.extra import numpy as hnp

from ..models import _validate
from ..models.finite import DiscountedMDP, FiniteHorizonMDP
from ..models.linear import LinearMDP
from ..models.sparse import SparseTransitions

__all__ = ["DIVERGENCES", "MAX_RADIUS", "WIDE_MAX_RADIUS", "discounted_mdps",
           "discounted_policies", "distributions", "divergences", "edge_value_vectors",
           "finite_mdps", "lams", "linear_mdps", "policies", "radii", "seeds",
           "tiny_mass_distributions", "value_vectors", "wide_radii"]

DIVERGENCES = ("tv", "kl", "chi2")
#: Largest radius drawn per divergence: TV (with the 1/2) never exceeds 1; for KL and chi2 the
#: sets stop changing much beyond these values on small state spaces.
MAX_RADIUS = {"tv": 1.0, "kl": 5.0, "chi2": 10.0}

STRUCTURES = ("dense", "sparse", "deterministic")     # transition rows
REWARDS = ("uniform", "zero", "binary")               # binary = 0/1 rewards, many ties
SIGNED = "signed"                  # N(0, 10^2) rewards, any sign: only when asked for
INITIAL = ("dirichlet", "uniform", "point")


def seeds():
    """Integer seeds for ``numpy.random.default_rng``."""
    return st.integers(min_value=0, max_value=2**32 - 1)


# ---------------------------------------------------------------- array builders (numpy only)

def _rows(rng, prefix: tuple, S: int, structure: str) -> np.ndarray:
    """Probability rows of shape prefix + (S,): Dirichlet(1), Dirichlet(1) on a random support
    of random size, or one-hot."""
    if structure == "deterministic":
        out = np.zeros(prefix + (S,))
        np.put_along_axis(out, rng.integers(0, S, size=prefix + (1,)), 1.0, axis=-1)
        return out
    w = rng.standard_exponential(prefix + (S,))
    if structure == "sparse":
        k = rng.integers(1, S + 1, size=prefix + (1,))                 # support sizes
        ranks = np.argsort(np.argsort(rng.random(prefix + (S,)), axis=-1), axis=-1)
        w = np.where(ranks < k, w, 0.0)
    return w / w.sum(axis=-1, keepdims=True)


def _rewards(rng, shape: tuple, kind: str) -> np.ndarray:
    if kind == SIGNED:
        return 10.0 * rng.standard_normal(shape)
    if kind == "zero":
        return np.zeros(shape)
    if kind == "binary":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    return rng.random(shape)


def _initial(rng, S: int, kind: str) -> np.ndarray:
    if kind == "uniform":
        return np.full(S, 1.0 / S)
    if kind == "point":
        rho0 = np.zeros(S)
        rho0[rng.integers(0, S)] = 1.0
        return rho0
    return rng.dirichlet(np.ones(S))


def _structure(deterministic):
    if deterministic is None:
        return st.sampled_from(STRUCTURES)
    return st.just("deterministic") if deterministic else st.sampled_from(STRUCTURES[:2])


def _reward_kinds(rewards):
    if rewards is None:
        return st.sampled_from(REWARDS)
    if rewards not in (*REWARDS, SIGNED):
        raise ValueError(f"rewards must be one of {(*REWARDS, SIGNED)} or None, got {rewards!r}")
    return st.just(rewards)


def _sizes(name_max: dict) -> None:
    for name, value in name_max.items():
        _validate.positive_int(name, value)


def _floats_with_edges(lo: float, hi: float, edges=()):
    """Floats in [lo, hi], with the endpoints and ``edges`` inside it drawn often."""
    special = sorted({float(x) for x in (lo, hi, *edges) if lo <= x <= hi})
    return st.one_of(st.sampled_from(special),
                     st.floats(min_value=lo, max_value=hi, allow_nan=False,
                               allow_infinity=False))


# ---------------------------------------------------------------------------- model strategies

def finite_mdps(max_S: int = 5, max_A: int = 3, max_H: int = 4, deterministic=None, *,
                stationary=None, rewards=None):
    """Episodic :class:`FiniteHorizonMDP` with 1 <= S <= max_S, 1 <= A <= max_A, 1 <= H <= max_H.

    Parameters
    ----------
    deterministic : bool, optional
        True: one-hot transition rows only; False: Dirichlet(1) rows on the full support or on
        a random support (of random size, possibly 1); None: any of these.
    stationary : bool, optional
        Same P, r at every step (built with ``FiniteHorizonMDP.stationary``); None draws it.
    rewards : {"uniform", "zero", "binary"}, optional
        Reward kind (i.i.d. U[0, 1], all 0, or i.i.d. in {0, 1}); None draws it.
    """
    _sizes({"max_S": max_S, "max_A": max_A, "max_H": max_H})
    return _finite_mdps(max_S, max_A, max_H, _structure(deterministic), _reward_kinds(rewards),
                        st.booleans() if stationary is None else st.just(bool(stationary)))


@st.composite
def _finite_mdps(draw, max_S, max_A, max_H, structures, reward_kinds, stationaries):
    S = draw(st.integers(1, max_S), label="S")
    A = draw(st.integers(1, max_A), label="A")
    H = draw(st.integers(1, max_H), label="H")
    structure = draw(structures, label="structure")
    reward_kind = draw(reward_kinds, label="rewards")
    is_stationary = draw(stationaries, label="stationary")
    init = draw(st.sampled_from(INITIAL), label="rho0")
    rng = np.random.default_rng(draw(seeds(), label="seed"))
    if is_stationary:
        P = _rows(rng, (S, A), S, structure)                          # P[s, a, s_next]
        r = _rewards(rng, (S, A), reward_kind)                        # r[s, a]
        return FiniteHorizonMDP.stationary(P, r, H, _initial(rng, S, init))
    P = _rows(rng, (H, S, A), S, structure)                           # P[h, s, a, s_next]
    r = _rewards(rng, (H, S, A), reward_kind)                         # r[h, s, a]
    return FiniteHorizonMDP(P=P, r=r, rho0=_initial(rng, S, init))


def discounted_mdps(max_S: int = 6, max_A: int = 4, min_gamma: float = 0.0,
                    max_gamma: float = 0.99, deterministic=None, *, sparse: bool = False,
                    rewards=None, masked: bool = False):
    """:class:`DiscountedMDP` with 1 <= S <= max_S, 1 <= A <= max_A, gamma in
    [min_gamma, max_gamma] (endpoints, 0.5 and 0.9 drawn often).

    ``deterministic`` and ``rewards`` as in :func:`finite_mdps` (plus ``rewards="signed"``:
    N(0, 10^2) rewards of any sign); ``sparse=True`` stores P as :class:`SparseTransitions`
    (same numbers); ``masked=True`` adds a random action mask (each action unavailable with
    probability 0.4, every state keeping one).
    """
    _sizes({"max_S": max_S, "max_A": max_A})
    lo = _validate.real("min_gamma", min_gamma, lo=0.0, hi=1.0, hi_open=True)
    hi = _validate.real("max_gamma", max_gamma, lo=0.0, hi=1.0, hi_open=True)
    if lo > hi:
        raise ValueError(f"min_gamma={lo} must be <= max_gamma={hi}")
    return _discounted_mdps(max_S, max_A, _floats_with_edges(lo, hi, (0.5, 0.9)),
                            _structure(deterministic), _reward_kinds(rewards), bool(sparse),
                            bool(masked))


@st.composite
def _discounted_mdps(draw, max_S, max_A, gammas, structures, reward_kinds, sparse, masked):
    S = draw(st.integers(1, max_S), label="S")
    A = draw(st.integers(1, max_A), label="A")
    gamma = draw(gammas, label="gamma")
    structure = draw(structures, label="structure")
    reward_kind = draw(reward_kinds, label="rewards")
    init = draw(st.sampled_from(INITIAL), label="rho0")
    rng = np.random.default_rng(draw(seeds(), label="seed"))
    P = _rows(rng, (S, A), S, structure)                              # P[s, a, s_next]
    r = _rewards(rng, (S, A), reward_kind)                            # r[s, a]
    rho0 = _initial(rng, S, init)
    mask = None
    if masked:
        mask = rng.random((S, A)) >= 0.4
        mask[np.arange(S), rng.integers(0, A, size=S)] = True         # one action per state
    if sparse:
        P = SparseTransitions.from_dense(P)
    return DiscountedMDP(P=P, r=r, gamma=gamma, rho0=rho0, mask=mask)


def linear_mdps(max_S: int = 5, max_A: int = 3, max_d: int = 3, max_H: int = 3, *,
                rewards=None):
    """d-rectangular :class:`LinearMDP` with sizes from 1 up to the maxima.

    Flags: features Dirichlet(1) or one-hot (a hard state aggregation); factors Dirichlet(1)
    or Dirichlet(0.1) (nearly sparse); rewards theta_h ~ U[0,1]^d, 0, or in {0, 1}^d; rho0
    Dirichlet, uniform or a point mass.
    """
    _sizes({"max_S": max_S, "max_A": max_A, "max_d": max_d, "max_H": max_H})
    return _linear_mdps(max_S, max_A, max_d, max_H, _reward_kinds(rewards))


@st.composite
def _linear_mdps(draw, max_S, max_A, max_d, max_H, reward_kinds):
    S = draw(st.integers(1, max_S), label="S")
    A = draw(st.integers(1, max_A), label="A")
    d = draw(st.integers(1, max_d), label="d")
    H = draw(st.integers(1, max_H), label="H")
    onehot = draw(st.booleans(), label="onehot features")
    factor_conc = draw(st.sampled_from([1.0, 0.1]), label="factor concentration")
    reward_kind = draw(reward_kinds, label="rewards")
    init = draw(st.sampled_from(INITIAL), label="rho0")
    rng = np.random.default_rng(draw(seeds(), label="seed"))
    if onehot:
        phi = _rows(rng, (S, A), d, "deterministic")                 # phi[s, a, i]
    else:
        phi = rng.dirichlet(np.ones(d), size=(S, A))
    mu = rng.dirichlet(np.full(S, factor_conc), size=(H, d))          # mu[h, i, s_next]
    mu /= mu.sum(axis=-1, keepdims=True)
    theta = _rewards(rng, (H, d), reward_kind)                        # theta[h, i]
    return LinearMDP(phi=phi, mu=mu, theta=theta, rho0=_initial(rng, S, init))


# ------------------------------------------------------------------------- vectors and policies

VALUE_KINDS = ("uniform", "ties", "constant", "onehot")


def value_vectors(S: int, max_value: float = 10.0, *, min_value: float = 0.0):
    """Value vectors V of shape (S,) in [min_value, max_value].

    Kinds: i.i.d. uniform; two levels only (ties); constant; ``min_value`` except one entry at
    ``max_value``.
    """
    S = _validate.positive_int("S", S)
    lo, hi = _range(min_value, max_value)
    return _value_vectors(S, lo, hi)


@st.composite
def _value_vectors(draw, S, lo, hi):
    kind = draw(st.sampled_from(VALUE_KINDS), label="kind")
    rng = np.random.default_rng(draw(seeds(), label="seed"))
    if kind == "uniform":
        return rng.uniform(lo, hi, size=S)
    if kind == "ties":
        return rng.choice(rng.uniform(lo, hi, size=2), size=S)
    if kind == "constant":
        return np.full(S, rng.uniform(lo, hi))
    V = np.full(S, lo)
    V[rng.integers(0, S)] = hi
    return V


def _range(min_value, max_value):
    lo = _validate.real("min_value", min_value)
    hi = _validate.real("max_value", max_value)
    if lo > hi:
        raise ValueError(f"min_value={lo} must be <= max_value={hi}")
    return lo, hi


def edge_value_vectors(S: int, max_value: float = 10.0, *, min_value: float = 0.0):
    """Value vectors built entry by entry with ``hypothesis.extra.numpy``: the endpoints and the
    midpoint are drawn often, so ties, constant vectors and boundary values are common, and
    hypothesis can shrink single entries."""
    S = _validate.positive_int("S", S)
    lo, hi = _range(min_value, max_value)
    elements = st.one_of(st.sampled_from(sorted({lo, hi, 0.5 * (lo + hi)})),
                         st.floats(min_value=lo, max_value=hi, allow_nan=False,
                                   allow_infinity=False, allow_subnormal=False))
    return hnp.arrays(np.float64, (S,), elements=elements)


DISTRIBUTION_KINDS = ("dirichlet", "uniform", "peaked", "onehot", "sparse")


def distributions(S: int, *, full_support: bool = False):
    """Probability vectors of shape (S,).

    Kinds: Dirichlet(1); uniform; Dirichlet(0.1) (peaked); one-hot; Dirichlet(1) on a random
    support. With ``full_support=True`` (for KL / chi2 ratios) only the first three, mixed
    with 1% of the uniform so that every entry is >= 0.01 / S.
    """
    S = _validate.positive_int("S", S)
    return _distributions(S, bool(full_support))


@st.composite
def _distributions(draw, S, full_support):
    kinds = DISTRIBUTION_KINDS[:3] if full_support else DISTRIBUTION_KINDS
    kind = draw(st.sampled_from(kinds), label="kind")
    rng = np.random.default_rng(draw(seeds(), label="seed"))
    if kind == "uniform":
        p = np.full(S, 1.0 / S)
    elif kind == "onehot":
        p = _rows(rng, (), S, "deterministic")
    elif kind == "sparse":
        p = _rows(rng, (), S, "sparse")
    else:
        p = rng.dirichlet(np.full(S, 1.0 if kind == "dirichlet" else 0.1))
    if full_support:
        p = 0.99 * p + 0.01 / S
    return p / p.sum()


TINY_MASS_KINDS = ("log-uniform", "one-tiny", "two-point", "with-zeros")


def tiny_mass_distributions(S: int, *, min_exponent: int = -300):
    """Probability vectors of shape (S,) with masses spread over many orders of magnitude, down
    to about 10^min_exponent (>= -307, so that every mass stays a normal float).

    Kinds: masses 10^U(min_exponent, 0); Dirichlet(1) with one entry set to 10^-k; two states
    (1 - 10^-k, 10^-k) and zeros elsewhere; log-uniform masses with some set to zero (at least
    one left). k is an integer in [1, -min_exponent], drawn by hypothesis so it shrinks towards
    mild cases. Entries are normalized (the tiny ones keep their size).
    """
    S = _validate.positive_int("S", S)
    lo = int(_validate.real("min_exponent", min_exponent, lo=-307.0, hi=-1.0))
    return _tiny_mass_distributions(S, lo)


@st.composite
def _tiny_mass_distributions(draw, S, lo):
    kind = draw(st.sampled_from(TINY_MASS_KINDS), label="kind")
    k = draw(st.integers(1, -lo), label="tiny exponent")
    rng = np.random.default_rng(draw(seeds(), label="seed"))
    if kind in ("log-uniform", "with-zeros"):
        p = 10.0 ** rng.uniform(-k, 0.0, size=S)
        if kind == "with-zeros" and S > 1:
            keep = rng.random(S) < 0.5
            keep[rng.integers(0, S)] = True
            p = np.where(keep, p, 0.0)
    elif kind == "one-tiny" or S == 1:
        p = rng.dirichlet(np.ones(S))
        p[rng.integers(0, S)] = 10.0 ** -k
    else:
        p = np.zeros(S)
        i, j = rng.choice(S, size=2, replace=False)
        p[i], p[j] = 1.0 - 10.0 ** -k, 10.0 ** -k
    return p / p.sum()


POLICY_KINDS = ("stochastic", "deterministic", "uniform")


@st.composite
def _policies(draw, shape: tuple, deterministic):
    if deterministic is None:
        kind = draw(st.sampled_from(POLICY_KINDS), label="kind")
    elif deterministic:
        kind = "deterministic"
    else:
        kind = draw(st.sampled_from(["stochastic", "uniform"]), label="kind")
    rng = np.random.default_rng(draw(seeds(), label="seed"))
    if kind == "uniform":
        return np.full(shape, 1.0 / shape[-1])
    return _rows(rng, shape[:-1], shape[-1], "dense" if kind == "stochastic" else kind)


def policies(H: int, S: int, A: int, *, deterministic=None):
    """Episodic policies pi[h, s, a] of shape (H, S, A): Dirichlet(1) rows, one-hot rows
    (``deterministic=True`` forces these, False excludes them) or uniform."""
    shape = tuple(_validate.positive_int(n, v) for n, v in (("H", H), ("S", S), ("A", A)))
    return _policies(shape, deterministic)


def discounted_policies(S: int, A: int, *, deterministic=None):
    """Stationary policies pi[s, a] of shape (S, A); kinds as in :func:`policies`."""
    shape = tuple(_validate.positive_int(n, v) for n, v in (("S", S), ("A", A)))
    return _policies(shape, deterministic)


# ------------------------------------------------------------------ robustness / regularisation

def divergences():
    """One of "tv", "kl", "chi2"."""
    return st.sampled_from(DIVERGENCES)


def radii(divergence=None, *, max_radius: float | None = None):
    """Uncertainty radii (rho in the papers) in [0, max_radius]; 0 and max_radius drawn often.

    ``max_radius`` defaults to ``MAX_RADIUS[divergence]`` (TV 1, KL 5, chi2 10), or 1 when
    ``divergence`` is None (a radius valid for every divergence).
    """
    if divergence is not None:
        divergence = _validate.divergence(divergence)
    if max_radius is None:
        max_radius = 1.0 if divergence is None else MAX_RADIUS[divergence]
    hi = _validate.real("max_radius", max_radius, lo=0.0)
    return _floats_with_edges(0.0, hi, (1e-3, 0.1 * hi))


#: Largest radius drawn by :func:`wide_radii`: TV's ball is everything at 1; a KL ball around a
#: mass of 1e-300 needs a radius of -log(1e-300) = 691 to reach it; chi2's needs 1e300.
WIDE_MAX_RADIUS = {"tv": 1.0, "kl": 800.0, "chi2": 1e300}


def wide_radii(divergence):
    """Radii in {0} and log-uniform in [1e-300, WIDE_MAX_RADIUS[divergence]] (endpoints drawn
    often): for distributions with masses down to 1e-300 (:func:`tiny_mass_distributions`)."""
    divergence = _validate.divergence(divergence)
    return st.one_of(st.just(0.0), lams(1e-300, WIDE_MAX_RADIUS[divergence]))


def lams(min_value: float = 1e-2, max_value: float = 1e2):
    """Regularisation weights lambda in [min_value, max_value] (> 0): endpoints and 1 often,
    and log-uniform draws so that both small and large lambda are explored."""
    lo = _validate.real("min_value", min_value, lo=0.0, lo_open=True)
    hi = _validate.real("max_value", max_value, lo=0.0, lo_open=True)
    if lo > hi:
        raise ValueError(f"min_value={lo} must be <= max_value={hi}")
    log_uniform = st.floats(min_value=math.log(lo), max_value=math.log(hi)).map(
        lambda x: min(hi, max(lo, math.exp(x))))
    return st.one_of(_floats_with_edges(lo, hi, (1.0,)), log_uniform)
