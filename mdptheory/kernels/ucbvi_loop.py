"""UCBVI's whole episode loop in one compiled call (Azar, Osband & Munos 2017, Alg. 1-4).

Per episode: record the exact regret of the current greedy policy (evaluated only when it
changed, :func:`mdptheory.kernels.online.tally_episode`), sample the episode
(:func:`mdptheory.kernels.online.sample_episode_deterministic`, the same episode as
:func:`~mdptheory.kernels.online.sample_episode` with the one-hot policy), add it to the counts
(:func:`mdptheory.kernels.optimistic.record_episode`), refresh the UCBVI-CH bonus of the pairs
visited, re-plan optimistically (the CH or BF backward induction). These are the very kernels that
:meth:`mdptheory.algorithms.ucbvi.UCBVI.update` calls one episode at a time, in the same
order, so the compiled loop and the generic driver give bit-identical results.

``truth``, ``tally``: see :mod:`mdptheory.kernels.online`. ``U`` (n, 2H + 1) or (n, 3H + 1):
one row of uniforms per episode. ``stats`` = (n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ,
n_succ) as in :mod:`mdptheory.kernels.optimistic`; ``plan`` = (bonus_ch (G, S, A), v_max (H,),
Q (H, S, A), V (H + 1, S), act (H, S) int64, b_out (H, S, A));
``consts`` (5,) float64 = [c H L of CH, H for BF, L, c_corr of BF, bonus_scale];
``hoeffding``, ``monotone`` bools; ``counters`` (2,) int64 = [episodes, policy switches];
``work``: :func:`plan_workspace`. Planning after an episode is incremental
(:func:`ucbvi_replan`), exactly equal to the full optimistic backward induction.

Tuples are unpacked once per call and the per-episode helpers are inlined with plain array
arguments (see :mod:`mdptheory.kernels.online` for why).
"""
import numpy as np
from numba import njit

from .online import sample_episode_deterministic, tally_episode
from .optimistic import (
    _greedy_step,
    bernstein_q,
    bernstein_weights,
    hoeffding_q,
    optimistic_backward_induction,
    optimistic_backward_induction_bernstein,
    record_episode,
    refresh_hoeffding_bonus,
)


def plan_workspace(H: int, S: int, A: int):
    """Scratch of :func:`ucbvi_replan`: (V-changed flags (2, S) uint8, state marks (S,) uint8,
    pair marks (S, A) uint8, Bernstein weights (S,), visited pairs (H, 2) int64, visited
    states (H,) int64)."""
    return (np.zeros((2, S), dtype=np.uint8), np.zeros(S, dtype=np.uint8),
            np.zeros((S, A), dtype=np.uint8), np.zeros(S), np.zeros((H, 2), dtype=np.int64),
            np.zeros(H, dtype=np.int64))


@njit(cache=True)
def ucbvi_plan(stats, plan, consts, hoeffding, monotone):
    """One full optimistic re-plan (CH or BF); returns how many greedy actions changed."""
    n_sa, _, _, n_s, P_hat, r_hat, succ, n_succ = stats
    bonus_ch, v_max, Q, V, act, b_out = plan
    if hoeffding:
        return optimistic_backward_induction(P_hat, r_hat, n_sa, succ, n_succ, bonus_ch, v_max,
                                             monotone, V, Q, act)
    return optimistic_backward_induction_bernstein(P_hat, r_hat, n_sa, succ, n_succ, n_s,
                                                   consts[1], consts[2], consts[3], consts[4],
                                                   v_max, monotone, V, Q, act, b_out)


@njit(cache=True, inline="always")
def _entry(n_sa, P_hat, r_hat, succ, n_succ, bonus_ch, Q, b_out, consts, hoeffding, monotone, w,
           g, h, s, a, v_next, cap):
    """Q_h(s, a) of one optimistic backup (CH or BF), monotone min included, stored."""
    if hoeffding:
        q = hoeffding_q(P_hat, r_hat, n_sa, succ, n_succ, bonus_ch, g, s, a, v_next, cap)
    else:
        q = bernstein_q(P_hat, r_hat, n_sa, succ, n_succ, g, s, a, v_next, w, consts[1],
                        consts[2], consts[4], cap, b_out, h)
    if monotone and Q[h, s, a] < q:
        q = Q[h, s, a]
    Q[h, s, a] = q


