"""Metrics and figures of the neuron comparison: Izhikevich gallery and f–I curves."""

from __future__ import annotations

import numpy as np

from analysis.report import target

BURST_ISI_S = 0.010  # spikes closer than this belong to one burst


def lif_rate(current, E_L, v_th, v_reset, R_m, tau_m, t_ref):
    """Firing rate of the LIF under constant current (SI units):
    1 / (t_ref + tau ln((E_L + R I - v_reset) / (E_L + R I - v_th))), zero below rheobase."""
    drive = E_L + R_m * np.asarray(current, dtype=float)
    above = drive > v_th
    safe = np.where(above, drive, v_th + 1.0)
    period = t_ref + tau_m * np.log((safe - v_reset) / (safe - v_th))
    return np.where(above, 1.0 / period, 0.0)


def steady_rate(spike_times) -> float:
    """1 / mean inter-spike interval (excludes the onset transient); 0 without an interval."""
    times = np.sort(np.asarray(spike_times))
    return float(1.0 / np.mean(np.diff(times))) if len(times) >= 2 else 0.0


def bursts(spike_times, max_isi=BURST_ISI_S) -> list[np.ndarray]:
    """Runs of at least two spikes separated by less than ``max_isi``."""
    times = np.sort(np.asarray(spike_times))
    runs, current = [], [times[0]] if len(times) else []
    for previous, t in zip(times[:-1], times[1:], strict=True):
        if t - previous < max_isi:
            current.append(t)
        else:
            if len(current) >= 2:
                runs.append(np.array(current))
            current = [t]
    if len(current) >= 2:
        runs.append(np.array(current))
    return runs


def local_minima(trace) -> int:
    trace = np.asarray(trace)
    return int(np.count_nonzero((trace[1:-1] < trace[:-2]) & (trace[1:-1] <= trace[2:])))


def _trains(data, prefix_i, prefix_t, n):
    i, t = data[prefix_i], data[prefix_t]
    return [np.sort(t[i == k]) for k in range(n)]


def gallery_window(config: dict) -> tuple[float, float, float, float]:
    """(settled, stimulus onset, second phase, end) of the gallery protocol, in seconds.

    The network runs as long as its longest part (the f–I curves), so the gallery's own
    protocol ends before the simulation does."""
    settle = config["gallery_settle_ms"] / 1e3
    onset = settle + config["gallery_onset_ms"] / 1e3
    release = onset + config["gallery_phase_ms"] / 1e3
    return settle, onset, release, release + config["gallery_phase_ms"] / 1e3


def gallery_patterns(config: dict, data: dict) -> dict[str, dict]:
    """Per named set: measured features and whether the set's signature pattern is there."""
    names = [str(n) for n in data["gallery_sets"]]
    settle, onset, release, end = gallery_window(config)
    all_trains = _trains(data, "gallery_spike_i", "gallery_spike_t_s", len(names))
    trains = [t[(t >= settle) & (t < end)] for t in all_trains]
    features = {}
    for name, train in zip(names, trains, strict=True):
        isi = np.diff(train)
        features[name] = {
            "spikes": int(len(train)),
            "first_isi_ms": float(isi[0] * 1e3) if len(isi) else float("nan"),
            "last_isi_ms": float(isi[-1] * 1e3) if len(isi) else float("nan"),
            "bursts": len(bursts(train)),
            "rate_hz": steady_rate(train),
        }
    rs = features.get("RS", {}).get("rate_hz", np.nan)

    def check(name):
        f, train = features[name], trains[names.index(name)]
        isi = np.diff(train)
        if name == "RS":  # regular spiking: single spikes, adapting
            return (
                len(train) >= 3
                and isi.min() > BURST_ISI_S
                and f["last_isi_ms"] > 1.5 * f["first_isi_ms"]
            )
        if name == "IB":  # one burst at onset, then single spikes
            return (
                len(train) >= 5
                and f["bursts"] == 1
                and isi[0] < BURST_ISI_S
                and np.all(isi[3:] > 0.02)
            )
        if name == "CH":  # repeated high-frequency bursts
            return f["bursts"] >= 3
        if name == "FS":  # fast, without adaptation pauses
            return len(isi) >= 2 and f["rate_hz"] > 3 * rs and isi[1:].max() < 0.015
        if name == "LTS":  # high-frequency onset, strong adaptation
            return len(train) >= 10 and isi[0] < 0.005 and f["last_isi_ms"] > 3 * f["first_isi_ms"]
        if name == "TC":  # silent while hyperpolarised, rebound burst on release
            during = np.count_nonzero((train >= onset) & (train < release))
            rebound = np.count_nonzero((train >= release) & (train < release + 0.03))
            return during == 0 and rebound >= 2
        if name == "RZ":  # damped ringing under a sub-threshold step, spikes above threshold
            t = data["gallery_v_t_s"]
            first_phase = (t >= onset) & (t < release)
            ringing = local_minima(data["gallery_v_mv"][names.index(name)][first_phase]) >= 2
            silent = not np.any((train >= onset) & (train < release))
            return ringing and silent and np.count_nonzero(train >= release) >= 2
        return None

    for name in names:
        features[name]["pattern_shown"] = bool(check(name))
    return features


