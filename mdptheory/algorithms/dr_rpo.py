"""DR-RPO: Distributionally Robust Regularized Policy Optimization (online, d-rectangular).

Paper: Gu, He, Liu & Xu, "Policy Regularized Distributionally Robust Markov Decision Processes
with Linear Function Approximation", arXiv 2510.14246 (Oct 2025).
Documentation: docs/papers/dr_rpo.md (and docs/papers/r2pvi.md §2-§3 for the shared machinery).

What follows the paper's ABSTRACT (verified, dr_rpo.md §1): an online, model-free policy-
optimisation method over softmax policies for d-rectangular linear robust MDPs; a reference-
policy regulariser on the policy ("doubly constrained": transitions and policy); an upper-
confidence bonus (optimism); sublinear regret. The Õ(d^2 H^2 sqrt(K)) regret is from
secondary (LLM-written) summaries, not from the paper [SECONDARY].

What is a RECONSTRUCTION (dr_rpo.md §2; every detail below is UNVERIFIED — no text or code of
the paper was available):

* Objective (policy-regularised DRMDP): V^pi_h(s) = inf_{P in U^rho} E^{pi,P}[sum_t r_t -
  tau KL(pi_t(.|s_t) || ref_t(.|s_t))], with the TV d-rectangular set of radius rho[h, i]
  (``setting="drmdp"``), or the d-RRMDP penalty lam <phi, D(mu || mu0)> in place of the set
  (``setting="rrmdp"``, divergence TV / KL / chi2). Robust Bellman equations:
  Q^pi_h = <phi, theta_h + nu^pi_h>, V^pi_h(s) = sum_a pi Q^pi_h - tau KL(pi_h(.|s) || ref_h);
  optimum V*_h(s) = tau log sum_a ref exp(Q*_h / tau), pi* ∝ ref exp(Q*/tau)
  (:func:`soft_robust_backward_induction`, exact, the ground truth of the regret).
* Critic (DR-LSVI-UCB style, optimistic): after episode k, backward h = H-1..0 over all data,
  V^k_{h+1}(s) = sum_a pi^k Q^k_{h+1} - tau KL(pi^k_{h+1} || ref) for the CURRENT policy,
  nu^k_h from the ridge TV dual (exact breakpoint search, r2pvi.md §2.3; "exact" form with alpha in
  [min_S V, max_S V] by default because the soft values may be negative, the fail-state form
  alpha in [0, H] behind ``tv_form="fail_state"``) or the R2PVI closed forms (rrmdp),
  bonus Gamma = beta sum_i phi_i sqrt(Lambda^{-1}_ii) (d-rectangular, linear in phi),
  Q^k_h = clip(<phi, theta_h + nu^k_h> + Gamma, q_lo_h, H - h) with
  q_lo_h = -tau (H - h - 1) max_s log(1/min_a ref) (the most negative soft continuation).
* Actor (``actor="mirror_descent"``, default): KL-regularised policy mirror descent
  pi^{k+1}_h ∝ (pi^k_h)^{1/(1+eta tau)} ref_h^{eta tau/(1+eta tau)} exp(eta Q^k_h/(1+eta tau)),
  pi^1 = ref; eta defaults to the OPPO tuning sqrt(2 log A / (H^2 K)). The policy is stored as
  tabular logits (H, S, A), which represents the log-linear class exactly even when the cap on
  Q binds. ``actor="soft_greedy"`` (variant B, eta = inf): soft optimistic value iteration
  V^k = tau log sum_a ref exp(Q^k/tau) and pi^k ∝ ref exp(Q^k/tau). Which variant the paper
  uses is unknown; both are here.
* Defaults (NOT from the paper): ref uniform, tau = 0.1, gamma = 1, beta = d H sqrt(log(2 d H K
  / delta)) (the Õ(dH) order of DR-LSVI-UCB's theory, constants unknown); the experiments use
  beta = 1 (the DR-LSVI-UCB notebook).

Regret (dr_rpo.md §4): Regret(K) = sum_k V*_0(rho0) - V^{pi_k}_0(rho0), both the exact policy-
regularised robust values (tau = 0 gives the DR-LSVI-UCB objective), computed by
:func:`robust_online` — a loop like :func:`mdptheory.runner.online.online` (same episode
sampling kernel and random stream layout) whose recorded value is a caller-given exact value
function instead of the nominal one. Steps are 0-based here (1-based in the paper).
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..kernels import linear as klin
from ..kernels import online as kon
from ..models import LinearMDP, _validate
from ..models.policies import validate_policy
from . import linear_estimation as le
from .baselines_linear import constrained_next_term, theory_beta_linear
from .r2pvi import regularized_next_term

SETTINGS = ("drmdp", "rrmdp")
ACTORS = ("mirror_descent", "soft_greedy")

#: The DR-LSVI-UCB notebook's settings on the simulated MDP (beta 1, ridge 0.1, rho 0.3 on
#: factor 4 at step 1), used for DR-RPO's critic in the experiments.
PRESETS = {"simulated_linear_mdp": {"beta": 1.0, "gamma": 0.1}}


# ----------------------------------------------------------------------------------------------
# exact ground truth: policy-regularised robust DP
# ----------------------------------------------------------------------------------------------
def _soft_inputs(model, divergence, param, tau, ref, regularized, name):
    if not isinstance(model, LinearMDP):
        raise TypeError(f"model must be a LinearMDP, got {type(model).__name__}")
    div = _validate.divergence_code(divergence)
    H, S, A, d = model.H, model.S, model.A, model.d
    if regularized:
        prm = le.positive_weights(name, param, (H, d))
    else:
        prm = _validate.nonnegative_array(name, param, (H, d))
    tau = _validate.real("tau", tau, lo=0.0)
    if ref is None:
        ref_arr = np.full((H, S, A), 1.0 / A)
    else:
        ref_arr = np.asarray(ref, dtype=np.float64)
        if ref_arr.ndim == 2:
            ref_arr = np.broadcast_to(ref_arr, (H, S, A))
        ref_arr = validate_policy(ref_arr, (H, S, A), "ref")
    return div, prm, tau, np.ascontiguousarray(ref_arr)


def soft_robust_backward_induction(model: LinearMDP, divergence: str, param, tau: float,
                                   ref=None, *, regularized: bool = False):
    """Exact optimum of the policy-regularised robust objective (docs/papers/dr_rpo.md §2.1).

    ``param`` is the radius rho (regularized=False) or lam (regularized=True), scalar or
    (H, d). tau = 0 gives the ordinary robust optimum (greedy policy). Returns (V (H + 1, S),
    Q (H, S, A), pi (H, S, A), nu (H, d))."""
    div, prm, tau, ref_arr = _soft_inputs(model, divergence, param, tau, ref, regularized,
                                          "lam" if regularized else "radius")
    H, S, A, d = model.H, model.S, model.A, model.d
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    nu = np.empty((H, d))
    pi = np.empty((H, S, A))
    klin.soft_robust_linear_dp(model.phi, model.mu, model.theta, ref_arr, tau, ref_arr, False,
                               div, bool(regularized), prm, V, Q, nu, pi)
    return V, Q, pi, nu


def soft_robust_evaluate_policy(model: LinearMDP, pi, divergence: str, param, tau: float,
                                ref=None, *, regularized: bool = False):
    """Exact policy-regularised robust value of pi (H, S, A): (V (H + 1, S), Q (H, S, A)).
    V_h(s) = sum_a pi Q_h - tau KL(pi_h(.|s) || ref_h(.|s)) (-inf if pi leaves supp ref)."""
    div, prm, tau, ref_arr = _soft_inputs(model, divergence, param, tau, ref, regularized,
                                          "lam" if regularized else "radius")
    H, S, A, d = model.H, model.S, model.A, model.d
    pi_arr = np.ascontiguousarray(validate_policy(np.broadcast_to(pi, (H, S, A)) if
                                                  np.ndim(pi) == 2 else pi, (H, S, A), "pi"))
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    nu = np.empty((H, d))
    klin.soft_robust_linear_dp(model.phi, model.mu, model.theta, ref_arr, tau, pi_arr, True,
                               div, bool(regularized), prm, V, Q, nu, np.empty((H, S, A)))
    return V, Q


class RobustValue:
    """Exact V^pi_0(rho0) of the policy-regularised robust objective, cached on the policy
    bytes (the evaluation kernel of :func:`robust_online`)."""

    def __init__(self, model: LinearMDP, divergence: str, param, tau: float = 0.0, ref=None,
                 *, regularized: bool = False):
        self.model = model
        self.div, self.prm, self.tau, self.ref = _soft_inputs(
            model, divergence, param, tau, ref, regularized, "lam" if regularized else "radius")
        self.regularized = bool(regularized)
        H, S, A, d = model.H, model.S, model.A, model.d
        self.V = np.zeros((H + 1, S))
        self.Q = np.empty((H, S, A))
        self.nu = np.empty((H, d))
        self.pi_opt = np.empty((H, S, A))
        klin.soft_robust_linear_dp(model.phi, model.mu, model.theta, self.ref, self.tau,
                                   self.ref, False, self.div, self.regularized, self.prm,
                                   self.V, self.Q, self.nu, self.pi_opt)
        self.optimal = float(model.rho0 @ self.V[0])
        self._last = b""
        self._last_v = np.nan
        self.evaluations = 0

    def __call__(self, pi: np.ndarray) -> float:
        key = pi.tobytes()
        if key == self._last:
            return self._last_v
        klin.soft_robust_linear_dp(self.model.phi, self.model.mu, self.model.theta, self.ref,
                                   self.tau, pi, True, self.div, self.regularized, self.prm,
                                   self.V, self.Q, self.nu, self.pi_opt)
        v = float(self.model.rho0 @ self.V[0])
        self._last, self._last_v = key, v
        self.evaluations += 1
        return v


def robust_online(learner, model: LinearMDP, K: int, value: RobustValue, *, rng,
                  checkpoints=None) -> pd.DataFrame:
    """Run ``learner`` for K episodes in the NOMINAL environment and record the exact robust
    regret sum_{j <= k} (value.optimal - value(pi_j)) at the checkpoints.

    Episodes are sampled with :func:`mdptheory.kernels.online.sample_episode` from uniforms
    drawn from ``rng`` in the block layout of :func:`mdptheory.runner.online.online` (mean
    rewards observed). Returns one row per checkpoint: k, regret, episode_regret, value,
    optimal_value, wall_time, evaluations, plus ``learner.metrics()`` if present."""
    from ..analysis.stats import log_spaced
    from ..runner.online import Episode
    K = _validate.positive_int("K", K)
    rng = _validate.rng(rng)
    fin = model.to_finite()
    H = fin.H
    P = np.ascontiguousarray(fin.P)
    r = np.ascontiguousarray(fin.r)
    rho0 = np.ascontiguousarray(fin.rho0)
    cps = log_spaced(K) if checkpoints is None else np.unique(np.asarray(checkpoints, np.int64))
    if cps.size == 0 or cps[0] < 1 or cps[-1] > K:
        raise ValueError(f"checkpoints must lie in [1, K={K}]")
    metrics = getattr(learner, "metrics", None)
    n_u = 2 * H + 1
    block = max(1, min(K, 4096))
    rows, cum, t0 = [], 0.0, time.perf_counter()
    next_i, next_cp = 0, int(cps[0])
    for k in range(1, K + 1):
        j = (k - 1) % block
        if j == 0:
            U = rng.random((min(block, K - k + 1), n_u))
        pi = np.array(learner.policy(), dtype=np.float64, order="C")
        v = value(pi)
        cum += value.optimal - v
        s_ep = np.empty(H + 1, dtype=np.int64)
        a_ep = np.empty(H, dtype=np.int64)
        r_ep = np.empty(H)
        kon.sample_episode(P, r, pi, rho0, U[j], False, s_ep, a_ep, r_ep)
        learner.update(Episode(s_ep, a_ep, r_ep))
        if k == next_cp:
            row = {"k": k, "regret": cum, "episode_regret": value.optimal - v, "value": v,
                   "optimal_value": value.optimal, "wall_time": time.perf_counter() - t0,
                   "evaluations": value.evaluations}
            if metrics is not None:
                row.update(metrics())
            rows.append(row)
            next_i += 1
            next_cp = int(cps[next_i]) if next_i < cps.size else -1
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# the learner
# ----------------------------------------------------------------------------------------------
def oppo_step_size(A: int, H: int, K: int) -> float:
    """eta = sqrt(2 log A / (H^2 K)) (OPPO tuning; Cai et al. 2020)."""
    return float(np.sqrt(2.0 * np.log(max(A, 2)) / (H * H * K)))


class DRRPO:
    """DR-RPO learner (RECONSTRUCTION, dr_rpo.md §2.2-2.3): ``policy()`` / ``update(episode)``.

    Parameters
    ----------
    model : LinearMDP or FeatureModel
        Known features phi (S, A, d) and rewards.
    param : float or array (H, d)
        TV radius rho (``setting="drmdp"``) or regulariser lam (``setting="rrmdp"``).
    K : int
        Planned number of episodes (step size and theory beta).
    tau : float
        Policy-KL weight (>= 0; soft_greedy needs > 0).
    setting : {"drmdp", "rrmdp"}
    divergence : {"tv", "kl", "chi2"}
        Transition divergence ("tv" only for drmdp).
    actor : {"mirror_descent", "soft_greedy"}
    eta : float, optional
        Mirror-descent step size (default :func:`oppo_step_size`).
    ref : array (H, S, A) or (S, A), optional
        Reference policy (default uniform).
    beta, gamma, delta, bonus, tv_form
        Critic's bonus scale (default d H sqrt(log(2dHK/delta))), ridge parameter, bonus form
        ("l1" paper / "l2diag" code), TV dual form ("exact" / "fail_state").
    """

    def __init__(self, model, param, K: int, *, tau: float = 0.1, setting: str = "drmdp",
                 divergence: str = "tv", actor: str = "mirror_descent", eta=None, ref=None,
                 beta=None, gamma: float = 1.0, delta: float = 0.1, bonus: str = "l1",
                 tv_form: str = "exact", zero_states=None):
        self.fm = le.feature_model(model, zero_states=zero_states)
        fm = self.fm
        H, S, A = fm.H, fm.S, fm.A
        self.K = _validate.positive_int("K", K)
        self.setting = le.choice("setting", setting, SETTINGS)
        self.divergence = _validate.divergence(divergence)
        if self.setting == "drmdp" and self.divergence != "tv":
            raise ValueError(f"setting 'drmdp' supports divergence 'tv' only (the DR-LSVI-UCB "
                             f"critic), got {divergence!r}")
        self.actor = le.choice("actor", actor, ACTORS)
        self.tau = _validate.real("tau", tau, lo=0.0)
        if self.actor == "soft_greedy" and self.tau <= 0:
            raise ValueError(f"actor 'soft_greedy' needs tau > 0, got tau={tau}")
        self.eta = (oppo_step_size(A, H, self.K) if eta is None
                    else _validate.real("eta", eta, lo=0.0, lo_open=True))
        if ref is None:
            ref = np.full((H, S, A), 1.0 / A)
        ref = np.asarray(ref, dtype=np.float64)
        if ref.ndim == 2:
            ref = np.broadcast_to(ref, (H, S, A))
        self.ref = validate_policy(ref, (H, S, A), "ref")
        with np.errstate(divide="ignore"):
            self.log_ref = np.log(self.ref)
        self._log_ref_finite = np.where(self.ref > 0, self.log_ref, 0.0)
        self.beta = (theory_beta_linear(fm.d, H, self.K, delta) if beta is None
                     else _validate.real("beta", beta, lo=0.0))
        self.bonus_form = le.choice("bonus", bonus, le.PENALTY_FORMS)
        if self.setting == "drmdp":
            rad = _validate.nonnegative_array("radius", param, (H, fm.d))
            self.term = constrained_next_term("tv", rad, fm, tv_form=tv_form)
        else:
            lam = le.positive_weights("lam", param, (H, fm.d))
            self.term = regularized_next_term(self.divergence, lam, fm)
        self.ridge = le.OnlineRidge(fm.phi, H, gamma)
        pos = self.ref > 0
        worst = np.where(pos, -self.log_ref, 0.0).max()              # log(1 / min ref)
        self.q_lo = -self.tau * worst * np.maximum(H - 1 - np.arange(H), 0)
        self.logits = np.where(pos, self.log_ref, -np.inf)           # pi^1 = ref
        self._pi = self.ref.copy()
        self.Q = np.zeros((H, S, A))
        self.V1 = np.nan
        self.name = "DR-RPO" if self.actor == "mirror_descent" else "DR-RPO (soft-greedy)"

    # -- critic -----------------------------------------------------------------------------
    def _state_values(self, h, Qh):
        """Soft value of Q_h (S, A) under the current actor (or the soft max for soft_greedy)."""
        if self.actor == "soft_greedy":
            z = np.where(self.ref[h] > 0, Qh / self.tau + self.log_ref[h], -np.inf)
            mx = z.max(-1, keepdims=True)
            pi = np.exp(z - mx)
            pi /= pi.sum(-1, keepdims=True)
            self._next_pi[h] = pi
            return self.tau * (mx[:, 0] + np.log(np.exp(z - mx).sum(-1)))
        pi = self._pi[h]
        v = (pi * Qh).sum(-1)
        if self.tau > 0:
            pos = pi > 0
            logpi = np.log(pi, out=np.zeros_like(pi), where=pos)
            v = v - self.tau * np.where(pos, pi * (logpi - self._log_ref_finite[h]), 0.0).sum(-1)
        return v

    def _evaluate(self):
        fm = self.fm
        H = fm.H
        V = np.zeros((H + 1, fm.S))
        self._next_pi = np.empty((H, fm.S, fm.A))
        for h in range(H - 1, -1, -1):
            step = self.ridge.step(h)
            nu = self.term(h, step, V[h + 1])
            bonus = le.d_rectangular_penalty(fm.phi, step.inv_diag(), self.beta,
                                             self.bonus_form)
            q = np.clip(fm.r[h] + fm.phi @ nu + bonus, self.q_lo[h], fm.v_max[h])
            if fm.zero_states:
                q[list(fm.zero_states)] = 0.0
            self.Q[h] = q
            V[h] = self._state_values(h, q)
        self.V1 = V[0]
        if self.actor == "soft_greedy":
            self._pi = self._next_pi

    # -- actor ------------------------------------------------------------------------------
    def _mirror_step(self):
        et = self.eta * self.tau
        logits = (self.logits + et * self.log_ref + self.eta * self.Q) / (1.0 + et)
        logits = np.where(self.ref > 0, logits, -np.inf)
        logits -= logits.max(-1, keepdims=True)
        self.logits = logits
        pi = np.exp(logits)
        self._pi = pi / pi.sum(-1, keepdims=True)

    def policy(self) -> np.ndarray:
        return self._pi

    def update(self, episode):
        self.ridge.update(episode.s, episode.a, episode.r)
        self._evaluate()          # Q^k of the current policy pi^k (soft_greedy: sets pi^{k+1})
        if self.actor == "mirror_descent":
            self._mirror_step()

    def metrics(self) -> dict:
        return {"eta": self.eta, "tau": self.tau, "beta": self.beta}


__all__ = [
    "ACTORS",
    "DRRPO",
    "PRESETS",
    "SETTINGS",
    "RobustValue",
    "oppo_step_size",
    "robust_online",
    "soft_robust_backward_induction",
    "soft_robust_evaluate_policy",
]
