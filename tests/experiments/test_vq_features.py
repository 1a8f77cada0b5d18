"""VQ-STDP with softmax competition: the layer against an independent numpy replay, the
competition's winner counts, the rule's fixed point, threshold adaptation, patches, metrics
and bad input."""

import dataclasses

import numpy as np
import pytest

from analysis import vq_features as vq_analysis
from experiments import vq_features
from experiments.data import patches
from models.base import ModelError

BASE = dataclasses.replace(vq_features.SCALES["tiny"], mu_w=0.05, rho_theta=0.01)


def _run(config, probabilities, initial, theta0, steps, competition="dot", schedule=None):
    """One layer on the numpy runtime, its input fixed by ``probabilities`` (patches x
    inputs, one patch per ``config.steps_per_patch`` steps); returns (input spike steps,
    input indices, layer spike steps, layer indices, final weights, theta per step)."""
    from brian2 import Network, SpikeMonitor, StateMonitor, defaultclock, ms, prefs

    prefs.codegen.target = "numpy"
    defaultclock.dt = config.dt_ms * ms
    inputs = vq_features.bernoulli_input(
        probabilities, config.steps_per_patch * config.dt_ms * ms, "inputs"
    )
    objects = vq_features.vq_layer(
        config, inputs, [initial], [competition], theta0, "layer", schedule=schedule
    )
    input_spikes = SpikeMonitor(inputs)
    thetas = StateMonitor(objects["competition"], "theta", record=0, when="end", order=100)
    Network(inputs, input_spikes, thetas, *objects.values()).run(steps * config.dt_ms * ms)

    def as_steps(monitor):
        return np.round(np.asarray(monitor.t / ms) / config.dt_ms).astype(int)

    weights = np.array(objects["synapses"].w[:]).reshape(initial.shape)
    # the distance competition's offset is kept incrementally: it must equal |w|^2/2
    np.testing.assert_allclose(
        objects["layer"].half_norm[:], (weights**2).sum(axis=0) / 2, rtol=1e-9
    )
    return (
        as_steps(input_spikes),
        np.array(input_spikes.i),
        as_steps(objects["spikes"]),
        np.array(objects["spikes"].i),
        weights,
        np.array(thetas.theta[0]),
    )


