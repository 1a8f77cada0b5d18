"""Cluster metrics, pseudo-labels and figures of the STDP clusterer versus k-means
(numpy, scipy, scikit-learn).

Lu & Sengupta (2024), "Deep unsupervised learning using spike-timing-dependent plasticity",
Neuromorph. Comput. Eng. 4:024004, doi:10.1088/2634-4386/ad3a95 (arXiv 2307.04054): an STDP
layer replaces k-means in DeepCluster's pseudo-label loop. Reproduced here at the science
notes' small scale (features.md §3): D1, STDP clustering versus k-means on the 64-d digits,
D3/D4 (K = 10, 30, 100; cluster sizes and empty clusters), and a numpy pseudo-label loop with
both arms; target 7 of the notes.
"""

from __future__ import annotations

import math

import numpy as np

from analysis.event_features import rule_derivation
from analysis.report import target

#: The science notes' estimates for D1 [P] (features.md §3), not paper numbers.
D1_ESTIMATES = {
    "kmeans_nmi": "≈ 0.70 [P]",
    "stdp_nmi_10": "≈ 0.5–0.7 [P]",
    "stdp_acc_many": "≈ 0.80–0.90 with majority mapping [P]",
}
SILENT = -1
#: The issue's targets for the STDP layer at quick scale: K = classes (Hungarian) NMI and ACC,
#: K > classes majority ACC, and no silent sample.
ISSUE_TARGETS = {"nmi_k_classes": 0.55, "acc_k_classes": 0.60, "acc_many": 0.80, "loop_nmi": 0.5}


def sample_spikes(spike_i, spike_t_ms, *, start_ms, period_ms, n_samples, n_neurons):
    """(spike counts, first spike time in ms after the sample's start, inf if none), both
    samples x neurons, of the samples presented one per ``period_ms`` from ``start_ms``."""
    spike_i, spike_t_ms = np.asarray(spike_i), np.asarray(spike_t_ms)
    kept = (spike_t_ms >= start_ms - 1e-9) & (spike_t_ms < start_ms + n_samples * period_ms)
    offset = spike_t_ms[kept] - start_ms
    sample = np.floor(offset / period_ms + 1e-9).astype(int)
    neuron = spike_i[kept]
    counts = np.zeros((n_samples, n_neurons), dtype=np.int32)
    np.add.at(counts, (sample, neuron), 1)
    first = np.full((n_samples, n_neurons), np.inf)
    np.minimum.at(first, (sample, neuron), offset - sample * period_ms)
    return counts, first


def pseudo_labels(counts, first_spike_ms) -> np.ndarray:
    """The neuron with the most spikes per sample; ties go to the earliest first spike; a
    silent sample gets ``SILENT`` (-1)."""
    counts = np.asarray(counts)
    most = counts.max(axis=1, keepdims=True)
    tied = (counts == most) & (most > 0)
    # among the tied neurons, the earliest first spike (argmin picks the lowest index on a tie)
    labels = np.argmin(np.where(tied, first_spike_ms, np.inf), axis=1)
    return np.where(most[:, 0] > 0, labels, SILENT)


def cluster_accuracy(true, clusters, mapping: str) -> float:
    """Fraction of samples whose cluster maps to their class. ``hungarian``: one cluster per
    class at most (scipy's linear_sum_assignment on the contingency table); ``majority``: each
    cluster takes its most frequent class. Silent samples (-1) are never correct."""
    from scipy.optimize import linear_sum_assignment

    true, clusters = np.asarray(true), np.asarray(clusters)
    assigned = clusters != SILENT
    classes, class_index = np.unique(true, return_inverse=True)
    names, cluster_index = np.unique(clusters[assigned], return_inverse=True)
    table = np.zeros((len(names), len(classes)), dtype=int)
    np.add.at(table, (cluster_index, class_index[assigned]), 1)
    if mapping == "hungarian":
        rows, columns = linear_sum_assignment(table, maximize=True)
        correct = table[rows, columns].sum()
    elif mapping == "majority":
        correct = table.max(axis=1).sum()
    else:
        raise ValueError(f"unknown mapping {mapping!r}; choose hungarian or majority")
    return float(correct / len(true))


