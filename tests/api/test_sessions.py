"""Sessions at the interfaces: `kb search` (--json fields, --no-group, parts printed
indented) and GET /search (the same fields, group=false), over the sample's session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.cli import main
from api.cli.common import CliContext
from kb import SentenceTransformerEmbedder
from tests.api_helpers import auth, ingest, running_client
from tests.conftest import SAMPLE

SESSION = "2026-04-14-labelling-guidelines"
QUERY = "kappa agreement between annotators"


def _cli(home: Path, embedder: SentenceTransformerEmbedder, *args: str) -> str:
    result = CliRunner().invoke(
        main, ["--home", str(home), *args], obj=CliContext(home, embedder=embedder)
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_kb_search_shows_a_session_once_with_its_parts(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    home = tmp_path / "home"
    _cli(home, embedder, "ingest", str(SAMPLE / "sessions"))
    grouped = json.loads(_cli(home, embedder, "search", QUERY, "--json"))["hits"]
    apart = json.loads(_cli(home, embedder, "search", QUERY, "--json", "--no-group"))["hits"]
    assert sum(h["session"] == SESSION for h in grouped) == 1
    assert sum(h["session"] == SESSION for h in apart) >= 3
    lead = grouped[0]
    assert {"session", "parts", "slide", "moment"} <= set(lead)
    assert list(lead["parts"][0]) == [
        "doc_id",
        "source",
        "title",
        "type",
        "location",
        "anchor",
        "matched",
    ]
    assert len(lead["parts"]) == 3  # the four files of the session, less the lead
    text = _cli(home, embedder, "search", QUERY, "-k", "3")
    assert f"   session {SESSION}, its other parts:" in text
    assert "     - " in text  # each part indented under its hit
    assert "(did not match)" in text or "@" in text.split("its other parts:")[1]


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[TestClient]:
    files = {
        p.name: p.read_bytes()
        for p in sorted((SAMPLE / "sessions").iterdir())
        if p.suffix in {".vtt", ".pptx", ".md"}
    }
    with running_client(tmp_path_factory.mktemp("api-sessions"), embedder) as c:
        job = ingest(c, files)
        assert job["state"] == "done", job
        yield c


def _search(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/search", params=params, headers=auth("admin"))
    assert response.status_code == 200, response.text
    hits: list[dict[str, Any]] = response.json()["hits"]
    return hits


def test_http_search_groups_unless_asked_not_to(client: TestClient) -> None:
    grouped = _search(client, q=QUERY)
    apart = _search(client, q=QUERY, group="false")
    assert len(grouped) == 1 and len(apart) == 3
    assert {p["source"] for p in grouped[0]["parts"]} | {grouped[0]["source"]} == {
        h["source"] for h in apart
    }


def test_http_transcript_hit_carries_its_slide(client: TestClient) -> None:
    (hit,) = _search(client, q="gold questions annotator quality", type="transcript", k=1)
    assert hit["slide"]["anchor"] == "slide-9"
    assert hit["slide"]["source"] == f"{SESSION}.pptx"
    assert set(hit["slide"]) == {"doc_id", "source", "location", "anchor", "score"}
    assert hit["moment"] is None
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"session", "parts", "slide", "moment"} <= set(schema["Hit"]["properties"])
