"""simulate_population: realism ranges, exact truth, determinism, shipped data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import anker
from anker.synthetic import BENEFIT_DAYS_PER_CALENDAR_DAY, COHORTS, DAILY_WAGE_CAP_2006

from .conftest import SHIPPED_DATA, SHIPPED_N_PER_COHORT, SHIPPED_SEED


def test_deterministic_per_seed():
    a = anker.simulate_population(n_per_cohort=300, seed=4)
    b = anker.simulate_population(n_per_cohort=300, seed=4)
    c = anker.simulate_population(n_per_cohort=300, seed=5)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.truth.rows, b.truth.rows)
    assert not a.data["duration_days"].equals(c.data["duration_days"])


def test_two_cohorts_and_schema(population):
    df = population.data
    assert df["cohort"].value_counts().to_dict() == {c: SHIPPED_N_PER_COHORT for c in COHORTS}
    anker.validate(df)
    assert population.truth.rows.index.equals(df.index)


def test_covariate_ranges(population):
    df = population.data
    assert df["age"].between(18, 66).all() and df["age"].min() == 18 and df["age"].max() == 66
    assert df["daily_wage"].max() <= DAILY_WAGE_CAP_2006
    assert df["region"].nunique() == 12
    assert 25 <= df["office"].nunique() <= 35
    assert set(df["sex"]) == {"male", "female"}
    assert df["migration_background"].nunique() == 3
    assert (df["work_history_years"] <= df["age"] - 17).all()


def test_entitlement_rules_per_cohort(population):
    df = population.data
    months = df["entitlement_days"] / (365.25 / 12)
    new = df["cohort"] == "coaching_2007"
    # after the October 2006 reform: 3 months + 1 per year of work history, at most 38
    assert months[new].round().max() == 38
    expected = np.where(df.loc[new, "work_history_years"] < 4, 3,
                        np.minimum(3 + np.floor(df.loc[new, "work_history_years"]), 38))
    np.testing.assert_allclose(months[new].round(), expected)
    assert months[~new].round().max() == 60


def test_coaching_caseload_near_norm(population):
    coaching = population.data[population.data["cohort"] == "coaching_2007"]
    caseload = coaching.groupby("coach_id").size()
    assert 150 <= caseload.mean() <= 190


def test_business_cycle(population):
    by = population.data.groupby("cohort")[["tightness", "unemployment_rate"]].mean()
    assert by.loc["coaching_2007", "tightness"] > 1.3 * by.loc["casemanagement_2004", "tightness"]
    ratio = by.loc["coaching_2007", "unemployment_rate"] / by.loc["casemanagement_2004", "unemployment_rate"]
    assert 0.6 <= ratio <= 0.72  # fell by about a third
    # tightness varies by region x occupation within each cohort
    within = population.data.groupby(["cohort", "region", "occupation_group"])["tightness"].mean()
    assert within.groupby(level="cohort").std().min() > 0.15


def test_outcome_realism(population):
    df = population.data
    mean_months = df["duration_days"].mean() / (365.25 / 12)
    assert 7 <= mean_months <= 10  # about 9 months
    assert 0.58 <= df["work_within_12m"].mean() <= 0.72  # about two thirds
    assert 0.08 <= df["sanctioned_12m"].mean() <= 0.15
    assert set(df["exit_reason"]) == {"work", "other", "exhausted", "censored"}


def test_oracle_aucs_in_range(population):
    df, rows = population.data, population.truth.rows
    assert 0.62 <= roc_auc_score(df["sanctioned_12m"], rows["p_sanction"]) <= 0.72
    assert 0.68 <= roc_auc_score(df["work_within_6m"], rows["p_work_6m"]) <= 0.78


def test_true_probabilities_are_calibrated(population):
    df, rows = population.data, population.truth.rows
    for outcome, p in (("sanctioned_12m", "p_sanction"), ("work_within_6m", "p_work_6m"),
                       ("work_within_12m", "p_work_12m")):
        se = np.sqrt((rows[p] * (1 - rows[p])).sum()) / len(df)
        assert abs(df[outcome].mean() - rows[p].mean()) < 4 * se, outcome


def test_trajectory_selection_and_heterogeneous_effect(population):
    df, rows = population.data, population.truth.rows
    assert 0.1 <= df["trajectory"].mean() <= 0.3
    # selection on observables: the low-educated and those with a health limitation get more
    assert df.groupby("education")["trajectory"].mean()["low"] > df["trajectory"].mean()
    effect = rows["p_work_12m_with_trajectory"] - rows["p_work_12m_without_trajectory"]
    assert effect.std() > 0.005 and effect.mean() > 0


def test_coaching_effect_equals_brute_force(population):
    truth, df = population.truth, population.data
    coaching = df["cohort"].to_numpy() == "coaching_2007"
    rows = truth.rows[coaching]
    brute = np.mean([min(a, 365) - min(b, 365) for a, b in
                     zip(rows["duration_casemanagement"], rows["duration_coaching"], strict=True)])
    assert truth.coaching_effect_days == pytest.approx(brute, abs=1e-12)
    assert truth.coaching_effect_benefit_days == pytest.approx(brute * BENEFIT_DAYS_PER_CALENDAR_DAY)
    # default: about 5 benefit days, just above the 3.7-day break-even
    assert 3.7 < truth.coaching_effect_benefit_days < 6.5


def test_observed_durations_follow_potential_outcomes(population):
    df, rows = population.data, population.truth.rows
    latent = np.where(df["cohort"] == "coaching_2007", rows["duration_coaching"],
                      rows["duration_casemanagement"])
    exited = df["exited"] == 1
    np.testing.assert_array_equal(df.loc[exited, "duration_days"], latent[exited])
    assert (latent[~exited] > df.loc[~exited, "duration_days"]).all()


def test_no_effect_when_hazard_ratio_is_one():
    pop = anker.simulate_population(n_per_cohort=500, seed=2, coaching_hazard_ratio=1.0)
    assert pop.truth.coaching_effect_days == 0.0


def test_naive_difference_overstates_effect(population):
    means = population.data.groupby("cohort")["duration_days"].mean()
    naive = means["casemanagement_2004"] - means["coaching_2007"]
    assert naive >= 2 * population.truth.coaching_effect_days


def test_true_survival_matches_empirical(population):
    # the Weibull truth reproduces the latent durations' distribution
    truth = population.truth
    lp = np.log(truth.rows["hazard_multiplier"].to_numpy())
    latent = np.where(population.data["cohort"] == "coaching_2007",
                      truth.rows["duration_coaching"], truth.rows["duration_casemanagement"])
    for t in (91, 182, 365):
        expected = truth.survival([t], lp)[:, 0].mean()
        assert np.mean(latent > t) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("kwargs", [dict(n_per_cohort=0), dict(n_per_cohort=2.5),
                                    dict(coaching_hazard_ratio=0.0),
                                    dict(coaching_hazard_ratio=float("nan")),
                                    dict(coach_effect_sd=-1)])
def test_bad_arguments(kwargs):
    args = dict(n_per_cohort=10, seed=0) | kwargs
    with pytest.raises(ValueError):
        anker.simulate_population(**args)


def test_shipped_data_validates_as_read():
    df = pd.read_csv(SHIPPED_DATA)
    anker.validate(df)
    assert len(df) == 2 * SHIPPED_N_PER_COHORT
    assert SHIPPED_DATA.stat().st_size < 10 * 1024**2


def test_shipped_data_regenerates_byte_for_byte(tmp_path):
    out = tmp_path / "again.csv"
    result = subprocess.run([sys.executable, "-m", "anker.cli", "simulate", "--n-per-cohort",
                             str(SHIPPED_N_PER_COHORT), "--seed", str(SHIPPED_SEED), "--out", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == SHIPPED_DATA.read_bytes()


def test_simulate_cli_bad_input_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "anker.cli", "simulate", "--n-per-cohort", "x",
                             "--out", str(tmp_path / "a.csv")], capture_output=True, text=True)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "--n-per-cohort" in result.stderr
    assert "Traceback" not in result.stderr
