"""The STDP clusterer and the pseudo-label loop: cluster metrics against brute force and
hand-made cases, the layer on separable input, the numpy network's gradient, re-running the
compiled network, bad input and the tiny run."""

import dataclasses
import itertools

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from analysis.stdp_clustering import (
    SILENT,
    cluster_accuracy,
    clustering_metrics,
    iso_accuracy_epochs,
    nmi,
    pseudo_labels,
    sample_spikes,
)
from experiments import stdp_clustering
from experiments.runner.devices import simulation
from models.base import ModelError

TINY = stdp_clustering.SCALES["tiny"]


def test_cluster_accuracy_is_one_for_a_permuted_perfect_labelling():
    true = np.repeat(np.arange(4), 5)
    assert cluster_accuracy(true, np.array([2, 0, 3, 1])[true], "hungarian") == 1.0


def test_hungarian_accuracy_equals_a_brute_force_search_over_permutations():
    rng = np.random.default_rng(3)
    true = rng.integers(0, 4, 40)
    clusters = np.where(rng.random(40) < 0.6, true, rng.integers(0, 4, 40))
    best = max(
        np.mean(np.array(permutation)[clusters] == true)
        for permutation in itertools.permutations(range(4))
    )
    assert cluster_accuracy(true, clusters, "hungarian") == pytest.approx(best)


def test_majority_mapping_on_a_hand_made_case():
    # cluster 0: classes 0,0,1 -> 0 (2 right); cluster 1: 1,1 -> 1 (2); cluster 2: 0 -> 0 (1);
    # the silent sample is wrong whatever its class
    true = np.array([0, 0, 1, 1, 1, 0, 1])
    clusters = np.array([0, 0, 0, 1, 1, 2, SILENT])
    assert cluster_accuracy(true, clusters, "majority") == pytest.approx(5 / 7)
    # Hungarian may use cluster 0 or 2 for class 0, not both: 2 + 2 of 7
    assert cluster_accuracy(true, clusters, "hungarian") == pytest.approx(4 / 7)


def test_nmi_matches_scikit_learn_and_ignores_the_cluster_names():
    rng = np.random.default_rng(0)
    true, clusters = rng.integers(0, 5, 200), rng.integers(0, 7, 200)
    expected = normalized_mutual_info_score(true, clusters, average_method="arithmetic")
    assert nmi(true, clusters) == pytest.approx(expected)
    assert nmi(true, rng.permutation(7)[clusters]) == pytest.approx(expected)
    assert nmi(true, true + 10) == pytest.approx(1.0)


def test_cluster_sizes_and_empty_clusters():
    metrics = clustering_metrics(np.array([0, 1, 0, 1]), np.array([0, 0, 1, SILENT]), 3)
    # sizes (2, 1, 0): entropy of (2/3, 1/3) over log 3; one empty cluster; one silent sample
    share = np.array([2, 1]) / 3
    assert metrics["size_entropy"] == pytest.approx(-(share * np.log(share)).sum() / np.log(3))
    assert (metrics["empty_clusters"], metrics["silent_samples"]) == (1, 1)
    assert metrics["mapping"] == "majority"


def test_pseudo_labels_take_the_most_spikes_then_the_earliest_first_spike():
    counts = np.array([[0, 3, 1], [2, 0, 2], [0, 0, 0], [1, 1, 1]])
    first = np.array([[np.inf, 5, 1], [9, np.inf, 4], [np.inf] * 3, [7, 3, 8]])
    assert pseudo_labels(counts, first).tolist() == [1, 2, SILENT, 1]


def test_sample_spikes_bins_the_labelling_pass():
    counts, first = sample_spikes(
        np.array([0, 1, 1, 0, 2]),
        np.array([10.0, 230.0, 260.0, 450.0, 499.0]),
        start_ms=200.0,
        period_ms=100.0,
        n_samples=3,
        n_neurons=3,
    )
    # the spike at 10 ms precedes the pass; 230 and 260 ms fall in its first sample
    assert counts.tolist() == [[0, 2, 0], [0, 0, 0], [1, 0, 1]]
    assert first[0, 1] == pytest.approx(30.0) and first[2, 2] == pytest.approx(99.0)
    assert np.isinf(first[0, 0])


