"""The one Newton-Raphson driver behind the logistic, Cox and Weibull fits."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# evaluate(x) -> (log-likelihood, gradient, information = minus the Hessian)
Evaluate = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class NewtonResult:
    x: np.ndarray
    loglik: float
    grad: np.ndarray
    info: np.ndarray
    n_iter: int


def maximise(evaluate: Evaluate, start: np.ndarray, *, max_iter: int, tol: float,
             what: str) -> NewtonResult:
    """Maximise a concave log-likelihood by Newton steps with step halving.

    Halving keeps every accepted step uphill when the start is far away; a
    trial point whose likelihood is not finite (or whose evaluation raises
    FloatingPointError) counts as downhill. Stops when the step or the gain
    in log-likelihood falls below ``tol``; warns if ``max_iter`` is reached.
    """
    x = np.asarray(start, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loglik, grad, info = evaluate(x)
    it = 0
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        for _ in range(40):
            try:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    new = evaluate(x + step)
                if np.isfinite(new[0]) and new[0] >= loglik - 1e-10 * abs(loglik):
                    break
            except FloatingPointError:
                pass
            step = step / 2
        x = x + step
        improvement = new[0] - loglik
        loglik, grad, info = new
        if not step.size or np.max(np.abs(step)) < tol or abs(improvement) < tol * (abs(loglik) + 1):
            break
    else:
        warnings.warn(f"{what} fit did not converge in {max_iter} iterations", RuntimeWarning,
                      stacklevel=3)
    return NewtonResult(x=x, loglik=float(loglik), grad=grad, info=info, n_iter=it)
