"""A run is saved only if it is what it claims: whole (not cut short by Ctrl-C), its own (not
another concurrent run's simulation) and finite. Each failure is reproduced with the real
thing: a SIGINT to the process group as a terminal sends it, two processes at once, a state
that overflows."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from experiments import get_experiment
from experiments.runner import harness, nonfinite
from experiments.runner.cli import EXIT_BAD_INPUT, EXIT_SIMULATION_FAILED, main
from experiments.runner.configs import build_config, checked
from experiments.runner.devices import claimed_build_dir, simulation
from experiments.runner.progress import Progress
from experiments.runner.results import config_label
from tests import ROOT

STDPLAB = [
    sys.executable,
    "-c",
    "import sys; from experiments.runner.cli import main; sys.exit(main())",
]


def _label(experiment, scale, device, config_values=(), sets=(), neurons=None, seed=None):
    module = get_experiment(experiment)
    config = build_config(module, scale, seed, neurons, list(sets), list(config_values))
    return config_label(harness.config_record(checked(module, config), device))


def _plant_earlier_result(results_root: Path, experiment: str, label: str) -> dict:
    """A whole result under ``label``, as an earlier run would have left it."""
    folder = results_root / experiment / label
    folder.mkdir(parents=True)
    np.savez_compressed(folder / "data.npz", x=np.arange(3))
    (folder / "config.json").write_text(json.dumps({"experiment": experiment}))
    (folder / "metrics.json").write_text(json.dumps({"provenance": {"finished_at": "earlier"}}))
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def _interrupt_when(process, stream_lines: list, marker: str, timeout_s: float) -> str:
    """Wait until ``marker`` appears in the process's stderr, then send SIGINT to its process
    group (what Ctrl-C in a terminal does); return everything it wrote to stderr."""
    deadline = time.monotonic() + timeout_s
    while not any(marker in line for line in stream_lines):
        assert process.poll() is None, "".join(stream_lines)
        assert time.monotonic() < deadline, f"no {marker!r} in: {''.join(stream_lines)}"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=60)
    return "".join(stream_lines)


def _start(argv, cwd, **kwargs):
    process = subprocess.Popen(
        [*STDPLAB, *argv],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a command
        **kwargs,
    )
    lines = []
    threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True).start()
    return process, lines


def _repo_env():
    root = ROOT
    return {**os.environ, "PYTHONPATH": str(root)}


@pytest.mark.parametrize(
    "device, marker, duration_s",
    [
        ("runtime", "simulating", 300),
        # the compiled binary's own progress line (every 10 s of wall time) says it is simulating
        # when the signal arrives; 3000 s of model time keep it busy well past the first line
        pytest.param("cpp_standalone", "[binary] simulated", 3000, marks=pytest.mark.standalone),
    ],
)
def test_ctrl_c_saves_nothing_exits_130_and_keeps_the_earlier_result(
    device, marker, duration_s, tmp_path
):
    config = [f"duration_s={duration_s}", "paper_rates_hz=()"]
    argv = [
        "run",
        "song_stdp",
        "--scale",
        "tiny",
        "--device",
        device,
        "--config",
        config[0],
        "--config",
        config[1],
        "--results-dir",
        str(tmp_path / "results"),
        "--build-dir",
        str(tmp_path / "build"),
    ]
    label = _label("song_stdp", "tiny", device, config)
    earlier = _plant_earlier_result(tmp_path / "results", "song_stdp", label)
    process, lines = _start(argv, tmp_path, env=_repo_env())
    stderr = _interrupt_when(process, lines, marker, timeout_s=240)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("stdplab: interrupted"), stderr
    if device == "cpp_standalone":
        assert "compiling" in stderr
    folder = tmp_path / "results" / "song_stdp" / label
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == earlier
    assert [p.name for p in (tmp_path / "results" / "song_stdp").iterdir()] == [label]
    # nothing of the run goes on: the binary stopped with the command
    assert subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True).stdout == b""


def test_ctrl_c_in_a_sweep_records_no_point_as_done(tmp_path):
    argv = [
        "sweep",
        "song_stdp",
        "--scale",
        "tiny",
        "--device",
        "runtime",
        "--runtime-target",
        "numpy",
        "--workers",
        "1",
        "--config",
        "paper_rates_hz=()",
        "duration_s=300,301",
        "--results-dir",
        str(tmp_path / "results"),
        "--build-dir",
        str(tmp_path / "build"),
    ]
    process, lines = _start(argv, tmp_path, env=_repo_env())
    log = tmp_path / "build" / "sweeps" / "worker-0" / "sweep.log"
    deadline = time.monotonic() + 120
    while not (log.exists() and "simulating" in log.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, "".join(lines)
        time.sleep(0.2)
    stderr = _interrupt_when(process, lines, "", timeout_s=1)
    assert process.returncode == 130, stderr
    assert "sweep interrupted" in stderr
    assert not list((tmp_path / "results").rglob("metrics.json"))


@pytest.mark.standalone
def test_a_run_killed_from_outside_takes_its_compiled_binary_with_it(tmp_path):
    """SIGKILL to the Python process alone (a scheduler, the OOM killer, `kill -9`): its binary
    must not simulate on, and write results, in a build folder whose lock died with the run."""
    argv = ["run", "song_stdp", "--scale", "tiny", "--config", "duration_s=3000"]
    argv += ["--config", "paper_rates_hz=()", "--results-dir", str(tmp_path / "results")]
    argv += ["--build-dir", str(tmp_path / "build")]
    process, lines = _start(argv, tmp_path, env=_repo_env())
    deadline = time.monotonic() + 240
    while not any("[binary] simulated" in line for line in lines):
        assert process.poll() is None and time.monotonic() < deadline, "".join(lines)
        time.sleep(0.2)
    group = ["pgrep", "-g", str(process.pid)]
    assert len(subprocess.run(group, capture_output=True).stdout.split()) == 2  # python, binary
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while subprocess.run(group, capture_output=True).stdout:
        assert time.monotonic() < deadline, "the binary outlived the run that started it"
        time.sleep(0.1)
    assert not (tmp_path / "results" / "song_stdp").exists()


@pytest.mark.standalone
def test_two_concurrent_runs_build_apart_and_each_result_holds_its_own_simulation(tmp_path):
    """The issue's case: tau_m 12 ms and 33 ms at once, one build folder named for both."""
    common = [
        "run",
        "neuron_comparison",
        "--scale",
        "tiny",
        "--neuron",
        "lif",
        "--results-dir",
        str(tmp_path / "results"),
        "--build-dir",
        str(tmp_path / "build"),
    ]
    runs = {
        tau: _start([*common, "--set", f"lif.tau_m={tau}*ms"], tmp_path, env=_repo_env())
        for tau in (12, 33)
    }
    for process, lines in runs.values():
        assert process.wait(timeout=600) == 0, "".join(lines)
    build_dirs = set()
    rates = {}
    for tau in runs:
        label = _label(
            "neuron_comparison",
            "tiny",
            "cpp_standalone",
            sets=[f"lif.tau_m={tau}*ms"],
            neurons="lif",
        )
        folder = tmp_path / "results" / "neuron_comparison" / label
        metrics = json.loads((folder / "metrics.json").read_text())
        build_dirs.add(metrics["provenance"]["build_dir"])
        # --threads auto (the default): this network has no synapses, so one thread
        assert metrics["provenance"]["openmp_threads"] == 1
        compiler = metrics["provenance"]["compiler"]
        assert compiler["version"] and "-O3" in compiler["flags"]  # read from the makefile
        if "-include" in compiler["flags"]:  # GCC: the precompiled header's makefile
            assert compiler["per_file_flags"] == {"objects.cpp": ["-O0"]}
        # the f–I curve matches the closed form of this run's own tau_m
        assert all(row["passed"] for row in metrics["targets"]), metrics["targets"]
        rates[tau] = metrics["fi"]["lif"]["max_rate_hz"]
    assert len(build_dirs) == 2
    assert rates[12] > rates[33]
    assert all("0 synapses: 1 OpenMP thread(s)" in "".join(lines) for _, lines in runs.values())


