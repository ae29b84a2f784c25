"""Tolerances for Monte-Carlo checks with a stated false-alarm rate.

A check "the sample mean of n draws is within t of the exact expectation" fails by chance with
some probability; "5 standard errors" states none (and with heavy-tailed draws and a sample
variance it can be far from the Gaussian 6e-7). These half-widths come from concentration
inequalities that hold for any distribution on a bounded interval, so a check using them fails
by chance with probability at most ``delta`` — per coordinate; divide the rate you want by the
number of coordinates checked (union bound), e.g. ``delta = FALSE_ALARM / X.shape[1]``.
"""
from __future__ import annotations

import numpy as np

#: The false-alarm rate a Monte-Carlo check of this project allows per test (or per hypothesis
#: example): union-bounded over the coordinates it checks.
FALSE_ALARM = 1e-6


def bernstein_halfwidth(n: int, variance, width, delta: float) -> np.ndarray:
    """t with P(|mean - E X| >= t) <= delta for the mean of ``n`` iid draws of known
    ``variance`` lying in an interval of length ``width`` (Bernstein's inequality, both tails):
    t = L / (3 n) * width + sqrt((L width / (3 n))^2 + 2 L variance / n), L = log(2 / delta)."""
    L = np.log(2.0 / delta)
    a = L * np.asarray(width, float) / (3.0 * n)
    return a + np.sqrt(a * a + 2.0 * L * np.asarray(variance, float) / n)


def empirical_bernstein_halfwidth(X, width, delta: float) -> np.ndarray:
    """t with P(|mean(X) - E X| > t) <= delta for each column of ``X`` (n >= 2 iid rows; each
    column's values in an interval of length ``width``, a scalar or one per column): the
    empirical Bernstein bound of Maurer & Pontil (2009, Theorem 4) on both tails,
    t = sqrt(2 V_n log(4/delta) / n) + 7 width log(4/delta) / (3 (n - 1)), V_n the unbiased
    sample variance."""
    X = np.asarray(X, float)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X needs at least 2 rows, got {n}")
    L = np.log(4.0 / delta)
    var = X.var(axis=0, ddof=1)
    return np.sqrt(2.0 * var * L / n) + 7.0 * np.asarray(width, float) * L / (3.0 * (n - 1))


__all__ = ["FALSE_ALARM", "bernstein_halfwidth", "empirical_bernstein_halfwidth"]
