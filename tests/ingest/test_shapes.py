"""Each shape is defined once, as a domain dataclass: the CLI's `--json`, the HTTP responses and
the OpenAPI schema all show exactly its fields, so that they cannot drift apart.

The field lists are read from the dataclasses, never written here: a field added to `Hit`
must appear in `kb search --json`, in `GET /search` and in the schema, or this fails.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.cli import main
from api.cli.common import CliContext, to_json
from kb.types import DOC_TYPES, SEARCH_MODES, ChunkView, Document, DocumentDetail, Hit
from recommender.rules.gaps import GapReport, SkillGap
from recommender.rules.team import TeamSkillGap
from tests.api_helpers import CATALOG, CORPUS, auth, ingest, load_sample_catalog, running_client
from tests.fakes import HashingEmbedder
from tests.helpers import write


def names(shape: type) -> set[str]:
    return {f.name for f in dataclasses.fields(shape)}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with running_client(tmp_path_factory.mktemp("shapes-http"), HashingEmbedder()) as c:
        assert ingest(c, CORPUS)["state"] == "done"
        load_sample_catalog(c)
        yield c


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("shapes-cli")
    home, corpus = tmp / "home", tmp / "corpus"
    for name, text in CORPUS.items():
        write(corpus / name, text)
    embedder = HashingEmbedder()

    def invoke(*args: str) -> Any:
        result = CliRunner().invoke(
            main, ["--home", str(home), *args], obj=CliContext(home=home, embedder=embedder)
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    invoke("ingest", str(corpus), "--json")
    invoke("catalog", "load", str(CATALOG), "--json")
    return invoke


def schema_properties(client: TestClient, name: str) -> set[str]:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    return set(schemas[name]["properties"])


def test_hit_fields_are_the_cli_http_and_schema_fields(client: TestClient, cli: Any) -> None:
    cli_hits = cli("search", "hyperparameter tuning", "--json")["hits"]
    http_hits = client.get("/search", params={"q": "hyperparameter tuning"}, headers=auth("admin"))
    assert cli_hits and http_hits.json()["hits"]
    for hit in [*cli_hits, *http_hits.json()["hits"]]:
        assert list(hit) == [f.name for f in dataclasses.fields(Hit)]  # same names, same order
    assert schema_properties(client, "Hit") == names(Hit)


def test_document_fields_are_the_cli_http_and_schema_fields(client: TestClient, cli: Any) -> None:
    [cli_doc, *_] = cli("docs", "--json")["documents"]
    http_doc = client.get("/documents", headers=auth("admin")).json()["documents"][0]
    assert set(cli_doc) == set(http_doc) == names(Document) == schema_properties(client, "Document")
    assert "origin" not in cli_doc and "content_hash" not in cli_doc  # internal, not shown

    shown = cli("show", cli_doc["doc_id"])
    detail = client.get(f"/documents/{http_doc['doc_id']}", headers=auth("admin")).json()
    assert set(shown) == set(detail) == names(DocumentDetail)
    assert schema_properties(client, "DocumentDetail") == names(DocumentDetail)
    for chunk in [*shown["chunks"], *detail["chunks"]]:
        assert set(chunk) == names(ChunkView) == schema_properties(client, "ChunkView")


def test_gap_fields_are_the_cli_http_and_schema_fields(client: TestClient, cli: Any) -> None:
    shown = cli("gaps", "liam-chen", "--json")
    served = client.get("/employees/liam-chen/gaps", headers=auth("admin")).json()
    assert shown == served
    assert list(shown) == [f.name for f in dataclasses.fields(GapReport)]
    assert schema_properties(client, "GapReport") == names(GapReport)
    for gap in shown["gaps"]:
        assert list(gap) == [f.name for f in dataclasses.fields(SkillGap)]
    assert schema_properties(client, "SkillGap") == names(SkillGap)
    team = client.get("/teams/nlp", headers=auth("admin")).json()
    assert all(set(s) == names(TeamSkillGap) for s in team["skills"])
    assert schema_properties(client, "TeamSkillGap") == names(TeamSkillGap)


def test_a_field_added_to_a_shape_reaches_the_json_by_itself() -> None:
    @dataclasses.dataclass(frozen=True)
    class RankedHit(Hit):
        rank: int = 0

    hit = RankedHit(**{f.name: None for f in dataclasses.fields(Hit)}, rank=3)
    assert to_json({"hits": [hit]})["hits"][0]["rank"] == 3


def test_pages_take_the_types_and_modes_from_the_service(client: TestClient) -> None:
    assert client.get("/meta").json() == {"doc_types": list(DOC_TYPES), "modes": list(SEARCH_MODES)}
    page = (Path(__file__).parents[2] / "api/web/static/search.html").read_text()
    for doc_type in DOC_TYPES:
        assert f'value="{doc_type}"' not in page
