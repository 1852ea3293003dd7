"""How each test performs on a new inflow with outcomes, and what to do about it.

Per test on the new data (`check_tests`):

- classifiers (compliance, labour market; the reintegration test's outcome
  model for the trajectory each client had): calibration-in-the-large
  (logistic intercept with logit(p) as offset, log odds), calibration slope
  (coefficient of logit(p)), both by statsmodels GLM, and the AUC with a
  DeLong interval;
- the survival test: calibration-in-the-large as log(observed / expected
  exits), the expected exits being the sum over spells of the predicted
  cumulative hazard up to each spell's end (Poisson interval), the
  calibration slope as the Cox coefficient of the linear predictor, and
  Harrell's C with a grouped-jackknife interval (10 random groups).

`advise` turns them into keep / recalibrate / refit, per test, in this order:

1. **refit** when the discrimination fell by more than ``discrimination_drop``
   below what a fresh sample of the fitting inflow should show, or the
   calibration slope lies more than ``slope_tolerance`` from the slope such a
   sample should show (the ranking or the spread of the scores no longer
   fits: new coefficients are needed);
2. **recalibrate** when only the level is off: calibration-in-the-large
   beyond ``tolerance`` (update the intercept, or scale the baseline hazard
   by observed / expected);
3. **keep** otherwise, also when features or scores drifted (a model whose
   calibration holds on the new inflow extrapolates well: the drift is
   reported as flags, not as advice).

Each condition has two parts: the change must matter (pass its tolerance)
and be clear of noise. The noise is what a fresh sample of the *fitting*
inflow would show: the new sample's standard error inflated by
sqrt(1 + n_new / n_fit), because the model's own estimates are as noisy as
a sample of n_fit rows (its intercept and slope on a fresh sample vary by
both). The yardsticks are what such a sample should show, not the
optimistic apparent values (`anker.monitoring.optimism`): the leave-one-out
AUC or C-index, and the heuristic shrinkage of the slope. The checks are
Bonferroni-corrected over the three checks of every test checked, so on a
fresh sample of the fitting inflow the chance that any test is advised
other than keep is at most ``alpha``.

What the rule cannot do: a level shift of the size of the reference noise
is found only sometimes. A model fitted on n rows and used on an inflow far
from them (other labour markets) is itself off in level by about its
extrapolation error, which differs from one fitted model to the next; the
advice then answers for *this* model (see docs/monitoring_advice.md for the
measured power and false-alarm rates).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from anker.diagnostics import auc, calibration_intercept_slope, concordance_index
from anker.errors import AnkerDataError
from anker.models.cox import fit_cox
from anker.monitoring.reference import SCORE_NAMES, test_outcomes

__all__ = ["check_tests", "advise", "JACKKNIFE_GROUPS"]

JACKKNIFE_GROUPS = 10


def _cumulative_hazard_at(test: Any, df: pd.DataFrame, durations: np.ndarray,
                          lp: np.ndarray) -> np.ndarray:
    """H(T_i | x_i) = exp(lp_i) H0(T_i) for a proportional-hazards test (Cox or Weibull)."""
    times = np.unique(durations)
    # beyond the fitting follow-up a Cox baseline stays flat: the expected exits there are
    # those up to the end of follow-up (a Weibull model extrapolates its shape)
    first = _cumulative_hazard_row(test, df.iloc[:1], times)
    baseline = first / np.exp(lp[0])
    return np.exp(lp) * baseline[np.searchsorted(times, durations)]


def _cumulative_hazard_row(test: Any, row: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    try:
        frame = test.predict_cumulative_hazard(row, times, extrapolate=True)
    except TypeError:  # a test without the extrapolate option
        frame = test.predict_cumulative_hazard(row, times)
    return frame.to_numpy()[0]


def _jackknife_c(durations: np.ndarray, events: np.ndarray, lp: np.ndarray,
                 rng: np.random.Generator) -> float:
    groups = rng.permutation(len(lp)) % JACKKNIFE_GROUPS
    leave_out = []
    for g in range(JACKKNIFE_GROUPS):
        keep = groups != g
        leave_out.append(concordance_index(durations[keep], events[keep], lp[keep]))
    leave_out = np.asarray(leave_out)
    k = JACKKNIFE_GROUPS
    return float(np.sqrt((k - 1) / k * np.sum((leave_out - leave_out.mean()) ** 2)))


def _classifier_row(data: dict) -> dict[str, Any]:
    y, p = data["y"], data["p"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = calibration_intercept_slope(y, p)
    disc = auc(y, p, ci=True)
    return {"kind": "classifier", "n": len(y), "observed": float(y.mean()),
            "expected": float(p.mean()), "calibration_in_the_large": cal.intercept,
            "citl_se": cal.intercept_se, "calibration_slope": cal.slope, "slope_se": cal.slope_se,
            "metric": "auc", "discrimination": disc.estimate, "discrimination_se": disc.se}


def _survival_row(test: Any, df: pd.DataFrame, data: dict, rng: np.random.Generator) -> dict:
    durations, events, lp = data["durations"], data["events"], data["lp"]
    complete = df.loc[df[[test.duration_col, test.event_col]].notna().all(axis=1)]
    observed = float(events.sum())
    expected = float(_cumulative_hazard_at(test, complete, durations, lp).sum())
    if observed == 0 or expected <= 0:
        raise AnkerDataError(f"{test.event_col}: no exits in the new data; the survival test "
                             "cannot be checked")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slope_fit = fit_cox(lp[:, None], durations, events, ties="efron")
    return {"kind": "survival", "n": len(lp), "observed": observed, "expected": expected,
            "calibration_in_the_large": float(np.log(observed / expected)),
            "citl_se": float(1 / np.sqrt(observed)),
            "calibration_slope": float(slope_fit.coef[0]),
            "slope_se": float(np.sqrt(slope_fit.cov[0, 0])), "metric": "c_index",
            "discrimination": float(concordance_index(durations, events, lp)),
            "discrimination_se": _jackknife_c(durations, events, lp, rng)}


def check_tests(model: Any, new_df: pd.DataFrame, at_fit: dict[str, Any], *, level: float,
                seed: int, notes: list[str]) -> pd.DataFrame | None:
    """Calibration and discrimination of every test whose outcome ``new_df`` holds.

    Returns a DataFrame indexed by test (None when no outcome is present):
    ``kind``, ``outcome``, ``n``, ``observed`` and ``expected`` (rate and mean
    prediction; exits and expected exits for the survival test),
    ``calibration_in_the_large`` (ideal 0) and ``calibration_slope`` (ideal
    1) with ``_se`` and ``_ci_low`` / ``_ci_high``, ``expected_slope`` (what a
    fresh sample of the fitting inflow should show: the heuristic shrinkage of
    the model's likelihood-ratio chi-square, 1 for the survival test), ``metric`` (``auc`` or
    ``c_index``), ``discrimination`` with its interval and
    ``discrimination_at_fit`` (what a fresh sample of the fitting inflow should show:
    leave-one-out; the optimistic apparent value is ``discrimination_apparent``).
    """
    z = float(stats.norm.ppf(0.5 + level / 2))
    rng = np.random.default_rng(seed)
    rows = {}
    features = list(dict.fromkeys(f for t in model.tests.values() for f in t.features))
    complete = new_df[features].notna().all(axis=1)
    if not complete.all():  # no prediction without every feature
        notes.append(f"{int((~complete).sum())} new row(s) without every feature value are left "
                     "out of the calibration checks")
        new_df = new_df[complete]
    for name, test in model.tests.items():
        with warnings.catch_warnings():  # a bad outcome column is an error, not a note
            warnings.simplefilter("ignore")
            data = test_outcomes(name, test, new_df)
        if data is None:
            continue
        if data["n_dropped"]:
            notes.append(f"{name}: {data['n_dropped']} new row(s) without an observed outcome "
                         "are left out of its calibration check")
        try:
            if name == "benefit_duration":
                with warnings.catch_warnings():  # unseen levels: noted by the drift already
                    warnings.simplefilter("ignore")
                    row = _survival_row(test, new_df, data, rng)
                outcome = f"{test.duration_col} / {test.event_col}"
            else:
                if data["y"].min() == data["y"].max():
                    notes.append(f"{name}: {test.outcome_col} takes one value in the new data; "
                                 "calibration and AUC cannot be checked")
                    continue
                row = _classifier_row(data)
                outcome = test.outcome_col
        except AnkerDataError as exc:
            notes.append(f"{name}: not checked ({exc})")
            continue
        row["outcome"] = outcome
        fitted = at_fit.get(name, {})
        key = "concordance" if name == "benefit_duration" else "auc"
        row["discrimination_apparent"] = float(fitted.get(key, np.nan))
        # the yardstick is what a fresh sample should show (leave-one-out at fitting); a
        # model file without it falls back on the optimistic apparent value
        row["discrimination_at_fit"] = float(fitted.get(f"{key}_expected",
                                                        row["discrimination_apparent"]))
        row["n_fit"] = int(at_fit.get(name, {}).get("n", 0))
        row["expected_slope"] = float(fitted.get("expected_slope", 1.0))
        rows[name] = row
    if not rows:
        return None
    table = pd.DataFrame.from_dict(rows, orient="index")
    for col, se in (("calibration_in_the_large", "citl_se"), ("calibration_slope", "slope_se"),
                    ("discrimination", "discrimination_se")):
        table[f"{col}_ci_low"] = table[col] - z * table[se]
        table[f"{col}_ci_high"] = table[col] + z * table[se]
    if (table["kind"] == "classifier").any():  # the DeLong interval is clipped to [0, 1]
        table["discrimination_ci_low"] = table["discrimination_ci_low"].clip(0, 1)
        table["discrimination_ci_high"] = table["discrimination_ci_high"].clip(0, 1)
    order = ["kind", "outcome", "n", "observed", "expected", "calibration_in_the_large",
             "citl_se", "calibration_in_the_large_ci_low", "calibration_in_the_large_ci_high",
             "calibration_slope", "slope_se", "calibration_slope_ci_low",
             "calibration_slope_ci_high", "expected_slope", "metric", "discrimination", "discrimination_se",
             "discrimination_ci_low", "discrimination_ci_high", "discrimination_at_fit",
             "discrimination_apparent", "n_fit"]
    table = table[order]
    table.index.name = "test"
    table.attrs.update(level=level, jackknife_groups=JACKKNIFE_GROUPS)
    return table


def _level_sentence(name: str, row: pd.Series) -> str:
    if row["kind"] == "survival":
        return (f"{name}: {row['observed']:,.0f} exits observed against {row['expected']:,.0f} "
                f"expected (observed / expected {np.exp(row['calibration_in_the_large']):.3f}): "
                + ("more clients leave benefit than the model predicts"
                   if row["calibration_in_the_large"] > 0 else
                   "fewer clients leave benefit than the model predicts")
                + "; scaling the baseline hazard by observed / expected recalibrates it.")
    direction = "under-predicts" if row["calibration_in_the_large"] > 0 else "over-predicts"
    return (f"{name}: observed {row['outcome']} {row['observed']:.1%} against "
            f"{row['expected']:.1%} predicted (calibration-in-the-large "
            f"{row['calibration_in_the_large']:+.3f} log odds): the model {direction}; an "
            "intercept update recalibrates it.")


def advise(model: Any, calibration: pd.DataFrame | None, psi: pd.DataFrame, *, alpha: float,
           tolerance: float, slope_tolerance: float,
           discrimination_drop: float) -> tuple[pd.DataFrame, list[str]]:
    """keep / recalibrate / refit per test, with the reason, and the flags behind them."""
    n_checks = 3 * (0 if calibration is None else len(calibration))
    z = float(stats.norm.ppf(1 - alpha / (2 * max(n_checks, 1))))
    rows, flags = {}, []
    for name in model.tests:
        score = SCORE_NAMES.get(name)
        shifted = score in psi.index and bool(psi.loc[score, "flagged"])
        if calibration is None or name not in calibration.index:
            reason = ("no observed outcome in the new data: calibration not checked"
                      + (f"; its score {score} has shifted, check it once outcomes are known"
                         if shifted else ""))
            rows[name] = {"advice": "keep", "reason": reason}
            continue
        row = calibration.loc[name]
        # the fitted model's own estimation noise counts as much as the new sample's: with
        # the fitting data as large as the new inflow, a fresh sample differs by sqrt(2) SE
        noise = float(np.sqrt(1 + row["n"] / row["n_fit"])) if row["n_fit"] > 0 else 1.0
        drop = row["discrimination_at_fit"] - row["discrimination"]
        metric = "AUC" if row["metric"] == "auc" else "C-index"
        # an over-fitted model has a slope below 1 on any fresh sample: compare with that
        slope_off = row["calibration_slope"] - row["expected_slope"]
        citl = row["calibration_in_the_large"]
        if np.isfinite(drop) and drop > discrimination_drop and drop / (noise * row["discrimination_se"]) > z:
            reason = (f"{metric} fell from {row['discrimination_at_fit']:.3f} at fitting to "
                      f"{row['discrimination']:.3f}: the model ranks clients worse; refit it")
            rows[name] = {"advice": "refit", "reason": reason}
            flags.append(f"{name}: {reason}.")
        elif abs(slope_off) > slope_tolerance and abs(slope_off) / (noise * row["slope_se"]) > z:
            spread = "too spread out" if slope_off < 0 else "too compressed"
            reason = (f"calibration slope {row['calibration_slope']:.2f} (expected "
                      f"{row['expected_slope']:.2f} on a fresh sample): its "
                      f"predictions are {spread} for the new inflow; refit it")
            rows[name] = {"advice": "refit", "reason": reason}
            flags.append(f"{name}: {reason}.")
        elif abs(citl) > tolerance and abs(citl) / (noise * row["citl_se"]) > z:
            what = ("baseline update (scale the baseline hazard by observed / expected "
                    f"{np.exp(citl):.3f})" if row["kind"] == "survival" else
                    f"intercept update ({citl:+.3f} log odds)")
            rows[name] = {"advice": "recalibrate",
                          "reason": f"the level is off ({'log O/E' if row['kind'] == 'survival' else 'calibration-in-the-large'} "
                                    f"{citl:+.3f}) but the ranking holds ({metric} "
                                    f"{row['discrimination']:.3f}, slope "
                                    f"{row['calibration_slope']:.2f}): {what}"}
            flags.append(_level_sentence(name, row))
        else:
            drift = (f"; its score {score} has shifted, yet the model still fits the new "
                     "inflow" if shifted else "")
            rows[name] = {"advice": "keep",
                          "reason": f"calibration-in-the-large {citl:+.3f}, slope "
                                    f"{row['calibration_slope']:.2f}, {metric} "
                                    f"{row['discrimination']:.3f}: within tolerance or "
                                    f"sampling noise{drift}"}
    advice = pd.DataFrame.from_dict(rows, orient="index", columns=["advice", "reason"])
    advice.index.name = "test"
    return advice, flags

