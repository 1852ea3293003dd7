"""anker.client_letter: plain language, who decides, how to object; factors in words; HTML escaped."""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anker
from anker.errors import AnkerDataError
from anker.monitoring._letter_text import FEATURE_WORDS


@pytest.fixture(scope="module")
def fitted(small_population):
    df = small_population.data
    return anker.AnkerModel().fit(df), df


def test_dutch_letter_says_who_decides_and_how_to_object(fitted):
    model, df = fitted
    letters = anker.client_letter(model, df.head(5), language="nl")
    assert len(letters) == 5
    for letter in letters:
        text = letter.text
        assert "Uw re-integratiecoach beslist, niet het model" in text
        assert "bezwaar" in text and "zes weken" in text and "6:7" in text
        assert "opnieuw te bekijken" in text  # a review, not only an objection
        assert letter.language == "nl" and letter.subject.startswith("Uw WW-uitkering")


def test_english_letter_says_who_decides_and_how_to_object(fitted):
    model, df = fitted
    text = anker.client_letter(model, df.head(1), language="en")[0].text
    assert "Your reintegration coach decides, not the model" in text
    assert "objection (bezwaar) within six weeks" in text
    assert "review by a person" in text


def test_advice_and_factors_follow_the_profile_in_words(fitted):
    model, df = fitted
    clients = df.head(40)
    profiles = model.profile(clients)
    factors = model.labour_market.explain(clients, top=3)
    letters = anker.client_letter(model, clients, language="en")
    for (index, prof), letter in zip(profiles.iterrows(), letters, strict=True):
        text = letter.text
        if prof["route"] == "A":
            assert "look for work yourself" in text
        else:
            assert "reintegration coach supports you in person" in text
        assert ("reintegration programme, such as a course" in text) == (
            prof["trajectory_advice"] == "trajectory")
        for j in (1, 2, 3):
            words = FEATURE_WORDS["en"][str(factors.loc[index, f"factor_{j}"])]
            direction = "larger" if factors.loc[index, f"contribution_{j}"] >= 0 else "smaller"
            assert f"{words[0].upper() + words[1:]}: this makes your chance of work {direction}" \
                in text
        # words, not coefficients: no decimal numbers anywhere
        assert not re.search(r"\d[.,]\d", text)
        assert str(clients.loc[index, "client_id"]) in text


def test_html_escapes_everything(fitted):
    model, df = fitted
    odd = df.head(1).assign(client_id="<script>alert(1)</script>")
    letter = anker.client_letter(model, odd, contact="<b>UWV & co</b>", sender="A <coach>")[0]
    assert "<script>" not in letter.html and "&lt;script&gt;" in letter.html
    assert "&lt;b&gt;UWV &amp; co&lt;/b&gt;" in letter.html
    assert "UWV & co" in letter.text and "A <coach>" in letter.text
    assert letter.html.count("<article") == 1 and "<ul>" in letter.html


def test_protected_attributes_in_use_are_disclosed(small_population):
    df = small_population.data
    features = ["age", "education", "sex"]
    model = anker.AnkerModel(
        compliance=anker.ComplianceTest(features=features, allow_protected=True),
        labour_market=anker.LabourMarketTest(features=features, allow_protected=True),
        reintegration=anker.ReintegrationTest(features=features, allow_protected=True),
        benefit_duration=anker.BenefitDurationTest(features=features, allow_protected=True))
    with pytest.warns(UserWarning):
        model.fit(df)
    nl = anker.client_letter(model, df.head(1))[0].text
    assert "uw geslacht" in nl and "bewust besloten" in nl
    plain = anker.client_letter(anker.AnkerModel().fit(df), df.head(1), language="en")[0].text
    assert "Your sex and your origin are not used" in plain


def test_no_invented_contact_details(fitted):
    model, df = fitted
    text = anker.client_letter(model, df.head(1), language="en")[0].text
    assert "Discuss them with your coach" in text
    assert "@" not in text and "http" not in text
    named = anker.client_letter(model, df.head(1).assign(name="J. Jansen"), name_col="name",
                                contact="UWV, 088 - 898 92 94")[0].text
    assert "Beste J. Jansen," in named and "Neem contact op met UWV, 088 - 898 92 94" in named


def test_bad_input(fitted):
    model, df = fitted
    with pytest.raises(ValueError, match="language"):
        anker.client_letter(model, df.head(1), language="de")
    with pytest.raises(AnkerDataError, match="no clients"):
        anker.client_letter(model, df.head(0))
    with pytest.raises(AnkerDataError, match="naam"):
        anker.client_letter(model, df.head(1), name_col="naam")
    with pytest.raises(TypeError, match="fitted AnkerModel"):
        anker.client_letter(anker.AnkerModel(), df.head(1))


def test_cli_letter(fitted, tmp_path):
    model, df = fitted
    model.save(tmp_path / "m.json")
    df.head(4).to_csv(tmp_path / "clients.csv", index=False)
    folder = tmp_path / "letters"
    folder.mkdir()
    run = subprocess.run([sys.executable, "-m", "anker.cli", "letter", str(tmp_path / "clients.csv"),
                          "--model", str(tmp_path / "m.json"), "--out", str(folder),
                          "--format", "html", "--language", "en"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    files = sorted(folder.glob("*.html"))
    assert len(files) == 4 and "decides, not the model" in files[0].read_text()
    bad = subprocess.run([sys.executable, "-m", "anker.cli", "letter", str(tmp_path / "clients.csv"),
                          "--model", str(tmp_path / "m.json"), "--out", str(tmp_path / "none" / "x")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


@settings(max_examples=20, deadline=None)
@given(client_id=st.text(min_size=1, max_size=30), contact=st.text(max_size=30))
def test_any_client_id_and_contact_are_escaped_in_html(fitted, client_id, contact):
    model, df = fitted
    letter = anker.client_letter(model, df.head(1).assign(client_id=client_id),
                                 contact=contact or None, language="en")[0]
    assert html.escape(client_id) in letter.html
    body = letter.html.replace("<article", "").replace("</article>", "")
    for tag in ("<script", "<img", "<iframe"):
        assert tag not in body.replace(html.escape(client_id), "")
