"""Algorithms from the papers, one module per paper; shared estimators and bonuses in
:mod:`._common`. Online learners expose ``policy()`` / ``update(episode)`` for
:func:`mdptheory.runner.online`."""
from .ucbvi import UCBVI

__all__ = ["UCBVI"]
