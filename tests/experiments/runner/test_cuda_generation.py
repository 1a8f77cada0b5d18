"""Every experiment generates its CUDA project (brian2cuda) without a GPU, through the CLI."""

import os

import pytest

from experiments import EXPERIMENTS
from experiments.runner import cli, devices


@pytest.mark.cuda
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_generates_its_cuda_project(name, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(devices, "gpu_available", lambda: False)
    monkeypatch.setattr(devices, "curand_location", lambda: None)  # generate, do not compile
    status = cli.main(
        [
            "run",
            name,
            "--scale",
            "tiny",
            "--device",
            "cuda_standalone",
            "--build-dir",
            str(tmp_path / "build"),
            "--results-dir",
            str(tmp_path / "results"),
        ]
    )
    assert status == cli.EXIT_BUILT_NOT_RUN, capsys.readouterr().err
    assert "there is no GPU on this machine" in capsys.readouterr().err
    project = tmp_path / "build" / name / "cuda_standalone"
    assert (project / "code_objects").is_dir() and (project / "main.cu").exists()
    assert devices.CUDA_CXX_STANDARD in (project / "makefile").read_text()
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.json"))


@pytest.mark.cuda
@pytest.mark.parametrize(
    ("nvidia_smi", "target"),
    [("echo 9.0", "sm_90"), ("echo 'No devices were found'; exit 6", "sm_75")],
)
def test_the_cuda_target_is_the_gpu_found_else_the_oldest_nvcc_keeps(
    nvidia_smi, target, tmp_path, monkeypatch, capsys
):
    # an nvidia-smi that reports a GPU of compute capability 9.0, or finds none
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\n{nvidia_smi}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(devices, "gpu_available", lambda: False)
    monkeypatch.setattr(devices, "curand_location", lambda: None)
    folders = ["--build-dir", str(tmp_path / "build"), "--results-dir", str(tmp_path / "r")]
    argv = ["run", "song_stdp", "--scale", "tiny", "--device", "cuda_standalone", *folders]
    assert cli.main(argv) == cli.EXIT_BUILT_NOT_RUN, capsys.readouterr().err
    makefile = (tmp_path / "build" / "song_stdp" / "cuda_standalone" / "makefile").read_text()
    assert f"arch={target}" in makefile or f"code={target}" in makefile, makefile
