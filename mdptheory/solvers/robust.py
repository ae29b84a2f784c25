"""Exact robust and regularised-robust dynamic programming (finite horizon).

Constrained robust MDP (DRMDP), uncertainty set of radius rho ("radius" here):
  V^{pi,rho}_h(s) = inf_{P in U^rho} V^{pi,P}_h(s), solved by the robust Bellman equation
  Q_h(s,a) = r_h(s,a) + inf_{q: D(q || P0) <= radius} q . V_{h+1}.
Regularised robust MDP (RRMDP, R2PVI's d-RRMDP), weight lam (an inverse radius):
  Q_h(s,a) = r_h(s,a) + inf_q { q . V_{h+1} + lam D(q || P0) }.
Rectangularity:
  * FiniteHorizonMDP: (s,a)-rectangular, P0 = P_h(.|s,a); radius/lam scalar or broadcastable
    to (H, S, A).
  * LinearMDP: d-rectangular, one set per factor mu_{h,i};
    Q_h(s,a) = <phi(s,a), theta_h + nu_h>, nu_{h,i} = inner(mu_{h,i}, V_{h+1}); radius/lam scalar
    or broadcastable to (H, d) (per [h, i]).
Divergences: 'tv' (with the 1/2 factor), 'kl', 'chi2'; inner problems solved exactly
(closed forms and exact one-dimensional searches; docs/papers/r2pvi.md).
A FiniteHorizonMDP's terminal values V_terminal are V_H and its action mask is honoured (masked
actions are never chosen; Q = -inf there); a discounted finite horizon (gamma < 1) is refused,
as the regularised backup has no single discounted form.
"""
from __future__ import annotations

import numpy as np

from ..kernels import robust_dp
from ..models import FiniteHorizonMDP, LinearMDP, _validate
from ..models.policies import greedy
from ._common import check_kind, finite_policy, mask_q, solver_reward
from .results import PolicyValue, Solution


def _run(model, pi, divergence: str, param, param_name: str, regularized: bool,
         want_worst: bool):
    check_kind(model, (FiniteHorizonMDP, LinearMDP), "model")
    div = _validate.divergence_code(divergence)
    H, S, A = model.H, model.S, model.A
    use_pi = pi is not None
    V = np.zeros((H + 1, S))                 # V[h, s], V[H] = V_terminal
    Q = np.empty((H, S, A))                  # Q[h, s, a]
    if isinstance(model, FiniteHorizonMDP):
        if model.gamma != 1.0:
            raise ValueError(f"robust DP takes undiscounted finite-horizon models; this one has "
                             f"gamma = {model.gamma}")
        V[H] = model.V_terminal
    if use_pi:
        pi_arr = finite_policy(model, pi)
    else:
        pi_arr = np.empty((H, S, A))
    if isinstance(model, LinearMDP):
        prm = _validate.nonnegative_array(param_name, param, (H, model.d))
        nu = np.empty((H, model.d))            # nu[h, i]: robust factor values
        mu_worst = np.zeros((H, model.d, S)) if want_worst else np.empty((1, 1, 1))
        robust_dp.robust_backward_linear(model.phi, model.mu, model.theta, pi_arr, use_pi, div,
                                         regularized, prm, want_worst, V, Q, nu, mu_worst)
        extra = {"nu": nu}
        P_worst = (np.einsum("sad,hdt->hsat", model.phi, mu_worst) if want_worst else None)
        return V, Q, P_worst, (mu_worst if want_worst else None), extra
    prm = _validate.nonnegative_array(param_name, param, (H, S, A))
    P_worst = np.zeros((H, S, A, S)) if want_worst else np.empty((1, 1, 1, 1))
    r = model.r if use_pi else solver_reward(model)
    robust_dp.robust_backward_sa(model.P, r, pi_arr, use_pi, div, regularized, prm,
                                 want_worst, V, Q, P_worst)
    return V, mask_q(model, Q), (P_worst if want_worst else None), None, {}


def robust_backward_induction(model, divergence: str, radius) -> Solution:
    """Optimal robust values V (H + 1, S), Q (H, S, A) and a deterministic robust-optimal policy.

    ``radius`` >= 0 is rho in the papers. info["nu"] (H, d) holds the factor values for a
    LinearMDP.
    """
    V, Q, _, _, extra = _run(model, None, divergence, radius, "radius", False, False)
    return Solution(V=V, Q=Q, pi=greedy(Q), info=extra)


def robust_evaluate_policy(model, pi, divergence: str, radius) -> PolicyValue:
    """Robust value of a Markov policy pi (H, S, A) and the worst-case kernel it meets.

    Returns PolicyValue(V, Q, P_worst (H, S, A, S), mu_worst (H, d, S) for a LinearMDP).
    Evaluating pi nominally under P_worst gives back V (the inf is attained).
    """
    V, Q, P_worst, mu_worst, extra = _run(model, pi, divergence, radius, "radius", False, True)
    return PolicyValue(V=V, Q=Q, P_worst=P_worst, mu_worst=mu_worst, info=extra)


def regularized_robust_backward_induction(model, divergence: str, lam) -> Solution:
    """Optimal regularised-robust values (d-RRMDP for a LinearMDP; docs/papers/r2pvi.md).

    ``lam`` >= 0 (per [h, i] for a LinearMDP): lam -> inf recovers the nominal MDP, lam = 0 the
    most pessimistic one.
    """
    V, Q, _, _, extra = _run(model, None, divergence, lam, "lam", True, False)
    return Solution(V=V, Q=Q, pi=greedy(Q), info=extra)


def regularized_robust_evaluate_policy(model, pi, divergence: str, lam) -> PolicyValue:
    """Regularised-robust value of pi and the minimising kernel P_worst (and mu_worst)."""
    V, Q, P_worst, mu_worst, extra = _run(model, pi, divergence, lam, "lam", True, True)
    return PolicyValue(V=V, Q=Q, P_worst=P_worst, mu_worst=mu_worst, info=extra)


__all__ = ["robust_backward_induction", "robust_evaluate_policy",
           "regularized_robust_backward_induction", "regularized_robust_evaluate_policy"]
