"""Turn model records into Brian2 objects; check a model on the cheap runtime before compiling."""

from __future__ import annotations

import functools

import numpy as np
from brian2 import (
    BrianObject,
    BrianObjectException,
    DimensionMismatchError,
    Equations,
    Network,
    NeuronGroup,
    Synapses,
    defaultclock,
    ms,
    second,
)
from brian2.utils.logger import get_logger

from models import deferred
from models.base import TRACE_UPDATES, ModelError, NeuronModel, PlasticityRule

logger = get_logger(__name__)

#: A denominator of the exact solution smaller than this fraction of its largest term counts
#: as vanishing. The exact update loses about eps/(dt/tau * fraction) to cancellation: at this
#: fraction and dt/tau = 0.02 the LIF's is 5e-9 off its closed form, as rk4 is at the limit.
EXACT_CANCELLATION = 1e-6
#: The method for such groups: it never divides by a difference of rates, and its truncation
#: error is about (t/tau) (dt/tau)**4 / 120.
DEGENERATE_METHOD = "rk4"


def neuron_group(
    model: NeuronModel,
    n: int,
    name: str,
    per_neuron: dict | None = None,
    dt=None,
) -> NeuronGroup:
    """A group of ``n`` neurons of ``model`` with its parameters set.

    ``per_neuron`` maps parameter names to arrays (length ``n``) for heterogeneous groups;
    all other parameters are shared constants, changeable between standalone runs. The group
    is integrated with ``integration_method(model, per_neuron, dt)``, which Brian2 keeps as
    ``group.method_choice``; a method other than the record's is logged once.
    """
    per_neuron = per_neuron or {}
    method, reason = integration_method(model, per_neuron, dt)
    if reason:
        logger.warn(
            f"{model.name}: {reason}; integrating with {method} instead of {model.method}",
            "exact_solution_degenerate",
            once=True,
        )
    events = {event: condition for event, (condition, _) in model.events.items()}
    group = NeuronGroup(
        n,
        model.brian_equations(per_neuron=tuple(per_neuron)),
        threshold=model.threshold,
        reset=model.reset,
        refractory=model.refractory if model.refractory else False,
        method=method,
        events=events,
        name=name,
        dt=dt,
    )
    for event, (_, code) in model.events.items():
        if code:  # an event without code may still trigger synaptic pathways
            group.run_on_event(event, code)
    set_parameters_and_state(group, model, per_neuron)
    return group


