"""The unadjusted comparison alone: ``compare_cohorts(df, method="naive", estimators="naive")``.

Kaplan-Meier per cohort, the RMST difference with its SE, the log-rank test
and the Kaplan-Meier bootstrap depend on the spells only through the number
of events and of spells ending per (cohort, duration). When a user asks for
nothing else, the rows are counted and the estimates follow from the
counts, as on a Dask frame (`anker.distributed.naive_from_counts` is the one
body of both): no design matrix, no model fit, no influence values per spell.
The bootstrap resamples the rows as the full comparison does, so the figures
equal its ``naive`` row on the same rows, replicates included for the same seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from anker.distributed.compare import naive_from_counts, refuse_groups
from anker.distributed.comparison import NaiveComparison
from anker.outcome.checks import check_inputs
from anker.outcome.options import AUTO, DEFAULT_ENTITLEMENT_COL
from anker.schema import resolve_time_unit
from anker.survival.counts import SurvivalCounts, survival_counts

__all__ = ["ESTIMATOR_SETS", "compare_naive"]

ESTIMATOR_SETS = ("all", "naive")


def compare_naive(df: Any, *, cohort_col: str, reference: Any, cohorts: Sequence[Any] | None,
                  duration_col: str, event_col: str, covariates: Sequence[str] | None,
                  horizon: float, method: str, n_boot: int, seed: Any, level: float,
                  comparison_col: str | None, cluster_col: str | None, outcome: str,
                  entitlement_col: str | None, time_unit: Any, estimators: str = "naive",
                  **ignored: Any) -> NaiveComparison:
    """The naive comparison of `compare_cohorts` from counts of the rows in memory.

    The arguments mean what they mean in `compare_cohorts`; those of the
    adjusted estimators (``propensity``, ``estimand``, ``censoring``, ...) are
    not used. Refused, with the reason: another ``method``, a comparison group
    or clusters (their bootstrap needs each spell), and paid days (each
    spell's entitlement, not counts per day).

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=1_000, seed=1).data
    >>> cmp = anker.compare_cohorts(df, method="naive", estimators="naive",
    ...                             outcome="time_on_benefit", n_boot=200)
    >>> full = anker.compare_cohorts(df, method="naive", outcome="time_on_benefit", n_boot=200)
    >>> bool(abs(cmp.rmst_difference - full.rmst_difference) < 1e-9), cmp.ci == full.ci
    (True, True)
    """
    if estimators not in ESTIMATOR_SETS:
        raise ValueError(f"estimators must be one of {list(ESTIMATOR_SETS)}, got {estimators!r}")
    if method != "naive":
        raise ValueError(f"estimators='naive' computes the naive comparison only, got "
                         f"method={method!r}: use estimators='all' for the adjusted estimators")
    refuse_groups(comparison_col, cluster_col,
                  "needs each spell, not counts per (cohort, duration): use estimators='all'")
    unit = resolve_time_unit(time_unit)
    entitlement = entitlement_col or DEFAULT_ENTITLEMENT_COL
    if outcome == "paid_days" or (outcome == AUTO and entitlement in df.columns):
        why = "" if outcome == "paid_days" else (f" (outcome='auto' means paid days: the data hold "
                                                  f"{entitlement!r})")
        raise ValueError("estimators='naive' compares time on benefit from counts per (cohort, "
                         f"duration); paid days need each spell's entitlement{why}: pass "
                         "outcome='time_on_benefit', or estimators='all' for paid days")
    if outcome not in (AUTO, "time_on_benefit"):
        raise ValueError(f"outcome must be one of ['paid_days', 'time_on_benefit', 'auto'], "
                         f"got {outcome!r}")
    checked = check_inputs(df, cohort_col=cohort_col, reference=reference, cohorts=cohorts,
                           duration_col=duration_col, event_col=event_col, covariates=[],
                           horizon=horizon, method=method, n_boot=n_boot, level=level,
                           comparison_col=None, cluster_col=None, methods=("naive",),
                           time_unit=unit)
    notes = list(checked.notes)
    if covariates:
        notes.append(f"covariates {list(covariates)} not used: the naive comparison is unadjusted")
    # counted by the 0/1 cohort flag (fast), then labelled: row 0 is the reference
    counted = survival_counts(checked.durations, checked.events, checked.A)
    labels = np.array([checked.reference, checked.other], dtype=object)
    counts = SurvivalCounts(labels, counted.times, counted.n_events, counted.n_total)
    return naive_from_counts(counts, reference=checked.reference, other=checked.other,
                             cohort_col=cohort_col, horizon=checked.horizon, n_boot=checked.n_boot,
                             seed=seed, level=float(level), unit=unit, notes=notes, n_partitions=0,
                             rows=(checked.durations, checked.events, checked.A))
