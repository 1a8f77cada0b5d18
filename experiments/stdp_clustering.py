"""STDP clustering versus k-means, then a pseudo-label loop (Lu & Sengupta, Deep-STDP).

Lu & Sengupta (2024), "Deep unsupervised learning using spike-timing-dependent plasticity",
Neuromorph. Comput. Eng. 4:024004, doi:10.1088/2634-4386/ad3a95 (arXiv 2307.04054), train a
network on pseudo-labels from an STDP clustering of its own features, against the same loop
with k-means (DeepCluster). No code was published; this is the science notes' small version
(features.md §3) without torch:

D1. The 64-d digits of scikit-learn, Poisson-encoded (rate = feature/16 x ``max_rate_hz``),
    one sample per period, drive competitive STDP layers of every K in ``cluster_sizes`` in one
    network (Diehl & Cook-like: winner-take-all, adaptive threshold, L1-normalised weights).
    A learning pass, then a labelling pass with plasticity and threshold adaptation off; the
    pseudo-label is the neuron with most spikes (ties: earliest first spike; silent: -1).
    k-means (scikit-learn) clusters the same features.
Loop. A numpy network (body 64 -> 64 ReLU, head 64 -> K) is trained per epoch on the pseudo-
    labels of its body's features, one arm clustered by the STDP layer, one by k-means; both
    arms start from the same body. The body's width equals the digits' so that one compiled
    network serves D1 and every epoch: each epoch re-runs it with new input rates (and the
    previous epoch's weights) without recompiling.

Parameters follow the tuning rules of ``analysis.event_features`` (R2-R3 with the corrections
C1-C2 of features.md, which replace R1 and R4) evaluated on each run's own input rates, with
the losers' input silenced (C4) and the thresholds re-referenced in the labelling pass (C3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.stdp_clustering import SILENT, pseudo_labels, sample_spikes
from experiments.networks.build import resolve_neuron
from experiments.networks.competition import (
    check_layer_options,
    competitive_layer,
    freeze,
    neuron_scales,
)
from experiments.networks.inputs import bernoulli_hazards, bernoulli_inputs
from experiments.networks.tuning import calibrated_gain, tuning_rules
from models.base import ModelError

NAME = "stdp_clustering"
DATASETS = ("digits",)
ARMS = ("stdp", "kmeans")
N_FEATURES = 64  # 8 x 8 digits; also the body's width (see the module docstring)
DIGIT_MAX = 16.0  # scikit-learn's digits take values 0..16
#: The tuning rules' values saved with the results, per layer and run.
RULE_NAMES = (
    "A_minus",
    "A_plus",
    "effective_step",
    "gain_A",
    "gain_headroom",
    "input_rate_hz",
    "tau_plus_s",
    "tau_theta_s",
    "theta_plus_V",
    "threshold_distance_V",
    "wins_in_pass",
)


@dataclass(frozen=True)
class Config:
    #: seed of the digits' shuffle, the initial weights, the Poisson inputs, k-means and
    #: the loop
    seed: int = 0
    #: digits (scikit-learn's 8x8 digits, the only dataset)
    dataset: str = "digits"
    #: the first n of a seeded shuffle of the 1797 digits
    n_samples: int = 1797
    #: K of each STDP layer, all in one network
    cluster_sizes: tuple[int, ...] = (10, 30)
    #: replicas of every K's layer from other initial weights, on the same Poisson input
    #: (blocks of the same network); the targets judge the mean over the layer and these
    replicas: int = 2
    #: beside every K's layer, the ideal prototype layer: k-means' K centroids of the samples
    #: as frozen weights, with the same rules, input spikes and readout (what the spike code
    #: allows a layer that learned perfect prototypes)
    oracle_control: bool = True
    #: neuron model of the layers: lif, stdp_lif or izhikevich, or a record in Python
    neuron: str = "lif"
    #: (model, parameter, 'equation' or 'initial.VARIABLE', value) changes to the neuron, as
    #: --set makes them
    overrides: tuple = ()
    #: Poisson rate of a full pixel (16). Diehl & Cook's 63.75 Hz gives about 180 input
    #: spikes per sample: too few to tell 30 prototypes apart (K = 30 with k-means'
    #: centroids as frozen weights reached majority ACC 0.77 at 64 Hz, 0.84 at 256 Hz; row C6)
    max_rate_hz: float = 256.0
    #: presentation time of each sample, in whole ms
    sample_ms: int = 150
    #: silence between samples, in whole ms
    rest_ms: int = 50
    #: simulation time step
    dt_ms: float = 1.0
    #: L1 norm of each neuron's afferent weights: a quarter of the 64 inputs at w_max
    w_sum: float = 16.0
    #: upper bound of each afferent weight
    w_max: float = 1.0
    # tuning rules (features.md §1 and its corrections, as in event_features)
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
    #: C2: adaptive threshold while learning: a neuron winning its share settles at this
    #: multiple of the distance to firing; 0 is off
    theta_set_point: float = 0.25
    #: C4: what a winner's spike does to the others: v (reset v), v_and_input (reset v and
    #: clear the synaptic current) or v_and_input_in_training (clear it while training only:
    #: the readout pass keeps the losers' input, a graded code instead of a one-hot one)
    inhibition: str = "v_and_input_in_training"
    #: C3: thresholds in the labelling pass: keep, rereference (minus the layer's lowest) or
    #: clear
    test_theta: str = "clear"
    #: R3's empirical gain: the calibration sample at this quantile just reaches threshold
    #: with the initial weights (0.03: 97 in 100 can make a neuron fire before learning; at
    #: 0.1 a few samples stayed silent in the labelling pass)
    gain_quantile: float = 0.03
    #: samples (Poisson-drawn, those with input) the gain is calibrated on
    calibration_samples: int = 200
    # pseudo-label loop
    #: epochs of the pseudo-label loop; 0 runs D1 only
    loop_epochs: int = 5
    #: K of the loop: its STDP layer (one of cluster_sizes) and k-means' K
    loop_clusters: int = 10
    #: arms of the loop: stdp and/or kmeans
    loop_arms: tuple[str, ...] = ARMS
    #: SGD learning rate of the loop's numpy network
    learning_rate: float = 0.05
    #: SGD minibatch size of the loop
    batch_size: int = 32
    #: fraction of the samples (the first of the shuffle) that trains the linear probe; the
    #: rest tests it
    probe_fraction: float = 0.5


SCALES = {
    "tiny": Config(n_samples=60, sample_ms=100, rest_ms=50, loop_epochs=2),
    "quick": Config(),
    "paper": Config(cluster_sizes=(10, 30, 100), loop_epochs=15),
}


def check(config: Config) -> None:
    if config.dataset not in DATASETS:
        raise ModelError(f"unknown dataset {config.dataset!r}; choose one of {', '.join(DATASETS)}")
    neuron_scales(resolve_neuron(config.neuron, config.overrides))
    if not config.cluster_sizes or min(config.cluster_sizes) < 2:
        raise ModelError("cluster_sizes needs at least one K, and every K must be at least 2")
    if len(set(config.cluster_sizes)) != len(config.cluster_sizes):
        raise ModelError("cluster_sizes must not repeat a K (each K is one layer)")
    if not max(config.cluster_sizes) <= config.n_samples <= 1797:
        raise ModelError(
            "n_samples must be between the largest K and 1797 (the size of the digits)"
        )
    check_layer_options(config)
    if config.replicas < 0:
        raise ModelError(f"replicas must be 0 or more; got {config.replicas}")
    if config.loop_clusters < 2:
        raise ModelError("loop_clusters must be at least 2")
    for name in ("sample_ms", "rest_ms", "loop_epochs", "batch_size"):
        if not isinstance(getattr(config, name), int):
            raise ModelError(f"{name} must be a whole number")
    if config.sample_ms <= 0 or config.rest_ms < 0 or config.dt_ms <= 0:
        raise ModelError("sample_ms and dt_ms must be positive and rest_ms not negative")
    if min(config.max_rate_hz, config.w_sum, config.learning_rate) <= 0 or config.batch_size < 1:
        raise ModelError("max_rate_hz, w_sum, learning_rate and batch_size must be positive")
    if config.loop_epochs < 0:
        raise ModelError("loop_epochs must not be negative (0 runs D1 only)")
    unknown = [arm for arm in config.loop_arms if arm not in ARMS]
    if unknown or not config.loop_arms:
        raise ModelError(f"unknown loop arm {unknown}; choose among {', '.join(ARMS)}")
    if config.loop_epochs and "stdp" in config.loop_arms:
        if config.loop_clusters not in config.cluster_sizes:
            raise ModelError(
                f"loop_clusters = {config.loop_clusters} has no STDP layer; add it to cluster_sizes"
            )
    if not 0 < config.gain_quantile < 1 or config.calibration_samples < 1:
        raise ModelError("gain_quantile must lie in (0, 1) and calibration_samples be positive")
    if not 0 < config.probe_fraction < 1:
        raise ModelError("probe_fraction must lie strictly between 0 and 1")


def load_digits_shuffled(config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features 0..16 of the chosen samples, all 1797 labels, the chosen indices)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng([config.seed, 0]).permutation(len(digits.target))
    order = order[: config.n_samples]
    return digits.data[order].astype(float), digits.target, order


# -- the numpy network of the loop ------------------------------------------------------------


def init_body(rng, n_in: int, n_hidden: int) -> dict:
    """He-initialised linear + ReLU layer."""
    return {
        "body_w": rng.normal(0, math.sqrt(2 / n_in), (n_in, n_hidden)),
        "body_b": np.zeros(n_hidden),
    }


def init_head(rng, n_hidden: int, n_classes: int) -> dict:
    return {
        "head_w": rng.normal(0, math.sqrt(1 / n_hidden), (n_hidden, n_classes)),
        "head_b": np.zeros(n_classes),
    }


def body_features(params: dict, x: np.ndarray) -> np.ndarray:
    return np.maximum(x @ params["body_w"] + params["body_b"], 0)


def loss_and_gradients(params: dict, x: np.ndarray, labels: np.ndarray) -> tuple[float, dict]:
    """Mean cross-entropy of softmax(head(body(x))) against ``labels`` and its gradients."""
    pre = x @ params["body_w"] + params["body_b"]
    hidden = np.maximum(pre, 0)
    logits = hidden @ params["head_w"] + params["head_b"]
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    n = len(labels)
    loss = -float(log_p[np.arange(n), labels].mean())
    d_logits = np.exp(log_p)
    d_logits[np.arange(n), labels] -= 1
    d_logits /= n
    d_hidden = (d_logits @ params["head_w"].T) * (pre > 0)
    return loss, {
        "head_w": hidden.T @ d_logits,
        "head_b": d_logits.sum(axis=0),
        "body_w": x.T @ d_hidden,
        "body_b": d_hidden.sum(axis=0),
    }


def train_epoch(params, x, pseudo, rng, *, learning_rate: float, batch_size: int) -> float:
    """One epoch of SGD on the pseudo-labels (silent samples left out), sampling a pseudo-label
    uniformly and then one of its samples (DeepCluster's remedy for unequal clusters); updates
    ``params`` in place and returns the mean loss."""
    assigned = np.flatnonzero(pseudo != SILENT)
    if assigned.size == 0:  # an all-silent clustering gives nothing to learn from
        return float("nan")
    clusters = np.unique(pseudo[assigned])
    members = [assigned[pseudo[assigned] == c] for c in clusters]
    losses = []
    for _ in range(max(len(assigned) // batch_size, 1)):
        chosen = rng.integers(len(clusters), size=batch_size)
        batch = np.array([members[c][rng.integers(len(members[c]))] for c in chosen])
        loss, gradients = loss_and_gradients(params, x[batch], pseudo[batch])
        for key, gradient in gradients.items():
            params[key] -= learning_rate * gradient
        losses.append(loss)
    return float(np.mean(losses))


# -- the STDP network --------------------------------------------------------------------------


def stimulus_table(config: Config, rates_hz: np.ndarray) -> np.ndarray:
    """Input spike probabilities per step (rows of ``slot`` ms, inputs) for the learning then
    the labelling pass: each sample's rates x dt for sample_ms, then zeros for rest_ms."""
    slot = math.gcd(config.sample_ms, config.rest_ms)
    on, off = config.sample_ms // slot, config.rest_ms // slot
    silence = np.zeros((len(rates_hz), off, rates_hz.shape[1]))
    period = np.concatenate([np.repeat(rates_hz[:, None], on, axis=1), silence], axis=1)
    one_pass = period.reshape(-1, rates_hz.shape[1]) * config.dt_ms * 1e-3
    return np.concatenate([one_pass, one_pass])


def poisson_events(rates_hz: np.ndarray, steps: int, dt_s: float, rng) -> list:
    """One Poisson draw per sample of ``steps`` steps: [(input indices, step indices)]."""
    events = []
    for rates in rates_hz:
        step, neuron = np.nonzero(rng.random((steps, rates.size)) < rates * dt_s)
        events.append((neuron, step))
    return events


def layer_rules(config: Config, rates_hz: np.ndarray, weights: np.ndarray, model) -> dict:
    """The tuning rules on the mean rate of each input over the samples, with R3's gain in
    its empirical form for the layer's initial ``weights`` (inputs x neurons)."""
    scales = {key: float(value) for key, value in neuron_scales(model).items()}
    rules = tuning_rules(
        rates_hz.mean(axis=0),
        n_neurons=weights.shape[1],
        n_samples=len(rates_hz),
        w_sum=config.w_sum,
        spikes_per_sample=config.spikes_per_sample,
        rho=config.rho,
        ltd_ratio=config.ltd_ratio,
        learning_wins=config.learning_wins,
        theta_set_point=config.theta_set_point,
        period_s=(config.sample_ms + config.rest_ms) * 1e-3,
        **scales,
    )
    rules["threshold_distance_V"] = scales["threshold_distance"]
    dt_s = config.dt_ms * 1e-3
    steps = round(config.sample_ms / config.dt_ms)
    # a sample without input cannot reach threshold at any gain: calibrate on the others
    with_input = rates_hz[rates_hz.sum(axis=1) > 0]
    if len(with_input) == 0:
        raise ModelError("every sample has zero input rates: nothing to calibrate the gain on")
    calibration = with_input[: config.calibration_samples]
    rng = np.random.default_rng([config.seed, 4])  # the same draws for every layer and run
    try:
        rules["gain_A"] = calibrated_gain(
            poisson_events(calibration, steps, dt_s, rng),
            weights,
            resistance=scales["resistance"],
            tau_syn=scales["tau_syn"],
            tau_m=scales["tau_m"],
            threshold_distance=rules["gain_headroom"] * scales["threshold_distance"],
            dt=dt_s,
            steps=steps,
            quantile=config.gain_quantile,
        )
    except ZeroDivisionError:  # no depolarisation at all: no gain can reach threshold
        raise ModelError(
            f"the calibration samples drew no input spike in sample_ms={config.sample_ms} at "
            f"max_rate_hz={config.max_rate_hz}, so no gain reaches threshold; raise either"
        ) from None
    return rules


class ClusteringNetwork:
    """The STDP layers of every K on one Poisson input; built once, run once per input."""

    def __init__(self, config: Config, rates_hz: np.ndarray, sim):
        from brian2 import Network, defaultclock, ms, seed

        defaultclock.dt = config.dt_ms * ms
        seed(config.seed)  # the Poisson draws (standalone: every run of the binary)
        self.config, self.sim = config, sim
        self.model = resolve_neuron(config.neuron, config.overrides)
        self.period_ms = config.sample_ms + config.rest_ms
        self.n_samples = len(rates_hz)
        inputs = bernoulli_inputs(
            stimulus_table(config, rates_hz),
            "inputs",
            period=math.gcd(config.sample_ms, config.rest_ms) * ms,
        )
        self.stimulus = inputs.hazards
        self.net = Network(inputs)
        self.layers, self.rules, self.initial, self.replicas, self.oracles = {}, {}, {}, {}, {}
        for k in config.cluster_sizes:
            initial = initial_weights(config, k)
            self.rules[k] = layer_rules(config, rates_hz, initial, self.model)
            self.initial[k] = initial
            objects = self._block(self.rules[k], inputs, initial, True, f"layer_k{k}")
            self.net.add(objects)
            self.layers[k] = objects
            if config.replicas:
                self.replicas[k] = self._replicas(k, rates_hz, inputs)
                self.net.add(self.replicas[k])
            if config.oracle_control:
                self.oracles[k] = self._oracle(k, rates_hz, inputs)
                self.net.add(self.oracles[k])

        def freeze_all():
            blocks = [*self.layers.values(), *self.replicas.values(), *self.oracles.values()]
            for layer, synapses, *_ in blocks:
                freeze(layer, synapses, config.test_theta)

        one_pass = self.n_samples * self.period_ms * ms
        self.phases = [(one_pass, None), (one_pass, freeze_all)]
        self.simulation_s = []

    def _replicas(self, k: int, rates_hz: np.ndarray, inputs):
        """The K layer again from the initial weights of replicas 1, 2, ..., one block each,
        with the rules derived for each (R3's gain depends on the weights)."""

        weights = np.stack(
            [initial_weights(self.config, k, r + 1) for r in range(self.config.replicas)]
        )
        rules = [layer_rules(self.config, rates_hz, matrix, self.model) for matrix in weights]
        return self._block(
            {key: [each[key] for each in rules] for key in rules[0]},
            inputs,
            weights,
            True,
            f"layer_k{k}_replicas",
            blocks=self.config.replicas,
        )

    def _oracle(self, k: int, rates_hz: np.ndarray, inputs):
        """The K layer with k-means' centroids of the samples as frozen weights."""
        weights = oracle_weights(self.config, rates_hz, k)
        rules = layer_rules(self.config, rates_hz, weights, self.model)
        return self._block(rules, inputs, weights, False, f"layer_k{k}_oracle")

    def _block(self, rules, inputs, weights, plastic: bool, name: str, blocks: int = 1):
        """A competitive layer of the config's neuron, weight bounds and inhibition."""
        from brian2 import ms

        return competitive_layer(
            self.model,
            rules,
            inputs,
            weights,
            period=self.period_ms * ms,
            w_sum=self.config.w_sum,
            w_max=self.config.w_max,
            plastic=plastic,
            name=name,
            blocks=blocks,
            inhibition=self.config.inhibition,
        )

    def run(self, rates_hz: np.ndarray | None = None, warm_start: bool = False) -> dict:
        """Learning then labelling pass; the first call compiles (standalone) and runs with the
        rates given at construction, later calls re-run with ``rates_hz`` and re-derived rules,
        and, if ``warm_start``, the previous run's weights. {K: (counts, first spike ms)}."""
        from brian2 import amp, volt

        if rates_hz is None:
            self.sim.run_phases(self.net, self.phases, rerunnable=True)
        else:
            values = {self.stimulus: bernoulli_hazards(stimulus_table(self.config, rates_hz))}
            for k, (layer, synapses, *_) in self.layers.items():
                weights = self.initial[k]
                if warm_start:
                    # a copy: on the runtime device w[:] can be a view that the restore overwrites
                    weights = np.array(synapses.w[:], dtype=float).reshape(N_FEATURES, k)
                    values[synapses.w] = weights.ravel()
                    values[layer.w_total] = weights.sum(axis=0)
                rules = self.rules[k] = layer_rules(self.config, rates_hz, weights, self.model)
                values[layer.input_gain] = np.full(k, rules["gain_A"]) * amp
                values[layer.A_plus] = np.full(k, rules["A_plus"])
                values[layer.A_minus] = np.full(k, rules["A_minus"])
                values[layer.theta_plus] = np.full(k, rules["theta_plus_V"]) * volt
                decay = math.exp(-self.period_ms * 1e-3 / rules["tau_theta_s"])
                values[layer.theta_decay] = np.full(k, decay)
            self.sim.rerun(self.net, self.phases, values)
        self.simulation_s.append(self.sim.run_seconds)
        return {k: self.labelling_spikes(k) for k in self.layers}

    def labelling_spikes(self, k: int, blocks: str = "layer") -> tuple[np.ndarray, np.ndarray]:
        """(counts, first spike ms) of the K layer in the labelling pass, samples x neurons;
        ``blocks``: layer, replicas (block after block) or oracle."""
        from brian2 import ms

        replicas = blocks == "replicas"
        block_sets = {"layer": self.layers, "replicas": self.replicas, "oracle": self.oracles}
        monitor = block_sets[blocks][k].monitor
        return sample_spikes(
            np.asarray(monitor.i),
            np.asarray(monitor.t / ms),
            start_ms=self.n_samples * self.period_ms,
            period_ms=self.period_ms,
            n_samples=self.n_samples,
            n_neurons=k * (self.config.replicas if replicas else 1),
        )


def initial_weights(config: Config, k: int, replica: int = 0) -> np.ndarray:
    """Uniform random afferent weights of the K layer (inputs x K), L1-normalised to w_sum;
    replica r > 0 draws its own."""
    key = [config.seed, 1, k] + ([replica] if replica else [])
    initial = np.random.default_rng(key).uniform(0, 1, (N_FEATURES, k))
    return initial * config.w_sum / initial.sum(axis=0)


def oracle_weights(config: Config, rates_hz: np.ndarray, k: int) -> np.ndarray:
    """k-means' K centroids of the samples' rates (inputs x K), L1-normalised to w_sum and
    within w_max."""
    from sklearn.cluster import KMeans

    centres = KMeans(n_clusters=k, n_init=3, random_state=config.seed).fit(rates_hz)
    initial = centres.cluster_centers_.T
    return np.minimum(initial * config.w_sum / initial.sum(axis=0), config.w_max)


# -- the experiment ----------------------------------------------------------------------------


def kmeans_labels(features: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(features)


def linear_probe(features: np.ndarray, labels: np.ndarray, n_train: int) -> float:
    """Test accuracy of a ridge classifier on standardised features (closed form: a probe per
    epoch and arm costs milliseconds, where logistic regression costs seconds)."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0))
    probe.fit(features[:n_train], labels[:n_train])
    return float(probe.score(features[n_train:], labels[n_train:]))


def simulate(config: Config, sim) -> dict:
    features, labels, order = load_digits_shuffled(config)
    rates = features / DIGIT_MAX * config.max_rate_hz
    network = ClusteringNetwork(config, rates, sim)
    spikes = network.run()
    data = {"labels": labels, "order": order}
    for k in config.cluster_sizes:
        data[f"d1_counts_k{k}"], data[f"d1_first_ms_k{k}"] = spikes[k]
        if config.replicas:  # read before the loop's runs replace them
            counts, first = network.labelling_spikes(k, "replicas")
            data[f"d1_replica_counts_k{k}"] = counts.reshape(len(counts), config.replicas, k)
            data[f"d1_replica_first_ms_k{k}"] = first.reshape(len(first), config.replicas, k)
        if config.oracle_control:
            counts, first = network.labelling_spikes(k, "oracle")
            data[f"d1_oracle_counts_k{k}"], data[f"d1_oracle_first_ms_k{k}"] = counts, first
        data[f"d1_kmeans_k{k}"] = kmeans_labels(features, k, config.seed)
        data[f"d1_rules_k{k}"] = np.array([network.rules[k][key] for key in sorted(RULE_NAMES)])
    data["rule_names"] = np.array(sorted(RULE_NAMES))
    if config.loop_epochs:
        data.update(pseudo_label_loop(config, features, labels[order], network))
    data["simulation_s"] = np.array(network.simulation_s)
    return data


def feature_rates(hidden: np.ndarray, max_rate_hz: float) -> np.ndarray:
    """Input rates of the body's features, each scaled to its own range (as every pixel of
    D1 spans 0-16): a few large ReLU units would otherwise set the scale of all, leaving the
    rest near silence. A feature that never varies gets rate 0."""
    low, span = hidden.min(axis=0), np.ptp(hidden, axis=0)
    if not span.any():
        raise ModelError("the body's features do not vary across samples: no input rates left")
    return np.divide(hidden - low, span, out=np.zeros_like(hidden), where=span > 0) * max_rate_hz


def pseudo_label_loop(config: Config, features, true, network) -> dict:
    """Both arms from the same initial body; per epoch: cluster the body's features, train a
    new head and the body for one epoch on the pseudo-labels, probe the body on true labels."""
    x = features / DIGIT_MAX
    first_body = init_body(np.random.default_rng([config.seed, 2]), N_FEATURES, N_FEATURES)
    n_probe = round(config.probe_fraction * len(x))
    k = config.loop_clusters
    out = {}
    for arm in config.loop_arms:
        params = {key: value.copy() for key, value in first_body.items()}
        rng = np.random.default_rng([config.seed, 3])  # same head draws and batches per arm
        pseudo, probe, loss = [], [], []
        for epoch in range(config.loop_epochs):
            hidden = body_features(params, x)
            if arm == "stdp":
                rates = feature_rates(hidden, config.max_rate_hz)
                labels_now = pseudo_labels(*network.run(rates, warm_start=epoch > 0)[k])
            else:
                labels_now = kmeans_labels(hidden, k, config.seed + epoch)
            params.update(init_head(rng, N_FEATURES, k))
            loss.append(
                train_epoch(
                    params,
                    x,
                    labels_now,
                    rng,
                    learning_rate=config.learning_rate,
                    batch_size=config.batch_size,
                )
            )
            probe.append(linear_probe(body_features(params, x), true, n_probe))
            pseudo.append(labels_now)
        out[f"loop_pseudo_{arm}"] = np.array(pseudo)
        out[f"loop_probe_{arm}"] = np.array(probe)
        out[f"loop_loss_{arm}"] = np.array(loss)
    return out
