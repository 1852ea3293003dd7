"""The RMST-difference estimators of the cohort comparison, on plain arrays, with influence values.

Every estimator targets the same estimand, the effect on the treated (ATT):

    tau = E[min(T(other), h) | other cohort] - E[min(T(reference), h) | other cohort]

the restricted mean time on benefit up to the horizon h (calendar days) of
the other (coaching) cohort, minus what it would have been for the same
people under the reference regime. Besides its point estimate each
estimator returns per-person *contributions* c_i (estimate - truth ~= sum c_i),
including the estimation of the propensity and outcome models, so that
`anker.survival.bootstrap.multiplier_bootstrap` can bootstrap it with one weighted sum
per replicate (IF_i = n c_i).

Arrays: ``A`` 0/1 (1 = other cohort), ``durations`` calendar days,
``events`` 0/1, ``X`` covariate design matrix (no intercept), ``horizon`` h.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from anker.models.cox import CoxFit, fit_cox
from anker.models.logistic import LogisticFit, fit_logistic
from anker.outcome.cox_functionals import CoxInfluence, cox_influence, rmst_functional
from anker.survival import KaplanMeier, kaplan_meier, rmst, rmst_influence

ADJUSTED = ("gcomp", "iptw", "aipw")


@dataclass(frozen=True)
class MethodResult:
    """One estimator's result, calendar days.

    ``rmst_other``: RMST of the other cohort; ``rmst_reference``: RMST under
    the reference regime (for adjusted methods: over the other cohort's
    population; for ``naive``: the reference cohort itself); ``estimate`` is
    their difference; ``contribution`` (n,) its linearisation, or None.
    """

    estimate: float
    rmst_other: float
    rmst_reference: float
    contribution: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Estimates:
    """All estimators on one data set, with the fitted models they share."""

    results: dict[str, MethodResult]
    propensity_fit: LogisticFit | None
    propensity: np.ndarray | None          # P(other cohort | x), per row
    att_weights: np.ndarray | None         # 1 in the other cohort, e/(1-e) in the reference
    cox_fit: CoxFit
    cox_influence: CoxInfluence | None
    curves: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (times, survival)
    km: dict[str, KaplanMeier]


def naive(durations: np.ndarray, events: np.ndarray, A: np.ndarray, horizon: float, *,
          influence: bool = True) -> MethodResult:
    """Kaplan-Meier RMST of the other cohort minus that of the reference cohort."""
    other, ref = A == 1, A == 0
    r1 = rmst(durations[other], events[other], horizon).estimate
    r0 = rmst(durations[ref], events[ref], horizon).estimate
    contribution = None
    if influence:
        contribution = np.empty(A.size)
        contribution[other] = rmst_influence(durations[other], events[other], horizon) / other.sum()
        contribution[ref] = -rmst_influence(durations[ref], events[ref], horizon) / ref.sum()
    return MethodResult(r1 - r0, r1, r0, contribution)


@dataclass(frozen=True)
class Propensity:
    """A fitted propensity model: ``design`` (no intercept), ``e`` = P(other | x), ATT ``weights``."""

    fit: LogisticFit
    design: np.ndarray
    e: np.ndarray
    weights: np.ndarray

    def term(self, A: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """Contributions through the coefficients: gradient' cov x~_i (A_i - e_i), x~ = (1, x)."""
        full = np.column_stack((np.ones(A.size), self.design))
        return (full * (A - self.e)[:, None]) @ (self.fit.cov @ gradient)

    def gradient_design(self, rows: np.ndarray) -> np.ndarray:
        """x~ = (1, x) of the given rows."""
        return np.column_stack((np.ones(int(rows.sum())), self.design[rows]))


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
    if knots <= 0:
        return X
    columns = [X]
    levels = np.linspace(0, 1, knots + 2)[1:-1]
    for j in range(X.shape[1]):
        x = X[:, j]
        if np.unique(x).size > 10:
            for knot in np.unique(np.quantile(x, levels)):
                hinge = np.maximum(0.0, x - knot)
                if hinge.std() > 0:
                    columns.append(hinge[:, None])
    return np.column_stack(columns)


