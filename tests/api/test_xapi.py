"""xAPI through the HTTP API and the CLI (docs/xapi.md): who may post and read statements,
the LRS-style answers (ids, the version header, `more` pages), a refused batch naming each
bad statement, `kb xapi import FILE|URL` with a mapping file, `kb xapi export --since
--output`, and `kb xapi push` / `status` against a real LRS stub on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from api.cli import main
from api.cli.common import CliContext
from recommender import load_catalog
from recommender.state.sqlite import CatalogStore
from tests.api_helpers import CATALOG, auth, running_client
from tests.fakes import HashingEmbedder
from tests.recommender.xapi_cases import ADL, valid
from tests.xapi_helpers import PASSWORD, USER, running_lrs


def liam(n: int, module: str = "nlp-optimisation", **changes: Any) -> dict[str, Any]:
    changes.setdefault("object", {"id": f"https://lms.corp.example/modules/{module}"})
    account = {"homePage": "https://lms.corp.example", "name": "liam-chen"}
    return valid(n, actor={"account": account}, **changes)


@pytest.fixture
def client(tmp_path: Path, fake_embedder: HashingEmbedder) -> Iterator[TestClient]:
    with CatalogStore.open(tmp_path / "home") as store:
        load_catalog(store, CATALOG)
    with running_client(tmp_path, fake_embedder) as c:
        yield c


def test_organisers_post_statements_and_get_their_ids_as_from_an_lrs(client: TestClient) -> None:
    batch = [liam(1), liam(2, "nlp-evaluation")]
    assert client.post("/xapi/statements", json=batch, headers=auth("liam")).status_code == 403
    assert client.post("/xapi/statements", json=batch).status_code == 401
    response = client.post("/xapi/statements", json=batch, headers=auth("organiser"))
    assert response.status_code == 200, response.text
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert response.json() == [liam(1)["id"], liam(2)["id"]]
    again = client.post(
        "/xapi/statements", params={"report": "true"}, json=batch, headers=auth("organiser")
    ).json()
    assert again["already_imported"] == 2 and again["recorded"] == 0
    one = client.post("/xapi/statements", json=liam(3, "nlp-features"), headers=auth("admin"))
    assert one.json() == [liam(3)["id"]]
    plan = client.get("/employees/liam-chen/next", headers=auth("organiser")).json()
    assert plan  # the recommender answers from the imported completions


def test_a_batch_with_a_bad_statement_is_refused_whole(client: TestClient) -> None:
    bad = liam(2, verb={"id": "completed"})
    response = client.post(
        "/xapi/statements", json=[liam(1), bad, liam(3)], headers=auth("organiser")
    )
    assert response.status_code == 400
    body = response.json()["error"]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert body["total_faults"] == 1
    assert body["faults"] == [
        {
            "position": 2,
            "id": bad["id"],
            "reason": "verb.id: 'completed' is not an IRI (it needs a scheme such as https:)",
        }
    ]
    assert client.get("/xapi/statements", headers=auth("organiser")).json()["statements"] == []
    junk = client.post("/xapi/statements", content=b"[{", headers=auth("organiser"))
    assert junk.status_code == 400 and "not JSON" in junk.text


def test_statements_come_out_in_pages_with_more(client: TestClient) -> None:
    batch = [
        liam(n, m) for n, m in enumerate(["nlp-optimisation", "nlp-evaluation", "nlp-features"])
    ]
    client.post("/xapi/statements", json=batch, headers=auth("organiser"))
    assert client.get("/xapi/statements", headers=auth("liam")).status_code == 403
    seen: list[str] = []
    url = "/xapi/statements?limit=2"
    while url:
        response = client.get(url, headers=auth("organiser"))
        assert response.status_code == 200
        assert response.headers["X-Experience-API-Version"] == "1.0.3"
        page = response.json()
        assert len(page["statements"]) <= 2
        seen += [s["id"] for s in page["statements"]]
        url = page["more"]
    assert seen == [s["id"] for s in batch]
    later = client.get(
        "/xapi/statements", params={"since": "2999-01-01T00:00:00Z"}, headers=auth("organiser")
    )
    assert later.json() == {"statements": [], "more": ""}
    wrong = client.get("/xapi/statements", params={"since": "soon"}, headers=auth("organiser"))
    assert wrong.status_code == 400 and "ISO 8601" in wrong.text


@pytest.fixture
def kb(tmp_path: Path, fake_embedder: HashingEmbedder) -> Any:
    home = tmp_path / "home"

    def invoke(*args: str, input: bytes | None = None, **env: str) -> Result:
        return CliRunner().invoke(
            main,
            ["--home", str(home), *args],
            obj=CliContext(home, embedder=fake_embedder),
            input=input,
            env=env,
        )

    assert invoke("catalog", "load", str(CATALOG)).exit_code == 0
    return invoke


def test_the_cli_imports_a_file_with_a_mapping_and_exports(kb: Any, tmp_path: Path) -> None:
    lms = {"account": {"homePage": "https://hr.corp.example", "name": "E-77"}}
    batch = [liam(1), valid(2, actor=lms, object={"id": "https://lms.corp.example/x?id=9"})]
    (tmp_path / "batch.json").write_text(json.dumps({"statements": batch, "more": ""}))
    (tmp_path / "map.yaml").write_text(
        "actors:\n  'https://hr.corp.example|E-77': noor-haddad\n"
        "activities:\n  'https://lms.corp.example/x?id=9': nlp-preprocessing\n"
    )
    result = kb("xapi", "import", str(tmp_path / "batch.json"), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["recorded"] == 1 and out["skipped"][0]["position"] == 2
    result = kb(
        "xapi", "import", str(tmp_path / "batch.json"), "--mapping", str(tmp_path / "map.yaml")
    )
    assert result.exit_code == 0, result.output
    assert (
        "1 of 2 statement(s) imported as 1 event(s); 1 imported before, 0 skipped" in result.output
    )
    bad = kb("xapi", "import", "-", input=json.dumps([liam(5), {"actor": {}}]).encode())
    assert bad.exit_code == 2 and "statement 2: actor: an Agent needs one of" in bad.output
    assert "nothing was imported" in bad.output
    output = tmp_path / "out.json"
    result = kb("xapi", "export", "--output", str(output))
    assert result.exit_code == 0 and "2 statement(s) written" in result.output
    exported = json.loads(output.read_text())
    assert [s["actor"]["account"]["name"] for s in exported["statements"]] == [
        "liam-chen",
        "noor-haddad",
    ]
    since = kb("xapi", "export", "--since", "2999-01-01T00:00:00Z")
    assert json.loads(since.output) == {"statements": [], "more": ""}
    assert kb("xapi", "export", "--since", "tomorrow").exit_code == 2


def test_the_cli_pushes_to_an_lrs_and_imports_from_its_url(kb: Any) -> None:
    assert "KB_XAPI_LRS_URL" in kb("xapi", "push").output
    with running_lrs() as lrs:
        env = {
            "KB_XAPI_LRS_URL": lrs.url,
            "KB_XAPI_LRS_USERNAME": USER,
            "KB_XAPI_LRS_PASSWORD": PASSWORD,
        }
        assert kb("complete", "liam-chen", "nlp-optimisation", "--score", "0.7").exit_code == 0
        lrs.fail_next = 1
        failed = kb("xapi", "push", **env)
        assert failed.exit_code == 1 and "503" in failed.output
        status = json.loads(kb("xapi", "status", "--json").output)
        assert status["waiting"] == 1 and status["attempts"] == 1
        pushed = kb("xapi", "push", "--json", **env)
        assert pushed.exit_code == 0 and json.loads(pushed.output)["sent"] == 1
        assert len(lrs.statements) == 1 and PASSWORD not in pushed.output
        # another LRS's statements, fetched from its URL (its `more` pages followed)
        lrs.statements += [liam(10, "nlp-evaluation"), liam(11, "nlp-features"), liam(12)]
        fetched = kb("xapi", "import", lrs.url + "/statements", "--json", **env)
        assert fetched.exit_code == 0, fetched.output
        assert json.loads(fetched.output)["recorded"] == 3  # ours came back: already there
        assert json.loads(fetched.output)["already_imported"] == 1
        # the LRS's credentials go to its own host only
        other = kb("xapi", "import", lrs.url.replace("127.0.0.1", "localhost"), **env)
        assert other.exit_code == 2 and "401" in other.output
    unreachable = kb("xapi", "import", "http://127.0.0.1:9/xapi/statements")
    assert unreachable.exit_code == 2 and "cannot reach the LRS" in unreachable.output


def test_rated_documents_and_verbs_need_their_adl_iri(kb: Any) -> None:
    rated = liam(
        1,
        verb={"id": ADL + "rated"},
        object={"id": "https://kb.local/xapi/documents/doc-1"},
        result={"score": {"raw": 5, "min": 1, "max": 5}},
    )
    result = kb("xapi", "import", "-", "--json", input=json.dumps([rated]).encode())
    assert json.loads(result.output)["events"] == 1


def test_kb_worker_once_pushes_to_the_lrs(
    database_url: str, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    home = tmp_path / "worker"

    def invoke(*args: str, **env: str) -> Result:
        return CliRunner().invoke(
            main,
            ["--home", str(home), "--database-url", database_url, *args],
            obj=CliContext(home, embedder=fake_embedder),
            env=env,
        )

    assert invoke("catalog", "load", str(CATALOG)).exit_code == 0
    assert invoke("complete", "liam-chen", "nlp-optimisation", "--score", "0.7").exit_code == 0
    with running_lrs() as lrs:
        env = {
            "KB_XAPI_LRS_URL": lrs.url,
            "KB_XAPI_LRS_USERNAME": USER,
            "KB_XAPI_LRS_PASSWORD": PASSWORD,
        }
        lrs.fail_next = 1
        refused = invoke("worker", "--once", **env)
        assert refused.exit_code == 0, refused.output
        assert "xAPI push: the LRS at" in refused.stderr and lrs.statements == []
        result = invoke("worker", "--once", **env)
        assert result.exit_code == 0, result.output
        assert [s["object"]["id"] for s in lrs.statements] == [
            "https://kb.local/xapi/modules/nlp-optimisation"
        ]


def test_imports_and_exports_of_statements_are_audited(client: TestClient) -> None:
    client.post("/xapi/statements", json=[liam(1)], headers=auth("organiser"))
    client.get("/xapi/statements", params={"since": "2020-01-01T00:00:00Z"}, headers=auth("admin"))
    refused = client.post("/xapi/statements", json=[{"actor": {}}], headers=auth("organiser"))
    assert refused.status_code == 400
    log = client.app.state.audit.log  # type: ignore[attr-defined]
    actions = [(r.action, r.target, r.detail) for r in log.records()]
    xapi = [a for a in actions if a[0].startswith("xapi.")]
    assert [(a, t) for a, t, _ in xapi] == [
        ("xapi.import", "upload"),
        ("xapi.export", "page"),
        ("xapi.import", "upload"),  # recorded before the batch was checked
    ]
    assert xapi[1][2] == {"since": "2020-01-01T00:00:00Z"}


def test_erasing_a_person_removes_their_statements_from_the_outbox(kb: Any) -> None:
    assert kb("complete", "liam-chen", "nlp-optimisation", "--score", "0.7").exit_code == 0
    assert kb("complete", "noor-haddad", "nlp-preprocessing").exit_code == 0
    with running_lrs() as lrs:
        env = {"KB_XAPI_LRS_URL": lrs.url, "KB_XAPI_LRS_USERNAME": USER}
        env["KB_XAPI_LRS_PASSWORD"] = PASSWORD
        assert kb("xapi", "push", **env).exit_code == 0
    assert json.loads(kb("xapi", "status", "--json").output)["sent"] == 2
    erased = kb("person", "erase", "liam-chen", "--yes", "--json")
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout)["counts"]["xapi_statements"] == 1
    assert json.loads(kb("xapi", "status", "--json").output)["sent"] == 1
