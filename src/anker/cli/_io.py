"""Reading user records for the command line, with one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from anker.errors import AnkerDataError


def read_records(path: str) -> pd.DataFrame:
    """Read a CSV (optionally .gz) or Parquet file of client records."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"data file {path!r} does not exist")
    if p.is_dir():
        raise IsADirectoryError(f"{path!r} is a folder, expected a CSV or Parquet file")
    name = p.name.lower()
    try:
        if name.endswith(".parquet"):
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ImportError,
            OSError) as exc:
        raise AnkerDataError(f"cannot read {path!r} as records: {type(exc).__name__}: {exc}") from None
    if df.empty:
        raise AnkerDataError(f"{path!r} holds no records")
    return df


def write_table(df: pd.DataFrame, path: str) -> None:
    p = Path(path)
    if not p.parent.exists():
        raise FileNotFoundError(f"folder {str(p.parent)!r} for {path!r} does not exist")
    if p.name.lower().endswith(".parquet"):
        df.to_parquet(p)
    else:
        df.to_csv(p)
