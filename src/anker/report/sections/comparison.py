"""Report sections on outcomes: cohort comparison, break-even, fairness, coaches, decisions.

Each ``*_section`` function takes results that were already computed and
returns HTML (see :mod:`anker.report.html`); nothing here refits a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from anker.report.html import (
    FAIR_BAND,
    absent,
    esc,
    eur,
    eur_interval,
    figure,
    interval,
    num,
    para,
    pct,
    pvalue,
    section,
    table,
)
from anker.schema import BENEFIT_DAYS_PER_CALENDAR_DAY

_METHOD_TEXT = {"naive": "naive (Kaplan-Meier, unadjusted)", "gcomp": "g-computation (Cox)",
                "iptw": "IPTW with IPCW", "aipw": "augmented IPCW (doubly robust)",
                "did": "difference-in-differences"}


# ---- cohort comparison --------------------------------------------------------------------
def _frame(value: Any) -> pd.DataFrame | None:
    return value if isinstance(value, pd.DataFrame) and not value.empty else None


def comparison_section(cmp, *, truth=None) -> str:
    method = str(getattr(cmp, "method", "?"))
    horizon = float(getattr(cmp, "horizon", np.nan))
    summary = getattr(cmp, "summary", None)
    estimand = getattr(summary, "estimand", None)
    unit = getattr(cmp, "time_unit", None)
    label = "calendar days" if unit is None else unit.label
    to_benefit = BENEFIT_DAYS_PER_CALENDAR_DAY if unit is None else unit.benefit_days_per_unit
    body = [para(
        ("<b>Estimand:</b> the " + esc(estimand) if estimand else
         f"Restricted mean time on benefit (RMST) up to {horizon:g} {label}, the later "
         "cohort minus the reference; a negative difference means a shorter time on benefit.")
        + " The adjusted estimators (g-computation, IPTW, AIPW) correct for the client mix and "
        "the labour market at inflow (the business cycle), which the naive difference does not. "
        f"Durations in {esc(label)}; benefit days = calendar days x 261/365. "
        f"Reported method: <b>{esc(method)}</b>.")]

    estimates = _frame(getattr(cmp, "estimates", None))
    if estimates is not None:
        body.append(_estimates_table(estimates, method, truth, label, to_benefit))
    info = getattr(summary, "info", None)
    if isinstance(info, pd.Series) and not info.empty:
        body.append(table(info.astype(str).map(esc).to_frame("value"), index_label="",
                          formats={"value": str}, header=False,
                          caption="Sizes, tests and diagnostics of the comparison"))
    else:
        body.append(_plain_tests(cmp, horizon))
    notes = tuple(getattr(summary, "notes", ()) or getattr(cmp, "notes", ()) or ())
    body.extend(para("<b>Caveat:</b> " + esc(n), cls="warn") for n in notes)
    checks = []
    ph = _frame(getattr(cmp, "ph_test", None))
    if ph is not None and "p" in ph.columns:
        shown = ph[(ph.index == ph.index[0]) | (ph.index == "GLOBAL") | (ph["p"] < 0.05)]
        checks.append(table(shown, formats={"p": pvalue, "df": lambda v: num(v, 0)},
                            default=lambda v: num(v, 2), index_label="term", caption=(
                                f"Proportional hazards (score test as R cox.zph), {len(ph) - 1} terms: the "
                                "cohort, any with p &lt; 0.05, global")))
    balance = _frame(getattr(cmp, "balance", None))
    if balance is not None and {"smd_before", "smd_after"} <= set(balance.columns):
        worst = np.maximum(balance["smd_before"].abs(), balance["smd_after"].abs())
        top = balance.reindex(worst.sort_values(ascending=False).index).head(8)
        cols = [c for c in ("mean_reference", "mean_other", "smd_before", "mean_reference_weighted",
                            "smd_after") if c in top.columns]
        flags = pd.DataFrame(False, index=top.index, columns=cols)
        flags["smd_after"] = (top["smd_after"].abs() > 0.1).to_numpy()
        checks.append(table(top[cols], default=lambda v: num(v, 3), index_label="term",
                            flags=flags,
                            headers={"mean_reference": "mean, reference",
                                     "mean_other": "mean, other", "smd_before": "SMD before",
                                     "smd_after": "SMD after",
                                     "mean_reference_weighted": "mean, reference weighted"},
                            caption=f"Covariate balance, the 8 of {len(balance)} terms least alike"))
    if checks:
        body.append(para(
            "Two checks a referee asks for. <b>Proportional hazards</b>: R's cox.zph score "
            "test of each term times 1 - KM(t-); a small p means a hazard ratio changes over the "
            "spell (the RMST difference does not assume it is constant, and the default outcome "
            "models are fitted per cohort). <b>Balance</b>: standardised "
            "mean differences (SMD) of the covariates between the cohorts before and after the "
            "ATT weighting; |SMD| above 0.1 after weighting is highlighted: there the weighting "
            "leaves the cohorts unlike, and IPTW leans on too few reference spells."))
        body.extend(checks)
    if callable(getattr(cmp, "plot", None)):
        body.append(figure(cmp.plot(), (
            "<b>Time on benefit per cohort.</b> Share of clients still on benefit (y, 0-1) "
            f"against {esc(label)} since inflow (x): Kaplan-Meier per cohort and, where drawn, "
            "the adjusted curve of the later cohort under the earlier regime; the area between "
            f"the curves up to the horizon ({horizon:g} {esc(label)}) is the RMST difference in "
            f"{esc(label)}.")))
    return section("comparison", "4. Cohort comparison", "\n".join(body))


def _estimates_table(estimates: pd.DataFrame, method: str, truth, label: str = "calendar days",
                     to_benefit: float = BENEFIT_DAYS_PER_CALENDAR_DAY) -> str:
    calendar = estimates["estimate"].to_numpy()
    low, high = estimates["ci_low"].to_numpy(), estimates["ci_high"].to_numpy()
    labels = [_METHOD_TEXT.get(str(m), str(m)) for m in estimates.index]
    difference, ci = f"RMST difference ({label})", f"95 % CI ({label})"
    shown = pd.DataFrame({
        difference: calendar,
        ci: [interval(lo, hi) for lo, hi in zip(low, high, strict=True)],
        "benefit days saved": -calendar * to_benefit,
        "95 % CI (benefit days)": [interval(-hi * to_benefit, -lo * to_benefit)
                                   for lo, hi in zip(low, high, strict=True)]}, index=labels)
    row_class = {_METHOD_TEXT.get(method, method): "chosen"}
    if truth is not None and getattr(truth, "coaching_effect_days", None) is not None:
        # the truth is stated as days saved (> 0: shorter), the table as a difference
        saved = float(truth.coaching_effect_days)
        shown.loc["truth (synthetic data)"] = [
            -saved, "", float(getattr(truth, "coaching_effect_benefit_days", saved * to_benefit)), ""]
        row_class["truth (synthetic data)"] = "truth"
    return table(shown, index_label="method", row_class=row_class,
                 formats={difference: lambda v: num(v, 2), "benefit days saved": lambda v: num(v, 2),
                          ci: str, "95 % CI (benefit days)": str},
                 right=[ci, "95 % CI (benefit days)"],
                 caption="Naive and adjusted RMST differences with 95 % CIs (the reported "
                         "method in bold)" + ("; last row: the true effect the synthetic data "
                                              "were made with" if truth is not None else ""))


def _plain_tests(cmp, horizon: float) -> str:
    """Without a summary: the per-cohort RMST, the log-rank test and the hazard ratio."""
    parts = []
    rmst = _frame(getattr(cmp, "rmst", None))
    if rmst is not None:
        counts = {c: (lambda v: num(v, 0)) for c in ("n", "events") if c in rmst.columns}
        parts.append(table(rmst, index_label="cohort", default=lambda v: num(v, 2), formats=counts,
                           caption=f"Kaplan-Meier RMST per cohort up to {horizon:g} days "
                                   "(unadjusted), calendar days"))
    tests = []
    if (p := getattr(cmp, "logrank_p", None)) is not None:
        tests.append(f"log-rank test (unadjusted): p {pvalue(p)}")
    if (hr := getattr(cmp, "hazard_ratio", None)) is not None:
        hr_ci = getattr(cmp, "hazard_ratio_ci", (np.nan, np.nan))
        tests.append(f"Cox hazard ratio of leaving benefit, adjusted for the covariates: "
                     f"{num(hr, 3)} (95 % CI {interval(*hr_ci, 3)}; > 1: leaves sooner)")
    if tests:
        parts.append(para("; ".join(tests) + "."))
    return "\n".join(parts)


# ---- break-even ---------------------------------------------------------------------------
def break_even_section(be, cb=None) -> str:
    from anker.plots import break_even_curve, tornado

    inputs = pd.DataFrame({"value": [
        eur(be.extra_cost) + " a year", num(be.coaches, 0), num(be.caseload, 0),
        num(be.clients, 0), f"EUR {be.daily_benefit:,.2f}", f"EUR {be.cost_per_client:,.2f}",
        f"{be.days:.2f} benefit days", f"{be.calendar_days:.2f} calendar days",
        num(be.coaches_needed(120_000), 0)]},
        index=["extra execution cost of coaching", "coaches", "caseload (clients per coach "
               "a year)", "guided clients a year", "benefit per benefit day", "extra cost per "
               "guided client", "break-even per guided client", "the same in calendar days",
               "coaches needed for 120,000 hand-overs"])
    body = [para("The IWI (2005) break-even: the benefit days each guided client must leave "
                 "WW earlier for the extra cost of coaching to be earned back in benefit "
                 "payments. A benefit day is a working day (261 a year)."),
            table(inputs, index_label="", formats={"value": str}, header=False,
                  caption="Break-even inputs and results")]
    if cb is not None:
        summary = cb.summary
        shown = pd.DataFrame({
            "estimate": [_by_unit(v, u) for v, u in zip(summary["estimate"], summary["unit"], strict=True)],
            "95 % CI": [eur_interval(lo, hi) if u == "EUR" else
                        interval(lo, hi, fmt=lambda x, u=u: _by_unit(x, u)) for lo, hi, u in
                        zip(summary["ci_low"], summary["ci_high"], summary["unit"], strict=True)],
            "unit": summary["unit"]}, index=summary.index)
        body.append(table(shown, index_label="", formats={c: str for c in shown.columns},
                          right=["estimate", "95 % CI"],
                          caption=f"Measured effect against the break-even ({esc(cb.method)}, "
                                  f"{esc(cb.ci_method)}, {cb.n_boot:,} replicates; net benefit "
                                  f"over {cb.guided_clients:,.0f} guided clients a year)"))
        body.append(para(
            "P(days saved > break-even) is the share of bootstrap replicates whose effect "
            "clears the bar: how sure these data let us be that the average effect exceeds "
            "it. It is not the chance that coaching pays for a given client, and it ignores "
            "uncertainty in the cost figures (see the tornado plot).", cls="note"))
    body.append('<div class="grid2">')
    body.append(figure(tornado(be), (
        "<b>Sensitivity of the break-even.</b> Break-even in benefit days per guided client "
        "when one input at a time is 20 % lower (blue) or higher (orange); vertical line: the "
        "base value.")))
    measured = (" The orange point and band are the measured days saved and their 95 % CI."
                if cb is not None else "")
    body.append(figure(break_even_curve(be, cost_benefit=cb), (
        "<b>Net benefit against days saved.</b> Benefit payments saved minus the extra cost, "
        "EUR million a year (y), against benefit days saved per guided client (x); it crosses "
        "zero at the break-even (dashed)." + measured)))
    body.append("</div>")
    return section("break-even", "5. Break-even", "\n".join(body))


def _by_unit(value: Any, unit: str) -> str:
    if unit == "EUR":
        return eur(value)
    if unit == "share":
        return num(value, 3)
    return num(value, 2)


# ---- fairness -----------------------------------------------------------------------------


def _RATIO2(value: Any) -> str:  # noqa: N802 - a formatter constant, like the others below
    return num(value, 2)


_AUDIT_COLUMNS = {"n": ("n", lambda v: num(v, 0)), "base_rate": ("base rate", lambda v: num(v, 3)),
                  "auc": ("AUC / C", lambda v: num(v, 3)),
                  "calibration_in_the_large": ("obs. - pred.", lambda v: num(v, 3, sign=True)),
                  "flag_rate": ("flagged", pct), "fpr": ("FPR", pct), "fnr": ("FNR", pct),
                  "flag_rate_ratio": ("flagged ratio", _RATIO2),
                  "fpr_ratio": ("FPR ratio", _RATIO2), "fnr_ratio": ("FNR ratio", _RATIO2),
                  "base_rate_ratio": ("base-rate ratio", _RATIO2),
                  "mean_score_ratio": ("mean-score ratio", _RATIO2)}
_BAR_METRICS = ("flag_rate_ratio", "fpr_ratio", "fnr_ratio")
# the audit names its flag and target by the Series names of the tests; say them in words
_WORDS = {"flag_high_risk": "the high compliance-risk band (intensive monitoring)",
          "sanctioned": "a sanction within 12 months",
          "flag_route_b": "route B (coach support)", "no_work_6m": "no work within 6 months"}


def _audit_title(audit: pd.DataFrame) -> tuple[str, str]:
    attrs = audit.attrs
    test = str(attrs.get("test") or attrs.get("model") or "test").replace("_", " ")
    return test, str(attrs.get("group_col") or audit.index.name or "group")


def _audit_block(audit: pd.DataFrame) -> str:
    attrs = audit.attrs
    low, high = attrs.get("band", FAIR_BAND)
    test, group_col = _audit_title(audit)
    cols = [c for c in _AUDIT_COLUMNS if c in audit.columns]
    shown = audit[cols].rename(columns={c: _AUDIT_COLUMNS[c][0] for c in cols})
    flags = pd.DataFrame(False, index=shown.index, columns=shown.columns)
    for c in cols:
        if c.endswith("_ratio"):
            values = pd.to_numeric(audit[c], errors="coerce")
            flags[_AUDIT_COLUMNS[c][0]] = ((values < low) | (values > high)).to_numpy()
    n_flagged = (int(audit["flagged"].sum()) if "flagged" in audit.columns
                 else int(flags.any(axis=1).sum()))
    flag = _WORDS.get(str(attrs.get("flag")), str(attrs.get("flag", "the advice")))
    target = _WORDS.get(str(attrs.get("flag_target")), str(attrs.get("flag_target", "the outcome")))
    meaning = (f"Flag: {esc(flag)}; meant to catch: {esc(target)}. FPR: flagged among those "
               "without that outcome; FNR: not flagged among those with it. Reference group "
               f"(ratio 1): <b>{esc(attrs.get('reference', 'the largest group'))}</b>.")
    notes = [str(n) for n in audit.get("notes", pd.Series(dtype=object)) if isinstance(n, str) and n]
    parts = [f"<h3>{esc(test)} by {esc(group_col)}</h3>", para(meaning, cls="note"),
             table(shown, index_label=group_col, flags=flags,
                   formats={_AUDIT_COLUMNS[c][0]: _AUDIT_COLUMNS[c][1] for c in cols},
                   caption=f"{n_flagged} of {len(audit)} groups with a ratio outside "
                           f"{low:g}-{high:g} (highlighted)")]
    parts.extend(para(esc(n), cls="note") for n in notes)
    return "\n".join(parts)


def _fairness_figure(audit: pd.DataFrame) -> str:
    """One row of bars per audit: a figure of its own keeps matplotlib's layout work small."""
    import matplotlib.pyplot as plt

    from anker.plots import fairness_bars

    if not all(m in audit.columns for m in _BAR_METRICS):
        return ""
    test, group_col = _audit_title(audit)
    low, high = audit.attrs.get("band", FAIR_BAND)
    width = len(_BAR_METRICS) * (1.5 + 0.55 * len(audit))
    fig, axes = plt.subplots(1, len(_BAR_METRICS), figsize=(width, 2.6))
    for ax, metric in zip(axes, _BAR_METRICS, strict=True):
        fairness_bars(audit, metric, band=(low, high), ax=ax)
        ax.set_title(_AUDIT_COLUMNS[metric][0], fontsize=9)
        ax.set_ylabel("")
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return figure(fig, (
        f"<b>{esc(test)} by {esc(group_col)}: ratios to the reference group.</b> Share "
        "flagged, false positive rate and false negative rate of each group divided by the "
        f"reference group's (unitless; 1 = equal). Green band: {low:g}-{high:g}; red bars lie "
        "outside it."))


