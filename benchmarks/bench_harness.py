"""What every benchmark shares: the machine's description, atomic JSON + figure output, style."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import resource
import time
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
        if not rates:  # every run contended or failed: the table says so
            ax.text(0.5, 0.5, "no uncontended run", ha="center", va="center")
            ax.set_axis_off()
            return
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


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its waited-for children (compiler, binary)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def repeated_ways(ways: dict, repeats: int, contention: float) -> list[dict]:
    """Run every way of a protocol ``repeats`` times, interleaved (each repeat runs every way
    before the next starts, so a slow spell of the machine falls on all alike). A way is a
    callable returning ``{"units": trials done, "seconds": {row: wall seconds}}``; each run
    is recorded with the cores other processes kept busy meanwhile and flagged as contended
    above ``contention``. A way that raises is recorded as failed and the others go on."""
    runs = []
    for repeat in range(repeats):
        for way, measure in ways.items():
            busy, cpu, started = busy_seconds(), own_cpu_seconds(), time.perf_counter()
            try:
                run = measure()
            except Exception as error:  # noqa: BLE001 - one failed way is a row, not the end
                runs.append(
                    {"way": way, "repeat": repeat, "error": f"{type(error).__name__}: {error}"}
                )
                print(f"  {way}, repeat {repeat}: failed: {error}", flush=True)
                continue
            wall = time.perf_counter() - started
            others = other_cores(busy, own_cpu_seconds() - cpu, wall)
            runs.append(
                {
                    "way": way,
                    "repeat": repeat,
                    **run,
                    "other_cores": others,
                    "contended": others > contention,
                }
            )
            rates = ", ".join(
                f"{row} {run['units'] / s:.3g}/s" for row, s in run["seconds"].items()
            )
            print(f"  repeat {repeat}: {rates} (other cores {others:.2f})", flush=True)
    return runs


#: The row every protocol benchmark's ratios are taken against.
PROTOCOL_REFERENCE = "compiled, simulation"


def print_ratios(summary: dict) -> None:
    for row, ratio in summary["ratios"].items():
        if ratio:
            print(
                f"  {summary['reference']} / {row}: {ratio[1]:.3g} ({ratio[0]:.3g}-{ratio[2]:.3g})"
            )


def median_rates(summary: dict) -> dict:
    """Each row's median rate (rows with no uncontended run left out)."""
    return {row: r["rate"][1] for row, r in summary["rates"].items() if r["rate"]}


def finish_protocol(name: str, protocol: str, unit: str, runs: list, args, seed: int) -> dict:
    """Summarise one protocol's runs against the compiled simulation, print the ratios, and
    write them (``finish``) with a figure of the median rates."""
    summary = protocol_summary(runs, PROTOCOL_REFERENCE)
    print_ratios(summary)
    rates = median_rates(summary)
    payload = {
        "protocol": protocol,
        "unit": unit,
        "repeats": args.repeats,
        "contention_cores": args.contention,
        "runs": runs,
        **summary,
    }
    return finish(
        name,
        payload,
        args.output,
        seed=seed,
        draw=lambda path: rates_figure(path, rates, f"{unit} / s"),
    )


def protocol_summary(runs: list[dict], reference: str) -> dict:
    """Each row's rate (units per second) as [min, median, max] over its uncontended runs,
    and ``reference``'s rate over every other row's as a same-repeat ratio, leaving out pairs
    in which either run was contended."""
    rows: dict[str, dict[int, tuple[float, bool]]] = {}
    failed = {}
    for run in runs:
        if "error" in run:
            failed.setdefault(run["way"], run["error"])
            continue
        for row, seconds in run["seconds"].items():
            rows.setdefault(row, {})[run["repeat"]] = (run["units"] / seconds, run["contended"])
    rates = {
        row: {
            "rate": spread(rate for rate, contended in by_repeat.values() if not contended),
            "contended": sum(contended for _, contended in by_repeat.values()),
            "runs": len(by_repeat),
        }
        for row, by_repeat in rows.items()
    }
    ratios = {}
    for row, by_repeat in rows.items():
        if row == reference or reference not in rows:
            continue
        ratios[row] = spread(
            rows[reference][repeat][0] / rate
            for repeat, (rate, contended) in by_repeat.items()
            if repeat in rows[reference] and not (contended or rows[reference][repeat][1])
        )
    return {"rates": rates, "reference": reference, "ratios": ratios, "failed": failed}
