"""Chain MDP with a large distribution mismatch coefficient theta_rho = ||d^{pi*}_rho / rho||_inf
/ (1 - gamma), the contraction factor of the linear convergence rate of policy mirror descent
with geometrically increasing steps (Xiao 2022, "On the convergence rates of policy gradient
methods", JMLR), used by the MDPO / policy-mirror-descent experiments to make that factor
large.

States 0..S-1 on a line, A = 2 actions: 0 = left (deterministic move to s - 1, stays at 0),
1 = right (moves to s + 1 with probability 1 - slip, else stays; stays at S - 1). Rewards:
r(S-1, a) = 1 for both actions (the goal, absorbing under "right"), r(0, left) = ``distractor``
(a small sure reward next to the start), 0 elsewhere. rho puts 1 - eps on state 0 and spreads
eps uniformly over all states (full support, as T3 needs). When the goal is worth reaching
(see below) the optimal occupancy d^{pi*}_rho piles up at S - 1, where rho is only eps / S, so
theta_rho = |d^{pi*}_rho / rho|_inf / (1 - gamma) is of order S / (eps (1 - gamma)).

The goal is optimal from state 0 iff (gamma (1 - slip))^{S-1}-ish discounted arrival beats the
distractor; :func:`mismatch_chain` does not check this (use ``mdptheory.algorithms.mdpo.
mismatch_coefficient`` to read theta_rho off the instance). The instance is this package's
design: no paper fixes it.
"""
from __future__ import annotations

import numpy as np

from ..models import _validate
from ..models.finite import DiscountedMDP


def mismatch_chain(S: int = 10, *, gamma: float = 0.9, eps: float = 1e-3, slip: float = 0.1,
                   distractor: float = 0.1) -> DiscountedMDP:
    """Discounted chain of ``S`` states with rho = (1 - eps) delta_0 + eps * uniform.

    Parameters
    ----------
    S : int >= 2
    gamma : float in [0, 1)
    eps : float in (0, 1]
        Mass of rho spread uniformly (smaller eps: larger mismatch theta_rho).
    slip : float in [0, 1)
        Probability that "right" fails (stays).
    distractor : float in [0, 1]
        Reward of "left" at state 0.

    Returns
    -------
    DiscountedMDP
        P of shape (S, 2, S), r of shape (S, 2), rho0 as above.
    """
    S = _validate.positive_int("S", S)
    if S < 2:
        raise ValueError(f"S must be >= 2 for a chain, got {S}")
    gamma = _validate.real("gamma", gamma, lo=0.0, hi=1.0, hi_open=True)
    eps = _validate.real("eps", eps, lo=0.0, hi=1.0, lo_open=True)
    slip = _validate.real("slip", slip, lo=0.0, hi=1.0, hi_open=True)
    distractor = _validate.real("distractor", distractor, lo=0.0, hi=1.0)
    P = np.zeros((S, 2, S))                                     # P[s, a, s_next]
    for s in range(S):
        P[s, 0, max(s - 1, 0)] = 1.0
        if s == S - 1:
            P[s, 1, s] = 1.0
        else:
            P[s, 1, s + 1] = 1.0 - slip
            P[s, 1, s] += slip
    r = np.zeros((S, 2))                                        # r[s, a]
    r[S - 1, :] = 1.0
    r[0, 0] = distractor
    rho0 = np.full(S, eps / S)
    rho0[0] += 1.0 - eps
    return DiscountedMDP(P=P, r=r, gamma=gamma, rho0=rho0)


__all__ = ["mismatch_chain"]
