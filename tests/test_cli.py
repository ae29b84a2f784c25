"""The mdptheory command: list, run (with --set), report, check, and one-line usage errors."""
import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from mdptheory.cli import main, parse_assignment
from mdptheory.testing.processes import source_env

FAKE = textwrap.dedent('''
    """Fake claim: y grows like sqrt(k)."""
    import numpy as np
    import pandas as pd
    from mdptheory.analysis.verdict import Verdict

    CONFIG = dict(n=30, scale=1.0, label="a", crash=False, seeds=3, flag=True, Ks=[1, 2])
    SMALL = dict(CONFIG, n=8, seeds=2)

    def run(config, seed):
        if config["crash"]:
            raise RuntimeError("boom")
        rng = np.random.default_rng(seed)
        k = np.arange(1, config["n"] + 1)
        return pd.DataFrame({"k": k, "y": config["scale"] * np.sqrt(k) + 0.01 * rng.random(k.size),
                             "label": config["label"], "seed": seed,
                             "flag_type": type(config["flag"]).__name__,
                             "flag": config["flag"], "n_type": type(config["n"]).__name__})

    def verdict(results):
        from mdptheory import analysis
        m = results.groupby("k")["y"].mean()
        gap = m.to_numpy() - 2.0 * np.sqrt(m.index.to_numpy(dtype=float))
        return [analysis.inequality(gap, paper="Fake (2020)", theorem="Thm 1",
                                    claim="y <= 2 sqrt(k)", provenance="paper"),
                analysis.inequality([1.0], paper="Fake (2020)", theorem="Lemma 2",
                                    claim="y | label is fine", provenance="paper",
                                    note="fails on purpose")]

    def plot(results, path):
        from matplotlib.figure import Figure
        fig = Figure()
        fig.subplots().plot(results.groupby("k")["y"].mean())
        out = [f"{path}.png", f"{path}.pdf"]
        for p in out:
            fig.savefig(p)
        return out
''')

PROOFS_GOOD = textwrap.dedent('''
    """Checks that hold."""
    def test_addition_commutes():
        assert 1 + 2 == 2 + 1
''')

