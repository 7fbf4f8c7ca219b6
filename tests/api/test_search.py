"""Search, documents and visibility over HTTP, against the real model and a tiny corpus."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.cli.common import to_json
from kb import KnowledgeBase, SearchFilters, SentenceTransformerEmbedder
from tests.api_helpers import (
    CORPUS,
    SECRET_WORD,
    auth,
    ingest,
    load_sample_catalog,
    running_client,
)


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[TestClient]:
    with running_client(tmp_path_factory.mktemp("api-search"), embedder) as c:
        job = ingest(c, CORPUS)
        assert job["state"] == "done", job
        load_sample_catalog(c)
        yield c


def _kb(client: TestClient) -> KnowledgeBase:
    kb: KnowledgeBase = client.app.state.services.kb  # type: ignore[attr-defined]
    return kb


def _doc_id(client: TestClient, name: str) -> str:
    found = _kb(client).find_documents(name)
    assert found, name
    return found[0].doc_id


def _search(client: TestClient, who: str, **params: Any) -> dict[str, Any]:
    response = client.get("/search", params=params, headers=auth(who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_health_needs_no_key_and_reports_the_store(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["documents"] == len(CORPUS)
    assert body["model"] == _kb(client).embedder.name
    assert body["catalog_loaded"] is True


def test_search_gives_the_same_hits_as_the_cli(client: TestClient) -> None:
    query = "model keeps favouring the majority label"
    body = _search(client, "admin", q=query, k=3)
    direct = _kb(client).search(query, k=3)
    assert body["query"] == query
    assert body["hits"] == to_json(direct)
    assert body["hits"][0]["source"] == "imbalance.md"


def test_search_filters_and_modes(client: TestClient) -> None:
    body = _search(client, "admin", q="latency batching", team="mlops", mode="lexical")
    assert [h["source"] for h in body["hits"]] == ["serving.md"]
    filtered = _kb(client).search(
        "latency batching", filters=SearchFilters(team="mlops"), mode="lexical"
    )
    assert body["hits"] == to_json(filtered)


def test_pagination_pages_are_slices_of_one_ranking(client: TestClient) -> None:
    whole = _search(client, "admin", q="tuning models", k=4)["hits"]
    first = _search(client, "admin", q="tuning models", k=2)["hits"]
    second = _search(client, "admin", q="tuning models", k=2, offset=2)
    assert second["offset"] == 2
    assert [h["doc_id"] for h in first + second["hits"]] == [h["doc_id"] for h in whole]
    beyond = _search(client, "admin", q="tuning models", k=2, offset=50)
    assert beyond["hits"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "x", "k": 0}, "query k"),
        ({"q": "x", "k": 101}, "query k"),
        ({"q": "x", "offset": -1}, "query offset"),
        ({"q": "x", "offset": 100_000}, "query offset"),
        ({"q": "x", "mode": "fuzzy"}, "query mode"),
        ({"q": "x", "type": "spreadsheet"}, "query type"),
        ({}, "query q"),
    ],
)
def test_out_of_bounds_parameters_are_422_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get("/search", params=params, headers=auth("liam"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in [f["location"] for f in error["fields"]]
    assert field in error["message"]


def test_blank_query_is_422(client: TestClient) -> None:
    response = client.get("/search", params={"q": "   "}, headers=auth("liam"))
    assert response.status_code == 422
    assert "empty" in response.json()["error"]["message"]


def test_restricted_document_is_hidden_from_other_teams_search(client: TestClient) -> None:
    for who in ("liam", "organiser", "nobody"):
        body = _search(client, who, q=f"{SECRET_WORD} hyperparameter tuning playbook", k=10)
        assert all(h["source"] != "secret.md" for h in body["hits"]), who
        assert SECRET_WORD not in str(body["hits"]), who  # snippets included
    for who in ("daniel", "organiser_recsys", "admin"):
        body = _search(client, who, q=f"{SECRET_WORD} playbook", k=10)
        assert body["hits"][0]["source"] == "secret.md", who
        assert SECRET_WORD in body["hits"][0]["snippet"]


def test_restricted_document_reads_are_404_for_others(client: TestClient) -> None:
    secret = _doc_id(client, "secret.md")
    for who in ("liam", "organiser", "nobody"):
        response = client.get(f"/documents/{secret}", headers=auth(who))
        assert response.status_code == 404, who
        missing = client.get("/documents/0000000000000000", headers=auth(who))
        assert response.json()["error"]["message"].replace(secret, "X") == missing.json()["error"][
            "message"
        ].replace("0000000000000000", "X")
    for who in ("daniel", "organiser_recsys", "admin"):
        body = client.get(f"/documents/{secret}", headers=auth(who)).json()
        assert body["visibility"] == ["recsys"]
        assert SECRET_WORD in body["chunks"][0]["text"]
    listed = client.get("/documents", headers=auth("liam")).json()
    assert "secret.md" not in [d["source"] for d in listed["documents"]]
    assert listed["total"] == len(CORPUS) - 1


def test_document_read_gives_metadata_and_chunks(client: TestClient) -> None:
    doc_id = _doc_id(client, "imbalance.md")
    body = client.get(f"/documents/{doc_id}", headers=auth("liam")).json()
    assert body["title"] == "Handling class imbalance"
    assert body["team"] == "nlp"
    assert body["n_chunks"] == len(body["chunks"]) >= 1  # two short sections pack into one
    assert {"chunk_id", "text", "location", "anchor"} <= set(body["chunks"][0])


def test_restricted_document_is_hidden_from_recommendations(client: TestClient) -> None:
    # liam-chen (nlp) has a hyperparameter-tuning gap; the recsys-only notes match it best.
    for who in ("liam", "admin", "organiser"):
        response = client.get(
            "/employees/liam-chen/recommendations", params={"k": 5}, headers=auth(who)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        sources = [m["source"] for m in body["materials"]]
        assert "secret.md" not in sources, who
        assert SECRET_WORD not in str(body["materials"])
    assert "tuning.md" in sources
    # daniel-kowalski is in recsys: the same notes are recommended to him
    body = client.get(
        "/employees/daniel-kowalski/recommendations", params={"k": 5}, headers=auth("daniel")
    ).json()
    assert "secret.md" in [m["source"] for m in body["materials"]]


def test_unknown_route_and_method_use_the_error_shape(client: TestClient) -> None:
    response = client.get("/no/such/thing", headers=auth("admin"))
    assert response.status_code == 404
    assert "/docs" in response.json()["error"]["message"]
    response = client.patch("/search", headers=auth("admin"))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_document_stored_for_its_words_is_found_at_once_and_embedded_by_the_service(
    client: TestClient,
) -> None:
    """As after `kb ingest --no-wait`: /search finds it by its words and says it is still
    being indexed for meaning; the service's own background embedder makes its vectors."""
    from kb import ChunkInput, DocumentInput, DocumentMeta, Location

    kb = _kb(client)
    doc = DocumentInput(
        origin="/elsewhere/quokka.md",
        source="quokka.md",
        type="markdown",
        content_hash="quokka-1",
        meta=DocumentMeta(title="Quokka pipelines"),
        chunks=(ChunkInput("Quokka pipelines", "quokka feature stores", Location("top", "")),),
    )
    (written,) = kb.write_documents([doc])
    try:
        body = _search(client, "admin", q="quokka", mode="lexical")
        assert [hit["source"] for hit in body["hits"]] == ["quokka.md"]
        # the background embedder may already be at it: a count, then none
        for _ in range(300):
            health = client.get("/health").json()
            if health["pending_embeddings"] == 0:
                break
            assert health["pending_documents"] == 1
            threading.Event().wait(0.1)
        assert health["pending_embeddings"] == 0
        body = _search(client, "admin", q="quokka feature stores", mode="dense", k=1)
        assert [hit["source"] for hit in body["hits"]] == ["quokka.md"]
        assert (body["pending_embeddings"], body["pending_documents"]) == (0, 0)
    finally:
        kb.delete(written.doc_id)


