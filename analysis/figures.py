"""Load saved results and render every figure and ``REPORT.md`` from them alone."""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from analysis import ANALYSES, references
from analysis.report import render, write_atomic

STYLE = Path(__file__).with_name("stdplab.mplstyle")


def load_result(directory: str | Path) -> tuple[dict, dict, dict]:
    """(config, arrays, metrics) of one result directory."""
    directory = Path(directory)
    config = json.loads((directory / "config.json").read_text())
    with np.load(directory / "data.npz", allow_pickle=False) as archive:
        data = {key: archive[key] for key in archive.files}
    metrics = json.loads((directory / "metrics.json").read_text())
    return config, data, metrics


def latest_result(results_root: str | Path, experiment: str) -> Path | None:
    """The most recently finished result of ``experiment`` (hidden staging dirs ignored)."""
    parent = Path(results_root) / experiment
    finished = (
        [d for d in parent.glob("[!.]*") if (d / "metrics.json").exists()]
        if parent.exists()
        else []
    )
    if not finished:
        return None

    def finished_at(directory):
        return json.loads((directory / "metrics.json").read_text())["provenance"]["finished_at"]

    return max(finished, key=lambda d: (finished_at(d), d.stat().st_mtime))


def save_atomic(fig, path: Path) -> None:
    """Write a figure atomically (rename into place), so no reader sees half a file."""
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    try:
        fig.savefig(staging)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def render_all(
    results_root: str | Path = "results",
    figures_dir: str | Path = "figures",
    results: dict[str, Path] | None = None,
    formats: tuple[str, ...] = ("png", "pdf"),
) -> list[Path]:
    """Render the figures of each experiment's result (default: its latest) and REPORT.md."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    results = dict(results or {})
    written, sections = [], []
    with plt.style.context(STYLE):
        for experiment in ANALYSES:
            directory = results.get(experiment) or latest_result(results_root, experiment)
            if directory is None:
                continue
            config, data, metrics = load_result(directory)
            analysis = importlib.import_module(f"analysis.{experiment}")
            sections.append((experiment, metrics))
            for figure_name, plot in analysis.FIGURES.items():
                fig = plot(config, data)
                for extension in formats:
                    path = figures_dir / f"{figure_name}.{extension}"
                    save_atomic(fig, path)
                    written.append(path)
                plt.close(fig)
    report = figures_dir / "REPORT.md"
    write_atomic(report, render(sections, references.PENDING_TARGETS))
    written.append(report)
    return written
