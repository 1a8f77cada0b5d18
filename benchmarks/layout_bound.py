"""The speed that Brian2's synaptic memory layout allows, measured by a small compiled kernel.

For a network of ``n_inputs`` all-to-all onto ``n_outputs`` neurons (synapse s = i M + j), the
kernel makes the memory accesses of the generated event-driven pair-STDP loops and nothing
else: a presynaptic spike of input i walks its synapses i M .. i M + M - 1 through their index
list, reading w, apre, apost, lastupdate and the postsynaptic index and writing the four
values back (and adding w to the target's conductance); a postsynaptic spike of neuron j walks
its synapses j, j + M, j + 2M, ... through its own index list, reading and writing the same
four arrays with that stride. Same arrays (8-byte values, 4-byte indices), same strides, the
same spike trains, and memory from malloc as the binary's (huge pages when the binary gets
them). Left out: the exponentials of the trace decays and the spike queue's copy of the
indices, so the kernel is an upper bound on what the generated code can reach with this
layout, not an estimate of it.

    layout_bound(n_inputs, n_outputs, pre, post, steps, folder) -> {"seconds", "events_per_s"}
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

KERNEL = r"""
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

static std::vector<int32_t> load(const char* path, size_t n) {
    std::vector<int32_t> values(n);
    FILE* file = std::fopen(path, "rb");
    if (!file || std::fread(values.data(), sizeof(int32_t), n, file) != n) std::exit(2);
    std::fclose(file);
    return values;
}

int main(int argc, char** argv) {
    if (argc != 8) return 1;
    const long n = std::atol(argv[1]), m = std::atol(argv[2]), steps = std::atol(argv[3]);
    const long n_pre = std::atol(argv[4]), n_post = std::atol(argv[6]);
    // spikes as (step, index) pairs sorted by step
    const std::vector<int32_t> pre = load(argv[5], 2 * n_pre), post = load(argv[7], 2 * n_post);
    const long synapses = n * m;
    double* w = new double[synapses];
    double* apre = new double[synapses];
    double* apost = new double[synapses];
    double* lastupdate = new double[synapses];
    int32_t* target = new int32_t[synapses];
    int32_t* by_pre = new int32_t[synapses];   // the synapses of input i, in order
    int32_t* by_post = new int32_t[synapses];  // the synapses of neuron j, M apart
    for (long s = 0; s < synapses; ++s) {
        w[s] = 0.5; apre[s] = 0.0; apost[s] = 0.0; lastupdate[s] = 0.0;
        target[s] = s % m; by_pre[s] = s;
        by_post[(s % m) * n + s / m] = s;
    }
    std::vector<double> g(m, 0.0);
    const auto started = std::chrono::steady_clock::now();
    long p = 0, q = 0;
    for (long t = 0; t < steps; ++t) {
        for (; p < n_pre && pre[2 * p] == t; ++p) {
            const int32_t* list = by_pre + (long)pre[2 * p + 1] * m;
            for (long k = 0; k < m; ++k) {
                const int32_t s = list[k];
                const double elapsed = t - lastupdate[s];
                apre[s] = 0.5 * apre[s] + 1e-3 * elapsed + 1.0;
                apost[s] = 0.5 * apost[s];
                w[s] = w[s] + apost[s];
                lastupdate[s] = t;
                g[target[s]] += w[s];
            }
        }
        for (; q < n_post && post[2 * q] == t; ++q) {
            const int32_t* list = by_post + (long)post[2 * q + 1] * n;
            for (long k = 0; k < n; ++k) {
                const int32_t s = list[k];
                const double elapsed = t - lastupdate[s];
                apre[s] = 0.5 * apre[s];
                apost[s] = 0.5 * apost[s] + 1e-3 * elapsed + 1.0;
                w[s] = w[s] + apre[s];
                lastupdate[s] = t;
            }
        }
    }
    const double seconds = std::chrono::duration<double>(
        std::chrono::steady_clock::now() - started).count();
    double checksum = 0;  // read back, so that no store can be left out
    for (long s = 0; s < synapses; s += 4097) checksum += w[s] + apre[s] + apost[s];
    for (long j = 0; j < m; ++j) checksum += g[j];
    std::printf("%.9f %.6e\n", seconds, checksum);
    return 0;
}
"""
#: Brian2's default flags for cpp_standalone (prefs.codegen.cpp.extra_compile_args_gcc)
FLAGS = ["-O3", "-ffast-math", "-fno-finite-math-only", "-march=native", "-std=c++11", "-w"]


def compile_kernel(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source, binary = folder / "layout_bound.cpp", folder / "layout_bound"
    if not binary.exists():
        source.write_text(KERNEL)
        subprocess.run(["g++", *FLAGS, str(source), "-o", str(binary)], check=True)
    return binary


def _pairs(spikes, path: Path) -> int:
    """Write (step, index) int32 pairs sorted by step; their count."""
    index, step = (np.asarray(a, dtype=np.int64) for a in spikes)
    order = np.lexsort((index, step))
    np.stack([step[order], index[order]], axis=1).astype(np.int32).tofile(path)
    return len(order)


def layout_bound(
    n_inputs: int,
    n_outputs: int,
    pre_spikes,
    post_spikes,
    steps: int,
    folder: Path,
    environment: dict | None = None,
) -> dict:
    """Time the kernel on these spike trains ((index, step) arrays): seconds of its loop, the
    presynaptic events (input spikes x outputs) per second it reached, and a checksum of its
    final arrays (every 4097th synapse's w + apre + apost, and the conductances)."""
    binary = compile_kernel(folder)
    n_pre = _pairs(pre_spikes, folder / "pre.bin")
    n_post = _pairs(post_spikes, folder / "post.bin")
    arguments = [n_inputs, n_outputs, steps, n_pre, folder / "pre.bin", n_post, folder / "post.bin"]
    done = subprocess.run(
        [str(binary), *map(str, arguments)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(environment or {})},
    )
    seconds, checksum = (float(x) for x in done.stdout.split())
    return {"seconds": seconds, "events_per_s": n_pre * n_outputs / seconds, "checksum": checksum}
