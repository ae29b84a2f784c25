"""The IWOCS optimality certificate (our derivation; not a theorem of the paper).

Zouitine, Geist & Rachelson (2024), "Solving robust MDPs as a sequence of static RL problems"
(arXiv 2410.06212) present IWOCS as a heuristic and list convergence guarantees as open. We
derive a certificate for the exact tabular version on (s, a)-rectangular sets: with
Q_i = min_{j<=i} Q*_{T_j}, u_i = rho0 . max_a Q_i and v_j = min_T V^{pi_j}_T(rho0),

    max_{j<=i} v_j  <=  V*_T(rho0)  <=  u_i,       so
    V*_T(rho0) - v_{j*}  <=  u_i - max_{j<=i} v_j        (j* = argmax_j v_j),

because Q*_T <= Q*_T' pointwise for every T' in T (the robust Bellman equation at the
worst row of each pair is the Bellman equation of one member; docs/papers/iwocs.md). The bound
is deterministic and exact (no constants); it says nothing about how fast the gap closes.
"""
from __future__ import annotations

import numpy as np

from .base import register

_PAPER = ("Zouitine, Geist & Rachelson (2024), Solving robust MDPs as a sequence of static RL "
          "problems (IWOCS), arXiv 2410.06212")


@register("iwocs_certificate", paper=_PAPER,
          theorem="IWOCS certificate on rectangular sets (our derivation; not in the paper)",
          quantity="V*_T(rho0) - v_{j*}, suboptimality of the returned policy", variable="i",
          exponent=0.0, constants="paper", probability="deterministic",
          assumptions=(("(s, a)-rectangular uncertainty set (rows and rewards mixed with the "
                        "same weights)"),
                       ("exact oracle: v_j is the exact static worst case (finite candidate "
                        "rows: robust policy evaluation, equal to the static value there)"),
                       "exact MDP solves Q*_{T_j} (policy iteration)",
                       ("no rate: exponent 0 only means no growth in the iteration i; "
                        "'constants=paper' here means exact (there are no constants)")))
def iwocs_certificate(upper, best_lower):
    """u_i - max_{j<=i} v_j (vectorised): a bound on V*_T(rho0) - v_{j*} (>= 0 up to rounding)."""
    return np.asarray(upper, dtype=np.float64) - np.asarray(best_lower, dtype=np.float64)


__all__ = ["iwocs_certificate"]