def mapping_for(n_clusters: int, n_classes: int) -> str:
    """Hungarian matching for K = classes (K < classes too), majority mapping for K > classes."""
    return "majority" if n_clusters > n_classes else "hungarian"


def nmi(true, clusters) -> float:
    """Normalised mutual information (scikit-learn, arithmetic mean); silent samples form a
    cluster of their own."""
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(true, clusters, average_method="arithmetic"))


def clustering_metrics(true, clusters, n_clusters: int) -> dict:
    """ACC (mapping stated), NMI, ARI, cluster-size entropy (normalised by log K: 1 for equal
    sizes, 0 for one cluster), empty clusters out of K, and silent samples."""
    from sklearn.metrics import adjusted_rand_score

    true, clusters = np.asarray(true), np.asarray(clusters)
    mapping = mapping_for(n_clusters, len(np.unique(true)))
    sizes = np.bincount(clusters[clusters != SILENT], minlength=n_clusters)
    share = sizes[sizes > 0] / max(sizes.sum(), 1)
    return {
        "acc": cluster_accuracy(true, clusters, mapping),
        "mapping": mapping,
        "nmi": nmi(true, clusters),
        "ari": float(adjusted_rand_score(true, clusters)),
        "size_entropy": float(-(share * np.log(share)).sum() / math.log(n_clusters)),
        "empty_clusters": int(np.sum(sizes == 0)),
        "silent_samples": int(np.sum(clusters == SILENT)),
    }


def iso_accuracy_epochs(kmeans_accuracy, stdp_accuracy) -> tuple[int, int | None]:
    """(E_km, E_stdp): the first epochs (1-based) at which each arm reaches the k-means arm's
    final accuracy; E_stdp is None when the STDP arm never does."""
    goal = kmeans_accuracy[-1]
    e_km = int(np.argmax(np.asarray(kmeans_accuracy) >= goal)) + 1
    reached = np.flatnonzero(np.asarray(stdp_accuracy) >= goal)
    return e_km, (int(reached[0]) + 1 if reached.size else None)


