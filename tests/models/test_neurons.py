"""Neuron models against closed forms and their defining behaviour."""

import numpy as np
import pytest
from brian2 import Network, SpikeMonitor, StateMonitor, defaultclock, ms, nA, prefs

from analysis.figures import load_result
from analysis.neuron_comparison import bursts, fi_curves, gallery_patterns, lif_rate
from experiments.networks.build import neuron_group
from models import LIF, STDP_LIF


def _run(model, drive, duration, dt=0.05 * ms):
    prefs.codegen.target = "numpy"
    defaultclock.dt = dt
    group = neuron_group(model, 1, name="neuron")
    group.I = drive
    spikes = SpikeMonitor(group)
    trace = StateMonitor(group, "v", record=0)
    Network(group, spikes, trace).run(duration, namespace={})
    return np.asarray(spikes.t / ms), np.asarray(trace.t / ms), np.asarray(trace.v[0])


def test_lif_and_stdp_lif_f_i_curves_equal_the_closed_form(tiny_results):
    config, data, metrics = load_result(tiny_results["neuron_comparison"])
    dt = config["dt_ms"] / 1e3
    checked = 0
    curves = fi_curves(config, data)
    # the closed form only where the dynamics are LIF's: alif has LIF's parameter names
    assert {c["name"] for c in curves if c["theory_hz"] is not None} == {"lif", "stdp_lif"}
    for curve in curves:
        if curve["theory_hz"] is None:
            continue
        usable = curve["counts"] >= 3
        periods, theory = 1 / curve["rates_hz"][usable], 1 / curve["theory_hz"][usable]
        assert np.all(np.abs(periods - theory) <= 2 * dt)  # spikes land on the time grid
        assert not np.any((curve["theory_hz"] == 0) & (curve["counts"] > 0))
        checked += usable.sum()
    assert checked >= 8


def test_lif_closed_form_limits():
    params = [float(LIF.params[k]) for k in ("E_L", "v_th", "v_reset", "R_m", "tau_m", "t_ref")]
    assert lif_rate(0.2e-9, *params) == 0  # exactly at rheobase: never reaches threshold
    assert lif_rate(1e-6, *params) == pytest.approx(1 / params[-1], rel=1e-2)  # refractory limit


def test_stdp_lif_integrates_while_refractory_and_is_reset_again_at_its_end():
    t_ref = float(STDP_LIF.params["t_ref"] / ms)
    v_reset = float(STDP_LIF.params["v_reset"])
    spikes, t, v = _run(STDP_LIF, 0.5 * nA, 60 * ms)
    lif_spikes, _, lif_v = _run(LIF, 0.5 * nA, 60 * ms)
    refractory = np.zeros_like(t, dtype=bool)
    for spike in spikes:
        refractory |= (t > spike) & (t < spike + t_ref)
    assert len(spikes) >= 2
    assert np.all(np.diff(v[refractory & (t < spikes[0] + t_ref)]) > 0)  # integrates...
    assert np.allclose(lif_v[refractory], v_reset)  # ...where the LIF is clamped
    # Reset again at refractory end: afterwards the trajectory is the LIF's, step for step.
    np.testing.assert_allclose(v[~refractory], lif_v[~refractory], rtol=0, atol=1e-12)
    np.testing.assert_allclose(spikes, lif_spikes)


def test_every_named_izhikevich_set_shows_its_pattern(tiny_results):
    config, data, _ = load_result(tiny_results["neuron_comparison"])
    patterns = gallery_patterns(config, data)
    assert {name: f["pattern_shown"] for name, f in patterns.items()} == dict.fromkeys(
        patterns, True
    )


def test_pattern_checks_reject_other_patterns(tiny_results):
    """The criteria discriminate: relabel the traces and the swapped sets fail."""
    config, data, _ = load_result(tiny_results["neuron_comparison"])
    names = [str(n) for n in data["gallery_sets"]]
    swap = {"RS": "CH", "CH": "RS", "TC": "FS", "FS": "TC", "RZ": "IB", "IB": "RZ"}
    relabelled = dict(data)
    relabelled["gallery_sets"] = np.array([swap.get(n, n) for n in names])
    patterns = gallery_patterns(config, relabelled)
    assert not any(patterns[name]["pattern_shown"] for name in swap)


def test_burst_detection():
    assert [len(b) for b in bursts([0.0, 0.002, 0.004, 0.1, 0.2, 0.203])] == [3, 2]
    assert bursts([0.0, 0.05, 0.1]) == []


def test_f_i_range_spans_a_multiple_of_each_models_own_rheobase():
    """LIF's closed-form rheobase is (v_th - E_L) / R_m (0.2 nA: lif_rate is 0 there); the
    range follows a changed model, and a model without scales needs a range given."""
    from experiments import neuron_comparison
    from models.base import ModelError
    from models.neurons import get_neuron

    config = neuron_comparison.Config()
    assert neuron_comparison._fi_max(config, "lif", LIF) == pytest.approx(1.0)
    assert neuron_comparison._fi_max(config, "izhikevich", get_neuron("izhikevich")) == (
        pytest.approx(20.0)
    )
    leakier = LIF.with_params(R_m="50*Mohm")
    assert neuron_comparison._fi_max(config, "lif", leakier) == pytest.approx(2.0)
    given = neuron_comparison.Config(fi_max_current_na=(("lif_cond", 3.0),))
    assert neuron_comparison._fi_max(given, "lif_cond", get_neuron("lif_cond")) == 3.0
    with pytest.raises(ModelError, match="no f–I current range for 'lif_cond'.*fi_max_current_na"):
        neuron_comparison._fi_max(config, "lif_cond", get_neuron("lif_cond"))


