"""Discrimination and calibration of the survival model (benefit duration).

:func:`concordance_index` (Harrell's C), :func:`survival_calibration`
against Kaplan-Meier, and the IPCW Brier score over time
(:func:`survival_brier_scores`, :func:`integrated_brier_score`): plain
functions on arrays, re-exported by `anker.diagnostics`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from anker.diagnostics._checks import _arrays, _bin_ids, _binary, _probabilities, _warn_empty, _z
from anker.errors import AnkerDataError
from anker.survival import censoring_survival, survival_at, survival_at_time

__all__ = [
    "SurvivalCalibration", "concordance_index", "integrated_brier_score",
    "survival_brier_scores", "survival_calibration",
]


def _dense_rank(x: np.ndarray) -> np.ndarray:
    return np.unique(x, return_inverse=True)[1].ravel().astype(np.int64)


def concordance_index(durations: object, events: object, risk_score: object) -> float:
    """Harrell's C: the share of comparable pairs where the higher risk leaves first.

    A pair is comparable when the earlier of the two spells ended in an event
    (a censored spell ending at the same time counts as later; two events at
    the same time are not comparable). Tied risk scores count one half. Same
    definition as ``lifelines.utils.concordance_index(durations, -risk_score,
    events)``, computed in O(n log^2 n) with vectorised dyadic counting.

    Examples
    --------
    >>> concordance_index([5, 10, 15, 20], [1, 1, 0, 1], [0.9, 0.5, 0.7, 0.1])
    0.8
    """
    durations, events, risk = _arrays(durations=durations, events=events, risk_score=risk_score)
    _binary(events, "events")
    # exit order: at one duration events come before censorings, so key 2*t < 2*t+1
    key = _dense_rank(2 * _dense_rank(durations) + (events == 0))
    score = _dense_rank(risk)
    is_event = events == 1
    n_keys = int(key.max()) + 1
    later = len(key) - np.cumsum(np.bincount(key, minlength=n_keys))  # spells with a larger key
    pairs = int(np.bincount(key[is_event], minlength=n_keys) @ later)
    if pairs == 0:
        raise AnkerDataError("no comparable pairs (no event is followed by a longer spell)")
    # tied scores: within a run of equal score (sorted by key), the spells after the
    # run of one's own key; needles are sorted, so searchsorted streams
    code = score * n_keys + key
    order = np.argsort(code, kind="stable")
    code = code[order]
    score_end = np.searchsorted(code, (code // n_keys + 1) * n_keys, side="left")
    tied = int(np.sum((score_end - np.searchsorted(code, code, side="right"))[is_event[order]]))
    # lower scores, level by level: at level b, i and j share the parent block
    # key >> (b+1) with i in the left half and j in the right one. One sort of both
    # halves (a query sorts before data of equal score) gives, per query, the data
    # below it; the data in earlier parents are then subtracted.
    width = int(score.max()) + 1
    below = 0
    for level in range(max(1, (n_keys - 1).bit_length())):
        right = ((key >> level) & 1) == 1
        parent = key >> (level + 1)
        query = ~right & is_event
        merged = np.sort(np.concatenate([(parent[right] * width + score[right]) * 2 + 1,
                                         (parent[query] * width + score[query]) * 2]))
        is_data = merged & 1
        data_before = np.cumsum(is_data) - is_data
        per_parent = np.bincount(parent[right], minlength=int(parent.max()) + 1)
        earlier_parents = np.cumsum(per_parent) - per_parent
        below += int(data_before[is_data == 0].sum() - earlier_parents[parent[query]].sum())
    return (below + tied / 2) / pairs


def _loglog_ci(survival: np.ndarray, greenwood: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Exponential Greenwood (log-log) interval, as lifelines' KaplanMeierFitter."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(survival)
        half = z * np.sqrt(greenwood) / log_s  # negative: log_s < 0
        low = np.exp(-np.exp(np.log(-log_s) - half))
        high = np.exp(-np.exp(np.log(-log_s) + half))
    return np.where(np.isnan(low), 1.0, low), np.where(np.isnan(high), 1.0, high)


@dataclass(frozen=True)
class SurvivalCalibration:
    """Predicted against Kaplan-Meier survival at one time, per group and overall."""

    table: pd.DataFrame
    time: float
    mean_predicted: float
    observed: float
    observed_ci: tuple[float, float]
    chi2: float
    df: int
    p_value: float

    @property
    def difference(self) -> float:
        """Overall mean predicted minus observed survival (> 0: too optimistic)."""
        return self.mean_predicted - self.observed


def survival_calibration(durations: object, events: object, predicted_survival: object, *,
                         time: float, groups: int = 10, level: float = 0.95) -> SurvivalCalibration:
    """Predicted survival at ``time`` against Kaplan-Meier, per group of predicted survival.

    Groups are cut at quantiles of ``predicted_survival`` (group 0 holds the
    lowest predicted survival, i.e. the highest risk). Per group the table
    gives the mean prediction, the Kaplan-Meier estimate at ``time`` with its
    Greenwood SE and log-log CI (as lifelines), events up to ``time`` and spells
    still at risk after it. ``chi2`` sums ((observed - predicted) / se)^2 over
    groups with a positive SE, ``df`` = their number.

    Parameters
    ----------
    durations : array-like
        Spell length (same unit as ``time``, e.g. calendar days).
    events : array-like of 0/1
        1 when the spell ended (exit), 0 when censored.
    predicted_survival : array-like
        Each spell's predicted P(still on benefit at ``time``).
    time : float
        The horizon, e.g. 365 calendar days.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> rate = rng.uniform(0.002, 0.01, 4_000)
    >>> durations = rng.exponential(1 / rate)
    >>> cal = survival_calibration(durations, np.ones(4_000), np.exp(-rate * 180), time=180)
    >>> abs(cal.difference) < 0.03
    True
    """
    durations, events, predicted = _arrays(durations=durations, events=events,
                                           predicted_survival=predicted_survival)
    _binary(events, "events")
    _probabilities(predicted, "predicted_survival")
    if (durations < 0).any():
        raise AnkerDataError(f"durations has {(durations < 0).sum()} negative values")
    if not np.isfinite(time) or time < 0:
        raise ValueError(f"time must be a finite non-negative number, got {time!r}")
    z = _z(level)
    ids, edges = _bin_ids(predicted, groups, "quantile")
    n = np.bincount(ids, minlength=groups)
    observed, greenwood = survival_at_time(durations, events, time, groups=ids, n_groups=groups)
    low, high = _loglog_ci(observed, greenwood, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "group": np.arange(groups), "lower": edges[:-1], "upper": edges[1:], "n": n,
            "mean_predicted": np.bincount(ids, weights=predicted, minlength=groups) / n,
            "observed": np.where(n > 0, observed, np.nan), "se": observed * np.sqrt(greenwood),
            "ci_low": low, "ci_high": high,
            "events": np.bincount(ids, weights=(events == 1) & (durations <= time), minlength=groups),
            "at_risk": np.bincount(ids, weights=durations > time, minlength=groups)})
    table[["events", "at_risk"]] = table[["events", "at_risk"]].astype(np.int64)
    table.loc[n == 0, ["se", "ci_low", "ci_high"]] = np.nan
    _warn_empty(n, "groups")
    if no_follow_up := int(((table["at_risk"] == 0) & (n > 0)).sum()):
        warnings.warn(f"{no_follow_up} groups have nobody at risk after time={time:g}; "
                      "their Kaplan-Meier estimate is carried forward from earlier follow-up",
                      UserWarning, stacklevel=2)
    usable = (table["se"] > 0).to_numpy()
    chi2 = float(np.sum(((table["observed"] - table["mean_predicted"])[usable]
                         / table["se"][usable]) ** 2))
    overall, overall_var = survival_at_time(durations, events, time)
    overall_low, overall_high = _loglog_ci(overall, overall_var, z)
    df = int(usable.sum())
    return SurvivalCalibration(table, float(time), float(predicted.mean()), float(overall[0]),
                               (float(overall_low[0]), float(overall_high[0])), chi2, df,
                               float(stats.chi2.sf(chi2, df)) if df else np.nan)


def _survival_inputs(durations: object, events: object, survival_matrix: object,
                     times: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if times is None:
        if not isinstance(survival_matrix, pd.DataFrame):
            raise ValueError("times is required unless survival_matrix is a DataFrame "
                             "with one column per time (as BenefitDurationTest.predict_survival)")
        times = survival_matrix.columns
    if isinstance(survival_matrix, pd.DataFrame):
        for name, value in (("durations", durations), ("events", events)):
            if isinstance(value, pd.Series) and not value.index.equals(survival_matrix.index):
                raise AnkerDataError(f"{name} and survival_matrix have different indexes")
    durations, events = _arrays(durations=durations, events=events)
    _binary(events, "events")
    try:
        times = np.asarray(times, dtype=float).ravel()
        matrix = np.asarray(survival_matrix, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AnkerDataError(f"times and survival_matrix must be numeric: {exc}") from None
    if matrix.shape != (len(durations), len(times)):
        raise AnkerDataError(f"survival_matrix has shape {matrix.shape}, expected "
                             f"({len(durations)}, {len(times)}): one row per spell, one column per time")
    if np.isnan(matrix).any() or matrix.min() < 0 or matrix.max() > 1:
        raise AnkerDataError("survival_matrix must hold probabilities in [0, 1] without missing values")
    if len(times) and (np.diff(times) <= 0).any():
        raise ValueError("times must be strictly increasing")
    if len(times) and (times[0] < 0 or times[-1] >= durations.max()):
        raise ValueError(f"times must lie in [0, {durations.max():g}), the follow-up of durations; "
                         f"got {times[0]:g} .. {times[-1]:g}")
    return durations, events, matrix, times


def survival_brier_scores(durations: object, events: object, survival_matrix: object,
                          times: object = None) -> pd.Series:
    """IPCW Brier score at each time (Graf et al. 1999), as scikit-survival's ``brier_score``.

    At time t a spell that ended by t with an exit contributes S(t)^2 / G(T_i),
    one still running at t contributes (1 - S(t))^2 / G(t); spells censored
    before t contribute 0 but count in the mean. G is the reverse Kaplan-Meier
    of censoring, evaluated right-continuously (scikit-survival's convention).

    Parameters
    ----------
    durations, events : array-like
        Observed spell length and exit flag (1 = exit, 0 = censored).
    survival_matrix : array-like or DataFrame, shape (n_spells, n_times)
        Predicted P(still on benefit at time) per spell and time.
    times : array-like, optional
        Strictly increasing times within the follow-up; defaults to the
        columns of a DataFrame ``survival_matrix``.

    Examples
    --------
    >>> survival_brier_scores([2, 4, 6], [1, 0, 1], [[0.5, 0.2], [0.9, 0.6], [0.8, 0.5]], [3, 5])
    time
    3.0    0.10
    5.0    0.18
    Name: brier, dtype: float64
    """
    durations, events, matrix, times = _survival_inputs(durations, events, survival_matrix, times)
    censoring = censoring_survival(durations, events)
    weight_case = survival_at(censoring, durations)
    if lost := int(((weight_case == 0) & (events == 1)).sum()):
        warnings.warn(f"{lost} exits have censoring survival 0 and get weight 0 (as scikit-survival)",
                      UserWarning, stacklevel=3)
    weight_case = np.divide(1.0, weight_case, out=np.zeros_like(weight_case), where=weight_case > 0)
    weight_control = 1.0 / survival_at(censoring, times)
    case = (durations[:, None] <= times) & (events[:, None] == 1)
    control = durations[:, None] > times
    scores = np.mean(matrix**2 * case * weight_case[:, None]
                     + (1 - matrix) ** 2 * control * weight_control, axis=0)
    return pd.Series(np.round(scores, 12), index=pd.Index(times, name="time"), name="brier")


def integrated_brier_score(durations: object, events: object, survival_matrix: object,
                           times: object = None) -> float:
    """Integrated IPCW Brier score: trapezoid area under :func:`survival_brier_scores` / time span.

    Same definition as scikit-survival's ``integrated_brier_score``. Needs at
    least two times. 0 is perfect; 0.25 is what a constant 0.5 scores.

    Examples
    --------
    >>> round(integrated_brier_score([2, 4, 6], [1, 0, 1],
    ...                              [[0.5, 0.2], [0.9, 0.6], [0.8, 0.5]], [3, 5]), 4)
    0.14
    """
    scores = survival_brier_scores(durations, events, survival_matrix, times)
    if len(scores) < 2:
        raise ValueError("integrated_brier_score needs at least two times")
    span = scores.index[-1] - scores.index[0]
    return float(np.trapezoid(scores.to_numpy(), scores.index.to_numpy()) / span)
