"""Issue 12 (model validation): accepted probability rows are renormalised in float64, empty
dimensions, complex and reduced-precision input, and integer action arrays as policies."""
import numpy as np
import pytest

from mdptheory import solvers
from mdptheory.models import (
    DiscountedMDP,
    FiniteHorizonMDP,
    LinearMDP,
    SparseTransitions,
    deterministic,
    uniform,
    validate_policy,
)


def _rows(rng, shape, S):
    return rng.dirichlet(np.ones(S), size=shape)


def _row_error(x):
    return float(np.abs(np.asarray(x).sum(axis=-1) - 1.0).max())


# ----------------------------------------------------------------------------- renormalisation


def test_rows_inside_the_tolerance_are_renormalised_everywhere():
    rng = np.random.default_rng(1)
    S, A, H, d = 5, 3, 2, 2
    off = 1 + 9e-9                                     # inside the 1e-8 tolerance
    P = _rows(rng, (S, A), S) * off
    rho0 = np.full(S, 1 / S) * off
    disc = DiscountedMDP(P, rng.random((S, A)), 0.9, rho0)
    fin = FiniteHorizonMDP(np.broadcast_to(P, (H, S, A, S)), rng.random((H, S, A)), rho0)
    stat = FiniteHorizonMDP.stationary(P, rng.random((S, A)), H, rho0)
    sparse = SparseTransitions.from_dense(P)
    probs = sparse.probs * off
    sparse2 = SparseTransitions(sparse.indices, probs, S)
    pi = validate_policy(uniform(S, A) * off, (S, A))
    lin = LinearMDP(_rows(rng, (S, A), d) * off, _rows(rng, (H, d), S) * off,
                    rng.random((H, d)) * 0.5, rho0)
    for x in (disc.P, disc.rho0, fin.P, fin.rho0, stat.P, sparse.probs, sparse2.probs, pi,
              lin.phi, lin.mu, lin.rho0):
        assert _row_error(x) <= 4e-16
    # the caller's arrays are untouched
    assert _row_error(P) > 8e-9


def test_vi_and_pi_agree_at_gamma_0_9999_on_rows_at_the_tolerance():
    """Regression (issue 12): rows summing to 1 + 9e-9 were stored as given; at gamma = 0.9999
    value iteration and policy iteration then differed by ~0.3-0.7 while VI claimed 1e-8."""
    rng = np.random.default_rng(0)
    S, A = 6, 2
    P = _rows(rng, (S, A), S)
    r = rng.random((S, A))
    mdp = DiscountedMDP(P * (1 + 9e-9), r, 0.9999)
    vi = solvers.value_iteration(mdp, tol=1e-8)
    pi = solvers.policy_iteration(mdp)
    assert np.abs(vi.V - pi.V).max() <= vi.error_bound + 1e-9
    # both solve the model whose rows are the given ones divided by their sums
    exact = np.linalg.solve(np.eye(S) - 0.9999 * (P / P.sum(-1, keepdims=True))[
        np.arange(S), pi.pi.argmax(1)], r[np.arange(S), pi.pi.argmax(1)])
    np.testing.assert_allclose(pi.V, exact, rtol=1e-10)


def test_float32_input_is_accepted_and_renormalised_in_float64():
    rng = np.random.default_rng(2)
    S, A = 60, 3
    P32 = rng.dirichlet(np.ones(S), size=(S, A)).astype(np.float32)
    P32 /= P32.sum(-1, keepdims=True)                  # normalised in float32: off by ~1e-7
    assert _row_error(P32.astype(np.float64)) > 1e-8
    r = rng.random((S, A)).astype(np.float32)
    mdp = DiscountedMDP(P32, r, 0.9)
    assert mdp.P.dtype == np.float64 and _row_error(mdp.P) <= 4e-16
    expected = P32.astype(np.float64) / P32.astype(np.float64).sum(-1, keepdims=True)
    np.testing.assert_array_equal(mdp.P, expected)
    fin = FiniteHorizonMDP.stationary(P32, r, 3, np.full(S, 1 / S, dtype=np.float32))
    assert _row_error(fin.rho0) <= 4e-16
    assert _row_error(SparseTransitions.from_dense(P32).probs) <= 4e-16
    # float64 input is still held to 1e-8; a float32 row off by far more is still refused
    with pytest.raises(ValueError, match=r"P\[0, 0\] sums to .*tolerance 1e-08"):
        DiscountedMDP(P32.astype(np.float64) * (1 + 2e-8), r, 0.9)
    bad = P32.copy()
    bad[0, 0] *= np.float32(1.01)
    with pytest.raises(ValueError, match=r"P\[0, 0\] sums to 1\.00999.*tolerance 7\.15256e-06"):
        DiscountedMDP(bad, r, 0.9)


