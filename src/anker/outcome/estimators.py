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
from anker.models.cox_functionals import CoxInfluence, cox_influence
from anker.models.logistic import LogisticFit
from anker.models.partial_likelihood import sorted_columns, time_order
from anker.outcome.aipcw import Grid, Model, ipcw_product_limit, model_contributions, regime_means
from anker.outcome.censoring import fit_censoring
from anker.outcome.cohort_cox import fit_rows
from anker.outcome.propensity import Propensity, fit_propensity
from anker.outcome.propensity import propensity_basis as propensity_basis  # the older import path
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
    min_censoring_survival: float = 1.0    # smallest G(Y-) of a seen outcome: IPCW positivity
    notes: tuple[str, ...] = ()            # caveats of the nuisance models
    propensity_kind: str | None = None     # "balance" or "logistic", as fitted


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


def cox_design(A: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The pooled outcome model's design: cohort indicator first, then the covariate terms."""
    return np.column_stack((A.astype(float), X))


def fit_pooled(A: np.ndarray, X: np.ndarray, durations: np.ndarray, events: np.ndarray) -> CoxFit:
    """The pooled Cox model on `cox_design`, that design formed once: in time order and
    column-major, so the fit centres it in place rather than sorting a copy."""
    order = time_order(durations, events)
    ZT = np.empty((X.shape[1] + 1, A.size))
    ZT[0] = A[order]
    sorted_columns(X, order, out=ZT[1:])
    return fit_cox(ZT.T, durations[order], events[order], ties="efron", overwrite_X=True)


ESTIMANDS = ("att", "ate", "overlap")
OUTCOME_MODELS = ("per_cohort", "pooled")


def target_weights(estimand: str, A: np.ndarray, e: np.ndarray | None, trim: float | None = None):
    """Target weights pi, per regime the propensity weights w_a, d log w_a / d lp and d log pi / d lp.

    ATT: pi = A; w_1 = 1, w_0 = e / (1 - e). ATE: pi = 1; w_1 = 1 / e, w_0 = 1 / (1 - e).
    Overlap (Li, Morgan & Zaslavsky 2018): pi = e (1 - e); w_1 = 1 - e, w_0 = e.
    ``trim``: e is truncated to [trim, 1 - trim] in the weights (no gradient where cut).
    """
    if estimand not in ESTIMANDS:
        raise ValueError(f"estimand must be one of {list(ESTIMANDS)}, got {estimand!r}")
    if e is None:
        if estimand == "overlap":
            raise ValueError("estimand='overlap' needs the propensity model (weighting)")
        return (A.astype(float) if estimand == "att" else np.ones(A.size)), None
    inside = np.ones(A.size)
    if trim is not None:
        inside = ((e >= trim) & (e <= 1 - trim)).astype(float)
        e = np.clip(e, trim, 1 - trim)
    dlogpi = None
    if estimand == "att":
        pi = A.astype(float)
        w = {1: np.ones(A.size), 0: e / (1 - e)}
        dlogw = {1: np.zeros(A.size), 0: inside}
    elif estimand == "ate":
        pi = np.ones(A.size)
        w = {1: 1 / e, 0: 1 / (1 - e)}
        dlogw = {1: -(1 - e) * inside, 0: e * inside}
    else:
        pi = e * (1 - e)
        w = {1: 1 - e, 0: e}
        dlogw = {1: -e * inside, 0: (1 - e) * inside}
        dlogpi = (1 - 2 * e) * inside
    return pi, (w, dlogw, dlogpi)


def _outcome_model(a: int, kind: str, pooled: CoxFit, durations, events, A, X, top) -> Model:
    if kind == "pooled":
        Z = cox_design(A, X)
        Zpred = Z.copy()
        Zpred[:, 0] = float(a)
        return Model(cox_influence(pooled, Z, durations, events, top), np.arange(A.size), Zpred)
    rows = np.flatnonzero(A == a)
    fitted = fit_rows(X, rows, durations[rows], events[rows], ties="efron")
    return Model(fitted.influence(top), fitted.rows, X)


def estimate_all(durations: np.ndarray, events: np.ndarray, A: np.ndarray, X: np.ndarray,
                 horizon: float, *, influence: bool = True, weighting: bool = True,
                 propensity_design: np.ndarray | None = None, estimand: str = "att",
                 outcome_model: str = "per_cohort", censoring: str = "cox",
                 tau: np.ndarray | None = None,
                 censoring_design: np.ndarray | None = None,
                 trim: float | None = None, propensity: str = "logistic",
                 tau_reference: np.ndarray | None = None) -> Estimates:
    """naive, gcomp, iptw and aipw on one data set (``weighting=False`` skips iptw and aipw).

    ``X`` is the outcome and censoring models' covariate design; the propensity
    model uses ``propensity_design`` (default ``X``). ``tau`` are per-row
    restriction times (default: the horizon; paid days: min(entitlement, horizon)).
    ``propensity``: ``"logistic"`` (likelihood) or ``"balance"`` (entropy-balancing
    weights, `anker.outcome.propensity`; the ATT only). ``tau_reference`` (ATT):
    the reference spells' restriction times under the other cohort's rules; the
    weighted reference spells then end where the other cohort's would (not
    beyond their own ``tau``, where they are not followed; a note bounds what
    that cut costs).
    """
    if outcome_model not in OUTCOME_MODELS:
        raise ValueError(f"outcome_model must be one of {list(OUTCOME_MODELS)}, got {outcome_model!r}")
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=float)
    A = np.asarray(A, dtype=float)
    n = A.size
    tau = np.full(n, float(horizon)) if tau is None else np.asarray(tau, dtype=float)
    constant_tau = bool(np.all(tau == tau[0]))
    pooled = fit_pooled(A, X, durations, events)
    kind = propensity
    if kind == "balance" and estimand != "att":
        raise ValueError("propensity='balance' balances the reference cohort on the other cohort: "
                         f"estimand='att' only, got estimand={estimand!r}")
    propensity: Propensity | None = None
    if weighting:
        propensity = fit_propensity(X if propensity_design is None else propensity_design, A,
                                    kind=kind)
    pi, weighting_terms = target_weights(estimand, A, None if propensity is None else propensity.e,
                                         trim)
    tau_regime = {0: tau, 1: tau}
    other_rules = tau_reference is not None and estimand == "att"
    if other_rules:
        tau_regime[0] = np.where(A == 0, np.minimum(np.asarray(tau_reference, float), tau), tau)
    grid = Grid.build(durations, np.concatenate((tau, tau_regime[0])))
    top = float(tau.max())
    parts: dict[str, dict[int, tuple[float, np.ndarray | None]]] = {
        m: {} for m in ("naive", "gcomp", "iptw", "aipw")}
    curves, min_g, model_notes = {}, 1.0, []
    if propensity is not None and propensity.note:
        model_notes.append(propensity.note)
    if propensity is not None and other_rules:
        model_notes.append(_other_rules_note(tau_reference, tau, A, propensity.weights))
    for a in (0, 1):
        own = A == a
        rows = np.flatnonzero(own)
        outcome = _outcome_model(a, outcome_model, pooled, durations, events, A, X, top)
        tau_a = tau_regime[a]
        cens = fit_censoring(censoring, durations, events, tau_a, rows,
                             X if censoring_design is None else censoring_design)
        if weighting_terms is not None:
            w = np.where(own, weighting_terms[0][a], 0.0)
            omega = w / w.sum()
        else:
            omega = own / own.sum()
        tpi = pi / pi.sum()
        coef_m = np.column_stack((tpi, tpi - omega))
        res = regime_means(grid, durations, events, tau_a, own, coef_m, omega, outcome, cens, pi)
        min_g = min(min_g, res.min_censoring_survival)
        if cens is not None and cens.note and cens.note not in model_notes:
            model_notes.append(cens.note)
        curves["gcomp_other" if a == 1 else "gcomp_reference"] = (grid.times[1:], res.mean_survival[1:])
        g_a = float(tpi @ res.m)
        psi, ipcw = np.nan_to_num(res.psi), np.nan_to_num(res.ipcw)
        iptw_a = float(omega @ ipcw)
        resid = float(omega @ (psi - res.m))
        c = {m: None for m in ("gcomp", "iptw", "aipw")}
        if influence:
            # each model's (n_a x p) linearisation is freed once spent: the censoring model's
            # before the outcome model's contributions, both before the propensity terms
            cen_c = (np.zeros((n, 2)) if cens is None else
                     model_contributions(cens, res.censor_grad_beta, res.censor_grad_hazard, n))
            cens = None
            out_c = model_contributions(outcome, res.outcome_grad_beta, res.outcome_grad_hazard, n)
            outcome = None
            c["gcomp"] = tpi * (res.m - g_a) + out_c[:, 0]
            f_iptw = np.where(own, ipcw - iptw_a, 0.0)
            f_aipw = np.where(own, psi - res.m - resid, 0.0)
            c["iptw"] = omega * f_iptw + cen_c[:, 0]
            c["aipw"] = tpi * (res.m - g_a) + omega * f_aipw + out_c[:, 1] + cen_c[:, 1]
            if propensity is not None:
                dlogw = weighting_terms[1][a]
                for m, f in (("iptw", f_iptw), ("aipw", f_aipw)):
                    # f is 0 outside the cohort's own rows
                    gradient = propensity.weighted_terms(omega * f * dlogw)
                    c[m] = c[m] + propensity.term(A, gradient)
                dlogpi = weighting_terms[2]
                if dlogpi is not None:  # the target population itself rests on the propensity
                    gradient = propensity.weighted_terms(tpi * (res.m - g_a) * dlogpi)
                    for m in ("gcomp", "aipw"):
                        c[m] = c[m] + propensity.term(A, gradient)
        parts["gcomp"][a] = (g_a, c["gcomp"])
        parts["iptw"][a] = (iptw_a, c["iptw"])
        parts["aipw"][a] = (g_a + resid, c["aipw"])
        # the cohort's models ((n_a x p) linearisations) and per-row terms (a dozen
        # n-vectors) are spent: freed before the paid-days mean and the next cohort
        outcome = cens = res = w = omega = tpi = coef_m = psi = ipcw = out_c = cen_c = None
        f_iptw = f_aipw = f = gradient = None
        if not constant_tau:
            parts["naive"][a] = _paid_days_naive(grid, durations, events, tau, own, X, influence)
    results = {}
    if constant_tau:
        results["naive"] = naive(durations, events, A, float(tau[0]), influence=influence)
    methods = ["gcomp"] if constant_tau else ["naive", "gcomp"]
    if propensity is not None:
        methods += ["iptw", "aipw"]
    for m in methods:
        (v0, c0), (v1, c1) = parts[m][0], parts[m][1]
        results[m] = MethodResult(v1 - v0, v1, v0, None if c0 is None else c1 - c0)
    results = {m: results[m] for m in ("naive", "gcomp", "iptw", "aipw") if m in results}
    km = {"other": kaplan_meier(durations[A == 1], events[A == 1]),
          "reference": kaplan_meier(durations[A == 0], events[A == 0])}
    if propensity is not None and estimand == "att":
        km["reference_weighted"] = kaplan_meier(durations[A == 0], events[A == 0],
                                                weights=propensity.weights[A == 0])
    return Estimates(
        results=results,
        propensity_fit=None if propensity is None else propensity.fit,
        propensity=None if propensity is None else propensity.e,
        att_weights=None if propensity is None else propensity.weights,
        cox_fit=pooled, cox_influence=None, curves=curves, km=km,
        min_censoring_survival=min_g, notes=tuple(model_notes),
        propensity_kind=None if propensity is None else propensity.kind,
    )


