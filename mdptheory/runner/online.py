"""Drivers with exact ground truth: the online loop and the offline evaluation.

``online(learner, mdp, K, rng=...)`` runs any online learner (an object with ``policy()`` ->
pi (H, S, A) and ``update(episode)``; optionally ``metrics()`` -> dict) for K episodes, sampling
each episode in a numba kernel, and records the *exact* value of every episode's policy:
V^{pi_k}_0(rho0) by backward evaluation on the true model (never from sampled returns).
Evaluations are cached on the policy's bytes, so a policy that did not change is evaluated once.
Uniforms are drawn from ``rng`` in blocks and consumed in the order of
:func:`mdptheory.kernels.sampling.sample_episodes`, so the episodes are exactly those that
``sample_episodes`` would draw from the same Generator, one episode at a time.

``offline(algorithm, mdp, dataset)`` runs a function from a dataset to a policy and records the
exact suboptimality V*_0(rho0) - V^pi_0(rho0). ``collect`` draws such a dataset.

Compiled episode loops
----------------------
The generic loop calls ``policy()`` and ``update()`` from Python once per episode, which costs
more than the arithmetic of a small tabular learner. A learner may therefore also offer

``compiled_episodes(truth, tally, U, bernoulli_rewards)``
    run ``n = U.shape[0]`` episodes in one numba call, using row ``U[i]`` (2H + 1 uniforms, or
    3H + 1 with Bernoulli rewards) for episode i exactly as
    :func:`mdptheory.kernels.online.sample_episode` consumes it, and per episode add the exact
    regret of the policy it plays to ``tally`` through
    :func:`mdptheory.kernels.online.tally_episode` (which re-evaluates only when the loop set the
    "policy changed" flag ``tally[1][3] = 1``, through the same value kernel and FIFO cache as
    the generic loop). ``truth`` = (P, r, rho0, succ, n_succ, p_succ, reach, n_reach) and
    ``tally`` are tuples of arrays (layout in :mod:`mdptheory.kernels.online`); afterwards
    the learner's Python state (``policy()``, ``metrics()``, ``value_function()``) must be
    what the same episodes through ``update()`` would have left.

The driver then splits the K episodes into blocks ending at each checkpoint (at most 4096
episodes, the uniforms of one block drawn with one ``rng.random``: the same stream as the
generic loop), calls the loop once per block and records each checkpoint row from the tally
and the learner, so memory is O(checkpoints + the learner's state), never O(K).
``online(..., compiled=None)`` uses the compiled loop when the learner has one, ``False``
forces the generic loop, ``True`` requires the compiled one. Both loops give the same table bit
for bit (``wall_time`` aside) because the learner's ``update()`` and its compiled loop call the
same numba kernels in the same order (numpy's BLAS, exp or log-sum-exp may round differently
from a numba loop, and one ulp flips an argmax tie). UCBVI
(:mod:`mdptheory.kernels.ucbvi_loop`), Q-learning-UCB (:mod:`mdptheory.kernels.qlearning`),
StepMix / EpsMix (:mod:`mdptheory.kernels.stepmix_loop`), the tabular actor-critic with its
tracking probe (:mod:`mdptheory.kernels.actor_critic_loop`) and demonstration-regularized BPI
(:func:`mdptheory.kernels.demo_regularized.tabular_bpi_episodes`; not with its reward bonus)
have compiled loops; the tests check the bit-identity of each. A subclass that overrides a
per-episode method falls back to the generic loop.

How another tabular learner plugs in:
(1) move its per-episode update into a numba kernel taking plain arrays, called by ``update()``
(one kernel call per episode; keep its numbers the same by keeping the order of operations);
(2) write ``<name>_episodes(truth, tally, U, bernoulli_rewards, <state arrays>)`` in
``kernels/`` that unpacks the tuples once, then loops: ``tally_episode(...)`` for a
deterministic policy given by an action table, or
:func:`mdptheory.kernels.online.tally_any_policy` for a stochastic one (its scratch:
:func:`mdptheory.algorithms._common.policy_cache_scratch`), the sampling
kernel, the inlined update, and ``tally[1][3] = 1`` when the policy changed; (3) add
``compiled_episodes`` to the class, syncing any Python-side copy (e.g. the one-hot pi) after
the call; (4) add the learner to the bit-identity tests. Keep per-episode helpers
``inline="always"`` with plain array arguments: passing an array to a non-inlined numba function,
or taking it out of a tuple, updates its reference count (tens to hundreds of ns per episode).

Value hook
----------
A learner with ``value_function()`` -> V_0 (S,), its own estimate of the value at step 0 of the
policy it plays next (UCBVI's and Q-learning's optimistic V_0), gets a column
``value_estimate`` = rho0 . V_0 at each checkpoint, next to the exact ``value``.

Records
-------
=========  ==========  ==============================================================
symbol     shape       meaning
=========  ==========  ==============================================================
Episode.s  (H + 1,)    states s_0 .. s_H (int64; s_H is the state after the last step)
Episode.a  (H,)        actions a_0 .. a_{H-1} (int64)
Episode.r  (H,)        rewards r_0 .. r_{H-1} (float64; mean or Bernoulli, see ``online``)
Dataset.s  (N, H + 1)  N episodes stacked; Dataset.a (N, H), Dataset.r (N, H)
=========  ==========  ==============================================================
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..kernels import online as kon
from ..kernels import sampling as ksamp
from ..models import _validate
from ..models.policies import validate_policy
from ..solvers._common import as_finite
from ..solvers.finite import backward_induction

_POLICY_TOL = kon.POLICY_TOL
_CACHE_SIZE = kon.EVAL_CACHE_SIZE   # FIFO cache of evaluated policies (both loops)
_BLOCK = 4096                # episodes per block of uniforms


@dataclass(frozen=True, eq=False, slots=True)
class Episode:
    """One episode of a finite-horizon MDP (steps h = 0..H-1).

    ======  ========  =====================================================================
    symbol  shape     meaning
    ======  ========  =====================================================================
    s       (H + 1,)  int64 states s_0 .. s_H; s_h is where a_h was taken, s_H the final state
    a       (H,)      int64 actions a_h ~ pi_h(. | s_h)
    r       (H,)      float64 rewards of (s_h, a_h): the mean r_h(s_h, a_h) or a Bernoulli draw
    ======  ========  =====================================================================
    """

    s: np.ndarray
    a: np.ndarray
    r: np.ndarray

    @property
    def H(self) -> int:
        return self.a.shape[0]

    @property
    def ret(self) -> float:
        """Sampled return sum_h r_h."""
        return float(self.r.sum())


@dataclass(frozen=True, eq=False)
class Dataset:
    """N episodes: ``s`` (N, H + 1) int64, ``a`` (N, H) int64, ``r`` (N, H) float64."""

    s: np.ndarray
    a: np.ndarray
    r: np.ndarray

    def __len__(self) -> int:
        return self.a.shape[0]

    @property
    def H(self) -> int:
        return self.a.shape[1]

    def episode(self, i: int) -> Episode:
        return Episode(self.s[i], self.a[i], self.r[i])

    def __iter__(self):
        return (self.episode(i) for i in range(len(self)))

    def head(self, n: int) -> Dataset:
        """The first n episodes (views), e.g. for a sweep over the dataset size."""
        return Dataset(self.s[:n], self.a[:n], self.r[:n])


def _check_policy(pi, H: int, S: int, A: int, where: str) -> np.ndarray:
    """pi as float64 (H, S, A) with probability rows; ``where`` names it in errors."""
    if not isinstance(pi, np.ndarray) or pi.dtype != np.float64:
        pi = np.asarray(pi, dtype=np.float64)
    if pi.shape != (H, S, A):
        raise ValueError(f"{where} has shape {pi.shape}, expected (H, S, A) = "
                         f"{(H, S, A)}")
    if not np.all(np.isfinite(pi)) or pi.min() < -_POLICY_TOL:
        idx = np.unravel_index(int(np.argmin(np.where(np.isfinite(pi), pi, -np.inf))), pi.shape)
        raise ValueError(f"{where}: pi[{idx[0]}, {idx[1]}, {idx[2]}] is "
                         f"{pi[idx]}, expected a probability")
    err = np.abs(pi.sum(axis=-1) - 1.0)
    if err.max() > _POLICY_TOL:
        h, s = np.unravel_index(int(np.argmax(err)), err.shape)
        raise ValueError(f"{where}: pi[{h}, {s}] sums to "
                         f"{pi[h, s].sum():.10g}, expected 1 (tolerance {_POLICY_TOL})")
    return pi


def _check_runner_model(fin, learner=None):
    """The runners compute exact values with V_H = 0 and no discount, and sample any action:
    refuse models with gamma < 1, terminal values or an action mask; then let the learner
    check the model against its theory (``learner.check_model(mdp)``, when it has one)."""
    if not fin.is_plain:
        raise ValueError(f"the online/offline runners take undiscounted episodic models with "
                         f"V_terminal = 0 and no action mask; got {fin!r}")
    if learner is not None and hasattr(learner, "check_model"):
        learner.check_model(fin)


def _support(P):
    """succ (G, S, A, B), n_succ (G, S, A), p_succ (G, S, A, B): the positive entries of each
    row of P, increasing, and their probabilities (B = the largest support; padding: the row's
    first successor with probability 0, so a padded term is 0 * a value the pass computed).
    G = 1 when every step has the same transitions (P[h] == P[0] for all h: one block serves
    all steps, and stays in cache), else G = H; the kernels read step h at g = h or 0."""
    if P.shape[0] > 1 and (P == P[:1]).all():
        P = P[:1]
    pos = P > 0
    n_succ = pos.sum(axis=-1).astype(np.int64)
    B = max(int(n_succ.max()), 1)
    order = np.argsort(~pos, axis=-1, kind="stable")[..., :B]
    succ = np.where(np.arange(B) < n_succ[..., None], order, order[..., :1])
    p_succ = np.where(np.arange(B) < n_succ[..., None], np.take_along_axis(P, succ, -1), 0.0)
    return (np.ascontiguousarray(succ, dtype=np.int64), n_succ,
            np.ascontiguousarray(p_succ, dtype=np.float64))


def _reach(P, rho0):
    """reach (H, S) int64, n_reach (H,) int64: reach[h, :n_reach[h]] lists, increasing, the
    states that some policy reaches at step h with positive probability from rho0 (reach[0]:
    the support of rho0; reach[h + 1]: every successor of a listed state under any action).
    The exact evaluation needs V_h only there
    (:func:`mdptheory.kernels.online.deterministic_value_packed`)."""
    H, S = P.shape[0], P.shape[1]
    reach = np.zeros((H, S), dtype=np.int64)
    n_reach = np.zeros(H, dtype=np.int64)
    live = rho0 > 0
    for h in range(H):
        idx = np.flatnonzero(live)
        reach[h, :idx.size] = idx
        n_reach[h] = idx.size
        live = (P[h][live] > 0).any(axis=(0, 1))
    return reach, n_reach


class _Evaluator:
    """V^pi_0(rho0) on a fixed model, cached per policy (FIFO, bounded).

    A policy equal (bit for bit) to the previous one costs one comparison. A new one is read in
    one kernel pass (validity, and whether it is deterministic); a deterministic policy is keyed
    by its action table (H * S integers) and evaluated in O(H S B), a stochastic one by its bytes.
    Only policies not in the cache are evaluated.
    """

    def __init__(self, P, r, rho0, check: bool = True):
        self.P, self.r, self.rho0 = P, r, rho0
        self.H, self.S, self.A = r.shape
        self.succ, self.n_succ, self.p_succ = _support(P)   # sparse rows of P
        self.reach, self.n_reach = _reach(P, rho0)           # states reachable at each step
        self.V = np.zeros((self.H + 1, self.S))        # V[h, s], V[H] = 0
        self.act = np.zeros((self.H, self.S), dtype=np.int64)
        self.cache: dict[bytes, float] = {}
        self.last_key = b""
        self.last_value = np.nan
        self.evaluations = 0
        self.check = check

    def value(self, pi: np.ndarray, k: int) -> float:
        if not pi.flags.c_contiguous:
            pi = np.ascontiguousarray(pi)
        key = pi.tobytes()
        if key == self.last_key:
            return self.last_value
        if pi.shape != (self.H, self.S, self.A):
            _check_policy(pi, self.H, self.S, self.A, f"policy of episode {k}")
        defect, det = kon.policy_digest(pi, _POLICY_TOL, self.act)
        if self.check and defect >= 0:
            _check_policy(pi, self.H, self.S, self.A, f"policy of episode {k}")
        ckey = b"d" + self.act.tobytes() if det else key
        v = self.cache.get(ckey)
        if v is None:
            if det:
                v = kon.deterministic_value_packed(self.p_succ, self.succ, self.n_succ, self.r,
                                                   self.act, self.rho0, self.reach, self.n_reach,
                                                   self.V)
            else:
                v = kon.policy_value_sparse(self.P, self.succ, self.n_succ, self.r, pi,
                                            self.rho0, self.V)
            self.evaluations += 1
            if len(self.cache) >= _CACHE_SIZE:
                del self.cache[next(iter(self.cache))]
            self.cache[ckey] = v
        self.last_key, self.last_value = key, v
        return v


def _checkpoint_set(checkpoints, K: int) -> np.ndarray:
    if checkpoints is None:
        from ..analysis.stats import log_spaced
        return log_spaced(K)
    c = np.unique(np.asarray(checkpoints, dtype=np.int64))
    if c.size == 0 or c[0] < 1 or c[-1] > K:
        raise ValueError(f"checkpoints must lie in [1, K={K}], got min {c.min() if c.size else None}"
                         f", max {c.max() if c.size else None}")
    return c


class _Tally:
    """The compiled loops' record of exact regret (see :mod:`mdptheory.kernels.online`):
    ``truth`` and ``arrays`` are the tuples the kernels take. Memory O(cache H S), never O(K)."""

    def __init__(self, evaluator: _Evaluator, v_star: float):
        ev = evaluator
        C = kon.EVAL_CACHE_SIZE
        self.truth = (ev.P, ev.r, ev.rho0, ev.succ, ev.n_succ, ev.p_succ, ev.reach, ev.n_reach)
        self.acc = np.array([0.0, np.nan, v_star])       # [regret, value, V*]
        self.cnt = np.array([0, 0, 0, 1], dtype=np.int64)  # [evaluations, fill, slot, changed]
        # cached action tables in the narrowest integer type that holds every action (a
        # smaller ring to write into and to compare: the same decisions as int64 keys)
        kdt = np.int8 if ev.A <= 127 else np.int16 if ev.A <= 32767 else np.int64
        self.arrays = (self.acc, self.cnt, np.zeros((C, ev.H, ev.S), dtype=kdt),
                       np.zeros(C, dtype=np.int64), np.zeros(C), ev.V, kon.cache_index(C))


def _use_compiled(learner, compiled):
    loop = getattr(learner, "compiled_episodes", None)
    if compiled is None:
        return loop
    if compiled:
        if loop is None:
            raise TypeError(f"compiled=True, but {type(learner).__name__} has no compiled "
                            f"episode loop (method compiled_episodes)")
        return loop
    return None


def online(learner, mdp, K: int, *, rng, checkpoints=None, bernoulli_rewards: bool = False,
           check_policies: bool = True, compiled: bool | None = None) -> pd.DataFrame:
    """Run ``learner`` for K episodes on ``mdp`` and record exact regret at checkpoints.

    Parameters
    ----------
    learner
        Object with ``policy()`` -> pi (H, S, A) (rows sum to 1) for the next episode and
        ``update(episode: Episode)`` after it; optionally ``metrics()`` -> dict of scalars,
        ``value_function()`` -> V_0 (S,) (the value hook) and ``compiled_episodes`` (the
        compiled loop); see the module docstring.
    mdp : FiniteHorizonMDP or LinearMDP
        The true environment (a LinearMDP is converted with ``.to_finite()``): undiscounted,
        V_terminal = 0, no action mask. A learner with a ``check_model(mdp)`` method checks
        the model against its theory first (e.g. rewards in [0, 1]).
    K : int
        Number of episodes.
    rng : numpy.random.Generator or int
        The only source of randomness of the episodes.
    checkpoints : array of int in [1, K], optional
        Episode counts k at which a row is recorded (default ``analysis.log_spaced(K)``).
    bernoulli_rewards : bool
        Observed rewards are the means r_h(s, a) (default) or Bernoulli draws with that mean.
    check_policies : bool
        Validate each *new* policy (shape, probability rows) before evaluating it (generic
        loop; a compiled loop builds its policies valid).
    compiled : bool or None
        None (default): the learner's compiled loop if it has one, else the generic loop;
        False: the generic loop; True: the compiled loop (TypeError if there is none). Both
        give the same table, bit for bit (``wall_time`` aside).

    Returns
    -------
    pandas.DataFrame
        One row per checkpoint k: ``k``; ``regret`` = sum_{j<=k} (V* - V^{pi_j})(rho0) over
        every episode j (not only checkpoints); ``episode_regret`` = V* - V^{pi_k}; ``value``
        = V^{pi_k}_0(rho0); ``optimal_value`` = V*_0(rho0); ``wall_time`` (s since start,
        after episode k's update); ``evaluations`` (distinct policies evaluated so far); the
        learner's ``metrics()``; and ``value_estimate`` = rho0 . ``value_function()`` (the
        learner's own estimate after episode k's update) if the learner has the hook.
    """
    K = _validate.positive_int("K", K)
    rng = _validate.rng(rng)
    loop = _use_compiled(learner, compiled)
    fin = as_finite(mdp)
    _check_runner_model(fin, learner)
    H = fin.H
    P = np.ascontiguousarray(fin.P)          # (H, S, A, S); materialised once (fast rows)
    r = np.ascontiguousarray(fin.r)          # (H, S, A)
    rho0 = np.ascontiguousarray(fin.rho0)    # (S,)
    v_star = backward_induction(fin).value(rho0)
    cps = _checkpoint_set(checkpoints, K)
    evaluator = _Evaluator(P, r, rho0, check=check_policies)
    metrics = getattr(learner, "metrics", None)
    value_fn = getattr(learner, "value_function", None)
    bern = bool(bernoulli_rewards)
    n_u = (3 if bern else 2) * H + 1                 # uniforms per episode
    rows = []
    t0 = time.perf_counter()

    def record(k, cum, v, evaluations):
        row = {"k": k, "regret": cum, "episode_regret": v_star - v, "value": v,
               "optimal_value": v_star, "wall_time": time.perf_counter() - t0,
               "evaluations": evaluations}
        if metrics is not None:
            row.update(metrics())
        if value_fn is not None:
            row["value_estimate"] = float(np.dot(rho0, np.asarray(value_fn(), dtype=float)))
        rows.append(row)

    if loop is not None:
        tally = _Tally(evaluator, v_star)
        k = 0
        for cp in cps.tolist():
            while k < cp:
                n = min(_BLOCK, cp - k)
                loop(tally.truth, tally.arrays, rng.random((n, n_u)), bern)  # same stream
                k += n
            record(cp, float(tally.acc[0]), float(tally.acc[1]), int(tally.cnt[0]))
        while k < K:                                 # episodes after the last checkpoint
            n = min(_BLOCK, K - k)
            loop(tally.truth, tally.arrays, rng.random((n, n_u)), bern)
            k += n
        return pd.DataFrame(rows)

    block = max(1, min(K, _BLOCK))
    cum = 0.0
    next_i = 0
    next_cp = int(cps[0])
    for k in range(1, K + 1):
        j = (k - 1) % block
        if j == 0:
            U = rng.random((min(block, K - k + 1), n_u))  # same stream as sample_episodes
        pi = learner.policy()
        if type(pi) is not np.ndarray or pi.dtype != np.float64:
            pi = np.asarray(pi, dtype=np.float64)
        v = evaluator.value(pi, k)
        cum += v_star - v
        s_ep = np.empty(H + 1, dtype=np.int64)       # fresh: learners may keep episodes
        a_ep = np.empty(H, dtype=np.int64)
        r_ep = np.empty(H)
        kon.sample_episode(P, r, pi, rho0, U[j], bern, s_ep, a_ep, r_ep)
        learner.update(Episode(s_ep, a_ep, r_ep))
        if k == next_cp:
            record(k, cum, v, evaluator.evaluations)
            next_i += 1
            next_cp = int(cps[next_i]) if next_i < cps.size else -1
    return pd.DataFrame(rows)


def collect(mdp, pi, N: int, *, rng, bernoulli_rewards: bool = False) -> Dataset:
    """N episodes of the behaviour policy pi (H, S, A) on ``mdp`` (one numba call); on a
    masked model pi must put no mass on unavailable actions."""
    N = _validate.positive_int("N", N)
    rng = _validate.rng(rng)
    fin = as_finite(mdp)
    H, S, A = fin.H, fin.S, fin.A
    pi = np.asarray(pi, dtype=np.float64)
    if pi.ndim == 2:
        pi = np.broadcast_to(pi, (H, S, A))
    pi = np.ascontiguousarray(_check_policy(pi, H, S, A, "behaviour policy pi"))
    if fin.mask is not None:                   # never sample an unavailable action
        validate_policy(pi, (H, S, A), "behaviour policy pi", fin.mask)
    s = np.empty((N, H + 1), dtype=np.int64)
    a = np.empty((N, H), dtype=np.int64)
    rew = np.empty((N, H))
    ksamp.sample_episodes(np.ascontiguousarray(fin.P), np.ascontiguousarray(fin.r), pi,
                          np.ascontiguousarray(fin.rho0), rng, bool(bernoulli_rewards), s, a, rew)
    return Dataset(s, a, rew)


def offline(algorithm, mdp, dataset: Dataset, **kwargs) -> pd.DataFrame:
    """Run an offline algorithm on ``dataset`` and record the exact suboptimality of its output.

    ``algorithm(dataset, **kwargs)`` (or ``algorithm.fit(dataset, **kwargs)``) returns a policy
    pi (H, S, A), or a pair ``(pi, metrics: dict)`` whose metrics become columns.

    Returns a one-row DataFrame: ``N`` (episodes in the dataset), ``suboptimality`` =
    V*_0(rho0) - V^pi_0(rho0), ``value``, ``optimal_value``, ``wall_time`` (s spent in the
    algorithm), and the metrics.
    """
    fin = as_finite(mdp)
    _check_runner_model(fin)
    fit = algorithm.fit if hasattr(algorithm, "fit") else algorithm
    t0 = time.perf_counter()
    out = fit(dataset, **kwargs)
    wall = time.perf_counter() - t0
    pi, extra = (out if isinstance(out, tuple) else (out, {}))
    pi = _check_policy(np.asarray(pi, dtype=np.float64), fin.H, fin.S, fin.A,
                       "policy returned by the offline algorithm")
    evaluator = _Evaluator(np.ascontiguousarray(fin.P), np.ascontiguousarray(fin.r),
                           np.ascontiguousarray(fin.rho0), check=False)
    v = evaluator.value(np.ascontiguousarray(pi), 0)
    v_star = backward_induction(fin).value(fin.rho0)
    row = {"N": len(dataset), "suboptimality": v_star - v, "value": v, "optimal_value": v_star,
           "wall_time": wall}
    row.update(extra)
    return pd.DataFrame([row])


__all__ = ["Dataset", "Episode", "collect", "offline", "online"]
