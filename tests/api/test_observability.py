"""What operators see: /metrics in Prometheus' text format (read back with Prometheus' own
parser), who may read it, and one log line per request, as text or JSON, never with the key."""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.http.auth import hash_key
from api.logs import configure_logging, make_handler
from api.settings import Settings
from kb.embed.base import ScheduledEmbedder
from tests.api_helpers import CORPUS, KEYS, auth, ingest, running_client
from tests.fakes import HashingEmbedder


class _WordModel:
    """A `BatchEncoder` over the hashing embedder that reports its tokens (one per word),
    as the ONNX model does."""

    dim = HashingEmbedder.dim
    max_tokens = 256

    def __init__(self) -> None:
        self.inner = HashingEmbedder()
        self.last_batch_tokens = 0

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.last_batch_tokens = sum(len(text.split()) for text in texts)
        return self.inner.encode_documents(texts)


class CountingEmbedder(ScheduledEmbedder):
    """The hashing embedder behind the real scheduler, so that the encoder is counted."""

    def __init__(self) -> None:
        super().__init__()
        self.name, self.variant = HashingEmbedder.name, HashingEmbedder.variant

    def _load(self) -> _WordModel:
        return _WordModel()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by (name, labels), as Prometheus would read it."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found[(name, frozenset(labels.items()))]


def test_metrics_count_searches_stages_jobs_and_the_encoder(tmp_path: Path) -> None:
    with running_client(tmp_path, CountingEmbedder()) as client:
        ingest(client, CORPUS)
        assert client.get("/search", params={"q": "class imbalance"}, headers=auth("liam")).json()
        for mode in ("hybrid", "dense", "lexical"):
            client.get("/search", params={"q": "reweighting", "mode": mode}, headers=auth("liam"))
        client.get("/search", params={"q": "qwxzvbnm", "mode": "lexical"}, headers=auth("liam"))
        response = client.get("/metrics", headers=auth("organiser"))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert value(found, "kb_searches_total", mode="hybrid", outcome="hits") == 2
    assert value(found, "kb_searches_total", mode="dense", outcome="hits") == 1
    assert value(found, "kb_searches_total", mode="lexical", outcome="hits") == 1
    assert value(found, "kb_searches_total", mode="lexical", outcome="no_hits") == 1
    assert value(found, "kb_searches_total", mode="hybrid", outcome="error") == 0  # listed
    assert value(found, "kb_search_seconds_count", mode="hybrid") == 2
    for stage in ("encode", "dense", "lexical", "fuse"):
        assert value(found, "kb_search_stage_seconds_count", stage=stage) >= 1, stage
    # the lexical searches ran BM25 alone: more lexical stages than dense ones
    assert value(found, "kb_search_stage_seconds_count", stage="lexical") > value(
        found, "kb_search_stage_seconds_count", stage="dense"
    )
    assert value(found, "kb_ingest_jobs_finished_total", outcome="done") == 1
    assert value(found, "kb_ingest_jobs_finished_total", outcome="failed") == 0
    assert value(found, "kb_ingest_jobs", state="queued") == 0
    assert value(found, "kb_documents") == len(CORPUS)
    assert value(found, "kb_chunks") >= len(CORPUS)
    assert value(found, "kb_pending_embeddings_chunks") == 0
    assert value(found, "kb_encoder_texts_total", kind="document") >= value(found, "kb_chunks")
    assert value(found, "kb_encoder_texts_total", kind="query") >= 2  # warm-up and queries
    assert value(found, "kb_encoder_tokens_total", kind="document") > 0
    # the HTTP side, from the instrumentator: per route template and status
    assert value(found, "http_requests_total", handler="/search", method="GET", status="200") == 5
    assert not any(
        name.startswith("http_") and ("handler", "/metrics") in labels for name, labels in found
    )


