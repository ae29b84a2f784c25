"""Models: data plus validation. Nothing here computes values."""
from .finite import DiscountedMDP, FiniteHorizonMDP
from .linear import LinearMDP, check_d_rectangular
from .policies import deterministic, greedy, softmax, uniform, validate_policy
from .sparse import SparseTransitions

__all__ = [
           "DiscountedMDP",
           "FiniteHorizonMDP",
           "LinearMDP",
           "SparseTransitions",
           "check_d_rectangular",
           "deterministic",
           "greedy",
           "softmax",
           "uniform",
           "validate_policy",
]
