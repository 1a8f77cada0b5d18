"""Plasticity rules against closed forms, an independent event-driven model and published tables."""

import numpy as np
import pytest
from brian2 import Network, SpikeGeneratorGroup, defaultclock, ms, second

from analysis import references
from analysis.figures import load_result
from analysis.plasticity_curves import window_reference
from analysis.stdp import (
    TRIPLET_PARAMS,
    minimal_triplet_crossover_rate,
    pair_protocol_final_weight,
    pairing_times,
    triplet_poisson_drift,
    triplet_weight_change,
    zero_crossing,
)
from experiments.networks.build import plastic_synapses
from models import PAIR_STDP_SETS, TRIPLET_SETS, pair_stdp, triplet_stdp


def _final_weights(rule, pre_times_ms, post_times_ms, w0=1.0, dt=0.1 * ms):
    """Simulate one synapse with forced pre and post spike trains (numpy runtime)."""
    from brian2 import prefs

    prefs.codegen.target = "numpy"
    defaultclock.dt = dt
    pre = SpikeGeneratorGroup(1, [0] * len(pre_times_ms), np.array(pre_times_ms) * ms)
    post = SpikeGeneratorGroup(1, [0] * len(post_times_ms), np.array(post_times_ms) * ms)
    synapses = plastic_synapses(rule, pre, post, name="synapse", w_init=w0)
    end = max(max(pre_times_ms, default=0), max(post_times_ms, default=0)) + 1
    Network(pre, post, synapses).run(end * ms, namespace={})
    return float(synapses.w[0])


def test_simulated_window_equals_the_closed_form_for_every_scheme(tiny_results):
    config, data, metrics = load_result(tiny_results["plasticity_curves"])
    closed_form = window_reference(config, data)
    np.testing.assert_allclose(data["window_dw"], closed_form, rtol=1e-9, atol=0)
    assert metrics["window_max_relative_error"] < 1e-9


def test_coincident_spikes_potentiate_because_brian2_runs_pre_before_post():
    rule = pair_stdp(A_plus=0.01, A_minus=0.02, w_max=2.0)
    assert _final_weights(rule, [10.0], [10.0]) == pytest.approx(1.01, abs=1e-12)


def test_pairing_schemes_differ_when_pairs_overlap_and_match_the_exact_reference():
    # A pre burst then one post spike: all-to-all sums three pre traces, nearest keeps one.
    pre_ms, post_ms = [10.0, 15.0, 20.0], [25.0]
    params = dict(A_plus=0.01, A_minus=0.012, w_max=5.0)
    tau_plus, tau_minus = (float(PAIR_STDP_SETS["bi_poo"][k]) for k in ("tau_plus", "tau_minus"))
    changes = {}
    for pairing in ("all_to_all", "nearest"):
        simulated = _final_weights(pair_stdp(pairing, **params), pre_ms, post_ms) - 1.0
        exact = triplet_weight_change(
            np.array(pre_ms) / 1e3,
            np.array(post_ms) / 1e3,
            A2_plus=0.01,
            A3_plus=0.0,
            A2_minus=0.012,
            A3_minus=0.0,
            tau_plus=tau_plus,
            tau_minus=tau_minus,
            tau_x=1.0,
            tau_y=1.0,
            pairing=pairing,
        )
        assert simulated == pytest.approx(exact, rel=1e-9)
        changes[pairing] = simulated
    assert changes["all_to_all"] > 2 * changes["nearest"]


def test_multiplicative_weights_approach_the_bound_without_crossing_it():
    rule = pair_stdp(bounds="multiplicative", A_plus=0.5, A_minus=0.5, w_max=1.0)
    pre = list(np.arange(20) * 1000.0 + 10)  # 1 s apart: pairs do not interact
    w = _final_weights(rule, pre, [t + 1 for t in pre], w0=0.5, dt=1 * ms)
    expected = pair_protocol_final_weight(
        1e-3, 20, 0.5, 0.5, 16.8e-3, 33.7e-3, bounds="multiplicative", w0=0.5, w_max=1.0
    )
    assert w == pytest.approx(float(expected), rel=1e-6)
    assert 0.99 < w < 1.0


