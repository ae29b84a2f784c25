"""Shared fixtures: small random models built from a seed (hypothesis strategies for property
tests live in mdptheory.testing.strategies)."""
import numpy as np
import pytest

from mdptheory.models import FiniteHorizonMDP
from mdptheory.testing import load_profile

load_profile()   # "ci" (derandomized) unless MDPTHEORY_HYPOTHESIS_PROFILE=fuzz


def make_finite_mdp(seed: int, H: int = 3, S: int = 4, A: int = 3, sparse_frac: float = 0.0):
    """Random FiniteHorizonMDP; with sparse_frac > 0 some transitions are zeroed."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    if sparse_frac > 0:
        mask = rng.random(P.shape) < sparse_frac
        mask[..., 0] = False
        P = np.where(mask, 0.0, P)
        P /= P.sum(-1, keepdims=True)
    r = rng.random((H, S, A))
    rho0 = rng.dirichlet(np.ones(S))
    return FiniteHorizonMDP(P, r, rho0)


@pytest.fixture
def finite_mdp_factory():
    return make_finite_mdp
