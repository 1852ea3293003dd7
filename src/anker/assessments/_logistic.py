"""A logistic ANKER test: the shared machinery of the compliance and labour-market tests."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit

from anker.assessments._base import (
    Assessment,
    array_from_json,
    coefficient_table,
    is_dask_frame,
    numeric_values,
    to_json_array,
)
from anker.assessments.factors import top_contributions
from anker.models.logistic import LogisticFit, fit_logistic


class LogisticAssessment(Assessment):
    """Logistic model of a 0/1 outcome on the design matrix of ``features``."""

    ratio_name: ClassVar[str] = "odds_ratio"
    default_outcome: ClassVar[str] = ""

    def __init__(self, *, features=None, outcome_col: str | None = None, l2: float = 0.0,
                 allow_protected: bool = False, protected=None, **kwargs) -> None:
        extra = {} if protected is None else {"protected": protected}
        super().__init__(features=features, allow_protected=allow_protected, **extra)
        self.outcome_col = outcome_col or self.default_outcome
        if not np.isfinite(l2) or l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2!r}")
        self.l2 = float(l2)
        self.fit_: LogisticFit | None = None
        self._x_mean: np.ndarray | None = None

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "outcome_col": self.outcome_col, "l2": self.l2}

    def fit(self, df: pd.DataFrame):
        """Fit on records with the feature columns and ``outcome_col`` (0/1); returns self.

        A Dask frame is fitted exactly on its partitions (`anker.distributed.fit_test_dask`),
        or refused with an error saying what to do where that cannot be done.
        """
        if is_dask_frame(df):
            return self._fit_dask(df)
        X = self._learn(df, [self.outcome_col])
        y = numeric_values(df, self.outcome_col, what="outcome")
        if y.min() == y.max():
            raise ValueError(f"{self.outcome_col}: the outcome is {int(y[0])} for every row; "
                             "a logistic model needs both 0 and 1")
        self.fit_ = fit_logistic(X, y, l2=self.l2, names=self.spec_.term_names)
        self._x_mean = X.mean(axis=0)
        return self

    def _linear_predictor(self, df: pd.DataFrame, X: np.ndarray | None = None) -> np.ndarray:
        X = self._design(df) if X is None else X
        return self.fit_.linear_predictor(X)

    def _score_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, offset)`` with the linear predictor ``X @ W + offset`` (one column)."""
        return self.fit_.coef[1:, None], self.fit_.coef[:1]

    def predict_proba(self, df: pd.DataFrame, *, X: np.ndarray | None = None) -> pd.Series:
        """P(outcome = 1) per row, as a Series on ``df.index``."""
        self._require_fitted()
        p = expit(self._linear_predictor(df, X))
        return pd.Series(p, index=df.index, name=f"p_{self.outcome_col}")

    @property
    def summary(self) -> pd.DataFrame:
        """Coefficient table: coef, se, z, p, 95 % CI and odds ratios, one row per term."""
        spec = self._require_fitted()
        table = coefficient_table(("intercept",) + spec.term_names, self.fit_.coef, self.fit_.cov,
                                  ratio=self.ratio_name)
        table.attrs.update({"model": type(self).__name__, "outcome": self.outcome_col,
                            "n": self.n_fit_, "loglik": self.fit_.loglik,
                            "protected_features_used": self.protected_features_used})
        return table

    def explain(self, df: pd.DataFrame, *, top: int = 3, X: np.ndarray | None = None) -> pd.DataFrame:
        """Each row's largest contributions to the log odds, relative to an average client.

        A contribution is ``(x - mean x) * beta`` summed over the design columns
        of one feature (all dummies of a categorical feature together), in log odds.
        """
        self._require_fitted()
        X = self._design(df) if X is None else X
        contrib = self._contributions(X, *self._explain_weights())
        return top_contributions(contrib, self.features, df.index, top=top)

    def _explain_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The coefficients and reference point of `explain`'s contributions."""
        return self.fit_.coef[1:], self._x_mean

    def _state(self) -> dict[str, Any]:
        return {"coef": to_json_array(self.fit_.coef), "cov": to_json_array(self.fit_.cov),
                "x_mean": to_json_array(self._x_mean), "loglik": self.fit_.loglik,
                "n": self.fit_.n, "n_iter": self.fit_.n_iter}

    def _set_state(self, state: dict[str, Any]) -> None:
        k = len(self.spec_.term_names) + 1
        self.fit_ = LogisticFit(coef=array_from_json(state["coef"], shape=(k,), what="coef"),
                                cov=array_from_json(state["cov"], shape=(k, k), what="cov"),
                                intercept=True, n=float(state["n"]), loglik=float(state["loglik"]),
                                n_iter=int(state["n_iter"]))
        self._x_mean = array_from_json(state["x_mean"], shape=(k - 1,), what="x_mean")
