"""Proof checks run with the project's hypothesis profile: derandomized ("ci") unless
MDPTHEORY_HYPOTHESIS_PROFILE=fuzz (``make fuzz``)."""
from mdptheory.testing import load_profile

load_profile()
