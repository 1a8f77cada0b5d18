"""Determinism: the same config and seed give identical results on the same device, for each
experiment at tiny size (machine measurements such as wall times aside)."""

import math

import numpy as np
import pytest

from analysis.figures import load_result
from analysis.report import MACHINE_MEASUREMENTS
from experiments import EXPERIMENTS


def _model_results(metrics: dict, prefix: str = "") -> dict:
    """Every metric that describes the model, flattened; NaN as a string so that it compares."""
    out = {}
    for key, value in metrics.items():
        if key in MACHINE_MEASUREMENTS or key in ("provenance", "scale"):
            continue
        if key == "targets":
            value = [row for row in value if not row.get("machine")]
        if isinstance(value, dict):
            out.update(_model_results(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = "nan" if isinstance(value, float) and math.isnan(value) else value
    return out


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_the_same_config_and_seed_give_identical_results(name, tiny_results, run_tiny, tmp_path):
    again = run_tiny(name, tmp_path)
    assert again.name == tiny_results[name].name  # the same config gets the same label
    first_config, first, first_metrics = load_result(tiny_results[name])
    second_config, second, second_metrics = load_result(again)
    assert first_config == second_config
    assert first.keys() == second.keys()
    for key in first.keys() - set(MACHINE_MEASUREMENTS):
        equal_nan = first[key].dtype.kind in "fc"
        assert np.array_equal(first[key], second[key], equal_nan=equal_nan), key
    assert _model_results(first_metrics) == _model_results(second_metrics)
    assert first_metrics["provenance"]["seed"] == second_metrics["provenance"]["seed"]
