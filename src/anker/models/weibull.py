"""Weibull regression (proportional hazards form, equivalently accelerated failure time).

Used where a survival curve must reach beyond the follow-up of the data,
e.g. the chance of exhausting a five-year entitlement. The model is

    S(t | x) = exp(-t^k exp(alpha + x beta)),

so ``beta`` are log hazard ratios; the AFT time ratio of a term is
``exp(-beta / k)`` (lifelines' ``WeibullAFTFitter`` reports
``-beta / k`` as its ``lambda_`` coefficients and ``log k`` as ``rho_``).
Fitted by Newton-Raphson with the analytic Hessian.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from anker.models.logistic import SeparationWarning
from anker.models.newton import covariance, diverging, maximise


@dataclass(frozen=True)
class WeibullFit:
    """Fitted Weibull PH model; ``cov`` covers (beta..., alpha, log_shape)."""

    coef: np.ndarray
    alpha: float
    log_shape: float
    cov: np.ndarray
    center: np.ndarray
    n: float
    n_events: float
    loglik: float
    n_iter: int

    @property
    def shape(self) -> float:
        return float(np.exp(self.log_shape))

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))[: self.coef.size]

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=float) @ self.coef - self.center @ self.coef + self.alpha

    @property
    def offset(self) -> float:
        """The constant of the linear predictor: ``linear_predictor(X) = X @ coef + offset``."""
        return float(-self.center @ self.coef + self.alpha)

    def baseline(self, times) -> np.ndarray:
        """Baseline cumulative hazard ``t ** shape`` at each of ``times``."""
        return np.power(np.asarray(times, dtype=float), self.shape)

    def cumulative_hazard(self, X: np.ndarray, times) -> np.ndarray:
        times = np.atleast_1d(np.asarray(times, dtype=float))
        return np.exp(self.linear_predictor(X))[:, None] * self.baseline(times)[None, :]

    def survival(self, X: np.ndarray, times) -> np.ndarray:
        return np.exp(-self.cumulative_hazard(X, times))

    def quantile(self, X: np.ndarray, q: float = 0.5) -> np.ndarray:
        """Time by which a share ``q`` has left: the median for q = 0.5."""
        return np.power(-np.log1p(-q) / np.exp(self.linear_predictor(X)), 1 / self.shape)


def _as_information(value):
    loglik, grad, hess = value
    return loglik, grad, -hess


def fit_weibull(X: np.ndarray, durations: np.ndarray, events: np.ndarray, *,
                max_iter: int = 100, tol: float = 1e-9, names=None) -> WeibullFit:
    """Maximum-likelihood Weibull PH regression with right censoring.

    Parameters
    ----------
    X : (n, p) array
    durations : (n,) array, > 0 (calendar days)
    events : (n,) array of 0/1
    names : sequence of str, optional
        Column names for messages (default ``x0``, ``x1``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> x = rng.normal(size=(5000, 1))
    >>> t = 100 * (rng.exponential(size=5000) / np.exp(0.5 * x[:, 0])) ** (1 / 0.8)
    >>> fit = fit_weibull(x, t, np.ones(5000))
    >>> round(fit.shape, 1), round(float(fit.coef[0]), 1)
    (0.8, 0.5)
    """
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=float)
    if t.shape != (n,) or e.shape != (n,):
        raise ValueError(f"durations and events must have {n} values")
    if not (np.isfinite(t).all() and np.isfinite(X).all()):
        raise ValueError("X and durations must be finite")
    if (t <= 0).any():
        raise ValueError("durations must be > 0 for a Weibull model")
    if not np.isin(e, (0, 1)).all():
        raise ValueError("events must be 0 or 1")
    if e.sum() == 0:
        raise ValueError("no events: a Weibull model needs at least one exit")
    center = X.mean(axis=0)
    Z = np.column_stack([X - center, np.ones(n)])
    logt = np.log(t)

    def evaluate(theta: np.ndarray):
        b, s = theta[:-1], theta[-1]
        k = np.exp(s)
        eta = Z @ b
        H = np.exp(k * logt + eta)
        klogt = k * logt
        loglik = float(np.sum(e * (s + (k - 1) * logt + eta)) - H.sum())
        grad = np.concatenate([Z.T @ (e - H), [np.sum(e * (1 + klogt)) - np.sum(H * klogt)]])
        hess = np.empty((p + 2, p + 2))
        hess[:-1, :-1] = -(Z * H[:, None]).T @ Z
        hess[:-1, -1] = hess[-1, :-1] = -(Z * (H * klogt)[:, None]).sum(axis=0)
        hess[-1, -1] = np.sum(e * klogt) - np.sum(H * klogt**2 + H * klogt)
        return loglik, grad, hess

    # start: exponential model with the crude rate
    theta = np.zeros(p + 2)
    theta[-2] = np.log(e.sum() / t.sum())
    result = maximise(lambda th: _as_information(evaluate(th)), theta, max_iter=max_iter,
                      tol=tol, what="Weibull")
    theta, loglik, it = result.x, result.loglik, result.n_iter
    names = [f"x{j}" for j in range(p)] if names is None else [str(v) for v in names]
    all_names = names + ["alpha", "log_shape"]
    infinite = diverging(result, tol)
    if infinite.any() or (p and np.max(np.abs(theta[:p] * X.std(axis=0))) > 20):
        which = [nm for nm, f in zip(all_names, infinite, strict=True) if f]
        warnings.warn("monotone likelihood: very large hazard ratios, a covariate (nearly) "
                      f"separates exits from censoring{f' ({which} tend to infinity)' if which else ''}"
                      "; estimates are unreliable", SeparationWarning, stacklevel=2)
    cov = covariance(result.info, all_names, what="Weibull", infinite=infinite)
    return WeibullFit(coef=theta[:p], alpha=float(theta[p]), log_shape=float(theta[-1]),
                      cov=cov, center=center, n=float(n), n_events=float(e.sum()),
                      loglik=loglik, n_iter=it)
