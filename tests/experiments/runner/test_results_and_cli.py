"""Results on disk, the command line, and figure scripts at tiny size."""

import json

import numpy as np
import pytest

from analysis.figures import load_result, render_all
from experiments import EXPERIMENTS, get_analysis, get_experiment
from experiments.runner import results
from experiments.runner.cli import EXIT_BAD_INPUT, main


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


@pytest.mark.parametrize(
    "argv, command",
    [
        (
            ["/venv/bin/stdplab", "run", "song_stdp", "--config", "a=b c"],
            "stdplab run song_stdp --config 'a=b c'",
        ),
        (["/repo/experiments/__main__.py", "report"], "stdplab report"),
        (["fit.py", "--fast"], "python fit.py --fast"),
    ],
)
def test_a_result_records_the_command_that_made_it(argv, command):
    assert results.command_line(argv) == command


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
    with pytest.raises(results.ResultsError, match="nothing was kept"):
        _write(tmp_path, {"seed": 1}, value=2.0)
    with pytest.raises(results.ResultsError, match="No space left"):
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
        # parameters: unknown, out of range
        (["run", "neuron_comparison", "--set", "lif.tau_x=1*ms"], "lif has no parameter tau_x"),
        (["run", "neuron_comparison", "--set", "lif.tau_m=-10*ms"], "must be positive"),
        (["run", "neuron_comparison", "--set", "lif.t_ref=-1*ms"], "must be non-negative"),
        (["run", "neuron_comparison", "--set", "lif.R_m=0*ohm"], "must be positive"),
        (["run", "neuron_comparison", "--set", "lif.tau_m=1*"], "cannot read '1*'"),
        (["run", "neuron_comparison", "--set", "tau_m=1*ms"], "MODEL.PARAMETER=VALUE"),
        (["run", "plasticity_curves", "--set", "lif.tau_m=1*ms"], "takes no model overrides"),
        (
            ["run", "event_features", "--neuron", "izhikevich", "--set", "lif.tau_m=10*ms"],
            "not among the neurons run",
        ),
        # config values: wrong type, out of range
        (["run", "neuron_comparison", "--config", "fi_points=abc"], "must be an integer"),
        (["run", "neuron_comparison", "--config", "fi_points=2.5"], "must be an integer"),
        (["run", "neuron_comparison", "--config", "fi_points=0"], "at least 1 (a count)"),
        (["run", "neuron_comparison", "--config", "dt_ms=0"], "positive (a time step)"),
        (["run", "neuron_comparison", "--config", "neurons=()"], "at least one model"),
        (["run", "neuron_comparison", "--config", "neurons=lif"], "must be a tuple"),
        (["run", "song_stdp", "--config", "input_rate_hz=-5"], "not negative"),
        (["run", "timing_learning", "--config", "trial_ms=-1"], "not negative"),
        (["run", "timing_learning", "--config", "tau_m_ms=0"], "positive (a time constant)"),
        (["run", "timing_learning", "--config", "reference_iterations=0"], "at least 1 (a count)"),
        (["run", "plasticity_curves", "--seed", "-1"], "seed must be an integer from 0 to 2**32"),
        (["run", "song_stdp", "--seed", str(2**32)], "seed must be an integer from 0 to 2**32"),
        (["run", "plasticity_curves", "--config", "overrides=()"], "no config field"),
        (["run", "vq_features", "--config", "n_train=0"], "at least 1"),
        (["run", "stdp_clustering", "--config", "neuron=izhikevich:XX"], "unknown"),
        # data that is not there
        (
            [
                "run",
                "event_features",
                "--config",
                "dataset=nmnist_folder",
                "--config",
                "dataset_folder=/nonexistent/nmnist",
            ],
            "does not exist",
        ),
        (["run", "event_features", "--config", "dataset=cifar"], "unknown dataset"),
    ],
)
def test_bad_input_gets_one_clear_line_and_nothing_is_built(argv, message, tmp_path, capsys):
    code = main([*argv, "--results-dir", str(tmp_path / "r"), "--build-dir", str(tmp_path / "b")])
    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert message in error and error.startswith("stdplab: error:")
    assert error.count("\n") == 1  # one line
    assert not (tmp_path / "b").exists() and not (tmp_path / "r").exists()


