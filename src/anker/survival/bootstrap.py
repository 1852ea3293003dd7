"""The bootstrap engine: resample people, fast, on plain arrays.

There is one way the package bootstraps: resample people with replacement,
within strata (cohorts) when given, ``n_boot`` times, from
``numpy.random.default_rng(seed)``. Three doors lead there:

- `bootstrap_refit` resamples indices and calls a statistic: slow, general,
  the reference the fast doors are tested against;
- `bootstrap_km_rmst` does the same for the Kaplan-Meier RMST per group, but
  a Kaplan-Meier curve depends on the data only through the counts per
  (group, time, event) cell, so a replicate is one multinomial draw over the
  cells (with the group's size) instead of n resampled people;
- `multiplier_bootstrap` serves asymptotically linear estimators: with
  per-person influence values IF_i (estimate - truth ~= mean(IF)), a
  resample's estimate moves by sum_i (W_i - 1) IF_i / n, where W_i counts
  how often person i was drawn; one matrix product of the counts with the
  influence values gives every replicate of every estimator.

`percentile_ci` turns replicates into an interval. The same seed gives the
same replicates, however they are chunked; a progress line shows on a
terminal only (`anker._progress`). `anker.survival` exports these names.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from anker._progress import progress
from anker.survival._checks import _check_data, _check_groups, _check_horizon
from anker.survival.kaplan_meier import product_limit
from anker.survival.resample import _draw_indices, _resample_sum, _scratch, _strata_blocks
from anker.survival.rmst import rmst

__all__ = [
    "KMBootstrap",
    "bootstrap_km_rmst",
    "multiplier_bootstrap",
    "bootstrap_refit",
    "percentile_ci",
]

Seed = int | np.random.Generator | np.random.SeedSequence | None

# elements per chunk of replicates (x 8 bytes): bounds the memory of every bootstrap door
_CHUNK_ELEMENTS = 1 << 20
# rows from which the multiplier bootstrap counts a resample's blocks on two threads
_THREADED_ROWS = 1 << 18


def _check_boot(n_boot: Any) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    return int(n_boot)


def bootstrap_refit(
    statistic: Callable[..., Any],
    *arrays: Any,
    n_boot: int,
    seed: Seed,
    strata: Any = None,
) -> np.ndarray:
    """Nonparametric bootstrap by refitting: resample rows, call ``statistic`` on them.

    The slow, general door of the engine: each replicate resamples row
    indices with replacement (within ``strata`` when given, so every stratum
    keeps its size) and calls ``statistic(*resampled_arrays)``.

    Returns
    -------
    numpy.ndarray
        Shape (n_boot,) + shape of the statistic's value.

    Examples
    --------
    >>> reps = bootstrap_refit(np.mean, np.arange(10.0), n_boot=200, seed=1)
    >>> reps.shape, bool(abs(reps.std() - 0.87) < 0.2)
    ((200,), True)
    """
    n_boot = _check_boot(n_boot)
    if not arrays:
        raise ValueError("bootstrap_refit needs at least one data array")
    arrays = tuple(np.asarray(a) for a in arrays)
    n = len(arrays[0])
    if n == 0 or any(len(a) != n for a in arrays):
        raise ValueError(f"data arrays must be non-empty and of equal length, got {[len(a) for a in arrays]}")
    rng = np.random.default_rng(seed)
    blocks = _strata_blocks(n, strata)
    results = []
    with progress(n_boot, desc="bootstrap (refit)") as bar:
        for _ in range(n_boot):
            index = blocks[0][_draw_indices(rng, blocks, 1)[0]]
            results.append(np.asarray(statistic(*(a[index] for a in arrays)), dtype=float))
            bar.update(1)
    return np.stack(results)


def multiplier_bootstrap(
    influence: Any,
    *,
    n_boot: int,
    seed: Seed,
    strata: Any = None,
    chunk: int | None = None,
) -> np.ndarray:
    """Bootstrap replicates of an asymptotically linear estimator from its influence values.

    Each replicate draws multinomial counts W (people resampled with
    replacement, within ``strata`` when given) and returns the perturbation
    ``sum_i (W_i - 1) IF_i / n``: add it to the estimate for a replicate
    estimate. This mimics the nonparametric bootstrap at the cost of one
    weighted sum per replicate, taken a block of people at a time, so memory
    does not grow with ``n_boot`` (the result does not depend on ``chunk``).

    Parameters
    ----------
    influence : (n,) or (n, k) array of influence values (estimate - truth ~= mean(IF)).
    n_boot : number of replicates.
    seed : int or numpy Generator.
    strata : optional (n,) labels; each stratum keeps its size in every resample.
    chunk : replicates between progress updates; by default about a million values'
        worth (memory no longer depends on it).

    Returns
    -------
    numpy.ndarray
        (n_boot,) or (n_boot, k) perturbations, in the units of the estimate.

    Examples
    --------
    >>> values = np.random.default_rng(0).normal(size=400)
    >>> reps = multiplier_bootstrap(values - values.mean(), n_boot=2000, seed=1)
    >>> bool(abs(reps.std() / (values.std() / 20) - 1) < 0.1)
    True
    """
    n_boot = _check_boot(n_boot)
    influence = np.asarray(influence, dtype=float)
    if influence.ndim not in (1, 2) or influence.shape[0] == 0:
        raise ValueError(f"influence must be a non-empty (n,) or (n, k) array, got shape {influence.shape}")
    if not np.isfinite(influence).all():
        raise ValueError("influence contains NaN or infinite values")
    n = influence.shape[0]
    matrix = influence.reshape(n, -1)
    if chunk is None:
        chunk = max(1, _CHUNK_ELEMENTS // n)
    elif isinstance(chunk, bool) or not isinstance(chunk, int | np.integer) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    rng = np.random.default_rng(seed)
    order, spans = _strata_blocks(n, strata)
    columns = np.ascontiguousarray(matrix[order].T)
    scratch = _scratch(spans)
    total = matrix.sum(axis=0)
    out = np.empty((n_boot, matrix.shape[1]))
    # a second core counts every second block of a large resample (the draws stay here,
    # in stream order): identical replicates, about 1.2x faster on two cores at 2 x 10^6
    pool = ThreadPoolExecutor(1) if n >= _THREADED_ROWS else None
    # two BLAS pools on two cores would only contend with the second counting thread
    limits = threadpool_limits(1, "blas") if pool is not None else nullcontext()
    with progress(n_boot, desc="bootstrap (multiplier)") as bar, limits:
        for begin in range(0, n_boot, chunk):
            rows = min(chunk, n_boot - begin)
            for r in range(begin, begin + rows):
                # sum_i W_i IF_i for every column at once, whatever the number of
                # estimators sharing the draw
                out[r] = (_resample_sum(rng, spans, columns, scratch, pool) - total) / n
            bar.update(rows)
    if pool is not None:
        pool.shutdown()
    return out[:, 0] if influence.ndim == 1 else out


@dataclass(frozen=True)
class KMBootstrap:
    """Kaplan-Meier RMST of two groups, their difference and bootstrap replicates.

    ``groups`` is (reference, other); ``rmst`` and ``se`` (Greenwood-type)
    follow that order, ``difference`` is other minus reference, calendar days.
    ``rmst_replicates`` is (n_boot, 2), ``difference_replicates`` (n_boot,).
    """

    groups: np.ndarray
    horizon: float
    rmst: np.ndarray
    se: np.ndarray
    difference: float
    rmst_replicates: np.ndarray
    difference_replicates: np.ndarray


def _group_cells(
    durations: np.ndarray, events: np.ndarray, horizon: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Event times <= horizon, each person's cell and the number of cells.

    Kaplan-Meier up to the horizon needs only, per event time t_j, the events
    at t_j and who leaves the risk set in [t_j, t_j+1). So the cells are:
    0 = censored before the first event time; 1 + 2j = event at t_j;
    2 + 2j = censored in [t_j, t_j+1), or still there after the last event
    time up to the horizon (j = m - 1).
    """
    counted = (events == 1) & (durations <= horizon)
    event_times = np.unique(durations[counted])
    cell = 2 * np.searchsorted(event_times, durations, side="right")
    cell[counted] = 1 + 2 * np.searchsorted(event_times, durations[counted])
    return event_times, cell, 2 * event_times.size + 1


