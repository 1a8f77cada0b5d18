"""e-prop eligibility traces as explicit discrete-time maps (Bellec et al. 2020; Traub et al.
2020), one Brian2 time step per map step.

Continuous equations would make Brian2 test the threshold on an already-decayed value and give
input and reset an extra factor alpha (see the project's timing notes), so each model is written
as the map itself, run in a fixed order within a step:

1. ``spike_code`` (before thresholds): from v^t and the step counter, the spike z^t, the
   pseudo-derivative psi^t and ``wipe`` (what multiplies the eligibility vector to zero).
2. The threshold ``z > 0.5`` emits the spike; presynaptic spikes add to ``I_in`` and set
   ``pre_spiked`` on their synapses.
3. ``eligibility_code`` (synapses): e^t = psi^t eps^t, then eps^{t+1}.
4. ``state_code``: v^{t+1} from v^t, z^t and the step's input, then the counter.

Variables are dimensionless (v in units of the threshold scale, time in steps). Every open
convention of the timing notes is a named option recorded in the record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from models.base import ModelError, Record, _freeze

REFRACTORY_BOUNDARIES = ("exclusive", "strict")  # refractory while t - t_spike < n_ref / <= n_ref
SPIKE_STEP_H = ("negative", "surrogate")  # STDP-LIF h at the spike step: -gamma, or the surrogate

#: Synapse model shared by the eligibility maps: eps is the eligibility vector, e the trace.
SYNAPSE_EQUATIONS = """
    w : 1  # weight
    eps : 1  # eligibility vector
    trace : 1  # eligibility trace e of the current step
    trace_sum : 1  # running sum of e (the gradient for a learning signal L = 1)
    pre_spiked : 1  # presynaptic spike in the current step
"""
ON_PRE = "I_in_post += w\npre_spiked = 1"
ELIGIBILITY_CODE = """
trace = psi_post*eps
trace_sum += trace
eps = alpha_post*(1 - wipe_post)*eps + pre_spiked
pre_spiked = 0
"""

_STATE = """
    v : 1  # membrane potential (threshold scale)
    z : 1  # spike in the current step
    psi : 1  # pseudo-derivative dz/dv of the current step
    wipe : 1  # 1 where the eligibility vector is reset after this step
    in_refractory : 1  # 1 while refractory
    steps_since_spike : integer  # t - t_spike; large before the first spike
    I_in : 1  # input of the current step from presynaptic spikes
    I_ext : 1  # external input of the current step (set by the experiment)
