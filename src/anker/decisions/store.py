"""Storage of the decision log: its table layout and the two backends behind `anker.DecisionLog`.

`_SQLiteStore` uses the standard library's ``sqlite3`` (WAL journal, one
transaction and one fsync per record); `_SQLAlchemyStore` reaches any
database SQLAlchemy does, an optional dependency imported only when such a
URL is given. Both offer the same small interface (tables, create, prepare,
meta, columns, insert, fetch, close); `anker.decisions` holds what a log
means, this module only how its rows are kept.

What the database itself guarantees, whoever writes to it:

* an override has a reason (a CHECK constraint);
* the log is append-only: triggers make any ``UPDATE`` or ``DELETE`` of
  ``decisions`` fail, on SQLite and on PostgreSQL (and ``TRUNCATE`` there). On any
  other database SQLAlchemy reaches (MySQL, SQL Server, Oracle, ...) anker has no
  triggers: opening such a log warns (:class:`anker.errors.AppendOnlyWarning`),
  every time, that only anker's own code keeps it append-only;
* creating a log is idempotent under concurrency: SQLite creates it in one
  ``BEGIN IMMEDIATE`` transaction, PostgreSQL under a transaction-level
  advisory lock, so eight processes opening a new log at once make one;
* ``?mode=ro`` (or ``read_only=True``) opens the log read-only: SQLite in its
  read-only URI mode, PostgreSQL with read-only transactions;
* concurrent writers wait their turn: SQLite's busy handler waits up to
  ``_BUSY_TIMEOUT`` seconds per statement, and a transaction that still finds the
  log locked (its waiters are not served in order, so one can lose the race many
  times under load) is rolled back and tried again, with growing random pauses,
  for up to ``_BUSY_DEADLINE`` seconds; only then is it a ``DecisionLogError``
  ("busy"). A record is written once or not at all.

Every failure of the backend (a damaged file, a refused connection, a
missing driver, a read-only database asked to write, a raw UPDATE stopped by
a trigger) is raised as :class:`anker.errors.DecisionLogError` naming the log
(passwords redacted).
"""

from __future__ import annotations

import contextlib
import random
import re
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from anker.errors import DecisionLogError

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
_APPEND_ONLY = "the anker decision log is append-only: rows cannot be changed or deleted"
_SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER IF NOT EXISTS decisions_append_only_{op.lower()} BEFORE {op} ON decisions "
    f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
    for op in ("UPDATE", "DELETE"))
_BUSY_TIMEOUT = 10.0  # seconds SQLite's busy handler waits per statement
_BUSY_DEADLINE = 180.0  # seconds one operation is retried while the log is locked
_PG_LOCK = 0x616E6B6572  # "anker": one advisory lock for creating and upgrading a log
_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION anker_decisions_append_only() RETURNS trigger "
    f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY} (%)', TG_OP; END $$")
_PG_TRIGGERS = (
    "CREATE TRIGGER anker_decisions_append_only BEFORE UPDATE OR DELETE ON decisions "
    "FOR EACH ROW EXECUTE FUNCTION anker_decisions_append_only()",
    "CREATE TRIGGER anker_decisions_no_truncate BEFORE TRUNCATE ON decisions "
    "FOR EACH STATEMENT EXECUTE FUNCTION anker_decisions_append_only()",
)


def _split_mode(target: str) -> tuple[str, bool]:
    """Strip a ``mode=ro`` / ``mode=rw`` query from a path or URL: (target, read_only)."""
    base, sep, query = target.partition("?")
    if not sep:
        return target, False
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    modes = [v for k, v in pairs if k == "mode"]
    if not modes:
        return target, False
    if modes[-1] not in ("ro", "rw", "rwc"):
        raise ValueError(f"mode={modes[-1]!r}: a decision log opens with mode=ro (read-only) "
                         "or mode=rw")
    rest = urllib.parse.urlencode([(k, v) for k, v in pairs if k != "mode"])
    return (f"{base}?{rest}" if rest else base), modes[-1] == "ro"


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


