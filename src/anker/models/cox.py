"""Cox proportional hazards by Newton-Raphson on numpy arrays, Efron or Breslow ties.

Benefit durations are whole calendar days, so ties are the rule: Efron's
approximation (the default of R's ``coxph`` and lifelines' ``CoxPHFitter``)
is the default here too, and the estimates agree with both. Each Newton
step costs one pass of cumulative sums over the sorted data and one
``X' D X``: the risk-set second moments are never formed per time point,
which keeps a 500,000-row fit to seconds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from anker._weights import check_weights, unscaled_covariance
from anker.models.logistic import SeparationWarning
from anker.models.newton import covariance, diverging, maximise


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model.

    ``coef`` are log hazard ratios per unit of each column; ``cov`` their
    covariance (inverse observed information). The Breslow baseline
    cumulative hazard ``baseline_cumhaz`` at ``baseline_times`` refers to
    covariates at ``center`` (the fitting data's means).
    """

    coef: np.ndarray
    cov: np.ndarray
    center: np.ndarray
    baseline_times: np.ndarray
    baseline_cumhaz: np.ndarray
    ties: str
    n: float
    n_events: float
    loglik: float
    n_iter: int

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        """Centred linear predictor ``(x - center) @ coef``."""
        return np.asarray(X, dtype=float) @ self.coef - self.center @ self.coef

    def cumulative_hazard(self, X: np.ndarray, times) -> np.ndarray:
        """H(t | x) for each row of ``X`` (rows) and each time (columns)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        idx = np.searchsorted(self.baseline_times, times, side="right") - 1
        h0 = np.where(idx >= 0, self.baseline_cumhaz[np.maximum(idx, 0)], 0.0)
        return np.exp(self.linear_predictor(X))[:, None] * h0[None, :]

    def survival(self, X: np.ndarray, times) -> np.ndarray:
        """S(t | x) = exp(-H(t | x)), rows x times."""
        return np.exp(-self.cumulative_hazard(X, times))


def _sorted_groups(durations: np.ndarray, events: np.ndarray):
    order = np.lexsort((-events, durations))  # by time, events first within a time
    t = durations[order]
    e = events[order] > 0
    event_times, first = np.unique(t[e], return_index=True)
    return order, t, e, event_times


def fit_cox(X: np.ndarray, durations: np.ndarray, events: np.ndarray, *,
            weights: np.ndarray | None = None, ties: str = "efron", l2: float = 0.0,
            max_iter: int = 50, tol: float = 1e-9, names=None) -> CoxFit:
    """Fit a Cox proportional hazards model.

    Parameters
    ----------
    X : (n, p) array
        Covariates (no intercept).
    durations : (n,) array
        Follow-up time (calendar days), >= 0.
    events : (n,) array of 0/1
        1 when the spell ended by an exit, 0 when censored.
    weights : (n,) array, optional
        Non-negative case weights; tied events use R's mean-weight rule. They are
        divided by their largest value before the fit and the covariance,
        log-likelihood and counts scaled back, which is exact: weights of 1e-300 or
        1e300 fit as well as weights of 1.
    ties : {"efron", "breslow"}
    l2 : float
        Ridge penalty ``l2/2 * ||beta||^2``; 0 gives the partial-likelihood MLE.
    names : sequence of str, optional
        Column names for messages (default ``x0``, ``x1``, ...).

    Returns
    -------
    CoxFit

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(4000, 1))
    >>> t = np.ceil(100 * rng.exponential(size=4000) / np.exp(0.7 * x[:, 0]))
    >>> round(float(fit_cox(x, t, np.ones(4000)).coef[0]), 1)
    0.7
    """
    if weights is None:
        return _fit_cox(X, durations, events, ties=ties, l2=l2, max_iter=max_iter, tol=tol,
                        names=names)
    w = check_weights(weights, np.shape(X)[0] if np.ndim(X) else -1)
    if (w == 0).any() and np.shape(durations) == np.shape(events) == w.shape:
        # a row of weight 0 is not in the data: in a tied group it would still count in
        # Efron's mean weight, and a risk set of such rows alone has no sum to divide by
        kept = w > 0
        X, durations, events, w = (np.asarray(a)[kept] for a in (X, durations, events, w))
    c = float(w.max())
    # frequency weights c w: the same coefficients and baseline hazard, c times the
    # information; each log risk-set sum gains log c per unit of event weight
    fit = _fit_cox(X, durations, events, weights=w / c, ties=ties, l2=l2 / c, max_iter=max_iter,
                   tol=tol, names=names)
    return replace(fit, cov=unscaled_covariance(fit.cov, c), n=fit.n * c,
                   n_events=fit.n_events * c,
                   loglik=c * (fit.loglik - np.log(c) * fit.n_events))


def _fit_cox(X: np.ndarray, durations: np.ndarray, events: np.ndarray, *,
             weights: np.ndarray | None = None, ties: str = "efron", l2: float = 0.0,
             max_iter: int = 50, tol: float = 1e-9, names=None) -> CoxFit:
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=float)
    if durations.shape != (n,) or events.shape != (n,):
        raise ValueError(f"durations and events must have {n} values")
    if not (np.isfinite(X).all() and np.isfinite(durations).all()):
        raise ValueError("X and durations must be finite")
    if (durations < 0).any():
        raise ValueError("durations must be >= 0")
    if not np.isin(events, (0, 1)).all():
        raise ValueError("events must be 0 or 1")
    w = np.ones(n) if weights is None else check_weights(weights, n)
    if events.sum() == 0:
        raise ValueError("no events: a Cox model needs at least one exit")

    center = np.average(X, axis=0, weights=w)
    order, t, e, event_times = _sorted_groups(durations, events)
    Xs = X[order] - center
    ws = w[order]
    m = event_times.size
    # group index of each sorted row's event time; risk set of time j = rows with t >= tau_j
    ev_group = np.searchsorted(event_times, t[e])
    risk_start = np.searchsorted(t, event_times, side="left")
    block_start = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
    risk_block = np.searchsorted(block_start, risk_start)
    ev_start = np.flatnonzero(np.r_[True, ev_group[1:] != ev_group[:-1]])
    d_count = np.bincount(ev_group, minlength=m).astype(float)
    d_weight = np.bincount(ev_group, weights=ws[e], minlength=m)
    mean_w = d_weight / d_count
    # Efron: l = 0..d-1 within each tied group, phi = l / d
    first_in_group = np.concatenate([[0], np.cumsum(d_count)[:-1]]).astype(int)
    l_index = np.arange(ev_group.size) - first_in_group[ev_group]
    phi = l_index / d_count[ev_group] if ties == "efron" else np.zeros(ev_group.size)
    # which event times each row has lived through (for the r2 term): rows at risk at tau_j
    n_times_lived = np.searchsorted(event_times, t, side="right")
    Xe = Xs[e]
    we = ws[e]
    penalty = l2 * np.eye(p)

    def pieces(beta: np.ndarray):
        eta = Xs @ beta
        r = ws * np.exp(eta)
        # reverse cumulative sums: risk set sums at each time
        # risk-set sums at each event time: sum per block of equal times, then a
        # reverse cumulative sum over the (few) blocks instead of over all rows
        block_r0 = np.add.reduceat(r, block_start)
        block_r1 = np.add.reduceat(r[:, None] * Xs, block_start, axis=0)
        r0 = np.cumsum(block_r0[::-1])[::-1][risk_block]
        r1 = np.cumsum(block_r1[::-1], axis=0)[::-1][risk_block]
        re = r[e]
        t0 = np.bincount(ev_group, weights=re, minlength=m)
        # event rows are sorted by time, so each tied group is one contiguous block
        t1 = np.add.reduceat(re[:, None] * Xe, ev_start, axis=0) if p else np.zeros((m, 0))
        den = r0[ev_group] - phi * t0[ev_group]
        if (den <= 0).any():
            raise FloatingPointError("risk set sum not positive")
        mw = mean_w[ev_group]
        loglik = float(np.sum(we * eta[e]) - np.sum(mw * np.log(den)) - 0.5 * l2 * beta @ beta)
        return eta, r, r0, r1, t0, t1, den, mw, loglik

    def newton(beta: np.ndarray):
        eta, r, r0, r1, t0, t1, den, mw, loglik = pieces(beta)
        s_a = np.bincount(ev_group, weights=mw / den, minlength=m)
        s_b = np.bincount(ev_group, weights=mw * phi / den, minlength=m)
        s_c = np.bincount(ev_group, weights=mw / den**2, minlength=m)
        s_d = np.bincount(ev_group, weights=mw * phi / den**2, minlength=m)
        s_e = np.bincount(ev_group, weights=mw * phi**2 / den**2, minlength=m)
        grad = Xe.T @ we - (r1 * s_a[:, None]).sum(0) + (t1 * s_b[:, None]).sum(0) - l2 * beta
        cum_a = np.concatenate([[0.0], np.cumsum(s_a)])[n_times_lived]
        diag = r * cum_a
        diag[e] -= r[e] * s_b[ev_group]
        # diag >= 0 (phi < 1 within a tied group), so X' diag X is a symmetric S'S
        S = Xs * np.sqrt(np.maximum(diag, 0.0))[:, None]
        info = S.T @ S
        info -= (r1 * s_c[:, None]).T @ r1
        cross = (r1 * s_d[:, None]).T @ t1
        info += cross + cross.T
        info -= (t1 * s_e[:, None]).T @ t1
        return loglik, grad, info + penalty

    result = maximise(newton, np.zeros(p), max_iter=max_iter, tol=tol, what="Cox")
    beta, loglik, info, it = result.x, result.loglik, result.info, result.n_iter
    names = [f"x{j}" for j in range(p)] if names is None else [str(v) for v in names]
    # monotone likelihood: a coefficient still moving when the likelihood has settled
    infinite = diverging(result, tol) if l2 == 0 else np.zeros(p, dtype=bool)
    if p and (infinite.any() or np.max(np.abs(beta * X.std(axis=0))) > 20):
        which = [nm for nm, f in zip(names, infinite, strict=True) if f]
        warnings.warn("monotone likelihood: very large hazard ratios, a covariate (nearly) "
                      f"separates exits from censoring{f' ({which} tend to infinity)' if which else ''}"
                      "; estimates are unreliable", SeparationWarning, stacklevel=2)
    cov = covariance(info, names, what="Cox", infinite=infinite)

    # Breslow baseline cumulative hazard at the centre
    _, r, r0, *_ = pieces(beta)
    hazard = d_weight / r0
    return CoxFit(coef=beta, cov=cov, center=center, baseline_times=event_times,
                  baseline_cumhaz=np.cumsum(hazard), ties=ties, n=float(w.sum()),
                  n_events=float(w[events > 0].sum()), loglik=loglik, n_iter=it)
