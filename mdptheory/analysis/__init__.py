"""Curves, fits, verdicts and figures: measured quantities against the theorems' bounds."""
from .plots import figure_paths, plot_curve_vs_bound, save_figure
from .stats import (ExponentFit, exponent_consistent, fit_exponent, log_spaced, mean_band,
                    verdict)
from .verdict import Verdict

__all__ = ["Verdict", "verdict", "log_spaced", "mean_band", "fit_exponent", "ExponentFit",
           "exponent_consistent", "plot_curve_vs_bound", "save_figure", "figure_paths"]
