"""Outcome model: compare a reference cohort (casemanagement 2004) with another (coaching 2007).

`compare_cohorts` reports, per cohort, Kaplan-Meier RMST up to a horizon; a
log-rank test; a Cox hazard ratio for the cohort with a proportional-hazards
check; and the RMST difference, other cohort minus reference, by four
estimators (``naive``, ``gcomp``, ``iptw``, ``aipw``; ``did`` with a
comparison group), each with a bootstrap CI, in calendar and benefit days.

The estimand of the adjusted estimators is the effect on the treated (ATT):
the restricted mean time on benefit of the other (coaching) cohort minus what
the same people would have had under the reference regime. The estimators and
the assumptions each rests on are in `anker.outcome.estimators`; the
bootstrap is fast because KM depends on the data only through counts per
(cohort, day, event) cell (one multinomial draw per replicate) and the
adjusted estimators are asymptotically linear (one weighted sum of
influence values per replicate, see `anker.survival.bootstrap.multiplier_bootstrap`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from anker.errors import AnkerDataError
from anker.models.design import DesignSpec
from anker.outcome.balance import balance_table, weight_diagnostics
from anker.outcome.checks import OverlapWarning, check_inputs, propensity_guard
from anker.outcome.cox_functionals import proportional_hazards_test
from anker.outcome.estimators import cox_design, estimate_all, propensity_basis
from anker.outcome.inference import estimates_table
from anker.outcome.summary import ComparisonSummary, build_summary
from anker.schema import PROTECTED, TimeUnit, resolve_time_unit
from anker.survival import logrank_test, rmst

__all__ = ["compare_cohorts", "CohortComparison", "DEFAULT_COVARIATES", "METHODS", "OverlapWarning"]

METHODS = ("naive", "gcomp", "iptw", "aipw", "did")
# the inflow covariates; never the protected attributes unless a user lists them
DEFAULT_COVARIATES = (
    "age", "education", "occupation_group", "sector", "work_history_years", "daily_wage",
    "prior_spells", "prior_sanctions", "culpable_dismissal", "registration_lag_days",
    "health_limitation", "tightness", "unemployment_rate",
)
# below this effective sample size share the weighting estimators are flagged
_LOW_ESS_SHARE = 0.10


@dataclass(frozen=True, repr=False)
class CohortComparison:
    """Result of `compare_cohorts`. Durations in ``time_unit`` (calendar days by default) unless
    named ``*_benefit_days``.

    Attributes
    ----------
    method : the chosen estimator; ``rmst_difference``, ``ci``, ``se`` and
        ``boot_differences`` belong to it.
    rmst_difference : other cohort minus reference (< 0: shorter on benefit).
    ci : (low, high) at ``level``.
    rmst_difference_benefit_days, ci_benefit_days : the same x 261/365.
    boot_differences : bootstrap replicates of the chosen difference, or None.
    rmst : DataFrame per cohort (Kaplan-Meier, unadjusted): n, events, rmst, se, ci_low, ci_high.
    estimates : DataFrame indexed by method: estimate, se, ci_low, ci_high, the same
        in benefit days, rmst_other and rmst_reference (the counterfactual under
        the reference regime for the adjusted methods).
    replicates : DataFrame (n_boot x method) of bootstrap replicates, or None.
    logrank : LogrankResult; ``logrank_p`` its p-value.
    hazard_ratio, hazard_ratio_ci : Cox hazard ratio of leaving benefit, other vs
        reference, adjusted for the covariates (> 1: faster exit).
    cox : DataFrame of every Cox term: coef, se, hazard_ratio, ci_low, ci_high, p.
    ph_test : Schoenfeld test of proportional hazards per term and GLOBAL.
    weights : Series of ATT weight diagnostics (None without a propensity model).
    balance : DataFrame of standardised mean differences before and after weighting.
    propensity, att_weights : Series on the analysed rows' index.
    curves : what `plot` draws: Kaplan-Meier per cohort and the g-computation
        curves of the other cohort under both regimes.
    notes : warnings raised during the comparison, in words.
    """

    method: str
    horizon: float
    level: float
    reference: Any
    other: Any
    cohort_col: str
    covariates: tuple[str, ...]
    terms: tuple[str, ...]
    rmst_difference: float
    ci: tuple[float, float]
    se: float
    boot_differences: np.ndarray | None
    rmst: pd.DataFrame
    estimates: pd.DataFrame
    replicates: pd.DataFrame | None
    logrank: Any
    hazard_ratio: float
    hazard_ratio_ci: tuple[float, float]
    cox: pd.DataFrame
    ph_test: pd.DataFrame
    weights: pd.Series | None
    balance: pd.DataFrame
    propensity: pd.Series | None
    att_weights: pd.Series | None
    curves: dict = field(default_factory=dict)
    n_boot: int = 0
    notes: tuple[str, ...] = ()
    comparison_col: str | None = None
    cluster_col: str | None = None
    time_unit: TimeUnit = field(default_factory=resolve_time_unit)

    @property
    def logrank_p(self) -> float:
        """p-value of the unadjusted log-rank test of the two cohorts."""
        return float(self.logrank.p_value)

    @property
    def rmst_difference_benefit_days(self) -> float:
        """The chosen difference in benefit (working) days: x days per time unit x 261/365."""
        return self.rmst_difference * self.time_unit.benefit_days_per_unit

    @property
    def ci_benefit_days(self) -> tuple[float, float]:
        factor = self.time_unit.benefit_days_per_unit
        return (self.ci[0] * factor, self.ci[1] * factor)

    @property
    def summary(self) -> ComparisonSummary:
        """The referee's table: estimand, per-method estimates, sizes, tests and caveats."""
        return build_summary(self)

    def plot(self, **kwargs: Any):
        """Kaplan-Meier curves per cohort and the adjusted counterfactual curve; see `anker.plots.survival_curves`."""
        from anker.plots.cohort_curves import survival_curves

        return survival_curves(self, **kwargs)

    def __repr__(self) -> str:
        return str(self.summary)

    def _repr_html_(self) -> str:
        return self.summary._repr_html_()


