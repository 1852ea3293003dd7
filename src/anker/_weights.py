"""Case weights: the one check of every function that takes them, and the policy on their scale.

Weights near the ends of floating point (1e-300, 1e300) never give a NaN or an
infinite variance silently. Every entry point that takes ``weights``
(`anker.survival.kaplan_meier`, `~anker.survival.rmst`,
`~anker.survival.rmst_influence`, `anker.models.fit_logistic`,
`~anker.models.fit_cox`) checks them with :func:`check_weights`: numbers, one
per row, finite, not negative, not all 0, with a finite sum; anything else is an
:class:`~anker.errors.AnkerDataError` naming the argument. Then, by what the
result depends on, and always exactly:

* **only their ratios matter** (the Kaplan-Meier curve; the RMST influence
  values and their sandwich variance): the weights are divided by their largest
  value first, which changes nothing but the rounding (:func:`rescaled`);
* **the fits** (logistic, Cox; frequency weights): the weights are divided by their
  largest value c, the model is fitted (a ridge penalty divided by c too, so it
  keeps its share of the objective), and the covariance (times 1 / c), the
  log-likelihood and the counts are scaled back (:func:`unscaled_covariance`):
  weights of 1e-300 give the coefficients of weights of 1, not an early stop of
  Newton's iterations or a false separation warning;
* **Greenwood's variance**, which reads the weights as frequencies (R's
  ``survfit`` convention), so that 1e-300 people give a variance 1e300 times
  larger: it is computed in a form that does not underflow.

A variance that still is not finite (beyond the largest float) is refused,
naming ``weights``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anker.errors import AnkerDataError


def check_weights(weights: Any, n: int, *, name: str = "weights") -> np.ndarray:
    """``weights`` as a float array of ``n`` finite, non-negative values, not all 0.

    Examples
    --------
    >>> check_weights([1, 2, 0], 3).tolist()
    [1.0, 2.0, 0.0]
    >>> check_weights([1, -2], 2)
    Traceback (most recent call last):
    ...
    anker.errors.AnkerDataError: weights must be >= 0; 1 are negative
    """
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise AnkerDataError(f"{name} must be numbers", columns=[name]) from None
    if w.shape != (n,):
        raise AnkerDataError(f"{name} must hold one value per row ({n}), got shape {w.shape}",
                             columns=[name])
    if not np.isfinite(w).all():
        raise AnkerDataError(f"{name} has {int((~np.isfinite(w)).sum())} missing or infinite "
                             "value(s)", columns=[name])
    if (w < 0).any():
        raise AnkerDataError(f"{name} must be >= 0; {int((w < 0).sum())} are negative",
                             columns=[name])
    with np.errstate(over="ignore"):
        total = w.sum()
    if not total > 0:
        raise AnkerDataError(f"{name} are all zero", columns=[name])
    if not np.isfinite(total):
        raise AnkerDataError(f"{name}: their sum overflows (largest {w.max():g}); rescale them",
                             columns=[name])
    return w


def rescaled(weights: np.ndarray) -> np.ndarray:
    """Weights divided by their largest value: exact where only their ratios matter."""
    return weights / weights.max()


def unscaled_covariance(cov: np.ndarray, scale: float, *, name: str = "weights") -> np.ndarray:
    """The covariance of a fit with weights ``scale`` times those it was fitted with.

    Frequency weights c w carry c times the information of w: the covariance is 1 / c
    times. An entry that is finite but overflows when scaled back is refused.
    """
    with np.errstate(over="ignore"):
        out = cov / scale
    finite_variance(np.where(np.isfinite(cov), out, 0.0), name=name)
    return out


def finite_variance(variance: Any, *, name: str = "weights") -> Any:
    """``variance``, or an :class:`AnkerDataError` naming ``name`` when it is not finite."""
    values = np.asarray(variance, dtype=float)
    if not np.isfinite(values).all():
        raise AnkerDataError(f"{name}: the variance is beyond the largest float with these "
                             "weights (they count as frequencies: weights near 1e-308 are "
                             "that few people); rescale them, or use influence values "
                             "(rmst_influence), which do not depend on their scale",
                             columns=[name])
    return variance
