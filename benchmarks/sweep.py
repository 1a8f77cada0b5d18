"""Sweeps: a grid of parameter values run four ways, side by side on this machine.

- ``stdplab sweep`` (a worker per core): the points of one seed on one worker, which compiles
  once and runs its other points with the same binary through run_args; the workers take
  turns to compile;
- ``stdplab sweep --workers 1``: every point on one worker, one compile where run_args carry
  the rest;
- ``stdplab sweep --spread`` (a worker per core): each worker its share of the points, a
  compile per worker;
- a loop of ``stdplab run`` in one build folder: Brian2 regenerates the project for each point
  and make recompiles the files whose values changed;
- a loop of fresh builds: a full compile per point (one script or folder per hypothesis).

Each way starts from empty results and build folders, so nothing is reused between them. Three
cases by default: a model-parameter grid whose simulations are shorter than a compile
(neuron_comparison, the LIF membrane time constant), a config-field grid with longer
simulations (vq_features, the VQ-STDP learning rate, a value run_args can carry) and a grid
with two seeds (song_stdp, the input rate: each seed another network).

    python benchmarks/sweep.py
    python benchmarks/sweep.py --experiment timing_learning --neuron '' --axis c_reg=0,0.05
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from experiments import get_experiment
from experiments.runner import harness
from experiments.runner.configs import build_config
from experiments.runner.sweep import Sweep, expand, parse_axis, run_sweep

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_harness import figure, finish  # noqa: E402


@dataclass(frozen=True)
class Case:
    experiment: str
    axis: str  # NAME=V1,V2,...: a model parameter or a config field
    scale: str = "quick"
    neuron: str | None = None
    config: tuple[str, ...] = field(default_factory=tuple)  # fixed FIELD=VALUE changes
    seeds: int = 1


CASES = (
    Case(
        "neuron_comparison", "lif.tau_m=5*ms,8*ms,10*ms,15*ms,20*ms,30*ms,40*ms,60*ms", neuron="lif"
    ),
    Case("vq_features", "mu_w=0.001,0.002,0.003,0.004", config=("datasets=('digits',)",)),
    Case(
        "song_stdp", "input_rate_hz=10,20", seeds=2, config=("duration_s=100", "paper_rates_hz=()")
    ),
)


def _sweep(case: Case, root: Path, workers: int, spread: bool = False) -> dict:
    module = get_experiment(case.experiment)
    axis = parse_axis(case.axis)
    fixed = {"neurons": case.neuron, "sets": [], "config": list(case.config)}
    seeds = _seeds(module, case)
    points = expand(module, case.scale, [axis], seeds, "cpp_standalone", fixed)
    sweep = Sweep(
        experiment=module.NAME,
        scale=case.scale,
        device="cpp_standalone",
        axes=[axis],
        seeds=seeds,
        fixed=fixed,
        results_root=root / "results",
        build_root=root / "build",
        workers=workers,
        spread=spread,
    )
    started = time.perf_counter()
    out, failed = run_sweep(sweep, points, progress=lambda line: None)
    wall = time.perf_counter() - started
    builds = json.loads((out / "sweep.json").read_text())["builds"]
    return {"wall_s": wall, "failed": failed, "builds": builds}


def _seeds(module, case: Case) -> list[int]:
    first = module.SCALES[case.scale].seed
    return list(range(first, first + case.seeds))


def _loop(case: Case, root: Path, fresh: bool) -> dict:
    module = get_experiment(case.experiment)
    axis = parse_axis(case.axis)
    started = time.perf_counter()
    grid = [(seed, value) for seed in _seeds(module, case) for value in axis.values]
    for k, (seed, value) in enumerate(grid):
        change = [f"{axis.name}={value}"]
        sets, config_values = (change, []) if axis.is_model_parameter else ([], change)
        config = build_config(
            module,
            case.scale,
            seed=seed,
            neurons=case.neuron,
            sets=sets,
            config_values=[*case.config, *config_values],
        )
        harness.run(
            module,
            config,
            results_root=root / "results",
            build_root=root / (f"build-{k}" if fresh else "build"),
        )
    return {"wall_s": time.perf_counter() - started}


def measure(case: Case, cores: int) -> dict:
    ways = {
        "stdplab sweep": lambda root: _sweep(case, root, cores),
        "stdplab sweep --workers 1": lambda root: _sweep(case, root, 1),
        f"stdplab sweep --spread, {cores} workers": lambda root: _sweep(case, root, cores, True),
        "loop of stdplab run, one build folder": lambda root: _loop(case, root, fresh=False),
        "loop of fresh builds": lambda root: _loop(case, root, fresh=True),
    }
    measured = {}
    for way, run in ways.items():
        with tempfile.TemporaryDirectory(prefix="stdplab-bench-sweep-") as scratch:
            measured[way] = run(Path(scratch))
        print(f"{case.experiment}: {way}: {measured[way]['wall_s']:.1f} s", flush=True)
    points = len(parse_axis(case.axis).values) * case.seeds
    sweep_s = measured["stdplab sweep"]["wall_s"]
    return {
        **asdict(case),
        "points": points,
        "ways": measured,
        "points_per_minute": {way: 60 * points / m["wall_s"] for way, m in measured.items()},
        "speedup_over_fresh_builds": measured["loop of fresh builds"]["wall_s"] / sweep_s,
        "speedup_over_run_loop": measured["loop of stdplab run, one build folder"]["wall_s"]
        / sweep_s,
        "spread_speedup": sweep_s / measured[f"stdplab sweep --spread, {cores} workers"]["wall_s"],
        "one_worker_speedup": sweep_s / measured["stdplab sweep --workers 1"]["wall_s"],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", help="one case of your own instead of the default two")
    parser.add_argument("--axis", help="its axis, NAME=V1,V2,...")
    parser.add_argument("--scale", default="quick")
    parser.add_argument("--neuron", default="lif", help="'' for experiments without --neuron")
    parser.add_argument("--config", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    cases = CASES
    if args.experiment:
        if not args.axis:
            parser.error("--experiment needs --axis")
        cases = (
            Case(args.experiment, args.axis, args.scale, args.neuron or None, tuple(args.config)),
        )
    cores = len(os.sched_getaffinity(0))
    results = [measure(case, cores) for case in cases]
    finish(
        "sweep",
        {"cores": cores, "cases": results},
        args.output,
        lambda path: draw(results, path),
        seed=0,
    )


def draw(results: list[dict], path: Path) -> None:
    """Wall time of each way, one panel per grid."""
    with figure(path, ncols=len(results), width=2.6 * len(results) + 1.2) as axes:
        for k, (ax, case) in enumerate(zip(axes, results, strict=True)):
            ways = list(case["ways"])
            walls = [case["ways"][way]["wall_s"] for way in ways]
            ax.barh(range(len(ways)), walls, color="0.4")
            ax.set_yticks(range(len(ways)), [_short(way) for way in ways] if k == 0 else [])
            ax.invert_yaxis()
            ax.set_xlabel("wall s")
            seeds = f" ({case['seeds']} seeds)" if case.get("seeds", 1) > 1 else ""
            ax.set_title(f"{case['experiment']}\n{case['points']} points{seeds}", fontsize=8)
            for y, wall in enumerate(walls):
                ax.annotate(
                    f"{wall:.0f}",
                    (wall, y),
                    xytext=(2, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize="small",
                )


def _short(way: str) -> str:
    return way.replace("stdplab ", "").replace(", one build folder", " (one folder)")


if __name__ == "__main__":
    main()
