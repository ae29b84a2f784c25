"""The American put option of the robust linear RL papers (Tamar et al. 2014 style; used by
Ma et al. 2022, Liu & Xu 2024 and R2PVI, Tang, Liu & Xu 2025), as an exact tabular model.

Documentation: docs/papers/r2pvi.md §7.2 (authors' code
panxulab/Robust-Regularized-Pessimistic-Value-Iteration, ``American_put_opt/env.py``).

* Price s_h; start s_0 ~ Uniform[K_s - 5, K_s + 5] with strike K_s = 100, drawn ONCE per
  instance (as in the code) from ``rng`` unless ``start_price`` is given.
* Actions: 0 = hold, 1 = exercise. Exercise pays max(0, K_s - s_h) and moves to an absorbing
  zero-reward terminal state (the code's price 99999 with zero features). Hold pays 0 and the
  price moves to 1.02 s_h w.p. p (the "price-up probability") and to 0.98 s_h w.p. 1 - p.
* Features (hold only): d anchors s_i = 80 + (i - 1) Delta, Delta = (160 - 60) / d,
  phi_i(s) = max(0, 1 - |s - s_i| / Delta) (hat functions). They sum to 1 only for prices in
  [80, 80 + (d - 1) Delta]: the simplex assumption FAILS below 80 (r2pvi.md §7.2), so the
  FeatureModel is built with ``simplex=False``. Exercise and terminal features are 0: the
  exercise value is known exactly (reward max(0, K_s - s), continuation 0), which is how the
  code treats it (Q(exercise) compared directly with Q_hat(hold)).

Exact tabular form. With a fixed start price the reachable prices form a binomial lattice:
node (h, u) (h = 0..H steps taken, u = 0..h up-moves) has price s_0 1.02^u 0.98^(h - u); state
index h (h + 1) / 2 + u, and the terminal state is the last index, so S = (H + 1)(H + 2)/2 + 1.
At step h only layer-h nodes are reachable; from any other state every action leads to the
terminal state (those rows never matter for values from rho0). Payoffs reach about 37 > 1, so
the FiniteHorizonMDP (which requires rewards in [0, 1]) stores rewards divided by
``reward_scale`` = K_s; :meth:`PutOption.value` multiplies back (exact up to round-off). The
FeatureModel holds the payoffs in their own units, with value caps v_max[h] = the largest
payoff on the lattice (the payoff-unit analogue of the paper's H - h + 1 for rewards in [0, 1];
the code clips Q_hat(hold) at H - h instead).

Differences from the authors' code: the test environment of the code re-draws its start price
with seed 1 for every replication (``American_put_option(p, d)``), while the training start
price uses the replication seed; here train and test share the instance's start price. The
offline data of the code always hold (``always_hold_policy``); a secondary summary says
"uniform random" — UNVERIFIED (docs/papers/r2pvi.md §5).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import backward as kb
from ..models import FiniteHorizonMDP, _validate
from ..models.policies import uniform, validate_policy

HOLD, EXERCISE = 0, 1


def hat_features(prices, d: int, lower: float = 60.0, upper: float = 160.0,
                 first_anchor: float = 80.0) -> np.ndarray:
    """phi_i(s) = max(0, 1 - |s - s_i| / Delta), s_i = first_anchor + (i - 1) Delta,
    Delta = (upper - lower) / d; prices (n,) -> (n, d)."""
    d = _validate.positive_int("d", d)
    delta = (upper - lower) / d
    anchors = first_anchor + delta * np.arange(d)
    x = np.asarray(prices, dtype=np.float64)[:, None]
    return np.maximum(0.0, 1.0 - np.abs(x - anchors[None, :]) / delta)


def lattice_index(h: int, u: int) -> int:
    """State index of lattice node (h, u)."""
    return h * (h + 1) // 2 + u


@dataclass(frozen=True, eq=False)
class PutOption:
    """An American put option instance.

    Attributes
    ----------
    mdp : FiniteHorizonMDP
        Exact tabular model with rewards in units of ``reward_scale`` (P (H, S, 2, S)).
    phi : ndarray (S, 2, d)
        Features (hold: hat features; exercise and terminal: 0). ``simplex`` is False.
    r : ndarray (H, S, 2)
        Known rewards in payoff units (exercise: max(0, strike - price)).
    v_max : ndarray (H + 1,)
        Value caps for the estimated Q (largest payoff on the lattice; 0 at H).
    (phi, r, v_max, simplex) make a PutOption usable wherever the linear algorithms take a
    model: :func:`mdptheory.algorithms.linear_estimation.feature_model` reads them.
    prices : ndarray (S,)
        Price of each state (NaN for the terminal state).
    layer : ndarray (S,) of int
        Lattice layer h of each state (-1 for the terminal state).
    reward_scale, start_price, p, strike : float
    """

    mdp: FiniteHorizonMDP
    phi: np.ndarray
    r: np.ndarray
    v_max: np.ndarray
    prices: np.ndarray
    layer: np.ndarray
    reward_scale: float
    start_price: float
    p: float
    strike: float
    up: float
    down: float

    simplex = False
    zero_states = ()
    H = property(lambda self: self.mdp.H)
    S = property(lambda self: self.mdp.S)
    A = property(lambda self: 2)
    d = property(lambda self: self.phi.shape[2])

    @property
    def terminal(self) -> int:
        return self.mdp.S - 1

    def value(self, pi) -> float:
        """Exact expected return (payoff units) of pi (H, S, 2) from the start price
        (backward evaluation on the lattice)."""
        pi = validate_policy(pi, (self.H, self.S, 2), "pi")
        V = np.zeros((self.H + 1, self.S))
        Q = np.empty((self.H, self.S, 2))
        kb.evaluate_policy(self.mdp.P, self.mdp.r, pi, V, Q)
        return float(V[0, 0] * self.reward_scale)

    def with_p(self, p: float) -> PutOption:
        """The same instance (start price, lattice, features) with price-up probability p."""
        return put_option(p=p, d=self.d, H=self.H, start_price=self.start_price,
                          strike=self.strike, up=self.up, down=self.down)


def put_option(p: float = 0.5, d: int = 30, H: int = 20, *, start_price=None, rng=None,
               strike: float = 100.0, up: float = 1.02, down: float = 0.98) -> PutOption:
    """American put option instance (see the module docstring).

    Parameters
    ----------
    p : float
        Price-up probability in [0, 1] (nominal 0.5; tests 0.2..1.0).
    d : int
        Number of hat features (30 default; 30/60/120 in the timing runs).
    H : int
        Horizon (20 in R2PVI, 10 in the DR-LSVI-UCB notebook).
    start_price : float, optional
        s_0; default Uniform[strike - 5, strike + 5] drawn from ``rng``.
    rng : numpy.random.Generator or int
        Needed when ``start_price`` is None.
    strike, up, down : float
        K_s and the price multipliers.

    Returns
    -------
    PutOption
    """
    p = _validate.real("p", p, lo=0.0, hi=1.0)
    d = _validate.positive_int("d", d)
    H = _validate.positive_int("H", H)
    strike = _validate.real("strike", strike, lo=0.0, lo_open=True)
    up = _validate.real("up", up, lo=0.0, lo_open=True)
    down = _validate.real("down", down, lo=0.0, lo_open=True)
    if start_price is None:
        if rng is None:
            raise ValueError("give start_price or rng (the start price is drawn from "
                             "Uniform[strike - 5, strike + 5])")
        start_price = float(_validate.rng(rng).uniform(strike - 5.0, strike + 5.0))
    s0 = _validate.real("start_price", start_price, lo=0.0, lo_open=True)
    n_nodes = (H + 1) * (H + 2) // 2
    S = n_nodes + 1
    term = S - 1
    prices = np.full(S, np.nan)
    layer = np.full(S, -1, dtype=np.int64)
    for h in range(H + 1):
        u = np.arange(h + 1)
        idx = lattice_index(h, 0) + u
        prices[idx] = s0 * up ** u * down ** (h - u)
        layer[idx] = h
    payoff = np.where(np.isnan(prices), 0.0, np.maximum(0.0, strike - np.nan_to_num(prices)))
    P = np.zeros((H, S, 2, S))                       # P[h, s, a, s']
    P[:, :, :, term] = 1.0                           # default: to the terminal state
    for h in range(H):
        for u in range(h + 1):
            s = lattice_index(h, u)
            P[h, s, HOLD, term] = 0.0
            P[h, s, HOLD, lattice_index(h + 1, u + 1)] += p
            P[h, s, HOLD, lattice_index(h + 1, u)] += 1.0 - p
    r = np.zeros((H, S, 2))                          # payoff units
    r[:, :, EXERCISE] = payoff[None, :]
    rho0 = np.zeros(S)
    rho0[0] = 1.0
    mdp = FiniteHorizonMDP(P=P, r=r / strike, rho0=rho0)
    phi = np.zeros((S, 2, d))
    phi[:n_nodes, HOLD] = hat_features(prices[:n_nodes], d)
    cap = float(payoff.max())
    v_max = np.full(H + 1, cap)
    v_max[H] = 0.0
    for x in (phi, r, v_max, prices, layer):
        x.setflags(write=False)
    return PutOption(mdp=mdp, phi=phi, r=r, v_max=v_max, prices=prices, layer=layer,
                     reward_scale=strike, start_price=s0, p=p, strike=strike, up=up, down=down)


def always_hold_policy(option: PutOption) -> np.ndarray:
    """The code's behaviour policy: hold at every state and step, pi (H, S, 2)."""
    pi = np.zeros((option.H, option.S, 2))
    pi[..., HOLD] = 1.0
    return pi


def uniform_policy(option: PutOption) -> np.ndarray:
    """Uniform behaviour policy (the secondary summary's reading, UNVERIFIED)."""
    return uniform(option.H, option.S, 2)


__all__ = [
    "EXERCISE",
    "HOLD",
    "PutOption",
    "always_hold_policy",
    "hat_features",
    "lattice_index",
    "put_option",
    "uniform_policy",
]
