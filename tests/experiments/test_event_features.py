"""The event-camera STDP layer: weight updates against an independent numpy replay, the
competition, the tuning rules and bad input."""

import dataclasses
import math

import numpy as np
import pytest

from experiments import event_features
from experiments.networks.competition import competitive_layer, freeze
from experiments.networks.tuning import tuning_rules
from models.base import ModelError
from models.neurons import get_neuron
from tests import ROOT

RULES = {"tau_plus_s": 0.02, "A_plus": 0.02, "A_minus": 0.022, "gain_A": 4e-9, "theta_plus_V": 0.0}
ACTIVE = np.arange(40)  # the inputs that spike; the other 2272 stay silent


def _run_layer(
    config,
    initial,
    pre_steps,
    pre_neurons,
    periods,
    plastic=True,
    competition=True,
    rules=RULES,
    blocks=1,
    neuron="lif",
    inhibition="v_and_input",
    monitor_state=None,
):
    """Build one layer of ``event_features`` around a fixed input and run it on the numpy
    runtime; (post spike steps, post neurons, final weights, w_total), and the recorded
    ``monitor_state`` variables (if given)."""
    from brian2 import Network, SpikeGeneratorGroup, StateMonitor, defaultclock, ms, prefs

    prefs.codegen.target = "numpy"
    defaultclock.dt = config.dt_ms * ms
    inputs = SpikeGeneratorGroup(event_features.N_INPUTS, pre_neurons, pre_steps * ms)
    period = config.sample_ms + config.rest_ms
    layer, synapses, wta, monitor, traces = competitive_layer(
        get_neuron(neuron),
        rules,
        inputs,
        initial,
        period=period * ms,
        w_sum=config.w_sum,
        w_max=config.w_max,
        plastic=plastic,
        name="layer",
        blocks=blocks,
        inhibition=inhibition,
    )
    objects = [inputs, layer, synapses, monitor, *traces] + ([wta] if competition else [])
    if monitor_state:
        state = StateMonitor(layer, monitor_state, record=True, when="end")
        objects.append(state)
    Network(*objects).run(periods * period * ms)
    # copies: Brian2 may reuse the memory of these arrays once the network is gone
    weights = np.array(synapses.w[:]).reshape(event_features.N_INPUTS, blocks * config.n_neurons)
    steps = np.round(np.asarray(monitor.t / ms) / config.dt_ms).astype(int)
    w_total = np.array(layer.w_total[:]) if plastic else None
    if monitor_state:
        recorded = {name: np.array(getattr(state, name)) for name in monitor_state}
        return steps, np.array(monitor.i), weights, w_total, recorded
    return steps, np.array(monitor.i), weights, w_total


def _replay(config, initial, pre_steps, pre_neurons, post_steps, post_neurons, periods):
    """Pair STDP (all-to-all, additive, clipped) replayed event by event from the spike
    times, with the layer's schedule: at each sample start the weights are L1-normalised and
    the traces cleared; within a step, presynaptic updates come before postsynaptic ones."""
    tau, a_plus, a_minus = RULES["tau_plus_s"] * 1e3, RULES["A_plus"], RULES["A_minus"]
    w = initial.copy()
    period_steps = round((config.sample_ms + config.rest_ms) / config.dt_ms)
    last_pre = [[] for _ in range(event_features.N_INPUTS)]
    last_post = [[] for _ in range(config.n_neurons)]
    for step in range(periods * period_steps):
        if step % period_steps == 0:
            w = np.clip(w * config.w_sum / w.sum(axis=0), 0, config.w_max)
            last_pre = [[] for _ in range(event_features.N_INPUTS)]
            last_post = [[] for _ in range(config.n_neurons)]
        for i in pre_neurons[pre_steps == step]:
            last_pre[i].append(step)
            for j in range(config.n_neurons):
                trace = sum(math.exp(-(step - s) * config.dt_ms / tau) for s in last_post[j])
                w[i, j] = min(max(w[i, j] - a_minus * trace, 0), config.w_max)
        for j in post_neurons[post_steps == step]:
            last_post[j].append(step)
            for i in ACTIVE:
                trace = sum(math.exp(-(step - s) * config.dt_ms / tau) for s in last_pre[i])
                w[i, j] = min(max(w[i, j] + a_plus * trace, 0), config.w_max)
    return w


