"""Checks every experiment's ``Config`` gets before anything is built.

Every number is finite, inside tuples too. Types follow each field's default (an integer
field takes an integer; a float field an integer or a float, stored as a float so that
``dt_ms=1`` and ``dt_ms=1.0`` are one config). Ranges follow the field naming used
throughout ``experiments``: a time step (``dt_ms``) is positive; a scalar duration, time
constant or rate (``*_ms``, ``*_s``, ``*_hz``) is not negative; a count (``n_*``,
``*_points``, ``*_pairs``, ``*_samples``, ``*_steps``, ``*_inputs``, ``iterations``) is at
least 1; a seed is a non-negative integer. Each module's ``check`` adds its own rules.
"""

from __future__ import annotations

import dataclasses
import math

_COUNT_SUFFIXES = ("_points", "_pairs", "_samples", "_steps", "_inputs")


class ConfigError(ValueError):
    """A config value of the wrong type or outside its range; the message names the fix."""


def _kind(default) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    if isinstance(default, tuple):
        return "tuple"
    return "any"


_NAMES = {"bool": "True or False", "int": "an integer", "float": "a number", "str": "a string",
          "tuple": "a tuple, e.g. (1, 2) or ('lif',)"}  # fmt: skip


def _tuples(value):
    """Lists (from JSON or a literal) as tuples, recursively, as frozen configs hold them."""
    if isinstance(value, list | tuple):
        return tuple(_tuples(item) for item in value)
    return value


def coerce(module, field: str, value):
    """``value`` for ``module``'s config ``field``, converted where the conversion loses
    nothing (int to float, list to tuple); ConfigError if it has the wrong type."""
    default = getattr(module.SCALES["quick"], field)
    kind = _kind(default)
    value = _tuples(value)
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    ok = {
        "bool": lambda: isinstance(value, bool),
        "int": lambda: isinstance(value, int) and not isinstance(value, bool),
        "float": lambda: isinstance(value, float),
        "str": lambda: isinstance(value, str),
        "tuple": lambda: isinstance(value, tuple),
        "any": lambda: True,
    }[kind]()
    if not ok:
        raise ConfigError(
            f"{module.NAME}: {field} must be {_NAMES[kind]} (default {default!r}); got {value!r}"
        )
    return value


def _range_rule(name: str, value) -> str | None:
    """What the field name promises about a scalar number, if it is broken."""
    if name == "seed":
        return None if value >= 0 else "a non-negative integer"
    if name == "dt_ms" or name.endswith("_dt_ms"):
        return None if value > 0 else "positive (a time step)"
    if name.endswith(("_ms", "_s", "_hz")):
        return None if value >= 0 else "not negative (a duration, time constant or rate)"
    if isinstance(value, int) and (
        name.startswith("n_") or name.endswith(_COUNT_SUFFIXES) or name == "iterations"
    ):
        return None if value >= 1 else "at least 1 (a count)"
    return None


def _finite(value) -> bool:
    """No inf or nan anywhere in ``value``, tuples searched to any depth."""
    if isinstance(value, tuple):
        return all(_finite(item) for item in value)
    return not isinstance(value, float) or math.isfinite(value)


def checked(module, config):
    """``config`` with lossless conversions applied (see ``coerce``); ConfigError naming the
    first field with a wrong type or range."""
    changes = {}
    for field in dataclasses.fields(config):
        value = coerce(module, field.name, getattr(config, field.name))
        if not _finite(value):
            raise ConfigError(
                f"{module.NAME}: {field.name} must hold finite numbers only (an inf or nan "
                f"simulates as NaN or breaks the build); got {value!r}"
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            broken = _range_rule(field.name, value)
            if broken:
                raise ConfigError(f"{module.NAME}: {field.name} must be {broken}; got {value!r}")
        changes[field.name] = value
    _check_models(module, changes)
    return dataclasses.replace(config, **changes)


def _check_models(module, fields: dict) -> None:
    """Neuron lists are not empty, and every override names a neuron that is run."""
    if "neurons" in fields and not fields["neurons"]:
        raise ConfigError(f"{module.NAME}: neurons must name at least one model, e.g. ('lif',)")
    if "overrides" not in fields:
        return
    run = set(fields.get("neurons", ())) | {fields.get("neuron")}
    for override in fields["overrides"]:
        if len(override) != 3 or not all(isinstance(part, str) for part in override):
            raise ConfigError(
                f"{module.NAME}: each override is (model, parameter or 'equation', value) as "
                f"strings, e.g. ('lif', 'tau_m', '10*ms'); got {override!r}"
            )
    stray = sorted({name for name, _, _ in fields["overrides"]} - run)
    if stray:
        raise ConfigError(
            f"{module.NAME}: overrides name {stray}, which are not among the neurons run"
        )
