"""The tutorial runs as written: its files are extracted from docs/tutorial.md into a folder
outside the repository, checked against the shipped Q-learning, and run through the CLI."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r'```python title="([^"]+)"\n(.*?)```', re.S)


def test_tutorial_files_run_end_to_end(tmp_path):
    files = dict(BLOCK.findall((ROOT / "docs" / "tutorial.md").read_text()))
    assert set(files) == {"my_qlearning.py", "check.py", "my_bound.py", "my_experiment.py"}
    for name, code in files.items():
        (tmp_path / name).write_text(code)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), OPENBLAS_NUM_THREADS="1")
    check = subprocess.run([sys.executable, "check.py"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "same Q-values" in check.stdout
    run = subprocess.run([sys.executable, "-m", "mdptheory.cli", "run", "my_experiment.py",
                          "--size", "small", "--seeds", "2", "--backend", "serial", "--quiet",
                          "--out", "res"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    claims = json.loads((tmp_path / "res" / "my_experiment" / "verdict.json").read_text())
    [claim] = claims["claims"]
    assert claim["outcome"] == "inconclusive" and claim["provenance"] == "paper-recalled"
    assert (tmp_path / "res" / "my_experiment" / "my_experiment.png").stat().st_size > 0
