"""The generator's fixed parameters: cohorts, regions, coefficients of every outcome model.

These are the "true" values that tests and notebooks check estimates against
(see ``data/synthetic/README.md``); `anker.synthetic.population` draws from
them.
"""

from __future__ import annotations

import numpy as np

COHORTS = ("casemanagement_2004", "coaching_2007")
COHORT_YEARS = (2004, 2007)
HORIZON_DAYS = 365
DAILY_WAGE_CAP_2006 = 170.33  # EUR, maximum daily wage for WW in 2006
DAYS_PER_MONTH = 365.25 / 12
FOLLOW_UP_YEARS = 3  # data cut-off: 1 January, three years after the cohort's first inflow day

REGIONS = ("Groningen", "Friesland", "Drenthe", "Overijssel", "Flevoland", "Gelderland",
           "Utrecht", "Noord-Holland", "Zuid-Holland", "Zeeland", "Noord-Brabant", "Limburg")
REGION_WEIGHTS = np.array([3.5, 4.0, 3.0, 7.0, 2.4, 12.0, 7.3, 16.2, 21.3, 2.3, 14.9, 6.9])
OFFICES_PER_REGION = np.array([2, 2, 1, 3, 1, 4, 2, 4, 5, 1, 3, 2])  # 30 offices
OCCUPATIONS = ("administrative", "technical", "care_welfare", "retail_sales",
               "transport_logistics", "hospitality", "ict", "education_culture")
SECTORS = ("industry", "construction", "trade", "business_services", "public", "care",
           "temp_agency")
EDUCATION = ("low", "medium", "high")
MIGRATION = ("none", "western", "non_western")
SEX = ("male", "female")

# Weibull baseline for leaving benefit: H0(t) = (t / scale)^shape, t in calendar days.
# shape < 1: the exit rate falls with time on benefit (duration dependence).
WEIBULL_SHAPE = 0.80
WEIBULL_LOG_SCALE = 4.45

# True log hazard ratios of leaving benefit (any exit), per unit of the raw column.
HAZARD_COEFFICIENTS = {
    "age": -0.030,
    "education[medium]": 0.20,
    "education[high]": 0.40,
    "occupation_group[technical]": 0.10,
    "occupation_group[care_welfare]": 0.15,
    "occupation_group[retail_sales]": -0.05,
    "occupation_group[transport_logistics]": 0.05,
    "occupation_group[hospitality]": -0.10,
    "occupation_group[ict]": 0.20,
    "occupation_group[education_culture]": 0.0,
    "sector[construction]": 0.10,
    "sector[trade]": 0.0,
    "sector[business_services]": 0.05,
    "sector[public]": -0.10,
    "sector[care]": 0.0,
    "sector[temp_agency]": 0.15,
    "work_history_years": 0.004,
    "daily_wage": 0.002,
    "prior_spells": -0.06,
    "prior_sanctions": -0.10,
    "culpable_dismissal": -0.15,
    "registration_lag_days": -0.004,
    "health_limitation": -0.70,
    "tightness": 0.45,
    "unemployment_rate": -7.0,
    "entitlement_days": 0.0,
}

# True logistic model of sanctioned_12m (nalevingsbereidheid), raw columns.
SANCTION_COEFFICIENTS = {
    "intercept": -1.15,
    "age": -0.025,
    "education[medium]": -0.15,
    "education[high]": -0.35,
    "work_history_years": -0.01,
    "prior_spells": 0.12,
    "prior_sanctions": 0.55,
    "culpable_dismissal": 1.00,
    "registration_lag_days": 0.02,
    "health_limitation": 0.15,
    "sector[temp_agency]": 0.25,
}

# Kind of exit: log odds of work (versus other) given an exit, raw columns.
WORK_EXIT_COEFFICIENTS = {
    "intercept": 2.60,
    "age": -0.022,
    "education[medium]": 0.20,
    "education[high]": 0.40,
    "health_limitation": -0.90,
    "prior_sanctions": -0.15,
    "tightness": 0.50,
}

# Heterogeneous effect of a trajectory on the log odds of a work exit:
# larger for the low-educated and those with a health limitation, smaller with age.
TRAJECTORY_EFFECT = {
    "intercept": 0.90,
    "age": -0.015,
    "education[low]": 0.35,
    "health_limitation": 0.30,
}

# Selection into a trajectory (observables only).
TRAJECTORY_PROPENSITY = {
    "intercept": -2.1,
    "age": 0.015,
    "education[low]": 0.45,
    "health_limitation": 0.60,
    "prior_spells": 0.12,
    "tightness": -0.60,
}
