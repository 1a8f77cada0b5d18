"""Progress: every run says what it is doing, in whole lines, and ``--quiet`` silences it."""

import re

from experiments.runner import devices, progress
from experiments.runner.cli import main

ARGV = [
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
]


def test_a_run_names_its_phases_in_order_on_stderr_in_whole_lines(tmp_path, capsys):
    assert main([*ARGV, "--results-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    phases = [
        "neuron_comparison on runtime",
        "simulating 0.42 s of model time",
        "evaluating",
        "writing the result",
    ]
    positions = [captured.err.find(phase) for phase in phases]
    assert -1 not in positions and positions == sorted(positions), captured.err
    assert "\r" not in captured.err
    assert all(re.match(r"stdplab: \[ *[\d.]+ s\] ", line) for line in captured.err.splitlines())
    assert "done in" in captured.out  # the result goes to stdout, progress to stderr


def test_quiet_prints_no_progress(tmp_path, capsys):
    assert main([*ARGV, "--results-dir", str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_simulated_time_counts_over_every_phase_with_the_time_left(monkeypatch, capsys):
    """The runtime's report: Brian2's restarts at each run(); ours runs over all phases."""
    from brian2 import Network, NeuronGroup, ms

    monkeypatch.setattr(devices, "REPORT_PERIOD_S", 0.0)  # report at every step
    with devices.simulation("runtime", runtime_target="numpy") as sim:
        group = NeuronGroup(1, "dv/dt = -v/(10*ms) : 1", method="exact", name="g")
        sim.run_phases(Network(group), [(2 * ms, None), (2 * ms, None)])
    lines = [line for line in capsys.readouterr().err.splitlines() if "simulated" in line]
    done = [float(re.search(r"simulated ([\d.e-]+) s of 0.004 s", line).group(1)) for line in lines]
    assert done == sorted(done) and done[-1] > 0.002  # past the first phase, on one scale
    assert all("left" in line for line in lines)


def test_counts_are_printed_at_most_every_period_and_at_the_end(monkeypatch, capsys):
    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    reporter = progress.Progress()
    for done, at in ((1, 1.0), (2, 5.0), (3, 11.0), (4, 12.0)):
        now[0] = at
        reporter.count(done, 4, "samples")
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("] ")[1] for line in lines] == ["samples: 3/4", "samples: 4/4"]
