"""anker.model_card: every register field present, performance measured, unknowns marked."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import anker
from anker import diagnostics
from anker.monitoring.card import FIELDS, ORGANISATION_FIELDS, TO_BE_FILLED


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
    for name in ("lawful_basis", "contacts", "proportionality"):
        assert card.fields[name] == TO_BE_FILLED
        assert card.sources[name] == "unknown to anker"
    assert set(card.to_be_filled) == set(ORGANISATION_FIELDS)
    assert card.fields["standard_version"].startswith("0.3")


def test_performance_is_measured_on_the_data(setting, card):
    model, df, _ = setting
    amt = model.labour_market
    measured = card.measured["performance"]["labour_market"]
    expected = diagnostics.auc(df["work_within_6m"], amt.predict_proba(df)).estimate
    assert measured["discrimination"] == pytest.approx(expected)
    assert f"AUC {expected:.3f}" in card.fields["performance"]
    c = diagnostics.concordance_index(df["duration_days"], df["exited"],
                                      model.benefit_duration.risk_score(df))
    assert f"C-index {c:.3f}" in card.fields["performance"]
    # per group: the audits of both protected attributes, with calibration
    assert "per sex" in card.fields["performance"]
    assert "per migration_background" in card.fields["performance"]
    assert "cal. slope" in card.fields["performance"]
    groups = {g["group"] for a in card.measured["audits"] for g in a["groups"]}
    assert {"male", "female", "none", "non_western"} <= groups


def test_human_intervention_reports_the_override_rate(card):
    assert "40 of 200 decisions overrode the advice (20.0 %" in card.fields["human_intervention"]
    assert card.measured["overrides"]["n_coaches"] == 3


def test_policy_and_proxy_check_in_the_dpia_description(card, small_population):
    text = card.fields["DPIA_description"]
    assert "uses none of them" in text and "Proxy check for migration_background" in text
    assert "out-of-fold AUC" in text


def test_organisation_values_are_used_never_invented(setting):
    model, df, _ = setting
    card = anker.model_card(model, organisation={"lawful_basis": "Werkloosheidswet, art. 30a"},
                            revision_date="2026-12-01")
    assert card.fields["lawful_basis"] == "Werkloosheidswet, art. 30a"
    assert card.fields["contacts"] == TO_BE_FILLED
    assert card.fields["revision_date"] == "2026-12-01"
    assert card.fields["performance"].startswith("Not measured")
    assert "No decision log" in card.fields["human_intervention"]
    with pytest.raises(ValueError, match="unknown field"):
        anker.model_card(model, organisation={"salary": "x"})
    with pytest.raises(TypeError):
        anker.model_card("model.json")


def test_exports(card):
    data = json.loads(card.to_json())
    assert set(FIELDS) <= set(data["fields"]) and data["to_be_filled"] == card.to_be_filled
    md = card.to_markdown()
    assert md.startswith("# ANKER") and f"**{TO_BE_FILLED}**" in md
    assert all(f"## {name}" in md for name in FIELDS if name != "name")


def test_monitoring_result_is_summarised(setting):
    model, df, _ = setting
    mon = anker.monitor(model, df)
    card = anker.model_card(model, monitoring=mon)
    assert "Last run on" in card.fields["monitoring"]


def test_cli_card(setting, tmp_path):
    model, _, _ = setting
    model.save(tmp_path / "m.json")
    (tmp_path / "org.json").write_text(json.dumps({"contacts": "algoritmes@example.org"}))
    out = tmp_path / "card.json"
    run = subprocess.run([sys.executable, "-m", "anker.cli", "card", "--model",
                          str(tmp_path / "m.json"), "--organisation", str(tmp_path / "org.json"),
                          "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text())
    assert data["fields"]["contacts"] == "algoritmes@example.org"
    assert "lawful_basis" in data["to_be_filled"]
    (tmp_path / "org.txt").write_text("lawful_basis = WW")
    bad = subprocess.run([sys.executable, "-m", "anker.cli", "card", "--model",
                          str(tmp_path / "m.json"), "--organisation", str(tmp_path / "org.txt"),
                          "--out", str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and "not JSON" in bad.stderr
