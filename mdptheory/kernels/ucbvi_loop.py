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
    optimistic_backward_induction,
    optimistic_backward_induction_bernstein,
    record_episode,
    refresh_hoeffding_bonus,
)


def plan_workspace(H: int, S: int, A: int):
    """Scratch of :func:`ucbvi_replan`: (tie-break action of the visited states under pooled
    counts (S,) int64, state marks (S,) uint8, pair marks (S, A) uint8, Bernstein weights (S,),
    visited pairs (H, 2) int64, visited states (H,) int64, clip-phase facts (S + 1,) uint8).

    The last array caches facts about Q and V that stay true while they are not written (see
    "What the clip phase remembers" in :func:`ucbvi_replan`); zeros mean "not known". Whoever
    writes Q or V other than through :func:`ucbvi_replan` must zero it (``UCBVI._plan`` does)."""
    return (np.zeros(S, dtype=np.int64), np.zeros(S, dtype=np.uint8),
            np.zeros((S, A), dtype=np.uint8), np.zeros(S), np.zeros((H, 2), dtype=np.int64),
            np.zeros(H, dtype=np.int64), np.zeros(S + 1, dtype=np.uint8))


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
def ucbvi_replan(s_ep, a_ep, n_sa, n_s, P_hat, r_hat, succ, n_succ, bonus_ch, v_max, Q, V, act,
                 b_out, consts, hoeffding, monotone, amin, smark, pmark, w, pairs, states,
                 force_full=False, clip=None):
    """The plan of :func:`ucbvi_plan` after adding the episode (s_ep, a_ep), recomputing only
    what that episode can have changed; the result is bit for bit the full plan's
    (``force_full=True`` recomputes everything, as :func:`ucbvi_plan` does).

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

    UCBVI-CH skips the sum e = P_hat V_{h+1} of a pair when r_hat + b >= v_max[h] and
    V_{h+1} >= 0 everywhere (checked per step; true for rewards >= 0): then e >= +0 and a
    rounded sum is monotone, so r_hat + b + e >= v_max[h] and the clip gives v_max[h], the
    very number the full backup gives. While the bonus exceeds the clip (the first millions of
    episodes with the paper's constants) a pair then costs two reads and a compare.

    With pooled counts the greedy step of a visited state whose Q row is all equal (the clip
    phase) takes amin[s], the first argmin of n_sa[0, s, :], computed once per episode: the
    action the tie-break loop returns for such a row, at every step.

    The clip phase in one pass (UCBVI-CH, ``monotone``): if every pair the episode makes the
    loop recompute has r_hat + b >= v_max[h] at each step h where it is recomputed (every h
    when pooled, so against max_h v_max), with v_max[h] > 0 and Q_prev <= v_max[h], and V_1..V_H
    >= 0, then by the argument above each recomputed Q is min(Q_prev, v_max[h]) = Q_prev (bit
    for bit: v_max[h] > 0 leaves no signed zero), no V moves, no step goes full, and only the
    greedy steps of the recomputed rows remain (their visit counts moved). The loop below does
    exactly that, in O(H x visited states x A), without the step-by-step bookkeeping; any
    failed check falls through to the step loop. On the 5 x 5 grid this halves the re-plan of
    the first millions of episodes (pooled: 1.27 -> ~0.56 us per episode).

    What the clip phase remembers (``clip``, the last array of :func:`plan_workspace`; None
    turns it off): the shortcut writes neither Q nor V, so facts about them stay true until
    the step loop (or a full plan) runs, and that zeroes ``clip``. clip[S] = 1 records V_1..V_H
    >= 0; with pooled counts clip[s] records, for a state the shortcut visited, 1 = every row
    Q_h(s, .) is tied and <= v_max[h], 2 = all <= v_max[h] but some row not tied, 3 = some Q
    above its clip (the shortcut then does not apply). A state at 1 takes amin[s] at every step
    with no read of Q, and the checks of V and of the visited pairs' Q are not repeated: the
    pooled grid episode goes from ~3.4 to ~2.95 us.

    The backup and the greedy step are written out here, operation for operation as in
    :func:`mdptheory.kernels.optimistic.optimistic_backward_induction` (and its Bernstein twin),
    which the tests run side by side with this function: a helper taking arrays, inlined or
    not, costs reference-count updates per call, several times the arithmetic of a pair.
    """
    H, S, A = Q.shape
    G = n_sa.shape[0]
    H_b = consts[1]
    L = consts[2]
    c_corr = consts[3]
    scale = consts[4]
    H2 = H_b * H_b
    n_pairs = 0                                   # distinct pairs / states of the episode
    n_states = 0                                  # (pooled counts only; per step: s_ep[h])
    if G == 1:
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
        # pooled counts: the tie-break action of each visited state (fewest visits, then
        # lowest index), the same at every step; n_sa changed only at visited states
        for i in range(n_states):
            su = np.uint64(states[i])
            nb = n_sa[0, su, 0]
            arg = 0
            for ai in range(1, A):
                nq = n_sa[0, su, np.uint64(ai)]
                if nq < nb:
                    nb = nq
                    arg = ai
            amin[su] = arg
    if hoeffding and monotone and not force_full:
        # the clip phase in one pass (see the docstring); the checks count failures in an
        # integer over a flat loop, which vectorises (a bool &= or a nested loop does not:
        # 4-5x slower on the grid's V)
        bad = 0
        if clip is None or clip[S] == 0:
            V_flat = V.reshape(V.size)
            for i in range(S, V_flat.shape[0]):              # V_1 .. V_H
                bad += np.int64(not V_flat[np.uint64(i)] >= 0.0)
            if clip is not None and bad == 0:
                clip[S] = 1
        cap_max = v_max[0]
        for hi in range(H):
            cap = v_max[np.uint64(hi)]
            bad += np.int64(not cap > 0.0)
            cap_max = max(cap_max, cap)
        if G == 1:
            if clip is not None:
                for i in range(n_states):     # what the clip phase remembers (docstring)
                    s = np.uint64(states[i])
                    if clip[s] == 0:
                        above = 0
                        untied = 0
                        for hi in range(H):
                            h = np.uint64(hi)
                            q0 = Q[h, s, 0]
                            for ai in range(A):
                                q = Q[h, s, np.uint64(ai)]
                                above += np.int64(not q <= v_max[h])
                                untied += np.int64(q != q0)
                        clip[s] = 3 if above > 0 else (2 if untied > 0 else 1)
                    bad += np.int64(clip[s] == 3)
            for i in range(n_pairs):
                s = np.uint64(pairs[i, 0])
                a = np.uint64(pairs[i, 1])
                bad += np.int64(not r_hat[0, s, a] + bonus_ch[0, s, a] >= cap_max)
                if clip is None:
                    for hi in range(H):
                        h = np.uint64(hi)
                        bad += np.int64(not Q[h, s, a] <= v_max[h])
        else:
            for hi in range(H):
                h = np.uint64(hi)
                s = np.uint64(s_ep[hi])
                a = np.uint64(a_ep[hi])
                cap = v_max[h]
                bad += np.int64(not r_hat[h, s, a] + bonus_ch[h, s, a] >= cap)
                bad += np.int64(not Q[h, s, a] <= cap)
        if bad == 0:
            changed = 0
            n_outer = n_states if G == 1 else 1
            for j in range(n_outer):
                if G == 1 and clip is not None and clip[states[j]] == 1:
                    su = np.uint64(states[j])     # every row of the state tied: amin[s]
                    arg = amin[su]
                    for hi in range(H):
                        h = np.uint64(hi)
                        changed += act[h, su] != arg
                        act[h, su] = arg
                    continue
                for hi in range(H):
                    if G == 1:
                        si = states[j]
                        gu = np.uint64(0)
                    else:
                        si = s_ep[hi]
                        gu = np.uint64(hi)
                    s = np.uint64(si)
                    h = np.uint64(hi)
                    best = Q[h, s, 0]
                    n_above = 0
                    for ai in range(1, A):
                        n_above += np.int64(Q[h, s, np.uint64(ai)] != best)
                    if n_above == 0 and G == 1:   # a tied row: the first argmin of the visits
                        arg = amin[s]
                    elif n_above == 0:
                        nb = n_sa[gu, s, 0]
                        arg = 0
                        for ai in range(1, A):
                            nq = n_sa[gu, s, np.uint64(ai)]
                            arg = ai if nq < nb else arg
                            nb = min(nq, nb)
                    else:
                        arg = 0
                        for ai in range(1, A):
                            a = np.uint64(ai)
                            q = Q[h, s, a]
                            if q > best or (q == best
                                            and n_sa[gu, s, a] < n_sa[gu, s, np.uint64(arg)]):
                                best = q
                                arg = ai
                    changed += act[h, s] != arg
                    act[h, s] = arg
            return changed
    if clip is not None:                          # the step loop below writes Q and V
        for i in range(S + 1):
            clip[i] = 0
    moved_next = False                            # some V_{h+1}(y) moved (V_H never)
    changed = 0
    for h in range(H - 1, -1, -1):
        g = h if G > 1 else 0
        cap = v_max[h]
        full = force_full or moved_next
        moved = False
        v_nonneg = False                          # V_{h+1} >= 0 everywhere (no NaN)
        if hoeffding:
            v_nonneg = True
            for y in range(S):
                if not V[h + 1, y] >= 0.0:
                    v_nonneg = False
        if not hoeffding:
            for y in range(S):                    # w_{h+1}(y) = min(c_corr / N', H^2)
                m = n_s[h + 1, y]
                if m > 0.0:
                    w[y] = min(c_corr / m, H2)
                else:
                    w[y] = H2
            y = s_ep[h + 1]
            m = n_s[h + 1, y] - 1.0               # N'_{h+1}(y) before this episode
            old = min(c_corr / m, H2) if m > 0.0 else H2
            if old != w[y]:
                full = True
        # the pairs to back up and the states to re-greedy at this step
        if full:
            n_entries = S * A
            n_greedy = S
        elif G > 1:
            n_entries = 1
            n_greedy = 1
        else:
            n_entries = n_pairs
            n_greedy = n_states
        # unsigned indices below: numba then skips the negative-index wraparound test of
        # every access (all indices are >= 0); the same operations in the same order
        gu = np.uint64(g)
        hu = np.uint64(h)
        h1 = np.uint64(h + 1)
        for k in range(n_entries):
            if full:
                si = k // A
                ai = k - si * A
            elif G > 1:
                si = s_ep[h]
                ai = a_ep[h]
            else:
                si = pairs[k, 0]
                ai = pairs[k, 1]
            s = np.uint64(si)
            a = np.uint64(ai)
            n = n_sa[gu, s, a]
            if n > 0.0:
                if hoeffding:                     # r_hat + b + P_hat V_{h+1}, clipped
                    q = r_hat[gu, s, a] + bonus_ch[gu, s, a]
                    if q < cap or not v_nonneg:   # else q + e >= q >= cap: the clip wins
                        e = 0.0
                        for i in range(n_succ[gu, s, a]):
                            t = np.uint64(succ[gu, s, a, np.uint64(i)])
                            e += P_hat[gu, s, a, t] * V[h1, t]
                        q += e
                else:                             # the UCBVI-BF bonus of this pair
                    m1 = 0.0
                    corr = 0.0
                    nb = n_succ[gu, s, a]
                    for i in range(nb):
                        t = np.uint64(succ[gu, s, a, np.uint64(i)])
                        p = P_hat[gu, s, a, t]
                        m1 += p * V[h1, t]
                        corr += p * w[t]
                    var = 0.0
                    for i in range(nb):
                        t = np.uint64(succ[gu, s, a, np.uint64(i)])
                        d = V[h1, t] - m1
                        var += P_hat[gu, s, a, t] * d * d
                    b = scale * (np.sqrt(8.0 * L * var / n) + 14.0 * H_b * L / (3.0 * n)
                                 + np.sqrt(8.0 * corr / n))
                    b_out[hu, s, a] = b
                    q = r_hat[gu, s, a] + b + m1
                q = min(q, cap)
            else:
                if not hoeffding:
                    b_out[hu, s, a] = 0.0
                q = cap
            if monotone and Q[hu, s, a] < q:
                q = Q[hu, s, a]
            Q[hu, s, a] = q
        for k in range(n_greedy):
            if full:
                si = k
            elif G > 1:
                si = s_ep[h]
            else:
                si = states[k]
            s = np.uint64(si)
            best = Q[hu, s, 0]                    # ties: fewest visits, then lowest index
            arg = 0
            tied = False
            if not full and G == 1:               # a row of equal Q: the tie-break action
                tied = True
                for ai in range(1, A):
                    tied &= Q[hu, s, np.uint64(ai)] == best
            if tied:
                arg = amin[s]
            else:
                for ai in range(1, A):
                    a = np.uint64(ai)
                    q = Q[hu, s, a]
                    if q > best or (q == best and n_sa[gu, s, a] < n_sa[gu, s, np.uint64(arg)]):
                        best = q
                        arg = ai
            changed += act[hu, s] != arg
            act[hu, s] = arg
            moved |= best != V[hu, s]
            V[hu, s] = best
        moved_next = moved
    return changed