def _replay(
    config, initial, theta0, input_steps, input_neurons, steps, competition="dot", factors=None
):
    """The layer of plasticity.md §4 step by step from the recorded input spikes, in Brian2's
    schedule: at a patch's first step u and the kernel mass m start from 0; the softmax of u
    (dot) or u - m |w|^2/2 (distance) against theta (thresholds), then u += W x(t) and VQ-STDP
    for the winners with the inputs of step t - 1 as 'active' (synapses; mu_w times the
    patch's entry of ``factors`` if given), then the EPSP decay of u and m (m <- (m + 1)
    decay) and theta += rho (winners - q) (end of step)."""
    n_inputs, k = initial.shape
    tau = config.tau_epsp_steps if competition == "distance" else config.tau_epsp_steps_dot
    decay = np.exp(-1 / tau)
    w, u, mass, theta = initial.copy(), np.zeros(k), 0.0, theta0
    previous = np.zeros(n_inputs)
    winners, thetas = [], []
    for step in range(steps):
        if config.clear_between_patches and step % config.steps_per_patch == 0:
            u, mass = np.zeros(k), 0.0
        x = np.zeros(n_inputs)
        x[input_neurons[input_steps == step]] = 1
        offset = mass * (w**2).sum(axis=0) / 2 if competition == "distance" else 0
        score = u - offset
        fired = np.flatnonzero(np.exp(score) / np.exp(score).sum() >= theta)
        u = u + w.T @ x
        mu = config.mu_w * (1 if factors is None else factors[step // config.steps_per_patch])
        for j in fired:
            ltd = config.ltd_scale * (1 - previous)
            change = mu * (previous - (1 + config.lambda_w) * w[:, j] * (previous + ltd))
            w[:, j] = np.clip(w[:, j] + change, 0, 1)
        u, mass = u * decay, (mass + 1) * decay
        theta += config.rho_theta * (len(fired) - config.winners_per_step)
        winners.append(fired)
        thetas.append(theta)
        previous = x
    return winners, w, np.array(thetas)


@pytest.mark.parametrize("competition", vq_features.COMPETITIONS)
def test_the_layer_equals_an_independent_step_by_step_replay(competition):
    rng = np.random.default_rng(3)
    probabilities = rng.uniform(0, 0.6, (6, 10))
    initial = rng.uniform(0, 1, (10, 4))
    config = dataclasses.replace(
        BASE,
        steps_per_patch=25,
        lambda_w=0.1,
        ltd_scale=0.75,
        tau_epsp_steps=3.0,
        tau_epsp_steps_dot=1.5,
    )
    steps = 150
    in_steps, in_neurons, out_steps, out_neurons, weights, thetas = _run(
        config, probabilities, initial, 0.3, steps, competition
    )
    winners, expected_w, expected_theta = _replay(
        config, initial, 0.3, in_steps, in_neurons, steps, competition
    )
    for step, fired in enumerate(winners):
        np.testing.assert_array_equal(np.sort(out_neurons[out_steps == step]), fired)
    assert 50 < len(out_steps) and len(set(out_neurons)) > 1  # competition and learning ran
    np.testing.assert_allclose(weights, expected_w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(thetas, expected_theta, rtol=1e-9)
    assert not np.allclose(weights, initial)


def test_a_falling_learning_rate_is_the_replay_with_mu_w_scaled_patch_by_patch():
    rng = np.random.default_rng(4)
    probabilities = rng.uniform(0, 0.6, (6, 10))
    initial = rng.uniform(0, 1, (10, 4))
    config = dataclasses.replace(
        BASE, steps_per_patch=25, n_train=2, epochs=2, n_test=2, mu_schedule="linear"
    )
    # one value per presented patch: 2 (1 - (n + 1/2)/4) over the 4 training slots, then 0
    factors = np.array([1.75, 1.25, 0.75, 0.25, 0, 0])
    schedule = vq_features.learning_schedule(config)
    np.testing.assert_allclose(np.asarray(schedule.values), factors)
    steps = 150
    in_steps, in_neurons, out_steps, out_neurons, weights, _ = _run(
        config, probabilities, initial, 0.3, steps, schedule=schedule
    )
    winners, expected_w, _ = _replay(
        config, initial, 0.3, in_steps, in_neurons, steps, factors=factors
    )
    for step, fired in enumerate(winners):
        np.testing.assert_array_equal(np.sort(out_neurons[out_steps == step]), fired)
    assert len(out_steps[out_steps >= 100]) > 0  # units fired on the patches with factor 0
    np.testing.assert_allclose(weights, expected_w, rtol=1e-9, atol=1e-12)
    constant = _replay(config, initial, 0.3, in_steps, in_neurons, steps)[1]
    assert not np.allclose(weights, constant)  # the schedule changed the learning


def test_each_epoch_presents_every_training_patch_once():
    config = dataclasses.replace(BASE, epochs=3, seed=5)
    order = vq_features.training_order(config, 7)
    assert order.shape == (21,)
    np.testing.assert_array_equal(order[:7], np.arange(7))  # the first pass as drawn
    for epoch in range(3):
        np.testing.assert_array_equal(np.sort(order[7 * epoch : 7 * (epoch + 1)]), np.arange(7))
    assert not np.array_equal(order[7:14], order[14:])
    assert vq_features.learning_schedule(dataclasses.replace(BASE, mu_schedule="constant")) is None


def test_blocks_of_one_group_compete_only_within_themselves():
    """A distance block and a dot block in one group, on the same input spikes: each block's
    winners, weights and threshold equal the replay of that block alone."""
    from brian2 import Network, SpikeMonitor, StateMonitor, defaultclock, ms, prefs

    rng = np.random.default_rng(7)
    probabilities = rng.uniform(0, 0.6, (6, 10))
    initial = [rng.uniform(0, 1, (10, 4)), rng.uniform(0, 1, (10, 4))]
    config = dataclasses.replace(BASE, steps_per_patch=25, tau_epsp_steps=4.0)
    steps = 150
    prefs.codegen.target = "numpy"
    defaultclock.dt = config.dt_ms * ms
    inputs = vq_features.bernoulli_input(probabilities, 25 * ms, "inputs")
    objects = vq_features.vq_layer(config, inputs, initial, ["distance", "dot"], 0.3, "layer")
    input_spikes = SpikeMonitor(inputs)
    thetas = StateMonitor(objects["competition"], "theta", record=True, when="end", order=100)
    Network(inputs, input_spikes, thetas, *objects.values()).run(steps * ms)
    in_steps = np.round(np.asarray(input_spikes.t / ms)).astype(int)
    out_steps = np.round(np.asarray(objects["spikes"].t / ms)).astype(int)
    out_neurons = np.asarray(objects["spikes"].i)
    weights = np.asarray(objects["synapses"].w[:]).reshape(10, 8)
    for block, competition in enumerate(["distance", "dot"]):
        winners, expected_w, expected_theta = _replay(
            config, initial[block], 0.3, in_steps, np.asarray(input_spikes.i), steps, competition
        )
        mine = (out_neurons >= 4 * block) & (out_neurons < 4 * block + 4)
        for step, fired in enumerate(winners):
            np.testing.assert_array_equal(
                np.sort(out_neurons[mine & (out_steps == step)] - 4 * block), fired
            )
        np.testing.assert_allclose(weights[:, 4 * block : 4 * block + 4], expected_w, rtol=1e-9)
        np.testing.assert_allclose(thetas.theta[block], expected_theta, rtol=1e-9)


@pytest.mark.parametrize(("theta0", "at_most_one"), [(0.5, True), (0.6, True), (0.05, False)])
def test_a_softmax_level_of_one_half_or_more_lets_at_most_one_neuron_fire(theta0, at_most_one):
    """Each of 8 neurons is tuned to one of 8 patches, so the softmax is often peaked."""
    rng = np.random.default_rng(4)
    config = dataclasses.replace(BASE, rho_theta=0.0, steps_per_patch=25)
    probabilities = 0.05 + 0.9 * (rng.random((8, 25)) < 0.5)
    _, _, steps, _, _, _ = _run(config, probabilities, probabilities.T.copy(), theta0, 200)
    per_step = np.bincount(steps, minlength=200)
    if at_most_one:
        assert per_step.max() <= 1 and per_step.sum() > 20
    else:
        assert per_step.max() > 1  # below 1/K several neurons pass at once


def test_weights_converge_to_the_probability_of_an_active_input_given_a_win():
    """plasticity.md target 7: two neurons with equal weights share every step (softmax 1/2
    each >= theta), so each wins every step and w -> P(active)/(1 + lambda) = p/(1 + lambda)."""
    p = np.linspace(0.05, 0.95, 8)
    config = dataclasses.replace(
        BASE, mu_w=0.01, rho_theta=0.0, lambda_w=0.25, steps_per_patch=5000
    )
    from brian2 import seed

    initial = np.full((8, 2), 0.5)
    seed(11)  # the draws are the runtime's global ones: fixed, so that the run is repeatable
    *_, weights, _ = _run(config, p[None, :], initial, 0.4, 5000)
    # stationary sd of the weight around p/(1+lambda): sqrt(mu p (1-p) / (2 (1+lambda))) <= 0.03,
    # so 0.09 is 3 sd per weight: unseeded, the test failed once in a full-suite run
    np.testing.assert_allclose(weights, np.tile(p[:, None] / 1.25, (1, 2)), atol=0.09)


def test_threshold_adaptation_brings_the_layer_to_about_one_winner_per_step():
    """theta starts below 1/K, where every neuron fires each step; the adaptation must raise
    it until about q = 1 neuron fires per step."""
    rng = np.random.default_rng(5)
    config = dataclasses.replace(BASE, rho_theta=0.005, mu_w=0.0, steps_per_patch=20)
    initial = rng.uniform(0, 1, (25, 6))
    probabilities = rng.uniform(0, 0.4, (200, 25))
    *_, steps_out, _, _, thetas = _run(config, probabilities, initial, 0.05, 4000)
    per_step = np.bincount(steps_out, minlength=4000)
    assert per_step[:5].mean() > 4  # everyone fires at first
    assert abs(per_step[2000:].mean() - 1) < 0.15
    assert thetas[-1] > 1 / 6


def test_digit_patches_are_every_stride_one_window_that_is_not_empty():
    image = np.zeros((1, 7, 7))
    image[0, 3, 4] = 255
    found = patches.digit_patches(image, size=5)
    assert found.shape == (25, 25)  # the 25 windows that contain the one bright pixel
    assert np.all(found.sum(axis=1) == 1) and found.max() == 1
    assert len({tuple(row) for row in found}) == 25  # the pixel at every position once


def test_natural_patches_are_on_off_probabilities_drawn_by_seed():
    first = patches.natural_patches(30, seed=1, images=("camera",))
    assert first.shape == (30, 512) and first.min() >= 0 and first.max() <= 1
    assert not np.any((first[:, :256] > 0) & (first[:, 256:] > 0))  # ON and OFF exclusive
    np.testing.assert_array_equal(first, patches.natural_patches(30, seed=1, images=("camera",)))
    assert not np.array_equal(first, patches.natural_patches(30, seed=2, images=("camera",)))


def test_metrics_follow_their_closed_forms():
    patches_ = np.random.default_rng(0).uniform(0, 1, (20, 9))
    weights = np.eye(9)[:, :9]
    decoded = vq_analysis.vq_reconstruction(patches_, 2 * patches_, weights)
    assert decoded["scale"] == pytest.approx(0.5) and decoded["nmse"] == pytest.approx(0)
    mean_only = vq_analysis.reconstruction_error(patches_, np.tile(patches_.mean(0), (20, 1)))
    assert mean_only["nmse"] == pytest.approx(1)
    one_hot = np.eye(4)[[0, 1, 2, 3, 0]] * 3
    sparse = vq_analysis.sparsity(one_hot, steps=10)
    assert sparse["treves_rolls"] == pytest.approx(1 / 4)
    assert sparse["active_fraction"] == pytest.approx(1 / 4)
    assert sparse["spikes_per_unit_step"] == pytest.approx(3 / 4 / 10)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(datasets=("cifar",)), "unknown dataset"),
        (dict(datasets=()), "unknown dataset"),
        (dict(digit_neurons=(1,)), "K >= 2"),
        (dict(theta0_digits=0.05), r"outside \(1/K, 0.5\)"),
        (dict(theta0_natural=0.5), r"outside \(1/K, 0.5\)"),
        (dict(n_test=0), "must be positive"),
        (dict(n_train=61), "multiple of snapshots"),
        (dict(mu_w=-1.0), "mu_w"),
        (dict(competitions=("cosine",)), "unknown competition"),
        (dict(initial_weights="zeros"), "unknown initial_weights"),
        (dict(mu_schedule="cosine"), "unknown mu_schedule"),
        (dict(epochs=0), "epochs must be at least 1"),
        (dict(n_train=12, snapshots=3), "starts each of K = 16 neurons"),
        (dict(replicas=0), "must be positive"),
    ],
)
def test_bad_configs_are_refused_before_anything_is_built(change, message):
    with pytest.raises(ModelError, match=message):
        vq_features.check(dataclasses.replace(vq_features.SCALES["tiny"], **change))


