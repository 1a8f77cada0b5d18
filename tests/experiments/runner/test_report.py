"""``stdplab report``: the committed figures and REPORT.md come from each experiment's reference
configuration only; a missing or unreadable result keeps its section; any other configuration
is reported in its own folder."""

import json
import shutil

import pytest

from experiments import get_experiment
from experiments.runner import harness
from experiments.runner.cli import EXIT_BAD_INPUT, main
from experiments.runner.results import config_label


def _reference_label(name, scale="tiny", device="runtime"):
    return config_label(harness.config_record(get_experiment(name).SCALES[scale], device))


@pytest.fixture
def saved(tiny_results, tmp_path):
    """A copy of the tiny runtime results, as ``results/`` of a user's checkout."""
    root = tmp_path / "results"
    for name, directory in tiny_results.items():
        assert directory.name == _reference_label(name)  # the fixture ran the defaults
        shutil.copytree(directory, root / name / directory.name)
    return root


def _report(saved, figures, *extra):
    return main(
        [
            "report",
            "--scale",
            "tiny",
            "--device",
            "runtime",
            "--results-dir",
            str(saved),
            "--figures-dir",
            str(figures),
            "--quiet",
            *extra,
        ]
    )


def test_another_configuration_of_an_experiment_never_reaches_the_report(saved, tmp_path):
    """A modified hypothesis saved later than the default is not what REPORT.md shows."""
    default = saved / "neuron_comparison" / _reference_label("neuron_comparison")
    modified = saved / "neuron_comparison" / "a0a0a0a0a0a0"
    shutil.copytree(default, modified)
    metrics = json.loads((modified / "metrics.json").read_text())
    metrics["provenance"]["finished_at"] = "2999-01-01T00:00:00+00:00"  # the latest by far
    metrics["provenance"]["seed"] = 777
    (modified / "metrics.json").write_text(json.dumps(metrics))
    assert _report(saved, tmp_path / "figures") == 0
    report = (tmp_path / "figures" / "REPORT.md").read_text()
    assert "seed 777" not in report
    assert "## neuron_comparison" in report


def test_the_report_recomputes_rows_from_the_saved_arrays_and_keeps_the_runs_facts(saved, tmp_path):
    """A row saved by an older analysis never reaches REPORT.md; the wall time the run
    measured does (it cannot be recomputed)."""
    directory = saved / "song_stdp" / _reference_label("song_stdp")
    metrics = json.loads((directory / "metrics.json").read_text())
    metrics["targets"][0]["description"] = "a row from an older analysis"
    metrics["wall_time_s"] = 1234.5
    (directory / "metrics.json").write_text(json.dumps(metrics))
    assert _report(saved, tmp_path / "figures") == 0
    section = (tmp_path / "figures" / "REPORT.md").read_text().split("## song_stdp")[1]
    assert "a row from an older analysis" not in section
    assert "wall time 1234.5 s" in section


def test_a_missing_or_corrupt_result_keeps_its_section_and_figures_with_one_line_each(
    saved, tmp_path, capsys
):
    figures = tmp_path / "figures"
    assert _report(saved, figures) == 0
    first = (figures / "REPORT.md").read_text()
    kept_figure = (figures / "song_stdp.png").read_bytes()
    song_section = first[first.index("## song_stdp") : first.index("## neuron_comparison")]

    shutil.rmtree(saved / "song_stdp")  # not run on this machine
    corrupt = saved / "vq_features" / _reference_label("vq_features") / "data.npz"
    corrupt.write_bytes(corrupt.read_bytes()[:100])  # truncated
    (saved / "timing_learning" / _reference_label("timing_learning") / "metrics.json").write_text(
        "{not json"
    )
    capsys.readouterr()
    assert _report(saved, figures) == 0
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 3
    assert any(line.startswith("stdplab: song_stdp: no saved result") for line in error)
    assert any(str(corrupt) in line and "cannot be read" in line for line in error)
    assert any("timing_learning" in line and "metrics.json" in line for line in error)
    second = (figures / "REPORT.md").read_text()
    assert song_section.strip() in second  # carried over word for word
    for name in ("vq_features", "timing_learning"):
        assert f"## {name}" in second
    assert (figures / "song_stdp.png").read_bytes() == kept_figure


