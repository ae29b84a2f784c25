"""The shared hypothesis strategies build valid objects, honour their flags, reach their edge
cases, and reject bad arguments eagerly."""
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, find, given

from mdptheory.models import DiscountedMDP, FiniteHorizonMDP, LinearMDP, SparseTransitions
from mdptheory.testing import examples
from mdptheory.testing import strategies as mst

FAST = examples(200, suppress_health_check=[HealthCheck.too_slow])


def is_distribution(p, axis=-1):
    p = np.asarray(p)
    return bool((p >= 0).all() and np.allclose(p.sum(axis=axis), 1.0, atol=1e-12))


# ---------------------------------------------------------------------------- model strategies

@FAST
@given(mst.finite_mdps(max_S=5, max_A=3, max_H=4))
def test_finite_mdps_are_valid_and_within_the_size_bounds(mdp):
    assert isinstance(mdp, FiniteHorizonMDP)
    assert 1 <= mdp.S <= 5 and 1 <= mdp.A <= 3 and 1 <= mdp.H <= 4
    assert mdp.P.shape == (mdp.H, mdp.S, mdp.A, mdp.S) and mdp.r.shape == (mdp.H, mdp.S, mdp.A)
    assert is_distribution(mdp.P) and is_distribution(mdp.rho0)
    assert ((mdp.r >= 0) & (mdp.r <= 1)).all()


@FAST
@given(mst.finite_mdps(max_S=4, deterministic=True, stationary=True, rewards="binary"))
def test_finite_mdps_flags_are_honoured(mdp):
    assert set(np.unique(mdp.P)) <= {0.0, 1.0} and is_distribution(mdp.P)
    assert set(np.unique(mdp.r)) <= {0.0, 1.0}
    assert all(np.array_equal(mdp.P[h], mdp.P[0]) for h in range(mdp.H))


@FAST
@given(mst.discounted_mdps(max_S=6, max_A=4, min_gamma=0.5, max_gamma=0.95))
def test_discounted_mdps_are_valid_with_gamma_in_range(mdp):
    assert isinstance(mdp, DiscountedMDP) and not mdp.is_sparse
    assert 1 <= mdp.S <= 6 and 1 <= mdp.A <= 4
    assert 0.5 <= mdp.gamma <= 0.95
    assert is_distribution(mdp.P) and ((mdp.r >= 0) & (mdp.r <= 1)).all()


@examples(100)
@given(mst.discounted_mdps(max_S=5, sparse=True, rewards="zero"))
def test_sparse_discounted_mdps_store_the_same_kernel(mdp):
    assert isinstance(mdp.P, SparseTransitions)
    assert is_distribution(mdp.P.to_dense()) and (mdp.r == 0).all()


@FAST
@given(mst.linear_mdps(max_S=5, max_A=3, max_d=3, max_H=3))
def test_linear_mdps_are_d_rectangular_with_rewards_in_unit_interval(mdp):
    assert isinstance(mdp, LinearMDP)
    assert 1 <= mdp.S <= 5 and 1 <= mdp.A <= 3 and 1 <= mdp.d <= 3 and 1 <= mdp.H <= 3
    assert is_distribution(mdp.phi) and is_distribution(mdp.mu)
    assert ((mdp.r >= -1e-12) & (mdp.r <= 1 + 1e-12)).all()     # <phi, theta>, to rounding
    assert is_distribution(mdp.to_finite().P)


def test_model_strategies_reach_their_edge_cases():
    # find() raises if no example satisfies the predicate, so each line shows a case is reached
    one_hot = find(mst.finite_mdps(), lambda m: m.S >= 3 and (m.P.max(axis=-1) == 1).all())
    assert (one_hot.P.max(axis=-1) == 1).all()
    sparse_rows = find(mst.finite_mdps(deterministic=False),
                       lambda m: m.S >= 4 and ((m.P > 0).sum(-1) == 2).any())
    assert ((sparse_rows.P > 0).sum(-1) == 2).any()
    assert (find(mst.finite_mdps(), lambda m: m.S >= 2 and (m.r == 0).all()).r == 0).all()
    point = find(mst.finite_mdps(), lambda m: m.S >= 3 and m.rho0.max() == 1.0)
    assert point.rho0.max() == 1.0
    assert find(mst.discounted_mdps(), lambda m: m.gamma == 0.99).gamma == 0.99
    hard_agg = find(mst.linear_mdps(), lambda m: m.d >= 2 and (m.phi.max(-1) == 1).all())
    assert (hard_agg.phi.max(-1) == 1).all()


def test_model_strategies_are_reproducible_for_a_fixed_hypothesis_seed():
    # the arrays are a function of the drawn seed: the same draws give the same arrays
    first = find(mst.finite_mdps(), lambda m: m.S == 4 and m.A == 3 and m.H == 2)
    again = find(mst.finite_mdps(), lambda m: m.S == 4 and m.A == 3 and m.H == 2)
    np.testing.assert_array_equal(first.P, again.P)
    np.testing.assert_array_equal(first.r, again.r)


# ------------------------------------------------------------------------ vectors and policies

@FAST
@given(st.integers(1, 8).flatmap(lambda S: st.tuples(st.just(S), mst.value_vectors(S, 3.0,
                                                                                      min_value=-1.0))))
def test_value_vectors_have_shape_and_range(args):
    S, V = args
    assert V.shape == (S,) and V.dtype == np.float64
    assert ((V >= -1.0) & (V <= 3.0)).all()