@pytest.fixture
def fixed_input():
    config = dataclasses.replace(
        event_features.SCALES["tiny"], n_neurons=3, sample_ms=60.0, rest_ms=20.0
    )
    rng = np.random.default_rng(5)
    initial = rng.uniform(0, 1, (event_features.N_INPUTS, config.n_neurons))
    initial *= config.w_sum / initial.sum(axis=0)
    initial[ACTIVE] *= 20  # the active inputs carry the drive (normalised away at t = 0)
    pairs = {
        (int(s), int(i))
        for s, i in zip(rng.integers(0, 150, 400), rng.choice(ACTIVE, 400), strict=True)
    }
    steps, neurons = np.array(sorted(pairs)).T
    return config, initial, steps, neurons


def test_stdp_layer_weights_equal_an_independent_replay(fixed_input):
    config, initial, pre_steps, pre_neurons = fixed_input
    post_steps, post_neurons, weights, w_total = _run_layer(
        config, initial, pre_steps, pre_neurons, periods=2
    )
    assert len(post_steps) >= 3  # LTP and LTD both exercised
    expected = _replay(config, initial, pre_steps, pre_neurons, post_steps, post_neurons, 2)
    np.testing.assert_allclose(weights, expected, rtol=1e-10, atol=1e-12)
    # w_total is kept incrementally; it must equal the sum it stands for
    np.testing.assert_allclose(w_total, weights.sum(axis=0), rtol=1e-9)


def test_each_block_of_a_swept_layer_equals_its_own_single_layer(fixed_input):
    """A sweep runs its points as blocks of one group, with per-block rules: block b must
    behave exactly as a separate layer built with rules b (spikes and final weights)."""
    config, initial, pre_steps, pre_neurons = fixed_input
    settings = [RULES, {**RULES, "gain_A": 6e-9, "tau_plus_s": 0.04, "A_plus": 0.05}]
    swept = {key: [rules[key] for rules in settings] for key in RULES}
    steps, neurons, weights, _ = _run_layer(
        config, initial, pre_steps, pre_neurons, periods=2, rules=swept, blocks=2
    )
    n = config.n_neurons
    for block, rules in enumerate(settings):
        alone = _run_layer(config, initial, pre_steps, pre_neurons, periods=2, rules=rules)
        in_block = (neurons >= block * n) & (neurons < (block + 1) * n)
        assert len(alone[0]) > 0
        np.testing.assert_array_equal(steps[in_block], alone[0])
        np.testing.assert_array_equal(neurons[in_block] - block * n, alone[1])
        np.testing.assert_allclose(weights[:, block * n : (block + 1) * n], alone[2], rtol=1e-12)
    assert not np.array_equal(weights[:, :n], weights[:, n:])  # the settings did differ


def test_each_replica_block_equals_a_layer_from_its_own_initial_weights(fixed_input):
    """Replicas run as blocks with one weight matrix each: block b must behave exactly as a
    separate layer built from matrix b."""
    config, initial, pre_steps, pre_neurons = fixed_input
    other = initial[:, ::-1].copy()  # the same drive, given to other neurons
    steps, neurons, weights, _ = _run_layer(
        config, np.stack([initial, other]), pre_steps, pre_neurons, periods=2, blocks=2
    )
    n = config.n_neurons
    for block, matrix in enumerate([initial, other]):
        alone = _run_layer(config, matrix, pre_steps, pre_neurons, periods=2)
        in_block = (neurons >= block * n) & (neurons < (block + 1) * n)
        assert len(alone[0]) > 0
        np.testing.assert_array_equal(steps[in_block], alone[0])
        np.testing.assert_array_equal(neurons[in_block] - block * n, alone[1])
        np.testing.assert_allclose(weights[:, block * n : (block + 1) * n], alone[2], rtol=1e-12)


