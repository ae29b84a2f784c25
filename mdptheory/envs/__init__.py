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
