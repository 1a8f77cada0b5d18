"""A competitive STDP layer for samples laid end to end: the building block of the feature
experiments (Safa et al. 2021 on event data; the STDP clusterer of Lu & Sengupta 2023).

N neurons of any current-driven model receive all-to-all afferents from a spike source that
presents one sample per ``period``. At each sample start the neurons return to rest, the
afferent weights are L1-normalised to ``w_sum`` (Diehl & Cook), the STDP traces cleared and
the adaptive thresholds decayed by exp(-period/tau_theta). Learning is all-to-all additive pair
STDP with its traces kept per neuron, not per synapse: a presynaptic trace depends on its
input's spikes only (``experiments.networks.build.presynaptic_relay``, the relay group of the
per-neuron pair and triplet rules, repeats them and holds it) and a postsynaptic one on its
neuron's, so the synapses hold a weight and their pathways compute no exponentials (exact for
this pairing and bound; tests/experiments/test_event_features.py replays it event by event).

A spike puts every other neuron of the layer back at rest and, with
``inhibition="v_and_input"`` (correction C4 of features.md), clears their synaptic current
too, so that they cannot recharge within the sample (hard winner-take-all); the default,
``"v_and_input_in_training"``, does so while training only (measured: a readout pass in
which the losers keep their input gives a graded code, better read out than the one-hot code
of a single winner). The spike raises the spiking neuron's own threshold by ``theta_plus``
(Diehl & Cook's adaptive threshold).

``freeze`` ends training: plasticity and threshold adaptation off, and the thresholds either
kept (``test_theta="keep"``), re-referenced to the lowest of their block
(``"rereference"``, the default, correction C3: a test pass that keeps theta goes silent once
homeostasis is strong) or cleared (``"clear"``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, NamedTuple

import numpy as np

#: What a winner's spike does to the other neurons of its block (correction C4).
INHIBITION = ("v", "v_and_input", "v_and_input_in_training")
#: The thresholds in the test pass (correction C3).
TEST_THETA = ("keep", "rereference", "clear")


class Layer(NamedTuple):
    """What ``competitive_layer`` builds; a ``Network`` takes it whole (``net.add(layer)``)."""

    group: Any  # the N x blocks neurons
    afferents: Any  # the synapses from the inputs
    inhibition: Any  # the winner-take-all synapses
    monitor: Any  # the layer's spikes
    traces: tuple = ()  # a plastic layer's presynaptic traces: relay group and its input


def check_layer_options(config) -> None:
    """The layer options an experiment's config carries (inhibition, test_theta,
    learning_wins, theta_set_point, ltd_ratio), refused before any build."""
    from models.base import ModelError

    if config.inhibition not in INHIBITION or config.test_theta not in TEST_THETA:
        raise ModelError(
            f"inhibition must be one of {', '.join(INHIBITION)} and test_theta one of "
            f"{', '.join(TEST_THETA)}; got {config.inhibition!r}, {config.test_theta!r}"
        )
    if config.learning_wins <= 0 or config.theta_set_point < 0 or config.ltd_ratio < 0:
        raise ModelError(
            "learning_wins must be positive, theta_set_point and ltd_ratio not negative"
        )


def neuron_scales(model) -> dict:
    """What tuning rules need of a neuron (``models.base.SCALES``: input resistance, synaptic
    and membrane time constants, the depolarisation from rest that makes it fire), from its
    record; a model that does not give them is refused with what to add."""
    return model.scale_values()


def post_expression(expression: str, model) -> str:
    """``expression`` of the target's own names, as synapse code (``E_L`` -> ``E_L_post``)."""
    names = set(model.params) | {
        line.split(":")[0].split("/")[0].strip().lstrip("d") for line in model.equation_lines()
    }
    return re.sub(
        r"\b[A-Za-z_]\w*\b",
        lambda m: f"{m.group()}_post" if m.group() in names else m.group(),
        expression,
    )


