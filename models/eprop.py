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
convention of the timing notes is a named option recorded in the record, and so are the ways NEST
3.10's ``eprop_iaf`` and ``eprop_iaf_adapt`` differ from Bellec et al. (2020): ``nest_eprop_map``
builds the map that steps exactly as NEST's model does.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Mapping

from brian2 import Equations

from models.base import ModelError, Record

REFRACTORY_BOUNDARIES = ("exclusive", "strict")  # refractory while t - t_spike < n_ref / <= n_ref
SPIKE_STEP_H = ("negative", "surrogate")  # STDP-LIF h at the spike step: -gamma, or the surrogate
#: Where the reset of a spike at step t acts: "next_step" (Bellec et al. 2020),
#: v^{t+1} = alpha v^t + I^t - z^t v_th; "spike_step" (NEST 3.10), v_th is subtracted within the
#: spike step and decays with it, v^{t+1} = alpha (v^t - z^t v_th) + I^t.
RESETS = ("next_step", "spike_step")
#: The spike condition: v > threshold (Bellec et al. 2020) or v >= threshold (NEST 3.10).
THRESHOLDS = (">", ">=")
#: Pseudo-derivatives psi = (gamma/v_th) f(x) with x = |v - A|/(surrogate_width v_th) and A the
#: (adaptive) threshold, by NEST 3.10's names; piecewise_linear with width 1 is Bellec et al.'s.
SURROGATES = {
    "piecewise_linear": "clip(1 - {x}, 0, 1)",
    "exponential": "exp(-{x})",
    "fast_sigmoid_derivative": "1/(1 + {x})**2",
    "arctan_derivative": "1/(1 + {x}**2)",
}
#: Izhikevich eps^v through the upstroke: exact (multiplied by 1 + dt (0.08 v + 5), up to
#: about 4.7 per step at v_th) or bounded (that factor capped at 1 above -62.5 mV)
IZHIKEVICH_TRACE_GROWTH = ("exact", "bounded")

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


@dataclasses.dataclass(frozen=True)
class EpropNeuronModel(Record):
    """A neuron as a discrete map with its e-prop pseudo-derivative."""

    spike_code: str = ""
    state_code: str = ""
    synapse_equations: str = SYNAPSE_EQUATIONS
    eligibility_code: str = ELIGIBILITY_CODE
    initial_values: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: {"v": "0", "steps_since_spike": "1000000000"}  # no spike yet
    )

    def synapse_reset_code(self) -> str:
        """Zero every synaptic state but the weight: a fresh trial's eligibility."""
        names = Equations(self.synapse_equations).names
        return "\n".join(f"{name} = 0" for name in sorted(names) if name != "w")

    def neuron_reset_code(self) -> str:
        """The initial state as code, so that each trial of a training starts from it."""
        return "\n".join(f"{name} = {value}" for name, value in self.initial_values.items())


def _choice(kind: str, value: str, allowed) -> str:
    if value not in allowed:
        raise ModelError(f"unknown {kind} {value!r}; choose one of {', '.join(allowed)}")
    return value


def _surrogate(function: str, threshold: str = "v_th") -> str:
    """psi outside refractoriness, centred on ``threshold``."""
    x = f"(abs(v - {threshold})/(surrogate_width*v_th))"
    return f"(gamma/v_th)*{SURROGATES[_choice('surrogate', function, SURROGATES)].format(x=x)}"


def _spike(threshold_rule: str, threshold: str = "v_th") -> str:
    comparison = _choice("threshold rule", threshold_rule, THRESHOLDS)
    return f"z = int(v {comparison} {threshold})*(1 - in_refractory)"


def _membrane(reset: str) -> str:
    update = {
        "next_step": "v = alpha*v + I_in + I_ext - z*v_th",
        "spike_step": "v = alpha*(v - z*v_th) + I_in + I_ext",
    }
    return update[_choice("reset", reset, RESETS)]


