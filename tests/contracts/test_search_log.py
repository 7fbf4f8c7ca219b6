"""The search log (kb.searchlog.sqlite): what it keeps, on both backends, and what it never keeps
(an API key; an employee unless the policy allows it); recording through the HTTP API; a log that
fails or fills up never touches a search."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.backends import open_backend
from kb.searchlog.base import Event, OpenEvent, SearchEvent, SearchLog
from kb.searchlog.recorder import SearchRecorder
from kb.searchlog.sqlite import DATABASE
from kb.types import Hit, SearchFilters
from tests.api_helpers import CORPUS, KEYS, auth, ingest, load_sample_catalog, running_client
from tests.contracts import BACKENDS, fresh_url
from tests.fakes import HashingEmbedder

T0 = datetime(2026, 3, 10, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str | None:
    """What `open_backend` takes for a fresh place of this run's backend (None: the home)."""
    return fresh_url(request.param, request)


@pytest.fixture
def search_log(tmp_path: Path, backend: str | None) -> Iterator[SearchLog]:
    log = open_backend(tmp_path / "home", backend).open_search_log()
    yield log
    log.close()


def a_search(
    search_id: str, at: datetime, query: str = "lora rank", **fields: object
) -> SearchEvent:
    values: dict[str, object] = {
        "mode": "hybrid",
        "filters": {"team": "nlp", "skill": "llm-fine-tuning"},
        "k": 10,
        "offset": 0,
        "n_hits": 2,
        "best_score": 0.032787,
        "hits": ("doc-a", "doc-b"),
        "origin": "api",
        "employee": None,
    }
    values.update(fields)
    return SearchEvent(search_id=search_id, at=at, query=query, **values)  # type: ignore[arg-type]


def hit(doc_id: str, score: float) -> Hit:
    return Hit(
        doc_id,
        1,
        f"{doc_id}.md",
        doc_id,
        "markdown",
        "",
        "",
        score,
        "",
        None,
        None,
        None,
        (),
        (),
        None,
    )


# -- the log's contract, on both backends ------------------------------------------------------
def test_searches_and_opens_read_back_as_written(search_log: SearchLog) -> None:
    first = a_search("a" * 16, T0, "LoRA 的 rank 怎么选", employee="liam-chen")
    second = a_search(
        "b" * 16,
        T0 + timedelta(minutes=5),
        "drift",
        filters={},
        n_hits=0,
        best_score=None,
        hits=(),
        origin="cli",
    )
    opens: Sequence[Event] = [
        OpenEvent(T0 + timedelta(minutes=1), "doc-a", "a" * 16, "liam-chen"),
        OpenEvent(T0 + timedelta(minutes=2), "doc-a", "a" * 16),  # the same again: kept once
        OpenEvent(T0 + timedelta(minutes=3), "doc-b"),  # read directly, from no search
        OpenEvent(T0 + timedelta(minutes=4), "doc-b"),  # and again: both reads count
    ]
    search_log.write([first, *opens[:2]])
    search_log.write([second, *opens[2:]])
    search_log.write([first])  # a batch written twice adds nothing

    assert search_log.searches(T0 - timedelta(days=1)) == [first, second]
    assert search_log.opens(T0 - timedelta(days=1)) == [opens[0], opens[2], opens[3]]
    assert search_log.searches(T0 + timedelta(minutes=1)) == [second]
    assert [o.at for o in search_log.opens(T0 + timedelta(minutes=3))] == [
        T0 + timedelta(minutes=3),
        T0 + timedelta(minutes=4),
    ]
    assert search_log.forget_before(T0 + timedelta(minutes=3)) == 2  # a search, an open
    assert search_log.searches(T0 - timedelta(days=1)) == [second]
    assert len(search_log.opens(T0 - timedelta(days=1))) == 2


