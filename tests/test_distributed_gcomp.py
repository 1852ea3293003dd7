"""The g-computation of the cohort comparison on Dask frames: the in-memory estimate and SE.

The truth is the in-memory ``compare_cohorts(df, method="gcomp", n_boot=0)``
on the same rows (itself checked against R's riskRegression and by
simulation elsewhere). Both fit the same Cox models by the same Newton steps
and add up the same per-spell terms, only in another order, so estimate and
SE agree to 1e-8 (measured: about 1e-13).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import anker
from anker.models.cox import fit_cox
from anker.models.design import DesignSpec

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

TOL = 1e-8
COLUMNS = ["estimate", "se", "ci_low", "ci_high", "rmst_other", "rmst_reference",
           "estimate_benefit_days"]


# one thread: fast, deterministic (a cluster test sets its own scheduler)
pytestmark = pytest.mark.usefixtures("dask_synchronous")


@pytest.fixture(scope="module")
def population():
    return anker.simulate_population(n_per_cohort=1200, seed=4).data


def _own_records(seed: int, n: int) -> pd.DataFrame:
    """Records the generator does not make: other names, weeks, covariate-dependent censoring,
    a confounder that differs between the regimes."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["old_regime", "new_regime"], size=n)
    x = rng.normal(size=n) + 0.5 * (group == "new_regime")
    region = rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.3, 0.2])
    lp = 0.6 * x + np.where(region == "south", -0.4, 0.2) + 0.3 * (group == "new_regime")
    latent = rng.exponential(20, n) * np.exp(-lp)
    censor = rng.uniform(5, 80, n) * np.exp(0.3 * x)
    return pd.DataFrame({"regime": group, "region": region, "score": x,
                         "weeks": np.ceil(np.minimum(latent, censor)),
                         "ended": (latent <= censor).astype(int)})


def _assert_gcomp_equal(got, want):
    g, w = got.estimates.loc["gcomp"], want.estimates.loc["gcomp"]
    for col in COLUMNS:
        assert abs(g[col] - w[col]) <= TOL * max(1.0, abs(w[col])), (col, g[col], w[col])
    assert got.rmst_difference == g["estimate"] and got.se == g["se"]
    assert got.ci == (g["ci_low"], g["ci_high"])
    np.testing.assert_allclose(got.estimates.loc["naive", COLUMNS].to_numpy(float),
                               want.estimates.loc["naive", COLUMNS].to_numpy(float),
                               rtol=0, atol=1e-10)


def test_gcomp_on_dask_equals_the_in_memory_estimate_se_fits_and_curves(population):
    covariates = ["age", "education", "sector", "tightness", "unemployment_rate"]
    got = anker.compare_cohorts(dd.from_pandas(population, npartitions=4), covariates=covariates,
                                method="gcomp", n_boot=0)
    want = anker.compare_cohorts(population, covariates=covariates, method="gcomp", n_boot=0,
                                 outcome="time_on_benefit")
    assert isinstance(got, anker.distributed.DistributedComparison)
    _assert_gcomp_equal(got, want)
    assert got.terms == want.terms
    # each cohort's Cox model is the in-memory fit of its rows
    spec = DesignSpec.learn(population, covariates)
    for label, fit in got.outcome_fits.items():
        rows = population[population["cohort"] == label]
        memory = fit_cox(spec.transform(rows), rows["duration_days"].to_numpy(float),
                         rows["exited"].to_numpy(float))
        np.testing.assert_allclose(fit.coef, memory.coef, rtol=0, atol=TOL)
    # the g-computation curves: the in-memory curves read at the fit's event times
    for name in ("gcomp_other", "gcomp_reference"):
        times, survival = got.curves[name]
        grid, memory = want.curves[name]
        np.testing.assert_allclose(survival, memory[np.searchsorted(grid, times)], rtol=0,
                                   atol=1e-10)
    text = str(got.summary)
    assert "g-computation (Cox per cohort)" in text and "influence-function SE" in text