def _refractory(boundary: str) -> str:
    comparison = {"exclusive": "<", "strict": "<="}[
        _choice("refractory boundary", boundary, REFRACTORY_BOUNDARIES)
    ]
    return f"in_refractory = int(steps_since_spike {comparison} n_ref)"


_PARAMS = {"alpha": 0.9, "v_th": 1.0, "gamma": 0.3, "n_ref": 5, "surrogate_width": 1.0}
_COUNTER = "steps_since_spike = steps_since_spike*(1 - int(z)) + 1"


def lif_eprop(
    refractory_boundary: str = "exclusive",
    reset: str = "next_step",
    threshold_rule: str = ">",
    surrogate: str = "piecewise_linear",
    **params,
) -> EpropNeuronModel:
    """Bellec et al. (2020) LIF: subtractive reset, psi = 0 while refractory, eps = filtered
    presynaptic train (never wiped). ``reset``, ``threshold_rule`` and ``surrogate``: see
    RESETS, THRESHOLDS and SURROGATES (NEST 3.10's eprop_iaf: spike_step, >=, its function)."""
    model = EpropNeuronModel(
        name="lif_eprop",
        citation="Bellec et al. (2020) Nat. Commun. 11:3625, doi:10.1038/s41467-020-17236-y",
        equations=_STATE,
        params=_PARAMS,
        spike_code="\n".join(
            [
                _refractory(refractory_boundary),
                _spike(threshold_rule),
                f"psi = {_surrogate(surrogate)}*(1 - in_refractory)",
                "wipe = 0",
            ]
        ),
        state_code=f"{_membrane(reset)}\nI_in = 0\n{_COUNTER}",
        options={
            "refractory_boundary": refractory_boundary,
            "reset": reset,
            "threshold_rule": threshold_rule,
            "surrogate": surrogate,
        },
    )
    return model.with_params(**params) if params else model


def stdp_lif_eprop(
    refractory_boundary: str = "exclusive",
    spike_step_h: str = "negative",
    threshold_rule: str = ">",
    surrogate: str = "piecewise_linear",
    **params,
) -> EpropNeuronModel:
    """Traub et al. (2020) STDP-aware LIF: integrates while refractory but cannot fire; v and
    eps are reset at the spike and at refractory end (r); h = -ltd_scale gamma/v_th while
    refractory. ``ltd_scale`` (the depression branch's gamma-/gamma, 1 by default) is a free
    convention of the paper: it sets the LTD:LTP ratio of the eligibility window."""
    _choice("spike_step_h", spike_step_h, SPIKE_STEP_H)
    negative_when = (
        "clip(in_refractory + z, 0, 1)" if spike_step_h == "negative" else "in_refractory"
    )
    model = EpropNeuronModel(
        name="stdp_lif_eprop",
        citation=("Traub, Butz, Baayen, Otte (2020) ICANN 2020, doi:10.1007/978-3-030-61616-8_53"),
        equations=_STATE + "    r : 1  # refractory period ends at this step\n",
        params={**_PARAMS, "ltd_scale": 1.0},
        spike_code="\n".join(
            [
                _refractory(refractory_boundary),
                _spike(threshold_rule),
                "r = int(steps_since_spike == n_ref)",
                f"psi = -(ltd_scale*gamma/v_th)*{negative_when}"
                f" + {_surrogate(surrogate)}*(1 - {negative_when})",
                "wipe = clip(z + r, 0, 1)",
            ]
        ),
        # A spike exactly at refractory end resets once, not twice.
        state_code=(f"v = alpha*v*(1 - clip(z + r, 0, 1)) + I_in + I_ext\nI_in = 0\n{_COUNTER}"),
        options={
            "refractory_boundary": refractory_boundary,
            "spike_step_h": spike_step_h,
            "threshold_rule": threshold_rule,
            "surrogate": surrogate,
        },
    )
    return model.with_params(**params) if params else model


