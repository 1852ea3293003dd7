"""The command line on records the library has never seen: Rossi's recidivism data (shipped
with lifelines, tests/data/rossi.csv) as spells in two-week periods with its own column names."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from anker.cli import main


@pytest.fixture(scope="module")
def own_csv(tmp_path_factory):
    rossi = pd.read_csv("tests/data/rossi.csv")
    # two-week periods (1..26), the data's own names; 'aid' is a 0/1 cohort column
    own = pd.DataFrame({"period": np.ceil(rossi["week"] / 2).astype(int),
                        "arrested": rossi["arrest"], "aid": rossi["fin"], "age": rossi["age"],
                        "prio": rossi["prio"], "race": rossi["race"]})
    path = tmp_path_factory.mktemp("own") / "own.csv"
    own.to_csv(path, index=False)
    return path


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anker.cli", *argv], capture_output=True,
                          text=True)


COLUMNS = ["--duration-col", "period", "--event-col", "arrested", "--time-unit", "14"]


@pytest.fixture(scope="module")
def model_file(own_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m.json"
    assert main(["fit", str(own_csv), "--out", str(out), "--tests", "benefit_duration",
                 "--features", "age,prio", *COLUMNS]) == 0
    return out


def test_fit_of_the_duration_test_alone(model_file, capsys):
    data = json.loads(model_file.read_text())
    assert list(data["tests"]) == ["benefit_duration"]
    config = data["tests"]["benefit_duration"]["config"]
    assert config["time_unit"] == 14 and config["duration_col"] == "period"


def test_profile_months_differ_and_nothing_is_clipped(own_csv, model_file, tmp_path):
    out = tmp_path / "p.csv"
    result = _run("profile", str(own_csv), "--model", str(model_file), "--out", str(out))
    assert result.returncode == 0, result.stderr
    prof = pd.read_csv(out)
    # 3 and 6 months are 6.5 and 13 periods, inside a follow-up of 26 periods
    assert (prof["p_on_benefit_3m"] > prof["p_on_benefit_6m"]).all()
    # 12 months are 26.07 periods, just past it: NaN and said, in one line, with the flag
    assert prof["p_on_benefit_12m"].isna().all()
    lines = result.stderr.strip().splitlines()
    assert lines == [line for line in lines if line.startswith("anker: warning: ")]
    assert any("p_on_benefit_12m (26.07 periods of 14 days)" in line and "--extrapolate" in line
               for line in lines)
    assert "not assessed: compliance, labour_market, reintegration" in result.stdout
    result = _run("profile", str(own_csv), "--model", str(model_file), "--out", str(out),
                  "--extrapolate")
    assert result.returncode == 0 and "p_on_benefit_12m" not in result.stderr
    assert pd.read_csv(out)["p_on_benefit_12m"].notna().all()


def test_profile_refuses_another_time_unit(own_csv, model_file, tmp_path, capsys):
    code = main(["profile", str(own_csv), "--model", str(model_file), "--out",
                 str(tmp_path / "p.csv"), "--time-unit", "week"])
    assert code == 2
    assert "counts durations in periods of 14 days" in capsys.readouterr().err


def test_compare_on_a_0_1_cohort_column(own_csv, capsys):
    assert main(["compare", str(own_csv), "--cohort-col", "aid", "--reference", "0",
                 "--covariates", "age,prio", "--horizon", "26", "--n-boot", "0", *COLUMNS]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Cohort comparison: 1 minus 0, RMST difference up to 26 periods of "
                          "14 days")
    assert "np.int64" not in out
    assert "(260.3 benefit days)" in out  # 26 x 14 x 261/365 = 260.28


def test_a_missing_default_covariate_names_the_flag(own_csv, capsys):
    code = main(["compare", str(own_csv), "--cohort-col", "aid", "--reference", "0",
                 "--horizon", "26", "--n-boot", "0", *COLUMNS])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "pass --covariates A,B,C" in err and "'education'" in err


def test_a_missing_default_feature_names_the_flag(own_csv, tmp_path, capsys):
    code = main(["fit", str(own_csv), "--out", str(tmp_path / "m.json"),
                 "--tests", "benefit_duration", *COLUMNS])
    err = capsys.readouterr().err
    assert code == 2 and "pass --features A,B,C" in err


def test_the_default_horizon_beyond_follow_up_names_the_flag(own_csv, capsys):
    code = main(["compare", str(own_csv), "--cohort-col", "aid", "--reference", "0",
                 "--covariates", "age", "--n-boot", "0", *COLUMNS])
    assert code == 2 and "pass --horizon" in capsys.readouterr().err


SITE = """
[columns]
duration = "period"
event = "arrested"
cohort = "aid"

