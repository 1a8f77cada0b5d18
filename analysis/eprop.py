"""Pure-numpy reference of the e-prop discrete maps (LIF, STDP-LIF) and eligibility windows.

An independent second implementation of the maps in the project's timing notes, used to check
the Brian2 models step by step.
"""

from __future__ import annotations

import numpy as np


def run_map(
    model: str,
    external_input,
    pre_spikes,
    weights=None,
    *,
    alpha=0.9,
    v_th=1.0,
    gamma=0.3,
    n_ref=5,
    refractory_boundary="exclusive",
    spike_step_h="negative",
) -> dict[str, np.ndarray]:
    """Run one post neuron for ``len(external_input)`` steps.

    ``pre_spikes`` is (steps, n_pre) of 0/1; a presynaptic spike at step t enters v and eps at
    t + 1. Returns v, z, psi (per step) and eps, e (per step and synapse), eps being the value
    used in step t.
    """
    external_input = np.asarray(external_input, dtype=float)
    pre_spikes = np.asarray(pre_spikes, dtype=float)
    steps, n_pre = pre_spikes.shape
    weights = np.zeros(n_pre) if weights is None else np.asarray(weights, dtype=float)
    out = {key: np.zeros(steps) for key in ("v", "z", "psi")}
    out["eps"], out["e"] = np.zeros((steps, n_pre)), np.zeros((steps, n_pre))
    v, eps, since = 0.0, np.zeros(n_pre), 10**9
    for t in range(steps):
        refractory = since < n_ref if refractory_boundary == "exclusive" else since <= n_ref
        z = float(v > v_th and not refractory)
        surrogate = gamma / v_th * max(0.0, 1 - abs(v - v_th) / v_th)
        if model == "lif":
            psi = 0.0 if refractory else surrogate
            keep = 1.0
        elif model == "stdp_lif":
            r = float(since == n_ref)
            negative = refractory or (z and spike_step_h == "negative")
            psi = -gamma / v_th if negative else surrogate
            keep = 1.0 - min(1.0, z + r)
        else:
            raise ValueError(f"unknown model {model!r}")
        out["v"][t], out["z"][t], out["psi"][t] = v, z, psi
        out["eps"][t], out["e"][t] = eps, psi * eps
        drive = external_input[t] + pre_spikes[t] @ weights
        if model == "lif":
            v = alpha * v + drive - z * v_th
        else:
            v = alpha * v * keep + drive
        eps = alpha * keep * eps + pre_spikes[t]
        since = 1 if z else since + 1
    return out


def window_protocol_input(steps=140, spike_step=100, ramp=10, alpha=0.9, v_th=1.0):
    """Constant input on the ``ramp`` steps before ``spike_step``, just enough to cross v_th
    there (times 1 + 1e-7), zero elsewhere: the post neuron fires once, at ``spike_step``."""
    amplitude = v_th * (1 - alpha) / (1 - alpha**ramp) * (1 + 1e-7)
    drive = np.zeros(steps)
    drive[spike_step - ramp : spike_step] = amplitude
    return drive


def eligibility_window(model: str, lags, steps=140, spike_step=100, **options) -> np.ndarray:
    """Sum of e over the run for one pre spike at ``spike_step - lag`` (learning signal 1)."""
    lags = np.asarray(lags, dtype=int)
    pre = np.zeros((steps, len(lags)))
    pre[spike_step - lags, np.arange(len(lags))] = 1
    alpha = options.get("alpha", 0.9)
    drive = window_protocol_input(steps, spike_step, alpha=alpha, v_th=options.get("v_th", 1.0))
    return run_map(model, drive, pre, **options)["e"].sum(axis=0)


def two_halves_protocol(pairings=5, period=50, lag=3, ramp=10, alpha=0.9, v_th=1.0):
    """Pre and post spike schedule of the two-halves protocol (Traub et al. 2020, as
    reconstructed in the timing notes): first half pre -> post (post fires ``lag`` steps after
    each pre spike), second half post -> pre (pre fires ``lag`` steps after each post spike).

    Returns (external input of the post neuron, pre spike steps, post spike steps, steps).
    Each post spike is produced by a ``ramp``-step input that crosses v_th at its step (with a
    1 % margin for what is left of the previous spike's reset).
    """
    half = pairings * period
    first = period // 2 + period * np.arange(pairings)
    post_steps = np.concatenate([first + lag, half + first])
    pre_steps = np.concatenate([first, half + first + lag])
    steps = 2 * half
    amplitude = v_th * (1 - alpha) / (1 - alpha**ramp) * 1.01
    drive = np.zeros(steps)
    for spike in post_steps:
        drive[spike - ramp : spike] = amplitude
    return drive, pre_steps, post_steps, steps


def run_izhikevich_map(
    external_input,
    pre_spikes,
    weights=None,
    *,
    a=0.02,
    b=0.2,
    c=-65.0,
    d=8.0,
    v_th=30.0,
    gamma=0.3,
    dt_step=0.5,
    v_rest=-70.0,
) -> dict[str, np.ndarray]:
    """Forward-Euler Izhikevich map with eligibility vectors eps^v, eps^u (reset path dropped),
    from rest (v_rest, b v_rest). Same conventions and outputs as ``run_map``, plus u, eps_u."""
    external_input = np.asarray(external_input, dtype=float)
    pre_spikes = np.asarray(pre_spikes, dtype=float)
    steps, n_pre = pre_spikes.shape
    weights = np.zeros(n_pre) if weights is None else np.asarray(weights, dtype=float)
    out = {key: np.zeros(steps) for key in ("v", "u", "z", "psi")}
    for key in ("eps", "eps_u", "e"):
        out[key] = np.zeros((steps, n_pre))
    v, u = v_rest, b * v_rest
    eps_v, eps_u = np.zeros(n_pre), np.zeros(n_pre)
    for t in range(steps):
        z = float(v >= v_th)
        psi = gamma * np.exp((min(v, v_th) - v_th) / v_th)
        out["v"][t], out["u"][t], out["z"][t], out["psi"][t] = v, u, z, psi
        out["eps"][t], out["eps_u"][t], out["e"][t] = eps_v, eps_u, psi * eps_v
        eps_v, eps_u = (
            (1 - z) * (1 + dt_step * (0.08 * v + 5)) * eps_v
            - dt_step * eps_u
            + dt_step * pre_spikes[t],
            dt_step * a * b * (1 - z) * eps_v + (1 - dt_step * a) * eps_u,
        )
        v_reset, u_reset = v - (v - c) * z, u + d * z
        drive = external_input[t] + pre_spikes[t] @ weights
        v = v_reset + dt_step * (0.04 * v_reset**2 + 5 * v_reset + 140 - u_reset + drive)
        u = u_reset + dt_step * a * (b * v_reset - u_reset)
    return out


def izhikevich_pulse(steps, onset, width, amplitude):
    """External input: ``amplitude`` for ``width`` steps from ``onset``, zero elsewhere."""
    drive = np.zeros(steps)
    drive[onset : onset + width] = amplitude
    return drive
