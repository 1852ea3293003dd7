"""fit_logistic against statsmodels (Logit and GLM) on public and simulated data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm

from anker.models.logistic import SeparationWarning, fit_logistic


def test_matches_statsmodels_on_spector():
    # statsmodels' bundled Spector & Mazzeo (1980) data
    data = sm.datasets.spector.load_pandas()
    X, y = data.exog.to_numpy(float), data.endog.to_numpy(float)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    ours = fit_logistic(X, y)
    np.testing.assert_allclose(ours.coef, ref.params, atol=1e-6)
    np.testing.assert_allclose(ours.se, ref.bse, atol=1e-6)
    assert ours.loglik == pytest.approx(ref.llf, abs=1e-8)


def test_weights_and_offset_match_glm():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 3))
    off = rng.normal(scale=0.3, size=3000)
    w = rng.integers(1, 4, 3000).astype(float)
    y = (rng.random(3000) < 1 / (1 + np.exp(-(0.2 + X @ [0.5, -0.3, 0.1] + off)))).astype(float)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(), offset=off,
                 freq_weights=w).fit()
    ours = fit_logistic(X, y, weights=w, offset=off)
    np.testing.assert_allclose(ours.coef, ref.params, atol=1e-7)
    np.testing.assert_allclose(ours.se, ref.bse, atol=1e-7)


def test_no_intercept_and_fractional_outcome():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 2))
    p = 1 / (1 + np.exp(-(X @ [1.0, -0.5])))
    ours = fit_logistic(X, p, intercept=False)
    # fractional y equal to the true probabilities: the MLE is the truth itself
    np.testing.assert_allclose(ours.coef, [1.0, -0.5], atol=1e-8)


def test_ridge_shrinks():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 2))
    y = (rng.random(500) < 1 / (1 + np.exp(-(X @ [1.0, -1.0])))).astype(float)
    plain, ridge = fit_logistic(X, y), fit_logistic(X, y, l2=50.0)
    assert np.all(np.abs(ridge.coef[1:]) < np.abs(plain.coef[1:]))


def test_separation_warns():
    x = np.arange(20.0)[:, None]
    y = (x[:, 0] > 9).astype(float)
    with pytest.warns(SeparationWarning):
        fit_logistic(x, y)


def test_constant_column_not_estimable():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(size=300), np.zeros(300)])
    y = (rng.random(300) < 0.4).astype(float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_logistic(X, y)
    assert any("do not vary" in str(w.message) for w in caught)
    assert fit.coef[2] == 0 and np.isnan(fit.se[2]) and np.isfinite(fit.se[:2]).all()


@pytest.mark.parametrize("bad", [dict(y=np.array([0, 1, 2.0])), dict(y=np.array([0, np.nan, 1])),
                                 dict(weights=np.array([1, -1, 1.0]))])
def test_bad_input(bad):
    args = dict(X=np.arange(3.0)[:, None], y=np.array([0, 1, 0.0])) | bad
    with pytest.raises(ValueError):
        fit_logistic(**args)


def test_newton_never_takes_an_untried_step_and_reports_it():
    from anker.errors import ConvergenceWarning
    from anker.models.newton import maximise

    start = np.array([1.0, -2.0])

    # finite only at the start: no trial point along the Newton step is acceptable
    def evaluate(x):
        value = -float(x @ x) if np.array_equal(x, start) else np.nan
        return value, -2 * x, 2 * np.eye(x.size)

    with pytest.warns(ConvergenceWarning, match="no uphill step"):
        result = maximise(evaluate, start, max_iter=20, tol=1e-10, what="toy")
    assert not result.converged
    np.testing.assert_array_equal(result.x, start)  # stayed at the last accepted point
    # iterations that run out are reported too, with the gain still to be had
    with pytest.warns(ConvergenceWarning, match="iterations ran out"):
        # an information 100 times too large: every step uphill but short
        result = maximise(lambda x: (-float(((x - 3) ** 2).sum()), -2 * (x - 3), 200 * np.eye(1)),
                          np.zeros(1), max_iter=3, tol=1e-12, what="toy")
    assert not result.converged and result.decrement > 0


def test_separation_gives_an_infinite_not_a_tiny_standard_error():
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    y = (x > 0).astype(float)  # x separates the outcome completely
    X = np.column_stack([x, rng.normal(size=300)])
    with pytest.warns(SeparationWarning, match="x0"):
        fit = fit_logistic(X, y)
    assert fit.se[1] > 100  # infinite in truth; never the 1e-19 a pseudo-inverse gave


def test_column_sd_in_blocks_is_numpy_std(monkeypatch):
    from anker.models import logistic

    monkeypatch.setattr(logistic, "_GRAM_ROWS", 33)
    X = np.random.default_rng(4).normal(loc=[0.0, 1e6, -3.0], scale=[1.0, 5.0, 1e-3], size=(1000, 3))
    np.testing.assert_allclose(logistic.column_sd(X), X.std(axis=0), rtol=1e-10)


def test_overwrite_x_gives_the_same_fit_and_spares_read_only_input():
    rng = np.random.default_rng(9)
    X = rng.normal(loc=[0.0, 3.0], scale=[1.0, 10.0], size=(2000, 2))
    y = (rng.random(2000) < 1 / (1 + np.exp(-(0.3 + X @ [0.8, -0.05])))).astype(float)
    plain = fit_logistic(X, y)
    scratch = X.copy()
    reused = fit_logistic(scratch, y, overwrite_X=True)
    np.testing.assert_allclose(reused.coef, plain.coef, rtol=1e-12)
    np.testing.assert_allclose(reused.cov, plain.cov, rtol=1e-10)
    assert not np.allclose(scratch, X)  # the scratch copy held the scaled design
    frozen = X.copy()
    frozen.flags.writeable = False
    fit_logistic(frozen, y, overwrite_X=True)
    np.testing.assert_array_equal(frozen, X)


@pytest.mark.parametrize("l2", [0.0, 2.0])
def test_warm_start_from_a_sample_gives_the_fit_from_zero(monkeypatch, l2):
    import anker.models.logistic as logistic

    rng = np.random.default_rng(12)
    n = 40_000
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n), rng.normal(50, 10, n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ [0.8, -0.5, 0.03] - 1.0)))).astype(float)
    cold = fit_logistic(X, y, l2=l2)             # below the threshold: Newton from the mean
    monkeypatch.setattr(logistic, "_WARM_START_ROWS", 5_000)
    warm = fit_logistic(X, y, l2=l2)             # from the fit on a 1-in-8 sample
    assert warm.n_iter < cold.n_iter
    np.testing.assert_allclose(warm.coef, cold.coef, rtol=0, atol=1e-8)
    np.testing.assert_allclose(warm.se, cold.se, rtol=1e-8)
    assert warm.loglik == pytest.approx(cold.loglik, abs=1e-6)
    if l2 == 0:
        ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12)
        np.testing.assert_allclose(warm.coef, ref.params, atol=1e-6)
