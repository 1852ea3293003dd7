"""Cox proportional hazards by Newton-Raphson on numpy arrays, Efron or Breslow ties.

Benefit durations are whole calendar days, so ties are the rule: Efron's
approximation (the default of R's ``coxph`` and lifelines' ``CoxPHFitter``)
is the default here too, and the estimates agree with both. Each Newton
step costs one pass of cumulative sums over the sorted data and one
``X' D X``: the risk-set second moments are never formed per time point,
which keeps a 500,000-row fit to seconds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from anker._weights import check_weights, unscaled_covariance
from anker.errors import AnkerDataError
from anker.models.logistic import SeparationWarning
from anker.models.newton import covariance, diverging, maximise
from anker.models.partial_likelihood import SortedSpells

# below this many rows the Newton steps start from zero (see _warm_start)
_WARM_START_ROWS = 200_000


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model.

    ``coef`` are log hazard ratios per unit of each column; ``cov`` their
    covariance (inverse observed information). The Breslow baseline
    cumulative hazard ``baseline_cumhaz`` at ``baseline_times`` refers to
    covariates at ``center`` (the fitting data's means).
    """

    coef: np.ndarray
    cov: np.ndarray
    center: np.ndarray
    baseline_times: np.ndarray
    baseline_cumhaz: np.ndarray
    ties: str
    n: float
    n_events: float
    loglik: float
    n_iter: int

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        """Centred linear predictor ``(x - center) @ coef``."""
        return np.asarray(X, dtype=float) @ self.coef - self.center @ self.coef

    @property
    def offset(self) -> float:
        """The constant of the linear predictor: ``linear_predictor(X) = X @ coef + offset``."""
        return float(-self.center @ self.coef)

    def baseline(self, times) -> np.ndarray:
        """Baseline cumulative hazard H0 at each of ``times`` (a step function, 0 before
        the first exit)."""
        times = np.asarray(times, dtype=float)
        many_days = times.size > 10_000 and 0 <= times.min() and times.max() < 100_000 \
            and np.array_equal(times, np.floor(times))
        # many whole days (entitlements): one search per day, then a lookup per time
        query = np.arange(int(times.max()) + 1, dtype=float) if many_days else times
        idx = np.searchsorted(self.baseline_times, query, side="right") - 1
        h0 = np.where(idx >= 0, self.baseline_cumhaz[np.maximum(idx, 0)], 0.0)
        return h0[times.astype(np.intp)] if many_days else h0

    def time_reaching(self, cumhaz: np.ndarray) -> np.ndarray:
        """The first baseline time at which H0 reaches each of ``cumhaz`` (inf: never)."""
        index = _first_at_least(self.baseline_cumhaz, np.asarray(cumhaz, dtype=float))
        return np.append(self.baseline_times, np.inf)[index]

    def cumulative_hazard(self, X: np.ndarray, times) -> np.ndarray:
        """H(t | x) for each row of ``X`` (rows) and each time (columns)."""
        h0 = self.baseline(np.atleast_1d(np.asarray(times, dtype=float)))
        return np.exp(self.linear_predictor(X))[:, None] * h0[None, :]

    def survival(self, X: np.ndarray, times) -> np.ndarray:
        """S(t | x) = exp(-H(t | x)), rows x times."""
        return np.exp(-self.cumulative_hazard(X, times))


def _first_at_least(a: np.ndarray, v: np.ndarray, buckets: int = 1 << 16) -> np.ndarray:
    """``np.searchsorted(a, v, side="left")`` for sorted ``a``, three times faster for many
    positive ``v``: a table of the answers at the ends of 65,536 slices of v's float bits
    (positive floats order as their bits) answers every v whose slice holds no value of
    ``a``; the few others are searched."""
    if v.size < 4 * buckets or not (np.isfinite(v).all() and (v > 0).all()):
        return np.searchsorted(a, v, side="left")
    bits = v.view(np.int64)
    low = int(bits.min())
    shift = max(0, (int(bits.max()) - low).bit_length() - buckets.bit_length() + 1)
    slice_ = (bits - low) >> shift
    ends = (low + (np.arange(int(slice_.max()) + 2, dtype=np.int64) << shift)).view(np.float64)
    at = np.searchsorted(a, ends, side="left")
    out = at[slice_]
    unsure = np.flatnonzero(at[slice_ + 1] != out)
    out[unsure] = np.searchsorted(a, v[unsure], side="left")
    return out


def _warm_start(spells: SortedSpells, l2: float, max_iter: int, tol: float) -> np.ndarray:
    """Where the Newton steps on all rows begin: zero, or the fit on a 1-in-8 sample.

    On a large file the Newton steps from zero spend most of their passes
    over the data far from the estimate; the same fit on every 8th spell in
    time order (itself started this way) lands within a few of its standard
    errors, from where two or three full steps converge. The estimate is
    the one the full rows give, whatever the start; a sample fit that did
    not converge cleanly is not used.
    """
    zero = np.zeros(spells.p)
    if spells.n < _WARM_START_ROWS or not spells.p:
        return zero
    sample = spells.sample(8)
    if sample.event_times.size == 0:
        return zero
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = maximise(lambda beta: sample.evaluate(beta, l2),
                              _warm_start(sample, l2, max_iter, tol),
                              max_iter=max_iter, tol=tol, what="Cox")
        except (FloatingPointError, np.linalg.LinAlgError, AnkerDataError):
            return zero
    if not (result.converged and np.isfinite(result.x).all()
            and not diverging(result, tol).any()):
        return zero
    return result.x


