"""``stdplab sweep``: the grid, one compile per worker, resuming, failures, a Dask cluster."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from analysis.figures import load_result
from experiments import get_experiment, neuron_comparison
from experiments.runner import harness, results, sweep
from experiments.runner.cli import EXIT_BAD_INPUT, main
from experiments.runner.configs import build_config
from experiments.runner.results import config_label

TINY_LIF = ["--scale", "tiny", "--neuron", "lif"]


def _dirs(tmp_path):
    return ["--results-dir", str(tmp_path / "results"), "--build-dir", str(tmp_path / "build")]


def _table(tmp_path, experiment):
    (folder,) = (tmp_path / "results" / "sweeps").glob(f"{experiment}-*")
    with open(folder / "table.csv") as handle:
        return folder, list(csv.DictReader(handle))


def test_values_split_at_the_commas_outside_brackets_and_quotes():
    assert sweep.split_values("10*ms, 20*ms") == ["10*ms", "20*ms"]
    assert sweep.split_values("(1, 2),(3,4)") == ["(1, 2)", "(3,4)"]
    assert sweep.split_values("('lif',),('lif','stdp_lif')") == ["('lif',)", "('lif','stdp_lif')"]
    assert sweep.split_values("'a,b',c") == ["'a,b'", "c"]


def test_the_grid_puts_seeds_outermost_and_labels_each_point_as_a_single_run_would():
    axes = [sweep.parse_axis("lif.tau_m=10*ms,20*ms"), sweep.parse_axis("fi_points=5,7")]
    fixed = {"neurons": "lif", "sets": [], "config": []}
    points = sweep.expand(neuron_comparison, "tiny", axes, [3, 4], "runtime", fixed)
    assert [
        (p.seed, dict(p.assignment)["fi_points"], dict(p.assignment)["lif.tau_m"])
        for p in points[:4]
    ] == [
        (3, "5", "10*ms"),
        (3, "5", "20*ms"),
        (3, "7", "10*ms"),
        (3, "7", "20*ms"),
    ]
    assert len(points) == 8 and [p.index for p in points] == list(range(8))
    single = build_config(
        neuron_comparison,
        "tiny",
        seed=4,
        neurons="lif",
        sets=["lif.tau_m=20*ms"],
        config_values=["fi_points=7"],
    )
    assert points[-1].label == config_label(harness.config_record(single, "runtime"))
    assert points[-1].scale == "tiny, modified"
    assert [len(part) for part in sweep.chunks(points, 3)] == [3, 3, 2]
    # the points of one seed stay on one worker unless spread
    assert [{p.seed for p in task} for task in sweep.tasks_for(points, 3)] == [{3}, {4}]
    assert [len(task) for task in sweep.tasks_for(points[:2], 2)] == [2]
    assert [len(task) for task in sweep.tasks_for(points[:2], 2, spread=True)] == [1, 1]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["lif.tau_m"], "a sweep axis is NAME=V1,V2"),
        (["lif.tau_m=10*ms,"], "a sweep axis is NAME=V1,V2"),
        (["seed=1,2"], "use --seeds"),
        (["lif.tau_m=10*ms,10*ms"], "repeats a value"),
        (["lif.tau_m=10*ms,20"], "must be in units of second"),  # the second point is wrong
        (["lif.tau_m=10*ms,-5*ms"], "must be positive (a time constant)"),
        (["lif.tau_m=10*ms", "--set", "lif.tau_m=20*ms"], "both a sweep axis and fixed"),
        (["fi_points=3,x"], "must be an integer"),
        (["lif.tau_m=10*ms", "--seeds", "0"], "--seeds must be at least 1"),
        (["lif.tau_m=10*ms", "--workers", "0"], "--workers must be at least 1"),
        (["lif.tau_m=10*ms", "--cluster", "tcp://127.0.0.1:9"], "cannot reach the Dask"),
    ],
)
def test_a_bad_sweep_is_refused_in_one_line_before_anything_runs(argv, message, tmp_path, capsys):
    code = main(["sweep", "neuron_comparison", *argv, *TINY_LIF, *_dirs(tmp_path)])
    error = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert error.startswith("stdplab: error:") and message in error
    assert error.count("\n") == 1
    assert not (tmp_path / "build").exists()
    assert not (tmp_path / "results" / "neuron_comparison").exists()


@pytest.mark.standalone
def test_a_parameter_sweep_compiles_once_and_equals_single_runs(tmp_path):
    argv = ["sweep", "neuron_comparison", "lif.tau_m=10*ms,20*ms,40*ms", *TINY_LIF]
    assert main([*argv, "--workers", "1", *_dirs(tmp_path)]) == 0
    folder, rows = _table(tmp_path, "neuron_comparison")
    assert [row["build"] for row in rows] == ["compiled", "run_args", "run_args"]
    assert [row["lif.tau_m"] for row in rows] == ["10*ms", "20*ms", "40*ms"]
    # a slower membrane reaches threshold later: the maximal rate falls with tau_m
    rates = [float(row["fi.lif.max_rate_hz"]) for row in rows]
    assert rates[0] > rates[1] > rates[2] > 0
    assert all(row["N2.passed"] == "True" for row in rows)  # each against its closed form
    summary = json.loads((folder / "sweep.json").read_text())
    assert summary["builds"] == {"compiled": 1, "run_args": 2}
    assert (folder / summary["figures"]["N2[0]"]).stat().st_size > 10_000
    # the last point, reused through run_args, equals its own compiled run
    config = build_config(
        neuron_comparison,
        "tiny",
        seed=None,
        neurons="lif",
        sets=["lif.tau_m=40*ms"],
        config_values=[],
    )
    single = harness.run(
        neuron_comparison, config, results_root=tmp_path / "single", build_root=tmp_path / "b2"
    )
    assert single.name == rows[2]["label"]
    _, swept, _ = load_result(tmp_path / "results" / "neuron_comparison" / rows[2]["label"])
    _, alone, _ = load_result(single)
    assert swept.keys() == alone.keys()
    for key in alone:
        np.testing.assert_array_equal(swept[key], alone[key], err_msg=key)


def _nmnist_folder(root, corrupt=False):
    """A small N-MNIST layout of emulated digits; ``corrupt`` truncates one recording."""
    from experiments.data import events

    samples, labels = events.emulated_nmnist(12, seed=9)
    for k, (sample, label) in enumerate(zip(samples, labels, strict=True)):
        split = "Train" if k < 8 else "Test"
        events.write_nmnist(root / split / str(label) / f"{k}.bin", sample)
    if corrupt:
        victim = sorted((root / "Train").rglob("*.bin"))[0]
        victim.write_bytes(victim.read_bytes()[:-2])
    return root


def test_a_failed_run_is_reported_the_others_go_on_and_the_sweep_resumes(tmp_path, capsys):
    good = _nmnist_folder(tmp_path / "good")
    broken = _nmnist_folder(tmp_path / "broken", corrupt=True)
    # no k-means oracle: eight samples cannot seed a centroid per neuron
    argv = [
        "sweep",
        "event_features",
        f"dataset_folder={broken},{good}",
        "--scale",
        "tiny",
        "--device",
        "runtime",
        "--runtime-target",
        "numpy",
        "--workers",
        "1",
        "--config",
        "dataset=nmnist_folder",
        "--config",
        "n_train=8",
        "--config",
        "n_test=4",
        "--config",
        "neurons=('lif',)",
        "--config",
        "sweep=()",
        "--config",
        "frozen_gains=(1.0,)",
        "--config",
        "oracle=False",
        *_dirs(tmp_path),
    ]
    assert main(argv) == sweep.EXIT_RUNS_FAILED
    assert "1 of 2 runs failed" in capsys.readouterr().err
    _, rows = _table(tmp_path, "event_features")
    assert [row["status"] for row in rows] == ["failed", "done"]  # the failure came first
    assert "DataError" in rows[0]["error"] and "truncated record" in rows[0]["error"]
    assert 0 <= float(rows[1]["E1-lif[0]"]) <= 1  # the good run has its accuracy
    _, _, metrics = load_result(tmp_path / "results" / "event_features" / rows[1]["label"])
    assert metrics["provenance"]["data"]["dataset_folder"] == results.data_fingerprint(good)
    # Mend the data and run the same command: only the failed run runs again.
    shutil.rmtree(broken)
    shutil.copytree(good, broken)
    assert main(argv) == 0
    _, rows = _table(tmp_path, "event_features")
    assert [row["status"] for row in rows] == ["done", "kept"]


def test_a_run_killed_while_writing_its_result_is_not_taken_for_a_finished_run(tmp_path):
    """The process dies at the rename that would publish the result (all three files written):
    neither the sweep's resume nor the report may trust what it leaves."""
    import subprocess
    import sys

    killed = (
        "import os, sys, numpy as np\n"
        "from experiments.runner import results\n"
        "os.replace = lambda *a: os._exit(9)\n"
        "results.write_result(sys.argv[1], 'neuron_comparison', {'seed': 0}, "
        "{'x': np.ones(3)}, {'m': 1.0}, results.provenance('runtime', seed=0))\n"
    )
    root = tmp_path / "results"
    done = subprocess.run([sys.executable, "-c", killed, str(root)], check=False)
    assert done.returncode == 9
    (debris,) = (root / "neuron_comparison").iterdir()
    assert {p.name for p in debris.iterdir()} == {"config.json", "data.npz", "metrics.json"}
    label = results.config_label({"seed": 0})
    assert not sweep.is_done(root, "neuron_comparison", label)
    assert not (root / "neuron_comparison" / label).exists()  # where stdplab report looks


