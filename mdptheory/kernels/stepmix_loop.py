"""StepMix's and EpsMix's per-episode planning and their whole episode loops as numba kernels
(our reconstruction of Li, Huang, Shen & Yang 2023; see docs/papers/stepmix.md).

Planning after an episode (what :meth:`mdptheory.algorithms.stepmix.StepMix.update` and
:meth:`~mdptheory.algorithms.stepmix.EpsMix.update` call, one episode at a time):

* :func:`stepmix_search` -- the mixing-coefficient search of StepMix (prelude, grid with or
  without chunk screening, then nested refinement or bisection), on
  :func:`mdptheory.kernels.stepmix.mixture_values` / :func:`~mdptheory.kernels.stepmix.
  search_prelude`; the rule is the one of the learner's module docstring.
* :func:`epsmix_lower` -- EpsMix's pessimistic value of pi_bar (and of pi^b when V^b is unknown)
  and its episode probability eps.

The compiled loops :func:`stepmix_episodes` / :func:`epsmix_episodes` repeat, per episode,
exactly what the generic driver and ``update()`` do: evaluate the played policy exactly
(:func:`tally_any_policy`, the driver's FIFO cache over deterministic *and* stochastic policies),
sample the episode (:func:`mdptheory.kernels.online.sample_episode` on the same dense policy
array), book it, add it to the counts, refresh the bonus, re-plan optimistically (incrementally,
:func:`replan`) and search.
The same kernels in the same order, so both paths give the same numbers bit for bit.

Status codes of a StepMix plan: 0 optimistic, 1 mixed, 2 baseline, 3 uncertified.

State tuples (unpacked once per call):
``stats`` = (n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ) as in
:mod:`mdptheory.kernels.optimistic`; ``plan`` = (bonus (H, S, A), plan_bonus (H, S, A),
coef (H,), v_max (H,), Q (H, S, A), V (H + 1, S), act (H, S) int64); ``consts`` (5,) float64 =
[unused, H, L of the Bernstein bonus, its c_corr, c_b] (the layout of
:mod:`mdptheory.kernels.ucbvi_loop`); ``rwork``: the incremental plan's scratch; ``grid`` = (grid_u (M,), W_grid (H, M),
W_lo (H, C), W_hi (H, C), w_top (H,)); ``sparams`` (7,) int64 = [chunk, switch_step, screen,
bisect, refine, refine_points, baseline_known]; ``work`` = (pre_a, pre_b (S, 3), V_a, V_b
(S, Mw), q, qo, acc, out, ub (Mw,), W_buf (H, Mw), pts (Mw,)) with Mw >= max(M, R);
``counters`` (2,) int64 = [screened, grid evaluations]; ``evals`` = (kinds (C,) int8,
skeys (C, H, S, A), act_buf (H, S) int64): the kind (0 action table, 1 stochastic policy) and
the stochastic keys of the tally's cache slots.
"""
import numpy as np
from numba import njit

from .online import deterministic_value_packed, sample_episode, tally_any_policy
from .optimistic import (
    one_hot,
    optimistic_backward_induction,
    optimistic_backward_induction_bernstein,
    record_episode,
)
from .stepmix import mixture_policy, mixture_values, refresh_bonus, search_prelude
from .ucbvi_loop import ucbvi_replan

OPTIMISTIC, MIXED, BASELINE, UNCERTIFIED = 0, 1, 2, 3
STATUSES = ("optimistic", "mixed", "baseline", "uncertified")
SCREEN_MARGIN = 1e-9       # covers rounding in the sums of the mixture evaluation
BISECT_STEPS = 30
CHUNK = 8                  # grid points per pruning chunk


# ------------------------------------------------------------------------------ planning

@njit(cache=True, inline="always")
def _weights(u, H, switch, W, m):
    """W[:, m] = the weights of coefficient u (``mixture_weights``: u, or clip(u H - h, 0, 1))."""
    for h in range(H):
        if switch:
            W[h, m] = min(max(u * H - h, 0.0), 1.0)
        else:
            W[h, m] = u


