"""Realism figures of the shipped synthetic data set, as a Markdown table.

Reads ``ww_spells_2004_2007.csv`` next to this script, regenerates the same
population with ``anker.simulate_population(20_000, seed=2005)`` for its
truth (checking that the rows are identical), and prints one row per figure
with a column per cohort and one for both together. The figures quoted in
``README.md`` come from this script::

    .venv/bin/python data/synthetic/realism.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time
from sklearn.metrics import roc_auc_score

import anker
from anker.schema import EXIT_REASONS
from anker.synthetic import BENEFIT_DAYS_PER_CALENDAR_DAY, COHORTS, DAYS_PER_MONTH

DATA = Path(__file__).resolve().with_name("ww_spells_2004_2007.csv")
N_PER_COHORT = 20_000
SEED = 2005


def load() -> tuple[pd.DataFrame, anker.synthetic.SyntheticTruth]:
    """The shipped file as read, and the truth of the population it was written from."""
    data = pd.read_csv(DATA)
    anker.validate(data)
    pop = anker.simulate_population(N_PER_COHORT, seed=SEED)
    # the CSV is the generator's output written out: same rows, same order, same values
    pd.testing.assert_frame_equal(data, pop.data, check_dtype=False)
    return data, pop.truth


def km_rmst(spells: pd.DataFrame, horizon: int) -> float:
    """Kaplan-Meier RMST up to ``horizon`` calendar days, exits as events.

    Exhausted and censored spells count as censored: the truth is about the
    latent time to an exit, which entitlement end and the cut-off hide.
    """
    km = KaplanMeierFitter().fit(spells["duration_days"], spells["exited"])
    return float(restricted_mean_survival_time(km, t=horizon))


def realism_table(data: pd.DataFrame, truth) -> pd.DataFrame:
    """Realism figures per cohort (columns) and for both cohorts together ("all")."""
    rows = truth.rows
    groups = {c: (data["cohort"] == c).to_numpy() for c in COHORTS}
    groups["all"] = np.ones(len(data), dtype=bool)

    def per_group(fn) -> list[str]:
        return [fn(data[mask], rows[mask]) for mask in groups.values()]

    def pct(x: float) -> str:
        return f"{100 * x:.1f} %"

    figures: dict[str, list[str]] = {
        "spells": per_group(lambda d, r: f"{len(d):,}"),
        "mean observed duration (months)": per_group(
            lambda d, r: f"{d['duration_days'].mean() / DAYS_PER_MONTH:.2f}"),
        "median observed duration (months)": per_group(
            lambda d, r: f"{d['duration_days'].median() / DAYS_PER_MONTH:.2f}"),
        "Kaplan-Meier RMST(365) (calendar days)": per_group(
            lambda d, r: f"{km_rmst(d, truth.horizon):.1f}"),
        "mean entitlement (months)": per_group(
            lambda d, r: f"{d['entitlement_days'].mean() / DAYS_PER_MONTH:.1f}"),
        "mean tightness (vacancies per jobseeker)": per_group(
            lambda d, r: f"{d['tightness'].mean():.3f}"),
        "mean unemployment rate": per_group(lambda d, r: pct(d["unemployment_rate"].mean())),
        "at work within 6 months": per_group(lambda d, r: pct(d["work_within_6m"].mean())),
        "at work within 12 months": per_group(lambda d, r: pct(d["work_within_12m"].mean())),
        "sanctioned within 12 months": per_group(lambda d, r: pct(d["sanctioned_12m"].mean())),
        "trajectory bought": per_group(lambda d, r: pct(d["trajectory"].mean())),
    }
    for reason in EXIT_REASONS:
        figures[f"exit reason {reason}"] = per_group(
            lambda d, r, reason=reason: pct((d["exit_reason"] == reason).mean()))
    figures["oracle AUC, sanctioned_12m (p_sanction)"] = per_group(
        lambda d, r: f"{roc_auc_score(d['sanctioned_12m'], r['p_sanction']):.3f}")
    figures["oracle AUC, work_within_6m (p_work_6m)"] = per_group(
        lambda d, r: f"{roc_auc_score(d['work_within_6m'], r['p_work_6m']):.3f}")

    # effects: one number each, shown in the "all" column
    means = data.groupby("cohort")["duration_days"].mean()
    naive = means["casemanagement_2004"] - means["coaching_2007"]
    blank = ["", ""]
    naive_rmst = (km_rmst(data[groups["casemanagement_2004"]], truth.horizon)
                  - km_rmst(data[groups["coaching_2007"]], truth.horizon))
    figures["true coaching effect, RMST(365) (calendar days)"] = blank + [
        f"{truth.coaching_effect_days:.2f}"]
    figures["true coaching effect, RMST(365) (benefit days)"] = blank + [
        f"{truth.coaching_effect_benefit_days:.2f}"]
    # the truth is about the latent exit time; benefit paid also stops at entitlement end
    coached = groups["coaching_2007"]
    entitlement = data.loc[coached, "entitlement_days"].to_numpy()
    paid = {regime: np.minimum(np.minimum(rows.loc[coached, f"duration_{regime}"].to_numpy(),
                                          entitlement), truth.horizon)
            for regime in ("casemanagement", "coaching")}
    paid_effect = float(np.mean(paid["casemanagement"] - paid["coaching"]))
    figures["true effect on benefit paid within 365 days, capped by entitlement (calendar days)"] = (
        blank + [f"{paid_effect:.2f}"])
    figures["true effect on benefit paid within 365 days, capped by entitlement (benefit days)"] = (
        blank + [f"{paid_effect * BENEFIT_DAYS_PER_CALENDAR_DAY:.2f}"])
    figures["naive difference in mean duration, 2004 - 2007 (calendar days)"] = blank + [
        f"{naive:.1f}"]
    figures["naive difference in mean duration, 2004 - 2007 (benefit days)"] = blank + [
        f"{naive * BENEFIT_DAYS_PER_CALENDAR_DAY:.1f}"]
    figures["naive difference / true effect"] = blank + [
        f"{naive / truth.coaching_effect_days:.1f}"]
    figures["naive difference in Kaplan-Meier RMST(365), 2004 - 2007 (calendar days)"] = blank + [
        f"{naive_rmst:.1f}"]
    return pd.DataFrame.from_dict(figures, orient="index", columns=list(groups))


def to_markdown(table: pd.DataFrame) -> str:
    """A plain Markdown table (no dependency on ``tabulate``)."""
    header = ["figure", *table.columns]
    lines = ["| " + " | ".join(header) + " |",
             "|---|" + "---:|" * len(table.columns)]
    lines += ["| " + " | ".join([str(name), *map(str, values)]) + " |"
              for name, values in table.iterrows()]
    return "\n".join(lines)


def main() -> None:
    data, truth = load()
    print(to_markdown(realism_table(data, truth)))


if __name__ == "__main__":
    main()
