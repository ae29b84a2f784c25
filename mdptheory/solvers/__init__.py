"""Exact planning. Every solver returns a frozen :class:`Solution` or :class:`PolicyValue`.

Finite horizon:  backward_induction, evaluate_policy, occupancy_measure, soft_backward_induction,
                 soft_evaluate_policy, evaluate_static
Discounted:      value_iteration, policy_iteration, modified_policy_iteration, evaluate_policy,
                 bellman, bellman_policy
Both:            solve_lp (cvxpy; the independent cross-check)
Average reward:  relative_value_iteration, average_policy_iteration, average_lp,
                 check_unichain, recurrent_classes (unichain models; gamma ignored)
Robust:          robust_backward_induction, robust_evaluate_policy,
                 regularized_robust_backward_induction, regularized_robust_evaluate_policy
Inner problems:  worst_case_mean, regularized_worst_case_mean
"""
from .average import (AverageSolution, MultichainError, average_lp, average_policy_iteration,
                      check_unichain, recurrent_classes, relative_value_iteration)
from .discounted import (bellman, bellman_policy, modified_policy_iteration, policy_iteration,
                         value_iteration)
from .evaluation import evaluate_policy, evaluate_static
from .finite import (backward_induction, occupancy_measure, soft_backward_induction,
                     soft_evaluate_policy)
from .inner import divergence_value, regularized_worst_case_mean, worst_case_mean
from .lp import solve_lp
from .results import PolicyValue, Solution
from .robust import (regularized_robust_backward_induction, regularized_robust_evaluate_policy,
                     robust_backward_induction, robust_evaluate_policy)

__all__ = [
    "backward_induction", "evaluate_policy", "occupancy_measure", "soft_backward_induction",
    "soft_evaluate_policy", "evaluate_static", "value_iteration", "policy_iteration",
    "modified_policy_iteration", "bellman", "bellman_policy", "solve_lp",
    "robust_backward_induction", "robust_evaluate_policy", "regularized_robust_backward_induction",
    "regularized_robust_evaluate_policy", "worst_case_mean", "regularized_worst_case_mean",
    "divergence_value", "Solution", "PolicyValue", "relative_value_iteration",
    "average_policy_iteration", "average_lp", "check_unichain", "recurrent_classes",
    "AverageSolution", "MultichainError",
]
