"""Event-feature training throughput: one compiled run against one runtime ``run()`` per sample.

The STDP layer of ``experiments.event_features`` (2312 event inputs -> 100 LIF neurons with
winner-take-all, plus its frozen control) is trained on emulated N-MNIST samples as one
cpp_standalone run, and the same network is driven one sample per runtime ``run()`` call, as
a user looping in Python would. Both side by side in one process; samples per second of
training are compared.

    python benchmarks/event_features.py [--samples 200] [--loop-samples 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from experiments import event_features
from experiments.runner.devices import simulation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harness import finish, rates_figure  # noqa: E402

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


def compiled(config, build_dir: Path) -> dict:
    """Training only: the first run of the binary (all training samples, at most
    chunk_samples)."""
    from brian2 import device

    presented = event_features.present(
        config, event_features.sample_batches(config, cache_dir=DATA_CACHE)
    )
    with simulation("cpp_standalone", build_dir) as sim:
        net, _, presentation = event_features.build_network(config, presented)
        started = time.perf_counter()
        sim.run_phases(net, presentation.phases)  # the first run of the binary: all training
        total = time.perf_counter() - started
        simulation_s = float(device._last_run_time)
    return {"samples": config.n_train, "total_s": total, "simulation_s": simulation_s}


def python_loop(config, runtime_target: str) -> dict:
    from brian2 import ms

    presented = event_features.present(
        config, event_features.sample_batches(config, cache_dir=DATA_CACHE)
    )
    period = (config.sample_ms + config.rest_ms) * ms
    with simulation("runtime", runtime_target=runtime_target):
        net, _, _ = event_features.build_network(config, presented)
        net.run(0 * ms, namespace={})  # code generation, not part of any sample
        started = time.perf_counter()
        for _ in range(config.n_train):
            net.run(period, namespace={}, report=None)
        total = time.perf_counter() - started
    return {"samples": config.n_train, "total_s": total, "runtime_target": runtime_target}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--loop-samples", type=int, default=5)
    parser.add_argument("--neurons", type=int, default=100)
    parser.add_argument("--runtime-target", default="numpy", choices=("numpy", "cython"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        fast = compiled(_config(args.samples, args.neurons), Path(scratch) / "build")
    slow = python_loop(_config(args.loop_samples, args.neurons), args.runtime_target)
    loop = f"runtime loop ({args.runtime_target})"
    rates = {
        "compiled, simulation": fast["samples"] / fast["simulation_s"],
        "compiled, with build": fast["samples"] / fast["total_s"],
        loop: slow["samples"] / slow["total_s"],
    }
    result = {
        "network": f"2312 inputs -> {args.neurons} LIF (STDP) + {args.neurons} (frozen), WTA",
        "compiled": fast,
        "python_loop": slow,
        "samples_per_s": rates,
        "ratio_simulation": rates["compiled, simulation"] / rates[loop],
        "ratio_with_build": rates["compiled, with build"] / rates[loop],
    }
    print(f"event-feature training, {result['network']}")
    for name, rate in rates.items():
        print(f"  {name:22s} {rate:8.1f} samples/s")
    print(
        f"  ratio: {result['ratio_simulation']:.0f}x (simulation), "
        f"{result['ratio_with_build']:.0f}x (with the build)"
    )
    return finish(
        "event_features",
        result,
        args.output,
        seed=_config(1, 1).seed,
        draw=lambda path: rates_figure(path, rates, "training samples / s"),
    )


if __name__ == "__main__":
    main()
