"""Bounds of robust RL with d-rectangular linear MDPs: R2PVI (Tang, Liu & Xu, ICML 2025) and
DR-RPO (Gu, He, Liu & Xu, arXiv 2510.14246), with their baselines' rates.

Sources: docs/papers/r2pvi.md (R2PVI: Theorem 5.2 with its constants and the rate table, read
in the first author's v1 slides) and docs/papers/dr_rpo.md (DR-RPO: secondary sources only).

* Theorem 5.2 (instance-dependent, constants of the paper): w.p. >= 1 - delta, with gamma = 1
  and the beta of :func:`mdptheory.algorithms.r2pvi.theory_beta`,
      SubOpt(pi_hat, s, lam) <= 2 beta Phi(s),
      Phi(s) = sup_{P in U^lam(P0)} sum_h E^{pi*, P}[sum_i ||phi_i(s_h, a_h) 1_i||_{Lambda_h^{-1}}
               | s_1 = s]     (the uncertainty function),
  where ||phi_i 1_i||_{Lambda^{-1}} = phi_i sqrt((Lambda^{-1})_{ii}). The set U^lam(P0) of
  "robustly admissible" kernels is UNVERIFIED; :func:`uncertainty_function` uses the candidate
  superset {factors mu with D(mu_{h,i} || mu0_{h,i}) <= H / lam} (every regularised worst case
  satisfies lam D <= E_mu0 V - E_mu* V <= H; our derivation), which can only make Phi larger (the
  bound weaker), and also reports Phi under P0 and under pi*'s worst-case kernel (lower
  proxies). Phi is computed EXACTLY by a maximising d-rectangular DP (sup over each factor's
  ball, the reward <phi, b_h> with b_{h,i} = sqrt(Lambda^{-1}_{h,ii})).
* Instance-independent rates (the slides' table, "regularized partial coverage" with constant
  c_dagger; rate only): R2PVI-TV d^2 H^2 K^{-1/2}; R2PVI-KL sqrt(lam) e^{H/lam} d^2 H^{3/2}
  K^{-1/2}; R2PVI-chi2 d^2 H^3 (1 + 1/lam) K^{-1/2}; DRPVI / DROP d^{3/2} H^2 K^{-1/2};
  P2MPO-TV d^2 H^2 K^{-1/2}; DRVI-L sqrt(beta) e^{H/beta} d^2 H^{3/2} K^{-1/2} (beta the KL dual
  variable's lower bound); P2MPO-KL e^{H/beta} d^2 H^2 rho^{-1} K^{-1/2}.
* Theorem 6.1 (lower bound): inf_pi sup_M SubOpt >= c Phi with an unspecified universal c
  (rate only; the hard instance is :mod:`mdptheory.envs.lower_bound`, a reconstruction).
* Coverage (the "regularized partial coverage" assumption of the rate table, exact form
  UNVERIFIED): :func:`coverage_constant` computes the largest c_dagger with
  Sigma_h >= c_dagger E^{pi*, P}[phi_i(s_h, a_h)^2] e_i e_i^T for every h, i and every P in the
  candidate set, Sigma_h the behaviour policy's exact feature covariance (a conservative
  first-moment version; c_dagger = 0 when some reachable direction is never covered).
* Every bound exposes ``parts=`` (docs/verdicts.md): each has a single order in K (the log
  factors included in the leading part), so the lower-order part is 0.
* DR-RPO [SECONDARY]: average suboptimality Õ(d^2 H^2 / sqrt(K)), i.e. regret Õ(d^2 H^2
  sqrt(K)); DR-LSVI-UCB (Liu & Xu 2024): the same order (inferred from We-DRIVE-U's abstract).
  Rate only: log factors, tau, rho and |A| dependence unknown.
"""
from __future__ import annotations

import numpy as np

from ..kernels import linear as klin
from ..models import LinearMDP, _validate
from .base import REGISTRY, register

_R2PVI = ("Tang, Liu & Xu (2025), Robust Offline RL with Linearly Structured f-Divergence "
          "Regularization (R2PVI), ICML")