[fit]
tests = ["benefit_duration"]
time_unit = 14

[compare]
covariates = ["age", "prio"]
horizon = 26
time_unit = 14
reference = 0
n_boot = 0

[benefit_duration]
features = ["age", "prio"]
"""


def test_config_file_and_flags_override_it(own_csv, tmp_path, capsys):
    site = tmp_path / "site.toml"
    site.write_text(SITE)
    assert main(["compare", str(own_csv), "--config", str(site)]) == 0
    assert "up to 26 periods of 14 days" in capsys.readouterr().out
    assert main(["compare", str(own_csv), "--config", str(site), "--horizon", "13"]) == 0
    assert "up to 13 periods of 14 days" in capsys.readouterr().out
    out = tmp_path / "m.json"
    assert main(["fit", str(own_csv), "--config", str(site), "--out", str(out)]) == 0
    data = json.loads(out.read_text())["tests"]
    assert list(data) == ["benefit_duration"]
    assert data["benefit_duration"]["config"]["features"] == ["age", "prio"]
    assert main(["fit", str(own_csv), "--config", str(site), "--out", str(out),
                 "--features", "age"]) == 0
    assert json.loads(out.read_text())["tests"]["benefit_duration"]["config"]["features"] == [
        "age"]


@pytest.mark.parametrize("text, message", [
    ("[compare]\nhorizn = 26\n", "unknown key 'horizn' in [compare]"),
    ("[columns]\nspell = 'period'\n", "unknown key 'spell' in [columns]"),
    ("[comparre]\n", "unknown table [comparre]"),
    ("[compare]\nhorizon = -1\n", "[compare] horizon: must be a positive number"),
    ("[compare\n", "not a readable TOML file"),
    ("[benefit_duration]\nfeatures = 3\nwrong = 1\n", "unknown key 'wrong' in [benefit_duration]"),
])
def test_a_bad_config_file_is_one_line_naming_the_key(own_csv, tmp_path, capsys, text, message):
    site = tmp_path / "bad.toml"
    site.write_text(text)
    command = "fit" if "benefit_duration" in text else "compare"
    extra = ["--out", str(tmp_path / "m.json")] if command == "fit" else []
    assert main([command, str(own_csv), "--config", str(site), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_report_on_own_records(own_csv, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text(SITE)
    out = tmp_path / "report.html"
    result = _run("report", str(own_csv), "--config", str(site), "--out", str(out),
                  "--n-boot", "50")
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert "periods of 14 days" in html and "Not assessed" in html
    # warnings, if any, one line each: no Python file names or source lines
    assert all(line.startswith("anker: warning: ") for line in result.stderr.splitlines())
    assert ".py:" not in result.stderr


def test_a_flag_the_command_does_not_use_is_said_not_ignored(own_csv, tmp_path, capsys):
    assert main(["fit", str(own_csv), "--out", str(tmp_path / "m.json"), "--tests",
                 "benefit_duration", "--features", "age", "--horizon", "26", *COLUMNS]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["anker: warning: --horizon is not used by anker fit (an option of the cohort "
                   "comparison: anker compare, anker report)"]


def test_profile_a_subset_of_the_model(tmp_path, capsys, small_population):
    df = small_population.data.head(3000)
    data = tmp_path / "spells.csv"
    df.to_csv(data, index=False)
    model = tmp_path / "all.json"
    assert main(["fit", str(data), "--out", str(model)]) == 0
    out = tmp_path / "p.csv"
    assert main(["profile", str(data), "--model", str(model), "--out", str(out),
                 "--tests", "labour_market,benefit_duration"]) == 0
    prof = pd.read_csv(out)
    assert "route" in prof and "compliance_risk" not in prof
    assert "not assessed: compliance, reintegration" in capsys.readouterr().out
    assert main(["profile", str(data), "--model", str(model), "--out", str(out),
                 "--tests", "wwb"]) == 2
    assert "--tests: ['wwb'] not in the model" in capsys.readouterr().err


def test_report_without_a_cohort_column(own_csv, tmp_path, capsys):
    single = tmp_path / "single.csv"
    pd.read_csv(own_csv).drop(columns="aid").to_csv(single, index=False)
    out = tmp_path / "r.html"
    assert main(["report", str(single), "--out", str(out), "--tests", "benefit_duration",
                 "--features", "age,prio", *COLUMNS]) == 0
    assert "no cohort column: the cohort comparison" in capsys.readouterr().out
    assert "No cohort comparison was given" in out.read_text()
