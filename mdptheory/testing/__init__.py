"""Testing helpers shared by ``tests/`` and ``proofs_check/``: hypothesis strategies
(:mod:`mdptheory.testing.strategies`)."""
from . import strategies

__all__ = ["strategies"]
