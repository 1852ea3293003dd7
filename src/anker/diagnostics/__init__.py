"""Discrimination and calibration checks for the ANKER tests: plain functions on arrays.

Classifiers (compliance, labour market), in `anker.diagnostics.classification`:
:func:`auc` with a DeLong CI, :func:`brier_score`,
:func:`calibration_intercept_slope`, :func:`hosmer_lemeshow`,
:func:`reliability_table` and :func:`summarise_classifier`. Survival (benefit
duration), in `anker.diagnostics.survival`: :func:`concordance_index`
(Harrell's C), :func:`survival_calibration` against Kaplan-Meier, and the
IPCW Brier score over time (:func:`survival_brier_scores`,
:func:`integrated_brier_score`). Every public name is importable from
`anker.diagnostics` itself.

Inputs are arrays or pandas Series of one length; Series must share their
index. Missing values are refused, never dropped. Everything is vectorised,
so a million rows take seconds, not minutes.
"""

from anker.diagnostics.classification import (
    AUCResult,
    CalibrationResult,
    HosmerLemeshowResult,
    auc,
    brier_score,
    calibration_intercept_slope,
    hosmer_lemeshow,
    reliability_table,
    summarise_classifier,
)
from anker.diagnostics.survival import (
    SurvivalCalibration,
    concordance_index,
    integrated_brier_score,
    survival_brier_scores,
    survival_calibration,
)

__all__ = [
    "AUCResult", "CalibrationResult", "HosmerLemeshowResult", "SurvivalCalibration",
    "auc", "brier_score", "calibration_intercept_slope", "concordance_index",
    "hosmer_lemeshow", "integrated_brier_score", "reliability_table",
    "summarise_classifier", "survival_brier_scores", "survival_calibration",
]
