"""Binned reference distributions of every feature and score, kept in the model file.

At fit time :func:`reference_distributions` cuts each numeric feature and
each test's score into quantile bins of the fitting data and counts the
rows per bin; a categorical feature gets one bin per level. Only counts,
bin edges and a few moments are kept, never a row. :func:`count_bins` puts
new data into the same bins, with a bin for missing values and one for
categorical levels the fitting data did not have, so no row of a new
inflow is dropped (the PSI code of many scorecard tools silently leaves out
missing values and unseen levels). Values outside the fitting range fall in
the open outer bins and are also counted apart.

This module imports nothing from the layers above it: ``anker.profile``
calls it while fitting (an upward import listed in the contract).

Examples
--------
>>> import numpy as np, pandas as pd
>>> spec = learn_bins(pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10]), bins=5)
>>> spec["edges"], spec["counts"]
([2.0, 4.0, 6.0, 8.0], [2, 2, 2, 2, 2])
>>> count_bins(spec, pd.Series([0.0, 5, 11, np.nan]))
{'counts': [1, 0, 1, 0, 1], 'n_missing': 1, 'n_unseen': 0, 'n_below': 1, 'n_above': 1}
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from anker.distributed._frames import is_dask_frame
from anker.monitoring.dask_reference import reference_distributions_dask
from anker.monitoring.scores import (  # re-exported: drift and performance use them from here
    SCORE_NAMES,  # noqa: F401
    _expected_slope,
    _numbers,
    is_numeric,
    test_outcomes,
    test_scores,
)

FORMAT_VERSION = 1
DEFAULT_BINS = 10

def learn_bins(values: pd.Series, *, bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """Bins of one column from the fitting data, and the fitting data's counts in them.

    Numeric: right-closed intervals between distinct quantiles that are data
    values, open at both ends, so every bin holds fitting rows; categorical:
    one bin per level seen. Missing values are counted, not binned.
    """
    values = pd.Series(values).reset_index(drop=True)
    missing = values.isna().to_numpy()
    present = values[~missing]
    if is_numeric(values):
        x = present.to_numpy(dtype=float)
        if x.size == 0:
            edges: list[float] = []
        else:
            probs = np.arange(1, bins) / bins
            cuts = np.unique(np.quantile(x, probs, method="inverted_cdf"))
            edges = [float(e) for e in cuts if e < x.max()]
        spec: dict[str, Any] = {"kind": "numeric", "edges": edges}
        spec["counts"] = _numeric_counts(edges, x).tolist()
        spec.update(min=float(x.min()) if x.size else None, max=float(x.max()) if x.size else None,
                    mean=float(x.mean()) if x.size else None,
                    sd=float(x.std()) if x.size > 1 else None)
    else:
        levels = present.astype(str)
        counts = levels.value_counts(sort=False)
        order = sorted(counts.index)
        spec = {"kind": "categorical", "levels": order,
                "counts": [int(counts[lv]) for lv in order]}
    spec["n"] = int(len(values))
    spec["n_missing"] = int(missing.sum())
    return spec


def _numeric_counts(edges: list[float], x: np.ndarray) -> np.ndarray:
    """Rows per bin (-inf, e_0], (e_0, e_1], ..., (e_last, inf); NaN in the last bin."""
    if len(edges) > 32:
        position = np.searchsorted(np.asarray(edges, dtype=float), x, side="left")
        return np.bincount(position, minlength=len(edges) + 1)
    # with few edges, counting the rows above each edge beats a binary search per row
    above = [len(x), *(np.count_nonzero(x > e) for e in edges), 0]
    counts = -np.diff(np.asarray(above, dtype=np.int64))
    if n_nan := np.count_nonzero(np.isnan(x)):  # above no edge, yet sorted last
        counts[0] -= n_nan
        counts[-1] += n_nan
    return counts


def count_bins(spec: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    """Counts of new ``values`` in the bins of ``spec``; missing and unseen counted apart.

    ``counts`` are per bin of the reference (an unseen categorical level is
    not in any of them: ``n_unseen``); ``n_below`` / ``n_above`` count
    numeric values outside the fitting range (they are in the outer bins too).
    """
    values = pd.Series(values).reset_index(drop=True)
    missing = values.isna().to_numpy()
    present = values[~missing]
    out: dict[str, Any] = {"n_missing": int(missing.sum()), "n_unseen": 0,
                           "n_below": 0, "n_above": 0}
    if spec["kind"] == "numeric":
        x = pd.to_numeric(present, errors="coerce")
        if x.isna().any():
            bad = present[x.isna()].astype(str).unique()[:3].tolist()
            raise ValueError(f"expected numbers, found text such as {bad}")
        x = x.to_numpy(dtype=float)
        out["counts"] = _numeric_counts(spec["edges"], x).tolist()
        if spec.get("min") is not None:
            out["n_below"] = int((x < spec["min"]).sum())
            out["n_above"] = int((x > spec["max"]).sum())
    else:
        index = {lv: i for i, lv in enumerate(spec["levels"])}
        codes = present.astype(str).map(index)
        out["n_unseen"] = int(codes.isna().sum())
        out["counts"] = np.bincount(codes.dropna().to_numpy(dtype=np.int64),
                                    minlength=len(index)).tolist()
    return {"counts": out.pop("counts"), **out}


def bin_labels(spec: dict[str, Any]) -> list[str]:
    """Readable labels of the reference bins, in order."""
    if spec["kind"] == "categorical":
        return list(spec["levels"])
    edges = spec["edges"]
    if not edges:
        return ["all values"]
    bounds = ["-inf", *(f"{e:.6g}" for e in edges), "inf"]
    return [f"({bounds[i]}, {bounds[i + 1]}]" if i < len(edges) else f"({bounds[i]}, inf)"
            for i in range(len(edges) + 1)]


def fit_performance(name: str, test: Any, df: pd.DataFrame,
                    X: np.ndarray | None = None) -> dict[str, Any] | None:
    """Discrimination on the fitting data (apparent), the yardstick for a drop later.
    ``X``: the test's design matrix of ``df``, when the caller has it."""
    from anker.diagnostics import auc, concordance_index
    from anker.monitoring.optimism import cox_expected_slope, leave_one_out_lp

    data = test_outcomes(name, test, df, X)
    if data is None:
        return None
    if name == "benefit_duration":
        if data["events"].sum() == 0:
            return None
        durations, events, lp = data["durations"], data["events"], data["lp"]
        out = {"kind": "survival", "n": int(len(lp)), "n_events": int(events.sum()),
               "concordance": float(concordance_index(durations, events, lp)),
               "expected_slope": cox_expected_slope(durations, events, lp,
                                                    n_parameters=len(test.fit_.coef))}
        fit, Z = _outcome_design(name, test, df, X)
        if (eta := leave_one_out_lp(fit, Z, events, durations=durations)) is not None:
            out["concordance_expected"] = float(concordance_index(durations, events, eta))
        return out
    y, p = data["y"], data["p"]
    if y.min() == y.max():
        return None
    out = {"kind": "classifier", "n": int(len(y)), "base_rate": float(y.mean()),
           "mean_predicted": float(p.mean()), "auc": float(auc(y, p, ci=False)),
           "expected_slope": _expected_slope(y, p, n_parameters=len(test.summary) - 1)}
    fit, Z = _outcome_design(name, test, df, X)
    if (eta := leave_one_out_lp(fit, Z, y)) is not None:
        out["auc_expected"] = float(auc(y, eta, ci=False))
    return out


