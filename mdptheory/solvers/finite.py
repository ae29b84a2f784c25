"""Exact finite-horizon planning: backward induction, policy evaluation, occupancy measures,
KL-regularised (soft) backward induction, and evaluation under an alternative kernel.

Model: FiniteHorizonMDP (or a LinearMDP, converted with .to_finite()).
  Q_h(s,a) = r_h(s,a) + gamma sum_s' P_h(s'|s,a) V_{h+1}(s'),  V_H = V_terminal
  (Puterman 2005, §4.5; gamma = 1 and V_terminal = 0 unless the model sets them, as
  mdptoolbox's FiniteHorizon(P, R, discount, N, h)). Masked (unavailable) actions are never
  chosen and get Q = -inf; policies must put no mass on them.
Soft (KL to a reference policy ref with weight lam > 0):
  V_h(s) = lam log sum_a ref_h(a|s) exp(Q_h(s,a)/lam)
         = max_pi { <pi, Q_h(s,.)> - lam KL(pi || ref_h(.|s)) },
  pi_h(a|s) ∝ ref_h(a|s) exp(Q_h(s,a)/lam).
Steps h = 0..H-1 (papers are 1-based). Greedy ties go to the lowest action index.
"""
from __future__ import annotations

import numpy as np

from .. import kernels  # noqa: F401  (kernels package)
from ..kernels import backward as kb
from ..models import _validate
from ..models.policies import greedy, validate_policy
from ._common import as_finite, finite_policy, mask_q, solver_reward
from .results import PolicyValue, Solution


def _alloc(mdp):
    V = np.zeros((mdp.H + 1, mdp.S))   # V[h, s], V[H] = V_terminal
    V[mdp.H] = mdp.V_terminal
    Q = np.empty((mdp.H, mdp.S, mdp.A))  # Q[h, s, a]
    return V, Q


def backward_induction(mdp) -> Solution:
    """Optimal V (H + 1, S), Q (H, S, A) and a deterministic optimal policy pi (H, S, A)."""
    mdp = as_finite(mdp)
    V, Q = _alloc(mdp)
    kb.backward_induction(mdp.P, solver_reward(mdp), V, Q, mdp.gamma)
    return Solution(V=V, Q=Q, pi=greedy(Q))


def evaluate_finite_policy(mdp, pi) -> PolicyValue:
    """V^pi (H + 1, S) and Q^pi (H, S, A) of a Markov policy pi (H, S, A) (or (S, A), broadcast)."""
    mdp = as_finite(mdp)
    pi = finite_policy(mdp, pi)
    V, Q = _alloc(mdp)
    kb.evaluate_policy(mdp.P, mdp.r, pi, V, Q, mdp.gamma)
    return PolicyValue(V=V, Q=mask_q(mdp, Q))


def occupancy_measure(mdp, pi) -> np.ndarray:
    """d[h, s, a] = Pr^pi(s_h = s, a_h = a) from rho0; each d[h] sums to 1. Shape (H, S, A).

    Identity (gamma = 1, V_terminal = 0): V^pi_0(rho0) = sum_{h,s,a} d[h,s,a] r[h,s,a]; in
    general sum_h gamma^h <d[h], r[h]> + gamma^H <d_H, V_terminal>.
    """
    mdp = as_finite(mdp)
    pi = finite_policy(mdp, pi)
    d = np.empty((mdp.H, mdp.S, mdp.A))
    kb.occupancy(mdp.P, pi, mdp.rho0, d)
    return d


def _soft_args(mdp, ref_policy, lam):
    mdp = as_finite(mdp)
    ref = finite_policy(mdp, ref_policy, "ref_policy")
    lam = _validate.real("lam", lam, lo=0.0, lo_open=True)
    return mdp, ref, lam


def soft_backward_induction(mdp, ref_policy, lam: float) -> Solution:
    """KL-regularised optimum towards ``ref_policy`` (H, S, A) with weight ``lam`` > 0.

    Returns Solution(V, Q, pi) with V_h(s) = lam log sum_a ref(a|s) exp(Q_h(s,a)/lam) and the
    soft-optimal policy pi ∝ ref exp(Q/lam). As lam -> 0, V tends to the optimum over policies
    supported on supp(ref) (the hard optimum when ref has full support).
    """
    mdp, ref, lam = _soft_args(mdp, ref_policy, lam)
    V, Q = _alloc(mdp)
    pi = np.empty((mdp.H, mdp.S, mdp.A))
    kb.soft_backward_induction(mdp.P, mdp.r, ref, lam, V, Q, pi, mdp.gamma)
    return Solution(V=V, Q=mask_q(mdp, Q), pi=pi, info={"lam": lam})


def soft_evaluate_policy(mdp, pi, ref_policy, lam: float) -> PolicyValue:
    """Regularised value V_h(s) = sum_a pi(a|s) Q_h(s,a) - lam KL(pi_h(.|s) || ref_h(.|s)).

    Equals E^pi[sum_h r_h - lam KL(pi_h(.|s_h) || ref_h(.|s_h))]; -inf where pi leaves supp(ref).
    """
    mdp, ref, lam = _soft_args(mdp, ref_policy, lam)
    pi = finite_policy(mdp, pi)
    V, Q = _alloc(mdp)
    kb.soft_evaluate_policy(mdp.P, mdp.r, pi, ref, lam, V, Q, mdp.gamma)
    return PolicyValue(V=V, Q=mask_q(mdp, Q))


def validate_kernel_like(mdp, P_alt, name: str = "P_alt") -> np.ndarray:
    """P_alt with the model's transition shape and probability rows (stationary (S, A, S)
    accepted for finite-horizon models and broadcast over h)."""
    arr = _validate.as_float_array(name, P_alt)
    H, S, A = mdp.H, mdp.S, mdp.A
    if arr.ndim == 3:
        _validate.shape(name, arr, expected=(S, A, S))
        _validate.normalize(name, arr, source=P_alt)
        return np.broadcast_to(arr, (H, S, A, S))
    _validate.shape(name, arr, expected=(H, S, A, S))
    return _validate.normalize(name, arr, source=P_alt)


def evaluate_static_finite(mdp, pi, P_alt) -> PolicyValue:
    """Value of pi when the environment follows the fixed kernel P_alt (H, S, A, S) instead of P
    (the "static" model of IWOCS); rewards and rho0 are the model's."""
    mdp = as_finite(mdp)
    P = validate_kernel_like(mdp, P_alt)
    pi = finite_policy(mdp, pi)
    V, Q = _alloc(mdp)
    kb.evaluate_policy(P, mdp.r, pi, V, Q, mdp.gamma)
    return PolicyValue(V=V, Q=mask_q(mdp, Q))


__all__ = ["backward_induction", "evaluate_finite_policy", "occupancy_measure",
           "soft_backward_induction", "soft_evaluate_policy", "evaluate_static_finite",
           "validate_policy"]