def _replica_spikes(data: dict, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(counts, first spike ms) of each replica of the K layer: replicas x samples x K (none
    in results saved before replicas were run)."""
    if f"d1_replica_counts_k{k}" not in data:
        return np.zeros((0, 0, k)), np.zeros((0, 0, k))
    return tuple(
        np.moveaxis(data[f"d1_replica_{name}_k{k}"], 1, 0) for name in ("counts", "first_ms")
    )


def _d1(config: dict, data: dict) -> dict:
    true = data["labels"][data["order"]]
    result = {}
    for k in config["cluster_sizes"]:
        stdp = pseudo_labels(data[f"d1_counts_k{k}"], data[f"d1_first_ms_k{k}"])
        result[k] = {
            "stdp": clustering_metrics(true, stdp, k),
            "kmeans": clustering_metrics(true, data[f"d1_kmeans_k{k}"], k),
            "replicas": [
                clustering_metrics(true, pseudo_labels(counts, first), k)
                for counts, first in zip(*_replica_spikes(data, k), strict=True)
            ],
            "spikes_per_sample": float(data[f"d1_counts_k{k}"].sum(axis=1).mean()),
            # absent from results saved before the control was run
            "oracle": clustering_metrics(
                true, pseudo_labels(data[oracle], data[f"d1_oracle_first_ms_k{k}"]), k
            )
            if (oracle := f"d1_oracle_counts_k{k}") in data
            else None,
            "rules": dict(
                zip(data["rule_names"].tolist(), data[f"d1_rules_k{k}"].tolist(), strict=True)
            ),
        }
    return result


def _loop(config: dict, data: dict) -> dict:
    true = data["labels"][data["order"]]
    result = {}
    for arm in config["loop_arms"]:
        labels = data[f"loop_pseudo_{arm}"]
        result[arm] = {
            "per_epoch": [clustering_metrics(true, row, config["loop_clusters"]) for row in labels],
            "epoch_to_epoch_nmi": [nmi(a, b) for a, b in zip(labels[:-1], labels[1:], strict=True)],
            "probe_accuracy": data[f"loop_probe_{arm}"].tolist(),
            "loss": data[f"loop_loss_{arm}"].tolist(),
        }
    if set(result) == {"stdp", "kmeans"}:
        e_km, e_stdp = iso_accuracy_epochs(
            result["kmeans"]["probe_accuracy"], result["stdp"]["probe_accuracy"]
        )
        result["e_km"], result["e_stdp"] = e_km, e_stdp
        result["iso_accuracy_ratio"] = None if e_stdp is None else e_km / e_stdp
    return result


def _spread(values: np.ndarray) -> str:
    spread = f" ± {values.std(ddof=1):.3f}" if len(values) > 1 else ""
    return f"{values.mean():.3f}{spread}"


def _row(values: dict) -> list:
    return [
        f"ACC {values['acc']:.3f} ({values['mapping']})",
        f"NMI {values['nmi']:.3f}",
        f"ARI {values['ari']:.3f}",
        f"size entropy {values['size_entropy']:.2f}",
        f"{values['empty_clusters']} empty",
        f"{values['silent_samples']} silent",
    ]


def evaluate(config: dict, data: dict) -> dict:
    d1 = _d1(config, data)
    metrics = {"d1": {str(k): value for k, value in d1.items()}}
    n = len(data["order"])
    targets = []
    for k, result in d1.items():
        many = k > len(np.unique(data["labels"]))
        targets.append(
            target(
                f"C1-km-{k}",
                f"D1 k-means, K = {k}, raw 64-d digits ({n} samples, seed {config['seed']})",
                _row(result["kmeans"]),
                D1_ESTIMATES["kmeans_nmi"] + " (NMI)",
                None,
            )
        )
        targets.append(
            target(
                f"C1-stdp-{k}",
                f"D1 STDP layer, K = {k} neurons, same input Poisson-encoded "
                f"({result['spikes_per_sample']:.1f} spikes per sample in the labelling pass)",
                _row(result["stdp"]),
                D1_ESTIMATES["stdp_acc_many" if many else "stdp_nmi_10"],
                None,
            )
        )
        seeds = [result["stdp"], *result["replicas"]]
        acc = np.array([layer["acc"] for layer in seeds])
        nmi_values = np.array([layer["nmi"] for layer in seeds])
        silent = [layer["silent_samples"] for layer in seeds]
        if many:
            wanted = f"majority ACC ≥ {ISSUE_TARGETS['acc_many']:.2f}, 0 silent"
            passed = acc.mean() >= ISSUE_TARGETS["acc_many"]
        else:
            wanted = (
                f"NMI ≥ {ISSUE_TARGETS['nmi_k_classes']:.2f}, ACC ≥ "
                f"{ISSUE_TARGETS['acc_k_classes']:.2f}, 0 silent"
            )
            passed = (
                nmi_values.mean() >= ISSUE_TARGETS["nmi_k_classes"]
                and acc.mean() >= ISSUE_TARGETS["acc_k_classes"]
            )
        over = f"mean ± s.d. over {len(seeds)} weight seeds" if len(seeds) > 1 else "one seed"
        targets.append(
            target(
                f"C4-stdp-{k}",
                f"D1 STDP layer, K = {k}: the issue's target at quick scale ({over}; each seed; "
                "silent samples of each)",
                [
                    f"ACC {_spread(acc)}",
                    f"NMI {_spread(nmi_values)}",
                    "ACC " + " / ".join(f"{value:.3f}" for value in acc),
                    "NMI " + " / ".join(f"{value:.3f}" for value in nmi_values),
                    " / ".join(str(count) for count in silent) + " silent",
                ],
                wanted,
                # the issue sized it for all 1797 digits (quick scale); smaller runs: measured
                bool(passed and not any(silent)) if n == 1797 else None,
            )
        )
        if result["oracle"] is not None:
            oracle = result["oracle"]
            targets.append(
                target(
                    f"C6-{k}",
                    f"D1 control, K = {k}: k-means' {k} centroids as frozen weights of the "
                    "same layer (rules, input spikes, readout), beside the STDP layer (mean "
                    "over its weight seeds) and k-means itself",
                    [
                        f"ACC {oracle['acc']:.3f} ({oracle['mapping']})",
                        f"NMI {oracle['nmi']:.3f}",
                        f"{oracle['silent_samples']} silent",
                        f"STDP − control: ACC {acc.mean() - oracle['acc']:+.3f}, NMI "
                        f"{nmi_values.mean() - oracle['nmi']:+.3f}",
                        f"k-means ACC {result['kmeans']['acc']:.3f}",
                    ],
                    "the ideal prototype layer under this spike code; what separates it from "
                    "k-means is the code and readout, not learning",
                    None,
                )
            )
        rules = result["rules"]
        if "learning_wins" in config and "tau_theta_s" in rules:
            targets.append(
                target(
                    f"CR-{k}",
                    f"tuning rules of the K = {k} layer, rule → value (C1-C2 replace R1 and "
                    f"R4; inhibition {config['inhibition']}, labelling-pass θ "
                    f"{config['test_theta']})",
                    rule_derivation(
                        rules,
                        ltd_ratio=config["ltd_ratio"],
                        learning_wins=config["learning_wins"],
                        theta_set_point=config["theta_set_point"],
                        threshold_distance=rules["threshold_distance_V"],
                    ),
                    "features.md §1 Corrections",
                    None,
                )
            )
    if config["loop_epochs"] > 0:
        loop = _loop(config, data)
        metrics["loop"] = loop
        for arm in config["loop_arms"]:
            per_epoch = loop[arm]["per_epoch"]
            targets.append(
                target(
                    f"C2-{arm}",
                    f"pseudo-label loop, {arm} arm (K = {config['loop_clusters']}): NMI to the "
                    "true labels per epoch; last epoch-to-epoch NMI; linear-probe accuracy "
                    "per epoch",
                    [
                        "NMI " + " → ".join(f"{m['nmi']:.2f}" for m in per_epoch),
                        f"epoch-to-epoch NMI {loop[arm]['epoch_to_epoch_nmi'][-1]:.2f}"
                        if loop[arm]["epoch_to_epoch_nmi"]
                        else "one epoch only",
                        "probe " + " → ".join(f"{a:.2f}" for a in loop[arm]["probe_accuracy"]),
                    ],
                    "STDP pseudo-labels improve over epochs (features.md §3) [P]",
                    None,
                )
            )
        if "stdp" in loop:
            nmis = [m["nmi"] for m in loop["stdp"]["per_epoch"]]
            floor = ISSUE_TARGETS["loop_nmi"]
            targets.append(
                target(
                    "C5",
                    "pseudo-label loop, stdp arm: NMI to the true labels from the first epoch "
                    "on (lowest), and whether it never falls below its first epoch's",
                    [
                        f"lowest {min(nmis):.2f}",
                        "not falling"
                        if min(nmis) >= nmis[0]
                        else f"falls to {min(nmis):.2f} from {nmis[0]:.2f}",
                    ],
                    f"≥ {floor} from epoch 1, not falling (issue target)",
                    bool(min(nmis) >= floor and min(nmis) >= nmis[0]) if n == 1797 else None,
                )
            )
        ratio = loop.get("iso_accuracy_ratio")
        targets.append(
            target(
                "C3",
                "iso-accuracy ratio E_km/E_stdp (first epochs at which each arm's probe "
                "reaches the k-means arm's final accuracy)",
                f"{loop['e_km']}/{loop['e_stdp']} = {ratio:.2f}"
                if ratio is not None
                else f"STDP arm never reaches it (E_km = {loop['e_km']})"
                if "e_km" in loop
                else "needs both arms",
                "3.5× on Tiny ImageNet (paper); reported whatever its value",
                None,
            )
        )
    metrics["targets"] = targets
    return metrics


def plot_clustering_comparison(config: dict, data: dict, metrics: dict):
    """NMI, ACC, ARI and cluster-size entropy per K, STDP layer versus k-means (D1)."""
    import matplotlib.pyplot as plt

    d1 = _d1(config, data)
    sizes = list(d1)
    panels = (
        ("nmi", "NMI"),
        ("acc", "cluster accuracy"),
        ("ari", "ARI"),
        ("size_entropy", "cluster-size entropy / log K"),
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 3.6), layout="constrained")
    width = 0.38
    for ax, (key, title) in zip(axes, panels, strict=True):
        for shift, arm, color in ((-0.5, "stdp", "C0"), (0.5, "kmeans", "0.55")):
            values = [d1[k][arm][key] for k in sizes]
            x = np.arange(len(sizes)) + shift * width
            ax.bar(
                x, values, width, color=color, label="STDP layer" if arm == "stdp" else "k-means"
            )
            for position, value in zip(x, values, strict=True):
                ax.text(position, value + 0.01, f"{value:.2f}", ha="center", fontsize=7)
        ax.set_xticks(
            np.arange(len(sizes)),
            [f"K = {k}\n{d1[k]['stdp']['mapping']}" if key == "acc" else f"K = {k}" for k in sizes],
        )
        ax.set_ylim(0, 1.08)
        ax.set_title(title)
    axes[0].legend(frameon=False, fontsize=8, loc="upper right")
    silent = ", ".join(f"K={k}: {d1[k]['stdp']['silent_samples']}" for k in sizes)
    fig.suptitle(
        f"D1: STDP clustering vs k-means on {len(data['order'])} digits (64-d, "
        f"max rate {config['max_rate_hz']:g} Hz); silent samples {silent}"
    )
    return fig


def plot_pseudo_label_epochs(config: dict, data: dict, metrics: dict):
    """Both arms of the pseudo-label loop per epoch: NMI of the pseudo-labels to the truth,
    epoch-to-epoch NMI, linear-probe accuracy of the body, cluster-size entropy and the
    fraction of samples left without a label."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 5, figsize=(15, 3.4), layout="constrained")
    if config["loop_epochs"] == 0:
        for ax in axes:
            ax.text(0.5, 0.5, "loop not run (loop_epochs = 0)", ha="center", transform=ax.transAxes)
        return fig
    loop = _loop(config, data)
    epochs = np.arange(1, config["loop_epochs"] + 1)
    for arm, color, name in (("stdp", "C0", "STDP layer"), ("kmeans", "0.45", "k-means")):
        if arm not in loop:
            continue
        result = loop[arm]
        axes[0].plot(epochs, [m["nmi"] for m in result["per_epoch"]], "o-", color=color, label=name)
        axes[1].plot(epochs[1:], result["epoch_to_epoch_nmi"], "o-", color=color)
        axes[2].plot(epochs, result["probe_accuracy"], "o-", color=color)
        axes[3].plot(epochs, [m["size_entropy"] for m in result["per_epoch"]], "o-", color=color)
        silent = [m["silent_samples"] / len(data["order"]) for m in result["per_epoch"]]
        axes[4].plot(epochs, silent, "o-", color=color)
    titles = (
        "NMI(pseudo-labels, truth)",
        "NMI(epoch e, epoch e − 1)",
        "linear probe of the body (test acc.)",
        "cluster-size entropy / log K",
        "silent samples (fraction)",
    )
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_xticks(epochs)
        ax.set_ylim(0, 1.02)
    axes[0].legend(frameon=False, fontsize=8)
    if "e_km" not in loop:
        ratio = "needs both arms"
    elif loop["e_stdp"] is None:
        ratio = f"STDP never reaches k-means' final probe accuracy (E_km = {loop['e_km']})"
    else:
        ratio = f"{loop['e_km']}/{loop['e_stdp']}"
    fig.suptitle(
        f"Pseudo-label loop (K = {config['loop_clusters']}, body 64→64 ReLU, "
        f"{len(data['order'])} digits); iso-accuracy ratio E_km/E_stdp: {ratio}"
    )
    return fig


FIGURES = {
    "clustering_comparison": plot_clustering_comparison,
    "pseudo_label_epochs": plot_pseudo_label_epochs,
}
