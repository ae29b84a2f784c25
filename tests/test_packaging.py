"""Installable anywhere: a wheel (and an editable install) in a fresh virtual environment runs
``mdptheory list``, ``run`` and ``check`` from an empty folder, with the built-in experiments
and proof checks imported from the installed package as mdptheory.experiments /
mdptheory.proofs_check, and nothing from the source tree.

To stay fast, the fresh environment reuses this environment's dependencies through a .pth
file (the mdptheory package itself is installed with --no-deps), and the wheel is built
offline (--no-build-isolation) from a copy of the source tree.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import mdptheory

ROOT = Path(mdptheory.__file__).resolve().parents[1]
_SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "results", "*.egg-info",
                               "__pycache__", ".hypothesis", ".benchmarks", ".ruff_cache",
                               "*.nbi", "*.nbc", "figures")


def _copy_source(dest: Path) -> Path:
    shutil.copytree(ROOT, dest, ignore=_SKIP)
    return dest


def _pip(*args, cwd=None) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _fresh_venv(path: Path) -> Path:
    """A venv without pip whose site-packages also sees this environment's packages."""
    venv.create(path, with_pip=False)
    site = Path(glob.glob(str(path / "lib" / "python*" / "site-packages"))[0])
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "_mdptheory_test_deps.pth").write_text("\n".join(deps) + "\n")
    return path / "bin" / "python"


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "MDPTHEORY_EXPERIMENTS", "MDPTHEORY_PROOFS", "VIRTUAL_ENV")}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return env


def _run(argv, cwd, env=None):
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env or _clean_env(),
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{argv}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


WHERE = """
import json, sys
import mdptheory, mdptheory.experiments, mdptheory.proofs_check
from mdptheory import experiments_registry as registry
import mdptheory.experiments.ucbvi_regret as direct
loaded = registry.load_experiment("ucbvi_regret")
print(json.dumps(dict(
    package=mdptheory.__file__, experiments=mdptheory.experiments.__file__,
    proofs=mdptheory.proofs_check.__file__, experiment=loaded.__file__,
    same_module=loaded is direct, name=loaded.__name__,
    top_level=[m for m in ("experiments", "proofs_check") if m in sys.modules],
    path=sys.path)))
"""


def _where(python, cwd) -> dict:
    return json.loads(_run([python, "-c", WHERE], cwd).strip().splitlines()[-1])


def test_wheel_in_a_fresh_venv_runs_list_run_and_check_from_an_empty_folder(tmp_path):
    src = _copy_source(tmp_path / "src")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", str(src),
         "-w", str(tmp_path / "dist"))
    wheel = next((tmp_path / "dist").glob("mdptheory-*.whl"))
    shutil.rmtree(src)                                 # nothing of the source tree survives
    python = _fresh_venv(tmp_path / "venv")
    _pip("--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel))
    work = tmp_path / "empty"
    work.mkdir()

    where = _where(python, work)
    venv_dir = str(tmp_path / "venv")
    for key in ("package", "experiments", "proofs", "experiment"):
        assert where[key].startswith(venv_dir), (key, where[key])
    assert where["same_module"] and where["name"] == "mdptheory.experiments.ucbvi_regret"
    assert where["top_level"] == [] and str(ROOT) not in where["path"]

    script = tmp_path / "venv" / "bin" / "mdptheory"
    listed = _run([script, "list"], work)
    assert "ucbvi_regret" in listed and "foundation" in listed
    _run([script, "run", "ucbvi_regret", "--size", "small", "--seeds", "2", "--quiet"], work)
    verdict = json.loads((work / "results" / "ucbvi_regret" / "verdict.json").read_text())
    assert verdict["seeds"] == 2 and verdict["claims"]
    # the whole module takes ~1 min here (numba compiles every kernel afresh for a new
    # install); a few of its checks show the shipped proof checks run under pytest
    out = _run([script, "check", "foundation", "-k", "strong_duality_kl"], work)
    assert "2 held, 0 broke" in out and "proofs_check/foundation.py::" in out
    assert sorted(p.name for p in work.iterdir()) == ["results"]   # check left no files


def test_editable_install_has_one_import_identity_from_anywhere(tmp_path):
    src = _copy_source(tmp_path / "src")
    python = _fresh_venv(tmp_path / "venv")
    _pip("--python", str(python), "install", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-e", str(src))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for cwd in (elsewhere, src):            # through the editable finder, and from the root
        where = _where(python, cwd)
        assert where["package"] == str(src / "mdptheory" / "__init__.py")
        assert where["experiments"] == str(src / "experiments" / "__init__.py")
        assert where["proofs"] == str(src / "proofs_check" / "__init__.py")
        assert where["same_module"] and where["top_level"] == []
    listed = _run([tmp_path / "venv" / "bin" / "mdptheory", "list"], elsewhere)
    assert "ucbvi_regret" in listed and "foundation" in listed


def test_the_built_in_folder_refuses_a_second_import_name(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import experiments.ucbvi_regret"], cwd=ROOT,
                          capture_output=True, text=True, env=_clean_env(), check=False)
    assert proc.returncode != 0
    assert "import the built-in experiments as mdptheory.experiments.<name>" in proc.stderr


@pytest.mark.parametrize("name", ["experiments", "proofs_check"])
def test_source_checkout_mounts_the_folders_under_mdptheory(name):
    module = __import__(f"mdptheory.{name}", fromlist=["_"])
    assert Path(module.__file__).parent == ROOT / name
