"""The reference distributions of a model fitted on a Dask frame, from its partitions.

`anker.monitoring.reference.reference_distributions` hands a Dask frame here.
The bins are those the in-memory path would learn from the same rows:

- a categorical feature: its level counts, summed over the partitions;
- a numeric feature or score: its quantile edges are order statistics of
  all rows, found exactly without gathering the rows. Each partition keeps
  its values sorted; every pass asks each partition how many of its values
  lie below an interval and how they spread over 1,024 equal slices of it,
  and narrows each interval to the slice that holds the wanted order
  statistic. Once an interval holds few values (or a single one) the
  partitions send those values and the order statistic is read off. A few
  passes suffice; then each partition counts its values per bin.
- mean and standard deviation are pooled from per-partition moments.

Apparent performance at fitting keeps what adds up over partitions: for a
classifier the rows, base rate, mean prediction and the expected calibration
slope (from the log-likelihoods); for the survival test the rows and exits.
The AUC and the C-index (apparent and leave-one-out) need every pair of rows,
and the survival test's expected slope a Cox fit of its linear predictor:
they are not computed on a Dask frame, and `anker.monitor` says so.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from anker.distributed._frames import map_blocks, meta, persist_blocks
from anker.monitoring.scores import (
    SCORE_NAMES,
    expected_slope,
    is_numeric,
    test_outcomes,
    test_scores,
)

_SLICES = 1024
_GATHER = 20_000  # an interval with at most this many values is sent whole


def _block(part: pd.DataFrame, model: Any, features: list[str]) -> dict[str, Any]:
    """One partition: sorted values of each numeric feature and score, and its summary."""
    columns: dict[str, pd.Series] = {f: part[f] for f in features}
    scores = [SCORE_NAMES[name] for name in model.tests if name in SCORE_NAMES]
    if len(part):
        with warnings.catch_warnings():  # warned about where the model is used, not here
            warnings.simplefilter("ignore")
            columns.update(test_scores(model, part))
    else:
        columns.update({s: pd.Series([], dtype=float) for s in scores})
    block: dict[str, Any] = {"sorted": {}, "summary": {
        "n": len(part), "missing": {}, "levels": {}, "numeric": {},
        "performance": _performance_sums(model, part) if len(part) else {}}}
    summary = block["summary"]
    for name, values in columns.items():
        missing = values.isna().to_numpy()
        summary["missing"][name] = int(missing.sum())
        present = values[~missing]
        if name in features and not is_numeric(values):
            summary["levels"][name] = present.astype(str).value_counts(sort=False).to_dict()
            continue
        x = np.sort(present.to_numpy(dtype=float))
        block["sorted"][name] = x
        mean = float(x.mean()) if x.size else 0.0
        summary["numeric"][name] = (x.size, float(x[0]) if x.size else np.inf,
                                    float(x[-1]) if x.size else -np.inf, mean,
                                    float(((x - mean) ** 2).sum()))
    return block


def _summary(block: dict[str, Any]) -> dict[str, Any]:
    return block["summary"]


def _performance_sums(model: Any, part: pd.DataFrame) -> dict[str, dict[str, float]]:
    sums = {}
    for name, test in model.tests.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = test_outcomes(name, test, part)
        if data is None:
            continue
        if name == "benefit_duration":
            sums[name] = {"n": float(len(data["lp"])), "events": float(data["events"].sum())}
            continue
        y, p = data["y"], data["p"]
        q = np.clip(p, 1e-12, 1 - 1e-12)
        sums[name] = {"n": float(len(y)), "y": float(y.sum()), "p": float(p.sum()),
                      "loglik": float(np.sum(y * np.log(q) + (1 - y) * np.log1p(-q)))}
    return sums


def _query(block: dict[str, Any], asks: list[tuple[str, float, float, bool, bool]]) -> list:
    """Per ask (column, low, high, high included, gather): the values below ``low``, then the
    counts per slice of the interval, or its values."""
    answers = []
    for column, low, high, closed, gather in asks:
        x = block["sorted"][column]
        start = np.searchsorted(x, low, side="left")
        stop = np.searchsorted(x, high, side="right" if closed else "left")
        inside = x[start:stop]
        if gather:
            answers.append((int(start), inside))
            continue
        cuts = np.searchsorted(inside, np.linspace(low, high, _SLICES + 1)[1:-1], side="left")
        answers.append((int(start), np.diff(np.r_[0, cuts, inside.size])))
    return answers


def _order_statistics(blocks: list, wanted: dict[str, list[int]],
                      bounds: dict[str, tuple[float, float]]) -> dict[str, dict[int, float]]:
    """The ``wanted`` order statistics (0-based ranks) of each column, over all blocks."""
    # per order statistic: column, rank, interval [low, high] (high included or not), whether
    # to gather its values next, and how many values lie below the interval
    state = [[column, k, *bounds[column], True, False, 0]
             for column, ranks in wanted.items() for k in ranks]
    found: dict[tuple[str, int], float] = {}
    while len(found) < len(state):
        active = [s for s in state if (s[0], s[1]) not in found]
        asks = [(c, low, high, closed, gather) for c, _, low, high, closed, gather, _ in active]
        replies = map_blocks(_query, blocks, asks)
        for i, s in enumerate(active):
            column, k, low, high, closed, gather, _ = s
            below = sum(r[i][0] for r in replies)
            if gather:
                values = np.sort(np.concatenate([r[i][1] for r in replies]))
                found[(column, k)] = float(values[k - below])
                continue
            if low == high:  # one value repeated
                found[(column, k)] = float(low)
                continue
            cumulative = np.cumsum(np.sum([r[i][1] for r in replies], axis=0))
            piece = int(np.searchsorted(cumulative, k - below + 1, side="left"))
            edges = np.linspace(low, high, _SLICES + 1)
            s[2], s[3] = float(edges[piece]), float(edges[piece + 1])
            s[4] = closed and piece == _SLICES - 1
            s[6] = below + (int(cumulative[piece - 1]) if piece else 0)
            held = int(cumulative[piece]) - (int(cumulative[piece - 1]) if piece else 0)
            # few values left, or an interval too narrow to split in floating point
            s[5] = held <= _GATHER or not s[2] < s[3] or s[2] == low and s[3] == high
            if not s[2] < s[3]:
                found[(column, k)] = s[2]
    return {c: {k: found[(c, k)] for k in ranks} for c, ranks in wanted.items()}


def _ranks(n: int, bins: int) -> list[int]:
    """The 0-based order statistics numpy's ``quantile(..., method="inverted_cdf")`` takes."""
    index = n * (np.arange(1, bins) / bins) - 1
    previous = np.floor(index)
    chosen = np.where(index - previous == 0, previous, previous + 1)
    return [int(v) for v in np.clip(chosen, 0, n - 1)]


