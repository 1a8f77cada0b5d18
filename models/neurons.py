"""Neuron models. All share a vocabulary: membrane potential ``v``, external drive ``I`` (amp)
and an exponentially decaying synaptic current ``I_syn`` (amp) that synapses increment, so any
experiment can take any of them by name.
"""

from brian2 import Mohm, ms, mV, nA, nS, pA, pF

from models.base import ModelError, NeuronModel

_SYNAPTIC_CURRENT = "dI_syn/dt = -I_syn/tau_syn : amp  # synaptic current, increments on spikes"
_DRIVE = "I : amp  # external drive set by the experiment"

LIF = NeuronModel(
    name="lif",
    citation="Lapicque 1907; current-based form: Gerstner et al., Neuronal Dynamics (2014), ch. 1",
    equations=f"""
        dv/dt = (E_L - v + R_m*(I + I_syn))/tau_m : volt (unless refractory)
        {_SYNAPTIC_CURRENT}
        {_DRIVE}
    """,
    threshold="v > v_th",
    reset="v = v_reset",
    refractory="t_ref",
    method="exact",
    initial_values={"v": "E_L"},
    scales={
        "resistance": "R_m",
        "tau_syn": "tau_syn",
        "tau_m": "tau_m",
        "threshold_distance": "v_th - E_L",
    },
    params={
        "E_L": -70 * mV,
        "v_th": -50 * mV,
        "v_reset": -70 * mV,
        "R_m": 100 * Mohm,
        "tau_m": 20 * ms,
        "tau_syn": 5 * ms,
        "t_ref": 2 * ms,
    },
)

# Traub et al. 2020: v integrates through the refractory period but cannot cross threshold
# there, and is reset twice: at the spike and when the refractory period ends, so that input
# arriving while refractory leaves no trace afterwards (that is what gives its e-prop
# eligibility a depression branch). The second reset is a custom event.
STDP_LIF = NeuronModel(
    name="stdp_lif",
    citation=(
        "Traub, Butz, Baayen, Otte (2020) Learning precise spike timings with eligibility "
        "traces, ICANN 2020, doi:10.1007/978-3-030-61616-8_53"
    ),
    equations=f"""
        dv/dt = (E_L - v + R_m*(I + I_syn))/tau_m : volt
        {_SYNAPTIC_CURRENT}
        {_DRIVE}
        awaiting_refractory_end : boolean  # set at a spike, cleared by the second reset
    """,
    threshold="v > v_th",
    reset="v = v_reset\nawaiting_refractory_end = True",
    refractory="t_ref",
    method="exact",
    # The event fires on the last refractory step (after its integration), so the first step
    # after refractoriness integrates from v_reset: exactly the trajectory of the LIF there.
    events={
        "refractory_end": (
            "awaiting_refractory_end and timestep(t - lastspike, dt) >= timestep(t_ref, dt) - 1",
            "v = v_reset\nawaiting_refractory_end = False",
        )
    },
    params=dict(LIF.params),
    initial_values=dict(LIF.initial_values),
    scales=dict(LIF.scales),
)

# The adaptive LIF (ALIF) of Bellec et al.: the LIF whose threshold each spike raises by beta,
# the rise decaying with tau_a. Defaults: NEST 3.10's eprop_iaf_adapt (adapt_beta 1 mV,
# adapt_tau 10 ms); its e-prop map is models.eprop.alif_eprop.
ALIF = NeuronModel(
    name="alif",
    citation=(
        "Bellec, Salaj, Subramoney, Legenstein, Maass (2018) Long short-term memory and "
        "learning-to-learn in networks of spiking neurons, NeurIPS 31; Bellec et al. (2020) "
        "Nat. Commun. 11:3625, doi:10.1038/s41467-020-17236-y"
    ),
    equations=f"""
        dv/dt = (E_L - v + R_m*(I + I_syn))/tau_m : volt (unless refractory)
        da/dt = -a/tau_a : 1  # threshold adaptation, +1 per spike
        {_SYNAPTIC_CURRENT}
        {_DRIVE}
    """,
    threshold="v > v_th + beta*a",
    reset="v = v_reset\na += 1",
    refractory="t_ref",
    method="exact",
    initial_values={"v": "E_L", "a": "0"},
    scales=dict(LIF.scales),  # at rest a = 0: the LIF's distance to threshold
    params={**LIF.params, "beta": 1 * mV, "tau_a": 10 * ms},
)

