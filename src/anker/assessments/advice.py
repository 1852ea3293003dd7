"""The texts of a profile: the one-line advice and the top factors, each built once;
and the profile's frame that holds them with the scores (`side_by_side`).

A million clients share a few dozen advice lines and a few hundred factor
lines, so each distinct line is written once and handed out by a code per
client. `anker.AnkerModel.profile` uses both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

MONITORING_TEXT = {"low": "standard monitoring", "medium": "extra monitoring",
                   "high": "intensive monitoring"}
ROUTE_TEXT = {"A": "Route A (job-ready)", "B": "Route B (coach support)"}
TRAJECTORY_TEXT = {"trajectory": "trajectory advised", "no trajectory": "no trajectory",
                   "no advice: outside support": "no trajectory advice (unlike past clients)"}


def advice_text(route_b: np.ndarray, trajectory: pd.Series, band: pd.Series,
                wwb: pd.Series) -> pd.Series:
    """One line per client (``route_b``: True for route B): there are only 36
    combinations, so build each once."""
    routes, trajectories, bands = list(ROUTE_TEXT), list(TRAJECTORY_TEXT), list(MONITORING_TEXT)
    texts = np.array([f"{ROUTE_TEXT[r]}; {TRAJECTORY_TEXT[t]}; {MONITORING_TEXT[b]}"
                      + ("; prepare early hand-over to the municipality (WWB)" if w else "")
                      for r in routes for t in trajectories for b in bands for w in (False, True)],
                     dtype=object)
    t = pd.Categorical(trajectory, categories=trajectories).codes.astype(np.intp)
    b = pd.Categorical(band, categories=bands).codes.astype(np.intp)
    code = ((route_b * len(trajectories) + t) * len(bands) + b) * 2 + wwb.to_numpy()
    return pd.Series(texts[code], index=band.index, name="advice")


def factor_text(names: Sequence[str], best: np.ndarray, values: np.ndarray,
                index: pd.Index) -> pd.Series:
    """'age -, health_limitation -, tightness +': the top factors (``best``, (top, n)
    positions in ``names``) with the sign of their contributions ``values``.

    Built once per distinct combination of factors and signs, then mapped back.
    """
    base, top = 2 * len(names), best.shape[0]
    code = np.zeros(len(index), dtype=np.int32 if base ** top < 2**31 else np.int64)
    for j in range(top):
        code *= base
        code += best[j]
        code += best[j]
        code += values[j] >= 0
    # few distinct texts: count the codes when they are few enough, else sort them
    if base ** top <= 1 << 22:
        uniques = np.flatnonzero(np.bincount(code, minlength=base ** top))
        lookup = np.zeros(base ** top, dtype=np.int64)
        lookup[uniques] = np.arange(uniques.size)
        inverse = lookup[code]
    else:
        uniques, inverse = np.unique(code, return_inverse=True)
    texts = []
    for u in uniques:
        parts = []
        for _ in range(top):
            u, digit = divmod(int(u), base)
            parts.append(f"{names[digit // 2]} {'+' if digit % 2 else '-'}")
        texts.append(", ".join(reversed(parts)))
    return pd.Series(np.asarray(texts, dtype=object)[inverse], index=index, name="top_factors")


def side_by_side(index: pd.Index, *parts: pd.Series | pd.DataFrame) -> pd.DataFrame:
    """The columns of ``parts`` (all on ``index``, made by the caller) side by side, not
    copied: concatenating a million rows copies every column into consolidated blocks."""
    columns = {}
    for part in parts:
        for name, column in (part.items() if isinstance(part, pd.DataFrame)
                             else [(part.name, part)]):
            # numpy columns as arrays: pandas checks a wrapped array for NaN, row by row
            columns[name] = column.to_numpy() if isinstance(column.dtype, np.dtype) \
                else column.array
    return pd.DataFrame(columns, index=index, copy=False)
