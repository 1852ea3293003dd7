"""Efron's tie handling beyond the fit: the baseline hazard, exact score residuals, linearisation.

`anker.models.cox.fit_cox` maximises Efron's partial likelihood but reports
the Breslow baseline. With whole-day benefit durations ties are heavy, and
R's ``survfit.coxph`` (and ``riskRegression``) predict from an Efron fit
with the Efron baseline, and ``residuals(fit, type = "score")`` gives the
exact Efron score residuals. Both are here, for unweighted fits.

At an event time with d tied exits, risk-set sums S0, S1 and tied sums T0, T1
(r_i = exp((z_i - center)' beta)), for l = 0 .. d-1:
den_l = S0 - (l/d) T0 and m_l = (S1 - (l/d) T1) / den_l. Then

- baseline hazard jump: a = sum_l 1 / den_l;
- score residual of person k: U_k = sum_j [delta_kj sum_l (z_k - m_l) / d
  - r_k sum_l c_kl (z_k - m_l) / den_l], c_kl = 1 - l/d for the tied exits
  and 1 for the others at risk (R's ``coxscore``);
- the jump's linearisation in person i's weight:
  delta_ij a / d - r_i sum_l c_il / den_l^2 - (sum_l m_l / den_l)' dbeta_i.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anker.models.cox import CoxFit


@dataclass(frozen=True)
class EfronTerms:
    """Per event time (``times``): the pieces of the Efron baseline and its linearisation."""

    times: np.ndarray
    hazard: np.ndarray          # a_j = sum_l 1 / den_l
    event_weight: np.ndarray    # a_j / d_j
    compensator: np.ndarray     # sum_l 1 / den_l^2
    tied: np.ndarray            # sum_l (l / d) / den_l^2
    beta_path: np.ndarray       # (K, p): sum_l m_l / den_l
    mean_death: np.ndarray      # (K, p): sum_l m_l / d
    tied_mean: np.ndarray       # (K, p): sum_l (l / d) m_l / den_l
    tied_hazard: np.ndarray     # sum_l (l / d) / den_l


def efron_terms(fit: CoxFit, Z: np.ndarray, durations: np.ndarray, events: np.ndarray,
                weights: np.ndarray | None = None) -> EfronTerms:
    """The Efron pieces of a fit of ``Z`` on (durations, events).

    With case ``weights`` the sums are weighted and each tied exit counts with
    the tied exits' mean weight (R's rule); the linearisation pieces are those
    of the unweighted fit.
    """
    Zc = np.asarray(Z, dtype=float) - fit.center
    durations = np.asarray(durations, dtype=float)
    is_event = np.asarray(events, dtype=float) > 0
    r = np.exp(Zc @ fit.coef)
    w = np.ones(r.size) if weights is None else np.asarray(weights, dtype=float)
    r = r * w
    times = fit.baseline_times
    order = np.argsort(durations, kind="stable")
    start = np.searchsorted(durations[order], times, side="left")
    S0 = np.cumsum(r[order][::-1])[::-1][start]
    weighted = Zc[order]
    weighted *= r[order][:, None]
    backwards = weighted[::-1]
    np.cumsum(backwards, axis=0, out=backwards)  # suffix sums, without another (n, p) copy
    S1 = weighted[start]
    del weighted, backwards
    group = np.searchsorted(times, durations[is_event])
    K, p = times.size, Zc.shape[1]
    d = np.bincount(group, minlength=K).astype(float)
    mean_w = np.bincount(group, weights=w[is_event], minlength=K) / np.maximum(d, 1)
    T0 = np.bincount(group, weights=r[is_event], minlength=K)
    T1 = np.zeros((K, p))
    np.add.at(T1, group, r[is_event, None] * Zc[is_event])
    hazard, comp, tied, tied_hazard = np.zeros(K), np.zeros(K), np.zeros(K), np.zeros(K)
    path, mean_death, tied_mean = np.zeros((K, p)), np.zeros((K, p)), np.zeros((K, p))
    for l_ in range(int(d.max()) if K else 0):
        on = d > l_
        frac = np.where(on, l_ / np.maximum(d, 1), 0.0)
        den = np.where(on, S0 - frac * T0, 1.0)
        m = (S1 - frac[:, None] * T1) / den[:, None]
        inv = np.where(on, 1.0 / den, 0.0)
        hazard += mean_w * inv
        comp += inv**2
        tied += frac * inv**2
        tied_hazard += frac * inv
        path += m * inv[:, None]
        mean_death += np.where(on[:, None], m, 0.0) / np.maximum(d, 1)[:, None]
        tied_mean += (frac * inv)[:, None] * m
    return EfronTerms(times, hazard, hazard / np.maximum(d, 1), comp, tied, path, mean_death,
                      tied_mean, tied_hazard)


def efron_score_residuals(fit: CoxFit, Z: np.ndarray, durations: np.ndarray, events: np.ndarray,
                          terms: EfronTerms | None = None) -> np.ndarray:
    """Exact Efron score residuals (n, p), as R's ``residuals(coxph, type = "score")``.

    Examples
    --------
    >>> from anker.models.cox import fit_cox
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(300, 1))
    >>> t = np.ceil(10 * rng.exponential(size=300) / np.exp(0.5 * x[:, 0]))
    >>> fit = fit_cox(x, t, np.ones(300))
    >>> abs(float(efron_score_residuals(fit, x, t, np.ones(300)).sum())) < 1e-8  # the score at the MLE
    True
    """
    terms = terms or efron_terms(fit, Z, durations, events)
    Zc = np.asarray(Z, dtype=float) - fit.center
    durations = np.asarray(durations, dtype=float)
    is_event = np.asarray(events, dtype=float) > 0
    r = np.exp(Zc @ fit.coef)
    lived = np.searchsorted(terms.times, durations, side="right")
    cum_a = np.concatenate(([0.0], np.cumsum(terms.hazard)))[lived]
    cum_b = np.concatenate((np.zeros((1, Zc.shape[1])), np.cumsum(terms.beta_path, axis=0)))
    # in place: at national scale every (n, p) temporary is hundreds of MB
    score = Zc * cum_a[:, None]
    score -= cum_b[lived]
    score *= -r[:, None]
    j = lived[is_event] - 1
    z_event = Zc[is_event]
    del Zc
    # (z - mean_death) + r (z tied_hazard - tied_mean), one (events, p) temporary at a time
    at_event = z_event - terms.mean_death[j]
    z_event *= terms.tied_hazard[j, None]
    z_event -= terms.tied_mean[j]
    z_event *= r[is_event, None]
    at_event += z_event
    del z_event
    score[is_event] += at_event
    return score