@FAST
@given(st.integers(1, 8).flatmap(lambda S: st.tuples(st.just(S), mst.edge_value_vectors(S))))
def test_edge_value_vectors_have_shape_and_range(args):
    S, V = args
    assert V.shape == (S,) and np.isfinite(V).all()
    assert ((V >= 0.0) & (V <= 10.0)).all()


def test_value_strategies_produce_ties_constants_and_one_hot_vectors():
    ties = find(mst.value_vectors(5), lambda v: len(np.unique(v)) == 2 and v.max() < 10)
    assert len(np.unique(ties)) == 2
    assert len(np.unique(find(mst.value_vectors(5), lambda v: np.ptp(v) == 0))) == 1
    spike = find(mst.value_vectors(5), lambda v: (v == 0).sum() == 4 and v.max() == 10)
    assert spike.max() == 10
    assert np.ptp(find(mst.edge_value_vectors(6), lambda v: np.ptp(v) == 0 and v[0] > 0)) == 0


@FAST
@given(st.integers(1, 7).flatmap(lambda S: st.tuples(st.just(S), mst.distributions(S))))
def test_distributions_are_probability_vectors(args):
    S, p = args
    assert p.shape == (S,) and is_distribution(p)


@FAST
@given(st.integers(1, 7).flatmap(
    lambda S: st.tuples(st.just(S), mst.distributions(S, full_support=True))))
def test_full_support_distributions_are_bounded_away_from_zero(args):
    S, p = args
    assert is_distribution(p) and p.min() >= 0.01 / S - 1e-15


def test_distributions_include_one_hot_and_sparse_support():
    assert find(mst.distributions(5), lambda p: p.max() == 1.0).max() == 1.0
    sparse = find(mst.distributions(6), lambda p: 1 < (p > 0).sum() < 6)
    assert 1 < (sparse > 0).sum() < 6


@FAST
@given(st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 4)).flatmap(
    lambda HSA: st.tuples(st.just(HSA), mst.policies(*HSA))))
def test_policies_have_probability_rows(args):
    (H, S, A), pi = args
    assert pi.shape == (H, S, A) and is_distribution(pi)


@FAST
@given(st.tuples(st.integers(1, 5), st.integers(1, 4)).flatmap(
    lambda SA: st.tuples(st.just(SA), mst.discounted_policies(*SA, deterministic=True))))
def test_deterministic_discounted_policies_are_one_hot(args):
    (S, A), pi = args
    assert pi.shape == (S, A) and is_distribution(pi)
    assert (pi.max(axis=1) == 1).all()


# --------------------------------------------------------------- robustness / regularisation

@FAST
@given(mst.divergences().flatmap(lambda div: st.tuples(st.just(div), mst.radii(div))))
def test_radii_lie_in_the_divergence_range(args):
    divergence, radius = args
    assert divergence in ("tv", "kl", "chi2")
    assert 0.0 <= radius <= mst.MAX_RADIUS[divergence]


@FAST
@given(mst.lams(), mst.lams(min_value=0.5, max_value=2.0))
def test_lams_lie_in_range(lam, lam_narrow):
    assert 1e-2 <= lam <= 1e2
    assert 0.5 <= lam_narrow <= 2.0


def test_radii_and_lams_reach_their_edges():
    assert find(mst.radii("tv"), lambda x: x == 0.0) == 0.0
    assert find(mst.radii("tv"), lambda x: x == 1.0) == 1.0
    assert find(mst.radii(), lambda x: x == 1.0) == 1.0
    assert find(mst.lams(), lambda x: x < 0.05) < 0.05
    assert find(mst.lams(), lambda x: x > 50) > 50
    assert {find(mst.divergences(), lambda d, k=k: d == k) for k in ("tv", "kl", "chi2")} == \
        {"tv", "kl", "chi2"}


# ------------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("make,exc,match", [
    (lambda: mst.finite_mdps(max_S=0), ValueError, "max_S must be >= 1, got 0"),
    (lambda: mst.finite_mdps(rewards="gauss"), ValueError, "rewards must be one of"),
    (lambda: mst.discounted_mdps(min_gamma=0.9, max_gamma=0.5), ValueError,
     "min_gamma=0.9 must be <= max_gamma=0.5"),
    (lambda: mst.discounted_mdps(max_gamma=1.0), ValueError, "max_gamma must be < 1"),
    (lambda: mst.linear_mdps(max_d=0), ValueError, "max_d must be >= 1, got 0"),
    (lambda: mst.value_vectors(0), ValueError, "S must be >= 1, got 0"),
    (lambda: mst.value_vectors(3, 1.0, min_value=2.0), ValueError,
     "min_value=2.0 must be <= max_value=1.0"),
    (lambda: mst.edge_value_vectors(3, 1.0, min_value=2.0), ValueError, "min_value=2.0"),
    (lambda: mst.distributions(2.5), TypeError, "S must be an integer"),
    (lambda: mst.policies(0, 2, 2), ValueError, "H must be >= 1, got 0"),
    (lambda: mst.discounted_policies(2, 0), ValueError, "A must be >= 1, got 0"),
    (lambda: mst.radii("hellinger"), ValueError, "divergence 'hellinger' is unknown"),
    (lambda: mst.radii("tv", max_radius=-1.0), ValueError, "max_radius must be >= 0.0"),
    (lambda: mst.lams(min_value=0.0), ValueError, "min_value must be > 0.0"),
    (lambda: mst.lams(2.0, 1.0), ValueError, "min_value=2.0 must be <= max_value=1.0"),
])
def test_strategies_reject_bad_arguments_when_called(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
