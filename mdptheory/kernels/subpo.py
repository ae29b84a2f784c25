"""Numba kernels for submodular RL (SubPO): set-function evaluation, the layered
(h, s, visited-set) graph, its exact DP / evaluation / occupancy / gradient, episode samplers
and score-function accumulators.

Plain arrays in, out-params, no validation (the callers in ``mdptheory.algorithms.subpo`` and
``mdptheory.envs.submodular`` check everything).

Set functions (structured form, see ``mdptheory.envs.submodular.StructuredSetFunction``)::

    F(V) = sum_u cs_w[u] * min(sum_{v in V} C[u, v], cs_cap[u])  +  sum_u' max_{v in V} W[u', v]

stored column-wise (CSC over the ground element v): ``cs_ptr (n+1,), cs_idx, cs_val`` for C and
``fl_ptr (n+1,), fl_idx, fl_val`` for W. Running "status" of a visited set: ``cnt[u]`` =
sum_{v in V} C[u, v] and ``mx[u']`` = max_{v in V} W[u', v]. A tabulated function is an array
``table[mask]`` over all 2^n bitmasks (``use_table``).

Compact transitions: ``succ[h, s, k]`` (the k-th state reachable from s at step h under some
action, k < nsucc[h, s]) and ``psucc[h, s, a, k] = P[h, s, a, succ[h, s, k]]``.

Visit graph: nodes (M, s) of layer h = 0..H are the (visited-set bitmask, current state) pairs
reachable at step h, sorted by key = (M << 6) | s inside each layer; ``lay_ptr (H+2,)`` are the
layer offsets, ``child[i, k]`` the index of the node reached from node i through successor k
(-1 if k >= nsucc), ``node_F[i] = F(M_i)``. Marginal gain of the transition i -> child:
node_F[child] - node_F[i] (0 when the successor was visited before).
"""
import numpy as np
from numba import njit

from .sampling import draw

KEY_SHIFT = 6          # key = (M << 6) | s  ->  s < 64 and M < 2**57
MAX_BITS = 57


# ----------------------------------------------------------------------------- set functions

@njit(cache=True)
def structured_values(masks, n, cs_ptr, cs_idx, cs_val, cs_w, cs_cap, U1, fl_ptr, fl_idx,
                      fl_val, U2, out):
    """out[i] = F(masks[i]) for bitmasks over n <= 62 ground elements (structured form)."""
    cnt = np.zeros(U1)
    mx = np.zeros(U2)
    for i in range(masks.shape[0]):
        M = masks[i]
        for u in range(U1):
            cnt[u] = 0.0
        for u in range(U2):
            mx[u] = 0.0
        for v in range(n):
            if (M >> v) & 1:
                for k in range(cs_ptr[v], cs_ptr[v + 1]):
                    cnt[cs_idx[k]] += cs_val[k]
                for k in range(fl_ptr[v], fl_ptr[v + 1]):
                    if fl_val[k] > mx[fl_idx[k]]:
                        mx[fl_idx[k]] = fl_val[k]
        tot = 0.0
        for u in range(U1):
            c = cnt[u]
            if c > cs_cap[u]:
                c = cs_cap[u]
            tot += cs_w[u] * c
        for u in range(U2):
            tot += mx[u]
        out[i] = tot


@njit(cache=True)
def structured_gain(v, cs_ptr, cs_idx, cs_val, cs_w, cs_cap, fl_ptr, fl_idx, fl_val, cnt, mx):
    """F(V + v) - F(V) for v not in V, where cnt/mx hold V's status; updates the status."""
    g = 0.0
    for k in range(cs_ptr[v], cs_ptr[v + 1]):
        u = cs_idx[k]
        old = cnt[u]
        new = old + cs_val[k]
        cap = cs_cap[u]
        a = old if old < cap else cap
        b = new if new < cap else cap
        g += cs_w[u] * (b - a)
        cnt[u] = new
    for k in range(fl_ptr[v], fl_ptr[v + 1]):
        u = fl_idx[k]
        if fl_val[k] > mx[u]:
            g += fl_val[k] - mx[u]
            mx[u] = fl_val[k]
    return g


@njit(cache=True)
def _clear_status(v, cs_ptr, cs_idx, fl_ptr, fl_idx, cnt, mx):
    for k in range(cs_ptr[v], cs_ptr[v + 1]):
        cnt[cs_idx[k]] = 0.0
    for k in range(fl_ptr[v], fl_ptr[v + 1]):
        mx[fl_idx[k]] = 0.0


