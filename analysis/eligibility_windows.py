"""Metrics and figure of the e-prop eligibility windows (LIF vs STDP-LIF)."""

from __future__ import annotations

import numpy as np

from analysis import references
from analysis.eprop import eligibility_window
from analysis.report import target


def _options(config: dict, variant) -> tuple[str, dict]:
    model, boundary, spike_step_h = variant
    options = {key: config[key] for key in ("alpha", "v_th", "gamma", "n_ref")}
    options["refractory_boundary"] = boundary
    if model == "stdp_lif":
        options["spike_step_h"] = spike_step_h
    return model, options


def evaluate(config: dict, data: dict) -> dict:
    lags = data["lags"]
    labels = [str(label) for label in data["variants"]]
    targets, worst_reference, worst_table = [], 0.0, 0.0
    for label, variant in zip(labels, config["variants"], strict=True):
        model, options = _options(config, variant)
        reference = eligibility_window(model, lags, steps=config["steps"], **options)
        worst_reference = max(
            worst_reference, float(np.max(np.abs(data[f"{label}_window"] - reference)))
        )
        for lag, value in references.ELIGIBILITY_WINDOWS.get(label, {}).items():
            if lag in lags:
                measured = data[f"{label}_window"][list(lags).index(lag)]
                worst_table = max(worst_table, abs(float(measured) - value))
    targets.append(
        target(
            "P8a",
            "Brian2 map = numpy reference, every variant (max |Σe diff|)",
            worst_reference,
            "< 1e-9",
            worst_reference < 1e-9,
        )
    )
    precision = references.ELIGIBILITY_WINDOW_PRECISION
    targets.append(
        target(
            "P8b",
            "eligibility window table (LIF, STDP-LIF, strict boundary)",
            worst_table,
            f"≤ {precision:g}",
            worst_table <= precision,
        )
    )
    metrics = {"max_diff_vs_reference": worst_reference, "max_diff_vs_table": worst_table}
    if "lif" in labels:
        lowest = float(data["lif_window"].min())
        targets.append(
            target("P8c", "LIF window never negative (min Σe)", lowest, "≥ 0", lowest >= 0)
        )
    if "stdp_lif" in labels:
        negative = lags[data["stdp_lif_window"] < 0]
        contiguous = len(negative) > 0 and np.array_equal(
            negative, np.arange(negative.min(), negative.max() + 1)
        )
        width_ok = contiguous and len(negative) == config["n_ref"] and negative.max() == 1
        targets.append(
            target(
                "P8d",
                "STDP-LIF depression lobe: lags (steps) with Σe < 0",
                f"{negative.min()}..{negative.max()}" if len(negative) else "none",
                f"{2 - config['n_ref']}..1 (n_ref = {config['n_ref']} wide)",
                width_ok,
            )
        )
    metrics["targets"] = targets
    return metrics


def plot(config: dict, data: dict):
    import matplotlib.pyplot as plt

    lags = data["lags"]
    labels = [str(label) for label in data["variants"]]
    fig, (ax, ax_trace) = plt.subplots(
        1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [3, 2]}
    )
    styles = {
        "lif": ("C0", "-"),
        "stdp_lif": ("C3", "-"),
        "stdp_lif_surrogate": ("C1", "--"),
        "stdp_lif_strict": ("C4", ":"),
    }
    for label in labels:
        color, line = styles.get(label, ("0.5", "-"))
        ax.plot(
            lags,
            data[f"{label}_window"],
            line,
            color=color,
            marker="o",
            ms=3,
            label=label.replace("_", " "),
        )
        table = references.ELIGIBILITY_WINDOWS.get(label, {})
        if table:
            ax.plot(list(table), list(table.values()), "x", color="k", ms=6)
    ax.plot([], [], "x", color="k", label="reference table")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    ax.set_xlabel("Δ = t_post − t_pre (steps)")
    ax.set_ylabel("Σ_t e^t (learning signal 1)")
    ax.set_title("Single-pairing eligibility windows")
    ax.legend(frameon=False, fontsize=7)
    steps = np.arange(config["steps"])
    window = (steps >= 85) & (steps <= 115)
    for label, color in (("lif", "C0"), ("stdp_lif", "C3")):
        if label in labels:
            ax_trace.step(
                steps[window],
                data[f"{label}_psi"][window],
                where="post",
                color=color,
                label=f"{label.replace('_', ' ')}: ψ / h",
            )
    ax_trace.axvline(100, color="k", lw=0.8, ls=":")
    ax_trace.axhline(0, color="0.8", lw=0.8)
    ax_trace.set_xlabel("step (post spike at 100)")
    ax_trace.set_ylabel("pseudo-derivative")
    ax_trace.set_title(f"ψ around the post spike (n_ref = {config['n_ref']})")
    ax_trace.legend(frameon=False, fontsize=7)
    fig.suptitle(
        "e-prop eligibility: LIF has no depression branch, STDP-LIF does (Traub et al. 2020)"
    )
    return fig


FIGURES = {"eligibility_windows": plot}