def test_the_tiny_experiment_reports_every_layer(tiny_results):
    from analysis.figures import load_result

    config, data, metrics = load_result(tiny_results["vq_features"])
    layers = (("digits", 8), ("digits", 16), ("natural", 8))
    assert set(metrics["layers"]) == {
        f"{dataset}_{k}_{competition}_0"
        for dataset, k in layers
        for competition in ("distance", "dot")
    } | {f"{dataset}_{k}_frozen" for dataset, k in layers}
    keys = {row["key"] for row in metrics["targets"]}
    assert {
        "P7-digits-8",
        "V-natural-8",
        "V1-digits-distance",
        "V1-natural-dot",
        "V2-digits",
    } <= keys
    # the frozen control keeps the first seed's starting prototypes through training
    frozen = data["digits_8_frozen_snapshots"]
    np.testing.assert_array_equal(frozen[-1], data["digits_8_distance_0_initial"])
    assert not np.allclose(data["digits_8_distance_0_snapshots"][-1], frozen[-1])
    # the initial weights and one snapshot per interval of training (then some of the test)
    for competition in ("distance", "dot"):
        snapshots = data[f"digits_8_{competition}_0_snapshots"]
        assert snapshots.shape[1:] == (25, 8)
        assert len(snapshots) >= config["snapshots"] + 1
        # a block's first snapshot is its own initial weights (the blocks are not mixed up)
        np.testing.assert_allclose(snapshots[0], data[f"digits_8_{competition}_0_initial"])


