"""Model records: the equations, conditions and unit-carrying parameters of one model.

A record is data. It never builds or runs anything; ``experiments`` turns a record into Brian2
objects. Every parameter becomes a model variable declared ``(shared, constant)`` (or
``(constant)`` per neuron, on request), so an experiment can sweep it without editing code and
without recompiling a standalone build.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import math
import operator
import re
import sys
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from brian2 import DimensionMismatchError, Equations, Quantity, get_dimensions
from brian2.core.namespace import DEFAULT_UNITS
from brian2.equations.equations import EQUATIONS, EquationError
from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit
from brian2.utils.stringtools import get_identifiers
from pyparsing import ParseException


class ModelError(ValueError):
    """A model record, parameter or equation that cannot be used; the message names the fix."""


def unit_string(quantity) -> str:
    """The unit of ``quantity`` as Brian2 writes it in an equation declaration."""
    dim = get_dimensions(quantity)
    return "1" if dim is DIMENSIONLESS else repr(get_unit(dim))


_MAX_QUANTITY_TEXT = 200
_MAX_EXPONENT = 32
_QUANTITY_FORMS = (
    "write a number times Brian2 units, e.g. '20*ms', '20 ms', '-65*mV', '1e-3*ms**-1' or "
    "'0.5': numbers, unit names, + - * / ( ) and ** with a number of magnitude at most "
    f"{_MAX_EXPONENT} as the exponent"
)


class _Refused(Exception):
    """A text outside what the parsers below accept; the message says which part."""


def parse_quantity(text: str) -> Quantity | float:
    """Parse ``'20*ms'``, ``'20 ms'`` or ``'0.5'`` with Brian2's unit names only.

    The text is data: its syntax tree is walked, never evaluated, so it cannot reach Python
    (no names but units, no attributes, calls or subscripts), and exponents are bounded, so
    that ``9**9**9**9`` is refused before anything is computed.
    """
    if len(text) > _MAX_QUANTITY_TEXT:
        raise ModelError(
            f"cannot read {text[:40]!r}... as a quantity: it has {len(text)} characters, more "
            f"than {_MAX_QUANTITY_TEXT}; {_QUANTITY_FORMS}"
        )
    expression = re.sub(r"(?<=[\d.])\s+(?=[A-Za-z])", "*", text.strip())
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ModelError(f"cannot read {text!r} as a quantity; {_QUANTITY_FORMS}") from None
    try:
        with np.errstate(all="ignore"):  # overflow is reported below as a non-finite value
            value = _quantity_value(tree.body)
        if not np.all(np.isfinite(np.asarray(value))):
            raise _Refused(f"its value {value!r} is not finite")
    except _Refused as err:
        raise ModelError(f"cannot read {text!r} as a quantity: {err}; {_QUANTITY_FORMS}") from None
    except (ArithmeticError, DimensionMismatchError) as err:
        raise ModelError(f"cannot read {text!r} as a quantity ({err}); {_QUANTITY_FORMS}") from None
    return value


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _quantity_value(node: ast.AST):
    """The value of a parsed quantity text: numbers and units joined by + - * / ** only."""
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):  # bool, complex, str, bytes, None, ...
            raise _Refused(f"{node.value!r} is not a number")
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in DEFAULT_UNITS:
            raise _Refused(f"{node.id!r} is not a Brian2 unit")
        return DEFAULT_UNITS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _quantity_value(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left = _quantity_value(node.left)
        right = _quantity_value(node.right)
        if isinstance(node.op, ast.Pow) and not (
            type(right) in (int, float) and abs(right) <= _MAX_EXPONENT
        ):
            raise _Refused(
                f"the exponent {right!r} is not a plain number of magnitude at most {_MAX_EXPONENT}"
            )
        value = _OPERATORS[type(node.op)](left, right)
        if isinstance(value, complex):  # a negative number to a fractional power
            raise _Refused(f"({left!r})**{right!r} is not a real number")
        if isinstance(value, int) and abs(value) > sys.float_info.max:  # keeps powers cheap
            raise _Refused("a number in it is too large")
        return value
    raise _Refused(f"{ast.unparse(node)!r} is neither a number nor a unit")


def _freeze(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


def _equation_variable(line: str) -> str:
    """The variable a single equation line defines (``v`` for ``dv/dt = ...``)."""
    _check_equation_text(line)
    try:
        equations = Equations(line)
    except (EquationError, ValueError, SyntaxError) as err:
        raise ModelError(
            f"cannot parse the equation line {line!r}: {err}. Write it as Brian2 does, "
            "for example 'dv/dt = (E_L - v)/tau_m : volt'."
        ) from None
    names = list(equations.names)
    if len(names) != 1:
        raise ModelError(f"give one equation line at a time, got {len(names)} in {line!r}")
    return names[0]


_MAX_EQUATION_BITS = 4096
_EQUATION_FORMS = (
    "equations take numbers, names and Brian2 functions only, with small powers (e.g. v**2, "
    f"x**0.5, x**-1; exponents up to {_MAX_EXPONENT})"
)


@functools.cache  # every copy of a record checks its lines again
def _check_equation_text(text: str) -> None:
    """Refuse what Brian2's equation parser would run or never finish: it hands expressions to
    sympy, which executes a string argument as Python (``f('...')`` is sympified) and computes
    integer powers exactly (``9**9**9**9``, ``exp(387420489*log(9))`` never end)."""
    try:
        parsed = EQUATIONS.parse_string(text, parse_all=True)
    except ParseException:
        return  # Brian2 refuses the line itself, before sympy sees it
    for equation in parsed:
        expression = equation.get("expression")
        if expression is None:
            continue
        try:
            _exact_bits(ast.parse(" ".join(expression.split()), mode="eval").body)
        except SyntaxError:
            continue  # Brian2 parses it the same way and refuses it
        except RecursionError:  # Brian2's parser would stop on it with a traceback
            raise ModelError(
                f"cannot use the equation line {text[:60]!r}...: it is too long or nests too "
                "deeply for Python's parser; split it with a subexpression (x = ... : unit)"
            ) from None
        except _Refused as err:
            raise ModelError(
                f"cannot use the equation line {text!r}: {err}; {_EQUATION_FORMS}"
            ) from None


def _exact_bits(node: ast.AST) -> float:
    """An upper bound on the bits of the integers sympy may compute exactly from ``node``.
    Names count as 1 (sympy may cancel ``v/v``); a call with a ``log`` inside counts as a
    power, since sympy turns ``exp(c*log(x))`` into ``x**c``."""
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float, bool):
            raise _Refused(f"{node.value!r} is not a number")
        bits = math.log2(max(abs(node.value), 1))
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = _exact_bits(node.right)
        if exponent > math.log2(_MAX_EXPONENT):
            raise _Refused(f"the exponent of {ast.unparse(node)!r} may exceed {_MAX_EXPONENT}")
        bits = _exact_bits(node.left) * 2**exponent
    elif isinstance(node, ast.JoinedStr):
        raise _Refused(f"{ast.unparse(node)} is not a number")
    else:
        children = [_exact_bits(child) for child in ast.iter_child_nodes(node)]
        bits = sum(children) + (len(children) > 1)  # a product adds bits, a sum one more
        if isinstance(node, ast.Call) and any(
            isinstance(inner, ast.Call) and getattr(inner.func, "id", "") in ("log", "log10")
            for argument in node.args
            for inner in ast.walk(argument)
        ):
            bits = 2 ** min(bits, 64)
    if bits > _MAX_EQUATION_BITS:
        raise _Refused(
            f"{ast.unparse(node)[:60]!r} would make sympy compute numbers of more than "
            f"{_MAX_EQUATION_BITS} bits"
        )
    return bits


@dataclasses.dataclass(frozen=True)
class Record:
    """Fields and behaviour shared by neuron models and plasticity rules."""

    name: str
    equations: str
    params: Mapping[str, Quantity | float]
    citation: str
    # Initial state as Brian2 assignments (variable -> expression, e.g. {"v": "E_L"}); strings
    # are code-generated, so they work on every device.
    initial_values: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Named choices among published conventions (e.g. a refractory boundary), recorded with
    # every result that uses the record.
    options: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Parameters that may be negative although their unit is a conductance, rate or the like
    # (AdEx's subthreshold coupling a), exempt from the sign check of with_params.
    signed: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "params", _freeze(self.params))
        object.__setattr__(self, "initial_values", _freeze(self.initial_values))
        object.__setattr__(self, "options", _freeze(self.options))
        for line in self.equation_lines():
            _equation_variable(line)

    # --- editing a hypothesis -------------------------------------------------------------
    def with_params(self, **values) -> Record:
        """A copy with parameters replaced; each value must carry the default's unit."""
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise ModelError(
                f"{self.name} has no parameter {', '.join(unknown)}; "
                f"its parameters are {', '.join(sorted(self.params))}"
            )
        params = dict(self.params)
        for key, value in values.items():
            if isinstance(value, str):
                value = parse_quantity(value)
            default = self.params[key]
            if get_dimensions(value) is not get_dimensions(default):
                raise ModelError(
                    f"{self.name}.{key} must be in units of {unit_string(default)} "
                    f"(default {default!r}); got {value!r}. Multiply by a Brian2 unit, "
                    f"e.g. {key}={_example(default)}."
                )
            if key not in self.signed:
                _check_range(self.name, key, value)
            params[key] = value
        return dataclasses.replace(self, params=params)

    def with_equation(self, line: str) -> Record:
        """A copy in which the line defining the same variable is replaced by ``line``.

        A line for a variable the model does not have is added, so a hypothesis can introduce
        a new state variable (whose own equation then refers to it).
        """
        variable = _equation_variable(line)
        lines = self.equation_lines()
        replaced = [line if _equation_variable(old) == variable else old for old in lines]
        if replaced == lines and line not in lines:
            replaced.append(line)
        return dataclasses.replace(self, equations="\n".join(replaced))

    def with_initial(self, **values) -> Record:
        """A copy with initial values replaced: each a quantity in the variable's unit or
        Brian2 code (``v='E_L + 5*mV'``), as ``initial_values`` holds them."""
        dims = {name: self.brian_equations()[name].dim for name in self.state_variables()}
        initial = dict(self.initial_values)
        for variable, value in values.items():
            if variable not in dims:
                raise ModelError(
                    f"{self.name} has no state variable {variable!r} to start from a value; "
                    f"its state variables are {', '.join(sorted(dims))}"
                )
            try:
                quantity = (
                    value if isinstance(value, Quantity | float | int) else parse_quantity(value)
                )
            except ModelError:  # code such as 'E_L + 5*mV': its units are checked at build
                initial[variable] = value
                continue
            if get_dimensions(quantity) is not dims[variable]:
                raise ModelError(
                    f"{self.name}: the initial {variable} must be in units of "
                    f"{get_unit(dims[variable])}; got {value!r}"
                )
            initial[variable] = value if isinstance(value, str) else repr(quantity)
        return dataclasses.replace(self, initial_values=initial)

    # --- what experiments consume --------------------------------------------------------
    def state_variables(self) -> list[str]:
        """The variables the equations define (state variables and declared ones)."""
        return [_equation_variable(line) for line in self.equation_lines()]

    def equation_lines(self) -> list[str]:
        """Each equation as one line, comments dropped."""
        lines = []
        for raw in self.equations.splitlines():
            code = raw.split("#", 1)[0].strip()
            if code:
                lines.append(code)
        return lines

    def brian_equations(self, per_neuron: tuple[str, ...] = ()) -> Equations:
        """The model's equations with every parameter declared as a constant variable."""
        unknown = sorted(set(per_neuron) - set(self.params))
        if unknown:
            raise ModelError(
                f"cannot make {', '.join(unknown)} per-neuron: {self.name} has no such "
                f"parameter (it has {', '.join(sorted(self.params))})"
            )
        declarations = []
        for key, value in self.declared_params().items():
            flags = "constant" if key in per_neuron else "shared, constant"
            declarations.append(f"{key} : {unit_string(value)} ({flags})")
        return Equations("\n".join(self.equation_lines() + declarations))

    def declared_params(self) -> Mapping:
        """The parameters that ``brian_equations`` declares."""
        return self.params

    def to_dict(self) -> dict:
        """A JSON-serialisable description, part of every result's config (and its hash)."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "params":
                value = {key: repr(val) for key, val in value.items()}
            elif isinstance(value, Mapping):
                value = dict(value)
            out[field.name] = value
        return out


def _check_range(model: str, key: str, value) -> None:
    """Durations, rates, resistances, capacitances and conductances are not negative, and time
    constants, resistances and capacitances not zero either: such a value is a typo, and Brian2
    would integrate it into NaNs or runaway activity without complaint."""
    from brian2 import farad, hertz, ohm, second, siemens

    dim = get_dimensions(value)
    kinds = {
        get_dimensions(second): "a duration",
        get_dimensions(hertz): "a rate",
        get_dimensions(ohm): "a resistance",
        get_dimensions(farad): "a capacitance",
        get_dimensions(siemens): "a conductance",
    }
    if dim not in kinds:
        return
    strictly = key.startswith("tau") or dim in (get_dimensions(ohm), get_dimensions(farad))
    if value < 0 or (strictly and value == 0):
        what = "a time constant" if key.startswith("tau") else kinds[dim]
        raise ModelError(
            f"{model}.{key} must be {'positive' if strictly else 'non-negative'} ({what}); "
            f"got {value!r}"
        )


def _example(default) -> str:
    dim = get_dimensions(default)
    return repr(default) if dim is not DIMENSIONLESS else f"{float(default)}"


#: What a neuron record tells experiments that tune a layer to it.
SCALES = {
    "resistance": "input resistance: steady depolarisation per unit of input current",
    "tau_syn": "decay time constant of the synaptic current",
    "tau_m": "membrane (integration) time constant",
    "threshold_distance": "steady depolarisation from rest that makes the neuron fire",
}
SCALE_UNITS = {
    "resistance": "ohm",
    "tau_syn": "second",
    "tau_m": "second",
    "threshold_distance": "volt",
}


@dataclasses.dataclass(frozen=True)
class NeuronModel(Record):
    """A neuron model: state equations plus threshold, reset and refractoriness.

    ``drive`` is the external current an experiment sets (a constant or a ``TimedArray``);
    ``synaptic_input`` is the variable that synapses increment.  ``events`` maps extra event
    names to ``(condition, code)`` pairs, e.g. the second reset of the STDP-aware LIF.
    """

    threshold: str = ""
    reset: str = ""
    refractory: str | None = None
    method: str = "exact"
    drive: str | None = "I"
    synaptic_input: str = "I_syn"
    events: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    # What experiments that tune a layer to the neuron ask of it (``SCALES``), as expressions
    # of its parameters, so that no experiment has to know the model by name.
    scales: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "events", _freeze(self.events))
        object.__setattr__(self, "scales", _freeze(self.scales))
        if not self.threshold:
            raise ModelError(f"neuron model {self.name} needs a threshold condition")
        unknown = sorted(set(self.scales) - set(SCALES))
        if unknown:
            raise ModelError(
                f"neuron model {self.name}: unknown scales {', '.join(unknown)}; a record "
                f"gives {', '.join(SCALES)}"
            )

    def with_rule_state(self, rule: PlasticityRule) -> NeuronModel:
        """This neuron with the state that ``rule`` keeps per postsynaptic neuron: its
        variables, their initial values and the reset code that updates them; each
        postsynaptic neuron trace is set by the reset and decays once per step after it
        (an event of every step, so that the decay is exact whatever the model's method)."""
        traces = rule.traces_on("post")
        if not rule.post_equations and not traces:
            return self
        model = self
        for line in rule.post_equations.splitlines():
            if line.split("#", 1)[0].strip():
                model = model.with_equation(line)
        resets, events, params = [rule.post_reset], dict(model.events), dict(model.params)
        # the rule's parameters that its postsynaptic code reads: the traces' time constants
        # and any its reset names
        read = {tau for tau, _ in traces.values()}
        read |= get_identifiers(rule.post_reset) & set(rule.params)
        for key in sorted(read):
            if key in params and params[key] != rule.params[key]:
                raise ModelError(
                    f"{rule.name} keeps {key} = {rule.params[key]!r} on each postsynaptic "
                    f"neuron, but {self.name} has its own {key} = {params[key]!r}: rename "
                    "one of them"
                )
            params[key] = rule.params[key]
        for trace, (tau, update) in traces.items():
            model = model.with_equation(f"{trace} : 1  # {rule.name}'s postsynaptic trace")
            resets.append(f"{trace} {TRACE_UPDATES[update]} 1")
            events[f"{trace}_decay"] = ("True", f"{trace} = {trace}*exp(-dt/{tau})")
        model = dataclasses.replace(
            model,
            reset="\n".join([model.reset, *resets]).strip(),
            events=events,
            params=params,
        )
        return model.with_initial(**rule.post_initial_values)

    def scale_values(self) -> dict:
        """``SCALES`` as quantities, evaluated with the record's parameters; a ModelError
        saying what to add when the record does not give them all."""
        missing = [key for key in SCALES if key not in self.scales]
        if missing:
            raise ModelError(
                f"neuron model {self.name} does not give the scales that layers tuned to "
                "their neuron need: add scales={...} to its record with an expression of its "
                "parameters for "
                + "; ".join(f"{key} ({SCALES[key]})" for key in missing)
                + " (models/neurons.py gives lif's)"
            )
        functions = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt}
        namespace = {**DEFAULT_UNITS, **functions, **self.params, "__builtins__": {}}
        values = {}
        for key, expression in self.scales.items():
            value = eval(expression, namespace)  # noqa: S307  (the record's own expression)
            if get_dimensions(value) is not get_dimensions(DEFAULT_UNITS[SCALE_UNITS[key]]):
                raise ModelError(
                    f"neuron model {self.name}: scales[{key!r}] = {expression!r} is "
                    f"{value!r}, not in units of {SCALE_UNITS[key]}"
                )
            values[key] = value
        return values


