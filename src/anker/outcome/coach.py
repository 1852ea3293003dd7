"""Outcome per coach or office, adjusted for case mix: observed against expected exits.

The inspection asked UWV to steer on "outcome per reïntegratiecoach". A raw
exit rate per coach mixes the coach's work with the caseload: a coach in a
region with few vacancies, or with many clients with a health limitation,
sees fewer exits whatever she does. Here a fitted ANKER test is the
case-mix model and each group's observed count O is set against the count
E that the model expects for exactly those clients (indirect
standardisation, as a standardised mortality ratio):

* with a :class:`~anker.BenefitDurationTest`, O is the number of exits
  within ``horizon`` calendar days and E the sum over the group's clients of
  the cumulative hazard H(min(duration, horizon) | x). Under the case-mix
  model O - E is a sum of martingale increments, so E is the expected
  number of exits given each client's own follow-up: right under censoring;
* with a logistic test (e.g. :class:`~anker.LabourMarketTest`), O is the
  sum of the 0/1 outcome and E the sum of predicted probabilities.

Inference treats O as Poisson with mean ``ratio * E``: exact (Garwood) CIs
for O/E and exact funnel-plot limits with Spiegelhalter's (2005)
interpolation. For a binary outcome the variance of O under the case-mix
model is sum p(1 - p), well below E when p is not small (work within 6
months: p around 0.5), so plain Poisson limits would be far too wide; there
the counts are scaled quasi-Poisson style by the dispersion
phi = sum p(1 - p) / sum p, fixed by the model, and the Poisson machinery
is applied to O / phi and E / phi (an approximation). Small caseloads are
not over-read: an empirical-Bayes gamma-Poisson model shrinks each O/E
towards the overall ratio, with the between-group variance estimated by the
method of moments (Pearson / DerSimonian-Laird).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from anker.assessments import BenefitDurationTest
from anker.assessments._logistic import LogisticAssessment
from anker.errors import AnkerDataError
from anker.outcome.funnel import (  # noqa: F401  (public here too)
    FUNNEL_COVERAGES,
    _check_level,
    _coverage_tag,
    funnel_limits,
    gamma_poisson_shrinkage,
    oe_confidence_interval,
)
from anker.schema import require_columns


# ---- the result ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CoachOutcome:
    """Risk-adjusted outcome per coach or office; made by :func:`outcome_by_coach`.

    ``table`` has one row per group (index named after ``group_col``):
    ``n_clients``, ``observed`` (O), ``expected`` (E), ``raw_rate`` (O per
    client, unadjusted), ``expected_rate``, ``oe_ratio`` with its exact
    Poisson CI (``oe_ci_low``, ``oe_ci_high``), ``shrunken_oe`` with its
    posterior interval (``shrunken_ci_low``, ``shrunken_ci_high``) and
    ``shrinkage_weight`` (share of the group's own ratio in it), ``z``
    ((O - target E) / sqrt(phi target E)), the funnel limits at the group's E
    (``limit95_low`` ... ``limit998_high``), ``outside_95``, ``outside_998``,
    ``too_small`` (fewer than ``min_clients`` clients: reported, never
    flagged, not used to estimate the overall ratio or the variance) and
    ``flag`` (outside the 99.8 % limits and not too small).
    ``between_variance`` is the moment estimate of the variance of the true
    ratios between groups (0: no spread beyond chance), ``dispersion`` the
    Pearson statistic over its degrees of freedom (about 1 without group
    effects), ``null_dispersion`` phi: 1 for exits, sum p(1 - p) / sum p for
    a binary outcome (see the module notes).
    """

    table: pd.DataFrame
    group_col: str
    outcome: str
    case_mix: str
    target: float
    between_variance: float
    dispersion: float
    level: float
    min_clients: int
    n_missing_group: int
    null_dispersion: float = 1.0
    info: dict = field(default_factory=dict)

    @property
    def flagged(self) -> pd.DataFrame:
        """Groups outside the 99.8 % funnel limits (with enough clients)."""
        return self.table[self.table["flag"]]

    def control_limits(self, expected, *, coverages=FUNNEL_COVERAGES) -> pd.DataFrame:
        """Funnel limits of O/E at the given expected counts, one column pair per coverage."""
        expected = np.atleast_1d(np.asarray(expected, dtype=float))
        out = {"expected": expected}
        for cov in coverages:
            low, high = funnel_limits(expected / self.null_dispersion, coverage=cov,
                                      target=self.target)
            tag = _coverage_tag(cov)
            out[f"limit{tag}_low"], out[f"limit{tag}_high"] = low, high
        return pd.DataFrame(out)

    def plot(self, **kwargs):
        """Funnel plot: see :func:`anker.plots.funnel`."""
        from anker.plots.coach import funnel

        return funnel(self, **kwargs)

    def __repr__(self) -> str:
        t = self.table
        return (f"CoachOutcome({len(t)} groups by {self.group_col!r}; outcome: {self.outcome}; "
                f"O={t['observed'].sum():.0f}, E={t['expected'].sum():.1f}; "
                f"{int(t['flag'].sum())} outside the 99.8 % limits; "
                f"{int(t['too_small'].sum())} too small; tau2={self.between_variance:.4f})")


# ---- the entry point ----------------------------------------------------------------------
def outcome_by_coach(df: pd.DataFrame, group_col: str = "coach_id", case_mix=None, *,
                     horizon: float | None = 365, min_clients: int = 20,
                     level: float = 0.95, target: float | None = None) -> CoachOutcome:
    """Observed against case-mix expected outcomes per coach (or office, or any group).

    Parameters
    ----------
    df : DataFrame
        One row per client (spell) with ``group_col``, the case-mix model's
        features and its outcome columns.
    group_col : str
        Column with the coach (or office) of each client. Rows without a
        label are left out and counted (warning).
    case_mix : BenefitDurationTest or LabourMarketTest (any fitted logistic test)
        Fitted case-mix model, not using ``group_col`` as a feature. With a
        survival test the outcome is exits within ``horizon``; with a
        logistic test the model's 0/1 ``outcome_col``.
    horizon : float or None, keyword-only
        Survival case mix only: count exits up to this many calendar days
        (None: the whole follow-up).
    min_clients : int, keyword-only
        Groups with fewer clients are reported with ``too_small=True``.
    level : float, keyword-only
        Coverage of the O/E CI and of the shrunken interval.
    target : float, optional, keyword-only
        Centre of the funnel and null value of ``z``; default the overall
        ratio sum O / sum E of the groups that are not too small (1 for a
        case-mix model fitted on these data). Give 1.0 to judge against
        the case-mix model's own standard (e.g. one fitted on another cohort).

    Returns
    -------
    CoachOutcome

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=4_000, seed=3).data
    >>> df = df[df["cohort"] == "coaching_2007"]
    >>> bd = anker.BenefitDurationTest().fit(df)
    >>> res = anker.outcome_by_coach(df, group_col="coach_id", case_mix=bd)
    >>> res.info["overall_ratio"] == res.target
    True
    >>> round(res.target, 3)
    1.0
    >>> by_office = anker.outcome_by_coach(df, group_col="office", case_mix=bd)
    >>> by_office.table.index.name
    'office'
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df: client_expected a pandas DataFrame, got {type(df).__name__}")
    if not isinstance(group_col, str):
        raise TypeError(f"group_col: give one column name, got {type(group_col).__name__}")
    _check_level(level)
    if isinstance(min_clients, bool) or not isinstance(min_clients, (int, np.integer)) \
            or min_clients < 1:
        raise ValueError(f"min_clients must be a whole number >= 1, got {min_clients!r}")
    if target is not None and (not np.isfinite(target) or target <= 0):
        raise ValueError(f"target must be a positive ratio or None, got {target!r}")
    client_observed, client_expected, client_null_variance, outcome = _per_client(
        df, group_col, case_mix, horizon)

    labels = df[group_col]
    missing = labels.isna().to_numpy() | (labels.astype(str).str.strip() == "").to_numpy()
    n_missing = int(missing.sum())
    if n_missing:
        warnings.warn(f"{group_col}: {n_missing} row(s) without a group label left out "
                      f"({n_missing / len(df):.1%} of the rows)", UserWarning, stacklevel=2)
    if n_missing == len(df):
        raise AnkerDataError(f"{group_col}: no row has a group label", columns=[group_col])
    codes, groups = pd.factorize(labels[~missing], sort=True)
    k = len(groups)
    n = np.bincount(codes, minlength=k).astype(float)
    observed = np.bincount(codes, weights=client_observed[~missing], minlength=k)
    expected = np.bincount(codes, weights=client_expected[~missing], minlength=k)
    too_small = n < min_clients
    if too_small.all():
        warnings.warn(f"every group has fewer than min_clients={min_clients} clients: the "
                      "overall ratio and the between-group variance use all groups",
                      UserWarning, stacklevel=2)
    fit_mask = ~too_small if (~too_small).any() else np.ones(k, bool)
    fit_mask &= expected > 0
    if not fit_mask.any():
        raise AnkerDataError("expected counts are 0 in every group: no follow-up to compare",
                             columns=[group_col])
    overall = float(observed[fit_mask].sum() / expected[fit_mask].sum())
    centre = overall if target is None else float(target)
    # quasi-Poisson: Var(O) = phi * E under the case-mix model; phi = 1 for exits
    # (a Poisson count), sum p(1 - p) / sum p for a binary outcome; every
    # interval and limit is computed on the scaled counts O / phi, E / phi
    phi = 1.0
    if client_null_variance is not None:
        phi = float(client_null_variance[~missing].sum() / client_expected[~missing].sum())
    observed_scaled, expected_scaled = observed / phi, expected / phi

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = observed / expected
        z = (observed - centre * expected) / np.sqrt(phi * centre * expected)
    low, high = oe_confidence_interval(observed_scaled, expected_scaled, level=level)
    eb = gamma_poisson_shrinkage(observed_scaled, expected_scaled, level=level, mean=overall,
                                 fit_mask=fit_mask)
    table = pd.DataFrame({
        "n_clients": n.astype(int), "observed": observed, "expected": expected,
        "raw_rate": observed / n, "expected_rate": expected / n,
        "oe_ratio": ratio, "oe_ci_low": low, "oe_ci_high": high,
        "shrunken_oe": eb["shrunken"], "shrunken_ci_low": eb["ci_low"],
        "shrunken_ci_high": eb["ci_high"], "shrinkage_weight": eb["weight"], "z": z,
    }, index=pd.Index(groups, name=group_col))
    for cov in FUNNEL_COVERAGES:
        lo, hi = funnel_limits(expected_scaled, coverage=cov, target=centre)
        tag = _coverage_tag(cov)
        table[f"limit{tag}_low"], table[f"limit{tag}_high"] = lo, hi
        table[f"outside_{tag}"] = (ratio < lo) | (ratio > hi)
    table["too_small"] = too_small
    table["flag"] = table["outside_998"] & ~too_small
    table.attrs.update({"outcome": outcome, "case_mix": type(case_mix).__name__,
                        "overall_ratio": overall, "target": centre, "null_dispersion": phi})
    return CoachOutcome(
        table=table, group_col=group_col, outcome=outcome, case_mix=type(case_mix).__name__,
        target=centre, between_variance=eb["tau2"], dispersion=eb["dispersion"],
        level=float(level), min_clients=int(min_clients), n_missing_group=n_missing,
        null_dispersion=phi,
        info={"overall_ratio": overall, "horizon": horizon,
              "shrinkage": "gamma-Poisson empirical Bayes, between-group variance by the "
                           "method of moments (Pearson / DerSimonian-Laird), truncated at 0",
              "intervals": "exact Poisson (Garwood) for O given E" if phi == 1.0 else
                           "quasi-Poisson: exact Poisson on O/phi given E/phi, "
                           f"phi = sum p(1-p) / sum p = {phi:.3f}"})


