"""Policy evaluation for every model kind (one entry point, dispatching on the model)."""
from __future__ import annotations

from ..models import DiscountedMDP, FiniteHorizonMDP, LinearMDP
from . import discounted, finite
from .results import PolicyValue


def evaluate_policy(mdp, pi) -> PolicyValue:
    """Exact value of policy ``pi``.

    FiniteHorizonMDP / LinearMDP: pi (H, S, A) (or (S, A), used at every step) ->
    PolicyValue(V (H + 1, S), Q (H, S, A)). DiscountedMDP: pi (S, A) -> PolicyValue(V (S,), Q (S, A)).
    """
    if isinstance(mdp, DiscountedMDP):
        return discounted.evaluate_policy(mdp, pi)
    if isinstance(mdp, (FiniteHorizonMDP, LinearMDP)):
        return finite.evaluate_finite_policy(mdp, pi)
    raise TypeError(f"mdp must be a FiniteHorizonMDP, DiscountedMDP or LinearMDP, "
                    f"got {type(mdp).__name__}")


def evaluate_static(mdp, pi, P_alt) -> PolicyValue:
    """Value of ``pi`` when the environment follows the fixed kernel ``P_alt`` instead of the
    model's P (same shape; rewards and rho0 unchanged). Used by IWOCS's static worst case."""
    if isinstance(mdp, DiscountedMDP):
        return discounted.evaluate_policy(mdp.replace(P=P_alt), pi)
    return finite.evaluate_static_finite(mdp, pi, P_alt)
