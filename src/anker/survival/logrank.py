"""The log-rank test of equal survival curves across groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from anker.survival._checks import _check_data, _check_groups
from anker.survival.distinct import distinct_times


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
    times, time_index = distinct_times(durations)
    n_groups, n_times = labels.size, times.size
    cell = group_index * n_times + time_index
    size = n_groups * n_times
    deaths = np.bincount(cell, weights=events, minlength=size).reshape(n_groups, n_times)
    leaving = np.bincount(cell, minlength=size).reshape(n_groups, n_times).astype(float)
    return logrank_of_counts(labels, deaths, leaving)


def logrank_of_counts(labels: np.ndarray, deaths: np.ndarray, leaving: np.ndarray) -> LogrankResult:
    """`logrank_test` from counts: per group (rows) and ascending time (columns), the
    ``deaths`` (events) and everyone ``leaving`` the risk set there (events and censored).

    Every time column must have someone leaving in some group.

    Examples
    --------
    >>> deaths = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 0]])
    >>> leaving = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]])
    >>> round(logrank_of_counts(np.array(["a", "b"]), deaths, leaving).statistic, 3)
    5.052
    """
    n_groups = labels.size
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
