"""The paper-size verdicts stored in figures/paper/ (what REPORT.md is built from): every claim
has a provenance label and a known outcome, and every inconclusive claim says what would decide
it (``needs``)."""
import json
from pathlib import Path

import pytest

PAPER = Path(__file__).resolve().parents[2] / "figures" / "paper"
FILES = sorted(PAPER.glob("*/verdict.json"))
LABELS = {"paper", "paper-recalled", "derived", "expectation", "calibrated"}


def test_paper_size_verdicts_are_stored():
    assert len(FILES) >= 16


@pytest.mark.parametrize("path", FILES, ids=[p.parent.name for p in FILES])
def test_every_stored_claim_is_labelled_and_every_inconclusive_says_what_decides_it(path):
    claims = json.loads(path.read_text())["claims"]
    assert claims
    for c in claims:
        assert c["outcome"] in {"verified", "refuted", "inconclusive", "info"}, c["claim"]
        assert c.get("provenance") in LABELS, c["claim"]
        if c["outcome"] == "inconclusive":
            assert c.get("needs"), c["claim"]
