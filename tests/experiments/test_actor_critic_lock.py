"""The pre-registered hard combination lock of the actor-critic experiments
(mdptheory/envs/lock.py): exact opening probability against enumeration, and the selection rule."""
import itertools

import numpy as np
import pytest

from mdptheory import envs
from mdptheory.envs import lock


def _brute_open_probability(S, H, A, combo):
    """Enumerate every action sequence of the uniform policy (A^H, each of probability A^-H) on
    the deterministic lock and count those in the open state at the last step."""
    hits = 0
    for seq in itertools.product(range(A), repeat=H):
        s = 0
        for h, a in enumerate(seq):
            if h == H - 1:
                break                           # the state at the last step is s_{H-1}
            if s == S - 1:
                continue                        # absorbing
            s = s + 1 if a == combo[s] else 0
        hits += s == S - 1
    return hits / A ** H


@pytest.mark.parametrize("S,H,A", [(3, 5, 2), (4, 7, 2), (3, 6, 3)])
def test_uniform_open_probability_matches_enumeration(S, H, A):
    combo = np.arange(S - 1) % A
    mdp = envs.combination_lock(S, H, A=A, correct_actions=combo)
    assert lock.uniform_open_probability(mdp) == pytest.approx(
        _brute_open_probability(S, H, A, combo), abs=1e-15)


def test_selection_rule_accepts_the_first_lock_below_the_threshold():
    T = 10_000
    mdp, cands = lock.hard_combination_lock(T, A=3, S_min=10, H_extra=2, rng=0)
    assert [c["S"] for c in cands] == list(range(10, mdp.S + 1))
    assert all(c["H"] == c["S"] + 2 for c in cands)
    assert [c["accepted"] for c in cands] == [False] * (len(cands) - 1) + [True]
    assert all(c["expected_openings"] > 0.01 for c in cands[:-1])
    assert cands[-1]["expected_openings"] <= 0.01
    # far less than once in T: also under the union bound over the H - S + 2 starting steps
    assert T * (mdp.H - mdp.S + 2) * 3.0 ** -(mdp.S - 1) <= 0.02
    # deterministic: the same call gives the same lock
    again, _ = lock.hard_combination_lock(T, A=3, S_min=10, H_extra=2, rng=0)
    np.testing.assert_array_equal(again.P, mdp.P)
    assert "rejected" in lock.describe(cands) and f"S = {mdp.S}" in lock.describe(cands)


def test_selection_rule_bad_input():
    with pytest.raises(ValueError, match="S_max"):
        lock.hard_combination_lock(10 ** 9, A=2, S_min=2, S_max=5)
    with pytest.raises(ValueError, match="A must be >= 2"):
        lock.hard_combination_lock(100, A=1)
    with pytest.raises(TypeError, match="rng"):
        lock.hard_combination_lock(100, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="max_openings"):
        lock.hard_combination_lock(100, max_openings=0.0)
