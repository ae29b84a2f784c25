"""d-rectangular linear MDPs: random instances and the simulated MDP of Liu & Xu (2024).

P_h(s' | s, a) = <phi(s, a), mu_h(s')>, r_h(s, a) = <phi(s, a), theta_h>, with phi(s, a) on the
simplex and every factor mu_{h,i} a probability vector (docs/papers/r2pvi.md §2.1).
Shapes: phi (S, A, d), mu (H, d, S), theta (H, d), rho0 (S,).
"""
from __future__ import annotations

import itertools

import numpy as np

from ..models import _validate
from ..models.linear import LinearMDP
from . import _common

_FEATURES = ("dirichlet", "onehot")

#: The 16 actions of the simulated linear MDP, a in {-1, 1}^4 in itertools.product order:
#: row 0 is (-1, -1, -1, -1), row 15 is (1, 1, 1, 1).
SIMULATED_ACTIONS = np.array(list(itertools.product([-1, 1], repeat=4)), dtype=np.int64)
SIMULATED_ACTIONS.setflags(write=False)
_LEAK = 0.001          # nominal leak to the fail state x4 in factors (1, 1), (2, 2), ...
X1, X2, X3, X4, X5 = range(5)


def random_linear_mdp(S: int, A: int, d: int, H: int, *, rng, features: str = "dirichlet",
                      feature_concentration: float = 1.0, factor_concentration: float = 1.0,
                      rho0=None) -> LinearMDP:
    """Random d-rectangular linear MDP.

    * ``phi[s, a]`` ~ Dirichlet(feature_concentration * 1_d), or with ``features="onehot"`` a
      uniformly random standard basis vector (a tabular-like "hard aggregation" MDP);
    * ``mu[h, i]`` ~ Dirichlet(factor_concentration * 1_S) over next states;
    * ``theta[h]`` ~ Uniform[0, 1]^d, so r_h(s, a) = <phi(s, a), theta_h> is a convex
      combination of numbers in [0, 1] and lies in [0, 1].

    Parameters
    ----------
    S, A, d, H : int
        States, actions, feature dimension, horizon (all >= 1).
    rng : numpy.random.Generator or int
        Source of randomness.
    features : {"dirichlet", "onehot"}
        How phi is drawn.
    feature_concentration, factor_concentration : float
        Dirichlet parameters (> 0); small values give nearly sparse rows.
    rho0 : array of shape (S,), optional
        Initial distribution (default uniform).

    Returns
    -------
    LinearMDP
        phi (S, A, d), mu (H, d, S), theta (H, d), rho0 (S,).
    """
    S = _validate.positive_int("S", S)
    A = _validate.positive_int("A", A)
    d = _validate.positive_int("d", d)
    H = _validate.positive_int("H", H)
    if not isinstance(features, str) or features not in _FEATURES:
        raise ValueError(f"features must be one of {_FEATURES}, got {features!r}")
    a_phi = _validate.real("feature_concentration", feature_concentration, lo=0.0, lo_open=True)
    a_mu = _validate.real("factor_concentration", factor_concentration, lo=0.0, lo_open=True)
    rng = _validate.rng(rng)
    if features == "dirichlet":
        phi = rng.dirichlet(np.full(d, a_phi), size=(S, A))            # phi[s, a, i]
    else:
        phi = np.zeros((S, A, d))
        np.put_along_axis(phi, rng.integers(0, d, size=(S, A, 1)), 1.0, axis=2)
    mu = rng.dirichlet(np.full(S, a_mu), size=(H, d))                   # mu[h, i, s_next]
    theta = rng.random((H, d))                                          # theta[h, i]
    rho0 = np.full(S, 1.0 / S) if rho0 is None else rho0
    return LinearMDP(phi=phi, mu=mu, theta=theta, rho0=rho0)


def _simulated_parts(delta, xi_norm, H):
    """phi (5, 16, 4), mu (H, 4, 5), theta (H, 4), rho0 (5,) of the nominal simulated MDP."""
    delta = _validate.real("delta", delta, lo=0.0, hi=1.0)
    xi_norm = _validate.real("xi_norm", xi_norm, lo=0.0)
    H = _validate.positive_int("H", H)
    if delta - xi_norm < 0.0 or delta + xi_norm > 1.0:
        raise ValueError(f"need delta - xi_norm >= 0 and delta + xi_norm <= 1 so that the "
                         f"features lie on the simplex, got delta={delta}, xi_norm={xi_norm}")
    c = (xi_norm / 4.0) * SIMULATED_ACTIONS.sum(axis=1)                 # c[a] = <xi, a>
    phi = np.zeros((5, 16, 4))                                          # phi[s, a, i]
    for k in (X1, X2, X3):                                              # phi(x_k, a)
        phi[k, :, k] = 1.0 - delta - c
        phi[k, :, 3] = delta + c
    phi[X4, :, 2] = 1.0
    phi[X5, :, 3] = 1.0
    leaky_x3 = np.array([0.0, 0.0, 1.0 - _LEAK, _LEAK, 0.0])            # 0.999 x3 + 0.001 x4
    mu = np.zeros((H, 4, 5))                                            # mu[h, i, s_next]
    mu[:, 0] = leaky_x3          # step 2+: mu_{h,1} unspecified by the paper; author's choice
    mu[:, 1] = leaky_x3
    mu[:, 2, X4] = 1.0
    mu[:, 3, X5] = 1.0
    mu[0, 0] = [0.0, 1.0 - _LEAK, 0.0, _LEAK, 0.0]                      # 0.999 x2 + 0.001 x4
    theta = np.zeros((H, 4))
    theta[1:, 3] = 1.0
    return phi, mu, theta, _common.point_mass(5, X1)


