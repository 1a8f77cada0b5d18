"""The e-prop spike-timing experiment: compiled training against independent computations."""

import dataclasses
import json
from math import exp
from pathlib import Path

import numpy as np
import pytest

from analysis.eprop import bptt_gradient, train_reference
from analysis.figures import load_result
from analysis.timing_learning import parse_convention, target_steps, task, variant_label
from experiments import timing_learning
from experiments.runner import harness
from models.base import ModelError
from models.eprop import eprop_training
from tests import ROOT

REFERENCE = Path(__file__).with_name("reference") / "timing_learning_tiny.json"
REGENERATE = REFERENCE.with_name("regenerate.py").relative_to(ROOT)


def _model_options(config, model, convention=""):
    if model == "izhikevich":
        return dict(
            d=config.izhikevich_d,
            dt_step=config.izhikevich_dt_ms,
            trace_growth=config.izhikevich_trace_growth,
        )
    return dict(
        alpha=exp(-config.dt_ms / config.tau_m_ms),
        v_th=config.v_th,
        gamma=config.gamma,
        n_ref=config.n_ref,
        **parse_convention(model, convention),
    )


def _pre_spikes(config, model, seed):
    pre, w0 = task(config, seed)
    if model != "izhikevich":
        return pre, w0
    upsampled = np.zeros((round(config.trial_ms / config.izhikevich_dt_ms), pre.shape[1]))
    upsampled[:: round(config.dt_ms / config.izhikevich_dt_ms)] = pre
    return upsampled, w0 * config.izhikevich_weight_scale


def test_one_compiled_gradient_step_equals_the_bptt_gradient(tmp_path):
    """Plain gradient descent for one trial: w1 - w0 = -lr g, g from a reverse-mode (BPTT)
    computation that never sees an eligibility trace."""
    config = dataclasses.replace(
        timing_learning.SCALES["tiny"],
        optimizer="gd",
        iterations=1,
        runs_per_setting=1,
        learning_rates=(0.01,),
        w0_std=0.3,
        reference_iterations=1,
    )
    directory = harness.run(timing_learning, config, "runtime", tmp_path, tmp_path / "build")
    _, data, _ = load_result(directory)
    fired = 0
    for model, signal, convention in config.variants:
        label = variant_label(model, signal, convention)
        pre, w0 = _pre_spikes(config, model, config.seed)
        scale = config.izhikevich_weight_scale if model == "izhikevich" else 1.0
        step = config.izhikevich_dt_ms if model == "izhikevich" else config.dt_ms
        gradient = bptt_gradient(
            model,
            pre,
            target_steps(dataclasses.asdict(config), model),
            w0,
            kappa=exp(-step / config.readout_tau_ms),
            **_model_options(config, model, convention),
        )
        if signal == "plain":
            change = data[f"{label}_final_weights"][0] - w0 / scale
            np.testing.assert_allclose(change, -0.01 * gradient, rtol=1e-9, atol=1e-13)
        fired += int(data[f"{label}_spike_count"][0, 0])
    assert fired > 0  # the step includes spikes, so the reset and refractory paths count