def test_the_recorder_keeps_the_employee_only_where_the_policy_allows(
    tmp_path: Path, backend: str | None
) -> None:
    for allowed in (False, True):
        log = open_backend(tmp_path / f"home-{allowed}", backend).open_search_log()
        recorder = SearchRecorder(log, record_employee=allowed)
        filters = SearchFilters(team="nlp", viewer_teams=("nlp",))
        search_id = recorder.search(
            "lora rank",
            mode="dense",
            filters=filters,
            k=5,
            offset=0,
            hits=[hit("doc-a", 0.71), hit("doc-b", 0.5)],
            employee="liam-chen",
        )
        recorder.opened("doc-a", search_id, employee="liam-chen")
        assert recorder.flush()
        [search] = [s for s in log.searches(T0) if s.search_id == search_id]
        [opened] = [o for o in log.opens(T0) if o.search_id == search_id]
        recorder.close()
        expected = "liam-chen" if allowed else None
        assert (search.employee, opened.employee) == (expected, expected)
        assert search.search_id == search_id == opened.search_id
        assert (search.query, search.mode, search.k, search.offset) == ("lora rank", "dense", 5, 0)
        assert search.filters == {"team": "nlp"}  # what the user chose, not the caller's teams
        assert (search.n_hits, search.best_score, search.hits) == (2, 0.71, ("doc-a", "doc-b"))
        assert search.origin == "api"
        assert abs(search.at - datetime.now(UTC)) < timedelta(minutes=1)


# -- never in the way of a search --------------------------------------------------------------
class BrokenLog:
    def __init__(self) -> None:
        self.calls = 0

    def write(self, events: Sequence[Event]) -> None:
        self.calls += 1
        raise OSError("disk full")

    def searches(self, since: datetime) -> list[SearchEvent]:
        return []

    def opens(self, since: datetime) -> list[OpenEvent]:
        return []

    def forget_before(self, when: datetime) -> int:
        raise OSError("disk full")

    def close(self) -> None:
        pass


