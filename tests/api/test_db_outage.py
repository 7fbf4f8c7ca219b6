"""The database goes away and comes back: searches and uploads answer 503 naming the
database (with Retry-After, one warning line, no traceback), liveness stays up, readiness says
why it is not ready, and the service serves again by itself once the database returns."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kb import Embedder
from tests.api_helpers import CORPUS, auth, files_part, ingest, running_client
from tests.pg_helpers import (
    fresh_database,
    pause_server,
    resume_server,
    start_private_server,
    stop_private_server,
)


@pytest.fixture
def own_server() -> Iterator[tuple[Any, str]]:
    """A server of this test's own (the session's is shared: stopping it would fail others)."""
    folder = Path(tempfile.mkdtemp(prefix="kb-test-outage-"))
    server, url = start_private_server(folder)
    try:
        yield server, url
    finally:
        stop_private_server(server)


def _search(client: TestClient) -> Any:
    return client.get("/search", params={"q": "hyperparameter tuning"}, headers=auth("organiser"))


def test_an_outage_is_a_503_naming_the_database_and_it_recovers_by_itself(
    own_server: tuple[Any, str],
    tmp_path: Path,
    fake_embedder: Embedder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, url = own_server
    with running_client(tmp_path, fake_embedder, database_url=fresh_database(url)) as client:
        ingest(client, CORPUS)
        assert _search(client).status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        pause_server(server)
        try:
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="api"):
                searched = _search(client)
                uploaded = client.post(
                    "/ingest", files=files_part({"a.md": "# A\n\ntext"}), headers=auth("organiser")
                )
            for answer in (searched, uploaded):
                assert answer.status_code == 503, answer.text
                assert answer.headers["Retry-After"] == "5"
                message = answer.json()["error"]["message"]
                assert message.startswith("The database is unreachable: ")
                assert message.endswith("; retry shortly.")
            mine = [r for r in caplog.records if r.name == "api"]
            assert [r.levelname for r in mine] == ["WARNING", "WARNING"], mine
            assert all(r.exc_info is None for r in mine)  # one line each, no traceback
            assert client.get("/health/live").json() == {"status": "live"}
            ready = client.get("/health/ready")
            assert ready.status_code == 503
            assert "the database is unreachable" in ready.json()["error"]["message"]
        finally:
            resume_server(server)
        started = time.perf_counter()
        while _search(client).status_code != 200:
            assert time.perf_counter() - started < 10, "the service did not recover"
            time.sleep(0.05)
        assert client.get("/health/ready").status_code == 200
        assert client.get("/health").json()["status"] == "ok"  # the contract, unchanged


def test_ready_on_sqlite_and_live_needs_no_key(tmp_path: Path, fake_embedder: Embedder) -> None:
    with running_client(tmp_path, fake_embedder) as client:
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_background_threads_log_an_outage_once_naming_the_database_and_its_end_once(
    own_server: tuple[Any, str],
    tmp_path: Path,
    fake_embedder: Embedder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The threads that use the database on their own (vectors for queued chunks, scheduled
    source syncs, the folder sources' follower and watchers, the ingest worker and its
    listener, the search log's writer) each retry through an outage. What the log shows is one
    WARNING naming the database (never its password), no traceback however many turns fail,
    and one line when it is back; every thread then works again (a file dropped in a watched
    folder during the outage is found after it)."""
    server, url = own_server
    database = fresh_database(url)
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "first.md").write_text("# First\n\nThe first note.\n", encoding="utf-8")
    with running_client(tmp_path / "app", fake_embedder, database_url=database) as client:
        ingest(client, CORPUS)
        body = {"name": "drop", "kind": "folder", "location": str(folder)}
        assert client.post("/sources", json=body, headers=auth("organiser")).status_code == 201
        assert (
            client.post("/sources/drop/sync?wait=true", headers=auth("organiser")).json()["added"]
            == 1
        )
        time.sleep(6)  # the service's round that starts watching the new source (5 s)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            pause_server(server)
            try:
                assert _search(client).status_code == 503  # the search log's writer too
                (folder / "during.md").write_text(
                    "# During\n\nThe quokkaoutage note came while the database was away.\n",
                    encoding="utf-8",
                )
                time.sleep(7)  # every thread's poll (2 s to 5 s) fails at least once
            finally:
                resume_server(server)
            started = time.monotonic()
            while _search(client).status_code != 200:
                assert time.monotonic() - started < 10, "the service did not recover"
                time.sleep(0.1)
            time.sleep(6)  # every thread's next turn, against the database back again
            records = list(caplog.records)

        def found() -> bool:
            answer = client.get(
                "/search", params={"q": "quokkaoutage", "mode": "lexical"}, headers=auth("admin")
            ).json()
            return any(hit["source"].endswith("during.md") for hit in answer["hits"])

        deadline = time.monotonic() + 30
        while not found():
            assert time.monotonic() < deadline, "the change made during the outage was lost"
            client.post("/sources/drop/sync?wait=true", headers=auth("organiser"))
            time.sleep(0.5)

    background = [r for r in records if not r.name.startswith(("api.access", "api", "httpx"))]
    background += [r for r in records if r.name == "api.sources"]
    tracebacks = [r for r in background if r.exc_info is not None and r.levelno >= logging.INFO]
    assert tracebacks == [], [f"{r.name}: {r.getMessage()}" for r in tracebacks]
    down = [r for r in records if "is unreachable (" in r.getMessage()]
    assert len(down) == 1, [r.getMessage() for r in down]
    assert down[0].levelname == "WARNING"
    assert "postgresql://" in down[0].getMessage() and "wait and retry" in down[0].getMessage()
    back = [r for r in records if "is reachable again after" in r.getMessage()]
    assert len(back) == 1, [r.getMessage() for r in back]
    assert back[0].levelname == "INFO"
    noisy = [
        r
        for r in background
        if r.levelno >= logging.WARNING
        and r is not down[0]
        and "were not recorded" not in r.getMessage()
    ]
    assert noisy == [], sorted({f"{r.name} {r.levelname}: {r.getMessage()[:70]}" for r in noisy})
