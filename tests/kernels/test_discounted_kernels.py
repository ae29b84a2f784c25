"""Discounted kernels: each equals an obvious NumPy twin and its own uncompiled .py_func."""
import itertools

import numpy as np
import pytest

from mdptheory.kernels import discounted as kd


def _model(seed, S=7, A=3, zero_frac=0.5):
    """Random P (S, A, S) with some zero entries (every row keeps >= 1 nonzero), r, V."""
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S))
    P[rng.random(P.shape) < zero_frac] = 0.0
    P[:, :, 0] += (P.sum(axis=2) == 0)
    P /= P.sum(axis=2, keepdims=True)
    return P, rng.random((S, A)), rng.normal(size=S) * 3, rng


def _ell(P, dtype=np.int64):
    """Reference ELL layout built with NumPy (nonzeros first, in s' order, padded with 0)."""
    S, A, _ = P.shape
    m = int((P > 0).sum(axis=2).max())
    idx = np.zeros((S, A, m), dtype=dtype)
    probs = np.zeros((S, A, m))
    for s in range(S):
        for a in range(A):
            nz = np.flatnonzero(P[s, a])
            idx[s, a, :nz.size] = nz
            idx[s, a, nz.size:] = nz[0]
            probs[s, a, :nz.size] = P[s, a, nz]
    return probs, idx


def _q_ref(P, r, gamma, V):
    return r + gamma * np.einsum("sat,t->sa", P, V)


