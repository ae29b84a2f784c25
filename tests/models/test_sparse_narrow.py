"""SparseTransitions.narrow_indices: the int32 copy the backup kernels gather with."""
import numpy as np
import pytest

from mdptheory.models import SparseTransitions


def test_narrow_indices_equal_indices_as_read_only_int32_made_once():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 7, size=(7, 2, 3))
    probs = rng.dirichlet(np.ones(3), size=(7, 2))
    P = SparseTransitions(indices=idx, probs=probs, num_states=7)
    narrow = P.narrow_indices
    assert narrow.dtype == np.int32
    np.testing.assert_array_equal(narrow, P.indices)
    assert P.narrow_indices is narrow                 # cached
    with pytest.raises(ValueError):
        narrow[0, 0, 0] = 1                           # read-only like the model's arrays
