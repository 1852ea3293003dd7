"""The proportional-hazards score test of R's current ``cox.zph`` (survival >= 3.0).

For the fitted model with covariates z, add the terms g(t) z (g the time
transform, centred over the exits) and test them at (beta_hat, 0) with a
score test: u' I^-1 u, where u is the score of the expanded model (zero in
beta at the fit) and I its information, both with Efron's tie weighting
(Breslow's for a Breslow fit). Each term is tested alone (its own g z column
with all of beta) on 1 degree of freedom, and all together on p. The ``km``
transform is g(t) = 1 - S(t-), the pooled Kaplan-Meier just before t.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from anker.models.cox import CoxFit
from anker.models.efron import tie_sums


def _time_transform(transform: str, durations, events, t):
    if transform == "km":
        from anker.survival import kaplan_meier, survival_at

        km = kaplan_meier(durations, events)
        # S(t-): the curve just before each exit time
        return 1.0 - survival_at(km, np.nextafter(t, -np.inf))
    if transform == "identity":
        return t
    if transform == "log":
        return np.log(t)
    if transform == "rank":
        return stats.rankdata(t)
    raise ValueError(f"transform must be 'km', 'identity', 'log' or 'rank', got {transform!r}")


def zph_score_test(fit: CoxFit, Z: np.ndarray | tuple[np.ndarray, np.ndarray],
                   durations: np.ndarray, events: np.ndarray, *,
                   names: list[str] | None = None, transform: str = "km") -> pd.DataFrame:
    """R's ``cox.zph(fit, transform, terms = FALSE)``: statistic (chisq), df and p per term and GLOBAL.

    ``Z`` is the fit's (n, p) design, or the pair (first column, other columns) of it.

    Examples
    --------
    >>> from anker.models.cox import fit_cox
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(500, 1))
    >>> t = np.ceil(50 * rng.exponential(size=500) / np.exp(0.5 * x[:, 0]))
    >>> table = zph_score_test(fit_cox(x, t, np.ones(500)), x, t, np.ones(500))
    >>> list(table.index), bool(table.loc["GLOBAL", "p"] > 0.001)
    (['x0', 'GLOBAL'], True)
    """
    if isinstance(Z, tuple):
        # (first column, other columns): the pooled model's (cohort, X) design, never stacked
        # into one (n, p) matrix (hundreds of MB at national scale)
        first, rest = np.asarray(Z[0], dtype=float), np.asarray(Z[1], dtype=float)
        linear = first * fit.coef[0] + rest @ fit.coef[1:]

        def rows_of(rows: np.ndarray) -> np.ndarray:
            return np.column_stack((first[rows], rest[rows]))
        shape = (rest.shape[0], rest.shape[1] + 1)
    else:
        stacked = np.asarray(Z, dtype=float)
        linear = stacked @ fit.coef

        def rows_of(rows: np.ndarray) -> np.ndarray:
            return stacked[rows]
        shape = stacked.shape
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=float)
    n, p = shape
    # no centred copy of Z (hundreds of MB at national scale): centred a block at a time
    r = np.exp(linear - fit.center @ fit.coef)
    del linear
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
    # the tied exits' sums of r, r z, r z z' and z per event time, from the same blocks: an
    # (exits x p x p) array of outer products would not fit in memory at national scale
    T1, T2, Zsum = np.zeros((K, p)), np.zeros((K, p, p)), np.zeros((K, p))
    acc0, acc1, acc2 = 0.0, np.zeros(p), np.zeros((p, p))
    bounds = np.flatnonzero(np.r_[True, ds[1:] != ds[:-1], True])
    k = K - 1
    for b in range(bounds.size - 1):
        rows = order[bounds[b]:bounds[b + 1]]
        t = ds[bounds[b]]
        z = rows_of(rows) - fit.center
        rz = r[rows, None] * z
        acc0 += r[rows].sum()
        acc1 = acc1 + rz.sum(axis=0)
        acc2 = acc2 + rz.T @ z
        exits = is_event[rows]
        if exits.any():
            j = np.searchsorted(times, t)
            T1[j] = rz[exits].sum(axis=0)
            T2[j] = rz[exits].T @ z[exits]
            Zsum[j] = z[exits].sum(axis=0)
        while k >= 0 and times[k] >= t and (b + 1 == bounds.size - 1 or ds[bounds[b + 1]] < times[k]):
            S0[k], S1[k], S2[k] = acc0, acc1, acc2
            k -= 1
    group = np.searchsorted(times, durations[is_event])
    d = np.bincount(group, minlength=K).astype(float)
    T0 = np.bincount(group, weights=r[is_event], minlength=K)
    sums = tie_sums(d, S0, T0, efron=fit.ties == "efron")
    # sum over the tied exits l of (S2 - f T2) / den - m m', m = (S1 - f T1) / den: linear and
    # quadratic in f, so scalar sums per event time (`tie_sums`) carry the whole loop over l
    V = S2 * sums.inv[:, None, None] - T2 * sums.f_inv[:, None, None]
    V -= np.einsum("ki,kj->kij", S1, S1) * sums.inv2[:, None, None]
    cross = np.einsum("ki,kj->kij", S1, T1)
    cross += cross.transpose(0, 2, 1)
    V += cross * sums.f_inv2[:, None, None]
    V -= np.einsum("ki,kj->kij", T1, T1) * sums.f2_inv2[:, None, None]
    msum = S1 * sums.inv[:, None] - T1 * sums.f_inv[:, None]
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


# ------------------------------------------- the older test: scaled Schoenfeld residuals
def _efron_means(fit: CoxFit, Zc: np.ndarray, durations: np.ndarray, events: np.ndarray):
    """Efron-weighted risk-set mean of z for every event row (as lifelines' Schoenfeld residuals)."""
    r = np.exp(Zc @ fit.coef)
    order = np.argsort(durations, kind="stable")
    sorted_t = durations[order]
    event_times = fit.baseline_times
    start = np.searchsorted(sorted_t, event_times, side="left")
    s0 = np.cumsum(r[order][::-1])[::-1][start]
    s1 = np.cumsum((r[:, None] * Zc)[order][::-1], axis=0)[::-1][start]
    is_event = events > 0
    group = np.searchsorted(event_times, durations[is_event])
    m = event_times.size
    d = np.bincount(group, minlength=m).astype(float)
    t0 = np.bincount(group, weights=r[is_event], minlength=m)
    t1 = np.stack([np.bincount(group, weights=r[is_event] * Zc[is_event, j], minlength=m)
                   for j in range(Zc.shape[1])], axis=1)
    # l-th of the d tied events sees the risk set minus l/d of the tied ones
    rank_in_group = np.empty(group.size, dtype=float)
    sort_group = np.argsort(group, kind="stable")
    first = np.concatenate(([0], np.cumsum(d)[:-1])).astype(int)
    rank_in_group[sort_group] = np.arange(group.size) - first[group[sort_group]]
    phi = (rank_in_group / d[group])[:, None]
    terms = (s1[group] - phi * t1[group]) / (s0[group] - phi[:, 0] * t0[group])[:, None]
    means = np.stack([np.bincount(group, weights=terms[:, j], minlength=m)
                      for j in range(Zc.shape[1])], axis=1) / d[:, None]
    return means[group], is_event


def proportional_hazards_test(fit: CoxFit, Z: np.ndarray, durations: np.ndarray,
                              events: np.ndarray, *, names: list[str] | None = None,
                              transform: str = "km") -> pd.DataFrame:
    """Grambsch-Therneau test of proportional hazards from scaled Schoenfeld residuals.

    For each term, the squared correlation-type statistic of its scaled
    Schoenfeld residuals with g(t), on 1 degree of freedom, and a global
    test on p degrees of freedom: the approximation of R's ``cox.zph``
    before survival 3.0 and of lifelines' ``proportional_hazard_test``
    (Schoenfeld residuals with Efron's tie handling). ``transform`` g is
    ``"km"`` (1 - pooled Kaplan-Meier, R's old default), ``"identity"`` or ``"log"``.

    Returns a DataFrame indexed by term (and ``GLOBAL``): statistic, df, p.
    """
    Z = np.asarray(Z, dtype=float)
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=float)
    means, is_event = _efron_means(fit, Z - fit.center, durations, events)
    resid = (Z - fit.center)[is_event] - means
    t = durations[is_event]
    if transform == "km":
        from anker.survival import kaplan_meier, survival_at

        g = 1.0 - survival_at(kaplan_meier(durations, events), t)
    elif transform == "identity":
        g = t
    elif transform == "log":
        g = np.log(t)
    else:
        raise ValueError(f"transform must be 'km', 'identity' or 'log', got {transform!r}")
    g = g - g.mean()
    n_events = resid.shape[0]
    gg = float(g @ g)
    if gg == 0.0:
        raise ValueError("all exits happen at one time: proportional hazards cannot be tested")
    scaled = n_events * resid @ fit.cov
    per_term = (g @ scaled) ** 2 / (n_events * np.diag(fit.cov) * gg)
    test = g @ resid
    global_stat = float(test @ fit.cov @ test) * n_events / gg
    p = Z.shape[1]
    names = list(names) if names is not None else [f"x{j}" for j in range(p)]
    table = pd.DataFrame({
        "statistic": np.append(per_term, global_stat),
        "df": [1] * p + [p],
        "p": np.append(stats.chi2.sf(per_term, 1), stats.chi2.sf(global_stat, p)),
    }, index=pd.Index(names + ["GLOBAL"], name="term"))
    return table
