"""Fairness audit of the ANKER tests per group, and a proxy check for protected attributes.

:func:`audit_fairness` compares, per group of a (usually protected) column,
how well a fitted test works and how often its advice falls on people: base
rate, mean score, AUC, calibration-in-the-large, and the false positive and
false negative rates of its flag (the compliance test's high band, the
labour-market test's route B), each as a ratio to a reference group. Ratios
outside 0.8-1.25 (the four-fifths rule and its inverse) are flagged. A list
of group columns audits their intersections; ``min_group_size`` suppresses
small cells; calibration intercept and slope are given per group, and the
duration test's error rates are censoring-aware (IPCW).

:func:`accuracy_equity` gives the false positive and false negative rates
per group across thresholds, and their ratios (``anker.plots.accuracy_equity_curves``).

:func:`proxy_check` shows which features carry information about a protected
attribute: leaving the attribute out of a model does not make the model blind
to it when education or work history stand in for it.
"""

from anker.fairness.audit import MISSING_LABEL, RATIO_METRICS, audit_fairness
from anker.fairness.equity import accuracy_equity
from anker.fairness.proxy import proxy_check

__all__ = ["MISSING_LABEL", "RATIO_METRICS", "accuracy_equity", "audit_fairness", "proxy_check"]
