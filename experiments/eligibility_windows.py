"""Single-pairing e-prop eligibility windows of LIF and STDP-LIF (Traub et al. 2020), and of
any other e-prop map in threshold units (ALIF).

Traub, Butz, Baayen, Otte (2020), doi:10.1007/978-3-030-61616-8_53, argue that the e-prop
eligibility of LIF neurons has no depression branch while that of their STDP-aware LIF does.
Protocol (the project's timing notes): a post neuron is driven to fire exactly once, at step
100, by a 10-step ramp; one presynaptic spike at step 100 - lag (weight 0, so it does not
change the post neuron); the window is the summed eligibility trace (learning signal 1).
The two-halves protocol (pre -> post pairings, then post -> pre) runs in the same network and
records every step of the post neuron and the synapse. The Izhikevich window runs there too,
on its own 0.5 ms clock: from rest, a 3 ms pulse makes the post neuron fire once; its spike
step is found with the numpy map (the weights are zero, so the pre spikes cannot move it).
Every lag of every model variant is one synapse of one network, so this is one compile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.eligibility_windows import WINDOW_PARAMS, window_options
from analysis.eprop import (
    ALIF_RHO,
    izhikevich_pulse,
    run_izhikevich_map,
    two_halves_protocol,
    window_protocol_input,
)
from experiments.networks.eprop import eligibility_synapses, eprop_group
from experiments.runner.configs import require_values
from models.base import ModelError
from models.eprop import (
    EPROP_MAPS,
    REFRACTORY_BOUNDARIES,
    SPIKE_STEP_H,
    eprop_map,
    izhikevich_eprop,
)

NAME = "eligibility_windows"
SPIKE_STEP = 100


@dataclass(frozen=True)
class Config:
    #: recorded for uniformity; the protocols are deterministic
    seed: int = 0
    #: [steps] t_post - t_pre of each pre spike of the LIF and STDP-LIF windows (the post
    #: neuron fires at step 100)
    lags: tuple[int, ...] = tuple(range(-10, 31))
    #: [steps] length of the window protocol's trial
    steps: int = 140
    #: (model, refractory boundary, h at the spike step) of each simulated window: an e-prop
    #: map in threshold units (lif, stdp_lif, alif); exclusive or strict; negative or
    #: surrogate (STDP-LIF's option; ignored by maps without it)
    variants: tuple[tuple[str, str, str], ...] = (
        ("lif", "exclusive", "negative"),
        ("stdp_lif", "exclusive", "negative"),
        ("stdp_lif", "exclusive", "surrogate"),
        ("stdp_lif", "strict", "negative"),
        ("alif", "exclusive", "negative"),
    )
    #: membrane decay per step of the LIF and STDP-LIF maps, exp(-dt/tau_m)
    alpha: float = 0.9
    #: firing threshold of the LIF and STDP-LIF maps (the maps' voltage scale)
    v_th: float = 1.0
    #: amplitude of the pseudo-derivative h of the LIF and STDP-LIF maps
    gamma: float = 0.3
    #: [steps] refractory period of the LIF and STDP-LIF maps
    n_ref: int = 5
    #: threshold rise per spike of maps with an adaptive threshold (ALIF), in units of v_th:
    #: NEST 3.10's eprop_iaf_adapt, 1 mV of its 15
    adaptation_beta: float = 1 / 15
    #: decay per step of that threshold rise: exp(-1/10), NEST's 10 ms at 1 ms steps
    adaptation_rho: float = ALIF_RHO
    #: t_post - t_pre of each pre spike of the Izhikevich window, rounded to its steps
    izhikevich_lags_ms: tuple[float, ...] = (
        -20.0,
        -10.0,
        -5.0,
        -2.0,
        -1.0,
        0.0,
        0.5,
        1.0,
        1.5,
        2.0,
        2.5,
        3.0,
        3.5,
        4.0,
        5.0,
        6.0,
        8.0,
        10.0,
        12.0,
        15.0,
        20.0,
        25.0,
        30.0,
        40.0,
    )
    #: step of the Izhikevich map, on its own clock (keep it <= 0.5 ms: the upstroke
    #: amplifies the eligibility vector by up to 1 + dt (0.08 v + 5) per step)
    izhikevich_dt_ms: float = 0.5
    #: [steps] length of the Izhikevich window protocol
    izhikevich_steps: int = 400
    #: (onset step, steps, amplitude in mV/ms) of the pulse that makes the Izhikevich post
    #: neuron fire exactly once
    izhikevich_pulse: tuple[int, int, float] = (100, 6, 15.0)


SCALES = {
    "tiny": Config(lags=(-5, -4, -3, -2, -1, 0, 1, 2, 5, 10, 20)),
    "quick": Config(),
    "paper": Config(),
}


def variant_label(variant) -> str:
    model, boundary, spike_step_h = variant
    suffix = [
        s for s, default in ((boundary, "exclusive"), (spike_step_h, "negative")) if s != default
    ]
    return "_".join([model, *suffix])


def _model(config: Config, variant):
    model, options = window_options(config, variant)
    return eprop_map(model, **options)


def window_maps() -> list[str]:
    """The e-prop maps the window protocol can drive: those in threshold units."""
    return [name for name, build in EPROP_MAPS.items() if set(WINDOW_PARAMS) <= set(build().params)]


def check(config: Config) -> None:
    for model, boundary, spike_step_h in config.variants:
        if model not in window_maps():
            raise ModelError(
                f"no e-prop map {model!r} in threshold units (parameters {WINDOW_PARAMS}) for "
                f"the window protocol; choose one of {', '.join(window_maps())} or register "
                "one in models.eprop.EPROP_MAPS"
            )
        if boundary not in REFRACTORY_BOUNDARIES or spike_step_h not in SPIKE_STEP_H:
            raise ModelError(
                f"unknown options ({boundary!r}, {spike_step_h!r}); boundaries are "
                f"{REFRACTORY_BOUNDARIES}, spike-step h {SPIKE_STEP_H}"
            )
    require_values(config, "lags", "izhikevich_lags_ms")
    if not 0 <= config.adaptation_rho < 1 or config.adaptation_beta < 0:
        raise ModelError(
            f"adaptation_rho must lie in [0, 1) and adaptation_beta be >= 0; got "
            f"{config.adaptation_rho}, {config.adaptation_beta}"
        )
    if not 0 < config.alpha < 1 or config.v_th <= 0:
        raise ModelError(
            f"alpha = exp(-dt/tau_m) must lie in (0, 1) and v_th above 0 (the maps' voltage "
            f"scale); got alpha {config.alpha}, v_th {config.v_th}"
        )
    bad = [lag for lag in config.lags if not 0 <= SPIKE_STEP - lag < config.steps]
    if bad:
        raise ModelError(
            f"lags {bad} put the pre spike outside the {config.steps}-step trial; "
            f"use lags in ({SPIKE_STEP - config.steps}, {SPIKE_STEP}]"
        )


def simulate(config: Config, sim) -> dict:
    from brian2 import Network, defaultclock, ms

    defaultclock.dt = 1 * ms  # one map step (the Izhikevich window has its own clock)
    net = Network()
    readers = {
        **_add_windows(config, net),
        **_add_two_halves(config, net),
        **_add_izhikevich_window(config, net),
    }
    halves_steps = two_halves_protocol()[3]
    izhikevich_ms = config.izhikevich_steps * config.izhikevich_dt_ms
    sim.run(net, max(config.steps, halves_steps, izhikevich_ms) * ms)
    return {key: np.asarray(read()) for key, read in readers.items()}


def _sampled(group, variables, record, order, name):
    """A monitor reading ``variables`` where the map uses them in a step: order -1 before the
    eligibility update, 0 between it and the state update (v^t, psi^t), 0.5 after (e^t)."""
    from brian2 import StateMonitor

    return StateMonitor(
        group, variables, record=record, when="after_synapses", order=order, name=name
    )


def _add_windows(config: Config, net) -> dict:
    """One post neuron per variant and one synapse per lag; readers of the windows and of the
    post neurons' v, z, psi over the trial."""
    from brian2 import SpikeGeneratorGroup, TimedArray, ms

    drive = window_protocol_input(config.steps, SPIKE_STEP, alpha=config.alpha, v_th=config.v_th)
    lags = np.asarray(config.lags)
    readers = {
        "lags": lambda: lags,
        "drive": lambda: drive,
        "variants": lambda: np.array([variant_label(v) for v in config.variants]),
        # which maps have a threshold adaptation (analysis reads results, not records)
        "adaptive": lambda: np.array(["beta" in _model(config, v).params for v in config.variants]),
    }
    for k, variant in enumerate(config.variants):
        label, model = variant_label(variant), _model(config, variant)
        post = eprop_group(model, 1, name=f"post_{k}", drive=TimedArray(drive[:, None], dt=1 * ms))
        pre = SpikeGeneratorGroup(
            len(lags), np.arange(len(lags)), (SPIKE_STEP - lags) * ms, name=f"pre_{k}"
        )
        one_to_post = dict(i=np.arange(len(lags)), j=np.zeros(len(lags), dtype=int))
        synapses = eligibility_synapses(model, pre, post, name=f"synapses_{k}", connect=one_to_post)
        trace = _sampled(post, ("v", "z", "psi"), 0, 0, f"post_trace_{k}")
        net.add(post, pre, synapses, trace)
        # Summed over the whole run; after the trial psi is exactly 0 (v far below threshold,
        # no input), so the sum equals the trial's.
        readers[f"{label}_window"] = lambda synapses=synapses: synapses.trace_sum[:]
        for variable in ("v", "z", "psi"):
            readers[f"{label}_{variable}"] = lambda trace=trace, variable=variable: getattr(
                trace, variable
            )[0][: config.steps]
    return readers


