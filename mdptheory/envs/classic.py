"""Classic hard-exploration chains: RiverSwim, the Chain problem and the combination lock.

Each returns a stationary :class:`FiniteHorizonMDP` (``H`` given; P of shape (H, S, A, S)) or a
:class:`DiscountedMDP` (``gamma`` given; P of shape (S, A, S)); exactly one of the two. States
are 0..S-1 from left to right and every episode starts in state 0 (rho0 = delta_0). Rewards are
mean rewards r[s, a] scaled into [0, 1].
"""
from __future__ import annotations

import numpy as np

from ..models import _validate
from . import _common

LEFT, RIGHT = 0, 1


def river_swim(S: int = 6, *, H: int | None = None, gamma: float | None = None,
               small_reward: float = 0.005, large_reward: float = 1.0):
    """RiverSwim: a river of S states; swimming left (with the current) is easy, right is hard.

    Numbers of Osband, Russo & Van Roy (2013), "(More) efficient reinforcement learning via
    posterior sampling", NeurIPS (a rescaling of Strehl & Littman 2008, JCSS 74(8),
    whose rewards are 5 and 10000). Actions: 0 = left, 1 = right.

    * left: s -> max(s - 1, 0) with probability 1;
    * right in state 0:        stay 0.4, s+1 0.6;
    * right in 0 < s < S - 1:  s-1 0.05, stay 0.6, s+1 0.35;
    * right in state S - 1:    s-1 0.4, stay 0.6;
    * r[0, left] = small_reward (0.005 = 5/1000), r[S-1, right] = large_reward (1), else 0.

    Parameters
    ----------
    S : int
        Number of states (>= 2; default 6, the papers' size).
    H, gamma
        Horizon or discount (exactly one).
    small_reward, large_reward : float
        The two rewards, in [0, 1].

    Returns
    -------
    FiniteHorizonMDP or DiscountedMDP
        A = 2, rho0 = delta_0.
    """
    S = _validate.positive_int("S", S)
    if S < 2:
        raise ValueError(f"S must be >= 2 for RiverSwim (a leftmost and a rightmost state), "
                         f"got {S}")
    H, gamma = _common.horizon_or_discount(H, gamma)
    small = _common.probability("small_reward", small_reward)
    large = _common.probability("large_reward", large_reward)
    P = np.zeros((S, 2, S))                        # P[s, a, s_next]
    s = np.arange(S)
    P[s, LEFT, np.maximum(s - 1, 0)] = 1.0
    P[0, RIGHT, 0], P[0, RIGHT, 1] = 0.4, 0.6
    mid = np.arange(1, S - 1)
    P[mid, RIGHT, mid - 1] = 0.05
    P[mid, RIGHT, mid] = 0.6
    P[mid, RIGHT, mid + 1] = 0.35
    P[S - 1, RIGHT, S - 2], P[S - 1, RIGHT, S - 1] = 0.4, 0.6
    r = np.zeros((S, 2))                           # r[s, a]
    r[0, LEFT] = small
    r[S - 1, RIGHT] = large
    return _common.build(P, r, _common.point_mass(S, 0), H, gamma)


def chain(S: int = 5, *, H: int | None = None, gamma: float | None = None, slip: float = 0.2,
          forward_reward: float = 1.0, return_reward: float = 0.2):
    """The Chain problem of Strens (2000) / Dearden, Friedman & Russell (1998), scaled by 1/10.

    Sources: M. Strens, "A Bayesian framework for reinforcement learning", ICML 2000;
    Dearden, Friedman & Russell, "Bayesian Q-learning", AAAI 1998 (S = 5, slip 0.2, rewards 10
    at the end and 2 for returning). Actions: 0 = forward ("a"), 1 = return ("b").

    * forward: s -> min(s + 1, S - 1); reward 0, except ``forward_reward`` (10/10) when taken in
      the last state, where the agent stays;
    * return: s -> 0 with reward ``return_reward`` (2/10);
    * with probability ``slip`` the *other* action is executed (and its reward paid).

    ``r[s, a]`` is the mean reward under the slip: e.g. r[s, forward] = (1 - slip) * R_fwd(s)
    + slip * return_reward.

    Parameters
    ----------
    S : int
        Chain length (>= 1, default 5).
    H, gamma
        Horizon or discount (exactly one).
    slip : float
        Probability in [0, 1] that the opposite action is executed.
    forward_reward, return_reward : float
        Rewards in [0, 1].

    Returns
    -------
    FiniteHorizonMDP or DiscountedMDP
        A = 2, rho0 = delta_0.
    """
    S = _validate.positive_int("S", S)
    H, gamma = _common.horizon_or_discount(H, gamma)
    slip = _common.probability("slip", slip)
    fwd_r = _common.probability("forward_reward", forward_reward)
    ret_r = _common.probability("return_reward", return_reward)
    s = np.arange(S)
    move = np.zeros((S, S))                        # move[s, s_next] of the executed forward
    move[s, np.minimum(s + 1, S - 1)] = 1.0
    back = np.zeros((S, S))                        # ... and of the executed return
    back[:, 0] = 1.0
    R_fwd = np.zeros(S)
    R_fwd[S - 1] = fwd_r
    P = np.empty((S, 2, S))                        # P[s, a, s_next]
    P[:, 0] = (1.0 - slip) * move + slip * back
    P[:, 1] = (1.0 - slip) * back + slip * move
    r = np.empty((S, 2))                           # r[s, a] (mean over the slip)
    r[:, 0] = (1.0 - slip) * R_fwd + slip * ret_r
    r[:, 1] = (1.0 - slip) * ret_r + slip * R_fwd
    return _common.build(P, r, _common.point_mass(S, 0), H, gamma)


