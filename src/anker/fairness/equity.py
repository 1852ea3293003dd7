"""Accuracy equity across thresholds: do the error rates of a flag stay equal between groups?

One threshold gives one pair of error rates; a different cut-off can close
or open a gap. :func:`accuracy_equity` moves the flag's threshold over the
score's range and gives, per group and threshold, the false positive and
false negative rates and their ratios to the reference group, as a tidy
table (``anker.plots.accuracy_equity`` draws it). The flag keeps the test's
direction: a high compliance risk, a low chance of work (route B), a high
predicted survival. For the duration test the rates are censoring-aware
(IPCW, as in :func:`anker.audit_fairness`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from anker.errors import AnkerDataError
from anker.fairness._metrics import _person_table
from anker.fairness.audit import _survival_time
from anker.fairness.groups import (
    check_min_group_size,
    group_columns,
    group_labels,
    is_missing_group,
)
from anker.fairness.ipcw import ipcw_weights
from anker.schema import require_columns

__all__ = ["accuracy_equity"]


def accuracy_equity(test: Any, df: pd.DataFrame, group_col: str | Sequence[str], *,
                    thresholds: Sequence[float] | None = None, reference: Any = None,
                    min_group_size: int | None = None, time: float | None = None) -> pd.DataFrame:
    """False positive and false negative rates per group at each threshold, and their ratios.

    Parameters
    ----------
    test : fitted test
        As for :func:`anker.audit_fairness`.
    df : DataFrame
        Records with the test's features, outcome and the group column(s).
    group_col : str or list of str
        Groups, or intersections of groups.
    thresholds : list of float, optional
        Cut-offs on the score (a probability; predicted survival for the
        duration test); default the 5 %, 10 %, ..., 95 % quantiles of the score.
    reference : label, optional
        The group ratios are taken to; default the largest group.
    min_group_size : int, optional
        Groups with fewer people are left out (listed in ``attrs["suppressed"]``).
    time : float, optional
        The duration test's horizon in its time unit (default as for
        :func:`anker.audit_fairness`: 182 calendar days, within follow-up).

    Returns
    -------
    DataFrame
        One row per group and threshold: the group column(s), ``threshold``,
        ``flag_rate``, ``fpr``, ``fnr``, ``fpr_ratio``, ``fnr_ratio``.

    Examples
    --------
    >>> import anker
    >>> from anker.fairness import accuracy_equity
    >>> df = anker.simulate_population(n_per_cohort=2_000, seed=1).data
    >>> nt = anker.ComplianceTest().fit(df)
    >>> table = accuracy_equity(nt, df, "sex", thresholds=[0.1, 0.2])
    >>> table.shape, sorted(table["sex"].unique())
    ((4, 7), ['female', 'male'])
    """
    columns = group_columns(group_col)
    require_columns(df, columns, role="accuracy equity")
    min_size = check_min_group_size(min_group_size)
    time = _survival_time(test, df, time)
    kind, table, _ = _person_table(test, df, time=float(time), survival_threshold=0.5)
    labels, _ = group_labels(df, columns, "group")
    usable = (table["score"].notna() & table["y"].notna()).to_numpy() if kind == "classifier" \
        else (table["score"].notna() & table["duration"].notna() & table["event"].notna()).to_numpy()
    if (left_out := int((~usable).sum())):
        warnings.warn(f"{left_out} of {len(df)} row(s) lack a score or an outcome and are left "
                      "out of the accuracy-equity table", UserWarning, stacklevel=2)
    table, labels = table[usable].reset_index(drop=True), labels[usable]
    if not len(table):
        raise AnkerDataError("no rows with a score and an outcome")
    # the flag's direction: it catches the target; high scores do when target is the outcome
    same = float(np.nanmean((table["target"] == table["y"]).to_numpy())) > 0.5
    score = table["score"].to_numpy()
    if thresholds is None:
        thresholds = np.unique(np.quantile(score, np.arange(0.05, 0.951, 0.05)))
    thresholds = np.asarray(thresholds, dtype=float)
    if thresholds.ndim != 1 or not thresholds.size or not np.isfinite(thresholds).all():
        raise ValueError(f"thresholds must be a list of finite numbers, got {thresholds!r}")
    codes, uniques = pd.factorize(labels)
    sizes = np.bincount(codes, minlength=len(uniques))
    kept = [i for i in np.argsort(-sizes, kind="stable") if sizes[i] >= min_size]
    if not kept:
        raise AnkerDataError(f"every group has fewer than min_group_size={min_size} people")
    groups = [uniques[i] for i in kept]
    if reference is None:
        reference = next((g for g in groups if not is_missing_group(g)), groups[0])
    elif reference not in groups:
        raise ValueError(f"reference: {reference!r} is not a group with at least "
                         f"{min_size} people; the groups are {groups}")
    rows = []
    for i in kept:
        part = table[codes == i]
        target = part["target"].to_numpy()
        weights = (ipcw_weights(part["duration"], part["event"], float(time))
                   if kind == "survival" else np.ones(len(part)))
        known = np.isfinite(target)
        flags = (part["score"].to_numpy()[:, None] >= thresholds[None, :]) if same else (
            part["score"].to_numpy()[:, None] < thresholds[None, :])
        neg = known & (np.nan_to_num(target) == 0)
        pos = known & (np.nan_to_num(target) == 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            fpr = (weights[neg, None] * flags[neg]).sum(0) / weights[neg].sum()
            fnr = (weights[pos, None] * ~flags[pos]).sum(0) / weights[pos].sum()
        label = uniques[i] if isinstance(uniques[i], tuple) else (uniques[i],)
        for t, fr, p, q in zip(thresholds, flags.mean(0), fpr, fnr, strict=True):
            rows.append((*label, uniques[i], float(t), float(fr), float(p), float(q)))
    out = pd.DataFrame(rows, columns=[*columns, "_group", "threshold", "flag_rate", "fpr",
                                      "fnr"])
    ref = out[out["_group"].map(lambda g: g == reference)].set_index("threshold")
    with np.errstate(divide="ignore", invalid="ignore"):
        for metric in ("fpr", "fnr"):
            base = out["threshold"].map(ref[metric])
            ratio = out[metric] / base
            out[f"{metric}_ratio"] = ratio.where(np.isfinite(ratio))
    out = out.drop(columns="_group")
    out.attrs.update({"test": getattr(test, "name", type(test).__name__), "kind": kind,
                      "group_col": columns if len(columns) > 1 else columns[0],
                      "reference": reference, "flag_direction": "score >= threshold" if same
                      else "score < threshold", "suppressed": [uniques[i] for i in
                                                                range(len(uniques))
                                                                if sizes[i] < min_size],
                      "min_group_size": min_size})
    return out
