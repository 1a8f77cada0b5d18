"""What every benchmark shares: the machine's description, atomic JSON + figure output, style."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
from pathlib import Path

import numpy as np

from analysis.figures import STYLE, save_atomic
from analysis.report import write_atomic
from experiments.runner.results import provenance


def busy_seconds() -> float:
    """CPU seconds all processes have used (/proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def other_cores(busy_before: float, own_cpu_s: float, wall_s: float) -> float:
    """Cores that other processes kept busy over ``wall_s``: all CPU time used since
    ``busy_before`` (a ``busy_seconds()``) less the measured job's own."""
    return max(busy_seconds() - busy_before - own_cpu_s, 0.0) / wall_s


def spread(values) -> list[float] | None:
    """[min, median, max], or None for no values."""
    values = list(values)
    return [min(values), float(np.median(values)), max(values)] if values else None


def machine() -> dict:
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {"cpu": model, "cpus": len(os.sched_getaffinity(0)), "memory_gib": memory_kib / 2**20}


@contextlib.contextmanager
def figure(path: Path, ncols: int = 1, width: float = 3.5):
    """Axes in the package's figure style; the figure is written atomically on exit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.style.context(STYLE):
        fig, axes = plt.subplots(1, ncols, figsize=(width, 2.8), squeeze=False)
        yield list(axes[0])
        fig.tight_layout()
        save_atomic(fig, path)
        plt.close(fig)


def finish(name: str, payload: dict, output: Path, draw, seed: int, device="cpp_standalone"):
    """Add machine and provenance, write ``output/NAME.json`` and ``NAME.png`` atomically."""
    payload = {
        "benchmark": name,
        **payload,
        "machine": machine(),
        "provenance": provenance(device, seed=seed),
    }
    output.mkdir(parents=True, exist_ok=True)
    write_atomic(output / f"{name}.json", json.dumps(payload, indent=2) + "\n")
    draw(output / f"{name}.png")
    return payload


def rates_figure(path: Path, rates: dict, label: str) -> None:
    """One bar per way of running the same protocol, on a log axis (the ratios are the point)."""
    with figure(path, width=4.5) as (ax,):
        names = list(rates)
        ax.barh(names, [rates[name] for name in names], color="0.4")
        # bars on a log axis start a whole decade below the smallest, so none looks empty
        left = 10 ** math.floor(math.log10(min(rates.values())))
        ax.set(xscale="log", xlabel=label, xlim=(left, None))
        ax.invert_yaxis()
        for y, name in enumerate(names):
            ax.annotate(
                f"{rates[name]:.3g}",
                (rates[name], y),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize="small",
            )
