"""Nalevingsbereidheidstoets (NT): risk of not complying with benefit obligations."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from anker.assessments._base import numeric_values
from anker.assessments._logistic import LogisticAssessment

BANDS = ("low", "medium", "high")
MONITORING = {"low": "standard monitoring", "medium": "extra monitoring",
              "high": "intensive monitoring"}


class ComplianceTest(LogisticAssessment):
    """Compliance test: logistic model of a sanction (maatregel) within 12 months.

    The advice is the intensity of monitoring the obligations, never a
    sanction: a high score asks a coach to look closer, nothing more.

    Parameters
    ----------
    features : list of str, optional
        Feature columns; by default the inflow features of the schema
        (no protected attributes).
    outcome_col : str
        0/1 outcome, default ``"sanctioned_12m"``.
    cutoffs : (float, float)
        P(sanction) bounds of the bands: below the first is ``low``, from the
        second on ``high``.
    l2 : float
        Ridge penalty (0: maximum likelihood).
    allow_protected : bool
        Opt in to protected attributes as features; recorded with the model.

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=2_000, seed=1).data
    >>> nt = anker.ComplianceTest().fit(df)
    >>> bool(nt.band(df.head(3)).isin(["low", "medium", "high"]).all())
    True
    >>> bool(nt.summary.loc["prior_sanctions", "odds_ratio"] > 1)
    True
    """

    name: ClassVar[str] = "compliance"
    default_outcome: ClassVar[str] = "sanctioned_12m"

    def __init__(self, *, features=None, outcome_col: str | None = None,
                 cutoffs: tuple[float, float] = (0.08, 0.20), l2: float = 0.0,
                 allow_protected: bool = False, protected=None) -> None:
        super().__init__(features=features, outcome_col=outcome_col, l2=l2,
                         allow_protected=allow_protected, protected=protected)
        low, high = (float(c) for c in cutoffs)
        if not 0 < low < high < 1:
            raise ValueError(f"cutoffs must satisfy 0 < low < high < 1, got {cutoffs!r}")
        self.cutoffs = (low, high)

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "cutoffs": list(self.cutoffs)}

    def band(self, df: pd.DataFrame, *, proba: pd.Series | None = None) -> pd.Series:
        """Risk band per row: ``low``, ``medium`` or ``high``."""
        p = self.predict_proba(df) if proba is None else proba
        codes = np.searchsorted(np.asarray(self.cutoffs), p.to_numpy(), side="right")
        return pd.Series(pd.Categorical.from_codes(codes, categories=list(BANDS), ordered=True),
                         index=p.index, name="compliance_band")

    def advice(self, df: pd.DataFrame) -> pd.Series:
        """Monitoring intensity per row (never a sanction)."""
        return self.band(df).map(MONITORING).astype(str).rename("monitoring")

    def flag(self, df: pd.DataFrame) -> pd.Series:
        """True where the client is in the high band (for audits)."""
        return (self.band(df) == "high").rename("flag_high_risk")

    def flag_target(self, df: pd.DataFrame) -> pd.Series:
        """The observed outcome the high band is meant to catch: a sanction."""
        y = numeric_values(df, self.outcome_col, what="sanction flag", allow_missing=True)
        return pd.Series(y == 1, index=df.index, name="sanctioned")
