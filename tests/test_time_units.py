"""Time units: one definition (anker.schema.TimeUnit) used by the tests, the profile, the
comparison and the pricing; nothing beyond follow-up is answered silently."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import anker
from anker.schema import BENEFIT_DAYS_PER_CALENDAR_DAY, FollowUpWarning, resolve_time_unit


# ------------------------------------------------------------------------- the unit itself
@pytest.mark.parametrize("spec, days, label", [
    ("day", 1.0, "calendar days"), ("days", 1.0, "calendar days"), (None, 1.0, "calendar days"),
    ("week", 7.0, "weeks"), ("Weeks", 7.0, "weeks"), (7, 7.0, "weeks"),
    ("month", 30.4375, "months"), ("year", 365.25, "years"),
    (14, 14.0, "periods of 14 days"), ("14", 14.0, "periods of 14 days"),
    (2.5, 2.5, "periods of 2.5 days"),
])
def test_resolve_time_unit(spec, days, label):
    unit = resolve_time_unit(spec)
    assert unit.days == days and unit.label == label
    assert resolve_time_unit(unit.to_json()) == unit  # what a model file stores reads back
    assert unit.benefit_days_per_unit == pytest.approx(days * 261 / 365)


@pytest.mark.parametrize("bad", ["fortnight", 0, -7, float("nan"), True, "", [7]])
def test_bad_time_unit_names_the_argument(bad):
    with pytest.raises(ValueError, match="time_unit"):
        resolve_time_unit(bad)


def test_month_is_a_twelfth_of_a_julian_year():
    assert resolve_time_unit("month").days * 12 == resolve_time_unit("year").days == 365.25


# ----------------------------------------------------------------- records in other units
def _exponential_spells(n: int, *, seed: int, period_days: float, follow_up: float):
    """Spells in periods of ``period_days`` with a known exponential exit rate per period:
    rate 0.05 * exp(0.4 * tenure_high), censored at ``follow_up`` periods and at random."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 2, n)
    rate = 0.05 * np.exp(0.4 * tenure)
    spell = rng.exponential(1 / rate)
    censor = np.minimum(rng.uniform(0.5 * follow_up, 3 * follow_up, n), follow_up)
    return pd.DataFrame({"spell": np.minimum(spell, censor), "ended": (spell <= censor).astype(int),
                         "tenure_high": tenure, "age": rng.integers(18, 65, n)}), rate


def test_profile_months_follow_the_unit_and_match_the_truth():
    """In two-week periods the profile's 3/6/12 months are 91/14, 182/14 and 365/14
    periods; with a known exponential rate S(t) = exp(-rate t)."""
    df, rate = _exponential_spells(6_000, seed=3, period_days=14, follow_up=28)
    bd = anker.BenefitDurationTest(duration_col="spell", event_col="ended",
                                   features=["tenure_high"], entitlement_col=None, time_unit=14)
    model = anker.AnkerModel(benefit_duration=bd, tests=["benefit_duration"]).fit(df)
    assert model.survival_times() == pytest.approx(
        {"p_on_benefit_3m": 91 / 14, "p_on_benefit_6m": 13.0, "p_on_benefit_12m": 365 / 14})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FollowUpWarning)  # all three lie within follow-up
        prof = model.profile(df)
    cols = ["p_on_benefit_3m", "p_on_benefit_6m", "p_on_benefit_12m"]
    assert (prof[cols].diff(axis=1).iloc[:, 1:] < 0).all().all()  # they differ, falling
    for col, t in model.survival_times().items():
        truth = np.exp(-rate * t)
        # 6,000 spells, a Cox fit with one binary term: the group curves are within ~0.02
        # of the truth (binomial SE at S ~ 0.5 is 0.009 per group of 3,000)
        assert np.abs(prof[col] - truth).max() < 0.03, col
    assert prof.attrs["time_unit"] == "periods of 14 days"
    # the median, converted to calendar days: log 2 / rate periods x 14
    median_days = prof["median_duration_days"].groupby(df["tenure_high"]).first()
    np.testing.assert_allclose(median_days, np.log(2) / np.array([0.05, 0.05 * np.exp(0.4)]) * 14,
                               rtol=0.08)


def test_beyond_follow_up_is_nan_with_a_warning_never_clipped():
    df, _ = _exponential_spells(2_000, seed=4, period_days=14, follow_up=28)
    bd = anker.BenefitDurationTest(duration_col="spell", event_col="ended", features=["age"],
                                   entitlement_col=None, time_unit=14).fit(df)
    with pytest.warns(FollowUpWarning, match=r"\[100, 365\] periods of 14 days lie beyond"):
        surv = bd.predict_survival(df.head(5), [20, 100, 365])
    assert surv[20].notna().all() and surv[[100, 365]].isna().all().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FollowUpWarning)
        flat = bd.predict_survival(df.head(5), [20, 100, 365], extrapolate=True)
    assert flat.notna().all().all()
    assert bd.beyond_follow_up([20, 100, 365]) == [100, 365]


