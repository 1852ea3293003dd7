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
        Z = np.asarray(Z, dtype=float)
        if fit.intercept:
            # x_i' C x_i with x_i = (1, z_i), without the n x (p + 1) copy that adds the 1
            eta = Z @ fit.coef[1:] + fit.coef[0]
            q = C[0, 0] + Z @ (C[1:, 0] + C[0, 1:]) + _row_dot(Z @ C[1:, 1:], Z)
        else:
            eta = Z @ fit.coef
            q = _row_dot(Z @ C, Z)
        p = 1.0 / (1.0 + np.exp(-eta))
        return eta - q * (outcome - p) / np.clip(1 - p * (1 - p) * q, 1e-12, None)
    if not hasattr(fit, "baseline_cumhaz"):
        return None
    Xc = np.asarray(Z, dtype=float) - fit.center
    return Xc @ fit.coef - _cox_influence_shift(Xc, fit.coef, C, durations, outcome)


def _row_dot(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``(A * B).sum(axis=1)`` without the n x p product (a three-operand einsum loops n p^2)."""
    return np.einsum("ij,ij->i", A, B)


def _cox_influence_shift(Xc: np.ndarray, beta: np.ndarray, C: np.ndarray,
                         durations: np.ndarray, events: np.ndarray) -> np.ndarray:
    """(x_i C) . U_i per row, U_i the score residual
    U_i = d_i (x_i - xbar(t_i)) - r_i sum over event times t_j <= t_i of
    dN_j (x_i - xbar(t_j)) / S0(t_j), with xbar = S1 / S0 over the risk set.

    The risk-set sums come from one count per event-time bucket (no sort of the rows,
    no n x p cumulative sum) and U is never formed: x_i C is dotted with each of its parts.
    """
    r = np.exp(Xc @ beta)
    tau, d = np.unique(durations[events > 0], return_counts=True)
    lived = np.searchsorted(tau, durations, side="right")  # event times up to t_i

    def at_risk(weights: np.ndarray) -> np.ndarray:
        """Sum of ``weights`` over the risk set t >= tau_j of every event time."""
        per_bucket = np.bincount(lived, weights=weights, minlength=tau.size + 1)
        return np.cumsum(per_bucket[::-1])[::-1][1:]

    s0 = at_risk(r)
    s1 = np.column_stack([at_risk(r * Xc[:, k]) for k in range(Xc.shape[1])])
    cum_a = np.concatenate([[0.0], np.cumsum(d / s0)])
    cum_b = np.vstack([np.zeros(Xc.shape[1]), np.cumsum(d[:, None] * s1 / s0[:, None] ** 2,
                                                         axis=0)])
    xbar = s1 / s0[:, None]
    A = Xc @ C
    a_x = _row_dot(A, Xc)
    shift = -r * (a_x * cum_a[lived] - _row_dot(A, cum_b[lived]))
    is_event = events > 0
    shift[is_event] += a_x[is_event] - _row_dot(A[is_event], xbar[lived[is_event] - 1])
    return shift


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
