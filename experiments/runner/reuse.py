"""Run a compiled cpp_standalone project again for a network that differs only in values.

A sweep point rebuilds its network in Python (cheap) on a fresh standalone device. What Brian2
recorded for it — the queue of assignments and runs in ``main()``, the generated code, the
array layout, the clocks — is compared with what the project was compiled from. Where the two
differ only in values assigned before the first run, and no code that runs before the first
run reads those values, the values become the binary's ``run_args`` and nothing is compiled.
Anything else needs a rebuild, and the comparison says why: other code or array sizes, a value
set between run phases, a value read by an initial-value expression (``v = 'E_L'`` runs before
``run_args`` are applied), or another random seed (Brian2 compiles ``seed()`` into ``main()``).

This reads the state of Brian2 2.10's standalone device (``main_queue``, ``code_objects``,
``arrays``, ``timed_arrays``); brian2 is pinned for that reason.
"""

from __future__ import annotations

import contextlib
import fcntl
from dataclasses import dataclass

import numpy as np

_VALUE_KINDS = ("set_by_constant", "set_by_single_value", "set_by_array", "set_array_by_array")


@dataclass
class Recording:
    """What a standalone device recorded for one network, as plain data."""

    #: One (kind, structure, value) per entry of ``main_queue``: the structure must match
    #: exactly between two recordings, the value may differ where it can become a run_arg.
    ops: list[tuple]
    first_run: int  # index in ``ops`` of the first network run, where run_args are applied
    #: Everything else the generated project depends on, compared exactly.
    fixed: dict
    timed_arrays: dict[str, np.ndarray]
    #: Arrays used by any code object that runs before the first network run.
    read_before_run: frozenset[str]


def _code_object_signature(codeobj) -> tuple:
    """The generated text of every block, plus the sizes and constants written beside it."""
    from brian2.core.functions import Function
    from brian2.core.variables import ArrayVariable, Constant, DynamicArrayVariable

    extras = []
    for key, variable in sorted(codeobj.variables.items()):
        if isinstance(variable, DynamicArrayVariable):
            extras.append((key, "dynamic"))
        elif isinstance(variable, ArrayVariable):
            extras.append((key, "size", variable.size))
        elif isinstance(variable, Constant):
            extras.append((key, "constant", repr(variable.value)))
        elif isinstance(variable, Function):
            extras.append((key, "function", getattr(variable, "name", repr(variable))))
    return (tuple(sorted(dict(codeobj.code).items())), tuple(extras))


