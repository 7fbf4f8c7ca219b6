"""GET /suggest and /search's did_you_mean, against the real model, the sample catalogue and the
tiny corpus of tests/api_helpers.py (one document restricted to the recsys team)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kb import SentenceTransformerEmbedder
from kb.search.suggest import SuggestIndex
from tests.api_helpers import CORPUS, auth, ingest, load_sample_catalog, running_client

SECRET_TITLE = "Recsys private tuning notes"  # secret.md, visible to recsys only


def _rebuilt(client: TestClient) -> None:
    """The suggestions rebuilt from what the service holds now (it would within a minute)."""
    client.app.state.search_recorder.flush()  # type: ignore[attr-defined]
    index: SuggestIndex = client.app.state.suggestions  # type: ignore[attr-defined]
    index.min_rebuild_s = 0.0
    assert index.wait()
    index.invalidate()
    assert index.wait()


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[TestClient]:
    with running_client(tmp_path_factory.mktemp("api-suggest"), embedder) as c:
        job = ingest(c, CORPUS)
        assert job["state"] == "done", job
        load_sample_catalog(c)
        _rebuilt(c)
        yield c


def _suggest(client: TestClient, who: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/suggest", params=params, headers=auth(who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["query"] == params.get("q", "")
    return list(body["suggestions"])


def test_suggestions_complete_skills_courses_modules_and_titles(client: TestClient) -> None:
    found = _suggest(client, "liam", q="hyperpa")
    assert found[0] == {"text": "Hyperparameter tuning", "kind": "skill", "matched": "prefix"}
    title = {"text": "Hyperparameter search for sentiment models", "kind": "title"}
    assert {**title, "matched": "prefix"} in found
    courses = _suggest(client, "liam", q="sentiment analysis")
    assert courses[0]["kind"] == "course"
    modules = _suggest(client, "liam", q="cleaning and")
    assert modules[0] == {
        "text": "Cleaning and normalising review text",
        "kind": "module",
        "matched": "prefix",
    }
    assert len(_suggest(client, "liam", q="h", limit=2)) == 2


def test_titles_of_restricted_documents_are_suggested_only_to_their_teams(
    client: TestClient,
) -> None:
    for who in ("liam", "organiser", "nobody"):
        assert SECRET_TITLE not in [s["text"] for s in _suggest(client, who, q="recsys pri")], who
        assert SECRET_TITLE not in [s["text"] for s in _suggest(client, who, q="tun")], who
    for who in ("daniel", "organiser_recsys", "admin"):
        assert SECRET_TITLE in [s["text"] for s in _suggest(client, who, q="recsys pri")], who


def test_an_empty_query_has_no_suggestions(client: TestClient) -> None:
    assert _suggest(client, "liam", q="") == []
    assert _suggest(client, "liam", q="   ") == []
    assert _suggest(client, "liam") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "x" * 201}, "query q"),
        ({"q": "x", "limit": 0}, "query limit"),
        ({"q": "x", "limit": 21}, "query limit"),
    ],
)
def test_an_overly_long_query_or_a_bad_limit_is_422_saying_which(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get("/suggest", params=params, headers=auth("liam"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert field in error["message"]
    if field == "query q":
        assert "at most 200 characters" in error["message"]


def test_suggestions_need_a_key(client: TestClient) -> None:
    assert client.get("/suggest", params={"q": "hyper"}).status_code == 401


def test_a_query_that_succeeded_twice_is_suggested_to_others(client: TestClient) -> None:
    query = "random search warmup weight decay"
    for _ in range(2):  # found and opened twice
        body = client.get("/search", params={"q": query}, headers=auth("liam")).json()
        doc_id = body["hits"][0]["doc_id"]
        opened = client.get(
            f"/documents/{doc_id}", params={"from_search": body["search_id"]}, headers=auth("liam")
        )
        assert opened.status_code == 200
    _rebuilt(client)
    found = _suggest(client, "daniel", q="random se")
    assert {"text": query, "kind": "query", "matched": "prefix"} in found


def test_search_says_what_a_misspelt_query_probably_meant(client: TestClient) -> None:
    body = client.get("/search", params={"q": "hyperparamter serch"}, headers=auth("liam")).json()
    assert body["did_you_mean"] == "hyperparameter search"
    again = client.get("/search", params={"q": body["did_you_mean"]}, headers=auth("liam")).json()
    assert again["hits"][0]["source"] == "tuning.md"
    assert again["did_you_mean"] is None  # its words are the store's own
    later = client.get(
        "/search", params={"q": "hyperparamter serch", "offset": 10}, headers=auth("liam")
    ).json()
    assert later["did_you_mean"] is None  # only the first page says it


def test_did_you_mean_never_reveals_a_restricted_title(client: TestClient) -> None:
    for who in ("liam", "admin"):
        body = client.get("/search", params={"q": "privat tunig notes"}, headers=auth(who)).json()
        assert "private" not in (body["did_you_mean"] or ""), who
