"""A sweep's tidy table and the figure of one metric over its grid (from saved results only)."""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict

from analysis.report import MACHINE_MEASUREMENTS

#: Columns every row has, before the axes and the metrics.
ROW_COLUMNS = ("run", "label", "status", "build", "seed")


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, out)
    elif isinstance(value, bool) or isinstance(value, int | float | str):
        out[prefix] = value


def flatten_metrics(metrics: dict) -> dict:
    """One column per scalar of ``metrics``: first each target's measured value under its key
    (``N2``; ``N2[1]`` for the second of several numbers) and its verdict under
    ``<key>.passed`` (``machine.<key>`` for a throughput of the machine), then the other
    metrics with nested keys joined by '.'. Provenance stays out."""
    out = {}
    targets = metrics.get("targets", [])
    counts = defaultdict(int)
    for row in targets:
        counts[row["key"]] += 1
    for row in targets:
        # a key shared by several rows (one per model) is told apart by its description
        name = row["key"] if counts[row["key"]] == 1 else f"{row['key']} {row['description']}"
        if row.get("machine"):
            name = f"machine.{name}"  # a throughput of this machine, not of the model
        measured = row["measured"]
        if isinstance(measured, list):
            for k, item in enumerate(measured):
                _flatten(f"{name}[{k}]", item, out)
        else:
            _flatten(name, measured, out)
        if row["passed"] is not None:
            out[f"{name}.passed"] = row["passed"]
    for key, value in metrics.items():
        if key not in ("provenance", "targets"):
            _flatten(key, value, out)
    return out


def metric_columns(flattened: list[dict]) -> list[str]:
    """Every column of ``flattened`` rows, in first-seen order (targets first, as
    ``flatten_metrics`` puts them)."""
    columns = {}
    for row in flattened:
        columns.update(dict.fromkeys(row))
    return list(columns)


def default_metric(columns: list[str], rows: list[dict]) -> str | None:
    """The first numeric metric of the model that varies over the grid (what the sweep
    changed), else the first numeric one; verdicts and machine measurements (wall times,
    throughputs) are not candidates."""
    numeric = [
        c
        for c in columns
        if not c.endswith(".passed")
        and not c.startswith("machine.")
        and c.rpartition(".")[2] not in MACHINE_MEASUREMENTS
        and any(not math.isnan(_number(r.get(c))) for r in rows)
    ]
    for column in numeric:
        values = {_number(r.get(column)) for r in rows} - {math.nan}
        if len({v for v in values if not math.isnan(v)}) > 1:
            return column
    return numeric[0] if numeric else None


def table_csv(rows: list[dict], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


_LEADING_NUMBER = re.compile(r"^\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)")


def _positions(values: list[str]) -> tuple[list[float], bool]:
    """Numeric x positions where every value starts with a distinct number ('10*ms'), else
    categorical ones."""
    numbers = [_LEADING_NUMBER.match(v) for v in values]
    if all(numbers) and len({float(m.group(1)) for m in numbers}) == len(values):
        return [float(m.group(1)) for m in numbers], True
    return [float(k) for k in range(len(values))], False


def _number(value) -> float:
    """``value`` as a float; NaN for text, missing values and verdicts."""
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def plot_metric(rows: list[dict], axes: list[tuple[str, list[str]]], metric: str, title: str):
    """``metric`` against the first axis, one line per combination of the other axes: the
    mean over seeds with its standard deviation, and each seed as a dot. Failed runs and
    non-numeric values are left out (the title counts them)."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    if axes:
        x_name, x_values = axes[0]
    else:
        x_name, x_values = "seed", sorted({str(row["seed"]) for row in rows}, key=int)
    positions, numeric = _positions(x_values)
    others = axes[1:]
    lines = defaultdict(lambda: defaultdict(list))
    missing = 0
    for row in rows:
        value = _number(row.get(metric)) if row["status"] != "failed" else math.nan
        if math.isnan(value):
            missing += 1
            continue
        x = positions[x_values.index(str(row[x_name]))]
        lines[tuple(str(row[name]) for name, _ in others)][x].append(value)
    for k, (group, by_x) in enumerate(sorted(lines.items())):
        colour = f"C{k % 10}"
        xs = sorted(by_x)
        means = [np.mean(by_x[x]) for x in xs]
        spreads = [np.std(by_x[x]) if len(by_x[x]) > 1 else 0.0 for x in xs]
        label = ", ".join(f"{name}={v}" for (name, _), v in zip(others, group, strict=True))
        ax.errorbar(
            xs, means, yerr=spreads, color=colour, marker="o", capsize=3, label=label or None
        )
        for x in xs:
            ax.scatter([x] * len(by_x[x]), by_x[x], color=colour, s=9, alpha=0.45, zorder=3)
    ax.set_xticks(positions, x_values)
    if numeric and min(positions) > 0 and max(positions) / min(positions) >= 20:
        ax.set_xscale("log")
        ax.set_xticks(positions, x_values)
        ax.minorticks_off()
    ax.set_xlabel(x_name)
    ax.set_ylabel(metric)
    seeds = len({row["seed"] for row in rows})
    note = f"; {missing} of {len(rows)} runs without a value" if missing else ""
    ax.set_title(f"{title}\nmean ± s.d. over {seeds} seed{'s' * (seeds != 1)}{note}", fontsize=8)
    if others:
        ax.legend(fontsize=7)
    return fig
