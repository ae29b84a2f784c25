"""Instances and baseline policies for conservative exploration (StepMix / EpsMix; our benchmark,
see docs/papers/stepmix.md).

The paper's experiments could not be read (secondary sources recall "synthetic randomly
generated tabular MDPs; a fixed sub-optimal baseline", unverified), so these are our stand-ins:

* :func:`episodic_garnet`: Garnet(S, A, b) with independent P_h, r_h at every step (the
  episodic version), or one stationary draw; every episode starts in ``s1`` (the paper's
  fixed initial state);
* baselines pi^b = lam pi* + (1 - lam) pi^unif (a per-step mixture), with lam chosen
  so that V^b / V* hits a target ratio (:func:`baseline_for_ratio`). When the ratio is below
  V^unif / V* the family is continued by mu pi^unif + (1 - mu) pi^worst (pi^worst minimises the
  value), our extension: on Garnets with U[0, 1] rewards the uniform policy already has
  V^unif / V* ~ 0.6-0.7, so a ratio of 0.5 needs it;
* :func:`river_swim_instance`: RiverSwim with the baseline "always swim left", which never
  reaches the rewarding end (a hard instance).

All values are exact (backward induction / evaluation on the true model).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from ..models import _validate
from ..models.finite import FiniteHorizonMDP
from ..solvers.finite import backward_induction, evaluate_finite_policy
from .classic import LEFT, river_swim
from .garnet import garnet


@dataclass(frozen=True, eq=False)
class ConservativeInstance:
    """An MDP with a baseline policy and the exact values the experiments need.

    mdp (FiniteHorizonMDP), pi_b (H, S, A), V_b = V^{pi_b}_0(rho0), V_star = V*_0(rho0);
    ``kappa`` = V* - V^b (the baseline gap); ``info`` holds how pi_b was built.
    """

    name: str
    mdp: FiniteHorizonMDP
    pi_b: np.ndarray
    V_b: float
    V_star: float
    info: dict = field(default_factory=dict)

    @property
    def kappa(self) -> float:
        return self.V_star - self.V_b


def episodic_garnet(S: int, A: int, H: int, branching: int = 3, *, rng, stationary: bool = False,
                    s1: int = 0) -> FiniteHorizonMDP:
    """Episodic Garnet: for each step h (or once, ``stationary=True``) a Garnet(S, A, branching)
    draw (:func:`mdptheory.envs.garnet`: Dirichlet(1) on ``branching`` random successors,
    rewards U[0, 1]); rho0 = delta_{s1}."""
    S = _validate.positive_int("S", S)
    A = _validate.positive_int("A", A)
    H = _validate.positive_int("H", H)
    rng = _validate.rng(rng)
    if isinstance(s1, bool) or not isinstance(s1, (int, np.integer)) or not 0 <= s1 < S:
        raise ValueError(f"s1 must be a state in [0, {S - 1}], got {s1!r}")
    rho0 = np.zeros(S)
    rho0[int(s1)] = 1.0
    if stationary:
        m = garnet(S, A, branching, gamma=0.5, rng=rng)
        return FiniteHorizonMDP.stationary(np.asarray(m.P), np.asarray(m.r), H, rho0)
    draws = [garnet(S, A, branching, gamma=0.5, rng=rng) for _ in range(H)]
    P = np.stack([np.asarray(m.P) for m in draws])                  # P[h, s, a, s']
    r = np.stack([np.asarray(m.r) for m in draws])                  # r[h, s, a]
    return FiniteHorizonMDP(P=P, r=r, rho0=rho0)


def _value(mdp, pi) -> float:
    return evaluate_finite_policy(mdp, pi).value(mdp.rho0)


def worst_policy(mdp) -> np.ndarray:
    """A deterministic policy minimising V_0(rho0): optimal for the rewards 1 - r."""
    flipped = FiniteHorizonMDP(P=np.asarray(mdp.P), r=1.0 - np.asarray(mdp.r),
                               rho0=np.asarray(mdp.rho0))
    return backward_induction(flipped).pi


def mixture_baseline(mdp, lam: float) -> np.ndarray:
    """pi^b = lam pi* + (1 - lam) pi^unif at every (h, s); lam in [0, 1]."""
    lam = _validate.real("lam", lam, lo=0.0, hi=1.0)
    pi_star = backward_induction(mdp).pi
    return lam * pi_star + (1.0 - lam) / mdp.A


def baseline_for_ratio(mdp, ratio: float, *, xtol: float = 1e-13) -> tuple[np.ndarray, dict]:
    """Baseline with V^b = ratio V* (exactly, up to ``xtol`` in the mixing weight).

    ratio >= V^unif / V*: pi^b = lam pi* + (1 - lam) pi^unif; below: pi^b = mu pi^unif +
    (1 - mu) pi^worst (module docstring). The value is continuous in the weight, so a root is
    bracketed and found by Brent's method. Returns (pi_b (H, S, A), info) with info keys
    ``family``, ``weight``, ``V_b``, ``V_star``, ``V_uniform``, ``V_worst``.

    Raises ValueError for a ratio outside (0, 1] or below V^worst / V*.
    """
    ratio = _validate.real("ratio", ratio, lo=0.0, hi=1.0, lo_open=True)
    pi_star = backward_induction(mdp).pi
    V_star = _value(mdp, pi_star)
    unif = np.full(pi_star.shape, 1.0 / mdp.A)
    V_unif = _value(mdp, unif)
    target = ratio * V_star
    if target >= V_unif:
        hi_pi, lo_pi, family = pi_star, unif, "lam*pi_star+(1-lam)*uniform"
        V_worst = None
    else:
        worst = worst_policy(mdp)
        V_worst = _value(mdp, worst)
        if target < V_worst - 1e-12:
            raise ValueError(f"ratio {ratio} is below V^worst / V* = {V_worst / V_star:.6g}: no "
                             f"policy of this MDP has that value")
        hi_pi, lo_pi, family = unif, worst, "mu*uniform+(1-mu)*worst"

    def f(w):
        return _value(mdp, w * hi_pi + (1.0 - w) * lo_pi) - target

    f0, f1 = f(0.0), f(1.0)
    if abs(f1) <= 1e-14:
        w = 1.0
    elif abs(f0) <= 1e-14:
        w = 0.0
    else:
        w = brentq(f, 0.0, 1.0, xtol=xtol)
    pi_b = w * hi_pi + (1.0 - w) * lo_pi
    pi_b = pi_b / pi_b.sum(axis=-1, keepdims=True)
    info = {"family": family, "weight": float(w), "V_b": _value(mdp, pi_b), "V_star": V_star,
                "V_uniform": V_unif, "V_worst": V_worst}
    return pi_b, info


def garnet_instance(S: int = 5, A: int = 3, H: int = 5, branching: int = 3, ratio: float = 0.7,
                    *, rng, stationary: bool = False) -> ConservativeInstance:
    """Episodic Garnet with the baseline of :func:`baseline_for_ratio` (our benchmark)."""
    mdp = episodic_garnet(S, A, H, branching, rng=rng, stationary=stationary)
    pi_b, info = baseline_for_ratio(mdp, ratio)
    info.update(S=S, A=A, H=H, branching=branching, ratio=ratio, stationary=stationary)
    return ConservativeInstance(name=f"garnet({S},{A},{H})", mdp=mdp, pi_b=pi_b,
                                V_b=info["V_b"], V_star=info["V_star"], info=info)


def river_swim_instance(S: int = 6, H: int = 20) -> ConservativeInstance:
    """RiverSwim (:func:`mdptheory.envs.river_swim`, start at the left bank) with the baseline
    "always swim left": it stays at state 0 and collects the small reward 0.005 per step, never
    reaching the rewarding right end. V^b = 0.005 H."""
    mdp = river_swim(S, H=H)
    pi_b = np.zeros((mdp.H, mdp.S, mdp.A))
    pi_b[..., LEFT] = 1.0
    V_b = _value(mdp, pi_b)
    V_star = backward_induction(mdp).value(mdp.rho0)
    return ConservativeInstance(name=f"river_swim({S},{H})", mdp=mdp, pi_b=pi_b, V_b=V_b,
                                V_star=V_star, info={"family": "always left", "S": S, "H": H})


__all__ = [
    "ConservativeInstance",
    "baseline_for_ratio",
    "episodic_garnet",
    "garnet_instance",
    "mixture_baseline",
    "river_swim_instance",
    "worst_policy",
]
