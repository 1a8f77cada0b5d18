"""How things are run: devices, protocols and data; one module per figure family."""

import importlib

#: Experiment name -> module; each follows the protocol described in ``experiments.runner.harness``.
EXPERIMENTS = (
    "plasticity_curves",
    "song_stdp",
    "neuron_comparison",
    "eligibility_windows",
    "timing_learning",
    "event_features",
    "vq_features",
    "stdp_clustering",
    "diehl_cook",
)


def get_experiment(name: str):
    from models.base import ModelError

    if name not in EXPERIMENTS:
        raise ModelError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")
    return importlib.import_module(f"experiments.{name}")


def get_analysis(name: str):
    """The metrics and figures of experiment ``name``: ``analysis.<name>``, whose
    ``evaluate(config, arrays)`` the harness and the reports call."""
    get_experiment(name)  # the same error for a name that is not an experiment
    return importlib.import_module(f"analysis.{name}")
