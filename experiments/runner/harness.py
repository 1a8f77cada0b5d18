"""Run one experiment module end to end: validate, simulate once, evaluate, write atomically.

An experiment module provides ``NAME``, a frozen ``Config`` dataclass, ``SCALES`` (at least
``tiny``, ``quick`` and ``paper``), ``check(config)`` (raises before anything compiles),
and ``simulate(config, sim) -> arrays``; its ``analysis.<NAME>`` module provides
``evaluate(config_dict, arrays) -> metrics`` and the figures, so a report can recompute
both from the saved arrays without the experiment.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np

from experiments import get_analysis
from experiments.runner.configs import checked
from experiments.runner.devices import AUTO_THREADS, DeviceError, check_device, simulation
from experiments.runner.progress import Progress
from experiments.runner.results import check_writable, data_fingerprint, provenance, write_result
from experiments.runner.reuse import CompiledProject


def config_record(config, device: str) -> dict:
    """What a result's label hashes: the config and the device (results of different devices
    never overwrite each other)."""
    return {**dataclasses.asdict(config), "device": device}


def usable_threads(threads: int | str, progress: Progress | None = None) -> int | str:
    """``threads`` capped at this machine's cores: more OpenMP threads than cores only wait for
    each other at every step's barrier (1000 turned a sub-second run into minutes).
    ``AUTO_THREADS`` stays: the run chooses from its network's synapses."""
    if threads == AUTO_THREADS:
        return threads
    if threads < 1:
        raise DeviceError(f"--threads must be at least 1; got {threads}")
    cores = os.cpu_count() or 1
    if threads > cores:
        if progress is not None:
            progress.note(f"{threads} threads asked, {cores} used: this machine has {cores} cores")
        return cores
    return threads


def run(
    module,
    config,
    device: str = "cpp_standalone",
    results_root: str | Path = "results",
    build_root: str | Path = "build",
    threads: int | str = 1,
    runtime_target: str = "numpy",
    scale: str = "custom",
    project: CompiledProject | None = None,
    progress: Progress | None = None,
) -> Path:
    """Run ``module`` with ``config`` on ``device``; return the result directory.

    With ``project`` (cpp_standalone), the run builds in ``project.build_dir`` and reuses the
    binary compiled there by an earlier run of the same network structure, through run_args.
    Nothing is written unless the whole simulation ran with finite state: an interrupted run
    raises KeyboardInterrupt, a failed or non-finite one an error naming the cause, and an
    earlier result under the same label stays in place.
    """
    progress = progress or Progress()
    check_device(device)
    config = checked(module, config)
    module.check(config)
    threads = usable_threads(threads, progress)
    check_writable(results_root)
    if device != "runtime" and project is None:
        check_writable(build_root, "--build-dir")
    progress.phase(f"{module.NAME} on {device} ({scale} scale)")
    if device == "runtime" and not scale.startswith("tiny"):
        progress.note(
            "the runtime device steps through Python every time step; beyond the tiny scale "
            "cpp_standalone is orders of magnitude faster"
        )
    build_dir = project.build_dir if project else Path(build_root) / module.NAME / device
    data = {
        field.name: data_fingerprint(getattr(config, field.name), progress)
        for field in dataclasses.fields(config)
        if field.name.endswith("_folder") and getattr(config, field.name)
    }
    started = time.perf_counter()
    with simulation(
        device,
        build_dir,
        threads=threads,
        runtime_target=runtime_target,
        project=project,
        progress=progress,
    ) as sim:
        # Copy while Brian2's arrays are alive (``sim`` holds the networks until the context
        # ends): values read from groups and monitors can be views into their memory.
        arrays = {
            key: np.array(value, copy=True) for key, value in module.simulate(config, sim).items()
        }
        built = {
            "build": sim.execution,  # None on the runtime device
            "build_dir": None if device == "runtime" else str(sim.build_dir),
            "compiler": sim.compiler(),
            "integration": sim.integration(),
        }
        threads = sim.threads
    wall_s = time.perf_counter() - started
    progress.phase("evaluating")
    as_dict = config_record(config, device)
    metrics = get_analysis(module.NAME).evaluate(as_dict, arrays)
    metrics["wall_time_s"] = wall_s
    metrics["scale"] = scale
    record = provenance(device, seed=config.seed, threads=threads)
    record.update(built)
    if data:
        record["data"] = data
    progress.phase("writing the result")
    return write_result(results_root, module.NAME, as_dict, arrays, metrics, record)
