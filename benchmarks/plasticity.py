"""Plasticity throughput side by side: stdplab compiled, Brian2 runtime and NEST, on one machine.

Two networks with additive all-to-all pair STDP (Song, Miller & Abbott 2000, in the form of
Brian2's examples/synapses/STDP.py): ``song``, N Poisson inputs at 15 Hz onto one
conductance-based LIF neuron, and ``layer``, the same inputs all-to-all onto M = 100 such
neurons. The weight bound and the STDP steps scale with 1000/N, so every N drives the neurons
alike. Each engine gets the same pre-drawn input trains and initial weights, so the engines
differ only in how they simulate: stdplab's records on cpp_standalone (1 and 2 OpenMP
threads), the same records on Brian2's runtime (cython), and NEST 3.10 with the equivalent
model (iaf_cond_exp, stdp_synapse_hom, inputs from spike_train_injector nodes; parameters
derived from the records, never retyped).

Every case runs in its own process (a clean simulator, its own peak memory). Reported per case:
build time (code generation and compile, or NEST's create/connect/prepare), simulation time,
synaptic events per second (input spikes x outgoing synapses, per second of simulation), peak
resident memory (of the simulating process, and of the job's largest process), and the cores
that other processes kept busy meanwhile. Every case runs ``--repeats`` times, interleaved
with the others; runs under contention are flagged and left out of the statistics, and each
ratio between engines is taken between runs of the same repeat.

    python benchmarks/plasticity.py [--sizes 1000,10000,100000] [--engines stdplab-1,nest-2]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harness import busy_seconds, finish, other_cores, spread  # noqa: E402
from layout_bound import layout_bound  # noqa: E402

DT_MS = 0.1
INPUT_RATE_HZ = 15.0
SONG_INPUTS = 1000  # the network size at which the Song parameter set holds unscaled
LAYER_OUTPUTS = 100
G_LEAK_NS = 25.0  # NEST's conductances are stdplab's (in units of the leak) times this leak
PEAK_RSS = Path(__file__).with_name("peak_rss.py")
NETWORKS = ("song", "layer")
# name: (simulator, threads or runtime code target). Two variants are not engines but rows a
# reader compares with: "-poisson" draws the inputs in the network (a PoissonGroup, one random
# number per input and step) instead of reading the pre-drawn trains every engine gets, and
# "-nodes" is NEST's network without its synapses (the cost of its neurons and inputs alone).
ENGINES = {
    "stdplab-1": ("cpp_standalone", 1),
    "stdplab-1-poisson": ("cpp_standalone", 1),
    "stdplab-2": ("cpp_standalone", 2),
    "stdplab-cuda": ("cuda_standalone", 1),  # needs an NVIDIA GPU: not a default engine
    "brian2-cython": ("runtime", "cython"),
    "brian2-numpy": ("runtime", "numpy"),
    "nest-1": ("nest", 1),
    "nest-1-nodes": ("nest", 1),
    "nest-2": ("nest", 2),
}
DEFAULT_ENGINES = (
    "stdplab-1",
    "stdplab-1-poisson",
    "stdplab-2",
    "brian2-cython",
    "nest-1",
    "nest-1-nodes",
    "nest-2",
)


@dataclasses.dataclass(frozen=True)
class Case:
    engine: str
    network: str
    n_inputs: int
    duration_s: float
    seed: int = 0
    long_run: bool = False  # a wall-time case (build included), not a point of the curves
    repeat: int = 0

    @property
    def key(self) -> tuple:
        """What the repeats of one case share."""
        return (self.engine, self.network, self.n_inputs, self.duration_s, self.long_run)

    @property
    def n_outputs(self) -> int:
        return 1 if self.network == "song" else LAYER_OUTPUTS

    @property
    def synapses(self) -> int:
        return self.n_inputs * self.n_outputs


def input_spikes(n_inputs: int, duration_s: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Bernoulli-per-step trains at 15 Hz as (input index, time step), sorted by index then step.

    At most one spike per input and step (both simulators' spike sources need that: the
    rare second draw in a step is dropped); none at t = 0, which NEST's sources cannot emit.
    """
    rng = np.random.default_rng(seed)
    n_steps = round(duration_s * 1e3 / DT_MS)
    counts = rng.binomial(n_steps - 1, INPUT_RATE_HZ * DT_MS * 1e-3, size=n_inputs)
    index = np.repeat(np.arange(n_inputs, dtype=np.int64), counts)
    key = np.unique(index * n_steps + rng.integers(1, n_steps, size=index.size))
    return (key // n_steps).astype(np.int32), key % n_steps


def initial_weights(case: Case, w_max: float) -> np.ndarray:
    """Uniform in [0, w_max], synapse k from input k // M to neuron k % M."""
    return np.random.default_rng(case.seed + 1).uniform(0.0, w_max, size=case.synapses)


def models(n_inputs: int, traces: str = "per_synapse"):
    """stdplab's Song neuron and pair-STDP records, the STDP scaled to ``n_inputs``, its traces
    kept per synapse or per neuron (the neuron then keeps the postsynaptic one)."""
    from models.neurons import get_neuron
    from models.plasticity import PAIR_STDP_SETS, pair_stdp

    scale = SONG_INPUTS / n_inputs
    params = {
        key: value * scale if key in ("A_plus", "A_minus", "w_max") else value
        for key, value in PAIR_STDP_SETS["song"].items()
    }
    rule = pair_stdp("all_to_all", "additive", traces, **params)
    return get_neuron("lif_cond").with_rule_state(rule), rule


def brian2_delays():
    """Pathway delays that make Brian2's STDP timing NEST's.

    NEST delivers a spike one synaptic delay d after it and pairs the presynaptic spike time
    with the postsynaptic one plus d (all of the delay counts as dendritic). Delaying Brian2's
    pre pathway (transmission and LTD) by d and its post pathway (LTP) by 2 d gives the same
    pairs: (t_post + 2d) - (t_pre + d).
    """
    from brian2 import ms

    return {"pre": DT_MS * ms, "post": 2 * DT_MS * ms}


def nest_neuron_params(neuron) -> dict:
    from brian2 import ms, mV

    if neuron.refractory:
        raise ValueError("the NEST twin of lif_cond assumes no refractory period")
    p = neuron.params
    return {
        "C_m": G_LEAK_NS * float(p["tau_m"] / ms),  # nS * ms = pF
        "g_L": G_LEAK_NS,
        "E_L": float(p["E_L"] / mV),
        "V_m": float(p["E_L"] / mV),
        "V_th": float(p["v_th"] / mV),
        "V_reset": float(p["v_reset"] / mV),
        "E_ex": float(p["E_e"] / mV),
        "tau_syn_ex": float(p["tau_e"] / ms),
        "E_in": float(p["E_i"] / mV),
        "tau_syn_in": float(p["tau_i"] / ms),
        "t_ref": 0.0,
    }


def nest_synapse_params(rule) -> tuple[dict, float]:
    """stdp_synapse_hom settings for an additive all-to-all pair rule, and the postsynaptic
    neuron's tau_minus (ms). NEST's step is lambda * Wmax (LTP) and alpha * lambda * Wmax (LTD)."""
    from brian2 import ms

    if (rule.options["pairing"], rule.options["bounds"]) != ("all_to_all", "additive"):
        raise ValueError(f"NEST's stdp_synapse_hom has no twin of {rule.name}")
    p = rule.params
    w_max = float(p["w_max"])
    if not math.isfinite(w_max):
        raise ValueError(
            "NEST's stdp_synapse_hom scales its steps by Wmax: give the rule a finite w_max"
        )
    synapse = {
        "tau_plus": float(p["tau_plus"] / ms),
        "lambda": float(p["A_plus"]) / w_max,
        "alpha": float(p["A_minus"]) / float(p["A_plus"]),
        "mu_plus": 0.0,
        "mu_minus": 0.0,
        "Wmax": w_max * G_LEAK_NS,
    }
    return synapse, float(p["tau_minus"] / ms)


def brian2_network(case: Case, spikes, weights, traces="per_synapse", delays=None, poisson=False):
    """(network, synapses, output monitor); ``delays`` default: NEST's timing
    (``brian2_delays``); ``poisson``: the inputs drawn in the network at the same rate, their
    spikes counted by ``network["input_spikes"]``, instead of ``spikes``."""
    from brian2 import (
        Hz,
        Network,
        PoissonGroup,
        SpikeGeneratorGroup,
        SpikeMonitor,
        defaultclock,
        ms,
    )

    from experiments.networks.build import neuron_group, plastic_synapses

    defaultclock.dt = DT_MS * ms
    neuron, rule = models(case.n_inputs, traces)
    if poisson:
        source = PoissonGroup(case.n_inputs, INPUT_RATE_HZ * Hz, name="inputs")
    else:
        source = SpikeGeneratorGroup(
            case.n_inputs, spikes[0], spikes[1] * DT_MS * ms, name="inputs"
        )
    targets = neuron_group(neuron, case.n_outputs, name="neurons")
    pre, post = np.divmod(np.arange(case.synapses, dtype=np.int32), case.n_outputs)
    # NEST transmits the weight after this spike's update: so does the twin here.
    synapses = plastic_synapses(
        rule,
        source,
        targets,
        name="synapses",
        transmit="g_e_post += w",
        connect={"i": pre, "j": post},
        w_init=weights,
        delay=brian2_delays() if delays is None else delays,
        transmit_first=False,
    )
    monitor = SpikeMonitor(targets, name="output_spikes")
    relay = synapses.relay  # () for per-synapse traces
    counter = (SpikeMonitor(source, record=False, name="input_spikes"),) if poisson else ()
    return Network(source, targets, synapses, *relay, monitor, *counter), synapses, monitor


def _run_stdplab(case, spikes, weights, device_name, threads, build_dir: Path) -> dict:
    """One compiled run, then a rerun with run_args; on one thread also the layout bound
    (``layout_bound.py``) on the same input trains and the run's own output spikes."""
    from brian2 import device, ms, prefs, second

    from experiments.runner.devices import HUGE_PAGES_TUNABLE, simulation

    peak_file = build_dir / "peak_rss_kib"
    # the binary's large arrays in huge pages, as the package runs it (binary_command)
    pages = {"GLIBC_TUNABLES": HUGE_PAGES_TUNABLE}
    with simulation(device_name, build_dir, threads=threads) as sim:
        prefs.devices.cpp_standalone.run_cmd_unix = [
            sys.executable,
            str(PEAK_RSS),
            str(peak_file),
            "env",
            *(f"{key}={value}" for key, value in pages.items()),
            "./main",
        ]
        poisson = case.engine.endswith("-poisson")
        net, synapses, monitor = brian2_network(case, spikes, weights, poisson=poisson)
        started = time.perf_counter()
        sim.run(net, case.duration_s * second)
        total = time.perf_counter() - started
        result = {
            "build_s": total - sim.run_seconds,
            "simulation_s": float(device._last_run_time),
            # starting the binary and reading its arrays, and writing its results back
            "load_s": sim.run_seconds - float(device._last_run_time),
            "total_s": total,
            "post_spikes": int(monitor.num_spikes),
            "mean_final_weight": float(np.mean(synapses.w[:])),
            "peak_rss_mib": int(peak_file.read_text()) / 1024,
        }
        if poisson:
            result["input_spikes"] = int(net["input_spikes"].num_spikes)
        elif device_name == "cpp_standalone" and threads == 1:
            post = (monitor.i[:], np.round(monitor.t[:] / (DT_MS * ms)).astype(np.int64))
            steps = round(case.duration_s * 1e3 / DT_MS)
            bound = layout_bound(
                case.n_inputs, case.n_outputs, spikes, post, steps, build_dir / "bound", pages
            )
            result["layout_bound_events_per_s"] = bound["events_per_s"]
        if device_name == "cpp_standalone":
            # Compile once, run again with a 2 % larger LTP step, passed to the binary as a
            # run_arg (still below the LTD step, so the dynamics stay comparable).
            sim.rerun(net, [], {synapses.A_plus: float(synapses.A_plus[:]) * 1.02})
            result.update(rerun_s=sim.run_seconds, rerun_simulation_s=float(device._last_run_time))
    return result


def _run_runtime(case, spikes, weights, target, build_dir: Path) -> dict:
    from brian2 import ms, prefs, second

    from experiments.runner.devices import simulation

    with simulation("runtime", runtime_target=target):
        prefs.codegen.runtime.cython.cache_dir = str(build_dir.parent / "cython_cache")
        net, synapses, monitor = brian2_network(case, spikes, weights)
        started = time.perf_counter()
        net.run(0 * ms, namespace={}, report=None)  # code generation and compilation
        built = time.perf_counter()
        net.run(case.duration_s * second, namespace={}, report=None)
        finished = time.perf_counter()
        return {
            "build_s": built - started,
            "simulation_s": finished - built,
            "total_s": finished - started,
            "post_spikes": int(monitor.num_spikes),
            "mean_final_weight": float(np.mean(synapses.w[:])),
            "peak_rss_mib": own_peak_rss_mib(),
        }


def own_peak_rss_mib() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux carries the
    parent's peak over a fork into it."""
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def nest_kernel(threads: int, seed: int):
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.local_num_threads = threads
    nest.resolution = DT_MS
    nest.rng_seed = seed + 1
    return nest


def nest_inputs(nest, n_inputs: int, spikes):
    """Nodes that fire at ``spikes``' times and can be the source of plastic synapses."""
    index, step = spikes
    trains = np.split(step * DT_MS, np.cumsum(np.bincount(index, minlength=n_inputs))[:-1])
    sources = nest.Create("spike_train_injector", n_inputs)
    sources.set([{"spike_times": train} for train in trains])
    return sources


def nest_network(nest, case: Case, spikes, weights, connect=True):
    """The NEST twin of ``brian2_network`` in the current kernel: (sources, neurons); without
    ``connect``, its nodes alone."""
    neuron, rule = models(case.n_inputs)
    synapse, tau_minus = nest_synapse_params(rule)
    sources = nest_inputs(nest, case.n_inputs, spikes)
    neurons = nest.Create(
        "iaf_cond_exp",
        case.n_outputs,
        params={**nest_neuron_params(neuron), "tau_minus": tau_minus},
    )
    if not connect:
        return sources, neurons
    nest.CopyModel("stdp_synapse_hom", "stdplab_pair_stdp", synapse)
    # One target at a time: PyNEST expands an array of weights into per-connection
    # parameters (kilobytes each) before connecting, so 10^7 at once would not fit in memory.
    by_target = weights.reshape(case.n_inputs, case.n_outputs).T * G_LEAK_NS
    for target, target_weights in zip(neurons, by_target, strict=True):
        nest.Connect(
            sources,
            target,
            "all_to_all",
            syn_spec={
                "synapse_model": "stdplab_pair_stdp",
                "delay": DT_MS,
                "weight": target_weights[np.newaxis, :],
            },
        )
    return sources, neurons


def _run_nest(case, spikes, weights, threads) -> dict:
    started = time.perf_counter()
    nest = nest_kernel(threads, case.seed)
    connect = not case.engine.endswith("-nodes")
    sources, neurons = nest_network(nest, case, spikes, weights, connect)
    del weights
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    nest.Prepare()
    built = time.perf_counter()
    nest.Run(case.duration_s * 1e3)
    finished = time.perf_counter()
    nest.Cleanup()
    peak_rss_mib = own_peak_rss_mib()  # before PyNEST's costly readback of the weights
    mean_weight = None
    if connect and case.synapses <= 2_000_000:  # reading 10^7 weights back would dwarf the run
        final = nest.GetConnections(sources, neurons).get("weight")
        mean_weight = float(np.mean(final)) / G_LEAK_NS
    return {
        "build_s": built - started,
        "simulation_s": finished - built,
        "total_s": finished - started,
        "post_spikes": int(recorder.n_events),
        "mean_final_weight": mean_weight,
        "peak_rss_mib": peak_rss_mib,
    }


def run_case(case: Case, build_dir: Path) -> dict:
    """One engine on one network; returns timings, counts and memory."""
    simulator, option = ENGINES[case.engine]
    spikes = input_spikes(case.n_inputs, case.duration_s, case.seed)
    weights = initial_weights(case, float(models(case.n_inputs)[1].params["w_max"]))
    if simulator.endswith("standalone"):
        measured = _run_stdplab(case, spikes, weights, simulator, option, build_dir)
    elif simulator == "runtime":
        measured = _run_runtime(case, spikes, weights, option, build_dir)
    else:
        measured = _run_nest(case, spikes, weights, option)
    fired = measured.pop("input_spikes", len(spikes[0]))
    events = fired * case.n_outputs
    if "layout_bound_events_per_s" in measured:
        measured["fraction_of_layout_bound"] = (
            events / measured["simulation_s"] / measured["layout_bound_events_per_s"]
        )
    return {
        **dataclasses.asdict(case),
        "n_outputs": case.n_outputs,
        "synapses": case.synapses,
        "input_spikes": fired,
        "events": events,
        "events_per_s": events / measured["simulation_s"],
        "output_rate_hz": measured["post_spikes"] / case.n_outputs / case.duration_s,
        **measured,
    }


def _spawn(case: Case, scratch: Path) -> dict:
    """``run_case`` in a fresh process; a crash is recorded, not raised. Also recorded: the
    cores other processes kept busy meanwhile (from /proc/stat, less the job's own CPU time),
    and the peak resident memory of the job's largest process (Python, compiler, binary), the
    same measure for every engine."""
    # one folder for all repeats of a case: the first compiles, the others find the objects
    # up to date (as a user's second run would), so a repeat costs its run, not a compile
    build_dir = scratch / f"{case.engine}-{case.network}-{case.n_inputs}-{case.duration_s:g}s"
    build_dir.mkdir(parents=True, exist_ok=True)
    out = build_dir / f"result-{case.repeat}.json"
    worker = [
        sys.executable,
        __file__,
        "--worker",
        json.dumps(dataclasses.asdict(case)),
        "--worker-out",
        str(out),
    ]
    busy, started = busy_seconds(), time.perf_counter()
    with open(build_dir / f"worker-{case.repeat}.log", "w+") as log:
        child = subprocess.Popen(worker, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        log.seek(0)
        tail = log.read().strip().splitlines()[-3:]
    wall = time.perf_counter() - started
    own = usage.ru_utime + usage.ru_stime
    load = {
        "other_cores": other_cores(busy, own, wall),
        "job_peak_rss_mib": usage.ru_maxrss / 1024,
    }
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not out.exists():
        return {
            **dataclasses.asdict(case),
            "synapses": case.synapses,
            "error": " | ".join(tail) or f"exit {code}",
            **load,
        }
    return {**json.loads(out.read_text()), **load}


def plan(args) -> list[Case]:
    """Every engine on every network and size; the largest cases run shorter so that no case
    exceeds ``max_events`` synaptic events. Then the long runs (wall time with the build)."""
    cases = []
    for network in args.networks:
        for n in args.sizes:
            fan_out = 1 if network == "song" else LAYER_OUTPUTS
            duration = min(args.duration, args.max_events / (n * fan_out * INPUT_RATE_HZ))
            duration = max(round(duration, 1), 0.1)
            cases += [Case(engine, network, n, duration, args.seed) for engine in args.engines]
    if args.long_duration > 0:  # 10^5 synapses, the goal's smallest size for long runs
        cases += [
            Case(engine, "layer", 1_000, args.long_duration, args.seed, long_run=True)
            for engine in args.engines
            if engine in ("stdplab-1", "nest-2")
        ]
    return cases


def summarise(results: list[dict]) -> dict:
    """Each case over its uncontended repeats, and the issue's goals as same-run ratios: each
    ratio taken per repeat between runs of the same repeat (next to each other in time),
    leaving out pairs in which either run was contended, as [min, median, max]."""
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        if "error" not in r:
            groups.setdefault(Case(**_case_fields(r)).key, []).append(r)
    cases = []
    for (engine, network, n_inputs, duration_s, long_run), runs in groups.items():
        clean = [r for r in runs if not r["contended"]]
        first = runs[0]
        cases.append(
            {
                "engine": engine,
                "network": network,
                "n_inputs": n_inputs,
                "synapses": first["synapses"],
                "duration_s": duration_s,
                "long_run": long_run,
                "repeats": len(runs),
                # the first repeat compiles from scratch, the later ones find it compiled
                "cold_build_s": min(runs, key=lambda r: r["repeat"])["build_s"],
                "contended": len(runs) - len(clean),
                **{
                    name: spread([r[name] for r in clean])
                    for name in ("events_per_s", "simulation_s", "build_s", "total_s")
                },
                **{
                    name: spread([r[name] for r in clean if name in r])
                    for name in ("load_s", "fraction_of_layout_bound")
                },
                "peak_rss_mib": float(np.median([r["peak_rss_mib"] for r in runs])),
                "job_peak_rss_mib": float(np.median([r["job_peak_rss_mib"] for r in runs])),
                "output_rate_hz": float(np.median([r["output_rate_hz"] for r in runs])),
            }
        )

    def paired(slow_engine, fast_engine, key, measure):
        """(spread of ``measure(slow, fast)`` over uncontended pairs, contended pairs)."""
        slow = {r["repeat"]: r for r in groups.get((slow_engine, *key), [])}
        fast = {r["repeat"]: r for r in groups.get((fast_engine, *key), [])}
        pairs = [(slow[k], fast[k]) for k in sorted(slow) if k in fast]
        clean = [(a, b) for a, b in pairs if not (a["contended"] or b["contended"])]
        return spread([measure(a, b) for a, b in clean]), len(pairs) - len(clean)

    def speedup(a, b):
        return a["simulation_s"] / b["simulation_s"]

    def faster_events(a, b):
        return b["events_per_s"] / a["events_per_s"]

    goals = {name: [] for name in ("stdplab_vs_nest", "two_vs_one_thread", "poisson_cost")}
    goals.update(nest_node_share=[], long_run_wall=[], rerun=[], binary_load=[])
    for case in cases:
        key = (case["network"], case["n_inputs"], case["duration_s"], case["long_run"])
        size = {"network": case["network"], "synapses": case["synapses"]}
        engine = case["engine"]
        if engine in ("stdplab-1", "stdplab-2") and not case["long_run"]:
            ratio, contended = paired(f"nest-{engine[-1]}", engine, key, faster_events)
            if ratio:
                goals["stdplab_vs_nest"].append(
                    {**size, "threads": engine[-1], "ratio": ratio, "contended": contended}
                )
        if engine == "stdplab-2" and not case["long_run"]:
            ratio, contended = paired("stdplab-1", engine, key, speedup)
            if ratio:
                goals["two_vs_one_thread"].append(
                    {**size, "speedup": ratio, "contended": contended}
                )
        if engine == "stdplab-1-poisson":
            ratio, contended = paired(engine, "stdplab-1", key, faster_events)
            if ratio:
                goals["poisson_cost"].append(
                    {**size, "predrawn_over_poisson": ratio, "contended": contended}
                )
        if engine == "nest-1-nodes":
            ratio, contended = paired("nest-1", engine, key, lambda a, b: 1 / speedup(a, b))
            if ratio:
                goals["nest_node_share"].append({**size, "share": ratio, "contended": contended})
        if engine == "stdplab-1" and case["long_run"]:
            nest = [c for c in cases if c["engine"] == "nest-2" and c["long_run"]]
            if nest and case["total_s"] and nest[0]["total_s"]:
                goals["long_run_wall"].append(
                    {
                        **size,
                        "duration_s": case["duration_s"],
                        "stdplab_1_total_s": case["total_s"][1],
                        "nest_2_total_s": nest[0]["total_s"][1],
                    }
                )
        if engine == "stdplab-1" and not case["long_run"]:
            runs = [r for r in groups[(engine, *key)] if "rerun_s" in r and not r["contended"]]
            if runs:
                goals["rerun"].append(
                    {
                        **size,
                        "first_run_s": float(np.median([r["total_s"] for r in runs])),
                        "rerun_s": float(np.median([r["rerun_s"] for r in runs])),
                        "rerun_over_simulation": spread(
                            [r["rerun_s"] / r["rerun_simulation_s"] for r in runs]
                        ),
                    }
                )
            if case["load_s"]:
                goals["binary_load"].append(
                    {
                        **size,
                        "load_s": case["load_s"][1],
                        "simulation_s": case["simulation_s"][1],
                    }
                )
    memory = {}
    for engine in sorted({c["engine"] for c in cases}):
        mine = sorted(
            (
                c
                for c in cases
                if c["engine"] == engine and c["network"] == "layer" and not c["long_run"]
            ),
            key=lambda c: c["synapses"],
        )
        if not mine:
            continue
        largest = mine[-1]
        entry = {
            "synapses": largest["synapses"],
            "peak_rss_mib": largest["peak_rss_mib"],
            "job_peak_rss_mib": largest["job_peak_rss_mib"],
            "bytes_per_synapse": largest["peak_rss_mib"] * 2**20 / largest["synapses"],
        }
        if len(mine) > 1:  # what the last 9/10 of the synapses added (inputs differ slightly)
            entry["marginal_bytes_per_synapse"] = (
                (largest["peak_rss_mib"] - mine[-2]["peak_rss_mib"])
                * 2**20
                / (largest["synapses"] - mine[-2]["synapses"])
            )
        memory[engine] = entry
    return {"cases": cases, "goals": goals, "memory": memory}


def _case_fields(result: dict) -> dict:
    return {field.name: result[field.name] for field in dataclasses.fields(Case)}


def print_header() -> None:
    print(
        f"{'network':8s}{'synapses':>10s} {'engine':18s}{'bio s':>6s}{'build s':>9s}"
        f"{'sim s':>9s}{'events/s':>10s}{'bound':>7s}{'MiB':>7s}{'rate Hz':>8s}"
        f"{'others':>8s}"
    )


def print_row(r: dict) -> None:
    head = f"{r['network']:8s}{r['synapses']:>10d} {r['engine']:18s}{r['duration_s']:>6g}"
    if "error" in r:
        print(f"{head}  failed: {r['error']}", flush=True)
        return
    others = f"{r['other_cores']:.2f}" + ("!" if r["contended"] else "")
    bound = r.get("fraction_of_layout_bound")
    bound = "–" if bound is None else f"{bound:.0%}"
    print(
        f"{head}{r['build_s']:>9.1f}{r['simulation_s']:>9.2f}{r['events_per_s']:>10.2e}"
        f"{bound:>7s}{r['peak_rss_mib']:>7.0f}{r['output_rate_hz']:>8.1f}{others:>8s}",
        flush=True,
    )


def draw(cases: list[dict], path: Path) -> None:
    """Median events/s of every engine against size, with the spread of the repeats, for
    each network measured (NEST's nodes alone process no synaptic event: not drawn)."""
    from bench_harness import figure

    networks = [network for network in NETWORKS if any(c["network"] == network for c in cases)]
    with figure(path, ncols=len(networks), width=3.5 * len(networks)) as axes:
        for ax, network in zip(axes, networks, strict=True):
            for engine in (engine for engine in ENGINES if not engine.endswith("-nodes")):
                mine = sorted(
                    (
                        c
                        for c in cases
                        if c["engine"] == engine
                        and c["network"] == network
                        and not c["long_run"]
                        and c["events_per_s"]
                    ),
                    key=lambda c: c["synapses"],
                )
                if mine:
                    low, median, high = np.array([c["events_per_s"] for c in mine]).T
                    ax.errorbar(
                        [c["synapses"] for c in mine],
                        median,
                        yerr=[median - low, high - median],
                        fmt="o-",
                        label=engine,
                    )
            ax.set(xscale="log", yscale="log", xlabel="synapses", title=network)
        axes[0].set_ylabel("synaptic events / s (simulation only)")
        axes[-1].legend(fontsize="small")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--engines", default=",".join(DEFAULT_ENGINES))
    parser.add_argument("--duration", type=float, default=10.0, help="biological seconds")
    parser.add_argument("--max-events", type=float, default=3e8)
    parser.add_argument("--long-duration", type=float, default=60.0, help="0 switches off")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of every case, interleaved")
    parser.add_argument(
        "--contention",
        type=float,
        default=0.25,
        help="a run during which other processes keep more cores busy is flagged (!) and left "
        "out of the statistics",
    )
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = run_case(Case(**json.loads(args.worker)), args.worker_out.parent)
        args.worker_out.write_text(json.dumps(result))
        return result
    args.sizes = [int(size) for size in args.sizes.split(",")]
    args.networks = args.networks.split(",")
    args.engines = args.engines.split(",")
    unknown = sorted(set(args.engines) - set(ENGINES)) + sorted(set(args.networks) - set(NETWORKS))
    if unknown:
        parser.error(
            f"unknown {', '.join(unknown)}; engines: {', '.join(ENGINES)}; "
            f"networks: {', '.join(NETWORKS)}"
        )
    skipped = []
    if importlib.util.find_spec("nest") is None:
        skipped = [engine for engine in args.engines if engine.startswith("nest")]
        args.engines = [engine for engine in args.engines if engine not in skipped]
        if skipped:
            print("NEST is not installed, so its engines are skipped: pip install -e '.[bench]'")
    print_header()
    results = []
    with tempfile.TemporaryDirectory(prefix="stdplab-bench-") as scratch:
        # every case once per repeat, so that a slow spell of the machine hits all engines
        for repeat in range(args.repeats):
            for case in plan(args):
                # each row as its case ends: a run cut short still shows what it measured
                results.append(_spawn(dataclasses.replace(case, repeat=repeat), Path(scratch)))
                results[-1]["contended"] = results[-1]["other_cores"] > args.contention
                print_row(results[-1])
    summary = summarise(results)
    return finish(
        "plasticity",
        {
            "network": "pair STDP, song (N -> 1) and layer (N -> 100), dt 0.1 ms, 15 Hz inputs",
            "repeats": args.repeats,
            "contention_cores": args.contention,
            "results": results,
            "skipped_engines": skipped,
            **summary,
        },
        args.output,
        draw=lambda path: draw(summary["cases"], path),
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
