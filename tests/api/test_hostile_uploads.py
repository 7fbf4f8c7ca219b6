"""The hostile files, uploaded over HTTP to one of two replicas on one PostgreSQL and ingested
by the other's worker: each is refused with its reason in the job's per-file results (or
before 202, for what the upload's checks catch), the good files beside them are stored and
seen by both replicas, no answer is a 5xx, and both replicas go on serving."""

from __future__ import annotations

from pathlib import Path

from kb import Embedder
from tests.api_helpers import auth, files_part, ingest, running_client, zip_bytes
from tests.hostile_office import slide_file, word_file

MB = 1024 * 1024


def test_hostile_uploads_to_two_replicas_on_postgresql_are_refused_by_name(
    tmp_path: Path, fake_embedder: Embedder, database_url: str
) -> None:
    bomb_docx, bomb_pptx = tmp_path / "bomb.docx", tmp_path / "deck.pptx"
    word_file(bomb_docx, 30 * MB)  # each part over the default part limit of 25 MB
    slide_file(bomb_pptx, 30 * MB)
    files: dict[str, bytes | str] = {
        "good.md": "# Good\n\nThe quokkaupload note survives its neighbours.",
        "bomb.docx": bomb_docx.read_bytes(),
        "deck.pptx": bomb_pptx.read_bytes(),
        "deep.html": "<html><body>"
        + "<div>" * 200_000
        + "deepquokka words"
        + "</div>" * 200_000
        + "</body></html>",
        "locked.pptx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
    }
    with (
        running_client(
            tmp_path / "front", fake_embedder, database_url=database_url, ingest_worker=False
        ) as front,
        running_client(tmp_path / "back", fake_embedder, database_url=database_url) as back,
    ):
        job = ingest(front, files, team="nlp")
        assert job["state"] == "done", job
        results = {f["source"]: f for f in job["files"]}
        assert results["good.md"]["status"] == "added"
        assert results["deep.html"]["status"] == "added"  # its text kept at any depth
        refused = {name: f["error"] for name, f in results.items() if f["status"] == "failed"}
        assert "word/document.xml unpacks to more than" in refused["bomb.docx"]
        assert "ppt/slides/slide1.xml (slide 1 of 1) unpacks to more than" in refused["deck.pptx"]
        assert "OLE container" in refused["locked.pptx"]
        nested = zip_bytes({"inner.zip": zip_bytes({"a.md": "# A\n\nnested"})})
        answer = back.post(  # refused before 202, by the replica it reached
            "/ingest", files=files_part({"bundle.zip": nested}), headers=auth("admin")
        )
        assert answer.status_code == 415 and "nested archives" in answer.text
        for replica in (front, back):
            for word in ("quokkaupload", "deepquokka"):
                answer = replica.get(
                    "/search", params={"q": word, "mode": "lexical"}, headers=auth("admin")
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["hits"], word
            assert replica.get("/health/ready").status_code == 200
