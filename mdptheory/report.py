"""verdict.json files and the verification report (``mdptheory run`` / ``mdptheory report``).

A results folder ``DIR`` holds one folder per experiment: ``DIR/<name>/results.parquet`` (the
merged table), ``DIR/<name>/verdict.json`` (its claims) and its figures. This module writes
verdict.json (after Holm's correction within each paper, :func:`mdptheory.analysis.correct`),
recomputes verdicts from stored results (``--reverdict``), prints claims for the terminal, and
gathers every verdict into ``REPORT.md``, organised per paper: refuted claims (findings),
verified, inconclusive with what each needs, expectations not met, and info (docs/verdicts.md).
"""
from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .analysis.multiple import correct, family_count
from .analysis.verdict import OUTCOMES, PROVENANCES, Verdict

PROG = "mdptheory"
ALPHA = 0.05


class ReportError(ValueError):
    """The report cannot be made as asked (e.g. the results folder does not exist)."""


# ----------------------------------------------------------------------------- verdict.json

def finalize(verdicts) -> list[Verdict]:
    """An experiment's verdict() output as a checked list, with Holm's correction applied."""
    items = list(verdicts) if isinstance(verdicts, (list, tuple)) else [verdicts]
    for item in items:
        if not isinstance(item, Verdict):
            raise TypeError(f"verdict() must return Verdict or a list of them, got "
                            f"{type(item).__name__}")
    return correct(items)


def verdict_record(name: str, *, size, seeds, config: dict | None, grid,
                   verdicts: list[Verdict]) -> dict:
    """The content of verdict.json."""
    return {"experiment": name, "size": size, "seeds": seeds, "config": config, "grid": grid,
            "multiple_testing": "Holm within each paper's claims, family-wise level 0.05",
            "claims": [v.to_dict() for v in verdicts]}


def write_verdict(exp_dir, record: dict) -> Path:
    """Write ``record`` as ``exp_dir/verdict.json``, atomically."""
    from .runner.storage import atomic_write_text
    return atomic_write_text(Path(exp_dir) / "verdict.json", json.dumps(record, indent=1) + "\n")


def reverdict(out, names=None, *, experiments_dir=None, figures: bool = True) -> list[Path]:
    """Recompute verdict.json (and the figures) of every experiment under ``out`` from its
    stored results.parquet, with the current verdict engine and experiment files; no run is
    repeated. Returns the verdict.json paths written."""
    import pandas as pd

    from . import experiments_registry as registry

    out = Path(out)
    if not out.is_dir():
        raise ReportError(f"results folder {out} does not exist")
    written = []
    for res in sorted(out.glob("*/results.parquet")):
        name = res.parent.name
        if names and name not in names:
            continue
        module = registry.load_experiment(name, experiments_dir)
        table = pd.read_parquet(res)
        old = {}
        old_path = res.parent / "verdict.json"
        if old_path.exists():
            try:
                old = json.loads(old_path.read_text())
            except (OSError, ValueError):
                old = {}
        verdicts = finalize(module.verdict(table))
        seeds = old.get("seeds", int(table["seed"].nunique()) if "seed" in table else None)
        record = verdict_record(name, size=old.get("size", "?"), seeds=seeds,
                                config=old.get("config"), grid=old.get("grid"),
                                verdicts=verdicts)
        written.append(write_verdict(res.parent, record))
        if figures:
            module.plot(table, res.parent / name)
    return written


# ----------------------------------------------------------------------------- terminal

def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, (int, float)):
        return f"{x:.4g}"
    return str(x)


def _fmt_exponent(claim: dict) -> str:
    exp, ci = claim.get("exponent"), claim.get("exponent_ci")
    if exp is None and ci is None:
        return "-"
    text = _fmt(exp)
    if ci is not None:
        text += f" [{_fmt(ci[0])}, {_fmt(ci[1])}]"
    return text


def _outcome(claim: dict) -> str:
    o = claim.get("outcome")
    if o is None:                                   # verdict.json from before the engine
        return "inconclusive"
    return o


