"""Parameter strings and equation lines are data: read by a parser, never run as code."""

import json
import os
import subprocess
import sys
import time

import pytest
from brian2 import ms, mV, nS, ohm, second

from models import LIF, ModelError, parse_quantity
from tests import ROOT


@pytest.mark.parametrize(
    "text, expected",
    [
        ("20*ms", 20 * ms),
        ("20 ms", 20 * ms),
        ("1.5 ms", 1.5 * ms),
        ("1e3 ms", 1 * second),
        ("0.5", 0.5),
        ("-65*mV", -65 * mV),
        ("+3*nS", 3 * nS),
        ("(1 + 2)*ohm", 3 * ohm),
        ("ms**2", (1 * ms) ** 2),
        ("10**-3", 0.001),
        ("2e-3/ms", 2 * second**-1),
        ("ms", 1 * ms),
    ],
)
def test_numbers_and_units_give_the_quantity(text, expected):
    value = parse_quantity(text)
    assert value == expected
    assert type(value) is float if isinstance(expected, float) else value.dim is expected.dim


MARKER = "marker"  # each payload would create it in the working folder


def _escapes() -> list[str]:
    """Known ways out of an ``eval`` with empty builtins."""
    touch = f"touch {MARKER}"
    catch_warnings = (
        "[c for c in ().__class__.__bases__[0].__subclasses__() "
        "if c.__name__ == 'catch_warnings'][0]()._module.__builtins__['__import__']('os')"
        f".system('{touch}')"
    )
    # No quote, bracket or comma: each character is taken from a docstring, so this passed
    # the character filter that guarded the old eval (and created the marker).
    doc = ms.__class__.__doc__

    def chars(text):
        return (
            "(" + "+".join(f"ms.__class__.__doc__.__getitem__({doc.index(c)})" for c in text) + ")"
        )

    quote_free = (
        f"ms.__class__.__init__.__globals__.__getitem__({chars('sys')}).modules"
        f".__getitem__({chars('os')}).system({chars(touch)})*ms"
    )
    return [catch_warnings, f"__import__('os').system('{touch}')", quote_free]


SHAPES = [
    "().__class__.__bases__[0].__subclasses__()",
    "ms.__class__",
    "(lambda: 0)()",
    "[x for x in ()]",
    "9**9**9**9*ms",
    "10**10**10",
    "1e999*ms",
    "(1e999-1e999)*ms",
    "1e300*1e300*ms",
    "(2**32)**32",
    "ms**ms",
    "(-8)**0.5",
    "True*ms",
    "1j*ms",
    "'20*ms'",
    "f'{20}'",
    "ms[0]",
    "20 parsecs",
    "1" * 201,
]


@pytest.mark.parametrize("kind", ["escape", "shape"])
def test_code_and_runaway_numbers_are_refused_at_once_and_run_nothing(kind, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / MARKER
    for text in _escapes() if kind == "escape" else SHAPES:
        started = time.perf_counter()
        with pytest.raises(ModelError, match="cannot read .* as a quantity") as refused:
            parse_quantity(text)
        assert time.perf_counter() - started < 1.0, text
        assert "numbers, unit names" in str(refused.value)  # says what is allowed
        assert "\n" not in str(refused.value)
        assert not marker.exists(), text


def test_equation_lines_cannot_run_code_or_compute_without_end(tmp_path, monkeypatch):
    """Brian2 hands equation expressions to sympy, which runs a string argument as Python
    (each of these strings created the marker before the guard) and computes powers exactly."""
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / MARKER
    code = f"__import__('os').system('touch {MARKER}')"
    lif = "dv/dt = (E_L - v + R_m*(I + I_syn))/tau_m"
    lines = [
        f'{lif} + 0*volt/second*f("{code}") : volt (unless refractory)',
        f'{lif} + 0*volt/second*exp("{code}") : volt (unless refractory)',
        f'{lif} + 0*int("{code}")*volt/second : volt (unless refractory)',
        f'{lif}*(not "{code}") : volt (unless refractory)',
        f'x = f("{code}") : 1',
        f'{lif} : volt\nx = f("{code}") : 1',
        f"{lif} + 0*(9**9**9**9)*volt/second : volt (unless refractory)",
        f"{lif} + 0*exp(387420489*log(9))*volt/second : volt (unless refractory)",
        f"{lif} + 0*(v/v*9)**(v/v*387420489)*volt/second : volt (unless refractory)",
        f"{lif} + 0*(((9**32)**32)**32)*volt/second : volt (unless refractory)",
    ]
    for line in lines:
        started = time.perf_counter()
        with pytest.raises(ModelError, match="cannot use the equation line"):
            LIF.with_equation(line)
        assert time.perf_counter() - started < 1.0, line
        assert not marker.exists(), line
    # a line Python's parser gives up on (with a RecursionError) is refused in one line too
    with pytest.raises(ModelError, match="too long or nests too deeply"):
        LIF.with_equation(f"{lif}{' + 0*v/second' * 3000} : volt (unless refractory)")
    # what equations need stays allowed
    LIF.with_equation(f"{lif}*(1 + 0.1*((v - E_L)/mV)**2)**-0.5*exp(-log(2)*t/tau_m) : volt")


def _cli(tmp_path, *argv):
    """``stdplab ARGV`` in its own process, with its own results and build folders."""
    folders = ["--results-dir", str(tmp_path / "r"), "--build-dir", str(tmp_path / "b")]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "experiments", *argv, *folders],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )


