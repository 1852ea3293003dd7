"""The one Newton-Raphson driver behind the logistic, Cox and Weibull fits.

Convergence is judged on the gradient, not only on the steps: a fit is
called converged when the Newton decrement ``g' I^-1 g / 2`` (the gain in
log-likelihood that one more full Newton step would still promise) is
negligible. A fit that stops otherwise (iterations exhausted, or no uphill
step found after halving the step 40 times) keeps its last accepted point,
never an untried one, and says so in a :class:`anker.errors.ConvergenceWarning`.

The final Newton step is returned too: a coefficient that still moves by a
large amount when the log-likelihood has stopped changing is (nearly)
infinite, the sign of separation in a logistic model and of a monotone
likelihood in a Cox or Weibull model (R's ``coxph`` uses the same rule).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from anker.errors import AnkerDataError, ConvergenceWarning

# evaluate(x) -> (log-likelihood, gradient, information = minus the Hessian)
Evaluate = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]
_HALVINGS = 40


@dataclass(frozen=True)
class NewtonResult:
    """Where the driver stopped: the point, its log-likelihood, gradient and information.

    ``converged`` is True when the Newton decrement at ``x`` is negligible;
    ``last_step`` is the full Newton step from ``x`` (not taken).
    """

    x: np.ndarray
    loglik: float
    grad: np.ndarray
    info: np.ndarray
    n_iter: int
    converged: bool = True
    last_step: np.ndarray | None = None
    decrement: float = 0.0


def _newton_step(info: np.ndarray, grad: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(info, grad)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(info, grad, rcond=None)[0]


def maximise(evaluate: Evaluate, start: np.ndarray, *, max_iter: int, tol: float,
             what: str) -> NewtonResult:
    """Maximise a concave log-likelihood by Newton steps with step halving.

    Halving keeps every accepted step uphill when the start is far away; a
    trial point whose likelihood is not finite (or whose evaluation raises
    FloatingPointError) counts as downhill. Iterations stop when the step or
    the gain in log-likelihood falls below ``tol``, or when no uphill step is
    found (the point stays where it was). The fit is converged when the
    Newton decrement at the final point is below ``sqrt(tol)`` relative to
    ``|loglik| + 1``; otherwise a :class:`~anker.errors.ConvergenceWarning` says
    why it stopped.

    Examples
    --------
    >>> import numpy as np
    >>> quad = lambda x: (-float(((x - 3) ** 2).sum()), -2 * (x - 3), 2 * np.eye(x.size))
    >>> result = maximise(quad, np.zeros(2), max_iter=10, tol=1e-10, what="toy")
    >>> result.x.tolist(), result.converged
    ([3.0, 3.0], True)
    """
    x = np.asarray(start, dtype=float)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loglik, grad, info = evaluate(x)
    except FloatingPointError:  # e.g. a risk set whose weights underflow to 0
        loglik = np.nan
    if not np.isfinite(loglik):
        raise AnkerDataError(f"{what} fit: the log-likelihood is not finite at the start "
                             "(values or weights beyond floating point: rescale them)")
    it = 0
    stuck = False
    for it in range(1, max_iter + 1):
        step = _newton_step(info, grad)
        new = None
        for _ in range(_HALVINGS):
            try:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    trial = evaluate(x + step)
                if np.isfinite(trial[0]) and trial[0] >= loglik - 1e-10 * abs(loglik):
                    new = trial
                    break
            except FloatingPointError:
                pass
            step = step / 2
        if new is None:  # no uphill point found: stay at the last accepted one
            stuck = True
            break
        x = x + step
        improvement = new[0] - loglik
        loglik, grad, info = new
        if not step.size or np.max(np.abs(step)) < tol or abs(improvement) < tol * (abs(loglik) + 1):
            break
    last = _newton_step(info, grad) if grad.size else np.zeros(0)
    raw = float(grad @ last) if grad.size else 0.0
    decrement = abs(raw) / 2
    threshold = np.sqrt(tol) * (abs(loglik) + 1)
    # a negative g' I^-1 g: the information is not positive definite along the gradient,
    # so only a gradient that is itself ~0 counts as converged
    converged = bool(np.isfinite(grad).all() and np.isfinite(decrement) and (
        (raw >= 0 and decrement <= threshold)
        or (not grad.size or np.max(np.abs(grad)) <= 1e-3 * threshold)))
    if not converged:
        why = ("no uphill step was found from the last point" if stuck
               else f"the {max_iter} iterations ran out")
        warnings.warn(f"{what} fit did not converge: {why}; one more Newton step would still "
                      f"gain {decrement:.3g} in log-likelihood, so the estimates are not the "
                      "maximum-likelihood ones", ConvergenceWarning, stacklevel=3)
    return NewtonResult(x=x, loglik=float(loglik), grad=grad, info=info, n_iter=it,
                        converged=converged, last_step=last, decrement=decrement)


def diverging(result: NewtonResult, tol: float) -> np.ndarray:
    """Which parameters still move when the log-likelihood has settled: (nearly) infinite.

    R's ``coxph`` rule: the final Newton step is above ``sqrt(tol) * |x|``
    (``tol`` floored at 1e-9), and here also above 0.01 in absolute size.
    """
    if result.last_step is None or not result.x.size:
        return np.zeros(result.x.size, dtype=bool)
    tol = max(tol, 1e-9)
    step = np.abs(result.last_step)
    # a coefficient on its way to infinity still moves by about one unit per step; an
    # absolute floor of 0.01 keeps a slowly settling finite coefficient from being flagged
    return (step > 0.01) & (step > np.sqrt(tol) * np.abs(result.x))


def covariance(info: np.ndarray, names: Sequence[str], *, what: str,
               infinite: np.ndarray | None = None) -> np.ndarray:
    """Inverse of the observed information, refusing a singular one.

    A singular information matrix means some combination of parameters is
    not identified by the data: its variance is infinite, and a
    pseudo-inverse would report a small, false one. The designs are checked
    for aliased columns before fitting (`anker.models.design.check_rank`), so
    this is a last line: it raises :class:`anker.errors.AnkerDataError`
    naming the parameters involved. Parameters flagged ``infinite`` (see
    `diverging`) get an infinite variance; the others the inverse of their
    own block.

    Examples
    --------
    >>> covariance(np.array([[4.0, 0.0], [0.0, 1.0]]), ["a", "b"], what="toy").tolist()
    [[0.25, 0.0], [0.0, 1.0]]
    >>> covariance(np.ones((2, 2)), ["a", "b"], what="toy")
    Traceback (most recent call last):
    ...
    anker.errors.AnkerDataError: toy fit: the information matrix is singular, so the parameters ['a', 'b'] are not identified by these data (a constant or collinear column, or no information); leave one of them out
    """
    from anker.errors import AnkerDataError

    k = info.shape[0]
    infinite = np.zeros(k, dtype=bool) if infinite is None else np.asarray(infinite, dtype=bool)
    out = np.zeros((k, k))
    out[infinite, infinite] = np.inf
    keep = np.flatnonzero(~infinite)
    if keep.size == 0:
        return out
    sub = info[np.ix_(keep, keep)]
    if not np.isfinite(sub).all():
        raise AnkerDataError(f"{what} fit diverged (its information matrix is not finite): the "
                             f"data cannot identify the parameters {[str(names[j]) for j in keep]}"
                             "; too few rows or events for so many columns, or a column that "
                             "separates the outcome", columns=[str(names[j]) for j in keep])
    d = np.sqrt(np.clip(np.diag(sub), 0, None))
    bad = ~(d > 0) | ~np.isfinite(d)
    scale = np.where(bad, 1.0, d)
    corr = sub / scale[:, None] / scale[None, :]
    eigval, eigvec = np.linalg.eigh((corr + corr.T) / 2)
    small = eigval <= 1e-11 * max(float(eigval[-1]), 1.0)
    if bad.any() or small.any() or not np.isfinite(eigval).all():
        null = np.abs(eigvec[:, small]).max(axis=1, initial=0.0)
        involved = [str(names[keep[j]]) for j in range(keep.size) if bad[j] or null[j] > 1e-3]
        raise AnkerDataError(f"{what} fit: the information matrix is singular, so the "
                             f"parameters {involved} are not identified by these data (a "
                             "constant or collinear column, or no information); leave one "
                             "of them out", columns=involved)
    inv = np.linalg.inv(corr) / scale[:, None] / scale[None, :]
    out[np.ix_(keep, keep)] = (inv + inv.T) / 2
    return out