def test_a_claimed_build_folder_sends_a_second_claim_elsewhere_and_nests_in_one_process(
    tmp_path,
):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from experiments.runner.devices import claimed_build_dir\n"
            "with claimed_build_dir(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)",
            str(tmp_path / "b"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=_repo_env(),
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        notes = []

        class Recorder(Progress):
            def note(self, text):
                notes.append(text)

        with claimed_build_dir(tmp_path / "b", Recorder()) as mine:
            assert mine == (tmp_path / "b.2").resolve()
            with claimed_build_dir(tmp_path / "b.2") as again:  # the same process: nests
                assert again == mine
        assert "in use by another run" in notes[0]
    finally:
        holder.kill()
        holder.wait()
    with claimed_build_dir(tmp_path / "b") as freed:  # the lock died with its process
        assert freed == (tmp_path / "b").resolve()


def _poisoned_network(step: int):
    """Two neuron groups; v of neuron 1 of ``lif`` is set to NaN before ``step``."""
    from brian2 import Network, NeuronGroup, ms, mV, network_operation

    lif = NeuronGroup(3, "dv/dt = -v/(10*ms) : volt\nx : 1", method="exact", name="lif")
    other = NeuronGroup(2, "du/dt = -u/(5*ms) : 1", method="exact", name="other")
    lif.v = 1 * mV

    @network_operation(when="start")
    def poison(t):
        if round(float(t / (0.1 * ms))) == step:
            lif.v[1] = float("nan") * mV

    return Network(lif, other, poison)


def test_a_nan_state_names_variable_group_neuron_and_first_step():
    from brian2 import ms

    with simulation("runtime", runtime_target="numpy") as sim:
        net = _poisoned_network(step=7)
        with pytest.raises(nonfinite.NonFiniteState) as raised:
            sim.run(net, 2 * ms)
    message = str(raised.value)
    assert "v of group 'lif' (neuron 1, 1 of 3 neurons) first at step 7 (t = 0.7 ms)" in message
    assert "other" not in message  # a finite group is not blamed
    assert "\n" not in message


@pytest.mark.standalone
def test_a_compiled_run_that_overflows_fails_in_one_line_and_writes_nothing(tmp_path, capsys):
    """Izhikevich's quadratic v climbs past any physical value when its spike peak is out of
    reach (here to 1e299 V, finite, where Brian2 only warns)."""
    argv = [
        "run",
        "neuron_comparison",
        "--scale",
        "tiny",
        "--neuron",
        "izhikevich",
        "--quiet",
        "--set",
        "izhikevich.v_peak=1e300*mV",
        "--results-dir",
        str(tmp_path / "r"),
        "--build-dir",
        str(tmp_path / "b"),
    ]
    assert main(argv) == EXIT_SIMULATION_FAILED
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("stdplab: error: the state became NaN, infinite or beyond")
    assert "v of group" in error and "first at step" in error
    assert not list((tmp_path / "r").rglob("metrics.json"))


def test_equal_time_constants_run_to_a_finite_result(tmp_path):
    """The issue's tau_m = tau_syn: integrated (experiments.networks.build) instead of 0/0."""
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
        "lif.tau_m=5*ms",
        "--quiet",
        "--results-dir",
        str(tmp_path / "r"),
    ]
    assert main(argv) == 0
    (folder,) = (tmp_path / "r" / "neuron_comparison").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["provenance"]["integration"]["fi_0"] == "rk4"
    assert all(row["passed"] for row in metrics["targets"])


