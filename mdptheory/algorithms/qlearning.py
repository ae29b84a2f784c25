"""Q-learning with UCB-Hoeffding or UCB-Bernstein exploration.

Paper: C. Jin, Z. Allen-Zhu, S. Bubeck, M. I. Jordan (2018), "Is Q-learning provably
efficient?", NeurIPS (arXiv 1807.03765). Algorithm 1 (UCB-Hoeffding) and Algorithm 2
(UCB-Bernstein); regret bounds in :mod:`mdptheory.bounds.qlearning` (Theorems 1 and 2).

The algorithm (0-based steps h = 0..H-1 here, 1..H in the paper; stage-dependent Q, counts):

* initialise Q_h(x, a) = H, N_h(x, a) = 0, V_H = 0;
* in each episode act greedily, a_h = argmax_a Q_h(x_h, a), and after step h with t =
  N_h(x_h, a_h) + 1 visits, alpha_t = (H + 1) / (H + t):
  Q_h(x_h, a_h) <- (1 - alpha_t) Q_h(x_h, a_h) + alpha_t (r_h + V_{h+1}(x_{h+1}) + b_t),
  V_h(x_h) <- min(H, max_a Q_h(x_h, a));
* Hoeffding (Alg. 1): b_t = c sqrt(H^3 iota / t);
* Bernstein (Alg. 2): with mu, sigma the running sums of V_{h+1}(x') and V_{h+1}(x')^2 over the
  pair's visits and W_t = sigma / t - (mu / t)^2,
  beta_t = min(c1 (sqrt(H / t (W_t + H) iota) + sqrt(H^7 S A iota) iota / t),
  c2 sqrt(H^3 iota / t)), beta_0 = 0, and b_t = (beta_t - (1 - alpha_t) beta_{t-1}) / (2 alpha_t);
* iota = log(S A T / p), T = K H.

Provenance: the algorithm boxes, learning rate and bonus forms are recalled from the paper
(``paper-recalled``); its constants c, c1, c2 are "absolute constants" the paper does not
give. Defaults (``derived``, our reading of the proofs): c = 2, the smallest c for which the
proof's Azuma-Hoeffding step holds (|sum_i alpha_t^i (P_hat - P) V*| <= 2 sqrt(H^3 iota / t)
since sum_i (alpha_t^i)^2 <= 2H / t, while sum_i alpha_t^i b_i >= c sqrt(H^3 iota / t));
c2 = 4 and c1 = 4 make beta_t / 2 cover the same Hoeffding and Freedman terms.

Choices the paper leaves open (say them in any experiment): ties in the argmax go to the
lowest action index; rewards are whatever the driver observes (mean or Bernoulli). The
updates of an episode are applied after it, for h = 0..H-1 in order, which is exactly the
paper's update during the episode (see :mod:`mdptheory.kernels.qlearning`).

One update costs O(H A) per episode; the online driver runs the whole loop compiled
(:meth:`QLearningUCB.compiled_episodes`), with the same kernel as :meth:`update`.
"""
from __future__ import annotations

import numpy as np

from ..kernels import optimistic as ko
from ..kernels import qlearning as kq
from ..models import _validate

_BONUSES = {"hoeffding": "hoeffding", "bernstein": "bernstein"}


def iota(S: int, A: int, T: int, p: float) -> float:
    """iota = log(S A T / p) (Jin et al. 2018, Theorems 1-2)."""
    return float(np.log(S * A * T / p))


