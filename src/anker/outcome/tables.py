"""Descriptive tables of the cohort comparison: RMST per cohort, and the Cox hazard ratios."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from anker.survival import rmst


def cohort_rmst_table(durations: np.ndarray, events: np.ndarray, A: np.ndarray, horizon: float,
                      *, labels: tuple[str, str], cohort_col: str, level: float) -> pd.DataFrame:
    """Kaplan-Meier RMST up to ``horizon`` per cohort (labels: reference, other) with a normal CI."""
    z = stats.norm.ppf(0.5 + level / 2)
    rows = {}
    for label, a in zip(labels, (0, 1), strict=True):
        member = A == a
        value, se = rmst(durations[member], events[member], horizon)
        rows[label] = {"n": int(member.sum()),
                       "events": int(((events == 1) & (durations <= horizon) & member).sum()),
                       "rmst": value, "se": se, "ci_low": value - z * se, "ci_high": value + z * se}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = cohort_col
    return table


def hazard_ratio_table(coef: np.ndarray, se: np.ndarray, names: Sequence[str], *, level: float) -> pd.DataFrame:
    """Coefficients, hazard ratios with a Wald CI at ``level`` and two-sided p per term."""
    z = stats.norm.ppf(0.5 + level / 2)
    table = pd.DataFrame({"coef": coef, "se": se}, index=pd.Index(list(names), name="term"))
    table["hazard_ratio"] = np.exp(table["coef"])
    table["ci_low"] = np.exp(table["coef"] - z * table["se"])
    table["ci_high"] = np.exp(table["coef"] + z * table["se"])
    table["p"] = 2 * stats.norm.sf(np.abs(table["coef"] / table["se"]))
    return table
