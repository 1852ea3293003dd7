"""``compare_cohorts(..., estimators="naive")``: the naive comparison alone, from counts.

It must give exactly the naive row of the full comparison (estimate, SE, CI,
bootstrap replicates for the same seed) on the user's own columns and time
unit, agree with lifelines' Kaplan-Meier RMST, and refuse what counts per
(cohort, duration) cannot answer.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time

import anker
from anker.distributed import NaiveComparison


@pytest.fixture(scope="module")
def rossi_weeks() -> pd.DataFrame:
    """Rossi's recidivism data (lifelines) as 'spells' in weeks, with its own column names."""
    rossi = pd.read_csv("tests/data/rossi.csv")
    return pd.DataFrame({"weeks": rossi["week"], "arrested": rossi["arrest"],
                         "aid": np.where(rossi["fin"] == 1, "aid", "no_aid"), "age": rossi["age"]})


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.mark.parametrize("n_boot", [0, 300])
def test_equals_the_naive_row_of_the_full_comparison_in_weeks(rossi_weeks, n_boot):
    kw = dict(cohort_col="aid", reference="no_aid", duration_col="weeks", event_col="arrested",
              covariates=["age"], horizon=50, time_unit="week", n_boot=n_boot, seed=11)
    full = _quiet(anker.compare_cohorts, rossi_weeks, method="naive", **kw)
    alone = _quiet(anker.compare_cohorts, rossi_weeks, method="naive", estimators="naive", **kw)
    assert isinstance(alone, NaiveComparison)
    assert alone.rmst_difference == pytest.approx(full.rmst_difference, rel=1e-12)
    assert alone.se == pytest.approx(full.se, rel=1e-10)
    assert alone.ci == pytest.approx(full.ci, rel=1e-10)
    assert alone.rmst_difference_benefit_days == pytest.approx(full.rmst_difference_benefit_days,
                                                               rel=1e-12)
    pd.testing.assert_frame_equal(alone.rmst, full.rmst[alone.rmst.columns], rtol=1e-10)
    assert alone.logrank.statistic == pytest.approx(full.logrank.statistic, rel=1e-10)
    if n_boot:
        np.testing.assert_array_equal(alone.boot_differences, full.boot_differences)
    else:
        assert alone.boot_differences is None
    assert "weeks" in str(alone.summary)
    assert any("covariates ['age'] not used" in note for note in alone.notes)


def test_agrees_with_lifelines_kaplan_meier(rossi_weeks):
    cmp = anker.compare_cohorts(rossi_weeks, cohort_col="aid", reference="no_aid",
                                duration_col="weeks", event_col="arrested", horizon=40,
                                time_unit="week", method="naive", estimators="naive", n_boot=0)
    rmst = {}
    for label, rows in rossi_weeks.groupby("aid"):
        kmf = KaplanMeierFitter().fit(rows["weeks"], rows["arrested"])
        rmst[label] = restricted_mean_survival_time(kmf, t=40)
    assert cmp.rmst.loc["aid", "rmst"] == pytest.approx(rmst["aid"], rel=1e-10)
    assert cmp.rmst_difference == pytest.approx(rmst["aid"] - rmst["no_aid"], rel=1e-10)


def test_three_cohorts_named_pair_and_replicates_per_seed():
    df = anker.simulate_population(n_per_cohort=800, seed=4).data
    third = df.iloc[:300].assign(cohort="pilot_2010")
    three = pd.concat([df, third], ignore_index=True)
    kw = dict(cohorts=("casemanagement_2004", "coaching_2007"), outcome="time_on_benefit",
              method="naive", n_boot=200, seed=5)
    with pytest.warns(UserWarning, match="left out 300 row"):
        a = anker.compare_cohorts(three, estimators="naive", **kw)
    full = _quiet(anker.compare_cohorts, three, **kw)
    b = _quiet(anker.compare_cohorts, three, estimators="naive", **{**kw, "seed": 6})
    np.testing.assert_array_equal(a.boot_differences, full.boot_differences)
    assert not np.array_equal(a.boot_differences, b.boot_differences)
    assert a.rmst["n"].tolist() == [800, 800]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "aipw"}, "method='aipw'"),
    ({"estimators": "some"}, "estimators must be one of"),
    ({"cluster_col": "office"}, "cluster_col='office' needs each spell"),
    ({"comparison_col": "comparison"}, "comparison_col='comparison' needs each spell"),
    ({"outcome": "auto"}, "outcome='auto' means paid days"),
    ({"outcome": "paid_days"}, "paid days need each spell's entitlement"),
])
def test_refuses_what_counts_cannot_answer(kwargs, match):
    df = anker.simulate_population(n_per_cohort=300, seed=2).data
    base = {"method": "naive", "estimators": "naive", "outcome": "time_on_benefit", "n_boot": 0}
    with pytest.raises(ValueError, match=match):
        anker.compare_cohorts(df, **{**base, **kwargs})


def test_bad_rows_are_named():
    df = anker.simulate_population(n_per_cohort=300, seed=2).data
    df.loc[5, "duration_days"] = -1
    with pytest.raises(anker.AnkerDataError, match="duration_days"):
        anker.compare_cohorts(df, method="naive", estimators="naive", outcome="time_on_benefit")
