"""Reusing a compiled cpp_standalone binary through run_args: when it is allowed (values only),
when it is refused and why, and that a reused run equals a fresh compile."""

import numpy as np
import pytest

from experiments.runner import reuse
from experiments.runner.devices import simulation
from experiments.runner.reuse import CompiledProject
from models import LIF, pair_stdp

INPUT_SEED = 5


def _network(model=LIF, rule=None, drive_na=(0.1, 0.3), n_spikes=300, w0=None, late_a_plus=None):
    """Fixed Poisson-like input onto two LIF neurons through pair STDP; the neurons' drive is a
    TimedArray. Two phases; ``late_a_plus`` changes A_plus between them."""
    from brian2 import (
        Network,
        SpikeGeneratorGroup,
        SpikeMonitor,
        TimedArray,
        defaultclock,
        ms,
        nA,
        second,
    )

    from experiments.networks.build import neuron_group, plastic_synapses

    defaultclock.dt = 0.1 * ms
    rng = np.random.default_rng(INPUT_SEED)
    steps = np.unique(rng.integers(0, 4000, n_spikes))
    inputs = SpikeGeneratorGroup(1, np.zeros(len(steps), int), steps * 0.1 * ms, name="inputs")
    neurons = neuron_group(model, 2, name="neurons")
    drive = TimedArray(np.array([drive_na, drive_na[::-1]]) * nA, dt=200 * ms, name="drive")
    neurons.namespace["drive"] = drive
    neurons.run_regularly("I = drive(t, i)", name="neurons_drive")
    synapses = plastic_synapses(
        rule or pair_stdp(A_plus=0.02, A_minus=0.021),
        inputs,
        neurons,
        name="synapses",
        transmit="I_syn_post += 2*w*nA",
        connect="True",
        w_init=np.array(w0 if w0 is not None else (0.5, 0.6)),
    )
    spikes = SpikeMonitor(neurons, name="spikes")
    net = Network(inputs, neurons, synapses, spikes)

    def later():
        if late_a_plus is not None:
            synapses.A_plus = late_a_plus

    phases = [(0.2 * second, lambda: None), (0.2 * second, later)]
    return net, phases, (synapses, spikes, drive)


def _recording(tmp_path, **changes):
    """What the standalone device records for ``_network(**changes)``; nothing is built."""
    from brian2 import get_device, seed

    with simulation("cpp_standalone", tmp_path / "recorded"):
        if "seed" in changes:
            seed(changes.pop("seed"))
        net, phases, _ = _network(**changes)
        for duration, before in phases:
            before()
            net.run(duration, namespace={}, report=None)
        return reuse.record(get_device())


def test_values_alone_become_run_args(tmp_path):
    compiled = _recording(tmp_path)
    assert reuse.compare(compiled, _recording(tmp_path)).run_args == {}
    changed = _recording(
        tmp_path,
        model=LIF.with_params(tau_m="12*ms", v_th="-52*mV"),
        rule=pair_stdp(A_plus=0.03, A_minus=0.021),
        drive_na=(0.2, 0.25),
        w0=(0.1, 0.9),
    )
    comparison = reuse.compare(compiled, changed)
    assert set(comparison.run_args) == {
        "neurons.tau_m",
        "neurons.v_th",
        "synapses.A_plus",
        "synapses.w",
        "drive.values",
    }
    assert comparison.run_args["neurons.tau_m"] == pytest.approx([0.012])
    np.testing.assert_array_equal(comparison.run_args["synapses.w"], [0.1, 0.9])
    np.testing.assert_allclose(
        comparison.run_args["drive.values"], [[2e-10, 2.5e-10], [2.5e-10, 2e-10]]
    )


@pytest.mark.parametrize(
    "changes, reason",
    [
        # v starts at E_L: that assignment runs before run_args are applied
        ({"model": LIF.with_params(E_L="-65*mV")}, "neurons.E_L is read by code that runs"),
        ({"n_spikes": 200}, "elements, not"),  # other input spikes: other array sizes
        ({"seed": 2}, "another random seed"),
        ({"late_a_plus": 0.05}, "synapses.A_plus is set to another value between runs"),
        (
            {"model": LIF.with_equation("dv/dt = (E_L - v)/tau_m : volt (unless refractory)")},
            "the generated code differs",
        ),
        # a value alone, but tau_m = tau_syn is integrated with another method than exact
        ({"model": LIF.with_params(tau_m="5*ms")}, "the generated code differs"),
    ],
)
def test_anything_but_values_needs_a_rebuild_and_says_why(tmp_path, changes, reason):
    base = {"seed": 1} if "seed" in changes else {}
    base["late_a_plus"] = 0.01 if "late_a_plus" in changes else None
    compiled = _recording(tmp_path, **base)
    comparison = reuse.compare(compiled, _recording(tmp_path, **{**base, **changes}))
    assert comparison.run_args is None
    assert reason in comparison.reason


def _run(tmp_path, folder, project=None, rerun_drive=None, **changes):
    """(weights, spike times, how the binary was obtained) of ``_network(**changes)``."""
    with simulation("cpp_standalone", tmp_path / folder, project=project) as sim:
        net, phases, (synapses, spikes, drive) = _network(**changes)
        sim.run_phases(net, phases, rerunnable=True)
        if rerun_drive is not None:
            from brian2 import nA

            sim.rerun(net, phases, {drive: np.array([rerun_drive, rerun_drive[::-1]]) * nA})
        return np.array(synapses.w[:]), np.array(spikes.t[:]), sim.execution


@pytest.mark.standalone
def test_a_binary_reused_through_run_args_equals_a_fresh_compile(tmp_path):
    changed = {
        "model": LIF.with_params(tau_m="12*ms"),
        "rule": pair_stdp(A_plus=0.03, A_minus=0.021),
        "drive_na": (0.25, 0.3),
    }
    project = CompiledProject(tmp_path / "shared")
    first = _run(tmp_path, "shared", project)
    reused = _run(tmp_path, "shared", project, **changed)
    fresh = _run(tmp_path, "fresh", **changed)
    assert (first[2], reused[2], fresh[2]) == ("compiled", "run_args", "compiled")
    assert len(fresh[1]) >= 5 and not np.array_equal(first[1], fresh[1])  # the change shows
    np.testing.assert_array_equal(reused[0], fresh[0])
    np.testing.assert_array_equal(reused[1], fresh[1])
    # A rerun of a reused binary keeps the run's own values where it does not set new ones.
    rerun = _run(tmp_path, "shared", project, rerun_drive=(0.2, 0.35), **changed)
    with simulation("runtime") as sim:
        net, phases, (synapses, spikes, _) = _network(**{**changed, "drive_na": (0.2, 0.35)})
        sim.run_phases(net, phases)
        expected = np.array(synapses.w[:]), np.array(spikes.t[:])
    assert rerun[2] == "run_args"
    np.testing.assert_allclose(rerun[0], expected[0], rtol=1e-10)
    np.testing.assert_allclose(rerun[1], expected[1], atol=1e-12)
