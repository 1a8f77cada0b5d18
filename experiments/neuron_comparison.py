"""Neuron models side by side: the Izhikevich firing-pattern gallery and f–I curves.

Gallery: Izhikevich (2003) IEEE Trans. Neural Netw. 14:1569, doi:10.1109/TNN.2003.820440 —
the seven named parameter sets, each under the stimulus that shows its pattern (a 10 nA step
for RS, IB, CH, FS, LTS; release from hyperpolarisation for TC's rebound burst; a weak step
for RZ's damped subthreshold ringing, then a step above threshold). f–I: every model in
``neurons`` under constant currents, one neuron per current. Everything is one network, so
one compile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments.networks.build import check_model, neuron_group, resolve_neuron
from models.base import ModelError
from models.neurons import IZHIKEVICH_SETS, LIF

NAME = "neuron_comparison"

#: Gallery stimulus per set, in nA: (before onset, first phase, second phase).
GALLERY_DRIVE_NA = {
    "RS": (0.0, 10.0, 10.0),
    "IB": (0.0, 10.0, 10.0),
    "CH": (0.0, 10.0, 10.0),
    "FS": (0.0, 10.0, 10.0),
    "LTS": (0.0, 10.0, 10.0),
    "TC": (0.0, -10.0, 0.0),  # hyperpolarise, then release: rebound burst
    "RZ": (0.0, 0.15, 0.5),  # sub-threshold step: damped ringing (a focus); then spiking
}
#: LIF parameters stored with the f–I data for the closed form (SI values; NaN if absent or
#: if the model is not a LIF).
FI_PARAMS = ("E_L", "v_th", "v_reset", "R_m", "tau_m", "t_ref")


@dataclass(frozen=True)
class Config:
    #: recorded for uniformity; both protocols are deterministic
    seed: int = 0
    #: simulation time step
    dt_ms: float = 0.02
    #: models whose f–I curves are measured, e.g. lif, izhikevich:FS, stdp_lif, or records
    #: in Python (the gallery always shows Izhikevich's seven sets)
    neurons: tuple[str, ...] = ("lif", "izhikevich", "stdp_lif", "adex", "alif")
    #: (model, parameter, 'equation' or 'initial.VARIABLE', value) changes to the models, as
    #: --set makes them;
    #: izhikevich's reach the gallery too
    overrides: tuple[tuple[str, str, str], ...] = ()
    #: currents per f–I curve, evenly spaced from 0 to the model's largest current
    fi_points: int = 41
    #: how long each constant current is applied (each current drives its own neuron)
    fi_duration_s: float = 2.0
    #: largest f–I current as a multiple of the model's rheobase current, threshold_distance
    #: / resistance of its record's scales (5: 1 nA for lif, 20 nA for izhikevich)
    fi_rheobase_multiple: float = 5.0
    #: [nA] (base model, largest f–I current) for models to run on another range, or whose
    #: records give no scales
    fi_max_current_na: tuple[tuple[str, float], ...] = ()
    #: time simulated before the gallery stimulus, neither shown nor judged: neurons start at
    #: v = c, u = b c, off rest for some sets (RZ fires once while settling)
    gallery_settle_ms: float = 100.0
    #: time from the end of settling to the first stimulus phase
    gallery_onset_ms: float = 20.0
    #: length of each of the two gallery stimulus phases
    gallery_phase_ms: float = 150.0


SCALES = {
    "tiny": Config(dt_ms=0.05, fi_points=9, fi_duration_s=0.3),
    "quick": Config(),
    "paper": Config(dt_ms=0.01, fi_points=81, fi_duration_s=5.0),
}


def _has_lif_f_i_curve(model) -> bool:
    """Whether the LIF closed form gives ``model``'s f–I curve: its state evolves as LIF's
    (v and I_syn; stdp_lif's second reset leaves the trajectory unchanged) and it fires at
    v > v_th. Parameter names alone do not say so: alif has LIF's, and a moving threshold."""
    from brian2 import Equations

    return model.threshold.strip() == LIF.threshold and set(
        Equations(model.equations).diff_eq_names
    ) == {"v", "I_syn"}


def _fi_max(config: Config, name: str, model) -> float:
    """The largest f–I current of model ``name`` in nA."""
    limits = dict(config.fi_max_current_na)
    base = name.partition(":")[0]
    if base in limits:
        return limits[base]
    try:
        model.scale_values()
    except ModelError as err:
        raise ModelError(
            f"no f–I current range for {name!r}: {err}; or add ('{base}', <max nA>) to "
            "fi_max_current_na"
        ) from None
    return config.fi_rheobase_multiple * _record_rheobase_na(model)


def _record_rheobase_na(model) -> float:
    """The rheobase current its record's scales imply (threshold_distance / resistance), in
    nA; NaN for a record without scales."""
    from brian2 import nA

    try:
        scales = model.scale_values()
    except ModelError:
        return float("nan")
    return float(scales["threshold_distance"] / scales["resistance"] / nA)


#: The gallery's stimulus table has one row per ms and its voltage trace a sample per 0.1 ms.
GALLERY_MAX_MS = 100_000


def check(config: Config) -> None:

    gallery_ms = config.gallery_settle_ms + config.gallery_onset_ms + 2 * config.gallery_phase_ms
    if config.gallery_phase_ms < 1 or gallery_ms > GALLERY_MAX_MS:
        raise ModelError(
            f"the gallery needs stimulus phases of at least 1 ms (its stimulus table has 1 ms "
            f"rows) and at most {GALLERY_MAX_MS} ms in all; got gallery_phase_ms "
            f"{config.gallery_phase_ms} and {gallery_ms:g} ms in all"
        )

    for name in config.neurons:
        model = resolve_neuron(name, config.overrides)
        _fi_max(config, name, model)
        if model.drive is None:
            raise ModelError(f"{name} has no external drive, so it has no f–I curve")
        check_model(model)


def simulate(config: Config, sim) -> dict:
    from brian2 import (
        Network,
        Quantity,
        SpikeMonitor,
        StateMonitor,
        TimedArray,
        defaultclock,
        get_dimensions,
        ms,
        mV,
        nA,
        second,
    )

    defaultclock.dt = config.dt_ms * ms
    net = Network()
    arrays = {}

    # Gallery: one Izhikevich group, per-neuron (a, b, c, d), per-neuron stimulus table.
    names = list(IZHIKEVICH_SETS)
    izhikevich = resolve_neuron("izhikevich", config.overrides)
    per_neuron = {
        key: Quantity(
            [float(IZHIKEVICH_SETS[n][key]) for n in names],
            dim=get_dimensions(IZHIKEVICH_SETS[names[0]][key]),
        )
        for key in ("a", "b", "c", "d")
    }
    gallery = neuron_group(izhikevich, len(names), name="gallery", per_neuron=per_neuron)
    # Stimulus table at 1 ms resolution: phase 0 before onset, then phases 1 and 2.
    onset_ms = config.gallery_settle_ms + config.gallery_onset_ms
    time_ms = np.arange(int(onset_ms + 2 * config.gallery_phase_ms))
    phase = (time_ms >= onset_ms).astype(int) + (time_ms >= onset_ms + config.gallery_phase_ms)
    stimulus = np.array([[GALLERY_DRIVE_NA[n][p] for n in names] for p in phase])
    gallery_drive = TimedArray(stimulus * nA, dt=1 * ms, name="gallery_drive")
    gallery.namespace["gallery_drive"] = gallery_drive
    gallery.run_regularly("I = gallery_drive(t, i)", name="gallery_stimulus")
    gallery_spikes = SpikeMonitor(gallery, name="gallery_spikes")
    gallery_v = StateMonitor(gallery, "v", record=True, dt=0.1 * ms, name="gallery_v")
    net.add(gallery, gallery_spikes, gallery_v)
    gallery_duration = len(time_ms) * ms

    # f–I: one group per model, one neuron per constant current.
    fi_monitors = []
    for k, name in enumerate(config.neurons):
        model = resolve_neuron(name, config.overrides)
        currents = np.linspace(0, _fi_max(config, name, model), config.fi_points)
        group = neuron_group(model, config.fi_points, name=f"fi_{k}")
        setattr(group, model.drive, currents * nA)
        monitor = SpikeMonitor(group, name=f"fi_spikes_{k}")
        net.add(group, monitor)
        fi_monitors.append(monitor)
        arrays[f"fi_currents_na_{k}"] = currents
        arrays[f"fi_params_{k}"] = np.array(
            [
                float(model.params.get(key, np.nan)) if _has_lif_f_i_curve(model) else np.nan
                for key in FI_PARAMS
            ]
        )
        arrays[f"fi_record_rheobase_na_{k}"] = np.array(_record_rheobase_na(model))

    sim.run(net, max(gallery_duration, config.fi_duration_s * second))
    arrays.update(
        {
            "gallery_sets": np.array(names),
            "gallery_spike_i": np.asarray(gallery_spikes.i),
            "gallery_spike_t_s": np.asarray(gallery_spikes.t / second),
            "gallery_v_t_s": np.asarray(gallery_v.t / second),
            "gallery_v_mv": np.asarray(gallery_v.v / mV),
            "gallery_stimulus_na": stimulus,
            "neurons": np.array(config.neurons),
        }
    )
    for k, monitor in enumerate(fi_monitors):
        arrays[f"fi_spike_i_{k}"] = np.asarray(monitor.i)
        arrays[f"fi_spike_t_s_{k}"] = np.asarray(monitor.t / second)
    return arrays
