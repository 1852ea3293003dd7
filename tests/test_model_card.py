"""anker.model_card: every register field present, performance measured, unknowns marked."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import anker
from anker import diagnostics
from anker.monitoring.card import (
    EXTENSIONS,
    FIELDS,
    ORGANISATION_FIELDS,
    REGISTER_FIELDS,
    TO_BE_FILLED,
)


@pytest.fixture(scope="module")
def setting(small_population, tmp_path_factory):
    df = small_population.data
    model = anker.AnkerModel().fit(df)
    log = anker.DecisionLog(tmp_path_factory.mktemp("card") / "d.sqlite")
    for i, client in enumerate(df["client_id"].head(200)):
        over = i % 5 == 0
        log.record(client_id=client, advice="B", decision="A" if over else "B",
                   reason="job offer" if over else None, coach_id=f"k{i % 3}")
    return model, df, log


@pytest.fixture(scope="module")
def card(setting):
    model, df, log = setting
    return anker.model_card(model, data=df, decisions=log)


def test_every_field_is_filled_or_marked(card):
    for name in FIELDS:
        assert isinstance(card.fields[name], str) and card.fields[name].strip(), name
        assert card.fields[name] != TO_BE_FILLED, name
    for name in ("lawful_basis", "contact_email", "proportionality", "organization"):
        assert card.fields[name] == TO_BE_FILLED
        assert card.sources[name] == "unknown to anker"
    assert set(card.to_be_filled) == set(ORGANISATION_FIELDS)
    assert card.fields["standard_version"] == "0.3.1"
    for name in EXTENSIONS:
        assert card.extensions[name].strip() and name not in card.fields


# The field names of the Algorithm Register's publication standard 0.3.1, as the register's
# own schema configuration lists them (MinBZK/Algoritmeregister,
# backend/app/schemas/config/v0_3_1.json at commit 04b8e6fd3c78dae95997102cf731a358ff15b5bb;
# its standard_version permits "0.3.1" only, its revision_date is DD-MM-YYYY, its type and
# status are the enumerations checked below).
STANDARD_0_3_1 = {
    "name", "organization", "department", "description_short", "type", "category", "website",
    "status", "goal", "impact", "proportionality", "provider", "application_url",
    "process_index_url", "lawful_basis", "iama", "iama_description", "dpia",
    "objection_procedure", "url", "contact_email", "area", "lang", "standard_version", "uuid",
    "source_id", "revision_date", "tags", "description", "source_data", "methods_and_models",
    "publiccode", "monitoring", "human_intervention", "risks", "performance_standard"}


def test_the_fields_are_those_of_the_publication_standard(card):
    assert set(REGISTER_FIELDS) == STANDARD_0_3_1 and len(REGISTER_FIELDS) == 36
    assert set(card.fields) == STANDARD_0_3_1
    assert set(json.loads(card.to_json())["fields"]) == STANDARD_0_3_1
    assert card.fields["type"] in ("Regelgebaseerd", "Zelflerend")
    assert len(card.fields["description_short"]) < 150
    assert re.fullmatch(r"\d{2}-\d{2}-\d{4}", card.fields["revision_date"])
    # older names still reach the same texts
    assert card["performance"] == card.fields["performance_standard"]
    assert card["DPIA_description"] == card.extensions["dpia_description"]


def test_performance_is_measured_on_the_data(setting, card):
    model, df, _ = setting
    amt = model.labour_market
    measured = card.measured["performance"]["labour_market"]
    expected = diagnostics.auc(df["work_within_6m"], amt.predict_proba(df)).estimate
    assert measured["discrimination"] == pytest.approx(expected)
    assert f"AUC {expected:.3f}" in card.fields["performance_standard"]
    c = diagnostics.concordance_index(df["duration_days"], df["exited"],
                                      model.benefit_duration.risk_score(df))
    assert f"C-index {c:.3f}" in card.fields["performance_standard"]
    # per group: the audits of both protected attributes, with calibration
    assert "per sex" in card.fields["performance_standard"]
    assert "per migration_background" in card.fields["performance_standard"]
    assert "cal. slope" in card.fields["performance_standard"]
    groups = {g["group"] for a in card.measured["audits"] for g in a["groups"]}
    assert {"male", "female", "none", "non_western"} <= groups


def test_human_intervention_reports_the_override_rate(card):
    assert "40 of 200 decisions overrode the advice (20.0 %" in card.fields["human_intervention"]
    assert card.measured["overrides"]["n_coaches"] == 3


def test_policy_and_proxy_check_in_the_dpia_description(card, small_population):
    text = card.extensions["dpia_description"]
    assert "uses none of them" in text and "Proxy check for migration_background" in text
    assert "out-of-fold AUC" in text


def test_organisation_values_are_used_never_invented(setting):
    model, df, _ = setting
    card = anker.model_card(model, organisation={"lawful_basis": "Werkloosheidswet, art. 30a",
                                                 "DPIA": "Ja", "website": "https://x.example"},
                            revision_date="2026-12-01")
    assert card.fields["lawful_basis"] == "Werkloosheidswet, art. 30a"
    assert card.fields["dpia"] == "Ja" and card.sources["dpia"] == "organisation"
    assert card.fields["website"] == "https://x.example" and card.fields["uuid"] == ""
    assert card.fields["contact_email"] == TO_BE_FILLED
    assert card.fields["revision_date"] == "01-12-2026"
    assert card.fields["performance_standard"].startswith("Not measured")
    assert "No decision log" in card.fields["human_intervention"]
    with pytest.raises(ValueError, match="unknown field"):
        anker.model_card(model, organisation={"salary": "x"})
    with pytest.raises(ValueError, match="status must be one of"):
        anker.model_card(model, organisation={"status": "live"})
    with pytest.raises(ValueError, match="revision_date"):
        anker.model_card(model, revision_date="1 Dec 2026")
    with pytest.raises(TypeError):
        anker.model_card("model.json")


def test_exports(card):
    data = json.loads(card.to_json())
    assert set(FIELDS) <= set(data["fields"]) and data["to_be_filled"] == card.to_be_filled
    md = card.to_markdown()
    assert md.startswith("# ANKER") and f"**{TO_BE_FILLED}**" in md
    assert all(f"## {name}" in md for name in FIELDS if name != "name")
    assert all(f"## {name}" in md for name in EXTENSIONS) and "## uuid" not in md


def test_monitoring_result_is_summarised(setting):
    model, df, _ = setting
    mon = anker.monitor(model, df)
    card = anker.model_card(model, monitoring=mon)
    assert "Last run on" in card.fields["monitoring"]


def test_cli_card(setting, tmp_path):
    model, _, _ = setting
    model.save(tmp_path / "m.json")
    (tmp_path / "org.json").write_text(json.dumps({"contact_email": "algoritmes@example.org"}))
    out = tmp_path / "card.json"
    run = subprocess.run([sys.executable, "-m", "anker.cli", "card", "--model",
                          str(tmp_path / "m.json"), "--organisation", str(tmp_path / "org.json"),
                          "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text())
    assert data["fields"]["contact_email"] == "algoritmes@example.org"
    assert "lawful_basis" in data["to_be_filled"]
    (tmp_path / "org.txt").write_text("lawful_basis = WW")
    bad = subprocess.run([sys.executable, "-m", "anker.cli", "card", "--model",
                          str(tmp_path / "m.json"), "--organisation", str(tmp_path / "org.txt"),
                          "--out", str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and "not JSON" in bad.stderr
