"""STDP windows and the triplet rule's frequency dependence, all conditions in one network.

Reproduces the two-exponential pair window (Bi & Poo 1998 time constants) for each pairing
scheme and weight dependence, and the weight change versus pairing frequency of the triplet
rule (Pfister & Gerstner 2006, doi:10.1523/JNEUROSCI.1425-06.2006) over the Sjöström et al.
(2001) data; and the triplet rule's weight drift under independent Poisson trains, which
changes sign at a postsynaptic rate set by its parameters (its BCM-like threshold). Every
(scheme, Δt), every (parameter set, Δt, frequency) and every Poisson rate is an independent
pre/post pair, so the whole experiment is one compile and one run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.stdp import TRIPLET_PARAMS, pairing_times
from experiments.networks.build import plastic_synapses
from experiments.networks.inputs import bernoulli_inputs
from experiments.runner.configs import require_values
from models.base import ModelError
from models.plasticity import (
    BOUNDS,
    PAIR_STDP_SETS,
    PAIRINGS,
    TRIPLET_SETS,
    pair_stdp,
    triplet_stdp,
)

NAME = "plasticity_curves"
# Stored with the result (SI values), so the analysis needs neither Brian2 nor the models.
WINDOW_PARAMS = ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_max")
PAIRING_START_S = 0.2  # first pairing; leaves room for post-before-pre lags


@dataclass(frozen=True)
class Config:
    #: seed of the Poisson drift protocol (the pairing protocols are deterministic)
    seed: int = 0
    #: simulation time step; spike times are rounded onto it
    dt_ms: float = 0.1
    #: pair-STDP parameter set of the windows (models.PAIR_STDP_SETS); its amplitudes are the
    #: change after the whole protocol
    pair_set: str = "bi_poo"
    #: t_post - t_pre of each simulated pairing of the pair-STDP window
    window_lags_ms: tuple[float, ...] = tuple(range(-100, 101, 5))
    #: pairings per lag; one pairing changes w by the set's amplitude / window_pairs
    window_pairs: int = 60
    #: pairing frequency of the window protocol; every lag must be under half its period
    window_rate_hz: float = 1.0
    #: (pairing, bounds) of each simulated window: all_to_all or nearest, additive or
    #: multiplicative
    schemes: tuple[tuple[str, str], ...] = (
        ("all_to_all", "additive"),
        ("nearest", "additive"),
        ("all_to_all", "multiplicative"),
    )
    #: initial weight of every window and triplet synapse
    w0: float = 1.0
    #: upper weight bound of the pair rules, above every weight the additive protocol reaches
    w_max: float = 2.0
    #: triplet-rule parameter sets (Pfister & Gerstner 2006, models.TRIPLET_SETS) measured
    #: against pairing frequency
    triplet_sets: tuple[str, ...] = (
        "visual_all_to_all_full",
        "visual_all_to_all_minimal",
        "visual_nearest_full",
    )
    #: t_post - t_pre of the triplet frequency protocol (positive: pre before post)
    triplet_lags_ms: tuple[float, ...] = (10.0, -10.0)
    #: pairing frequencies of the triplet protocol (those of Sjöström et al. 2001)
    triplet_rates_hz: tuple[float, ...] = (0.1, 1.0, 10.0, 20.0, 40.0, 50.0)
    #: pairings per (lag, frequency) of the triplet protocol
    triplet_pairs: int = 60
    #: triplet parameter set whose weight drift under independent Poisson pre/post trains
    #: (one synapse per pair, for the whole run) is measured
    drift_set: str = "visual_all_to_all_minimal"
    #: presynaptic Poisson rate of the drift protocol
    drift_pre_rate_hz: float = 10.0
    #: postsynaptic Poisson rates of the drift protocol, across the rate where the drift
    #: changes sign
    drift_post_rates_hz: tuple[float, ...] = (5.0, 10.0, 15.0, 17.5, 20.0, 25.0, 30.0, 40.0)
    #: independent pre/post pairs per postsynaptic rate
    drift_synapses_per_rate: int = 20
    #: initial weight of the drift synapses (bound at 10 x this), far from both bounds for
    #: the whole run
    drift_w0: float = 100.0


SCALES = {
    "tiny": Config(
        dt_ms=0.5,
        window_lags_ms=(-40.0, -10.0, -5.0, 0.0, 5.0, 10.0, 40.0),
        window_pairs=3,
        triplet_rates_hz=(10.0, 50.0),
        triplet_pairs=4,
        drift_post_rates_hz=(10.0, 30.0),
        drift_synapses_per_rate=2,
    ),
    "quick": Config(),
    "paper": Config(),
}


def check(config: Config) -> None:
    if config.pair_set not in PAIR_STDP_SETS:
        raise ModelError(
            f"unknown pair-STDP set {config.pair_set!r}; choose one of {', '.join(PAIR_STDP_SETS)}"
        )
    for pairing, bounds in config.schemes:
        if pairing not in PAIRINGS or bounds not in BOUNDS:
            raise ModelError(
                f"unknown scheme ({pairing!r}, {bounds!r}); pairing is one of {PAIRINGS}, "
                f"bounds one of {BOUNDS}"
            )
    unknown = [n for n in (*config.triplet_sets, config.drift_set) if n not in TRIPLET_SETS]
    if unknown:
        raise ModelError(f"unknown triplet sets {unknown}; choose from {', '.join(TRIPLET_SETS)}")
    require_values(
        config,
        "schemes",
        "window_lags_ms",
        "triplet_sets",
        "triplet_lags_ms",
        "triplet_rates_hz",
        "drift_post_rates_hz",
    )
    rates = (config.window_rate_hz, *config.triplet_rates_hz)
    if min(rates) <= 0:
        raise ModelError(
            "window_rate_hz and every triplet_rates_hz must be positive (pairings repeat "
            f"every 1000/rate ms); got {config.window_rate_hz} and {config.triplet_rates_hz}"
        )
    if config.dt_ms > 500 / max(rates):
        raise ModelError(
            f"dt_ms must be at most {500 / max(rates):g} ms, half the interval between pairings "
            f"at {max(rates):g} Hz: rounding spike times onto a longer step can put two "
            f"pairings of one synapse on one step; got {config.dt_ms}"
        )
    if not 0 < config.w0 < config.w_max:
        raise ModelError(
            f"0 < w0 < w_max is needed (multiplicative depression scales with w, so at w0 = 0 "
            f"nothing is measured, and at w_max potentiation is clipped away); got "
            f"w0={config.w0}, w_max={config.w_max}"
        )
    if config.drift_w0 <= 0:
        raise ModelError(
            f"drift_w0 must be positive (the drift is measured far from the bounds 0 and "
            f"10 drift_w0); got {config.drift_w0}"
        )
    span_ms = 1000 / config.window_rate_hz
    if max(abs(lag) for lag in config.window_lags_ms) >= span_ms / 2:
        raise ModelError(
            f"window lags up to {span_ms / 2:.0f} ms fit pairings at {config.window_rate_hz} Hz; "
            "lower window_rate_hz or the largest lag"
        )


def _pair_conditions(lags_s, rates_hz, n_pairs):
    """Spike generator inputs for independent pairs: one neuron per (lag, rate)."""
    pre_idx, pre_t, post_idx, post_t = [], [], [], []
    for k, (lag, rate) in enumerate((lag, rate) for lag in lags_s for rate in rates_hz):
        pre, post = pairing_times(lag, rate, n_pairs, start=PAIRING_START_S)
        pre_idx += [k] * n_pairs
        post_idx += [k] * n_pairs
        pre_t += list(pre)
        post_t += list(post)
    return (np.array(pre_idx), np.array(pre_t)), (np.array(post_idx), np.array(post_t))


def simulate(config: Config, sim) -> dict:
    from brian2 import (
        Network,
        SpikeGeneratorGroup,
        defaultclock,
        ms,
        second,
        seed,
    )

    defaultclock.dt = config.dt_ms * ms
    seed(config.seed)  # only the Poisson drift protocol is random
    net = Network()

    def generators(label, lags_ms, rates_hz, n_pairs):
        (pre_i, pre_t), (post_i, post_t) = _pair_conditions(
            np.asarray(lags_ms) / 1000, rates_hz, n_pairs
        )
        # Round onto the time grid here, so the recorded times are those simulated.
        dt_s = config.dt_ms / 1000
        pre_t, post_t = np.round(pre_t / dt_s) * dt_s, np.round(post_t / dt_s) * dt_s
        n = len(lags_ms) * len(rates_hz)
        pre = SpikeGeneratorGroup(n, pre_i, pre_t * second, name=f"{label}_pre")
        post = SpikeGeneratorGroup(n, post_i, post_t * second, name=f"{label}_post")
        net.add(pre, post)
        return pre, post, max(pre_t.max(), post_t.max())

    pair_params = dict(PAIR_STDP_SETS[config.pair_set])
    # The set's amplitudes are the change after the whole protocol: one pairing gives 1/n.
    pair_params["A_plus"] /= config.window_pairs
    pair_params["A_minus"] /= config.window_pairs
    window_pre, window_post, window_end = generators(
        "window", config.window_lags_ms, (config.window_rate_hz,), config.window_pairs
    )
    window_synapses = []
    for pairing, bounds in config.schemes:
        rule = pair_stdp(pairing, bounds, **pair_params, w_max=config.w_max)
        window_params = [float(rule.params[key]) for key in WINDOW_PARAMS]
        synapses = plastic_synapses(
            rule, window_pre, window_post, name=f"window_{pairing}_{bounds}", w_init=config.w0
        )
        window_synapses.append(synapses)
        net.add(synapses)

    triplet_pre, triplet_post, triplet_end = generators(
        "triplet", config.triplet_lags_ms, config.triplet_rates_hz, config.triplet_pairs
    )
    triplet_synapses, triplet_params = [], []
    for parameter_set in config.triplet_sets:
        # Bounds far away: the protocol measures the unbounded rule.
        rule = triplet_stdp(parameter_set, w_max=100.0)
        triplet_params.append([float(rule.params[key]) for key in TRIPLET_PARAMS])
        synapses = plastic_synapses(
            rule, triplet_pre, triplet_post, name=f"triplet_{parameter_set}", w_init=config.w0
        )
        triplet_synapses.append(synapses)
        net.add(synapses)

    drift_rates = np.repeat(config.drift_post_rates_hz, config.drift_synapses_per_rate)
    step_s = config.dt_ms * 1e-3  # Poisson spike probability per step: rate x dt
    drift_pre = bernoulli_inputs(
        np.full(len(drift_rates), config.drift_pre_rate_hz * step_s), "drift_pre"
    )
    drift_post = bernoulli_inputs(drift_rates * step_s, "drift_post")
    drift_rule = triplet_stdp(config.drift_set, w_max=10 * config.drift_w0)
    drift_synapses = plastic_synapses(
        drift_rule, drift_pre, drift_post, name="drift_synapses", w_init=config.drift_w0
    )
    net.add(drift_pre, drift_post, drift_synapses)

    duration_s = max(window_end, triplet_end) + 0.1
    sim.run(net, duration_s * second)
    return {
        "window_lags_s": np.asarray(config.window_lags_ms) / 1000,
        "window_dw": np.array([np.asarray(s.w[:]) - config.w0 for s in window_synapses]),
        "window_params": np.array(window_params),  # per pairing; same for every scheme
        "triplet_lags_s": np.asarray(config.triplet_lags_ms) / 1000,
        "triplet_rates_hz": np.asarray(config.triplet_rates_hz, dtype=float),
        # rows: parameter sets; columns: (lag, rate) with rate varying fastest
        "triplet_dw": np.array([np.asarray(s.w[:]) - config.w0 for s in triplet_synapses]),
        "triplet_params": np.array(triplet_params),
        "triplet_pairing": np.array(
            [TRIPLET_SETS[name]["pairing"] for name in config.triplet_sets]
        ),
        "pairing_start_s": np.array(PAIRING_START_S),
        "duration_s": np.array(duration_s),
        "drift_post_rates_hz": drift_rates,
        "drift_per_s": (np.asarray(drift_synapses.w[:]) - config.drift_w0) / duration_s,
        "drift_params": np.array([float(drift_rule.params[key]) for key in TRIPLET_PARAMS]),
    }