def test_winner_take_all_lets_one_neuron_fire_per_step(fixed_input):
    """Ten neurons with random weights on a common input: with the competition every step
    with spikes has exactly one winner; without it, neurons fire together."""
    config, _, pre_steps, pre_neurons = fixed_input
    config = dataclasses.replace(config, n_neurons=10)
    weights = np.random.default_rng(1).uniform(0.004, 0.008, (event_features.N_INPUTS, 10))
    winners = {}
    for competition in (True, False):
        # inhibition of v only: the losers recharge, so several neurons get to win
        steps, neurons, _, _ = _run_layer(
            config,
            weights,
            pre_steps,
            pre_neurons,
            periods=1,
            plastic=False,
            competition=competition,
            inhibition="v",
        )
        per_step = np.bincount(steps)
        winners[competition] = (per_step[per_step > 0], len(set(neurons)))
    assert np.all(winners[True][0] == 1) and winners[True][1] >= 2
    assert winners[False][0].max() >= 2


def test_tuning_rules_follow_their_closed_forms():
    rates = np.array([10.0, 30.0, 0.0, 60.0])
    common = dict(
        n_neurons=100,
        w_sum=50.0,
        resistance=1e8,
        tau_syn=5e-3,
        tau_m=20e-3,
        threshold_distance=0.02,
        period_s=0.35,
        ltd_ratio=0.01,
        learning_wins=40,
        theta_set_point=5.0,
    )
    rules = tuning_rules(rates, n_samples=1000, **common)
    drive = 0.4 * 100 / 4 + 0.6 * (100 + 900 + 3600) / 100
    # R3 with C2's headroom: the drive reaches (1 + set point) x the firing distance
    assert rules["gain_A"] == pytest.approx(6 * 0.02 / (1e8 * 5e-3 * 50.0 * drive))
    # C2: a win moves the prototype by 1/40 of its norm (pre trace L1 = Q tau+)
    assert rules["effective_step"] == pytest.approx(1 / 40)
    assert rules["A_plus"] * 100 * 20e-3 / 50.0 == pytest.approx(1 / 40)
    assert rules["A_minus"] == pytest.approx(0.01 * rules["A_plus"])  # C1
    assert rules["tau_plus_s"] == 20e-3
    # a neuron winning its share (k/N = 2/100 per sample) wins 40 times in tau_theta
    assert rules["tau_theta_s"] / 0.35 * 2 / 100 == pytest.approx(40)
    # 1000 samples give it 20 wins, fewer than 40: theta+ reaches the set point in the pass
    assert rules["wins_in_pass"] == pytest.approx(20)
    assert rules["theta_plus_V"] * 20 == pytest.approx(5.0 * 0.02)
    # a pass with more wins than tau_theta holds: the set point is the steady state
    long = tuning_rules(rates, n_samples=10_000, **common)
    assert long["theta_plus_V"] * 40 == pytest.approx(5.0 * 0.02)


def test_thresholds_decay_and_are_rereferenced_to_their_blocks_lowest(fixed_input):
    """theta decays by exp(-period/tau_theta) at each sample start; ``freeze`` with
    rereference subtracts each block's lowest theta, computed here in numpy."""
    from brian2 import Network, SpikeGeneratorGroup, defaultclock, ms, prefs, volt

    config, initial, _, _ = fixed_input
    prefs.codegen.target = "numpy"
    defaultclock.dt = config.dt_ms * ms
    period = config.sample_ms + config.rest_ms
    rules = {**RULES, "tau_theta_s": 0.5}
    silent = SpikeGeneratorGroup(event_features.N_INPUTS, [], [] * ms)
    layer, synapses, wta, monitor, traces = competitive_layer(
        get_neuron("lif"),
        rules,
        silent,
        initial,
        period=period * ms,
        w_sum=config.w_sum,
        w_max=config.w_max,
        plastic=True,
        name="layer",
        blocks=2,
    )
    net = Network(silent, layer, synapses, wta, monitor, *traces)
    start = np.random.default_rng(3).uniform(0, 0.01, 2 * config.n_neurons)
    layer.theta = start * volt
    net.run(period * ms)  # sample starts at t = 0 only: one decay
    decayed = start * math.exp(-period * 1e-3 / 0.5)
    np.testing.assert_allclose(np.asarray(layer.theta[:]), decayed, rtol=1e-9)
    freeze(layer, synapses, "rereference")
    net.run(2 * config.dt_ms * ms)
    blocks = decayed.reshape(2, config.n_neurons)
    expected = (blocks - blocks.min(axis=1, keepdims=True)).ravel()
    np.testing.assert_allclose(np.asarray(layer.theta[:]), expected, rtol=1e-9, atol=1e-15)
    assert np.all(np.asarray(layer.theta_plus[:]) == 0)
    # the default inhibition clears the losers' input in training only
    assert np.all(np.asarray(layer.input_kept_at_loss[:]) == 1)