def compare_cohorts(
    df: pd.DataFrame,
    *,
    cohort_col: str = "cohort",
    reference: Any = None,
    cohorts: Sequence[Any] | None = None,
    duration_col: str = "duration_days",
    event_col: str = "exited",
    covariates: Sequence[str] | None = None,
    horizon: float = 365,
    method: str = "aipw",
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = 0,
    level: float = 0.95,
    comparison_col: str | None = None,
    cluster_col: str | None = None,
    propensity_knots: int = 3,
    time_unit: str | float | TimeUnit = "day",
    reference_levels: dict[str, Any] | None = None,
) -> CohortComparison:
    """Compare two cohorts on restricted mean time on benefit up to ``horizon``.

    Parameters
    ----------
    df : DataFrame, one row per benefit spell.
    cohort_col : column naming each spell's cohort; exactly two values unless
        ``cohorts`` names the pair to compare (other rows are then left out, with a warning).
    reference : the reference cohort (subtracted). Default: ``cohorts[0]``, else
        ``"casemanagement_2004"`` when present.
    cohorts : optional pair ``(reference, other)``.
    duration_col : spell length (>= 0), in ``time_unit`` (calendar days by default).
    event_col : 1 when the spell ended (an exit), 0 when censored (entitlement
        end, data end).
    covariates : columns adjusted for; default `DEFAULT_COVARIATES` (the inflow
        covariates; protected attributes only when listed explicitly).
    horizon : RMST horizon, in ``time_unit``; at most the follow-up of each cohort.
    method : the estimator reported as ``rmst_difference``: ``"naive"``,
        ``"gcomp"``, ``"iptw"``, ``"aipw"`` or ``"did"`` (needs ``comparison_col``).
        All available estimators are computed and listed in ``estimates``.
    n_boot : bootstrap replicates (0: normal intervals from the influence-function SE).
    seed : seed of the bootstrap; the result is identical per seed.
    level : confidence level.
    comparison_col : optional 0/1 column marking a comparison group that did
        not get the other regime; it gives ``did``, the difference in differences
        of Kaplan-Meier RMST, and is left out of the other estimators.
    cluster_col : optional column of clusters whose spells are not independent
        (``"coach_id"``: a coach's own effect is shared by the caseload;
        ``"office"``): the bootstrap then resamples whole clusters.
    propensity_knots : knots of the piecewise-linear spline of each continuous
        covariate in the propensity model (at quantiles; 0: linear terms only).
        The Cox outcome model always uses the covariates as they are.
    time_unit : ``"day"`` (default), ``"week"``, ``"month"`` (30.4375 days),
        ``"year"`` or a number of calendar days per unit (``14``: two-week
        periods). Durations, the horizon and every RMST are in this unit; the
        benefit-day figures convert through it (days per unit x 261/365), and
        the summary names it.
    reference_levels : optional dict, the reference level per categorical
        covariate (``{"ui": "no"}``); by default a ``CategoricalDtype``'s first
        category, else as `anker.models.design` chooses.

    Returns
    -------
    CohortComparison

    Notes
    -----
    Estimand (all adjusted methods): the ATT, E[min(T, h) | other cohort] minus
    E[min(T(reference regime), h) | other cohort]. What each method assumes:

    - ``naive``: Kaplan-Meier difference; assumes the cohorts are comparable
      (no business cycle, no composition change) and censoring independent.
    - ``gcomp``: Cox model (cohort + covariates, Efron ties) averaged over the
      other cohort with the cohort set to each regime; assumes the Cox model
      (proportional hazards, log-linear covariates) and no unmeasured
      confounding; it handles censoring that depends on the covariates
      (entitlement end depends on work history and, after the 2006 reform, was
      shortened) and extrapolates beyond entitlement end with the model.
    - ``iptw``: Kaplan-Meier of the other cohort against the reference
      weighted by e/(1-e) (logistic propensity); assumes the propensity model,
      overlap, and censoring independent of the covariates within each cohort.
      Under limited overlap its CI is not trustworthy (see ``weights``).
    - ``aipw``: g-computation plus the ATT-weighted residuals of the outcomes
      completed by the model after censoring; consistent when the Cox model is
      right, and repairs a wrong Cox model over the observed part of the spells
      when the propensity model is right.
    - ``did``: (other - reference) in the treated group minus the same in the
      comparison group; assumes parallel trends in RMST.

    Examples
    --------
    >>> import anker
    >>> pop = anker.simulate_population(n_per_cohort=1_500, seed=1)
    >>> cmp = anker.compare_cohorts(pop.data, reference="casemanagement_2004",
    ...                             covariates=["age", "tightness", "unemployment_rate"],
    ...                             method="gcomp", n_boot=200, seed=0)
    >>> list(cmp.estimates.index)
    ['naive', 'gcomp', 'iptw', 'aipw']
    >>> cmp.ci[0] < cmp.rmst_difference < cmp.ci[1]
    True
    """
    unit = resolve_time_unit(time_unit)
    checked = check_inputs(
        df, cohort_col=cohort_col, reference=reference, cohorts=cohorts,
        duration_col=duration_col, event_col=event_col,
        covariates=DEFAULT_COVARIATES if covariates is None else covariates,
        horizon=horizon, method=method, n_boot=n_boot, level=level,
        comparison_col=comparison_col, cluster_col=cluster_col, methods=METHODS,
    )
    data, A, durations, events = checked.data, checked.A, checked.durations, checked.events
    horizon, n_boot, notes = checked.horizon, checked.n_boot, list(checked.notes)
    spec = DesignSpec.learn(data, checked.covariates, reference_levels=reference_levels)
    X = spec.transform(data)
    terms = spec.term_names
    checked.check_design(X, terms)
    protected = [c for c in checked.covariates if c in PROTECTED]
    if protected:
        # allowed for a comparison (composition, not profiling), but on the record
        notes.append(f"adjusted for protected attribute(s) {protected}, as listed in covariates")

    basis = propensity_basis(X, knots=propensity_knots)

    def run(*, weighting: bool):
        return estimate_all(durations, events, A, X, horizon, weighting=weighting,
                            propensity_design=basis)

    est = propensity_guard(run, method=method, A=A, X=X, terms=terms, notes=notes)
    estimates, replicates = estimates_table(est, checked, n_boot=n_boot, seed=seed, level=level)
    if method not in estimates.index:
        raise AnkerDataError(f"method={method!r} could not be computed on these data")
    for col in ("estimate", "ci_low", "ci_high"):  # benefit days per unit of the durations
        estimates[f"{col}_benefit_days"] = estimates[col] * unit.benefit_days_per_unit

    # ----------------------------------------------------------------- per cohort, tests, Cox
    z = stats.norm.ppf(0.5 + level / 2)
    per_cohort = {}
    for label, a in ((checked.reference, 0), (checked.other, 1)):
        member = A == a
        value, se = rmst(durations[member], events[member], horizon)
        per_cohort[label] = {"n": int(member.sum()),
                             "events": int(((events == 1) & (durations <= horizon) & member).sum()),
                             "rmst": value, "se": se, "ci_low": value - z * se, "ci_high": value + z * se}
    rmst_table = pd.DataFrame.from_dict(per_cohort, orient="index")
    rmst_table.index.name = cohort_col
    logrank = logrank_test(durations, events, A)

    cox = est.cox_fit
    cox_names = [f"{cohort_col}[{checked.other}]"] + list(terms)
    cox_table = pd.DataFrame({"coef": cox.coef, "se": cox.se}, index=pd.Index(cox_names, name="term"))
    cox_table["hazard_ratio"] = np.exp(cox_table["coef"])
    cox_table["ci_low"] = np.exp(cox_table["coef"] - z * cox_table["se"])
    cox_table["ci_high"] = np.exp(cox_table["coef"] + z * cox_table["se"])
    cox_table["p"] = 2 * stats.norm.sf(np.abs(cox_table["coef"] / cox_table["se"]))
    ph = proportional_hazards_test(cox, cox_design(A, X), durations, events, names=cox_names)

    weights = propensity = att_weights = None
    if est.att_weights is not None:
        weights = weight_diagnostics(est.att_weights[A == 0], est.propensity, A)
        propensity = pd.Series(est.propensity, index=data.index, name="propensity")
        att_weights = pd.Series(est.att_weights, index=data.index, name="att_weight")
        if weights["ess_share"] < _LOW_ESS_SHARE:
            message = (f"limited overlap: the weighted reference cohort has an effective sample "
                       f"size of {weights['effective_sample_size']:,.0f} of "
                       f"{int(weights['n_reference']):,} spells ({weights['ess_share']:.1%}); "
                       "the iptw estimate and its CI are not trustworthy, aipw leans on the Cox model")
            notes.append(message)
            if method in ("iptw", "aipw"):
                warnings.warn(message, OverlapWarning, stacklevel=2)
    balance = balance_table(X, terms, A, None if est.att_weights is None else est.att_weights[A == 0])

    chosen = estimates.loc[method]
    reps_frame = pd.DataFrame(replicates) if replicates else None
    return CohortComparison(
        method=method, horizon=horizon, level=level, reference=checked.reference,
        other=checked.other, cohort_col=cohort_col, covariates=tuple(checked.covariates),
        terms=tuple(terms), rmst_difference=float(chosen["estimate"]),
        ci=(float(chosen["ci_low"]), float(chosen["ci_high"])), se=float(chosen["se"]),
        boot_differences=None if method not in replicates else replicates[method].copy(),
        rmst=rmst_table, estimates=estimates, replicates=reps_frame, logrank=logrank,
        hazard_ratio=float(cox_table["hazard_ratio"].iloc[0]),
        hazard_ratio_ci=(float(cox_table["ci_low"].iloc[0]), float(cox_table["ci_high"].iloc[0])),
        cox=cox_table, ph_test=ph, weights=weights, balance=balance, propensity=propensity,
        att_weights=att_weights, curves={"km": est.km, **est.curves}, n_boot=n_boot,
        notes=tuple(notes), comparison_col=comparison_col, cluster_col=cluster_col,
        time_unit=unit,
    )
