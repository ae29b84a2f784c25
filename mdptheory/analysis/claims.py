"""Verdicts for claims that are not curves (docs/verdicts.md): paired comparisons, proportions,
deterministic inequalities, monotonicity, and plain measurements.

Every built-in custom check goes through one of these, so that "X beats Y", "safe w.p. >= 1 -
delta", "the identity holds", "non-increasing in m" and "tends to 1" are decided by the same rules
as the rate claims: verified only when the test is informative and agrees, refuted only on a
significant violation, inconclusive otherwise with what would decide it.

Every helper takes ``applies`` / ``applies_reason``: a precondition of the claim that the run
must meet to be informative (e.g. "the learner left the baseline in >= 50% of the episodes",
"the ablation differs from the default"). A run that misses it is inconclusive, never verified.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .bound_test import ALPHA, clopper_pearson
from .rates import MIN_SEEDS
from .verdict import Verdict, check_provenance


def _base(claim, paper, theorem, provenance, note):
    return dict(claim=claim, paper=paper, theorem=theorem,
                provenance=check_provenance(provenance), note=note)


def _precondition(base, applies, applies_reason, **extra):
    """The inconclusive verdict of a run that misses the claim's precondition (or None)."""
    if applies:
        return None
    return Verdict(**base, outcome="inconclusive",
                   reason="the claim's precondition fails in this run: "
                          + (applies_reason or "not met"),
                   needs="an instance or run where the precondition holds", **extra)


def _calibrated(v: Verdict) -> Verdict:
    if v.provenance == "calibrated" and v.outcome == "verified":
        return v.with_(outcome="info", reason="calibrated constants: agreement here cannot "
                                              "verify the theorem; " + v.reason)
    return v


def info(*, claim: str, paper: str, theorem: str, measured=None, provenance: str | None = None,
         note: str = "", reason: str = "a measurement, not a claim") -> Verdict:
    """A measurement reported beside the claims (outcome "info")."""
    m = None if measured is None else float(measured)
    return Verdict(**_base(claim, paper, theorem, provenance, note), outcome="info",
                   kind="info", measured=m, reason=reason)