# Izhikevich 2003 in SI units: v, u in volt; 1 nA of drive through R_in = 1 Mohm is the
# dimensionless I = 1 of the paper, so the classic I = 10 is 10 nA here.
IZHIKEVICH = NeuronModel(
    name="izhikevich",
    citation=(
        "Izhikevich (2003) Simple model of spiking neurons, IEEE Trans. Neural Netw. 14:1569, "
        "doi:10.1109/TNN.2003.820440"
    ),
    equations=f"""
        dv/dt = (0.04/mV*v**2 + 5*v + 140*mV - u + R_in*(I + I_syn))/ms : volt
        du/dt = a*(b*v - u) : volt
        {_SYNAPTIC_CURRENT}
        {_DRIVE}
    """,
    threshold="v >= v_peak",
    reset="v = c\nu += d",
    refractory=None,
    method="euler",
    initial_values={"v": "c", "u": "b*v"},  # v at the reset value, u on its nullcline
    # 0.04 v^2 + (5 - b) v + 140 + R I = 0 (u = b v at rest) has a fixed point only below
    # this R I, the rheobase (4 mV for b = 0.2); there is no tau_m, so 20 ms stands in
    scales={
        "resistance": "R_in",
        "tau_syn": "tau_syn",
        "tau_m": "20*ms",
        "threshold_distance": "((5 - b)**2/0.16 - 140)*mV",
    },
    params={
        "a": 0.02 / ms,
        "b": 0.2,
        "c": -65 * mV,
        "d": 8 * mV,
        "v_peak": 30 * mV,
        "R_in": 1 * Mohm,
        "tau_syn": 5 * ms,
    },
)

#: Izhikevich (2003), Fig. 2: the named parameter sets (a in 1/ms, b, c in mV, d in mV).
IZHIKEVICH_SETS = {
    "RS": dict(a=0.02 / ms, b=0.2, c=-65 * mV, d=8 * mV),  # regular spiking
    "IB": dict(a=0.02 / ms, b=0.2, c=-55 * mV, d=4 * mV),  # intrinsically bursting
    "CH": dict(a=0.02 / ms, b=0.2, c=-50 * mV, d=2 * mV),  # chattering
    "FS": dict(a=0.1 / ms, b=0.2, c=-65 * mV, d=2 * mV),  # fast spiking
    "LTS": dict(a=0.02 / ms, b=0.25, c=-65 * mV, d=2 * mV),  # low-threshold spiking
    "TC": dict(a=0.02 / ms, b=0.25, c=-65 * mV, d=0.05 * mV),  # thalamo-cortical
    "RZ": dict(a=0.1 / ms, b=0.26, c=-65 * mV, d=2 * mV),  # resonator
}

# Brette & Gerstner (2005): the exponential integrate-and-fire with an adaptation current
# (w_ad: the paper's w, renamed because synapses call their weight w);
# defaults are the paper's regular-spiking fit (v_peak = V_T + 5 Delta_T, as Brian2's example
# cuts the upswing). Euler, as the exponential has no exact solution.
ADEX = NeuronModel(
    name="adex",
    citation=(
        "Brette & Gerstner (2005) Adaptive exponential integrate-and-fire model as an "
        "effective description of neuronal activity, J. Neurophysiol. 94:3637, "
        "doi:10.1152/jn.00686.2005; firing-pattern sets: Naud, Marcille, Clopath & Gerstner "
        "(2008) Biol. Cybern. 99:335, doi:10.1007/s00422-008-0264-7, Table 1"
    ),
    equations=f"""
        dv/dt = (g_L*(E_L - v) + g_L*Delta_T*exp((v - V_T)/Delta_T) - w_ad + I + I_syn)/C : volt
        dw_ad/dt = (a*(v - E_L) - w_ad)/tau_w : amp  # adaptation current (w in the paper)
        {_SYNAPTIC_CURRENT}
        {_DRIVE}
    """,
    threshold="v > v_peak",
    reset="v = v_reset\nw_ad += b",
    refractory=None,
    method="euler",
    initial_values={"v": "E_L", "w_ad": "0*amp"},
    signed=("a",),  # a < 0: w_ad amplifies depolarisation (Naud et al.'s delayed patterns)
    # With w_ad at its steady value a (v - E_L), a current I holds v where (g_L + a)(v - E_L)
    # - g_L Delta_T exp((v - V_T)/Delta_T) = I; that curve peaks at v* = V_T + Delta_T
    # log(1 + a/g_L), so the rheobase current is (g_L + a)(v* - E_L - Delta_T)
    scales={
        "resistance": "1/(g_L + a)",
        "tau_syn": "tau_syn",
        "tau_m": "C/g_L",
        "threshold_distance": "V_T + Delta_T*log(1 + a/g_L) - Delta_T - E_L",
    },
    params={
        "C": 281 * pF,
        "g_L": 30 * nS,
        "E_L": -70.6 * mV,
        "V_T": -50.4 * mV,
        "Delta_T": 2 * mV,
        "a": 4 * nS,
        "tau_w": 144 * ms,
        "b": 0.0805 * nA,
        "v_reset": -70.6 * mV,
        "v_peak": -40.4 * mV,
        "tau_syn": 5 * ms,
    },
)