_DRRPO = ("Gu, He, Liu & Xu (2025), Policy Regularized Distributionally Robust MDPs with Linear "
          "Function Approximation (DR-RPO), arXiv 2510.14246")
_R2PVI_ASSUMPTIONS = (
    "d-rectangular linear RRMDP (phi on the simplex, known theta_h), Assumption 3.1",
    "gamma = 1 and beta of Theorem 5.2 (v1 slides numbering; camera-ready may differ)",
    ("U^lam(P0) replaced by the candidate superset {D(mu_{h,i} || mu0_{h,i}) <= H / lam} "
    "(UNVERIFIED definition in the paper; the superset makes the bound weaker)"),
)
_RATE_ASSUMPTIONS = (
    "regularized/robust partial coverage with constant c_dagger (exact form UNVERIFIED)",
    "rate only: the Õ hides log factors and absolute constants",
)


def _single_order(name: str):
    """``parts=`` of the registered bound ``name``, which has a single order in its variable:
    leading = the bound (log factors included), lower = 0."""
    def parts(*args, **kwargs):
        lead = np.asarray(REGISTRY[name].fn(*args, **kwargs), dtype=np.float64)
        return {"leading": lead, "lower": np.zeros_like(lead)}
    parts.__doc__ = f"Leading and lower-order parts of {name} (one order: lower = 0)."
    return parts


def _pi_array(model, pi):
    pi = np.asarray(pi, dtype=np.float64)
    if pi.ndim == 2:
        pi = np.broadcast_to(pi, (model.H, model.S, model.A))
    if pi.shape != (model.H, model.S, model.A):
        raise ValueError(f"pi must have shape (H, S, A) = {(model.H, model.S, model.A)}, got "
                         f"{pi.shape}")
    return np.ascontiguousarray(pi)


def uncertainty_function(model: LinearMDP, pi, inv_diag, *, divergence: str = "tv",
                         radius=0.0, mu=None, maximize: bool = True) -> float:
    """Phi = sup (or inf) over d-rectangular factor balls of sum_h E^{pi, P}[<phi(s_h, a_h),
    b_h>] from rho0, b_{h,i} = sqrt(inv_diag[h, i]) (exact DP).

    Parameters
    ----------
    model : LinearMDP
        Nominal model (phi, mu0, rho0).
    pi : array (H, S, A)
        Policy (pi* in Theorem 5.2).
    inv_diag : array (H, d)
        diag(Lambda_h^{-1}) of the data.
    divergence : {"tv", "kl", "chi2"}
        Divergence of the balls.
    radius : float or (H, d)
        Ball radius (0: Phi under the nominal factors).
    mu : array (H, d, S), optional
        Factors to use instead of model.mu (e.g. pi*'s worst-case factors, with radius 0).
    maximize : bool
        sup (Theorem 5.2) or inf over the balls.
    """
    if not isinstance(model, LinearMDP):
        raise TypeError(f"model must be a LinearMDP, got {type(model).__name__}")
    H, S, A, d = model.H, model.S, model.A, model.d
    D = _validate.as_float_array("inv_diag", inv_diag)
    _validate.shape("inv_diag", D, expected=(H, d))
    _validate.finite("inv_diag", D)
    b = np.sqrt(np.maximum(D, 0.0))
    rad = _validate.nonnegative_array("radius", radius, (H, d))
    mu_arr = model.mu if mu is None else _validate.as_float_array("mu", mu)
    if mu is not None:
        _validate.shape("mu", mu_arr, expected=(H, d, S))
        _validate.simplex("mu", mu_arr)
    sign = -1.0 if maximize else 1.0
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    nu = np.empty((H, d))
    pi_arr = _pi_array(model, pi)
    klin.soft_robust_linear_dp(model.phi, np.ascontiguousarray(mu_arr), sign * b, pi_arr, 0.0,
                               pi_arr, True, _validate.divergence_code(divergence), False, rad,
                               V, Q, nu, np.empty((H, S, A)))
    return float(sign * (model.rho0 @ V[0]))


