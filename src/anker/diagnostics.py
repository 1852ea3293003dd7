"""Discrimination and calibration checks for the ANKER tests: plain functions on arrays.

Classifiers (compliance, labour market): :func:`auc` with a DeLong CI,
:func:`brier_score`, :func:`calibration_intercept_slope`,
:func:`hosmer_lemeshow`, :func:`reliability_table` and
:func:`summarise_classifier`. Survival (benefit duration):
:func:`concordance_index` (Harrell's C), :func:`survival_calibration`
against Kaplan-Meier, and the IPCW Brier score over time
(:func:`survival_brier_scores`, :func:`integrated_brier_score`).

Inputs are arrays or pandas Series of one length; Series must share their
index. Missing values are refused, never dropped. Everything is vectorised,
so a million rows take seconds, not minutes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from anker.errors import AnkerDataError

__all__ = [
    "AUCResult", "CalibrationResult", "HosmerLemeshowResult", "SurvivalCalibration",
    "auc", "brier_score", "calibration_intercept_slope", "concordance_index",
    "hosmer_lemeshow", "integrated_brier_score", "reliability_table",
    "summarise_classifier", "survival_brier_scores", "survival_calibration",
]


# --------------------------------------------------------------------------- inputs
def _arrays(**named: object) -> list[np.ndarray]:
    """Named 1-d inputs as float arrays of one length; Series must share one index."""
    indexes = [(k, v.index) for k, v in named.items() if isinstance(v, pd.Series | pd.DataFrame)]
    for name, index in indexes[1:]:
        if not index.equals(indexes[0][1]):
            raise AnkerDataError(f"{name} and {indexes[0][0]} have different indexes; align them first")
    out, n = [], None
    for name, value in named.items():
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise AnkerDataError(f"{name} must be numeric: {exc}") from None
        if arr.ndim != 1:
            raise AnkerDataError(f"{name} must be one-dimensional, got shape {arr.shape}")
        n = len(arr) if n is None else n
        if len(arr) != n:
            raise AnkerDataError(f"{name} has {len(arr)} values, {next(iter(named))} has {n}")
        if missing := int(np.isnan(arr).sum()):
            raise AnkerDataError(f"{name} has {missing} missing values; drop or impute them first")
        out.append(arr)
    if n == 0:
        raise AnkerDataError(f"{next(iter(named))} is empty")
    return out


def _binary(y: np.ndarray, name: str) -> np.ndarray:
    if not np.isin(y, (0.0, 1.0)).all():
        raise AnkerDataError(f"{name} must hold 0/1 outcomes, found {np.setdiff1d(y, [0, 1])[:5]}")
    return y


def _probabilities(p: np.ndarray, name: str) -> np.ndarray:
    if p.min() < 0 or p.max() > 1:
        raise AnkerDataError(f"{name} must lie in [0, 1], found {p.min():g} .. {p.max():g}")
    return p


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    return float(stats.norm.ppf(0.5 + level / 2))


def _bin_ids(p: np.ndarray, bins: int, strategy: str) -> tuple[np.ndarray, np.ndarray]:
    """Bin index per value and the bin edges, by scikit-learn's ``calibration_curve`` rule."""
    if not isinstance(bins, int | np.integer) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, bins + 1))
    elif strategy == "uniform":
        edges = np.linspace(0.0, 1.0, bins + 1)
    else:
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    # a value on an inner edge goes to the lower bin, as in R's cut(): hoslem.test agrees
    return np.searchsorted(edges[1:-1], p), edges


def _warn_empty(n: np.ndarray, what: str) -> None:
    if empty := int((n == 0).sum()):
        warnings.warn(f"{empty} of {len(n)} {what} are empty (tied predictions); "
                      "they are reported with n = 0 and left out of any statistic",
                      UserWarning, stacklevel=3)


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


# ----------------------------------------------------------------------- survival
def _dense_rank(x: np.ndarray) -> np.ndarray:
    return np.unique(x, return_inverse=True)[1].ravel().astype(np.int64)