@njit(cache=True)
def structured_table(n, cs_ptr, cs_idx, cs_val, cs_w, cs_cap, U1, fl_ptr, fl_idx, fl_val, U2,
                     out):
    """out[M] = F(M) for every bitmask M < 2**n (structured form)."""
    masks = np.arange(out.shape[0])
    structured_values(masks, n, cs_ptr, cs_idx, cs_val, cs_w, cs_cap, U1, fl_ptr, fl_idx,
                      fl_val, U2, out)


# ----------------------------------------------------------------------------- visit graph

@njit(cache=True)
def expand_layer(prev_M, prev_s, h, succ, nsucc):
    """Next layer of the visit graph from the nodes (prev_M, prev_s) of layer h.

    Returns (keys of layer h+1, sorted unique) and child (n_prev, K) with the index (within
    the new layer) of each successor, -1 past nsucc.
    """
    n = prev_M.shape[0]
    K = succ.shape[2]
    cand = np.empty(n * K, dtype=np.int64)
    m = 0
    for i in range(n):
        s = prev_s[i]
        for k in range(nsucc[h, s]):
            t = succ[h, s, k]
            cand[m] = ((prev_M[i] | (np.int64(1) << t)) << KEY_SHIFT) | t
            m += 1
    keys = np.unique(cand[:m])
    child = np.full((n, K), -1, dtype=np.int64)
    for i in range(n):
        s = prev_s[i]
        for k in range(nsucc[h, s]):
            t = succ[h, s, k]
            key = ((prev_M[i] | (np.int64(1) << t)) << KEY_SHIFT) | t
            child[i, k] = np.searchsorted(keys, key)
    return keys, child


@njit(cache=True)
def optimal_values(lay_ptr, node_s, node_F, child, nsucc, psucc, W_out, act_out):
    """History-dependent optimum on the visit graph:

    W_H = 0;  W_h(s, M) = max_a sum_s' P_h(s'|s,a) [F(M+s') - F(M) + W_{h+1}(s', M+s')].
    act_out[i] = lowest maximising action. W_out (N,), act_out (lay_ptr[H],).
    """
    H = lay_ptr.shape[0] - 2
    A = psucc.shape[2]
    for i in range(lay_ptr[H], lay_ptr[H + 1]):
        W_out[i] = 0.0
    for h in range(H - 1, -1, -1):
        for i in range(lay_ptr[h], lay_ptr[h + 1]):
            s = node_s[i]
            best = -np.inf
            ba = 0
            for a in range(A):
                q = 0.0
                for k in range(nsucc[h, s]):
                    p = psucc[h, s, a, k]
                    if p > 0.0:
                        c = child[i, k]
                        q += p * (node_F[c] - node_F[i] + W_out[c])
                if q > best:
                    best = q
                    ba = a
            W_out[i] = best
            act_out[i] = ba


@njit(cache=True)
def policy_values(lay_ptr, node_s, node_F, child, nsucc, psucc, pi, markov, W_out, Q_out):
    """Exact evaluation of a policy on the visit graph.

    Q_h(i, a) = sum_s' P_h(s'|s_i,a) [gain + W_{h+1}(child)],  W_h(i) = sum_a pi(a|i) Q_h(i, a).
    pi is (H, S, A) (Markov, ``markov`` True) or (lay_ptr[H], 1, A) (one row per node).
    W_out (N,), Q_out (lay_ptr[H], A).
    """
    H = lay_ptr.shape[0] - 2
    A = psucc.shape[2]
    for i in range(lay_ptr[H], lay_ptr[H + 1]):
        W_out[i] = 0.0
    for h in range(H - 1, -1, -1):
        for i in range(lay_ptr[h], lay_ptr[h + 1]):
            s = node_s[i]
            v = 0.0
            for a in range(A):
                q = 0.0
                for k in range(nsucc[h, s]):
                    p = psucc[h, s, a, k]
                    if p > 0.0:
                        c = child[i, k]
                        q += p * (node_F[c] - node_F[i] + W_out[c])
                Q_out[i, a] = q
                pa = pi[h, s, a] if markov else pi[i, 0, a]
                v += pa * q
            W_out[i] = v


