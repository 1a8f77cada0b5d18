"""Tuning rules of the competitive STDP layer (numpy only).

Rules R2-R3 are the project's reconstruction of Safa et al. (2021)'s parameter theory
(science notes, features.md §1) and C1-C2 its corrections (which replace R1 and R4),
evaluated on the training data's own channel rates; ``calibrated_gain`` is R3's empirical
form. event_features and stdp_clustering set their layers from them.
"""

from __future__ import annotations

import math

import numpy as np


def tuning_rules(
    rates_hz,
    *,
    n_neurons: int,
    n_samples: int,
    w_sum: float,
    resistance: float,
    tau_syn: float,
    tau_m: float,
    threshold_distance: float,
    period_s: float,
    spikes_per_sample: float = 2.0,
    rho: float = 0.6,
    ltd_ratio: float = 0.01,
    learning_wins: float = 40.0,
    theta_set_point: float = 1.0,
) -> dict:
    """STDP, homeostasis and input-gain values from channel rates q_j (Hz) and the neuron's
    scales (SI), after the corrections C1-C2 of features.md, which replace R1 and R4.

    C1: A- tau- = ltd_ratio A+ tau+, potentiation-dominated (Diehl & Cook about 1:100): the
        per-neuron L1 normalisation, not depression, makes the competition.
    R2: tau+ = tau- = tau_m (the pre trace at a post spike is the input that drove it).
    R3: the mean drive of a prototype mixing a random one (Q/M per unit weight) and a matched
        one (sum q^2/Q), with weights of L1 norm w_sum, just reaches the firing distance:
        R gain tau_syn w_sum [(1 - rho) Q/M + rho sum q^2/Q] = threshold_distance.
    C2: learning no faster than homeostasis. A prototype averages its last ``learning_wins``
        wins: effective step A+ ||x|| / w_sum = 1/learning_wins, with ||x|| = Q tau+ the pre
        trace's L1 norm at a post spike. The threshold remembers the same wins: a neuron
        winning its share (k/N spikes per sample) wins learning_wins times in
        tau_theta = learning_wins (N/k) period. theta+ brings that neuron's theta to
        theta_set_point x the firing distance after min(learning_wins, S k/N) wins: the set
        point where tau_theta is shorter than the pass, the end of the pass where not.
        The input gain leaves room for it: R3's drive reaches (1 + theta_set_point) x the
        firing distance (``gain_headroom``), so that a neuron at the set point still fires.
    """
    rates = np.asarray(rates_hz, dtype=float)
    total = rates.sum()
    if total <= 0:
        raise ValueError("the training samples have no events: cannot derive the input gain")
    drive_per_weight = (1 - rho) * total / rates.size + rho * float((rates**2).sum()) / total
    headroom = 1 + theta_set_point
    gain = headroom * threshold_distance / (resistance * tau_syn * w_sum * drive_per_weight)
    step = 1 / learning_wins
    a_plus = step * w_sum / (total * tau_m)
    wins_in_pass = n_samples * spikes_per_sample / n_neurons
    return {
        "tau_plus_s": tau_m,
        "A_plus": a_plus,
        "A_minus": ltd_ratio * a_plus,
        "gain_A": gain,
        "effective_step": step,
        "input_rate_hz": total,
        "tau_theta_s": learning_wins * n_neurons / spikes_per_sample * period_s,
        "theta_plus_V": theta_set_point * threshold_distance / min(learning_wins, wins_in_pass),
        "wins_in_pass": wins_in_pass,
        "gain_headroom": headroom,
    }


def calibrated_gain(
    binned: list,
    weights: np.ndarray,
    *,
    resistance: float,
    tau_syn: float,
    tau_m: float,
    threshold_distance: float,
    dt: float,
    steps: int,
    quantile: float = 0.5,
) -> float:
    """Rule R3's empirical form (features.md §1): the input gain at which the median sample's
    largest subthreshold depolarisation, over neurons and time, just reaches the firing
    distance, with the initial weights and no plasticity. The membrane is taken as linear
    (a leaky integrator of tau_m), so the response scales with the gain. A ``quantile`` below
    0.5 calibrates on a weaker sample, so that more samples than half reach threshold."""
    decay_syn, decay_m = math.exp(-dt / tau_syn), math.exp(-dt / tau_m)
    peaks = []
    for neuron, step in binned:
        kept = step < steps
        increments = np.zeros((steps, weights.shape[1]))
        np.add.at(increments, step[kept], weights[neuron[kept]])
        current, voltage, peak = np.zeros(weights.shape[1]), np.zeros(weights.shape[1]), 0.0
        for increment in increments:
            current = current * decay_syn + increment  # per ampere of gain
            voltage = voltage * decay_m + resistance * current * (1 - decay_m)
            peak = max(peak, float(voltage.max()))
        peaks.append(peak)
    return threshold_distance / float(np.quantile(peaks, quantile))
