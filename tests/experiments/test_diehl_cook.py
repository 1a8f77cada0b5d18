"""Diehl & Cook (2015): the rule against the released code's update written out in numpy, the
compiled presenter against the protocol replayed from the spikes, normalisation, the frozen
passes, and the label-assignment read-out on responses whose answer is known."""

import gzip
import struct

import numpy as np
import pytest

from analysis.diehl_cook import assign_classes, pass_responses, predict
from experiments import diehl_cook, get_experiment
from experiments.diehl_cook import Config, check
from experiments.runner import harness
from models.base import ModelError
from models.plasticity import diehl_cook_stdp

PRE_MS = np.array([5.0, 31.0, 42.5, 80.0, 131.0])
POST_MS = np.array([12.0, 40.0, 44.0, 95.0, 140.0])


def _released_code_update(pre_ms, post_ms, params, w0):
    """The authors' update, event by event: traces set to 1 at their spikes and decaying in
    between; a pre spike depresses by eta_depress * apost, a post spike potentiates by
    eta_potentiate * apre * apost_slow from before this spike; w clipped to [0, w_max]."""
    tau = {key: float(params[key]) * 1e3 for key in ("tau_apre", "tau_apost", "tau_apost_slow")}
    last = {"pre": -np.inf, "post": -np.inf}
    w = w0
    events = sorted([(t, "pre") for t in pre_ms] + [(t, "post") for t in post_ms])
    for t, kind in events:
        if kind == "pre":
            apost = np.exp(-(t - last["post"]) / tau["tau_apost"])
            w = np.clip(w - params["eta_depress"] * apost, 0, params["w_max"])
        else:
            apre = np.exp(-(t - last["pre"]) / tau["tau_apre"])
            slow = np.exp(-(t - last["post"]) / tau["tau_apost_slow"])
            w = np.clip(w + params["eta_potentiate"] * apre * slow, 0, params["w_max"])
        last[kind] = t
    return w


@pytest.mark.parametrize("form", ["traces", "spike_times"])
def test_the_rule_changes_a_weight_as_the_released_code_does(form):
    """Both forms of the rule: three event-driven traces per synapse, and spike times (the
    postsynaptic one on a neuron group whose reset records it)."""
    from brian2 import Network, NeuronGroup, SpikeGeneratorGroup, TimedArray, defaultclock, ms

    from experiments.networks.build import plastic_synapses
    from experiments.runner.devices import simulation

    rule = diehl_cook_stdp(form)
    w0 = 0.5
    with simulation("runtime", runtime_target="numpy"):
        defaultclock.dt = 0.5 * ms
        pre = SpikeGeneratorGroup(1, np.zeros(len(PRE_MS), int), PRE_MS * ms)
        if form == "traces":
            post = SpikeGeneratorGroup(1, np.zeros(len(POST_MS), int), POST_MS * ms)
        else:
            steps = np.zeros(int(200 / 0.5))
            steps[np.round(POST_MS / 0.5).astype(int)] = 1
            post = NeuronGroup(
                1,
                rule.post_equations,
                threshold="post_spikes(t) > 0",
                reset=rule.post_reset,
                namespace={"post_spikes": TimedArray(steps, dt=0.5 * ms)},
            )
            for variable, value in rule.post_initial_values.items():
                setattr(post, variable, value)
        synapse = plastic_synapses(rule, pre, post, name="dc", connect="True", w_init=w0)
        Network(pre, post, synapse).run(200 * ms, namespace={})
        w = float(synapse.w[0])
    params = {key: float(value) for key, value in rule.params.items()}
    expected = _released_code_update(PRE_MS, POST_MS, params, w0)
    assert abs(expected - w0) > 5e-3  # potentiation-dominated: the change is visible
    assert w == pytest.approx(expected, rel=1e-12)


def test_the_spike_time_rule_refuses_a_target_without_the_spike_time():
    from brian2 import SpikeGeneratorGroup, ms

    from experiments.networks.build import plastic_synapses
    from experiments.runner.devices import simulation

    with simulation("runtime", runtime_target="numpy"):
        group = SpikeGeneratorGroup(1, [0], [1.0] * ms)
        with pytest.raises(ModelError, match="t_spike.*with_rule_state"):
            plastic_synapses(diehl_cook_stdp(), group, group, name="dc", connect="True")