@njit(cache=True, inline="always")
def _greedy(n_sa, Q, V, act, g, h, s, vchanged):
    """Greedy action and V_h(s) of one state; flags vchanged[s] if V_h(s) moved."""
    best, c = _greedy_step(Q, n_sa, g, act, h, s, Q.shape[2])
    vchanged[s] = 1 if best != V[h, s] else 0
    V[h, s] = best
    return c


@njit(cache=True, inline="always")
def ucbvi_replan(s_ep, a_ep, n_sa, n_s, P_hat, r_hat, succ, n_succ, bonus_ch, v_max, Q, V, act,
                 b_out, consts, hoeffding, monotone, vflag, smark, pmark, w, pairs, states):
    """The plan of :func:`ucbvi_plan` after adding the episode (s_ep, a_ep), recomputing only
    what that episode can have changed; the result is bit for bit the full plan's.

    Why it is exact: Q_h(s, a) is a function of the pair's statistics (changed only for pairs
    the episode visited: at step h when counts are per step, at every step when pooled), of
    V_{h+1} on its successors and, for BF, of the weights w_{h+1} (N'_{h+1} changed only at the
    state visited at step h + 1). With unchanged inputs the backup returns the same number and
    the monotone min keeps Q as it was (Q_prev <= that number). So step h recomputes every pair
    when some V_{h+1}(y) or w_{h+1}(y) moved, else only the visited pairs; the greedy step is
    redone for the states of recomputed pairs (their Q or visit counts moved). Requires that Q,
    V, act hold the plan of the data before this episode (any full plan, or this function).
    During the long phase where Q sits at the clip almost nothing moves and a plan costs
    O(H^2) instead of O(H S A B). Returns how many greedy actions changed.
    """
    H, S, A = Q.shape
    G = n_sa.shape[0]
    H2 = consts[1] * consts[1]
    c_corr = consts[3]
    n_pairs = 0                                   # distinct pairs / states of the episode
    n_states = 0
    for j in range(H):
        st = s_ep[j]
        at = a_ep[j]
        if pmark[st, at] == 0:
            pmark[st, at] = 1
            pairs[n_pairs, 0] = st
            pairs[n_pairs, 1] = at
            n_pairs += 1
        if smark[st] == 0:
            smark[st] = 1
            states[n_states] = st
            n_states += 1
    for i in range(n_pairs):
        pmark[pairs[i, 0], pairs[i, 1]] = 0
    for i in range(n_states):
        smark[states[i]] = 0
    nxt = 0                                       # vflag[nxt]: V_{h+1} moved (V_H never)
    for y in range(S):
        vflag[nxt, y] = 0
    changed = 0
    for h in range(H - 1, -1, -1):
        g = h if G > 1 else 0
        cap = v_max[h]
        v_next = V[h + 1]
        cur = 1 - nxt
        vcur = vflag[cur]
        full = False
        for y in range(S):
            if vflag[nxt, y] != 0:
                full = True
                break
        if not hoeffding:
            bernstein_weights(n_s, h + 1, c_corr, consts[1], w)
            y = s_ep[h + 1]
            m = n_s[h + 1, y] - 1.0               # N'_{h+1}(y) before this episode
            old = min(c_corr / m, H2) if m > 0.0 else H2
            if old != w[y]:
                full = True
        if full:
            for s in range(S):
                for a in range(A):
                    _entry(n_sa, P_hat, r_hat, succ, n_succ, bonus_ch, Q, b_out, consts,
                           hoeffding, monotone, w, g, h, s, a, v_next, cap)
                changed += _greedy(n_sa, Q, V, act, g, h, s, vcur)
        else:
            for y in range(S):
                vcur[y] = 0
            if G > 1:                             # per-step counts: one pair at this step
                s = s_ep[h]
                _entry(n_sa, P_hat, r_hat, succ, n_succ, bonus_ch, Q, b_out, consts, hoeffding,
                       monotone, w, g, h, s, a_ep[h], v_next, cap)
                changed += _greedy(n_sa, Q, V, act, g, h, s, vcur)
            else:                                 # pooled: every pair of the episode
                for i in range(n_pairs):
                    _entry(n_sa, P_hat, r_hat, succ, n_succ, bonus_ch, Q, b_out, consts,
                           hoeffding, monotone, w, g, h, pairs[i, 0], pairs[i, 1], v_next, cap)
                for i in range(n_states):
                    changed += _greedy(n_sa, Q, V, act, g, h, states[i], vcur)
        nxt = cur
    return changed


