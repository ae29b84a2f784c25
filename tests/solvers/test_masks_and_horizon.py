"""Issue 15, items 1-3: any finite reward, action masks, discounted finite horizons with
terminal values. Independent references: brute force over deterministic policies, a plain-Python
backward induction, and the masked model's twin in which every masked action is replaced by a
copy of an available one (duplicating an action changes no optimal value)."""
import itertools

import numpy as np
import pytest

from mdptheory import solvers
from mdptheory.algorithms.ucbvi import UCBVI
from mdptheory.models import (
    DiscountedMDP,
    FiniteHorizonMDP,
    LinearMDP,
    SparseTransitions,
    deterministic,
    rescale_rewards,
    uniform,
)
from mdptheory.runner.online import collect, online


def _random_mask(rng, shape, p_off=0.4):
    mask = rng.random(shape) > p_off
    mask[..., 0] |= ~mask.any(axis=-1)             # every state keeps an action
    return mask


def _twin(P, r, mask):
    """Unmasked twin: each masked (.., s, a) copies the first available action of s."""
    P2, r2 = P.copy(), r.copy()
    first = np.argmax(mask, axis=-1)
    for idx in zip(*np.nonzero(~mask)):
        src = idx[:-1] + (first[idx[:-1]],)
        P2[idx] = P[src]
        r2[idx] = r[src]
    return P2, r2


def _discounted_case(seed, S=5, A=3, gamma=0.9):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S) * 0.5, size=(S, A))
    r = -5.0 + 3.0 * rng.random((S, A))              # all negative: a free self-loop would win
    mask = _random_mask(rng, (S, A))
    return P, r, mask, gamma


def _brute_force_discounted(P, r, gamma, mask):
    S = r.shape[0]
    best = np.full(S, -np.inf)
    choices = [np.flatnonzero(mask[s]) for s in range(S)]
    for acts in itertools.product(*choices):
        acts = np.array(acts)
        V = np.linalg.solve(np.eye(S) - gamma * P[np.arange(S), acts], r[np.arange(S), acts])
        best = np.maximum(best, V)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_discounted_solvers_match_brute_force(seed):
    P, r, mask, gamma = _discounted_case(seed)
    r_in = np.where(mask, r, -np.inf)                  # QuantEcon's way of marking them
    dense = DiscountedMDP(P, r_in, gamma, mask=mask)
    sparse = DiscountedMDP(SparseTransitions.from_dense(P), r_in, gamma, mask=mask)
    v_star = _brute_force_discounted(P, r, gamma, mask)
    results = {"lp": solvers.solve_lp(dense)}
    for name, mdp in (("dense", dense), ("sparse", sparse)):
        results[f"vi-{name}"] = solvers.value_iteration(mdp, tol=1e-10)
        results[f"pi-{name}"] = solvers.policy_iteration(mdp)
        results[f"mpi-{name}"] = solvers.modified_policy_iteration(mdp, tol=1e-10)
    for name, sol in results.items():
        np.testing.assert_allclose(sol.V, v_star, atol=1e-7, err_msg=name)
        assert (sol.pi[~mask] == 0).all(), name
        assert np.isneginf(sol.Q[~mask]).all() and np.isfinite(sol.Q[mask]).all(), name
    np.testing.assert_allclose(solvers.bellman(dense, v_star), v_star, atol=1e-9)
    np.testing.assert_allclose(solvers.bellman(sparse, v_star), v_star, atol=1e-9)
    pe = solvers.evaluate_policy(dense, results["pi-dense"].pi)
    np.testing.assert_allclose(pe.V, v_star, atol=1e-9)
    assert np.isneginf(pe.Q[~mask]).all()
    # the unmasked twin has the same optimum
    P2, r2 = _twin(P, r, mask)
    np.testing.assert_allclose(solvers.policy_iteration(DiscountedMDP(P2, r2, gamma)).V, v_star,
                               atol=1e-9)


def _finite_case(seed, H=3, S=4, A=3):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    r = -2.0 + 4.0 * rng.random((H, S, A))
    mask = _random_mask(rng, (H, S, A))
    return P, r, mask, np.ones(S) / S


