"""Issue 13 (national scale): the memory-lean code gives the numbers the previous code gave.

The references are the previous implementations, kept in tests/helpers/scale_reference.py;
every comparison is to 1e-10 relative on data small enough for the old code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import anker
from anker.models.cox import fit_cox
from anker.models.cox_functionals import cox_influence
from anker.models.design import DesignSpec
from anker.outcome import competing
from anker.outcome.compare import DEFAULT_COVARIATES
from anker.outcome.ph_test import zph_score_test
from tests.helpers.scale_reference import gformula_reference, regime_means_reference, zph_reference

RTOL = 1e-10


@pytest.fixture(scope="module")
def pop():
    return anker.simulate_population(n_per_cohort=1_500, seed=3).data


def _close(new, old):
    np.testing.assert_allclose(new, old, rtol=RTOL, atol=RTOL * max(np.abs(old).max(), 1e-300))


def test_gformula_in_blocks_matches_the_whole_matrix_version(pop, monkeypatch):
    X = DesignSpec.learn(pop, list(DEFAULT_COVARIATES)).transform(pop)
    A = (pop["cohort"] == "coaching_2007").to_numpy()
    durations = pop["duration_days"].to_numpy(float)
    cause = competing.causes_of(pop["exit_reason"], pop["exited"].to_numpy(float))
    rows = np.flatnonzero(~A)
    models = {}
    for k in competing.CAUSES:
        ev = (cause[rows] == k).astype(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_cox(X[rows], durations[rows], ev, ties="efron")
        models[k] = (cox_influence(fit, X[rows], durations[rows], ev, 365.0), rows)
    target = np.flatnonzero(A)
    weights = np.full(target.size, 1.0 / target.size)
    want_value, want_rows, want_grads = gformula_reference(models, X[target], weights, 365.0)
    # blocks of a few hundred rows: several blocks even on this small set
    monkeypatch.setattr(competing, "_CELLS_PER_CHUNK", 1)
    value, per_row, grads = competing._gformula(models, X, target, weights, 365.0)
    _close(value, want_value)
    _close(per_row, want_rows)
    for k in models:
        _close(grads[k][0], want_grads[k][0])
        _close(grads[k][1], want_grads[k][1])


def test_ph_test_from_blocks_matches_the_outer_product_version(pop):
    X = DesignSpec.learn(pop, list(DEFAULT_COVARIATES)).transform(pop)
    A = (pop["cohort"] == "coaching_2007").to_numpy(float)
    durations = pop["duration_days"].to_numpy(float)
    events = pop["exited"].to_numpy(float)
    Z = np.column_stack((A, X))
    fit = fit_cox(Z, durations, events, ties="efron")
    new = zph_score_test(fit, Z, durations, events)
    old = zph_reference(fit, Z, durations, events)
    _close(new["statistic"].to_numpy(), old["statistic"].to_numpy())
    _close(new["p"].to_numpy(), old["p"].to_numpy())


def test_aalen_johansen_by_counting_matches_the_loop_over_days():
    rng = np.random.default_rng(5)
    durations = rng.integers(0, 500, 3_000).astype(float)
    cause = rng.choice(["work", "other", "exhausted", ""], 3_000)
    new = competing.aalen_johansen(durations, cause, 365.0)
    times = np.unique(durations[(cause != "") & (durations <= 365)])
    at_risk = durations.size - np.searchsorted(np.sort(durations), times, side="left")
    # by hand, one pass per day as before: S(t_j-) d_kj / Y_j summed
    d_all = np.array([np.sum((cause != "") & (durations == t)) for t in times], float)
    before = np.concatenate(([1.0], np.cumprod(1 - d_all / at_risk)[:-1]))
    for k in competing.CAUSES:
        d_k = np.array([np.sum((cause == k) & (durations == t)) for t in times], float)
        jumps = before * d_k / at_risk
        assert new.loc[k, "cif"] == pytest.approx(jumps.sum(), rel=RTOL)
        assert new.loc[k, "rmtl"] == pytest.approx(jumps @ (365.0 - times), rel=RTOL)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ipcw_under_kaplan_meier_censoring_matches_regime_means(seed):
    # whole days with heavy ties, restriction times that vary per row, censoring before them
    from anker.outcome.aipcw import Grid, Model, ipcw_product_limit, regime_means
    from anker.outcome.censoring import fit_censoring

    rng = np.random.default_rng(seed)
    n = 1_200
    X = rng.normal(size=(n, 2))
    own = rng.random(n) < 0.5
    tau = rng.choice([90.0, 180.0, 365.0], n)
    durations = np.minimum(rng.integers(0, 400, n), rng.integers(20, 500, n)).astype(float)
    events = (rng.random(n) < 0.6).astype(float)
    rows = np.flatnonzero(own)
    km_c = fit_censoring("km", durations, events, tau, rows, X)
    assert km_c is not None and km_c.product_limit
    fit = fit_cox(X[rows], durations[rows], events[rows], ties="efron")
    outcome = Model(cox_influence(fit, X[rows], durations[rows], events[rows], 365.0), rows, X)
    grid = Grid.build(durations, tau)
    flat = own / own.sum()
    old = regime_means(grid, durations, events, tau, own, np.zeros((n, 2)), flat, outcome, km_c, flat)
    ipcw, grad = ipcw_product_limit(grid, durations, events, tau, own, flat, km_c)
    _close(np.nan_to_num(ipcw), np.nan_to_num(old.ipcw))
    assert np.isnan(ipcw[~own]).all()
    _close(grad[0], old.censor_grad_hazard[0])


@pytest.mark.parametrize("censoring_kind", ["cox", "km", None])
@pytest.mark.parametrize("varying_tau", [False, True])
@pytest.mark.parametrize("cells", [1, 150_000])
def test_regime_means_on_rows_sorted_by_end_matches_the_whole_grid_version(
        censoring_kind, varying_tau, cells, monkeypatch):
    # every row's own work stops at min(X, tau); the reference fills every cell to the horizon
    from anker.outcome import aipcw
    from anker.outcome.censoring import fit_censoring

    rng = np.random.default_rng(11)
    n = 1_500
    X = rng.normal(size=(n, 2))
    own = rng.random(n) < 0.5
    tau = rng.choice([90.0, 180.0, 365.0], n) if varying_tau else np.full(n, 365.0)
    durations = np.minimum(rng.integers(1, 400, n), rng.integers(20, 500, n)).astype(float)
    events = (rng.random(n) < 0.6).astype(float)
    rows = np.flatnonzero(own)
    fit = fit_cox(X[rows], durations[rows], events[rows], ties="efron")
    outcome = aipcw.Model(cox_influence(fit, X[rows], durations[rows], events[rows], 365.0), rows, X)
    cens = (None if censoring_kind is None else
            fit_censoring(censoring_kind, durations, events, tau, rows, X))
    grid = aipcw.Grid.build(durations, tau)
    omega = own * rng.random(n)
    omega /= omega.sum()
    coef_m = rng.random((n, 2))
    target = (~own).astype(float)
    args = (grid, durations, events, tau, own, coef_m, omega, outcome, cens, target)
    want = regime_means_reference(*args)
    monkeypatch.setattr(aipcw, "_CELLS_PER_CHUNK", cells)
    got = aipcw.regime_means(*args)
    for field in ("m", "ipcw", "psi", "outcome_grad_beta", "outcome_grad_hazard",
                  "censor_grad_beta", "censor_grad_hazard", "mean_survival"):
        new, old = getattr(got, field), getattr(want, field)
        if old is None or old.size == 0:
            assert new is None or new.size == 0, field
            continue
        np.testing.assert_array_equal(np.isnan(new), np.isnan(old))
        _close(np.nan_to_num(new), np.nan_to_num(old))
    assert got.min_censoring_survival == pytest.approx(want.min_censoring_survival, rel=RTOL)


def test_ipcw_without_early_censoring_is_the_restricted_time_itself():
    # nothing censored before its restriction time: no censoring model, G = 1
    from anker.outcome.aipcw import Grid, ipcw_product_limit

    rng = np.random.default_rng(4)
    n = 500
    own = rng.random(n) < 0.5
    tau = rng.choice([90.0, 365.0], n)
    durations = rng.integers(0, 500, n).astype(float)
    events = np.where(durations < tau, 1.0, rng.integers(0, 2, n).astype(float))
    ipcw, grad = ipcw_product_limit(Grid.build(durations, tau), durations, events, tau, own,
                                    own / own.sum(), None)
    assert grad is None
    np.testing.assert_array_equal(ipcw[own], np.minimum(durations, tau)[own])
    assert np.isnan(ipcw[~own]).all()


def test_blocked_rank_check_matches_the_whole_pivoted_qr(monkeypatch):
    """The collinearity check's TSQR over row blocks: same pivots and R diagonal as one QR."""
    from scipy import linalg

    from anker.outcome import checks

    monkeypatch.setattr(checks, "_QR_ROWS", 97)  # many blocks, the last one short
    rng = np.random.default_rng(12)
    n = 1_000
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n), 1e3 * rng.exponential(size=n),
                         rng.integers(0, 4, n)])
    A = rng.integers(0, 2, n).astype(float)
    M = np.column_stack((np.ones(n), A, X))
    scale = M.std(axis=0)
    scale[:2] = 1.0
    _, R_whole, pivot_whole = linalg.qr(M / scale, mode="economic", pivoting=True)
    R, pivot, got_scale = checks._pivoted_r(A, X)
    np.testing.assert_array_equal(pivot, pivot_whole)
    np.testing.assert_allclose(got_scale, scale, rtol=1e-12)
    np.testing.assert_allclose(np.abs(np.diag(R)), np.abs(np.diag(R_whole)), rtol=1e-10)
    # a term that is another one plus the cohort: named, across blocks
    df = pd.DataFrame({"cohort": np.where(A == 1, "b", "a"), "duration_days": rng.integers(1, 400, n),
                       "exited": rng.integers(0, 2, n), "x": X[:, 0], "y": X[:, 0] + 2 * A})
    with pytest.raises(anker.AnkerDataError, match="collinear"):
        anker.compare_cohorts(df, reference="a", covariates=["x", "y"], horizon=300, n_boot=0)


