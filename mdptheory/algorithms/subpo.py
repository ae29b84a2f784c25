"""SubPO: policy gradient for submodular rewards, with exact ground truth.

Paper: M. Prajapat, M. Mutny, M. N. Zeilinger, A. Krause, "Submodular Reinforcement Learning",
ICLR 2024 (arXiv 2307.13372). Rewards and environments: :mod:`mdptheory.envs.submodular`.

Only the paper's opening could be read: the algorithm box, the NPG statement and the
conditions of Theorem 3 / Proposition 3 are taken from secondary sources and the released
code (``manish-pra/non-additive-RL``); what follows is a reconstruction where marked.

Objective. J(pi) = E_{tau ~ pi}[F({s_0, ..., s_H})], H actions per trajectory
(steps h = 0..H-1, 0-based like the paper's tau = (s_0, a_0, ..., s_H)). Marginal gains
Delta_j = F(tau_{0:j+1}) - F(tau_{0:j}), so F(tau) = F({s_0}) + sum_j Delta_j.

Exact ground truth on the *visit graph*: the Markov chain on augmented states
(h, s, M), M the visited set as an int64 bitmask (S <= 57), restricted to the pairs reachable
from rho0 (enumerated layer by layer in numba, :func:`visit_graph`).

* :func:`optimum` -- OPT over history-dependent policies by backward DP
  W_h(s, M) = max_a sum_s' P_h(s'|s,a)[F(M + s') - F(M) + W_{h+1}(s', M + s')],
  OPT = sum_s rho0(s) [F({s}) + W_0(s, {s})]; ties -> lowest action.
* :func:`bruteforce_optimum` -- deterministic SMDPs: the best of the A^H open-loop action
  sequences (equal to OPT by Proposition 2; an independent check of the DP).
* :func:`exact_value`, :func:`exact_gradient` -- J(pi) and dJ/dtheta for a Markov
  (time-indexed) policy pi[h, s, a] or a state-independent pi[h, a]; the history-dependent
  (:func:`exact_value_history`) and visited-set-linear (:func:`exact_linear_gradient`)
  classes likewise. The gradient is the analytic derivative of the forward/backward
  recursion (what autodiff of the DP would give):
  dJ/dpi_h(a|s) = sum_{M} d_h(s, M) Q_h(s, M, a), softmax logits:
  dJ/dtheta_h(s,a) = pi_h(a|s) (dJ/dpi_h(a|s) - sum_b pi_h(b|s) dJ/dpi_h(b|s)).

SubPO (Algorithm 1; its structure from secondary sources, its details our reconstruction):

1. initialise logits theta (uniform policy by default);
2. each epoch: sample B trajectories (numba), record Delta_j;
   weights w_i = G_i - b_i with G_i = sum_{j >= i} Delta_j (Theorem 2's marginal-gain
   reward-to-go, ``estimator="reward_to_go"``, the default);
   g = (1/B) sum_b sum_i grad log pi(a_i | .) w_i (+ optional entropy bonus
   ``ent_coef / (e + 1)`` as in the code; 0 by default and in all discrete configs);
3. ascent step theta <- theta + lr g (``optimizer="sgd"``, Algorithm 1) or Adam (the code),
   or the tabular softmax NPG step theta_h(s, .) += eta Q^Delta_h(s, .) (our reconstruction:
   the paper's NPG statement could not be checked).

Choices the paper leaves open (all arguments):

* ``estimator``: "reward_to_go" (paper), "myopic_prefix" (the released code: weight
  F(tau_{0:i+1}), whose expectation is the *myopic* gradient E[sum_i grad log pi Delta_i], not
  grad J -- a discrepancy between the paper and its code), "reinforce" (full return F(tau)).
* ``baseline``: "batch_mean" (per-step mean of the weights over the *other* trajectories of
  the batch -- leave-one-out, so the estimator stays exactly unbiased; the plain batch mean
  has an O(1/B) bias) or "none".
* ``policy``: "markov" (SubPO-M, tabular softmax logits theta[h, s, a], the code's (state,
  time) input), "history" (SubPO-NM, tabular logits on every reachable (h, s, M) of the visit
  graph -- small instances only), "linear" (SubPO-NM for large grids: logits
  theta[h, s, a] + sum_{v in M} psi[v, a], a linear stand-in for the code's MLP on the list
  of visited states). The paper uses MLPs; tabular / linear classes are our choice so that
  exact values and gradients exist.
* ``reward``: "submodular" (SubPO) or "modular" (ModPO / the code's "SRL": Delta_j replaced by
  F({s_{j+1}}), revisits counted again).
* ``return_scale``: all weights are divided by it (the code uses MAX_Ret = 2 H_code + 2).
* Defaults: Adam, lr 0.1, B = 100, uniform init, reward-to-go, leave-one-out baseline. There
  is no theorem step size; :data:`PAPER_PRESETS` hold the code's per-domain settings.

Not implemented: the parametric NPG with a Fisher matrix and conjugate gradient (our
reconstruction of the paper's NPG), MLP / recurrent policies, and the actor-critic variants of
the continuous tasks (car racing, MuJoCo Ant).

Theorem 3 (eps-Bandit) tools: :func:`bandit_value_grad`, :func:`frank_wolfe_bandit`
(continuous greedy, step 1/K, Bian et al. 2017), :func:`projected_gradient_bandit`
(projected ascent to a stationary point, Hassani et al. 2017), :func:`bandit_optimum`
(enumeration of the A^H deterministic state-independent policies). Coordinates: x[h, a] =
pi^h(a) for a != null, pi^h(null) = 1 - sum_a x[h, a]; the polytope is
{x >= 0, sum_a x[h, a] <= 1} (our reading of the paper's P with one action dropped per step).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..envs.submodular import SubmodularMDP
from ..kernels import subpo as _k
from ..models import _validate

PAPER = ("Prajapat, Mutny, Zeilinger & Krause (2024), Submodular Reinforcement Learning, "
         "ICLR 2024")
ESTIMATORS = ("reward_to_go", "myopic_prefix", "reinforce")
BASELINES = ("batch_mean", "none")
POLICIES = ("markov", "history", "linear")
REWARDS = ("submodular", "modular")
OPTIMIZERS = ("adam", "sgd", "npg")
MAX_NODES = 20_000_000

#: The released code's discrete settings (docs/papers/subpo.md); H is the paper's
#: (H_code - 1); return_scale is the code's MAX_Ret = 2 (H_code + 1).
PAPER_PRESETS = {
    "gp": dict(H=39, batch_size=500, epochs=140, lr=1e-3, optimizer="adam", return_scale=82.0),
    "item_collection": dict(H=39, batch_size=500, epochs=150, lr=5e-3, optimizer="adam",
                            return_scale=82.0),
    "two_rooms": dict(H=39, batch_size=3000, epochs=140, lr=2e-2, optimizer="adam",
                      return_scale=82.0),
    "coverage": dict(H=79, batch_size=500, epochs=50, lr=1e-2, optimizer="adam",
                     return_scale=162.0),
    "bimodal": dict(H=39, batch_size=500, epochs=140, lr=1e-3, optimizer="adam",
                    return_scale=82.0),
}


def _choice(name: str, value, options) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def _smdp(smdp) -> SubmodularMDP:
    if not isinstance(smdp, SubmodularMDP):
        raise TypeError(f"smdp must be a SubmodularMDP, got {type(smdp).__name__}")
    return smdp


# =============================================================================== transitions

def compact_transitions(P: np.ndarray):
    """succ (H, S, K), nsucc (H, S), psucc (H, S, A, K): the K = max support size successors of
    each (h, s) under any action and their probabilities (zero-stride stationary P is handled
    once)."""
    stationary = P.strides[0] == 0
    Pc = P[:1] if stationary else P
    supp = (Pc > 0).any(axis=2)                                  # (H', S, S)
    nsucc = supp.sum(axis=-1).astype(np.int64)
    K = int(nsucc.max())
    order = np.argsort(~supp, axis=-1, kind="stable")[..., :K]   # support first, ascending
    succ = np.where(np.arange(K) < nsucc[..., None], order, 0).astype(np.int64)
    psucc = np.take_along_axis(Pc, np.broadcast_to(succ[:, :, None, :], Pc.shape[:3] + (K,)),
                               axis=-1)
    psucc = np.where(np.arange(K) < nsucc[:, :, None, None], psucc, 0.0)
    if stationary:
        H = P.shape[0]
        succ = np.ascontiguousarray(np.broadcast_to(succ, (H,) + succ.shape[1:]))
        nsucc = np.ascontiguousarray(np.broadcast_to(nsucc, (H,) + nsucc.shape[1:]))
        psucc = np.ascontiguousarray(np.broadcast_to(psucc, (H,) + psucc.shape[1:]))
    return np.ascontiguousarray(succ), np.ascontiguousarray(nsucc), np.ascontiguousarray(psucc)


def _transitions(smdp: SubmodularMDP):
    if "transitions" not in smdp._cache:
        smdp._cache["transitions"] = compact_transitions(smdp.P)
    return smdp._cache["transitions"]


# =============================================================================== visit graph

@dataclass(frozen=True)
class VisitGraph:
    """The reachable (h, s, visited-set) pairs, layer by layer.

    Attributes
    ----------
    lay_ptr : ndarray of shape (H + 2,)
        Nodes of layer h are lay_ptr[h]:lay_ptr[h+1].
    node_M, node_s : ndarray of shape (N,)
        Visited-set bitmask (bit v <-> state v) and current state of each node.
    node_F : ndarray of shape (N,)
        F(M) of each node.
    node_h : ndarray of shape (N,)
        Layer (step) of each node.
    child : ndarray of shape (lay_ptr[H], K)
        Node reached through successor k of the node's state (-1 past nsucc).
    root_w : ndarray of shape (lay_ptr[1],)
        rho0 of each layer-0 node.
    succ, nsucc, psucc
        Compact transitions (:func:`compact_transitions`).
    """

    lay_ptr: np.ndarray
    node_M: np.ndarray
    node_s: np.ndarray
    node_F: np.ndarray
    node_h: np.ndarray
    child: np.ndarray
    root_w: np.ndarray
    succ: np.ndarray
    nsucc: np.ndarray
    psucc: np.ndarray
    H: int
    S: int
    A: int

    @property
    def n_nodes(self) -> int:
        return int(self.lay_ptr[-1])

    @property
    def n_decision_nodes(self) -> int:
        """Nodes of layers 0..H-1 (where an action is taken)."""
        return int(self.lay_ptr[self.H])

    def layer_sizes(self) -> np.ndarray:
        return np.diff(self.lay_ptr)


def visit_graph(smdp: SubmodularMDP, *, max_nodes: int = MAX_NODES) -> VisitGraph:
    """Build (and cache on ``smdp``) the visit graph. ValueError if S > 57 or the graph would
    exceed ``max_nodes`` nodes."""
    smdp = _smdp(smdp)
    if "graph" in smdp._cache:
        return smdp._cache["graph"]
    H, S, A = smdp.H, smdp.S, smdp.A
    if S > _k.MAX_BITS:
        raise ValueError(f"exact methods store visited sets as int64 bitmasks and need "
                         f"S <= {_k.MAX_BITS}, got S={S}")
    succ, nsucc, psucc = _transitions(smdp)
    roots = np.flatnonzero(smdp.rho0 > 0)
    Ms = [np.left_shift(np.int64(1), roots.astype(np.int64))]
    ss = [roots.astype(np.int64)]
    children = []
    total = roots.size
    for h in range(H):
        keys, ch = _k.expand_layer(Ms[-1], ss[-1], h, succ, nsucc)
        total += keys.size
        if total > max_nodes:
            raise ValueError(f"the visit graph exceeds max_nodes={max_nodes} nodes at step "
                             f"{h + 1} (S={S}, H={H}); use a smaller instance or the "
                             f"sampling-based estimates")
        children.append(ch)
        Ms.append(keys >> _k.KEY_SHIFT)
        ss.append(keys & ((1 << _k.KEY_SHIFT) - 1))
    sizes = np.array([m.size for m in Ms])
    lay_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    child = np.vstack([np.where(ch >= 0, ch + lay_ptr[h + 1], -1)
                       for h, ch in enumerate(children)]) if H else np.zeros((0, 1), np.int64)
    node_M = np.concatenate(Ms)
    uniq, inv = np.unique(node_M, return_inverse=True)
    node_F = np.asarray(smdp.F.values(uniq), dtype=np.float64)[inv]
    g = VisitGraph(lay_ptr=lay_ptr, node_M=node_M, node_s=np.concatenate(ss), node_F=node_F,
                   node_h=np.repeat(np.arange(H + 1), sizes), child=np.ascontiguousarray(child),
                   root_w=smdp.rho0[roots].copy(), succ=succ, nsucc=nsucc, psucc=psucc,
                   H=H, S=S, A=A)
    smdp._cache["graph"] = g
    return g


# =============================================================================== exact values

@dataclass(frozen=True)
class Optimum:
    """History-dependent optimum: ``value`` = OPT, ``W`` (N,) optimal values-to-go of the
    graph nodes, ``actions`` (lay_ptr[H],) optimal actions, ``policy`` the one-hot node
    policy, ``graph`` the visit graph."""

    value: float
    W: np.ndarray
    actions: np.ndarray
    policy: np.ndarray
    graph: VisitGraph


def optimum(smdp: SubmodularMDP) -> Optimum:
    """OPT over history-dependent policies by DP on (h, s, visited set)."""
    g = visit_graph(smdp)
    if "optimum" in smdp._cache:
        return smdp._cache["optimum"]
    W = np.empty(g.n_nodes)
    act = np.zeros(g.n_decision_nodes, dtype=np.int64)
    _k.optimal_values(g.lay_ptr, g.node_s, g.node_F, g.child, g.nsucc, g.psucc, W, act)
    r = slice(g.lay_ptr[0], g.lay_ptr[1])
    value = float(g.root_w @ (g.node_F[r] + W[r]))
    pol = np.zeros((g.n_decision_nodes, g.A))
    pol[np.arange(act.size), act] = 1.0
    out = Optimum(value=value, W=W, actions=act, policy=pol, graph=g)
    smdp._cache["optimum"] = out
    return out


def bruteforce_optimum(smdp: SubmodularMDP, *, max_sequences: int = 50_000_000):
    """Best open-loop action sequence of a deterministic SMDP by enumerating all A^H sequences
    (equal to OPT by Proposition 2). Returns (value, actions tuple)."""
    smdp = _smdp(smdp)
    if not smdp.is_deterministic():
        raise ValueError("bruteforce_optimum needs a deterministic SMDP (one-hot P and rho0)")
    H, S, A = smdp.H, smdp.S, smdp.A
    if S > 62:
        raise ValueError(f"bruteforce_optimum needs S <= 62, got S={S}")
    total = A ** H
    if total > max_sequences:
        raise ValueError(f"A^H = {A}^{H} = {total} sequences exceeds max_sequences="
                         f"{max_sequences}")
    nxt = np.ascontiguousarray(np.argmax(smdp.P, axis=-1).astype(np.int64))   # (H, S, A)
    s0 = int(np.argmax(smdp.rho0))
    masks = np.empty(total, dtype=np.int64)
    _k.enumerate_sequences(nxt, s0, masks, np.empty(H + 1, dtype=np.int64))
    uniq, inv = np.unique(masks, return_inverse=True)
    vals = np.asarray(smdp.F.values(uniq))[inv]
    best = int(np.argmax(vals))
    seq, rem = [], best
    for h in range(H):
        seq.insert(0, rem % A)
        rem //= A
    return float(vals[best]), tuple(seq)


def _markov_policy(smdp, pi, name="pi") -> np.ndarray:
    """(H, S, A) float64 Markov policy from (H, S, A) or a state-independent (H, A)."""
    arr = _validate.as_float_array(name, pi)
    H, S, A = smdp.H, smdp.S, smdp.A
    if arr.ndim == 2:
        _validate.shape(name, arr, expected=(H, A))
        _validate.simplex(name, arr)
        return np.ascontiguousarray(np.broadcast_to(arr[:, None, :], (H, S, A)))
    _validate.shape(name, arr, expected=(H, S, A))
    _validate.simplex(name, arr)
    return np.ascontiguousarray(arr)


def _node_policy(g: VisitGraph, pi, name="pi_node") -> np.ndarray:
    arr = _validate.as_float_array(name, pi)
    _validate.shape(name, arr, expected=(g.n_decision_nodes, g.A))
    _validate.simplex(name, arr)
    return np.ascontiguousarray(arr)


def _as3(pi: np.ndarray, markov: bool) -> np.ndarray:
    """The kernels index node policies as pi[i, 0, a] (one array rank for both classes)."""
    return pi if markov else pi.reshape(pi.shape[0], 1, pi.shape[1])


def _evaluate(g: VisitGraph, pi, markov: bool):
    pi = _as3(pi, markov)
    W = np.empty(g.n_nodes)
    Q = np.empty((g.n_decision_nodes, g.A))
    _k.policy_values(g.lay_ptr, g.node_s, g.node_F, g.child, g.nsucc, g.psucc, pi, markov, W, Q)
    r = slice(g.lay_ptr[0], g.lay_ptr[1])
    return float(g.root_w @ (g.node_F[r] + W[r])), W, Q


def _occupancy(g: VisitGraph, pi, markov: bool) -> np.ndarray:
    pi = _as3(pi, markov)
    d = np.empty(g.n_nodes)
    _k.node_occupancy(g.lay_ptr, g.node_s, g.child, g.nsucc, g.psucc, pi, markov,
                      np.ascontiguousarray(g.root_w), d)
    return d


def exact_value(smdp: SubmodularMDP, pi) -> float:
    """J(pi) exactly, for a Markov pi[h, s, a] or a state-independent pi[h, a]."""
    g = visit_graph(smdp)
    return _evaluate(g, _markov_policy(smdp, pi), True)[0]


def exact_value_history(smdp: SubmodularMDP, pi_node) -> float:
    """J(pi) exactly for a history-dependent policy given per visit-graph node,
    pi_node (lay_ptr[H], A)."""
    g = visit_graph(smdp)
    return _evaluate(g, _node_policy(g, pi_node), False)[0]


def exact_gradient(smdp: SubmodularMDP, pi, *, parametrization: str = "softmax"):
    """(J(pi), dJ/dparam) for a Markov policy pi (H, S, A).

    parametrization "direct": dJ/dpi_h(a|s) = sum_M d_h(s, M) Q_h(s, M, a) (treating the
    entries as free variables); "softmax": gradient w.r.t. logits theta with
    pi = softmax(theta)."""
    _choice("parametrization", parametrization, ("softmax", "direct"))
    g = visit_graph(smdp)
    pi = _markov_policy(smdp, pi)
    J, _, Q = _evaluate(g, pi, True)
    d = _occupancy(g, pi, True)
    G = np.empty((g.H, g.S, g.A))
    _k.markov_direct_gradient(g.lay_ptr, g.node_s, d, Q, G)
    if parametrization == "direct":
        return J, G
    return J, pi * (G - (pi * G).sum(-1, keepdims=True))


def improvement_gap(smdp: SubmodularMDP, pi) -> float:
    """Frank-Wolfe (improvement) gap of J at a Markov policy pi (H, S, A):

        max over Markov pi' of <dJ/dpi, pi' - pi> = sum_{h, s} (max_a G_h(s, a) - pi_h(s) . G_h(s))

    with G = dJ/dpi (:func:`exact_gradient`, ``parametrization="direct"``). It is >= 0, and 0
    exactly at the first-order stationary points of J over the product of simplices. Unlike the
    logit gradient, it does not vanish on softmax plateaus: a near-deterministic policy that is
    not stationary keeps a positive gap."""
    pi = _markov_policy(_smdp(smdp), pi)
    _, G = exact_gradient(smdp, pi, parametrization="direct")
    return float(np.sum(G.max(axis=-1) - (pi * G).sum(axis=-1)))


def best_path_proxy(smdp: SubmodularMDP, *, beam: int = 200) -> tuple:
    """(F of the best path found, its actions): beam search over action sequences of a
    deterministic SMDP, keeping the ``beam`` partial paths with the largest F of their visited
    sets at each step (ties -> first found). A lower bound on OPT, used to normalise J on grids
    too large for the exact DP (the proxy of the paper-grid reproduction)."""
    smdp = _smdp(smdp)
    if not smdp.is_deterministic():
        raise ValueError("best_path_proxy needs a deterministic SMDP (one-hot P and rho0)")
    beam = _validate.positive_int("beam", beam)
    nxt = np.argmax(smdp.P, axis=-1)                      # (H, S, A) successor
    s0 = int(np.argmax(smdp.rho0))
    F = smdp.F
    start = np.zeros(smdp.S, dtype=bool)
    start[s0] = True
    paths = [(F.value(start), s0, start, ())]
    for h in range(smdp.H):
        seen = {}
        for val, s, mask, acts in paths:
            for a in range(smdp.A):
                t = int(nxt[h, s, a])
                if mask[t]:
                    key, v2, m2 = (t, mask.tobytes()), val, mask
                else:
                    m2 = mask.copy()
                    m2[t] = True
                    key, v2 = (t, m2.tobytes()), val + F.marginal(t, np.flatnonzero(mask))
                if key not in seen or v2 > seen[key][0]:
                    seen[key] = (v2, t, m2, acts + (a,))
        paths = sorted(seen.values(), key=lambda p: -p[0])[:beam]
    best = paths[0]
    return float(best[0]), np.asarray(best[3], dtype=np.int64)


def exact_gradient_history(smdp: SubmodularMDP, pi_node, *, parametrization: str = "softmax"):
    """(J, gradient (lay_ptr[H], A)) for a history-dependent node policy."""
    _choice("parametrization", parametrization, ("softmax", "direct"))
    g = visit_graph(smdp)
    pi = _node_policy(g, pi_node)
    J, _, Q = _evaluate(g, pi, False)
    d = _occupancy(g, pi, False)[:g.n_decision_nodes]
    G = d[:, None] * Q
    if parametrization == "direct":
        return J, G
    return J, pi * (G - (pi * G).sum(-1, keepdims=True))


def linear_node_policy(smdp: SubmodularMDP, theta, psi) -> np.ndarray:
    """Node policy (lay_ptr[H], A) of the visited-set-linear class."""
    g = visit_graph(smdp)
    out = np.empty((g.n_decision_nodes, g.A))
    _k.linear_node_policy(g.lay_ptr, g.node_M, g.node_s, np.ascontiguousarray(theta, float),
                          np.ascontiguousarray(psi, float), out)
    return out


def exact_linear_gradient(smdp: SubmodularMDP, theta, psi):
    """(J, dJ/dtheta (H, S, A), dJ/dpsi (S, A)) for the visited-set-linear softmax class."""
    g = visit_graph(smdp)
    pi = linear_node_policy(smdp, theta, psi)
    J, _, Q = _evaluate(g, pi, False)
    d = _occupancy(g, pi, False)
    gt = np.empty((g.H, g.S, g.A))
    gp = np.empty((g.S, g.A))
    _k.linear_softmax_gradient(g.lay_ptr, g.node_M, g.node_s, d, Q, pi, gt, gp)
    return J, gt, gp


def _immediate_gains(g: VisitGraph) -> np.ndarray:
    """g1[i, a] = sum_s' P_h(s'|s_i, a) F(s' | M_i): expected next marginal gain, (n0, A)."""
    n0 = g.n_decision_nodes
    ch = g.child[:n0]
    gain = np.where(ch >= 0, g.node_F[np.maximum(ch, 0)] - g.node_F[:n0, None], 0.0)  # (n0, K)
    return np.einsum("nak,nk->na", g.psucc[g.node_h[:n0], g.node_s[:n0]], gain)


def exact_myopic_gradient(smdp: SubmodularMDP, pi) -> np.ndarray:
    """Softmax-logit gradient of the myopic surrogate, E[sum_i grad log pi(a_i|s_i) Delta_i]
    (immediate marginal gains only) for a Markov pi (H, S, A): the expectation of the released
    code's "myopic_prefix" estimator, which differs from grad J."""
    g = visit_graph(smdp)
    pi = _markov_policy(smdp, pi)
    d = _occupancy(g, pi, True)
    n0 = g.n_decision_nodes
    G1 = np.zeros((g.H, g.S, g.A))
    np.add.at(G1, (g.node_h[:n0], g.node_s[:n0]), d[:n0, None] * _immediate_gains(g))
    return pi * (G1 - (pi * G1).sum(-1, keepdims=True))


def greedy_policy(smdp: SubmodularMDP) -> np.ndarray:
    """Node policy of the greedy planner: at (h, s, M) take the action with
    the largest expected immediate marginal gain sum_s' P_h(s'|s,a) F(s' | M) (ties -> lowest
    index)."""
    g = visit_graph(smdp)
    n0 = g.n_decision_nodes
    qg = _immediate_gains(g)
    pol = np.zeros((n0, g.A))
    pol[np.arange(n0), np.argmax(qg, axis=1)] = 1.0
    return pol


def modular_optimal_policy(smdp: SubmodularMDP) -> np.ndarray:
    """Optimal Markov policy of the modular surrogate (ModPO's objective at its optimum):
    reward F({s_{h+1}}) per step, revisits counted; backward induction, ties -> lowest."""
    smdp = _smdp(smdp)
    r1 = smdp.F.singletons()
    P = smdp.P
    H = smdp.H
    V = np.zeros(smdp.S)
    pi = np.zeros((H, smdp.S, smdp.A))
    for h in range(H - 1, -1, -1):
        Q = np.einsum("sat,t->sa", P[h], r1 + V)
        a = np.argmax(Q, axis=1)
        pi[h, np.arange(smdp.S), a] = 1.0
        V = Q[np.arange(smdp.S), a]
    return pi


def modular_value_gradient(smdp: SubmodularMDP, pi):
    """(J_mod, dJ_mod/dtheta) of the modular surrogate J_mod(pi) = E[F({s_0}) + sum_j F({s_{j+1}})]
    for a softmax Markov policy (ModPO's exact gradient)."""
    smdp = _smdp(smdp)
    pi = _markov_policy(smdp, pi)
    r1 = smdp.F.singletons()
    P, H, S = smdp.P, smdp.H, smdp.S
    Q = np.empty((H, S, smdp.A))
    V = np.zeros(S)
    for h in range(H - 1, -1, -1):
        Q[h] = np.einsum("sat,t->sa", P[h], r1 + V)
        V = (pi[h] * Q[h]).sum(-1)
    d = np.empty((H, S))
    d[0] = smdp.rho0
    for h in range(H - 1):
        d[h + 1] = np.einsum("s,sa,sat->t", d[h], pi[h], P[h])
    J = float(smdp.rho0 @ (r1 + V))
    Vh = (pi * Q).sum(-1, keepdims=True)
    return J, d[:, :, None] * pi * (Q - Vh)


# =============================================================================== sampling

@dataclass
class Batch:
    """B sampled trajectories.

    ===========  ============  ==================================================
    field        shape         meaning
    ===========  ============  ==================================================
    s            (B, H + 1)    states s_0..s_H
    a            (B, H)        actions a_0..a_{H-1}
    gains        (B, H)        Delta_j = F(tau_{0:j+1}) - F(tau_{0:j})
    f0           (B,)          F({s_0})
    node         (B, H)        visit-graph node of each step (history policies)
    prob         (B, H, A)     action probabilities used (linear policies)
    ===========  ============  ==================================================
    """

    s: np.ndarray
    a: np.ndarray
    gains: np.ndarray
    f0: np.ndarray
    node: np.ndarray | None = None
    prob: np.ndarray | None = None

    @property
    def returns(self) -> np.ndarray:
        """F(tau) of each trajectory."""
        return self.f0 + self.gains.sum(axis=1)


def _alloc(B, H, A):
    return (np.empty((B, H + 1), np.int64), np.empty((B, H), np.int64), np.empty((B, H)),
            np.empty(B))


def sample_markov(smdp: SubmodularMDP, pi, B: int, *, rng) -> Batch:
    """B trajectories of the Markov policy pi (H, S, A) (or state-independent (H, A))."""
    smdp = _smdp(smdp)
    B = _validate.positive_int("B", B)
    rng = _validate.rng(rng)
    pi = _markov_policy(smdp, pi)
    succ, nsucc, psucc = _transitions(smdp)
    s, a, gains, f0 = _alloc(B, smdp.H, smdp.A)
    _k.sample_markov(succ, nsucc, psucc, pi, np.ascontiguousarray(smdp.rho0),
                     *smdp.F.kernel_args(), rng, s, a, gains, f0)
    return Batch(s, a, gains, f0)


def sample_history(smdp: SubmodularMDP, pi_node, B: int, *, rng) -> Batch:
    """B trajectories of a history-dependent node policy (lay_ptr[H], A)."""
    g = visit_graph(smdp)
    B = _validate.positive_int("B", B)
    rng = _validate.rng(rng)
    pi = _node_policy(g, pi_node)
    s, a, gains, f0 = _alloc(B, g.H, g.A)
    node = np.empty((B, g.H), np.int64)
    _k.sample_nodes(g.lay_ptr, g.node_s, g.node_F, g.child, g.nsucc, g.psucc, pi,
                    np.ascontiguousarray(g.root_w), rng, s, a, gains, f0, node)
    return Batch(s, a, gains, f0, node=node)


def sample_linear(smdp: SubmodularMDP, theta, psi, B: int, *, rng) -> Batch:
    """B trajectories of the visited-set-linear softmax policy (theta (H, S, A), psi (S, A))."""
    smdp = _smdp(smdp)
    B = _validate.positive_int("B", B)
    rng = _validate.rng(rng)
    succ, nsucc, psucc = _transitions(smdp)
    s, a, gains, f0 = _alloc(B, smdp.H, smdp.A)
    prob = np.empty((B, smdp.H, smdp.A))
    _k.sample_linear(succ, nsucc, psucc, np.ascontiguousarray(theta, float),
                     np.ascontiguousarray(psi, float), np.ascontiguousarray(smdp.rho0),
                     *smdp.F.kernel_args(), rng, s, a, gains, f0, prob)
    return Batch(s, a, gains, f0, prob=prob)


def estimator_weights(batch: Batch, *, estimator: str = "reward_to_go",
                      baseline: str = "batch_mean", reward: str = "submodular",
                      singletons=None, return_scale: float = 1.0) -> np.ndarray:
    """Weights w[b, i] multiplying grad log pi(a_i | .) in the score-function estimator.

    With per-step rewards r_j = Delta_j (``reward="submodular"``) or F({s_{j+1}})
    (``"modular"``, needs ``singletons`` = F({v}) for all v) and r_init = F({s_0}):
    reward_to_go: sum_{j >= i} r_j (Theorem 2); myopic_prefix: r_init + sum_{j <= i} r_j
    (= F(tau_{0:i+1}) for SubPO, the released code); reinforce: r_init + sum_j r_j.
    baseline "batch_mean": minus the mean of w[., i] over the other B - 1 trajectories.
    """
    _choice("estimator", estimator, ESTIMATORS)
    _choice("baseline", baseline, BASELINES)
    _choice("reward", reward, REWARDS)
    scale = _validate.real("return_scale", return_scale, lo=0.0, lo_open=True)
    if reward == "submodular":
        r = batch.gains
        r0 = batch.f0
    else:
        if singletons is None:
            raise ValueError("reward='modular' needs singletons = F({v}) for every state v")
        sing = np.asarray(singletons, float)
        r = sing[batch.s[:, 1:]]
        r0 = sing[batch.s[:, 0]]
    if estimator == "reward_to_go":
        w = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    elif estimator == "myopic_prefix":
        w = r0[:, None] + np.cumsum(r, axis=1)
    else:
        w = np.repeat((r0 + r.sum(axis=1))[:, None], r.shape[1], axis=1)
    w = np.array(w, dtype=np.float64)
    if baseline == "batch_mean":
        B = w.shape[0]
        if B < 2:
            raise ValueError("baseline='batch_mean' (leave-one-out) needs a batch of B >= 2")
        w = w - (w.sum(axis=0, keepdims=True) - w) / (B - 1)
    return w / scale


# =============================================================================== SubPO

def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _entropy_grad(pi: np.ndarray) -> np.ndarray:
    """d H(softmax(theta)) / d theta = -pi (log pi + H) per row."""
    logp = np.log(np.maximum(pi, 1e-300))
    Hrow = -(pi * logp).sum(-1, keepdims=True)
    return -pi * (logp + Hrow)


class SubPO:
    """SubPO (Algorithm 1 of Prajapat et al. 2024; module docstring for every choice).

    Parameters
    ----------
    smdp : SubmodularMDP
    policy : {"markov", "history", "linear"}
        SubPO-M, SubPO-NM (tabular on the visit graph), SubPO-NM (visited-set-linear).
    estimator : {"reward_to_go", "myopic_prefix", "reinforce"}
    baseline : {"batch_mean", "none"}
    reward : {"submodular", "modular"}
        "modular" is ModPO.
    optimizer : {"adam", "sgd", "npg"}
        "npg": tabular softmax NPG step theta += lr Q_hat (markov / history policies).
    lr : float > 0
        Step size (Adam / SGD learning rate, NPG eta).
    batch_size : int
        B trajectories per epoch (>= 2 with the batch-mean baseline).
    gradient : {"sampled", "exact"}
        "exact" replaces the estimate by the exact gradient (noise-free ascent; small S).
    ent_coef : float >= 0
        Entropy bonus weight (divided by epoch + 1, as in the released code).
    return_scale : float > 0
        Weights are divided by it (the code's MAX_Ret).
    init : {"uniform", "random"}
        Logits 0, or N(0, init_scale^2) drawn from ``rng``.
    rng : Generator or int
        Seed of the sampling (and of a random init).
    """

    name = "SubPO"

    def __init__(self, smdp: SubmodularMDP, *, policy: str = "markov",
                 estimator: str = "reward_to_go", baseline: str = "batch_mean",
                 reward: str = "submodular", optimizer: str = "adam", lr: float = 0.1,
                 batch_size: int = 100, gradient: str = "sampled", ent_coef: float = 0.0,
                 return_scale: float = 1.0, init: str = "uniform", init_scale: float = 1.0,
                 rng=0):
        self.smdp = _smdp(smdp)
        self.policy_kind = _choice("policy", policy, POLICIES)
        self.estimator = _choice("estimator", estimator, ESTIMATORS)
        self.baseline = _choice("baseline", baseline, BASELINES)
        self.reward = _choice("reward", reward, REWARDS)
        self.optimizer = _choice("optimizer", optimizer, OPTIMIZERS)
        self.gradient = _choice("gradient", gradient, ("sampled", "exact"))
        self.lr = _validate.real("lr", lr, lo=0.0, lo_open=True)
        self.batch_size = _validate.positive_int("batch_size", batch_size)
        if self.baseline == "batch_mean" and self.batch_size < 2 and gradient == "sampled":
            raise ValueError(f"batch_size must be >= 2 with baseline='batch_mean', got "
                             f"{batch_size}")
        self.ent_coef = _validate.real("ent_coef", ent_coef, lo=0.0)
        self.return_scale = _validate.real("return_scale", return_scale, lo=0.0, lo_open=True)
        _choice("init", init, ("uniform", "random"))
        init_scale = _validate.real("init_scale", init_scale, lo=0.0)
        if self.ent_coef > 0 and (self.policy_kind == "linear" or self.gradient == "exact"):
            raise ValueError("ent_coef > 0 (the code's per-sample entropy bonus) needs "
                             "gradient='sampled' and a tabular policy ('markov' or 'history')")
        if self.optimizer == "npg" and self.policy_kind == "linear":
            raise ValueError("optimizer='npg' is the tabular softmax NPG step; use it with "
                             "policy='markov' or 'history', not 'linear'")
        if self.gradient == "exact" and self.estimator != "reward_to_go":
            raise ValueError("gradient='exact' is the exact gradient of J; the estimator "
                             "choice applies only to gradient='sampled'")
        self.rng = _validate.rng(rng)
        H, S, A = self.smdp.H, self.smdp.S, self.smdp.A
        if self.policy_kind == "history" or self.gradient == "exact":
            self.graph = visit_graph(self.smdp)
        else:
            self.graph = None
        shapes = {"markov": {"theta": (H, S, A)},
                  "history": {"theta": (0 if self.graph is None else
                                        self.graph.n_decision_nodes, A)},
                  "linear": {"theta": (H, S, A), "psi": (S, A)}}[self.policy_kind]
        self.params = {k: (self.rng.normal(0.0, init_scale, shp) if init == "random"
                           else np.zeros(shp)) for k, shp in shapes.items()}
        self._adam = {k: (np.zeros(shp), np.zeros(shp)) for k, shp in shapes.items()}
        self._singletons = self.smdp.F.singletons()
        self.epoch = 0

    # ---- policy
    def policy(self) -> np.ndarray:
        """Current policy: (H, S, A) for "markov", node policy (lay_ptr[H], A) otherwise."""
        if self.policy_kind == "markov":
            return _softmax(self.params["theta"])
        if self.policy_kind == "history":
            return _softmax(self.params["theta"])
        return linear_node_policy(self.smdp, self.params["theta"], self.params["psi"])

    def value(self) -> float:
        """Exact J of the current policy (visit graph; small instances)."""
        if self.policy_kind == "markov":
            return exact_value(self.smdp, self.policy())
        return exact_value_history(self.smdp, self.policy())

    def sample(self, B: int | None = None, rng=None) -> Batch:
        """B trajectories of the current policy."""
        B = self.batch_size if B is None else B
        rng = self.rng if rng is None else rng
        if self.policy_kind == "markov":
            return sample_markov(self.smdp, _softmax(self.params["theta"]), B, rng=rng)
        if self.policy_kind == "history":
            return sample_history(self.smdp, _softmax(self.params["theta"]), B, rng=rng)
        return sample_linear(self.smdp, self.params["theta"], self.params["psi"], B, rng=rng)

    # ---- gradients
    def gradient_estimate(self, batch: Batch) -> dict:
        """Score-function estimate (1/B) sum_b sum_i grad log pi(a_i|.) w_i for each
        parameter array."""
        w = estimator_weights(batch, estimator=self.estimator, baseline=self.baseline,
                              reward=self.reward, singletons=self._singletons,
                              return_scale=self.return_scale)
        B = batch.a.shape[0]
        theta = self.params["theta"]
        g = {k: np.zeros_like(v) for k, v in self.params.items()}
        if self.policy_kind == "markov":
            _k.score_markov(batch.s, batch.a, _softmax(theta), w, g["theta"])
        elif self.policy_kind == "history":
            _k.score_nodes(batch.node, batch.a, _softmax(theta), w, g["theta"])
        else:
            _k.score_linear(batch.s, batch.a, batch.prob, w, g["theta"], g["psi"])
        for k in g:
            g[k] /= B
        return g

    def exact_gradient(self) -> tuple:
        """(J, gradient dict) of the current policy, exactly (modular J for ModPO)."""
        theta = self.params["theta"]
        if self.reward == "modular":
            if self.policy_kind != "markov":
                raise ValueError("the exact ModPO gradient is implemented for Markov policies")
            J, gt = modular_value_gradient(self.smdp, _softmax(theta))
            return J, {"theta": gt}
        if self.policy_kind == "markov":
            J, gt = exact_gradient(self.smdp, _softmax(theta))
            return J, {"theta": gt}
        if self.policy_kind == "history":
            J, gt = exact_gradient_history(self.smdp, _softmax(theta))
            return J, {"theta": gt}
        J, gt, gp = exact_linear_gradient(self.smdp, theta, self.params["psi"])
        return J, {"theta": gt, "psi": gp}

    def _entropy_bonus(self, batch: Batch | None) -> dict:
        theta = self.params["theta"]
        coef = self.ent_coef / (self.epoch + 1)
        out = {k: np.zeros_like(v) for k, v in self.params.items()}
        if coef == 0.0 or batch is None or self.policy_kind == "linear":
            return out
        B, H = batch.a.shape
        pi = _softmax(theta)
        eg = _entropy_grad(pi)
        if self.policy_kind == "markov":
            cnt = np.zeros(theta.shape[:2])
            np.add.at(cnt, (np.broadcast_to(np.arange(H), (B, H)), batch.s[:, :H]), 1.0)
            out["theta"] = coef * cnt[:, :, None] * eg / (B * H)
        else:
            cnt = np.bincount(batch.node.ravel(), minlength=theta.shape[0]).astype(float)
            out["theta"] = coef * cnt[:, None] * eg / (B * H)
        return out

    def _npg_direction(self, batch: Batch | None) -> dict:
        """Q-hat step of the tabular softmax NPG: Q^Delta - V^Delta at visited (h, s) [or node]
        for sampled gradients; exact Q^Delta for gradient="exact"."""
        theta = self.params["theta"]
        if self.gradient == "exact":
            pi = _softmax(theta)
            g = self.graph
            if self.policy_kind == "markov":
                _, G = exact_gradient(self.smdp, pi, parametrization="direct")
                d = np.zeros((g.H, g.S))
                occ = _occupancy(g, pi, True)
                np.add.at(d, (g.node_h[:g.n_decision_nodes], g.node_s[:g.n_decision_nodes]),
                          occ[:g.n_decision_nodes])
                Qd = np.where(d[:, :, None] > 0, G / np.maximum(d, 1e-300)[:, :, None], 0.0)
            else:
                _, _, Qd = _evaluate(g, pi, False)
            return {"theta": Qd}
        w = estimator_weights(batch, estimator="reward_to_go", baseline="none",
                              reward=self.reward, singletons=self._singletons,
                              return_scale=self.return_scale)
        B, H = batch.a.shape
        if self.policy_kind == "markov":
            key = (np.broadcast_to(np.arange(H), (B, H)).ravel(), batch.s[:, :H].ravel())
            n = np.zeros(theta.shape)
            q = np.zeros(theta.shape)
            np.add.at(n, key + (batch.a.ravel(),), 1.0)
            np.add.at(q, key + (batch.a.ravel(),), w.ravel())
        else:
            n = np.zeros(theta.shape)
            q = np.zeros(theta.shape)
            np.add.at(n, (batch.node.ravel(), batch.a.ravel()), 1.0)
            np.add.at(q, (batch.node.ravel(), batch.a.ravel()), w.ravel())
        ns = n.sum(-1, keepdims=True)
        v = np.where(ns > 0, q.sum(-1, keepdims=True) / np.maximum(ns, 1), 0.0)
        qhat = np.where(n > 0, q / np.maximum(n, 1), v)
        return {"theta": qhat - v}

    # ---- one epoch
    def step(self) -> dict:
        """Sample (unless exact), estimate, update; returns the epoch's metrics."""
        batch = None
        mean_F = np.nan
        if self.gradient == "sampled":
            batch = self.sample()
            mean_F = float(batch.returns.mean())
        if self.optimizer == "npg":
            g = self._npg_direction(batch)
        elif self.gradient == "exact":
            _, g = self.exact_gradient()
        else:
            g = self.gradient_estimate(batch)
        bonus = self._entropy_bonus(batch)
        t = self.epoch + 1
        for k in self.params:
            gk = g[k] + bonus[k]
            if self.optimizer == "adam":
                m, v = self._adam[k]
                m *= 0.9
                m += 0.1 * gk
                v *= 0.999
                v += 0.001 * gk * gk
                mhat = m / (1 - 0.9 ** t)
                vhat = v / (1 - 0.999 ** t)
                self.params[k] += self.lr * mhat / (np.sqrt(vhat) + 1e-8)
            else:
                self.params[k] += self.lr * gk
        self.epoch += 1
        return {"epoch": self.epoch, "mean_F": mean_F}

    def fit(self, epochs: int, *, eval_every: int | None = None) -> pd.DataFrame:
        """Run ``epochs`` epochs; rows: epoch, mean_F (batch mean of F(tau)) and, every
        ``eval_every`` epochs (and at the end) when exact values are available, J (exact)."""
        epochs = _validate.positive_int("epochs", epochs)
        exact_ok = self.smdp.S <= _k.MAX_BITS and eval_every is not None
        rows = []
        for e in range(epochs):
            row = self.step()
            if exact_ok and (self.epoch % eval_every == 0 or e == epochs - 1):
                row["J"] = self.value()
            rows.append(row)
        return pd.DataFrame(rows)


class ModPO(SubPO):
    """ModPO / "MRL" baseline: SubPO with the modular reward F({s_{j+1}}) per step."""

    name = "ModPO"

    def __init__(self, smdp: SubmodularMDP, **kwargs):
        if kwargs.get("reward", "modular") != "modular":
            raise ValueError("ModPO uses reward='modular'; use SubPO for other rewards")
        kwargs["reward"] = "modular"
        super().__init__(smdp, **kwargs)


# =============================================================================== eps-bandit

def _null_action(smdp: SubmodularMDP, null_action):
    if null_action is None:
        return int(np.argmax(smdp.rho0))
    if not 0 <= int(null_action) < smdp.A:
        raise ValueError(f"null_action is {null_action}, expected an action in "
                         f"[0, {smdp.A - 1}]")
    return int(null_action)


def bandit_policy(x: np.ndarray, null_action: int) -> np.ndarray:
    """State-independent pi (H, A) from polytope coordinates x (H, A) (x[:, null] ignored)."""
    pi = np.array(x, dtype=float)
    pi[:, null_action] = 0.0
    pi[:, null_action] = np.maximum(0.0, 1.0 - pi.sum(axis=1))
    return pi


def bandit_value_grad(smdp: SubmodularMDP, x, *, null_action=None):
    """(J, dJ/dx (H, A)) at polytope point x (H, A): pi^h(a) = x[h, a] for a != null,
    pi^h(null) = 1 - sum; dJ/dx[h, a] = dJ/dpi^h(a) - dJ/dpi^h(null) (0 in the null column)."""
    smdp = _smdp(smdp)
    null = _null_action(smdp, null_action)
    x = _validate.as_float_array("x", x)
    _validate.shape("x", x, expected=(smdp.H, smdp.A))
    pi = bandit_policy(x, null)
    J, G = exact_gradient(smdp, pi, parametrization="direct")
    Gh = G.sum(axis=1)                                 # dJ/dpi^h(a) for state-independent pi
    grad = Gh - Gh[:, [null]]
    grad[:, null] = 0.0
    return J, grad


def _project_capped_simplex(y: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of y onto {x >= 0, sum x <= 1}."""
    out = np.maximum(y, 0.0)
    for h in range(y.shape[0]):
        if out[h].sum() > 1.0:
            u = np.sort(y[h])[::-1]
            css = np.cumsum(u)
            k = np.nonzero(u * np.arange(1, u.size + 1) > css - 1.0)[0][-1]
            tau = (css[k] - 1.0) / (k + 1)
            out[h] = np.maximum(y[h] - tau, 0.0)
    return out


@dataclass
class BanditResult:
    """Result of a polytope method: x (H, A) coordinates, pi (H, A), J, iterations."""

    x: np.ndarray
    pi: np.ndarray
    value: float
    iterations: int
    stationarity: float = float("nan")
    history: list = field(default_factory=list)


def frank_wolfe_bandit(smdp: SubmodularMDP, K: int, *, null_action=None) -> BanditResult:
    """Continuous greedy / Frank-Wolfe with step 1/K from x = 0 (Bian et al. 2017, Alg. 1):
    v_k = argmax_{v in P} <v, grad J(x_k)> (per step h: the coordinate with the largest positive
    partial derivative, or 0), x_{k+1} = x_k + v_k / K."""
    smdp = _smdp(smdp)
    K = _validate.positive_int("K", K)
    null = _null_action(smdp, null_action)
    x = np.zeros((smdp.H, smdp.A))
    hist = []
    for _ in range(K):
        J, grad = bandit_value_grad(smdp, x, null_action=null)
        hist.append(J)
        v = np.zeros_like(x)
        best = np.argmax(grad, axis=1)
        pos = grad[np.arange(smdp.H), best] > 0
        v[np.arange(smdp.H)[pos], best[pos]] = 1.0
        x = x + v / K
    x = np.minimum(x, 1.0)
    pi = bandit_policy(x, null)
    J = exact_value(smdp, pi)
    hist.append(J)
    return BanditResult(x=x, pi=pi, value=J, iterations=K, history=hist)


def projected_gradient_bandit(smdp: SubmodularMDP, x0, *, step: float | None = None,
                              max_iter: int = 5000, tol: float = 1e-9,
                              null_action=None) -> BanditResult:
    """Projected gradient ascent on the polytope until the gradient mapping
    |x - Proj(x + step grad)| / step <= tol (a stationary point; Hassani et al. 2017 show
    J >= OPT / 2 there for monotone DR-submodular J). Step: ``step`` or backtracking from 1."""
    smdp = _smdp(smdp)
    null = _null_action(smdp, null_action)
    x0 = _validate.as_float_array("x0", x0)
    _validate.shape("x0", x0, expected=(smdp.H, smdp.A))
    _validate.finite("x0", x0)
    x0[:, null] = 0.0
    x = _project_capped_simplex(x0)
    eta = 1.0 if step is None else _validate.real("step", step, lo=0.0, lo_open=True)
    J, grad = bandit_value_grad(smdp, x, null_action=null)
    res = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        while True:
            y = _project_capped_simplex(x + eta * grad)
            y[:, null] = 0.0
            Jy, gy = bandit_value_grad(smdp, y, null_action=null)
            if step is not None or Jy >= J - 1e-15 or eta < 1e-12:
                break
            eta *= 0.5
        res = float(np.abs(y - x).max() / eta)
        x, J, grad = y, Jy, gy
        if res <= tol:
            break
        if step is None:
            eta = min(1.0, eta * 2.0)
    pi = bandit_policy(x, null)
    return BanditResult(x=x, pi=pi, value=J, iterations=it, stationarity=res)


def bandit_optimum(smdp: SubmodularMDP, *, max_sequences: int = 2_000_000):
    """OPT over state-independent policies: J is multilinear in (pi^0, ..., pi^{H-1}), so the
    maximum is at a deterministic sequence; all A^H are evaluated. Returns (value, actions)."""
    smdp = _smdp(smdp)
    H, A = smdp.H, smdp.A
    if A ** H > max_sequences:
        raise ValueError(f"A^H = {A ** H} sequences exceeds max_sequences={max_sequences}")
    best, arg = -np.inf, None
    pi = np.zeros((H, A))
    for seq in itertools.product(range(A), repeat=H):
        pi[:] = 0.0
        pi[np.arange(H), seq] = 1.0
        v = exact_value(smdp, pi)
        if v > best + 1e-12:
            best, arg = v, seq
    return float(best), tuple(int(a) for a in arg)


def bandit_smoothness(smdp: SubmodularMDP, eps: float) -> tuple:
    """(L, D^2) of the Frank-Wolfe error term L D^2 / (2K) on the eps-Bandit polytope:
    |d^2 J / dx_{h,a} dx_{h',b}| <= (1 - eps)^2 max_v F({v}) for h != h' (0 within a step; J is
    multilinear), so the Hessian's spectral norm is at most L = (H - 1)(A - 1)(1 - eps)^2
    max_v F({v}); the polytope's diameter^2 is D^2 = 2 H."""
    smdp = _smdp(smdp)
    m = float(smdp.F.singletons().max())
    L = (smdp.H - 1) * (smdp.A - 1) * (1.0 - eps) ** 2 * m
    return L, 2.0 * smdp.H


__all__ = ["SubPO", "ModPO", "VisitGraph", "visit_graph", "Optimum", "optimum",
           "bruteforce_optimum", "exact_value", "exact_value_history", "exact_gradient",
           "exact_gradient_history", "exact_linear_gradient", "linear_node_policy",
           "greedy_policy", "exact_myopic_gradient", "modular_optimal_policy",
           "modular_value_gradient", "Batch",
           "sample_markov", "sample_history", "sample_linear", "estimator_weights",
           "compact_transitions", "bandit_value_grad", "bandit_policy", "frank_wolfe_bandit",
           "projected_gradient_bandit", "bandit_optimum", "bandit_smoothness", "BanditResult",
           "PAPER_PRESETS", "ESTIMATORS", "BASELINES", "POLICIES", "improvement_gap",
           "best_path_proxy"]
