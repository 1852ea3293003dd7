"""Exits to work as a competing exit: cumulative incidence and restricted mean time lost by cause.

A spell ends by an exit to work, another exit, or exhaustion of the
entitlement; data end censors it. For each cause k and horizon h:

- the cumulative incidence F_k(h) = P(the spell ended by cause k by h);
- the restricted mean time lost to cause k, integral_0^h F_k(t) dt
  (calendar days; the causes' times lost add up to h - RMST of the time to
  any end).

Per cohort by Aalen-Johansen (unadjusted: F_k(h) = sum_{t_j <= h} S(t_j-) d_kj / Y_j,
S the Kaplan-Meier of any end); and the adjusted difference (other regime
minus reference, over the target population of the estimand) of exits to
work by g-computation with one cause-specific Cox model per cause and
cohort, with a normal CI from influence values that include every model's
estimation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from anker._threads import map_chunks
from anker.errors import AnkerDataError
from anker.models.cox import CoxFit
from anker.models.cox_functionals import cox_influence
from anker.models.efron import EfronTerms
from anker.outcome.cohort_cox import fit_rows
from anker.outcome.inference import cluster_sums, stratified_se
from anker.survival import product_limit

CAUSES = ("work", "other", "exhausted")
# cells per block of (rows x times) matrices in the g-formula: ~1.2 MB per float64
# array, small enough for a core's L2 cache
_CELLS_PER_CHUNK = 150_000


@dataclass(frozen=True)
class _Baseline:
    """A cause-specific fit and its Efron baseline hazard up to the horizon."""

    fit: CoxFit
    times: np.ndarray
    hazard: np.ndarray
    terms: EfronTerms
    events: np.ndarray


@dataclass(frozen=True, repr=False)
class CompetingExits:
    """Result of `competing_exits`, calendar days.

    ``per_cohort``: DataFrame (cohort x cause) of Aalen-Johansen cumulative
    incidence ``cif`` and restricted mean time lost ``rmtl`` by the horizon.
    ``adjusted``: DataFrame indexed by quantity (``cif_work``, ``rmtl_work``):
    estimate (other regime minus reference), se, ci_low, ci_high, and the two
    regimes' values; g-computation with cause-specific Cox models.
    """

    horizon: float
    level: float
    estimand: str
    per_cohort: pd.DataFrame
    adjusted: pd.DataFrame

    def __repr__(self) -> str:
        return (f"Competing exits up to {self.horizon:g} calendar days\n"
                f"{self.per_cohort.to_string(float_format=lambda x: f'{x:,.3f}')}\n\n"
                f"adjusted difference ({self.estimand.upper()}, g-computation):\n"
                f"{self.adjusted.to_string(float_format=lambda x: f'{x:,.3f}')}")


def causes_of(reason: pd.Series, events: np.ndarray) -> np.ndarray:
    """Cause per spell ('' for censored), checked against the event flag."""
    values = reason.astype(str).to_numpy()
    known = np.isin(values, (*CAUSES, "censored"))
    if not known.all():
        raise AnkerDataError(f"exit reason column {reason.name!r} has unknown value(s) "
                             f"{sorted(set(values[~known]))[:5]}; expected work, other, exhausted "
                             "or censored", columns=[str(reason.name)])
    exit_kind = np.isin(values, ("work", "other"))
    if (exit_kind != (events == 1)).any():
        raise AnkerDataError(f"exit reason column {reason.name!r} disagrees with the event flag in "
                             f"{int((exit_kind != (events == 1)).sum())} row(s)",
                             columns=[str(reason.name)])
    return np.where(values == "censored", "", values)


def aalen_johansen(durations: np.ndarray, cause: np.ndarray, horizon: float) -> pd.DataFrame:
    """Cumulative incidence and time lost by cause up to the horizon (one group).

    Examples
    --------
    By hand: day 1, 1 of 4 at risk leaves for work (F_work 1/4, S 3/4); day 2, other
    (F_other 3/4 x 1/3); day 3 censored; day 4, the last one leaves for work (+ 1/2 x 1/1).

    >>> aj = aalen_johansen(np.array([1.0, 2, 3, 4]), np.array(["work", "other", "", "work"]), 5)
    >>> aj["cif"].round(3).to_dict()
    {'work': 0.75, 'other': 0.25, 'exhausted': 0.0}
    """
    ended = cause != ""
    times = np.unique(durations[ended & (durations <= horizon)])
    at_risk = durations.size - np.searchsorted(np.sort(durations), times, side="left")
    # exits per (cause, time) by counting, not one pass over the spells per day
    counted = ended & (durations <= horizon)
    at_time = np.searchsorted(times, durations[counted])
    d_all = np.bincount(at_time, minlength=times.size).astype(float)
    surv_before = np.concatenate(([1.0], product_limit(at_risk, d_all)[:-1]))  # S(t_j-)
    rows = {}
    for k in CAUSES:
        d_k = np.bincount(at_time[cause[counted] == k], minlength=times.size).astype(float)
        jumps = surv_before * d_k / at_risk
        rows[k] = {"cif": float(jumps.sum()), "rmtl": float(jumps @ (horizon - times))}
    return pd.DataFrame.from_dict(rows, orient="index")


def _gformula(models, X: np.ndarray, target: np.ndarray, weights: np.ndarray, horizon: float):
    """Mean F_work(h) and time lost to work over the ``target`` rows (indices of ``X``), with
    gradients per model.

    The (rows x times) matrices are formed a block of rows at a time: every gradient is a
    weighted sum over rows, so only per-time column sums are carried between blocks.
    """
    times = np.unique(np.concatenate([m[0].times for m in models.values()]))
    jump = {k: np.zeros(times.size) for k in models}
    for k, (infl, _) in models.items():
        jump[k][np.searchsorted(times, infl.times)] = infl.hazard
    a = np.vstack((np.ones(times.size), horizon - times))  # F and the time lost
    cum = {k: np.concatenate(([0.0], np.cumsum(jump[k])[:-1])) for k in models}  # Lambda(t_j-)
    # F = sum_j a_j S(t_j-) r_w lambda_wj; d/d lambda_km: -r_k sum_{j > m} (...) + [k = w] r_w S(t_m-)
    per_row = np.empty((target.size, 2))
    cum_stack = -np.vstack([cum[k] for k in models])  # (causes, times)
    cum_a = {k: (cum[k] * a).T for k in models}  # sum_j a_j Lambda_k(t_j-) x_j as one product
    size = max(256, _CELLS_PER_CHUNK // max(times.size, 1))

    def work(blocks):
        """One thread's blocks of rows: its own sums; per_row written at its rows."""
        col = {k: np.zeros((2, times.size)) for k in models}  # sum_i w_i r_ki inc_ij a_qj
        g_haz = {k: np.zeros((2, times.size)) for k in models}
        grad_beta = {k: np.zeros((2, m[0].fit.coef.size)) for k, m in models.items()}
        for rows in blocks:
            w = weights[rows]
            X_rows = X[target[rows]]
            zc = {k: X_rows - m[0].fit.center for k, m in models.items()}
            r = {k: np.exp(zc[k] @ m[0].fit.coef) for k, m in models.items()}
            S_before = np.column_stack([r[k] for k in models]) @ cum_stack
            np.exp(S_before, out=S_before)
            wr_work = w * r["work"]
            g_haz["work"] += (wr_work @ S_before) * a
            inc = S_before  # S(t_j-) r_w lambda_wj, in place: (rows, times)
            inc *= jump["work"][None, :]
            inc *= r["work"][:, None]
            block = inc @ a.T  # (rows, 2)
            per_row[rows] = block
            for k in models:
                wr = w * r[k]
                col[k] += (wr @ inc) * a
                lam_inc = inc @ cum_a[k]  # (rows, 2): sum_j a_j Lambda_k(t_j-) inc_j
                grad_beta[k] -= (wr[:, None] * lam_inc).T @ zc[k]
                if k == "work":
                    grad_beta[k] += (w[:, None] * block).T @ zc[k]
        return col, g_haz, grad_beta

    parts = map_chunks(work, [slice(b, b + size) for b in range(0, target.size, size)])
    col, g_haz, grad_beta = ({k: first[k] + second[k] for k in first}
                             for first, second in zip(*parts, strict=True))
    value = weights @ per_row
    grads = {}
    for k, (infl, _) in models.items():
        later = np.cumsum(col[k][:, ::-1], axis=1)[:, ::-1]  # sum over j' >= j
        later = np.concatenate((later[:, 1:], np.zeros((2, 1))), axis=1)  # over j' > j
        grads[k] = (grad_beta[k], (g_haz[k] - later)[:, np.searchsorted(times, infl.times)])
    return value, per_row, grads


