"""Where experiments come from (built-ins, search path, entry points, paths), name clashes,
and bounds.register's idempotence."""
import importlib
import json
import subprocess
import sys
import textwrap

import pytest

from mdptheory import experiments_registry as registry
from mdptheory.bounds import base as bounds_base
from mdptheory.cli import main
from mdptheory.testing.processes import source_env

USER_EXPERIMENT = textwrap.dedent('''
    """User experiment: a constant curve."""
    import pandas as pd
    from mdptheory.analysis import info
    from ._helper import LEVEL

    CONFIG = dict(n=5, seeds=2)
    SMALL = dict(CONFIG, n=3)

    def run(config, seed):
        return pd.DataFrame({"k": range(1, config["n"] + 1), "y": LEVEL + seed})

    def verdict(results):
        return info(paper="User (2024)", theorem="Obs 1", claim="y level",
                    measured=results["y"].mean())

    def plot(results, path):
        return []
''')


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "flat.py").write_text(USER_EXPERIMENT)
    (d / "_helper.py").write_text("LEVEL = 3\n")
    monkeypatch.delenv("MDPTHEORY_EXPERIMENTS", raising=False)
    monkeypatch.chdir(tmp_path)
    return d


def test_search_path_adds_to_the_built_ins(user_dir, monkeypatch):
    names = registry.list_experiments(user_dir)
    assert "flat" in names and "ucbvi_regret" in names
    monkeypatch.setenv("MDPTHEORY_EXPERIMENTS", str(user_dir))
    entries = registry.catalogue()
    assert entries["flat"].origin == "search path" and entries["flat"].file == \
        user_dir / "flat.py"
    assert entries["ucbvi_regret"].origin == "built-in"
    assert entries["ucbvi_regret"].module == "mdptheory.experiments.ucbvi_regret"


def test_a_local_experiments_folder_does_not_replace_the_built_ins(user_dir):
    local = user_dir.parent / "experiments"
    local.mkdir()
    (local / "other.py").write_text(USER_EXPERIMENT)
    names = registry.list_experiments()
    assert "ucbvi_regret" in names and "other" not in names     # not searched unless asked


def test_a_user_experiment_with_a_built_in_name_is_an_error_naming_both(user_dir):
    (user_dir / "ucbvi_regret.py").write_text(USER_EXPERIMENT)
    with pytest.raises(registry.NameClash) as info:
        registry.catalogue("experiment", user_dir)
    message = str(info.value)
    assert str(user_dir / "ucbvi_regret.py") in message
    assert str(registry.builtin_experiments_dir() / "ucbvi_regret.py") in message
    # by path it is not ambiguous
    entry = registry.find(str(user_dir / "ucbvi_regret.py"))
    assert entry.origin == "path" and entry.file == user_dir / "ucbvi_regret.py"


