"""Pair-STDP traces per neuron and deferred potentiation against per-synapse traces, and huge
pages against small, side by side in one run.

Brian2 keeps a pair rule's two traces on every synapse (event-driven: each event reads w,
apre, apost and lastupdate and writes three of them back, with two exponentials). A trace
follows its own neuron's spikes only, so ``pair_stdp(traces="per_neuron")`` keeps the
presynaptic one in a relay group and the postsynaptic one in the neuron: the synapses hold
only the weight; ``traces="deferred"`` also leaves a postsynaptic spike's potentiation to
each synapse's next presynaptic spike (``models.deferred``), so no postsynaptic spike walks
its afferent synapses (the potentiation still owed after the run is applied by one pass over
the weights after the binary's timer stops). This benchmark measures what these buy on the
plasticity benchmark's
networks (``plasticity.py``: pre-drawn 15 Hz trains, the same initial weights), with the
transmission delay of one step on the pre pathway and no post delay for both forms (a
per-neuron trace cannot move a postsynaptic spike a delay later; NEST's timing needs that).

Each form is generated and compiled once per network in its own process and build folder
(that first run is not timed); then each binary runs with its large arrays in small (4 KiB)
and in huge (2 MiB) pages — glibc's malloc tunable, as the package starts its binaries
(``experiments.runner.devices.binary_command``) — all four alternately, ``--repeats`` times
each, and the binary's own timer is read back. For every timed run the CPU time that other
processes used meanwhile is recorded (from /proc/stat, less the binary's own); a run during
which they used more than ``--contention`` cores is flagged and left out of the ratios.
Ratios, per repeat (min / median / max) of simulation times: per-synapse over per-neuron (both
in small pages), small pages over huge (per form), the package before this change
(per-synapse, small pages) over per-neuron in huge pages, and the same for deferred
potentiation. The final weights of every form are compared with the per-synapse form's (equal
to rounding: the forms differ in the order of floating-point operations only).

    python benchmarks/neuron_traces.py [--sizes song:100000,layer:1000] [--repeats 3]

(``--sizes``: network:inputs; the layer has 100 neurons, so layer:1000 is 10^5 synapses.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harness import busy_seconds, figure, finish, other_cores, spread  # noqa: E402
from plasticity import DT_MS, Case, brian2_network, initial_weights, input_spikes, models  # noqa: E402

FORMS = ("per_synapse", "per_neuron", "deferred")
PAGES = ("small", "huge")
#: Each ratio: (name, slower (form, pages), faster (form, pages)).
RATIOS = (
    ("per_neuron", ("per_synapse", "small"), ("per_neuron", "small")),
    ("huge_pages_per_synapse", ("per_synapse", "small"), ("per_synapse", "huge")),
    ("huge_pages_per_neuron", ("per_neuron", "small"), ("per_neuron", "huge")),
    ("both", ("per_synapse", "small"), ("per_neuron", "huge")),
    ("deferred", ("per_synapse", "small"), ("deferred", "small")),
    ("deferred_over_per_neuron", ("per_neuron", "small"), ("deferred", "small")),
    ("deferred_huge_pages", ("per_synapse", "small"), ("deferred", "huge")),
)
DEFAULT_SIZES = "song:100000,layer:1000,layer:10000,layer:100000"
#: Model seconds per size: about 3e8 synaptic events for the largest layer, 10 s otherwise.
MAX_EVENTS = 3e8


def _build_and_run(network: str, n_inputs: int, duration_s: float, form: str, folder: Path) -> dict:
    """Worker: build ``form``'s network in ``folder``, run it once, keep its final weights."""
    from brian2 import ms, second

    from experiments.runner.devices import simulation

    case = Case("stdplab-1", network, n_inputs, duration_s)
    spikes = input_spikes(n_inputs, duration_s, case.seed)
    weights = initial_weights(case, float(models(n_inputs)[1].params["w_max"]))
    with simulation("cpp_standalone", folder / "build") as sim:
        net, synapses, monitor = brian2_network(
            case, spikes, weights, traces=form, delays={"pre": DT_MS * ms}
        )
        started = time.perf_counter()
        sim.run(net, duration_s * second)
        np.save(folder / "final_weights.npy", np.asarray(synapses.w[:]))
        return {
            "build_s": time.perf_counter() - started - sim.run_seconds,
            "post_spikes": int(monitor.num_spikes),
            "input_spikes": len(spikes[0]),
            "build_dir": str(sim.build_dir),
        }


def timed_run(build_dir: Path, pages: str = "small") -> dict:
    """Run a compiled binary once, its large arrays in ``pages``: its own simulation time, and
    the cores other processes kept busy meanwhile."""
    from experiments.runner.devices import HUGE_PAGES_TUNABLE

    environment = {**os.environ, "GLIBC_TUNABLES": HUGE_PAGES_TUNABLE if pages == "huge" else ""}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, started = busy_seconds(), time.perf_counter()
    subprocess.run(["./main"], cwd=build_dir, check=True, capture_output=True, env=environment)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    seconds, completed = (build_dir / "results" / "last_run_info.txt").read_text().split()
    if float(completed) < 1:
        raise RuntimeError(f"the binary in {build_dir} stopped at {completed} of its run")
    return {
        "simulation_s": float(seconds),
        "wall_s": wall,
        "other_cores": other_cores(busy, own, wall),
    }


