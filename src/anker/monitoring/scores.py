"""Each test's score and observed outcome per row: what the reference distributions and the
calibration checks of `anker.monitor` are made of.

`anker.monitoring.reference` (in memory) and `anker.monitoring.dask_reference`
(per partition of a Dask frame) both take them from here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from anker.errors import AnkerDataError

# per test: the score whose distribution is kept (a unit-free one for the survival test:
# its linear predictor orders clients as P(still on benefit) at any time does)
SCORE_NAMES = {"compliance": "compliance_risk", "labour_market": "p_work_6m",
               "reintegration": "trajectory_gain", "benefit_duration": "exit_risk_score"}


def is_numeric(values: pd.Series) -> bool:
    """Binned by quantiles (numbers), not by level (text, categories, flags as booleans)."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def test_scores(model: Any, df: pd.DataFrame,
                designs: dict[str, np.ndarray] | None = None) -> dict[str, pd.Series]:
    """Each test's score per row of ``df`` (see ``SCORE_NAMES``), named by the score.
    ``designs``: each test's design matrix of ``df``, when the caller has it."""
    scores = {}
    for name, test in model.tests.items():
        if name not in SCORE_NAMES:
            continue
        X = designs.get(name) if designs else None
        if name == "benefit_duration":
            score = test.risk_score(df, X=X)
        elif name == "reintegration":
            with warnings.catch_warnings():  # outside support: NaN, counted as missing
                warnings.simplefilter("ignore")
                score = test.predict_gain(df, X=X)
        else:
            score = test.predict_proba(df, X=X)
        scores[SCORE_NAMES[name]] = score
    return scores


def test_outcomes(name: str, test: Any, df: pd.DataFrame,
                  X: np.ndarray | None = None) -> dict[str, np.ndarray] | None:
    """Observed outcome and prediction of one test on ``df``; None without the outcome columns.

    Classifiers: ``y`` (0/1) and ``p``. The reintegration test: its outcome
    model's P(work within 12 months) for the trajectory each client had.
    The survival test: ``durations``, ``events`` and the linear predictor ``lp``.
    Rows with a missing outcome are left out; ``n_dropped`` counts them.
    ``X``: the test's design matrix of ``df``, when the caller has it.
    """
    if name == "benefit_duration":
        needed = [test.duration_col, test.event_col]
    elif name == "reintegration":
        needed = [test.outcome_col, test.treatment_col]
    else:
        needed = [test.outcome_col]
    if any(c not in df.columns for c in needed):
        return None
    complete = df[needed].notna().all(axis=1).to_numpy()
    part = df if complete.all() else df[complete]
    if len(part) == 0:
        return None
    out: dict[str, Any] = {"n_dropped": int((~complete).sum())}
    # a design of all rows serves only when no row is left out (the fitting data)
    X = X if X is not None and out["n_dropped"] == 0 else None
    if name == "benefit_duration":
        out["durations"] = _numbers(part, test.duration_col)
        if (out["durations"] < 0).any():
            raise AnkerDataError(f"{test.duration_col}: negative durations",
                                 columns=[test.duration_col])
        out["events"] = _numbers(part, test.event_col, flag=True)
        out["lp"] = test.risk_score(part, X=X).to_numpy()
        return out
    y = _numbers(part, test.outcome_col, flag=True)
    if name == "reintegration":
        treated = _numbers(part, test.treatment_col, flag=True) == 1
        p = np.where(treated, test.predict_outcome(part, treated=True, X=X).to_numpy(),
                     test.predict_outcome(part, treated=False, X=X).to_numpy())
    else:
        p = test.predict_proba(part, X=X).to_numpy()
    out.update(y=y, p=p)
    return out


def _numbers(df: pd.DataFrame, column: str, *, flag: bool = False) -> np.ndarray:
    """A column as floats; text, or anything but 0/1 for a flag, is an error naming it."""
    values = pd.to_numeric(df[column], errors="coerce")
    if values.isna().any():
        bad = df.loc[values.isna(), column].astype(str).unique()[:3].tolist()
        raise AnkerDataError(f"{column}: expected numbers, found {bad}", columns=[column])
    values = values.to_numpy(dtype=float)
    if flag and not np.isin(values, (0, 1)).all():
        raise AnkerDataError(f"{column}: values other than 0/1", columns=[column])
    return values


def _expected_slope(y: np.ndarray, p: np.ndarray, *, n_parameters: int) -> float:
    """Calibration slope a fresh sample should show: van Houwelingen's heuristic shrinkage
    (chi2 - df) / chi2 of the model's likelihood-ratio chi-square, so that an over-fitted
    model is not mistaken for drift."""
    q = np.clip(p, 1e-12, 1 - 1e-12)
    loglik = float(np.sum(y * np.log(q) + (1 - y) * np.log1p(-q)))
    return expected_slope(loglik, float(y.mean()), len(y), n_parameters)


def expected_slope(loglik: float, rate: float, n: int, n_parameters: int) -> float:
    """`_expected_slope` from the model's log-likelihood, the base rate and the rows."""
    rate = float(np.clip(rate, 1e-12, 1 - 1e-12))
    null = float(n * (rate * np.log(rate) + (1 - rate) * np.log1p(-rate)))
    chi2 = 2 * (loglik - null)
    return float(max(chi2 - n_parameters, 0.0) / chi2) if chi2 > 0 else 1.0