def test_profile_beyond_follow_up_warns_once_and_extrapolates_on_request():
    df, _ = _exponential_spells(2_000, seed=5, period_days=14, follow_up=20)
    bd = anker.BenefitDurationTest(duration_col="spell", event_col="ended", features=["age"],
                                   entitlement_col=None, time_unit=14)
    model = anker.AnkerModel(benefit_duration=bd, tests=["benefit_duration"]).fit(df)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prof = model.profile(df.head(20))
    follow = [w for w in caught if issubclass(w.category, FollowUpWarning)]
    assert len(follow) == 1 and "p_on_benefit_12m (26.07 periods of 14 days)" in str(
        follow[0].message)
    assert prof["p_on_benefit_12m"].isna().all() and prof["p_on_benefit_6m"].notna().all()
    assert (prof["p_on_benefit_3m"] != prof["p_on_benefit_6m"]).all()
    prof = model.profile(df.head(20), extrapolate=True)
    assert prof["p_on_benefit_12m"].notna().all()


def test_the_unit_is_stored_in_the_model_file(tmp_path):
    df, _ = _exponential_spells(1_000, seed=6, period_days=7, follow_up=60)
    bd = anker.BenefitDurationTest(duration_col="spell", event_col="ended", features=["age"],
                                   entitlement_col=None, time_unit="week")
    model = anker.AnkerModel(benefit_duration=bd, tests=["benefit_duration"]).fit(df)
    path = tmp_path / "weeks.json"
    model.save(path)
    stored = json.loads(path.read_text())["tests"]["benefit_duration"]["config"]["time_unit"]
    assert stored == "week"
    again = anker.AnkerModel.load(path)
    assert again.benefit_duration.time_unit.label == "weeks"
    pd.testing.assert_frame_equal(again.profile(df.head(5)), model.profile(df.head(5)))
    assert bd.summary.attrs["time_unit"] == "weeks"


# ----------------------------------------------------------------- comparison and pricing
@pytest.fixture(scope="module")
def days_and_weeks(small_population):
    """The same spells counted in calendar days and in weeks (days / 7, exactly)."""
    df = small_population.data
    weeks = df.assign(spell=df["duration_days"] / 7)
    return df, weeks