@njit(cache=True)
def optimistic_plan(stats, plan, consts, bernstein, monotone):
    """The optimistic backward induction (B1/B2 bonus, or UCBVI-BF when ``bernstein``); returns
    how many greedy actions changed."""
    n_sa, _, _, n_s, P_hat, r_hat, succ, n_succ = stats
    bonus, plan_bonus, _, v_max, Q, V, act = plan
    if bernstein:
        return optimistic_backward_induction_bernstein(P_hat, r_hat, n_sa, succ, n_succ, n_s,
                                                       consts[1], consts[2], consts[3],
                                                       consts[4], v_max, monotone, V, Q, act,
                                                       plan_bonus)
    return optimistic_backward_induction(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max,
                                         monotone, V, Q, act)


@njit(cache=True, inline="always")
def _replan(s_ep, a_ep, stats, plan, consts, bernstein, monotone, rwork):
    n_sa, _, _, n_s, P_hat, r_hat, succ, n_succ = stats
    bonus, plan_bonus, _, v_max, Q, V, act = plan
    # no remembered clip facts (clip=None): StepMix also writes Q and V by full plans
    # (optimistic_plan), which do not clear them
    amin, smark, pmark, w, pairs, states, _ = rwork
    return ucbvi_replan(s_ep, a_ep, n_sa, n_s, P_hat, r_hat, succ, n_succ, bonus, v_max, Q, V,
                        act, plan_bonus, consts, not bernstein, monotone, amin, smark, pmark, w,
                        pairs, states)


@njit(cache=True)
def replan(s_ep, a_ep, stats, plan, consts, bernstein, monotone, rwork):
    """The optimistic plan after the episode (s_ep, a_ep) was added (counts and bonus refreshed):
    the engine's incremental re-plan :func:`mdptheory.kernels.ucbvi_loop.ucbvi_replan`, bit for
    bit :func:`optimistic_plan` (it recomputes only the pairs the episode can have changed: the
    bonus b_h(s, a) moves only at the visited pairs, as the counts do). ``rwork``:
    :func:`mdptheory.kernels.ucbvi_loop.plan_workspace`. Returns how many greedy actions
    changed."""
    return _replan(s_ep, a_ep, stats, plan, consts, bernstein, monotone, rwork)


