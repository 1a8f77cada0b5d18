"""The plasticity benchmark: it runs at tiny size, and its engines simulate the same model."""

import importlib.util
import json
import sys

import numpy as np
import pytest

from tests import ROOT
from tests.conftest import once_per_session

BENCHMARKS = ROOT / "benchmarks"


def _load(name):
    sys.path.insert(0, str(BENCHMARKS))  # the scripts import their shared harness by name
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


plasticity = _load("plasticity")
HAVE_NEST = importlib.util.find_spec("nest") is not None


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Both networks at N = 1000 for 2 s on the compiled (with pre-drawn and Poisson inputs),
    runtime and (if installed) NEST engines (and NEST's nodes alone), through the script's
    own entry point; once per session, whichever worker needs it first."""
    engines = "stdplab-1,stdplab-1-poisson,brian2-numpy"
    engines += ",nest-1,nest-1-nodes" if HAVE_NEST else ""
    arguments = ["--sizes", "1000", "--duration", "2", "--engines", engines]
    arguments += ["--long-duration", "0", "--repeats", "1"]  # repeats: test_summary_...
    arguments += ["--contention", "99"]  # the test suite runs beside this: every run counts

    def run(output):
        plasticity.main([*arguments, "--output", str(output)])

    output = once_per_session(tmp_path_factory, "plasticity_bench", run)
    return output, json.loads((output / "plasticity.json").read_text())


#: the engines that simulate the same network on the same input trains
SAME_NETWORK = ("stdplab-1", "brian2-numpy", "nest-1")


def _counts(run, network):
    return {
        r["engine"]: r["post_spikes"]
        for r in run["results"]
        if r["network"] == network and r["repeat"] == 0 and r["engine"] in SAME_NETWORK
    }


@pytest.mark.standalone
def test_the_benchmark_writes_every_case_its_table_and_figure(tiny_run):
    output, run = tiny_run
    assert (output / "plasticity.png").stat().st_size > 0
    assert all("error" not in r for r in run["results"]), run["results"]
    engines = 5 if HAVE_NEST else 3
    assert len(run["results"]) == 2 * engines  # networks x engines
    for r in run["results"]:
        assert r["events"] == r["input_spikes"] * r["n_outputs"]
        assert r["input_spikes"] == pytest.approx(1000 * 15 * 2, rel=0.05)
        assert r["simulation_s"] > 0 and r["peak_rss_mib"] > 0
        assert r["job_peak_rss_mib"] >= r["peak_rss_mib"] * 0.99 and r["other_cores"] >= 0
    # the same input trains for every engine but the Poisson one, whose draws differ
    for network in plasticity.NETWORKS:
        trains = {r["input_spikes"] for r in run["results"] if r["network"] == network}
        poisson = {
            r["input_spikes"]
            for r in run["results"]
            if r["network"] == network and r["engine"] == "stdplab-1-poisson"
        }
        assert len(trains - poisson) == 1 and len(poisson) == 1
    compiled = [r for r in run["results"] if r["engine"] == "stdplab-1"]
    assert all(r["rerun_s"] > 0 and r["load_s"] > 0 for r in compiled)
    assert all(r["fraction_of_layout_bound"] > 0 for r in compiled)
    assert len(run["cases"]) == 2 * engines
    goals = run["goals"]
    assert [g["network"] for g in goals["poisson_cost"]] == ["song", "layer"]
    if HAVE_NEST:  # its nodes alone cost less than its whole network
        assert all(0 < g["share"][2] < 1 for g in goals["nest_node_share"])
        assert len(goals["nest_node_share"]) == 2


@pytest.mark.standalone
@pytest.mark.parametrize("network", ["song", "layer"])
def test_engines_fire_at_the_same_rate(tiny_run, network):
    """Same inputs, same initial weights: output spike counts differ by no more than the
    Poisson error of a difference of two counts (3 sigma)."""
    counts = _counts(tiny_run[1], network)
    reference = counts.pop("stdplab-1")
    assert reference > 50
    for engine, count in counts.items():
        assert abs(count - reference) <= 3 * np.sqrt(count + reference), (engine, counts)


@pytest.mark.standalone
def test_readme_table_is_generated_from_the_results(tiny_run, tmp_path):
    output, run = tiny_run
    readme = tmp_path / "README.md"
    table = _load("readme_table")
    readme.write_text(f"# intro\n{table.START}\nstale\n{table.END}\nafter\n")
    table.main(["--results", str(output), "--readme", str(readme)])
    text = readme.read_text()
    assert "stale" not in text and text.startswith("# intro") and text.endswith("after\n")
    layer_engines = {r["engine"] for r in run["results"] if r["network"] == "layer"}
    assert text.count("| layer | 100,000 | ") == len(layer_engines)
    assert "pre-drawn trains / PoissonGroup inputs" in text
    assert (tmp_path / "last_run" / "plasticity.png").exists()


def _pairs_closed_form(pre_ms, post_ms, rule, delay_ms):
    """Additive all-to-all pair STDP summed over all pairs, NEST's timing: post + delay - pre."""
    a_plus, a_minus = float(rule.params["A_plus"]), float(rule.params["A_minus"])
    tau_plus = float(rule.params["tau_plus"] * 1e3)
    tau_minus = float(rule.params["tau_minus"] * 1e3)
    lag = np.subtract.outer(post_ms + delay_ms, pre_ms).ravel()
    assert np.all(lag != 0)  # coincident pairs are a convention, not what this test is about
    return float(
        np.sum(
            np.where(lag > 0, a_plus * np.exp(-lag / tau_plus), -a_minus * np.exp(lag / tau_minus))
        )
    )


PRE_STEPS = np.array([100, 500, 530, 900, 1500, 2500])
POST_STEPS = np.array([150, 480, 700, 905, 1300])  # the last pre spike comes after the last post
W0 = 0.5  # in units of w_max: far from both bounds


def test_brian2_weight_change_for_a_fixed_spike_train_is_the_closed_form():
    from brian2 import Network, SpikeGeneratorGroup, defaultclock, ms

    from experiments.networks.build import plastic_synapses
    from experiments.runner.devices import simulation

    _, rule = plasticity.models(1000)
    w_max = float(rule.params["w_max"])
    with simulation("runtime", runtime_target="numpy"):
        defaultclock.dt = plasticity.DT_MS * ms
        pre = SpikeGeneratorGroup(
            1, np.zeros(len(PRE_STEPS), int), PRE_STEPS * plasticity.DT_MS * ms
        )
        post = SpikeGeneratorGroup(
            1, np.zeros(len(POST_STEPS), int), POST_STEPS * plasticity.DT_MS * ms
        )
        synapse = plastic_synapses(
            rule,
            pre,
            post,
            name="fixed",
            connect="True",
            w_init=W0 * w_max,
            delay=plasticity.brian2_delays(),
        )
        Network(pre, post, synapse).run(300 * ms, namespace={})
        change = float(synapse.w[0]) - W0 * w_max
    expected = _pairs_closed_form(
        PRE_STEPS * plasticity.DT_MS, POST_STEPS * plasticity.DT_MS, rule, plasticity.DT_MS
    )
    assert abs(expected) > 0.05 * float(rule.params["A_plus"])  # not a vanishing sum
    assert change == pytest.approx(expected, rel=1e-9)


@pytest.mark.skipif(not HAVE_NEST, reason="NEST is installed by `make test` (extra 'bench')")
def test_nest_weight_change_for_a_fixed_spike_train_is_the_closed_form():
    """NEST's stdp_synapse_hom with the parameters the benchmark derives from the record, from
    the benchmark's input node onto a parrot neuron that fires the fixed postsynaptic train
    (its generator one step earlier) and relays nothing that arrives at receptor 1."""
    _, rule = plasticity.models(1000)
    w_max = float(rule.params["w_max"])
    nest = plasticity.nest_kernel(1, seed=0)
    synapse, tau_minus = plasticity.nest_synapse_params(rule)
    pre = plasticity.nest_inputs(nest, 1, (np.zeros(len(PRE_STEPS), np.int32), PRE_STEPS))
    post_generator = nest.Create(
        "spike_generator", params={"spike_times": (POST_STEPS - 1) * plasticity.DT_MS}
    )
    post = nest.Create("parrot_neuron", params={"tau_minus": tau_minus})
    nest.Connect(post_generator, post, syn_spec={"delay": plasticity.DT_MS})
    nest.CopyModel("stdp_synapse_hom", "fixed_train_stdp", synapse)
    nest.Connect(
        pre,
        post,
        syn_spec={
            "synapse_model": "fixed_train_stdp",
            "receptor_type": 1,
            "weight": W0 * w_max * plasticity.G_LEAK_NS,
            "delay": plasticity.DT_MS,
        },
    )
    nest.Simulate(300.0)
    change = nest.GetConnections(pre, post).get("weight") / plasticity.G_LEAK_NS - W0 * w_max
    expected = _pairs_closed_form(
        PRE_STEPS * plasticity.DT_MS, POST_STEPS * plasticity.DT_MS, rule, plasticity.DT_MS
    )
    assert change == pytest.approx(expected, rel=1e-9)


def test_nest_twin_refuses_rules_it_has_no_equivalent_for():
    from models.plasticity import pair_stdp

    with pytest.raises(ValueError, match="no twin"):
        plasticity.nest_synapse_params(pair_stdp("nearest", "additive"))


def test_input_trains_have_the_rate_and_no_repeated_step():
    index, step = plasticity.input_spikes(200, 5.0, seed=3)
    assert len(index) == pytest.approx(200 * 15 * 5, rel=0.05)
    assert len(np.unique(index.astype(np.int64) * 10**6 + step)) == len(index)
    assert step.min() >= 1  # NEST's sources cannot fire at t = 0


@pytest.mark.skipif(not HAVE_NEST, reason="NEST is installed by `make test` (extra 'bench')")
def test_nest_layer_connects_each_input_to_each_neuron_with_brian2s_weight():
    """Synapse k of the Brian2 layer runs from input k // M to neuron k % M with weight w[k];
    NEST's connection between the same pair must carry the same weight."""
    case = plasticity.Case("nest-1", "layer", 30, 0.1)
    spikes = plasticity.input_spikes(case.n_inputs, case.duration_s, case.seed)
    weights = plasticity.initial_weights(case, w_max=0.01)
    nest = plasticity.nest_kernel(1, case.seed)
    sources, neurons = plasticity.nest_network(nest, case, spikes, weights)
    connections = nest.GetConnections(sources, neurons)
    pre = np.array(connections.get("source")) - sources[0].global_id
    post = np.array(connections.get("target")) - neurons[0].global_id
    got = np.empty(case.synapses)
    got[pre * case.n_outputs + post] = np.array(connections.get("weight")) / plasticity.G_LEAK_NS
    assert len(pre) == case.synapses
    np.testing.assert_allclose(got, weights, rtol=1e-12)


@pytest.mark.standalone
def test_sweep_benchmark_runs_every_way_and_its_section_joins_the_readme(tmp_path):
    output = tmp_path / "bench"
    _load("sweep").main(
        [
            "--experiment",
            "neuron_comparison",
            "--scale",
            "tiny",
            "--axis",
            "lif.tau_m=10*ms,20*ms",
            "--output",
            str(output),
        ]
    )
    (case,) = json.loads((output / "sweep.json").read_text())["cases"]
    assert len(case["ways"]) == 5 and case["points"] == 2
    assert case["ways"]["stdplab sweep"]["builds"] == {"compiled": 1, "run_args": 1}
    assert all(way["wall_s"] > 0 for way in case["ways"].values())
    # a section of a benchmark that was not rerun stays as it was
    table = _load("readme_table")
    readme = tmp_path / "README.md"
    kept = "### Plasticity throughput (`plasticity.py`)\n\nearlier numbers\n"
    readme.write_text(f"{table.START}\n{kept}{table.END}\n")
    table.main(["--results", str(output), "--readme", str(readme)])
    text = readme.read_text()
    assert kept in text and "### Parameter sweeps (`sweep.py`)" in text
    assert text.index("Plasticity") < text.index("Parameter sweeps")


def _run(engine, repeat, events_per_s, contended=False):
    return {
        "engine": engine,
        "network": "layer",
        "n_inputs": 1000,
        "duration_s": 1.0,
        "seed": 0,
        "long_run": False,
        "repeat": repeat,
        "synapses": 100_000,
        "events_per_s": events_per_s,
        "simulation_s": 1e6 / events_per_s,
        "build_s": 1.0,
        "total_s": 2.0,
        "peak_rss_mib": 10.0,
        "job_peak_rss_mib": 20.0,
        "output_rate_hz": 5.0,
        "contended": contended,
    }


def test_summary_pairs_runs_of_one_repeat_and_leaves_out_contended_ones():
    results = [
        *(_run("stdplab-1", k, rate) for k, rate in enumerate((10.0, 12.0, 11.0))),
        _run("nest-1", 0, 5.0),
        _run("nest-1", 1, 6.0),
        _run("nest-1", 2, 100.0, contended=True),
        *(_run("nest-1-nodes", k, rate) for k, rate in enumerate((20.0, 24.0, 22.0))),
        *(_run("stdplab-1-poisson", k, rate) for k, rate in enumerate((5.0, 4.0, 5.5))),
        {**_run("stdplab-2", 0, 1.0), "error": "exit 1"},
    ]
    summary = plasticity.summarise(results)
    cases = {c["engine"]: c for c in summary["cases"]}
    assert set(cases) == {"stdplab-1", "nest-1", "nest-1-nodes", "stdplab-1-poisson"}
    assert cases["nest-1"]["events_per_s"] == [5.0, 5.5, 6.0]  # repeat 2 left out
    assert (cases["nest-1"]["repeats"], cases["nest-1"]["contended"]) == (3, 1)
    (versus,) = summary["goals"]["stdplab_vs_nest"]
    assert versus["ratio"] == [2.0, 2.0, 2.0] and versus["contended"] == 1  # 10/5, 12/6
    (poisson,) = summary["goals"]["poisson_cost"]
    assert poisson["predrawn_over_poisson"] == pytest.approx([2.0, 2.0, 3.0])  # 10/5, 11/5.5, 12/4
    (nodes,) = summary["goals"]["nest_node_share"]
    assert nodes["share"] == pytest.approx([0.25, 0.25, 0.25])  # 5/20, 6/24
    assert summary["goals"]["two_vs_one_thread"] == []  # its only run failed


def test_protocol_ways_run_interleaved_and_a_failing_way_is_recorded_not_fatal():
    harness = _load("bench_harness")
    calls = []

    def way(name, seconds):
        def measure():
            calls.append(name)
            if name == "broken":
                raise RuntimeError("no binary")
            return {"units": 10, "seconds": {name: seconds}}

        return measure

    ways = {"fast": way("fast", 0.5), "broken": way("broken", 0), "slow": way("slow", 5.0)}
    runs = harness.repeated_ways(ways, repeats=2, contention=99)
    assert calls == ["fast", "broken", "slow"] * 2  # each repeat runs every way in turn
    assert [r["error"] for r in runs if r["way"] == "broken"] == ["RuntimeError: no binary"] * 2
    summary = harness.protocol_summary(runs, reference="fast")
    assert summary["rates"]["fast"]["rate"] == [20.0, 20.0, 20.0]  # 10 units / 0.5 s
    assert summary["ratios"] == {"slow": pytest.approx([10.0, 10.0, 10.0])}
    assert summary["failed"] == {"broken": "RuntimeError: no binary"}


def test_protocol_ratios_pair_one_repeat_and_leave_out_contended_runs():
    harness = _load("bench_harness")

    def run(way, repeat, seconds, contended=False):
        return {
            "way": way,
            "repeat": repeat,
            "units": 6,
            "seconds": {way: seconds},
            "contended": contended,
        }

    runs = [
        run("compiled", 0, 1.0),
        run("compiled", 1, 2.0),
        run("compiled", 2, 3.0),
        run("loop", 0, 4.0),
        run("loop", 1, 6.0, contended=True),
        run("loop", 2, 15.0),
    ]
    summary = harness.protocol_summary(runs, reference="compiled")
    loop = summary["rates"]["loop"]
    assert loop["rate"] == pytest.approx([0.4, 0.95, 1.5])  # 6/15, 6/4: repeat 1 left out
    assert (loop["contended"], loop["runs"]) == (1, 3)
    # per repeat: (6/1)/(6/4) = 4, (6/3)/(6/15) = 5; repeat 1 left out
    assert summary["ratios"]["loop"] == pytest.approx([4.0, 4.5, 5.0])


def test_a_failed_case_is_a_row_of_the_table_not_the_end_of_the_benchmark(tmp_path, capsys):
    # an engine the worker does not know fails inside its own process
    case = plasticity.Case("no-such-engine", "layer", 10, 0.1, seed=0)
    failed = plasticity._spawn(case, tmp_path)
    assert "error" in failed and failed["synapses"] == 10 * plasticity.LAYER_OUTPUTS
    plasticity.print_row(failed)
    assert "layer         1000 no-such-engine       0.1  failed:" in capsys.readouterr().out


@pytest.mark.standalone
def test_trace_benchmark_times_forms_and_pages_alternately_and_the_forms_learn_alike(tmp_path):
    output = tmp_path / "bench"
    _load("neuron_traces").main(
        ["--sizes", "layer:200", "--repeats", "2", "--contention", "99", "--output", str(output)]
    )
    (row,) = json.loads((output / "neuron_traces.json").read_text())["results"]
    assert row["synapses"] == 200 * plasticity.LAYER_OUTPUTS and row["events"] > 0
    forms = ("deferred", "per_neuron", "per_synapse")
    assert sorted(row["runs"]) == [
        f"{form}/{pages}" for form in forms for pages in ("huge", "small")
    ]
    assert all(len(timed) == 2 for timed in row["runs"].values())
    assert all(len(ratios) == 2 and min(ratios) > 0 for ratios in row["ratios"].values())
    # the same rule, the same inputs: the same spikes and weights to rounding
    assert row["post_spikes"]["per_synapse"] == row["post_spikes"]["per_neuron"] > 0
    assert row["post_spikes"]["deferred"] == row["post_spikes"]["per_synapse"]
    assert row["max_weight_difference"] < 1e-9 * row["w_max"]
    assert row["max_weight_difference_deferred"] < 1e-9 * row["w_max"]
    table = _load("readme_table")
    readme = tmp_path / "README.md"
    readme.write_text(f"{table.START}\n{table.END}\n")
    table.main(["--results", str(output), "--readme", str(readme)])
    assert "| layer | 20,000 | " in readme.read_text()


def test_the_layout_kernel_makes_every_update_of_the_loops_it_bounds(tmp_path):
    """Its final arrays equal a numpy replay of the same updates: no access is left out."""
    n, m, steps = 700, 7, 200  # 4900 synapses: the checksum reads two of them
    rng = np.random.default_rng(4)
    pre = (rng.integers(0, n, 400), rng.integers(0, steps, 400))
    post = (rng.integers(0, m, 40), rng.integers(0, steps, 40))
    bound = _load("layout_bound").layout_bound(n, m, pre, post, steps, tmp_path)
    w, apre, apost, last = (np.full(n * m, 0.5), *np.zeros((3, n * m)))
    g = np.zeros(m)
    events = sorted(
        [(t, 0, i) for i, t in zip(*pre, strict=True)]
        + [(t, 1, j) for j, t in zip(*post, strict=True)]
    )
    for t, is_post, k in events:
        synapses = np.arange(k, n * m, m) if is_post else np.arange(k * m, k * m + m)
        for s in synapses:
            elapsed = t - last[s]
            if is_post:
                apre[s], apost[s] = 0.5 * apre[s], 0.5 * apost[s] + 1e-3 * elapsed + 1
                w[s] += apre[s]
            else:
                apre[s], apost[s] = 0.5 * apre[s] + 1e-3 * elapsed + 1, 0.5 * apost[s]
                w[s] += apost[s]
                g[s % m] += w[s]
            last[s] = t
    expected = (w + apre + apost)[::4097].sum() + g.sum()
    assert bound["checksum"] == pytest.approx(expected, rel=1e-6)
    assert bound["events_per_s"] > 0


def test_protocol_section_gives_each_way_its_rate_and_ratio_per_size():
    harness, table = _load("bench_harness"), _load("readme_table")
    runs = [
        {"way": "compiled", "repeat": 0, "units": 4, "seconds": {"compiled": 2.0}},
        {"way": "loop", "repeat": 0, "units": 1, "seconds": {"loop": 5.0}},
        {"way": "gone", "repeat": 0, "error": "SimulationFailed: exit 1"},
    ]
    for run in runs:
        run.setdefault("contended", False)
    case = harness.protocol_summary(runs, reference="compiled")
    run = {
        "benchmark": "diehl_cook",
        "protocol": "p",
        "unit": "example slots",
        "repeats": 1,
        "contention_cores": 0.25,
        "cases": {"100": case},
    }
    lines = table.protocol_section("Diehl & Cook training", run)
    assert "| 100 | compiled | 2 (2–2) | – | 0/1 |" in lines
    assert "| 100 | loop | 0.2 (0.2–0.2) | 10 (10–10) | 0/1 |" in lines  # 2 / 0.2
    assert "| 100 | gone | failed: SimulationFailed: exit 1 | | |" in lines
