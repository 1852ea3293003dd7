"""Kaplan-Meier: the package's one product-limit estimator, on plain arrays.

Every function takes numpy arrays: ``durations`` (floats or ints, >= 0, in
the caller's time unit, calendar days by default), ``events`` 0/1 (1 = the
spell ended, 0 = censored) and, where offered, non-negative case
``weights``. The product-limit step itself is `product_limit`; the curve
(`kaplan_meier`), its value at one time per group (`survival_at_time`), the
censoring curve (`censoring_survival`) and the bootstrap's cell counts all
go through it, so there is one Kaplan-Meier in the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anker._weights import finite_variance
from anker.survival._checks import _check_data
from anker.survival.distinct import distinct_times

__all__ = ["KaplanMeier", "kaplan_meier", "survival_at", "survival_at_time", "censoring_survival",
           "product_limit"]

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
    """d / (Y (Y - d)), set to 0 where Y == d (as R's survmean does).

    Computed as (d / Y) / (Y - d): the product Y (Y - d) of weighted counts near
    1e-300 underflows to 0 (an infinite term), and near 1e300 overflows.
    """
    survivors = n_at_risk - n_events
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        share = np.where(n_at_risk > 0, n_events / n_at_risk, 0.0)
        return np.where(survivors > 0, share / survivors, 0.0)


def product_limit(n_at_risk: Any, n_events: Any) -> np.ndarray:
    """The product-limit step: S(t_j) = prod over i <= j of (1 - d_i / Y_i), along the last axis.

    ``n_at_risk`` and ``n_events`` are (weighted) counts per time in
    ascending time order; leading axes are separate curves (one per
    bootstrap replicate, say). A time with nobody at risk leaves the curve
    unchanged.

    Examples
    --------
    >>> product_limit([5, 4, 2, 1], [1, 1, 1, 0]).tolist()
    [0.8, 0.6000000000000001, 0.30000000000000004, 0.30000000000000004]
    """
    n_at_risk = np.asarray(n_at_risk, dtype=float)
    n_events = np.asarray(n_events)
    shape = np.broadcast_shapes(n_at_risk.shape, n_events.shape)
    factor = np.divide(n_events, n_at_risk, out=np.zeros(shape), where=n_at_risk > 0)
    np.subtract(1.0, factor, out=factor)
    return np.cumprod(factor, axis=-1, out=factor)


def _km_from_counts(
    times: np.ndarray, n_events: np.ndarray, n_total: np.ndarray, *, weighted: bool
) -> KaplanMeier:
    # at risk at t_j = everyone whose duration is >= t_j
    n_at_risk = np.cumsum(n_total[::-1])[::-1]
    survival = product_limit(n_at_risk, n_events)
    with np.errstate(invalid="ignore", over="ignore"):
        variance = survival**2 * np.cumsum(_greenwood_terms(n_at_risk, n_events))
    variance = np.where(survival > 0, variance, 0.0)
    if weighted:  # Greenwood reads weights as frequencies: its scale is theirs (anker._weights)
        finite_variance(variance)
    return KaplanMeier(times, n_at_risk, n_events, n_total - n_events, survival, variance, weighted)


def kaplan_meier(durations: Any, events: Any, *, weights: Any = None) -> KaplanMeier:
    """Kaplan-Meier estimate of the survival (still-on-benefit) curve.

    Parameters
    ----------
    durations : array of spell lengths, calendar days (>= 0).
    events : array of 0/1, 1 when the spell ended at its duration.
    weights : optional non-negative case weights (frequencies, for the variance); weights
        whose Greenwood variance is not finite (near 1e-308) raise `AnkerDataError`.

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
    times, index = distinct_times(durations)
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


def survival_at_time(
    durations: Any, events: Any, time: float, *, groups: Any = None, n_groups: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier S(``time``) and Greenwood var(log S(``time``)) per group.

    ``groups`` are integer codes 0 .. ``n_groups`` - 1 (all one group when
    omitted). An empty group has S = 1 and variance 0; where S has dropped to
    0 the variance of its log is undefined (NaN).

    Examples
    --------
    >>> s, var_log = survival_at_time([2, 3, 3, 5, 8], [1, 1, 0, 1, 0], 4, groups=[0, 0, 0, 1, 1])
    >>> s.round(3).tolist(), var_log.round(3).tolist()
    ([0.333, 1.0], [0.667, 0.0])
    """
    durations, events, _ = _check_data(durations, events)
    codes = np.zeros(durations.size, dtype=np.int64) if groups is None else np.asarray(groups)
    if codes.shape != durations.shape or codes.dtype.kind not in "iu" or (codes < 0).any():
        raise ValueError("groups must be non-negative integer codes, one per duration")
    n_groups = int(codes.max()) + 1 if n_groups is None else int(n_groups)
    survival, var_log = np.ones(n_groups), np.zeros(n_groups)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_groups + 1))
    for group in range(n_groups):
        members = order[bounds[group] : bounds[group + 1]]
        if members.size == 0:
            continue
        km = kaplan_meier(durations[members], events[members])
        position = int(np.searchsorted(km.times, time, side="right")) - 1
        if position < 0:
            continue
        survival[group] = km.survival[position]
        var_log[group] = km.variance[position] / survival[group] ** 2 if survival[group] > 0 else np.nan
    return survival, var_log


def censoring_survival(durations: Any, events: Any) -> KaplanMeier:
    """Reverse Kaplan-Meier G(t) = P(not censored by t), scikit-survival's convention.

    The censorings are the events of this curve. An exit at the same time as
    a censoring counts as happening first, so it leaves the risk set for
    censoring (``n_censored`` holds those exits).

    Examples
    --------
    >>> censoring_survival([2, 3, 3, 5, 8], [1, 1, 0, 1, 0]).survival.round(3).tolist()
    [1.0, 0.667, 0.667, 0.0]
    """
    durations, events, _ = _check_data(durations, events)
    times, index = distinct_times(durations)
    total = np.bincount(index, minlength=times.size).astype(float)
    exits = np.bincount(index, weights=events, minlength=times.size)
    at_risk = np.cumsum(total[::-1])[::-1] - exits
    censored = total - exits
    survival = product_limit(at_risk, censored)
    with np.errstate(invalid="ignore"):
        variance = np.where(survival > 0, survival**2 * np.cumsum(_greenwood_terms(at_risk, censored)), 0.0)
    return KaplanMeier(times, at_risk, censored, exits, survival, variance)
