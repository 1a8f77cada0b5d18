"""Checks every experiment's ``Config`` gets before anything is built.

Every number is finite, inside tuples too. Types follow each field's default (an integer
field takes an integer; a float field an integer or a float, stored as a float so that
``dt_ms=1`` and ``dt_ms=1.0`` are one config). Ranges follow the field naming used
throughout ``experiments``: a time step (``dt_ms``) is positive; a scalar duration or rate
(``*_ms``, ``*_s``, ``*_hz``) is not negative; a count (``n_*``,
``*_points``, ``*_pairs``, ``*_samples``, ``*_steps``, ``*_inputs``, ``*iterations``) is at
least 1; a seed is an integer from 0 to 2**32 - 1; a time constant (``tau`` in the name) is
positive. Each module's ``check`` adds its own rules.

Each field's meaning is the ``#:`` comment above it in its ``Config``; ``describe_config``
lists the fields with their defaults and units (``stdplab run EXPERIMENT --help``).
``build_config`` applies the command line's changes (``stdplab run`` and ``stdplab sweep``).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import re
import textwrap
import typing

_COUNT_SUFFIXES = ("_points", "_pairs", "_samples", "_steps", "_inputs", "_iterations")


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


_NAMES = {
    "bool": "True or False",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "tuple": "a tuple, e.g. (1, 2) or ('lif',)",
}


def _tuples(value):
    """Lists (from JSON or a literal) as tuples, recursively, as frozen configs hold them."""
    if isinstance(value, list | tuple):
        return tuple(_tuples(item) for item in value)
    return value


def coerce(module, field: str, value):
    """``value`` for ``module``'s config ``field``, converted where the conversion loses
    nothing (int to float, list to tuple); ConfigError if it has the wrong type, a tuple's
    items included (see ``tuple_shape``)."""
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
    if kind == "tuple":
        shape = tuple_shape(typing.get_type_hints(type(module.SCALES["quick"]))[field])
        if not _matches(value, shape):
            raise ConfigError(
                f"{module.NAME}: {field} must be {_shape_words(shape)} (default "
                f"{_shown(default)}); got {value!r}"
            )
    return value


def tuple_shape(hint):
    """The shape a tuple field's type annotation declares: ("list", item shape) for
    ``tuple[X, ...]``, ("record", [shape per position]) for a fixed record such as
    ``tuple[int, int, float]``, a kind name for a scalar, "any" where it says nothing."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return ("list", tuple_shape(args[0]))
        return ("record", [tuple_shape(arg) for arg in args]) if args else ("list", "any")
    return {int: "int", float: "number", str: "str", bool: "bool"}.get(hint, "any")


_KIND_TYPES = {"int": int, "number": int | float, "str": str, "bool": bool}
_KIND_WORDS = {
    "int": "integer",
    "number": "number",
    "str": "string",
    "bool": "boolean",
    "any": "value",
}


def _matches(value, shape) -> bool:
    if shape == "any":
        return True
    if isinstance(shape, str):  # a bool is an int to Python, never a count or number here
        return isinstance(value, _KIND_TYPES[shape]) and isinstance(value, bool) == (
            shape == "bool"
        )
    form, inner = shape
    if not isinstance(value, tuple):
        return False
    if form == "list":
        return all(_matches(item, inner) for item in value)
    return len(value) == len(inner) and all(map(_matches, value, inner))


def _shape_words(shape) -> str:
    form, inner = shape
    if form == "record":
        return f"a tuple of {len(inner)} items ({', '.join(_KIND_WORDS[k] for k in inner)})"
    if inner == "any":
        return "a tuple"
    if isinstance(inner, str):
        return f"a tuple of {_KIND_WORDS[inner]}s"
    return f"a tuple of ({', '.join(_KIND_WORDS[k] for k in inner[1])}) tuples"


def _range_rule(name: str, value) -> str | None:
    """What the field name promises about a scalar number, if it is broken."""
    if name == "seed":  # Brian2 and numpy seed a 32-bit Mersenne Twister
        return None if 0 <= value < 2**32 else "an integer from 0 to 2**32 - 1"
    if name == "dt_ms" or name.endswith("_dt_ms"):
        return None if value > 0 else "positive (a time step)"
    if "tau" in name.split("_"):  # a decay divides by it
        return None if value > 0 else "positive (a time constant)"
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