def _adex_spike_times(model, current, duration=600 * ms):
    spikes, _, _ = _run(model, current, duration)
    return spikes


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        # Naud et al. (2008), Fig. 4: each set's defining response to its step current
        ("tonic", lambda t, isi: len(t) > 20 and isi.max() < 1.2 * isi.min()),
        ("adapting", lambda t, isi: np.all(np.diff(isi) > -1e-6) and isi[-1] > 3 * isi[0]),
        (
            "initial_burst",
            lambda t, isi: (
                isi[:2].max() < 0.2 * np.median(isi[2:]) and isi[3:].max() < 1.1 * isi[3:].min()
            ),
        ),
        (
            "bursting",
            lambda t, isi: np.sum(isi > 10 * isi.min()) >= 2 and np.sum(isi < 2 * isi.min()) >= 4,
        ),
        ("delayed_accelerating", lambda t, isi: t[0] > 2 * isi[-1] and np.all(np.diff(isi) < 1e-6)),
        ("delayed_bursting", lambda t, isi: t[0] > 40 and np.sum(isi > 10 * isi.min()) >= 2),
        ("transient", lambda t, isi: 1 <= len(t) <= 3 and t[-1] < 100),
        ("irregular", lambda t, isi: np.std(isi[10:]) > 0.3 * np.mean(isi[10:])),
    ],
)
def test_every_named_adex_set_shows_its_firing_pattern(name, pattern):
    from models.neurons import ADEX_STEP_CURRENT, get_neuron

    times = _adex_spike_times(get_neuron(f"adex:{name}"), ADEX_STEP_CURRENT[name])
    assert len(times) >= 1 and pattern(times, np.diff(times))


def test_adex_keeps_firing_above_the_rheobase_its_scales_give_and_only_briefly_below():
    """The record's rheobase, (g_L + a)(v* - E_L - Delta_T) with v* = V_T + Delta_T log(1 +
    a/g_L), is the saddle-node of the steady state (w = a (v - E_L)): 10 % above it the
    neuron fires on; 5 % below it a step may fire at onset, before w has grown (the default
    set does), but stops; below the rheobase without adaptation, g_L (V_T - E_L - Delta_T), it
    never fires."""
    from models.neurons import get_neuron

    for name in ("adex", "adex:tonic"):
        model = get_neuron(name)
        scales, p = model.scale_values(), model.params
        rheobase = scales["threshold_distance"] / scales["resistance"]
        without_adaptation = p["g_L"] * (p["V_T"] - p["E_L"] - p["Delta_T"])
        assert without_adaptation < 0.95 * rheobase
        assert len(_adex_spike_times(model, 0.95 * without_adaptation, 1000 * ms)) == 0
        onset_only = _adex_spike_times(model, 0.95 * rheobase, 1000 * ms)
        assert len(onset_only) == 0 or onset_only[-1] < 500
        assert name != "adex" or len(onset_only) >= 1
        assert _adex_spike_times(model, 1.1 * rheobase, 1000 * ms)[-1] > 500


def test_every_f_i_curve_starts_at_the_rheobase_its_record_implies(tiny_results):
    _, _, metrics = load_result(tiny_results["neuron_comparison"])
    onsets = {row["key"]: row for row in metrics["targets"] if row["key"].startswith("N3-")}
    assert set(onsets) == {"N3-lif", "N3-izhikevich", "N3-stdp_lif", "N3-adex", "N3-alif"}
    assert all(row["passed"] for row in onsets.values())


def test_alif_spikes_where_its_membrane_meets_the_threshold_each_spike_raised():
    """Between spikes v and a have closed forms (v relaxes to E_L + R I from v_reset after
    t_ref; a decays from its value after the last spike, +1 per spike), so each next spike is
    the root of v(s) = v_th + beta a(s): the intervals lengthen as a builds up."""
    from scipy.optimize import brentq

    from models.neurons import get_neuron

    model = get_neuron("alif").with_params(tau_a="100*ms", beta="4*mV")
    p = {key: float(value) for key, value in model.params.items()}
    current, dt = 0.5e-9, 0.01e-3
    spikes, _, _ = _run(model, current * 1e9 * nA, 150 * ms, dt=dt * 1e3 * ms)
    spikes = spikes / 1e3
    target = p["E_L"] + p["R_m"] * current
    first = -p["tau_m"] * np.log(1 - (p["v_th"] - p["E_L"]) / (target - p["E_L"]))
    assert spikes[0] == pytest.approx(first, abs=1.5 * dt)
    before = 0.0  # a just before the spike that starts each interval
    for previous, spike in zip(spikes[:-1], spikes[1:], strict=True):
        after = before + 1

        def gap(s, after=after):
            v = target + (p["v_reset"] - target) * np.exp(-(s - p["t_ref"]) / p["tau_m"])
            return v - p["v_th"] - p["beta"] * after * np.exp(-s / p["tau_a"])

        interval = brentq(gap, p["t_ref"] + 1e-9, 0.2)
        assert spike - previous == pytest.approx(interval, abs=1.5 * dt)
        before = after * np.exp(-(spike - previous) / p["tau_a"])
    intervals = np.diff(spikes)
    assert len(intervals) >= 4 and intervals[-1] > 1.3 * intervals[0]
