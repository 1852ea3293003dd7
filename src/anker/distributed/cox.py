"""Exact Cox regression (Efron or Breslow ties) on a Dask frame, from per-partition sums.

Durations are whole days, so there are a few thousand event times at most.
The partial likelihood, its gradient and information need, per event time
tau_j, the risk-set sums of exp(x'b), x exp(x'b) and x x' exp(x'b) over the
spells with duration >= tau_j, and the same sums over the events at tau_j
(Efron's tied-event sums). Each partition adds up its rows by the number of
event times they have lived through and by event time; those (m + 1) x p x p
numbers travel, the driver turns them into risk-set sums with one reverse
cumulative sum and takes the Newton step of `anker.models.cox.fit_cox`. The
result is that fit on the same rows (coefficients and SEs to 1e-8).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from anker.distributed._frames import map_blocks, persist_blocks, persist_map, require_dask
from anker.distributed.design import numeric_column
from anker.models.cox import CoxFit
from anker.models.design import DesignSpec
from anker.models.newton import maximise
from anker.schema import require_columns

__all__ = ["fit_cox_dask"]

# (2 m + 1) p^2 doubles travel from each partition per Newton step: refuse beyond 1 GB
_MAX_MOMENT_ELEMENTS = 1 << 27


def _block(part: pd.DataFrame, spec: DesignSpec, duration_col: str, event_col: str):
    X = spec.transform(part, warn_unseen=False)
    durations = numeric_column(part, duration_col, "durations")
    events = numeric_column(part, event_col, "event flag")
    if (durations < 0).any():
        raise ValueError(f"{duration_col}: negative durations")
    if not np.isin(events, (0, 1)).all():
        raise ValueError(f"{event_col}: values other than 0/1")
    return X, durations, events


def _sums(block):
    X, durations, events = block
    times, counts = np.unique(durations[events > 0], return_counts=True)
    return len(durations), X.sum(axis=0), times, counts, float(durations.max(initial=0.0))


def _squares(block, center: np.ndarray) -> np.ndarray:
    return ((block[0] - center) ** 2).sum(axis=0)


def _prepare(block, center: np.ndarray, event_times: np.ndarray):
    """Rows sorted by the number of event times lived through; events by their event time."""
    X, durations, events = block
    lived = np.searchsorted(event_times, durations, side="right")
    order = np.argsort(lived, kind="stable")
    Xs, lived = X[order] - center, lived[order]
    event = events[order] > 0
    group = lived[event] - 1                       # an event at tau_j has lived through j + 1 times
    inner = np.argsort(group, kind="stable")
    return Xs, lived, event, np.flatnonzero(event)[inner], group[inner]


def _grouped(values: np.ndarray, labels: np.ndarray, size: int) -> np.ndarray:
    """Sums of rows of ``values`` per (sorted) label, for labels 0 .. size - 1."""
    out = np.zeros((size,) + values.shape[1:])
    if labels.size:
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        out[labels[starts]] = np.add.reduceat(values, starts, axis=0)
    return out


def _grouped_gram(S: np.ndarray, labels: np.ndarray, size: int) -> np.ndarray:
    """S_g' S_g per (sorted) label g: the x x' exp(x'b) sums."""
    out = np.zeros((size, S.shape[1], S.shape[1]))
    if labels.size:
        bounds = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1], True])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            out[labels[a]] = S[a:b].T @ S[a:b]
    return out


def _moments(block, beta: np.ndarray, m: int, efron: bool):
    Xs, lived, event, event_rows, group = block
    eta = Xs @ beta
    r = np.exp(eta)
    S = Xs * np.sqrt(r)[:, None]
    risk = (_grouped(r, lived, m + 1), _grouped(r[:, None] * Xs, lived, m + 1),
            _grouped_gram(S, lived, m + 1))
    re, Xe = r[event_rows], Xs[event_rows]
    tied = (_grouped(re, group, m), _grouped(re[:, None] * Xe, group, m),
            _grouped_gram(S[event_rows], group, m) if efron else None)
    return risk, tied, float(eta[event].sum()), Xe.sum(axis=0)


