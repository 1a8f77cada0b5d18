"""The one place that chooses Brian2's code-generation target.

``simulation(device, build_dir)`` gives a fresh Brian2 state for one experiment and restores
the previous device and preferences afterwards, so nothing leaks into the caller (or into
``~/.brian``). Inside it, an experiment builds its network once, calls ``sim.run(net, T)``, and
reads its results; for the standalone targets the project is compiled once, at that call.

A run is a result only if it simulated its whole duration with finite state: Ctrl-C stops it
(Brian2's graceful stop, which lets the binary exit 0 with the run cut short, is switched
off), a binary that dies or stops early raises ``SimulationFailed``, and a NaN, infinite or
absurd state raises ``experiments.runner.nonfinite.NonFiniteState``. Two runs never share a
build folder (``claimed_build_dir``).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from experiments.runner import nonfinite, reuse
from experiments.runner.progress import (
    REPORT_PERIOD_S,
    Progress,
    apply_environment,
    quiet_environment,
    standalone_report,
)
from experiments.runner.reuse import CompiledProject

DEVICES = ("runtime", "cpp_standalone", "cuda_standalone")
_INITIAL_STATE = "before_phases"  # the name under which a rerunnable runtime network is stored

# brian2cuda's generated makefile asks for C++11, which nvcc 13 rejects; 7.5 is the oldest
# compute capability nvcc 13 still compiles for, the target where no GPU is found.
CUDA_CXX_STANDARD = "-std=c++17"
CUDA_COMPUTE_CAPABILITY = 7.5


#: How the compiled binary is started on Linux: through a Python that asks the kernel to kill it
#: when the process that runs it dies (prctl PR_SET_PDEATHSIG), sets glibc's tunables, then
#: becomes the binary. A run killed from outside (SIGTERM, SIGKILL) would otherwise leave its
#: binary simulating on, and writing results, in a build folder whose lock died with the run,
#: where the next run builds.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys; "
    "ctypes.CDLL(None).prctl(1, signal.SIGKILL); "  # 1: PR_SET_PDEATHSIG
    "os.getppid() == int(sys.argv[1]) or sys.exit('the run that started this binary ended'); "
    "os.environ['GLIBC_TUNABLES'] = sys.argv[2]; "
    "os.execv(sys.argv[3], sys.argv[3:])"
)
#: glibc's tunable that has malloc ask for transparent huge pages for its large blocks, the
#: synaptic arrays among them: fewer TLB misses on the strided postsynaptic pass. glibc older
#: than 2.35 ignores it, as does a system whose transparent huge pages are "never".
HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1"


def binary_command(huge_pages: bool = True) -> list[str]:
    """Brian2's ``run_cmd_unix``: the binary, tied to this process where the system allows,
    with huge pages for its large arrays unless ``huge_pages`` is false (the user's own
    GLIBC_TUNABLES are kept)."""
    if not sys.platform.startswith("linux"):
        return ["./main"]
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if huge_pages and "glibc.malloc.hugetlb" not in tunables:
        tunables = ":".join(filter(None, [tunables, HUGE_PAGES_TUNABLE]))
    return [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), tunables, "./main"]


#: ``threads="auto"``: one OpenMP thread below this many synapses, two from it. Brian2 opens
#: a parallel region per code object per step (about 3 µs on a 2-core machine), more than a
#: small network's whole step: on the plasticity benchmark's layer, two threads ran 0.50× as
#: fast as one at 10⁵ synapses, 1.33× at 10⁶ and 1.41× at 10⁷ (benchmarks/README.md). More
#: than two threads were never measured on these machines, so auto never picks more.
THREADS_FROM_SYNAPSES = 10**6
AUTO_THREADS = "auto"


def planned_synapses(device, net) -> int:
    """Synapses that the standalone project recorded so far creates for ``net``: exact for
    ``connect()`` with index arrays, N_pre × N_post for a connection rule (exact for
    all-to-all, an upper bound where a condition or probability thins it: the binary
    evaluates the rule)."""
    from brian2 import Synapses

    in_net = {obj.name for obj in net.objects if isinstance(obj, Synapses)}
    total = 0
    for codeobj in device.code_objects.values():
        if codeobj.template_name not in ("synapses_create_array", "synapses_create_generator"):
            continue
        try:
            synapses = codeobj.owner  # a weak proxy: objects of a discarded network are gone
            if synapses.name not in in_net:
                continue
        except ReferenceError:
            continue
        if codeobj.template_name == "synapses_create_array":
            total += codeobj.variables["sources"].size
        else:
            total += len(synapses.source) * len(synapses.target)
    return total


def auto_threads(synapses: int) -> int:
    """The OpenMP threads ``threads="auto"`` runs ``synapses`` with on this machine."""
    return min(2, os.cpu_count() or 1) if synapses >= THREADS_FROM_SYNAPSES else 1


class DeviceError(RuntimeError):
    """A device that is unknown or cannot be used here; the message names the fix."""


class BuiltButNotRun(RuntimeError):
    """The CUDA project was generated (and compiled where possible) but no GPU can run it."""


class SimulationFailed(RuntimeError):
    """The compiled project did not build or did not run to its end; the message says where
    its output is."""


#: Build folders this process holds, with how many claims on each (claims nest: a sweep worker
#: holds its folder for all its runs, and each run claims it again).
_HELD: dict[Path, list] = {}


@contextlib.contextmanager
def claimed_build_dir(preferred: str | Path, progress: Progress | None = None) -> Iterator[Path]:
    """``preferred`` if no other process is building or running in it, else the first free one
    of ``preferred.2``, ``preferred.3``, ...: two runs at once (``make figures`` in one
    terminal, ``stdplab run`` in another) never share generated code, binaries or result
    files. A lock file inside the folder is held for the whole run and freed by the system if
    the process dies; the extra folders stay, so later concurrent runs recompile only what
    changed."""
    preferred = Path(preferred).resolve()
    for k in itertools.count(1):
        candidate = preferred if k == 1 else preferred.with_name(f"{preferred.name}.{k}")
        if candidate in _HELD:
            _HELD[candidate][1] += 1
            break
        candidate.mkdir(parents=True, exist_ok=True)
        handle = open(candidate / ".stdplab.lock", "a")  # held until the last release
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _HELD[candidate] = [handle, 1]
        if k > 1 and progress is not None:
            progress.note(f"{preferred} is in use by another run; building in {candidate}")
        break
    try:
        yield candidate
    finally:
        _HELD[candidate][1] -= 1
        if _HELD[candidate][1] == 0:
            _HELD.pop(candidate)[0].close()  # closing the file releases the lock


def check_device(name: str) -> str:
    if name not in DEVICES:
        raise DeviceError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    return name


def gpu_available() -> bool:
    """True when ``nvidia-smi`` lists at least one GPU."""
    if shutil.which("nvidia-smi") is None:
        return False
    probe = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return probe.returncode == 0 and "GPU" in probe.stdout


def gpu_compute_capability() -> float | None:
    """The first GPU's compute capability as ``nvidia-smi`` reports it (9.0 on an H100 or
    H200); None where there is no GPU or the driver does not say."""
    if shutil.which("nvidia-smi") is None:
        return None
    probe = subprocess.run(
        ["nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return float(probe.stdout.split()[0]) if probe.returncode == 0 else None
    except (ValueError, IndexError):
        return None


def curand_location() -> tuple[Path, Path] | None:
    """(include dir, library file) of cuRAND: the ``nvidia-curand`` wheel, else the toolkit."""
    spec = importlib.util.find_spec("nvidia")
    roots = []
    for location in (spec.submodule_search_locations or []) if spec else []:
        roots += [header.parent.parent for header in Path(location).glob("*/include/curand.h")]
    nvcc = shutil.which("nvcc")
    if nvcc:
        roots.append(Path(nvcc).resolve().parent.parent)
    for root in roots:
        if (root / "include" / "curand.h").exists():
            for lib in ("lib", "lib64"):
                libraries = sorted((root / lib).glob("libcurand.so*"))
                if libraries:
                    return root / "include", libraries[0]
    return None


@dataclass
class Simulation:
    """Handle an experiment uses inside ``simulation()``."""

    device: str
    build_dir: Path
    #: Wall seconds of the last simulation alone, all phases: the runtime's run() calls, or
    #: the compiled binary (loading its inputs and writing its results included).
    run_seconds: float | None = None
    #: A compiled project that this run may reuse through run_args (cpp_standalone; set by
    #: the runs of a sweep that share a build directory).
    project: CompiledProject | None = None
    #: How the standalone binary was obtained: 'compiled', 'run_args' (the project's binary,
    #: nothing compiled) or 'rebuilt: <why run_args could not do>'.
    execution: str | None = None
    #: Where phases and progress are reported (quiet: nowhere).
    progress: Progress = field(default_factory=Progress)
    #: OpenMP threads of the compiled project; ``AUTO_THREADS`` until the first run chooses
    #: them from the network's synapses (cpp_standalone).
    threads: int | str = 1
    #: The run_args that turn the reused binary into this run's network.
    _point_args: dict = field(default_factory=dict)
    #: Where the build folder is claimed when the project is built (cpp_standalone): not
    #: before, so that a network that fails to build leaves no folder behind.
    _claims: contextlib.ExitStack | None = None
    #: The networks run, held until the context ends: Brian2's runtime monitors hand out
    #: numpy views of memory their dynamic arrays own and free with them, so arrays an
    #: experiment returns would otherwise point at freed memory once its objects are gone.
    _networks: list = field(default_factory=list)

    def run(self, net, duration) -> None:
        """Run ``net`` for ``duration``; standalone targets compile and execute here."""
        self.run_phases(net, [(duration, None)])

    def run_phases(self, net, phases, rerunnable: bool = False) -> None:
        """Run ``net`` through ``[(duration, before), ...]``, calling ``before()`` (if given)
        ahead of its phase, e.g. to switch plasticity off by setting a rate to zero. On the
        standalone targets the phases and the settings between them are recorded, then
        compiled and executed once. ``rerunnable`` keeps the runtime network's initial state
        for ``rerun``. Raises ``NonFiniteState`` if the state became NaN, infinite or absurd."""
        from brian2 import device

        self._networks.append(net)
        total_s = sum(float(duration) for duration, _ in phases)
        _check_steps(net, total_s)
        _check_relays(net)
        nonfinite.watch(net)
        if rerunnable and self.device == "runtime":
            net.store(_INITIAL_STATE)
        if self.threads == AUTO_THREADS:
            self._choose_threads(net)
        started = time.perf_counter()
        if self.device == "runtime":
            self.progress.phase(f"simulating {total_s:.4g} s of model time (runtime device)")
        self._run_each(net, phases, total_s)
        self.run_seconds = time.perf_counter() - started
        if self.device == "cpp_standalone":
            self._build_or_reuse(total_s)
        elif self.device == "cuda_standalone":
            self._build_cuda(device)
        nonfinite.check(net)

    def _choose_threads(self, net) -> None:
        """Set the compiled project's OpenMP threads from ``net``'s synapses, before its code
        objects are generated (their OpenMP pragmas depend on it)."""
        from brian2 import get_device, prefs

        synapses = planned_synapses(get_device(), net)
        self.threads = auto_threads(synapses)
        if self.threads > 1:
            prefs.devices.cpp_standalone.openmp_threads = self.threads
        self.progress.note(
            f"{synapses:,} synapses: {self.threads} OpenMP thread(s) (threads auto: 2 from "
            f"{THREADS_FROM_SYNAPSES:.0e})"
        )

    def integration(self) -> dict[str, str]:
        """The integration method of each neuron group run (``experiments.networks.build`` may
        choose another than the record's where the exact solution is singular)."""
        from brian2 import NeuronGroup

        return {
            obj.name: obj.method_choice
            for net in self._networks
            for obj in net.objects
            if type(obj) is NeuronGroup and obj.equations.diff_eq_names
        }

    def compiler(self) -> dict | None:
        """The compiler, its version and the flags the generated code was compiled with
        (``-march=native -ffast-math`` can change results from one machine to another), and
        the files compiled with other flags than the rest (``per_file_flags``)."""
        from brian2 import prefs

        if self.device == "runtime":
            if prefs.codegen.target != "cython":
                return None
            command = sysconfig.get_config_var("CC") or "cc"
            flags = list(prefs.codegen.cpp.extra_compile_args_gcc)
        elif self.device == "cuda_standalone":
            command = "nvcc"
            backend = prefs.devices.cuda_standalone.cuda_backend
            target = f"compute capability {backend.compute_capability}"
            flags = [*backend.extra_compile_args_nvcc, target]
        else:
            command = os.environ.get("CXX", "g++")  # make's default for $(CXX)
            flags = _makefile_flags(self.build_dir / "makefile")
        per_file = {}
        if self.device != "runtime" and (self.build_dir / PRECOMPILED_MAKEFILE).exists():
            flags = [*flags, "-include", PRECOMPILED_HEADER]  # same code, headers parsed once
            per_file = {"objects.cpp": ["-O0"]}  # only allocates, loads and writes arrays
        executable = shlex.split(command)[0]
        version = None
        if shutil.which(executable):
            probe = subprocess.run(
                [executable, "--version"], capture_output=True, text=True, check=False
            )
            lines = [line for line in probe.stdout.splitlines() if line.strip()]
            version = lines[-1 if executable == "nvcc" else 0] if lines else None
        compiler = {"command": command, "version": version, "flags": flags}
        return compiler | ({"per_file_flags": per_file} if per_file else {})

    def rerun(self, net, phases, values: dict) -> None:
        """Run again what ``run_phases(net, phases, rerunnable=True)`` ran, from the initial
        state but with ``values`` ({``group.variable`` or TimedArray: new initial values})
        in place of the initial ones, without recompiling: cpp_standalone executes the
        compiled project again with them as ``run_args``, runtime restores the stored state."""
        from brian2 import TimedArray, device

        if self.device == "cpp_standalone":
            self._run_binary(device, run_args=_merged(self._point_args, values))
        elif self.device == "runtime":
            net.restore(_INITIAL_STATE)
            for key, value in values.items():
                # the numpy and cython code read the TimedArray's own array at each call
                if isinstance(key, TimedArray):
                    key.values[:] = np.asarray(value)
                else:
                    key[:] = value
            started = time.perf_counter()
            self._run_each(net, phases, sum(float(duration) for duration, _ in phases))
            self.run_seconds = time.perf_counter() - started
        else:
            raise DeviceError(f"rerun supports runtime and cpp_standalone, not {self.device}")
        nonfinite.check(net)

    def _build_or_reuse(self, total_s: float) -> None:
        """Compile, or run the project's binary with run_args where the network recorded now
        differs from the compiled one in values only."""
        from brian2 import get_device

        device = get_device()  # the device itself: brian2.device is a proxy for reading
        if self._claims is not None:
            self.build_dir = self._claims.enter_context(
                claimed_build_dir(self.build_dir, self.progress)
            )
            self._claims = None
        self.execution = "compiled"
        project = self.project or CompiledProject(self.build_dir)  # a single run: no reuse
        recording = reuse.record(device) if self.project else None  # before build() adds to it
        if project.compiled is not None:
            comparison = reuse.compare(project.compiled, recording)
            if comparison.run_args is not None:
                # what build() would have set: where run_args files and results go
                device.project_dir = str(self.build_dir)
                device.results_dir = f"{self.build_dir / 'results'}/"
                self._point_args = reuse.run_args_mapping(device, comparison.run_args)
                self.execution = "run_args"
                self.progress.phase(
                    f"simulating {total_s:.4g} s of model time with the compiled binary "
                    "(new values as run_args, no compile)"
                )
                self._run_binary(device, run_args=self._point_args)
                return
            self.execution = f"rebuilt: {comparison.reason}"
        self.progress.phase(f"generating C++ code in {self.build_dir}")
        device.build(directory=str(self.build_dir), compile=False, run=False)
        with project.compiling():
            self._compile()
        project.compiled = recording
        self.progress.phase(f"simulating {total_s:.4g} s of model time")
        self._run_binary(device)

    def _compile(self) -> None:
        """``make`` in the build folder, as Brian2 runs it, with its output kept in
        ``make.log`` (Brian2 hides it) and Ctrl-C raising KeyboardInterrupt here (Brian2's
        ``os.system`` ignores it in this process)."""
        from brian2 import prefs

        settings = prefs.devices.cpp_standalone
        command = [*shlex.split(settings.make_cmd_unix), *settings.extra_make_args_unix]
        if _with_precompiled_header(self.build_dir):
            command += ["-f", PRECOMPILED_MAKEFILE]
        self.progress.phase(f"compiling ({' '.join(command)}; make.log in the build folder)")
        log = self.build_dir / "make.log"
        with open(log, "w") as output:
            done = subprocess.run(
                command, cwd=self.build_dir, stdout=output, stderr=subprocess.STDOUT, check=False
            )
        if done.returncode != 0:
            raise SimulationFailed(
                f"the C++ compile failed (make exited with {done.returncode}); the compiler's "
                f"output is in {log}"
            )

    def _run_binary(self, device, run_args=None) -> None:
        # Brian2's own timer (device._last_run_time) covers the last phase only.
        started = time.perf_counter()
        restore = apply_environment(quiet_environment(self.progress.quiet))
        try:
            device.run(directory=str(self.build_dir), run_args=run_args, with_output=False)
        except RuntimeError:
            raise SimulationFailed(
                f"the compiled simulation in {self.build_dir} stopped with an error or was "
                f"killed; its output is in {self.build_dir / 'results' / 'stdout.txt'}"
            ) from None
        finally:
            restore()
        self.run_seconds = time.perf_counter() - started
        if device._last_run_completed_fraction < 1.0:
            raise SimulationFailed(
                f"the compiled simulation in {self.build_dir} stopped at "
                f"{100 * device._last_run_completed_fraction:.1f} % of its last run"
            )

    def _run_each(self, net, phases, total_s: float) -> None:
        from brian2 import second

        report = {
            "runtime": self.progress.runtime_report(total_s),
            "cpp_standalone": standalone_report(total_s),
        }.get(self.device, "stderr")
        for duration, before in phases:
            if before is not None:
                before()
            # An empty run namespace: every name must be a model variable or in a group's own
            # namespace, never picked up from whichever Python frame happens to call run().
            net.run(duration, namespace={}, report=report, report_period=REPORT_PERIOD_S * second)

    def _build_cuda(self, device) -> None:
        curand = curand_location()
        can_compile = shutil.which("nvcc") is not None and curand is not None
        self.progress.phase(
            f"generating{' and compiling' if can_compile else ''} CUDA code in {self.build_dir}"
        )
        device.build(directory=str(self.build_dir), compile=can_compile, run=False)
        self.run_seconds = None  # nothing was simulated unless the GPU runs it below
        if gpu_available() and can_compile:
            self.progress.phase("simulating on the GPU")
            started = time.perf_counter()
            device.run(directory=str(self.build_dir))
            self.run_seconds = time.perf_counter() - started
            self.execution = "compiled"
            return
        what = (
            "generated and compiled"
            if can_compile
            else "generated (not compiled: "
            + (
                "nvcc not found"
                if shutil.which("nvcc") is None
                else "cuRAND headers not found; pip install nvidia-curand==10.4.0.35"
            )
            + ")"
        )
        raise BuiltButNotRun(
            f"CUDA project {what} in {self.build_dir}; there is no GPU on this machine, so it "
            "was not run and no results were written. Run it on a machine with an NVIDIA GPU."
        )


#: Brian2 stores the times of a SpikeGeneratorGroup as 32-bit step counts.
MAX_STEPS = 2**31 - 1


def _check_steps(net, total_s: float) -> None:
    """ConfigError, before anything is built, for a run that no clock of ``net`` can step
    through: longer than ``MAX_STEPS`` steps, or shorter than one step."""
    from experiments.runner.configs import ConfigError

    for clock in {obj.clock for obj in net.objects}:
        dt_s = float(clock.dt)
        steps = total_s / dt_s
        if steps > MAX_STEPS:
            raise ConfigError(
                f"the run is {total_s:.4g} s of model time in steps of {dt_s * 1e3:.4g} ms, "
                f"{steps:.3g} steps, more than Brian2's {MAX_STEPS} (spike times are 32-bit "
                "step counts); shorten the protocol or choose a longer dt_ms"
            )
        if 0 < total_s < dt_s:
            raise ConfigError(
                f"the time step {dt_s * 1e3:.4g} ms is longer than the whole run "
                f"({total_s * 1e3:.4g} ms); choose a shorter dt_ms"
            )


def _check_relays(net) -> None:
    """ModelError, before anything is built, for plastic synapses whose per-neuron traces'
    relay (``experiments.networks.build.plastic_synapses``) the network lacks: the relay
    would never spike, and the rule would learn from traces that stay at zero."""
    from models.base import ModelError

    for obj in net.objects:
        missing = [part.name for part in getattr(obj, "relay", ()) if part not in net.objects]
        if missing:
            raise ModelError(
                f"{obj.name} keeps its presynaptic traces in {', '.join(missing)}, which the "
                f"network does not hold: add them (Network(..., {obj.name}, *{obj.name}.relay))"
            )


#: Every generated source includes these headers, and parsing them is most of the compile
#: (about 2 of 2.7 s per code object); precompiled once per project, with the makefile's own
#: flags, they cut a code object's compile to about 0.6 s for the same machine code.
PRECOMPILED_HEADERS = (
    '"objects.h"',
    '"synapses_classes.h"',
    '"brianlib/common_math.h"',
    '"brianlib/stdint_compat.h"',
    *(f"<{name}>" for name in ("chrono", "climits", "cmath", "ctime", "fstream", "iostream")),
)
PRECOMPILED_HEADER = "stdplab_pch.h"
#: Brian2's makefile plus the header's rule: every object waits for the header and includes it
#: first (``-include``), so GCC reads the precompiled one. ``objects.cpp`` only allocates,
#: loads and writes the arrays (no model code), yet at -O3 it is the longest compile of a
#: large project (about 30 s of 11,000 lines for event_features): it is compiled at -O0.
PRECOMPILED_MAKEFILE = "stdplab_pch.mk"
_PRECOMPILED_RULES = f"""include makefile
PCH_CXXFLAGS := $(CXXFLAGS)
CXXFLAGS += -include {PRECOMPILED_HEADER}
{PRECOMPILED_HEADER}.gch: {PRECOMPILED_HEADER} objects.h synapses_classes.h makefile
\t$(CXX) $(PCH_CXXFLAGS) -x c++-header $< -o $@
$(OBJS) $(DEPS): {PRECOMPILED_HEADER}.gch
objects.o: CXXFLAGS += -O0
"""


def _with_precompiled_header(build_dir: Path) -> bool:
    """Write the precompiled header and its makefile into a generated C++ project; False
    (compile as Brian2 does) where the project lacks a header it names or uses another
    compiler than GCC, which reads ``.gch`` files."""
    compiler = shlex.split(os.environ.get("CXX", "g++"))[0]
    local = [name.strip('"') for name in PRECOMPILED_HEADERS if name.startswith('"')]
    gcc = re.fullmatch(r"(.*-)?g\+\+(-[0-9.]+)?", Path(compiler).name)  # not clang++
    if not gcc or not all((build_dir / n).exists() for n in local):
        return False
    header = "".join(f"#include {name}\n" for name in PRECOMPILED_HEADERS)
    (build_dir / PRECOMPILED_HEADER).write_text(header)
    (build_dir / PRECOMPILED_MAKEFILE).write_text(_PRECOMPILED_RULES)
    return True


def _makefile_flags(makefile: Path) -> list[str]:
    """The optimisation flags Brian2 wrote into the project's makefile (include paths aside)."""
    if not makefile.exists():
        return []
    for line in makefile.read_text().splitlines():
        if line.startswith("OPTIMISATIONS"):
            flags = shlex.split(line.partition("=")[2])
            return [flag for flag in flags if not flag.startswith("-I")]
    return []


def _run_arg_name(key) -> str:
    from brian2 import TimedArray

    return f"{key.name}.values" if isinstance(key, TimedArray) else f"{key.group_name}.{key.name}"


def _merged(point_args: dict, values: dict) -> dict:
    """``values`` on top of the run_args that make this run's network: a rerun of a reused
    binary keeps the point's parameters unless ``values`` sets them anew."""
    named = {_run_arg_name(key): (key, value) for key, value in point_args.items()}
    named.update({_run_arg_name(key): (key, value) for key, value in values.items()})
    return dict(named.values())


def _configure_cuda(prefs, build_dir: Path) -> None:
    import brian2cuda  # noqa: F401  (registers the cuda_standalone device and its preferences)

    backend = prefs.devices.cuda_standalone.cuda_backend
    # brian2cuda's own detection fails where there is no GPU (and needs its deviceQuery tool
    # where there is one): the target is this machine's first GPU, else the oldest nvcc keeps.
    backend.detect_gpus = False
    backend.gpu_id = 0
    backend.compute_capability = gpu_compute_capability() or CUDA_COMPUTE_CAPABILITY
    backend.extra_compile_args_nvcc = [*backend.extra_compile_args_nvcc, CUDA_CXX_STANDARD]
    prefs.codegen.cpp.extra_compile_args_gcc = [
        *prefs.codegen.cpp.extra_compile_args_gcc,
        CUDA_CXX_STANDARD,
    ]
    curand = curand_location()
    if curand:
        include_dir, library = curand
        # The wheel ships only libcurand.so.10, but brian2cuda links with -lcurand: give the
        # linker a libcurand.so inside our own build directory, never in site-packages.
        link_dir = build_dir / "curand_link"
        link_dir.mkdir(parents=True, exist_ok=True)
        link = link_dir / "libcurand.so"
        if not link.exists():
            link.symlink_to(library)
        prefs.codegen.cpp.include_dirs = [*prefs.codegen.cpp.include_dirs, str(include_dir)]
        prefs.codegen.cpp.library_dirs = [*prefs.codegen.cpp.library_dirs, str(link_dir)]
        prefs.codegen.cpp.runtime_library_dirs = [
            *prefs.codegen.cpp.runtime_library_dirs,
            str(library.parent),
        ]


@contextlib.contextmanager
def simulation(
    device: str,
    build_dir: str | Path | None = None,
    threads: int | str = 1,
    runtime_target: str = "numpy",
    project: CompiledProject | None = None,
    progress: Progress | None = None,
) -> Iterator[Simulation]:
    """A fresh Brian2 state on ``device``; the caller's device and prefs are restored after.

    ``build_dir`` (standalone devices only) should be stable per experiment and device, so
    that a rerun reuses the compiled objects; if another process is using it, the run builds
    in a sibling folder instead (``claimed_build_dir``). ``runtime_target`` ('numpy' or
    'cython') applies to the runtime device. ``threads`` (cpp_standalone) is a number of
    OpenMP threads, or ``AUTO_THREADS``: chosen from the network's synapses at its first run
    (``auto_threads``; ``sim.threads`` then says how many). ``project`` (cpp_standalone) is
    the compiled project in ``build_dir`` that this run may reuse with run_args instead of
    compiling. ``progress`` receives the phases and simulated time (default: printed on stderr).
    """
    from brian2 import prefs, set_device
    from brian2.devices.device import reinit_devices, reset_device

    check_device(device)
    if build_dir is None and device != "runtime":
        raise DeviceError(f"{device} needs a build directory for its generated project")
    progress = progress or Progress()
    with contextlib.ExitStack() as claims:
        build_dir = Path(build_dir or ".").resolve()
        if device == "cuda_standalone":  # its configuration writes into the folder
            build_dir = claims.enter_context(claimed_build_dir(build_dir, progress))
        prefs._backup()
        reinit_devices()
        try:
            # A run cut short by Ctrl-C is no result: raise KeyboardInterrupt at once instead
            # of Brian2's graceful stop (which ends the binary with status 0 mid-run).
            prefs.core.stop_on_keyboard_interrupt = False
            if device == "runtime":
                prefs.codegen.target = runtime_target
                set_device("runtime")
            else:
                if device == "cuda_standalone":
                    _configure_cuda(prefs, build_dir)
                else:
                    # the report function (experiments.runner.progress) keeps time with std::chrono
                    prefs.codegen.cpp.headers = [*prefs.codegen.cpp.headers, "<chrono>"]
                    if threads != AUTO_THREADS and threads > 1:  # 0 compiles without OpenMP
                        prefs.devices.cpp_standalone.openmp_threads = threads
                prefs.devices.cpp_standalone.run_cmd_unix = binary_command()
                set_device(device, directory=str(build_dir), build_on_run=False)
            yield Simulation(
                device=device,
                build_dir=build_dir,
                project=project,
                progress=progress,
                # only the C++ project has threads to choose
                threads=1 if threads == AUTO_THREADS and device != "cpp_standalone" else threads,
                _claims=claims if device == "cpp_standalone" else None,
            )
        finally:
            reinit_devices()
            reset_device("runtime")
            prefs._restore()
