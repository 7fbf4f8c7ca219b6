"""Export archives uploaded over HTTP (`POST /ingest`): a Confluence, Notion or Slack export
holds entries no format reads (.json, .css, .png), yet it is accepted, because it is
recognised as an export, and ingested as one: the same documents as `kb ingest export.zip`,
and a newer export of the space updates, adds and removes pages. A plain zip keeps today's
checks; a hostile or broken export is refused before 202 naming the entry."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.cli import main
from api.cli.common import CliContext
from tests.api_helpers import auth, files_part, running_client, wait_for_job, zip_bytes
from tests.fakes import HashingEmbedder
from tests.fixtures.exports.generate import confluence_export, notion_export, slack_export

EXPORTS: dict[str, Callable[..., Path]] = {
    "confluence": confluence_export,
    "notion": notion_export,
    "slack": slack_export,
}


def upload(client: TestClient, name: str, data: bytes) -> Any:
    return client.post("/ingest", files=files_part({name: data}), headers=auth("organiser"))


def documents_over_http(client: TestClient) -> list[tuple[str, str]]:
    listed = client.get("/documents?limit=50", headers=auth("admin")).json()["documents"]
    return sorted((doc["source"], doc["title"]) for doc in listed)


def documents_by_the_cli(home: Path, embedder: HashingEmbedder, *zips: Path) -> Any:
    """What `kb ingest` makes of the same exports, one after another, in a home of its own."""

    def kb(*args: str) -> str:
        result = CliRunner().invoke(
            main, ["--home", str(home), *args], obj=CliContext(home, embedder=embedder)
        )
        assert result.exit_code == 0, result.output
        return result.stdout

    for archive in zips:
        kb("ingest", str(archive), "--json")
    return sorted((d["source"], d["title"]) for d in json.loads(kb("docs", "--json"))["documents"])


@pytest.mark.parametrize("kind", list(EXPORTS))
def test_an_uploaded_export_is_ingested_as_kb_ingest_reads_it(
    kind: str, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    v1 = EXPORTS[kind](tmp_path / f"{kind}-v1.zip", 1)
    v2 = EXPORTS[kind](tmp_path / f"{kind}-v2.zip", 2)
    with running_client(tmp_path / "app", fake_embedder) as client:
        accepted = upload(client, v1.name, v1.read_bytes())
        assert accepted.status_code == 202, accepted.text  # .json, .css, .png and all
        job = wait_for_job(client, accepted.json()["job_id"])
        assert job["state"] == "done", job
        first = documents_over_http(client)
        assert len(first) == accepted.json()["expected_documents"] == job["progress"]["total"]
        assert first == documents_by_the_cli(tmp_path / "cli1", fake_embedder, v1)

        # the newer export of the same space: one page changed, one added, one removed
        newer = upload(client, v2.name, v2.read_bytes())
        assert newer.status_code == 202, newer.text
        assert wait_for_job(client, newer.json()["job_id"])["state"] == "done"
        second = documents_over_http(client)
        assert second == documents_by_the_cli(tmp_path / "cli2", fake_embedder, v1, v2)
        assert second != first and all(source.startswith(f"{kind}:") for source, _ in second)


def _rewritten(archive: Path, changes: dict[str, bytes]) -> bytes:
    """The export at `archive` with entries replaced or added."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(archive) as old, zipfile.ZipFile(buffer, "w") as new:
        for info in old.infolist():
            if info.filename not in changes:
                new.writestr(info, old.read(info))
        for name, data in changes.items():
            new.writestr(name, data)
    return buffer.getvalue()


def test_hostile_or_broken_exports_and_plain_zips_are_refused_naming_the_entry(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    slack = slack_export(tmp_path / "slack.zip")
    with running_client(tmp_path / "app", fake_embedder) as client:
        broken = upload(client, "slack.zip", _rewritten(slack, {"channels.json": b"[{oops"}))
        assert broken.status_code == 422, broken.text
        message = broken.json()["error"]["message"]
        assert "slack.zip/channels.json is not valid JSON" in message and "export it" in message

        escaping = upload(client, "slack.zip", _rewritten(slack, {"../../etc/evil.md": b"# x"}))
        assert escaping.status_code == 422, escaping.text
        assert "../../etc/evil.md" in escaping.json()["error"]["message"]

        # a zip that is no export keeps today's rule: documents (and sidecars) only
        plain = zip_bytes({"notes.md": "# Notes\n\nSome notes.", "logo.png": b"\x89PNG"})
        refused = upload(client, "bundle.zip", plain)
        assert refused.status_code == 415, refused.text
        assert "logo.png: unsupported file type inside the archive" in refused.text
        assert documents_over_http(client) == []  # nothing of any of them was stored