def test_a_worker_process_that_dies_is_reported_for_each_of_its_runs(tmp_path):
    spec = {
        "experiment": "no_such_experiment",  # the worker process fails before any run
        "build_root": str(tmp_path / "build"),
        "points": [{"label": "aaaaaaaaaaaa"}, {"label": "bbbbbbbbbbbb"}],
    }
    outcomes = sweep.run_task(spec)
    assert [o["status"] for o in outcomes] == ["failed", "failed"]
    assert "ended with status 1" in outcomes[0]["error"]
    assert "unknown experiment" in (tmp_path / "build" / "sweep.log").read_text()


def test_the_sweep_runs_on_a_local_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    argv = [
        "sweep",
        "neuron_comparison",
        "lif.tau_m=10*ms,20*ms",
        *TINY_LIF,
        "--device",
        "runtime",
        "--runtime-target",
        "numpy",
        *_dirs(tmp_path),
    ]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        assert main([*argv, "--cluster", cluster.scheduler_address, "--spread"]) == 0
    _, rows = _table(tmp_path, "neuron_comparison")
    assert [row["status"] for row in rows] == ["done", "done"]
    # Each Dask worker ran one task in its own build folder.
    assert len(list((tmp_path / "build" / "sweeps").glob("worker-*/sweep.log"))) == 2
    module = get_experiment("neuron_comparison")
    config = build_config(module, "tiny", None, "lif", ["lif.tau_m=20*ms"], [])
    direct = harness.run(module, config, device="runtime", results_root=tmp_path / "direct")
    _, expected, _ = load_result(direct)
    _, on_cluster, _ = load_result(tmp_path / "results" / "neuron_comparison" / direct.name)
    for key in expected:
        np.testing.assert_array_equal(on_cluster[key], expected[key], err_msg=key)