def _plain_backward(P, r, mask, gamma, V_T):
    H, S, A = r.shape
    V = np.zeros((H + 1, S))
    V[H] = V_T
    for h in range(H - 1, -1, -1):
        for s in range(S):
            V[h, s] = max(r[h, s, a] + gamma * sum(P[h, s, a, t] * V[h + 1, t]
                                                   for t in range(S))
                          for a in range(A) if mask[h, s, a])
    return V


@pytest.mark.parametrize("seed", [0, 1])
def test_masked_finite_solvers(seed):
    P, r, mask, rho0 = _finite_case(seed)
    mdp = FiniteHorizonMDP(P, r, rho0, mask=mask)
    ref = _plain_backward(P, r, mask, 1.0, np.zeros(4))
    bi = solvers.backward_induction(mdp)
    lp = solvers.solve_lp(mdp)
    np.testing.assert_allclose(bi.V, ref, atol=1e-12)
    np.testing.assert_allclose(lp.V, ref, atol=1e-7)
    for sol in (bi, lp):
        assert (sol.pi[~mask] == 0).all() and np.isneginf(sol.Q[~mask]).all()
    np.testing.assert_allclose(solvers.evaluate_policy(mdp, bi.pi).V, ref, atol=1e-12)
    # robust and soft DP: the twin (masked actions duplicated) has the same values
    P2, r2 = _twin(P, r, mask)
    twin = FiniteHorizonMDP(P2, r2, rho0)
    for div, rad in (("tv", 0.2), ("kl", 0.1)):
        rob = solvers.robust_backward_induction(mdp, div, rad)
        np.testing.assert_allclose(rob.V, solvers.robust_backward_induction(twin, div, rad).V,
                                   atol=1e-10)
        assert (rob.pi[~mask] == 0).all() and np.isneginf(rob.Q[~mask]).all()
        rv = solvers.robust_evaluate_policy(mdp, rob.pi, div, rad)
        np.testing.assert_allclose(rv.V, rob.V, atol=1e-10)
    reg = solvers.regularized_robust_backward_induction(mdp, "chi2", 2.0)
    np.testing.assert_allclose(
        reg.V, solvers.regularized_robust_backward_induction(twin, "chi2", 2.0).V, atol=1e-10)
    ref_pi = mask / mask.sum(-1, keepdims=True)
    soft = solvers.soft_backward_induction(mdp, ref_pi, 0.3)
    assert (soft.pi[~mask] == 0).all()
    np.testing.assert_allclose(soft.V, solvers.soft_backward_induction(twin, ref_pi, 0.3).V,
                               atol=1e-12)
    np.testing.assert_allclose(solvers.soft_evaluate_policy(mdp, soft.pi, ref_pi, 0.3).V,
                               soft.V, atol=1e-10)
    # sampling a feasible policy never plays a masked action
    data = collect(mdp, soft.pi, 200, rng=0)
    assert mask[np.arange(3)[None, :], data.s[:, :3], data.a].all()


