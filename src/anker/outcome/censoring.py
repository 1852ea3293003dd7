"""The censoring model of the cohort comparison: who is cut off before the horizon, and when.

Benefit spells are censored at entitlement end (for the time-on-benefit
outcome) and at data end. Entitlement depends on work history, age and each
cohort's rules, so censoring is not independent of the covariates, and the
weighting estimators carry inverse-probability-of-censoring weights from one
of these models, fitted per cohort (the cohorts' rules differ):

- ``"cox"`` (default): a Cox model of the censoring hazard on the covariates;
- ``"km"``: Kaplan-Meier of censoring per cohort (censoring independent of
  the covariates within a cohort).

An exit and a censoring on the same day: the exit comes first (the person
is not at risk of censoring that day), as in the Kaplan-Meier estimator.
"""

from __future__ import annotations

import warnings

import numpy as np

from anker.models.cox import fit_cox
from anker.models.cox_functionals import cox_influence
from anker.outcome.aipcw import Model
from anker.outcome.cohort_cox import fit_rows

CENSORING_MODELS = ("cox", "km")


def censoring_events(durations: np.ndarray, events: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """1 where a spell is censored before its restriction time (what IPCW must undo)."""
    return ((events == 0) & (durations < tau)).astype(float)


def fit_censoring(kind: str, durations: np.ndarray, events: np.ndarray, tau: np.ndarray,
                  rows: np.ndarray, X: np.ndarray) -> Model | None:
    """The censoring model of one cohort (``rows``, indices), or None when nothing is censored early.

    ``X`` is the covariate design of every row (used by ``"cox"``); the
    returned model predicts G for every row from its covariates.
    """
    if kind not in CENSORING_MODELS:
        raise ValueError(f"censoring must be one of {list(CENSORING_MODELS)}, got {kind!r}")
    cens = censoring_events(durations[rows], events[rows], tau[rows])
    if cens.sum() == 0:
        return None
    # exits leave the risk set of censoring just before their day
    spacing = np.diff(np.unique(durations))
    eps = 1e-6 * (float(spacing.min()) if spacing.size else 1.0)
    # (an exit on day 0 cannot move before it: durations must stay >= 0)
    shifted = np.maximum(durations[rows] - eps * (events[rows] == 1), 0.0)
    top = float(tau.max())
    if kind == "km":
        Z = np.zeros((durations.size, 0))
        fit = fit_cox(Z[rows], shifted, cens, ties="breslow")
        return Model(cox_influence(fit, Z[rows], shifted, cens, top), rows, Z, product_limit=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = fit_rows(X, rows, shifted, cens, ties="breslow")
        fit = fitted.fit
    for w in caught:
        if not issubclass(w.category, RuntimeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    note = None
    if not (np.isfinite(fit.coef).all() and np.isfinite(fit.cov).all()):
        # too few early censorings for the covariates (monotone likelihood): the Cox censoring
        # model is not identified, so the censoring weights fall back to Kaplan-Meier
        Z = np.zeros((durations.size, 0))
        km = fit_cox(Z[rows], shifted, cens, ties="breslow")
        note = (f"censoring model: the Cox model of censoring could not be fitted "
                f"({int(cens.sum())} early censorings, {X.shape[1]} covariate terms); "
                "Kaplan-Meier of censoring used instead, which assumes censoring independent of "
                "the covariates within the cohort")
        return Model(cox_influence(km, Z[rows], shifted, cens, top), rows, Z, product_limit=True,
                     note=note)
    if any(issubclass(w.category, RuntimeWarning) for w in caught):
        # censoring (nearly) determined by the covariates, as entitlement end by work history
        note = ("censoring model: very large hazard ratios, censoring is (nearly) determined by "
                "the covariates (as entitlement end by work history): IPCW leans on few spells; "
                "try censoring='km' and compare, aipw rests on the outcome model there")
    return Model(fitted.influence(top), fitted.rows, X, note=note)