def _unreadable_data(root):
    """An N-MNIST folder whose first training recording is cut in the middle of a record."""
    from experiments.data import events

    samples, labels = events.emulated_nmnist(6, seed=2)
    for k, (sample, label) in enumerate(zip(samples, labels, strict=True)):
        events.write_nmnist(root / ("Train" if k < 4 else "Test") / str(label) / f"{k}.bin", sample)
    victim = sorted((root / "Train").rglob("*.bin"))[0]
    victim.write_bytes(victim.read_bytes()[:-3])
    return root, victim


def test_unreadable_data_names_the_file_and_nothing_is_written(tmp_path, capsys):
    folder, victim = _unreadable_data(tmp_path / "nmnist")
    # no k-means oracle: four training samples cannot seed a centroid per neuron
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
        "dataset=nmnist_folder",
        "--config",
        f"dataset_folder={folder}",
        "--config",
        "n_train=4",
        "--config",
        "n_test=2",
        "--config",
        "oracle=False",
        "--quiet",
        "--results-dir",
        str(tmp_path / "r"),
        "--build-dir",
        str(tmp_path / "b"),
    ]
    assert main(argv) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith("stdplab: error:") and error.count("\n") == 1
    assert str(victim) in error and "truncated record" in error
    assert not list((tmp_path / "r").rglob("metrics.json"))


def test_a_data_folder_with_too_few_recordings_is_refused_before_the_build(tmp_path, capsys):
    folder, _ = _unreadable_data(tmp_path / "nmnist")
    argv = [
        "run",
        "event_features",
        "--config",
        "dataset=nmnist_folder",
        "--config",
        f"dataset_folder={folder}",
        "--config",
        "n_train=4",
        "--config",
        "n_test=300",
        "--results-dir",
        str(tmp_path / "r"),
        "--build-dir",
        str(tmp_path / "b"),
    ]
    assert main(argv) == EXIT_BAD_INPUT
    assert "holds 2 test recordings, fewer than n_test=300" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_a_read_only_results_folder_is_refused_before_anything_runs(
    read_only_folder, tmp_path, capsys
):
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
        "--results-dir",
        str(read_only_folder / "results"),
        "--build-dir",
        str(tmp_path / "b"),
    ]
    assert main(argv) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.startswith("stdplab: error: cannot write results to")
    assert "--results-dir" in error and error.count("\n") == 1
    assert not (tmp_path / "b").exists()  # refused before the build


def test_a_write_that_fails_midway_keeps_the_earlier_result(tmp_path, monkeypatch, capsys):
    argv = [
        "run",
        "neuron_comparison",
        "--scale",
        "tiny",
        "--device",
        "runtime",
        "--neuron",
        "lif",
        "--runtime-target",
        "numpy",
        "--results-dir",
        str(tmp_path / "r"),
    ]
    assert main(argv) == 0
    (earlier,) = (tmp_path / "r" / "neuron_comparison").iterdir()
    before = {p.name: p.read_bytes() for p in earlier.iterdir()}

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(results.np, "savez_compressed", disk_full)
    assert main(argv) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert "No space left on device" in error and "earlier results are untouched" in error
    assert [p.name for p in (tmp_path / "r" / "neuron_comparison").iterdir()] == [earlier.name]
    assert {p.name: p.read_bytes() for p in earlier.iterdir()} == before


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
    (result,) = (tmp_path / "neuron_comparison").iterdir()
    config, _, metrics = load_result(result)
    assert config["overrides"] == [["lif", "tau_m", "10*ms"]]
    assert config["neurons"] == ["lif"]
    assert metrics["scale"] == "tiny, modified"
    assert all(row["passed"] for row in metrics["targets"])  # closed form with τ_m = 10 ms too
    assert "[    pass] N2" in capsys.readouterr().out


def test_every_figure_renders_at_tiny_size_and_the_report_lists_the_targets(tiny_results, tmp_path):
    written, kept = render_all(tiny_results, figures_dir=tmp_path, formats=("png",))
    assert kept == {}
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
        "diehl_cook_receptive_fields",
        "diehl_cook_thresholds",
        "diehl_cook_accuracy",
    }
    assert {p.stem for p in pngs} == expected
    assert all(p.stat().st_size > 10_000 for p in pngs)
    report = (tmp_path / "REPORT.md").read_text()
    for name, directory in tiny_results.items():
        metrics = json.loads((directory / "metrics.json").read_text())
        assert f"## {name}" in report
        for row in metrics["targets"]:
            assert row["key"] in report


