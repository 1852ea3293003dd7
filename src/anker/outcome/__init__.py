"""The outcome model: cohorts compared on time on benefit, and outcome per coach.

- `anker.outcome.compare`: `compare_cohorts` and its result `CohortComparison`;
- its parts: `checks` (inputs, overlap), `options` (estimand, outcome scale,
  models), `estimators` (naive, g-computation, IPTW with IPCW, augmented IPCW),
  `aipcw` (restricted means under one regime and their gradients),
  `censoring` (the censoring models), `competing` (exits to work as a
  competing exit), `ph_test` (R's cox.zph and the older Schoenfeld test),
  `inference` (SEs, bootstrap, intervals, difference in differences), `balance` (weights and covariate balance),
  `summary` (the comparison's readable table);
- `anker.outcome.coach`: `outcome_by_coach` (observed against expected exits),
  with the O/E arithmetic in `anker.outcome.funnel`.
"""

from anker.outcome.coach import CoachOutcome, outcome_by_coach
from anker.outcome.compare import (
    DEFAULT_COVARIATES,
    METHODS,
    CohortComparison,
    OverlapWarning,
    compare_cohorts,
)
from anker.outcome.funnel import funnel_limits, gamma_poisson_shrinkage, oe_confidence_interval

__all__ = [
    "compare_cohorts", "CohortComparison", "DEFAULT_COVARIATES", "METHODS", "OverlapWarning",
    "outcome_by_coach", "CoachOutcome", "funnel_limits", "gamma_poisson_shrinkage",
    "oe_confidence_interval",
]
