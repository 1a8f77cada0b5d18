"""Input encoders: spike sources for rate-coded input, and for recorded events that change from
one run of a compiled binary to the next.

``bernoulli_inputs`` gives the spike trains of Brian2's ``PoissonGroup`` (in each step input i
spikes with probability p_i(t), independently of every other step and input) for a fraction of
its cost. ``PoissonGroup`` draws a random number for every input in every step, which is most
of a simulation whose inputs outnumber its neurons (90 % of song_stdp, profiled). Here each
input keeps the unit-exponential draw ``budget`` that its next spike needs, and every step
spends the step's hazard h = -ln(1 - p) of it; the input spikes in the step that overdraws the
budget and draws a new one. For a budget B ~ Exp(1), P(no spike in k steps) = P(B > h_1 + ... +
h_k) = (1 - p_1)···(1 - p_k): the same process, with one random number per spike.
"""

from __future__ import annotations

import numpy as np

from models.base import ModelError

#: 1 - rand() is kept off 0 (rand() lies in [0, 1) in C++ but in (0, 1] on CUDA), so every
#: budget is finite, at most -ln(SMALLEST_DRAW) = 36.8, and any hazard above that spends it:
#: the hazard of p = 1 is CERTAIN_HAZARD, a spike in every step.
SMALLEST_DRAW = 1e-16
NEW_BUDGET = f"budget = -log(clip(1 - rand(), {SMALLEST_DRAW!r}, 1))"
CERTAIN_HAZARD = 1 - np.log(SMALLEST_DRAW)


def bernoulli_hazards(probabilities: np.ndarray) -> np.ndarray:
    """The per-step hazards -ln(1 - p) of spike probabilities ``p`` (0 <= p <= 1)."""
    p = np.asarray(probabilities, dtype=float)
    outside = p[~((p >= 0) & (p <= 1))]  # NaN included
    if outside.size:
        raise ModelError(
            f"spike probabilities per step must lie in [0, 1]; {outside.size} do not (first: "
            f"{outside[0]:.4g}): lower the rates or the time step (p = rate x dt)"
        )
    with np.errstate(divide="ignore"):  # p = 1
        return np.minimum(-np.log1p(-p), CERTAIN_HAZARD)


def bernoulli_inputs(probabilities, name: str, period=None, model: str = "", reset: str = ""):
    """A ``NeuronGroup`` whose input i spikes in each step with probability p_i (see the
    module docstring), where ``probabilities`` is an array (inputs,) of constant p_i, or
    (rows, inputs), row r applying from r x ``period`` on (a ``TimedArray``, whose last row
    holds after the table ends). ``model`` and ``reset`` add variables and spike statements.
    New probabilities go in through run_args as ``bernoulli_hazards(new_probabilities)``, set on
    the group's ``hazards`` (the ``TimedArray``) or its variable ``hazard`` (constant p_i)."""
    from brian2 import NeuronGroup, TimedArray

    hazards = bernoulli_hazards(probabilities)
    if hazards.ndim == 2:
        if period is None:
            raise ModelError("a table of probabilities (rows, inputs) needs its row period")
        table = TimedArray(hazards, dt=period, name=f"{name}_hazards")
        spend, namespace, variables = "budget -= hazards(t, i)", {"hazards": table}, ""
    elif hazards.ndim == 1:
        spend, namespace, variables = "budget -= hazard", {}, "hazard : 1 (constant)"
    else:
        raise ModelError(f"probabilities must be (inputs,) or (rows, inputs), not {hazards.shape}")
    group = NeuronGroup(
        hazards.shape[-1],
        f"budget : 1  # of the next spike, see experiments.networks.inputs\n{variables}\n{model}",
        threshold="budget < 0",
        reset=f"{NEW_BUDGET}\n{reset}",
        namespace=namespace,
        name=name,
    )
    group.run_regularly(spend, when="before_thresholds", name=f"{name}_spend")
    group.budget = NEW_BUDGET.partition("=")[2]
    if hazards.ndim == 1:
        group.hazard = hazards
    else:
        group.add_attribute("hazards")
        group.hazards = table
    return group


