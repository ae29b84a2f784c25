"""Baselines of R2PVI / DR-RPO for linear MDPs: PEVI, DRPVI, DRVI-L (offline) and DR-LSVI-UCB
(online), all on the shared ridge machinery of :mod:`mdptheory.algorithms.linear_estimation`.

Documentation: docs/papers/r2pvi.md §2.3, §3.3 (the baselines as coded by the authors
coded"), §3.3, §3.8. Steps are 0-based (h = 0..H-1; the papers use 1..H). Greedy ties go to
the lowest action index.

* PEVI — Jin, Yang & Wang (2021), "Is Pessimism Provably Efficient for Offline RL?", Alg. 2
  (linear MDP): w_h = Lambda_h^{-1} sum_t phi_t (r_t + V_{h+1}(s'_t)) (``rewards="observed"``)
  or, as every robust method here, the known reward plus the regression of V
  (``rewards="known"``, default, so that all methods see the same information);
  Gamma_h = beta sqrt(phi^T Lambda_h^{-1} phi); Q_h = clip(. - Gamma_h, 0, H - h).
  Theory: beta = c d H sqrt(zeta), zeta = log(2 d H K / xi) (Theorem 4.4); the absolute
  constant c is not known to us, c = 1 is used (rate only).
* DRPVI — Liu & Xu (2024, arXiv 2403.09621), d-rectangular TV DRMDP:
  nu_{h,i} = max_{alpha} (Lambda^{-1} sum_t phi_t min(V_{h+1}(s'_t), alpha))_i - rho_{h,i}
  (alpha - anchor), Q_h = clip(<phi, theta_h + nu_h> - Gamma_h, 0, H - h) with the
  d-rectangular penalty. The dual is maximised EXACTLY by the breakpoint search of r2pvi.md §2.3
  (the authors' code uses Nelder-Mead from H/2). ``tv_form="fail_state"`` is the papers' form
  (alpha in [0, H], anchor 0, valid under the fail-state assumption min_s V = 0);
  ``"exact"`` (default) is the TV dual without that assumption (alpha in [min_S V, max_S V],
  anchor min_S V); the two coincide whenever min_S V_{h+1} = 0 and alpha* <= H.
  Theory beta: Õ(dH), constants unknown to us: beta = d H sqrt(zeta) as for PEVI.
* DRVI-L — Ma et al. (2022), "Distributionally Robust Offline RL with Linear Function
  Approximation", KL DRMDP: nu_{h,i} = max_{beta > 0} -beta log((Lambda^{-1} sum_t phi_t
  (e^{-V/beta} - 1))_i + 1) - beta rho_{h,i} (the code's centred regression), with the
  code's floor max(1e-6, .) inside the log and the value capped at H (V <= H). beta ranges
  over [1e-7 H, 4 H max(1, rho^{-1/2})] instead of the code's [1e-6, H] (the exact maximiser
  can exceed H for small rho); rho = 0 gives the ridge mean (the beta -> inf limit). (A floor
  e^{-H/beta}, the smallest exact value, was tried and rejected: when the ridge estimate is
  not positive it returns H at small beta, a spurious optimistic maximum.) With ridge weights
  the dual objective is piecewise (a floor line, a cap line and a smooth piece that need not
  be concave) and can have several peaks; the kink where the floor line meets the smooth
  piece can lie above the plain ridge (nominal) estimate of E V. The target here is the
  maximum over the admissible range, capped at the nominal estimate, computed to 1e-10 by a
  certified branch and bound (:func:`linear_estimation.kl_constrained_estimate`), never
  Nelder-Mead; ``kl_search="grid"`` keeps the former grid + golden-section search.
* DR-LSVI-UCB — Liu & Xu (2024, AISTATS), online TV DRMDP: after each episode k, backward over
  all data, nu^k from the TV dual above, bonus Gamma = beta sum_i phi_i sqrt(Lambda^{-1}_ii)
  (paper; code: the l2diag form), Q^k_h = min(<phi, theta_h + nu^k_h> + Gamma, H - h) (and
  >= 0), greedy policy. Lambda^{-1} is kept by Sherman–Morrison updates. Theory beta:
  Õ(dH) (constants unknown to us): d H sqrt(log(2 d H K / delta)) by default; the DR-LSVI-UCB
  notebook uses beta = 1 (``PRESETS``).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..models import _validate
from . import linear_estimation as le

#: Experiment settings: simulated linear MDP (R2PVI code: beta 1, ridge 0.1; DRPVI rho on
#: factor 4 at step 1 only) and the put option (beta 0.1, ridge 1); DR-LSVI-UCB notebook
#: (beta 1, ridge 0.1, rho 0.3 on factor 4 at step 1).
PRESETS = {
    "simulated_linear_mdp": {"beta": 1.0, "gamma": 0.1},
    "put_option": {"beta": 0.1, "gamma": 1.0},
    "dr_lsvi_ucb_simulated": {"beta": 1.0, "gamma": 0.1},
}


def theory_beta_linear(d: int, H: int, K: int, delta: float = 0.1, c: float = 1.0) -> float:
    """c d H sqrt(log(2 d H K / delta)) (PEVI Theorem 4.4 with its unknown constant c = 1;
    used as the rate-only default of DRPVI, DRVI-L and DR-LSVI-UCB as well)."""
    d = _validate.positive_int("d", d)
    H = _validate.positive_int("H", H)
    K = _validate.positive_int("K", K)
    delta = _validate.real("delta", delta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    return float(c * d * H * np.sqrt(np.log(2.0 * d * H * K / delta)))


def simulated_radius(rho: float, H: int = 3, d: int = 4, *, factor: int = 3, step: int = 0):
    """Radius array (H, d) with rho only on ``factor`` at ``step`` (0-based): the DRPVI /
    DR-LSVI-UCB experimental set on the simulated MDP (rho on factor 4 at paper step 1)."""
    rho = _validate.real("rho", rho, lo=0.0)
    out = np.zeros((H, d))
    out[step, factor] = rho
    return out


def _beta(beta, fm, K, delta):
    if beta is None:
        return theory_beta_linear(fm.d, fm.H, max(int(K), 1), delta)
    return _validate.real("beta", beta, lo=0.0)


def constrained_next_term(divergence: str, radius, fm: le.FeatureModel, *,
                          tv_form: str = "exact", kl_centered: bool = True,
                          kl_search: str = "exact", record=None):
    """(h, step, V_next) -> nu_hat_h (d,) for the constrained TV (DRPVI) or KL (DRVI-L) dual.

    radius (H, d) >= 0; ``kl_search`` see :func:`linear_estimation.kl_constrained_estimate`."""
    div = _validate.divergence(divergence)
    le.choice("tv_form", tv_form, le.TV_FORMS)
    if div == "chi2":
        raise ValueError("divergence 'chi2' has no constrained linear baseline here; "
                         "expected 'tv' (DRPVI) or 'kl' (DRVI-L)")
    cap = fm.value_cap

    def term(h, step, V_next):
        v = V_next[step.cols]
        if div == "tv":
            if tv_form == "fail_state":
                lo, hi, anchor = 0.0, float(fm.H), 0.0
            else:
                lo, hi = float(V_next.min()), float(V_next.max())
                anchor = lo
            nu, alpha = le.tv_constrained_estimate(step, v, radius[h], lo, hi, anchor)
            if record is not None:
                record.setdefault("alpha", {})[h] = alpha
            return nu
        rec: dict = {}
        nu, beta = le.kl_constrained_estimate(step, v, radius[h], cap, centered=kl_centered,
                                              search=kl_search, record=rec)
        if record is not None:
            record.setdefault("dual_beta", {})[h] = beta
            record.setdefault("dual_capped", {})[h] = rec["capped"]
            record.setdefault("dual_certified", {})[h] = rec["certified"]
        return nu

    return term


def pevi(dataset, model, *, beta=None, gamma: float = 1.0, delta: float = 0.1,
         rewards: str = "known", q_clip: str = "paper", zero_states=None,
         group_next: bool = True) -> le.LinearVIResult:
    """PEVI (non-robust pessimistic LSVI) on an offline dataset; see the module docstring.

    Returns a LinearVIResult whose ``w`` is the regression of V_hat_{h+1} (plus the reward
    regression with ``rewards="observed"``)."""
    fm = le.feature_model(model, zero_states=zero_states)
    le.choice("rewards", rewards, ("known", "observed"))
    le.choice("q_clip", q_clip, le.Q_CLIPS)
    steps = le.offline_ridge_steps(dataset, fm, gamma, group_next=group_next)
    K = len(dataset.a)
    b = _beta(beta, fm, K, delta)

    def term(h, step, V_next):
        w = step.fit(V_next[step.cols])
        if rewards == "observed":
            w = w + step.solve(step.reward_sum)
        return w

    def bonus(h, step):
        return le.elliptical_bonus(fm.phi, step.inverse(), b)

    if rewards == "observed":
        fm_run = le.FeatureModel(phi=fm.phi, r=np.zeros_like(fm.r), v_max=fm.v_max,
                                 simplex=fm.simplex, zero_states=fm.zero_states,
                                 uncapped_actions=fm.uncapped_actions)
    else:
        fm_run = fm
    res = le.backward_pass(fm_run, steps, term, bonus, sign=-1.0, q_clip=q_clip)
    return dataclasses.replace(res, beta=b, info={"algorithm": "PEVI", "rewards": rewards,
                                                      "gamma": float(gamma), "K": int(K)})


def drpvi(dataset, model, radius, *, beta=None, gamma: float = 1.0, delta: float = 0.1,
          tv_form: str = "exact", penalty: str = "l1", q_clip: str = "paper",
          zero_states=None, group_next: bool = True, weights=None) -> le.LinearVIResult:
    """DRPVI (d-rectangular TV DRMDP, offline); radius scalar or (H, d) per [h, i]."""
    return _constrained("tv", "DRPVI", dataset, model, radius, beta, gamma, delta, tv_form,
                        penalty, q_clip, zero_states, group_next, True, weights)


def drvi_l(dataset, model, radius, *, beta=None, gamma: float = 1.0, delta: float = 0.1,
           penalty: str = "l1", q_clip: str = "paper", zero_states=None,
           group_next: bool = True, centered: bool = True,
           kl_search: str = "exact") -> le.LinearVIResult:
    """DRVI-L (d-rectangular KL DRMDP, offline); radius scalar or (H, d) per [h, i].
    ``kl_search``: "exact" (the capped certified maximum, default) or "grid" (the former
    grid + golden-section search), see :func:`linear_estimation.kl_constrained_estimate`."""
    return _constrained("kl", "DRVI-L", dataset, model, radius, beta, gamma, delta, "exact",
                        penalty, q_clip, zero_states, group_next, centered, None,
                        kl_search=kl_search)


def _constrained(div, name, dataset, model, radius, beta, gamma, delta, tv_form, penalty,
                 q_clip, zero_states, group_next, centered, weights, kl_search="exact"):
    fm = le.feature_model(model, zero_states=zero_states)
    rad = _validate.nonnegative_array("radius", radius, (fm.H, fm.d))
    le.choice("penalty", penalty, le.PENALTY_FORMS)
    le.choice("q_clip", q_clip, le.Q_CLIPS)
    steps = le.offline_ridge_steps(dataset, fm, gamma, group_next=group_next, weights=weights)
    K = len(dataset.a)
    b = _beta(beta, fm, K, delta)
    record: dict = {}
    term = constrained_next_term(div, rad, fm, tv_form=tv_form, kl_centered=centered,
                                 kl_search=kl_search, record=record)

    def bonus(h, step):
        return le.d_rectangular_penalty(fm.phi, step.inv_diag(), b, penalty)

    res = le.backward_pass(fm, steps, term, bonus, sign=-1.0, q_clip=q_clip)
    info = dict(algorithm=name, divergence=div, radius=rad, gamma=float(gamma),
                penalty=penalty, tv_form=tv_form, K=int(K), **record)
    return dataclasses.replace(res, beta=b, info=info)


class DRLSVIUCB:
    """DR-LSVI-UCB (online, TV d-rectangular DRMDP): ``policy()`` / ``update(episode)``.

    Parameters
    ----------
    model : LinearMDP or FeatureModel
        Known features and rewards.
    radius : float or array (H, d)
        TV radius rho (per [h, i] allowed).
    K : int
        Planned number of episodes (enters the theory's beta only).
    beta : float, optional
        Bonus scale; default :func:`theory_beta_linear` (rate-only constants).
    gamma : float
        Ridge parameter.
    bonus : {"l1", "l2diag"}
        Paper's d-rectangular bonus or the code's.
    tv_form : {"exact", "fail_state"}
    q_clip : {"paper", "upper"}
    zero_states : tuple of int
        States with Q forced to 0 (the code's fail state).
    """

    def __init__(self, model, radius, K: int, *, beta=None, gamma: float = 1.0,
                 delta: float = 0.1, bonus: str = "l1", tv_form: str = "exact",
                 q_clip: str = "paper", zero_states=None):
        self.fm = le.feature_model(model, zero_states=zero_states)
        self.radius = _validate.nonnegative_array("radius", radius, (self.fm.H, self.fm.d))
        self.K = _validate.positive_int("K", K)
        self.beta = _beta(beta, self.fm, self.K, delta)
        self.bonus_form = le.choice("bonus", bonus, le.PENALTY_FORMS)
        self.q_clip = le.choice("q_clip", q_clip, le.Q_CLIPS)
        self.ridge = le.OnlineRidge(self.fm.phi, self.fm.H, gamma)
        self.term = constrained_next_term("tv", self.radius, self.fm, tv_form=tv_form)
        self.name = "DR-LSVI-UCB"
        fm = self.fm
        self._pi = np.zeros((fm.H, fm.S, fm.A))
        self._pi[..., 0] = 1.0          # no data: Q = min(r + bonus, cap) ties -> see update
        self._plan()

    def _plan(self):
        fm = self.fm
        steps = [self.ridge.step(h) for h in range(fm.H)]

        def bonus(h, step):
            return le.d_rectangular_penalty(fm.phi, step.inv_diag(), self.beta, self.bonus_form)

        self.result = le.backward_pass(fm, steps, self.term, bonus, sign=+1.0,
                                       q_clip=self.q_clip)
        self._pi = self.result.pi

    def policy(self) -> np.ndarray:
        return self._pi

    def update(self, episode):
        self.ridge.update(episode.s, episode.a, episode.r)
        self._plan()

    def metrics(self) -> dict:
        return {"optimistic_value": float(self.result.V[0].max())}


__all__ = [
    "DRLSVIUCB",
    "PRESETS",
    "constrained_next_term",
    "drpvi",
    "drvi_l",
    "pevi",
    "simulated_radius",
    "theory_beta_linear",
]
