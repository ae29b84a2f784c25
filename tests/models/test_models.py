"""Model constructors: validation messages name argument, index and value; arrays are frozen."""
import numpy as np
import pytest

from mdptheory.models import (
    DiscountedMDP,
    FiniteHorizonMDP,
    LinearMDP,
    SparseTransitions,
    deterministic,
    greedy,
)


def _finite_arrays(H=2, S=3, A=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(S), size=(H, S, A)), rng.random((H, S, A)), np.ones(S) / S


def test_finite_model_copies_and_freezes_inputs():
    P, r, rho0 = _finite_arrays()
    mdp = FiniteHorizonMDP(P, r, rho0)
    P[0, 0, 0, 0] = 5.0                      # caller's array changed afterwards
    assert mdp.P[0, 0, 0, 0] != 5.0
    assert (mdp.H, mdp.S, mdp.A) == (2, 3, 2)
    with pytest.raises(ValueError, match="read-only"):
        mdp.P[0, 0, 0, 0] = 1.0


def test_stationary_is_broadcast_over_h():
    P, r, rho0 = _finite_arrays(H=1)
    mdp = FiniteHorizonMDP.stationary(P[0], r[0], 7, rho0)
    assert mdp.P.shape == (7, 3, 2, 3) and mdp.r.shape == (7, 3, 2)
    np.testing.assert_array_equal(mdp.P[6], P[0])


@pytest.mark.parametrize("mutate, message", [
    (lambda P, r, rho0: (P.__setitem__((1, 2, 1, 0), P[1, 2, 1, 0] + 0.07), None),
     r"P\[1, 2, 1\] sums to 1\.07"),
    (lambda P, r, rho0: (P.__setitem__((0, 1, 0, 2), -0.1), None), r"P\[0, 1, 0, 2\] is -0\.1"),
    (lambda P, r, rho0: (r.__setitem__((0, 0, 0), np.nan), None), r"r\[0, 0, 0\] is nan"),
    (lambda P, r, rho0: (P.__setitem__((0, 0, 0, 0), np.inf), None), r"P\[0, 0, 0, 0\] is inf"),
    (lambda P, r, rho0: (rho0.__setitem__(0, 0.9), None), r"rho0 sums to"),
])
def test_finite_model_rejects_bad_values(mutate, message):
    P, r, rho0 = _finite_arrays()
    mutate(P, r, rho0)
    with pytest.raises(ValueError, match=message):
        FiniteHorizonMDP(P, r, rho0)


def test_finite_model_rejects_bad_shapes_and_types():
    P, r, rho0 = _finite_arrays()
    with pytest.raises(ValueError, match=r"r must have shape \(2, 3, 2\)"):
        FiniteHorizonMDP(P, r[0], rho0)
    with pytest.raises(ValueError, match="stationary"):
        FiniteHorizonMDP(P[0], r, rho0)
    with pytest.raises(ValueError, match=r"rho0 must have shape \(3,\)"):
        FiniteHorizonMDP(P, r, np.ones(4) / 4)
    with pytest.raises(ValueError, match="last axis"):
        FiniteHorizonMDP(P[..., :2] / P[..., :2].sum(-1, keepdims=True), r, rho0)
    with pytest.raises(TypeError, match="P must be an array of numbers"):
        FiniteHorizonMDP("abc", r, rho0)
    with pytest.raises(ValueError, match="H must be >= 1, got 0"):
        FiniteHorizonMDP.stationary(P[0], r[0], 0, rho0)
    with pytest.raises(TypeError, match="H must be an integer"):
        FiniteHorizonMDP.stationary(P[0], r[0], 2.5, rho0)


def test_discounted_model_validation():
    P, r, rho0 = _finite_arrays()
    mdp = DiscountedMDP(P[0], r[0], 0.9)
    np.testing.assert_allclose(mdp.rho0, np.ones(3) / 3)
    for gamma, msg in [(1.0, "gamma must be < 1.0"), (-0.1, "gamma must be >= 0.0"),
                       (np.nan, "gamma is nan")]:
        with pytest.raises(ValueError, match=msg):
            DiscountedMDP(P[0], r[0], gamma)
    with pytest.raises(TypeError, match="gamma must be a real number"):
        DiscountedMDP(P[0], r[0], "0.9")
    import scipy.sparse as sp
    with pytest.raises(TypeError, match="SparseTransitions.from_scipy"):
        DiscountedMDP(sp.csr_matrix(P[0].reshape(6, 3)), r[0], 0.9)


