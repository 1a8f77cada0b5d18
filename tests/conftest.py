"""Shared fixtures: a clean Brian2 state per test, and the tiny experiments run once."""

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
    """Every experiment at tiny scale on the numpy runtime: {name: result directory}."""
    from experiments import EXPERIMENTS, get_experiment, harness

    root = tmp_path_factory.mktemp("results")
    return {
        name: harness.run(
            get_experiment(name),
            get_experiment(name).SCALES["tiny"],
            device="runtime",
            results_root=root,
            build_root=root / "build",
            scale="tiny",
        )
        for name in EXPERIMENTS
    }
