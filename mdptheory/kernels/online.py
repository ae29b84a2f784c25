"""Kernels of the online driver: one episode from pre-drawn uniforms, and the exact value of a
policy (values only, skipping actions the policy never takes).

Randomness: the driver draws uniforms in blocks with ``rng.random`` and hands one row per
episode to :func:`sample_episode`, which consumes them in the order of
:func:`mdptheory.kernels.sampling.sample_episodes` (initial state; then per step the action, the
reward if ``bernoulli_rewards``, the next state). A row of ``2 H + 1`` (or ``3 H + 1``) uniforms
therefore gives the same episode as ``sample_episodes`` with a Generator in the same state,
without paying for passing the Generator into numba at every episode.
Shapes: P (H, S, A, S), r (H, S, A), pi (H, S, A), rho0 (S,), u (2H+1,) or (3H+1,),
succ (H, S, A, B) int64 / n_succ (H, S, A) int64 (support of P's rows, increasing),
s_out (H + 1,) int64, a_out (H,) int64, r_out (H,), V_work (H + 1, S) with V_work[H] = 0.
"""
import numpy as np
from numba import njit

from .sampling import draw


@njit(cache=True)
def sample_episode(P, r, pi, rho0, u, bernoulli_rewards, s_out, a_out, r_out):
    """Roll out pi once using the uniforms u (consumed left to right)."""
    H = P.shape[0]
    j = 0
    s = draw(rho0, u[j])
    j += 1
    for h in range(H):
        s_out[h] = s
        a = draw(pi[h, s], u[j])
        j += 1
        a_out[h] = a
        if bernoulli_rewards:
            r_out[h] = 1.0 if u[j] < r[h, s, a] else 0.0
            j += 1
        else:
            r_out[h] = r[h, s, a]
        s = draw(P[h, s, a], u[j])
        j += 1
    s_out[H] = s


@njit(cache=True, inline="always")
def sample_episode_deterministic(P, r, act, rho0, u, bernoulli_rewards, s_out, a_out, r_out,
                                 succ, n_succ, p_succ):
    """:func:`sample_episode` for the deterministic policy a = act[h, s] (int64 (H, S)): the
    same uniforms consumed in the same order, and the same episode as for its one-hot pi (a
    draw from a one-hot row with u in [0, 1) returns the action of the 1). Next states are drawn
    over the packed support of P's rows (:func:`draw_support`, the same index as the dense
    draw)."""
    H = P.shape[0]
    j = 0
    s = draw(rho0, u[j])
    j += 1
    for h in range(H):
        s_out[h] = s
        a = act[h, s]
        j += 1
        a_out[h] = a
        if bernoulli_rewards:
            r_out[h] = 1.0 if u[j] < r[h, s, a] else 0.0
            j += 1
        else:
            r_out[h] = r[h, s, a]
        s = draw_support(p_succ, succ, n_succ, h, s, a, u[j])
        j += 1
    s_out[H] = s


@njit(cache=True)
def policy_value(P, r, pi, rho0, V_work):
    """rho0 . V^pi_0 by backward evaluation; V_work[h] receives V^pi_h (V_work[H] preset 0).

    Actions with pi = 0 are skipped, so a deterministic policy costs O(H S^2).
    """
    H, S, A, _ = P.shape
    for h in range(H - 1, -1, -1):
        for s in range(S):
            v = 0.0
            for a in range(A):
                p = pi[h, s, a]
                if p != 0.0:
                    q = r[h, s, a]
                    for t in range(S):
                        q += P[h, s, a, t] * V_work[h + 1, t]
                    v += p * q
            V_work[h, s] = v
    total = 0.0
    for s in range(S):
        total += rho0[s] * V_work[0, s]
    return total


