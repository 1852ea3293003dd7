"""Each client's largest contributions: `explain` of every test and the profile's top factors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def top_contributions(contributions: np.ndarray, feature_names: Sequence[str], index: pd.Index,
                      *, top: int) -> pd.DataFrame:
    """The ``top`` largest absolute contributions per row, as a tidy wide frame."""
    best, values = top_positions(np.ascontiguousarray(contributions.T), top)
    names = list(feature_names)
    out = {}
    for j in range(best.shape[0]):
        out[f"factor_{j + 1}"] = pd.Categorical.from_codes(best[j], categories=names)
        out[f"contribution_{j + 1}"] = values[j]
    return pd.DataFrame(out, index=index)


def top_positions(by_feature: np.ndarray, top: int,
                  scratch: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` largest absolute values of each column of ``by_feature`` (features x rows):
    their features (ties: the first) and values, two (top, rows) arrays.

    Each pass runs over the features with whole rows of clients (contiguous
    memory), keeping the running largest value and its feature; a chosen value
    is then set aside. This is a row-wise argmax without numpy's per-row cost.
    ``scratch`` (features + 1 rows, at least as many columns) is working memory
    a caller in a loop can lend.
    """
    k, n = by_feature.shape
    top = int(min(max(top, 1), k))
    if scratch is None:
        scratch = np.empty((k + 1, n))
    size, largest = scratch[:k, :n], scratch[k, :n]
    np.abs(by_feature, out=size)
    best = np.zeros((top, n), dtype=np.int8 if k < 127 else np.intp)
    values = np.empty((top, n))
    larger = np.empty(n, dtype=bool)
    step = np.empty(n, dtype=best.dtype)
    column = np.arange(n)
    features = [best.dtype.type(f) for f in range(k)]
    for j in range(top):
        largest[:] = size[0]
        best[j] = 0
        for f in range(1, k):
            np.greater(size[f], largest, out=larger)  # strictly: a tie keeps the first
            # best = f where larger, without a branch per client (a masked copy mispredicts)
            np.subtract(features[f], best[j], out=step)
            np.multiply(step, larger, out=step)
            np.add(best[j], step, out=best[j])
            np.maximum(largest, size[f], out=largest)
        values[j] = by_feature[best[j], column]
        size[best[j], column] = -1.0
    return best, values
