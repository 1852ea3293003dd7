"""The fairness audit: per group of a column, how a fitted test performs and whom it flags."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from anker.errors import AnkerDataError
from anker.fairness._metrics import _bootstrap, _cell_codes, _group_row, _person_table
from anker.fairness.calibration import CALIBRATION_COLUMNS, group_calibration
from anker.fairness.groups import (
    check_min_group_size,
    group_columns,
    group_index,
    group_labels,
    is_missing_group,
    suppressed_row,
)
from anker.fairness.ipcw import ipcw_weights
from anker.schema import require_columns

MISSING_LABEL = "(missing)"  # the same label as anker.fairness.groups
RATIO_METRICS = ("flag_rate", "fpr", "fnr", "base_rate", "mean_score")
_GROUP_METRICS = ("base_rate", "mean_score", "auc", "calibration_in_the_large", "flag_rate",
                  "fpr", "fnr")
_CALIBRATION = CALIBRATION_COLUMNS


def _check_options(band: tuple[float, float], flag_on: Sequence[str], missing: str, level: float,
                   n_boot: int, ci: bool, time: float, survival_threshold: float) -> None:
    low, high = (float(b) for b in band)
    if not 0 < low < 1 < high:
        raise ValueError(f"band must satisfy 0 < low < 1 < high, got {band!r}")
    if isinstance(flag_on, str) or not set(flag_on) <= set(RATIO_METRICS):
        raise ValueError(f"flag_on must be a list drawn from {RATIO_METRICS}, got {flag_on!r}")
    if missing not in ("group", "drop"):
        raise ValueError(f"missing must be 'group' or 'drop', got {missing!r}")
    if not 0 < float(level) < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    if ci and (not isinstance(n_boot, int | np.integer) or n_boot < 2):
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    if time is not None and (not np.isfinite(time) or time <= 0):
        raise ValueError(f"time must be a positive number (in the test's time unit), got {time!r}")
    if not 0 < float(survival_threshold) < 1:
        raise ValueError(f"survival_threshold must lie in (0, 1), got {survival_threshold!r}")


def _survival_time(test: Any, df: pd.DataFrame, time: float | None) -> float:
    """The audit's time for a survival test, in its unit; 182 for any other test (unused)."""
    duration_col = getattr(test, "duration_col", None)
    if duration_col is None or duration_col not in df.columns or hasattr(test, "outcome_col"):
        return 182.0 if time is None else float(time)
    unit = getattr(test, "time_unit", None)
    longest = float(pd.to_numeric(df[duration_col], errors="coerce").max())
    if time is not None:
        if float(time) > longest:
            raise AnkerDataError(f"time={time:g} lies beyond the longest duration in the records "
                                 f"({longest:g}): nobody's status is known then; choose a "
                                 "smaller time=", columns=[duration_col])
        return float(time)
    default = 182.0 if unit is None else float(unit.from_days(182.0))
    follow_up = min(longest, float(getattr(test, "max_follow_up_", longest)))
    if default >= follow_up:
        label = "calendar days" if unit is None else unit.label
        warnings.warn(f"audit time: 182 calendar days ({default:.4g} {label}) lie at or beyond "
                      f"the follow-up ({follow_up:g} {label}); audited at half of it, "
                      f"{follow_up / 2:g} {label} (pass time= to choose)", UserWarning,
                      stacklevel=3)
        return follow_up / 2
    return default


