"""Tests of anker.fairness: the per-group audit and the proxy check.

Expected numbers come from pandas groupby hand computations in the tests,
scikit-learn (roc_auc_score, mutual_info_score), statsmodels (Wilson
intervals), lifelines (Kaplan-Meier) and scipy (Cramér's V).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mutual_info_score, roc_auc_score

import anker
from anker import diagnostics
from anker.errors import AnkerDataError
from anker.fairness import MISSING_LABEL, audit_fairness, proxy_check


class FakeTest:
    """A fitted-test stand-in: the score is a column, the flag a threshold on it."""

    name = "fake"
    outcome_col = "y"
    features = ["x"]
    protected_features_used: list[str] = []

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def predict_proba(self, df):
        return df["p"].rename("p_y")

    def flag(self, df):
        return (df["p"] >= self.threshold).rename("flag_high")

    def flag_target(self, df):
        return (df["y"] == 1).rename("had_outcome")


def _frame(n: int, seed: int, *, shares=(0.6, 0.25, 0.15), score_shift: dict | None = None):
    """Groups a, b, c; y ~ Bernoulli(p) with p independent of the group.

    ``score_shift`` adds to the *score* of a group (not its outcome): a model that
    over-scores that group, the planted disparity.
    """
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=list(shares))
    p_true = rng.uniform(0.05, 0.95, n)
    y = (rng.random(n) < p_true).astype(int)
    score = p_true.copy()
    for g, shift in (score_shift or {}).items():
        score[group == g] = np.clip(score[group == g] + shift, 0, 1)
    return pd.DataFrame({"group": group, "p": score, "y": y, "x": rng.normal(size=n)})


def _hand(df: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """The audit's per-group numbers by plain pandas."""
    d = df.assign(flag=df["p"] >= threshold, target=df["y"] == 1)
    by = d.groupby("group")
    out = pd.DataFrame({
        "n": by.size(), "base_rate": by["y"].mean(), "mean_score": by["p"].mean(),
        "flag_rate": by["flag"].mean(),
        "fpr": d[~d["target"]].groupby("group")["flag"].mean(),
        "fnr": 1 - d[d["target"]].groupby("group")["flag"].mean()})
    out["share"] = out["n"] / out["n"].sum()
    out["calibration_in_the_large"] = out["base_rate"] - out["mean_score"]
    return out


# ------------------------------------------------------------------ hand computation
def test_per_group_numbers_match_pandas_and_sklearn():
    df = _frame(3_000, seed=1)
    df["p"] = df["p"].round(1)  # ties in the score, for the AUC
    audit = audit_fairness(FakeTest(), df, "group")
    hand = _hand(df)
    assert list(audit.index) == ["a", "b", "c"] and audit.index.name == "group"
    for column in hand.columns:
        np.testing.assert_allclose(audit[column], hand.loc[audit.index, column], rtol=1e-12,
                                   err_msg=column)
    for g in audit.index:
        part = df[df["group"] == g]
        assert audit.loc[g, "auc"] == pytest.approx(roc_auc_score(part["y"], part["p"]), abs=1e-12)
        assert audit.loc[g, "n_flagged"] == (part["p"] >= 0.5).sum()
        assert audit.loc[g, "n_target"] == part["y"].sum()
    for metric in ("flag_rate", "fpr", "fnr", "base_rate", "mean_score"):
        np.testing.assert_allclose(audit[f"{metric}_ratio"],
                                   hand.loc[audit.index, metric] / hand.loc["a", metric])
    assert audit.attrs["reference"] == "a"  # the largest group
    assert audit.attrs["flag"] == "flag_high" and audit.attrs["flag_target"] == "had_outcome"
    assert audit.attrs["band"] == (0.8, 1.25)


def test_reference_can_be_chosen_and_must_exist():
    df = _frame(2_000, seed=2)
    audit = audit_fairness(FakeTest(), df, "group", reference="c")
    assert audit.attrs["reference"] == "c"
    assert (audit.loc["c", [c for c in audit.columns if c.endswith("_ratio")]] == 1).all()
    with pytest.raises(ValueError, match="reference: 'z' is not a group of group"):
        audit_fairness(FakeTest(), df, "group", reference="z")


