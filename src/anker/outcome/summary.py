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
    "gcomp": "Cox outcome model right (log-linear covariates; PH within each cohort, or between "
             "them when pooled); no unmeasured confounding; extrapolates past entitlement end",
    "iptw": "propensity and censoring model right; overlap; positivity of censoring "
            "(every covariate pattern followed up to the horizon with some chance); with "
            "balancing weights, right too when the reference outcome is linear in the terms",
    "aipw": "outcome model right, or propensity and censoring models right; overlap; "
            "no unmeasured confounding",
    "did": "unadjusted Kaplan-Meier RMST: parallel trends in RMST between treated and "
           "comparison group (a cycle acting alike on the hazard does not give that when the "
           "groups' baselines differ)",
    "did_adjusted": "Cox model per cohort x group cell; at the treated group's covariates the "
                    "comparison group's change is the treated group's would-be change",
}
LABELS = {
    "naive": "naive (Kaplan-Meier)",
    "gcomp": "g-computation (Cox)",
    "iptw": "IPTW with IPCW",
    "aipw": "augmented IPCW",
    "did": "difference in differences (unadjusted)",
    "did_adjusted": "difference in differences (standardised)",
}
CENSORING = {"cox": "Cox model of the censoring hazard on the covariates, per cohort",
             "km": "Kaplan-Meier of censoring per cohort (independent of the covariates)"}
PROPENSITY_FITS = {
    "balance": "entropy balancing on the propensity terms (weighted reference means equal the "
               "other cohort's)",
    "logistic": "logistic propensity, maximum likelihood (odds e/(1-e) as ATT weights)",
}
OUTCOME_MODELS = {"per_cohort": "one Cox model per cohort (Efron ties)",
                  "pooled": "one Cox model with the cohort as a term (Efron ties)"}


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


def _estimand_text(cmp) -> str:
    label = cmp.time_unit.label
    h = f"{cmp.horizon:g}"
    paid = getattr(cmp, "outcome", "time_on_benefit") == "paid_days"
    what = (f"benefit paid up to {h} {label}, E[min(T, entitlement, {h})] (paid days; "
            "entitlement end ends a spell, data end censors it)"
            if paid else
            f"restricted mean time on benefit up to {h} {label}, E[min(T, {h})] with T the latent "
            "time on benefit (entitlement end and data end censor it)")
    other, reference = _plain(cmp.other), _plain(cmp.reference)
    estimand = getattr(cmp, "estimand", "att")
    if estimand == "overlap":
        who = (f"over the population where the cohorts overlap, each spell weighted by "
               f"e (1 - e) (overlap weights): the {other} regime minus the {reference} regime")
    elif estimand == "ate":
        who = (f"averaged over both cohorts: everyone under the {other} regime minus "
               f"everyone under the {reference} regime (average effect, ATE)")
    else:
        who = (f"of the {other} cohort minus what the same spells would have had under the "
               f"{reference} regime (effect on the treated, ATT)")
    shorter = "less benefit paid" if paid else "shorter on benefit"
    return f"{what}, {who}; < 0 means {shorter}. Exits of any kind end a spell."


def build_summary(cmp: CohortComparison) -> ComparisonSummary:
    """Assemble the summary of a comparison (called by ``CohortComparison.summary``)."""
    level = f"{cmp.level:.0%}"
    ci_how = (f"bootstrap percentile, {cmp.n_boot:,} replicates" if cmp.n_boot
              else "normal, influence-function SE")
    ci_how += (f"; whole clusters of {cmp.cluster_col!r} resampled" if cmp.cluster_col
               else "; spells treated as independent")
    unit = cmp.time_unit
    estimand = _estimand_text(cmp)
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
    info["PH test (cox.zph)"] = (f"cohort p = {_p(ph['p'].iloc[0])}, global p = "
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
        info["propensity weights"] = PROPENSITY_FITS.get(getattr(cmp, "propensity_fit", "logistic"),
                                                         "logistic")
    info["outcome model"] = OUTCOME_MODELS.get(cmp.outcome_model, cmp.outcome_model)
    info["censoring model"] = CENSORING.get(cmp.censoring, cmp.censoring)
    competing = getattr(cmp, "competing", None)
    if competing is not None:
        row = competing.adjusted.loc["cif_work"]
        info["exits to work (adj.)"] = (
            f"{row['estimate']:+.3f} cumulative incidence, other regime minus reference "
            f"({level} CI {row['ci_low']:+.3f} to {row['ci_high']:+.3f}; cause-specific Cox "
            "g-computation; see .competing)")
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
             + ("difference in benefit paid (paid days)"
                if getattr(cmp, "outcome", "time_on_benefit") == "paid_days" else "RMST difference")
             + f" up to {cmp.horizon:g} {unit.label}")
    return ComparisonSummary(title=title, estimand=estimand, info=pd.Series(info, name="value"),
                             table=table, notes=tuple(cmp.notes))
