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
        assert client.get("/health/ready").status_code == 200
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
