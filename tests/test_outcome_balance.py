"""Entropy-balancing propensity weights (`anker.outcome.propensity`) in the cohort comparison.

The scenarios are not the generator's: two covariates, a propensity
quadratic in one of them (the logistic index is linear), outcomes linear in the terms.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import anker
from anker.outcome.estimators import estimate_all
from anker.outcome.propensity import fit_propensity

H = 365.0


def _linear_world(seed: int, n: int = 8_000):
    """Propensity quadratic in x1 (a logistic index linear in x1 is wrong), reference outcome
    linear in (x1, x2), no censoring.

    x1 is clipped to [-2, 2], so T(0) = 120 + 40 x1 + 30 x2 + U(-30, 30) lies in
    [10, 260] and E[T(0) | x] is exactly linear in the design's terms. The
    horizon is the reference cohort's longest spell (about 258 days at this n),
    so truncation touches only spells within a few days of it (< 0.1 %): 30
    samples of n = 4,000 gave a mean error of -0.12 days (SE 0.10).
    """
    rng = np.random.default_rng(seed)
    x1 = np.clip(rng.normal(size=n), -2, 2)
    x2 = (rng.random(n) < 0.5).astype(float)
    lp = -1.5 + 1.0 * x1 ** 2 + 0.5 * x1 + 0.4 * x2
    A = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(float)
    t0 = np.round(120 + 40 * x1 + 30 * x2 + rng.uniform(-30, 30, n))
    t1 = t0 + 10
    T = np.where(A == 1, t1, t0)
    h = float(min(T[A == 1].max(), T[A == 0].max()))
    truth = float(np.mean(np.minimum(t1, h)[A == 1] - np.minimum(t0, h)[A == 1]))
    return T, np.ones(n), A, np.column_stack((x1, x2)), truth, h


def _se(contribution, A):
    return float(np.sqrt(sum(np.sum((contribution[A == a] - contribution[A == a].mean()) ** 2)
                             for a in (0, 1))))


def test_balancing_weights_match_the_other_cohorts_means_exactly():
    T, E, A, X, _, _ = _linear_world(1)
    p = fit_propensity(X, A, kind="balance")
    w = p.weights[A == 0]
    np.testing.assert_allclose(w @ X[A == 0] / w.sum(), X[A == 1].mean(axis=0), atol=1e-8)
    assert w.sum() == pytest.approx((A == 1).sum(), rel=1e-8)  # the intercept's equation
    # the logistic weights do not balance the mean of x1 under this propensity
    q = fit_propensity(X, A, kind="logistic").weights[A == 0]
    assert abs(q @ X[A == 0, 0] / q.sum() - X[A == 1, 0].mean()) > 0.01


@pytest.mark.parametrize("knots", [0, 3])
def test_balancing_index_from_equal_weights_is_the_one_from_the_likelihood_start(knots):
    # the dual is strictly concave: one maximum, whichever start Newton takes
    from anker.outcome.propensity import HingeBasis, _balance, _likelihood_fit

    _, _, A, X, _, _ = _linear_world(2)
    basis = HingeBasis.learn(X, knots=knots)
    p = fit_propensity(basis, A, kind="balance")
    coef, bread, _ = _balance(basis, A, _likelihood_fit(basis, A).coef)
    np.testing.assert_allclose(p.fit.coef, coef, rtol=0, atol=1e-8)
    np.testing.assert_allclose(p.bread, bread, rtol=1e-8, atol=1e-12)
    assert p.kind == "balance" and np.isnan(p.fit.cov).all()


def test_balance_is_right_when_the_outcome_is_linear_and_the_propensity_wrong():
    # Zhao & Percival (2017): entropy balancing for the ATT is consistent when the
    # reference outcome is linear in the balanced terms, whatever the propensity.
    # Errors in SE units over two samples: |mean| < 2.5 fails 1 in 2,000 when unbiased;
    # the likelihood weights must show the scenario bites (> 4 SE).
    errs = {"balance": [], "logistic": []}
    for seed in (11, 12):
        T, E, A, X, truth, h = _linear_world(seed)
        for kind in errs:
            r = estimate_all(T, E, A, X, h, censoring="km",
                             propensity=kind).results["iptw"]
            errs[kind].append((r.estimate - truth) / _se(r.contribution, A))
    assert abs(np.mean(errs["balance"])) < 2.5, errs
    assert abs(np.mean(errs["logistic"])) > 4.0, errs


def test_balance_contributions_match_leave_one_out():
    # the influence values of iptw and aipw through the balancing equations, against the
    # jackknife on continuous times (no ties); as the logistic version's test
    rng = np.random.default_rng(7)
    n = 600
    x = rng.normal(size=n)
    A = (rng.random(n) < 1 / (1 + np.exp(-0.5 * x))).astype(float)
    T = 100 * rng.exponential(size=n) / np.exp(0.5 * x + 0.3 * A)
    C = 300 * rng.exponential(size=n) / np.exp(0.4 * x)
    d, e = np.minimum(T, C), (T <= C).astype(float)
    X = np.column_stack((x, rng.normal(size=n)))
    est = estimate_all(d, e, A, X, 150.0, propensity="balance")
    rows = rng.choice(n, 40, replace=False)
    for m in ("iptw", "aipw"):
        res = est.results[m]
        loo = np.array([estimate_all(np.delete(d, i), np.delete(e, i), np.delete(A, i),
                                     np.delete(X, i, axis=0), 150.0, influence=False,
                                     propensity="balance").results[m].estimate for i in rows])
        jk = res.estimate - loo
        assert np.corrcoef(jk, res.contribution[rows])[0, 1] > 0.995, m
        assert np.linalg.norm(res.contribution[rows]) / np.linalg.norm(jk) == pytest.approx(1, abs=0.05)


def _frame(T, E, A, X):
    return pd.DataFrame({"cohort": np.where(A == 1, "new", "old"), "days": T, "left": E,
                         "x1": X[:, 0], "x2": X[:, 1]})


def test_compare_cohorts_default_balances_the_att_and_says_so():
    T, E, A, X, _, h = _linear_world(3, n=3_000)
    df = _frame(T, E, A, X)
    kw = dict(cohort_col="cohort", reference="old", duration_col="days", event_col="left",
              covariates=["x1", "x2"], n_boot=0, exit_reason_col=None, horizon=200)
    cmp = anker.compare_cohorts(df, **kw)
    assert cmp.propensity_fit == "balance"
    assert cmp.balance["smd_after"].abs().max() < 1e-6
    assert "entropy balancing" in str(cmp.summary)
    ate = anker.compare_cohorts(df, estimand="ate", **kw)
    assert ate.propensity_fit == "logistic"
    with pytest.raises(ValueError, match="propensity='balance'"):
        anker.compare_cohorts(df, estimand="ate", propensity="balance", **kw)
    with pytest.raises(ValueError, match="propensity must be one of"):
        anker.compare_cohorts(df, propensity="probit", **kw)


def test_balance_that_does_not_exist_falls_back_to_logistic_on_the_record():
    # the other cohort's mean of x1 (about 2) lies beyond every reference value (at most 1):
    # no weighting of the reference cohort can match it
    rng = np.random.default_rng(4)
    n = 2_000
    A = (rng.random(n) < 0.5).astype(float)
    x1 = np.where(A == 1, rng.uniform(0.9, 3.0, n), rng.uniform(0.0, 1.0, n))
    x2 = rng.normal(size=n)
    T = np.ceil(100 * rng.exponential(size=n))
    df = _frame(T, np.ones(n), A, np.column_stack((x1, x2)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = anker.compare_cohorts(df, cohort_col="cohort", reference="old", duration_col="days",
                                    event_col="left", covariates=["x1", "x2"], n_boot=0,
                                    exit_reason_col=None, horizon=200)
    assert cmp.propensity_fit == "logistic"
    assert any("balancing weights" in note and "logistic" in note for note in cmp.notes)


def test_paid_days_note_when_the_cohorts_entitlement_rules_differ():
    # same covariates, shorter entitlements in the other cohort: iptw prices the
    # reference cohort's own entitlements, and the note says so
    rng = np.random.default_rng(8)
    n = 4_000
    A = (rng.random(n) < 0.5).astype(float)
    x1 = rng.normal(size=n)
    T = np.ceil(200 * rng.exponential(size=n) / np.exp(0.3 * x1))
    entitlement = np.where(A == 1, np.where(x1 > 0, 120, 400), 400)
    d = np.minimum(T, entitlement)
    df = _frame(d, (T <= entitlement).astype(float), A, np.column_stack((x1, rng.normal(size=n))))
    df["entitlement_days"] = entitlement
    kw = dict(cohort_col="cohort", reference="old", duration_col="days", event_col="left",
              covariates=["x1", "x2"], n_boot=0, exit_reason_col=None, horizon=365)
    cmp = anker.compare_cohorts(df, **kw)
    assert any("entitlement rules differ" in note for note in cmp.notes)
    same = df.assign(entitlement_days=400)
    cmp = anker.compare_cohorts(same, **kw)
    assert not any("entitlement rules differ" in note for note in cmp.notes)


@pytest.mark.parametrize("knots", [0, 3])
def test_hinge_basis_is_the_spline_basis_without_the_matrix(knots, monkeypatch):
    """The propensity keeps the basis as (X, hinges): its products equal the matrix's."""
    from anker.outcome import propensity as module
    from anker.outcome.propensity import HingeBasis, fit_propensity, propensity_basis

    monkeypatch.setattr(module, "_DENSE_ROWS", 113)  # the matrix formed in many row blocks

    rng = np.random.default_rng(8)
    n = 3_000
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n), rng.exponential(2.0, n),
                         rng.integers(0, 5, n)])
    A = (rng.random(n) < 1 / (1 + np.exp(-0.5 * X[:, 0] + 0.3 * X[:, 1]))).astype(float)
    basis, dense = HingeBasis.learn(X, knots=knots), propensity_basis(X, knots=knots)
    assert basis.shape == dense.shape
    by_hand = np.column_stack([X] + [np.maximum(0.0, X[:, j] - k) for j, k in basis.hinges])
    np.testing.assert_array_equal(dense, by_hand)
    assert len(basis.hinges) == (0 if knots == 0 else 6)  # two continuous columns, 3 knots each
    np.testing.assert_array_equal(basis.dense(), dense)
    np.testing.assert_array_equal(basis.rows(A == 0), dense[A == 0])
    np.testing.assert_allclose(basis.column_sd(), dense.std(axis=0), rtol=1e-12)
    v, w = rng.normal(size=dense.shape[1]), rng.normal(size=n)
    np.testing.assert_allclose(basis @ v, dense @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w @ basis, w @ dense, rtol=1e-12, atol=1e-10)
    for kind in ("logistic", "balance"):
        lazy, full = fit_propensity(basis, A, kind=kind), fit_propensity(dense, A, kind=kind)
        assert isinstance(lazy.design, HingeBasis)
        np.testing.assert_allclose(lazy.e, full.e, rtol=1e-12)
        gradient = rng.normal(size=dense.shape[1] + 1)
        np.testing.assert_allclose(lazy.term(A, gradient), full.term(A, gradient), rtol=1e-10,
                                   atol=1e-12)
        np.testing.assert_allclose(lazy.weighted_terms(w), full.weighted_terms(w), rtol=1e-12,
                                   atol=1e-10)
