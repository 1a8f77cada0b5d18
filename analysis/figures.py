"""Load saved results and render every figure and ``REPORT.md`` from them alone."""

from __future__ import annotations

import importlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from analysis import ANALYSES, references
from analysis.report import PUBLISHED, render, sections_of, write_atomic

STYLE = Path(__file__).with_name("stdplab.mplstyle")


class UnreadableResult(ValueError):
    """A result folder whose files are missing, truncated or corrupt; the message names it."""


def load_result(directory: str | Path) -> tuple[dict, dict, dict]:
    """(config, arrays, metrics) of one result directory, every array read (so a corrupt
    archive fails here, not in a plot); ``UnreadableResult`` naming the file otherwise."""
    directory = Path(directory)
    current = directory / "config.json"
    try:
        config = json.loads(current.read_text())
        current = directory / "data.npz"
        with np.load(current, allow_pickle=False) as archive:
            data = {key: archive[key] for key in archive.files}
        current = directory / "metrics.json"
        metrics = json.loads(current.read_text())
        if not isinstance(config, dict) or not isinstance(metrics.get("provenance"), dict):
            raise ValueError("not the JSON object of a finished result")
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise UnreadableResult(f"{current} cannot be read ({reason})") from None
    return config, data, metrics


#: what a saved result records about its run rather than computes from its arrays
RUN_FACTS = ("wall_time_s", "scale", "provenance")


def recomputed_metrics(evaluate, config: dict, data: dict, saved: dict) -> dict:
    """Today's analysis of a saved result's arrays, with the facts of its run kept: so a
    corrected target, threshold or diagnostic in ``analysis/`` reaches the report without a
    rerun, and a report never shows the verdicts of an older analysis."""
    metrics = evaluate(config, data)
    metrics.update({key: saved[key] for key in RUN_FACTS if key in saved})
    return metrics


def is_whole(directory: str | Path) -> bool:
    """Whether ``directory`` holds a finished, readable result."""
    try:
        load_result(directory)
    except UnreadableResult:
        return False
    return True


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


def render_figures(
    experiment: str,
    config: dict,
    data: dict,
    metrics: dict,
    figures_dir: str | Path,
    formats: tuple[str, ...] = ("png", "pdf"),
) -> list[Path]:
    """Write one experiment's figures of a result into ``figures_dir`` (each atomically);
    ``metrics`` is what today's ``evaluate`` made of the result. Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    analysis = importlib.import_module(f"analysis.{experiment}")
    Path(figures_dir).mkdir(parents=True, exist_ok=True)
    written = []
    with plt.style.context(STYLE):
        for figure_name, plot in analysis.FIGURES.items():
            fig = plot(config, data, metrics)
            for extension in formats:
                path = Path(figures_dir) / f"{figure_name}.{extension}"
                save_atomic(fig, path)
                written.append(path)
            plt.close(fig)
    return written


def render_all(
    results: dict[str, Path | None],
    figures_dir: str | Path = "figures",
    formats: tuple[str, ...] = ("png", "pdf"),
    configuration: str = "",
    rendered: frozenset[str] = frozenset(),
) -> tuple[list[Path], dict[str, str]]:
    """Render the figures of each experiment's result in ``results`` and rewrite REPORT.md.

    An experiment whose result is None or cannot be read keeps its figures and its section
    of the existing REPORT.md as they were (a report never loses an experiment because it
    was not run here). ``configuration`` says in REPORT.md which configuration the results
    are of. The experiments in ``rendered`` were evaluated and rendered into ``figures_dir``
    by the run that saved their result, with this code (``stdplab figures``): their saved
    metrics are today's. Returns (files written, {experiment: why it was kept}).
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    report = figures_dir / "REPORT.md"
    earlier = sections_of(report.read_text()) if report.exists() else {}
    written, sections, kept = [], [], {}
    for experiment in ANALYSES:
        if experiment not in results and experiment not in earlier:
            continue
        directory = results.get(experiment)
        try:
            if directory is None:
                raise UnreadableResult("no saved result")
            config, data, saved = load_result(directory)
        except UnreadableResult as err:
            kept[experiment] = str(err)
            if experiment in earlier:
                sections.append((experiment, earlier[experiment]))
        else:
            analysis = importlib.import_module(f"analysis.{experiment}")
            if experiment in rendered:
                metrics = saved
                written += [
                    figures_dir / f"{name}.{extension}"
                    for name in analysis.FIGURES
                    for extension in formats
                ]
            else:
                metrics = recomputed_metrics(analysis.evaluate, config, data, saved)
                written += render_figures(experiment, config, data, metrics, figures_dir, formats)
            sections.append((experiment, metrics))
        # runs published beside the reference one (stdplab report --publish) stay
        published = experiment + PUBLISHED
        sections += [(name, text) for name, text in earlier.items() if name.startswith(published)]
    write_atomic(report, render(sections, references.PENDING_TARGETS, configuration))
    written.append(report)
    return written, kept
