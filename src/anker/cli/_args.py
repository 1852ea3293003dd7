"""Argument types shared by the subcommands: a bad value is one line from argparse."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def whole_number(minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type for a whole number from ``minimum`` to ``maximum``.

    ``_`` separators and a whole number in exponent form (``1e4``) are allowed.

    Examples
    --------
    >>> whole_number(0, 100_000)("1e4")
    10000
    >>> whole_number(0, 100_000)("1e8")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be at most 100,000, got 100,000,000
    """

    def parse(text: str) -> int:
        cleaned = text.replace("_", "").strip()
        try:
            value = int(cleaned)
        except ValueError:
            try:
                number = float(cleaned)
            except ValueError:
                number = math.nan
            if not (math.isfinite(number) and number.is_integer()):
                raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
            value = int(number)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:,}, got {value:,}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {value:,}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


# bounds of the command line: beyond them a run takes hours or more memory than a machine has
MAX_N_BOOT = 100_000
MAX_N_PER_COHORT = 5_000_000


def number_between(low: float, high: float) -> Callable[[str], float]:
    """An argparse type for a finite number in ``[low, high]``.

    Examples
    --------
    >>> number_between(0.2, 5)("1.08")
    1.08
    """

    def parse(text: str) -> float:
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must lie between {low:g} and {high:g}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


def positive_number(text: str) -> float:
    """An argparse type for a positive finite number (``_`` separators allowed)."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
    return value


def calendar_days(text: str) -> float:
    """An argparse type for a positive number of calendar days."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of calendar days, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of calendar days, got {text!r}")
    return value
