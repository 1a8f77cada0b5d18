"""What a newcomer can change: every config field documented, every CLI option explained, and
the README's Python example runnable as written."""

import argparse
import dataclasses
import json
import re

import pytest
from brian2 import ms

from experiments import EXPERIMENTS, get_experiment, neuron_comparison, song_stdp
from experiments.runner import cli
from experiments.runner.configs import ConfigError, checked, describe_config, field_docs
from models import LIF, get_neuron
from tests import ROOT

README = ROOT / "README.md"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_config_field_has_a_meaning(name):
    module = get_experiment(name)
    docs = field_docs(module)
    undocumented = [f.name for f in dataclasses.fields(module.Config) if not docs.get(f.name)]
    assert not undocumented, f"{name}: add a '#:' comment above {undocumented}"


def test_the_listing_shows_each_field_with_its_default_unit_and_other_scales():
    text = describe_config(song_stdp)
    for field in dataclasses.fields(song_stdp.Config):
        default = getattr(song_stdp.SCALES["quick"], field.name)
        assert re.search(rf"^  {field.name} = {re.escape(repr(default))}( |$)", text, re.M)
    assert "  duration_s = 500.0 s  (tiny 1.0; paper 1000.0)\n" in text
    assert "      seed of the Poisson inputs and the initial weights\n" in text


def test_run_help_and_describe_list_the_experiments_fields(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "song_stdp", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--results-dir" in out and out.endswith(describe_config(song_stdp))
    assert cli.main(["describe", "song_stdp"]) == 0
    assert capsys.readouterr().out.endswith(describe_config(song_stdp))


def _subcommands(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_every_cli_option_has_help():
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, sub in _subcommands(cli._parser()).items()
        for action in sub._actions
        if not (action.help or "").strip()
    ]
    assert set(_subcommands(cli._parser())) == {"run", "sweep", "figures", "report", "describe"}
    assert not missing


def test_a_model_record_in_a_config_becomes_its_name_and_overrides():
    slow_lif = LIF.with_params(tau_m=40 * ms).with_equation(
        "dv/dt = (E_L - v + R_m*(I + I_syn))/(2*tau_m) : volt (unless refractory)"
    )
    config = checked(neuron_comparison, neuron_comparison.Config(neurons=(slow_lif, "izhikevich")))
    assert config.neurons == ("lif", "izhikevich")
    assert config.overrides == (
        ("lif", "tau_m", "40. * msecond"),
        ("lif", "equation", slow_lif.equation_lines()[0]),
    )
    # a named parameter set is the base model with its parameters as overrides
    fs = checked(
        neuron_comparison, neuron_comparison.Config(neurons=(get_neuron("izhikevich:FS"),))
    )
    assert fs.neurons == ("izhikevich",) and {key for _, key, _ in fs.overrides} == {"a", "d"}
    # an unchanged record where no overrides exist is just its name
    assert checked(song_stdp, song_stdp.Config(neuron=get_neuron("lif_cond"))).neuron == "lif_cond"
    # a changed initial state travels as an override, as --set lif.initial.v=-60*mV writes it
    started_config = neuron_comparison.Config(neurons=(LIF.with_initial(v="-60*mV"),))
    started = checked(neuron_comparison, started_config)
    assert started.overrides == (("lif", "initial.v", "-60*mV"),)
    assert cli.main(
        [
            "run",
            "neuron_comparison",
            "--scale",
            "tiny",
            "--device",
            "runtime",
            "--runtime-target",
            "numpy",
            "--set",
            "lif.initial.v=5*ms",
            "--results-dir",
            "/nonexistent",
        ]
    ) == (cli.EXIT_BAD_INPUT)


@pytest.mark.parametrize(
    "module, config, message",
    [
        (
            neuron_comparison,
            {"neurons": (dataclasses.replace(LIF, reset="v = E_L"),)},
            "more than parameters",
        ),
        (neuron_comparison, {"neurons": (LIF.with_params(tau_m=40 * ms), "lif")}, "more than once"),
        (song_stdp, {"neuron": get_neuron("lif_cond").with_params(tau_m=20 * ms)}, "no overrides"),
    ],
)
def test_a_record_a_config_cannot_carry_is_refused_in_one_line(module, config, message):
    with pytest.raises(ConfigError, match=message):
        checked(module, module.Config(**config))


@pytest.mark.standalone
def test_readme_python_example_runs_as_written(tmp_path, monkeypatch):
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)  # results/ and build/ land here
    namespace = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)  # noqa: S102
    result = tmp_path / namespace["result_dir"]
    assert result.parent == tmp_path / "results" / "neuron_comparison"
    assert json.loads((result / "config.json").read_text())["overrides"] == [
        ["lif", "tau_m", "40. * msecond"]  # slow_lif, as --set writes it
    ]
    assert (tmp_path / "build" / "neuron_comparison" / "cpp_standalone").is_dir()
