"""Argument types shared by the subcommands: a bad value is one line from argparse."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def whole_number(minimum: int = 0) -> Callable[[str], int]:
    """An argparse type for a whole number of at least ``minimum`` (``_`` separators allowed)."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
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
