"""Client-record schema: one row per WW benefit spell, and ``validate``.

Durations are calendar days (unless a model is given another
``time_unit``, see :class:`TimeUnit`). Every column has a kind (identifier, category,
date, integer, number or 0/1 flag) and, where it makes sense, an allowed
range. ``validate`` checks all of it at once and raises
:class:`anker.AnkerDataError` listing every problem by column, with a few
example rows, so a user fixes a file in one pass instead of ten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anker.errors import AnkerDataError

EXIT_REASONS = ("work", "exhausted", "other", "censored")
# Durations in data are calendar days; a benefit day (uitkeringsdag) is a working day.
BENEFIT_DAYS_PER_YEAR = 261
CALENDAR_DAYS_PER_YEAR = 365
BENEFIT_DAYS_PER_CALENDAR_DAY = BENEFIT_DAYS_PER_YEAR / CALENDAR_DAYS_PER_YEAR
PROTECTED = ("sex", "migration_background")
# known at inflow, not protected: the default features of every model
INFLOW_FEATURES = ("age", "education", "occupation_group", "sector", "work_history_years",
                   "daily_wage", "prior_spells", "prior_sanctions", "culpable_dismissal",
                   "registration_lag_days", "health_limitation", "tightness",
                   "unemployment_rate", "entitlement_days")
# the cohort comparison's default adjustment: the inflow features less the entitlement
# (an outcome scale, not a confounder); never the protected attributes unless listed
COMPARISON_COVARIATES = tuple(f for f in INFLOW_FEATURES if f != "entitlement_days")
MAX_EXAMPLES = 3


@dataclass(frozen=True)
class Column:
    """One column of the client record.

    ``kind`` is one of ``id``, ``category``, ``date``, ``int``, ``number``,
    ``flag``; ``low``/``high`` bound numeric values (inclusive).
    """

    name: str
    kind: str
    description: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    levels: tuple[str, ...] | None = None
    protected: bool = False


SCHEMA: dict[str, Column] = {
    c.name: c
    for c in [
        Column("client_id", "id", "pseudonymous client identifier"),
        Column("cohort", "category", "inflow cohort / regime, e.g. casemanagement_2004, coaching_2007"),
        Column("inflow_date", "date", "first day of the benefit spell", "date"),
        Column("region", "category", "labour-market region of residence"),
        Column("office", "category", "UWV office handling the claim"),
        Column("coach_id", "category", "case manager or reintegration coach"),
        Column("age", "int", "age at inflow", "years", 15, 67),
        Column("sex", "category", "sex (protected attribute)", protected=True),
        Column("education", "category", "highest completed education: low, medium, high"),
        Column("migration_background", "category", "migration background (protected attribute)",
               protected=True),
        Column("occupation_group", "category", "occupation group of the last job"),
        Column("sector", "category", "sector of the last employer"),
        Column("work_history_years", "number", "years of employment history", "years", 0, 52),
        Column("daily_wage", "number", "daily wage on which the benefit is based", "EUR per day",
               0, 1000),
        Column("prior_spells", "int", "earlier WW spells", "count", 0, 100),
        Column("prior_sanctions", "int", "earlier sanctions (maatregelen)", "count", 0, 100),
        Column("culpable_dismissal", "flag", "dismissal partly the claimant's own doing (0/1)"),
        Column("registration_lag_days", "int", "days between job loss and registration",
               "calendar days", 0, 3650),
        Column("health_limitation", "flag", "reported health limitation for work (0/1)"),
        Column("tightness", "number", "vacancies per jobseeker, region x occupation, at inflow",
               "ratio", 0, 100),
        Column("unemployment_rate", "number", "registered unemployment rate of the region at inflow",
               "fraction", 0, 1),
        Column("entitlement_days", "int", "maximum WW duration", "calendar days", 1, 5 * 366 + 1),
        Column("trajectory", "flag", "a reintegration trajectory was bought (0/1)"),
        Column("sanctioned_12m", "flag", "sanctioned within 12 months of inflow (0/1)"),
        Column("duration_days", "number", "observed spell length", "calendar days", 0, 20 * 366),
        Column("exit_reason", "category", "work, exhausted, other or censored", levels=EXIT_REASONS),
        Column("exited", "flag", "spell ended by an exit (work or other), 0 if exhausted or censored"),
        Column("work_within_6m", "flag", "left benefit for work within 182 days (0/1)"),
        Column("work_within_12m", "flag", "left benefit for work within 365 days (0/1)"),
    ]
}

# rules between columns: (name, columns it needs)
_RULES: dict[str, tuple[str, ...]] = {
    "duration_above_entitlement": ("duration_days", "entitlement_days"),
    "exit_reason_vs_exited": ("exit_reason", "exited"),
    "exhausted_before_entitlement": ("exit_reason", "duration_days", "entitlement_days"),
    "work_flags_vs_exit": ("work_within_6m", "work_within_12m", "exit_reason", "duration_days"),
    "duplicate_spells": ("client_id", "inflow_date"),
}


class _Problems:
    """Collects problems per column with example row labels."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, column: str, message: str, rows: pd.Index | None = None) -> None:
        if rows is not None and len(rows):
            examples = ", ".join(repr(r) for r in list(rows[:MAX_EXAMPLES]))
            more = f" (+{len(rows) - MAX_EXAMPLES} more)" if len(rows) > MAX_EXAMPLES else ""
            message = f"{message}: {len(rows)} row(s), e.g. index {examples}{more}"
        self.items.append((column, message))

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(c for c, _ in self.items))

    def raise_if_any(self, n_rows: int) -> None:
        if not self.items:
            return
        lines = [f"{len(self.items)} problem(s) in {n_rows} record(s):"]
        lines += [f"  - {column}: {message}" for column, message in self.items]
        raise AnkerDataError("\n".join(lines), columns=self.columns)


