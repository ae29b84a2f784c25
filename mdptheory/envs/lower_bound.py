"""The two-absorbing-state family behind R2PVI's lower bound (Theorem 6.1, v1 numbering).

Documentation: docs/papers/r2pvi.md §6.3. What our sources state (the first author's slides):
two absorbing states s1, s2; nominally, from s1 the chain stays w.p. 1 - eps and moves to s2
w.p. eps; at step h the regularised worst case stays w.p. 1 - eps - Delta^lam_h(eps, D) and
moves w.p. eps + Delta^lam_h(eps, D). The exact Delta formula, the action/feature structure and
the way members of the class differ are UNVERIFIED; this module is a RECONSTRUCTION in the
standard style of offline lower bounds (Jin et al. 2021; Xiong et al. 2022):

* States: s1 = 0 (reward 1 under every action), s2 = 1 (absorbing, reward 0). rho0 = s1.
* d >= 2 features, A = d - 1 actions. phi(s1, a_j) = e_j (j = 0..d-2), phi(s2, .) = e_{d-1}.
  Factor j < d-1 at step h: mu_{h,j} = (1 - eps_{h,j}) s1 + eps_{h,j} s2 ("leave" probability
  eps_{h,j}); factor d-1: mu_{h,d-1} = s2. theta_h = (1, ..., 1, 0). This is d-rectangular.
* Members of the class: eps_{h,j} = eps - gap * sign_{h,j}, sign in {-1, +1}^{H x (d-1)}; the
  best action at each step is one with sign +1 (smallest leave probability).
* :func:`mdptheory.bounds.robust_linear.regularized_shift` computes
  Delta^lam_{h,j}(eps, D) = mu*_{h,j}(s2) - mu0_{h,j}(s2)
  EXACTLY from the regularised worst-case factors of the optimal policy (no closed form is
  assumed): KL gives eps' = eps / (eps + (1 - eps) e^{-V(s1)/lam}), TV moves all of s1's mass
  once V(s1) > lam, chi2 moves mass proportionally to (c - V)_+.
"""
from __future__ import annotations

import numpy as np

from ..models import LinearMDP, _validate


def two_absorbing_state_mdp(leave) -> LinearMDP:
    """The d-rectangular two-absorbing-state MDP with leave probabilities ``leave`` (H, d - 1):
    action j at step h moves s1 -> s2 w.p. leave[h, j] (see the module docstring)."""
    eps = _validate.as_float_array("leave", leave)
    _validate.shape("leave", eps, ndim=2)
    _validate.interval("leave", eps, 0.0, 1.0)
    H, m = eps.shape
    if H < 1 or m < 1:
        raise ValueError(f"leave must have shape (H, d - 1) with H, d - 1 >= 1, got {eps.shape}")
    d = m + 1
    phi = np.zeros((2, m, d))                               # phi[s, a, i]
    phi[0, np.arange(m), np.arange(m)] = 1.0
    phi[1, :, m] = 1.0
    mu = np.zeros((H, d, 2))                                # mu[h, i, s']
    mu[:, :m, 0] = 1.0 - eps
    mu[:, :m, 1] = eps
    mu[:, m, 1] = 1.0
    theta = np.zeros((H, d))
    theta[:, :m] = 1.0
    return LinearMDP(phi=phi, mu=mu, theta=theta, rho0=np.array([1.0, 0.0]))


def lower_bound_instance(d: int, H: int, eps: float, gap: float, signs=None, *,
                         rng=None) -> LinearMDP:
    """One member: leave[h, j] = eps - gap * signs[h, j] with signs in {-1, +1}^(H, d-1)
    (default: drawn uniformly from ``rng``). Needs 0 <= eps - gap and eps + gap <= 1."""
    d = _validate.positive_int("d", d)
    if d < 2:
        raise ValueError(f"d must be >= 2 (one feature is the absorbing s2), got {d}")
    H = _validate.positive_int("H", H)
    eps = _validate.real("eps", eps, lo=0.0, hi=1.0)
    gap = _validate.real("gap", gap, lo=0.0)
    if eps - gap < 0.0 or eps + gap > 1.0:
        raise ValueError(f"need 0 <= eps - gap and eps + gap <= 1, got eps={eps}, gap={gap}")
    if signs is None:
        if rng is None:
            raise ValueError("give signs or rng")
        signs = _validate.rng(rng).choice([-1.0, 1.0], size=(H, d - 1))
    sg = _validate.as_float_array("signs", signs)
    _validate.shape("signs", sg, expected=(H, d - 1))
    bad = np.abs(np.abs(sg) - 1.0) > 0
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), sg.shape)
        raise ValueError(f"signs[{idx[0]}, {idx[1]}] is {sg[idx]}, expected -1 or +1")
    return two_absorbing_state_mdp(eps - gap * sg)


__all__ = ["lower_bound_instance", "two_absorbing_state_mdp"]
