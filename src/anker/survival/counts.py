"""Kaplan-Meier, RMST, log-rank and their bootstrap from counts per (group, time).

Kaplan-Meier, the RMST and its Greenwood-type variance and the log-rank
test depend on the data only through, per group and distinct duration, the
number of events and the number of spells whose follow-up ends there
(events plus censored). Those counts add up over any split of the rows, so
a data set too large for one machine is counted part by part
(`survival_counts` per partition, `combine_counts` of the parts) and the
estimates computed from the sum. They are *the same numbers* as the
estimators on rows: the counts feed the same product-limit step
(`anker.survival.kaplan_meier.product_limit`), RMST formula
(`anker.survival.rmst.rmst_of_curve`) and log-rank formula
(`anker.survival.logrank.logrank_of_counts`). Durations are calendar days
unless the caller says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from anker._progress import progress
from anker.survival._checks import _check_data, _check_groups, _check_horizon
from anker.survival.bootstrap import (
    _CHUNK_ELEMENTS,
    KMBootstrap,
    Seed,
    _check_boot,
    _rmst_from_cells,
)
from anker.survival.distinct import distinct_times
from anker.survival.kaplan_meier import KaplanMeier, _km_from_counts
from anker.survival.logrank import LogrankResult, logrank_of_counts
from anker.survival.rmst import RMST, rmst_of_curve

__all__ = ["SurvivalCounts", "survival_counts", "combine_counts", "kaplan_meier_from_counts",
           "rmst_from_counts", "logrank_from_counts", "bootstrap_km_rmst_from_counts"]


@dataclass(frozen=True)
class SurvivalCounts:
    """Events and spells ending, per group (rows) and distinct duration (columns).

    Attributes
    ----------
    groups : (g,) group labels (sorted, unless chosen with `select`).
    times : (t,) distinct durations, ascending (calendar days unless the caller says otherwise).
    n_events : (g, t) events at each time.
    n_total : (g, t) spells whose duration is that time: events plus censored.
    """

    groups: np.ndarray
    times: np.ndarray
    n_events: np.ndarray
    n_total: np.ndarray

    @property
    def n(self) -> np.ndarray:
        """Spells per group."""
        return self.n_total.sum(axis=1)

    def group_counts(self, group: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(times, n_events, n_total)`` of one group, at its own durations only."""
        row = self._row(group)
        present = self.n_total[row] > 0
        return self.times[present], self.n_events[row, present], self.n_total[row, present]

    def select(self, groups: Iterable[Any]) -> SurvivalCounts:
        """The counts of some groups only, in the order given (times none of them has are dropped)."""
        rows = np.asarray([self._row(g) for g in groups], dtype=np.int64)
        present = self.n_total[rows].sum(axis=0) > 0
        return SurvivalCounts(self.groups[rows], self.times[present],
                              self.n_events[np.ix_(rows, present)], self.n_total[np.ix_(rows, present)])

    def _row(self, group: Any) -> int:
        found = np.flatnonzero(self.groups == group)
        if found.size != 1:
            raise ValueError(f"group {group!r} is not in the counts (groups: {self.groups.tolist()[:10]})")
        return int(found[0])


def survival_counts(durations: Any, events: Any, groups: Any = None) -> SurvivalCounts:
    """Count events and spells per group and distinct duration.

    Parameters
    ----------
    durations : array of spell lengths (>= 0), calendar days unless stated otherwise.
    events : array of 0/1, 1 when the spell ended at its duration.
    groups : optional (n,) labels; all one group (label 0) when omitted.

    Examples
    --------
    >>> c = survival_counts([2, 3, 3, 5, 8], [1, 1, 0, 1, 0], ["a", "a", "b", "b", "b"])
    >>> c.groups.tolist(), c.times.tolist()
    (['a', 'b'], [2.0, 3.0, 5.0, 8.0])
    >>> c.n_events.tolist(), c.n_total.tolist()
    ([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], [[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]])
    """
    durations, events, _ = _check_data(durations, events)
    if groups is None:
        groups = np.zeros(durations.size, dtype=np.int64)
    groups = _check_groups(groups, durations.size)
    labels, group_index = np.unique(groups, return_inverse=True)
    times, time_index = distinct_times(durations)
    cell = group_index * times.size + time_index
    size = labels.size * times.size
    shape = (labels.size, times.size)
    n_events = np.bincount(cell, weights=events, minlength=size).reshape(shape)
    n_total = np.bincount(cell, minlength=size).reshape(shape).astype(float)
    return SurvivalCounts(labels, times, n_events, n_total)