PROOFS_BAD = textwrap.dedent('''
    """One check holds, one breaks."""
    import pytest

    def test_holds():
        assert 2 * 3 == 6

    @pytest.mark.parametrize("x", [10, 50])
    def test_breaks_for_large_x(x):
        assert x < 50, f"x={x}"
''')


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    exps, proofs = tmp_path / "exps", tmp_path / "proofs"
    exps.mkdir()
    proofs.mkdir()
    (exps / "fake.py").write_text(FAKE)
    (exps / "_helper.py").write_text("X = 1\n")
    (proofs / "good.py").write_text(PROOFS_GOOD)
    (proofs / "bad.py").write_text(PROOFS_BAD)
    monkeypatch.setenv("MDPTHEORY_EXPERIMENTS", str(exps))
    monkeypatch.setenv("MDPTHEORY_PROOFS", str(proofs))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_list_shows_experiments_and_proof_checks_with_their_first_doc_line(dirs, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "fake" in out and "Fake claim: y grows like sqrt(k)." in out
    assert "good" in out and "bad" in out and "_helper" not in out


def test_run_writes_results_verdict_and_figures_and_applies_set(dirs, capsys):
    rc = main(["run", "fake", "--size", "small", "--seeds", "3", "--backend", "serial",
               "--set", "scale=1.5", "--set", "label=b c", "--out", "res"])
    assert rc == 0                                   # a refuted claim is a finding, exit 0
    out = capsys.readouterr().out
    assert "3 runs computed, 0 reused" in out
    assert "verified" in out and "REFUTED" in out and "counterexample" in out
    assert "1 verified, 1 refuted, 0 inconclusive, 0 info" in out
    d = dirs / "res" / "fake"
    table = pd.read_parquet(d / "results.parquet")
    assert len(table) == 3 * 8 and set(table["label"]) == {"b c"}
    assert table.groupby("seed")["y"].last().gt(1.5 * 8 ** 0.5 - 1e-9).all()
    v = json.loads((d / "verdict.json").read_text())
    assert (v["experiment"], v["size"], v["seeds"]) == ("fake", "small", 3)
    first, second = v["claims"]
    assert first["outcome"] == "verified" and first["passed"] is True
    assert second["outcome"] == "refuted" and second["passed"] is False
    assert second["note"] == "fails on purpose" and second["provenance"] == "paper"
    assert (d / "fake.png").is_file() and (d / "fake.pdf").is_file()

    assert main(["run", "fake", "--size", "small", "--seeds", "3", "--backend", "serial",
                 "--set", "scale=1.5", "--set", "label=b c", "--out", "res"]) == 0
    assert "0 runs computed, 3 reused" in capsys.readouterr().out


def test_run_defaults_to_the_configs_seeds_and_grid_sweeps_a_key(dirs, capsys):
    assert main(["run", "fake", "--size", "small", "--backend", "serial", "--out", "res",
                 "--grid", "scale=[1.0, 2.0]"]) == 0
    assert "2 seeds, 4 runs computed" in capsys.readouterr().out
    v = json.loads((dirs / "res" / "fake" / "verdict.json").read_text())
    assert v["seeds"] == 2 and v["grid"] == {"scale": [1.0, 2.0]}


def test_run_that_crashes_exits_1_with_the_traceback(dirs, capsys):
    rc = main(["run", "fake", "--size", "small", "--backend", "serial", "--set", "crash=True",
               "--out", "res"])
    err = capsys.readouterr().err
    assert rc == 1 and "RuntimeError: boom" in err and "rerun to resume" in err


def test_report_gathers_claims_and_copies_figures(dirs, capsys):
    assert main(["run", "fake", "--size", "small", "--backend", "serial", "--out", "res"]) == 0
    assert main(["report", "--out", "res", "--figures", "figs"]) == 0
    report = (dirs / "figs" / "REPORT.md").read_text()
    assert "1 experiment(s), 2 claim(s): 1 verified, 1 refuted, 0 inconclusive, 0 info" in report
    assert report.index("## Fake (2020)") < report.index("### Refuted (findings)") \
        < report.index("### Verified")
    assert "| fake (small, 2 seeds) | Thm 1 | y <= 2 sqrt(k) | paper |" in report
    assert "y \\| label is fine" in report                # pipes escaped in the table
    assert "![fake: fake](fake.png)" in report
    assert (dirs / "figs" / "fake.png").read_bytes() == \
        (dirs / "res" / "fake" / "fake.png").read_bytes()
    # built-in experiments never run into this folder are named, not silently absent
    from mdptheory.experiments_registry import builtin_experiments_dir
    builtin = sorted(p.stem for p in builtin_experiments_dir().glob("[a-z]*.py"))
    assert "ucbvi_regret" in builtin
    line = next(l for l in report.splitlines() if l.startswith("**Built-in experiments with no"))
    assert all(f"`{name}`" in line for name in builtin)


def test_report_names_missing_verdicts_and_exits_nonzero(dirs, capsys):
    assert main(["run", "fake", "--size", "small", "--backend", "serial", "--out", "res"]) == 0
    (dirs / "res" / "fake" / "verdict.json").write_text("{truncated")
    capsys.readouterr()
    assert main(["report", "--out", "res"]) == 1
    err = capsys.readouterr().err
    assert "fake: unreadable verdict.json" in err
    assert "**Missing verdicts**" in (dirs / "res" / "REPORT.md").read_text()
    (dirs / "res" / "fake" / "verdict.json").unlink()
    assert main(["report", "--out", "res"]) == 1
    assert "fake: no verdict.json" in capsys.readouterr().err
    assert main(["report", "--out", "nowhere"]) == 2
    assert "results folder nowhere does not exist" in capsys.readouterr().err


def test_reverdict_recomputes_verdicts_from_stored_results(dirs, capsys):
    assert main(["run", "fake", "--size", "small", "--backend", "serial", "--out", "res"]) == 0
    path = dirs / "res" / "fake" / "verdict.json"
    before = json.loads(path.read_text())
    path.write_text(json.dumps({**before, "claims": []}))
    capsys.readouterr()
    assert main(["report", "--out", "res", "--reverdict"]) == 0
    assert "recomputed 1 verdict(s)" in capsys.readouterr().out
    after = json.loads(path.read_text())
    assert [c["outcome"] for c in after["claims"]] == ["verified", "refuted"]
    assert after["size"] == "small" and after["seeds"] == 2


def test_check_reports_each_test_and_exits_nonzero_when_one_breaks(dirs, capsys):
    assert main(["check", "good"]) == 0
    out = capsys.readouterr().out
    assert "held   " in out and "test_addition_commutes" in out and "1 held, 0 broke" in out

    assert main(["check", "bad", "good"]) == 1
    out = capsys.readouterr().out
    assert "held   " in out and "test_breaks_for_large_x[10]" in out
    assert "BROKE  " in out and "test_breaks_for_large_x[50]" in out and "x=50" in out
    assert "3 held, 1 broke, 0 skipped (bad, good)" in out


@pytest.mark.parametrize("argv, message", [
    (["run", "nope"], "unknown experiment 'nope'"),
    (["run", "fake", "--set", "scale"], "malformed --set 'scale': expected key=value"),
    (["run", "fake", "--set", "=3"], "malformed --set '=3'"),
    (["run", "fake", "--set", "bogus=1"], "unknown config key 'bogus'"),
    (["run", "fake", "--set", "n=2.5"], "--set n=2.5: expected an integer"),
    (["run", "fake", "--set", "n=abc"], "--set n='abc': expected an integer"),
    (["run", "fake", "--set", "n=0"], "n=0: a count must be an integer >= 1"),
    (["run", "fake", "--set", "flag=maybe"], "expected a boolean"),
    (["run", "fake", "--set", "Ks=[1, 0.5]"], "Ks[1]=0.5: expected an integer"),
    (["run", "fake", "--grid", "n=[10, 2.5]"], "n=2.5: expected an integer"),
    (["run", "fake", "--grid", "n=5"], "--grid"),
    (["run", "fake", "--workers", "0"], "--workers must be >= 1, got 0"),
    (["run", "fake", "--workers", "-2"], "--workers must be >= 1, got -2"),
    (["run", "other/missing.py"], "no experiment file other/missing.py"),
    (["run", "fake", "--size", "huge"], "argument --size: invalid choice: 'huge'"),
    (["run", "fake", "--seeds", "0"], "--seeds must be >= 1, got 0"),
    (["run", "fake", "--seeds", "many"], "argument --seeds: invalid int value: 'many'"),
    (["run", "fake", "--backend", "ray", "--address", "127.0.0.1:1"],
     "cannot reach Ray at 127.0.0.1:1"),
    (["run", "fake", "--address", "127.0.0.1:1"], "--address applies only to --backend ray"),
    (["check", "nope"], "unknown proof check 'nope'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_give_one_line_error_and_exit_2(dirs, capsys, argv, message):
    assert main([*argv, "--out", "res"] if argv[0] == "run" else argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mdptheory: error: ") and message in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not (dirs / "res").exists()


def test_parse_assignment_splits_key_and_text():
    assert parse_assignment("K=1000") == ("K", "1000")
    assert parse_assignment(" Ks = [10, 100] ") == ("Ks", "[10, 100]")
    assert parse_assignment("label=a=b") == ("label", "a=b")


@pytest.mark.parametrize("text, expected", [("false", False), ("no", False), ("YES", True),
                                            ("0", False), ("True", True)])
def test_set_reads_booleans_as_the_config_does(dirs, capsys, text, expected):
    assert main(["run", "fake", "--size", "small", "--backend", "serial", "--out", "res",
                 "--set", f"flag={text}", "--set", "n=1e1"]) == 0
    table = pd.read_parquet(dirs / "res" / "fake" / "results.parquet")
    assert set(table["flag"]) == {expected} and set(table["flag_type"]) == {"bool"}
    assert set(table["n_type"]) == {"int"} and table["k"].max() == 10
    v = json.loads((dirs / "res" / "fake" / "verdict.json").read_text())
    assert v["config"]["flag"] is expected and v["config"]["n"] == 10


def test_grid_with_equal_values_of_two_spellings_runs_one_config(dirs, capsys):
    assert main(["run", "fake", "--size", "small", "--backend", "serial", "--out", "res",
                 "--grid", "n=[12, 12.0, 1.2e1]"]) == 0
    assert "2 seeds, 2 runs computed" in capsys.readouterr().out
    table = pd.read_parquet(dirs / "res" / "fake" / "results.parquet")
    assert len(table) == 2 * 12
    v = json.loads((dirs / "res" / "fake" / "verdict.json").read_text())
    assert v["grid"] == {"n": [12]}


def test_unwritable_out_is_a_one_line_error(dirs, capsys):
    (dirs / "afile").write_text("x")
    assert main(["run", "fake", "--size", "small", "--backend", "serial",
                 "--out", str(dirs / "afile" / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write results under" in err
    assert "Not a directory" in err and "Traceback" not in err


def test_help_shows_every_default_and_the_resume_key(capsys):
    assert main(["run", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for default in ("(default: paper)", "(default: process)", "(default: results)",
                    "(default: the config's 'seeds', else 10)", "(default: all cores)",
                    "(default: resume)", "(default: False)", "(default: start a local Ray)"):
        assert default in out
    assert "(default: None)" not in out
    assert "keyed on (config, seed)" in out and "--rerun-stale" in out
    import argparse

    from mdptheory.cli import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        formatter = parser._get_formatter()
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or action.required:
                continue
            text = formatter._get_help_string(action) % {"default": action.default}
            assert "(default: " in text and "(default: None)" not in text, (name, action.dest)


def test_check_runs_derandomized_hypothesis(dirs, capsys, monkeypatch):
    (dirs / "proofs" / "profile.py").write_text(textwrap.dedent('''
        from hypothesis import given, settings, strategies as st

        DRAWN = []

        @given(st.integers())
        def test_draws(x):
            DRAWN.append(x)

        def test_profile_is_ci():
            import os
            assert settings.default.derandomize and settings.default.database is None
            assert len(DRAWN) >= 10
            with open(os.environ["DRAWN_FILE"], "w") as f:
                f.write(repr(DRAWN))
    '''))
    runs = []
    for i in range(2):
        env = dict(source_env(), DRAWN_FILE=str(dirs / f"drawn{i}"))
        env.pop("MDPTHEORY_HYPOTHESIS_PROFILE", None)
        proc = subprocess.run([sys.executable, "-m", "mdptheory.cli", "check", "profile",
                               "--proofs-dir", str(dirs / "proofs")], env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0 and "2 held, 0 broke" in proc.stdout, proc.stdout
        runs.append((dirs / f"drawn{i}").read_text())
    assert runs[0] == runs[1]


def test_module_entry_point_runs_list(dirs):
    proc = subprocess.run([sys.executable, "-m", "mdptheory.cli", "list"], capture_output=True,
                          text=True, timeout=120, env=source_env(), check=False)
    assert proc.returncode == 0 and "fake" in proc.stdout, proc.stderr
    assert "ucbvi_regret" in proc.stdout and "foundation" in proc.stdout   # built-ins stay


def test_report_keeps_refutations_of_recalled_claims_apart_from_paper_refutations(tmp_path):
    """A refuted claim whose provenance is paper-recalled (our reconstruction, or a statement
    recalled from secondary sources) is not listed with the refuted paper claims."""
    from mdptheory import analysis
    from mdptheory.report import collect, render
    claims = [analysis.inequality([1.0], paper="Fake (2020)", theorem="Thm 1",
                                  claim="read claim fails", provenance="paper"),
              analysis.inequality([1.0], paper="Fake (2020)", theorem="Thm 2",
                                  claim="recalled claim fails", provenance="paper-recalled"),
              analysis.inequality([1.0], paper="Fake (2020)", theorem="Thm 3",
                                  claim="our expectation fails", provenance="expectation")]
    assert all(c.outcome == "refuted" for c in claims)
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "verdict.json").write_text(json.dumps(
        {"experiment": "exp", "size": "paper", "seeds": 10,
         "claims": [c.to_dict() for c in claims]}))
    text, _ = render(collect(tmp_path), tmp_path)
    sections = text.split("### ")
    read = next(s for s in sections if s.startswith("Refuted (findings)"))
    recalled = next(s for s in sections if s.startswith("Refuted on our reconstruction"))
    expected = next(s for s in sections if s.startswith("Expectations not met"))
    assert "read claim fails" in read and "recalled claim fails" not in read
    assert "recalled claim fails" in recalled and "read claim fails" not in recalled
    assert "our expectation fails" in expected
