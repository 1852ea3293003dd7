"""Accountable profiling: drift and recalibration, the register entry, the client's letter.

- `anker.monitoring.reference`: binned distributions of every feature and
  score of the fitting data, kept in the model file (no row-level data);
- `anker.monitoring.drift`: :func:`monitor`, PSI per variable against those
  distributions, and keep / recalibrate / refit advice per test
  (`anker.monitoring.performance` checks the tests on new outcomes), and
  `anker.monitoring.update` (`recalibrate`) applies the intercept or baseline update;
- `anker.monitoring.card`: :func:`model_card`, the entry for the Dutch
  Algorithm Register;
- `anker.monitoring.letter`: :func:`client_letter`, one plain-language
  letter per client in Dutch or English.

The names are imported lazily: ``anker.profile`` imports the reference
module while fitting, without loading the rest.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {"monitor": "drift", "Monitoring": "drift", "psi_table": "drift",
          "reference_distributions": "reference", "model_card": "card", "ModelCard": "card",
          "client_letter": "letter", "ClientLetter": "letter", "recalibrate": "update"}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f"anker.monitoring.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'anker.monitoring' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))