def test_a_frozen_plastic_layer_transmits_like_a_layer_that_never_learned(fixed_input):
    """After ``freeze`` the plastic layer's weights stop changing, and it answers a sample
    spike for spike as a non-plastic layer given its trained weights and thresholds does
    (the readout pass switches from the learning pathway to a transmit-only one)."""
    from brian2 import Network, SpikeGeneratorGroup, defaultclock, ms, prefs, volt

    config, initial, pre_steps, pre_neurons = fixed_input
    prefs.codegen.target = "numpy"
    defaultclock.dt = config.dt_ms * ms
    period = round((config.sample_ms + config.rest_ms) / config.dt_ms)
    rules = {**RULES, "theta_plus_V": 0.002}
    first = pre_steps < period  # one sample's events
    pre_steps, pre_neurons = pre_steps[first], pre_neurons[first]

    def layer(inputs, weights, plastic, name):
        return competitive_layer(
            get_neuron("lif"),
            rules,
            inputs,
            weights,
            period=period * config.dt_ms * ms,
            w_sum=config.w_sum,
            w_max=config.w_max,
            plastic=plastic,
            name=name,
        )

    twice = SpikeGeneratorGroup(
        event_features.N_INPUTS,
        np.concatenate([pre_neurons, pre_neurons]),
        np.concatenate([pre_steps, pre_steps + period]) * config.dt_ms * ms,
    )
    learner = layer(twice, initial, True, "learner")
    net = Network(twice, *learner)
    net.run(period * config.dt_ms * ms)
    trained = np.array(learner[1].w[:]).reshape(initial.shape)
    theta = np.array(learner[0].theta[:])
    assert len(learner[3].i) > 0 and not np.allclose(trained, initial)
    freeze(learner[0], learner[1], "keep")
    net.run(period * config.dt_ms * ms)
    np.testing.assert_array_equal(np.array(learner[1].w[:]).reshape(initial.shape), trained)
    tested = np.asarray(learner[3].t / ms) >= period * config.dt_ms

    once = SpikeGeneratorGroup(event_features.N_INPUTS, pre_neurons, pre_steps * ms)
    reference = layer(once, trained, False, "reference")
    reference[0].theta = theta * volt
    freeze(reference[0], reference[1], "keep")
    Network(once, *reference).run(period * config.dt_ms * ms)
    assert len(reference[3].i) > 0
    np.testing.assert_array_equal(np.array(learner[3].i)[tested], np.array(reference[3].i))
    np.testing.assert_allclose(
        np.asarray(learner[3].t / ms)[tested] - period * config.dt_ms,
        np.asarray(reference[3].t / ms),
    )


@pytest.mark.parametrize(
    ("inhibition", "cleared"),
    [("v_and_input", True), ("v_and_input_in_training", True), ("v", False)],
)
def test_the_winners_spike_clears_the_losers_input_only_when_asked(
    fixed_input, inhibition, cleared
):
    """C4: at a winner's spike, every loser is at rest and, with v_and_input, its synaptic
    current is zero (recorded at the end of the spike's step, before any new input)."""
    config, initial, pre_steps, pre_neurons = fixed_input
    steps, neurons, _, _, state = _run_layer(
        config,
        initial,
        pre_steps,
        pre_neurons,
        periods=1,
        plastic=False,
        inhibition=inhibition,
        monitor_state=("v", "I_syn"),
    )
    assert len(steps) > 0
    losers_current = []
    for step, winner in zip(steps, neurons, strict=True):
        losers = np.arange(config.n_neurons) != winner
        np.testing.assert_allclose(state["v"][losers, step], -0.07)
        losers_current.append(np.abs(state["I_syn"][losers, step]).max())
    assert (max(losers_current) == 0) == cleared


