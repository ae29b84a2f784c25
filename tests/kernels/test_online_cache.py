"""Kernels behind the compiled episode loops: the evaluation cache's hash index against a plain
FIFO list of keys, the sparse refresh of the empirical model against the dense formula, and the
incremental UCBVI-CH plan (with its clip shortcut) against the full plan when rewards are
negative."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdptheory.algorithms import UCBVI
from mdptheory.kernels import online as kon
from mdptheory.kernels import optimistic as ko
from mdptheory.runner import Episode
from mdptheory.runner.online import _reach, _support
from mdptheory.testing.strategies import finite_mdps


def _tally(C, H, S):
    return (np.zeros(3), np.array([0, 0, 0, 1], dtype=np.int64),
            np.zeros((C, H, S), dtype=np.int8), np.zeros(C, dtype=np.int64), np.zeros(C),
            np.zeros((H + 1, S)), kon.cache_index(C))


def _check_index(tally):
    """Every filled ring slot is in the index once and is found by probing from its home."""
    _, cnt, _, hashes, _, _, index = tally
    mask = index.shape[0] - 1
    assert sorted(index[index != 0].tolist()) == list(range(1, cnt[1] + 1))
    for slot in range(cnt[1]):
        j = kon._index_home(hashes[slot], mask)
        while index[j] != slot + 1:
            assert index[j] != 0, f"slot {slot} unreachable from its home"
            j = (j + 1) & mask


@settings(max_examples=30, deadline=None)
@given(mdp=finite_mdps(max_S=4, max_A=3, max_H=3), C=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1))
def test_indexed_cache_decides_as_a_fifo_list(mdp, C, seed):
    # tables from a small pool: hits, misses and evictions; a ring of C slots in an index of
    # 2 C - 4 C positions, so probe runs and backward shifts happen
    rng = np.random.default_rng(seed)
    H, S, A = mdp.H, mdp.S, mdp.A
    P, r, rho0 = (np.ascontiguousarray(x) for x in (mdp.P, mdp.r, mdp.rho0))
    succ, n_succ, p_succ = _support(P)
    reach = _reach(P, rho0)
    pool = rng.integers(0, A, size=(int(rng.integers(1, 3 * C + 2)), H, S))
    tally = _tally(C, H, S)
    fifo, evaluations = [], 0
    for i in rng.integers(0, len(pool), size=60):
        act = np.ascontiguousarray(pool[i])
        key = act.tobytes()
        if key not in fifo:
            evaluations += 1
            fifo.append(key)
            if len(fifo) > C:
                fifo.pop(0)
        tally[1][3] = 1
        kon.tally_episode(P, r, rho0, succ, n_succ, p_succ, *reach, *tally, act)
        expected = kon.deterministic_value(P, succ, n_succ, r, act, rho0, np.zeros((H + 1, S)))
        assert tally[0][1] == expected
        assert tally[1][0] == evaluations
        _check_index(tally)


def test_indexed_cache_over_both_kinds_of_policy_decides_as_a_fifo_list():
    # tally_any_policy: deterministic tables and stochastic policies share one ring
    rng = np.random.default_rng(3)
    H, S, A, C = 3, 4, 3, 5
    P = rng.random((H, S, A, S)) * (rng.random((H, S, A, S)) < 0.6)
    P[..., 0] += 0.1
    P /= P.sum(-1, keepdims=True)
    r, rho0 = rng.random((H, S, A)), np.full(S, 1.0 / S)
    succ, n_succ, p_succ = _support(P)
    reach = _reach(P, rho0)
    det = [np.eye(A)[rng.integers(0, A, size=(H, S))] for _ in range(6)]
    sto = [rng.dirichlet(np.ones(A), size=(H, S)) for _ in range(6)]
    pool = det + sto
    tally = _tally(C, H, S)
    kinds, skeys = np.zeros(C, dtype=np.int64), np.zeros((C, H, S, A))
    act_buf = np.zeros((H, S), dtype=np.int64)
    fifo, evaluations = [], 0
    for i in rng.integers(0, len(pool), size=200):
        pi = np.ascontiguousarray(pool[i])
        key = (b"d" + pi.argmax(-1).tobytes()) if i < len(det) else pi.tobytes()
        if key not in fifo:
            evaluations += 1
            fifo.append(key)
            if len(fifo) > C:
                fifo.pop(0)
        v = kon.tally_any_policy(P, r, rho0, succ, n_succ, p_succ, *reach, *tally, pi, kinds,
                                 skeys, act_buf)
        assert v == kon.policy_value(P, r, pi, rho0, np.zeros((H + 1, S)))
        assert tally[1][0] == evaluations
        _check_index(tally)


@pytest.mark.parametrize("marks", [False, True], ids=["no-marks", "pair-marks"])
@pytest.mark.parametrize("per_step", [False, True], ids=["pooled", "per-step"])
def test_sparse_refresh_of_the_empirical_model_equals_the_dense_formula(per_step, marks):
    """Random episodes over few states (pairs repeat within an episode, at the next step and
    later), with and without the pair marks that refresh each distinct pair once (pooled
    counts G = 1; per-step counts G = H ignore them)."""
    H, S, A = 6, 4, 2
    G = H if per_step else 1
    rng = np.random.default_rng(G)
    n_sa, r_sum = np.zeros((G, S, A)), np.zeros((G, S, A))
    n_sas, P_hat = np.zeros((G, S, A, S)), np.zeros((G, S, A, S))
    n_s, r_hat = np.zeros((H + 1, S)), np.zeros((G, S, A))
    succ, n_succ = np.zeros((G, S, A, S), dtype=np.int64), np.zeros((G, S, A), dtype=np.int64)
    pmark = np.zeros((S, A), dtype=np.uint8) if marks else None
    for _ in range(300):
        s = rng.integers(0, S, size=H + 1)
        a = rng.integers(0, A, size=H)
        ko.record_episode(s, a, rng.random(H), n_sa, n_sas, r_sum, n_s, P_hat, r_hat, succ,
                          n_succ, pmark)
        if marks:
            assert not pmark.any()
    with np.errstate(divide="ignore", invalid="ignore"):
        dense = np.where(n_sa[..., None] > 0, n_sas * (1.0 / n_sa)[..., None], 0.0)
        dense_r = np.where(n_sa > 0, r_sum * (1.0 / n_sa), 0.0)
    np.testing.assert_array_equal(P_hat.view(np.int64), dense.view(np.int64))
    np.testing.assert_array_equal(r_hat.view(np.int64), dense_r.view(np.int64))
    assert (n_succ == (n_sas > 0).sum(-1)).all()


def test_incremental_plan_with_negative_rewards_equals_the_full_plan():
    # S = 2, A = 1, H = 2, pooled counts. Episodes 0 -> 1 -> 1 with rewards (1, -1), and
    # 1 -> 1 -> 1 with rewards (-1, -1), so that state 1 is visited more: its bonus b1 < 1 and
    # V_1(1) = -1 + b1 < 0, while the pair of state 0 has r_hat + b0 = 1 + b0 >= 2 = v_max[0]
    # but 1 + b0 + V_1(1) < 2. The clip shortcut must not be taken there (V_1 < 0).
    n0, n1 = 10, 24
    unit = UCBVI(2, 1, 2, 100, stage_dependent=False)._coef_ch
    kw = {"stage_dependent": False, "bonus_scale": 3.8 / unit}          # b0 = 1.2, b1 = 0.5
    inc, full = UCBVI(2, 1, 2, 100, **kw), UCBVI(2, 1, 2, 100, **kw)
    episodes = ([Episode(np.array([1, 1, 1]), np.zeros(2, dtype=np.int64),
                         np.array([-1.0, -1.0]))] * n1
                + [Episode(np.array([0, 1, 1]), np.zeros(2, dtype=np.int64),
                           np.array([1.0, -1.0]))] * n0)
    for ep in episodes:
        inc.update(ep)
        full.stats.add(ep)
        ko.refresh_hoeffding_bonus(ep.s, ep.a, full.stats.n_sa, full._coef_ch,
                                   full.bonus_values_ch)
        full._plan()
        for name in ("Q", "V", "_act"):
            np.testing.assert_array_equal(getattr(inc, name), getattr(full, name))
    b = inc.bonus_values_ch[0, :, 0]
    assert b[0] >= 1.0 > b[1] and inc.V[1, 1] < 0 and inc.Q[0, 0, 0] < inc.v_max[0]