@njit(cache=True)
def policy_value_sparse(P, succ, n_succ, r, pi, rho0, V_work):
    """:func:`policy_value` summing P[h, s, a, :] V over its support only:
    succ[g, s, a, :n_succ[g, s, a]] lists the t with P[h, s, a, t] > 0 in increasing order
    (succ (G, S, A, B) int64, n_succ (G, S, A) int64), so the sums are the dense ones without
    their zero terms. G = H, g = h; or G = 1, g = 0 when every P[h] has the same support lists
    (a stationary model, :func:`mdptheory.runner.online._support`). Cost O(H S B) for a
    deterministic policy.
    """
    H, S, A, _ = P.shape
    G = n_succ.shape[0]
    for h in range(H - 1, -1, -1):
        g = h if G > 1 else 0
        for s in range(S):
            v = 0.0
            for a in range(A):
                p = pi[h, s, a]
                if p != 0.0:
                    q = r[h, s, a]
                    for i in range(n_succ[g, s, a]):
                        t = succ[g, s, a, i]
                        q += P[h, s, a, t] * V_work[h + 1, t]
                    v += p * q
            V_work[h, s] = v
    total = 0.0
    for s in range(S):
        total += rho0[s] * V_work[0, s]
    return total


@njit(cache=True)
def policy_defect(pi, tol):
    """First (h, s) whose row pi[h, s, :] is not a probability vector (an entry < -tol, not
    finite, or a sum off 1 by more than tol), encoded as h * S + s; -1 if every row is one."""
    H, S, A = pi.shape
    for h in range(H):
        for s in range(S):
            tot = 0.0
            for a in range(A):
                p = pi[h, s, a]
                if not np.isfinite(p) or p < -tol:
                    return h * S + s
                tot += p
            if abs(tot - 1.0) > tol:
                return h * S + s
    return -1


@njit(cache=True)
def policy_digest(pi, tol, act_out):
    """One pass over pi (H, S, A): returns (defect, deterministic).

    ``defect`` is as in :func:`policy_defect`; ``deterministic`` is True when every row is
    one-hot (one entry exactly 1, the others exactly 0), and then act_out[h, s] (int64, (H, S))
    holds the action taken. Otherwise act_out is left partly written.
    """
    H, S, A = pi.shape
    det = True
    for h in range(H):
        for s in range(S):
            tot = 0.0
            arg = -1
            for a in range(A):
                p = pi[h, s, a]
                if not np.isfinite(p) or p < -tol:
                    return h * S + s, False
                tot += p
                if p == 1.0 and arg < 0:
                    arg = a
                elif p != 0.0:
                    det = False
            if abs(tot - 1.0) > tol:
                return h * S + s, False
            if det:
                act_out[h, s] = arg
    return -1, det


@njit(cache=True)
def deterministic_value(P, succ, n_succ, r, act, rho0, V_work):
    """rho0 . V^pi_0 for the deterministic policy a = act[h, s] (int64 (H, S)); sums over the
    support lists (G = H or 1) as :func:`policy_value_sparse`, with identical results for the
    one-hot pi."""
    H, S = act.shape
    G = n_succ.shape[0]
    for h in range(H - 1, -1, -1):
        g = h if G > 1 else 0
        for s in range(S):
            a = act[h, s]
            q = r[h, s, a]
            for i in range(n_succ[g, s, a]):
                t = succ[g, s, a, i]
                q += P[h, s, a, t] * V_work[h + 1, t]
            V_work[h, s] = q
    total = 0.0
    for s in range(S):
        total += rho0[s] * V_work[0, s]
    return total