def test_prototype_mean_decoder_averages_the_winners_prototypes():
    prototypes = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).T  # inputs x K
    patches_ = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])
    # 7 spikes of unit 0; 3 and 3 of both (their midpoint); silent, decoded as 0
    counts = np.array([[7, 0], [3, 3], [0, 0]])
    exact = vq_analysis.prototype_mean_reconstruction(patches_, counts, prototypes, lambda_w=0)
    assert exact["nmse"] == pytest.approx(0)
    # with weight decay the fixed point is the mean input / (1 + lambda_w)
    shrunk = vq_analysis.prototype_mean_reconstruction(
        patches_, counts, prototypes / 1.5, lambda_w=0.5
    )
    assert shrunk["nmse"] == pytest.approx(0)
    # the summed decoder's one gain cannot fit 7 spikes and 3 + 3 spikes alike
    assert vq_analysis.vq_reconstruction(patches_, counts, prototypes)["nmse"] > 0.01


def test_exact_winner_picks_the_nearest_prototype_not_the_largest_dot_product():
    prototypes = np.array([[0.4, 0.4], [1.0, 1.0]]).T  # a small and a large prototype
    patches_ = np.array([[0.4, 0.4], [0.5, 0.3]])
    nearest = vq_analysis.nearest_prototype_reconstruction(patches_, prototypes)
    expected = vq_analysis.reconstruction_error(patches_, np.array([[0.4, 0.4], [0.4, 0.4]]))
    assert nearest == pytest.approx(expected)


def test_kmeans_plus_plus_starts_never_put_two_neurons_on_the_same_patch():
    """Most training patches alike (a near-empty one): drawn uniformly, several neurons start
    on it and split the softmax; k-means++ seeding picks each start far from those before."""
    rng = np.random.default_rng(0)
    train = np.vstack([np.full((90, 9), 0.01), rng.uniform(0, 1, (10, 9))])
    starts = {}
    for how in ("kmeans++", "patches"):
        config = dataclasses.replace(vq_features.SCALES["tiny"], initial_weights=how)
        initial = vq_features._initial_weights(config, train, k=6, replica=0)
        assert all((train == column).all(axis=1).any() for column in initial.T)  # patches
        starts[how] = len({tuple(column) for column in initial.T})
    assert starts["kmeans++"] == 6 and starts["patches"] < 6
