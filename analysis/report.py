"""Reproduction targets and ``figures/REPORT.md``."""

from __future__ import annotations

import datetime
import math
import os
import tempfile
from pathlib import Path

#: Results that measure the machine rather than the model (wall and simulation times,
#: throughputs): left out when two runs are compared for determinism.
MACHINE_MEASUREMENTS = (
    "wall_time_s",
    "simulation_s",
    "samples_per_s",
    "patches_per_s",
    "examples_per_s",
)


def config_value(config, key: str):
    """A config field, from the experiment's dataclass or from a saved result's dict."""
    return config[key] if isinstance(config, dict) else getattr(config, key)


def target(
    key: str, description: str, measured, reference, passed: bool | None, machine: bool = False
) -> dict:
    """One row of REPORT.md; ``passed`` None means measured but without a pass criterion;
    ``machine`` marks a measurement of the machine (a throughput), not of the model."""
    row = {
        "key": key,
        "description": description,
        "measured": measured,
        "reference": reference,
        "passed": None if passed is None else bool(passed),
    }
    if machine:
        row["machine"] = True
    return row


def format_value(value) -> str:
    if isinstance(value, float):
        if value == 0 or math.isnan(value):
            return f"{value:g}"
        return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.2e}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


VERDICT = {True: "pass", False: "**FAIL**", None: "measured"}


def _cell(text) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|")


def sections_of(text: str) -> dict[str, str]:
    """The experiment sections of a REPORT.md, by name, each as its own text (heading
    included), so that a section can be carried into the next report unchanged."""
    sections, name, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith("## ") or line.startswith("_Generated"):
            if name is not None:
                sections[name] = "\n".join(lines).rstrip() + "\n"
            name, lines = (line[3:].strip(), [line]) if line.startswith("## ") else (None, [])
        elif name is not None:
            lines.append(line)
    if name is not None:
        sections[name] = "\n".join(lines).rstrip() + "\n"
    sections.pop(PENDING_HEADING, None)
    return sections


PENDING_HEADING = "Not yet measured"


def render(
    sections: list[tuple[str, dict | str]], pending: tuple = (), configuration: str = ""
) -> str:
    """REPORT.md text from ``[(experiment name, metrics or a kept section's text)]`` and
    ``(key, target)`` not measured; ``configuration`` names the configuration measured."""
    lines = [
        "# stdplab reproduction report",
        "",
        "Each row is a target from the project's science notes, the value measured by the saved",
        f"result of its experiment's {configuration or 'configuration'}, the reference value",
        "and the verdict. Regenerate with `make figures` (or `stdplab figures`).",
        "",
    ]
    for name, metrics in sections:
        if isinstance(metrics, str):  # kept from the earlier report: not run here
            lines += [metrics.rstrip(), ""]
            continue
        lines += section_lines(name, metrics)
    if pending:
        lines += [f"## {PENDING_HEADING}", "", "| target | status |", "|---|---|"]
        lines += [f"| {_cell(key + ': ' + text)} | no experiment yet |" for key, text in pending]
        lines.append("")
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    lines.append(f"_Generated {stamp}._")
    return "\n".join(lines) + "\n"


def section_lines(heading: str, metrics: dict, note: str = "") -> list[str]:
    """One REPORT.md section: heading, provenance line, ``note`` (if any), the target table."""
    record = metrics.get("provenance", {})
    lines = [
        f"## {heading}",
        "",
        f"device `{record.get('device')}`, seed {record.get('seed')}, scale "
        f"`{metrics.get('scale', '?')}`, Brian2 {record.get('brian2')}, commit "
        f"`{(record.get('git_commit') or 'unknown')[:10]}`"
        f"{' (dirty)' if record.get('git_dirty') else ''}, "
        f"wall time {metrics.get('wall_time_s', float('nan')):.1f} s",
        "",
    ]
    if note:
        lines += [note, ""]
    lines += ["| target | measured | reference | verdict |", "|---|---|---|---|"]
    for row in metrics.get("targets", []):
        cells = (
            _cell(f"{row['key']}: {row['description']}"),
            _cell(format_value(row["measured"])),
            _cell(format_value(row["reference"])),
            VERDICT[row["passed"]],
        )
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


#: Separates an experiment's name from the rest of a published run's heading.
PUBLISHED = " — "


def published_heading(experiment: str, what: str) -> str:
    """The REPORT.md heading of a published run of ``experiment`` (e.g. a paper-scale run):
    kept by every later report, after the experiment's own section."""
    return f"{experiment}{PUBLISHED}{what}"


def publish_section(report: Path, heading: str, metrics: dict, note: str) -> None:
    """Put a published run's section into ``report``: in place of one with the same heading,
    else after the last section of its experiment (or before the closing lines)."""
    text = report.read_text() if report.exists() else render([])
    section = "\n".join(section_lines(heading, metrics, note)).rstrip()
    sections = sections_of(text)

    def span(name):
        start = text.index(f"## {name}\n")
        return start, start + len(sections[name].rstrip())

    if heading in sections:
        start, end = span(heading)
        text = text[:start] + section + text[end:]
    else:
        experiment = heading.split(PUBLISHED, 1)[0]
        family = [
            name
            for name in sections
            if name == experiment or name.startswith(experiment + PUBLISHED)
        ]
        if family:
            at = span(family[-1])[1]
        else:
            closing = [text.find(mark) for mark in (f"## {PENDING_HEADING}", "_Generated")]
            at = min([k for k in closing if k >= 0], default=len(text)) - 2
        text = text[:at] + "\n\n" + section + text[at:]
    write_atomic(report, text)


def write_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
