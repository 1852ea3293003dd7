"""anker on Dask frames (anker.distributed): the same answers as in memory.

The truth for every check is the in-memory path on the same rows (itself
tested against R, lifelines and statsmodels elsewhere): the profile must be
identical, the comparison from counts equal to rounding (1e-10), the Newton
fits equal to 1e-8 (both converge to the same maximum from the same start by
the same Newton steps; the sums are only added in another order).
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import anker
from anker.distributed import (
    fit_cox_dask,
    fit_logistic_dask,
    fit_test_dask,
    is_dask_frame,
    learn_design_dask,
)
from anker.models.cox import fit_cox
from anker.models.design import DesignSpec
from anker.models.logistic import fit_logistic

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

FIT_TOL = 1e-8
COUNT_TOL = 1e-10


# one thread: fast, deterministic (a cluster test sets its own scheduler)
pytestmark = pytest.mark.usefixtures("dask_synchronous")


@pytest.fixture(scope="module")
def population():
    return anker.simulate_population(n_per_cohort=1500, seed=3).data


@pytest.fixture(scope="module")
def model(population):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return anker.AnkerModel().fit(population)


def _own_records(seed: int, n: int) -> pd.DataFrame:
    """Records the generator does not make: other names, weeks, covariate-dependent censoring."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    region = rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.3, 0.2])
    group = rng.choice(["old_regime", "new_regime"], size=n)
    lp = 0.6 * x + np.where(region == "south", -0.4, 0.2) + 0.3 * (group == "new_regime")
    latent = rng.exponential(20, n) * np.exp(-lp)
    censor = rng.uniform(5, 80, n) * np.exp(0.3 * x)
    return pd.DataFrame({
        "person": [f"p{i}" for i in range(n)], "regime": group, "region": region, "score": x,
        "weeks": np.ceil(np.minimum(latent, censor)), "ended": (latent <= censor).astype(int),
        "found_work": (rng.random(n) < 1 / (1 + np.exp(-(0.3 + lp)))).astype(int),
    })


# ---- profile ------------------------------------------------------------------------------
def test_profile_of_a_dask_frame_is_lazy_and_equals_the_in_memory_profile(model, population):
    ddf = dd.from_pandas(population, npartitions=4)
    lazy = model.profile(ddf)
    assert is_dask_frame(lazy) and lazy.npartitions == 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.testing.assert_frame_equal(lazy.compute(), model.profile(population))


