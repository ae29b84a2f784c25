"""Theorems' bounds as functions of the problem's parameters, with provenance metadata.

``REGISTRY`` maps a name to a :class:`Bound` (callable; ``.paper``, ``.theorem``,
``.assumptions``, ``.constants`` ...); ``get(name)`` looks one up. Importing this package
registers every paper's bounds (one module per paper).
"""
from . import (
    actor_critic,
    demo_regularized,
    iwocs,
    pmd,
    qlearning,
    robust_linear,
    stepmix,
    subpo,
    ucbvi,
)
from .base import REGISTRY, Bound, get, register
from .qlearning import qlearning_bernstein_regret, qlearning_hoeffding_regret, qlearning_regret
from .ucbvi import ucbvi_bf_regret, ucbvi_ch_regret, ucbvi_regret

__all__ = [
    "REGISTRY",
    "Bound",
    "actor_critic",
    "demo_regularized",
    "get",
    "iwocs",
    "pmd",
    "qlearning",
    "qlearning_bernstein_regret",
    "qlearning_hoeffding_regret",
    "qlearning_regret",
    "register",
    "robust_linear",
    "stepmix",
    "subpo",
    "ucbvi",
    "ucbvi_bf_regret",
    "ucbvi_ch_regret",
    "ucbvi_regret",
]
