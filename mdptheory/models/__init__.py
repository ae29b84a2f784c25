"""Models: data plus validation. Nothing here computes values."""
from .finite import DiscountedMDP, FiniteHorizonMDP
from .linear import LinearMDP, check_d_rectangular
from .policies import deterministic, greedy, softmax, uniform, validate_policy
from .sparse import SparseTransitions

__all__ = ["FiniteHorizonMDP", "DiscountedMDP", "LinearMDP", "SparseTransitions",
           "check_d_rectangular", "validate_policy", "greedy", "uniform", "deterministic",
           "softmax"]
