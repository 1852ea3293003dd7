"""The decision log on each backend: SQLite and a real PostgreSQL server.

`.ci/run` starts a private PostgreSQL server and exports its URL as
``ANKER_TEST_POSTGRES_URL``. Without it the PostgreSQL cases skip, with a
reason, on a developer's machine; under CI (``CI=true``) they fail, so a CI
run that lost its server cannot pass by skipping.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from anker.decisions import DecisionLog
from anker.errors import AnkerWarning, DecisionLogError

PG_URL = os.environ.get("ANKER_TEST_POSTGRES_URL", "")
WRITER = Path(__file__).parent / "helpers" / "decision_writer.py"
T0 = datetime(2007, 3, 1, 9, 30, tzinfo=timezone.utc)


def _need_postgres() -> None:
    missing = None
    if not PG_URL:
        missing = "ANKER_TEST_POSTGRES_URL is not set (.ci/run starts a server and sets it)"
    else:
        try:
            import psycopg  # noqa: F401
            import sqlalchemy  # noqa: F401
        except ImportError as exc:
            missing = f"the PostgreSQL driver is not installed ({exc}); pip install -e '.[dev]'"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but no PostgreSQL for the decision-log tests: {missing}")
        pytest.skip(f"no PostgreSQL server: {missing}")


@pytest.fixture
def pg_url():
    """A URL to a fresh schema of the test server, dropped afterwards."""
    _need_postgres()
    import sqlalchemy as sa

    schema = f"anker_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "decisions.sqlite")
    return request.getfixturevalue("pg_url")


def _raw(target: str, sql: str) -> None:
    """Run SQL straight through the driver, past anker."""
    if "://" not in target:
        conn = sqlite3.connect(target)
        try:
            conn.execute(sql)
            conn.commit()
        finally:
            conn.close()
        return
    import sqlalchemy as sa

    engine = sa.create_engine(target)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def _record(log: DecisionLog, i: int, **extra) -> int:
    override = i % 3 == 0
    return log.record(client_id=f"c{i}", advice="trajectory",
                      decision="no trajectory" if override else "trajectory",
                      reason="r" if override else None, coach_id=f"k{i % 4}",
                      timestamp=T0, **extra)


def test_round_trip_and_append_only_enforced_by_the_database(target: str) -> None:
    with DecisionLog(target) as log:
        ids = [_record(log, i, scores={"i": i}) for i in range(1, 7)]
    assert ids == sorted(ids) and len(set(ids)) == 6
    for sql in ("UPDATE decisions SET reason = 'changed'", "DELETE FROM decisions"):
        with pytest.raises(Exception, match="append-only"):
            _raw(target, sql)
    with DecisionLog(target) as log:
        frame = log.decisions()
        assert frame["client_id"].tolist() == [f"c{i}" for i in range(1, 7)]
        assert frame["reason"].tolist() == ["r" if i % 3 == 0 else None for i in range(1, 7)]
        assert [json.loads(s)["i"] for s in frame["scores"]] == list(range(1, 7))
        assert log.override_rates(by=None)["n_overrides"].tolist() == [2]


def test_read_only_mode_is_honoured(target: str) -> None:
    with DecisionLog(target) as log:
        _record(log, 1)
    ro = f"{target}{'&' if '?' in target else '?'}mode=ro"
    with DecisionLog(ro) as log:
        assert log.read_only
        assert log.decisions()["client_id"].tolist() == ["c1"]
        with pytest.raises(DecisionLogError, match="read-only"):
            _record(log, 2)
    with DecisionLog(target, read_only=True) as log, pytest.raises(DecisionLogError):
        _record(log, 3)
    with DecisionLog(target) as log:
        assert len(log.decisions()) == 1


def test_read_only_never_creates(tmp_path: Path) -> None:
    with pytest.raises(DecisionLogError, match="no such file"):
        DecisionLog(tmp_path / "new.sqlite", read_only=True)
    assert not (tmp_path / "new.sqlite").exists()


def test_a_timestamp_beyond_the_calendar_never_breaks_reading(target: str) -> None:
    with DecisionLog(target) as log:
        _record(log, 1)
        with pytest.raises(ValueError, match="timestamp.*1970-2199"):
            log.record(client_id="c", advice="A", decision="A", coach_id="k",
                       timestamp=datetime(2300, 1, 1, tzinfo=timezone.utc))
    # written past anker (an older version, or by hand): inserts are allowed, edits are not
    _raw(target, "INSERT INTO decisions (timestamp, client_id, advice, decision, is_override, "
                 "direction, coach_id) VALUES ('2300-01-01T00:00:00.000000+00:00', 'c9', 'A', "
                 "'A', 0, 'none', 'k')")
    for _ in range(2):  # also after reopening
        with DecisionLog(target) as log, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = log.decisions()
            assert len(log.overrides()) == 0
            assert log.override_rates(by="coach_id")["n_decisions"].sum() == 2
        assert frame["timestamp"].isna().tolist() == [False, True]
        assert frame["timestamp"].iloc[0] == pd.Timestamp(T0)
        assert any(issubclass(w.category, AnkerWarning) and "2300" in str(w.message)
                   for w in caught)


def test_text_a_database_cannot_store_is_refused_by_name(target: str) -> None:
    with DecisionLog(target) as log:
        with pytest.raises(ValueError, match="reason.*NUL"):
            log.record(client_id="c", advice="A", decision="B", reason="a\x00b", coach_id="k")
        assert log.decisions().empty


def _open_and_write(target: str, tag: str, n: int, barrier) -> None:
    barrier.wait()  # every process opens the new log at the same moment
    with DecisionLog(target) as log:
        for i in range(n):
            log.record(client_id=f"{tag}-{i}", advice="A", decision="A", coach_id=tag)


def test_concurrent_writers_create_one_log_and_lose_nothing(target: str) -> None:
    # fork where there is one (quick); the parent has opened no connection yet
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    barrier = ctx.Barrier(6)
    procs = [ctx.Process(target=_open_and_write, args=(target, f"w{k}", 15, barrier))
             for k in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * 6
    with DecisionLog(target) as log:
        frame = log.decisions()
    assert len(frame) == 90 and frame["id"].is_unique
    assert frame.groupby("coach_id").size().to_dict() == {f"w{k}": 15 for k in range(6)}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_writer_killed_mid_stream_loses_no_committed_record(pg_url: str) -> None:
    proc = subprocess.Popen([sys.executable, str(WRITER), pg_url, "kill", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reports = []
    try:
        for line in proc.stdout:
            if line.startswith("committed"):
                _, row_id, _, i = line.split()
                reports.append((int(row_id), int(i)))
            if len(reports) >= 40:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        reports += [(int(r), int(i)) for _, r, _, i in
                    (ln.split() for ln in proc.stdout if ln.startswith("committed"))]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL and len(reports) >= 40
    with DecisionLog(pg_url) as log:
        frame = log.decisions().set_index("id")
        # the log stays writable after its writer died mid-transaction
        new_id = _record(log, 99)
    for row_id, i in reports:
        assert frame.loc[row_id, "client_id"] == f"kill-{i}"
        assert json.loads(frame.loc[row_id, "scores"]) == {"i": i, "p_work_6m": i / 1000}
    assert new_id > max(frame.index)


def test_backend_failures_are_decision_log_errors(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    with pytest.raises(DecisionLogError, match="nosuchdriver"):
        DecisionLog("nosuchdriver://host/db")
    with pytest.raises(DecisionLogError, match=r"\*\*\*") as info:
        DecisionLog("postgresql+psycopg://coach:secret@127.0.0.1:1/anker")
    assert "secret" not in str(info.value)
    damaged = tmp_path / "damaged.sqlite"
    with DecisionLog(damaged) as log:
        _record(log, 1)
    data = bytearray(damaged.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    damaged.write_bytes(bytes(data))
    with pytest.raises(DecisionLogError):
        with DecisionLog(damaged) as log:
            log.decisions()


def test_a_log_from_before_the_triggers_gets_them_on_open(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite")
    DecisionLog(path).close()
    _raw(path, "DROP TRIGGER decisions_append_only_update")
    _raw(path, "DROP TRIGGER decisions_append_only_delete")
    with DecisionLog(path) as log:
        _record(log, 1)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        _raw(path, "DELETE FROM decisions")


def test_a_database_that_refuses_writes_is_a_decision_log_error(tmp_path: Path) -> None:
    # what a read-only file gives (root ignores file modes, so ask SQLite itself)
    with DecisionLog(tmp_path / "ro.sqlite") as log:
        log._store.conn.execute("PRAGMA query_only = ON")
        with pytest.raises(DecisionLogError, match="readonly|read-only"):
            _record(log, 1)


def _hold_write_lock(path: str, seconds: float) -> threading.Thread:
    """Another connection takes the write lock now and keeps it for ``seconds``."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")

    def release() -> None:
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_a_writer_waits_past_sqlites_busy_timeout_and_records_once(tmp_path: Path,
                                                                  monkeypatch) -> None:
    """Under load one waiter can lose the race for the lock again and again, beyond SQLite's
    own busy timeout ('database is locked'): the transaction is retried, within a bound."""
    from anker.decisions import store

    monkeypatch.setattr(store, "_BUSY_TIMEOUT", 0.05)  # SQLite alone would give up after 50 ms
    path = str(tmp_path / "busy.sqlite")
    with DecisionLog(path) as log:
        _record(log, 0)
        holder = _hold_write_lock(path, 1.0)
        started = time.monotonic()
        _record(log, 1)  # waits about a second, then writes
        holder.join()
        assert time.monotonic() - started >= 0.9
        frame = log.decisions()
    assert frame["client_id"].tolist() == ["c0", "c1"]  # written once, nothing lost