def _rmst_from_cells(event_times: np.ndarray, counts: np.ndarray, n: int, horizon: float) -> np.ndarray:
    """RMST per row of (rows, cells) counts laid out as in `_group_cells`.

    A resample whose curve stops early is extended flat to the horizon.
    """
    at_risk = n - np.cumsum(counts, axis=1)[:, 0:-1:2]
    survival = product_limit(at_risk, counts[:, 1::2])
    widths = np.diff(np.concatenate(([0.0], event_times, [horizon])))
    return widths[0] + survival @ widths[1:]


def _km_group_bootstrap(
    durations: np.ndarray, events: np.ndarray, horizon: float, n_boot: int,
    rng: np.random.Generator, bar: Any,
) -> np.ndarray:
    n = durations.size
    event_times, person_cell, n_cells = _group_cells(durations, events, horizon)
    cell_counts = np.bincount(person_cell, minlength=n_cells)
    present = np.flatnonzero(cell_counts)
    # a multinomial draw costs O(cells) binomials, a resample O(n) cheap draws
    use_multinomial = present.size * 16 < n
    chunk = max(1, _CHUNK_ELEMENTS // (n_cells if use_multinomial else max(n, n_cells)))
    out = np.empty(n_boot)
    for begin in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - begin)
        if use_multinomial:
            counts = np.zeros((rows, n_cells))
            counts[:, present] = rng.multinomial(n, cell_counts[present] / n, size=rows)
        else:
            drawn = person_cell[_draw_indices(rng, (np.arange(n), [(0, n)]), rows)]
            flat = (drawn + n_cells * np.arange(rows)[:, None]).ravel()
            counts = np.bincount(flat, minlength=rows * n_cells).reshape(rows, n_cells)
        out[begin : begin + rows] = _rmst_from_cells(event_times, counts, n, horizon)
        bar.update(rows)
    return out


