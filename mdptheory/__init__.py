"""mdptheory: exact MDP ground truth, faithful theoretical RL algorithms, and checked theorems.

    import mdptheory as mt
    mdp = mt.envs.river_swim(S=6, H=20)
    sol = mt.solvers.backward_induction(mdp)          # exact V*, Q*, pi*
    mt.worst_case_mean(p, v, "kl", radius=0.1)        # exact robust inner problem
"""
from .experiments_registry import mount_source_folders

mount_source_folders()   # a source checkout's experiments/, proofs_check/ as mdptheory.<folder>

from . import analysis, bounds, envs, interop, models, runner, solvers
from .interop import from_gymnasium, from_mdptoolbox, from_quantecon, to_gymnasium, to_quantecon
from .models import DiscountedMDP, FiniteHorizonMDP, LinearMDP, SparseTransitions, rescale_rewards
from .solvers import regularized_worst_case_mean, worst_case_mean

__version__ = "0.1.0"

__all__ = ["FiniteHorizonMDP", "DiscountedMDP", "LinearMDP", "SparseTransitions",
           "worst_case_mean", "regularized_worst_case_mean", "models", "solvers", "envs",
           "analysis", "bounds", "runner", "interop", "from_mdptoolbox", "from_quantecon",
           "to_quantecon", "from_gymnasium", "to_gymnasium", "rescale_rewards"]
