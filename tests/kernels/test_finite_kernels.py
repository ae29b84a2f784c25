"""Compiled kernels agree with their pure-Python bodies; sampling is seeded and unbiased."""
import numpy as np
import pytest

from mdptheory.kernels import backward as kb
from mdptheory.kernels import sampling as ks
from mdptheory.solvers.finite import occupancy_measure
from mdptheory.testing.concentration import FALSE_ALARM, bernstein_halfwidth


def _rand(seed, H=3, S=4, A=3):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    return P, rng.random((H, S, A)), rng.dirichlet(np.ones(A), size=(H, S)), rng.dirichlet(np.ones(S))


@pytest.mark.parametrize("name", ["backward_induction", "evaluate_policy"])
def test_compiled_equals_python(name):
    P, r, pi, _ = _rand(0)
    outs = []
    for fn in (getattr(kb, name), getattr(kb, name).py_func):
        V = np.zeros((4, 4))
        Q = np.empty((3, 4, 3))
        args = (P, r, V, Q) if name == "backward_induction" else (P, r, pi, V, Q)
        fn(*args)
        outs.append((V, Q))
    np.testing.assert_allclose(outs[0][0], outs[1][0], atol=1e-14)
    np.testing.assert_allclose(outs[0][1], outs[1][1], atol=1e-14)


def test_soft_kernel_compiled_equals_python():
    P, r, pi, _ = _rand(1)
    res = []
    for fn in (kb.soft_backward_induction, kb.soft_backward_induction.py_func):
        V, Q, p = np.zeros((4, 4)), np.empty((3, 4, 3)), np.empty((3, 4, 3))
        fn(P, r, pi, 0.3, V, Q, p)
        res.append((V, p))
    np.testing.assert_allclose(res[0][0], res[1][0], atol=1e-13)
    np.testing.assert_allclose(res[0][1], res[1][1], atol=1e-13)


def _sample(fn, seed, K=50, bern=False):
    P, r, pi, rho0 = _rand(2)
    s = np.empty((K, 4), np.int64)
    a = np.empty((K, 3), np.int64)
    rew = np.empty((K, 3))
    fn(P, r, pi, rho0, np.random.default_rng(seed), bern, s, a, rew)
    return s, a, rew


def test_sampling_same_seed_same_episodes_compiled_or_not():
    for bern in (False, True):
        x = _sample(ks.sample_episodes, 11, bern=bern)
        y = _sample(ks.sample_episodes, 11, bern=bern)
        z = _sample(ks.sample_episodes.py_func, 11, bern=bern)
        for u, v, w in zip(x, y, z):
            np.testing.assert_array_equal(u, v)
            np.testing.assert_array_equal(u, w)
    assert not np.array_equal(_sample(ks.sample_episodes, 11)[0], _sample(ks.sample_episodes, 12)[0])


def test_sampling_frequencies_match_exact_occupancy():
    from mdptheory.models import FiniteHorizonMDP
    P, r, pi, rho0 = _rand(2)
    K = 200_000
    s, a, _ = _sample(ks.sample_episodes, 5, K=K)
    n_sa, n_sas, r_sum = np.zeros((3, 4, 3)), np.zeros((3, 4, 3, 4)), np.zeros((3, 4, 3))
    ks.accumulate_counts(s, a, np.zeros((K, 3)), n_sa, n_sas, r_sum)
    d = occupancy_measure(FiniteHorizonMDP(P, r, rho0), pi)
    # a frequency of K iid episodes, each an indicator of known variance d (1 - d): Bernstein's
    # inequality, false alarm <= 1e-6 over the 36 cells
    t = bernstein_halfwidth(K, d * (1 - d), 1.0, FALSE_ALARM / d.size)
    assert np.all(np.abs(n_sa / K - d) <= t + 1e-12)
    assert n_sas.sum() == K * 3 and np.array_equal(n_sas.sum(-1), n_sa)


def test_draw_falls_back_to_last_positive_index():
    p = np.array([0.3, 0.3, 0.0])
    assert ks.draw(p, 0.99) == 1 and ks.draw.py_func(p, 0.99) == 1
    assert ks.draw(np.array([0.0, 1.0]), 0.0) == 1
