"""Input checks of `anker.compare_cohorts`: every user mistake as one clear message.

Checked before any model is fitted, so nothing fails deep inside numpy: the
columns, the cohort column (two cohorts, or a named pair), durations and the
event flag, the horizon against each cohort's follow-up, exits per cohort,
covariates that do not vary, and (after the design matrix is built) terms
that are collinear with each other or with the cohort.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from anker.errors import AnkerDataError
from anker.models.logistic import SeparationWarning
from anker.schema import TimeUnit, require_columns, resolve_time_unit

_PREFERRED_REFERENCE = "casemanagement_2004"


class OverlapWarning(UserWarning):
    """The cohorts overlap poorly in their covariates: propensity weights are extreme."""


@dataclass
class CheckedInput:
    """The rows to analyse as arrays, and what was decided about them."""

    data: pd.DataFrame
    A: np.ndarray
    durations: np.ndarray
    events: np.ndarray
    horizon: float
    n_boot: int
    covariates: list[str]
    reference: Any
    other: Any
    comparison: np.ndarray | None = None
    all_A: np.ndarray | None = None
    all_durations: np.ndarray | None = None
    all_events: np.ndarray | None = None
    all_data: pd.DataFrame | None = None
    cluster: np.ndarray | None = None
    all_cluster: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def check_design(self, X: np.ndarray, terms: Sequence[str]) -> None:
        """Raise when design terms are collinear with each other or with the cohort indicator."""
        R, pivot, scale = _pivoted_r(self.A, X)
        diag = np.abs(np.diag(R))
        rank = int(np.sum(diag > diag[0] * 1e-9 * max(len(self.A), R.shape[1])))
        if rank < R.shape[1]:
            names = ["intercept", "cohort"] + list(terms)
            kept = np.sort(pivot[:rank])
            scaled = np.column_stack((np.ones(len(self.A)), self.A, X)) / scale
            groups = []
            for j in pivot[rank:]:
                coef = np.linalg.lstsq(scaled[:, kept], scaled[:, j], rcond=None)[0]
                partners = [names[k] for k, c in zip(kept, coef, strict=True) if abs(c) > 1e-8]
                groups.append(f"{names[j]!r} ~ {partners}")
            involved = {t.split("[")[0] for g in groups for t in names if repr(t) in g}
            raise AnkerDataError(
                "covariate terms are collinear with each other or with the cohort "
                f"({'; '.join(groups)}): leave one of them out",
                columns=sorted(involved - {"intercept", "cohort"}))


_QR_ROWS = 65_536


def _pivoted_r(A: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The column-pivoted QR factor R (and pivots) of (1, A, X) with X's columns scaled to SD 1.

    A block of rows at a time (TSQR): the R factors of the blocks, stacked, have
    the same Gram matrix as the whole design, and pivoted QR depends on the
    columns only through it; at national scale the design and its Q factor
    would each take hundreds of MB.
    """
    scale = np.concatenate(([1.0, 1.0], [X[:, j].std() for j in range(X.shape[1])]))
    scale[scale == 0] = 1.0
    factors = []
    for begin in range(0, len(A), _QR_ROWS):
        rows = slice(begin, begin + _QR_ROWS)
        block = np.column_stack((np.ones(len(A[rows])), A[rows], X[rows])) / scale
        # mode="r" returns the full (rows x p) R: only its top p rows are nonzero
        factors.append(linalg.qr(block, mode="r", overwrite_a=True)[0][: block.shape[1]])
    R, pivot = linalg.qr(np.vstack(factors), mode="r", pivoting=True)
    return R, pivot, scale


def _numeric(df: pd.DataFrame, column: str, what: str) -> np.ndarray:
    series = df[column]
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(int)
    if not pd.api.types.is_numeric_dtype(series):
        raise AnkerDataError(f"column {column!r} ({what}) must be numeric, got dtype {series.dtype}",
                             columns=[column])
    values = series.to_numpy(dtype=float)
    if np.isnan(values).any():
        raise AnkerDataError(f"column {column!r} ({what}) has {int(np.isnan(values).sum())} missing "
                             "value(s); anker does not impute: drop or fill these rows first",
                             columns=[column])
    if not np.isfinite(values).all():
        raise AnkerDataError(f"column {column!r} ({what}) has infinite values", columns=[column])
    return values


