"""anker.override_outcomes: outcomes per decision type, raw (Wilson) and adjusted for the score.

The known truth: a simulation where coaches override towards more support
mostly for clients with a low score (who find work less often anyway) and
the override itself adds a known amount to the log odds of work. The raw
rates mix selection with the override; the adjusted rates standardise by
the score, and their difference must recover the true standardised
difference, computed from the true model. The delta-method interval is
checked against a bootstrap; the raw intervals against statsmodels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit
from statsmodels.stats.proportion import proportion_confint

import anker
from anker.decisions.outcomes import override_outcomes
from anker.errors import AnkerDataError

EFFECT = {"advice followed": 0.0, "more support": 0.6, "less support": -0.4}


def decision_type_of(direction: str) -> str:
    return "advice followed" if direction == "none" else direction


def _scenario(n: int, seed: int):
    rng = np.random.default_rng(seed)
    score = rng.beta(2, 2, n)  # P(work) the profile gives
    advice = np.where(score >= 0.5, "A", "B")
    # overrides depend on the score: more support (A -> B) mostly for the weaker of the
    # job-ready, less support (B -> A) mostly for the stronger of the others
    more = (advice == "A") & (rng.random(n) < expit(-1.0 - 6 * (score - 0.5)))
    less = (advice == "B") & (rng.random(n) < expit(-1.5 + 6 * (score - 0.5)))
    kind = np.where(more, "more support", np.where(less, "less support", "advice followed"))
    lp = logit(score) + np.vectorize(EFFECT.get)(kind)
    work = (rng.random(n) < expit(lp)).astype(int)
    clients = [f"c{i:05d}" for i in range(n)]
    df = pd.DataFrame({"client": clients, "p_work": score, "work6": work,
                       "office": rng.choice(["north", "south"], n)})
    decision = np.where(more, "B", np.where(less, "A", advice))
    rows = pd.DataFrame({"client_id": clients, "advice": advice, "decision": decision,
                         "coach_id": rng.choice(["k1", "k2", "k3"], n), "office": df["office"]})
    rows["direction"] = [anker.decisions.override_direction(a, d)
                         for a, d in zip(rows["advice"], rows["decision"], strict=True)]
    return df, rows, score


def test_raw_rates_and_wilson_intervals_by_hand():
    df, log, _ = _scenario(4_000, seed=1)
    table = override_outcomes(log, df, outcome_col="work6", client_col="client",
                              score_col="p_work")
    joined = log.merge(df, left_on="client_id", right_on="client")
    kinds = joined["direction"].map({"none": "advice followed"}).fillna(joined["direction"])
    for name, part in joined.groupby(kinds):
        k, n = int(part["work6"].sum()), len(part)
        low, high = proportion_confint(k, n, method="wilson")
        assert table.loc[name, "n"] == n and table.loc[name, "n_outcome"] == k
        assert table.loc[name, "observed_ci_low"] == pytest.approx(low)
        assert table.loc[name, "observed_ci_high"] == pytest.approx(high)
        assert table.loc[name, "mean_score"] == pytest.approx(part["p_work"].mean())


def test_adjusted_difference_recovers_the_true_standardised_difference():
    df, log, score = _scenario(30_000, seed=2)
    table = override_outcomes(log, df, outcome_col="work6", client_col="client",
                              score_col="p_work")
    joined = log.merge(df, left_on="client_id", right_on="client")
    kinds = joined["direction"].map({"none": "advice followed"}).fillna(joined["direction"])
    assert set(table.index) >= {"advice followed", "more support"}
    everyone = logit(joined["p_work"].to_numpy())
    for name in table.index:
        if name not in EFFECT:
            continue
        # the truth: everyone's P(work) had they all had this decision type
        true_rate = expit(everyone + EFFECT[name]).mean()
        assert table.loc[name, "adjusted_ci_low"] < true_rate < table.loc[name, "adjusted_ci_high"]
        true_diff = true_rate - expit(everyone).mean()
        assert table.loc[name, "difference_ci_low"] <= true_diff + 1e-12 <= \
            table.loc[name, "difference_ci_high"] + 2e-12
    # the raw comparison is confounded by who gets overridden: it misses the truth
    raw = table.loc["less support", "observed_rate"] - table.loc["advice followed", "observed_rate"]
    true_less = expit(everyone + EFFECT["less support"]).mean() - expit(everyone).mean()
    assert abs(raw - true_less) > 3 * abs(table.loc["less support", "difference"] - true_less)
    assert (kinds == joined["direction"].map(decision_type_of)).all()
    assert table.attrs["score"] == "p_work"


def test_delta_method_interval_against_a_bootstrap():
    df, log, _ = _scenario(2_000, seed=3)
    table = override_outcomes(log, df, outcome_col="work6", client_col="client",
                              score_col="p_work")
    rng = np.random.default_rng(0)
    reps = []
    for _ in range(120):
        take = rng.integers(0, len(df), len(df))
        boot_df = df.iloc[take].assign(client=[f"b{i}" for i in range(len(df))])
        boot_log = log.iloc[take].assign(client_id=boot_df["client"].to_numpy())
        reps.append(override_outcomes(boot_log, boot_df, outcome_col="work6",
                                      client_col="client", score_col="p_work")
                    .loc["more support", "adjusted_rate"])
    half_width = (table.loc["more support", "adjusted_ci_high"]
                  - table.loc["more support", "adjusted_ci_low"]) / 2
    boot_se = np.std(reps, ddof=1)
    assert half_width / 1.96 == pytest.approx(boot_se, rel=0.3)  # 120 draws: SE of an SD ~ 7 %


def test_with_a_decision_log_and_a_model(small_population, tmp_path):
    df = small_population.data
    model = anker.AnkerModel().fit(df)
    log = anker.DecisionLog(tmp_path / "d.sqlite")
    for i, client in enumerate(df["client_id"].head(300)):
        over = i % 6 == 0
        log.record(client_id=client, advice="B", decision="A" if over else "B",
                   reason="has a job offer" if over else None, coach_id=f"k{i % 4}",
                   office=f"o{i % 2}")
    log.record(client_id="not-a-client", advice="B", decision="B", coach_id="k1")
    log.record(client_id=df["client_id"].iloc[0], advice="B", decision="B", coach_id="k1")
    table = override_outcomes(log, df, outcome_col="work_within_6m", model=model)
    assert table.attrs["score"] == "labour_market test prediction"
    assert table["n"].sum() == 300
    assert table.loc["advice followed", "n"] == 251  # client 0's later decision follows
    assert any("not in df" in n for n in table.attrs["notes"])
    assert any("latest counts" in n for n in table.attrs["notes"])
    by_coach = table.attrs["by_coach"]
    assert by_coach["n_decisions"].sum() == 302
    rates = log.override_rates(by="coach_id").set_index("coach_id")
    assert (by_coach["override_share"] == rates["override_rate"]).all()
    assert set(table.attrs["by_office"].index) == {"o0", "o1", "(missing)"}
    log.close()


def test_without_a_score_only_raw_rates():
    df, log, _ = _scenario(500, seed=4)
    table = override_outcomes(log, df, outcome_col="work6", client_col="client")
    assert table["adjusted_rate"].isna().all()
    assert table["observed_ci_low"].notna().all()
    assert any("not adjusted" in n for n in table.attrs["notes"])


def test_bad_input_names_the_problem():
    df, log, _ = _scenario(200, seed=5)
    with pytest.raises(AnkerDataError, match="work12"):
        override_outcomes(log, df, outcome_col="work12", client_col="client")
    with pytest.raises(AnkerDataError, match="0/1"):
        override_outcomes(log, df.assign(work6=2), outcome_col="work6", client_col="client")
    with pytest.raises(AnkerDataError, match="duplicated"):
        override_outcomes(log, pd.concat([df, df.head(3)]), outcome_col="work6",
                          client_col="client")
    with pytest.raises(AnkerDataError, match="score_col"):
        override_outcomes(log, df, outcome_col="work6", client_col="client", score_col="nope")
    with pytest.raises(TypeError, match="DecisionLog"):
        override_outcomes("log.sqlite", df, outcome_col="work6", client_col="client")
    with pytest.raises(AnkerDataError, match="no decisions"):
        override_outcomes(log.iloc[:0], df, outcome_col="work6", client_col="client")


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 10_000))
@example(n=3, seed=543)  # no outcome among three: the Wilson bound once sat 1e-17 above 0
def test_any_small_log_gives_a_table_that_counts_every_decision(n, seed):
    df, log, _ = _scenario(60, seed=seed)
    rows = log.sample(n, random_state=seed)
    table = override_outcomes(rows, df, outcome_col="work6", client_col="client",
                              score_col="p_work")
    assert table["n"].sum() == n
    assert ((table["observed_ci_low"] <= table["observed_rate"])
            & (table["observed_rate"] <= table["observed_ci_high"])).all()
