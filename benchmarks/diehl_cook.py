"""Diehl & Cook training: one compiled run against the best runtime forms a Brian2 user writes.

The network of ``experiments.diehl_cook`` (784 Poisson pixels -> N_e excitatory + N_e
inhibitory neurons, STDP, normalisation and re-presentation decided inside the network) is
trained on the embedded digits in five ways, for each N_e:

- compiled (cpp_standalone): ``--examples`` training examples and the one-example labelling
  and test passes as one run of the binary, each repeat in a fresh build folder (the
  binary's wall time, its loading and writing included, and the whole run with the build);
  its arrays in huge pages, as every experiment runs it;
- the same binary in small pages (the package before huge pages): what the learning
  experiments gained from them;
- runtime (cython), one ``run()`` per pass for ``--runtime-examples`` examples (the protocol
  needs no Python between examples); runtime (cython), one ``run()`` per 500 ms example
  slot (``--loop-examples``), the form of Brian2 ports of the paper.

Every runtime form has its code compiled before the clock starts. Rates are example slots
per second (every slot shows an example: no slots are left for re-presentations). The ways
run interleaved, ``--repeats`` times, with the load of other processes recorded.

    python benchmarks/diehl_cook.py [--sizes 100,400] [--examples 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from experiments import diehl_cook
from experiments.runner.devices import binary_command, simulation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harness import (  # noqa: E402
    PROTOCOL_REFERENCE,
    finish,
    median_rates,
    print_ratios,
    protocol_summary,
    rates_figure,
    repeated_ways,
)


def _config(examples: int, n_excitatory: int):
    return dataclasses.replace(
        diehl_cook.SCALES["quick"],
        n_excitatory=n_excitatory,
        n_train=examples,
        n_label=1,
        n_test=1,
        repeat_allowance=0.0,
    )


def _slots(config) -> int:
    return config.n_train + config.n_label + config.n_test


def compiled(config, build_dir: Path, huge_pages: bool) -> dict:
    from brian2 import prefs

    images = diehl_cook.load_images(config)
    started = time.perf_counter()
    with simulation("cpp_standalone", build_dir) as sim:
        prefs.devices.cpp_standalone.run_cmd_unix = binary_command(huge_pages=huge_pages)
        net, phases, _ = diehl_cook.build_network(config, *images)
        sim.run_phases(net, phases)
    if huge_pages:
        seconds = {
            PROTOCOL_REFERENCE: sim.run_seconds,
            "compiled, with build": time.perf_counter() - started,
        }
    else:
        seconds = {"compiled, simulation, small pages": sim.run_seconds}
    return {"units": _slots(config), "seconds": seconds}


def runtime(config, per_slot: bool) -> dict:
    from brian2 import ms

    images = diehl_cook.load_images(config)
    with simulation("runtime", runtime_target="cython") as sim:
        net, phases, _ = diehl_cook.build_network(config, *images)
        net.run(0 * ms, namespace={})  # code generation and compilation, before the clock
        started = time.perf_counter()
        if per_slot:
            _, start_training = phases[0]
            start_training()
            slot = (config.presentation_ms + config.rest_ms) * ms
            for _ in range(config.n_train):
                net.run(slot, namespace={}, report=None)
            units = config.n_train
        else:
            sim.run_phases(net, phases)
            units = _slots(config)
        seconds = time.perf_counter() - started
    form = "run() per example" if per_slot else "one run() per pass"
    return {"units": units, "seconds": {f"runtime (cython), {form}": seconds}}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,400", help="N_e values, comma-separated")
    parser.add_argument("--examples", type=int, default=300, help="compiled: training examples")
    parser.add_argument("--runtime-examples", type=int, default=10, help="runtime, one run()")
    parser.add_argument("--loop-examples", type=int, default=3, help="runtime, run() per example")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--contention", type=float, default=0.25, help="cores; see README")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    runtime(_config(1, min(sizes)), per_slot=False)  # Brian2's cython cache warm
    cases = {}
    for n_e in sizes:
        print(f"Diehl & Cook, N_e = {n_e}, {args.repeats} repeats", flush=True)
        fast, one_run, loop = (
            _config(n, n_e) for n in (args.examples, args.runtime_examples, args.loop_examples)
        )
        with tempfile.TemporaryDirectory() as scratch:
            folder = {}  # this repeat's build folder: the small-page run reuses its binary

            def cold_build(fast=fast, scratch=scratch, folder=folder):
                folder["now"] = Path(tempfile.mkdtemp(dir=scratch))
                return compiled(fast, folder["now"], huge_pages=True)

            runs = repeated_ways(
                {
                    "compiled": cold_build,
                    "compiled, small pages": lambda fast=fast, folder=folder: compiled(
                        fast, folder["now"], huge_pages=False
                    ),
                    "runtime (cython), one run() per pass": lambda c=one_run: runtime(c, False),
                    "runtime (cython), run() per example": lambda c=loop: runtime(c, True),
                },
                args.repeats,
                args.contention,
            )
        cases[str(n_e)] = {"runs": runs, **protocol_summary(runs, PROTOCOL_REFERENCE)}
        print_ratios(cases[str(n_e)])
    rates = median_rates(cases[str(max(sizes))])
    return finish(
        "diehl_cook",
        {
            "protocol": f"Diehl & Cook training, 784 pixels -> N_e + N_e, N_e in {sizes}",
            "unit": "example slots",
            "repeats": args.repeats,
            "contention_cores": args.contention,
            "cases": cases,
        },
        args.output,
        seed=_config(1, 2).seed,
        draw=lambda path: rates_figure(
            path, rates, f"training example slots / s, N_e = {max(sizes)}"
        ),
    )


if __name__ == "__main__":
    main()
