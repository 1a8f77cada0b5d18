"""Config values that passed the type and range rules and then crashed a run, or ran on NaN."""

import dataclasses
import json

import pytest

from experiments import event_features, neuron_comparison
from experiments.runner.cli import EXIT_BAD_INPUT, main
from experiments.runner.configs import ConfigError, checked
from models.base import ModelError


@pytest.mark.parametrize(
    "argv, message",
    [
        (["neuron_comparison", "--config", "dt_ms=1e999"], "dt_ms must hold finite numbers"),
        (["song_stdp", "--config", "duration_s=1e999"], "duration_s must hold finite numbers"),
        (
            ["event_features", "--config", "frozen_gains=(1.0, 1e999)"],
            "frozen_gains must hold finite numbers",
        ),
        (
            ["event_features", "--config", "sweep=((1.0, 1.0, 1.0, 1.0), (1.0, -1e999, 1.0, 1.0))"],
            "sweep must hold finite numbers",
        ),
        (
            ["neuron_comparison", "--neuron", "lif", "--set", "lif.tau_m=(1e999-1e999)*ms"],
            "is not finite",
        ),
    ],
)
def test_inf_and_nan_are_refused_with_the_field_named(argv, message, tmp_path, capsys):
    _refused(["run", *argv], message, tmp_path, capsys)


def test_a_nan_from_a_task_file_is_refused():
    """JSON, the format of a sweep worker's task file, can carry NaN, which no literal can."""
    fields = json.loads('{"dt_ms": NaN, "neurons": ["lif"]}')
    with pytest.raises(ConfigError, match="dt_ms must hold finite numbers"):
        checked(neuron_comparison, neuron_comparison.Config(**fields))
    nested = dataclasses.replace(
        event_features.SCALES["tiny"], sweep=((1.0, float("nan"), 1.0, 1.0),)
    )
    with pytest.raises(ConfigError, match="sweep must hold finite numbers"):
        checked(event_features, nested)


@pytest.mark.parametrize(
    "setting, message",
    [
        # plasticity_curves: each of these ended in a traceback
        ("window_rate_hz=0", "window_rate_hz and every triplet_rates_hz must be positive"),
        ("triplet_rates_hz=(0.0, 10.0)", "every triplet_rates_hz must be positive"),
        ("window_lags_ms=()", "window_lags_ms must hold at least one value"),
        ("triplet_lags_ms=()", "triplet_lags_ms must hold at least one value"),
        ("triplet_rates_hz=()", "triplet_rates_hz must hold at least one value"),
        ("drift_post_rates_hz=()", "drift_post_rates_hz must hold at least one value"),
        ("schemes=()", "schemes must hold at least one value"),
        ("triplet_sets=()", "triplet_sets must hold at least one value"),
        ("w0=0", "0 < w0 < w_max"),
        ("w_max=1.0", "0 < w0 < w_max"),
        ("dt_ms=20.0", "dt_ms must be at most 10 ms"),
        # ran, but on a weight pinned to its bound: a drift of NaN
        ("drift_w0=0", "drift_w0 must be positive"),
    ],
)
def test_plasticity_curves_values_that_crashed_are_refused(setting, message, tmp_path, capsys):
    argv = ["run", "plasticity_curves", "--config", setting]
    _refused(argv, message, tmp_path, capsys)


@pytest.mark.parametrize(
    "setting, message",
    [
        ("n_neurons=100000", "n_neurons must be between 2 and 1005 with these 30 layers"),
        ("w_sum=0", "w_sum must be positive"),
        ("w_max=0", "w_max must be positive"),
        ("spikes_per_sample=0", "spikes_per_sample must be positive"),
        ("dt_ms=0.0001", "dt_ms must be at least 0.001"),
        ("dt_ms=1000", "sample_ms must be at least dt_ms"),
        ("n_train=1790", "n_train + n_test must be at most 1797"),
    ],
)
def test_event_features_values_that_crashed_are_refused(setting, message, tmp_path, capsys):
    argv = ["run", "event_features", "--config", setting]
    _refused(argv, message, tmp_path, capsys)


def test_the_largest_layer_size_offered_is_accepted():
    import re

    # without the k-means oracle (which needs a training sample per neuron)
    tiny = dataclasses.replace(event_features.SCALES["tiny"], oracle=False)
    with pytest.raises(ModelError, match="n_neurons must be between 2 and") as refused:
        event_features.check(dataclasses.replace(tiny, n_neurons=100_000))
    largest, layers = map(
        int, re.search(r"and (\d+) with these (\d+) layers", str(refused.value)).groups()
    )
    event_features.check(dataclasses.replace(tiny, n_neurons=largest))
    with pytest.raises(ModelError, match=f"between 2 and {largest} "):
        event_features.check(dataclasses.replace(tiny, n_neurons=largest + 1))

    # the bound is the memory cap: N x inputs afferent and N x (N - 1) lateral synapses a layer
    def synapses(n):
        return layers * (event_features.N_INPUTS * n + n * (n - 1))

    assert synapses(largest) <= event_features.MAX_SYNAPSES < synapses(largest + 1)


