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

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from anker.distributed import NaiveComparison, compare_cohorts_dask, is_dask_frame
from anker.errors import AnkerDataError
from anker.models.design import DesignSpec
from anker.outcome.balance import balance_table, weighting_outputs
from anker.outcome.checks import OverlapWarning, check_inputs, propensity_guard
from anker.outcome.competing import competing_exits
from anker.outcome.estimators import estimate_all
from anker.outcome.inference import estimates_table
from anker.outcome.naive import compare_naive
from anker.outcome.options import (
    check_trim,
    entitlement_note,
    ph_note,
    positivity_note,
    resolve_options,
    trim_note,
    unobserved_note,
)
from anker.outcome.ph_test import zph_score_test
from anker.outcome.propensity import HingeBasis
from anker.outcome.summary import ComparisonSummary, build_summary
from anker.outcome.tables import cohort_rmst_table, hazard_ratio_table
from anker.schema import COMPARISON_COVARIATES, PROTECTED, TimeUnit, resolve_time_unit
from anker.survival import logrank_test

__all__ = ["compare_cohorts", "CohortComparison", "DEFAULT_COVARIATES", "METHODS", "OverlapWarning"]

METHODS = ("naive", "gcomp", "iptw", "aipw", "did", "did_adjusted")
# the inflow covariates; never the protected attributes unless a user lists them
DEFAULT_COVARIATES = COMPARISON_COVARIATES


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
    ph_test : test of proportional hazards per term and GLOBAL, R's current ``cox.zph``
        (score test, km transform with S(t-)).
    weights : Series of ATT weight diagnostics (None without a propensity model).
    propensity_fit : how the weights were fitted: ``"balance"`` (entropy balancing)
        or ``"logistic"`` (maximum likelihood; also where balance did not exist).
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
    estimand: str = "att"
    outcome: str = "time_on_benefit"
    outcome_model: str = "per_cohort"
    censoring: str = "cox"
    entitlement_col: str | None = None
    competing: Any = None
    propensity_fit: str = "logistic"
    time_unit: TimeUnit = field(default_factory=resolve_time_unit)
    entitlement_other_col: str | None = None

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
    propensity: str = "auto",
    estimand: str = "att",
    outcome: str = "auto",
    outcome_model: str = "per_cohort",
    censoring: str = "cox",
    entitlement_col: str | None = None,
    entitlement_other_col: str | None = None,
    exit_reason_col: str | None = "exit_reason",
    trim: float | None = None,
    time_unit: str | float | TimeUnit = "day",
    reference_levels: dict[str, Any] | None = None,
    estimators: str = "all",
) -> CohortComparison | NaiveComparison:
    """Compare two cohorts on restricted mean time on benefit up to ``horizon``.

    Parameters
    ----------
    df : DataFrame, one row per benefit spell. A ``dask.dataframe.DataFrame`` is
        compared where its partitions lie (`anker.distributed.compare_cohorts_dask`):
        ``method="naive"`` from counts per (cohort, day), ``method="gcomp"`` adds the
        g-computation estimate from per-partition sums (time on benefit, one Cox
        model per cohort, normal interval); the weighting estimators need the rows
        in memory.
    cohort_col : column naming each spell's cohort; exactly two values unless
        ``cohorts`` names the pair to compare (other rows are then left out, with a warning).
    reference : the reference cohort (subtracted). Default: ``cohorts[0]``, else
        ``"casemanagement_2004"`` when present. A label matches a cohort's value or,
        failing that, the one value with its text or number: ``"0"`` names the
        cohort 0 of a 0/1 column, as ``--reference 0`` does (also in ``cohorts``).
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
        The Cox outcome and censoring models use the covariates as they are.
    propensity : how the weights are fitted on those terms: ``"balance"``
        (entropy balancing: the weighted reference cohort has exactly the other
        cohort's mean of every term; consistent when the odds are log-linear in
        the terms or the reference outcome is linear in them; ATT only),
        ``"logistic"`` (maximum likelihood) or ``"auto"`` (default: balance for
        the ATT, logistic for the ATE and overlap weights). Where exact balance
        does not exist the logistic weights stand in and a note says so.
    estimand : ``"att"`` (the other cohort's own gain) or ``"ate"`` (averaged
        over both cohorts).
    outcome : ``"paid_days"`` (E[min(T, entitlement, horizon)], the calendar days
        actually paid: what `anker.cost_benefit` prices), ``"time_on_benefit"``
        (E[min(T, horizon)], T the latent time on benefit, entitlement end
        censors; iptw cannot estimate it for spells whose entitlement ends before
        the horizon, and a note says so) or ``"auto"`` (default): paid days when
        the data hold the entitlement column (``entitlement_col``), else time on benefit.
    outcome_model : ``"per_cohort"`` (one Cox model per cohort: no
        proportional hazards between the cohorts) or ``"pooled"`` (one Cox
        model with the cohort as a term, as R's ``riskRegression::ate``).
    censoring : the censoring model of the weighting estimators: ``"cox"``
        (censoring hazard on the covariates, per cohort) or ``"km"``
        (Kaplan-Meier of censoring per cohort).
    entitlement_col : entitlement in calendar days, needed for ``"paid_days"``
        (default ``"entitlement_days"``).
    entitlement_other_col : each reference spell's entitlement (calendar days) under
        the other cohort's rules, computed from its work history (default
        ``"entitlement_days_other_rules"`` when present). With it, iptw and aipw
        on paid days (ATT) end the weighted reference spells where the other
        cohort's would; without it, where entitlement rules differ for the same
        covariates (a reform), iptw prices the reference cohort's own rules (a note says so).
    trim : truncate the propensity to [trim, 1 - trim] in the weights (e.g. 0.01); the
        summary notes how many spells it touched. ``estimand="overlap"`` instead
        weights by e (1 - e) (the population where the cohorts overlap).
    exit_reason_col : column of exit kinds (``work``, ``exhausted``, ``other``,
        ``censored``); when present, ``competing`` holds exits to work as a
        competing exit (None: leave it out).
    time_unit : ``"day"`` (default), ``"week"``, ``"month"`` (30.4375 days),
        ``"year"`` or a number of calendar days per unit (``14``: two-week
        periods). Durations, the horizon and every RMST are in this unit; the
        benefit-day figures convert through it (days per unit x 261/365), and
        the summary names it.
    reference_levels : optional dict, the reference level per categorical
        covariate (``{"ui": "no"}``); by default a ``CategoricalDtype``'s first
        category, else as `anker.models.design` chooses.
    estimators : ``"all"`` (default) or ``"naive"``: the naive comparison alone, from counts
        per (cohort, duration) as on a Dask frame (`anker.outcome.naive`).

    Returns
    -------
    CohortComparison (`anker.distributed.NaiveComparison` for ``estimators="naive"``)

    Notes
    -----
    Estimand (all adjusted methods), for the ATT: E[Y(other) | other cohort]
    minus E[Y(reference regime) | other cohort], Y = min(T, h) or, for paid
    days, min(T, entitlement, h); for the ATE the same over both cohorts.
    What each method assumes (all: no unmeasured confounding):

    - ``naive``: Kaplan-Meier difference; assumes the cohorts are comparable
      (no business cycle, no composition change) and censoring independent.
    - ``gcomp``: Cox outcome model per cohort (or pooled), Efron ties,
      averaged over the target population under each regime; assumes the
      outcome model; it handles censoring that depends on the covariates and
      extrapolates beyond entitlement end with the model.
    - ``iptw``: treatment weights (entropy balancing for the ATT, logistic
      propensity otherwise: ``propensity=``) times inverse probability of
      censoring weights (the censoring model); assumes the propensity and
      censoring models and overlap.
    - ``aipw``: the augmented IPCW estimator (Bai, Tsiatis & O'Brien 2013;
      Zhang & Schaubel 2012): consistent when the outcome model is right, or
      when the propensity and censoring models are right.
    - ``did``: (other - reference) in the treated group minus the same in the
      comparison group, unadjusted Kaplan-Meier; assumes parallel trends in RMST.
    - ``did_adjusted``: the same with each of the four cells standardised to
      the other cohort's treated group by a Cox model per cell
      (`anker.outcome.did`).

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
    if is_dask_frame(df):  # naive only, from counts per (cohort, day): anker.distributed
        return compare_cohorts_dask(df, **{k: v for k, v in locals().items() if k != "df"})
    if estimators != "all":  # "naive": from counts per (cohort, duration), no model
        return compare_naive(**locals())
    unit = resolve_time_unit(time_unit)
    checked = check_inputs(
        df, cohort_col=cohort_col, reference=reference, cohorts=cohorts,
        duration_col=duration_col, event_col=event_col,
        covariates=DEFAULT_COVARIATES if covariates is None else covariates,
        horizon=horizon, method=method, n_boot=n_boot, level=level,
        comparison_col=comparison_col, cluster_col=cluster_col, methods=METHODS, time_unit=unit,
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

    basis = HingeBasis.learn(X, knots=propensity_knots)  # a matrix only while the fit runs

    trim = check_trim(trim)
    opts = resolve_options(data, horizon=horizon, estimand=estimand, outcome=outcome,
                           outcome_model=outcome_model, censoring=censoring,
                           entitlement_col=entitlement_col, days_per_unit=unit.days,
                           propensity=propensity, entitlement_other_col=entitlement_other_col,
                           reference_rows=A == 0)
    other_rules = opts.tau_reference is not None and opts.estimand == "att"
    if opts.tau_reference is not None and not other_rules:
        notes.append(f"{opts.entitlement_other_col!r} (entitlement under the other cohort's rules) "
                     "is used for the ATT only; this estimand prices each cohort's own rules")

    run = partial(estimate_all, durations, events, A, X, horizon,
                  propensity_design=basis, estimand=opts.estimand,
                  outcome_model=opts.outcome_model, censoring=opts.censoring,
                  tau=opts.tau, trim=trim, propensity=opts.propensity,
                  tau_reference=opts.tau_reference if other_rules else None)
    est = propensity_guard(run, method=method, A=A, X=X, terms=terms, notes=notes)
    del run, basis
    X_all = None if checked.all_data is None else spec.transform(checked.all_data)
    estimates, replicates = estimates_table(est, checked, n_boot=n_boot, seed=seed, level=level,
                                            km_door=not opts.paid_days, X_all=X_all)
    if method not in estimates.index:
        raise AnkerDataError(f"method={method!r} could not be computed on these data")
    for col in ("estimate", "ci_low", "ci_high"):  # benefit days per unit of the durations
        estimates[f"{col}_benefit_days"] = estimates[col] * unit.benefit_days_per_unit

    # ----------------------------------------------------------------- per cohort, tests, Cox
    rmst_table = cohort_rmst_table(durations, events, A, horizon, labels=(checked.reference, checked.other),
                                   cohort_col=cohort_col, level=level)
    logrank = logrank_test(durations, events, A)
    cox = est.cox_fit
    cox_names = [f"{cohort_col}[{checked.other}]"] + list(terms)
    cox_table = hazard_ratio_table(cox.coef, cox.se, cox_names, level=level)
    ph = zph_score_test(cox, (A, X), durations, events, names=cox_names)  # (A, X) unstacked
    for note in (ph_note(ph, opts.outcome_model), positivity_note(est.min_censoring_survival),
                 trim_note(trim, est.propensity),
                 unobserved_note(data, opts.entitlement_col, horizon, unit.days, opts.outcome),
                 entitlement_note(opts.tau, A, est.att_weights if opts.estimand == "att" else None,
                                  horizon, opts.outcome, other_rules),
                 *est.notes):
        if note:
            notes.append(note)
    competing = None
    if exit_reason_col is not None and exit_reason_col in data.columns:
        competing = competing_exits(data[exit_reason_col], durations, events, A, X, horizon,
                                    reference=checked.reference, other=checked.other,
                                    estimand=opts.estimand, level=level, cluster=checked.cluster)

    weights, propensity, att_weights = weighting_outputs(est, A, data.index, method, notes)
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
        estimand=opts.estimand, outcome=opts.outcome, outcome_model=opts.outcome_model,
        censoring=opts.censoring, entitlement_col=opts.entitlement_col, competing=competing,
        propensity_fit=est.propensity_kind or opts.propensity,
        time_unit=unit, entitlement_other_col=opts.entitlement_other_col if other_rules else None,
    )
