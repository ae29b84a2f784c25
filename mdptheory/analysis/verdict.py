"""The verdict record: one checked claim of one theorem (docs/verdicts.md).

A verdict is a referee's judgement with four possible outcomes:

* ``"verified"``: every sub-test that applies is informative and agrees;
* ``"refuted"``: a significant violation inside the theorem's regime;
* ``"inconclusive"``: anything else, with a ``reason`` and what would decide it (``needs``);
* ``"info"``: a measurement that is not a claim.

Each claim carries its provenance: ``"paper"`` (read in the paper or the authors' code),
``"paper-recalled"`` (secondary sources only), ``"derived"`` (our derivation), ``"expectation"``
(our own prediction, not the paper's), ``"calibrated"`` (constants other than the theorem's; such
a run cannot verify the theorem's claim), or ``"unlabelled"`` when the experiment did not say.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field, fields, replace

OUTCOMES = ("verified", "refuted", "inconclusive", "info")
PROVENANCES = ("paper", "paper-recalled", "derived", "expectation", "calibrated", "unlabelled")
BOUND_STATUSES = ("holds", "uncertain", "violated", "vacuous", "n/a")
RATE_STATUSES = ("consistent", "inconsistent", "inconclusive", "floor", "n/a")

_FLOAT_KEYS = ("measured", "bound", "exponent", "claimed_exponent", "tightness", "vacuity",
               "margin", "p_value", "decades")


def check_provenance(provenance) -> str:
    """Normalise a provenance label (None -> "unlabelled"); ValueError for an unknown one."""
    if provenance is None:
        return "unlabelled"
    p = str(provenance).strip().lower()
    if p not in PROVENANCES:
        raise ValueError(f"provenance={provenance!r}: expected one of {', '.join(PROVENANCES)}")
    return p


@dataclass(frozen=True)
class Verdict:
    """One claim, measured against a theorem.

    The schema is public (verdict.json's "claims" entries; users' experiment files build
    verdicts through :func:`mdptheory.analysis.verdict` and the helpers of
    :mod:`mdptheory.analysis.claims`). Fields that do not apply are None.

    Attributes
    ----------
    paper, theorem, claim : str
        Citation, theorem number as printed, and the claim in words.
    outcome : {"verified", "refuted", "inconclusive", "info"}
    reason : str
        Why this outcome (one or two sentences).
    needs : str or None
        What would make an inconclusive claim decisive, e.g. "K >= 2e12" or "seeds >= 59".
    provenance : str
        See the module docstring.
    kind : str
        "rate", "bound", "rate+bound", "comparison", "proportion", "inequality", "monotone",
        "info".
    bound_status : {"holds", "uncertain", "violated", "vacuous", "n/a"}
    tightness, vacuity : float or None
        measured / bound and bound / trivial bound (the best over the sweep).
    rate_status : {"consistent", "inconsistent", "inconclusive", "floor", "n/a"}
    exponent, exponent_ci, claimed_exponent, exponent_is_upper
        Fitted log-log slope with its seed-bootstrap CI (95% for one-sided claims, 90% for
        two-sided ones) over ``window`` = [lo, hi], on ``n_points`` x values spanning
        ``decades``; ``margin`` the allowance m for log factors.
    p_value : float or None
        p-value of the refutation test (before multiple-testing correction).
    passed : bool
        ``outcome == "verified"`` (kept for old readers of verdict.json).
    """

    paper: str
    theorem: str
    claim: str
    outcome: str | None = None
    reason: str = ""
    needs: str | None = None
    provenance: str = "unlabelled"
    kind: str = "info"
    measured: float | None = None
    bound: float | None = None
    bound_status: str = "n/a"
    tightness: float | None = None
    vacuity: float | None = None
    rate_status: str = "n/a"
    exponent: float | None = None
    exponent_ci: tuple[float, float] | None = None
    claimed_exponent: float | None = None
    exponent_is_upper: bool = False
    window: tuple[float, float] | None = None
    n_points: int | None = None
    decades: float | None = None
    margin: float | None = None
    n_seeds: int | None = None
    p_value: float | None = None
    note: str = ""
    passed: bool | None = field(default=None)

    def __post_init__(self):
        outcome = self.outcome
        if outcome is None:
            if self.passed is None:
                raise TypeError("Verdict needs an outcome ('verified', 'refuted', "
                                "'inconclusive' or 'info')")
            # A hand-made pass/fail from an older experiment file: not decided by the engine.
            warnings.warn("Verdict(passed=...) without an outcome is deprecated: build verdicts "
                          "with mdptheory.analysis (verdict, compare, proportion, inequality, "
                          "info)", DeprecationWarning, stacklevel=3)
            outcome = "inconclusive"
            object.__setattr__(self, "reason", (self.reason + " " if self.reason else "")
                               + f"hand-made verdict (passed={bool(self.passed)}), not decided "
                                 "by the verdict engine")
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome={outcome!r}: expected one of {', '.join(OUTCOMES)}")
        object.__setattr__(self, "outcome", outcome)
        object.__setattr__(self, "provenance", check_provenance(self.provenance))
        if self.bound_status not in BOUND_STATUSES:
            raise ValueError(f"bound_status={self.bound_status!r}: expected one of "
                             f"{', '.join(BOUND_STATUSES)}")
        if self.rate_status not in RATE_STATUSES:
            raise ValueError(f"rate_status={self.rate_status!r}: expected one of "
                             f"{', '.join(RATE_STATUSES)}")
        object.__setattr__(self, "passed", outcome == "verified")

    @property
    def is_finding(self) -> bool:
        """A refuted claim of the paper itself (not our expectation, not a calibrated run)."""
        return self.outcome == "refuted" and self.provenance in ("paper", "paper-recalled",
                                                                  "derived", "unlabelled")

    def with_(self, **changes) -> Verdict:
        """A copy with some fields changed (``passed`` follows the outcome)."""
        changes.pop("passed", None)
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready dict with the keys of verdict.json's "claims" entries (NaN -> None)."""
        d = asdict(self)
        for key in _FLOAT_KEYS:
            v = d[key]
            d[key] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        for key in ("exponent_ci", "window"):
            if d[key] is not None:
                d[key] = [None if (isinstance(x, float) and math.isnan(x)) else float(x)
                          for x in d[key]]
        d["passed"] = self.outcome == "verified"
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Verdict:
        """Inverse of :meth:`to_dict`; an old entry without "outcome" becomes inconclusive."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        for key in ("exponent_ci", "window"):
            if kw.get(key) is not None:
                kw[key] = tuple(kw[key])
        if kw.get("outcome") is None:
            kw.setdefault("reason", "verdict written before the three-outcome engine")
            kw["outcome"] = "inconclusive"
        kw["passed"] = None
        return cls(**kw)


__all__ = ["BOUND_STATUSES", "OUTCOMES", "PROVENANCES", "RATE_STATUSES", "Verdict",
           "check_provenance"]
