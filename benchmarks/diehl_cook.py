"""Diehl & Cook training speed: one compiled run against one runtime ``run()`` per example.

The network of ``experiments.diehl_cook`` (784 Poisson pixels -> N_e excitatory + N_e
inhibitory neurons, STDP, normalisation and re-presentation decided inside the network) is
trained on the embedded digits as one cpp_standalone run, and the same network is run one
500 ms example slot per runtime ``run()`` call (cython, code generated before the clock
starts), the form of Brian2 ports of the paper. Each way is repeated; the load average of the
machine before and after each repeat is recorded beside it. Wall seconds per training example
are compared; every slot shows an example (no slots are left for re-presentations).

    python benchmarks/diehl_cook.py [--sizes 100,400] [--examples 300] [--loop-examples 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from experiments import diehl_cook
from experiments.runner.devices import simulation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harness import finish, rates_figure  # noqa: E402


def _config(examples: int, n_excitatory: int):
    return dataclasses.replace(
        diehl_cook.SCALES["quick"],
        n_excitatory=n_excitatory,
        n_train=examples,
        n_label=1,
        n_test=1,
        repeat_allowance=0.0,
    )


def compiled(config, build_dir: Path) -> dict:
    """Wall seconds of the binary (all passes, its loading and writing included) and of the
    whole run with the build; the one-example labelling and test passes add two slots."""
    images = diehl_cook.load_images(config)
    started = time.perf_counter()
    with simulation("cpp_standalone", build_dir) as sim:
        net, phases, _ = diehl_cook.build_network(config, *images)
        sim.run_phases(net, phases)
    return {
        "examples": config.n_train,
        "simulation_s": sim.run_seconds,
        "with_build_s": time.perf_counter() - started,
    }


def python_loop(config, runtime_target: str) -> dict:
    from brian2 import ms

    images = diehl_cook.load_images(config)
    with simulation("runtime", runtime_target=runtime_target):
        net, phases, _ = diehl_cook.build_network(config, *images)
        _, start_training = phases[0]
        start_training()
        net.run(0 * ms, namespace={})  # code generation, not part of any example
        slot = (config.presentation_ms + config.rest_ms) * ms
        started = time.perf_counter()
        for _ in range(config.n_train):
            net.run(slot, namespace={}, report=None)
        total = time.perf_counter() - started
    return {"examples": config.n_train, "total_s": total, "runtime_target": runtime_target}


def _repeated(measure, repeats: int) -> list[dict]:
    runs = []
    for _ in range(repeats):
        before = os.getloadavg()[0]
        run = measure()
        runs.append({**run, "load_before": before, "load_after": os.getloadavg()[0]})
    return runs


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,400", help="N_e values, comma-separated")
    parser.add_argument("--examples", type=int, default=300, help="compiled: training examples")
    parser.add_argument("--loop-examples", type=int, default=3, help="runtime loop: examples")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runtime-target", default="cython", choices=("numpy", "cython"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    cases = {}
    for n_e in sizes:
        with tempfile.TemporaryDirectory() as scratch:
            build = Path(scratch) / "build"
            fast = _repeated(
                functools.partial(compiled, _config(args.examples, n_e), build), args.repeats
            )
        slow = _repeated(
            functools.partial(python_loop, _config(args.loop_examples, n_e), args.runtime_target),
            args.repeats,
        )
        per_example = {
            "compiled, simulation": [r["simulation_s"] / r["examples"] for r in fast],
            "compiled, with build": [r["with_build_s"] / r["examples"] for r in fast],
            f"runtime loop ({args.runtime_target})": [r["total_s"] / r["examples"] for r in slow],
        }
        cases[n_e] = {
            "compiled": fast,
            "python_loop": slow,
            "seconds_per_example": {
                way: {"min": min(v), "median": statistics.median(v), "max": max(v)}
                for way, v in per_example.items()
            },
        }
        median = {way: s["median"] for way, s in cases[n_e]["seconds_per_example"].items()}
        loop = median[f"runtime loop ({args.runtime_target})"]
        cases[n_e]["ratio_simulation"] = loop / median["compiled, simulation"]
        cases[n_e]["ratio_with_build"] = loop / median["compiled, with build"]
        print(
            f"N_e = {n_e}: "
            + ", ".join(f"{way} {s:.4f} s/example" for way, s in median.items())
            + f"; ratio {cases[n_e]['ratio_simulation']:.0f}x (simulation), "
            f"{cases[n_e]['ratio_with_build']:.0f}x (with the build)",
            flush=True,
        )
    largest = cases[max(sizes)]
    rates = {way: 1 / s["median"] for way, s in largest["seconds_per_example"].items()}
    result = {
        "network": f"784 pixels -> N_e excitatory + N_e inhibitory, N_e in {sizes}",
        "cases": {str(n_e): case for n_e, case in cases.items()},
        "samples_per_s": rates,
        "ratio_simulation": largest["ratio_simulation"],
        "ratio_with_build": largest["ratio_with_build"],
    }
    return finish(
        "diehl_cook",
        result,
        args.output,
        seed=_config(1, 2).seed,
        draw=lambda path: rates_figure(path, rates, f"training examples / s, N_e = {max(sizes)}"),
    )


if __name__ == "__main__":
    main()
