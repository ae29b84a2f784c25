"""Curves, fits, verdicts and figures: measured quantities against the theorems' bounds."""
from .plots import figure_paths, plot_curve_vs_bound, save_figure
from .stats import ExponentFit, exponent_consistent, fit_exponent, log_spaced, mean_band, verdict
from .verdict import Verdict

__all__ = [
                    "ExponentFit",
                    "Verdict",
                    "exponent_consistent",
                    "figure_paths",
                    "fit_exponent",
                    "log_spaced",
                    "mean_band",
                    "plot_curve_vs_bound",
                    "save_figure",
                    "verdict",
]
