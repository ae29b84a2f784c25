"""The tabular actor-critic's episode step and its whole episode loop in one compiled call
(Tan, Fan & Wei 2025; our reconstruction, :mod:`mdptheory.algorithms.actor_critic`).

One step (:func:`ac_update`, what :meth:`ActorCritic.update` calls once per episode): add the
episode to the counts (:func:`mdptheory.kernels.optimistic.record_episode`), run the switching
test (count doubling, every episode, never); at a switch fold the finished phase into the
logits (no-reset ablation), keep the played policy as the Q^pi target, refit the critic (bonus,
backward pass, target gap, snapshot of the counts) and start the new phase's actor; otherwise
take one exponential-weights step. The loop (:func:`actor_critic_episodes`) repeats, per
episode: the exact regret of the policy played, the sampling
(:func:`mdptheory.kernels.online.sample_episode`), the same step. Both call the very same
kernels in the same order, so the online driver's generic and compiled loops give the same
table bit for bit.

Exact values of the actor's policies (:func:`~mdptheory.kernels.online.tally_any_policy`,
shared with StepMix's loop): the actor is stochastic, so a
policy is keyed as the generic driver keys it: a one-hot policy by its action table (evaluated
by :func:`~mdptheory.kernels.online.deterministic_value_packed`), any other by its bytes
(evaluated by :func:`~mdptheory.kernels.online.policy_value_sparse`), both kinds in one FIFO
ring of ``EVAL_CACHE_SIZE`` entries (the driver's ``tally`` ring, plus ``pkeys`` (C, H, S, A)
float64 for the stochastic keys (compared bit for bit) and ``kinds`` (C,) int8: 0 action table,
1 stochastic). A policy equal to the previous one costs nothing (the "changed" flag is not set).

State tuples
------------
``stats`` = (n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ) as in
:mod:`mdptheory.kernels.optimistic`;
``critic`` = (Q (H, S, A), V (H + 1, S), act (H, S) int64, bonus (G, S, A), v_max (H,),
unvisited (H,), n_snap (G, S, A));
``actor`` = (pi (H, S, A) the policy of the next episode, pi_bits: the same memory as int64,
pi_tmp (H, S, A) scratch, E (H, S, A) phase multipliers, base (H, S, A) logits of earlier
phases (read only when ``reset`` is off), last_pi (H, S, A) the policy played at the last switch,
uniform (H, S, A));
``consts`` (3,) float64 = [eta (inf: greedy), L, c_b];
``flags`` (5,) int64 = [switching (0 doubling, 1 every, 2 never), reset, target is the played
policy, optimistic, greedy (eta = inf)];
``counters`` (4,) int64 = [episodes t, phase start t_k, switches k, last_pi set (0/1)];
``fstate`` (1,) float64 = [largest target gap of any refit].
"""
import numpy as np
from numba import njit

from .actor_critic import (
    actor_policy,
    actor_step,
    critic_backward_induction,
    doubling_switch,
    greedy_uniform_policy,
    phase_multipliers,
)
from .online import sample_episode, tally_any_policy
from .optimistic import optimistic_backward_induction, record_episode

SWITCH_CODES = {"doubling": 0, "every": 1, "never": 2}


@njit(cache=True)
def tabular_bonus_into(n_sa, H, L, c_b, out):
    """out = min(H, c_b H sqrt(L / max(1, n))) elementwise (the same operations as
    :func:`mdptheory.algorithms.actor_critic.tabular_bonus`)."""
    coef = c_b * H
    cap = float(H)
    G, S, A = n_sa.shape
    for g in range(G):
        for s in range(S):
            for a in range(A):
                out[g, s, a] = min(cap, coef * np.sqrt(L / max(n_sa[g, s, a], 1.0)))


