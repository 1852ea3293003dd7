"""The result of a cohort comparison on a Dask frame: from counts, and with g-computation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from anker.schema import BENEFIT_DAYS_PER_CALENDAR_DAY
from anker.survival.counts import SurvivalCounts

IN_MEMORY_ONLY = ("iptw", "aipw", "did")


@dataclass(frozen=True, repr=False)
class NaiveComparison:
    """Unadjusted comparison of two cohorts computed from counts per (cohort, day).

    The fields a `anker.outcome.CohortComparison` has for ``method="naive"``,
    with the same meanings and units (calendar days unless named
    ``*_benefit_days``): ``rmst_difference`` (other cohort minus reference),
    ``ci``, ``se``, ``boot_differences``, ``rmst`` (per cohort: n, events,
    rmst, se, ci_low, ci_high), ``estimates`` (the ``naive`` row),
    ``replicates``, ``logrank`` / ``logrank_p``, ``curves`` (Kaplan-Meier per
    cohort) and ``notes``; ``counts`` are the summed counts themselves. The
    adjusted estimators (g-computation, IPTW, AIPW) and the Cox hazard ratio
    need the rows in memory and are not part of it. ``n_partitions`` is 0 when
    the counts come from rows in memory (``estimators="naive"``).
    """

    method: str
    horizon: float
    level: float
    reference: Any
    other: Any
    cohort_col: str
    rmst_difference: float
    ci: tuple[float, float]
    se: float
    boot_differences: np.ndarray | None
    rmst: pd.DataFrame
    estimates: pd.DataFrame
    replicates: pd.DataFrame | None
    logrank: Any
    counts: SurvivalCounts
    n_partitions: int
    n_boot: int = 0
    curves: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # a time unit object where this anker counts durations in units (``.label``,
    # ``.benefit_days_per_unit``); None: calendar days
    time_unit: Any = None
    # counts per (cohort, day) hold no entitlement, so the scale is latent time on benefit
    outcome: str = "time_on_benefit"

    @property
    def unit_label(self) -> str:
        return "calendar days" if self.time_unit is None else str(self.time_unit.label)

    @property
    def _benefit_days_per_unit(self) -> float:
        return (BENEFIT_DAYS_PER_CALENDAR_DAY if self.time_unit is None
                else float(self.time_unit.benefit_days_per_unit))

    @property
    def logrank_p(self) -> float:
        """p-value of the log-rank test of the two cohorts."""
        return float(self.logrank.p_value)

    @property
    def rmst_difference_benefit_days(self) -> float:
        """The difference in benefit (working) days: calendar days x 261/365."""
        return self.rmst_difference * self._benefit_days_per_unit

    @property
    def ci_benefit_days(self) -> tuple[float, float]:
        return (self.ci[0] * self._benefit_days_per_unit, self.ci[1] * self._benefit_days_per_unit)

    @property
    def summary(self) -> NaiveSummary:
        """Sizes, RMST per cohort, the difference with its CI, the log-rank test, caveats."""
        return _summary(self)

    def __repr__(self) -> str:
        return str(self.summary)


@dataclass(frozen=True, repr=False)
class DistributedComparison(NaiveComparison):
    """`NaiveComparison` plus the g-computation estimate (``method="gcomp"`` on a Dask frame).

    ``estimates`` has the ``naive`` and ``gcomp`` rows and ``rmst_difference``,
    ``ci`` and ``se`` are the g-computation's (a normal interval from its
    influence-function SE: no bootstrap replicates, so ``boot_differences``
    is None; ``replicates`` holds the naive ones). ``outcome_fits``: the Cox
    model per cohort label (Efron ties) on ``terms``; ``curves`` adds the
    g-computation curves ``gcomp_other`` and ``gcomp_reference`` (event times,
    mean survival over the target spells).
    """

    estimand: str = "att"
    covariates: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    outcome_fits: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NaiveSummary:
    """Printable summary of a `NaiveComparison`: ``title``, ``info`` (key figures),
    ``table`` (the naive row) and ``notes``."""

    title: str
    info: pd.Series
    table: pd.DataFrame
    notes: tuple[str, ...]

    def __str__(self) -> str:
        width = max(len(k) for k in self.info.index)
        lines = [self.title, ""] + [f"{k:<{width}}  {v}" for k, v in self.info.items()]
        shown = self.table.copy()
        numeric = shown.select_dtypes("number").columns
        shown[numeric] = shown[numeric].map(lambda x: f"{x:,.2f}")
        lines += ["", shown.to_string()]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def _summary(cmp: NaiveComparison) -> NaiveSummary:
    level = f"{cmp.level:.0%}"
    unit = cmp.unit_label
    ci_how = (f"bootstrap percentile, {cmp.n_boot:,} replicates (spells resampled within each "
              "cohort)" if cmp.n_boot else "normal, Greenwood-type SE")
    where = (f"summed over {cmp.n_partitions} partition(s)" if cmp.n_partitions
             else "of the rows in memory")
    info = {
        "compared": ", ".join(f"{label}: {int(r.n):,} spells, {int(r.events):,} exits"
                              for label, r in cmp.rmst.iterrows()),
        "horizon": f"{cmp.horizon:g} {unit}",
        "RMST per cohort (KM)": ", ".join(f"{label}: {r.rmst:.1f} (SE {r.se:.2f})"
                                          for label, r in cmp.rmst.iterrows()),
        "log-rank test": f"chi2 = {cmp.logrank.statistic:.2f} on 1 df, p = {cmp.logrank_p:.4g}",
        "CI": f"{level}, {ci_how}",
        "computed from": (f"counts per (cohort, duration) {where}: "
                          f"{cmp.counts.times.size:,} distinct durations"),
    }
    est = cmp.estimates
    adjusted = "gcomp" in est.index
    labels = {"naive": "naive (Kaplan-Meier)", "gcomp": "g-computation (Cox per cohort)"}
    table = pd.DataFrame({"estimator": [labels[m] for m in est.index],
                          unit: est["estimate"].to_numpy(),
                          "ci_low": est["ci_low"].to_numpy(), "ci_high": est["ci_high"].to_numpy(),
                          "se": est["se"].to_numpy()},
                         index=pd.Index(est.index, name="method"))
    table["benefit_days"] = est["estimate_benefit_days"].to_numpy()
    notes = tuple(cmp.notes) + (
        "naive: unadjusted; assumes the cohorts are comparable (no business cycle, no "
        "composition change) and censoring independent",)
    if adjusted:
        target = "the other cohort (ATT)" if cmp.estimand == "att" else "both cohorts (ATE)"
        info["naive CI"] = info.pop("CI")
        info["adjusted for"] = ", ".join(cmp.terms) or "(no terms)"
        info["gcomp CI"] = f"{level}, normal, influence-function SE (both Cox fits included)"
        notes += (f"gcomp: one Cox model per cohort (Efron ties), averaged over {target}; "
                  "assumes the outcome model and no unmeasured confounding; handles censoring "
                  "that depends on the covariates",
                  f"the weighting estimators ({', '.join(IN_MEMORY_ONLY)}) need the rows in memory")
    else:
        notes += ("adjusted estimators: g-computation runs on a Dask frame with method='gcomp'; "
                  f"{', '.join(IN_MEMORY_ONLY)} need the rows in memory",)
    how = "per-partition sums" if adjusted else "counts"
    title = (f"Cohort comparison from {how}: {cmp.other} minus {cmp.reference}, "
             f"RMST difference up to {cmp.horizon:g} {unit}")
    return NaiveSummary(title=title, info=pd.Series(info, name="value"), table=table, notes=notes)
