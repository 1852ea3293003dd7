"""Calibration per group: intercept and slope, so a model that fits one group and not another shows.

Classifiers: logistic recalibration of the outcome on logit(score) within
the group (statsmodels GLM, as `anker.diagnostics.calibration_intercept_slope`):
``calibration_intercept`` is calibration-in-the-large in log odds (0 ideal;
> 0 the model under-predicts the group) and ``calibration_slope`` the
coefficient of logit(score) (1 ideal; < 1 predictions too extreme).

The survival test, up to the audit's ``time``: ``calibration_intercept`` is
log(observed / expected exits), the expected exits being each spell's
predicted cumulative hazard up to min(duration, time) (0 ideal; > 0 the
group leaves benefit sooner than predicted), and ``calibration_slope`` the
Cox coefficient of the risk score within the group (1 ideal).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from anker.errors import AnkerDataError

CALIBRATION_COLUMNS = ("calibration_intercept", "calibration_slope")


def cumulative_hazard_to(test: Any, df: pd.DataFrame, durations: np.ndarray, risk: np.ndarray,
                         time: float) -> np.ndarray:
    """Predicted H(min(duration, time) | x) per row of a proportional-hazards test (NaN if unknown)."""
    out = np.full(len(df), np.nan)
    usable = np.isfinite(durations) & np.isfinite(risk)
    if not usable.any():
        return out
    until = np.minimum(durations[usable], time)
    times = np.unique(until)
    first = int(np.flatnonzero(usable)[0])
    try:  # beyond the fitting follow-up: a Cox baseline stays flat
        row = test.predict_cumulative_hazard(df.iloc[[first]], times, extrapolate=True)
    except TypeError:  # a test without the extrapolate option
        row = test.predict_cumulative_hazard(df.iloc[[first]], times)
    baseline = row.to_numpy()[0] / np.exp(risk[first])
    out[usable] = np.exp(risk[usable]) * baseline[np.searchsorted(times, until)]
    return out


def group_calibration(part: pd.DataFrame, kind: str, *, time: float) -> tuple[dict, list[str]]:
    """``calibration_intercept`` and ``calibration_slope`` of one group (NaN, with a note, if undefined)."""
    row = {c: np.nan for c in CALIBRATION_COLUMNS}
    if kind == "classifier":
        from anker.diagnostics import calibration_intercept_slope

        y, p = part["y"].to_numpy(), part["score"].to_numpy()
        if len(y) < 3 or y.min() == y.max():
            return row, ["one class or too few people: calibration intercept and slope undefined"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cal = calibration_intercept_slope(y, p)
        except (AnkerDataError, ValueError, np.linalg.LinAlgError):
            return row, ["calibration intercept and slope could not be estimated"]
        return {"calibration_intercept": cal.intercept, "calibration_slope": cal.slope}, []
    from anker.models.cox import fit_cox

    durations, events = part["duration"].to_numpy(), part["event"].to_numpy()
    observed = float(((events == 1) & (durations <= time)).sum())
    expected = float(np.nansum(part["cumhaz"].to_numpy()))
    notes = []
    if observed > 0 and expected > 0:
        row["calibration_intercept"] = float(np.log(observed / expected))
    else:
        notes.append(f"no exits by {time:g} days: calibration intercept undefined")
    risk = part["risk"].to_numpy()
    if observed > 1 and np.ptp(risk) > 0:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fit_cox(risk[:, None], np.minimum(durations, time),
                              ((events == 1) & (durations <= time)).astype(float))
            row["calibration_slope"] = float(fit.coef[0])
        except (ValueError, np.linalg.LinAlgError):
            notes.append("calibration slope could not be estimated")
    return row, notes
