"""The main job behind ``anker report`` and ``anker demo``: from records to every result.

:func:`run_job` fits (or takes) the four tests, profiles every client,
compares the cohorts, sets the effect against the IWI 2005 break-even,
audits fairness for the protected attributes and computes the outcome per
coach; :func:`anker.report.write_report` then lays the results out. Each step
reports one line through ``say`` and collects the warnings it raised, so a
command line can show them without a traceback and a notebook can ignore them.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from anker.schema import PROTECTED

__all__ = ["JobResults", "run_job", "AUDITED_TESTS"]

# the tests whose advice falls on people: monitoring intensity and the A/B route
AUDITED_TESTS = ("compliance", "labour_market")


@dataclass
class JobResults:
    """Everything :func:`run_job` computed; the keyword arguments of the report."""

    data: pd.DataFrame
    model: Any
    profiles: pd.DataFrame
    comparison: Any = None
    break_even: Any = None
    cost_benefit: Any = None
    fairness: list[pd.DataFrame] = field(default_factory=list)
    coach_outcome: Any = None
    monitoring: Any = None  # a model fitted on the reference cohort, monitored on the other
    intersectional: list[pd.DataFrame] = field(default_factory=list)
    accuracy_equity: list[pd.DataFrame] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def report_arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`anker.report.build_report` held here."""
        return {"data": self.data, "model": self.model, "profiles": self.profiles,
                "comparison": self.comparison, "break_even": self.break_even,
                "cost_benefit": self.cost_benefit, "fairness": self.fairness,
                "coach_outcome": self.coach_outcome, "monitoring": self.monitoring,
                "intersectional": self.intersectional or None,
                "accuracy_equity": self.accuracy_equity or None}


class _Step:
    """Time a step and keep its warnings (each distinct message once)."""

    def __init__(self, results: JobResults, name: str) -> None:
        self.results, self.name = results, name

    def __enter__(self) -> _Step:
        self._catch = warnings.catch_warnings(record=True)
        self._caught = self._catch.__enter__()
        warnings.simplefilter("always")
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.results.seconds[self.name] = time.perf_counter() - self._start
        self._catch.__exit__(*exc)
        for w in self._caught:
            text = f"{self.name}: {w.message}"
            if text not in self.results.warnings:
                self.results.warnings.append(text)


def run_job(data: pd.DataFrame, *, model=None, cohort_col: str = "cohort", reference=None,
            horizon: float | None = 365, method: str = "aipw", n_boot: int = 1000, seed: int = 0,
            protected: tuple[str, ...] = PROTECTED, coach_col: str = "coach_id",
            say: Callable[[str], None] | None = None, duration_col: str = "duration_days",
            event_col: str = "exited", covariates=None, time_unit="day",
            cluster_col: str | None = "auto", cohorts=None, fit: bool | None = None,
            extrapolate: bool = False, outcome: str = "auto") -> JobResults:
    """Fit, profile, compare, cost-benefit, audit: all results for the report.

    Parameters
    ----------
    data : DataFrame
        One row per benefit spell, two cohorts in ``cohort_col`` (None: no
        cohorts, and no comparison or cost-benefit).
    model : AnkerModel, optional, keyword-only
        A fitted model; when not given (or ``fit=True``: a configured one) it is
        fitted on ``data``.
    reference, horizon, method, n_boot, seed : keyword-only
        Passed to :func:`anker.compare_cohorts` (horizon in ``time_unit``; None:
        365 calendar days in that unit).
    duration_col, event_col, covariates, time_unit, cluster_col, cohorts : keyword-only
        The records' own columns and time unit, passed to :func:`anker.compare_cohorts`.
    extrapolate : bool, keyword-only
        Passed to :meth:`anker.AnkerModel.profile`.
    protected : tuple of str, keyword-only
        Columns to audit the compliance and labour-market tests by (those present).
    coach_col : str, keyword-only
        Outcome per coach is computed for the later cohort when this column is present.
    say : callable, optional, keyword-only
        Called with one line per finished step (e.g. ``print``).

    Returns
    -------
    JobResults

    Examples
    --------
    >>> import anker
    >>> from anker.report.job import run_job
    >>> df = anker.simulate_population(n_per_cohort=1_500, seed=2).data
    >>> res = run_job(df, n_boot=50)
    >>> round(res.break_even.days, 2), len(res.fairness)
    (3.7, 4)
    """
    from anker.costbenefit import BreakEven, cost_benefit
    from anker.fairness import audit_fairness
    from anker.outcome import compare_cohorts
    from anker.outcome.coach import outcome_by_coach
    from anker.outcome.options import resolve_cluster_col
    from anker.profile import AnkerModel
    from anker.schema import resolve_time_unit

    unit = resolve_time_unit(time_unit)
    horizon = float(unit.from_days(365.0)) if horizon is None else horizon
    say = say or (lambda line: None)
    results = JobResults(data=data, model=model, profiles=pd.DataFrame())
    if model is None or fit:
        with _Step(results, "fit") as step:
            results.model = (AnkerModel() if model is None else model).fit(data)
        say(f"fitted the tests ({', '.join(results.model.tests)}) on {len(data):,} records "
            f"({results.seconds[step.name]:.1f} s)")
    elif not isinstance(model, AnkerModel) or not model.is_fitted:
        raise TypeError("model must be a fitted AnkerModel")
    with _Step(results, "profile"):
        results.profiles = results.model.profile(data, extrapolate=extrapolate)
    prof, parts = results.profiles, []
    if "route" in prof:
        routes = prof["route"].value_counts()
        parts.append(f"route A {routes.get('A', 0):,}, route B {routes.get('B', 0):,}")
    if "wwb_flag" in prof:
        parts.append(f"WWB flag {int(prof['wwb_flag'].sum()):,}")
    if missing := prof.attrs.get("not_assessed", []) + list(prof.attrs.get("not_profiled", {})):
        parts.append(f"not assessed: {', '.join(missing)}")
    say(f"profiled {len(data):,} clients: {'; '.join(parts)}")

    results.break_even = BreakEven.iwi_2005()
    if cohort_col is None:
        say("no cohort column: the cohort comparison and its cost-benefit are left out")
    else:
        with _Step(results, "compare") as step:
            cmp = compare_cohorts(data, cohort_col=cohort_col, reference=reference, horizon=horizon,
                                  method=method, n_boot=n_boot, seed=seed, cohorts=cohorts,
                                  duration_col=duration_col, event_col=event_col,
                                  cluster_col=resolve_cluster_col(cluster_col, data, coach_col),
                                  time_unit=unit, outcome=outcome,
                                  **({} if covariates is None else {"covariates": covariates}))
        results.comparison = cmp
        sampled = f"whole {cmp.cluster_col} clusters" if cmp.cluster_col else "spells"
        say(f"compared {cmp.other} with {cmp.reference} ({cmp.method}, {cmp.outcome}, {n_boot:,} "
            f"bootstrap replicates of {sampled}): difference {cmp.rmst_difference:+.2f} "
            f"{unit.label} ({cmp.level:.0%} CI {cmp.ci[0]:+.2f} to {cmp.ci[1]:+.2f}; "
            f"{results.seconds[step.name]:.1f} s)")

        with _Step(results, "cost-benefit"):
            cb = cost_benefit(cmp, results.break_even)
        results.cost_benefit = cb
        say(f"cost-benefit: {cb.days_saved:.2f} benefit days saved per client ({cb.level:.0%} CI "
            f"{cb.ci[0]:.2f} to {cb.ci[1]:.2f}) against a break-even of {cb.break_even_days:.2f}; "
            f"P(> break-even) {cb.p_exceeds_break_even:.2f}; net EUR {cb.net_benefit / 1e6:,.1f} "
            "million a year")

    with _Step(results, "fairness"):
        for name in [n for n in AUDITED_TESTS if n in results.model.tests]:
            for group_col in protected:
                if group_col in data.columns:
                    results.fairness.append(audit_fairness(results.model.tests[name], data,
                                                           group_col))
    flagged = sum(int(a["flagged"].sum()) for a in results.fairness)
    monitored = _accountability(results, data, cohort_col, protected)
    say(f"fairness audit: {len(results.fairness)} audits, {flagged} group(s) with a ratio "
        "outside 0.8-1.25" + monitored)

    bd = results.model.benefit_duration
    if coach_col in data.columns and cohort_col in data.columns and bd is not None \
            and results.comparison is not None:
        later = data[data[cohort_col].astype(str) == str(cmp.other)]
        with _Step(results, "outcome per coach"):
            results.coach_outcome = outcome_by_coach(later, group_col=coach_col,
                                                     case_mix=results.model.benefit_duration)
        t = results.coach_outcome.table
        say(f"outcome per coach ({cmp.other}): {len(t)} coaches, {int(t['flag'].sum())} outside "
            "the 99.8 % funnel limits")
    return results


