"""Exceptions raised by anker for user mistakes (bad data, bad files, bad arguments)."""

from __future__ import annotations

from collections.abc import Iterable


class AnkerError(Exception):
    """Base class: a problem with the user's input, reported in plain words."""


class AnkerDataError(AnkerError, ValueError):
    """The records do not satisfy the schema; the message lists every problem.

    ``columns`` holds the names of the columns with a problem, in order of
    first appearance, so code can react without parsing the message.
    """

    def __init__(self, message: str, *, columns: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.columns = list(columns)


class AnkerModelFileError(AnkerError, ValueError):
    """A model file is damaged, foreign or of an unsupported schema version."""


class DecisionLogError(AnkerModelFileError):
    """The decision log cannot be opened, read or written: every backend failure.

    A damaged or foreign database, a read-only log asked to record, a
    database server that refuses the connection, a missing driver, a raw
    ``UPDATE`` of the append-only table: all end here, with the log's name
    (passwords redacted) and the backend's reason. A subclass of
    :class:`AnkerModelFileError`, which the decision log raised before.
    """


class AnkerWarning(UserWarning):
    """Base class of anker's warnings: the result is there, but read it with care."""


class ConvergenceWarning(AnkerWarning, RuntimeWarning):
    """A model fit stopped before its Newton iterations converged (gradient not ~0)."""


class AppendOnlyWarning(AnkerWarning):
    """A decision log on a database where anker cannot make append-only a rule of the
    database itself (triggers exist for SQLite and PostgreSQL only): rows can be changed by
    anyone with write access to the table, outside anker."""


class OutOfRangeWarning(AnkerWarning):
    """Clients whose features lie outside the ranges the model was fitted on.

    ``counts`` maps each feature to the number of rows outside its training range.
    """

    def __init__(self, message: str, counts: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.counts = dict(counts or {})
