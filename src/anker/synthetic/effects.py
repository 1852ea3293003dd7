"""Every estimand of the cohort comparison, computed from the generator's potential outcomes.

Each spell has a latent duration under both regimes (common random numbers),
its own entitlement and its own kind of exit, so each estimand is an average
over people, not an estimate:

- ``time_on_benefit``: min(T(a), h), T the latent time on benefit;
- ``paid_days``: min(T(a), entitlement, h), the calendar days paid;
- ``cif_work``: the spell ends by an exit to work by h (before entitlement end);
- ``rmtl_work``: the time lost to exits to work, (h - T(a)) when it ends so.

``att`` averages over the coaching cohort, ``ate`` over both cohorts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

OUTCOMES = ("time_on_benefit", "paid_days", "cif_work", "rmtl_work")


def potential_outcome_effects(duration_cm: np.ndarray, duration_rc: np.ndarray,
                              entitlement: np.ndarray, to_work: np.ndarray,
                              is_coaching: np.ndarray, horizon: float) -> pd.DataFrame:
    """Table indexed by (estimand, outcome): coaching, casemanagement and their difference.

    ``difference`` is coaching minus casemanagement (the sign of
    `anker.compare_cohorts`: < 0 means shorter on benefit); calendar days for
    the durations, a share for ``cif_work``.

    Examples
    --------
    >>> t = potential_outcome_effects(np.array([100.0, 400]), np.array([80.0, 300]),
    ...                               np.array([500, 200]), np.array([True, True]),
    ...                               np.array([False, True]), 365)
    >>> float(t.loc[("att", "time_on_benefit"), "difference"]), float(t.loc[("ate", "paid_days"), "difference"])
    (-65.0, -10.0)
    """
    def values(T: np.ndarray) -> dict[str, np.ndarray]:
        ends_by_work = (T <= np.minimum(entitlement, horizon)) & to_work
        return {"time_on_benefit": np.minimum(T, horizon),
                "paid_days": np.minimum(np.minimum(T, entitlement), horizon),
                "cif_work": ends_by_work.astype(float),
                "rmtl_work": np.where(ends_by_work, horizon - T, 0.0)}

    rc, cm = values(duration_rc), values(duration_cm)
    rows = {}
    for estimand, who in (("att", is_coaching), ("ate", np.ones(is_coaching.size, bool))):
        for outcome in OUTCOMES:
            a, b = float(rc[outcome][who].mean()), float(cm[outcome][who].mean())
            rows[(estimand, outcome)] = {"coaching": a, "casemanagement": b, "difference": a - b}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["estimand", "outcome"])
    return table