#: An event step that no run reaches: an input whose next event it is has none left.
NO_EVENT = np.iinfo(np.int32).max


def event_inputs(n_inputs: int, capacity: int, name: str, neurons=(), steps=()):
    """A ``NeuronGroup`` of ``n_inputs`` that fires input ``neurons[k]`` at time step
    ``steps[k]`` (at most one event per input and step), like a ``SpikeGeneratorGroup``, but
    with its events held in variables, not in the structure of the network: a
    ``SpikeGeneratorGroup``'s spikes are compiled into a standalone binary, these go in
    through run_args (``event_values``), so that one binary presents a dataset in chunks.
    ``capacity`` bounds the events of any set, plus one end marker per input. Each input
    waits for the step of its next event (one integer compare per input and step), and its
    spike looks up the one after in a table (``group.event_table``, a ``TimedArray`` read at
    whole seconds as an array)."""
    from brian2 import NeuronGroup, TimedArray, second

    table, first = _event_table(n_inputs, capacity, neurons, steps)
    events = TimedArray(table, dt=1 * second, name=f"{name}_events")
    group = NeuronGroup(
        n_inputs,
        """first_event : integer (constant)  # this input's events start here in the table
        next_event : integer  # how many of them it has fired
        next_step : integer  # the time step of its next event (NO_EVENT: none left)""",
        threshold="next_step <= t_in_timesteps",
        reset="next_event += 1\nnext_step = int(events((first_event + next_event)*second))",
        namespace={"events": events},
        name=name,
    )
    group.add_attribute("event_table")
    group.event_table = events
    group.first_event = first
    group.next_step = table[first].astype(np.int32)
    return group


def event_values(group, neurons, steps) -> dict:
    """``{variable or table: value}`` that make ``event_inputs``' ``group`` fire input
    ``neurons[k]`` at time step ``steps[k]`` instead, for ``Simulation.rerun`` (run_args)."""
    table, first = _event_table(len(group), group.event_table.values.size, neurons, steps)
    return {
        group.event_table: table,
        group.first_event: first,
        group.next_event: np.zeros(len(group), dtype=np.int32),
        group.next_step: table[first].astype(np.int32),
    }


def _event_table(n_inputs: int, capacity: int, neurons, steps) -> tuple[np.ndarray, np.ndarray]:
    """(table, first): the steps of input j's events in order at ``first[j]`` on, then
    NO_EVENT; the rest of the table NO_EVENT."""
    neurons = np.asarray(neurons, dtype=np.int64)
    steps = np.asarray(steps, dtype=np.int64)
    if len(neurons) != len(steps):
        raise ModelError(f"{len(neurons)} event inputs but {len(steps)} event steps")
    if len(neurons) + n_inputs > capacity:
        raise ModelError(
            f"{len(neurons)} events and {n_inputs} end markers do not fit a table of "
            f"{capacity}: build the inputs with a capacity of {len(neurons) + n_inputs} or more"
        )
    if len(neurons) and not (0 <= neurons.min() and neurons.max() < n_inputs):
        raise ModelError(f"event inputs must lie in [0, {n_inputs})")
    if len(steps) and not (0 <= steps.min() and steps.max() < NO_EVENT):
        raise ModelError(f"event steps must lie in [0, {NO_EVENT})")
    order = np.lexsort((steps, neurons))
    neurons, steps = neurons[order], steps[order]
    if np.any((np.diff(neurons) == 0) & (np.diff(steps) == 0)):
        raise ModelError("an input has two events in one time step; merge them first")
    # input j's events start after all earlier inputs' events and their j end markers
    first = np.concatenate([[0], np.cumsum(np.bincount(neurons, minlength=n_inputs) + 1)[:-1]])
    table = np.full(capacity, float(NO_EVENT))
    table[np.arange(len(neurons)) + neurons] = steps
    return table, first