#: NEST 3.10's eprop_iaf_adapt: a spike raises the threshold by adapt_beta = 1 mV against its
#: V_th - E_L = 15 mV, and the rise decays with adapt_tau = 10 ms (one step of 1 ms: rho).
_ALIF_PARAMS = {**_PARAMS, "beta": 1 / 15, "rho": 0.9048374180359595}  # exp(-1/10)
_ALIF_ELIGIBILITY_CODE = """
trace = psi_post*(eps - beta_post*eps_a)
trace_sum += trace
eps_a = psi_post*eps + (rho_post - psi_post*beta_post)*eps_a
eps = alpha_post*eps + pre_spiked
pre_spiked = 0
"""


def alif_eprop(
    refractory_boundary: str = "exclusive",
    reset: str = "next_step",
    threshold_rule: str = ">",
    surrogate: str = "piecewise_linear",
    **params,
) -> EpropNeuronModel:
    """Bellec et al. (2020) adaptive LIF (ALIF): the LIF map with the threshold
    A^t = v_th + beta a^t, which each spike raises (a^{t+1} = rho a^t + z^t), and an
    eligibility with the adaptation's path (Methods, eqs. 25-27): e = psi (eps - beta eps_a),
    eps_a^{t+1} = psi eps + (rho - psi beta) eps_a. The reset still subtracts v_th, and the
    surrogate is centred on A. Defaults: the LIF map's, beta and rho from NEST 3.10's
    eprop_iaf_adapt (1 mV of 15, 10 ms); its conventions are the LIF map's options."""
    model = EpropNeuronModel(
        name="alif_eprop",
        citation="Bellec et al. (2020) Nat. Commun. 11:3625, doi:10.1038/s41467-020-17236-y",
        equations=_STATE
        + "    a : 1  # threshold adaptation, +1 per spike\n"
        + "    A : 1  # adaptive threshold of the current step\n",
        params=_ALIF_PARAMS,
        spike_code="\n".join(
            [
                _refractory(refractory_boundary),
                "A = v_th + beta*a",
                _spike(threshold_rule, "A"),
                f"psi = {_surrogate(surrogate, 'A')}*(1 - in_refractory)",
                "wipe = 0",
            ]
        ),
        state_code=f"{_membrane(reset)}\na = rho*a + z\nI_in = 0\n{_COUNTER}",
        synapse_equations=SYNAPSE_EQUATIONS + "    eps_a : 1  # eligibility vector of a\n",
        eligibility_code=_ALIF_ELIGIBILITY_CODE,
        initial_values={"v": "0", "a": "0", "steps_since_spike": "1000000000"},
        options={
            "refractory_boundary": refractory_boundary,
            "reset": reset,
            "threshold_rule": threshold_rule,
            "surrogate": surrogate,
        },
    )
    return model.with_params(**params) if params else model


_IZHIKEVICH_SYNAPSE_EQUATIONS = SYNAPSE_EQUATIONS + "    eps_u : 1  # eligibility vector of u\n"
# Jacobian of the map with the reset path dropped (z held fixed): the timing notes' table;
# {growth} is 0.08 v + 5 (exact) or its negative part (bounded).
_IZHIKEVICH_ELIGIBILITY_CODE = """
trace = psi_post*eps
trace_sum += trace
jacobian_vv = (1 - z_post)*(1 + dt_step_post*{growth})
eps_v_next = jacobian_vv*eps - dt_step_post*eps_u + dt_step_post*pre_spiked
eps_u = dt_step_post*a_post*b_post*(1 - z_post)*eps + (1 - dt_step_post*a_post)*eps_u
eps = eps_v_next
pre_spiked = 0
"""


