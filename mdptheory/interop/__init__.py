"""Interoperability: converters from and to the peers' layouts (mdptoolbox, QuantEcon) and
gymnasium in both directions. gymnasium is optional (``pip install 'mdptheory[gym]'``)."""
from .gym import NoTransitionTableError, from_gymnasium, to_gymnasium
from .peers import from_mdptoolbox, from_quantecon, to_quantecon

__all__ = ["NoTransitionTableError", "from_gymnasium", "from_mdptoolbox", "from_quantecon",
           "to_gymnasium", "to_quantecon"]
