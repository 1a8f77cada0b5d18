"""Closed forms and an exact event-driven reference for pair and triplet STDP.

Written in numpy, independently of the Brian2 synapse code, so simulations can be checked
against it. Times are in seconds; dt_spike = t_post - t_pre; a coincident pair potentiates.
"""

from __future__ import annotations

import numpy as np

#: Order in which triplet parameters are stored with results (SI values).
TRIPLET_PARAMS = (
    "A2_plus",
    "A3_plus",
    "A2_minus",
    "A3_minus",
    "tau_plus",
    "tau_minus",
    "tau_x",
    "tau_y",
)


def pair_window(lag, A_plus, A_minus, tau_plus, tau_minus):
    """Two-exponential STDP window: +A+ exp(-lag/tau+) for lag >= 0, -A- exp(lag/tau-) else."""
    lag = np.asarray(lag, dtype=float)
    return np.where(lag >= 0, A_plus * np.exp(-lag / tau_plus), -A_minus * np.exp(lag / tau_minus))


def pair_protocol_final_weight(
    lag, n_pairs, a_plus, a_minus, tau_plus, tau_minus, bounds="additive", w0=1.0, w_max=np.inf
):
    """Weight after ``n_pairs`` isolated pairings (pairs far apart, so traces do not overlap).

    Additive: w0 + n * window.  Multiplicative: each LTP step moves w a fraction
    a+ exp(-lag/tau+) toward w_max, each LTD step a fraction a- exp(lag/tau-) toward 0.
    """
    lag = np.asarray(lag, dtype=float)
    if bounds == "additive":
        return np.clip(
            w0 + n_pairs * pair_window(lag, a_plus, a_minus, tau_plus, tau_minus), 0, w_max
        )
    if bounds != "multiplicative":
        raise ValueError(f"unknown bounds {bounds!r}")
    ltp_fraction = a_plus * np.exp(-lag / tau_plus)
    ltd_fraction = a_minus * np.exp(lag / tau_minus)
    return np.where(
        lag >= 0,
        w_max - (w_max - w0) * (1 - ltp_fraction) ** n_pairs,
        w0 * (1 - ltd_fraction) ** n_pairs,
    )


def pairing_times(lag, rate, n_pairs, start=0.2):
    """Pre and post spike times of ``n_pairs`` pairings at ``rate`` (Hz) with ``lag`` (s)."""
    pre = start + np.arange(n_pairs) / rate
    return pre, pre + lag


def triplet_weight_change(
    pre,
    post,
    *,
    A2_plus,
    A3_plus,
    A2_minus,
    A3_minus,
    tau_plus,
    tau_minus,
    tau_x,
    tau_y,
    pairing="all_to_all",
    w0=1.0,
):
    """Exact weight change of the triplet rule (pair rule: A3 = 0) for given spike trains.

    Detectors decay analytically between events; at equal times the pre event comes first;
    the triplet detectors are read before the current spike updates them. No bounds.
    """
    events = sorted([(t, 0) for t in np.ravel(pre)] + [(t, 1) for t in np.ravel(post)])
    r1 = r2 = o1 = o2 = 0.0
    last = events[0][0] if events else 0.0
    w = w0
    nearest = pairing == "nearest"
    for t, is_post in events:
        elapsed = t - last
        r1 *= np.exp(-elapsed / tau_plus)
        r2 *= np.exp(-elapsed / tau_x)
        o1 *= np.exp(-elapsed / tau_minus)
        o2 *= np.exp(-elapsed / tau_y)
        last = t
        if is_post:
            w += r1 * (A2_plus + A3_plus * o2)
            o1, o2 = (1.0, 1.0) if nearest else (o1 + 1, o2 + 1)
        else:
            w -= o1 * (A2_minus + A3_minus * r2)
            r1, r2 = (1.0, 1.0) if nearest else (r1 + 1, r2 + 1)
    return w - w0


def fit_time_constants(lag, dw):
    """Time constants from the slopes of ln|dw| on each side of lag = 0 (least squares)."""
    lag, dw = np.asarray(lag, dtype=float), np.asarray(dw, dtype=float)
    ltp = (lag >= 0) & (dw > 0)
    ltd = (lag < 0) & (dw < 0)
    slope_plus = np.polyfit(lag[ltp], np.log(dw[ltp]), 1)[0]
    slope_minus = np.polyfit(lag[ltd], np.log(-dw[ltd]), 1)[0]
    return -1.0 / slope_plus, 1.0 / slope_minus


def triplet_poisson_drift(
    rate_pre, rate_post, *, A2_plus, A3_plus, A2_minus, A3_minus, tau_plus, tau_minus, tau_x, tau_y
):
    """Mean drift (per second) of the all-to-all triplet rule for independent Poisson trains
    (Pfister & Gerstner 2006): rho_x rho_y (A2+ tau+ - A2- tau- + A3+ tau+ tau_y rho_y
    - A3- tau- tau_x rho_x)."""
    rate_post = np.asarray(rate_post, dtype=float)
    return (
        rate_pre
        * rate_post
        * (
            A2_plus * tau_plus
            - A2_minus * tau_minus
            + A3_plus * tau_plus * tau_y * rate_post
            - A3_minus * tau_minus * tau_x * rate_pre
        )
    )


def minimal_triplet_crossover_rate(A2_minus, A3_plus, tau_plus, tau_minus, tau_y):
    """Post rate (Hz) where the all-to-all minimal triplet rule's Poisson drift changes sign."""
    return A2_minus * tau_minus / (A3_plus * tau_plus * tau_y)


def zero_crossing(x, y):
    """First x where y changes sign from negative to positive (linear interpolation), or nan."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    for k in range(len(x) - 1):
        if y[k] < 0 <= y[k + 1]:
            return float(x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k]))
    return float("nan")
