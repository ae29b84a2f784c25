"""Theorems' bounds as functions of the problem's parameters, with provenance metadata.

``REGISTRY`` maps a name to a :class:`Bound` (callable; ``.paper``, ``.theorem``,
``.assumptions``, ``.constants`` ...); ``get(name)`` looks one up.
"""
from .base import REGISTRY, Bound, get, register
from .ucbvi import ucbvi_bf_regret, ucbvi_ch_regret, ucbvi_regret

__all__ = [
           "REGISTRY",
           "Bound",
           "get",
           "register",
           "ucbvi_bf_regret",
           "ucbvi_ch_regret",
           "ucbvi_regret",
]