def izhikevich_eprop(trace_growth: str = "exact", **params) -> EpropNeuronModel:
    """Izhikevich (2003) as a forward-Euler map in mV and ms (``dt_step`` ms per step), with
    the one-sided pseudo-derivative h = gamma exp((min(v, v_th) - v_th)/v_th). The reset's own
    derivative is dropped (option A7 of the timing notes); use dt_step <= 0.5, since the
    upstroke multiplies eps^v by up to 1 + dt_step (0.08 v + 5).

    ``trace_growth="bounded"`` caps that factor at 1 (eps^v never grows above -62.5 mV): the
    exact factor makes a spike's eligibility ~50x larger than a silent trial's, so one
    misplaced spike dominates Adam's second moment for hundreds of trials (timing_learning)."""
    if trace_growth not in IZHIKEVICH_TRACE_GROWTH:
        raise ModelError(
            f"unknown trace_growth {trace_growth!r}; choose one of "
            f"{', '.join(IZHIKEVICH_TRACE_GROWTH)}"
        )
    growth = {"exact": "(0.08*v_post + 5)", "bounded": "clip(0.08*v_post + 5, -inf, 0)"}
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
        },
        spike_code="z = int(v >= v_th)\npsi = gamma*exp((clip(v, -1e9, v_th) - v_th)/v_th)",
        state_code="""
v_tilde = v - (v - c)*z
u_tilde = u + d*z
v = v_tilde + dt_step*(0.04*v_tilde**2 + 5*v_tilde + 140 - u_tilde + I_in + I_ext)
u = u_tilde + dt_step*a*(b*v_tilde - u_tilde)
I_in = 0
""",
        synapse_equations=_IZHIKEVICH_SYNAPSE_EQUATIONS,
        eligibility_code=_IZHIKEVICH_ELIGIBILITY_CODE.format(growth=growth[trace_growth]),
        initial_values={"v": "v_rest", "u": "b*v_rest"},
        options={"trace_growth": trace_growth},
    )
    return model.with_params(**params) if params else model


#: NEST 3.10's defaults (nest.GetDefaults) of the parameters ``nest_eprop_map`` translates.
_NEST_LIF_DEFAULTS = {
    "E_L": -70.0,
    "V_th": -55.0,
    "tau_m": 10.0,
    "t_ref": 2.0,
    "surrogate_gradient_function": "piecewise_linear",
    "surrogate_gradient_height": 0.3,
    "surrogate_gradient_width": 1.0,
}
NEST_EPROP_DEFAULTS = {
    "eprop_iaf": _NEST_LIF_DEFAULTS,
    "eprop_iaf_adapt": {**_NEST_LIF_DEFAULTS, "adapt_beta": 1.0, "adapt_tau": 10.0},
}


def nest_eprop_map(
    model: str = "eprop_iaf", resolution_ms: float = 1.0, **nest_params
) -> EpropNeuronModel:
    """The map that steps as NEST 3.10's ``model`` (eprop_iaf, or eprop_iaf_adapt for ALIF)
    does with ``nest_params`` at ``resolution_ms``: v in mV above E_L, weights in mV (NEST's
    delta synapses), the spike-step reset, the >= threshold and NEST's surrogate, height and
    width. A current I (pA) enters as the drive tau_m/C_m (1 - alpha) I per step.

    Time: this map's step t is the NEST update recorded at (t + 1) resolution_ms, so a spike of
    step t is stamped (t + 1) resolution_ms by NEST, and the map's v^t is NEST's V_m - E_L there
    before the reset (V_m - E_L + z v_th)."""
    defaults = NEST_EPROP_DEFAULTS.get(model)
    if defaults is None:
        raise ModelError(
            f"no map for NEST model {model!r}; choose one of {', '.join(NEST_EPROP_DEFAULTS)}"
        )
    unknown = sorted(set(nest_params) - set(defaults))
    if unknown:
        raise ModelError(
            f"nest_eprop_map translates {', '.join(defaults)} of {model}, not {unknown}; "
            "give currents (I_e, C_m) as the map's drive instead"
        )
    nest = {**defaults, **nest_params}
    v_th = nest["V_th"] - nest["E_L"]
    params = dict(
        alpha=math.exp(-resolution_ms / nest["tau_m"]),
        v_th=v_th,
        gamma=nest["surrogate_gradient_height"] * v_th,
        surrogate_width=nest["surrogate_gradient_width"] / v_th,
        n_ref=round(nest["t_ref"] / resolution_ms),
    )
    build = lif_eprop
    if model == "eprop_iaf_adapt":
        build = alif_eprop
        params.update(beta=nest["adapt_beta"], rho=math.exp(-resolution_ms / nest["adapt_tau"]))
    return build(
        "exclusive",
        reset="spike_step",
        threshold_rule=">=",
        surrogate=nest["surrogate_gradient_function"],
        **params,
    )


