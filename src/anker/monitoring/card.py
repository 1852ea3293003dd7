"""``anker.model_card``: the entry for the Dutch Algorithm Register (algoritmeregister), filled in from what anker knows.

The fields follow the register's publication standard (schema 0.3.x).
What the library can know it fills from the model, the data, the fairness
audits, the decision log and a monitoring run: the measured discrimination
and calibration (overall and per group), the protected-attribute policy and
the proxy check, the override rates. What only the organisation can know
(its lawful basis, its contacts, its proportionality assessment, who is
competent) is marked ``TO_BE_FILLED`` unless given in ``organisation``:
never invented.
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from anker.monitoring import _card_text as text

__all__ = ["ModelCard", "model_card", "TO_BE_FILLED", "STANDARD_VERSION", "FIELDS",
           "ORGANISATION_FIELDS"]

STANDARD_VERSION = "0.3.0"
TO_BE_FILLED = "TO BE FILLED IN BY THE ORGANISATION"
FIELDS = ("name", "goal", "impact", "risks", "risk_category", "training_data", "data_bias",
          "DPIA_description", "description", "algorithm_type", "methods_and_models",
          "performance", "monitoring", "human_intervention", "objection_procedure",
          "revision_date", "standard_version")
ORGANISATION_FIELDS = ("organization", "lawful_basis", "contacts", "proportionality",
                       "competent_authority", "decision_making_process", "DPIA", "status")


@dataclass(frozen=True)
class ModelCard:
    """A register entry: ``fields`` (name -> text), their ``sources`` and the numbers behind them."""

    fields: dict[str, str]
    sources: dict[str, str]
    measured: dict[str, Any] = field(default_factory=dict)

    @property
    def to_be_filled(self) -> list[str]:
        """Fields the organisation still has to fill in."""
        return [k for k, v in self.fields.items() if v == TO_BE_FILLED]

    def to_json(self, *, indent: int | None = 1) -> str:
        """The entry as JSON: the fields, what is left to fill in, and the measured numbers."""
        return json.dumps({"standard_version": STANDARD_VERSION, "fields": self.fields,
                           "sources": self.sources, "to_be_filled": self.to_be_filled,
                           "measured": self.measured}, indent=indent, ensure_ascii=False,
                          default=_plain)

    def to_markdown(self) -> str:
        """The entry as Markdown, one section per field; open fields stand out in bold."""
        lines = [f"# {self.fields['name']}", "",
                 f"Algorithm Register entry (publication standard {STANDARD_VERSION}), "
                 f"revised {self.fields['revision_date']}.", ""]
        if self.to_be_filled:
            lines += ["**To be filled in by the organisation:** "
                      + ", ".join(f"`{k}`" for k in self.to_be_filled), ""]
        for key, value in self.fields.items():
            if key == "name":
                continue
            shown = f"**{value}**" if value == TO_BE_FILLED else value
            lines += [f"## {key}", "", shown, f"*Source: {self.sources.get(key, '')}*", ""]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"ModelCard({self.fields['name']!r}: {len(self.fields)} fields, "
                f"{len(self.to_be_filled)} to be filled in by the organisation)")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="split", default_handler=str))
    return str(value)


def _performance(model: Any, data: pd.DataFrame | None) -> tuple[dict, list[str]]:
    """AUC / C and calibration per test on ``data`` (when it holds the outcomes)."""
    from anker.monitoring.performance import check_tests

    if data is None:
        return {}, []
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = check_tests(model, data, {}, level=0.95, seed=0, notes=notes)
    if table is None:
        return {}, notes
    return {name: {k: row[k] for k in ("kind", "outcome", "n", "metric", "discrimination",
                                       "discrimination_ci_low", "discrimination_ci_high",
                                       "calibration_in_the_large", "calibration_slope",
                                       "calibration_slope_ci_low", "calibration_slope_ci_high")}
                 for name, row in table.iterrows()}, notes


def _audits(model: Any, data: pd.DataFrame | None, audit: Any) -> list[pd.DataFrame]:
    if audit is not None:
        return [audit] if isinstance(audit, pd.DataFrame) else list(audit)
    if data is None:
        return []
    from anker.fairness import audit_fairness
    from anker.schema import PROTECTED

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("compliance", "labour_market"):
            test = model.tests.get(name)
            for col in PROTECTED:
                if test is not None and col in data.columns and test.outcome_col in data.columns:
                    out.append(audit_fairness(test, data, col, min_group_size=50))
    return out


def _proxies(model: Any, data: pd.DataFrame | None) -> dict[str, Any]:
    from anker.fairness import proxy_check
    from anker.schema import PROTECTED

    if data is None:
        return {}
    features = list(dict.fromkeys(f for t in model.tests.values() for f in t.features
                                  if f not in PROTECTED and f in data.columns))
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for col in PROTECTED:
            if col in data.columns and features:
                table = proxy_check(data, col, features, top=3)
                out[col] = {"auc_all_features": float(table.attrs["auc_all_features"]),
                            "strongest": {f: float(table.loc[f, "auc"]) for f in table.index
                                          if f != "(all features)"}}
    return out


def _decisions(decisions: Any) -> dict[str, Any] | None:
    if decisions is None:
        return None
    frame = decisions if isinstance(decisions, pd.DataFrame) else decisions.decisions()
    if frame.empty:
        return {"n": 0}
    from statsmodels.stats.proportion import proportion_confint

    over = frame["direction"] != "none"
    low, high = proportion_confint(int(over.sum()), len(frame), method="wilson")
    return {"n": int(len(frame)), "n_overrides": int(over.sum()),
            "override_share": float(over.mean()), "ci": (float(low), float(high)),
            "by_direction": frame.loc[over, "direction"].value_counts().to_dict(),
            "n_coaches": int(frame["coach_id"].nunique()),
            "n_offices": int(frame["office"].nunique()) if "office" in frame.columns else 0}


def model_card(model: Any, *, data: pd.DataFrame | None = None, audit: Any = None,
               decisions: Any = None, monitoring: Any = None,
               organisation: dict[str, str] | None = None,
               name: str = "ANKER: profiling of people on unemployment benefit (WW)",
               revision_date: str | None = None) -> ModelCard:
    """Fill the Algorithm Register fields from the model and what was measured.

    Parameters
    ----------
    model : fitted AnkerModel
    data : DataFrame, optional
        Records with outcomes: the performance is measured on them (on the
        fitting data these are apparent values; held-out data are better),
        the data description, the group shares and the proxy check come from
        them.
    audit : DataFrame or list of DataFrame, optional
        :func:`anker.audit_fairness` results; by default the compliance and
        labour-market tests are audited per protected attribute in ``data``
        (groups under 50 suppressed).
    decisions : DecisionLog or DataFrame, optional
        The override rates for ``human_intervention``.
    monitoring : Monitoring, optional
        A :func:`anker.monitor` result, summarised under ``monitoring``.
    organisation : dict, optional
        Values for the organisational fields (``lawful_basis``, ``contacts``,
        ``proportionality``, ...); those not given are marked ``TO_BE_FILLED``.
    name, revision_date : str, optional
        The entry's name and revision date (ISO; default today, UTC).

    Returns
    -------
    ModelCard

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=1_500, seed=2).data
    >>> card = anker.model_card(anker.AnkerModel().fit(df), data=df)
    >>> card.fields["lawful_basis"] == anker.monitoring.card.TO_BE_FILLED
    True
    >>> "AUC" in card.fields["performance"], card.fields["standard_version"]
    (True, '0.3.0')
    """
    if not hasattr(model, "tests") or not getattr(model, "is_fitted", False):
        raise TypeError("model must be a fitted AnkerModel")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    organisation = dict(organisation or {})
    unknown = set(organisation) - set(ORGANISATION_FIELDS)
    if unknown:
        raise ValueError(f"organisation: unknown field(s) {sorted(unknown)}; the organisational "
                         f"fields are {list(ORGANISATION_FIELDS)}")
    revision_date = revision_date or _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    performance, perf_notes = _performance(model, data)
    audits = _audits(model, data, audit)
    proxies = _proxies(model, data)
    overrides = _decisions(decisions)
    fields = {
        "name": name,
        "goal": text.GOAL,
        "impact": text.IMPACT,
        "risks": text.risks(model, proxies, monitoring),
        "risk_category": text.RISK_CATEGORY,
        "training_data": text.training_data(model, data),
        "data_bias": text.data_bias(data, audits),
        "DPIA_description": text.dpia(model, proxies),
        "description": text.DESCRIPTION,
        "algorithm_type": text.ALGORITHM_TYPE,
        "methods_and_models": text.methods(model),
        "performance": text.performance(performance, audits, data, perf_notes),
        "monitoring": text.monitoring(model, monitoring),
        "human_intervention": text.human_intervention(overrides),
        "objection_procedure": text.OBJECTION,
        "revision_date": revision_date,
        "standard_version": STANDARD_VERSION,
    }
    sources = {k: "anker (model description)" for k in fields}
    sources.update(training_data="model and data", data_bias="data and fairness audit",
                   DPIA_description="model policy and proxy check on the data",
                   performance="measured on the data given", risks="model, data, monitoring",
                   monitoring="model file and monitoring run", methods_and_models="model",
                   human_intervention="decision log", revision_date="given or today",
                   name="given")
    for key in ORGANISATION_FIELDS:
        fields[key] = str(organisation[key]) if key in organisation else TO_BE_FILLED
        sources[key] = "organisation" if key in organisation else "unknown to anker"
    measured = {"performance": performance, "proxy_check": proxies, "overrides": overrides,
                "audits": [{"test": a.attrs.get("test"), "group_col": a.attrs.get("group_col"),
                            "groups": _audit_rows(a)} for a in audits]}
    return ModelCard(fields=fields, sources=sources, measured=measured)


def _audit_rows(audit: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [c for c in ("n", "auc", "calibration_intercept", "calibration_slope", "fpr_ratio",
                        "fnr_ratio", "suppressed") if c in audit.columns]
    rows = []
    for group, row in audit[cols].iterrows():
        label = " & ".join(map(str, group)) if isinstance(group, tuple) else str(group)
        rows.append({"group": label, **{c: (None if pd.isna(row[c]) else _plain(row[c])
                                           if not isinstance(row[c], bool | np.bool_)
                                           else bool(row[c])) for c in cols}})
    return rows
