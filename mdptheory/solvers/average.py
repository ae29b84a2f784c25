"""Average-reward (gain-optimal) planning in unichain MDPs: relative value iteration, policy
iteration and the linear program, each returning the optimal gain g*, a bias h and a
gain-optimal deterministic policy (Puterman 2005, Ch. 8).

Model: a :class:`~mdptheory.models.DiscountedMDP` supplies P, r and the action mask; its
``gamma`` is ignored. The average-reward optimality equation (Puterman eq. 8.4.2)

    g + h(s) = max_a  r(s, a) + sum_s' P(s'|s, a) h(s'),

has a solution with a constant gain g* when the model is *unichain*: every deterministic
stationary policy's chain has exactly one recurrent class (plus, possibly, transient states).
h is unique up to a constant in the models tested here; every solver returns the *bias* of its
policy pi, the solution normalised so that mu_pi . h = 0 for the stationary distribution mu_pi
(Puterman eq. 8.2.11), so results of the three solvers can be compared entry by entry.
``Q(s, a) = r(s, a) - g + P(.|s, a) . h`` (so max_a Q = h; -inf at masked pairs).

What is checked (``unichain="check"``, the default; :func:`check_unichain`):

1. the union graph (an edge s -> s' when some available action moves there with positive
   probability) has one closed class: two closed classes of the union graph are closed under
   every policy, so then every policy is multichain;
2. if the model has at most ``max_policies`` (default 4096) deterministic policies, each
   one's recurrent classes (the closed strongly connected components of its chain) are
   computed: exact;
3. otherwise a sufficient condition: some state s* is reached with positive probability from
   every state under every policy (s* is then in the single recurrent class of every policy);
   the states from which every policy must reach s* are computed as an attractor, for up to
   64 candidate states s* (those entered from the most states);
4. if neither decides, three policies (the greedy one in r, the first and the last available
   action everywhere) are checked, and a multichain one is reported; else a ValueError says
   that unichain could not be certified (pass ``unichain="assume"`` to solve anyway).

A multichain model raises :class:`MultichainError` naming a policy and two of its recurrent
classes. With ``"assume"``, the returned policy's own chain is still checked.

The gain is certified from the final h by the Bellman residual (Puterman Thm 8.5.5):
min_s (T h - h)(s) <= g* <= max_s (T h - h)(s); ``error_bound`` is the distance of the returned
gain to the far end of that bracket.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg  # noqa: F401  (sp.linalg)
from scipy.sparse.csgraph import connected_components

from ..kernels import average as kav
from ..models import _validate
from ..models.finite import DiscountedMDP
from ._common import solver_reward

_SLACK = 1e-12            # PI keeps its action unless another improves by more (x max(1, |h|))
_MAX_POLICIES = 4096      # exact unichain check by enumeration up to this many policies
_CANDIDATES = 64          # candidate states for the common-attractor sufficient condition


class MultichainError(ValueError):
    """The model is multichain: some deterministic policy has two or more recurrent classes."""


@dataclass(frozen=True, eq=False)
class AverageSolution:
    """Gain-optimal solution of a unichain MDP.

    gain : float              optimal average reward g*
    bias : (S,)               bias of ``pi`` (mu_pi . bias = 0); solves the optimality equation
    Q : (S, A)                r - g + P bias (max over a = bias); -inf at masked pairs
    pi : (S, A)               one-hot gain-optimal policy (ties -> lowest index)
    error_bound : float       guaranteed |gain - g*| from the Bellman residual of ``bias``
    """

    gain: float
    bias: np.ndarray
    Q: np.ndarray
    pi: np.ndarray
    num_iter: int | None = None
    converged: bool | None = None
    error_bound: float | None = None
    info: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- structure


def _check_mdp(mdp) -> DiscountedMDP:
    if not isinstance(mdp, DiscountedMDP):
        raise TypeError(f"mdp must be a DiscountedMDP (its gamma is ignored by the average-reward "
                        f"solvers), got {type(mdp).__name__}")
    return mdp


def _rows_csr(mdp: DiscountedMDP) -> sp.csr_matrix:
    """P as the (S * A, S) CSR matrix, row s * A + a."""
    if mdp.is_sparse:
        return mdp.P.to_scipy()
    S, A = mdp.S, mdp.A
    return sp.csr_matrix(np.ascontiguousarray(mdp.P).reshape(S * A, S))


def _feasible(mdp: DiscountedMDP) -> np.ndarray:
    return np.ones((mdp.S, mdp.A), dtype=bool) if mdp.mask is None else np.asarray(mdp.mask)


def _closed_classes(adj: sp.csr_matrix) -> list:
    """Closed (sink) strongly connected components of the directed graph ``adj`` (S x S)."""
    n, labels = connected_components(adj, directed=True, connection="strong")
    coo = adj.tocoo()
    leaves = labels[coo.row] != labels[coo.col]
    open_ = np.zeros(n, dtype=bool)
    open_[labels[coo.row[leaves]]] = True
    return [np.flatnonzero(labels == c) for c in range(n) if not open_[c]]


def _policy_graph(P2: sp.csr_matrix, act: np.ndarray, A: int) -> sp.csr_matrix:
    S = act.shape[0]
    return P2[np.arange(S) * A + act]


def recurrent_classes(mdp, act) -> list:
    """Recurrent classes (arrays of states) of the chain of the deterministic policy ``act``
    (S,) int: the closed strongly connected components of its transition graph."""
    mdp = _check_mdp(mdp)
    return _closed_classes(_policy_graph(_rows_csr(mdp), np.asarray(act), mdp.A))


def _multichain(act, classes) -> MultichainError:
    a, b = classes[0], classes[1]
    show = (lambda c: str(c.tolist()) if c.size <= 8 else f"{c[:8].tolist()} ... ({c.size})")
    return MultichainError(
        f"the model is multichain: the deterministic policy with actions "
        f"{show(np.asarray(act))} has {len(classes)} recurrent classes, e.g. states {show(a)} "
        f"and states {show(b)}; the average-reward solvers need a unichain model (every "
        f"policy with one recurrent class)")


def _attractor(P2: sp.csr_matrix, feasible: np.ndarray, target: int) -> bool:
    """True if every policy reaches ``target`` with positive probability from every state."""
    S, A = feasible.shape
    inside = np.zeros(S, dtype=bool)
    inside[target] = True
    P2 = P2.tocsr()
    while True:
        hits = (P2 @ inside.astype(np.float64)).reshape(S, A) > 0   # action may enter the set
        new = inside | np.all(hits | ~feasible, axis=1)
        if new.sum() == inside.sum():
            return bool(new.all())
        inside = new


def check_unichain(mdp, *, max_policies: int = _MAX_POLICIES) -> dict:
    """Certify that ``mdp`` is unichain (module docstring says how), or raise
    :class:`MultichainError` (a policy with two recurrent classes is named) or ValueError (could
    not decide). Returns ``{"method": ...}`` saying which check certified it."""
    mdp = _check_mdp(mdp)
    max_policies = _validate.positive_int("max_policies", max_policies)
    S, A = mdp.S, mdp.A
    feasible = _feasible(mdp)
    P2 = _rows_csr(mdp)
    first = np.argmax(feasible, axis=1)
    # union graph: masked pairs are self-loops, which change no class
    union_s = sp.csr_matrix(sp.kron(sp.identity(S), np.ones((1, A))) @ P2)
    closed = _closed_classes(union_s)
    if len(closed) > 1:
        for act in (first, A - 1 - np.argmax(feasible[:, ::-1], axis=1)):
            classes = _closed_classes(_policy_graph(P2, act, A))
            if len(classes) > 1:
                raise _multichain(act, classes)
    counts = feasible.sum(axis=1)
    n_policies = float(np.prod(counts.astype(np.float64)))
    if n_policies <= max_policies:
        choices = [np.flatnonzero(feasible[s]) for s in range(S)]
        for acts in itertools.product(*choices):
            act = np.array(acts, dtype=np.int64)
            classes = _closed_classes(_policy_graph(P2, act, A))
            if len(classes) > 1:
                raise _multichain(act, classes)
        return {"method": f"exact: all {int(n_policies)} deterministic policies have one "
                          f"recurrent class"}
    indeg = np.asarray((union_s != 0).sum(axis=0)).ravel()
    for target in np.argsort(-indeg, kind="stable")[:_CANDIDATES]:
        if _attractor(P2, feasible, int(target)):
            return {"method": f"sufficient: every policy reaches state {int(target)} from every "
                              f"state", "state": int(target)}
    r = solver_reward(mdp)
    for act in (np.argmax(r, axis=1), first, A - 1 - np.argmax(feasible[:, ::-1], axis=1)):
        classes = _closed_classes(_policy_graph(P2, act, A))
        if len(classes) > 1:
            raise _multichain(act, classes)
    raise ValueError(f"could not certify that the model is unichain: it has {n_policies:.3g} "
                     f"deterministic policies (more than max_policies={max_policies}) and no state "
                     f"is reached from every state under every policy; pass "
                     f"unichain='assume' to solve anyway (the returned policy is then checked)")


def _check_structure(mdp, unichain) -> dict:
    if unichain == "check":
        return check_unichain(mdp)
    if unichain == "assume":
        return {"method": "assumed"}
    raise ValueError(f"unichain must be 'check' or 'assume', got {unichain!r}")


# ----------------------------------------------------------------------------- evaluation


def _dense_P(mdp: DiscountedMDP) -> np.ndarray:
    return np.asarray(mdp.dense_P())


def _stationary(P_pi: sp.csr_matrix) -> np.ndarray:
    """mu with mu P_pi = mu, sum mu = 1 (unique for a unichain P_pi)."""
    S = P_pi.shape[0]
    M = sp.lil_matrix((sp.identity(S, format="csr") - P_pi).T)
    M[S - 1, :] = np.ones(S)
    b = np.zeros(S)
    b[S - 1] = 1.0
    return np.asarray(sp.linalg.spsolve(sp.csc_matrix(M), b)).ravel()


def _evaluate(P2: sp.csr_matrix, r_pi: np.ndarray, act: np.ndarray, A: int):
    """(gain, bias) of the deterministic policy act: (I - P_pi) h + g e = r_pi, mu h = 0."""
    S = act.shape[0]
    P_pi = _policy_graph(P2, act, A)
    mu = _stationary(P_pi)
    M = sp.bmat([[sp.identity(S) - P_pi, np.ones((S, 1))],
                 [sp.csr_matrix(mu.reshape(1, S)), None]], format="csc")
    x = np.asarray(sp.linalg.spsolve(M, np.concatenate([r_pi, [0.0]]))).ravel()
    return float(x[S]), x[:S], mu


def _finish(mdp, P2, act, gain, h, num_iter, converged, info) -> AverageSolution:
    """Normalise h to the bias of act, compute Q and the certified gain bracket."""
    S, A = mdp.S, mdp.A
    classes = _closed_classes(_policy_graph(P2, act, A))
    if len(classes) > 1:
        raise _multichain(act, classes)
    mu = _stationary(_policy_graph(P2, act, A))
    h = h - float(mu @ h)
    Q = solver_reward(mdp) + (P2 @ h).reshape(S, A) - gain
    Th = Q.max(axis=1) + gain                      # (T h)(s) = max_a r + P h
    lo, hi = float((Th - h).min()), float((Th - h).max())
    pi = np.zeros((S, A))
    pi[np.arange(S), act] = 1.0
    info["gain_bracket"] = (lo, hi)
    return AverageSolution(gain=float(gain), bias=h, Q=Q, pi=pi, num_iter=num_iter,
                           converged=converged, error_bound=max(gain - lo, hi - gain, 0.0),
                           info=info)


# ----------------------------------------------------------------------------- solvers


def relative_value_iteration(mdp, tol: float = 1e-12, max_iter: int = 1_000_000, *,
                             tau: float = 0.5, unichain: str = "check") -> AverageSolution:
    """Relative value iteration with the aperiodicity transformation (Puterman §8.5.4-8.5.5).

    Iterates V <- T' V - (T' V)(0) with T' the Bellman operator of P' = tau I + (1 - tau) P
    (same gains; ``tau`` in [0, 1) makes every chain aperiodic, so the span of T' V - V goes
    to 0) until span(T' V - V) <= ``tol`` (or reaches the rounding floor 16 eps max|T' V|, so
    that large rewards cannot make it run forever). The gain is the midpoint of
    [min(T' V - V), max(T' V - V)]; the bias is (1 - tau) V normalised (module docstring).
    """
    mdp = _check_mdp(mdp)
    tol = _validate.real("tol", tol, lo=0.0, lo_open=True)
    max_iter = _validate.positive_int("max_iter", max_iter)
    tau = _validate.real("tau", tau, lo=0.0, hi=1.0, hi_open=True)
    info = {"unichain": _check_structure(mdp, unichain), "tau": tau}
    S = mdp.S
    r = np.ascontiguousarray(solver_reward(mdp))
    V = np.zeros(S)
    TV = np.empty(S)
    act = np.zeros(S, dtype=np.int64)
    if mdp.is_sparse:
        probs, idx = mdp.P.probs, mdp.P.indices
        sweep = lambda V, TV: kav.ell_sweep(probs, idx, r, tau, V, TV, act)
    else:
        P2d = np.ascontiguousarray(mdp.P).reshape(S * mdp.A, S)
        sweep = lambda V, TV: kav.dense_sweep(P2d, r, tau, V, TV, act)
    converged = False
    floor = 16.0 * np.finfo(np.float64).eps                # rounding floor of the span
    for k in range(1, max_iter + 1):
        lo, hi = sweep(V, TV)
        if hi - lo <= max(tol, floor * max(1.0, float(np.abs(TV).max()))):
            converged = True
            break
        V, TV = TV - TV[0], V
    gain = 0.5 * (lo + hi)
    return _finish(mdp, _rows_csr(mdp), act.copy(), gain, (1.0 - tau) * TV, k, converged, info)


def average_policy_iteration(mdp, max_iter: int = 10_000, *, unichain: str = "check") -> AverageSolution:
    """Unichain policy iteration (Puterman §8.6.1): exact evaluation of (g, h) by a sparse LU
    of (I - P_pi) h + g e = r_pi, mu_pi h = 0; improvement keeps the current action unless
    another improves r + P h by more than 1e-12 * max(1, |h|) (no cycling on ties)."""
    mdp = _check_mdp(mdp)
    max_iter = _validate.positive_int("max_iter", max_iter)
    info = {"unichain": _check_structure(mdp, unichain)}
    S, A = mdp.S, mdp.A
    P2 = _rows_csr(mdp)
    r = solver_reward(mdp)
    rows = np.arange(S)
    act = np.argmax(r, axis=1)
    converged = False
    for k in range(1, max_iter + 1):
        classes = _closed_classes(_policy_graph(P2, act, A))
        if len(classes) > 1:
            raise _multichain(act, classes)
        gain, h, _ = _evaluate(P2, r[rows, act], act, A)
        Q = r + (P2 @ h).reshape(S, A)
        new = np.argmax(Q, axis=1)
        slack = _SLACK * max(1.0, float(np.abs(h).max()))
        change = Q[rows, new] > Q[rows, act] + slack
        if not change.any():
            converged = True
            break
        act = np.where(change, new, act)
    return _finish(mdp, P2, act, gain, h, k, converged, info)


def average_lp(mdp, *, solver: str | None = None, unichain: str = "check") -> AverageSolution:
    """The average-reward LP (Puterman §8.8), in two stages solved by cvxpy (Clarabel, tolerances
    1e-14; HiGHS as fallback):

    1. min g  s.t.  g + h(s) >= r(s, a) + P(.|s, a) . h  for every available (s, a), h(0) = 0;
       its optimum is g*, and the duals x(s, a) >= 0 are an optimal occupancy measure;
    2. with g <= g* (+1e-12 |g*|) and h(s_ref) = 0 at the state s_ref of largest occupancy
       (recurrent under an optimal policy), min sum_s h(s): every feasible h is >= the solution
       of the optimality equation that vanishes at s_ref, with equality at the minimum.

    The policy is greedy in r + P h (ties -> lowest index); the gain is stage 1's g*."""
    import cvxpy as cp

    from .lp import _CLARABEL_OPTS, _HIGHS_OPTS, _pick_solver

    mdp = _check_mdp(mdp)
    info = {"unichain": _check_structure(mdp, unichain)}
    S, A = mdp.S, mdp.A
    P2 = _rows_csr(mdp)
    keep = _feasible(mdp).reshape(-1)
    E = sp.kron(sp.identity(S, format="csr"), np.ones((A, 1)), format="csr")
    G = (P2 - E).tocsr()[keep]                    # P h - h(s) <= g - r
    rk = mdp.r.reshape(-1)[keep]
    name = _pick_solver(solver)
    opts = _CLARABEL_OPTS if name == "CLARABEL" else _HIGHS_OPTS
    g, h = cp.Variable(), cp.Variable(S)
    ineq = G @ h - g <= -rk
    stage1 = cp.Problem(cp.Minimize(g), [ineq, h[0] == 0])
    stage1.solve(solver=name, **opts)
    if stage1.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"the LP solver {name} returned status {stage1.status!r}")
    g_star = float(g.value)
    occ = np.zeros(S * A)
    occ[keep] = np.maximum(np.asarray(ineq.dual_value).ravel(), 0.0)
    ref = int(np.argmax(occ.reshape(S, A).sum(axis=1)))
    stage2 = cp.Problem(cp.Minimize(cp.sum(h)),
                        [ineq, g <= g_star + 1e-12 * max(1.0, abs(g_star)), h[ref] == 0])
    stage2.solve(solver=name, **opts)
    if stage2.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"the LP solver {name} returned status {stage2.status!r}")
    h_lp = np.asarray(h.value, dtype=np.float64)
    act = np.argmax(solver_reward(mdp) + (P2 @ h_lp).reshape(S, A), axis=1)
    info.update(solver=name, status=(stage1.status, stage2.status), reference_state=ref)
    return _finish(mdp, P2, act, g_star, h_lp, None, True, info)


__all__ = ["AverageSolution", "MultichainError", "average_lp", "average_policy_iteration",
           "check_unichain", "recurrent_classes", "relative_value_iteration"]