def admissible_radius(divergence: str, lam, H: int) -> float:
    """Radius H / lam of the candidate admissible set (TV capped at 1: the whole simplex)."""
    div = _validate.divergence(divergence)
    lam = float(np.min(np.asarray(lam, dtype=np.float64)))
    if lam <= 0:
        raise ValueError(f"lam must be > 0, got {lam}")
    r = H / lam
    return min(r, 1.0) if div == "tv" else r


def optimal_policy_and_worst_factors(model: LinearMDP, divergence: str, lam):
    """(pi*, mu_worst): the regularised-robust optimal policy (lowest-index greedy) and the
    regularised worst-case factors it meets (H, d, S); the inputs of Phi in Theorem 5.2."""
    from ..solvers.robust import (
        regularized_robust_backward_induction,
        regularized_robust_evaluate_policy,
    )
    sol = regularized_robust_backward_induction(model, divergence, lam)
    ev = regularized_robust_evaluate_policy(model, sol.pi, divergence, lam)
    return sol.pi, ev.mu_worst


def uncertainty_functions(model: LinearMDP, divergence: str, lam, inv_diag, *,
                          optimal=None) -> dict:
    """Phi of Theorem 5.2 for pi* = the regularised-robust optimal policy (lowest-index greedy):
    ``sup`` over the candidate admissible set, ``nominal`` (under P0) and ``worst`` (under pi*'s
    regularised worst-case kernel). ``optimal``: (pi*, mu_worst) of
    :func:`optimal_policy_and_worst_factors`, computed here when not given. Returns a dict of
    floats (sup >= worst, sup >= nominal)."""
    pi, mu_worst = (optimal_policy_and_worst_factors(model, divergence, lam) if optimal is None
                    else optimal)
    rad = admissible_radius(divergence, lam, model.H)
    return {
        "sup": uncertainty_function(model, pi, inv_diag, divergence=divergence, radius=rad),
        "nominal": uncertainty_function(model, pi, inv_diag),
        "worst": uncertainty_function(model, pi, inv_diag, mu=mu_worst),
    }


def feature_covariance(model: LinearMDP, behaviour) -> np.ndarray:
    """Sigma_h = E^{behaviour, P0}[phi(s_h, a_h) phi(s_h, a_h)^T] (H, d, d), from the exact
    occupancy of ``behaviour`` (H, S, A) in the nominal model: the population Gram matrix of
    one trajectory per step."""
    from ..solvers.finite import occupancy_measure
    if not isinstance(model, LinearMDP):
        raise TypeError(f"model must be a LinearMDP, got {type(model).__name__}")
    occ = occupancy_measure(model, behaviour)                         # (H, S, A)
    return np.einsum("hsa,sai,saj->hij", occ, model.phi, model.phi)


def population_uncertainty(model: LinearMDP, divergence: str, lam, sigma, gamma: float, K, *,
                           optimal=None) -> dict:
    """Phi_sup of Theorem 5.2 with the data's Gram matrix replaced by its expectation
    gamma I + K Sigma_h (``sigma`` from :func:`feature_covariance`), for each K (array), and its
    K^{-1/2} part, Phi_sup with diag(Lambda^{-1}) = diag(Sigma_h^+) / K (the large-K limit on the
    covered directions). Returns dict(total=(n_K,), leading=(n_K,)). The difference is the
    ridge's lower-order effect: Phi behaves like K^{-1/2} only where it is small (our
    derivation; used to locate the regime of the rate of Phi, not as a bound)."""
    pi, _ = (optimal_policy_and_worst_factors(model, divergence, lam) if optimal is None
             else optimal)
    rad = admissible_radius(divergence, lam, model.H)
    sigma = np.asarray(sigma, dtype=np.float64)
    H, d = model.H, model.d
    pinv_diag = np.stack([np.diag(np.linalg.pinv(sigma[h], rcond=1e-12, hermitian=True))
                          for h in range(H)])
    lead1 = uncertainty_function(model, pi, np.maximum(pinv_diag, 0.0), divergence=divergence,
                                 radius=rad)
    Ks = np.atleast_1d(np.asarray(K, dtype=np.float64))
    total = np.empty(Ks.size)
    for j, k in enumerate(Ks):
        inv = np.stack([np.diag(np.linalg.inv(gamma * np.eye(d) + k * sigma[h]))
                        for h in range(H)])
        total[j] = uncertainty_function(model, pi, inv, divergence=divergence, radius=rad)
    return {"total": total, "leading": lead1 / np.sqrt(Ks)}