def combine_counts(parts: Iterable[SurvivalCounts]) -> SurvivalCounts:
    """Add up the counts of parts of the data (partitions, files): the counts of the whole.

    Examples
    --------
    >>> a = survival_counts([2, 3], [1, 1], ["x", "x"])
    >>> b = survival_counts([3, 5, 8], [0, 1, 0], ["x", "y", "y"])
    >>> whole = survival_counts([2, 3, 3, 5, 8], [1, 1, 0, 1, 0], ["x", "x", "x", "y", "y"])
    >>> combined = combine_counts([a, b])
    >>> bool((combined.n_total == whole.n_total).all() and (combined.n_events == whole.n_events).all())
    True
    """
    parts = [p for p in parts if p.times.size]
    if not parts:
        raise ValueError("no counts to combine: every part is empty")
    labels = np.unique(np.concatenate([p.groups for p in parts]))
    times = np.unique(np.concatenate([p.times for p in parts]))
    n_events = np.zeros((labels.size, times.size))
    n_total = np.zeros((labels.size, times.size))
    for p in parts:
        rows = np.searchsorted(labels, p.groups)
        cols = np.searchsorted(times, p.times)
        n_events[np.ix_(rows, cols)] += p.n_events
        n_total[np.ix_(rows, cols)] += p.n_total
    return SurvivalCounts(labels, times, n_events, n_total)


def _one_group(counts: SurvivalCounts, group: Any) -> Any:
    if group is None:
        if counts.groups.size != 1:
            raise ValueError(f"the counts hold {counts.groups.size} groups: name one with group=")
        return counts.groups[0]
    return group


def kaplan_meier_from_counts(counts: SurvivalCounts, group: Any = None) -> KaplanMeier:
    """The Kaplan-Meier curve of one group (the only one when ``group`` is omitted).

    Equal to `anker.survival.kaplan_meier` on that group's rows.

    Examples
    --------
    >>> c = survival_counts([2, 3, 3, 5, 8], [1, 1, 0, 1, 0])
    >>> kaplan_meier_from_counts(c).survival.round(3).tolist()
    [0.8, 0.6, 0.3, 0.3]
    """
    times, n_events, n_total = counts.group_counts(_one_group(counts, group))
    return _km_from_counts(times, n_events, n_total, weighted=False)


def rmst_from_counts(counts: SurvivalCounts, horizon: float, group: Any = None) -> RMST:
    """RMST up to ``horizon`` and its SE for one group: `anker.survival.rmst` from counts.

    Examples
    --------
    >>> estimate, se = rmst_from_counts(survival_counts([2, 3, 3, 5, 8], [1, 1, 0, 1, 0]), 6)
    >>> round(estimate, 3), round(se, 3)
    (4.3, 0.705)
    """
    group = _one_group(counts, group)
    km = kaplan_meier_from_counts(counts, group)
    _check_horizon(horizon, km.times, where=f" in group {group!r}")
    return rmst_of_curve(km, float(horizon))


