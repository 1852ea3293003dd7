"""The register entry's texts: fixed descriptions and the sentences built from measurements."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

GOAL = ("Support reintegration coaches in advising people who receive unemployment benefit "
        "(WW): which route suits a client (A: job-ready, self-service; B: support by a coach), "
        "whether a reintegration trajectory is likely to pay off, how closely the obligations "
        "are followed up, and whether an early hand-over to the municipality (WWB) should be "
        "prepared. The advice supports the coach, who decides.")
IMPACT = ("The advice shapes the support a client is offered and how often the coach discusses "
          "the obligations with them; it can therefore affect a client's chance of work and "
          "income. It never imposes a sanction, and no decision is taken by the model: the "
          "coach decides, and every decision that differs from the advice is recorded with its "
          "reason in the decision log. Each client can receive a plain-language letter (Dutch "
          "or English) explaining the advice, who decides and how to object.")
RISK_CATEGORY = ("High-risk AI system under the EU AI Act, Annex III point 4 (employment) and "
                 "point 5(a) (access to public assistance benefits and services); profiling "
                 "under GDPR art. 22 even though a person decides (as the Austrian courts held "
                 "for the AMS model).")
DESCRIPTION = ("Four statistical tests from the UWV ANKER model (2005): the compliance test "
               "(risk of a sanction within 12 months, giving the intensity of monitoring, never "
               "a sanction), the labour-market test (chance of work within 6 months, giving "
               "route A or B), the reintegration test (expected gain in the chance of work "
               "within 12 months from a trajectory, estimated from observational data with a "
               "common-support check) and the benefit-duration test (survival of the benefit "
               "spell: chance of still being on benefit at 3, 6 and 12 months and of exhausting "
               "the entitlement). Together they give one advice per client and the factors "
               "that weighed most.")
DESCRIPTION_SHORT = ("Four statistical tests advise WW coaches on a client's route, support, "
                     "follow-up and WWB hand-over; the coach decides.")
ALGORITHM_TYPE = ("Statistical models fitted once on historical records (self-learning in the "
                  "register's sense: trained on data) whose coefficients stay fixed in use: "
                  "logistic regression and a proportional-hazards survival model, stored as a "
                  "readable JSON model file.")
OBJECTION = ("The advice is not a decision. A client can ask the coach, or another member of "
             "staff, to review the advice and can give their view (a human review, GDPR art. "
             "22). Against a decision that follows (for example on a trajectory or the "
             "benefit), the client can lodge an objection (bezwaar) within six weeks of the "
             "date of the decision (General Administrative Law Act, art. 6:7); the decision "
             "states where. Where the organisation receives objections is to be filled in "
             "under `contact_email`.")


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def risks(model: Any, proxies: dict, monitoring: Any) -> str:
    items = ["Indirect discrimination: features such as education or work history can stand in "
             "for sex or migration background, so leaving those out does not make the model "
             "blind to them (see dpia_description and performance_standard per group).",
             "Automation bias: coaches may follow the advice without their own judgement; the "
             "override rates under human_intervention show whether discretion is used.",
             "Drift: the business cycle and rule changes (such as the 2006 WW reform) move the "
             "inflow away from the fitting data; the model file keeps reference distributions "
             "and anker.monitor advises keep, recalibrate or refit.",
             "Stigma: a high compliance score can colour how a client is treated; the advice "
             "is the intensity of monitoring, never a sanction."]
    strong = [f"{col} (all features together AUC {p['auc_all_features']:.2f})"
              for col, p in proxies.items() if p["auc_all_features"] >= 0.6]
    if strong:
        items.append("Measured: the features predict " + ", ".join(strong) + ".")
    if monitoring is not None:
        changed = monitoring.advice[monitoring.advice["advice"] != "keep"]
        if len(changed):
            items.append("Measured: the last monitoring run advised "
                         + "; ".join(f"{n}: {r.advice}" for n, r in changed.iterrows()) + ".")
    return "\n".join(f"- {i}" for i in items)


def training_data(model: Any, data: pd.DataFrame | None) -> str:
    sizes = ", ".join(f"{name} {getattr(t, 'n_fit_', None) or 0:,} records"
                      for name, t in model.tests.items())
    out = [f"Fitted on historical WW benefit spells, one row per spell ({sizes})."]
    ref = getattr(model, "reference_", None)
    if ref:
        out.append(f"The model file keeps binned distributions of {len(ref['features'])} "
                   f"features and {len(ref['scores'])} scores of the fitting data (no records).")
    if data is not None:
        desc = f"The data described here hold {len(data):,} records"
        if "cohort" in data.columns:
            desc += " (" + ", ".join(f"{k}: {v:,}" for k, v in
                                     data["cohort"].value_counts().sort_index().items()) + ")"
        if "inflow_date" in data.columns:
            dates = pd.to_datetime(data["inflow_date"], errors="coerce")
            if dates.notna().any():
                desc += f", inflow {dates.min().date()} to {dates.max().date()}"
        out.append(desc + ".")
    return " ".join(out)


def data_bias(data: pd.DataFrame | None, audits: list[pd.DataFrame]) -> str:
    from anker.schema import PROTECTED

    if data is None:
        return "No data given: group composition and base rates not described."
    out = []
    for col in PROTECTED:
        if col in data.columns:
            shares = data[col].value_counts(normalize=True, dropna=False)
            out.append(f"{col}: " + ", ".join(f"{k} {_pct(v)}" for k, v in shares.items()))
    for audit in audits:
        if "base_rate" in audit.columns:
            shown = audit[~audit.get("suppressed", False)]
            rates = ", ".join(f"{_label(g)} {_pct(r)}" for g, r in shown["base_rate"].items())
            out.append(f"observed {audit.attrs.get('outcome', 'outcome')} by "
                       f"{_label(audit.attrs.get('group_col'))}: {rates}")
    out.append("Historical outcomes reflect past practice (for instance who was sanctioned, "
               "or who was offered a trajectory); a model fitted on them can carry that "
               "practice forward.")
    return "\n".join(f"- {o}" for o in out)


def _label(group: Any) -> str:
    if isinstance(group, tuple | list):
        return " & ".join(map(str, group))
    return str(group)


def dpia(model: Any, proxies: dict) -> str:
    used = sorted({f for t in model.tests.values() for f in t.protected_features_used})
    policy = ("Protected attributes (sex, migration background; nationality and health where "
              "configured) are refused as predictors unless an analyst opts in explicitly, "
              "which the model file records. ")
    policy += (f"This model uses protected attributes by explicit opt-in: {', '.join(used)}."
               if used else "This model uses none of them.")
    out = [policy, "They remain available for the fairness audit (per group, and intersections "
               "with small cells suppressed)."]
    for col, p in proxies.items():
        strongest = ", ".join(f"{f} (AUC {a:.2f})" for f, a in p["strongest"].items())
        out.append(f"Proxy check for {col}: strongest single features {strongest}; all "
                   f"features together predict it with out-of-fold AUC "
                   f"{p['auc_all_features']:.2f} (0.5 = no information).")
    if not proxies:
        out.append("No proxy check was run (no data with protected attributes given).")
    out.append("The DPIA itself is the organisation's (field dpia).")
    return " ".join(out)


def methods(model: Any) -> str:
    lines = [ALGORITHM_TYPE]
    for name, t in model.tests.items():
        kind = type(t).__name__
        extra = []
        if hasattr(t, "cutoffs"):
            extra.append(f"bands at P = {t.cutoffs[0]:g} and {t.cutoffs[1]:g}")
        if hasattr(t, "threshold"):
            extra.append(f"route A from P = {t.threshold:g}")
        if hasattr(t, "trajectory_cost"):
            extra.append(f"trajectory advised where the gain's lower bound pays EUR "
                         f"{t.trajectory_cost:,.0f}")
        if hasattr(t, "model") and isinstance(t.model, str):
            extra.append(f"{t.model} model, {getattr(t, 'ties', '')} ties")
        outcome = getattr(t, "outcome_col", None) or getattr(t, "duration_col", "")
        lines.append(f"- {name} ({kind}): outcome {outcome}; {len(t.features)} features "
                     f"({', '.join(t.features)})" + (f"; {'; '.join(extra)}" if extra else ""))
    lines.append(f"- WWB check: early hand-over advised where P(exhausting the entitlement) > "
                 f"{model.wwb_threshold:g}.")
    return "\n".join(lines)


def performance(perf: dict, audits: list[pd.DataFrame], data: pd.DataFrame | None,
                notes: list[str]) -> str:
    if not perf:
        return ("Not measured: no data with outcomes given (pass data= with the outcome "
                "columns, preferably records the model was not fitted on).")
    lines = [f"Measured on {len(data):,} records (95 % intervals; on the fitting data these are "
             "apparent values):"]
    for name, p in perf.items():
        metric = "AUC" if p["metric"] == "auc" else "C-index"
        lines.append(f"- {name}: {metric} {p['discrimination']:.3f} "
                     f"({p['discrimination_ci_low']:.3f} to {p['discrimination_ci_high']:.3f}); "
                     f"calibration-in-the-large {p['calibration_in_the_large']:+.3f} "
                     f"({'log odds' if p['kind'] == 'classifier' else 'log observed/expected exits'}), "
                     f"calibration slope {p['calibration_slope']:.2f} "
                     f"({p['calibration_slope_ci_low']:.2f} to {p['calibration_slope_ci_high']:.2f})")
    for audit in audits:
        cols = [c for c in ("auc", "calibration_intercept", "calibration_slope") if c in audit]
        shown = audit[~audit["suppressed"]] if "suppressed" in audit else audit
        groups = "; ".join(
            f"{_label(g)}: " + ", ".join(f"{c.replace('calibration_', 'cal. ')} {row[c]:.2f}"
                                         for c in cols if np.isfinite(row[c]))
            for g, row in shown.iterrows())
        n_sup = int(audit["suppressed"].sum()) if "suppressed" in audit else 0
        lines.append(f"- per {_label(audit.attrs.get('group_col'))} ({audit.attrs.get('test')}): "
                     f"{groups}" + (f"; {n_sup} small group(s) suppressed" if n_sup else ""))
    lines += [f"- note: {n}" for n in notes]
    return "\n".join(lines)


def monitoring(model: Any, result: Any) -> str:
    out = ["The model file keeps binned distributions of every feature and score of the "
           "fitting data. anker.monitor compares a new inflow with them (population stability "
           "index; a shift counts from PSI 0.10 when it is also beyond sampling noise) and, "
           "where outcomes are known, checks calibration-in-the-large, calibration slope and "
           "AUC / C per test, advising keep, recalibrate (intercept or baseline update) or "
           "refit."]
    if not getattr(model, "reference_", None):
        out.append("This model file has no reference distributions: refit it to monitor it.")
    if result is not None:
        out.append(f"Last run on {result.settings.get('n_new', 0):,} records: "
                   + "; ".join(f"{n}: {r.advice}" for n, r in result.advice.iterrows())
                   + (f". Flags: {len(result.flags)}." if result.flags else ". No flags."))
    else:
        out.append("How often the organisation monitors: TO BE FILLED IN BY THE ORGANISATION.")
    return " ".join(out)


def human_intervention(overrides: dict | None) -> str:
    base = ("The coach decides on every advice; the model decides nothing. Each decision, and "
            "each override with who took it, its direction and its reason, is recorded in the "
            "decision log.")
    if overrides is None:
        return base + " No decision log was given: override rates are not reported here."
    if not overrides["n"]:
        return base + " The decision log given holds no decisions yet."
    low, high = overrides["ci"]
    directions = ", ".join(f"{k} {v:,}" for k, v in overrides["by_direction"].items())
    return (base + f" Measured: {overrides['n_overrides']:,} of {overrides['n']:,} decisions "
            f"overrode the advice ({_pct(overrides['override_share'])}, 95 % CI {_pct(low)} to "
            f"{_pct(high)}; {directions or 'none'}), by {overrides['n_coaches']:,} coach(es).")
