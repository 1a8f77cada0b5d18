"""`stdplab describe` and figures/models.md show the records that run, not a copy of them."""

import re

import pytest
from brian2 import Equations, ms

from experiments.runner import cli
from models.describe import MODELS, describe, describe_all, get_record


def _code_block(text: str, title: str) -> str:
    match = re.search(rf"^{title}:\n\n```\n(.*?)\n```", text, flags=re.S | re.M)
    assert match, f"no {title!r} block"
    return match.group(1)


@pytest.mark.parametrize("name", MODELS)
def test_each_description_parses_back_to_the_records_equations(name):
    record = get_record(name)
    text = describe(record)
    shown = Equations(_code_block(text, "equations"))
    assert shown == Equations("\n".join(record.equation_lines()))
    assert record.citation in text
    for parameter in record.params:
        assert f"| `{parameter}` |" in text


def test_every_piece_of_code_that_runs_is_shown():
    """STDP-LIF's second reset lives in an event, not in the equations."""
    text = describe(get_record("stdp_lif"))
    for event, (condition, code) in get_record("stdp_lif").events.items():
        assert f"event {event}, when `{condition}`:\n\n```\n{code}\n```" in text


def test_a_changed_hypothesis_is_what_gets_described():
    changed = (
        get_record("lif")
        .with_params(tau_m=7 * ms)
        .with_equation("dv/dt = (E_L - v)/tau_m : volt (unless refractory)")
    )
    text = describe(changed)
    assert "| `tau_m` | 7. ms | second |" in text
    assert "dv/dt = (E_L - v)/tau_m" in _code_block(text, "equations")


def test_describe_command_prints_one_model_and_refuses_unknown_ones(capsys):
    assert cli.main(["describe", "izhikevich:FS"]) == 0
    assert "| `a` | 100. Hz |" in capsys.readouterr().out  # the FS set's a = 0.1/ms
    assert cli.main(["describe", "hodgkin_huxley"]) == cli.EXIT_BAD_INPUT
    assert "unknown model 'hodgkin_huxley'; choose one of lif" in capsys.readouterr().err


def test_report_writes_every_model_to_models_md(tmp_path):
    status = cli.main(
        [
            "report",
            "--results-dir",
            str(tmp_path / "results"),
            "--figures-dir",
            str(tmp_path / "figures"),
        ]
    )
    assert status == 0
    assert (tmp_path / "figures" / "models.md").read_text() == describe_all()
    assert describe_all().count("\n## ") == len(MODELS)


def test_describe_shows_a_model_with_the_changes_run_would_make(capsys):
    assert (
        cli.main(["describe", "lif", "--set", "lif.tau_m=10*ms", "--set", "lif.initial.v=-60*mV"])
        == 0
    )
    text = capsys.readouterr().out
    assert "| `tau_m` | 10. ms |" in text and "initial values: `v = -60*mV`" in text
    assert cli.main(["describe", "lif", "--set", "izhikevich.a=0.1/ms"]) == cli.EXIT_BAD_INPUT
    assert "--set needs lif.PARAMETER=VALUE" in capsys.readouterr().err


def test_describe_shows_what_a_saved_result_ran_with_its_overrides(tiny_results, tmp_path, capsys):
    import json
    import shutil

    saved = tmp_path / "result"
    shutil.copytree(tiny_results["neuron_comparison"], saved)
    assert cli.main(["describe", str(saved)]) == 0
    text = capsys.readouterr().out
    assert f"result {saved.name} of neuron_comparison" in text and "(none)" in text
    assert {"## lif", "## izhikevich", "## stdp_lif", "## adex"} <= set(text.splitlines())
    config = json.loads((saved / "config.json").read_text())
    config["overrides"] = [["lif", "tau_m", "10*ms"]]
    (saved / "config.json").write_text(json.dumps(config))
    assert cli.main(["describe", str(saved)]) == 0
    text = capsys.readouterr().out
    assert "overrides = [['lif', 'tau_m', '10*ms']]" in text
    assert "| `tau_m` | 10. ms |" in text.split("## lif")[1].split("## ")[0]
