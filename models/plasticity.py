"""Plasticity rules as synapse equations with event-driven traces.

Convention: dt_spike = t_post - t_pre; positive means pre before post. Brian2 runs the ``pre``
pathway before the ``post`` pathway within a time step, so a coincident pair is potentiated
(the LTP code reads a presynaptic trace that already holds the same-step spike).
"""

import math

from brian2 import ms

from models.base import TRACE_UPDATES, ModelError, PlasticityRule

PAIRINGS = ("all_to_all", "nearest")
BOUNDS = ("additive", "multiplicative")


def _spike_update(pairing: str) -> str:
    """What a spike does to a trace (``models.base.TRACE_UPDATES``): all-to-all, every earlier
    spike counts (add 1); nearest, only the latest one does (set to 1)."""
    if pairing not in PAIRINGS:
        raise ModelError(f"unknown pairing {pairing!r}; choose one of {', '.join(PAIRINGS)}")
    return "add" if pairing == "all_to_all" else "set"


def _trace_update(trace: str, pairing: str) -> str:
    return f"{trace} {TRACE_UPDATES[_spike_update(pairing)]} 1"


#: Pair-STDP parameter sets. A+/A- are the weight changes of one pairing.
PAIR_STDP_SETS = {
    # Bi & Poo 1998 fit adopted by Pfister & Gerstner 2006; A+/A- are the relative changes
    # after the whole 60-pair protocol (divide by the number of pairs for one pairing).
    "bi_poo": dict(tau_plus=16.8 * ms, tau_minus=33.7 * ms, A_plus=0.777, A_minus=0.273),
    # Brian2's examples/synapses/STDP.py (after Song et al. 2000), w in [0, g_max = 0.01].
    "song": dict(tau_plus=20 * ms, tau_minus=20 * ms, A_plus=1e-4, A_minus=1.05e-4, w_max=0.01),
    # Song, Miller & Abbott 2000: g_max = 0.015, A+ = 0.005 g_max, A-/A+ = 1.05.
    "song_2000": dict(
        tau_plus=20 * ms, tau_minus=20 * ms, A_plus=7.5e-5, A_minus=7.875e-5, w_max=0.015
    ),
}


#: Where a rule keeps its traces (``pair_stdp``, ``triplet_stdp``; ``deferred``: pair only).
TRACE_LOCATIONS = ("per_synapse", "per_neuron", "deferred")


def _check_traces(traces: str, allowed=TRACE_LOCATIONS) -> None:
    if traces not in allowed:
        raise ModelError(f"unknown trace location {traces!r}; choose one of {', '.join(allowed)}")