#: Naud et al. (2008), Table 1: parameters of eight firing patterns, with the step current
#: that shows each (``ADEX_STEP_CURRENT``); v_peak 0 mV as in Brian2's example of the paper.
_NAUD_COLUMNS = ("C", "g_L", "E_L", "a", "tau_w", "b", "v_reset")
_NAUD_SHARED = dict(Delta_T=2 * mV, V_T=-50 * mV, v_peak=0 * mV)
ADEX_SETS = {
    name: {**dict(zip(_NAUD_COLUMNS, row, strict=True)), **_NAUD_SHARED}
    for name, row in {
        "tonic": (200 * pF, 10 * nS, -70 * mV, 2 * nS, 30 * ms, 0 * pA, -58 * mV),
        "adapting": (200 * pF, 12 * nS, -70 * mV, 2 * nS, 300 * ms, 60 * pA, -58 * mV),
        "initial_burst": (130 * pF, 18 * nS, -58 * mV, 4 * nS, 150 * ms, 120 * pA, -50 * mV),
        "bursting": (200 * pF, 10 * nS, -58 * mV, 2 * nS, 120 * ms, 100 * pA, -46 * mV),
        "delayed_accelerating": (200 * pF, 12 * nS, -70 * mV, -10 * nS, 300 * ms, 0 * pA, -58 * mV),
        "delayed_bursting": (100 * pF, 10 * nS, -65 * mV, -10 * nS, 90 * ms, 30 * pA, -47 * mV),
        "transient": (100 * pF, 10 * nS, -65 * mV, 10 * nS, 90 * ms, 100 * pA, -47 * mV),
        "irregular": (100 * pF, 12 * nS, -60 * mV, -11 * nS, 130 * ms, 30 * pA, -48 * mV),
    }.items()
}
ADEX_STEP_CURRENT = {
    "tonic": 500 * pA,
    "adapting": 500 * pA,
    "initial_burst": 400 * pA,
    "bursting": 210 * pA,
    "delayed_accelerating": 300 * pA,
    "delayed_bursting": 110 * pA,
    "transient": 180 * pA,
    "irregular": 160 * pA,
}

# The conductance-based LIF of Song, Miller & Abbott (2000); defaults are the form of Brian2's
# examples/synapses/STDP.py (no inhibition), SONG_2000_PARAMS the paper's. Its synaptic input
# is the excitatory conductance g_e, in units of the leak; g_i is the inhibitory one.
LIF_COND = NeuronModel(
    name="lif_cond",
    citation=(
        "Song, Miller, Abbott (2000) Competitive Hebbian learning through spike-timing-dependent "
        "synaptic plasticity, Nat. Neurosci. 3:919, doi:10.1038/78829"
    ),
    equations="""
        dv/dt = (g_e*(E_e - v) + g_i*(E_i - v) + E_L - v)/tau_m : volt
        dg_e/dt = -g_e/tau_e : 1  # excitatory conductance in units of the leak
        dg_i/dt = -g_i/tau_i : 1  # inhibitory conductance in units of the leak
    """,
    threshold="v > v_th",
    reset="v = v_reset",
    refractory=None,
    method="euler",
    initial_values={"v": "E_L"},
    drive=None,  # driven by synapses only
    synaptic_input="g_e",
    params={
        "tau_m": 10 * ms,
        "E_L": -74 * mV,
        "v_th": -54 * mV,
        "v_reset": -60 * mV,
        "E_e": 0 * mV,
        "tau_e": 5 * ms,
        "E_i": -70 * mV,
        "tau_i": 5 * ms,
    },
)

#: Song, Miller & Abbott (2000) parameters (as transcribed in Brian 1 reimplementations).
SONG_2000_PARAMS = dict(tau_m=20 * ms, E_L=-70 * mV, v_th=-54 * mV, v_reset=-60 * mV)

_DIEHL_COOK = (
    "Diehl & Cook (2015) Unsupervised learning of digit recognition using spike-timing-dependent "
    "plasticity, Front. Comput. Neurosci. 9:99, doi:10.3389/fncom.2015.00099; values of the "
    "authors' released code"
)
# Conductances g_e, g_i are in units of the leak (the code's nS/nS); Euler at dt = 0.5 ms, as
# the released code integrated them.
_DIEHL_COOK_MEMBRANE = """
        dv/dt = (E_rest - v + g_e*(E_exc - v) + g_i*(E_inh - v))/tau_m : volt (unless refractory)
        dg_e/dt = -g_e/tau_e : 1  # excitatory conductance in units of the leak
        dg_i/dt = -g_i/tau_i : 1  # inhibitory conductance in units of the leak
"""

