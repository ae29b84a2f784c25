"""gymnasium in both directions (optional dependency: ``pip install 'mdptheory[gym]'``).

:func:`from_gymnasium` builds the exact model of an environment that exposes its transition
table ``env.unwrapped.P`` (``P[s][a]`` = list of ``(prob, next_state, reward, terminated)``,
as gymnasium's toy-text environments FrozenLake, CliffWalking and Taxi do):

* states 0..S-1 are the environment's; state S is an absorbing, zero-reward state that every
  *terminated* transition enters (so a discounted or finite-horizon value counts rewards up to
  termination, as an episode does); time-limit truncation is not part of the model;
* r(s, a) = sum over the table's entries of prob * reward, the expected reward (rewards that
  depend on the next state, as FrozenLake's goal reward, become expected rewards);
* rho0 is the environment's ``initial_state_distrib`` (or the ``rho0`` argument).

:func:`to_gymnasium` wraps a model as a ``gymnasium.Env`` with ``Discrete`` spaces. It samples
with mdptheory's own inverse-CDF draw (:func:`mdptheory.kernels.sampling.draw`) from uniforms of
the Generator that ``reset(seed=...)`` seeds (``env.np_random``), so a seed fixes the episode.
Rewards are the model's mean rewards. A finite-horizon model is truncated after H steps
(``info["step"]`` counts them); a discounted one runs until the caller stops. On a masked model
``info["action_mask"]`` (int8, gymnasium's convention) lists the available actions and
``action_space.sample()`` draws only among them. A masked action is, by default
(``masked_action="first"``), executed as the first available action of the state and reported
in ``info["executed_action"]``: the environment is then the model in which every masked action
duplicates an available one, which has the same optimal values, so nothing learnt in it can beat
the model's V*. (gymnasium's ``check_env`` draws an action *before* it resets, so it may send an
action that the new state lacks.) ``masked_action="raise"`` makes it a ValueError.
"""
from __future__ import annotations

import functools
import typing

import numpy as np

from ..kernels.sampling import draw
from ..models import _validate
from ..models.finite import DiscountedMDP, FiniteHorizonMDP


class NoTransitionTableError(TypeError):
    """The gymnasium environment does not expose a transition table ``env.unwrapped.P``."""


def _discrete_n(space, name: str) -> int:
    n = getattr(space, "n", None)
    if n is None or type(space).__name__ != "Discrete":
        raise TypeError(f"from_gymnasium needs Discrete spaces; the environment's {name} is "
                        f"{space!r}")
    return int(n)


def from_gymnasium(env, gamma: float | None = None, *, horizon: int | None = None, rho0=None):
    """Exact model of a tabular gymnasium environment (module docstring).

    Returns a DiscountedMDP (``gamma`` required) or, with ``horizon=H``, a stationary
    FiniteHorizonMDP (``gamma`` default 1), with S + 1 states (the last one absorbing).
    Raises :class:`NoTransitionTableError` for an environment without ``unwrapped.P``."""
    base = getattr(env, "unwrapped", env)
    table = getattr(base, "P", None)
    if not isinstance(table, dict):
        raise NoTransitionTableError(
            f"from_gymnasium needs an environment that exposes its transition table as "
            f"env.unwrapped.P (P[s][a] = list of (prob, next_state, reward, terminated)), as "
            f"gymnasium's toy-text environments do; {type(base).__name__} has none")
    S = _discrete_n(env.observation_space, "observation space")
    A = _discrete_n(env.action_space, "action space")
    P = np.zeros((S + 1, A, S + 1))
    r = np.zeros((S + 1, A))
    for s in range(S):
        row = table.get(s)
        if row is None:
            raise ValueError(f"env.unwrapped.P has no entry for state {s} (S = {S})")
        for a in range(A):
            outcomes = row.get(a) if isinstance(row, dict) else row[a]
            if not outcomes:
                raise ValueError(f"env.unwrapped.P[{s}][{a}] is empty")
            for prob, nxt, rew, terminated in outcomes:
                t = S if terminated else int(nxt)
                if not 0 <= t <= S:
                    raise ValueError(f"env.unwrapped.P[{s}][{a}] moves to state {nxt}, "
                                     f"outside [0, {S - 1}]")
                P[s, a, t] += float(prob)
                r[s, a] += float(prob) * float(rew)
    P[S, :, S] = 1.0                                   # absorbing, zero reward
    if rho0 is None:
        init = getattr(base, "initial_state_distrib", None)
        if init is None:
            raise ValueError(f"{type(base).__name__} has no initial_state_distrib; pass rho0")
        rho0 = np.append(np.asarray(init, dtype=np.float64), 0.0)
    if horizon is not None:
        return FiniteHorizonMDP.stationary(P, r, horizon, rho0,
                                           gamma=1.0 if gamma is None else gamma)
    if gamma is None:
        raise ValueError("gamma is required for a discounted model, or pass horizon=H")
    return DiscountedMDP(P, r, gamma, rho0)