@njit(cache=True)
def node_occupancy(lay_ptr, node_s, child, nsucc, psucc, pi, markov, root_w, d_out):
    """Forward recursion: d(root i) = root_w[i]; d(child) += d(i) pi(a|i) P_h(s'|s_i, a)."""
    H = lay_ptr.shape[0] - 2
    A = psucc.shape[2]
    for i in range(d_out.shape[0]):
        d_out[i] = 0.0
    for i in range(lay_ptr[0], lay_ptr[1]):
        d_out[i] = root_w[i]
    for h in range(H):
        for i in range(lay_ptr[h], lay_ptr[h + 1]):
            di = d_out[i]
            if di == 0.0:
                continue
            s = node_s[i]
            for a in range(A):
                pa = pi[h, s, a] if markov else pi[i, 0, a]
                if pa == 0.0:
                    continue
                for k in range(nsucc[h, s]):
                    p = psucc[h, s, a, k]
                    if p > 0.0:
                        d_out[child[i, k]] += di * pa * p


@njit(cache=True)
def markov_direct_gradient(lay_ptr, node_s, d, Q, G_out):
    """dJ/dpi_h(a|s) = sum_{nodes i at (h, s)} d(i) Q_h(i, a); G_out (H, S, A) zeroed here."""
    H = lay_ptr.shape[0] - 2
    G_out[:] = 0.0
    A = Q.shape[1]
    for h in range(H):
        for i in range(lay_ptr[h], lay_ptr[h + 1]):
            di = d[i]
            if di == 0.0:
                continue
            s = node_s[i]
            for a in range(A):
                G_out[h, s, a] += di * Q[i, a]


@njit(cache=True)
def linear_node_policy(lay_ptr, node_M, node_s, theta, psi, pi_out):
    """pi(a | node) = softmax_a(theta[h, s, a] + sum_{v in M} psi[v, a]) for nodes of layers
    0..H-1 (the visited-set-linear non-Markovian class)."""
    H = lay_ptr.shape[0] - 2
    A = theta.shape[2]
    S = psi.shape[0]
    z = np.empty(A)
    for h in range(H):
        for i in range(lay_ptr[h], lay_ptr[h + 1]):
            s = node_s[i]
            M = node_M[i]
            for a in range(A):
                z[a] = theta[h, s, a]
            for v in range(S):
                if (M >> v) & 1:
                    for a in range(A):
                        z[a] += psi[v, a]
            m = z.max()
            tot = 0.0
            for a in range(A):
                z[a] = np.exp(z[a] - m)
                tot += z[a]
            for a in range(A):
                pi_out[i, a] = z[a] / tot


@njit(cache=True)
def linear_softmax_gradient(lay_ptr, node_M, node_s, d, Q, pi_node, g_theta, g_psi):
    """Exact gradient of J for the visited-set-linear softmax class: with
    adv(i, a) = d(i) pi(a|i) (Q(i, a) - sum_b pi(b|i) Q(i, b)),
    dJ/dtheta[h, s, a] = sum_{i at (h, s)} adv(i, a),  dJ/dpsi[v, a] = sum_{i: v in M_i} adv(i, a).
    g_theta (H, S, A), g_psi (S, A) zeroed here."""
    H = lay_ptr.shape[0] - 2
    A = Q.shape[1]
    S = g_psi.shape[0]
    g_theta[:] = 0.0
    g_psi[:] = 0.0
    adv = np.empty(A)
    for h in range(H):
        for i in range(lay_ptr[h], lay_ptr[h + 1]):
            di = d[i]
            if di == 0.0:
                continue
            v = 0.0
            for a in range(A):
                v += pi_node[i, a] * Q[i, a]
            for a in range(A):
                adv[a] = di * pi_node[i, a] * (Q[i, a] - v)
            s = node_s[i]
            M = node_M[i]
            for a in range(A):
                g_theta[h, s, a] += adv[a]
            for u in range(S):
                if (M >> u) & 1:
                    for a in range(A):
                        g_psi[u, a] += adv[a]


# ----------------------------------------------------------------------------- samplers

@njit(inline="always")
def _add_state(t, M, use_table, table, cs_ptr, cs_idx, cs_val, cs_w, cs_cap, fl_ptr, fl_idx,
               fl_val, cnt, mx):
    """Marginal gain of adding the unvisited state t to the visited set, and the new bitmask
    (the set M when gains are read from ``table``; else the structured counters are updated)."""
    if use_table:
        M2 = M | (np.int64(1) << t)
        return table[M2] - table[M], M2
    return structured_gain(t, cs_ptr, cs_idx, cs_val, cs_w, cs_cap, fl_ptr, fl_idx, fl_val, cnt,
                           mx), M


