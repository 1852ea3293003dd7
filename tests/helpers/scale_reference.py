"""The implementations before issue 13 (national scale), kept verbatim as references.

tests/test_outcome_scale.py checks that the blocked, memory-lean versions in
`anker.outcome` give the same numbers as these on small data (1e-10 relative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from anker.models.cox import CoxFit
from anker.outcome.ph_test import _time_transform


def gformula_reference(models, X_target: np.ndarray, weights: np.ndarray, horizon: float):
    """Mean F_work(h) and time lost to work over the target rows, with gradients per model."""
    times = np.unique(np.concatenate([m[0].times for m in models.values()]))
    jump = {k: np.zeros(times.size) for k in models}
    for k, (infl, _) in models.items():
        jump[k][np.searchsorted(times, infl.times)] = infl.hazard
    value = np.zeros(2)
    grads = {k: (np.zeros((2, m[0].fit.coef.size)), np.zeros((2, m[0].times.size)))
             for k, m in models.items()}
    a = np.vstack((np.ones(times.size), horizon - times))  # F and the time lost
    zc = {k: X_target - m[0].fit.center for k, m in models.items()}
    r = {k: np.exp(zc[k] @ m[0].fit.coef) for k, m in models.items()}
    cum = {k: np.concatenate(([0.0], np.cumsum(jump[k])[:-1])) for k in models}  # Lambda(t_j-)
    S_before = np.exp(-sum(r[k][:, None] * cum[k][None, :] for k in models))
    inc = S_before * r["work"][:, None] * jump["work"][None, :]  # (rows, times)
    per_row = inc @ a.T  # (rows, 2)
    value = weights @ per_row
    # F = sum_j a_j S(t_j-) r_w lambda_wj; d/d lambda_km: -r_k sum_{j > m} (...) + [k = w] r_w S(t_m-)
    for k, (infl, _) in models.items():
        idx = np.searchsorted(times, infl.times)
        later = np.stack([np.cumsum((inc * a_row)[:, ::-1], axis=1)[:, ::-1] for a_row in a])
        later = np.concatenate((later[:, :, 1:], np.zeros((2, inc.shape[0], 1))), axis=2)
        g_haz = -np.einsum("i,i,qij->qj", weights, r[k], later)
        if k == "work":
            g_haz += (weights * r[k]) @ S_before * a
        lam_inc = (inc * cum[k][None, :]) @ a.T  # (rows, 2): sum_j a_j Lambda_k(t_j-) inc_j
        grad_beta = -((weights * r[k])[:, None] * lam_inc).T @ zc[k]
        if k == "work":
            grad_beta += ((weights[:, None] * (inc @ a.T)).T @ zc[k])
        grads[k] = (grad_beta, g_haz[:, idx])
    return value, per_row, grads


def zph_reference(fit: CoxFit, Z: np.ndarray, durations: np.ndarray, events: np.ndarray, *,
                   names: list[str] | None = None, transform: str = "km") -> pd.DataFrame:
    """The PH score test as it was before the blocked rewrite (`anker.outcome.ph_test`), for
    comparison only: R's ``cox.zph(fit, transform, terms = FALSE)``."""
    Z = np.asarray(Z, dtype=float)
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=float)
    Zc = Z - fit.center
    n, p = Zc.shape
    r = np.exp(Zc @ fit.coef)
    is_event = events > 0
    times = fit.baseline_times
    g_event = _time_transform(transform, durations, events, durations[is_event])
    g_times = _time_transform(transform, durations, events, times)
    center = g_event.mean()
    g_times = g_times - center
    # risk-set sums per event time, accumulated over blocks of equal durations from the end
    order = np.argsort(-durations, kind="stable")
    ds = durations[order]
    K = times.size
    S0, S1, S2 = np.zeros(K), np.zeros((K, p)), np.zeros((K, p, p))
    acc0, acc1, acc2 = 0.0, np.zeros(p), np.zeros((p, p))
    bounds = np.flatnonzero(np.r_[True, ds[1:] != ds[:-1], True])
    k = K - 1
    for b in range(bounds.size - 1):
        rows = order[bounds[b]:bounds[b + 1]]
        t = ds[bounds[b]]
        rz = r[rows, None] * Zc[rows]
        acc0 += r[rows].sum()
        acc1 = acc1 + rz.sum(axis=0)
        acc2 = acc2 + rz.T @ Zc[rows]
        while k >= 0 and times[k] >= t and (b + 1 == bounds.size - 1 or ds[bounds[b + 1]] < times[k]):
            S0[k], S1[k], S2[k] = acc0, acc1, acc2
            k -= 1
    group = np.searchsorted(times, durations[is_event])
    d = np.bincount(group, minlength=K).astype(float)
    T0 = np.bincount(group, weights=r[is_event], minlength=K)
    T1 = np.zeros((K, p))
    np.add.at(T1, group, r[is_event, None] * Zc[is_event])
    T2 = np.zeros((K, p, p))
    np.add.at(T2, group, r[is_event, None, None] * Zc[is_event, :, None] * Zc[is_event, None, :])
    Zsum = np.zeros((K, p))
    np.add.at(Zsum, group, Zc[is_event])
    efron = fit.ties == "efron"
    V = np.zeros((K, p, p))
    msum = np.zeros((K, p))
    for l_ in range(int(d.max()) if K else 0):
        on = d > l_
        frac = np.where(on, l_ / np.maximum(d, 1), 0.0) if efron else np.zeros(K)
        den = np.where(on, S0 - frac * T0, 1.0)
        m = (S1 - frac[:, None] * T1) / den[:, None]
        second = (S2 - frac[:, None, None] * T2) / den[:, None, None]
        V += on[:, None, None] * (second - m[:, :, None] * m[:, None, :])
        msum += on[:, None] * m
    u = (g_times[:, None] * (Zsum - msum)).sum(axis=0)
    I11 = V.sum(axis=0)
    I12 = (g_times[:, None, None] * V).sum(axis=0)
    I22 = (g_times[:, None, None] ** 2 * V).sum(axis=0)
    info = np.block([[I11, I12], [I12.T, I22]])
    full_u = np.concatenate((np.zeros(p), u))
    per_term = np.empty(p)
    for j in range(p):
        ii = np.r_[np.arange(p), p + j]
        uj = full_u[ii]
        per_term[j] = float(uj @ np.linalg.solve(info[np.ix_(ii, ii)], uj))
    global_stat = float(full_u @ np.linalg.lstsq(info, full_u, rcond=None)[0])
    names = list(names) if names is not None else [f"x{j}" for j in range(p)]
    return pd.DataFrame({
        "statistic": np.append(per_term, global_stat),
        "df": [1] * p + [p],
        "p": np.append(stats.chi2.sf(per_term, 1), stats.chi2.sf(global_stat, p)),
    }, index=pd.Index(names + ["GLOBAL"], name="term"))
