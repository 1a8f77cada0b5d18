"""Code-generation targets: the same network gives the same result on each; CUDA builds
without a GPU."""

import os
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest

from experiments.runner import devices
from experiments.runner.devices import BuiltButNotRun, DeviceError, check_device, simulation
from models import LIF, pair_stdp

FIXED_INPUT_SEED = 3


def _plastic_network(sim):
    """20 fixed input trains onto a LIF neuron through additive pair STDP."""
    from brian2 import Network, SpikeGeneratorGroup, SpikeMonitor, defaultclock, ms, second

    from experiments.networks.build import neuron_group, plastic_synapses

    defaultclock.dt = 0.1 * ms
    rng = np.random.default_rng(FIXED_INPUT_SEED)
    n_inputs, duration_s = 20, 0.5
    times = rng.uniform(0, duration_s, size=400)
    indices = rng.integers(0, n_inputs, size=400)
    steps = np.round(times / 1e-4).astype(int)
    _, first = np.unique(np.stack([indices, steps]), axis=1, return_index=True)  # one per bin
    inputs = SpikeGeneratorGroup(n_inputs, indices[first], steps[first] * 1e-4 * second)
    neuron = neuron_group(LIF, 1, name="neuron")
    rule = pair_stdp(A_plus=0.05, A_minus=0.055, w_max=1.0)
    synapses = plastic_synapses(
        rule,
        inputs,
        neuron,
        name="synapses",
        transmit="I_syn_post += w*nA",
        connect="True",
        w_init=0.6,
    )
    spikes = SpikeMonitor(neuron)
    sim.run(Network(inputs, neuron, synapses, spikes), duration_s * second)
    return np.array(synapses.w[:]), np.array(spikes.t[:])


@pytest.mark.standalone
def test_runtime_and_cpp_standalone_give_the_same_weights(tmp_path, monkeypatch):
    with simulation("runtime", tmp_path / "runtime", runtime_target="numpy") as sim:
        runtime_w, runtime_spikes = _plastic_network(sim)
    with simulation("cpp_standalone", tmp_path / "cpp") as sim:
        standalone_w, standalone_spikes = _plastic_network(sim)
    assert len(runtime_spikes) >= 3  # the neuron fires, so both LTP and LTD act
    assert np.ptp(runtime_w) > 0.05  # and the weights have moved apart
    np.testing.assert_allclose(standalone_spikes, runtime_spikes, rtol=0, atol=1e-12)
    np.testing.assert_allclose(standalone_w, runtime_w, rtol=1e-10)
    # threads auto, its bar lowered below these 20 synapses: the code objects generated
    # before it chose (the synapses' creation and initial values) and after (the OpenMP
    # ones) build into one binary that learns the same
    monkeypatch.setattr(devices, "THREADS_FROM_SYNAPSES", 20)
    with simulation("cpp_standalone", tmp_path / "auto", threads="auto") as sim:
        auto_w, auto_spikes = _plastic_network(sim)
        assert sim.threads == min(2, os.cpu_count())
    if sim.threads > 1:
        assert "omp_set_num_threads(2)" in (tmp_path / "auto" / "main.cpp").read_text()
    np.testing.assert_allclose(auto_spikes, runtime_spikes, rtol=0, atol=1e-12)
    np.testing.assert_allclose(auto_w, runtime_w, rtol=1e-10)
    # ... and the code objects were compiled against the precompiled header, which GCC read
    # (-H marks a precompiled header it used with "!"; an invalid one would be parsed again)
    project = tmp_path / "cpp"
    compiles = [
        line
        for line in (project / "make.log").read_text().splitlines()
        if line.endswith("codeobject.o")
    ]
    assert compiles and all(f"-include {devices.PRECOMPILED_HEADER}" in c for c in compiles)
    command = shlex.split(compiles[0])
    command = [*command[: command.index("-o")], "-fsyntax-only", "-H"]
    report = subprocess.run(command, cwd=project, capture_output=True, text=True, check=True)
    used = [line for line in report.stderr.splitlines() if line.startswith("! ")]
    assert used and used[0].endswith(f"{devices.PRECOMPILED_HEADER}.gch")


