"""Bounds for conservative exploration: StepMix / EpsMix (Li, Huang, Shen & Yang 2023, ICML,
arXiv 2306.06265; provenance in docs/papers/stepmix.md).

The paper's theorems could not be read: the abstract says "regret of the same order as the
constraint-free problem" and "constraint satisfied in every episode w.h.p.", and the exact
regret statement is unknown to us. What is here is ours:

* :func:`violation_probability`: the claimed probability delta that *some* episode violates
  V^{pi_k}_0(rho0) >= (1 - alpha) V^b (EpsMix: in conditional expectation). With the L1 bonus
  (B1) this follows from the good event of Weissman's inequality (our derivation, checked
  numerically in proofs_check/stepmix.py).
* :func:`ucbvi_l1_regret`: a regret bound for UCBVI with the B1 bonus, derived here with explicit
  constants (our derivation, the standard optimism argument; valid w.p. >= 1 - 2 delta at each K):

      Regret(K) <= S A H (H + 1) / 2 + H (H - 1) sqrt(2 L' S A K) + H sqrt(2 (H + 1) K ln(1/delta)),
      L' = S ln 2 + ln(S A H K_total / delta)      (0-based h; per-step counts).

  Sketch: on the good event V_bar >= V*, and V_bar_h - V^pi_h <= min(H - h, 2 b_h) +
  P(V_bar_{h+1} - V^pi_{h+1}) because |(P_hat - P) V_bar_{h+1}| <= b_h (c_b = 1); summing
  min(H - h, (H - h - 1) beta(n)) over the visits of each (h, s, a) gives
  (H - h) + 2 (H - h - 1) sqrt(2 L' N_h(s, a)), and Cauchy-Schwarz over (s, a) with
  sum N_h(s, a) = K gives the middle term; the martingale of the H + 1 transitions per episode
  (increments in [-H, H]) gives the last one (Azuma). The leading term is of order
  sqrt(H^4 S^2 A K) (B1 is an L1 set, hence the extra sqrt(S H) over the minimax
  sqrt(H^3 S A K)). :func:`ucbvi_l1_parts` splits it into its sqrt(K) and K-free parts.
* :func:`conservative_episodes` and :func:`stepmix_regret`: our sketch for EpsMix (not the
  paper's theorem; constants rate-only): with C_W = 2 L' S A H^2 (H-1)^2
  (so sqrt(C_W K) is the middle term above) and g = kappa + alpha V^b,

      N_c <~ ((3/2)^2 C_W / g^2 + 2 D / g) / alpha,   D = S A H (H + 1) / 2,
      Regret(K) <~ ucbvi_l1_regret(K) + kappa N_c,

  where N_c counts episodes with eps_k < 1 (StepMix: u_k < 1). The width V_bar - V_low of the
  optimistic policy exceeds g in those episodes and sums to at most (3/2) sqrt(C_W n) + D over
  the n of them in which pi_bar is played; EpsMix plays it with probability eps_k >= alpha.
  StepMix has no such lower bound on its mixing coefficient, so for StepMix the formula is only
  our guide to which dependences to plot. The overhead over UCBVI is K-independent, which
  is our reading of the claim "same order as unconstrained UCBVI".
  :func:`stepmix_regret_parts` splits it into the sqrt(K) part and the K-free part (which
  includes kappa N_c).
* :func:`certification_episodes`: a predicted time after which the optimal policy would be
  certified, used to pre-register the instances of the safety experiment.
"""
from __future__ import annotations

import numpy as np

from .base import register

_PAPER = ("Li, Huang, Shen & Yang (2023), Near-optimal Conservative Exploration in RL under "
          "Episode-wise Constraints (ICML)")
_COMMON = (
    "episodic MDP, H steps, S states, A actions, rewards in [0, 1] observed as means",
    "per-step counts and the L1 (B1) bonus with c_b = 1; 0-based steps",
    "initial law rho0 known; regret = sum_k V*_0(rho0) - V^{pi_k}_0(rho0) (exact)",
    "our reconstruction: the paper's theorem could not be read",
)


