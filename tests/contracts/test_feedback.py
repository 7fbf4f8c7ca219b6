"""Readers' thumbs in the search log (kb.searchlog), on both backends: distinct people counted
once however often they vote, the latest vote wins, a vote withdrawn counts for nothing, no
employee kept unless the policy allows, old votes forgotten; and a format 1 SQLite log upgraded
without losing anything."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.backends import open_backend
from kb.search.ranking import ReaderCounts as RankingCounts
from kb.searchlog.base import (
    FeedbackEvent,
    OpenEvent,
    ReaderCounts,
    SearchEvent,
    SearchLog,
    normal_query,
    pseudonym,
    tally_feedback,
)
from kb.searchlog.recorder import ReaderSignals, SearchRecorder
from kb.searchlog.sqlite import DATABASE, SqliteSearchLog
from tests.contracts import BACKENDS, fresh_url

T0 = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str | None:
    return fresh_url(request.param, request)


@pytest.fixture
def search_log(tmp_path: Path, backend: str | None) -> Iterator[SearchLog]:
    log = open_backend(tmp_path / "home", backend).open_search_log()
    yield log
    log.close()


def vote(
    minutes: int, voter: str, value: int, query: str = "LoRA rank", doc: str = "doc-a"
) -> FeedbackEvent:
    return FeedbackEvent(T0 + timedelta(minutes=minutes), query, doc, value, voter)


def test_the_ranking_reads_the_counts_the_log_makes() -> None:
    assert RankingCounts is ReaderCounts


def test_queries_are_counted_under_one_normal_form() -> None:
    assert normal_query("  LoRA\t\u3000Ｒａｎｋ ") == "lora rank" == normal_query("lora rank")
    assert normal_query("类别 不平衡") == "类别 不平衡"


def test_a_pseudonym_is_stable_short_and_keyed() -> None:
    first = pseudonym(b"secret", "employee:liam-chen")
    assert first == pseudonym(b"secret", "employee:liam-chen") and len(first) == 16
    assert first != pseudonym(b"other secret", "employee:liam-chen")
    assert "liam" not in first


def test_one_voter_counts_once_however_often_and_the_latest_vote_wins(
    search_log: SearchLog,
) -> None:
    search_log.write([vote(i, "aaaa", 1) for i in range(1000)])  # one key, a thousand times
    search_log.write([vote(0, "bbbb", 1), vote(1, "bbbb", -1)])  # changed their mind
    search_log.write([vote(0, "cccc", -1), vote(2, "cccc", 0)])  # withdrew
    search_log.write([vote(3, "dddd", -1, query="lora  RANK")])  # the same query, typed again
    search_log.write([vote(4, "aaaa", 1, doc="doc-b")])
    search_log.write([vote(1000, "eeee", 0, query="Lora rank", doc="doc-c")])  # typed last

    assert search_log.feedback_summary() == {  # keyed by the query as most recently typed
        ("Lora rank", "doc-a"): ReaderCounts(up=1, down=2),
        ("Lora rank", "doc-b"): ReaderCounts(up=1),
    }
    assert search_log.reader_signals("LORA rank") == {
        "doc-a": ReaderCounts(up=1, down=2),
        "doc-b": ReaderCounts(up=1),
    }
    assert search_log.reader_signals("something else") == {}
    assert len(search_log.feedback(T0)) == 1007  # every vote is kept, the latest counted
    assert search_log.feedback(T0 + timedelta(minutes=999))[0] == vote(999, "aaaa", 1)

    [worst, other, withdrawn] = tally_feedback(search_log.feedback(T0))
    assert (worst.query, worst.doc_id, worst.up, worst.down) == ("Lora rank", "doc-a", 1, 2)
    assert worst.last_vote == T0 + timedelta(minutes=999)
    assert (other.doc_id, other.up, other.down) == ("doc-b", 1, 0)
    assert (withdrawn.doc_id, withdrawn.up, withdrawn.down) == ("doc-c", 0, 0)


def test_opens_count_distinct_people_where_known_else_distinct_searches(
    search_log: SearchLog,
) -> None:
    def search(search_id: str, employee: str | None = None) -> SearchEvent:
        return SearchEvent(search_id, T0, "Class imbalance", "hybrid", employee=employee)

    search_log.write(
        [
            search("1" * 16, "liam-chen"),
            search("2" * 16, "liam-chen"),  # liam again: one person
            search("3" * 16),
            search("4" * 16),  # no employee recorded: each search counts
            *[OpenEvent(T0, "doc-a", str(n) * 16) for n in (1, 2, 3, 4)],
            OpenEvent(T0, "doc-a"),  # read from no search: no query to count it under
        ]
    )
    assert search_log.reader_signals("class imbalance") == {"doc-a": ReaderCounts(opens=3)}
    assert search_log.feedback_summary() == {("Class imbalance", "doc-a"): ReaderCounts(opens=3)}


def test_forgetting_old_data_forgets_old_votes(search_log: SearchLog) -> None:
    search_log.write([vote(0, "aaaa", 1), vote(10, "bbbb", -1)])
    assert search_log.forget_before(T0 + timedelta(minutes=5)) == 1
    assert search_log.feedback(T0) == [vote(10, "bbbb", -1)]


@pytest.mark.parametrize("allowed", [False, True])
def test_the_recorder_stores_a_pseudonym_and_the_employee_only_by_policy(
    search_log: SearchLog, allowed: bool
) -> None:
    recorder = SearchRecorder(search_log, record_employee=allowed)
    for _ in range(3):
        recorder.voted("drift", "doc-a", 1, voter_key="employee:liam-chen", employee="liam")
    recorder.voted("drift", "doc-a", -1, voter_key="key:0123456789abcdef")
    with pytest.raises(ValueError, match="1 \\(up\\), -1 \\(down\\) or 0"):
        recorder.voted("drift", "doc-a", 2, voter_key="employee:liam-chen")
    assert recorder.flush()
    events = search_log.feedback(T0)
    assert search_log.reader_signals("drift") == {"doc-a": ReaderCounts(up=1, down=1)}
    assert [e.employee for e in events] == (["liam"] * 3 + [None] if allowed else [None] * 4)
    secret = search_log.voter_secret()
    assert [e.voter for e in events] == [pseudonym(secret, "employee:liam-chen")] * 3 + [
        pseudonym(secret, "key:0123456789abcdef")
    ]
    recorder.log = None  # the log belongs to the fixture
    recorder.close()


def test_each_log_has_its_own_secret(tmp_path: Path) -> None:
    first, second = SqliteSearchLog(tmp_path / "a.sqlite"), SqliteSearchLog(tmp_path / "b.sqlite")
    assert first.voter_secret() != second.voter_secret()  # pseudonyms do not travel
    assert SqliteSearchLog(tmp_path / "a.sqlite").voter_secret() == first.voter_secret()


def test_reader_signals_are_kept_a_few_seconds(search_log: SearchLog) -> None:
    signals = ReaderSignals(search_log, ttl=60.0)
    assert signals("LoRA rank") == {}
    search_log.write([vote(0, "aaaa", 1)])
    assert signals("lora rank") == {}  # the same normalised query: the cached answer
    assert ReaderSignals(search_log, ttl=0.0)("lora rank") == {"doc-a": ReaderCounts(up=1)}


def test_a_format_1_sqlite_log_is_upgraded_and_keeps_its_searches(tmp_path: Path) -> None:
    path = tmp_path / DATABASE
    with sqlite3.connect(path) as conn:  # the format 1 schema, as kb wrote it before votes
        conn.executescript(
            """
            CREATE TABLE searches (search_id TEXT PRIMARY KEY, at INTEGER NOT NULL,
                query TEXT NOT NULL, mode TEXT NOT NULL, filters TEXT NOT NULL DEFAULT '{}',
                k INTEGER NOT NULL, page_offset INTEGER NOT NULL, n_hits INTEGER NOT NULL,
                best_score REAL, hits TEXT NOT NULL DEFAULT '[]', origin TEXT NOT NULL,
                employee TEXT);
            CREATE TABLE opens (id INTEGER PRIMARY KEY, at INTEGER NOT NULL,
                doc_id TEXT NOT NULL, search_id TEXT, employee TEXT);
            INSERT INTO searches VALUES ('aaaaaaaaaaaaaaaa', 1773135000000000, 'Drift  Detection',
                'hybrid', '{}', 10, 0, 1, 0.5, '["doc-a"]', 'api', NULL);
            INSERT INTO opens VALUES (1, 1773135000000001, 'doc-a', 'aaaaaaaaaaaaaaaa', NULL);
            PRAGMA user_version = 1;
            """
        )
    conn.close()
    log = SqliteSearchLog(path)
    [search] = log.searches(T0 - timedelta(days=365))
    assert search.query == "Drift  Detection"
    assert log.reader_signals("drift detection") == {"doc-a": ReaderCounts(opens=1)}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()


def test_a_postgresql_log_of_migration_1_is_upgraded_and_keeps_its_searches(
    pg_server_url: str,
) -> None:
    import psycopg

    from kb.db.postgres import upgrade
    from kb.searchlog.postgres import MIGRATIONS, PART, PgSearchLog
    from tests.pg_helpers import fresh_database

    url = fresh_database(pg_server_url)
    with psycopg.connect(url, autocommit=True) as conn:  # the schema before votes, and a search
        upgrade(conn, PART, MIGRATIONS[:1])
        conn.execute(
            "INSERT INTO analytics_searches (search_id, at, query, mode, k, page_offset, n_hits, "
            "origin) VALUES ('aaaaaaaaaaaaaaaa', %s, 'Drift  Detection', 'hybrid', 10, 0, 1, "
            "'api')",
            (T0,),
        )
        conn.execute(
            "INSERT INTO analytics_opens (at, doc_id, search_id) "
            "VALUES (%s, 'doc-a', 'aaaaaaaaaaaaaaaa')",
            (T0,),
        )
    log = PgSearchLog(url)
    try:
        assert [s.query for s in log.searches(T0)] == ["Drift  Detection"]
        assert log.reader_signals("drift detection") == {"doc-a": ReaderCounts(opens=1)}
    finally:
        log.close()