def test_the_loop_codes_each_feature_over_its_own_range():
    hidden = np.array([[0.0, 5.0, 2.0], [1.0, 15.0, 2.0], [0.5, 10.0, 2.0]])
    rates = stdp_clustering.feature_rates(hidden, 64.0)
    np.testing.assert_allclose(rates, [[0, 0, 0], [64, 64, 0], [32, 32, 0]])
    with pytest.raises(ModelError, match="do not vary"):
        stdp_clustering.feature_rates(np.ones((4, 3)), 64.0)


def test_iso_accuracy_epochs():
    assert iso_accuracy_epochs([0.5, 0.7, 0.8, 0.8], [0.6, 0.85, 0.9, 0.9]) == (3, 2)
    assert iso_accuracy_epochs([0.5, 0.7], [0.4, 0.6]) == (2, None)


def _params(rng):
    return {
        **stdp_clustering.init_body(rng, 6, 5),
        **stdp_clustering.init_head(rng, 5, 3),
    }


def test_the_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    params, x, labels = _params(rng), rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    params["body_b"] += 0.1  # keep the ReLUs away from their kink for the differences
    _, gradients = stdp_clustering.loss_and_gradients(params, x, labels)
    step = 1e-6
    for key, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            value[index] += step
            up, _ = stdp_clustering.loss_and_gradients(params, x, labels)
            value[index] -= 2 * step
            down, _ = stdp_clustering.loss_and_gradients(params, x, labels)
            value[index] += step
            numeric[index] = (up - down) / (2 * step)
        np.testing.assert_allclose(gradients[key], numeric, rtol=1e-5, atol=1e-8)


def test_training_epochs_reduce_the_loss_on_fixed_pseudo_labels():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(3, 6)) * 2
    pseudo = rng.integers(0, 3, 300)
    x = centres[pseudo] + rng.normal(size=(300, 6))
    params = _params(rng)
    before, _ = stdp_clustering.loss_and_gradients(params, x, pseudo)
    for _ in range(3):
        stdp_clustering.train_epoch(params, x, pseudo, rng, learning_rate=0.05, batch_size=16)
    after, _ = stdp_clustering.loss_and_gradients(params, x, pseudo)
    assert after < 0.5 * before


def _groups_rates(n_per_group):
    """Three disjoint groups of 8 active inputs, in random order: (rates, group of each)."""
    group = np.random.default_rng(4).permutation(np.repeat(np.arange(3), n_per_group))
    rates = np.zeros((len(group), stdp_clustering.N_FEATURES))
    for g in range(3):
        rates[group == g, 8 * g : 8 * g + 8] = 64.0
    return rates, group


def test_the_stdp_layer_clusters_disjoint_input_groups():
    rates, group = _groups_rates(30)
    config = dataclasses.replace(
        TINY, n_samples=len(group), cluster_sizes=(6,), loop_epochs=0, oracle_control=False
    )
    with simulation("runtime") as sim:
        network = stdp_clustering.ClusteringNetwork(config, rates, sim)
        counts, first = network.run()[6]
    labels = pseudo_labels(counts, first)
    assert np.sum(labels == SILENT) <= 0.05 * len(group)
    assert cluster_accuracy(group, labels, "majority") >= 0.9


def test_the_oracle_control_holds_the_kmeans_centroids_and_answers_each_group_alone():
    """The control's weights are k-means' centroids (here each group's 8 inputs at w_sum/8,
    clipped at w_max), and with them every group of inputs has a neuron of its own."""
    rates, group = _groups_rates(20)
    config = dataclasses.replace(
        TINY, n_samples=len(group), cluster_sizes=(3,), loop_epochs=0, replicas=0
    )
    with simulation("runtime") as sim:
        network = stdp_clustering.ClusteringNetwork(config, rates, sim)
        network.run()
        counts, first = network.labelling_spikes(3, "oracle")
        weights = np.array(network.oracles[3][1].w[:]).reshape(stdp_clustering.N_FEATURES, 3)
    for g in range(3):
        column = weights[:, np.argmax(weights[8 * g, :])]
        expected = np.zeros(stdp_clustering.N_FEATURES)
        expected[8 * g : 8 * g + 8] = min(config.w_sum / 8, config.w_max)
        np.testing.assert_allclose(column, expected, atol=1e-12)
    assert cluster_accuracy(group, pseudo_labels(counts, first), "hungarian") == 1.0


