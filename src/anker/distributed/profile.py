"""`AnkerModel.profile` on a Dask frame: the same scoring per partition, lazily."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from anker.distributed._frames import meta, require_dask


def _profile_partition(part: pd.DataFrame, model: Any, options: dict[str, Any]) -> pd.DataFrame:
    return model.profile(part, **options)


def profile_dask(model: Any, ddf: Any, **options: Any) -> Any:
    """Profile the clients of a Dask frame: a lazy Dask frame, one row per input row.

    Each partition is scored by ``model.profile`` itself, so the rows, index
    and values are exactly those of the in-memory profile of the same
    records; nothing is computed until the result is (``.compute()``,
    ``.to_parquet(...)``). ``options`` are passed on to ``model.profile``.

    Examples
    --------
    >>> import anker, dask.dataframe as dd
    >>> df = anker.simulate_population(n_per_cohort=1_000, seed=1).data
    >>> model = anker.AnkerModel().fit(df)
    >>> lazy = model.profile(dd.from_pandas(df, npartitions=3))
    >>> lazy.npartitions, len(lazy.compute()) == len(df)
    (3, True)
    """
    require_dask(ddf, "AnkerModel.profile")
    with warnings.catch_warnings():
        # the empty frame only gives the columns and dtypes: its warnings are not about the data
        warnings.simplefilter("ignore")
        empty = model.profile(meta(ddf), **options)
    return ddf.map_partitions(_profile_partition, model, options, meta=empty)
