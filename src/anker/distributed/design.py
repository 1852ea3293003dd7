"""The design of a Dask frame: levels learned in one pass, design blocks per partition."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from anker.distributed._frames import map_blocks, meta, require_dask
from anker.errors import AnkerDataError
from anker.models.design import DesignSpec, _is_categorical, _level_order, check_reference_levels
from anker.schema import require_columns

__all__ = ["learn_design_dask"]


def _partition_levels(part: pd.DataFrame, features: Sequence[str],
                      categorical: Sequence[str]) -> tuple[dict[str, pd.Series], pd.Series, list[str]]:
    counts = {f: part[f].astype(str).value_counts() for f in categorical}
    missing = part[list(features)].isna().sum()
    infinite = [f for f in features if f not in categorical
                and not np.isfinite(part[f].to_numpy(dtype=float, na_value=0.0)).all()]
    return counts, missing, infinite


def learn_design_dask(ddf: Any, features: Sequence[str], *, categorical: Iterable[str] = (),
                      reference_levels: dict[str, object] | None = None) -> DesignSpec:
    """`anker.models.design.DesignSpec.learn` on a Dask frame, in one pass over the partitions.

    The levels of each categorical feature are counted per partition and
    summed, so the reference level (the schema's preferred one, else the most
    frequent) and the order of the dummy columns are those of the in-memory
    spec, also with ``reference_levels`` (the reference level per categorical
    feature) or a ``CategoricalDtype`` with known categories. Missing values
    raise `anker.AnkerDataError` naming the columns and the number of rows.

    Examples
    --------
    >>> import anker, dask.dataframe as dd
    >>> from anker.models.design import DesignSpec
    >>> df = anker.simulate_population(n_per_cohort=500, seed=1).data
    >>> spec = learn_design_dask(dd.from_pandas(df, npartitions=3), ["age", "sector"])
    >>> spec == DesignSpec.learn(df, ["age", "sector"])
    True
    """
    require_dask(ddf, "learn_design_dask")
    features = tuple(features)
    if len(set(features)) != len(features):
        dup = sorted({f for f in features if features.count(f) > 1})
        raise ValueError(f"features: listed more than once: {dup}")
    empty = meta(ddf)
    require_columns(empty, features, role="design matrix")
    forced = set(categorical)
    cats = [f for f in features if f in forced or _is_categorical(empty[f])]
    references = check_reference_levels(reference_levels, features, cats)
    parts = map_blocks(_partition_levels, ddf.to_delayed(), features, cats)
    missing = sum((p[1] for p in parts), start=pd.Series(0, index=list(features)))
    if missing.any():
        shown = missing[missing > 0]
        detail = ", ".join(f"{c}: {int(n)} row(s)" for c, n in shown.items())
        raise AnkerDataError(f"missing values in feature column(s) ({detail}); anker does not "
                             "impute: drop or fill these rows first", columns=list(shown.index))
    infinite = sorted({f for p in parts for f in p[2]})
    if infinite:
        raise AnkerDataError(f"column {infinite[0]!r} has infinite values", columns=infinite)
    levels = {}
    for f in cats:
        counts = pd.concat([p[0][f] for p in parts]).groupby(level=0).sum()
        counts = counts.sort_values(ascending=False, kind="stable")
        levels[f] = tuple(_level_order(f, counts.index, counts, _declared_dtype(empty[f]),
                                       references.get(f)))
    return DesignSpec(features=features, levels=levels)


def _declared_dtype(series: pd.Series) -> pd.Series | None:
    """The (empty) column when its CategoricalDtype lists the categories: their order counts."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) and "__UNKNOWN_CATEGORIES__" not in dtype.categories:
        return series
    return None


def numeric_column(part: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """A numeric column of a partition as floats; missing or text values raise, naming the column."""
    series = part[column]
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(int)
    if not pd.api.types.is_numeric_dtype(series):
        raise AnkerDataError(f"column {column!r} ({what}) must be numeric, got dtype {series.dtype}",
                             columns=[column])
    values = series.to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(values).all():
        raise AnkerDataError(f"column {column!r} ({what}) has {int((~np.isfinite(values)).sum())} "
                             "missing or infinite value(s) in a partition; anker does not impute: "
                             "drop or fill these rows first", columns=[column])
    return values
