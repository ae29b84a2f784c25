"""The README's tour runs as written, and the top-level API exposes what the issue names."""
import re
from pathlib import Path

import numpy as np
import pytest

import mdptheory as mt

ROOT = Path(__file__).resolve().parents[1]


def test_readme_opens_with_demo_and_test_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    assert [line.split()[0:2] for line in first_block.strip().splitlines()] == [
        ["make", "demo"], ["make", "test"]]


def test_readme_tour_runs(capsys):
    code = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[0]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "d-RRMDP optimum, KL, lam=0.1: 1.345" in out    # independent reference: 1.3452


def test_public_names():
    for name in ("FiniteHorizonMDP", "DiscountedMDP", "LinearMDP", "worst_case_mean",
                 "regularized_worst_case_mean"):
        assert hasattr(mt, name)
    from mdptheory import solvers
    for name in ("backward_induction", "evaluate_policy", "value_iteration", "policy_iteration",
                 "modified_policy_iteration", "solve_lp", "robust_backward_induction",
                 "robust_evaluate_policy", "regularized_robust_backward_induction",
                 "regularized_robust_evaluate_policy", "soft_backward_induction",
                 "evaluate_static", "occupancy_measure"):
        assert callable(getattr(solvers, name))


def test_evaluate_policy_and_static_dispatch_on_model_kind():
    from mdptheory import envs, solvers
    fin = envs.garnet(5, 2, 2, H=4, rng=1)
    disc = envs.garnet(5, 2, 2, gamma=0.9, rng=1)
    pi_f = np.full((4, 5, 2), 0.5)
    pi_d = np.full((5, 2), 0.5)
    assert solvers.evaluate_policy(fin, pi_f).V.shape == (5, 5)
    vd = solvers.evaluate_policy(disc, pi_d).V
    P_pi = np.einsum("sa,sat->st", pi_d, disc.P)
    np.testing.assert_allclose(vd, np.linalg.solve(np.eye(5) - 0.9 * P_pi, (pi_d * disc.r).sum(1)),
                               atol=1e-12)
    other = envs.garnet(5, 2, 2, gamma=0.9, rng=2)
    np.testing.assert_allclose(solvers.evaluate_static(disc, pi_d, other.P).V,
                               solvers.evaluate_policy(other.replace(r=disc.r), pi_d).V, atol=1e-12)
    with pytest.raises(TypeError, match="mdp must be a FiniteHorizonMDP, DiscountedMDP or LinearMDP"):
        solvers.evaluate_policy("x", pi_d)


def test_lazy_exports_resolve():
    import mdptheory.algorithms as algorithms
    import mdptheory.envs as envs
    for module in (algorithms, envs):
        for name in module.__all__:
            obj = getattr(module, name)
            assert name in ("SIMULATED_ACTIONS",) + tuple(getattr(module, "_EXPORTS", ())) \
                or callable(obj) and not isinstance(obj, type(mt)), name
    from mdptheory.envs import windy_walk as W     # a module, as the experiments use it
    assert callable(W.windy_walk) and hasattr(W, "REFERENCE")
    assert len(mt.bounds.REGISTRY) >= 40          # every paper's bounds are registered
