"""A neuron model defined here, under a name and parameter names no experiment has seen,
runs in every experiment that takes a neuron: nothing may know models by name."""

import dataclasses

import pytest
from brian2 import Mohm, ms, mV

from experiments import get_experiment
from experiments.runner import harness
from models import neurons
from models.base import NeuronModel

MINE = NeuronModel(
    name="mine",
    citation="a model written for this test",
    equations="""
        dv/dt = (V_rest - v + R*(I + I_syn))/tau : volt (unless refractory)
        dI_syn/dt = -I_syn/tau_syn : amp
        I : amp
    """,
    threshold="v > V_fire",
    reset="v = V_rest",
    refractory="2*ms",
    initial_values={"v": "V_rest"},
    scales={
        "resistance": "R",
        "tau_syn": "tau_syn",
        "tau_m": "tau",
        "threshold_distance": "V_fire - V_rest",
    },
    params={
        "V_rest": -65 * mV,
        "V_fire": -50 * mV,
        "R": 100 * Mohm,
        "tau": 15 * ms,
        "tau_syn": 5 * ms,
    },
)
#: every experiment that takes a neuron model: its config field and the tiny changes that
#: keep it short
TAKES_A_NEURON = {
    "neuron_comparison": ("neurons", {}),
    "event_features": ("neurons", {}),
    "stdp_clustering": ("neuron", {"loop_epochs": 0}),
}


@pytest.mark.parametrize("name", sorted(TAKES_A_NEURON))
def test_a_model_defined_here_runs_in_every_experiment_that_takes_a_neuron(
    name, tmp_path, monkeypatch
):
    monkeypatch.setitem(neurons.NEURONS, MINE.name, MINE)
    field, changes = TAKES_A_NEURON[name]
    module = get_experiment(name)
    value = (MINE.name,) if field == "neurons" else MINE.name
    config = dataclasses.replace(module.SCALES["tiny"], **{field: value}, **changes)
    result = harness.run(
        module,
        config,
        device="runtime",
        results_root=tmp_path,
        build_root=tmp_path / "build",
        scale="tiny",
    )
    assert (result / "metrics.json").exists()


def test_the_list_above_holds_every_experiment_with_a_neuron_field():
    """New experiments that take a neuron join TAKES_A_NEURON, or say here why not."""
    from experiments import EXPERIMENTS

    elsewhere = {
        "song_stdp": "its neuron takes a conductance input g_e, as lif_cond does",
        "timing_learning": "its variants need an e-prop map, which only lif, stdp_lif and "
        "izhikevich have (models/eprop.py)",
        "eligibility_windows": "the same e-prop maps",
    }
    for name in EXPERIMENTS:
        fields = {f.name for f in dataclasses.fields(get_experiment(name).Config)}
        if fields & {"neuron", "neurons", "variants"}:
            assert name in TAKES_A_NEURON or name in elsewhere, name
