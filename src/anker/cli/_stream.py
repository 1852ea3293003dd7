"""Streaming `anker profile`: records in chunks, each scored and written as it goes.

Memory is bounded by one chunk, whatever the size of the input: 10 million
clients profile in well under 4 GB. Inputs: a CSV file (optionally ``.gz``),
a Parquet file or a folder of Parquet files. Parquet is read by pyarrow in
record batches (``pyarrow.parquet.ParquetFile.iter_batches``, a folder's files in
name order), only the columns the model uses; CSV by
pandas' chunked reader, the parser of the in-memory reader (`anker.cli._io`),
so a value is parsed the same way whichever way it is read. Every chunk gets
the checks of the in-memory engine, by the same code: the reader's
(`anker.cli._io.RecordChecks`: duplicated headers, text in a numeric column
named with its column and line or row, duplicated spells, also across chunks),
the columns the model needs (`anker.schema.require_columns`) and the schema's
rules for those it knows (`anker.schema.validate`); an error names the rows it
was found in, and the partly written output is removed. Both engines check the
columns a profile reads (`profile_rules`). Output is CSV or Parquet, written
chunk by chunk. With ``engine="dask"`` a Parquet file or folder is profiled on a local
Dask cluster instead (`anker.distributed.profile_dask`).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from anker._progress import interactive, progress
from anker.cli._io import SPELL_KEYS, RecordChecks, check_header_names
from anker.cli._summary import MEAN_COLUMNS, StreamSummary, tally
from anker.errors import AnkerDataError, AnkerError
from anker.schema import SCHEMA, require_columns, validate

CHUNK_ROWS = 200_000


def _kind(path: Path) -> str:
    if path.is_dir():
        return "parquet-folder"
    return "parquet" if path.name.lower().endswith(".parquet") else "csv"


def _parquet_files(path: Path) -> list[Path]:
    """The Parquet file, or a folder's ``*.parquet`` files sorted by name (as the in-memory
    reader takes them)."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise AnkerError("reading Parquet needs pyarrow: pip install 'anker[parquet]'") from None
    if not path.is_dir():
        return [path]
    files = sorted(path.glob("*.parquet"))
    if not files:
        raise AnkerDataError(f"folder {str(path)!r} holds no .parquet files")
    return files


def _parquet_file(path: Path):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow's own ArrowInvalid etc.: not a Parquet file
        raise AnkerDataError(f"cannot read {str(path)!r} as Parquet: {exc}") from None


def _column_names(file: Path) -> list[str]:
    """A Parquet file's columns without the index pandas stored (as the in-memory reader
    reads them: the index back as the index)."""
    schema = _parquet_file(file).schema_arrow
    stored = (schema.pandas_metadata or {}).get("index_columns", [])
    return [n for n in schema.names if n not in {c for c in stored if isinstance(c, str)}]


def columns_of(path: str | os.PathLike) -> list[str]:
    """The column names of a records file or folder, read from its header or schema only."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    if _kind(p) == "csv":
        from anker.cli._io import _check_header

        _check_header(p, "data file")  # duplicated headers refused, as by the in-memory reader
        try:
            return list(pd.read_csv(p, nrows=0).columns)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
            raise AnkerDataError(f"cannot read {str(path)!r} as records: {type(exc).__name__}: "
                                 f"{exc}") from None
    files = _parquet_files(p)
    names = _column_names(files[0])
    check_header_names(names, f"data file {str(path)!r}")
    for file in files[1:]:
        if _column_names(file) != names:
            raise AnkerDataError(f"{str(path)!r}: {file.name} has other columns than {files[0].name}")
    return names


def count_rows(path: str | os.PathLike) -> int | None:
    """Rows in the input: Parquet metadata, or newlines of an uncompressed CSV (None for .gz)."""
    p = Path(path)
    if _kind(p) != "csv":
        return sum(_parquet_file(f).metadata.num_rows for f in _parquet_files(p))
    if p.name.lower().endswith(".gz"):
        return None
    with open(p, "rb") as f:
        return max(sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b"")) - 1, 0)


def iter_chunks(path: str | os.PathLike, *, columns: list[str] | None = None,
                chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Record chunks of at most ``chunk_rows`` rows, in file order, with only ``columns``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "r.csv")
    >>> pd.DataFrame({"age": range(5), "x": 1}).to_csv(path, index=False)
    >>> [len(c) for c in iter_chunks(path, columns=["age"], chunk_rows=2)]
    [2, 2, 1]
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows!r}")
    p = Path(path)
    if _kind(p) == "csv":
        try:
            with pd.read_csv(p, usecols=columns, chunksize=chunk_rows, low_memory=False) as reader:
                yield from reader
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError,
                EOFError) as exc:
            raise AnkerDataError(f"cannot read {str(path)!r} as records: {type(exc).__name__}: "
                                 f"{exc}") from None
        return
    # file by file, row group by row group: a dataset scanner reads ahead while the first
    # chunks are scored, and its buffers grow with the size of the folder
    for file in _parquet_files(p):
        for batch in _parquet_file(file).iter_batches(batch_size=chunk_rows, columns=columns):
            if batch.num_rows:
                yield batch.to_pandas()


class _Writer:
    """Appends profile chunks to one CSV or Parquet file."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.parent.exists():
            raise FileNotFoundError(f"folder {str(self.path.parent)!r} for {str(path)!r} does not exist")
        self.parquet = self.path.name.lower().endswith(".parquet")
        self._handle: Any = None
        self._schema = None

    def write(self, chunk: pd.DataFrame) -> None:
        if not self.parquet:
            if self._handle is None:
                self._handle = open(self.path, "w", newline="", encoding="utf-8")
                chunk.to_csv(self._handle)
            else:
                chunk.to_csv(self._handle, header=False)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(chunk, preserve_index=True)
        if self._handle is None:
            self._schema = table.schema
            self._handle = pq.ParquetWriter(self.path, self._schema)
        else:
            # a chunk whose text column is all missing has no type of its own
            table = table.cast(self._schema)
        self._handle.write_table(table)

    def discard(self) -> None:
        """Remove a partly written output: only a regular file this writer wrote (never a
        device such as /dev/full, a pipe or what a symbolic link points at)."""
        if self._handle is not None and not self.path.is_symlink() and self.path.is_file():
            self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _features(model: Any) -> list[str]:
    return list(dict.fromkeys(f for test in model.tests.values() for f in test.features))