@njit(cache=True, inline="always")
def _update(s, a, rew, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, bonus_ch, v_max, Q,
            V, act, b_out, consts, hoeffding, monotone, counters, amin, smark, pmark, w, pairs,
            states, clip):
    """Add one episode and re-plan (plain-array form of :func:`ucbvi_update`)."""
    record_episode(s, a, rew, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, pmark)
    if hoeffding:
        refresh_hoeffding_bonus(s, a, n_sa, consts[0], bonus_ch)
    changed = ucbvi_replan(s, a, n_sa, n_s, P_hat, r_hat, succ, n_succ, bonus_ch, v_max, Q, V,
                           act, b_out, consts, hoeffding, monotone, amin, smark, pmark, w,
                           pairs, states, False, clip)
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
    amin, smark, pmark, w, pairs, states, clip = work
    return _update(s, a, rew, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, bonus_ch,
                   v_max, Q, V, act, b_out, consts, hoeffding, monotone, counters, amin, smark,
                   pmark, w, pairs, states, clip)


@njit(cache=True)
def ucbvi_episodes(truth, tally, U, bernoulli_rewards, stats, plan, consts, hoeffding,
                   monotone, counters, work, s_ep, a_ep, r_ep):
    """Run U.shape[0] episodes of UCBVI with exact regret (see the module docstring).
    s_ep (H + 1,), a_ep (H,), r_ep (H,): scratch for one episode. Episodes are sampled from
    the greedy actions; the caller rewrites its one-hot policy from them at the end."""
    P, r, rho0, succ_t, n_succ_t, p_succ_t, reach, n_reach = truth
    acc, cnt, keys, hashes, vals, V_work, index = tally
    n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ = stats
    bonus_ch, v_max, Q, V, act, b_out = plan
    amin, smark, pmark, w, pairs, states, clip = work
    for i in range(U.shape[0]):
        tally_episode(P, r, rho0, succ_t, n_succ_t, p_succ_t, reach, n_reach, acc, cnt, keys,
                      hashes, vals, V_work, index, act)
        sample_episode_deterministic(P, r, act, rho0, U[i], bernoulli_rewards, s_ep, a_ep, r_ep,
                                     succ_t, n_succ_t, p_succ_t)
        if _update(s_ep, a_ep, r_ep, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ,
                   bonus_ch, v_max, Q, V, act, b_out, consts, hoeffding, monotone, counters,
                   amin, smark, pmark, w, pairs, states, clip):
            cnt[3] = 1