def simulated_linear_mdp(delta: float = 0.3, xi_norm: float = 0.2, H: int = 3) -> LinearMDP:
    """The 5-state, 16-action, d = 4 simulated linear MDP (docs/papers/r2pvi.md §7.1).

    Source: Liu & Xu (2024), "Distributionally robust off-dynamics reinforcement learning:
    provable efficiency with linear function approximation", AISTATS (code
    panxulab/Distributionally-Robust-LSVI-UCB); reused by R2PVI (Tang, Liu & Xu, ICML 2025,
    panxulab/Robust-Regularized-Pessimistic-Value-Iteration, ``Simulated_Linear_MDP/env.py``),
    as read in the authors' code. The papers number steps 1..H; here h = 0..H-1 (step 1 is h = 0).

    States x1..x5 are 0..4; the start is x1 (rho0 = delta_{x1}). Action index a is
    ``SIMULATED_ACTIONS[a]`` in {-1, 1}^4 (itertools.product order), and with
    c = <xi, a> = (xi_norm / 4) * sum_j a_j:

    * phi(x_k, a) = (1 - delta - c) e_k + (delta + c) e_4 for k = 1, 2, 3;
      phi(x4, .) = e_3; phi(x5, .) = e_4;
    * theta_1 = 0 and theta_h = e_4 for h >= 2 (reward delta + c in x1..x3, 0 in x4, 1 in x5);
    * paper step 1: mu_{1,1} = 0.999 x2 + 0.001 x4, mu_{1,2} = 0.999 x3 + 0.001 x4,
      mu_{1,3} = x4, mu_{1,4} = x5;
    * steps >= 2: mu_{h,1} = mu_{h,2} = 0.999 x3 + 0.001 x4, mu_{h,3} = x4, mu_{h,4} = x5.

    The factors never excited from reachable states (mu_{1,2}, mu_{1,3}, mu_{2,1}, and
    mu_{h,1}, mu_{h,2} for h >= 3) are not specified by the paper; the choices above are
    ours and do not change any value at x1. x4 is an absorbing zero-reward fail state, x5 an
    absorbing reward-1 state. Reference values, computed independently of this package: for
    delta = 0.3, V*(x1) = 1.4232 / 1.6243 / 1.7753 at xi_norm = 0.1 / 0.2 / 0.3, with optimal first
    action (1, 1, 1, 1) (index 15).

    Parameters
    ----------
    delta : float
        The environment's delta (not a confidence level); need delta +- xi_norm in [0, 1].
    xi_norm : float
        ||xi||_1 >= 0 (0.2 in the R2PVI code, 0.1 in DR-LSVI-UCB).
    H : int
        Horizon (3 in the papers).

    Returns
    -------
    LinearMDP
        phi (5, 16, 4), mu (H, 4, 5), theta (H, 4), rho0 = delta_{x1}.
    """
    phi, mu, theta, rho0 = _simulated_parts(delta, xi_norm, H)
    return LinearMDP(phi=phi, mu=mu, theta=theta, rho0=rho0)


def simulated_linear_mdp_perturbed(q: float, delta: float = 0.3, xi_norm: float = 0.2,
                                   H: int = 3):
    """The test-time perturbation of :func:`simulated_linear_mdp` (docs/papers/r2pvi.md §7.1).

    Only paper step 1 (h = 0) changes: from x_k the factor-1 mass goes to x2 without the 0.001
    leak (mu_{1,1} = x2), and the factor-4 mass goes to the fail state x4 with probability q
    and to x5 with probability 1 - q (mu_{1,4} = q x4 + (1 - q) x5, TV distance q from the
    nominal factor). From x1 under action a: x2 w.p. phi_1, x4 w.p. q phi_4, x5 w.p.
    (1 - q) phi_4. Steps >= 2 are nominal. Independently computed: the nominal-optimal policy
    returns 1.4239 - 0.8 q / 1.6249 - 1.0 q / 1.7759 - 1.2 q for xi_norm = 0.1 / 0.2 / 0.3.

    Parameters
    ----------
    q : float
        Perturbation level in [0, 1].
    delta, xi_norm, H
        As in :func:`simulated_linear_mdp`.

    Returns
    -------
    FiniteHorizonMDP
        P (H, 5, 16, 5), r (H, 5, 16), rho0 = delta_{x1}.
    """
    q = _common.probability("q", q)
    phi, mu, theta, rho0 = _simulated_parts(delta, xi_norm, H)
    mu[0, 0] = 0.0
    mu[0, 0, X2] = 1.0
    mu[0, 3] = 0.0
    mu[0, 3, X4] = q
    mu[0, 3, X5] = 1.0 - q
    return LinearMDP(phi=phi, mu=mu, theta=theta, rho0=rho0).to_finite()