@njit(cache=True)
def deterministic_value_packed(p_succ, succ, n_succ, r, act, rho0, reach, n_reach, V_work):
    """rho0 . V^pi_0 of :func:`deterministic_value`, with the probabilities packed along the
    support lists, p_succ[g, s, a, i] = P[h, s, a, succ[g, s, a, i]] (G, S, A, B), and only
    over the states reachable from rho0: reach[h, :n_reach[h]] (int64 (H, S), (H,)) lists, in
    increasing order, every state that some policy reaches at step h with positive
    probability (:func:`mdptheory.runner.online._reach`; reach[0] is the support of rho0).

    The same products summed in the same order, so the same result bit for bit: V_h(s) of a
    listed state reads V_{h+1} only at listed states (its successors), and the states left out
    of the final sum have rho0 = 0 (a running sum from +0.0 is never -0.0, so leaving out
    +-0 terms changes nothing). V_work[h, s] receives V^pi_h(s) at the listed states; the
    others keep what they held.

    Rows of at most B <= 3 successors are summed over all B entries, the padding included
    (p = 0 at the row's first successor, :func:`mdptheory.runner.online._support`): a loop of
    fixed length, where the exit of a loop of 1-3 varying steps is mispredicted about once per
    state (~1.9x faster on RiverSwim inside the compiled UCBVI loop; on the grid, B = 5, the
    extra products cost more than they save). A padding term adds p * V = +-0 to a running
    sum that is never -0 unless the reward is -0.0, so the value is the same (bit for bit but
    for the sign of a zero reward's exact-zero value) for finite V.

    Reads B instead of S entries of P, and on the 5 x 5 grid skips 20% of the (h, s); with a
    stationary model (G = 1) the lists of every step are one (S, A, B) block that stays in the
    L1 cache (~1.3x faster on the grid than G = H)."""
    H = act.shape[0]
    G = n_succ.shape[0]
    B = p_succ.shape[3]
    short = B <= 3          # short rows: loop over all B (padding adds p = 0 terms), see above
    # unsigned indices: numba skips the negative-index wraparound test on each access (all
    # indices here are >= 0), ~1.4x faster on the 5 x 5 grid; the same products and sums
    for hi in range(H - 1, -1, -1):
        h = np.uint64(hi)
        h1 = np.uint64(hi + 1)
        g = np.uint64(hi if G > 1 else 0)
        for k in range(n_reach[h]):
            s = np.uint64(reach[h, np.uint64(k)])
            a = np.uint64(act[h, s])
            q = r[h, s, a]
            n = B if short else n_succ[g, s, a]
            for ii in range(n):
                i = np.uint64(ii)
                q += p_succ[g, s, a, i] * V_work[h1, np.uint64(succ[g, s, a, i])]
            V_work[h, s] = q
    total = 0.0
    for k in range(n_reach[0]):
        s = np.uint64(reach[0, np.uint64(k)])
        total += rho0[s] * V_work[0, s]
    return total


@njit(cache=True, inline="always")
def draw_support(p_succ, succ, n_succ, h, s, a, u):
    """:func:`mdptheory.kernels.sampling.draw` from row P[h, s, a] over its packed support
    (p_succ[g, s, a, :n] its positive entries in increasing index order, succ[g, s, a, :n] their
    indices; g = h, or 0 for stationary lists of leading size 1): the same index for the same
    u, since the dense draw skips the zero entries."""
    g = h if n_succ.shape[0] > 1 else 0
    c = 0.0
    n = n_succ[g, s, a]
    for i in range(n):
        c += p_succ[g, s, a, i]
        if u < c:
            return succ[g, s, a, i]
    return succ[g, s, a, n - 1]


# ------------------------------------------------------------------ compiled episode loops
# A learner's compiled loop (e.g. :mod:`mdptheory.kernels.ucbvi_loop`) runs many episodes in one
# call and records exact values through the two helpers below, which reproduce the generic
# driver's ``_Evaluator`` for deterministic policies bit for bit (the same value kernel, the
# same FIFO cache of EVAL_CACHE_SIZE action tables, the same evaluation count).
#
# The driver hands a loop two tuples, unpacked once at its top (never per episode: taking an
# array out of a tuple, or passing it to a function that is not inlined, costs a reference
# count update, ~20-200 ns, more than a small episode):
# ``truth`` = (P, r, rho0, succ, n_succ, p_succ, reach, n_reach): the true model, its support
#   lists, the probabilities packed along them and the states reachable at each step (see
#   :func:`deterministic_value_packed`).
# ``tally`` = (acc, cnt, keys, hashes, vals, V_work, index):
#   acc    (3,) float64   [cumulative regret, value of the current policy, V*_0(rho0)]
#   cnt    (4,) int64     [evaluations, cache entries, next cache slot, policy changed (0/1)]
#   keys   (C, H, S) int8 (any integer type holding the actions)  cached action tables, FIFO
#          ring; hashes (C,) int64 their hashes;
#   vals   (C,) float64   their values; V_work (H + 1, S) scratch with V_work[H] = 0;
#   index  (M,) int64     open-addressing index of the ring by hash (M a power of two >= 2 C,
#          :func:`cache_index`): entry slot + 1, 0 empty; linear probing from
#          :func:`_index_home`, backward-shift deletion on eviction. It holds exactly the ring's
#          slots, so a lookup decides hit or miss as a scan of the ring would, in O(1).

