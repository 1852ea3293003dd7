"""Exceptions raised by anker for user mistakes (bad data, bad files, bad arguments)."""

from __future__ import annotations


class AnkerError(Exception):
    """Base class: a problem with the user's input, reported in plain words."""


class AnkerDataError(AnkerError, ValueError):
    """The records do not satisfy the schema; the message lists every problem."""


class AnkerModelFileError(AnkerError, ValueError):
    """A model file is damaged, foreign or of an unsupported schema version."""
