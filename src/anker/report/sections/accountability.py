"""Report section on accountability: drift and recalibration, intersectional audit, accuracy
equity across thresholds, override outcomes.

Takes results already computed (:func:`anker.monitor`, an intersectional
:func:`anker.audit_fairness`, :func:`anker.fairness.accuracy_equity`,
:func:`anker.override_outcomes`); nothing here refits.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from anker.report.html import absent, esc, figure, num, para, pct, section, table

TITLE = "9. Accountability: drift, audits beyond one attribute, overrides"
BAND = (0.8, 1.25)


def _label(group: Any) -> str:
    return " & ".join(map(str, group)) if isinstance(group, tuple | list) else str(group)


def _monitoring_block(mon) -> list[str]:
    body = ["<h3>Drift and recalibration</h3>", para(
        "The model file keeps binned distributions of every feature and score of its fitting "
        f"data. {mon.settings.get('n_new', 0):,} new records were counted in the same bins "
        "(missing values and unseen levels in bins of their own). PSI is the population "
        f"stability index; a shift is flagged from PSI {mon.settings.get('psi_threshold', 0.1):g} "
        "when it is also beyond what the sample sizes explain (Bonferroni-adjusted p-value). "
        "Calibration-in-the-large is in log odds (classifiers) or log observed / expected exits "
        "(benefit duration); the ideal slope is 1.")]
    body += [para(esc(f), cls="warn") for f in mon.flags] or [
        para("No flags: the new inflow looks like the fitting data.", cls="ok")]
    body.append(table(mon.advice, index_label="test", formats={"advice": esc, "reason": esc},
                      caption="Advice per test: keep, recalibrate (intercept or baseline "
                              "update) or refit"))
    shown = mon.psi.sort_values("psi", ascending=False).head(10)
    body.append(table(shown[["kind", "psi", "p_value", "n_missing", "n_unseen", "n_out_of_range",
                             "mean_reference", "mean_new", "flagged"]],
                      index_label="variable",
                      formats={"kind": esc, "psi": lambda v: num(v, 3),
                               "p_value": lambda v: "&lt; 0.001" if v < 0.001 else num(v, 3),
                               "n_missing": lambda v: num(v, 0), "n_unseen": lambda v: num(v, 0),
                               "n_out_of_range": lambda v: num(v, 0),
                               "mean_reference": lambda v: num(v, 3),
                               "mean_new": lambda v: num(v, 3),
                               "flagged": lambda v: "yes" if v else ""},
                      caption="The ten largest shifts (PSI), fitting data against the new inflow"))
    if mon.calibration is not None:
        cal = mon.calibration
        cols = ["outcome", "n", "observed", "expected", "calibration_in_the_large",
                "calibration_slope", "metric", "discrimination", "discrimination_ci_low",
                "discrimination_ci_high", "discrimination_at_fit"]
        body.append(table(cal[cols], index_label="test",
                          formats={"outcome": esc, "metric": esc, "n": lambda v: num(v, 0),
                                   "observed": lambda v: num(v, 3),
                                   "expected": lambda v: num(v, 3)},
                          default=lambda v: num(v, 3),
                          caption="Each test on the new data (95 % intervals; observed and "
                                  "expected are rates, or exits for benefit duration)"))
    body += [para("Note: " + esc(n), cls="note") for n in mon.notes]
    return body


def _intersectional_block(audit: pd.DataFrame) -> list[str]:
    cols = [c for c in ("n", "base_rate", "auc", "calibration_intercept", "calibration_slope",
                        "fpr", "fnr", "fpr_ratio", "fnr_ratio", "flags", "suppressed")
            if c in audit.columns]
    shown = audit[cols].copy()
    shown.index = [_label(g) for g in audit.index]
    n_sup = int(audit["suppressed"].sum()) if "suppressed" in audit.columns else 0
    formats = {"n": lambda v: num(v, 0), "base_rate": pct, "fpr": pct, "fnr": pct,
               "flags": esc, "suppressed": lambda v: "suppressed" if v else ""}
    return ["<h3>Audit of intersecting groups</h3>", table(
        shown, index_label=_label(audit.attrs.get("group_col")), formats=formats,
        default=lambda v: num(v, 2),
        caption=(f"{esc(audit.attrs.get('test', ''))}: groups of "
                 f"{esc(_label(audit.attrs.get('group_col')))}, reference "
                 f"{esc(_label(audit.attrs.get('reference')))}; {n_sup} cell(s) with fewer "
                 f"than {audit.attrs.get('min_group_size', 0)} people suppressed (no metrics). "
                 "Calibration intercept in log odds (0 ideal), slope 1 ideal."))]


def _equity_block(equity: pd.DataFrame) -> list[str]:
    """Per group the range of its FPR and FNR ratios over the thresholds, and the figure."""
    from anker.plots import accuracy_equity_curves

    group_col = equity.attrs.get("group_col")
    columns = [group_col] if isinstance(group_col, str) else list(group_col or [])
    reference = equity.attrs.get("reference")
    rows = {}
    for group, part in equity.groupby(columns, sort=False):
        key = group[0] if isinstance(group, tuple) and len(group) == 1 else group
        outside = ((part["fpr_ratio"] < BAND[0]) | (part["fpr_ratio"] > BAND[1])
                   | (part["fnr_ratio"] < BAND[0]) | (part["fnr_ratio"] > BAND[1]))
        rows[_label(key)] = {"fpr_ratio_min": part["fpr_ratio"].min(),
                             "fpr_ratio_max": part["fpr_ratio"].max(),
                             "fnr_ratio_min": part["fnr_ratio"].min(),
                             "fnr_ratio_max": part["fnr_ratio"].max(),
                             "thresholds_outside": int(outside.sum()),
                             "thresholds": int(len(part))}
    summary = pd.DataFrame.from_dict(rows, orient="index")
    test, who = esc(equity.attrs.get("test", "")), _label(group_col)
    caption = (f"Accuracy equity of {test} per {esc(who)} across {summary['thresholds'].max()} "
               f"thresholds ({esc(equity.attrs.get('flag_direction', ''))}): false positive "
               f"and false negative rate ratios (unitless) to {esc(_label(reference))}; shaded "
               f"{BAND[0]:g}-{BAND[1]:g}")
    suppressed = equity.attrs.get("suppressed") or []
    return ["<h3>Accuracy equity across thresholds</h3>", para(
        "One threshold gives one pair of error rates; another cut-off can close or open a gap "
        "between groups. The flag is moved over the score's range and each group's false "
        "positive rate (flagged without the outcome) and false negative rate (missed) are "
        "divided by the reference group's at the same threshold."
        + (f" {len(suppressed)} group(s) under {equity.attrs.get('min_group_size', 0)} "
           "people are left out (suppressed)." if suppressed else "")),
        figure(accuracy_equity_curves(equity, band=BAND), caption),
        table(summary, index_label=who,
              formats={"thresholds_outside": lambda v: num(v, 0),
                       "thresholds": lambda v: num(v, 0)},
              default=lambda v: num(v, 2),
              caption=f"{test}: the range of each group's ratios over the thresholds, and at "
                      f"how many thresholds a ratio lies outside {BAND[0]:g}-{BAND[1]:g}")]


def _override_block(outcomes: pd.DataFrame) -> list[str]:
    rate = {c: pct for c in ("observed_rate", "observed_ci_low", "observed_ci_high",
                             "mean_score", "adjusted_rate", "adjusted_ci_low",
                             "adjusted_ci_high", "difference", "difference_ci_low",
                             "difference_ci_high")}
    body = ["<h3>Outcomes after following or overriding the advice</h3>", para(
        f"Later {esc(outcomes.attrs.get('outcome', 'outcome'))} per decision type: observed "
        "(Wilson 95 % interval) and adjusted for the profile score "
        f"({esc(outcomes.attrs.get('score') or 'none')}) by standardisation. The adjustment "
        "covers the score only, not what the coach saw: a description, not the effect of "
        "overriding."),
        table(outcomes, index_label="decision", formats={"n": lambda v: num(v, 0),
                                                         "n_outcome": lambda v: num(v, 0),
                                                         **rate},
              caption="Outcome by decision type")]
    by_office = outcomes.attrs.get("by_office")
    if isinstance(by_office, pd.DataFrame) and len(by_office):
        body.append(table(by_office, index_label="office",
                          formats={"n_decisions": lambda v: num(v, 0),
                                   "n_overrides": lambda v: num(v, 0), "override_share": pct,
                                   "ci_low": pct, "ci_high": pct},
                          caption="Share of advice overridden per office"))
    body += [para("Note: " + esc(n), cls="note") for n in outcomes.attrs.get("notes", [])]
    return body


def accountability_section(*, monitoring=None, intersectional=None,
                           override_outcomes=None, accuracy_equity=None) -> str:
    """HTML of the accountability section; parts whose input is missing say so.

    ``accuracy_equity`` is one table of :func:`anker.fairness.accuracy_equity`
    or a list of them: each is drawn (FPR and FNR ratios against the
    threshold) and summarised per group.
    """
    body = []
    body += (_monitoring_block(monitoring) if monitoring is not None else
             [absent("No monitoring run was given (anker.monitor).")])
    audits = ([intersectional] if isinstance(intersectional, pd.DataFrame)
              else list(intersectional or []))
    for audit in audits:
        body += _intersectional_block(audit)
    equities = ([accuracy_equity] if isinstance(accuracy_equity, pd.DataFrame)
                else list(accuracy_equity or []))
    for equity in equities:
        body += _equity_block(equity)
    if not equities:
        body.append(absent("No accuracy-equity table was given (anker.fairness.accuracy_equity)."))
    if override_outcomes is not None:
        body += _override_block(override_outcomes)
    return section("accountability", TITLE, "\n".join(body))