class QLearningUCB:
    """Online learner: :meth:`policy` for the next episode, :meth:`update` after it.

    Parameters
    ----------
    S, A, H : int
        States, actions, horizon.
    K : int
        Number of episodes of the run (enters iota through T = K H).
    p : float
        Failure probability of the regret bound, in (0, 1).
    bonus : {"hoeffding", "bernstein"}
        Algorithm 1 or Algorithm 2.
    c : float
        Hoeffding bonus constant (default 2, derived; see the module docstring).
    c1, c2 : float
        Bernstein constants (default 4 and 4, derived).

    Attributes
    ----------
    Q : ndarray (H, S, A);  V : ndarray (H + 1, S);  N : ndarray (H, S, A) visit counts.
    """

    def __init__(self, S: int, A: int, H: int, K: int, *, p: float = 0.1,
                 bonus: str = "hoeffding", c: float = 2.0, c1: float = 4.0, c2: float = 4.0):
        self.S = S = _validate.positive_int("S", S)
        self.A = A = _validate.positive_int("A", A)
        self.H = H = _validate.positive_int("H", H)
        self.K = K = _validate.positive_int("K", K)
        self.p = _validate.real("p", p, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        key = str(bonus).lower()
        if key not in _BONUSES:
            raise ValueError(f"bonus must be 'hoeffding' or 'bernstein', got {bonus!r}")
        self.bonus = _BONUSES[key]
        self.c = _validate.real("c", c, lo=0.0)
        self.c1 = _validate.real("c1", c1, lo=0.0)
        self.c2 = _validate.real("c2", c2, lo=0.0)
        self.iota = iota(S, A, K * H, self.p)
        self.Q = np.full((H, S, A), float(H))       # Q_h(x, a)
        self.V = np.zeros((H + 1, S))               # V_h(x), V_H = 0
        self.V[:H] = float(H)
        self.N = np.zeros((H, S, A))                # N_h(x, a)
        self.mu = np.zeros((H, S, A))               # Bernstein: sum of V_{h+1}(x')
        self.sigma = np.zeros((H, S, A))            # Bernstein: sum of V_{h+1}(x')^2
        self.beta = np.zeros((H, S, A))             # Bernstein: beta_{t} of the last visit
        self._act = np.zeros((H, S), dtype=np.int64)
        self._consts = np.array([float(H), self.iota, self.c, self.c1, self.c2,
                                 float(S * A)])
        self._counters = np.zeros(2, dtype=np.int64)   # [episodes, policy switches]
        self._pi = np.zeros((H, S, A))
        ko.one_hot(self._act, A, self._pi)
        self._episode = (np.zeros(H + 1, dtype=np.int64), np.zeros(H, dtype=np.int64),
                         np.zeros(H))

    @property
    def name(self) -> str:
        return "Q-learning-UCB-H" if self.bonus == "hoeffding" else "Q-learning-UCB-B"

    @property
    def episodes(self) -> int:
        return int(self._counters[0])

    @property
    def policy_switches(self) -> int:
        return int(self._counters[1])

    def hyperparameters(self) -> dict:
        """The constants this run uses (for the experiment's DataFrame)."""
        return {"bonus": self.bonus, "p": self.p, "c": self.c, "c1": self.c1, "c2": self.c2,
                "iota": self.iota}

    def policy(self) -> np.ndarray:
        """Greedy deterministic policy pi[h, s, a] (one-hot); the same array object until the
        greedy actions change, never modified afterwards."""
        return self._pi

    def _refresh_policy(self) -> None:
        pi = np.empty((self.H, self.S, self.A))
        ko.one_hot(self._act, self.A, pi)
        self._pi = pi

    def update(self, episode) -> None:
        """The paper's updates of one episode (:func:`mdptheory.kernels.qlearning.
        qlearning_update`)."""
        if kq.qlearning_update(episode.s, episode.a, np.asarray(episode.r, dtype=np.float64),
                               self.Q, self.V, self.N, self.mu, self.sigma, self.beta,
                               self._act, self._consts, self.bonus == "bernstein",
                               self._counters):
            self._refresh_policy()

    def compiled_episodes(self, truth, tally, U, bernoulli_rewards: bool) -> None:
        """Run U.shape[0] episodes in one compiled call (the online driver's fast path):
        the same kernel as :meth:`update`, in the same order."""
        switches = self._counters[1]
        kq.qlearning_episodes(truth, tally, U, bool(bernoulli_rewards), self.Q, self.V, self.N,
                              self.mu, self.sigma, self.beta, self._act, self._consts,
                              self.bonus == "bernstein", self._counters, *self._episode)
        if self._counters[1] != switches:
            self._refresh_policy()

    def metrics(self) -> dict:
        """Columns for the online driver: policy switches so far."""
        return {"policy_switches": self.policy_switches}

    def value_function(self) -> np.ndarray:
        """V_0 (S,): the learner's optimistic value (the online driver's value hook)."""
        return self.V[0]

    def __repr__(self) -> str:
        return (f"{self.name}(S={self.S}, A={self.A}, H={self.H}, K={self.K}, p={self.p}, "
                f"c={self.c}, c1={self.c1}, c2={self.c2})")


__all__ = ["QLearningUCB", "iota"]