# The excitatory neuron of Diehl & Cook: firing needs v above v_th + theta - theta_offset
# (theta starts at theta_offset, so the threshold starts at v_th) and a timer that a spike
# resets and that grows at timer_rate: spikes are blocked for t_block / timer_rate = 50 ms,
# as Brian2 ports read the released code's "dtimer/dt = 100.0 : ms". Read in Brian 1's SI
# units that literal is timer_rate = 100 (only the 5 ms refractory period limits firing);
# on 2,000 MNIST examples at N_e = 100 both give 0.64 test accuracy.
# theta rises by theta_plus per spike and decays with tau_theta while ``adapting`` is 1; an
# experiment sets theta_plus = adapting = 0 to freeze it (the paper's test pass).
DIEHL_COOK_EXCITATORY = NeuronModel(
    name="diehl_cook_exc",
    citation=_DIEHL_COOK,
    equations=_DIEHL_COOK_MEMBRANE
    + """
        dtheta/dt = -adapting*theta/tau_theta : volt  # adaptive threshold
        dtimer/dt = timer_rate : second  # time since the last spike, scaled by timer_rate
    """,
    threshold="v > v_th + theta - theta_offset and timer > t_block",
    reset="v = v_reset\ntheta += theta_plus\ntimer = 0*ms",
    refractory="t_ref",
    method="euler",
    initial_values={"v": "E_rest - 40*mV", "theta": "theta_offset", "timer": "0*ms"},
    drive=None,
    synaptic_input="g_e",
    params={
        "tau_m": 100 * ms,
        "E_rest": -65 * mV,
        "E_exc": 0 * mV,
        "E_inh": -100 * mV,
        "v_th": -52 * mV,
        "v_reset": -65 * mV,
        "t_ref": 5 * ms,
        "tau_e": 1 * ms,
        "tau_i": 2 * ms,
        "theta_offset": 20 * mV,
        "theta_plus": 0.05 * mV,
        "tau_theta": 1e7 * ms,
        "adapting": 1.0,
        "timer_rate": 0.1,
        "t_block": 5 * ms,
    },
)

#: The inhibitory partner population of Diehl & Cook (fast, non-adapting).
DIEHL_COOK_INHIBITORY = NeuronModel(
    name="diehl_cook_inh",
    citation=_DIEHL_COOK,
    equations=_DIEHL_COOK_MEMBRANE,
    threshold="v > v_th",
    reset="v = v_reset",
    refractory="t_ref",
    method="euler",
    initial_values={"v": "E_rest - 40*mV"},
    drive=None,
    synaptic_input="g_e",
    params={
        "tau_m": 10 * ms,
        "E_rest": -60 * mV,
        "E_exc": 0 * mV,
        "E_inh": -85 * mV,
        "v_th": -40 * mV,
        "v_reset": -45 * mV,
        "t_ref": 2 * ms,
        "tau_e": 1 * ms,
        "tau_i": 2 * ms,
    },
)

NEURONS = {
    model.name: model
    for model in (
        LIF,
        STDP_LIF,
        ALIF,
        IZHIKEVICH,
        ADEX,
        LIF_COND,
        DIEHL_COOK_EXCITATORY,
        DIEHL_COOK_INHIBITORY,
    )
}
#: Named parameter sets, selected as ``model:set`` (``izhikevich:RS``, ``adex:bursting``).
PARAMETER_SETS = {"izhikevich": IZHIKEVICH_SETS, "adex": ADEX_SETS}


def get_neuron(name: str) -> NeuronModel:
    """The neuron model called ``name`` (``lif``, ``stdp_lif``, ``alif``, ``izhikevich``, ``adex``,
    ``lif_cond``, ``diehl_cook_exc``, ``diehl_cook_inh``), or a named parameter set of one,
    written ``izhikevich:RS`` or ``adex:bursting``."""
    base, _, variant = name.partition(":")
    if base not in NEURONS:
        raise ModelError(f"unknown neuron model {name!r}; choose one of {', '.join(NEURONS)}")
    model = NEURONS[base]
    if variant:
        sets = PARAMETER_SETS.get(base, {})
        if variant not in sets:
            named = "; ".join(f"{m}: {', '.join(v)}" for m, v in PARAMETER_SETS.items())
            raise ModelError(
                f"unknown variant {variant!r} of {base}; the named sets are {named} "
                "(e.g. izhikevich:RS)"
            )
        model = model.with_params(**sets[variant])
    return model