def _accountability(results: JobResults, data: pd.DataFrame, cohort_col: str | None,
                    protected: tuple[str, ...]) -> str:
    """Would the model, fitted on the reference cohort alone, still hold for the other? And
    the compliance test audited on the intersection of the protected attributes. Returns the
    monitoring's summary, to end the fairness line with. The compliance test's error rates are
    also compared across thresholds (accuracy equity) over the same groups."""
    from anker.errors import AnkerError
    from anker.fairness import accuracy_equity, audit_fairness
    from anker.monitoring.drift import monitor
    from anker.profile import AnkerModel

    line, cmp, model = "", results.comparison, results.model
    if cmp is not None and cohort_col is not None and cohort_col in data.columns:
        cohorts = data[cohort_col].astype(str)
        reference = data[cohorts == str(cmp.reference)]
        later = data[cohorts == str(cmp.other)]
        # the same configuration as the report's model (tests, columns, units), refitted
        unfitted = AnkerModel(**{n: type(t)(**t._config()) for n, t in model.tests.items()},
                              wwb_threshold=model.wwb_threshold, top_factors=model.top_factors,
                              tests=list(model.tests))
        try:
            with _Step(results, "monitoring"):
                results.monitoring = monitor(unfitted.fit(reference), later)
        except (AnkerError, ValueError) as exc:
            results.warnings.append(f"monitoring: left out ({' '.join(str(exc).split())})")
        else:
            advice = results.monitoring.advice["advice"]
            line = (f"; monitoring a model fitted on {cmp.reference} on {cmp.other}: "
                    f"{len(results.monitoring.flags)} flag(s), "
                    + ", ".join(f"{name} {a}" for name, a in advice.items()))
    present = [c for c in protected if c in data.columns]
    if len(present) >= 2 and "compliance" in model.tests:
        with _Step(results, "intersectional audit"):
            results.intersectional.append(audit_fairness(model.tests["compliance"], data,
                                                         present, min_group_size=50))
    if present and "compliance" in model.tests:
        try:
            with _Step(results, "accuracy equity"):
                results.accuracy_equity.append(accuracy_equity(model.tests["compliance"], data,
                                                               present, min_group_size=50))
        except AnkerError as exc:  # every group too small: said, not fatal
            results.warnings.append(f"accuracy equity: left out ({' '.join(str(exc).split())})")
    return line
