"""Training cycles over HTTP: who may do what, creating a cycle, importing results (faults
named by line, nothing half-imported), the report in JSON, Markdown and HTML, and an
employee's own results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recommender import load_catalog
from recommender.state.sqlite import CatalogStore
from tests.api_helpers import CATALOG, auth, files_part, running_client
from tests.fakes import HashingEmbedder

RESULTS = CATALOG / "cycles"
LAB = "nlp-optimisation-2024-06"


def sample_files(cycle: str) -> dict[str, bytes | str]:
    return {p.name: p.read_bytes() for p in sorted(RESULTS.glob(f"{cycle}.*.csv"))}


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("api-cycles")
    with CatalogStore.open(tmp / "home") as store:  # the folder's cycles.yml too
        load_catalog(store, CATALOG)
    with running_client(tmp, fake_embedder) as c:
        for cycle in ("recsys-cf-2024-02", "llm-support-2024-04", LAB):
            response = c.post(
                f"/cycles/{cycle}/imports",
                files=files_part(sample_files(cycle)),
                headers=auth("organiser"),
            )
            assert response.status_code == 201, response.text
        yield c


def events(client: TestClient) -> int:
    body = client.get("/cycles", headers=auth("admin")).json()
    return sum(c["assessed"] + c["surveyed"] + c["sessions"] for c in body["cycles"])


def test_organisers_list_cycles_and_employees_may_not(client: TestClient) -> None:
    response = client.get("/cycles", headers=auth("organiser"))
    assert response.status_code == 200
    cycles = {c["id"]: c for c in response.json()["cycles"]}
    assert list(cycles)[:3] == [LAB, "llm-support-2024-04", "recsys-cf-2024-02"]
    assert cycles[LAB]["figure_of_merit"] == pytest.approx(0.7083, abs=1e-4)
    assert cycles[LAB]["trainers"] == [{"id": "priya-raman", "name": "Priya Raman"}]
    assert client.get("/cycles", headers=auth("liam")).status_code == 403
    assert client.get("/cycles").status_code == 401
    assert client.get(f"/cycles/{LAB}/report", headers=auth("liam")).status_code == 403
    assert client.get(f"/cycles/{LAB}/report", headers=auth("organiser_recsys")).status_code == 200


def test_the_report_in_json_markdown_and_html(client: TestClient) -> None:
    report = client.get(f"/cycles/{LAB}/report", headers=auth("organiser")).json()
    assert report["participant_hours"] == 36 and report["weighted_gain"] == 25.5
    assert report["figure_of_merit"] == pytest.approx(25.5 / 36, abs=1e-4)
    assert [c["id"] for c in report["comparison"]] == [
        "recsys-cf-2024-02",
        "llm-support-2024-04",
        LAB,
    ]
    assert report["assessment"]["pass_mark"] == 0.6
    assert report["completion"] == {"participants": 6, "completed": 5, "rate": 0.8333}
    assert report["follow_up"][0]["employee"] == "ravi-subramanian"
    assert sum(len(t["comments"]) for t in report["survey"]["themes"]) == 5
    markdown = client.get(
        f"/cycles/{LAB}/report", params={"format": "md"}, headers=auth("organiser")
    )
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert f'filename="cycle-{LAB}.md"' in markdown.headers["content-disposition"]
    assert markdown.text.startswith("# Cycle report: Fine-tuning and hyperparameter search lab")
    page = client.get(f"/cycles/{LAB}/report", params={"format": "html"}, headers=auth("admin"))
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<svg" in page.text and "<script" not in page.text
    missing = client.get("/cycles/no-such-cycle/report", headers=auth("organiser"))
    assert missing.status_code == 404 and "unknown cycle" in missing.json()["error"]["message"]


def test_a_faulty_upload_is_422_naming_lines_and_imports_nothing(client: TestClient) -> None:
    before = events(client)
    report_before = client.get(f"/cycles/{LAB}/report", headers=auth("organiser")).json()
    good = sample_files(LAB)[f"{LAB}.survey.csv"]
    bad = "employee_id,phase,skill,score,max_score\nliam-chen,post,model-optimisation,21,20\n"
    bad += "priya-raman,post,model-optimisation,10,20\n"
    response = client.post(
        f"/cycles/{LAB}/imports",
        files=files_part({"survey-again.csv": good + b"\n", "late.csv": bad}),
        headers=auth("organiser"),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert [(f["file"], f["entry"]) for f in error["faults"]] == [
        ("late.csv", "line 2"),
        ("late.csv", "line 3"),
    ]
    assert "nothing was imported" in error["message"]
    assert "not a participant" in error["faults"][1]["message"]
    assert events(client) == before
    after = client.get(f"/cycles/{LAB}/report", headers=auth("organiser")).json()
    assert after == report_before


def test_the_same_files_again_import_nothing_and_roles_are_checked(client: TestClient) -> None:
    response = client.post(
        f"/cycles/{LAB}/imports", files=files_part(sample_files(LAB)), headers=auth("organiser")
    )
    assert response.status_code == 201
    assert {f["already_imported"] for f in response.json()["files"]} == {True}
    as_employee = client.post(
        f"/cycles/{LAB}/imports", files=files_part(sample_files(LAB)), headers=auth("liam")
    )
    assert as_employee.status_code == 403
    wrong_kind = client.post(
        f"/cycles/{LAB}/imports",
        files=files_part({"r.csv": sample_files(LAB)[f"{LAB}.results.csv"]}),
        data={"kind": "survey"},
        headers=auth("organiser"),
    )
    assert wrong_kind.status_code == 422
    assert "a survey file needs the columns" in wrong_kind.json()["error"]["faults"][0]["message"]


def test_creating_a_cycle(client: TestClient) -> None:
    body: dict[str, Any] = {
        "id": "mlops-serving-2024-10",
        "title": "Serving under a latency budget",
        "modules": ["mlops-serving"],
        "start": "2024-10-07",
        "end": "2024-10-08",
        "trainers": ["elena-petrova"],
        "participants": ["jonas-weber", "grace-mensah"],
    }
    assert client.post("/cycles", json=body, headers=auth("liam")).status_code == 403
    created = client.post("/cycles", json=body, headers=auth("organiser"))
    assert created.status_code == 201, created.text
    assert created.json()["hours"] == 4 and created.json()["teams"] == ["mlops"]
    assert created.json()["source"] == "api"
    again = client.post("/cycles", json=body, headers=auth("organiser"))
    assert again.status_code == 409
    faulty = {
        **body,
        "id": "x-1",
        "modules": ["nope"],
        "participants": ["nobody", "liam-chen"],
        "teams": ["mlops"],
    }
    response = client.post("/cycles", json=faulty, headers=auth("admin"))
    assert response.status_code == 422
    messages = [f["message"] for f in response.json()["error"]["faults"]]
    assert messages == [
        "modules: unknown module 'nope'",
        "participants: unknown employee 'nobody'",
        "participants: 'liam-chen' is in team 'nlp', which is not one of the cycle's teams (mlops)",
    ]
    assert (
        client.post(
            "/cycles", json={**body, "id": "y", "colour": 1}, headers=auth("admin")
        ).status_code
        == 422
    )
    # it outlives a catalogue upload (the four files: no cycles.yml)
    parts = {p.name: p.read_bytes() for p in sorted(Path(CATALOG).glob("*.yaml"))}
    loaded = client.put("/catalog", files=files_part(parts), headers=auth("organiser"))
    assert loaded.status_code == 200 and loaded.json()["counts"]["cycles"] == 1
    ids = [c["id"] for c in client.get("/cycles", headers=auth("organiser")).json()["cycles"]]
    assert ids == ["mlops-serving-2024-10"]
    with CatalogStore.open(Path(client.app.state.services.settings.home)) as store:  # type: ignore[attr-defined]
        load_catalog(store, CATALOG)  # cycles.yml back
    assert len(client.get("/cycles", headers=auth("organiser")).json()["cycles"]) == 4


def test_employees_read_only_their_own_results(client: TestClient) -> None:
    mine = client.get("/employees/liam-chen/cycles", headers=auth("liam"))
    assert mine.status_code == 200
    body = mine.json()
    assert [c["cycle"]["id"] for c in body["cycles"]] == [LAB, "llm-support-2024-04"]
    lab = body["cycles"][0]
    assert lab["cycle"]["participants"] == []
    assert lab["result"]["employee"] == "liam-chen" and lab["result"]["passed"] is True
    changes = {c["skill"]: (c["before"], c["after"]) for c in lab["result"]["changes"]}
    assert changes["model-optimisation"] == (1, 3)
    assert lab["survey"]["answers"]["relevance"] == 5
    text = mine.text
    for other in ("hannah-okafor", "Hannah", "distillation part went too fast"):
        assert other not in text
    assert client.get("/employees/daniel-kowalski/cycles", headers=auth("liam")).status_code == 403
    assert client.get("/employees/liam-chen/cycles", headers=auth("organiser")).status_code == 200
    assert client.get("/employees/nobody-at-all/cycles", headers=auth("nobody")).status_code == 404


def test_a_catalogue_upload_may_carry_its_cycles(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    files = {p.name: p.read_bytes() for p in sorted(CATALOG.glob("*.y*ml"))}
    assert "cycles.yml" in files  # the sample's cycles, beside the four catalogue files
    with running_client(tmp_path, fake_embedder) as c:
        response = c.put("/catalog", files=files_part(files), headers=auth("admin"))
        assert response.status_code == 200, response.text
        listed = c.get("/cycles", headers=auth("organiser")).json()["cycles"]
        assert LAB in {cycle["id"] for cycle in listed}
