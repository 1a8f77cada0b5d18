"""Model records: editing hypotheses, and bad input answered before anything compiles."""

import dataclasses

import pytest
from brian2 import Equations, ms, mV

from experiments.networks.build import check_model, resolve_neuron
from models import (
    IZHIKEVICH_SETS,
    LIF,
    NEURONS,
    STDP_LIF,
    TRIPLET_SETS,
    ModelError,
    get_neuron,
    pair_stdp,
    parse_quantity,
    triplet_stdp,
)


def test_every_parameter_becomes_a_shared_constant_with_its_unit():
    equations = LIF.brian_equations()
    for name, value in LIF.params.items():
        assert name in equations.names
        assert equations[name].dim is value.dim
        assert "shared" in equations[name].flags and "constant" in equations[name].flags


def test_per_neuron_parameters_are_not_shared():
    equations = get_neuron("izhikevich").brian_equations(per_neuron=("a",))
    assert "shared" not in equations["a"].flags
    assert "shared" in equations["b"].flags


def test_with_params_returns_a_changed_copy():
    faster = LIF.with_params(tau_m=10 * ms, v_th="-55*mV")
    assert faster.params["tau_m"] == 10 * ms
    assert faster.params["v_th"] == -55 * mV
    assert LIF.params["tau_m"] == 20 * ms  # the original is untouched


def test_with_equation_replaces_the_line_of_the_same_variable():
    changed = LIF.with_equation("dv/dt = (E_L - v)/tau_m : volt (unless refractory)")
    lines = changed.equation_lines()
    assert sum(line.startswith("dv/dt") for line in lines) == 1
    assert "R_m" not in lines[0]
    assert len(lines) == len(LIF.equation_lines())
    Equations("\n".join(lines))  # still a valid system


def test_named_izhikevich_sets():
    chattering = get_neuron("izhikevich:CH")
    assert chattering.params["c"] == -50 * mV and chattering.params["d"] == 2 * mV
    assert set(IZHIKEVICH_SETS) == {"RS", "IB", "CH", "FS", "LTS", "TC", "RZ"}


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: get_neuron("hodgkin_huxley"), "choose one of lif"),
        (lambda: get_neuron("izhikevich:XX"), "the named sets are izhikevich: RS"),
        (lambda: get_neuron("lif:RS"), "unknown variant .RS. of lif"),
        (lambda: LIF.with_params(tau_m=20), "must be in units of second"),
        (lambda: LIF.with_params(tau_m=20 * mV), "must be in units of second"),
        (lambda: LIF.with_params(tau_n=20 * ms), "its parameters are E_L"),
        (lambda: LIF.with_equation("dv/dt = (E_L - v/tau_m : volt"), "cannot parse the equation"),
        (lambda: parse_quantity("20 parsecs"), "cannot read"),
        (lambda: parse_quantity("__import__('os')"), "cannot read"),
        (lambda: pair_stdp(pairing="causal"), "choose one of all_to_all"),
        (lambda: pair_stdp(bounds="soft"), "choose one of additive"),
        (lambda: triplet_stdp("visual"), "choose one of visual_all_to_all_full"),
    ],
)
def test_bad_input_names_the_problem_and_the_fix(call, fragment):
    with pytest.raises(ModelError, match=fragment):
        call()


def test_inconsistent_units_are_caught_on_the_runtime_before_any_compile(tmp_path):
    broken = LIF.with_equation("dv/dt = (E_L - v)/tau_m + I : volt")  # amp added to volt/second
    with pytest.raises(ModelError, match="inconsistent units"):
        check_model(broken)


def test_undefined_name_is_caught_before_any_compile():
    broken = LIF.with_equation("dv/dt = (E_L - v + R_m*I_typo)/tau_m : volt")
    with pytest.raises(ModelError, match="cannot build this model"):
        check_model(broken)


@pytest.mark.parametrize("name", sorted(NEURONS))
def test_every_shipped_neuron_model_builds(name):
    check_model(get_neuron(name))


@pytest.mark.parametrize("parameter_set", sorted(TRIPLET_SETS))
def test_every_shipped_plasticity_rule_builds(parameter_set):
    check_model(triplet_stdp(parameter_set))
    check_model(triplet_stdp(parameter_set, traces="per_neuron"))
    check_model(pair_stdp("nearest", "multiplicative", w_max=1.0))
    check_model(pair_stdp("nearest", "multiplicative", "per_neuron", w_max=1.0))
    check_model(pair_stdp("nearest", "multiplicative", "deferred", w_max=1.0))


def test_resolve_neuron_applies_overrides_to_the_named_model_only():
    overrides = (
        ("lif", "tau_m", "10*ms"),
        ("stdp_lif", "R_m", "50*Mohm"),
        ("lif", "equation", "dI_syn/dt = -I_syn/(2*tau_syn) : amp"),
    )
    lif = resolve_neuron("lif", overrides)
    assert lif.params["tau_m"] == 10 * ms
    assert "2*tau_syn" in lif.equations
    assert resolve_neuron("stdp_lif", overrides).params["tau_m"] == STDP_LIF.params["tau_m"]


def test_records_serialise_to_json_ready_dicts():
    import json

    text = json.dumps(LIF.to_dict())
    assert "tau_m" in text and "unless refractory" in text


def test_scales_are_the_records_own_expressions_checked_for_units():
    from brian2 import Mohm

    scales = get_neuron("izhikevich").scale_values()
    # the rheobase of 0.04 v^2 + (5 - b) v + 140 + R I with u = b v: (5 - b)^2 / 0.16 - 140
    assert float(scales["threshold_distance"] / mV) == pytest.approx(4)
    lts = get_neuron("izhikevich:LTS").scale_values()["threshold_distance"]
    assert float(lts / mV) == pytest.approx((5 - 0.25) ** 2 / 0.16 - 140)
    slower = LIF.with_params(R_m=50 * Mohm, v_th=-55 * mV).scale_values()
    assert float(slower["resistance"] / Mohm) == pytest.approx(50)
    assert float(slower["threshold_distance"] / mV) == pytest.approx(15)
    wrong = dataclasses.replace(LIF, scales={**LIF.scales, "tau_m": "R_m"})
    with pytest.raises(ModelError, match=r"scales\['tau_m'\] = 'R_m' .* not in units of second"):
        wrong.scale_values()
    with pytest.raises(ModelError, match="lif_cond does not give the scales.*threshold_distance"):
        get_neuron("lif_cond").scale_values()
    with pytest.raises(ModelError, match="unknown scales rheobase"):
        dataclasses.replace(LIF, scales={"rheobase": "v_th"})


def test_with_initial_sets_a_state_variables_start_in_its_unit_and_the_group_starts_there():
    from brian2 import Network, prefs

    from experiments.networks.build import neuron_group, resolve_neuron

    assert LIF.with_initial(v="-60*mV").initial_values["v"] == "-60*mV"
    assert LIF.with_initial(v=-60 * mV).initial_values["v"] == repr(-60 * mV)
    assert LIF.with_initial(v="E_L + 5*mV").initial_values["v"] == "E_L + 5*mV"  # code
    with pytest.raises(ModelError, match="no state variable 'x'.*I, I_syn, v"):
        LIF.with_initial(x="1")
    with pytest.raises(ModelError, match="initial v must be in units of V"):
        LIF.with_initial(v="5*ms")
    prefs.codegen.target = "numpy"
    model = resolve_neuron("lif", (("lif", "initial.v", "E_L + 5*mV"),))
    group = neuron_group(model, 2, name="started")
    Network(group).run(0 * ms, namespace={})
    assert group.v[:] == pytest.approx([-65e-3, -65e-3])