def test_shrunk_training_reaches_the_stored_reference_loss_curve(tiny_results):
    """The tiny training on the numpy runtime against the loss curves stored from a
    cpp_standalone run (provenance beside them; regenerate with reference/regenerate.py)."""
    config, data, _ = load_result(tiny_results["timing_learning"])
    stored = json.loads(REFERENCE.read_text())
    assert stored["config"] == {key: config[key] for key in stored["config"]}, (
        f"the tiny config changed: regenerate the reference with {REGENERATE}"
    )
    for label, curve in stored["loss"].items():
        np.testing.assert_allclose(data[f"{label}_loss"], curve, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(data[f"{label}_spike_count"], stored["spike_count"][label])


def test_the_tiny_experiment_matches_the_numpy_training_reference(tiny_results):
    _, _, metrics = load_result(tiny_results["timing_learning"])
    by_key = {row["key"]: row for row in metrics["targets"]}
    assert by_key["P9a"]["passed"], by_key["P9a"]


def test_rate_regulariser_and_gradient_descent_match_the_numpy_reference(tmp_path):
    """The regulariser and the plain-GD optimizer, which the default runs leave out."""
    config = dataclasses.replace(
        timing_learning.SCALES["tiny"],
        optimizer="gd",
        c_reg=0.05,
        f_target_hz=12.0,
        w0_std=0.3,
        iterations=4,
        runs_per_setting=1,
        reference_iterations=4,
        variants=(("lif", "plain", ""), ("stdp_lif", "rectified", "surrogate:1/3")),
    )
    _, data, metrics = load_result(
        harness.run(timing_learning, config, "runtime", tmp_path, tmp_path / "build")
    )
    assert data["lif_spike_count"].sum() > 0  # the regulariser's rate term is not zero
    assert metrics["targets"][0]["key"] == "P9a" and metrics["targets"][0]["passed"]


def test_the_rectified_signal_escapes_the_maximal_firing_state():
    """STDP-LIF started at maximal firing (one spike per refractory period): with the plain
    signal, negative refractory eligibility raises the weights and the state absorbs; the
    rectified signal lets the rate fall."""
    config = timing_learning.SCALES["quick"]
    pre, w0 = task(config, 0)
    counts = {}
    for signal in ("plain", "rectified"):
        result = train_reference(
            "stdp_lif",
            pre,
            [40, 90, 150],
            w0 + 0.5,
            iterations=100,
            lr=1e-2,
            learning_signal=signal,
            kappa=exp(-0.1),
            trial_s=0.2,
            alpha=exp(-1 / 20),
            n_ref=5,
        )
        counts[signal] = result["spike_count"]
    maximal = 200 // 5
    assert counts["plain"][0] >= 0.9 * maximal
    assert counts["plain"][-1] >= counts["plain"][0]
    assert counts["rectified"][-1] < 0.25 * maximal


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(dt_ms=0.7), "inconsistent time step"),
        (dict(izhikevich_dt_ms=0.3), "inconsistent time step"),
        (dict(targets_ms=(40.0, 250.0)), "outside the trial"),
        (dict(targets_ms=(-1.0,)), "outside the trial"),
        (dict(targets_ms=(40.5,)), "not multiples of dt_ms"),
        (dict(variants=(("lif", "clipped", ""),)), "unknown learning signal"),
        (dict(variants=(("adex", "plain", ""),)), "unknown e-prop model"),
        (dict(optimizer="sgd"), "unknown optimizer"),
        (dict(refractory_boundary="loose"), "unknown refractory boundary"),
        (dict(variants=(("stdp_lif", "plain", "zero:1"),)), "unknown spike_step_h"),
        (dict(variants=(("stdp_lif", "plain", "negative:2/3"),)), "LTD 1 or 1/N"),
        (dict(variants=(("lif", "plain", "negative:1"),)), "takes no convention"),
    ],
)
def test_bad_configs_are_refused_before_anything_is_built(change, message, tmp_path):
    config = dataclasses.replace(timing_learning.SCALES["tiny"], **change)
    with pytest.raises(ModelError, match=message):
        harness.run(timing_learning, config, "cpp_standalone", tmp_path, tmp_path / "build")
    assert not (tmp_path / "build").exists()


def test_training_rule_names_are_checked():
    with pytest.raises(ModelError, match="unknown optimizer"):
        eprop_training("rmsprop")
    with pytest.raises(ModelError, match="unknown learning signal"):
        eprop_training("adam", "clipped")
    with pytest.raises(ModelError, match="must be in units of"):
        eprop_training(trial_duration=200.0)


@pytest.mark.standalone
def test_the_benchmark_runs_at_tiny_size(tmp_path):
    """benchmarks/ must not rot: both arms run and the ratio is written."""
    import importlib.util

    path = ROOT / "benchmarks" / "timing_learning.py"
    spec = importlib.util.spec_from_file_location("timing_learning_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    arguments = ["--iterations", "5", "--runtime-iterations", "2", "--loop-iterations", "1"]
    arguments += ["--repeats", "1", "--contention", "99"]  # the suite runs beside it
    result = benchmark.main([*arguments, "--output", str(tmp_path)])
    stored = json.loads((tmp_path / "timing_learning.json").read_text())
    assert stored["ratios"] == result["ratios"] and not stored["failed"]
    ways = ("compiled, with build", "runtime (cython), one run()", "runtime (cython), run() per")
    assert all(any(row.startswith(way) for row in stored["ratios"]) for way in ways)
    assert all(rate[1] > 0 for rate in (r["rate"] for r in stored["rates"].values()))