def competitive_layer(
    model,
    rules: dict,
    inputs,
    initial: np.ndarray,
    *,
    period,
    w_sum: float,
    w_max: float,
    plastic: bool,
    name: str,
    blocks: int = 1,
    inhibition: str = "v_and_input_in_training",
):
    """``blocks`` independent competitions of N = ``initial.shape[1]`` neurons of ``model``,
    each with winner-take-all and all-to-all afferents from ``inputs`` starting from the
    weights ``initial`` (inputs x N); returns a ``Layer``. Neuron ``b*N + k`` is neuron k of
    block b.

    ``rules`` holds ``gain_A`` (input current per unit weight and spike), ``theta_plus_V``,
    optionally ``tau_theta_s`` (the thresholds' decay time constant; absent or inf: no decay)
    and, for a plastic layer, pair STDP's ``tau_plus_s``, ``A_plus`` and ``A_minus``; each is
    one number, or one per block (a parameter sweep in a single compiled group).
    ``inhibition``: a spike resets the other neurons' ``v`` only, or (``v_and_input``) their
    synaptic current as well, or the current only while training (``v_and_input_in_training``:
    ``freeze`` turns it off, so that losers of the test pass keep their input).
    ``initial`` may also be one matrix per block (blocks x inputs x N): replicas of a layer
    from other initial weights.
    """
    if inhibition not in INHIBITION:
        raise ValueError(f"unknown inhibition {inhibition!r}; choose one of {INHIBITION}")
    from brian2 import Equations, SpikeMonitor, Synapses, amp, second, volt

    from experiments.networks.build import neuron_group, presynaptic_relay

    if initial.ndim == 2:
        initial = np.broadcast_to(initial, (blocks, *initial.shape))
    if len(initial) != blocks:
        raise ValueError(f"{len(initial)} initial weight matrices for {blocks} blocks")
    _, n_inputs, block_size = initial.shape
    n_neurons = blocks * block_size
    initial = np.concatenate(list(initial), axis=1)  # inputs x (blocks x N)

    def per_neuron(key):
        return np.repeat(np.broadcast_to(np.asarray(rules[key], dtype=float), blocks), block_size)

    # Each sample starts from rest: V, the synaptic current (and u) reset; theta decays.
    restart = [f"{var} = {value}" for var, value in model.initial_values.items()]
    restart.append(f"{model.synaptic_input} = 0*{model.synaptic_input}")
    restart.append("theta = theta*theta_decay")
    if plastic:
        model = (
            model.with_equation("w_total : 1  # sum of afferent weights, kept incrementally")
            .with_equation("w_total_next : 1  # sum of the weights just normalised")
            .with_equation("apost : 1  # postsynaptic STDP trace, drives LTD")
            .with_equation("apost_decay : 1 (constant)  # its decay per step, exp(-dt/tau-)")
            .with_equation("trace_index : integer (constant)  # which presynaptic trace")
            .with_equation("A_plus : 1 (constant)  # LTP per unit presynaptic trace")
            .with_equation("A_minus : 1 (constant)  # LTD per unit postsynaptic trace")
        )
        restart += ["w_total = w_total_next", "w_total_next = 0", "apost = 0"]
    # Adaptive threshold: firing needs v - theta to cross the model's own threshold. A model
    # whose threshold is its spike peak (Izhikevich) would only be detected later by that:
    # its upstroke crosses any raised level. There theta is a hyperpolarising drive theta/R
    # instead, which raises the input it needs to fire by theta in R*I units (the units of
    # its distance to firing, the rheobase, that theta_plus is derived from).
    threshold = re.sub(r"\bv\b", "(v - theta)", model.threshold)
    if "v_peak" in model.params:
        resistance = float(neuron_scales(model)["resistance"])
        model = model.with_equation(f"I = -theta/({resistance!r}*ohm) : amp  # theta as a drive")
        threshold = model.threshold
    # theta_reference (once, at the test pass if re-referenced): the block's lowest theta
    # reaches theta_floor through the inhibition's second pathway in the synapse slot, and
    # the event's code, in the reset slot of the same step, subtracts it.
    model = dataclasses.replace(
        model.with_equation("theta : volt  # threshold raised by each spike")
        .with_equation("input_gain : amp (constant)  # current per unit weight and spike")
        .with_equation("theta_plus : volt  # per spike; 0 once training is over")
        .with_equation("theta_decay : 1  # theta's decay per sample, exp(-period/tau_theta)")
        .with_equation("theta_floor : volt  # the block's lowest theta, at re-referencing")
        .with_equation("theta_reference_pending : boolean  # re-reference theta at next step")
        .with_equation("input_kept_at_loss : 1  # 1: a loser keeps its current, 0: cleared")
        .with_equation("input_kept_at_test : 1 (constant)  # input_kept_at_loss after freeze"),
        threshold=threshold,
        reset=f"{model.reset}\ntheta += theta_plus",
        events={
            **model.events,
            "theta_reference": (
                "theta_reference_pending",
                "theta = theta - theta_floor\ntheta_reference_pending = False",
            ),
        },
    )
    if plastic:
        # STDP's postsynaptic pathway walks all afferents of a spiking neuron with a stride;
        # frozen, it would still cost most of the readout pass, so it follows a copy of the
        # spike event that is silent once learning ends (checked before the spike's own
        # thresholder, which clears not_refractory)
        refractory = " and not_refractory" if model.refractory else ""
        model = dataclasses.replace(
            model.with_equation(
                "learning : boolean  # STDP's post pathway and the normalisation on; off frozen"
            ),
            events={
                **model.events,
                "learning_spike": (f"learning and ({model.threshold}){refractory}", "apost += 1"),
            },
        )
    layer = neuron_group(model, n_neurons, name=name)
    if plastic:
        layer.learning = True
        copy = layer.thresholder["learning_spike"]
        copy.when, copy.order = "thresholds", layer.thresholder["spike"].order - 1
    layer.theta_plus = per_neuron("theta_plus_V") * volt
    tau_theta = per_neuron("tau_theta_s") if "tau_theta_s" in rules else np.inf
    layer.theta_decay = np.exp(-float(period / second) / tau_theta) * np.ones(n_neurons)
    layer.input_gain = per_neuron("gain_A") * amp
    if plastic:
        layer.w_total = initial.sum(axis=0)
        tau_plus = per_neuron("tau_plus_s")
        taus, layer.trace_index = np.unique(tau_plus, return_inverse=True)
        layer.apost_decay = np.exp(-float(layer.clock.dt / second) / tau_plus)
        layer.A_plus = per_neuron("A_plus")
        layer.A_minus = per_neuron("A_minus")
        layer.run_regularly("apost = apost*apost_decay", when="start", name=f"{name}_post_decay")
    layer.run_regularly(
        "\n".join(restart), dt=period, when="start", order=1, name=f"{name}_sample_start"
    )
    # Hard WTA: a spike puts every other neuron of its block back at rest.
    rest = post_expression(model.initial_values["v"], model)
    silence = f"v_post = {rest}"
    if inhibition != "v":
        current = f"{model.synaptic_input}_post"
        silence += f"\n{current} = {current}*input_kept_at_loss_post"
    layer.input_kept_at_loss = int(inhibition == "v")
    layer.input_kept_at_test = int(inhibition != "v_and_input")
    inhibition = Synapses(
        layer,
        layer,
        on_pre={
            "pre": silence,
            "reference": "theta_floor_post = clip(theta_pre, -1*volt, theta_floor_post)",
        },
        on_event={"pre": "spike", "reference": "theta_reference"},
        name=f"{name}_wta",
    )
    sources, targets = np.nonzero(
        np.kron(np.eye(blocks, dtype=bool), ~np.eye(block_size, dtype=bool))
    )
    inhibition.connect(i=sources, j=targets)
    transmit = f"{model.synaptic_input}_post += w*input_gain_post"
    if plastic:
        traces = presynaptic_relay(
            inputs,
            {f"apre_{k}": (tau * second, "add") for k, tau in enumerate(taus)},
            name=f"{name}_presynaptic",
        )
        relay = traces[0]
        relay.resetter["spike"].order = -1  # the traces take this step's spike before LTP
        relay.run_regularly(
            "\n".join(f"apre_{k}_scaled = 0" for k in range(len(taus))),
            dt=period,
            when="start",
            order=2,
            name=f"{name}_presynaptic_sample_start",
        )
        # all-to-all additive pair STDP: LTD at a presynaptic spike by the postsynaptic
        # trace, LTP at a postsynaptic one by the presynaptic trace of the block's tau+
        apre = " + ".join(f"apre_{k}_pre*int(trace_index_post == {k})" for k in range(len(taus)))
        track = "w_total_post += w - w_old"
        synapses = Synapses(
            relay,
            layer,
            "w : 1\nw_max : 1 (shared, constant)",
            on_pre={
                "pre": f"{transmit}\nw_old = w\nw = clip(w - A_minus_post*apost_post, 0, "
                f"w_max)\n{track}",
                # the readout pass transmits only
                "transmit": transmit,
            },
            on_post=f"w_old = w\nw = clip(w + A_plus_post*({apre}), 0, w_max)\n{track}",
            on_event={"post": "learning_spike"},
            name=f"{name}_afferents",
        )
        synapses.transmit.active = False
        synapses.run_regularly(
            # Clipping can leave the sum below w_sum, so the new sum is counted, not assumed.
            # A frozen layer (learning false) keeps its weights exactly: x*1 + 0 = x.
            f"w = clip(int(learning_post)*w*{w_sum!r}/w_total_post + int(not learning_post)*w, "
            "0, w_max)\nw_total_next_post += w",
            dt=period,
            when="start",
            order=0,
            name=f"{name}_normalise",
        )
        # w_total follows every change, so normalising at each sample start needs no sum
        # over synapses (a summed variable would cost n_inputs x N additions every step).
    else:
        synapses = Synapses(
            inputs,
            layer,
            Equations("w : 1"),
            on_pre=transmit,
            name=f"{name}_afferents",
        )
    synapses.connect(
        i=np.repeat(np.arange(n_inputs), n_neurons), j=np.tile(np.arange(n_neurons), n_inputs)
    )
    synapses.w = initial.ravel()
    monitor = SpikeMonitor(layer, name=f"{name}_spikes")
    if plastic:
        synapses.w_max = w_max
        return Layer(layer, synapses, inhibition, monitor, traces)
    return Layer(layer, synapses, inhibition, monitor)