@njit(cache=True)
def stepmix_search(stats, plan, pi_b, rho0, theta, grid, sparams, work, counters):
    """(u, g(u), status) of StepMix's rule for the current plan; counters[0] += 1 when the whole
    grid is screened out, counters[1] += the grid points evaluated."""
    n_sa, _, _, _, P_hat, r_hat, succ, n_succ = stats
    bonus, _, _, v_max, _, _, act = plan
    grid_u, W_grid, W_lo, W_hi, w_top = grid
    pre_a, pre_b, Va, Vb, q, qo, acc, out, ub, Wb, pts = work
    chunk = sparams[0]
    switch = sparams[1] != 0
    H = act.shape[0]
    g1, bound_all, g0 = search_prelude(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, act,
                                       pi_b, w_top, rho0, pre_a, pre_b)
    if g1 >= theta:
        return 1.0, g1, OPTIMISTIC
    M = W_grid.shape[1]
    j = -1
    g_j = 0.0
    if sparams[2] == 0:                                   # no screening: the whole grid
        mixture_values(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, -1.0, act, pi_b,
                       W_grid, W_grid, rho0, Va[:, :M], Vb[:, :M], q[:M], qo[:M], acc[:M],
                       out[:M])
        counters[1] += M
        for m in range(M - 1, -1, -1):
            if out[m] >= theta:
                j = m
                g_j = out[m]
                break
    elif bound_all < theta - SCREEN_MARGIN:
        counters[0] += 1
    else:
        nc = W_lo.shape[1]
        mixture_values(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, -1.0, act, pi_b, W_lo,
                       W_hi, rho0, Va[:, :nc], Vb[:, :nc], q[:nc], qo[:nc], acc[:nc], ub[:nc])
        for c in range(nc - 1, -1, -1):
            if ub[c] < theta - SCREEN_MARGIN:
                continue
            c0 = c * chunk
            c1 = min(c0 + chunk, M)
            n = c1 - c0
            Wc = W_grid[:, c0:c1]
            mixture_values(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, -1.0, act, pi_b,
                           Wc, Wc, rho0, Va[:, :n], Vb[:, :n], q[:n], qo[:n], acc[:n], out[:n])
            counters[1] += n
            for m in range(n - 1, -1, -1):
                if out[m] >= theta:
                    j = c0 + m
                    g_j = out[m]
                    break
            if j >= 0:
                break
    if j < 0:
        if sparams[6] != 0 or g0 >= theta:
            return 0.0, g0, BASELINE
        return 0.0, g0, UNCERTIFIED
    lo = grid_u[j]
    g_lo = g_j
    hi = (j + 1) / M
    if sparams[3] != 0:                                   # bisection
        for _ in range(BISECT_STEPS):
            mid = 0.5 * (lo + hi)
            _weights(mid, H, switch, Wb, 0)
            W1 = Wb[:, :1]
            mixture_values(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, -1.0, act, pi_b,
                           W1, W1, rho0, Va[:, :1], Vb[:, :1], q[:1], qo[:1], acc[:1], out[:1])
            gm = out[0]
            if gm >= theta:
                lo = mid
                g_lo = gm
            else:
                hi = mid
    else:                                                 # nested grids
        R = sparams[5]
        n = R - 1
        for _ in range(sparams[4]):
            for i in range(1, R):
                pts[i - 1] = lo + (hi - lo) * i / R
                _weights(pts[i - 1], H, switch, Wb, i - 1)
            Wn = Wb[:, :n]
            mixture_values(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, -1.0, act, pi_b,
                           Wn, Wn, rho0, Va[:, :n], Vb[:, :n], q[:n], qo[:n], acc[:n], out[:n])
            f = -1
            for m in range(n - 1, -1, -1):
                if out[m] >= theta:
                    f = m
                    break
            if f >= 0:
                lo = pts[f]
                g_lo = out[f]
                if f + 1 < n:
                    hi = pts[f + 1]
            else:
                hi = pts[0]
    if lo > 0.0:
        return lo, g_lo, MIXED
    return lo, g_lo, BASELINE


@njit(cache=True, inline="always")
def epsilon(lower, base, theta, alpha, use_alpha):
    """EpsMix's eps (:func:`mdptheory.algorithms.stepmix.epsmix_epsilon`, the same operations):
    1 if lower >= theta, 0 if base <= theta, else min(1, alpha / (1 - max(lower, 0) / base))
    with ``use_alpha`` (theta = (1 - alpha) V^b known), else (base - theta) / (base - lower)
    clipped to [0, 1]."""
    if lower >= theta:
        return 1.0
    if base <= theta:
        return 0.0
    if use_alpha:
        return min(1.0, alpha / (1.0 - max(lower, 0.0) / base))
    return min(1.0, max(0.0, (base - theta) / (base - lower)))


@njit(cache=True)
def epsmix_lower(stats, plan, pi_b, rho0, W, work, theta, V_b, alpha, known, use_alpha):
    """EpsMix after the optimistic plan: (lower, lower_baseline, eps, certified).

    ``known``: V^b known, W (H, 1) = ones, base = V_b and lower_baseline = nan; otherwise W
    (H, 2) = (pi_bar, pi^b) and base = the pessimistic value of pi^b."""
    n_sa, _, _, _, P_hat, r_hat, succ, n_succ = stats
    bonus, _, _, v_max, _, _, act = plan
    _, _, Va, Vb, q, qo, acc, out, _, _, _ = work
    M = W.shape[1]
    mixture_values(P_hat, r_hat, n_sa, succ, n_succ, bonus, v_max, -1.0, act, pi_b, W, W,
                   rho0, Va[:, :M], Vb[:, :M], q[:M], qo[:M], acc[:M], out[:M])
    lower = out[0]
    if known:
        base = V_b
        lb = np.nan
    else:
        base = out[1]
        lb = out[1]
    eps = epsilon(lower, base, theta, alpha, use_alpha)
    return lower, lb, eps, (lower >= theta or base > theta)