def match_cohort(found: Sequence[Any], label: Any) -> Any:
    """The cohort value among ``found`` that ``label`` names, or None.

    The value itself first; else the one value whose text or number is the
    label's: ``"0"`` names the cohort 0 of an integer column, ``2004`` the cohort
    ``"2004"`` of a text column (the command line types every label as text).

    Examples
    --------
    >>> match_cohort([0, 1], "0"), match_cohort(["2004", "2007"], 2004), match_cohort([0, 1], "x")
    (0, '2004', None)
    """
    if label is None:
        return None
    if label in found:  # the value itself
        return found[list(found).index(label)]
    number = _number(label)
    matches = [v for v in found if str(v) == str(label)
               or (number is not None and _number(v) == number)]
    return matches[0] if len(matches) == 1 else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _choose_cohorts(df: pd.DataFrame, cohort_col: str, reference: Any,
                    cohorts: Sequence[Any] | None) -> tuple[pd.DataFrame, Any, Any, list[str]]:
    notes: list[str] = []
    values = df[cohort_col]
    if values.isna().any():
        raise AnkerDataError(f"cohort column {cohort_col!r} has {int(values.isna().sum())} missing "
                             "value(s)", columns=[cohort_col])
    found = list(pd.unique(values))
    shown = sorted(map(str, found))[:10]
    # "0" names the cohort 0 (and 2004 the cohort "2004"), as on the command line
    reference = _matched(found, reference)
    if cohorts is not None and not isinstance(cohorts, str) and len(cohorts) == 2:
        cohorts = tuple(_matched(found, label) for label in cohorts)
    if cohorts is not None:
        if isinstance(cohorts, str) or len(cohorts) != 2 or cohorts[0] == cohorts[1]:
            raise ValueError(f"cohorts must name two different cohorts (reference, other), got {cohorts!r}")
        if reference is not None and reference not in cohorts:
            raise ValueError(f"reference={reference!r} is not one of cohorts={tuple(cohorts)!r}")
        for label in cohorts:
            if label not in found:
                raise AnkerDataError(f"cohort {label!r} has no rows in column {cohort_col!r} "
                                     f"(found: {shown})", columns=[cohort_col])
        ref = cohorts[0] if reference is None else reference
        other = cohorts[1] if ref == cohorts[0] else cohorts[0]
        keep = values.isin([ref, other]).to_numpy()
        if not keep.all():
            dropped = values[~keep].value_counts()
            message = (f"left out {int((~keep).sum())} row(s) of cohort(s) not named in cohorts=: "
                       f"{ {str(k): int(v) for k, v in dropped.items()} }")
            warnings.warn(message, UserWarning, stacklevel=4)
            notes.append(message)
        return df.loc[keep], ref, other, notes
    if len(found) != 2:
        raise AnkerDataError(
            f"column {cohort_col!r} must hold exactly two cohorts, found {len(found)}: {shown}; "
            "name the pair to compare with cohorts=(reference, other)", columns=[cohort_col])
    if reference is None:
        if _PREFERRED_REFERENCE not in found:
            raise ValueError(f"name the reference cohort with reference= (one of {shown})")
        reference = _PREFERRED_REFERENCE
    if reference not in found:
        raise AnkerDataError(f"reference={reference!r} is not a cohort in column {cohort_col!r} "
                             f"(found: {shown})", columns=[cohort_col])
    other = found[1] if found[0] == reference else found[0]
    return df, reference, other, notes


def _matched(found: Sequence[Any], label: Any) -> Any:
    value = match_cohort(found, label)
    return label if value is None else value


