"""Environment for tests that start Python subprocesses."""
from __future__ import annotations

import os
from pathlib import Path


def source_env(**extra: str) -> dict:
    """``os.environ`` with the folder holding this ``mdptheory`` first on ``PYTHONPATH``, so a
    subprocess imports the same copy as the test (not the one an editable install of another
    checkout points at); ``extra`` variables are added."""
    root = str(Path(__file__).resolve().parents[2])
    path = [root, *filter(None, [os.environ.get("PYTHONPATH")])]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path), **extra)


__all__ = ["source_env"]
