"""The streaming `anker profile` (anker.cli._stream): chunks in, the in-memory profile out.

The truth is the in-memory path on the same file (`--engine memory`, i.e.
`AnkerModel.profile` on the whole frame): a streamed profile must hold the
same rows, keys and values, whatever the chunk size and input format.
"""

from __future__ import annotations

import gzip
import shutil
import warnings

import pandas as pd
import pytest

import anker
from anker.cli import main

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def records():
    return anker.simulate_population(n_per_cohort=1200, seed=4).data


@pytest.fixture(scope="module")
def model_path(records, tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "model.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        anker.AnkerModel().fit(records).save(path)
    return path


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_streamed_csv_is_byte_for_byte_the_in_memory_output(records, model_path, tmp_path, capsys):
    data = tmp_path / "records.csv"
    records.to_csv(data, index=False)
    streamed, memory = tmp_path / "streamed.csv", tmp_path / "memory.csv"
    code, out, err = _run(capsys, "profile", data, "--model", model_path, "--out", streamed,
                          "--chunk-rows", 700)
    assert code == 0, err
    # no progress line outside a terminal: stderr holds only one-line warnings
    assert all(line.startswith("anker: warning: ") for line in err.splitlines()), err
    assert "--extrapolate" in err and "extrapolate=True" not in err
    assert "profiled 2,400 clients" in out
    code, out_memory, err = _run(capsys, "profile", data, "--model", model_path, "--out", memory,
                                 "--engine", "memory")
    assert code == 0, err
    assert streamed.read_bytes() == memory.read_bytes()
    # the same counts in the summary line
    counts = out.splitlines()[-1].split("(", 1)[1].rstrip(")")
    assert counts.startswith("route A") and counts in out_memory


def test_gzip_csv_parquet_file_and_folder_stream_to_the_in_memory_profile(records, model_path,
                                                                         tmp_path, capsys):
    model = anker.AnkerModel.load(model_path)
    keyed = records.set_index("client_id", drop=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = model.profile(keyed)
    gz = tmp_path / "records.csv.gz"
    with gzip.open(gz, "wt", newline="") as f:
        records.to_csv(f, index=False)
    folder = tmp_path / "parts"
    folder.mkdir()
    for j, start in enumerate(range(0, len(records), 1000)):
        records.iloc[start:start + 1000].to_parquet(folder / f"part-{j}.parquet")
    single = tmp_path / "records.parquet"
    records.to_parquet(single, row_group_size=700)
    for source in (gz, folder, single):
        out = tmp_path / f"{source.name}.parquet"
        code, _, err = _run(capsys, "profile", source, "--model", model_path, "--out", out,
                            "--chunk-rows", 450)
        assert code == 0, err
        got = pd.read_parquet(out)
        pd.testing.assert_frame_equal(got, want, check_index_type=False, check_exact=False,
                                      rtol=1e-12)  # CSV text -> float: the same parser, rounding


def test_dask_engine_profiles_a_parquet_folder(records, model_path, tmp_path, capsys):
    pytest.importorskip("distributed")
    folder = tmp_path / "parts"
    folder.mkdir()
    for j, start in enumerate(range(0, len(records), 800)):
        records.iloc[start:start + 800].to_parquet(folder / f"part-{j}.parquet")
    out = tmp_path / "profiles.csv"
    code, stdout, err = _run(capsys, "profile", folder, "--model", model_path, "--out", out,
                             "--engine", "dask")
    assert code == 0, err
    assert "profiled 2,400 clients" in stdout
    model = anker.AnkerModel.load(model_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = model.profile(records.set_index("client_id", drop=False))
    got = pd.read_csv(out, index_col=0)
    assert got.index.tolist() == want.index.tolist()
    pd.testing.assert_series_equal(got["compliance_risk"], want["compliance_risk"],
                                   check_exact=False, rtol=1e-12)
    assert got["advice"].tolist() == want["advice"].tolist()


def test_bad_input_ends_in_one_line_naming_the_rows(records, model_path, tmp_path, capsys):
    data = tmp_path / "bad.csv"
    bad = records.copy()
    bad.loc[1500, "age"] = -3
    bad.to_csv(data, index=False)
    code, _, err = _run(capsys, "profile", data, "--model", model_path, "--out", tmp_path / "o.csv",
                        "--chunk-rows", 1000)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "rows 1,001-2,000" in err and "age" in err
    records.drop(columns=["tightness"]).to_csv(data, index=False)
    code, _, err = _run(capsys, "profile", data, "--model", model_path, "--out", tmp_path / "o.csv")
    assert code == 2 and "tightness" in err and "missing" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _run(capsys, "profile", empty, "--model", model_path, "--out", tmp_path / "o.csv")
    assert code == 2 and "no .parquet files" in err
    code, _, err = _run(capsys, "profile", data, "--model", model_path, "--out", tmp_path / "o.csv",
                        "--engine", "dask")
    assert code == 2 and "Parquet" in err
    records.head(10).to_parquet(empty / "a.parquet")
    records.head(10).drop(columns=["sector"]).to_parquet(empty / "b.parquet")
    code, _, err = _run(capsys, "profile", empty, "--model", model_path, "--out", tmp_path / "o.csv")
    assert code == 2 and "b.parquet has other columns than a.parquet" in err
    shutil.rmtree(empty)


def _both_engines(capsys, data, model_path, out, *extra):
    """The one error line of the streaming and of the in-memory engine on the same file."""
    lines = []
    for engine in ("stream", "memory"):
        code, _, err = _run(capsys, "profile", data, "--model", model_path, "--out", out,
                            "--engine", engine, *extra)
        errors = [line for line in err.splitlines() if ": error: " in line]
        assert code == 2 and len(errors) == 1, err
        lines.append(errors[0])
    return lines


@pytest.mark.parametrize("bad", ["12a", "34 yrs", "0,252"])
def test_text_in_a_numeric_column_of_a_later_chunk_names_column_and_line(records, model_path,
                                                                        tmp_path, capsys, bad):
    damaged = records.copy()
    damaged["age"] = damaged["age"].astype(object)
    damaged.loc[1500, "age"] = bad  # in the third chunk of 700 rows; line 1,502 of the file
    data = tmp_path / "numeric.csv"
    damaged.to_csv(data, index=False)
    out = tmp_path / "o.csv"
    stream, memory = _both_engines(capsys, data, model_path, out, "--chunk-rows", 700)
    assert stream == memory  # the same check, by the same code
    assert "'age'" in stream and "line 1502" in stream and repr(bad) in stream
    assert not out.exists()  # no half-written profile is left behind
    # Parquet keeps one type per file: a text column is text in every chunk, and the first
    # chunk already fails the schema's type rule (the in-memory engine meets the value first)
    damaged.astype({"age": str}).to_parquet(tmp_path / "numeric.parquet", row_group_size=700)
    stream, memory = _both_engines(capsys, tmp_path / "numeric.parquet", model_path, out,
                                   "--chunk-rows", 700)
    assert "age" in stream and "rows 1-700" in stream and "wrong type" in stream
    assert "'age'" in memory and "row 1501" in memory and repr(bad) in memory


def test_duplicated_spells_are_refused_across_chunks(records, model_path, tmp_path, capsys):
    out = tmp_path / "o.csv"
    data = tmp_path / "dup.csv"
    # row 5 again at the end: 2,395 rows apart, in another chunk
    pd.concat([records, records.iloc[[5]]]).to_csv(data, index=False)
    stream, memory = _both_engines(capsys, data, model_path, out, "--chunk-rows", 500)
    assert stream == memory
    assert "2 rows are duplicated spells" in stream and "line 7, line 2402" in stream
    assert not out.exists()
    # a repeat inside one chunk
    pd.concat([records.iloc[:10], records.iloc[[3]], records.iloc[10:]]).to_csv(data, index=False)
    stream, memory = _both_engines(capsys, data, model_path, out, "--chunk-rows", 500)
    assert stream == memory and "line 5, line 12" in stream
    # the same client in another spelling: the first chunk's ids are text (one is "A0"), the
    # last chunk's are numbers, where "003" is read as 3; numbers compare as numbers
    ids = records.assign(client_id=["A0"] + [str(i) for i in range(1, len(records))])
    pd.concat([ids, ids.iloc[[3]].assign(client_id="003")]).to_csv(data, index=False)
    stream, memory = _both_engines(capsys, data, model_path, out, "--chunk-rows", 500)
    assert stream == memory and "line 5, line 2402" in stream
    folder = tmp_path / "parts"
    folder.mkdir()
    records.to_parquet(folder / "part-0.parquet")
    records.iloc[[7]].to_parquet(folder / "part-1.parquet")
    stream, memory = _both_engines(capsys, folder, model_path, out)
    assert stream == memory and "row 8, row 2401" in stream


def test_a_shared_hash_is_confirmed_on_the_keys(records, monkeypatch):
    """Spells whose 64-bit hashes collide are not refused: the keys are compared."""
    from anker.cli import _io

    def same_hash(frame, index=False):  # every spell collides with every other
        return pd.Series(0, index=frame.index, dtype="uint64")

    monkeypatch.setattr(_io.pd.util, "hash_pandas_object", same_hash)
    chunks = [records.iloc[i:i + 400] for i in range(0, len(records), 400)]
    checks = _io.RecordChecks(source="f", reread=lambda k: chunks[k])
    for chunk in chunks:
        checks.check(chunk, first_row=int(chunk.index[0]))  # distinct spells: no error
    with pytest.raises(anker.AnkerDataError, match="row 1201, row 2401"):
        checks.check(records.iloc[[1200]].set_axis([2400]), first_row=2400)


def test_out_of_range_column_and_a_summary_of_what_is_known(records, tmp_path, capsys):
    data = tmp_path / "records.csv"
    changed = records.copy()
    changed.loc[[3, 1700], "age"] = [16, 64]  # within the schema, outside the fitting rows
    changed.drop(columns=["entitlement_days"]).to_csv(data, index=False)  # no P(exhausting)
    features = ["age", "work_history_years"]
    spells = anker.BenefitDurationTest(features=features)
    path = tmp_path / "spells.json"
    fitting = records[records["age"].between(20, 60)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        anker.AnkerModel(benefit_duration=spells, tests=["benefit_duration"]).fit(fitting).save(path)
    # the truth by hand: each feature against the fitting rows' own minimum and maximum
    outside = {f: ~changed[f].between(fitting[f].min(), fitting[f].max()) for f in features}
    expected = [", ".join(f for f in features if outside[f].iloc[i]) for i in range(len(changed))]
    assert sum(map(bool, expected)) > 2
    lines = []
    for engine in ("stream", "memory"):
        out = tmp_path / f"{engine}.csv"
        code, stdout, err = _run(capsys, "profile", data, "--model", path, "--out", out,
                                 "--engine", engine, "--chunk-rows", 600)
        assert code == 0, err
        lines.append(stdout.splitlines()[-1].replace(str(out), "OUT"))
        got = pd.read_csv(out, index_col=0, keep_default_na=False)
        assert got["out_of_range"].tolist() == expected
        assert "outside the range the model was fitted on" in err  # the warning stays
    assert lines[0] == lines[1]  # both engines say the same, and only what is known
    assert "route" not in lines[0] and "trajectory" not in lines[0] and "WWB" not in lines[0]
    assert "mean P(on benefit) 3m" in lines[0]
    assert lines[0].endswith("not assessed: compliance, labour_market, reintegration, p_exhaust, "
                             "wwb_flag)")


def test_dask_engine_failure_is_one_line_without_worker_logs(records, model_path, tmp_path):
    # a bad partition fails on the worker: its log (with a traceback) must not reach stderr
    pytest.importorskip("distributed")
    import subprocess
    import sys

    folder = tmp_path / "parts"
    folder.mkdir()
    bad = records.head(400).copy()
    bad["age"] = bad["age"].astype(str)
    bad.iloc[3, bad.columns.get_loc("age")] = "12a"
    bad.iloc[:200].to_parquet(folder / "a.parquet")
    bad.iloc[200:].to_parquet(folder / "b.parquet")
    result = subprocess.run([sys.executable, "-m", "anker.cli", "profile", str(folder), "--model",
                             str(model_path), "--out", str(tmp_path / "o.parquet"), "--engine", "dask"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "age" in result.stderr and "Traceback" not in result.stderr
