"""Groups of the fairness audit: one column or the intersection of several, and small-cell suppression.

An intersectional audit (``group_col=["sex", "migration_background"]``)
forms one group per combination of levels that occurs: a model can treat
women with a non-western migration background differently from what either
attribute alone shows. Intersections make small cells; a cell with fewer
than ``min_group_size`` people is *suppressed*: it is listed and marked, but
shows no count and no metric, because rates from a handful of people are
noise and may identify them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from anker.errors import AnkerDataError

MISSING_LABEL = "(missing)"


def group_columns(group_col: str | Sequence[str]) -> list[str]:
    """The audit's group columns as a list; a clear error for anything else."""
    if isinstance(group_col, str):
        return [group_col]
    if not isinstance(group_col, Sequence) or not group_col or not all(
            isinstance(c, str) for c in group_col):
        raise TypeError(f"group_col must be a column name or a list of column names, got "
                        f"{group_col!r}")
    if len(set(group_col)) != len(group_col):
        raise ValueError(f"group_col names a column twice: {list(group_col)}")
    return list(group_col)


def is_missing_group(group: Any) -> bool:
    """True for the missing-label group, or an intersection with a missing component."""
    if isinstance(group, tuple):
        return MISSING_LABEL in group
    return group == MISSING_LABEL


def group_labels(df: pd.DataFrame, columns: list[str], missing: str) -> tuple[np.ndarray, int]:
    """Group label per row (a tuple for several columns) and the number of rows missing one.

    A row missing any of the columns gets ``MISSING_LABEL`` there
    (``missing="group"``) or no group at all (``"drop"``, with a warning).
    """
    parts, is_missing = [], np.zeros(len(df), dtype=bool)
    for col in columns:
        labels = df[col].astype(object)
        absent = labels.isna().to_numpy()
        if missing == "group" and (labels[~absent] == MISSING_LABEL).any():
            raise AnkerDataError(f"{col}: holds the label {MISSING_LABEL!r} already; "
                                 "use missing='drop' or rename it", columns=[col])
        parts.append(labels.where(~absent, MISSING_LABEL).to_numpy())
        is_missing |= absent
    n_missing = int(is_missing.sum())
    if n_missing and missing == "drop":
        warnings.warn(f"{' x '.join(columns)}: {n_missing} of {len(df)} row(s) have no group "
                      "label and are left out of the audit", UserWarning, stacklevel=3)
    if len(columns) == 1:
        labels = parts[0]
    else:
        labels = np.empty(len(df), dtype=object)
        labels[:] = list(zip(*parts, strict=True))
    if missing == "drop":
        labels = np.where(is_missing, None, labels)
    return labels, n_missing


def check_min_group_size(min_group_size: int | None) -> int:
    if min_group_size is None:
        return 0
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int | np.integer) \
            or min_group_size < 0:
        raise ValueError(f"min_group_size must be a whole number >= 0, got {min_group_size!r}")
    return int(min_group_size)


def suppressed_row(columns: Sequence[str], min_group_size: int) -> tuple[dict, list[str]]:
    """The row of a suppressed cell: every metric missing, and why."""
    row = {c: np.nan for c in columns}
    return row, [f"suppressed: fewer than {min_group_size} people, no metrics shown"]


def group_index(groups: list[Any], columns: list[str]) -> pd.Index:
    if len(columns) == 1:
        return pd.Index(groups, name=columns[0])
    return pd.MultiIndex.from_tuples(groups, names=columns)
