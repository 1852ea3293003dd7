"""Simulated WW cohorts with a known truth (`simulate_population`).

`anker.synthetic.parameters` holds the generator's fixed values (cohorts,
regions, the coefficients of every outcome model); `anker.synthetic.population`
draws people, spells and outcomes from them and computes the truth.
"""

from anker.schema import BENEFIT_DAYS_PER_CALENDAR_DAY
from anker.synthetic.parameters import (
    COHORT_YEARS,
    COHORTS,
    DAILY_WAGE_CAP_2006,
    DAYS_PER_MONTH,
    EDUCATION,
    FOLLOW_UP_YEARS,
    HAZARD_COEFFICIENTS,
    HORIZON_DAYS,
    MIGRATION,
    OCCUPATIONS,
    OFFICES_PER_REGION,
    REGION_WEIGHTS,
    REGIONS,
    SANCTION_COEFFICIENTS,
    SECTORS,
    SEX,
    TRAJECTORY_EFFECT,
    TRAJECTORY_PROPENSITY,
    WEIBULL_LOG_SCALE,
    WEIBULL_SHAPE,
    WORK_EXIT_COEFFICIENTS,
)
from anker.synthetic.population import (
    SyntheticPopulation,
    SyntheticTruth,
    simulate_population,
    write_csv,
)

__all__ = [
    "BENEFIT_DAYS_PER_CALENDAR_DAY", "COHORT_YEARS", "COHORTS", "DAILY_WAGE_CAP_2006",
    "DAYS_PER_MONTH", "EDUCATION", "FOLLOW_UP_YEARS", "HAZARD_COEFFICIENTS", "HORIZON_DAYS",
    "MIGRATION", "OCCUPATIONS", "OFFICES_PER_REGION", "REGION_WEIGHTS", "REGIONS",
    "SANCTION_COEFFICIENTS", "SECTORS", "SEX", "TRAJECTORY_EFFECT", "TRAJECTORY_PROPENSITY",
    "WEIBULL_LOG_SCALE", "WEIBULL_SHAPE", "WORK_EXIT_COEFFICIENTS",
    "SyntheticPopulation", "SyntheticTruth", "simulate_population", "write_csv",
]
