"""Act on the advice: update the intercepts or baseline hazard that :func:`anker.monitor` found off.

A classifier's intercept moves by its calibration-in-the-large (the
logistic intercept with logit(p) as offset), which makes that estimate 0 on
the monitored data; the survival test's baseline cumulative hazard is
multiplied by observed / expected exits (a Weibull model: its scale term
moves by log O/E), which makes that ratio 1. The reintegration test's
outcome model is shifted the same way; its gains (differences of two
predictions) change little. Coefficients, thresholds and the reference
distributions stay as they were: a recalibrated model is still monitored
against its fitting data, and the file records what was changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["recalibrate"]


def recalibrate(model: Any, monitoring: Any, *, tests: Sequence[str] | None = None):
    """A copy of ``model`` with intercepts / baseline updated per the monitoring's calibration.

    Parameters
    ----------
    model : fitted AnkerModel
        The model that was monitored.
    monitoring : Monitoring
        The result of ``anker.monitor(model, new_df)`` on data with outcomes.
    tests : list of str, optional
        Tests to update; by default those advised ``"recalibrate"``.

    Returns
    -------
    AnkerModel
        A new model (the given one is not changed); ``reference_["recalibrated"]``
        lists each update and the number of rows it rests on.

    Examples
    --------
    >>> import anker
    >>> from anker.monitoring import recalibrate
    >>> df = anker.simulate_population(n_per_cohort=4_000, seed=3).data
    >>> old, new = df[df.cohort == "casemanagement_2004"], df[df.cohort == "coaching_2007"]
    >>> model = anker.AnkerModel().fit(old)
    >>> updated = recalibrate(model, anker.monitor(model, new), tests=["labour_market"])
    >>> cal = anker.monitor(updated, new).calibration
    >>> abs(round(float(cal.loc["labour_market", "calibration_in_the_large"]), 6))
    0.0
    """
    calibration = getattr(monitoring, "calibration", None)
    if calibration is None:
        raise ValueError("the monitoring run had no outcomes: nothing to recalibrate against")
    if tests is None:
        tests = [n for n, a in monitoring.advice["advice"].items() if a == "recalibrate"]
    unknown = [t for t in tests if t not in calibration.index]
    if unknown:
        raise ValueError(f"tests {unknown} were not checked on outcomes; checked: "
                         f"{list(calibration.index)}")
    copy = type(model).from_dict(model.to_dict())
    updates = []
    for name in tests:
        shift = float(calibration.loc[name, "calibration_in_the_large"])
        test = copy.tests[name]
        if name == "benefit_duration":
            fit = test.fit_
            if hasattr(fit, "baseline_cumhaz"):
                test.fit_ = dataclasses.replace(fit, baseline_cumhaz=fit.baseline_cumhaz
                                                * np.exp(shift))
            else:
                test.fit_ = dataclasses.replace(fit, alpha=fit.alpha + shift)
            what = f"baseline hazard x {np.exp(shift):.4f} (observed / expected exits)"
        else:
            attribute = "outcome_fit_" if name == "reintegration" else "fit_"
            fit = getattr(test, attribute)
            coef = fit.coef.copy()
            coef[0] += shift
            setattr(test, attribute, dataclasses.replace(fit, coef=coef))
            what = f"intercept {shift:+.4f} log odds"
        updates.append({"test": name, "update": what,
                        "n": int(calibration.loc[name, "n"])})
    if copy.reference_:
        copy.reference_ = {**copy.reference_,
                           "recalibrated": list(copy.reference_.get("recalibrated", []))
                           + updates}
    return copy
