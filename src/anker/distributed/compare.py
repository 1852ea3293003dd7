"""`compare_cohorts` on a Dask frame: the naive comparison from counts, g-computation from sums.

Kaplan-Meier per cohort, the RMST and its Greenwood-type SE, the log-rank
test and the Kaplan-Meier bootstrap need only the number of events and of
spells ending per (cohort, duration). Each partition is counted where it
lies; only those counts (a few thousand numbers per cohort with durations
in whole days) travel, and `anker.survival.counts` computes the estimates,
equal to the in-memory ones. ``method="gcomp"`` adds the g-computation
estimate from per-partition sums (`anker.distributed.gcomp`); the weighting
estimators need every spell's propensity and censoring weights in memory and
say so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from anker.distributed._frames import meta, require_dask
from anker.distributed.comparison import IN_MEMORY_ONLY, DistributedComparison, NaiveComparison
from anker.distributed.design import numeric_column
from anker.distributed.gcomp import gcomp_dask
from anker.errors import AnkerDataError
from anker.schema import BENEFIT_DAYS_PER_CALENDAR_DAY, COMPARISON_COVARIATES, require_columns
from anker.survival.bootstrap import bootstrap_km_rmst, percentile_ci
from anker.survival.counts import (
    SurvivalCounts,
    bootstrap_km_rmst_from_counts,
    combine_counts,
    kaplan_meier_from_counts,
    logrank_from_counts,
    rmst_from_counts,
    survival_counts,
)

__all__ = ["compare_cohorts_dask", "cohort_counts", "naive_from_counts", "refuse_groups"]

_PREFERRED_REFERENCE = "casemanagement_2004"
_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "estimate_benefit_days", "ci_low_benefit_days",
            "ci_high_benefit_days", "rmst_other", "rmst_reference"]


def _partition_counts(part: pd.DataFrame, cohort_col: str, duration_col: str,
                      event_col: str) -> SurvivalCounts | None:
    if len(part) == 0:
        return None
    cohorts = part[cohort_col]
    if cohorts.isna().any():
        raise AnkerDataError(f"cohort column {cohort_col!r} has {int(cohorts.isna().sum())} missing "
                             "value(s) in a partition", columns=[cohort_col])
    durations = numeric_column(part, duration_col, "durations")
    if (durations < 0).any():
        raise AnkerDataError(f"column {duration_col!r} has {int((durations < 0).sum())} negative "
                             "duration(s) in a partition", columns=[duration_col])
    events = numeric_column(part, event_col, "event flag")
    if not np.isin(events, (0.0, 1.0)).all():
        bad = np.unique(events[~np.isin(events, (0.0, 1.0))])[:5].tolist()
        raise AnkerDataError(f"column {event_col!r} must be 0 or 1, found {bad}", columns=[event_col])
    return survival_counts(durations, events, cohorts.to_numpy(dtype=object))


def cohort_counts(ddf: Any, *, cohort_col: str = "cohort", duration_col: str = "duration_days",
                  event_col: str = "exited") -> tuple[SurvivalCounts, int]:
    """Events and spells ending per (cohort, duration), counted per partition and summed.

    Returns the counts and the number of partitions. Missing or non-numeric
    values, negative durations and event flags other than 0/1 raise
    `anker.AnkerDataError` naming the column.

    Examples
    --------
    >>> import anker, dask.dataframe as dd
    >>> df = anker.simulate_population(n_per_cohort=500, seed=1).data
    >>> counts, parts = cohort_counts(dd.from_pandas(df, npartitions=4))
    >>> counts.groups.tolist(), int(counts.n.sum()), parts
    (['casemanagement_2004', 'coaching_2007'], 1000, 4)
    """
    import dask

    require_dask(ddf, "cohort_counts")
    require_columns(meta(ddf), [cohort_col, duration_col, event_col], role="cohort comparison")
    parts = ddf.to_delayed()
    counted = dask.compute(*[dask.delayed(_partition_counts)(p, cohort_col, duration_col, event_col)
                             for p in parts])
    found = [c for c in counted if c is not None]
    if not found:
        raise AnkerDataError("the Dask frame holds no rows to compare")
    return combine_counts(found), len(parts)


def _choose(counts: SurvivalCounts, cohort_col: str, reference: Any,
            cohorts: Sequence[Any] | None) -> tuple[Any, Any, list[str]]:
    """The (reference, other) pair, with the messages of the in-memory comparison."""
    found = counts.groups.tolist()
    shown = sorted(map(str, found))[:10]
    notes: list[str] = []
    if cohorts is not None:
        if isinstance(cohorts, str) or len(cohorts) != 2 or cohorts[0] == cohorts[1]:
            raise ValueError(f"cohorts must name two different cohorts (reference, other), got {cohorts!r}")
        if reference is not None and reference not in cohorts:
            raise ValueError(f"reference={reference!r} is not one of cohorts={tuple(cohorts)!r}")
        for label in cohorts:
            if label not in found:
                raise AnkerDataError(f"cohort {label!r} has no rows in column {cohort_col!r} "
                                     f"(found: {shown})", columns=[cohort_col])
        ref = cohorts[0] if reference is None else reference
        other = cohorts[1] if ref == cohorts[0] else cohorts[0]
        left = {str(g): int(n) for g, n in zip(found, counts.n, strict=True) if g not in (ref, other)}
        if left:
            message = (f"left out {sum(left.values())} row(s) of cohort(s) not named in cohorts=: "
                       f"{left}")
            warnings.warn(message, UserWarning, stacklevel=4)
            notes.append(message)
        return ref, other, notes
    if len(found) != 2:
        raise AnkerDataError(
            f"column {cohort_col!r} must hold exactly two cohorts, found {len(found)}: {shown}; "
            "name the pair to compare with cohorts=(reference, other)", columns=[cohort_col])
    if reference is None:
        if _PREFERRED_REFERENCE not in found:
            raise ValueError(f"name the reference cohort with reference= (one of {shown})")
        reference = _PREFERRED_REFERENCE
    if reference not in found:
        raise AnkerDataError(f"reference={reference!r} is not a cohort in column {cohort_col!r} "
                             f"(found: {shown})", columns=[cohort_col])
    return reference, found[1] if found[0] == reference else found[0], notes


def _check_cohort(counts: SurvivalCounts, label: Any, horizon: float, notes: list[str]) -> None:
    times, n_events, n_total = counts.group_counts(label)
    if n_total.sum() < 2:
        raise AnkerDataError(f"cohort {label!r} has {int(n_total.sum())} spell(s); need at least 2")
    if horizon > times[-1]:
        raise AnkerDataError(f"horizon={horizon:g} days is beyond the follow-up of cohort {label!r} "
                             f"(longest duration {times[-1]:g} days); choose a horizon of at most "
                             f"{times[-1]:g}")
    if not n_events[times <= horizon].sum() > 0:
        raise AnkerDataError(f"cohort {label!r} has no exits (events) up to the horizon "
                             f"({horizon:g} days): its RMST is the horizon itself")
    at_risk = int(n_total[times >= horizon].sum())
    if at_risk < 10:
        message = (f"only {at_risk} spell(s) of cohort {label!r} are followed up to the "
                   f"horizon ({horizon:g} days): the RMST near the horizon rests on few spells")
        warnings.warn(message, UserWarning, stacklevel=4)
        notes.append(message)


def refuse_groups(comparison_col: Any, cluster_col: Any, why: str) -> None:
    """A comparison group or clusters cannot come from counts per (cohort, duration): say ``why``."""
    for name, value in (("comparison_col", comparison_col), ("cluster_col", cluster_col)):
        if value is not None:
            raise ValueError(f"{name}={value!r} {why}")


def _refuse(method: str, n_boot: Any, level: Any, horizon: Any, comparison_col: Any,
            cluster_col: Any, options: dict[str, Any]) -> tuple[int, float, float]:
    if method in IN_MEMORY_ONLY:
        raise ValueError(
            f"method={method!r} cannot run on a Dask frame: it needs every spell's covariates in "
            "memory (propensity and censoring weights and influence values per spell). On a Dask "
            "frame use method='naive' (Kaplan-Meier, RMST and log-rank from counts per day) or "
            "method='gcomp' (g-computation from per-partition sums), or compare ddf.compute() "
            "or a sample in memory")
    if method not in ("naive", "gcomp"):
        raise ValueError(f"method must be one of ['naive', 'gcomp', "
                         f"{', '.join(map(repr, IN_MEMORY_ONLY))}], got {method!r}")
    if method == "gcomp" and options.get("outcome_model", "per_cohort") != "per_cohort":
        raise ValueError(f"outcome_model={options['outcome_model']!r}: on a Dask frame the "
                         "g-computation fits one Cox model per cohort (outcome_model='per_cohort'); "
                         "compare in memory for a pooled model")
    if method == "gcomp" and options.get("estimand", "att") not in ("att", "ate"):
        raise ValueError(f"estimand={options['estimand']!r}: on a Dask frame the g-computation "
                         "estimates 'att' or 'ate' (overlap weights need the propensity model in "
                         "memory)")
    refuse_groups(comparison_col, cluster_col, "is not supported on a Dask frame (the counts are "
                  "per cohort and day, not per group or cluster): compare in memory")
    # counts per (cohort, day) hold no entitlement: "auto" is time on benefit here
    if options.get("outcome", "auto") not in ("auto", "time_on_benefit"):
        raise ValueError(f"outcome={options['outcome']!r} needs each spell's entitlement in memory; "
                         "on a Dask frame the outcome is 'time_on_benefit'")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 0 or n_boot == 1:
        raise ValueError(f"n_boot must be 0 (no bootstrap) or a whole number >= 2, got {n_boot!r}")
    try:
        level, horizon = float(level), float(horizon)
    except (TypeError, ValueError):
        raise ValueError(f"level and horizon must be numbers, got {level!r} and {horizon!r}") from None
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon must be a positive number of calendar days, got {horizon!r}")
    return int(n_boot), level, horizon


def _time_unit(time_unit: Any) -> Any:
    """The time unit object of ``time_unit`` where this anker has them, else None (calendar days)."""
    from anker import schema

    resolve = getattr(schema, "resolve_time_unit", None)
    if resolve is None:
        if time_unit not in (None, "day"):
            raise ValueError(f"time_unit={time_unit!r}: this anker counts durations in calendar days")
        return None
    return resolve("day" if time_unit is None else time_unit)


def compare_cohorts_dask(ddf: Any, *, cohort_col: str = "cohort", reference: Any = None,
                         cohorts: Sequence[Any] | None = None, duration_col: str = "duration_days",
                         event_col: str = "exited", horizon: float = 365, method: str = "naive",
                         n_boot: int = 1000, seed: Any = 0, level: float = 0.95,
                         comparison_col: str | None = None, cluster_col: str | None = None,
                         covariates: Sequence[str] | None = None, **options: Any) -> NaiveComparison:
    """The comparison of two cohorts of a Dask frame: naive from counts, or g-computation.

    `anker.compare_cohorts` hands a Dask frame here; the arguments mean what
    they mean there. ``method="naive"``: the Kaplan-Meier RMST per cohort up
    to ``horizon`` with its Greenwood-type SE, their difference (other minus
    reference, calendar days), the log-rank test and, with ``n_boot`` > 0, the
    Kaplan-Meier bootstrap as multinomial draws over the counts; all equal the
    in-memory ``compare_cohorts(df, method="naive")``, and ``covariates`` are
    not read. ``method="gcomp"`` adds the g-computation estimate on
    ``covariates`` (default `anker.outcome.DEFAULT_COVARIATES`) and returns a
    `DistributedComparison`: its estimate and SE equal the in-memory
    ``compare_cohorts(df, method="gcomp", n_boot=0, outcome="time_on_benefit")``,
    its interval is the normal one from that SE (``n_boot`` bootstraps the
    naive row only). The outcome is time on benefit (the counts hold no entitlement).

    Examples
    --------
    >>> import anker, dask.dataframe as dd
    >>> df = anker.simulate_population(n_per_cohort=1_000, seed=1).data
    >>> cmp = anker.compare_cohorts(dd.from_pandas(df, npartitions=3), method="naive", n_boot=0)
    >>> cmp.rmst.index.tolist()
    ['casemanagement_2004', 'coaching_2007']
    >>> cmp.ci[0] < cmp.rmst_difference < cmp.ci[1]
    True
    """
    n_boot, level, horizon = _refuse(method, n_boot, level, horizon, comparison_col, cluster_col,
                                     options)
    unit = _time_unit(options.get("time_unit"))
    all_counts, n_parts = cohort_counts(ddf, cohort_col=cohort_col, duration_col=duration_col,
                                        event_col=event_col)
    reference, other, notes = _choose(all_counts, cohort_col, reference, cohorts)
    counts = all_counts.select([reference, other])
    for label in (reference, other):
        _check_cohort(counts, label, horizon, notes)
    if method == "gcomp":
        return _with_gcomp(ddf, counts, reference=reference, other=other, cohort_col=cohort_col,
                           duration_col=duration_col, event_col=event_col, horizon=horizon,
                           n_boot=n_boot, seed=seed, level=level, unit=unit, notes=notes,
                           n_partitions=n_parts, covariates=covariates,
                           estimand=options.get("estimand", "att"),
                           reference_levels=options.get("reference_levels"))
    if covariates:
        notes.append(f"covariates {list(covariates)} not used: the naive comparison is unadjusted")
    return naive_from_counts(counts, reference=reference, other=other, cohort_col=cohort_col,
                             horizon=horizon, n_boot=n_boot, seed=seed, level=level, unit=unit,
                             notes=notes, n_partitions=n_parts)


def _with_gcomp(ddf: Any, counts: SurvivalCounts, *, reference: Any, other: Any, cohort_col: str,
                duration_col: str, event_col: str, horizon: float, n_boot: int, seed: Any,
                level: float, unit: Any, notes: list[str], n_partitions: int,
                covariates: Sequence[str] | None, estimand: str,
                reference_levels: dict[str, Any] | None) -> DistributedComparison:
    """The naive comparison from counts with the g-computation row from per-partition sums."""
    covariates = list(COMPARISON_COVARIATES if covariates is None else covariates)
    parts = gcomp_dask(ddf, cohort_col=cohort_col, labels=(reference, other), covariates=covariates,
                       duration_col=duration_col, event_col=event_col, horizon=horizon,
                       estimand=estimand, reference_levels=reference_levels)
    naive = naive_from_counts(counts, reference=reference, other=other, cohort_col=cohort_col,
                              horizon=horizon, n_boot=n_boot, seed=seed, level=level, unit=unit,
                              notes=notes, n_partitions=n_partitions)
    z = stats.norm.ppf(0.5 + level / 2)
    low, high = parts.estimate - z * parts.se, parts.estimate + z * parts.se
    per_unit = naive._benefit_days_per_unit
    row = {"estimate": parts.estimate, "se": parts.se, "ci_low": low, "ci_high": high,
           "estimate_benefit_days": parts.estimate * per_unit,
           "ci_low_benefit_days": low * per_unit, "ci_high_benefit_days": high * per_unit,
           "rmst_other": parts.means[1], "rmst_reference": parts.means[0]}
    estimates = pd.concat([naive.estimates,
                           pd.DataFrame([row], index=pd.Index(["gcomp"], name="method"))[_COLUMNS]])
    fields = {f: getattr(naive, f) for f in NaiveComparison.__dataclass_fields__}
    fields.update(method="gcomp", rmst_difference=parts.estimate, ci=(float(low), float(high)),
                  se=parts.se, boot_differences=None, estimates=estimates,
                  curves={**naive.curves, **parts.curves})
    return DistributedComparison(**fields, estimand=estimand, covariates=tuple(covariates),
                                 terms=tuple(parts.spec.term_names),
                                 outcome_fits={reference: parts.fits[0], other: parts.fits[1]})


def naive_from_counts(counts: SurvivalCounts, *, reference: Any, other: Any, cohort_col: str,
                      horizon: float, n_boot: int, seed: Any, level: float, unit: Any,
                      notes: Sequence[str] = (), n_partitions: int = 1,
                      rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                      ) -> NaiveComparison:
    """The naive comparison of ``reference`` and ``other`` from their (checked) counts.

    The one body of `compare_cohorts_dask` and of the in-memory
    ``compare_cohorts(df, method="naive", estimators="naive")``; ``unit`` is a
    time unit object or None (calendar days). ``rows``: the in-memory
    ``(durations, events, A)`` (A = 1 for ``other``), bootstrapped as
    `compare_cohorts` does, so that the replicates are its own also where few
    spells per cell make `anker.survival.bootstrap_km_rmst` resample rows.
    """
    per_unit = BENEFIT_DAYS_PER_CALENDAR_DAY if unit is None else unit.benefit_days_per_unit
    notes = list(notes)
    z = stats.norm.ppf(0.5 + level / 2)
    per_cohort = {}
    for label in (reference, other):
        value, se = rmst_from_counts(counts, horizon, label)
        times, n_events, n_total = counts.group_counts(label)
        per_cohort[label] = {"n": int(n_total.sum()), "events": int(n_events[times <= horizon].sum()),
                             "rmst": value, "se": se, "ci_low": value - z * se,
                             "ci_high": value + z * se}
    rmst_table = pd.DataFrame.from_dict(per_cohort, orient="index")
    rmst_table.index.name = cohort_col
    r0, r1 = rmst_table["rmst"].iloc[0], rmst_table["rmst"].iloc[1]
    estimate = float(r1 - r0)
    # the SE of the in-memory comparison (influence values of each cohort's RMST): with the
    # cohort sizes fixed, the root of the two Greenwood-type variances
    se = float(np.sqrt(rmst_table["se"].iloc[0] ** 2 + rmst_table["se"].iloc[1] ** 2))
    replicates = None
    if n_boot:
        # the seed is split as in compare_cohorts: the first stream serves the Kaplan-Meier door
        entropy = seed if not isinstance(seed, np.random.Generator) else int(seed.integers(2**63))
        seeds = np.random.SeedSequence(entropy).spawn(2)
        rng = np.random.default_rng(seeds[0])
        boot = (bootstrap_km_rmst_from_counts(counts, horizon, n_boot=n_boot, seed=rng,
                                              reference=reference) if rows is None else
                bootstrap_km_rmst(*rows, horizon, n_boot=n_boot, seed=rng, reference=0.0))
        replicates = estimate + (boot.difference_replicates - boot.difference)
    if replicates is not None and np.isfinite(replicates).all():
        low, high = percentile_ci(replicates, level)
    else:
        low, high = estimate - z * se, estimate + z * se
    row = {"estimate": estimate, "se": se, "ci_low": low, "ci_high": high,
           "estimate_benefit_days": estimate * per_unit,
           "ci_low_benefit_days": low * per_unit, "ci_high_benefit_days": high * per_unit,
           "rmst_other": r1, "rmst_reference": r0}
    estimates = pd.DataFrame([row], index=pd.Index(["naive"], name="method"))[_COLUMNS]
    curves = {"km": {"reference": kaplan_meier_from_counts(counts, reference),
                     "other": kaplan_meier_from_counts(counts, other)}}
    return NaiveComparison(
        method="naive", horizon=horizon, level=level, reference=reference, other=other,
        cohort_col=cohort_col, rmst_difference=estimate, ci=(float(low), float(high)), se=se,
        boot_differences=None if replicates is None else replicates.copy(), rmst=rmst_table,
        estimates=estimates,
        replicates=None if replicates is None else pd.DataFrame({"naive": replicates}),
        logrank=logrank_from_counts(counts), counts=counts, n_partitions=n_partitions, n_boot=n_boot,
        curves=curves, notes=tuple(notes), time_unit=unit)
