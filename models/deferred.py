"""Deferred potentiation (``pair_stdp(traces="deferred")``): the functions its code calls.

NEST applies a postsynaptic spike's potentiation when the synapse's next presynaptic spike
arrives, so that a postsynaptic spike does not walk every afferent synapse, each in its own
cache line. The same here: the postsynaptic neuron's reset records its spike in a history
(``record_post_spike``), and the presynaptic pathway first applies what the spikes recorded
since its last spike owe the synapse (``deferred_potentiation``), in order and each clipped,
with the presynaptic trace at each of them: the eager rule's weights, to rounding. What is
still owed when a run ends is applied then, by the same code over every synapse
(``experiments.networks.build``).

The three are C++ (``deferred_stdp.h``, for cpp_standalone) and numpy (for the runtime
device at the sizes a test runs; a Python loop over synapses).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from brian2 import Function, second

HEADER = Path(__file__).resolve().parent / "deferred_stdp.h"
#: Each postsynaptic group with deferred potentiation gets its own history, numbered from 0
#: in the process that builds the networks (the C++ side sizes its storage by the number).
history_numbers = itertools.count()
#: The numpy side's histories: number -> neuron -> its spike times, in order.
_HISTORIES: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))


#: Must match deferred_stdp.h: the epochs over which its exponentials are factored.
EPOCH_TAUS = 100.0


def _epoch(t, tau):
    length = EPOCH_TAUS * np.asarray(tau)
    return np.floor(np.asarray(t) / length) * length


def _record_post_spike(history, neurons, n_neurons, t, tau):
    spikes = _HISTORIES[int(history)]
    counts = []
    for neuron in np.atleast_1d(neurons):
        spikes[int(neuron)].append(float(t))
        counts.append(len(spikes[int(neuron)]))
    return np.asarray(counts, dtype=np.int32)


def _deferred_potentiation(
    w, history, neurons, t_from, t_last, apre_last, epoch, apre_epoch, tau, A, w_max, multiplicative
):
    """The reference: each owed trace as one exponential from t_last (the epoch's factoring,
    which only the C++ needs for speed, is left out)."""
    shape = np.broadcast(w, neurons, t_from, t_last, apre_last).shape
    w, neurons, t_from, t_last, apre_last, tau, A, w_max = (
        np.broadcast_to(np.asarray(x, dtype=float), shape).copy()
        for x in (w, neurons, t_from, t_last, apre_last, tau, A, w_max)
    )
    spikes = _HISTORIES[int(history)]
    for s in range(w.size):
        pending = [t for t in spikes.get(int(neurons.flat[s]), ()) if t >= t_from.flat[s]]
        value = w.flat[s]
        for t_k in pending:
            apre = apre_last.flat[s] * math.exp(-(t_k - t_last.flat[s]) / tau.flat[s])
            step = A.flat[s] * apre * ((w_max.flat[s] - value) if multiplicative else 1.0)
            value = min(max(value + step, 0.0), w_max.flat[s])
        w.flat[s] = value
    return w


@functools.cache
def functions() -> dict[str, Function]:
    """The functions, by the names the rule's and the relay's code call them."""
    headers = {"headers": [f'"{HEADER}"']}
    record = Function(
        _record_post_spike,
        arg_units=[1, 1, 1, second, second],
        arg_types=["integer", "integer", "integer", "float", "float"],
        return_unit=1,
        return_type="integer",
        stateless=False,
    )
    record.implementations.add_implementation(
        "cpp", code="", name="stdplab_record_post_spike", compiler_kwds=headers
    )
    epoch = Function(
        _epoch,
        arg_units=[second, second],
        arg_types=["float", "float"],
        return_unit=second,
        return_type="float",
    )
    epoch.implementations.add_implementation(
        "cpp", code="", name="stdplab_epoch", compiler_kwds=headers
    )
    potentiation = Function(
        _deferred_potentiation,
        arg_units=[1, 1, 1, second, second, 1, second, 1, second, 1, 1, 1],
        arg_types=[
            "float",
            "integer",
            "integer",
            "float",
            "float",
            "float",
            "float",
            "float",
            "float",
            "float",
            "float",
            "integer",
        ],
        return_unit=1,
        return_type="float",
        stateless=False,
    )
    potentiation.implementations.add_implementation(
        "cpp", code="", name="stdplab_deferred_potentiation", compiler_kwds=headers
    )
    return {"record_post_spike": record, "epoch": epoch, "deferred_potentiation": potentiation}
