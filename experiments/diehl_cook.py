"""Unsupervised digit recognition with STDP: Diehl & Cook (2015), as the authors' code runs it.

784 Poisson inputs (pixel/8 Hz times an intensity) drive N_e conductance-based excitatory
neurons through potentiation-dominated STDP; each excitatory neuron excites its inhibitory
partner, which inhibits every other excitatory neuron (soft winner-take-all). Each example is
shown for 350 ms and followed by 150 ms of rest; before each training presentation every
neuron's afferent weights are scaled to sum to 78; an example that drew fewer than 5
excitatory spikes is shown again at intensity + 1. After training, the network is frozen
(no STDP, fixed thresholds), each neuron is assigned the class it answers most on labelled
training examples, and a test example is classified by the class whose neurons answer most.

All three passes run in one compiled binary: a one-neuron "presenter" group decides at the
start of every 500 ms slot which example to show and at what intensity, so re-presentations
cost no Python loop. Each pass gets a fixed number of slots (the examples plus
``repeat_allowance`` of them for re-presentations); a pass that needs more is reported, not
extended.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from experiments.data.events import digits_as_mnist
from experiments.data.mnist import load_mnist, mnist_files
from experiments.networks.build import neuron_group, resolve_neuron
from models.base import ModelError
from models.plasticity import DIEHL_COOK_FORMS, diehl_cook_stdp

NAME = "diehl_cook"
DATASETS = ("digits", "mnist_folder")
EMBEDDED_DIGITS = 1797  # scikit-learn's digits, upscaled to 28 x 28
PIXELS = 28 * 28
#: The neuron models the network is built from, each open to --set (e.g. --set
#: diehl_cook_exc.timer_rate=100 reads the released code's timer in Brian 1's SI units).
FIXED_NEURONS = ("diehl_cook_exc", "diehl_cook_inh")
#: Passes in the order they run: (name, learning).
PASSES = (("train", True), ("label", False), ("test", False))


@dataclass(frozen=True)
class Config:
    #: seed of the input spikes, the initial weights and the input delays
    seed: int = 1
    #: simulation time step (the paper's 0.5 ms)
    dt_ms: float = 0.5
    #: digits (scikit-learn's 8x8 digits upscaled to 28x28, embedded) or mnist_folder (the
    #: four MNIST IDX files in dataset_folder)
    dataset: str = "digits"
    #: folder of the MNIST files, for dataset=mnist_folder
    dataset_folder: str = ""
    #: excitatory neurons N_e (and as many inhibitory ones)
    n_excitatory: int = 100
    #: (model, parameter, 'equation' or 'initial.VARIABLE', value) changes to
    #: diehl_cook_exc and diehl_cook_inh, as --set makes them
    overrides: tuple = ()
    #: training examples (the first of the training set), each shown once per epoch
    n_train: int = 1000
    #: passes over the training examples
    train_epochs: int = 1
    #: training examples shown to the frozen network to assign each neuron its class (the
    #: first ones of the training set)
    n_label: int = 1000
    #: test examples (digits: the last ones of the 1797; MNIST: the first of t10k)
    n_test: int = 797
    #: input shown per presentation
    presentation_ms: float = 350.0
    #: rest after each presentation (no input)
    rest_ms: float = 150.0
    #: intensity of a first presentation: the input rate is pixel/8 times this (in Hz)
    intensity_start: float = 2.0
    #: added to the intensity when a presentation drew too few spikes
    intensity_step: float = 1.0
    #: excitatory spikes a presentation needs, else it is shown again
    min_spikes: int = 5
    #: presentations of one example at most (the paper repeats without bound; a cap keeps
    #: a blank example from stalling the run)
    max_presentations: int = 10
    #: extra slots of each pass for re-presentations, as a fraction of its examples
    repeat_allowance: float = 0.3
    #: sum each neuron's afferent weights are scaled to before every training presentation
    w_sum: float = 78.0
    #: excitatory -> inhibitory partner weight (conductance, in units of the leak)
    w_exc_inh: float = 10.4
    #: inhibitory -> other excitatory weights
    w_inh_exc: float = 17.0
    #: input delays are uniform in [0, this)
    input_delay_ms: float = 10.0
    #: how the STDP rule keeps its traces: spike_times (the latest spike times, each trace
    #: computed from them when read) or traces (three event-driven traces per synapse, as the
    #: released code); the same weights to rounding, the first in fewer operations
    stdp_form: str = "spike_times"
    #: thresholds theta are recorded this many times over the training pass
    theta_snapshots: int = 50


SCALES = {
    "tiny": Config(
        n_excitatory=10,
        n_train=10,
        n_label=10,
        n_test=10,
        presentation_ms=100.0,
        rest_ms=50.0,
        theta_snapshots=4,
        repeat_allowance=1.0,  # leaves idle slots, in which nothing may change
    ),
    "quick": Config(),
    # Paper: one 60,000-example epoch; labels from the first 10,000 training examples; the
    # full test set (dataset=mnist_folder, dataset_folder=...; N_e = 400 with n_excitatory=400)
    "paper": Config(
        dataset="mnist_folder",
        dataset_folder="../shared/data/mnist",
        n_train=60000,
        n_label=10000,
        n_test=10000,
        theta_snapshots=120,
        # measured on MNIST with N_e = 100: 2.2, 2.2 and 2.5 presentations per example in
        # training, labelling and test (theta rises over the epoch); 0.3 left 24k unshown
        repeat_allowance=1.8,
    ),
}


def check(config: Config) -> None:
    if config.dataset not in DATASETS:
        raise ModelError(f"unknown dataset {config.dataset!r}; choose one of {', '.join(DATASETS)}")
    for key in ("n_excitatory", "n_train", "n_label", "n_test", "max_presentations"):
        if getattr(config, key) < 1:
            raise ModelError(f"{key} must be at least 1; got {getattr(config, key)}")
    if config.n_excitatory < 2:
        raise ModelError("n_excitatory must be at least 2: the neurons learn by competing")
    if config.n_label > config.n_train:
        raise ModelError(
            f"n_label={config.n_label} exceeds n_train={config.n_train}: labels are assigned "
            "on training examples"
        )
    if config.stdp_form not in DIEHL_COOK_FORMS:
        raise ModelError(
            f"unknown stdp_form {config.stdp_form!r}; choose one of {', '.join(DIEHL_COOK_FORMS)}"
        )
    for key in ("presentation_ms", "intensity_start", "w_sum"):
        if getattr(config, key) <= 0:
            raise ModelError(f"{key} must be positive; got {getattr(config, key)}")
    for key in ("rest_ms", "intensity_step", "repeat_allowance", "input_delay_ms"):
        if getattr(config, key) < 0:
            raise ModelError(f"{key} must not be negative; got {getattr(config, key)}")
    if config.input_delay_ms >= config.presentation_ms + config.rest_ms:
        raise ModelError("input_delay_ms must be shorter than a slot (presentation + rest)")
    if config.dataset == "digits":
        if config.n_train + config.n_test > EMBEDDED_DIGITS:
            raise ModelError(
                f"n_train + n_test must be at most {EMBEDDED_DIGITS} with dataset digits; for "
                "more, set dataset=mnist_folder and dataset_folder=PATH"
            )
        return
    if not config.dataset_folder:
        raise ModelError("dataset mnist_folder needs --config dataset_folder=PATH")

    for split, wanted in (("train", config.n_train), ("test", config.n_test)):
        *_, available = mnist_files(config.dataset_folder, split)
        if wanted > available:
            raise ModelError(
                f"n_{split}={wanted} but {config.dataset_folder} holds {available} {split} images"
            )


def load_images(config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels); images (n, 784) in 0..255."""
    if config.dataset == "digits":
        images, labels = digits_as_mnist()
        images = images.reshape(len(images), PIXELS)
        return (
            images[: config.n_train],
            labels[: config.n_train],
            images[-config.n_test :],
            labels[-config.n_test :],
        )

    train, train_labels = load_mnist(config.dataset_folder, "train", limit=config.n_train)
    test, test_labels = load_mnist(config.dataset_folder, "test", limit=config.n_test)
    return (
        train.reshape(len(train), PIXELS).astype(float),
        train_labels,
        test.reshape(len(test), PIXELS).astype(float),
        test_labels,
    )


