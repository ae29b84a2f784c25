"""Approximation guarantees of SubPO (Prajapat, Mutny, Zeilinger & Krause 2024, "Submodular
Reinforcement Learning", ICLR 2024; docs/papers/subpo.md). These are *lower* bounds on J(pi) as a
fraction of an optimum.

* Theorem 3 (eps-Bandit SMDP, stated from secondary sources): J is monotone DR-submodular in
  the per-step action probabilities on a down-closed polytope P, hence
  - Frank-Wolfe / continuous greedy with K steps of size 1/K reaches
    J(x_K) >= (1 - 1/e) OPT - L D^2 / (2K) (Bian et al. 2017, Theorem 1; the paper states the
    (1 - 1/e) factor, the finite-K term is Bian et al.'s), and
  - every stationary point of projected gradient ascent has J >= OPT / 2 (Hassani et al.
    2017, Theorem 2.1).
  OPT is over the state-independent, horizon-dependent class. How eps enters the paper's
  statement could not be checked; in the construction of
  ``mdptheory.envs.submodular.epsilon_bandit`` the conditions hold for every eps (the noise is an
  affine map of pi with slope 1 - eps), so
  the bounds are evaluated with no eps term.
* Proposition 3 (bounded curvature, stated from secondary sources): for tabular policies and F of
  total curvature c, the policy SubPO returns satisfies J(pi) >= (1 - c) J(pi*). Whether it needs a
  global or a
  stationary point, and which optimum pi* ranges over, could not be checked; we compare with the
  history-dependent OPT (an upper bound on every class's optimum), so a pass is the
  stronger statement.

Theorem 1 (hardness: no polynomial algorithm is within Omega(log^{1-gamma} OPT) of OPT unless
NP in ZTIME(n^polylog n)) has no numeric bound to check; it is listed in the experiment's
notes only.
"""
from __future__ import annotations

import numpy as np

from .base import register

_PAPER = ("Prajapat, Mutny, Zeilinger & Krause (2024), Submodular Reinforcement Learning, "
          "ICLR 2024")
_BANDIT = (
    "eps-Bandit SMDP: for every state s an action reaches s from any state w.p. >= 1 - eps "
    "(here: exactly 1 - eps, else a uniform state)",
    "policies state-independent and horizon-dependent, pi^h(a); OPT over that class",
    "F normalized, monotone, submodular",
    "polytope: per step {x >= 0, sum_a x[h, a] <= 1}, the remainder on the null action that "
    "returns to the (already visited) start state -- our reading of the paper's P",
    "exact gradients (no sampling error)",
)


@register("subpo_frank_wolfe_bandit", paper=_PAPER,
          theorem="Theorem 3 (eps-Bandit SMDP) with Bian et al. (2017) Thm 1",
          quantity="lower bound on J(pi_FW): (1 - 1/e) OPT - L D^2 / (2K)", variable="K",
          exponent=0.0, constants="paper", probability="deterministic",
          assumptions=_BANDIT + ("L: spectral bound of the Hessian of J on P; D: diameter of "
                                 "P (see algorithms.subpo.bandit_smoothness)",))
def subpo_frank_wolfe_bandit(OPT, K=None, L: float = 0.0, D2: float = 0.0):
    """(1 - 1/e) OPT - L D^2 / (2K); K = None gives the K -> infinity limit (1 - 1/e) OPT."""
    OPT = np.asarray(OPT, dtype=np.float64)
    out = (1.0 - np.exp(-1.0)) * OPT
    if K is not None:
        out = out - L * D2 / (2.0 * np.asarray(K, dtype=np.float64))
    return out


@register("subpo_gradient_bandit", paper=_PAPER,
          theorem="Theorem 3 (eps-Bandit SMDP) with Hassani et al. (2017) Thm 2.1",
          quantity="lower bound on J at a stationary point of projected gradient ascent: OPT/2",
          variable="none", exponent=0.0, constants="paper", probability="deterministic",
          assumptions=_BANDIT + ("the point is (numerically) stationary: gradient-mapping "
                                 "norm below the solver tolerance",))
def subpo_gradient_bandit(OPT):
    """OPT / 2."""
    return 0.5 * np.asarray(OPT, dtype=np.float64)


@register("subpo_curvature", paper=_PAPER, theorem="Proposition 3 (bounded curvature)",
          quantity="lower bound on J(pi_SubPO): (1 - c) OPT", variable="c", exponent=0.0,
          constants="paper", probability="deterministic",
          assumptions=("tabular SMDP, tabular (softmax) policy, SubPO run to convergence",
                       "c = total curvature 1 - min_v F(v | Omega - v) / F({v}) (standard "
                       "definition; the paper's could not be checked)",
                       "OPT: history-dependent optimum (the paper's pi* class could not be "
                       "checked)"))
def subpo_curvature(OPT, c):
    """(1 - c) OPT."""
    c = np.asarray(c, dtype=np.float64)
    if np.any((c < 0) | (c > 1)):
        raise ValueError(f"curvature c must lie in [0, 1], got {c}")
    return (1.0 - c) * np.asarray(OPT, dtype=np.float64)


__all__ = ["subpo_frank_wolfe_bandit", "subpo_gradient_bandit", "subpo_curvature"]
