"""Input encoders: spike sources for rate-coded input.

``bernoulli_inputs`` gives the spike trains of Brian2's ``PoissonGroup`` (in each step input i
spikes with probability p_i(t), independently of every other step and input) for a fraction of
its cost. ``PoissonGroup`` draws a random number for every input in every step, which is most
of a simulation whose inputs outnumber its neurons (90 % of song_stdp, profiled). Here each
input keeps the unit-exponential draw ``budget`` that its next spike needs, and every step
spends the step's hazard h = -ln(1 - p) of it; the input spikes in the step that overdraws the
budget and draws a new one. For a budget B ~ Exp(1), P(no spike in k steps) = P(B > h_1 + ... +
h_k) = (1 - p_1)···(1 - p_k): the same process, with one random number per spike.
"""

from __future__ import annotations

import numpy as np

from models.base import ModelError

#: 1 - rand() is kept off 0 (rand() lies in [0, 1) in C++ but in (0, 1] on CUDA), so every
#: budget is finite, at most -ln(SMALLEST_DRAW) = 36.8, and any hazard above that spends it:
#: the hazard of p = 1 is CERTAIN_HAZARD, a spike in every step.
SMALLEST_DRAW = 1e-16
NEW_BUDGET = f"budget = -log(clip(1 - rand(), {SMALLEST_DRAW!r}, 1))"
CERTAIN_HAZARD = 1 - np.log(SMALLEST_DRAW)


def bernoulli_hazards(probabilities: np.ndarray) -> np.ndarray:
    """The per-step hazards -ln(1 - p) of spike probabilities ``p`` (0 <= p <= 1)."""
    p = np.asarray(probabilities, dtype=float)
    outside = p[~((p >= 0) & (p <= 1))]  # NaN included
    if outside.size:
        raise ModelError(
            f"spike probabilities per step must lie in [0, 1]; {outside.size} do not (first: "
            f"{outside[0]:.4g}): lower the rates or the time step (p = rate x dt)"
        )
    with np.errstate(divide="ignore"):  # p = 1
        return np.minimum(-np.log1p(-p), CERTAIN_HAZARD)


def bernoulli_inputs(probabilities, name: str, period=None, model: str = "", reset: str = ""):
    """A ``NeuronGroup`` whose input i spikes in each step with probability p_i (see the
    module docstring), where ``probabilities`` is an array (inputs,) of constant p_i, or
    (rows, inputs), row r applying from r x ``period`` on (a ``TimedArray``, whose last row
    holds after the table ends). ``model`` and ``reset`` add variables and spike statements.
    New probabilities go in through run_args as ``bernoulli_hazards(new_probabilities)``, set on
    the group's ``hazards`` (the ``TimedArray``) or its variable ``hazard`` (constant p_i)."""
    from brian2 import NeuronGroup, TimedArray

    hazards = bernoulli_hazards(probabilities)
    if hazards.ndim == 2:
        if period is None:
            raise ModelError("a table of probabilities (rows, inputs) needs its row period")
        table = TimedArray(hazards, dt=period, name=f"{name}_hazards")
        spend, namespace, variables = "budget -= hazards(t, i)", {"hazards": table}, ""
    elif hazards.ndim == 1:
        spend, namespace, variables = "budget -= hazard", {}, "hazard : 1 (constant)"
    else:
        raise ModelError(f"probabilities must be (inputs,) or (rows, inputs), not {hazards.shape}")
    group = NeuronGroup(
        hazards.shape[-1],
        f"budget : 1  # of the next spike, see experiments.networks.inputs\n{variables}\n{model}",
        threshold="budget < 0",
        reset=f"{NEW_BUDGET}\n{reset}",
        namespace=namespace,
        name=name,
    )
    group.run_regularly(spend, when="before_thresholds", name=f"{name}_spend")
    group.budget = NEW_BUDGET.partition("=")[2]
    if hazards.ndim == 1:
        group.hazard = hazards
    else:
        group.add_attribute("hazards")
        group.hazards = table
    return group