def test_mass_on_a_masked_action_and_empty_states_are_named_errors():
    P, r, mask, gamma = _discounted_case(0)
    mdp = DiscountedMDP(P, r, gamma, mask=mask)
    s, a = map(int, np.argwhere(~mask)[0])
    with pytest.raises(ValueError, match=rf"pi\[{s}, {a}\] is 0\.333333, but action {a} is not "
                                         rf"available in state {s}"):
        solvers.evaluate_policy(mdp, uniform(5, 3))
    with pytest.raises(ValueError, match="not available"):
        solvers.bellman_policy(mdp, deterministic(np.full(5, a), 3) if not mask[:, a].all()
                               else uniform(5, 3), np.zeros(5))
    acts = np.zeros(5, dtype=np.int64)
    acts[s] = a
    with pytest.raises(ValueError, match=rf"pi\[{s}, {a}\] is 1, but action {a}"):
        solvers.evaluate_policy(mdp, acts)
    fin = FiniteHorizonMDP.stationary(P, r, 2, np.ones(5) / 5, mask=mask)
    with pytest.raises(ValueError, match=rf"pi\[0, {s}, {a}\] is 0\.333333, but action"):
        solvers.evaluate_policy(fin, uniform(2, 5, 3))
    with pytest.raises(ValueError, match="behaviour policy pi.*not available"):
        collect(fin, uniform(2, 5, 3), 3, rng=0)
    with pytest.raises(ValueError, match="ref_policy.*not available"):
        solvers.soft_backward_induction(fin, uniform(2, 5, 3), 0.5)
    bad = mask.copy()
    bad[3] = False
    with pytest.raises(ValueError, match=r"mask\[3\] is all False: the mask leaves state 3 "
                                         r"without any available action"):
        DiscountedMDP(P, r, gamma, mask=bad)
    bad3 = np.ones((2, 5, 3), dtype=bool)
    bad3[1, 4] = False
    with pytest.raises(ValueError, match=r"mask\[1, 4\] is all False: the mask leaves state 4 "
                                         r"at step 1 without"):
        FiniteHorizonMDP(np.broadcast_to(P, (2, 5, 3, 5)), np.zeros((2, 5, 3)), np.ones(5) / 5,
                         mask=bad3)
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        DiscountedMDP(P, r, gamma, mask=np.full((5, 3), 0.5))
    with pytest.raises(ValueError, match=r"mask must have shape \(5, 3\), got \(3, 5\)"):
        DiscountedMDP(P, r, gamma, mask=np.ones((3, 5), dtype=bool))
    assert DiscountedMDP(P, r, gamma, mask=np.ones((5, 3), dtype=bool)).mask is None


def test_masked_pairs_are_stored_as_self_loops_and_the_callers_arrays_are_untouched():
    P, r, mask, gamma = _discounted_case(1)
    P_nan = P.copy()
    P_nan[~mask] = np.nan                               # garbage there is ignored
    mdp = DiscountedMDP(P_nan, np.where(mask, r, -np.inf), gamma, mask=mask)
    s, a = np.nonzero(~mask)
    np.testing.assert_array_equal(mdp.P[s, a, s], 1.0)
    np.testing.assert_array_equal(mdp.r[~mask], 0.0)
    assert np.isnan(P_nan[~mask]).all() and mask.flags.writeable
    sp = DiscountedMDP(SparseTransitions.from_dense(P), r, gamma, mask=mask)
    np.testing.assert_array_equal(sp.P.to_dense(), mdp.P)


@pytest.mark.parametrize("gamma", [1.0, 0.9, 0.0])
def test_discounted_finite_horizon_with_terminal_values(gamma):
    P, r, mask, rho0 = _finite_case(3, H=4, S=5, A=2)
    V_T = np.linspace(-3.0, 7.0, 5)
    mdp = FiniteHorizonMDP(P, r, rho0, gamma=gamma, V_terminal=V_T)
    full = np.ones_like(mask)
    ref = _plain_backward(P, r, full, gamma, V_T)
    bi = solvers.backward_induction(mdp)
    np.testing.assert_allclose(bi.V, ref, atol=1e-12)
    np.testing.assert_allclose(solvers.solve_lp(mdp).V, ref, atol=1e-7)
    np.testing.assert_allclose(solvers.solve_lp(mdp, polish=True).V, ref, atol=1e-12)
    np.testing.assert_allclose(solvers.evaluate_policy(mdp, bi.pi).V, ref, atol=1e-12)
    # a policy's value from its occupancy measure: sum_h gamma^h <d_h, r_h> + gamma^H <d_H, V_T>
    pi = uniform(4, 5, 2)
    d = solvers.occupancy_measure(mdp, pi)
    d_H = np.einsum("sa,sat->t", d[-1], P[-1])
    v_occ = sum(gamma ** h * (d[h] * r[h]).sum() for h in range(4)) + gamma ** 4 * d_H @ V_T
    assert abs(solvers.evaluate_policy(mdp, pi).value(rho0) - v_occ) < 1e-12
    soft = solvers.soft_backward_induction(mdp, pi, 1e-3)       # -> hard optimum as lam -> 0
    assert np.abs(soft.V - ref).max() < 4 * 1e-3 * np.log(2) + 1e-9
    if gamma == 1.0:
        rob = solvers.robust_backward_induction(mdp, "tv", 0.0)
        np.testing.assert_allclose(rob.V, ref, atol=1e-12)
    else:
        with pytest.raises(ValueError, match="robust DP takes undiscounted"):
            solvers.robust_backward_induction(mdp, "tv", 0.1)
    with pytest.raises(ValueError, match=r"gamma must be <= 1\.0"):
        mdp.replace(gamma=1.5)
    with pytest.raises(ValueError, match=r"V_terminal\[2\] is inf"):
        mdp.replace(V_terminal=np.array([0, 0, np.inf, 0, 0]))
    with pytest.raises(ValueError, match=r"V_terminal must have shape \(5,\)"):
        mdp.replace(V_terminal=np.zeros(4))


