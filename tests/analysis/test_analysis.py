"""Checkpoints, bands, growth-exponent fits with bootstrap CIs and figures (the verdict engine
is tested in test_verdict_engine.py and calibrated in test_verdict_calibration.py)."""
import numpy as np
import pandas as pd
import pytest

from mdptheory import analysis
from mdptheory.analysis import (
    ExponentFit,
    fit_exponent,
    log_spaced,
    mean_band,
    plot_curve_vs_bound,
)


def synthetic(exponent, n_seeds=20, K=10_000, c=3.0, noise=0.1, seed=0, bound_factor=None):
    """y = c k^exponent times per-seed and per-point lognormal noise, tidy rows."""
    rng = np.random.default_rng(seed)
    k = log_spaced(K, 40)
    rows = []
    for s in range(n_seeds):
        level = np.exp(noise * rng.standard_normal())            # per-seed level
        y = c * k ** exponent * level * np.exp(noise * rng.standard_normal(k.size))
        df = pd.DataFrame({"seed": s, "k": k, "y": y})
        if bound_factor is not None:
            df["bound"] = bound_factor * c * k ** exponent
        rows.append(df)
    return pd.concat(rows, ignore_index=True)


def test_log_spaced_is_increasing_unique_and_spans_1_to_K():
    for K, n in [(1, 5), (10, 50), (1000, 30), (100_000, 60)]:
        k = log_spaced(K, n)
        assert k[0] == 1 and k[-1] == K
        assert np.all(np.diff(k) > 0) and k.dtype == np.int64
        assert len(k) <= max(n, 2) + 1
    k = log_spaced(100_000, 60)
    last_decade = k[k >= 10_000]
    assert len(last_decade) >= 10                    # enough points for the slope fit
    with pytest.raises(ValueError, match="K must be >= 1"):
        log_spaced(0)
    with pytest.raises(ValueError, match="n must be >= 2"):
        log_spaced(10, 1)


@pytest.mark.parametrize("exponent", [0.5, 1.0, -0.5])
def test_slope_fit_recovers_known_exponent(exponent):
    df = synthetic(exponent, seed=int(10 * exponent) + 7)
    f = fit_exponent(df, "k", "y", n_boot=1000, rng=1)
    assert isinstance(f, ExponentFit)
    assert f.exponent == pytest.approx(exponent, abs=0.03)
    assert f.ci[0] <= exponent <= f.ci[1]
    assert f.ci[1] - f.ci[0] < 0.2
    assert f.x_max == 10_000 and f.x_min >= 1000 and f.n_seeds == 20 and f.n_points >= 8
    np.testing.assert_allclose(f.predict([10_000]), 3.0 * 10_000.0 ** exponent, rtol=0.15)


def test_bootstrap_ci_covers_the_truth_in_most_replications():
    # per-seed levels shift whole curves; per-point noise is what moves the slope
    covered = 0
    n_rep = 100
    for rep in range(n_rep):
        df = synthetic(0.5, n_seeds=20, noise=0.3, seed=1000 + rep)
        f = fit_exponent(df, "k", "y", n_boot=400, rng=rep)
        covered += f.ci[0] <= 0.5 <= f.ci[1]
    assert covered >= 85, f"95% CI covered the true exponent in only {covered}/{n_rep} runs"


def test_fit_uses_only_the_last_decade():
    k = log_spaced(10_000, 40)
    y = np.where(k < 1000, k ** 1.0, 1000 ** 0.5 * k ** 0.5)  # slope 1, then 1/2
    df = pd.DataFrame({"seed": 0, "k": k, "y": y})
    assert fit_exponent(df, "k", "y").exponent == pytest.approx(0.5, abs=1e-9)
    assert fit_exponent(df, "k", "y", decades=4).exponent > 0.6
    single = fit_exponent(df, "k", "y")
    assert single.ci == (single.exponent, single.exponent)      # one seed: no spread


def test_fit_with_nonpositive_curve_gives_nan():
    df = pd.DataFrame({"seed": np.repeat([0, 1], 5), "k": np.tile(np.arange(1, 6), 2),
                       "y": 0.0})
    assert np.isnan(fit_exponent(df, "k", "y").exponent)