def test_samples_too_short_to_hold_events_are_a_clear_error(tmp_path, capsys):
    """Whether a sample holds events is known once the data is read, not from the config."""
    argv = [
        "run",
        "event_features",
        "--scale",
        "tiny",
        "--device",
        "runtime",
        "--runtime-target",
        "numpy",
        "--config",
        "sample_ms=1.0",
        "--config",
        "neurons=('lif',)",
        "--config",
        "sweep=()",
        "--quiet",
        "--results-dir",
        str(tmp_path / "r"),
        "--build-dir",
        str(tmp_path / "b"),
    ]
    assert main(argv) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "training samples have events in their first 1.0 ms" in error
    assert error.count("\n") == 1 and not list((tmp_path / "r").rglob("metrics.json"))


def _refused(argv, message, tmp_path, capsys):
    folders = ["--results-dir", str(tmp_path / "r"), "--build-dir", str(tmp_path / "b")]
    code = main([*argv, "--scale", "tiny", "--quiet", *folders])
    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert message in error and error.startswith("stdplab: error:")
    assert error.count("\n") == 1
    assert not (tmp_path / "b").exists() and not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "experiment, setting, message",
    [
        ("timing_learning", "variants=()", "variants must hold at least one value"),
        ("eligibility_windows", "lags=()", "lags must hold at least one value"),
        ("eligibility_windows", "izhikevich_lags_ms=()", "izhikevich_lags_ms must hold"),
        ("eligibility_windows", "alpha=1e9", "alpha = exp(-dt/tau_m) must lie in (0, 1)"),
        ("neuron_comparison", "gallery_phase_ms=0", "stimulus phases of at least 1 ms"),
        # the stimulus table at 1 ms rows: 56 GB, killed by the kernel
        ("neuron_comparison", "gallery_phase_ms=1e9", "at most 100000 ms in all"),
        ("event_features", "n_neurons=1", "n_neurons at least 2"),
        ("event_features", "n_train=1", "n_train must be at least 2"),
        ("vq_features", "n_test=10000000", "asks for more digits test patches"),
        ("stdp_clustering", "max_rate_hz=1e-9", "drew no input spike"),
    ],
)
def test_values_found_by_probing_every_field_are_refused(
    experiment, setting, message, tmp_path, capsys
):
    _refused(["run", experiment, "--config", setting], message, tmp_path, capsys)


def test_a_gallery_too_short_for_its_patterns_reports_them_missing(tmp_path, capsys):
    """1-ms phases show no firing pattern: each is a FAIL row, not an IndexError."""
    argv = [
        "run",
        "neuron_comparison",
        "--scale",
        "tiny",
        "--device",
        "runtime",
        "--runtime-target",
        "numpy",
        "--neuron",
        "lif",
        "--config",
        "gallery_phase_ms=1",
        "--quiet",
        "--results-dir",
        str(tmp_path),
    ]
    assert main(argv) == 0
    (folder,) = (tmp_path / "neuron_comparison").iterdir()
    targets = json.loads((folder / "metrics.json").read_text())["targets"]
    assert [row["passed"] for row in targets if row["key"].startswith("N1-")] == [False] * 7


@pytest.mark.parametrize(
    "experiment, setting, message",
    [
        # each crashed inside the run with a traceback
        ("event_features", "frozen_gains=('a',)", "frozen_gains must be a tuple of numbers"),
        ("plasticity_curves", "triplet_rates_hz=(10.0, None)", "a tuple of numbers"),
        ("eligibility_windows", "izhikevich_pulse=(0,)", "a tuple of 3 items (integer, integer"),
        ("eligibility_windows", "lags=(1.5,)", "lags must be a tuple of integers"),
        ("event_features", "sweep=((1.0, 2.0),)", "(number, number, number, number) tuples"),
        ("neuron_comparison", "fi_max_current_na=(('lif', True),)", "(string, number) tuples"),
    ],
)
def test_tuple_items_follow_the_fields_annotation(experiment, setting, message, tmp_path, capsys):
    _refused(["run", experiment, "--config", setting], message, tmp_path, capsys)