def _add_two_halves(config: Config, net) -> dict:
    """The two-halves protocol for LIF and STDP-LIF; readers of every step of the post
    neuron and the synapse."""
    from brian2 import SpikeGeneratorGroup, TimedArray, ms

    drive, pre_steps, _, steps = two_halves_protocol(alpha=config.alpha, v_th=config.v_th)
    readers = {"halves_pre_steps": lambda: pre_steps}
    for name in ("lif", "stdp_lif"):
        model = _model(config, (name, "exclusive", "negative"))
        post = eprop_group(
            model, 1, name=f"halves_post_{name}", drive=TimedArray(drive[:, None], dt=1 * ms)
        )
        pre = SpikeGeneratorGroup(
            1, np.zeros(len(pre_steps), dtype=int), pre_steps * ms, name=f"halves_pre_{name}"
        )
        synapses = eligibility_synapses(model, pre, post, name=f"halves_synapse_{name}")
        monitors = (
            (
                _sampled(post, ("v", "z", "psi"), 0, 0, f"halves_post_trace_{name}"),
                ("v", "z", "psi"),
            ),
            (_sampled(synapses, "eps", 0, -1, f"halves_eps_{name}"), ("eps",)),
            (
                _sampled(synapses, ("trace", "trace_sum"), 0, 0.5, f"halves_e_{name}"),
                ("trace", "trace_sum"),
            ),
        )
        net.add(post, pre, synapses, *(monitor for monitor, _ in monitors))
        for monitor, variables in monitors:
            for variable in variables:
                readers[f"halves_{name}_{variable}"] = lambda monitor=monitor, variable=variable: (
                    getattr(monitor, variable)[0][:steps]
                )
    return readers