def fairness_section(audits: Sequence[pd.DataFrame] | None) -> str:
    if not audits:
        return section("fairness", "6. Fairness audit", absent(
            "No fairness audit was given (anker.audit_fairness per test and protected group)."))
    used = sorted({f for a in audits for f in a.attrs.get("protected_features_used", []) or []})
    policy = ("No test uses a protected attribute as a feature; the audit checks whether the "
              "advice still falls unequally on groups (through features that stand in for them)."
              if not used else
              f"Protected attributes used as features (explicit opt-in): {esc(', '.join(used))}.")
    body = [para(policy + " Base-rate ratios describe the groups, not the model: read them with "
                 "the false positive and false negative rates. Checked in-sample when the model "
                 "was fitted on these records.")]
    for audit in audits:
        body += [_audit_block(audit), _fairness_figure(audit)]
    return section("fairness", "6. Fairness audit", "\n".join(body))


# ---- outcome per coach --------------------------------------------------------------------
_GROUP_WORDS = {"coach_id": "coach", "office": "office", "region": "region"}


def coach_title(result) -> str:
    return f"7. Outcome per {_GROUP_WORDS.get(result.group_col, result.group_col)}"


def coach_section(result, *, truth=None) -> str:
    t = result.table
    who = _GROUP_WORDS.get(result.group_col, result.group_col)
    horizon = result.info.get("horizon") if isinstance(result.info, dict) else None
    body = [para(
        f"Observed against expected outcome per {esc(who)} ({esc(result.outcome)}), "
        f"with the {esc(result.case_mix)} as the case-mix model, so a coach with a hard caseload is "
        "not judged as a weak one. O/E above 1: more exits than the case mix predicts. "
        f"{len(t)} groups; {int(t['flag'].sum())} outside the 99.8 % funnel limits; "
        f"{int(t['too_small'].sum())} with fewer than {result.min_clients} clients (reported, "
        f"not flagged); between-group variance {num(result.between_variance, 4)}.")]
    if horizon is not None:
        body.append(para(f"Exits are counted up to {horizon:g} calendar days.", cls="note"))
    order = t.reindex(t["z"].abs().sort_values(ascending=False).index)
    show = order.head(10)[["n_clients", "observed", "expected", "oe_ratio", "oe_ci_low",
                           "oe_ci_high", "shrunken_oe", "flag"]]
    shown = pd.DataFrame({"clients": show["n_clients"], "observed (O)": show["observed"],
                          "expected (E)": show["expected"], "O/E": show["oe_ratio"],
                          "95 % CI": [interval(lo, hi) for lo, hi in
                                      zip(show["oe_ci_low"], show["oe_ci_high"], strict=True)],
                          "shrunken O/E": show["shrunken_oe"],
                          "outside 99.8 %": show["flag"].map({True: "yes", False: "no"})},
                         index=show.index)
    true_effects = getattr(truth, "coach_effects", None) or {}
    known = [g in true_effects for g in shown.index]
    if any(known):
        # the generator's coach effect is a log hazard ratio: exp() is comparable to O/E
        shown.insert(5, "true HR (synthetic)", [np.exp(true_effects[g]) if k else np.nan
                                                for g, k in zip(shown.index, known, strict=True)])
    flags = pd.DataFrame(False, index=shown.index, columns=shown.columns)
    flags["O/E"] = show["flag"].to_numpy()
    body.append(table(shown, index_label=result.group_col, flags=flags,
                      formats={"clients": lambda v: num(v, 0), "observed (O)": lambda v: num(v, 0),
                               "expected (E)": lambda v: num(v, 1), "95 % CI": str,
                               "outside 99.8 %": str},
                      right=["95 % CI"],
                      caption="The ten groups furthest from the expected outcome (largest |z|)"
                              + ("; true HR: the coach effect the synthetic data were made with "
                                 "(hazard ratio of leaving benefit, comparable to O/E)"
                                 if any(known) else "")))
    body.append(figure(result.plot(), (
        f"<b>Funnel plot per {esc(who)}.</b> O/E ratio (y, unitless) against the "
        "expected number of exits (x); the funnels are the 95 % and 99.8 % control limits, "
        "which narrow as the caseload grows. Points outside the outer funnel are flagged.")))
    return section("coaches", coach_title(result), "\n".join(body))


# ---- decisions ----------------------------------------------------------------------------
def decisions_section(log) -> str:
    overall = log.override_rates(by=None)
    if overall.empty or int(overall["n_decisions"].sum()) == 0:
        return section("decisions", "8. Decisions and overrides",
                       absent("The decision log holds no decisions yet."))
    fmt = {"n_decisions": lambda v: num(v, 0), "n_overrides": lambda v: num(v, 0),
           "override_rate": pct, "ci_low": pct, "ci_high": pct}
    body = [para("The coach decides; the log records where the decision differs from the "
                 "statistical advice, who decided and why. Rates with 95 % Wilson intervals."),
            table(overall, index=False, formats=fmt, caption="All decisions")]
    for by, caption in (("direction", "Overrides by direction"),
                        ("office", "Override rate per office")):
        rates = log.override_rates(by=by)
        if not rates.empty:
            body.append(table(rates, index=False, formats=fmt, caption=caption))
    return section("decisions", "8. Decisions and overrides", "\n".join(body))