def format_claims_table(claims: list[dict]) -> str:
    """Plain-text table of verdict.json claims, each followed by its reason and needs."""
    header = ["outcome", "theorem", "claim", "provenance", "measured", "bound",
              "exponent [CI]", "claimed"]
    papers = list(dict.fromkeys(c.get("paper", "") for c in claims if c.get("paper")))
    rows = [[_outcome(c).upper() if _outcome(c) == "refuted" else _outcome(c),
             c.get("theorem", ""), c.get("claim", ""), c.get("provenance", "unlabelled"),
             _fmt(c.get("measured")), _fmt(c.get("bound")), _fmt_exponent(c),
             _fmt(c.get("claimed_exponent"))] for c in claims]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r):
        return "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()

    out = [f"paper: {p}" for p in papers]
    out += [line(header), line(["-" * w for w in widths])]
    for r, c in zip(rows, claims):
        out.append(line(r))
        if c.get("reason"):
            out.append(f"    reason: {c['reason']}")
        if c.get("needs"):
            out.append(f"    needs:  {c['needs']}")
    counts = Counter(_outcome(c) for c in claims)
    out.append(", ".join(f"{counts.get(o, 0)} {o}" for o in OUTCOMES))
    return "\n".join(out)


# ----------------------------------------------------------------------------- collection

@dataclass
class Collected:
    """What a results folder holds: readable verdicts, and experiments whose verdict is
    missing or unreadable."""

    verdicts: list = field(default_factory=list)          # (experiment folder, dict)
    missing: list = field(default_factory=list)           # (experiment folder, why)


def collect(out) -> Collected:
    """Every experiment folder under ``out``: its verdict.json, or why there is none.

    An experiment folder is one with a verdict.json, a results.parquet or a runs/ folder.
    ReportError if ``out`` is not a folder.
    """
    out = Path(out)
    if not out.is_dir():
        raise ReportError(f"results folder {out} does not exist (run `{PROG} run EXPERIMENT "
                          f"--out {out}` first)")
    found = Collected()
    dirs = sorted({p.parent for p in out.glob("*/verdict.json")}
                  | {p.parent for p in out.glob("*/results.parquet")}
                  | {p.parent for p in out.glob("*/runs") if p.is_dir()})
    for d in dirs:
        path = d / "verdict.json"
        if not path.exists():
            found.missing.append((d, "no verdict.json (the run did not finish; rerun it)"))
            continue
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
                raise ValueError("no 'claims' list")
        except (OSError, ValueError) as exc:
            found.missing.append((d, f"unreadable verdict.json ({exc})"))
            continue
        found.verdicts.append((d, data))
    return found


def builtin_not_run(found: Collected) -> list[str]:
    """Names of the built-in experiments with no folder among ``found``'s (verdicts or
    missing): experiments nobody ran into this results folder."""
    from .experiments_registry import builtin_experiments_dir, _names

    have = {d.name for d, _ in found.verdicts} | {d.name for d, _ in found.missing}
    return [n for n in _names(builtin_experiments_dir()) if n not in have]


def collect_verdicts(out) -> list[tuple[Path, dict]]:
    """(experiment folder, verdict.json content) for every readable verdict under ``out``."""
    return collect(out).verdicts


# ----------------------------------------------------------------------------- REPORT.md

def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


SECTIONS = (
    ("refuted", "Refuted (findings)"),
    ("recalled", "Refuted on our reconstruction or a recalled statement (provenance "
                 "paper-recalled: a finding about our reading, not a refutation of the paper "
                 "as read)"),
    ("verified", "Verified"),
    ("inconclusive", "Inconclusive (with what would decide each)"),
    ("expectation", "Expectations not met (our predictions and calibrated runs)"),
    ("info", "Info (measurements, not claims)"),
)


def _section(claim: dict) -> str:
    o = _outcome(claim)
    if o == "refuted" and claim.get("provenance") in ("expectation", "calibrated"):
        return "expectation"
    if o == "refuted" and claim.get("provenance") == "paper-recalled":
        return "recalled"
    return o


def _window(c: dict) -> str:
    w = c.get("window")
    if not w:
        return "-"
    return f"[{_fmt(w[0])}, {_fmt(w[1])}] ({c.get('n_points', '?')} pts)"


