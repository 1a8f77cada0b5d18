"""A neuron model and an e-prop map defined here, under names no experiment has seen, run in
every experiment that takes a neuron or an e-prop map: nothing may know models by name."""

import dataclasses
import json

import pytest
from brian2 import Mohm, ms, mV

from experiments import get_experiment
from experiments.runner import harness
from models import eprop, neurons
from models.base import ModelError, NeuronModel

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

    elsewhere = {"song_stdp": "its neuron takes a conductance input g_e, as lif_cond does"}
    for name in EXPERIMENTS:
        fields = {f.name for f in dataclasses.fields(get_experiment(name).Config)}
        if fields & {"neuron", "neurons", "variants"}:
            assert name in TAKES_A_NEURON | TAKES_AN_EPROP_MAP or name in elsewhere, name


#: A map of a hypothesis the package does not have: a LIF that resets to zero at a spike.
MINE_EPROP = eprop.EpropNeuronModel(
    name="mine_eprop",
    citation="a map written for this test",
    equations="""
        v : 1
        z : 1
        psi : 1
        wipe : 1
        in_refractory : 1
        steps_since_spike : integer
        I_in : 1
        I_ext : 1
    """,
    params={"alpha": 0.85, "v_th": 1.0, "gamma": 0.3, "n_ref": 3},
    spike_code="""
in_refractory = int(steps_since_spike < n_ref)
z = int(v > v_th)*(1 - in_refractory)
psi = (gamma/v_th)*clip(1 - abs(v - v_th)/v_th, 0, 1)*(1 - in_refractory)
wipe = 0
""",
    state_code="""
v = alpha*v*(1 - z) + I_in + I_ext
I_in = 0
steps_since_spike = steps_since_spike*(1 - int(z)) + 1
""",
)


def mine_eprop(refractory_boundary: str = "exclusive", **params):
    if refractory_boundary != "exclusive":
        raise ModelError("mine_eprop has the exclusive refractory boundary only")
    return MINE_EPROP.with_params(**params)


#: every experiment that takes an e-prop map: the variant that names it
TAKES_AN_EPROP_MAP = {
    "eligibility_windows": ("mine", "exclusive", "negative"),
    "timing_learning": ("mine", "plain", ""),
}


@pytest.mark.parametrize("name", sorted(TAKES_AN_EPROP_MAP))
def test_an_eprop_map_defined_here_runs_in_every_experiment_that_takes_one(
    name, tmp_path, monkeypatch
):
    monkeypatch.setitem(eprop.EPROP_MAPS, "mine", mine_eprop)
    module = get_experiment(name)
    config = dataclasses.replace(module.SCALES["tiny"], variants=(TAKES_AN_EPROP_MAP[name],))
    result = harness.run(
        module,
        config,
        device="runtime",
        results_root=tmp_path,
        build_root=tmp_path / "build",
        scale="tiny",
    )
    metrics = json.loads((result / "metrics.json").read_text())
    (compared,) = (row for row in metrics["targets"] if row["key"] in ("P8a", "P9a"))
    assert "no numpy reference for mine" in compared["description"]
