"""Arbeidsmarkttoets (AMT): chance of work within 6 months, and the A/B route."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from anker.assessments._base import numeric_values
from anker.assessments._logistic import LogisticAssessment

ROUTES = {"A": "job-ready: self-service and job matching",
          "B": "needs support: a reintegration coach"}


_ROUTES = np.array(["A", "B"], dtype=object)


class LabourMarketTest(LogisticAssessment):
    """Labour-market test: logistic model of work within 6 months of inflow.

    ``route`` sends clients with P(work within 6 months) at or above
    ``threshold`` to route A (job-ready) and the others to route B (needs support).

    Parameters
    ----------
    features : list of str, optional
        Feature columns; by default the schema's inflow features.
    outcome_col : str
        0/1 outcome, default ``"work_within_6m"``.
    threshold : float
        P(work within 6 months) from which a client is routed A.
    l2 : float
        Ridge penalty (0: maximum likelihood).
    allow_protected : bool
        Opt in to protected attributes as features; recorded with the model.

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=2_000, seed=1).data
    >>> amt = anker.LabourMarketTest(threshold=0.5).fit(df)
    >>> sorted(amt.route(df).unique())
    ['A', 'B']
    """

    name: ClassVar[str] = "labour_market"
    default_outcome: ClassVar[str] = "work_within_6m"

    def __init__(self, *, features=None, outcome_col: str | None = None, threshold: float = 0.5,
                 l2: float = 0.0, allow_protected: bool = False, protected=None) -> None:
        super().__init__(features=features, outcome_col=outcome_col, l2=l2,
                         allow_protected=allow_protected, protected=protected)
        if not 0 < float(threshold) < 1:
            raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold!r}")
        self.threshold = float(threshold)

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "threshold": self.threshold}

    def route(self, df: pd.DataFrame, *, proba: pd.Series | None = None) -> pd.Series:
        """``"A"`` (job-ready) or ``"B"`` (needs support) per row."""
        p = self.predict_proba(df) if proba is None else proba
        return pd.Series(_ROUTES[self._route_b(p.to_numpy()).view(np.int8)], index=p.index,
                         name="route")

    def _route_b(self, p: np.ndarray) -> np.ndarray:
        """True where P(work) falls short of the threshold (route B; also where it is NaN)."""
        return ~(p >= self.threshold)

    def flag(self, df: pd.DataFrame) -> pd.Series:
        """True where the client is routed B (for audits)."""
        return (self.route(df) == "B").rename("flag_route_b")

    def flag_target(self, df: pd.DataFrame) -> pd.Series:
        """The observed outcome route B is meant to catch: no work within 6 months."""
        y = numeric_values(df, self.outcome_col, what="work flag", allow_missing=True)
        return pd.Series(y == 0, index=df.index, name="no_work_6m")