def l1_log_term(S, A, H, K_total, delta):
    """L' = S ln 2 + ln(S A H K / delta) of the B1 width beta(n) = sqrt(2 L' / n)."""
    return S * np.log(2.0) + np.log(S * A * H * np.asarray(K_total, dtype=np.float64) / delta)


def width_constant(S, A, H, K_total, delta):
    """C_W = 2 L' S A H^2 (H - 1)^2: sqrt(C_W K) bounds the summed B1 widths over K episodes."""
    return 2.0 * l1_log_term(S, A, H, K_total, delta) * S * A * H ** 2 * (H - 1) ** 2


@register("ucbvi_l1_regret", paper=_PAPER, theorem="UCBVI with the B1 bonus (our derivation)",
          quantity="Regret(K) of the unconstrained optimistic learner with the B1 bonus",
          variable="K", exponent=0.5, constants="rate-only", probability="w.p. >= 1 - 2 delta",
          assumptions=_COMMON + (("explicit constants derived in this module: a valid bound "
                                  "under these assumptions, but not the paper's (unknown)"),))
def ucbvi_l1_regret(S: int, A: int, H: int, K, delta: float, *, K_total=None):
    """S A H (H + 1)/2 + H (H - 1) sqrt(2 L' S A K) + H sqrt(2 (H + 1) K ln(1/delta))."""
    K = np.asarray(K, dtype=np.float64)
    K_tot = K if K_total is None else K_total
    L1 = l1_log_term(S, A, H, K_tot, delta)
    return (S * A * H * (H + 1) / 2.0 + H * (H - 1) * np.sqrt(2.0 * L1 * S * A * K)
            + H * np.sqrt(2.0 * (H + 1) * K * np.log(1.0 / delta)))


@register("stepmix_conservative_episodes", paper=_PAPER, theorem="our sketch (EpsMix)",
          quantity="N_c = number of episodes with eps_k < 1 (StepMix: u_k < 1)",
          variable="alpha", exponent=-1.0, constants="rate-only",
          probability="w.h.p., up to a martingale term",
          assumptions=_COMMON + ("EpsMix's eps_k >= alpha; applied to StepMix only as a guide",))
def conservative_episodes(S: int, A: int, H: int, K_total, delta: float, alpha, V_b, kappa):
    """((3/2)^2 C_W / g^2 + 2 D / g) / alpha with g = kappa + alpha V^b, D = S A H (H + 1)/2."""
    alpha = np.asarray(alpha, dtype=np.float64)
    g = np.asarray(kappa, dtype=np.float64) + alpha * np.asarray(V_b, dtype=np.float64)
    C_W = width_constant(S, A, H, K_total, delta)
    D = S * A * H * (H + 1) / 2.0
    return (2.25 * C_W / g ** 2 + 2.0 * D / g) / alpha


@register("stepmix_regret", paper=_PAPER, theorem="our sketch (EpsMix / StepMix)",
          quantity="Regret(K) of StepMix / EpsMix", variable="K", exponent=0.5,
          constants="rate-only", probability="w.h.p.",
          assumptions=_COMMON + ("overhead over UCBVI = kappa N_c, independent of K",))
def stepmix_regret(S: int, A: int, H: int, K, delta: float, alpha, V_b, kappa, *, K_total=None):
    """ucbvi_l1_regret(K) + kappa * conservative_episodes (capped at kappa K)."""
    K = np.asarray(K, dtype=np.float64)
    K_tot = K if K_total is None else K_total
    n_c = np.minimum(conservative_episodes(S, A, H, K_tot, delta, alpha, V_b, kappa), K)
    return ucbvi_l1_regret(S, A, H, K, delta, K_total=K_tot) + np.asarray(kappa) * n_c