def require_values(config, *fields: str) -> None:
    """ConfigError for the first of ``fields`` (tuples, each value a condition of the
    protocol) that holds no value: an empty list of conditions measures nothing."""
    for field in fields:
        if not getattr(config, field):
            raise ConfigError(
                f"{field} must hold at least one value (each is a condition of the protocol; "
                f"default {_shown(getattr(type(config)(), field))})"
            )


def checked(module, config):
    """``config`` with lossless conversions applied (see ``coerce``); ConfigError naming the
    first field with a wrong type or range."""
    config = _records_as_names(module, config)
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


def _records_as_names(module, config):
    """``config`` with each neuron model record (``LIF.with_params(tau_m=40*ms)``) in
    ``neurons`` or ``neuron`` replaced by its name, its changes added to ``overrides`` (as
    --set adds them): a config stays plain data, so config.json, the label, sweeps and run_args
    reuse work on it unchanged."""
    from models.base import NeuronModel

    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    overrides, replaced = list(fields.get("overrides", ())), {}
    for key in ("neurons", "neuron"):
        value = fields.get(key)
        models = value if isinstance(value, tuple) else (value,)
        if not any(isinstance(model, NeuronModel) for model in models):
            continue
        names = [getattr(model, "name", model) for model in models]
        for model in models:
            changes = _changes(module, model) if isinstance(model, NeuronModel) else []
            if changes and "overrides" not in fields:
                raise ConfigError(
                    f"{module.NAME} runs its {key} unchanged (it has no overrides); pass "
                    f"{model.name!r} or its unchanged record"
                )
            if changes and names.count(model.name) > 1:
                raise ConfigError(
                    f"{module.NAME}: {key} hold {model.name!r} more than once, and a changed "
                    "record's overrides would apply to each; run one version per config, or "
                    f"sweep the change (stdplab sweep {module.NAME} {model.name}.PARAM=V1,V2)"
                )
            overrides += changes
        replaced[key] = tuple(names) if isinstance(value, tuple) else names[0]
    if replaced and "overrides" in fields:
        replaced["overrides"] = tuple(overrides)
    return dataclasses.replace(config, **replaced) if replaced else config


def _changes(module, record) -> list[tuple[str, str, str]]:
    """``record``'s differences from the model of its name, as override triples."""
    from experiments.networks.build import resolve_neuron
    from models.base import parse_quantity, unit_string
    from models.neurons import get_neuron

    base = get_neuron(record.name)
    changes = []
    for key, value in record.params.items():
        if key in base.params and value != base.params[key]:
            text = repr(value)  # readable, where it reads back exactly; else exact SI
            if parse_quantity(text) != value:
                text = f"{float(value)!r}*{unit_string(value)}"
            changes.append((record.name, key, text))
    lines = base.equation_lines()
    changes += [
        (record.name, "equation", line) for line in record.equation_lines() if line not in lines
    ]
    changes += [
        (record.name, f"initial.{variable}", value)
        for variable, value in record.initial_values.items()
        if base.initial_values.get(variable) != value
    ]
    if resolve_neuron(record.name, tuple(changes)) != record:
        raise ConfigError(
            f"{module.NAME}: the record {record.name!r} differs from the model of its name in "
            "more than parameters (with_params), equation lines (with_equation) and initial "
            "values (with_initial), which is all a config can carry; make the change with those"
        )
    return changes


def _check_models(module, fields: dict) -> None:
    """Neuron lists are not empty, and every override names a neuron that is run (those
    the config names, and the fixed ones of a module's ``FIXED_NEURONS``)."""
    if "neurons" in fields and not fields["neurons"]:
        raise ConfigError(f"{module.NAME}: neurons must name at least one model, e.g. ('lif',)")
    if "overrides" not in fields:
        return
    run = (
        set(fields.get("neurons", ()))
        | {fields.get("neuron")}
        | set(getattr(module, "FIXED_NEURONS", ()))
    )
    for override in fields["overrides"]:
        if len(override) != 3 or not all(isinstance(part, str) for part in override):
            raise ConfigError(
                f"{module.NAME}: each override is (model, parameter, 'equation' or "
                f"'initial.VARIABLE', value) as "
                f"strings, e.g. ('lif', 'tau_m', '10*ms'); got {override!r}"
            )
    stray = sorted({name for name, _, _ in fields["overrides"]} - run)
    if stray:
        raise ConfigError(
            f"{module.NAME}: overrides name {stray}, which are not among the neurons run"
        )


# -- what each field means ---------------------------------------------------------------------