def test_the_table_flattens_targets_first_and_the_default_metric_is_a_model_one():
    from analysis.sweep import default_metric, flatten_metrics, metric_columns

    def metrics(rate, wall):
        return {
            "targets": [
                {"key": "N2", "description": "lif", "measured": [rate, 0], "passed": True},
                {"key": "N2", "description": "izh", "measured": [1.0, 0], "passed": False},
                {
                    "key": "E5",
                    "description": "rate",
                    "measured": wall,
                    "passed": None,
                    "machine": True,
                },
            ],
            "fi": {"lif": {"max_rate_hz": rate}},
            "wall_time_s": wall,
            "provenance": {"seed": 0},
        }

    rows = [flatten_metrics(metrics(rate, wall)) for rate, wall in ((5.0, 1.0), (5.0, 2.0))]
    assert list(rows[0])[:4] == ["N2 lif[0]", "N2 lif[1]", "N2 lif.passed", "N2 izh[0]"]
    assert rows[0]["machine.E5"] == 1.0 and "provenance.seed" not in rows[0]
    assert rows[0]["fi.lif.max_rate_hz"] == 5.0
    # nothing of the model varies here, only the machine's times: the first model metric
    assert default_metric(metric_columns(rows), rows) == "N2 lif[0]"
    rows[1]["fi.lif.max_rate_hz"] = 7.0
    assert default_metric(metric_columns(rows), rows) == "fi.lif.max_rate_hz"


