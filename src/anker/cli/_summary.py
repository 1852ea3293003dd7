"""The summary line of `anker profile`, the same for its streaming and in-memory engines.

Counts of the advice (routes, trajectories, WWB flags) and the mean P(on
benefit), added up chunk by chunk (or partition by partition on Dask); only what
the profiles hold is printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

_COUNTS = {"route_a": ("route", "A"), "route_b": ("route", "B"),
           "trajectory": ("trajectory_advice", "trajectory"), "wwb": ("wwb_flag", True)}
MEAN_COLUMNS = ("p_on_benefit_3m", "p_on_benefit_6m", "p_on_benefit_12m")


@dataclass
class StreamSummary:
    """What a profile did: rows, chunks, advice counts, mean P(on benefit) and the warnings.

    A count is None when the profiles have no such column (a model without the
    labour-market test has no routes): the summary line then leaves it out
    rather than print a count of 0. The in-memory engine builds its line here
    too, so both engines say the same.
    """

    rows: int = 0
    chunks: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    sums: dict[str, tuple[float, int]] = field(default_factory=dict)  # (sum, non-missing)
    times: dict[str, float] = field(default_factory=dict)
    unit: str = ""
    not_assessed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, profiles: pd.DataFrame, *, tallied: bool = False) -> None:
        if tallied:  # one row of counts and sums (`tally`) instead of the profiles
            row = profiles.iloc[0]
            self.rows += int(row["rows"])
            self.counts.update({k: int(row[k]) for k in _COUNTS if k in row.index})
            self.sums.update({c: (float(row[c]), int(row[f"{c}_n"])) for c in MEAN_COLUMNS
                              if c in row.index})
            return
        if not self.chunks:  # what the profiles hold is the same in every chunk
            self.describe(profiles.attrs)
        self.rows += len(profiles)
        self.chunks += 1
        for name, (column, value) in _COUNTS.items():
            if column in profiles:
                self.counts[name] = self.counts.get(name, 0) + int((profiles[column] == value).sum())
        for column in MEAN_COLUMNS:
            if column in profiles:
                total, n = self.sums.get(column, (0.0, 0))
                values = profiles[column]
                self.sums[column] = (total + float(values.sum()), n + int(values.notna().sum()))

    def describe(self, attrs: dict[str, Any]) -> None:
        """Take the profile times, their unit and what was not assessed from a profile's attrs."""
        self.times = dict(attrs.get("survival_times", {}))
        self.unit = str(attrs.get("time_unit", ""))
        self.not_assessed = list(attrs.get("not_assessed", [])) + list(attrs.get("not_profiled", {}))

    def parts(self) -> list[str]:
        """The summary line's parts: only what the profiles hold."""
        parts, c = [], self.counts
        if "route_a" in c:
            parts.append(f"route A {c['route_a']:,}, route B {c['route_b']:,}")
        if "trajectory" in c:
            parts.append(f"trajectory advised {c['trajectory']:,}")
        if "wwb" in c:
            parts.append(f"WWB flag {c['wwb']:,}")
        means = [(col, total / n) for col, (total, n) in self.sums.items() if n]
        if means and self.times:
            shown = ", ".join(f"{col.rsplit('_', 1)[-1]} {mean:.3f}" for col, mean in means)
            at = ", ".join(f"{self.times[col]:.4g}" for col, _ in means if col in self.times)
            parts.append(f"mean P(on benefit) {shown} (at {at} {self.unit})")
        if self.not_assessed:
            parts.append(f"not assessed: {', '.join(self.not_assessed)}")
        return parts

    def line(self, out: str) -> str:
        parts = self.parts()
        return f"profiled {self.rows:,} clients -> {out}" + (f" ({'; '.join(parts)})" if parts
                                                             else "")


def tally(profiles: pd.DataFrame) -> pd.DataFrame:
    """The summary line's counts and sums of one partition, as a one-row frame."""
    one = StreamSummary()
    one.add(profiles)
    row: dict[str, Any] = {"rows": [one.rows], **{k: [v] for k, v in one.counts.items()}}
    for column, (total, n) in one.sums.items():
        row.update({column: [total], f"{column}_n": [n]})
    return pd.DataFrame(row).astype({k: "int64" for k in row if k not in one.sums})
