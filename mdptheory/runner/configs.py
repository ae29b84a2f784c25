"""Checking an experiment's config in the driver, before any worker starts.

Three layers, applied by :func:`mdptheory.runner.sweep.run_experiment` (types) and
:func:`mdptheory.runner.sweep.run_sweep` (rules and hook):

1. **Types** (:func:`coerce`): a value given for a key (``--set key=value``, a ``--grid`` value,
   or an ``overrides`` entry) must have the type of the value the experiment's CONFIG (SMALL)
   holds for that key; text from the command line is read as that type.

   ============  =============================================================================
   config holds  accepted
   ============  =============================================================================
   bool          true/false, yes/no, on/off, 1/0 (any case); Python ``bool``
   int           an integer (``2000``, ``1e5``, ``2_000``); ``2.5`` is an error
   float         any real number (an int becomes a float); ``inf``; ``nan`` is an error
   str           the text as it is (quotes around it are removed)
   list / tuple  a list ``[v1, v2]`` (or ``(v1, v2)``), each element checked against the
                 config's elements (several element types: any of them); container kept
   None          a Python literal, else the text
   ============  =============================================================================

2. **Generic rules by key name** (:func:`rule_errors`), for numbers, elementwise in lists:

   * counts, sizes and horizons are >= 1: keys whose name, split at ``_``, has a part in
     :data:`COUNT_PARTS` (``K``, ``N``, ``H``, ``S``, ``A``, ``d``, ``n``, ``checkpoints``,
     ``epochs``, ``batch`` ...), e.g. ``K``, ``river_H``, ``garnet_S``, ``N_E``, ``n_K``;
     an experiment may name, in its module-level tuple ``ZERO_MEANS_DEFAULT``, count keys for
     which 0 means "the default" (e.g. the released code's own number of epochs);
   * probabilities are in (0, 1): keys in :data:`PROBABILITY_KEYS` (``delta``).

3. **The experiment's own hook**: an experiment may define ``check_config(config)`` that raises
   ``ValueError`` for a config it cannot run (e.g. an instance that cannot be built); its
   message becomes the one-line usage error.

Every failure raises :class:`ConfigError` (a ``ValueError``), which ``mdptheory run`` reports in
one line with exit status 2.
"""
from __future__ import annotations

import ast
import math
from collections.abc import Callable

#: Name parts (split at "_") that make a key a count, size or horizon (>= 1).
COUNT_PARTS = frozenset({
    "K", "N", "H", "S", "A", "d", "n", "checkpoints", "epochs", "batch", "repeats", "reps",
    "iter", "iters", "iterations", "inits", "restarts", "steps", "branching", "instances",
    "threads", "models", "size"})
#: Keys that are probabilities in the open interval (0, 1).
PROBABILITY_KEYS = frozenset({"delta"})

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


class ConfigError(ValueError):
    """A config value of the wrong type or out of range (one line, names key and value)."""


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _split_list(text: str) -> list[str] | None:
    """'[a, b]' / '(a, b)' -> ['a', 'b'] for bare words that are not Python literals."""
    text = text.strip()
    if len(text) >= 2 and text[0] + text[-1] in ("[]", "()"):
        inner = text[1:-1].strip()
        return [] if not inner else [p.strip() for p in inner.split(",")]
    return None


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if value is None:
        return "none"
    return "other"


def _to_bool(key, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(f"{key}={value!r}: expected a boolean (true/false, yes/no, 1/0)")


def _to_int(key, value):
    if isinstance(value, str):
        value = _literal(value.strip())
    if isinstance(value, bool):
        raise ConfigError(f"{key}={value!r}: expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)          # 1e5 -> 100000
    raise ConfigError(f"{key}={value!r}: expected an integer")


def _to_float(key, value):
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text.replace("_", "")) if text else text
        except ValueError:
            raise ConfigError(f"{key}={value!r}: expected a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}={value!r}: expected a number")
    value = float(value)
    if math.isnan(value):
        raise ConfigError(f"{key}={value!r}: expected a number, got nan")
    return value


def _to_str(key, value):
    if isinstance(value, str):
        text = value.strip()
        lit = _literal(text)
        return lit if isinstance(lit, str) else value
    raise ConfigError(f"{key}={value!r}: expected a string")


def _to_list(key, value, reference):
    if isinstance(value, str):
        parsed = _literal(value.strip())
        if not isinstance(parsed, (list, tuple)):
            parsed = _split_list(value)
        if parsed is None:
            raise ConfigError(f"{key}={value!r}: expected a list like [v1, v2]")
        value = parsed
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key}={value!r}: expected a list like [v1, v2]")
    templates = list(reference)
    out = []
    for i, item in enumerate(value):
        out.append(_coerce_element(f"{key}[{i}]", item, templates) if templates else item)
    return type(reference)(out)


