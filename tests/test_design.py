"""The one design-matrix builder: levels, reference, unseen levels, missing values, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anker
from anker.models.design import DesignSpec, UnseenLevelWarning, design_matrix


@pytest.fixture
def frame():
    return pd.DataFrame({"age": [30, 40, 50, 60], "education": ["low", "high", "medium", "low"],
                         "sector": ["b", "a", "a", "c"]})


def test_reference_levels_and_names(frame):
    X, spec = design_matrix(frame, ["age", "education", "sector"])
    # education: schema's preferred reference "low", natural order; sector: most frequent "a"
    assert spec.term_names == ("age", "education[medium]", "education[high]", "sector[b]", "sector[c]")
    np.testing.assert_array_equal(X, [[30, 0, 0, 1, 0], [40, 0, 1, 0, 0],
                                      [50, 1, 0, 0, 0], [60, 0, 0, 0, 1]])
    assert spec.term_features == ("age", "education", "education", "sector", "sector")


def test_unseen_level_warned_and_mapped_to_reference(frame):
    spec = DesignSpec.learn(frame, ["education"])
    new = pd.DataFrame({"education": ["phd", "phd", "high"]})
    with pytest.warns(UnseenLevelWarning, match=r"education: \{'phd': 2\}"):
        X = spec.transform(new)
    np.testing.assert_array_equal(X, [[0, 0], [0, 0], [0, 1]])


def test_missing_values_rejected_with_column_and_count(frame):
    bad = frame.astype({"age": float})
    bad.loc[1, "age"] = np.nan
    with pytest.raises(anker.AnkerDataError, match=r"age: 1 row") as info:
        design_matrix(bad, ["age", "education"])
    assert info.value.columns == ["age"]


def test_missing_column_named(frame):
    with pytest.raises(anker.AnkerDataError, match="shoe_size"):
        design_matrix(frame, ["age", "shoe_size"])


def test_duplicate_feature_rejected(frame):
    with pytest.raises(ValueError, match="more than once"):
        design_matrix(frame, ["age", "age"])


def test_numeric_column_that_became_text(frame):
    spec = DesignSpec.learn(frame, ["age"])
    with pytest.raises(anker.AnkerDataError, match="must be numeric"):
        spec.transform(frame.assign(age=["x", "y", "z", "w"]))


def test_json_round_trip(frame):
    spec = DesignSpec.learn(frame, ["age", "education", "sector"])
    again = DesignSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    np.testing.assert_array_equal(again.transform(frame), spec.transform(frame))


def test_damaged_spec():
    with pytest.raises(ValueError):
        DesignSpec.from_dict({"features": ["a"], "levels": {"b": ["x"]}})
    with pytest.raises(ValueError):
        DesignSpec.from_dict({"nonsense": 1})


@settings(max_examples=40, deadline=None)
@given(levels=st.lists(st.sampled_from(list("pqrstu")), min_size=2, max_size=40),
       values=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=40))
def test_rows_and_dummies_consistent(levels, values):
    n = min(len(levels), len(values))
    df = pd.DataFrame({"x": values[:n], "g": levels[:n]})
    X, spec = design_matrix(df, ["x", "g"])
    assert X.shape == (n, 1 + df["g"].nunique() - 1)
    dummies = X[:, 1:]
    # each row has at most one level flag; reference rows have none
    assert set(dummies.sum(axis=1)) <= {0.0, 1.0}
    reference = spec.levels["g"][0]
    assert (dummies.sum(axis=1) == 0).sum() == (df["g"] == reference).sum()


def test_check_rank_names_aliased_and_constant_columns():
    from anker.errors import AnkerDataError
    from anker.models.design import check_rank

    rng = np.random.default_rng(0)
    age = rng.uniform(18, 65, 200)
    other = rng.normal(size=200)
    check_rank(np.column_stack([age, age**2, other]), ["age", "age2", "other"])  # full rank
    with pytest.raises(AnkerDataError, match=r"'age_minus_18' = a combination of intercept, age") \
            as info:
        check_rank(np.column_stack([age, other, age - 18]), ["age", "other", "age_minus_18"])
    assert info.value.columns == ["age_minus_18", "age"]
    with pytest.raises(AnkerDataError, match="'flat' does not vary") as info:
        check_rank(np.column_stack([age, np.full(200, 3.0)]), ["age", "flat"])
    assert info.value.columns == ["flat"]
    # dummies of one feature that sum to another column: aliased, named by feature
    g = rng.integers(0, 2, 200).astype(float)
    with pytest.raises(AnkerDataError) as info:
        check_rank(np.column_stack([g, 1 - g]), ["sex[female]", "male"], owners=["sex", "male"])
    assert set(info.value.columns) == {"sex", "male"}


def test_every_test_refuses_collinear_or_constant_features():
    import anker
    from anker.errors import AnkerDataError

    df = anker.simulate_population(n_per_cohort=400, seed=2).data
    df["age_minus_18"] = df["age"] - 18
    df["const"] = 1.0
    for test in (anker.ComplianceTest, anker.LabourMarketTest, anker.ReintegrationTest,
                 anker.BenefitDurationTest):
        with pytest.raises(AnkerDataError, match="age_minus_18") as info:
            test(features=["age", "tightness", "age_minus_18"]).fit(df)
        assert "age_minus_18" in info.value.columns
        with pytest.raises(AnkerDataError, match="'const' does not vary"):
            test(features=["age", "const"]).fit(df)
    with pytest.raises(AnkerDataError, match="'const' does not vary"):
        anker.BenefitDurationTest(model="weibull", features=["const"]).fit(df)


def test_reference_level_from_a_categorical_order_or_an_argument():
    df = pd.DataFrame({"ui": ["yes"] * 5 + ["no"] * 3 + ["maybe"] * 2, "age": range(10)})
    # by default the most frequent level
    assert DesignSpec.learn(df, ["ui", "age"]).levels["ui"] == ("yes", "maybe", "no")
    chosen = DesignSpec.learn(df, ["ui", "age"], reference_levels={"ui": "no"})
    assert chosen.levels["ui"][0] == "no"
    X = chosen.transform(df)
    assert X[df["ui"] == "no"][:, :2].sum() == 0  # the reference has no column
    ordered = df.assign(ui=pd.Categorical(df["ui"], categories=["maybe", "no", "yes", "never"]))
    spec = DesignSpec.learn(ordered, ["ui", "age"])
    assert spec.levels["ui"] == ("maybe", "no", "yes")  # the order kept, unseen 'never' has no rows
    with pytest.raises(ValueError, match="'unknown' is not a level of 'ui'"):
        DesignSpec.learn(df, ["ui"], reference_levels={"ui": "unknown"})
    with pytest.raises(ValueError, match="'age' is numeric"):
        DesignSpec.learn(df, ["ui", "age"], reference_levels={"age": 30})
    with pytest.raises(ValueError, match="are not features"):
        DesignSpec.learn(df, ["age"], reference_levels={"ui": "no"})


def test_reference_levels_reach_the_models():
    import anker

    pop = anker.simulate_population(n_per_cohort=800, seed=3).data
    bd = anker.BenefitDurationTest(features=["age", "sector"],
                                   reference_levels={"sector": "care"}).fit(pop)
    assert "sector[care]" not in bd.summary.index and "sector[industry]" in bd.summary.index
    again = anker.BenefitDurationTest.from_dict(bd.to_dict())
    assert again.reference_levels == {"sector": "care"}
    cmp = anker.compare_cohorts(pop, reference="casemanagement_2004", covariates=["age", "sector"],
                                reference_levels={"sector": "care"}, method="gcomp", n_boot=0)
    assert "sector[industry]" in cmp.terms and "sector[care]" not in cmp.terms


def test_rows_build_the_matrix_of_those_rows_in_that_order():
    df = anker.simulate_population(n_per_cohort=300, seed=2).data
    features = list(anker.ComplianceTest().features)
    X, spec = design_matrix(df, features)
    rows = np.random.default_rng(0).permutation(len(df))[:400]
    np.testing.assert_array_equal(spec.transform(df, rows=rows), X[rows])
    X_rows, spec_rows = design_matrix(df, features, rows=rows)
    assert spec_rows == spec
    np.testing.assert_array_equal(X_rows, X[rows])


def test_coded_design_gives_the_matrix_its_products_and_contributions():
    from anker.models.encoding import CodedDesign

    df = anker.simulate_population(n_per_cohort=300, seed=4).data
    test = anker.LabourMarketTest().fit(df)
    new = df.assign(sector=df["sector"].where(df.index % 7 != 0, "space"))  # an unseen level
    with pytest.warns(UnseenLevelWarning, match="space"):
        X = test.spec_.transform(new)
    with pytest.warns(UnseenLevelWarning, match="space"):
        coded = CodedDesign(test.spec_, new)
    np.testing.assert_array_equal(coded.dense(), X)
    np.testing.assert_array_equal(coded.dense(np.arange(5)[::-1]), X[4::-1])
    W = np.random.default_rng(1).normal(size=(X.shape[1], 3))
    np.testing.assert_allclose(coded.dot(W), X @ W, rtol=1e-13, atol=1e-12)
    coef, reference = test._explain_weights()
    # the dummies pick one coefficient each: the same numbers exactly, features by rows
    np.testing.assert_array_equal(coded.contributions(coef, reference, test.features),
                                  test._contributions(X, coef, reference).T)


def _shared_text_cases():
    rng = np.random.default_rng(0)
    pick = rng.integers(0, 4, 20_000)
    shared = np.array(["low", "medium", "high", "x"], dtype=object)[pick]
    # equal text in different objects, built at run time (not interned)
    twins = np.array(["".join(["lo", "w"]), "".join(["lo", "w"]), "high", "mid"], dtype=object)
    frame = pd.DataFrame({"a": shared, "b": twins[pick], "n": pick})
    with_na = pd.Series(shared).mask(pd.Series(pick == 3))
    mixed = pd.Series(np.array([1, "1", 1.0, "b"], dtype=object)[pick])
    many = pd.Series(np.array([f"level {i}" for i in range(5_000)], dtype=object)[
        rng.integers(0, 5_000, 20_000)])
    return {"shared": pd.Series(shared), "twins": frame["b"], "strided": frame["a"],
            "missing": with_na, "mixed": mixed, "many": many}


@pytest.mark.parametrize("case", list(_shared_text_cases()))
def test_category_codes_of_shared_strings_equal_pandas_factorize(case):
    """The fast path hashes string objects by address: codes and level texts must be those
    of hashing the text (pandas.factorize, then one level per text)."""
    from anker.models.encoding import _shared_string_codes, category_codes

    series = _shared_text_cases()[case]
    codes, labels = category_codes(series)
    want_codes, want_uniques = pd.factorize(series, use_na_sentinel=True)
    text = pd.Index(want_uniques).astype(str)
    if text.is_unique:
        np.testing.assert_array_equal(codes, want_codes)
        assert labels == [str(v) for v in text]
    else:  # 1 and "1": one level, as astype(str) reads them
        assert [labels[c] if c >= 0 else None for c in codes] == [
            None if c < 0 else str(want_uniques[c]) for c in want_codes]
    fast = _shared_string_codes(series)
    # taken only for a few str objects; missing values, numbers or many levels go to pandas
    assert (fast is not None) == (case in ("shared", "twins", "strided"))
    if fast is not None:
        np.testing.assert_array_equal(fast[0], want_codes)
        assert list(fast[1]) == list(want_uniques)
