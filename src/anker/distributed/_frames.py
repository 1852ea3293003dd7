"""Recognising a Dask frame without importing Dask, and running work over its partitions."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

INSTALL_HINT = "pip install 'anker[dask]'"


def is_dask_frame(obj: Any) -> bool:
    """True for a ``dask.dataframe.DataFrame``; never imports Dask itself.

    A frame can only be a Dask frame once ``dask.dataframe`` has been
    imported, so ``import anker`` works without the ``dask`` extra.

    Examples
    --------
    >>> import pandas as pd
    >>> is_dask_frame(pd.DataFrame({"a": [1]}))
    False
    """
    module = sys.modules.get("dask.dataframe")
    frame = getattr(module, "DataFrame", None) if module is not None else None
    return isinstance(frame, type) and isinstance(obj, frame)


def require_dask(ddf: Any, what: str) -> None:
    """Raise a clear error unless ``ddf`` is a Dask DataFrame."""
    try:
        import dask.dataframe  # noqa: F401
    except ImportError:
        raise ImportError(f"{what} on a Dask frame needs Dask: {INSTALL_HINT}") from None
    if not is_dask_frame(ddf):
        raise TypeError(f"{what}: expected a dask.dataframe.DataFrame, got {type(ddf).__name__}")


def meta(ddf: Any):
    """The empty pandas frame with the Dask frame's columns and dtypes."""
    return ddf._meta


def map_blocks(function: Callable[..., Any], blocks: Sequence[Any], *args: Any) -> list[Any]:
    """``function(block, *args)`` for every (persisted) block, computed together."""
    import dask

    return list(dask.compute(*[dask.delayed(function)(block, *args) for block in blocks]))


def persist_blocks(ddf: Any, function: Callable[..., Any], *args: Any) -> list[Any]:
    """Turn each partition into a block of arrays with ``function(partition, *args)`` and keep
    the blocks in memory (on the workers of a distributed cluster) for the Newton steps."""
    import dask

    parts = ddf.to_delayed()
    return list(dask.persist(*[dask.delayed(function)(part, *args) for part in parts]))


def persist_map(function: Callable[..., Any], blocks: Sequence[Any], *args: Any) -> list[Any]:
    """``function(block, *args)`` for every persisted block, itself kept in memory."""
    import dask

    return list(dask.persist(*[dask.delayed(function)(block, *args) for block in blocks]))
