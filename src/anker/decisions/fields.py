"""The fields of one decision: text, ids, scores and timestamps, checked before they are stored.

Timestamps are kept as one fixed-width ISO 8601 text in UTC with
microseconds (``2007-03-01T09:30:00.000000+00:00``), which sorts as text and
reads back in any language; `record` accepts the years 1970-2199 only, and
reading never fails on a stored value outside pandas' calendar (it becomes
NaT with a warning naming its ids).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from anker.errors import AnkerWarning

_YEARS = (1970, 2199)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _text(value: Any, name: str, *, required: bool = False, integer: bool = False) -> str | None:
    """Strip text (``integer``: also accept an int id); empty or missing -> None."""
    if integer and isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = str(int(value))
    if not (_missing(value) or isinstance(value, str)):
        kind = "a string or an integer" if integer else "a string"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    value = None if _missing(value) else value.strip() or None
    if value is not None and "\x00" in value:
        raise ValueError(f"{name} contains a NUL character, which a decision log does not store")
    if required and value is None:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _utc_text(timestamp: datetime | None) -> str:
    if timestamp is None:
        timestamp = datetime.now(timezone.utc)
    if not isinstance(timestamp, datetime):
        raise TypeError(f"timestamp must be a datetime, got {type(timestamp).__name__}")
    if timestamp.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware (e.g. datetime.now(timezone.utc))")
    utc = timestamp.astimezone(timezone.utc)
    if not _YEARS[0] <= utc.year <= _YEARS[1]:
        raise ValueError(f"timestamp {utc.isoformat()} lies outside the years {_YEARS[0]}-"
                         f"{_YEARS[1]} that a decision log accepts")
    # one fixed-width ISO form: sorts as text and reads back with any datetime library
    return utc.isoformat(timespec="microseconds")


def _read_timestamps(text: pd.Series, ids: pd.Series, name: str) -> pd.Series:
    """UTC datetimes; a stored value that cannot be one (say the year 2300, written by an
    older anker or by hand) becomes NaT with a warning naming its ids, never an error."""
    values = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    bad = values.isna() & text.notna()
    if bad.any():
        shown = ", ".join(f"id {i}: {t!r}" for i, t in zip(ids[bad][:5], text[bad][:5], strict=True))
        warnings.warn(f"decision log {name}: {int(bad.sum())} timestamp(s) cannot be read as a "
                      f"date between 1677 and 2262 and are shown as NaT ({shown})",
                      AnkerWarning, stacklevel=3)
    return values.astype("datetime64[ns, UTC]")


def _scores_json(scores: Any) -> str | None:
    if scores is None or isinstance(scores, str):
        try:
            return None if scores is None else json.dumps(json.loads(scores))
        except json.JSONDecodeError as exc:
            raise ValueError(f"scores is a string but not JSON: {exc}") from None
    if not isinstance(scores, (Mapping, pd.Series)):
        raise TypeError(f"scores must be a mapping, a Series or JSON text, got {type(scores).__name__}")
    plain = {str(k): v.item() if isinstance(v, np.generic) else v for k, v in dict(scores).items()}
    # a score the model could not give (NaN) is stored as null, valid JSON
    plain = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in plain.items()}
    try:
        return json.dumps(plain, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"scores must hold JSON values (numbers, text, lists): {exc}") from None