def _claim_rows(items, key: str) -> list[str]:
    if key in ("inconclusive",):
        head = ["Experiment", "Theorem", "Claim", "Provenance", "Measured", "Bound status",
                "Rate status", "Reason", "Needs"]
        rows = [[name, c.get("theorem", ""), c.get("claim", ""), c.get("provenance", ""),
                 _fmt(c.get("measured")), c.get("bound_status", "n/a"),
                 c.get("rate_status", "n/a"), c.get("reason", ""), c.get("needs") or "-"]
                for name, c in items]
    elif key == "info":
        head = ["Experiment", "Theorem", "Measurement", "Provenance", "Value", "Note"]
        rows = [[name, c.get("theorem", ""), c.get("claim", ""), c.get("provenance", ""),
                 _fmt(c.get("measured")), c.get("reason", "")] for name, c in items]
    else:
        head = ["Experiment", "Theorem", "Claim", "Provenance", "Measured", "Bound",
                "Bound status", "Exponent [CI]", "Claimed", "Window", "Reason"]
        rows = [[name, c.get("theorem", ""), c.get("claim", ""), c.get("provenance", ""),
                 _fmt(c.get("measured")), _fmt(c.get("bound")), c.get("bound_status", "n/a"),
                 _fmt_exponent(c), _fmt(c.get("claimed_exponent")), _window(c),
                 c.get("reason", "")] for name, c in items]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md(x) for x in r) + " |" for r in rows]
    return lines


def render(found: Collected, out, *, title: str = "Verification report",
           preamble: str = "", in_place: bool = False) -> tuple[str, list[tuple[Path, Path]]]:
    """REPORT.md's text and the (source PNG, link) figures it links: with ``in_place`` the
    report lives in ``out`` and links each PNG where it is; otherwise the PNGs are to be copied
    beside the report under the link's name."""
    verdicts = found.verdicts
    claims = [(d.name, v, c) for d, v in verdicts for c in v.get("claims", [])]
    objs = []
    for _, _, c in claims:
        try:
            objs.append(Verdict.from_dict(c))
        except (TypeError, ValueError):
            pass
    counts = Counter(_outcome(c) for _, _, c in claims)
    lines = [f"# {title}", ""]
    if preamble:
        lines += [preamble, ""]
    lines += [f"Generated by `{PROG} report` from `{out}/`: {len(verdicts)} experiment(s), "
              f"{len(claims)} claim(s): "
              + ", ".join(f"{counts.get(o, 0)} {o}" for o in OUTCOMES) + ".", ""]
    lines += ["Outcomes (docs/verdicts.md): **verified** when every sub-test that applies is "
              "informative and agrees; **refuted** on a significant violation inside the "
              "theorem's regime; **inconclusive** otherwise, with the reason and what would "
              "decide it; **info** for measurements. Provenance: `paper` (read in the paper or "
              "the authors' code), `paper-recalled` (secondary sources), `derived` (our "
              "derivation), `expectation` (our prediction), `calibrated` (constants other than "
              "the theorem's: cannot verify the theorem), `unlabelled`.", ""]
    n_tests, n_fam = family_count(objs)
    lines += [f"Multiple testing: {n_tests} claims carry a refutation test, in {n_fam} paper "
              f"families; refutations must survive Holm's correction within their family "
              f"(family-wise level {ALPHA}), so the expected number of false refutations in "
              f"this report is at most {ALPHA * n_fam:.2f} ({ALPHA} per family).", ""]
    if found.missing:
        lines += ["**Missing verdicts** (these experiments' claims are not in this report):", ""]
        lines += [f"- `{d.name}`: {why}" for d, why in found.missing]
        lines.append("")
    not_run = builtin_not_run(found)
    if not_run:
        lines += ["**Built-in experiments with no results in this folder** (not run here; their "
                  "claims are not in this report): " + ", ".join(f"`{n}`" for n in not_run)
                  + ".", ""]
    # summary tables
    if verdicts:
        lines += ["| Experiment | Size | Seeds | Claims | " + " | ".join(
            o.capitalize() for o in OUTCOMES) + " | Unlabelled |",
                  "|---|---|---|---|" + "---|" * len(OUTCOMES) + "---|"]
        for d, v in verdicts:
            cs = v.get("claims", [])
            cc = Counter(_outcome(c) for c in cs)
            unl = sum(c.get("provenance", "unlabelled") == "unlabelled" for c in cs)
            lines.append(f"| {_md(d.name)} | {_md(v.get('size', '?'))} | "
                         f"{_md(v.get('seeds', '?'))} | {len(cs)} | "
                         + " | ".join(str(cc.get(o, 0)) for o in OUTCOMES) + f" | {unl} |")
        lines.append("")
        prov = defaultdict(Counter)
        for _, _, c in claims:
            prov[c.get("provenance", "unlabelled")][_outcome(c)] += 1
        lines += ["| Provenance | Claims | " + " | ".join(o.capitalize() for o in OUTCOMES)
                  + " |", "|---|---|" + "---|" * len(OUTCOMES)]
        for p in PROVENANCES:
            if p in prov:
                lines.append(f"| {p} | {sum(prov[p].values())} | "
                             + " | ".join(str(prov[p].get(o, 0)) for o in OUTCOMES) + " |")
        lines.append("")
        if prov.get("unlabelled"):
            lines += [f"**{sum(prov['unlabelled'].values())} claim(s) carry no provenance "
                      f"label** (pass `provenance=` to the verdict).", ""]
        if any(v.get("size") == "small" for _, v in verdicts):
            lines += ["`small` runs (`make demo`) use few seeds and short sweeps: they show the "
                      "machinery end to end and are inconclusive by design. Run `mdptheory run "
                      "EXPERIMENT` (paper size) for verdicts that decide.", ""]
    else:
        lines += [f"No verdicts found under `{out}/` (run `{PROG} run EXPERIMENT` first).", ""]
    # per paper
    by_paper = defaultdict(list)
    for name, v, c in claims:
        by_paper[c.get("paper") or "(no paper)"].append((f"{name} ({v.get('size', '?')}, "
                                                         f"{v.get('seeds', '?')} seeds)", c))
    for paper in sorted(by_paper):
        items = by_paper[paper]
        cc = Counter(_outcome(c) for _, c in items)
        lines += [f"## {paper}", "",
                  ", ".join(f"{cc.get(o, 0)} {o}" for o in OUTCOMES) + ".", ""]
        for key, heading in SECTIONS:
            sel = [(n, c) for n, c in items if _section(c) == key]
            if not sel:
                continue
            lines += [f"### {heading}", ""]
            lines += _claim_rows(sel, key)
            lines.append("")
        notes = [(n, c) for n, c in items if c.get("note")]
        if notes:
            lines += ["Notes:", ""]
            lines += [f"- {_md(n.split(' (')[0])}, {_md(c.get('theorem', ''))}: "
                      f"{_md(c['note'])}" for n, c in notes]
            lines.append("")
    # figures
    lines += ["## Figures", ""]
    figs = []
    exp_dirs = sorted({d for d, _ in verdicts} | {p.parent for p in Path(out).glob("*/*.png")})
    by_dir = dict(verdicts)
    for d in exp_dirs:
        pngs = sorted(d.glob("*.png"))
        if not pngs:
            continue
        v = by_dir.get(d, {})
        lines += [f"### {d.name}", ""]
        if v:
            lines += [f"Size `{v.get('size', '?')}`, {v.get('seeds', '?')} seeds.", ""]
        for png in pngs:
            if in_place:
                dest_name = png.relative_to(Path(out)).as_posix()
            else:
                dest_name = png.name if png.name.startswith(d.name) else f"{d.name}_{png.name}"
            figs.append((png, Path(dest_name)))
            lines += [f"![{d.name}: {png.stem}]({dest_name})", ""]
    if not figs:
        lines += ["No figures found.", ""]
    return "\n".join(lines).rstrip() + "\n", figs


