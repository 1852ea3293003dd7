"""The propensity model of the weighting estimators: maximum likelihood or balancing weights.

Both give the reference cohort's ATT weights as odds exp(x~'theta) of a
logistic index x~ = (1, x); they differ in the estimating equation for theta:

- ``"logistic"``: the likelihood score, sum x~_i (A_i - e_i) = 0;
- ``"balance"``: entropy balancing (Hainmueller 2012) in its dual form, sum
  x~_i (A_i - (1 - A_i) exp(x~_i'theta)) = 0: the weighted reference cohort
  has exactly the other cohort's size and the other cohort's mean of every
  term of the design. For the ATT this is doubly robust in a sense the
  likelihood fit is not (Zhao & Percival 2017): the weighting is consistent
  when the odds are log-linear in the terms *or* when the reference regime's
  outcome is linear in them, and the balance it buys is exact in the sample.

Either way theta is an M-estimator, so its share of every influence value is
the same sandwich term, bread^-1 x~_i r_i with r_i the estimating equation's
residual (`Propensity.term`); the multiplier bootstrap and the IF standard
errors carry the propensity's uncertainty in both cases.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from anker.errors import AnkerDataError, ConvergenceWarning
from anker.models.logistic import (
    LogisticFit,
    SeparationWarning,
    column_sd,
    fit_logistic,
    weighted_gram,
)
from anker.models.newton import maximise

PROPENSITY_FITS = ("logistic", "balance")
# rows per block when forming the basis matrix: a block of it stays in cache
_DENSE_ROWS = 16_384


@dataclass(frozen=True)
class Propensity:
    """A fitted propensity model: ``design`` (no intercept), ``e`` = P(other | x), ATT ``weights``.

    ``bread`` is the inverse of minus the estimating equation's Jacobian and
    ``residual`` its per-row residual; for the likelihood fit these are the
    covariance ``fit.cov`` and A - e.
    """

    fit: LogisticFit
    design: np.ndarray | HingeBasis
    e: np.ndarray
    weights: np.ndarray
    kind: str = "logistic"
    bread: np.ndarray | None = None
    residual: np.ndarray | None = None
    note: str | None = None

    def term(self, A: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """Contributions through the coefficients: gradient' bread x~_i r_i, x~ = (1, x)."""
        bread = self.fit.cov if self.bread is None else self.bread
        residual = (A - self.e) if self.residual is None else self.residual
        direction = bread @ gradient
        # x~_i' direction without building (1, x): the intercept's share plus the design's
        with np.errstate(all="ignore"):  # a non-finite direction is reported, not warned twice
            along = self.design @ direction[1:] + direction[0]
        return along * residual

    def weighted_terms(self, weights: np.ndarray) -> np.ndarray:
        """sum_i weights_i x~_i, x~ = (1, x): one pass over the design, no copy of its rows
        (at national scale a cohort's rows of the design are hundreds of MB)."""
        return np.concatenate(([weights.sum()], weights @ self.design))


def propensity_basis(X: np.ndarray, *, knots: int = 3) -> np.ndarray:
    """The covariate terms plus a piecewise-linear spline of each continuous one.

    A logistic model linear in a covariate misstates the odds of belonging to
    the other cohort when the covariate's distribution is shifted on another
    scale (the boom multiplied tightness and divided unemployment: shifts on
    the log scale), and ATT weights are sensitive to that in the tails. So
    each term with more than 10 distinct values also enters as
    max(0, x - knot) at ``knots`` quantiles (the quartiles for 3); 0/1 terms
    enter as they are. ``knots=0`` gives the plain main-effects model.

    Examples
    --------
    >>> X = np.column_stack([np.arange(20.0), np.arange(20) % 2])
    >>> propensity_basis(X).shape
    (20, 5)
    """
    return HingeBasis.learn(X, knots=knots).dense()


