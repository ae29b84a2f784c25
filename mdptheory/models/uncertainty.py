"""Divergences and the uncertainty sets built from them.

For distributions q, p on a finite set S (supp p = {s : p(s) > 0}):

  TV    D(q||p) = 1/2 sum_s |q(s) - p(s)|          (the 1/2 factor is part of the definition;
                                                    q may put mass outside supp p)
  KL    D(q||p) = sum_s q(s) log(q(s) / p(s))       (+inf unless q << p; 0 log 0 = 0)
  chi2  D(q||p) = sum_s (q(s) - p(s))^2 / p(s)      (+inf unless q << p)

Constrained set of radius rho >= 0:  U_rho(p) = {q in simplex(S) : D(q||p) <= rho}.
Regularized form with weight lam >= 0: the penalty lam D(q||p) over the whole simplex.
The inner problems over these sets are solved exactly in :mod:`mdptheory.kernels.robust`.
"""
from __future__ import annotations

import enum

from . import _validate


class Divergence(enum.IntEnum):
    """Divergence codes as used by the numba kernels (tv=0, kl=1, chi2=2)."""

    TV = _validate.DIVERGENCES["tv"]
    KL = _validate.DIVERGENCES["kl"]
    CHI2 = _validate.DIVERGENCES["chi2"]


NAMES = tuple(_validate.DIVERGENCES)  # ('tv', 'kl', 'chi2')


def parse(divergence) -> int:
    """Kernel code of ``divergence``: a :class:`Divergence` member or a name such as 'tv',
    'total_variation', 'kl', 'chi2', 'chi-square' (case-insensitive)."""
    if isinstance(divergence, Divergence):
        return int(divergence)
    return _validate.divergence_code(divergence)


def name(divergence) -> str:
    """Canonical name ('tv', 'kl' or 'chi2') of ``divergence``."""
    return NAMES[parse(divergence)]
