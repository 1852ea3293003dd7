"""G-computation of the cohort comparison on a Dask frame, exact, from per-partition sums.

The in-memory g-computation (`anker.outcome.estimators`, one Cox model per
cohort with Efron ties) predicts every target spell's restricted mean
m_i^a = integral_0^h S_a(t | x_i) dt under each regime a and averages them;
its SE comes from per-spell contributions that carry the estimation of both
Cox models. Given a few arrays per event day, each piece is a sum over rows,
so on a Dask frame:

1. each cohort's Cox model is fitted by the per-day moments of `fit_cox_dask`;
2. one pass sums each cohort's Efron pieces at the estimate
   (`anker.models.efron.efron_sums`); the driver turns them into the Efron
   baseline and its linearisation;
3. one pass sums the regime means and their gradients over the target spells
   (`anker.models.cox_functionals.rmst_functional`);
4. one pass forms each spell's contribution where it lies
   (`anker.models.cox_functionals.CoxInfluence.contributions`) and sums
   their squares per cohort: the SE with the cohort sizes fixed.

Only arrays of the event days travel. The estimate and its SE are those of
``compare_cohorts(df, method="gcomp", n_boot=0, outcome="time_on_benefit")``
on the same rows, to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anker.distributed._frames import map_blocks, persist_blocks
from anker.distributed.cox import cox_blocks
from anker.distributed.design import learn_design_dask, numeric_column
from anker.models.cox import CoxFit
from anker.models.cox_functionals import CoxInfluence, cox_influence, rmst_functional
from anker.models.design import DesignSpec
from anker.models.efron import EfronTerms, efron_sums, efron_terms_from_sums

__all__ = ["GcompParts", "gcomp_dask"]

ESTIMANDS = ("att", "ate")


@dataclass(frozen=True)
class GcompParts:
    """The g-computation estimate of a Dask frame and what it rests on (calendar days or the
    durations' unit).

    ``means``: (reference regime, other regime) restricted means over the
    target spells; ``estimate`` their difference; ``se`` its SE from the
    per-spell contributions (within-cohort centred, cohort sizes fixed);
    ``fits``: the Cox model per regime (0 reference, 1 other), Efron ties;
    ``curves``: (event times, mean survival over the target spells) per regime.
    """

    estimate: float
    se: float
    means: tuple[float, float]
    fits: tuple[CoxFit, CoxFit]
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    spec: DesignSpec
    n_target: int


def _block(part: pd.DataFrame, spec: DesignSpec, cohort_col: str, labels: tuple[Any, Any],
           duration_col: str, event_col: str):
    part = part[part[cohort_col].isin(list(labels))]
    X = spec.transform(part, warn_unseen=False)
    durations = numeric_column(part, duration_col, "durations")
    events = numeric_column(part, event_col, "event flag")
    return X, durations, events, (part[cohort_col] == labels[1]).to_numpy(dtype=float)


def _target(A: np.ndarray, estimand: str) -> np.ndarray:
    return A == 1 if estimand == "att" else np.ones(A.size, bool)


def _efron_part(block, fits: Sequence[CoxFit]):
    X, durations, events, A = block
    return [efron_sums(fit, X[A == a], durations[A == a], events[A == a])
            for a, fit in enumerate(fits)]


def _means_part(block, bases: Sequence[CoxInfluence], estimand: str, n_target: int):
    X, _, _, A = block
    Zt = X[_target(A, estimand)]
    weight = np.full(Zt.shape[0], 1.0 / n_target)
    out = []
    for base in bases:
        f = rmst_functional(base, Zt, weight)
        out.append((float(weight @ f.values), f.grad_beta, f.grad_hazard,
                    f.mean_survival * Zt.shape[0]))
    return out


def _contribution_part(block, bases: Sequence[CoxInfluence], terms: Sequence[EfronTerms],
                       grads, means: Sequence[float], estimand: str, n_target: int,
                       horizon: float):
    """Per cohort: (spells, mean and centred sum of squares of their contributions)."""
    X, durations, events, A = block
    target = _target(A, estimand)
    contribution = np.zeros(A.size)
    for a, base in enumerate(bases):
        sign = 1.0 if a == 1 else -1.0
        weight = np.full(int(target.sum()), 1.0 / n_target)
        m = rmst_functional(base, X[target], weight).values
        contribution[target] += sign * weight * (m - means[a])
        own = A == a
        infl = cox_influence(base.fit, X[own], durations[own], events[own], horizon,
                             terms=terms[a])
        contribution[own] += sign * infl.contributions(*grads[a])[:, 0]
    out = []
    for a in (0, 1):
        c = contribution[A == a]
        mean = float(c.mean()) if c.size else 0.0
        out.append((c.size, mean, float(((c - mean) ** 2).sum())))
    return out


def _pooled_sum_of_squares(parts) -> float:
    """Within-cohort centred sum of squares from per-partition (n, mean, M2) (Chan et al.)."""
    total = 0.0
    for a in (0, 1):
        n = np.array([p[a][0] for p in parts], dtype=float)
        mean = np.array([p[a][1] for p in parts])
        m2 = np.array([p[a][2] for p in parts])
        grand = float(n @ mean / n.sum())
        total += float(m2.sum() + n @ (mean - grand) ** 2)
    return total


def gcomp_dask(ddf: Any, *, cohort_col: str, labels: tuple[Any, Any], covariates: Sequence[str],
               duration_col: str, event_col: str, horizon: float, estimand: str = "att",
               reference_levels: dict[str, Any] | None = None) -> GcompParts:
    """G-computation RMST difference (``labels[1]`` minus ``labels[0]``) of a Dask frame.

    The estimate of ``compare_cohorts(df, method="gcomp", outcome="time_on_benefit",
    outcome_model="per_cohort")`` on the two cohorts' rows: one Cox model per
    cohort on the design of ``covariates``, each target spell's restricted
    mean up to ``horizon`` under both regimes, averaged over the other
    cohort (``estimand="att"``) or both (``"ate"``). `anker.compare_cohorts`
    calls it for ``method="gcomp"`` on a Dask frame.

    Examples
    --------
    >>> import anker, dask.dataframe as dd
    >>> df = anker.simulate_population(n_per_cohort=800, seed=1).data
    >>> ddf = dd.from_pandas(df, npartitions=3)
    >>> parts = gcomp_dask(ddf, cohort_col="cohort", labels=("casemanagement_2004", "coaching_2007"),
    ...                    covariates=["age", "tightness"], duration_col="duration_days",
    ...                    event_col="exited", horizon=365)
    >>> memory = anker.compare_cohorts(df, covariates=["age", "tightness"], method="gcomp",
    ...                                n_boot=0, outcome="time_on_benefit")
    >>> bool(abs(parts.estimate - memory.rmst_difference) < 1e-8)
    True
    """
    if estimand not in ESTIMANDS:
        raise ValueError(f"estimand={estimand!r}: on a Dask frame the g-computation estimates "
                         f"one of {list(ESTIMANDS)} (overlap weights need the propensity model "
                         "in memory)")
    covariates = list(covariates)
    chosen = ddf[ddf[cohort_col].isin(list(labels))]
    spec = learn_design_dask(chosen, covariates, reference_levels=reference_levels)
    fits = tuple(cox_blocks(ddf[ddf[cohort_col] == label], spec, duration_col, event_col)[0]
                 for label in labels)
    blocks = persist_blocks(ddf, _block, spec, cohort_col, labels, duration_col, event_col)
    p = len(spec.term_names)
    summed = map_blocks(_efron_part, blocks, fits)
    # each cohort's sums over all partitions (EfronSums add)
    totals = [sum((s[a] for s in summed[1:]), summed[0][a]) for a in range(len(fits))]
    terms = [efron_terms_from_sums(fit.baseline_times, total)
             for fit, total in zip(fits, totals, strict=True)]
    empty = np.empty((0, p)), np.empty(0), np.empty(0)
    bases = [cox_influence(fit, *empty, horizon, terms=t) for fit, t in zip(fits, terms, strict=True)]
    n_target = int(sum(map_blocks(_target_count, blocks, estimand)))
    parts = map_blocks(_means_part, blocks, bases, estimand, n_target)
    means, grads, curves = [], [], {}
    for a, base in enumerate(bases):
        means.append(float(np.sum([q[a][0] for q in parts])))
        grads.append((np.sum([q[a][1] for q in parts], axis=0),
                      np.sum([q[a][2] for q in parts], axis=0)))
        survival = np.sum([q[a][3] for q in parts], axis=0) / n_target
        curves["gcomp_other" if a == 1 else "gcomp_reference"] = (base.times, survival)
    spread = map_blocks(_contribution_part, blocks, bases, terms, grads, means, estimand,
                        n_target, horizon)
    se = float(np.sqrt(_pooled_sum_of_squares(spread)))
    return GcompParts(estimate=means[1] - means[0], se=se, means=(means[0], means[1]),
                      fits=fits, curves=curves, spec=spec, n_target=n_target)


def _target_count(block, estimand: str) -> int:
    return int(_target(block[3], estimand).sum())
