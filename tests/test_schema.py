"""validate(): every kind of damage is caught and named; valid frames pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anker
from anker.schema import SCHEMA

NUMERIC = [c.name for c in SCHEMA.values() if c.kind in ("int", "number")]
FLAGS = [c.name for c in SCHEMA.values() if c.kind == "flag"]


@pytest.fixture(scope="module")
def frame():
    return anker.simulate_population(n_per_cohort=150, seed=5).data


def problems_of(df, **kw):
    with pytest.raises(anker.AnkerDataError) as info:
        anker.validate(df, **kw)
    return info.value


def test_valid_frame_passes_and_is_returned(frame):
    assert anker.validate(frame) is frame


def test_csv_round_trip_validates(frame, tmp_path):
    path = tmp_path / "x.csv"
    frame.to_csv(path, index=False)
    anker.validate(pd.read_csv(path))


@pytest.mark.parametrize("column", list(SCHEMA))
def test_missing_column_is_named(frame, column):
    err = problems_of(frame.drop(columns=column))
    assert column in err.columns
    assert "missing column" in str(err)


def test_every_problem_listed_at_once(frame):
    bad = frame.drop(columns=["age", "sector"]).copy()
    bad.loc[bad.index[3], "duration_days"] = -5
    bad.loc[bad.index[4], "exited"] = 2
    err = problems_of(bad)
    assert {"age", "sector", "duration_days", "exited"} <= set(err.columns)


def test_examples_name_rows(frame):
    bad = frame.copy()
    bad.loc[bad.index[7], "tightness"] = -1.0
    err = problems_of(bad)
    assert "tightness" in err.columns and "index 7" in str(err)


def test_wrong_dtype(frame):
    bad = frame.copy()
    bad["age"] = bad["age"].astype(str)
    bad.loc[bad.index[0], "age"] = "forty"
    err = problems_of(bad)
    assert err.columns == ["age"] and "expected numbers" in str(err)


def test_duration_above_entitlement(frame):
    bad = frame.copy()
    i = bad.index[0]
    bad.loc[i, "duration_days"] = bad.loc[i, "entitlement_days"] + 10
    err = problems_of(bad)
    assert "duration_days" in err.columns and "entitlement" in str(err)


def test_exit_reason_inconsistent_with_event_flag(frame):
    bad = frame.copy()
    i = bad.index[bad["exit_reason"] == "work"][0]
    bad.loc[i, "exited"] = 0
    err = problems_of(bad)
    assert "exit_reason" in err.columns


def test_duplicate_spells(frame):
    bad = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)
    err = problems_of(bad)
    assert "client_id" in err.columns and "duplicate" in str(err)


def test_unparseable_date(frame):
    bad = frame.copy()
    bad.loc[bad.index[2], "inflow_date"] = "31/31/2004"
    assert "inflow_date" in problems_of(bad).columns


def test_columns_subset_checks_only_those(frame):
    sub = frame[["duration_days", "exited"]].copy()
    assert anker.validate(sub, columns=["duration_days", "exited"]) is sub
    sub.loc[sub.index[0], "exited"] = 3
    assert problems_of(sub, columns=["duration_days", "exited"]).columns == ["exited"]


def test_unknown_column_argument(frame):
    with pytest.raises(ValueError, match="not in the schema"):
        anker.validate(frame, columns=["shoe_size"])


def test_not_a_frame():
    with pytest.raises(anker.AnkerDataError, match="DataFrame"):
        anker.validate([1, 2, 3])


def test_booleans_accepted_as_flags(frame):
    ok = frame.copy()
    ok["trajectory"] = ok["trajectory"].astype(bool)
    anker.validate(ok)


# ---- property-based: damage of any kind, in any row, is caught and named -------------

DAMAGE = {
    "negative": (NUMERIC, -1e6),
    "nan": (NUMERIC + FLAGS, np.nan),
    "flag_not_binary": (FLAGS, 2),
    "infinite": (NUMERIC, np.inf),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(DAMAGE)), data=st.data())
def test_damaged_frames_always_rejected_with_column_named(frame, kind, data):
    columns, value = DAMAGE[kind]
    column = data.draw(st.sampled_from(columns), label="column")
    row = data.draw(st.integers(0, len(frame) - 1), label="row")
    bad = frame.copy()
    if isinstance(value, float) and not np.isnan(value) and pd.api.types.is_integer_dtype(bad[column]):
        bad[column] = bad[column].astype(float)
    bad.loc[bad.index[row], column] = value
    err = problems_of(bad)
    assert column in err.columns


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60),
       hr=st.floats(0.5, 2.0, allow_nan=False))
def test_simulated_frames_always_pass(seed, n, hr):
    pop = anker.simulate_population(n_per_cohort=n, seed=seed, coaching_hazard_ratio=hr)
    anker.validate(pop.data)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.integers(0, 299), min_size=1, max_size=20, unique=True))
def test_any_row_subset_passes(frame, rows):
    anker.validate(frame.iloc[sorted(rows)])
