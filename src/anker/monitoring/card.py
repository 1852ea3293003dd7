"""``anker.model_card``: the entry for the Dutch Algorithm Register (algoritmeregister), filled in from what anker knows.

The fields are those of the register's publication standard 0.3.1 (the
only 0.3.x version the register's own schema configuration holds), under
the standard's own names (``source_data``, ``type``,
``performance_standard``, ``contact_email``, ``dpia``, ...), so that
``fields`` can be uploaded as it is. What the library can know it fills from
the model, the data, the fairness audits, the decision log and a monitoring
run: the measured discrimination and calibration (overall and per group),
the override rates, the monitoring. What only the organisation can know
(its name, its lawful basis, its contact address, its proportionality
assessment, whether a DPIA or human-rights assessment was done) is marked
``TO_BE_FILLED`` unless given in ``organisation``: never invented. Optional
links and identifiers (``website``, ``uuid``, which the register assigns,
...) stay empty unless given.

Three texts the standard has no field for are kept apart under
``extensions``: ``risk_category`` (the EU AI Act class), ``data_bias`` and
``dpia_description`` (how protected attributes and their proxies are
handled: the policy and the proxy check).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from anker.monitoring import _card_text as text

__all__ = ["ModelCard", "model_card", "TO_BE_FILLED", "STANDARD_VERSION", "FIELDS",
           "ORGANISATION_FIELDS", "OPTIONAL_FIELDS", "REGISTER_FIELDS", "EXTENSIONS", "RENAMED"]

STANDARD_VERSION = "0.3.1"
TO_BE_FILLED = "TO BE FILLED IN BY THE ORGANISATION"
# filled by anker
FIELDS = ("name", "description_short", "type", "goal", "impact", "risks", "description",
          "source_data", "methods_and_models", "performance_standard", "monitoring",
          "human_intervention", "objection_procedure", "revision_date", "standard_version",
          "lang")
# only the organisation knows these: marked until given
ORGANISATION_FIELDS = ("organization", "department", "category", "status", "proportionality",
                       "lawful_basis", "iama", "dpia", "contact_email", "area")
# links and identifiers the standard leaves optional: empty until given
OPTIONAL_FIELDS = ("website", "provider", "application_url", "process_index_url",
                   "iama_description", "url", "uuid", "source_id", "tags", "publiccode")
REGISTER_FIELDS = FIELDS + ORGANISATION_FIELDS + OPTIONAL_FIELDS
EXTENSIONS = ("risk_category", "data_bias", "dpia_description")
# names this module used before it followed the standard's own (anker 0.x): still accepted
RENAMED = {"algorithm_type": "type", "training_data": "source_data",
           "performance": "performance_standard", "contacts": "contact_email", "DPIA": "dpia",
           "DPIA_description": "dpia_description"}
_PERMITTED = {"type": ("Regelgebaseerd", "Zelflerend"),
              "status": ("In ontwikkeling", "In gebruik", "Buiten gebruik"),
              "iama": ("Ja", "Nee"), "dpia": ("Ja", "Nee")}


@dataclass(frozen=True)
class ModelCard:
    """A register entry: ``fields`` (the standard's, name -> text), ``extensions`` (anker's
    texts the standard has no field for), their ``sources`` and the numbers behind them.

    ``card[name]`` looks a text up in either, also under a name of ``RENAMED``.
    """

    fields: dict[str, str]
    sources: dict[str, str]
    measured: dict[str, Any] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        key = RENAMED.get(name, name)
        if key in self.fields:
            return self.fields[key]
        if key in self.extensions:
            return self.extensions[key]
        raise KeyError(f"{name!r}: not a field of the register entry (fields: "
                       f"{list(self.fields)}; extensions: {list(self.extensions)})")

    @property
    def to_be_filled(self) -> list[str]:
        """Fields the organisation still has to fill in."""
        return [k for k, v in self.fields.items() if v == TO_BE_FILLED]

    def to_json(self, *, indent: int | None = 1) -> str:
        """The entry as JSON: the standard's fields, anker's extensions, what is left to fill
        in, and the measured numbers."""
        return json.dumps({"standard_version": STANDARD_VERSION, "fields": self.fields,
                           "extensions": self.extensions, "sources": self.sources,
                           "to_be_filled": self.to_be_filled, "measured": self.measured},
                          indent=indent, ensure_ascii=False, default=_plain)

    def to_markdown(self) -> str:
        """The entry as Markdown, one section per field; open fields stand out in bold,
        empty optional ones are left out."""
        lines = [f"# {self.fields['name']}", "",
                 f"Algorithm Register entry (publication standard {STANDARD_VERSION}), "
                 f"revise before {self.fields['revision_date']}.", ""]
        if self.to_be_filled:
            lines += ["**To be filled in by the organisation:** "
                      + ", ".join(f"`{k}`" for k in self.to_be_filled), ""]
        for key, value in self.fields.items():
            if key == "name" or not value:
                continue
            shown = f"**{value}**" if value == TO_BE_FILLED else value
            lines += [f"## {key}", "", shown, f"*Source: {self.sources.get(key, '')}*", ""]
        if self.extensions:
            lines += ["# Beyond the standard", "",
                      f"Texts the publication standard {STANDARD_VERSION} has no field for.", ""]
            for key, value in self.extensions.items():
                lines += [f"## {key}", "", value, f"*Source: {self.sources.get(key, '')}*", ""]
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
        Values for the organisational fields (``organization``, ``lawful_basis``,
        ``contact_email``, ``proportionality``, ``dpia``, ...) and the optional
        links; those of ``ORGANISATION_FIELDS`` not given are marked
        ``TO_BE_FILLED``. The older names of ``RENAMED`` are accepted.
    name : str, optional
        The entry's name.
    revision_date : str or date, optional
        The date before which the entry is to be revised (YYYY-MM-DD or
        DD-MM-YYYY; written DD-MM-YYYY as the standard asks; default a year
        from today, UTC).

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
    >>> "AUC" in card.fields["performance_standard"], card.fields["standard_version"]
    (True, '0.3.1')
    >>> card["DPIA_description"] == card.extensions["dpia_description"]  # an older name
    True
    """
    if not hasattr(model, "tests") or not getattr(model, "is_fitted", False):
        raise TypeError("model must be a fitted AnkerModel")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    organisation = {RENAMED.get(k, k): v for k, v in dict(organisation or {}).items()}
    allowed = ORGANISATION_FIELDS + OPTIONAL_FIELDS
    unknown = set(organisation) - set(allowed)
    if unknown:
        raise ValueError(f"organisation: unknown field(s) {sorted(unknown)}; the organisational "
                         f"fields of publication standard {STANDARD_VERSION} are "
                         f"{list(allowed)}")
    for key, permitted in _PERMITTED.items():
        if key in organisation and organisation[key] not in permitted:
            raise ValueError(f"organisation: {key} must be one of {list(permitted)}, got "
                             f"{organisation[key]!r}")
    revision_date = _register_date(revision_date)
    performance, perf_notes = _performance(model, data)
    audits = _audits(model, data, audit)
    proxies = _proxies(model, data)
    overrides = _decisions(decisions)
    fields = {
        "name": name,
        "description_short": text.DESCRIPTION_SHORT,
        "type": "Zelflerend",  # the standard's word for a model fitted on data
        "goal": text.GOAL,
        "impact": text.IMPACT,
        "risks": text.risks(model, proxies, monitoring),
        "description": text.DESCRIPTION,
        "source_data": text.training_data(model, data),
        "methods_and_models": text.methods(model),
        "performance_standard": text.performance(performance, audits, data, perf_notes),
        "monitoring": text.monitoring(model, monitoring),
        "human_intervention": text.human_intervention(overrides),
        "objection_procedure": text.OBJECTION,
        "revision_date": revision_date,
        "standard_version": STANDARD_VERSION,
        "lang": "eng",  # ISO 639-3: the texts are English
    }
    extensions = {"risk_category": text.RISK_CATEGORY,
                  "data_bias": text.data_bias(data, audits),
                  "dpia_description": text.dpia(model, proxies)}
    sources = {k: "anker (model description)" for k in [*fields, *extensions]}
    sources.update(source_data="model and data", data_bias="data and fairness audit",
                   dpia_description="model policy and proxy check on the data",
                   performance_standard="measured on the data given",
                   risks="model, data, monitoring", type="model",
                   monitoring="model file and monitoring run", methods_and_models="model",
                   human_intervention="decision log", revision_date="given or a year from today",
                   name="given")
    for key in ORGANISATION_FIELDS:
        fields[key] = str(organisation[key]) if key in organisation else TO_BE_FILLED
        sources[key] = "organisation" if key in organisation else "unknown to anker"
    for key in OPTIONAL_FIELDS:
        fields[key] = str(organisation.get(key, ""))
        sources[key] = "organisation" if key in organisation else "optional, not given"
    measured = {"performance": performance, "proxy_check": proxies, "overrides": overrides,
                "audits": [{"test": a.attrs.get("test"), "group_col": a.attrs.get("group_col"),
                            "groups": _audit_rows(a)} for a in audits]}
    return ModelCard(fields=fields, sources=sources, measured=measured, extensions=extensions)


def _register_date(value: str | _dt.date | None) -> str:
    """The standard's DD-MM-YYYY; given as a date, ISO YYYY-MM-DD or DD-MM-YYYY (default:
    a year from today, UTC, the usual review cycle)."""
    if value is None:
        today = _dt.datetime.now(_dt.timezone.utc).date()
        value = today.replace(year=today.year + 1) if (today.month, today.day) != (2, 29) \
            else today + _dt.timedelta(days=365)
    if isinstance(value, _dt.date):
        return value.strftime("%d-%m-%Y")
    text_value = str(value).strip()
    for pattern, fmt in ((r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"), (r"\d{2}-\d{2}-\d{4}", "%d-%m-%Y")):
        if re.fullmatch(pattern, text_value):
            try:
                return _dt.datetime.strptime(text_value, fmt).strftime("%d-%m-%Y")
            except ValueError:
                break
    raise ValueError(f"revision_date: expected a date as YYYY-MM-DD or DD-MM-YYYY, got {value!r}")


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