@njit(cache=True, inline="always")
def _refit(P_hat, r_hat, n_sa, succ, n_succ, Q, V, act, bonus, v_max, unvisited, n_snap,
           last_pi, uniform, consts, flags, counters, fstate):
    """Refit the critic on all data: the bonus (0 without optimism), the Q*-critic (UCBVI's
    pass without the monotone min) or the general pass (non-optimistic / Q^pi target), the
    target gap max_{h,s} max_a f - <pi_target, f> (= max_a Q - V for the Q^pi target), and the
    count snapshot n^(k) = n."""
    H = Q.shape[0]
    if flags[3] != 0:
        tabular_bonus_into(n_sa, H, consts[1], consts[2], bonus)
    else:
        bonus[:] = 0.0
    use_pi = flags[2] != 0
    if not use_pi and flags[3] != 0:
        optimistic_backward_induction(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, False, V,
                                      Q, act)
    else:
        target = last_pi if (use_pi and counters[3] != 0) else uniform
        critic_backward_induction(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, unvisited,
                                  target, use_pi, V, Q)
        if use_pi:
            S = Q.shape[1]
            A = Q.shape[2]
            gap = -np.inf
            for h in range(H):
                for s in range(S):
                    m = Q[h, s, 0]
                    for a in range(1, A):
                        m = max(m, Q[h, s, a])
                    gap = max(gap, m - V[h, s])
            fstate[0] = max(fstate[0], gap)
    n_snap[:] = n_sa


@njit(cache=True, inline="always")
def _start_phase(Q, E, base, pi, uniform, consts, flags):
    """The actor of a phase's first episode: uniform over the critic's maximisers (greedy),
    uniform (reset), or softmax of the earlier phases' logits (no reset)."""
    if flags[4] != 0:
        greedy_uniform_policy(Q, pi)
        return
    phase_multipliers(Q, consts[0], E)
    if flags[1] != 0:
        pi[:] = uniform
    else:
        actor_policy(base, Q, 0.0, True, pi)


@njit(cache=True, inline="always")
def _advance(pi, pi_tmp, E, base, Q, consts, flags, counters):
    """One actor step inside a phase; returns True when the policy changed."""
    if flags[4] != 0:
        return False                                  # greedy: fixed inside a phase
    if flags[1] != 0:
        if actor_step(pi, E, pi_tmp):
            return False                              # saturated: the same policy
        pi[:] = pi_tmp
        return True
    actor_policy(base, Q, consts[0] * (counters[0] + 1 - counters[1]), True, pi)
    return True


@njit(cache=True, inline="always")
def _step(s, a, rew, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, Q, V, act, bonus,
          v_max, unvisited, n_snap, pi, pi_tmp, E, base, last_pi, uniform, consts, flags,
          counters, fstate):
    """Add one episode and move the actor; returns 0 (policy unchanged), 1 (actor step) or
    2 (switch: critic refitted, new phase)."""
    record_episode(s, a, rew, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ)
    counters[0] += 1
    if flags[0] == 1:
        switch = True
    elif flags[0] == 2:
        switch = False
    else:
        switch = doubling_switch(s, a, n_sa, n_snap)
    if not switch:
        return 1 if _advance(pi, pi_tmp, E, base, Q, consts, flags, counters) else 0
    if flags[1] == 0 and flags[4] == 0:
        # the finished phase's multiplier eta (t + 1 - t_k) f^(k) stays in the weights
        coef = consts[0] * (counters[0] + 1 - counters[1])
        H, S, A = Q.shape
        for h in range(H):
            for x in range(S):
                for y in range(A):
                    base[h, x, y] += coef * Q[h, x, y]
    last_pi[:] = pi
    counters[3] = 1
    _refit(P_hat, r_hat, n_sa, succ, n_succ, Q, V, act, bonus, v_max, unvisited, n_snap,
           last_pi, uniform, consts, flags, counters, fstate)
    counters[2] += 1
    counters[1] = counters[0] + 1
    _start_phase(Q, E, base, pi, uniform, consts, flags)
    return 2


@njit(cache=True)
def ac_refit(stats, critic, actor, consts, flags, counters, fstate):
    """One critic refit (:meth:`ActorCritic._refit`: the hybrid's first critic)."""
    n_sa, _, _, _, P_hat, r_hat, succ, n_succ = stats
    Q, V, act, bonus, v_max, unvisited, n_snap = critic
    last_pi = actor[5]
    uniform = actor[6]
    _refit(P_hat, r_hat, n_sa, succ, n_succ, Q, V, act, bonus, v_max, unvisited, n_snap,
           last_pi, uniform, consts, flags, counters, fstate)