EVAL_CACHE_SIZE = 256      # the generic driver's _CACHE_SIZE


@njit(cache=True, inline="always")
def action_table_hash(act):
    """64-bit hash of a C-contiguous integer action table (H, S): sum over the flat position
    i of (act + 1) (2 i + 1) golden (wrapping arithmetic; independent products over one flat
    loop, so it vectorises: ~2x faster than the nested loop on the 5 x 5 grid). Equal tables,
    equal hashes; the cache compares tables in full on a hash match."""
    flat = act.reshape(act.size)
    h = np.int64(0)
    golden = np.int64(-7046029254386353131)      # 0x9E3779B97F4A7C15 as int64
    for i in range(flat.shape[0]):
        h += (flat[i] + 1) * ((2 * i + 1) * golden)
    return h


def cache_index(C: int) -> np.ndarray:
    """An empty index for a ring of C slots: (M,) int64 zeros, M the least power of two
    >= 2 C."""
    M = 1
    while M < 2 * C:
        M *= 2
    return np.zeros(M, dtype=np.int64)


@njit(cache=True, inline="always")
def _index_home(hsh, mask):
    """First probe position of a hash (its bits folded; mask = M - 1)."""
    x = hsh ^ (hsh >> 31)
    x = x ^ (x >> 17)
    return x & mask


@njit(cache=True, inline="always")
def _index_insert(index, hsh, slot):
    mask = index.shape[0] - 1
    j = _index_home(hsh, mask)
    while index[j] != 0:
        j = (j + 1) & mask
    index[j] = slot + 1


@njit(cache=True, inline="always")
def _index_remove(index, hashes, slot):
    """Drop ring slot ``slot`` (hash hashes[slot]) from the index; later entries of its probe
    run are shifted back so that every entry stays reachable from its home."""
    mask = index.shape[0] - 1
    i = _index_home(hashes[slot], mask)
    while index[i] != slot + 1:
        i = (i + 1) & mask
    k = (i + 1) & mask
    while index[k] != 0:
        home = _index_home(hashes[index[k] - 1], mask)
        if ((k - home) & mask) >= ((k - i) & mask):     # home at or before the hole i
            index[i] = index[k]
            i = k
        k = (k + 1) & mask
    index[i] = 0


@njit(cache=True, inline="always")
def _ring_store(cnt, hashes, index, hsh):
    """The slot for a new entry of hash hsh: the next FIFO slot, evicting its entry from the
    index when the ring is full; records the hash and advances the ring."""
    C = hashes.shape[0]
    slot = cnt[2]
    if cnt[1] == C:
        _index_remove(index, hashes, slot)
    hashes[slot] = hsh
    _index_insert(index, hsh, slot)
    cnt[2] = (slot + 1) % C
    if cnt[1] < C:
        cnt[1] += 1
    return slot


@njit(cache=True, inline="always")
def _same_table(a, b):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] != b[i, j]:
                return False
    return True


@njit(cache=True, inline="always")
def _store_table(keys, slot, act):
    """keys[slot] = act, as a plain loop (~1.7x faster than numba's slice assignment)."""
    for i in range(act.shape[0]):
        for j in range(act.shape[1]):
            keys[slot, i, j] = act[i, j]


