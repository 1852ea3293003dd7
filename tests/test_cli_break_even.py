"""Tests for ``anker break-even``.

Expected figures are the IWI report R05/22 numbers (3.7 days, 76,500
clients, EUR 196 per client, 706 coaches for 120,000 hand-overs) and hand
computations from them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from anker.cli import main

IWI_DAILY_BENEFIT = 15e6 / (450 * 170 * 3.7)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anker.cli", "break-even", *args],
                          capture_output=True, text=True, timeout=60)


def test_default_prints_the_report_figures():
    result = run_cli()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "3.70 benefit days" in out
    assert "76,500" in out
    assert "EUR 196.08" in out
    assert "EUR 52.99 per benefit day" in out
    assert "706 at caseload 170 (256 more than 450)" in out
    assert "43,500 without a place" in out  # 120,000 - 76,500


def test_bad_value_fails_in_one_line_without_traceback():
    result = run_cli("--caseload", "0")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("anker break-even: error: argument --caseload")


def test_options_change_the_figures(capsys):
    assert main(["break-even", "--caseload", "190", "--inflow", "100000"]) == 0
    out = capsys.readouterr().out
    days = 15e6 / (450 * 190 * IWI_DAILY_BENEFIT)  # 3.31 (3.7 x 170 / 190)
    assert f"{days:.2f} benefit days" in out
    assert "85,500 a year" in out  # 450 x 190 clients
    assert "527 at caseload 190" in out  # 100,000 / 190 = 526.3, rounded up


def test_all_four_inputs(capsys):
    argv = ["break-even", "--extra-cost", "1e6", "--coaches", "10", "--caseload", "100",
            "--daily-benefit", "50"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "EUR 1,000,000 a year" in out
    assert "EUR 1,000.00" in out  # 1e6 / 1,000 clients
    assert "20.00 benefit days" in out  # 1,000 / 50


def test_sensitivity_table(capsys):
    assert main(["break-even", "--sensitivity"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()
             if line.split() and line.split()[0] in {"caseload", "extra_cost"}
             and len(line.split()) == 4}
    assert lines["extra_cost"] == [f"{3.7 * 0.8:.2f}", f"{3.7 * 1.2:.2f}", f"{3.7 * 0.4:.2f}"]
    # labelled by the change: 20 % more clients per coach lowers the break-even, so the
    # "+20 %" column holds the smaller number (3.7 / 1.2), not the larger
    header = next(line for line in out.splitlines() if "-20 %" in line)
    assert header.index("-20 %") < header.index("+20 %")
    assert lines["caseload"][:2] == [f"{3.7 / 0.8:.2f}", f"{3.7 / 1.2:.2f}"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--caseload", "0"],
        ["--caseload", "-5"],
        ["--coaches", "abc"],
        ["--daily-benefit", "nan"],
        ["--extra-cost", "inf"],
        ["--inflow", ""],
    ],
)
def test_bad_values_exit_2_with_the_option_named(argv, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["break-even", *argv])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"anker break-even: error: argument {argv[0]}")


def test_help(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["break-even", "--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    for option in ("--extra-cost", "--coaches", "--caseload", "--daily-benefit", "--inflow"):
        assert option in out
