"""The one reader (and writer) of the command line's files, with one-line errors.

Every data command reads its records through :func:`read_records`: a CSV
file (``.csv``, or compressed ``.csv.gz``), a Parquet file, or a folder of
Parquet files (read as one table). Whatever the format, the same checks
follow, so ``fit``, ``profile``, ``compare`` and ``report`` accept and refuse
the same files:

* duplicated column headers are refused (pandas would silently rename the
  second ``age`` to ``age.1``);
* a column that should hold numbers (a numeric column of the schema, a numeric
  feature of the model that ``anker profile`` uses, or a column the schema does
  not know whose values are at least 90 % numbers) but holds text such as
  ``12a``, ``34 yrs`` or ``0,252`` is refused, naming the column, the line (CSV)
  or row (Parquet) and the value; a column the schema calls text (an
  identifier, a date, a category) is never taken for numbers;
* duplicated spells (same ``client_id`` and ``inflow_date``, numbers compared as
  numbers) are refused, naming a few lines or rows.

The streaming ``anker profile`` (`anker.cli._stream`) runs the same checks,
:class:`RecordChecks`, chunk by chunk, with spells compared across chunks.

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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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


def read_records(path: str, *, what: str = "data file", **rules: Any) -> pd.DataFrame:
    """Read client records from CSV (optionally .gz), Parquet or a folder of Parquet files.

    ``rules`` are passed to :class:`RecordChecks` (``numeric``, ``text``, ``columns``).
    """
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
    check_records(df, source=path, csv_lines=bool(lines), **rules)
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
    check_header_names(header, f"{what} {str(p)!r}")


def check_header_names(names: list, source: str) -> None:
    """Refuse duplicated column names (pandas would rename the second ``age`` to ``age.1``)."""
    seen: set = set()
    dup = sorted({str(name) for name in names if name in seen or seen.add(name)})
    if dup:
        raise AnkerDataError(f"{source}: column name(s) {dup} appear more than once in the "
                             "header", columns=dup)


class RecordChecks:
    """The checks every input gets, on a whole table or on its chunks in file order.

    ``numeric`` names columns that must hold numbers and ``text`` columns that may
    hold text, beyond what the schema says (the streaming and in-memory ``anker
    profile`` pass what the model knows of its features); a column neither knows
    is numeric when at least 90 % of its distinct values are numbers. With
    ``columns`` only those columns are checked for text (the columns a profile
    reads). A streamed file is checked chunk by chunk with the same rules: pass
    ``reread`` (chunk number -> that chunk's spell keys, from the file again) and
    a spell is compared with every earlier chunk, through a 64-bit hash per
    spell (8 bytes a row) confirmed on the keys themselves before it is refused.
    """

    def __init__(self, *, source: str = "data", csv_lines: bool = False,
                 numeric: Iterable[str] = (), text: Iterable[str] = (),
                 columns: Iterable[str] | None = None,
                 reread: Callable[[int], pd.DataFrame] | None = None) -> None:
        self.source, self.csv_lines, self.reread = source, csv_lines, reread
        self.numeric, self.text = set(numeric), set(text) - set(numeric)
        self.columns = None if columns is None else set(columns)
        self._hashes = np.empty(0, dtype=np.uint64)  # sorted; only when streaming
        self._chunk_of = np.empty(0, dtype=np.int64)
        self._starts: list[int] = []

    def _where(self, rows: Iterable[int]) -> str:
        return ", ".join((f"line {i + 2}" if self.csv_lines else f"row {i + 1}") for i in rows)

    def check(self, df: pd.DataFrame, *, first_row: int = 0) -> None:
        """Raise :class:`AnkerDataError` for the first problem of ``df`` (rows from ``first_row``)."""
        check_header_names(list(df.columns), self.source)
        for column in df.columns:
            if self.columns is None or column in self.columns:
                self._numbers(df[column], column, first_row)
        if SPELL_KEYS <= set(df.columns):
            self._spells(df, first_row)

    def _numbers(self, series: pd.Series, column: Any, first_row: int) -> None:
        from anker.schema import SCHEMA

        if column in self.text or not (pd.api.types.is_object_dtype(series)
                                       or pd.api.types.is_string_dtype(series)):
            return
        col = SCHEMA.get(str(column))
        if col is not None and col.kind not in _NUMERIC_KINDS and column not in self.numeric:
            return  # the schema says text: an identifier, a date, a category
        # judged on the distinct values: a categorical column has few of them
        uniques = pd.Series(pd.unique(series.dropna()), dtype=object)
        if uniques.empty:
            return
        numeric = pd.to_numeric(uniques.astype(str).str.strip(), errors="coerce").notna()
        expected = column in self.numeric or col is not None
        if numeric.all() or not (expected or numeric.mean() >= 0.9):
            return
        bad_values = set(uniques[~numeric.to_numpy()])
        bad = np.flatnonzero(series.isin(bad_values).to_numpy())
        shown = ", ".join(f"{self._where([first_row + i])}: {series.iloc[i]!r}" for i in bad[:3])
        raise AnkerDataError(f"{self.source}: column {column!r} must hold numbers, but "
                             f"{bad.size} value(s) are not, e.g. {shown}", columns=[column])

    def _spells(self, df: pd.DataFrame, first_row: int) -> None:
        keys = spell_keys(df)
        dup = keys.duplicated(keep=False).to_numpy()
        rows = [first_row + i for i in np.flatnonzero(dup)]
        if self.reread is not None:
            hashes = pd.util.hash_pandas_object(keys, index=False).to_numpy()
            rows = sorted(rows + self._repeats(keys, hashes, first_row))
            order = np.argsort(hashes, kind="stable")
            at = np.searchsorted(self._hashes, hashes[order])
            self._hashes = np.insert(self._hashes, at, hashes[order])
            self._chunk_of = np.insert(self._chunk_of, at, len(self._starts))
            self._starts.append(first_row)
        if rows:
            raise AnkerDataError(f"{self.source}: {len(rows)} rows are duplicated spells (same "
                                 f"client_id and inflow_date), e.g. {self._where(rows[:4])}; "
                                 "remove the duplicates first", columns=sorted(SPELL_KEYS))

    def _repeats(self, keys: pd.DataFrame, hashes: np.ndarray, first_row: int) -> list[int]:
        """Rows of this chunk and of earlier chunks that hold the same spell."""
        low = np.searchsorted(self._hashes, hashes, side="left")
        high = np.searchsorted(self._hashes, hashes, side="right")
        hit = np.flatnonzero(high > low)
        if hit.size == 0:
            return []
        wanted = {int(c) for i in hit for c in self._chunk_of[low[i]:high[i]]}
        mine = {tuple(keys.iloc[i]): first_row + int(i) for i in hit}
        found: list[int] = []
        for chunk in sorted(wanted):  # the keys themselves: a shared hash is not enough
            earlier = spell_keys(self.reread(chunk))
            for j, key in enumerate(map(tuple, earlier.to_numpy())):
                if key in mine:
                    found += [self._starts[chunk] + j, mine[key]]
        return sorted(set(found))


SPELL_KEYS = {"client_id", "inflow_date"}


def spell_keys(df: pd.DataFrame) -> pd.DataFrame:
    """``client_id`` and ``inflow_date`` as text in one spelling, whatever a chunk's dtypes.

    Numbers compare as numbers (``5``, ``5.0`` and ``"005"`` are one client: a CSV
    column is read as numbers when every value of it, or of a chunk, is one) and
    dates and times as instants; missing values as one ``<missing>``.

    Examples
    --------
    >>> spell_keys(pd.DataFrame({"client_id": [5.0, "005", "A7"], "inflow_date": ["2004-01-05"] * 3}))
      client_id inflow_date
    0         5  2004-01-05
    1         5  2004-01-05
    2        A7  2004-01-05
    """
    return pd.DataFrame({c: _key_text(df[c]) for c in ("client_id", "inflow_date")},
                        index=df.index)


_NUMBER_START = frozenset("0123456789+-.")


def _key_text(series: pd.Series) -> np.ndarray:
    missing = series.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(series):
        text = pd.DatetimeIndex(series).asi8.astype(str).astype(object)  # ns since 1970, UTC
    elif pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        text = series.astype("int64" if pd.api.types.is_bool_dtype(series) else series.dtype
                             ).astype(str).to_numpy(dtype=object)
    else:
        # each distinct value once; only those that can start a number are parsed as one
        codes, uniques = pd.factorize(series)
        words = np.array([str(u) for u in uniques], dtype=object)
        numbers = np.full(words.size, np.nan)
        maybe = np.fromiter((w.lstrip()[:1] in _NUMBER_START for w in words), bool, words.size)
        if maybe.any():
            numbers[maybe] = pd.to_numeric(pd.Series(words[maybe]), errors="coerce").to_numpy(
                dtype=float, na_value=np.nan)
        whole = np.isfinite(numbers) & (np.abs(numbers) < 2.0**53)
        whole &= numbers == np.round(numbers)
        words = np.where(whole, np.where(whole, numbers, 0).astype(np.int64).astype(str), words)
        other = np.isfinite(numbers) & ~whole
        words = np.where(other, numbers.astype(str), words).astype(object)
        text = words[np.maximum(codes, 0)] if words.size else np.full(len(series), "", object)
    return np.where(missing, "<missing>", text).astype(object)


def check_records(df: pd.DataFrame, *, source: str = "data", csv_lines: bool = False,
                  **rules: Any) -> None:
    """The checks every input gets: unique headers, numbers where numbers belong, unique spells.

    ``rules`` are those of :class:`RecordChecks` (``numeric``, ``text``, ``columns``).

    Examples
    --------
    >>> import pandas as pd
    >>> check_records(pd.DataFrame({"age": ["34", "41", "12a"]}))
    Traceback (most recent call last):
    ...
    anker.errors.AnkerDataError: data: column 'age' must hold numbers, but 1 value(s) are not, e.g. row 3: '12a'
    """
    RecordChecks(source=source, csv_lines=csv_lines, **rules).check(df)


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
