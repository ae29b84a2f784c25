"""Demonstration-regularized RL: behaviour cloning, KL-regularized optimistic best-policy
identification towards the BC policy, and demonstration-regularized RLHF.

Paper: D. Tiapkin, D. Belomestny, D. Calandriello, E. Moulines, R. Munos, A. Naumov, P. Perrault,
M. Valko, P. Ménard (2024), "Demonstration-Regularized RL", ICLR 2024 (arXiv 2310.17303).
Project page: docs/papers/demo_regularized.md. The paper's full text (theorem statements,
algorithm boxes, bonuses, constants) could not be read; what is known comes from its abstract
and the OpenReview reviews, which quote theorem numbers. Most of this module is therefore OUR
RECONSTRUCTION of the known skeleton (BC -> KL-regularized BPI towards the BC policy; rates
1/N^E and 1/(eps^2 N^E)) with standard components. Each piece says which.

Pipeline (the paper's "demonstration-regularized BPI"; h = 0..H-1 here, 1..H in the paper):

1. Behaviour cloning. Tabular: add-kappa smoothed MLE
       pi^BC_h(a|s) = (N_h(s,a) + kappa) / (N_h(s) + kappa A)
   (the MLE with a log-barrier kappa sum log pi, which is how secondary sources describe the
   paper's regularized MLE; kappa = 1 default, the paper's exact kappa is unknown; unvisited
   states get the uniform policy). Linear (our reconstruction; the paper's smoothed class is
   unknown): per-step multinomial-logistic MLE of
   pi_theta,h(a|s) ∝ exp(<phi(s,a), theta_h>) with ridge (rho/2)||theta_h||^2 (Newton), mixed
   with the uniform policy: pi^BC = (1 - gamma_s) pi_theta + gamma_s Unif(A),
   gamma_s = min(1/2, 1/N^E).
2. lambda = c_lambda eps / (3 eps_KL_hat), eps_KL_hat = S A H / N^E (tabular) or d H / N^E
   (linear): our heuristic KL curve put into the reduction's parameter choice lambda =
   eps / (3 eps_KL); c_lambda = 1 default.
3. Regularized BPI towards pi~ = pi^BC with weight lambda, eps_RL = eps / 3:
   * tabular, a stand-in for the paper's UCBVI-Ent+ (whose bonuses and stopping rule we could
     not read; ours keeps the structure of UCBVI-Ent, Tiapkin et al. 2023, whose code is
     public): per-step counts, empirical kernel P_hat (reward known: the observed mean
     rewards, or a given reward such as RLHF's r_hat; for noisy rewards an optional reward
     bonus, see :class:`RegBPITabular`), bonus
     b_h(s,a) = bonus_scale (H - h - 1) min(2, sqrt(2 beta(delta, n) / n)),
     beta(delta, n) = log(3 S A H / delta) + S log(8 e (n + 1)), n = max(1, n_h(s,a))
     (a KL concentration in the style of Ménard et al. 2021, turned into an L1 width by
     Pinsker), and the optimistic soft backup
         Q_h = min(H - h, r_h + P_hat_h V_{h+1} + b_h)   (H - h on unvisited pairs),
         V_h(s) = lambda log sum_a pi~_h(a|s) exp(Q_h(s,a) / lambda),
         pi_h(a|s) = pi~_h(a|s) exp((Q_h(s,a) - V_h(s)) / lambda),
     the soft step being :func:`mdptheory.kernels.backward.soft_backward_induction` (one-step
     slices, with the reward shifted so that its backup returns the clipped Q). Gap
     certificate (our derivation; valid but slow-rate): G_h = c_h + P_hat_h pi_{h+1} G_{h+1},
     c_h = 2 b_h + bonus_scale D_{h+1} min(2, sqrt(2 beta / n)) with D_h = (H - h) +
     (H - h - 1)(H - h) / 2 the deterministic bound on Q_bar_h - Q^pi_{lambda,h} (G is clipped
     at D_h, which keeps G >= Q_bar - Q^pi_lambda); stop when rho0 . (pi_0 G_0) <= eps_RL.
     The range H - h - 1 is the range of V_{h+1} for 0-based h. At bonus_scale 1 this
     certificate needs far more episodes than the true gap (docs/papers/demo_regularized.md),
     so the experiments report oracle stopping (the exact gap) beside it.
   * linear, "LSVI-UCB with a soft backup" (our reconstruction; the paper's Algorithm 3
     roll-out scheme is unknown and not reproduced): Lambda_h = rho I + sum phi phi^T,
     w_h = Lambda_h^{-1} sum phi V_{h+1}(s') (the known linear reward is added exactly),
     Q_h = min(H - h, r_h + <phi, w_h> + beta ||phi||_{Lambda_h^{-1}}), soft backup as above,
     beta = c_beta d H sqrt(log(2 d H K / delta)). The backup is the tabular kernel run on the
     signed ridge pseudo-kernel P_lin_h(s'|s,a) = phi(s,a)^T Lambda_h^{-1} M_h[:, s'], M_h the
     design grouped by next state (:class:`mdptheory.algorithms.linear_estimation.OnlineRidge`),
     which gives <phi, w_h> exactly. Certificate (a heuristic, no guarantee): the mean over
     the last ``window`` episodes of sum_h 2 beta ||phi(s_h, a_h)||_{Lambda_h^{-1}}.
4. Output the final softmax policy.

lambda = 0 is accepted by the solvers and means the lambda -> 0 limit of the soft backup:
V = max_a Q over supp(pi~) and pi proportional to pi~ on the maximisers. With pi~ uniform that
is plain optimistic BPI (baseline "no demonstrations"); with pi~ = pi^BC it is optimistic BPI
whose ties (e.g. all-clipped Q at the start) are broken by the BC policy (baseline "BC warm
start without KL"). lambda < 0 is refused.

RLHF (our pipeline; the paper's data-collection policy and link function are unknown): N^RM
pairs of trajectories rolled out with pi^BC, labels o ~ Bernoulli(sigma(R(tau^1) - R(tau^0)))
with R the true return, Bradley–Terry MLE of a reward linear in the trajectory features
Phi(tau) = sum_h e_h (x) phi(s_h, a_h) (one-hot (h, s, a) counts in the tabular case) over the
box [0, 1] (tabular: [0, 1]^{H S A}; linear: [0, 1]^{d H}, which lies inside the ball
||theta_h|| <= sqrt(d), contains the theta of :func:`mdptheory.envs.random_linear_mdp`, and
keeps r_hat in [0, 1] for simplex features), with a tiny ridge towards the box centre 1/2 that
pins the coordinates no trajectory identifies (they stay at 1/2: neither pessimistic nor
optimistic) and the per-step additive shift. Then KL-regularized solving with r_hat, pi~ =
pi^BC and lambda (online solver, or exact planning on the true kernel to isolate the
reward-model error: ``solver="exact"``).

Exact ground truth (for tests and experiments): :func:`trajectory_kl` is
KL_traj(pi || pi') = sum_h sum_s d^pi_h(s) KL(pi_h(.|s) || pi'_h(.|s)) by the forward occupancy
(:func:`mdptheory.solvers.finite.occupancy_measure`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ..kernels import demo_regularized as kdr
from ..kernels import online as kon
from ..kernels import sampling as ksamp
from ..models import LinearMDP, _validate
from ..models.policies import softmax
from ..solvers._common import as_finite
from ..solvers.finite import (
    backward_induction,
    evaluate_finite_policy,
    occupancy_measure,
    soft_backward_induction,
)
from ._common import CountStatistics, policy_cache_scratch, require_unit_rewards, step_caps
from .linear_estimation import OnlineRidge, feature_model

__all__ = [
    "BPITrace",
    "DemoBPIResult",
    "LinearBC",
    "Preferences",
    "RLHFResult",
    "RegBPILinear",
    "RegBPITabular",
    "RewardModel",
    "behavior_cloning",
    "collect_preferences",
    "demo_regularized_bpi",
    "deviation_bounds",
    "expert_with_gap",
    "fit_bradley_terry",
    "lambda_schedule",
    "linear_behavior_cloning",
    "regularized_optimum",
    "regularized_plan",
    "rlhf_pipeline",
    "run_episodes",
    "softmax_expert",
    "softmax_linear_policy",
    "trajectory_kl",
    "validate_demonstrations",
    "validate_preferences",
]


# ----------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------
def _int_matrix(name: str, x, hi: int, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.bool_)):
        if np.issubdtype(arr.dtype, np.floating) and arr.size and np.all(np.isfinite(arr)) \
                and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must hold integer {what}s, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (trajectories x steps), got shape "
                         f"{arr.shape}")
    bad = (arr < 0) | (arr >= hi)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), arr.shape)
        raise ValueError(f"{name}[{idx[0]}, {idx[1]}] is {arr[idx]}, expected a {what} in "
                         f"[0, {hi})")
    return np.ascontiguousarray(arr, dtype=np.int64)


def validate_demonstrations(demonstrations, S: int, A: int, H: int | None = None,
                            name: str = "demonstrations"):
    """States s (N, H + 1) or (N, H) and actions a (N, H) of a demonstration set, checked.

    ``demonstrations`` is a :class:`mdptheory.runner.Dataset` (or any object with integer
    fields ``s`` and ``a``) or a pair ``(s, a)``. Rewards are not used (they are not observed
    in demonstrations, as in the paper's setting).

    Raises
    ------
    TypeError
        No ``s``/``a`` fields, non-integer entries.
    ValueError
        No trajectories (N^E = 0), wrong shapes, H mismatch, states or actions out of range.
    """
    if isinstance(demonstrations, tuple) and len(demonstrations) == 2:
        s, a = demonstrations
    elif hasattr(demonstrations, "s") and hasattr(demonstrations, "a"):
        s, a = demonstrations.s, demonstrations.a
    else:
        raise TypeError(f"{name} must be a Dataset (fields s, a) or a pair (s, a), got "
                        f"{type(demonstrations).__name__}")
    if s is None or a is None:
        raise TypeError(f"{name}.s and {name}.a must be integer arrays, got None")
    a_arr = np.asarray(a)
    s_arr = np.asarray(s)
    if a_arr.ndim == 2 and a_arr.shape[0] == 0 or s_arr.ndim == 2 and s_arr.shape[0] == 0 \
            or a_arr.size == 0:
        raise ValueError(f"{name} holds no trajectories (N^E = 0); behaviour cloning needs at "
                         f"least one")
    a = _int_matrix(f"{name}.a", a_arr, A, "action")
    s = _int_matrix(f"{name}.s", s_arr, S, "state")
    N, Ha = a.shape
    if H is not None and Ha != H:
        raise ValueError(f"{name}.a has {Ha} steps per trajectory, expected H = {H}")
    if s.shape[0] != N:
        raise ValueError(f"{name}.s has {s.shape[0]} trajectories but {name}.a has {N}")
    if s.shape[1] not in (Ha, Ha + 1):
        raise ValueError(f"{name}.s must have H + 1 = {Ha + 1} (or H = {Ha}) states per "
                         f"trajectory, got {s.shape[1]}")
    return s, a


def _lam(lam) -> float:
    return _validate.real("lam", lam, lo=0.0)


def _policy(name: str, pi, H: int, S: int, A: int) -> np.ndarray:
    arr = _validate.as_float_array(name, pi)
    if arr.ndim == 2:
        arr = np.broadcast_to(arr, (H, S, A)).copy()
    _validate.shape(name, arr, expected=(H, S, A))
    _validate.simplex(name, arr)
    return np.ascontiguousarray(arr)


# ----------------------------------------------------------------------------------------------
# behaviour cloning
# ----------------------------------------------------------------------------------------------
def behavior_cloning(demonstrations, S: int, A: int, *, H: int | None = None,
                     kappa: float = 1.0) -> np.ndarray:
    """Tabular BC: pi^BC_h(a|s) = (N_h(s,a) + kappa) / (N_h(s) + kappa A), shape (H, S, A).

    The maximiser of sum_{i,h} log pi_h(a^i_h|s^i_h) + kappa sum_{h,s,a} log pi_h(a|s) (our
    reading of the paper's regularized MLE; kappa = 1 default, the paper's constant is
    unknown). States never visited at step h
    get the uniform policy. kappa must be > 0 (it keeps KL(pi^E || pi^BC) finite).
    """
    S = _validate.positive_int("S", S)
    A = _validate.positive_int("A", A)
    kappa = _validate.real("kappa", kappa, lo=0.0, lo_open=True)
    s, a = validate_demonstrations(demonstrations, S, A, H)
    H = a.shape[1]
    n = np.zeros((H, S, A))                    # N_h(s, a)
    kdr.bc_counts(s, a, n)
    pi = np.empty((H, S, A))                   # pi^BC[h, s, a]
    kdr.bc_policy(n, kappa, pi)
    return pi


def softmax_linear_policy(phi, theta) -> np.ndarray:
    """pi_h(a|s) ∝ exp(<phi(s,a), theta_h>) for phi (S, A, d), theta (H, d): (H, S, A)."""
    logits = np.einsum("sad,hd->hsa", np.asarray(phi, np.float64), np.asarray(theta, np.float64))
    return softmax(logits, axis=-1)


@dataclass(frozen=True, eq=False)
class LinearBC:
    """Smoothed softmax-linear BC: pi (H, S, A) = (1 - gamma_s) pi_theta + gamma_s / A,
    theta (H, d) the ridge-regularised logistic MLE, iterations / converged of Newton per step,
    grad_norm (H,) the final gradient norms."""

    pi: np.ndarray
    theta: np.ndarray
    gamma_s: float
    ridge: float
    iterations: np.ndarray
    converged: bool
    grad_norm: np.ndarray


def _logistic_newton(phi, n_sa, ridge, tol, max_iter):
    """argmin_theta -sum_{s,a} n(s,a) log softmax_a(<phi(s,.), theta>) + ridge/2 ||theta||^2 by
    Newton with backtracking; phi (S, A, d), n_sa (S, A). Returns theta, iterations, |grad|."""
    d = phi.shape[2]
    n_s = n_sa.sum(axis=1)                                     # N(s)
    emp = np.einsum("sa,sad->d", n_sa, phi)                    # sum n(s,a) phi(s,a)
    keep = n_s > 0
    ph, ns = phi[keep], n_s[keep]
    theta = np.zeros(d)

    def f(th):
        z = ph @ th                                            # (S', A)
        m = z.max(axis=1)
        lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
        return float(ns @ lse - emp @ th + 0.5 * ridge * th @ th)

    val = f(theta)
    gnorm = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        p = softmax(ph @ theta, axis=1)                        # pi_theta(a|s)
        mean = np.einsum("sa,sad->sd", p, ph)                  # E_pi phi
        grad = ns @ mean - emp + ridge * theta
        gnorm = float(np.linalg.norm(grad))
        if gnorm <= tol * (1.0 + ns.sum()):
            break
        cov = np.einsum("s,sa,sad,sae->de", ns, p, ph, ph) - np.einsum("s,sd,se->de", ns, mean,
                                                                         mean)
        hess = cov + ridge * np.eye(d)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        dec = float(grad @ step)
        while True:                                            # Armijo backtracking
            cand = theta - t * step
            v = f(cand)
            if v <= val - 1e-4 * t * dec or t < 1e-10:
                break
            t *= 0.5
        theta, val = cand, v
    return theta, it, gnorm


def linear_behavior_cloning(demonstrations, phi, *, H: int | None = None, ridge: float = 1e-2,
                            gamma_s: float | None = None, tol: float = 1e-9,
                            max_iter: int = 100) -> LinearBC:
    """Smoothed softmax-linear BC (our reconstruction; see the module docstring).

    Per step h: theta_h = argmin -sum_i log pi_theta,h(a^i_h|s^i_h) + (ridge/2)||theta_h||^2
    (convex; Newton), pi^BC = (1 - gamma_s) pi_theta + gamma_s Unif(A) with
    gamma_s = min(1/2, 1/N^E) by default, so log(pi^E / pi^BC) <= log(A / gamma_s).

    Parameters
    ----------
    demonstrations
        Dataset or (s, a) with N^E trajectories.
    phi : ndarray of shape (S, A, d)
        Features.
    ridge : float
        rho > 0.
    gamma_s : float, optional
        Uniform mixing weight in [0, 1].
    """
    phi = _validate.as_float_array("phi", phi)
    _validate.shape("phi", phi, ndim=3)
    _validate.finite("phi", phi)
    S, A, d = phi.shape
    ridge = _validate.real("ridge", ridge, lo=0.0, lo_open=True)
    s, a = validate_demonstrations(demonstrations, S, A, H)
    N, H = a.shape
    if gamma_s is None:
        gamma_s = min(0.5, 1.0 / N)
    gamma_s = _validate.real("gamma_s", gamma_s, lo=0.0, hi=1.0)
    n = np.zeros((H, S, A))
    kdr.bc_counts(s, a, n)
    theta = np.zeros((H, d))
    iters = np.zeros(H, dtype=np.int64)
    gn = np.zeros(H)
    for h in range(H):
        theta[h], iters[h], gn[h] = _logistic_newton(phi, n[h], ridge, tol, max_iter)
    pi = (1.0 - gamma_s) * softmax_linear_policy(phi, theta) + gamma_s / A
    converged = bool(np.all(gn <= tol * (1.0 + N)))
    return LinearBC(pi=pi, theta=theta, gamma_s=gamma_s, ridge=ridge, iterations=iters,
                    converged=converged, grad_norm=gn)


# ----------------------------------------------------------------------------------------------
# exact quantities
# ----------------------------------------------------------------------------------------------
def trajectory_kl(mdp, pi, pi_ref) -> float:
    """Exact KL_traj(pi || pi_ref) = sum_h sum_s d^pi_h(s) KL(pi_h(.|s) || pi_ref_h(.|s)).

    d^pi is the forward occupancy of the *first* argument from rho0
    (:func:`mdptheory.solvers.finite.occupancy_measure`); +inf if pi puts mass where pi_ref has
    none on a reached state. Equals the KL between the two trajectory distributions.
    """
    fin = as_finite(mdp)
    H, S, A = fin.H, fin.S, fin.A
    pi = _policy("pi", pi, H, S, A)
    ref = _policy("pi_ref", pi_ref, H, S, A)
    d_s = occupancy_measure(fin, pi).sum(axis=-1)              # d^pi_h(s), (H, S)
    return float(kdr.row_kl(pi.reshape(H * S, A), ref.reshape(H * S, A), d_s.reshape(H * S)))


def softmax_expert(mdp, tau: float) -> np.ndarray:
    """pi^E_h(a|s) ∝ exp(Q*_h(s,a) / tau) (tau > 0), or the greedy optimal policy (tau = 0).

    For a linear MDP, Q*_h = <phi, theta_h + mu_h V*_{h+1}> is linear, so this expert lies in the
    softmax-linear class (the expert of our linear tests)."""
    tau = _validate.real("tau", tau, lo=0.0)
    sol = backward_induction(as_finite(mdp))
    if tau == 0.0:
        return sol.pi
    return softmax(sol.Q / tau, axis=-1)


def expert_with_gap(mdp, gap: float, *, rtol: float = 1e-6):
    """(pi^E, tau): the softmax(Q* / tau) expert with V*_0(rho0) - V^{pi^E}_0(rho0) = ``gap``
    (bisection on log tau); gap = 0 gives the greedy optimal expert
    (tau = 0). Raises ValueError if ``gap`` exceeds the uniform policy's gap."""
    fin = as_finite(mdp)
    gap = _validate.real("gap", gap, lo=0.0)
    sol = backward_induction(fin)
    v_star = sol.value(fin.rho0)
    if gap == 0.0:
        return sol.pi, 0.0

    def g(tau):
        return v_star - evaluate_finite_policy(fin, softmax(sol.Q / tau, axis=-1)).value(fin.rho0)

    unif_gap = v_star - evaluate_finite_policy(
        fin, np.full((fin.H, fin.S, fin.A), 1.0 / fin.A)).value(fin.rho0)
    if gap >= unif_gap:
        raise ValueError(f"gap={gap} is not below the uniform policy's gap {unif_gap:.6g}")
    lo, hi = 1e-8, 1.0
    while g(hi) < gap:
        hi *= 4.0
    for _ in range(200):
        mid = np.sqrt(lo * hi)
        if g(mid) < gap:
            lo = mid
        else:
            hi = mid
        if hi / lo - 1.0 < rtol:
            break
    tau = float(np.sqrt(lo * hi))
    return softmax(sol.Q / tau, axis=-1), tau


def lambda_schedule(eps: float, N_E: int, *, H: int, S: int | None = None,
                    A: int | None = None, d: int | None = None,
                    c_lambda: float = 1.0) -> float:
    """lambda = c_lambda eps / (3 eps_KL_hat) with eps_KL_hat = S A H / N^E (tabular, S and A
    given) or d H / N^E (linear, d given) (the reduction's lambda = eps / (3 eps_KL) with our heuristic KL curve)."""
    eps = _validate.real("eps", eps, lo=0.0, lo_open=True)
    N_E = _validate.positive_int("N_E", N_E)
    H = _validate.positive_int("H", H)
    c_lambda = _validate.real("c_lambda", c_lambda, lo=0.0, lo_open=True)
    if d is not None:
        size = _validate.positive_int("d", d) * H
    elif S is not None and A is not None:
        size = _validate.positive_int("S", S) * _validate.positive_int("A", A) * H
    else:
        raise ValueError("lambda_schedule needs S and A (tabular) or d (linear)")
    return c_lambda * eps * N_E / (3.0 * size)


def deviation_bounds(H: int) -> np.ndarray:
    """D_h = (H - h) + (H - h - 1)(H - h) / 2 for h = 0..H (D_H = 0): the deterministic bound on
    Q_bar_h - Q^pi_{lam,h} for the softmax policy of a Q_bar in [0, H - h] (our derivation, module docstring)."""
    k = (H - np.arange(H + 1)).astype(np.float64)
    return k + (k - 1.0) * k / 2.0 * (k >= 1)


def regularized_plan(P, r, ref_policy, lam: float, *, bonus=None, visited=None,
                     v_max=None):
    """The optimistic soft backup of the tabular solver on explicit arrays: returns (V (H + 1, S),
    Q (H, S, A), pi (H, S, A)). P (H, S, A, S) (a probability kernel or a signed ridge
    pseudo-kernel), r (H, S, A), bonus (H, S, A) default 0, visited (H, S, A) default all,
    v_max (H,) default H - h; lam >= 0 (0: the lam -> 0 limit)."""
    P = np.ascontiguousarray(P, dtype=np.float64)
    H, S, A, _ = P.shape
    lam = _lam(lam)
    r = np.ascontiguousarray(np.broadcast_to(r, (H, S, A)), dtype=np.float64)
    ref = np.ascontiguousarray(np.broadcast_to(ref_policy, (H, S, A)), dtype=np.float64)
    b = np.zeros((H, S, A)) if bonus is None else np.ascontiguousarray(bonus, np.float64)
    vis = np.ones((H, S, A)) if visited is None else np.ascontiguousarray(visited, np.float64)
    cap = step_caps(H) if v_max is None else np.ascontiguousarray(v_max, np.float64)
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    pi = np.empty((H, S, A))
    kdr.optimistic_soft_plan(P, r, vis, b, ref, lam, cap, V, Q, pi, np.empty((H, S, A)))
    return V, Q, pi


# ----------------------------------------------------------------------------------------------
# regularized BPI solvers
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BPITrace:
    """Exact gaps along a run: t (n,) episode counts; value (n,) = V^{pi_t}_0(rho0);
    gap = V* - value; reg_gap = V*_lam' - V^{pi_t}_{lam'} (lam' = eval_lam); certificate (n,)."""

    t: np.ndarray
    value: np.ndarray
    gap: np.ndarray
    reg_gap: np.ndarray
    certificate: np.ndarray
    optimal_value: float
    reg_optimal_value: float
    eval_lam: float


class RegBPITabular:
    """KL-regularized optimistic BPI towards a reference policy (our stand-in for the paper's
    UCBVI-Ent+, see the module docstring).

    Online learner for :func:`mdptheory.runner.online` or :func:`run_episodes`: ``policy()``
    gives the softmax policy pi^t (H, S, A), ``update(episode)`` adds the episode and re-plans.

    Parameters
    ----------
    S, A, H : int
        Sizes.
    ref_policy : ndarray of shape (H, S, A) (or (S, A))
        pi~ (the BC policy); the first episode plays it.
    lam : float
        KL weight lambda >= 0 (0: the lam -> 0 limit, optimistic BPI with ties broken by pi~).
    delta : float
        Confidence in (0, 1) of beta(delta, n).
    bonus_scale : float
        Multiplier of the bonus and certificate (1 = the constants under which the certificate is valid; "practical" runs use
        0.1, which is not covered by the certificate's guarantee).
    reward : ndarray of shape (H, S, A), optional
        Known reward used in the backup (e.g. RLHF's r_hat). Default: the observed mean rewards
        (the environment's reward on every visited pair when rewards are means).
    rho0 : ndarray of shape (S,), optional
        Initial distribution used by the certificate; default the empirical one of the
        observed initial states (the max over states before any episode).
    eps_rl : float, optional
        Target of the stopping rule ``certificate <= eps_rl`` (:attr:`should_stop`).
    reward_bonus : bool
        For noisy (e.g. Bernoulli) rewards learned from their empirical means (``reward`` not
        given): add the reward bonus b^r_h(s,a) = bonus_scale min(1, sqrt(2 beta_r / n_h(s,a)))
        with beta_r = log(3 S A H / delta) to the mean reward in the backup (Hoeffding: the
        true mean is below r_hat + b^r w.h.p.), and 2 b^r to the certificate's per-pair term
        (the reward error enters D_h = Q_bar_h - Q^pi_h once through optimism and once through
        estimation). The compiled loop (:meth:`run_compiled`) plays mean rewards and does not
        support it; use :func:`run_episodes` with ``bernoulli_rewards=True``.
    """

    name = "RegBPI-Tab"

    def check_model(self, mdp) -> None:
        """Called by the runners before the first episode: Theorem 5 (UCBVI-Ent+) of Tiapkin
        et al. assumes rewards in [0, 1]."""
        require_unit_rewards(mdp, "RegBPITabular", "Tiapkin et al., Theorem 5 (UCBVI-Ent+)")

    def __init__(self, S: int, A: int, H: int, ref_policy, lam: float, *, delta: float = 0.1,
                 bonus_scale: float = 1.0, reward=None, rho0=None, eps_rl: float | None = None,
                 reward_bonus: bool = False):
        self.S = S = _validate.positive_int("S", S)
        self.A = A = _validate.positive_int("A", A)
        self.H = H = _validate.positive_int("H", H)
        self.lam = _lam(lam)
        self.ref = _policy("ref_policy", ref_policy, H, S, A)
        self.delta = _validate.real("delta", delta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        self.bonus_scale = _validate.real("bonus_scale", bonus_scale, lo=0.0)
        if reward is None:
            self.reward = None
        else:
            rw = _validate.as_float_array("reward", reward)
            _validate.shape("reward", rw, expected=(H, S, A))
            _validate.finite("reward", rw)
            self.reward = np.ascontiguousarray(rw)
        if rho0 is None:
            self.rho0 = None
        else:
            r0 = _validate.as_float_array("rho0", rho0)
            _validate.shape("rho0", r0, expected=(S,))
            _validate.simplex("rho0", r0)
            self.rho0 = r0
        self.eps_rl = None if eps_rl is None else _validate.real("eps_rl", eps_rl, lo=0.0,
                                                                 lo_open=True)
        if not isinstance(reward_bonus, (bool, np.bool_)):
            raise TypeError(f"reward_bonus must be a bool, got {reward_bonus!r}")
        if reward_bonus and self.reward is not None:
            raise ValueError("reward_bonus=True applies to rewards learned from observations; "
                             "got a known reward array")
        self.reward_bonus = bool(reward_bonus)
        self.stats = CountStatistics(S, A, H, pooled=False)
        self.log_term = float(np.log(3.0 * S * A * H / self.delta))
        self.v_max = step_caps(H)                                        # H - h
        self.d_max = deviation_bounds(H)                                 # D_h, (H + 1,)
        self.width = np.empty((H, S, A))                                 # min(2, sqrt(2b/n))
        self._visited = np.zeros((H, S, A))
        self.bonus = np.zeros((H, S, A))                                 # b_h(s, a)
        self.V = np.zeros((H + 1, S))                                    # V_bar[h, s]
        self.V[:H] = self.v_max[:, None]
        self.Q = np.broadcast_to(self.v_max[:, None, None], (H, S, A)).copy()
        self.G = np.broadcast_to(self.d_max[:H, None, None], (H, S, A)).copy()
        self._pi = self.ref.copy()
        self._r_eff = np.empty((H, S, A))
        self.n_s0 = np.zeros(S)
        self.episodes = 0
        self.certificate = float(self.d_max[0])

    def hyperparameters(self) -> dict:
        return dict(lam=self.lam, delta=self.delta, bonus_scale=self.bonus_scale,
                    known_reward=self.reward is not None, reward_bonus=self.reward_bonus)

    def reward_bonus_array(self) -> np.ndarray:
        """b^r (H, S, A): bonus_scale min(1, sqrt(2 log(3 S A H / delta) / n)) on visited pairs,
        0 elsewhere (unvisited pairs are capped at H - h anyway); zeros without
        ``reward_bonus``."""
        n = self.stats.n_sa
        if not self.reward_bonus:
            return np.zeros_like(n, dtype=np.float64)
        w = np.minimum(1.0, np.sqrt(2.0 * self.log_term / np.maximum(n, 1.0)))
        return np.where(n > 0, self.bonus_scale * w, 0.0)

    def policy(self) -> np.ndarray:
        """Softmax policy pi^t (H, S, A) for the next episode (a fresh array after each
        update)."""
        return self._pi

    def update(self, episode) -> None:
        """Add the episode's counts, re-plan optimistically, refresh policy and certificate."""
        self.stats.add(episode)
        self.n_s0[int(episode.s[0])] += 1.0
        self.episodes += 1
        self._plan()

    def warm_start(self, dataset) -> None:
        """Add prior episodes (e.g. the demonstrations' transitions; an optional extension, not
        the paper's algorithm, which does not use the demonstrations' transitions) and re-plan; the episode count is unchanged."""
        self.stats.add_dataset(dataset)
        self._plan()

    def _plan(self) -> None:
        st = self.stats
        H, S, A = self.H, self.S, self.A
        r = st.r_hat if self.reward is None else self.reward
        b_r = None
        if self.reward_bonus:
            b_r = self.reward_bonus_array()
            r = np.ascontiguousarray(st.r_hat + b_r)
        if self.rho0 is not None:
            weights = self.rho0
        elif self.n_s0.sum() > 0:
            weights = self.n_s0 / self.n_s0.sum()
        else:
            weights = None
        pi = np.empty((H, S, A))
        cert = kdr.tabular_plan_step(st.n_sa, st.P_hat, r, self.ref, self.lam, self.log_term,
                                     float(S), self.bonus_scale, self.v_max, self.d_max,
                                     np.zeros(S) if weights is None else weights, self.width,
                                     self.bonus, self._visited, self.V, self.Q, pi, self.G,
                                     self._r_eff)
        if b_r is not None:          # the certificate with the reward error: c_h + 2 b^r_h
            w = kdr.gap_certificate(st.P_hat, self._visited, self._r_eff + 2.0 * b_r, pi,
                                    self.d_max, self.G)
            cert = float(np.dot(weights, w)) if weights is not None else 0.0
        self._pi = pi
        # before any episode (no initial state seen, rho0 unknown): the max over states
        self.certificate = float(cert) if weights is not None else float(
            np.max(np.einsum("sa,sa->s", pi[0], self.G[0])))

    # -- compiled episode loop (mdptheory.runner.online, "Compiled episode loops")
    @property
    def compiled_episodes(self):
        """The online driver's compiled loop (bound method), or None where it cannot stand in
        for :meth:`update`: with ``reward_bonus`` (a Python-side step), or in a subclass that
        overrides ``policy``, ``update`` or ``_plan``; the driver then runs its generic loop."""
        if self.reward_bonus:
            return None
        for name in ("policy", "update", "_plan"):
            if getattr(type(self), name) is not getattr(RegBPITabular, name):
                return None
        return self._compiled_episodes

    def _compiled_episodes(self, truth, tally, U, bernoulli_rewards: bool) -> None:
        """Run U.shape[0] episodes in one compiled call
        (:func:`mdptheory.kernels.demo_regularized.tabular_bpi_episodes`: the kernels of
        :meth:`update` in its order), then sync the policy, episode count and certificate."""
        n = U.shape[0]
        if n == 0:
            return
        kinds, pkeys, act_work = policy_cache_scratch(self, tally)
        st = self.stats
        H, S = self.H, self.S
        pi = np.ascontiguousarray(self._pi, dtype=np.float64).copy()
        use_rho = self.rho0 is not None
        cert = kdr.tabular_bpi_episodes(
            truth, tally, U, bool(bernoulli_rewards), self.ref, self.lam, self.log_term,
            float(S), self.bonus_scale, self.v_max, self.d_max,
            self.rho0 if use_rho else np.zeros(S), use_rho,
            self.reward if self.reward is not None else st.r_hat, self.reward is not None,
            st.n_sa, st.n_sas, st.r_sum, st.n_s, st.P_hat, st.r_hat, st.succ, st.n_succ,
            self.n_s0, self.V, self.Q, pi, self.G, self.width, self.bonus, self._visited,
            self._r_eff, kinds, pkeys, act_work, np.empty(H + 1, dtype=np.int64),
            np.empty(H, dtype=np.int64), np.empty(H), np.zeros(S))
        self._pi = pi
        self.episodes += n
        self.certificate = float(cert)

    def run_compiled(self, env, K: int, *, rng, checkpoints=None, eval_lam: float | None = None,
                     eval_ref=None) -> BPITrace:
        """Play K further episodes on ``env`` in one compiled loop
        (:func:`mdptheory.kernels.demo_regularized.tabular_bpi_run`) and record exact gaps.

        Same episodes and policies as :func:`run_episodes` with the same ``rng`` (uniforms drawn
        in the runner's order), without the Python overhead per episode. At each checkpoint c
        in ``checkpoints`` (episode counts in [0, K], default 0..K log-spaced; 0 = the current
        policy) the trace holds the exact gap V*_0(rho0) - V^pi_0(rho0) of the policy held after
        c further episodes, the exact regularized gap V*_{lam',0} - V^pi_{lam',0} towards
        ``eval_ref`` (default: this learner's lam and reference; with lam' = 0 it is the plain
        gap) and the certificate. Mean rewards; the learner's state is updated in place.
        """
        from ..analysis.stats import log_spaced
        K = _validate.positive_int("K", K)
        if self.reward_bonus:
            raise ValueError("run_compiled plays mean rewards and has no reward bonus; with "
                             "reward_bonus=True use run_episodes(..., bernoulli_rewards=True)")
        rng = _validate.rng(rng)
        fin = as_finite(env)
        if (fin.H, fin.S, fin.A) != (self.H, self.S, self.A):
            raise ValueError(f"env has (H, S, A) = {(fin.H, fin.S, fin.A)}, the learner "
                             f"{(self.H, self.S, self.A)}")
        cps = (np.concatenate([[0], log_spaced(K)]) if checkpoints is None
               else np.asarray(checkpoints, dtype=np.int64))
        cps = np.unique(cps).astype(np.int64)
        if cps.size == 0 or cps[0] < 0 or cps[-1] > K:
            raise ValueError(f"checkpoints must lie in [0, K={K}]")
        lam_e = self.lam if eval_lam is None else _validate.real("eval_lam", eval_lam, lo=0.0)
        ref_e = self.ref if eval_ref is None else _policy("eval_ref", eval_ref, self.H, self.S,
                                                          self.A)
        P = np.ascontiguousarray(fin.P)
        r = np.ascontiguousarray(fin.r)
        rho0 = np.ascontiguousarray(fin.rho0)
        v_star = backward_induction(fin).value(rho0)
        v_lam = (soft_backward_induction(fin, ref_e, lam_e).value(rho0) if lam_e > 0
                 else v_star)
        U = rng.random((K, 2 * self.H + 1))
        st = self.stats
        n_c = cps.size
        val, reg, cert = np.empty(n_c), np.empty(n_c), np.empty(n_c)
        pi = np.ascontiguousarray(self._pi).copy()
        use_rho = self.rho0 is not None
        kdr.tabular_bpi_run(P, r, rho0, U, self.ref, self.lam, self.log_term, float(self.S),
                            self.bonus_scale, self.v_max, self.d_max,
                            self.rho0 if use_rho else np.zeros(self.S), use_rho,
                            self.reward if self.reward is not None else st.r_hat,
                            self.reward is not None, cps, lam_e, ref_e,
                            st.n_sa, st.n_sas, st.r_sum, st.n_s, st.P_hat, st.r_hat, st.succ,
                            st.n_succ, self.n_s0, self.V, self.Q, pi, self.G, self.width,
                            self.bonus, self._visited, self._r_eff, val, reg, cert)
        self._pi = pi
        self.episodes += K
        self.certificate = float(cert[-1]) if cps[-1] == K else self.certificate
        return BPITrace(t=cps, value=val, gap=v_star - val, reg_gap=v_lam - reg,
                        certificate=cert, optimal_value=v_star, reg_optimal_value=v_lam,
                        eval_lam=lam_e)

    @property
    def should_stop(self) -> bool:
        """Stopping rule: certificate <= eps_rl (False when eps_rl is None)."""
        return self.eps_rl is not None and self.certificate <= self.eps_rl

    def metrics(self) -> dict:
        return {"certificate": self.certificate, "lam": self.lam}

    def __repr__(self) -> str:
        return f"RegBPITabular(S={self.S}, A={self.A}, H={self.H}, lam={self.lam:.4g})"


class RegBPILinear:
    """KL-regularized LSVI-UCB towards a reference policy (our reconstruction; module docstring).

    Parameters
    ----------
    model : LinearMDP or FeatureModel
        What the learner knows: features phi (S, A, d) and the linear reward r (H, S, A).
    ref_policy : ndarray of shape (H, S, A)
        pi~ (the BC policy).
    lam : float
        lambda >= 0.
    K : int
        Planned number of episodes (enters beta through log(2 d H K / delta)).
    c_beta : float
        beta = c_beta d H sqrt(log(2 d H K / delta)) (default 0.1, a calibrated value; 1 = Jin et al. 2020's scale).
    ridge : float
        rho of Lambda_h = rho I + sum phi phi^T.
    reward : ndarray of shape (H, S, A), optional
        Replaces the model's reward (RLHF's r_hat).
    window : int
        Episodes averaged by the heuristic certificate.
    """

    name = "RegBPI-Lin"

    def __init__(self, model, ref_policy, lam: float, *, K: int, delta: float = 0.1,
                 c_beta: float = 0.1, ridge: float = 1.0, reward=None, window: int = 50,
                 eps_rl: float | None = None):
        fm = feature_model(model)
        self.phi = np.ascontiguousarray(fm.phi)
        self.S, self.A, self.d = S, A, d = fm.S, fm.A, fm.d
        self.H = H = fm.H
        self.lam = _lam(lam)
        self.ref = _policy("ref_policy", ref_policy, H, S, A)
        self.K = _validate.positive_int("K", K)
        self.delta = _validate.real("delta", delta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        self.c_beta = _validate.real("c_beta", c_beta, lo=0.0)
        self.ridge_param = _validate.real("ridge", ridge, lo=0.0, lo_open=True)
        if reward is None:
            self.reward = np.ascontiguousarray(fm.r)
        else:
            rw = _validate.as_float_array("reward", reward)
            _validate.shape("reward", rw, expected=(H, S, A))
            _validate.finite("reward", rw)
            self.reward = np.ascontiguousarray(rw)
        self.window = _validate.positive_int("window", window)
        self.eps_rl = None if eps_rl is None else _validate.real("eps_rl", eps_rl, lo=0.0,
                                                                 lo_open=True)
        self.beta = self.c_beta * d * H * np.sqrt(np.log(2.0 * d * H * self.K / self.delta))
        self.ridge = OnlineRidge(self.phi, H, self.ridge_param)
        self.v_max = step_caps(H)
        self.V = np.zeros((H + 1, S))
        self.V[:H] = self.v_max[:, None]
        self.Q = np.broadcast_to(self.v_max[:, None, None], (H, S, A)).copy()
        self.P_lin = np.zeros((H, S, A, S))          # phi Lambda^{-1} M, signed
        self.bonus = np.zeros((H, S, A))
        self._visited = np.ones((H, S, A))
        self._r_eff = np.empty((H, S, A))
        self._pi = self.ref.copy()
        self._recent: list[float] = []
        self.episodes = 0
        self.certificate = float(2.0 * self.beta * H / np.sqrt(self.ridge_param))
        self._plan()

    def hyperparameters(self) -> dict:
        return dict(lam=self.lam, delta=self.delta, c_beta=self.c_beta, beta=self.beta,
                    ridge=self.ridge_param)

    def policy(self) -> np.ndarray:
        return self._pi

    def update(self, episode) -> None:
        s, a = episode.s, episode.a
        # heuristic certificate: realised bonus of this episode under the pre-update Gram
        tot = 2.0 * self.beta * kdr.episode_elliptical_sum(self.phi, self.ridge.Lambda_inv,
                                                           np.asarray(s), np.asarray(a))
        self._recent.append(tot)
        if len(self._recent) > self.window:
            self._recent.pop(0)
        self.certificate = float(np.mean(self._recent))
        self.ridge.update(s, a)
        self.episodes += 1
        self._plan()

    def _plan(self) -> None:
        kdr.ridge_pseudo_kernel(self.phi, self.ridge.Lambda_inv, self.ridge.M, self.beta,
                                self.P_lin, self.bonus)
        pi = np.empty_like(self._pi)
        kdr.optimistic_soft_plan(self.P_lin, self.reward, self._visited, self.bonus, self.ref,
                                 self.lam, self.v_max, self.V, self.Q, pi, self._r_eff)
        self._pi = pi

    @property
    def should_stop(self) -> bool:
        return (self.eps_rl is not None and len(self._recent) >= self.window
                and self.certificate <= self.eps_rl)

    def metrics(self) -> dict:
        return {"certificate": self.certificate, "lam": self.lam}

    def __repr__(self) -> str:
        return f"RegBPILinear(S={self.S}, A={self.A}, d={self.d}, H={self.H}, lam={self.lam:.4g})"


# ----------------------------------------------------------------------------------------------
# driver and the full procedure
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Ep:
    s: np.ndarray
    a: np.ndarray
    r: np.ndarray


def run_episodes(learner, env, max_episodes: int, *, rng, callback=None,
                 stop_on_certificate: bool = True,
                 bernoulli_rewards: bool = False) -> tuple[int, bool]:
    """Play ``learner`` on ``env`` for at most ``max_episodes`` episodes (mean rewards, or
    Bernoulli(r_h(s, a)) rewards with ``bernoulli_rewards``: one more uniform per step).

    After each update, ``callback(t, learner)`` (t = episodes so far) may return True to stop;
    with ``stop_on_certificate`` the learner's ``should_stop`` also stops the run. Episodes are
    drawn by :func:`mdptheory.kernels.online.sample_episode` from uniforms drawn from ``rng``
    in blocks of 1024 episodes (2 H + 1 uniforms per episode, the runner's order).
    Returns (episodes played, stopped early).
    """
    max_episodes = _validate.positive_int("max_episodes", max_episodes)
    rng = _validate.rng(rng)
    fin = as_finite(env)
    if hasattr(learner, "check_model"):
        learner.check_model(fin)
    P = np.ascontiguousarray(fin.P)
    r = np.ascontiguousarray(fin.r)
    rho0 = np.ascontiguousarray(fin.rho0)
    H = fin.H
    if not isinstance(bernoulli_rewards, (bool, np.bool_)):
        raise TypeError(f"bernoulli_rewards must be a bool, got {bernoulli_rewards!r}")
    width = 3 * H + 1 if bernoulli_rewards else 2 * H + 1
    block = min(max_episodes, 1024)
    U = rng.random((block, width))
    for t in range(1, max_episodes + 1):
        j = (t - 1) % block
        if j == 0 and t > 1:
            U = rng.random((block, width))
        pi = learner.policy()
        if not (isinstance(pi, np.ndarray) and pi.dtype == np.float64
                and pi.flags.c_contiguous):
            pi = np.ascontiguousarray(pi, dtype=np.float64)
        s = np.empty(H + 1, dtype=np.int64)
        a = np.empty(H, dtype=np.int64)
        rew = np.empty(H)
        kon.sample_episode(P, r, pi, rho0, U[j], bool(bernoulli_rewards), s, a, rew)
        learner.update(_Ep(s, a, rew))
        stop = bool(callback(t, learner)) if callback is not None else False
        if stop_on_certificate and getattr(learner, "should_stop", False):
            stop = True
        if stop:
            return t, True
    return max_episodes, False


@dataclass(frozen=True, eq=False)
class DemoBPIResult:
    """Output of :func:`demo_regularized_bpi`: the final policy (H, S, A), the BC policy, lambda,
    episodes used, whether the stopping rule fired, the last certificate, the learner."""

    policy: np.ndarray
    pi_bc: np.ndarray
    lam: float
    episodes: int
    stopped: bool
    certificate: float
    learner: object
    info: dict = field(default_factory=dict)


def demo_regularized_bpi(demonstrations, env, eps: float, *, rng, linear: bool = False,
                         delta: float = 0.1, kappa: float = 1.0, c_lambda: float = 1.0,
                         lam: float | None = None, bonus_scale: float = 1.0,
                         c_beta: float = 0.1, ridge: float = 1.0,
                         bc_ridge: float = 1.0, gamma_s: float | None = None,
                         max_episodes: int = 100_000, callback=None) -> DemoBPIResult:
    """Demonstration-regularized BPI (the paper's pipeline, our components): BC -> lambda schedule -> regularized BPI with
    eps_RL = eps / 3 until the certificate stops it (or ``max_episodes``).

    Parameters
    ----------
    demonstrations
        N^E expert trajectories (Dataset or (s, a)).
    env : FiniteHorizonMDP or LinearMDP
        The environment the learner interacts with (sampled only; a LinearMDP also provides
        the features and the known linear reward when ``linear``).
    eps : float
        Target accuracy eps > 0.
    rng
        Generator or seed of the online episodes.
    linear : bool
        Linear BC + RegBPILinear (needs a LinearMDP) instead of tabular BC + RegBPITabular.
    lam : float, optional
        Override of the schedule lambda = c_lambda eps / (3 eps_KL_hat) (baseline "fixed
        lambda").
    callback
        ``callback(t, learner) -> bool`` after each episode (True stops).
    """
    eps = _validate.real("eps", eps, lo=0.0, lo_open=True)
    fin = as_finite(env)
    S, A, H = fin.S, fin.A, fin.H
    if linear:
        if not isinstance(env, LinearMDP):
            raise TypeError(f"linear=True needs a LinearMDP env, got {type(env).__name__}")
        bc = linear_behavior_cloning(demonstrations, env.phi, H=H, ridge=bc_ridge,
                                     gamma_s=gamma_s)
        pi_bc = bc.pi
        N_E = validate_demonstrations(demonstrations, S, A, H)[1].shape[0]
        lam_val = (lambda_schedule(eps, N_E, H=H, d=env.d, c_lambda=c_lambda) if lam is None
                   else _lam(lam))
        learner = RegBPILinear(env, pi_bc, lam_val, K=max_episodes, delta=delta, c_beta=c_beta,
                               ridge=ridge, eps_rl=eps / 3.0)
    else:
        pi_bc = behavior_cloning(demonstrations, S, A, H=H, kappa=kappa)
        N_E = validate_demonstrations(demonstrations, S, A, H)[1].shape[0]
        lam_val = (lambda_schedule(eps, N_E, H=H, S=S, A=A, c_lambda=c_lambda) if lam is None
                   else _lam(lam))
        learner = RegBPITabular(S, A, H, pi_bc, lam_val, delta=delta, bonus_scale=bonus_scale,
                                eps_rl=eps / 3.0)
    episodes, stopped = run_episodes(learner, env, max_episodes, rng=rng, callback=callback,
                                     stop_on_certificate=True)
    return DemoBPIResult(policy=learner.policy(), pi_bc=pi_bc, lam=lam_val, episodes=episodes,
                         stopped=stopped and learner.should_stop,
                         certificate=learner.certificate, learner=learner,
                         info={"N_E": N_E, "eps_rl": eps / 3.0})


# ----------------------------------------------------------------------------------------------
# RLHF
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Preferences:
    """N^RM trajectory pairs and labels.

    ======  ==========  ========================================================
    symbol  shape       meaning
    ======  ==========  ========================================================
    s0, a0  (N, H + 1), first trajectory tau^0 of each pair (states, actions)
            (N, H)
    s1, a1  same        second trajectory tau^1
    o       (N,)        label 1 if tau^1 is preferred, 0 otherwise
    ======  ==========  ========================================================
    """

    s0: np.ndarray
    a0: np.ndarray
    s1: np.ndarray
    a1: np.ndarray
    o: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.o).shape[0])

    def head(self, n: int) -> Preferences:
        return Preferences(self.s0[:n], self.a0[:n], self.s1[:n], self.a1[:n], self.o[:n])


def validate_preferences(prefs, S: int, A: int, H: int | None = None):
    """(s0, a0, s1, a1, o) checked: the same number of pairs everywhere, the same H, states and
    actions in range, labels in {0, 1}, at least one pair."""
    for f in ("s0", "a0", "s1", "a1", "o"):
        if not hasattr(prefs, f):
            raise TypeError(f"preferences must have fields s0, a0, s1, a1, o (a Preferences), "
                            f"got {type(prefs).__name__} without '{f}'")
    o = np.asarray(prefs.o)
    if o.ndim != 1:
        raise ValueError(f"preferences.o must be 1-D (one label per pair), got shape {o.shape}")
    N = o.shape[0]
    if N == 0:
        raise ValueError("preferences hold no pairs (N^RM = 0)")
    s0, a0 = validate_demonstrations((prefs.s0, prefs.a0), S, A, H, name="preferences[0]")
    s1, a1 = validate_demonstrations((prefs.s1, prefs.a1), S, A, a0.shape[1],
                                     name="preferences[1]")
    for nm, arr in (("s0", s0), ("a0", a0), ("s1", s1), ("a1", a1)):
        if arr.shape[0] != N:
            raise ValueError(f"preferences.{nm} has {arr.shape[0]} trajectories but "
                             f"preferences.o has {N} labels (inconsistent lengths)")
    try:
        of = o.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("preferences.o must hold labels 0 or 1") from exc
    bad = (of != 0.0) & (of != 1.0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"preferences.o[{i}] is {o[i].item()!r}, expected a label 0 or 1")
    return s0, a0, s1, a1, of


def collect_preferences(env, pi, N_RM: int, *, rng) -> Preferences:
    """N^RM pairs (tau^0, tau^1) rolled out with pi (the BC policy, our reading of the paper's RLHF data collection) and
    labels o ~ Bernoulli(sigma(R(tau^1) - R(tau^0))), R(tau) = sum_h r_h(s_h, a_h) with the
    mean rewards (Bradley–Terry on trajectory returns)."""
    N_RM = _validate.positive_int("N_RM", N_RM)
    rng = _validate.rng(rng)
    fin = as_finite(env)
    H, S, A = fin.H, fin.S, fin.A
    pi = np.ascontiguousarray(_policy("pi", pi, H, S, A))
    P, r, rho0 = (np.ascontiguousarray(x) for x in (fin.P, fin.r, fin.rho0))
    out = []
    for _ in range(2):
        s = np.empty((N_RM, H + 1), dtype=np.int64)
        a = np.empty((N_RM, H), dtype=np.int64)
        rew = np.empty((N_RM, H))
        ksamp.sample_episodes(P, r, pi, rho0, rng, False, s, a, rew)
        out.append((s, a, rew.sum(axis=1)))
    diff = out[1][2] - out[0][2]
    o = (rng.random(N_RM) < 1.0 / (1.0 + np.exp(-diff))).astype(np.int64)
    return Preferences(out[0][0], out[0][1], out[1][0], out[1][1], o)


@dataclass(frozen=True, eq=False)
class RewardModel:
    """Bradley–Terry fit: r_hat (H, S, A) in [0, 1], theta the parameter (tabular (H, S, A) or
    linear (H, d)), nll the final negative log-likelihood, converged flag, coverage (H, S, A)
    how many preference trajectories visit each (h, s, a)."""

    r_hat: np.ndarray
    theta: np.ndarray
    nll: float
    converged: bool
    coverage: np.ndarray


def _box_newton_logistic(X, o, ridge, center, tol, max_iter):
    """argmin_{theta in [0, 1]^dim} sum_i softplus(z_i) - o_i z_i + (ridge/2)||theta - center||^2,
    z = X theta, by projected Newton (Bertsekas 1982): Newton step on the free coordinates,
    gradient step on the coordinates held at a bound, Armijo search along the projected arc.
    X (N, dim) dense or sparse. Returns (theta, objective, converged)."""
    dim = X.shape[1]
    th = np.full(dim, center)

    def obj(v):
        z = X @ v
        return float(np.sum(np.logaddexp(0.0, z) - o * z)
                     + 0.5 * ridge * (v - center) @ (v - center)), z

    f, z = obj(th)
    converged = False
    for _ in range(max_iter):
        sig = 0.5 * (1.0 + np.tanh(0.5 * z))                     # sigma(z), stable
        g = np.asarray(X.T @ (sig - o)).ravel() + ridge * (th - center)
        pg = th - np.clip(th - g, 0.0, 1.0)                       # projected gradient
        if np.abs(pg).max() <= tol:
            converged = True
            break
        eps_b = min(1e-8, np.abs(pg).max())
        active = ((th <= eps_b) & (g > 0)) | ((th >= 1.0 - eps_b) & (g < 0))
        free = ~active
        w = sig * (1.0 - sig)
        if sparse.issparse(X):
            Hfull = (X.T @ X.multiply(w[:, None]).tocsc()).toarray()
        else:
            Hfull = X.T @ (X * w[:, None])
        Hff = Hfull[np.ix_(free, free)]
        Hff[np.diag_indices_from(Hff)] += ridge + 1e-12
        d = g.copy()
        d[free] = np.linalg.solve(Hff, g[free])
        step = 1.0
        while True:
            cand = np.clip(th - step * d, 0.0, 1.0)
            fc, zc = obj(cand)
            dec = g[free] @ (th[free] - cand[free]) + g[active] @ (th[active] - cand[active])
            if fc <= f - 1e-4 * dec or step < 1e-12:
                break
            step *= 0.5
        if f - fc <= 1e-15 * (1.0 + abs(f)) and step < 1e-12:
            break
        th, f, z = cand, fc, zc
    return th, f, converged


def fit_bradley_terry(prefs, S: int, A: int, *, H: int | None = None, phi=None,
                      ridge: float = 1e-3, center: float = 0.5, tol: float = 1e-8,
                      max_iter: int = 200) -> RewardModel:
    """Bradley–Terry MLE over the box [0, 1] (projected Newton):

        theta_hat = argmin sum_i softplus(<theta, x_i>) - o_i <theta, x_i>
                    + (ridge / 2) ||theta - center||^2,   x_i = Phi(tau^1_i) - Phi(tau^0_i),

    Phi(tau) = one-hot (h, s, a) counts (tabular, theta = r in [0, 1]^{H S A}) or
    sum_h e_h (x) phi(s_h, a_h) (``phi`` (S, A, d) given; theta in [0, 1]^{d H},
    r_hat_h = clip(<phi, theta_h>, 0, 1)). The ridge towards ``center`` pins the coordinates
    the data do not identify (unvisited pairs, per-step shifts)."""
    S = _validate.positive_int("S", S)
    A = _validate.positive_int("A", A)
    ridge = _validate.real("ridge", ridge, lo=0.0)
    center = _validate.real("center", center, lo=0.0, hi=1.0)
    s0, a0, s1, a1, o = validate_preferences(prefs, S, A, H)
    N, H = a0.shape
    h_idx = np.arange(H)[None, :]
    cell0 = ((h_idx * S + s0[:, :H]) * A + a0).ravel()          # flat (h, s, a) indices
    cell1 = ((h_idx * S + s1[:, :H]) * A + a1).ravel()
    coverage = (np.bincount(cell0, minlength=H * S * A)
                + np.bincount(cell1, minlength=H * S * A)).reshape(H, S, A).astype(np.float64)
    if phi is None:
        rows = np.repeat(np.arange(N), H)
        X = sparse.csr_matrix((np.concatenate([np.ones(N * H), -np.ones(N * H)]),
                               (np.concatenate([rows, rows]), np.concatenate([cell1, cell0]))),
                              shape=(N, H * S * A))             # Phi(tau^1) - Phi(tau^0)
    else:
        phi = _validate.as_float_array("phi", phi)
        _validate.shape("phi", phi, expected=(S, A, None))
        d = phi.shape[2]
        F0 = np.zeros((N, H, d))
        F1 = np.zeros((N, H, d))
        kdr.linear_trajectory_features(s0, a0, phi, F0)
        kdr.linear_trajectory_features(s1, a1, phi, F1)
        X = (F1 - F0).reshape(N, -1)
    theta, nll, converged = _box_newton_logistic(X, o, ridge, center, tol, max_iter)
    if phi is None:
        theta = theta.reshape(H, S, A)
        r_hat = np.clip(theta, 0.0, 1.0)
    else:
        theta = theta.reshape(H, -1)
        r_hat = np.clip(np.einsum("sad,hd->hsa", phi, theta), 0.0, 1.0)
    return RewardModel(r_hat=r_hat, theta=theta, nll=nll, converged=converged,
                       coverage=coverage)


@dataclass(frozen=True, eq=False)
class RLHFResult:
    """Output of :func:`rlhf_pipeline`: policy (H, S, A), r_hat (H, S, A), pi_bc, lam, the reward
    model, episodes used online (0 for the exact solver)."""

    policy: np.ndarray
    r_hat: np.ndarray
    pi_bc: np.ndarray
    lam: float
    reward_model: RewardModel
    episodes: int


def rlhf_pipeline(demonstrations, env, N_RM: int, *, rng, lam: float, kappa: float = 1.0,
                  linear: bool = False, bc_ridge: float = 1e-2, solver: str = "exact",
                  episodes: int = 1000, bonus_scale: float = 1.0, c_beta: float = 0.1,
                  preferences: Preferences | None = None, ridge: float = 1e-3) -> RLHFResult:
    """Demonstration-regularized RLHF (our pipeline): BC -> N^RM preference pairs from pi^BC ->
    Bradley–Terry r_hat -> KL-regularized solving with r_hat, pi~ = pi^BC and ``lam`` (>= 0).

    ``solver="exact"``: exact soft planning on the true transitions with r_hat (isolates the
    reward-model error); ``solver="online"``: RegBPITabular / RegBPILinear with the known reward
    r_hat for ``episodes`` episodes. ``preferences`` reuses a given preference set.
    """
    rng = _validate.rng(rng)
    lam = _lam(lam)
    if solver not in ("exact", "online"):
        raise ValueError(f"solver must be 'exact' or 'online', got {solver!r}")
    fin = as_finite(env)
    S, A, H = fin.S, fin.A, fin.H
    if linear:
        if not isinstance(env, LinearMDP):
            raise TypeError(f"linear=True needs a LinearMDP env, got {type(env).__name__}")
        pi_bc = linear_behavior_cloning(demonstrations, env.phi, H=H, ridge=bc_ridge).pi
    else:
        pi_bc = behavior_cloning(demonstrations, S, A, H=H, kappa=kappa)
    prefs = collect_preferences(fin, pi_bc, N_RM, rng=rng) if preferences is None \
        else preferences
    rm = fit_bradley_terry(prefs, S, A, H=H, phi=env.phi if linear else None, ridge=ridge)
    if solver == "exact":
        _, _, pi = regularized_plan(fin.P, rm.r_hat, pi_bc, lam)
        used = 0
    else:
        if linear:
            learner = RegBPILinear(env, pi_bc, lam, K=episodes, c_beta=c_beta, reward=rm.r_hat)
        else:
            learner = RegBPITabular(S, A, H, pi_bc, lam, bonus_scale=bonus_scale,
                                    reward=rm.r_hat)
        used, _ = run_episodes(learner, fin, episodes, rng=rng, stop_on_certificate=False)
        pi = learner.policy()
    return RLHFResult(policy=pi, r_hat=rm.r_hat, pi_bc=pi_bc, lam=lam, reward_model=rm,
                      episodes=used)


def regularized_optimum(mdp, ref_policy, lam: float):
    """Exact KL-regularized optimum (lam > 0: :func:`soft_backward_induction`; lam = 0: the
    lam -> 0 limit, optimal policy with ties broken by ref). Returns (V (H+1, S), pi)."""
    fin = as_finite(mdp)
    lam = _lam(lam)
    if lam > 0:
        sol = soft_backward_induction(fin, ref_policy, lam)
        return sol.V, sol.pi
    V, _, pi = regularized_plan(fin.P, fin.r, _policy("ref_policy", ref_policy, fin.H, fin.S,
                                                      fin.A), 0.0)
    return V, pi
