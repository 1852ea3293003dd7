"""The analysis options of `anker.compare_cohorts`: estimand, outcome scale, models, and their notes.

- ``estimand``: ``"att"`` (the other cohort's own gain) or ``"ate"`` (both cohorts);
- ``outcome``: ``"time_on_benefit"``, E[min(T, h)] with T the latent time on
  benefit (entitlement end censors it), or ``"paid_days"``,
  E[min(T, entitlement, h)], the calendar days actually paid (entitlement end
  ends it: only data end censors); ``"auto"`` (the default) is paid days when
  the data hold the entitlement column, else time on benefit;
- ``outcome_model``: ``"per_cohort"`` Cox models (no proportional hazards
  between the cohorts) or one ``"pooled"`` Cox model with the cohort as a term;
- ``censoring``: ``"cox"`` (censoring hazard on the covariates, per cohort) or
  ``"km"`` (Kaplan-Meier of censoring per cohort).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anker.errors import AnkerDataError
from anker.outcome.censoring import CENSORING_MODELS
from anker.outcome.estimators import ESTIMANDS, OUTCOME_MODELS
from anker.outcome.propensity import PROPENSITY_FITS

OUTCOMES = ("time_on_benefit", "paid_days")
AUTO = "auto"
DEFAULT_ENTITLEMENT_COL = "entitlement_days"
# a reference spell's entitlement under the other cohort's rules (computed from work history)
DEFAULT_ENTITLEMENT_OTHER_COL = "entitlement_days_other_rules"
# a p-value of the PH test below this puts the terms on record
PH_NOTE_P = 0.01
# IPCW weights above 1 / this (a seen outcome with G(Y-) below it) are put on record
POSITIVITY_G = 0.05


@dataclass(frozen=True)
class Options:
    estimand: str
    outcome: str
    outcome_model: str
    censoring: str
    entitlement_col: str | None
    tau: np.ndarray
    propensity: str = "logistic"
    # the reference spells' restriction times under the other cohort's rules (ATT, paid days)
    tau_reference: np.ndarray | None = None
    entitlement_other_col: str | None = None

    @property
    def paid_days(self) -> bool:
        return self.outcome == "paid_days"


def resolve_options(data: pd.DataFrame, *, horizon: float, estimand: str, outcome: str,
                    outcome_model: str, censoring: str, entitlement_col: str | None,
                    days_per_unit: float = 1.0, propensity: str = "auto",
                    entitlement_other_col: str | None = None,
                    reference_rows: np.ndarray | None = None) -> Options:
    """Check the options and form the per-row restriction times (in the durations' unit;
    the entitlement columns are calendar days).

    ``entitlement_other_col`` (default ``"entitlement_days_other_rules"`` when the
    data hold it): each reference spell's entitlement under the other cohort's
    rules; for the ATT on paid days the reference regime's spells then end
    there, as the other cohort's own spells would (``reference_rows``: bool mask).
    """
    if outcome == AUTO:
        # latent time past entitlement end is never observed, so weighting alone cannot
        # estimate it; paid days are observed up to the horizon and are what the fund pays
        has_entitlement = (entitlement_col or DEFAULT_ENTITLEMENT_COL) in data.columns
        outcome = "paid_days" if has_entitlement else "time_on_benefit"
    for name, value, allowed in (("estimand", estimand, ESTIMANDS),
                                 ("outcome", outcome, (*OUTCOMES, AUTO)),
                                 ("outcome_model", outcome_model, OUTCOME_MODELS),
                                 ("censoring", censoring, CENSORING_MODELS),
                                 ("propensity", propensity, (*PROPENSITY_FITS, AUTO))):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    if propensity == AUTO:
        # balance targets the other cohort's means: the ATT's own population
        propensity = "balance" if estimand == "att" else "logistic"
    elif propensity == "balance" and estimand != "att":
        raise ValueError(f"propensity='balance' weights the reference cohort to the other "
                         f"cohort: estimand='att' only, got estimand={estimand!r}")
    tau = np.full(len(data), float(horizon))
    if outcome == "paid_days":
        col = entitlement_col or DEFAULT_ENTITLEMENT_COL
        if col not in data.columns:
            raise AnkerDataError(f"outcome='paid_days' needs the entitlement column {col!r} "
                                 "(calendar days of entitlement; set entitlement_col)", columns=[col])
        values = pd.to_numeric(data[col], errors="coerce")
        bad = values.isna() | (values <= 0)
        if bad.any():
            raise AnkerDataError(f"entitlement column {col!r} has {int(bad.sum())} missing, "
                                 "non-numeric or non-positive value(s)", columns=[col])
        tau = np.minimum(values.to_numpy(dtype=float) / days_per_unit, float(horizon))
        entitlement_col = col
    elif entitlement_other_col is not None:
        raise ValueError("entitlement_other_col is used for outcome='paid_days' only, "
                         f"got outcome={outcome!r}")
    tau_reference, other_col = None, None
    if outcome == "paid_days":
        other_col = entitlement_other_col or DEFAULT_ENTITLEMENT_OTHER_COL
        if other_col not in data.columns:
            if entitlement_other_col is not None:
                raise AnkerDataError(f"entitlement_other_col {other_col!r} is not a column of the "
                                     "data", columns=[other_col])
            other_col = None
        else:
            rows = np.ones(len(data), bool) if reference_rows is None else reference_rows
            values = pd.to_numeric(data[other_col], errors="coerce").to_numpy(dtype=float)
            bad = ~(values[rows] > 0)  # NaN compares False
            if bad.any():
                raise AnkerDataError(f"column {other_col!r} (entitlement under the other cohort's "
                                     f"rules) has {int(bad.sum())} missing, non-numeric or "
                                     "non-positive value(s) in the reference cohort",
                                     columns=[other_col])
            tau_reference = np.minimum(np.nan_to_num(values, nan=np.inf) / days_per_unit,
                                       float(horizon))
    return Options(estimand, outcome, outcome_model, censoring, entitlement_col, tau, propensity,
                   tau_reference, other_col)


def ph_note(ph_test: pd.DataFrame, outcome_model: str) -> str | None:
    """A note naming the terms whose proportional-hazards test has p < 0.01, or None."""
    terms = [str(t) for t, p in ph_test["p"].items() if t != "GLOBAL" and p < PH_NOTE_P]
    if not terms:
        return None
    where = ("the hazard ratio and the pooled outcome model rest on it" if outcome_model == "pooled"
             else "the Cox hazard ratio rests on it; gcomp and aipw fit one Cox model per cohort, "
                  "so the cohort contrast is not assumed proportional, the covariate terms are")
    return (f"proportional hazards rejected (Schoenfeld test p < {PH_NOTE_P:g}) for "
            f"{', '.join(terms)}: {where}")


def unobserved_note(data: pd.DataFrame, entitlement_col: str | None, horizon: float,
                    days_per_unit: float, outcome: str) -> str | None:
    """For time on benefit: how many spells' entitlement ends before the horizon, or None.

    Their time on benefit after entitlement end is latent (never observed), so no
    censoring model can restore it from the others: iptw is not identified there.
    """
    col = entitlement_col or DEFAULT_ENTITLEMENT_COL
    if outcome != "time_on_benefit" or col not in data.columns:
        return None
    values = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float) / days_per_unit
    short = int(np.sum(values < horizon))
    if short == 0:
        return None
    return (f"time on benefit: {short:,} spell(s) ({short / len(data):.1%}) have an entitlement "
            f"({col!r}) that ends before the horizon; their time on benefit after it is never "
            "observed, so iptw cannot estimate it (biased towards short spells) and gcomp and "
            "aipw extrapolate it with the Cox model; outcome='paid_days' needs no extrapolation")


def check_trim(trim) -> float | None:
    if trim is None:
        return None
    try:
        trim = float(trim)
    except (TypeError, ValueError):
        raise ValueError(f"trim must be a number between 0 and 0.5, got {trim!r}") from None
    if not 0 < trim < 0.5:
        raise ValueError(f"trim must be between 0 and 0.5, got {trim!r}")
    return trim


def trim_note(trim: float | None, e: np.ndarray | None) -> str | None:
    if trim is None or e is None:
        return None
    cut = int(np.sum((e < trim) | (e > 1 - trim)))
    return (f"propensity truncated to [{trim:g}, {1 - trim:g}] in the weights: {cut:,} spell(s) "
            "affected; the weighting estimators then target a slightly different population")


def positivity_note(min_g: float) -> str | None:
    if min_g >= POSITIVITY_G:
        return None
    return (f"censoring model: some seen outcomes have a probability of staying uncensored of "
            f"{min_g:.3f} (IPCW weight {1 / max(min_g, 1e-300):,.0f}); iptw leans on few spells there "
            "and aipw on the outcome model")


def resolve_cluster_col(value: str | None, data: pd.DataFrame, default: str = "coach_id"
                        ) -> str | None:
    """The cluster column: ``"auto"`` is ``default`` when present; None or ``"none"``: no clusters.

    Examples
    --------
    >>> frame = pd.DataFrame({"coach_id": ["a"], "office": ["x"]})
    >>> resolve_cluster_col("auto", frame), resolve_cluster_col("none", frame)
    ('coach_id', None)
    """
    if value is None or str(value).lower() == "none":
        return None
    if value == "auto":
        return default if default in data.columns else None
    return value


# a gap in mean entitlement (up to the horizon) above this share of the horizon is put on record
ENTITLEMENT_GAP = 0.01


def entitlement_note(tau: np.ndarray, A: np.ndarray, att_weights: np.ndarray | None,
                     horizon: float, outcome: str, other_rules: bool = False) -> str | None:
    """For paid days: a note when the weighted reference cohort's entitlements differ from the
    other cohort's, or None.

    The reference regime's paid days of a spell in the other cohort end at that
    spell's own entitlement. Weighting the reference cohort reproduces the other
    cohort's covariates, not its entitlements when the rules differ for the
    same covariates (a reform): iptw then prices the reference cohort's own
    entitlements, the effect of regime and rules together.
    """
    if outcome != "paid_days" or att_weights is None or other_rules:
        return None
    ref, other = A == 0, A == 1
    w = att_weights[ref]
    weighted = float(w @ tau[ref] / w.sum())
    own = float(tau[other].mean())
    if abs(weighted - own) <= ENTITLEMENT_GAP * horizon:
        return None
    return (f"paid days: the weighted reference cohort's entitlement up to the horizon averages "
            f"{weighted:.1f} against {own:.1f} in the other cohort (entitlement rules differ for "
            "the same covariates); iptw prices the reference cohort's own entitlements, so it "
            "estimates the regime and the rules together; gcomp and aipw end each spell at its "
            "own entitlement, and aipw's correction for that part rests on the outcome model; "
            f"a column {DEFAULT_ENTITLEMENT_OTHER_COL!r} (entitlement_other_col) with each "
            "reference spell's entitlement under the other cohort's rules removes this")
