"""The four tests' shared behaviour: configuration, protected attributes, JSON, explain,
bands/routes, unseen levels and bad input. Statistical quality: test_assessment_quality.py."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from lifelines import CoxPHFitter

import anker
from anker.assessments import NotFittedError, ProtectedAttributeError
from anker.models.design import UnseenLevelWarning

ALL = [anker.ComplianceTest, anker.LabourMarketTest, anker.ReintegrationTest,
       anker.BenefitDurationTest]


@pytest.fixture(scope="module")
def df(small_population):
    return small_population.data


@pytest.fixture(scope="module")
def fitted(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {cls: cls().fit(df) for cls in ALL}


def predictions(model, df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(model, anker.ReintegrationTest):
            return model.predict_gain(df, extrapolate=True)
        if isinstance(model, anker.BenefitDurationTest):
            return model.predict_survival(df, [91, 182, 365])
        return model.predict_proba(df)


@pytest.mark.parametrize("cls", ALL)
def test_fit_returns_self_and_predicts_on_index(cls, df, fitted):
    model = fitted[cls]
    assert model.is_fitted and model.features == list(anker.schema.INFLOW_FEATURES)
    sub = df.iloc[[5, 2, 9]]
    pred = predictions(model, sub)
    assert pred.index.equals(sub.index)


@pytest.mark.parametrize("cls", ALL)
def test_json_round_trip_identical_predictions(cls, df, fitted):
    model = fitted[cls]
    data = json.loads(json.dumps(model.to_dict(), allow_nan=False))
    again = cls.from_dict(data)
    pd.testing.assert_frame_equal(pd.DataFrame(predictions(again, df)),
                                  pd.DataFrame(predictions(model, df)), check_exact=True)
    pd.testing.assert_frame_equal(again.summary, model.summary)


@pytest.mark.parametrize("cls", ALL)
def test_damaged_or_foreign_dict(cls, fitted):
    data = fitted[cls].to_dict()
    with pytest.raises(anker.AnkerModelFileError):
        cls.from_dict({**data, "anker_model": "SomethingElse"})
    with pytest.raises(anker.AnkerModelFileError):
        cls.from_dict({**data, "format_version": 99})
    broken = json.loads(json.dumps(data))
    key = next(iter(broken["state"]))
    broken["state"][key] = [1.0, 2.0]
    with pytest.raises(anker.AnkerModelFileError):
        cls.from_dict(broken)


@pytest.mark.parametrize("cls", ALL)
def test_protected_refused_unless_opted_in(cls, df):
    features = ["age", "education", "migration_background"]
    with pytest.raises(ProtectedAttributeError, match="migration_background"):
        cls(features=features).fit(df)
    with pytest.warns(UserWarning, match="protected"):
        model = cls(features=features, allow_protected=True).fit(df)
    assert model.protected_features_used == ["migration_background"]
    assert model.to_dict()["protected_features_used"] == ["migration_background"]
    assert model.summary.attrs["protected_features_used"] == ["migration_background"]


@pytest.mark.parametrize("cls", ALL)
def test_not_fitted(cls, df):
    with pytest.raises(NotFittedError, match="fit"):
        predictions(cls(), df)


@pytest.mark.parametrize("cls", ALL)
def test_missing_column_named(cls, df):
    with pytest.raises(anker.AnkerDataError, match="tightness"):
        cls().fit(df.drop(columns="tightness"))


@pytest.mark.parametrize("cls", ALL)
def test_out_of_range_values_rejected_at_fit(cls, df):
    bad = df.copy()
    bad.loc[bad.index[0], "age"] = 140
    with pytest.raises(anker.AnkerDataError, match="age"):
        cls().fit(bad)


@pytest.mark.parametrize("cls", ALL)
def test_unseen_level_reported_not_crashed(cls, df, fitted):
    new = df.head(4).copy()
    new["sector"] = ["space_travel"] * 4
    model = fitted[cls]
    with pytest.warns(UnseenLevelWarning, match="space_travel"):
        if cls is anker.ReintegrationTest:
            pred = model.predict_gain(new, extrapolate=True)
        elif cls is anker.BenefitDurationTest:
            pred = model.predict_survival(new, [91, 182])
        else:
            pred = model.predict_proba(new)
    assert np.isfinite(np.asarray(pred, dtype=float)).all()


@pytest.mark.parametrize("cls", ALL)
def test_explain_sums_to_linear_predictor_difference(cls, df, fitted):
    model = fitted[cls]
    top = len(model.features)
    ex = model.explain(df.head(6), top=top)
    assert list(ex.columns[:2]) == ["factor_1", "contribution_1"]
    total = ex[[f"contribution_{j}" for j in range(1, top + 1)]].sum(axis=1)
    sizes = ex[[f"contribution_{j}" for j in range(1, top + 1)]].abs()
    assert (sizes.diff(axis=1).iloc[:, 1:] <= 1e-12).all().all()  # sorted largest first
    if cls in (anker.ComplianceTest, anker.LabourMarketTest):
        lp = np.log(model.predict_proba(df.head(6)) / (1 - model.predict_proba(df.head(6))))
        X = model.spec_.transform(df)
        mean_lp = model.fit_.coef[0] + X.mean(axis=0) @ model.fit_.coef[1:]
        np.testing.assert_allclose(total, lp - mean_lp, atol=1e-9)


def test_compliance_bands_follow_cutoffs(df):
    nt = anker.ComplianceTest(cutoffs=(0.1, 0.2)).fit(df)
    p = nt.predict_proba(df)
    band = nt.band(df)
    assert (band[p < 0.1] == "low").all() and (band[p >= 0.2] == "high").all()
    assert (band[(p >= 0.1) & (p < 0.2)] == "medium").all()
    assert set(nt.advice(df)) <= {"standard monitoring", "extra monitoring", "intensive monitoring"}
    pd.testing.assert_series_equal(nt.flag(df), (band == "high").rename("flag_high_risk"))


def test_labour_market_route_threshold(df):
    amt = anker.LabourMarketTest(threshold=0.45).fit(df)
    p, route = amt.predict_proba(df), amt.route(df)
    assert ((p >= 0.45) == (route == "A")).all()


@pytest.mark.parametrize("cls,kwargs", [(anker.ComplianceTest, dict(cutoffs=(0.3, 0.2))),
                                        (anker.LabourMarketTest, dict(threshold=1.5)),
                                        (anker.ReintegrationTest, dict(trajectory_cost=-1)),
                                        (anker.BenefitDurationTest, dict(model="lognormal")),
                                        (anker.ComplianceTest, dict(features="age"))])
def test_bad_configuration(cls, kwargs):
    with pytest.raises((ValueError, TypeError)):
        cls(**kwargs)


def test_logistic_tests_match_statsmodels_formula(df):
    features = ["age", "education", "prior_sanctions", "culpable_dismissal", "tightness"]
    nt = anker.ComplianceTest(features=features).fit(df)
    ref = smf.logit("sanctioned_12m ~ age + C(education, Treatment('low')) + prior_sanctions"
                    " + culpable_dismissal + tightness", data=df).fit(disp=0)
    ours = nt.summary
    # statsmodels names: C(education, Treatment('low'))[T.high]
    mapping = {"intercept": "Intercept", "education[medium]": "C(education, Treatment('low'))[T.medium]",
               "education[high]": "C(education, Treatment('low'))[T.high]"}
    for term in ours.index:
        name = mapping.get(term, term)
        assert ours.loc[term, "coef"] == pytest.approx(ref.params[name], abs=1e-6)
        assert ours.loc[term, "se"] == pytest.approx(ref.bse[name], abs=1e-6)
        assert ours.loc[term, "p"] == pytest.approx(ref.pvalues[name], abs=1e-6)


def test_benefit_duration_matches_lifelines(df):
    features = ["age", "health_limitation", "tightness", "prior_spells"]
    bd = anker.BenefitDurationTest(features=features).fit(df)
    ref = CoxPHFitter().fit(df[features + ["duration_days", "exited"]], "duration_days", "exited")
    np.testing.assert_allclose(bd.summary["coef"], ref.params_[features], atol=1e-6)
    np.testing.assert_allclose(bd.summary["se"], ref.standard_errors_[features], atol=1e-6)
    expected = ref.predict_survival_function(df.head(5), times=[91, 182, 365]).T.to_numpy()
    np.testing.assert_allclose(bd.predict_survival(df.head(5), [91, 182, 365]), expected, atol=1e-7)


def test_benefit_duration_median_and_exhaustion(df, fitted):
    bd = fitted[anker.BenefitDurationTest]
    sub = df.head(50)
    median = bd.predict_median(sub)
    surv_at_median = np.diag(bd.predict_survival(sub, median.clip(upper=1e4).tolist()).to_numpy())
    finite = np.isfinite(median.to_numpy())
    assert (surv_at_median[finite] <= 0.5).all()
    p_ex = bd.predict_exhaustion(sub)
    # beyond follow-up P(exhausting) uses the Cox curve's last value, as extrapolate=True does
    own = np.diag(bd.predict_survival(sub, sub["entitlement_days"].tolist(),
                                      extrapolate=True).to_numpy())
    np.testing.assert_allclose(p_ex, own)


def test_weibull_option_extrapolates(df):
    bd = anker.BenefitDurationTest(model="weibull").fit(df)
    far = bd.predict_survival(df.head(3), [365, 2000, 4000], extrapolate=True).to_numpy()
    assert (np.diff(far, axis=1) < 0).all()  # still falling beyond follow-up
    assert "time_ratio" in bd.summary.columns


def test_reintegration_support_and_advice(df):
    rt = anker.ReintegrationTest(trajectory_cost=500, advice_confidence=0.5).fit(df)
    assert 0 <= rt.overlap_["share_outside_support"] < 0.05
    outside = rt.outside_support(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        advice = rt.advise(df)
    assert advice.loc[outside, "trajectory_gain"].isna().all()
    value = advice["trajectory_gain"] * rt.benefit_days_per_work_exit * rt.daily_benefit
    np.testing.assert_allclose(advice["trajectory_gain_eur"], value)
    inside = ~outside
    # advice_confidence=0.5: the point estimate decides
    assert ((advice.loc[inside, "trajectory_advice"] == "trajectory")
            == (value[inside] > 500)).all()
    assert {"trajectory", "trajectory:age"} <= set(rt.summary.index)
    assert "trajectory:sector[care]" not in rt.summary.index  # not a default effect modifier


def test_reintegration_advice_uses_lower_confidence_bound(df):
    rt = anker.ReintegrationTest(trajectory_cost=100, advice_confidence=0.95).fit(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        advice = rt.advise(df)
        interval = rt.predict_gain_interval(df, level=0.90)
    low_value = interval["ci_low"] * rt.benefit_days_per_work_exit * rt.daily_benefit
    ok = interval["ci_low"].notna()
    assert ((advice.loc[ok, "trajectory_advice"] == "trajectory") == (low_value[ok] > 100)).all()
    point = advice["trajectory_gain_eur"] > 100
    assert (advice["trajectory_advice"] == "trajectory").sum() <= point.sum()


def test_reintegration_gain_se_matches_numerical_delta_method(df):
    from anker.models.logistic import LogisticFit

    rt = anker.ReintegrationTest().fit(df)
    sub = df.head(8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interval = rt.predict_gain_interval(sub, level=0.95)
        base = rt.predict_gain(sub, extrapolate=True).to_numpy()
    fit, eps, grad = rt.outcome_fit_, 1e-6, []
    for j in range(fit.coef.size):
        shifted = fit.coef.copy()
        shifted[j] += eps
        rt.outcome_fit_ = LogisticFit(coef=shifted, cov=fit.cov, intercept=True, n=fit.n,
                                      loglik=fit.loglik, n_iter=fit.n_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grad.append((rt.predict_gain(sub, extrapolate=True).to_numpy() - base) / eps)
    rt.outcome_fit_ = fit
    grad = np.array(grad).T
    numerical = np.sqrt(np.einsum("ij,jk,ik->i", grad, fit.cov, grad))
    ok = interval["se"].notna().to_numpy()
    np.testing.assert_allclose(interval["se"].to_numpy()[ok], numerical[ok], rtol=1e-4)
    estimate, se = rt.average_gain(sub.iloc[np.flatnonzero(ok)])
    assert estimate == pytest.approx(base[ok].mean())
    assert se == pytest.approx(np.sqrt(grad[ok].mean(0) @ fit.cov @ grad[ok].mean(0)), rel=1e-4)


def test_reintegration_needs_both_arms(df):
    with pytest.raises(ValueError, match="trajectory"):
        anker.ReintegrationTest().fit(df.assign(trajectory=0))


def test_constant_outcome_refused(df):
    with pytest.raises(ValueError, match="sanctioned_12m"):
        anker.ComplianceTest().fit(df.assign(sanctioned_12m=0))


def test_wwb_check():
    flags = anker.wwb_check(pd.Series([0.2, 0.6, 0.51], index=[3, 4, 5]), threshold=0.5)
    assert flags.tolist() == [False, True, True] and flags.index.tolist() == [3, 4, 5]
    with pytest.raises(ValueError):
        anker.wwb_check(pd.Series([0.2, np.nan]))


def test_benefit_duration_on_public_data_with_own_column_names():
    # lifelines' bundled Rossi et al. (1980) data: other names for duration and event
    from lifelines.datasets import load_rossi

    rossi = load_rossi()
    features = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    bd = anker.BenefitDurationTest(duration_col="week", event_col="arrest", features=features,
                                   entitlement_col=None).fit(rossi)
    ref = CoxPHFitter().fit(rossi, "week", "arrest")
    np.testing.assert_allclose(bd.summary["coef"], ref.params_[features], atol=1e-6)
    np.testing.assert_allclose(bd.summary["se"], ref.standard_errors_[features], atol=1e-6)
    np.testing.assert_allclose(bd.summary["p"], ref.summary.loc[features, "p"], atol=1e-6)
    with pytest.raises(ValueError, match="entitlement"):
        bd.predict_exhaustion(rossi)