def test_a_log_locked_beyond_the_bound_is_a_decision_log_error(tmp_path: Path,
                                                               monkeypatch) -> None:
    from anker.decisions import store

    monkeypatch.setattr(store, "_BUSY_TIMEOUT", 0.05)
    monkeypatch.setattr(store, "_BUSY_DEADLINE", 0.5)
    path = str(tmp_path / "busy.sqlite")
    with DecisionLog(path) as log:
        holder = _hold_write_lock(path, 2.0)
        with pytest.raises(DecisionLogError, match="is busy: other connections kept it locked"):
            _record(log, 1)
        holder.join()
        assert log.decisions().empty  # nothing half-written
        _record(log, 2)  # and the log works once the lock is free
        assert len(log.decisions()) == 1


def test_a_database_without_anker_triggers_says_so_at_open(tmp_path: Path) -> None:
    """A third SQLAlchemy dialect (here SQLite under another name, so no server is needed):
    anker writes no triggers for it, so it warns at every open, and the warning is true."""
    pytest.importorskip("sqlalchemy")
    from sqlalchemy.dialects import registry
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

    from anker.errors import AppendOnlyWarning

    class OtherDialect(SQLiteDialect_pysqlite):
        name = "ankerotherdb"
        supports_statement_cache = True

    module = type(sys)("anker_test_other_dialect")
    module.OtherDialect = OtherDialect
    sys.modules[module.__name__] = module
    registry.register("ankerotherdb", module.__name__, "OtherDialect")
    path = tmp_path / "other.sqlite"
    for _ in range(2):  # at creation and at every later open
        with pytest.warns(AppendOnlyWarning, match="ankerotherdb database does not enforce"):
            with DecisionLog(f"ankerotherdb:///{path}") as log:
                _record(log, 1)
    _raw(str(path), "UPDATE decisions SET advice = 'changed'")  # no trigger stops it
    with warnings.catch_warnings():
        warnings.simplefilter("error", AppendOnlyWarning)  # SQLite itself: enforced, silent
        with DecisionLog(tmp_path / "plain.sqlite") as log:
            _record(log, 1)
