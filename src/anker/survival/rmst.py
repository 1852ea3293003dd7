"""Restricted mean survival time: the estimate, its Greenwood-type SE, influence values."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from anker._weights import finite_variance, rescaled
from anker.survival._checks import _check_data, _check_horizon
from anker.survival.kaplan_meier import KaplanMeier, _greenwood_terms, kaplan_meier


def _rectangles(times: np.ndarray, survival: np.ndarray, horizon: float) -> tuple[np.ndarray, int]:
    """Areas of the step function's pieces on [0, horizon]; the curve is 1 before times[0].

    ``survival`` may carry leading batch axes; the result has shape (..., k + 1)
    where k is the number of ``times`` <= horizon.
    """
    k = int(np.searchsorted(times, horizon, side="right"))
    widths = np.diff(np.concatenate(([0.0], times[:k], [horizon])))
    ones = np.ones(survival.shape[:-1] + (1,))
    heights = np.concatenate((ones, survival[..., :k]), axis=-1)
    return widths * heights, k


def rmst_curve_area(times: Any, survival: Any, horizon: float) -> np.ndarray | float:
    """Area under a right-continuous step curve from 0 to ``horizon`` (calendar days).

    ``survival[..., j]`` is the curve on [times[j], times[j+1]); before
    ``times[0]`` it is 1. Leading axes of ``survival`` are separate curves
    (e.g. one g-computation curve per person), each gets its own area.

    Examples
    --------
    >>> float(rmst_curve_area([1.0, 3.0], [0.5, 0.25], horizon=4))
    2.25
    >>> rmst_curve_area([1.0, 3.0], [[0.5, 0.25], [1.0, 1.0]], horizon=4).tolist()
    [2.25, 4.0]
    """
    times = np.asarray(times, dtype=float)
    survival = np.asarray(survival, dtype=float)
    if times.ndim != 1 or survival.shape[-1:] != times.shape:
        raise ValueError(f"survival's last axis must match times: {survival.shape} vs {times.shape}")
    if np.isnan(times).any() or np.isnan(survival).any():
        raise ValueError("times and survival must not contain NaN")
    if (times < 0).any() or (np.diff(times) < 0).any():
        raise ValueError("times must be >= 0 and ascending")
    horizon = float(horizon)
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon must be a positive finite number of calendar days, got {horizon!r}")
    area = _rectangles(times, survival, horizon)[0].sum(axis=-1)
    return float(area) if area.ndim == 0 else area


def _area_beyond(rectangles: np.ndarray) -> np.ndarray:
    """A_j: area from the j-th time (<= horizon) to the horizon, for every such time."""
    return np.cumsum(rectangles[..., :0:-1], axis=-1)[..., ::-1]


class RMST(NamedTuple):
    """``(estimate, se)`` of a restricted mean survival time, calendar days."""

    estimate: float
    se: float


def rmst(durations: Any, events: Any, horizon: float, *, weights: Any = None) -> RMST:
    """Restricted mean survival time up to ``horizon`` and the SE of that estimate.

    The estimate is the area under the Kaplan-Meier curve on [0, horizon]:
    the expected calendar days on benefit within the horizon. Its variance is
    the Greenwood-type formula of R's survRM2 and ``survival::survfit``
    (``print(fit, rmean=horizon)``)::

        var = sum over event times t_j <= horizon of A_j^2 d_j / (Y_j (Y_j - d_j))

    with A_j the area under the curve from t_j to the horizon. This is the
    variance of the *estimate*; lifelines' ``return_variance=True`` gives the
    variance of min(T, horizon) instead, a different quantity.

    Parameters
    ----------
    durations, events, weights : as in `kaplan_meier`.
    horizon : calendar days; positive and at most the largest duration.

    Returns
    -------
    RMST
        A tuple ``(estimate, se)`` with those names as attributes.

    Examples
    --------
    >>> estimate, se = rmst([2, 3, 3, 5, 8], [1, 1, 0, 1, 0], horizon=6)
    >>> round(estimate, 3), round(se, 3)
    (4.3, 0.705)
    """
    durations, events, weights = _check_data(durations, events, weights)
    horizon = _check_horizon(horizon, durations if weights is None else durations[weights > 0])
    return rmst_of_curve(kaplan_meier(durations, events, weights=weights), horizon)


def rmst_of_curve(km: KaplanMeier, horizon: float) -> RMST:
    """`rmst` of a Kaplan-Meier curve already estimated (e.g. from counts, `anker.survival.counts`).

    ``horizon`` (calendar days) is taken as given: the caller checks it against the follow-up.

    Examples
    --------
    >>> round(rmst_of_curve(kaplan_meier([2, 3, 3, 5, 8], [1, 1, 0, 1, 0]), 6).estimate, 3)
    4.3
    """
    rectangles, k = _rectangles(km.times, km.survival, horizon)
    terms = _greenwood_terms(km.n_at_risk[:k], km.n_events[:k])
    with np.errstate(over="ignore", invalid="ignore"):
        variance = float(np.sum(_area_beyond(rectangles) ** 2 * terms))
    if km.weighted:
        finite_variance(variance)
    return RMST(float(rectangles.sum()), float(np.sqrt(variance)))


def rmst_influence(durations: Any, events: Any, horizon: float, *, weights: Any = None) -> np.ndarray:
    """Per-person influence values of the Kaplan-Meier RMST up to ``horizon``.

    The infinitesimal jackknife: n times the derivative of the estimate with
    respect to person i's case weight. For person i with duration T_i (time
    index k_i), event flag e_i and weight w_i (1 without weights)::

        IF_i = -n w_i ( e_i A_k_i / (Y_k_i - d_k_i)
                        - sum over t_j <= T_i of A_j d_j / (Y_j (Y_j - d_j)) )

    with terms only for event times t_j <= horizon (A_j, Y_j, d_j as in
    `rmst`; a term is 0 where Y_j = d_j, since then A_j = 0). The values sum
    to zero, ``estimate - truth ~= mean(IF)``, and without weights
    ``sum(IF**2) / n**2`` equals the Greenwood-type variance of `rmst`
    exactly. With ``weights`` (treated as fixed, e.g. known propensity
    weights) it is the robust (sandwich) variance. These are the values of R's
    ``residuals(survfit(...), times = horizon, type = "auc", weighted = TRUE)``
    times n.

    Examples
    --------
    >>> influence = rmst_influence([2, 3, 3, 5, 8], [1, 1, 0, 1, 0], horizon=6)
    >>> round(float(influence.sum()), 12), round(float(np.sum(influence**2) / 25), 3)
    (0.0, 0.497)
    """
    durations, events, weights = _check_data(durations, events, weights)
    horizon = _check_horizon(horizon, durations if weights is None else durations[weights > 0])
    if weights is not None:  # the values do not depend on the weights' scale: exact
        weights = rescaled(weights)
    km = kaplan_meier(durations, events, weights=weights)
    rectangles, k = _rectangles(km.times, km.survival, horizon)
    area_beyond = np.zeros(km.times.size)
    area_beyond[:k] = _area_beyond(rectangles)
    survivors = km.n_at_risk - km.n_events
    # survivors == 0 only where the curve drops to 0 (area_beyond == 0), or with zero weights
    safe = np.where(survivors > 0, survivors, 1.0)
    jump = np.where(survivors > 0, area_beyond / safe, 0.0)
    compensator = np.cumsum(jump * _safe_ratio(km.n_events, km.n_at_risk))
    index = np.searchsorted(km.times, durations)
    case = 1.0 if weights is None else weights
    return -durations.size * case * (events * jump[index] - compensator[index])


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0."""
    return numerator / np.where(denominator > 0, denominator, 1.0) * (denominator > 0)