def fit_propensity(design: np.ndarray, A: np.ndarray) -> Propensity:
    """Logistic propensity of the other cohort and the ATT weights (1; e/(1-e) in the reference)."""
    if design.shape[1] == 0:
        # no covariates: the intercept-only model in closed form (fit_logistic needs a column)
        share = float(A.mean())
        fit = LogisticFit(coef=np.array([np.log(share / (1 - share))]),
                          cov=np.array([[1.0 / (A.size * share * (1 - share))]]),
                          intercept=True, n=float(A.size), loglik=float("nan"), n_iter=0)
    else:
        fit = fit_logistic(design, A)
    lp = fit.linear_predictor(design)
    e = 1.0 / (1.0 + np.exp(-lp))
    # the reference cohort is weighted by the odds e / (1 - e) = exp(lp): no 1 - e round-off
    weights = np.where(A == 1, 1.0, np.exp(np.minimum(lp, 700.0)))
    return Propensity(fit, design, e, weights)


def iptw(durations: np.ndarray, events: np.ndarray, A: np.ndarray, horizon: float,
         propensity: Propensity, *, influence: bool = True) -> MethodResult:
    """ATT-weighted Kaplan-Meier: the other cohort as it is, the reference weighted by e/(1-e).

    Contributions: the Kaplan-Meier influence values in each cohort (the
    weighted one treating the weights as given) plus the propensity model's
    estimation term, d RMST_ref / d gamma = mean over the reference of
    IF_i x~_i, times gamma's contribution cov x~_i (A_i - e_i).
    """
    other, ref = A == 1, A == 0
    weights = propensity.weights
    r1 = rmst(durations[other], events[other], horizon).estimate
    r0 = rmst(durations[ref], events[ref], horizon, weights=weights[ref]).estimate
    contribution = None
    if influence:
        n0 = ref.sum()
        if0 = rmst_influence(durations[ref], events[ref], horizon, weights=weights[ref])
        contribution = np.empty(A.size)
        contribution[other] = rmst_influence(durations[other], events[other], horizon) / other.sum()
        contribution[ref] = -if0 / n0
        gradient = propensity.gradient_design(ref).T @ if0 / n0
        contribution -= propensity.term(A, gradient)
    return MethodResult(r1 - r0, r1, r0, contribution)


