"""The referee's table of a cohort comparison: `ComparisonSummary`.

A summary states the estimand, gives per method the RMST difference in
calendar and benefit days with its CI and the assumption it rests on, and
lists the sizes, the log-rank test, the Cox hazard ratio, the proportional
hazards check and the weight diagnostics, followed by any caveats raised
while computing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from anker.outcome import CohortComparison

ASSUMPTIONS = {
    "naive": "cohorts comparable (no cycle or composition change); censoring independent",
    "gcomp": "Cox model right (PH, log-linear); no unmeasured confounding; "
             "extrapolates past entitlement end",
    "iptw": "logistic propensity right; overlap; censoring independent of covariates",
    "aipw": "Cox or propensity model right (time after entitlement end: Cox); overlap",
    "did": "parallel trends in RMST between treated and comparison group",
}
LABELS = {
    "naive": "naive (Kaplan-Meier)",
    "gcomp": "g-computation (Cox)",
    "iptw": "IPTW (ATT-weighted KM)",
    "aipw": "AIPW (doubly robust)",
    "did": "difference in differences",
}


@dataclass(frozen=True)
class ComparisonSummary:
    """Printable summary of a `CohortComparison`.

    ``title`` and ``estimand`` are sentences; ``info`` a Series of key figures;
    ``table`` the per-method DataFrame (calendar and benefit days, CI,
    assumption); ``notes`` the caveats.
    """

    title: str
    estimand: str
    info: pd.Series
    table: pd.DataFrame
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The per-method table."""
        return self.table.copy()

    def __str__(self) -> str:
        lines = [self.title, "", "Estimand: " + self.estimand, ""]
        width = max(len(k) for k in self.info.index)
        lines += [f"{k:<{width}}  {v}" for k, v in self.info.items()]
        shown = self.table.copy()
        numeric = shown.select_dtypes("number").columns
        shown[numeric] = shown[numeric].map(lambda x: f"{x:,.2f}")
        lines += ["", shown.to_string(), ""]
        lines += ["Assumptions:"] + [f"  {m}: {ASSUMPTIONS[m]}" for m in self.table.index]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        info = self.info.to_frame("value").to_html()
        table = self.table.to_html(float_format=lambda x: f"{x:,.2f}")
        notes = "".join(f"<li>{n}</li>" for n in self.notes)
        return (f"<p><b>{self.title}</b></p><p>Estimand: {self.estimand}</p>{info}{table}"
                + (f"<ul>{notes}</ul>" if notes else ""))


def _plain(label) -> str:
    """A cohort label as a reader writes it: 1, not np.int64(1)."""
    return repr(label.item() if hasattr(label, "item") else label)


def _p(value: float) -> str:
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def build_summary(cmp: CohortComparison) -> ComparisonSummary:
    """Assemble the summary of a comparison (called by ``CohortComparison.summary``)."""
    level = f"{cmp.level:.0%}"
    ci_how = (f"bootstrap percentile, {cmp.n_boot:,} replicates" if cmp.n_boot
              else "normal, influence-function SE")
    ci_how += (f"; whole clusters of {cmp.cluster_col!r} resampled" if cmp.cluster_col
               else "; spells treated as independent")
    unit = cmp.time_unit
    estimand = (
        f"restricted mean time on benefit up to {cmp.horizon:g} {unit.label} of the "
        f"{_plain(cmp.other)} cohort minus what the same spells would have had under the "
        f"{_plain(cmp.reference)} regime (effect on the treated, ATT); < 0 means shorter on benefit. "
        "Exits of any kind end a spell; entitlement end and data end censor it."
    )
    rmst = cmp.rmst
    counts = ", ".join(f"{label}: {int(r.n):,} spells, {int(r.events):,} exits"
                       for label, r in rmst.iterrows())
    info = {
        "compared": counts,
        "horizon": f"{cmp.horizon:g} {unit.label} "
                   f"({cmp.horizon * unit.benefit_days_per_unit:.1f} benefit days)",
        "RMST per cohort (KM)": ", ".join(f"{label}: {r.rmst:.1f} (SE {r.se:.2f})"
                                          for label, r in rmst.iterrows()),
        "log-rank test": f"chi2 = {cmp.logrank.statistic:.2f} on 1 df, p = {_p(cmp.logrank_p)}",
        "Cox hazard ratio": (f"{cmp.hazard_ratio:.3f} ({level} CI {cmp.hazard_ratio_ci[0]:.3f} to "
                             f"{cmp.hazard_ratio_ci[1]:.3f}), adjusted for {len(cmp.terms)} terms"),
    }
    ph = cmp.ph_test
    info["PH test (Schoenfeld)"] = (f"cohort p = {_p(ph['p'].iloc[0])}, global p = "
                                    f"{_p(ph.loc['GLOBAL', 'p'])} ({int(ph.loc['GLOBAL', 'df'])} df)")
    if cmp.weights is not None:
        w = cmp.weights
        info["ATT weights (reference)"] = (
            f"ESS {w['effective_sample_size']:,.0f} of {int(w['n_reference']):,} "
            f"({w['ess_share']:.1%}), max {w['max_weight']:.1f}x mean, "
            f"{w['share_above_10x_mean']:.2%} above 10x mean")
        if "smd_after" in cmp.balance and len(cmp.balance):
            info["balance: max |SMD|"] = (f"{cmp.balance['smd_before'].abs().max():.3f} before, "
                                          f"{cmp.balance['smd_after'].abs().max():.3f} after weighting")
    info["CI"] = f"{level}, {ci_how}"
    info["reported method"] = f"{cmp.method}: {cmp.rmst_difference:.2f} {unit.label} " \
        f"({cmp.rmst_difference_benefit_days:.2f} benefit days)"

    est = cmp.estimates
    table = pd.DataFrame({
        "days" if unit.name == "day" else unit.short: est["estimate"],
        "ci_low": est["ci_low"],
        "ci_high": est["ci_high"],
        "se": est["se"],
        "benefit_days": est["estimate_benefit_days"],
        "bd_ci_low": est["ci_low_benefit_days"],
        "bd_ci_high": est["ci_high_benefit_days"],
    })
    table.index = pd.Index(list(est.index), name="method")
    table.insert(0, "estimator", [LABELS[m] for m in est.index])
    title = (f"Cohort comparison: {_plain(cmp.other)} minus {_plain(cmp.reference)}, "
             f"RMST difference up to {cmp.horizon:g} {unit.label}")
    return ComparisonSummary(title=title, estimand=estimand, info=pd.Series(info, name="value"),
                             table=table, notes=tuple(cmp.notes))