def test_a_question_is_answered_by_a_quote_above_the_hits(client: TestClient) -> None:
    body = _search(
        client, "liam", q="what should I do when the model keeps favouring the majority label?"
    )
    answer = body["answer"]
    assert answer is not None, body
    assert answer["doc_id"] == _doc_id(client, "imbalance.md")
    chunk = next(
        c for c in _kb(client).get_chunks(answer["doc_id"]) if c.chunk_id == answer["chunk_id"]
    )
    assert chunk.body[answer["start"] : answer["end"]] == answer["text"]
    assert "inverse class frequency" in answer["text"]
    # keywords, a later page, a question nobody wrote about: no answer
    assert _search(client, "liam", q="majority label reweighting")["answer"] is None
    later = _search(client, "liam", q="what should I do about the majority label?", offset=1)
    assert later["answer"] is None
    assert _search(client, "liam", q="what is the capital of France?")["answer"] is None


def test_an_answer_never_quotes_a_document_the_caller_may_not_see(client: TestClient) -> None:
    question = f"what does the {SECRET_WORD} playbook search over?"
    for who in ("daniel", "admin"):  # in the team it is restricted to
        answer = _search(client, who, q=question)["answer"]
        assert answer is not None and answer["source"] == "secret.md", who
    for who in ("liam", "organiser", "nobody"):
        body = _search(client, who, q=question)
        assert SECRET_WORD not in str(body["answer"]), who
        assert body["answer"] is None or body["answer"]["source"] != "secret.md", who
