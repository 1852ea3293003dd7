"""Report sections on the data, the four tests and the advice they give.

Each ``*_section`` function returns HTML (see :mod:`anker.report.html`). The
diagnostics are computed here on the records the report is about; when the
model was fitted on the same records they are in-sample, and the section
says so.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from anker import diagnostics
from anker.report.html import (
    absent,
    esc,
    figure,
    interval,
    num,
    para,
    pct,
    pvalue,
    ratio,
    ratio_interval,
    section,
    table,
)

SURVIVAL_CHECK_DAYS = 365
TOP_TERMS = 8
_TEST_TITLES = {
    "compliance": "Compliance test (NT): P(sanction within 12 months)",
    "labour_market": "Labour-market test (AMT): P(work within 6 months)",
    "reintegration": "Reintegration test (RT): effect of a trajectory on P(work within 12 months)",
    "benefit_duration": "Benefit-duration test: exit rate from benefit (Cox)",
}


# ---- data ---------------------------------------------------------------------------------
def cohort_labels(data: pd.DataFrame, cohort_col: str | None) -> pd.Series:
    """The cohort of each row, or one label for all rows when there is no cohort column."""
    if cohort_col and cohort_col in data.columns:
        return data[cohort_col].astype("string").fillna("(missing)")
    return pd.Series("all records", index=data.index, dtype="string")


def data_section(data: pd.DataFrame, *, cohort_col: str | None, validation: str,
                 source_rows: list[tuple[str, str]]) -> str:
    cohorts = cohort_labels(data, cohort_col)
    rows = {}
    for label, part in data.groupby(cohorts, sort=True):
        row: dict[str, Any] = {"spells": len(part)}
        if "inflow_date" in part.columns:
            dates = pd.to_datetime(part["inflow_date"], errors="coerce")
            row["first inflow"] = dates.min().date().isoformat() if dates.notna().any() else "–"
            row["last inflow"] = dates.max().date().isoformat() if dates.notna().any() else "–"
        if "exit_reason" in part.columns:
            shares = part["exit_reason"].value_counts(normalize=True)
            for reason in ("work", "exhausted", "other", "censored"):
                row[f"exit: {reason}"] = shares.get(reason, 0.0)
        if "duration_days" in part.columns:
            row["median duration (days)"] = float(pd.to_numeric(part["duration_days"]).median())
        if "trajectory" in part.columns:
            row["trajectory bought"] = float(pd.to_numeric(part["trajectory"]).mean())
        rows[label] = row
    overview = pd.DataFrame.from_dict(rows, orient="index")
    shares = [c for c in overview.columns if c.startswith("exit:") or c == "trajectory bought"]
    formats = {c: pct for c in shares}
    formats["spells"] = lambda v: num(v, 0)
    formats["median duration (days)"] = lambda v: num(v, 0)
    body = [para(validation),
            table(overview, formats=formats, index_label=cohort_col or "records",
                  right=["first inflow", "last inflow"],
                  caption="Records per cohort: spells, inflow dates, how spells ended "
                          "(share of spells) and the observed median spell length in calendar "
                          "days (censored spells counted at their censoring time)."),
            table(pd.DataFrame(source_rows, columns=["item", "value"]).set_index("item"),
                  index_label="", formats={"value": str}, header=False,
                  caption="Where the records come from")]
    return section("data", "1. Data", "\n".join(body))


# ---- the four tests -----------------------------------------------------------------------
def _complete(data: pd.DataFrame, columns: list[str], what: str, notes: list[str]) -> pd.DataFrame | None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        notes.append(f"{what}: not checked, column(s) {', '.join(missing)} not in the records.")
        return None
    keep = data[columns].notna().all(axis=1)
    if dropped := int((~keep).sum()):
        notes.append(f"{what}: {dropped:,} record(s) with a missing outcome left out of the checks.")
    return data[keep]


def _classifier_checks(test, data: pd.DataFrame, notes: list[str]) -> dict[str, Any] | None:
    part = _complete(data, [test.outcome_col], type(test).__name__, notes)
    if part is None or part.empty:
        return None
    y = pd.to_numeric(part[test.outcome_col]).to_numpy()
    p = test.predict_proba(part).to_numpy()
    return {"y": y, "p": p, "row": diagnostics.summarise_classifier(y, p).iloc[0]}


def _reintegration_checks(rt, data: pd.DataFrame, notes: list[str]) -> dict[str, Any] | None:
    """Discrimination of the RT outcome model at the trajectory each client actually had."""
    part = _complete(data, [rt.outcome_col, rt.treatment_col], "ReintegrationTest", notes)
    if part is None or part.empty:
        return None
    treated = pd.to_numeric(part[rt.treatment_col]).to_numpy() == 1
    p = np.where(treated, rt.predict_outcome(part, treated=True).to_numpy(),
                 rt.predict_outcome(part, treated=False).to_numpy())
    y = pd.to_numeric(part[rt.outcome_col]).to_numpy()
    return {"y": y, "p": p, "row": diagnostics.summarise_classifier(y, p).iloc[0]}


def _survival_checks(bd, data: pd.DataFrame, notes: list[str]) -> dict[str, Any] | None:
    part = _complete(data, [bd.duration_col, bd.event_col], "BenefitDurationTest", notes)
    if part is None or part.empty:
        return None
    # 12 months in the test's unit, or the end of follow-up when that comes first (said in a note)
    time = min(float(bd.time_unit.from_days(SURVIVAL_CHECK_DAYS)), bd.max_follow_up_)
    if time < bd.time_unit.from_days(SURVIVAL_CHECK_DAYS):
        notes.append(f"BenefitDurationTest: calibration at the end of follow-up ({time:.4g} "
                     f"{bd.time_unit.label}), before 12 months")
    durations = pd.to_numeric(part[bd.duration_col]).to_numpy(dtype=float)
    events = pd.to_numeric(part[bd.event_col]).to_numpy(dtype=float)
    c_index = diagnostics.concordance_index(durations, events, bd.risk_score(part).to_numpy())
    surv = bd.predict_survival(part, [time]).iloc[:, 0].to_numpy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cal = diagnostics.survival_calibration(durations, events, surv, time=time)
    notes.extend(f"BenefitDurationTest calibration: {w.message}" for w in caught)
    return {"c_index": c_index, "calibration": cal, "time": f"{time:.4g} {bd.time_unit.label}"}


def _coefficients(test, name: str) -> str:
    summary = test.summary
    ratio_col = test.ratio_name
    terms = summary.drop(index="intercept", errors="ignore")
    treatment = getattr(test, "treatment_col", None)
    if name == "reintegration" and treatment:
        # the advice rests on the trajectory terms: the main effect, then the effect modifiers
        modifiers = terms[terms.index.str.startswith(f"{treatment}:")]
        order = modifiers["z"].abs().sort_values(ascending=False).index[:TOP_TERMS - 1]
        top = terms.loc[[treatment, *order]] if treatment in terms.index else modifiers.loc[order]
        what = (f"the trajectory effect and {len(order)} of its {len(modifiers)} modifiers "
                "(× feature) by |z|, log odds of work within 12 months")
    else:
        top = terms.reindex(terms["z"].abs().sort_values(ascending=False).index).head(TOP_TERMS)
        what = f"{len(top)} of {len(terms)} terms by |z|"
    bounds = list(zip(top[ratio_col], top[f"{ratio_col}_ci_low"], top[f"{ratio_col}_ci_high"],
                      strict=True))
    shown = pd.DataFrame({
        "coef": top["coef"].to_numpy(),
        ratio_col.replace("_", " "): [ratio(r, ci=(lo, hi)) for r, lo, hi in bounds],
        "95 % CI": [ratio_interval(lo, hi) for _, lo, hi in bounds],
        "p": top["p"].to_numpy()}, index=top.index)
    if name == "reintegration" and treatment:
        # "trajectory:age" reads as the trajectory effect's change per year of age
        shown.index = [f"× {t.split(':', 1)[1]}" if t.startswith(f"{treatment}:") else t
                       for t in shown.index]
    unit = ("odds ratios" if ratio_col == "odds_ratio"
            else "hazard ratios of leaving benefit (> 1: leaves sooner)")
    return table(shown, formats={"p": pvalue, "coef": lambda v: f"{v:+.3g}",
                                 ratio_col.replace("_", " "): str, "95 % CI": str},
                 index_label="term", right=[ratio_col.replace("_", " "), "95 % CI"],
                 caption=f"{esc(_TEST_TITLES[name].split(':')[0])}: {what}; coef on the log "
                         f"scale, {unit} per unit of the feature")


def _diagnostics_table(checks: dict[str, Any]) -> pd.DataFrame:
    rows = {}
    for name in ("compliance", "labour_market", "reintegration"):
        c = checks.get(name)
        if c is None:
            continue
        r = c["row"]
        rows[_TEST_TITLES[name].split(":")[0]] = {
            "outcome": c["outcome"], "n": int(r["n"]), "observed rate": r["base_rate"],
            "AUC / C (95 % CI)": f"{r['auc']:.3f} ({interval(r['auc_ci_low'], r['auc_ci_high'], 3)})",
            "Brier": r["brier"], "calibration intercept": r["calibration_intercept"],
            "calibration slope": r["calibration_slope"], "Hosmer-Lemeshow p": r["hl_p"]}
    survival = checks.get("benefit_duration")
    if survival is not None:
        cal = survival["calibration"]
        rows[_TEST_TITLES["benefit_duration"].split(":")[0]] = {
            "outcome": f"exit (C-index); on benefit at {survival['time']} (calibration)",
            "n": int(cal.table["n"].sum()), "observed rate": cal.observed,
            "AUC / C (95 % CI)": f"{survival['c_index']:.3f}", "Brier": np.nan,
            "calibration intercept": cal.observed - cal.mean_predicted,
            "calibration slope": np.nan, "Hosmer-Lemeshow p": cal.p_value}
    return pd.DataFrame.from_dict(rows, orient="index")


def _reliability_figure(checks: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    from anker.plots import reliability_diagram

    panels = [n for n in ("compliance", "labour_market", "reintegration", "benefit_duration")
              if checks.get(n) is not None]
    if not panels:
        return ""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.9), squeeze=False)
    for ax, name in zip(axes[0], panels, strict=True):
        c = checks[name]
        if name == "benefit_duration":
            cal = c["calibration"].table.rename(columns={"observed": "observed_rate"})
            reliability_diagram(cal, ax=ax, label="Kaplan-Meier (95 % CI)")
            ax.set_xlabel(f"predicted P(on benefit at {c['time']})")
            ax.set_ylabel("observed (Kaplan-Meier)")
        else:
            reliability_diagram(diagnostics.reliability_table(c["y"], c["p"], bins=10), ax=ax,
                                label="observed (95 % CI)")
        ax.set_title(_TEST_TITLES[name].split(" (")[0].split(":")[0], fontsize=10)
        ax.legend(fontsize=7, loc="upper left", frameon=False)
    fig.tight_layout()
    caption = ("<b>Calibration of the four tests.</b> Each point is one tenth of the clients "
               "ordered by predicted probability: mean predicted probability (x) against the "
               "observed share (y), with 95 % CIs; on the dashed line prediction and outcome "
               "agree. Units: probabilities (0-1). The reintegration panel checks the outcome "
               "model (work within 12 months at the trajectory each client had), not the "
               "effect itself, which no single client reveals. The benefit-duration panel "
               "compares predicted P(still on benefit at 12 months, or the end of follow-up) "
               "with the Kaplan-Meier estimate per tenth.")
    return figure(fig, caption)


def _forest_figure(model, truth) -> str:
    import matplotlib.pyplot as plt

    from anker.plots import coefficient_forest

    panels = [(n, truth.coefficients.get(n)) for n in ("compliance", "benefit_duration")
              if truth.coefficients.get(n) and n in model.tests]
    if not panels:
        return ""
    heights = [len(model.tests[n].summary.drop(index="intercept", errors="ignore")) for n, _ in panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 0.9 + 0.3 * max(heights)),
                             squeeze=False)
    left_out = []
    for ax, (name, true) in zip(axes[0], panels, strict=True):
        summary = model.tests[name].summary.drop(index="intercept", errors="ignore")
        width = summary["ci_high"] - summary["ci_low"]
        wide = width > 10 * width.median()
        left_out += [f"{t} ({name.replace('_', ' ')})" for t in summary.index[wide]]
        terms = list(summary.index[~wide])
        coefficient_forest(summary, truth={t: v for t, v in true.items() if t in terms},
                           terms=terms, ax=ax)
        ax.set_title(_TEST_TITLES[name].split(":")[0], fontsize=10)
        ax.set_xlabel("log odds ratio" if name == "compliance" else "log hazard ratio")
    fig.tight_layout()
    note = (f" Left out because their CI is over ten times the median width and would crush "
            f"the scale (a unit of these features is large): {esc(', '.join(left_out))}; see "
            "the tables." if left_out else "")
    caption = ("<b>Estimated coefficients against the generator's true values</b> (synthetic "
               "data only). Points: estimates with 95 % CIs; crosses: the values the data were "
               "simulated with. Units: log odds ratio per unit of the feature (compliance) and "
               "log hazard ratio of leaving benefit (benefit duration); dummies are relative to "
               "the first category." + note)
    return figure(fig, caption)


def four_tests_section(model, data: pd.DataFrame, *, truth=None) -> str:
    notes: list[str] = []
    checks: dict[str, Any] = {}
    for name in [n for n in ("compliance", "labour_market") if n in model.tests]:
        c = _classifier_checks(model.tests[name], data, notes)
        if c is not None:
            c["outcome"] = model.tests[name].outcome_col
        checks[name] = c
    if model.reintegration is not None and (
            checks.setdefault("reintegration", _reintegration_checks(model.reintegration, data,
                                                                     notes)) is not None):
        checks["reintegration"]["outcome"] = f"{model.reintegration.outcome_col} (outcome model)"
    if model.benefit_duration is not None:
        checks["benefit_duration"] = _survival_checks(model.benefit_duration, data, notes)
    if model.not_assessed:
        notes.append(f"Not assessed (the model holds only {', '.join(model.tests)}): "
                     f"{', '.join(model.not_assessed)}.")

    fitted_n = {name: getattr(t, "n_fit_", None) for name, t in model.tests.items()}
    n_text = ", ".join(f"{name.replace('_', ' ')} {num(n, 0)}" for name, n in fitted_n.items()
                       if n is not None)
    body = [para("Each test is fitted on the records below and checked on the records of this "
                 f"report ({len(data):,}); when these are the same records the checks are "
                 "in-sample and flatter the model a little. Records used in fitting: "
                 f"{esc(n_text)}. The coefficient tables show the strongest terms only; "
                 "<code>test.summary</code> and the model file hold all of them.")]
    diag = _diagnostics_table(checks)
    if diag.empty:
        body.append(absent("No outcome columns in the records: discrimination and calibration "
                           "are not checked."))
    else:
        body.append(table(diag, index_label="test", formats={
            "n": lambda v: num(v, 0), "observed rate": lambda v: num(v, 3),
            "Brier": lambda v: num(v, 4), "calibration intercept": lambda v: num(v, 3, sign=True),
            "calibration slope": lambda v: num(v, 2), "Hosmer-Lemeshow p": pvalue},
            right=["AUC / C (95 % CI)"],
            caption="Discrimination and calibration. AUC for the logistic tests, Harrell's C for "
                    "the benefit-duration test (0.5: no better than chance). Calibration intercept "
                    "and slope from a logistic recalibration (ideal 0 and 1); for the "
                    "benefit-duration test the intercept column holds Kaplan-Meier minus mean "
                    "predicted P(on benefit at the time in its outcome column) and the last column "
                    "the chi-squared test over tenths of predicted survival."))
        body.append(para(
            "On the records a logistic test was fitted on, calibration intercept 0 and slope 1 "
            "hold by construction (maximum likelihood with an intercept); they say something "
            "only on other records. To check the tests on new inflow, fit them on earlier "
            "records (<code>anker fit</code>) and report on the new ones with "
            "<code>anker report new.csv --model model.json</code>.", cls="note"))
        body.append(_reliability_figure(checks))
    body.extend(para(esc(n), cls="note") for n in notes)
    overlap = getattr(model.reintegration, "overlap_", None)
    if overlap:
        body.append(para(
            "Reintegration test, overlap of the trajectory data: "
            f"{num(overlap.get('n_treated'), 0)} of {num(overlap.get('n'), 0)} clients had a "
            f"trajectory; propensity {num(overlap.get('propensity_min_treated'), 3)} to "
            f"{num(overlap.get('propensity_max_treated'), 3)} among them and "
            f"{num(overlap.get('propensity_min_untreated'), 3)} to "
            f"{num(overlap.get('propensity_max_untreated'), 3)} among the others; "
            f"{pct(overlap.get('share_outside_support'), 2)} lie outside the common support "
            "and get no trajectory advice.", cls="note"))
    body.append('<div class="grid2">' + "".join(_coefficients(model.tests[n], n)
                                                for n in model.tests) + "</div>")
    if truth is not None and getattr(truth, "coefficients", None):
        body.append(_forest_figure(model, truth))
    return section("tests", "2. The four tests", "\n".join(body))


# ---- advice -------------------------------------------------------------------------------
_CATEGORIES = [
    ("Route (labour-market test)", "route", [("A", "A: job-ready"), ("B", "B: coach support")]),
    ("Monitoring (compliance band)", "compliance_band",
     [("low", "low: standard"), ("medium", "medium: extra"), ("high", "high: intensive")]),
    ("Trajectory advice (reintegration test)", "trajectory_advice",
     [("trajectory", "trajectory"), ("no trajectory", "no trajectory"),
      ("no advice: outside support", "no advice: outside support")]),
    ("WWB hand-over (P(exhausting) above threshold)", "wwb_flag", [(True, "flagged")]),
]
_MEANS = [("compliance_risk", "mean P(sanction within 12 months)", 3),
          ("p_work_6m", "mean P(work within 6 months)", 3),
          ("p_on_benefit_12m", "mean P(still on benefit at 12 months)", 3),
          ("p_exhaust", "mean P(exhausting the entitlement)", 3),
          ("median_duration_days", "median predicted median duration (calendar days)", 0)]


def advice_section(profiles: pd.DataFrame, data: pd.DataFrame, *, cohort_col: str | None) -> str:
    cohorts = cohort_labels(data, cohort_col).reindex(profiles.index)
    groups = [(str(c), profiles[cohorts == c]) for c in sorted(cohorts.dropna().unique())]
    if len(groups) > 1:
        groups.append(("all", profiles))
    header = {label: f"{label} (n = {len(part):,})" for label, part in groups}
    rows, row_class = [], {}
    for title, col, levels in _CATEGORIES:
        if col not in profiles.columns:
            continue
        rows.append((title, {label: "" for label, _ in groups}))
        row_class[title] = "group"
        for value, text in levels:
            cells = {}
            for label, part in groups:
                k = int((part[col].astype(object) == value).sum())
                cells[label] = f"{k:,} ({pct(k / len(part)) if len(part) else '–'})"
            rows.append((text, cells))
    rows.append(("Averages", {label: "" for label, _ in groups}))
    row_class["Averages"] = "group"
    for col, text, digits in _MEANS:
        if col in profiles.columns:
            stat = "median" if col == "median_duration_days" else "mean"
            rows.append((text, {label: num(getattr(part[col], stat)(), digits)
                                for label, part in groups}))
    frame = pd.DataFrame([cells for _, cells in rows], index=[text for text, _ in rows])
    frame = frame.rename(columns=header)
    body = [para("What the four tests advise for the clients in these records, per cohort: "
                 "number of clients (share of the cohort). The advice supports the coach, who "
                 "decides; a cohort difference here reflects who flowed in (the labour market "
                 "and the client mix), not the coaching."),
            table(frame, index_label="advice", row_class=row_class, right=frame.columns,
                  formats={c: str for c in frame.columns},
                  caption="Advice distribution per cohort")]
    if "advice" in profiles.columns:
        common = profiles["advice"].value_counts().head(6)
        body.append(table(pd.DataFrame({"clients": common.to_numpy(),
                                        "share": common.to_numpy() / len(profiles)},
                                       index=common.index),
                          formats={"clients": lambda v: num(v, 0), "share": pct},
                          index_label="advice text",
                          caption="The six most frequent advice lines (all cohorts)"))
    body.append(_score_figure(profiles, cohorts))
    return section("advice", "3. Advice distribution", "\n".join(body))


def _score_figure(profiles: pd.DataFrame, cohorts: pd.Series) -> str:
    import matplotlib.pyplot as plt

    from anker.plots import score_distributions

    cols = [(c, t) for c, t in (("p_work_6m", "P(work within 6 months)"),
                                ("compliance_risk", "P(sanction within 12 months)"),
                                ("p_on_benefit_12m", "P(on benefit at 12 months)"))
            if c in profiles.columns and profiles[c].notna().any()]
    if not cols:
        return ""
    fig, axes = plt.subplots(1, len(cols), figsize=(4.3 * len(cols), 3.8), squeeze=False)
    named = cohorts.rename("cohort")
    for ax, (col, label) in zip(axes[0], cols, strict=True):
        score_distributions(profiles[col], named, xlabel=label, ax=ax)
        ax.set_title(label, fontsize=10)
        # below the axes: inside, the legend hides the peaks it describes
        ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    fig.tight_layout()
    return figure(fig, "<b>Predicted scores per cohort.</b> Density of each client's predicted "
                       "probability (0-1) by cohort; legend: clients and mean. A shift between "
                       "cohorts shows a different client mix or labour market at inflow.")
