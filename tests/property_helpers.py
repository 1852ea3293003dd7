"""What the property-based suites accept as an outcome, and the damage they do to data.

Every input to a public entry point must end in one of three ways: a result
(with no NaN that no warning explains), an anker error (or a plain
ValueError / TypeError with a message naming the argument), or an anker
warning next to a result. A foreign exception (numpy's LinAlgError, a pandas
parser error, RecursionError, ...) fails the property.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from anker.errors import AnkerError

# CI explores the same examples every run (no flaky CI); a developer's run explores new ones
CI = os.environ.get("CI", "").lower() == "true"
# messages of foreign exceptions that once leaked through a ValueError
FOREIGN_TEXT = ("zero-size array", "Unable to parse string", "Cannot mask", "SVD did not converge",
                "Singular matrix", "could not convert string", "invalid literal")

NUMERIC = ["age", "work_history_years", "daily_wage", "prior_spells", "tightness",
           "unemployment_rate", "duration_days", "entitlement_days"]
CATEGORICAL = ["education", "sector", "occupation_group", "region"]
FLAGS = ["exited", "work_within_6m", "sanctioned_12m", "trajectory", "culpable_dismissal"]

BAD_CELLS = st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, -40, 150, 1e6, 0, "12a",
                             "34 yrs", "0,252", "", "b", None, True])


@st.composite
def damage(draw, base: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``base`` with one to three kinds of damage a user's file can have."""
    df = base.copy()
    n_rows = draw(st.sampled_from([len(df), len(df), 40, 12, 3]))
    if n_rows < len(df):
        df = df.sample(n_rows, random_state=draw(st.integers(0, 1000))).reset_index(drop=True)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["cell", "constant", "collinear", "nullable", "drop",
                                     "separating", "text_column", "none"]))
        column = draw(st.sampled_from([c for c in NUMERIC + CATEGORICAL + FLAGS if c in df]
                                      or ["client_id"]))
        if kind == "cell":
            rows = draw(st.lists(st.integers(0, len(df) - 1), min_size=1, max_size=3))
            value = draw(BAD_CELLS)
            df[column] = df[column].astype(object)
            for r in rows:
                df.at[r, column] = value
            converted = pd.to_numeric(df[column], errors="coerce")
            if converted.notna().sum() == df[column].notna().sum():
                df[column] = converted
        elif kind == "constant":
            df[column] = df[column].iloc[0]
        elif kind == "collinear" and column in NUMERIC and column != "age":
            df["age"] = pd.to_numeric(df[column], errors="coerce") * 2 - 18
        elif kind == "nullable" and column in NUMERIC + FLAGS:
            values = pd.to_numeric(df[column], errors="coerce").round()
            values = values.where(np.isfinite(values) & (values.abs() < 1e15))
            df[column] = values.astype("Int64")
            df.loc[df.index[0], column] = pd.NA
        elif kind == "drop":
            df = df.drop(columns=column)
        elif kind == "separating" and "exited" in df and "work_within_6m" in df:
            df["culpable_dismissal"] = df["work_within_6m"]
        elif kind == "text_column":
            df[column] = "x"
    return df


def outcome(call) -> tuple[str, object]:
    """Run ``call``; return ("result", value), ("error", exc). Foreign failures raise."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = call()
        except AnkerError as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            return "error", exc
        except (ValueError, TypeError) as exc:
            # plain ValueError/TypeError only: LinAlgError, ParserError etc. subclass ValueError
            assert type(exc) in (ValueError, TypeError), f"foreign {type(exc).__name__}: {exc}"
            assert not any(t in str(exc) for t in FOREIGN_TEXT), f"foreign message: {exc}"
            return "error", exc
    explained = any(issubclass(w.category, UserWarning) for w in caught)
    assert_no_silent_nan(value, explained)
    return "result", value


def assert_no_silent_nan(value, explained: bool) -> None:
    frames = [value] if isinstance(value, (pd.DataFrame, pd.Series)) else []
    if hasattr(value, "summary") and not callable(value.summary):
        try:
            frames.append(value.summary)
        except (AttributeError, ValueError, TypeError):
            pass
    for frame in frames:
        numeric = frame.select_dtypes("number") if isinstance(frame, pd.DataFrame) else (
            frame if pd.api.types.is_numeric_dtype(frame) else None)
        if numeric is None or isinstance(frame, str):
            continue
        nan = np.isnan(np.asarray(numeric, dtype=float)).any()
        # a table may explain its own gaps in a notes column
        noted = isinstance(frame, pd.DataFrame) and any(
            c in frame and frame[c].astype(str).str.strip().ne("").any() for c in ("notes", "note"))
        assert not nan or explained or noted, f"NaN without a warning in\n{frame}"
