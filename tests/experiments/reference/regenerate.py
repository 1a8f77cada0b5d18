"""Regenerate ``timing_learning_tiny.json``: the tiny e-prop training's loss curves from a
cpp_standalone run, with the config and provenance they came from.

    python tests/experiments/reference/regenerate.py

Run it only when the training is meant to change (and say why in the commit): the test that
reads the file exists to catch unintended changes.
"""

import json
import tempfile
from pathlib import Path

from analysis.figures import load_result
from analysis.report import write_atomic
from analysis.timing_learning import variant_label
from experiments import timing_learning
from experiments.runner import harness


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = harness.run(
            timing_learning,
            timing_learning.SCALES["tiny"],
            "cpp_standalone",
            Path(scratch),
            Path(scratch) / "build",
            scale="tiny",
        )
        config, data, metrics = load_result(directory)
    labels = [variant_label(*variant) for variant in config["variants"]]
    reference = {
        "config": {
            key: value for key, value in config.items() if key not in ("device", "experiment")
        },
        "loss": {label: data[f"{label}_loss"].tolist() for label in labels},
        "spike_count": {
            label: data[f"{label}_spike_count"].astype(int).tolist() for label in labels
        },
        "provenance": metrics["provenance"],
    }
    path = Path(__file__).with_name("timing_learning_tiny.json")
    write_atomic(path, json.dumps(reference, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
