"""Feature emergence from event-camera data: a global STDP layer with competition (Safa et al.).

Safa et al. (2021), arXiv 2111.00791, train a fully connected ("global") STDP layer of LIF
neurons with winner-take-all competition on N-MNIST and read out spike counts with a linear
classifier; they derive the STDP and neuron parameters from theory instead of a search. The
paper's derivation was not available: the rules here are the project's reconstruction R2-R3
and R5 with the corrections C1-C4 (science notes, features.md §1, which replace R1 and R4),
computed from the training data's own statistics.

One network, one compile: 34x34x2 event inputs drive two layers of N neurons, the STDP layer
and a control with the same initial weights that never learns and, for the first model, a
k-means-prototype oracle (features.md C5: the training frames' k-means centroids as frozen
weights, the ideal layer against which STDP's prototypes are measured); every sample is
presented in sequence (V and traces reset between samples). Training presents the training
samples; then, with plasticity off, the training and test samples are presented again to read
the spike counts (the readout, scikit-learn, runs in ``analysis``). The samples go in through
the inputs' event table, ``chunk_samples`` at a time, each chunk a run of the same compiled
binary (``Presentation``): a dataset of any size, 60,000 N-MNIST digits at the paper's scale,
needs one compile and memory for one chunk's events.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from experiments.data import events
from experiments.data.events import DataError
from experiments.data.mnist import load_mnist, mnist_files
from experiments.networks.build import resolve_neuron
from experiments.networks.competition import (
    check_layer_options,
    competitive_layer,
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
    #: most samples one run of the compiled binary presents: the network is compiled once and
    #: run again with the next samples' events (and the weights and thresholds so far) as
    #: run_args, so that no run holds a whole large dataset. Training runs present the largest
    #: divisor of n_train that is not above it.
    chunk_samples: int = 5000


SCALES = {
    "tiny": Config(n_train=12, n_test=8, n_neurons=10, neurons=("lif", "izhikevich"), replicas=1),
    "quick": Config(),
    # One layer of 400 trained on the 60,000 MNIST training digits emulated as N-MNIST (the
    # digits real N-MNIST was recorded from), read out on the 10,000 test digits; the frozen
    # control beside it (target: linear readout >= 0.88)
    "paper": Config(
        dataset="emulated_mnist",
        dataset_folder="../shared/data/mnist",
        n_train=60_000,
        n_test=10_000,
        n_neurons=400,
        neurons=("lif",),
        frozen_gains=(1.0,),
        sweep=(),
        replicas=0,
        oracle=False,
    ),
    # features.md S5: the full grid around the rules' setting, on more of the embedded digits
    "grid": Config(n_train=2000, n_test=1000, sweep=FULL_GRID),
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
    if config.chunk_samples < 1:
        raise ModelError(f"chunk_samples must be at least 1; got {config.chunk_samples}")
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
    Progress``) counts the samples read. All recordings in memory at once (about 125 kB
    each): ``present`` reads a large dataset in batches instead."""
    loaded = {"train": ([], []), "test": ([], [])}
    for split, samples, labels in sample_batches(config, cache_dir, progress):
        loaded[split][0].extend(samples)
        loaded[split][1].append(labels)
    return tuple(
        part
        for samples, labels in loaded.values()
        for part in (samples, np.concatenate(labels).astype(int))
    )


#: Recordings read and binned at a time: a batch of raw events is about 125 kB per sample.
BATCH = 2000


def sample_batches(config: Config, cache_dir=None, progress=None):
    """(split, recordings, labels) for the training samples, then the test samples, in
    batches of at most ``BATCH``."""

    def counted(what, done_before=0, total=None):
        if progress is None:
            return None
        return lambda done, batch_total: progress.count(
            done_before + done, total or batch_total, what
        )

    wanted = {"train": config.n_train, "test": config.n_test}
    if config.dataset == "emulated":
        samples, labels = events.emulated_nmnist(
            config.n_train + config.n_test,
            config.seed,
            cache_dir=cache_dir,
            progress=counted("emulated samples"),
        )
        yield "train", samples[: config.n_train], labels[: config.n_train]
        yield "test", samples[config.n_train :], labels[config.n_train :]
        return
    for split, count in wanted.items():
        if config.dataset == "emulated_mnist":
            images, labels = load_mnist(config.dataset_folder, split, limit=count)
            numbers = events.sample_number(np.arange(count), split)
        else:
            files, labels = events.nmnist_folder_files(config.dataset_folder, split)
            files, labels = files[:count], np.asarray(labels[:count])
        for first in range(0, count, BATCH):
            part = slice(first, min(first + BATCH, count))
            if config.dataset == "emulated_mnist":
                samples = events.emulate_images(
                    images[part].astype(float),
                    numbers[part],
                    config.seed,
                    cache_dir,
                    counted(f"{split} images emulated", first, count),
                )
            else:
                report = counted(f"{split} recordings", first, count)
                samples = []
                for path in files[part]:
                    samples.append(events.read_nmnist(path))
                    if report:
                        report(len(samples), count)
            yield split, samples, labels[part]