def test_a_failing_log_is_reported_and_never_reaches_the_search(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = BrokenLog()
    recorder = SearchRecorder(broken, retention_days=30)
    with caplog.at_level(logging.WARNING, logger="kb.analytics"):
        search_id = recorder.search("q", mode="hybrid", filters=None, k=10, offset=0, hits=[])
        recorder.opened("doc-a", search_id)
        assert recorder.flush()
    recorder.close()
    assert search_id is not None and broken.calls >= 1
    assert "could not" in caplog.text and "disk full" in caplog.text


def test_a_full_queue_drops_events_instead_of_waiting() -> None:
    writing, release = threading.Event(), threading.Event()

    class SlowLog(BrokenLog):
        def write(self, events: Sequence[Event]) -> None:
            writing.set()
            release.wait(10)

    recorder = SearchRecorder(SlowLog(), queue_size=2)
    recorder.opened("doc-a")
    assert writing.wait(10)  # the writer holds that one
    for _ in range(5):  # two wait in the queue; the other three are dropped at once
        recorder.opened("doc-a")
    assert recorder.dropped == 3
    release.set()
    assert recorder.flush()
    recorder.close()


def test_with_recording_off_nothing_is_kept() -> None:
    recorder = SearchRecorder(None)
    assert recorder.search("q", mode="hybrid", filters=None, k=10, offset=0, hits=[]) is None
    recorder.opened("doc-a")
    assert recorder.flush() and not recorder.enabled


# -- through the HTTP API ----------------------------------------------------------------------
def test_the_api_records_searches_and_opens_and_never_the_key(
    tmp_path: Path, fake_embedder: HashingEmbedder, backend: str | None
) -> None:
    overrides = {"database_url": backend} if backend else {}
    with running_client(
        tmp_path, fake_embedder, analytics_record_employee=True, **overrides
    ) as client:
        load_sample_catalog(client)
        ingest(client, CORPUS)
        answer = client.get(
            "/search", params={"q": "class imbalance", "team": "nlp", "k": 3}, headers=auth("liam")
        ).json()
        search_id, first = answer["search_id"], answer["hits"][0]
        doc = client.get(
            f"/documents/{first['doc_id']}", params={"from_search": search_id}, headers=auth("liam")
        )
        assert doc.status_code == 200
        posted = client.post(
            "/analytics/opens",
            headers=auth("liam"),
            json={"search_id": search_id, "doc_id": first["doc_id"]},
        )
        assert posted.status_code == 204  # the same open again: still one
        organiser = client.get("/search", params={"q": "latency"}, headers=auth("organiser"))
        # A document the caller may not see cannot be "opened", nor its existence shown.
        secret = client.get("/search", params={"q": "zanzibarquokka"}, headers=auth("daniel"))
        secret_id = secret.json()["hits"][0]["doc_id"]
        refused = client.post(
            "/analytics/opens",
            headers=auth("liam"),
            json={"search_id": search_id, "doc_id": secret_id},
        )
        assert refused.status_code == 404
        bad = client.get(
            f"/documents/{first['doc_id']}",
            params={"from_search": "x'; drop"},
            headers=auth("liam"),
        )
        assert bad.status_code == 422
        recorder = client.app.state.search_recorder  # type: ignore[attr-defined]
        assert recorder.flush()
        searches = recorder.log.searches(T0)
        opens = recorder.log.opens(T0)

    mine = next(s for s in searches if s.search_id == search_id)
    assert (mine.query, mine.mode, mine.filters, mine.k) == (
        "class imbalance",
        "hybrid",
        {"team": "nlp"},
        3,
    )
    assert mine.n_hits == len(answer["hits"]) and mine.best_score == first["score"]
    assert mine.hits == tuple(h["doc_id"] for h in answer["hits"])
    assert mine.employee == "liam-chen" and mine.origin == "api"
    assert organiser.json()["search_id"] in {s.search_id for s in searches}
    assert [s.employee for s in searches if s.query == "latency"] == [None]  # no employee
    assert [(o.doc_id, o.search_id) for o in opens] == [(first["doc_id"], search_id)]

    text = _everything_stored(tmp_path / "home", backend)
    for key in KEYS.values():
        assert key not in text and hashlib.sha256(key.encode()).hexdigest() not in text


def _everything_stored(home: Path, database_url: str | None) -> str:
    """The log's whole content as text: the SQLite files' bytes, or the tables' rows."""
    if database_url is None:
        files = [home / DATABASE, home / (DATABASE + "-wal")]
        return "".join(p.read_bytes().decode("latin-1") for p in files if p.exists())
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT s::text FROM analytics_searches s").fetchall()
        rows += conn.execute("SELECT o::text FROM analytics_opens o").fetchall()
    assert rows
    return "\n".join(row[0] for row in rows)


def test_without_the_policy_no_employee_is_recorded_and_off_means_off(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    with running_client(tmp_path / "default", fake_embedder) as client:
        ingest(client, CORPUS)
        answer = client.get("/search", params={"q": "latency"}, headers=auth("liam")).json()
        client.get(f"/documents/{answer['hits'][0]['doc_id']}", headers=auth("liam"))
        recorder = client.app.state.search_recorder  # type: ignore[attr-defined]
        assert recorder.flush()
        [search] = recorder.log.searches(T0)
        [opened] = recorder.log.opens(T0)
    assert search.employee is None and opened.employee is None
    assert opened.search_id is None  # read directly: an open of no search

    with running_client(tmp_path / "off", fake_embedder, analytics_enabled=False) as client:
        ingest(client, CORPUS)
        answer = client.get("/search", params={"q": "latency"}, headers=auth("liam")).json()
        report = client.get("/analytics/content", headers=auth("organiser"))
    assert answer["search_id"] is None and answer["hits"]
    assert report.status_code == 409 and "KB_ANALYTICS_ENABLED" in report.json()["error"]["message"]
    assert not (tmp_path / "off" / "home" / DATABASE).exists()