# --------------------------------------------------------------- planted disparity
def test_planted_disparity_is_flagged_and_others_are_not():
    # group b is over-scored by 0.25: more of its people without the outcome are flagged
    df = _frame(60_000, seed=3, score_shift={"b": 0.25})
    audit = audit_fairness(FakeTest(), df, "group")
    hand = _hand(df)
    expected_fpr_ratio = hand.loc["b", "fpr"] / hand.loc["a", "fpr"]
    assert expected_fpr_ratio > 1.25
    assert audit.loc["b", "fpr_ratio"] == pytest.approx(expected_fpr_ratio)
    assert audit.loc["b", "flagged"]
    assert "fpr" in audit.loc["b", "flags"] and "fnr" in audit.loc["b", "flags"]
    assert audit.loc["b", "calibration_in_the_large"] < -0.2  # over-predicted
    assert not audit.loc["a", "flagged"] and not audit.loc["c", "flagged"]
    assert audit.loc["c", "flags"] == ""


def test_no_disparity_no_flag_at_large_n():
    df = _frame(200_000, seed=4)
    audit = audit_fairness(FakeTest(), df, "group")
    ratios = audit[[c for c in audit.columns if c.endswith("_ratio")]]
    assert ((ratios > 0.95) & (ratios < 1.05)).all().all()
    assert not audit["flagged"].any()
    assert (audit["flags"] == "").all()


def test_flag_on_limits_which_ratios_set_flagged():
    df = _frame(20_000, seed=5, score_shift={"b": 0.25})
    audit = audit_fairness(FakeTest(), df, "group", flag_on=["base_rate"])
    assert not audit["flagged"].any()  # outcomes do not differ; only the scores do
    audit = audit_fairness(FakeTest(), df, "group", band=(0.5, 2.0), flag_on=["fpr"])
    assert audit.loc["b", "flagged"] == (audit.loc["b", "fpr_ratio"] > 2.0)


@pytest.fixture(scope="module")
def fitted(population):
    df = population.data
    return df, anker.ComplianceTest().fit(df), anker.LabourMarketTest().fit(df)


def test_real_compliance_test_audit_matches_hand_computation(fitted):
    df, nt, _ = fitted
    audit = audit_fairness(nt, df, group_col="migration_background")
    assert len(audit) == df["migration_background"].nunique()
    p, flag, target = nt.predict_proba(df), nt.flag(df), nt.flag_target(df)
    for g, part in df.groupby("migration_background"):
        rows = part.index
        assert audit.loc[g, "n"] == len(rows)
        assert audit.loc[g, "mean_score"] == pytest.approx(p[rows].mean())
        assert audit.loc[g, "base_rate"] == pytest.approx(part["sanctioned_12m"].mean())
        assert audit.loc[g, "auc"] == pytest.approx(roc_auc_score(part["sanctioned_12m"], p[rows]))
        assert audit.loc[g, "fpr"] == pytest.approx(flag[rows][~target[rows]].mean())
        assert audit.loc[g, "fnr"] == pytest.approx(1 - flag[rows][target[rows]].mean())
    assert audit.attrs["model"] == "ComplianceTest"
    assert audit.attrs["protected_features_used"] == []
    assert audit.attrs["group_col_is_feature"] is False


def test_real_tests_flag_a_planted_recording_bias(fitted):
    # the models are fitted on clean records; in the audited records one group's
    # history is recorded worse than it is, while its outcomes stay the same
    df, nt, amt = fitted
    biased = df.copy()
    western = biased["migration_background"] == "western"
    biased.loc[western, "prior_sanctions"] += 3
    audit = audit_fairness(nt, biased, group_col="migration_background")
    assert audit.loc["western", "fpr_ratio"] > 1.25 and audit.loc["western", "flagged"]
    assert "fpr" in audit.loc["western", "flags"]
    assert audit.loc["western", "calibration_in_the_large"] < 0  # over-predicted

    biased = df.copy()
    biased.loc[western, "health_limitation"] = 1
    audit = audit_fairness(amt, biased, group_col="migration_background")
    assert audit.attrs["flag"] == "flag_route_b"
    # route B among those who found work anyway
    assert audit.loc["western", "fpr_ratio"] > 1.25 and audit.loc["western", "flagged"]
    assert audit.loc["western", "fnr_ratio"] < 0.8


# ------------------------------------------------------------- missing, one class
def test_missing_labels_are_their_own_group_or_dropped_with_a_count():
    df = _frame(2_000, seed=6)
    df.loc[df.index[:37], "group"] = None
    audit = audit_fairness(FakeTest(), df, "group")
    assert audit.index[-1] == MISSING_LABEL
    assert audit.loc[MISSING_LABEL, "n"] == 37 and audit.attrs["n_missing_group"] == 37
    assert audit["n"].sum() == len(df)
    with pytest.warns(UserWarning, match="37 of 2000 row"):
        dropped = audit_fairness(FakeTest(), df, "group", missing="drop")
    assert MISSING_LABEL not in dropped.index and dropped["n"].sum() == len(df) - 37
    assert dropped.attrs["n_missing_group"] == 37


