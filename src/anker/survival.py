"""Survival primitives on plain arrays: Kaplan-Meier, RMST and its SE, log-rank.

Every function takes numpy arrays: ``durations`` in calendar days (floats or
ints, >= 0), ``events`` 0/1 (1 = the spell ended, 0 = censored) and, where
offered, non-negative case ``weights``. `anker.outcome` builds the cohort
comparison from these; they are public so that a researcher can check a
number by hand.

The bootstrap engine (`bootstrap_km_rmst`, `KMBootstrap`,
`multiplier_bootstrap`, `bootstrap_refit`, `percentile_ci`) lives in
`anker.bootstrap` and is re-exported here, so ``from anker.survival import
bootstrap_km_rmst`` keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from anker.bootstrap import (
    KMBootstrap,
    bootstrap_km_rmst,
    bootstrap_refit,
    multiplier_bootstrap,
    percentile_ci,
)

__all__ = [
    "KaplanMeier",
    "RMST",
    "LogrankResult",
    "KMBootstrap",
    "kaplan_meier",
    "survival_at",
    "rmst",
    "rmst_curve_area",
    "rmst_influence",
    "logrank_test",
    "bootstrap_km_rmst",
    "multiplier_bootstrap",
    "bootstrap_refit",
    "percentile_ci",
]


# --------------------------------------------------------------------------- input checks
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
    if weights is not None:
        weights = _finite_vector("weights", weights)
        if weights.size != durations.size:
            raise ValueError(f"weights has length {weights.size}, durations has length {durations.size}")
        if (weights < 0).any():
            raise ValueError(f"weights must be >= 0; {int((weights < 0).sum())} are negative")
        if not weights.sum() > 0:
            raise ValueError("weights are all zero")
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


# --------------------------------------------------------------------------- Kaplan-Meier
@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier curve: one row per unique duration (event or censoring).

    With ``weights`` the counts are sums of weights (``weighted`` is True) and
    the variance is Greenwood's formula on those weighted counts, as R's
    ``survfit`` gives without ``robust=TRUE``.

    Attributes
    ----------
    times : unique durations, calendar days, ascending.
    n_at_risk, n_events, n_censored : (weighted) counts at each time.
    survival : S(t), right-continuous; 1 before ``times[0]``.
    variance : Greenwood variance of S(t); 0 where S(t) has reached 0.
    """

    times: np.ndarray
    n_at_risk: np.ndarray
    n_events: np.ndarray
    n_censored: np.ndarray
    survival: np.ndarray
    variance: np.ndarray
    weighted: bool = False

    @property
    def se(self) -> np.ndarray:
        """Greenwood standard error of S(t)."""
        return np.sqrt(self.variance)


def _greenwood_terms(n_at_risk: np.ndarray, n_events: np.ndarray) -> np.ndarray:
    """d / (Y (Y - d)), set to 0 where Y == d (as R's survmean does)."""
    survivors = n_at_risk - n_events
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(survivors > 0, n_events / (n_at_risk * survivors), 0.0)