def test_run_a_user_experiment_by_path_from_outside_the_repository(user_dir, capsys):
    assert main(["run", str(user_dir / "flat.py"), "--size", "small", "--backend", "process",
                 "--workers", "2", "--out", "res", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "flat: small size, 2 seeds, 2 runs computed" in out
    verdict = json.loads((user_dir.parent / "res" / "flat" / "verdict.json").read_text())
    assert verdict["experiment"] == "flat" and verdict["claims"][0]["outcome"] == "info"
    sweep = json.loads((user_dir.parent / "res" / "flat" / "sweep.json").read_text())
    assert sweep["experiment_origin"] == "path" and sweep["code"]["experiment_helpers"] != "-"


def test_cli_lists_user_experiments_beside_the_built_ins_in_a_subprocess(user_dir):
    proc = subprocess.run([sys.executable, "-m", "mdptheory.cli", "list", "--experiments-dir",
                           str(user_dir)], capture_output=True, text=True, timeout=120,
                          env=source_env(), cwd=user_dir.parent, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "ucbvi_regret" in proc.stdout and "flat" in proc.stdout
    assert f"[search path: {user_dir / 'flat.py'}]" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "mdptheory.cli", "run", "flat", "--size",
                           "small", "--backend", "serial", "--out", "res", "--quiet",
                           "--experiments-dir", str(user_dir)], capture_output=True, text=True,
                          timeout=120, env=source_env(), cwd=user_dir.parent, check=False)
    assert proc.returncode == 0 and "2 runs computed" in proc.stdout, proc.stderr


def test_entry_points_add_experiments(user_dir, tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "thirdparty"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "exp.py").write_text(USER_EXPERIMENT.replace("from ._helper import LEVEL",
                                                        "LEVEL = 7"))
    dist = tmp_path / "site" / "thirdparty-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mdptheory.experiments]\ntp_flat = thirdparty.exp\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    entries = registry.catalogue()
    assert entries["tp_flat"].origin == "entry point"
    assert entries["tp_flat"].file == pkg / "exp.py"
    module = registry.load_experiment("tp_flat")
    assert module.__name__ == "thirdparty.exp" and module.LEVEL == 7
    (dist / "entry_points.txt").write_text("[mdptheory.experiments]\nbc_rate = thirdparty.exp\n")
    with pytest.raises(registry.NameClash, match="bc_rate.*built-in.*entry point"):
        registry.catalogue()


def test_built_in_experiments_load_under_one_name():
    import mdptheory.experiments.bc_rate as direct

    assert registry.load_experiment("bc_rate") is direct
    assert registry.load_module_from_path(registry.find("bc_rate").file) is direct
    assert registry.load(registry.find("bc_rate").locator) is direct


def test_helper_files_follow_imports_within_the_folder(user_dir):
    (user_dir / "_helper.py").write_text("from . import _deeper\nLEVEL = 3\n")
    (user_dir / "_deeper.py").write_text("import os\n")
    (user_dir / "_unrelated.py").write_text("")
    assert registry.helper_files(user_dir / "flat.py") == [user_dir / "_deeper.py",
                                                           user_dir / "_helper.py"]
    scaling = registry.find("demo_regularized_scaling").file
    assert registry.helper_files(scaling, "mdptheory.experiments") == \
        [scaling.parent / "bc_rate.py"]


# ----------------------------------------------------------------------------- bounds.register


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(bounds_base, "REGISTRY", dict(bounds_base.REGISTRY))
    return bounds_base.REGISTRY


META = {"paper": "P", "theorem": "T1", "quantity": "q", "variable": "K", "exponent": 0.5}
MODULE = textwrap.dedent('''
    from mdptheory.bounds.base import register

    @register("test_bound_xyz", paper="P", theorem="T1", quantity="q", variable="K",
              exponent=0.5)
    def my_bound(K):
        return K ** 0.5
''')


def test_reimporting_or_reloading_a_bound_module_is_a_no_op(clean_registry, tmp_path,
                                                            monkeypatch):
    (tmp_path / "bound_mod_xyz.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("bound_mod_xyz")
    first = clean_registry["test_bound_xyz"]
    importlib.reload(mod)                                     # a new function object
    assert clean_registry["test_bound_xyz"] is first and mod.my_bound is first
    sys.modules.pop("bound_mod_xyz")
    importlib.import_module("bound_mod_xyz")                  # imported afresh
    assert clean_registry["test_bound_xyz"] is first
    sys.modules.pop("bound_mod_xyz")


def test_a_different_function_under_a_taken_name_is_an_error(clean_registry):
    def my_bound(K):
        return K ** 0.5

    bounds_base.register("test_bound_abc", **META)(my_bound)
    with pytest.raises(ValueError, match="'test_bound_abc' is already registered by"):
        def my_bound(K):  # same name, other body
            return 2 * K ** 0.5

        bounds_base.register("test_bound_abc", **META)(my_bound)

    def other(K):
        return K ** 0.5

    with pytest.raises(ValueError, match="already registered"):
        bounds_base.register("test_bound_abc", **META)(other)
    with pytest.raises(ValueError, match="different metadata"):
        bounds_base.register("test_bound_abc", **dict(META, exponent=1.0))(
            clean_registry["test_bound_abc"].fn)
