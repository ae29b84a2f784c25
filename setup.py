"""Package list for setuptools (metadata lives in pyproject.toml).

The built-in experiments and proof checks stay at the top of the repository (``experiments/``,
``proofs_check/``) and are installed inside the package as ``mdptheory.experiments`` and
``mdptheory.proofs_check``, never as top-level packages of their own.
"""
from setuptools import find_packages, setup

BUNDLED = {"mdptheory.experiments": "experiments", "mdptheory.proofs_check": "proofs_check"}

setup(packages=find_packages(include=["mdptheory", "mdptheory.*"]) + list(BUNDLED),
      package_dir=BUNDLED)
