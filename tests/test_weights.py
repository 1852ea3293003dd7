"""Case weights near the ends of floating point (anker._weights): an exact answer or an anker
error naming ``weights``, never a silent NaN or infinite variance.

The truths: the unweighted estimates (themselves checked against R and lifelines in
test_survival, test_cox and test_logistic), the algebra of scaling (Greenwood's variance
of frequency weights scales as 1 / c, the influence values not at all), and Greenwood's
formula in exact rational arithmetic (fractions.Fraction) for a tail of tiny weights.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from anker.errors import AnkerDataError
from anker.models import fit_cox, fit_logistic
from anker.survival import kaplan_meier, rmst, rmst_influence

RNG = np.random.default_rng(7)
N = 60
DURATIONS = np.ceil(RNG.exponential(10, N))
EVENTS = (RNG.random(N) < 0.7).astype(float)
X = RNG.normal(size=(N, 2))
Y = (RNG.random(N) < 0.4).astype(float)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1e300])
def test_kaplan_meier_and_rmst_with_weights_at_the_limits(scale):
    weights = np.full(N, scale)
    plain, scaled = kaplan_meier(DURATIONS, EVENTS), kaplan_meier(DURATIONS, EVENTS, weights=weights)
    np.testing.assert_allclose(scaled.survival, plain.survival, rtol=1e-12)
    # Greenwood reads weights as frequencies: c times the people, 1 / c times the variance
    np.testing.assert_allclose(scaled.variance * scale, plain.variance, rtol=1e-10)
    assert np.isfinite(scaled.variance).all()
    horizon = float(np.median(DURATIONS))
    estimate, se = rmst(DURATIONS, EVENTS, horizon, weights=weights)
    want = rmst(DURATIONS, EVENTS, horizon)
    assert estimate == pytest.approx(want.estimate, rel=1e-12)
    assert se * np.sqrt(scale) == pytest.approx(want.se, rel=1e-10)
    # influence values do not depend on the scale at all
    np.testing.assert_allclose(rmst_influence(DURATIONS, EVENTS, horizon, weights=weights),
                               rmst_influence(DURATIONS, EVENTS, horizon), rtol=1e-10, atol=1e-12)


def _greenwood_exact(durations, events, weights):
    """S(t)^2 sum d / (Y (Y - d)) at each distinct time, in exact rational arithmetic."""
    w = [Fraction(float(v)) for v in weights]
    out, total, survival = [], Fraction(0), Fraction(1)
    for t in sorted(set(durations)):
        at_risk = sum(wi for wi, di in zip(w, durations, strict=True) if di >= t)
        dead = sum(wi for wi, di, ei in zip(w, durations, events, strict=True) if di == t and ei)
        if at_risk > dead:
            total += dead / (at_risk * (at_risk - dead))
        survival *= 1 - dead / at_risk
        out.append(float(survival**2 * total) if survival > 0 else 0.0)
    return np.array(out)


def test_a_tail_of_tiny_weights_gives_greenwoods_exact_variance():
    # after the last weight of 1 is censored (day 4), only weights near 1e-300 are at risk
    durations = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9])
    events = np.array([1.0, 0, 1, 0, 0, 1, 1, 0, 1])
    weights = np.array([1, 1, 1, 1, 1e-300, 1e-300, 2e-300, 1e-300, 1e-300])
    km = kaplan_meier(durations, events, weights=weights)
    # the old product Y (Y - d) underflowed to 0 here: an infinite, then NaN, variance
    np.testing.assert_allclose(km.variance, _greenwood_exact(durations, events, weights),
                               rtol=1e-10)
    assert np.isfinite(rmst(durations, events, 9, weights=weights).se)


def test_a_variance_beyond_floating_point_is_refused_by_name():
    with pytest.raises(AnkerDataError, match="weights: the variance is beyond the largest float") as info:
        kaplan_meier(DURATIONS, EVENTS, weights=np.full(N, 4e-320))
    assert info.value.columns == ["weights"]
    for bad, match in ((np.full(N, np.nan), "missing or infinite"), (np.zeros(N), "all zero"),
                       (np.full(N, 1e307), "sum overflows"), (np.ones(3), "one value per row")):
        with pytest.raises(AnkerDataError, match=match):
            rmst(DURATIONS, EVENTS, 5, weights=bad)


@pytest.mark.parametrize("fit", ["logistic", "cox"])
@pytest.mark.parametrize("l2", [0.0, 0.5])
def test_fits_with_weights_at_the_limits_are_the_fits_with_weights_of_one(fit, l2):
    """Weights c: the coefficients of weights 1, c times the information. Before the
    rescaling, weights of 1e-100 stopped Newton early (a gradient of 1e-100 looked like
    0) and made Cox report a false monotone likelihood."""
    base = RNG.uniform(0.5, 2.0, N)

    def run(weights):
        if fit == "logistic":
            return fit_logistic(X, Y, weights=weights, l2=l2 * weights.max())
        return fit_cox(X, DURATIONS, EVENTS, weights=weights, l2=l2 * weights.max())

    one = run(base / base.max())
    for scale in (1e-300, 1e-100, 1e100, 1e300):
        scaled = run(base / base.max() * scale)  # the same penalty share: l2 scaled along
        np.testing.assert_allclose(scaled.coef, one.coef, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(scaled.cov * scale, one.cov, rtol=1e-9)
        assert scaled.n == pytest.approx(one.n * scale, rel=1e-12)
        # log-likelihood: logistic is linear in the weights; Cox adds log c per event weight
        shift = 0.0 if fit == "logistic" else np.log(scale) * one.n_events
        assert scaled.loglik == pytest.approx(scale * (one.loglik - shift), rel=1e-9)


@pytest.mark.parametrize("fit", ["logistic", "cox"])
def test_a_fit_whose_covariance_overflows_is_refused_by_name(fit):
    weights = np.full(N, 1e-310)  # fewer than 1e-300 people: a variance beyond any float
    with pytest.raises(AnkerDataError, match="weights: the variance is beyond") as info:
        if fit == "logistic":
            fit_logistic(X, Y, weights=weights)
        else:
            fit_cox(X, DURATIONS, EVENTS, weights=weights)
    assert info.value.columns == ["weights"]