@njit(inline="always")
def _forget_episode(s_row, visited, use_table, cs_ptr, cs_idx, fl_ptr, fl_idx, cnt, mx):
    """Clear the visited flags (and structured counters) of the states in s_row (H + 1,)."""
    for v in s_row:
        if visited[v]:
            visited[v] = False
            if not use_table:
                _clear_status(v, cs_ptr, cs_idx, fl_ptr, fl_idx, cnt, mx)


@njit(cache=True)
def sample_markov(succ, nsucc, psucc, pi, rho0, use_table, table, cs_ptr, cs_idx, cs_val,
                  cs_w, cs_cap, U1, fl_ptr, fl_idx, fl_val, U2, rng, s_out, a_out, gain_out,
                  f0_out):
    """Roll out the Markov policy pi (H, S, A) for B = s_out.shape[0] episodes.

    s_out (B, H+1), a_out (B, H), gain_out (B, H) with gain_out[b, j] = F(tau_{0:j+1}) -
    F(tau_{0:j}) (marginal gain of s_{j+1}), f0_out (B,) = F({s_0}). Draws per episode: the
    initial state, then for each step the action and the successor.
    """
    B = s_out.shape[0]
    H = pi.shape[0]
    S = pi.shape[1]
    visited = np.zeros(S, dtype=np.bool_)
    cnt = np.zeros(U1)
    mx = np.zeros(U2)
    for b in range(B):
        s = draw(rho0, rng.random())
        visited[s] = True
        f0_out[b], M = _add_state(s, np.int64(0), use_table, table, cs_ptr, cs_idx, cs_val,
                                  cs_w, cs_cap, fl_ptr, fl_idx, fl_val, cnt, mx)
        for h in range(H):
            s_out[b, h] = s
            a = draw(pi[h, s], rng.random())
            a_out[b, h] = a
            k = draw(psucc[h, s, a, :nsucc[h, s]], rng.random())
            t = succ[h, s, k]
            g = 0.0
            if not visited[t]:
                visited[t] = True
                g, M = _add_state(t, M, use_table, table, cs_ptr, cs_idx, cs_val, cs_w, cs_cap,
                                  fl_ptr, fl_idx, fl_val, cnt, mx)
            gain_out[b, h] = g
            s = t
        s_out[b, H] = s
        _forget_episode(s_out[b], visited, use_table, cs_ptr, cs_idx, fl_ptr, fl_idx, cnt, mx)


@njit(cache=True)
def sample_linear(succ, nsucc, psucc, theta, psi, rho0, use_table, table, cs_ptr, cs_idx,
                  cs_val, cs_w, cs_cap, U1, fl_ptr, fl_idx, fl_val, U2, rng, s_out, a_out,
                  gain_out, f0_out, prob_out):
    """As :func:`sample_markov` for the visited-set-linear softmax policy
    pi(a | s_h, V_h) = softmax(theta[h, s_h] + sum_{v in V_h} psi[v]); prob_out (B, H, A)
    receives the action probabilities used at each step."""
    B = s_out.shape[0]
    H = theta.shape[0]
    S = theta.shape[1]
    A = theta.shape[2]
    visited = np.zeros(S, dtype=np.bool_)
    cnt = np.zeros(U1)
    mx = np.zeros(U2)
    psum = np.zeros(A)
    z = np.empty(A)
    for b in range(B):
        s = draw(rho0, rng.random())
        visited[s] = True
        for a in range(A):
            psum[a] = psi[s, a]
        f0_out[b], M = _add_state(s, np.int64(0), use_table, table, cs_ptr, cs_idx, cs_val,
                                  cs_w, cs_cap, fl_ptr, fl_idx, fl_val, cnt, mx)
        for h in range(H):
            s_out[b, h] = s
            for a in range(A):
                z[a] = theta[h, s, a] + psum[a]
            m = z.max()
            tot = 0.0
            for a in range(A):
                z[a] = np.exp(z[a] - m)
                tot += z[a]
            for a in range(A):
                z[a] /= tot
                prob_out[b, h, a] = z[a]
            a = draw(z, rng.random())
            a_out[b, h] = a
            k = draw(psucc[h, s, a, :nsucc[h, s]], rng.random())
            t = succ[h, s, k]
            g = 0.0
            if not visited[t]:
                visited[t] = True
                for c in range(A):
                    psum[c] += psi[t, c]
                g, M = _add_state(t, M, use_table, table, cs_ptr, cs_idx, cs_val, cs_w, cs_cap,
                                  fl_ptr, fl_idx, fl_val, cnt, mx)
            gain_out[b, h] = g
            s = t
        s_out[b, H] = s
        _forget_episode(s_out[b], visited, use_table, cs_ptr, cs_idx, fl_ptr, fl_idx, cnt, mx)