@njit(cache=True)
def stepmix_policy(act, pi_b, u, switch, w, pi_out):
    """The played policy of coefficient u: pi^b (copied) at u = 0, else the mixture
    (:func:`mdptheory.kernels.stepmix.mixture_policy` with the weights of u; w (H,) scratch)."""
    H = act.shape[0]
    if u == 0.0:
        pi_out[:] = pi_b
        return
    for h in range(H):
        if switch:
            w[h] = min(max(u * H - h, 0.0), 1.0)
        else:
            w[h] = u
    mixture_policy(act, pi_b, w, pi_out)


# ------------------------------------------------------------------------------ exact values

# ------------------------------------------------------------------------------ episode loops

@njit(cache=True)
def stepmix_episodes(truth, tally, U, bernoulli_rewards, stats, plan, consts, bernstein,
                     monotone, rwork, pi_b, rho0, theta, grid, sparams, work, counters, evals, pi, w,
                     fstate, istate, episode, V0_last, trace):
    """StepMix for n = U.shape[0] episodes (module docstring). pi (H, S, A) holds the policy of
    the next episode on entry and on exit; fstate (5,) = [u, g(u), sum of u, u and g of the
    last episode played]; istate (7,) int64 = [status, episodes, conservative, baseline,
    uncertified, status of the last episode played, -]; V0_last (S,) receives V_bar_0 of the
    last episode played; episode = (s (H + 1,), a (H,), r (H,)) scratch; trace (n, 2) or
    (0, 2): when it has n rows, row i receives the exact value of episode i's policy twice
    (given the past and as played: the same for this Markov policy; the record of
    :class:`mdptheory.algorithms.stepmix.ExactValueMonitor`)."""
    P, r, _, succ_t, n_succ_t, p_succ, reach, n_reach = truth
    acc, cnt, keys, hashes, vals, V_work, index = tally
    kinds, skeys, act_buf = evals
    n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ = stats
    bonus, _, coef, _, _, V, act = plan
    s_ep, a_ep, r_ep = episode
    switch = sparams[1] != 0
    u = fstate[0]
    lower = fstate[1]
    status = istate[0]
    n = U.shape[0]
    tracing = trace.shape[0] == n and n > 0
    for i in range(n):
        if cnt[3] != 0:
            tally_any_policy(P, r, truth[2], succ_t, n_succ_t, p_succ, reach, n_reach, acc, cnt,
                             keys, hashes, vals, V_work, index, pi, kinds, skeys, act_buf)
        acc[0] += acc[2] - acc[1]
        if tracing:
            trace[i, 0] = acc[1]
            trace[i, 1] = acc[1]
        sample_episode(P, r, pi, truth[2], U[i], bernoulli_rewards, s_ep, a_ep, r_ep)
        # book the episode played
        if i == n - 1:
            V0_last[:] = V[0]
        fstate[3] = u
        fstate[4] = lower
        istate[5] = status
        fstate[2] += u
        if u < 1.0:
            istate[2] += 1
        if status == BASELINE or status == UNCERTIFIED:
            istate[3] += 1
        if status == UNCERTIFIED:
            istate[4] += 1
        # counts, bonus, plan, search
        record_episode(s_ep, a_ep, r_ep, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ)
        refresh_bonus(s_ep, a_ep, n_sa, coef, bonus)
        changed = _replan(s_ep, a_ep, stats, plan, consts, bernstein, monotone, rwork)
        u_new, lower, status = stepmix_search(stats, plan, pi_b, rho0, theta, grid, sparams,
                                              work, counters)
        if changed != 0 or u_new != u:
            stepmix_policy(act, pi_b, u_new, switch, w, pi)
            cnt[3] = 1
        u = u_new
        istate[1] += 1
    fstate[0] = u
    fstate[1] = lower
    istate[0] = status


