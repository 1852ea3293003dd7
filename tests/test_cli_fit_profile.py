"""`anker fit` and `anker profile`: work on the shipped data, fail in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from .conftest import SHIPPED_DATA


def anker_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "anker.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "records.csv"
    pd.read_csv(SHIPPED_DATA).sample(4000, random_state=0).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_file(small_csv):
    out = small_csv.parent / "model.json"
    result = anker_cli("fit", small_csv, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "model written" in result.stdout
    return out


def test_fit_writes_json(model_file):
    data = json.loads(model_file.read_text())
    assert data["anker_model"] == "AnkerModel"


def test_profile_writes_one_row_per_client(small_csv, model_file, tmp_path):
    out = tmp_path / "profiles.csv"
    result = anker_cli("profile", small_csv, "--model", model_file, "--out", out)
    assert result.returncode == 0, result.stderr
    profiles = pd.read_csv(out)
    records = pd.read_csv(small_csv)
    assert len(profiles) == len(records)
    assert profiles["client_id"].tolist() == records["client_id"].tolist()
    assert set(profiles["route"]) <= {"A", "B"}


def one_line_error(result, *words):
    assert result.returncode != 0
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err


def test_fit_missing_file(tmp_path):
    one_line_error(anker_cli("fit", tmp_path / "nope.csv", "--out", tmp_path / "m.json"), "nope.csv")


def test_fit_missing_column(small_csv, tmp_path):
    bad = tmp_path / "bad.csv"
    pd.read_csv(small_csv).drop(columns=["tightness"]).to_csv(bad, index=False)
    one_line_error(anker_cli("fit", bad, "--out", tmp_path / "m.json"), "tightness")


def test_profile_missing_column(small_csv, model_file, tmp_path):
    bad = tmp_path / "bad.csv"
    pd.read_csv(small_csv).drop(columns=["age"]).to_csv(bad, index=False)
    one_line_error(anker_cli("profile", bad, "--model", model_file, "--out", tmp_path / "p.csv"),
                   "age")


@pytest.mark.parametrize("content", ["{not json", '{"anker_model": "Other"}', ""])
def test_profile_damaged_model(small_csv, tmp_path, content):
    model = tmp_path / "damaged.json"
    model.write_text(content)
    one_line_error(anker_cli("profile", small_csv, "--model", model, "--out", tmp_path / "p.csv"),
                   "damaged.json")


def test_profile_unknown_model_file(small_csv, tmp_path):
    one_line_error(anker_cli("profile", small_csv, "--model", tmp_path / "none.json",
                             "--out", tmp_path / "p.csv"), "none.json")


def test_not_a_csv(tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01\x02")
    result = anker_cli("fit", junk, "--out", tmp_path / "m.json")
    assert result.returncode != 0 and "Traceback" not in result.stderr