def test_rows_without_outcome_or_prediction_are_counted():
    df = _frame(1_000, seed=7)
    df["y"] = df["y"].astype(float)
    df.loc[df.index[:5], "y"] = np.nan
    df.loc[df.index[5:8], "p"] = np.nan
    with pytest.warns(UserWarning) as record:
        audit = audit_fairness(FakeTest(), df, "group")
    messages = " ".join(str(w.message) for w in record)
    assert "3 of 1000 row(s) have no prediction" in messages
    assert "5 of 1000 row(s) have no observed outcome" in messages
    assert audit["n"].sum() == 992
    assert audit.attrs["n_excluded"] == {"no prediction": 3, "no observed outcome": 5}


def test_one_class_group_gives_nan_auc_with_a_note():
    df = _frame(3_000, seed=8)
    df.loc[df["group"] == "c", "y"] = 0
    audit = audit_fairness(FakeTest(), df, "group")
    assert np.isnan(audit.loc["c", "auc"]) and np.isnan(audit.loc["c", "fnr"])
    assert "auc undefined" in audit.loc["c", "notes"]
    assert "fnr undefined" in audit.loc["c", "notes"]
    assert np.isnan(audit.loc["c", "fnr_ratio"])
    assert "fnr" not in audit.loc["c", "flags"]
    assert audit.loc["a", "notes"] == ""


def test_zero_reference_rate_gives_undefined_ratio_not_a_crash():
    df = _frame(3_000, seed=9)
    df.loc[(df["group"] == "a") & (df["y"] == 0), "p"] = 0.1  # reference: no false positives
    audit = audit_fairness(FakeTest(), df, "group")
    assert audit.loc["a", "fpr"] == 0 and audit["fpr_ratio"].isna().all()
    assert "reference fpr is 0: fpr_ratio undefined" in audit.loc["b", "notes"]


def test_group_col_as_a_feature_is_recorded(small_population):
    df = small_population.data
    features = ["age", "education", "prior_sanctions", "migration_background"]
    with pytest.warns(UserWarning, match="protected"):
        nt = anker.ComplianceTest(features=features, allow_protected=True).fit(df)
    audit = audit_fairness(nt, df, "migration_background")
    assert audit.attrs["group_col_is_feature"] is True
    assert audit.attrs["protected_features_used"] == ["migration_background"]
    audit = audit_fairness(nt, df, "sex")
    assert audit.attrs["group_col_is_feature"] is False


# ------------------------------------------------------------------- intervals
def test_intervals_match_wilson_delong_and_a_plain_bootstrap():
    from statsmodels.stats.proportion import proportion_confint

    df = _frame(1_500, seed=10, score_shift={"b": 0.2})
    audit = audit_fairness(FakeTest(), df, "group", ci=True, n_boot=300, seed=5)
    hand = _hand(df)
    part = df[df["group"] == "b"]
    negatives = part[part["y"] == 0]
    low, high = proportion_confint((negatives["p"] >= 0.5).sum(), len(negatives), method="wilson")
    assert (audit.loc["b", "fpr_ci_low"], audit.loc["b", "fpr_ci_high"]) == pytest.approx((low, high))
    res = diagnostics.auc(part["y"], part["p"])
    assert audit.loc["b", "auc_ci_low"] == pytest.approx(res.ci_low)
    # the same resamples drawn by hand: groups in audit order, one draw per group
    rng = np.random.default_rng(5)
    draws = {}
    for g in audit.index:
        rows = df[df["group"] == g].reset_index(drop=True)
        idx = rng.integers(0, len(rows), size=(300, len(rows)))
        y, flag = rows["y"].to_numpy()[idx], rows["p"].to_numpy()[idx] >= 0.5
        draws[g] = {"fpr": (flag & (y == 0)).sum(1) / (y == 0).sum(1),
                    "mean_score": rows["p"].to_numpy()[idx].mean(1)}
    ratio = draws["b"]["fpr"] / draws["a"]["fpr"]
    expected = np.quantile(ratio, [0.025, 0.975])
    assert audit.loc["b", ["fpr_ratio_ci_low", "fpr_ratio_ci_high"]].tolist() == pytest.approx(expected)
    expected = np.quantile(draws["c"]["mean_score"], [0.025, 0.975])
    assert audit.loc["c", ["mean_score_ci_low", "mean_score_ci_high"]].tolist() == pytest.approx(expected)
    assert audit.loc["b", "fpr_ratio_ci_low"] < hand.loc["b", "fpr"] / hand.loc["a", "fpr"]
    assert "fpr" in audit.loc["b", "flags_confident"]
    again = audit_fairness(FakeTest(), df, "group", ci=True, n_boot=300, seed=5)
    pd.testing.assert_frame_equal(audit, again)