def compare(differences, *, claim: str, paper: str, theorem: str,
            provenance: str | None = None, direction: str = "greater", threshold: float = 0.0,
            strict: bool = True, min_seeds: int = MIN_SEEDS, alpha: float = ALPHA,
            applies: bool = True, applies_reason: str = "", note: str = "",
            what: str = "the paired difference") -> Verdict:
    """Paired-seed comparison: the claim is mean(differences) > threshold ("greater") or
    < threshold ("less").

    ``differences`` (n_seeds,) holds one paired difference per seed (e.g. regret without resets
    minus regret with them; use log-ratios for "x times larger"). A one-sided t confidence
    bound at 1 - ``alpha`` decides: verified when it clears the threshold in the claimed
    direction, refuted when the opposite one-sided test is significant, inconclusive otherwise
    (with the seeds that would resolve the observed effect). Exact ties (every difference equal
    to the threshold) verify a non-strict claim and never a strict one.
    """
    base = _base(claim, paper, theorem, provenance, note)
    d = np.asarray(differences, dtype=np.float64).ravel()
    if d.size == 0:
        raise ValueError("differences is empty")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"differences[{int(np.flatnonzero(~np.isfinite(d))[0])}] is not finite")
    if direction not in ("greater", "less"):
        raise ValueError(f"direction={direction!r}: expected 'greater' or 'less'")
    pre = _precondition(base, applies, applies_reason, kind="comparison",
                        measured=float(d.mean()), n_seeds=int(d.size))
    if pre is not None:
        return pre
    sign = 1.0 if direction == "greater" else -1.0
    z = sign * (d - threshold)               # claim: mean(z) > 0
    n = d.size
    mean = float(d.mean())
    rel = ">" if direction == "greater" else "<"
    if strict is False:
        rel += "="
    desc = f"{what}: mean {mean:.4g} (n = {n}), claim {rel} {threshold:g}"
    kw = dict(kind="comparison", measured=mean, bound=float(threshold), n_seeds=int(n))
    if np.all(z == 0):
        if strict:
            return Verdict(**base, outcome="inconclusive", reason=f"{desc}: every seed ties "
                           f"exactly; a strict claim cannot be verified on ties", **kw,
                           needs="an instance where the two differ")
        return Verdict(**base, outcome="verified", reason=f"{desc}: exact ties everywhere",
                       p_value=1.0, **kw)
    if np.ptp(z) == 0 and n >= 2:            # deterministic: the same difference on every seed
        ok = z[0] > 0 or (not strict and z[0] >= 0)
        if ok:
            return Verdict(**base, outcome="verified", reason=f"{desc}: the same on every seed",
                           p_value=1.0, **kw)
        return Verdict(**base, outcome="refuted", p_value=0.0,
                       reason=f"{desc}: the same on every seed, against the claim", **kw)
    if n < 2:
        return Verdict(**base, outcome="inconclusive", reason=f"{desc}: one seed",
                       needs=f"seeds >= {min_seeds}", **kw)
    se = float(z.std(ddof=1) / math.sqrt(n))
    tq = float(stats.t.ppf(1 - alpha, n - 1))
    zbar = float(z.mean())
    lo, hi = zbar - tq * se, zbar + tq * se
    p_against = float(stats.t.cdf(zbar / se, n - 1))   # H0: mean(z) >= 0
    ci_txt = (f"{desc}; one-sided {1 - alpha:.0%} bounds of the effect in the claimed direction "
              f"[{lo:.4g}, {hi:.4g}]")
    if n < min_seeds:
        return Verdict(**base, outcome="inconclusive", reason=f"{ci_txt}; only {n} seeds "
                       f"(< {min_seeds})", needs=f"seeds >= {min_seeds}", p_value=p_against,
                       **kw)
    if lo > 0:
        return _calibrated(Verdict(**base, outcome="verified", reason=ci_txt,
                                   p_value=p_against, **kw))
    if hi < 0:
        return Verdict(**base, outcome="refuted", reason=ci_txt + ": significantly against "
                       "the claim", p_value=p_against, **kw)
    n_need = int(math.ceil(n * (tq * se / abs(zbar)) ** 2)) + 1 if zbar != 0 else None
    needs = (f"seeds >= {max(n_need, n + 1)}" if n_need and zbar > 0
             else "a larger effect (the observed difference is not in the claimed direction)"
             if zbar <= 0 else "more seeds")
    return Verdict(**base, outcome="inconclusive", reason=ci_txt + ": not significant",
                   needs=needs, p_value=p_against, **kw)


def proportion(successes: int, n: int, *, claim: str, paper: str, theorem: str,
               at_least: float, provenance: str | None = None, family_size: int = 1,
               alpha: float = ALPHA, applies: bool = True, applies_reason: str = "",
               note: str = "", what: str = "runs meeting the claim") -> Verdict:
    """A claim "the event holds with probability >= ``at_least``" from ``successes`` of ``n``
    independent runs, decided by one-sided Clopper-Pearson bounds at 1 - alpha / family_size
    (Bonferroni over a family of configurations declared in advance).

    Verified when the lower bound is >= at_least (e.g. 0 failures of 59 runs certify 0.95);
    refuted when the upper bound is < at_least; inconclusive otherwise, with the runs needed.
    """
    base = _base(claim, paper, theorem, provenance, note)
    successes, n = int(successes), int(n)
    if n < 1 or not (0 <= successes <= n):
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got successes={successes}, n={n}")
    if not (0.0 < at_least <= 1.0):
        raise ValueError(f"at_least must be in (0, 1], got {at_least!r}")
    if family_size < 1:
        raise ValueError(f"family_size must be >= 1, got {family_size}")
    share = successes / n
    kw = dict(kind="proportion", measured=share, bound=float(at_least), n_seeds=n)
    pre = _precondition(base, applies, applies_reason, **kw)
    if pre is not None:
        return pre
    level = 1.0 - alpha / family_size
    lo, hi = clopper_pearson(successes, n, level)
    fam = f", Bonferroni over {family_size}" if family_size > 1 else ""
    desc = (f"{successes} of {n} {what} ({share:.3g}); Clopper-Pearson {level:.4g} bounds "
            f"[{lo:.4g}, {hi:.4g}]{fam}, claim >= {at_least:g}")
    p = float(stats.binom.cdf(successes, n, at_least))    # P(X <= successes | at_least)
    if lo >= at_least:
        return _calibrated(Verdict(**base, outcome="verified", reason=desc, p_value=p, **kw))
    if hi < at_least:
        return Verdict(**base, outcome="refuted", reason=desc + ": significantly below",
                       p_value=p, **kw)
    need = None
    if successes == n:
        # smallest n' with CP lower bound >= at_least when every run succeeds
        need = int(math.ceil(math.log(1.0 - level) / math.log(at_least))) if at_least < 1 \
            else None
    return Verdict(**base, outcome="inconclusive", reason=desc + ": not decisive",
                   needs=(f"runs >= {need} (all succeeding)" if need else "more runs"),
                   p_value=p, **kw)


