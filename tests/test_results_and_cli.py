"""Results on disk, the command line, and figure scripts at tiny size."""

import json

import numpy as np
import pytest

from analysis.figures import latest_result, load_result, render_all
from experiments import results
from experiments.cli import EXIT_BAD_INPUT, main


def _write(root, config, value=1.0):
    return results.write_result(
        root,
        "demo",
        config,
        {"x": np.array([value])},
        {"m": value},
        results.provenance("runtime", seed=4),
    )


def test_label_is_a_stable_hash_of_the_whole_config():
    assert results.config_label({"a": 1, "b": [1, 2]}) == results.config_label(
        {"b": [1, 2], "a": 1}
    )
    assert results.config_label({"a": 1}) != results.config_label({"a": 2})


def test_result_carries_provenance(tmp_path):
    directory = _write(tmp_path, {"seed": 4})
    _, data, metrics = load_result(directory)
    record = metrics["provenance"]
    assert record["seed"] == 4 and record["device"] == "runtime"
    assert record["brian2"] == "2.10.1"
    assert {"numpy", "python", "git_commit", "git_dirty", "finished_at"} <= set(record)
    assert data["x"][0] == 1.0


def test_rewriting_a_result_replaces_it_whole(tmp_path):
    first = _write(tmp_path, {"seed": 1}, value=1.0)
    second = _write(tmp_path, {"seed": 1}, value=2.0)
    assert first == second
    assert load_result(second)[1]["x"][0] == 2.0
    assert [p.name for p in (tmp_path / "demo").iterdir()] == [second.name]  # nothing left over


def test_a_failed_write_leaves_neither_a_result_nor_debris(tmp_path, monkeypatch):
    _write(tmp_path, {"seed": 1}, value=1.0)

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(results.np, "savez_compressed", disk_full)
    with pytest.raises(OSError):
        _write(tmp_path, {"seed": 1}, value=2.0)
    with pytest.raises(OSError):
        _write(tmp_path, {"seed": 2}, value=2.0)
    survivors = list((tmp_path / "demo").iterdir())
    assert len(survivors) == 1 and load_result(survivors[0])[1]["x"][0] == 1.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "neuron_comparison", "--neuron", "hodgkin_huxley"], "unknown neuron model"),
        (["run", "neuron_comparison", "--set", "lif.tau_m=20"], "must be in units of second"),
        (["run", "neuron_comparison", "--set", "lif.tau_m=20*mV"], "must be in units of second"),
        (
            ["run", "neuron_comparison", "--set", "lif.equation=dv/dt = (E_L - v/tau_m : volt"],
            "cannot parse the equation",
        ),
        (
            [
                "run",
                "neuron_comparison",
                "--set",
                "lif.equation=dv/dt = (E_L - v)/tau_m + I : volt",
            ],
            "inconsistent units",
        ),
        (
            ["run", "neuron_comparison", "--set", "izhikevich.tau_m=1*ms", "--neuron", "lif"],
            "not among the neurons run",
        ),
        (["run", "plasticity_curves", "--config", "window_rate=2"], "no config field"),
        (["run", "plasticity_curves", "--config", "pair_set='bi-poo'"], "unknown pair-STDP set"),
        (["run", "plasticity_curves", "--scale", "huge"], "unknown scale"),
        (["run", "song_stdp", "--neuron", "lif"], "Use lif_cond"),
    ],
)
def test_bad_input_gets_one_clear_line_and_nothing_is_built(argv, message, tmp_path, capsys):
    code = main([*argv, "--results-dir", str(tmp_path / "r"), "--build-dir", str(tmp_path / "b")])
    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert message in error and error.startswith("stdplab: error:")
    assert not (tmp_path / "b").exists() and not (tmp_path / "r").exists()


def test_unknown_experiment_and_device_are_refused_by_the_parser(capsys):
    for argv in (["run", "stdp_curves"], ["run", "song_stdp", "--device", "gpu"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_runs_an_experiment_with_a_changed_parameter(tmp_path, capsys):
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
        "--set",
        "lif.tau_m=10*ms",
        "--results-dir",
        str(tmp_path),
    ]
    assert main(argv) == 0
    config, _, metrics = load_result(latest_result(tmp_path, "neuron_comparison"))
    assert config["overrides"] == [["lif", "tau_m", "10*ms"]]
    assert config["neurons"] == ["lif"]
    assert metrics["scale"] == "tiny, modified"
    assert all(row["passed"] for row in metrics["targets"])  # closed form with τ_m = 10 ms too
    assert "[    pass] N2" in capsys.readouterr().out


def test_every_figure_renders_at_tiny_size_and_the_report_lists_the_targets(tiny_results, tmp_path):
    written = render_all(figures_dir=tmp_path, results=tiny_results, formats=("png",))
    pngs = [p for p in written if p.suffix == ".png"]
    expected = {
        "stdp_window",
        "triplet_frequency",
        "triplet_poisson_drift",
        "song_stdp",
        "song_rate_regulation",
        "izhikevich_gallery",
        "fi_curves",
        "eligibility_windows",
        "eligibility_two_halves",
        "eligibility_izhikevich",
        "timing_rasters",
        "timing_learning_curves",
        "timing_comparison",
        "event_receptive_fields",
        "event_accuracy",
        "event_controls_sweep",
        "vq_receptive_fields",
        "vq_reconstruction",
        "clustering_comparison",
        "pseudo_label_epochs",
    }
    assert {p.stem for p in pngs} == expected
    assert all(p.stat().st_size > 10_000 for p in pngs)
    report = (tmp_path / "REPORT.md").read_text()
    for name, directory in tiny_results.items():
        metrics = json.loads((directory / "metrics.json").read_text())
        assert f"## {name}" in report
        for row in metrics["targets"]:
            assert row["key"] in report