# --------------------------------------------------------------------- survival
def _hand_ipcw(durations, events, time):
    """1 / G(T-) for exits by ``time``, 1 / G(time) for spells still on benefit, 0 otherwise,
    with G the reverse Kaplan-Meier in which exits at a censoring time leave first."""
    times = np.unique(durations[events == 0])
    g = np.ones(len(times))
    running = 1.0
    for j, t in enumerate(times):
        at_risk = np.sum(durations >= t) - np.sum((durations == t) & (events == 1))
        running *= 1 - np.sum((durations == t) & (events == 0)) / at_risk
        g[j] = running

    def before(t, strict=True):
        idx = np.searchsorted(times, t, side="left" if strict else "right") - 1
        return g[idx] if idx >= 0 else 1.0

    return np.array([1 / before(d) if (d <= time and e == 1) else
                     (1 / before(time, strict=False) if d > time else 0.0)
                     for d, e in zip(durations, events, strict=True)])


def test_survival_test_audit_against_lifelines_and_concordance(small_population):
    from lifelines import KaplanMeierFitter

    df = small_population.data
    bd = anker.BenefitDurationTest(features=["age", "education", "work_history_years"]).fit(df)
    audit = audit_fairness(bd, df, "sex", time=182)
    surv = bd.predict_survival(df, times=[182]).iloc[:, 0]
    risk = bd.risk_score(df)
    for g, part in df.groupby("sex"):
        rows = part.index
        km = KaplanMeierFitter().fit(part["duration_days"], part["exited"])
        assert audit.loc[g, "base_rate"] == pytest.approx(float(km.predict(182)))
        assert audit.loc[g, "mean_score"] == pytest.approx(surv[rows].mean())
        assert audit.loc[g, "auc"] == pytest.approx(diagnostics.concordance_index(
            part["duration_days"], part["exited"], risk[rows]))
        known_left = (part["duration_days"] <= 182) & (part["exited"] == 1)
        weights = _hand_ipcw(part["duration_days"].to_numpy(), part["exited"].to_numpy(), 182)
        flagged = (surv[rows] >= 0.5).to_numpy()
        assert audit.loc[g, "fpr"] == pytest.approx(
            np.sum(weights * flagged * known_left) / np.sum(weights * known_left))
        unknown = (part["duration_days"] <= 182) & (part["exited"] == 0)
        assert audit.loc[g, "n_status_unknown"] == unknown.sum()
    assert audit.attrs["kind"] == "survival" and audit.attrs["time"] == 182
    with_ci = audit_fairness(bd, df, "sex", ci=True, n_boot=50)
    assert (with_ci["base_rate_ci_low"] < with_ci["base_rate"]).all()
    assert (with_ci["base_rate"] < with_ci["base_rate_ci_high"]).all()


def test_unsupported_tests_raise_a_type_error_naming_the_supported_ones(small_population):
    df = small_population.data
    rt = anker.ReintegrationTest(features=["age", "education"]).fit(df)
    with pytest.raises(TypeError, match="ReintegrationTest.*supported tests: ComplianceTest"):
        audit_fairness(rt, df, "sex")
    with pytest.raises(TypeError, match="cannot audit a str"):
        audit_fairness("model", df, "sex")


def test_bad_arguments_name_the_problem():
    df = _frame(500, seed=11)
    with pytest.raises(AnkerDataError, match="nationality"):
        audit_fairness(FakeTest(), df, "nationality")
    with pytest.raises(ValueError, match="band"):
        audit_fairness(FakeTest(), df, "group", band=(1.1, 1.25))
    with pytest.raises(ValueError, match="missing"):
        audit_fairness(FakeTest(), df, "group", missing="ignore")
    with pytest.raises(ValueError, match="flag_on"):
        audit_fairness(FakeTest(), df, "group", flag_on=["accuracy"])
    df.loc[0, "group"] = MISSING_LABEL
    with pytest.raises(AnkerDataError, match="holds the label"):
        audit_fairness(FakeTest(), df, "group")


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 60), seed=st.integers(0, 10_000), threshold=st.floats(0.05, 0.95))
def test_audit_is_consistent_on_any_small_frame(n, seed, threshold):
    df = _frame(n, seed=seed)
    if not FakeTest(threshold).flag_target(df).astype(bool).any():
        # nobody with the outcome the flag is meant to catch: an error, never a flag
        with pytest.raises(AnkerDataError, match="nobody in the"):
            audit_fairness(FakeTest(threshold), df, "group")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        audit = audit_fairness(FakeTest(threshold), df, "group")
    hand = _hand(df, threshold)
    assert audit["n"].sum() == n and audit["share"].sum() == pytest.approx(1)
    np.testing.assert_allclose(audit["fpr"], hand.reindex(audit.index)["fpr"])
    reference = audit.attrs["reference"]
    ratio_cols = [c for c in audit.columns if c.endswith("_ratio")]
    defined = audit.loc[reference, ratio_cols].dropna()
    assert (defined == 1).all()
    assert (audit["flagged"] == (audit["flags"] != "")).all()


