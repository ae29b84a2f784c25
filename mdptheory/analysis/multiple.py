"""Multiple testing: refutations survive only if they survive Holm's correction within each
paper's family of tests (docs/verdicts.md).

About a hundred tests at level 0.05 would give about five false refutations. An experiment's
verdicts are corrected with Holm's step-down procedure within each paper (the family: every
claim of that paper in the experiment that carries a refutation p-value), which keeps the
probability of any false refutation in a family at most 0.05. A refuted claim whose p-value
does not survive becomes inconclusive. Deterministic counterexamples (p = 0) always survive.
"""
from __future__ import annotations

from collections import defaultdict

from .bound_test import ALPHA
from .verdict import Verdict


def holm(p_values, alpha: float = ALPHA) -> list[bool]:
    """Holm's step-down rejections for ``p_values`` at family-wise level ``alpha``."""
    p = [float(v) for v in p_values]
    order = sorted(range(len(p)), key=lambda i: p[i])
    reject = [False] * len(p)
    m = len(p)
    for rank, i in enumerate(order):
        if p[i] <= alpha / (m - rank):
            reject[i] = True
        else:
            break
    return reject


def correct(verdicts: list[Verdict], alpha: float = ALPHA) -> list[Verdict]:
    """Apply Holm within each paper's claims; returns the verdicts, in order, with refutations
    that do not survive turned inconclusive. Idempotent."""
    families = defaultdict(list)
    for i, v in enumerate(verdicts):
        if v.outcome != "info" and v.p_value is not None:
            families[v.paper].append(i)
    out = list(verdicts)
    for idx in families.values():
        rejects = holm([verdicts[i].p_value for i in idx], alpha)
        m = len(idx)
        for i, rej in zip(idx, rejects):
            v = verdicts[i]
            if v.outcome == "refuted" and not rej:
                out[i] = v.with_(
                    outcome="inconclusive",
                    reason=(f"the violation is not significant after Holm's correction over "
                            f"{m} tests of this paper (p = {v.p_value:.3g}); " + v.reason),
                    needs=v.needs or "more seeds")
    return out


def family_count(verdicts: list[Verdict]) -> tuple[int, int]:
    """(number of tests with a refutation p-value, number of paper families among them)."""
    tests = [v for v in verdicts if v.outcome != "info" and v.p_value is not None]
    return len(tests), len({v.paper for v in tests})


__all__ = ["correct", "family_count", "holm"]