def fi_curves(config: dict, data: dict) -> list[dict]:
    """Per model: currents, simulated steady rates, spike counts and the LIF closed form."""
    curves = []
    for k, name in enumerate(str(n) for n in data["neurons"]):
        currents = data[f"fi_currents_na_{k}"]
        trains = _trains(data, f"fi_spike_i_{k}", f"fi_spike_t_s_{k}", len(currents))
        params = data[f"fi_params_{k}"]
        theory = lif_rate(currents * 1e-9, *params) if not np.isnan(params).any() else None
        curves.append(
            {
                "name": name,
                "currents_na": currents,
                "rates_hz": np.array([steady_rate(t) for t in trains]),
                "counts": np.array([len(t) for t in trains]),
                "theory_hz": theory,
            }
        )
    return curves


def lif_period_error(curve: dict) -> tuple[float, int]:
    """Largest |simulated period - closed-form period| (s) over currents with >= 3 spikes, and
    the number of sub-rheobase currents that nevertheless fired."""
    theory, rates, counts = curve["theory_hz"], curve["rates_hz"], curve["counts"]
    usable = (counts >= 3) & (theory > 0)
    error = np.max(np.abs(1 / rates[usable] - 1 / theory[usable])) if usable.any() else np.nan
    return float(error), int(np.count_nonzero((theory == 0) & (counts > 0)))


def evaluate(config: dict, data: dict) -> dict:
    patterns = gallery_patterns(config, data)
    dt = config["dt_ms"] / 1e3
    targets = [
        target(
            f"N1-{name}",
            f"Izhikevich {name} shows its pattern (spikes, first/last ISI ms, bursts)",
            [f["spikes"], round(f["first_isi_ms"], 1), round(f["last_isi_ms"], 1), f["bursts"]],
            "Izhikevich 2003, Fig. 2",
            f["pattern_shown"],
        )
        for name, f in patterns.items()
    ]
    fi_summary = {}
    for k, curve in enumerate(fi_curves(config, data)):
        fi_summary[curve["name"]] = {
            "rheobase_na": float(curve["currents_na"][np.argmax(curve["counts"] > 0)])
            if (curve["counts"] > 0).any()
            else float("nan"),
            "max_rate_hz": float(curve["rates_hz"].max()),
        }
        record_rheobase = float(data.get(f"fi_record_rheobase_na_{k}", np.nan))
        if np.isfinite(record_rheobase):
            targets.append(_onset_target(curve, record_rheobase))
        if curve["theory_hz"] is not None:
            error, stray = lif_period_error(curve)
            fi_summary[curve["name"]]["period_error_s"] = error
            targets.append(
                target(
                    "N2",
                    f"{curve['name']} f–I = 1/(t_ref + τ ln(RI/(RI−θ))): max |period error| "
                    "(s); sub-rheobase currents that fired",
                    [error, stray],
                    f"≤ 2 dt = {2 * dt:.0e}; 0",
                    error <= 2 * dt and stray == 0,
                )
            )
    return {"gallery": patterns, "fi": fi_summary, "targets": targets}