def certification_episodes(occupancy, S: int, A: int, H: int, K_total, delta: float, gap):
    """Predicted number of episodes after which the optimal policy's pessimistic value clears
    the threshold: n_cert = (sum_h c_h sum_{s,a} sqrt(d*_h(s, a)))^2 / gap^2.

    ``occupancy`` (H, S, A) is the optimal policy's state-action occupancy d*_h(s, a) on the true
    model, ``gap`` = V* - theta = kappa + alpha V^b, and c_h = (H - h - 1)/2 sqrt(2 L') is the B1
    bonus coefficient (b_h = c_h / sqrt(n)). If pi* were played for n episodes, the pair (h, s, a)
    would be visited about n d*_h(s, a) times, so the pessimistic value would fall short of V* by
    about sum_{h,s,a} d*_h(s, a) c_h / sqrt(n d*_h(s, a)) = (sum_h c_h sum sqrt(d*_h)) / sqrt(n);
    certification needs that to be below ``gap``. A property of the instance, the baseline and
    alpha only (no learner is run), used to pre-register the instances of the safety experiment.
    It ignores the exploration cost of finding pi*, so real learners certify later.
    """
    d = np.asarray(occupancy, dtype=np.float64)
    if d.shape != (H, S, A):
        raise ValueError(f"occupancy must have shape {(H, S, A)}, got {d.shape}")
    gap = float(gap)
    if not gap > 0.0:
        raise ValueError(f"gap must be > 0, got {gap!r}")
    c = (H - 1 - np.arange(H)) / 2.0 * np.sqrt(2.0 * l1_log_term(S, A, H, K_total, delta))
    spread = float(np.sum(c * np.sqrt(d).sum(axis=(1, 2))))
    return (spread / gap) ** 2


def ucbvi_l1_parts(S: int, A: int, H: int, K, delta: float, *, K_total=None) -> dict:
    """The two parts of :func:`ucbvi_l1_regret`: ``leading`` (the sqrt(K) terms) and ``lower``
    (the K-free term S A H (H + 1) / 2); they sum to the bound."""
    K = np.asarray(K, dtype=np.float64)
    K_tot = K if K_total is None else K_total
    L1 = l1_log_term(S, A, H, K_tot, delta)
    lead = (H * (H - 1) * np.sqrt(2.0 * L1 * S * A * K)
            + H * np.sqrt(2.0 * (H + 1) * K * np.log(1.0 / delta)))
    return {"leading": lead, "lower": np.full_like(lead, S * A * H * (H + 1) / 2.0)}


def stepmix_regret_parts(S: int, A: int, H: int, K, delta: float, alpha, V_b, kappa, *,
                         K_total=None) -> dict:
    """The parts of :func:`stepmix_regret`: ``leading`` (the sqrt(K) terms of the UCBVI part)
    and ``lower`` (S A H (H + 1) / 2 + kappa N_c, with N_c capped at K)."""
    K = np.asarray(K, dtype=np.float64)
    K_tot = K if K_total is None else K_total
    p = ucbvi_l1_parts(S, A, H, K, delta, K_total=K_tot)
    n_c = np.minimum(conservative_episodes(S, A, H, K_tot, delta, alpha, V_b, kappa), K)
    return {"leading": p["leading"], "lower": p["lower"] + np.asarray(kappa) * n_c}


def overhead_shape(alpha, V_b, kappa):
    """1 / (alpha (kappa + alpha V^b)^2): the alpha- and kappa-dependence of the overhead."""
    alpha = np.asarray(alpha, dtype=np.float64)
    return 1.0 / (alpha * (np.asarray(kappa) + alpha * np.asarray(V_b)) ** 2)


@register("stepmix_violation_probability", paper=_PAPER,
          theorem="conservative constraint (abstract; our safety argument for B1)",
          quantity="P(some episode k has V^{pi_k}_0(rho0) < (1 - alpha) V^b)", variable="K",
          exponent=0.0, constants="paper", probability="the bound is the probability itself",
          assumptions=_COMMON + ("EpsMix: V^{pi_k} is the conditional expectation given the past",
                                 "B2 (Hoeffding) bonus: not covered"))
def violation_probability(delta: float) -> float:
    """delta: the probability that the constraint fails in at least one episode."""
    return float(delta)


__all__ = [
    "certification_episodes",
    "conservative_episodes",
    "l1_log_term",
    "overhead_shape",
    "stepmix_regret",
    "stepmix_regret_parts",
    "ucbvi_l1_parts",
    "ucbvi_l1_regret",
    "violation_probability",
    "width_constant",
]
