"""e-prop discrete maps: Brian2 against the numpy reference, published windows, invariants."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import references
from analysis.eprop import eligibility_window, run_izhikevich_map, run_map
from analysis.figures import load_result
from models.eprop import izhikevich_eprop, lif_eprop, stdp_lif_eprop

VARIANTS = [
    ("lif", {}),
    ("stdp_lif", {}),
    ("stdp_lif", {"spike_step_h": "surrogate"}),
    ("stdp_lif", {"refractory_boundary": "strict"}),
]


def _random_inputs(seed, steps=300, n_pre=12):
    rng = np.random.default_rng(seed)
    pre = (rng.random((steps, n_pre)) < 0.06).astype(float)
    weights = rng.normal(0.25, 0.2, n_pre)
    drive = rng.uniform(0, 0.12, steps)
    return pre, weights, drive


def _brian_run(model_name, options, pre, weights, drive):
    from brian2 import (
        Network,
        SpikeGeneratorGroup,
        StateMonitor,
        TimedArray,
        defaultclock,
        ms,
        prefs,
    )

    from experiments.eprop import eligibility_synapses, eprop_group

    prefs.codegen.target = "numpy"
    defaultclock.dt = 1 * ms
    build = lif_eprop if model_name == "lif" else stdp_lif_eprop
    steps, n_pre = pre.shape
    model = build(**options)
    post = eprop_group(model, 1, name="post", drive=TimedArray(drive[:, None], dt=1 * ms))
    step_index, neuron_index = np.nonzero(pre)
    source = SpikeGeneratorGroup(n_pre, neuron_index, step_index * ms)
    synapses = eligibility_synapses(model, source, post, name="synapses",
                                    connect=dict(i=np.arange(n_pre), j=np.zeros(n_pre, int)),
                                    weights=weights)  # fmt: skip
    trace = StateMonitor(post, ("v", "z", "psi"), record=0, when="after_synapses", order=0)
    traces = StateMonitor(synapses, "trace", record=np.arange(n_pre), when="after_synapses",
                          order=0.5)  # fmt: skip
    Network(post, source, synapses, trace, traces).run(steps * ms, namespace={})
    return {
        "v": trace.v[0].copy(), "z": trace.z[0].copy(), "psi": trace.psi[0].copy(),
        "e": np.asarray(traces.trace).T.copy(), "e_sum": np.asarray(synapses.trace_sum[:]).copy(),
    }  # fmt: skip


@pytest.mark.parametrize("model_name, options", VARIANTS)
def test_brian2_map_equals_the_numpy_reference_step_by_step(model_name, options):
    pre, weights, drive = _random_inputs(seed=5)
    expected = run_map(model_name, drive, pre, weights, **options)
    simulated = _brian_run(model_name, options, pre, weights, drive)
    assert expected["z"].sum() >= 5  # the post neuron fires, so resets and refractoriness act
    np.testing.assert_array_equal(simulated["z"], expected["z"])
    np.testing.assert_allclose(simulated["v"], expected["v"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(simulated["psi"], expected["psi"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(simulated["e"], expected["e"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(simulated["e_sum"], expected["e"].sum(axis=0), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("label", sorted(references.ELIGIBILITY_WINDOWS))
def test_reference_map_reproduces_the_published_window_table(label):
    options = {"refractory_boundary": "strict"} if label.endswith("strict") else {}
    table = references.ELIGIBILITY_WINDOWS[label]
    window = eligibility_window(label.split("_strict")[0], list(table), **options)
    np.testing.assert_allclose(
        window, list(table.values()), atol=references.ELIGIBILITY_WINDOW_PRECISION
    )


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rate=st.floats(0.01, 0.3), gain=st.floats(0.0, 0.6))
def test_lif_eligibility_is_never_negative_for_any_spike_pattern(seed, rate, gain):
    rng = np.random.default_rng(seed)
    pre = (rng.random((200, 6)) < rate).astype(float)
    drive = rng.uniform(0, gain, 200)
    e = run_map("lif", drive, pre, rng.normal(0, 0.5, 6))["e"]
    assert np.all(e >= 0)


def test_lif_eligibility_vector_is_the_filtered_presynaptic_train_whatever_the_post_does():
    pre, weights, drive = _random_inputs(seed=8)
    out = run_map("lif", drive, pre, weights)
    assert out["z"].sum() >= 5
    filtered = np.zeros_like(pre)
    for t in range(1, len(pre)):
        filtered[t] = 0.9 * filtered[t - 1] + pre[t - 1]
    np.testing.assert_allclose(out["eps"], filtered, rtol=1e-12, atol=1e-15)


def test_stdp_lif_eligibility_is_wiped_after_a_post_spike_and_after_refractory_end():
    pre, weights, drive = _random_inputs(seed=9)
    out = run_map("stdp_lif", drive, pre, weights)
    spikes = np.flatnonzero(out["z"])
    assert len(spikes) >= 3
    for wiped_from in np.concatenate([spikes, spikes + 5]):  # the spike step and r (n_ref = 5)
        if wiped_from + 1 < len(pre) and not (wiped_from + 5 in spikes and wiped_from in spikes):
            # only a same-step presynaptic spike can be in eps right after the wipe
            np.testing.assert_allclose(out["eps"][wiped_from + 1], pre[wiped_from], atol=1e-15)


def test_the_experiment_reproduces_its_targets_at_tiny_scale(tiny_results):
    _, _, metrics = load_result(tiny_results["eligibility_windows"])
    verdicts = {row["key"]: row["passed"] for row in metrics["targets"]}
    assert set(verdicts) == {f"P8{letter}" for letter in "abcdefghijkl"}
    assert all(verdicts.values())  # fmt: skip


def test_brian2_izhikevich_map_equals_the_numpy_reference_step_by_step():
    from brian2 import (
        Network,
        SpikeGeneratorGroup,
        StateMonitor,
        TimedArray,
        defaultclock,
        ms,
        prefs,
    )

    from experiments.eprop import eligibility_synapses, eprop_group

    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.5 * ms
    rng = np.random.default_rng(21)
    steps, n_pre = 600, 8
    pre = (rng.random((steps, n_pre)) < 0.02).astype(float)
    weights = rng.normal(2.0, 1.0, n_pre)
    drive = rng.uniform(0, 12, steps)
    model = izhikevich_eprop()
    post = eprop_group(model, 1, name="post", drive=TimedArray(drive[:, None], dt=0.5 * ms))
    step_index, neuron_index = np.nonzero(pre)
    source = SpikeGeneratorGroup(n_pre, neuron_index, step_index * 0.5 * ms)
    one_to_post = dict(i=np.arange(n_pre), j=np.zeros(n_pre, int))
    synapses = eligibility_synapses(
        model, source, post, name="synapses", weights=weights, connect=one_to_post
    )
    state = StateMonitor(post, ("v", "u", "z"), record=0, when="after_synapses", order=0)
    eps = StateMonitor(synapses, ("eps", "eps_u"), record=np.arange(n_pre), when="after_synapses",
                       order=-1)  # fmt: skip
    Network(post, source, synapses, state, eps).run(steps * 0.5 * ms, namespace={})
    expected = run_izhikevich_map(drive, pre, weights)
    assert expected["z"].sum() >= 5
    np.testing.assert_array_equal(state.z[0], expected["z"])
    np.testing.assert_allclose(state.v[0], expected["v"], rtol=1e-9)
    np.testing.assert_allclose(state.u[0], expected["u"], rtol=1e-9)
    np.testing.assert_allclose(np.asarray(eps.eps).T, expected["eps"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(eps.eps_u).T, expected["eps_u"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(synapses.trace_sum[:], expected["e"].sum(axis=0), rtol=1e-9)