def coverage_constant(model: LinearMDP, divergence: str, lam, behaviour, *,
                      tol: float = 1e-10) -> dict:
    """The coverage constant c_dagger of the rate table's "regularized partial coverage"
    assumption (exact form UNVERIFIED; by analogy with DRPVI / DROP), computed exactly.

    With Sigma_h = E^{behaviour, P0}[phi(s_h, a_h) phi(s_h, a_h)^T] (the data's feature
    covariance, from the exact occupancy of ``behaviour`` in the nominal model) and
    m_{h,i} = sup_{P in U} E^{pi*, P}[phi_i(s_h, a_h)] over the candidate admissible set U of
    :func:`admissible_radius` (pi* the regularised-robust optimal policy; exact maximising DP),
    the largest c with Sigma_h >= c m_{h,i} e_i e_i^T for every (h, i) is

        c_{h,i} = 1 / (m_{h,i} (Sigma_h^+)_{ii})   if e_i is in the range of Sigma_h, else 0,

    and c_dagger = min over the (h, i) with m_{h,i} > 0. The paper's condition uses the second
    moments E[phi_i^2] <= E[phi_i] (phi_i in [0, 1]), so this c_dagger is a lower bound of the
    paper's constant, and it is 0 exactly when some direction the admissible kernels reach
    under pi* is never covered by the data.

    Returns dict(c_dagger=float, per_coordinate=(H, d) (inf where m = 0), reach=m (H, d),
    covered=(H, d) bool).
    """
    from ..solvers.robust import regularized_robust_backward_induction

    H, d = model.H, model.d
    sigma = feature_covariance(model, behaviour)                      # (H, d, d)
    sol = regularized_robust_backward_induction(model, divergence, lam)
    rad = admissible_radius(divergence, lam, H)
    reach = np.zeros((H, d))
    for h in range(H):
        for i in range(d):
            unit = np.zeros((H, d))
            unit[h, i] = 1.0
            reach[h, i] = uncertainty_function(model, sol.pi, unit, divergence=divergence,
                                               radius=rad)
    per = np.full((H, d), np.inf)
    covered = np.ones((H, d), dtype=bool)
    for h in range(H):
        pinv = np.linalg.pinv(sigma[h], rcond=1e-12, hermitian=True)
        proj = sigma[h] @ pinv                                        # onto range(Sigma_h)
        for i in range(d):
            if reach[h, i] <= tol:
                continue
            in_range = abs(proj[i, i] - 1.0) <= 1e-8 and np.linalg.norm(proj[:, i] - np.eye(
                d)[i]) <= 1e-8
            covered[h, i] = bool(in_range)
            per[h, i] = 1.0 / (reach[h, i] * pinv[i, i]) if in_range else 0.0
    c = float(per.min()) if np.isfinite(per).any() else np.inf
    return {"c_dagger": c, "per_coordinate": per, "reach": reach, "covered": covered}


def regularized_shift(model: LinearMDP, divergence: str, lam) -> np.ndarray:
    """Delta^lam_h(eps, D) of Theorem 6.1's hard instance, computed exactly: mu*_{h,i}(s2) -
    mu0_{h,i}(s2) (shape (H, d - 1)) for the regularised worst-case factors met by the
    regularised-robust optimal policy of a :func:`mdptheory.envs.lower_bound` model."""
    from ..solvers.robust import (
        regularized_robust_backward_induction,
        regularized_robust_evaluate_policy,
    )
    sol = regularized_robust_backward_induction(model, divergence, lam)
    ev = regularized_robust_evaluate_policy(model, sol.pi, divergence, lam)
    m = model.d - 1
    return ev.mu_worst[:, :m, 1] - model.mu[:, :m, 1]


