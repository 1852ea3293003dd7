"""A Cox model of some rows of the design, fitted and linearised on one time-ordered copy.

The per-cohort outcome and censoring models of `anker.outcome.estimators`
are fits on a cohort's rows of the full design ``X``. Taking ``X[rows]`` and
letting `anker.models.cox.fit_cox` sort it holds two copies of the cohort's
design (at 1,000,000 spells x 25 terms, 200 MB each) next to ``X``. Here the
rows are gathered once, already in the fit's time order and column-major;
the fit centres that copy in place and the linearisation
(`anker.models.cox_functionals.cox_influence`) reads the same centred copy
and writes its (n, p) beta contributions over it: one cohort-sized array
at any time.
The fit is the one ``fit_cox(X[rows], ...)`` gives: the same rows, sorted the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from anker.models.cox import CoxFit, fit_cox
from anker.models.cox_functionals import CoxInfluence, cox_influence
from anker.models.efron import EfronTerms, efron_terms
from anker.models.partial_likelihood import sorted_columns, time_order


@dataclass
class RowsFit:
    """A Cox fit of some rows of a design, with their centred, time-ordered copy.

    ``rows``: the design's rows in time order, the order of ``ZT``'s columns and of
    the per-person arrays of `influence`.
    """

    fit: CoxFit
    rows: np.ndarray
    ZT: np.ndarray | None
    durations: np.ndarray
    events: np.ndarray

    def _at_zero(self) -> CoxFit:
        # ZT is centred at fit.center: as a fit centred at 0, it is the fit itself
        if self.ZT is None:
            raise RuntimeError("influence() was already taken from this fit")
        return replace(self.fit, center=np.zeros_like(self.fit.center))

    def efron_terms(self) -> EfronTerms:
        """The fit's `anker.models.efron.efron_terms` (per event time: any row order)."""
        return efron_terms(self._at_zero(), self.ZT.T, self.durations, self.events)

    def influence(self, horizon: float) -> CoxInfluence:
        """The fit's `CoxInfluence`, per person in the order of ``rows`` (once: its beta
        contributions take the memory of the design copy)."""
        zero = self._at_zero()
        ZT, self.ZT = self.ZT, None
        infl = cox_influence(zero, ZT.T, self.durations, self.events, horizon, overwrite_Z=True)
        return replace(infl, fit=self.fit)


def fit_rows(X: np.ndarray, rows: np.ndarray, durations: np.ndarray, events: np.ndarray, *,
             ties: str) -> RowsFit:
    """Cox fit of ``X[rows]`` on (durations, events) of those rows (one value per row).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 2))
    >>> rows = np.arange(0, 600, 2)
    >>> t = np.ceil(50 * rng.exponential(size=300) / np.exp(0.5 * X[rows, 0]))
    >>> fitted = fit_rows(X, rows, t, np.ones(300), ties="efron")
    >>> bool(np.allclose(fitted.fit.coef, fit_cox(X[rows], t, np.ones(300)).coef, atol=1e-10))
    True
    >>> fitted.influence(60.0).beta_contribution.shape
    (300, 2)
    """
    order = time_order(durations, events)
    d, e = durations[order], events[order]
    ZT = sorted_columns(X, rows[order])
    fit = fit_cox(ZT.T, d, e, ties=ties, overwrite_X=True)
    return RowsFit(fit, rows[order], ZT, d, e)