def test_any_finite_reward_and_rescale_rewards_maps_values_back():
    P, r, mask, rho0 = _finite_case(4, H=3, S=4, A=3)
    r = 100.0 * r - 7.0
    fin = FiniteHorizonMDP(P, r, rho0, gamma=0.8, V_terminal=np.arange(4.0), mask=mask)
    new, back = rescale_rewards(fin)
    assert new.r.min() >= 0.0 and new.r.max() <= 1.0 and new.mask is not None
    sol, sol_new = solvers.backward_induction(fin), solvers.backward_induction(new)
    np.testing.assert_allclose(back.value(sol_new.V), sol.V, atol=1e-10)
    np.testing.assert_allclose(back.q(sol_new.Q)[mask], sol.Q[mask], atol=1e-10)
    np.testing.assert_array_equal(sol_new.pi, sol.pi)
    Pd, rd, maskd, gamma = _discounted_case(2)
    disc = DiscountedMDP(Pd, 1e3 * rd, gamma, mask=maskd)
    dnew, dback = rescale_rewards(disc)
    np.testing.assert_allclose(dback.value(solvers.policy_iteration(dnew).V),
                               solvers.policy_iteration(disc).V, rtol=1e-12)
    rng = np.random.default_rng(0)
    lin = LinearMDP(rng.dirichlet(np.ones(2), size=(4, 3)), rng.dirichlet(np.ones(4), size=(3, 2)),
                    rng.normal(size=(3, 2)) * 5, np.ones(4) / 4)
    lnew, lback = rescale_rewards(lin)
    assert lnew.r.min() >= -1e-12 and lnew.r.max() <= 1 + 1e-12
    np.testing.assert_allclose(lback.value(solvers.backward_induction(lnew).V),
                               solvers.backward_induction(lin).V, atol=1e-10)


def test_algorithms_check_the_reward_range_their_theorem_needs():
    P, r, _, rho0 = _finite_case(5, H=3, S=4, A=2)
    mdp = FiniteHorizonMDP(P, 3.0 * r, rho0)
    learner = UCBVI(4, 2, 3, 10)
    with pytest.raises(ValueError, match=r"UCBVI: rewards must lie in \[0, 1\] \(Azar et al\. "
                                         r"2017, Theorems 1 and 2\); this model has r\[.*rescale"):
        online(learner, mdp, 10, rng=0)
    unit, _ = rescale_rewards(mdp)
    assert len(online(UCBVI(4, 2, 3, 10), unit, 10, rng=0)) > 0
    with pytest.raises(ValueError, match="undiscounted episodic"):
        online(UCBVI(4, 2, 3, 10), unit.replace(gamma=0.9), 10, rng=0)
    from mdptheory.algorithms.linear_estimation import feature_model
    rng = np.random.default_rng(0)
    lin = LinearMDP(rng.dirichlet(np.ones(2), size=(4, 3)), rng.dirichlet(np.ones(4), size=(3, 2)),
                    rng.normal(size=(3, 2)) * 5, np.ones(4) / 4)
    with pytest.raises(ValueError, match=r"linear-MDP algorithms.*: rewards must lie in "
                                         r"\[0, 1\] \(the d-rectangular"):
        feature_model(lin)