def cox_design(A: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The outcome model's design: cohort indicator first, then the covariate terms."""
    return np.column_stack((A.astype(float), X))


def gcomp_aipw(durations: np.ndarray, events: np.ndarray, A: np.ndarray, horizon: float,
               X: np.ndarray, cox: CoxFit, *, propensity: Propensity | None,
               influence: bool = True) -> tuple[dict[str, MethodResult], dict, CoxInfluence]:
    """Cox g-computation and the doubly robust (AIPW) estimator of the ATT.

    With m_a(x) = integral_0^h S(t | cohort = a, x) dt from the Cox model
    (cohort indicator + covariates, Efron ties, Breslow baseline):

    gcomp:  mean over the other cohort of m_1(x_i) - m_0(x_i).

    aipw:   mean over the other cohort of Y*_i
            - [ mean over the other cohort of m_0(x_i)
                + sum_ref w_i (Y*_i - m_0(x_i)) / sum_ref w_i ]

    with ATT weights w_i = e_i / (1 - e_i) and Y*_i = min(T_i, h) when the
    spell ended or reached h, and, for a spell censored at C_i < h (entitlement
    end), the model's completion C_i + integral_C^h S(t | a_i, x_i) / S(C_i | a_i, x_i) dt.
    If the outcome model is right the estimator is consistent whatever the
    propensity model; if the propensity model is right, the weighted residuals
    repair a wrong outcome model over the observed part of each spell. The
    time after a censoring at entitlement end is never observed, so there it
    rests on the outcome model in any case.
    """
    other = A == 1
    n1 = float(other.sum())
    Z = cox_design(A, X)
    infl = cox_influence(cox, Z, durations, events, horizon)
    z0, z1 = Z.copy(), Z.copy()
    z0[:, 0], z1[:, 0] = 0.0, 1.0
    ref = ~other
    censored = (events == 0) & (durations < horizon)
    w = None if propensity is None else propensity.weights
    w_sum = None if w is None else float(w[ref].sum())
    # coefficient columns: (gcomp, aipw) weights of each functional in tau
    coef_m0 = np.zeros((A.size, 2))
    coef_m0[other] = -1.0 / n1
    coef_m1 = np.zeros((int(n1), 2))
    coef_m1[:, 0] = 1.0 / n1
    coef_fill = np.zeros((int(censored.sum()), 2))
    if w is not None:
        coef_m0[ref, 1] = w[ref] / w_sum
        coef_fill[:, 1] = np.where(other[censored], 1.0 / n1, -w[censored] / w_sum)
    f0 = rmst_functional(infl, z0, coef_m0, curve_rows=other)
    f1 = rmst_functional(infl, z1[other], coef_m1)
    fill = rmst_functional(infl, Z[censored], coef_fill, censor_times=durations[censored])
    m0 = f0.values
    m1_other = f1.values
    results: dict[str, MethodResult] = {}
    g1, g0 = float(m1_other.mean()), float(m0[other].mean())
    cox_part = None
    if influence:
        grad_beta = f0.grad_beta + f1.grad_beta + fill.grad_beta
        grad_hazard = f0.grad_hazard + f1.grad_hazard + fill.grad_hazard
        cox_part = infl.contributions(grad_beta, grad_hazard)
    contribution = None
    if influence:
        contribution = cox_part[:, 0].copy()
        contribution[other] += (m1_other - m0[other] - (g1 - g0)) / n1
    results["gcomp"] = MethodResult(g1 - g0, g1, g0, contribution)

    if propensity is not None:
        y_star = np.minimum(durations, horizon).astype(float)
        y_star[censored] = durations[censored] + fill.values
        mu1 = float(y_star[other].mean())
        residual = y_star[ref] - m0[ref]
        residual_mean = float(w[ref] @ residual / w_sum)
        mu0 = g0 + residual_mean
        contribution = None
        if influence:
            contribution = cox_part[:, 1].copy()
            contribution[other] += (y_star[other] - mu1 - (m0[other] - g0)) / n1
            centred = w[ref] * (residual - residual_mean) / w_sum
            contribution[ref] -= centred
            gradient = propensity.gradient_design(ref).T @ centred
            contribution -= propensity.term(A, gradient)
        results["aipw"] = MethodResult(mu1 - mu0, mu1, mu0, contribution)
    curves = {"gcomp_other": (infl.times, f1.mean_survival),
              "gcomp_reference": (infl.times, f0.mean_survival)}
    return results, curves, infl


def estimate_all(durations: np.ndarray, events: np.ndarray, A: np.ndarray, X: np.ndarray,
                 horizon: float, *, influence: bool = True, weighting: bool = True,
                 propensity_design: np.ndarray | None = None) -> Estimates:
    """naive, gcomp, iptw and aipw on one data set (``weighting=False`` skips iptw and aipw).

    ``X`` is the Cox model's covariate design; the propensity model uses
    ``propensity_design`` (default ``X``).
    """
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=float)
    A = np.asarray(A, dtype=float)
    results = {"naive": naive(durations, events, A, horizon, influence=influence)}
    cox = fit_cox(cox_design(A, X), durations, events, ties="efron")
    if weighting:
        propensity = fit_propensity(X if propensity_design is None else propensity_design, A)
    else:
        propensity = None
    adjusted, curves, infl = gcomp_aipw(durations, events, A, horizon, X, cox,
                                        propensity=propensity, influence=influence)
    results["gcomp"] = adjusted["gcomp"]
    km = {"other": kaplan_meier(durations[A == 1], events[A == 1]),
          "reference": kaplan_meier(durations[A == 0], events[A == 0])}
    if propensity is not None:
        results["iptw"] = iptw(durations, events, A, horizon, propensity, influence=influence)
        results["aipw"] = adjusted["aipw"]
        km["reference_weighted"] = kaplan_meier(durations[A == 0], events[A == 0],
                                                weights=propensity.weights[A == 0])
    return Estimates(
        results=results,
        propensity_fit=None if propensity is None else propensity.fit,
        propensity=None if propensity is None else propensity.e,
        att_weights=None if propensity is None else propensity.weights,
        cox_fit=cox, cox_influence=infl if influence else None, curves=curves, km=km,
    )


def point_estimates(durations, events, A, X, horizon, propensity_design=None) -> np.ndarray:
    """(naive, gcomp, iptw, aipw) point estimates only: the statistic of a refit bootstrap."""
    out = estimate_all(durations, events, A, X, horizon, influence=False,
                       propensity_design=propensity_design)
    return np.array([out.results[m].estimate for m in ("naive", "gcomp", "iptw", "aipw")])
