"""Competitive Hebbian learning: Poisson inputs onto one neuron with additive pair STDP.

Song, Miller & Abbott (2000) Nat. Neurosci. 3:919, doi:10.1038/78829, in the form of Brian2's
examples/synapses/STDP.py (tau_m = 10 ms, 1000 inputs at 15 Hz, g_max = 0.01, A- = 1.05 A+).
From uniform initial weights, STDP drives the weights to a bimodal distribution (near 0 and
near g_max) and lowers the output rate: the neuron regulates its own firing.

In the same network, the paper's own parameters (tau_m = 20 ms, g_max = 0.015, 200 fixed
inhibitory inputs): for each excitatory input rate one neuron learns with STDP and a twin
receives the same input trains through static synapses with the same initial weights, so
rate regulation is measured against its own control.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments.networks.build import neuron_group, plastic_synapses
from experiments.networks.inputs import bernoulli_inputs
from models.base import ModelError
from models.neurons import SONG_2000_PARAMS, get_neuron
from models.plasticity import PAIR_STDP_SETS, pair_stdp

NAME = "song_stdp"


@dataclass(frozen=True)
class Config:
    #: seed of the Poisson inputs and the initial weights
    seed: int = 1
    #: simulation time step
    dt_ms: float = 0.1
    #: simulated time; bimodality needs >= 300 s (at 100 s the weights are only U-shaped)
    duration_s: float = 500.0
    #: excitatory Poisson inputs onto each neuron, in both protocols
    n_inputs: int = 1000
    #: rate of each input of the Brian2-example neuron
    input_rate_hz: float = 15.0
    #: neuron model; it must take a conductance input g_e (lif_cond does)
    neuron: str = "lif_cond"
    #: pair-STDP parameter set of the Brian2-example neuron (models.PAIR_STDP_SETS); the
    #: paper-parameter neurons always use song_2000
    rule_set: str = "song"
    #: output rates are compared over the first and the last window of this length
    rate_window_s: float = 10.0
    #: sets the weight recordings' spacing: duration_s / (weight_snapshots - 1), from t = 0
    weight_snapshots: int = 11
    #: input rates of the paper-parameter protocol, one STDP neuron and one static twin per
    #: rate; () skips this protocol
    paper_rates_hz: tuple[float, ...] = (10.0, 20.0, 30.0, 40.0)
    #: fixed inhibitory Poisson inputs onto each paper-parameter neuron
    paper_inhibitory_inputs: int = 200
    #: rate of each inhibitory input
    paper_inhibitory_rate_hz: float = 10.0
    #: fixed inhibitory weight (increment of g_i), in units of the leak conductance
    paper_g_in: float = 0.05


SCALES = {
    "tiny": Config(
        duration_s=1.0, rate_window_s=0.25, weight_snapshots=3, paper_rates_hz=(10.0, 40.0)
    ),
    "quick": Config(),
    "paper": Config(duration_s=1000.0),
}


def check(config: Config) -> None:
    model = get_neuron(config.neuron)
    if config.rule_set not in PAIR_STDP_SETS:
        raise ModelError(
            f"unknown pair-STDP set {config.rule_set!r}; choose one of {', '.join(PAIR_STDP_SETS)}"
        )
    if model.synaptic_input != "g_e":
        raise ModelError(
            f"song_stdp drives a conductance g_e with weights in units of the leak; "
            f"{config.neuron} has synaptic input {model.synaptic_input!r}. Use lif_cond."
        )
    if config.duration_s < 2 * config.rate_window_s:
        raise ModelError("duration_s must cover two rate windows (first and last)")


def simulate(config: Config, sim) -> dict:
    from brian2 import (
        Network,
        SpikeMonitor,
        StateMonitor,
        defaultclock,
        ms,
        second,
        seed,
    )

    defaultclock.dt = config.dt_ms * ms
    seed(config.seed)
    rule = pair_stdp("all_to_all", "additive", **PAIR_STDP_SETS[config.rule_set])
    inputs = bernoulli_inputs(
        _probabilities(config, config.input_rate_hz, config.n_inputs), "inputs"
    )
    neuron = neuron_group(get_neuron(config.neuron), 1, name="neuron")
    synapses = plastic_synapses(
        rule, inputs, neuron, name="synapses", transmit="g_e_post += w", connect="True"
    )
    synapses.w = "rand()*w_max"
    duration = config.duration_s * second
    snapshot_dt = duration / (config.weight_snapshots - 1)
    spikes = SpikeMonitor(neuron, name="output_spikes")
    # Standalone cannot resolve record=True for synapses; all-to-all onto one neuron gives
    # exactly n_inputs synapses.
    weights = StateMonitor(
        synapses, "w", record=np.arange(config.n_inputs), dt=snapshot_dt, name="weight_snapshots"
    )
    net = Network(inputs, neuron, synapses, spikes, weights)
    paper = _paper_protocol(config, net) if config.paper_rates_hz else {}
    sim.run(net, duration)
    return {
        **{key: np.asarray(read()) for key, read in paper.items()},
        "output_spike_times_s": np.asarray(spikes.t / second),
        "weight_snapshot_times_s": np.asarray(weights.t / second),
        "weight_snapshots": np.asarray(weights.w).T,  # [time, synapse]
        "final_weights": np.asarray(synapses.w[:]),
        "w_max": np.array(float(rule.params["w_max"])),
    }


def _probabilities(config: Config, rates_hz, n: int | None = None) -> np.ndarray:
    """Poisson inputs at ``rates_hz`` (one rate for ``n`` inputs, or one per input) as
    PoissonGroup's spike probabilities per step, rate x dt (see experiments.networks.inputs)."""
    rates = np.asarray(rates_hz, dtype=float)
    return np.broadcast_to(rates, (n,) if n else rates.shape) * config.dt_ms * 1e-3