def pass_plan(config: Config) -> list[dict]:
    """Each pass: its name, whether it learns, the examples it shows (in order), the first
    row of the pixel table it reads, the number of rows it cycles through, and its slots."""
    plan = []
    for name, learning in PASSES:
        examples = {
            "train": config.n_train * config.train_epochs,
            "label": config.n_label,
            "test": config.n_test,
        }[name]
        plan.append(
            {
                "name": name,
                "learning": learning,
                "examples": examples,
                "first_row": config.n_train if name == "test" else 0,
                "rows": {"train": config.n_train, "label": config.n_label, "test": config.n_test}[
                    name
                ],
                "slots": examples + math.ceil(config.repeat_allowance * examples),
            }
        )
    return plan


def simulate(config: Config, sim) -> dict:
    sim.progress.phase(f"reading {config.n_train + config.n_test} images ({config.dataset})")
    images = load_images(config)
    sim.progress.phase("building the network")
    net, phases, read = build_network(config, *images)
    examples = sum(step["examples"] for step in pass_plan(config))
    sim.progress.phase(f"{examples} presentations in 3 passes, N_e = {config.n_excitatory}")
    sim.run_phases(net, phases)
    sim.progress.phase(f"k-means with {config.n_excitatory} centroids (the prototype control)")
    return {
        **read(),
        "simulation_s": np.array(sim.run_seconds),
        "kmeans_test_prediction": kmeans_control(config, *images),
    }


