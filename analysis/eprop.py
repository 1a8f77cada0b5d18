"""Pure-numpy reference of the e-prop discrete maps (LIF, ALIF, STDP-LIF, Izhikevich) and
eligibility windows.

An independent second implementation of the maps in the project's timing notes, used to check
the Brian2 models step by step; plus the spike-timing training loop (``train_reference``) and an
adjoint gradient (``bptt_gradient``) that checks its e-prop gradient without eligibility traces.
"""

from __future__ import annotations

import inspect

import numpy as np

#: The pseudo-derivatives' shapes f(x), x = |v - threshold|/width (NEST 3.10's names).
_SURROGATES = {
    "piecewise_linear": lambda x: max(0.0, 1 - x),
    "exponential": lambda x: np.exp(-x),
    "fast_sigmoid_derivative": lambda x: (1 + x) ** -2,
    "arctan_derivative": lambda x: 1 / (1 + x**2),
}

#: ALIF's default adaptation decay per step: NEST eprop_iaf_adapt's 10 ms at 1 ms steps.
ALIF_RHO = float(np.exp(-1 / 10))


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
    ltd_scale=1.0,
    beta=1 / 15,
    rho=ALIF_RHO,
    reset="next_step",
    threshold_rule=">",
    surrogate="piecewise_linear",
    surrogate_width=1.0,
) -> dict[str, np.ndarray]:
    """Run one post neuron for ``len(external_input)`` steps (``ltd_scale``: STDP-LIF's
    depression branch, h = -ltd_scale gamma/v_th; ``beta``, ``rho``: ALIF's threshold
    adaptation A = v_th + beta a, a <- rho a + z; ``reset``: "next_step" subtracts v_th from
    v^{t+1}, "spike_step" from v^t before it decays; ``surrogate``: f in
    psi = gamma/v_th f(|v - A|/(surrogate_width v_th))).

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
    adaptation, eps_a = 0.0, np.zeros(n_pre)  # ALIF's a and its eligibility vector
    for t in range(steps):
        refractory = since < n_ref if refractory_boundary == "exclusive" else since <= n_ref
        threshold = v_th + beta * adaptation if model == "alif" else v_th
        crossed = v >= threshold if threshold_rule == ">=" else v > threshold
        z = float(crossed and not refractory)
        smooth_psi = (
            gamma / v_th * _SURROGATES[surrogate](abs(v - threshold) / (surrogate_width * v_th))
        )
        if model in ("lif", "alif"):
            psi = 0.0 if refractory else smooth_psi
            keep = 1.0
        elif model == "stdp_lif":
            r = float(since == n_ref)
            negative = refractory or (z and spike_step_h == "negative")
            psi = -ltd_scale * gamma / v_th if negative else smooth_psi
            keep = 1.0 - min(1.0, z + r)
        else:
            raise ValueError(f"unknown model {model!r}")
        out["v"][t], out["z"][t], out["psi"][t] = v, z, psi
        out["eps"][t], out["e"][t] = eps, psi * (eps - beta * eps_a if model == "alif" else eps)
        drive = external_input[t] + pre_spikes[t] @ weights
        if model in ("lif", "alif"):
            v = (
                alpha * (v - z * v_th) + drive
                if reset == "spike_step"
                else alpha * v + drive - z * v_th
            )
        else:
            v = alpha * v * keep + drive
        if model == "alif":
            eps_a = psi * eps + (rho - psi * beta) * eps_a
            adaptation = rho * adaptation + z
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
    trace_growth="exact",
) -> dict[str, np.ndarray]:
    """Forward-Euler Izhikevich map with eligibility vectors eps^v, eps^u (reset path dropped),
    from rest (v_rest, b v_rest). Same conventions and outputs as ``run_map``, plus u, eps_u.
    ``trace_growth="bounded"`` caps the factor 1 + dt (0.08 v + 5) on eps^v at 1."""
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
            (1 - z) * izhikevich_growth(v, dt_step, trace_growth) * eps_v
            - dt_step * eps_u
            + dt_step * pre_spikes[t],
            dt_step * a * b * (1 - z) * eps_v + (1 - dt_step * a) * eps_u,
        )
        v_reset, u_reset = v - (v - c) * z, u + d * z
        drive = external_input[t] + pre_spikes[t] @ weights
        v = v_reset + dt_step * (0.04 * v_reset**2 + 5 * v_reset + 140 - u_reset + drive)
        u = u_reset + dt_step * a * (b * v_reset - u_reset)
    return out


def izhikevich_growth(v, dt_step: float, trace_growth: str):
    """dv^{t+1}/dv^t of the Izhikevich map below the spike: 1 + dt (0.08 v + 5), capped at 1
    for ``trace_growth="bounded"``."""
    slope = 0.08 * np.asarray(v) + 5
    return 1 + dt_step * (np.minimum(slope, 0) if trace_growth == "bounded" else slope)


def izhikevich_pulse(steps, onset, width, amplitude):
    """External input: ``amplitude`` for ``width`` steps from ``onset``, zero elsewhere."""
    drive = np.zeros(steps)
    drive[onset : onset + width] = amplitude
    return drive


MODELS = ("lif", "stdp_lif", "alif", "izhikevich")
OPTIMIZERS = ("adam", "gd")
LEARNING_SIGNALS = ("plain", "rectified")


def _require(kind: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; allowed: {', '.join(allowed)}")


def _option(function, options: dict, name: str):
    """``options[name]``, else ``function``'s default, so the defaults live in one place."""
    return options.get(name, inspect.signature(function).parameters[name].default)