def audit_fairness(test: Any, df: pd.DataFrame, group_col: str | Sequence[str], *,
                   reference: Any = None,
                   ci: bool = False, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                   band: tuple[float, float] = (0.8, 1.25),
                   flag_on: Sequence[str] = RATIO_METRICS, missing: str = "group",
                   time: float | None = None, survival_threshold: float = 0.5,
                   min_group_size: int | None = None) -> pd.DataFrame:
    """Per group: size, base rate, mean score, AUC, calibration and the flag's error rates.

    The flag is the advice that falls on people: the high band of a
    :class:`~anker.ComplianceTest`, route B of a :class:`~anker.LabourMarketTest`.
    ``fpr`` is the share flagged among those without the outcome the flag is
    meant to catch (``test.flag_target``: a sanction, no work within 6
    months), ``fnr`` the share not flagged among those with it. Each of
    ``flag_rate``, ``fpr``, ``fnr``, ``base_rate`` and ``mean_score`` is also
    given as ``<metric>_ratio`` to the reference group; a group is ``flagged``
    when a ratio named in ``flag_on`` lies outside ``band``, and ``flags``
    names those metrics. A ``base_rate`` ratio outside the band describes the
    groups, not the model; a ``mean_score`` ratio that follows it is
    calibration, not bias: read them with ``fpr`` and ``fnr``.

    ``group_col`` need not be a model feature (the normal case for a
    protected attribute); whether it is, and which protected attributes the
    model uses, is recorded in ``attrs``.

    For a :class:`~anker.BenefitDurationTest` the outcome is being still on
    benefit at ``time``, in the test's ``time_unit`` (default: 182 calendar
    days in that unit, or half the longest follow-up of the records when 182
    days lie beyond it, with a warning): ``base_rate`` is the Kaplan-Meier
    estimate, ``mean_score`` the mean predicted survival, ``auc`` Harrell's C
    of ``risk_score``, and the flag is a predicted survival of at least
    ``survival_threshold``; ``fpr`` and ``fnr`` are censoring-aware: the spells
    whose status at ``time`` is known are weighted by the inverse probability
    of remaining uncensored in their group (IPCW, `anker.fairness.ipcw`), so
    spells censored before ``time`` are represented, not dropped (they count
    in ``n`` and ``flag_rate`` as they are).

    Parameters
    ----------
    test : fitted ComplianceTest, LabourMarketTest or BenefitDurationTest
        Or any object with ``predict_proba(df)``, ``outcome_col``, ``flag(df)``
        and ``flag_target(df)``. Other objects raise ``TypeError``.
    df : DataFrame
        Records with the test's features, its observed outcome and ``group_col``.
    group_col : str or list of str
        Column with the groups, e.g. ``"migration_background"``; a list gives
        intersectional groups, one per combination of levels present (the
        index is then a MultiIndex and ``reference`` a tuple).
    reference : label, optional
        The group ratios are taken to; by default the largest group.
    ci : bool
        Add ``<metric>_ci_low`` / ``_ci_high``: Wilson intervals for the rates,
        DeLong for the AUC, Greenwood (log-log) for a Kaplan-Meier base rate,
        and a bootstrap within each group (``n_boot`` resamples of its people,
        from ``seed``) for the mean score, calibration and every ratio. Then
        ``flags_confident`` names the ratios whose whole interval lies outside
        ``band``: useful for small groups, whose point ratios are noisy.
    level : float
        Confidence level of the intervals.
    band : (float, float)
        The acceptable ratio range (default 0.8-1.25).
    flag_on : list of str
        The ratios that set ``flagged``; by default all five.
    missing : {"group", "drop"}
        Rows without a group label form the group ``"(missing)"`` (default),
        or are left out with a warning that counts them.
    time, survival_threshold : float
        Survival tests only: the horizon in the test's time unit and the flag's
        cut-off. A time beyond the longest duration in ``df`` is an error.
    min_group_size : int, optional
        Groups with fewer people are suppressed: listed with ``suppressed``
        True and no count or metric (all NaN). The reference cannot be one.

    Raises
    ------
    AnkerDataError
        When nobody in the records has the outcome the flag is meant to catch
        (for a survival test: nobody is observed still on benefit at ``time``):
        fpr and fnr would compare groups on nothing, so there is no audit.

    Returns
    -------
    DataFrame
        One row per group (index named ``group_col``): ``n``, ``share``,
        ``base_rate``, ``mean_score``, ``auc`` (NaN when a group has one class),
        ``calibration_in_the_large`` (observed rate minus mean predicted
        probability, probability points), ``flag_rate``, ``fpr``, ``fnr``,
        ``calibration_intercept`` and ``calibration_slope`` (per-group logistic
        recalibration, or log O/E and the Cox slope for the survival test: see
        `anker.fairness.calibration`), ``n_flagged``, ``n_target`` (survival: and
        ``n_status_unknown``), the
        five ratios, ``flagged``, ``flags`` (e.g. ``"fpr (1.43)"``), ``suppressed``, optional
        intervals, and ``notes`` on undefined values. ``attrs`` holds
        the model, its protected features, the reference, the band and what
        each metric means.

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=2_000, seed=1).data
    >>> nt = anker.ComplianceTest().fit(df)
    >>> audit = anker.audit_fairness(nt, df, group_col="sex")
    >>> sorted(audit.index), audit.attrs["reference"]
    (['female', 'male'], 'male')
    >>> float(audit.loc["male", "fpr_ratio"])
    1.0
    >>> cells = anker.audit_fairness(nt, df, group_col=["sex", "migration_background"],
    ...                              min_group_size=200)
    >>> cells.index.names, int(cells["suppressed"].sum()) > 0
    (FrozenList(['sex', 'migration_background']), True)
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    columns = group_columns(group_col)
    require_columns(df, columns, role="fairness audit")
    _check_options(band, flag_on, missing, level, n_boot, ci, time, survival_threshold)
    min_size = check_min_group_size(min_group_size)
    low, high = (float(b) for b in band)
    time = _survival_time(test, df, time)
    kind, table, meaning = _person_table(test, df, time=float(time),
                                         survival_threshold=float(survival_threshold))
    labels, n_missing = group_labels(df, columns, missing)

    keep = pd.notna(labels)
    excluded = {}
    no_score = (table["score"].isna() | table["flag"].isna()).to_numpy() & keep
    no_outcome = ((table["duration"].isna() | table["event"].isna()) if kind == "survival"
                  else (table["y"].isna() | table["target"].isna())).to_numpy() & keep & ~no_score
    for reason, bad in (("no prediction", no_score), ("no observed outcome", no_outcome)):
        if bad.any():
            excluded[reason] = int(bad.sum())
            warnings.warn(f"{int(bad.sum())} of {len(df)} row(s) have {reason} and are left out "
                          "of the fairness audit", UserWarning, stacklevel=2)
    keep &= ~no_score & ~no_outcome
    if not keep.any():
        raise AnkerDataError("no rows left to audit (every row lacks a group label, a "
                             "prediction or an observed outcome)")
    table, labels = table[keep].reset_index(drop=True), labels[keep]
    if not (table["target"] == 1).any():
        what = meaning.get("flag_target", "the flag's target outcome")
        raise AnkerDataError(f"nobody in the {int(keep.sum())} audited record(s) has the "
                             f"outcome the flag is meant to catch ({what}): fpr and fnr are "
                             "undefined, so groups cannot be compared"
                             + ("; choose a smaller time=" if kind == "survival" else ""))
    codes, uniques = pd.factorize(labels)
    sizes = np.bincount(codes, minlength=len(uniques))
    order = sorted(range(len(uniques)), key=lambda i: (is_missing_group(uniques[i]), -sizes[i],
                                                       str(uniques[i])))
    groups = [uniques[i] for i in order]
    small = {uniques[i] for i in order if sizes[i] < min_size}
    if reference is None:
        reference = next((g for g in groups if not is_missing_group(g) and g not in small),
                         next((g for g in groups if g not in small), None))
        if reference is None:
            raise AnkerDataError(f"every group of {group_col} has fewer than min_group_size="
                                 f"{min_size} people: nothing to audit", columns=columns)
    elif reference not in groups:
        raise ValueError(f"reference: {reference!r} is not a group of {group_col}; "
                         f"the groups are {groups}")
    elif reference in small:
        raise ValueError(f"reference: group {reference!r} has fewer than min_group_size="
                         f"{min_size} people and is suppressed; choose a larger group")

    z = float(stats.norm.ppf(0.5 + level / 2))
    rows, notes, parts = {}, {}, {}
    for i in order:
        g = uniques[i]
        if g in small:
            continue
        parts[g] = table[codes == i]
        if kind == "survival":  # censoring-aware fpr and fnr, with the group's own censoring
            parts[g] = parts[g].assign(ipcw=ipcw_weights(parts[g]["duration"],
                                                         parts[g]["event"], float(time)))
        rows[g], notes[g] = _group_row(parts[g], kind, meaning, ci=ci, z=z, level=level,
                                       time=float(time))
        calibration, calibration_notes = group_calibration(parts[g], kind, time=float(time))
        rows[g].update(calibration)
        notes[g] += calibration_notes
    columns_seen = list(next(iter(rows.values())))
    for g in small:
        rows[g], notes[g] = suppressed_row(columns_seen, min_size)
    audit = pd.DataFrame([rows[g] for g in groups])
    audit.index = group_index(groups, columns)
    audit["suppressed"] = [g in small for g in groups]
    audit.insert(1, "share", audit["n"] / sizes.sum())

    ref = audit.loc[reference]
    for metric in RATIO_METRICS:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = audit[metric] / ref[metric]
        if not ref[metric] > 0:
            for g in groups:
                notes[g].append(f"reference {metric} is {ref[metric]:.3g}: {metric}_ratio undefined")
        audit[f"{metric}_ratio"] = ratio.where(np.isfinite(ratio))
    if ci:
        _add_bootstrap(audit, parts, kind, reference, n_boot, np.random.default_rng(seed),
                       level, z)
    outside = {g: [m for m in flag_on if not low <= audit.loc[g, f"{m}_ratio"] <= high
                   and np.isfinite(audit.loc[g, f"{m}_ratio"])] for g in groups}
    # a suppressed cell shows nothing, flags included
    audit["flagged"] = [bool(outside[g]) for g in groups]
    audit["flags"] = [", ".join(f"{m} ({audit.loc[g, f'{m}_ratio']:.2f})" for m in outside[g])
                      for g in groups]
    if ci:
        audit["flags_confident"] = [", ".join(
            m for m in flag_on if audit.loc[g, f"{m}_ratio_ci_low"] > high
            or audit.loc[g, f"{m}_ratio_ci_high"] < low) for g in groups]
    if small:
        audit["n_flagged"] = audit["n_flagged"].astype("Int64")
        audit["n_target"] = audit["n_target"].astype("Int64")
    audit["notes"] = ["; ".join(notes[g]) for g in groups]
    audit = audit[_column_order(audit.columns, kind, ci)]
    features = list(getattr(test, "features", []) or [])
    audit.attrs.update({
        "model": type(test).__name__, "test": getattr(test, "name", type(test).__name__),
        "kind": kind, **meaning, "group_col": group_col if isinstance(group_col, str) else columns,
        "reference": reference, "min_group_size": min_size, "n_suppressed": len(small),
        "band": (low, high), "flag_on": list(flag_on),
        "protected_features_used": list(getattr(test, "protected_features_used", []) or []),
        "group_col_is_feature": any(c in features for c in columns),
        "missing": missing, "n_missing_group": n_missing, "n_excluded": excluded,
        "ci": bool(ci), "level": float(level), "n_boot": int(n_boot) if ci else None,
        "seed": seed if ci else None})
    if kind == "survival":
        audit.attrs.update(time=float(time), survival_threshold=float(survival_threshold))
    return audit


def _column_order(columns: pd.Index, kind: str, ci: bool) -> list[str]:
    ratios = [f"{m}_ratio" for m in RATIO_METRICS]
    order = (["n", "share", *_GROUP_METRICS, *_CALIBRATION, "n_flagged", "n_target"]
             + (["n_status_unknown"] if kind == "survival" else []) + ratios
             + ["flagged", "flags", "suppressed"])
    if ci:
        order += ["flags_confident"] + [f"{m}_{end}" for m in (*_GROUP_METRICS, *ratios)
                                        for end in ("ci_low", "ci_high")]
    missing = set(order) - set(columns)
    assert not missing, missing  # a bug here, not a user error
    return [*order, "notes"]


def _add_bootstrap(audit: pd.DataFrame, parts: dict, kind: str, reference: Any, n_boot: int,
                   rng: np.random.Generator, level: float, z: float) -> None:
    """Within-group bootstrap intervals for the mean score, calibration and the ratios."""
    reps = {g: _bootstrap(_cell_codes(part, kind), part["score"].to_numpy(), kind, n_boot, rng,
                          part["ipcw"].to_numpy() if "ipcw" in part.columns else None)
            for g, part in parts.items()}
    alpha = (1 - level) / 2

    def interval(values: np.ndarray) -> tuple[float, float]:
        values = values[np.isfinite(values)]
        if len(values) < n_boot / 2:  # the reference's rate was often 0: no honest interval
            return np.nan, np.nan
        low, high = np.quantile(values, [alpha, 1 - alpha])
        return float(low), float(high)

    own = ["mean_score"] + (["calibration_in_the_large"] if kind == "classifier" else [])
    for g in parts:
        for metric in own:
            audit.loc[g, [f"{metric}_ci_low", f"{metric}_ci_high"]] = interval(reps[g][metric])
        for metric in RATIO_METRICS:
            if metric == "base_rate" and kind == "survival":  # Greenwood, on the log scale
                half = 0.0 if g == reference else z * np.sqrt(
                    audit.loc[g, "_var_log_base"] + audit.loc[reference, "_var_log_base"])
                r = audit.loc[g, "base_rate_ratio"]
                bounds = (r * np.exp(-half), r * np.exp(half))
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    bounds = interval(reps[g][metric] / reps[reference][metric])
            audit.loc[g, [f"{metric}_ratio_ci_low", f"{metric}_ratio_ci_high"]] = bounds
