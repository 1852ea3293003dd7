"""Two threads share the comparison's row chunks and the bootstrap's counting: the results do
not depend on it. Each chunk goes to a fixed thread and the two sums are added in a fixed
order, so a result is the same in every run, and equal to the one-thread sum to rounding."""

from __future__ import annotations

import warnings

import numpy as np

import anker
import anker.survival.bootstrap as bootstrap_module
from anker.survival import multiplier_bootstrap


def _compare(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return anker.compare_cohorts(df, covariates=["age", "tightness", "sector"], n_boot=50,
                                     seed=4)


def test_threaded_chunks_give_the_same_comparison_every_run_and_as_one_thread(monkeypatch):
    df = anker.simulate_population(n_per_cohort=3_000, seed=8).data  # dozens of chunks
    first, second = _compare(df), _compare(df)
    assert first.estimates.equals(second.estimates)
    assert first.replicates.equals(second.replicates)
    calls = []

    def one_thread(work, chunks):
        calls.append(len(chunks))
        return [work(list(chunks)), work([])]

    for module in ("anker.outcome.aipcw", "anker.outcome.competing", "anker.models.efron",
                   "anker.models.logistic"):
        monkeypatch.setattr(f"{module}.map_chunks", one_thread)
    serial = _compare(df)
    assert calls and max(calls) > 2  # the comparison had chunks to share
    np.testing.assert_allclose(serial.estimates[["estimate", "se"]].to_numpy(),
                               first.estimates[["estimate", "se"]].to_numpy(), rtol=1e-11)
    np.testing.assert_allclose(serial.competing.adjusted.to_numpy(),
                               first.competing.adjusted.to_numpy(), rtol=1e-11)


def test_threaded_bootstrap_counting_keeps_the_replicates(monkeypatch):
    rng = np.random.default_rng(2)
    n = 300_000  # above the threshold: every second block counted on the second thread
    assert n >= bootstrap_module._THREADED_ROWS
    values = rng.normal(size=(n, 3))
    strata = rng.integers(0, 2, n)
    threaded = multiplier_bootstrap(values, n_boot=20, seed=5, strata=strata)
    again = multiplier_bootstrap(values, n_boot=20, seed=5, strata=strata)
    assert np.array_equal(threaded, again)
    monkeypatch.setattr(bootstrap_module, "_THREADED_ROWS", 10**12)
    serial = multiplier_bootstrap(values, n_boot=20, seed=5, strata=strata)
    np.testing.assert_allclose(threaded, serial, rtol=1e-12, atol=1e-15)