# ----------------------------------------------------------------------- figure
def test_fairness_bars_renders_the_audit():
    import matplotlib.pyplot as plt

    audit = audit_fairness(FakeTest(), _frame(20_000, seed=12, score_shift={"b": 0.25}), "group")
    fig = anker.plots.fairness_bars(audit)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert "1 outside the shaded band" in ax.get_title()
    plt.close(fig)


# ------------------------------------------------------------------- proxy check
def _proxy_frame(n: int = 6_000, seed: int = 13) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["none", "western", "non_western"], size=n, p=[0.7, 0.1, 0.2])
    # postcode area equals the group 80 % of the time: a planted proxy
    postcode = np.where(rng.random(n) < 0.8, group, rng.choice(["none", "western", "non_western"], n))
    return pd.DataFrame({
        "group": group, "postcode_area": np.char.add("pc_", postcode.astype(str)),
        "wage": rng.lognormal(4, 0.3, n) + 20 * (group == "non_western"),
        "noise": rng.normal(size=n), "noise_category": rng.choice(list("pqrs"), n)})


def test_proxy_check_ranks_the_planted_proxy_first():
    df = _proxy_frame()
    table = proxy_check(df, "group", ["noise", "wage", "postcode_area", "noise_category"])
    assert list(table.index[:2]) == ["postcode_area", "wage"]
    assert table.loc["postcode_area", "auc"] > 0.8
    assert abs(table.loc["noise", "auc"] - 0.5) < 0.03
    assert table.loc["noise_category", "kind"] == "categorical" and table.loc["wage", "kind"] == "numeric"
    assert table.index[-1] == "(all features)"
    assert table.loc["(all features)", "auc"] == pytest.approx(table.attrs["auc_all_features"])
    assert table.attrs["auc_all_features"] > table.loc["postcode_area", "auc"] - 0.02
    assert table["rank"].iloc[:-1].tolist() == [1, 2, 3, 4]


def test_proxy_check_association_measures_match_scipy_and_sklearn():
    from scipy.stats.contingency import association

    df = _proxy_frame(n=3_000, seed=14)
    table = proxy_check(df, "group", ["postcode_area", "noise_category"], seed=1)
    crosstab = pd.crosstab(df["postcode_area"], df["group"]).to_numpy()
    assert table.loc["postcode_area", "cramers_v"] == pytest.approx(association(crosstab))
    assert table.loc["postcode_area", "mutual_information"] == pytest.approx(
        mutual_info_score(df["group"], df["postcode_area"]))
    binary = df.assign(group=(df["group"] == "none").map({True: "none", False: "other"}))
    table = proxy_check(binary, "group", ["postcode_area"])
    assert table.loc["postcode_area", "n_levels"] == 3


def test_proxy_check_counts_missing_and_refuses_bad_input():
    df = _proxy_frame(n=2_000, seed=15)
    df.loc[df.index[:11], "group"] = None
    df.loc[df.index[20:40], "wage"] = np.nan  # a level of its own, not dropped
    with pytest.warns(UserWarning, match="11 of 2000 row"):
        table = proxy_check(df, "group", ["wage", "noise"], top=1)
    assert table.attrs["n"] == 1_989 and len(table) == 2
    with pytest.warns(UserWarning, match="protected attribute itself"):
        proxy_check(df.dropna(subset=["group"]), "group", ["group", "noise"])
    with pytest.raises(TypeError, match="features"):
        proxy_check(df, "group", "noise")
    with pytest.raises(AnkerDataError, match="salary"):
        proxy_check(df, "group", ["salary"])
    with pytest.raises(AnkerDataError, match="at least two groups"):
        proxy_check(df.assign(group="x"), "group", ["noise"])