@pytest.fixture(scope="module")
def tiny_compiled(tmp_path_factory):
    """The tiny scale on cpp_standalone; its re-presentations happen (10 neurons, 100 ms)."""
    root = tmp_path_factory.mktemp("diehl_cook")
    module = get_experiment("diehl_cook")
    config = module.SCALES["tiny"]
    directory = harness.run(
        module,
        config,
        device="cpp_standalone",
        results_root=root,
        build_root=root / "build",
        scale="tiny",
    )
    from analysis.figures import load_result

    stored_config, data, metrics = load_result(directory)
    return stored_config, data, metrics


@pytest.mark.standalone
def test_the_network_learns_the_same_weights_with_either_form_of_the_rule(tiny_compiled, tmp_path):
    """The tiny run again with the released code's per-synapse traces: the same spikes, and
    the same weights to rounding (the traces are computed in another order of operations)."""
    import dataclasses

    from analysis.figures import load_result

    config, data, _ = tiny_compiled
    assert config["stdp_form"] == "spike_times"
    module = get_experiment("diehl_cook")
    directory = harness.run(
        module,
        dataclasses.replace(module.SCALES["tiny"], stdp_form="traces"),
        device="cpp_standalone",
        results_root=tmp_path,
        build_root=tmp_path / "build",
        scale="tiny",
    )
    _, traces, _ = load_result(directory)
    assert len(data["spike_i"]) > 0
    assert np.array_equal(traces["spike_i"], data["spike_i"])
    assert np.array_equal(traces["spike_t_s"], data["spike_t_s"])
    np.testing.assert_allclose(traces["weights"], data["weights"], rtol=0, atol=1e-9)


@pytest.mark.standalone
def test_the_binarys_spike_counter_equals_the_counts_of_the_spike_monitor(tiny_compiled):
    config, data, _ = tiny_compiled
    counted_by_monitor = np.concatenate([p["slot_counts"] for p in pass_responses(config, data)])
    # the presenter records the count of slot k at the start of slot k + 1
    assert np.array_equal(data["slot_last_count"][1:], counted_by_monitor[:-1])
    assert counted_by_monitor.sum() > 0


@pytest.mark.standalone
def test_the_presenter_follows_the_protocol_replayed_from_the_spike_counts(tiny_compiled):
    """Each slot's example, presentation number and intensity, replayed in Python from the
    counts alone: a presentation with fewer than min_spikes spikes (and presentations left)
    is repeated at intensity + step; otherwise the next example starts at intensity_start."""
    config, data, _ = tiny_compiled
    counts = np.concatenate([p["slot_counts"] for p in pass_responses(config, data)])
    first, repeats = 0, 0
    for slots, examples in zip(data["pass_slots"], data["pass_examples"], strict=True):
        example, shown, intensity = 0, 1, config["intensity_start"]
        for k in range(first, first + slots):
            assert data["slot_example"][k] == example, k
            if example < examples:
                assert data["slot_shown"][k] == shown and data["slot_intensity"][k] == intensity
            if counts[k] < config["min_spikes"] and shown < config["max_presentations"]:
                shown, intensity = shown + 1, intensity + config["intensity_step"]
                repeats += example < examples
            else:
                example, shown, intensity = example + 1, 1, config["intensity_start"]
        first += slots
    assert repeats > 0  # the tiny scale exercises re-presentation