def needed_columns(model: Any) -> list[str]:
    """The columns a profile reads: every test's features and the entitlement."""
    needed = [f for test in model.tests.values() for f in test.features]
    bd = model.tests.get("benefit_duration")
    if bd is not None and getattr(bd, "entitlement_col", None):
        needed.append(bd.entitlement_col)
    return list(dict.fromkeys(needed))


def profile_rules(model: Any, id_col: str | None) -> dict[str, Any]:
    """What the reader checks of a profile's input, the same for both engines: the columns
    the profile reads (the model's, the row key and the spell keys), numbers in the
    numeric features and the entitlement, text allowed in the categorical ones and the key."""
    numeric, text = set(), {id_col} - {None}
    for test in model.tests.values():
        spec = test._require_fitted()
        numeric.update(f for f in spec.features if f not in spec.levels)
        text.update(spec.levels)
    bd = model.tests.get("benefit_duration")
    if bd is not None and getattr(bd, "entitlement_col", None):
        numeric.add(bd.entitlement_col)
    read = [*needed_columns(model), *({id_col} - {None}), *sorted(SPELL_KEYS)]
    return {"numeric": numeric, "text": text, "columns": list(dict.fromkeys(read))}


def schema_rules(model: Any, id_col: str | None) -> list[str]:
    """The columns a profile reads whose schema rules (ranges, types) are checked."""
    return [c for c in needed_columns(model) if c in SCHEMA and c != id_col]


def profile_stream(model: Any, data: str | os.PathLike, out: str | os.PathLike, *,
                   id_col: str | None = "client_id", chunk_rows: int = CHUNK_ROWS,
                   options: dict[str, Any] | None = None) -> StreamSummary:
    """Profile every record of ``data`` into ``out`` one chunk at a time.

    The rows of ``out`` are those of ``model.profile`` on the whole file: the
    same values, in file order, keyed by ``id_col`` when the data have it
    (else by row number).

    Examples
    --------
    >>> import anker, os, tempfile, warnings
    >>> df = anker.simulate_population(n_per_cohort=1_000, seed=1).data
    >>> folder = tempfile.mkdtemp()
    >>> df.to_csv(os.path.join(folder, "records.csv"), index=False)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = anker.AnkerModel().fit(df)
    ...     summary = profile_stream(model, os.path.join(folder, "records.csv"),
    ...                              os.path.join(folder, "profiles.csv"), chunk_rows=500)
    >>> summary.rows, summary.chunks
    (2000, 4)
    """
    header = columns_of(data)
    require_columns(pd.DataFrame(columns=header), _features(model), role="profile")
    rules = profile_rules(model, id_col)
    read = [c for c in header if c in rules["columns"]]
    known = [c for c in schema_rules(model, id_col) if c in header]
    keys = [c for c in read if c in SPELL_KEYS]

    def reread(number: int) -> pd.DataFrame:  # only to confirm a repeated spell
        for j, chunk in enumerate(iter_chunks(data, columns=keys, chunk_rows=chunk_rows)):
            if j == number:
                return chunk
        raise AnkerDataError(f"{data}: chunk {number + 1} not found on a second reading")

    checks = RecordChecks(source=str(data), csv_lines=_kind(Path(data)) == "csv",
                          reread=reread, **rules)
    summary = StreamSummary()
    seen: dict[str, list] = {}
    writer = _Writer(out)
    total = count_rows(data) if interactive() else None
    done = False
    try:
        with progress(total or 0, desc="profile (clients)") as bar:
            for chunk in iter_chunks(data, columns=read, chunk_rows=chunk_rows):
                first = summary.rows
                where = f"{data}, rows {first + 1:,}-{first + len(chunk):,}"
                checks.check(chunk, first_row=first)  # the in-memory reader's checks, per chunk
                if id_col in chunk.columns:
                    chunk = chunk.set_index(id_col, drop=False)
                else:
                    chunk.index = pd.RangeIndex(first, first + len(chunk))
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    try:
                        if known:
                            validate(chunk, columns=known)
                        profiles = model.profile(chunk, **(options or {}))
                    except AnkerDataError as exc:
                        raise AnkerDataError(f"{where}: {exc}", columns=exc.columns) from None
                for w in caught:
                    # one line per kind of warning: the first chunk's words and how often
                    first_seen = seen.setdefault(w.category.__name__, [f"{where}: {w.message}", 0])
                    first_seen[1] += 1
                writer.write(profiles)
                summary.add(profiles)
                bar.total = max(bar.total, summary.rows)
                bar.update(len(chunk))
        done = True
    finally:
        try:
            writer.close()
        finally:
            if not done:  # half a profile is no profile: never leave one that looks complete
                writer.discard()
    if summary.rows == 0:
        raise AnkerDataError(f"{str(data)!r} holds no records")
    summary.warnings = [text if count == 1 else f"{text} (and {count - 1:,} more chunk(s) "
                        f"of the {summary.chunks:,} with this {name})"
                        for name, (text, count) in seen.items()]
    return summary


