"""Linear-programming solutions of finite-horizon and discounted MDPs (cvxpy), the independent
cross-check of the dynamic-programming solvers.

Primal LPs (Puterman 2005, Sec. 4.7 and 6.9):

* Finite horizon, variables V[h, s] for h = 0..H (0-based):
  min sum_{h, s} V_h(s)  s.t.  V_h(s) >= r_h(s,a) + gamma sum_s' P_h(s'|s,a) V_{h+1}(s') for all
  h < H, s, a, and V_H = V_terminal (gamma = 1 and V_terminal = 0 unless the model sets them). Every V_h(s) carries weight 1 in the objective, so every state at
  every step is pinned to V*_h(s) (with weight only on rho0, unreachable states would float).
* Discounted: min sum_s V(s)  s.t.  V(s) >= r(s,a) + gamma * sum_s' P(s'|s,a) V(s').

Masked (unavailable) pairs have no constraint. All constraints go to cvxpy as one sparse
matrix inequality. The solver is Clarabel (an
interior-point method) with its tolerances set to 1e-14, which on our tests gives V within
~1e-10 of the DP values at gamma = 0.99; HiGHS is the fallback if Clarabel is not installed.
``polish=True`` then replaces V by the exact value of the greedy policy of the LP's V (that
policy is optimal once the LP is accurate to within half the action gap) and says so in
``info["polished"]``.
"""
from __future__ import annotations

import numpy as np

from ..kernels import backward as kb
from ..models.finite import DiscountedMDP, FiniteHorizonMDP
from ..models.policies import greedy
from ._common import solver_reward
from .results import Solution

_MAX_SPARSE_STATES = 5000
_CLARABEL_OPTS = {"tol_gap_abs": 1e-14, "tol_gap_rel": 1e-14, "tol_feas": 1e-14,
                  "tol_ktratio": 1e-12, "max_iter": 500}
_HIGHS_OPTS: dict = {}


def _pick_solver(solver):
    import cvxpy as cp

    installed = cp.installed_solvers()
    if solver is not None:
        if not isinstance(solver, str):
            raise TypeError(f"solver must be a cvxpy solver name, got {solver!r}")
        if solver.upper() not in installed:
            raise ValueError(f"solver {solver!r} is not installed; cvxpy has {installed}")
        return solver.upper()
    for name in ("CLARABEL", "HIGHS"):
        if name in installed:
            return name
    raise RuntimeError(f"no LP solver found: need CLARABEL or HIGHS, cvxpy has {installed}")


def _solve(objective_weights, G, h_vec, n, solver, fixed=None):
    """min w.x  s.t.  G x <= h (and x[idx] == values for fixed = (idx, values)); returns
    (x, status, solver name)."""
    import cvxpy as cp

    name = _pick_solver(solver)
    x = cp.Variable(n)
    constraints = [G @ x <= h_vec]
    if fixed is not None:
        constraints.append(x[fixed[0]] == fixed[1])
    prob = cp.Problem(cp.Minimize(objective_weights @ x), constraints)
    opts = _CLARABEL_OPTS if name == "CLARABEL" else _HIGHS_OPTS
    prob.solve(solver=name, **opts)
    if prob.status not in ("optimal", "optimal_inaccurate") or x.value is None:
        raise RuntimeError(f"the LP solver {name} returned status {prob.status!r}")
    return np.asarray(x.value, dtype=np.float64), prob.status, name


def _discounted(mdp: DiscountedMDP, solver, polish: bool) -> Solution:
    import scipy.sparse as sp

    from . import discounted as disc

    S, A, g = mdp.S, mdp.A, mdp.gamma
    if mdp.is_sparse:
        if S > _MAX_SPARSE_STATES:
            raise ValueError(f"solve_lp handles sparse models only up to S={_MAX_SPARSE_STATES} "
                             f"states (this one has S={S}): the LP has S * A = {S * A} "
                             "constraints and is only a cross-check; use policy_iteration or "
                             "modified_policy_iteration")
        P2 = mdp.P.to_scipy()
    else:
        P2 = sp.csr_matrix(np.ascontiguousarray(mdp.P).reshape(S * A, S))
    # row (s, a):  gamma * P(.|s,a) . V - V(s) <= -r(s, a)
    E = sp.kron(sp.identity(S, format="csr"), np.ones((A, 1)), format="csr")
    G = (g * P2 - E).tocsr()
    h_vec = -mdp.r.reshape(-1)
    if mdp.mask is not None:                       # no constraint for unavailable pairs
        keep = mdp.mask.reshape(-1)
        G, h_vec = G[keep], h_vec[keep]
    V, status, name = _solve(np.ones(S), G, h_vec, S, solver)
    info = {"solver": name, "status": status, "polished": False}
    if polish:
        pi0 = greedy(disc._q_values(mdp, V))
        V = disc.evaluate_policy(mdp, pi0).V
        info["polished"] = True
    Q = disc._q_values(mdp, V)
    bound, info["policy_error_bound"] = disc._certified_bounds(mdp, V)   # rounding included
    return Solution(V=V, Q=Q, pi=greedy(Q), error_bound=bound, info=info)