@pytest.mark.standalone
def test_training_normalises_the_weights_and_the_frozen_passes_keep_the_thresholds(
    tiny_compiled,
):
    config, data, _ = tiny_compiled
    initial_sums = data["initial_weights"].sum(axis=0)
    final_sums = data["weights"].sum(axis=0)
    assert np.all(np.abs(initial_sums - config["w_sum"]) > 30)  # far from 78 before training
    # after the last normalisation only one presentation of STDP changed them
    np.testing.assert_allclose(final_sums, config["w_sum"], rtol=0.05)
    training_s = data["pass_slots"][0] * float(data["slot_s"])
    frozen = data["theta_t_s"] >= training_s
    assert frozen.sum() >= 2
    np.testing.assert_array_equal(
        data["theta_mV"][frozen], np.tile(data["final_theta_mV"], (frozen.sum(), 1))
    )
    # a neuron silent in training only decays from theta_offset (20 mV), Euler-stepped, and
    # only in the slots that show an example (none after the pass's examples are done)
    fired = np.unique(data["spike_i"][data["spike_t_s"] < training_s])
    silent = np.setdiff1d(np.arange(config["n_excitatory"]), fired)
    showing = np.sum(data["slot_example"][: data["pass_slots"][0]] < data["pass_examples"][0])
    assert showing < data["pass_slots"][0]  # the tiny scale has idle slots to test
    steps = round(showing * float(data["slot_s"]) / (config["dt_ms"] / 1000))
    decayed = 20.0 * (1 - config["dt_ms"] / 1e7) ** steps
    np.testing.assert_allclose(data["final_theta_mV"][silent], decayed, rtol=1e-9)
    assert np.all(data["final_theta_mV"][fired] > decayed + 0.04)  # at least one 0.05 mV step


def test_label_assignment_reads_out_responses_whose_answer_is_known():
    """Neuron k answers only to class k % 10 (neuron 10 never answers): each neuron gets its
    class, the silent one none, and a test example is the class of the neurons that answer."""
    labels = np.arange(30) % 10
    responses = np.zeros((30, 11))
    responses[np.arange(30), labels] = 4.0
    assignment = assign_classes(responses, labels)
    assert list(assignment) == [*range(10), -1]
    test = np.zeros((3, 11))
    test[0, 3], test[1, [7, 2]], test[1, 2] = 5, (9, 1), 1
    assert list(predict(test, assignment)) == [3, 7, -1]  # the last answered nothing


def test_an_example_without_a_slot_is_a_row_of_nan_not_a_zero_response():
    config = {"presentation_ms": 100.0, "n_excitatory": 2}
    data = {
        "slot_s": np.array(0.15),
        "pass_slots": np.array([2, 1, 1]),
        "pass_examples": np.array([3, 1, 1]),
        "spike_t_s": np.array([0.01, 0.02]),
        "spike_i": np.array([1, 1]),
        "slot_example": np.array([0, 1, 0, 0]),
        "slot_shown": np.ones(4),
        "slot_intensity": np.full(4, 2.0),
    }
    train, label, test = pass_responses(config, data)
    assert list(train["responses"][0]) == [0, 2] and np.isnan(train["responses"][2]).all()


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(dataset="mnist_folder"), "needs --config dataset_folder"),
        (dict(n_label=2000), "n_label=2000 exceeds n_train"),
        (dict(n_train=1500), "at most 1797"),
        (dict(n_excitatory=1), "at least 2"),
        (dict(dataset="cifar"), "unknown dataset"),
        (dict(input_delay_ms=600.0), "shorter than a slot"),
    ],
)
def test_bad_configs_are_refused_before_anything_is_built(changes, message):
    import dataclasses

    with pytest.raises(ModelError, match=message):
        check(dataclasses.replace(Config(), **changes))


def test_set_reaches_the_networks_neurons_and_names_only_them():
    """--set diehl_cook_exc.PARAM changes the built excitatory group; a model the network
    does not run is refused before anything is built."""
    import dataclasses

    from brian2 import ms

    from experiments.runner.configs import ConfigError, checked
    from experiments.runner.devices import simulation

    module = get_experiment("diehl_cook")
    tiny = module.SCALES["tiny"]
    changed = checked(
        module,
        dataclasses.replace(
            tiny,
            overrides=(
                ("diehl_cook_exc", "timer_rate", "100.0"),
                ("diehl_cook_inh", "t_ref", "1*ms"),
            ),
        ),
    )
    with simulation("runtime", runtime_target="numpy"):
        net, _, _ = diehl_cook.build_network(changed, *diehl_cook.load_images(changed))
        assert float(net["excitatory"].timer_rate[:]) == 100.0
        assert float(net["inhibitory"].t_ref[:] / ms) == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="not among the neurons run"):
        checked(module, dataclasses.replace(tiny, overrides=(("lif", "tau_m", "10*ms"),)))