def _onset_target(curve: dict, record_rheobase: float) -> dict:
    """Whether the f–I curve starts where the record's scales say the neuron starts firing: the
    first current with a steady rate lies within one current step above that rheobase."""
    currents, firing = curve["currents_na"], curve["rates_hz"] > 0
    step = currents[1] - currents[0]
    onset = float(currents[np.argmax(firing)]) if firing.any() else float("nan")
    return target(
        f"N3-{curve['name']}",
        f"{curve['name']}: first current with a steady rate (nA) against the rheobase its "
        "record's scales imply, threshold_distance / resistance (nA), and the current step",
        [onset, record_rheobase, step],
        "rheobase ≤ onset ≤ rheobase + one step (the scales that tune layers to this neuron)",
        bool(record_rheobase - 1e-9 <= onset <= record_rheobase + step + 1e-9),
    )


# --- figures -------------------------------------------------------------------------------
def plot_gallery(config: dict, data: dict, metrics: dict):
    import matplotlib.pyplot as plt

    names = [str(n) for n in data["gallery_sets"]]
    settle, _, _, end = gallery_window(config)
    shown = (data["gallery_v_t_s"] >= settle) & (data["gallery_v_t_s"] < end)
    t_ms = (data["gallery_v_t_s"][shown] - settle) * 1e3
    fig, axes = plt.subplots(
        len(names), 1, figsize=(7, 1.1 * len(names) + 0.6), sharex=True, layout="constrained"
    )
    stimulus = data["gallery_stimulus_na"][int(config["gallery_settle_ms"]) :]
    for k, (ax, name) in enumerate(zip(axes, names, strict=True)):
        ax.plot(t_ms, data["gallery_v_mv"][k][shown], color="k", lw=0.8)
        ax.set_ylim(-90, 40)
        ax.set_yticks([-80, 0])
        drive = ax.twinx()  # the stimulus as a thin trace along the bottom of each panel
        drive.step(np.arange(len(stimulus)), stimulus[:, k], where="post", color="C0", lw=1)
        drive.set_ylim(-15, 80)
        drive.set_yticks([])
        drive.spines["right"].set_visible(False)
        ax.text(
            1.01,
            0.5,
            f"{name}\n{stimulus[-1, k]:g} nA" if name != "TC" else "TC\n−10 → 0 nA",
            transform=ax.transAxes,
            va="center",
            fontsize=8,
        )
    axes[len(names) // 2].set_ylabel("v (mV)        (blue: drive)")
    axes[-1].set_xlabel("time (ms)")
    fig.suptitle("Izhikevich (2003) named parameter sets")
    return fig


def plot_fi(config: dict, data: dict, metrics: dict):
    import matplotlib.pyplot as plt

    curves = fi_curves(config, data)
    fig, axes = plt.subplots(1, len(curves), figsize=(4 * len(curves), 3.4), squeeze=False)
    for ax, curve in zip(axes[0], curves, strict=True):
        if curve["theory_hz"] is not None:
            fine = np.linspace(0, curve["currents_na"].max(), 400)
            k = [str(n) for n in data["neurons"]].index(curve["name"])
            ax.plot(
                fine,
                lif_rate(fine * 1e-9, *data[f"fi_params_{k}"]),
                color="0.6",
                lw=2.5,
                label="LIF closed form",
            )
        ax.plot(
            curve["currents_na"],
            curve["rates_hz"],
            "o",
            ms=3.5,
            color="C3",
            label="Brian2 simulation",
        )
        default_set = {"izhikevich": " (RS set)", "adex": " (Brette & Gerstner 2005 set)"}
        ax.set_title(curve["name"] + default_set.get(curve["name"], ""))
        ax.set_xlabel("input current (nA)")
        ax.legend(frameon=False, loc="upper left")
    axes[0, 0].set_ylabel("steady firing rate (Hz)")
    fig.suptitle("f–I curves (STDP-LIF restarts from v_reset at refractory end, like LIF)")
    return fig


FIGURES = {"izhikevich_gallery": plot_gallery, "fi_curves": plot_fi}