def test_mean_band_contains_mean_and_shrinks_with_more_seeds():
    few = mean_band(synthetic(0.5, n_seeds=5, noise=0.3), "k", "y", rng=0)
    many = mean_band(synthetic(0.5, n_seeds=80, noise=0.3), "k", "y", rng=0)
    for band in (few, many):
        assert list(band.columns) == ["k", "mean", "lo", "hi", "n_seeds"]
        assert np.all(band["lo"] <= band["mean"] + 1e-12)
        assert np.all(band["mean"] <= band["hi"] + 1e-12)
    rel_few = ((few["hi"] - few["lo"]) / few["mean"]).median()
    rel_many = ((many["hi"] - many["lo"]) / many["mean"]).median()
    assert rel_many < 0.6 * rel_few
    truth = 3.0 * many["k"] ** 0.5 * np.exp(0.3 ** 2)    # E[level * point noise]
    inside = ((many["lo"] <= truth) & (truth <= many["hi"])).mean()
    assert inside >= 0.8


def test_mean_band_groups():
    df = pd.concat([synthetic(0.5, n_seeds=4).assign(env="a"),
                    synthetic(1.0, n_seeds=3).assign(env="b")])
    band = mean_band(df, "k", "y", by="env")
    assert list(band.columns) == ["env", "k", "mean", "lo", "hi", "n_seeds"]
    assert set(band.groupby("env")["n_seeds"].first().items()) == {("a", 4), ("b", 3)}


def test_fit_window_and_defaults():
    df = synthetic(0.5, n_seeds=10, seed=3)
    f = fit_exponent(df, "k", "y", window=(10, 1000))
    assert f.x_min >= 10 and f.x_max <= 1000
    assert f.exponent == pytest.approx(0.5, abs=0.05)


def test_figure_paths_keep_each_figure_of_an_experiment(tmp_path):
    stem = tmp_path / "out" / "r2pvi_rate"
    png, pdf = analysis.figure_paths(stem, "r2pvi_rate")
    assert (png.name, pdf.name) == ("r2pvi_rate.png", "r2pvi_rate.pdf")
    assert analysis.figure_paths(stem, "r2pvi_rate_bound")[0].name == "r2pvi_rate_bound.png"
    assert analysis.figure_paths(stem, "ratio")[0].name == "r2pvi_rate_ratio.png"
    assert analysis.figure_paths(tmp_path / "out", "solo")[0] == tmp_path / "out" / "solo.png"
    assert analysis.figure_paths(str(stem) + ".png", "r2pvi_rate")[0] == png


def test_save_figure_is_atomic(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [1, 2])
    dest = tmp_path / "f.png"
    dest.write_bytes(b"old complete file")

    def boom(*args, **kwargs):
        raise KeyboardInterrupt                  # a kill in the middle of writing
    monkeypatch.setattr(fig, "savefig", boom)
    with pytest.raises(KeyboardInterrupt):
        analysis.save_figure(fig, tmp_path, "f")
    assert dest.read_bytes() == b"old complete file"       # never truncated
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png"]   # no temporary left


def test_plot_writes_png_and_pdf_to_a_stem_or_a_directory(tmp_path):
    df = pd.concat([synthetic(0.5, n_seeds=4, bound_factor=4.0).assign(env="a", algo="x"),
                    synthetic(0.7, n_seeds=4, bound_factor=4.0).assign(env="b", algo="x"),
                    synthetic(0.3, n_seeds=4, bound_factor=4.0).assign(env="b", algo="y")])
    df["trivial"] = df["k"] * 10.0
    paths = plot_curve_vs_bound(df, x="k", y="y", bound="bound", panel="env", hue="algo",
                                path=tmp_path / "fig" / "curve.png", title="claim",
                                references={"trivial": "trivial"})
    assert [p.name for p in paths] == ["curve.png", "curve.pdf"]
    for p in paths:
        assert p.exists() and p.stat().st_size > 1000
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    paths = plot_curve_vs_bound(df[df.env == "a"], x="k", y="y", path=tmp_path, name="solo")
    assert [p.name for p in paths] == ["solo.png", "solo.pdf"] and paths[0].parent == tmp_path
    assert all(p.exists() for p in paths)


def test_save_figure_writes_the_same_pdf_bytes_for_the_same_figure(tmp_path):
    import matplotlib.pyplot as plt

    pdfs = []
    for i in range(2):
        fig, ax = plt.subplots()
        ax.plot([1, 2, 4])
        ax.set(xlabel="k", ylabel="regret")
        pdfs.append(analysis.save_figure(fig, tmp_path / f"run{i}", "fig")[1])
    assert pdfs[0] != pdfs[1] and pdfs[0].read_bytes() == pdfs[1].read_bytes()
