"""Tests for anker.survival.

Expected values come from lifelines (called here), from R's survival package
through tests/data/survival_reference.R (values in survival_reference.json),
from hand computations written out in the tests, and from bootstrap
simulations compared with analytic standard errors.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test as lifelines_logrank
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import restricted_mean_survival_time

from anker.survival import (
    bootstrap_km_rmst,
    bootstrap_refit,
    censoring_survival,
    kaplan_meier,
    logrank_test,
    multiplier_bootstrap,
    percentile_ci,
    rmst,
    rmst_curve_area,
    rmst_influence,
    survival_at,
    survival_at_time,
)
from anker.survival.bootstrap import _group_cells, _rmst_from_cells

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "survival_reference.json").read_text())


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "rossi.csv")
    # the case weights of survival_reference.R
    frame["w"] = 1 + (frame["prio"] % 3) / 2
    return frame


@pytest.fixture(scope="module")
def waltons() -> pd.DataFrame:
    return pd.read_csv(DATA / "waltons.csv")


def _reference_data(name: str, rossi: pd.DataFrame, waltons: pd.DataFrame):
    """(durations, events, weights) of a case in survival_reference.R."""
    if name.startswith("rossi"):
        weights = rossi["w"].to_numpy() if "weighted" in name else None
        return rossi["week"].to_numpy(), rossi["arrest"].to_numpy(), weights
    group = waltons[waltons["group"] == ("control" if "control" in name else "miR-137")]
    return group["T"].to_numpy(), group["E"].to_numpy(), None


def _simulate(n: int, *, seed: int, scale: float = 300.0, max_censor: float = 700.0):
    """Exponential spells in whole calendar days, uniformly censored."""
    rng = np.random.default_rng(seed)
    spell = np.ceil(rng.exponential(scale, n))
    censor = np.ceil(rng.uniform(100, max_censor, n))
    return np.minimum(spell, censor), (spell <= censor).astype(float)


def _lifelines_km(durations, events, weights=None) -> KaplanMeierFitter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines warns about non-integer weights
        return KaplanMeierFitter().fit(durations, events, weights=weights)


# --------------------------------------------------------------------------- Kaplan-Meier
@pytest.mark.parametrize("name", sorted(REFERENCE["kaplan_meier"]))
def test_kaplan_meier_matches_r_survfit(name, rossi, waltons):
    expected = REFERENCE["kaplan_meier"][name]
    durations, events, weights = _reference_data(name, rossi, waltons)
    km = kaplan_meier(durations, events, weights=weights)
    np.testing.assert_allclose(km.times, expected["time"])
    np.testing.assert_allclose(km.n_at_risk, expected["n_risk"], rtol=1e-12)
    np.testing.assert_allclose(km.n_events, expected["n_event"], rtol=1e-12)
    np.testing.assert_allclose(km.n_censored, expected["n_censor"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(km.survival, expected["surv"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(km.se, expected["se_surv"], rtol=1e-10, atol=1e-14)
    assert km.weighted is (weights is not None)


@pytest.mark.parametrize("weighted", [False, True])
def test_kaplan_meier_matches_lifelines(rossi, weighted):
    weights = rossi["w"] if weighted else None
    km = kaplan_meier(rossi["week"], rossi["arrest"], weights=weights)
    fitter = _lifelines_km(rossi["week"], rossi["arrest"], weights)
    np.testing.assert_allclose(survival_at(km, km.times), fitter.predict(km.times).to_numpy(), atol=1e-12)
    grid = np.linspace(0, 60, 241)
    np.testing.assert_allclose(survival_at(km, grid), fitter.predict(grid).to_numpy(), atol=1e-12)


def test_kaplan_meier_by_hand():
    # at risk 5, 4, 2, 1; events 1, 1, 1, 0 -> S = 4/5, 4/5 * 3/4, 0.6 * 1/2, 0.3
    km = kaplan_meier([2, 3, 3, 5, 8], [1, 1, 0, 1, 0])
    np.testing.assert_allclose(km.n_at_risk, [5, 4, 2, 1])
    np.testing.assert_allclose(km.survival, [0.8, 0.6, 0.3, 0.3])
    # Greenwood at t=3: 0.6^2 * (1/(5*4) + 1/(4*3))
    assert km.variance[1] == pytest.approx(0.36 * (1 / 20 + 1 / 12))
    assert survival_at(km, [1.99, 2.0]).tolist() == [1.0, 0.8]


def test_zero_weights_equal_dropping_rows(rossi):
    weights = (rossi["prio"] > 1).astype(float).to_numpy()
    kept = rossi[weights > 0]
    full = rmst(rossi["week"], rossi["arrest"], 40, weights=weights)
    assert full.estimate == pytest.approx(rmst(kept["week"], kept["arrest"], 40).estimate, rel=1e-12)
    assert full.se == pytest.approx(rmst(kept["week"], kept["arrest"], 40).se, rel=1e-12)


# --------------------------------------------------------------------------- RMST
@pytest.mark.parametrize("name", sorted(REFERENCE["kaplan_meier"]))
def test_rmst_and_se_match_r(name, rossi, waltons):
    expected = REFERENCE["kaplan_meier"][name]
    durations, events, weights = _reference_data(name, rossi, waltons)
    estimate, se = rmst(durations, events, expected["horizon"], weights=weights)
    assert estimate == pytest.approx(expected["rmean"], rel=1e-12)
    assert se == pytest.approx(expected["se_rmean"], rel=1e-10)
    assert se == pytest.approx(expected["se_rmean_by_hand"], rel=1e-10)


@pytest.mark.parametrize("horizon", [5, 20, 37.5, 52])
@pytest.mark.parametrize("weighted", [False, True])
def test_rmst_estimate_matches_lifelines(rossi, horizon, weighted):
    weights = rossi["w"] if weighted else None
    fitter = _lifelines_km(rossi["week"], rossi["arrest"], weights)
    expected = restricted_mean_survival_time(fitter, t=horizon)
    assert rmst(rossi["week"], rossi["arrest"], horizon, weights=weights).estimate == pytest.approx(
        expected, abs=1e-6
    )


@pytest.mark.parametrize("group", ["control", "miR-137"])
def test_rmst_estimate_matches_lifelines_waltons(waltons, group):
    part = waltons[waltons["group"] == group]
    expected = restricted_mean_survival_time(_lifelines_km(part["T"], part["E"]), t=60)
    assert rmst(part["T"], part["E"], 60).estimate == pytest.approx(expected, abs=1e-6)


def test_rmst_by_hand():
    # S = 1 on [0,2), 0.8 on [2,3), 0.6 on [3,5), 0.3 on [5,6]
    estimate, se = rmst([2, 3, 3, 5, 8], [1, 1, 0, 1, 0], horizon=6)
    assert estimate == pytest.approx(2 + 0.8 + 2 * 0.6 + 0.3)
    # A_j from t_j to 6: 2.3, 1.5, 0.3; terms 1/(5*4), 1/(4*3), 1/(2*1)
    assert se**2 == pytest.approx(2.3**2 / 20 + 1.5**2 / 12 + 0.3**2 / 2)


def test_rmst_se_agrees_with_refit_bootstrap():
    durations, events = _simulate(400, seed=11)
    _, se = rmst(durations, events, 365)
    replicates = bootstrap_refit(
        lambda d, e: rmst(d, e, 365).estimate, durations, events, n_boot=1500, seed=12
    )
    assert replicates.std(ddof=1) == pytest.approx(se, rel=0.10)


def test_rmst_curve_area():
    # hand: 1 * 1 + 0.5 * 2 + 0.25 * 1
    assert rmst_curve_area([1.0, 3.0], [0.5, 0.25], horizon=4) == pytest.approx(2.25)
    # times beyond the horizon do not count; a curve starting at 0 drops at once
    assert rmst_curve_area([0.0, 3.0, 9.0], [0.5, 0.25, 0.0], horizon=4) == pytest.approx(1.75)
    batch = rmst_curve_area([1.0, 3.0], np.array([[0.5, 0.25], [1.0, 1.0]]), horizon=4)
    np.testing.assert_allclose(batch, [2.25, 4.0])


def test_rmst_curve_area_equals_rmst_on_km(rossi):
    km = kaplan_meier(rossi["week"], rossi["arrest"])
    assert rmst_curve_area(km.times, km.survival, 45.5) == pytest.approx(
        rmst(rossi["week"], rossi["arrest"], 45.5).estimate, rel=1e-12
    )


# --------------------------------------------------------------------------- influence
@pytest.mark.parametrize("name", sorted(REFERENCE["rmst_influence"]))
def test_rmst_influence_matches_r_residuals(name, rossi):
    expected = REFERENCE["rmst_influence"][name]
    weights = rossi["w"] if "weighted" in name else None
    influence = rmst_influence(rossi["week"], rossi["arrest"], expected["horizon"], weights=weights)
    np.testing.assert_allclose(influence / len(rossi), expected["residuals"], rtol=1e-9, atol=1e-14)


def test_rmst_influence_gives_greenwood_variance(waltons):
    for group in ("control", "miR-137"):
        part = waltons[waltons["group"] == group]
        n = len(part)
        # horizon 62: miR-137's curve reaches 0 (Y == d) before it
        influence = rmst_influence(part["T"], part["E"], 62)
        assert influence.sum() == pytest.approx(0, abs=1e-9)
        assert np.sum(influence**2) / n**2 == pytest.approx(rmst(part["T"], part["E"], 62).se ** 2, rel=1e-10)


def test_rmst_influence_is_derivative_in_case_weights(rossi):
    # IF_i / n = d estimate / d w_i: compare with a central finite difference
    durations, events = rossi["week"].to_numpy(), rossi["arrest"].to_numpy()
    influence = rmst_influence(durations, events, 40)
    step = 1e-6
    for person in (0, 3, 57, 200):
        up, down = np.ones(len(rossi)), np.ones(len(rossi))
        up[person] += step
        down[person] -= step
        slope = (rmst(durations, events, 40, weights=up).estimate - rmst(durations, events, 40, weights=down).estimate) / (2 * step)
        assert influence[person] / len(rossi) == pytest.approx(slope, rel=1e-5, abs=1e-9)


# --------------------------------------------------------------------------- log-rank
@pytest.mark.parametrize("name", sorted(REFERENCE["logrank"]))
def test_logrank_matches_r_survdiff(name, rossi, waltons):
    expected = REFERENCE["logrank"][name]
    if name == "waltons_group":
        result = logrank_test(waltons["T"], waltons["E"], waltons["group"])
    else:
        groups = rossi["fin"] if name == "rossi_fin" else 2 * rossi["fin"] + rossi["race"]
        result = logrank_test(rossi["week"], rossi["arrest"], groups)
    assert result.statistic == pytest.approx(expected["chisq"], rel=1e-10)
    assert result.degrees_of_freedom == expected["df"]
    np.testing.assert_allclose(result.observed, expected["observed"])
    np.testing.assert_allclose(result.expected, expected["expected"], rtol=1e-10)


def test_logrank_two_groups_matches_lifelines(waltons):
    a, b = (waltons[waltons["group"] == g] for g in ("control", "miR-137"))
    expected = lifelines_logrank(a["T"], b["T"], a["E"], b["E"])
    result = logrank_test(waltons["T"], waltons["E"], waltons["group"])
    assert result.statistic == pytest.approx(expected.test_statistic, abs=1e-6)
    assert result.p_value == pytest.approx(expected.p_value, abs=1e-6)


def test_logrank_k_groups_matches_lifelines(rossi):
    groups = 2 * rossi["fin"] + rossi["race"]
    expected = multivariate_logrank_test(rossi["week"], groups, rossi["arrest"])
    result = logrank_test(rossi["week"], rossi["arrest"], groups)
    assert result.statistic == pytest.approx(expected.test_statistic, abs=1e-6)
    assert result.p_value == pytest.approx(expected.p_value, abs=1e-6)
    assert result.degrees_of_freedom == 3


# --------------------------------------------------------------------------- bootstrap engine
def test_km_bootstrap_agrees_with_refit_and_greenwood():
    # small data: the fast door against the slow one
    d0, e0 = _simulate(150, seed=1)
    d1, e1 = _simulate(150, seed=2, scale=220)
    durations, events = np.concatenate([d0, d1]), np.concatenate([e0, e1])
    groups = np.repeat(["casemanagement_2004", "coaching_2007"], 150)
    fast = bootstrap_km_rmst(durations, events, groups, 300, n_boot=2000, seed=3)

    def difference(d, e, g):
        first = g == "casemanagement_2004"
        return rmst(d[~first], e[~first], 300).estimate - rmst(d[first], e[first], 300).estimate

    slow = bootstrap_refit(difference, durations, events, groups, n_boot=1500, seed=4, strata=groups)
    assert fast.difference_replicates.std(ddof=1) == pytest.approx(slow.std(ddof=1), rel=0.10)
    assert fast.difference_replicates.std(ddof=1) == pytest.approx(np.hypot(*fast.se), rel=0.10)
    np.testing.assert_allclose(fast.rmst, [rmst(d0, e0, 300).estimate, rmst(d1, e1, 300).estimate])
    assert fast.difference == pytest.approx(fast.rmst[1] - fast.rmst[0])


@pytest.mark.parametrize("continuous", [False, True])
def test_km_bootstrap_se_equals_greenwood_on_large_data(continuous):
    # few distinct times take the multinomial-over-cells path, continuous times the resampling path
    n = 3000
    d0, e0 = _simulate(n, seed=5)
    d1, e1 = _simulate(n, seed=6, scale=250)
    durations = np.concatenate([d0, d1])
    if continuous:
        durations = durations - np.random.default_rng(7).uniform(0, 1, 2 * n)
    else:
        durations = np.ceil(durations / 7) * 7  # whole weeks: few cells per person
    n_cells = _group_cells(durations[:n], np.concatenate([e0, e1])[:n], 365)[2]
    assert (16 * n_cells < n) is not continuous  # the path this case is meant to take
    groups = np.repeat([0, 1], n)
    boot = bootstrap_km_rmst(durations, np.concatenate([e0, e1]), groups, 365, n_boot=1000, seed=8)
    np.testing.assert_allclose(boot.rmst_replicates.std(axis=0, ddof=1), boot.se, rtol=0.10)
    # the replicates centre on the estimate
    assert abs(boot.rmst_replicates.mean(axis=0) - boot.rmst).max() < 0.2 * boot.se.max()


def test_km_bootstrap_reproducible_and_reference():
    durations, events = _simulate(300, seed=9)
    groups = np.repeat(["a", "b"], 150)
    first = bootstrap_km_rmst(durations, events, groups, 200, n_boot=50, seed=10)
    again = bootstrap_km_rmst(durations, events, groups, 200, n_boot=50, seed=10)
    other = bootstrap_km_rmst(durations, events, groups, 200, n_boot=50, seed=11)
    np.testing.assert_array_equal(first.rmst_replicates, again.rmst_replicates)
    assert not np.array_equal(first.rmst_replicates, other.rmst_replicates)
    flipped = bootstrap_km_rmst(durations, events, groups, 200, n_boot=5, seed=0, reference="b")
    assert flipped.groups.tolist() == ["b", "a"]
    assert flipped.difference == pytest.approx(-first.difference)


def test_multiplier_bootstrap_of_a_mean_matches_analytic_se():
    values = np.random.default_rng(20).gamma(2.0, 50.0, size=2000)
    influence = values - values.mean()
    replicates = multiplier_bootstrap(influence, n_boot=2000, seed=21)
    assert replicates.std(ddof=1) == pytest.approx(values.std() / np.sqrt(values.size), rel=0.10)
    # exactly the resampled mean minus the mean: one replicate by hand
    rng = np.random.default_rng(22)
    expected = influence[rng.integers(0, 2000, 2000, dtype=np.uint32)].mean()
    assert multiplier_bootstrap(influence, n_boot=1, seed=22)[0] == pytest.approx(expected, abs=1e-12)


def test_multiplier_bootstrap_of_rmst_matches_greenwood():
    durations, events = _simulate(3000, seed=23)
    influence = rmst_influence(durations, events, 365)
    replicates = multiplier_bootstrap(influence, n_boot=2000, seed=24)
    assert replicates.std(ddof=1) == pytest.approx(rmst(durations, events, 365).se, rel=0.10)


def test_multiplier_bootstrap_chunks_columns_and_strata():
    rng = np.random.default_rng(25)
    influence = rng.normal(size=(500, 2))
    whole = multiplier_bootstrap(influence, n_boot=30, seed=26)
    assert whole.shape == (30, 2)
    for chunk in (1, 7, 30):
        np.testing.assert_allclose(multiplier_bootstrap(influence, n_boot=30, seed=26, chunk=chunk), whole)
    np.testing.assert_allclose(multiplier_bootstrap(influence[:, 0], n_boot=30, seed=26), whole[:, 0])
    # a stratum keeps its size: values constant within strata never move
    strata = np.repeat(["x", "y", "z"], [100, 150, 250])
    constant = np.select([strata == "x", strata == "y"], [5.0, -1.0], 0.0)
    np.testing.assert_allclose(multiplier_bootstrap(constant, n_boot=20, seed=27, strata=strata), 0, atol=1e-12)
    assert np.ptp(multiplier_bootstrap(constant, n_boot=20, seed=27)) > 0


def test_bootstrap_refit_strata_keep_their_sizes():
    labels = np.repeat(["a", "b"], [30, 70])
    counts = bootstrap_refit(lambda g: np.sum(g == "a"), labels, n_boot=40, seed=30, strata=labels)
    assert set(counts.tolist()) == {30.0}
    free = bootstrap_refit(lambda g: np.sum(g == "a"), labels, n_boot=40, seed=30)
    assert len(set(free.tolist())) > 1
    np.testing.assert_array_equal(
        free, bootstrap_refit(lambda g: np.sum(g == "a"), labels, n_boot=40, seed=30)
    )


def test_percentile_ci():
    replicates = np.random.default_rng(31).normal(size=(1001, 2))
    low, high = percentile_ci(replicates, level=0.9)
    np.testing.assert_allclose(low, np.quantile(replicates, 0.05, axis=0))
    np.testing.assert_allclose(high, np.quantile(replicates, 0.95, axis=0))
    assert percentile_ci(np.arange(11.0), level=0.8) == pytest.approx((1.0, 9.0))


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("durations", "events", "match"),
    [
        ([1, 2, 3], [1, 0], "length"),
        ([1, np.nan, 3], [1, 0, 1], "durations contains 1 missing"),
        ([1, -2, 3], [1, 0, 1], "durations must be >= 0"),
        ([1, 2, 3], [1, 2, 0], "events must be 0 or 1"),
        ([1, 2, 3], [1, np.nan, 0], "events contains 1 missing"),
        ([], [], "durations is empty"),
        (["a", "b"], [1, 0], "durations must be numeric"),
    ],
)
def test_bad_survival_data(durations, events, match):
    with pytest.raises(ValueError, match=match):
        kaplan_meier(durations, events)
    with pytest.raises(ValueError, match=match):
        rmst(durations, events, 1)


def test_bad_weights_and_horizon():
    with pytest.raises(ValueError, match="weights must be >= 0"):
        rmst([1, 2], [1, 0], 1, weights=[1, -1])
    with pytest.raises(ValueError, match="weights must hold one value per row"):
        kaplan_meier([1, 2], [1, 0], weights=[1])
    with pytest.raises(ValueError, match="horizon must be a positive"):
        rmst([1, 2], [1, 0], 0)
    with pytest.raises(ValueError, match=r"horizon=40 is beyond the last follow-up time \(largest duration 30"):
        rmst([10, 30], [1, 0], 40)
    with pytest.raises(ValueError, match="in group 'b'"):
        bootstrap_km_rmst([10, 50, 10, 30], [1, 0, 1, 0], ["a", "a", "b", "b"], 40, n_boot=5, seed=0)
    with pytest.raises(ValueError, match="exactly two distinct values, found 3"):
        bootstrap_km_rmst([1, 2, 3], [1, 1, 1], ["a", "b", "c"], 1, n_boot=5, seed=0)
    with pytest.raises(ValueError, match="groups contains 1 missing"):
        logrank_test([1, 2, 3], [1, 1, 1], np.array(["a", None, "b"], dtype=object))
    with pytest.raises(ValueError, match="groups contains 1 missing"):
        bootstrap_km_rmst([1, 2, 3], [1, 1, 1], [0.0, np.nan, 1.0], 1, n_boot=5, seed=0)
    with pytest.raises(ValueError, match="at least two distinct"):
        logrank_test([1, 2], [1, 1], ["a", "a"])
    with pytest.raises(ValueError, match="n_boot"):
        multiplier_bootstrap(np.zeros(3), n_boot=0, seed=0)
    with pytest.raises(ValueError, match="influence contains NaN"):
        multiplier_bootstrap([0.0, np.nan], n_boot=2, seed=0)
    with pytest.raises(ValueError, match="level"):
        percentile_ci(np.arange(5.0), level=95)


# --------------------------------------------------------------------------- properties
spells = st.lists(
    st.tuples(st.integers(0, 60), st.booleans(), st.sampled_from([0.5, 1.0, 2.0])),
    min_size=1,
    max_size=40,
).filter(lambda rows: max(r[0] for r in rows) > 0)


@settings(max_examples=60, deadline=None)
@given(spells, st.floats(0.05, 1.0))
def test_properties_against_lifelines(rows, fraction):
    durations = np.array([r[0] for r in rows], dtype=float)
    events = np.array([r[1] for r in rows], dtype=float)
    weights = np.array([r[2] for r in rows])
    horizon = fraction * durations.max()
    km = kaplan_meier(durations, events, weights=weights)
    assert np.all(np.diff(km.survival) <= 0) and np.all((km.survival >= 0) & (km.survival <= 1))
    estimate, se = rmst(durations, events, horizon, weights=weights)
    assert 0 <= estimate <= horizon + 1e-12 and se >= 0
    fitter = _lifelines_km(durations, events, weights)
    assert estimate == pytest.approx(restricted_mean_survival_time(fitter, t=horizon), abs=1e-6)
    # the bootstrap's cell counts reproduce the estimate on the original data
    event_times, cells, n_cells = _group_cells(durations, events, horizon)
    counts = np.bincount(cells, minlength=n_cells)[None, :]
    assert _rmst_from_cells(event_times, counts, durations.size, horizon)[0] == pytest.approx(
        rmst(durations, events, horizon).estimate, rel=1e-12
    )
    influence = rmst_influence(durations, events, horizon)
    assert influence.sum() == pytest.approx(0, abs=1e-8 * max(1.0, np.abs(influence).max()))
    assert np.sum(influence**2) / durations.size**2 == pytest.approx(
        rmst(durations, events, horizon).se ** 2, rel=1e-9, abs=1e-12
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 100)), max_size=12),
    st.lists(st.integers(-1, 2), max_size=12),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_bad_input_gives_value_error_only(durations, events, horizon):
    # any input either works or raises ValueError: never a crash deep inside numpy
    for call in (
        lambda: kaplan_meier(durations, events),
        lambda: rmst(durations, events, horizon),
        lambda: rmst_influence(durations, events, horizon),
        lambda: logrank_test(durations, events, [i % 2 for i in range(len(durations))]),
    ):
        try:
            call()
        except ValueError:
            pass


# --------------------------------------------------------------------------- views of the one Kaplan-Meier
@pytest.mark.parametrize("time", [10, 26, 52, 60])
def test_survival_at_time_per_group_equals_lifelines(rossi, time):
    codes = rossi["prio"].clip(upper=3).to_numpy()
    survival, var_log = survival_at_time(rossi["week"], rossi["arrest"], time, groups=codes)
    for group in range(4):
        part = rossi[codes == group]
        kmf = KaplanMeierFitter().fit(part["week"], part["arrest"])
        assert survival[group] == pytest.approx(float(kmf.survival_function_at_times(time).iloc[0]), abs=1e-12)
        # Greenwood: var(log S) is the sum of d / (Y (Y - d)) over event times up to `time`
        table = kmf.event_table.loc[kmf.event_table.index <= time]
        d, y = table["observed"].to_numpy(float), table["at_risk"].to_numpy(float)
        assert var_log[group] == pytest.approx(np.sum(d / (y * (y - d))), rel=1e-12)


def test_survival_at_time_empty_group_and_curve_at_zero():
    survival, var_log = survival_at_time([1, 2, 3], [1, 1, 1], 5, groups=[0, 0, 2], n_groups=3)
    assert survival.tolist() == [0.0, 1.0, 0.0]
    assert np.isnan(var_log[0]) and var_log[1] == 0.0


def test_censoring_survival_counts_exits_first(rossi):
    # exits first at a tied time = exits moved just before it; then an ordinary KM of censorings
    durations, events = rossi["week"].to_numpy(float), rossi["arrest"].to_numpy()
    curve = censoring_survival(durations, events)
    kmf = KaplanMeierFitter().fit(durations - 1e-6 * events, 1 - events)
    expected = kmf.survival_function_at_times(curve.times).to_numpy()
    np.testing.assert_allclose(curve.survival, expected, atol=1e-12)


def test_censoring_survival_by_hand():
    # times 2 (exit), 3 (exit + censoring), 5 (exit), 8 (censoring)
    # at 3: at risk for censoring 4 - 1 exit = 3, one censoring -> 2/3; at 8: 1 at risk, censored -> 0
    curve = censoring_survival([2, 3, 3, 5, 8], [1, 1, 0, 1, 0])
    np.testing.assert_allclose(curve.survival, [1.0, 2 / 3, 2 / 3, 0.0])


def test_blocked_draws_are_multinomial_and_the_same_through_both_doors(monkeypatch):
    # strata of many blocks: counts over blocks first, then uniform draws within each block
    from anker.survival import resample as engine

    monkeypatch.setattr(engine, "_BLOCK", 7)
    _check_blocked_draws(engine, np.repeat([0, 1], [60, 45]), 4000)


def test_draws_from_raw_words_are_multinomial_and_the_same_through_both_doors():
    # full blocks of 2**16 people draw 16 bits of raw generator output each
    from anker.survival import resample as engine

    _check_blocked_draws(engine, np.repeat([0, 1], [3 * 65_536 + 11, 65_536]), 200)


def _check_blocked_draws(engine, strata, n_boot):
    n = strata.size
    order, spans = engine._strata_blocks(n, strata)
    index = engine._draw_indices(np.random.default_rng(3), (order, spans), n_boot)
    counts = np.stack([np.bincount(row, minlength=n) for row in index]).astype(float)
    # the multiplier door: the same resamples, summed against the values a block at a time
    values = np.random.default_rng(4).normal(size=(n, 2))
    rng = np.random.default_rng(3)
    columns = np.ascontiguousarray(values.T)
    sums = np.stack([engine._resample_sum(rng, spans, columns) for _ in range(n_boot)])
    np.testing.assert_allclose(sums, counts @ values, rtol=1e-12, atol=1e-9)
    # Multinomial(s; 1/s each) within each stratum: mean 1, variance 1 - 1/s, covariance -1/s
    for start, s in spans:
        part = counts[:, start : start + s]
        np.testing.assert_array_equal(part.sum(axis=1), s)
        # a count's sample variance has sd about sqrt(3 / n_boot) (Poisson(1) moments)
        assert part.var(axis=0, ddof=1).mean() == pytest.approx(1 - 1 / s, abs=5 * np.sqrt(3 / (n_boot * s)))
        cov = np.cov(part[:, :8], rowvar=False)[np.triu_indices(8, 1)]
        assert cov.mean() == pytest.approx(-1 / s, abs=5 / np.sqrt(28 * n_boot))  # 28 pairs
