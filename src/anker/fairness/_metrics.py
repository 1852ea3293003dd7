"""Per-person outcome, score and flag of a fitted test, and the per-group numbers of the audit.

Every rate of the audit (base rate, flag rate, fpr, fnr) depends on a
group's people only through the counts of a few cells (outcome x flag x
target), so a bootstrap replicate is one bincount of resampled cell codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from anker import diagnostics
from anker.errors import AnkerDataError
from anker.fairness.calibration import cumulative_hazard_to
from anker.schema import require_columns
from anker.survival import survival_at_time

SUPPORTED = ("supported tests: ComplianceTest and LabourMarketTest (or any fitted object with "
             "predict_proba(df), outcome_col, flag(df) and flag_target(df)) and "
             "BenefitDurationTest (risk_score(df), predict_survival(df, times), duration_col, "
             "event_col). A ReintegrationTest predicts a treatment effect, which no single "
             "client's outcome reveals, so it cannot be audited this way")
_CLASSIFIER = ("predict_proba", "outcome_col", "flag", "flag_target")
_SURVIVAL = ("risk_score", "predict_survival", "duration_col", "event_col")

# ------------------------------------------------------------------------ per person
def _on_index(values: Any, df: pd.DataFrame, what: str) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        if not values.index.equals(df.index):
            raise AnkerDataError(f"{what} is not on the index of df; the test must return "
                                 "a Series on df.index")
        values = values.to_numpy()
    values = np.asarray(values)
    if values.shape != (len(df),):
        raise AnkerDataError(f"{what} has shape {values.shape}, expected ({len(df)},)")
    return values


def _numeric(values: np.ndarray) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)


def _person_table(test: Any, df: pd.DataFrame, *, time: float,
                  survival_threshold: float) -> tuple[str, pd.DataFrame, dict]:
    """Outcome, score, flag and target per row of ``df``, and what they mean."""
    if all(hasattr(test, a) for a in _CLASSIFIER):
        require_columns(df, [test.outcome_col], role=f"audit of {type(test).__name__}")
        flag_series, target_series = test.flag(df), test.flag_target(df)
        flag = pd.Series(_on_index(flag_series, df, "flag(df)"))
        target = pd.Series(_on_index(target_series, df, "flag_target(df)"))
        table = pd.DataFrame({
            "y": _numeric(df[test.outcome_col].to_numpy()),
            "score": _numeric(_on_index(test.predict_proba(df), df, "predict_proba(df)")),
            "flag": flag.astype("boolean").astype(float).to_numpy(),
            "target": target.astype("boolean").astype(float).to_numpy()})
        if not np.isin(table["y"].dropna(), (0, 1)).all():
            raise AnkerDataError(f"{test.outcome_col}: the outcome must be 0/1",
                                 columns=[test.outcome_col])
        meaning = {"outcome": test.outcome_col,
                   "flag": getattr(flag_series, "name", None) or "flag",
                   "flag_target": getattr(target_series, "name", None) or "flag_target",
                   "auc": f"ROC AUC of predict_proba for {test.outcome_col} (DeLong CI)",
                   "calibration_in_the_large": f"observed rate of {test.outcome_col} minus the "
                   "mean predicted probability (> 0: the model under-predicts the group)"}
        return "classifier", table, meaning
    if all(hasattr(test, a) for a in _SURVIVAL):
        require_columns(df, [test.duration_col, test.event_col],
                        role=f"audit of {type(test).__name__}")
        durations = _numeric(df[test.duration_col].to_numpy())
        events = _numeric(df[test.event_col].to_numpy())
        surv = _numeric(_on_index(test.predict_survival(df, times=[time]), df,
                                  "predict_survival(df, times)"))
        # status at `time`: 1 still on benefit, 0 left (exit), NaN unknown (censored before)
        status = np.where(durations > time, 1.0, np.where(events == 1, 0.0, np.nan))
        risk = _numeric(_on_index(test.risk_score(df), df, "risk_score(df)"))
        table = pd.DataFrame({
            "duration": durations, "event": events, "y": status, "score": surv,
            "risk": risk,
            "flag": np.where(np.isnan(surv), np.nan, surv >= survival_threshold),
            "target": status})
        if hasattr(test, "predict_cumulative_hazard"):  # for the calibration per group
            table["cumhaz"] = cumulative_hazard_to(test, df, durations, risk, time)
        unit = getattr(getattr(test, "time_unit", None), "label", "calendar days")
        meaning = {"outcome": f"still on benefit at {time:g} {unit} "
                   f"(Kaplan-Meier, {test.duration_col}/{test.event_col})",
                   "flag": f"predicted P(still on benefit at {time:g} {unit}) >= "
                   f"{survival_threshold:g}",
                   "flag_target": f"observed still on benefit at {time:g} {unit} (fpr and "
                   "fnr weight the known statuses by inverse probability of censoring)",
                   "auc": f"Harrell's C of risk_score for {test.duration_col} (exits as events)",
                   "calibration_in_the_large": f"Kaplan-Meier P(still on benefit at {time:g} "
                   f"{unit}) minus the mean predicted one (> 0: the model is too optimistic)"}
        return "survival", table, meaning
    raise TypeError(f"audit_fairness cannot audit a {type(test).__name__}; {SUPPORTED}")


# ---------------------------------------------------------------------------- metrics
def _cell_codes(table: pd.DataFrame, kind: str) -> np.ndarray:
    """One small integer per person; every rate in the audit is a function of its counts."""
    flag = table["flag"].to_numpy().astype(np.int64)
    if kind == "classifier":  # [target, flag, y]
        return (table["y"].to_numpy().astype(np.int64) + 2 * flag
                + 4 * table["target"].to_numpy().astype(np.int64))
    status = np.nan_to_num(table["target"].to_numpy(), nan=2.0).astype(np.int64)
    return flag + 2 * status  # [status 0/1/unknown, flag]


def _count_metrics(counts: np.ndarray, kind: str,
                   weighted: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Rates from cell counts; ``counts`` is (..., 8) or (..., 6), rows may be replicates.

    ``weighted`` (survival only): the same cells summed with IPCW weights, for fpr and fnr.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "classifier":
            c = counts.reshape(counts.shape[:-1] + (2, 2, 2))
            n = c.sum(axis=(-3, -2, -1))
            return {"base_rate": c[..., 1].sum(axis=(-2, -1)) / n,
                    "flag_rate": c[..., 1, :].sum(axis=(-2, -1)) / n,
                    "fpr": c[..., 0, 1, :].sum(-1) / c[..., 0, :, :].sum(axis=(-2, -1)),
                    "fnr": c[..., 1, 0, :].sum(-1) / c[..., 1, :, :].sum(axis=(-2, -1))}
        c = counts.reshape(counts.shape[:-1] + (3, 2))
        w = c if weighted is None else weighted.reshape(weighted.shape[:-1] + (3, 2))
        return {"flag_rate": c[..., 1].sum(-1) / c.sum(axis=(-2, -1)),
                "fpr": w[..., 0, 1] / w[..., 0, :].sum(-1),
                "fnr": w[..., 1, 0] / w[..., 1, :].sum(-1)}


def _bootstrap(codes: np.ndarray, score: np.ndarray, kind: str, n_boot: int,
               rng: np.random.Generator, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Resample one group's people ``n_boot`` times; rates and mean score per replicate.

    ``weights`` (IPCW) are kept fixed per person, not re-estimated per replicate.
    """
    n, cells = len(codes), 8 if kind == "classifier" else 6
    chunk = max(1, 2_000_000 // max(n, 1))
    counts, score_mean = np.empty((n_boot, cells)), np.empty(n_boot)
    weighted = None if weights is None else np.empty((n_boot, cells))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        offset = cells * np.arange(stop - start)[:, None]
        counts[start:stop] = np.bincount((codes[idx] + offset).ravel(),
                                         minlength=cells * (stop - start)).reshape(-1, cells)
        score_mean[start:stop] = score[idx].mean(axis=1)
        if weights is not None:
            weighted[start:stop] = np.bincount((codes[idx] + offset).ravel(),
                                               weights=weights[idx].ravel(),
                                               minlength=cells * (stop - start)).reshape(-1, cells)
    out = _count_metrics(counts, kind, weighted)
    out["mean_score"] = score_mean
    if kind == "classifier":
        out["calibration_in_the_large"] = out["base_rate"] - score_mean
    return out


def _group_row(part: pd.DataFrame, kind: str, meaning: dict, *, ci: bool, z: float,
               level: float, time: float) -> tuple[dict, list[str]]:
    """Point estimates (and per-group CIs) for one group, with notes on undefined values."""
    codes = _cell_codes(part, kind)
    row: dict[str, Any] = {"n": len(part)}
    notes: list[str] = []
    cells = 8 if kind == "classifier" else 6
    weights = part["ipcw"].to_numpy() if "ipcw" in part.columns else None
    weighted = None if weights is None else np.bincount(codes, weights=weights, minlength=cells)
    rates = {k: float(v) for k, v in
             _count_metrics(np.bincount(codes, minlength=cells), kind, weighted).items()}
    row["mean_score"] = float(part["score"].mean())
    if kind == "classifier":
        row["base_rate"] = rates["base_rate"]
        y = part["y"].to_numpy()
        try:
            res = diagnostics.auc(y, part["score"].to_numpy(), ci=True, level=level)
            row.update(auc=res.estimate, auc_ci_low=res.ci_low, auc_ci_high=res.ci_high)
        except AnkerDataError:
            row.update(auc=np.nan, auc_ci_low=np.nan, auc_ci_high=np.nan)
            notes.append(f"one class (all {meaning['outcome']} = {int(y[0])}): auc undefined")
        row["calibration_in_the_large"] = row["base_rate"] - row["mean_score"]
    else:
        survival, var_log = survival_at_time(part["duration"].to_numpy(), part["event"].to_numpy(), time)
        s, var_log = float(survival[0]), float(var_log[0])
        row.update(base_rate=s, _var_log_base=var_log)
        try:
            row["auc"] = diagnostics.concordance_index(part["duration"], part["event"],
                                                       part["risk"])
        except AnkerDataError:
            row["auc"] = np.nan
            notes.append("no comparable pairs: concordance undefined")
        row["calibration_in_the_large"] = s - row["mean_score"]
        row["n_status_unknown"] = int(part["target"].isna().sum())
        if ci:  # log-log interval as lifelines; calibration shifts it by the mean prediction
            with np.errstate(divide="ignore", invalid="ignore"):
                half = z * np.sqrt(var_log) / np.log(s)
                low, high = np.exp(-np.exp(np.log(-np.log(s)) - half)), np.exp(
                    -np.exp(np.log(-np.log(s)) + half))
            row.update(base_rate_ci_low=low, base_rate_ci_high=high,
                       calibration_in_the_large_ci_low=low - row["mean_score"],
                       calibration_in_the_large_ci_high=high - row["mean_score"],
                       auc_ci_low=np.nan, auc_ci_high=np.nan)
    row.update(flag_rate=rates["flag_rate"], fpr=rates["fpr"], fnr=rates["fnr"])
    target = part["target"]
    row["n_flagged"] = int(part["flag"].sum())
    row["n_target"] = int((target == 1).sum())
    if np.isnan(row["fpr"]):
        notes.append("nobody without the target outcome: fpr undefined")
    if np.isnan(row["fnr"]):
        notes.append("nobody with the target outcome: fnr undefined")
    if ci:
        from statsmodels.stats.proportion import proportion_confint

        flag, known = part["flag"] == 1, target.notna()
        bases = {"flag_rate": (flag.sum(), len(part)),
                 "fpr": ((flag & (target == 0)).sum(), (target == 0).sum()),
                 "fnr": ((~flag & (target == 1) & known).sum(), (target == 1).sum())}
        if kind == "classifier":
            bases["base_rate"] = (part["y"].sum(), len(part))
        if weights is not None:  # IPCW rates: Kish's effective sizes of the weighted denominators
            for name, cond in (("fpr", target == 0), ("fnr", target == 1)):
                w = weights[cond.to_numpy()]
                n_eff = float(w.sum() ** 2 / (w ** 2).sum()) if (w ** 2).sum() > 0 else 0.0
                rate = row[name] if np.isfinite(row[name]) else 0.0
                bases[name] = (rate * n_eff, n_eff)
        for name, (k, n) in bases.items():
            low, high = proportion_confint(k, n, alpha=1 - level, method="wilson") if n else (
                np.nan, np.nan)
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = float(low), float(high)
    return row, notes