@njit(cache=True, inline="always")
def _update(s, a, rew, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, bonus_ch, v_max, Q,
            V, act, b_out, consts, hoeffding, monotone, counters, vflag, smark, pmark, w, pairs,
            states):
    """Add one episode and re-plan (plain-array form of :func:`ucbvi_update`)."""
    record_episode(s, a, rew, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ)
    if hoeffding:
        refresh_hoeffding_bonus(s, a, n_sa, consts[0], bonus_ch)
    changed = ucbvi_replan(s, a, n_sa, n_s, P_hat, r_hat, succ, n_succ, bonus_ch, v_max, Q, V,
                           act, b_out, consts, hoeffding, monotone, vflag, smark, pmark, w,
                           pairs, states)
    counters[0] += 1
    if changed > 0:
        counters[1] += 1
        return 1
    return 0


@njit(cache=True)
def ucbvi_update(s, a, rew, stats, plan, consts, hoeffding, monotone, counters, work):
    """Add one episode (s (H + 1,), a (H,), rew (H,)): counts
    (:func:`mdptheory.kernels.optimistic.record_episode`), the CH bonus of the pairs visited,
    and the incremental re-plan (:func:`ucbvi_replan`); returns 1 if the greedy actions
    changed, else 0 (the caller refreshes its one-hot policy). :meth:`UCBVI.update` calls
    this; the compiled loop inlines the same steps."""
    n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ = stats
    bonus_ch, v_max, Q, V, act, b_out = plan
    vflag, smark, pmark, w, pairs, states = work
    return _update(s, a, rew, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, bonus_ch,
                   v_max, Q, V, act, b_out, consts, hoeffding, monotone, counters, vflag, smark,
                   pmark, w, pairs, states)


@njit(cache=True)
def ucbvi_episodes(truth, tally, U, bernoulli_rewards, stats, plan, consts, hoeffding,
                   monotone, counters, work, s_ep, a_ep, r_ep):
    """Run U.shape[0] episodes of UCBVI with exact regret (see the module docstring).
    s_ep (H + 1,), a_ep (H,), r_ep (H,): scratch for one episode. Episodes are sampled from
    the greedy actions; the caller rewrites its one-hot policy from them at the end."""
    P, r, rho0, succ_t, n_succ_t = truth
    acc, cnt, keys, hashes, vals, V_work = tally
    n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ = stats
    bonus_ch, v_max, Q, V, act, b_out = plan
    vflag, smark, pmark, w, pairs, states = work
    for i in range(U.shape[0]):
        tally_episode(P, r, rho0, succ_t, n_succ_t, acc, cnt, keys, hashes, vals, V_work, act)
        sample_episode_deterministic(P, r, act, rho0, U[i], bernoulli_rewards, s_ep, a_ep, r_ep)
        if _update(s_ep, a_ep, r_ep, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ,
                   bonus_ch, v_max, Q, V, act, b_out, consts, hoeffding, monotone, counters,
                   vflag, smark, pmark, w, pairs, states):
            cnt[3] = 1
