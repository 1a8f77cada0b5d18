"""Competitive Hebbian learning: Poisson inputs onto one neuron with additive pair STDP.

Song, Miller & Abbott (2000) Nat. Neurosci. 3:919, doi:10.1038/78829, in the form of Brian2's
examples/synapses/STDP.py (tau_m = 10 ms, 1000 inputs at 15 Hz, g_max = 0.01, A- = 1.05 A+).
From uniform initial weights, STDP drives the weights to a bimodal distribution (near 0 and
near g_max) and lowers the output rate: the neuron regulates its own firing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.song_stdp import evaluate  # noqa: F401  (this experiment's metrics)
from models.base import ModelError
from models.neurons import get_neuron
from models.plasticity import PAIR_STDP_SETS, pair_stdp

NAME = "song_stdp"


@dataclass(frozen=True)
class Config:
    seed: int = 1
    dt_ms: float = 0.1
    duration_s: float = 500.0  # bimodality needs >= 300 s (at 100 s it is only U-shaped)
    n_inputs: int = 1000
    input_rate_hz: float = 15.0
    neuron: str = "lif_cond"
    rule_set: str = "song"
    rate_window_s: float = 10.0  # output rate is compared over the first and last window
    weight_snapshots: int = 11


SCALES = {
    "tiny": Config(duration_s=1.0, rate_window_s=0.25, weight_snapshots=3),
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
        Hz,
        Network,
        PoissonGroup,
        SpikeMonitor,
        StateMonitor,
        defaultclock,
        ms,
        second,
        seed,
    )

    from experiments.build import neuron_group, plastic_synapses

    defaultclock.dt = config.dt_ms * ms
    seed(config.seed)
    rule = pair_stdp("all_to_all", "additive", **PAIR_STDP_SETS[config.rule_set])
    inputs = PoissonGroup(config.n_inputs, rates=config.input_rate_hz * Hz, name="inputs")
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
    sim.run(net, duration)
    return {
        "output_spike_times_s": np.asarray(spikes.t / second),
        "weight_snapshot_times_s": np.asarray(weights.t / second),
        "weight_snapshots": np.asarray(weights.w).T,  # [time, synapse]
        "final_weights": np.asarray(synapses.w[:]),
        "w_max": np.array(float(rule.params["w_max"])),
    }
