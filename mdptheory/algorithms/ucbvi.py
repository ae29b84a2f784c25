"""UCBVI: optimistic value iteration with Hoeffding (UCBVI-CH) or Bernstein (UCBVI-BF) bonuses.

Paper: M. G. Azar, I. Osband, R. Munos (2017), "Minimax Regret Bounds for Reinforcement
Learning", ICML (arXiv 1703.05449). Follows Algorithm 1 (UCBVI) with Algorithm 2
(UCB-Q-values) and the bonus of Algorithm 3 (UCBVI-CH) or Algorithm 4 (UCBVI-BF); regret
bounds in :mod:`mdptheory.bounds.ucbvi` (Theorems 1 and 2).

Constants (defaults = the paper's; constants recalled from the paper):

* L = ln(5 S A T / delta), T = K H time steps;
* CH: b(s, a) = 7 H L sqrt(1 / n(s, a));
* BF: b_h(s, a) = sqrt(8 L Var_{P_hat}(V_{h+1}) / n) + 14 H L / (3 n)
  + sqrt(8 sum_y P_hat(y | s, a) min(100^2 H^3 S^2 A L^2 / N'_{h+1}(y), H^2) / n),
  N'_{h+1}(y) = visits of state y at step h + 1 in past episodes (our reading: the paper's
  N'_{k,h+1} summed over actions).
* Q_h(s, a) = min(Q_{k-1,h}(s, a), clip_h, r_hat + P_hat V_{h+1} + b) on visited pairs,
  clip_h on unvisited ones; V_h = max_a Q_h; play greedily (ties -> lowest action index).

Deviations and choices (say them in any experiment that uses this class):

* Counts per step h by default (``stage_dependent=True``): P_hat_h(s' | s, a) from visits at
  step h only, so non-stationary (H, S, A, S) models are learned. This is exactly UCBVI run on
  the layered MDP with states (h, s) (S' = H S states, which is stationary), so L and the BF
  constant use S' = H S and the paper's theorems hold with S replaced by H S.
  ``stage_dependent=False`` pools counts over h as in the paper (right for stationary models).
* Clip at H - h (0-based h; the paper clips at H): Q*_h <= H - h for rewards in [0, 1], so
  optimism is kept and the clip is tighter. ``clip="H"`` restores the paper's clip.
* Rewards: the paper takes R known; we use the empirical mean reward of each visited pair.
  Under mean (deterministic) rewards this equals R on every visited pair and unvisited pairs
  are clipped anyway, so the algorithm is the paper's. Under Bernoulli rewards no reward bonus
  is added (the paper has none); the bonus dominates the reward noise but the theorems do not
  cover that case.
* Left open by the paper: tie-breaking in the greedy step. Ties go to the action with the
  fewest visits n(s, a) (at that step), then to the lowest index. With the paper's constants
  most Q values sit at the clip for a long time, so lowest-index tie-breaking alone would
  never try the other actions; any tie-breaking keeps the theorems.
* Indexing: h = 0..H-1 here, 1..H in the paper. Episode 1 plays action 0 everywhere.
* ``bonus_scale`` multiplies the bonus (1 = the paper); a value != 1 is not the paper's
  algorithm and is reported by :meth:`UCBVI.hyperparameters`.

Planning is one numba kernel per episode (:mod:`mdptheory.kernels.optimistic`), summing
P_hat V over the observed successors only: O(H S A B) for B observed successors per pair.
"""
from __future__ import annotations

import numpy as np

from ..kernels import optimistic as ko
from ..kernels import ucbvi_loop as kul
from ..models import _validate
from ._common import CountStatistics, log_term, require_unit_rewards, step_caps

_BONUSES = {"hoeffding": "hoeffding", "ch": "hoeffding", "bernstein": "bernstein",
            "bf": "bernstein"}