#: What a spike does to a neuron trace (``PlasticityRule.neuron_traces``): its operator with 1.
TRACE_UPDATES = {"add": "+=", "set": "="}


@dataclasses.dataclass(frozen=True)
class PlasticityRule(Record):
    """A synaptic plasticity rule: synapse equations and the pre/post event code.

    The weight is the dimensionless variable ``w``; how ``w`` acts on the target neuron is the
    experiment's choice and is prepended to ``on_pre`` when the synapses are built.
    """

    on_pre: str = ""
    on_post: str = ""
    method: str = "exact"
    # State the rule keeps once per postsynaptic neuron instead of once per synapse: equation
    # lines for the postsynaptic group and code its reset runs (after the synapses' ``on_post``,
    # which therefore reads the values from before the spike). See NeuronModel.with_rule_state.
    post_equations: str = ""
    post_reset: str = ""
    post_initial_values: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Exponential traces kept once per neuron instead of once per synapse (exact where a trace
    # follows its own neuron's spikes only, as in all-to-all and nearest pair rules): name ->
    # (side "pre" or "post", the parameter that is its time constant, what a spike does to
    # it: "add" 1, all-to-all, or "set" it to 1, nearest).
    # The synapse code reads them as name_pre or name_post. A presynaptic trace lives in a
    # relay group that repeats the source's spikes (experiments.networks.build), a
    # postsynaptic one in the target (NeuronModel.with_rule_state).
    neuron_traces: Mapping[str, tuple[str, str, str]] = dataclasses.field(default_factory=dict)
    # Deferred potentiation (models.deferred): the code that applies what the postsynaptic
    # spikes since the synapse's last presynaptic spike owe it. The network builder runs it
    # first at each presynaptic spike (before transmission: the eager rule's weight already
    # holds it) and over every synapse after every run, keeps the presynaptic trace as its
    # value at the last arrival and gives the target the functions its history needs.
    on_pre_owed: str = ""

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "post_initial_values", _freeze(self.post_initial_values))
        object.__setattr__(self, "neuron_traces", _freeze(self.neuron_traces))
        for trace, (side, tau, update) in self.neuron_traces.items():
            if side not in ("pre", "post") or tau not in self.params or update not in TRACE_UPDATES:
                raise ModelError(
                    f"{self.name}: neuron trace {trace!r} needs side 'pre' or 'post', a "
                    f"time-constant parameter of the rule and an update of "
                    f"{', '.join(TRACE_UPDATES)}; got {side!r}, {tau!r}, {update!r}"
                )

    @property
    def deferred_potentiation(self) -> bool:
        return bool(self.on_pre_owed)

    def declared_params(self) -> Mapping:
        """The parameters the synapses hold: not the time constants of neuron traces, which
        the groups that keep the traces hold."""
        taus = {tau for _, tau, _ in self.neuron_traces.values()}
        return {key: value for key, value in self.params.items() if key not in taus}

    def traces_on(self, side: str) -> dict:
        """The neuron traces kept on ``side`` ("pre" or "post"): name -> (tau's name, update)."""
        return {
            trace: (tau, update)
            for trace, (trace_side, tau, update) in self.neuron_traces.items()
            if trace_side == side
        }