def bootstrap_km_rmst(
    durations: Any,
    events: Any,
    groups: Any,
    horizon: float,
    *,
    n_boot: int,
    seed: Seed,
    reference: Any = None,
) -> KMBootstrap:
    """Bootstrap the Kaplan-Meier RMST of two groups and its difference, fast.

    A replicate resamples each group's people with replacement (the group
    keeps its size). Because Kaplan-Meier depends on the data only through
    the counts per (time, event) cell, that is one multinomial draw over the
    group's cells, so the cost per replicate grows with the number of
    distinct days up to the horizon, not with the number of people. With
    (nearly) as many distinct times as people, e.g. durations in fractions
    of a day, the people are resampled instead and counted into the cells:
    the same distribution, at O(n) per replicate.

    Parameters
    ----------
    durations, events : as in `kaplan_meier` (no weights).
    groups : (n,) labels with exactly two distinct values.
    horizon : calendar days; at most the largest duration in each group.
    n_boot : number of replicates.
    seed : int or numpy Generator.
    reference : the group subtracted in the difference; default the first in sorted order.

    Returns
    -------
    KMBootstrap

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> days = rng.exponential(300, 2000).round()
    >>> cohort = np.repeat(["2004", "2007"], 1000)
    >>> boot = bootstrap_km_rmst(days, np.ones(2000), cohort, 365, n_boot=500, seed=1)
    >>> boot.difference_replicates.shape, bool(abs(boot.difference_replicates.std() / np.hypot(*boot.se) - 1) < 0.15)
    ((500,), True)
    """
    durations, events, _ = _check_data(durations, events)
    n_boot = _check_boot(n_boot)
    groups = _check_groups(groups, durations.size)
    labels = np.unique(groups)
    if labels.size != 2:
        raise ValueError(f"groups must hold exactly two distinct values, found {labels.size}: {labels[:5].tolist()}")
    if reference is not None:
        if reference not in labels:
            raise ValueError(f"reference={reference!r} is not one of the groups {labels.tolist()}")
        labels = np.array([reference, labels[labels != reference][0]], dtype=labels.dtype)
    members = [groups == label for label in labels]
    for label, member in zip(labels.tolist(), members, strict=True):
        _check_horizon(horizon, durations[member], where=f" in group {label!r}")
    horizon = float(horizon)
    point = [rmst(durations[member], events[member], horizon) for member in members]
    # one stream per group, so the two groups can run in parallel and stay reproducible
    streams = np.random.default_rng(seed).spawn(2)
    with progress(2 * n_boot, desc="bootstrap (Kaplan-Meier)") as bar, ThreadPoolExecutor(2) as pool:
        columns = pool.map(
            lambda member, rng: _km_group_bootstrap(
                durations[member], events[member], horizon, n_boot, rng, bar
            ),
            members,
            streams,
        )
        replicates = np.column_stack(list(columns))
    estimates = np.array([p.estimate for p in point])
    return KMBootstrap(
        groups=labels,
        horizon=horizon,
        rmst=estimates,
        se=np.array([p.se for p in point]),
        difference=float(estimates[1] - estimates[0]),
        rmst_replicates=replicates,
        difference_replicates=replicates[:, 1] - replicates[:, 0],
    )


def percentile_ci(replicates: Any, level: float = 0.95) -> tuple[Any, Any]:
    """Percentile bootstrap interval ``(low, high)`` along the first axis.

    Examples
    --------
    >>> low, high = percentile_ci(np.arange(101.0), level=0.9)
    >>> round(low, 6), round(high, 6)
    (5.0, 95.0)
    """
    replicates = np.asarray(replicates, dtype=float)
    if replicates.ndim == 0 or replicates.shape[0] < 2:
        raise ValueError("replicates must hold at least two bootstrap values along the first axis")
    if np.isnan(replicates).any():
        raise ValueError(f"replicates contain {int(np.isnan(replicates).sum())} NaN value(s)")
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    alpha = (1 - level) / 2
    low, high = np.quantile(replicates, [alpha, 1 - alpha], axis=0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high