def test_git_state_ignores_regenerated_figures_and_counts_untracked_sources(tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "REPORT.md").write_text("old\n")
    (tmp_path / "model.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    assert results.git_state(tmp_path)["git_dirty"] is False
    (tmp_path / "figures" / "REPORT.md").write_text("regenerated\n")
    (tmp_path / "figures" / "new_figure.png").write_bytes(b"png")
    assert results.git_state(tmp_path)["git_dirty"] is False  # what stdplab report writes
    (tmp_path / "hypothesis.py").write_text("y = 2\n")  # an untracked source file
    state = results.git_state(tmp_path)
    assert state["git_dirty"] is True and state["git_changes"] == ["hypothesis.py"]


def test_a_data_folder_is_recorded_by_its_content_not_only_its_path(tmp_path):
    import shutil

    folder = tmp_path / "data"
    (folder / "Train" / "3").mkdir(parents=True)
    (folder / "Train" / "3" / "1.bin").write_bytes(bytes(range(50)))
    (folder / "labels.txt").write_text("1 3\n")
    first = results.data_fingerprint(folder)
    assert first["files"] == 2 and first["bytes"] == 54
    shutil.copytree(folder, tmp_path / "copy")
    assert results.data_fingerprint(tmp_path / "copy")["sha256"] == first["sha256"]
    (folder / "Train" / "3" / "1.bin").write_bytes(bytes(range(1, 51)))  # same size, one change
    assert results.data_fingerprint(folder)["sha256"] != first["sha256"]
    (tmp_path / "copy" / "labels.txt").rename(tmp_path / "copy" / "labels2.txt")
    assert results.data_fingerprint(tmp_path / "copy")["sha256"] != first["sha256"]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_and_its_analysis_follow_the_protocol(name):
    """What the harness and the reports call: the experiment builds and runs, its analysis
    (found by name, not re-exported) evaluates and draws."""
    experiment, analysis = get_experiment(name), get_analysis(name)
    assert experiment.NAME == name
    assert {"tiny", "quick", "paper"} <= set(experiment.SCALES)
    assert callable(experiment.check) and callable(experiment.simulate)
    assert callable(analysis.evaluate) and analysis.FIGURES
    assert not hasattr(experiment, "evaluate")  # one place for the metrics


def test_figures_runs_experiments_side_by_side_and_keeps_going_past_a_failed_one(
    tmp_path, monkeypatch, capsys
):
    from experiments.runner import cli

    # Two cheap experiments; the second cannot save its result (its folder is a file).
    monkeypatch.setattr(cli, "EXPERIMENTS", ("eligibility_windows", "plasticity_curves"))
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "plasticity_curves").write_text("not a folder")
    argv = ["figures", "--scale", "tiny", "--device", "runtime", "--runtime-target", "numpy"]
    argv += ["--workers", "2", "--figures-dir", str(tmp_path / "figures")]
    argv += ["--results-dir", str(tmp_path / "results"), "--build-dir", str(tmp_path / "build")]
    assert main(argv) == EXIT_BAD_INPUT  # the failed run's own exit status

    out, err = capsys.readouterr()
    assert "eligibility_windows done in" in out
    assert "plasticity_curves failed (exit status 2): stdplab: error:" in err
    assert (tmp_path / "build" / "logs" / "plasticity_curves.log").exists()
    # the run that finished is saved where `stdplab report` looks, and reported
    (saved,) = (tmp_path / "results" / "eligibility_windows").iterdir()
    assert saved == cli._reference_result(cli._parse(argv), "eligibility_windows"), (
        "a parallel run saves under the scale's own label"
    )
    report = (tmp_path / "figures" / "REPORT.md").read_text()
    assert "## eligibility_windows" in report
    # the run rendered its own figures as it ended, from the metrics it saved
    for name in get_analysis("eligibility_windows").FIGURES:
        assert (tmp_path / "figures" / f"{name}.png").exists()


def test_figures_starts_the_experiment_the_last_report_timed_longest_first(tmp_path):
    from experiments.runner import cli

    report = tmp_path / "REPORT.md"
    report.write_text(
        "# report\n\n## song_stdp\n\ndevice `cpp_standalone`, wall time 114.3 s\n\n"
        "## event_features\n\ndevice `cpp_standalone`, wall time 306.6 s\n\n"
        "## event_features — result abc\n\nwall time 9.0 s\n"
    )
    times = cli._reported_wall_times(report)
    assert times["song_stdp"] == 114.3 and times["event_features"] == 306.6
    assert cli._reported_wall_times(tmp_path / "missing.md") == {}
    # a saved result's own wall time comes first; without one, the report's
    assert cli._last_wall_time(tmp_path / "no-result", times["event_features"]) == 306.6