def test_gcomp_on_own_records_in_weeks_with_the_ate_and_a_reference_level():
    df = _own_records(11, 3000)
    kwargs = dict(cohort_col="regime", reference="old_regime", duration_col="weeks",
                  event_col="ended", covariates=["score", "region"], horizon=40,
                  time_unit="week", estimand="ate", reference_levels={"region": "east"},
                  method="gcomp", n_boot=0, exit_reason_col=None)
    got = anker.compare_cohorts(dd.from_pandas(df, npartitions=3), **kwargs)
    want = anker.compare_cohorts(df, **kwargs)
    _assert_gcomp_equal(got, want)
    assert got.terms == ("score", "region[north]", "region[south]")
    assert "both cohorts (ATE)" in str(got.summary) and "weeks" in str(got.summary)


def test_gcomp_with_partitions_that_hold_one_cohort_and_a_0_1_cohort_column():
    df = _own_records(12, 2000)
    df = df.assign(regime=(df["regime"] == "new_regime").astype(int)).sort_values("regime")
    kwargs = dict(cohort_col="regime", reference=0, duration_col="weeks", event_col="ended",
                  covariates=["score", "region"], horizon=30, method="gcomp", n_boot=0,
                  exit_reason_col=None)
    ddf = dd.from_pandas(df, npartitions=5, sort=False)
    got = anker.compare_cohorts(ddf, **kwargs)
    want = anker.compare_cohorts(df.reset_index(drop=True), **kwargs)
    _assert_gcomp_equal(got, want)


def test_gcomp_with_a_bootstrap_bootstraps_the_naive_row_and_keeps_the_normal_interval(population):
    ddf = dd.from_pandas(population, npartitions=2)
    got = anker.compare_cohorts(ddf, covariates=["age"], method="gcomp", n_boot=50, seed=3)
    assert got.boot_differences is None and list(got.replicates.columns) == ["naive"]
    z = 1.959963984540054
    assert np.allclose(got.ci, (got.rmst_difference - z * got.se, got.rmst_difference + z * got.se))


def test_what_the_dask_gcomp_cannot_do_says_so(population):
    ddf = dd.from_pandas(population, npartitions=2)
    with pytest.raises(ValueError, match="estimand='overlap'.*'att' or 'ate'"):
        anker.compare_cohorts(ddf, covariates=["age"], method="gcomp", estimand="overlap")
    with pytest.raises(ValueError, match="outcome_model='pooled'.*per_cohort"):
        anker.compare_cohorts(ddf, covariates=["age"], method="gcomp", outcome_model="pooled")
    with pytest.raises(ValueError, match="outcome='paid_days' needs each spell's entitlement"):
        anker.compare_cohorts(ddf, covariates=["age"], method="gcomp", outcome="paid_days")
    with pytest.raises(ValueError, match="method='iptw' cannot run on a Dask frame.*'gcomp'"):
        anker.compare_cohorts(ddf, method="iptw")
    with pytest.raises(anker.AnkerDataError, match="missing values in feature column"):
        holes = population.assign(age=population["age"].where(population.index != 5))
        anker.compare_cohorts(dd.from_pandas(holes, npartitions=2), covariates=["age"],
                              method="gcomp", n_boot=0)
    with pytest.raises(ValueError, match="reference_levels: 'age' is numeric"):
        anker.compare_cohorts(ddf, covariates=["age"], method="gcomp", n_boot=0,
                              reference_levels={"age": 30})


def test_design_on_dask_keeps_a_declared_category_order_and_a_chosen_reference():
    from anker.distributed import learn_design_dask

    df = _own_records(13, 600)
    df["region"] = pd.Categorical(df["region"], categories=["south", "north", "east"])
    ddf = dd.from_pandas(df, npartitions=3)
    spec = learn_design_dask(ddf, ["score", "region"])
    assert spec == DesignSpec.learn(df, ["score", "region"])
    assert spec.term_names == ("score", "region[north]", "region[east]")  # south first: reference
    chosen = learn_design_dask(ddf, ["score", "region"], reference_levels={"region": "east"})
    assert chosen == DesignSpec.learn(df, ["score", "region"], reference_levels={"region": "east"})
    assert chosen.term_names == ("score", "region[south]", "region[north]")
    with pytest.raises(ValueError, match="reference_levels: \\['sector'\\] are not features"):
        learn_design_dask(ddf, ["score", "region"], reference_levels={"sector": "care"})