def _as_numeric(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    return pd.to_numeric(series, errors="coerce")


def _missing(values: pd.Series) -> np.ndarray | None:
    """Where ``values`` are missing, or None when nothing is (cheap for text columns)."""
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
        return None  # every value a str: one type check per value, no missing-value test
    missing = values.isna().to_numpy()
    return missing if missing.any() else None


def _check_column(df: pd.DataFrame, col: Column, problems: _Problems) -> None:
    values = df[col.name]
    missing = _missing(values)
    if missing is not None:
        problems.add(col.name, "missing values", df.index[missing])
    present = values if missing is None else values[~missing]
    if col.kind in ("int", "number", "flag"):
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            numeric = _as_numeric(present)
            bad = numeric.isna()
            problems.add(col.name, f"wrong type {values.dtype}, expected numbers",
                         present.index[bad.to_numpy()] if bad.any() else None)
            return
        arr = present.to_numpy(dtype=float)
        finite = np.isfinite(arr)
        if not finite.all():
            problems.add(col.name, "infinite values", present.index[~finite])
        if col.kind == "flag":
            bad = (arr != 0) & (arr != 1)
            if bad.any():
                problems.add(col.name, "event/flag values other than 0/1", present.index[bad])
            return
        if col.kind == "int" and values.dtype.kind == "f":
            frac = finite & (np.where(finite, arr, 0.0) % 1 != 0)
            if frac.any():
                problems.add(col.name, "non-integer values", present.index[frac])
        if col.low is not None:
            low = finite & (arr < col.low)
            if low.any():
                problems.add(col.name, f"values below {col.low:g} {col.unit}".rstrip(),
                             present.index[low])
        if col.high is not None:
            high = finite & (arr > col.high)
            if high.any():
                problems.add(col.name, f"values above {col.high:g} {col.unit}".rstrip(),
                             present.index[high])
    elif col.kind == "date":
        parsed = pd.to_datetime(present, errors="coerce") if not pd.api.types.is_datetime64_any_dtype(
            values) else present
        bad = parsed.isna()
        if bad.any():
            problems.add(col.name, "not a date (use ISO yyyy-mm-dd)", present.index[bad.to_numpy()])
    elif col.levels is not None:
        bad = ~present.astype(str).isin(col.levels)
        if bad.any():
            problems.add(col.name, f"values outside {list(col.levels)}", present.index[bad.to_numpy()])


def _numeric(df: pd.DataFrame, name: str) -> pd.Series:
    return _as_numeric(df[name])


def _check_rules(df: pd.DataFrame, present: set[str], problems: _Problems) -> None:
    def active(rule: str) -> bool:
        return set(_RULES[rule]) <= present

    if active("duration_above_entitlement"):
        over = _numeric(df, "duration_days") > _numeric(df, "entitlement_days")
        if over.any():
            problems.add("duration_days", "duration above entitlement_days", df.index[over.to_numpy()])
    if active("exit_reason_vs_exited"):
        reason = df["exit_reason"].astype(str)
        exited = _numeric(df, "exited")
        should = reason.isin(["work", "other"])
        bad = exited.notna() & reason.isin(EXIT_REASONS) & (should != (exited == 1))
        if bad.any():
            problems.add("exit_reason", "exit_reason inconsistent with exited (work/other <-> 1, "
                         "exhausted/censored <-> 0)", df.index[bad.to_numpy()])
    if active("exhausted_before_entitlement"):
        bad = (df["exit_reason"].astype(str) == "exhausted") & (
            _numeric(df, "duration_days") < _numeric(df, "entitlement_days"))
        if bad.any():
            problems.add("exit_reason", "exhausted before entitlement_days was used up",
                         df.index[bad.to_numpy()])
    if active("work_flags_vs_exit"):
        is_work = df["exit_reason"].astype(str) == "work"
        duration = _numeric(df, "duration_days")
        for flag, days in (("work_within_6m", 182), ("work_within_12m", 365)):
            expected = is_work & (duration <= days)
            value = _numeric(df, flag)
            bad = value.isin([0, 1]) & (expected != (value == 1))
            if bad.any():
                problems.add(flag, f"inconsistent with exit_reason == 'work' and duration_days <= {days}",
                             df.index[bad.to_numpy()])
    if active("duplicate_spells"):
        key = df[["client_id"]].astype(str).assign(
            inflow_date=pd.to_datetime(df["inflow_date"], errors="coerce"))
        dup = key.duplicated(keep=False)
        if dup.any():
            problems.add("client_id", "duplicate spells (same client_id and inflow_date)",
                         df.index[dup.to_numpy()])


def validate(df: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Check client records against the schema and report every problem at once.

    Parameters
    ----------
    df : DataFrame
        One row per benefit spell. Dates may be ISO strings, flags 0/1 or bool.
    columns : iterable of str, optional
        Check only these columns (and the rules among them). By default every
        schema column is required.

    Returns
    -------
    DataFrame
        ``df`` itself, unchanged, so calls can be chained.

    Raises
    ------
    AnkerDataError
        Listing, per column, missing columns, wrong types, missing values,
        values out of range, flags other than 0/1, impossible combinations
        (duration above entitlement, exit reason inconsistent with the event
        flag) and duplicate spells, each with a few example row labels.

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=200, seed=1).data
    >>> anker.validate(df) is df
    True
    >>> try:
    ...     anker.validate(df.drop(columns="age"))
    ... except anker.AnkerDataError as err:
    ...     print(err.columns)
    ['age']
    """
    if not isinstance(df, pd.DataFrame):
        raise AnkerDataError(f"expected a pandas DataFrame, got {type(df).__name__}", columns=[])
    wanted: Sequence[str] = list(SCHEMA) if columns is None else list(columns)
    unknown = [c for c in wanted if c not in SCHEMA]
    if unknown:
        raise ValueError(f"columns: not in the schema: {unknown}; known: {list(SCHEMA)}")
    problems = _Problems()
    present = set()
    for name in wanted:
        if name not in df.columns:
            problems.add(name, "missing column")
            continue
        present.add(name)
        _check_column(df, SCHEMA[name], problems)
    _check_rules(df, present, problems)
    problems.raise_if_any(len(df))
    return df


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, role: str = "model") -> None:
    """Raise :class:`AnkerDataError` naming every column a model needs but ``df`` lacks."""
    if not isinstance(df, pd.DataFrame):
        raise AnkerDataError(f"expected a pandas DataFrame, got {type(df).__name__}", columns=[])
    missing = [c for c in dict.fromkeys(columns) if c not in df.columns]
    if missing:
        raise AnkerDataError(f"the {role} needs column(s) missing from the data: {missing}",
                             columns=missing)


# ---------------------------------------------------------------------------- time units
# calendar days per unit; a month is a twelfth of a Julian year, as a year is 365.25 days
TIME_UNITS = {"day": 1.0, "week": 7.0, "month": 30.4375, "year": 365.25}
_UNIT_ALIASES = {"days": "day", "d": "day", "calendar day": "day", "calendar days": "day",
                 "weeks": "week", "w": "week", "months": "month", "years": "year"}


class FollowUpWarning(UserWarning):
    """A time asked for lies beyond the follow-up of the data a model was fitted on."""


@dataclass(frozen=True)
class TimeUnit:
    """The unit in which durations are counted: a named unit or a number of calendar days.

    Every stage converts through one instance of this class, so a horizon, a
    profile time or a benefit-day figure means the same thing everywhere.

    Attributes
    ----------
    name : str
        ``"day"``, ``"week"``, ``"month"``, ``"year"`` or ``"14 days"`` for a
        period given as a number of days.
    days : float
        Calendar days per unit.

    Examples
    --------
    >>> from anker.schema import resolve_time_unit
    >>> unit = resolve_time_unit(14)
    >>> unit.label, unit.from_days(182), round(unit.benefit_days_per_unit, 3)
    ('periods of 14 days', 13.0, 10.011)
    >>> resolve_time_unit("week").label
    'weeks'
    """

    name: str
    days: float

    @property
    def is_named(self) -> bool:
        return self.name in TIME_UNITS

    @property
    def label(self) -> str:
        """The unit in words, plural: ``calendar days``, ``weeks``, ``periods of 14 days``."""
        if self.name == "day":
            return "calendar days"
        if self.is_named:
            return f"{self.name}s"
        return f"periods of {self.days:g} days"

    @property
    def short(self) -> str:
        """A short plural label for table columns and axes: ``days``, ``weeks``, ``14-day periods``."""
        if self.name == "day":
            return "days"
        return f"{self.name}s" if self.is_named else f"{self.days:g}-day periods"

    @property
    def benefit_days_per_unit(self) -> float:
        """Benefit (working) days in one unit: calendar days x 261/365."""
        return self.days * BENEFIT_DAYS_PER_CALENDAR_DAY

    def from_days(self, days):
        """Calendar days -> this unit (numbers or arrays)."""
        return np.asarray(days, dtype=float) / self.days if np.ndim(days) else days / self.days

    def to_days(self, value):
        """This unit -> calendar days (numbers or arrays)."""
        return np.asarray(value, dtype=float) * self.days if np.ndim(value) else value * self.days

    def to_json(self) -> str | float:
        """What a model file stores: the name, or the number of days per unit."""
        return self.name if self.is_named else self.days

    __str__ = label.fget  # type: ignore[assignment]


def resolve_time_unit(unit: str | float | TimeUnit | None = "day") -> TimeUnit:
    """Turn ``"day"``, ``"week"``, ``"month"``, ``"year"``, a number of days (``14``,
    ``"14"``) or a :class:`TimeUnit` into a :class:`TimeUnit`; anything else raises ValueError.

    Examples
    --------
    >>> resolve_time_unit("month").days
    30.4375
    >>> resolve_time_unit("14").name
    '14 days'
    """
    if isinstance(unit, TimeUnit):
        return unit
    unit = "day" if unit is None else unit
    key = _UNIT_ALIASES.get(unit.strip().lower(), unit.strip().lower()) \
        if isinstance(unit, str) else unit
    if isinstance(key, str) and key in TIME_UNITS:
        return TimeUnit(key, TIME_UNITS[key])
    try:
        days = float(key) if not isinstance(key, bool) else None
    except (TypeError, ValueError):
        days = None
    if days is None:
        raise ValueError(f"time_unit must be one of {list(TIME_UNITS)} or a number of days per "
                         f"unit (e.g. 14), got {unit!r}")
    if not np.isfinite(days) or days <= 0:
        raise ValueError(f"time_unit: days per unit must be a positive number, got {unit!r}")
    for name, value in TIME_UNITS.items():
        if days == value:
            return TimeUnit(name, value)
    return TimeUnit(f"{days:g} days", days)
