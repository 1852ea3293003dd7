"""Tests for anker.diagnostics: every number against a library or a hand computation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.utils import concordance_index as lifelines_c
from lifelines.utils.concordance import naive_concordance_index
from scipy import optimize, special
from scipy import stats as sps
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from anker import diagnostics as dg
from anker.errors import AnkerDataError


@pytest.fixture(scope="module")
def classifier_data():
    rng = np.random.default_rng(11)
    n = 3_000
    true_logit = rng.normal(-0.5, 1.2, n)
    y = (rng.random(n) < special.expit(true_logit)).astype(int)
    # predictions twice as extreme as the truth: slope about 0.5, rounded to make ties
    p = np.clip(np.round(special.expit(0.2 + 2 * true_logit), 3), 0.001, 0.999)
    return y, p


# ------------------------------------------------------------------------ inputs
@pytest.mark.parametrize(
    "y, p, message",
    [
        ([0, 1, np.nan], [0.1, 0.2, 0.3], "y has 1 missing"),
        ([0, 1, 1], [0.1, 0.2], "p has 2 values"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "0/1"),
        ([0, 1, 1], [0.1, 0.2, 1.3], r"p must lie in \[0, 1\]"),
        ([1, 1, 1], [0.1, 0.2, 0.3], "only one class"),
        ([0, 1, 1], ["a", "b", "c"], "p must be numeric"),
        ([], [], "y is empty"),
    ],
)
def test_classifier_inputs_are_checked(y, p, message):
    with pytest.raises(AnkerDataError, match=message):
        dg.auc(y, p) if "one class" in message else dg.brier_score(y, p)


def test_series_with_different_indexes_are_refused():
    y = pd.Series([0, 1, 1], index=[1, 2, 3])
    p = pd.Series([0.1, 0.8, 0.7], index=[3, 2, 1])
    with pytest.raises(AnkerDataError, match="different indexes"):
        dg.auc(y, p)


# ------------------------------------------------------------------ discrimination
def test_auc_point_estimate_matches_sklearn(classifier_data):
    y, p = classifier_data
    assert dg.auc(y, p).estimate == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert dg.auc(y, p, ci=False) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_auc_se_matches_delong_by_placement_values():
    # DeLong (1988) directly: placement values from all m x n pairs, ties count one half
    rng = np.random.default_rng(5)
    y = rng.random(300) < 0.3
    p = np.round(rng.normal(y * 0.8, 1.0), 1)
    pos, neg = p[y], p[~y]
    kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = kernel.mean(axis=1), kernel.mean(axis=0)
    se = np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    res = dg.auc(y, p, level=0.9)
    assert res.estimate == pytest.approx(kernel.mean(), abs=1e-12)
    assert res.se == pytest.approx(se, rel=1e-10)
    z = sps.norm.ppf(0.95)
    assert (res.ci_low, res.ci_high) == pytest.approx((kernel.mean() - z * se, kernel.mean() + z * se))
    assert (res.n_positive, res.n_negative) == (len(pos), len(neg))


def test_auc_se_agrees_with_bootstrap():
    rng = np.random.default_rng(6)
    n = 400
    y = rng.random(n) < 0.4
    p = rng.normal(y * 1.0, 1.0)
    boot = []
    for _ in range(1_000):
        idx = rng.integers(0, n, n)
        boot.append(roc_auc_score(y[idx], p[idx]))
    assert dg.auc(y, p).se == pytest.approx(np.std(boot, ddof=1), rel=0.1)


def test_auc_ci_is_clipped_to_unit_interval():
    res = dg.auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert res.estimate == 1.0 and res.ci_high == 1.0 and float(res) == 1.0


def test_brier_matches_sklearn(classifier_data):
    y, p = classifier_data
    assert dg.brier_score(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-14)


# --------------------------------------------------------------------- calibration
def test_calibration_slope_matches_unpenalised_logistic_regression(classifier_data):
    y, p = classifier_data
    res = dg.calibration_intercept_slope(y, p)
    logit = special.logit(p)
    fit = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1_000).fit(logit[:, None], y)
    assert res.slope == pytest.approx(fit.coef_[0, 0], abs=1e-5)
    # slope SE from the inverse Fisher information, by hand
    fitted = fit.predict_proba(logit[:, None])[:, 1]
    design = np.column_stack([np.ones_like(logit), logit])
    info = design.T @ (design * (fitted * (1 - fitted))[:, None])
    assert res.slope_se == pytest.approx(np.sqrt(np.linalg.inv(info)[1, 1]), rel=1e-4)
    # predictions twice as extreme as the truth: slope about 1/2
    assert res.slope_ci[0] < 0.5 < res.slope_ci[1]


def test_calibration_in_the_large_solves_the_offset_score_equation(classifier_data):
    y, p = classifier_data
    res = dg.calibration_intercept_slope(y, p, level=0.9)
    logit = special.logit(p)
    intercept = optimize.brentq(lambda a: np.sum(y - special.expit(a + logit)), -5, 5, xtol=1e-12)
    fitted = special.expit(intercept + logit)
    assert res.intercept == pytest.approx(intercept, abs=1e-7)
    assert res.intercept_se == pytest.approx(1 / np.sqrt(np.sum(fitted * (1 - fitted))), rel=1e-6)
    table = res.to_frame()
    assert list(table.index) == ["intercept", "slope"]
    z = sps.norm.ppf(0.95)
    assert table.loc["intercept", "ci_high"] == pytest.approx(intercept + z * res.intercept_se)
    assert table.loc["slope", "p"] == pytest.approx(
        2 * sps.norm.sf(abs(res.slope - 1) / res.slope_se))


def test_calibration_warns_about_probabilities_of_zero_or_one():
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    p = np.array([0.0, 0.3, 0.6, 1.0, 0.2, 0.7, 0.4, 0.5])
    with pytest.warns(UserWarning, match="2 predictions are exactly 0 or 1"):
        res = dg.calibration_intercept_slope(y, p)
    assert np.isfinite(res.slope)


def _hosmer_lemeshow_by_hand(y, p, groups):
    # R's ResourceSelection::hoslem.test: cut at unique quantiles, right-closed, lowest included
    breaks = np.unique(np.quantile(p, np.linspace(0, 1, groups + 1)))
    cut = pd.cut(p, breaks, include_lowest=True)
    frame = pd.DataFrame({"y": y, "p": p, "cut": cut}).groupby("cut", observed=True)
    observed, expected, n = frame["y"].sum(), frame["p"].sum(), frame["y"].size()
    statistic = np.sum((observed - expected) ** 2 / (expected * (1 - expected / n)))
    df = len(n) - 2
    return statistic, df, sps.chi2.sf(statistic, df)


def test_hosmer_lemeshow_matches_hand_computation(classifier_data):
    y, p = classifier_data
    res = dg.hosmer_lemeshow(y, p, groups=10)
    statistic, df, p_value = _hosmer_lemeshow_by_hand(y, p, 10)
    assert (res.statistic, res.df, res.p_value) == pytest.approx((statistic, df, p_value))
    assert res.table["n"].sum() == len(y)
    assert res.p_value < 1e-6  # the predictions are badly miscalibrated


def test_hosmer_lemeshow_with_tied_predictions_reports_empty_groups():
    rng = np.random.default_rng(3)
    p = rng.choice([0.1, 0.2, 0.3, 0.5, 0.7], size=2_000, p=[0.5, 0.2, 0.1, 0.1, 0.1])
    y = (rng.random(2_000) < p).astype(int)
    with pytest.warns(UserWarning, match="groups are empty"):
        res = dg.hosmer_lemeshow(y, p, groups=10)
    # by hand: a value's group is the number of inner decile edges strictly below it
    inner = np.percentile(p, np.arange(10, 100, 10))
    group = np.array([sum(edge < value for edge in inner) for value in p])
    frame = pd.DataFrame({"y": y, "p": p}).groupby(group)
    observed, expected, n = frame["y"].sum(), frame["p"].sum(), frame["y"].size()
    statistic = np.sum((observed - expected) ** 2 / (expected * (1 - expected / n)))
    assert len(res.table) == 10 and (res.table["n"] == 0).sum() == 10 - len(n)
    assert (res.statistic, res.df) == pytest.approx((statistic, len(n) - 2))
    assert res.p_value == pytest.approx(sps.chi2.sf(statistic, len(n) - 2))


@pytest.mark.parametrize("strategy", ["quantile", "uniform"])
def test_reliability_table_matches_calibration_curve(classifier_data, strategy):
    y, p = classifier_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # uniform bins may be empty
        table = dg.reliability_table(y, p, bins=8, strategy=strategy)
    observed, predicted = calibration_curve(y, p, n_bins=8, strategy=strategy)
    filled = table[table["n"] > 0]
    np.testing.assert_allclose(filled["observed_rate"], observed, atol=1e-12)
    np.testing.assert_allclose(filled["mean_predicted"], predicted, atol=1e-12)
    assert list(table["bin"]) == list(range(8)) and table["n"].sum() == len(y)


def test_reliability_table_wilson_interval_by_hand():
    y = np.r_[np.ones(3), np.zeros(7), np.ones(9), np.zeros(1)]
    p = np.r_[np.full(10, 0.2), np.full(10, 0.8)]
    table = dg.reliability_table(y, p, bins=2, strategy="uniform")
    z, n, k = sps.norm.ppf(0.975), 10, 3
    centre = (k + z**2 / 2) / (n + z**2)
    half = z / (n + z**2) * np.sqrt(k * (n - k) / n + z**2 / 4)
    assert (table.loc[0, "ci_low"], table.loc[0, "ci_high"]) == pytest.approx(
        (centre - half, centre + half))
    assert list(table["events"]) == [3, 9]


def test_reliability_table_keeps_empty_bins():
    y = [0, 1, 0, 1, 1, 0]
    p = [0.1, 0.15, 0.12, 0.9, 0.95, 0.85]
    with pytest.warns(UserWarning, match="6 of 10 bins are empty"):
        table = dg.reliability_table(y, p, bins=10, strategy="uniform")
    assert len(table) == 10
    assert table.loc[table["n"] == 0, "observed_rate"].isna().all()


def test_summarise_classifier_row(classifier_data):
    y, p = classifier_data
    row = dg.summarise_classifier(y, p, name="NT")
    assert row.shape[0] == 1 and row.index[0] == "NT"
    assert row.loc["NT", "auc"] == pytest.approx(roc_auc_score(y, p))
    assert row.loc["NT", "brier"] == pytest.approx(brier_score_loss(y, p))
    assert row.loc["NT", "base_rate"] == pytest.approx(np.mean(y))
    assert row.loc["NT", "calibration_slope"] == pytest.approx(
        dg.calibration_intercept_slope(y, p).slope)


# ------------------------------------------------------------------------ survival
@pytest.fixture(scope="module")
def survival_data():
    rng = np.random.default_rng(21)
    n = 4_000
    risk = rng.normal(size=n)
    rate = 0.004 * np.exp(0.7 * risk)
    censor = rng.uniform(50, 700, n)
    latent = rng.exponential(1 / rate)
    durations = np.ceil(np.minimum(latent, censor))
    events = (latent <= censor).astype(int)
    return durations, events, risk, rate


def test_concordance_matches_lifelines(survival_data):
    durations, events, risk, _ = survival_data
    risk = np.round(risk, 1)  # tied scores; the durations are tied already (whole days)
    assert dg.concordance_index(durations, events, risk) == pytest.approx(
        lifelines_c(durations, -risk, events), abs=1e-12)


def test_concordance_hand_example():
    # events at 5, 10, 20; comparable pairs (5,10) (5,15) (5,20) (10,15) (10,20): 4 of 5 concordant
    assert dg.concordance_index([5, 10, 15, 20], [1, 1, 0, 1], [0.9, 0.5, 0.7, 0.1]) == 0.8


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.booleans(), st.integers(0, 4)),
                min_size=2, max_size=25))
def test_concordance_property_against_naive_pairs(rows):
    durations, events, risk = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    try:
        expected = naive_concordance_index(durations, -risk, events)
    except ZeroDivisionError:
        with pytest.raises(AnkerDataError, match="no comparable pairs"):
            dg.concordance_index(durations, events, risk)
        return
    assert dg.concordance_index(durations, events, risk) == pytest.approx(expected, abs=1e-12)


def _lifelines_km_at(durations, events, time, level=0.95):
    km = KaplanMeierFitter(alpha=1 - level).fit(durations, events)
    ci = km.confidence_interval_survival_function_
    row = ci[ci.index <= time].iloc[-1]
    return float(km.survival_function_at_times(time).iloc[0]), float(row.iloc[0]), float(row.iloc[1])


def test_survival_calibration_matches_lifelines_per_group(survival_data):
    durations, events, _, rate = survival_data
    predicted = np.exp(-rate * 365)
    cal = dg.survival_calibration(durations, events, predicted, time=365, groups=5, level=0.9)
    groups = np.searchsorted(np.percentile(predicted, np.linspace(0, 100, 6))[1:-1], predicted)
    for g, row in cal.table.iterrows():
        mask = groups == g
        km, low, high = _lifelines_km_at(durations[mask], events[mask], 365, level=0.9)
        assert (row["observed"], row["ci_low"], row["ci_high"]) == pytest.approx((km, low, high))
        assert row["mean_predicted"] == pytest.approx(predicted[mask].mean())
        assert row["events"] == np.sum(events[mask] * (durations[mask] <= 365))
    km, low, high = _lifelines_km_at(durations, events, 365, level=0.9)
    assert cal.observed == pytest.approx(km) and cal.observed_ci == pytest.approx((low, high))
    # the predictions come from the true rates: calibrated overall and per group
    assert abs(cal.difference) < 0.02 and cal.p_value > 0.01 and cal.df == 5
    hand = np.sum(((cal.table["observed"] - cal.table["mean_predicted"]) / cal.table["se"]) ** 2)
    assert cal.chi2 == pytest.approx(hand)


def test_survival_calibration_greenwood_se_by_hand():
    # exits at 1 (of 4 at risk) and 3 (of 2 at risk); one censored at 2 and 4
    durations, events = [1, 2, 3, 4], [1, 0, 1, 0]
    cal = dg.survival_calibration(durations, events, [0.5] * 4, time=3.5, groups=1)
    survival = (3 / 4) * (1 / 2)
    se = survival * np.sqrt(1 / (4 * 3) + 1 / (2 * 1))
    assert cal.table.loc[0, "observed"] == pytest.approx(survival)
    assert cal.table.loc[0, "se"] == pytest.approx(se)
    assert cal.table.loc[0, "at_risk"] == 1


def test_survival_calibration_warns_when_follow_up_ends_before_time():
    with pytest.warns(UserWarning, match="nobody at risk after time=400"):
        dg.survival_calibration([10, 20, 30], [1, 0, 1], [0.3, 0.5, 0.2], time=400, groups=1)


# Tiny example worked by hand (scikit-survival's definition). Reverse Kaplan-Meier of
# censoring, an exit at a tied time leaving the risk set first:
#   t=1: exit, G=1; t=2: one exit, one censoring of 4 at risk -> G = 3/4;
#   t=3: censoring, 1 of 3 -> G = 1/2; t=4: exit -> 1/2; t=5: censoring, 1 of 1 -> G = 0.
TINY_DURATIONS = [1, 2, 2, 3, 4, 5]
TINY_EVENTS = [1, 1, 0, 0, 1, 0]
TINY_TIMES = [1.5, 3.5, 4.5]
TINY_SURVIVAL = np.array([[0.4, 0.2, 0.1], [0.8, 0.5, 0.3], [0.9, 0.6, 0.5],
                          [0.7, 0.6, 0.4], [0.9, 0.7, 0.3], [0.95, 0.9, 0.8]])


def test_survival_brier_scores_by_hand():
    s = TINY_SURVIVAL
    # t=1.5: spell 0 exited (weight 1/G(1) = 1); spells 1-5 running (weight 1/G(1.5) = 1)
    at_15 = (s[0, 0] ** 2 + sum((1 - s[i, 0]) ** 2 for i in range(1, 6))) / 6
    # t=3.5: exits 0 (1/G(1) = 1) and 1 (1/G(2) = 4/3); censored 2, 3 count 0;
    # running 4, 5 with weight 1/G(3.5) = 2
    at_35 = (s[0, 1] ** 2 + s[1, 1] ** 2 * 4 / 3 + 2 * ((1 - s[4, 1]) ** 2 + (1 - s[5, 1]) ** 2)) / 6
    # t=4.5: exits 0, 1, 4 (1/G(4) = 2); running 5 (1/G(4.5) = 2)
    at_45 = (s[0, 2] ** 2 + s[1, 2] ** 2 * 4 / 3 + 2 * s[4, 2] ** 2 + 2 * (1 - s[5, 2]) ** 2) / 6
    scores = dg.survival_brier_scores(TINY_DURATIONS, TINY_EVENTS, TINY_SURVIVAL, TINY_TIMES)
    np.testing.assert_allclose(scores.to_numpy(), [at_15, at_35, at_45], atol=1e-12)
    ibs = dg.integrated_brier_score(TINY_DURATIONS, TINY_EVENTS, TINY_SURVIVAL, TINY_TIMES)
    area = (at_15 + at_35) / 2 * 2 + (at_35 + at_45) / 2 * 1
    assert ibs == pytest.approx(area / 3)


def test_survival_brier_without_censoring_is_plain_mean_square(survival_data):
    durations, _, _, rate = survival_data
    times = np.array([30.0, 91, 182, 365])
    matrix = pd.DataFrame(np.exp(-np.outer(rate, times)), columns=times)
    events = np.ones(len(durations))
    scores = dg.survival_brier_scores(pd.Series(durations), pd.Series(events), matrix)
    plain = (((durations[:, None] > times) - matrix.to_numpy()) ** 2).mean(axis=0)
    np.testing.assert_allclose(scores.to_numpy(), plain, atol=1e-12)


@pytest.mark.parametrize(
    "times, matrix, message",
    [
        ([1.5, 5.0, 6.0], TINY_SURVIVAL, r"times must lie in \[0, 5\)"),
        ([3.5, 1.5, 4.5], TINY_SURVIVAL, "strictly increasing"),
        ([1.5, 3.5], TINY_SURVIVAL, "shape"),
        (TINY_TIMES, TINY_SURVIVAL * 2, r"probabilities in \[0, 1\]"),
    ],
)
def test_survival_brier_inputs_are_checked(times, matrix, message):
    with pytest.raises(ValueError, match=message):
        dg.integrated_brier_score(TINY_DURATIONS, TINY_EVENTS, matrix, times)


def test_integrated_brier_needs_two_times():
    with pytest.raises(ValueError, match="at least two times"):
        dg.integrated_brier_score(TINY_DURATIONS, TINY_EVENTS, TINY_SURVIVAL[:, :1], [1.5])


# ----------------------------------------------------------- bad input, any shape
_floats = st.floats(allow_nan=True, allow_infinity=True, width=32)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 2), _floats, _floats), min_size=0, max_size=12))
def test_every_entry_point_answers_or_refuses_cleanly(rows):
    # any input gives a result or a ValueError (AnkerDataError is one) naming the problem
    y, p, t = (list(column) for column in zip(*rows, strict=True)) if rows else ([], [], [])
    calls = [
        lambda: dg.auc(y, p), lambda: dg.brier_score(y, p),
        lambda: dg.reliability_table(y, p, bins=3), lambda: dg.hosmer_lemeshow(y, p, groups=4),
        lambda: dg.summarise_classifier(y, p), lambda: dg.concordance_index(t, y, p),
        lambda: dg.survival_calibration(t, y, p, time=1.0, groups=2),
        lambda: dg.integrated_brier_score(t, y, np.column_stack([p, p]), [0.0, 0.5]),
    ]
    for call in calls:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                call()
            except ValueError as exc:
                assert str(exc)
