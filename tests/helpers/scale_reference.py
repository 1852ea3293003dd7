"""The implementations before issue 13 (national scale), kept verbatim as references.

tests/test_outcome_scale.py checks that the blocked, memory-lean versions in
`anker.outcome` give the same numbers as these on small data (1e-10 relative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from anker.models.cox import CoxFit
from anker.outcome.aipcw import Grid, Model, RegimeMeans, _censoring_hazard, _censoring_km
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


def regime_means_reference(grid: Grid, durations: np.ndarray, events: np.ndarray, tau: np.ndarray,
                 own: np.ndarray, coef_m: np.ndarray, omega: np.ndarray, outcome: Model,
                 censoring: Model | None, target: np.ndarray) -> RegimeMeans:
    """`anker.outcome.aipcw.regime_means` as it was before its rows were sorted by end: one
    (rows x grid) matrix per quantity over the whole grid. Arguments as there.
    """
    n, L1 = durations.size, grid.times.size
    g, widths = grid.times, grid.widths
    lam = grid.step(outcome.infl.times, outcome.infl.hazard)
    tau_idx = grid.index(tau)
    p_out = outcome.Z.shape[1]
    m = np.zeros(n)
    ipcw = np.full(n, np.nan)
    psi = np.full(n, np.nan)
    out_hazard = np.zeros((2, L1))
    out_beta = np.zeros((2, p_out))
    survival_sum = np.zeros(L1)
    has_c = censoring is not None
    if has_c:
        lam_c, jump_c = _censoring_hazard(grid, censoring)
        c_hazard = np.zeros((2, L1))
        c_beta = np.zeros((2, censoring.Z.shape[1]))
        if censoring.product_limit:
            g_common = _censoring_km(jump_c)
    min_g = 1.0
    for rows in [np.arange(n)]:
        r, zc = outcome.risk(rows)
        S = np.exp(-r[:, None] * lam[None, :])
        piece = S[:, :-1] * widths
        cum = np.concatenate((np.zeros((rows.size, 1)), np.cumsum(piece, axis=1)), axis=1)
        LS = np.concatenate((np.zeros((rows.size, 1)), np.cumsum(piece * lam[:-1], axis=1)), axis=1)
        ti = tau_idx[rows]
        k = np.arange(rows.size)
        cum_tau, ls_tau = cum[k, ti], LS[k, ti]
        m[rows] = cum_tau
        survival_sum += target[rows] @ S
        # ahead[i, l] = integral from g_l to tau_i of S_i (0 beyond tau_i)
        ahead = np.maximum(cum_tau[:, None] - cum, 0.0)
        cm = coef_m[rows]
        out_hazard -= (cm * r[:, None]).T @ ahead
        out_beta -= (cm * (r * ls_tau)[:, None]).T @ zc
        sub = own[rows]
        if not sub.any():
            continue
        rs = rows[sub]
        S_o, LS_o, ahead_o = S[sub], LS[sub], ahead[sub]
        r_o, zc_o = r[sub], zc[sub]
        x, d, t_o = durations[rs], events[rs], tau[rs]
        before_tau = g[None, :] < t_o[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            Q = np.where(before_tau, g[None, :] + ahead_o / S_o, 0.0)
        Q = np.nan_to_num(Q, nan=0.0, posinf=0.0)
        seen = (d == 1) | (x >= t_o)
        y = np.minimum(x, t_o)
        y_prev = np.searchsorted(g, y, side="left") - 1  # last grid point before Y
        if has_c:
            if censoring.product_limit:
                G = np.broadcast_to(g_common, (rs.size, L1))
                rc, zcc = np.ones(rs.size), np.zeros((rs.size, 0))
            else:
                rc, zcc = censoring.risk(rs)
                # past a row's own end G may underflow; those cells are masked out below
                exponent = np.minimum(rc[:, None] * lam_c[None, :], 700.0)
                G = np.exp(-exponent)
            inv_g = 1.0 / G
            inv_prev = np.concatenate((np.ones((rs.size, 1)), inv_g[:, :-1]), axis=1)
            g_at_y = np.where(y_prev >= 0, G[np.arange(rs.size), np.maximum(y_prev, 0)], 1.0)
        else:
            inv_g = inv_prev = None
            g_at_y = np.ones(rs.size)
        min_g = min(min_g, float(g_at_y[seen].min()) if seen.any() else 1.0)
        term1 = np.where(seen, y / g_at_y, 0.0)
        ipcw[rs] = term1
        w = omega[rs]
        if not has_c:
            psi[rs] = np.where(seen, y, 0.0) + np.where(
                seen, 0.0, Q[np.arange(rs.size), grid.index(np.minimum(x, t_o))])
            censored_at = ~seen
            D = np.zeros_like(S_o)
            D[censored_at, grid.index(x[censored_at])] = 1.0
        else:
            after = (x[:, None] > g[None, :]) | ((x[:, None] == g[None, :]) & (d[:, None] == 0))
            R = after & before_tau
            dN = (x[:, None] == g[None, :]) & (d[:, None] == 0) & before_tau
            coef_q = dN * inv_g - R * (inv_g - inv_prev)
            psi[rs] = term1 + np.sum(Q * coef_q, axis=1)
            D = coef_q
        with np.errstate(divide="ignore", invalid="ignore"):
            D = np.nan_to_num(w[:, None] * D / S_o, nan=0.0, posinf=0.0)
        P = np.concatenate((np.zeros((rs.size, 1)), np.cumsum(D, axis=1)[:, :-1]), axis=1)
        out_hazard[1] -= np.sum(r_o[:, None] * ahead_o * P, axis=0)
        ls_tau_o = ls_tau[sub]
        beta_scalar = np.sum(D * ((ls_tau_o[:, None] - LS_o) - lam[None, :] * ahead_o), axis=1)
        out_beta[1] -= (r_o * beta_scalar) @ zc_o
        if not has_c:
            continue
        # censoring gradients: bracket_im of d psi_i / d lambda^C_m (see the module notes)
        b1 = np.where(seen[:, None] & (g[None, :] < y[:, None]), term1[:, None], 0.0)
        dn_term = np.sum(dN * Q * inv_g, axis=1)
        V = R * Q * (inv_g - inv_prev)
        rv = np.cumsum(V[:, ::-1], axis=1)[:, ::-1]
        rv = np.concatenate((rv[:, 1:], np.zeros((rs.size, 1))), axis=1)  # sum over k > m
        b2 = (np.where(g[None, :] <= x[:, None], dn_term[:, None], 0.0) * (~seen)[:, None]
              - R * Q * inv_g - rv)
        factor = w * rc
        c_hazard[0] += factor @ b1
        c_hazard[1] += factor @ (b1 + b2)
        if not censoring.product_limit:
            lam_y = np.where(y_prev >= 0, lam_c[np.maximum(y_prev, 0)], 0.0)
            s1 = term1 * lam_y
            lam_prev = np.concatenate(([0.0], lam_c[:-1]))
            s2 = (np.sum(dN * Q * inv_g * lam_c[None, :], axis=1)
                  - np.sum(R * Q * (lam_c[None, :] * inv_g - lam_prev[None, :] * inv_prev), axis=1))
            c_beta[0] += (factor * s1) @ zcc
            c_beta[1] += (factor * (s1 + s2)) @ zcc
    if has_c and censoring.product_limit:
        c_hazard = c_hazard / (1.0 - jump_c)[None, :]
    total_target = max(float(target.sum()), 1e-300)
    return RegimeMeans(
        m=m, ipcw=ipcw, psi=psi,
        outcome_grad_beta=out_beta,
        outcome_grad_hazard=grid.on_fit_times(out_hazard, outcome.infl.times),
        censor_grad_beta=c_beta if has_c else None,
        censor_grad_hazard=grid.on_fit_times(c_hazard, censoring.infl.times) if has_c else None,
        mean_survival=survival_sum / total_target, min_censoring_survival=min_g,
    )


def breslow_influence_reference(fit: CoxFit, Z: np.ndarray, durations: np.ndarray,
                                events: np.ndarray, weights: np.ndarray | None = None):
    """The Breslow branch of `cox_influence` before issue 13: (n, p) arrays throughout.

    Returns hazard, event_weight, compensator, beta_path, beta_contribution, exp_lp.
    """
    Zc = Z - fit.center
    exp_lp = np.exp(Zc @ fit.coef)
    event_times = fit.baseline_times
    is_event = events > 0
    lived = np.searchsorted(event_times, durations, side="right")
    order = np.argsort(durations, kind="stable")
    start = np.searchsorted(durations[order], event_times, side="left")
    w = np.ones(exp_lp.size) if weights is None else np.asarray(weights, dtype=float)
    s0 = np.cumsum((w * exp_lp)[order][::-1])[::-1][start]
    s1 = np.cumsum((exp_lp[:, None] * Zc)[order][::-1], axis=0)[::-1][start]
    n_events = np.bincount(np.searchsorted(event_times, durations[is_event]),
                           weights=w[is_event], minlength=event_times.size)
    hazard = n_events / s0
    risk_mean = s1 / s0[:, None]
    cum_hazard = np.concatenate(([0.0], np.cumsum(hazard)))[lived]
    cum_mean = np.concatenate((np.zeros((1, Z.shape[1])),
                               np.cumsum(risk_mean * hazard[:, None], axis=0)))[lived]
    score = Zc * cum_hazard[:, None]
    score -= cum_mean
    score *= -exp_lp[:, None]
    score[is_event] += Zc[is_event] - risk_mean[lived[is_event] - 1]
    return (hazard, 1.0 / s0, hazard / s0, risk_mean * hazard[:, None], score @ fit.cov, exp_lp)
