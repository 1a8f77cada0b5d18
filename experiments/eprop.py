"""Brian2 objects for the discrete e-prop maps of ``models.eprop``.

The maps run at one Brian2 time step per map step; set ``defaultclock.dt`` to the step (1 ms
by convention) before building.
"""

from __future__ import annotations

from experiments.build import set_parameters_and_state
from models.eprop import ON_PRE, EpropNeuronModel


def eprop_group(model: EpropNeuronModel, n: int, name: str, drive=None, dt=None):
    """``n`` neurons following ``model``'s map; ``drive`` is an optional 2-D ``TimedArray``
    (step x neuron) of external input."""
    from brian2 import NeuronGroup

    # The map resets v itself in state_code, so the threshold only emits the spike event.
    group = NeuronGroup(n, model.brian_equations(), threshold="z > 0.5", reset="", name=name, dt=dt)
    set_parameters_and_state(group, model)
    group.run_regularly(model.spike_code, when="before_thresholds", name=f"{name}_spike_step")
    update = model.state_code
    if drive is not None:  # this step's external input, read before v is updated
        group.namespace[f"{name}_drive"] = drive
        update = f"I_ext = {name}_drive(t, i)\n{update}"
    # order 1: after the synapses have used this step's v and psi
    group.run_regularly(update, when="after_synapses", order=1, name=f"{name}_state_step")
    return group


def eligibility_synapses(
    model: EpropNeuronModel, source, target, name: str, connect="True", weights=0.0, dt=None
):
    """Synapses carrying input and the eligibility vector/trace of ``model`` (the target's)."""
    from brian2 import Synapses

    synapses = Synapses(source, target, model.synapse_equations, on_pre=ON_PRE, name=name, dt=dt)
    if isinstance(connect, dict):
        synapses.connect(**connect)
    else:
        synapses.connect(connect)
    synapses.w = weights
    synapses.run_regularly(model.eligibility_code, when="after_synapses", order=0,
                           name=f"{name}_eligibility_step")  # fmt: skip
    return synapses
