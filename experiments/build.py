"""Turn model records into Brian2 objects; check a model on the cheap runtime before compiling."""

from __future__ import annotations

from brian2 import (
    BrianObjectException,
    DimensionMismatchError,
    Network,
    NeuronGroup,
    Synapses,
    ms,
)

from models.base import ModelError, NeuronModel, PlasticityRule


def neuron_group(
    model: NeuronModel,
    n: int,
    name: str,
    per_neuron: dict | None = None,
    dt=None,
) -> NeuronGroup:
    """A group of ``n`` neurons of ``model`` with its parameters set.

    ``per_neuron`` maps parameter names to arrays (length ``n``) for heterogeneous groups;
    all other parameters are shared constants, changeable between standalone runs.
    """
    per_neuron = per_neuron or {}
    events = {event: condition for event, (condition, _) in model.events.items()}
    group = NeuronGroup(
        n,
        model.brian_equations(per_neuron=tuple(per_neuron)),
        threshold=model.threshold,
        reset=model.reset,
        refractory=model.refractory if model.refractory else False,
        method=model.method,
        events=events,
        name=name,
        dt=dt,
    )
    for event, (_, code) in model.events.items():
        group.run_on_event(event, code)
    set_parameters_and_state(group, model, per_neuron)
    return group


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
) -> Synapses:
    """Synapses following ``rule``; ``transmit`` (e.g. ``'I_syn_post += w*nA'``) runs on each
    presynaptic spike with the weight from before this spike's update, or with the updated
    weight (as NEST does) when ``transmit_first`` is False. ``delay`` maps pathways to
    homogeneous delays, e.g. ``{'pre': 1*ms, 'post': 2*ms}``."""
    steps = (transmit, rule.on_pre) if transmit_first else (rule.on_pre, transmit)
    on_pre = "\n".join(code for code in steps if code)
    synapses = Synapses(
        source,
        target,
        model=rule.brian_equations(),
        on_pre=on_pre,
        on_post=rule.on_post,
        method=rule.method,
        name=name,
        delay=delay,
    )
    if isinstance(connect, dict):
        synapses.connect(**connect)
    else:
        synapses.connect(connect)
    for key, value in rule.params.items():
        setattr(synapses, key, value)
    if w_init is not None:
        synapses.w = w_init
    return synapses


def check_model(model: NeuronModel | PlasticityRule) -> None:
    """Build and run the model for 0 ms on the numpy runtime, where every parse, identifier
    and unit error surfaces in well under a second, long before a standalone compile."""
    from experiments.devices import simulation

    with simulation("runtime", runtime_target="numpy"):
        try:
            if isinstance(model, NeuronModel):
                objects = [neuron_group(model, 1, name="checked_neuron")]
            else:
                from brian2 import SpikeGeneratorGroup

                spikes = SpikeGeneratorGroup(1, [], [] * ms, name="checked_source")
                objects = [spikes, plastic_synapses(model, spikes, spikes, name="checked_synapses")]
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
    ``('lif', 'equation', 'dv/dt = (E_L - v)/tau_m : volt')``; they are part of the config, so
    a changed hypothesis gets its own result label.
    """
    from models.neurons import get_neuron

    model = get_neuron(name)
    for target_name, key, value in overrides:
        if target_name != name:
            continue
        model = (
            model.with_equation(value) if key == "equation" else model.with_params(**{key: value})
        )
    return model
