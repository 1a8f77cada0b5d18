"""What is simulated: neuron models and plasticity rules as Brian2 equations with units.

Change a hypothesis on the record, never in a simulation loop::

    from brian2 import ms
    from models import LIF
    faster = LIF.with_params(tau_m=10*ms)
    leaky_threshold = LIF.with_equation("dv/dt = (E_L - v + R_m*(I + I_syn))/tau_m : volt")
"""

from models.base import ModelError, NeuronModel, PlasticityRule, parse_quantity
from models.neurons import (
    DIEHL_COOK_EXCITATORY,
    DIEHL_COOK_INHIBITORY,
    IZHIKEVICH,
    IZHIKEVICH_SETS,
    LIF,
    LIF_COND,
    NEURONS,
    SONG_2000_PARAMS,
    STDP_LIF,
    get_neuron,
)
from models.plasticity import (
    PAIR_STDP_SETS,
    TRIPLET_SETS,
    diehl_cook_stdp,
    pair_stdp,
    triplet_stdp,
    vq_stdp,
)

__all__ = [
    "DIEHL_COOK_EXCITATORY",
    "DIEHL_COOK_INHIBITORY",
    "IZHIKEVICH",
    "IZHIKEVICH_SETS",
    "LIF",
    "LIF_COND",
    "NEURONS",
    "PAIR_STDP_SETS",
    "SONG_2000_PARAMS",
    "STDP_LIF",
    "TRIPLET_SETS",
    "ModelError",
    "NeuronModel",
    "PlasticityRule",
    "get_neuron",
    "diehl_cook_stdp",
    "pair_stdp",
    "parse_quantity",
    "triplet_stdp",
    "vq_stdp",
]
