"""Storage of the decision log: its table layout and the two backends behind `anker.DecisionLog`.

`_SQLiteStore` uses the standard library's ``sqlite3`` (WAL journal, one
transaction and one fsync per record); `_SQLAlchemyStore` reaches any
database SQLAlchemy does, an optional dependency imported only when such a
URL is given. Both offer the same small interface (tables, create, prepare,
meta, columns, insert, fetch, close); `anker.decisions` holds what a log
means, this module only how its rows are kept.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anker.errors import AnkerModelFileError

# (name, SQL type, NOT NULL) in column order; "id" is added by each store
_COLUMNS = (
    ("timestamp", "TEXT", True),
    ("client_id", "TEXT", True),
    ("advice", "TEXT", True),
    ("decision", "TEXT", True),
    ("is_override", "INTEGER", True),
    ("direction", "TEXT", True),
    ("reason", "TEXT", False),
    ("coach_id", "TEXT", True),
    ("office", "TEXT", False),
    ("group", "TEXT", False),
    ("compliance_judgement", "TEXT", False),
    ("motivation", "TEXT", False),
    ("competence", "TEXT", False),
    ("scores", "TEXT", False),
)
_NAMES = ("id",) + tuple(name for name, _, _ in _COLUMNS)
# the database itself refuses an override without a reason, whatever client writes
_CHECK = "is_override IN (0, 1) AND (is_override = 0 OR reason IS NOT NULL)"


def _sqlite_path(target: str) -> str | None:
    """The file path of a plain SQLite target, or None for a SQLAlchemy URL."""
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", target):
        return target
    if target in ("sqlite://", "sqlite:///:memory:"):
        return ":memory:"
    if target.startswith("sqlite:///") and "?" not in target:
        return target[len("sqlite:///"):]
    return None


def _redact(url: str) -> str:
    # never echo a database password in an error message
    return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)


class _SQLiteStore:
    """Standard-library sqlite3: WAL journal, synchronous=FULL, one transaction per insert."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:  # autocommit mode: transactions are opened explicitly
            self.conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        except sqlite3.OperationalError as exc:
            if not Path(path).parent.is_dir():
                raise FileNotFoundError(f"cannot create decision log {path}: "
                                        f"directory {Path(path).parent} does not exist") from None
            raise AnkerModelFileError(f"cannot open decision log {path}: {exc}") from None

    def _run(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # the bare class: not a database, malformed
                raise
            raise AnkerModelFileError(f"{self.path} is not a decision log or is damaged: {exc}") from None

    def _transaction(self, statements: Sequence[tuple[str, Any]]) -> int | None:
        self._run("BEGIN IMMEDIATE")
        try:
            last = [self._run(sql, params).lastrowid for sql, params in statements][-1]
            self._run("COMMIT")
        except BaseException:
            self.conn.rollback()
            raise
        return last

    def tables(self) -> set[str]:
        rows = self._run("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {name for (name,) in rows if not name.startswith("sqlite_")}

    def create(self, meta: dict[str, str]) -> None:
        columns = ", ".join(f'"{name}" {kind}{" NOT NULL" if required else ""}'
                            for name, kind, required in _COLUMNS)
        self._transaction([
            ("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)", ()),
            ("CREATE TABLE IF NOT EXISTS decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, "
             f"{columns}, CHECK ({_CHECK}))", ()),
            # another process may have created the log meanwhile: keep its meta
            *(("INSERT OR IGNORE INTO meta VALUES (?, ?)", item) for item in meta.items()),
        ])

    def prepare(self) -> None:
        # WAL keeps committed rows through a crash mid-write; FULL syncs every commit
        self._run("PRAGMA journal_mode = WAL")
        self._run("PRAGMA synchronous = FULL")

    def meta(self) -> dict[str, str]:
        return dict(self._run("SELECT key, value FROM meta").fetchall())

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self._run(f'PRAGMA table_info("{table}")').fetchall()}

    def insert(self, row: dict[str, Any]) -> int:
        names = _NAMES[1:]
        quoted = ", ".join(f'"{name}"' for name in names)
        sql = f"INSERT INTO decisions ({quoted}) VALUES ({', '.join('?' * len(names))})"
        return int(self._transaction([(sql, [row[name] for name in names])]))

    def fetch(self) -> list[tuple]:
        quoted = ", ".join(f'"{name}"' for name in _NAMES)
        return self._run(f"SELECT {quoted} FROM decisions ORDER BY id").fetchall()

    def close(self) -> None:
        self.conn.close()


class _SQLAlchemyStore:
    """Any database SQLAlchemy reaches (an optional dependency, imported here only)."""

    def __init__(self, url: str, name: str) -> None:
        try:
            import sqlalchemy as sa
        except ImportError:
            raise ImportError(
                f"DecisionLog({name!r}) needs SQLAlchemy for database URLs other than "
                "'sqlite:///path'; install it (pip install sqlalchemy) or pass a file path"
            ) from None
        self.sa, self.name, self.engine = sa, name, sa.create_engine(url)
        self.metadata = sa.MetaData()
        self.meta_table = sa.Table("meta", self.metadata, sa.Column("key", sa.String(64), primary_key=True),
                                   sa.Column("value", sa.Text, nullable=False))
        kinds = {"TEXT": sa.Text, "INTEGER": sa.Integer}
        self.table = sa.Table(
            "decisions", self.metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            *(sa.Column(name, kinds[kind], nullable=not required) for name, kind, required in _COLUMNS),
            sa.CheckConstraint(_CHECK),
        )

    def tables(self) -> set[str]:
        try:
            return set(self.sa.inspect(self.engine).get_table_names())
        except self.sa.exc.SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise AnkerModelFileError(f"cannot open decision log {self.name}: {reason}") from None

    def create(self, meta: dict[str, str]) -> None:
        with self.engine.begin() as conn:
            self.metadata.create_all(conn)
            conn.execute(self.meta_table.insert(), [{"key": k, "value": v} for k, v in meta.items()])

    def prepare(self) -> None:
        """Nothing to set: durability is the database server's."""

    def meta(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return dict(conn.execute(self.sa.select(self.meta_table)).all())

    def columns(self, table: str) -> set[str]:
        return {column["name"] for column in self.sa.inspect(self.engine).get_columns(table)}

    def insert(self, row: dict[str, Any]) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(self.table.insert().values(**row)).inserted_primary_key[0])

    def fetch(self) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(self.sa.select(self.table).order_by(self.table.c.id))]

    def close(self) -> None:
        self.engine.dispose()
