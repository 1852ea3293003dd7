"""Tests for ``anker compare``.

Expected figures come from `anker.compare_cohorts` called on the same file in
the test (the command must print what the function computes), and the
errors are the one-line messages of the command line's contract.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import anker
from anker.cli import main
from anker.outcome import OverlapWarning


@pytest.fixture(scope="module")
def spells_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("compare") / "spells.csv"
    anker.simulate_population(1_000, seed=4).data.to_csv(path, index=False)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anker.cli", "compare", *args],
                          capture_output=True, text=True, timeout=120)


def test_prints_the_summary_of_compare_cohorts(spells_csv, capsys):
    argv = ["compare", str(spells_csv), "--horizon", "365", "--method", "gcomp",
            "--covariates", "age,tightness,unemployment_rate", "--n-boot", "100", "--seed", "3"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)
        cmp = anker.compare_cohorts(pd.read_csv(spells_csv), method="gcomp", n_boot=100, seed=3,
                                    covariates=["age", "tightness", "unemployment_rate"])
    assert "Estimand:" in out and "ATT" in out
    assert f"gcomp: {cmp.rmst_difference:.2f} calendar days" in out
    assert f"({cmp.rmst_difference_benefit_days:.2f} benefit days)" in out
    assert f"{cmp.hazard_ratio:.3f}" in out
    for method in ("naive", "gcomp", "iptw", "aipw"):
        assert f"\n{method} " in out


def test_default_method_aipw_and_cluster_option(spells_csv, capsys):
    argv = ["compare", str(spells_csv), "--covariates", "age,tightness", "--n-boot", "50",
            "--cluster-col", "coach_id"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "reported method          aipw:" in out


def test_named_pair_of_cohorts(tmp_path, capsys):
    df = anker.simulate_population(600, seed=6).data
    df.loc[df.index[:100], "cohort"] = "pilot_2006"
    path = tmp_path / "three.csv"
    df.to_csv(path, index=False)
    assert main(["compare", str(path), "--covariates", "age", "--n-boot", "0",
                 "--reference", "casemanagement_2004", "--other", "coaching_2007"]) == 0
    out = capsys.readouterr().out
    assert "left out 100 row(s)" in out
    assert "'coaching_2007' minus 'casemanagement_2004'" in out


@pytest.mark.parametrize("args, message", [
    (["--horizon", "-3"], "argument --horizon: must be a positive number"),
    (["--horizon", "a year"], "argument --horizon: must be a positive number (in --time-unit"),
    (["--horizon", "5000"], "horizon=5000 calendar days is beyond the follow-up of cohort"),
    (["--method", "matching"], "argument --method: invalid choice: 'matching'"),
    (["--covariates", "age,wage"], "column(s) 'wage' (set --covariates) not in the data"),
    (["--cohort-col", "period"], "column(s) 'period' (set --cohort-col) not in the data"),
    (["--time-unit", "fortnight"], "argument --time-unit: time_unit must be one of"),
    (["--reference", "casemanagement_2005"], "--reference casemanagement_2005: not a cohort"),
    (["--n-boot", "many"], "argument --n-boot: expected a whole number"),
    (["--method", "did"], "method='did' needs comparison_col"),
    (["--other", "coaching_2007"], "--other needs --reference"),
])
def test_bad_input_fails_in_one_line(spells_csv, capsys, args, message):
    try:  # argparse ends usage errors with SystemExit, the dispatcher returns the others
        code = main(["compare", str(spells_csv), "--n-boot", "0", *args])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("anker compare: error:")
    assert message in err


def test_missing_or_unreadable_file_without_traceback(tmp_path):
    result = run_cli(str(tmp_path / "nope.csv"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"anker compare: error: data file '{tmp_path / 'nope.csv'}' does not exist"]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = run_cli(str(empty))
    assert result.returncode == 2 and "the file is empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_the_options():
    result = run_cli("--help")
    assert result.returncode == 0
    for option in ("--horizon", "--method", "--covariates", "--n-boot", "--seed", "--cohort-col",
                   "--reference", "--cluster-col"):
        assert option in result.stdout


def test_bad_data_in_the_file(tmp_path):
    df = anker.simulate_population(300, seed=7).data
    df["exited"] = np.where(df.index % 7 == 0, 2, df["exited"])
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    result = run_cli(str(path), "--n-boot", "0", "--covariates", "age")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "anker compare: error: column 'exited' must be 0 or 1, found [2.0]"]


def test_cluster_col_defaults_to_coach_id_and_can_be_switched_off(spells_csv, capsys):
    base = ["compare", str(spells_csv), "--covariates", "age,tightness", "--n-boot", "0"]
    assert main(base) == 0
    assert "whole clusters of 'coach_id' resampled" in capsys.readouterr().out
    assert main(base + ["--cluster-col", "none"]) == 0
    assert "spells treated as independent" in capsys.readouterr().out


def test_naive_estimators_from_counts(spells_csv, capsys):
    # the naive comparison alone: no covariates or clusters needed, time on benefit only
    argv = ["compare", str(spells_csv), "--estimators", "naive", "--outcome", "time_on_benefit",
            "--n-boot", "100", "--seed", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    cmp = anker.compare_cohorts(pd.read_csv(spells_csv), method="naive", estimators="naive",
                                outcome="time_on_benefit", n_boot=100, seed=2)
    assert out.strip() == str(cmp.summary).strip()
    assert "Cohort comparison from counts" in out


@pytest.mark.parametrize("args, message", [
    ([], "paid days need each spell's entitlement"),
    (["--outcome", "time_on_benefit", "--method", "aipw"], "computes the naive comparison only"),
    (["--outcome", "time_on_benefit", "--cluster-col", "coach_id"], "cluster_col='coach_id'"),
    (["--outcome", "weeks"], "argument --outcome: invalid choice: 'weeks'"),
])
def test_naive_estimators_refuse_what_needs_each_spell(spells_csv, capsys, args, message):
    try:
        code = main(["compare", str(spells_csv), "--estimators", "naive", "--n-boot", "0", *args])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("anker compare: error:")
    assert message in err


def test_outcome_flag_reaches_the_comparison(spells_csv, capsys):
    argv = ["compare", str(spells_csv), "--covariates", "age,tightness", "--n-boot", "0",
            "--method", "gcomp", "--outcome", "time_on_benefit"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = anker.compare_cohorts(pd.read_csv(spells_csv), method="gcomp", n_boot=0,
                                    covariates=["age", "tightness"], outcome="time_on_benefit")
    assert f"gcomp: {cmp.rmst_difference:.2f} calendar days" in out
