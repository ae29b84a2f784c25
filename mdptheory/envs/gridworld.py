"""Grid worlds on networkx graphs, with slippery moves and an absorbing goal.

States are the nodes of a graph (walls removed), numbered in sorted node order (insertion order if
the nodes cannot be sorted); ``return_nodes=True`` also returns that list, ``nodes[s]`` being
the node of state s.

Actions. If every node is a pair of integers (as in ``networkx.grid_2d_graph``, node =
(row, col)) the actions are the compass moves 0 = up (row - 1), 1 = down (row + 1), 2 = left
(col - 1), 3 = right (col + 1); a move whose target is not a neighbour (off the grid, a wall, a
missing edge) leaves the agent where it is; other edges of such a graph (e.g. diagonals) are used
only by the slip noise. On any other graph, A is the largest out-degree and
action k moves to the k-th neighbour in state order (stay if the node has fewer neighbours).

Dynamics. With probability 1 - slip the chosen move is executed; with probability slip the agent
instead goes to a uniformly random element of {its neighbours} plus {stay}, i.e. each of the
deg(s) + 1 outcomes gets slip / (deg(s) + 1). Goal nodes are absorbing and pay ``goal_reward``
per step under every action; every other reward is 0. rho0 is a point mass at ``start``.

This is the tabular grid world of Sutton & Barto (2018), Ch. 3-4, with a "slippery" noise model
like rlberry's GridWorld ``success_probability``; here the failed moves are spread over the
actual neighbours and staying, so the noise never pushes into a wall.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import _common

COMPASS = ((-1, 0), (1, 0), (0, -1), (0, 1))   # up, down, left, right on (row, col) nodes
ACTION_NAMES = ("up", "down", "left", "right")


def _as_graph(graph_or_shape):
    import networkx as nx

    if isinstance(graph_or_shape, nx.Graph):   # DiGraph is a subclass
        return graph_or_shape.copy()
    shape = graph_or_shape
    if (isinstance(shape, (tuple, list)) and len(shape) == 2
            and all(isinstance(n, (numbers.Integral, np.integer)) and not isinstance(n, bool)
                    for n in shape)):
        if shape[0] < 1 or shape[1] < 1:
            raise ValueError(f"graph_or_shape must be a networkx graph or a (rows, cols) pair of "
                             f"positive integers, got {tuple(shape)}")
        return nx.grid_2d_graph(int(shape[0]), int(shape[1]))
    raise TypeError(f"graph_or_shape must be a networkx graph or a (rows, cols) pair of "
                    f"integers, got {graph_or_shape!r}")


def _node_list(value, name: str, G, original) -> list:
    """One node or an iterable of nodes of ``original``, each checked to be in G.

    A hashable node of ``original`` (e.g. the pair (1, 1)) is one node; a tuple is a tuple of
    nodes only if all its items are nodes.
    """
    if _hashable(value) and value in original:
        items = [value]
    elif isinstance(value, tuple):
        items = list(value) if all(_hashable(v) and v in original for v in value) else [value]
    elif isinstance(value, str):
        items = [value]
    else:
        try:
            items = list(value)
        except TypeError:
            items = [value]
    for v in items:
        if not _hashable(v) or v not in G:
            raise ValueError(f"{name} contains {v!r}, which is not a node of the graph "
                             f"(after removing walls)")
    return items


def _hashable(x) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def _is_int_pair(v) -> bool:
    return (isinstance(v, tuple) and len(v) == 2
            and all(isinstance(c, (numbers.Integral, np.integer)) and not isinstance(c, bool)
                    for c in v))


def grid_world(graph_or_shape, *, slip: float = 0.1, walls=(), goal=None, start=None,
               H: int | None = None, gamma: float | None = None, goal_reward: float = 1.0,
               return_nodes: bool = False):
    """Slippery grid world on a graph; see the module docstring for actions and dynamics.

    Parameters
    ----------
    graph_or_shape : networkx.Graph or (rows, cols)
        The graph (copied, never modified) or the shape of ``networkx.grid_2d_graph``.
    slip : float
        Probability in [0, 1] of a uniformly random move to a neighbour or staying.
    walls : iterable of nodes
        Nodes removed before building the MDP (each must be a node of the graph).
    goal : node or iterable of nodes, optional
        Absorbing rewarding nodes (default: the last node in state order, e.g. the bottom-right
        corner of a grid).
    start : node, optional
        Initial node (default: the first node in state order, e.g. (0, 0)).
    H, gamma
        Horizon or discount (exactly one).
    goal_reward : float
        Reward in [0, 1] per step at a goal.
    return_nodes : bool
        Also return the list ``nodes`` with ``nodes[s]`` the node of state s.

    Returns
    -------
    FiniteHorizonMDP or DiscountedMDP, or (model, nodes)
        P of shape (H, S, A, S) or (S, A, S), S = number of nodes left, A = 4 on (row, col)
        graphs.
    """
    G = _as_graph(graph_or_shape)
    original = set(G.nodes)
    slip = _common.probability("slip", slip)
    goal_reward = _common.probability("goal_reward", goal_reward)
    H, gamma = _common.horizon_or_discount(H, gamma)
    G.remove_nodes_from(_node_list(walls, "walls", G, original))
    if G.number_of_nodes() == 0:
        raise ValueError("the graph has no nodes left after removing walls")
    try:
        nodes = sorted(G.nodes)
    except TypeError:
        nodes = list(G.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    S = len(nodes)
    goals = [nodes[-1]] if goal is None else _node_list(goal, "goal", G, original)
    if start is None:
        start = nodes[0]
    elif not _hashable(start) or start not in G:
        raise ValueError(f"start {start!r} is not a node of the graph (after removing walls)")

    neighbours = [sorted(index[u] for u in G.neighbors(v) if u != v) for v in nodes]
    compass = all(_is_int_pair(v) for v in nodes)
    A = 4 if compass else max(1, max(len(n) for n in neighbours))
    P = np.zeros((S, A, S))                        # P[s, a, s_next]
    for s, v in enumerate(nodes):
        for a in range(A):
            if compass:
                u = (v[0] + COMPASS[a][0], v[1] + COMPASS[a][1])
                target = index[u] if u in index and G.has_edge(v, u) else s
            else:
                target = neighbours[s][a] if a < len(neighbours[s]) else s
            P[s, a, target] += 1.0 - slip
        noise = neighbours[s] + [s]
        P[s, :, noise] += slip / len(noise)
    r = np.zeros((S, A))                           # r[s, a]
    for g in goals:
        P[index[g]] = 0.0
        P[index[g], :, index[g]] = 1.0
        r[index[g]] = goal_reward
    model = _common.build(P, r, _common.point_mass(S, index[start]), H, gamma)
    return (model, nodes) if return_nodes else model


def grid_world_5x5(H: int | None = None, *, gamma: float | None = None, slip: float = 0.1,
                   return_nodes: bool = False):
    """The 5 x 5 benchmark grid: walls at (1, 1) and (2, 2), start (0, 0), goal (4, 4); S = 23.

    The same number of states (23) as rlberry's default 5 x 5 ``GridWorld``, which the
    benchmarks compare against; the wall positions and the noise model are those chosen here
    (:func:`grid_world`), not checked against rlberry's. ``H`` defaults to 20 when ``gamma`` is
    not given.
    """
    return grid_world((5, 5), slip=slip, walls=[(1, 1), (2, 2)], goal=(4, 4), start=(0, 0),
                      H=H if H is not None or gamma is not None else 20, gamma=gamma,
                      return_nodes=return_nodes)