def _connections(n_pre, n_post):
    """A network with all-to-all, index-array and thinned connections between two groups."""
    from brian2 import Network, NeuronGroup, Synapses

    pre, post = NeuronGroup(n_pre, "v : 1"), NeuronGroup(n_post, "v : 1")
    connections = [Synapses(pre, post) for _ in range(3)]
    connections[0].connect()
    connections[1].connect(i=[0, 1, 2, 2], j=[5, 5, 6, 7])
    connections[2].connect(condition="i == j")
    return Network(pre, post, *connections)


def test_threads_auto_counts_the_synapses_the_runtime_creates_before_any_compile(tmp_path):
    from brian2 import Synapses, get_device, prefs

    with simulation("runtime", runtime_target="numpy"):
        net = _connections(30, 40)
        created = [len(obj) for obj in net.objects if isinstance(obj, Synapses)]
    assert sorted(created) == [4, 30, 1200]
    with simulation("cpp_standalone", tmp_path / "small", threads="auto") as sim:
        _connections(1000, 1000)  # another network's synapses are not this one's
        net = _connections(30, 40)
        # exact for all-to-all and index arrays; a condition counts as all-to-all (its bound)
        assert devices.planned_synapses(get_device(), net) == 1200 + 4 + 1200
        sim._choose_threads(net)
        assert sim.threads == 1 and prefs.devices.cpp_standalone.openmp_threads == 0
    with simulation("cpp_standalone", tmp_path / "large", threads="auto") as sim:
        net = _connections(1000, 1000)  # 10^6 synapses all-to-all
        sim._choose_threads(net)
        two = min(2, os.cpu_count())
        assert sim.threads == two == devices.auto_threads(devices.THREADS_FROM_SYNAPSES)
        assert prefs.devices.cpp_standalone.openmp_threads == (two if two > 1 else 0)
    assert devices.auto_threads(devices.THREADS_FROM_SYNAPSES - 1) == 1


def test_the_precompiled_header_is_left_out_for_compilers_other_than_gcc(tmp_path, monkeypatch):
    for header in ("objects.h", "synapses_classes.h", "brianlib/common_math.h"):
        (tmp_path / header).parent.mkdir(exist_ok=True)
        (tmp_path / header).write_text("")
    (tmp_path / "brianlib/stdint_compat.h").write_text("")
    monkeypatch.setenv("CXX", "clang++")
    assert not devices._with_precompiled_header(tmp_path)
    assert not (tmp_path / devices.PRECOMPILED_MAKEFILE).exists()
    monkeypatch.setenv("CXX", "g++")
    assert devices._with_precompiled_header(tmp_path)
    (tmp_path / "objects.h").unlink()  # a project Brian2 laid out otherwise
    assert not devices._with_precompiled_header(tmp_path)


@pytest.mark.cuda
def test_cuda_project_is_generated_without_a_gpu(tmp_path, monkeypatch):
    monkeypatch.setattr(devices, "gpu_available", lambda: False)
    monkeypatch.setattr(devices, "curand_location", lambda: None)  # generate, do not compile
    with pytest.raises(BuiltButNotRun, match="no GPU on this machine"):
        with simulation("cuda_standalone", tmp_path / "cuda") as sim:
            _plastic_network(sim)
    generated = list((tmp_path / "cuda").rglob("*.cu"))
    assert any(path.name == "main.cu" for path in generated)
    makefile = (tmp_path / "cuda" / "makefile").read_text()
    assert devices.CUDA_CXX_STANDARD in makefile


@pytest.mark.cuda
@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("nvcc") is None or devices.curand_location() is None,
    reason="needs nvcc and the cuRAND headers (pip install nvidia-curand)",
)
def test_cuda_project_compiles_with_nvcc(tmp_path, monkeypatch):
    monkeypatch.setattr(devices, "gpu_available", lambda: False)
    with pytest.raises(BuiltButNotRun, match="generated and compiled"):
        with simulation("cuda_standalone", tmp_path / "cuda") as sim:
            _plastic_network(sim)
    assert (tmp_path / "cuda" / "main").exists()


