"""Feature emergence from event-camera data: a global STDP layer with competition (Safa et al.).

Safa et al. (2021), arXiv 2111.00791, train a fully connected ("global") STDP layer of LIF
neurons with winner-take-all competition on N-MNIST and read out spike counts with a linear
classifier; they derive the STDP and neuron parameters from theory instead of a search. The
paper's derivation was not available: the rules here are the project's reconstruction R2-R3
and R5 with the corrections C1-C4 (science notes, features.md §1, which replace R1 and R4),
computed from the training data's own statistics.

One network, one compile: 34x34x2 event inputs drive two layers of N neurons, the STDP layer
a control with the same initial weights that never learns and, for the first model, a
k-means-prototype oracle (features.md C5: the training frames' k-means centroids as frozen
weights, the ideal layer against which STDP's prototypes are measured); every sample is presented in
sequence (V and traces reset between samples). Phase 1 trains on the training samples;
phase 2, with plasticity off, presents the training and test samples again to read the spike
counts. The readout (scikit-learn) runs in ``analysis``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from experiments.data import events
from experiments.data.events import DataError
from experiments.data.mnist import load_mnist, mnist_files
from experiments.networks.build import resolve_neuron
from experiments.networks.competition import (
    check_layer_options,
    competitive_layer,
    freeze,
    neuron_scales,
)
from experiments.networks.tuning import calibrated_gain, tuning_rules
from models.base import ModelError

NAME = "event_features"
SENSOR = (34, 34)
N_INPUTS = SENSOR[0] * SENSOR[1] * 2
DATASETS = ("emulated", "emulated_mnist", "nmnist_folder")
#: Neuron models with a current input and a closed-form distance to firing (rule R3).
GAIN_RULES = ("empirical", "closed_form")
EMBEDDED_DIGITS = 1797  # scikit-learn's digits, the emulated dataset
#: The most synapses a run may build: the paper scale has about 10^7; 10^8 take several GB.
MAX_SYNAPSES = 10**8


#: The rules' setting changed one factor at a time: (threshold, tau+/tau_m, learning step,
#: theta+) multiples (the setting itself is the STDP layer).
ONE_AT_A_TIME = (
    (0.7, 1.0, 1.0, 1.0),
    (1.4, 1.0, 1.0, 1.0),
    (1.0, 0.5, 1.0, 1.0),
    (1.0, 2.0, 1.0, 1.0),
    (1.0, 1.0, 1 / 3, 1.0),
    (1.0, 1.0, 3.0, 1.0),
    (1.0, 1.0, 1.0, 1 / 3),
    (1.0, 1.0, 1.0, 3.0),
)
#: features.md S5: the full grid of threshold, learning step and theta+ around the rules'
#: setting, and tau+ one at a time (R2's prediction, E7).
FULL_GRID = tuple(
    (threshold, 1.0, step, theta_plus)
    for threshold in (0.7, 1.0, 1.4)
    for step in (1 / 3, 1.0, 3.0)
    for theta_plus in (1 / 3, 1.0, 3.0)
    if (threshold, step, theta_plus) != (1.0, 1.0, 1.0)
) + ((1.0, 0.5, 1.0, 1.0), (1.0, 2.0, 1.0, 1.0))


@dataclass(frozen=True)
class Config:
    #: seed of the emulated samples, the initial weights and the readout
    seed: int = 0
    #: emulated (scikit-learn's digits through a saccading DVS model, cached in build/data),
    #: emulated_mnist (the MNIST images in dataset_folder through the same model: sample k
    #: is the emulation of the image real N-MNIST sample k was recorded from) or
    #: nmnist_folder (recordings in dataset_folder)
    dataset: str = "emulated"
    #: folder of the dataset: N-MNIST recordings, or the four MNIST files for emulated_mnist
    dataset_folder: str = ""
    #: with dataset=nmnist_folder, an MNIST folder: the recordings' own digits are emulated
    #: from it and compared with them sample by sample (row E0c); empty is off
    compare_mnist_folder: str = ""
    #: training samples, presented once with STDP on, then again to fit the readout
    n_train: int = 600
    #: test samples of the readout
    n_test: int = 300
    #: one STDP layer and its frozen controls per model: lif, stdp_lif or izhikevich, or
    #: records in Python (the sweep runs on the first model only)
    neurons: tuple[str, ...] = ("lif", "stdp_lif", "izhikevich")
    #: (model, parameter, 'equation' or 'initial.VARIABLE', value) changes to the models, as
    #: --set makes them
    overrides: tuple = ()
    #: neurons N of each layer, control and sweep block
    n_neurons: int = 100
    #: presentation time of each sample; later events are dropped (N-MNIST recordings end
    #: at 297-336 ms)
    sample_ms: float = 320.0
    #: silence between samples
    rest_ms: float = 30.0
    #: simulation time step; events are binned to it
    dt_ms: float = 1.0
    #: L1 norm of each neuron's afferent weights, restored at each sample start (any value
    #: works: the rules scale with it)
    w_sum: float = 100.0
    #: upper bound of each afferent weight
    w_max: float = 1.0
    # tuning rules (features.md §1); R2 (tau_plus = tau_m) and R5 (N >= 10 x classes) fixed
    #: C1 (replaces R1): LTD over LTP window area, A- tau- / (A+ tau+); potentiation-dominated
    #: (Diehl & Cook about 0.01), the weight normalisation makes the competition
    ltd_ratio: float = 0.01
    #: R3: share of a matched prototype (against a random one) in the drive that the input
    #: gain brings to threshold
    rho: float = 0.6
    #: output spikes k each sample should evoke in a layer; sets a neuron's share of wins
    spikes_per_sample: float = 2.0
    #: C2 (replaces R4): a prototype averages its last this many wins (STDP step 1/this) and
    #: the adaptive threshold decays over as many wins of a neuron that wins its share
    learning_wins: float = 40.0
    #: C2: Diehl & Cook adaptive threshold, in every layer while training: a neuron winning
    #: its share reaches this multiple of the distance to firing (after learning_wins wins,
    #: or at the end of the pass if sooner); 0 is off
    theta_set_point: float = 1.0
    #: C4: what a winner's spike does to the others: v (reset v), v_and_input (reset v and
    #: clear the synaptic current) or v_and_input_in_training (clear it while training only:
    #: the readout pass keeps the losers' input, a graded code instead of a one-hot one)
    inhibition: str = "v_and_input_in_training"
    #: C3: thresholds in the readout pass: keep, rereference (minus the block's lowest) or
    #: clear
    test_theta: str = "rereference"
    #: C5: a k-means-prototype oracle layer (frozen centroids as weights) for the first model
    oracle: bool = True
    #: replicas of the first model's STDP layer from the initial weights of seeds seed + 1,
    #: seed + 2, ..., run beside it (blocks of the same network, the same samples): its
    #: readout is judged as the mean over all of them, and each sweep point is run from the
    #: same seeds
    replicas: int = 2
    #: R3's input gain: closed_form, or empirical (the median calibration sample's peak
    #: depolarisation with the initial weights just reaches threshold)
    gain_rule: str = "empirical"
    #: first training samples the empirical gain is calibrated on
    calibration_samples: int = 200
    #: controls, each a block of N neurons in the same run: frozen random weights driven at
    #: these multiples of the rules' input gain (x1 = the STDP layer's)
    frozen_gains: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
    #: sweep, a block of N STDP neurons per point and weight seed (seed and each replica's,
    #: so a point and the rules' setting are compared seed by seed): (threshold, tau+/tau_m,
    #: learning step, theta+) multiples of the rules' setting; () is off
    sweep: tuple[tuple[float, float, float, float], ...] = ONE_AT_A_TIME


SCALES = {
    "tiny": Config(n_train=12, n_test=8, n_neurons=10, neurons=("lif", "izhikevich"), replicas=1),
    "quick": Config(),
    "paper": Config(n_train=2000, n_test=1000, sweep=FULL_GRID),
}


def check(config: Config) -> None:
    if config.dataset not in DATASETS:
        raise ModelError(f"unknown dataset {config.dataset!r}; choose one of {', '.join(DATASETS)}")
    if config.dataset != "emulated" and not config.dataset_folder:
        raise ModelError(f"dataset {config.dataset} needs --config dataset_folder=PATH")
    if config.compare_mnist_folder and config.dataset != "nmnist_folder":
        raise ModelError(
            "compare_mnist_folder compares real recordings with their emulation: it needs "
            "dataset=nmnist_folder"
        )
    for folder, split, wanted in _mnist_needs(config):
        available = mnist_files(folder, split).count
        if available < wanted:
            raise DataError(
                f"{folder} holds {available} MNIST {split} images, fewer than the {wanted} "
                f"needed; lower n_{split}"
            )
    if config.dataset == "nmnist_folder":
        used = []
        for split, wanted in (("train", config.n_train), ("test", config.n_test)):
            files, labels = events.nmnist_folder_files(config.dataset_folder, split)
            if len(files) < wanted:
                raise events.DataError(
                    f"{config.dataset_folder} holds {len(files)} {split} recordings, fewer "
                    f"than n_{split}={wanted}; lower n_{split} or point at a larger folder"
                )
            if split == "train" and len(set(labels[:wanted])) < 2:
                raise events.DataError(
                    f"the first n_train={wanted} training recordings of {config.dataset_folder} "
                    "are all one digit; the readouts need two classes at least: raise n_train"
                )
            used += files[:wanted]
        events.check_recordings(used)
    for name in config.neurons:
        neuron_scales(resolve_neuron(name, config.overrides))
    check_layer_options(config)
    if config.gain_rule not in GAIN_RULES:
        raise ModelError(
            f"unknown gain_rule {config.gain_rule!r}; choose one of {', '.join(GAIN_RULES)}"
        )
    if config.replicas < 0:
        raise ModelError(f"replicas must be 0 or more; got {config.replicas}")
    if config.n_train < 2 or config.n_test < 1 or config.n_neurons < 2:
        raise ModelError(
            "n_train must be at least 2 (the readouts learn from two digits at least; the "
            "embedded digits run 0, 1, 2, ...), n_test at least 1 and n_neurons at least 2 (a "
            f"winner-take-all layer needs two to compete); got {config.n_train}, "
            f"{config.n_test}, {config.n_neurons}"
        )
    if not config.frozen_gains or min(config.frozen_gains) <= 0:
        raise ModelError("frozen_gains needs at least one positive gain multiple, e.g. (1.0, 4.0)")
    if any(len(point) != 4 or min(point) <= 0 for point in config.sweep):
        raise ModelError(
            "each sweep point is four positive multiples (threshold, tau+/tau_m, learning "
            "step, theta+), e.g. --config 'sweep=((1.4, 1.0, 1.0, 1.0),)'; sweep=() switches "
            "the sweep off"
        )
    if config.dt_ms < 0.001:
        raise ModelError(
            f"dt_ms must be at least 0.001 (events carry µs timestamps, binned by whole µs); "
            f"got {config.dt_ms}"
        )
    if config.sample_ms < config.dt_ms or config.rest_ms < 0:
        raise ModelError(
            f"sample_ms must be at least dt_ms={config.dt_ms} (one step per sample) and rest_ms "
            f"not negative; got sample_ms={config.sample_ms}, rest_ms={config.rest_ms}"
        )
    for field, why in (
        ("w_sum", "the weights are normalised to it, and the input gain divides by it"),
        ("w_max", "a bound of 0 clips every weight to 0"),
        ("spikes_per_sample", "theta's time constant divides by it"),
    ):
        if getattr(config, field) <= 0:
            raise ModelError(f"{field} must be positive ({why}); got {getattr(config, field)}")
    if config.dataset == "emulated" and config.n_train + config.n_test > EMBEDDED_DIGITS:
        raise ModelError(
            f"n_train + n_test must be at most {EMBEDDED_DIGITS} with dataset emulated (the "
            f"digits that ship with scikit-learn); got {config.n_train} + {config.n_test}. "
            "For more samples, set dataset=nmnist_folder and dataset_folder=PATH"
        )
    blocks = _blocks(config)
    if blocks * _synapses_per_block(config.n_neurons) > MAX_SYNAPSES:
        # the largest N with N**2 + (N_INPUTS - 1) N <= MAX_SYNAPSES / blocks
        largest = (
            math.isqrt((N_INPUTS - 1) ** 2 + 4 * (MAX_SYNAPSES // blocks)) - N_INPUTS + 1
        ) // 2
        raise ModelError(
            f"n_neurons must be between 2 and {largest} with these {blocks} layers: each layer "
            f"of N neurons has {N_INPUTS} x N afferent and N x (N - 1) winner-take-all "
            f"synapses, and more than {MAX_SYNAPSES:,} in all do not fit in memory; got "
            f"{config.n_neurons} (lower it, or run fewer neurons, frozen_gains or sweep points)"
        )
    if config.oracle and config.n_neurons > config.n_train:
        raise ModelError(
            "the k-means oracle needs n_train >= n_neurons (one centroid each); raise n_train "
            "or set oracle=False"
        )


def _mnist_needs(config: Config) -> list[tuple[str, str, int]]:
    """(MNIST folder, split, images needed) for the emulated_mnist dataset and for the
    comparison of real recordings with the emulation of their own digits."""
    if config.dataset == "emulated_mnist":
        return [
            (config.dataset_folder, "train", config.n_train),
            (config.dataset_folder, "test", config.n_test),
        ]
    if not config.compare_mnist_folder:
        return []

    needs = []
    for split, wanted in (("train", config.n_train), ("test", config.n_test)):
        files, _ = events.nmnist_folder_files(config.dataset_folder, split)
        highest = max(events.mnist_index(path, split) for path in files[:wanted])
        needs.append((config.compare_mnist_folder, split, highest + 1))
    return needs


def _blocks(config: Config) -> int:
    return (
        (1 + len(config.frozen_gains)) * (len(config.neurons) - len(twin_layers(config)))
        + len(config.sweep) * (1 + config.replicas)
        + int(config.oracle)
        + config.replicas
    )


def _synapses_per_block(n_neurons: int) -> int:
    return N_INPUTS * n_neurons + n_neurons * (n_neurons - 1)


def load_samples(
    config: Config, cache_dir=None, progress=None
) -> tuple[list, np.ndarray, list, np.ndarray]:
    """(train events, train labels, test events, test labels); emulated samples are kept in
    ``cache_dir`` (if given) for the next run; ``progress`` (an ``experiments.runner.progress.
    Progress``) counts the samples read."""

    def counted(what):
        return None if progress is None else lambda done, total: progress.count(done, total, what)

    if config.dataset == "emulated":
        samples, labels = events.emulated_nmnist(
            config.n_train + config.n_test,
            config.seed,
            cache_dir=cache_dir,
            progress=counted("emulated samples"),
        )
        return (
            samples[: config.n_train],
            labels[: config.n_train],
            samples[config.n_train :],
            labels[config.n_train :],
        )
    if config.dataset == "emulated_mnist":
        loaded = []
        for split, count in (("train", config.n_train), ("test", config.n_test)):
            images, labels = load_mnist(config.dataset_folder, split, limit=count)
            numbers = events.sample_number(np.arange(count), split)
            samples = events.emulate_images(
                images.astype(float),
                numbers,
                config.seed,
                cache_dir,
                counted(f"{split} images emulated"),
            )
            loaded += [samples, labels]
        return tuple(loaded)
    train, train_labels = events.load_nmnist_folder(
        config.dataset_folder, "train", limit=config.n_train, progress=counted("train recordings")
    )
    test, test_labels = events.load_nmnist_folder(
        config.dataset_folder, "test", limit=config.n_test, progress=counted("test recordings")
    )
    return train, train_labels, test, test_labels


def simulate(config: Config, sim) -> dict:
    # build/<experiment>/<device>: the emulated data is kept beside, in build/data
    sim.progress.phase(f"reading {config.n_train + config.n_test} samples ({config.dataset})")
    samples = load_samples(
        config, cache_dir=sim.build_dir.parent.parent / "data", progress=sim.progress
    )
    comparison = {}
    if config.compare_mnist_folder:
        sim.progress.phase("emulating the recordings' own digits from MNIST")
        comparison = compare_with_emulation(
            config, samples, sim.build_dir.parent.parent / "data", sim.progress
        )
    sim.progress.phase("building the network")
    net, readers, phases = build_network(config, samples)
    sim.run_phases(net, phases)
    readers["simulation_s"] = sim.run_seconds
    results = {key: np.asarray(read() if callable(read) else read) for key, read in readers.items()}
    return results | {f"compare_{key}": value for key, value in comparison.items()}


def compare_with_emulation(config: Config, samples, cache_dir=None, progress=None) -> dict:
    """``events.compare_recordings`` of the real recordings (train, then test) against the
    emulation of the MNIST images they were recorded from."""

    real, emulated = [], []
    for split, recordings, count in (
        ("train", samples[0], config.n_train),
        ("test", samples[2], config.n_test),
    ):
        files, _ = events.nmnist_folder_files(config.dataset_folder, split)
        indices = np.array([events.mnist_index(path, split) for path in files[:count]])
        images, _ = load_mnist(config.compare_mnist_folder, split, limit=int(indices.max()) + 1)
        numbers = events.sample_number(indices, split)
        emulated += events.emulate_images(
            images[indices].astype(float),
            numbers,
            config.seed,
            cache_dir,
            None if progress is None else partial(progress.count, what=f"{split} digits emulated"),
        )
        real += list(recordings)
    return events.compare_recordings(real, emulated)


def build_network(config: Config, samples):
    """(network, readers of the results, phases) for ``samples`` = (train events, train
    labels, test events, test labels): phase 1 trains, phase 2 (plasticity off) reads."""
    from brian2 import Network, SpikeGeneratorGroup, defaultclock, ms

    defaultclock.dt = config.dt_ms * ms
    train, train_labels, test, test_labels = samples
    dt_us = round(config.dt_ms * 1000)
    period_steps = round((config.sample_ms + config.rest_ms) / config.dt_ms)
    binned = [
        events.bin_events(sample[sample["t"] < config.sample_ms * 1000], dt_us, SENSOR)
        for sample in [*train, *test]
    ]
    frames = np.zeros((len(binned), N_INPUTS), dtype=np.int32)
    for k, (neuron, _) in enumerate(binned):
        np.add.at(frames[k], neuron, 1)
    rates_hz = frames[: config.n_train].mean(axis=0) / (config.sample_ms * 1e-3)
    # The input gain needs drive: the empirical rule the median calibration sample's (counted
    # as calibrated_gain counts it), the closed form any training event (else it divides by 0).
    if config.gain_rule == "empirical":
        steps = round(config.sample_ms / config.dt_ms)
        calibration = binned[: min(config.calibration_samples, config.n_train)]
        drive = np.sort([np.count_nonzero(step < steps) for _, step in calibration])
        drive = drive[len(drive) // 2]
    else:
        drive = frames[: config.n_train].sum()
    if drive == 0:
        raise events.DataError(
            f"too few training samples have events in their first {config.sample_ms} ms to "
            f"derive the input gain ({config.gain_rule} rule); raise sample_ms (N-MNIST "
            "recordings last about 300 ms)"
        )
    # Phase 1 presents the training samples, phase 2 the training then the test samples.
    sequence = [*binned[: config.n_train], *binned]
    indices = np.concatenate([neuron for neuron, _ in sequence])
    steps = np.concatenate([step + k * period_steps for k, (_, step) in enumerate(sequence)])
    inputs = SpikeGeneratorGroup(N_INPUTS, indices, steps * config.dt_ms * ms, name="inputs")
    initial = initial_weights(config, config.seed)
    net = Network(inputs)
    statistics = events.event_statistics([*train, *test])
    readers = {
        # the data notes' statistics of what was presented (data.md §4, target 3)
        "data_events_per_sample": lambda: np.array([len(sample) for sample in [*train, *test]]),
        "data_on_fraction": lambda: np.array([sample["p"].mean() for sample in [*train, *test]]),
        "data_profile_10ms": lambda: np.array(statistics["profile_10ms"]),
        "data_on_off_offsets": lambda: np.array(statistics["on_off_offsets"]),
        "frames": lambda: frames,
        "labels": lambda: np.concatenate([train_labels, test_labels]),
        "initial_weights": lambda: initial.astype(np.float32),
    }
    period_ms = period_steps * config.dt_ms
    layers = []
    aliases = twin_layers(config)
    for index, name in enumerate(config.neurons):
        if name in aliases:
            continue
        model = resolve_neuron(name, config.overrides)
        scales = neuron_scales(model)
        rules = tuning_rules(
            rates_hz,
            n_neurons=config.n_neurons,
            n_samples=config.n_train,
            w_sum=config.w_sum,
            spikes_per_sample=config.spikes_per_sample,
            rho=config.rho,
            ltd_ratio=config.ltd_ratio,
            learning_wins=config.learning_wins,
            theta_set_point=config.theta_set_point,
            period_s=period_ms * 1e-3,
            **{key: float(value) for key, value in scales.items()},
        )
        rules["gain_closed_form_A"] = rules["gain_A"]
        rules["threshold_distance_V"] = float(scales["threshold_distance"])
        if config.gain_rule == "empirical":
            rules["gain_A"] = calibrated_gain(
                binned[: min(config.calibration_samples, config.n_train)],
                initial,
                resistance=float(scales["resistance"]),
                tau_syn=float(scales["tau_syn"]),
                tau_m=float(scales["tau_m"]),
                threshold_distance=rules["gain_headroom"] * float(scales["threshold_distance"]),
                dt=config.dt_ms * 1e-3,
                steps=round(config.sample_ms / config.dt_ms),
            )
        label = name.replace(":", "_")
        readers[f"{label}_rules"] = lambda rules=rules: np.array(
            [rules[key] for key in sorted(rules)]
        )
        readers[f"{label}_rule_names"] = lambda rules=rules: np.array(sorted(rules))
        # The STDP layer at the rules' setting; frozen twins at the same and stronger drives;
        # for the first model, the sweep around the rules' setting (all in blocks of N).
        arms = [("stdp", True, [rules], initial)]
        arms.append(
            ("frozen", False, [_scaled(rules, gain=g) for g in config.frozen_gains], initial)
        )
        seeds = config.seed + np.arange(1 + config.replicas)
        if index == 0 and config.sweep:
            # point by point, each from the layer's and every replica's initial weights
            arms.append(
                (
                    "sweep",
                    True,
                    [_scaled(rules, *point) for point in config.sweep for _ in seeds],
                    np.stack(
                        [initial_weights(config, seed) for _ in config.sweep for seed in seeds]
                    ),
                )
            )
        if index == 0 and config.oracle:
            arms.append(("oracle", False, [rules], oracle_weights(config, frames)))
        if index == 0 and config.replicas:
            replicas = np.stack([initial_weights(config, seed) for seed in seeds[1:]])
            arms.append(("replicas", True, [rules] * config.replicas, replicas))
        for arm, plastic, settings, weights in arms:
            blocks = len(settings)
            block_rules = {key: [r[key] for r in settings] for key in SWEPT_RULES}
            objects = competitive_layer(
                model,
                settings[0] if all(r is settings[0] for r in settings) else block_rules,
                inputs,
                weights,
                period=period_ms * ms,
                w_sum=config.w_sum,
                w_max=config.w_max,
                plastic=plastic,
                name=f"{label}_{arm}",
                blocks=blocks,
                inhibition=config.inhibition,
            )
            net.add(objects)
            synapses, monitor = objects.afferents, objects.monitor
            layers.append(objects[:2])
            readers[f"{label}_{arm}_spike_i"] = lambda m=monitor: np.asarray(m.i)
            readers[f"{label}_{arm}_spike_t_ms"] = lambda m=monitor: np.asarray(m.t / ms)
            if arm == "stdp":
                readers[f"{label}_weights"] = lambda s=synapses: np.asarray(
                    s.w[:], dtype=np.float32
                ).reshape(N_INPUTS, config.n_neurons)

    for name, twin in aliases.items():
        # the twin's layers are simulated once; their results stand for both models
        for key in [key for key in readers if key.startswith(f"{twin}_")]:
            readers[f"{name}_{key[len(twin) + 1 :]}"] = readers[key]
        readers[f"{name}_same_as"] = np.array(twin)

    def freeze_all():
        for layer, synapses in layers:
            freeze(layer, synapses, config.test_theta)

    phases = [
        (config.n_train * period_ms * ms, None),
        (len(binned) * period_ms * ms, freeze_all),
    ]
    return net, readers, phases


def initial_weights(config: Config, seed: int) -> np.ndarray:
    """Uniform random afferent weights (inputs x N), L1-normalised per neuron to w_sum."""
    initial = np.random.default_rng(seed).uniform(0, 1, (N_INPUTS, config.n_neurons))
    return initial * config.w_sum / initial.sum(axis=0)


def twin_layers(config: Config) -> dict:
    """{model: its twin} for models whose layers would repeat another's spike for spike:
    stdp_lif with lif, both unchanged by overrides (stdp_lif only adds a second reset at the
    end of the refractory period, which leaves the LIF's forward trajectory unchanged:
    tests/test_event_features.py checks it for this layer)."""
    touched = {target for target, _, _ in config.overrides}
    if {"lif", "stdp_lif"} <= set(config.neurons) and not touched & {"lif", "stdp_lif"}:
        return {"stdp_lif": "lif"}
    return {}


def oracle_weights(config: Config, frames: np.ndarray) -> np.ndarray:
    """C5: the k-means centroids of the training frames (one scikit-learn KMeans call), one
    per neuron, L1-normalised to w_sum (inputs x N). Not clipped to w_max: they never learn."""
    from sklearn.cluster import KMeans

    centroids = (
        KMeans(n_clusters=config.n_neurons, n_init=3, random_state=config.seed)
        .fit(frames[: config.n_train].astype(float))
        .cluster_centers_.T
    )
    centroids = np.maximum(centroids, 0)
    return centroids * config.w_sum / centroids.sum(axis=0)


#: The rules that a block of a layer may change.
SWEPT_RULES = ("gain_A", "theta_plus_V", "tau_theta_s", "tau_plus_s", "A_plus", "A_minus")


def _scaled(
    rules: dict,
    threshold: float = 1.0,
    tau_ratio: float = 1.0,
    step: float = 1.0,
    theta_plus: float = 1.0,
    gain: float = 1.0,
) -> dict:
    """``rules`` with the firing threshold (as 1/gain), tau+, the learning step and theta+
    scaled: a threshold x1.4 is an input gain /1.4 (the distance to threshold per unit
    input)."""
    return {
        **rules,
        "gain_A": rules["gain_A"] * gain / threshold,
        # the effective step A+ Q tau+ / w_sum (rule C2) stays at step x the rules' step
        "tau_plus_s": rules["tau_plus_s"] * tau_ratio,
        "A_plus": rules["A_plus"] * step / tau_ratio,
        "A_minus": rules["A_minus"] * step / tau_ratio,
        "theta_plus_V": rules["theta_plus_V"] * theta_plus,
    }