def test_proxy_check_on_synthetic_data_finds_education(small_population):
    df = small_population.data
    nt = anker.ComplianceTest()
    table = proxy_check(df, "migration_background", nt.features, top=3)
    assert "education" in table.index[:3]
    assert table.attrs["levels"] == sorted(df["migration_background"].unique())


# ------------------------------------------- intersectional groups, suppression, calibration
def _two_attributes(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1_000)  # independent of the draws of _frame
    df = _frame(n, seed)
    df["other"] = rng.choice(["u", "v"], size=n, p=[0.7, 0.3])
    return df


def test_intersectional_groups_match_a_groupby_on_both_columns():
    df = _two_attributes(6_000, seed=21)
    audit = audit_fairness(FakeTest(), df, ["group", "other"])
    assert audit.index.names == ["group", "other"] and len(audit) == 6
    d = df.assign(flag=df["p"] >= 0.5)
    for (g, o), part in d.groupby(["group", "other"]):
        assert audit.loc[(g, o), "n"] == len(part)
        assert audit.loc[(g, o), "base_rate"] == pytest.approx(part["y"].mean())
        assert audit.loc[(g, o), "fpr"] == pytest.approx(part.loc[part["y"] == 0, "flag"].mean())
    assert audit.attrs["reference"] == ("a", "u")  # the largest cell
    again = audit_fairness(FakeTest(), df, ["group", "other"], reference=("b", "v"))
    assert again.loc[("b", "v"), "fpr_ratio"] == 1.0


def test_small_cells_are_suppressed_and_show_nothing():
    df = _two_attributes(2_000, seed=22)
    sizes = df.groupby(["group", "other"]).size()
    cut = int(sizes.sort_values().iloc[2]) + 1  # the three smallest cells fall below
    with_ci = audit_fairness(FakeTest(), df, ["group", "other"], min_group_size=cut, ci=True,
                             n_boot=50)
    for audit in (audit_fairness(FakeTest(), df, ["group", "other"], min_group_size=cut), with_ci):
        small = audit["suppressed"]
        assert small.sum() == 3 and set(audit.index[small]) == set(sizes[sizes < cut].index)
        metrics = [c for c in audit.columns if c not in ("flagged", "flags", "suppressed", "notes",
                                                         "flags_confident")]
        assert audit.loc[small, metrics].isna().all().all()  # no count, no metric, no interval
        assert not audit.loc[small, "flagged"].any()
        assert audit.loc[small, "notes"].str.contains("suppressed").all()
        assert audit.loc[~small, "n"].notna().all()
    assert with_ci.attrs["n_suppressed"] == 3
    smallest = sizes.idxmin()
    with pytest.raises(ValueError, match="suppressed"):
        audit_fairness(FakeTest(), df, ["group", "other"], min_group_size=cut, reference=smallest)
    with pytest.raises(AnkerDataError, match="min_group_size"):
        audit_fairness(FakeTest(), df, "group", min_group_size=10_000)


def test_calibration_per_group_matches_statsmodels_and_finds_a_planted_miscalibration():
    df = _frame(9_000, seed=23, score_shift={"b": 0.15})  # b is over-scored
    audit = audit_fairness(FakeTest(), df, "group")
    for g, part in df.groupby("group"):
        res = diagnostics.calibration_intercept_slope(part["y"], part["p"])
        assert audit.loc[g, "calibration_intercept"] == pytest.approx(res.intercept, rel=1e-6)
        assert audit.loc[g, "calibration_slope"] == pytest.approx(res.slope, rel=1e-6)
    assert audit.loc["b", "calibration_intercept"] < -0.3  # over-predicted: observed below score
    assert abs(audit.loc["a", "calibration_intercept"]) < 0.1
    assert abs(audit.loc["a", "calibration_slope"] - 1) < 0.1


def test_survival_calibration_per_group_sees_a_faster_group():
    rng = np.random.default_rng(24)
    n = 8_000
    group = rng.choice(["x", "y"], n)
    age = rng.normal(40, 10, n)
    # group y leaves benefit 1.5 times as fast; the model does not know the group
    rate = 0.01 * np.exp(-0.02 * (age - 40)) * np.where(group == "y", 1.5, 1.0)
    latent = rng.exponential(1 / rate)
    censor = rng.uniform(30, 500, n)
    df = pd.DataFrame({"years": age, "grp": group, "spell": np.minimum(latent, censor),
                       "ended": (latent <= censor).astype(int)})
    bd = anker.BenefitDurationTest(features=["years"], duration_col="spell", event_col="ended",
                                   entitlement_col=None).fit(df)
    audit = audit_fairness(bd, df, "grp", time=180)
    gap = audit.loc["y", "calibration_intercept"] - audit.loc["x", "calibration_intercept"]
    assert gap == pytest.approx(np.log(1.5), abs=0.1)
    assert audit["calibration_slope"].between(0.7, 1.3).all()


