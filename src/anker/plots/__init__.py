"""Figures for anker results: each function takes computed results and returns a Figure.

Plotting never refits: it only draws what a fitted test, comparison or
break-even object already holds. The functions live in small modules by
topic and are imported lazily, so ``import anker`` does not load matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

# function name -> submodule of anker.plots that defines it
_FUNCTIONS = {
    # cohort_curves.py: Kaplan-Meier and adjusted curves of a cohort comparison
    # (a module named after its function would shadow it once imported)
    "survival_curves": "cohort_curves",
    # coach.py: outcome per coach
    "funnel": "coach",
    # costbenefit.py: break-even figures
    "tornado": "costbenefit",
    "break_even_curve": "costbenefit",
    # diagnostics.py: model checks and fairness
    "reliability_diagram": "diagnostics",
    "score_distributions": "diagnostics",
    "coefficient_forest": "diagnostics",
    "fairness_bars": "diagnostics",
    # equity.py: error-rate ratios across thresholds
    "accuracy_equity_curves": "equity",
}

__all__ = sorted(_FUNCTIONS)


def __getattr__(name: str) -> Any:
    if name in _FUNCTIONS:
        module = importlib.import_module(f"anker.plots.{_FUNCTIONS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'anker.plots' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FUNCTIONS))