def test_sparse_transitions_round_trip():
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(5), size=(5, 2))
    P[P < 0.15] = 0
    P /= P.sum(-1, keepdims=True)
    sp_from_dense = SparseTransitions.from_dense(P)
    np.testing.assert_allclose(sp_from_dense.to_dense(), P, atol=1e-15)
    sp_from_scipy = SparseTransitions.from_scipy(sp_from_dense.to_scipy(), 2)
    np.testing.assert_allclose(sp_from_scipy.to_dense(), P, atol=1e-15)
    assert sp_from_scipy.width == int((P > 0).sum(-1).max())
    mdp = DiscountedMDP(sp_from_scipy, rng.random((5, 2)), 0.5)
    assert mdp.is_sparse and mdp.S == 5 and mdp.A == 2


def test_sparse_transitions_validation():
    idx = np.zeros((2, 1, 2), dtype=np.int64)
    probs = np.full((2, 1, 2), 0.5)
    with pytest.raises(ValueError, match=r"indices\[1, 0, 1\] is 7"):
        bad = idx.copy()
        bad[1, 0, 1] = 7
        SparseTransitions(bad, probs, 2)
    with pytest.raises(TypeError, match="indices must be an integer array"):
        SparseTransitions(idx.astype(float), probs, 2)
    with pytest.raises(ValueError, match=r"probs\[0, 0\] sums to 0\.6"):
        bad = probs.copy()
        bad[0, 0, 1] = 0.1
        SparseTransitions(idx, bad, 2)


def _linear_arrays(S=4, A=2, d=3, H=2, seed=0):
    rng = np.random.default_rng(seed)
    phi = rng.dirichlet(np.ones(d), size=(S, A))
    mu = rng.dirichlet(np.ones(S), size=(H, d))
    theta = rng.random((H, d))
    return phi, mu, theta, np.ones(S) / S


def test_linear_mdp_to_finite_matches_definition():
    phi, mu, theta, rho0 = _linear_arrays()
    lin = LinearMDP(phi, mu, theta, rho0)
    fin = lin.to_finite()
    h, s, a = 1, 2, 0
    np.testing.assert_allclose(fin.P[h, s, a], phi[s, a] @ mu[h], atol=1e-14)
    np.testing.assert_allclose(fin.r[h, s, a], phi[s, a] @ theta[h], atol=1e-14)
    assert (lin.H, lin.S, lin.A, lin.d) == (2, 4, 2, 3)


def test_linear_mdp_rejects_non_d_rectangular_features():
    phi, mu, theta, rho0 = _linear_arrays()
    bad = phi.copy()
    bad[3, 1, 0] = -0.2
    with pytest.raises(ValueError, match=r"d-rectangularity.*phi\[3, 1, 0\] is -0\.2"):
        LinearMDP(bad, mu, theta, rho0)
    bad = phi.copy()
    bad[1, 0] *= 1.1
    with pytest.raises(ValueError, match=r"d-rectangularity.*phi\[1, 0\] sums to 1\.1"):
        LinearMDP(bad, mu, theta, rho0)
    badmu = mu.copy()
    badmu[1, 2] *= 0.5
    with pytest.raises(ValueError, match=r"factor distributions.*mu\[1, 2\] sums to 0\.5"):
        LinearMDP(phi, badmu, theta, rho0)
    with pytest.raises(ValueError, match=r"theta\[0, 1\] is inf"):
        LinearMDP(phi, mu, theta + np.array([[0, np.inf, 0], [0, 0, 0]]), rho0)
    with pytest.raises(ValueError, match=r"mu must have shape \(2, 3, 4\), got \(2, 2, 4\)"):
        LinearMDP(phi, mu[:, :2], theta, rho0)


def test_policy_helpers():
    Q = np.array([[1.0, 3.0, 3.0], [0.0, -1.0, -2.0]])
    np.testing.assert_array_equal(greedy(Q), [[0, 1, 0], [1, 0, 0]])  # ties -> lowest index
    np.testing.assert_array_equal(deterministic(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match=r"actions\[1\] is 3, expected in \[0, 2\]"):
        deterministic(np.array([0, 3]), 3)
