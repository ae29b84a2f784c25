"""R2PVI: Robust Regularized Pessimistic Value Iteration (offline, d-rectangular RRMDP).

Paper: Tang, Liu & Xu, "Robust Offline Reinforcement Learning with Linearly Structured
f-Divergence Regularization", arXiv 2411.18612, ICML 2025 (PMLR 267:58842-58882).
Documentation: docs/papers/r2pvi.md (§2 model, §3 algorithm, §5 deviations, §6 theory); the
paper's content was read in the first author's slides (v1 numbering) and cross-checked with
the authors' code, panxulab/Robust-Regularized-Pessimistic-Value-Iteration.

Objective (d-RRMDP, docs/papers/r2pvi.md §2.2): V^{pi,lam}_h(s) = inf over factor choices mu_t of
E[sum_t r_t + lam <phi(s_t, a_t), D(mu_t || mu0_t)>]; SubOpt(pi, s, lam) = V^{*,lam}(s) -
V^{pi,lam}(s). Regularised Bellman equation: Q_h = <phi, theta_h + w_h>,
w_{h,i} = inf_mu E_mu V_{h+1} + lam D(mu || mu0_{h,i}).

Algorithm 1 (meta-algorithm) with its three instantiations, h = H-1..0 here (the paper's
h = H..1), V_hat_{H} = 0:

1. Lambda_h = sum_t phi(s^t_h, a^t_h) phi(s^t_h, a^t_h)^T + gamma I.
2. w_hat_h by divergence (ridge expectations, :mod:`mdptheory.algorithms.linear_estimation`):
   * TV (Alg. 2):  alpha = min_{s in S} V_hat_{h+1}(s) + lam; w_hat = Lambda^{-1} sum_t phi_t
     min(V_hat_{h+1}(s^t_{h+1}), alpha) (one regression);
   * KL (Alg. 3):  w_hat_i = -lam log max((Lambda^{-1} sum_t phi_t e^{-V_hat_{h+1}/lam})_i,
     e^{-H/lam}) (one regression; computed with an exact shift by min V so that small lam
     does not underflow);
   * chi2 (Alg. 4): w_hat_i = max_{alpha in [V_hat_min, V_hat_max]} E_i[V]_alpha +
     (E_i[V]_alpha)^2/(4 lam) - E_i[V^2]_alpha/(4 lam), with the ridge estimates clipped to
     [0, H] and [0, H^2], maximised EXACTLY (piecewise-quadratic breakpoint search, r2pvi.md §2.3),
     not by Nelder-Mead as in the authors' code.
3. Gamma_h(s, a) = beta sum_i phi_i(s, a) sqrt((Lambda_h^{-1})_{ii})  (d-rectangular, l1).
4. Q_hat_h = clip(<phi, theta_h + w_hat_h> - Gamma_h, 0, H - h) (0-based h; the paper's
   [0, H - h + 1]); pi_hat_h = argmax_a Q_hat_h (ties -> lowest action index), V_hat_h = max.

Defaults follow the paper (Theorem 5.2): gamma = 1 and the theory's beta (:func:`theory_beta`);
the experiments' settings are the named ``PRESETS``. The last step uses the same formulas with
V_hat_H = 0, as in Algorithm 1 (the authors' code skips the regression there and sets
w_hat = theta; for TV both give exactly theta; for KL the paper's version adds the upward ridge
bias -lam log((Lambda^{-1} sum phi)_i) >= 0, see below).

R2PVI-KL is OPTIMISTIC where the data are thin (we follow Algorithm 3 as written). With
one-hot-like coverage, a coordinate i seen in n samples at step h has the ridge estimate
(Lambda^{-1} sum phi e^{-V/lam})_i ~ n / (n + gamma) E[e^{-V/lam}], i.e. an upward bias of
about lam log(1 + gamma / n) in w_hat_i; at a coordinate the data never excite (n = 0) the
estimate is exactly 0, the clip returns e^{-H/lam}, and w_hat_i = H, the LARGEST possible value.
The penalty there is only beta sqrt(Lambda^{-1}_ii) = beta / sqrt(gamma), so it offsets the clip
only when beta >= H sqrt(gamma): the theory's beta does, the experiments' beta = 1 with
gamma = 1 does not. Example (tests/algorithms/test_r2pvi.py): on the simulated MDP with uniform
data, coordinates 1 and 2 (0-based) are never excited at step 0, and the fail state x4
(phi = e_2) gets
Q_hat_0 = H - 1 = 2 against a true regularised-robust value 0. TV and chi2 estimate 0 there
(pessimistic).

Where the authors' code departs from the paper (r2pvi.md §5) we follow the PAPER by default and
expose the code's choice behind a flag (``CODE_SETTINGS`` collects them):

* I1 ``tv_min``: "states" (paper: min over the whole state space; with a zero-value fail or
  terminal state this is 0) | "samples" (code: min over the sampled next states only).
* I2 ``penalty``: "l1" (paper) | "l2diag" (code, beta sqrt(sum_i phi_i^2 Lambda^{-1}_ii)).
* I3 chi2: ``chi2_clip`` True (paper clips the ridge estimates) | False (code);
  ``chi2_range`` "paper" ([V_hat_min, V_hat_max] over all states) | "code" ([0, H]). The
  code's sign bug (minimising the dual in the simulated-MDP file) is NOT reproduced.
* I4 ``q_clip``: "paper" ([0, H - h]) | "upper" (code: min(., H - h) only).
* Fail state: the code forces Q_hat = 0 at the fail state x4 (``zero_states=(3,)``); the
  paper does not (default: no forced states).
* ``group_next`` (ours): regressions grouped by next state (exact identity, faster);
  False keeps one column per sample.

Variance-aware TV variant (code only, UNVERIFIED whether in the paper; docs/papers/r2pvi.md §3.1):
:func:`va_r2pvi_tv` first runs R2PVI-TV, estimates sigma^2_t = max{1, clip_{[0,H^2]}(<phi_t, z2>)
- clip_{[0,H]}(<phi_t, z1>)^2} with z1, z2 the ridge fits of V_hat_{h+1} and V_hat_{h+1}^2
(unweighted Gram matrix), then re-runs the TV step with Lambda_h = sum phi phi^T / sigma^2 +
gamma I and targets divided by sigma^2. (The authors' code computes z1, z2 with gamma I in place
of the Gram matrix and from the second agent's own V; neither is reproduced.)

Per-(h, i) regularisers lam[h, i] are accepted (r2pvi.md §3); the theory's beta then uses the
smallest lam (largest beta).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..models import _validate
from . import linear_estimation as le

DIVERGENCES = ("tv", "kl", "chi2")

#: Experiment settings of the paper (docs/papers/r2pvi.md §6.1). ``simulated_linear_mdp``:
#: Simulated_Linear_MDP/main.py (beta = 1, ridge 0.1, lam = 0.1, K = 100, 20 replications);
#: ``put_option``: American_put_opt/main.py (beta = 0.1, ridge 1, lam in {1, 3, 5}).
PRESETS = {
    "simulated_linear_mdp": {"beta": 1.0, "gamma": 0.1, "lam": 0.1},
    "put_option": {"beta": 0.1, "gamma": 1.0},
}

#: The authors' code's choices where it departs from the paper (r2pvi.md §5 I1-I4 + fail state
#: handled by the caller through ``zero_states``).
CODE_SETTINGS = {"penalty": "l2diag", "tv_min": "samples", "q_clip": "upper", "chi2_clip": False,
                     "chi2_range": "code"}


def theory_beta(divergence: str, d: int, H: int, K: int, lam: float, delta: float = 0.1) -> float:
    """beta of Theorem 5.2 (v1), gamma = 1:

    TV:   16 H d sqrt(xi),  xi = 2 log(1024 H d^{1/2} K^2 / delta);
    KL:   16 d lam e^{H/lam} sqrt(H/lam + xi),  xi = log(1024 d lam^2 K^3 H / delta);
    chi2: 8 d H^2 (1 + 1/lam) sqrt(xi),  xi = log(192 K^5 H^6 d^3 (1 + H/(2 lam))^3 / delta).
    """
    div = _validate.divergence(divergence)
    d = _validate.positive_int("d", d)
    H = _validate.positive_int("H", H)
    K = _validate.positive_int("K", K)
    lam = _validate.real("lam", lam, lo=0.0, lo_open=True)
    delta = _validate.real("delta", delta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    return float(theory_beta_curve(div, d, H, K, lam, delta))


def theory_beta_curve(divergence: str, d: int, H: int, K, lam: float, delta: float = 0.1):
    """:func:`theory_beta` vectorised over K (float array, K >= 1; no validation), e.g. to
    extrapolate the bound 2 beta Phi beyond a sweep."""
    logK = np.log(np.asarray(K, dtype=np.float64))
    if divergence == "tv":
        xi = 2.0 * (np.log(1024.0 * H * np.sqrt(d) / delta) + 2.0 * logK)
        return 16.0 * H * d * np.sqrt(xi)
    if divergence == "kl":
        xi = np.log(1024.0 * d * lam ** 2 * H / delta) + 3.0 * logK
        return 16.0 * d * lam * np.exp(H / lam) * np.sqrt(np.maximum(H / lam + xi, 0.0))
    xi = (np.log(192.0) + 5 * logK + 6 * np.log(H) + 3 * np.log(d)
          + 3 * np.log1p(H / (2.0 * lam)) - np.log(delta))
    return 8.0 * d * H ** 2 * (1.0 + 1.0 / lam) * np.sqrt(xi)


def _beta(beta, divergence, fm, K, lam_arr, delta):
    if beta is None:
        return theory_beta(divergence, fm.d, fm.H, K, float(lam_arr.min()), delta)
    return _validate.real("beta", beta, lo=0.0)


def _options(penalty, tv_min, q_clip, chi2_range):
    le.choice("penalty", penalty, le.PENALTY_FORMS)
    le.choice("tv_min", tv_min, ("states", "samples"))
    le.choice("q_clip", q_clip, le.Q_CLIPS)
    le.choice("chi2_range", chi2_range, ("paper", "code"))


def regularized_next_term(divergence: str, lam, fm: le.FeatureModel, *, tv_min="states",
                          chi2_clip=True, chi2_range="paper", record=None):
    """The function (h, step, V_next) -> w_hat_h (d,) of Algorithms 2-4 (see module docstring).

    lam (H, d). ``record`` (dict, optional) collects per-step diagnostics (alpha's)."""
    div = _validate.divergence(divergence)
    v_cap = fm.value_cap

    def term(h, step, V_next):
        v = V_next[step.cols]
        if div == "tv":
            if tv_min == "states":
                v_min = float(V_next.min())
            else:
                obs = step.observed()
                v_min = float(v[obs].min()) if obs.any() else 0.0
            if record is not None:
                record.setdefault("tv_alpha", {})[h] = v_min + lam[h]
            return le.tv_regularized_estimate(step, v, lam[h], v_min)
        if div == "kl":
            return le.kl_regularized_estimate(step, v, lam[h], v_cap)
        if chi2_range == "paper":
            lo, hi = float(V_next.min()), float(V_next.max())
        else:
            lo, hi = 0.0, float(fm.H)
        w, alpha = le.chi2_regularized_estimate(step, v, lam[h], lo, hi, clip=chi2_clip,
                                                v_cap=v_cap)
        if record is not None:
            record.setdefault("chi2_alpha", {})[h] = alpha
        return w

    return term


def r2pvi(dataset, model, divergence: str, lam, *, beta=None, gamma: float = 1.0,
          delta: float = 0.1, penalty: str = "l1", tv_min: str = "states",
          q_clip: str = "paper", chi2_clip: bool = True, chi2_range: str = "paper",
          zero_states=None, group_next: bool = True, weights=None) -> le.LinearVIResult:
    """Run R2PVI (Algorithm 1 with Algorithm 2 / 3 / 4) on an offline dataset.

    Parameters
    ----------
    dataset : mdptheory.runner.online.Dataset
        K trajectories: s (K, H + 1), a (K, H), r (K, H) (r is validated, not used: the
        rewards are known through ``model``).
    model : LinearMDP or FeatureModel
        Features phi (S, A, d), known rewards and value caps.
    divergence : {"tv", "kl", "chi2"}
    lam : float or array broadcastable to (H, d)
        Regulariser lam > 0 (per [h, i] allowed).
    beta : float, optional
        Penalty scale; default the theory's :func:`theory_beta` with K = len(dataset).
    gamma : float
        Ridge parameter (> 0); 1 in Theorem 5.2.
    delta : float
        Confidence level of the theory's beta.
    penalty, tv_min, q_clip, chi2_clip, chi2_range, zero_states, group_next
        Paper (default) vs authors' code switches; see the module docstring.
    weights : array (K, H), optional
        Per-sample regression weights (used by the variance-aware variant).

    Returns
    -------
    LinearVIResult
        pi (H, S, A), Q, V (H + 1, S), w (H, d) = w_hat^lam, bonus (H, S, A) = Gamma,
        inv_diag (H, d), beta, info (divergence, lam, options, alphas).

    Raises
    ------
    TypeError, ValueError
        Bad dataset (shapes, ranges, NaN rewards), features off the simplex, lam <= 0,
        unknown divergence or option.
    """
    div = _validate.divergence(divergence)
    fm = le.feature_model(model, zero_states=zero_states)
    lam_arr = le.positive_weights("lam", lam, (fm.H, fm.d))
    _options(penalty, tv_min, q_clip, chi2_range)
    steps = le.offline_ridge_steps(dataset, fm, gamma, group_next=group_next, weights=weights)
    K = len(dataset.a) if hasattr(dataset, "a") else 1
    b = _beta(beta, div, fm, max(int(K), 1), lam_arr, delta)
    record: dict = {}
    term = regularized_next_term(div, lam_arr, fm, tv_min=tv_min, chi2_clip=chi2_clip,
                                 chi2_range=chi2_range, record=record)

    def bonus(h, step):
        return le.d_rectangular_penalty(fm.phi, step.inv_diag(), b, penalty)

    res = le.backward_pass(fm, steps, term, bonus, sign=-1.0, q_clip=q_clip)
    info = dict(algorithm=f"R2PVI-{div.upper() if div != 'chi2' else 'chi2'}", divergence=div,
                lam=lam_arr, gamma=float(gamma), penalty=penalty, tv_min=tv_min, q_clip=q_clip,
                chi2_clip=chi2_clip, chi2_range=chi2_range, K=int(K), **record)
    return dataclasses.replace(res, beta=b, info=info)


def va_r2pvi_tv(dataset, model, lam, *, beta=None, gamma: float = 1.0, delta: float = 0.1,
                penalty: str = "l1", tv_min: str = "states", q_clip: str = "paper",
                zero_states=None, group_next: bool = True) -> le.LinearVIResult:
    """Variance-aware R2PVI-TV (code only, docs/papers/r2pvi.md §3.1; see the module docstring)."""
    fm = le.feature_model(model, zero_states=zero_states)
    first = r2pvi(dataset, fm, "tv", lam, beta=beta, gamma=gamma, delta=delta, penalty=penalty,
                  tv_min=tv_min, q_clip=q_clip, group_next=group_next)
    s, a, _ = le.validate_dataset(dataset, fm)
    steps = le.offline_ridge_steps(dataset, fm, gamma, group_next=group_next)
    cap = fm.value_cap
    weights = np.ones(a.shape)
    for h in range(fm.H):
        v = first.V[h + 1][steps[h].cols]
        z = steps[h].fit(np.stack([v, v * v], axis=1))              # (d, 2)
        feats = fm.phi[s[:, h], a[:, h]]                             # (K, d)
        m1 = np.clip(feats @ z[:, 0], 0.0, cap)
        m2 = np.clip(feats @ z[:, 1], 0.0, cap * cap)
        weights[:, h] = 1.0 / np.maximum(1.0, m2 - m1 * m1)
    res = r2pvi(dataset, fm, "tv", lam, beta=first.beta, gamma=gamma, delta=delta,
                penalty=penalty, tv_min=tv_min, q_clip=q_clip, group_next=group_next,
                weights=weights)
    info = dict(res.info, algorithm="VA-R2PVI-TV", sigma2=1.0 / weights)
    return dataclasses.replace(res, info=info)


class R2PVI:
    """Offline-algorithm object for :func:`mdptheory.runner.online.offline`:
    ``fit(dataset) -> (pi, metrics)``. Keyword arguments go to :func:`r2pvi`."""

    def __init__(self, model, divergence: str, lam, **kwargs):
        self.model = le.feature_model(model)
        self.divergence = _validate.divergence(divergence)
        self.lam = lam
        self.kwargs = kwargs
        self.result: le.LinearVIResult | None = None

    @property
    def name(self) -> str:
        return {"tv": "R2PVI-TV", "kl": "R2PVI-KL", "chi2": "R2PVI-chi2"}[self.divergence]

    def fit(self, dataset):
        self.result = r2pvi(dataset, self.model, self.divergence, self.lam, **self.kwargs)
        return self.result.pi, {"beta": self.result.beta}


__all__ = [
    "CODE_SETTINGS",
    "DIVERGENCES",
    "PRESETS",
    "R2PVI",
    "r2pvi",
    "regularized_next_term",
    "theory_beta",
    "theory_beta_curve",
    "va_r2pvi_tv",
]
