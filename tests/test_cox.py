"""fit_cox against lifelines' CoxPHFitter and statsmodels' PHReg on public data."""

from __future__ import annotations

import warnings

import numpy as np
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
