"""What human discretion does: outcomes after following or overriding the advice.

:func:`override_outcomes` joins the decision log to the clients' later
outcomes and gives, per decision type (advice followed, overridden towards
more support, towards less support, more or less monitoring, other), the
observed outcome rate (Wilson interval) and the rate adjusted for the
profile score. Coaches override for reasons: clients whose advice was
overridden towards more support often had worse prospects to begin with,
so raw rates compare unlike clients. The adjusted rate is a standardised
(g-computation) rate: a logistic model of the outcome on the decision type
and logit(score) predicts, for every decided client, the outcome under each
decision type, and averages (delta-method interval from the model's
covariance). It adjusts for the score only, not for what the coach saw and
the score did not; read it as a description, not as the effect of
overriding.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from anker.errors import AnkerDataError
from anker.schema import require_columns

__all__ = ["override_outcomes", "decision_type", "DECISION_TYPES"]

DECISION_TYPES = ("advice followed", "more support", "less support", "more monitoring",
                  "less monitoring", "other")


def decision_type(direction: str) -> str:
    """The decision type of a logged direction: "none" is the advice followed.

    Examples
    --------
    >>> decision_type("none"), decision_type("less support")
    ('advice followed', 'less support')
    """
    return "advice followed" if direction == "none" else (
        direction if direction in DECISION_TYPES else "other")


def _decisions(log: Any) -> pd.DataFrame:
    if isinstance(log, pd.DataFrame):
        frame = log
    elif hasattr(log, "decisions"):
        frame = log.decisions()
    else:
        raise TypeError(f"log must be a DecisionLog or its decisions() DataFrame, got "
                        f"{type(log).__name__}")
    require_columns(frame, ["client_id", "direction", "coach_id"], role="decision log")
    return frame


def _wilson(k: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(k, n, alpha=1 - level, method="wilson")
    rate = np.asarray(k, float) / np.asarray(n, float)
    # rounding leaves the bound 1e-17 off an observed rate of 0 or 1: keep the rate inside
    return (np.minimum(np.clip(np.asarray(low, float), 0, 1), rate),
            np.maximum(np.clip(np.asarray(high, float), 0, 1), rate))


def _shares(frame: pd.DataFrame, by: str, level: float) -> pd.DataFrame:
    """Share of advice overridden per value of ``by`` (missing labels a group of their own)."""
    keys = frame[by].astype(object).where(frame[by].notna(), "(missing)")
    over = frame["direction"] != "none"
    table = pd.DataFrame({"n_decisions": over.groupby(keys).size(),
                          "n_overrides": over.groupby(keys).sum().astype(int)})
    table["override_share"] = table["n_overrides"] / table["n_decisions"]
    table["ci_low"], table["ci_high"] = _wilson(table["n_overrides"].to_numpy(),
                                                table["n_decisions"].to_numpy(), level)
    table.index.name = by
    return table


def _score_values(joined: pd.DataFrame, df: pd.DataFrame, score_col: str | None, model: Any,
                  outcome_col: str) -> tuple[np.ndarray | None, str | None]:
    """The profile score per decided client, and where it came from."""
    if score_col is not None:
        if score_col in joined.columns:
            return pd.to_numeric(joined[score_col], errors="coerce").to_numpy(float), score_col
        if "scores" in joined.columns:  # the scores the coach saw, as logged
            values = [json.loads(s).get(score_col) if isinstance(s, str) else None
                      for s in joined["scores"]]
            return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float), \
                f"{score_col} (decision log)"
        raise AnkerDataError(f"score_col {score_col!r} is neither a column of df nor a logged "
                             "score", columns=[score_col])
    if model is not None:
        for name, test in getattr(model, "tests", {}).items():
            if getattr(test, "outcome_col", None) == outcome_col and hasattr(test, "predict_proba"):
                rows = joined["_row"].to_numpy()
                return test.predict_proba(df.iloc[rows]).to_numpy(), f"{name} test prediction"
    return None, None


def _adjusted(y: np.ndarray, types: np.ndarray, score: np.ndarray, names: list[str],
              level: float) -> tuple[pd.DataFrame, list[str]]:
    """Standardised rates per type from a logistic model of y on type dummies and logit(score)."""
    from anker.models.logistic import fit_logistic

    notes = []
    usable = [k for k, name in enumerate(names)
              if np.unique(y[types == k]).size == 2 and (types == k).sum() >= 5]
    skipped = [names[k] for k in range(len(names)) if k not in usable]
    if skipped:
        notes.append("no adjusted rate for " + ", ".join(skipped) + ": fewer than 5 decisions "
                     "or only one outcome value")
    out = pd.DataFrame(np.nan, index=names, columns=["adjusted_rate", "adjusted_ci_low",
                                                     "adjusted_ci_high", "difference",
                                                     "difference_ci_low", "difference_ci_high"])
    if len(usable) < 1:
        return out, notes
    keep = np.isin(types, usable)
    base = usable[0]
    x = special.logit(np.clip(score, 1e-6, 1 - 1e-6)) if ((score > 0) & (score < 1)).all() \
        else score
    dummies = [k for k in usable if k != base]
    X = np.column_stack([(types[keep] == k).astype(float) for k in dummies] + [x[keep]])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_logistic(X, y[keep])
    except (ValueError, np.linalg.LinAlgError) as exc:
        notes.append(f"the adjustment model could not be fitted ({exc})")
        return out, notes
    z = float(stats.norm.ppf(0.5 + level / 2))
    everyone = x[keep]
    rates, grads = {}, {}
    for k in usable:
        design = np.zeros((everyone.size, len(dummies)))
        if k != base:
            design[:, dummies.index(k)] = 1.0
        full = np.column_stack([np.ones(everyone.size), design, everyone])
        p = special.expit(full @ fit.coef)
        rates[k] = float(p.mean())
        grads[k] = (full * (p * (1 - p))[:, None]).mean(axis=0)
    for k in usable:
        se = float(np.sqrt(grads[k] @ fit.cov @ grads[k]))
        diff_grad = grads[k] - grads[base]
        diff = rates[k] - rates[base]
        diff_se = float(np.sqrt(max(diff_grad @ fit.cov @ diff_grad, 0.0)))
        out.loc[names[k]] = [rates[k], rates[k] - z * se, rates[k] + z * se, diff,
                             diff - z * diff_se, diff + z * diff_se]
    out.attrs["difference_to"] = names[base]
    return out, notes


def override_outcomes(log: Any, df: pd.DataFrame, *, outcome_col: str,
                      client_col: str = "client_id", score_col: str | None = None,
                      model: Any = None, level: float = 0.95) -> pd.DataFrame:
    """Later outcome per decision type, raw and adjusted for the profile score, with CIs.

    Parameters
    ----------
    log : DecisionLog or DataFrame
        The decision log (or ``log.decisions()``). A client with several
        decisions counts with the latest.
    df : DataFrame
        Client records with ``client_col`` and the later ``outcome_col`` (0/1).
    outcome_col : str
        E.g. ``"work_within_6m"``.
    client_col : str
        Column of ``df`` matching the log's ``client_id`` (compared as text).
    score_col : str, optional
        The profile score to adjust for: a column of ``df`` or a key of the
        logged ``scores``. Without it, the prediction of ``model``'s test for
        ``outcome_col`` (the labour-market test for ``work_within_6m``); with
        neither, only raw rates are given (and a note says so).
    model : AnkerModel, optional
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        Indexed by ``decision_type`` (the types present): ``n``,
        ``n_outcome``, ``observed_rate`` with ``observed_ci_low`` /
        ``_ci_high`` (Wilson), ``mean_score``, ``adjusted_rate`` with its
        interval, and ``difference`` (adjusted rate minus that of the advice
        followed) with its interval. ``attrs``: ``by_coach`` and
        ``by_office`` (share of advice overridden, Wilson intervals),
        ``notes`` (decisions left out, and why), ``score``, ``level``.

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=500, seed=1).data
    >>> log = anker.DecisionLog(":memory:")
    >>> for i, client in enumerate(df["client_id"].head(40)):
    ...     _ = log.record(client_id=client, advice="B", decision="A" if i % 4 == 0 else "B",
    ...                    reason="job offer" if i % 4 == 0 else None, coach_id=f"k{i % 3}")
    >>> table = anker.override_outcomes(log, df, outcome_col="work_within_6m")
    >>> list(table.index), int(table["n"].sum())
    (['advice followed', 'less support'], 40)
    >>> table.attrs["by_coach"]["n_decisions"].tolist()
    [14, 13, 13]
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    require_columns(df, [client_col, outcome_col], role="override outcomes")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    frame = _decisions(log)
    notes: list[str] = []
    if frame.empty:
        raise AnkerDataError("the decision log holds no decisions")
    order = frame["timestamp"] if "timestamp" in frame.columns else pd.Series(range(len(frame)))
    latest = frame.assign(_order=order.to_numpy()).sort_values("_order", kind="stable") \
        .drop_duplicates("client_id", keep="last")
    if (repeated := len(frame) - len(latest)):
        notes.append(f"{repeated} earlier decision(s) about a client with a later one are "
                     "left out (the latest counts)")
    keys = df[client_col].astype(str)
    if keys.duplicated().any():
        raise AnkerDataError(f"{client_col}: {int(keys.duplicated().sum())} duplicated client "
                             "id(s) in df; one row per client is needed", columns=[client_col])
    position = pd.Series(np.arange(len(df)), index=keys.to_numpy())
    latest = latest[latest["client_id"].astype(str).isin(position.index)].copy()
    if (unmatched := len(frame) - repeated - len(latest)):
        notes.append(f"{unmatched} decision(s) about clients not in df are left out")
    latest["_row"] = position.loc[latest["client_id"].astype(str)].to_numpy()
    outcome = pd.to_numeric(df[outcome_col].iloc[latest["_row"]], errors="coerce").to_numpy(float)
    known = np.isfinite(outcome)
    if (unknown := int((~known).sum())):
        notes.append(f"{unknown} decided client(s) without an observed {outcome_col} are left out")
    if not np.isin(outcome[known], (0, 1)).all():
        raise AnkerDataError(f"{outcome_col}: the outcome must be 0/1", columns=[outcome_col])
    joined = pd.concat([latest.reset_index(drop=True),
                        df.iloc[latest["_row"]].drop(columns=[c for c in latest.columns
                                                              if c in df.columns],
                                                     errors="ignore").reset_index(drop=True)],
                       axis=1)
    joined = joined[known].reset_index(drop=True)
    y = outcome[known]
    if len(y) == 0:
        raise AnkerDataError(f"no decided client has an observed {outcome_col}")
    kinds = joined["direction"].map(decision_type)
    names = [t for t in DECISION_TYPES if (kinds == t).any()]
    types = kinds.map({t: i for i, t in enumerate(names)}).to_numpy()
    n = np.bincount(types, minlength=len(names))
    k = np.bincount(types, weights=y, minlength=len(names)).astype(int)
    table = pd.DataFrame({"n": n, "n_outcome": k, "observed_rate": k / n}, index=names)
    table["observed_ci_low"], table["observed_ci_high"] = _wilson(k, n, level)
    score, source = _score_values(joined, df, score_col, model, outcome_col)
    if score is not None and not np.isfinite(score).all():
        notes.append(f"{int((~np.isfinite(score)).sum())} decided client(s) without a score: "
                     "no adjusted rates")
        score = None
    if score is None:
        notes.append("no profile score (give score_col or model): rates are not adjusted")
        table["mean_score"] = np.nan
        adjusted = pd.DataFrame(np.nan, index=names, columns=[
            "adjusted_rate", "adjusted_ci_low", "adjusted_ci_high", "difference",
            "difference_ci_low", "difference_ci_high"])
    else:
        table["mean_score"] = np.bincount(types, weights=score, minlength=len(names)) / n
        adjusted, more = _adjusted(y, types, score, names, level)
        notes += more
    table = table.join(adjusted)
    table.index.name = "decision_type"
    table.attrs.update({
        "outcome": outcome_col, "score": source, "level": level, "notes": notes,
        "by_coach": _shares(frame, "coach_id", level),
        "by_office": _shares(frame, "office", level) if "office" in frame.columns else None})
    return table