def test_a_named_configuration_goes_to_its_own_folder(saved, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the default folders are relative: figures/ here
    argv = [
        "run",
        "neuron_comparison",
        "--scale",
        "tiny",
        "--device",
        "runtime",
        "--neuron",
        "lif",
        "--set",
        "lif.tau_m=10*ms",
        "--results-dir",
        str(saved),
        "--quiet",
    ]
    assert main([*argv, "--runtime-target", "numpy"]) == 0
    capsys.readouterr()
    report_argv = ["report", "neuron_comparison", *argv[2:]]
    assert main(report_argv) == 0
    (folder,) = (tmp_path / "figures" / "runs").iterdir()
    assert folder.name.startswith("neuron_comparison-")
    report = (folder / "REPORT.md").read_text()
    assert report.count("## ") == 1 and "tiny, modified" in report
    assert (folder / "fi_curves.png").exists()
    assert not (tmp_path / "figures" / "REPORT.md").exists()  # the committed report untouched
    # a configuration that was never run is named, not guessed
    report_argv[report_argv.index("lif.tau_m=10*ms")] = "lif.tau_m=11*ms"
    assert main(report_argv) == EXIT_BAD_INPUT
    assert "no saved result of this configuration" in capsys.readouterr().err


def test_another_scale_or_device_reports_into_its_own_folder(saved, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "report",
                "--scale",
                "tiny",
                "--device",
                "runtime",
                "--results-dir",
                str(saved),
                "--quiet",
            ]
        )
        == 0
    )
    assert (tmp_path / "figures" / "runs" / "tiny-runtime" / "REPORT.md").exists()
    assert not (tmp_path / "figures" / "REPORT.md").exists()


def test_a_result_folder_given_by_path_is_reported_alone(saved, tmp_path):
    directory = saved / "plasticity_curves" / _reference_label("plasticity_curves")
    figures = tmp_path / "mine"
    assert main(["report", "--result", str(directory), "--figures-dir", str(figures)]) == 0
    report = (figures / "REPORT.md").read_text()
    assert report.count("## ") == 1 and "## plasticity_curves" in report
    assert main(["report", "--result", str(tmp_path), "--figures-dir", str(figures)]) == (
        EXIT_BAD_INPUT
    )


def test_report_sections_round_trip():
    from analysis.report import render, sections_of

    metrics = {"provenance": {"device": "runtime", "seed": 1}, "targets": [], "wall_time_s": 1.0}
    text = render([("a", metrics), ("b", "## b\n\nkept text\n")], (("P1", "pending"),))
    sections = sections_of(text)
    assert list(sections) == ["a", "b"] and sections["b"].strip() == "## b\n\nkept text"


def test_a_published_run_gets_its_own_section_which_later_reports_keep(saved, tmp_path):
    """``report EXPERIMENT --publish`` (a paper-scale run, say) adds a section after its
    experiment's and figures under published/, its rows recomputed from the saved arrays;
    publishing it again replaces the section; a later default report keeps it."""
    figures = tmp_path / "figures"
    assert _report(saved, figures) == 0
    result = saved / "song_stdp" / _reference_label("song_stdp")
    published = tmp_path / "published_result" / "song_stdp" / "b0b0b0b0b0b0"
    shutil.copytree(result, published)
    metrics = json.loads((published / "metrics.json").read_text())
    metrics["provenance"]["seed"] = 4242
    metrics["provenance"]["command"] = "stdplab run song_stdp --seed=4242"
    # a row saved by an older analysis: publishing recomputes the rows from the arrays
    metrics["targets"][0]["description"] = "a row from an older analysis"
    (published / "metrics.json").write_text(json.dumps(metrics))
    for _ in range(2):
        assert _report(saved, figures, "--result", str(published), "--publish") == 0
    assert _report(saved, figures) == 0
    report = (figures / "REPORT.md").read_text()
    headings = [line for line in report.splitlines() if line.startswith("## ")]
    heading = "## song_stdp — result b0b0b0b0b0b0"
    assert headings.count(heading) == 1
    assert headings.index(heading) == headings.index("## song_stdp") + 1
    assert report.count("seed 4242") == 1
    assert "a row from an older analysis" not in report
    assert "Command: `stdplab run song_stdp --seed=4242`" in report  # as the run recorded it
    assert (figures / "published" / "song_stdp-b0b0b0b0b0b0" / "song_stdp.png").stat().st_size
    # the reference figures are the reference run's, not the published one's
    assert "seed 4242" not in report.split(heading)[0]


def test_publishing_needs_a_result_and_refuses_an_unreadable_one(saved, tmp_path):
    figures = tmp_path / "figures"
    assert _report(saved, figures, "--publish") == EXIT_BAD_INPUT
    broken = tmp_path / "broken" / "song_stdp" / "c0c0c0c0c0c0"
    broken.mkdir(parents=True)
    assert _report(saved, figures, "--result", str(broken), "--publish") == EXIT_BAD_INPUT
    assert not (figures / "published").exists()
