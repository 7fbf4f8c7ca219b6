"""Follow-up evaluation over HTTP on the sample: scheduling follow-ups and importing their
answers, team KPIs, the report's two new sections, modules' proven gains; organisers only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recommender import load_catalog
from recommender.state.sqlite import CatalogStore
from tests.api_helpers import CATALOG, auth, files_part, running_client
from tests.fakes import HashingEmbedder

SAMPLE = CATALOG.parent / "evaluation"
LAB = "nlp-optimisation-2024-06"


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("api-evaluation")
    with CatalogStore.open(tmp / "home") as store:
        load_catalog(store, CATALOG)
    with running_client(tmp, fake_embedder) as c:
        files = {p.name: p.read_bytes() for p in sorted((CATALOG / "cycles").glob(f"{LAB}.*.csv"))}
        response = c.post(
            f"/cycles/{LAB}/imports", files=files_part(files), headers=auth("organiser")
        )
        assert response.status_code == 201, response.text
        yield c


def _file(path: Path) -> list[tuple[str, tuple[str, bytes]]]:
    return files_part({path.name: path.read_bytes()})


def test_followups_kpis_and_the_report(client: TestClient) -> None:
    organiser = auth("organiser")
    assert (
        client.post(
            f"/cycles/{LAB}/followups", json={"days": [90]}, headers=auth("liam")
        ).status_code
        == 403
    )
    bad = client.post(f"/cycles/{LAB}/followups", json={"days": [0]}, headers=organiser)
    assert bad.status_code == 422
    made = client.post(f"/cycles/{LAB}/followups", json={"days": [30, 90]}, headers=organiser)
    assert made.status_code == 201, made.text
    assert [f["due"] for f in made.json()["followups"]] == ["2024-07-14", "2024-09-12"]
    listed = client.get(f"/cycles/{LAB}/followups", headers=organiser).json()
    assert [f["id"] for f in listed["followups"]] == ["d30", "d90"]
    unscheduled = client.post(
        f"/cycles/{LAB}/followups/d60/imports",
        files=_file(SAMPLE / f"{LAB}.d90.self.csv"),
        headers=organiser,
    )
    assert (
        unscheduled.status_code == 400
        and "schedule it first" in unscheduled.json()["error"]["message"]
    )
    for form in ("self", "manager"):
        response = client.post(
            f"/cycles/{LAB}/followups/d90/imports",
            files=_file(SAMPLE / f"{LAB}.d90.{form}.csv"),
            data={"form": form},
            headers=organiser,
        )
        assert response.status_code == 201, response.text
    faulty = client.post(
        "/kpis/imports",
        files=files_part(
            {"k.csv": b"team,metric,date,value\nnlp,t,2024-01-01,1\nnope,t,2024-01-01,2\n"}
        ),
        headers=organiser,
    )
    assert faulty.status_code == 422
    assert faulty.json()["error"]["faults"][0]["entry"] == "line 3"
    kpis = client.post("/kpis/imports", files=_file(SAMPLE / "kpis.csv"), headers=organiser)
    assert kpis.status_code == 201 and kpis.json()["files"][0]["imported"] == 96
    assert client.get("/kpis", headers=organiser).json()["metrics"][0]["teams"] == [
        "mlops",
        "nlp",
        "recsys",
        "support-ai",
    ]
    report = client.get(f"/cycles/{LAB}/report", headers=organiser).json()
    d90 = report["applied"]["followups"][1]
    assert [f["responses"] for f in d90["forms"]] == [5, 6]
    (metric,) = report["team_results"]["metrics"]
    assert metric["did"]["participating_teams"] == 2 and metric["did"]["other_teams"] == 2
    assert metric["did"]["low"] < metric["did"]["estimate"] < metric["did"]["high"]
    changes = {t["team"]: t["change"] for t in metric["teams"]}
    assert changes["nlp"] == pytest.approx(3.44, abs=0.01)  # as the sample's report shows
    taking = [changes["nlp"], changes["mlops"]]
    others = [changes["recsys"], changes["support-ai"]]
    assert metric["did"]["estimate"] == pytest.approx(sum(taking) / 2 - sum(others) / 2)
    assert report["survey"]["responses"] == 5  # the end-of-cycle survey only
    markdown = client.get(f"/cycles/{LAB}/report", params={"format": "md"}, headers=organiser).text
    assert "## Applied at work" in markdown and "## Team results" in markdown


def test_gains_for_organisers(client: TestClient) -> None:
    assert client.get("/cycles/gains", headers=auth("liam")).status_code == 403
    body = client.get("/cycles/gains", headers=auth("organiser")).json()
    assert body["rule"]["min_participants"] == 8
    gains = {(g["module"], g["skill"]): g for g in body["modules"]}
    # the lab's skill rows with a pre and a post score: 5 participants, under the threshold
    assert gains[("nlp-optimisation", "model-optimisation")]["participants"] == 5
    assert {g["verdict"] for g in body["modules"]} == {"not-enough"}
    nxt = client.get("/employees/liam-chen/next-module", headers=auth("liam")).json()
    assert "evidence" in (nxt["module"] or {"evidence": None})
