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

from experiments.devices import check_device, simulation
from experiments.results import provenance, write_result


def run(
    module,
    config,
    device: str = "cpp_standalone",
    results_root: str | Path = "results",
    build_root: str | Path = "build",
    threads: int = 1,
    runtime_target: str = "numpy",
    scale: str = "custom",
) -> Path:
    """Run ``module`` with ``config`` on ``device``; return the result directory."""
    check_device(device)
    module.check(config)
    build_dir = Path(build_root) / module.NAME / device
    started = time.perf_counter()
    with simulation(device, build_dir, threads=threads, runtime_target=runtime_target) as sim:
        # Copy while Brian2's arrays are alive: values read from groups can be views that the
        # device reset at the end of the context overwrites.
        arrays = {
            key: np.array(value, copy=True) for key, value in module.simulate(config, sim).items()
        }
    wall_s = time.perf_counter() - started
    # The device is part of what was run: results of different devices never overwrite.
    as_dict = {**dataclasses.asdict(config), "device": device}
    metrics = module.evaluate(as_dict, arrays)
    metrics["wall_time_s"] = wall_s
    metrics["scale"] = scale
    record = provenance(device, seed=config.seed, threads=threads)
    return write_result(results_root, module.NAME, as_dict, arrays, metrics, record)