#: Units implied by a field name's ending; a meaning that opens with one in brackets, e.g.
#: ``#: [steps] ...``, names the unit of a field whose name does not say it.
_UNIT_SUFFIXES = (("_ms", "ms"), ("_s", "s"), ("_hz", "Hz"))


def field_docs(module) -> dict[str, str]:
    """Field name -> meaning, from the ``#:`` comment lines directly above each field of
    ``module.Config`` (read from the source, where whoever edits a field sees its meaning)."""
    docs, pending = {}, []
    for line in inspect.getsource(module.Config).splitlines():
        stripped = line.strip()
        declared = re.match(r" {4}(\w+)\s*:", line)
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
        elif declared and pending:
            docs[declared.group(1)] = " ".join(pending)
        if not stripped.startswith("#:"):
            pending = []
    return docs


def field_unit(name: str, meaning: str) -> tuple[str, str]:
    """(unit, meaning without its bracketed unit); '' for a dimensionless field."""
    bracket = re.match(r"\[([^\]]+)\]\s*", meaning)
    if bracket:
        return bracket.group(1), meaning[bracket.end() :]
    unit = next((unit for suffix, unit in _UNIT_SUFFIXES if name.endswith(suffix)), "")
    return unit, meaning


def _shown(value, width: int = 48) -> str:
    """``repr(value)``, a long tuple cut to its first items (at least one) and its length."""
    text = repr(value)
    if len(text) <= width or not isinstance(value, tuple):
        return text
    items = [repr(item) for item in value]
    kept = items[:1]
    for item in items[1:]:
        if len(", ".join([*kept, item])) > width - 16:
            break
        kept.append(item)
    return f"({', '.join([*kept, '…'])} {len(value)} items)"


def describe_config(module) -> str:
    """Every config field of ``module``: default at the quick scale (tiny and paper values
    where they differ), unit and meaning."""
    docs = field_docs(module)
    lines = [
        f"config fields of {module.NAME} (--config FIELD=VALUE), with their defaults at the",
        "quick scale and, where they differ, the tiny and paper values:",
    ]
    quick = module.SCALES["quick"]
    for field in dataclasses.fields(quick):
        unit, meaning = field_unit(field.name, docs.get(field.name, ""))
        default = getattr(quick, field.name)
        others = [
            f"{scale} {_shown(getattr(config, field.name), 32)}"
            for scale, config in module.SCALES.items()
            if scale != "quick" and getattr(config, field.name) != default
        ]
        head = f"  {field.name} = {_shown(default)}" + (f" {unit}" if unit else "")
        lines.append(head + (f"  ({'; '.join(others)})" if others else ""))
        lines += textwrap.wrap(
            meaning, 96, initial_indent=" " * 6, subsequent_indent=" " * 6, break_on_hyphens=False
        )
    return "\n".join(lines) + "\n"


class UsageError(ValueError):
    """A command-line value that cannot be used; the message names the fix."""


def parse_assignment(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def build_config(module, scale: str, seed, neurons, sets, config_values):
    """The module's config at ``scale`` with the command line's changes applied."""
    if scale not in module.SCALES:
        raise UsageError(f"unknown scale {scale!r}; choose one of {', '.join(module.SCALES)}")
    config = module.SCALES[scale]
    fields = {f.name for f in dataclasses.fields(config)}
    changes = {}
    for text in config_values:
        key, value = parse_assignment(text)
        if key not in fields:
            raise UsageError(
                f"{module.NAME} has no config field {key!r}; "
                f"its fields are {', '.join(sorted(fields))}"
            )
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = value  # a bare word is a string
        changes[key] = coerce(module, key, parsed)
    if seed is not None:
        changes["seed"] = seed
    if neurons:
        names = tuple(n.strip() for n in neurons.split(",") if n.strip())
        if "neurons" in fields:
            changes["neurons"] = names
        elif "neuron" in fields and len(names) == 1:
            changes["neuron"] = names[0]
        else:
            raise UsageError(
                f"{module.NAME} takes {'one neuron' if 'neuron' in fields else 'no --neuron'}"
            )
    if sets:
        if "overrides" not in fields:
            raise UsageError(f"{module.NAME} takes no model overrides (--set)")
        overrides = []
        for text in sets:
            target, value = parse_assignment(text)
            model, dot, parameter = target.partition(".")
            if not dot:
                raise UsageError(f"--set needs MODEL.PARAMETER=VALUE, got {text!r}")
            overrides.append((model, parameter, value))
        changes["overrides"] = tuple(overrides)
    return dataclasses.replace(config, **changes)