def test_theta_is_homeostasis_also_for_a_neuron_whose_threshold_is_its_spike_peak(fixed_input):
    """Izhikevich's threshold is its spike peak, which any raised level only delays: its
    theta must act on the drive, so that a large step per spike quiets neurons that fire
    freely without it (as a raised detection level, it left their spike count unchanged)."""
    config, initial, pre_steps, pre_neurons = fixed_input
    spikes = {}
    for theta_plus in (0.0, 0.02):
        rules = {**RULES, "gain_A": 4e-9, "theta_plus_V": theta_plus}
        steps, *_ = _run_layer(
            config,
            initial,
            pre_steps,
            pre_neurons,
            periods=1,
            plastic=False,
            competition=False,
            rules=rules,
            neuron="izhikevich",
        )
        spikes[theta_plus] = len(steps)
    assert spikes[0.0] >= 30  # 3 neurons in one 60 ms sample
    assert spikes[0.02] <= spikes[0.0] / 3


def test_the_stdp_lif_layer_spikes_as_the_lif_layer(fixed_input):
    """event_features simulates stdp_lif's layers once, as lif's (twin_layers): the two
    models give the same spikes and weights in this layer."""
    config, initial, pre_steps, pre_neurons = fixed_input
    rules = {**RULES, "tau_theta_s": 1.0, "theta_plus_V": 0.002}
    lif = _run_layer(config, initial, pre_steps, pre_neurons, periods=2, rules=rules)
    twin = _run_layer(
        config, initial, pre_steps, pre_neurons, periods=2, rules=rules, neuron="stdp_lif"
    )
    assert len(lif[0]) >= 3
    for a, b in zip(lif, twin, strict=True):
        np.testing.assert_array_equal(a, b)
    assert event_features.twin_layers(event_features.SCALES["quick"]) == {"stdp_lif": "lif"}
    touched = dataclasses.replace(
        event_features.SCALES["quick"], overrides=(("lif", "tau_m", "10*ms"),)
    )
    assert event_features.twin_layers(touched) == {}


def test_the_rate_matched_control_interpolates_in_log_spikes():
    from analysis.event_features import rate_matched

    frozen = [
        {"gain": 1.0, "spikes_per_sample": 1.0, "linear_readout": 0.2},
        {"gain": 2.0, "spikes_per_sample": 4.0, "linear_readout": 0.6},
        {"gain": 4.0, "spikes_per_sample": 16.0, "linear_readout": 0.8},
    ]
    # 2 spikes lie half-way between 1 and 4 in log spikes; 8 half-way between 4 and 16
    assert rate_matched(frozen, 2.0)["linear_readout"] == pytest.approx(0.4)
    assert rate_matched(frozen, 8.0)["linear_readout"] == pytest.approx(0.7)
    assert rate_matched(frozen, 40.0)["linear_readout"] == 0.8  # outside: the nearest gain
    assert "nearest" in rate_matched(frozen, 40.0)["how"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(dataset="cifar"), "unknown dataset"),
        (dict(dataset="nmnist_folder"), "dataset_folder"),
        (dict(dataset="emulated_mnist"), "dataset_folder"),
        (dict(compare_mnist_folder="mnist"), "needs dataset=nmnist_folder"),
        (dict(neurons=("lif_cond",)), "lif_cond does not give the scales"),
        (dict(neurons=("hodgkin_huxley",)), "unknown neuron model"),
        (dict(n_neurons=1), "n_neurons at least 2"),
        (dict(frozen_gains=()), "frozen_gains"),
        (dict(sweep=((1.0, 2.0, 1.0),)), "four positive multiples"),
        (dict(sweep=((1.0, 0.0, 1.0, 1.0),)), "four positive multiples"),
        (dict(inhibition="lasting"), "inhibition must be one of"),
        (dict(test_theta="frozen"), "test_theta one of"),
        (dict(learning_wins=0.0), "learning_wins must be positive"),
        (dict(n_train=5), "k-means oracle needs n_train"),
        (dict(chunk_samples=0), "chunk_samples must be at least 1"),
    ],
)
def test_bad_configs_are_refused_before_anything_is_built(change, message):
    with pytest.raises(ModelError, match=message):
        event_features.check(dataclasses.replace(event_features.SCALES["tiny"], **change))


