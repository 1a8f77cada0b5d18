"""Run one experiment module end to end: validate, simulate once, evaluate, write atomically.

An experiment module provides ``NAME``, a frozen ``Config`` dataclass, ``SCALES`` (at least
``tiny``, ``quick`` and ``paper``), ``check(config)`` (raises before anything compiles),
``simulate(config, sim) -> arrays`` and ``evaluate(config_dict, arrays) -> metrics``.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from experiments.configs import checked
from experiments.devices import check_device, simulation
from experiments.results import check_writable, provenance, write_result
from experiments.reuse import CompiledProject


def config_record(config, device: str) -> dict:
    """What a result's label hashes: the config and the device (results of different devices
    never overwrite each other)."""
    return {**dataclasses.asdict(config), "device": device}


def run(
    module,
    config,
    device: str = "cpp_standalone",
    results_root: str | Path = "results",
    build_root: str | Path = "build",
    threads: int = 1,
    runtime_target: str = "numpy",
    scale: str = "custom",
    project: CompiledProject | None = None,
) -> Path:
    """Run ``module`` with ``config`` on ``device``; return the result directory.

    With ``project`` (cpp_standalone), the run builds in ``project.build_dir`` and reuses the
    binary compiled there by an earlier run of the same network structure, through run_args.
    """
    check_device(device)
    config = checked(module, config)
    module.check(config)
    check_writable(results_root)
    build_dir = project.build_dir if project else Path(build_root) / module.NAME / device
    started = time.perf_counter()
    with simulation(
        device, build_dir, threads=threads, runtime_target=runtime_target, project=project
    ) as sim:
        # Copy while Brian2's arrays are alive (``sim`` holds the networks until the context
        # ends): values read from groups and monitors can be views into their memory.
        arrays = {
            key: np.array(value, copy=True) for key, value in module.simulate(config, sim).items()
        }
    wall_s = time.perf_counter() - started
    as_dict = config_record(config, device)
    metrics = module.evaluate(as_dict, arrays)
    metrics["wall_time_s"] = wall_s
    metrics["scale"] = scale
    record = provenance(device, seed=config.seed, threads=threads)
    record["build"] = sim.execution  # None on the runtime device
    return write_result(results_root, module.NAME, as_dict, arrays, metrics, record)