def _write_idx(path, magic, array):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_an_mnist_folder_is_read_in_order_and_its_size_checked(tmp_path):
    rng = np.random.default_rng(0)
    images = {split: rng.integers(0, 256, (n, 28, 28)) for split, n in (("train", 6), ("t10k", 4))}
    labels = {split: np.arange(len(images[split])) % 10 for split in images}
    for split in images:
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", 2051, images[split])
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", 2049, labels[split])
    config = Config(
        dataset="mnist_folder", dataset_folder=str(tmp_path), n_train=5, n_label=5, n_test=4
    )
    check(config)
    train, train_labels, test, test_labels = diehl_cook.load_images(config)
    np.testing.assert_array_equal(train, images["train"][:5].reshape(5, 784))
    np.testing.assert_array_equal(test_labels, labels["t10k"])
    with pytest.raises(ModelError, match="n_test=5 but .* holds 4 test images"):
        check(
            Config(
                dataset="mnist_folder", dataset_folder=str(tmp_path), n_train=5, n_label=5, n_test=5
            )
        )


def test_the_kmeans_control_finds_separated_classes_and_labels_them_by_majority():
    """Ten tight, far-apart clusters, one per class: ten centroids recover them exactly."""
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 255, (10, 784))
    labels = np.repeat(np.arange(10), 30)
    train = centres[labels] + rng.normal(0, 1, (300, 784))
    test_labels = np.arange(10)
    test = centres + rng.normal(0, 1, (10, 784))
    config = Config(n_excitatory=10, n_train=300, n_label=300, n_test=10)
    prediction = diehl_cook.kmeans_control(config, train, labels, test, test_labels)
    assert list(prediction) == list(test_labels)


def test_the_learning_split_finds_neurons_left_at_their_initial_draw_and_their_gate():
    """Three neurons: one keeps its initial weights (scaled: still correlation 1), two learn a
    new pattern; the first fires one spike per slot 500 ms apart, the others pairs 10 ms
    apart, so the gates are exp(-500/40) and the mean of exp(-10/40) and exp(-490/40)."""
    from analysis.diehl_cook import TAU_SLOW_S, learning_split

    rng = np.random.default_rng(0)
    initial = rng.uniform(0, 1, (784, 3))
    trained = np.column_stack([2 * initial[:, 0], rng.uniform(0, 1, (784, 2))])
    single = [(k * 0.5 + 0.1, 0) for k in range(4)]
    pairs = [(k * 0.5 + 0.1 + d, n) for n in (1, 2) for k in range(4) for d in (0, 0.01)]
    late = [(4.1, 0), (4.1, 1)]  # after training: not counted
    times, neurons = np.array(sorted(single + pairs + late)).T
    data = {
        "initial_weights": initial,
        "weights": trained,
        "spike_t_s": times,
        "spike_i": neurons.astype(int),
        "pass_slots": np.array([8, 1, 1]),
        "slot_s": 0.5,
    }
    split = learning_split({}, data, TAU_SLOW_S)
    assert split["unlearned_neurons"] == 1
    assert split["spikes_per_active_slot"] == pytest.approx([1.0, 2.0])
    paired = (4 * np.exp(-0.01 / TAU_SLOW_S) + 3 * np.exp(-0.49 / TAU_SLOW_S)) / 7
    assert split["slow_trace_gate"] == pytest.approx([np.exp(-0.5 / TAU_SLOW_S), paired])


def test_the_analysis_reads_the_rules_slow_trace_time_constant():
    from brian2 import second

    from analysis.diehl_cook import TAU_SLOW_S

    assert TAU_SLOW_S == pytest.approx(float(diehl_cook_stdp().params["tau_apost_slow"] / second))