RUNTIME_LIF = [*TINY_LIF, "--device", "runtime", "--runtime-target", "numpy", "--workers", "1"]


def test_axes_after_options_a_damaged_result_rerun_and_a_mistyped_metric_keeps_the_output(
    tmp_path, capsys
):
    """Axes may follow the options; resume trusts only whole results; an unknown --metric
    changes nothing of the earlier table and figure."""
    argv = ["sweep", "neuron_comparison", *RUNTIME_LIF, *_dirs(tmp_path), "lif.tau_m=10*ms,20*ms"]
    assert main(argv) == 0
    folder, rows = _table(tmp_path, "neuron_comparison")
    assert [row["status"] for row in rows] == ["done", "done"]
    damaged = tmp_path / "results" / "neuron_comparison" / rows[0]["label"] / "data.npz"
    damaged.write_bytes(damaged.read_bytes()[:64])
    (damaged.parent.parent / rows[1]["label"] / "data.npz").unlink()
    assert main(argv) == 0
    _, rows = _table(tmp_path, "neuron_comparison")
    assert [row["status"] for row in rows] == ["done", "done"]  # both run again
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    capsys.readouterr()
    assert main([*argv, "--metric", "fi.lif.max_rate", "--quiet"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no metric fi.lif.max_rate" in error
    assert "fi.lif.max_rate_hz" in error and "untouched" in error
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    # with a point still to run, the saved runs tell the typo before it runs
    wider = [*argv[:-1], "lif.tau_m=10*ms,20*ms,30*ms", "--metric", "fi.lif.max_rate", "--quiet"]
    assert main(wider) == EXIT_BAD_INPUT
    assert "nothing was run" in capsys.readouterr().err
    assert len(list((tmp_path / "results" / "neuron_comparison").iterdir())) == 2


def test_a_worker_keeps_its_temporary_files_and_brian2_logs_in_its_build_folder(tmp_path):
    """A worker that dies leaves Brian2's debug log behind; it lands beside sweep.log."""
    import tempfile

    system_tmp = set(Path(tempfile.gettempdir()).glob("brian_debug_*"))
    spec = {
        "experiment": "no_such_experiment",  # raises after importing Brian2
        "build_root": str(tmp_path / "build"),
        "points": [{"label": "aaaaaaaaaaaa"}],
    }
    sweep.run_task(spec)
    assert list((tmp_path / "build" / "tmp").glob("brian_debug_*.log"))
    assert not list((tmp_path / "build" / "tmp").glob("task-*"))  # the task's scratch is gone
    assert set(Path(tempfile.gettempdir()).glob("brian_debug_*")) == system_tmp