def logrank_from_counts(counts: SurvivalCounts) -> LogrankResult:
    """Log-rank test of equal survival across the groups: `anker.survival.logrank_test` from counts.

    Examples
    --------
    >>> c = survival_counts([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0], ["a", "a", "a", "b", "b", "b"])
    >>> round(logrank_from_counts(c).statistic, 3)
    5.052
    """
    if counts.groups.size < 2:
        raise ValueError(f"groups must hold at least two distinct values, found {counts.groups.size}")
    present = counts.n_total.sum(axis=0) > 0
    return logrank_of_counts(counts.groups, counts.n_events[:, present], counts.n_total[:, present])


def _cells(times: np.ndarray, n_events: np.ndarray, n_total: np.ndarray,
           horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Event times <= horizon and the count per cell, laid out as `bootstrap._group_cells` does."""
    counted = (n_events > 0) & (times <= horizon)
    event_times = times[counted]
    cell_counts = np.zeros(2 * event_times.size + 1)
    # censored (and events after the horizon) go to the cell after the last event time <= their time
    censored = np.where(times <= horizon, n_total - n_events, n_total)
    np.add.at(cell_counts, 2 * np.searchsorted(event_times, times, side="right"), censored)
    cell_counts[1 + 2 * np.arange(event_times.size)] = n_events[counted]
    return event_times, cell_counts


def bootstrap_km_rmst_from_counts(counts: SurvivalCounts, horizon: float, *, n_boot: int,
                                  seed: Seed, reference: Any = None) -> KMBootstrap:
    """`anker.survival.bootstrap_km_rmst` of two groups from their counts alone.

    Each replicate is one multinomial draw over a group's (time, event)
    cells with the group's size: the distribution of a resample of its
    spells. For a given seed the replicates are those of
    `bootstrap_km_rmst` on the rows whenever that function takes its
    multinomial door (more than 16 spells per occupied cell, as with whole
    days and thousands of spells).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> days = rng.exponential(300, 4000).round()
    >>> cohort = np.repeat(["2004", "2007"], 2000)
    >>> c = survival_counts(days, np.ones(4000), cohort)
    >>> boot = bootstrap_km_rmst_from_counts(c, 365, n_boot=300, seed=1)
    >>> bool(abs(boot.difference_replicates.std() / np.hypot(*boot.se) - 1) < 0.15)
    True
    """
    n_boot = _check_boot(n_boot)
    labels = counts.groups
    if labels.size != 2:
        raise ValueError(f"groups must hold exactly two distinct values, found {labels.size}: "
                         f"{labels[:5].tolist()}")
    if reference is not None:
        if reference not in labels:
            raise ValueError(f"reference={reference!r} is not one of the groups {labels.tolist()}")
        labels = np.array([reference, labels[labels != reference][0]], dtype=labels.dtype)
    point = [rmst_from_counts(counts, horizon, group) for group in labels]
    horizon = float(horizon)
    streams = np.random.default_rng(seed).spawn(2)
    replicates = np.empty((n_boot, 2))
    with progress(2 * n_boot, desc="bootstrap (Kaplan-Meier counts)") as bar:
        for column, (group, rng) in enumerate(zip(labels, streams, strict=True)):
            event_times, cell_counts = _cells(*counts.group_counts(group), horizon)
            n = int(round(cell_counts.sum()))
            present = np.flatnonzero(cell_counts)
            chunk = max(1, _CHUNK_ELEMENTS // cell_counts.size)
            for begin in range(0, n_boot, chunk):
                rows = min(chunk, n_boot - begin)
                drawn = np.zeros((rows, cell_counts.size))
                drawn[:, present] = rng.multinomial(n, cell_counts[present] / n, size=rows)
                replicates[begin : begin + rows, column] = _rmst_from_cells(event_times, drawn, n,
                                                                            horizon)
                bar.update(rows)
    estimates = np.array([p.estimate for p in point])
    return KMBootstrap(groups=labels, horizon=horizon, rmst=estimates,
                       se=np.array([p.se for p in point]),
                       difference=float(estimates[1] - estimates[0]), rmst_replicates=replicates,
                       difference_replicates=replicates[:, 1] - replicates[:, 0])
