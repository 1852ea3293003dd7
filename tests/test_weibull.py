"""fit_weibull against lifelines' WeibullAFTFitter and a simulated truth."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import WeibullAFTFitter
from lifelines.datasets import load_rossi

from anker.models.weibull import fit_weibull


def test_matches_lifelines_aft():
    data = load_rossi()
    cols = [c for c in data.columns if c not in ("week", "arrest")]
    ref = WeibullAFTFitter().fit(data, "week", "arrest")
    ours = fit_weibull(data[cols].to_numpy(float), data["week"], data["arrest"])
    # lifelines' AFT coefficients are -beta / shape; rho_ is log(shape)
    aft = ref.params_.loc["lambda_"].drop("Intercept")[cols].to_numpy()
    np.testing.assert_allclose(-ours.coef / ours.shape, aft, atol=1e-4)
    assert ours.log_shape == pytest.approx(ref.params_.loc[("rho_", "Intercept")], abs=1e-4)
    assert ours.loglik == pytest.approx(ref.log_likelihood_, abs=1e-6)


def test_recovers_truth_and_median():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(30_000, 1))
    t = (rng.exponential(size=30_000) / np.exp(-4 + 0.4 * x[:, 0])) ** (1 / 0.8)
    fit = fit_weibull(x, t, np.ones(30_000))
    assert abs(fit.coef[0] - 0.4) < 3 * fit.se[0]
    assert fit.shape == pytest.approx(0.8, abs=0.02)
    # model median at x = 0 vs the closed form (log 2 / exp(-4)) ** (1 / 0.8)
    median = fit.quantile(np.zeros((1, 1)), 0.5)[0]
    assert median == pytest.approx((np.log(2) / np.exp(-4)) ** (1 / 0.8), rel=0.05)


def test_zero_duration_rejected():
    with pytest.raises(ValueError, match="> 0"):
        fit_weibull(np.zeros((3, 1)), np.array([0, 1, 2.0]), np.ones(3))


def test_constant_covariate_is_refused_by_name():
    from anker.errors import AnkerDataError

    rng = np.random.default_rng(5)
    t = rng.weibull(1.2, 400) * 100
    X = np.column_stack([rng.normal(size=400), np.full(400, 2.0)])
    # the constant is aliased with the intercept: no SE of 6e-16 and p of 3e-21
    with pytest.raises(AnkerDataError, match="flat"):
        fit_weibull(X, t, np.ones(400), names=["x", "flat"])


def test_monotone_likelihood_warns():
    import anker
    from anker.models.logistic import SeparationWarning

    df = anker.simulate_population(n_per_cohort=500, seed=9).data
    df["perfect"] = df["exited"]
    with pytest.warns(SeparationWarning, match="perfect"):
        bd = anker.BenefitDurationTest(model="weibull", features=["age", "perfect"]).fit(df)
    assert bd.summary.loc["perfect", "se"] > 100
