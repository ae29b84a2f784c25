"""WindyWalk: the package's stand-in for the "windy walk" grid world of IWOCS (our design).

The paper shows a windy grid world with start S, goal G and wind (known to us from a figure
caption on a public overview page); its size, wind model, uncertainty set and discount could
not be read. This is our reconstruction (docs/papers/iwocs.md), with exact ground truth from
robust dynamic programming.

Layout. ``rows`` x ``cols`` cells (default 4 x 8), cell (row, col) is state row * cols + col;
row 0 is the bottom row. Start S = (0, 0) and goal G = (0, cols - 1) on the bottom row; the
cells (0, 1) .. (0, cols - 2) between them are a cliff. rho0 = point mass at S.

Actions 0 = up (row + 1), 1 = down (row - 1), 2 = left (col - 1), 3 = right (col + 1).

Dynamics from a cell s != G under action a:

1. the move is deterministic: m = move(s, a), clipped at the walls;
2. then, with probability w, a gust pushes the agent one more cell in the gust direction g
   (clipped at the walls): the landing cell is x = move(m, g), else x = m;
3. if x is a cliff cell, the step costs -20 and the agent is sent to S; otherwise it costs -1
   and the agent is at x.

G is absorbing with cost 0 (no wind at G; a gust may push the agent off G on the step that
enters it, step 2 applies to every move). Gust index 0 = none, 1 = up, 2 = down, 3 = left,
4 = right. gamma = 0.95.

These readings (the gust acts on the cell reached by the move, including G and cliff cells; the
cliff is judged on the landing cell; the -20 replaces the -1 of that step) are the ones that
reproduce every reference number below (from an independent from-scratch computation
of the same design); the variants tried (cliff cells as states paying -20 on
the next step, no gust on entering G) give other values. See tests/algorithms/test_iwocs.py.

Costs and rewards. mdptheory models need rewards in [0, 1], so each cost c in [-20, 0] is
stored as the reward r = 1 + c / 20 (the affine map c -> (c - c_min) / (c_max - c_min) with
c_min = -20, c_max = 0). Because the map is affine and applied at every step, values convert
exactly: V_cost = 20 V_reward - 20 / (1 - gamma) for every policy, state and model
(:func:`to_cost`, :func:`to_reward`). The cost of a step depends on where the agent lands, so
the expected reward of (s, a) depends on the kernel: every model of the sets below is a
(P, r) pair (:mod:`mdptheory.models.model_sets`).

Uncertainty sets (``uncertainty``):

* ``"R"``: (s, a)-rectangular. For each (s, a) independently, any convex combination of the
  nominal row and the four rows "gust g with probability w_max" (5 candidates);
* ``"R_down"``: rectangular, downward gust only, w_{s,a} in [0, w_max] (a sanity check:
  the worst case is maximal wind everywhere);
* ``"P1"``: static, one shared downward-gust probability w in [0, w_max] (affine, d = 1,
  non-rectangular);
* ``"P8"``: static, one downward-gust probability per column in [0, w_max]^cols (affine,
  d = cols); the column is that of the cell m reached by the move, where the gust blows;
* ``"nominal"``: the nominal DiscountedMDP (w = 0).

Reference values (an independent computation of this design; gamma = 0.95, w_max = 0.3, 4 x 8,
in costs): robust optimum V*_T(S) = -15.73 under (R); the nominal-optimal policy has nominal
value -7.40 and robust value -79.19; exact IWOCS from the nominal model closes the certificate
after adding 2 models (upper/lower -7.40/-79.19 -> -15.40/-15.73 -> -15.73/-15.73).
"""
from __future__ import annotations

import numpy as np

from ..models import _validate
from ..models.finite import DiscountedMDP
from ..models.model_sets import AffineModelSet, RectangularModelSet

ACTIONS = ("up", "down", "left", "right")
GUSTS = ("none", "up", "down", "left", "right")
_MOVES = ((1, 0), (-1, 0), (0, -1), (0, 1))          # (d_row, d_col) of up, down, left, right
COST_STEP, COST_CLIFF, COST_GOAL = -1.0, -20.0, 0.0
COST_MIN, COST_MAX = -20.0, 0.0
UNCERTAINTIES = ("R", "R_down", "P1", "P8", "nominal")
REFERENCE = {"robust_optimum": -15.73, "nominal_value": -7.40, "nominal_robust_value": -79.19,
             "iwocs_upper": (-7.40, -15.40, -15.73), "iwocs_lower": (-79.19, -15.73, -15.73),
             "policies_differ": 13}


def reward_from_cost(cost):
    """r = (c - c_min) / (c_max - c_min) = 1 + c / 20, mapping costs in [-20, 0] onto [0, 1]."""
    return (np.asarray(cost, dtype=np.float64) - COST_MIN) / (COST_MAX - COST_MIN)


def to_cost(value, gamma: float):
    """Discounted value in costs from a value in rewards: 20 V - 20 / (1 - gamma)."""
    scale = COST_MAX - COST_MIN
    return scale * np.asarray(value, dtype=np.float64) + COST_MIN / (1.0 - gamma)


def to_reward(value_cost, gamma: float):
    """Inverse of :func:`to_cost`."""
    scale = COST_MAX - COST_MIN
    return (np.asarray(value_cost, dtype=np.float64) - COST_MIN / (1.0 - gamma)) / scale