def test_ipcw_rates_recover_the_uncensored_truth_under_dependent_censoring():
    """Long spells of flagged people are censored early: dropping them biases fnr, IPCW does not."""
    rng = np.random.default_rng(25)
    n = 30_000
    age = rng.normal(40, 10, n)
    group = np.where(rng.random(n) < 0.5, "x", "y")
    rate = 0.006 * np.exp(-0.1 * (age - 40))  # older: longer spells, flagged as staying
    latent = rng.exponential(1 / rate)
    # censoring depends on the group only (e.g. a shorter follow-up for one office)
    censor = np.where(group == "y", rng.uniform(10, 250, n), rng.uniform(150, 900, n))
    df = pd.DataFrame({"years": age, "grp": group, "spell": np.minimum(latent, censor),
                       "ended": (latent <= censor).astype(int)})
    bd = anker.BenefitDurationTest(features=["years"], duration_col="spell", event_col="ended",
                                   entitlement_col=None).fit(df)
    audit = audit_fairness(bd, df, "grp", time=182)
    flag = bd.predict_survival(df, times=[182]).iloc[:, 0].to_numpy() >= 0.5
    still = latent > 182  # the truth, from the uncensored durations
    for g in ("x", "y"):
        m = group == g
        true_fnr = np.mean(~flag[m & still])
        true_fpr = np.mean(flag[m & ~still])
        # binomial SE of these rates at about 7,500 spells per cell: 0.005
        assert audit.loc[g, "fnr"] == pytest.approx(true_fnr, abs=0.015)
        assert audit.loc[g, "fpr"] == pytest.approx(true_fpr, abs=0.01)
    # the old rule, leaving out spells censored before 182 days, is biased in group y
    exits = (group == "y") & (df["spell"] <= 182).to_numpy() & (df["ended"] == 1).to_numpy()
    truth_y = np.mean(flag[(group == "y") & ~still])
    assert abs(np.mean(flag[exits]) - truth_y) > 0.012


def test_intersectional_bad_arguments():
    df = _two_attributes(300, seed=26)
    with pytest.raises(AnkerDataError, match="nationality"):
        audit_fairness(FakeTest(), df, ["group", "nationality"])
    with pytest.raises(TypeError, match="group_col"):
        audit_fairness(FakeTest(), df, [])
    with pytest.raises(ValueError, match="twice"):
        audit_fairness(FakeTest(), df, ["group", "group"])
    with pytest.raises(ValueError, match="min_group_size"):
        audit_fairness(FakeTest(), df, "group", min_group_size=-1)


def test_intersectional_missing_labels_form_their_own_cells():
    df = _two_attributes(1_000, seed=27)
    df.loc[:9, "other"] = None
    audit = audit_fairness(FakeTest(), df, ["group", "other"])
    assert audit["n"].sum() == 1_000
    assert any(MISSING_LABEL in g for g in audit.index)
    with pytest.warns(UserWarning, match="10 of 1000"):
        dropped = audit_fairness(FakeTest(), df, ["group", "other"], missing="drop")
    assert dropped["n"].sum() == 990


# ------------------------------------------------------------------------ accuracy equity
def test_accuracy_equity_matches_the_audit_at_the_flag_threshold():
    from anker.fairness import accuracy_equity

    df = _frame(6_000, seed=31, score_shift={"b": 0.1})
    table = accuracy_equity(FakeTest(), df, "group", thresholds=[0.3, 0.5, 0.7])
    audit = audit_fairness(FakeTest(0.5), df, "group")
    at_half = table[table["threshold"] == 0.5].set_index("group")
    for g in "abc":
        assert at_half.loc[g, "fpr"] == pytest.approx(audit.loc[g, "fpr"])
        assert at_half.loc[g, "fnr"] == pytest.approx(audit.loc[g, "fnr"])
        assert at_half.loc[g, "fpr_ratio"] == pytest.approx(audit.loc[g, "fpr_ratio"])
    # a higher threshold flags fewer people: fpr falls and fnr rises within each group
    for _, part in table.groupby("group"):
        assert part["fpr"].is_monotonic_decreasing and part["fnr"].is_monotonic_increasing
    assert (table.loc[table["group"] == "a", "fpr_ratio"] == 1).all()