def frozen_values(layer, theta, block_size: int, test_theta: str = "rereference") -> dict:
    """What ``freeze`` sets, as ``{variable: value}`` for a run of the compiled network that
    starts frozen (``Simulation.rerun``), from the thresholds ``theta`` (volt, one per neuron)
    that training ended with: no STDP (a frozen layer's weights stay put, see the
    normalisation) and no threshold adaptation, and the thresholds kept, re-referenced to the
    lowest of their block of ``block_size`` or cleared. The transmit-only pathway that
    ``freeze`` switches to is structure, not a value: here the learning pathway runs on, with
    nothing to learn (its postsynaptic trace stays 0)."""
    from brian2 import volt

    if test_theta not in TEST_THETA:
        raise ValueError(f"unknown test_theta {test_theta!r}; choose one of {TEST_THETA}")
    theta = np.asarray(theta / volt, dtype=float)
    if test_theta == "rereference":
        theta = theta - np.repeat(theta.reshape(-1, block_size).min(axis=1), block_size)
    elif test_theta == "clear":
        theta = np.zeros_like(theta)
    values = {
        layer.theta: theta * volt,
        layer.theta_plus: 0 * volt,
        layer.theta_decay: 1.0,
        layer.input_kept_at_loss: np.asarray(layer.input_kept_at_test[:], dtype=float),
    }
    if "learning" in layer.variables:
        values[layer.learning] = False
    return values


def freeze(layer, synapses, test_theta: str = "rereference") -> None:
    """End training: no more STDP (if ``synapses`` is plastic: its learning pathways and
    weight normalisation stop, a transmit-only pathway takes over), threshold adaptation and
    decay; the losers' input kept from now on if the inhibition cleared it in training only;
    the thresholds kept, re-referenced to the lowest of their block at the next step, or
    cleared (``test_theta``: keep, rereference, clear)."""
    if test_theta not in TEST_THETA:
        raise ValueError(f"unknown test_theta {test_theta!r}; choose one of {TEST_THETA}")
    if "A_plus" in synapses.variables:
        # no STDP from here on: the pathways and the normalisation that learn stop running
        normalise = [obj for obj in synapses.contained_objects if obj.name.endswith("_normalise")]
        for learner in (synapses.pre, synapses.post, *normalise):
            learner.active = False
        synapses.transmit.active = True
        layer.learning = False
    layer.theta_plus = 0
    layer.theta_decay = 1
    layer.input_kept_at_loss = "input_kept_at_test"
    if test_theta == "rereference":
        layer.theta_floor = "theta"
        layer.theta_reference_pending = True
    elif test_theta == "clear":
        layer.theta = 0
