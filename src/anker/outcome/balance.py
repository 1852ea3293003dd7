"""Weight and balance diagnostics of the propensity weighting in the cohort comparison.

The ATT weights give the other (coaching) cohort weight 1 and each reference
spell the odds e/(1-e) of belonging to the other cohort. Two questions a
referee asks of them, answered here:

- are the weights tame? (`weight_diagnostics`: effective sample size, largest
  weight, share of weights above 10x their mean, share of the total weight
  held by the top 1 %);
- do they balance the covariates? (`balance_table`: standardised mean
  differences per design term before and after weighting).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from anker.outcome.checks import OverlapWarning


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2.

    Examples
    --------
    >>> effective_sample_size(np.ones(10)), round(effective_sample_size([1, 1, 1, 7]), 2)
    (10.0, 1.92)
    """
    weights = np.asarray(weights, dtype=float)
    top = float(np.max(weights)) if weights.size else 0.0
    if not np.isfinite(top) or top <= 0:
        return float("nan")
    # the ratio is scale-free: dividing by the largest weight keeps w^2 from overflowing
    scaled = weights / top
    return float(scaled.sum() ** 2 / np.sum(scaled**2))


def weight_diagnostics(reference_weights: np.ndarray, propensity: np.ndarray,
                       A: np.ndarray) -> pd.Series:
    """Summary of the ATT weights of the reference cohort (the other cohort has weight 1).

    Entries: ``n_reference``, ``effective_sample_size``, ``ess_share`` (of
    n_reference), ``max_weight`` (relative to the mean weight),
    ``max_weight_share`` (of the total weight), ``share_above_10x_mean``
    (of the reference spells), ``top1pct_weight_share`` (share of the total
    weight held by the largest 1 % of weights), and the propensity range per
    cohort (``propensity_min_reference`` ... ``propensity_max_other``).

    Examples
    --------
    >>> d = weight_diagnostics(np.array([1.0, 1.0, 2.0, 4.0]), np.array([.5, .5, .6, .8, .7]),
    ...                        np.array([0, 0, 0, 0, 1]))
    >>> round(float(d["effective_sample_size"]), 3), float(d["max_weight"])
    (2.909, 2.0)
    """
    w = np.asarray(reference_weights, dtype=float)
    propensity = np.asarray(propensity, dtype=float)
    A = np.asarray(A)
    mean = w.mean()
    k = max(1, int(np.ceil(0.01 * w.size)))
    top = np.sort(w)[-k:]
    ess = effective_sample_size(w)
    return pd.Series({
        "n_reference": float(w.size),
        "effective_sample_size": ess,
        "ess_share": ess / w.size,
        "max_weight": float(w.max() / mean),
        "max_weight_share": float(w.max() / w.sum()),
        "share_above_10x_mean": float(np.mean(w > 10 * mean)),
        "top1pct_weight_share": float(top.sum() / w.sum()),
        "propensity_min_reference": float(propensity[A == 0].min()),
        "propensity_max_reference": float(propensity[A == 0].max()),
        "propensity_min_other": float(propensity[A == 1].min()),
        "propensity_max_other": float(propensity[A == 1].max()),
    }, name="att_weights")


_ROWS = 65_536


def _weighted_moments(X: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and variance of each column; ``weights`` are 0 outside the group.

    A block of rows at a time: the rows of a cohort, or (X - mean)^2, would each
    be an (n, p) copy, hundreds of MB at national scale.
    """
    if X.shape[1] == 0:
        return np.zeros(0), np.zeros(0)
    total = weights.sum()
    mean = (weights @ X) / total
    var = np.zeros(X.shape[1])
    for begin in range(0, X.shape[0], _ROWS):
        block = X[begin:begin + _ROWS] - mean
        block *= block
        var += weights[begin:begin + _ROWS] @ block
    return mean, var / total


def balance_table(X: np.ndarray, terms: Sequence[str], A: np.ndarray,
                  reference_weights: np.ndarray | None) -> pd.DataFrame:
    """Standardised mean differences (other minus reference) per design term.

    SMD = (mean_other - mean_reference) / sqrt((var_other + var_reference) / 2),
    with the unweighted variances in the denominator both before and after
    weighting, so the two columns are on one scale. |SMD| < 0.1 is the usual
    rule of thumb for balance. ``variance_ratio`` is var_other / var_reference
    (weighted after weighting).

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [1.0], [2.0]])
    >>> balance_table(X, ["age"], np.array([0, 0, 1, 1]), np.array([1.0, 3.0]))["smd_after"].round(3).tolist()
    [1.5]
    """
    X = np.asarray(X, dtype=float)
    A = np.asarray(A)
    mean1, var1 = _weighted_moments(X, (A == 1).astype(float))
    mean0, var0 = _weighted_moments(X, (A == 0).astype(float))
    scale = np.sqrt((var1 + var0) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame({
            "mean_reference": mean0,
            "mean_other": mean1,
            "smd_before": np.where(scale > 0, (mean1 - mean0) / scale, 0.0),
            "variance_ratio_before": np.where(var0 > 0, var1 / var0, np.nan),
        }, index=pd.Index(list(terms), name="term"))
        if reference_weights is not None:
            on_rows = np.zeros(A.size)
            on_rows[A == 0] = reference_weights
            mean0w, var0w = _weighted_moments(X, on_rows)
            table["mean_reference_weighted"] = mean0w
            table["smd_after"] = np.where(scale > 0, (mean1 - mean0w) / scale, 0.0)
            table["variance_ratio_after"] = np.where(var0w > 0, var1 / var0w, np.nan)
    return table


# below this effective sample size share the weighting estimators are flagged
LOW_ESS_SHARE = 0.10


def weighting_outputs(est, A: np.ndarray, index: pd.Index, method: str, notes: list[str]):
    """Weight diagnostics, propensity and ATT weights as Series (None without weighting).

    Appends a limited-overlap note to ``notes`` below `LOW_ESS_SHARE`, and warns
    (`OverlapWarning`) when the chosen method weights.
    """
    if est.att_weights is None:
        return None, None, None
    weights = weight_diagnostics(est.att_weights[A == 0], est.propensity, A)
    if weights["ess_share"] < LOW_ESS_SHARE:
        message = (f"limited overlap: the weighted reference cohort has an effective sample "
                   f"size of {weights['effective_sample_size']:,.0f} of "
                   f"{int(weights['n_reference']):,} spells ({weights['ess_share']:.1%}); "
                   "the iptw estimate and its CI are not trustworthy, aipw leans on the Cox model")
        notes.append(message)
        if method in ("iptw", "aipw"):
            warnings.warn(message, OverlapWarning, stacklevel=3)
    return (weights, pd.Series(est.propensity, index=index, name="propensity"),
            pd.Series(est.att_weights, index=index, name="att_weight"))
