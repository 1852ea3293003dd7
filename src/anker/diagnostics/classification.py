"""Discrimination and calibration of the classifiers (compliance, labour market).

:func:`auc` with a DeLong CI, :func:`brier_score`,
:func:`calibration_intercept_slope`, :func:`hosmer_lemeshow`,
:func:`reliability_table` and :func:`summarise_classifier`: plain functions
on arrays of 0/1 outcomes and predicted probabilities, re-exported by
`anker.diagnostics`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from anker.diagnostics._checks import _arrays, _bin_ids, _binary, _probabilities, _warn_empty, _z
from anker.errors import AnkerDataError

__all__ = [
    "AUCResult", "CalibrationResult", "HosmerLemeshowResult", "auc", "brier_score",
    "calibration_intercept_slope", "hosmer_lemeshow", "reliability_table", "summarise_classifier",
]


# ----------------------------------------------------------------- discrimination
@dataclass(frozen=True)
class AUCResult:
    """Area under the ROC curve with its DeLong standard error and CI."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    level: float
    n_positive: int
    n_negative: int

    def __float__(self) -> float:
        return self.estimate


def auc(y: object, p: object, *, ci: bool = True, level: float = 0.95) -> float | AUCResult:
    """Area under the ROC curve, with a DeLong confidence interval.

    Uses the fast DeLong algorithm of Sun and Xu (2014): midranks of the
    pooled, positive and negative scores give every placement value in
    O(n log n). The CI is Wald on the AUC scale clipped to [0, 1] (as pROC).

    Parameters
    ----------
    y : array-like of 0/1
        Observed outcome.
    p : array-like
        Score; higher means more likely ``y = 1``.
    ci : bool, default True
        Return an :class:`AUCResult` with SE and CI; ``False`` returns a float.
    level : float, default 0.95
        Confidence level.

    Examples
    --------
    >>> res = auc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(res.estimate, 4), round(res.se, 4)
    (0.8889, 0.1571)
    """
    y, p = _arrays(y=y, p=p)
    _binary(y, "y")
    positive, negative = p[y == 1], p[y == 0]
    m, n = len(positive), len(negative)
    if m == 0 or n == 0:
        raise AnkerDataError(f"y has only one class ({m} ones, {n} zeros); AUC is undefined")
    pooled_rank = stats.rankdata(np.concatenate([positive, negative]))
    estimate = float((pooled_rank[:m].sum() - m * (m + 1) / 2) / (m * n))
    if not ci:
        return estimate
    z = _z(level)
    # placement values: share of the other class each score beats (ties count half)
    v10 = (pooled_rank[:m] - stats.rankdata(positive)) / n
    v01 = 1.0 - (pooled_rank[m:] - stats.rankdata(negative)) / m
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    se = float(np.sqrt(var))
    return AUCResult(estimate, se, max(0.0, estimate - z * se), min(1.0, estimate + z * se),
                     level, m, n)


def brier_score(y: object, p: object) -> float:
    """Mean squared difference between outcome and predicted probability.

    Examples
    --------
    >>> brier_score([0, 1, 1], [0.2, 0.6, 0.9])
    0.07
    """
    y, p = _arrays(y=y, p=p)
    _binary(y, "y")
    _probabilities(p, "p")
    return float(np.round(np.mean((y - p) ** 2), 15))


# -------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class CalibrationResult:
    """Logistic recalibration: ideal intercept 0 and slope 1."""

    intercept: float
    intercept_se: float
    slope: float
    slope_se: float
    level: float
    n: int

    def _ci(self, estimate: float, se: float) -> tuple[float, float]:
        z = _z(self.level)
        return estimate - z * se, estimate + z * se

    @property
    def intercept_ci(self) -> tuple[float, float]:
        return self._ci(self.intercept, self.intercept_se)

    @property
    def slope_ci(self) -> tuple[float, float]:
        return self._ci(self.slope, self.slope_se)

    def to_frame(self) -> pd.DataFrame:
        """Rows intercept and slope: estimate, se, ci_low, ci_high, ideal, p (Wald, vs ideal)."""
        rows = {"intercept": (self.intercept, self.intercept_se, 0.0),
                "slope": (self.slope, self.slope_se, 1.0)}
        table = pd.DataFrame(
            [(est, se, *self._ci(est, se), ideal, 2 * stats.norm.sf(abs(est - ideal) / se))
             for est, se, ideal in rows.values()],
            index=list(rows), columns=["estimate", "se", "ci_low", "ci_high", "ideal", "p"])
        return table


def calibration_intercept_slope(y: object, p: object, *, level: float = 0.95) -> CalibrationResult:
    """Calibration-in-the-large and calibration slope by logistic recalibration.

    The slope is the coefficient of logit(p) in a logistic regression of ``y``
    on logit(p); the intercept is that of a logistic regression of ``y`` on a
    constant with logit(p) as offset (calibration-in-the-large). Both are fitted
    with statsmodels GLM. Probabilities of exactly 0 or 1 are moved 1e-10 inside
    (with a warning) so their logit is finite.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.95, 20_000)
    >>> res = calibration_intercept_slope(rng.random(20_000) < p, p)
    >>> abs(res.intercept) < 0.1, abs(res.slope - 1) < 0.1
    (True, True)
    """
    import statsmodels.api as sm

    y, p = _arrays(y=y, p=p)
    _binary(y, "y")
    _probabilities(p, "p")
    if edge := int(((p == 0) | (p == 1)).sum()):
        warnings.warn(f"{edge} predictions are exactly 0 or 1; moved 1e-10 inside for logit(p)",
                      UserWarning, stacklevel=2)
    logit = special.logit(np.clip(p, 1e-10, 1 - 1e-10))
    family = sm.families.Binomial()
    slope_fit = sm.GLM(y, np.column_stack([np.ones_like(logit), logit]), family=family).fit()
    large_fit = sm.GLM(y, np.ones((len(y), 1)), offset=logit, family=family).fit()
    return CalibrationResult(float(large_fit.params[0]), float(large_fit.bse[0]),
                             float(slope_fit.params[1]), float(slope_fit.bse[1]), level, len(y))


