"""fit_cox against lifelines' CoxPHFitter and statsmodels' PHReg on public data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi
from statsmodels.duration.hazard_regression import PHReg

from anker.models.cox import fit_cox


@pytest.fixture(scope="module")
def rossi():
    data = load_rossi()  # Rossi et al. (1980) recidivism, bundled with lifelines
    cols = [c for c in data.columns if c not in ("week", "arrest")]
    return data, cols


def test_efron_matches_lifelines(rossi):
    data, cols = rossi
    ref = CoxPHFitter().fit(data, "week", "arrest")  # Efron ties
    ours = fit_cox(data[cols].to_numpy(float), data["week"], data["arrest"])
    np.testing.assert_allclose(ours.coef, ref.params_[cols], atol=1e-6)
    np.testing.assert_allclose(ours.se, ref.standard_errors_[cols], atol=1e-6)
    assert ours.loglik == pytest.approx(ref.log_likelihood_, abs=1e-6)


def test_survival_prediction_matches_lifelines(rossi):
    data, cols = rossi
    ref = CoxPHFitter().fit(data, "week", "arrest")
    ours = fit_cox(data[cols].to_numpy(float), data["week"], data["arrest"])
    expected = ref.predict_survival_function(data.iloc[:20], times=[5, 20, 40, 52]).T.to_numpy()
    got = ours.survival(data[cols].to_numpy(float)[:20], [5, 20, 40, 52])
    np.testing.assert_allclose(got, expected, atol=1e-7)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_matches_statsmodels_phreg(rossi, ties):
    data, cols = rossi
    ref = PHReg(data["week"], data[cols], status=data["arrest"], ties=ties).fit()
    ours = fit_cox(data[cols].to_numpy(float), data["week"], data["arrest"], ties=ties)
    np.testing.assert_allclose(ours.coef, ref.params, atol=1e-6)
    np.testing.assert_allclose(ours.se, ref.bse, atol=1e-6)


def test_case_weights_match_lifelines(rossi):
    data, cols = rossi
    w = np.random.default_rng(0).integers(1, 4, len(data)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines advises robust SEs for weights
        ref = CoxPHFitter().fit(data.assign(w=w), "week", "arrest", weights_col="w")
    ours = fit_cox(data[cols].to_numpy(float), data["week"], data["arrest"], weights=w)
    np.testing.assert_allclose(ours.coef, ref.params_[cols], atol=1e-6)


def test_recovers_simulated_hazard_ratio():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(20_000, 2))
    t = np.ceil(200 * rng.exponential(size=20_000) / np.exp(x @ [0.5, -0.25]))
    c = np.minimum(t, 400)
    fit = fit_cox(x, c, (t <= 400).astype(float))
    assert np.all(np.abs(fit.coef - [0.5, -0.25]) < 3 * fit.se)


@pytest.mark.parametrize("bad", [dict(events=np.zeros(4)), dict(durations=np.array([1, -1, 2, 3.0])),
                                 dict(events=np.array([0, 1, 2, 1.0])), dict(ties="exact")])
def test_bad_input(bad):
    args = dict(X=np.arange(4.0)[:, None], durations=np.array([1, 2, 3, 4.0]),
                events=np.array([1, 0, 1, 1.0])) | bad
    with pytest.raises(ValueError):
        fit_cox(**args)


def test_monotone_likelihood_warns_and_never_reports_a_tiny_se():
    import anker
    from anker.models.logistic import SeparationWarning

    df = anker.simulate_population(n_per_cohort=500, seed=9).data
    df["perfect"] = df["exited"]  # a binary that predicts exit perfectly
    with pytest.warns(SeparationWarning, match="perfect"):
        bd = anker.BenefitDurationTest(features=["age", "perfect"]).fit(df)
    row = bd.summary.loc["perfect"]
    # R's coxph: "Loglik converged before variable 2; coefficient may be infinite"
    assert row["se"] > 100 and row["p"] > 0.5


def test_singular_information_is_refused_not_pseudo_inverted():
    from anker.errors import AnkerDataError

    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 1))
    t = np.ceil(100 * rng.exponential(size=300))
    with pytest.raises(AnkerDataError, match=r"\['a', 'b'\]"):
        fit_cox(np.column_stack([x, 2 * x]), t, np.ones(300), names=["a", "b"])


def _large_ties_data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n), rng.normal(50, 10, n)])
    t = np.ceil(60 * rng.exponential(size=n) / np.exp(x @ [0.4, -0.3, 0.02]))
    censor = np.ceil(rng.uniform(10, 200, n))
    return x, np.minimum(t, censor), (t <= censor).astype(float)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_warm_start_from_a_sample_gives_the_fit_from_zero(monkeypatch, ties):
    import anker.models.cox as cox

    x, t, e = _large_ties_data(30_000, 11)
    cold = fit_cox(x, t, e, ties=ties)           # below the threshold: Newton from zero
    monkeypatch.setattr(cox, "_WARM_START_ROWS", 5_000)
    warm = fit_cox(x, t, e, ties=ties)           # from the fit on a 1-in-8 (then 1-in-64) sample
    assert warm.n_iter < cold.n_iter
    np.testing.assert_allclose(warm.coef, cold.coef, rtol=0, atol=1e-8)
    np.testing.assert_allclose(warm.se, cold.se, rtol=1e-8)
    np.testing.assert_allclose(warm.baseline_cumhaz, cold.baseline_cumhaz, rtol=1e-8)
    assert warm.loglik == pytest.approx(cold.loglik, abs=1e-6)
    ref = CoxPHFitter().fit(pd.DataFrame(x, columns=["a", "b", "c"]).assign(t=t, e=e), "t", "e")
    if ties == "efron":   # lifelines' Efron fit on the same rows
        np.testing.assert_allclose(warm.coef, ref.params_.to_numpy(), atol=1e-6)


def test_row_order_and_memory_layout_do_not_change_the_fit(rossi):
    data, cols = rossi
    X, t, e = data[cols].to_numpy(float), data["week"].to_numpy(), data["arrest"].to_numpy()
    base = fit_cox(X, t, e)
    order = np.argsort(t, kind="stable")[::-1]     # reversed time order: the sort moves rows
    in_time = np.lexsort((-e, t))                  # already sorted: the design is used in place
    for rows, layout in ((order, np.ascontiguousarray), (order, np.asfortranarray),
                         (in_time, np.asfortranarray), (in_time, np.ascontiguousarray)):
        fit = fit_cox(layout(X[rows]), t[rows], e[rows])
        np.testing.assert_allclose(fit.coef, base.coef, rtol=0, atol=1e-12)
        np.testing.assert_allclose(fit.se, base.se, rtol=1e-10)
        np.testing.assert_allclose(fit.baseline_cumhaz, base.baseline_cumhaz, rtol=1e-10)


def test_fast_search_of_the_baseline_is_searchsorted():
    from anker.models.cox import _first_at_least

    rng = np.random.default_rng(8)
    a = np.cumsum(rng.random(1000) * 0.003)
    for v in (np.log(2) / np.exp(rng.normal(size=300_000)),           # the medians' case
              np.r_[a[::7], a[::7] * (1 + 1e-16), rng.random(300_000) * 3],  # on the values
              rng.random(300_000) * 1e-300):                          # far below a
        np.testing.assert_array_equal(_first_at_least(a, v), np.searchsorted(a, v, side="left"))
