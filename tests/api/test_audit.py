"""The audit trail through the HTTP API and the CLI (docs/audit.md): which actions leave a
record, with whose key id (never the key) and from which address; what leaves none; and
`kb audit verify`, `list` and `export` as a security reviewer uses them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from api.backends import open_backend
from api.cli import main
from api.cli.common import CliContext
from api.http.auth import hash_key
from kb.audit import AuditRecord
from tests.api_helpers import KEYS, auth, ingest, running_client
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc

PUBLIC = markdown_doc("Gradient clipping", {"Why": "Clip the norm when the loss spikes."})
RESTRICTED = markdown_doc("Salary bands", {"Bands": "The nlp team's pay bands, for leads."})


def key_id(who: str) -> str:
    return hash_key(KEYS[who])[:16]


def audit_records(home: Path) -> list[AuditRecord]:
    log = open_backend(home).open_audit_log()
    try:
        return log.records()
    finally:
        log.close()


@pytest.fixture
def client(tmp_path: Path, fake_embedder: HashingEmbedder) -> Iterator[TestClient]:
    with running_client(tmp_path, fake_embedder) as client:
        yield client


def doc_id(client: TestClient, title: str) -> str:
    docs = client.get("/documents", headers=auth("admin")).json()["documents"]
    return str(next(d["doc_id"] for d in docs if d["title"] == title))


def actions(home: Path, action: str) -> list[AuditRecord]:
    return [r for r in audit_records(home) if r.action == action]


def test_an_upload_is_recorded_once_with_the_uploaders_key_id_and_address(
    client: TestClient, tmp_path: Path
) -> None:
    ingest(client, {"clipping.md": PUBLIC})
    (upload,) = actions(tmp_path / "home", "ingest.upload")
    assert upload.actor == key_id("admin") and upload.source_ip == "testclient"
    assert upload.detail["files"] == ["clipping.md"]
    assert KEYS["admin"] not in json.dumps(upload.to_json())  # the key id, never the key


def test_a_restricted_read_is_recorded_and_a_public_read_is_not(
    client: TestClient, tmp_path: Path
) -> None:
    ingest(client, {"clipping.md": PUBLIC})
    ingest(client, {"salaries.md": RESTRICTED}, visibility="nlp")
    home = tmp_path / "home"
    public, restricted = doc_id(client, "Gradient clipping"), doc_id(client, "Salary bands")

    assert client.get(f"/documents/{public}", headers=auth("organiser")).status_code == 200
    assert actions(home, "document.read_restricted") == []

    assert client.get(f"/documents/{restricted}", headers=auth("admin")).status_code == 200
    (read,) = actions(home, "document.read_restricted")
    assert (read.actor, read.target, read.source_ip) == (key_id("admin"), restricted, "testclient")
    assert read.detail == {"visibility": ["nlp"]}


def test_a_keys_first_request_of_the_day_is_its_sign_in_and_later_ones_add_nothing(
    client: TestClient, tmp_path: Path
) -> None:
    for _ in range(3):
        assert client.get("/me", headers=auth("liam")).status_code == 200
    sign_ins = [r for r in actions(tmp_path / "home", "sign_in") if r.actor == key_id("liam")]
    assert len(sign_ins) == 1
    assert sign_ins[0].detail == {"via": "api", "role": "employee", "employee": "liam-chen"}


def test_the_sign_in_page_records_each_sign_in(client: TestClient, tmp_path: Path) -> None:
    for _ in range(2):
        answer = client.post("/me/signin", headers=auth("liam"))
        assert answer.json() == client.get("/me", headers=auth("liam")).json()
    web = [r for r in actions(tmp_path / "home", "sign_in") if r.detail["via"] == "web"]
    assert len(web) == 2 and web[0].actor == key_id("liam")


def test_a_deletion_is_recorded_before_the_document_goes(
    client: TestClient, tmp_path: Path
) -> None:
    ingest(client, {"clipping.md": PUBLIC})
    doc = doc_id(client, "Gradient clipping")
    assert client.delete(f"/documents/{doc}", headers=auth("organiser")).status_code == 200
    (deleted,) = actions(tmp_path / "home", "document.delete")
    assert deleted.target == doc and deleted.actor == key_id("organiser")


def test_an_action_whose_record_cannot_be_written_is_not_done(
    client: TestClient, tmp_path: Path
) -> None:
    ingest(client, {"clipping.md": PUBLIC})
    doc = doc_id(client, "Gradient clipping")
    client.app.state.audit.log.close()  # type: ignore[attr-defined]  # the log is gone
    answer = client.delete(f"/documents/{doc}", headers=auth("organiser"))
    assert answer.status_code == 503 and "audit log" in answer.json()["error"]["message"]
    client.app.state.audit.log = open_backend(tmp_path / "home").open_audit_log()  # type: ignore[attr-defined]
    assert client.get(f"/documents/{doc}", headers=auth("admin")).status_code == 200


# -- the CLI -----------------------------------------------------------------------------------
@pytest.fixture
def kb(tmp_path: Path, fake_embedder: HashingEmbedder) -> Any:
    home = tmp_path / "home"

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(
            main, ["--home", str(home), *args], obj=CliContext(home, embedder=fake_embedder)
        )

    return invoke


def test_keys_add_and_remove_are_recorded_by_key_id_and_the_cli_user(
    kb: Any, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys.yaml"
    added = kb("keys", "add", "--file", str(keys_file), "--role", "organiser", "--team", "nlp")
    assert added.exit_code == 0, added.output
    key = added.stdout.strip().rsplit(": ", 1)[1]
    removed = kb("keys", "remove", "--file", str(keys_file), hash_key(key)[:16])
    assert removed.exit_code == 0, removed.output
    add, remove = audit_records(tmp_path / "home")
    assert (add.action, add.target) == ("key.add", hash_key(key)[:16])
    assert add.detail == {"role": "organiser", "team": "nlp", "file": str(keys_file)}
    assert (remove.action, remove.target) == ("key.remove", hash_key(key)[:16])
    assert add.actor.startswith("cli:") and key not in keys_file.read_text()


def test_keys_remove_refuses_an_unknown_id(kb: Any, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.yaml"
    kb("keys", "add", "--file", str(keys_file), "--role", "admin")
    result = kb("keys", "remove", "--file", str(keys_file), "0123456789abcdef")
    assert result.exit_code == 2 and "no key with id 0123456789abcdef" in result.output


def test_verify_says_the_chain_is_intact_then_names_an_edited_record(
    kb: Any, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys.yaml"
    for _ in range(3):
        kb("keys", "add", "--file", str(keys_file), "--role", "admin")
    result = kb("audit", "verify")
    assert (result.exit_code, result.stdout) == (0, "3 records, chain intact\n")

    with sqlite3.connect(tmp_path / "home" / "audit.sqlite") as db:
        db.execute("DROP TRIGGER audit_records_no_update")
        db.execute("UPDATE audit_records SET actor = 'cli:someone-else' WHERE seq = 2")
    result = kb("audit", "verify")
    assert result.exit_code == 1 and "broken at record 2" in result.stderr


def test_export_writes_json_lines_since_a_date_and_is_itself_recorded(
    kb: Any, tmp_path: Path
) -> None:
    kb("keys", "add", "--file", str(tmp_path / "keys.yaml"), "--role", "admin")
    out = tmp_path / "siem.jsonl"
    result = kb("audit", "export", "--since", "2020-01-01", "--output", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["action"] for line in lines] == ["key.add", "export"]
    assert set(lines[0]) == {
        "seq", "at", "actor", "action", "target", "detail", "source_ip", "prev_hash", "hash"
    }  # fmt: skip
    assert lines[1]["prev_hash"] == lines[0]["hash"]

    assert kb("audit", "export", "--since", "2999-01-01").stdout == ""
    refused = kb("audit", "export", "--since", "last week")
    assert refused.exit_code == 2 and "YYYY-MM-DD" in refused.output


def test_list_shows_the_records_as_text_or_json(kb: Any, tmp_path: Path) -> None:
    kb("keys", "add", "--file", str(tmp_path / "keys.yaml"), "--role", "admin")
    text = kb("audit", "list").stdout
    assert text.startswith("1  ") and " key.add " in text
    records = json.loads(kb("audit", "list", "--json").stdout)["records"]
    assert [r["seq"] for r in records] == [1]


def test_kb_rm_and_catalog_load_are_recorded(kb: Any, tmp_path: Path) -> None:
    from tests.api_helpers import CATALOG

    folder = tmp_path / "material"
    folder.mkdir()
    (folder / "clipping.md").write_text(PUBLIC)
    assert kb("ingest", str(folder)).exit_code == 0
    assert kb("catalog", "load", str(CATALOG)).exit_code == 0
    removed = kb("rm", "--json", str(folder / "clipping.md"))
    assert removed.exit_code == 0, removed.output
    doc = json.loads(removed.stdout)["removed"][0]["doc_id"]
    load, delete = audit_records(tmp_path / "home")
    assert (load.action, load.target) == ("catalog.load", str(CATALOG))
    assert (delete.action, delete.target) == ("document.delete", doc)