def _forward(model: str, pre_spikes: np.ndarray, weights, options: dict) -> dict[str, np.ndarray]:
    """One trial from the fresh initial state, with zero external input."""
    silence = np.zeros(len(pre_spikes))
    if model == "izhikevich":
        return run_izhikevich_map(silence, pre_spikes, weights, **options)
    return run_map(model, silence, pre_spikes, weights, **options)


def _leaky(x: np.ndarray, kappa: float) -> np.ndarray:
    """x filtered along axis 0 as y^t = kappa y^{t-1} + x^t, y^{-1} = 0 (no (1 - kappa))."""
    out = np.empty(np.shape(x))
    total = np.zeros(np.shape(x)[1:])
    for t, value in enumerate(x):
        total = kappa * total + value
        out[t] = total
    return out


def _learning_signal(z: np.ndarray, target_steps, kappa: float) -> np.ndarray:
    """L^t = y^t - y*^t, readout and target through the same filter."""
    target = np.zeros(len(z))
    target[np.asarray(target_steps, dtype=int)] = 1.0
    return _leaky(z, kappa) - _leaky(target, kappa)


def rate_regulariser(
    e: np.ndarray, n_spikes: float, trial_s: float, c_reg: float, f_target_hz: float
) -> np.ndarray:
    """c_reg (f - f_target) sum_t max(e^t, 0) per synapse: above the target rate it never
    raises a weight, whatever the sign of the model's eligibility."""
    return c_reg * (n_spikes / trial_s - f_target_hz) * np.clip(e, 0, None).sum(axis=0)


def train_reference(
    model: str,
    pre_spikes,
    target_steps,
    weights0,
    *,
    iterations: int,
    lr: float,
    optimizer="adam",
    learning_signal="plain",
    kappa: float,
    c_reg=0.0,
    f_target_hz=0.0,
    trial_s: float,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    **model_options,
) -> dict[str, np.ndarray]:
    """Spike-timing task of the timing notes (§6) in numpy: one output neuron, the same frozen
    input every trial, one e-prop update per trial; the reference for the Brian2 trainer.

    ``learning_signal="rectified"`` drops L^t ebar^t where L^t > 0 and ebar^t < 0, the
    safeguard against the STDP-LIF runaway (refractory-window eligibility raising weights).
    Returns per-iteration loss, spike_count, gradient, spikes (iterations, steps) and weights
    (iterations + 1, n_pre), row k being the weights after k updates.
    """
    _require("model", model, MODELS)
    _require("optimizer", optimizer, OPTIMIZERS)
    _require("learning_signal", learning_signal, LEARNING_SIGNALS)
    pre_spikes = np.asarray(pre_spikes, dtype=float)
    steps, n_pre = pre_spikes.shape
    weights = np.array(weights0, dtype=float)
    moment1, moment2 = np.zeros(n_pre), np.zeros(n_pre)
    history = {
        "loss": np.zeros(iterations),
        "spike_count": np.zeros(iterations, dtype=int),
        "weights": np.zeros((iterations + 1, n_pre)),
        "gradient": np.zeros((iterations, n_pre)),
        "spikes": np.zeros((iterations, steps), dtype=int),
    }
    history["weights"][0] = weights
    for k in range(1, iterations + 1):
        run = _forward(model, pre_spikes, weights, model_options)
        signal = _learning_signal(run["z"], target_steps, kappa)
        filtered = _leaky(run["e"], kappa)
        terms = signal[:, None] * filtered
        if learning_signal == "rectified":
            terms[(signal[:, None] > 0) & (filtered < 0)] = 0.0
        n_spikes = run["z"].sum()
        gradient = terms.sum(axis=0) + rate_regulariser(
            run["e"], n_spikes, trial_s, c_reg, f_target_hz
        )
        if optimizer == "adam":
            moment1 = beta1 * moment1 + (1 - beta1) * gradient
            moment2 = beta2 * moment2 + (1 - beta2) * gradient**2
            step = (moment1 / (1 - beta1**k)) / (np.sqrt(moment2 / (1 - beta2**k)) + epsilon)
            weights = weights - lr * step
        else:
            weights = weights - lr * gradient
        history["loss"][k - 1] = 0.5 * np.sum(signal**2)
        history["spike_count"][k - 1] = n_spikes
        history["gradient"][k - 1] = gradient
        history["spikes"][k - 1] = run["z"]
        history["weights"][k] = weights
    return history