#: The e-prop maps by the name of the neuron model they stand for.
EPROP_MAPS = {
    "lif": lif_eprop,
    "stdp_lif": stdp_lif_eprop,
    "alif": alif_eprop,
    "izhikevich": izhikevich_eprop,
}


def map_conventions(name: str) -> set[str]:
    """The named conventions (options) the registered map ``name`` takes."""
    return set(inspect.signature(EPROP_MAPS[name]).parameters) - {"params"}


def eprop_map(name: str, **options) -> EpropNeuronModel:
    """The registered map ``name`` built with those ``options`` it has: its conventions and
    its parameters. One set of options then builds any map (a map without a threshold
    adaptation has no use for beta and rho), as the numpy reference takes them all."""
    if name not in EPROP_MAPS:
        raise ModelError(
            f"unknown e-prop map {name!r}; choose one of {', '.join(EPROP_MAPS)} or register "
            "one in models.eprop.EPROP_MAPS"
        )
    build = EPROP_MAPS[name]
    taken = map_conventions(name) | set(build().params)
    return build(**{key: value for key, value in options.items() if key in taken})


# --- training: readout, learning signal, optimizer, rate regulariser -----------------------

LEARNING_SIGNALS = ("plain", "rectified")
OPTIMIZERS = ("adam", "gd")

_READOUT_EQUATIONS = """
    lr : 1 (constant)  # learning rate of the run this neuron belongs to
    target_spike : 1  # target train at the current step
    y : 1  # readout: kappa-filtered output train
    y_target : 1  # the same filter on the target train
    learning_signal : 1  # L = y - y_target (one readout, feedback weight 1)
    loss : 1  # 0.5 sum of L^2 over the current trial
    spike_count : 1  # output spikes in the current trial
    step_in_trial : integer
"""
_TRAINING_SYNAPSE_EQUATIONS = """
    e_filtered : 1  # eligibility trace filtered like the readout
    grad : 1  # gradient accumulated over the current trial
    trace_positive_sum : 1  # sum over the trial of the positive part of e (rate regulariser)
"""
# With no (1 - kappa) factor on y, none on e_filtered either: the filters must match.
_READOUT_CODE = """
target_spike = target_train(step_in_trial*dt)
y = kappa*y + z
y_target = kappa*y_target + target_spike
learning_signal = y - y_target
loss += 0.5*learning_signal**2
spike_count += z
step_in_trial += 1
"""
_POSITIVE_PART = "trace_positive_sum += clip(trace, 0, inf)\n"
_ACCUMULATE_CODE = {
    "plain": _POSITIVE_PART
    + "e_filtered = kappa_post*e_filtered + trace\ngrad += learning_signal_post*e_filtered",
    # Drops the contributions that raise weights while the neuron fires too much (L > 0)
    # through negative (refractory-window) eligibility: the runaway of the timing notes.
    "rectified": _POSITIVE_PART + "e_filtered = kappa_post*e_filtered + trace\n"
    "grad += learning_signal_post*e_filtered"
    "*(1 - int(learning_signal_post > 0)*int(e_filtered < 0))",
}
# On the positive part of e: with sum_t e itself, a runaway STDP-LIF neuron (sum e < 0 from
# its refractory windows, rate above target) would have its weights *raised*.
_RATE_REGULARISER = (
    "grad += c_reg_post*(spike_count_post/trial_duration_post - f_target_post)/Hz"
    "*trace_positive_sum"
)
# Runs at the start of every trial, on the gradient of the trial that ended; at t = 0 the
# gradient is zero, so the step is zero (the Adam step count is clipped to >= 1 for that).
_OPTIMIZER_CODE = {
    "adam": """
adam_step = clip(floor(t/trial_duration_post + 0.5), 1, 1e9)
adam_m = beta1_post*adam_m + (1 - beta1_post)*grad
adam_v = beta2_post*adam_v + (1 - beta2_post)*grad**2
w -= lr_post*(adam_m/(1 - beta1_post**adam_step))/(sqrt(adam_v/(1 - beta2_post**adam_step)) + adam_epsilon_post)
""",  # noqa: E501  (one statement, as Brian2 reads it)
    "gd": "w -= lr_post*grad",
}
_OPTIMIZER_EQUATIONS = {
    "adam": "    adam_m : 1  # first-moment estimate\n    adam_v : 1  # second-moment estimate\n",
    "gd": "",
}


