"""The verdict record: one checked claim of one theorem (DESIGN.md, "What verified means")."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Verdict:
    """Measured quantity vs a theorem's bound and claimed growth exponent.

    ``passed`` is True when the measured value sits under the bound (where a bound applies) and
    the claimed exponent lies in the bootstrap CI of the fitted one, or, when the claim is an
    upper rate (``exponent_is_upper``: y = O(x^claimed)), the CI's lower end is at most the
    claimed exponent (no significantly faster growth), where an exponent applies.
    Fields that do not apply are None (null in verdict.json).
    """

    paper: str
    theorem: str
    claim: str
    passed: bool
    measured: float | None = None
    bound: float | None = None
    exponent: float | None = None
    exponent_ci: tuple[float, float] | None = None
    claimed_exponent: float | None = None
    note: str = ""
    exponent_is_upper: bool = False

    def to_dict(self) -> dict:
        """JSON-ready dict with the keys of verdict.json's "claims" entries (NaN -> None)."""
        d = asdict(self)
        for key in ("measured", "bound", "exponent", "claimed_exponent"):
            v = d[key]
            d[key] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        if d["exponent_ci"] is not None:
            d["exponent_ci"] = [float(x) for x in d["exponent_ci"]]
        d["passed"] = bool(d["passed"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Verdict":
        fields = dict(d)
        if fields.get("exponent_ci") is not None:
            fields["exponent_ci"] = tuple(fields["exponent_ci"])
        return cls(**{k: v for k, v in fields.items() if k in cls.__dataclass_fields__})