def _refractory_end(z: np.ndarray, n_ref: int) -> np.ndarray:
    """r^t of the STDP-LIF map, recomputed from the spikes with run_map's step counter."""
    r, since = np.zeros(len(z)), 10**9
    for t, spike in enumerate(z):
        r[t] = since == n_ref
        since = 1 if spike else since + 1
    return r


def bptt_gradient(
    model: str, pre_spikes, target_steps, weights, *, kappa: float, **model_options
) -> np.ndarray:
    """dE/dW by a backward adjoint pass through the forward map, without eligibility vectors:
    an independent check of the e-prop gradient, which is exact for one neuron without
    recurrence. Plain learning signal; dz^t/dv^t := psi^t; resets not differentiated."""
    _require("model", model, MODELS)
    pre_spikes = np.asarray(pre_spikes, dtype=float)
    run = _forward(model, pre_spikes, weights, model_options)
    z, psi, steps = run["z"], run["psi"], len(pre_spikes)
    # dE/dz^t = sum_{t' >= t} kappa^{t' - t} L^{t'}: the readout filter run backwards.
    dz = _leaky(_learning_signal(z, target_steps, kappa)[::-1], kappa)[::-1]
    adjoint_v = np.zeros(steps + 1)  # adjoint_v[t] = dE/dv^t; nothing after the last step
    if model == "izhikevich":
        a, b, dt_step, growth = (
            _option(run_izhikevich_map, model_options, k)
            for k in ("a", "b", "dt_step", "trace_growth")
        )
        adjoint_u = 0.0
        for t in reversed(range(steps)):
            adjoint_v[t], adjoint_u = (
                psi[t] * dz[t]
                + (1 - z[t]) * izhikevich_growth(run["v"][t], dt_step, growth) * adjoint_v[t + 1]
                + dt_step * a * b * (1 - z[t]) * adjoint_u,
                -dt_step * adjoint_v[t + 1] + (1 - dt_step * a) * adjoint_u,
            )
        input_gain = dt_step
    else:
        alpha = _option(run_map, model_options, "alpha")
        if model in ("lif", "alif"):
            decay = np.full(steps, alpha)
        else:
            r = _refractory_end(z, _option(run_map, model_options, "n_ref"))
            decay = alpha * (1 - np.minimum(1.0, z + r))
        # ALIF: z^t also enters a^{t+1} = rho a^t + z^t, and dz^t/da^t = -beta psi^t; the
        # other maps have no a (beta = 0, rho = 0 leave its adjoint at 0)
        beta, rho = (
            (_option(run_map, model_options, k) for k in ("beta", "rho"))
            if model == "alif"
            else (0.0, 0.0)
        )
        adjoint_a = 0.0  # dE/da^{t+1}
        for t in reversed(range(steps)):
            through_z = dz[t] + adjoint_a
            adjoint_v[t] = psi[t] * through_z + decay[t] * adjoint_v[t + 1]
            adjoint_a = -beta * psi[t] * through_z + rho * adjoint_a
        input_gain = 1.0
    return input_gain * (pre_spikes.T @ adjoint_v[1:])