@register("r2pvi_suboptimality", paper=_R2PVI, theorem="Theorem 5.2 (v1)",
          quantity="SubOpt(pi_hat, s1, lam) = V^{*,lam}_1(s1) - V^{pi_hat,lam}_1(s1)",
          variable="K", exponent=-0.5, constants="paper", probability="w.p. >= 1 - delta",
          assumptions=_R2PVI_ASSUMPTIONS,
          parts=_single_order("r2pvi_suboptimality"))
def r2pvi_suboptimality(beta, Phi):
    """2 beta Phi (vectorised)."""
    return 2.0 * np.asarray(beta, dtype=np.float64) * np.asarray(Phi, dtype=np.float64)


def _rate(K, c_dagger):
    K = np.asarray(K, dtype=np.float64)
    return 1.0 / np.sqrt(c_dagger * K)


@register("r2pvi_tv_rate", paper=_R2PVI, theorem="bound table (R2PVI-TV)",
          quantity="SubOpt", variable="K", exponent=-0.5, constants="rate-only",
          probability="w.p. >= 1 - delta", assumptions=_RATE_ASSUMPTIONS,
          parts=_single_order("r2pvi_tv_rate"))
def r2pvi_tv_rate(d, H, K, c_dagger=1.0):
    """d^2 H^2 / sqrt(c_dagger K)."""
    return d ** 2 * H ** 2 * _rate(K, c_dagger)


@register("r2pvi_kl_rate", paper=_R2PVI, theorem="bound table (R2PVI-KL)",
          quantity="SubOpt", variable="K", exponent=-0.5, constants="rate-only",
          probability="w.p. >= 1 - delta", assumptions=_RATE_ASSUMPTIONS,
          parts=_single_order("r2pvi_kl_rate"))
def r2pvi_kl_rate(d, H, K, lam, c_dagger=1.0):
    """sqrt(lam) e^{H/lam} d^2 H^{3/2} / sqrt(c_dagger K)."""
    return np.sqrt(lam) * np.exp(H / lam) * d ** 2 * H ** 1.5 * _rate(K, c_dagger)


@register("r2pvi_chi2_rate", paper=_R2PVI, theorem="bound table (R2PVI-chi2)",
          quantity="SubOpt", variable="K", exponent=-0.5, constants="rate-only",
          probability="w.p. >= 1 - delta", assumptions=_RATE_ASSUMPTIONS,
          parts=_single_order("r2pvi_chi2_rate"))
def r2pvi_chi2_rate(d, H, K, lam, c_dagger=1.0):
    """d^2 H^3 (1 + 1/lam) / sqrt(c_dagger K)."""
    return d ** 2 * H ** 3 * (1.0 + 1.0 / lam) * _rate(K, c_dagger)


def r2pvi_rate(divergence: str, d, H, K, lam=1.0, c_dagger=1.0):
    """The instance-independent R2PVI rate for ``divergence``."""
    div = _validate.divergence(divergence)
    if div == "tv":
        return r2pvi_tv_rate(d, H, K, c_dagger)
    if div == "kl":
        return r2pvi_kl_rate(d, H, K, lam, c_dagger)
    return r2pvi_chi2_rate(d, H, K, lam, c_dagger)


