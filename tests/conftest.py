"""Shared fixtures: a clean Brian2 state per test, the tiny experiments run once, and a folder
that cannot be written."""

import fcntl
import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def fresh_brian_state():
    """Restore Brian2's device and preferences after every test, as Brian2's own suite does."""
    from brian2 import prefs
    from brian2.devices.device import reinit_devices, reset_device

    prefs._backup()
    yield
    reinit_devices()
    reset_device("runtime")
    prefs._restore()


def session_folder(tmp_path_factory) -> Path:
    """The folder this pytest session shares between its xdist workers."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


def once_per_session(tmp_path_factory, name: str, make) -> Path:
    """``make(folder)`` run once per session, whichever worker asks first (the others wait
    for it, then read its folder); returns the folder."""
    folder = session_folder(tmp_path_factory) / name
    with open(session_folder(tmp_path_factory) / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / ".done"
        if not done.exists():
            folder.mkdir(exist_ok=True)
            make(folder)
            done.touch()
    return folder


def _run_tiny(name: str, root: Path) -> Path:
    from experiments import get_experiment
    from experiments.runner import harness

    module = get_experiment(name)
    return harness.run(
        module,
        module.SCALES["tiny"],
        device="runtime",
        results_root=root,
        build_root=root / "build" / name,
        scale="tiny",
    )


@pytest.fixture(scope="session")
def run_tiny():
    """``run_tiny(name, folder)``: one experiment at tiny scale on the numpy runtime, saved
    under ``folder``, as every result of ``tiny_results`` was made. Returns its directory."""
    return _run_tiny


@pytest.fixture(scope="session")
def tiny_results(tmp_path_factory):
    """Every experiment at tiny scale on the numpy runtime: {name: result directory}. Each
    is run once per session: under pytest-xdist (``make test``) in the session's shared
    folder, by the first worker to take its lock; workers take the experiments in opposite
    orders, so two of them run half each instead of one waiting for all."""
    from experiments import EXPERIMENTS

    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
    shared = session_folder(tmp_path_factory) / "tiny_results"
    shared.mkdir(exist_ok=True)
    names = list(EXPERIMENTS)
    if worker and int(worker.removeprefix("gw")) % 2:
        names.reverse()
    found = {}
    for name in names:
        saved = shared / f"{name}.path"
        with open(shared / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not saved.exists():
                saved.write_text(str(_run_tiny(name, shared)))
        found[name] = Path(saved.read_text())
    return {name: found[name] for name in EXPERIMENTS}


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process cannot write to, even as root: chmod for a user; for root an
    immutable attribute, else a read-only tmpfs mount; skipped where neither is possible."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    undo = None
    if os.geteuid() != 0:
        folder.chmod(0o555)
        undo = ["chmod", "755", str(folder)]
    elif subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        undo = ["chattr", "-i", str(folder)]
    elif (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(folder)], capture_output=True
        ).returncode
        == 0
    ):
        undo = ["umount", str(folder)]
    else:
        pytest.skip("cannot make a folder read-only here (root without chattr or mount)")
    yield folder
    subprocess.run(undo, check=True)
