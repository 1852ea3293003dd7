"""Inverse probability of censoring weights for the duration test's error rates.

Whether a spell censored before the audit's ``time`` was still on benefit
then is unknown. Leaving such spells out biases ``fpr`` and ``fnr`` when
censoring is not rare: long spells are censored more often, so the spells
with a known status are the shorter ones. Weighting each known spell by the
inverse of its probability of remaining uncensored, G, restores the
population they stand for (the IPCW of the time-dependent Brier score and
AUC): a spell that ended by ``time`` gets 1 / G(T-), one still on benefit at
``time`` gets 1 / G(time), a spell censored before ``time`` gets 0. G is the
reverse Kaplan-Meier of the group (`anker.survival.censoring_survival`).

Examples
--------
>>> ipcw_weights([2, 3, 3, 5, 8], [1, 1, 0, 1, 0], time=4).round(3).tolist()
[1.0, 1.0, 0.0, 1.5, 1.5]
"""

from __future__ import annotations

import numpy as np

from anker.survival import censoring_survival

__all__ = ["ipcw_weights"]


def ipcw_weights(durations, events, time: float) -> np.ndarray:
    """IPCW weight per spell for its status at ``time`` (0 where the status is unknown)."""
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=float)
    weights = np.zeros(durations.size)
    if durations.size == 0:
        return weights
    km = censoring_survival(durations, events)

    def g_before(t: np.ndarray) -> np.ndarray:  # G(t-): censorings strictly before t
        position = np.searchsorted(km.times, t, side="left") - 1
        return np.where(position >= 0, km.survival[np.maximum(position, 0)], 1.0)

    left = (durations <= time) & (events == 1)
    still = durations > time
    with np.errstate(divide="ignore"):
        weights[left] = 1.0 / g_before(durations[left])
        # G(time) itself: censorings at time count (the spell outlasted them)
        at_time = g_before(np.nextafter(np.array([time]), np.inf))[0]
        weights[still] = 1.0 / at_time if at_time > 0 else 0.0
    weights[~np.isfinite(weights)] = 0.0
    return weights