def _paid_days_naive(grid: Grid, durations: np.ndarray, events: np.ndarray, tau: np.ndarray,
                     own: np.ndarray, X: np.ndarray, influence: bool):
    """Paid days: the unadjusted mean of one cohort (``own``) and its contributions, with
    censoring by Kaplan-Meier."""
    km_c = fit_censoring("km", durations, events, tau, np.flatnonzero(own), X)
    flat = own / own.sum()
    raw_ipcw, raw_grad = ipcw_product_limit(grid, durations, events, tau, own, flat, km_c)
    raw_ipcw = np.nan_to_num(raw_ipcw)
    value = float(flat @ raw_ipcw)
    if not influence:
        return value, None
    contribution = flat * np.where(own, raw_ipcw - value, 0.0)
    if km_c is not None:
        contribution = contribution + model_contributions(km_c, np.zeros((1, 0)), raw_grad,
                                                          own.size)[:, 0]
    return value, contribution


def _other_rules_note(tau_reference, tau, A, weights) -> str:
    ref = A == 0
    w = weights[ref] / weights[ref].sum()
    cut = np.maximum(np.asarray(tau_reference, float)[ref] - tau[ref], 0.0)
    text = ("paid days: the weighted reference spells end at their entitlement under the other "
            "cohort's rules, as the other cohort's own spells do")
    if not (cut > 0).any():
        return text
    return (text + f"; for {w @ (cut > 0):.1%} of them (weighted) those rules give more than their "
            f"own entitlement and they are not followed past it, so iptw's reference mean may be "
            f"low by at most {w @ cut:.2f} (in the durations' unit)")


def point_estimates(durations, events, A, X, horizon, propensity_design=None, **options) -> np.ndarray:
    """(naive, gcomp, iptw, aipw) point estimates only: the statistic of a refit bootstrap."""
    out = estimate_all(durations, events, A, X, horizon, influence=False,
                       propensity_design=propensity_design, **options)
    return np.array([out.results[m].estimate for m in ("naive", "gcomp", "iptw", "aipw")])