def fit_cox(X: np.ndarray, durations: np.ndarray, events: np.ndarray, *,
            weights: np.ndarray | None = None, ties: str = "efron", l2: float = 0.0,
            max_iter: int = 50, tol: float = 1e-9, names=None,
            overwrite_X: bool = False) -> CoxFit:
    """Fit a Cox proportional hazards model.

    Parameters
    ----------
    X : (n, p) array
        Covariates (no intercept).
    durations : (n,) array
        Follow-up time (calendar days), >= 0.
    events : (n,) array of 0/1
        1 when the spell ended by an exit, 0 when censored.
    weights : (n,) array, optional
        Non-negative case weights; tied events use R's mean-weight rule. They are
        divided by their largest value before the fit and the covariance,
        log-likelihood and counts scaled back, which is exact: weights of 1e-300 or
        1e300 fit as well as weights of 1.
    ties : {"efron", "breslow"}
    l2 : float
        Ridge penalty ``l2/2 * ||beta||^2``; 0 gives the partial-likelihood MLE.
    names : sequence of str, optional
        Column names for messages (default ``x0``, ``x1``, ...).
    overwrite_X : bool
        When the rows are already in time order (`time_order`), the fit may centre
        ``X`` in place instead of copying it: ``X`` is then left centred.

    Returns
    -------
    CoxFit

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(4000, 1))
    >>> t = np.ceil(100 * rng.exponential(size=4000) / np.exp(0.7 * x[:, 0]))
    >>> round(float(fit_cox(x, t, np.ones(4000)).coef[0]), 1)
    0.7
    """
    if weights is None:
        return _fit_cox(X, durations, events, ties=ties, l2=l2, max_iter=max_iter, tol=tol,
                        names=names, overwrite_X=overwrite_X)
    w = check_weights(weights, np.shape(X)[0] if np.ndim(X) else -1)
    if (w == 0).any() and np.shape(durations) == np.shape(events) == w.shape:
        # a row of weight 0 is not in the data: in a tied group it would still count in
        # Efron's mean weight, and a risk set of such rows alone has no sum to divide by
        kept = w > 0
        X, durations, events, w = (np.asarray(a)[kept] for a in (X, durations, events, w))
    c = float(w.max())
    # frequency weights c w: the same coefficients and baseline hazard, c times the
    # information; each log risk-set sum gains log c per unit of event weight
    fit = _fit_cox(X, durations, events, weights=w / c, ties=ties, l2=l2 / c, max_iter=max_iter,
                   tol=tol, names=names)
    return replace(fit, cov=unscaled_covariance(fit.cov, c), n=fit.n * c,
                   n_events=fit.n_events * c,
                   loglik=c * (fit.loglik - np.log(c) * fit.n_events))


def _fit_cox(X: np.ndarray, durations: np.ndarray, events: np.ndarray, *,
             weights: np.ndarray | None = None, ties: str = "efron", l2: float = 0.0,
             max_iter: int = 50, tol: float = 1e-9, names=None,
             overwrite_X: bool = False) -> CoxFit:
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d array (rows x covariates), got shape {X.shape}")
    n, p = X.shape
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=float)
    if durations.shape != (n,) or events.shape != (n,):
        raise ValueError(f"durations and events must have {n} values")
    if not np.isfinite(durations).all():
        raise ValueError("X and durations must be finite")
    if (durations < 0).any():
        raise ValueError("durations must be >= 0")
    if not ((events == 0) | (events == 1)).all():
        raise ValueError("events must be 0 or 1")
    w = np.ones(n) if weights is None else check_weights(weights, n)
    if events.sum() == 0:
        raise ValueError("no events: a Cox model needs at least one exit")

    spells = SortedSpells(X, durations, events, w, efron=ties == "efron", overwrite_X=overwrite_X)
    # a NaN or infinite covariate makes its column's weighted mean non-finite: the
    # check costs no pass over X of its own
    if not np.isfinite(spells.center).all():
        raise ValueError("X and durations must be finite")
    start = _warm_start(spells, l2, max_iter, tol)
    result = maximise(lambda beta: spells.evaluate(beta, l2), start, max_iter=max_iter,
                      tol=tol, what="Cox")
    beta, loglik, info, it = result.x, result.loglik, result.info, result.n_iter
    names = [f"x{j}" for j in range(p)] if names is None else [str(v) for v in names]
    # monotone likelihood: a coefficient still moving when the likelihood has settled
    infinite = diverging(result, tol) if l2 == 0 else np.zeros(p, dtype=bool)
    if p and (infinite.any() or np.max(np.abs(beta * spells.column_sd())) > 20):
        which = [nm for nm, f in zip(names, infinite, strict=True) if f]
        warnings.warn("monotone likelihood: very large hazard ratios, a covariate (nearly) "
                      f"separates exits from censoring{f' ({which} tend to infinity)' if which else ''}"
                      "; estimates are unreliable", SeparationWarning, stacklevel=2)
    cov = covariance(info, names, what="Cox", infinite=infinite)

    if start.any() and result.converged and not infinite.any():
        # from a warm start the driver stops a step earlier than from zero (the gain in
        # log-likelihood falls below tol sooner); its last Newton step, computed and not
        # taken, is orders of magnitude smaller than that tolerance allows: taking it
        # leaves the estimate closer to the maximum than the steps from zero end
        beta = beta + result.last_step
    # Breslow baseline cumulative hazard at the centre
    hazard = spells.d_weight / spells.risk_sums(beta)[2]
    return CoxFit(coef=beta, cov=cov, center=spells.center, baseline_times=spells.event_times,
                  baseline_cumhaz=np.cumsum(hazard), ties=ties, n=float(w.sum()),
                  n_events=float(w[events > 0].sum()), loglik=loglik, n_iter=it)
