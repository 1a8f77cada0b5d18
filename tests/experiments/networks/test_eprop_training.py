"""e-prop training reference: the e-prop gradient against an adjoint (BPTT) pass, the optimizer
steps in closed form, and the rectified learning signal against a direct recomputation."""

import numpy as np
import pytest

from analysis.eprop import bptt_gradient, run_map, train_reference

KAPPA = np.exp(-1 / 10)
TARGETS = [40, 90, 150]
TRIAL = {"kappa": KAPPA, "trial_s": 0.2}
VARIANTS = [
    ("lif", {}),
    ("alif", {}),
    ("alif", {"beta": 0.5, "rho": 0.98}),
    ("stdp_lif", {}),
    ("stdp_lif", {"refractory_boundary": "strict"}),
    ("stdp_lif", {"spike_step_h": "surrogate"}),
    ("stdp_lif", {"refractory_boundary": "strict", "spike_step_h": "surrogate"}),
    ("stdp_lif", {"ltd_scale": 0.1}),
    ("stdp_lif", {"spike_step_h": "surrogate", "ltd_scale": 1 / 3}),
    ("izhikevich", {"dt_step": 0.5, "d": 2.0}),
]


def _frozen_input(seed=0, steps=200, n_pre=20, model="lif"):
    """Poisson input at 0.02 per step and weights N(0.2, 0.3^2) (times 40 mV for Izhikevich):
    strong enough that the output fires a few times, so gradients are not trivially zero."""
    rng = np.random.default_rng(seed)
    pre = (rng.random((steps, n_pre)) < 0.02).astype(float)
    weights = rng.normal(0.2, 0.3, n_pre) * (40.0 if model == "izhikevich" else 1.0)
    return pre, weights


def _filtered(x):
    out, total = np.zeros(np.shape(x)), np.zeros(np.shape(x)[1:])
    for t in range(len(x)):
        total = KAPPA * total + x[t]
        out[t] = total
    return out


@pytest.mark.parametrize("model, options", VARIANTS)
def test_eprop_gradient_equals_bptt(model, options):
    pre, weights = _frozen_input(model=model)
    trial = train_reference(model, pre, TARGETS, weights, iterations=1, lr=0.0, **TRIAL, **options)
    assert trial["spike_count"][0] >= 2
    eprop = trial["gradient"][0]
    bptt = bptt_gradient(model, pre, TARGETS, weights, kappa=KAPPA, **options)
    assert np.abs(eprop).max() > 0
    np.testing.assert_allclose(bptt, eprop, rtol=1e-10, atol=1e-10 * np.abs(eprop).max())


def test_gradient_descent_step_is_exact():
    pre, weights = _frozen_input()
    run = train_reference(
        "lif", pre, TARGETS, weights, iterations=1, lr=0.01, optimizer="gd", **TRIAL
    )
    np.testing.assert_array_equal(run["weights"][0], weights)
    np.testing.assert_array_equal(run["weights"][1], weights - 0.01 * run["gradient"][0])


def test_adam_steps_follow_the_closed_form():
    pre, weights = _frozen_input()
    pre[:, -1] = 0  # a silent input: zero gradient, so Adam must leave its weight alone
    lr, epsilon = 3e-3, 1e-8
    run = train_reference("stdp_lif", pre, TARGETS, weights, iterations=2, lr=lr, **TRIAL)
    g = run["gradient"]
    assert g[0][-1] == 0 and np.all(g[0][:-1] != 0)
    # First step: bias correction makes m_hat = g and v_hat = g^2, so |dw| = lr up to epsilon.
    first = weights - run["weights"][1]
    np.testing.assert_allclose(first, lr * g[0] / (np.abs(g[0]) + epsilon), rtol=1e-12)
    moving = np.abs(g[0]) > 1e-3
    np.testing.assert_allclose(first[moving], lr * np.sign(g[0][moving]), rtol=1e-5)
    assert first[-1] == 0
    # Second step: k = 2 bias corrections, on the gradient of a fresh trial at weights[1].
    again = train_reference(
        "stdp_lif", pre, TARGETS, run["weights"][1], iterations=1, lr=lr, **TRIAL
    )
    np.testing.assert_array_equal(g[1], again["gradient"][0])
    m = 0.9 * 0.1 * g[0] + 0.1 * g[1]
    v = 0.999 * 0.001 * g[0] ** 2 + 0.001 * g[1] ** 2
    second = lr * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + epsilon)
    np.testing.assert_allclose(run["weights"][1] - run["weights"][2], second, rtol=1e-12)


