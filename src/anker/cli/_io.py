"""The one reader (and writer) of the command line's files, with one-line errors.

Every data command reads its records through :func:`read_records`: a CSV
file (``.csv``, or compressed ``.csv.gz``), a Parquet file, or a folder of
Parquet files (read as one table). Whatever the format, the same checks
follow, so ``fit``, ``profile``, ``compare`` and ``report`` accept and refuse
the same files:

* duplicated column headers are refused (pandas would silently rename the
  second ``age`` to ``age.1``);
* a column that should hold numbers (a numeric column of the schema, or
  one whose values are at least 90 % numbers) but holds text such as
  ``12a``, ``34 yrs`` or ``0,252`` is refused, naming the column, the row
  and the value;
* duplicated spells (same ``client_id`` and ``inflow_date``) are refused,
  naming a few rows.

Any failure to read (missing file, symlink loop, corrupt ``.gz``, Parquet
without pyarrow, a file that is not a table) and to write (a full disk, an
output folder that is a file) is an :class:`anker.errors.AnkerDataError` or an
``OSError`` with a plain message, which ``anker.cli.main`` prints as one line.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import os
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from anker.errors import AnkerDataError

_NUMERIC_KINDS = ("int", "number", "flag")
_READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError,
                EOFError, zlib.error, ValueError, csv.Error)


def _stat(path: str, what: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AnkerDataError(f"{what} {path!r} is a symbolic link that loops back on "
                                 "itself") from None
        if exc.errno == errno.ENOENT:
            raise FileNotFoundError(f"{what} {path!r} does not exist") from None
        raise AnkerDataError(f"cannot open {what} {path!r}: {exc.strerror or exc}") from None


def read_records(path: str, *, what: str = "data file") -> pd.DataFrame:
    """Read client records from CSV (optionally .gz), Parquet or a folder of Parquet files."""
    path = os.fspath(path)
    info = _stat(path, what)
    p = Path(path)
    if os.path.isdir(path):
        parts = sorted(p.glob("*.parquet"))
        if not parts:
            raise AnkerDataError(f"{what} {path!r} is a folder without .parquet files; give a "
                                 "CSV or Parquet file, or a folder of Parquet files")
        frames = [_read_parquet(part, what) for part in parts]
        first = list(frames[0].columns)
        for part, frame in zip(parts, frames, strict=True):
            if list(frame.columns) != first:
                raise AnkerDataError(f"{what} {path!r}: {part.name} has other columns than "
                                     f"{parts[0].name}")
        df = pd.concat(frames, ignore_index=True)
        lines = None
    elif p.name.lower().endswith((".parquet", ".pq")):
        df, lines = _read_parquet(p, what), None
    else:
        if info.st_size == 0:
            raise AnkerDataError(f"{what} {path!r}: the file is empty")
        _check_header(p, what)
        try:
            df = pd.read_csv(p, low_memory=False)
        except _READ_ERRORS as exc:
            raise AnkerDataError(f"cannot read {what} {path!r} as CSV records: "
                                 f"{_plain(exc)}") from None
        lines = True
    if df.empty:
        raise AnkerDataError(f"{what} {path!r} holds no records")
    check_records(df, source=path, csv_lines=bool(lines))
    return df


def _plain(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _read_parquet(p: Path, what: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(p)
    except ImportError:
        raise AnkerDataError(f"reading Parquet ({p}) needs pyarrow, which is not installed: "
                             "pip install pyarrow, or give a CSV file") from None
    except Exception as exc:  # pyarrow raises its own ArrowInvalid etc.: a file that is not Parquet
        raise AnkerDataError(f"cannot read {what} {str(p)!r} as Parquet: {_plain(exc)}") from None


def _check_header(p: Path, what: str) -> None:
    """Refuse duplicated column names before pandas renames them."""
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8", newline="") as handle:
            header = next(csv.reader(io.StringIO(handle.readline())), [])
    except _READ_ERRORS as exc:
        raise AnkerDataError(f"cannot read {what} {str(p)!r}: {_plain(exc)}") from None
    seen: set[str] = set()
    dup = [name for name in header if name in seen or seen.add(name)]
    if dup:
        raise AnkerDataError(f"{what} {str(p)!r}: column name(s) {sorted(set(dup))} appear more "
                             "than once in the header", columns=sorted(set(dup)))


def check_records(df: pd.DataFrame, *, source: str = "data", csv_lines: bool = False) -> None:
    """The checks every input gets: unique headers, numbers where numbers belong, unique spells.

    Examples
    --------
    >>> import pandas as pd
    >>> check_records(pd.DataFrame({"age": ["34", "41", "12a"]}))
    Traceback (most recent call last):
    ...
    anker.errors.AnkerDataError: data: column 'age' must hold numbers, but 1 value(s) are not, e.g. row 3: '12a'
    """
    from anker.schema import SCHEMA

    dup = df.columns[df.columns.duplicated()].unique().tolist()
    if dup:
        raise AnkerDataError(f"{source}: column name(s) {dup} appear more than once",
                             columns=[str(c) for c in dup])
    for column in df.columns:
        series = df[column]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        # judged on the distinct values: a categorical column has few of them
        uniques = pd.Series(pd.unique(series.dropna()), dtype=object)
        if uniques.empty:
            continue
        numeric = pd.to_numeric(uniques.astype(str).str.strip(), errors="coerce").notna()
        col = SCHEMA.get(str(column))
        expected = col is not None and col.kind in _NUMERIC_KINDS
        if numeric.all() or not (expected or numeric.mean() >= 0.9):
            continue
        bad_values = set(uniques[~numeric.to_numpy()])
        bad = np.flatnonzero(series.isin(bad_values).to_numpy())
        shown = ", ".join((f"line {i + 2}" if csv_lines else f"row {i + 1}")
                          + f": {series.iloc[i]!r}" for i in bad[:3])
        raise AnkerDataError(f"{source}: column {column!r} must hold numbers, but "
                             f"{bad.size} value(s) are not, e.g. {shown}", columns=[column])
    if {"client_id", "inflow_date"} <= set(df.columns):
        key = df[["client_id", "inflow_date"]].astype(str)
        dup_rows = key.duplicated(keep=False).to_numpy()
        if dup_rows.any():
            where = [i for i, d in enumerate(dup_rows) if d][:4]
            shown = ", ".join((f"line {i + 2}" if csv_lines else f"row {i + 1}") for i in where)
            raise AnkerDataError(f"{source}: {int(dup_rows.sum())} rows are duplicated spells "
                                 f"(same client_id and inflow_date), e.g. {shown}; remove the "
                                 "duplicates first", columns=["client_id", "inflow_date"])


def check_out_path(path: str, *, what: str = "--out") -> Path:
    """An output file whose folder exists and is a folder (not a file)."""
    out = Path(path)
    if out.is_dir():
        raise IsADirectoryError(f"{what}: {path!r} is a folder; give the file to write")
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(f"{what}: {str(parent)!r} is a file, not a folder")
    if not parent.is_dir():
        raise FileNotFoundError(f"{what}: folder {str(parent)!r} does not exist")
    return out


def write_table(df: pd.DataFrame, path: str) -> None:
    p = check_out_path(path)
    try:
        if p.name.lower().endswith(".parquet"):
            df.to_parquet(p)
        else:
            df.to_csv(p)
    except ImportError:
        raise AnkerDataError(f"writing Parquet ({path}) needs pyarrow, which is not installed: "
                             "pip install pyarrow, or write a .csv file") from None