def _locked(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (with their extended codes): another connection holds it."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()


def _reason(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())
    return text or type(exc).__name__


class _SQLiteStore:
    """Standard-library sqlite3: WAL journal, synchronous=FULL, one transaction per insert."""

    enforces_append_only = True  # triggers

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.path, self.read_only = path, read_only
        try:  # autocommit mode: transactions are opened explicitly
            if read_only:
                if path == ":memory:" or not Path(path).is_file():
                    raise DecisionLogError(f"cannot open decision log {path} read-only: "
                                           "there is no such file")
                uri = f"file:{urllib.parse.quote(str(Path(path).resolve()))}?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT,
                                            isolation_level=None)
            else:
                self.conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            if not Path(path).parent.is_dir():
                raise FileNotFoundError(f"cannot create decision log {path}: "
                                        f"directory {Path(path).parent} does not exist") from None
            raise DecisionLogError(f"cannot open decision log {path}: {exc}") from None

    def _error(self, exc: sqlite3.Error) -> DecisionLogError:
        if type(exc) is sqlite3.DatabaseError:  # the bare class: not a database, malformed
            return DecisionLogError(f"{self.path} is not a decision log or is damaged: {exc}")
        if _locked(exc):
            return DecisionLogError(f"decision log {self.path} is busy: other connections kept "
                                    f"it locked for over {_BUSY_DEADLINE:g} s ({_reason(exc)}); "
                                    "nothing was recorded by this call, try again")
        return DecisionLogError(f"decision log {self.path}: {_reason(exc)}")

    def _retrying(self, operation):
        """``operation()``, tried again while the log is locked, up to ``_BUSY_DEADLINE``."""
        deadline = time.monotonic() + _BUSY_DEADLINE
        pause = 0.01
        while True:
            try:
                return operation()
            except sqlite3.Error as exc:
                if not _locked(exc) or time.monotonic() + pause > deadline:
                    raise self._error(exc) from None
            # random pauses: writers that collided do not collide again in step
            time.sleep(pause * (0.5 + random.random()))
            pause = min(2 * pause, 1.0)

    def _run(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self._retrying(lambda: self.conn.execute(sql, params))

    def _transaction(self, statements: Sequence[tuple[str, Any]]) -> int | None:
        if self.read_only:
            raise DecisionLogError(f"decision log {self.path} is open read-only (mode=ro): "
                                   "nothing can be recorded")

        def attempt() -> int | None:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                last = [self.conn.execute(sql, params).lastrowid for sql, params in statements][-1]
                self.conn.execute("COMMIT")
            except BaseException:  # nothing of a failed attempt stays: all or none
                with contextlib.suppress(sqlite3.Error):
                    self.conn.rollback()
                raise
            return last

        return self._retrying(attempt)

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
            *((sql, ()) for sql in _SQLITE_TRIGGERS),
            # another process may have created the log meanwhile: keep its meta
            *(("INSERT OR IGNORE INTO meta VALUES (?, ?)", item) for item in meta.items()),
        ])

    def prepare(self) -> None:
        if self.read_only:
            return
        # WAL keeps committed rows through a crash mid-write; FULL syncs every commit
        self._run("PRAGMA journal_mode = WAL")
        self._run("PRAGMA synchronous = FULL")
        names = {n for (n,) in self._run("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        if not {"decisions_append_only_update", "decisions_append_only_delete"} <= names:
            # a log made by an older anker: the triggers are added once
            self._transaction([(sql, ()) for sql in _SQLITE_TRIGGERS])

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
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()


class _SQLAlchemyStore:
    """Any database SQLAlchemy reaches (an optional dependency, imported here only)."""

    def __init__(self, url: str, name: str, *, read_only: bool = False) -> None:
        try:
            import sqlalchemy as sa
        except ImportError:
            raise ImportError(
                f"DecisionLog({name!r}) needs SQLAlchemy for database URLs other than "
                "'sqlite:///path'; install it (pip install sqlalchemy) or pass a file path"
            ) from None
        self.sa, self.name, self.read_only = sa, name, read_only
        try:
            parsed = sa.engine.make_url(url)
            kwargs: dict[str, Any] = {}
            if read_only and parsed.get_backend_name() == "postgresql":
                # added to the URL's own libpq options (a search_path, say), not in their place
                options = " ".join(filter(None, [parsed.query.get("options"),
                                                 "-c default_transaction_read_only=on"]))
                parsed = parsed.update_query_dict({"options": options})
            self.engine = sa.create_engine(parsed, **kwargs)
        except ImportError as exc:
            raise DecisionLogError(f"cannot open decision log {name}: its database driver is "
                                   f"not installed ({exc}); for PostgreSQL: pip install "
                                   "'anker[postgres]'") from None
        except Exception as exc:  # NoSuchModuleError, ArgumentError, ...: a bad URL
            raise DecisionLogError(f"cannot open decision log {name}: {_reason(exc)}") from None
        self.dialect = self.engine.dialect.name
        # the databases whose triggers anker writes (_ensure_triggers)
        self.enforces_append_only = self.dialect in ("sqlite", "postgresql")
        self.metadata = sa.MetaData()
        self.meta_table = sa.Table("meta", self.metadata, sa.Column("key", sa.String(64), primary_key=True),
                                   sa.Column("value", sa.Text, nullable=False))
        kinds = {"TEXT": sa.Text, "INTEGER": sa.Integer}
        self.table = sa.Table(
            "decisions", self.metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            *(sa.Column(name, kinds[kind], nullable=not required) for name, kind, required in _COLUMNS),
            sa.CheckConstraint(_CHECK),
        )

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except DecisionLogError:
            raise
        except self.sa.exc.SQLAlchemyError as exc:
            raise DecisionLogError(f"decision log {self.name}: cannot {what}: {_reason(exc)}") from None

    def _writable(self) -> None:
        if self.read_only:
            raise DecisionLogError(f"decision log {self.name} is open read-only (mode=ro): "
                                   "nothing can be recorded")

    def tables(self) -> set[str]:
        with self._errors("open it"):
            return set(self.sa.inspect(self.engine).get_table_names())

    def _lock(self, conn) -> None:
        if self.dialect == "postgresql":  # serialises creation across processes
            conn.execute(self.sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})

    def _ensure_triggers(self, conn) -> None:
        text = self.sa.text
        if self.dialect == "postgresql":
            found = {r[0] for r in conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'decisions'::regclass"))}
            missing = [sql for sql in _PG_TRIGGERS if sql.split()[2] not in found]
            if missing:
                conn.execute(text(_PG_FUNCTION))
                for sql in missing:
                    conn.execute(text(sql))
        elif self.dialect == "sqlite":
            for sql in _SQLITE_TRIGGERS:
                conn.execute(text(sql))

    def create(self, meta: dict[str, str]) -> None:
        self._writable()
        with self._errors("create it"), self.engine.begin() as conn:
            self._lock(conn)
            # another process may have created the log while we waited for the lock
            self.metadata.create_all(conn, checkfirst=True)
            present = {r[0] for r in conn.execute(self.sa.select(self.meta_table.c.key))}
            rows = [{"key": k, "value": v} for k, v in meta.items() if k not in present]
            if rows:
                conn.execute(self.meta_table.insert(), rows)
            self._ensure_triggers(conn)

    def prepare(self) -> None:
        """Add the append-only triggers to a log made by an older anker (durability is the server's)."""
        if self.read_only:
            return
        with self._errors("prepare it"), self.engine.begin() as conn:
            self._lock(conn)
            self._ensure_triggers(conn)

    def meta(self) -> dict[str, str]:
        with self._errors("read its meta table"), self.engine.connect() as conn:
            return dict(conn.execute(self.sa.select(self.meta_table)).all())

    def columns(self, table: str) -> set[str]:
        with self._errors("read its columns"):
            return {column["name"] for column in self.sa.inspect(self.engine).get_columns(table)}

    def insert(self, row: dict[str, Any]) -> int:
        self._writable()
        with self._errors("record a decision"), self.engine.begin() as conn:
            return int(conn.execute(self.table.insert().values(**row)).inserted_primary_key[0])

    def fetch(self) -> list[tuple]:
        with self._errors("read the decisions"), self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(self.sa.select(self.table).order_by(self.table.c.id))]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.engine.dispose()
