"""Schemathesis against the app's own OpenAPI schema, in process: no input yields a 500, and
answers match the documented schemas. Bounded: a few examples per operation."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.http.app import create_app
from ingest import ingest_paths
from kb import SentenceTransformerEmbedder, open_knowledge_base
from recommender import load_catalog
from recommender.state.sqlite import CatalogStore
from tests.api_helpers import CATALOG, CORPUS, auth, settings_for, write_keys

EXAMPLES = 12


@pytest.fixture(scope="module")
def api_schema(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> BaseSchema:
    """The app over a home holding the tiny corpus and the sample catalogue (prepared
    directly, so that schemathesis starts the app's lifespan itself, in process)."""
    tmp = tmp_path_factory.mktemp("api-schema")
    home = tmp / "home"
    corpus = tmp / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text)
    kb = open_knowledge_base(home, embedder=embedder)
    ingest_paths(kb, [corpus])
    kb.close()
    with CatalogStore.open(home) as store:
        load_catalog(store, CATALOG)
    app = create_app(settings_for(home, write_keys(tmp / "keys.yaml")), embedder=embedder)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _exercise(operation: APIOperation, mode: GenerationMode) -> None:
    """Up to EXAMPLES generated requests for one operation, each called and validated."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=auth("admin"), checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise  # only an operation without inputs (GET /health) has no invalid request


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_and_documented_answers(
    api_schema: BaseSchema, mode: GenerationMode
) -> None:
    """The schemathesis pytest plugin ends the app's lifespan when this test ends."""
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 13
    for operation in operations:
        _exercise(operation, mode)


def test_schema_documents_every_issue_endpoint(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path / "home", write_keys(tmp_path / "keys.yaml")))
    paths = app.openapi()["paths"]
    assert set(paths) >= {
        "/health",
        "/search",
        "/ingest",
        "/ingest/jobs/{job_id}",
        "/documents/{doc_id}",
        "/employees/{employee_id}/gaps",
        "/employees/{employee_id}/next-module",
        "/employees/{employee_id}/recommendations",
        "/employees/{employee_id}/plan",
        "/employees/{employee_id}/events",
        "/teams/{team_id}",
        "/catalog",
    }
    catalog_body = app.openapi()["components"]["schemas"]["Body_put_catalog_catalog_put"]
    assert "skills.yaml" in catalog_body["properties"]["files"]["description"]


def test_docs_are_served_without_a_cdn(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    app = create_app(
        settings_for(tmp_path / "home", write_keys(tmp_path / "keys.yaml")), embedder=embedder
    )
    with TestClient(app) as client:
        page = client.get("/docs").text
        assert "/docs-assets/swagger-ui-bundle.js" in page
        assert "cdn." not in page
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
        assert "cdn." not in client.get("/redoc").text
        assert client.get("/openapi.json").json()["components"]["securitySchemes"]
