"""Shared pieces of the tabular optimistic learners: counts, empirical model, bonuses, optimistic
backward induction. Every formula is a small function (NumPy or a thin shell over a kernel of
:mod:`mdptheory.kernels.optimistic`) so tests and ``proofs_check/`` can call it on its own.

Symbols (0-based steps h = 0..H-1; G = H for per-step statistics, G = 1 when pooled over h):

=========  ===============  ===========================================================
symbol     shape            meaning
=========  ===============  ===========================================================
n_sa       (G, S, A)        visit counts n(s, a)
n_sas      (G, S, A, S)     transition counts n(s, a, s')
r_sum      (G, S, A)        summed observed rewards
n_s        (H + 1, S)       visits of state y at step h (the paper's N'_{k,h}(y))
P_hat      (G, S, A, S)     n(s, a, s') / n(s, a); rows with n = 0 are 0
r_hat      (G, S, A)        r_sum / n(s, a); 0 where n = 0
succ       (G, S, A, S)     observed next states of (s, a), increasing, first n_succ entries
L          scalar           log term ln(5 S A T / delta), T = K H
=========  ===============  ===========================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..kernels import optimistic as ko


def require_unit_rewards(mdp, algorithm: str, theorem: str, *, tol: float = 1e-12):
    """Raise ValueError unless ``mdp`` is a model the algorithm's theorem covers: rewards in
    [0, 1] and, for a FiniteHorizonMDP, undiscounted with V_H = 0 and every action available.

    Models may carry any finite reward; the [0, 1] range (and the clip of values at H - h built
    on it) is an assumption of the algorithms' theory, so each checks it where it meets the
    model, naming the theorem. :func:`mdptheory.models.rescale_rewards` maps a model into
    [0, 1]."""
    r = np.asarray(mdp.r)
    bad = (r < -tol) | (r > 1.0 + tol)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), r.shape)
        raise ValueError(f"{algorithm}: rewards must lie in [0, 1] ({theorem}); this model has "
                         f"r[{', '.join(str(int(i)) for i in idx)}] = {float(r[idx]):.6g}. "
                         f"mdptheory.models.rescale_rewards(mdp) maps it into [0, 1] and "
                         f"gives the affine map back for V and Q")
    if getattr(mdp, "is_plain", True) is False:
        raise ValueError(f"{algorithm} ({theorem}) is stated for undiscounted episodic MDPs "
                         f"with V_H = 0 and every action available; this model has gamma = "
                         f"{mdp.gamma}, {'nonzero' if mdp.V_terminal.any() else 'zero'} "
                         f"V_terminal and {'an' if mdp.mask is not None else 'no'} action mask")


def log_term(S: int, A: int, T: int, delta: float, c: float = 5.0) -> float:
    """L = ln(c S A T / delta) (Azar et al. 2017, Alg. 3/4: c = 5, T = K H time steps)."""
    return float(np.log(c * S * A * T / delta))


def empirical_model(n_sa, n_sas, r_sum):
    """P_hat (G, S, A, S) and r_hat (G, S, A) from counts; unvisited rows are all-zero."""
    n = np.asarray(n_sa, dtype=np.float64)
    safe = np.maximum(n, 1.0)
    P_hat = np.asarray(n_sas, dtype=np.float64) / safe[..., None]
    r_hat = np.asarray(r_sum, dtype=np.float64) / safe
    return P_hat, r_hat


def hoeffding_bonus(n_sa, H: int, L: float, c: float = 7.0):
    """UCBVI-CH bonus b(s, a) = c H L sqrt(1 / n(s, a)) (Azar et al. 2017, Alg. 3, c = 7).

    Returns an array shaped like ``n_sa``; +inf where n = 0 (those pairs are clipped anyway).
    """
    n = np.asarray(n_sa, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(n > 0, c * H * L / np.sqrt(np.maximum(n, 1.0)), np.inf)


def bernstein_correction_weights(n_s_next, H: int, S: int, A: int, L: float,
                                 c: float = 100.0 ** 2):
    """w(y) = min(c H^3 S^2 A L^2 / N'_{h+1}(y), H^2), H^2 where N' = 0 (Alg. 4, c = 100^2)."""
    m = np.asarray(n_s_next, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(m > 0, np.minimum(c * H ** 3 * S ** 2 * A * L ** 2 / np.maximum(m, 1.0),
                                          H ** 2), float(H ** 2))


def bernstein_bonus(P_hat_sa, V_next, w_next, n, H: int, L: float):
    """UCBVI-BF bonus of one pair (Azar et al. 2017, Alg. 4), n >= 1:

    sqrt(8 L Var_{P_hat}(V_{h+1}) / n) + 14 H L / (3 n) + sqrt(8 sum_y P_hat(y) w(y) / n).
    P_hat_sa (S,), V_next (S,), w_next (S,) from :func:`bernstein_correction_weights`.
    """
    p = np.asarray(P_hat_sa, dtype=np.float64)
    mean = p @ V_next
    var = max(float(p @ (V_next - mean) ** 2), 0.0)
    return (np.sqrt(8.0 * L * var / n) + 14.0 * H * L / (3.0 * n)
            + np.sqrt(8.0 * float(p @ w_next) / n))


def support_lists(P_hat):
    """succ (G, S, A, S) int64 and n_succ (G, S, A) int64: the indices t with
    P_hat[g, s, a, t] > 0, increasing, in succ[g, s, a, :n_succ[g, s, a]] (rest 0)."""
    P_hat = np.asarray(P_hat)
    pos = P_hat > 0
    n_succ = pos.sum(axis=-1).astype(np.int64)
    order = np.argsort(~pos, axis=-1, kind="stable")      # positive entries first, in order
    succ = np.where(np.arange(P_hat.shape[-1]) < n_succ[..., None], order, 0).astype(np.int64)
    return succ, n_succ


def step_caps(H: int) -> np.ndarray:
    """v_max[h] = H - h: the largest value of H - h remaining rewards in [0, 1] (0-based h)."""
    return (H - np.arange(H)).astype(np.float64)


def optimistic_backward_induction(P_hat, r_hat, n_sa, bonus, v_max=None, Q_prev=None):
    """Optimistic Q (H, S, A), V (H + 1, S) and greedy actions (H, S) for a given bonus.

    Q_h = min(Q_prev_h, v_max[h], r_hat + P_hat V_{h+1} + bonus) on visited pairs, v_max[h]
    on the others (Azar et al. 2017, Alg. 2). P_hat (G, S, A, S), r_hat, n_sa, bonus (G, S, A)
    with G = H (per step) or 1 (pooled); v_max (H,) defaults to H - h. H is read from
    ``v_max`` when given, else from ``Q_prev``, else G.
    """
    P_hat = np.ascontiguousarray(P_hat, dtype=np.float64)
    G, S, A, _ = P_hat.shape
    succ, n_succ = support_lists(P_hat)
    if v_max is None:
        H = Q_prev.shape[0] if Q_prev is not None else G
        v_max = step_caps(H)
    v_max = np.asarray(v_max, dtype=np.float64)
    H = v_max.shape[0]
    Q = (np.array(Q_prev, dtype=np.float64) if Q_prev is not None
         else np.broadcast_to(v_max[:, None, None], (H, S, A)).copy())
    V = np.zeros((H + 1, S))
    act = np.full((H, S), -1, dtype=np.int64)
    bonus = np.where(np.isfinite(bonus), bonus, 0.0)
    ko.optimistic_backward_induction(P_hat, np.asarray(r_hat, dtype=np.float64),
                                     np.asarray(n_sa, dtype=np.float64), succ, n_succ,
                                     np.ascontiguousarray(bonus, dtype=np.float64), v_max,
                                     Q_prev is not None, V, Q, act)
    return Q, V, act


@dataclass(eq=False)
class CountStatistics:
    """Counts and empirical model of an episodic learner, updated in O(H S) per episode.

    ``pooled=False`` keeps them per step (G = H); ``pooled=True`` pools them over h (G = 1),
    which is only right when P and r do not depend on h. Arrays as in the module table.
    """

    S: int
    A: int
    H: int
    pooled: bool = False
    n_sa: np.ndarray = field(init=False)
    n_sas: np.ndarray = field(init=False)
    r_sum: np.ndarray = field(init=False)
    n_s: np.ndarray = field(init=False)
    P_hat: np.ndarray = field(init=False)
    r_hat: np.ndarray = field(init=False)
    succ: np.ndarray = field(init=False)
    n_succ: np.ndarray = field(init=False)

    def __post_init__(self):
        G = 1 if self.pooled else self.H
        S, A = self.S, self.A
        self.n_sa = np.zeros((G, S, A))           # n(s, a)
        self.n_sas = np.zeros((G, S, A, S))       # n(s, a, s')
        self.r_sum = np.zeros((G, S, A))
        self.n_s = np.zeros((self.H + 1, S))      # N'_h(y)
        self.P_hat = np.zeros((G, S, A, S))       # P_hat(s' | s, a)
        self.r_hat = np.zeros((G, S, A))
        self.succ = np.zeros((G, S, A, S), dtype=np.int64)   # observed next states, sorted
        self.n_succ = np.zeros((G, S, A), dtype=np.int64)    # how many

    def add(self, episode) -> None:
        """Add one episode (``s`` (H + 1,), ``a`` (H,), ``r`` (H,))."""
        ko.record_episode(episode.s, episode.a, episode.r, self.n_sa, self.n_sas, self.r_sum,
                          self.n_s, self.P_hat, self.r_hat, self.succ, self.n_succ)

    def add_dataset(self, dataset) -> None:
        """Add N episodes at once (``s`` (N, H + 1), ``a`` (N, H), ``r`` (N, H))."""
        ko.record_episodes(np.ascontiguousarray(dataset.s), np.ascontiguousarray(dataset.a),
                           np.ascontiguousarray(dataset.r, dtype=np.float64), self.n_sa,
                           self.n_sas, self.r_sum, self.n_s, self.P_hat, self.r_hat, self.succ,
                           self.n_succ)


__all__ = [
    "CountStatistics",
    "bernstein_bonus",
    "bernstein_correction_weights",
    "empirical_model",
    "hoeffding_bonus",
    "log_term",
    "optimistic_backward_induction",
    "step_caps",
    "support_lists",
]


def policy_cache_scratch(learner, tally) -> tuple:
    """Scratch of :func:`mdptheory.kernels.online.tally_any_policy` for a learner's compiled
    loop: (kinds (C,) int8, keys of stochastic policies (C, H, S, A), action table (H, S) int64),
    C = the driver's cache size (``tally[2].shape[0]``). Kept on the learner and reused across
    driver calls: a slot is always written before the cache reads it (the cache of a new tally
    starts empty), so stale contents are never seen."""
    C = tally[2].shape[0]
    scratch = getattr(learner, "_policy_cache_scratch", None)
    if scratch is None or scratch[0].shape[0] != C:
        scratch = (np.zeros(C, dtype=np.int8), np.zeros((C, learner.H, learner.S, learner.A)),
                   np.zeros((learner.H, learner.S), dtype=np.int64))
        learner._policy_cache_scratch = scratch
    return scratch