class UCBVI:
    """Online learner: :meth:`policy` for the next episode, :meth:`update` after it.

    Parameters
    ----------
    S, A, H : int
        States, actions, horizon.
    K : int
        Number of episodes the run will last (enters L through T = K H, as in the paper).
    delta : float
        Failure probability of the regret bound, in (0, 1).
    bonus : {"hoeffding", "bernstein"} (aliases "CH", "BF")
        UCBVI-CH (Alg. 3) or UCBVI-BF (Alg. 4).
    stage_dependent : bool
        Per-step counts (default) or counts pooled over h (the paper's stationary setting).
    clip : {"H-h", "H"}
        Value clip H - h (default) or the paper's H.
    monotone : bool
        Take the min with the previous episode's Q, as the paper's Alg. 2 (default True).
    bonus_scale : float
        Multiplier of the bonus (1 = paper).

    Attributes
    ----------
    Q : ndarray (H, S, A)
        Optimistic Q of the current policy; ``V`` (H + 1, S) its values.
    stats : CountStatistics
        Counts and empirical model.
    """

    def check_model(self, mdp) -> None:
        """Called by the runners before the first episode: the regret bounds (Azar et al.
        2017, Theorems 1 and 2) assume rewards in [0, 1] (and the clip at H - h uses it)."""
        require_unit_rewards(mdp, "UCBVI", "Azar et al. 2017, Theorems 1 and 2")

    def __init__(self, S: int, A: int, H: int, K: int, *, delta: float = 0.1,
                 bonus: str = "hoeffding", stage_dependent: bool = True, clip: str = "H-h",
                 monotone: bool = True, bonus_scale: float = 1.0):
        self.S = S = _validate.positive_int("S", S)
        self.A = A = _validate.positive_int("A", A)
        self.H = H = _validate.positive_int("H", H)
        self.K = K = _validate.positive_int("K", K)
        self.delta = _validate.real("delta", delta, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        key = str(bonus).lower()
        if key not in _BONUSES:
            raise ValueError(f"bonus must be 'hoeffding' ('CH') or 'bernstein' ('BF'), "
                             f"got {bonus!r}")
        self.bonus = _BONUSES[key]
        if clip not in ("H-h", "H"):
            raise ValueError(f"clip must be 'H-h' or 'H', got {clip!r}")
        self.clip = clip
        self.bonus_scale = _validate.real("bonus_scale", bonus_scale, lo=0.0)
        self.stage_dependent = bool(stage_dependent)
        self.monotone = bool(monotone)
        self.S_eff = S * H if self.stage_dependent else S     # S' of the layered MDP
        self.L = log_term(self.S_eff, A, K * H, self.delta)    # L = ln(5 S' A T / delta)
        self.c_corr = 100.0 ** 2 * H ** 3 * self.S_eff ** 2 * A * self.L ** 2
        self.stats = CountStatistics(S, A, H, pooled=not self.stage_dependent)
        self.v_max = step_caps(H) if clip == "H-h" else np.full(H, float(H))
        self.Q = np.broadcast_to(self.v_max[:, None, None], (H, S, A)).copy()  # Q[h, s, a]
        self.V = np.zeros((H + 1, S))                                           # V[h, s]
        self.V[:H] = self.v_max[:, None]
        self.bonus_values = np.zeros((H, S, A))      # b_h(s, a) of the last plan (BF)
        self._coef_ch = self.bonus_scale * 7.0 * H * self.L          # c H L of UCBVI-CH
        self.bonus_values_ch = np.full(self.stats.n_sa.shape, self._coef_ch)  # (G, S, A)
        self._act = np.zeros((H, S), dtype=np.int64)  # greedy actions
        self._pi_work = np.zeros((H, S, A))           # one_hot(_act), rewritten in place
        ko.one_hot(self._act, A, self._pi_work)
        self._pi = self._pi_work.copy()               # pi[h, s, a] handed out, never modified
        self._counters = np.zeros(2, dtype=np.int64)  # [episodes, policy switches]
        # [c H L of CH, H of BF, L, c_corr of BF, bonus_scale] for the kernels
        self._consts = np.array([self._coef_ch, float(H), self.L, self.c_corr,
                                 self.bonus_scale])
        self._episode = (np.zeros(H + 1, dtype=np.int64), np.zeros(H, dtype=np.int64),
                         np.zeros(H))                 # scratch of the compiled loop
        self._work = kul.plan_workspace(H, S, A)      # scratch of the incremental plan

    @property
    def episodes(self) -> int:
        """Episodes added by :meth:`update` or the compiled loop."""
        return int(self._counters[0])

    @property
    def policy_switches(self) -> int:
        """Re-plans that changed the greedy policy."""
        return int(self._counters[1])

    @property
    def name(self) -> str:
        return "UCBVI-CH" if self.bonus == "hoeffding" else "UCBVI-BF"

    def hyperparameters(self) -> dict:
        """The constants this run uses (for the experiment's DataFrame)."""
        return {"bonus": self.bonus, "delta": self.delta,
                "stage_dependent": self.stage_dependent, "clip": self.clip,
                "monotone": self.monotone, "bonus_scale": self.bonus_scale, "L": self.L}

    def policy(self) -> np.ndarray:
        """Deterministic Markov policy pi[h, s, a] (one-hot) for the next episode.

        The same array object is returned until the greedy policy changes; it is never
        modified afterwards.
        """
        return self._pi

    def _kernel_state(self):
        st = self.stats
        stats = (st.n_sa, st.n_sas, st.r_sum, st.n_s, st.P_hat, st.r_hat, st.succ, st.n_succ)
        plan = (self.bonus_values_ch, self.v_max, self.Q, self.V, self._act, self.bonus_values)
        return stats, plan

    def update(self, episode) -> None:
        """Add the episode's counts (and, for CH, refresh b = 7 H L / sqrt(n) on the pairs
        just visited), re-plan optimistically, refresh the greedy policy: one call of
        :func:`mdptheory.kernels.ucbvi_loop.ucbvi_update`, the step of the compiled loop."""
        stats, plan = self._kernel_state()
        if kul.ucbvi_update(episode.s, episode.a, np.asarray(episode.r, dtype=np.float64),
                            stats, plan, self._consts, self.bonus == "hoeffding",
                            self.monotone, self._counters, self._work):
            ko.one_hot(self._act, self.A, self._pi_work)
            self._pi = self._pi_work.copy()

    def compiled_episodes(self, truth, tally, U, bernoulli_rewards: bool) -> None:
        """Run U.shape[0] episodes in one compiled call (the online driver's fast path; see
        :mod:`mdptheory.runner.online`): same kernels, same order as :meth:`update`."""
        stats, plan = self._kernel_state()
        switches = self._counters[1]
        kul.ucbvi_episodes(truth, tally, U, bool(bernoulli_rewards), stats, plan,
                           self._consts, self.bonus == "hoeffding", self.monotone,
                           self._counters, self._work, *self._episode)
        if self._counters[1] != switches:
            ko.one_hot(self._act, self.A, self._pi_work)
            self._pi = self._pi_work.copy()

    def warm_start(self, dataset) -> None:
        """Add a batch of prior episodes (``s`` (N, H + 1), ``a``, ``r`` (N, H), e.g. a
        :class:`mdptheory.runner.Dataset`) to the statistics and re-plan once. Not part of the
        paper's algorithm (which starts from no data); the episode count is unchanged."""
        self.stats.add_dataset(dataset)
        self.bonus_values_ch[:] = self._coef_ch / np.sqrt(np.maximum(self.stats.n_sa, 1.0))
        self._plan()

    def _plan(self) -> None:
        stats, plan = self._kernel_state()
        self._work[-1][:] = 0            # the re-plan's clip-phase facts: Q and V get rewritten
        if kul.ucbvi_plan(stats, plan, self._consts, self.bonus == "hoeffding", self.monotone):
            ko.one_hot(self._act, self.A, self._pi_work)
            self._pi = self._pi_work.copy()
            self._counters[1] += 1

    def metrics(self) -> dict:
        """Columns for the online driver: policy switches so far."""
        return {"policy_switches": self.policy_switches}

    def value_function(self) -> np.ndarray:
        """V_0 (S,): the optimistic value the next policy is planned with (the online
        driver's value hook; it records rho0 . V_0 as ``value_estimate``). Under the theorems'
        event it is >= V*_0 (optimism)."""
        return self.V[0]

    def __repr__(self) -> str:
        return (f"{self.name}(S={self.S}, A={self.A}, H={self.H}, K={self.K}, "
                f"delta={self.delta}, stage_dependent={self.stage_dependent})")


__all__ = ["UCBVI"]
