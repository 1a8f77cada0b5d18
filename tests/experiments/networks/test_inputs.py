"""The Bernoulli input encoder against the process it stands in for: PoissonGroup's independent
spike in each step with probability p (binomial counts, geometric intervals)."""

import numpy as np
import pytest
from brian2 import Network, SpikeMonitor, defaultclock, ms, prefs, seed, set_device

from experiments.networks.inputs import (
    bernoulli_hazards,
    bernoulli_inputs,
    event_inputs,
    event_values,
)
from models.base import ModelError

STEPS = 4000


def _spike_steps(target: str, tmp_path, probabilities, period=None) -> tuple:
    """(input indices, step indices) of ``STEPS`` steps of one encoder on ``target``."""
    if target == "cpp_standalone":
        set_device("cpp_standalone", directory=str(tmp_path / "build"))
    else:
        prefs.codegen.target = "numpy"
    defaultclock.dt = 0.1 * ms
    seed(5)
    inputs = bernoulli_inputs(probabilities, "inputs", period=period)
    spikes = SpikeMonitor(inputs)
    Network(inputs, spikes).run(STEPS * defaultclock.dt)
    return np.array(spikes.i), np.round(np.array(spikes.t / defaultclock.dt)).astype(int)


@pytest.mark.parametrize(
    "target", ["numpy", pytest.param("cpp_standalone", marks=pytest.mark.standalone)]
)
def test_counts_are_binomial_and_certain_or_impossible_spikes_exact(target, tmp_path):
    p = np.concatenate([np.linspace(0.002, 0.5, 600), [0.0, 1.0]])
    neuron, step = _spike_steps(target, tmp_path, p)
    counts = np.bincount(neuron, minlength=p.size)
    z = (counts[:-2] - p[:-2] * STEPS) / np.sqrt(p[:-2] * (1 - p[:-2]) * STEPS)
    assert abs(z.mean()) < 4 / np.sqrt(z.size)  # unbiased counts
    assert 0.85 < z.std() < 1.15  # with the binomial variance
    assert counts[-2] == 0
    assert np.array_equal(step[neuron == p.size - 1], np.arange(STEPS))
    assert len(np.unique(neuron * STEPS + step)) == len(step)  # at most one spike per step


def test_intervals_are_geometric(tmp_path):
    """P(interval = k) = p (1 - p)^(k - 1): no refractoriness, no memory of the last spike."""
    p = 0.2
    neuron, step = _spike_steps("numpy", tmp_path, np.full(300, p))
    order = np.lexsort((step, neuron))
    same = np.diff(neuron[order]) == 0
    intervals = np.diff(step[order])[same]
    for k in range(1, 8):
        expected = p * (1 - p) ** (k - 1)
        measured = np.mean(intervals == k)
        assert abs(measured - expected) < 4 * np.sqrt(expected * (1 - expected) / intervals.size)


def test_rows_of_a_table_apply_from_their_period(tmp_path):
    table = np.array([np.full(500, 0.05), np.zeros(500), np.full(500, 0.3)])
    neuron, step = _spike_steps("numpy", tmp_path, table, period=10 * ms)  # 100 steps per row
    for row, (first, end) in enumerate([(0, 100), (100, 200), (200, STEPS)]):
        count = np.sum((step >= first) & (step < end))
        trials = 500 * (end - first)
        p = table[row, 0]
        assert abs(count - p * trials) <= 4 * np.sqrt(p * (1 - p) * trials)


@pytest.mark.parametrize("bad", [-0.01, 1.5, np.nan])
def test_probabilities_outside_0_1_are_refused_before_a_build(bad):
    with pytest.raises(ModelError, match=r"must lie in \[0, 1\].*lower the rates or the time"):
        bernoulli_inputs(np.array([0.1, bad]), "inputs")


def test_a_table_needs_its_period_and_hazards_match_the_closed_form():
    with pytest.raises(ModelError, match="needs its row period"):
        bernoulli_inputs(np.zeros((2, 3)), "inputs")
    p = np.array([0.0, 0.1, 0.5])
    assert np.allclose(1 - np.exp(-bernoulli_hazards(p)), p, rtol=1e-15, atol=0)


def _random_events(seed: int, n_inputs: int, steps: int, draws: int) -> tuple:
    """(inputs, steps) of up to ``draws`` events, one per input and step at most."""
    rng = np.random.default_rng(seed)
    pairs = np.unique(
        np.stack([rng.integers(0, steps, draws), rng.integers(0, n_inputs, draws)], axis=1), axis=0
    )
    return pairs[:, 1], pairs[:, 0]


@pytest.mark.parametrize(
    "target", ["numpy", pytest.param("cpp_standalone", marks=pytest.mark.standalone)]
)
def test_event_inputs_fire_as_a_spike_generator_group_also_after_new_events(target, tmp_path):
    """Each event once, in its step, as SpikeGeneratorGroup fires it; on cpp_standalone the
    compiled binary runs again with other events (more, fewer, some inputs silent) through
    run_args and fires those."""
    from brian2 import SpikeGeneratorGroup, device

    if target == "cpp_standalone":
        set_device("cpp_standalone", directory=str(tmp_path / "build"))
    else:
        prefs.codegen.target = "numpy"
    defaultclock.dt = 0.5 * ms
    neurons, steps = _random_events(1, 60, 300, 4000)
    inputs = event_inputs(60, 5000, "inputs", neurons, steps)
    reference = SpikeGeneratorGroup(60, neurons, steps * defaultclock.dt)
    spikes, expected = SpikeMonitor(inputs), SpikeMonitor(reference)
    Network(inputs, reference, spikes, expected).run(320 * defaultclock.dt)

    def fired(monitor):
        steps = np.round(np.array(monitor.t / defaultclock.dt)).astype(int)
        return sorted(zip(steps, np.array(monitor.i), strict=True))

    assert len(spikes.i) == len(neurons)
    assert fired(spikes) == fired(expected)
    if target == "cpp_standalone":
        for seed, draws in ((2, 4600), (3, 50)):
            neurons, steps = _random_events(seed, 59, 300, draws)  # input 59 silent
            device.run(run_args=event_values(inputs, neurons, steps))
            assert fired(spikes) == sorted(zip(steps, neurons, strict=True))


@pytest.mark.parametrize(
    "neurons, steps, message",
    [
        ([0, 0], [3, 3], "two events in one time step"),
        ([0, 5], [1, 2], r"must lie in \[0, 5\)"),
        ([0, 1], [1, -2], "event steps must lie in"),
        (np.zeros(8, int), np.arange(8), "do not fit a table of 10"),
        ([0], [1, 2], "1 event inputs but 2 event steps"),
    ],
)
def test_bad_events_are_refused_with_what_to_change(neurons, steps, message):
    with pytest.raises(ModelError, match=message):
        event_inputs(5, 10, "inputs", neurons, steps)
