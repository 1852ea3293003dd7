"""Input checks shared by the survival primitives: arrays, horizons, group labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from anker._weights import check_weights


def _finite_vector(name: str, values: Any) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    missing = int(np.isnan(array).sum())
    if missing:
        raise ValueError(f"{name} contains {missing} missing (NaN) value(s)")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains infinite values")
    return array


def _check_data(
    durations: Any, events: Any, weights: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    durations = _finite_vector("durations", durations)
    events = _finite_vector("events", events)
    if events.size != durations.size:
        raise ValueError(f"events has length {events.size}, durations has length {durations.size}")
    if (durations < 0).any():
        raise ValueError(f"durations must be >= 0; {int((durations < 0).sum())} are negative")
    if not np.isin(events, (0.0, 1.0)).all():
        bad = np.unique(events[~np.isin(events, (0.0, 1.0))])[:5]
        raise ValueError(f"events must be 0 or 1, found {bad.tolist()}")
    if weights is not None:  # the one check of weights, and their policy: anker._weights
        weights = check_weights(weights, durations.size)
    return durations, events, weights


def _check_horizon(horizon: Any, durations: np.ndarray, where: str = "") -> float:
    try:
        value = float(horizon)
    except (TypeError, ValueError):
        raise ValueError(f"horizon must be a number of calendar days, got {horizon!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"horizon must be a positive finite number of calendar days, got {horizon!r}")
    last = float(durations.max())
    if value > last:
        raise ValueError(
            f"horizon={value:g} is beyond the last follow-up time{where} "
            f"(largest duration {last:g} days); choose a horizon of at most {last:g}"
        )
    return value


def _check_groups(groups: Any, n: int) -> np.ndarray:
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups has shape {groups.shape}, durations has shape {(n,)}")
    if groups.dtype.kind in "fc":
        missing = np.isnan(groups)
    elif groups.dtype.kind == "O":
        import pandas as pd  # only object arrays can hide None / NaN among labels

        missing = pd.isna(groups)
    else:
        missing = np.zeros(n, dtype=bool)
    if missing.any():
        raise ValueError(f"groups contains {int(missing.sum())} missing value(s)")
    return groups