@njit(cache=True, inline="always")
def tally_policy_value(P, r, rho0, succ, n_succ, p_succ, reach, n_reach, acc, cnt, keys, hashes,
                       vals, V_work, index, act):
    """Exact V^pi_0(rho0) of the deterministic policy act (H, S), through the FIFO cache:
    a table seen before (and not evicted) costs a lookup, a new one one call of
    :func:`deterministic_value_packed` and counts as an evaluation. Stores it as the current value
    (acc[1]) and clears the "changed" flag (cnt[3]); returns it."""
    hsh = action_table_hash(act)
    mask = index.shape[0] - 1
    j = _index_home(hsh, mask)
    while index[j] != 0:
        i = index[j] - 1
        if hashes[i] == hsh and _same_table(keys[i], act):
            acc[1] = vals[i]
            cnt[3] = 0
            return vals[i]
        j = (j + 1) & mask
    v = deterministic_value_packed(p_succ, succ, n_succ, r, act, rho0, reach, n_reach, V_work)
    cnt[0] += 1
    slot = _ring_store(cnt, hashes, index, hsh)
    _store_table(keys, slot, act)
    vals[slot] = v
    acc[1] = v
    cnt[3] = 0
    return v


@njit(cache=True, inline="always")
def tally_episode(P, r, rho0, succ, n_succ, p_succ, reach, n_reach, acc, cnt, keys, hashes, vals,
                  V_work, index, act):
    """Add the exact regret V* - V^pi(rho0) of one episode played with the deterministic act
    (H, S); the policy is re-evaluated (:func:`tally_policy_value`) only when flagged as
    changed (cnt[3])."""
    if cnt[3] != 0:
        tally_policy_value(P, r, rho0, succ, n_succ, p_succ, reach, n_reach, acc, cnt, keys,
                           hashes, vals, V_work, index, act)
    acc[0] += acc[2] - acc[1]


POLICY_TOL = 1e-8          # the generic driver's tolerance (runner.online, policy_digest)


@njit(cache=True, inline="always")
def _same_bits_1d(x, y):
    for i in range(x.shape[0]):
        if x[i] != y[i]:
            return False
    return True


@njit(cache=True, inline="always")
def tally_any_policy(P, r, rho0, succ, n_succ, p_succ, reach, n_reach, acc, cnt, keys, hashes,
                     vals, V_work, index, pi, kinds, skeys, act_buf):
    """Exact V^pi_0(rho0) of the dense policy pi (H, S, A) through the driver's FIFO cache, as
    the generic ``_Evaluator`` does it: one-hot policies keyed by their action table and valued
    by :func:`deterministic_value_packed`, other policies keyed by their bytes and valued by
    :func:`policy_value_sparse`; one ring of slots for both kinds (``kinds`` tells which)."""
    H, S, A = pi.shape
    _, det = policy_digest(pi, POLICY_TOL, act_buf)
    bits = pi.reshape(H * S * A).view(np.int64)          # the bytes of pi, as the driver's key
    if det:
        kind = 0
        hsh = action_table_hash(act_buf)
    else:
        kind = 1
        hsh = action_table_hash(pi.reshape((H, S * A)).view(np.int64))
    mask = index.shape[0] - 1
    j = _index_home(hsh, mask)
    while index[j] != 0:
        i = index[j] - 1
        j = (j + 1) & mask
        if kinds[i] == kind and hashes[i] == hsh:
            if kind == 0:
                hit = True
                for h in range(H):
                    for s in range(S):
                        if keys[i, h, s] != act_buf[h, s]:
                            hit = False
            else:
                hit = _same_bits_1d(skeys[i].reshape(H * S * A).view(np.int64), bits)
            if hit:
                acc[1] = vals[i]
                cnt[3] = 0
                return vals[i]
    if det:
        v = deterministic_value_packed(p_succ, succ, n_succ, r, act_buf, rho0, reach, n_reach,
                                       V_work)
    else:
        v = policy_value_sparse(P, succ, n_succ, r, pi, rho0, V_work)
    cnt[0] += 1
    slot = _ring_store(cnt, hashes, index, hsh)
    kinds[slot] = kind
    if det:
        _store_table(keys, slot, act_buf)
    else:
        skeys[slot, :, :, :] = pi
    vals[slot] = v
    acc[1] = v
    cnt[3] = 0
    return v