def pair_stdp(
    pairing: str = "all_to_all", bounds: str = "additive", traces: str = "per_synapse", **params
) -> PlasticityRule:
    """Pair STDP with two exponentials (Bi & Poo time constants by default).

    ``bounds='additive'``: changes independent of w, clipped to [0, w_max]; w_max is
    unbounded unless given, so no protocol is clipped by a bound nobody chose.
    ``bounds='multiplicative'``: LTP scales with (w_max - w), LTD with w (soft bounds); it
    needs a finite w_max.

    ``traces='per_neuron'`` keeps the presynaptic trace once per input neuron and the
    postsynaptic one once per target neuron instead of both on every synapse (Brian2's
    event-driven form): a trace follows its own neuron's spikes only, so this is the same rule
    with one per-synapse array (the weight) instead of three, and no exponential per synaptic
    event. The target must be built from ``model.with_rule_state(rule)``.

    ``traces='deferred'`` keeps them per neuron too and applies a postsynaptic spike's
    potentiation when each afferent synapse's presynaptic neuron next spikes, as NEST does
    (``models.deferred``): a postsynaptic spike no longer walks its afferent synapses. The
    weights equal the eager rule's to rounding after every run (what is still owed then is
    applied), not in between: a monitor of ``w`` during the run records the weights without
    the potentiation still owed. cpp_standalone and the numpy runtime only.
    """
    if bounds not in BOUNDS:
        raise ModelError(f"unknown bounds {bounds!r}; choose one of {', '.join(BOUNDS)}")
    update = _spike_update(pairing)
    _check_traces(traces)
    if bounds == "multiplicative" and not math.isfinite(float(params.get("w_max", math.inf))):
        raise ModelError(
            "multiplicative bounds scale LTP by (w_max - w): give a finite w_max, e.g. "
            "pair_stdp(bounds='multiplicative', w_max=1.0)"
        )
    apre, apost = ("apre", "apost") if traces == "per_synapse" else ("apre_pre", "apost_post")
    if bounds == "additive":
        ltd, ltp = f"A_minus*{apost}", f"A_plus*{apre}"
    else:
        ltd, ltp = f"A_minus*{apost}*w", f"A_plus*{apre}*(w_max - w)"
    if traces == "per_synapse":
        equations = """
            w : 1  # weight, dimensionless
            dapre/dt = -apre/tau_plus : 1 (event-driven)  # presynaptic trace, drives LTP
            dapost/dt = -apost/tau_minus : 1 (event-driven)  # postsynaptic trace, drives LTD
        """
        on_pre = f"{_trace_update('apre', pairing)}\nw = clip(w - {ltd}, 0, w_max)"
        on_post = f"{_trace_update('apost', pairing)}\nw = clip(w + {ltp}, 0, w_max)"
        neuron_traces = {}
    else:
        equations = "w : 1  # weight, dimensionless"
        on_pre = f"w = clip(w - {ltd}, 0, w_max)"
        on_post = f"w = clip(w + {ltp}, 0, w_max)"
        neuron_traces = {
            "apre": ("pre", "tau_plus", update),
            "apost": ("post", "tau_minus", update),
        }
    deferred = {}
    if traces == "deferred":  # the per-neuron rule, its potentiation moved (models.deferred)
        on_post = ""
        deferred = dict(
            on_pre_owed=(
                "w = deferred_potentiation(w, potentiation_history_post, j, t_from_pre, "
                "t_last_pre, apre_last_pre, apre_epoch_start_pre, apre_at_epoch_start_pre, "
                f"tau_apre_pre, A_plus, w_max, {int(bounds == 'multiplicative')})"
            ),
            post_equations=(
                "post_spikes_recorded : integer  # spikes in the deferred-potentiation history\n"
                "potentiation_history : integer (shared, constant)  # its number (the builder's)"
            ),
            post_reset=(
                "post_spikes_recorded = record_post_spike(potentiation_history, i, N, t, tau_plus)"
            ),
        )
    rule = PlasticityRule(
        name=f"pair_stdp_{pairing}_{bounds}",
        citation=(
            "Bi & Poo (1998) J. Neurosci. 18:10464; trace form: Song, Miller & Abbott (2000) "
            "Nat. Neurosci. 3:919; Morrison, Diesmann & Gerstner (2008) Biol. Cybern. 98:459"
        ),
        equations=equations,
        on_pre=on_pre,
        on_post=on_post,
        params={**PAIR_STDP_SETS["bi_poo"], "w_max": math.inf},
        options={"pairing": pairing, "bounds": bounds, "traces": traces},
        neuron_traces=neuron_traces,
        **deferred,
    )
    return rule.with_params(**params) if params else rule


#: Pfister & Gerstner (2006), Table 2 (visual cortex) and Table 4 (hippocampal).
#: Minimal sets have A3- = 0, so tau_x is unused there; it is kept at tau_plus.
TRIPLET_SETS = {
    "visual_all_to_all_full": dict(
        A2_plus=5e-10,
        A3_plus=6.2e-3,
        A2_minus=7e-3,
        A3_minus=2.3e-4,
        tau_x=101 * ms,
        tau_y=125 * ms,
        pairing="all_to_all",
    ),
    "visual_all_to_all_minimal": dict(
        A2_plus=0.0,
        A3_plus=6.5e-3,
        A2_minus=7.1e-3,
        A3_minus=0.0,
        tau_x=16.8 * ms,
        tau_y=125 * ms,
        pairing="all_to_all",
    ),
    "visual_nearest_full": dict(
        A2_plus=8.8e-11,
        A3_plus=5.3e-2,
        A2_minus=6.6e-3,
        A3_minus=3.1e-3,
        tau_x=714 * ms,
        tau_y=40 * ms,
        pairing="nearest",
    ),
    "visual_nearest_minimal": dict(
        A2_plus=0.0,
        A3_plus=5.2e-2,
        A2_minus=8e-3,
        A3_minus=0.0,
        tau_x=16.8 * ms,
        tau_y=40 * ms,
        pairing="nearest",
    ),
    "hippocampal_all_to_all_full": dict(
        A2_plus=6.1e-3,
        A3_plus=6.7e-3,
        A2_minus=1.6e-3,
        A3_minus=1.4e-3,
        tau_x=946 * ms,
        tau_y=27 * ms,
        pairing="all_to_all",
    ),
    "hippocampal_nearest_full": dict(
        A2_plus=4.6e-3,
        A3_plus=9.1e-3,
        A2_minus=3e-3,
        A3_minus=7.5e-9,
        tau_x=575 * ms,
        tau_y=47 * ms,
        pairing="nearest",
    ),
}


