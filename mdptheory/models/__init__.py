"""Models: data plus validation. Nothing here computes values."""
from .finite import DiscountedMDP, FiniteHorizonMDP, check_mask
from .linear import LinearMDP, check_d_rectangular
from .policies import deterministic, greedy, softmax, uniform, validate_policy
from .rescale import RewardMap, rescale_rewards
from .sparse import SparseTransitions

__all__ = [
    "DiscountedMDP",
    "FiniteHorizonMDP",
    "LinearMDP",
    "RewardMap",
    "SparseTransitions",
    "check_d_rectangular",
    "check_mask",
    "deterministic",
    "greedy",
    "rescale_rewards",
    "softmax",
    "uniform",
    "validate_policy",
]