def write_report(out="results", figures=None, *, title: str = "Verification report",
                 preamble: str = "") -> tuple[Path, Collected]:
    """Gather every verdict.json and PNG under ``out`` into ``<figures>/REPORT.md`` (figures
    defaults to ``out``, where the report links each experiment's PNGs in place); PNGs are
    copied beside the report (atomically) when it lives elsewhere. Returns the report's path
    and what was collected (``missing`` lists experiments whose verdict is missing or
    unreadable)."""
    from .runner.storage import atomic_write_bytes, atomic_write_text

    found = collect(out)
    figures = Path(out) if figures is None else Path(figures)
    try:
        figures.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create the report folder {figures}: {exc}") from None
    in_place = figures.resolve() == Path(out).resolve()
    text, figs = render(found, out, title=title, preamble=preamble, in_place=in_place)
    if not in_place:
        for src, dest_name in figs:
            atomic_write_bytes(figures / dest_name, src.read_bytes())
    report = atomic_write_text(figures / "REPORT.md", text)
    return report, found


def print_missing(found: Collected, stream=None) -> None:
    """One line per experiment whose verdict is missing or unreadable (on stderr)."""
    stream = sys.stderr if stream is None else stream
    for d, why in found.missing:
        print(f"{PROG}: {d.name}: {why}", file=stream)


__all__ = ["Collected", "ReportError", "collect", "collect_verdicts", "finalize",
           "format_claims_table", "print_missing", "render", "reverdict", "verdict_record",
           "write_report", "write_verdict"]
