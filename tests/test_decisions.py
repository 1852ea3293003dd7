"""Tests for anker.decisions: the decision log and its override rates."""

from __future__ import annotations

import json
import math
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import anker
from anker.decisions import SCHEMA_VERSION, DecisionLog, override_direction
from anker.errors import AnkerModelFileError

WRITER = Path(__file__).parent / "helpers" / "decision_writer.py"
T0 = datetime(2007, 3, 1, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "decisions.sqlite"


def test_public_name() -> None:
    assert anker.DecisionLog is DecisionLog


def test_round_trip_all_fields(log_path: Path) -> None:
    amsterdam = timezone(timedelta(hours=1))
    with DecisionLog(log_path) as log:
        first = log.record(
            client_id=101, advice="no trajectory", decision=" Trajectory ",
            reason="  lost driving licence  ", coach_id="k7", office="Utrecht",
            group="western", compliance_judgement="will comply", motivation="high",
            competence="sufficient",
            scores=pd.Series({"p_sanction": np.float64(0.12), "p_work_6m": np.nan, "n": np.int64(3)}),
            timestamp=datetime(2007, 3, 1, 10, 30, tzinfo=amsterdam),
        )
        second = log.record(client_id="c2", advice="B", decision="B", coach_id=8, timestamp=T0)
    assert (first, second) == (1, 2)

    with DecisionLog(f"sqlite:///{log_path}") as log:  # reopen through a URL, no SQLAlchemy
        frame = log.decisions()
    assert list(frame["id"]) == [1, 2]
    row = frame.iloc[0]
    assert row["client_id"] == "101" and row["coach_id"] == "k7"
    assert row["advice"] == "no trajectory" and row["decision"] == "Trajectory"
    assert row["reason"] == "lost driving licence"
    assert bool(row["is_override"]) and row["direction"] == "more support"
    assert (row["office"], row["group"]) == ("Utrecht", "western")
    assert (row["compliance_judgement"], row["motivation"], row["competence"]) == (
        "will comply", "high", "sufficient")
    # NaN is stored as JSON null, numpy scalars as plain numbers
    assert json.loads(row["scores"]) == {"p_sanction": 0.12, "p_work_6m": None, "n": 3}
    # 10:30 at UTC+1 is 09:30 UTC
    assert row["timestamp"] == pd.Timestamp("2007-03-01 09:30", tz="UTC")
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    other = frame.iloc[1]
    assert not other["is_override"] and other["direction"] == "none"
    assert other["coach_id"] == "8"
    assert other["reason"] is None and other["office"] is None and other["scores"] is None


def test_default_timestamp_is_now_utc() -> None:
    with DecisionLog(":memory:") as log:
        before = pd.Timestamp.now(tz="UTC")
        log.record(client_id="c1", advice="A", decision="A", coach_id="k1")
        after = pd.Timestamp.now(tz="UTC")
        stamp = log.decisions()["timestamp"].iloc[0]
    assert before - pd.Timedelta(milliseconds=1) <= stamp <= after


def test_override_without_reason_is_refused(log_path: Path) -> None:
    with DecisionLog(log_path) as log:
        for reason in (None, "", "   "):
            with pytest.raises(ValueError, match="reason"):
                log.record(client_id="c1", advice="trajectory", decision="no trajectory",
                           reason=reason, coach_id="k1", timestamp=T0)
        assert len(log.decisions()) == 0
        # following the advice needs no reason
        log.record(client_id="c1", advice="trajectory", decision="TRAJECTORY", coach_id="k1")
        assert len(log.decisions()) == 1 and log.overrides().empty


def test_database_refuses_override_without_reason_too(log_path: Path) -> None:
    DecisionLog(log_path).close()
    conn = sqlite3.connect(log_path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO decisions (timestamp, client_id, advice, decision, is_override, "
            "direction, coach_id) VALUES ('2007-01-01', 'c', 'A', 'B', 1, 'more support', 'k')"
        )
    conn.close()


@pytest.mark.parametrize(
    ("advice", "decision", "direction"),
    [
        ("no trajectory", "trajectory", "more support"),
        ("trajectory", "no trajectory", "less support"),
        ("A", "B", "more support"),
        ("b", "A", "less support"),
        ("low", "high", "more monitoring"),
        ("High", "medium", "less monitoring"),
        ("A", "trajectory", "other"),
        ("refer to WWB", "keep on WW", "other"),
        (" A ", "a", "none"),
    ],
)
def test_direction(advice: str, decision: str, direction: str) -> None:
    assert override_direction(advice, decision) == direction
    with DecisionLog(":memory:") as log:
        log.record(client_id="c", advice=advice, decision=decision, reason="why",
                   coach_id="k", timestamp=T0)
        row = log.decisions().iloc[0]
    assert row["direction"] == direction
    assert bool(row["is_override"]) == (direction != "none")


def test_bad_arguments_name_the_argument() -> None:
    with DecisionLog(":memory:") as log:
        base = {"client_id": "c", "advice": "A", "decision": "A", "coach_id": "k"}
        with pytest.raises(ValueError, match="advice"):
            log.record(**{**base, "advice": " "})
        with pytest.raises(ValueError, match="coach_id"):
            log.record(**{**base, "coach_id": ""})
        with pytest.raises(TypeError, match="client_id"):
            log.record(**{**base, "client_id": 1.5})
        with pytest.raises(TypeError, match="decision"):
            log.record(**{**base, "decision": 1})
        with pytest.raises(ValueError, match="timestamp"):
            log.record(**base, timestamp=datetime(2007, 1, 1))
        with pytest.raises(ValueError, match="scores"):
            log.record(**base, scores="{not json")
        with pytest.raises(TypeError, match="scores"):
            log.record(**base, scores={"x": object()})
        with pytest.raises(ValueError, match="by"):
            log.override_rates(by="client_id")
        assert len(log.decisions()) == 0
    with pytest.raises(ValueError, match="closed"):
        log.record(**base)


@settings(max_examples=40, deadline=None)
@given(
    # NUL is refused by name (PostgreSQL text cannot hold it): see test_decisions_backends
    text=st.text(min_size=1, max_size=40).filter(lambda t: t.strip() == t and t and "\x00" not in t),
    reason=st.text(max_size=200).filter(lambda t: "\x00" not in t),
)
def test_any_text_round_trips(text: str, reason: str) -> None:
    with DecisionLog(":memory:") as log:
        log.record(client_id=text, advice=text, decision=text, coach_id=text, office=text,
                   motivation=reason or None, reason=reason or None, timestamp=T0)
        row = log.decisions().iloc[0]
    assert row["client_id"] == row["advice"] == row["office"] == text
    assert row["reason"] == (reason.strip() or None)


def _hand_log() -> DecisionLog:
    """Seven decisions: coach k1 4 (2 overrides), k2 3 (1 override), one without a group."""
    log = DecisionLog(":memory:")
    rows = [  # coach, office, group, advice, decision
        ("k1", "Utrecht", "a", "trajectory", "trajectory"),
        ("k1", "Utrecht", "a", "no trajectory", "trajectory"),  # more support
        ("k1", "Utrecht", "b", "B", "A"),  # less support
        ("k1", "Utrecht", None, "A", "A"),
        ("k2", "Zwolle", "a", "low", "high"),  # more monitoring
        ("k2", "Zwolle", "b", "B", "B"),
        ("k2", "Utrecht", "b", "no trajectory", "no trajectory"),
    ]
    for i, (coach, office, group, advice, decision) in enumerate(rows):
        log.record(client_id=f"c{i}", advice=advice, decision=decision, reason="r",
                   coach_id=coach, office=office, group=group, timestamp=T0)
    return log


def _wilson(k: int, n: int, z: float = norm.ppf(0.975)) -> tuple[float, float]:
    """Wilson score interval by its textbook formula."""
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def _check_rates(rates: pd.DataFrame, expected: dict, key) -> None:
    assert len(rates) == len(expected)
    for _, row in rates.iterrows():
        n, k = expected[key(row)]
        assert (row["n_decisions"], row["n_overrides"]) == (n, k)
        assert row["override_rate"] == pytest.approx(k / n)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(_wilson(k, n))


def test_override_rates_match_a_hand_count() -> None:
    with _hand_log() as log:
        assert list(log.overrides()["client_id"]) == ["c1", "c2", "c4"]
        by_coach = log.override_rates()
        assert list(by_coach["coach_id"]) == ["k1", "k2"]
        _check_rates(by_coach, {"k1": (4, 2), "k2": (3, 1)}, lambda r: r["coach_id"])
        _check_rates(log.override_rates(by="office"), {"Utrecht": (5, 2), "Zwolle": (2, 1)},
                     lambda r: r["office"])
        # the decision without a group label is kept as its own (missing) group
        by_group = log.override_rates(by="group")
        _check_rates(by_group, {"a": (3, 2), "b": (3, 1), None: (1, 0)},
                     lambda r: None if pd.isna(r["group"]) else r["group"])
        assert by_group["n_decisions"].sum() == 7
        # per direction: overrides in that direction among all decisions
        _check_rates(log.override_rates(by="direction"),
                     {"less support": (7, 1), "more monitoring": (7, 1), "more support": (7, 1)},
                     lambda r: r["direction"])
        by_both = log.override_rates(by=["coach_id", "direction"])
        _check_rates(by_both, {
            ("k1", "less support"): (4, 1), ("k1", "more monitoring"): (4, 0),
            ("k1", "more support"): (4, 1), ("k2", "less support"): (3, 0),
            ("k2", "more monitoring"): (3, 1), ("k2", "more support"): (3, 0),
        }, lambda r: (r["coach_id"], r["direction"]))
        _check_rates(log.override_rates(by=None), {(): (7, 3)}, lambda r: ())


def test_override_rates_ci_agrees_with_statsmodels() -> None:
    from statsmodels.stats.proportion import proportion_confint

    with _hand_log() as log:
        rates = log.override_rates(by="coach_id", alpha=0.1)
    low, high = proportion_confint(2, 4, alpha=0.1, method="wilson")
    assert (rates["ci_low"].iloc[0], rates["ci_high"].iloc[0]) == pytest.approx((low, high))


def test_empty_log() -> None:
    with DecisionLog(":memory:") as log:
        assert log.decisions().empty and log.overrides().empty
        assert list(log.decisions().columns)[:3] == ["id", "timestamp", "client_id"]
        rates = log.override_rates(by="office")
        assert rates.empty
        assert list(rates.columns) == ["office", "n_decisions", "n_overrides", "override_rate",
                                       "ci_low", "ci_high"]


def test_newer_schema_version_is_refused(log_path: Path) -> None:
    DecisionLog(log_path).close()
    with sqlite3.connect(log_path) as conn:
        assert dict(conn.execute("SELECT key, value FROM meta"))["schema_version"] == str(SCHEMA_VERSION)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.close()
    with pytest.raises(AnkerModelFileError, match="schema version 2.*upgrade") as info:
        DecisionLog(log_path)
    assert str(log_path) in str(info.value)
    with sqlite3.connect(log_path) as conn:
        conn.execute("UPDATE meta SET value = 'x' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(AnkerModelFileError, match="schema_version"):
        DecisionLog(log_path)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("this is not a database, just notes about client c1\n" * 20)
    with pytest.raises(AnkerModelFileError, match="notes.txt"):
        DecisionLog(text_file)
    assert text_file.read_text().startswith("this is not")  # left untouched

    other_db = tmp_path / "other.sqlite"
    with sqlite3.connect(other_db) as conn:
        conn.execute("CREATE TABLE clients (id INTEGER)")
    conn.close()
    with pytest.raises(AnkerModelFileError, match="other.sqlite.*no 'meta' table"):
        DecisionLog(other_db)

    foreign_meta = tmp_path / "foreign_meta.sqlite"
    with sqlite3.connect(foreign_meta) as conn:
        conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('application', 'something else')")
    conn.close()
    with pytest.raises(AnkerModelFileError, match="foreign_meta.sqlite.*not an anker decision log"):
        DecisionLog(foreign_meta)

    with pytest.raises(FileNotFoundError, match="does not exist"):
        DecisionLog(tmp_path / "no" / "such" / "dir" / "log.sqlite")


def test_empty_file_becomes_a_log(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    path.touch()
    with DecisionLog(path) as log:
        log.record(client_id="c", advice="A", decision="A", coach_id="k")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_other_urls_need_sqlalchemy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # import fails as if not installed
    with pytest.raises(ImportError, match="SQLAlchemy") as info:
        DecisionLog("postgresql://coach:secret@db.example/anker")
    assert "secret" not in str(info.value)


def test_sqlalchemy_url_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    url = f"sqlite+pysqlite:///{tmp_path / 'sa.sqlite'}"
    with DecisionLog(url) as log:
        log.record(client_id="c1", advice="A", decision="B", reason="r", coach_id="k",
                   group="g", timestamp=T0)
    with DecisionLog(url) as log:
        frame = log.decisions()
    assert frame[["client_id", "direction", "group"]].values.tolist() == [["c1", "more support", "g"]]
    # the same file opens with the plain sqlite3 store
    with DecisionLog(tmp_path / "sa.sqlite") as log:
        assert log.overrides()["reason"].tolist() == ["r"]


def _read_reports(proc: subprocess.Popen, reports: list, *, until: int, timeout: float) -> None:
    """Collect 'committed' lines until `until` reports arrived (or raise after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while len(reports) < until:
        ready, _, _ = select.select([proc.stdout], [], [], max(deadline - time.monotonic(), 0))
        line = proc.stdout.readline() if ready else ""
        if not line:
            raise AssertionError(f"writer stopped or stalled after {len(reports)} records: "
                                 f"{proc.stderr.read() if proc.poll() is not None else ''}")
        if line.startswith("committed"):
            _, row_id, tag, i = line.split()
            reports.append((int(row_id), tag, int(i)))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_no_committed_record_is_lost_when_the_writer_is_killed(log_path: Path) -> None:
    reports: list[tuple[int, str, int]] = []
    for round_no in range(2):  # the second writer appends to a log whose writer was killed
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(log_path), f"r{round_no}", "40"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            _read_reports(proc, reports, until=len(reports) + 50, timeout=60)
            os.kill(proc.pid, signal.SIGKILL)  # mid-way through more writes
            proc.wait(timeout=10)
            for line in proc.stdout:  # reports printed before the kill still count
                if line.startswith("committed"):
                    _, row_id, tag, i = line.split()
                    reports.append((int(row_id), tag, int(i)))
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL

    conn = sqlite3.connect(log_path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    with DecisionLog(log_path) as log:
        frame = log.decisions().set_index("id")
    assert len(reports) >= 100
    for row_id, tag, i in reports:
        assert frame.loc[row_id, "client_id"] == f"{tag}-{i}"
        assert frame.loc[row_id, "is_override"] == (i % 3 == 0)
        assert json.loads(frame.loc[row_id, "scores"]) == {"i": i, "p_work_6m": i / 1000}
    # each record was one transaction: ids run without gaps
    assert list(frame.index) == list(range(1, len(frame) + 1))