def layout(rows: int = 4, cols: int = 8) -> dict:
    """State indices of the layout: {"start", "goal", "cliff" (list), "rows", "cols"}."""
    rows = _validate.positive_int("rows", rows)
    cols = _validate.positive_int("cols", cols)
    if cols < 3:
        raise ValueError(f"cols must be >= 3 (start, at least one cliff cell, goal), got {cols}")
    return {"start": 0, "goal": cols - 1, "cliff": list(range(1, cols - 1)), "rows": rows,
            "cols": cols}


def state(row: int, col: int, cols: int = 8) -> int:
    """State index of cell (row, col) (row 0 = bottom)."""
    return row * cols + col


def _move(s: int, d, rows: int, cols: int) -> int:
    r, c = divmod(s, cols)
    return min(max(r + d[0], 0), rows - 1) * cols + min(max(c + d[1], 0), cols - 1)


def _outcome(x: int, lay: dict):
    """(next state, reward) of landing on cell x."""
    if x in lay["cliff"]:
        return lay["start"], float(reward_from_cost(COST_CLIFF))
    return x, float(reward_from_cost(COST_STEP))


def _candidate_rows(w: float, lay: dict):
    """Rows and rewards of the 5 gust candidates at gust probability w: P (S, A, 5, S),
    r (S, A, 5), and the column of the cell where the gust blows, col (S, A)."""
    rows, cols = lay["rows"], lay["cols"]
    S, A = rows * cols, 4
    P = np.zeros((S, A, len(GUSTS), S))
    r = np.zeros((S, A, len(GUSTS)))
    col = np.zeros((S, A), dtype=np.int64)
    for s in range(S):
        for a in range(A):
            if s == lay["goal"]:
                P[s, a, :, s] = 1.0
                r[s, a, :] = float(reward_from_cost(COST_GOAL))
                continue
            m = _move(s, _MOVES[a], rows, cols)
            col[s, a] = m % cols
            calm_next, calm_r = _outcome(m, lay)
            for k in range(len(GUSTS)):
                if k == 0:
                    P[s, a, k, calm_next] += 1.0
                    r[s, a, k] = calm_r
                    continue
                gust_next, gust_r = _outcome(_move(m, _MOVES[k - 1], rows, cols), lay)
                P[s, a, k, calm_next] += 1.0 - w
                P[s, a, k, gust_next] += w
                r[s, a, k] = (1.0 - w) * calm_r + w * gust_r
    return P, r, col


def windy_walk(uncertainty: str = "R", *, w_max: float = 0.3, gamma: float = 0.95,
               rows: int = 4, cols: int = 8):
    """The WindyWalk robust MDP (module docstring for the dynamics and the sets).

    Parameters
    ----------
    uncertainty : {"R", "R_down", "P1", "P8", "nominal"}
    w_max : float in [0, 1]
        Largest gust probability.
    gamma : float in [0, 1)
    rows, cols : int
        Grid size (cols >= 3).

    Returns
    -------
    RectangularModelSet ("R", "R_down"), AffineModelSet ("P1", "P8") or DiscountedMDP
    ("nominal"); rewards are costs mapped by :func:`reward_from_cost`.
    """
    if uncertainty not in UNCERTAINTIES:
        raise ValueError(f"uncertainty must be one of {UNCERTAINTIES}, got {uncertainty!r}")
    w_max = _validate.real("w_max", w_max, lo=0.0, hi=1.0)
    gamma = _validate.real("gamma", gamma, lo=0.0, hi=1.0, hi_open=True)
    lay = layout(rows, cols)
    S = lay["rows"] * lay["cols"]
    rho0 = np.zeros(S)
    rho0[lay["start"]] = 1.0
    P, r, col = _candidate_rows(w_max, lay)
    if uncertainty == "nominal":
        return DiscountedMDP(P=P[:, :, 0], r=r[:, :, 0], gamma=gamma, rho0=rho0)
    if uncertainty == "R":
        return RectangularModelSet(P=P, r=r, gamma=gamma, rho0=rho0, nominal=0)
    if uncertainty == "R_down":
        return RectangularModelSet(P=P[:, :, [0, 2]], r=r[:, :, [0, 2]], gamma=gamma,
                                   rho0=rho0, nominal=0)
    # affine families in the downward-gust probability: per unit of w, the row moves from the
    # calm outcome to the gust outcome (the full-gust candidate of P1 at w = 1)
    P_unit, r_unit, _ = _candidate_rows(1.0, lay)
    D_all = P_unit[:, :, 2] - P_unit[:, :, 0]                     # (S, A, S), rows sum to 0
    e_all = r_unit[:, :, 2] - r_unit[:, :, 0]                     # (S, A)
    P0, r0 = P[:, :, 0], r[:, :, 0]
    if uncertainty == "P1":
        return AffineModelSet.from_arrays(P0, D_all[None], r0, [0.0], [w_max], gamma,
                                          e=e_all[None], rho0=rho0, nominal=[0.0])
    d = lay["cols"]
    mask = (col[None] == np.arange(d)[:, None, None])            # (d, S, A)
    D = np.where(mask[..., None], D_all[None], 0.0)
    e = np.where(mask, e_all[None], 0.0)
    return AffineModelSet.from_arrays(P0, D, r0, np.zeros(d), np.full(d, w_max), gamma, e=e,
                                      rho0=rho0, nominal=np.zeros(d))


__all__ = [
    "ACTIONS",
    "GUSTS",
    "REFERENCE",
    "UNCERTAINTIES",
    "layout",
    "reward_from_cost",
    "state",
    "to_cost",
    "to_reward",
    "windy_walk",
]