def reliability_table(y: object, p: object, *, bins: int = 10, strategy: str = "quantile",
                      level: float = 0.95) -> pd.DataFrame:
    """Observed outcome rate against mean predicted probability per bin.

    Bins follow :func:`sklearn.calibration.calibration_curve` (``"quantile"``:
    percentiles of ``p``; ``"uniform"``: equal widths on [0, 1]), but an empty
    bin is kept with ``n = 0`` and a warning instead of vanishing.

    Returns
    -------
    DataFrame
        One row per bin: bin, lower, upper (bin edges), n, events,
        mean_predicted, observed_rate and its Wilson interval ci_low, ci_high.

    Examples
    --------
    >>> reliability_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], bins=2)[["n", "observed_rate"]]
       n  observed_rate
    0  2            0.0
    1  2            1.0
    """
    from statsmodels.stats.proportion import proportion_confint

    y, p = _arrays(y=y, p=p)
    _binary(y, "y")
    _probabilities(p, "p")
    ids, edges = _bin_ids(p, bins, strategy)
    n = np.bincount(ids, minlength=bins)
    events = np.bincount(ids, weights=y, minlength=bins)
    filled = n > 0
    low, high = np.full(bins, np.nan), np.full(bins, np.nan)
    low[filled], high[filled] = proportion_confint(events[filled], n[filled],
                                                   alpha=1 - level, method="wilson")
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "bin": np.arange(bins), "lower": edges[:-1], "upper": edges[1:], "n": n,
            "events": events.astype(np.int64),
            "mean_predicted": np.bincount(ids, weights=p, minlength=bins) / n,
            "observed_rate": events / n, "ci_low": low, "ci_high": high})
    _warn_empty(n, "bins")
    return table


@dataclass(frozen=True)
class HosmerLemeshowResult:
    """Hosmer-Lemeshow goodness of fit; ``table`` holds observed and expected per group."""

    statistic: float
    df: int
    p_value: float
    table: pd.DataFrame


def hosmer_lemeshow(y: object, p: object, *, groups: int = 10) -> HosmerLemeshowResult:
    """Hosmer-Lemeshow test over groups of predicted risk (deciles by default).

    Groups are cut at quantiles of ``p``, a value on an edge going to the lower
    group, as in R's ``ResourceSelection::hoslem.test``. Groups left empty by
    tied predictions are reported, skipped and the degrees of freedom reduced
    (``df = non-empty groups - 2``); hoslem.test merges duplicate edges instead,
    so with heavy ties its groups can differ.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(0.1, 0.9, 5_000)
    >>> res = hosmer_lemeshow(rng.random(5_000) < p, p)
    >>> res.df, res.p_value > 0.01
    (8, True)
    """
    y, p = _arrays(y=y, p=p)
    _binary(y, "y")
    _probabilities(p, "p")
    ids, edges = _bin_ids(p, groups, "quantile")
    n = np.bincount(ids, minlength=groups)
    observed = np.bincount(ids, weights=y, minlength=groups)
    expected = np.bincount(ids, weights=p, minlength=groups)
    _warn_empty(n, "groups")
    used = (n > 0) & (expected > 0) & (expected < n)
    if degenerate := int((n > 0).sum() - used.sum()):
        warnings.warn(f"{degenerate} groups hold only predictions of 0 or only of 1 and are "
                      "left out of the statistic", UserWarning, stacklevel=2)
    statistic = float(np.sum((observed[used] - expected[used]) ** 2
                             / (expected[used] * (1 - expected[used] / n[used]))))
    df = int(used.sum()) - 2
    if df < 1:
        raise AnkerDataError(f"only {used.sum()} usable groups of predicted risk; need at least 3")
    table = pd.DataFrame({"group": np.arange(groups), "lower": edges[:-1], "upper": edges[1:],
                          "n": n, "observed": observed, "expected": expected})
    return HosmerLemeshowResult(statistic, df, float(stats.chi2.sf(statistic, df)), table)


def summarise_classifier(y: object, p: object, *, name: str | None = None,
                         level: float = 0.95, groups: int = 10) -> pd.DataFrame:
    """One row of the usual classifier checks, for notebooks and the report.

    Returns
    -------
    DataFrame
        One row (index ``name``): n, base_rate, mean_predicted, auc, auc_ci_low,
        auc_ci_high, brier, calibration_intercept, calibration_slope, hl_statistic, hl_p.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> p = rng.uniform(0.1, 0.9, 2_000)
    >>> row = summarise_classifier(rng.random(2_000) < p, p, name="demo")
    >>> list(row.index), int(row.loc["demo", "n"])
    (['demo'], 2000)
    """
    y, p = _arrays(y=y, p=p)
    area = auc(y, p, level=level)
    calibration = calibration_intercept_slope(y, p, level=level)
    hl = hosmer_lemeshow(y, p, groups=groups)
    row = {"n": len(y), "base_rate": float(y.mean()), "mean_predicted": float(p.mean()),
           "auc": area.estimate, "auc_ci_low": area.ci_low, "auc_ci_high": area.ci_high,
           "brier": brier_score(y, p), "calibration_intercept": calibration.intercept,
           "calibration_slope": calibration.slope, "hl_statistic": hl.statistic,
           "hl_p": hl.p_value}
    return pd.DataFrame([row], index=[name])