def record(device) -> Recording:
    """A ``Recording`` of ``device``'s current (not yet built) standalone project."""
    from brian2.core.functions import Function
    from brian2.core.variables import DynamicArrayVariable

    statics = device.static_arrays
    referenced, ops, first_run = set(), [], None
    for kind, args in device.main_queue:
        if kind == "set_by_constant":
            name, value, dynamic = args
            ops.append((kind, (name, dynamic), value))
        elif kind == "set_by_single_value":
            name, item, literal = args
            ops.append((kind, (name, repr(item)), literal))
        elif kind == "set_by_array":
            name, static, dynamic = args
            referenced.add(static)
            ops.append((kind, (name, static, dynamic), statics[static].copy()))
        elif kind == "set_array_by_array":
            name, index, static = args
            referenced |= {index, static}
            ops.append((kind, (name, index, statics[index].copy()), statics[static].copy()))
        elif kind.endswith("_code_object"):
            (codeobj,) = args
            ops.append((kind, codeobj.name, None))
        elif kind == "run_network":
            _, lines = args
            first_run = len(ops) if first_run is None else first_run
            ops.append((kind, tuple(lines), None))
        elif kind == "seed":
            ops.append((kind, None, args))
        elif kind == "resize_array":
            name, size = args
            ops.append((kind, name, size))
        else:  # insert_code, resize_array, start/end_run_func: structure only
            ops.append((kind, repr(args), None))

    ops = _canonical(ops)
    read_before_run = set()
    for kind, args in device.main_queue[: first_run or 0]:
        if kind.endswith("_code_object"):
            (codeobj,) = args
            for variable in codeobj.variables.values():
                if variable in device.arrays:
                    read_before_run.add(device.get_array_name(variable, access_data=False))

    namespaces = {}
    for codeobj in device.code_objects.values():
        for variable in codeobj.variables.values():
            if isinstance(variable, Function):
                device._insert_func_namespace(variable, codeobj, namespaces)
    timed = {name: np.array(ta.values) for ta, name in device.timed_arrays.items()}
    for name in timed:
        namespaces.pop(f"{name}_values", None)

    layout = {}
    for variable in device.arrays:
        dynamic = isinstance(variable, DynamicArrayVariable)
        layout[device.get_array_name(variable, access_data=False)] = (
            _owner_name(variable),
            variable.name,
            np.dtype(variable.dtype).name,
            "dynamic" if dynamic else variable.size,
            variable.read_only,
        )
    fixed = {
        "code": {name: _code_object_signature(c) for name, c in device.code_objects.items()},
        "arrays": layout,
        "arange_arrays": sorted((name, start) for _, name, start in device.arange_arrays),
        "clocks": sorted((clock.name, float(clock.dt_)) for clock in device.clocks),
        "dt": float(device.defaultclock.dt_),
        "code_lines": {slot: list(lines) for slot, lines in device.code_lines.items()},
        "headers": list(device.headers),
        "report_func": device.report_func,
        "static_arrays": {n: a.copy() for n, a in statics.items() if n not in referenced},
        "function_namespaces": {n: np.array(a) for n, a in namespaces.items()},
    }
    if first_run is None:
        first_run = len(ops)
    return Recording(ops, first_run, fixed, timed, frozenset(read_before_run))


def _owner_name(variable) -> str:
    """The name of the object a variable belongs to; '?' once that object is gone (Brian2
    keeps the arrays of objects an experiment created and dropped)."""
    try:
        return variable.owner.name
    except ReferenceError:
        return "?"


def _canonical(ops: list[tuple]) -> list[tuple]:
    """``ops`` with each stretch of consecutive assignments sorted by array (stable): Brian2
    resets clocks in set order, which varies between processes, and assignments to different
    arrays commute."""
    out, block = [], []
    for op in ops:
        if op[0] in _VALUE_KINDS:
            block.append(op)
            continue
        out += sorted(block, key=lambda assignment: assignment[1][0])
        block = []
        out.append(op)
    return out + sorted(block, key=lambda assignment: assignment[1][0])


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _described(layout: dict, name: str) -> str:
    """``owner.variable`` for the array ``name``, as a user knows it."""
    owner, variable = layout[name][:2] if name in layout else ("?", name)
    return f"{owner}.{variable}"


def _literal(text: str, dtype):
    """The value of a C++ literal as Brian2 renders it (``'- 0.07'``, ``'true'``)."""
    text = text.replace(" ", "")
    if text in ("true", "false"):
        return np.asarray(text == "true", dtype=dtype)
    return np.asarray(float(text), dtype=dtype)


def _initial_value(ops, first_run: int, name: str, layout: tuple):
    """The value ``name`` holds when run_args are applied, from the assignments before the
    first run; None when those assignments do not determine it."""
    _, _, dtype, size, _ = layout
    current = None
    for kind, structure, value in ops[:first_run]:
        if kind not in _VALUE_KINDS or structure[0] != name:
            continue
        if kind == "set_by_constant":
            current = np.asarray(value, dtype=dtype) if size == "dynamic" else np.full(size, value)
        elif kind == "set_by_array":
            current = np.array(value, dtype=dtype)
        elif kind == "set_by_single_value":
            literal = _literal(value, dtype)
            if size == 1:
                current = literal.reshape(1)
            elif current is not None and current.ndim == 1:
                current = current.copy()
                current[int(structure[1])] = literal
            else:
                return None
        else:  # set_array_by_array
            if current is None or current.ndim != 1:
                return None
            current = current.copy()
            current[structure[2]] = value
    return current