def test_accuracy_equity_follows_the_flag_direction_of_route_b(small_population):
    from anker.fairness import accuracy_equity

    df = small_population.data
    amt = anker.LabourMarketTest().fit(df)
    table = accuracy_equity(amt, df, ["sex", "migration_background"], thresholds=[amt.threshold],
                            min_group_size=100)
    audit = audit_fairness(amt, df, ["sex", "migration_background"], min_group_size=100)
    shown = audit[~audit["suppressed"]]
    assert len(table) == len(shown)
    for _, row in table.iterrows():
        key = (row["sex"], row["migration_background"])
        assert row["fpr"] == pytest.approx(shown.loc[key, "fpr"])
        assert row["fnr"] == pytest.approx(shown.loc[key, "fnr"])
    assert table.attrs["flag_direction"] == "score < threshold"
    assert len(table.attrs["suppressed"]) == int(audit["suppressed"].sum())


def test_accuracy_equity_figure_draws_the_table():
    import matplotlib.pyplot as plt

    from anker.fairness import accuracy_equity

    table = accuracy_equity(FakeTest(), _frame(3_000, seed=32), "group")
    fig = anker.plots.accuracy_equity_curves(table)
    assert len(fig.axes) == 2 and len(fig.axes[0].get_lines()) == 1 + 3  # the 1.0 line + groups
    plt.close(fig)
    with pytest.raises(ValueError, match="accuracy_equity"):
        anker.plots.accuracy_equity_curves(pd.DataFrame({"x": [1]}))


# ------------------------------------------------------------- durations in other units
def _rossi_periods():
    """Rossi (lifelines) in two-week periods: follow-up 26 periods, so 182 calendar days
    (13 periods) lie inside it and the old default of 182 *periods* lay far beyond."""
    rossi = pd.read_csv("tests/data/rossi.csv")
    return rossi.assign(period=np.ceil(rossi["week"] / 2))


def test_duration_audit_time_follows_the_unit_and_raises_no_false_alarm():
    own = _rossi_periods()
    bd = anker.BenefitDurationTest(duration_col="period", event_col="arrest",
                                   features=["age", "prio"], entitlement_col=None,
                                   time_unit=14).fit(own)
    audit = audit_fairness(bd, own, "race")
    assert audit.attrs["time"] == 13.0  # 182 calendar days in periods of 14 days
    assert (audit["n_target"] > 0).all()
    assert "13 periods of 14 days" in audit.attrs["outcome"]
    # the same audit by hand: status at 13 periods, flag = predicted S(13) >= 0.5
    surv = bd.predict_survival(own, [13])[13]
    status = np.where(own["period"] > 13, 1.0, np.where(own["arrest"] == 1, 0.0, np.nan))
    for group, part in own.groupby("race"):
        rows = (own["race"] == group).to_numpy()
        flag = surv[rows] >= 0.5
        fpr = (flag & (status[rows] == 0)).sum() / (status[rows] == 0).sum()
        assert audit.loc[group, "fpr"] == pytest.approx(fpr)


def test_duration_audit_beyond_follow_up_or_without_target_is_an_error():
    own = _rossi_periods()
    bd = anker.BenefitDurationTest(duration_col="period", event_col="arrest",
                                   features=["age", "prio"], entitlement_col=None,
                                   time_unit=14).fit(own)
    with pytest.raises(AnkerDataError, match="beyond the longest duration"):
        audit_fairness(bd, own, "race", time=182)  # the old default, in periods
    # at the longest duration nobody is still observed on benefit: no target, no audit
    # (before, such an audit compared fpr on nothing and flagged a group)
    ended = own[own["period"] < 26]
    with pytest.raises(AnkerDataError, match="nobody in the .* audited record"):
        audit_fairness(bd, ended, "race", time=float(ended["period"].max()))


def test_duration_audit_default_time_within_a_short_follow_up():
    rossi = pd.read_csv("tests/data/rossi.csv")
    # follow-up cut at 20 weeks: 182 calendar days (26 weeks) lie beyond it
    short = rossi.assign(week=rossi["week"].clip(upper=20),
                         arrest=np.where(rossi["week"] > 20, 0, rossi["arrest"]))
    bd = anker.BenefitDurationTest(duration_col="week", event_col="arrest",
                                   features=["age", "prio"], entitlement_col=None,
                                   time_unit="week").fit(short)
    with pytest.warns(UserWarning, match="audited at half of it, 10 weeks"):
        audit = audit_fairness(bd, short, "race")
    assert audit.attrs["time"] == 10.0 and (audit["n_target"] > 0).all()
