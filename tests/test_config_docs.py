"""What a newcomer can change: every config field documented, every CLI option explained, and
the README's Python example runnable as written."""

import argparse
import dataclasses
import re

import pytest

from experiments import EXPERIMENTS, cli, get_experiment, song_stdp
from experiments.configs import describe_config, field_docs


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