# ---- per-client observed and expected -----------------------------------------------------
def _per_client(df: pd.DataFrame, group_col: str, case_mix, horizon):
    if case_mix is None:
        raise TypeError("case_mix: give a fitted BenefitDurationTest or LabourMarketTest "
                        "as the case-mix model")
    if not isinstance(case_mix, (BenefitDurationTest, LogisticAssessment)):
        raise TypeError("case_mix: expected a fitted BenefitDurationTest or a logistic test "
                        f"such as LabourMarketTest, got {type(case_mix).__name__}")
    if not case_mix.is_fitted:
        raise ValueError(f"case_mix: {type(case_mix).__name__} is not fitted yet: "
                         "call fit(df) first")
    if group_col in case_mix.features:
        raise ValueError(f"case_mix uses {group_col!r} as a feature: it would explain the "
                         "very differences between groups that are to be compared")
    if isinstance(case_mix, BenefitDurationTest):
        outcome_cols = [case_mix.duration_col, case_mix.event_col]
    else:
        outcome_cols = [case_mix.outcome_col]
    require_columns(df, [group_col, *outcome_cols, *case_mix.features],
                    role="outcome_by_coach")
    if len(df) == 0:
        raise AnkerDataError("df has no rows", columns=[])
    values = {c: _numeric(df, c) for c in outcome_cols}
    X = case_mix._design(df)
    if isinstance(case_mix, LogisticAssessment):
        y = values[case_mix.outcome_col]
        _check_binary(y, case_mix.outcome_col)
        p = case_mix.predict_proba(df, X=X).to_numpy()
        return y, p, p * (1 - p), case_mix.outcome_col

    durations = values[case_mix.duration_col]
    events = values[case_mix.event_col]
    _check_binary(events, case_mix.event_col)
    if (durations < 0).any():
        raise AnkerDataError(f"{case_mix.duration_col}: {int((durations < 0).sum())} negative "
                             "duration(s)", columns=[case_mix.duration_col])
    if horizon is None:
        follow = durations
        outcome = f"exits ({case_mix.event_col})"
    else:
        if not np.isfinite(horizon) or horizon <= 0:
            raise ValueError(f"horizon must be a positive number of calendar days or None, "
                             f"got {horizon!r}")
        follow = np.minimum(durations, float(horizon))
        outcome = f"exits within {horizon:g} calendar days"
    beyond = int((follow > case_mix.max_follow_up_).sum())
    if beyond and case_mix.model == "cox":
        warnings.warn(f"{beyond} row(s) followed beyond the case-mix model's longest follow-up "
                      f"({case_mix.max_follow_up_:g} days): a Cox baseline is flat there, so "
                      "their expected exits are too low", UserWarning, stacklevel=3)
    observed = events * (durations <= follow)
    return observed, _cumulative_hazard_at(case_mix, X, follow), None, outcome


def _cumulative_hazard_at(bd: BenefitDurationTest, X: np.ndarray, times: np.ndarray) -> np.ndarray:
    """H(t_i | x_i), each row at its own time: exp(lp_i) times the baseline at t_i."""
    fit = bd.fit_
    relative = np.exp(fit.linear_predictor(X))
    if bd.model == "weibull":
        return relative * np.power(times, fit.shape)
    idx = np.searchsorted(fit.baseline_times, times, side="right") - 1
    return relative * np.where(idx >= 0, fit.baseline_cumhaz[np.maximum(idx, 0)], 0.0)


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise AnkerDataError(f"{col}: {int(bad.sum())} missing or non-numeric value(s)",
                             columns=[col])
    return values


def _check_binary(values: np.ndarray, col: str) -> None:
    if not np.isin(values, (0, 1)).all():
        raise AnkerDataError(f"{col}: values other than 0/1", columns=[col])
