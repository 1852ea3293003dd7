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
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def report_arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`anker.report.build_report` held here."""
        return {"data": self.data, "model": self.model, "profiles": self.profiles,
                "comparison": self.comparison, "break_even": self.break_even,
                "cost_benefit": self.cost_benefit, "fairness": self.fairness,
                "coach_outcome": self.coach_outcome, "monitoring": self.monitoring,
                "intersectional": self.intersectional or None}


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
            horizon: float = 365, method: str = "aipw", n_boot: int = 1000, seed: int = 0,
            protected: tuple[str, ...] = PROTECTED, coach_col: str = "coach_id",
            say: Callable[[str], None] | None = None) -> JobResults:
    """Fit, profile, compare, cost-benefit, audit: all results for the report.

    Parameters
    ----------
    data : DataFrame
        One row per benefit spell, two cohorts in ``cohort_col``.
    model : AnkerModel, optional, keyword-only
        A fitted model; fitted on ``data`` when not given.
    reference, horizon, method, n_boot, seed : keyword-only
        Passed to :func:`anker.compare_cohorts` (horizon in calendar days).
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
    from anker.profile import AnkerModel

    say = say or (lambda line: None)
    results = JobResults(data=data, model=model, profiles=pd.DataFrame())
    if model is None:
        with _Step(results, "fit") as step:
            results.model = AnkerModel().fit(data)
        say(f"fitted the four tests on {len(data):,} records "
            f"({results.seconds[step.name]:.1f} s)")
    elif not isinstance(model, AnkerModel) or not model.is_fitted:
        raise TypeError("model must be a fitted AnkerModel")
    with _Step(results, "profile"):
        results.profiles = results.model.profile(data)
    routes = results.profiles["route"].value_counts()
    say(f"profiled {len(data):,} clients: route A {routes.get('A', 0):,}, route B "
        f"{routes.get('B', 0):,}; WWB flag {int(results.profiles['wwb_flag'].sum()):,}")

    with _Step(results, "compare") as step:
        cmp = compare_cohorts(data, cohort_col=cohort_col, reference=reference, horizon=horizon,
                              method=method, n_boot=n_boot, seed=seed)
    results.comparison = cmp
    say(f"compared {cmp.other} with {cmp.reference} ({cmp.method}, {n_boot:,} bootstrap "
        f"replicates): RMST difference {cmp.rmst_difference:+.2f} calendar days "
        f"(95 % CI {cmp.ci[0]:+.2f} to {cmp.ci[1]:+.2f}; {results.seconds[step.name]:.1f} s)")

    results.break_even = BreakEven.iwi_2005()
    with _Step(results, "cost-benefit"):
        cb = cost_benefit(cmp, results.break_even)
    results.cost_benefit = cb
    say(f"cost-benefit: {cb.days_saved:.2f} benefit days saved per client (95 % CI "
        f"{cb.ci[0]:.2f} to {cb.ci[1]:.2f}) against a break-even of {cb.break_even_days:.2f}; "
        f"P(> break-even) {cb.p_exceeds_break_even:.2f}; net EUR {cb.net_benefit / 1e6:,.1f} "
        "million a year")

    with _Step(results, "fairness"):
        for name in AUDITED_TESTS:
            for group_col in protected:
                if group_col in data.columns:
                    results.fairness.append(audit_fairness(results.model.tests[name], data,
                                                           group_col))
    flagged = sum(int(a["flagged"].sum()) for a in results.fairness)
    monitored = _accountability(results, data, cmp, cohort_col, protected)
    say(f"fairness audit: {len(results.fairness)} audits, {flagged} group(s) with a ratio "
        "outside 0.8-1.25" + monitored)

    if coach_col in data.columns and cohort_col in data.columns:
        later = data[data[cohort_col].astype(str) == str(cmp.other)]
        with _Step(results, "outcome per coach"):
            results.coach_outcome = outcome_by_coach(later, group_col=coach_col,
                                                     case_mix=results.model.benefit_duration)
        t = results.coach_outcome.table
        say(f"outcome per coach ({cmp.other}): {len(t)} coaches, {int(t['flag'].sum())} outside "
            "the 99.8 % funnel limits")
    return results


def _accountability(results: JobResults, data: pd.DataFrame, cmp: Any, cohort_col: str,
                    protected: tuple[str, ...]) -> str:
    """Would a model fitted on the reference cohort still hold for the other? And the
    compliance test audited on the intersection of the protected attributes. Returns the
    monitoring's summary, to end the fairness line with."""
    from anker.fairness import audit_fairness
    from anker.monitoring.drift import monitor
    from anker.profile import AnkerModel

    line = ""
    if cohort_col in data.columns:
        cohorts = data[cohort_col].astype(str)
        reference = data[cohorts == str(cmp.reference)]
        later = data[cohorts == str(cmp.other)]
        if len(reference) and len(later):
            with _Step(results, "monitoring"):
                results.monitoring = monitor(AnkerModel().fit(reference), later)
            advice = results.monitoring.advice["advice"]
            line = (f"; monitoring a model fitted on {cmp.reference} on {cmp.other}: "
                    f"{len(results.monitoring.flags)} flag(s), "
                    + ", ".join(f"{name} {a}" for name, a in advice.items()))
    present = [c for c in protected if c in data.columns]
    if len(present) >= 2:
        with _Step(results, "intersectional audit"):
            results.intersectional.append(audit_fairness(results.model.tests["compliance"], data,
                                                         present, min_group_size=50))
    return line