@functools.lru_cache(maxsize=1)
def _env_class():
    import gymnasium
    from gymnasium import spaces

    class StateMaskedDiscrete(spaces.Discrete):
        """Discrete actions whose ``sample()`` draws among the actions available in the
        environment's current state (all of them before the first reset)."""

        current_mask = None

        def sample(self, mask=None, probability=None):
            if mask is None and probability is None and self.current_mask is not None:
                mask = self.current_mask
            return super().sample(mask=mask, probability=probability)

    class MDPEnv(gymnasium.Env):
        """A mdptheory model as a gymnasium environment (see :func:`to_gymnasium`)."""

        metadata: typing.ClassVar[dict] = {"render_modes": []}

        def __init__(self, mdp, masked_action):
            super().__init__()
            self.mdp = mdp
            self.masked_action = masked_action
            self.finite = isinstance(mdp, FiniteHorizonMDP)
            self.observation_space = spaces.Discrete(mdp.S)
            self.action_space = StateMaskedDiscrete(mdp.A)
            self.rho0 = np.ascontiguousarray(mdp.rho0)
            self.state = None
            self.h = 0

        def _available(self):
            mask = self.mdp.mask
            if mask is None:
                return None
            row = mask[self.h, self.state] if self.finite else mask[self.state]
            return row.astype(np.int8)

        def _info(self):
            info = {"step": self.h}
            avail = self._available()
            self.action_space.current_mask = avail
            if avail is not None:
                info["action_mask"] = avail
            return info

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.state = int(draw(self.rho0, self.np_random.random()))
            self.h = 0
            return self.state, self._info()

        def _row(self, a):
            mdp, s = self.mdp, self.state
            if self.finite:
                return mdp.P[self.h, s, a], None, float(mdp.r[self.h, s, a])
            if mdp.is_sparse:
                return mdp.P.probs[s, a], mdp.P.indices[s, a], float(mdp.r[s, a])
            return mdp.P[s, a], None, float(mdp.r[s, a])

        def step(self, action):
            if self.state is None:
                raise RuntimeError("call reset() before step()")
            if not self.action_space.contains(action):
                raise ValueError(f"action {action!r} is not in {self.action_space}")
            a = int(action)
            avail = self._available()
            executed = a
            if avail is not None and not avail[a]:
                if self.masked_action == "raise":
                    raise ValueError(f"action {a} is not available in state {self.state}"
                                     + (f" at step {self.h}" if self.finite else "")
                                     + " (info['action_mask'])")
                executed = int(np.argmax(avail))
            p, idx, reward = self._row(executed)
            j = int(draw(np.ascontiguousarray(p), self.np_random.random()))
            self.state = int(idx[j]) if idx is not None else j
            self.h += 1
            truncated = self.finite and self.h >= self.mdp.H
            if truncated:
                self.action_space.current_mask = None
                info = {"step": self.h}
            else:
                info = self._info()
            if executed != a:
                info["executed_action"] = executed
            return self.state, reward, False, truncated, info

    return MDPEnv


def to_gymnasium(mdp, *, masked_action: str = "first"):
    """A ``gymnasium.Env`` that samples ``mdp`` (FiniteHorizonMDP or DiscountedMDP; module
    docstring). ``masked_action``: "first" (execute the state's first available action
    instead) or "raise" (ValueError)."""
    if not isinstance(mdp, (FiniteHorizonMDP, DiscountedMDP)):
        raise TypeError(f"mdp must be a FiniteHorizonMDP or DiscountedMDP, got "
                        f"{type(mdp).__name__}")
    if masked_action not in ("first", "raise"):
        raise ValueError(f"masked_action must be 'first' or 'raise', got {masked_action!r}")
    _validate.positive_int("S", mdp.S)
    return _env_class()(mdp, masked_action)


__all__ = ["NoTransitionTableError", "from_gymnasium", "to_gymnasium"]