@njit(cache=True)
def sample_nodes(lay_ptr, node_s, node_F, child, nsucc, psucc, pi_node, root_p, rng, s_out,
                 a_out, gain_out, f0_out, node_out):
    """Roll out a history-dependent policy pi_node (lay_ptr[H], A) on the visit graph.

    root_p (lay_ptr[1],) = initial probabilities of the layer-0 nodes. node_out (B, H) = node of
    each step; gains and f0 as in :func:`sample_markov` (read from node_F).
    """
    B = s_out.shape[0]
    H = lay_ptr.shape[0] - 2
    for b in range(B):
        i = draw(root_p, rng.random())
        f0_out[b] = node_F[i]
        for h in range(H):
            s = node_s[i]
            s_out[b, h] = s
            node_out[b, h] = i
            a = draw(pi_node[i], rng.random())
            a_out[b, h] = a
            k = draw(psucc[h, s, a, :nsucc[h, s]], rng.random())
            c = child[i, k]
            gain_out[b, h] = node_F[c] - node_F[i]
            i = c
        s_out[b, H] = node_s[i]


# ----------------------------------------------------------------------------- score functions

@njit(cache=True)
def score_markov(s, a, pi, w, g_out):
    """g_out[h, s, :] += sum_b w[b, h] (e_{a_bh} - pi_h(.|s_bh))  (softmax logits score)."""
    B, H = a.shape
    A = pi.shape[2]
    for b in range(B):
        for h in range(H):
            wt = w[b, h]
            if wt == 0.0:
                continue
            st = s[b, h]
            for c in range(A):
                g_out[h, st, c] -= wt * pi[h, st, c]
            g_out[h, st, a[b, h]] += wt


@njit(cache=True)
def score_nodes(node, a, pi_node, w, g_out):
    """g_out[i, :] += sum w (e_a - pi(.|i)) over the steps that were at node i."""
    B, H = a.shape
    A = pi_node.shape[1]
    for b in range(B):
        for h in range(H):
            wt = w[b, h]
            if wt == 0.0:
                continue
            i = node[b, h]
            for c in range(A):
                g_out[i, c] -= wt * pi_node[i, c]
            g_out[i, a[b, h]] += wt


@njit(cache=True)
def score_linear(s, a, prob, w, g_theta, g_psi):
    """Score accumulation for the visited-set-linear softmax class:
    x_h = w_h (e_{a_h} - pi_h); g_theta[h, s_h] += x_h; g_psi[v] += sum_{h >= t_v} x_h, where
    t_v is the first time v is visited (v in V_h for every h >= t_v)."""
    B, H = a.shape
    A = prob.shape[2]
    S = g_psi.shape[0]
    R = np.zeros((H + 1, A))
    seen = np.zeros(S, dtype=np.bool_)
    for b in range(B):
        for c in range(A):
            R[H, c] = 0.0
        for h in range(H - 1, -1, -1):
            wt = w[b, h]
            for c in range(A):
                x = -wt * prob[b, h, c]
                if c == a[b, h]:
                    x += wt
                R[h, c] = R[h + 1, c] + x
                g_theta[h, s[b, h], c] += x
        for h in range(H):
            v = s[b, h]
            if not seen[v]:
                seen[v] = True
                for c in range(A):
                    g_psi[v, c] += R[h, c]
        for h in range(H):
            seen[s[b, h]] = False


# ----------------------------------------------------------------------------- enumeration

@njit(cache=True)
def enumerate_sequences(nxt, s0, masks_out, seq_state):
    """Final visited-set masks of all A^H open-loop action sequences on a deterministic SMDP.

    nxt (H, S, A) int64 next state. masks_out (A^H,) in lexicographic order of the action
    sequence (a_0 most significant). seq_state scratch (H+1,)."""
    H, _, A = nxt.shape
    total = masks_out.shape[0]
    for idx in range(total):
        rem = idx
        div = total
        s = s0
        M = np.int64(1) << s0
        for h in range(H):
            div //= A
            a = rem // div
            rem -= a * div
            s = nxt[h, s, a]
            M |= np.int64(1) << s
        masks_out[idx] = M
