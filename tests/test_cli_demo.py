"""`anker demo` and `anker report`: the main job end to end, and one-line errors.

The real `make demo` runs on the shipped 2 x 20,000 spells; here the hidden
``--n-per-cohort`` option simulates a smaller data set with the same seed.
"""

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


def one_line_error(result, *words):
    assert result.returncode == 2, result.stdout + result.stderr
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = anker_cli("demo", "--out", out, "--n-per-cohort", 1_500, "--n-boot", 50)
    assert result.returncode == 0, result.stderr
    return out, result


def test_demo_writes_every_result(demo):
    out, _ = demo
    for name in ("model.json", "profiles.csv", "comparison.csv", "report.html",
                 "ww_spells_1500_per_cohort.csv"):
        assert (out / name).is_file(), name
    assert json.loads((out / "model.json").read_text())["anker_model"] == "AnkerModel"
    data = pd.read_csv(out / "ww_spells_1500_per_cohort.csv")
    profiles = pd.read_csv(out / "profiles.csv")
    assert profiles["client_id"].tolist() == data["client_id"].tolist()
    comparison = pd.read_csv(out / "comparison.csv", index_col=0)
    assert {"naive", "gcomp", "iptw", "aipw"} <= set(comparison.index)


def test_demo_progress_and_report_location(demo):
    out, result = demo
    lines = result.stdout.strip().splitlines()
    steps = [line for line in lines if line.startswith("[")]
    assert steps[0].startswith("[1/9] data") and steps[-1].startswith("[9/9] report")
    assert lines[-1].startswith("done in") and str(out / "report.html") in lines[-1]
    assert "Traceback" not in result.stderr


def test_demo_report_shows_the_truth_and_the_estimate(demo):
    out, _ = demo
    html = (out / "report.html").read_text(encoding="utf-8")
    estimate = pd.read_csv(out / "comparison.csv", index_col=0).loc["aipw", "estimate"]
    assert f"{estimate:+.2f}" in html
    assert "True effect (synthetic data)" in html
    assert "anker demo --out" in html  # the command, in the footer


def test_demo_refuses_a_file_as_out(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    one_line_error(anker_cli("demo", "--out", target, "--n-per-cohort", 200), "--out", "taken")


def test_demo_refuses_a_folder_under_a_file(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    one_line_error(anker_cli("demo", "--out", target / "sub", "--n-per-cohort", 200), "--out")


def test_demo_bad_option():
    one_line_error(anker_cli("demo", "--n-boot", "many"), "--n-boot")


# ---- anker report ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def records(demo):
    out, _ = demo
    return out / "ww_spells_1500_per_cohort.csv"


def test_report_with_a_saved_model(demo, records, tmp_path):
    out, _ = demo
    target = tmp_path / "report.html"
    result = anker_cli("report", records, "--out", target, "--model", out / "model.json",
                       "--n-boot", 40, "--method", "gcomp", "--horizon", 300)
    assert result.returncode == 0, result.stderr
    assert f"report written to {target}" in result.stdout
    html = target.read_text(encoding="utf-8")
    assert "model.json" in html and "Reported method: <b>gcomp</b>" in html
    assert "up to 300 calendar days" in html


def test_report_missing_data(tmp_path):
    one_line_error(anker_cli("report", tmp_path / "nope.csv", "--out", tmp_path / "r.html"),
                   "nope.csv")


def test_report_out_in_missing_folder(records, tmp_path):
    one_line_error(anker_cli("report", records, "--out", tmp_path / "no" / "r.html"), "--out")


def test_report_damaged_model(records, tmp_path):
    model = tmp_path / "model.json"
    model.write_text("{not json")
    one_line_error(anker_cli("report", records, "--out", tmp_path / "r.html", "--model", model),
                   "model.json")


def test_report_missing_column(records, tmp_path):
    bad = tmp_path / "bad.csv"
    pd.read_csv(records).drop(columns=["tightness"]).to_csv(bad, index=False)
    one_line_error(anker_cli("report", bad, "--out", tmp_path / "r.html"), "tightness")


@pytest.mark.parametrize("option, value", [("--method", "magic"), ("--horizon", "-3"),
                                           ("--n-boot", "-1")])
def test_report_bad_options(records, tmp_path, option, value):
    one_line_error(anker_cli("report", records, "--out", tmp_path / "r.html", option, value),
                   option)


def test_demo_uses_the_shipped_file():
    """The default data is the shipped file (only checks where it is looked for)."""
    from anker.cli.demo import shipped_data_path

    assert shipped_data_path() == SHIPPED_DATA.resolve()


@pytest.mark.parametrize("command", ["demo", "report"])
def test_help(command):
    result = anker_cli(command, "--help")
    assert result.returncode == 0 and "--n-boot" in result.stdout
    assert "--n-per-cohort" not in result.stdout  # a hidden option for tests
