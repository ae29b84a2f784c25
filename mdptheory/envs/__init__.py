"""Instance generators: random Garnet MDPs, classic exploration chains, grid worlds on networkx
graphs, random d-rectangular linear MDPs and the papers' simulated linear MDP.

Every generator returns a validated model from :mod:`mdptheory.models`; random ones take the
keyword ``rng`` (a ``numpy.random.Generator`` or an integer seed).
"""
from .classic import chain, combination_lock, river_swim
from .garnet import garnet
from .gridworld import grid_world, grid_world_5x5
from .linear import (
    SIMULATED_ACTIONS,
    random_linear_mdp,
    simulated_linear_mdp,
    simulated_linear_mdp_perturbed,
)

__all__ = ["garnet", "river_swim", "chain", "combination_lock", "grid_world", "grid_world_5x5",
           "random_linear_mdp", "simulated_linear_mdp", "simulated_linear_mdp_perturbed",
           "SIMULATED_ACTIONS"]

# Modules named like their main function (windy_walk, put_option, mismatch_chain) stay modules
# here: ``from mdptheory.envs import windy_walk as W; W.windy_walk(...)``.
_MODULES = ("windy_walk", "put_option", "mismatch_chain", "random_sets", "lower_bound",
            "conservative", "submodular")

# Instances of individual papers, imported on first use (keeps ``import mdptheory`` light).
_LAZY = {
    "random_sets": ["random_rectangular_set", "random_finite_set", "random_affine_set"],
    "put_option": ["always_hold_policy"],
    "lower_bound": ["two_absorbing_state_mdp", "lower_bound_instance"],
    "conservative": ["garnet_instance", "river_swim_instance", "mixture_baseline"],
    "submodular": ["grid_smdp", "graph_smdp", "two_rooms", "paper_grid", "epsilon_bandit",
                   "random_grid_smdp", "coverage", "weighted_coverage", "facility_location",
                   "f_alpha", "check_monotone_submodular"],
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}
__all__ += sorted(_WHERE)


def __getattr__(name):
    import importlib
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

