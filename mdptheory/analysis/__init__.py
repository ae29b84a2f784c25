"""Curves, fits, verdicts and figures: measured quantities against the theorems' bounds.

Verdicts (docs/verdicts.md): :func:`verdict` for a curve against a bound and a rate;
:func:`compare`, :func:`proportion`, :func:`inequality`, :func:`monotone` and :func:`info` for
the other kinds of claim; :func:`correct` for Holm's correction within each paper's family.
"""
from . import bound_test, claims, multiple, rates
from .claims import compare, inequality, info, monotone, proportion
from .engine import verdict
from .multiple import correct
from .plots import figure_paths, plot_curve_vs_bound, save_figure
from .stats import ExponentFit, fit_exponent, log_spaced, mean_band
from .verdict import OUTCOMES, PROVENANCES, Verdict

__all__ = [
    "OUTCOMES",
    "PROVENANCES",
    "ExponentFit",
    "Verdict",
    "bound_test",
    "claims",
    "compare",
    "correct",
    "figure_paths",
    "fit_exponent",
    "inequality",
    "info",
    "log_spaced",
    "mean_band",
    "monotone",
    "multiple",
    "plot_curve_vs_bound",
    "proportion",
    "rates",
    "save_figure",
    "verdict",
]
