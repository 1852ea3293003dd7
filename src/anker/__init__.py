"""anker: the statistics behind the UWV ANKER model for people on WW benefit.

The public names are imported lazily, so ``import anker`` is quick and a
command-line call loads only what it uses.

Examples
--------
>>> import anker
>>> pop = anker.simulate_population(n_per_cohort=500, seed=0)
>>> len(anker.validate(pop.data))
1000
"""

from __future__ import annotations

import importlib
from typing import Any

from anker._version import __version__

# public name -> module that defines it
_PUBLIC = {
    "AnkerError": "errors",
    "AnkerDataError": "errors",
    "AnkerModelFileError": "errors",
    "DecisionLogError": "errors",
    "AnkerWarning": "errors",
    "AppendOnlyWarning": "errors",
    "ConvergenceWarning": "errors",
    "OutOfRangeWarning": "errors",
    "validate": "schema",
    "SCHEMA": "schema",
    "TimeUnit": "schema",
    "resolve_time_unit": "schema",
    "FollowUpWarning": "schema",
    "simulate_population": "synthetic",
    "SyntheticPopulation": "synthetic",
    "ComplianceTest": "assessments",
    "LabourMarketTest": "assessments",
    "ReintegrationTest": "assessments",
    "BenefitDurationTest": "assessments",
    "wwb_check": "assessments",
    "AnkerModel": "profile",
    "compare_cohorts": "outcome",
    "CohortComparison": "outcome",
    "outcome_by_coach": "outcome",
    "BreakEven": "costbenefit",
    "cost_benefit": "costbenefit",
    "CostBenefit": "costbenefit",
    "audit_fairness": "fairness",
    "DecisionLog": "decisions",
    "monitor": "monitoring",
    "model_card": "monitoring",
    "client_letter": "monitoring",
    "override_outcomes": "decisions",
}
# attribute -> subpackage; "design" is the old home of the design-matrix builder
_SUBMODULES = {name: f"anker.{name}" for name in (
    "assessments", "costbenefit", "decisions", "diagnostics", "fairness", "models",
    "monitoring", "outcome", "plots", "profile", "report", "schema", "survival", "synthetic")}
_SUBMODULES["design"] = "anker.models.design"

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        module = importlib.import_module(f"anker.{_PUBLIC[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(_SUBMODULES[name])
    raise AttributeError(f"module 'anker' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC) | set(_SUBMODULES))
