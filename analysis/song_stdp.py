"""Metrics and figures of the Song, Miller & Abbott (2000) experiment."""

from __future__ import annotations

import numpy as np

from analysis import references
from analysis.report import target

MIN_DURATION_FOR_BIMODALITY_S = 300.0
FINAL_FRACTION = 0.2  # the paper protocol's final rates are taken over the last 20 % of the run


def weight_histogram(weights, w_max, bins=10) -> np.ndarray:
    """Fraction of weights in ``bins`` equal bins over [0, w_max]."""
    counts, _ = np.histogram(np.clip(weights, 0, w_max), bins=bins, range=(0, w_max))
    return counts / len(weights)


def rate_in_window(spike_times, start, stop) -> float:
    times = np.asarray(spike_times)
    return float(np.count_nonzero((times >= start) & (times < stop)) / (stop - start))


def isi_cv(spike_times) -> float:
    isi = np.diff(np.asarray(spike_times))
    return float(np.std(isi) / np.mean(isi)) if len(isi) > 1 else float("nan")


def evaluate(config: dict, data: dict) -> dict:
    w_max = float(data["w_max"])
    final = data["final_weights"]
    histogram = weight_histogram(final, w_max)
    window, duration = config["rate_window_s"], config["duration_s"]
    spikes = data["output_spike_times_s"]
    rate_first = rate_in_window(spikes, 0, window)
    rate_last = rate_in_window(spikes, duration - window, duration)
    late = spikes[spikes >= duration / 2]
    metrics = {
        "weight_histogram": histogram.tolist(),
        "fraction_low": float(np.mean(final < 0.1 * w_max)),
        "fraction_high": float(np.mean(final > 0.9 * w_max)),
        "rate_first_hz": rate_first,
        "rate_last_hz": rate_last,
        "isi_cv_second_half": isi_cv(late),
    }
    # The criteria hold for >= 300 s of learning; shorter runs are measured, not judged.
    judged = duration >= MIN_DURATION_FOR_BIMODALITY_S
    edges = histogram[0] + histogram[-1]
    middle = float(histogram[2:8].sum())
    fall = 1 - rate_last / rate_first if rate_first > 0 else float("nan")
    reference = references.SONG_BRIAN2_500S
    metrics["targets"] = [
        target(
            "P3a",
            f"weights in bottom + top bins after {duration:g} s (fraction)",
            float(edges),
            "≥ 0.5",
            edges >= 0.5 if judged else None,
        ),
        target(
            "P3b",
            "weights in the middle six of ten bins (fraction)",
            middle,
            "< 0.4",
            middle < 0.4 if judged else None,
        ),
        target(
            "P3c",
            f"output rate first → last {window:g} s (Hz)",
            [rate_first, rate_last],
            [reference["rate_first_hz"], reference["rate_last_hz"]],
            None,
        ),
        target(
            "P3d",
            "output rate fall, first to last window",
            fall,
            "≥ 40 %",
            fall >= 0.4 if judged else None,
        ),
        target(
            "P3e",
            "fraction of weights < 0.1 g_max, > 0.9 g_max",
            [metrics["fraction_low"], metrics["fraction_high"]],
            [reference["low"], reference["high"]],
            None,
        ),
    ]
    if config["paper_rates_hz"]:
        metrics["targets"] += _paper_targets(config, data, metrics, judged)
    return metrics


def paper_summary(config: dict, data: dict) -> dict:
    """Final output rates of the STDP and static neurons and the mean learnt weight, per
    excitatory input rate, for the paper-parameter protocol."""
    input_rates = np.asarray(config["paper_rates_hz"], dtype=float)
    n = len(input_rates)
    duration = config["duration_s"]
    start = duration * (1 - FINAL_FRACTION)
    late = data["paper_spike_t_s"] >= start
    counts = np.bincount(data["paper_spike_i"][late], minlength=2 * n)
    rates = counts / (duration - start)
    weights = data["paper_final_weights"].reshape(n, config["n_inputs"])
    return {
        "input_rates_hz": input_rates,
        "stdp_rate_hz": rates[:n],
        "static_rate_hz": rates[n:],
        "mean_weight": weights.mean(axis=1) / float(data["paper_g_max"]),
    }


