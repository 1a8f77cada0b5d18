"""Brian2 objects for the discrete e-prop maps of ``models.eprop`` and their training.

The maps run at one Brian2 time step per map step; set ``defaultclock.dt`` to the step (1 ms
by convention) before building, or give the objects their own ``dt``.
"""

from __future__ import annotations

from experiments.networks.build import set_parameters_and_state
from models.eprop import ON_PRE, EpropNeuronModel, EpropTraining


def eprop_group(
    model: EpropNeuronModel,
    n: int,
    name: str,
    drive=None,
    dt=None,
    training: EpropTraining | None = None,
    target_train=None,
):
    """``n`` neurons following ``model``'s map; ``drive`` is an optional 2-D ``TimedArray``
    (step x neuron) of external input.

    With ``training``, each neuron is also one training run: it carries the readout and the
    learning signal for ``target_train`` (a ``TimedArray`` of the target spikes over one
    trial's steps), and every trial starts from the initial state.
    """
    from brian2 import NeuronGroup

    equations = model.brian_equations()
    if training is not None:
        equations = equations + training.brian_equations()
    # The map resets v itself in state_code, so the threshold only emits the spike event.
    group = NeuronGroup(n, equations, threshold="z > 0.5", reset="", name=name, dt=dt)
    set_parameters_and_state(group, model)
    group.run_regularly(model.spike_code, when="before_thresholds", name=f"{name}_spike_step")
    update = model.state_code
    if drive is not None:  # this step's external input, read before v is updated
        group.namespace[f"{name}_drive"] = drive
        update = f"I_ext = {name}_drive(t, i)\n{update}"
    # order 1: after the synapses have used this step's v and psi
    group.run_regularly(update, when="after_synapses", order=1, name=f"{name}_state_step")
    if training is not None:
        set_parameters_and_state(group, training)
        group.namespace["target_train"] = target_train
        group.run_regularly(training.readout_code, when="before_synapses", name=f"{name}_readout")
        # order 1: after the synapses' optimizer step, which reads this trial's spike count
        group.run_regularly(
            f"{model.neuron_reset_code()}\n{training.neuron_reset_code()}",
            dt=training.params["trial_duration"],
            when="start",
            order=1,
            name=f"{name}_trial_start",
        )
    return group


def eligibility_synapses(
    model: EpropNeuronModel,
    source,
    target,
    name: str,
    connect="True",
    weights=0.0,
    dt=None,
    training: EpropTraining | None = None,
):
    """Synapses carrying input and the eligibility vector/trace of ``model`` (the target's);
    with ``training``, also the filtered trace, the gradient and the optimizer state, and a
    weight step at every trial start."""
    from brian2 import Synapses

    equations = model.synapse_equations
    eligibility = model.eligibility_code
    if training is not None:
        equations += training.synapse_equations
        eligibility += training.accumulate_code
    synapses = Synapses(source, target, equations, on_pre=ON_PRE, name=name, dt=dt)
    if isinstance(connect, dict):
        synapses.connect(**connect)
    else:
        synapses.connect(connect)
    synapses.w = weights
    synapses.run_regularly(
        eligibility, when="after_synapses", order=0, name=f"{name}_eligibility_step"
    )
    if training is not None:
        synapses.run_regularly(
            "\n".join(
                [training.update_code, model.synapse_reset_code(), training.synapse_reset_code()]
            ),
            dt=training.params["trial_duration"],
            when="start",
            order=0,
            name=f"{name}_trial_start",
        )
    return synapses