@njit(cache=True)
def ac_start_phase(critic, actor, consts, flags):
    """The actor of the first episode of a phase, written into actor[0]."""
    Q = critic[0]
    pi, _, _, E, base, _, uniform = actor
    _start_phase(Q, E, base, pi, uniform, consts, flags)


@njit(cache=True)
def ac_update(s, a, rew, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, Q, V, act, bonus,
              v_max, unvisited, n_snap, pi, pi_bits, pi_tmp, E, base, last_pi, uniform, consts,
              flags, counters, fstate):
    """One episode's update (s (H + 1,), a (H,), rew (H,)); the state tuples' arrays flattened
    in their order (plain arguments: cheaper to pass than nested tuples). Returns 0, 1 or 2 as
    :func:`_step`. :meth:`ActorCritic.update` calls this; the loop inlines the same step."""
    return _step(s, a, rew, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, Q, V, act,
                 bonus, v_max, unvisited, n_snap, pi, pi_tmp, E, base, last_pi, uniform, consts,
                 flags, counters, fstate)


@njit(cache=True, inline="always")
def pi_star_tracking(d_star, pi_star, pi, f):
    """sum_h sum_s d_star[h, s] sum_a (pi_star - pi)[h, s, a] f[h, s, a] (d_star (H, S), the
    others (H, S, A)), summed in index order: one episode's term of the actor's pi*-tracking
    (:class:`mdptheory.algorithms.actor_critic.ActorTracking`)."""
    H, S, A = f.shape
    total = 0.0
    for h in range(H):
        for s in range(S):
            inner = 0.0
            for a in range(A):
                inner += (pi_star[h, s, a] - pi[h, s, a]) * f[h, s, a]
            total += d_star[h, s] * inner
    return total


@njit(cache=True)
def actor_critic_episodes(truth, tally, U, bernoulli_rewards, stats, critic, actor, consts,
                          flags, counters, fstate, pkeys, kinds, act_work, switch_log, s_ep,
                          a_ep, r_ep, track, d_star, pi_star, tracking):
    """Run U.shape[0] episodes of the tabular actor-critic with exact regret (module docstring).
    switch_log (>= n,) int64 receives t_k of every switch; returns how many. s_ep, a_ep, r_ep:
    scratch for one episode; act_work (H, S) int64 scratch. With ``track``, tracking[0]
    accumulates :func:`pi_star_tracking` of each episode's policy and critic before its update
    (d_star (H, S), pi_star (H, S, A)), as :meth:`ActorTracking.update` does."""
    P, r, rho0, succ_t, n_succ_t, p_succ_t, reach, n_reach = truth
    acc, cnt, keys, hashes, vals, V_work, index = tally
    n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ = stats
    Q, V, act, bonus, v_max, unvisited, n_snap = critic
    pi, _pi_bits, pi_tmp, E, base, last_pi, uniform = actor
    n_log = 0
    for i in range(U.shape[0]):
        if cnt[3] != 0:
            tally_any_policy(P, r, rho0, succ_t, n_succ_t, p_succ_t, reach, n_reach, acc, cnt,
                             keys, hashes, vals, V_work, index, pi, kinds, pkeys, act_work)
        acc[0] += acc[2] - acc[1]
        sample_episode(P, r, pi, rho0, U[i], bernoulli_rewards, s_ep, a_ep, r_ep)
        if track:
            tracking[0] += pi_star_tracking(d_star, pi_star, pi, Q)
        code = _step(s_ep, a_ep, r_ep, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ, Q,
                     V, act, bonus, v_max, unvisited, n_snap, pi, pi_tmp, E, base, last_pi,
                     uniform, consts, flags, counters, fstate)
        if code != 0:
            cnt[3] = 1
        if code == 2:
            switch_log[n_log] = counters[1]
            n_log += 1
    return n_log