def competing_exits(reason: pd.Series, durations: np.ndarray, events: np.ndarray, A: np.ndarray,
                    X: np.ndarray, horizon: float, *, reference, other, estimand: str = "att",
                    level: float = 0.95, cluster: np.ndarray | None = None) -> CompetingExits:
    """Exits to work as a competing exit, per cohort (Aalen-Johansen) and adjusted (g-computation)."""
    cause = causes_of(reason, events)
    per = {}
    for label, a in ((reference, 0), (other, 1)):
        member = A == a
        per[label] = aalen_johansen(durations[member], cause[member], horizon)
    per_cohort = pd.concat(per, names=["cohort", "cause"])
    target = (A == 1) if estimand == "att" else np.ones(A.size, bool)
    weights = np.full(int(target.sum()), 1.0 / target.sum())
    values, rows_values, contribution = {}, {}, np.zeros((A.size, 2))
    for a in (0, 1):
        rows = np.flatnonzero(A == a)
        models = {}
        for k in CAUSES:
            ev = (cause[rows] == k).astype(float)
            if ev[durations[rows] <= horizon].sum() == 0 and k != "work":
                continue
            with warnings.catch_warnings():
                # exhaustion is (nearly) determined by work history: its cause-specific model
                # separates, which only sharpens its hazard; the work model is checked below
                warnings.simplefilter("ignore", RuntimeWarning)
                fitted = fit_rows(X, rows, durations[rows], ev, ties="efron")
            # one (rows x terms) copy of the cohort at a time, this cause's fit's
            fit, terms = fitted.fit, fitted.efron_terms()
            del fitted
            keep = fit.baseline_times <= horizon
            models[k] = (_Baseline(fit, fit.baseline_times[keep], terms.hazard[keep], terms, ev),
                         rows)
        if "work" not in models:
            raise AnkerDataError("no exits to work up to the horizon in one cohort: the cumulative "
                                 "incidence of work cannot be modelled")
        value, rows_values[a], grads = _gformula(models, X, np.flatnonzero(target), weights,
                                                     horizon)
        values[a] = value
        sign = 1.0 if a == 1 else -1.0
        per_row = np.zeros((A.size, 2))
        for k, (base, rws) in models.items():
            # one cause's (rows x terms) linearisation at a time: the g-formula needed only
            # the fits and baseline hazards
            # the design copy becomes the (rows x terms) beta contributions
            infl = cox_influence(base.fit, X[rws], durations[rws], base.events, horizon,
                                 terms=base.terms, overwrite_Z=True)
            per_row[rws] += infl.contributions(*grads[k])
            del infl
        contribution += sign * per_row
    estimate = values[1] - values[0]
    # the target population's own spread: each row's difference around the mean
    contribution[target] += weights[:, None] * (rows_values[1] - rows_values[0] - estimate)
    z = stats.norm.ppf(0.5 + level / 2)
    strata = A
    if cluster is not None:  # whole clusters (coaches) as the sampling unit, as the comparison
        contribution, strata = cluster_sums(contribution, cluster, A)
    se = np.array([stratified_se(contribution[:, j], strata) for j in range(2)])
    adjusted = pd.DataFrame({
        "estimate": estimate, "se": se, "ci_low": estimate - z * se, "ci_high": estimate + z * se,
        "other_regime": values[1], "reference_regime": values[0],
    }, index=pd.Index(["cif_work", "rmtl_work"], name="quantity"))
    return CompetingExits(float(horizon), float(level), estimand, per_cohort, adjusted)