def triplet_stdp(
    parameter_set: str = "visual_all_to_all_full", traces: str = "per_synapse", **params
) -> PlasticityRule:
    """Triplet STDP (Pfister & Gerstner 2006) with one of ``TRIPLET_SETS``.

    The second detectors (r2, o2) are read before the current spike increments them. Weights
    are clipped to [0, w_max], w_max unbounded unless given. ``traces='per_neuron'`` keeps
    the four detectors once per neuron (see ``pair_stdp``).
    """
    if parameter_set not in TRIPLET_SETS:
        raise ModelError(
            f"unknown triplet parameter set {parameter_set!r}; choose one of "
            f"{', '.join(TRIPLET_SETS)}"
        )
    _check_traces(traces, allowed=("per_synapse", "per_neuron"))
    values = dict(TRIPLET_SETS[parameter_set])
    pairing = values.pop("pairing")
    taus = {"r1": "tau_plus", "r2": "tau_x", "o1": "tau_minus", "o2": "tau_y"}
    if traces == "per_synapse":
        r1, r2, o1, o2 = "r1", "r2", "o1", "o2"
        equations = """
            w : 1  # weight, dimensionless
            dr1/dt = -r1/tau_plus : 1 (event-driven)  # presynaptic pair detector
            dr2/dt = -r2/tau_x : 1 (event-driven)  # presynaptic triplet detector
            do1/dt = -o1/tau_minus : 1 (event-driven)  # postsynaptic pair detector
            do2/dt = -o2/tau_y : 1 (event-driven)  # postsynaptic triplet detector
        """
        pre_updates = f"\n{_trace_update('r1', pairing)}\n{_trace_update('r2', pairing)}"
        post_updates = f"\n{_trace_update('o1', pairing)}\n{_trace_update('o2', pairing)}"
        neuron_traces = {}
    else:
        r1, r2, o1, o2 = "r1_pre", "r2_pre", "o1_post", "o2_post"
        equations = "w : 1  # weight, dimensionless"
        pre_updates = post_updates = ""
        update = _spike_update(pairing)
        neuron_traces = {
            trace: ("pre" if trace[0] == "r" else "post", tau, update)
            for trace, tau in taus.items()
        }
    rule = PlasticityRule(
        name=f"triplet_stdp_{parameter_set}",
        citation=(
            "Pfister & Gerstner (2006) Triplets of spikes in a model of spike timing-dependent "
            "plasticity, J. Neurosci. 26:9673, doi:10.1523/JNEUROSCI.1425-06.2006"
        ),
        equations=equations,
        on_pre=f"w = clip(w - {o1}*(A2_minus + A3_minus*{r2}), 0, w_max){pre_updates}",
        on_post=f"w = clip(w + {r1}*(A2_plus + A3_plus*{o2}), 0, w_max){post_updates}",
        params={**values, "tau_plus": 16.8 * ms, "tau_minus": 33.7 * ms, "w_max": math.inf},
        options={"pairing": pairing, "parameter_set": parameter_set, "traces": traces},
        neuron_traces=neuron_traces,
    )
    return rule.with_params(**params) if params else rule


def vq_stdp(**params) -> PlasticityRule:
    """VQ-STDP (Tavanaei, Masquelier & Maida 2018), reconstructed from the authors' released
    code (science notes, plasticity.md §4): when the postsynaptic neuron fires, an input that
    was active in the window gets w += mu_w [1 - (1 + lambda_w) w], every other input
    w -= mu_w ltd_scale (1 + lambda_w) w; no pair window. With a fixed input distribution
    w converges to P(input active | neuron fires) / (1 + lambda_w), the prototype of the
    inputs the neuron wins (vector quantisation).

    ``active_pre`` is the presynaptic group's 0/1 flag "spiked in the window": the layer
    that uses the rule provides it (``experiments.vq_features``).
    """
    rule = PlasticityRule(
        name="vq_stdp",
        citation=(
            "Tavanaei, Masquelier & Maida (2018) Representation learning using event-based "
            "STDP, Neural Networks 105:294, doi:10.1016/j.neunet.2018.05.018, arXiv 1706.06699"
        ),
        equations="""
            w : 1  # weight, dimensionless, in [w_min, w_max]
        """,
        on_pre="",
        on_post=(
            "w = clip(w + mu_w*(active_pre - (1 + lambda_w)*w*(active_pre + "
            "ltd_scale*(1 - active_pre))), w_min, w_max)"
        ),
        params={"mu_w": 0.0005, "ltd_scale": 1.0, "lambda_w": 0.0, "w_min": 0.0, "w_max": 1.0},
        options={},
    )
    return rule.with_params(**params) if params else rule