def test_replicas_from_the_layers_own_weights_spike_as_the_layer(monkeypatch):
    """Replicas are blocks of another group, with rules derived per block: given the layer's
    own initial weights, each must spike exactly as the layer does."""
    own = stdp_clustering.initial_weights
    monkeypatch.setattr(stdp_clustering, "initial_weights", lambda c, k, replica=0: own(c, k))
    rates, group = _groups_rates(30)
    config = dataclasses.replace(
        TINY, n_samples=len(group), cluster_sizes=(6,), loop_epochs=0, oracle_control=False
    )
    with simulation("runtime") as sim:
        network = stdp_clustering.ClusteringNetwork(config, rates, sim)
        counts, first = network.run()[6]
        replica_counts, replica_first = network.labelling_spikes(6, "replicas")
    assert counts.sum() > 0 and replica_counts.shape == (len(group), 6 * config.replicas)
    for block in range(config.replicas):
        np.testing.assert_array_equal(replica_counts[:, 6 * block : 6 * block + 6], counts)
        np.testing.assert_array_equal(replica_first[:, 6 * block : 6 * block + 6], first)


@pytest.mark.standalone
def test_rerunning_the_compiled_network_with_new_rates_does_not_recompile(tmp_path):
    import os

    rates, group = _groups_rates(6)
    config = dataclasses.replace(
        TINY, n_samples=len(group), cluster_sizes=(4,), loop_epochs=0, oracle_control=False
    )
    with simulation("cpp_standalone", tmp_path) as sim:
        network = stdp_clustering.ClusteringNetwork(config, rates, sim)
        first_counts, _ = network.run()[4]
        binary = tmp_path / "main"
        built_at = os.stat(binary).st_mtime_ns
        # silence the first group: its samples must fall silent in the re-run
        quiet = rates.copy()
        quiet[:, :8] = 0
        counts, _ = network.run(quiet, warm_start=True)[4]
        assert os.stat(binary).st_mtime_ns == built_at
    assert first_counts[group == 0].sum() > 0
    assert counts[group == 0].sum() == 0 and counts[group != 0].sum() > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(dataset="mnist"), "unknown dataset"),
        (dict(loop_arms=("stdp", "spectral")), "unknown loop arm"),
        (dict(cluster_sizes=(1, 10)), "at least 2"),
        (dict(cluster_sizes=(10, 10)), "must not repeat"),
        (dict(n_samples=0), "n_samples must be between"),
        (dict(n_samples=20), "n_samples must be between the largest K"),
        (dict(loop_clusters=1), "loop_clusters must be at least 2"),
        (dict(sample_ms=0), "sample_ms and dt_ms must be positive"),
        (dict(max_rate_hz=-1.0), "must be positive"),
        (dict(loop_clusters=20), "add it to cluster_sizes"),
        (dict(neuron="lif_cond"), "lif_cond does not give the scales"),
        (dict(replicas=-1), "replicas must be 0 or more"),
    ],
)
def test_bad_configs_are_refused_before_anything_is_built(change, message):
    with pytest.raises(ModelError, match=message):
        stdp_clustering.check(dataclasses.replace(TINY, **change))


def test_the_tiny_experiment_reports_both_arms(tiny_results):
    from analysis.figures import load_result

    config, data, metrics = load_result(tiny_results["stdp_clustering"])
    assert len(data["order"]) == config["n_samples"] == 60
    for k in config["cluster_sizes"]:
        for arm in ("stdp", "kmeans"):
            assert 0 <= metrics["d1"][str(k)][arm]["nmi"] <= 1
    assert data["loop_pseudo_stdp"].shape == (config["loop_epochs"], 60)
    # one simulation per run: D1 then one per loop epoch of the STDP arm
    assert len(data["simulation_s"]) == 1 + config["loop_epochs"]
    keys = {row["key"] for row in metrics["targets"]}
    assert keys >= {"C1-km-10", "C1-stdp-10", "C2-stdp", "C2-kmeans", "C3", "C5"}
    assert len(metrics["d1"]["10"]["replicas"]) == config["replicas"] == 2