def cox_blocks(ddf: Any, spec: DesignSpec, duration_col: str, event_col: str, *,
               ties: str = "efron", l2: float = 0.0, max_iter: int = 50,
               tol: float = 1e-9) -> tuple[CoxFit, np.ndarray, float]:
    """The fit, the design's column means and the longest duration (what an ANKER test keeps)."""
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    require_columns(ddf._meta, list(spec.features) + [duration_col, event_col], role="Cox fit")
    blocks = persist_blocks(ddf, _block, spec, duration_col, event_col)
    sums = map_blocks(_sums, blocks)
    n = sum(s[0] for s in sums)
    event_times = np.unique(np.concatenate([s[2] for s in sums]))
    m, p = event_times.size, len(spec.term_names)
    if m == 0:
        raise ValueError("no events: a Cox model needs at least one exit")
    if (2 * m + 1) * p * p > _MAX_MOMENT_ELEMENTS:
        raise ValueError(f"{m:,} distinct event times x {p} terms are too many for the per-day "
                         "sums of a distributed Cox fit: count durations in whole days (or "
                         "weeks), or fit in memory")
    d_count = np.zeros(m)
    for s in sums:
        d_count[np.searchsorted(event_times, s[2])] += s[3]
    center = np.sum([s[1] for s in sums], axis=0) / n
    std = np.sqrt(np.sum(map_blocks(_squares, blocks, center), axis=0) / n)
    blocks = persist_map(_prepare, blocks, center, event_times)
    efron = ties == "efron"
    # Efron: the l-th of d tied events (l = 0 .. d - 1) removes l / d of the tied risk
    ev_group = np.repeat(np.arange(m), d_count.astype(np.int64))
    first = np.concatenate([[0], np.cumsum(d_count)[:-1]]).astype(np.int64)
    phi = (np.arange(ev_group.size) - first[ev_group]) / d_count[ev_group] if efron \
        else np.zeros(ev_group.size)
    last = {}

    def evaluate(beta: np.ndarray):
        parts = map_blocks(_moments, blocks, beta, m, efron)
        R0, R1, R2 = (np.sum([q[0][i] for q in parts], axis=0) for i in range(3))
        t0, t1 = (np.sum([q[1][i] for q in parts], axis=0) for i in range(2))
        # risk set of tau_j: rows that lived through more than j event times
        r0 = np.cumsum(R0[::-1])[::-1][1:]
        r1 = np.cumsum(R1[::-1], axis=0)[::-1][1:]
        den = r0[ev_group] - phi * t0[ev_group]
        if (den <= 0).any():
            raise FloatingPointError("risk set sum not positive")
        last["r0"] = r0
        loglik = sum(q[2] for q in parts) - float(np.sum(np.log(den))) - 0.5 * l2 * beta @ beta
        s_a, s_b, s_c, s_d, s_e = (np.bincount(ev_group, weights=w, minlength=m) for w in
                                   (1 / den, phi / den, 1 / den**2, phi / den**2, phi**2 / den**2))
        event_x = np.sum([q[3] for q in parts], axis=0)
        grad = event_x - s_a @ r1 + s_b @ t1 - l2 * beta
        lived_a = np.concatenate([[0.0], np.cumsum(s_a)])
        info = np.tensordot(lived_a, R2, axes=1) - (r1 * s_c[:, None]).T @ r1
        if efron:
            info -= np.tensordot(s_b, np.sum([q[1][2] for q in parts], axis=0), axes=1)
            cross = (r1 * s_d[:, None]).T @ t1
            info += cross + cross.T - (t1 * s_e[:, None]).T @ t1
        return loglik, grad, info + l2 * np.eye(p)

    result = maximise(evaluate, np.zeros(p), max_iter=max_iter, tol=tol, what="Cox")
    beta = result.x
    if p and np.max(np.abs(beta * std)) > 20:
        warnings.warn("very large hazard ratios: a covariate (nearly) separates exits from "
                      "censoring; estimates are unreliable", RuntimeWarning, stacklevel=3)
    evaluate(beta)  # the risk sets at the estimate, for the Breslow baseline
    fit = CoxFit(coef=beta, cov=np.linalg.pinv(result.info) if p else np.zeros((0, 0)),
                 center=center, baseline_times=event_times,
                 baseline_cumhaz=np.cumsum(d_count / last["r0"]), ties=ties, n=float(n),
                 n_events=float(d_count.sum()), loglik=result.loglik, n_iter=result.n_iter)
    return fit, center, max(s[4] for s in sums)


def fit_cox_dask(ddf: Any, spec: DesignSpec, duration_col: str = "duration_days",
                 event_col: str = "exited", *, ties: str = "efron", l2: float = 0.0,
                 max_iter: int = 50, tol: float = 1e-9) -> CoxFit:
    """Cox proportional hazards on the design ``spec`` of a Dask frame.

    Returns the `~anker.models.cox.CoxFit` (coefficients, covariance, Breslow
    baseline) that ``fit_cox(spec.transform(df), durations, events, ties=ties,
    l2=l2)`` gives on the same rows. Durations in any unit work; each
    partition sends (2 m + 1) p^2 numbers per step for m distinct event
    times, which is small for whole days.

    Examples
    --------
    >>> import anker, dask.dataframe as dd
    >>> from anker.models.cox import fit_cox
    >>> from anker.models.design import DesignSpec
    >>> df = anker.simulate_population(n_per_cohort=1_000, seed=1).data
    >>> spec = DesignSpec.learn(df, ["age", "education", "tightness"])
    >>> fit = fit_cox_dask(dd.from_pandas(df, npartitions=3), spec)
    >>> memory = fit_cox(spec.transform(df), df["duration_days"].to_numpy(float),
    ...                  df["exited"].to_numpy(float))
    >>> bool(np.allclose(fit.coef, memory.coef, rtol=0, atol=1e-8))
    True
    """
    require_dask(ddf, "fit_cox_dask")
    return cox_blocks(ddf, spec, duration_col, event_col, ties=ties, l2=l2, max_iter=max_iter,
                      tol=tol)[0]