def _finite(mdp: FiniteHorizonMDP, solver, polish: bool) -> Solution:
    import scipy.sparse as sp

    H, S, A = mdp.H, mdp.S, mdp.A
    n = (H + 1) * S                       # x = V.ravel(), V (H + 1, S)
    E = sp.kron(sp.identity(S, format="csr"), np.ones((A, 1)), format="csr")
    blocks = []
    for h in range(H):
        P2 = sp.csr_matrix(np.ascontiguousarray(mdp.P[h]).reshape(S * A, S))
        # row (h, s, a):  gamma P_h(.|s,a) . V_{h+1} - V_h(s) <= -r_h(s, a)
        row = [None] * (H + 1)
        row[h], row[h + 1] = -E, mdp.gamma * P2
        for j in range(H + 1):
            if row[j] is None:
                row[j] = sp.csr_matrix((S * A, S))
        blocks.append(row)
    G = sp.bmat(blocks, format="csr")
    h_vec = -np.asarray(mdp.r).reshape(-1)
    if mdp.mask is not None:                       # no constraint for unavailable pairs
        keep = np.asarray(mdp.mask).reshape(-1)
        G, h_vec = G[keep], h_vec[keep]
    x, status, name = _solve(np.ones(n), G, h_vec, n, solver,
                             fixed=(np.arange(H * S, n), mdp.V_terminal))
    V = x.reshape(H + 1, S)
    V[H] = mdp.V_terminal
    info = {"solver": name, "status": status, "polished": False}
    r_solver = solver_reward(mdp)                  # -inf at masked pairs
    if polish:
        Q0 = mdp.gamma * np.einsum("hsat,ht->hsa", mdp.P, V[1:]) + r_solver
        pi0 = greedy(Q0)
        V = np.zeros((H + 1, S))
        V[H] = mdp.V_terminal
        Q0 = np.empty((H, S, A))
        kb.evaluate_policy(mdp.P, mdp.r, pi0, V, Q0, mdp.gamma)
        info["polished"] = True
    Q = r_solver + mdp.gamma * np.einsum("hsat,ht->hsa", mdp.P, V[1:])   # r_h + gamma P_h V_h+1
    # |V_h - V*_h| <= sum_{k >= h} max_s |max_a Q_k(s, a) - V_k(s)|: a guaranteed bound for V_0
    err = np.abs(Q.max(axis=2) - V[:H]).max(axis=1)
    return Solution(V=V, Q=Q, pi=greedy(Q), error_bound=float(err.sum()), info=info)


def solve_lp(mdp, *, polish: bool = False, solver: str | None = None) -> Solution:
    """Optimal values of a FiniteHorizonMDP or DiscountedMDP by linear programming.

    Parameters
    ----------
    mdp : FiniteHorizonMDP or DiscountedMDP
        Dense transitions; a DiscountedMDP with sparse transitions is accepted up to
        S = 5000 states.
    polish : bool
        Replace the LP's V by the exact value of its greedy policy (``info["polished"]``).
    solver : str, optional
        cvxpy solver name (default CLARABEL, else HIGHS).

    Returns
    -------
    Solution
        V ((H + 1, S) with V[H] = 0, or (S,)), Q recomputed from V (Q_h = r_h + P_h V_{h+1},
        or r + gamma P V), pi greedy in Q (ties -> lowest index); ``error_bound`` is a
        guaranteed sup-norm bound on |V - V*| (V_0 - V*_0 for finite horizon) computed from one
        Bellman backup of V; ``info`` has the solver, its status and whether V was polished.
    """
    if not isinstance(polish, (bool, np.bool_)):
        raise TypeError(f"polish must be True or False, got {polish!r}")
    if isinstance(mdp, DiscountedMDP):
        return _discounted(mdp, solver, bool(polish))
    if isinstance(mdp, FiniteHorizonMDP):
        return _finite(mdp, solver, bool(polish))
    raise TypeError(f"mdp must be a FiniteHorizonMDP or DiscountedMDP, got {type(mdp).__name__}")


__all__ = ["solve_lp"]