def test_unknown_device_is_refused_before_anything_is_built(tmp_path):
    with pytest.raises(DeviceError, match="choose one of runtime, cpp_standalone"):
        with simulation("gpu_standalone", tmp_path / "build"):
            pass
    assert not (tmp_path / "build").exists()
    with pytest.raises(DeviceError):
        check_device("cuda")


def test_simulation_context_restores_device_and_prefs(tmp_path):
    from brian2 import get_device, prefs

    before = prefs.codegen.target
    with simulation("cpp_standalone", tmp_path / "cpp"):
        assert type(get_device()).__name__ == "CPPStandaloneDevice"
    assert type(get_device()).__name__ == "RuntimeDevice"
    assert prefs.codegen.target == before


def _driven_integrators(sim, drive_values, gain, rerun_with=None):
    """Three integrators dv/dt = gain*drive(t, i) over two phases, the second with the gain
    doubled; run once, or run with the first values and then re-run with ``rerun_with``
    (drive values, gain). Returns v at the end."""
    from brian2 import Network, NeuronGroup, TimedArray, defaultclock, ms

    defaultclock.dt = 1 * ms
    drive = TimedArray(drive_values, dt=5 * ms, name="drive")
    group = NeuronGroup(
        3,
        "dv/dt = gain*drive(t, i)/ms : 1\ngain : 1 (shared)",
        namespace={"drive": drive},
        name="integrators",
    )
    group.gain = gain

    def double_gain():
        group.gain = 2 * group.gain[:]

    net, phases = Network(group), [(10 * ms, None), (10 * ms, double_gain)]
    sim.run_phases(net, phases, rerunnable=True)
    if rerun_with is not None:
        values, new_gain = rerun_with
        sim.rerun(net, phases, {drive: values, group.gain: new_gain})
    return np.array(group.v[:])


def test_a_runtime_rerun_equals_a_fresh_run_with_the_new_values():
    rng = np.random.default_rng(0)
    first, second = rng.uniform(0, 1, (4, 3)), rng.uniform(0, 1, (4, 3))
    with simulation("runtime") as sim:
        rerun = _driven_integrators(sim, first, 1.0, rerun_with=(second, 3.0))
    with simulation("runtime") as sim:
        fresh = _driven_integrators(sim, second, 3.0)
    # the closed form: 5 steps per row, gain 3 on rows 0-1 and 6 on rows 2-3
    expected = 5 * (3 * second[:2].sum(axis=0) + 6 * second[2:].sum(axis=0))
    np.testing.assert_allclose(fresh, expected, rtol=1e-12)
    np.testing.assert_allclose(rerun, fresh, rtol=1e-12)


_TOUCH_64_MIB = (
    "import re\n"
    "block = bytearray(64 << 20)\n"
    "for offset in range(0, len(block), 4096):\n"
    "    block[offset] = 1\n"
    "rollup = open('/proc/self/smaps_rollup').read()\n"
    "print(int(re.search(r'AnonHugePages:\\s+(\\d+)', rollup).group(1)))\n"
)


def _huge_pages_mode() -> str:
    try:
        modes = open("/sys/kernel/mm/transparent_hugepage/enabled").read()
    except OSError:
        return "none"
    return modes.split("[")[1].split("]")[0]


@pytest.mark.skipif(
    _huge_pages_mode() != "madvise", reason="needs transparent huge pages on request"
)
def test_the_binary_gets_huge_pages_for_its_large_arrays_and_nothing_else_does():
    """Started as the compiled binary is, a process that fills 64 MiB through malloc holds it
    in huge pages; started without them (or as a plain child of this process), in small ones."""

    def huge_kib(command):
        return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    as_binary = devices.binary_command()[:-1] + [sys.executable, "-c", _TOUCH_64_MIB]
    assert huge_kib(as_binary) >= 32 << 10
    without = devices.binary_command(huge_pages=False)[:-1]
    assert huge_kib([*without, sys.executable, "-c", _TOUCH_64_MIB]) == 0
    assert huge_kib([sys.executable, "-c", _TOUCH_64_MIB]) == 0