def concordance_index(durations: object, events: object, risk_score: object) -> float:
    """Harrell's C: the share of comparable pairs where the higher risk leaves first.

    A pair is comparable when the earlier of the two spells ended in an event
    (a censored spell ending at the same time counts as later; two events at
    the same time are not comparable). Tied risk scores count one half. Same
    definition as ``lifelines.utils.concordance_index(durations, -risk_score,
    events)``, computed in O(n log^2 n) with vectorised dyadic counting.

    Examples
    --------
    >>> concordance_index([5, 10, 15, 20], [1, 1, 0, 1], [0.9, 0.5, 0.7, 0.1])
    0.8
    """
    durations, events, risk = _arrays(durations=durations, events=events, risk_score=risk_score)
    _binary(events, "events")
    # exit order: at one duration events come before censorings, so key 2*t < 2*t+1
    key = _dense_rank(2 * _dense_rank(durations) + (events == 0))
    score = _dense_rank(risk)
    is_event = events == 1
    n_keys = int(key.max()) + 1
    later = len(key) - np.cumsum(np.bincount(key, minlength=n_keys))  # spells with a larger key
    pairs = int(np.bincount(key[is_event], minlength=n_keys) @ later)
    if pairs == 0:
        raise AnkerDataError("no comparable pairs (no event is followed by a longer spell)")
    # tied scores: within a run of equal score (sorted by key), the spells after the
    # run of one's own key; needles are sorted, so searchsorted streams
    code = score * n_keys + key
    order = np.argsort(code, kind="stable")
    code = code[order]
    score_end = np.searchsorted(code, (code // n_keys + 1) * n_keys, side="left")
    tied = int(np.sum((score_end - np.searchsorted(code, code, side="right"))[is_event[order]]))
    # lower scores, level by level: at level b, i and j share the parent block
    # key >> (b+1) with i in the left half and j in the right one. One sort of both
    # halves (a query sorts before data of equal score) gives, per query, the data
    # below it; the data in earlier parents are then subtracted.
    width = int(score.max()) + 1
    below = 0
    for level in range(max(1, (n_keys - 1).bit_length())):
        right = ((key >> level) & 1) == 1
        parent = key >> (level + 1)
        query = ~right & is_event
        merged = np.sort(np.concatenate([(parent[right] * width + score[right]) * 2 + 1,
                                         (parent[query] * width + score[query]) * 2]))
        is_data = merged & 1
        data_before = np.cumsum(is_data) - is_data
        per_parent = np.bincount(parent[right], minlength=int(parent.max()) + 1)
        earlier_parents = np.cumsum(per_parent) - per_parent
        below += int(data_before[is_data == 0].sum() - earlier_parents[parent[query]].sum())
    return (below + tied / 2) / pairs


def _km_at(durations: np.ndarray, events: np.ndarray, group: np.ndarray, n_groups: int,
           time: float) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival at ``time`` and its Greenwood variance, per group."""
    levels, rank = np.unique(durations, return_inverse=True)
    width = len(levels) + 1
    key = group * width + rank.ravel()
    sorted_key = np.sort(key)
    event_key, deaths = np.unique(key[(events == 1) & (durations <= time)], return_counts=True)
    event_group = event_key // width
    group_end = np.searchsorted(sorted_key, (np.arange(n_groups) + 1) * width)
    at_risk = group_end[event_group] - np.searchsorted(sorted_key, event_key)
    with np.errstate(divide="ignore"):
        log_survival = np.bincount(event_group, weights=np.log1p(-deaths / at_risk),
                                   minlength=n_groups)
        greenwood = np.bincount(event_group, weights=deaths / (at_risk * (at_risk - deaths.astype(float))),
                                minlength=n_groups)
    return np.exp(log_survival), greenwood


def _loglog_ci(survival: np.ndarray, greenwood: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Exponential Greenwood (log-log) interval, as lifelines' KaplanMeierFitter."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(survival)
        half = z * np.sqrt(greenwood) / log_s  # negative: log_s < 0
        low = np.exp(-np.exp(np.log(-log_s) - half))
        high = np.exp(-np.exp(np.log(-log_s) + half))
    return np.where(np.isnan(low), 1.0, low), np.where(np.isnan(high), 1.0, high)


@dataclass(frozen=True)
class SurvivalCalibration:
    """Predicted against Kaplan-Meier survival at one time, per group and overall."""

    table: pd.DataFrame
    time: float
    mean_predicted: float
    observed: float
    observed_ci: tuple[float, float]
    chi2: float
    df: int
    p_value: float

    @property
    def difference(self) -> float:
        """Overall mean predicted minus observed survival (> 0: too optimistic)."""
        return self.mean_predicted - self.observed


def survival_calibration(durations: object, events: object, predicted_survival: object, *,
                         time: float, groups: int = 10, level: float = 0.95) -> SurvivalCalibration:
    """Predicted survival at ``time`` against Kaplan-Meier, per group of predicted survival.

    Groups are cut at quantiles of ``predicted_survival`` (group 0 holds the
    lowest predicted survival, i.e. the highest risk). Per group the table
    gives the mean prediction, the Kaplan-Meier estimate at ``time`` with its
    Greenwood SE and log-log CI (as lifelines), events up to ``time`` and spells
    still at risk after it. ``chi2`` sums ((observed - predicted) / se)^2 over
    groups with a positive SE, ``df`` = their number.

    Parameters
    ----------
    durations : array-like
        Spell length (same unit as ``time``, e.g. calendar days).
    events : array-like of 0/1
        1 when the spell ended (exit), 0 when censored.
    predicted_survival : array-like
        Each spell's predicted P(still on benefit at ``time``).
    time : float
        The horizon, e.g. 365 calendar days.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> rate = rng.uniform(0.002, 0.01, 4_000)
    >>> durations = rng.exponential(1 / rate)
    >>> cal = survival_calibration(durations, np.ones(4_000), np.exp(-rate * 180), time=180)
    >>> abs(cal.difference) < 0.03
    True
    """
    durations, events, predicted = _arrays(durations=durations, events=events,
                                           predicted_survival=predicted_survival)
    _binary(events, "events")
    _probabilities(predicted, "predicted_survival")
    if (durations < 0).any():
        raise AnkerDataError(f"durations has {(durations < 0).sum()} negative values")
    if not np.isfinite(time) or time < 0:
        raise ValueError(f"time must be a finite non-negative number, got {time!r}")
    z = _z(level)
    ids, edges = _bin_ids(predicted, groups, "quantile")
    n = np.bincount(ids, minlength=groups)
    observed, greenwood = _km_at(durations, events, ids, groups, time)
    low, high = _loglog_ci(observed, greenwood, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "group": np.arange(groups), "lower": edges[:-1], "upper": edges[1:], "n": n,
            "mean_predicted": np.bincount(ids, weights=predicted, minlength=groups) / n,
            "observed": np.where(n > 0, observed, np.nan), "se": observed * np.sqrt(greenwood),
            "ci_low": low, "ci_high": high,
            "events": np.bincount(ids, weights=(events == 1) & (durations <= time), minlength=groups),
            "at_risk": np.bincount(ids, weights=durations > time, minlength=groups)})
    table[["events", "at_risk"]] = table[["events", "at_risk"]].astype(np.int64)
    table.loc[n == 0, ["se", "ci_low", "ci_high"]] = np.nan
    _warn_empty(n, "groups")
    if no_follow_up := int(((table["at_risk"] == 0) & (n > 0)).sum()):
        warnings.warn(f"{no_follow_up} groups have nobody at risk after time={time:g}; "
                      "their Kaplan-Meier estimate is carried forward from earlier follow-up",
                      UserWarning, stacklevel=2)
    usable = (table["se"] > 0).to_numpy()
    chi2 = float(np.sum(((table["observed"] - table["mean_predicted"])[usable]
                         / table["se"][usable]) ** 2))
    overall, overall_var = _km_at(durations, events, np.zeros(len(durations), np.int64), 1, time)
    overall_low, overall_high = _loglog_ci(overall, overall_var, z)
    df = int(usable.sum())
    return SurvivalCalibration(table, float(time), float(predicted.mean()), float(overall[0]),
                               (float(overall_low[0]), float(overall_high[0])), chi2, df,
                               float(stats.chi2.sf(chi2, df)) if df else np.nan)


def _censoring_survival(durations: np.ndarray, events: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Reverse Kaplan-Meier G(t) = P(not censored by t), scikit-survival's convention.

    An exit at the same time as a censoring counts as happening first, so it
    leaves the risk set for censoring.
    """
    times, rank = np.unique(durations, return_inverse=True)
    total = np.bincount(rank.ravel(), minlength=len(times))
    exits = np.bincount(rank.ravel(), weights=events, minlength=len(times))
    at_risk = len(durations) - np.concatenate([[0], np.cumsum(total)[:-1]]) - exits
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(at_risk > 0, 1 - (total - exits) / at_risk, 1.0)
    return times, np.cumprod(factor)


def _step(times: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Right-continuous step function: 1 before the first time."""
    index = np.searchsorted(times, at, side="right") - 1
    return np.where(index >= 0, values[np.maximum(index, 0)], 1.0)


def _survival_inputs(durations: object, events: object, survival_matrix: object,
                     times: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if times is None:
        if not isinstance(survival_matrix, pd.DataFrame):
            raise ValueError("times is required unless survival_matrix is a DataFrame "
                             "with one column per time (as BenefitDurationTest.predict_survival)")
        times = survival_matrix.columns
    if isinstance(survival_matrix, pd.DataFrame):
        for name, value in (("durations", durations), ("events", events)):
            if isinstance(value, pd.Series) and not value.index.equals(survival_matrix.index):
                raise AnkerDataError(f"{name} and survival_matrix have different indexes")
    durations, events = _arrays(durations=durations, events=events)
    _binary(events, "events")
    try:
        times = np.asarray(times, dtype=float).ravel()
        matrix = np.asarray(survival_matrix, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AnkerDataError(f"times and survival_matrix must be numeric: {exc}") from None
    if matrix.shape != (len(durations), len(times)):
        raise AnkerDataError(f"survival_matrix has shape {matrix.shape}, expected "
                             f"({len(durations)}, {len(times)}): one row per spell, one column per time")
    if np.isnan(matrix).any() or matrix.min() < 0 or matrix.max() > 1:
        raise AnkerDataError("survival_matrix must hold probabilities in [0, 1] without missing values")
    if len(times) and (np.diff(times) <= 0).any():
        raise ValueError("times must be strictly increasing")
    if len(times) and (times[0] < 0 or times[-1] >= durations.max()):
        raise ValueError(f"times must lie in [0, {durations.max():g}), the follow-up of durations; "
                         f"got {times[0]:g} .. {times[-1]:g}")
    return durations, events, matrix, times


def survival_brier_scores(durations: object, events: object, survival_matrix: object,
                          times: object = None) -> pd.Series:
    """IPCW Brier score at each time (Graf et al. 1999), as scikit-survival's ``brier_score``.

    At time t a spell that ended by t with an exit contributes S(t)^2 / G(T_i),
    one still running at t contributes (1 - S(t))^2 / G(t); spells censored
    before t contribute 0 but count in the mean. G is the reverse Kaplan-Meier
    of censoring, evaluated right-continuously (scikit-survival's convention).

    Parameters
    ----------
    durations, events : array-like
        Observed spell length and exit flag (1 = exit, 0 = censored).
    survival_matrix : array-like or DataFrame, shape (n_spells, n_times)
        Predicted P(still on benefit at time) per spell and time.
    times : array-like, optional
        Strictly increasing times within the follow-up; defaults to the
        columns of a DataFrame ``survival_matrix``.

    Examples
    --------
    >>> survival_brier_scores([2, 4, 6], [1, 0, 1], [[0.5, 0.2], [0.9, 0.6], [0.8, 0.5]], [3, 5])
    time
    3.0    0.10
    5.0    0.18
    Name: brier, dtype: float64
    """
    durations, events, matrix, times = _survival_inputs(durations, events, survival_matrix, times)
    censor_times, censor_survival = _censoring_survival(durations, events)
    weight_case = _step(censor_times, censor_survival, durations)
    if lost := int(((weight_case == 0) & (events == 1)).sum()):
        warnings.warn(f"{lost} exits have censoring survival 0 and get weight 0 (as scikit-survival)",
                      UserWarning, stacklevel=3)
    weight_case = np.divide(1.0, weight_case, out=np.zeros_like(weight_case), where=weight_case > 0)
    weight_control = 1.0 / _step(censor_times, censor_survival, times)
    case = (durations[:, None] <= times) & (events[:, None] == 1)
    control = durations[:, None] > times
    scores = np.mean(matrix**2 * case * weight_case[:, None]
                     + (1 - matrix) ** 2 * control * weight_control, axis=0)
    return pd.Series(np.round(scores, 12), index=pd.Index(times, name="time"), name="brier")


def integrated_brier_score(durations: object, events: object, survival_matrix: object,
                           times: object = None) -> float:
    """Integrated IPCW Brier score: trapezoid area under :func:`survival_brier_scores` / time span.

    Same definition as scikit-survival's ``integrated_brier_score``. Needs at
    least two times. 0 is perfect; 0.25 is what a constant 0.5 scores.

    Examples
    --------
    >>> round(integrated_brier_score([2, 4, 6], [1, 0, 1],
    ...                              [[0.5, 0.2], [0.9, 0.6], [0.8, 0.5]], [3, 5]), 4)
    0.14
    """
    scores = survival_brier_scores(durations, events, survival_matrix, times)
    if len(scores) < 2:
        raise ValueError("integrated_brier_score needs at least two times")
    span = scores.index[-1] - scores.index[0]
    return float(np.trapezoid(scores.to_numpy(), scores.index.to_numpy()) / span)
