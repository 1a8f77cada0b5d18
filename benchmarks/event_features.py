"""Event-feature training: one compiled run against the best runtime forms a Brian2 user writes.

The STDP layer of ``experiments.event_features`` (2312 event inputs -> 100 LIF neurons with
winner-take-all, plus its frozen control) is trained on emulated N-MNIST samples in five ways:

- compiled (cpp_standalone), ``--samples`` samples as the binary's first run, each repeat in a
  fresh build folder (its simulation timer, and its wall time with the build); its arrays in
  huge pages, as every experiment runs it;
- the same binary in small pages (the package before huge pages): what the learning
  experiments gained from them;
- runtime (cython), one ``run()`` for all ``--runtime-samples`` samples (the protocol needs no
  Python between samples); runtime (cython) and runtime (numpy), one ``run()`` per sample
  (``--loop-samples``), as a user looping in Python would.

Every runtime form has its code compiled before the clock starts. The ways run interleaved,
``--repeats`` times, with the load of other processes recorded; samples per second are
compared as same-repeat ratios.

    python benchmarks/event_features.py [--samples 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import tempfile
import time
from pathlib import Path

from experiments import event_features
from experiments.runner.devices import binary_command, simulation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harness import PROTOCOL_REFERENCE, finish_protocol, repeated_ways  # noqa: E402

DATA_CACHE = Path("build/data")  # the emulated samples, shared with `stdplab run`


def _config(samples: int, neurons: int):
    """The issue's network: one LIF STDP layer and one frozen control, no sweep."""
    return dataclasses.replace(
        event_features.SCALES["quick"],
        n_train=samples,
        n_test=1,
        n_neurons=neurons,
        neurons=("lif",),
        frozen_gains=(1.0,),
        sweep=(),
        oracle=False,
    )


@functools.cache
def _presented(config):
    return event_features.present(
        config, event_features.sample_batches(config, cache_dir=DATA_CACHE)
    )


def compiled(config, build_dir: Path, huge_pages: bool) -> dict:
    """Training only: the binary's first run (all training samples, at most chunk_samples)."""
    from brian2 import device, prefs

    started = time.perf_counter()
    with simulation("cpp_standalone", build_dir) as sim:
        prefs.devices.cpp_standalone.run_cmd_unix = binary_command(huge_pages=huge_pages)
        net, _, presentation = event_features.build_network(config, _presented(config))
        sim.run_phases(net, presentation.phases)
        simulation_s = float(device._last_run_time)
    if huge_pages:
        seconds = {
            PROTOCOL_REFERENCE: simulation_s,
            "compiled, with build": time.perf_counter() - started,
        }
    else:
        seconds = {"compiled, simulation, small pages": simulation_s}
    return {"units": presentation.chunk, "seconds": seconds}


def runtime(config, target: str, per_sample: bool) -> dict:
    from brian2 import ms

    with simulation("runtime", runtime_target=target) as sim:
        net, _, presentation = event_features.build_network(config, _presented(config))
        net.run(0 * ms, namespace={})  # code generation and compilation, before the clock
        started = time.perf_counter()
        if per_sample:
            period = (config.sample_ms + config.rest_ms) * ms
            for _ in range(config.n_train):
                net.run(period, namespace={}, report=None)
        else:
            sim.run_phases(net, presentation.phases)
        seconds = time.perf_counter() - started
    form = "run() per sample" if per_sample else "one run()"
    return {"units": config.n_train, "seconds": {f"runtime ({target}), {form}": seconds}}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="compiled: samples")
    parser.add_argument("--runtime-samples", type=int, default=20, help="runtime, one run()")
    parser.add_argument("--loop-samples", type=int, default=5, help="runtime, run() per sample")
    parser.add_argument("--neurons", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--contention", type=float, default=0.25, help="cores; see README")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    fast, one_run, loop = (
        _config(n, args.neurons) for n in (args.samples, args.runtime_samples, args.loop_samples)
    )
    for target in ("cython", "numpy"):  # Brian2's code caches warm: no repeat pays for them
        runtime(_config(1, args.neurons), target, per_sample=False)
    network = f"2312 inputs -> {args.neurons} LIF (STDP) + {args.neurons} (frozen), WTA"
    print(f"event-feature training, {network}, {args.repeats} repeats")
    with tempfile.TemporaryDirectory() as scratch:
        folder = {}  # this repeat's build folder: the small-page run reuses its binary

        def cold_build():
            folder["now"] = Path(tempfile.mkdtemp(dir=scratch))
            return compiled(fast, folder["now"], huge_pages=True)

        runs = repeated_ways(
            {
                "compiled": cold_build,
                "compiled, small pages": lambda: compiled(fast, folder["now"], huge_pages=False),
                "runtime (cython), one run()": lambda: runtime(one_run, "cython", False),
                "runtime (cython), run() per sample": lambda: runtime(loop, "cython", True),
                "runtime (numpy), run() per sample": lambda: runtime(loop, "numpy", True),
            },
            args.repeats,
            args.contention,
        )
    return finish_protocol(
        "event_features",
        f"event-feature training, {network}",
        "training samples",
        runs,
        args,
        seed=_config(1, 1).seed,
    )


if __name__ == "__main__":
    main()