@pytest.mark.parametrize("S, A", [(1, 1), (5, 3), (9, 4), (33, 5)])
def test_dense_q_matches_einsum_and_py_func(S, A):
    P, r, V, _ = _model(S * 10 + A, S=S, A=A)
    out = np.empty(S * A)
    kd.dense_q(P.reshape(S * A, S), r.reshape(-1), 0.9, V, out)
    np.testing.assert_allclose(out.reshape(S, A), _q_ref(P, r, 0.9, V), rtol=1e-13, atol=1e-13)
    out_py = np.empty(S * A)
    kd.dense_q.py_func(P.reshape(S * A, S), r.reshape(-1), 0.9, V, out_py)
    np.testing.assert_allclose(out, out_py, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("S", [1, 3, 6, 70])
def test_dense_policy_backup_reads_the_policy_rows_and_returns_span(S):
    A = 3
    P, r, V, rng = _model(S, S=S, A=A)
    act = rng.integers(0, A, size=S)
    out = np.empty(S)
    lo, hi = kd.dense_policy_backup(P.reshape(S * A, S), r, 0.95, act, V, out)
    ref = _q_ref(P, r, 0.95, V)[np.arange(S), act]
    np.testing.assert_allclose(out, ref, rtol=1e-13, atol=1e-13)
    assert lo == pytest.approx((ref - V).min(), abs=1e-12)
    assert hi == pytest.approx((ref - V).max(), abs=1e-12)
    out_py = np.empty(S)
    assert kd.dense_policy_backup.py_func(P.reshape(S * A, S), r, 0.95, act, V, out_py) == \
        pytest.approx((lo, hi), abs=1e-13)
    np.testing.assert_allclose(out, out_py, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_dense_to_ell_round_trips_and_pads_with_first_successor(dtype):
    P, _, _, _ = _model(3, S=11, A=2)
    S, A, _ = P.shape
    probs_ref, idx_ref = _ell(P)
    m = probs_ref.shape[2]
    probs = np.empty((S * A, m))
    idx = np.empty((S * A, m), dtype=dtype)
    counts = np.empty(S * A, dtype=np.int64)
    kd.dense_to_ell(P.reshape(S * A, S), probs, idx, counts)
    np.testing.assert_array_equal(counts, (P > 0).sum(axis=2).reshape(-1))
    np.testing.assert_array_equal(probs.reshape(S, A, m), probs_ref)
    np.testing.assert_array_equal(idx.reshape(S, A, m), idx_ref)
    py = (np.empty_like(probs), np.empty_like(idx), np.empty_like(counts))
    kd.dense_to_ell.py_func(P.reshape(S * A, S), *py)
    for got, want in zip(py, (probs, idx, counts)):
        np.testing.assert_array_equal(got, want)


def test_dense_to_ell_reports_rows_wider_than_the_buffer():
    P, _, _, _ = _model(4, S=12, A=2, zero_frac=0.2)
    S, A, _ = P.shape
    w = 2
    probs = np.empty((S * A, w))
    idx = np.empty((S * A, w), dtype=np.int64)
    counts = np.empty(S * A, dtype=np.int64)
    kd.dense_to_ell(P.reshape(S * A, S), probs, idx, counts)
    assert counts.max() > w                                  # the caller must retry wider
    np.testing.assert_array_equal(counts, (P > 0).sum(axis=2).reshape(-1))
    first_two = np.argsort(P.reshape(S * A, S) == 0, axis=1, kind="stable")[:, :w]
    np.testing.assert_array_equal(idx, first_two)            # the first w nonzeros are kept


def _no_rows(m, dtype):
    return np.empty((0, m)), np.empty((0, m), dtype=dtype), np.empty(0)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_ell_q_and_bellman_match_dense_reference(dtype):
    P, r, V, _ = _model(5, S=13, A=4)
    probs, idx = _ell(P, dtype)
    S, A, m = probs.shape
    Q = np.empty((S, A))
    kd.ell_q(probs, idx, r, 0.8, V, Q)
    Q_ref = _q_ref(P, r, 0.8, V)
    np.testing.assert_allclose(Q, Q_ref, rtol=1e-13, atol=1e-13)
    V_out, act = np.empty(S), np.empty(S, dtype=np.int64)
    lo, hi = kd.ell_bellman(probs, idx, r, 0.8, V, V_out, act, *_no_rows(m, dtype))
    np.testing.assert_allclose(V_out, Q_ref.max(axis=1), rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(act, Q_ref.argmax(axis=1))
    assert (lo, hi) == pytest.approx(((V_out - V).min(), (V_out - V).max()), abs=1e-12)
    V_py, act_py = np.empty(S), np.empty(S, dtype=np.int64)
    assert kd.ell_bellman.py_func(probs, idx, r, 0.8, V, V_py, act_py,
                                  *_no_rows(m, dtype)) == pytest.approx((lo, hi), abs=1e-13)
    np.testing.assert_allclose(V_py, V_out, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(act_py, act)
    Q_py = np.empty((S, A))
    kd.ell_q.py_func(probs, idx, r, 0.8, V, Q_py)
    np.testing.assert_allclose(Q_py, Q, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_ell_bellman_copies_out_the_greedy_rows_like_ell_extract(dtype):
    P, r, V, _ = _model(9, S=21, A=3)
    probs, idx = _ell(P, dtype)
    S, _, m = probs.shape
    rows = (np.empty((S, m)), np.empty((S, m), dtype=dtype), np.empty(S))
    V_out, act = np.empty(S), np.empty(S, dtype=np.int64)
    kd.ell_bellman(probs, idx, r, 0.9, V, V_out, act, *rows)
    s = np.arange(S)
    np.testing.assert_array_equal(rows[0], probs[s, act])
    np.testing.assert_array_equal(rows[1], idx[s, act])
    np.testing.assert_array_equal(rows[2], r[s, act])
    again = (np.empty((S, m)), np.empty((S, m), dtype=dtype), np.empty(S))
    kd.ell_extract(probs, idx, r, act, *again)
    for got, want in zip(again, rows):
        np.testing.assert_array_equal(got, want)
    py = (np.empty((S, m)), np.empty((S, m), dtype=dtype), np.empty(S))
    kd.ell_extract.py_func(probs, idx, r, act, *py)
    for got, want in zip(py, rows):
        np.testing.assert_array_equal(got, want)


def test_ties_go_to_the_lowest_action_everywhere():
    P, r, V, _ = _model(6, S=5, A=2)
    P = np.concatenate([P[:, :1], P[:, :1], P[:, 1:]], axis=1)     # actions 0 and 1 identical
    r = np.concatenate([r[:, :1], r[:, :1], r[:, 1:] - 5.0], axis=1)
    S = P.shape[0]
    probs, idx = _ell(P)
    V_out, act = np.empty(S), np.full(S, -1, dtype=np.int64)
    kd.ell_bellman(probs, idx, r, 0.9, V, V_out, act, *_no_rows(probs.shape[2], np.int64))
    np.testing.assert_array_equal(act, 0)
    Q = _q_ref(P, r, 0.9, V)
    act2 = np.full(S, -1, dtype=np.int64)
    kd.greedy_max(Q, V, np.empty(S), act2)
    np.testing.assert_array_equal(act2, 0)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_policy_backups_and_matvecs_match_dense_reference(dtype):
    P, r, V, rng = _model(7, S=17, A=3)
    probs, idx = _ell(P, dtype)
    S, A, m = probs.shape
    act = rng.integers(0, A, size=S)
    ref = _q_ref(P, r, 0.7, V)[np.arange(S), act]
    p, ix, rp = np.empty((S, m)), np.empty((S, m), dtype=dtype), np.empty(S)
    kd.ell_extract(probs, idx, r, act, p, ix, rp)
    for kern, args in ((kd.ell_policy_backup, (probs, idx, r, 0.7, act, V)),
                       (kd.row_backup, (p, ix, rp, 0.7, V))):
        out = np.empty(S)
        lo, hi = kern(*args, out)
        np.testing.assert_allclose(out, ref, rtol=1e-13, atol=1e-13)
        assert (lo, hi) == pytest.approx(((ref - V).min(), (ref - V).max()), abs=1e-12)
    P_act = P[np.arange(S), act]
    y = np.empty(S)
    kd.row_matvec(p, ix, 0.7, V, y)
    np.testing.assert_allclose(y, V - 0.7 * P_act @ V, rtol=1e-13, atol=1e-13)
    pi = rng.dirichlet(np.ones(A), size=S)
    pi[0] = [1.0, 0.0, 0.0]                                  # zero weights are skipped
    kd.ell_policy_matvec(probs, idx, pi, 0.7, V, y)
    P_pi = np.einsum("sa,sat->st", pi, P)
    np.testing.assert_allclose(y, V - 0.7 * P_pi @ V, rtol=1e-13, atol=1e-13)
    for kern, args in ((kd.ell_policy_backup, (probs, idx, r, 0.7, act, V)),
                       (kd.row_backup, (p, ix, rp, 0.7, V)),
                       (kd.row_matvec, (p, ix, 0.7, V)),
                       (kd.ell_policy_matvec, (probs, idx, pi, 0.7, V))):
        a, b = np.empty(S), np.empty(S)
        kern(*args, a)
        kern.py_func(*args, b)
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-14)


def test_greedy_max_and_macqueen_midpoint_match_formulas():
    rng = np.random.default_rng(8)
    Q, V = rng.random((6, 4)), rng.random(6)
    V_out, act = np.empty(6), np.empty(6, dtype=np.int64)
    lo, hi = kd.greedy_max(Q, V, V_out, act)
    np.testing.assert_array_equal(V_out, Q.max(axis=1))
    np.testing.assert_array_equal(act, Q.argmax(axis=1))
    assert (lo, hi) == ((Q.max(axis=1) - V).min(), (Q.max(axis=1) - V).max())
    assert kd.greedy_max.py_func(Q, V, np.empty(6), np.empty(6, dtype=np.int64)) == (lo, hi)
    mid = np.empty(6)
    bound = kd.macqueen_midpoint(V_out, lo, hi, 0.9, mid)
    np.testing.assert_allclose(mid, V_out + 9.0 * (lo + hi) / 2, rtol=1e-15)
    assert bound == pytest.approx(9.0 * (hi - lo) / 2, rel=1e-15)


def test_greedy_one_hot_equals_models_greedy_with_ties():
    from mdptheory.models.policies import greedy

    rng = np.random.default_rng(9)
    Q = rng.integers(0, 3, size=(50, 5)).astype(float)     # many ties: lowest index wins
    pi = np.full(Q.shape, np.nan)
    kd.greedy_one_hot(Q, pi)
    np.testing.assert_array_equal(pi, greedy(Q))
    pi2 = np.full(Q.shape, np.nan)
    kd.greedy_one_hot.py_func(Q, pi2)
    np.testing.assert_array_equal(pi2, pi)


def test_chunking_covers_every_state_once():
    for n in (1, 2, 31, 32, 33, 64 * 40 + 1, 100_000):
        nc = kd._num_chunks(n)
        bounds = [c * n // nc for c in range(nc + 1)]
        assert 1 <= nc <= n and bounds[0] == 0 and bounds[-1] == n
        assert all(b1 > b0 for b0, b1 in itertools.pairwise(bounds))   # no empty chunk
