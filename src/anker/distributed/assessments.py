"""Fit an ANKER test on a Dask frame with the exact distributed Newton fits."""

from __future__ import annotations

from typing import Any

import pandas as pd

from anker.assessments import BenefitDurationTest, ReintegrationTest
from anker.assessments._base import Assessment, register_dask_fit
from anker.assessments._logistic import LogisticAssessment
from anker.distributed._frames import map_blocks, meta, require_dask
from anker.distributed.cox import cox_blocks
from anker.distributed.design import learn_design_dask
from anker.distributed.logistic import logistic_blocks
from anker.errors import AnkerDataError, NotDistributedError
from anker.models.design import _is_categorical
from anker.schema import SCHEMA, require_columns, validate

__all__ = ["fit_test_dask", "fit_model_dask"]


def _validate(part: pd.DataFrame, columns: list[str], numeric: list[str]):
    """The schema's checks of a partition, its rows and the range of each numeric feature."""
    if len(part):
        validate(part, columns=columns)
    return len(part), {f: (float(part[f].min()), float(part[f].max())) for f in numeric
                       if len(part)}


def _outcome_range(part: pd.DataFrame, column: str) -> tuple[float, float]:
    values = pd.to_numeric(part[column])
    return float(values.min()), float(values.max())


def _outcomes(test: Assessment) -> list[str]:
    """The outcome columns of a test that can be fitted on a Dask frame; else a clear error."""
    name = type(test).__name__
    if isinstance(test, ReintegrationTest):
        raise NotDistributedError(f"{name} cannot be fitted on a Dask frame: its two outcome models, "
                         "propensity model and common-support check need the trajectory rows in "
                         "memory; fit it on ddf.compute() or a sample")
    if isinstance(test, BenefitDurationTest) and test.model != "cox":
        raise NotDistributedError(f"{name}(model={test.model!r}) cannot be fitted on a Dask frame: the "
                         "distributed fit is the Cox model; use model='cox' or fit in memory")
    if isinstance(test, LogisticAssessment):
        return [test.outcome_col]
    if isinstance(test, BenefitDurationTest):
        return [test.duration_col, test.event_col]
    raise TypeError(f"fit_test_dask: no distributed fit for {name}")


def fit_model_dask(model: Any, ddf: Any) -> Any:
    """``AnkerModel.fit`` on a Dask frame: each of its tests by `fit_test_dask`.

    Every test is checked first, so a model with a test that needs the rows in
    memory (the reintegration test) raises before anything is fitted.

    Examples
    --------
    >>> import anker, dask.dataframe as dd
    >>> df = anker.simulate_population(n_per_cohort=500, seed=1).data
    >>> model = anker.AnkerModel()
    >>> model.fit(dd.from_pandas(df, npartitions=2))
    Traceback (most recent call last):
    ...
    anker.errors.NotDistributedError: ReintegrationTest cannot be fitted on a Dask frame: its two outcome models, propensity model and common-support check need the trajectory rows in memory; fit it on ddf.compute() or a sample
    >>> model.is_fitted
    False
    """
    require_dask(ddf, "AnkerModel.fit")
    for test in model.tests.values():
        _outcomes(test)
    for test in model.tests.values():
        fit_test_dask(test, ddf)
    return model


def fit_test_dask(test: Assessment, ddf: Any) -> Assessment:
    """Fit a `ComplianceTest`, `LabourMarketTest` or Cox `BenefitDurationTest` on a Dask frame.

    The same checks as ``test.fit(df)`` (protected attributes, required
    columns, the schema's rules, checked per partition), the design's levels
    learned in one pass (`anker.distributed.learn_design_dask`) and the
    exact distributed fit: the fitted test equals ``test.fit(ddf.compute())``
    (coefficients and SEs to 1e-8) and saves and predicts as usual. Returns
    ``test``, fitted.

    The `ReintegrationTest` (two outcome models and a propensity model with an
    overlap check on the same rows) and the Weibull survival model are fitted
    in memory; they raise a ValueError saying so.

    Examples
    --------
    >>> import anker, dask.dataframe as dd
    >>> df = anker.simulate_population(n_per_cohort=1_000, seed=1).data
    >>> nt = fit_test_dask(anker.ComplianceTest(), dd.from_pandas(df, npartitions=3))
    >>> memory = anker.ComplianceTest().fit(df)
    >>> bool((nt.summary["coef"] - memory.summary["coef"]).abs().max() < 1e-8)
    True
    """
    require_dask(ddf, f"{type(test).__name__}.fit")
    outcomes = _outcomes(test)
    name = type(test).__name__
    test._check_protected()
    columns = list(dict.fromkeys(list(test.features) + outcomes))
    require_columns(meta(ddf), columns, role=name)
    known = [c for c in columns if c in SCHEMA]
    numeric = [f for f in test.features if not _is_categorical(meta(ddf)[f])]
    checked = map_blocks(_validate, ddf.to_delayed(), known, numeric)
    n = sum(c[0] for c in checked)
    if n == 0:
        raise AnkerDataError("no rows to fit on", columns=[])
    spec = learn_design_dask(ddf, test.features)
    if isinstance(test, LogisticAssessment):
        ranges = map_blocks(_outcome_range, ddf.to_delayed(), test.outcome_col)
        low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
        if low == high:
            raise ValueError(f"{test.outcome_col}: the outcome is {int(low)} for every row; "
                             "a logistic model needs both 0 and 1")
        fit, x_mean = logistic_blocks(ddf, spec, test.outcome_col, l2=test.l2)
    else:
        fit, x_mean, longest = cox_blocks(ddf, spec, test.duration_col, test.event_col,
                                          ties=test.ties)
        test.max_follow_up_ = longest
    test.spec_, test.n_fit_, test.fit_, test._x_mean = spec, n, fit, x_mean
    # the training range of each numeric feature, for the range check of predictions
    test.ranges_ = {f: (min(c[1][f][0] for c in checked if f in c[1]),
                        max(c[1][f][1] for c in checked if f in c[1])) for f in numeric}
    return test


register_dask_fit(fit_test_dask)
