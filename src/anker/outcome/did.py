"""Difference in differences standardised to the treated group's covariates (``did_adjusted``).

With a comparison group that did not get the other regime, four cells:
cohort (reference, other) x group (treated, comparison). The unadjusted
``did`` differences Kaplan-Meier RMSTs and assumes parallel RMST trends; a
business cycle that acts alike on the hazard does not give parallel RMSTs
when the groups' baselines differ. ``did_adjusted`` fits one Cox model per
cell and standardises every cell to the covariates of the other cohort's
treated group:

    [m(other, treated) - m(reference, treated)] - [m(other, comparison) - m(reference, comparison)]

each m the mean over that target population of integral_0^h S_cell(t | x) dt.
It assumes each cell's Cox model and that, at the same covariates, the
comparison group's change between the cohorts is what the treated group's
would have been without the other regime.
"""

from __future__ import annotations

import numpy as np

from anker.models.cox import fit_cox
from anker.models.cox_functionals import cox_influence
from anker.outcome.aipcw import Grid, Model, model_contributions, regime_means


def adjusted_did(durations: np.ndarray, events: np.ndarray, A: np.ndarray, group: np.ndarray,
                 X: np.ndarray, horizon: float) -> tuple[float, np.ndarray]:
    """The standardised DiD (calendar days) and its contributions over all rows.

    ``group`` is 1 for the comparison group, 0 for the treated group.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 4000
    >>> A, g, x = rng.integers(0, 2, n), rng.integers(0, 2, n), rng.normal(size=(n, 1))
    >>> t = np.ceil(100 * rng.exponential(size=n) / np.exp(0.5 * x[:, 0] + 0.3 * A * (1 - g)))
    >>> value, c = adjusted_did(t, np.ones(n), A, g, x, 200.0)
    >>> bool(value < 0), bool(np.isfinite(c).all())
    (True, True)
    """
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=float)
    n = durations.size
    target = ((A == 1) & (group == 0)).astype(float)
    tpi = target / target.sum()
    tau = np.full(n, float(horizon))
    grid = Grid.build(durations, tau)
    coef = np.column_stack((tpi, np.zeros(n)))
    value, contribution, per_row = 0.0, np.zeros(n), np.zeros(n)
    for a, g, sign in ((1, 0, 1.0), (0, 0, -1.0), (1, 1, -1.0), (0, 1, 1.0)):
        rows = np.flatnonzero((A == a) & (group == g))
        fit = fit_cox(X[rows], durations[rows], events[rows], ties="efron")
        model = Model(cox_influence(fit, X[rows], durations[rows], events[rows], horizon), rows, X)
        res = regime_means(grid, durations, events, tau, np.zeros(n, bool), coef, np.zeros(n),
                           model, None, target)
        value += sign * float(tpi @ res.m)
        per_row += sign * res.m
        contribution += sign * model_contributions(model, res.outcome_grad_beta,
                                                   res.outcome_grad_hazard, n)[:, 0]
    contribution += tpi * (per_row - value)
    return value, contribution
