"""Exact logistic regression on a Dask frame: every Newton step sums per-partition moments.

The log-likelihood, its gradient Z'(y - p) and the information Z'WZ are
sums over rows, so each partition computes its share where it lies and only
(p + 1)^2 numbers per partition travel. The same centring, scaling, start
and Newton driver (`anker.models.newton.maximise`) as
`anker.models.logistic.fit_logistic` give the same fit (coefficients and
SEs to 1e-8).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, log_expit

from anker.distributed._frames import map_blocks, persist_blocks, persist_map, require_dask
from anker.distributed.design import numeric_column
from anker.models.design import DesignSpec
from anker.models.logistic import LogisticFit, SeparationWarning
from anker.models.newton import maximise
from anker.schema import require_columns

__all__ = ["fit_logistic_dask"]


def _block(part: pd.DataFrame, spec: DesignSpec, outcome_col: str) -> tuple[np.ndarray, np.ndarray]:
    X = spec.transform(part, warn_unseen=False)
    y = numeric_column(part, outcome_col, "outcome")
    if ((y < 0) | (y > 1)).any():
        raise ValueError(f"{outcome_col}: the outcome must lie in [0, 1]")
    return X, y


def _sums(block) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, float]:
    X, y = block
    return len(y), X.sum(axis=0), X.min(axis=0, initial=np.inf), X.max(axis=0, initial=-np.inf), \
        float(y.sum())


def _squares(block, center: np.ndarray) -> np.ndarray:
    return ((block[0] - center) ** 2).sum(axis=0)


def _standardise(block, center: np.ndarray, scale: np.ndarray, keep: np.ndarray):
    X, y = block
    return np.column_stack([np.ones(len(y)), (X[:, keep] - center[keep]) / scale[keep]]), y


def _moments(block, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, int]:
    Z, y = block
    eta = Z @ b
    loglik = float(np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)))
    mu = expit(eta)
    S = Z * np.sqrt(mu * (1 - mu))[:, None]
    extreme = int(np.sum((mu < 1e-8) | (mu > 1 - 1e-8)))
    return loglik, Z.T @ (y - mu), S.T @ S, extreme


def logistic_blocks(ddf: Any, spec: DesignSpec, outcome_col: str, *, l2: float = 0.0,
                    max_iter: int = 100, tol: float = 1e-10) -> tuple[LogisticFit, np.ndarray]:
    """The fit and the column means of the design (what a logistic ANKER test keeps)."""
    require_columns(ddf._meta, list(spec.features) + [outcome_col], role="logistic fit")
    blocks = persist_blocks(ddf, _block, spec, outcome_col)
    sums = map_blocks(_sums, blocks)
    n = sum(s[0] for s in sums)
    if n == 0:
        raise ValueError("no rows to fit on")
    center = np.sum([s[1] for s in sums], axis=0) / n
    low = np.min([s[2] for s in sums], axis=0)
    high = np.max([s[3] for s in sums], axis=0)
    scale = np.sqrt(np.sum(map_blocks(_squares, blocks, center), axis=0) / n)
    constant = (low == high) | (scale < 1e-12)
    names = spec.term_names
    if constant.any():
        warnings.warn(f"column(s) {[names[j] for j in np.flatnonzero(constant)]} do not vary in "
                      "the fitting data; their coefficients are set to 0 (not estimable)",
                      RuntimeWarning, stacklevel=3)
    keep = ~constant
    blocks = persist_map(_standardise, blocks, center, scale, keep)
    l2 = np.broadcast_to(np.asarray(l2, dtype=float), center.shape)[keep]
    penalty = np.concatenate([[0.0], l2 * scale[keep] ** 2])
    ybar = np.clip(sum(s[4] for s in sums) / n, 1e-6, 1 - 1e-6)
    start = np.zeros(1 + int(keep.sum()))
    start[0] = np.log(ybar / (1 - ybar))
    extreme = {}

    def evaluate(b: np.ndarray):
        parts = map_blocks(_moments, blocks, b)
        extreme["n"] = sum(p[3] for p in parts)
        loglik = sum(p[0] for p in parts) - 0.5 * float(np.sum(penalty * b**2))
        grad = np.sum([p[1] for p in parts], axis=0) - penalty * b
        return loglik, grad, np.sum([p[2] for p in parts], axis=0) + np.diag(penalty)

    result = maximise(evaluate, start, max_iter=max_iter, tol=tol, what="logistic")
    beta = result.x
    evaluate(beta)  # the fitted probabilities at the estimate, for the separation check
    if np.max(np.abs(beta[1:]), initial=0.0) > 25 or extreme["n"] > 0:
        warnings.warn("fitted probabilities of 0 or 1: the outcome is (nearly) perfectly "
                      "separated by some features; estimates and standard errors are unreliable",
                      SeparationWarning, stacklevel=3)
    T = np.diag(1 / np.concatenate([[1.0], scale[keep]]))
    T[0, 1:] = -center[keep] / scale[keep]
    full = np.concatenate([[True], keep])
    coef = np.zeros(full.size)
    cov = np.full((full.size, full.size), np.nan)
    coef[full] = T @ beta
    cov[np.ix_(full, full)] = T @ np.linalg.pinv(result.info) @ T.T
    fit = LogisticFit(coef=coef, cov=cov, intercept=True, n=float(n), loglik=result.loglik,
                      n_iter=result.n_iter)
    return fit, center


def fit_logistic_dask(ddf: Any, spec: DesignSpec, outcome_col: str, *, l2: float = 0.0,
                      max_iter: int = 100, tol: float = 1e-10) -> LogisticFit:
    """Logistic regression of ``outcome_col`` on the design ``spec`` of a Dask frame.

    With an intercept, as the ANKER tests fit it; ``l2`` is the ridge penalty
    of `anker.models.logistic.fit_logistic` (original scale of the columns).
    Returns the `~anker.models.logistic.LogisticFit` that ``fit_logistic(
    spec.transform(df), df[outcome_col], l2=l2)`` gives on the same rows.

    Examples
    --------
    >>> import anker, dask.dataframe as dd
    >>> from anker.models.design import DesignSpec
    >>> from anker.models.logistic import fit_logistic
    >>> df = anker.simulate_population(n_per_cohort=1_000, seed=1).data
    >>> spec = DesignSpec.learn(df, ["age", "education", "tightness"])
    >>> fit = fit_logistic_dask(dd.from_pandas(df, npartitions=3), spec, "work_within_6m")
    >>> memory = fit_logistic(spec.transform(df), df["work_within_6m"].to_numpy(float))
    >>> bool(np.allclose(fit.coef, memory.coef, rtol=0, atol=1e-8))
    True
    """
    require_dask(ddf, "fit_logistic_dask")
    return logistic_blocks(ddf, spec, outcome_col, l2=l2, max_iter=max_iter, tol=tol)[0]
