"""Config values that passed the type and range rules and then crashed a run, or ran on NaN."""

import dataclasses
import json

import pytest

from experiments import event_features, neuron_comparison
from experiments.cli import EXIT_BAD_INPUT, main
from experiments.configs import ConfigError, checked


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
            ["event_features", "--config", "sweep=((1.0, 1.0, 1.0), (1.0, -1e999, 1.0))"],
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
    nested = dataclasses.replace(event_features.SCALES["tiny"], sweep=((1.0, float("nan"), 1.0),))
    with pytest.raises(ConfigError, match="sweep must hold finite numbers"):
        checked(event_features, nested)


def _refused(argv, message, tmp_path, capsys):
    folders = ["--results-dir", str(tmp_path / "r"), "--build-dir", str(tmp_path / "b")]
    code = main([*argv, "--scale", "tiny", *folders])
    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert message in error and error.startswith("stdplab: error:")
    assert error.count("\n") == 1
    assert not (tmp_path / "b").exists() and not (tmp_path / "r").exists()