@dataclass(frozen=True)
class HingeBasis:
    """`propensity_basis` kept as the design ``X`` and its hinges (column, knot), not as a matrix.

    Past the fit the propensity needs the basis only in products with a vector
    (its influence terms); formed a hinge at a time they cost one column of
    temporary memory, where the matrix holds ~40 columns per spell.
    """

    X: np.ndarray
    hinges: tuple[tuple[int, float], ...]
    __array_ufunc__ = None  # ``w @ basis`` comes to __rmatmul__, not to numpy

    @classmethod
    def learn(cls, X: np.ndarray, *, knots: int = 3) -> HingeBasis:
        hinges = []
        if knots > 0:
            levels = np.linspace(0, 1, knots + 2)[1:-1]
            for j in range(X.shape[1]):
                x = X[:, j]
                if np.unique(x).size > 10:
                    for knot in np.unique(np.quantile(x, levels)):
                        if np.maximum(0.0, x - knot).std() > 0:
                            hinges.append((j, float(knot)))
        return cls(X, tuple(hinges))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.X.shape[0], self.X.shape[1] + len(self.hinges))

    def _hinge(self, j: int, knot: float) -> np.ndarray:
        return np.maximum(0.0, self.X[:, j] - knot)

    def rows(self, mask: np.ndarray) -> np.ndarray:
        """The basis matrix of the rows in ``mask`` (a new array)."""
        return self.dense(np.flatnonzero(mask))

    def column_sd(self) -> np.ndarray:
        """The SD of each column of the basis, a hinge at a time."""
        return np.concatenate([column_sd(self.X)] + [[self._hinge(j, k).std()] for j, k in self.hinges])

    def dense(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The basis as a matrix (of the indices ``rows`` only, when given).

        Without hinges and rows, ``X`` itself. Filled a block of rows at a time,
        each block's hinges from its own, cached, copy of ``X``.
        """
        if rows is None and not self.hinges:
            return self.X
        n, p = self.X.shape if rows is None else (rows.size, self.X.shape[1])
        out = np.empty((n, p + len(self.hinges)))
        for lo in range(0, n, _DENSE_ROWS):
            block = out[lo:lo + _DENSE_ROWS]
            block[:, :p] = self.X[lo:lo + _DENSE_ROWS] if rows is None else \
                self.X[rows[lo:lo + _DENSE_ROWS]]
            for h, (j, knot) in enumerate(self.hinges):
                column = block[:, p + h]
                np.subtract(block[:, j], knot, out=column)
                np.maximum(column, 0.0, out=column)
        return out

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        p = self.X.shape[1]
        out = self.X @ v[:p]
        for h, (j, knot) in enumerate(self.hinges):
            out += self._hinge(j, knot) * v[p + h]
        return out

    def __rmatmul__(self, w: np.ndarray) -> np.ndarray:
        return np.concatenate([w @ self.X] + [[w @ self._hinge(j, k)] for j, k in self.hinges])


def fit_propensity(design: np.ndarray | HingeBasis, A: np.ndarray,
                   kind: str = "logistic") -> Propensity:
    """Propensity of the other cohort and the ATT weights (1; the odds in the reference).

    ``kind="balance"``: entropy-balancing weights (see the module), found by
    Newton from equal weights (and, should that fail, from the likelihood
    fit); ``e`` is then the logistic transform of the balancing index, so
    e / (1 - e) are the weights, and ``fit.cov`` is NaN (the influence terms
    use the estimating equation's bread). A `HingeBasis` is formed
    as a matrix for each fit only; the result keeps the basis itself.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2_000, 1))
    >>> A = (rng.random(2_000) < 1 / (1 + np.exp(-x[:, 0]))).astype(float)
    >>> p = fit_propensity(x, A, kind="balance")
    >>> w = p.weights[A == 0]
    >>> bool(np.isclose(w @ x[A == 0, 0] / w.sum(), x[A == 1, 0].mean()))
    True
    """
    if kind not in PROPENSITY_FITS:
        raise ValueError(f"propensity must be one of {list(PROPENSITY_FITS)}, got {kind!r}")
    bread = residual = note = None
    if kind == "balance" and design.shape[1]:
        # the dual is concave: Newton from equal weights reaches its maximum in a few steps,
        # without the likelihood fit (at national scale a dense basis matrix of ~700 MB);
        # the likelihood fit is a second start, and its weights stand in where balance fails
        n_other = float(A.sum())
        neutral = np.zeros(design.shape[1] + 1)
        neutral[0] = np.log(n_other / max(A.size - n_other, 1.0))
        fit = None
        for attempt in ("neutral", "likelihood"):
            if attempt == "likelihood":
                fit = _likelihood_fit(design, A)
            try:
                coef, bread, n_iter = _balance(design, A, neutral if fit is None else fit.coef)
            except (AnkerDataError, np.linalg.LinAlgError) as err:
                failure = err
                continue
            fit = LogisticFit(coef=coef, cov=np.full((coef.size, coef.size), np.nan),
                              intercept=True, n=float(A.size), loglik=float("nan"),
                              n_iter=n_iter)
            lp = fit.linear_predictor(design)
            residual = A - (1 - A) * np.exp(np.minimum(lp, 700.0))
            if np.any(np.abs(lp) > np.log(1e8)):
                # the likelihood fit's own check (it is not run): the cohort guard notes it
                warnings.warn("balancing weights: propensities of (nearly) 0 or 1; some "
                              "reference spells get extreme weights", SeparationWarning,
                              stacklevel=2)
            break
        else:
            # exact balance does not exist (a term the reference cohort cannot match):
            # the likelihood weights still do, so they stand in, on the record
            kind = "logistic"
            note = f"{failure}; the weights are the logistic (maximum-likelihood) ones instead"
            lp = fit.linear_predictor(design)
    else:
        fit = _likelihood_fit(design, A)
        lp = fit.linear_predictor(design)
    e = 1.0 / (1.0 + np.exp(-lp))
    # the reference cohort is weighted by the odds e / (1 - e) = exp(lp): no 1 - e round-off
    weights = np.where(A == 1, 1.0, np.exp(np.minimum(lp, 700.0)))
    return Propensity(fit, design, e, weights, kind=kind, bread=bread, residual=residual, note=note)


def _likelihood_fit(design: np.ndarray | HingeBasis, A: np.ndarray) -> LogisticFit:
    """The logistic (maximum-likelihood) propensity fit on the design or basis."""
    lazy = isinstance(design, HingeBasis)
    if design.shape[1] == 0:
        # no covariates: the intercept-only model in closed form (fit_logistic needs a column);
        # both estimating equations give the share of the other cohort
        share = float(A.mean())
        return LogisticFit(coef=np.array([np.log(share / (1 - share))]),
                           cov=np.array([[1.0 / (A.size * share * (1 - share))]]),
                           intercept=True, n=float(A.size), loglik=float("nan"), n_iter=0)
    if lazy and design.hinges:
        # a matrix made for the fit alone, which may scale it in place
        return fit_logistic(design.dense(), A, overwrite_X=True)
    return fit_logistic(design.X if lazy else design, A)


def _balance(design: np.ndarray | HingeBasis, A: np.ndarray,
             start: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Entropy-balancing index theta (intercept first), the bread and the Newton steps taken,
    by Newton on the dual.

    The dual objective -(1/n) [sum_ref exp(x~'theta) - sum_other x~'theta] is
    concave, its gradient the imbalance of the weighted means, so its maximum
    is exact balance; the terms are centred and scaled for the steps only.
    """
    ref = A == 0
    n = float(A.size)
    # sums as products with the cohort flag: no copy of the other cohort's rows
    other_sum = (1.0 - ref) @ design
    centre = other_sum / (~ref).sum() if (~ref).any() else np.full(A.size, 1.0 / n) @ design
    scale = design.column_sd() if isinstance(design, HingeBasis) else column_sd(design)
    scale[scale == 0] = 1.0
    Z = design.rows(ref) if isinstance(design, HingeBasis) else np.asarray(design[ref], float)
    Z -= centre
    Z /= scale
    # theta on the scaled terms: lp = b0 + z'b, z = (x - centre) / scale
    b = start[1:] * scale
    b0 = start[0] + centre @ start[1:]
    n_other = float((~ref).sum())
    z_other = (other_sum - n_other * centre) / scale  # the other cohort's sum of z: ~0

    def evaluate(theta):
        lp = theta[0] + Z @ theta[1:]
        w = np.exp(lp)
        total = w.sum()
        value = -(total - (n_other * theta[0] + z_other @ theta[1:])) / n
        grad = -np.concatenate(([total - n_other], Z.T @ w - z_other)) / n
        info = np.empty((theta.size, theta.size))
        info[0, 0] = total
        info[0, 1:] = info[1:, 0] = Z.T @ w
        info[1:, 1:] = weighted_gram(Z, w)
        return value, grad, info / n

    with warnings.catch_warnings():
        # no convergence is judged below by the imbalance left, which is what matters here
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = maximise(evaluate, np.concatenate(([b0], b)), max_iter=100, tol=1e-12,
                          what="propensity (balancing weights)")
    theta = result.x
    imbalance = np.abs(result.grad[1:]) * n / max(n_other, 1.0)
    if not np.all(np.isfinite(theta)) or (imbalance.size and imbalance.max() > 1e-4):
        raise AnkerDataError(
            "balancing weights: no weighting of the reference cohort matches the other "
            f"cohort's mean of every propensity term (largest imbalance left "
            f"{float(imbalance.max()) if imbalance.size else float('nan'):.2g} SD)")
    coef = np.concatenate(([theta[0] - (centre / scale) @ theta[1:]], theta[1:] / scale))
    # bread: the inverse of sum_ref exp(lp) x~ x~' on the original scale
    info_scaled = result.info * n
    T = np.eye(theta.size)
    T[0, 1:] = -centre / scale
    T[1:, 1:] = np.diag(1.0 / scale)
    # x~ = M z~ with z~ = (1, z): M = T^-1 transposed; J_x = T' J_z T in coefficient space
    bread = T @ np.linalg.inv(info_scaled) @ T.T
    return coef, bread, result.n_iter