PAYLOADS = [_escapes()[2], _escapes()[0], "9**9**9**9*ms"]  # the first passed the old filter


@pytest.mark.parametrize("route", ["set", "config", "sweep"])
def test_the_cli_refuses_a_payload_in_one_line_and_builds_nothing(route, tmp_path):
    for payload in PAYLOADS:
        argv = {
            "set": ["run", "neuron_comparison", "--set", f"lif.tau_m={payload}"],
            "config": [
                "run",
                "neuron_comparison",
                "--config",
                f"overrides={(('lif', 'tau_m', payload),)!r}",
            ],
            "sweep": ["sweep", "neuron_comparison", f"lif.tau_m=10*ms,{payload}"],
        }[route]
        done = _cli(tmp_path, *argv, "--neuron", "lif", "--scale", "tiny")
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("stdplab: error: cannot read")
        assert done.stderr.count("\n") == 1
        assert not (tmp_path / MARKER).exists()
        assert not list((tmp_path / "r").rglob("*")) and not list((tmp_path / "b").rglob("*"))


def test_the_cli_refuses_an_equation_that_would_run_code(tmp_path):
    line = (
        'dv/dt = (E_L - v + R_m*(I + I_syn))/tau_m + 0*volt/second*exp(\'__import__("os")'
        f'.system("touch {MARKER}")\') : volt (unless refractory)'
    )
    done = _cli(
        tmp_path, "run", "neuron_comparison", "--neuron", "lif", "--set", f"lif.equation={line}"
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("stdplab: error: cannot use the equation line")
    assert done.stderr.count("\n") == 1 and not (tmp_path / MARKER).exists()
    assert not list((tmp_path / "r").rglob("*")) and not list((tmp_path / "b").rglob("*"))


def test_a_worker_refuses_a_payload_in_its_task_file(tmp_path, monkeypatch):
    """A Dask worker reads its points from a JSON task file, not from the command line."""
    import dataclasses

    from experiments import neuron_comparison
    from experiments.runner import harness, sweep
    from experiments.runner.configs import checked
    from experiments.runner.results import config_label

    monkeypatch.chdir(tmp_path)  # the worker process runs here
    config = dataclasses.replace(
        neuron_comparison.SCALES["tiny"],
        neurons=("lif",),
        overrides=(("lif", "tau_m", _escapes()[2]),),  # passed the old filter
    )
    label = config_label(harness.config_record(checked(neuron_comparison, config), "runtime"))
    spec = {
        "experiment": "neuron_comparison",
        "device": "runtime",
        "threads": 1,
        "runtime_target": "numpy",
        "results_root": str(tmp_path / "r"),
        "build_root": str(tmp_path / "b"),
        "total": 1,
        "points": [
            {
                "index": 0,
                "label": label,
                "title": "payload",
                "scale": "tiny, modified",
                "config": json.loads(json.dumps(dataclasses.asdict(config))),
            }
        ],
    }
    (outcome,) = sweep.run_task(spec)
    assert outcome["status"] == "failed"
    assert outcome["error"].startswith("ModelError: cannot read")
    assert not (tmp_path / MARKER).exists() and not (tmp_path / "r").exists()