def check_inputs(df: Any, *, cohort_col: str, reference: Any, cohorts: Sequence[Any] | None,
                 duration_col: str, event_col: str, covariates: Sequence[str], horizon: Any,
                 method: str, n_boot: Any, level: Any, comparison_col: str | None,
                 cluster_col: str | None, methods: Sequence[str],
                 time_unit: TimeUnit | None = None) -> CheckedInput:
    """Validate the arguments of `compare_cohorts` and return the rows to analyse.

    Durations and the horizon are in ``time_unit`` (calendar days by default); the
    messages say so in its name.
    """
    unit = (time_unit or resolve_time_unit()).label
    if method not in methods:
        raise ValueError(f"method must be one of {list(methods)}, got {method!r}")
    if method.startswith("did") and comparison_col is None:
        raise ValueError("method='did' needs comparison_col: the column marking the comparison group")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 0 or n_boot == 1:
        raise ValueError(f"n_boot must be 0 (no bootstrap) or a whole number >= 2, got {n_boot!r}")
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"level must be a number between 0 and 1, got {level!r}") from None
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    try:
        horizon = float(horizon)
    except (TypeError, ValueError):
        raise ValueError(f"horizon must be a number of {unit}, got {horizon!r}") from None
    if not math.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon must be a positive number of {unit}, got {horizon!r}")
    if isinstance(covariates, str):
        raise TypeError(f"covariates must be a list of column names, got the string {covariates!r}")
    covariates = list(covariates)
    if len(set(covariates)) != len(covariates):
        raise ValueError(f"covariates listed more than once: "
                         f"{sorted({c for c in covariates if covariates.count(c) > 1})}")
    roles = {cohort_col: "cohort_col", duration_col: "duration_col", event_col: "event_col"}
    clash = [c for c in covariates if c in roles]
    if clash:
        raise ValueError(f"covariates must not include the {roles[clash[0]]} column {clash[0]!r}")
    extra = [c for c in (comparison_col, cluster_col) if c is not None]
    require_columns(df, [cohort_col, duration_col, event_col, *covariates, *extra],
                    role="cohort comparison")

    data, reference, other, notes = _choose_cohorts(df, cohort_col, reference, cohorts)
    durations = _numeric(data, duration_col, f"durations, {unit}")
    if (durations < 0).any():
        raise AnkerDataError(f"column {duration_col!r} has {int((durations < 0).sum())} negative "
                             "duration(s)", columns=[duration_col])
    events = _numeric(data, event_col, "event flag")
    if not np.isin(events, (0.0, 1.0)).all():
        bad = np.unique(events[~np.isin(events, (0.0, 1.0))])[:5].tolist()
        raise AnkerDataError(f"column {event_col!r} must be 0 or 1, found {bad}", columns=[event_col])
    A = (data[cohort_col] == other).to_numpy(dtype=float)
    cluster = None
    if cluster_col is not None:
        if data[cluster_col].isna().any():
            raise AnkerDataError(f"cluster column {cluster_col!r} has "
                                 f"{int(data[cluster_col].isna().sum())} missing value(s)",
                                 columns=[cluster_col])
        cluster = pd.factorize(data[cluster_col])[0]
    all_cluster = cluster

    comparison = None
    all_A, all_durations, all_events = A, durations, events
    if comparison_col is not None:
        comparison = _numeric(data, comparison_col, "comparison group flag")
        if not np.isin(comparison, (0.0, 1.0)).all():
            raise AnkerDataError(f"column {comparison_col!r} must be 0 or 1 (1 = comparison group)",
                                 columns=[comparison_col])
        for a, label in ((0, reference), (1, other)):
            for g, name in ((0, "treated group"), (1, "comparison group")):
                cell = (A == a) & (comparison == g)
                if not cell.any():
                    raise AnkerDataError(f"cohort {label!r} has no rows in the {name} "
                                         f"({comparison_col} == {g})", columns=[comparison_col])
                _check_cell(durations[cell], events[cell], horizon, f"{label!r} ({name})", unit)
        treated = comparison == 0
        all_data = data
        data, A, durations, events = data.loc[treated], A[treated], durations[treated], events[treated]
        cluster = None if cluster is None else cluster[treated]

    for a, label in ((0, reference), (1, other)):
        member = A == a
        if member.sum() < 2:
            raise AnkerDataError(f"cohort {label!r} has {int(member.sum())} spell(s); need at least 2",
                                 columns=[cohort_col])
        _check_cell(durations[member], events[member], horizon, repr(label), unit)
        at_risk = int((durations[member] >= horizon).sum())
        if at_risk < 10:
            message = (f"only {at_risk} spell(s) of cohort {label!r} are followed up to the "
                       f"horizon ({horizon:g} {unit}): the RMST near the horizon rests on few "
                       "spells")
            warnings.warn(message, UserWarning, stacklevel=3)
            notes.append(message)

    constant = [c for c in covariates if data[c].nunique(dropna=False) <= 1]
    if constant:
        raise AnkerDataError(f"covariate(s) {constant} do not vary in the compared rows (one value); "
                             "they cannot be adjusted for: leave them out", columns=constant)
    return CheckedInput(data=data, A=A, durations=durations, events=events, horizon=horizon,
                        n_boot=int(n_boot), covariates=covariates, reference=reference,
                        other=other, comparison=comparison, all_A=all_A,
                        all_durations=all_durations, all_events=all_events, cluster=cluster,
                        all_data=all_data if comparison is not None else None,
                        all_cluster=all_cluster, notes=notes)


