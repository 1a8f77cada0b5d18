"""A run whose state becomes NaN or infinite fails, naming the variable, the group and the step.

Brian2 only logs a warning about invalid values after a run, and the analysis then computes
verdicts from them. ``watch(net)`` adds, for every neuron group of a network, a small group that
reads the group's integrated variables through linked variables and records, per neuron, the
first time step at which one of them is invalid (one comparison per variable and step, in the
same compiled code). ``check(net)`` reads those records and the final state of every synapse
group's variables after the run, and raises ``NonFiniteState`` with one line.

Invalid is Brian2's own rule: NaN, infinite, or beyond ``BOUND`` in SI units, which no
physical state reaches (a quadratic neuron whose spike peak is out of reach climbs to 1e299 V
without ever overflowing).
"""

from __future__ import annotations

import numpy as np

SUFFIX = "_finite"
#: Brian2's bound on a valid state value (``Group._check_for_invalid_values``), in SI units.
BOUND = 1e50


class NonFiniteState(RuntimeError):
    """A state variable became invalid during the run; the message names it."""


def _watched_variables(group) -> list[str]:
    """The group's floating-point variables that its equations integrate."""
    names = []
    for name in group.equations.diff_eq_names:
        variable = group.variables[name]
        if np.issubdtype(np.dtype(variable.dtype), np.floating):
            names.append(name)
    return sorted(names)


def watch(net) -> None:
    """Add a watcher for each neuron group of ``net`` (before its first run)."""
    from brian2 import NeuronGroup, linked_var
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit

    groups = [obj for obj in net.objects if type(obj) is NeuronGroup]
    for group in groups:
        if group.name.endswith(SUFFIX) or any(o.name == group.name + SUFFIX for o in net.objects):
            continue
        names = _watched_variables(group)
        if not names:
            continue
        units = {}
        for name in names:
            dim = group.variables[name].dim
            units[name] = "1" if dim is DIMENSIONLESS else repr(get_unit(dim))
        declarations = [f"watched_{name} : {units[name]} (linked)" for name in names]
        watcher = NeuronGroup(
            len(group),
            "\n".join([*declarations, "first_step : integer", "which : integer"]),
            clock=group.clock,
            name=group.name + SUFFIX,
        )
        for name in names:
            setattr(watcher, f"watched_{name}", linked_var(group, name))
        watcher.first_step = -1
        # `which` is a bit mask of the variables that were not finite at the first bad step.
        # `not (|x| < bound)` also holds for NaN, for which every comparison is false
        bad = " + ".join(
            f"{1 << k}*int(not (abs(watched_{name}) < {BOUND!r}*{units[name]}))"
            for k, name in enumerate(names)
        )
        watcher.run_regularly(
            f"_bad = {bad}\n"
            "_first = int(first_step < 0 and _bad > 0)\n"
            "which += _first*_bad\n"
            "first_step += _first*(timestep(t, dt) + 1)",
            when="end",
            name=group.name + SUFFIX + "_check",
        )
        net.add(watcher)


def check(net) -> None:
    """Raise ``NonFiniteState`` if any watched group or synapse state became invalid."""
    from brian2 import Synapses

    found = []
    for watcher in [o for o in net.objects if o.name.endswith(SUFFIX)]:
        steps = np.asarray(watcher.first_step[:])
        bad = np.flatnonzero(steps >= 0)
        if bad.size == 0:
            continue
        neuron = bad[np.argmin(steps[bad])]
        step = int(steps[neuron])
        mask = int(np.asarray(watcher.which[:])[neuron])
        prefix = "watched_"
        watched = sorted(n[len(prefix) :] for n in watcher.variables if n.startswith(prefix))
        names = [name for k, name in enumerate(watched) if mask >> k & 1]
        dt = float(watcher.clock.dt_)
        group = watcher.name[: -len(SUFFIX)]
        found.append(
            (
                step * dt,
                f"{' and '.join(names)} of group '{group}' (neuron {neuron}, "
                f"{bad.size} of {len(steps)} neurons) first at step {step} "
                f"(t = {step * dt * 1e3:.6g} ms)",
            )
        )
    for synapses in [o for o in net.objects if isinstance(o, Synapses)]:
        for name in sorted(synapses.equations.names if synapses.equations else ()):
            variable = synapses.variables[name]
            if variable.constant or not np.issubdtype(np.dtype(variable.dtype), np.floating):
                continue
            values = np.asarray(variable.get_value())
            invalid = ~(np.abs(values) < BOUND)
            if invalid.any():
                found.append(
                    (
                        float("inf"),
                        f"{name} of synapses '{synapses.name}' "
                        f"({np.count_nonzero(invalid)} of {values.size}) by the end "
                        "of the run",
                    )
                )
    if found:
        found.sort(key=lambda item: item[0])
        raise NonFiniteState(
            f"the state became NaN, infinite or beyond {BOUND:g} (SI units): "
            + "; ".join(text for _, text in found)
            + ". No result was written. Check the parameters and equations changed for this "
            "run (units, signs, time constants) or choose a smaller dt"
        )
