"""Shared fixtures: a clean Brian2 state per test, the tiny experiments run once, and a folder
that cannot be written."""

import fcntl
import json
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


@pytest.fixture(scope="session")
def tiny_results(tmp_path_factory):
    """Every experiment at tiny scale on the numpy runtime: {name: result directory}. Run once
    per session: under pytest-xdist (``make test``) the first worker to ask runs them in the
    session's shared folder while the others wait on its lock."""
    from experiments import EXPERIMENTS, get_experiment
    from experiments.runner import harness

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    shared = root / "tiny_results"
    listing = shared / "results.json"
    with open(root / "tiny_results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not listing.exists():
            results = {
                name: harness.run(
                    get_experiment(name),
                    get_experiment(name).SCALES["tiny"],
                    device="runtime",
                    results_root=shared,
                    build_root=shared / "build",
                    scale="tiny",
                )
                for name in EXPERIMENTS
            }
            listing.write_text(json.dumps({name: str(path) for name, path in results.items()}))
    return {name: Path(path) for name, path in json.loads(listing.read_text()).items()}


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