def _spawn(network: str, n_inputs: int, duration_s: float, form: str, folder: Path) -> dict:
    folder.mkdir(parents=True)
    out = folder / "result.json"
    task = json.dumps([network, n_inputs, duration_s, form, str(folder)])
    done = subprocess.run(
        [sys.executable, __file__, "--worker", task, "--worker-out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit {done.returncode}"}
    return json.loads(out.read_text())


def measure(network: str, n_inputs: int, repeats: int, contention: float, scratch: Path) -> dict:
    """Both forms of one network: built once each, then timed alternately."""
    n_outputs = Case("stdplab-1", network, n_inputs, 1.0).n_outputs
    duration_s = min(10.0, MAX_EVENTS / (n_inputs * n_outputs * 15.0))
    row = {"network": network, "n_inputs": n_inputs, "synapses": n_inputs * n_outputs}
    row["duration_s"] = duration_s
    built = {}
    for form in FORMS:
        built[form] = _spawn(
            network, n_inputs, duration_s, form, scratch / f"{network}-{n_inputs}-{form}"
        )
        if "error" in built[form]:
            return {**row, "error": f"{form}: {built[form]['error']}"}
    variants = [(form, pages) for form in FORMS for pages in PAGES]
    runs = {variant: [] for variant in variants}
    for _ in range(repeats):
        for form, pages in variants:
            runs[form, pages].append(timed_run(Path(built[form]["build_dir"]), pages))
    ratios = {}
    for name, slower, faster in RATIOS:
        ratios[name] = [
            slow["simulation_s"] / fast["simulation_s"]
            for slow, fast in zip(runs[slower], runs[faster], strict=True)
            if max(slow["other_cores"], fast["other_cores"]) <= contention
        ]
    weights = [
        np.load(scratch / f"{network}-{n_inputs}-{form}" / "final_weights.npy") for form in FORMS
    ]
    events = built["per_synapse"]["input_spikes"] * n_outputs
    return {
        **row,
        "events": events,
        "build_s": {form: built[form]["build_s"] for form in FORMS},
        "post_spikes": {form: built[form]["post_spikes"] for form in FORMS},
        "runs": {f"{form}/{pages}": timed for (form, pages), timed in runs.items()},
        "events_per_s": {
            f"{form}/{pages}": events / float(np.median([r["simulation_s"] for r in timed]))
            for (form, pages), timed in runs.items()
        },
        "ratios": ratios,
        "contended_repeats": {name: repeats - len(values) for name, values in ratios.items()},
        "ratio_min_median_max": {name: spread(values) for name, values in ratios.items()},
        "max_weight_difference": float(np.max(np.abs(weights[0] - weights[1]))),
        "max_weight_difference_deferred": float(np.max(np.abs(weights[0] - weights[2]))),
        "w_max": float(models(n_inputs)[1].params["w_max"]),
    }


def draw(rows: list[dict], path: Path) -> None:
    measured = [row for row in rows if "ratio_min_median_max" in row]
    with figure(path, width=6.0) as (ax,):
        for offset, (name, *_) in enumerate(RATIOS):
            for k, row in enumerate(measured):
                spread = row["ratio_min_median_max"][name]
                if spread is None:
                    continue
                low, median, high = spread
                ax.errorbar(
                    k + 0.1 * (offset - (len(RATIOS) - 1) / 2),
                    median,
                    yerr=[[median - low], [high - median]],
                    fmt="o",
                    color=f"C{offset}",
                    label=name.replace("_", " ") if k == 0 else None,
                )
        ax.axhline(1, color="0.6", lw=0.8)
        ax.set_xticks(range(len(measured)))
        ax.set_xticklabels([f"{r['network']}\n{r['synapses']:.0e}" for r in measured])
        ax.set(ylabel="speed-up (slower time / faster time)", ylim=(0, None))
        ax.legend(fontsize="small", frameon=False)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="network:inputs,...")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--contention", type=float, default=0.25, help="other processes' cores")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        network, n_inputs, duration_s, form, folder = json.loads(args.worker)
        result = _build_and_run(network, n_inputs, duration_s, form, Path(folder))
        args.worker_out.write_text(json.dumps(result))
        return result
    rows = []
    names = [name for name, *_ in RATIOS]
    print(
        "network  synapses    per-synapse ev/s  "
        + "  ".join(f"{name:>23s}" for name in names)
        + "  max |dw|   (ratios: min/median/max)"
    )
    with tempfile.TemporaryDirectory(prefix="stdplab-traces-") as scratch:
        for size in args.sizes.split(","):
            network, _, n_inputs = size.partition(":")
            rows.append(
                measure(network, int(n_inputs), args.repeats, args.contention, Path(scratch))
            )
            row = rows[-1]
            if "error" in row:
                print(f"{network:7s}  {row['synapses']:>10,}  failed: {row['error']}")
                continue
            spreads = [
                "/".join(f"{x:.2f}" for x in row["ratio_min_median_max"][name] or [])
                or "all contended"
                for name in names
            ]
            print(
                f"{network:7s}  {row['synapses']:>10,}  "
                f"{row['events_per_s']['per_synapse/small']:16.3g}  "
                + "  ".join(f"{spread:>23s}" for spread in spreads)
                + f"  {row['max_weight_difference']:.1e}",
                flush=True,
            )
    return finish(
        "neuron_traces",
        {
            "network": "plasticity.py's song and layer, pre delay one step, no post delay",
            "repeats": args.repeats,
            "contention_cores": args.contention,
            "results": rows,
        },
        args.output,
        draw=lambda path: draw(rows, path),
        seed=0,
    )


if __name__ == "__main__":
    main()