def _paper_protocol(config: Config, net) -> dict:
    """Add the paper-parameter neurons (STDP and static twins) to ``net``; return readers of
    their results, to be called after the run."""
    from brian2 import SpikeMonitor, Synapses, second

    n_rates = len(config.paper_rates_hz)
    rule = pair_stdp("all_to_all", "additive", **PAIR_STDP_SETS["song_2000"])
    g_max = float(rule.params["w_max"])
    model = get_neuron(config.neuron).with_params(**SONG_2000_PARAMS)
    # Neurons 0..n-1 learn; neurons n..2n-1 are their static twins.
    neurons = neuron_group(model, 2 * n_rates, name="paper_neurons")
    rates = np.repeat(config.paper_rates_hz, config.n_inputs)
    inputs = bernoulli_inputs(_probabilities(config, rates), "paper_inputs")
    sources = np.arange(len(rates))
    targets = sources // config.n_inputs
    initial = np.random.default_rng(config.seed).uniform(0, g_max, len(rates))
    plastic = plastic_synapses(
        rule,
        inputs,
        neurons,
        name="paper_plastic",
        transmit="g_e_post += w",
        connect=dict(i=sources, j=targets),
        w_init=initial,
    )
    static = Synapses(
        inputs, neurons, "w : 1 (constant)", on_pre="g_e_post += w", name="paper_static"
    )
    static.connect(i=sources, j=targets + n_rates)
    static.w = initial
    inhibitory = bernoulli_inputs(
        _probabilities(config, config.paper_inhibitory_rate_hz, config.paper_inhibitory_inputs),
        "paper_inhibitory",
    )
    inhibition = Synapses(
        inhibitory,
        neurons,
        "g_in : 1 (shared, constant)",
        on_pre="g_i_post += g_in",
        name="paper_inhibition",
    )
    inhibition.connect()
    inhibition.g_in = config.paper_g_in
    spikes = SpikeMonitor(neurons, name="paper_spikes")
    net.add(neurons, inputs, plastic, static, inhibitory, inhibition, spikes)
    return {
        "paper_spike_i": lambda: spikes.i[:],
        "paper_spike_t_s": lambda: spikes.t / second,
        "paper_final_weights": lambda: plastic.w[:],
        "paper_g_max": lambda: g_max,
    }
