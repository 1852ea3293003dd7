"""Model files: validated against their schema when loaded; training ranges checked at predict time."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import anker
from anker.errors import AnkerModelFileError, OutOfRangeWarning


@pytest.fixture(scope="module")
def fitted():
    df = anker.simulate_population(n_per_cohort=800, seed=12).data
    return anker.AnkerModel().fit(df), df


@pytest.fixture
def saved(fitted, tmp_path):
    model, _ = fitted
    path = tmp_path / "model.json"
    model.save(path)
    return path, json.loads(path.read_text())


def _load(tmp_path, data=None, text=None):
    path = tmp_path / "damaged.json"
    path.write_text(text if text is not None else json.dumps(data))
    return anker.AnkerModel.load(path)


def test_round_trip_keeps_predictions_and_ranges(fitted, saved):
    model, df = fitted
    path, data = saved
    again = anker.AnkerModel.load(path)
    assert again.profile(df.head(50)).equals(model.profile(df.head(50)))
    ranges = data["tests"]["labour_market"]["ranges"]
    assert ranges["age"] == [float(df["age"].min()), float(df["age"].max())]
    assert "education" not in ranges  # categorical: unseen levels are reported instead


@pytest.mark.parametrize("value", [None, "NaN", "Infinity", "-Infinity", "1e999", '"0.3"'])
def test_a_damaged_coefficient_never_loads(saved, tmp_path, value):
    _, data = saved
    text = json.dumps(data).replace('"coef": [', f'"coef": [{"null" if value is None else value}, ', 1)
    # the replacement adds one coefficient: an error either way, but it must be the content's
    with pytest.raises(AnkerModelFileError):
        _load(tmp_path, text=text)
    damaged = json.loads(json.dumps(data))
    damaged["tests"]["labour_market"]["state"]["coef"][1] = (
        None if value is None else json.loads(value) if value.startswith('"') else 0.0)
    if value is None or value.startswith('"'):
        with pytest.raises(AnkerModelFileError, match="labour_market|LabourMarketTest"):
            _load(tmp_path, damaged)


def test_the_library_protected_policy_applies_not_the_file(saved, tmp_path):
    _, data = saved
    test = data["tests"]["compliance"]
    test["config"]["protected"] = []  # the file tries to protect nothing
    test["config"]["features"].append("sex")
    test["design"]["features"].append("sex")
    test["design"]["levels"]["sex"] = ["male", "female"]
    test["state"]["coef"].append(0.5)
    with pytest.raises(AnkerModelFileError, match="protected.*sex"):
        _load(tmp_path, data)
    test["config"]["allow_protected"] = True  # an explicit opt-in loads and is reported
    k = len(test["state"]["coef"])
    test["state"]["cov"] = np.eye(k).tolist()
    test["state"]["x_mean"].append(0.5)
    model = _load(tmp_path, data)
    assert model.compliance.protected_features_used == ["sex"]
    assert "migration_background" in model.compliance.protected


@pytest.mark.parametrize("text", ["[" * 1000 + "]" * 1000, '{"a": ' * 1000 + "1" + "}" * 1000,
                                  "[]", "3", '"x"', "{" + '"k": 1,' * 3 + '"z": 2}'])
def test_structure_bounds(tmp_path, text):
    with pytest.raises(AnkerModelFileError):
        _load(tmp_path, text=text)


def test_settings_and_baseline_are_checked(saved, tmp_path):
    _, data = saved
    for key, value in (("top_factors", 1e9), ("top_factors", 0), ("top_factors", True),
                       ("wwb_threshold", 1.5), ("wwb_threshold", None)):
        damaged = json.loads(json.dumps(data))
        damaged["config"][key] = value
        with pytest.raises(AnkerModelFileError, match=key):
            _load(tmp_path, damaged)
    damaged = json.loads(json.dumps(data))
    damaged["tests"]["benefit_duration"]["state"].update(baseline_times=[], baseline_cumhaz=[])
    with pytest.raises(AnkerModelFileError, match="baseline"):
        _load(tmp_path, damaged)
    damaged = json.loads(json.dumps(data))
    damaged["tests"]["compliance"]["ranges"] = {"age": [70, 20]}
    with pytest.raises(AnkerModelFileError, match="ranges"):
        _load(tmp_path, damaged)


def test_more_top_factors_than_features_is_not_a_crash(fitted):
    _, df = fitted
    few = anker.LabourMarketTest(features=["age", "tightness"])
    model = anker.AnkerModel(labour_market=few, top_factors=5).fit(df)
    assert model.profile(df.head(3))["top_factors"].str.count(",").max() == 1


def test_clients_outside_the_training_range_are_warned_and_counted(fitted):
    model, df = fitted
    new = df.head(20).copy()
    new.loc[new.index[0], "age"] = 150
    new.loc[new.index[1], "age"] = -40
    new.loc[new.index[2], "tightness"] = 1e6
    with pytest.warns(OutOfRangeWarning, match="3 of 20 client") as record:
        prof = model.profile(new)
    counts = [w.message.counts for w in record if issubclass(w.category, OutOfRangeWarning)]
    assert counts[0] == {"age": 2, "tightness": 1}
    assert len(prof) == 20
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfRangeWarning)
        model.profile(df.head(20))  # the training data itself: no warning


def test_each_client_outside_the_range_is_named_in_its_profile(fitted):
    model, df = fitted
    new = df.head(6).copy()
    new.loc[new.index[0], ["age", "tightness"]] = [150, 1e6]
    new.loc[new.index[1], "age"] = -40
    new.loc[new.index[2], "tightness"] = 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        prof = model.profile(new)
    # the truth by hand: the fitting data's own minimum and maximum of each feature
    assert df["age"].max() < 150 and df["age"].min() > -40 and df["tightness"].max() < 1e6
    assert prof["out_of_range"].tolist() == ["age, tightness", "age", "tightness", "", "", ""]
    assert (model.profile(df.head(50))["out_of_range"] == "").all()
    subset = anker.AnkerModel(labour_market=model.labour_market, tests=["labour_market"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        assert subset.profile(new)["out_of_range"].tolist()[:3] == ["age, tightness", "age",
                                                                    "tightness"]