"""
_SURROGATE = "(gamma/v_th)*clip(1 - abs(v - v_th)/v_th, 0, 1)"


@dataclasses.dataclass(frozen=True)
class EpropNeuronModel(Record):
    """A neuron as a discrete map with its e-prop pseudo-derivative."""

    spike_code: str = ""
    state_code: str = ""
    synapse_equations: str = SYNAPSE_EQUATIONS
    eligibility_code: str = ELIGIBILITY_CODE
    initial_values: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: {"steps_since_spike": "1000000000"}  # no spike yet
    )
    options: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "options", _freeze(self.options))


def _refractory(boundary: str) -> str:
    if boundary not in REFRACTORY_BOUNDARIES:
        raise ModelError(
            f"unknown refractory boundary {boundary!r}; choose one of "
            f"{', '.join(REFRACTORY_BOUNDARIES)}"
        )
    comparison = "<" if boundary == "exclusive" else "<="
    return f"in_refractory = int(steps_since_spike {comparison} n_ref)"


_PARAMS = {"alpha": 0.9, "v_th": 1.0, "gamma": 0.3, "n_ref": 5}
_COUNTER = "steps_since_spike = steps_since_spike*(1 - int(z)) + 1"


def lif_eprop(refractory_boundary: str = "exclusive", **params) -> EpropNeuronModel:
    """Bellec et al. (2020) LIF: subtractive reset, psi = 0 while refractory, eps = filtered
    presynaptic train (never wiped)."""
    model = EpropNeuronModel(
        name="lif_eprop",
        citation="Bellec et al. (2020) Nat. Commun. 11:3625, doi:10.1038/s41467-020-17236-y",
        equations=_STATE,
        params=_PARAMS,
        spike_code="\n".join(
            [
                _refractory(refractory_boundary),
                "z = int(v > v_th)*(1 - in_refractory)",
                f"psi = {_SURROGATE}*(1 - in_refractory)",
                "wipe = 0",
            ]
        ),
        state_code=f"v = alpha*v + I_in + I_ext - z*v_th\nI_in = 0\n{_COUNTER}",
        options={"refractory_boundary": refractory_boundary},
    )
    return model.with_params(**params) if params else model


def stdp_lif_eprop(
    refractory_boundary: str = "exclusive", spike_step_h: str = "negative", **params
) -> EpropNeuronModel:
    """Traub et al. (2020) STDP-aware LIF: integrates while refractory but cannot fire; v and
    eps are reset at the spike and at refractory end (r); h = -gamma/v_th while refractory."""
    if spike_step_h not in SPIKE_STEP_H:
        raise ModelError(
            f"unknown spike_step_h {spike_step_h!r}; choose one of {', '.join(SPIKE_STEP_H)}"
        )
    negative_when = (
        "clip(in_refractory + z, 0, 1)" if spike_step_h == "negative" else "in_refractory"
    )
    model = EpropNeuronModel(
        name="stdp_lif_eprop",
        citation=("Traub, Butz, Baayen, Otte (2020) ICANN 2020, doi:10.1007/978-3-030-61616-8_53"),
        equations=_STATE + "    r : 1  # refractory period ends at this step\n",
        params=_PARAMS,
        spike_code="\n".join(
            [
                _refractory(refractory_boundary),
                "z = int(v > v_th)*(1 - in_refractory)",
                "r = int(steps_since_spike == n_ref)",
                f"psi = -(gamma/v_th)*{negative_when} + {_SURROGATE}*(1 - {negative_when})",
                "wipe = clip(z + r, 0, 1)",
            ]
        ),
        # A spike exactly at refractory end resets once, not twice.
        state_code=(f"v = alpha*v*(1 - clip(z + r, 0, 1)) + I_in + I_ext\nI_in = 0\n{_COUNTER}"),
        options={"refractory_boundary": refractory_boundary, "spike_step_h": spike_step_h},
    )
    return model.with_params(**params) if params else model


_IZHIKEVICH_SYNAPSE_EQUATIONS = SYNAPSE_EQUATIONS + "    eps_u : 1  # eligibility vector of u\n"
# Jacobian of the map with the reset path dropped (z held fixed): the timing notes' table.
_IZHIKEVICH_ELIGIBILITY_CODE = """
trace = psi_post*eps
trace_sum += trace
jacobian_vv = (1 - z_post)*(1 + dt_step_post*(0.08*v_post + 5))
eps_v_next = jacobian_vv*eps - dt_step_post*eps_u + dt_step_post*pre_spiked
eps_u = dt_step_post*a_post*b_post*(1 - z_post)*eps + (1 - dt_step_post*a_post)*eps_u
eps = eps_v_next
pre_spiked = 0
"""


def izhikevich_eprop(**params) -> EpropNeuronModel:
    """Izhikevich (2003) as a forward-Euler map in mV and ms (``dt_step`` ms per step), with
    the one-sided pseudo-derivative h = gamma exp((min(v, v_th) - v_th)/v_th). The reset's own
    derivative is dropped (option A7 of the timing notes); use dt_step <= 0.5, since the
    upstroke multiplies eps^v by up to 1 + dt_step (0.08 v + 5)."""
    model = EpropNeuronModel(
        name="izhikevich_eprop",
        citation="Izhikevich (2003) doi:10.1109/TNN.2003.820440; Traub et al. (2020)",
        equations="""
            v : 1  # membrane potential (mV)
            u : 1  # recovery variable (mV)
            z : 1  # spike in the current step
            psi : 1  # pseudo-derivative of the current step
            I_in : 1  # input of the current step from presynaptic spikes
            I_ext : 1  # external input of the current step
        """,
        params={
            "a": 0.02,
            "b": 0.2,
            "c": -65.0,
            "d": 8.0,
            "v_th": 30.0,
            "gamma": 0.3,
            "dt_step": 0.5,
            "v_rest": -70.0,
        },  # fmt: skip
        spike_code="z = int(v >= v_th)\npsi = gamma*exp((clip(v, -1e9, v_th) - v_th)/v_th)",
        state_code="""
v_tilde = v - (v - c)*z
u_tilde = u + d*z
v = v_tilde + dt_step*(0.04*v_tilde**2 + 5*v_tilde + 140 - u_tilde + I_in + I_ext)
u = u_tilde + dt_step*a*(b*v_tilde - u_tilde)
I_in = 0
""",
        synapse_equations=_IZHIKEVICH_SYNAPSE_EQUATIONS,
        eligibility_code=_IZHIKEVICH_ELIGIBILITY_CODE,
        initial_values={"v": "v_rest", "u": "b*v_rest"},
    )
    return model.with_params(**params) if params else model