def _bin_counts(block: dict[str, Any], edges: dict[str, list[float]]) -> dict[str, np.ndarray]:
    """Values per right-closed bin: at most each edge, then the open last bin."""
    out = {}
    for column, cuts in edges.items():
        x = block["sorted"][column]
        at_most = np.searchsorted(x, np.asarray(cuts, dtype=float), side="right")
        out[column] = np.diff(np.r_[0, at_most, x.size])
    return out


def reference_distributions_dask(model: Any, ddf: Any, *, bins: int) -> dict[str, Any]:
    """`anker.monitoring.reference.reference_distributions` of a Dask frame (see the module)."""
    features = list(dict.fromkeys(f for test in model.tests.values() for f in test.features))
    blocks = persist_blocks(ddf[features + _outcome_columns(model, meta(ddf), features)],
                            _block, model, features)
    summaries = map_blocks(_summary, blocks)
    n = sum(s["n"] for s in summaries)
    numeric = {c: _pooled([s["numeric"][c] for s in summaries])
               for c in summaries[0]["numeric"]}
    wanted = {c: sorted(set(_ranks(m["size"], bins))) for c, m in numeric.items() if m["size"]}
    found = _order_statistics(blocks, wanted, {c: (numeric[c]["min"], numeric[c]["max"])
                                               for c in wanted})
    edges = {}
    for c in wanted:  # as learn_bins: distinct quantiles below the largest value
        cuts = np.unique([found[c][k] for k in _ranks(numeric[c]["size"], bins)])
        edges[c] = [float(e) for e in cuts if e < numeric[c]["max"]]
    counts = map_blocks(_bin_counts, blocks, edges)
    specs: dict[str, dict[str, Any]] = {}
    for c in summaries[0]["missing"]:
        if c in numeric:
            m = numeric[c]
            specs[c] = {"kind": "numeric", "edges": edges.get(c, []),
                        "counts": (np.sum([k[c] for k in counts], axis=0).tolist() if c in edges
                                   else [0]),
                        "min": m["min"] if m["size"] else None,
                        "max": m["max"] if m["size"] else None,
                        "mean": m["mean"] if m["size"] else None,
                        "sd": float(np.sqrt(m["m2"] / m["size"])) if m["size"] > 1 else None}
        else:
            levels: dict[str, int] = {}
            for s in summaries:
                for level, count in s["levels"][c].items():
                    levels[level] = levels.get(level, 0) + int(count)
            order = sorted(levels)
            specs[c] = {"kind": "categorical", "levels": order,
                        "counts": [levels[lv] for lv in order]}
        specs[c].update(n=int(n), n_missing=int(sum(s["missing"][c] for s in summaries)))
    return {"n": int(n), "bins": int(bins),
            "features": {f: specs[f] for f in features},
            "scores": {c: spec for c, spec in specs.items() if c not in features},
            "performance": _performance(model, [s["performance"] for s in summaries])}


def _pooled(parts: list[tuple[int, float, float, float, float]]) -> dict[str, float]:
    """Size, least, largest, mean and sum of squared deviations over blocks (Chan's rule)."""
    size, mean, m2 = 0, 0.0, 0.0
    for m, _, _, mu, squares in parts:
        if not m:
            continue
        delta = mu - mean
        mean += delta * m / (size + m)
        m2 += squares + delta**2 * size * m / (size + m)
        size += m
    return {"size": size, "min": min(p[1] for p in parts), "max": max(p[2] for p in parts),
            "mean": mean, "m2": m2}


def _outcome_columns(model: Any, empty: pd.DataFrame, features: list[str]) -> list[str]:
    """The outcome columns of the model's tests that the frame has (for the performance)."""
    wanted = [getattr(test, attr) for test in model.tests.values()
              for attr in ("outcome_col", "treatment_col", "duration_col", "event_col")
              if getattr(test, attr, None) is not None]
    return [c for c in dict.fromkeys(wanted) if c in empty.columns and c not in features]


def _performance(model: Any, sums: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    out = {}
    for name, test in model.tests.items():
        parts = [s[name] for s in sums if name in s]
        if not parts:
            continue
        total = {key: sum(p[key] for p in parts) for key in parts[0]}
        n = int(total["n"])
        if name == "benefit_duration":
            if total["events"] > 0:
                out[name] = {"kind": "survival", "n": n, "n_events": int(total["events"])}
        elif 0 < total["y"] < n:
            rate = total["y"] / n
            out[name] = {"kind": "classifier", "n": n, "base_rate": float(rate),
                         "mean_predicted": float(total["p"] / n),
                         "expected_slope": expected_slope(total["loglik"], rate, n,
                                                          len(test.summary) - 1)}
    return out