@pytest.mark.parametrize(
    ("setting", "who", "status"),
    [
        ("organiser", None, 401),
        ("organiser", "liam", 403),
        ("organiser", "organiser", 200),
        ("organiser", "admin", 200),
        ("open", None, 200),
        ("off", "admin", 404),
    ],
)
def test_who_may_read_metrics(
    tmp_path: Path, fake_embedder: HashingEmbedder, setting: str, who: str | None, status: int
) -> None:
    """Off the public surface by default: organiser keys only; `open` for a scrape from a
    private network; `off`: no route at all."""
    with running_client(tmp_path, fake_embedder, metrics=setting) as client:
        response = client.get("/metrics", headers=auth(who) if who else {})
    assert response.status_code == status, response.text
    if status == 200:
        assert "kb_documents" in response.text


def test_the_worker_serves_the_same_metrics_on_its_own_port(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    from api.cli.worker_metrics import start_worker_metrics
    from kb import open_knowledge_base

    class Jobs:
        on_finished = None

        def counts(self) -> dict[str, int]:
            return {"queued": 3, "running": 1}

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    knowledge_base = open_knowledge_base(tmp_path / "home", embedder=fake_embedder)
    server = start_worker_metrics(knowledge_base, Jobs(), port, host="127.0.0.1")  # type: ignore[arg-type]
    try:
        found = samples(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
    finally:
        server.shutdown()
        server.server_close()
        knowledge_base.close()
    assert value(found, "kb_ingest_jobs", state="queued") == 3
    assert value(found, "kb_documents") == 0
    assert ("kb_searches_total", frozenset({("mode", "hybrid"), ("outcome", "hits")})) in found


@pytest.fixture
def json_logs() -> Iterator[None]:
    """The JSON set-up on the root logger for one test, then taken off again."""
    handler = configure_logging(Settings(log_format="json"), "info")
    root = logging.getLogger()
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(logging.WARNING)


def access_lines(err: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "api.access"]


def test_json_request_lines_carry_request_id_key_id_route_status_latency_never_the_key(
    tmp_path: Path,
    fake_embedder: HashingEmbedder,
    json_logs: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with running_client(tmp_path, fake_embedder) as client:
        given = client.get(
            "/documents/nope", headers={**auth("organiser"), "X-Request-ID": "trace-42"}
        )
        made_up = client.get("/health")
        refused = client.get(
            "/search", params={"q": "x"}, headers={"Authorization": "Bearer wrong-key"}
        )
    err = capsys.readouterr().err

    assert given.headers["x-request-id"] == "trace-42"
    assert re.fullmatch(r"[0-9a-f]{32}", made_up.headers["x-request-id"])
    lines = {line["request_id"]: line for line in access_lines(err)}
    first = lines["trace-42"]
    assert first["key_id"] == hash_key(KEYS["organiser"])[:16]
    assert first["route"] == "/documents/{doc_id}"
    assert (first["method"], first["status"]) == ("GET", given.status_code)
    assert isinstance(first["latency_ms"], float) and first["latency_ms"] >= 0
    assert {"time", "level", "logger", "message"} <= set(first)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    health = lines[made_up.headers["x-request-id"]]
    assert (health["route"], health["status"], health["key_id"]) == ("/health", 200, None)
    assert lines[refused.headers["x-request-id"]]["status"] == 401
    for key in [*KEYS.values(), "wrong-key"]:
        assert key not in err


def test_a_forged_request_id_is_replaced(tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    """A caller's id with spaces or line breaks could forge log lines: one is made up instead."""
    with running_client(tmp_path, fake_embedder) as client:
        response = client.get("/health", headers={"X-Request-ID": "a b\tINFO fake"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_text_lines_are_for_people() -> None:
    record = logging.LogRecord(
        "api.access", logging.INFO, __file__, 1, "GET %s 200", ("/search",), None
    )
    line = make_handler("text").format(record)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO api.access: GET /search 200", line
    )


def test_lines_logged_while_serving_carry_the_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from api.logs import request_id_var

    handler = configure_logging(Settings(log_format="json"), "info")
    token = request_id_var.set("req-7")
    try:
        logging.getLogger("api.test").warning("inside")
    finally:
        request_id_var.reset(token)
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["message"], line["request_id"], line["level"]) == ("inside", "req-7", "WARNING")
