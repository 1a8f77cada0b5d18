"""Groups whose exact solution is singular or ill-conditioned at their parameter values (coupled
rates that coincide) are integrated with another method, against closed forms; all others keep
Brian2's exact solution."""

import dataclasses

import numpy as np
import pytest
from brian2 import Network, StateMonitor, defaultclock, ms, nA, second

from analysis.figures import load_result
from analysis.neuron_comparison import fi_curves
from experiments import get_experiment
from experiments.networks.build import DEGENERATE_METHOD, integration_method, neuron_group
from experiments.runner import harness
from experiments.runner.devices import simulation
from models import LIF, STDP_LIF

TAU = 5 * ms
I0 = 0.1 * nA  # 10 mV at most from rest: the neuron never fires
# x decays with v's own time constant and feeds v: its rate meets v's while not refractory
X_FEEDS_V = LIF.with_equation(
    "dv/dt = (E_L - v + R_m*(I + I_syn + x))/tau_m : volt (unless refractory)"
).with_equation("dx/dt = -x/tau_m : amp")


def _pulse_response(model, sim, kick="I_syn", duration=100 * ms):
    """v - E_L (volt) and t (s) of one neuron from rest after ``kick`` = I0 at t = 0."""
    defaultclock.dt = 0.1 * ms  # dt/tau = 0.02
    group = neuron_group(model, 1, name="neuron")
    setattr(group, kick, I0)
    trace = StateMonitor(group, "v", record=0, name="trace")
    sim.run(Network(group, trace), duration)
    v = np.asarray(trace.v[0]) - float(model.params["E_L"])
    return group.method_choice, np.asarray(trace.t / second), v


def _alpha(t, tau):
    """v - E_L for tau_syn == tau_m: R I0 (t/tau) exp(-t/tau)."""
    return float(LIF.params["R_m"] * I0) * (t / tau) * np.exp(-t / tau)


def _two_exponentials(t, tau_m, tau_syn):
    """v - E_L = R I0 tau_s/(tau_s - tau_m) (exp(-t/tau_s) - exp(-t/tau_m)), written without
    cancellation: tau_s - tau_m of two close floats is exact, and expm1 keeps the rest."""
    rate_gap = (tau_syn - tau_m) / (tau_m * tau_syn)
    scale = float(LIF.params["R_m"] * I0) * tau_syn / (tau_syn - tau_m)
    return scale * np.exp(-t / tau_m) * np.expm1(t * rate_gap)


def _relative_error(v, reference):
    return np.max(np.abs(v - reference)) / np.max(np.abs(reference))


@pytest.mark.parametrize(
    "model, kick",
    [
        (LIF.with_params(tau_m=TAU, tau_syn=TAU), "I_syn"),
        (STDP_LIF.with_params(tau_m=TAU, tau_syn=TAU), "I_syn"),
        (X_FEEDS_V.with_params(tau_m=TAU), "x"),  # degenerate whatever the values
    ],
    ids=["lif", "stdp_lif", "added_line"],
)
def test_equal_coupled_time_constants_follow_the_closed_form(model, kick):
    with simulation("runtime", runtime_target="numpy") as sim:
        method, t, v = _pulse_response(model, sim, kick=kick)
    assert method == DEGENERATE_METHOD
    assert _relative_error(v, _alpha(t, float(TAU))) < 1e-7  # measured 5.6e-9


@pytest.mark.standalone
def test_equal_time_constants_on_cpp_standalone(tmp_path):
    with simulation("cpp_standalone", tmp_path / "cpp") as sim:
        method, t, v = _pulse_response(LIF.with_params(tau_m=TAU, tau_syn=TAU), sim)
    assert method == DEGENERATE_METHOD
    assert np.all(np.isfinite(v))
    assert _relative_error(v, _alpha(t, float(TAU))) < 1e-7


@pytest.mark.parametrize(
    "tau_syn, method, tolerance",
    [
        (TAU * (1 + 1e-9), DEGENERATE_METHOD, 1e-7),  # measured 5.6e-9
        (TAU * (1 + 1e-5), "exact", 1e-9),  # measured 1.5e-11: exact still holds here
        (7 * ms, "exact", 1e-9),  # measured 4e-14
    ],
    ids=["near_degenerate", "just_apart", "apart"],
)
def test_distinct_time_constants_follow_the_two_exponential_form(tau_syn, method, tolerance):
    with simulation("runtime", runtime_target="numpy") as sim:
        chosen, t, v = _pulse_response(LIF.with_params(tau_m=TAU, tau_syn=tau_syn), sim)
    assert chosen == method
    assert _relative_error(v, _two_exponentials(t, float(TAU), float(tau_syn))) < tolerance


def test_only_coupled_rates_that_meet_change_the_method():
    assert integration_method(LIF) == ("exact", None)
    # x shares v's time constant but nothing couples them
    uncoupled = LIF.with_equation("dx/dt = -x/tau_m : amp")
    assert integration_method(uncoupled) == ("exact", None)
    method, reason = integration_method(LIF.with_params(tau_syn=LIF.params["tau_m"]))
    assert method == DEGENERATE_METHOD
    assert "tau_m" in reason and "tau_syn" in reason
    # one neuron of a heterogeneous group is enough: the group shares one update
    per_neuron = {"tau_syn": [5, 20, 7] * ms}
    assert integration_method(LIF, per_neuron)[0] == DEGENERATE_METHOD
    assert integration_method(LIF, {"tau_syn": [5, 7] * ms}) == ("exact", None)
    # a record that asks for another method keeps it
    euler = dataclasses.replace(LIF.with_params(tau_syn=LIF.params["tau_m"]), method="euler")
    assert integration_method(euler) == ("euler", None)


def test_neuron_comparison_with_tau_m_equal_to_tau_syn(tmp_path):
    module = get_experiment("neuron_comparison")
    config = dataclasses.replace(
        module.SCALES["tiny"], neurons=("lif",), overrides=(("lif", "tau_m", "5*ms"),)
    )
    result = harness.run(
        module, config, device="runtime", results_root=tmp_path, build_root=tmp_path / "build"
    )
    config, data, _ = load_result(result)
    (curve,) = fi_curves(config, data)
    assert curve["theory_hz"] is not None and np.all(np.isfinite(curve["rates_hz"]))
    usable = curve["counts"] >= 3
    assert usable.sum() >= 4
    periods, theory = 1 / curve["rates_hz"][usable], 1 / curve["theory_hz"][usable]
    assert np.all(np.abs(periods - theory) <= 2 * config["dt_ms"] / 1e3)
