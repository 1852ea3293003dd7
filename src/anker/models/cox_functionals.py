"""Cox-model pieces beyond the fit: the fit's influence and restricted-mean functionals.

The cohort comparison (`anker.outcome`, and its g-computation on a Dask
frame, `anker.distributed.gcomp`) needs two things from a fitted Cox model
(`anker.models.cox.fit_cox`) that the fitter itself does not give:

- per-person *influence* of the fit, so that any smooth functional of the
  model (an averaged RMST, a model-completed outcome) gets per-person
  contributions and can be bootstrapped by one weighted sum per replicate
  (`anker.survival.bootstrap.multiplier_bootstrap`);
- restricted-mean *functionals* of the fitted curves with their gradients
  with respect to the coefficients and the baseline hazard jumps:
  RMST(horizon | z) and the expected remaining restricted time of someone
  still on benefit when censored.

Notation: ``Z`` is the model's design matrix (cohort indicator first, then
covariate terms), r_i = exp((z_i - center)' beta), the baseline hazard has
Breslow jumps lambda_j = d_j / S0_j at the event times t_j, with
S0_j = sum of r_i over those at risk at t_j and zbar_j the r-weighted mean of
z over that risk set. A "contribution" c_i of person i to an estimate
theta_hat satisfies theta_hat - theta ~= sum_i c_i (so n c_i is the
influence value IF_i).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anker.models.cox import CoxFit
from anker.models.efron import EfronTerms, efron_score_product, efron_terms

# rows per chunk when forming (rows x event times) survival matrices: ~25 MB per array
_ROWS_PER_CHUNK = 8192


@dataclass(frozen=True)
class CoxInfluence:
    """The linearisation of a Cox fit: contributions of each person to beta and the baseline.

    Attributes
    ----------
    fit : the CoxFit.
    times : event times up to the horizon (t_1 .. t_K), calendar days.
    hazard : baseline hazard jumps at ``times`` (at the fit's centre): Efron's for an
        Efron fit (as R's ``survfit.coxph``), Breslow's for a Breslow fit.
    cumhaz : baseline cumulative hazard at ``times``.
    horizon : calendar days.
    beta_contribution : (n, p); beta_hat - beta ~= column sums (exact Efron score
        residuals for an Efron fit, as R's ``residuals(type = "score")``, times cov).
    """

    fit: CoxFit
    times: np.ndarray
    hazard: np.ndarray
    cumhaz: np.ndarray
    horizon: float
    beta_contribution: np.ndarray
    _event_weight: np.ndarray
    _compensator: np.ndarray
    _tied: np.ndarray
    _beta_path: np.ndarray
    _exp_lp: np.ndarray
    _event_index: np.ndarray
    _lived_index: np.ndarray

    @property
    def widths(self) -> np.ndarray:
        """Widths of the K + 1 pieces of the step curves on [0, horizon]."""
        return np.diff(np.concatenate(([0.0], self.times, [self.horizon])))

    def contributions(self, grad_beta: np.ndarray, grad_hazard: np.ndarray) -> np.ndarray:
        """Per-person contributions to functionals with the given gradients.

        For functionals F_k(beta, lambda_1..lambda_K) with gradients
        ``grad_beta`` (k, p) and ``grad_hazard`` (k, K), the contribution of
        person i is ``sum_j dF/dlambda_j dlambda_ij + dF/dbeta' dbeta_i`` with
        the baseline's linearisation (Breslow: (dN_i(t_j) - Y_i(t_j) r_i lambda_j) / S0_j
        - lambda_j zbar_j' dbeta_i; Efron: see `anker.models.efron`).

        Returns an (n, k) array.
        """
        grad_beta = np.atleast_2d(grad_beta)
        grad_hazard = np.atleast_2d(grad_hazard)
        cum = np.concatenate((np.zeros((grad_hazard.shape[0], 1)),
                              np.cumsum(grad_hazard * self._compensator, axis=1)), axis=1)
        out = -self._exp_lp[:, None] * cum[:, self._lived_index].T
        has_event = self._event_index >= 0
        j = self._event_index[has_event]
        out[has_event] += (grad_hazard[:, j] * (self._event_weight[j]
                                                + self._exp_lp[has_event] * self._tied[j])).T
        through_beta = grad_beta - grad_hazard @ self._beta_path  # (k, p)
        out += self.beta_contribution @ through_beta.T
        return out


def cox_influence(fit: CoxFit, Z: np.ndarray, durations: np.ndarray, events: np.ndarray,
                  horizon: float, *, weights: np.ndarray | None = None,
                  terms: EfronTerms | None = None, overwrite_Z: bool = False) -> CoxInfluence:
    """Linearise an unweighted Cox fit of ``Z`` on (durations, events), with the fit's tie rule.

    Efron fits get the Efron baseline and exact Efron score residuals
    (`anker.models.efron`); Breslow fits the Breslow ones. beta_hat - beta ~=
    cov @ sum_i U_i. Case ``weights`` enter the baseline hazard (so a weight
    perturbation moves it as it moves the fit); the linearisation is that of
    the unweighted fit. ``terms``: the fit's `anker.models.efron.efron_terms` when
    already computed (on the same rows and weights). ``overwrite_Z``: the (n, p)
    beta contributions are written over ``Z`` (float, writeable), each block of rows
    after it has been read: ``Z`` is then no longer the design.
    """
    Z = np.asarray(Z, dtype=float)
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=float)
    # r_i a block of rows at a time: (Z - center) would be an (n, p) temporary
    exp_lp = np.empty(Z.shape[0])
    for rows in _blocks(Z.shape[0]):
        exp_lp[rows] = np.exp((Z[rows] - fit.center) @ fit.coef)
    event_times = fit.baseline_times
    is_event = events > 0
    lived = np.searchsorted(event_times, durations, side="right")
    if fit.ties == "efron":
        terms = terms or efron_terms(fit, Z, durations, events, weights)
        # beta_hat - beta ~= U cov, formed a block of rows at a time (no (n, p) U)
        beta_contribution = efron_score_product(fit, Z, durations, events, terms=terms,
                                                matrix=fit.cov, out=_result(Z, overwrite_Z))
        hazard, event_weight, compensator = terms.hazard, terms.event_weight, terms.compensator
        tied, beta_path = terms.tied, terms.beta_path
    else:
        w = np.ones(exp_lp.size) if weights is None else np.asarray(weights, dtype=float)
        hazard, s0, risk_mean, beta_contribution = _breslow(fit, Z, durations, exp_lp, w,
                                                            lived, is_event,
                                                            _result(Z, overwrite_Z))
        event_weight, compensator = 1.0 / s0, hazard / s0
        tied, beta_path = np.zeros(event_times.size), risk_mean * hazard[:, None]

    k = int(np.searchsorted(event_times, horizon, side="right"))
    event_index = np.where(is_event & (durations <= horizon), lived - 1, -1)
    return CoxInfluence(
        fit=fit, times=event_times[:k], hazard=hazard[:k], cumhaz=np.cumsum(hazard)[:k],
        horizon=float(horizon), beta_contribution=beta_contribution,
        _event_weight=event_weight[:k], _compensator=compensator[:k], _tied=tied[:k],
        _beta_path=beta_path[:k], _exp_lp=exp_lp, _event_index=event_index,
        _lived_index=np.minimum(lived, k),
    )


def _blocks(n: int):
    return (slice(begin, begin + _ROWS_PER_CHUNK) for begin in range(0, n, _ROWS_PER_CHUNK))


def _result(Z: np.ndarray, overwrite: bool) -> np.ndarray:
    """Where the (n, p) beta contributions go: over Z itself when allowed and possible."""
    if overwrite and Z.dtype == np.float64 and Z.flags.writeable:
        return Z
    return np.empty(Z.shape)


def _breslow(fit: CoxFit, Z: np.ndarray, durations: np.ndarray, exp_lp: np.ndarray,
             w: np.ndarray, lived: np.ndarray, is_event: np.ndarray, out: np.ndarray):
    """Breslow jumps, risk-set sums S0 and means zbar, and beta_hat - beta ~= U cov per row.

    The risk-set sums are per-time sums added up from the last event time back
    (a column at a time, no sort); the score residuals
    L_i = d_i (z_i - zbar(T_i)) - r_i sum_{t_j <= T_i} (z_i - zbar_j) lambda_j
    a block of rows at a time into ``out`` (which may be Z: each block is read first).
    """
    K, p = fit.baseline_times.size, Z.shape[1]
    bucket = lived - 1  # the last event time each row lives through
    at_risk = bucket >= 0
    bucket = bucket[at_risk]

    def from_the_end(values: np.ndarray) -> np.ndarray:
        return np.cumsum(np.bincount(bucket, weights=values[at_risk], minlength=K)[::-1])[::-1]

    s0 = from_the_end(w * exp_lp)
    s1 = np.empty((K, p))
    for j in range(p):
        s1[:, j] = from_the_end(exp_lp * (Z[:, j] - fit.center[j]))
    n_events = np.bincount(np.searchsorted(fit.baseline_times, durations[is_event]),
                           weights=w[is_event], minlength=K)
    hazard = n_events / s0
    risk_mean = s1 / s0[:, None]
    cum_hazard = np.concatenate(([0.0], np.cumsum(hazard)))
    cum_mean = np.concatenate((np.zeros((1, p)), np.cumsum(risk_mean * hazard[:, None], axis=0)))
    for rows in _blocks(Z.shape[0]):
        Zc = Z[rows] - fit.center
        at = lived[rows]
        score = Zc * cum_hazard[at][:, None]
        score -= cum_mean[at]
        score *= -exp_lp[rows, None]
        exits = is_event[rows]
        score[exits] += Zc[exits] - risk_mean[at[exits] - 1]
        out[rows] = score @ fit.cov
    return hazard, s0, risk_mean, out


@dataclass(frozen=True)
class Functional:
    """Values of a restricted-mean functional per row, and gradients of weighted sums of them.

    ``values`` (rows,); ``grad_beta`` (k, p) and ``grad_hazard`` (k, K) are the
    gradients of ``coefficients.T @ values`` (one per coefficient column);
    ``mean_survival`` is the row-average of S(t_j | z) (the g-computation curve).
    """

    values: np.ndarray
    grad_beta: np.ndarray
    grad_hazard: np.ndarray
    mean_survival: np.ndarray


def rmst_functional(infl: CoxInfluence, Z: np.ndarray, coefficients: np.ndarray, *,
                    censor_times: np.ndarray | None = None,
                    curve_rows: np.ndarray | None = None) -> Functional:
    """RMST(horizon | z) per row, or the expected restricted time left after ``censor_times``.

    Without ``censor_times``: f(z) = integral_0^h S(t | z) dt. With them
    (each below the horizon): g(z, C) = integral_C^h S(t | z) / S(C | z) dt,
    the expected further calendar days on benefit up to the horizon of
    someone still on benefit at C, so that C + g is the model's completion
    of a censored min(T, horizon). Gradients with respect to beta and the
    baseline jumps are accumulated as ``coefficients.T @ gradient``;
    ``mean_survival`` averages S(t_j | z) over ``curve_rows`` (default all rows).
    """
    fit = infl.fit
    Z = np.asarray(Z, dtype=float)
    coefficients = np.asarray(coefficients, dtype=float)
    if coefficients.ndim == 1:
        coefficients = coefficients[:, None]
    k_out, p, n_times = coefficients.shape[1], Z.shape[1], infl.times.size
    widths = infl.widths
    cumhaz0 = np.concatenate(([0.0], infl.cumhaz))
    starts = np.concatenate(([0.0], infl.times))
    values = np.empty(Z.shape[0])
    grad_beta = np.zeros((k_out, p))
    # for f: gradient wrt lambda_j is -sum_i c_i r_i (area from t_j on), a reverse cumulative
    # sum of the pieces' weighted column sums, so no per-row cumulative sums are needed
    pieces_sum = np.zeros((k_out, n_times + 1))
    grad_hazard = np.zeros((k_out, n_times))
    curve_mask = np.ones(Z.shape[0], bool) if curve_rows is None else np.asarray(curve_rows, bool)
    survival_sum = np.zeros(n_times)
    for begin in range(0, Z.shape[0], _ROWS_PER_CHUNK):
        rows = slice(begin, begin + _ROWS_PER_CHUNK)
        zc = Z[rows] - fit.center
        r = np.exp(zc @ fit.coef)
        heights = np.exp(-r[:, None] * cumhaz0)  # (m, K + 1), column 0 is S(0) = 1
        survival_sum += curve_mask[rows] @ heights[:, 1:]
        pieces = heights * widths
        coef = coefficients[rows]
        if censor_times is None:
            values[rows] = pieces.sum(axis=1)
            d_beta = -r * (pieces @ cumhaz0)
            pieces_sum += (coef * r[:, None]).T @ pieces
        else:
            beyond = np.cumsum(pieces[:, ::-1], axis=1)[:, ::-1]  # area from t_j to the horizon
            beyond_h = np.cumsum((pieces * cumhaz0)[:, ::-1], axis=1)[:, ::-1]
            censor = np.asarray(censor_times, dtype=float)[rows]
            q = np.searchsorted(infl.times, censor, side="right")
            idx = np.arange(q.size)
            at_censor = heights[idx, q]
            ok = at_censor > 1e-300  # a curve that has reached 0 leaves nothing to complete
            inv = np.divide(1.0, at_censor, out=np.zeros_like(at_censor), where=ok)
            values[rows] = np.where(ok, beyond[idx, q] * inv - (censor - starts[q]), 0.0)
            d_beta = -r * inv * (beyond_h[idx, q] - cumhaz0[q] * beyond[idx, q])
            after = np.arange(1, n_times + 1)[None, :] > q[:, None]
            grad_hazard -= (coef * (r * inv)[:, None]).T @ (beyond[:, 1:] * after)
        grad_beta += (coef * d_beta[:, None]).T @ zc
    if censor_times is None:
        grad_hazard = -np.cumsum(pieces_sum[:, ::-1], axis=1)[:, ::-1][:, 1:]
    return Functional(values, grad_beta, grad_hazard, survival_sum / max(curve_mask.sum(), 1))
