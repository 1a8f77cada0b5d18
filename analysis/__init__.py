"""What results mean: metrics, reproduction targets and figures over saved results.

Never imports Brian2, so a figure can be restyled without re-simulating.
"""

#: Experiment name -> analysis module with ``evaluate(config, data)`` and ``FIGURES`` (figure
#: name -> ``plot(config, data, metrics)``, given what ``evaluate`` returned).
ANALYSES = (
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
