"""Property tests for action masks and signed rewards (issue 15): on random masked models with
rewards of any sign, every discounted solver agrees with the unmasked twin in which each masked
action is a copy of an available one (duplicating an action changes no optimal value), never
picks a masked action, and reports Q = -inf there."""
import numpy as np
from hypothesis import given

from mdptheory import solvers
from mdptheory.models import DiscountedMDP
from mdptheory.testing import examples
from mdptheory.testing import strategies as mst


def _twin(mdp: DiscountedMDP) -> DiscountedMDP:
    P, r = np.array(mdp.dense_P()), np.array(mdp.r)
    first = np.argmax(mdp.mask, axis=1)
    for s, a in zip(*np.nonzero(~mdp.mask)):
        P[s, a], r[s, a] = P[s, first[s]], r[s, first[s]]
    return DiscountedMDP(P, r, mdp.gamma, mdp.rho0)


@examples(40)
@given(mst.discounted_mdps(max_S=5, max_A=3, max_gamma=0.95, rewards="signed", masked=True))
def test_masked_solvers_match_the_duplicated_action_twin(mdp):
    if mdp.mask is None:
        return
    ref = solvers.policy_iteration(_twin(mdp)).V
    scale = 1.0 + np.abs(ref).max()
    for sol in (solvers.value_iteration(mdp, tol=1e-9), solvers.policy_iteration(mdp),
                solvers.modified_policy_iteration(mdp, tol=1e-9)):
        assert np.abs(sol.V - ref).max() <= 1e-8 * scale
        assert (sol.pi[~mdp.mask] == 0).all()
        assert np.isneginf(sol.Q[~mdp.mask]).all() and np.isfinite(sol.Q[mdp.mask]).all()


@examples(20)
@given(mst.discounted_mdps(max_S=5, max_A=3, max_gamma=0.95, rewards="signed", masked=True,
                           sparse=True))
def test_masked_sparse_models_match_their_dense_copy(mdp):
    dense = DiscountedMDP(mdp.dense_P(), mdp.r, mdp.gamma, mdp.rho0, mask=mdp.mask)
    a, b = solvers.policy_iteration(mdp), solvers.policy_iteration(dense)
    assert np.abs(a.V - b.V).max() <= 1e-9 * (1.0 + np.abs(b.V).max())