def _km_from_counts(
    times: np.ndarray, n_events: np.ndarray, n_total: np.ndarray, *, weighted: bool
) -> KaplanMeier:
    # at risk at t_j = everyone whose duration is >= t_j
    n_at_risk = np.cumsum(n_total[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n_at_risk > 0, n_events / n_at_risk, 0.0)
    survival = np.cumprod(1.0 - hazard)
    with np.errstate(invalid="ignore"):
        variance = survival**2 * np.cumsum(_greenwood_terms(n_at_risk, n_events))
    variance = np.where(survival > 0, variance, 0.0)
    return KaplanMeier(times, n_at_risk, n_events, n_total - n_events, survival, variance, weighted)


def kaplan_meier(durations: Any, events: Any, *, weights: Any = None) -> KaplanMeier:
    """Kaplan-Meier estimate of the survival (still-on-benefit) curve.

    Parameters
    ----------
    durations : array of spell lengths, calendar days (>= 0).
    events : array of 0/1, 1 when the spell ended at its duration.
    weights : optional non-negative case weights.

    Returns
    -------
    KaplanMeier

    Examples
    --------
    >>> km = kaplan_meier([2, 3, 3, 5, 8], [1, 1, 0, 1, 0])
    >>> km.times.tolist(), km.survival.round(3).tolist()
    ([2.0, 3.0, 5.0, 8.0], [0.8, 0.6, 0.3, 0.3])
    """
    durations, events, weights = _check_data(durations, events, weights)
    times, index = np.unique(durations, return_inverse=True)
    case = np.ones_like(durations) if weights is None else weights
    n_events = np.bincount(index, weights=case * events, minlength=times.size)
    n_total = np.bincount(index, weights=case, minlength=times.size)
    return _km_from_counts(times, n_events, n_total, weighted=weights is not None)


def survival_at(km: KaplanMeier, times: Any) -> np.ndarray:
    """Evaluate the Kaplan-Meier step function S(t) at arbitrary ``times`` (calendar days).

    Examples
    --------
    >>> km = kaplan_meier([2, 3, 3, 5, 8], [1, 1, 0, 1, 0])
    >>> survival_at(km, [0, 2, 4.5, 100]).round(3).tolist()
    [1.0, 0.8, 0.6, 0.3]
    """
    times = np.asarray(times, dtype=float)
    if np.isnan(times).any():
        raise ValueError("times contains missing (NaN) values")
    position = np.searchsorted(km.times, times, side="right") - 1
    return np.where(position >= 0, km.survival[np.maximum(position, 0)], 1.0)


# --------------------------------------------------------------------------- RMST
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
    km = kaplan_meier(durations, events, weights=weights)
    rectangles, k = _rectangles(km.times, km.survival, horizon)
    terms = _greenwood_terms(km.n_at_risk[:k], km.n_events[:k])
    variance = float(np.sum(_area_beyond(rectangles) ** 2 * terms))
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


# --------------------------------------------------------------------------- log-rank
@dataclass(frozen=True)
class LogrankResult:
    """Log-rank test: chi-square ``statistic`` on ``degrees_of_freedom``, ``p_value``.

    ``observed`` and ``expected`` are event counts per group, in ``groups`` order.
    """

    statistic: float
    p_value: float
    degrees_of_freedom: int
    groups: np.ndarray
    observed: np.ndarray
    expected: np.ndarray


def logrank_test(durations: Any, events: Any, groups: Any) -> LogrankResult:
    """Log-rank test of equal survival curves across two or more groups.

    The chi-square statistic (O - E)' V^- (O - E) on k - 1 degrees of
    freedom, with the hypergeometric variance; as lifelines'
    ``multivariate_logrank_test`` and R's ``survdiff``.

    Examples
    --------
    >>> result = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0], ["a", "a", "a", "b", "b", "b"])
    >>> result.degrees_of_freedom, round(result.statistic, 3)
    (1, 5.052)
    """
    durations, events, _ = _check_data(durations, events)
    groups = _check_groups(groups, durations.size)
    labels, group_index = np.unique(groups, return_inverse=True)
    if labels.size < 2:
        raise ValueError(f"groups must hold at least two distinct values, found {labels.size}")
    times, time_index = np.unique(durations, return_inverse=True)
    n_groups, n_times = labels.size, times.size
    cell = group_index * n_times + time_index
    size = n_groups * n_times
    deaths = np.bincount(cell, weights=events, minlength=size).reshape(n_groups, n_times)
    leaving = np.bincount(cell, minlength=size).reshape(n_groups, n_times).astype(float)
    at_risk = np.cumsum(leaving[:, ::-1], axis=1)[:, ::-1]
    total_at_risk, total_deaths = at_risk.sum(axis=0), deaths.sum(axis=0)
    share = at_risk / total_at_risk
    expected = (share * total_deaths).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(
            total_at_risk > 1,
            total_deaths * (total_at_risk - total_deaths) / (total_at_risk - 1),
            0.0,
        )
    # V_gh = sum_j c_j (share_g delta_gh - share_g share_h)
    covariance = np.diag((scale * share).sum(axis=1)) - (share * scale) @ share.T
    difference = deaths.sum(axis=1) - expected
    statistic = float(difference[:-1] @ np.linalg.pinv(covariance[:-1, :-1]) @ difference[:-1])
    dof = n_groups - 1
    return LogrankResult(
        statistic, float(stats.chi2.sf(statistic, dof)), dof, labels, deaths.sum(axis=1), expected
    )
