"""Metrics and figure of the e-prop eligibility windows (LIF vs STDP-LIF)."""

from __future__ import annotations

import numpy as np

from analysis import references
from analysis.eprop import eligibility_window, run_map, two_halves_protocol
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
    if "halves_lif_trace_sum" in data:
        targets += _halves_targets(config, data, metrics)
    metrics["targets"] = targets
    return metrics


def _halves_targets(config: dict, data: dict, metrics: dict) -> list[dict]:
    options = {key: config[key] for key in ("alpha", "v_th", "gamma", "n_ref")}
    drive, pre_steps, _, steps = two_halves_protocol(alpha=config["alpha"], v_th=config["v_th"])
    pre = np.zeros((steps, 1))
    pre[pre_steps, 0] = 1
    mid = steps // 2
    changes, worst = {}, 0.0
    for model in ("lif", "stdp_lif"):
        reference = run_map(model, drive, pre, **options)["e"][:, 0]
        worst = max(worst, float(np.max(np.abs(data[f"halves_{model}_trace"] - reference))))
        running = data[f"halves_{model}_trace_sum"]
        changes[model] = (float(running[mid - 1]), float(running[-1] - running[mid - 1]))
    metrics["two_halves"] = changes
    rises = all(first > 0 for first, _ in changes.values())
    pattern = changes["lif"][1] >= 0 > changes["stdp_lif"][1]
    return [
        target("P8e", "two halves: Brian2 e^t = numpy reference (max |diff|)", worst, "< 1e-9",
               worst < 1e-9),
        target("P8f", "two halves, Σe change in pre→post half (LIF, STDP-LIF)",
               [changes["lif"][0], changes["stdp_lif"][0]], "> 0 for both", rises),
        target("P8g", "two halves, Σe change in post→pre half (LIF, STDP-LIF)",
               [changes["lif"][1], changes["stdp_lif"][1]], "LIF ≥ 0, STDP-LIF < 0", pattern),
    ]  # fmt: skip


def plot_two_halves(config: dict, data: dict):
    import matplotlib.pyplot as plt

    models = ("lif", "stdp_lif")
    rows = (("v", "v (threshold 1)"), ("eps", "ε (eligibility vector)"),
            ("psi", "ψ / h (pseudo-derivative)"), ("trace", "e (eligibility trace)"),
            ("trace_sum", "Σ e (running)"))  # fmt: skip
    fig, axes = plt.subplots(len(rows) + 1, 2, figsize=(11, 9), sharex=True, layout="constrained")
    steps = np.arange(len(data["halves_lif_v"]))
    mid = len(steps) // 2
    for column, model in enumerate(models):
        ax = axes[0, column]
        post = steps[data[f"halves_{model}_z"] > 0.5]
        ax.eventplot([data["halves_pre_steps"], post], colors=["C0", "C3"], lineoffsets=[1, 0],
                     linelengths=0.8)  # fmt: skip
        ax.set_yticks([1, 0], ["pre i", "post j"])
        ax.set_title(model.replace("_", " ").upper().replace("STDP LIF", "STDP-LIF"))
        for row, (variable, label) in enumerate(rows, start=1):
            ax = axes[row, column]
            ax.step(steps, data[f"halves_{model}_{variable}"], where="post", color="k", lw=0.9)
            ax.axhline(0, color="0.85", lw=0.8)
            if column == 0:
                ax.set_ylabel(label, fontsize=8)
        for ax in axes[:, column]:
            ax.axvline(mid, color="C2", lw=1, ls="--")
        axes[-1, column].set_xlabel("step")
    axes[0, 0].text(mid / 2, 1.6, "pre → post", ha="center")
    axes[0, 0].text(1.5 * mid, 1.6, "post → pre", ha="center")
    axes[0, 0].set_ylim(-0.6, 2)
    axes[0, 1].set_ylim(-0.6, 2)
    fig.suptitle("Two-halves protocol: the running Σe falls in the post→pre half only for STDP-LIF")
    return fig


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


FIGURES = {"eligibility_windows": plot, "eligibility_two_halves": plot_two_halves}
