"""e-prop timing training: one compiled run against a Python loop of runtime ``run()`` calls.

The same network (one LIF output neuron, 50 frozen Poisson inputs, readout, e-prop gradient
and Adam step inside the network) is trained for ``--iterations`` trials of 200 ms as one
cpp_standalone run, and for ``--loop-iterations`` trials as one runtime ``run()`` per trial,
as a user driving Brian2 from Python would; the loop's time per trial is scaled up to the
same number of trials. Both are measured side by side in one process, on this machine.

    python benchmarks/timing_learning.py [--iterations 1000] [--loop-iterations 20]
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
from bench_harness import finish, rates_figure  # noqa: E402


def _config(iterations: int):
    return dataclasses.replace(
        timing_learning.SCALES["quick"],
        variants=(("lif", "plain", ""),),
        runs_per_setting=1,
        learning_rates=(3e-3,),
        iterations=iterations,
    )


def compiled(iterations: int, build_dir: Path) -> dict:
    from brian2 import device

    with simulation("cpp_standalone", build_dir) as sim:
        net, _, duration = timing_learning.build_network(_config(iterations))
        started = time.perf_counter()
        sim.run(net, duration)
        total = time.perf_counter() - started
        simulation_s = device._last_run_time  # the compiled main's own timer
    return {"iterations": iterations, "total_s": total, "simulation_s": simulation_s}


def python_loop(iterations: int, runtime_target: str) -> dict:
    from brian2 import ms

    config = _config(iterations)
    with simulation("runtime", runtime_target=runtime_target):
        net, _, _ = timing_learning.build_network(config)
        started = time.perf_counter()
        for _ in range(iterations):
            net.run(config.trial_ms * ms, namespace={}, report=None)
        total = time.perf_counter() - started
    return {"iterations": iterations, "total_s": total, "runtime_target": runtime_target}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--loop-iterations", type=int, default=20)
    parser.add_argument("--runtime-target", default="numpy", choices=("numpy", "cython"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        fast = compiled(args.iterations, Path(scratch) / "build")
    slow = python_loop(args.loop_iterations, args.runtime_target)
    loop_per_trial = slow["total_s"] / slow["iterations"]
    loop_total = loop_per_trial * args.iterations
    trials_per_s = {
        "compiled, simulation": args.iterations / fast["simulation_s"],
        "compiled, with build": args.iterations / fast["total_s"],
        f"runtime loop ({args.runtime_target})": 1 / loop_per_trial,
    }
    result = {
        "compiled": fast,
        "python_loop": {**slow, "per_trial_s": loop_per_trial, "scaled_total_s": loop_total},
        "trials_per_s": trials_per_s,
        "ratio_total": loop_total / fast["total_s"],
        "ratio_simulation": loop_total / fast["simulation_s"],
    }
    print(f"e-prop timing training, {args.iterations} trials of 200 ms (1 LIF, 50 inputs)")
    print(
        f"  compiled (cpp_standalone), one run:  {fast['total_s']:8.1f} s total, "
        f"{fast['simulation_s']:.2f} s simulation"
    )
    print(
        f"  Python loop of runtime run() ({args.runtime_target}): {loop_per_trial * 1e3:.0f} ms "
        f"per trial -> {loop_total:.0f} s for {args.iterations}"
    )
    print(
        f"  ratio: {result['ratio_total']:.0f}x (with compile), "
        f"{result['ratio_simulation']:.0f}x (simulation only)"
    )
    return finish(
        "timing_learning",
        result,
        args.output,
        seed=_config(1).seed,
        draw=lambda path: rates_figure(path, trials_per_s, "e-prop trials / s"),
    )


if __name__ == "__main__":
    main()
