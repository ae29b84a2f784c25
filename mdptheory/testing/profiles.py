"""Hypothesis profiles: a derandomized ``ci`` profile and a random-seed ``fuzz`` profile.

``make test`` (and so CI) runs every property with the ``ci`` profile: derandomized (the same
examples on every run, so a clean clone cannot fail by chance), no example database, and each
test's own example count. ``make fuzz`` runs the same properties with the ``fuzz`` profile:
random seeds and ``FUZZ_FACTOR`` times as many examples. The profile is chosen by the
environment variable ``MDPTHEORY_HYPOTHESIS_PROFILE`` (default ``ci``) and loaded by
``tests/conftest.py`` and ``proofs_check/conftest.py`` before any test module is imported.

Tests size their example counts with :func:`examples`, which scales under the fuzz profile::

    from mdptheory.testing import examples

    @examples(60)
    @given(...)
    def test_something(...): ...

Every failure fuzzing finds becomes an ``@example(...)`` regression next to the test.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: Environment variable naming the profile to load ("ci" or "fuzz").
PROFILE_ENV = "MDPTHEORY_HYPOTHESIS_PROFILE"
#: How many times more examples each test draws under the fuzz profile.
FUZZ_FACTOR = int(os.environ.get("MDPTHEORY_FUZZ_FACTOR", "20"))

settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.register_profile("fuzz", derandomize=False, database=None, deadline=None,
                          print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])


def profile_name() -> str:
    """The profile selected by the environment ("ci" unless told otherwise)."""
    name = os.environ.get(PROFILE_ENV, "ci").strip() or "ci"
    if name not in ("ci", "fuzz"):
        raise ValueError(f"{PROFILE_ENV}={name!r}: expected 'ci' or 'fuzz'")
    return name


def load_profile() -> str:
    """Load the selected profile into hypothesis; returns its name."""
    name = profile_name()
    settings.load_profile(name)
    return name


def examples(n: int, **kwargs) -> settings:
    """``settings(max_examples=n)`` under ``ci``, ``n * FUZZ_FACTOR`` under ``fuzz``.

    Further keyword arguments go to :class:`hypothesis.settings` (``deadline`` defaults to None).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    factor = FUZZ_FACTOR if profile_name() == "fuzz" else 1
    kwargs.setdefault("deadline", None)
    return settings(max_examples=int(n) * factor, **kwargs)


__all__ = ["FUZZ_FACTOR", "PROFILE_ENV", "examples", "load_profile", "profile_name"]