def kmeans_control(config: Config, train, train_labels, test, test_labels) -> np.ndarray:
    """Test predictions of the ideal prototype layer: N_e k-means centroids of the training
    images, each labelled by the majority class of the labelling examples nearest to it,
    each test image given its nearest centroid's class (-1 if that centroid got none)."""
    from sklearn.cluster import KMeans

    kmeans = KMeans(config.n_excitatory, n_init=1, random_state=config.seed).fit(train)
    nearest = kmeans.predict(train[: config.n_label])
    labels = np.full(config.n_excitatory, -1)
    for centroid in np.unique(nearest):
        labels[centroid] = np.bincount(train_labels[: config.n_label][nearest == centroid]).argmax()
    return labels[kmeans.predict(test)]


def build_network(config: Config, train, train_labels, test, test_labels):
    """The network with its three passes: (Network, [(duration, before), ...], a function
    returning the arrays to save once the passes have run)."""
    from brian2 import (
        Equations,
        Hz,
        Network,
        NeuronGroup,
        SpikeMonitor,
        StateMonitor,
        Synapses,
        TimedArray,
        defaultclock,
        ms,
        mV,
        second,
        seed,
    )

    defaultclock.dt = config.dt_ms * ms
    seed(config.seed)
    rng = np.random.default_rng(config.seed)
    n_e = config.n_excitatory
    slot = (config.presentation_ms + config.rest_ms) * ms
    presentation = config.presentation_ms * ms

    # The presenter: at each slot start, move on to the next example if the last
    # presentation drew enough spikes (or was the last allowed), else show it again brighter.
    presenter = NeuronGroup(
        1,
        """
        example : 1  # index of the example shown, within the pass
        row : 1  # its row in the pixel table
        intensity : 1
        shown : 1  # presentations of this example so far
        count : 1  # excitatory spikes during this presentation
        last_count : 1  # those of the previous slot (recorded)
        showing_until : second
        in_pass : 1  # 1 while the pass has examples left; idle slots after it are not time
        first_row : 1 (shared)
        rows : 1 (shared)
        examples : 1 (shared)
    """,
        name="presenter",
    )
    presenter.run_regularly(
        f"""
        advance = int(count >= {config.min_spikes} or shown >= {config.max_presentations})
        last_count = count
        example = example + advance
        shown = advance + (1 - advance)*(shown + 1)
        intensity = advance*{config.intensity_start!r} + (1 - advance)*(intensity + {config.intensity_step!r})
        row = first_row + (example % rows)
        in_pass = int(example < examples)
        showing_until = t + {float(presentation)!r}*second*in_pass
        count = 0
        """,  # noqa: E501
        dt=slot,
        when="start",
        order=-2,
        name="presenter_slot",
    )
    # One table of pixel rates for every pass: training rows, then test rows.
    pixel_rates = TimedArray(np.vstack([train, test]) / 8 * Hz, dt=1 * second, name="pixel_rates")
    # Short-circuit: most pixels are blank, and rand() is drawn only for lit ones.
    inputs = NeuronGroup(
        PIXELS,
        """
        row : 1 (linked)
        intensity : 1 (linked)
        showing_until : second (linked)
    """,
        threshold=(
            "t < showing_until and pixel_rates(row*second, i) > 0*Hz "
            "and rand() < pixel_rates(row*second, i)*intensity*dt"
        ),
        namespace={"pixel_rates": pixel_rates},
        name="inputs",
    )
    zeros = np.zeros(PIXELS, dtype=int)
    for name in ("row", "intensity", "showing_until"):
        setattr(inputs, name, _linked(presenter, name, zeros))

    rule = diehl_cook_stdp(config.stdp_form)
    excitatory_model = (
        resolve_neuron("diehl_cook_exc", config.overrides)
        .with_rule_state(rule)
        .with_equation("w_total : 1  # sum of afferent weights, kept incrementally")
        .with_equation("w_total_next : 1  # sum of the weights just normalised")
        # the paper has no idle slots: theta decays only while examples are shown (over a
        # pass's unused slots it would lose up to 1 - e^-2 of its value)
        .with_equation("in_pass : 1 (linked)")
        .with_equation("dtheta/dt = -adapting*in_pass*theta/tau_theta : volt")
    )
    excitatory = neuron_group(excitatory_model, n_e, name="excitatory")
    excitatory.in_pass = _linked(presenter, "in_pass", np.zeros(n_e, dtype=int))
    inhibitory = neuron_group(
        resolve_neuron("diehl_cook_inh", config.overrides), n_e, name="inhibitory"
    )
    model = rule.brian_equations() + Equations(
        "normalising : 1 (shared)  # 1 while training: weights scaled to w_sum at each slot"
    )
    afferents = Synapses(
        inputs,
        excitatory,
        model,
        # w_total follows every change, so normalising needs no sum over all synapses (a
        # summed variable would cost 784 x N_e additions every step)
        on_pre=f"g_e_post += w\nw_old = w\n{rule.on_pre}\nw_total_post += w - w_old",
        on_post=f"w_old = w\n{rule.on_post}\nw_total_post += w - w_old",
        method=rule.method,
        name="afferents",
    )
    afferents.connect()
    for key, value in {**rule.params, **rule.initial_values}.items():
        setattr(afferents, key, value)
    # The released code's initialisation, (U(0,1) + 0.01) * 0.3, in Brian2's synapse order
    # (input-major for connect())
    initial = (rng.uniform(0, 1, (PIXELS, n_e)) + 0.01) * 0.3
    afferents.w = initial.ravel()
    afferents.delay = rng.uniform(0, config.input_delay_ms, PIXELS * n_e) * ms
    excitatory.w_total = initial.sum(axis=0)
    afferents.normalising = 1.0
    afferents.run_regularly(
        # clipping can leave a sum other than w_sum, so the new sum is counted, not assumed
        f"w = w*(1 + normalising*({config.w_sum!r}/w_total_post - 1))\nw_total_next_post += w",
        dt=slot,
        when="start",
        order=-1,
        name="afferents_normalise",
    )
    excitatory.run_regularly(
        "w_total = w_total_next\nw_total_next = 0",
        dt=slot,
        when="start",
        order=0,
        name="excitatory_sums",
    )
    to_inhibitory = Synapses(
        excitatory, inhibitory, on_pre=f"g_e_post += {config.w_exc_inh!r}", name="to_inhibitory"
    )
    to_inhibitory.connect(j="i")
    to_excitatory = Synapses(
        inhibitory, excitatory, on_pre=f"g_i_post += {config.w_inh_exc!r}", name="to_excitatory"
    )
    to_excitatory.connect(condition="i != j")
    counter = Synapses(
        excitatory, presenter, on_pre="count_post += int(t < showing_until_post)", name="counter"
    )
    counter.connect()

    plan = pass_plan(config)
    training_s = plan[0]["slots"] * float(slot)
    spikes = SpikeMonitor(excitatory, name="excitatory_spikes")
    slots = StateMonitor(
        presenter,
        ["example", "intensity", "shown", "last_count"],
        record=0,
        dt=slot,
        when="start",
        order=5,
        name="slots",
    )
    thresholds = StateMonitor(
        excitatory,
        "theta",
        record=True,
        dt=_snapshot_interval(training_s, config.theta_snapshots, slot),
        name="thresholds",
    )
    net = Network(
        presenter,
        inputs,
        excitatory,
        inhibitory,
        afferents,
        to_inhibitory,
        to_excitatory,
        counter,
        spikes,
        slots,
        thresholds,
    )

    def start(step):
        def before():
            presenter.example = -1
            # the first slot advances to example 0 (the count is kept: it is the last
            # slot's, recorded at this slot's start)
            presenter.shown = config.max_presentations
            presenter.first_row = step["first_row"]
            presenter.rows = step["rows"]
            presenter.examples = step["examples"]
            if not step["learning"]:  # frozen: no STDP, no normalising, fixed thresholds
                afferents.eta_depress = 0
                afferents.eta_potentiate = 0
                afferents.normalising = 0.0
                excitatory.theta_plus = 0 * mV
                excitatory.adapting = 0

        return before

    def read() -> dict:
        return {
            "spike_t_s": np.asarray(spikes.t / second),
            "spike_i": np.asarray(spikes.i[:]),
            "slot_example": np.asarray(slots.example[0]),
            "slot_intensity": np.asarray(slots.intensity[0]),
            "slot_shown": np.asarray(slots.shown[0]),
            "slot_last_count": np.asarray(slots.last_count[0]),
            "slot_s": np.array(float(slot)),
            "pass_slots": np.array([step["slots"] for step in plan]),
            "pass_examples": np.array([step["examples"] for step in plan]),
            "train_labels": np.asarray(train_labels),
            "train_class_means": np.stack(
                [train[train_labels == c].mean(axis=0) for c in range(10)]
            ),
            "test_labels": np.asarray(test_labels),
            "weights": np.asarray(afferents.w[:]).reshape(PIXELS, n_e),
            "initial_weights": initial,
            "theta_t_s": np.asarray(thresholds.t / second),
            "theta_mV": np.asarray(thresholds.theta / mV).T,  # [time, neuron]
            "final_theta_mV": np.asarray(excitatory.theta[:] / mV),
        }

    return net, [(step["slots"] * slot, start(step)) for step in plan], read


def _linked(group, name, index):
    from brian2 import linked_var

    return linked_var(group, name, index=index)


def _snapshot_interval(training_s: float, snapshots: int, slot):
    """A whole number of slots such that about ``snapshots`` records cover training."""
    return max(1, round(training_s / float(slot) / max(snapshots, 1))) * slot