@njit(cache=True)
def epsmix_episodes(truth, tally, U, bernoulli_rewards, stats, plan, consts, bernstein,
                    monotone, rwork, pi_b, rho0, W, work, params, known, use_alpha, coins, evals,
                    pi_bar, fstate, istate, episode, V0_last, trace, mstate, V_mon):
    """EpsMix for n = U.shape[0] episodes; coins (n,) are the learner's own uniforms (one per
    re-plan, drawn in Python from its Generator: the same stream as one ``random()`` per plan).
    params (3,) = [theta, V_b, alpha]; pi_bar (H, S, A) the one-hot optimistic policy;
    fstate (6,) = [eps, lower, lower_baseline, sum of eps, eps and lower of the last episode
    played]; istate (8,) int64 = [Z, certified, episodes, conservative, optimistic, baseline,
    uncertified, Z of the last episode played]. trace (n, 2) or (0, 2): when it has n rows
    (:class:`mdptheory.algorithms.stepmix.ExactValueMonitor`), row i receives episode i's
    exact value given the past, eps V^{pi_bar}_0(rho0) + (1 - eps) V^{pi^b}_0(rho0) (zero-weight
    terms left out, summed in this order, as the monitor does), and the value of the policy
    played; mstate (2,) = [V^{pi_bar}, V^{pi^b}] on entry (kept up to date: pi_bar is
    re-evaluated, with :func:`deterministic_value_packed` on V_mon (H + 1, S), when it
    changes)."""
    P, r, _, succ_t, n_succ_t, p_succ, reach, n_reach = truth
    acc, cnt, keys, hashes, vals, V_work, index = tally
    kinds, skeys, act_buf = evals
    n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ = stats
    bonus, _, coef, _, _, V, act = plan
    s_ep, a_ep, r_ep = episode
    A = pi_b.shape[2]
    theta = params[0]
    eps = fstate[0]
    Z = istate[0]
    cert = istate[1]
    n = U.shape[0]
    tracing = trace.shape[0] == n and n > 0
    for i in range(n):
        pi = pi_bar if Z != 0 else pi_b
        if cnt[3] != 0:
            tally_any_policy(P, r, truth[2], succ_t, n_succ_t, p_succ, reach, n_reach, acc, cnt,
                             keys, hashes, vals, V_work, index, pi, kinds, skeys, act_buf)
        acc[0] += acc[2] - acc[1]
        if tracing:
            v = 0.0
            if eps > 0.0:
                v += eps * mstate[0]
            if 1.0 - eps > 0.0:
                v += (1.0 - eps) * mstate[1]
            trace[i, 0] = v
            trace[i, 1] = acc[1]
        sample_episode(P, r, pi, truth[2], U[i], bernoulli_rewards, s_ep, a_ep, r_ep)
        if i == n - 1:
            V0_last[:] = V[0]
        fstate[4] = eps
        fstate[5] = fstate[1]
        istate[7] = Z
        fstate[3] += eps
        if eps < 1.0:
            istate[3] += 1
        if Z != 0:
            istate[4] += 1
        else:
            istate[5] += 1
        if cert == 0:
            istate[6] += 1
        record_episode(s_ep, a_ep, r_ep, n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ, n_succ)
        refresh_bonus(s_ep, a_ep, n_sa, coef, bonus)
        changed = _replan(s_ep, a_ep, stats, plan, consts, bernstein, monotone, rwork)
        lower, lb, eps, c = epsmix_lower(stats, plan, pi_b, rho0, W, work, theta, params[1],
                                         params[2], known, use_alpha)
        fstate[1] = lower
        fstate[2] = lb
        cert = 1 if c else 0
        Z_new = 1 if coins[i] < eps else 0
        if changed != 0:
            one_hot(act, A, pi_bar)
            if tracing:
                mstate[0] = deterministic_value_packed(p_succ, succ_t, n_succ_t, r, act,
                                                       truth[2], reach, n_reach, V_mon)
        if changed != 0 or Z_new != Z:
            cnt[3] = 1
        Z = Z_new
        istate[2] += 1
    fstate[0] = eps
    istate[0] = Z
    istate[1] = cert