#: How the Diehl & Cook rule keeps its traces (see ``diehl_cook_stdp``).
DIEHL_COOK_FORMS = ("spike_times", "traces")
_DIEHL_COOK_CITATION = (
    "Diehl & Cook (2015) Front. Comput. Neurosci. 9:99, doi:10.3389/fncom.2015.00099 "
    "(released code: pre-and-post rule with a slow postsynaptic trace)"
)
_DIEHL_COOK_PARAMS = {
    "tau_apre": 20 * ms,
    "tau_apost": 20 * ms,
    "tau_apost_slow": 40 * ms,
    "eta_depress": 1e-4,
    "eta_potentiate": 1e-2,
    "w_max": 1.0,
}
#: Before the first spike a trace is 0: exp(-(t - this)/tau) underflows to exactly 0.
_NEVER = "-1e6*second"


def diehl_cook_stdp(form: str = "spike_times", **params) -> PlasticityRule:
    """The potentiation-dominated STDP of Diehl & Cook (2015), as in the authors' released
    code: traces are set to 1 (not incremented) at each spike; a presynaptic spike depresses
    by eta_depress times the fast postsynaptic trace; a postsynaptic spike potentiates by
    eta_potentiate times the presynaptic trace and the slow postsynaptic trace from before
    this spike (a triplet term); both clipped to [0, w_max]. LTD:LTP = 1:100.

    A trace set to 1 at each spike is exp(-(time since that spike)/tau), so ``form`` may keep
    spike times instead: ``traces`` keeps the released code's three event-driven traces per
    synapse; ``spike_times`` (the same weights to rounding) keeps each synapse's latest
    presynaptic arrival and each postsynaptic neuron's latest spike (``post_equations``, set
    by its reset), so a presynaptic spike computes one exponential instead of three and
    writes two per-synapse arrays instead of five."""
    if form not in DIEHL_COOK_FORMS:
        raise ModelError(
            f"unknown form {form!r} of the Diehl & Cook rule; choose one of "
            f"{', '.join(DIEHL_COOK_FORMS)}"
        )
    if form == "traces":
        rule = PlasticityRule(
            name="diehl_cook_stdp",
            citation=_DIEHL_COOK_CITATION,
            equations="""
                w : 1  # weight, in units of the target's leak conductance
                dapre/dt = -apre/tau_apre : 1 (event-driven)  # presynaptic trace, drives LTP
                dapost/dt = -apost/tau_apost : 1 (event-driven)  # fast postsynaptic trace, LTD
                dapost_slow/dt = -apost_slow/tau_apost_slow : 1 (event-driven)  # gates LTP
            """,
            on_pre="apre = 1\nw = clip(w - eta_depress*apost, 0, w_max)",
            # apost_slow is read before it is set: the triplet term uses its pre-spike value
            on_post=(
                "w = clip(w + eta_potentiate*apre*apost_slow, 0, w_max)\napost = 1\napost_slow = 1"
            ),
            params=_DIEHL_COOK_PARAMS,
            options={"form": form},
        )
    else:
        rule = PlasticityRule(
            name="diehl_cook_stdp",
            citation=_DIEHL_COOK_CITATION,
            equations="""
                w : 1  # weight, in units of the target's leak conductance
                t_arrival : second  # latest presynaptic arrival (the pre trace's last reset)
            """,
            initial_values={"t_arrival": _NEVER},
            on_pre=(
                "t_arrival = t\n"
                "w = clip(w - eta_depress*exp(-(t - t_spike_post)/tau_apost), 0, w_max)"
            ),
            # the reset sets t_spike after on_post has run: the slow trace from before the spike
            on_post=(
                "w = clip(w + eta_potentiate*exp(-(t - t_arrival)/tau_apre)"
                "*exp(-(t - t_spike_post)/tau_apost_slow), 0, w_max)"
            ),
            params=_DIEHL_COOK_PARAMS,
            options={"form": form},
            post_equations="t_spike : second  # latest spike; post trace exp(-(t - t_spike)/tau)",
            post_reset="t_spike = t",
            post_initial_values={"t_spike": _NEVER},
        )
    return rule.with_params(**params) if params else rule