@pytest.mark.parametrize("learning_signal", ["plain", "rectified"])
def test_gradient_and_loss_match_a_direct_recomputation(learning_signal):
    pre, weights = _frozen_input(seed=3)
    c_reg, f_target = 0.05, 10.0
    run = train_reference(
        "stdp_lif",
        pre,
        TARGETS,
        weights,
        iterations=1,
        lr=0.0,
        learning_signal=learning_signal,
        c_reg=c_reg,
        f_target_hz=f_target,
        **TRIAL,
    )
    trace = run_map("stdp_lif", np.zeros(len(pre)), pre, weights)
    target = np.zeros(len(pre))
    target[TARGETS] = 1
    signal = _filtered(trace["z"]) - _filtered(target)
    ebar = _filtered(trace["e"])
    dropped = (signal[:, None] > 0) & (ebar < 0)
    assert np.any(dropped & (ebar != 0))  # the over-firing trial has terms to drop
    keep = ~dropped if learning_signal == "rectified" else np.ones_like(dropped)
    rate = trace["z"].sum() / 0.2
    expected = (signal[:, None] * ebar * keep).sum(axis=0)
    expected += c_reg * (rate - f_target) * np.clip(trace["e"], 0, None).sum(axis=0)
    np.testing.assert_allclose(run["gradient"][0], expected, rtol=1e-12, atol=1e-12)
    assert run["loss"][0] == pytest.approx(0.5 * np.sum(signal**2), rel=1e-12)
    np.testing.assert_array_equal(run["spikes"][0], trace["z"])
    assert run["spike_count"][0] == trace["z"].sum()


@pytest.mark.parametrize(
    "change, named",
    [
        ({"model": "adex"}, "izhikevich"),
        ({"optimizer": "sgd"}, "adam"),
        ({"learning_signal": "clipped"}, "rectified"),
    ],
)
def test_unknown_names_raise(change, named):
    pre, weights = _frozen_input()
    arguments = {"model": "lif", **change}
    with pytest.raises(ValueError, match=named):
        train_reference(
            arguments.pop("model"),
            pre,
            TARGETS,
            weights,
            iterations=1,
            lr=0.0,
            **arguments,
            **TRIAL,
        )
    if "model" in change:
        with pytest.raises(ValueError, match=named):
            bptt_gradient(change["model"], pre, TARGETS, weights, kappa=KAPPA)


@pytest.mark.parametrize("model", ["lif", "stdp_lif"])
def test_the_rate_regulariser_alone_lowers_the_rate_of_a_runaway_neuron(model):
    """Weights far too large: the neuron fires at its maximal rate. Gradient steps on the
    regulariser alone, c_reg (f - f_target) sum_t max(e, 0), bring the rate down for both
    models; on sum_t e itself STDP-LIF's would rise (its refractory windows make sum e < 0)."""
    from analysis.eprop import rate_regulariser

    rng = np.random.default_rng(3)
    pre = (rng.random((200, 50)) < 0.02).astype(float)
    weights = np.full(50, 1.0)
    options = dict(alpha=np.exp(-1 / 20), v_th=1.0, gamma=0.3, n_ref=5)
    counts = []
    for _ in range(40):
        run = run_map(model, np.zeros(200), pre, weights, **options)
        counts.append(run["z"].sum())
        step = rate_regulariser(run["e"], counts[-1], 0.2, c_reg=10.0, f_target_hz=15.0)
        if counts[-1] / 0.2 > 15.0:
            assert np.all(step >= 0)  # above the target rate no weight is raised
        weights = weights - 0.01 * step
    assert counts[0] >= 30 and counts[-1] < counts[0] / 2
    if model == "stdp_lif":
        start = run_map(model, np.zeros(200), pre, np.full(50, 1.0), **options)
        assert np.all(start["e"].sum(axis=0) < 0)  # the old form would raise every weight
