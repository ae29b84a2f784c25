"""A combination lock that undirected exploration cannot open within a given number of episodes,
chosen by a rule fixed before any learner runs on it.

The actor-critic experiments (Tan, Fan & Wei 2025, "Actor-Critics Can Achieve Optimal Sample
Efficiency", ICML; docs/papers/actor_critic.md) use the combination lock
(:func:`mdptheory.envs.combination_lock`) as the exploration-hard instance: without optimism an
actor-critic plays the uniform policy until it first sees a reward, so the lock is only
exploration-hard for a run of T episodes when the uniform policy opens it far less than once in
T episodes.

Selection rule (pre-registered; deterministic; no learner is involved):

* candidates, in this order: S = S_min, S_min + 1, ..., S_max, with A fixed and H = S + H_extra
  (so V*_0 = H_extra + 1 > 0), the combination drawn from ``rng`` (an integer seed) for each
  candidate;
* p_open = probability that the uniform policy is in the open state at the last step, computed
  exactly by the forward occupancy recursion (the open state is absorbing, so this is the
  probability of opening the lock within the episode);
* accept the first candidate with T p_open <= ``max_openings`` (the expected number of episodes
  out of T in which uniform play opens the lock); every earlier candidate is rejected and
  returned with its p_open.
"""
from __future__ import annotations


import numpy as np

from ..models import _validate
from ..solvers.finite import occupancy_measure
from .classic import combination_lock


def uniform_open_probability(mdp) -> float:
    """Probability that the uniform policy is in the last state (the open lock) at the last step
    of an episode of ``mdp`` (a finite-horizon combination lock), by exact occupancy."""
    pi = np.full((mdp.H, mdp.S, mdp.A), 1.0 / mdp.A)
    return float(occupancy_measure(mdp, pi)[-1, -1].sum())


def hard_combination_lock(T: int, *, A: int = 3, S_min: int = 2, S_max: int = 64,
                          H_extra: int = 2, max_openings: float = 0.01, rng: int = 0):
    """The first lock of the selection rule above for a run of ``T`` episodes.

    Returns ``(mdp, candidates)``: the accepted lock and a list of dicts (S, H, A, p_open,
    expected_openings = T p_open, accepted) for every candidate examined, the rejected ones
    first. ValueError when no S <= S_max is accepted.
    """
    T = _validate.positive_int("T", T)
    A = _validate.positive_int("A", A)
    if A < 2:
        raise ValueError(f"A must be >= 2 for a lock that uniform play can miss, got {A}")
    S_min = _validate.positive_int("S_min", S_min)
    S_max = _validate.positive_int("S_max", S_max)
    H_extra = _validate.positive_int("H_extra", H_extra)
    max_openings = _validate.real("max_openings", max_openings, lo=0.0, lo_open=True)
    if not isinstance(rng, (int, np.integer)):
        raise TypeError(f"rng must be an integer seed (the rule is deterministic), got "
                        f"{type(rng).__name__}")
    candidates = []
    for S in range(max(S_min, 2), S_max + 1):
        H = S + H_extra
        mdp = combination_lock(S, H, A=A, rng=int(rng))
        p = uniform_open_probability(mdp)
        ok = T * p <= max_openings
        candidates.append({"S": S, "H": H, "A": A, "p_open": p, "expected_openings": T * p,
                           "accepted": bool(ok)})
        if ok:
            return mdp, candidates
    raise ValueError(f"no lock with S <= S_max = {S_max} (A = {A}, H = S + {H_extra}) has "
                     f"T p_open <= {max_openings:g} for T = {T}; raise S_max")


def describe(candidates) -> str:
    """One line: the accepted lock and the rejected candidates with their expected openings."""
    acc = [c for c in candidates if c["accepted"]]
    rej = [c for c in candidates if not c["accepted"]]
    head = (f"lock S = {acc[0]['S']}, A = {acc[0]['A']}, H = {acc[0]['H']}, p_open = "
            f"{acc[0]['p_open']:.3g}, T p_open = {acc[0]['expected_openings']:.3g}"
            if acc else "no lock accepted")
    if rej:
        head += "; rejected (T p_open): " + ", ".join(
            f"S = {c['S']} ({c['expected_openings']:.3g})" for c in rej)
    return head



__all__ = ["describe", "hard_combination_lock", "uniform_open_probability"]
