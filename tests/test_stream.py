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
