"""Learning precise spike timings with e-prop: LIF, STDP-LIF and Izhikevich (Traub et al. 2020).

Traub, Butz, Baayen, Otte (2020), doi:10.1007/978-3-030-61616-8_53, report that STDP-aware LIF
neurons learn precise spike timings from an e-prop learning signal. The task is the project's
reconstruction (timing notes §6), not the paper's protocol: one output neuron, 50 frozen
Poisson inputs at 20 Hz, 200 ms trials at 1 ms steps, target spikes at 40, 90 and 150 ms, a
readout filtered with tau = 10 ms, loss 0.5 sum (y - y*)^2, one Adam step per trial.

Every run (model variant x learning rate x seed) is one output neuron of one network, the
optimizer runs inside it, so the whole training of every run is one compile and one run.
Runs with the same seed share the frozen input and the initial weights across models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.timing_learning import (
    map_options,
    parse_convention,
    run_seeds,
    task,
    variant_label,
)
from experiments.networks.eprop import eligibility_synapses, eprop_group
from experiments.runner.configs import require_values
from models.base import ModelError
from models.eprop import (
    EPROP_MAPS,
    IZHIKEVICH_TRACE_GROWTH,
    LEARNING_SIGNALS,
    OPTIMIZERS,
    REFRACTORY_BOUNDARIES,
    SPIKE_STEP_H,
    eprop_map,
    eprop_training,
    izhikevich_eprop,
    map_conventions,
)

NAME = "timing_learning"


@dataclass(frozen=True)
class Config:
    #: run k of each setting uses seed + k for its input and initial weights
    seed: int = 0
    #: seeds per (variant, learning rate)
    runs_per_setting: int = 5
    #: optimizer learning rates; every rate runs with every seed
    learning_rates: tuple[float, ...] = (1e-3, 3e-3, 1e-2)
    #: training trials per run, one optimizer step after each
    iterations: int = 1000
    #: (neuron model, learning signal, convention) of each trained variant: lif, stdp_lif,
    #: alif or izhikevich; plain or rectified; for stdp_lif "H:LTD", H its h at the spike step
    #: (negative: -gamma/v_th, or surrogate) and LTD the depression branch's gamma-/gamma (1
    #: or 1/N), "" for the others. STDP-LIF runs as the grid of both h and three LTD scales.
    variants: tuple[tuple[str, str, str], ...] = (
        ("lif", "plain", ""),
        *(
            ("stdp_lif", "plain", f"{h}:{ltd}")
            for h in SPIKE_STEP_H
            for ltd in ("1", "1/3", "1/10")
        ),
        ("stdp_lif", "rectified", "negative:1"),
        ("alif", "plain", ""),
        ("izhikevich", "plain", ""),
    )
    #: Poisson inputs per run, frozen: the same spikes every trial
    n_inputs: int = 50
    #: rate of the frozen Poisson inputs
    input_rate_hz: float = 20.0
    #: length of a trial
    trial_ms: float = 200.0
    #: step of the LIF and STDP-LIF maps, and the grid of the inputs and targets
    dt_ms: float = 1.0
    #: target spike times within the trial (multiples of dt_ms)
    targets_ms: tuple[float, ...] = (40.0, 90.0, 150.0)
    #: time constant of the readout filter (kappa = exp(-step/readout_tau_ms))
    readout_tau_ms: float = 10.0
    #: standard deviation of the initial weights (normal, mean 0)
    w0_std: float = 0.1
    #: adam, or gd (plain gradient descent)
    optimizer: str = "adam"
    #: weight of the firing-rate regulariser, towards f_target_hz (0: off)
    c_reg: float = 0.0
    #: target firing rate of the rate regulariser
    f_target_hz: float = 15.0
    # LIF and STDP-LIF (alpha = exp(-dt/tau_m))
    #: membrane time constant of LIF and STDP-LIF
    tau_m_ms: float = 20.0
    #: firing threshold of LIF and STDP-LIF (the maps' voltage scale)
    v_th: float = 1.0
    #: amplitude of the pseudo-derivative h of LIF and STDP-LIF
    gamma: float = 0.3
    #: [steps] refractory period of LIF and STDP-LIF
    n_ref: int = 5
    #: exclusive (refractory while t - t_spike < n_ref) or strict (<= n_ref)
    refractory_boundary: str = "exclusive"
    # ALIF: the LIF above with the threshold v_th + beta a, a +1 per spike, decaying
    #: threshold rise per unit adaptation, in units of v_th (NEST eprop_iaf_adapt: 1 of 15 mV)
    alif_beta: float = 1 / 15
    #: time constant of the threshold adaptation (NEST eprop_iaf_adapt: 10 ms)
    alif_tau_a_ms: float = 10.0
    # Izhikevich (its e-prop map is in mV and ms)
    #: step of the Izhikevich map (unstable at 1 ms); it must divide dt_ms and trial_ms
    izhikevich_dt_ms: float = 0.5
    #: [mV] reset increment d of the recovery variable u (2, as in the Traub preset)
    izhikevich_d: float = 2.0
    #: eps^v through the upstroke: bounded (its growth factor capped at 1) or exact. With
    #: exact, a trial with a spike has ~50x the gradient of a silent one; after one misplaced
    #: spike Adam's steps stay tiny while the neuron is silent, and every run ends silent
    #: (0/15 reach the targets); bounded: 9/15 in the numpy reference
    izhikevich_trace_growth: str = "bounded"
    #: factor on the Izhikevich weights and learning rates. Its membrane integrates over
    #: ~1.7 ms at rest (LIF: 20 ms) and an input enters times dt, so 8 left v's initial
    #: fluctuation at 0.4 mV, 3 % of the 20 mV to the spike-initiation point (LIF: ~30 % of
    #: v_th); 30 gives 1.4 mV. numpy reference, bounded traces, 15 runs: 0/15 reach the
    #: targets at 8, 9/15 at 30, 8/15 at 80
    izhikevich_weight_scale: float = 30.0
    # evaluation
    #: a trial succeeds when each target has exactly one spike within this of it
    tolerance_ms: float = 1.0
    #: a last trial with at least this many output spikes counts as a runaway
    runaway_spikes: int = 20
    #: iterations checked against the numpy training reference
    reference_iterations: int = 50


SCALES = {
    "tiny": Config(
        runs_per_setting=2, learning_rates=(3e-3,), iterations=20, reference_iterations=20
    ),
    "quick": Config(),
    "paper": Config(runs_per_setting=10, iterations=2000),
}


def _on_grid(value_ms: float, step_ms: float) -> bool:
    return abs(value_ms / step_ms - round(value_ms / step_ms)) < 1e-9


def check(config: Config) -> None:
    require_values(config, "variants")
    for model, signal, convention in config.variants:
        if model not in EPROP_MAPS:
            raise ModelError(
                f"unknown e-prop model {model!r}; choose one of {', '.join(EPROP_MAPS)} or "
                "register a map in models.eprop.EPROP_MAPS"
            )
        if convention and "spike_step_h" not in map_conventions(model):
            raise ModelError(f"{model} takes no convention (got {convention!r}); give ''")
        try:
            options = parse_convention(model, convention)
        except ValueError as err:
            raise ModelError(str(err)) from None
        if options.get("spike_step_h", "negative") not in SPIKE_STEP_H:
            raise ModelError(
                f"unknown spike_step_h {options['spike_step_h']!r} in {convention!r}; choose "
                f"one of {', '.join(SPIKE_STEP_H)}"
            )
        if signal not in LEARNING_SIGNALS:
            raise ModelError(
                f"unknown learning signal {signal!r}; choose one of {', '.join(LEARNING_SIGNALS)}"
            )
    if config.optimizer not in OPTIMIZERS:
        raise ModelError(
            f"unknown optimizer {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
    if config.refractory_boundary not in REFRACTORY_BOUNDARIES:
        raise ModelError(
            f"unknown refractory boundary {config.refractory_boundary!r}; choose one of "
            f"{', '.join(REFRACTORY_BOUNDARIES)}"
        )
    if config.izhikevich_trace_growth not in IZHIKEVICH_TRACE_GROWTH:
        raise ModelError(
            f"unknown izhikevich_trace_growth {config.izhikevich_trace_growth!r}; choose one "
            f"of {', '.join(IZHIKEVICH_TRACE_GROWTH)}"
        )
    for field in ("dt_ms", "izhikevich_dt_ms"):
        step = getattr(config, field)
        if step <= 0 or not _on_grid(config.trial_ms, step):
            raise ModelError(
                f"inconsistent time step: trial_ms = {config.trial_ms} is not a whole number of "
                f"{field} = {step} steps; choose a step that divides the trial"
            )
    if not _on_grid(config.dt_ms, config.izhikevich_dt_ms):
        raise ModelError(
            f"inconsistent time step: the input is drawn on the dt_ms = {config.dt_ms} grid, "
            f"which izhikevich_dt_ms = {config.izhikevich_dt_ms} must divide"
        )
    outside = [t for t in config.targets_ms if not 0 <= t < config.trial_ms]
    if outside or not config.targets_ms:
        raise ModelError(
            f"target times {outside or '()'} ms are outside the trial [0, {config.trial_ms}) ms; "
            "give at least one target inside it"
        )
    off_grid = [t for t in config.targets_ms if not _on_grid(t, config.dt_ms)]
    if off_grid:
        raise ModelError(f"target times {off_grid} ms are not multiples of dt_ms = {config.dt_ms}")
    if config.alif_beta < 0 or config.alif_tau_a_ms <= 0:
        raise ModelError(
            f"alif_beta must not be negative and alif_tau_a_ms must be positive; got "
            f"{config.alif_beta}, {config.alif_tau_a_ms}"
        )
    if config.iterations < 1 or config.runs_per_setting < 1 or not config.learning_rates:
        raise ModelError("iterations, runs_per_setting and learning_rates must not be empty")


def neuron_model(config: Config, model: str, convention: str = ""):
    """The e-prop map of ``model`` with the config's parameters and the variant's
    convention."""
    if model == "izhikevich":
        return izhikevich_eprop(
            config.izhikevich_trace_growth, d=config.izhikevich_d, dt_step=config.izhikevich_dt_ms
        )
    return eprop_map(model, **map_options(config, model, convention))


def training_rule(config: Config, signal: str, step_ms: float):
    from brian2 import Hz, ms

    return eprop_training(
        config.optimizer,
        signal,
        kappa=float(np.exp(-step_ms / config.readout_tau_ms)),
        trial_duration=config.trial_ms * ms,
        c_reg=config.c_reg,
        f_target=config.f_target_hz * Hz,
    )


def simulate(config: Config, sim) -> dict:
    net, readers, duration = build_network(config)
    sim.run(net, duration)
    return {key: np.asarray(read()) for key, read in readers.items()}


def build_network(config: Config):
    """(network, readers of the results, duration of the whole training)."""
    from brian2 import Network, defaultclock, ms

    defaultclock.dt = config.dt_ms * ms
    net = Network()
    readers = {
        "seeds": lambda: run_seeds(config),
        "learning_rates": lambda: np.asarray(config.learning_rates),
    }
    inputs = {}  # one input generator per step size, shared by the variants that use it
    for model, signal, convention in config.variants:
        readers.update(_add_variant(config, model, signal, convention, net, inputs))
    # One step more than the trials: the trial start at the end applies the last update.
    return net, readers, (config.iterations * config.trial_ms + config.dt_ms) * ms


def _input_generator(config: Config, step_ms: float, net, inputs: dict):
    """The frozen inputs of every seed, repeated each trial, on a clock of ``step_ms``."""
    from brian2 import SpikeGeneratorGroup, ms

    if step_ms not in inputs:
        indices, times = [], []
        for k, seed in enumerate(run_seeds(config)):
            pre, _ = task(config, seed)
            step, neuron = np.nonzero(pre)
            indices.append(neuron + k * config.n_inputs)
            times.append(step * config.dt_ms)
        name = f"inputs_{len(inputs)}"
        inputs[step_ms] = SpikeGeneratorGroup(
            config.n_inputs * config.runs_per_setting,
            np.concatenate(indices),
            np.concatenate(times) * ms,
            period=config.trial_ms * ms,
            dt=step_ms * ms,
            name=name,
        )
        net.add(inputs[step_ms])
    return inputs[step_ms]


def _add_variant(
    config: Config, model_name: str, signal: str, convention: str, net, inputs: dict
) -> dict:
    """One output neuron per (learning rate, seed): neuron j = lr index * seeds + seed index."""
    from brian2 import SpikeMonitor, StateMonitor, TimedArray, ms

    label = variant_label(model_name, signal, convention)
    step_ms = config.izhikevich_dt_ms if model_name == "izhikevich" else config.dt_ms
    scale = config.izhikevich_weight_scale if model_name == "izhikevich" else 1.0
    model = neuron_model(config, model_name, convention)
    steps = round(config.trial_ms / step_ms)
    target = np.zeros(steps)
    target[np.round(np.asarray(config.targets_ms) / step_ms).astype(int)] = 1
    n_seeds, n_lrs, n = config.runs_per_setting, len(config.learning_rates), config.n_inputs
    runs = n_lrs * n_seeds
    training = training_rule(config, signal, step_ms)
    output = eprop_group(
        model,
        runs,
        name=f"output_{label}",
        dt=step_ms * ms,
        training=training,
        target_train=TimedArray(target, dt=step_ms * ms),
    )
    output.lr = np.repeat(np.asarray(config.learning_rates) * scale, n_seeds)
    # Run j (seed index j % n_seeds) receives input k of its seed: generator neuron
    # seed index * n + k.
    post = np.repeat(np.arange(runs), n)
    pre = (post % n_seeds) * n + np.tile(np.arange(n), runs)
    initial = np.stack([task(config, seed)[1] for seed in run_seeds(config)]) * scale
    w0 = initial[post % n_seeds, np.tile(np.arange(n), runs)]
    synapses = eligibility_synapses(
        model,
        _input_generator(config, step_ms, net, inputs),
        output,
        name=f"synapses_{label}",
        connect=dict(i=pre, j=post),
        weights=w0,
        dt=step_ms * ms,
        training=training,
    )
    # Sampled at each trial start before the reset: the totals of the trial that ended.
    per_trial = StateMonitor(
        output,
        ("loss", "spike_count"),
        record=True,
        dt=config.trial_ms * ms,
        when="start",
        order=-1,
        name=f"per_trial_{label}",
    )
    spikes = SpikeMonitor(output, name=f"spikes_{label}")
    net.add(output, synapses, per_trial, spikes)
    trials = slice(1, config.iterations + 1)

    def final_weights():
        weights = np.zeros((runs, n))
        weights[synapses.j[:], synapses.i[:] % n] = synapses.w[:]
        return weights / scale

    def spike_steps():
        """(run, iteration, step in trial) of every output spike of the training."""
        step = np.round(np.asarray(spikes.t / ms) / step_ms).astype(int)
        kept = step < config.iterations * steps
        return np.stack([np.asarray(spikes.i)[kept], step[kept] // steps, step[kept] % steps])

    return {
        f"{label}_loss": lambda: np.asarray(per_trial.loss)[:, trials],
        f"{label}_spike_count": lambda: np.asarray(per_trial.spike_count)[:, trials],
        f"{label}_spikes": spike_steps,
        f"{label}_final_weights": final_weights,
    }
