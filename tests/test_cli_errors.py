"""The command line never shows a traceback: every failure is one line and exit status 2.

The cases are the fourteen tracebacks of issue 12 and the inputs of its
findings 2, 3 and 8, run in-process through ``anker.cli.main`` (fast) and,
for a few, as a real subprocess.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import anker
from anker.cli import main


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def one_line(result, *fragments: str) -> str:
    code, _, err = result
    # warnings may come first (one line each); the failure itself is one last line
    lines = [line for line in err.strip().splitlines() if ": error: " in line]
    assert code == 2, (code, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == lines[0], err
    assert "bug in anker" not in err, err  # a named problem, not the last-resort line
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("errors")
    data = anker.simulate_population(n_per_cohort=300, seed=4).data
    csv = tmp / "records.csv"
    data.to_csv(csv, index=False)
    model = tmp / "model.json"
    assert run("fit", csv, "--out", model)[0] == 0
    return tmp, data, csv, model


def test_disk_full_in_every_writing_command(files):
    _, _, csv, model = files
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    for args in (("simulate", "--n-per-cohort", 200), ("fit", csv), ("profile", csv, "--model", model),
                 ("report", csv, "--n-boot", 0)):
        one_line(run(*args, "--out", "/dev/full"), "/dev/full", "No space left")
        # a failed write removes a partial output only if it is a regular file it wrote
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode), "/dev/full is no longer a device"


def test_output_folder_that_is_a_file(files):
    tmp, _, csv, model = files
    blocker = tmp / "blocker"
    blocker.write_text("x")
    for args in (("simulate", "--n-per-cohort", 200), ("fit", csv), ("profile", csv, "--model", model),
                 ("report", csv, "--n-boot", 0)):
        one_line(run(*args, "--out", blocker / "out.csv"), "blocker")


def test_unreadable_inputs(files, monkeypatch):
    tmp, data, csv, model = files
    loop = tmp / "loop.csv"
    if not loop.is_symlink():
        os.symlink(loop, loop)
    corrupt = tmp / "corrupt.csv.gz"
    corrupt.write_bytes(gzip.compress(csv.read_bytes())[:200] + b"\x00garbage")
    not_gzip = tmp / "plain.csv.gz"
    not_gzip.write_bytes(b"this is not gzip at all\n" * 10)
    for command in ("fit", "compare", "report"):
        extra = ("--out", tmp / "x.out") if command != "compare" else ("--n-boot", 0)
        one_line(run(command, loop, *extra), "loop")
        one_line(run(command, corrupt, *extra), "corrupt.csv.gz")
        one_line(run(command, not_gzip, *extra), "plain.csv.gz")
    parquet = tmp / "records.parquet"
    parquet.write_bytes(b"PAR1 not really")
    one_line(run("fit", parquet, "--out", tmp / "m.json"), "records.parquet")
    # Parquet without pyarrow: a named missing package, not an ImportError traceback
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "fastparquet", None)
    one_line(run("profile", csv, "--model", model, "--out", tmp / "p.parquet"), "pyarrow")


def _damaged_model(model: Path, tmp: Path, name: str, edit) -> Path:
    data = json.loads(model.read_text())
    edit(data)
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_damaged_model_files(files):
    tmp, _, csv, model = files
    deep = tmp / "deep.json"
    deep.write_text("[" * 1000 + "]" * 1000)
    one_line(run("profile", csv, "--model", deep, "--out", tmp / "p.csv"), "nested")
    top = _damaged_model(model, tmp, "top", lambda d: d["config"].update(top_factors=1e9))
    one_line(run("profile", csv, "--model", top, "--out", tmp / "p.csv"), "top_factors")

    def empty_baseline(d):
        d["tests"]["benefit_duration"]["state"].update(baseline_times=[], baseline_cumhaz=[])

    empty = _damaged_model(model, tmp, "baseline", empty_baseline)
    one_line(run("profile", csv, "--model", empty, "--out", tmp / "p.csv"), "baseline")
    for name, value in (("null", None), ("big", 1e400)):
        def coef(d, value=value):
            d["tests"]["labour_market"]["state"]["coef"][1] = value

        path = _damaged_model(model, tmp, name, coef)
        one_line(run("profile", csv, "--model", path, "--out", tmp / "p.csv"), "coef" if
                 value is None else "Infinity")
    huge = tmp / "huge.json"
    huge.write_text(model.read_text().replace('"coef": [', '"coef": [1e999, ', 1))
    one_line(run("profile", csv, "--model", huge, "--out", tmp / "p.csv"), "too large")
    # the file's protected list is not anker's policy
    def protect_nothing(d):
        test = d["tests"]["compliance"]
        test["config"]["protected"] = []
        test["config"]["features"].append("sex")
        test["design"]["features"].append("sex")
        test["design"]["levels"]["sex"] = ["male", "female"]

    path = _damaged_model(model, tmp, "protected", protect_nothing)
    one_line(run("profile", csv, "--model", path, "--out", tmp / "p.csv"), "protected", "sex")


def test_bounds_with_a_clear_message(files):
    _, _, csv, _ = files
    one_line(run("compare", csv, "--n-boot", "1e8"), "--n-boot", "at most 100,000")
    one_line(run("report", csv, "--out", "r.html", "--n-boot", 10**8), "--n-boot")
    one_line(run("simulate", "--n-per-cohort", 10**9, "--out", "x.csv"), "--n-per-cohort")
    one_line(run("simulate", "--coaching-hazard-ratio", "1e-300", "--out", "x.csv"),
             "--coaching-hazard-ratio", "between 0.2 and 5")
    one_line(run("demo", "--n-per-cohort", 10**9), "--n-per-cohort")


@pytest.mark.parametrize("bad", ["12a", "34 yrs", "0,252"])
def test_text_in_a_numeric_column_names_column_and_row(files, bad):
    tmp, data, _, _ = files
    damaged = data.copy()
    damaged["age"] = damaged["age"].astype(object)
    damaged.loc[17, "age"] = bad
    path = tmp / "numeric.csv"
    damaged.to_csv(path, index=False)
    for command in ("fit", "compare", "report"):
        extra = ("--out", tmp / "x.out") if command != "compare" else ("--n-boot", 0)
        one_line(run(command, path, *extra), "'age'", "line 19", repr(bad))


def test_duplicate_headers_and_spells_are_refused(files):
    tmp, data, _, model = files
    text = (tmp / "records.csv").read_text().splitlines()
    header = text[0].split(",")
    header[header.index("region")] = "age"
    dup_header = tmp / "dup_header.csv"
    dup_header.write_text("\n".join([",".join(header)] + text[1:]) + "\n")
    dup_spells = tmp / "dup_spells.csv"
    pd.concat([data, data.iloc[[5]]]).to_csv(dup_spells, index=False)
    folder = tmp / "parts"
    folder.mkdir(exist_ok=True)
    for path, fragment in ((dup_header, "'age'"), (dup_spells, "duplicated spells")):
        # both engines of `profile` too: the streaming one with the same checks per chunk
        for command in ("fit", "compare", "profile", "profile-memory"):
            extra = {"fit": ("--out", tmp / "m2.json"), "compare": ("--n-boot", 0),
                     "profile": ("--model", model, "--out", tmp / "p.csv"),
                     "profile-memory": ("--model", model, "--out", tmp / "p.csv", "--engine",
                                        "memory")}[command]
            one_line(run(command.split("-")[0], path, *extra), fragment)
    one_line(run("compare", folder, "--n-boot", 0), "parts")


def test_demo_with_small_data_and_no_bootstrap(tmp_path):
    code, out, err = run("demo", "--out", tmp_path / "demo", "--n-per-cohort", 150, "--n-boot", 0)
    assert code == 0, err
    assert (tmp_path / "demo" / "report.html").is_file()


def test_a_real_process_prints_no_traceback(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("{\"a\": " * 1000 + "1" + "}" * 1000)
    result = subprocess.run([sys.executable, "-m", "anker.cli", "profile", str(deep), "--model",
                             str(deep), "--out", str(tmp_path / "p.csv")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_parquet_files_and_folders_go_through_the_same_checks(files):
    pytest.importorskip("pyarrow")
    tmp, data, csv, model = files
    folder = tmp / "parquet_parts"
    folder.mkdir(exist_ok=True)
    half = len(data) // 2
    data.iloc[:half].to_parquet(folder / "part-0.parquet")
    data.iloc[half:].to_parquet(folder / "part-1.parquet")
    code, out, err = run("compare", folder, "--n-boot", 0, "--covariates", "age,tightness")
    assert code == 0, err
    code_csv, out_csv, _ = run("compare", csv, "--n-boot", 0, "--covariates", "age,tightness")
    assert out == out_csv  # the same records, the same answer, whatever the format
    assert run("profile", folder, "--model", model, "--out", tmp / "p.parquet")[0] == 0
    assert len(pd.read_parquet(tmp / "p.parquet")) == len(data)
    damaged = data.copy()
    damaged["age"] = damaged["age"].astype(str)  # a text column in the file
    damaged.loc[3, "age"] = "34 yrs"
    damaged.to_parquet(tmp / "damaged.parquet")
    one_line(run("fit", tmp / "damaged.parquet", "--out", tmp / "m.json"), "'age'", "row 4")
    pd.concat([data, data.iloc[[0]]]).to_parquet(folder / "part-2.parquet")
    one_line(run("compare", folder, "--n-boot", 0), "duplicated spells")
    data[["age"]].to_parquet(folder / "part-2.parquet")
    one_line(run("compare", folder, "--n-boot", 0), "part-2.parquet", "other columns")