def _outcome_design(name: str, test: Any, df: pd.DataFrame,
                    X: np.ndarray | None = None) -> tuple[Any, np.ndarray]:
    """The fit behind a test's check and its design on the rows with an outcome (the rows
    `test_outcomes` uses, in the same order); ``X``, the design of all of ``df``, serves
    when no row lacks one."""
    if name == "benefit_duration":
        needed = [test.duration_col, test.event_col]
    else:
        needed = [test.outcome_col] + ([test.treatment_col] if name == "reintegration" else [])
    complete = df[needed].notna().all(axis=1).to_numpy()
    part = df if complete.all() else df[complete]
    if X is None or not complete.all():
        X = test._design(part)
    if name == "reintegration":  # test._outcome_design's columns, column-major as X is:
        treated, modifiers = _numbers(part, test.treatment_col), test._modifier_columns
        k = X.shape[1]  # a row-major copy of a column-major matrix is a slow transpose
        Z = np.empty((len(treated), k + 1 + modifiers.size), order="F")
        Z[:, :k], Z[:, k] = X, treated
        np.multiply(X[:, modifiers], treated[:, None], out=Z[:, k + 1:])
        return test.outcome_fit_, Z
    return test.fit_, X


def _shared_designs(model: Any, df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each test's design matrix of ``df``, built once per design the tests share (at
    fitting, usually one for all four: the matrix is most of the cost of a prediction)."""
    built: dict[str, np.ndarray] = {}
    designs = {}
    for name, test in model.tests.items():
        key = json.dumps(test._require_fitted().to_dict(), sort_keys=True)
        if key in built:
            test._check_ranges(df)  # each test still says which of its features extrapolate
            designs[name] = built[key]
        else:
            designs[name] = built[key] = test._design(df)
    return designs


def reference_distributions(model: Any, df: pd.DataFrame, *,
                            bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """Binned distributions of every feature and score on the fitting data, as JSON data.

    Parameters
    ----------
    model : fitted AnkerModel
        Its tests give the features (the union over the tests) and the scores.
    df : DataFrame
        The fitting data.
    bins : int
        Quantile bins per numeric feature or score.

    Returns
    -------
    dict
        ``{"format_version", "n", "bins", "features": {name: spec},
        "scores": {name: spec}, "performance": {test: {...}}}``; each spec
        as :func:`learn_bins` gives it. No row-level data.
    """
    if not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    if is_dask_frame(df):  # from the partitions, never gathered in one place
        return {"format_version": FORMAT_VERSION,
                **reference_distributions_dask(model, df, bins=int(bins))}
    features = list(dict.fromkeys(f for test in model.tests.values() for f in test.features))
    # n x p rows times p x p matrices are bound by memory: a second BLAS thread adds no
    # speed and, on a shared machine, waits for a busy core (as in AnkerModel.profile)
    with threadpool_limits(limits=1, user_api="blas"):
        designs = _shared_designs(model, df)
        scores = test_scores(model, df, designs)
        performance = {}
        for name, test in model.tests.items():
            perf = fit_performance(name, test, df, designs[name])
            if perf is not None:
                performance[name] = perf
    return {"format_version": FORMAT_VERSION, "n": int(len(df)), "bins": int(bins),
            "features": {f: learn_bins(df[f], bins=bins) for f in features},
            "scores": {s: learn_bins(v, bins=bins) for s, v in scores.items()},
            "performance": performance}