#: Samples whose events the data statistics (profile, ON/OFF offsets) are taken from: all of
#: them concatenated would not fit in memory at the paper's scale.
STATISTICS_SAMPLES = 3000


class Presented(NamedTuple):
    """The samples as the network receives them: each recording's events before sample_ms,
    binned to (input, time step) pairs (``events.bin_events``), samples end to end, training
    samples first; and the statistics of the recordings themselves."""

    neurons: np.ndarray  # input of each event (int32)
    steps: np.ndarray  # its time step within its sample (int32)
    starts: np.ndarray  # sample k's events are [starts[k], starts[k + 1])
    labels: np.ndarray
    n_train: int
    events_per_sample: np.ndarray  # in the recording, before binning
    on_fraction: np.ndarray
    statistics: dict  # events.event_statistics of the first STATISTICS_SAMPLES

    def sample(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return (
            self.neurons[self.starts[k] : self.starts[k + 1]],
            self.steps[self.starts[k] : self.starts[k + 1]],
        )

    def frames(self) -> np.ndarray:
        """Event counts per sample and input (samples x N_INPUTS)."""
        frames = np.zeros((len(self.labels), N_INPUTS), dtype=np.int32)
        for first in range(0, len(frames), BATCH):
            stop = min(first + BATCH, len(frames))
            span = slice(self.starts[first], self.starts[stop])
            owner = np.repeat(np.arange(stop - first), np.diff(self.starts[first : stop + 1]))
            np.add.at(frames[first:stop], (owner, self.neurons[span]), 1)
        return frames


def present(config: Config, batches) -> Presented:
    """``Presented`` from ``sample_batches`` (or any (split, recordings, labels) batches,
    training ones first): recordings are binned as they are read, so that only the binned
    events of the whole dataset (8 bytes each) are held."""
    dt_us = round(config.dt_ms * 1000)
    neurons, steps, counts, labels, per_sample, on, kept = [], [], [], [], [], [], []
    n_train = 0
    for split, samples, batch_labels in batches:
        for sample in samples:
            neuron, step = events.bin_events(sample[sample["t"] < config.sample_ms * 1000], dt_us)
            neurons.append(neuron.astype(np.int32))
            steps.append(step.astype(np.int32))
            counts.append(len(neuron))
            per_sample.append(len(sample))
            on.append(sample["p"].mean() if len(sample) else np.nan)
            if len(kept) < STATISTICS_SAMPLES:
                kept.append(sample)
        labels.append(np.asarray(batch_labels))
        n_train += len(samples) * (split == "train")
    return Presented(
        np.concatenate(neurons),
        np.concatenate(steps),
        np.concatenate([[0], np.cumsum(counts)]),
        np.concatenate(labels).astype(int),
        n_train,
        np.array(per_sample),
        np.array(on),
        events.event_statistics(kept),
    )


def simulate(config: Config, sim) -> dict:
    # build/<experiment>/<device>: the emulated data is kept beside, in build/data
    cache_dir = sim.build_dir.parent.parent / "data"
    sim.progress.phase(f"reading {config.n_train + config.n_test} samples ({config.dataset})")
    presented = present(config, sample_batches(config, cache_dir, sim.progress))
    comparison = {}
    if config.compare_mnist_folder:
        sim.progress.phase("emulating the recordings' own digits from MNIST")
        comparison = compare_with_emulation(config, load_samples(config), cache_dir, sim.progress)
    sim.progress.phase("building the network")
    net, readers, presentation = build_network(config, presented)
    readers["simulation_s"] = presentation.run(sim)
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


def build_network(config: Config, presented: Presented):
    """(network, readers of the results, ``Presentation``) for the ``present``-ed samples:
    the presentation's ``run(sim)`` trains, then reads out with plasticity off."""
    from brian2 import Network, defaultclock, ms

    from experiments.networks.inputs import event_inputs

    defaultclock.dt = config.dt_ms * ms
    period_steps = round((config.sample_ms + config.rest_ms) / config.dt_ms)
    frames = presented.frames()
    rates_hz = frames[: config.n_train].mean(axis=0) / (config.sample_ms * 1e-3)
    calibration = [
        presented.sample(k) for k in range(min(config.calibration_samples, config.n_train))
    ]
    # The input gain needs drive: the empirical rule the median calibration sample's (counted
    # as calibrated_gain counts it), the closed form any training event (else it divides by 0).
    if config.gain_rule == "empirical":
        drive = np.sort([len(neuron) for neuron, _ in calibration])[len(calibration) // 2]
    else:
        drive = frames[: config.n_train].sum()
    if drive == 0:
        raise events.DataError(
            f"too few training samples have events in their first {config.sample_ms} ms to "
            f"derive the input gain ({config.gain_rule} rule); raise sample_ms (N-MNIST "
            "recordings last about 300 ms)"
        )
    chunk = training_chunk(config.n_train, config.chunk_samples)
    net = Network()
    presentation = Presentation(presented, config, net, None, chunk, period_steps)
    inputs = event_inputs(N_INPUTS, presentation.capacity(), "inputs", *presentation.events(0))
    presentation.inputs = inputs
    net.add(inputs)
    initial = initial_weights(config, config.seed)
    readers = {
        # the data notes' statistics of what was presented (data.md §4, target 3)
        "data_events_per_sample": lambda: presented.events_per_sample,
        "data_on_fraction": lambda: presented.on_fraction,
        "data_profile_10ms": lambda: np.array(presented.statistics["profile_10ms"]),
        "data_on_off_offsets": lambda: np.array(presented.statistics["on_off_offsets"]),
        "frames": lambda: frames,
        "labels": lambda: presented.labels,
        "initial_weights": lambda: initial.astype(np.float32),
    }
    period_ms = period_steps * config.dt_ms
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
                calibration,
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
            key = f"{label}_{arm}"
            presentation.layers.append(
                (objects.group, objects.afferents if plastic else None, objects.monitor, key)
            )
            readers[f"{key}_spike_i"] = presentation.spike_reader(key, "i")
            readers[f"{key}_spike_t_ms"] = presentation.spike_reader(key, "t_ms")
            if arm == "stdp":
                readers[f"{label}_weights"] = lambda s=objects.afferents: np.asarray(
                    presentation.final_state[f"{s.name}.w"], dtype=np.float32
                ).reshape(N_INPUTS, config.n_neurons)

    for name, twin in aliases.items():
        # the twin's layers are simulated once; their results stand for both models
        for key in [key for key in readers if key.startswith(f"{twin}_")]:
            readers[f"{name}_{key[len(twin) + 1 :]}"] = readers[key]
        readers[f"{name}_same_as"] = np.array(twin)

    return net, readers, presentation


def training_chunk(n_train: int, chunk_samples: int) -> int:
    """Samples per run of the binary: the largest divisor of ``n_train`` not above
    ``chunk_samples``, so that every training run presents as many samples as the binary's
    compiled duration (a padded training run would decay theta over its empty samples)."""
    return max(d for d in range(1, min(n_train, chunk_samples) + 1) if n_train % d == 0)


@dataclass
class Presentation:
    """How ``build_network``'s network presents the samples: in runs of one compiled binary
    (``Simulation.rerun``), each ``chunk`` samples long, the events of its samples in the
    inputs' table (``experiments.networks.inputs.event_inputs``). Training runs present the
    training samples with STDP on, carrying the weights and thresholds from run to run; the
    readout runs present the training and then the test samples again, frozen
    (``competition.frozen_values``), the last run padded with empty samples. Spike times are
    kept as if all had been one run: presentation p starts at p x period."""

    presented: Presented
    config: Config
    net: Any
    inputs: Any
    chunk: int
    period_steps: int
    #: (group, its plastic synapses or None, its spike monitor, the spike readers' key)
    layers: list = dataclasses.field(default_factory=list)
    #: key -> ([spike indices per run], [spike times in ms per run])
    spikes: dict = dataclasses.field(default_factory=dict)
    #: run_args name -> value, what training ended with
    final_state: dict = dataclasses.field(default_factory=dict)

    def capacity(self) -> int:
        """Table entries the largest run needs: its events and one end marker per input."""
        counts = np.diff(self.presented.starts)
        n_train, n_all = self.presented.n_train, len(counts)
        sizes = [counts[a : a + self.chunk].sum() for a in range(0, n_all, self.chunk)]
        sizes += [counts[a : a + self.chunk].sum() for a in range(0, n_train, self.chunk)]
        return int(max(sizes)) + N_INPUTS

    def events(self, first: int) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, steps) of the run that presents samples first, first + 1, ... (at most
        ``chunk``), steps counted from the run's start."""
        stop = min(first + self.chunk, len(self.presented.labels))
        span = slice(self.presented.starts[first], self.presented.starts[stop])
        offsets = np.repeat(
            np.arange(stop - first, dtype=np.int64) * self.period_steps,
            np.diff(self.presented.starts[first : stop + 1]),
        )
        return self.presented.neurons[span], self.presented.steps[span] + offsets

    @property
    def phases(self) -> list:
        """The phases of one run of the binary: ``chunk`` sample periods."""
        from brian2 import ms

        return [(self.chunk * self.period_steps * self.config.dt_ms * ms, None)]

    def run(self, sim) -> float:
        """Run every chunk; returns the wall seconds simulated (all runs)."""
        from brian2 import ms, volt

        from experiments.networks.competition import frozen_values
        from experiments.networks.inputs import event_values

        n_train, n_all = self.presented.n_train, len(self.presented.labels)
        period_ms = self.period_steps * self.config.dt_ms
        phases = self.phases
        runs = [(first, True) for first in range(0, n_train, self.chunk)]
        runs += [(first, False) for first in range(0, n_all, self.chunk)]
        # name -> (variable, value): a VariableView is a new object at each access
        seconds, state, frozen = 0.0, {}, None
        for number, (first, learning) in enumerate(runs):
            shown = min(self.chunk, (n_train if learning else n_all) - first)
            sim.progress.phase(
                f"run {number + 1} of {len(runs)} of the binary: "
                + ("training on" if learning else "frozen, reading out")
                + f" samples {first} to {first + shown - 1}"
            )
            if number == 0:  # the network was built with the first run's events
                sim.run_phases(self.net, phases, rerunnable=True)
            else:
                if not learning and frozen is None:
                    frozen = dict(state)
                    for layer, _, _, _ in self.layers:
                        theta = state[f"{layer.name}.theta"][1]
                        frozen |= _named(
                            frozen_values(
                                layer, theta, self.config.n_neurons, self.config.test_theta
                            )
                        )
                values = _named(event_values(self.inputs, *self.events(first)))
                values |= state if learning else frozen
                sim.rerun(self.net, phases, dict(values.values()))
            seconds += sim.run_seconds
            offset = (first if learning else n_train + first) * period_ms
            for layer, synapses, monitor, key in self.layers:
                t_ms = np.array(monitor.t / ms)
                kept = t_ms < shown * period_ms - 1e-9  # not a padded run's empty samples
                i_all, t_all = self.spikes.setdefault(key, ([], []))
                i_all.append(np.array(monitor.i)[kept])
                t_all.append(t_ms[kept] + offset)
                if learning:
                    carried = {layer.theta: np.array(layer.theta_[:]) * volt}
                    if synapses is not None:
                        carried[synapses.w] = np.array(synapses.w[:])
                        carried[layer.w_total] = np.array(layer.w_total[:])
                    state |= _named(carried)
        self.final_state = {name: value for name, (_, value) in state.items()}
        return seconds

    def spike_reader(self, key: str, what: str):
        """A reader of all runs' spikes of ``key``: ``what`` is 'i' or 't_ms'."""
        column = 0 if what == "i" else 1
        return lambda: np.concatenate(self.spikes[key][column])


def initial_weights(config: Config, seed: int) -> np.ndarray:
    """Uniform random afferent weights (inputs x N), L1-normalised per neuron to w_sum."""
    initial = np.random.default_rng(seed).uniform(0, 1, (N_INPUTS, config.n_neurons))
    return initial * config.w_sum / initial.sum(axis=0)


def _named(values: dict) -> dict:
    """``{variable or TimedArray: value}`` as {run_args name: (variable, value)}."""
    return {
        f"{key.group_name}.{key.name}" if hasattr(key, "group_name") else key.name: (key, value)
        for key, value in values.items()
    }


def twin_layers(config: Config) -> dict:
    """{model: its twin} for models whose layers would repeat another's spike for spike:
    stdp_lif with lif, both unchanged by overrides (stdp_lif only adds a second reset at the
    end of the refractory period, which leaves the LIF's forward trajectory unchanged:
    tests/experiments/test_event_features.py checks it for this layer)."""
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
