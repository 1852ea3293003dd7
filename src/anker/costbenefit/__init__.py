"""Cost-benefit: the break-even of coaching (`BreakEven`) and a measured effect priced (`cost_benefit`).

Money in euros; ``days`` and ``days_saved`` in benefit days (uitkeringsdagen,
working days, 261 a year); cohort comparisons come in calendar days and are
converted with `BENEFIT_DAYS_PER_CALENDAR_DAY`. The derivation is in
docs/break_even.md.
"""

from anker.costbenefit.break_even import (
    DEFAULT_CHANGES,
    SENSITIVITY_PARAMETERS,
    BreakEven,
    CapacityGap,
    capacity_gap,
    earn_back_share,
)
from anker.costbenefit.pricing import CostBenefit, cost_benefit
from anker.schema import (
    BENEFIT_DAYS_PER_CALENDAR_DAY,
    BENEFIT_DAYS_PER_YEAR,
    CALENDAR_DAYS_PER_YEAR,
)

__all__ = [
    "BENEFIT_DAYS_PER_CALENDAR_DAY", "BENEFIT_DAYS_PER_YEAR", "CALENDAR_DAYS_PER_YEAR",
    "DEFAULT_CHANGES", "SENSITIVITY_PARAMETERS", "BreakEven", "CapacityGap", "CostBenefit",
    "capacity_gap", "cost_benefit", "earn_back_share",
]
