"""Inference of the cohort comparison: SEs, bootstrap replicates and intervals per method.

Every estimator of `anker.outcome.estimators` comes with per-spell
contributions c_i (estimate - truth ~= sum c_i). From them:

- the SE, with the cohort sizes fixed by design: sqrt of the within-cohort
  centred sum of squares (with clusters: of the cluster sums);
- bootstrap replicates by the multiplier door of `anker.survival`
  (one resample of spells, or of whole clusters, shared by all methods),
  and for the unadjusted difference without clusters by the Kaplan-Meier
  cell-count door (`bootstrap_km_rmst`);
- percentile intervals, or normal ones when there is no bootstrap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from anker.outcome.did import adjusted_did
from anker.outcome.estimators import naive
from anker.schema import BENEFIT_DAYS_PER_CALENDAR_DAY
from anker.survival.bootstrap import bootstrap_km_rmst, multiplier_bootstrap, percentile_ci

COLUMNS = ["estimate", "se", "ci_low", "ci_high", "estimate_benefit_days", "ci_low_benefit_days",
           "ci_high_benefit_days", "rmst_other", "rmst_reference"]


def interval(estimate: float, se: float, replicates: np.ndarray | None,
             level: float) -> tuple[float, float]:
    """Percentile interval of the replicates, or estimate -/+ z se without them."""
    if replicates is not None and replicates.size >= 2 and np.isfinite(replicates).all():
        return percentile_ci(replicates, level)
    z = stats.norm.ppf(0.5 + level / 2)
    return estimate - z * se, estimate + z * se


def stratified_se(contribution: np.ndarray, strata: np.ndarray | None) -> float:
    """SE from contributions with stratum sizes fixed: within-stratum centred sum of squares."""
    if strata is None:
        return float(np.sqrt(np.sum((contribution - contribution.mean()) ** 2)))
    total = 0.0
    for s in np.unique(strata):
        c = contribution[strata == s]
        total += float(np.sum((c - c.mean()) ** 2))
    return float(np.sqrt(total))


def did_contributions(checked, horizon: float) -> tuple[float, np.ndarray]:
    """Difference in differences of Kaplan-Meier RMST and its contributions (all rows)."""
    A, durations, events = checked.all_A, checked.all_durations, checked.all_events
    estimate = 0.0
    contribution = np.zeros(A.size)
    for group, sign in ((0, 1.0), (1, -1.0)):
        member = checked.comparison == group
        res = naive(durations[member], events[member], A[member], horizon)
        estimate += sign * res.estimate
        contribution[member] = sign * res.contribution
    return estimate, contribution


def bootstrap(contributions: dict[str, np.ndarray], *, A: np.ndarray, cluster, n_boot: int,
               seeds, durations, events, horizon, did_strata, did_cluster,
               km_door: bool = True) -> dict:
    """SE and bootstrap perturbations per method: {method: (se, perturbations or None)}.

    Spells are resampled within cohorts, or whole clusters (coaches, offices)
    when ``cluster`` is given. Without clusters the naive difference is
    bootstrapped by the Kaplan-Meier cell-count door; everything else by the
    multiplier door, one draw shared by the adjusted methods.
    """
    out = {}
    rng = np.random.default_rng(seeds[1])
    for name, rows_A, rows_cluster, strata in (
            ("main", A, cluster, A), ("did", None, did_cluster, did_strata)):
        methods = [m for m in contributions if m.startswith("did") == (name == "did")]
        if not methods:
            continue
        matrix = np.column_stack([contributions[m] for m in methods])
        if rows_cluster is not None:
            matrix, strata = cluster_sums(matrix, rows_cluster, strata)
        ses = [stratified_se(matrix[:, j], strata) for j in range(len(methods))]
        perturbation = None
        if n_boot:
            perturbation = multiplier_bootstrap(matrix.shape[0] * matrix, n_boot=n_boot,
                                                seed=rng, strata=strata)
        for j, m in enumerate(methods):
            out[m] = (ses[j], None if perturbation is None else perturbation[:, j])
    if n_boot and cluster is None and km_door and "naive" in out:
        boot = bootstrap_km_rmst(durations, events, A, horizon, n_boot=n_boot,
                                 seed=np.random.default_rng(seeds[0]), reference=0.0)
        out["naive"] = (out["naive"][0], boot.difference_replicates - boot.difference)
    return out


def cluster_sums(matrix: np.ndarray, cluster: np.ndarray, strata: np.ndarray):
    """Sum contributions per cluster; strata of the clusters when each lies in one stratum."""
    labels, index = np.unique(cluster, return_inverse=True)
    sums = np.stack([np.bincount(index, weights=matrix[:, j], minlength=labels.size)
                     for j in range(matrix.shape[1])], axis=1)
    first = np.full(labels.size, -1.0)
    first[index] = strata
    nested = np.all(first[index] == strata)
    return sums, (first if nested else None)


def estimates_table(est, checked, *, n_boot: int, seed, level: float, km_door: bool = True,
                    X_all: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The per-method table of `compare_cohorts` and the bootstrap replicates per method."""
    seeds = np.random.SeedSequence(seed if not isinstance(seed, np.random.Generator)
                                   else int(seed.integers(2**63))).spawn(2)
    contributions = {m: res.contribution for m, res in est.results.items()}
    values = {m: (res.estimate, res.rmst_other, res.rmst_reference)
              for m, res in est.results.items()}
    if checked.comparison is not None:
        did_estimate, contributions["did"] = did_contributions(checked, checked.horizon)
        values["did"] = (did_estimate, np.nan, np.nan)
        if X_all is not None:
            adj, contributions["did_adjusted"] = adjusted_did(
                checked.all_durations, checked.all_events, checked.all_A, checked.comparison,
                X_all, checked.horizon)
            values["did_adjusted"] = (adj, np.nan, np.nan)
    inference = bootstrap(contributions, A=checked.A, cluster=checked.cluster, n_boot=n_boot,
                          seeds=seeds, durations=checked.durations, events=checked.events,
                          horizon=checked.horizon,
                          did_strata=None if checked.comparison is None else
                          checked.all_A * 2 + checked.comparison,
                          did_cluster=checked.all_cluster, km_door=km_door)
    replicates: dict[str, np.ndarray] = {}
    rows = {}
    for m in contributions:
        value, other_rmst, reference_rmst = values[m]
        se, perturbation = inference[m]
        if perturbation is not None:
            replicates[m] = value + perturbation
        low, high = interval(value, se, replicates.get(m), level)
        rows[m] = {"estimate": value, "se": se, "ci_low": low, "ci_high": high,
                   "rmst_other": other_rmst, "rmst_reference": reference_rmst}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "method"
    for col in ("estimate", "ci_low", "ci_high"):
        table[f"{col}_benefit_days"] = table[col] * BENEFIT_DAYS_PER_CALENDAR_DAY
    return table[COLUMNS], replicates
