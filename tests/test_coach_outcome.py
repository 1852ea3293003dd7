"""Tests for anker.outcome.coach (outcome per coach) and anker.plots.coach (funnel plot)."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy import stats  # noqa: E402
from statsmodels.stats.rates import confint_poisson  # noqa: E402

import anker  # noqa: E402
from anker.outcome.coach import (  # noqa: E402
    CoachOutcome,
    funnel_limits,
    gamma_poisson_shrinkage,
    oe_confidence_interval,
)

FEW = ["age", "health_limitation", "tightness"]
COACHING = "coaching_2007"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted(small_population):
    df = small_population.data
    df = df[df["cohort"] == COACHING]
    return df, anker.BenefitDurationTest(features=FEW).fit(df)


def _coaching(n_per_cohort: int, seed: int, **kwargs):
    pop = anker.simulate_population(n_per_cohort=n_per_cohort, seed=seed, **kwargs)
    return pop, pop.data[pop.data["cohort"] == COACHING]


@pytest.fixture(scope="module")
def default_populations():
    """Generator defaults (coach_effect_sd=0.10), 2 x 20,000 spells, seeds 0-2."""
    return {seed: anker.simulate_population(n_per_cohort=20_000, seed=seed) for seed in (0, 1, 2)}


@pytest.fixture(scope="module")
def null_populations():
    """No coach effects at all (coach_effect_sd=0), seeds 100-102."""
    return [anker.simulate_population(n_per_cohort=20_000, seed=seed, coach_effect_sd=0.0)
            for seed in (100, 101, 102)]


# ---- O, E and the CI by hand ------------------------------------------------------------------
def test_observed_expected_and_ci_by_hand_on_a_tiny_example(fitted):
    df, bd = fitted
    # six clients: exits before, at and after the horizon, and censored spells
    rows = [df[(df["exited"] == 1) & (df["duration_days"] < 100)].index[0],
            df[(df["exited"] == 1) & (df["duration_days"] > 200)
               & (df["duration_days"] <= 300)].index[0],
            df[(df["exited"] == 0)].index[0],
            df[(df["exited"] == 1) & (df["duration_days"] > 300)].index[0],
            df[(df["exited"] == 1) & (df["duration_days"] < 60)].index[1],
            df[(df["exited"] == 0)].index[1]]
    tiny = df.loc[rows].assign(coach_id=["A", "A", "A", "B", "B", "B"])
    horizon = 300
    res = anker.outcome_by_coach(tiny, case_mix=bd, horizon=horizon, min_clients=1)

    # by hand: O counts exits within the horizon; E sums H(min(duration, horizon) | x),
    # each H read from the public predict_cumulative_hazard one row at a time
    exits = (tiny["exited"] == 1) & (tiny["duration_days"] <= horizon)
    cumhaz = [float(bd.predict_cumulative_hazard(tiny.loc[[i]],
                                                 times=[min(d, horizon)]).iloc[0, 0])
              for i, d in tiny["duration_days"].items()]
    # A: exits on a day < 100 and in (200, 300], one censored -> O = 2;
    # B: an exit after the horizon (not counted), one < 60, one censored -> O = 1
    for coach, members, count in (("A", slice(0, 3), 2), ("B", slice(3, 6), 1)):
        row = res.table.loc[coach]
        assert row["observed"] == exits.iloc[members].sum() == count
        assert row["expected"] == pytest.approx(sum(cumhaz[members]), rel=1e-12)
        assert row["oe_ratio"] == pytest.approx(count / row["expected"])
        # exact Poisson CI: chi2(0.025; 2 O) / 2 and chi2(0.975; 2 O + 2) / 2, over E
        assert row["oe_ci_low"] == pytest.approx(
            stats.chi2.ppf(0.025, 2 * count) / 2 / row["expected"])
        assert row["oe_ci_high"] == pytest.approx(
            stats.chi2.ppf(0.975, 2 * count + 2) / 2 / row["expected"])
        assert row["z"] == pytest.approx((count - res.target * row["expected"])
                                         / np.sqrt(res.target * row["expected"]))
    assert res.null_dispersion == 1.0
    assert list(res.table.index) == ["A", "B"] and res.table.index.name == "coach_id"


def test_oe_confidence_interval_matches_the_garwood_table_and_statsmodels():
    low, high = oe_confidence_interval([0, 3, 40], [2.0, 1.0, 35.5])
    # Garwood (1936) table: O = 3 gives (0.6187, 8.7673); O = 0 gives (0, 3.689) / E
    assert (round(low[1], 4), round(high[1], 4)) == (0.6187, 8.7673)
    assert low[0] == 0 and high[0] == pytest.approx(-np.log(0.025) / 2.0)
    for i, (count, exposure) in enumerate([(0, 2.0), (3, 1.0), (40, 35.5)]):
        ref = confint_poisson(count, exposure, method="exact-c", alpha=0.05)
        assert (low[i], high[i]) == pytest.approx(tuple(map(float, ref)), rel=1e-9)


def test_logistic_case_mix_sums_outcomes_and_probabilities(small_population):
    df = small_population.data
    amt = anker.LabourMarketTest(features=FEW).fit(df)
    res = anker.outcome_by_coach(df, group_col="office", case_mix=amt)
    p = amt.predict_proba(df)
    by_office = pd.DataFrame({"y": df["work_within_6m"], "p": p, "office": df["office"]})
    sums = by_office.groupby("office")[["y", "p"]].sum()
    assert np.allclose(res.table["observed"], sums["y"].reindex(res.table.index))
    assert np.allclose(res.table["expected"], sums["p"].reindex(res.table.index))
    # quasi-Poisson dispersion: the binary variance sum p(1 - p) over sum p
    assert res.null_dispersion == pytest.approx(float((p * (1 - p)).sum() / p.sum()))
    assert res.outcome == "work_within_6m" and res.case_mix == "LabourMarketTest"
    row = res.table.iloc[0]
    phi = res.null_dispersion
    low, _ = oe_confidence_interval([row["observed"] / phi], [row["expected"] / phi])
    assert row["oe_ci_low"] == pytest.approx(low[0])


def test_weibull_case_mix_uses_its_own_cumulative_hazard(fitted):
    df, _ = fitted
    wb = anker.BenefitDurationTest(features=FEW, model="weibull").fit(df)
    res = anker.outcome_by_coach(df, case_mix=wb, horizon=182)
    follow = np.minimum(df["duration_days"], 182)
    one_time = [float(wb.predict_cumulative_hazard(df.loc[[i]], times=[t]).iloc[0, 0])
                for i, t in follow.head(25).items()]
    first = df.head(25).assign(coach_id="first")
    assert anker.outcome_by_coach(first, case_mix=wb, horizon=182, min_clients=1) \
        .table.loc["first", "expected"] == pytest.approx(sum(one_time))
    assert res.table["observed"].sum() == ((df["exited"] == 1) & (df["duration_days"] <= 182)).sum()


def test_horizon_none_counts_every_exit_and_ratio_is_one_in_sample(fitted):
    df, bd = fitted
    res = anker.outcome_by_coach(df, case_mix=bd, horizon=None)
    assert res.table["observed"].sum() == df["exited"].sum()
    # the Breslow baseline makes sum E equal the number of exits on the fitting data
    assert res.table["expected"].sum() == pytest.approx(df["exited"].sum(), rel=1e-6)


# ---- the array functions ------------------------------------------------------------------------
def test_funnel_limits_cover_poisson_counts_at_their_nominal_rate():
    expected = np.linspace(15, 300, 3_000)
    for coverage, tol in ((0.95, 5e-4), (0.998, 5e-5)):
        low, high = funnel_limits(expected, coverage=coverage)
        # exact P(O / E outside) for O ~ Poisson(E): the interpolation makes it
        # oscillate around the nominal rate as E grows, equal to it on average
        outside = (stats.poisson.cdf(np.ceil(low * expected) - 1, expected)
                   + stats.poisson.sf(np.floor(high * expected), expected))
        assert abs(outside.mean() - (1 - coverage)) < tol
        assert outside.max() < 1.5 * (1 - coverage)
    # large E: the normal approximation 1 +- z / sqrt(E)
    low, high = funnel_limits([40_000.0], coverage=0.95)
    assert high[0] == pytest.approx(1 + 1.959964 / 200, abs=2e-4)
    assert low[0] == pytest.approx(1 - 1.959964 / 200, abs=2e-4)
    with pytest.raises(ValueError, match="coverage"):
        funnel_limits([1.0], coverage=1.0)
    with pytest.raises(ValueError, match="target"):
        funnel_limits([1.0], target=0.0)


def test_shrinkage_moment_estimate_equals_the_variance_identity_for_equal_expected():
    rng = np.random.default_rng(3)
    observed = rng.poisson(50, 40)
    eb = gamma_poisson_shrinkage(observed, np.full(40, 50.0))
    ratio = observed / 50.0
    mu = ratio.mean()
    # with equal E: Var(O/E) = tau2 + mu / E, so tau2 = sample variance - mu / E
    assert eb["mu"] == pytest.approx(mu)
    assert eb["tau2"] == pytest.approx(max(0.0, ratio.var(ddof=1) - mu / 50.0))


def test_shrinkage_recovers_the_between_group_variance_and_covers_true_ratios():
    rng = np.random.default_rng(11)
    k, tau2 = 5_000, 0.04
    expected = rng.uniform(10, 200, k)
    theta = rng.gamma(1 / tau2, tau2, k)  # mean 1, variance tau2
    observed = rng.poisson(theta * expected)
    eb = gamma_poisson_shrinkage(observed, expected)
    assert eb["tau2"] == pytest.approx(tau2, rel=0.1)
    covered = np.mean((eb["ci_low"] <= theta) & (theta <= eb["ci_high"]))
    assert 0.93 < covered < 0.97
    # shrinkage lowers the error against the truth
    assert np.mean((eb["shrunken"] - theta) ** 2) < np.mean((observed / expected - theta) ** 2)


def test_shrinkage_without_between_group_variance_returns_the_overall_ratio():
    eb = gamma_poisson_shrinkage([100, 100, 100], [100.0, 100.0, 100.0])
    assert eb["tau2"] == 0.0
    assert np.all(eb["shrunken"] == 1.0) and np.all(eb["weight"] == 0.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.floats(0.5, 300)), min_size=2, max_size=30))
def test_intervals_hold_the_ratio_and_shrinkage_lies_between_own_and_overall(pairs):
    observed = np.array([p[0] for p in pairs], float)
    expected = np.array([p[1] for p in pairs], float)
    low, high = oe_confidence_interval(observed, expected)
    ratio = observed / expected
    assert np.all(low <= ratio + 1e-12) and np.all(ratio <= high)
    eb = gamma_poisson_shrinkage(observed, expected)
    lo, hi = np.minimum(ratio, eb["mu"]), np.maximum(ratio, eb["mu"])
    assert np.all((eb["shrunken"] >= lo - 1e-9) & (eb["shrunken"] <= hi + 1e-9))
    assert np.all((eb["weight"] >= 0) & (eb["weight"] <= 1))


# ---- the key check: ranking the true coach effects ------------------------------------------------
def _spearman(table: pd.DataFrame, truth: dict, column: str) -> float:
    return float(stats.spearmanr(table[column], pd.Series(truth).reindex(table.index))[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_case_mix_adjusted_ratio_ranks_true_coach_effects_better_than_raw_exit_rate(
        default_populations, seed):
    pop = default_populations[seed]
    df = pop.data[pop.data["cohort"] == COACHING]
    # case-mix model on the same data, without coach_id, with the inflow features
    bd = anker.BenefitDurationTest().fit(df)
    table = anker.outcome_by_coach(df, group_col="coach_id", case_mix=bd).table
    raw = _spearman(table, pop.truth.coach_effects, "raw_rate")
    oe = _spearman(table, pop.truth.coach_effects, "oe_ratio")
    shrunken = _spearman(table, pop.truth.coach_effects, "shrunken_oe")
    # seeds 0-19 (coach_effect_sd=0.10): raw 0.57, O/E 0.72, shrunken 0.72 on average;
    # the gap O/E - raw was at least 0.088 in each
    assert oe > raw + 0.05
    assert shrunken > raw + 0.05
    # caseloads in the generator are alike, so shrinkage keeps nearly the same order
    assert shrunken > oe - 0.01


def test_shrinkage_helps_when_caseloads_differ(default_populations):
    mse_oe, mse_shrunken, rank_oe, rank_shrunken = [], [], [], []
    for seed, pop in default_populations.items():
        df = pop.data[pop.data["cohort"] == COACHING]
        rng = np.random.default_rng(seed)
        # keep a coach-specific share (5-100 %) of each caseload
        coaches = np.sort(df["coach_id"].unique())
        share = pd.Series(rng.uniform(0.05, 1, coaches.size), index=coaches)
        df = df[rng.random(len(df)) < share.reindex(df["coach_id"]).to_numpy()]
        table = anker.outcome_by_coach(df, case_mix=anker.BenefitDurationTest().fit(df)).table
        truth = pd.Series(pop.truth.coach_effects).reindex(table.index)
        mse_oe.append(np.mean((np.log(table["oe_ratio"].clip(lower=1e-3)) - truth) ** 2))
        mse_shrunken.append(np.mean((np.log(table["shrunken_oe"]) - truth) ** 2))
        rank_oe.append(_spearman(table, pop.truth.coach_effects, "oe_ratio"))
        rank_shrunken.append(_spearman(table, pop.truth.coach_effects, "shrunken_oe"))
    assert all(s < 0.5 * o for s, o in zip(mse_shrunken, mse_oe, strict=True))
    assert np.mean(rank_shrunken) > np.mean(rank_oe)


def test_without_coach_effects_few_coaches_fall_outside_the_limits(null_populations):
    n_coaches = outside_95 = outside_998 = 0
    dispersions = []
    for pop in null_populations:
        for _, df in pop.data.groupby("cohort"):
            res = anker.outcome_by_coach(df, case_mix=anker.BenefitDurationTest().fit(df))
            n_coaches += len(res.table)
            outside_95 += int(res.table["outside_95"].sum())
            outside_998 += int(res.table["outside_998"].sum())
            dispersions.append(res.dispersion)
    assert n_coaches > 550
    # 5 % and 0.2 % expected: about 30 and 1.2 of ~600 coaches
    assert 0.025 < outside_95 / n_coaches < 0.085
    assert outside_998 <= 5
    assert 0.8 < np.mean(dispersions) < 1.2


def test_without_coach_effects_the_binary_outcome_limits_are_calibrated(null_populations):
    n_coaches = outside_95 = 0
    for pop in null_populations:
        df = pop.data[pop.data["cohort"] == COACHING]
        res = anker.outcome_by_coach(df, case_mix=anker.LabourMarketTest().fit(df))
        n_coaches += len(res.table)
        outside_95 += int(res.table["outside_95"].sum())
    # the quasi-Poisson scaling matters: plain Poisson limits left 0 of ~360 outside
    assert 0.02 < outside_95 / n_coaches < 0.09


# ---- groups, labels and bad input ---------------------------------------------------------------
def test_small_groups_are_reported_not_flagged_and_missing_labels_are_counted(fitted):
    df, bd = fitted
    df = df.copy()
    df.loc[df.index[:7], "coach_id"] = np.nan
    df.loc[df.index[7:12], "coach_id"] = "tiny"
    # make the tiny coach extreme: all its clients left on day 1
    df.loc[df.index[7:12], ["duration_days", "exited"]] = [1, 1]
    with pytest.warns(UserWarning, match="7 row"):
        res = anker.outcome_by_coach(df, case_mix=bd)
    assert res.n_missing_group == 7
    assert res.table["n_clients"].sum() == len(df) - 7
    tiny = res.table.loc["tiny"]
    assert tiny["too_small"] and tiny["outside_998"] and not tiny["flag"]
    assert "tiny" not in res.flagged.index
    assert "too small" in repr(res)


def test_target_one_judges_against_the_case_mix_models_standard(fitted):
    df, bd = fitted
    res = anker.outcome_by_coach(df, case_mix=bd, target=1.0)
    row = res.table.iloc[0]
    assert res.target == 1.0
    assert row["z"] == pytest.approx((row["observed"] - row["expected"]) / np.sqrt(row["expected"]))
    limits = res.control_limits([row["expected"]])
    assert limits["limit998_high"].iloc[0] == pytest.approx(row["limit998_high"])


@pytest.mark.parametrize("drop", ["coach_id", "duration_days", "exited", "age"])
def test_missing_columns_are_named(fitted, drop):
    df, bd = fitted
    with pytest.raises(anker.AnkerDataError, match=drop) as info:
        anker.outcome_by_coach(df.drop(columns=drop), case_mix=bd)
    assert drop in info.value.columns


def test_bad_values_and_arguments_give_clear_errors(fitted):
    df, bd = fitted
    with pytest.raises(TypeError, match="case_mix"):
        anker.outcome_by_coach(df)
    with pytest.raises(TypeError, match="case_mix"):
        anker.outcome_by_coach(df, case_mix="cox")
    with pytest.raises(ValueError, match="not fitted"):
        anker.outcome_by_coach(df, case_mix=anker.BenefitDurationTest())
    with pytest.raises(ValueError, match="office"):
        anker.outcome_by_coach(df, group_col="office",
                               case_mix=anker.BenefitDurationTest(features=["age", "office"]).fit(df))
    bad = df.copy()
    bad.loc[bad.index[0], "duration_days"] = np.nan
    with pytest.raises(anker.AnkerDataError, match="duration_days"):
        anker.outcome_by_coach(bad, case_mix=bd)
    bad = df.copy()
    bad.loc[bad.index[0], "exited"] = 2
    with pytest.raises(anker.AnkerDataError, match="exited"):
        anker.outcome_by_coach(bad, case_mix=bd)
    with pytest.raises(anker.AnkerDataError, match="coach_id"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            anker.outcome_by_coach(df.assign(coach_id=None), case_mix=bd)
    for kwargs, name in (({"min_clients": 0}, "min_clients"), ({"level": 1.5}, "level"),
                         ({"horizon": -1}, "horizon"), ({"target": -1.0}, "target")):
        with pytest.raises(ValueError, match=name):
            anker.outcome_by_coach(df, case_mix=bd, **kwargs)
    with pytest.raises(TypeError, match="DataFrame"):
        anker.outcome_by_coach(df.to_dict(), case_mix=bd)


# ---- the funnel plot -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def outcome_with_outliers():
    _, df = _coaching(6_000, 5, coach_effect_sd=0.35)
    return anker.outcome_by_coach(df, case_mix=anker.BenefitDurationTest().fit(df))


def test_funnel_renders_points_limits_and_flags(outcome_with_outliers):
    res = outcome_with_outliers
    assert isinstance(res, CoachOutcome) and res.table["flag"].any()
    fig = anker.plots.funnel(res)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    points = sum(len(c.get_offsets()) for c in ax.collections)
    assert points == len(res.table)
    flagged = next(c for c in ax.collections if c.get_label().startswith("outside 99.8"))
    assert len(flagged.get_offsets()) == int(res.table["flag"].sum())
    assert len(ax.lines) == 5  # two limit pairs and the target line
    assert len(ax.texts) == min(10, int(res.table["flag"].sum()))


def test_funnel_draws_shrunken_ratios_and_refuses_unknown_ones(outcome_with_outliers):
    fig = anker.plots.funnel(outcome_with_outliers, ratio="shrunken_oe", max_labels=0)
    assert "shrunken" in fig.axes[0].get_ylabel() and not fig.axes[0].texts
    assert outcome_with_outliers.plot().axes
    with pytest.raises(ValueError, match="ratio"):
        anker.plots.funnel(outcome_with_outliers, ratio="raw_rate")


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_input_gives_a_table_that_adds_up_or_a_clear_error(fitted, data):
    df, bd = fitted
    n = data.draw(st.integers(1, 40))
    rows = df.sample(n, random_state=data.draw(st.integers(0, 10_000))).copy()
    rows["coach_id"] = data.draw(st.lists(st.sampled_from(["A", "B", "C", None, ""]),
                                          min_size=n, max_size=n))
    durations, events = [0, 1, 30, 365, 400], [0, 1]
    if data.draw(st.booleans()):  # half the cases may hold bad values
        durations, events = durations + [-1, np.nan], events + [2]
    rows["duration_days"] = data.draw(st.lists(st.sampled_from(durations),
                                               min_size=n, max_size=n))
    rows["exited"] = data.draw(st.lists(st.sampled_from(events), min_size=n, max_size=n))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = anker.outcome_by_coach(rows, case_mix=bd, min_clients=2)
    except ValueError as exc:  # AnkerDataError is a ValueError
        assert str(exc)
        return
    labelled = rows["coach_id"].notna() & (rows["coach_id"] != "")
    assert res.n_missing_group == int((~labelled).sum())
    assert res.table["n_clients"].sum() == int(labelled.sum())
    exits = (rows["exited"] == 1) & (rows["duration_days"] <= 365) & labelled
    assert res.table["observed"].sum() == int(exits.sum())
    assert (res.table["expected"] >= 0).all()
