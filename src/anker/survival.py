"""Survival primitives on plain arrays: Kaplan-Meier, RMST and its SE, log-rank, bootstrap.

Every function takes numpy arrays: ``durations`` in calendar days (floats or
ints, >= 0), ``events`` 0/1 (1 = the spell ended, 0 = censored) and, where
offered, non-negative case ``weights``. `anker.outcome` builds the cohort
comparison from these; they are public so that a researcher can check a
number by hand.

The bootstrap engine
--------------------
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
  how often person i was drawn; one weighted sum per replicate.

`percentile_ci` turns replicates into an interval. The same seed gives the
same replicates, however they are chunked; a progress line shows on a
terminal only (`anker._progress`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from anker._progress import progress

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

Seed = int | np.random.Generator | np.random.SeedSequence | None

# elements per chunk of replicates (x 8 bytes): bounds the memory of every bootstrap door
_CHUNK_ELEMENTS = 1 << 20


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


# --------------------------------------------------------------------------- bootstrap engine
def _strata_blocks(n: int, strata: Any) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Rows sorted by stratum and each stratum's (start, size) block in that order."""
    if strata is None:
        return np.arange(n), [(0, n)]
    strata = np.asarray(strata)
    if strata.shape != (n,):
        raise ValueError(f"strata has shape {strata.shape}, the data have {n} rows")
    _, codes = np.unique(strata, return_inverse=True)
    sizes = np.bincount(codes)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return np.argsort(codes, kind="stable"), list(zip(starts.tolist(), sizes.tolist(), strict=True))


def _draw_indices(
    rng: np.random.Generator, blocks: tuple[np.ndarray, list[tuple[int, int]]], n_rows: int
) -> np.ndarray:
    """(n_rows, n) resampled positions in the stratum-sorted row order (``blocks[0]``).

    One call per replicate and stratum, so the random stream, and with it
    every replicate, is the same however the replicates are chunked.
    """
    order, spans = blocks
    index = np.empty((n_rows, order.size), dtype=np.int64)
    for row in index:
        for start, size in spans:
            # 32-bit draws are about three times faster than 64-bit ones
            dtype = np.uint32 if size < 2**32 else np.uint64
            row[start : start + size] = rng.integers(0, size, size, dtype=dtype)
            row[start : start + size] += start
    return index


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
    weighted sum per replicate; replicates are processed ``chunk`` at a time
    to bound memory (the result does not depend on ``chunk``).

    Parameters
    ----------
    influence : (n,) or (n, k) array of influence values (estimate - truth ~= mean(IF)).
    n_boot : number of replicates.
    seed : int or numpy Generator.
    strata : optional (n,) labels; each stratum keeps its size in every resample.
    chunk : replicates per chunk; by default a chunk holds about a million values.

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
    blocks = _strata_blocks(n, strata)
    # one contiguous row per column: a 1-D gather is far faster than a row gather
    ordered = np.ascontiguousarray(matrix[blocks[0]].T)
    total = matrix.sum(axis=0)
    out = np.empty((n_boot, matrix.shape[1]))
    with progress(n_boot, desc="bootstrap (multiplier)") as bar:
        for begin in range(0, n_boot, chunk):
            rows = min(chunk, n_boot - begin)
            index = _draw_indices(rng, blocks, rows)
            # summing the resampled values is sum_i W_i IF_i without forming the counts W
            for column, values in enumerate(ordered):
                out[begin : begin + rows, column] = (values.take(index).sum(axis=1) - total[column]) / n
            bar.update(rows)
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
    # nobody at risk means nobody can have the event either: 0 / 1 = 0
    survival = counts[:, 1::2] / np.maximum(at_risk, 1)
    np.subtract(1.0, survival, out=survival)
    np.cumprod(survival, axis=1, out=survival)
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