def combination_lock(S: int, H: int | None = None, *, A: int = 2, gamma: float | None = None,
                     rng=None, correct_actions=None):
    """Deterministic combination lock: one right action per state, any wrong one resets.

    States 0..S-2 are the lock, S-1 is the open (goal) state. In state s < S-1 action
    ``correct_actions[s]`` moves to s+1 and every other action returns to state 0; the goal is
    absorbing and pays reward 1 per step under every action (all other rewards are 0).
    A uniformly random policy opens the lock only with probability A^-(S-1) per attempt, the
    classic instance on which undirected exploration needs exponentially many episodes (Koenig
    & Simmons 1993, "Complexity analysis of real-time reinforcement learning", AAAI; used as
    "combination lock" by Du et al. 2019, "Provably efficient RL with rich observations via
    latent state decoding", ICML).

    Closed-form optimal values (0-based steps h):
    V*_h(s) = max(0, H - h - (S - 1 - s)) for the episodic model, and
    V*(s) = gamma^(S - 1 - s) / (1 - gamma) for the discounted one.

    Parameters
    ----------
    S : int
        Number of states including the goal (>= 1; S = 1 is the goal alone).
    H : int, optional
        Horizon (exactly one of H and gamma).
    A : int
        Number of actions (>= 1).
    gamma : float, optional
        Discount in [0, 1).
    rng : numpy.random.Generator or int, optional
        Draws ``correct_actions`` uniformly from 0..A-1 when they are not given.
    correct_actions : array of int of shape (S - 1,), optional
        The combination. Exactly one of ``rng`` and ``correct_actions`` must be given.

    Returns
    -------
    FiniteHorizonMDP or DiscountedMDP
        rho0 = delta_0.
    """
    S = _validate.positive_int("S", S)
    A = _validate.positive_int("A", A)
    H, gamma = _common.horizon_or_discount(H, gamma)
    if (rng is None) == (correct_actions is None):
        raise ValueError("give exactly one of rng (random combination) or correct_actions, got "
                         + ("neither" if rng is None else "both"))
    if correct_actions is None:
        combo = _validate.rng(rng).integers(0, A, size=S - 1)
    else:
        combo = np.asarray(correct_actions)
        if not np.issubdtype(combo.dtype, np.integer):
            raise TypeError(f"correct_actions must be integers, got dtype {combo.dtype}")
        _validate.shape("correct_actions", combo, expected=(S - 1,))
        bad = (combo < 0) | (combo >= A)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"correct_actions[{i}] is {combo[i]}, expected an action in "
                             f"[0, {A - 1}]")
    P = np.zeros((S, A, S))                        # P[s, a, s_next]
    P[:, :, 0] = 1.0                               # wrong action: back to the start
    lock = np.arange(S - 1)
    P[lock, combo, 0] = 0.0
    P[lock, combo, lock + 1] = 1.0
    P[S - 1] = 0.0
    P[S - 1, :, S - 1] = 1.0                       # open lock is absorbing
    r = np.zeros((S, A))                           # r[s, a]
    r[S - 1] = 1.0
    return _common.build(P, r, _common.point_mass(S, 0), H, gamma)