def _mnist_folder(root, images, test_images):
    """The four IDX files of ``images`` (train) and ``test_images``, written with struct."""
    import struct

    root.mkdir()
    for prefix, split in (("train", images), ("t10k", test_images)):
        for kind, array, magic in (
            ("images-idx3", split, 2051),
            ("labels-idx1", np.arange(len(split)) % 10, 2049),
        ):
            header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
            (root / f"{prefix}-{kind}-ubyte").write_bytes(header + array.astype(np.uint8).tobytes())
    return root


def test_mnist_images_are_emulated_with_the_real_recordings_sample_numbers(tmp_path):
    from experiments.data import events

    images, _ = events.digits_as_mnist(7)
    folder = _mnist_folder(tmp_path / "mnist", images[:4].round(), images[4:].round())
    config = dataclasses.replace(
        event_features.SCALES["tiny"],
        dataset="emulated_mnist",
        dataset_folder=str(folder),
        n_train=4,
        n_test=3,
        oracle=False,
    )
    event_features.check(config)
    train, train_labels, test, test_labels = event_features.load_samples(config)
    # test image j is N-MNIST sample 60,001 + j: its generator is [seed, 60,000 + j]
    expected = events.emulate_saccades(images[5].round(), np.random.default_rng([0, 60_001]))
    np.testing.assert_array_equal(test[1], expected)
    assert train_labels.tolist() == [0, 1, 2, 3] and test_labels.tolist() == [0, 1, 2]
    with pytest.raises(events.DataError, match="holds 3 MNIST test images, fewer than the 5"):
        event_features.check(dataclasses.replace(config, n_test=5))


def test_recordings_are_compared_with_the_emulation_of_their_own_digit(tmp_path):
    """Recordings that are the emulations of a folder's MNIST images, in the real subset's
    layout, must match them exactly: the recording-to-image mapping is right."""
    from experiments.data import events

    images, _ = events.digits_as_mnist(8)
    images = images.round()
    mnist = _mnist_folder(tmp_path / "mnist", images[:5], images[5:])
    recordings = tmp_path / "nmnist"
    recordings.mkdir()
    for name, numbers, first_image in (
        ("train1K.txt", [1, 2, 3, 4, 5], 0),
        ("test100.txt", [60001, 60002, 60003], 5),
    ):
        rows = ["#sample #class"]
        for k, number in enumerate(numbers):
            emulated = events.emulate_saccades(
                images[first_image + k], np.random.default_rng([0, number - 1])
            )
            events.write_nmnist(recordings / f"{number}.bs2", emulated)
            rows.append(f"{number}\t{k}")
        (recordings / name).write_text("\n".join(rows) + "\n")
    config = dataclasses.replace(
        event_features.SCALES["tiny"],
        dataset="nmnist_folder",
        dataset_folder=str(recordings),
        compare_mnist_folder=str(mnist),
        n_train=5,
        n_test=3,
        oracle=False,
    )
    event_features.check(config)
    closeness = event_features.compare_with_emulation(config, event_features.load_samples(config))
    np.testing.assert_allclose(closeness["spatial_r"], 1)
    np.testing.assert_array_equal(closeness["real_events"], closeness["emulated_events"])
    assert closeness["spatial_r_mismatched"].max() < 0.95


def test_the_tiny_experiment_reads_out_both_layers(tiny_results):
    from analysis.figures import load_result

    config, data, metrics = load_result(tiny_results["event_features"])
    result = metrics["models"]["lif"]
    layers = [result["stdp"], *result["frozen"], *result["sweep"]]
    assert len(layers) == 1 + len(config["frozen_gains"]) + len(config["sweep"])
    for layer in layers:
        assert 0 <= layer["linear_readout"] <= 1
    # each sweep point ran from the layer's seed and each replica's; its readout is their mean
    for point in result["sweep"]:
        assert len(point["each"]) == 1 + config["replicas"]
        assert point["linear_readout"] == pytest.approx(np.mean(point["each"]))
    # the frames control counts every event that reached the network, once per step
    assert data["frames"].sum() > 0 and data["frames"].shape == (20, event_features.N_INPUTS)
    assert {row["key"] for row in metrics["targets"]} >= {"E0a", "E1-lif", "E6-lif", "E7-lif"}