@pytest.mark.parametrize("parameter_set", sorted(TRIPLET_SETS))
def test_triplet_synapse_matches_the_exact_event_driven_reference(parameter_set):
    rng = np.random.default_rng(7)
    pre = np.sort(rng.choice(np.arange(5, 500), 25, replace=False)).astype(float)
    post = np.sort(rng.choice(np.arange(5, 500), 25, replace=False)).astype(float)
    rule = triplet_stdp(parameter_set, w_max=100.0)
    simulated = _final_weights(rule, list(pre), list(post), dt=1 * ms) - 1.0
    kwargs = {key: float(rule.params[key]) for key in TRIPLET_PARAMS}
    exact = triplet_weight_change(pre / 1e3, post / 1e3, pairing=rule.options["pairing"], **kwargs)
    assert simulated == pytest.approx(exact, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("parameter_set", sorted(references.TRIPLET_PREDICTIONS))
def test_reference_implementation_reproduces_the_published_prediction_table(parameter_set):
    params = dict(TRIPLET_SETS[parameter_set])
    pairing = params.pop("pairing")
    values = {key: float(value) for key, value in params.items()}
    values.update(tau_plus=16.8e-3, tau_minus=33.7e-3)
    for lag_ms, predicted in references.TRIPLET_PREDICTIONS[parameter_set].items():
        for rate, expected in zip(references.TRIPLET_PREDICTION_RATES, predicted, strict=True):
            pre, post = pairing_times(lag_ms / 1e3, rate, 60)
            dw = triplet_weight_change(pre, post, pairing=pairing, **values)
            assert abs(dw - expected) <= references.TRIPLET_PREDICTION_PRECISION


def test_bcm_crossover_of_the_minimal_visual_set_is_17_5_hz():
    s = TRIPLET_SETS["visual_all_to_all_minimal"]
    rate = minimal_triplet_crossover_rate(
        s["A2_minus"], s["A3_plus"], 16.8e-3, 33.7e-3, float(s["tau_y"] / second)
    )
    assert rate == pytest.approx(17.5, abs=0.05)


def test_poisson_drift_closed_form_changes_sign_at_the_minimal_rule_crossover():
    s = {
        k: float(v) for k, v in TRIPLET_SETS["visual_all_to_all_minimal"].items() if k != "pairing"
    }
    rates = np.linspace(1, 40, 3901)
    drift = triplet_poisson_drift(10.0, rates, tau_plus=16.8e-3, tau_minus=33.7e-3, **s)
    crossover = minimal_triplet_crossover_rate(
        s["A2_minus"], s["A3_plus"], 16.8e-3, 33.7e-3, s["tau_y"]
    )
    assert zero_crossing(rates, drift) == pytest.approx(crossover, abs=0.01)


def test_triplet_synapses_drift_as_the_closed_form_under_independent_poisson_trains():
    from brian2 import Hz, PoissonGroup, prefs, seed

    prefs.codegen.target = "numpy"
    defaultclock.dt = 1 * ms
    seed(11)
    n, duration_s = 40, 30.0
    post_rates = np.repeat([5.0, 40.0], n // 2)
    pre = PoissonGroup(n, 10 * Hz)
    post = PoissonGroup(n, post_rates * Hz)
    rule = triplet_stdp("visual_all_to_all_minimal", w_max=1000.0)
    synapses = plastic_synapses(rule, pre, post, name="synapses", w_init=100.0)
    Network(pre, post, synapses).run(duration_s * second, namespace={})
    drift = (np.asarray(synapses.w[:]) - 100.0) / duration_s
    params = {key: float(rule.params[key]) for key in TRIPLET_PARAMS}
    for rate in (5.0, 40.0):
        measured = drift[post_rates == rate]
        expected = triplet_poisson_drift(10.0, rate, **params)
        sem = measured.std(ddof=1) / np.sqrt(len(measured))
        assert abs(measured.mean() - expected) < 4 * sem
        assert np.sign(measured.mean()) == np.sign(expected)  # depression at 5 Hz, LTP at 40


@pytest.mark.parametrize("make_rule", [triplet_stdp, pair_stdp], ids=["triplet", "pair"])
def test_default_rules_have_no_upper_bound_to_clip_a_protocol_silently(make_rule):
    """Sjöström's +10 ms pairing at 20 Hz, 60 pairs, from w = 1: the default rules follow the exact
    event-driven sum (once clipped at a default w_max = 1, it gave 0)."""
    rule = make_rule()
    pre, post = pairing_times(10e-3, 20.0, 60)
    simulated = _final_weights(rule, list(pre * 1e3), list(post * 1e3)) - 1.0
    values = {key: float(rule.params[key]) for key in TRIPLET_PARAMS if key in rule.params}
    if make_rule is pair_stdp:  # the pair rule is the triplet rule without its triplet terms
        values.update(
            A2_plus=values.pop("A_plus", float(rule.params["A_plus"])),
            A2_minus=float(rule.params["A_minus"]),
            A3_plus=0.0,
            A3_minus=0.0,
            tau_x=1.0,
            tau_y=1.0,
        )
    exact = triplet_weight_change(pre, post, pairing=rule.options["pairing"], **values)
    assert exact > 0.05 and simulated == pytest.approx(exact, rel=1e-6)


def test_multiplicative_bounds_need_a_finite_upper_bound():
    from models.base import ModelError

    with pytest.raises(ModelError, match="give a finite w_max"):
        pair_stdp(bounds="multiplicative")


def test_plastic_synapses_take_their_own_time_step_as_neuron_groups_do():
    from brian2 import prefs

    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.1 * ms
    pre = SpikeGeneratorGroup(1, [0], [1] * ms)
    post = SpikeGeneratorGroup(1, [0], [2] * ms)
    coarse = plastic_synapses(pair_stdp(), pre, post, name="coarse", dt=0.5 * ms)
    assert coarse.clock.dt == 0.5 * ms
    assert plastic_synapses(pair_stdp(), pre, post, name="fine").clock.dt == 0.1 * ms


def _forced_targets(spike_steps, rule, dt):
    """A group of neurons that spike at ``spike_steps`` (steps x neurons, boolean) and keep
    ``rule``'s postsynaptic state."""
    from brian2 import TimedArray

    from experiments.networks.build import neuron_group
    from models.base import NeuronModel

    forced = NeuronModel(
        name="forced",
        equations="x : 1",
        params={},
        citation="a test's spike source",
        threshold="forced(t, i) > 0.5",
        method="euler",
    ).with_rule_state(rule)
    group = neuron_group(forced, spike_steps.shape[1], name="targets")
    group.namespace["forced"] = TimedArray(spike_steps.astype(float), dt=dt)
    return group


@pytest.mark.parametrize(
    "make_rule",
    [
        lambda traces: pair_stdp("all_to_all", traces=traces, A_plus=0.01, A_minus=0.012),
        lambda traces: pair_stdp("nearest", traces=traces, A_plus=0.01, A_minus=0.012),
        lambda traces: pair_stdp(
            "all_to_all", "multiplicative", traces, A_plus=0.2, A_minus=0.25, w_max=3.0
        ),
        lambda traces: triplet_stdp("hippocampal_all_to_all_full", traces),
        lambda traces: triplet_stdp("visual_nearest_full", traces),
    ],
    ids=["pair-all", "pair-nearest", "pair-multiplicative", "triplet-all", "triplet-nearest"],
)
@pytest.mark.parametrize("delay_ms", [0.0, 3.0])
def test_per_neuron_traces_learn_what_per_synapse_traces_learn(make_rule, delay_ms):
    """Traces kept once per neuron (a relay holds the presynaptic ones), and for pair rules
    with deferred potentiation too, against Brian2's per-synapse event-driven traces and,
    without bounds, the exact event-by-event reference, on 6 x 4 all-to-all synapses with
    random trains, coincidences included, in two runs (what is owed is applied after each)."""
    from brian2 import prefs

    prefs.codegen.target = "numpy"
    dt = 1 * ms
    defaultclock.dt = dt
    rng = np.random.default_rng(11)
    steps = 400
    pre_steps = rng.random((steps, 6)) < 0.04
    post_steps = rng.random((steps, 4)) < 0.03
    post_steps[pre_steps[:, 0].nonzero()[0][:3], 1] = True  # some coincidences
    delay = {"pre": delay_ms * ms} if delay_ms else None
    weights = {}
    pair = make_rule("per_synapse").name.startswith("pair")
    forms = ("per_synapse", "per_neuron", "deferred") if pair else ("per_synapse", "per_neuron")
    for traces in forms:
        rule = make_rule(traces)
        step, neuron = np.nonzero(pre_steps)
        sources = SpikeGeneratorGroup(6, neuron, step * dt, name="sources")
        targets = _forced_targets(post_steps, rule, dt)
        synapses = plastic_synapses(
            rule, sources, targets, name="synapses", connect="True", w_init=1.0, delay=delay
        )
        net = Network(sources, targets, synapses, *synapses.relay)
        for _ in range(2):
            net.run(steps // 2 * dt, namespace={})
        weights[traces] = np.array(synapses.w[:]), np.array(synapses.i[:]), np.array(synapses.j[:])
    for traces in forms[1:]:
        np.testing.assert_allclose(weights[traces][0], weights["per_synapse"][0], atol=1e-12)
    w, i, j = weights["per_neuron"]
    if not np.isfinite(float(rule.params["w_max"])):
        kwargs = {key: float(rule.params.get(key, 0.0)) for key in TRIPLET_PARAMS}
        if "A_plus" in rule.params:
            kwargs.update(
                A2_plus=float(rule.params["A_plus"]), A2_minus=float(rule.params["A_minus"])
            )
            kwargs.update(tau_x=1.0, tau_y=1.0)
        for synapse in range(len(w)):
            # in steps, so that a delayed arrival and a post spike of one step are equal
            arrival = pre_steps[:, i[synapse]].nonzero()[0] + round(delay_ms)
            pre_t = arrival[arrival < steps] * 1e-3  # arrivals after the end never happen
            post_t = post_steps[:, j[synapse]].nonzero()[0] * 1e-3
            exact = 1 + triplet_weight_change(
                pre_t, post_t, pairing=rule.options["pairing"], **kwargs
            )
            assert w[synapse] == pytest.approx(exact, abs=1e-9)


def test_per_neuron_traces_refuse_what_they_cannot_do_exactly_before_any_build(tmp_path):
    from brian2 import NeuronGroup

    from experiments.runner.devices import simulation
    from models.base import ModelError

    with pytest.raises(ModelError, match="unknown trace location 'per_cell'; choose one of"):
        triplet_stdp(traces="per_cell")
    rule = pair_stdp(traces="per_neuron")
    with simulation("cpp_standalone", tmp_path / "build") as sim:
        sources = SpikeGeneratorGroup(2, [0, 1], [1, 2] * ms, name="sources")
        bare = NeuronGroup(2, "v : 1", threshold="v > 1", name="bare")
        with pytest.raises(ModelError, match="lacks: build the target from model.with_rule_"):
            plastic_synapses(rule, sources, bare, name="unkept")
        targets = _forced_targets(np.zeros((10, 2), dtype=bool), rule, defaultclock.dt)
        # a postsynaptic trace moves at its neuron's spike, not a delay later
        with pytest.raises(ModelError, match="give the post pathway no delay"):
            plastic_synapses(rule, sources, targets, name="late", delay={"post": 1 * ms})
        synapses = plastic_synapses(rule, sources, targets, name="synapses")
        # without its relay's input the relay would never spike, and nothing would be learnt
        net = Network(sources, targets, synapses, synapses.relay[0])
        with pytest.raises(ModelError, match=r"add them \(Network\(\.\.\., synapses, \*synapses"):
            sim.run(net, 10 * ms)
    assert not (tmp_path / "build" / "main").exists()


def _deferred_against_per_synapse_network(traces, steps, dt):
    """8 random inputs (input 0 silent between its first and last spike) onto 3 forced
    targets, all to all, pair STDP."""
    rng = np.random.default_rng(5)
    pre_steps = rng.random((steps, 8)) < 0.02
    pre_steps[:, 0] = False
    pre_steps[[5, steps - 200], 0] = True
    post_steps = rng.random((steps, 3)) < 0.03
    rule = pair_stdp("all_to_all", traces=traces, A_plus=0.01, A_minus=0.012)
    step, neuron = np.nonzero(pre_steps)
    sources = SpikeGeneratorGroup(8, neuron, step * dt, name="sources")
    targets = _forced_targets(post_steps, rule, dt)
    synapses = plastic_synapses(
        rule, sources, targets, name="synapses", connect="True", w_init=1.0, delay={"pre": dt}
    )
    return Network(sources, targets, synapses, *synapses.relay), synapses


@pytest.mark.standalone
def test_compiled_deferred_potentiation_learns_what_per_synapse_traces_learn(tmp_path):
    """The C++ history (models/deferred_stdp.h) against Brian2's per-synapse traces over 4 s in
    two runs of the binary: postsynaptic spikes owed across the 1.68 s epochs (100 tau+) its
    exponentials are factored over, and to an input silent for 3.6 s."""
    from experiments.runner.devices import simulation

    dt, steps = 1 * ms, 4000
    weights = {}
    for traces in ("per_synapse", "deferred"):
        with simulation("cpp_standalone", tmp_path / traces) as sim:
            defaultclock.dt = dt
            net, synapses = _deferred_against_per_synapse_network(traces, steps, dt)
            sim.run_phases(net, [(steps // 2 * dt, None), (steps // 2 * dt, None)])
            weights[traces] = np.array(synapses.w[:])
    assert np.ptp(weights["per_synapse"]) > 0.05  # learning happened
    np.testing.assert_allclose(weights["deferred"], weights["per_synapse"], rtol=0, atol=1e-12)


def test_deferred_potentiation_is_refused_where_it_cannot_run():
    from brian2 import prefs

    from experiments.runner.devices import simulation
    from models.base import ModelError

    with pytest.raises(ModelError, match="choose one of per_synapse, per_neuron$"):
        triplet_stdp(traces="deferred")
    with simulation("runtime", runtime_target="cython"):
        assert prefs.codegen.target == "cython"
        with pytest.raises(ModelError, match="cpp_standalone and the numpy runtime only"):
            _deferred_against_per_synapse_network("deferred", 400, defaultclock.dt)