@dataclass
class Comparison:
    """``run_args`` ({owner.variable or TimedArray name: plain value}) or why none suffice."""

    run_args: dict[str, np.ndarray] | None = None
    reason: str = ""


def compare(compiled: Recording, replay: Recording) -> Comparison:
    """Can the project compiled from ``compiled`` run ``replay`` with run_args alone?"""
    for key in compiled.fixed:
        if not _same(compiled.fixed[key], replay.fixed[key]):
            what = {"code": "the generated code", "arrays": "the array layout"}.get(key, key)
            return Comparison(reason=f"{what} differs")
    if len(compiled.ops) != len(replay.ops) or compiled.first_run != replay.first_run:
        return Comparison(reason="the network differs (another sequence of assignments and runs)")
    layout = replay.fixed["arrays"]
    changed = set()
    for position, (old, new) in enumerate(zip(compiled.ops, replay.ops, strict=True)):
        if old[0] != new[0] or not _same(old[1], new[1]):
            return Comparison(reason=f"the network differs at step {position} of main() ({new[0]})")
        if _same(old[2], new[2]):
            continue
        if new[0] == "seed":
            return Comparison(reason="another random seed (Brian2 compiles seed() into main())")
        if new[0] == "resize_array":
            what = _described(layout, new[1])
            return Comparison(reason=f"{what} has {new[2]} elements, not {old[2]}")
        if position > replay.first_run:
            what = _described(layout, new[1][0])
            return Comparison(reason=f"{what} is set to another value between runs")
        changed.add(new[1][0])
    run_args = {}
    for name in sorted(changed):
        owner, variable, _, _, read_only = layout[name]
        if read_only or owner == "?":
            return Comparison(reason=f"{owner}.{variable} is read-only")
        if name in replay.read_before_run:
            return Comparison(
                reason=f"{owner}.{variable} is read by code that runs before run_args are applied "
                "(an initial value or connection computed from it)"
            )
        value = _initial_value(replay.ops, replay.first_run, name, layout[name])
        if value is None:
            return Comparison(reason=f"the initial value of {owner}.{variable} is set piecewise")
        run_args[f"{owner}.{variable}"] = value
    for name, values in replay.timed_arrays.items():
        if not _same(values, compiled.timed_arrays[name]):
            run_args[f"{name}.values"] = values
    return Comparison(run_args=run_args)


@dataclass
class CompiledProject:
    """A build directory and the recording its binary was compiled from; shared by the runs of
    one sweep worker so that each can reuse the binary."""

    build_dir: str
    compiled: Recording | None = None
    #: A file that the workers of one machine lock while they compile: make already compiles
    #: on every core, so two compiles at once only slow each other down, while simulations
    #: (one core each) can overlap.
    compile_lock: str | None = None

    @contextlib.contextmanager
    def compiling(self):
        if self.compile_lock is None:
            yield
            return
        with open(self.compile_lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def run_args_mapping(device, plain: dict[str, np.ndarray]) -> dict:
    """``device.run``'s run_args ({VariableView or TimedArray: value with units}) from
    ``compare``'s plain ones, for the objects of the network now recorded on ``device``."""
    from brian2 import Quantity
    from brian2.units.fundamentalunits import DIMENSIONLESS

    views = {f"{_owner_name(v)}.{v.name}": v for v in device.arrays}
    timed = {f"{name}.values": ta for ta, name in device.timed_arrays.items()}
    mapping = {}
    for key, value in plain.items():
        if key in timed:
            mapping[timed[key]] = Quantity(value, dim=timed[key].dim)
        else:
            variable = views[key]
            view = getattr(variable.owner, variable.name)
            dimensionless = variable.dim is DIMENSIONLESS
            mapping[view] = value if dimensionless else Quantity(value, dim=variable.dim)
    return mapping