@pytest.mark.standalone
def test_the_benchmark_runs_at_tiny_size(tmp_path, monkeypatch):
    import importlib.util
    import json

    path = ROOT / "benchmarks" / "event_features.py"
    spec = importlib.util.spec_from_file_location("event_features_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    monkeypatch.setattr(benchmark, "DATA_CACHE", tmp_path / "data")
    arguments = ["--samples", "3", "--runtime-samples", "1", "--loop-samples", "1"]
    arguments += ["--neurons", "5", "--repeats", "1", "--contention", "99"]
    result = benchmark.main([*arguments, "--output", str(tmp_path)])
    stored = json.loads((tmp_path / "event_features.json").read_text())
    assert stored["ratios"] == result["ratios"] and not stored["failed"]
    # every way ran: the compiled run in both page sizes and the three runtime forms
    assert len(stored["rates"]) == 6
    assert all(r["rate"][1] > 0 for r in stored["rates"].values())


def test_the_closeness_row_summarises_the_saved_comparison():
    from analysis.event_features import emulation_closeness, emulation_row
    from experiments.data import events

    samples, _ = events.emulated_nmnist(4, seed=2)
    saved = events.compare_recordings(samples, samples)
    closeness = emulation_closeness({f"compare_{key}": value for key, value in saved.items()})
    assert closeness["pairs"] == 4
    assert closeness["events_ratio_median"] == closeness["events_correlation"] == 1
    assert closeness["spatial_r"] == pytest.approx(1)
    assert closeness["spatial_r_mismatched"] < 0.95
    assert emulation_row(closeness)["key"] == "E0c"


def _chunked(target: str, build_dir, chunk_samples: int) -> dict:
    """The learned weights, thresholds and every spike of a small event_features network
    trained and read out in runs of ``chunk_samples``."""
    from brian2 import volt

    from experiments.runner.devices import simulation

    config = dataclasses.replace(
        event_features.SCALES["tiny"],
        n_train=8,
        n_test=3,
        n_neurons=6,
        neurons=("lif",),
        frozen_gains=(2.0,),
        sweep=(),
        replicas=0,
        oracle=False,
        chunk_samples=chunk_samples,
    )
    presented = event_features.present(config, event_features.sample_batches(config))
    with simulation(target, build_dir) as sim:
        _, readers, presentation = event_features.build_network(config, presented)
        presentation.run(sim)
        return {
            "chunk": presentation.chunk,
            "weights": readers["lif_weights"](),
            "theta_V": np.asarray(presentation.final_state["lif_stdp.theta"] / volt),
            **{key: readers[key]() for key in readers if key.endswith(("_spike_i", "_spike_t_ms"))},
        }


@pytest.mark.parametrize(
    "target", ["runtime", pytest.param("cpp_standalone", marks=pytest.mark.standalone)]
)
def test_a_dataset_presented_in_chunks_trains_and_reads_out_as_in_one_run(target, tmp_path):
    """Chunks are runs of one compiled binary with the next samples' events, and the weights
    and thresholds so far, as run_args: splitting the training samples over 1, 2 or 4 runs
    and the readout over 2, 4 or 6 (the last padded with empty samples) must give the same
    weights (to rounding: the traces' time origin moves), the same spikes at the same times
    (shifted back to one time line)."""
    whole = _chunked(target, tmp_path / "a", chunk_samples=8)
    assert whole["chunk"] == 8
    assert len(whole["lif_stdp_spike_i"]) > 0 and len(whole["lif_frozen_spike_i"]) > 0
    for chunk, size in ((5, 4), (3, 2)):  # divisors of n_train = 8
        split = _chunked(target, tmp_path / str(chunk), chunk_samples=chunk)
        assert split["chunk"] == size
        np.testing.assert_allclose(split["weights"], whole["weights"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(split["theta_V"], whole["theta_V"], rtol=1e-9, atol=1e-18)
        for key in [key for key in whole if key.endswith("_spike_i")]:
            times = key.replace("_spike_i", "_spike_t_ms")
            np.testing.assert_array_equal(split[key], whole[key])
            np.testing.assert_allclose(split[times], whole[times], atol=1e-6)
