"""Professional decisions next to the statistical advice: the coach decides, the library remembers.

`DecisionLog` is an append-only log, one row per decision, in a SQLite file
by default (standard library ``sqlite3``, WAL journal, one transaction and
one fsync per record, so a committed record survives a crash). A
SQLAlchemy URL works too when SQLAlchemy is installed. The storage backends
and the table layout live in `anker.decisions.store`.

Columns, in the order ``decisions()`` returns them: ``id`` (increasing,
never reused), ``timestamp`` (UTC), ``client_id``, ``advice`` (the
statistical advice, e.g. "trajectory", route "B", band "high"),
``decision`` (the coach's, same vocabulary), ``is_override`` (the decision
differs from the advice), ``direction`` (`override_direction`), ``reason``
(required for an override), ``coach_id``, ``office``, ``group`` (optional
audit label, e.g. a migration_background value, for override rates per
group; never a predictor), the coach's three professional tests
``compliance_judgement``, ``motivation`` and ``competence`` (free text,
e.g. "will comply", "low", "sufficient": the statistical score is only half
of the compliance test), and ``scores`` (optional profile scores, JSON text).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from anker.decisions.fields import _read_timestamps, _scores_json, _text, _utc_text
from anker.decisions.store import (
    _NAMES,
    _redact,
    _split_mode,
    _SQLAlchemyStore,
    _sqlite_path,
    _SQLiteStore,
)
from anker.errors import AppendOnlyWarning, DecisionLogError

__all__ = ["DecisionLog", "override_direction", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
_APPLICATION = "anker.DecisionLog"

_GROUPABLE = ("coach_id", "office", "group", "direction", "advice")

# ordered vocabularies: a higher level means more support / more monitoring
_SCALES = (
    ({"no trajectory": 0, "trajectory": 1}, "support"),
    ({"a": 0, "b": 1}, "support"),  # route A job-ready, route B needs support
    ({"low": 0, "medium": 1, "high": 2}, "monitoring"),
)


def override_direction(advice: str, decision: str) -> str:
    """Direction of a decision relative to the advice.

    Advice and decision are compared without surrounding spaces and case.

    - "none": the decision follows the advice;
    - "more support" / "less support": "no trajectory" <-> "trajectory",
      or route "A" (job-ready) <-> route "B" (needs support);
    - "more monitoring" / "less monitoring": bands "low" < "medium" < "high"
      of the compliance test;
    - "other": any other change (e.g. advice and decision from different
      vocabularies, or free-text advice).

    Examples
    --------
    >>> override_direction("no trajectory", "trajectory")
    'more support'
    >>> override_direction("B", "a")
    'less support'
    >>> override_direction("high", "medium")
    'less monitoring'
    >>> override_direction("A", "trajectory")
    'other'
    """
    adv, dec = advice.strip().casefold(), decision.strip().casefold()
    if adv == dec:
        return "none"
    for levels, what in _SCALES:
        if adv in levels and dec in levels:
            return f"more {what}" if levels[dec] > levels[adv] else f"less {what}"
    return "other"


class DecisionLog:
    """Append-only log of professional decisions and overrides of the advice.

    Parameters
    ----------
    path_or_url : str or os.PathLike
        A file path (created with its tables on first use), ``":memory:"``,
        a ``"sqlite:///relative/path"`` or ``"sqlite:////absolute/path"``
        URL (no SQLAlchemy needed), or any other SQLAlchemy URL (needs
        SQLAlchemy, which anker does not install). The database must be
        empty or an anker decision log. The database enforces append-only on
        SQLite and PostgreSQL (triggers); on any other database opening the log
        warns (`anker.AppendOnlyWarning`) that it does not.

        ``?mode=ro`` at the end (``"log.sqlite?mode=ro"``,
        ``"postgresql://.../anker?mode=ro"``) opens the log read-only.
    read_only : bool
        Open read-only: ``record`` raises, nothing is created or changed.

    Raises
    ------
    DecisionLogError
        (a subclass of :class:`anker.errors.AnkerModelFileError`) The file
        is not a decision log (not SQLite, or tables but no anker ``meta``
        table), is damaged, has a schema version this anker does not know
        (written by a newer anker), or the database fails in any way
        (connection refused, driver missing, read-only).
    FileNotFoundError
        The directory of the file does not exist.
    ImportError
        A non-SQLite URL without SQLAlchemy installed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import anker
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with anker.DecisionLog(pathlib.Path(tmp) / "decisions.sqlite") as log:
    ...         log.record(client_id="c1", advice="trajectory", decision="trajectory",
    ...                    coach_id="k7", office="Utrecht")
    ...         log.record(client_id="c2", advice="no trajectory", decision="trajectory",
    ...                    reason="lost licence, needs retraining", coach_id="k7",
    ...                    office="Utrecht", motivation="high", scores={"p_work_6m": 0.31})
    ...         print(log.overrides()[["client_id", "direction"]].to_string(index=False))
    ...         print(log.override_rates(by="coach_id")[["coach_id", "n_decisions", "n_overrides"]])
    1
    2
    client_id    direction
           c2 more support
      coach_id  n_decisions  n_overrides
    0       k7            2            1
    """

    def __init__(self, path_or_url: str | os.PathLike[str], *, read_only: bool = False) -> None:
        target = os.fspath(path_or_url)
        if not isinstance(target, str):
            raise TypeError(f"path_or_url must be a path or URL string, got {type(target).__name__}")
        if "\x00" in target:
            raise ValueError("path_or_url must not contain a NUL character")
        target, ro = _split_mode(target)
        self.read_only = bool(read_only) or ro
        sqlite_path = _sqlite_path(target)
        if sqlite_path is not None:
            self._store: _SQLiteStore | _SQLAlchemyStore = _SQLiteStore(
                sqlite_path, read_only=self.read_only)
            self._name = sqlite_path
        else:
            self._name = _redact(target)
            self._store = _SQLAlchemyStore(target, self._name, read_only=self.read_only)
        try:
            self._open()
        except BaseException:
            self._store.close()
            raise
        self._closed = False

    def _open(self) -> None:
        tables = self._store.tables()
        if "meta" not in tables:
            if tables:
                raise DecisionLogError(
                    f"{self._name} is not an anker decision log: it holds tables "
                    f"({', '.join(sorted(tables))}) but no 'meta' table"
                )
            created = datetime.now(timezone.utc).isoformat(timespec="seconds")
            from anker._version import __version__

            self._store.create(
                {"application": _APPLICATION, "schema_version": str(SCHEMA_VERSION),
                 "created_utc": created, "anker_version": __version__}
            )
        meta = self._store.meta()
        if meta.get("application") != _APPLICATION:
            raise DecisionLogError(
                f"{self._name} is not an anker decision log (meta table without "
                f"application={_APPLICATION!r})"
            )
        version = meta.get("schema_version", "")
        if not version.isdigit() or int(version) < 1:
            raise DecisionLogError(f"{self._name}: damaged decision log, schema_version={version!r}")
        if int(version) > SCHEMA_VERSION:
            raise DecisionLogError(
                f"{self._name}: decision log schema version {version} is newer than this "
                f"anker reads (up to {SCHEMA_VERSION}); upgrade anker"
            )
        missing = set(_NAMES) - self._store.columns("decisions")
        if missing:
            raise DecisionLogError(
                f"{self._name}: damaged decision log, table 'decisions' lacks "
                f"{', '.join(sorted(missing))}"
            )
        self._store.prepare()
        if not self._store.enforces_append_only:
            warnings.warn(AppendOnlyWarning(
                f"decision log {self._name}: the {self._store.dialect} database does not enforce "
                "append-only (anker writes its triggers on SQLite and PostgreSQL only): anyone "
                "with write access to the 'decisions' table can change or delete rows outside "
                "anker; use SQLite or PostgreSQL for a log that must hold up in an audit"),
                stacklevel=3)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"DecisionLog({self._name!r}, {state})"

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; calling it twice is harmless."""
        if not self._closed:
            self._store.close()
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"decision log {self._name} is closed")

    def record(
        self,
        *,
        client_id: str | int,
        advice: str,
        decision: str,
        reason: str | None = None,
        coach_id: str | int,
        office: str | None = None,
        group: str | None = None,
        compliance_judgement: str | None = None,
        motivation: str | None = None,
        competence: str | None = None,
        scores: Mapping[str, Any] | pd.Series | str | None = None,
        timestamp: datetime | None = None,
    ) -> int:
        """Record one decision in its own transaction and return its row id.

        Parameters
        ----------
        client_id, coach_id : str or int
            Who the decision is about and who took it (stored as text).
        advice, decision : str
            The statistical advice and the coach's decision. A decision that
            differs from the advice (ignoring case and surrounding spaces) is
            an override; see `override_direction` for its direction.
        reason : str, optional
            Why; required (non-empty) for an override.
        office, group : str, optional
            Office, and an audit group label for override rates per group.
        compliance_judgement, motivation, competence : str, optional
            The coach's professional tests, free text.
        scores : mapping, pandas.Series or JSON str, optional
            Profile scores, stored as JSON text (NaN becomes null).
        timestamp : datetime, optional
            Timezone-aware time of the decision, stored in UTC; default now.

        Returns
        -------
        int
            The row id of the committed record.

        Raises
        ------
        ValueError
            An override without a reason, an empty required field, a NUL
            character in a text, or a naive ``timestamp`` or one outside
            the years 1970-2199.
        DecisionLogError
            The log is read-only or the database fails.
        """
        self._check_open()
        row: dict[str, Any] = {
            "client_id": _text(client_id, "client_id", required=True, integer=True),
            "coach_id": _text(coach_id, "coach_id", required=True, integer=True),
            "advice": _text(advice, "advice", required=True),
            "decision": _text(decision, "decision", required=True),
            "reason": _text(reason, "reason"),
            "office": _text(office, "office", integer=True),
            "group": _text(group, "group", integer=True),
            "compliance_judgement": _text(compliance_judgement, "compliance_judgement"),
            "motivation": _text(motivation, "motivation"),
            "competence": _text(competence, "competence"),
            "scores": _scores_json(scores),
            "timestamp": _utc_text(timestamp),
        }
        row["direction"] = override_direction(row["advice"], row["decision"])
        row["is_override"] = int(row["direction"] != "none")
        if row["is_override"] and row["reason"] is None:
            raise ValueError(
                f"reason is required: decision {row['decision']!r} overrides advice "
                f"{row['advice']!r} for client {row['client_id']!r}"
            )
        return self._store.insert(row)

    def decisions(self) -> pd.DataFrame:
        """All decisions, oldest first, one row each (columns: see the module docstring).

        ``timestamp`` is a UTC datetime column, ``is_override`` boolean,
        ``scores`` the JSON text as stored.
        """
        self._check_open()
        frame = pd.DataFrame(self._store.fetch(), columns=list(_NAMES))
        frame["id"] = frame["id"].astype("int64")
        frame["is_override"] = frame["is_override"].astype(bool)
        frame["timestamp"] = _read_timestamps(frame["timestamp"], frame["id"], self._name)
        return frame

    def overrides(self) -> pd.DataFrame:
        """The decisions that differ from the advice, oldest first."""
        frame = self.decisions()
        return frame[frame["is_override"]].reset_index(drop=True)

    def override_rates(
        self, by: str | Sequence[str] | None = "coach_id", *, alpha: float = 0.05
    ) -> pd.DataFrame:
        """Override rates with Wilson confidence intervals, per group.

        Parameters
        ----------
        by : str, sequence of str or None
            Any of "coach_id", "office", "group", "direction", "advice";
            None for one overall row. Missing labels form their own group
            (NaN), so no decision is left out. With "direction", each row is
            one direction: ``n_overrides`` counts the overrides in that
            direction and ``n_decisions`` all decisions of the other
            grouping columns (the rate of, say, "less support" overrides
            among all of a coach's decisions).
        alpha : float
            1 - confidence level of the Wilson interval (statsmodels
            ``proportion_confint``).

        Returns
        -------
        pandas.DataFrame
            The ``by`` columns, n_decisions, n_overrides, override_rate,
            ci_low, ci_high.
        """
        from statsmodels.stats.proportion import proportion_confint

        keys = [] if by is None else [by] if isinstance(by, str) else list(by)
        unknown = [k for k in keys if k not in _GROUPABLE]
        if unknown or len(set(keys)) != len(keys):
            raise ValueError(f"by must name distinct columns of {_GROUPABLE}, got {by!r}")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
        frame = self.decisions()
        other = [k for k in keys if k != "direction"]
        if other:
            base = frame.groupby(other, dropna=False, sort=True).agg(
                n_decisions=("id", "size"), n_overrides=("is_override", "sum")
            ).reset_index()
        else:
            base = pd.DataFrame({"n_decisions": [len(frame)],
                                 "n_overrides": [int(frame["is_override"].sum())]})
        if "direction" in keys:
            over = frame[frame["is_override"]]
            counts = over.groupby(other + ["direction"], dropna=False).size().rename("n_overrides")
            directions = pd.DataFrame({"direction": sorted(over["direction"].unique())})
            base = base.drop(columns="n_overrides").merge(directions, how="cross")
            base = base.merge(counts.reset_index(), on=other + ["direction"], how="left")
            base["n_overrides"] = base["n_overrides"].fillna(0)
        result = base[keys + ["n_decisions", "n_overrides"]].astype(
            {"n_decisions": "int64", "n_overrides": "int64"}
        )
        result = result[result["n_decisions"] > 0].sort_values(keys).reset_index(drop=True)
        n, k = result["n_decisions"].to_numpy(), result["n_overrides"].to_numpy()
        result["override_rate"] = k / n if len(n) else np.array([], dtype=float)
        low, high = proportion_confint(k, n, alpha=alpha, method="wilson") if len(n) else ([], [])
        result["ci_low"], result["ci_high"] = np.asarray(low, float), np.asarray(high, float)
        return result