def profile_on_dask(model: Any, data: str | os.PathLike, out: str | os.PathLike, *,
                    id_col: str | None = "client_id", options: dict[str, Any] | None = None,
                    threads: int | None = None) -> StreamSummary:
    """Profile a Parquet file or folder on a local Dask cluster; ``out`` is a CSV file or a
    Parquet folder."""
    try:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
    except ImportError:
        raise AnkerError("--engine dask needs Dask: pip install 'anker[dask]'") from None
    if _kind(Path(data)) == "csv":
        raise ValueError("--engine dask reads a Parquet file or a folder of Parquet files; "
                         "convert the CSV first, or use the default streaming engine")
    header = columns_of(data)
    require_columns(pd.DataFrame(columns=header), _features(model), role="profile")
    read = [c for c in header if c in needed_columns(model) or c == id_col]
    threads = threads or min(4, os.cpu_count() or 1)
    target = str(out)
    as_csv = target.lower().endswith(".csv")
    # silence_logs: a failing partition's worker log (with its traceback) would print beside
    # the one-line error; the exception itself reaches the command line's error handler
    with LocalCluster(processes=False, n_workers=1, threads_per_worker=threads,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ddf = dd.read_parquet(str(data), columns=read)
        if id_col in read:
            ddf = ddf.map_partitions(lambda part: part.set_index(id_col, drop=False))
        lazy = model.profile(ddf, **(options or {}))
        if as_csv:
            lazy.to_csv(target, single_file=True)
        else:
            lazy.to_parquet(target)
        # the counts of the summary line from the written profiles: a second pass over three
        # columns instead of a second scoring
        columns = [c for c in ("route", "trajectory_advice", "wwb_flag", *MEAN_COLUMNS)
                   if c in lazy.columns]
        written = (dd.read_csv(target, usecols=columns) if as_csv
                   else dd.read_parquet(target, columns=columns))
        summary = StreamSummary(chunks=int(lazy.npartitions))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty frame: only its attrs are wanted
            summary.describe(model.profile(ddf._meta, **(options or {})).attrs)
        summary.add(written.map_partitions(tally, meta=tally(written._meta)).sum().compute()
                    .to_frame().T, tallied=True)
    kinds: dict[str, list] = {}
    for w in caught:
        if not issubclass(w.category, (DeprecationWarning, FutureWarning)):
            kinds.setdefault(w.category.__name__, [str(w.message), 0])[1] += 1
    summary.warnings = [text if count == 1 else f"{text} (and {count - 1:,} more partition(s) "
                        f"with this {name})" for name, (text, count) in kinds.items()]
    return summary


def run_profile(model: Any, args: Any) -> int:
    """`anker profile` with ``--engine stream`` or ``--engine dask``: one summary line."""
    options = {"extrapolate": True} if getattr(args, "extrapolate", False) else {}
    if args.engine == "dask":
        summary = profile_on_dask(model, args.data, args.out, id_col=args.id_col, options=options)
    else:
        summary = profile_stream(model, args.data, args.out, id_col=args.id_col,
                                 chunk_rows=args.chunk_rows, options=options)
    from anker.cli._config import say_warnings

    say_warnings(summary.warnings)
    print(summary.line(args.out))
    return 0
