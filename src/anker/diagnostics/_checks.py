"""Input checks and binning shared by `anker.diagnostics.classification` and `.survival`.

Inputs are arrays or pandas Series of one length; Series must share their
index. Missing values are refused, never dropped.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from anker.errors import AnkerDataError


def _arrays(**named: object) -> list[np.ndarray]:
    """Named 1-d inputs as float arrays of one length; Series must share one index."""
    indexes = [(k, v.index) for k, v in named.items() if isinstance(v, pd.Series | pd.DataFrame)]
    for name, index in indexes[1:]:
        if not index.equals(indexes[0][1]):
            raise AnkerDataError(f"{name} and {indexes[0][0]} have different indexes; align them first")
    out, n = [], None
    for name, value in named.items():
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise AnkerDataError(f"{name} must be numeric: {exc}") from None
        if arr.ndim != 1:
            raise AnkerDataError(f"{name} must be one-dimensional, got shape {arr.shape}")
        n = len(arr) if n is None else n
        if len(arr) != n:
            raise AnkerDataError(f"{name} has {len(arr)} values, {next(iter(named))} has {n}")
        if missing := int(np.isnan(arr).sum()):
            raise AnkerDataError(f"{name} has {missing} missing values; drop or impute them first")
        out.append(arr)
    if n == 0:
        raise AnkerDataError(f"{next(iter(named))} is empty")
    return out


def _binary(y: np.ndarray, name: str) -> np.ndarray:
    if not np.isin(y, (0.0, 1.0)).all():
        raise AnkerDataError(f"{name} must hold 0/1 outcomes, found {np.setdiff1d(y, [0, 1])[:5]}")
    return y


def _probabilities(p: np.ndarray, name: str) -> np.ndarray:
    if p.min() < 0 or p.max() > 1:
        raise AnkerDataError(f"{name} must lie in [0, 1], found {p.min():g} .. {p.max():g}")
    return p


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    return float(stats.norm.ppf(0.5 + level / 2))


def _bin_ids(p: np.ndarray, bins: int, strategy: str) -> tuple[np.ndarray, np.ndarray]:
    """Bin index per value and the bin edges, by scikit-learn's ``calibration_curve`` rule."""
    if not isinstance(bins, int | np.integer) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, bins + 1))
    elif strategy == "uniform":
        edges = np.linspace(0.0, 1.0, bins + 1)
    else:
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    # a value on an inner edge goes to the lower bin, as in R's cut(): hoslem.test agrees
    return np.searchsorted(edges[1:-1], p), edges


def _warn_empty(n: np.ndarray, what: str) -> None:
    if empty := int((n == 0).sum()):
        warnings.warn(f"{empty} of {len(n)} {what} are empty (tied predictions); "
                      "they are reported with n = 0 and left out of any statistic",
                      UserWarning, stacklevel=3)
