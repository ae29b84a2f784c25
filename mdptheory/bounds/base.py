"""The ``Bound`` record and the registry of theorem bounds.

A bound is a plain function of the problem's parameters (vectorised over the swept one)
wrapped with its provenance: paper, theorem, the quantity it bounds, the rate it implies in
the swept variable, whether its constants are the paper's or only the rate is, and the
assumptions under which it holds. ``register`` adds one to ``REGISTRY`` by name.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bound:
    """A theorem's bound as a callable with metadata.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"ucbvi_ch_regret"``.
    fn : callable
        The bound as a function of the problem's parameters.
    paper, theorem : str
        Citation and theorem number as printed in the paper.
    quantity : str
        What is bounded (e.g. "Regret(K) = sum_k V*(rho0) - V^{pi_k}(rho0)").
    variable : str
        The swept variable the claimed rate refers to (e.g. "K").
    exponent : float
        Growth exponent in ``variable`` of the leading term (ignoring logs), e.g. 0.5.
    constants : {"paper", "rate-only"}
        Whether the numerical constants are the paper's or the function only has the right rate.
    probability : str
        "w.p. >= 1 - delta", "in expectation", "deterministic" ...
    assumptions : tuple of str
        Conditions under which the bound holds, including our reading of the paper.
    parts : callable, optional
        Same arguments as ``fn``; returns ``{"leading": ..., "lower": ...}`` with
        leading + lower == fn(...): the leading part holds every term of the claimed order in
        ``variable`` (log factors included), the lower part the rest. The verdict engine tests a
        rate only where leading >= 10 x lower (docs/verdicts.md).
    """

    name: str
    fn: Callable
    paper: str
    theorem: str
    quantity: str
    variable: str
    exponent: float
    constants: str = "paper"
    probability: str = ""
    assumptions: tuple = field(default_factory=tuple)
    parts: Callable | None = None

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def split(self, *args, **kwargs) -> dict:
        """``{"leading": ..., "lower": ...}`` at these arguments (see ``parts``)."""
        if self.parts is None:
            raise ValueError(f"bound {self.name!r} does not expose its leading and lower-order "
                             f"parts")
        return self.parts(*args, **kwargs)

    def describe(self) -> str:
        """One paragraph for reports."""
        lines = [f"{self.paper}, {self.theorem}: {self.quantity} "
                 f"(rate {self.variable}^{self.exponent}, constants: {self.constants}"
                 + (f", {self.probability}" if self.probability else "") + ")."]
        lines += [f"  - {a}" for a in self.assumptions]
        return "\n".join(lines)


REGISTRY: dict[str, Bound] = {}


def _same_function(a: Callable, b: Callable) -> bool:
    """Whether ``a`` and ``b`` are the same function, possibly from two imports of one module
    (a reload, or the same file imported again): same module and qualified name, and same
    source text (the code object's bytecode and constants when the source is unavailable)."""
    if a is b:
        return True
    if (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) != \
            (getattr(b, "__module__", None), getattr(b, "__qualname__", None)):
        return False
    import inspect

    try:
        return inspect.getsource(a) == inspect.getsource(b)
    except (OSError, TypeError):
        ca, cb = getattr(a, "__code__", None), getattr(b, "__code__", None)
        return ca is not None and cb is not None and \
            (ca.co_code, ca.co_consts, ca.co_names) == (cb.co_code, cb.co_consts, cb.co_names)


def register(name: str, **meta) -> Callable[[Callable], Bound]:
    """Decorator: wrap ``fn`` in a :class:`Bound` named ``name`` and add it to ``REGISTRY``.

    Registering the same bound again (the same function, by module, qualified name and source,
    with the same metadata, e.g. when its module is imported a second time or reloaded) is a
    no-op that returns the registered :class:`Bound`; registering a different function or
    different metadata under a taken name is a ValueError naming both functions.
    """
    def wrap(fn: Callable) -> Bound:
        b = Bound(name=name, fn=fn, **meta)
        old = REGISTRY.get(name)
        if old is not None:
            same_meta = all(getattr(old, f) == getattr(b, f) for f in meta)
            if same_meta and _same_function(old.fn, fn):
                return old
            raise ValueError(
                f"bound {name!r} is already registered by {old.fn.__module__}."
                f"{old.fn.__qualname__}; cannot register {fn.__module__}.{fn.__qualname__}"
                + ("" if same_meta else " (different metadata)") + " under the same name")
        REGISTRY[name] = b
        return b
    return wrap


def get(name: str) -> Bound:
    """The registered bound ``name``; ValueError listing the known names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown bound {name!r}; registered: {', '.join(sorted(REGISTRY))}") \
            from None


__all__ = ["REGISTRY", "Bound", "get", "register"]