def _check_cell(durations: np.ndarray, events: np.ndarray, horizon: float, label: str,
                unit: str) -> None:
    longest = float(durations.max())
    if horizon > longest:
        raise AnkerDataError(f"horizon={horizon:g} {unit} is beyond the follow-up of cohort "
                             f"{label} (longest duration {longest:g} {unit}); choose a horizon of "
                             f"at most {longest:g}")
    if not ((events == 1) & (durations <= horizon)).any():
        raise AnkerDataError(f"cohort {label} has no exits (events) up to the horizon "
                             f"({horizon:g} {unit}): its RMST is the horizon itself and no model "
                             "can be fitted")


def propensity_guard(est_fn, *, method: str, A: np.ndarray, X: np.ndarray, terms,
                      notes: list[str]):
    """Run ``est_fn(weighting=True)``, turning propensity trouble into a clear error or warning.

    Perfect separation (the propensity model predicts the cohort without error)
    is an error when the chosen method weights, otherwise a warning, and the
    estimators are rerun without the weighting ones; quasi-separation is a warning.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = est_fn(weighting=True)
    separation = any(issubclass(w.category, SeparationWarning) for w in caught)
    for w in caught:
        if not issubclass(w.category, SeparationWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    e = result.propensity
    perfect = separation and (e[A == 1].min() > e[A == 0].max() or e[A == 1].max() < e[A == 0].min())
    if perfect:
        apart = [t for j, t in enumerate(terms)
                 if X[A == 1, j].min() > X[A == 0, j].max() or X[A == 1, j].max() < X[A == 0, j].min()]
        which = f" (ranges that do not overlap: {apart})" if apart else ""
        message = ("the propensity model separates the cohorts perfectly: the covariates "
                   f"predict the cohort without error{which}, so no reference spell resembles "
                   "the other cohort and the weighting estimators (iptw, aipw) are undefined")
        if method in ("iptw", "aipw"):
            raise AnkerDataError(message + "; use method='gcomp' (which extrapolates with the "
                                 "Cox model) or leave the separating covariates out")
        warnings.warn(message + "; iptw and aipw are left out", OverlapWarning, stacklevel=3)
        notes.append(message)
        return est_fn(weighting=False)
    if separation:
        message = ("propensity model: fitted probabilities of (nearly) 0 or 1; some reference "
                   "spells get extreme weights (see .weights)")
        warnings.warn(message, OverlapWarning, stacklevel=3)
        notes.append(message)
    return result
