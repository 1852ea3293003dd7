"""Property-based: every public entry point of the API on damaged data.

Each input gives a result, an anker error naming the column or argument, or
a result with an anker warning; never a foreign exception, never a silent
NaN (see ``property_helpers.outcome``).
"""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anker
from anker.errors import AnkerDataError, AnkerError

from .property_helpers import CI, damage, outcome

BASE = anker.simulate_population(n_per_cohort=150, seed=5).data
MODEL = anker.AnkerModel().fit(anker.simulate_population(n_per_cohort=600, seed=6).data)
FAST = settings(derandomize=CI, max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TESTS = {
    "compliance": lambda: anker.ComplianceTest(),
    "labour_market": lambda: anker.LabourMarketTest(),
    "reintegration": lambda: anker.ReintegrationTest(),
    "cox": lambda: anker.BenefitDurationTest(),
    "weibull": lambda: anker.BenefitDurationTest(model="weibull"),
}


def _named(exc: Exception, df: pd.DataFrame) -> bool:
    """An error names a column of the data or an argument (in quotes or as the first word)."""
    text = str(exc)
    if isinstance(exc, AnkerDataError) and exc.columns:
        return True
    return any(repr(str(c)) in text or f"{c}:" in text or f"{c} " in text for c in df.columns) \
        or text.split(":")[0].replace("_", "").isalnum()


@pytest.mark.parametrize("name", list(TESTS))
@FAST
@given(data=st.data())
def test_fit_on_damaged_records(name, data):
    df = data.draw(damage(BASE))
    kind, value = outcome(lambda: TESTS[name]().fit(df))
    if kind == "error":
        assert _named(value, df), value
    else:
        features = value.features
        clean = df.dropna(subset=[c for c in features if c in df])
        outcome(lambda: value.summary)
        if hasattr(value, "predict_proba"):
            outcome(lambda: value.predict_proba(clean.head(5)))


@FAST
@given(data=st.data())
def test_profile_of_damaged_clients(data):
    df = data.draw(damage(BASE.head(40)))
    kind, value = outcome(lambda: MODEL.profile(df))
    if kind == "result":
        assert value.index.equals(df.index)


@FAST
@given(data=st.data())
def test_validate_reports_every_problem_in_plain_words(data):
    df = data.draw(damage(BASE))
    kind, value = outcome(lambda: anker.validate(df))
    if kind == "error":
        assert isinstance(value, AnkerDataError) and value.columns


@settings(derandomize=CI, max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compare_cohorts_on_damaged_records(data):
    df = data.draw(damage(BASE))
    covariates = data.draw(st.sampled_from([None, ["age", "tightness"], ["education", "age"]]))
    kind, value = outcome(lambda: anker.compare_cohorts(df, covariates=covariates, n_boot=0))
    if kind == "error":
        assert _named(value, df), value


def test_compare_cohorts_on_thirty_rows_is_an_anker_answer():
    for seed in range(3):
        df = anker.simulate_population(n_per_cohort=15, seed=seed).data
        kind, value = outcome(lambda df=df: anker.compare_cohorts(df, n_boot=0))
        assert kind == "result" or str(value)


@settings(derandomize=CI, max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_audit_and_coach_outcomes_on_damaged_records(data):
    df = data.draw(damage(BASE))
    test = MODEL.compliance
    outcome(lambda: anker.audit_fairness(test, df, group_col="sex"))
    outcome(lambda: anker.outcome_by_coach(df, group_col="coach_id",
                                           case_mix=MODEL.benefit_duration))


@settings(derandomize=CI, max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                 st.integers(-10**9, 10**9)), min_size=4, max_size=4))
def test_break_even_arguments(values):
    extra, coaches, caseload, daily = values
    kind, value = outcome(lambda: anker.BreakEven(extra_cost=extra, coaches=coaches,
                                                  caseload=caseload, daily_benefit=daily))
    if kind == "result":
        assert np.isfinite(value.days)


@settings(derandomize=CI, max_examples=30, deadline=None)
@given(text=st.text(max_size=30), year=st.integers(1, 9999),
       scores=st.dictionaries(st.text(max_size=5), st.floats(), max_size=3))
def test_decision_log_record_any_input(text, year, scores):
    with anker.DecisionLog(":memory:") as log:
        stamp = datetime(year, 6, 1, tzinfo=timezone.utc)
        outcome(lambda: log.record(client_id=text, advice=text or "A", decision="A",
                                   reason=text, coach_id="k", scores=scores, timestamp=stamp))
        kind, frame = outcome(log.decisions)
        assert kind == "result" and frame["timestamp"].notna().all()


@settings(derandomize=CI, max_examples=60, deadline=None)
@given(exponents=st.lists(st.one_of(st.integers(-330, 310), st.none()), min_size=30,
                          max_size=30),
       mantissa=st.floats(1.0, 9.99))
def test_weights_of_any_magnitude(exponents, mantissa):
    """Every entry point that takes weights (anker._weights): weights from 1e-330 (0 in a
    float) to 1e310 (infinite), or 0, give a finite variance or an anker error naming them."""
    from anker.models import fit_cox, fit_logistic
    from anker.survival import kaplan_meier, rmst, rmst_influence

    rng = np.random.default_rng(len(exponents))
    durations = np.ceil(rng.exponential(10, 30))
    events = (rng.random(30) < 0.7).astype(float)
    X, y = rng.normal(size=(30, 2)), (rng.random(30) < 0.5).astype(float)
    weights = np.array([0.0 if e is None else mantissa * 10.0**e if e < 309 else np.inf
                        for e in exponents])
    horizon = float(durations.max())
    calls = {"kaplan_meier": lambda: kaplan_meier(durations, events, weights=weights).variance,
             "rmst": lambda: np.array(rmst(durations, events, horizon, weights=weights)),
             "rmst_influence": lambda: rmst_influence(durations, events, horizon, weights=weights),
             "fit_logistic": lambda: np.diag(fit_logistic(X, y, weights=weights).cov),
             "fit_cox": lambda: np.diag(fit_cox(X, durations, events, weights=weights).cov)}
    for name, call in calls.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = call()
            except AnkerError as exc:
                assert str(exc).strip(), name
                continue
            except (ValueError, TypeError) as exc:  # plain ones only, as `outcome` allows
                assert type(exc) in (ValueError, TypeError), (name, repr(exc))
                continue
        # NaN or inf only where the fit says why (a column it cannot estimate, separation)
        assert np.isfinite(value).all() or caught, (name, weights, value)
