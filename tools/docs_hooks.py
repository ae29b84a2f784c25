"""mkdocs hooks for the documentation site (``mkdocs.yml``: ``hooks:``).

``<!-- claims-table: EXPERIMENT -->`` in a page becomes the table of that experiment's claims,
read from the stored paper-size verdict ``figures/paper/EXPERIMENT/verdict.json``, so the paper
pages always show the verdicts the repository holds.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

MARKER = re.compile(r"<!--\s*claims-table:\s*([A-Za-z_][A-Za-z0-9_]*)\s*-->")
ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "figures" / "paper"


def _cell(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x).replace("|", "\\|").replace("\n", " ")


def claims_table(name: str) -> str:
    """Markdown table of the stored paper-size claims of experiment ``name``."""
    path = STORE / name / "verdict.json"
    if not path.is_file():
        return (f"*No stored paper-size verdict for `{name}` yet: run "
                f"`mdptheory run {name} --size paper --out figures/paper`.*")
    data = json.loads(path.read_text())
    rows = ["| Outcome | Theorem | Claim | Provenance | Reason | Needs |",
            "|---|---|---|---|---|---|"]
    for c in data.get("claims", []):
        rows.append("| " + " | ".join(_cell(c.get(k)) for k in (
            "outcome", "theorem", "claim", "provenance", "reason", "needs")) + " |")
    head = (f"Stored paper-size verdicts of `{name}` ({data.get('seeds', '?')} seeds; "
            f"`figures/paper/{name}/verdict.json`):")
    return head + "\n\n" + "\n".join(rows)


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 (mkdocs hook signature)
    return MARKER.sub(lambda m: claims_table(m.group(1)), markdown)
