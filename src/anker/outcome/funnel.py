"""Plain array functions for observed / expected ratios: exact CIs, funnel limits, shrinkage.

O is treated as Poisson with mean ``ratio * E`` (see `anker.outcome.coach`
for where O and E come from): exact (Garwood) CIs for O/E, exact funnel-plot
limits with Spiegelhalter's (2005) interpolation, and an empirical-Bayes
gamma-Poisson shrinkage of each O/E towards the overall ratio.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

FUNNEL_COVERAGES = (0.95, 0.998)


def oe_confidence_interval(observed, expected, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) CI of the ratio O/E for a Poisson count O with known E.

    Lower = chi2(alpha/2; 2O) / 2E, upper = chi2(1 - alpha/2; 2O + 2) / 2E,
    and lower = 0 when O = 0.

    Examples
    --------
    >>> low, high = oe_confidence_interval([3], [1.0])
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.6187, 8.7673)
    """
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    alpha = 1 - _check_level(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(observed > 0, stats.chi2.ppf(alpha / 2, 2 * observed) / 2, 0.0) / expected
        high = stats.chi2.ppf(1 - alpha / 2, 2 * observed + 2) / 2 / expected
    return low, high


def funnel_limits(expected, *, coverage: float = 0.998,
                  target: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Funnel-plot control limits of O/E at expected count E, O ~ Poisson(target * E).

    Exact Poisson quantiles made continuous by Spiegelhalter's (2005,
    appendix A.1.2) interpolation, so the limits are smooth curves in E and
    approach ``target * (1 -/+ z * sqrt(1 / (target * E)))`` for large E.

    Examples
    --------
    >>> low, high = funnel_limits([100.0, 10_000.0], coverage=0.95)
    >>> [round(float(v), 2) for v in high]
    [1.2, 1.02]
    """
    expected = np.asarray(expected, dtype=float)
    if not 0 < float(coverage) < 1:
        raise ValueError(f"coverage must lie strictly between 0 and 1, got {coverage!r}")
    if not np.isfinite(target) or target <= 0:
        raise ValueError(f"target must be a positive ratio, got {target!r}")
    mean = target * expected
    out = []
    for p in ((1 - coverage) / 2, (1 + coverage) / 2):
        r = stats.poisson.ppf(p, mean)
        f_r = stats.poisson.cdf(r, mean)
        f_below = stats.poisson.cdf(r - 1, mean)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(f_r > f_below, (f_r - p) / (f_r - f_below), 0.0)
            out.append(np.maximum(r - share, 0.0) / expected)
    return out[0], out[1]


def gamma_poisson_shrinkage(observed, expected, *, level: float = 0.95,
                            mean: float | None = None, fit_mask=None) -> dict[str, Any]:
    """Empirical-Bayes O/E: gamma prior on each group's true ratio, Poisson counts.

    Model: O_g | theta_g ~ Poisson(theta_g E_g), theta_g ~ Gamma with mean
    ``mu`` and variance ``tau2``. ``mu`` is sum O / sum E (unless given) and
    ``tau2`` the moment estimate from the Pearson statistic
    Q = sum (O - mu E)^2 / (mu E), whose expectation is
    (k - 1) + tau2 (sum E - sum E^2 / sum E) / mu; it is truncated at 0.
    The posterior is Gamma(mu^2/tau2 + O_g, mu/tau2 + E_g): its mean is the
    shrunken ratio, a weighted mean of O_g / E_g and mu with weight
    E_g / (E_g + mu / tau2) on the group's own ratio. The interval is the
    posterior's equal-tailed ``level`` interval (parametric EB: the
    uncertainty of mu and tau2 is not propagated).

    Parameters
    ----------
    observed, expected : array-like
        Counts O_g and expected counts E_g > 0 per group.
    level : float
        Coverage of the posterior interval.
    mean : float, optional
        Prior mean of the ratios; default sum O / sum E over ``fit_mask``.
    fit_mask : array of bool, optional
        Groups used to estimate ``mu`` and ``tau2`` (all by default); the
        posterior is computed for every group.

    Returns
    -------
    dict
        ``shrunken``, ``ci_low``, ``ci_high``, ``weight`` (arrays), ``mu``,
        ``tau2`` and ``dispersion`` (Q / (k - 1)).

    Examples
    --------
    >>> eb = gamma_poisson_shrinkage([10, 30, 20], [20.0, 20.0, 20.0])
    >>> round(eb["tau2"], 4), [round(float(v), 3) for v in eb["shrunken"]]
    (0.2, [0.6, 1.4, 1.0])
    """
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    alpha = 1 - _check_level(level)
    use = np.ones(observed.shape, bool) if fit_mask is None else np.asarray(fit_mask, bool)
    obs_fit, exp_fit = observed[use], expected[use]
    k = int(use.sum())
    mu = float(obs_fit.sum() / exp_fit.sum()) if mean is None else float(mean)
    if k >= 2 and mu > 0:
        q = float(np.sum((obs_fit - mu * exp_fit) ** 2 / (mu * exp_fit)))
        scale = exp_fit.sum() - np.sum(exp_fit**2) / exp_fit.sum()
        tau2 = max(0.0, float(mu * (q - (k - 1)) / scale))
        dispersion = q / (k - 1)
    else:
        tau2, dispersion = 0.0, float("nan")
    if tau2 > 0:
        shape, rate = mu**2 / tau2, mu / tau2
        post_shape, post_rate = shape + observed, rate + expected
        shrunken = post_shape / post_rate
        low = stats.gamma.ppf(alpha / 2, post_shape) / post_rate
        high = stats.gamma.ppf(1 - alpha / 2, post_shape) / post_rate
        weight = expected / (expected + rate)
    else:  # no between-group variance left: every group is estimated by the overall ratio
        shrunken = low = high = np.full(observed.shape, mu)
        weight = np.zeros(observed.shape)
    return {"shrunken": shrunken, "ci_low": low, "ci_high": high, "weight": weight,
            "mu": mu, "tau2": tau2, "dispersion": dispersion}


def _check_level(level: float) -> float:
    if not isinstance(level, (int, float, np.floating)) or not 0 < float(level) < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return float(level)


def _coverage_tag(coverage: float) -> str:
    return f"{coverage * 100:g}".replace(".", "")
