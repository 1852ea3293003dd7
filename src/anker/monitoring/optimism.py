"""What a fresh sample of the fitting inflow should show: the yardsticks of the monitoring advice.

A model scores its own fitting data better than any new data: its apparent
AUC or C-index is optimistic and its calibration slope there is 1 by
construction, while on a fresh sample of the same inflow the slope falls
below 1 (the fit adapted to noise) and so does the discrimination. On a few
thousand rows with some thirty coefficients both effects are as large as the
changes that ask for a refit, so `anker.monitoring.performance` compares a new
inflow with these expectations, not with the apparent values:

- the expected calibration slope is van Houwelingen and le Cessie's
  heuristic shrinkage (chi2 - df) / chi2 of the model's likelihood-ratio
  chi-square (the logistic tests in `anker.monitoring.reference`, the Cox
  partial likelihood here);
- the expected AUC or C-index is that of leave-one-out linear predictors,
  each from the model fitted without its row, approximated by one Newton
  step from the full fit: for a logistic model (Pregibon 1981) the row's
  influence on the coefficients is C x_i (y_i - p_i) / (1 - h_i), for a
  Cox model C U_i with U_i the row's score residual (Breslow form; Therneau
  and Grambsch 2000, ch. 7), C being the inverse information.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["leave_one_out_lp", "cox_expected_slope"]


def leave_one_out_lp(fit: Any, Z: np.ndarray, outcome: np.ndarray, *,
                     durations: np.ndarray | None = None) -> np.ndarray | None:
    """Each row's linear predictor from the model fitted without that row (one Newton step).

    ``fit`` is a logistic fit (``outcome`` the 0/1 outcome) or a Cox fit
    (``outcome`` the event flags, with ``durations``). None when the
    covariance is not finite (separation) or the fit is of another kind
    (a Weibull model).

    Examples
    --------
    >>> import numpy as np
    >>> from anker.models.logistic import fit_logistic
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> y = (rng.random(300) < 1 / (1 + np.exp(-X[:, 0]))).astype(float)
    >>> full = fit_logistic(X, y)
    >>> eta = leave_one_out_lp(full, X, y)
    >>> exact = fit_logistic(X[1:], y[1:]).linear_predictor(X[:1])[0]
    >>> bool(abs(eta[0] - exact) < 1e-3)
    True
    """
    C = np.asarray(fit.cov, dtype=float)
    if not np.isfinite(C).all():
        return None
    if durations is None:
        Z1 = np.column_stack([np.ones(len(Z)), Z]) if fit.intercept else np.asarray(Z)
        eta = Z1 @ fit.coef
        p = 1.0 / (1.0 + np.exp(-eta))
        # x_i' C x_i row by row: one matrix product, not a three-operand einsum (n p^2 loops)
        q = np.einsum("ij,ij->i", Z1 @ C, Z1)
        return eta - q * (outcome - p) / np.clip(1 - p * (1 - p) * q, 1e-12, None)
    if not hasattr(fit, "baseline_cumhaz"):
        return None
    Xc = np.asarray(Z, dtype=float) - fit.center
    U = _cox_score_residuals(Xc, fit.coef, durations, outcome)
    return Xc @ fit.coef - np.einsum("ij,ij->i", Xc @ C, U)


def _cox_score_residuals(Xc: np.ndarray, beta: np.ndarray, durations: np.ndarray,
                         events: np.ndarray) -> np.ndarray:
    """U_i = d_i (x_i - xbar(t_i)) - r_i sum over event times t_j <= t_i of
    dN_j (x_i - xbar(t_j)) / S0(t_j), with xbar = S1 / S0 over the risk set."""
    r = np.exp(Xc @ beta)
    order = np.argsort(durations, kind="stable")
    t_sorted = durations[order]
    tau, d = np.unique(durations[events > 0], return_counts=True)
    first = np.searchsorted(t_sorted, tau, side="left")  # the risk set at tau: t >= tau
    s0 = np.cumsum(r[order][::-1])[::-1][first]
    s1 = np.cumsum((r[:, None] * Xc)[order][::-1], axis=0)[::-1][first]
    cum_a = np.concatenate([[0.0], np.cumsum(d / s0)])
    cum_b = np.vstack([np.zeros(Xc.shape[1]), np.cumsum(d[:, None] * s1 / s0[:, None] ** 2,
                                                         axis=0)])
    lived = np.searchsorted(tau, durations, side="right")  # event times up to t_i
    xbar = (s1 / s0[:, None])[np.maximum(lived - 1, 0)]
    U = -r[:, None] * (Xc * cum_a[lived][:, None] - cum_b[lived])
    U += (events > 0)[:, None] * (Xc - xbar)
    return U


def cox_expected_slope(durations: np.ndarray, events: np.ndarray, lp: np.ndarray, *,
                       n_parameters: int) -> float:
    """Heuristic shrinkage (chi2 - df) / chi2 of a Cox model, chi2 its likelihood ratio
    against no covariates on ``durations`` / ``events``, ``lp`` its linear predictor."""
    from anker.models.cox import fit_cox

    lp = np.asarray(lp, dtype=float)
    with np.errstate(all="ignore"):
        fitted = fit_cox(lp[:, None], durations, events, ties="efron").loglik
        null = fit_cox(lp[:, None][:, :0], durations, events, ties="efron").loglik
    chi2 = 2 * (fitted - null)
    return float(max(chi2 - n_parameters, 0.0) / chi2) if chi2 > 0 else 1.0