# ----------------------------------------------------------------------------- rough edges


def test_empty_dimensions_are_named_errors():
    with pytest.raises(ValueError, match=r"H = 0, expected H >= 1"):
        FiniteHorizonMDP(np.zeros((0, 2, 2, 2)), np.zeros((0, 2, 2)), np.ones(2) / 2)
    with pytest.raises(ValueError, match=r"A = 0, expected A >= 1"):
        FiniteHorizonMDP(np.zeros((2, 2, 0, 2)), np.zeros((2, 2, 0)), np.ones(2) / 2)
    with pytest.raises(ValueError, match=r"S = 0, expected S >= 1"):
        DiscountedMDP(np.zeros((0, 2, 0)), np.zeros((0, 2)), 0.9)
    with pytest.raises(ValueError, match=r"S = 0, expected S >= 1"):
        FiniteHorizonMDP.stationary(np.zeros((0, 2, 0)), np.zeros((0, 2)), 3, np.zeros(0))
    with pytest.raises(ValueError, match=r"A = 0, expected A >= 1"):
        DiscountedMDP(np.zeros((2, 0, 2)), np.zeros((2, 0)), 0.9)
    with pytest.raises(ValueError, match=r"expected S >= 1 states"):
        LinearMDP(np.zeros((0, 2, 2)), np.zeros((1, 2, 0)), np.zeros((1, 2)), np.zeros(0))


def test_complex_input_is_a_type_error():
    P = np.full((2, 2, 2), 0.5)
    r = np.zeros((2, 2))
    with pytest.raises(TypeError, match="P must be real, got complex"):
        DiscountedMDP(P.astype(complex), r, 0.9)
    with pytest.raises(TypeError, match="r must be real, got complex"):
        DiscountedMDP(P, r + 1j, 0.9)
    with pytest.raises(TypeError, match="rho0 must be real"):
        FiniteHorizonMDP.stationary(P, r, 2, [0.5 + 0j, 0.5])
    mdp = DiscountedMDP(P, r, 0.9)
    with pytest.raises(TypeError, match="pi must be real"):
        solvers.evaluate_policy(mdp, uniform(2, 2) + 0j)


def test_integer_action_arrays_are_deterministic_policies():
    rng = np.random.default_rng(3)
    H, S, A = 3, 4, 3
    fin = FiniteHorizonMDP(_rows(rng, (H, S, A), S), rng.random((H, S, A)), np.ones(S) / S)
    acts = rng.integers(0, A, size=(H, S))
    v_int = solvers.evaluate_policy(fin, acts).V
    v_hot = solvers.evaluate_policy(fin, deterministic(acts, A)).V
    np.testing.assert_array_equal(v_int, v_hot)
    # (S,) integer actions are used at every step, as an (S, A) policy is
    np.testing.assert_array_equal(solvers.evaluate_policy(fin, acts[0]).V,
                                  solvers.evaluate_policy(fin, deterministic(acts[0], A)).V)
    disc = DiscountedMDP(_rows(rng, (S, A), S), rng.random((S, A)), 0.8)
    np.testing.assert_allclose(solvers.evaluate_policy(disc, acts[0]).V,
                               solvers.evaluate_policy(disc, deterministic(acts[0], A)).V,
                               rtol=1e-14)
    np.testing.assert_allclose(solvers.bellman_policy(disc, acts[1], np.zeros(S)),
                               disc.r[np.arange(S), acts[1]], rtol=1e-15)
    with pytest.raises(ValueError, match=r"pi\[1, 2\] is 3, expected an action in \[0, 2\]"):
        bad = acts.copy()
        bad[1, 2] = 3
        solvers.evaluate_policy(fin, bad)
    with pytest.raises(ValueError, match=r"integer actions of shape \(4,\), got integer array "
                                         r"of shape \(3, 4\)"):
        solvers.evaluate_policy(disc, acts)


def test_policy_shape_errors_name_the_expected_shapes_and_uniform_is_refused():
    rng = np.random.default_rng(4)
    fin = FiniteHorizonMDP.stationary(_rows(rng, (3, 2), 3), rng.random((3, 2)), 2,
                                      np.ones(3) / 3)
    with pytest.raises(ValueError, match=r"pi must be action probabilities of shape \(2, 3, 2\) "
                                         r"or integer actions of shape \(2, 3\), got shape "
                                         r"\(2, 3, 3\)"):
        solvers.evaluate_policy(fin, np.full((2, 3, 3), 1 / 3))
    with pytest.raises(TypeError, match=r"got the string 'uniform'; for the uniform policy pass "
                                        r"mdptheory\.models\.uniform\(2, 3, 2\)"):
        solvers.evaluate_policy(fin, "uniform")
