"""Reference values the reproductions are checked against, with their provenance.

Source: the project's science notes (shared/science/plasticity.md). [V] verified against the
paper or a faithful transcription; [T] computed by the team with an exact event-driven model.
"""

#: Sjöström, Turrigiano & Nelson (2001) Neuron 32:1149, L5 visual cortex, relative EPSP
#: change [V]: {lag_ms: {rate_hz: (mean, sem)}}.
SJOSTROM_2001 = {
    10: {
        0.1: (-0.04, 0.05),
        10: (0.14, 0.10),
        20: (0.29, 0.14),
        40: (0.53, 0.11),
        50: (0.56, 0.26),
    },
    -10: {
        0.1: (-0.29, 0.08),
        10: (-0.41, 0.11),
        20: (-0.34, 0.10),
        40: (0.56, 0.32),
        50: (0.75, 0.19),
    },
}

#: Pfister & Gerstner (2006) model predictions for 60 pairs, additive, w0 = 1, no bounds [T]:
#: {parameter set: {lag_ms: [dw at 0.1, 1, 10, 20, 40, 50 Hz]}}.
TRIPLET_PREDICTION_RATES = (0.1, 1, 10, 20, 40, 50)
TRIPLET_PREDICTIONS = {
    "visual_all_to_all_full": {
        10: (0.000, 0.000, 0.132, 0.247, 0.534, 0.741),
        -10: (-0.312, -0.312, -0.334, -0.352, 0.155, 0.727),
    },
    "visual_all_to_all_minimal": {
        10: (0.000, 0.000, 0.140, 0.273, 0.634, 0.898),
        -10: (-0.317, -0.317, -0.332, -0.334, 0.250, 0.885),
    },
    "visual_nearest_full": {
        10: (0.000, 0.000, 0.104, 0.323, 0.560, 0.624),
        -10: (-0.294, -0.328, -0.411, -0.338, 0.260, 0.619),
    },
}
TRIPLET_PREDICTION_PRECISION = 0.0005

#: Brian2 examples/synapses/STDP.py variant of Song et al. 2000, team run [T] (500 s,
#: cpp_standalone, seed 1): post rate 36.0 -> 17.0 Hz, 0.292 below 0.1 g_max, 0.263 above 0.9.
SONG_BRIAN2_500S = {"rate_first_hz": 36.0, "rate_last_hz": 17.0, "low": 0.292, "high": 0.263}

#: Targets of the science notes (plasticity.md) that no experiment measures yet; REPORT.md
#: lists them so that a missing reproduction is visible rather than silently absent.
PENDING_TARGETS = ()

#: e-prop single-pairing eligibility windows, sum of e for L = 1 (alpha 0.9, v_th 1, gamma 0.3,
#: n_ref 5; post spike at step 100 after a 10-step ramp), exact for the protocol [T]:
#: {variant: {lag in steps (t_post - t_pre): value}}.
ELIGIBILITY_WINDOWS = {
    "lif": {
        -4: 0,
        -3: 0,
        -2: 0,
        -1: 0,
        0: 0,
        1: 0.3000,
        2: 0.5522,
        3: 0.7593,
        5: 1.0471,
        8: 1.1835,
        10: 1.0835,
        15: 0.6398,
        20: 0.3778,
    },
    "stdp_lif": {
        -4: 0,
        -3: -0.3000,
        -2: -0.5700,
        -1: -0.8130,
        0: -1.0317,
        1: -0.3000,
        2: 0.0122,
        3: 0.2733,
        5: 0.6534,
        8: 0.8965,
        10: 0.8510,
        15: 0.5025,
        20: 0.2967,
    },
    "stdp_lif_strict": {-4: -0.3000, 0: -1.2285},
}
ELIGIBILITY_WINDOW_PRECISION = 1e-4
