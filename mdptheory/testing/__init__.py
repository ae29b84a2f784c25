"""Testing helpers shared by ``tests/`` and ``proofs_check/``: hypothesis strategies
(:mod:`mdptheory.testing.strategies`) and the ``ci`` / ``fuzz`` profiles
(:mod:`mdptheory.testing.profiles`, :func:`examples`)."""
from . import profiles, strategies
from .profiles import examples, load_profile

__all__ = ["examples", "load_profile", "profiles", "strategies"]
