"""The distinct durations of a sample and each spell's position among them.

`np.unique(durations, return_inverse=True)` sorts the n durations. Benefit
durations are whole days (or weeks, months) within a few thousand of each
other, so their distinct values follow from one count per value instead:
a pass to check, a ``bincount`` and a cumulative sum. Kaplan-Meier, the
log-rank test and the per-(group, time) counts take their times here.
"""

from __future__ import annotations

import numpy as np

# whole-number durations spanning fewer values than this are counted, not sorted
_MAX_SPAN = 1 << 22


def distinct_times(durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(durations, return_inverse=True)`` for a 1-d float array.

    Examples
    --------
    >>> times, index = distinct_times(np.array([3.0, 1, 3, 7]))
    >>> times.tolist(), index.tolist()
    ([1.0, 3.0, 7.0], [1, 0, 1, 2])
    """
    durations = np.asarray(durations, dtype=float)
    if durations.size == 0 or durations.ndim != 1:
        return np.unique(durations, return_inverse=True)
    low, high = float(durations.min()), float(durations.max())
    if not (np.isfinite(low) and np.isfinite(high) and high - low < _MAX_SPAN):
        return np.unique(durations, return_inverse=True)
    offset = durations - low
    whole = offset.astype(np.int64)
    if not np.array_equal(whole, offset):
        return np.unique(durations, return_inverse=True)
    present = np.bincount(whole) > 0
    rank = np.cumsum(present) - 1
    times = np.flatnonzero(present) + low
    return times, rank[whole]