def izhikevich_spike_step(config: Config) -> int:
    """The single post spike of the Izhikevich window protocol (numpy map; weights are zero)."""
    drive = izhikevich_pulse(config.izhikevich_steps, *config.izhikevich_pulse)
    spikes = np.flatnonzero(
        run_izhikevich_map(
            drive, np.zeros((config.izhikevich_steps, 1)), dt_step=config.izhikevich_dt_ms
        )["z"]
    )
    if len(spikes) != 1:
        raise ModelError(
            f"the Izhikevich pulse {config.izhikevich_pulse} gives {len(spikes)} spikes; "
            "choose one that gives exactly one"
        )
    return int(spikes[0])


def _add_izhikevich_window(config: Config, net) -> dict:
    from brian2 import SpikeGeneratorGroup, TimedArray, ms

    dt = config.izhikevich_dt_ms * ms
    steps = config.izhikevich_steps
    model = izhikevich_eprop(dt_step=config.izhikevich_dt_ms)
    post_step = izhikevich_spike_step(config)
    lag_steps = np.round(np.asarray(config.izhikevich_lags_ms) / config.izhikevich_dt_ms)
    n = len(lag_steps)
    drive = izhikevich_pulse(steps, *config.izhikevich_pulse)
    post = eprop_group(
        model, 1, name="izhikevich_post", dt=dt, drive=TimedArray(drive[:, None], dt=dt)
    )
    pre = SpikeGeneratorGroup(
        n, np.arange(n), (post_step - lag_steps) * dt, dt=dt, name="izhikevich_pre"
    )
    synapses = eligibility_synapses(
        model,
        pre,
        post,
        name="izhikevich_synapses",
        dt=dt,
        connect=dict(i=np.arange(n), j=np.zeros(n, dtype=int)),
    )
    neuron_trace = _sampled(post, ("v", "z"), 0, 0, "izhikevich_post_trace")
    eps_trace = _sampled(synapses, ("eps", "eps_u"), np.arange(n), -1, "izhikevich_eps")
    net.add(post, pre, synapses, neuron_trace, eps_trace)
    return {
        "izhikevich_lags_ms": lambda: np.asarray(config.izhikevich_lags_ms),
        "izhikevich_post_step": lambda: post_step,
        "izhikevich_a": lambda: float(model.params["a"]),
        # the network runs as long as its longest protocol; the sums cover every step run
        "izhikevich_steps_run": lambda: len(neuron_trace.t),
        "izhikevich_window": lambda: synapses.trace_sum[:],
        "izhikevich_v": lambda: neuron_trace.v[0][:steps],
        "izhikevich_z": lambda: neuron_trace.z[0][:steps],
        "izhikevich_eps": lambda: np.asarray(eps_trace.eps)[:, :steps],
        "izhikevich_eps_u": lambda: np.asarray(eps_trace.eps_u)[:, :steps],
    }