def integration_method(
    model: NeuronModel, per_neuron: dict | None = None, dt=None
) -> tuple[str, str | None]:
    """The method to integrate ``model`` with at its parameter values, and why, where it is
    not the record's.

    Brian2's exact solver writes one solution for all parameter values, in which the rates of
    coupled variables meet as differences in denominators (``tau_syn - tau_m`` for the LIF):
    where the rates coincide the update is 0/0, and where they nearly do it cancels away its
    precision. So where the record asks for "exact", each denominator of that solution is
    evaluated at the record's values and ``per_neuron``'s (every neuron), ``dt`` (default:
    ``defaultclock.dt``) and the refractory flags 0 and 1; one within ``EXACT_CANCELLATION`` of
    zero, relative to its largest term, gives ``DEGENERATE_METHOD`` for the whole group.
    Variables that merely share a rate, uncoupled, never meet in a denominator. A denominator
    that depends on a value set after the group is built (a state variable) is not judged.
    """
    if model.method != "exact":
        return model.method, None
    from brian2.core.namespace import DEFAULT_UNITS

    per_neuron = per_neuron or {}
    equations = "\n".join(model.equation_lines())
    # units written in the equations, unless a variable takes the name (m of Hodgkin-Huxley);
    # pi and e are sympy's own numbers, never symbols here
    defined = Equations(equations).names
    known = {name: float(unit) for name, unit in DEFAULT_UNITS.items() if name not in defined}
    known.update({key: float(value) for key, value in model.params.items()})
    known.update({key: np.asarray(value, dtype=float) for key, value in per_neuron.items()})
    known["dt"] = float(defaultclock.dt if dt is None else dt)
    for denominator, names, terms in _exact_denominators(equations, bool(model.refractory)):
        if not set(names) <= set(known) | {"not_refractory"}:
            continue
        for flag in (0.0, 1.0):
            values = [flag if name == "not_refractory" else known[name] for name in names]
            parts = np.broadcast_arrays(*(np.asarray(term(*values), dtype=float) for term in terms))
            largest = np.max(np.abs(parts), axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                # all terms zero: the denominator is zero too
                ratio = np.where(largest > 0, np.abs(np.sum(parts, axis=0)) / largest, 0.0)
            if np.min(ratio) <= EXACT_CANCELLATION:
                return DEGENERATE_METHOD, (
                    f"Brian2's exact solution divides by {denominator}, {np.min(ratio):.1e} "
                    "of its largest term at these parameter values"
                )
    return model.method, None


@functools.lru_cache(maxsize=64)
def _exact_denominators(equations: str, refractory: bool) -> tuple:
    """(code, symbol names, [term functions]) for each denominator of Brian2's exact update of
    ``equations`` (a record's lines; parameters need no declarations here), refractoriness
    applied as NeuronGroup applies it; () where Brian2 cannot solve them exactly (the group's
    build then reports that)."""
    import sympy
    from brian2 import StateUpdateMethod
    from brian2.equations.equations import extract_constant_subexpressions
    from brian2.equations.refractory import add_refractoriness
    from brian2.parsing.sympytools import str_to_sympy, sympy_to_str
    from brian2.stateupdaters.base import UnsupportedEquationsException

    eqs = Equations(equations)
    if refractory:
        eqs = add_refractoriness(eqs)
    eqs, _ = extract_constant_subexpressions(eqs)
    try:
        code = StateUpdateMethod.apply_stateupdater(eqs, {}, "exact")
    except UnsupportedEquationsException:
        return ()
    denominators = set()
    for line in code.splitlines():
        for node in sympy.preorder_traversal(str_to_sympy(line.split("=", 1)[1])):
            if isinstance(node, sympy.Pow) and node.exp.is_negative:
                denominators.add(node.base)
    found = []
    for denominator in sorted(denominators, key=sympy.default_sort_key):
        symbols = sorted(denominator.free_symbols, key=lambda symbol: symbol.name)
        terms = sympy.Add.make_args(sympy.expand(denominator))
        # int_ is Brian2's int(); the refractory flag arrives as 0.0 or 1.0 already
        functions = [
            sympy.lambdify(symbols, term, modules=[{"int_": lambda x: x}, "numpy"])
            for term in terms
        ]
        found.append((sympy_to_str(denominator), [s.name for s in symbols], functions))
    return tuple(found)


def set_parameters_and_state(group, model, per_neuron: dict | None = None) -> None:
    """Give ``group`` the record's parameter values (``per_neuron`` ones as arrays) and its
    initial state."""
    for key, value in {**model.params, **(per_neuron or {})}.items():
        setattr(group, key, value)
    for variable, value in model.initial_values.items():
        setattr(group, variable, value)


def plastic_synapses(
    rule: PlasticityRule,
    source,
    target,
    name: str,
    transmit: str = "",
    connect: dict | str = "i == j",
    w_init=None,
    delay: dict | None = None,
    transmit_first: bool = True,
    dt=None,
) -> Synapses:
    """Synapses following ``rule``; ``transmit`` (e.g. ``'I_syn_post += w*nA'``) runs on each
    presynaptic spike with the weight from before this spike's update, or with the updated
    weight (as NEST does) when ``transmit_first`` is False. ``delay`` maps pathways to
    homogeneous delays, e.g. ``{'pre': 1*ms, 'post': 2*ms}``. ``dt`` gives the synapses
    their own clock, as ``neuron_group``'s does to a group (default: the default clock).

    A rule with presynaptic neuron traces gets them in a relay group that repeats ``source``'s
    spikes (``presynaptic_relay``): the synapses start from the relay and hold it, with its
    input synapses, as ``synapses.relay``; add both to the network
    (``Network(..., synapses, *synapses.relay)``: standalone builds only the synapses a
    network holds itself). ``transmit`` then reads no variable of ``source``."""
    post_state = Equations(rule.post_equations).names | set(rule.traces_on("post"))
    missing = [variable for variable in sorted(post_state) if variable not in target.variables]
    if missing:
        raise ModelError(
            f"{rule.name} keeps {', '.join(missing)} on each postsynaptic neuron, which "
            f"{target.name} lacks: build the target from model.with_rule_state(rule)"
        )
    relay = ()
    if rule.traces_on("pre"):
        if delay and "post" in delay:
            raise ModelError(
                f"{rule.name} keeps its traces per neuron, where a postsynaptic trace changes "
                "when its neuron spikes, not after a delay: give the post pathway no delay, "
                "or use the rule's per-synapse traces"
            )
        traces = {
            trace: (rule.params[tau], update)
            for trace, (tau, update) in rule.traces_on("pre").items()
        }
        relay = presynaptic_relay(
            source,
            traces,
            name=f"{name}_relay",
            delay=delay,
            dt=dt,
            last_arrival=rule.deferred_potentiation,
        )
        source, delay = relay[0], None
    steps = (transmit, rule.on_pre) if transmit_first else (rule.on_pre, transmit)
    on_pre = "\n".join(code for code in (rule.on_pre_owed, *steps) if code)
    functions = deferred.functions() if rule.deferred_potentiation else {}
    synapses = Synapses(
        source,
        target,
        model=rule.brian_equations(),
        on_pre=on_pre,
        on_post=rule.on_post or None,
        method=rule.method,
        name=name,
        delay=delay,
        dt=dt,
        namespace=functions or None,
    )
    if relay:
        # the pre pathway reads the relay's traces from before this step's spikes, the post
        # pathway after them (the per-synapse form: the pre pathway updates its traces, then
        # the post pathway runs)
        synapses.pre.order, relay[0].resetter["spike"].order = 0, 1
        if rule.on_post:
            synapses.post.order = 2
    synapses.add_attribute("relay")
    synapses.relay = relay
    if isinstance(connect, dict):
        synapses.connect(**connect)
    else:
        synapses.connect(connect)
    for key, value in {**rule.declared_params(), **rule.initial_values}.items():
        setattr(synapses, key, value)
    if w_init is not None:
        synapses.w = w_init
    if rule.deferred_potentiation:
        _keep_history(target, functions)
        _apply_owed_potentiation_after_runs(synapses, relay[0], rule)
    return synapses


def _keep_history(target, functions: dict) -> None:
    """Give ``target`` a number of its own for its spike history (once, whichever synapses
    come first) and the function its reset calls."""
    if not hasattr(target, "potentiation_history_number"):
        target.add_attribute("potentiation_history_number")
        target.potentiation_history_number = next(deferred.history_numbers)
        target.potentiation_history = target.potentiation_history_number
    target.namespace["record_post_spike"] = functions["record_post_spike"]


def _apply_owed_potentiation_after_runs(synapses, relay, rule) -> None:
    """After every run, apply to every synapse what the postsynaptic spikes since its last
    presynaptic one owe it (the rule's own code, over all synapses), and mark them applied
    (``t_from``): the weights then equal the eager rule's. Brian2 calls every object's
    after_run when a run ends, with the run recorded and not yet built on the standalone
    devices, so the same two assignments run after each run in the binary too."""
    from brian2 import get_device, prefs
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
    from brian2.devices.device import RuntimeDevice

    device = get_device()
    runtime_numpy = isinstance(device, RuntimeDevice) and prefs.codegen.target == "numpy"
    if not (type(device) is CPPStandaloneDevice or runtime_numpy):
        raise ModelError(
            f"{rule.name} with traces='deferred' runs on cpp_standalone and the numpy runtime "
            f"only; on this device use traces='per_neuron' (the same weights)"
        )
    variable, _, owed = rule.on_pre_owed.partition("=")

    def apply_owed_potentiation():
        setattr(synapses, variable.strip(), owed.strip())
        relay.t_from = "t"

    synapses.contained_objects.append(
        _AfterEachRun(apply_owed_potentiation, name=f"{synapses.name}_owed_potentiation")
    )


class _AfterEachRun(BrianObject):
    """Calls a function when each run of its network ends."""

    def __init__(self, function, name: str):
        super().__init__(name=name)
        self._function = function

    def after_run(self):
        self._function()


#: Before a first spike: a time whose exponential factors underflow to exactly 0.
NEVER = -1e6 * second
#: A relay's traces are kept scaled by exp((t - t_scale)/tau) and rescaled every this many
#: of their shortest time constant: e**100 is far from overflow, and no step pays a decay.
RESCALE_TAUS = 100


def presynaptic_relay(
    source, traces: dict, name: str, delay=None, dt=None, last_arrival: bool = False
) -> tuple:
    """(relay, its synapses from ``source``): a group that repeats each spike of ``source``
    (after the ``pre`` delay, if any) within the synapse slot of the same step and keeps the
    presynaptic STDP ``traces`` (name -> (time constant, "add" or "set": what a spike does,
    ``models.base.TRACE_UPDATES``)). The caller orders the relay's reset among the pathways
    that read the traces.

    An input fans out to many synapses but most inputs are silent in most steps, so no trace
    decays step by step: each is kept as ``TRACE_scaled``, the trace times
    exp((t - t_scale)/tau), which only spikes change, and read as the subexpression ``TRACE``,
    whose factor exp(-(t - t_scale)/tau) is one number per step (Brian2 computes it once per
    code object). Every ``RESCALE_TAUS`` time constants the stored values are rescaled to the
    current time.

    ``last_arrival`` (deferred potentiation, ``models.deferred``) keeps each trace instead as
    ``TRACE_last``, its value just after the latest arrival, ``t_last``: what owed
    potentiation reads, which may be the trace at a postsynaptic spike long ago (a rescaled
    trace would have lost it); and as ``TRACE_at_epoch_start``, the same trace at the start
    of t_last's epoch (``TRACE_epoch_start``), which makes each owed trace two products.
    ``t_from``: from when postsynaptic spikes are still owed potentiation."""
    constants = [f"tau_{trace} : second (shared, constant)" for trace in traces]
    if last_arrival:
        updates = {
            trace: "1" if update == "set" else f"{trace}_last*exp(-(t - t_last)/tau_{trace}) + 1"
            for trace, (_, update) in traces.items()
        }
        relay = NeuronGroup(
            len(source),
            "\n".join(
                [
                    "arrived : boolean",
                    "t_last : second  # the latest arrival",
                    "t_from : second  # postsynaptic spikes from then on are owed potentiation",
                    *(
                        f"{trace}_{kind}"
                        for trace in traces
                        for kind in (
                            "last : 1  # the trace just after t_last",
                            "epoch_start : second  # the start of t_last's epoch",
                            "at_epoch_start : 1  # the trace then, extrapolated back",
                        )
                    ),
                    *constants,
                ]
            ),
            threshold="arrived",
            reset="\n".join(
                [
                    "arrived = False",
                    *(
                        f"{trace}_last = {update}\n"
                        f"{trace}_epoch_start = deferred_epoch(t, tau_{trace})\n"
                        f"{trace}_at_epoch_start = "
                        f"{trace}_last*exp((t - {trace}_epoch_start)/tau_{trace})"
                        for trace, update in updates.items()
                    ),
                    "t_last = t",
                    "t_from = t",
                ]
            ),
            name=name,
            dt=dt,
            namespace={"deferred_epoch": deferred.functions()["epoch"]},
        )
        relay.t_last = relay.t_from = NEVER
    else:
        relay = _scaled_trace_relay(len(source), traces, constants, name, dt)
    for trace, (tau, _) in traces.items():
        setattr(relay, f"tau_{trace}", tau)
    arrival = Synapses(
        source,
        relay,
        on_pre="arrived_post = True",
        delay=(delay or {}).get("pre"),
        name=f"{name}_arrival",
        dt=dt,
    )
    arrival.connect(j="i")
    # the arrival and the relay's spike come before any pathway of the synapse slot
    arrival.pre.order = -3
    relay.thresholder["spike"].when, relay.thresholder["spike"].order = "synapses", -2
    relay.resetter["spike"].when = "synapses"
    return relay, arrival


def _scaled_trace_relay(n, traces: dict, constants: list, name: str, dt):
    """The relay of ``presynaptic_relay`` with its traces scaled (see there)."""
    scale = {trace: f"exp((t - t_scale)/tau_{trace})" for trace in traces}
    relay = NeuronGroup(
        n,
        "\n".join(
            [
                "arrived : boolean",
                "t_scale : second (shared)  # when the stored traces were last rescaled",
                *(f"{trace}_scaled : 1" for trace in traces),
                *(f"{trace} = {trace}_scaled/{scale[trace]} : 1" for trace in traces),
                *constants,
            ]
        ),
        threshold="arrived",
        reset="\n".join(
            [
                "arrived = False",
                *(
                    f"{trace}_scaled {TRACE_UPDATES[update]} {scale[trace]}"
                    for trace, (_, update) in traces.items()
                ),
            ]
        ),
        name=name,
        dt=dt,
    )
    step = float(relay.clock.dt / second)
    shortest = min(float(tau / second) for tau, _ in traces.values())
    period = max(round(RESCALE_TAUS * shortest / step), 1) * step * second
    # two operations: Brian2 runs a code block's shared assignments before its vector ones
    relay.run_regularly(
        "\n".join(f"{trace}_scaled = {trace}" for trace in traces),
        dt=period,
        when="start",
        order=0,
        name=f"{name}_rescale",
    )
    relay.run_regularly("t_scale = t", dt=period, when="start", order=1, name=f"{name}_rescaled")
    return relay


def check_model(model: NeuronModel | PlasticityRule) -> None:
    """Build and run the model for 0 ms on the numpy runtime, where every parse, identifier
    and unit error surfaces in well under a second, long before a standalone compile."""
    from experiments.runner.devices import simulation

    with simulation("runtime", runtime_target="numpy"):
        try:
            if isinstance(model, NeuronModel):
                objects = [neuron_group(model, 1, name="checked_neuron")]
            else:
                from brian2 import SpikeGeneratorGroup

                spikes = SpikeGeneratorGroup(1, [], [] * ms, name="checked_source")
                # a target that keeps what the rule keeps per postsynaptic neuron
                holder = NeuronModel(
                    name="rule_state",
                    equations="v : 1",
                    params={},
                    citation="the target of a rule being checked",
                    threshold="v > 1",
                    method="euler",
                ).with_rule_state(model)
                target = neuron_group(holder, 1, name="checked_target")
                synapses = plastic_synapses(model, spikes, target, name="checked_synapses")
                objects = [spikes, target, synapses, *synapses.relay]
            Network(*objects).run(0 * ms, namespace={})
        except Exception as err:  # Brian2 wraps the cause in BrianObjectException
            cause = err
            while isinstance(cause, BrianObjectException) and cause.__cause__ is not None:
                cause = cause.__cause__
            if isinstance(cause, DimensionMismatchError):
                raise ModelError(
                    f"{model.name}: inconsistent units ({cause}). Check that both sides of each "
                    "equation and every parameter carry the units the equation declares."
                ) from None
            if isinstance(cause, ModelError):
                raise cause from None
            raise ModelError(
                f"{model.name}: Brian2 cannot build this model ({type(cause).__name__}: {cause}). "
                "Check each equation, the threshold and the reset for undefined names."
            ) from None


def resolve_neuron(name: str, overrides: tuple = ()) -> NeuronModel:
    """The neuron ``name`` with the config's overrides applied.

    ``overrides`` holds ``(model name, parameter, value)`` triples such as
    ``('lif', 'tau_m', '10*ms')``, and ``(model name, 'equation', line)`` such as
    ``('lif', 'equation', 'dv/dt = (E_L - v)/tau_m : volt')``, and ``(model name,
    'initial.VARIABLE', value)`` such as ``('lif', 'initial.v', '-60*mV')``; they are part of
    the config, so a changed hypothesis gets its own result label.
    """
    from models.neurons import get_neuron

    model = get_neuron(name)
    for target_name, key, value in overrides:
        if target_name != name:
            continue
        if key == "equation":
            model = model.with_equation(value)
        elif key.startswith("initial."):
            model = model.with_initial(**{key.removeprefix("initial."): value})
        else:
            model = model.with_params(**{key: value})
    return model
