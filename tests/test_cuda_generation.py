"""Every experiment generates its CUDA project (brian2cuda) without a GPU, through the CLI."""

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
