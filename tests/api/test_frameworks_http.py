"""The skills framework over HTTP: organisers import (ESCO's files or the simple CSV, faults
by file and line, nothing imported), propose, approve, edit, reject and undo; employees may
not; and once approved, gaps, next module, plan and team answers add the framework's terms
while keeping every field they had."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from kb import Embedder
from tests.api_helpers import auth, files_part, load_sample_catalog, running_client

FIXTURES = Path(__file__).parents[1] / "fixtures" / "frameworks"
IDS = dict(line.split() for line in (FIXTURES / "ids.txt").read_text().splitlines())
ESCO_FILES = (
    "skills_en.csv",
    "skills_zh.csv",
    "skillGroups_en.csv",
    "broaderRelationsSkillPillar.csv",
)


def _import_esco(client: TestClient, who: str = "organiser") -> Any:
    parts = {name: (FIXTURES / "esco" / name).read_bytes() for name in ESCO_FILES}
    return client.post(
        "/frameworks",
        files=files_part(parts),
        data={"format": "esco", "name": "ESCO"},
        headers=auth(who),
    )


def test_import_propose_decide_and_answers_in_framework_terms(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    with running_client(tmp_path, fake_embedder) as client:
        load_sample_catalog(client)
        before = {
            path: client.get(path, headers=auth("organiser")).json()
            for path in (
                "/employees/liam-chen/gaps",
                "/employees/liam-chen/next-module",
                "/employees/liam-chen/plan?hours=10",
                "/teams/nlp",
            )
        }
        assert client.get("/frameworks/mapping", headers=auth("organiser")).status_code == 409
        assert client.get("/frameworks", headers=auth("organiser")).json() == {"framework": None}
        assert _import_esco(client, "liam").status_code == 403  # organisers only

        response = _import_esco(client)
        assert response.status_code == 200, response.text
        assert response.json()["framework"] == {
            "name": "ESCO",
            "source": "upload",
            "format": "esco",
            "skills": 34,
            "groups": 2,
            "languages": ["en", "zh"],
        }
        assert (
            client.get("/frameworks", headers=auth("organiser")).json()["framework"]["skills"] == 34
        )
        view = client.post("/frameworks/mapping/propose", headers=auth("organiser")).json()
        assert view["counts"]["proposed"] == 14
        row = next(r for r in view["skills"] if r["skill"] == "hyperparameter-tuning")
        assert len(row["candidates"]) == 3 and row["candidates"][0]["labels"]["zh"]

        put = lambda skill, body, who="organiser": client.put(  # noqa: E731
            f"/frameworks/mapping/{skill}", json=body, headers=auth(who)
        )
        assert put("model-optimisation", {"status": "approved"}, "liam").status_code == 403
        ok = put(
            "model-optimisation", {"status": "approved", "framework_id": IDS["optimise-models"]}
        )
        assert ok.status_code == 200, ok.text
        assert (
            put(
                "hyperparameter-tuning",
                {"status": "approved", "framework_id": IDS["tune-hyperparameters"]},
            ).status_code
            == 200
        )
        assert put("vector-search", {"status": "rejected"}).status_code == 200
        assert put("nope", {"status": "rejected"}).status_code == 404
        assert (
            put(
                "model-serving", {"status": "approved", "framework_id": "http://x/none"}
            ).status_code
            == 404
        )
        undone = put("vector-search", {"status": "proposed"}).json()
        assert undone["counts"]["approved"] == 2 and undone["counts"]["rejected"] == 0

        gaps = client.get("/employees/liam-chen/gaps", headers=auth("liam")).json()
        assert gaps["framework"]["name"] == "ESCO"
        by_skill = {g["skill"]: g for g in gaps["gaps"]}
        assert by_skill["model-optimisation"]["framework_skill"] == {
            "id": IDS["optimise-models"],
            "label": "optimise machine learning models",
            "labels": {"en": "optimise machine learning models", "zh": "优化机器学习模型"},
            "framework": "ESCO",
        }
        for path, old in before.items():
            new = client.get(path, headers=auth("organiser")).json()
            assert new.pop("framework")["name"] == "ESCO"
            assert _without_framework(new) == old, path  # fields added, none renamed or lost
        nxt = client.get("/employees/liam-chen/next-module", headers=auth("liam")).json()
        assert "tune hyperparameters 1->3" in nxt["framework_reason"]
        team = client.get("/teams/nlp", headers=auth("organiser")).json()
        assert any(
            s.get("framework_skill", {}).get("id") == IDS["tune-hyperparameters"]
            for s in team["skills"]
        )


def _without_framework(value: object) -> object:
    if isinstance(value, dict):
        return {
            k: _without_framework(v) for k, v in value.items() if not k.startswith("framework_")
        }
    if isinstance(value, list):
        return [_without_framework(v) for v in value]
    return value


def test_faulty_upload_lists_faults_and_imports_nothing(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    with running_client(tmp_path, fake_embedder) as client:
        load_sample_catalog(client)
        bad = "id,label_en,label_zh\na,alpha,甲\na,again,\n,x,\n"
        response = client.post(
            "/frameworks",
            files=files_part({"mine.csv": bad}),
            data={"format": "csv"},
            headers=auth("organiser"),
        )
        assert response.status_code == 422
        body = response.json()["error"]
        assert [f"{f['entry']}: {f['message']}" for f in body["faults"]] == [
            "line 3: repeats id a (first on line 2)",
            "line 4: has no id",
        ]
        assert client.get("/frameworks/mapping", headers=auth("organiser")).status_code == 409
        skos = client.post(
            "/frameworks",
            files=files_part({"skills.ttl": (FIXTURES / "skills.ttl").read_bytes()}),
            data={"format": "skos", "name": "ESCO (RDF)"},
            headers=auth("organiser"),
        )
        assert skos.status_code == 200, skos.text
        assert skos.json()["framework"]["skills"] == 34
        odd = client.post(
            "/frameworks",
            files=files_part({"../x.txt": "id"}),
            data={"format": "csv"},
            headers=auth("organiser"),
        )
        assert odd.status_code == 422
