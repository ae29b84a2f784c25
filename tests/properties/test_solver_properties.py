"""Property tests of the exact solvers on random models (hypothesis strategies from
mdptheory.testing.strategies): the issue's list beyond what proofs_check/foundation.py checks."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdptheory.models.policies import uniform
from mdptheory.solvers import (
    backward_induction,
    regularized_robust_backward_induction,
    robust_backward_induction,
    soft_backward_induction,
)
from mdptheory.solvers.discounted import bellman
from mdptheory.testing import examples
from mdptheory.testing import strategies as mst

pytestmark = pytest.mark.property
SETTINGS = examples(60)


@SETTINGS
@given(mst.finite_mdps(max_S=4, max_A=3, max_H=3), mst.divergences(),
       st.lists(st.floats(1e-3, 1e3), min_size=3, max_size=3))
def test_regularized_robust_value_is_monotone_in_lam_and_below_nominal(mdp, div, lams):
    lams = sorted(lams)
    nominal = backward_induction(mdp).V
    values = [regularized_robust_backward_induction(mdp, div, lam).V for lam in lams]
    for lower, higher in zip(values, values[1:]):
        assert np.all(lower <= higher + 1e-9)
    assert np.all(values[-1] <= nominal + 1e-9)


@SETTINGS
@given(mst.finite_mdps(max_S=4, max_A=3, max_H=3), mst.divergences())
def test_regularized_robust_value_tends_to_nominal_as_lam_grows(mdp, div):
    nominal = backward_induction(mdp).V
    # the penalty lam D(q||p) forces q -> p at rate 1/lam: gap O(H * span(V)^2 / lam)
    gap = np.abs(regularized_robust_backward_induction(mdp, div, 1e6).V - nominal).max()
    assert gap <= 1e-4 * mdp.H ** 3


@SETTINGS
@given(mst.linear_mdps(max_S=4, max_A=3, max_d=3, max_H=3), mst.divergences(),
       st.floats(0.0, 0.5))
def test_d_rectangular_robust_value_equals_tabular_value_with_worst_factors(lin, div, radius):
    """With the worst-case factors mu* of each step (one per factor, shared by all (s, a)),
    the tabular kernel P_h = phi mu*_h gives back the d-rectangular robust value; and the
    (s,a)-rectangular set around the tabular form is at least as pessimistic."""
    from mdptheory.solvers import evaluate_policy, robust_evaluate_policy
    sol = robust_backward_induction(lin, div, radius)
    res = robust_evaluate_policy(lin, sol.pi, div, radius)
    np.testing.assert_allclose(res.V, sol.V, atol=1e-9)
    tab = lin.to_finite()
    under_worst = evaluate_policy(tab.replace(P=res.P_worst), sol.pi).V
    np.testing.assert_allclose(under_worst, sol.V, atol=1e-8)
    if div == "tv":   # phi-mixtures of TV balls lie inside the TV ball of the mixture
        sa_rect = robust_evaluate_policy(tab, sol.pi, div, radius).V
        assert np.all(sa_rect <= sol.V + 1e-9)


@SETTINGS
@given(mst.finite_mdps(max_S=4, max_A=3, max_H=4))
def test_soft_backward_induction_tends_to_hard_as_lam_vanishes(mdp):
    hard = backward_induction(mdp).V
    ref = uniform(mdp.H, mdp.S, mdp.A)
    for lam in (1e-1, 1e-3):
        soft = soft_backward_induction(mdp, ref, lam).V
        # lam log sum_a (1/A) exp(Q/lam) is in [max Q - lam log A, max Q] at every step
        assert np.all(soft <= hard + 1e-9)
        assert np.all(hard - soft <= lam * mdp.H * np.log(mdp.A) + 1e-9)


@SETTINGS
@given(mst.discounted_mdps(max_S=5, max_A=3), st.data())
def test_bellman_operator_is_monotone(mdp, data):        # Puterman 2005, Lemma 6.1.2
    V1 = data.draw(mst.value_vectors(mdp.S, max_value=1 / (1 - mdp.gamma)))
    bump = data.draw(mst.value_vectors(mdp.S, max_value=1.0))
    assert np.all(bellman(mdp, V1) <= bellman(mdp, V1 + bump) + 1e-12)