def test_profile_keeps_the_index_of_an_own_key(model, population):
    keyed = population.set_index("client_id", drop=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = model.profile(dd.from_pandas(keyed, npartitions=3)).compute()
        # dask stores the text key as a pyarrow string index; the keys and rows are the same
        pd.testing.assert_frame_equal(got, model.profile(keyed), check_index_type=False)
        with dask.config.set({"dataframe.convert-string": False}):
            exact = model.profile(dd.from_pandas(keyed, npartitions=3)).compute()
        pd.testing.assert_frame_equal(exact, model.profile(keyed))


def test_profile_of_a_dask_frame_refuses_a_missing_column_at_once(model, population):
    ddf = dd.from_pandas(population.drop(columns=["tightness"]), npartitions=2)
    with pytest.raises(anker.AnkerDataError, match="tightness"):
        model.profile(ddf)      # raised when the lazy frame is built, not at compute()


def test_import_anker_works_without_dask():
    code = ("import sys; sys.modules['dask'] = None; sys.modules['dask.dataframe'] = None\n"
            "import anker, pandas as pd\n"
            "from anker.distributed import is_dask_frame\n"
            "assert not is_dask_frame(pd.DataFrame({'a': [1]}))\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ---- the comparison from counts ------------------------------------------------------------
def _assert_naive_equal(got, want):
    for col in ("n", "events"):
        assert got.rmst[col].tolist() == want.rmst[col].tolist()
    np.testing.assert_allclose(got.rmst[["rmst", "se", "ci_low", "ci_high"]].to_numpy(),
                               want.rmst[["rmst", "se", "ci_low", "ci_high"]].to_numpy(),
                               rtol=0, atol=COUNT_TOL)
    assert got.rmst.index.tolist() == want.rmst.index.tolist()
    np.testing.assert_allclose(got.estimates.loc["naive"].to_numpy(dtype=float),
                               want.estimates.loc["naive", got.estimates.columns].to_numpy(dtype=float),
                               rtol=0, atol=COUNT_TOL)
    assert abs(got.logrank.statistic - want.logrank.statistic) < COUNT_TOL
    assert abs(got.logrank_p - want.logrank_p) < COUNT_TOL


def test_naive_comparison_from_counts_equals_the_rows(population):
    ddf = dd.from_pandas(population, npartitions=5)
    got = anker.compare_cohorts(ddf, reference="casemanagement_2004", method="naive", n_boot=0)
    want = anker.compare_cohorts(population, reference="casemanagement_2004", method="naive",
                                 covariates=["age", "tightness"], n_boot=0,
                                 outcome="time_on_benefit")
    # counts per (cohort, day) hold no entitlement: on Dask "auto" is time on benefit
    assert got.outcome == "time_on_benefit"
    _assert_naive_equal(got, want)
    assert abs(got.rmst_difference - want.rmst_difference) < COUNT_TOL
    assert np.allclose(got.ci, want.ci, rtol=0, atol=COUNT_TOL)
    assert "from counts" in str(got.summary) and "need the rows in memory" in str(got.summary)
    # priced like any comparison
    cb = anker.cost_benefit(got, anker.BreakEven.iwi_2005())
    assert np.isfinite(cb.days_saved)


def test_naive_bootstrap_from_counts_gives_the_in_memory_replicates():
    # weeks and 2 x ~2,000 spells: the in-memory Kaplan-Meier bootstrap takes its multinomial
    # door too, so a seed gives the same replicates and the same percentile interval
    df = _own_records(1, 4000)
    kwargs = dict(cohort_col="regime", reference="old_regime", duration_col="weeks",
                  event_col="ended", horizon=30, method="naive", n_boot=300, seed=5)
    got = anker.compare_cohorts(dd.from_pandas(df, npartitions=3), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = anker.compare_cohorts(df, covariates=["score"], **kwargs)
    _assert_naive_equal(got, want)
    np.testing.assert_allclose(got.boot_differences, want.boot_differences, rtol=0, atol=COUNT_TOL)
    assert np.allclose(got.ci, want.ci, rtol=0, atol=COUNT_TOL)


def test_cohorts_pair_leaves_other_rows_out_with_a_warning(population):
    third = population.head(300).assign(cohort="other_2010")
    df = pd.concat([population, third], ignore_index=True)
    kwargs = dict(cohorts=("casemanagement_2004", "coaching_2007"), method="naive", n_boot=0)
    with pytest.warns(UserWarning, match="left out 300 row"):
        got = anker.compare_cohorts(dd.from_pandas(df, npartitions=3), **kwargs)
    with pytest.warns(UserWarning, match="left out 300 row"):
        want = anker.compare_cohorts(df, covariates=["age"], outcome="time_on_benefit", **kwargs)
    _assert_naive_equal(got, want)


def test_what_needs_the_rows_in_memory_says_so(population):
    ddf = dd.from_pandas(population, npartitions=2)
    with pytest.raises(ValueError, match="method='aipw' cannot run on a Dask frame.*in memory"):
        anker.compare_cohorts(ddf, method="aipw")
    with pytest.raises(ValueError, match="cluster_col='coach_id' is not supported"):
        anker.compare_cohorts(ddf, method="naive", cluster_col="coach_id")
    with pytest.raises(anker.AnkerDataError, match="spell"):
        anker.compare_cohorts(ddf, method="naive", duration_col="spell")
    bad = population.assign(exited=population["exited"].where(population.index != 7, 2))
    with pytest.raises(anker.AnkerDataError, match="'exited' must be 0 or 1"):
        anker.compare_cohorts(dd.from_pandas(bad, npartitions=2), method="naive", n_boot=0)
    holes = population.assign(duration_days=population["duration_days"].where(
        population.index != 11))
    with pytest.raises(anker.AnkerDataError, match="'duration_days'.*1 missing"):
        anker.compare_cohorts(dd.from_pandas(holes, npartitions=2), method="naive", n_boot=0)
    with pytest.raises(anker.AnkerDataError, match="beyond the follow-up"):
        anker.compare_cohorts(ddf, method="naive", horizon=5000, n_boot=0)
    with pytest.raises(ValueError, match="ReintegrationTest cannot be fitted on a Dask frame"):
        fit_test_dask(anker.ReintegrationTest(), ddf)
    with pytest.raises(ValueError, match="model='weibull'"):
        fit_test_dask(anker.BenefitDurationTest(model="weibull"), ddf)
    model = anker.AnkerModel()
    with pytest.raises(ValueError, match="ReintegrationTest cannot be fitted on a Dask frame"):
        model.fit(ddf)
    assert not any(t.is_fitted for t in model.tests.values())   # refused before any fit


# ---- the exact Newton fits ------------------------------------------------------------------
def test_design_levels_learned_in_one_pass_equal_the_in_memory_spec(population):
    features = list(anker.ComplianceTest().features)
    ddf = dd.from_pandas(population, npartitions=4)
    assert learn_design_dask(ddf, features) == DesignSpec.learn(population, features)
    holes = population.assign(age=population["age"].where(population.index % 97 != 0))
    with pytest.raises(anker.AnkerDataError, match="age: 31 row"):
        learn_design_dask(dd.from_pandas(holes, npartitions=3), ["age", "sector"])


@pytest.mark.parametrize("l2", [0.0, 2.5])
def test_logistic_fit_on_dask_equals_the_in_memory_fit(l2):
    df = _own_records(2, 6000)
    spec = DesignSpec.learn(df, ["score", "region", "weeks"])
    got = fit_logistic_dask(dd.from_pandas(df, npartitions=4), spec, "found_work", l2=l2)
    want = fit_logistic(spec.transform(df), df["found_work"].to_numpy(float), l2=l2)
    np.testing.assert_allclose(got.coef, want.coef, rtol=0, atol=FIT_TOL)
    np.testing.assert_allclose(got.se, want.se, rtol=0, atol=FIT_TOL)
    assert abs(got.loglik - want.loglik) < 1e-6 and got.n == want.n


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_fit_on_dask_equals_the_in_memory_fit(ties):
    df = _own_records(3, 6000)   # weeks: heavy ties
    spec = DesignSpec.learn(df, ["score", "region"])
    got = fit_cox_dask(dd.from_pandas(df, npartitions=4), spec, "weeks", "ended", ties=ties)
    want = fit_cox(spec.transform(df), df["weeks"].to_numpy(float), df["ended"].to_numpy(float),
                   ties=ties)
    np.testing.assert_allclose(got.coef, want.coef, rtol=0, atol=FIT_TOL)
    np.testing.assert_allclose(got.se, want.se, rtol=0, atol=FIT_TOL)
    np.testing.assert_allclose(got.baseline_cumhaz, want.baseline_cumhaz, rtol=FIT_TOL)
    np.testing.assert_array_equal(got.baseline_times, want.baseline_times)
    assert abs(got.loglik - want.loglik) < 1e-6 and got.n_events == want.n_events


def test_the_tests_fitted_on_dask_equal_those_fitted_in_memory(population):
    ddf = dd.from_pandas(population, npartitions=3)
    for make in (anker.ComplianceTest, anker.LabourMarketTest, anker.BenefitDurationTest):
        got, want = fit_test_dask(make(), ddf), make().fit(population)
        np.testing.assert_allclose(got.summary[["coef", "se"]].to_numpy(),
                                   want.summary[["coef", "se"]].to_numpy(), rtol=0, atol=FIT_TOL)
        assert got.n_fit_ == want.n_fit_
        again = type(got).from_dict(got.to_dict())   # saves as JSON like any fitted test
        if isinstance(got, anker.BenefitDurationTest):
            np.testing.assert_allclose(again.predict_survival(population, [91, 365]),
                                       want.predict_survival(population, [91, 365]), atol=1e-9)
        else:
            np.testing.assert_allclose(again.predict_proba(population),
                                       want.predict_proba(population), atol=1e-9)
    with pytest.raises(anker.AnkerDataError, match="protected"):
        fit_test_dask(anker.ComplianceTest(features=["age", "sex"]), ddf)


def test_on_a_local_cluster(model, population):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), dask.config.set(scheduler=None):
        ddf = dd.from_pandas(population, npartitions=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.testing.assert_frame_equal(model.profile(ddf).compute(), model.profile(population))
        got = anker.compare_cohorts(ddf, method="naive", n_boot=0)
        want = anker.compare_cohorts(population, method="naive", covariates=["age"], n_boot=0,
                                     outcome="time_on_benefit")
        _assert_naive_equal(got, want)
        spec = DesignSpec.learn(population, ["age", "education"])
        fit = fit_cox_dask(ddf, spec)
        memory = fit_cox(spec.transform(population), population["duration_days"].to_numpy(float),
                         population["exited"].to_numpy(float))
        np.testing.assert_allclose(fit.coef, memory.coef, rtol=0, atol=FIT_TOL)
        adjusted = anker.compare_cohorts(ddf, method="gcomp", covariates=["age", "education"],
                                         n_boot=0)
        in_memory = anker.compare_cohorts(population, method="gcomp", n_boot=0,
                                          covariates=["age", "education"],
                                          outcome="time_on_benefit")
        assert abs(adjusted.rmst_difference - in_memory.rmst_difference) < FIT_TOL
        assert abs(adjusted.se - in_memory.se) < FIT_TOL


# ---- a test's own fit on a Dask frame, and the model file's reference distributions -----------
def test_every_test_fits_a_dask_frame_exactly_or_says_what_to_call(population):
    ddf = dd.from_pandas(population, npartitions=3)
    for make in (anker.ComplianceTest, anker.LabourMarketTest, anker.BenefitDurationTest):
        got, want = make().fit(ddf), make().fit(population)
        np.testing.assert_allclose(got.summary[["coef", "se"]].to_numpy(),
                                   want.summary[["coef", "se"]].to_numpy(), rtol=0, atol=FIT_TOL)
        assert got.ranges_ == want.ranges_   # the range check of predictions has its bounds
    older = population.assign(age=population["age"] + 40)
    with pytest.warns(anker.OutOfRangeWarning, match="age"):
        anker.ComplianceTest().fit(ddf).predict_proba(older)
    for test, what in ((anker.ReintegrationTest(), "ddf.compute"),
                       (anker.BenefitDurationTest(model="weibull"), "model='cox'")):
        with pytest.raises(anker.NotDistributedError, match=what):
            test.fit(ddf)


def _assert_same_bins(got: dict, want: dict, path: str = "") -> None:
    """Equal structure and numbers (floats to 1e-9 relative: sums added in another order)."""
    if isinstance(want, dict):
        assert set(got) == set(want), (path, set(got) ^ set(want))
        for key in want:
            _assert_same_bins(got[key], want[key], f"{path}/{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), (path, got, want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_same_bins(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), path
    else:
        assert got == want, path


@pytest.mark.parametrize("slices, gather", [(1024, 20_000), (4, 3)])
def test_a_model_fitted_on_dask_keeps_the_reference_for_monitoring(population, monkeypatch,
                                                                   slices, gather):
    from anker.monitoring import dask_reference

    # (4, 3): a few slices per pass and little to gather, so the exact quantiles take many
    # passes of narrowing (the default takes one pass and a gather at this size)
    monkeypatch.setattr(dask_reference, "_SLICES", slices)
    monkeypatch.setattr(dask_reference, "_GATHER", gather)
    from anker.monitoring.reference import reference_distributions

    tests = ["compliance", "labour_market", "benefit_duration"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = anker.AnkerModel(tests=tests).fit(dd.from_pandas(population, npartitions=4))
        # the truth: the in-memory reference of the same model on the same rows
        want = reference_distributions(model, population)
    got = model.reference_
    _assert_same_bins(got["features"], want["features"])
    _assert_same_bins(got["scores"], want["scores"])
    assert got["n"] == want["n"] == len(population)
    # what adds up over partitions; the AUC / C-index (apparent and leave-one-out) and the
    # survival test's expected slope (a Cox fit of the linear predictor) are not computed
    pairwise = {"auc", "concordance", "auc_expected", "concordance_expected"}
    for name, fit_perf in want["performance"].items():
        kept = {k: v for k, v in fit_perf.items() if k not in pairwise
                and not (name == "benefit_duration" and k == "expected_slope")}
        _assert_same_bins(got["performance"][name], kept)
    new = population[population["cohort"] == "coaching_2007"]
    monitored = anker.monitor(model, new)
    model.reference_ = want
    pd.testing.assert_frame_equal(monitored.psi, anker.monitor(model, new).psi)
    assert any("no AUC at fitting" in note for note in monitored.notes)
