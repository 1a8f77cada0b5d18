"""Sparse features from image patches with VQ-STDP (Tavanaei, Masquelier & Maida 2018).

Tavanaei et al. (2018), Neural Networks 105:294, doi:10.1016/j.neunet.2018.05.018, train one
layer of spiking neurons with softmax competition, an adaptive global threshold and VQ-STDP
on Bernoulli-coded image patches, and report sparse, independent features with a low
reconstruction loss. The rule, competition and threshold are reconstructed from the authors'
released code (science notes, plasticity.md §4); the protocol from features.md §2.

One compile holds every layer: K = 8-64 neurons on 5x5 digit patches and K neurons on 16x16
natural ON/OFF patches, each layer on its own Bernoulli input. Phase 1 trains on the training
patches (T steps each); phase 2, with plasticity and threshold adaptation off, presents
held-out patches and records the codes. Reconstruction, sparsity and the k-means and PCA
baselines are computed in ``analysis.vq_features``.

Brian2's schedule evaluates thresholds before synaptic propagation, so the layer answers one
step after its input: the EPSP of an input spike at step t enters the softmax at step t + 1
with weight 1 (the kernel's first term), and the rule's window ("input active") is that step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.vq_features import evaluate  # noqa: F401  (this experiment's metrics)
from experiments.configs import ConfigError
from models.base import ModelError
from models.plasticity import vq_stdp

NAME = "vq_features"
DATASETS = ("digits", "natural")
PATCH_SIZE = {"digits": 5, "natural": 16}


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
    #: training patches per dataset, one pass; a multiple of snapshots
    n_train: int = 4000
    #: test patches, coded with plasticity off
    n_test: int = 500
    #: [steps] T, the Bernoulli steps each patch is presented for
    steps_per_patch: int = 40
    #: simulation time step, one Bernoulli step
    dt_ms: float = 1.0
    # VQ-STDP and competition (plasticity.md §4, package defaults; theta0 per dataset as in
    # the released code). The quick scale sees 4,000 patches, not 10,000+, so its rate is
    # raised to 0.002 (about the same number of mu-weighted updates per neuron).
    #: VQ-STDP learning rate mu_w
    mu_w: float = 0.002
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
    #: [steps] time constant of the EPSP filter of each neuron's weighted input u
    tau_epsp_steps: float = 1.0
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
    ),
    "quick": Config(),
    "paper": Config(n_train=15000, n_test=2000, mu_w=0.0005),
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
        theta0 = getattr(config, f"theta0_{dataset}")
        for k in sizes:
            # softmax outputs sum to 1: below 1/K a uniform answer fires every neuron, at
            # 0.5 or above at most one neuron can fire (plasticity.md §4)
            if dataset in config.datasets and not 1 / k < theta0 < 0.5:
                raise ModelError(
                    f"theta0_{dataset} = {theta0} is outside (1/K, 0.5) for K = {k}; choose "
                    f"a value in ({1 / k:.3g}, 0.5) or change {field}"
                )
    if min(config.n_train, config.n_test, config.steps_per_patch, config.snapshots) < 1:
        raise ModelError("n_train, n_test, steps_per_patch and snapshots must be positive")
    if config.n_train % config.snapshots:
        raise ModelError(
            f"n_train ({config.n_train}) must be a multiple of snapshots ({config.snapshots})"
        )
    if config.dt_ms <= 0 or config.tau_epsp_steps <= 0 or config.mu_w < 0 or config.rho_theta < 0:
        raise ModelError("dt_ms and tau_epsp_steps must be positive, mu_w and rho_theta >= 0")
    if config.ltd_scale < 0 or config.lambda_w <= -1:
        raise ModelError("ltd_scale must be >= 0 and lambda_w > -1")


def load_patches(config: Config, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """(training patches, test patches) as spike probabilities; digit patches of the test
    set come from digits that no training patch comes from."""
    from experiments import events, patches

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


def layers_of(config: Config) -> list[tuple[str, int]]:
    """(dataset, K) of every layer, in build order."""
    sizes = {"digits": config.digit_neurons, "natural": config.natural_neurons}
    return [(dataset, k) for dataset in config.datasets for k in sizes[dataset]]


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
    for dataset in config.datasets:
        train, test = load_patches(config, dataset)
        readers[f"{dataset}_train_patches"] = lambda p=train: p.astype(np.float32)
        readers[f"{dataset}_test_patches"] = lambda p=test: p.astype(np.float32)
        inputs = bernoulli_input(np.concatenate([train, test]), patch_period, f"{dataset}_input")
        net.add(inputs)
        theta0 = getattr(config, f"theta0_{dataset}")
        for k in [size for name, size in layers_of(config) if name == dataset]:
            label = f"{dataset}_{k}"
            rng = np.random.default_rng([config.seed, k, len(dataset)])
            initial = rng.uniform(0, 1, (train.shape[1], k))
            objects = vq_layer(config, inputs, initial, theta0, label)
            net.add(*objects.values())
            plastic.append(objects["synapses"])
            competitions.append(objects["competition"])
            readers[f"{label}_initial"] = lambda w=initial: w.astype(np.float32)
            readers[f"{label}_spike_i"] = lambda m=objects["spikes"]: np.asarray(m.i)
            readers[f"{label}_spike_step"] = lambda m=objects["spikes"]: np.round(
                np.asarray(m.t / ms) / config.dt_ms
            ).astype(np.int64)
            readers[f"{label}_snapshots"] = lambda m=objects["snapshots"], shape=initial.shape: (
                np.asarray(m.w).T.reshape(-1, *shape).astype(np.float32)
            )
            readers[f"{label}_theta"] = lambda m=objects["theta"]: np.asarray(m.theta[0])

    def freeze():
        for synapses in plastic:
            synapses.mu_w = 0
        for competition in competitions:
            competition.rho_theta = 0

    phases = [
        (config.n_train * patch_period, None),
        (config.n_test * patch_period, freeze),
    ]
    return net, readers, phases


def bernoulli_input(probabilities: np.ndarray, patch_period, name: str):
    """Inputs that spike at each step with their patch's probability, one patch per
    ``patch_period``; ``active`` flags the inputs that spiked in the previous step (the
    window of VQ-STDP for a layer that answers one step later)."""
    from brian2 import NeuronGroup, TimedArray, defaultclock

    patch_probability = TimedArray(probabilities, dt=patch_period)
    group = NeuronGroup(
        probabilities.shape[1],
        """
        spiked : 1  # spiked in this step
        active : 1  # spiked in the previous step
        """,
        threshold="rand() < patch_probability(t, i)",
        reset="spiked = 1",
        namespace={"patch_probability": patch_probability},
        name=name,
    )
    group.run_regularly(
        "active = spiked\nspiked = 0", dt=defaultclock.dt, when="start", name=f"{name}_window"
    )
    return group


def vq_layer(config: Config, inputs, initial: np.ndarray, theta0: float, name: str) -> dict:
    """K = ``initial.shape[1]`` neurons with softmax competition on ``inputs``: neuron j fires
    when exp(u_j) / sum_k exp(u_k) >= theta, u the EPSP-filtered weighted input; theta (one
    per layer) moves by rho_theta (spikes in the step - q) every step."""
    from brian2 import NeuronGroup, SpikeMonitor, StateMonitor, Synapses, defaultclock, linked_var

    k = initial.shape[1]
    layer = NeuronGroup(
        k,
        """
        u : 1  # EPSP-filtered weighted input
        theta : 1 (linked)
        normaliser : 1 (linked)
        """,
        threshold="exp(u)/normaliser >= theta",
        reset="",  # no membrane to reset: the softmax is evaluated afresh every step
        name=name,
    )
    # The kernel's decay comes after the threshold, so an input's first step counts fully.
    epsp_decay = float(np.exp(-1 / config.tau_epsp_steps))
    layer.run_regularly(f"u = u*{epsp_decay!r}", dt=defaultclock.dt, when="end",
                        name=f"{name}_epsp_decay")  # fmt: skip
    competition = NeuronGroup(
        1,
        """
        normaliser : 1  # sum over the layer of exp(u)
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
        "normaliser_post = exp(u_pre) : 1 (summed)",
        on_pre="spikes_in_step_post += 1",
        name=f"{name}_softmax",
    )
    to_competition.connect()
    layer.theta = linked_var(competition, "theta", index=np.zeros(k, dtype=int))
    layer.normaliser = linked_var(competition, "normaliser", index=np.zeros(k, dtype=int))
    rule = vq_stdp(mu_w=config.mu_w, ltd_scale=config.ltd_scale, lambda_w=config.lambda_w)
    synapses = Synapses(
        inputs,
        layer,
        rule.brian_equations(),
        on_pre="u_post += w",
        on_post=rule.on_post,
        name=f"{name}_afferents",
    )
    synapses.connect()
    synapses.w = initial.ravel()  # connect() orders synapses input-major
    for key, value in rule.params.items():
        setattr(synapses, key, value)
    patch_steps = config.steps_per_patch
    snapshot_every = config.n_train // config.snapshots * patch_steps * defaultclock.dt
    return {
        "layer": layer,
        "competition": competition,
        "softmax": to_competition,
        "synapses": synapses,
        "spikes": SpikeMonitor(layer, name=f"{name}_spikes"),
        # standalone needs the recorded synapse indices spelled out
        "snapshots": StateMonitor(
            synapses,
            "w",
            record=np.arange(initial.size),
            dt=snapshot_every,
            name=f"{name}_snapshots",
        ),
        "theta": StateMonitor(
            competition, "theta", record=0, dt=patch_steps * defaultclock.dt, name=f"{name}_theta"
        ),
    }
