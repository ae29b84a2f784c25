"""StepMix and EpsMix: conservative exploration under an episode-wise constraint.

Paper: D. Li, R. Huang, C. Shen, J. Yang (2023), "Near-optimal Conservative Exploration in
Reinforcement Learning under Episode-wise Constraints", ICML 2023, PMLR 202:19527-19564
(arXiv 2306.06265). Provenance of every part: docs/papers/stepmix.md.

**This module is our reconstruction.** Only the paper's abstract could be read: StepMix mixes a
known safe baseline policy pi^b with an optimistic policy so that every episode satisfies
V^{pi_k}_1(s_1) >= (1 - alpha) V^b with probability >= 1 - delta, EpsMix randomises between
the two at the episode level, and an extension learns the baseline from offline data. The
mixture, the bonuses, the mixing rule, the search and the offline construction below are our
reading of that description (recalled from secondary sources where noted), not the paper's
verified algorithm box.

Problem. Episodic MDP, steps h = 0..H-1 here (1..H in the paper), transitions unknown,
rewards observed as means (UCBVI convention: on a visited pair r_hat = r, i.e. rewards are
known where they matter; with Bernoulli rewards no reward bonus is added and the safety
argument does not cover the reward noise). Initial law rho0 (the paper's fixed s_1 is
rho0 = delta_{s_1}); it is known to the learner. Constraint: for every episode k,
V^{pi_k}_0(rho0) >= theta := (1 - alpha) V^b with V^b = V^{pi^b}_0(rho0) known (as in prior
conservative-RL work; our assumption); for EpsMix the left side is E[V^{pi_k} | past].

Statistics and bonuses (per-step counts n_h(s, a), the engine's
:class:`~mdptheory.algorithms._common.CountStatistics`):

* ``bonus="l1"`` (B1, default): b_h(s, a) = c_b (H - h - 1)/2 beta(n_h(s, a)),
  beta(n) = sqrt((2/n)(S ln 2 + ln(S A H K / delta))) (Weissman's L1 inequality with a union
  bound over k, h, s, a). (H - h - 1) is the range of V_{h+1} (0-based steps). On the good
  event |(P_hat - P) V| <= b for *every* V with that range, so the pessimistic value below is
  a lower bound on the true value of any policy, including the data-dependent mixtures: this
  is what makes our safety argument rigorous.
* ``bonus="hoeffding"`` (B2): b_h = c_b (H - h - 1) sqrt(ln(2 S A H K / delta) / (2 n)).
  Hoeffding for a *fixed* V: enough for optimism, **not** valid uniformly over policies, so the
  safety guarantee does not cover it ("practical" runs only). An Azar-style constant
  c_b = 7 with L = ln(5 S A H K / delta) is available through ``c_b``.
* ``bonus="bernstein"`` (the Bernstein variant): the optimistic plan uses the UCBVI-BF bonus of
  Azar et al. (2017, Alg. 4) with its constants, computed inside the plan because it reads
  V_bar_{h+1} (the engine's kernel
  :func:`mdptheory.kernels.optimistic.optimistic_backward_induction_bernstein`; scaled by
  ``c_b``; stored in ``plan_bonus``); the pessimistic evaluation keeps B1, whose bound holds
  uniformly over value functions, so the safety argument is unchanged. Which bonus the paper
  uses is not known to us; the near-optimal sqrt(H^3 S A K) order of the abstract needs a
  Bernstein-type bonus, which is why this variant exists.
* Unvisited pairs: optimistic Q = the cap H - h, pessimistic Q = 0. The bonus is not clipped
  at H - h: with the value clip [0, H - h] the result is the same.

Estimates, both built on the engine's pieces:

* optimistic: the engine's UCBVI kernel
  :func:`mdptheory.kernels.optimistic.optimistic_backward_induction` with the bonus above
  (Q_bar_h = min(H - h, r_hat + P_hat V_bar_{h+1} + b), greedy policy pi_bar; ties -> fewest
  visits, then lowest index). ``monotone=True`` also takes the min with the previous Q
  (Azar et al.'s Alg. 2; our default is False);
* pessimistic value of a Markov policy pi: Q_low_h = max(0, r_hat + P_hat V_low_{h+1} - b),
  V_low_h = sum_a pi_h(a|s) Q_low_h, evaluated for a whole family of mixtures in one pass by
  :func:`mdptheory.kernels.stepmix.mixture_values` (the engine's optimistic kernel maximises
  over actions and clips unvisited pairs at the cap, so it cannot be reused with a negative
  sign: the evaluation kernel is new, and takes the sign of the bonus as a parameter).

StepMix. The executed policy of episode k is the Markov policy

    ``mixture="per_step"`` (default; recalled from secondary sources, medium confidence):
        pi^{k, rho}_h(a|s) = rho 1{a = pi_bar^k_h(s)} + (1 - rho) pi^b_h(a|s)   for all h, s;

    ``mixture="switch_step"`` (our alternative reading, unverified): with t = u H in
        [0, H], h* = floor(t), rho = t - h*: pi_bar at steps h < h*, the per-state mixture
        rho pi_bar + (1 - rho) pi^b at step h*, pi^b at steps h > h*. This is the same law of
        trajectories as "switch from pi_bar to pi^b at the random step T in {h*, h* + 1},
        T = h* + 1 with probability rho, the coin drawn at the start of the episode": only the
        action at step h* depends on the coin, and the coin is independent of s_{h*}. So it is
        a Markov policy too, and its value is linear in rho within a step (piecewise linear in
        t). The mixing coefficient reported is u = t / H.

    In both readings u in [0, 1] runs from pi^b (u = 0) to pi_bar (u = 1) and
    g_k(u) = rho0 . V_low_0 of the mixture is continuous in u. The rule (our reading of the
    abstract's "mixture that adapts between the two"):
    (1) if g_k(1) >= theta play pi_bar (u = 1, certified); (2) else u_k = the largest u with
    g_k(u) >= theta, searched on the grid {j/M} (M = ``grid`` = 64), vectorised over the grid,
    then refined inside [u_j, u_{j+1}] keeping a feasible left end; (3) if no grid point is
    feasible, play pi^b exactly (u = 0), which is safe because V^{pi^b} = V^b >= theta.
    Refinement (our choice): ``search="nested"`` (default)
    evaluates ``refine_points`` - 1 interior points of the bracket at once and recurses into the
    sub-bracket after the largest feasible one, ``refine`` times (resolution
    1 / (M refine_points^refine)); ``search="bisect"`` is a plain 30-step bisection.
    Both always return a feasible u; nested grids cost a few vectorised passes instead of 30
    scalar ones. Every search starts with one fused pass
    (:func:`mdptheory.kernels.stepmix.search_prelude`) giving g(1), g(0) and an upper bound on g
    over the whole grid. Grid pruning (``screen=True``, a pure speed-up with the same result):
    upper bounds come from the pessimistic backup that takes, state by state, the larger of the
    two endpoint mixtures of an interval (valid because each mixture's value at a state is
    linear in its weight and the backup is monotone). If the whole-grid bound is below
    theta - 1e-9 the fallback is chosen at once; otherwise one vectorised pass bounds each chunk
    of 8 consecutive grid points, chunks below theta - 1e-9 are skipped and the others evaluated
    from the top down to the first one holding a feasible point.

EpsMix. eps_k = 1 if V_low^{pi_bar}(rho0) >= theta, else
eps_k = alpha V^b / (V^b - V_low^{pi_bar}) in [alpha, 1) (the largest eps with
eps V_low^{pi_bar} + (1 - eps) V^b >= theta). A coin Z_k ~ Bernoulli(eps_k) (from the learner's
own ``rng``, drawn when the plan is made) chooses pi_bar (Z = 1) or pi^b for the whole episode.

Offline-learned baseline (our construction, unverified against the paper):
:func:`learn_baseline` turns n episodes of an unknown behaviour policy pi^beta into a baseline
pi_hat^b (behaviour cloning: empirical action frequencies per (h, s), uniform where unseen; or
``method="lcb"``: greedy in a pessimistic (VI-LCB) plan on the data) and a Monte-Carlo interval
[V_low^beta, V_high^beta] = V_hat^beta -/+ H sqrt(ln(4/delta) / (2 n)).
:meth:`StepMix.from_dataset` / :meth:`EpsMix.from_dataset` warm-start the counts with the data
and use theta = (1 - alpha) V_high^beta (so the true constraint relative to V^beta is implied)
and, the baseline's value being unknown, its pessimistic value V_low^{pi_hat^b} in place of V^b.
Playing pi_hat^b is then no longer automatically safe: an episode whose fallback is not
certified (V_low^{pi_hat^b} < theta) is played with the baseline anyway and counted in the
metric ``uncertified_episodes`` ("abstain and flag").

Exact values of the executed policies (what the experiments record). StepMix's policy (either
mixture) is Markov, so :func:`mdptheory.runner.online` evaluates it exactly. Note that the value
of the per-step mixture is a polynomial of degree <= H in rho, *not* rho V^{pi_bar} +
(1 - rho) V^b: mixing state-action distributions at every step is not mixing values. EpsMix's
episode policy is random given the past; the constrained quantity is
E[V^{pi_k} | past] = eps_k V^{pi_bar^k} + (1 - eps_k) V^b. :meth:`EpsMix.executed_mixture`
returns the weighted components and :class:`ExactValueMonitor` wraps any learner, computes that
conditional value exactly for every episode on the true model (evaluation only) and reports it
through ``metrics()``. An equivalent Markov policy exists as well (same state-action occupancy
at every step, :func:`equivalent_markov_policy`), but it does not produce the same law of whole
trajectories, so the learner plays the real coin.

Kernels and the compiled episode loop. After an episode, :meth:`StepMix.update` /
:meth:`EpsMix.update` add it to the counts, refresh the bonus, re-plan and search through numba
kernels on plain arrays (:mod:`mdptheory.kernels.stepmix_loop`: the optimistic plan, the whole
mixing-coefficient search, EpsMix's pessimistic values and eps). Both learners also offer
``compiled_episodes`` (the protocol of :mod:`mdptheory.runner.online`): many episodes in one
numba call, with the same kernels in the same order, the executed policy (a stochastic mixture
or one of the two components) evaluated exactly through the driver's cache rule, so
``online(..., compiled=True)`` gives the generic loop's table bit for bit. EpsMix's episode coins
stay in the learner's own Generator: the loop takes the next n of its uniforms (one
``rng.random(n)``, the same stream as n calls of ``rng.random()``). A subclass overriding a
per-episode method (``policy``, ``update``, ``_plan``, ...) gets ``compiled_episodes = None``
and runs in the generic loop. :class:`ExactValueMonitor` over a StepMix / EpsMix runs the
learner's compiled loop with a per-episode trace (each episode's value given the past and the
value played), and books it as its ``policy()`` does in the generic loop, bit for bit
(~7x the generic loop on the experiments' garnet); over any other learner it runs the generic
loop.

Comparison learner: :class:`SameBonusUCBVI` is UCBVI with exactly these statistics, bonus and
optimistic plan and no constraint (u = 1 always): "UCBVI with the same bonus".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import online as kon
from ..kernels import optimistic as ko
from ..kernels import stepmix as km
from ..kernels import stepmix_loop as kml
from ..kernels import ucbvi_loop as kul
from ..models import _validate
from ..models.policies import validate_policy
from ..solvers._common import as_finite
from ..solvers.finite import backward_induction, occupancy_measure
from ._common import (
    CountStatistics,
    log_term,
    policy_cache_scratch,
    require_unit_rewards,
    step_caps,
    support_lists,
)

BONUSES = ("l1", "hoeffding", "bernstein")
MIXTURES = ("per_step", "switch_step")
SEARCHES = ("nested", "bisect")
BISECT_STEPS = kml.BISECT_STEPS
CHUNK = kml.CHUNK                 # grid points per pruning chunk
SCREEN_MARGIN = kml.SCREEN_MARGIN  # covers rounding in the sums of the mixture evaluation
_NO_TRACE = np.zeros((0, 2))      # the compiled loops' "no per-episode trace"


# ----------------------------------------------------------------------------- formulas

def l1_width(n, S: int, A: int, H: int, K: int, delta: float):
    """beta(n) = sqrt((2 / n) (S ln 2 + ln(S A H K / delta))) (B1); +inf at n = 0."""
    n = np.asarray(n, dtype=np.float64)
    L1 = S * np.log(2.0) + np.log(S * A * H * K / delta)
    with np.errstate(divide="ignore"):
        return np.where(n > 0, np.sqrt(2.0 * L1 / np.maximum(n, 1.0)), np.inf)


def bonus_coefficients(S: int, A: int, H: int, K: int, delta: float, bonus: str = "l1",
                       c_b: float = 1.0) -> np.ndarray:
    """coef (H,) with b_h(s, a) = coef[h] / sqrt(n_h(s, a)) (0-based h).

    B1 ("l1"): c_b (H - h - 1)/2 sqrt(2 (S ln 2 + ln(S A H K / delta)));
    B2 ("hoeffding"): c_b (H - h - 1) sqrt(ln(2 S A H K / delta) / 2);
    "bernstein": the B1 coefficients (they serve the pessimistic evaluation; the optimistic
    plan's Bernstein bonus depends on V_{h+1} and is computed during the plan).
    """
    rng_h = (H - 1 - np.arange(H)).astype(np.float64)          # range of V_{h+1}
    if bonus in ("l1", "bernstein"):
        return c_b * rng_h / 2.0 * np.sqrt(2.0 * (S * np.log(2.0) + np.log(S * A * H * K / delta)))
    if bonus == "hoeffding":
        return c_b * rng_h * np.sqrt(np.log(2.0 * S * A * H * K / delta) / 2.0)
    raise ValueError(f"bonus must be one of {BONUSES}, got {bonus!r}")


def mixture_weights(u, H: int, mixture: str = "per_step") -> np.ndarray:
    """W (H, M): probability of the optimistic action at step h for mixing coefficient u[m].

    per_step: W[h, m] = u[m]; switch_step: W[h, m] = clip(u[m] H - h, 0, 1).
    """
    u = np.atleast_1d(np.asarray(u, dtype=np.float64))
    if mixture == "per_step":
        return np.ascontiguousarray(np.broadcast_to(u[None, :], (H, u.size)))
    if mixture == "switch_step":
        return np.clip(u[None, :] * H - np.arange(H, dtype=np.float64)[:, None], 0.0, 1.0)
    raise ValueError(f"mixture must be one of {MIXTURES}, got {mixture!r}")


def epsmix_epsilon(lower_optimistic: float, baseline_value: float, threshold: float,
                   alpha: float | None = None) -> float:
    """eps = 1 if V_low^{pi_bar} >= theta, else (V^b - theta) / (V^b - V_low^{pi_bar}) clipped to
    [0, 1] (EpsMix). With ``alpha`` (known V^b, theta = (1 - alpha) V^b) it is computed as
    alpha / (1 - V_low / V^b), which is >= alpha also in floating point."""
    if lower_optimistic >= threshold:
        return 1.0
    if baseline_value <= threshold:
        return 0.0
    if alpha is not None:
        return float(min(1.0, alpha / (1.0 - max(lower_optimistic, 0.0) / baseline_value)))
    return float(min(1.0, max(0.0, (baseline_value - threshold)
                              / (baseline_value - lower_optimistic))))


def _rho0(rho0, S: int) -> np.ndarray:
    if isinstance(rho0, (int, np.integer)) and not isinstance(rho0, bool):
        if not 0 <= int(rho0) < S:
            raise ValueError(f"rho0 (the initial state s_1) is {rho0}, expected a state in "
                             f"[0, {S - 1}]")
        out = np.zeros(S)
        out[int(rho0)] = 1.0
        return out
    arr = _validate.as_float_array("rho0", rho0)
    _validate.shape("rho0", arr, expected=(S,))
    _validate.simplex("rho0", arr)
    return arr


def _baseline(pi_b, H: int, S: int, A: int, name: str = "pi_b") -> np.ndarray:
    arr = _validate.as_float_array(name, pi_b)
    if arr.ndim == 2:
        arr = np.broadcast_to(arr, (H,) + arr.shape)
    return np.ascontiguousarray(validate_policy(arr, (H, S, A), name=name))


# ----------------------------------------------------------------------------- learners

class _Optimistic:
    """Counts, bonus, optimistic plan and confidence evaluation shared by the learners."""

    def check_model(self, mdp) -> None:
        """Called by the runners before the first episode: the regret and conservative-
        constraint guarantees (Li et al. 2023, abstract; our reconstruction) assume rewards in
        [0, 1]."""
        require_unit_rewards(mdp, type(self).__name__,
                             "Li et al. 2023, regret and conservative-constraint theorems")

    def __init__(self, S, A, H, K, *, rho0, delta=0.05, bonus="l1", c_b=1.0, monotone=False):
        self.S = S = _validate.positive_int("S", S)
        self.A = A = _validate.positive_int("A", A)
        self.H = H = _validate.positive_int("H", H)
        self.K = K = _validate.positive_int("K", K)
        self.delta = _validate.real("delta", delta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        if not isinstance(bonus, str) or bonus.lower() not in BONUSES:
            raise ValueError(f"bonus must be one of {BONUSES}, got {bonus!r}")
        self.bonus = bonus.lower()
        self.c_b = _validate.real("c_b", c_b, lo=0.0)
        self.monotone = bool(monotone)
        self.rho0 = _rho0(rho0, S)
        self.stats = CountStatistics(S, A, H, pooled=False)
        self.coef = bonus_coefficients(S, A, H, K, self.delta, self.bonus, self.c_b)
        self.bonus_values = np.zeros((H, S, A))                  # b_h(s, a) on visited pairs
        self._consts = np.zeros(5)       # [-, H, L, c_corr, c_b] of the Bernstein plan
        if self.bonus == "bernstein":
            # UCBVI-BF constants (Azar et al. 2017, Alg. 4): L = ln(5 S A T / delta), T = K H
            self.L_bernstein = log_term(S, A, K * H, self.delta)
            self.c_corr = 100.0 ** 2 * H ** 3 * S ** 2 * A * self.L_bernstein ** 2
            self.plan_bonus = np.zeros_like(self.bonus_values)   # bonus of the optimistic plan
            self._consts[1:] = (float(H), self.L_bernstein, self.c_corr, self.c_b)
        else:
            self.plan_bonus = self.bonus_values
        self.v_max = step_caps(H)                                # H - h
        self.Q = np.broadcast_to(self.v_max[:, None, None], (H, S, A)).copy()  # Q_bar[h, s, a]
        self.V = np.zeros((H + 1, S))                                           # V_bar[h, s]
        self.act = np.zeros((H, S), dtype=np.int64)              # pi_bar as actions
        self._work: dict[int, tuple] = {}
        self.episodes = 0
        st = self.stats
        self._stats_tuple = (st.n_sa, st.n_sas, st.r_sum, st.n_s, st.P_hat, st.r_hat, st.succ,
                             st.n_succ)
        self._plan_tuple = (self.bonus_values, self.plan_bonus, self.coef, self.v_max, self.Q,
                            self.V, self.act)
        self._replan_work = kul.plan_workspace(H, S, A)
        self._added = None          # the episode added since the last plan (incremental plan)

    # -- statistics and planning
    def _add(self, episode) -> None:
        self.stats.add(episode)
        km.refresh_bonus(episode.s, episode.a, self.stats.n_sa, self.coef, self.bonus_values)
        self._added = episode

    def _optimistic_plan(self) -> int:
        """Re-plan optimistically; returns how many greedy actions changed. After one episode
        (:meth:`_add`) the plan is incremental (:func:`mdptheory.kernels.stepmix_loop.replan`,
        the compiled loop's; bit for bit the full plan), otherwise the full backward induction
        (:func:`mdptheory.kernels.stepmix_loop.optimistic_plan`)."""
        ep, self._added = self._added, None
        if ep is not None:
            return kml.replan(ep.s, ep.a, self._stats_tuple, self._plan_tuple, self._consts,
                              self.bonus == "bernstein", self.monotone, self._replan_work)
        return kml.optimistic_plan(self._stats_tuple, self._plan_tuple, self._consts,
                                   self.bonus == "bernstein", self.monotone)

    def _values(self, W, sign=-1.0, pi_b=None, W_hi=None) -> np.ndarray:
        """rho0 . V_0 under the signed bonus of each mixture column of W (H, M); with ``W_hi``
        an upper bound over the mixtures with weights between W and W_hi (see the kernel)."""
        W = np.ascontiguousarray(W, dtype=np.float64)
        W_hi = W if W_hi is None else np.ascontiguousarray(W_hi, dtype=np.float64)
        M = W.shape[1]
        work = self._work.get(M)
        if work is None:
            work = (np.empty((self.S, M)), np.empty((self.S, M)), np.empty(M), np.empty(M),
                    np.empty(M))
            self._work[M] = work
        out = np.empty(M)
        st = self.stats
        km.mixture_values(st.P_hat, st.r_hat, st.n_sa, st.succ, st.n_succ, self.bonus_values,
                          self.v_max, float(sign), self.act,
                          self.pi_b if pi_b is None else pi_b, W, W_hi, self.rho0, *work, out)
        return out

    def confidence_value(self, pi, sign: int = -1) -> float:
        """rho0 . V_0 of a Markov policy pi (H, S, A) under the current statistics:
        pessimistic (sign = -1) or upper-confidence (sign = +1) evaluation."""
        pi = _baseline(pi, self.H, self.S, self.A, name="pi")
        if sign not in (-1, 1):
            raise ValueError(f"sign must be -1 (pessimistic) or +1 (optimistic), got {sign!r}")
        return float(self._values(np.zeros((self.H, 1)), sign, pi_b=pi)[0])

    def optimistic_policy(self) -> np.ndarray:
        """pi_bar (H, S, A), one-hot, greedy in the current optimistic Q."""
        pi = np.zeros((self.H, self.S, self.A))
        ko.one_hot(self.act, self.A, pi)
        return pi

    def upper_value(self) -> float:
        """rho0 . V_bar_0 (the optimistic value of pi_bar)."""
        return float(self.rho0 @ self.V[0])

    def warm_start(self, dataset) -> None:
        """Add prior episodes (``s`` (N, H + 1), ``a``, ``r`` (N, H)) and re-plan. Not part of
        the online algorithm except for the offline-baseline variant."""
        self.stats.add_dataset(dataset)
        km.fill_bonus(self.stats.n_sa, self.coef, self.bonus_values)
        self._added = None                       # many episodes: the full plan
        self._plan()

    def hyperparameters(self) -> dict:
        return {"bonus": self.bonus, "c_b": self.c_b, "delta": self.delta,
                "monotone": self.monotone}


class SameBonusUCBVI(_Optimistic):
    """UCBVI with StepMix's statistics, bonus and optimistic plan, and no constraint.

    The "UCBVI (same bonus, unconstrained)" comparison learner of our experiments: plays pi_bar in
    every episode. Parameters as :class:`StepMix` (no baseline, no alpha).
    """

    name = "UCBVI"

    def __init__(self, S, A, H, K, *, rho0, delta=0.05, bonus="l1", c_b=1.0, monotone=False):
        super().__init__(S, A, H, K, rho0=rho0, delta=delta, bonus=bonus, c_b=c_b,
                         monotone=monotone)
        self._pi = np.zeros((H, S, A))
        self._plan()

    def _plan(self) -> None:
        old = self.act.copy()
        self._optimistic_plan()
        if self.episodes == 0 or not np.array_equal(old, self.act):
            pi = np.empty((self.H, self.S, self.A))
            ko.one_hot(self.act, self.A, pi)
            self._pi = pi

    def policy(self) -> np.ndarray:
        return self._pi

    def update(self, episode) -> None:
        self._add(episode)
        self._plan()
        self.episodes += 1

    def metrics(self) -> dict:
        return {"upper_value": self.upper_value()}


class _Conservative(_Optimistic):
    """Baseline, threshold and bookkeeping of StepMix / EpsMix."""

    def __init__(self, S, A, H, K, pi_b, V_b, alpha, *, rho0, delta=0.05, bonus="l1",
                 c_b=1.0, monotone=False, threshold=None):
        super().__init__(S, A, H, K, rho0=rho0, delta=delta, bonus=bonus, c_b=c_b,
                         monotone=monotone)
        self.alpha = _validate.real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        self.pi_b = _baseline(pi_b, self.H, self.S, self.A)
        if V_b is None:
            if threshold is None:
                raise ValueError("V_b is None (baseline value unknown): give threshold, e.g. "
                                 "(1 - alpha) times an upper confidence bound on V^b")
            self.V_b = None
        else:
            V_b = _validate.real("V_b", V_b, lo=0.0)
            if V_b > self.H + 1e-9:                  # (rounding above H is tolerated)
                raise ValueError(f"V_b must be <= {float(self.H)}, got {V_b}")
            self.V_b = min(V_b, float(self.H))
        self.threshold = (_validate.real("threshold", threshold, lo=0.0, hi=float(self.H))
                          if threshold is not None else (1.0 - self.alpha) * self.V_b)
        self.baseline_info = None
        self.conservative_episodes = 0      # episodes played with u < 1 (eps < 1)
        self.baseline_episodes = 0          # episodes where the fallback (pure pi^b) was chosen
        self.uncertified_episodes = 0       # fallback played without a certificate (V_b unknown)

    @property
    def baseline_known(self) -> bool:
        return self.V_b is not None

    def hyperparameters(self) -> dict:
        d = super().hyperparameters()
        d.update(alpha=self.alpha, threshold=self.threshold, V_b=self.V_b,
                 baseline_known=self.baseline_known)
        return d

    @classmethod
    def from_dataset(cls, dataset, S: int, A: int, K: int, alpha: float, *, rho0,
                     delta: float = 0.05, baseline: str = "bc", **kwargs):
        """The offline-learned-baseline variant (our construction): baseline and threshold from
        ``dataset`` (n episodes of an unknown behaviour policy), counts warm-started with it.

        theta = (1 - alpha) V_high^beta; the baseline's value is unknown to the learner (its
        pessimistic value is used); ``learner.baseline_info`` holds the :class:`OfflineBaseline`.
        """
        H = int(np.asarray(dataset.a).shape[1])
        alpha = _validate.real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        base = learn_baseline(dataset, S, A, delta=delta, method=baseline)
        learner = cls(S, A, H, K, base.pi_b, None, alpha, rho0=rho0, delta=delta,
                      threshold=min((1.0 - alpha) * base.V_high, float(H)), **kwargs)
        learner.baseline_info = base
        learner.warm_start(dataset)
        return learner

    # -- compiled episode loop (mdptheory.runner.online, "Compiled episode loops")
    # The methods a compiled loop stands in for: a subclass overriding any of them (e.g. to
    # observe every plan) keeps the generic loop, where they are called.
    _LOOP_METHODS = ("policy", "update", "_plan", "_search", "_book", "_add",
                     "_optimistic_plan", "executed_mixture", "upper_value")

    @property
    def compiled_episodes(self):
        """The compiled episode loop (bound method), or None when it cannot stand in for the
        generic one: a subclass overrides one of the per-episode methods it replaces. The
        online driver then falls back to the generic loop (``compiled=None``) or refuses
        (``compiled=True``)."""
        base = EpsMix if isinstance(self, EpsMix) else StepMix
        for name in self._LOOP_METHODS:
            if getattr(type(self), name, None) is not getattr(base, name, None):
                return None
        return self._compiled_episodes

    def _loop_scratch(self, tally):
        """Scratch of the compiled loop: the kinds and stochastic keys of the driver's cache
        slots (sized by the tally), an action table, one episode, V_bar_0 of the last one."""
        ev = policy_cache_scratch(self, tally)
        episode = (np.empty(self.H + 1, dtype=np.int64), np.empty(self.H, dtype=np.int64),
                   np.empty(self.H))
        return ev, episode, np.zeros(self.S)


class StepMix(_Conservative):
    """StepMix (our reconstruction): per-step mixture of the optimistic and the baseline policy
    with the largest mixing coefficient whose pessimistic value clears (1 - alpha) V^b.

    Reconstruction; see the module docstring (the switch-step reading is behind
    ``mixture="switch_step"``).

    Parameters
    ----------
    S, A, H : int
        States, actions, horizon.
    K : int
        Number of episodes (enters the confidence widths through ln(S A H K / delta)).
    pi_b : ndarray of shape (H, S, A) or (S, A)
        Baseline policy (rows are probability vectors).
    V_b : float or None
        Its value V^{pi_b}_0(rho0), known to the learner (our assumption). None: unknown; then
        ``threshold`` must be given and the fallback is certified only by the pessimistic value.
    alpha : float in (0, 1)
        Allowed fraction of V^b that may be lost: the constraint is V^{pi_k} >= (1 - alpha) V^b.
    rho0 : int or ndarray of shape (S,)
        Initial state s_1 or initial distribution (known).
    delta : float in (0, 1)
        Failure probability of the confidence sets (default 0.05).
    bonus : {"l1", "hoeffding", "bernstein"}
        B1 (default; the safety proof needs it), B2 (practical; not uniformly valid) or the
        Bernstein variant (UCBVI-BF bonus in the optimistic plan, B1 in the pessimistic check).
    c_b : float
        Bonus multiplier (1 = B1 as derived in the module docstring).
    mixture : {"per_step", "switch_step"}
        The mixture family (module docstring).
    grid : int
        M, the number of grid intervals of the search (>= 2; default 64).
    search : {"nested", "bisect"}
        Refinement of the bracket after the grid (module docstring).
    refine, refine_points : int
        Nested refinement: levels and points per level (default 3 and 8).
    monotone : bool
        Min with the previous optimistic Q (default False).
    threshold : float, optional
        theta; default (1 - alpha) V_b.
    screen : bool
        Prune the grid: an upper bound on g over each chunk of 8 consecutive grid points
        (:func:`mdptheory.kernels.stepmix.mixture_values` with interval weights; all chunks in
        one vectorised pass) below theta - 1e-9 proves the chunk infeasible, and chunks are
        evaluated from the top down to the first feasible one. The chosen u is the same as with
        the whole grid evaluated (a speed-up only; ``screen=False`` evaluates every point).

    Raises
    ------
    ValueError
        alpha outside (0, 1), pi_b not a policy of shape (H, S, A) with probability rows, K (or
        S, A, H) < 1, delta outside (0, 1), V_b outside [0, H], unknown bonus / mixture / search,
        grid < 2.
    """

    def __init__(self, S, A, H, K, pi_b, V_b, alpha, *, rho0, delta=0.05, bonus="l1", c_b=1.0,
                 mixture="per_step", grid=64, search="nested", refine=3, refine_points=8,
                 monotone=False, threshold=None, screen=True):
        super().__init__(S, A, H, K, pi_b, V_b, alpha, rho0=rho0, delta=delta, bonus=bonus,
                         c_b=c_b, monotone=monotone, threshold=threshold)
        if mixture not in MIXTURES:
            raise ValueError(f"mixture must be one of {MIXTURES}, got {mixture!r}")
        if search not in SEARCHES:
            raise ValueError(f"search must be one of {SEARCHES}, got {search!r}")
        self.mixture = mixture
        self.search = search
        self.grid = _validate.positive_int("grid", grid)
        if self.grid < 2:
            raise ValueError(f"grid must be >= 2, got {grid}")
        self.refine = int(refine)
        if self.refine < 0:
            raise ValueError(f"refine must be >= 0, got {refine}")
        self.refine_points = _validate.positive_int("refine_points", refine_points)
        if self.refine_points < 2:
            raise ValueError(f"refine_points must be >= 2, got {refine_points}")
        self._grid_u = np.arange(self.grid, dtype=np.float64) / self.grid   # 0 .. (M-1)/M
        self._W_grid = mixture_weights(self._grid_u, self.H, self.mixture)
        self.screen = bool(screen)
        self._chunks = []                     # (grid indices, their weights (H, n))
        for c0 in range(0, self.grid, CHUNK):
            idx = np.arange(c0, min(c0 + CHUNK, self.grid))
            self._chunks.append((idx, np.ascontiguousarray(self._W_grid[:, idx])))
        self._W_chunk_lo = np.ascontiguousarray(
            mixture_weights([self._grid_u[i[0]] for i, _ in self._chunks], self.H, self.mixture))
        self._W_chunk_hi = np.ascontiguousarray(
            mixture_weights([self._grid_u[i[-1]] for i, _ in self._chunks], self.H, self.mixture))
        self._w_top = np.ascontiguousarray(mixture_weights(self._grid_u[-1], self.H,
                                                           self.mixture)[:, 0])
        Mw = max(self.grid, self.refine_points, len(self._chunks), 2)
        self._search_work = (np.empty((self.S, 3)), np.empty((self.S, 3)),
                             np.empty((self.S, Mw)), np.empty((self.S, Mw)), np.empty(Mw),
                             np.empty(Mw), np.empty(Mw), np.empty(Mw), np.empty(Mw),
                             np.zeros((self.H, Mw)), np.empty(Mw))
        self._grid_tuple = (self._grid_u, np.ascontiguousarray(self._W_grid), self._W_chunk_lo,
                            self._W_chunk_hi, self._w_top)
        self._sparams = np.array([CHUNK, self.mixture == "switch_step", self.screen,
                                  self.search == "bisect", self.refine, self.refine_points,
                                  self.baseline_known], dtype=np.int64)
        self._counters = np.zeros(2, dtype=np.int64)   # [screened, grid evaluations]
        self._w = np.empty(self.H)
        self._pi = np.empty((self.H, self.S, self.A))
        self.u = 0.0                  # mixing coefficient of the next episode
        self.lower = 0.0              # its pessimistic value g(u)
        self.status = "baseline"
        self._played = None
        self._u_sum = 0.0
        self._plan()

    @property
    def name(self) -> str:
        return "StepMix" if self.mixture == "per_step" else "StepMix-switch"

    def hyperparameters(self) -> dict:
        d = super().hyperparameters()
        d.update(mixture=self.mixture, grid=self.grid, search=self.search, refine=self.refine,
                 refine_points=self.refine_points)
        return d

    def lower_values(self, u) -> np.ndarray:
        """g_k(u) = rho0 . V_low_0 of the mixture with coefficient u (array), current plan."""
        return self._values(mixture_weights(u, self.H, self.mixture))

    @property
    def screened(self) -> int:
        """Searches where the whole grid was pruned at once."""
        return int(self._counters[0])

    @property
    def grid_evaluations(self) -> int:
        """Grid points evaluated so far (cost counter)."""
        return int(self._counters[1])

    def _search(self):
        """(u, g(u), status) by the rule of the module docstring, in one kernel call
        (:func:`mdptheory.kernels.stepmix_loop.stepmix_search`, also the compiled loop's)."""
        u, g, code = kml.stepmix_search(self._stats_tuple, self._plan_tuple, self.pi_b,
                                        self.rho0, float(self.threshold), self._grid_tuple,
                                        self._sparams, self._search_work, self._counters)
        return float(u), float(g), kml.STATUSES[code]

    def _plan(self) -> None:
        self._optimistic_plan()
        self.u, self.lower, self.status = self._search()
        if self.u == 0.0:
            self._pi = self.pi_b            # the mixture at u = 0 is pi^b, bit for bit
            return
        pi = np.empty((self.H, self.S, self.A))
        kml.stepmix_policy(self.act, self.pi_b, self.u, self.mixture == "switch_step", self._w,
                           pi)
        self._pi = pi

    def policy(self) -> np.ndarray:
        """Markov policy pi[h, s, a] of the next episode (the mixture with coefficient u)."""
        return self._pi

    def executed_mixture(self):
        """((1.0, pi),): the next episode's policy is Markov and not randomised further."""
        return ((1.0, self._pi),)

    def update(self, episode) -> None:
        """Book the episode just played, add its counts, re-plan and search the next u."""
        self._book()
        self._add(episode)
        self._plan()
        self.episodes += 1

    def _compiled_episodes(self, truth, tally, U, bernoulli_rewards: bool,
                           trace=None) -> None:
        """Run U.shape[0] episodes in one compiled call
        (:func:`mdptheory.kernels.stepmix_loop.stepmix_episodes`): the kernels of
        :meth:`update` in the same order; the Python state is synced afterwards. ``trace``
        (n, 2), optional, receives each episode's exact value (given the past, as played; see
        :class:`ExactValueMonitor`)."""
        n = U.shape[0]
        if n == 0:
            return
        trace = _NO_TRACE if trace is None else trace
        evals, episode, V0_last = self._loop_scratch(tally)
        code = kml.STATUSES.index(self.status)
        fstate = np.array([self.u, self.lower, self._u_sum, 0.0, 0.0])
        istate = np.array([code, self.episodes, self.conservative_episodes,
                           self.baseline_episodes, self.uncertified_episodes, 0, 0],
                          dtype=np.int64)
        pi = np.ascontiguousarray(self._pi, dtype=np.float64).copy()
        kml.stepmix_episodes(truth, tally, U, bool(bernoulli_rewards), self._stats_tuple,
                             self._plan_tuple, self._consts, self.bonus == "bernstein",
                             self.monotone, self._replan_work, self.pi_b, self.rho0,
                             float(self.threshold),
                             self._grid_tuple, self._sparams, self._search_work,
                             self._counters, evals, pi, self._w, fstate, istate, episode,
                             V0_last, trace)
        self._played = {"rho": float(fstate[3]), "lower_value": float(fstate[4]),
                        "upper_value": float(self.rho0 @ V0_last),
                        "status": kml.STATUSES[int(istate[5])]}
        self.u, self.lower = float(fstate[0]), float(fstate[1])
        self._u_sum = float(fstate[2])
        self.status = kml.STATUSES[int(istate[0])]
        (self.episodes, self.conservative_episodes, self.baseline_episodes,
         self.uncertified_episodes) = (int(x) for x in istate[1:5])
        self._pi = self.pi_b if self.u == 0.0 else pi

    def _book(self) -> None:
        self._played = {"rho": self.u, "lower_value": self.lower, "upper_value": self.upper_value(),
                            "status": self.status}
        self._u_sum += self.u
        if self.u < 1.0:
            self.conservative_episodes += 1
        if self.status in ("baseline", "uncertified"):
            self.baseline_episodes += 1
        if self.status == "uncertified":
            self.uncertified_episodes += 1

    def metrics(self) -> dict:
        """Columns for the online driver, about the episode just played: its mixing
        coefficient ``rho`` (u), pessimistic value ``lower_value`` = g(u), the optimistic value
        ``upper_value``; counts so far of conservative (u < 1), baseline-fallback and
        uncertified episodes; the running mean of u; the threshold."""
        p = self._played or {"rho": self.u, "lower_value": self.lower,
                                 "upper_value": self.upper_value(), "status": self.status}
        return {"rho": p["rho"], "lower_value": p["lower_value"],
                "upper_value": p["upper_value"],
                "conservative_episodes": self.conservative_episodes,
                "baseline_episodes": self.baseline_episodes,
                "uncertified_episodes": self.uncertified_episodes,
                "rho_mean": self._u_sum / max(self.episodes, 1), "threshold": self.threshold}

    def __repr__(self) -> str:
        return (f"{self.name}(S={self.S}, A={self.A}, H={self.H}, K={self.K}, "
                f"alpha={self.alpha}, bonus={self.bonus!r}, mixture={self.mixture!r})")


class EpsMix(_Conservative):
    """EpsMix (our reconstruction): play the optimistic policy for the whole episode with prob.
    eps_k = alpha V^b / (V^b - V_low^{pi_bar}) (1 when certified), the baseline otherwise.

    Reconstruction; see the module docstring. Parameters as :class:`StepMix` (no mixture or
    search), plus ``rng`` (Generator or seed) for the episode coin Z_k ~ Bernoulli(eps_k).
    With ``V_b=None`` the baseline's contribution is its pessimistic value (our construction;
    see the module docstring) and eps = 0 with the episode counted as uncertified when that is
    below theta.
    """

    name = "EpsMix"

    def __init__(self, S, A, H, K, pi_b, V_b, alpha, *, rho0, delta=0.05, bonus="l1", c_b=1.0,
                 monotone=False, threshold=None, rng=0):
        super().__init__(S, A, H, K, pi_b, V_b, alpha, rho0=rho0, delta=delta, bonus=bonus,
                         c_b=c_b, monotone=monotone, threshold=threshold)
        self.rng = _validate.rng(rng)
        self._W = np.zeros((self.H, 2))
        self._W[:, 0] = 1.0                      # column 0: pi_bar, column 1: pi^b
        self._W_bar = np.ones((self.H, 1))
        self._pi_bar = np.zeros((self.H, self.S, self.A))
        self._act_key = None
        self.eps = 0.0
        self.Z = 0
        self.lower = 0.0
        self.lower_baseline = None
        self.certified = True
        self.optimistic_episodes = 0
        self._played = None
        self._eps_sum = 0.0
        # eps in the form alpha / (1 - V_low / V^b) when theta = (1 - alpha) V^b is known
        self._use_alpha = bool(self.baseline_known
                               and self.threshold == (1.0 - self.alpha) * self.V_b)
        self._eps_params = np.array([self.threshold, self.V_b if self.baseline_known else 0.0,
                                     self.alpha])
        self._W_eval = self._W_bar if self.baseline_known else self._W
        self._eps_work = (None, None, np.empty((self.S, 2)), np.empty((self.S, 2)),
                          np.empty(2), np.empty(2), np.empty(2), np.empty(2), None, None, None)
        self._plan()

    def _plan(self) -> None:
        self._optimistic_plan()
        # pessimistic values and eps (the kernel the compiled loop calls; epsmix_epsilon's rule)
        lower, lb, eps, certified = kml.epsmix_lower(
            self._stats_tuple, self._plan_tuple, self.pi_b, self.rho0, self._W_eval,
            self._eps_work, float(self.threshold), float(self._eps_params[1]), self.alpha,
            self.baseline_known, self._use_alpha)
        self.lower = float(lower)
        if not self.baseline_known:
            self.lower_baseline = float(lb)
        self.eps = float(eps)
        self.certified = bool(certified)
        self.Z = int(self.rng.random() < self.eps)          # Z_k ~ Bernoulli(eps_k)
        key = self.act.tobytes()
        if key != self._act_key:
            pi = np.empty((self.H, self.S, self.A))
            ko.one_hot(self.act, self.A, pi)
            self._pi_bar, self._act_key = pi, key

    def policy(self) -> np.ndarray:
        """The episode's policy: pi_bar (one-hot) if Z_k = 1, else pi^b."""
        return self._pi_bar if self.Z else self.pi_b

    def executed_mixture(self):
        """((eps_k, pi_bar), (1 - eps_k, pi^b)): the law of the episode's policy given the past."""
        return ((self.eps, self._pi_bar), (1.0 - self.eps, self.pi_b))

    def update(self, episode) -> None:
        """Book the episode just played, add its counts, re-plan, draw the next coin."""
        self._played = {"epsilon": self.eps, "played_optimistic": self.Z, "lower_value": self.lower,
                            "upper_value": self.upper_value()}
        self._eps_sum += self.eps
        if self.eps < 1.0:
            self.conservative_episodes += 1
        if self.Z:
            self.optimistic_episodes += 1
        else:
            self.baseline_episodes += 1
        if not self.certified:
            self.uncertified_episodes += 1
        self._add(episode)
        self._plan()
        self.episodes += 1

    def _compiled_episodes(self, truth, tally, U, bernoulli_rewards: bool, trace=None,
                           values=None) -> None:
        """Run U.shape[0] episodes in one compiled call
        (:func:`mdptheory.kernels.stepmix_loop.epsmix_episodes`): the kernels of :meth:`update`
        in the same order; the episode coins are the next U.shape[0] uniforms of the learner's
        own Generator (one ``random(n)`` call: the same stream as one ``random()`` per plan).
        The Python state is synced afterwards. ``trace`` (n, 2), optional, receives each
        episode's exact value given the past and as played (:class:`ExactValueMonitor`);
        ``values`` (2,) = [V^{pi_bar}_0(rho0) of the current pi_bar, V^{pi^b}_0(rho0)] is
        needed with it and kept up to date."""
        n = U.shape[0]
        if n == 0:
            return
        if trace is None:
            trace, values = _NO_TRACE, np.zeros(2)
        elif values is None:
            raise ValueError("trace needs values = [V(pi_bar), V(pi_b)]")
        evals, episode, V0_last = self._loop_scratch(tally)
        coins = self.rng.random(n)
        pi_bar = np.empty((self.H, self.S, self.A))
        ko.one_hot(self.act, self.A, pi_bar)
        lb = np.nan if self.lower_baseline is None else self.lower_baseline
        fstate = np.array([self.eps, self.lower, lb, self._eps_sum, 0.0, 0.0])
        istate = np.array([self.Z, self.certified, self.episodes, self.conservative_episodes,
                           self.optimistic_episodes, self.baseline_episodes,
                           self.uncertified_episodes, 0], dtype=np.int64)
        kml.epsmix_episodes(truth, tally, U, bool(bernoulli_rewards), self._stats_tuple,
                            self._plan_tuple, self._consts, self.bonus == "bernstein",
                            self.monotone, self._replan_work, self.pi_b, self.rho0,
                            self._W_eval, self._eps_work,
                            self._eps_params, self.baseline_known, self._use_alpha, coins,
                            evals, pi_bar, fstate, istate, episode, V0_last, trace, values,
                            np.zeros((self.H + 1, self.S)))
        self._played = {"epsilon": float(fstate[4]), "played_optimistic": int(istate[7]),
                        "lower_value": float(fstate[5]),
                        "upper_value": float(self.rho0 @ V0_last)}
        self.eps, self.lower = float(fstate[0]), float(fstate[1])
        if not self.baseline_known:
            self.lower_baseline = float(fstate[2])
        self._eps_sum = float(fstate[3])
        self.Z, self.certified = int(istate[0]), bool(istate[1])
        (self.episodes, self.conservative_episodes, self.optimistic_episodes,
         self.baseline_episodes, self.uncertified_episodes) = (int(x) for x in istate[2:7])
        key = self.act.tobytes()
        if key != self._act_key:
            self._pi_bar, self._act_key = pi_bar, key

    def metrics(self) -> dict:
        """Columns about the episode just played: ``epsilon``, ``played_optimistic`` (Z), the
        pessimistic and optimistic values of pi_bar; counts so far of conservative (eps < 1),
        optimistic (Z = 1), baseline and uncertified episodes; the running mean of eps."""
        p = self._played or {"epsilon": self.eps, "played_optimistic": self.Z,
                                 "lower_value": self.lower, "upper_value": self.upper_value()}
        out = dict(p)
        out.update(conservative_episodes=self.conservative_episodes,
                   optimistic_episodes=self.optimistic_episodes,
                   baseline_episodes=self.baseline_episodes,
                   uncertified_episodes=self.uncertified_episodes,
                   epsilon_mean=self._eps_sum / max(self.episodes, 1), threshold=self.threshold)
        return out

    def __repr__(self) -> str:
        return (f"EpsMix(S={self.S}, A={self.A}, H={self.H}, K={self.K}, alpha={self.alpha}, "
                f"bonus={self.bonus!r})")


# ----------------------------------------------------------------------------- offline baseline

@dataclass(frozen=True, eq=False)
class OfflineBaseline:
    """A baseline learned from n episodes of an unknown behaviour policy (our construction).

    pi_b (H, S, A); V_hat = mean episode return; [V_low, V_high] = V_hat -/+ H sqrt(ln(4/delta)
    / (2 n)) (Hoeffding, returns in [0, H]); n episodes; method "bc" or "lcb".
    """

    pi_b: np.ndarray
    V_hat: float
    V_low: float
    V_high: float
    n: int
    method: str


def learn_baseline(dataset, S: int, A: int, *, delta: float = 0.05,
                   method: str = "bc") -> OfflineBaseline:
    """Baseline policy and Monte-Carlo interval on V^beta from ``dataset`` (our construction).

    ``method="bc"``: behaviour cloning, pi_b[h, s] = empirical action frequencies at (h, s),
    uniform where (h, s) was never visited. ``method="lcb"``: greedy in the pessimistic plan
    Q = max(0, r_hat + P_hat V - b) with the B1 bonus (union bound over the n episodes), ties ->
    lowest index. The interval on V^beta comes from the episodes' returns.
    """
    S = _validate.positive_int("S", S)
    A = _validate.positive_int("A", A)
    delta = _validate.real("delta", delta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    s = np.asarray(dataset.s)
    a = np.asarray(dataset.a)
    r = np.asarray(dataset.r, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 1:
        raise ValueError(f"dataset must hold at least one episode, got actions of shape {a.shape}")
    n, H = a.shape
    if method == "bc":
        counts = np.zeros((H, S, A))
        np.add.at(counts, (np.broadcast_to(np.arange(H), (n, H)), s[:, :H], a), 1.0)
        tot = counts.sum(axis=-1, keepdims=True)
        pi_b = np.where(tot > 0, counts / np.maximum(tot, 1.0), 1.0 / A)
    elif method == "lcb":
        stats = CountStatistics(S, A, H, pooled=False)
        stats.add_dataset(dataset)
        coef = bonus_coefficients(S, A, H, n, delta, "l1", 1.0)
        b = np.zeros((H, S, A))
        km.fill_bonus(stats.n_sa, coef, b)
        V = np.zeros((H + 1, S))
        Q = np.zeros((H, S, A))
        act = np.zeros((H, S), dtype=np.int64)
        km.lcb_backward_induction(stats.P_hat, stats.r_hat, stats.n_sa, stats.succ,
                                  stats.n_succ, b, V, Q, act)
        pi_b = np.zeros((H, S, A))
        ko.one_hot(act, A, pi_b)
    else:
        raise ValueError(f"method must be 'bc' or 'lcb', got {method!r}")
    returns = r.sum(axis=1)
    V_hat = float(returns.mean())
    half = H * np.sqrt(np.log(4.0 / delta) / (2.0 * n))
    return OfflineBaseline(pi_b=pi_b, V_hat=V_hat, V_low=max(V_hat - half, 0.0),
                           V_high=min(V_hat + half, float(H)), n=int(n), method=method)


# ----------------------------------------------------------------------------- exact values

def equivalent_markov_policy(mdp, components) -> np.ndarray:
    """Markov policy with the same state-action occupancy, at every step, as the episode-level
    mixture ``components`` = ((w_1, pi_1), ...) of Markov policies (weights sum to 1):

        pi_h(a|s) = sum_i w_i d^{pi_i}_h(s, a) / sum_i w_i d^{pi_i}_h(s)

    (rows of unreachable (h, s) copy the first component). Its value is sum_i w_i V^{pi_i}, but
    its law of whole trajectories differs from the mixture's in general. Evaluation only: it
    needs the true model.
    """
    fin = as_finite(mdp)
    comps = [(float(w), np.asarray(p, dtype=np.float64)) for w, p in components]
    if not comps:
        raise ValueError("components must hold at least one (weight, policy) pair")
    ws = np.array([w for w, _ in comps])
    if np.any(ws < 0) or abs(ws.sum() - 1.0) > 1e-9:
        raise ValueError(f"component weights must be >= 0 and sum to 1, got {ws.tolist()}")
    d = sum(w * occupancy_measure(fin, p) for w, p in comps)          # (H, S, A)
    ds = d.sum(axis=-1, keepdims=True)
    return np.where(ds > 0, d / np.where(ds > 0, ds, 1.0), comps[0][1])


class ExactValueMonitor:
    """Wrap an online learner and record, for every episode, the exact value of the policy it
    executes, given the past: sum_i w_i V^{pi_i}_0(rho0) over ``learner.executed_mixture()``
    (or V^{pi}_0(rho0) of ``learner.policy()`` when the learner has no such method), on the true
    model ``mdp``. Evaluation only; the learner never sees it.

    ``metrics()`` adds to the learner's: ``exact_value`` (the last episode's), ``exact_regret``
    (sum over every episode of V* - exact value), ``violations`` (episodes with exact value
    < threshold - tol), ``min_margin`` (min over episodes of exact value - threshold),
    ``first_violation`` (episode index, 0 if none), ``realized_violations`` (episodes whose
    *played* policy has value < threshold - tol: for EpsMix a draw of pi_bar may be below the
    threshold while the conditional value is not; for Markov learners the two counts agree).
    """

    def __init__(self, learner, mdp, *, threshold: float, tol: float = 1e-10):
        fin = as_finite(mdp)
        self.learner = learner
        self.P = np.ascontiguousarray(fin.P)
        self.r = np.ascontiguousarray(fin.r)
        self.rho0 = np.ascontiguousarray(fin.rho0)
        self.succ, self.n_succ = support_lists(self.P)
        self.V_work = np.zeros((fin.H + 1, fin.S))
        self.v_star = backward_induction(fin).value(fin.rho0)
        self.threshold = float(threshold)
        self.tol = float(tol)
        self._cache: dict[bytes, float] = {}
        self.k = 0
        self.value = np.nan
        self.regret = 0.0
        self.violations = 0
        self.min_margin = np.inf
        self.first_violation = 0
        self.realized_violations = 0
        self.values: list[float] = []

    @property
    def compiled_episodes(self):
        """The compiled loop of a wrapped StepMix / EpsMix (whose loops can write each
        episode's exact values into a trace, recorded here as :meth:`policy` records them:
        the same numbers bit for bit), else None: the wrapped learner's own compiled loop would
        bypass :meth:`policy`, so any other learner runs in the generic loop."""
        learner = self.learner
        if not isinstance(learner, _Conservative) or learner.compiled_episodes is None:
            return None
        return self._compiled_episodes

    def _compiled_episodes(self, truth, tally, U, bernoulli_rewards: bool) -> None:
        n = U.shape[0]
        if n == 0:
            return
        trace = np.empty((n, 2))
        if isinstance(self.learner, EpsMix):
            values = np.array([self._v(self.learner._pi_bar), self._v(self.learner.pi_b)])
            self.learner._compiled_episodes(truth, tally, U, bernoulli_rewards, trace, values)
        else:
            self.learner._compiled_episodes(truth, tally, U, bernoulli_rewards, trace)
        self._record(trace[:, 0], trace[:, 1])

    def _record(self, v, played) -> None:
        """Book episodes with exact values v (given the past) and played (as played), in
        order; the same operations as :meth:`policy` per episode."""
        lim = self.threshold - self.tol
        self.realized_violations += int(np.count_nonzero(played < lim))
        # the running regret summed episode by episode (np.cumsum accumulates in order)
        self.regret = float(np.cumsum(np.concatenate(([self.regret], self.v_star - v)))[-1])
        margin = v - self.threshold
        self.min_margin = min(self.min_margin, float(margin.min()))
        bad = np.flatnonzero(margin < -self.tol)
        if bad.size and self.first_violation == 0:
            self.first_violation = self.k + int(bad[0]) + 1
        self.violations += int(bad.size)
        self.k += v.shape[0]
        self.value = float(v[-1])
        self.values.extend(v.tolist())

    def __getattr__(self, name):            # hyperparameters, name, ... of the learner
        learner = self.__dict__.get("learner")
        if learner is None:
            raise AttributeError(name)
        return getattr(learner, name)

    def _v(self, pi) -> float:
        pi = np.ascontiguousarray(pi, dtype=np.float64)
        key = pi.tobytes()
        v = self._cache.get(key)
        if v is None:
            v = kon.policy_value_sparse(self.P, self.succ, self.n_succ, self.r, pi, self.rho0,
                                        self.V_work)
            if len(self._cache) > 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = v
        return v

    def policy(self):
        pi = self.learner.policy()
        mix = getattr(self.learner, "executed_mixture", None)
        comps = mix() if mix is not None else ((1.0, pi),)
        v = sum(w * self._v(p) for w, p in comps if w > 0.0)
        if self._v(pi) < self.threshold - self.tol:      # the policy actually played
            self.realized_violations += 1
        self.k += 1
        self.value = v
        self.values.append(v)
        self.regret += self.v_star - v
        margin = v - self.threshold
        self.min_margin = min(self.min_margin, margin)
        if margin < -self.tol:
            self.violations += 1
            if self.first_violation == 0:
                self.first_violation = self.k
        return pi

    def update(self, episode) -> None:
        self.learner.update(episode)

    def metrics(self) -> dict:
        inner = getattr(self.learner, "metrics", None)
        out = dict(inner()) if inner is not None else {}
        out.update(exact_value=self.value, exact_regret=self.regret, violations=self.violations,
                   min_margin=self.min_margin, first_violation=self.first_violation,
                   realized_violations=self.realized_violations)
        return out


__all__ = [
    "BONUSES",
    "MIXTURES",
    "EpsMix",
    "ExactValueMonitor",
    "OfflineBaseline",
    "SameBonusUCBVI",
    "StepMix",
    "bonus_coefficients",
    "epsmix_epsilon",
    "equivalent_markov_policy",
    "l1_width",
    "learn_baseline",
    "mixture_weights",
]