def _coerce_element(key, item, templates):
    """``item`` as the type of one of ``templates`` (the reference list's elements)."""
    first_error = None
    # text is tried as the typed templates before the string ones, so "[1, inf]" against
    # (1, 'inf') reads 1 as an int and 'inf' as a string; Python values try their own kind first
    if isinstance(item, str):
        ordered = sorted(templates, key=lambda t: _kind(t) == "str")
    else:
        ordered = sorted(templates, key=lambda t: _kind(t) != _kind(item))
    seen = set()
    for t in ordered:
        sig = (_kind(t), len(t) if isinstance(t, (list, tuple)) else None)
        if sig in seen:
            continue
        seen.add(sig)
        try:
            return coerce(key, item, t)
        except ConfigError as exc:
            first_error = first_error or exc
    raise first_error


def coerce(key: str, value, reference):
    """``value`` read and checked as the type of ``reference`` (the config's value for ``key``);
    ConfigError otherwise. Text (from the command line) is parsed; Python values are checked."""
    kind = _kind(reference)
    if kind == "bool":
        return _to_bool(key, value)
    if kind == "int":
        return _to_int(key, value)
    if kind == "float":
        return _to_float(key, value)
    if kind == "str":
        return _to_str(key, value)
    if kind == "list":
        return _to_list(key, value, reference)
    if isinstance(value, str):        # None or another type: a literal, else the text
        text = value.strip()
        return None if text in ("None", "none", "null") else _literal(text)
    return value


def parse_grid_values(key: str, value, reference) -> list:
    """The values of ``--grid key=[v1, v2, ...]``, each coerced like a ``--set`` value, with
    duplicates (after coercion: ``[2000, 2000.0]`` for an int key) dropped, order kept."""
    if isinstance(value, str):
        parsed = _literal(value.strip())
        if not isinstance(parsed, (list, tuple)):
            parsed = _split_list(value)
        if parsed is None:
            raise ConfigError(f"--grid {key}={value!r}: expected {key}=[v1, v2, ...]")
        value = parsed
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"--grid {key}={value!r}: expected a non-empty list [v1, v2, ...]")
    out, seen = [], set()
    for i, item in enumerate(value):
        typed = coerce(f"{key}", item, reference)
        marker = repr(typed)
        if marker not in seen:
            seen.add(marker)
            out.append(typed)
    return out


def _is_count_key(key: str) -> bool:
    return any(part in COUNT_PARTS for part in key.split("_"))


def _numbers(value):
    """(index suffix, number) for a number or the numbers nested in a list/tuple."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield "", value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            for suffix, x in _numbers(item):
                yield f"[{i}]{suffix}", x


def rule_errors(config: dict, zero_means_default=()) -> list[str]:
    """Messages for the values that break the generic rules by key name (see module doc).
    Count keys in ``zero_means_default`` may also be exactly 0."""
    errors = []
    for key, value in config.items():
        if key == "seeds":
            continue
        if _is_count_key(key):
            for suffix, x in _numbers(value):
                if key in zero_means_default and isinstance(x, int) and x == 0:
                    continue
                if not (isinstance(x, int) or (isinstance(x, float) and math.isinf(x))) or x < 1:
                    errors.append(f"{key}{suffix}={x!r}: a count must be an integer >= 1")
        if key in PROBABILITY_KEYS:
            for suffix, x in _numbers(value):
                if not 0 < x < 1:
                    errors.append(f"{key}{suffix}={x!r}: a probability must lie in (0, 1)")
    return errors


def check_config(config: dict, hook: Callable[[dict], object] | None = None,
                 zero_means_default=()) -> None:
    """Generic rules, then the experiment's ``check_config`` hook; ConfigError on the first
    failure (the hook's ValueError/TypeError message is kept). ``zero_means_default``: the
    experiment's count keys that may be 0 (its ``ZERO_MEANS_DEFAULT``)."""
    errors = rule_errors(config, zero_means_default)
    if errors:
        raise ConfigError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1
                                       else ""))
    if hook is not None:
        try:
            hook(dict(config))
        except (ValueError, TypeError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise ConfigError(f"config rejected by the experiment: {message}") from None



__all__ = [
    "COUNT_PARTS",
    "PROBABILITY_KEYS",
    "ConfigError",
    "check_config",
    "coerce",
    "parse_grid_values",
    "rule_errors",
]