@pytest.mark.parametrize("threads, note", [(0, None), (1000, "threads asked")])
def test_threads_below_one_are_refused_and_above_the_cores_capped(threads, note, tmp_path, capsys):
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
        "--threads",
        str(threads),
        "--results-dir",
        str(tmp_path / "r"),
    ]
    code = main(argv)
    error = capsys.readouterr().err
    if note is None:
        assert code == EXIT_BAD_INPUT and error.startswith("stdplab: error: --threads")
        return
    assert code == 0 and note in error
    (folder,) = (tmp_path / "r" / "neuron_comparison").iterdir()
    record = json.loads((folder / "metrics.json").read_text())["provenance"]
    assert record["openmp_threads"] == os.cpu_count()


@pytest.mark.parametrize("option", ["--build-dir", "--figures-dir"])
def test_a_folder_that_cannot_be_written_is_refused_in_one_line(option, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where a folder should be")
    command = "run" if option == "--build-dir" else "figures"
    argv = [
        command,
        *(["neuron_comparison"] if command == "run" else []),
        "--scale",
        "tiny",
        option,
        str(blocker / "inside"),
        "--results-dir",
        str(tmp_path / "r"),
    ]
    assert main(argv) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and option in error and "cannot write" in error
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").rglob("metrics.json"))


@pytest.mark.parametrize(
    "experiment, setting, message",
    [
        # Brian2's spike generators count time in 32-bit steps: these crashed inside Brian2
        ("plasticity_curves", "window_rate_hz=1e-9", "more than Brian2's 2147483647"),
        ("plasticity_curves", "dt_ms=1e-9", "more than Brian2's 2147483647"),
        ("song_stdp", "duration_s=1e9", "more than Brian2's 2147483647"),
        ("neuron_comparison", "dt_ms=1e9", "longer than the whole run"),  # was StopIteration
        # p = rate x dt = 1.5e7: refused by the input encoder, before any build
        ("song_stdp", "dt_ms=1e9", "spike probabilities per step must lie in [0, 1]"),
    ],
)
def test_a_run_no_clock_can_step_through_is_refused_before_it_runs(
    experiment, setting, message, tmp_path, capsys
):
    argv = [
        "run",
        experiment,
        "--scale",
        "tiny",
        "--device",
        "runtime",
        "--runtime-target",
        "numpy",
        "--config",
        setting,
        "--quiet",
        "--results-dir",
        str(tmp_path / "r"),
    ]
    assert main(argv) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error
    assert not list(tmp_path.rglob("metrics.json"))


def test_a_run_out_of_memory_fails_in_one_line(monkeypatch, tmp_path, capsys):
    """numpy raises MemoryError when a configuration asks for more than the machine has
    (timing_learning with trial_ms=1e9 asked for 373 GiB)."""

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 373. GiB for an array")

    monkeypatch.setattr(harness, "run", out_of_memory)
    argv = ["run", "timing_learning", "--scale", "tiny", "--results-dir", str(tmp_path)]
    assert main(argv) == EXIT_SIMULATION_FAILED
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "more memory than this machine" in error
    assert "373. GiB" in error