@dataclasses.dataclass(frozen=True)
class EpropTraining(Record):
    """Readout, learning signal, optimizer and rate regulariser of one-readout e-prop, as code
    that runs inside the network (Bellec et al. 2020, as in the project's timing notes).

    Each post neuron is one training run with its own learning rate ``lr``. Per step, after
    the spike is known: ``readout_code`` (neuron) filters output and target trains and sets
    the learning signal L; ``accumulate_code`` (synapse, after e^t) filters e and adds L e to
    the gradient. At each trial start: ``update_code`` (synapse) adds the rate regulariser
    c_reg (f - f_target) sum_t max(e, 0), which lowers the weights of a neuron firing above
    its target rate for every model, and takes one optimizer step. ``equations`` and ``params``
    belong on the neuron group; ``synapse_equations`` on the synapses.
    """

    readout_code: str = _READOUT_CODE
    synapse_equations: str = ""
    accumulate_code: str = ""
    update_code: str = ""

    def synapse_reset_code(self) -> str:
        return "grad = 0\ne_filtered = 0\ntrace_positive_sum = 0"

    def neuron_reset_code(self) -> str:
        return "\n".join(
            f"{name} = 0" for name in ("y", "y_target", "loss", "spike_count", "step_in_trial")
        )


def eprop_training(
    optimizer: str = "adam", learning_signal: str = "plain", **params
) -> EpropTraining:
    """The training rule; ``params``: kappa (readout filter per step), trial_duration,
    beta1, beta2, adam_epsilon (Adam), c_reg (0: no rate regulariser) and f_target."""
    from brian2 import Hz, ms

    if optimizer not in OPTIMIZERS:
        raise ModelError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if learning_signal not in LEARNING_SIGNALS:
        raise ModelError(
            f"unknown learning signal {learning_signal!r}; choose one of "
            f"{', '.join(LEARNING_SIGNALS)}"
        )
    training = EpropTraining(
        name=f"eprop_{optimizer}_{learning_signal}",
        citation="Bellec et al. (2020) Nat. Commun. 11:3625, doi:10.1038/s41467-020-17236-y",
        equations=_READOUT_EQUATIONS,
        params={
            "kappa": 0.9048374180359595,  # exp(-1/10): tau_out = 10 steps
            "trial_duration": 200 * ms,
            "beta1": 0.9,
            "beta2": 0.999,
            "adam_epsilon": 1e-8,
            "c_reg": 0.0,
            "f_target": 0 * Hz,
        },
        synapse_equations=_TRAINING_SYNAPSE_EQUATIONS + _OPTIMIZER_EQUATIONS[optimizer],
        accumulate_code=_ACCUMULATE_CODE[learning_signal],
        update_code=f"{_RATE_REGULARISER}\n{_OPTIMIZER_CODE[optimizer].strip()}",
        options={"optimizer": optimizer, "learning_signal": learning_signal},
    )
    return training.with_params(**params) if params else training