def test_compare_in_weeks_is_the_comparison_in_days_divided_by_seven(days_and_weeks):
    """Kaplan-Meier, Cox and the weights do not depend on the time scale: every RMST in
    weeks is the one in days / 7, and the benefit days are the same numbers."""
    df, weeks = days_and_weeks
    common = dict(reference="casemanagement_2004", covariates=["age", "tightness"],
                  method="aipw", n_boot=0)
    in_days = anker.compare_cohorts(df, horizon=364, **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_weeks = anker.compare_cohorts(weeks, duration_col="spell", horizon=52,
                                         time_unit="week", **common)
    np.testing.assert_allclose(in_weeks.estimates["estimate"], in_days.estimates["estimate"] / 7,
                               rtol=1e-6)
    np.testing.assert_allclose(in_weeks.estimates["estimate_benefit_days"],
                               in_days.estimates["estimate_benefit_days"], rtol=1e-6)
    assert in_weeks.rmst_difference_benefit_days == pytest.approx(
        in_days.rmst_difference * BENEFIT_DAYS_PER_CALENDAR_DAY, rel=1e-6)
    assert in_weeks.hazard_ratio == pytest.approx(in_days.hazard_ratio, rel=1e-6)
    text = str(in_weeks.summary)
    assert "up to 52 weeks" in text and "calendar days" not in text.split("Assumptions")[0]
    assert "weeks" in in_weeks.summary.table.columns
    be = anker.BreakEven.iwi_2005()
    cb_days, cb_weeks = anker.cost_benefit(in_days, be), anker.cost_benefit(in_weeks, be)
    assert cb_weeks.days_saved == pytest.approx(cb_days.days_saved, rel=1e-6)
    assert cb_weeks.ci == pytest.approx(cb_days.ci, rel=1e-6)
    assert "weeks" in repr(cb_weeks) and cb_weeks.summary["unit"].iloc[0] == "weeks"


def test_rmst_in_weeks_agrees_with_lifelines():
    """Rossi (lifelines' recidivism data, weeks): RMST up to 52 weeks per aid group."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    rossi = pd.read_csv("tests/data/rossi.csv")
    cmp = anker.compare_cohorts(rossi, cohort_col="fin", reference=0, duration_col="week",
                                event_col="arrest", covariates=["age", "prio"], horizon=52,
                                time_unit="week", n_boot=0)
    for group in (0, 1):
        part = rossi[rossi["fin"] == group]
        km = KaplanMeierFitter().fit(part["week"], part["arrest"])
        expected = restricted_mean_survival_time(km, t=52)
        assert cmp.rmst.loc[group, "rmst"] == pytest.approx(expected, rel=1e-9)
    assert cmp.summary.title.startswith("Cohort comparison: 1 minus 0")
    assert "np.int64" not in str(cmp.summary)


def test_survival_curves_name_the_unit(days_and_weeks):
    import matplotlib.pyplot as plt

    _, weeks = days_and_weeks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = anker.compare_cohorts(weeks, reference="casemanagement_2004", duration_col="spell",
                                    covariates=["age"], horizon=52, time_unit="week",
                                    method="gcomp", n_boot=0)
    fig = anker.plots.survival_curves(cmp)
    assert fig.axes[0].get_xlabel() == "weeks since inflow"
    plt.close(fig)


def test_kaplan_meier_curves_stop_at_the_end_of_follow_up():
    import matplotlib.pyplot as plt

    rossi = pd.read_csv("tests/data/rossi.csv")
    cmp = anker.compare_cohorts(rossi, cohort_col="fin", reference=0, duration_col="week",
                                event_col="arrest", covariates=["age"], horizon=52,
                                time_unit="week", method="gcomp", n_boot=0)
    fig = anker.plots.survival_curves(cmp)  # the axis runs to 65 weeks (horizon x 1.25)
    ends = [line.get_xdata()[-1] for line in fig.axes[0].lines if "Kaplan-Meier" in
            str(line.get_label())]
    assert ends == [52, 52]  # the follow-up, not drawn flat to the axis' end
    plt.close(fig)


def test_compare_in_weeks_with_exits_in_week_zero():
    # spells rounded to whole weeks: exits in week 0; the censoring model must still fit
    import anker

    df = anker.simulate_population(n_per_cohort=1500, seed=3).data
    weeks = df.assign(spell=(df["duration_days"] / 7).round(), ended=df["exited"])
    assert ((weeks["spell"] == 0) & (weeks["ended"] == 1)).any()
    cmp = anker.compare_cohorts(weeks, reference="casemanagement_2004", duration_col="spell",
                                event_col="ended", covariates=["age", "tightness"], horizon=52,
                                time_unit="week", n_boot=0)
    days = anker.compare_cohorts(df, reference="casemanagement_2004", covariates=["age", "tightness"],
                                 horizon=364, n_boot=0)
    assert "week" in str(cmp.summary).lower()
    # the same spells in weeks: the naive RMST difference within a week of the daily one (rounding)
    assert abs(cmp.estimates.loc["naive", "estimate"] * 7 - days.estimates.loc["naive", "estimate"]) < 7


def test_comparison_messages_name_the_unit(days_and_weeks):
    _, weeks = days_and_weeks
    common = dict(duration_col="spell", reference="casemanagement_2004", covariates=["age"],
                  n_boot=0, time_unit="week")
    longest = weeks["spell"].max()
    with pytest.raises(anker.AnkerDataError, match=r"horizon=\d+ weeks is beyond .* weeks\)"):
        anker.compare_cohorts(weeks, horizon=longest * 2, **common)
    with pytest.raises(ValueError, match="positive number of weeks"):
        anker.compare_cohorts(weeks, horizon=-1, **common)
    with pytest.raises(ValueError, match="number of periods of 14 days"):
        anker.compare_cohorts(weeks, horizon="soon", **{**common, "time_unit": 14})
    text = weeks.assign(spell=weeks["spell"].astype(str))
    with pytest.raises(anker.AnkerDataError, match=r"'spell' \(durations, weeks\)"):
        anker.compare_cohorts(text, horizon=52, **common)


def test_a_reference_label_matches_a_number_as_on_the_command_line(days_and_weeks):
    """`reference="0"` names the cohort 0 of an integer column (the CLI's --reference 0)."""
    df, _ = days_and_weeks
    coded = df.assign(cohort=(df["cohort"] == "coaching_2007").astype(int))
    common = dict(covariates=["age"], n_boot=0, horizon=364, method="gcomp")
    want = anker.compare_cohorts(coded, reference=0, **common)
    for label in ("0", 0.0):
        got = anker.compare_cohorts(coded, reference=label, **common)
        assert got.reference == 0 and got.other == 1
        assert got.rmst_difference == want.rmst_difference
    assert anker.compare_cohorts(coded, cohorts=("1", "0"), **common).reference == 1
    years = df.assign(cohort=df["cohort"].str[-4:])  # text "2004" / "2007"
    assert anker.compare_cohorts(years, reference=2004, **common).reference == "2004"
    with pytest.raises(anker.AnkerDataError, match="reference='2'"):
        anker.compare_cohorts(coded, reference="2", **common)
