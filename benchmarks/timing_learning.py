"""e-prop timing training: one compiled run against the best runtime forms a Brian2 user writes.

The same network (one LIF output neuron, 50 frozen Poisson inputs, readout, e-prop gradient
and Adam step inside the network) is trained for 200 ms trials in four ways:

- compiled (cpp_standalone): ``--iterations`` trials as one run, each repeat in a fresh build
  folder (its simulation timer, and its wall time with code generation and compilation);
- runtime (cython), one ``run()`` for all ``--runtime-iterations`` trials: the protocol needs
  no Python between trials, so this is the best runtime form;
- runtime (cython), one ``run()`` per trial, and runtime (numpy), one ``run()`` per trial
  (``--loop-iterations``): a user driving Brian2 from Python.

Every runtime form has its cython code compiled before the clock starts (one untimed trial).
The ways run interleaved, ``--repeats`` times, with the load of other processes recorded;
trials per second are compared as same-repeat ratios.

    python benchmarks/timing_learning.py [--iterations 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from experiments import timing_learning
from experiments.runner.devices import simulation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harness import PROTOCOL_REFERENCE, finish_protocol, repeated_ways  # noqa: E402


def _config(iterations: int):
    return dataclasses.replace(
        timing_learning.SCALES["quick"],
        variants=(("lif", "plain", ""),),
        runs_per_setting=1,
        learning_rates=(3e-3,),
        iterations=iterations,
    )


def compiled(iterations: int, scratch: Path) -> dict:
    from brian2 import device

    build_dir = Path(tempfile.mkdtemp(dir=scratch))  # a cold build in every repeat
    started = time.perf_counter()
    with simulation("cpp_standalone", build_dir) as sim:
        net, _, duration = timing_learning.build_network(_config(iterations))
        sim.run(net, duration)
        simulation_s = device._last_run_time  # the compiled main's own timer
    return {
        "units": iterations,
        "seconds": {
            PROTOCOL_REFERENCE: simulation_s,
            "compiled, with build": time.perf_counter() - started,
        },
    }


def runtime(iterations: int, target: str, per_trial: bool) -> dict:
    from brian2 import ms

    config = _config(iterations)
    with simulation("runtime", runtime_target=target):
        net, _, duration = timing_learning.build_network(config)
        net.run(0 * ms, namespace={})  # code generation and compilation, before the clock
        started = time.perf_counter()
        if per_trial:
            for _ in range(iterations):
                net.run(config.trial_ms * ms, namespace={}, report=None)
        else:
            net.run(duration, namespace={}, report=None)
        seconds = time.perf_counter() - started
    form = "run() per trial" if per_trial else "one run()"
    return {"units": iterations, "seconds": {f"runtime ({target}), {form}": seconds}}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000, help="compiled: trials")
    parser.add_argument(
        "--runtime-iterations", type=int, default=100, help="runtime, one run(): trials"
    )
    parser.add_argument(
        "--loop-iterations", type=int, default=20, help="runtime, run() per trial: trials"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--contention", type=float, default=0.25, help="cores; see README")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    runtime_ways = {
        "runtime (cython), one run()": lambda: runtime(args.runtime_iterations, "cython", False),
        "runtime (cython), run() per trial": lambda: runtime(args.loop_iterations, "cython", True),
        "runtime (numpy), run() per trial": lambda: runtime(args.loop_iterations, "numpy", True),
    }
    for target in ("cython", "numpy"):  # Brian2's code caches warm: no repeat pays for them
        runtime(1, target, per_trial=False)
    print(f"e-prop timing training, trials of 200 ms (1 LIF, 50 inputs), {args.repeats} repeats")
    with tempfile.TemporaryDirectory() as scratch:
        runs = repeated_ways(
            {"compiled": lambda: compiled(args.iterations, Path(scratch)), **runtime_ways},
            args.repeats,
            args.contention,
        )
    return finish_protocol(
        "timing_learning",
        "e-prop timing training, 1 LIF, 50 inputs, 200 ms trials",
        "trials",
        runs,
        args,
        seed=_config(1).seed,
    )


if __name__ == "__main__":
    main()
