"""Tests for anker.outcome (`compare_cohorts`) and its helpers outcome_cox, outcome_estimators,
outcome_balance, outcome_checks and outcome_report.

Where the expected numbers come from: lifelines (Kaplan-Meier, RMST, log-rank, CoxPHFitter,
proportional_hazard_test and its Schoenfeld residuals), called in the tests on its public
data sets; finite-difference derivatives of weighted refits (influence values); a full
refit bootstrap (`anker.survival.bootstrap_refit`) for the fast bootstrap; hand
computations written out in the tests; and the known truth of `anker.simulate_population`
for bias and coverage.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_rossi, load_waltons
from lifelines.statistics import logrank_test as lifelines_logrank
from lifelines.statistics import proportional_hazard_test
from lifelines.utils import restricted_mean_survival_time

import anker
from anker.errors import AnkerDataError
from anker.models.cox import fit_cox
from anker.models.cox_functionals import cox_influence, rmst_functional
from anker.outcome import DEFAULT_COVARIATES, OverlapWarning, compare_cohorts
from anker.outcome.estimators import point_estimates, propensity_basis
from anker.outcome.ph_test import proportional_hazards_test
from anker.survival import bootstrap_refit, multiplier_bootstrap, rmst

ROSSI_COVARIATES = ["age", "race", "wexp", "mar", "paro", "prio"]


@pytest.fixture(scope="module")
def waltons() -> pd.DataFrame:
    return load_waltons()


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    return load_rossi()


@pytest.fixture(scope="module")
def rossi_cmp(rossi):
    return compare_cohorts(rossi, cohort_col="fin", reference=0, duration_col="week",
                           event_col="arrest", covariates=ROSSI_COVARIATES, horizon=52,
                           method="gcomp", n_boot=200, seed=1)


@pytest.fixture(scope="module")
def sim_cmp():
    pop = anker.simulate_population(2_000, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)
        cmp = compare_cohorts(pop.data, n_boot=200, seed=3)
    return pop, cmp


# ----------------------------------------------------------------------------- public data
def test_unadjusted_km_rmst_and_logrank_agree_with_lifelines(waltons):
    with pytest.warns(UserWarning, match="followed up to the horizon"):
        cmp = compare_cohorts(waltons, cohort_col="group", reference="control",
                              duration_col="T", event_col="E", covariates=[], horizon=50,
                              n_boot=50)
    for label, group in waltons.groupby("group"):
        kmf = KaplanMeierFitter().fit(group["T"], group["E"])
        assert cmp.rmst.loc[label, "rmst"] == pytest.approx(
            restricted_mean_survival_time(kmf, t=50), abs=1e-6)
        curve = cmp.curves["km"]["reference" if label == "control" else "other"]
        expected = kmf.survival_function_.loc[curve.times, "KM_estimate"].to_numpy()
        np.testing.assert_allclose(curve.survival, expected, atol=1e-6)
    other, control = waltons[waltons.group == "miR-137"], waltons[waltons.group == "control"]
    result = lifelines_logrank(other["T"], control["T"], other["E"], control["E"])
    assert cmp.logrank.statistic == pytest.approx(result.test_statistic, abs=1e-6)
    assert cmp.logrank_p == pytest.approx(result.p_value, rel=1e-6)
    # naive = difference of the two lifelines RMSTs; its SE is Greenwood's, hypot of the two
    assert cmp.estimates.loc["naive", "estimate"] == pytest.approx(
        cmp.rmst.loc["miR-137", "rmst"] - cmp.rmst.loc["control", "rmst"], abs=1e-9)
    assert cmp.estimates.loc["naive", "se"] == pytest.approx(np.hypot(*cmp.rmst["se"]), rel=1e-9)


def test_cox_hazard_ratio_agrees_with_lifelines(rossi, rossi_cmp):
    cph = CoxPHFitter().fit(rossi[["week", "arrest", "fin", *ROSSI_COVARIATES]], "week", "arrest")
    assert round(rossi_cmp.hazard_ratio, 3) == round(float(np.exp(cph.params_["fin"])), 3)
    assert rossi_cmp.hazard_ratio == pytest.approx(float(np.exp(cph.params_["fin"])), rel=1e-6)
    low, high = cph.confidence_intervals_.loc["fin"]
    np.testing.assert_allclose(rossi_cmp.hazard_ratio_ci, np.exp([low, high]), rtol=1e-5)
    np.testing.assert_allclose(rossi_cmp.cox["coef"].to_numpy()[1:],
                               cph.params_[ROSSI_COVARIATES].to_numpy(), atol=1e-6)


def test_proportional_hazards_test_agrees_with_lifelines(rossi, rossi_cmp):
    cph = CoxPHFitter().fit(rossi[["week", "arrest", "fin", *ROSSI_COVARIATES]], "week", "arrest")
    expected = proportional_hazard_test(cph, rossi, time_transform="km").summary
    # lifelines' test is the approximation of R's cox.zph before survival 3.0; compare_cohorts
    # reports R's current score test (tests/test_outcome_efron.py checks that against R)
    Z = rossi[["fin", *ROSSI_COVARIATES]].to_numpy(float)
    fit = fit_cox(Z, rossi["week"].to_numpy(float), rossi["arrest"].to_numpy(float))
    ours = proportional_hazards_test(fit, Z, rossi["week"].to_numpy(float),
                                     rossi["arrest"].to_numpy(float))
    np.testing.assert_allclose(ours["statistic"].to_numpy()[:-1],
                               expected.loc[["fin", *ROSSI_COVARIATES], "test_statistic"], rtol=1e-5)
    # global test, by hand from lifelines' Schoenfeld residuals: (g'S) V (S'g) d / g'g
    resid = cph.compute_residuals(rossi[["week", "arrest", "fin", *ROSSI_COVARIATES]], "schoenfeld")
    times = rossi.loc[resid.index, "week"].to_numpy(float)
    kmf = KaplanMeierFitter().fit(rossi["week"], rossi["arrest"])
    g = 1 - kmf.survival_function_.loc[times, "KM_estimate"].to_numpy()
    g = g - g.mean()
    test = g @ resid[["fin", *ROSSI_COVARIATES]].to_numpy()
    statistic = test @ cph.variance_matrix_.to_numpy() @ test * len(g) / (g @ g)
    assert ours.loc["GLOBAL", "statistic"] == pytest.approx(statistic, rel=1e-5)
    assert ours.loc["GLOBAL", "df"] == 7


# ----------------------------------------------------------------------------- influence values
def test_cox_functional_contributions_match_finite_differences():
    """d(estimate)/d(weight of person i) by refitting: the infinitesimal jackknife by hand."""
    rng = np.random.default_rng(0)
    n = 120
    Z = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)])
    latent = 100 * rng.exponential(size=n) / np.exp(0.5 * Z[:, 0] - 0.3 * Z[:, 1])
    censor = rng.uniform(20, 300, n)
    events = (latent <= censor).astype(float)
    durations = np.minimum(latent, censor)  # continuous: no ties, Efron = Breslow
    horizon = 150.0
    z0 = Z.copy()
    z0[:, 0] = 0
    censored = (events == 0) & (durations < horizon)

    def functionals(weights):
        fit = fit_cox(Z, durations, events, weights=weights, tol=1e-13)
        infl = cox_influence(fit, Z, durations, events, horizon, weights=weights)
        f = rmst_functional(infl, z0, np.full((n, 1), 1 / n))
        g = rmst_functional(infl, Z[censored], np.ones((censored.sum(), 1)),
                            censor_times=durations[censored])
        return np.array([f.values.mean(), g.values.sum()]), infl, f, g

    base, infl, f, g = functionals(np.ones(n))
    analytic = np.column_stack([infl.contributions(f.grad_beta, f.grad_hazard)[:, 0],
                                infl.contributions(g.grad_beta, g.grad_hazard)[:, 0]])
    eps = 1e-6
    for i in (0, 7, 31, 64, 99):
        weights = np.ones(n)
        weights[i] += eps
        numeric = (functionals(weights)[0] - base) / eps
        np.testing.assert_allclose(analytic[i], numeric, rtol=1e-4, atol=1e-7)


def test_fast_bootstrap_se_agrees_with_full_refit_bootstrap():
    pop = anker.simulate_population(600, seed=8)
    df = pop.data
    covariates = ["age", "education", "health_limitation", "tightness", "unemployment_rate"]
    cmp = compare_cohorts(df, covariates=covariates, n_boot=2000, seed=4,
                          outcome="time_on_benefit")
    X = anker.models.design.design_matrix(df, covariates)[0]
    basis = propensity_basis(X)
    A = (df["cohort"] == "coaching_2007").to_numpy(float)

    def statistic(durations, events, cohort, design, propensity_design):
        # the comparison's default weights for the ATT: entropy balancing
        return point_estimates(durations, events, cohort, design, 365.0, propensity_design,
                               propensity="balance")

    refit = bootstrap_refit(statistic, df["duration_days"].to_numpy(float),
                            df["exited"].to_numpy(float), A, X, basis, n_boot=300, seed=5,
                            strata=A)
    fast = cmp.replicates[["naive", "gcomp", "iptw", "aipw"]].to_numpy()
    ratio = fast.std(axis=0) / refit.std(axis=0)
    np.testing.assert_array_less(np.abs(ratio - 1), 0.10)
    # the reported SE (influence values) is the same quantity
    ratio_se = cmp.estimates.loc[["naive", "gcomp", "iptw", "aipw"], "se"].to_numpy() / refit.std(axis=0)
    np.testing.assert_array_less(np.abs(ratio_se - 1), 0.10)


def test_multiplier_perturbations_are_the_influence_values_resampled(sim_cmp):
    _, cmp = sim_cmp
    # each replicate minus the estimate has mean ~0 and the SD of the influence-value SE
    reps = cmp.replicates["aipw"] - cmp.estimates.loc["aipw", "estimate"]
    assert abs(reps.mean()) < 3 * cmp.estimates.loc["aipw", "se"] / np.sqrt(len(reps))
    assert reps.std() == pytest.approx(cmp.estimates.loc["aipw", "se"], rel=0.15)


# ----------------------------------------------------------------------------- known truth
def _study(hazard_ratio: float, seeds: range) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        pop = anker.simulate_population(5_000, seed=seed, coaching_hazard_ratio=hazard_ratio)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OverlapWarning)
            # censoring on the generator is entitlement end, a step function of work history
            # with each cohort's rules: a Cox censoring model linear in the covariates misstates
            # it (measured over 12 samples of 2 x 5,000: iptw bias -9.1 days, coverage 0.50),
            # Kaplan-Meier of censoring per cohort does not (bias -0.15, coverage 1.0); aipw
            # rests on the outcome model, right here, under either (bias -0.3, coverage 1.0)
            cmp = compare_cohorts(pop.data, n_boot=200, seed=seed, cluster_col="coach_id",
                                  censoring="km", exit_reason_col=None)
        truth = -pop.truth.coaching_effect_days
        for method, row in cmp.estimates.iterrows():
            rows.append({"seed": seed, "method": method, "estimate": row["estimate"],
                         "ci_low": row["ci_low"], "ci_high": row["ci_high"], "truth": truth})
    out = pd.DataFrame(rows)
    out["covers"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    return out


@pytest.fixture(scope="module")
def coverage_study() -> pd.DataFrame:
    """20 replications of 2 x 5,000 spells, coaching hazard ratio 1.07 (the full study: notebook 03)."""
    return _study(1.07, range(100, 120))


@pytest.fixture(scope="module")
def null_study() -> pd.DataFrame:
    return _study(1.0, range(200, 220))


# IPTW's interval runs a little narrow on these data: a logistic propensity (even with
# splines) cannot follow the regional structure of the business cycle, and that
# misspecification moves with each simulated population, which a bootstrap within one
# sample cannot see. Measured over 200 replications of 2 x 5,000 (notebook 03): gcomp 0.99,
# aipw 0.925, iptw 0.915. With 20 replications a true 0.915 gives >= 3 misses one time in
# four, so IPTW is held to 0.85 here; the others to 0.90.
COVERAGE_BAR = {"gcomp": 0.90, "aipw": 0.90, "iptw": 0.85}


@pytest.mark.parametrize("method", ["gcomp", "iptw", "aipw"])
def test_adjusted_cis_cover_the_true_effect(coverage_study, method):
    rows = coverage_study[coverage_study["method"] == method]
    assert rows["covers"].mean() >= COVERAGE_BAR[method]


def test_naive_estimate_is_biased_by_the_business_cycle(coverage_study):
    naive = coverage_study[coverage_study["method"] == "naive"]
    error = (naive["estimate"] - naive["truth"]).mean()
    truth = naive["truth"].mean()
    assert truth < 0  # coaching shortens benefit: the difference is negative
    # the boom shortens 2007 spells too: the naive error has the effect's sign, > 2x its size
    assert error < 2 * truth
    assert naive["covers"].mean() < 0.5


@pytest.mark.parametrize("method", ["gcomp", "iptw", "aipw"])
def test_adjusted_cis_cover_zero_without_an_effect(null_study, method):
    rows = null_study[null_study["method"] == method]
    assert (rows["truth"] == 0).all()
    assert rows["covers"].mean() >= COVERAGE_BAR[method]


# ----------------------------------------------------------------------------- results
def test_summary_states_the_estimand_and_both_units(sim_cmp):
    _, cmp = sim_cmp
    text = str(cmp)
    for needle in ("Estimand", "ATT", "benefit days", "PH test", "log-rank", "ESS",
                   "casemanagement_2004", "coaching_2007"):
        assert needle in text
    table = cmp.summary.table
    np.testing.assert_allclose(table["benefit_days"], table["days"] * 261 / 365)
    assert cmp.rmst_difference_benefit_days == pytest.approx(cmp.rmst_difference * 261 / 365)
    assert cmp.rmst_difference == cmp.estimates.loc["aipw", "estimate"]
    assert cmp.ci == (cmp.estimates.loc["aipw", "ci_low"], cmp.estimates.loc["aipw", "ci_high"])
    assert not {"sex", "migration_background"} & set(cmp.covariates)
    assert cmp.covariates == DEFAULT_COVARIATES


def test_protected_attributes_only_when_listed_and_then_on_record(small):
    default = _compare(small, covariates=None)
    assert not {"sex", "migration_background"} & set(default.covariates)
    listed = _compare(small, covariates=["age", "sex"])
    assert "sex[female]" in listed.terms
    assert any("protected attribute(s) ['sex']" in note for note in listed.notes)
    assert "protected attribute" in str(listed)


def test_weight_and_balance_diagnostics_by_hand(sim_cmp):
    pop, cmp = sim_cmp
    reference = (pop.data["cohort"] == "casemanagement_2004").to_numpy()
    w = cmp.att_weights.to_numpy()[reference]
    e = cmp.propensity.to_numpy()[reference]
    np.testing.assert_allclose(w, e / (1 - e), rtol=1e-8)
    assert cmp.weights["effective_sample_size"] == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert cmp.weights["max_weight"] == pytest.approx(w.max() / w.mean())
    assert cmp.weights["share_above_10x_mean"] == pytest.approx(np.mean(w > 10 * w.mean()))
    age = pop.data["age"].to_numpy(float)
    scale = np.sqrt((age[~reference].var() + age[reference].var()) / 2)
    assert cmp.balance.loc["age", "smd_before"] == pytest.approx(
        (age[~reference].mean() - age[reference].mean()) / scale)
    assert cmp.balance.loc["age", "smd_after"] == pytest.approx(
        (age[~reference].mean() - np.average(age[reference], weights=w)) / scale)
    # weighting improves the worst imbalance
    assert cmp.balance["smd_after"].abs().max() < cmp.balance["smd_before"].abs().max()


def test_cost_benefit_reads_the_comparison(sim_cmp):
    _, cmp = sim_cmp
    cb = anker.cost_benefit(cmp, anker.BreakEven.iwi_2005())
    assert cb.days_saved == pytest.approx(-cmp.rmst_difference * 261 / 365)
    assert cb.method == "aipw"
    assert len(cmp.boot_differences) == 200


def test_plot_draws_curves_and_the_shaded_difference(sim_cmp):
    import matplotlib.pyplot as plt

    _, cmp = sim_cmp
    fig = cmp.plot(weighted=True)
    ax = fig.axes[0]
    assert len(ax.get_lines()) >= 5  # 2 KM, weighted KM, 2 model curves (+ horizon line)
    assert ax.collections  # the shaded RMST difference
    assert anker.plots.survival_curves(cmp).axes
    plt.close("all")


def test_bootstrap_is_reproducible_per_seed():
    df = anker.simulate_population(800, seed=9).data
    kwargs = {"covariates": ["age", "tightness"], "n_boot": 100, "method": "iptw"}
    a = compare_cohorts(df, seed=11, **kwargs)
    b = compare_cohorts(df, seed=11, **kwargs)
    c = compare_cohorts(df, seed=12, **kwargs)
    np.testing.assert_array_equal(a.boot_differences, b.boot_differences)
    assert not np.array_equal(a.boot_differences, c.boot_differences)
    none = compare_cohorts(df, seed=11, covariates=["age", "tightness"], n_boot=0)
    assert none.boot_differences is None and none.replicates is None
    est, se = none.estimates.loc["aipw", ["estimate", "se"]]
    np.testing.assert_allclose(none.ci, (est - 1.959964 * se, est + 1.959964 * se), rtol=1e-6)


def test_one_spell_per_cluster_equals_no_clusters():
    df = anker.simulate_population(800, seed=10).data.assign(row=lambda d: np.arange(len(d)))
    kwargs = {"covariates": ["age", "tightness"], "n_boot": 0}
    plain = compare_cohorts(df, **kwargs)
    clustered = compare_cohorts(df, cluster_col="row", **kwargs)
    np.testing.assert_allclose(clustered.estimates["se"], plain.estimates["se"], rtol=1e-10)
    by_coach = compare_cohorts(df, cluster_col="coach_id", **kwargs)
    np.testing.assert_allclose(by_coach.estimates["estimate"], plain.estimates["estimate"])


def test_difference_in_differences_by_hand():
    treated = anker.simulate_population(1_500, seed=21).data.assign(comparison=0)
    control = anker.simulate_population(1_500, seed=22, coaching_hazard_ratio=1.0).data
    df = pd.concat([treated, control.assign(comparison=1)], ignore_index=True)
    cmp = compare_cohorts(df, covariates=["age", "tightness"], method="did",
                          comparison_col="comparison", n_boot=200, seed=1)
    cells = {}
    for (cohort, group), part in df.groupby(["cohort", "comparison"]):
        cells[cohort, group] = rmst(part["duration_days"], part["exited"], 365).estimate
    expected = ((cells["coaching_2007", 0] - cells["casemanagement_2004", 0])
                - (cells["coaching_2007", 1] - cells["casemanagement_2004", 1]))
    assert cmp.rmst_difference == pytest.approx(expected, abs=1e-9)
    assert cmp.ci[0] < cmp.rmst_difference < cmp.ci[1]
    # the other estimators use the treated group only
    assert cmp.rmst.loc["coaching_2007", "n"] == 1_500


# ----------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return anker.simulate_population(400, seed=12).data


def _compare(df, **kwargs):
    kwargs.setdefault("covariates", ["age", "tightness"])
    kwargs.setdefault("n_boot", 0)
    return compare_cohorts(df, **kwargs)


def test_more_than_two_cohorts_needs_a_named_pair(small):
    df = small.copy()
    df.loc[df.index[:50], "cohort"] = "reintegration_2006"
    with pytest.raises(AnkerDataError, match="exactly two cohorts.*cohorts="):
        _compare(df)
    with pytest.warns(UserWarning, match="left out 50 row"):
        cmp = _compare(df, cohorts=("casemanagement_2004", "coaching_2007"))
    assert cmp.rmst["n"].sum() == len(df) - 50


def test_empty_or_unknown_cohort(small):
    with pytest.raises(AnkerDataError, match="'coaching_2008' has no rows"):
        _compare(small, cohorts=("casemanagement_2004", "coaching_2008"))
    with pytest.raises(AnkerDataError, match="reference='casemanagement_2003'"):
        _compare(small, reference="casemanagement_2003")
    one = small[small["cohort"] == "coaching_2007"]
    with pytest.raises(AnkerDataError, match="exactly two cohorts, found 1"):
        _compare(one)


def test_horizon_beyond_follow_up_names_the_cohort(small):
    df = small.copy()
    late = df["cohort"] == "coaching_2007"
    df.loc[late, "duration_days"] = np.minimum(df.loc[late, "duration_days"], 300)
    with pytest.raises(AnkerDataError, match="beyond the follow-up of cohort 'coaching_2007'"):
        _compare(df, horizon=365)
    for bad in (0, -5, float("nan"), "a year"):
        with pytest.raises(ValueError, match="horizon"):
            _compare(small, horizon=bad)


def test_no_events_is_an_error(small):
    df = small.copy()
    df.loc[df["cohort"] == "casemanagement_2004", "exited"] = 0
    with pytest.raises(AnkerDataError, match="'casemanagement_2004' has no exits"):
        _compare(df)


def test_covariates_that_do_not_vary_or_are_collinear(small):
    with pytest.raises(AnkerDataError, match=r"\['region_code'\] do not vary"):
        _compare(small.assign(region_code=3), covariates=["age", "region_code"])
    with pytest.raises(AnkerDataError, match="collinear.*age_months"):
        _compare(small.assign(age_months=small["age"] * 12), covariates=["age", "age_months"])


def test_perfect_separation_error_or_warning(small):
    rng = np.random.default_rng(0)
    flag = (small["cohort"] == "coaching_2007").to_numpy()
    df = small.assign(vacancy_index=np.where(flag, 2.0, 1.0) + rng.uniform(0, 0.5, len(small)))
    covariates = ["age", "vacancy_index"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(AnkerDataError, match="separates the cohorts perfectly.*vacancy_index"):
            _compare(df, covariates=covariates, method="iptw")
        with pytest.warns(OverlapWarning, match="separates the cohorts perfectly"):
            cmp = _compare(df, covariates=covariates, method="gcomp")
    assert list(cmp.estimates.index) == ["naive", "gcomp"]
    assert cmp.weights is None


def test_bad_arguments_are_named(small):
    with pytest.raises(AnkerDataError, match="missing from the data.*'wage'"):
        _compare(small, covariates=["age", "wage"])
    with pytest.raises(ValueError, match="method must be one of"):
        _compare(small, method="matching")
    with pytest.raises(ValueError, match="needs comparison_col"):
        _compare(small, method="did")
    with pytest.raises(ValueError, match="n_boot"):
        _compare(small, n_boot=1)
    with pytest.raises(ValueError, match="level"):
        _compare(small, level=95)
    with pytest.raises(TypeError, match="list of column names"):
        _compare(small, covariates="age")
    with pytest.raises(AnkerDataError, match="'exited' must be 0 or 1"):
        _compare(small.assign(exited=small["exited"] * 2))
    with pytest.raises(AnkerDataError, match="'duration_days'.*missing"):
        _compare(small.assign(duration_days=small["duration_days"].where(small.index > 3)))
    with pytest.raises(AnkerDataError, match="missing values.*age: 4 row"):
        _compare(small.assign(age=small["age"].where(small.index > 3)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=1, max_value=40),
    n_cohorts=st.integers(min_value=1, max_value=3),
    event_share=st.floats(min_value=0.0, max_value=1.0),
    x_constant=st.booleans(),
    horizon=st.one_of(st.floats(min_value=-10, max_value=200), st.just(30.0), st.just(float("nan"))),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_arbitrary_small_inputs_answer_or_raise_a_clear_error(n, n_cohorts, event_share,
                                                              x_constant, horizon, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "cohort": rng.choice(["casemanagement_2004", "coaching_2007", "other"][:n_cohorts], n),
        "duration_days": rng.integers(1, 60, n),
        "exited": (rng.random(n) < event_share).astype(int),
        "x": 1.0 if x_constant else rng.normal(size=n),
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cmp = compare_cohorts(df, covariates=["x"], horizon=horizon, n_boot=20)
        except (AnkerDataError, ValueError, TypeError) as exc:
            assert type(exc).__module__.startswith(("anker", "builtins")), repr(exc)
            assert str(exc)
            return
    assert np.isfinite(cmp.rmst_difference) or np.isnan(cmp.rmst_difference)
    assert set(cmp.estimates.index) >= {"naive", "gcomp"}


def test_multiplier_bootstrap_scaling_of_cluster_sums():
    """Cluster sums S_c enter as n_clusters * S_c, so a replicate moves by sum_c (W_c - 1) S_c."""
    sums = np.array([1.0, -2.0, 0.5, 0.5])
    reps = multiplier_bootstrap(sums.size * sums, n_boot=4000, seed=0)
    # Var(sum (W_c - 1) S_c) for multinomial W: sum (S_c - mean S)^2 (population form, n = 4)
    assert reps.std() == pytest.approx(np.sqrt(np.sum((sums - sums.mean()) ** 2)), rel=0.05)


def test_effective_sample_size_is_scale_free_even_near_overflow():
    from anker.outcome.balance import effective_sample_size

    w = np.array([1.0, 2.0, 3.0, 10.0])
    expected = w.sum() ** 2 / np.sum(w**2)
    for scale in (1e-300, 1.0, 1e155, 1e300):  # w^2 overflows above about 1.3e154
        assert effective_sample_size(w * scale) == pytest.approx(expected, rel=1e-12)