#: The slides' comparison table: name -> (setting, divergence, coverage, rate function of
#: (d, H, K, **kw)); rate-only.
BOUND_TABLE = {
    "DRPVI": ("DRMDP rho", "TV", "full", lambda d, H, K, **kw: d ** 1.5 * H ** 2 / np.sqrt(K)),
    "DROP": ("DRMDP rho", "TV", "robust partial",
             lambda d, H, K, **kw: d ** 1.5 * H ** 2 / np.sqrt(K)),
    "P2MPO-TV": ("DRMDP rho", "TV", "robust partial",
                 lambda d, H, K, **kw: d ** 2 * H ** 2 / np.sqrt(K)),
    "R2PVI-TV": ("RRMDP lam", "TV", "regularized partial",
                 lambda d, H, K, **kw: r2pvi_tv_rate(d, H, K)),
    "DRVI-L": ("DRMDP rho", "KL", "robust partial",
               lambda d, H, K, beta=1.0, **kw: np.sqrt(beta) * np.exp(H / beta) * d ** 2
               * H ** 1.5 / np.sqrt(K)),
    "P2MPO-KL": ("DRMDP rho", "KL", "robust partial",
                 lambda d, H, K, beta=1.0, rho=1.0, **kw: np.exp(H / beta) * d ** 2 * H ** 2
                 / (rho * np.sqrt(K))),
    "R2PVI-KL": ("RRMDP lam", "KL", "regularized partial",
                 lambda d, H, K, lam=1.0, **kw: r2pvi_kl_rate(d, H, K, lam)),
    "R2PVI-chi2": ("RRMDP lam", "chi2", "regularized partial",
                   lambda d, H, K, lam=1.0, **kw: r2pvi_chi2_rate(d, H, K, lam)),
}


@register("r2pvi_lower_bound", paper=_R2PVI, theorem="Theorem 6.1 (v1)",
          quantity="inf_pi sup_M SubOpt(M, pi, s, lam, D)", variable="K", exponent=-0.5,
          constants="rate-only", probability="w.p. >= 1 - delta",
          assumptions=("K > max(Õ(d^6), Õ(d^3 H^2 / lam^2))",
                       "universal constant c unknown (c = 1 here)",
                       "hard instance reconstructed (mdptheory.envs.lower_bound)"),
          parts=_single_order("r2pvi_lower_bound"))
def r2pvi_lower_bound(Phi, c=1.0):
    """c Phi (c unspecified in the paper)."""
    return c * np.asarray(Phi, dtype=np.float64)


@register("dr_rpo_regret", paper=_DRRPO, theorem="main theorem (UNVERIFIED; secondary sources)",
          quantity="Regret(K) = sum_k V*_1(s1) - V^{pi_k}_1(s1) (policy-regularised robust)",
          variable="K", exponent=0.5, constants="rate-only", probability="w.p. >= 1 - delta",
          assumptions=("d-rectangular linear DRMDP/RRMDP with a KL-to-reference policy term",
                       "rate Õ(d^2 H^2 sqrt(K)) from secondary summaries, not the paper",
                       "log factors, tau, rho and |A| dependence unknown"),
          parts=_single_order("dr_rpo_regret"))
def dr_rpo_regret(d, H, K):
    """d^2 H^2 sqrt(K)."""
    return d ** 2 * H ** 2 * np.sqrt(np.asarray(K, dtype=np.float64))


@register("dr_lsvi_ucb_regret",
          paper="Liu & Xu (2024), Distributionally Robust Off-Dynamics RL (DR-LSVI-UCB), AISTATS",
          theorem="main theorem (rate inferred from We-DRIVE-U's abstract)",
          quantity="Regret(K) = sum_k V^{*,rho}_1(s1) - V^{pi_k,rho}_1(s1)", variable="K",
          exponent=0.5, constants="rate-only", probability="w.p. >= 1 - delta",
          assumptions=("d-rectangular TV DRMDP with a fail state",
                       "rate Õ(d^2 H^2 sqrt(K)) inferred, not read from the paper"),
          parts=_single_order("dr_lsvi_ucb_regret"))
def dr_lsvi_ucb_regret(d, H, K):
    """d^2 H^2 sqrt(K)."""
    return d ** 2 * H ** 2 * np.sqrt(np.asarray(K, dtype=np.float64))


__all__ = [
    "BOUND_TABLE",
    "admissible_radius",
    "coverage_constant",
    "dr_lsvi_ucb_regret",
    "dr_rpo_regret",
    "feature_covariance",
    "optimal_policy_and_worst_factors",
    "population_uncertainty",
    "r2pvi_chi2_rate",
    "r2pvi_kl_rate",
    "r2pvi_lower_bound",
    "r2pvi_rate",
    "r2pvi_suboptimality",
    "r2pvi_tv_rate",
    "regularized_shift",
    "uncertainty_function",
    "uncertainty_functions",
]
