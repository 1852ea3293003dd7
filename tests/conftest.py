"""Shared fixtures: small synthetic populations, made once per session."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("ANKER_QUIET", "1")

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DATA = ROOT / "data" / "synthetic" / "ww_spells_2004_2007.csv"
SHIPPED_SEED = 2005
SHIPPED_N_PER_COHORT = 20_000


def pytest_collection_modifyitems(items):
    """The docs build last: it renders the notebooks that tests/test_notebooks.py executed."""
    items.sort(key=lambda item: item.path.name == "test_docs.py")


@pytest.fixture(scope="session")
def small_population():
    import anker

    return anker.simulate_population(n_per_cohort=2_000, seed=11)


@pytest.fixture(scope="session")
def population():
    """The shipped data's population (2 x 20,000), truth included."""
    import anker

    return anker.simulate_population(n_per_cohort=SHIPPED_N_PER_COHORT, seed=SHIPPED_SEED)


@pytest.fixture(scope="module")
def dask_synchronous():
    """Dask on one thread for a module: fast and deterministic (a cluster test sets its own)."""
    dask = pytest.importorskip("dask")
    with dask.config.set(scheduler="synchronous"):
        yield