def test_ph_test_takes_the_pooled_design_unstacked(pop):
    """zph on (cohort, X) as a pair equals zph on the stacked design."""
    df = pop.head(4_000)
    X = DesignSpec.learn(df, ["age", "tightness", "prior_spells"]).transform(df)
    A = (df["cohort"] == "coaching_2007").to_numpy(float)
    durations, events = df["duration_days"].to_numpy(float), df["exited"].to_numpy(float)
    Z = np.column_stack((A, X))
    fit = fit_cox(Z, durations, events)
    stacked = zph_score_test(fit, Z, durations, events)
    pair = zph_score_test(fit, (A, X), durations, events)
    np.testing.assert_allclose(pair.to_numpy(float), stacked.to_numpy(float), rtol=1e-10)


def test_pooled_fit_in_time_order_matches_the_stacked_design(pop, monkeypatch):
    # formed sorted and centred in place: the same fit as on the stacked design
    from anker.models import partial_likelihood
    from anker.outcome.estimators import cox_design, fit_pooled

    X = DesignSpec.learn(pop, list(DEFAULT_COVARIATES)).transform(pop)
    A = (pop["cohort"] == "coaching_2007").to_numpy(float)
    durations = pop["duration_days"].to_numpy(float)
    events = pop["exited"].to_numpy(float)
    before = X.copy()
    got = fit_pooled(A, X, durations, events)
    want = fit_cox(cox_design(A, X), durations, events, ties="efron")
    np.testing.assert_array_equal(X, before)  # the caller's design is not touched
    _close(got.coef, want.coef)
    _close(got.cov, want.cov)
    _close(got.center, want.center)
    _close(got.baseline_cumhaz, want.baseline_cumhaz)
    assert got.loglik == pytest.approx(want.loglik, rel=RTOL)
    order = np.random.default_rng(0).permutation(X.shape[0])
    monkeypatch.setattr(partial_likelihood, "_CHUNK_ROWS", 7)  # many row blocks
    np.testing.assert_array_equal(partial_likelihood.sorted_columns(X, order), X[order].T)


