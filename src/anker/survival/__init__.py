"""Survival primitives on plain arrays: Kaplan-Meier, RMST and its SE, log-rank, the bootstrap.

Every function takes numpy arrays: ``durations`` (>= 0, calendar days unless
the caller says otherwise), ``events`` 0/1 (1 = the spell ended, 0 =
censored) and, where offered, non-negative case ``weights``. `anker.outcome`
builds the cohort comparison from these; diagnostics and fairness use the
same Kaplan-Meier. They are public so that a researcher can check a number
by hand.

- `anker.survival.kaplan_meier`: the product-limit estimator and its views;
- `anker.survival.rmst`: restricted mean, its variance and influence values;
- `anker.survival.logrank`: the log-rank test;
- `anker.survival.bootstrap`: the one bootstrap engine of the package;
- `anker.survival.counts`: the same estimates from counts per (group, day), which add up
  over partitions of data too large for one machine (`anker.distributed`).
"""

from anker.survival.bootstrap import (
    KMBootstrap,
    bootstrap_km_rmst,
    bootstrap_refit,
    multiplier_bootstrap,
    percentile_ci,
)
from anker.survival.counts import (
    SurvivalCounts,
    bootstrap_km_rmst_from_counts,
    combine_counts,
    kaplan_meier_from_counts,
    logrank_from_counts,
    rmst_from_counts,
    survival_counts,
)
from anker.survival.kaplan_meier import (
    KaplanMeier,
    censoring_survival,
    kaplan_meier,
    product_limit,
    survival_at,
    survival_at_time,
)
from anker.survival.logrank import LogrankResult, logrank_test
from anker.survival.rmst import RMST, rmst, rmst_curve_area, rmst_influence

__all__ = [
    "KaplanMeier",
    "RMST",
    "LogrankResult",
    "KMBootstrap",
    "kaplan_meier",
    "survival_at",
    "survival_at_time",
    "censoring_survival",
    "product_limit",
    "rmst",
    "rmst_curve_area",
    "rmst_influence",
    "logrank_test",
    "bootstrap_km_rmst",
    "multiplier_bootstrap",
    "bootstrap_refit",
    "percentile_ci",
    "SurvivalCounts",
    "survival_counts",
    "combine_counts",
    "kaplan_meier_from_counts",
    "rmst_from_counts",
    "logrank_from_counts",
    "bootstrap_km_rmst_from_counts",
]