def inequality(violation, *, claim: str, paper: str, theorem: str,
               provenance: str | None = None, tol: float = 1e-9, applies: bool = True,
               applies_reason: str = "", note: str = "", what: str = "largest violation",
               n_cases: int | None = None) -> Verdict:
    """A deterministic claim (an identity or inequality that must hold exactly, computed by
    exact DP): ``violation`` holds the amount by which each case violates it (<= 0 when it
    holds). Verified when max(violation) <= tol; one counterexample beyond tol refutes.
    """
    base = _base(claim, paper, theorem, provenance, note)
    v = np.asarray(violation, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("violation is empty")
    if np.isnan(v).any():
        raise ValueError(f"violation[{int(np.flatnonzero(np.isnan(v))[0])}] is NaN")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    worst = float(v.max())
    n = int(n_cases if n_cases is not None else v.size)
    kw = dict(kind="inequality", measured=worst, bound=float(tol), n_seeds=None)
    pre = _precondition(base, applies, applies_reason, **kw)
    if pre is not None:
        return pre
    if worst <= tol:
        return _calibrated(Verdict(**base, outcome="verified", p_value=1.0,
                                   reason=f"{what} {worst:.3g} <= {tol:g} over {n} cases", **kw))
    j = int(np.argmax(v))
    return Verdict(**base, outcome="refuted", p_value=0.0,
                   reason=f"counterexample: {what} {worst:.3g} > {tol:g} (case {j} of {n})",
                   **kw)


def monotone(values, *, claim: str, paper: str, theorem: str, direction: str = "decreasing",
             strict: bool = False, provenance: str | None = None, tol: float = 0.0,
             labels=None, min_seeds: int = MIN_SEEDS, alpha: float = ALPHA,
             applies: bool = True, applies_reason: str = "", note: str = "") -> Verdict:
    """Monotonicity along an ordered parameter.

    ``values`` is (n_steps,) for an exact computation or (n_seeds, n_steps) for seeds.
    Exact values: every successive difference must have the claimed sign (``tol`` of rounding
    allowed; a tie refutes a strict claim). Seeds: each successive step is a paired comparison
    (:func:`compare`, Holm across the steps); verified when every step is significant in the
    claimed direction (strict) or no step goes significantly against it and each step's
    confidence bound stays within ``tol`` (non-strict); refuted when some step goes
    significantly against it.
    """
    base = _base(claim, paper, theorem, provenance, note)
    if direction not in ("decreasing", "increasing"):
        raise ValueError(f"direction={direction!r}: expected 'decreasing' or 'increasing'")
    V = np.asarray(values, dtype=np.float64)
    if V.ndim == 1:
        V = V[None, :]
    if V.ndim != 2 or V.shape[1] < 2:
        raise ValueError(f"values must have >= 2 steps, got shape {np.shape(values)}")
    if not np.all(np.isfinite(V)):
        raise ValueError("values must be finite")
    labels = list(range(V.shape[1])) if labels is None else list(labels)
    sign = -1.0 if direction == "decreasing" else 1.0
    steps = sign * np.diff(V, axis=1)            # claim: steps > 0 (strict) or >= 0
    kw = dict(kind="monotone", measured=float(V.mean(axis=0)[-1]), n_seeds=int(V.shape[0]))
    pre = _precondition(base, applies, applies_reason, **kw)
    if pre is not None:
        return pre
    word = f"strictly {direction}" if strict else ("non-increasing" if direction == "decreasing"
                                                   else "non-decreasing")
    # one row is an exact computation; identical seeds count as exact only with enough of them
    # (two seeds that happen to coincide are not a deterministic algorithm)
    same = bool(np.all(np.ptp(V, axis=0) == 0))
    if V.shape[0] > 1 and same and V.shape[0] < min_seeds:
        return Verdict(**base, outcome="inconclusive", reason=f"only {V.shape[0]} seeds "
                       f"(< {min_seeds}), all identical", needs=f"seeds >= {min_seeds}", **kw)
    exact = V.shape[0] == 1 or same
    if exact:
        s = steps[0]
        bad = s <= tol if strict else s < -tol     # a tie refutes a strict claim
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            return Verdict(**base, outcome="refuted", p_value=0.0, reason=(
                f"not {word}: {V[0, j]:.6g} at {labels[j]} -> {V[0, j + 1]:.6g} at "
                f"{labels[j + 1]}"), **kw)
        return _calibrated(Verdict(**base, outcome="verified", p_value=1.0,
                                   reason=f"{word} over {len(labels)} exact values", **kw))
    n = V.shape[0]
    if n < 2:
        return Verdict(**base, outcome="inconclusive", reason="one seed", needs=f"seeds >= "
                       f"{min_seeds}", **kw)
    mean = steps.mean(axis=0)
    se = steps.std(axis=0, ddof=1) / math.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.where(se > 0, mean / se, np.sign(mean) * np.inf)
    p_against = stats.t.cdf(tstat, n - 1)        # small when a step goes against the claim
    p_for = stats.t.sf(tstat, n - 1)             # small when a step goes with the claim
    k = steps.shape[1]
    order = np.argsort(p_against)
    against = np.zeros(k, dtype=bool)
    for rank, j in enumerate(order):             # Holm across the steps
        if p_against[j] <= alpha / (k - rank):
            against[j] = True
        else:
            break
    if against.any():
        j = int(np.flatnonzero(against)[0])
        return Verdict(**base, outcome="refuted", p_value=float(p_against.min() * k), reason=(
            f"not {word}: the mean goes from {V[:, j].mean():.6g} at {labels[j]} to "
            f"{V[:, j + 1].mean():.6g} at {labels[j + 1]} (significant, Holm over {k} steps)"),
            **kw)
    if n < min_seeds:
        return Verdict(**base, outcome="inconclusive", reason=f"only {n} seeds (< {min_seeds})",
                       needs=f"seeds >= {min_seeds}", **kw)
    tq = stats.t.ppf(1 - alpha / k, n - 1)
    if strict:
        ok = np.all(p_for * k <= alpha)
        why = "every step significant in the claimed direction (Bonferroni over the steps)"
    else:
        ok = np.all(mean - tq * se >= -tol)
        why = f"every step's lower confidence bound >= -{tol:g} (Bonferroni over the steps)"
    if ok:
        return _calibrated(Verdict(**base, outcome="verified", reason=f"{word}: {why}",
                                   p_value=float(min(1.0, p_against.min() * k)), **kw))
    j = int(np.argmax(p_for if strict else -(mean - tq * se)))
    return Verdict(**base, outcome="inconclusive", p_value=float(min(1.0, p_against.min() * k)),
                   reason=f"{word} not established at the step {labels[j]} -> {labels[j + 1]} "
                          f"(mean change {sign * mean[j]:.4g}, se {se[j]:.3g})",
                   needs="more seeds", **kw)


__all__ = ["compare", "inequality", "info", "monotone", "proportion"]
