"""AnkerModel: one profile per client, consistent with the four tests; JSON model files."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import anker
from anker.profile import SCHEMA_VERSION


@pytest.fixture(scope="module")
def df(small_population):
    return small_population.data


@pytest.fixture(scope="module")
def model(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return anker.AnkerModel().fit(df)


@pytest.fixture(scope="module")
def prof(model, df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.profile(df)


def test_one_row_per_input_row_same_index(model, df):
    sub = df.sample(25, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model.profile(sub)
    assert out.index.equals(sub.index)
    assert {"compliance_risk", "compliance_band", "p_work_6m", "route", "trajectory_gain",
            "trajectory_advice", "p_on_benefit_3m", "p_on_benefit_6m", "p_on_benefit_12m",
            "median_duration_days", "p_exhaust", "wwb_flag", "advice", "top_factors"} <= set(out)


def test_profile_agrees_with_the_tests(model, prof, df):
    pd.testing.assert_series_equal(prof["compliance_risk"], model.compliance.predict_proba(df),
                                   check_names=False)
    assert (prof["route"] == model.labour_market.route(df)).all()
    np.testing.assert_allclose(prof["p_on_benefit_6m"],
                               model.benefit_duration.predict_survival(df, [182])[182])
    assert (prof["wwb_flag"] == (prof["p_exhaust"] > model.wwb_threshold)).all()


def test_advice_text_matches_parts(prof):
    for _, row in prof.sample(50, random_state=1).iterrows():
        assert row["advice"].startswith(f"Route {row['route']}")
        assert ("WWB" in row["advice"]) == bool(row["wwb_flag"])
        assert row["monitoring"] in row["advice"]


def test_top_factors_are_the_largest_contributions(model, prof, df):
    ex = model.labour_market.explain(df.head(20), top=3)
    for i in range(20):
        names = [part.rsplit(" ", 1)[0] for part in prof["top_factors"].iloc[i].split(", ")]
        assert names == [ex[f"factor_{j}"].iloc[i] for j in (1, 2, 3)]
        signs = [part.rsplit(" ", 1)[1] for part in prof["top_factors"].iloc[i].split(", ")]
        assert signs == ["+" if ex[f"contribution_{j}"].iloc[i] >= 0 else "-" for j in (1, 2, 3)]


def test_profile_needs_no_outcome_columns(model, df):
    inflow_only = df.drop(columns=["sanctioned_12m", "duration_days", "exit_reason", "exited",
                                   "work_within_6m", "work_within_12m", "trajectory"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(model.profile(inflow_only.head(10))) == 10


def test_save_load_identical(model, df, tmp_path):
    path = tmp_path / "model.json"
    model.save(path)
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION and set(data["tests"]) == set(model.tests)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.testing.assert_frame_equal(anker.AnkerModel.load(path).profile(df.head(200)),
                                      model.profile(df.head(200)))


@pytest.mark.parametrize("damage", ["truncate", "foreign", "version", "missing_test", "binary"])
def test_damaged_model_file_clear_error(model, tmp_path, damage):
    path = tmp_path / "model.json"
    model.save(path)
    text = path.read_text()
    data = json.loads(text)
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "foreign":
        path.write_text(json.dumps({"hello": "world"}))
    elif damage == "version":
        path.write_text(json.dumps({**data, "schema_version": 42}))
    elif damage == "missing_test":
        del data["tests"]["reintegration"]
        path.write_text(json.dumps(data))
    else:
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(anker.AnkerModelFileError, match="model.json"):
        anker.AnkerModel.load(path)


def test_unfitted_model_refuses():
    with pytest.raises(ValueError, match="not fitted"):
        anker.AnkerModel().profile(pd.DataFrame({"age": [30]}))


def test_custom_tests_and_wrong_type():
    custom = anker.AnkerModel(labour_market=anker.LabourMarketTest(threshold=0.3))
    assert custom.labour_market.threshold == 0.3
    with pytest.raises(TypeError, match="labour_market"):
        anker.AnkerModel(labour_market=anker.ComplianceTest())


# ------------------------------------------------------------------ a subset of the tests
@pytest.fixture(scope="module")
def spells_only(df):
    """A site that has only spells, under its own names: no outcome of the other tests."""
    own = df[["age", "work_history_years", "duration_days", "exited"]].rename(
        columns={"duration_days": "spell", "exited": "ended"})
    bd = anker.BenefitDurationTest(duration_col="spell", event_col="ended",
                                   features=["age", "work_history_years"], entitlement_col=None)
    return own, anker.AnkerModel(benefit_duration=bd, tests=["benefit_duration"]).fit(own)


def test_a_subset_fits_and_profiles_only_the_named_tests(spells_only):
    own, model = spells_only
    assert list(model.tests) == ["benefit_duration"] and model.compliance is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prof = model.profile(own.head(30))
    assert set(prof.columns) == {"p_on_benefit_3m", "p_on_benefit_6m", "p_on_benefit_12m",
                                 "median_duration_days", "advice", "top_factors", "out_of_range"}
    assert prof.attrs["not_assessed"] == ["compliance", "labour_market", "reintegration"]
    assert set(prof.attrs["not_profiled"]) == {"p_exhaust", "wwb_flag"}
    assert prof["advice"].str.endswith("not assessed: compliance, labour_market, reintegration, "
                                       "p_exhaust, wwb_flag").all()
    np.testing.assert_allclose(prof["p_on_benefit_6m"],
                               model.benefit_duration.predict_survival(own.head(30), [182])[182])
    ex = model.benefit_duration.explain(own.head(30), top=2)
    assert prof["top_factors"].str.split(", ").str[0].str.rsplit(" ", n=1).str[0].tolist() == \
        ex["factor_1"].astype(str).tolist()


def test_a_subset_round_trips_through_the_model_file(spells_only, tmp_path):
    own, model = spells_only
    path = tmp_path / "spells.json"
    model.save(path)
    again = anker.AnkerModel.load(path)
    assert list(again.tests) == ["benefit_duration"]
    pd.testing.assert_frame_equal(again.profile(own.head(10)), model.profile(own.head(10)))


def test_two_tests_with_their_own_columns(df):
    amt = anker.LabourMarketTest(features=["age", "tightness"])
    bd = anker.BenefitDurationTest(features=["age", "work_history_years"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = anker.AnkerModel(labour_market=amt, benefit_duration=bd,
                                 tests=["labour_market", "benefit_duration"]).fit(df)
        prof = model.profile(df.head(40))
    assert {"route", "p_work_6m", "p_exhaust", "wwb_flag"} <= set(prof.columns)
    assert "compliance_risk" not in prof and prof.attrs["top_factors_from"] == "labour_market"
    assert prof["advice"].str.startswith("Route ").all()
    assert ((prof["advice"].str.contains("prepare early hand-over")) == prof["wwb_flag"]).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"tests": ["benefit_duration", "wwb"]}, "unknown test name"),
    ({"tests": []}, "name at least one"),
    ({"tests": "benefit_duration"}, "got the string"),
    ({"tests": ["compliance"], "benefit_duration": anker.BenefitDurationTest()},
     "leaves out \\['benefit_duration'\\]"),
])
def test_a_bad_subset_is_refused_naming_it(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        anker.AnkerModel(**kwargs)
