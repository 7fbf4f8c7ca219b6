"""Catalogue loading, employees, teams and events over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kb import SentenceTransformerEmbedder
from tests.api_helpers import (
    CATALOG,
    CORPUS,
    auth,
    files_part,
    ingest,
    load_sample_catalog,
    running_client,
    zip_bytes,
)

FAULTY = Path(__file__).resolve().parents[1] / "catalogs" / "faulty"


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[TestClient]:
    with running_client(tmp_path_factory.mktemp("api-rec"), embedder) as c:
        # before any catalogue: 409, with the fix in the message
        response = c.get("/employees/liam-chen/gaps", headers=auth("organiser"))
        assert response.status_code == 409
        assert "PUT /catalog" in response.json()["error"]["message"]
        ingest(c, CORPUS)
        load_sample_catalog(c)
        yield c


def _parts(folder: Path) -> dict[str, bytes | str]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.yaml"))}


def test_catalogue_loads_from_files_and_from_a_zip(client: TestClient) -> None:
    response = client.put("/catalog", files=files_part(_parts(CATALOG)), headers=auth("admin"))
    assert response.status_code == 200
    body = response.json()
    assert body["loaded"] is True
    assert body["counts"]["employees"] == 20
    archive = zip_bytes({f"catalog/{name}": data for name, data in _parts(CATALOG).items()})
    response = client.put(
        "/catalog", files=files_part({"catalog.zip": archive}), headers=auth("organiser")
    )
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["teams"] == 4


def test_a_faulty_catalogue_is_422_with_every_fault_and_loads_nothing(client: TestClient) -> None:
    before = client.get("/teams/nlp", headers=auth("organiser")).json()
    response = client.put("/catalog", files=files_part(_parts(FAULTY)), headers=auth("admin"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert len(error["faults"]) == 12  # as `kb catalog load` reports them
    assert {"file", "entry", "message"} <= set(error["faults"][0])
    assert "12 fault(s)" in error["message"]
    assert client.get("/teams/nlp", headers=auth("organiser")).json() == before


def test_catalogue_upload_faults_are_listed_with_validation_faults(client: TestClient) -> None:
    parts = _parts(CATALOG)
    del parts["teams.yaml"]
    parts["notes.txt"] = "hello"
    parts["skills.yaml"] = "- {id: [broken"
    response = client.put("/catalog", files=files_part(parts), headers=auth("admin"))
    assert response.status_code == 422
    faults = response.json()["error"]["faults"]
    text = " | ".join(f"{f['file']}: {f['message']}" for f in faults)
    assert "notes.txt: not a catalogue file" in text
    assert "teams.yaml: missing" in text
    assert "skills.yaml: not valid YAML" in text


def test_catalogue_zip_with_traversal_is_refused(client: TestClient) -> None:
    archive = zip_bytes({"../skills.yaml": "[]", **_parts(CATALOG)})
    response = client.put("/catalog", files=files_part({"c.zip": archive}), headers=auth("admin"))
    assert response.status_code == 422
    assert "unexpected path" in str(response.json()["error"]["faults"])


def test_gaps_next_module_plan_and_team(client: TestClient) -> None:
    gaps = client.get("/employees/liam-chen/gaps", headers=auth("liam")).json()
    assert gaps["team"] == "nlp"
    assert gaps["gaps"][0]["weighted_gap"] >= gaps["gaps"][-1]["weighted_gap"]
    nxt = client.get("/employees/liam-chen/next-module", headers=auth("liam")).json()
    assert nxt["status"] == "ok"
    assert nxt["module"]["id"]
    plan = client.get("/employees/liam-chen/plan", params={"hours": 8}, headers=auth("liam"))
    assert plan.status_code == 200
    assert plan.json()["total_hours"] <= 8
    greedy = client.get(
        "/employees/liam-chen/plan", params={"hours": 8, "method": "greedy"}, headers=auth("liam")
    )
    assert greedy.json()["method"] == "greedy"
    team = client.get("/teams/nlp", headers=auth("organiser")).json()
    assert "liam-chen" in team["members"]
    assert team["modules"]


@pytest.mark.parametrize("hours", [0, -1, 501, "lots"])
def test_plan_hours_are_bounded(client: TestClient, hours: int | str) -> None:
    response = client.get(
        "/employees/liam-chen/plan", params={"hours": hours}, headers=auth("liam")
    )
    assert response.status_code == 422
    assert "query hours" in response.json()["error"]["message"]


def test_unknown_ids_are_404(client: TestClient) -> None:
    response = client.get("/employees/nobody-at-all/gaps", headers=auth("nobody"))
    assert response.status_code == 404
    assert "unknown employee 'nobody-at-all'" in response.json()["error"]["message"]
    assert client.get("/teams/atlantis", headers=auth("admin")).status_code == 404


def test_events_completion_and_rating(client: TestClient) -> None:
    before = client.get("/employees/liam-chen/gaps", headers=auth("liam")).json()
    response = client.post(
        "/employees/liam-chen/events",
        json={"kind": "completion", "module": "nlp-optimisation", "score": 0.9},
        headers=auth("liam"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["changes"]
    after = client.get("/employees/liam-chen/gaps", headers=auth("liam")).json()
    assert after["total_weighted_gap"] < before["total_weighted_gap"]

    hits = client.get("/search", params={"q": "hyperparameter search"}, headers=auth("liam"))
    doc_id = hits.json()["hits"][0]["doc_id"]
    response = client.post(
        "/employees/liam-chen/events",
        json={"kind": "rating", "doc_id": doc_id, "rating": 5},
        headers=auth("liam"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["rating"] == 5


def test_rating_a_document_the_employee_cannot_see_is_404(client: TestClient) -> None:
    secret = client.get("/search", params={"q": "zanzibarquokka"}, headers=auth("admin"))
    doc_id = next(h["doc_id"] for h in secret.json()["hits"] if h["source"] == "secret.md")
    event = {"kind": "rating", "doc_id": doc_id, "rating": 4}
    for who in ("liam", "admin"):  # admin sees it, but liam-chen (nlp) may not
        response = client.post("/employees/liam-chen/events", json=event, headers=auth(who))
        assert response.status_code == 404, who
    response = client.post("/employees/daniel-kowalski/events", json=event, headers=auth("daniel"))
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"kind": "completion", "module": "nlp-optimisation", "score": 1.5}, "score"),
        ({"kind": "rating", "doc_id": "x", "rating": 6}, "rating"),
        ({"kind": "rating", "doc_id": "x", "rating": 3.5}, "rating"),
        ({"kind": "party"}, "body"),
        ({"kind": "completion"}, "module"),
    ],
)
def test_bad_events_are_422(client: TestClient, event: dict[str, object], field: str) -> None:
    response = client.post("/employees/liam-chen/events", json=event, headers=auth("liam"))
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]


def test_unknown_module_in_completion_is_404(client: TestClient) -> None:
    response = client.post(
        "/employees/liam-chen/events",
        json={"kind": "completion", "module": "no-such-module"},
        headers=auth("liam"),
    )
    assert response.status_code == 404
    assert "no-such-module" in response.json()["error"]["message"]
