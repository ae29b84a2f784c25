"""Figures of a measured curve against a theorem: seed mean with its bootstrap band, the bound,
and the fitted growth exponent over the last decade. Matplotlib with the Agg backend; every
figure is written as PNG and PDF.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .stats import fit_exponent, mean_band


def figure_paths(path, name: str) -> tuple[Path, Path]:
    """(PNG, PDF) paths of the figure ``name`` for ``path``.

    ``path`` is a directory (existing, or written with a trailing separator): the files are
    ``<name>.png/.pdf`` inside it. Otherwise ``path`` is a file stem (a .png/.pdf suffix is
    dropped): the files are the stem itself when ``name`` is the stem's name, ``<name>`` next to
    it when ``name`` extends the stem's name (``r2pvi_rate`` -> ``r2pvi_rate_bound``), and
    ``<stem>_<name>`` otherwise, so that one experiment's figures never overwrite each other.
    Parent directories are created.
    """
    p = Path(path)
    if p.is_dir() or str(path).endswith((os.sep, "/")):
        stem = p / (name or "figure")
    else:
        if p.suffix.lower() in (".png", ".pdf"):
            p = p.with_suffix("")
        if not name or name == p.name:
            stem = p
        elif name.startswith(p.name):
            stem = p.with_name(name)
        else:
            stem = p.with_name(f"{p.name}_{name}")
    stem.parent.mkdir(parents=True, exist_ok=True)
    return stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".pdf")


def _atomic_savefig(fig, dest: Path, **kwargs) -> None:
    """Write the figure under a temporary name in the same folder, then rename it over
    ``dest``: a kill during plotting never leaves a truncated PNG/PDF behind."""
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        fig.savefig(tmp, format=dest.suffix.lstrip(".").lower(), **kwargs)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_figure(fig, path, name: str) -> list[Path]:
    """Write ``fig`` as PNG (150 dpi) and PDF (see :func:`figure_paths`), atomically; close it."""
    png, pdf = figure_paths(path, name)
    try:
        _atomic_savefig(fig, png, dpi=150, bbox_inches="tight")
        # no creation date: the same figure gives the same bytes (stored results stay
        # unchanged in version control when a report is regenerated)
        _atomic_savefig(fig, pdf, bbox_inches="tight", metadata={"CreationDate": None})
    finally:
        plt.close(fig)
    return [png, pdf]


def plain_log_labels(fig) -> None:
    """Plain-text tick labels ("1e-05") on every log axis of ``fig``: matplotlib's default
    mathtext labels make many-panel figures take ~10x longer to save."""
    import matplotlib.ticker as mticker

    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                axis.set_major_formatter(mticker.LogFormatter(labelOnlyBase=True))
                axis.set_minor_formatter(mticker.NullFormatter())


def save_named_figure(fig, path, name: str, suffix: str = "") -> list[Path]:
    """Write one of an experiment's several figures with plain log labels: ``path`` is a
    directory (files <name><suffix>.png/.pdf inside it) or a file stem (<stem><suffix>)."""
    plain_log_labels(fig)
    p = Path(path)
    if p.is_dir() or str(path).endswith(("/", "\\")):
        return save_figure(fig, p, name + suffix)
    stem = p.with_suffix("") if p.suffix.lower() in (".png", ".pdf") else p
    return save_figure(fig, stem.with_name(stem.name + suffix), stem.name + suffix)


def plot_curve_vs_bound(results: pd.DataFrame, *, x: str, y: str, path, bound: str | None = None,
                        panel: str | None = None, hue: str | None = None, title: str = "",
                        xlabel: str | None = None, ylabel: str | None = None,
                        loglog: bool = True, fit_decades: float | None = 1.0,
                        seed_col: str = "seed", name: str | None = None, level: float = 0.95,
                        n_boot: int = 1000, references: dict | None = None) -> list[Path]:
    """Measured seed-mean of ``y`` against ``x`` with its bootstrap band, the bound and the fit.

    One panel per value of ``panel`` (if given), one colour per value of ``hue`` (if given).
    In each: the mean curve (solid) with its ``level`` band (shaded), the bound (dashed, same
    colour) and, when ``fit_decades`` is set, the least-squares line fitted on log-log axes
    over the last ``fit_decades`` of x (dotted; its slope and CI in the legend).
    ``references`` maps further columns to labels, drawn thin and grey (e.g. a trivial bound).
    ``title`` should state the claim. Returns the written [PNG, PDF] paths.
    """
    panels = [None] if panel is None else sorted(results[panel].unique(), key=str)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, pv in zip(axes[0], panels):
        sub = results if pv is None else results[results[panel] == pv]
        hues = [None] if hue is None else sorted(sub[hue].unique(), key=str)
        for i, hv in enumerate(hues):
            df = sub if hv is None else sub[sub[hue] == hv]
            c = colors[i % len(colors)]
            lab = "measured" if hv is None else str(hv)
            band = mean_band(df, x, y, seed_col=seed_col, level=level, n_boot=n_boot)
            n = int(band["n_seeds"].iloc[0]) if len(band) else 0
            ax.plot(band[x], band["mean"], color=c, lw=1.8,
                    label=f"{lab} (mean of {n} seeds)")
            ax.fill_between(band[x], band["lo"], band["hi"], color=c, alpha=0.25, lw=0)
            if bound is not None and bound in df.columns:
                b = df.groupby(x)[bound].mean()
                ax.plot(b.index, b.to_numpy(), color=c, ls="--", lw=1.2,
                        label=f"bound{'' if hv is None else f' ({hv})'}")
            if fit_decades is not None and n >= 1:
                f = fit_exponent(df, x, y, seed_col=seed_col, decades=fit_decades,
                                 n_boot=n_boot)
                if np.isfinite(f.exponent):
                    xs = np.geomspace(f.x_min, f.x_max, 20)
                    ax.plot(xs, f.predict(xs), color=c, ls=":", lw=2.2,
                            label=f"fit: slope {f.exponent:.2f} "
                                  f"[{f.ci[0]:.2f}, {f.ci[1]:.2f}]")
        for j, (col, label) in enumerate((references or {}).items()):
            if col in sub.columns:                       # one grey line per panel
                ref = sub.groupby(x)[col].mean()
                ax.plot(ref.index, ref.to_numpy(), color="0.45", lw=1.0,
                        ls=(0, (1 + 2 * j, 2)), label=label)
        if loglog:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(xlabel or x)
        ax.set_ylabel(ylabel or y)
        if pv is not None:
            ax.set_title(f"{panel} = {pv}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path, name or "")


__all__ = ["figure_paths", "plot_curve_vs_bound", "save_figure"]