@pytest.mark.parametrize("weighted", [False, True])
def test_breslow_influence_in_blocks_matches_the_whole_matrix_version(pop, monkeypatch, weighted):
    from anker.models import cox_functionals
    from tests.helpers.scale_reference import breslow_influence_reference

    X = DesignSpec.learn(pop, list(DEFAULT_COVARIATES)).transform(pop)
    durations = pop["duration_days"].to_numpy(float)  # whole days: many tied times
    events = 1.0 - pop["exited"].to_numpy(float)
    w = np.random.default_rng(1).uniform(0.2, 3.0, durations.size) if weighted else None
    fit = fit_cox(X, durations, events, ties="breslow")
    monkeypatch.setattr(cox_functionals, "_ROWS_PER_CHUNK", 97)  # many row blocks
    got = cox_influence(fit, X, durations, events, float(durations.max()), weights=w)
    hazard, event_weight, compensator, beta_path, beta_contribution, exp_lp = \
        breslow_influence_reference(fit, X, durations, events, w)
    assert got.times.size == fit.baseline_times.size  # the horizon keeps every time
    for new, old in ((got.hazard, hazard), (got._event_weight, event_weight),
                     (got._compensator, compensator), (got._beta_path, beta_path),
                     (got.beta_contribution, beta_contribution), (got._exp_lp, exp_lp)):
        _close(new, old)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cohort_fit_in_time_order_matches_the_fit_of_the_copied_rows(pop, ties):
    # one time-ordered, centred copy of the cohort's rows: the fit and linearisation of X[rows]
    from anker.outcome.cohort_cox import fit_rows

    X = DesignSpec.learn(pop, list(DEFAULT_COVARIATES)).transform(pop)
    durations = pop["duration_days"].to_numpy(float)
    events = pop["exited"].to_numpy(float)
    rows = np.flatnonzero(pop["cohort"].to_numpy() == "coaching_2007")
    before = X.copy()
    fitted = fit_rows(X, rows, durations[rows], events[rows], ties=ties)
    np.testing.assert_array_equal(X, before)
    want = fit_cox(X[rows], durations[rows], events[rows], ties=ties)
    for field in ("coef", "cov", "center", "baseline_cumhaz"):
        _close(getattr(fitted.fit, field), getattr(want, field))
    assert sorted(fitted.rows) == list(rows)
    horizon = 365.0
    got = fitted.influence(horizon)
    ref = cox_influence(want, X[rows], durations[rows], events[rows], horizon)
    back = np.searchsorted(rows, fitted.rows)  # position of each ordered row among rows
    assert got.fit is fitted.fit
    _close(got.hazard, ref.hazard)
    _close(got.beta_contribution, ref.beta_contribution[back])
    _close(got._exp_lp, ref._exp_lp[back])
    np.testing.assert_array_equal(got._lived_index, ref._lived_index[back])
    np.testing.assert_array_equal(got._event_index, ref._event_index[back])
    grad_beta, grad_hazard = np.ones((1, X.shape[1])), np.ones((1, got.times.size))
    _close(got.contributions(grad_beta, grad_hazard), ref.contributions(grad_beta, grad_hazard)[back])
    with pytest.raises(RuntimeError, match="already taken"):
        fitted.influence(horizon)  # its design copy now holds the contributions


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_influence_written_over_the_design_is_the_same(pop, ties):
    X = DesignSpec.learn(pop, list(DEFAULT_COVARIATES)).transform(pop)
    durations = pop["duration_days"].to_numpy(float)
    events = pop["exited"].to_numpy(float)
    fit = fit_cox(X, durations, events, ties=ties)
    want = cox_influence(fit, X, durations, events, 365.0)
    Z = X.copy(order="A")  # the same memory layout: the same products, to the bit
    got = cox_influence(fit, Z, durations, events, 365.0, overwrite_Z=True)
    assert np.shares_memory(got.beta_contribution, Z)
    np.testing.assert_array_equal(got.beta_contribution, want.beta_contribution)
    np.testing.assert_array_equal(got._exp_lp, want._exp_lp)


def test_sorted_columns_of_a_column_major_design():
    from anker.models.partial_likelihood import sorted_columns

    X = np.asfortranarray(np.random.default_rng(2).normal(size=(50, 3)))
    order = np.random.default_rng(3).permutation(50)[:40]
    np.testing.assert_array_equal(sorted_columns(X, order), X[order].T)
    np.testing.assert_array_equal(sorted_columns(np.ascontiguousarray(X), order), X[order].T)
