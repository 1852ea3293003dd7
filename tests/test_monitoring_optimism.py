"""The leave-one-out linear predictors of `anker.monitoring.optimism` against the
plain formulas they were first written as (kept here as the reference).

The fast forms reorder sums (risk-set sums per event-time bucket instead of a
cumulative sum over sorted rows; x' C x by matrix products instead of a
three-operand einsum), so they agree to rounding: 1e-10 on linear predictors
of order 1 leaves room for the 1e-13 seen at 500,000 rows and none for a
wrong term (the leave-one-out shifts themselves are of order 1e-3 to 1e-1).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from anker.models.cox import fit_cox
from anker.models.logistic import fit_logistic
from anker.monitoring.optimism import leave_one_out_lp

TOL = 1e-10


def _reference_logistic(fit, Z, y):
    Z1 = np.column_stack([np.ones(len(Z)), Z]) if fit.intercept else np.asarray(Z)
    eta = Z1 @ fit.coef
    p = 1.0 / (1.0 + np.exp(-eta))
    q = np.einsum("ij,jk,ik->i", Z1, fit.cov, Z1)
    return eta - q * (y - p) / np.clip(1 - p * (1 - p) * q, 1e-12, None)


def _reference_cox(fit, Z, durations, events):
    """U_i = d_i (x_i - xbar(t_i)) - r_i sum_{t_j <= t_i} dN_j (x_i - xbar(t_j)) / S0(t_j)."""
    Xc = np.asarray(Z, dtype=float) - fit.center
    r = np.exp(Xc @ fit.coef)
    order = np.argsort(durations, kind="stable")
    t_sorted = durations[order]
    tau, d = np.unique(durations[events > 0], return_counts=True)
    first = np.searchsorted(t_sorted, tau, side="left")
    s0 = np.cumsum(r[order][::-1])[::-1][first]
    s1 = np.cumsum((r[:, None] * Xc)[order][::-1], axis=0)[::-1][first]
    cum_a = np.concatenate([[0.0], np.cumsum(d / s0)])
    cum_b = np.vstack([np.zeros(Xc.shape[1]), np.cumsum(d[:, None] * s1 / s0[:, None] ** 2,
                                                         axis=0)])
    lived = np.searchsorted(tau, durations, side="right")
    xbar = (s1 / s0[:, None])[np.maximum(lived - 1, 0)]
    U = -r[:, None] * (Xc * cum_a[lived][:, None] - cum_b[lived])
    U += (events > 0)[:, None] * (Xc - xbar)
    return Xc @ fit.coef - np.einsum("ij,jk,ik->i", Xc, fit.cov, U)


def _data(seed: int, n: int = 3_000):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=(n, 3)), rng.random((n, 2)) < 0.3]).astype(float)
    y = (rng.random(n) < expit(-0.4 + X @ [0.8, -0.5, 0.0, 0.6, -0.3])).astype(float)
    t = rng.exponential(1 / np.exp(X @ [0.7, -0.3, 0.0, 0.4, 0.2]))
    c = rng.exponential(2.0, n)
    # whole days: many tied durations, and censorings at event times
    durations = np.ceil(np.minimum(t, c) * 30)
    events = (t <= c).astype(float)
    return X, y, durations, events


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("intercept", [True, False])
def test_logistic_leave_one_out_matches_reference(seed, intercept):
    X, y, _, _ = _data(seed)
    fit = fit_logistic(X, y, intercept=intercept)
    want = _reference_logistic(fit, X, y)
    got = leave_one_out_lp(fit, X, y)
    assert np.max(np.abs(got - want)) < TOL
    assert np.max(np.abs(want - fit.linear_predictor(X))) > 1e-4  # the step does move them


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_cox_leave_one_out_matches_reference(seed, ties):
    X, _, durations, events = _data(seed)
    fit = fit_cox(X, durations, events, ties=ties)
    want = _reference_cox(fit, X, durations, events)
    got = leave_one_out_lp(fit, X, events, durations=durations)
    assert np.max(np.abs(got - want)) < TOL
    assert np.max(np.abs(want - fit.linear_predictor(X))) > 1e-4


def test_cox_leave_one_out_in_any_row_order():
    """The bucket sums need no sorted rows: a shuffled input gives the same values."""
    X, _, durations, events = _data(2)
    fit = fit_cox(X, durations, events, ties="efron")
    perm = np.random.default_rng(5).permutation(len(durations))
    got = leave_one_out_lp(fit, X[perm], events[perm], durations=durations[perm])
    want = leave_one_out_lp(fit, X, events, durations=durations)[perm]
    assert np.max(np.abs(got - want)) < TOL
