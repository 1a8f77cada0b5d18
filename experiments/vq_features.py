"""Sparse features from image patches with VQ-STDP (Tavanaei, Masquelier & Maida 2018).

Tavanaei et al. (2018), Neural Networks 105:294, doi:10.1016/j.neunet.2018.05.018, train one
layer of spiking neurons with softmax competition, an adaptive global threshold and VQ-STDP
on Bernoulli-coded image patches, and report sparse, independent features with a low
reconstruction loss. The rule, competition and threshold are reconstructed from the authors'
released code (science notes, plasticity.md §4); the protocol from features.md §2.

One compile holds every layer: K = 8-64 neurons on 5x5 digit patches and K neurons on 16x16
natural ON/OFF patches, one Bernoulli input per dataset, each layer once per competition and
once per weight seed (``replicas``).

The competition: the released code's softmax ranks neurons by their input w.x, so a neuron
with large weights wins patches it does not resemble; ``distance`` (the default) offsets each
neuron by half its squared weight norm, w.x - |w|^2/2 (scaled like u by the EPSP filter),
which ranks by distance to the input (|x - w|^2 = |x|^2 - 2 (w.x - |w|^2/2)); each neuron
keeps the offset from its own weights.
``dot`` is the competition as released. Phase 1 trains on the training
patches (T steps each); phase 2, with plasticity and threshold adaptation off, presents
held-out patches and records the codes. Reconstruction, sparsity and the k-means and PCA
baselines are computed in ``analysis.vq_features``.

Brian2's schedule evaluates thresholds before synaptic propagation, so the layer answers one
step after its input: the EPSP of an input spike at step t enters the softmax at step t + 1
with weight 1 (the kernel's first term), and the rule's window ("input active") is that step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from analysis.vq_features import frozen_label, label_of
from experiments.data import events, patches
from experiments.networks.inputs import bernoulli_inputs
from experiments.runner.configs import ConfigError
from models.base import ModelError
from models.plasticity import vq_stdp

NAME = "vq_features"
DATASETS = ("digits", "natural")
PATCH_SIZE = {"digits": 5, "natural": 16}
#: distance: softmax of w.x - |w|^2/2 (the nearest prototype wins); dot: of w.x, as released
COMPETITIONS = ("distance", "dot")
MU_SCHEDULES = ("constant", "linear")
INITIAL_WEIGHTS = ("kmeans++", "patches", "uniform")


@dataclass(frozen=True)
class Config:
    #: seed of the patches chosen, the initial weights and the Bernoulli inputs
    seed: int = 0
    #: digits (5x5 patches of scikit-learn's digits) and/or natural (16x16 ON/OFF patches)
    datasets: tuple[str, ...] = DATASETS
    #: K of each layer on the digit patches, one layer per K
    digit_neurons: tuple[int, ...] = (8, 16, 32, 64)
    #: K of each layer on the natural patches
    natural_neurons: tuple[int, ...] = (32,)
    #: training patches per dataset (each presented once per epoch); a multiple of snapshots
    n_train: int = 4000
    #: test patches, coded with plasticity off
    n_test: int = 500
    #: [steps] T, the Bernoulli steps each patch is presented for
    steps_per_patch: int = 40
    #: simulation time step, one Bernoulli step
    dt_ms: float = 1.0
    # VQ-STDP and competition (plasticity.md §4, package defaults; theta0 per dataset as in
    # the released code). One pass at the released constant rate left the natural layer's
    # prototypes short of the cluster means (exact-winner NMSE 0.82 against k-means' 0.78); in
    # a numpy replica of this layer, more passes did more than more patches (12,000 patches
    # once: 0.80; 4,000 three times: 0.79), and a falling rate settled them: 5 passes with
    # mu_w 0.005 falling linearly to 0 reach k-means (0.78), with a decoder error of 0.77.
    #: VQ-STDP learning rate mu_w (its mean over training with mu_schedule=linear)
    mu_w: float = 0.005
    #: constant (as released) or linear: mu_w falls linearly from 2 mu_w at the first
    #: training patch to 0 at the last, so that a unit settles on the mean of the patches it
    #: wins (online vector quantisation) rather than on its last few
    mu_schedule: str = "linear"
    #: passes over the training patches (each after the first in a new order)
    epochs: int = 5
    #: factor on the depression of the inputs that were not active at a post spike
    ltd_scale: float = 1.0
    #: weight decay lambda_w: a weight converges to P(input active | neuron fires) /
    #: (1 + lambda_w)
    lambda_w: float = 0.0
    #: initial softmax threshold theta of the digit layers, in (1/K, 0.5)
    theta0_digits: float = 0.15
    #: initial softmax threshold theta of the natural layers, in (1/K, 0.5)
    theta0_natural: float = 0.25
    #: threshold adaptation per step: theta += rho_theta (spikes in the step - q)
    rho_theta: float = 5e-5
    #: q, the spikes per step a layer's threshold adaptation aims at
    winners_per_step: float = 1.0
    #: [steps] time constant of the EPSP filter of each neuron's weighted input u, distance
    #: competition: long enough that u ranks neurons by the patch's probabilities, not by
    #: one step's Bernoulli draw (1 step: NMSE 0.45-1.7; 20 steps: 0.16-0.24 on digits)
    tau_epsp_steps: float = 20.0
    #: [steps] the same for the dot competition, as released (a kernel of about one step;
    #: longer ones make it worse: 0.81-0.88 at 10 steps)
    tau_epsp_steps_dot: float = 1.0
    #: the competitions run side by side, each a layer per K: distance (w.x - |w|^2/2, the
    #: default) and dot (w.x, the authors' released code)
    competitions: tuple[str, ...] = COMPETITIONS
    #: start each patch from u = 0 (as after a silent gap of several EPSP time constants), so
    #: no code carries the previous patch
    clear_between_patches: bool = True
    #: layers per K and competition, from weight seeds [seed, K, replica]: one compile,
    #: the same input spikes
    replicas: int = 3
    #: a control block per K: the distance competition from the first weight seed's
    #: starting prototypes, without plasticity, on the same input spikes (what the spike
    #: code and decoder give without learning)
    frozen_control: bool = True
    #: initial weights: kmeans++ (training patches picked by k-means++ seeding, as
    #: scikit-learn's k-means starts: each far from those already picked), patches (drawn
    #: uniformly: at K = 64 several neurons start at the same near-empty patch, split the
    #: softmax between them and never win) or uniform (U(0, 1), as released; a neuron far
    #: from every patch never wins a distance competition)
    initial_weights: str = "kmeans++"
    #: weight snapshots over training, beside the initial weights
    snapshots: int = 10


SCALES = {
    "tiny": Config(
        digit_neurons=(8, 16),
        natural_neurons=(8,),
        n_train=60,
        n_test=20,
        steps_per_patch=10,
        snapshots=3,
        replicas=1,
    ),
    "quick": Config(),
    # as many mu-weighted updates per neuron as the quick scale's (0.005 x 4,000 patches)
    "paper": Config(n_train=15000, n_test=2000, mu_w=0.0015),
}


def check(config: Config) -> None:
    unknown = sorted(set(config.datasets) - set(DATASETS))
    if unknown or not config.datasets:
        raise ModelError(
            f"unknown dataset(s) {', '.join(unknown) or '(none given)'}; choose from "
            f"{', '.join(DATASETS)}, e.g. --config \"datasets=('digits',)\""
        )
    for dataset, field in (("digits", "digit_neurons"), ("natural", "natural_neurons")):
        sizes = getattr(config, field)
        if dataset in config.datasets and (not sizes or min(sizes) < 2):
            raise ModelError(f"{dataset}: each layer needs K >= 2 neurons to compete")
        if (
            dataset in config.datasets
            and config.initial_weights != "uniform"
            and (max(sizes) > config.n_train)
        ):
            raise ModelError(
                f"{dataset}: initial_weights={config.initial_weights} starts each of "
                f"K = {max(sizes)} neurons "
                f"at a different training patch, but n_train = {config.n_train}; raise "
                "n_train or use initial_weights=uniform"
            )
        theta0 = getattr(config, f"theta0_{dataset}")
        for k in sizes:
            # softmax outputs sum to 1: below 1/K a uniform answer fires every neuron, at
            # 0.5 or above at most one neuron can fire (plasticity.md §4)
            if dataset in config.datasets and not 1 / k < theta0 < 0.5:
                raise ModelError(
                    f"theta0_{dataset} = {theta0} is outside (1/K, 0.5) for K = {k}; choose "
                    f"a value in ({1 / k:.3g}, 0.5) or change {field}"
                )
    unknown = sorted(set(config.competitions) - set(COMPETITIONS))
    if unknown or not config.competitions:
        raise ModelError(
            f"unknown competition(s) {', '.join(unknown) or '(none given)'}; choose from "
            f"{', '.join(COMPETITIONS)}, e.g. --config \"competitions=('distance',)\""
        )
    if config.mu_schedule not in MU_SCHEDULES:
        raise ModelError(
            f"unknown mu_schedule {config.mu_schedule!r}; choose {', '.join(MU_SCHEDULES)}"
        )
    if config.epochs < 1:
        raise ModelError(f"epochs must be at least 1; got {config.epochs}")
    if config.initial_weights not in INITIAL_WEIGHTS:
        raise ModelError(
            f"unknown initial_weights {config.initial_weights!r}; choose "
            f"{', '.join(INITIAL_WEIGHTS)}"
        )
    if (
        min(
            config.n_train, config.n_test, config.steps_per_patch, config.snapshots, config.replicas
        )
        < 1
    ):
        raise ModelError(
            "n_train, n_test, steps_per_patch, snapshots and replicas must be positive"
        )
    if config.n_train % config.snapshots:
        raise ModelError(
            f"n_train ({config.n_train}) must be a multiple of snapshots ({config.snapshots})"
        )
    if (
        min(config.dt_ms, config.tau_epsp_steps, config.tau_epsp_steps_dot) <= 0
        or min(config.mu_w, config.rho_theta) < 0
    ):
        raise ModelError(
            "dt_ms, tau_epsp_steps and tau_epsp_steps_dot must be positive, mu_w and rho_theta >= 0"
        )
    if config.ltd_scale < 0 or config.lambda_w <= -1:
        raise ModelError("ltd_scale must be >= 0 and lambda_w > -1")


def load_patches(config: Config, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """(training patches, test patches) as spike probabilities; digit patches of the test
    set come from digits that no training patch comes from."""

    rng = np.random.default_rng(config.seed)
    if dataset == "natural":
        every = patches.natural_patches(config.n_train + config.n_test, config.seed)
        return every[: config.n_train], every[config.n_train :]
    images, _ = events.digits_as_mnist()
    order = rng.permutation(len(images))
    held_out = len(images) // 5
    train = patches.digit_patches(images[order[held_out:]], PATCH_SIZE[dataset])
    test = patches.digit_patches(images[order[:held_out]], PATCH_SIZE[dataset])
    for split, pool, wanted in (("train", train, config.n_train), ("test", test, config.n_test)):
        if wanted > len(pool):
            raise ConfigError(
                f"n_{split}={wanted} asks for more {dataset} {split} patches than the embedded "
                f"digits hold ({len(pool)}, every non-empty {PATCH_SIZE[dataset]}x"
                f"{PATCH_SIZE[dataset]} patch); lower n_{split}"
            )
    return (
        train[rng.choice(len(train), config.n_train, replace=False)],
        test[rng.choice(len(test), config.n_test, replace=False)],
    )


def simulate(config: Config, sim) -> dict:
    net, readers, phases = build_network(config)
    sim.run_phases(net, phases)
    readers["simulation_s"] = sim.run_seconds
    return {key: np.asarray(read() if callable(read) else read) for key, read in readers.items()}


def build_network(config: Config):
    """(network, readers, phases): phase 1 trains, phase 2 (plasticity off) codes the test
    patches."""
    from brian2 import Network, defaultclock, ms, seed

    defaultclock.dt = config.dt_ms * ms
    seed(config.seed)  # the Bernoulli inputs draw rand() every step
    patch_period = config.steps_per_patch * config.dt_ms * ms
    net = Network()
    readers = {}
    plastic, competitions = [], []
    schedule = learning_schedule(config)
    for dataset in config.datasets:
        train, test = load_patches(config, dataset)
        readers[f"{dataset}_train_patches"] = lambda p=train: p.astype(np.float32)
        readers[f"{dataset}_test_patches"] = lambda p=test: p.astype(np.float32)
        order = training_order(config, len(train))
        readers[f"{dataset}_train_order"] = lambda order=order: order
        inputs = bernoulli_input(
            np.concatenate([train[order], test]), patch_period, f"{dataset}_input"
        )
        net.add(inputs)
        theta0 = getattr(config, f"theta0_{dataset}")
        sizes = {"digits": config.digit_neurons, "natural": config.natural_neurons}[dataset]
        for k in sizes:
            # every competition and weight seed of this K is a block of one group (one set
            # of compiled objects); both competitions and the frozen control start from the
            # same weights
            blocks = [
                (c, r, label_of(dataset, k, c, r))
                for c in config.competitions
                for r in range(config.replicas)
            ]
            if config.frozen_control:
                blocks.append(("distance", 0, frozen_label(dataset, k)))
            initial = [_initial_weights(config, train, k, replica) for _, replica, _ in blocks]
            objects = vq_layer(
                config,
                inputs,
                initial,
                [c for c, _, _ in blocks],
                theta0,
                f"{dataset}_{k}",
                learns=[label != frozen_label(dataset, k) for _, _, label in blocks],
                schedule=schedule,
            )
            net.add(*objects.values())
            plastic.append(objects["synapses"])
            competitions.append(objects["competition"])
            for b, (_, _, label) in enumerate(blocks):
                readers.update(_block_readers(config, objects, label, b, initial[b]))

    def freeze():
        for synapses in plastic:
            synapses.mu_w = 0
        for competition in competitions:
            competition.rho_theta = 0

    phases = [
        (config.epochs * config.n_train * patch_period, None),
        (config.n_test * patch_period, freeze),
    ]
    return net, readers, phases


def training_order(config: Config, n_train: int) -> np.ndarray:
    """Which training patch each training slot presents: all of them in order, then each
    further epoch in an order of its own (seeded by the run's seed and the epoch)."""
    orders = [np.arange(n_train)] + [
        np.random.default_rng([config.seed, epoch]).permutation(n_train)
        for epoch in range(1, config.epochs)
    ]
    return np.concatenate(orders)


def learning_schedule(config: Config):
    """mu_w's factor per presented patch (a TimedArray of one value per patch, 0 on the test
    patches), or None for a constant mu_w."""
    from brian2 import TimedArray, ms

    if config.mu_schedule == "constant":
        return None
    presented = config.epochs * config.n_train
    factor = 2 * (1 - (np.arange(presented) + 0.5) / presented)
    return TimedArray(
        np.concatenate([factor, np.zeros(config.n_test)]),
        dt=config.steps_per_patch * config.dt_ms * ms,
        name="learning_schedule",
    )


def _initial_weights(config: Config, train: np.ndarray, k: int, replica: int) -> np.ndarray:
    """Inputs x K initial weights of one weight seed."""
    rng = np.random.default_rng([config.seed, k, train.shape[1], replica])
    if config.initial_weights == "kmeans++":
        from sklearn.cluster import kmeans_plusplus

        centres, _ = kmeans_plusplus(train, k, random_state=int(rng.integers(2**31)))
        return centres.T.copy()
    if config.initial_weights == "patches":
        return train[rng.choice(len(train), k, replace=False)].T.copy()
    return rng.uniform(0, 1, (train.shape[1], k))


def _block_readers(config: Config, objects: dict, label: str, block: int, initial) -> dict:
    """Readers of block ``block`` (neurons block*K ... block*K + K - 1) of a layer."""
    from brian2 import ms

    n_inputs, k = initial.shape
    first = block * k
    total = len(objects["layer"])

    def spikes():
        """(neuron within the block, time in ms) of the block's spikes."""
        neuron, t = np.asarray(objects["spikes"].i), np.asarray(objects["spikes"].t / ms)
        mine = (neuron >= first) & (neuron < first + k)
        return neuron[mine] - first, t[mine]

    return {
        f"{label}_initial": lambda: initial.astype(np.float32),
        f"{label}_spike_i": lambda: spikes()[0],
        f"{label}_spike_step": lambda: np.round(spikes()[1] / config.dt_ms).astype(np.int64),
        # synapses are input-major (see connect): [snapshot, input, neuron of the layer]
        f"{label}_snapshots": lambda: (
            np.asarray(objects["snapshots"].w)
            .T.reshape(-1, n_inputs, total)[:, :, first : first + k]
            .astype(np.float32)
        ),
        f"{label}_theta": lambda: np.asarray(objects["theta"].theta[block]),
    }


def bernoulli_input(probabilities: np.ndarray, patch_period, name: str):
    """Inputs that spike at each step with their patch's probability, one patch per
    ``patch_period``; ``active`` flags the inputs that spiked in the previous step (the
    window of VQ-STDP for a layer that answers one step later)."""
    from brian2 import defaultclock

    group = bernoulli_inputs(
        probabilities,
        name,
        period=patch_period,
        model="spiked : 1  # spiked in this step\nactive : 1  # spiked in the previous step",
        reset="spiked = 1",
    )
    group.run_regularly(
        "active = spiked\nspiked = 0", dt=defaultclock.dt, when="start", name=f"{name}_window"
    )
    return group


def vq_layer(
    config: Config,
    inputs,
    initial: list,
    competitions: list,
    theta0: float,
    name: str,
    learns: list | None = None,
    schedule=None,
) -> dict:
    """Blocks of K neurons with softmax competition on ``inputs``, one block per entry of
    ``initial`` (inputs x K weights) and ``competitions``: neuron j of a block fires when
    exp(s_j) / sum over its block of exp(s_k) >= theta, with s = u (``dot``) or
    u - m |w|^2/2 (``distance``), u the EPSP-filtered weighted input and m the same filter
    applied to a constant 1 (E[u] = m w.p for input probabilities p, so the offset ranks
    neurons by their distance to p, also while u builds up); theta (one per block) moves by
    rho_theta (spikes in the step - q) every step. With ``config.clear_between_patches``,
    u and m start from 0 at each patch. A block whose entry in ``learns`` is False keeps its
    weights (mu_w = 0). ``schedule`` (``learning_schedule``) scales mu_w over training."""
    from brian2 import NeuronGroup, SpikeMonitor, StateMonitor, Synapses, defaultclock, linked_var

    k = initial[0].shape[1]
    n_blocks = len(initial)
    block_of = np.repeat(np.arange(n_blocks), k)
    layer = NeuronGroup(
        n_blocks * k,
        """
        u : 1  # EPSP-filtered weighted input
        half_norm : 1  # |w|^2/2 of the afferent weights
        kernel_mass : 1  # the EPSP filter applied to a constant 1
        epsp_decay : 1 (constant)  # per step
        distance : 1 (constant)  # 1: distance competition; 0: dot
        theta : 1 (linked)
        normaliser : 1 (linked)
        """,
        threshold="exp(u - distance*kernel_mass*half_norm)/normaliser >= theta",
        reset="",  # no membrane to reset: the softmax is evaluated afresh every step
        name=name,
    )
    layer.distance = np.repeat([float(c == "distance") for c in competitions], k)
    tau = [
        config.tau_epsp_steps if c == "distance" else config.tau_epsp_steps_dot
        for c in competitions
    ]
    layer.epsp_decay = np.repeat(np.exp(-1 / np.asarray(tau)), k)
    # The kernel's decay comes after the threshold, so an input's first step counts fully.
    layer.run_regularly(
        "kernel_mass = (kernel_mass + 1)*epsp_decay\nu = u*epsp_decay",
        dt=defaultclock.dt,
        when="end",
        name=f"{name}_epsp_decay",
    )
    if config.clear_between_patches:
        layer.run_regularly(
            "kernel_mass = 0\nu = 0",
            dt=config.steps_per_patch * defaultclock.dt,
            when="start",
            name=f"{name}_patch_onset",
        )
    competition = NeuronGroup(
        n_blocks,
        """
        normaliser : 1  # sum over the block of exp(score)
        theta : 1  # the softmax level a neuron must reach
        spikes_in_step : 1
        rho_theta : 1 (shared, constant)
        q : 1 (shared, constant)
        """,
        name=f"{name}_competition",
    )
    competition.theta = theta0
    competition.rho_theta = config.rho_theta
    competition.q = config.winners_per_step
    competition.run_regularly(
        "theta += rho_theta*(spikes_in_step - q)\nspikes_in_step = 0",
        dt=defaultclock.dt,
        when="end",
        name=f"{name}_threshold_adaptation",
    )
    to_competition = Synapses(
        layer,
        competition,
        "normaliser_post = exp(u_pre - distance_pre*kernel_mass_pre*half_norm_pre) : 1 (summed)",
        on_pre="spikes_in_step_post += 1",
        name=f"{name}_softmax",
    )
    to_competition.connect(i=np.arange(n_blocks * k), j=block_of)
    layer.theta = linked_var(competition, "theta", index=block_of)
    layer.normaliser = linked_var(competition, "normaliser", index=block_of)
    rule = vq_stdp(mu_w=config.mu_w, ltd_scale=config.ltd_scale, lambda_w=config.lambda_w)
    patch_period = config.steps_per_patch * defaultclock.dt
    update, namespace = rule.on_post, {}
    if schedule is not None:  # mu_w at a spike is mu_w times the schedule's factor then
        update = re.sub(r"\bmu_w\b", "mu_w*learning_schedule(t)", update)
        namespace = {"learning_schedule": schedule}
    synapses = Synapses(
        inputs,
        layer,
        rule.brian_equations(per_neuron=("mu_w",)),  # 0 in a block that does not learn
        on_pre="u_post += w",
        # the offset follows every weight change, so no per-step sum over the synapses
        on_post=f"w_old = w\n{update}\nhalf_norm_post += (w*w - w_old*w_old)/2",
        namespace=namespace,
        name=f"{name}_afferents",
    )
    n_inputs, total = len(inputs), n_blocks * k
    # input-major, spelled out so that standalone can check the recorded synapse indices
    synapses.connect(i=np.repeat(np.arange(n_inputs), total), j=np.tile(np.arange(total), n_inputs))
    weights = np.hstack(initial)
    synapses.w = weights.ravel()
    layer.half_norm = (weights**2).sum(axis=0) / 2
    for key, value in rule.params.items():
        setattr(synapses, key, value)
    learns = np.repeat(np.ones(n_blocks, bool) if learns is None else learns, k)
    synapses.mu_w = np.tile(np.where(learns, config.mu_w, 0.0), n_inputs)  # input-major
    snapshot_every = config.epochs * config.n_train // config.snapshots * patch_period
    return {
        "layer": layer,
        "competition": competition,
        "softmax": to_competition,
        "synapses": synapses,
        "spikes": SpikeMonitor(layer, name=f"{name}_spikes"),
        "snapshots": StateMonitor(
            synapses,
            "w",
            record=np.arange(weights.size),
            dt=snapshot_every,
            name=f"{name}_snapshots",
        ),
        "theta": StateMonitor(
            competition,
            "theta",
            record=True,
            dt=patch_period,
            name=f"{name}_theta",
        ),
    }
