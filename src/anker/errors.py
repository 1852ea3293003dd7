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