def _paper_targets(config: dict, data: dict, metrics: dict, judged: bool) -> list[dict]:
    summary = paper_summary(config, data)
    metrics["paper"] = {key: np.asarray(value).tolist() for key, value in summary.items()}
    stdp_range = float(np.ptp(summary["stdp_rate_hz"]))
    static_range = float(np.ptp(summary["static_rate_hz"]))
    falling = bool(np.all(np.diff(summary["mean_weight"]) < 0))
    span = f"{summary['input_rates_hz'][0]:g}–{summary['input_rates_hz'][-1]:g} Hz"
    return [
        target(
            "P4a",
            f"paper parameters: output-rate range over {span} input, STDP vs static (Hz)",
            [stdp_range, static_range],
            "STDP range < static range",
            stdp_range < static_range if judged else None,
        ),
        target(
            "P4b",
            "paper parameters: mean w/g_max per input rate (falls with rate)",
            [round(float(w), 3) for w in summary["mean_weight"]],
            "monotonically falling",
            falling if judged else None,
        ),
    ]


def plot(config: dict, data: dict, metrics: dict):
    import matplotlib.pyplot as plt

    w_max = float(data["w_max"])
    fig, (ax_hist, ax_rate, ax_evolution) = plt.subplots(1, 3, figsize=(13, 3.6))
    initial, final = data["weight_snapshots"][0], data["final_weights"]
    bins = np.linspace(0, 1, 21)
    ax_hist.hist(initial / w_max, bins=bins, color="0.75", label="initial")
    ax_hist.hist(final / w_max, bins=bins, histtype="step", lw=2, color="C3", label="final")
    ax_hist.set_xlabel("w / g_max")
    ax_hist.set_ylabel("synapses")
    ax_hist.legend(frameon=False)
    ax_hist.set_title("Weights become bimodal")

    window, duration = config["rate_window_s"], config["duration_s"]
    edges = np.arange(0, duration + window / 2, window)
    counts, _ = np.histogram(data["output_spike_times_s"], bins=edges)
    ax_rate.plot(edges[:-1] + window / 2, counts / window, color="k")
    ax_rate.set_xlabel("time (s)")
    ax_rate.set_ylabel(f"output rate (Hz, {window:g} s bins)")
    ax_rate.set_ylim(bottom=0)
    ax_rate.set_title("Output rate is regulated")

    # Snapshots every Δ from t = 0; the final weights (t = duration) complete the series.
    snapshots = np.vstack([data["weight_snapshots"], final[None, :]]) / w_max
    histograms = np.array([np.histogram(s, bins=bins)[0] for s in snapshots]).T
    half_step = duration / (len(snapshots) - 1) / 2
    image = ax_evolution.imshow(
        histograms,
        origin="lower",
        aspect="auto",
        cmap="viridis",
        extent=(-half_step, duration + half_step, 0, 1),
    )
    fig.colorbar(image, ax=ax_evolution, label="synapses per bin")
    ax_evolution.set_xlabel("time (s)")
    ax_evolution.set_ylabel("w / g_max")
    ax_evolution.set_title("Weight distribution over time")
    fig.suptitle(
        f"Song, Miller & Abbott 2000: {config['n_inputs']} Poisson inputs at "
        f"{config['input_rate_hz']:g} Hz, additive STDP, {duration:g} s"
    )
    return fig


def plot_paper(config: dict, data: dict, metrics: dict):
    import matplotlib.pyplot as plt

    fig, (ax_rate, ax_weight) = plt.subplots(1, 2, figsize=(9, 3.6))
    if not config["paper_rates_hz"]:
        return fig
    summary = paper_summary(config, data)
    rates = summary["input_rates_hz"]
    ax_rate.plot(rates, summary["static_rate_hz"], "s--", color="0.5", label="static synapses")
    ax_rate.plot(rates, summary["stdp_rate_hz"], "o-", color="C3", label="with STDP")
    ax_rate.set_xlabel("excitatory input rate (Hz)")
    ax_rate.set_ylabel(f"output rate, last {FINAL_FRACTION:.0%} of run (Hz)")
    ax_rate.set_ylim(bottom=0)
    ax_rate.legend(frameon=False)
    ax_rate.set_title("STDP regulates the output rate")
    ax_weight.plot(rates, summary["mean_weight"], "o-", color="C0")
    ax_weight.set_xlabel("excitatory input rate (Hz)")
    ax_weight.set_ylabel("mean final w / g_max")
    ax_weight.set_ylim(0, 1)
    ax_weight.set_title("Mean weight falls with input rate")
    fig.suptitle(
        f"Song, Miller & Abbott 2000, paper parameters ({config['n_inputs']} excitatory + "
        f"{config['paper_inhibitory_inputs']} inhibitory inputs, {config['duration_s']:g} s)"
    )
    return fig


FIGURES = {"song_stdp": plot, "song_rate_regulation": plot_paper}
