"""Uploads and ingest jobs: checks before 202, progress and per-file results, searches served
while a job runs, limits, restarts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from ingest import IngestReport, ingest_paths
from kb import Embedder
from tests.api_helpers import (
    CORPUS,
    auth,
    files_part,
    ingest,
    running_client,
    settings_for,
    wait_for_job,
    write_keys,
    zip_bytes,
)
from tests.helpers import markdown_doc


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: Embedder
) -> Iterator[TestClient]:
    with running_client(tmp_path_factory.mktemp("api-ingest"), fake_embedder) as c:
        yield c


def _home(client: TestClient) -> Path:
    home: Path = client.app.state.services.settings.home  # type: ignore[attr-defined]
    return home


def _post(client: TestClient, files: Mapping[str, bytes | str], **form: Any) -> Any:
    return client.post("/ingest", files=files_part(files), data=form, headers=auth("organiser"))


def test_a_job_goes_to_done_with_per_file_results(client: TestClient) -> None:
    archive = zip_bytes(
        {
            "batch/one.md": markdown_doc("Write-up one", {"Lesson": "Label smoothing helped."}),
            "batch/two.txt": "Plain notes about early stopping and patience.",
            "batch/empty.md": "",
            "__MACOSX/._one.md": b"\x00\x01",
        }
    )
    response = _post(
        client,
        {"alpha.md": CORPUS["imbalance.md"], "bundle.zip": archive, "broken.ipynb": "{not json"},
        team="nlp",
        course="nlp-sentiment",
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["state"] == "queued"
    assert accepted["files"] == ["alpha.md", "bundle.zip", "broken.ipynb"]
    assert accepted["expected_documents"] == 5
    assert response.headers["location"] == accepted["status_url"]
    job = wait_for_job(client, accepted["job_id"])
    assert job["state"] == "done", job
    assert job["progress"]["done"] == job["progress"]["total"] == 5
    results = {f["source"]: f for f in job["files"]}
    assert set(results) == {
        "alpha.md",
        "bundle.zip/batch/one.md",
        "bundle.zip/batch/two.txt",
        "bundle.zip/batch/empty.md",
        "broken.ipynb",
    }
    assert results["alpha.md"]["status"] == "added"
    assert results["bundle.zip/batch/two.txt"]["doc_id"]
    assert results["bundle.zip/batch/empty.md"]["status"] == "failed"
    assert "empty" in results["bundle.zip/batch/empty.md"]["error"]
    assert results["broken.ipynb"]["status"] == "failed"
    assert job["summary"]["added"] == 3
    assert job["team"] == "nlp"
    doc = client.get(f"/documents/{results['alpha.md']['doc_id']}", headers=auth("liam")).json()
    assert doc["source"] == "alpha.md"
    assert doc["course"] == "nlp-sentiment"
    # the record is on disk, the spooled files are gone
    assert (_home(client) / "jobs" / f"{job['id']}.json").exists()
    assert not (_home(client) / "uploads" / job["id"]).exists()
    # the same upload again: every file unchanged, with its document id
    again = wait_for_job(
        client,
        _post(
            client, {"alpha.md": CORPUS["imbalance.md"]}, team="nlp", course="nlp-sentiment"
        ).json()["job_id"],
    )
    assert again["files"] == [
        {
            "source": "alpha.md",
            "status": "unchanged",
            "doc_id": results["alpha.md"]["doc_id"],
            "error": None,
        }
    ]


def test_visibility_field_restricts_an_uploaded_document(client: TestClient) -> None:
    text = markdown_doc("Quarterly churn secrets", {"Churn": "The qwertyplum churn model."})
    job = ingest(client, {"churn.md": text}, visibility="recsys, mlops")
    assert job["visibility"] == ["recsys", "mlops"]
    doc_id = job["files"][0]["doc_id"]
    assert client.get(f"/documents/{doc_id}", headers=auth("liam")).status_code == 404
    hits = client.get("/search", params={"q": "qwertyplum churn"}, headers=auth("liam"))
    assert "churn.md" not in [h["source"] for h in hits.json()["hits"]]
    hits = client.get("/search", params={"q": "qwertyplum churn"}, headers=auth("daniel"))
    assert "churn.md" not in [h["source"] for h in hits.json()["hits"]]  # no catalogue: no team
    for who in ("organiser_recsys", "admin"):
        hits = client.get("/search", params={"q": "qwertyplum churn"}, headers=auth(who))
        assert hits.json()["hits"][0]["source"] == "churn.md"


@pytest.mark.parametrize(
    ("files", "status", "named"),
    [
        ({"tool.exe": b"MZ"}, 415, "tool.exe"),
        ({"ok.md": "# fine", "slides.key": b"PK"}, 415, "slides.key"),
        ({"evil.zip": zip_bytes({"../../etc/cron.md": "x"})}, 422, "evil.zip/../../etc/cron.md"),
        ({"abs.zip": zip_bytes({"/etc/passwd.md": "x"})}, 422, "abs.zip//etc/passwd.md"),
        ({"mixed.zip": zip_bytes({"a.md": "# a", "run.sh": "rm -rf /"})}, 415, "mixed.zip/run.sh"),
        ({"nested.zip": zip_bytes({"inner.zip": zip_bytes({"a.md": "x"})})}, 415, "inner.zip"),
        ({"fake.zip": b"not a zip at all"}, 422, "fake.zip"),
        ({"hollow.zip": zip_bytes({".DS_Store": "x"})}, 422, "hollow.zip"),
        ({"a.md": "x", "A.md": "y"}, 422, "A.md"),
        ({"lonely.md.meta.yaml": "team: nlp"}, 422, "lonely.md.meta.yaml"),
    ],
)
def test_bad_uploads_are_refused_before_202_naming_the_file(
    client: TestClient, files: dict[str, bytes | str], status: int, named: str
) -> None:
    jobs_before = set((_home(client) / "jobs").iterdir())
    response = _post(client, files)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert named in error["message"]
    assert set((_home(client) / "jobs").iterdir()) == jobs_before  # no job was created
    assert list((_home(client) / "uploads").iterdir()) == []  # nothing left spooled


def test_upload_without_files_or_with_a_bad_team_is_422(client: TestClient) -> None:
    response = client.post("/ingest", data={"team": "nlp"}, headers=auth("organiser"))
    assert response.status_code == 422
    assert "files" in response.json()["error"]["message"]
    response = _post(client, {"a.md": "# a\n\ntext"}, visibility="no spaces allowed")
    assert response.status_code == 422
    assert "visibility" in response.json()["error"]["message"]


def test_sidecar_metadata_travels_with_its_file(client: TestClient) -> None:
    job = ingest(
        client,
        {"notes.md": "# Notes\n\nGradient clipping tips.", "notes.md.meta.yaml": "team: mlops\n"},
    )
    assert [f["source"] for f in job["files"]] == ["notes.md"]
    doc = client.get(f"/documents/{job['files'][0]['doc_id']}", headers=auth("admin")).json()
    assert doc["team"] == "mlops"


def test_delete_document(client: TestClient) -> None:
    job = ingest(client, {"gone.md": "# Gone soon\n\nEphemeral xylophone notes."})
    doc_id = job["files"][0]["doc_id"]
    assert client.delete(f"/documents/{doc_id}", headers=auth("liam")).status_code == 403
    response = client.delete(f"/documents/{doc_id}", headers=auth("organiser"))
    assert response.status_code == 200
    assert response.json()["deleted"]["source"] == "gone.md"
    assert client.get(f"/documents/{doc_id}", headers=auth("admin")).status_code == 404
    assert client.delete(f"/documents/{doc_id}", headers=auth("admin")).status_code == 404


def test_unknown_job_is_404(client: TestClient) -> None:
    for job_id in ("0" * 32, "..%2F..%2Fkeys", "nope"):
        response = client.get(f"/ingest/jobs/{job_id}", headers=auth("organiser"))
        assert response.status_code == 404, job_id


def test_searches_are_served_while_a_job_runs(client: TestClient) -> None:
    jobs = client.app.state.services.jobs  # type: ignore[attr-defined]
    started, release = threading.Event(), threading.Event()
    real = jobs.ingest

    def paused(*args: Any, **kwargs: Any) -> IngestReport:
        outer = kwargs["progress"]

        def progress(done: int, total: int, current: str) -> None:
            outer(done, total, current)
            if done == 1:
                started.set()
                assert release.wait(30), "the test never released the job"

        return ingest_paths(*args, **{**kwargs, "progress": progress})

    jobs.ingest = paused
    try:
        docs = {f"bulk-{n}.md": f"# Bulk {n}\n\nNotes number {n} on dropout." for n in range(4)}
        job_id = _post(client, docs).json()["job_id"]
        assert started.wait(30)
        status = client.get(f"/ingest/jobs/{job_id}", headers=auth("organiser")).json()
        assert status["state"] == "running"
        assert status["progress"]["done"] == 1 and status["progress"]["total"] == 4
        for _ in range(3):
            response = client.get("/search", params={"q": "majority label"}, headers=auth("liam"))
            assert response.status_code == 200
            assert response.json()["hits"]
        release.set()
        done = wait_for_job(client, job_id)
    finally:
        release.set()
        jobs.ingest = real
    assert done["state"] == "done"
    assert [f["status"] for f in done["files"]] == ["added"] * 4


def test_limits_are_refused_with_413_naming_the_limit(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    small = {
        "upload_max_files": 2,
        "upload_max_file_mb": 0.01,  # 10 KB
        "upload_max_total_mb": 0.015,
        "zip_max_entries": 3,
        "zip_max_uncompressed_mb": 0.012,
    }
    big = "x" * 11_000
    with running_client(tmp_path, fake_embedder, **small) as c:
        cases: list[tuple[dict[str, bytes | str], str]] = [
            ({"a.md": "a", "b.md": "b", "c.md": "c"}, "KB_UPLOAD_MAX_FILES"),
            ({"big.md": big}, "KB_UPLOAD_MAX_FILE_MB"),
            ({"a.md": "x" * 8000, "b.md": "y" * 8000}, "KB_UPLOAD_MAX_TOTAL_MB"),
            ({"many.zip": zip_bytes({f"{n}.md": "x" for n in range(4)})}, "KB_ZIP_MAX_ENTRIES"),
            (
                {"bomb.zip": zip_bytes({"a.md": "a" * 7000, "b.md": "b" * 7000})},
                "KB_ZIP_MAX_UNCOMPRESSED_MB",
            ),
            ({"fat.zip": zip_bytes({"a.md": "a" * 10_500})}, "KB_UPLOAD_MAX_FILE_MB"),
        ]
        for files, limit in cases:
            response = _post(c, files)
            assert response.status_code == 413, (limit, response.text)
            assert limit in response.json()["error"]["message"]
        # a body far over every limit is cut off before it is read whole
        response = _post(c, {"huge.md": "z" * 3_000_000})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
        # a large JSON body elsewhere
        response = c.post(
            "/employees/x/events",
            content=b"[" + b"1," * 600_000 + b"1]",
            headers={**auth("admin"), "content-type": "application/json"},
        )
        assert response.status_code == 413


def test_a_restart_reports_finished_and_interrupted_jobs(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    keys = write_keys(tmp_path / "keys.yaml")
    settings = settings_for(tmp_path / "home", keys)
    with TestClient(create_app(settings, embedder=fake_embedder)) as first:
        finished = ingest(first, {"kept.md": "# Kept\n\nSurvives restarts."})
    # what a crash in the middle of a job leaves behind
    jobs_dir = tmp_path / "home" / "jobs"
    record = json.loads((jobs_dir / f"{finished['id']}.json").read_text())
    crashed = {**record, "id": "f" * 32, "state": "running", "finished_at": None, "files": []}
    (jobs_dir / f"{'f' * 32}.json").write_text(json.dumps(crashed))
    (tmp_path / "home" / "uploads" / ("f" * 32)).mkdir(parents=True)
    with TestClient(create_app(settings, embedder=fake_embedder)) as second:
        again = second.get(f"/ingest/jobs/{finished['id']}", headers=auth("admin")).json()
        assert again["state"] == "done"
        assert again["files"] == finished["files"]
        lost = second.get(f"/ingest/jobs/{'f' * 32}", headers=auth("admin")).json()
        assert lost["state"] == "interrupted"
        assert "upload the files again" in lost["error"]
    assert not (tmp_path / "home" / "uploads" / ("f" * 32)).exists()


def test_a_job_hides_documents_the_caller_may_not_see_but_counts_them(
    client: TestClient,
) -> None:
    secret = markdown_doc(
        "Recsys retention plan", {"Plan": "The wombatfig retention plan."}, visibility=["recsys"]
    )
    job = ingest(client, {"open-notes.md": "# Open\n\nDropout notes.", "retention.md": secret})
    by_source = {f["source"]: f for f in job["files"]}
    secret_id = by_source["retention.md"]["doc_id"]
    assert client.get(f"/documents/{secret_id}", headers=auth("organiser")).status_code == 404

    def seen_by(who: str, job_id: str) -> dict[str, Any]:
        response = client.get(f"/ingest/jobs/{job_id}", headers=auth(who))
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    outsider = seen_by("organiser", job["id"])  # an organiser of no team
    assert [f["status"] for f in outsider["files"]] == ["added", "added"]  # still counted
    assert outsider["hidden_files"] == 1
    hidden = [f for f in outsider["files"] if f.get("hidden")]
    assert len(hidden) == 1 and hidden[0]["doc_id"] is None
    text = json.dumps(outsider)
    assert "retention.md" not in text and secret_id not in text
    assert "open-notes.md" in text
    for who in ("organiser_recsys", "admin"):  # the team, and admins, see it all
        assert {f["source"] for f in seen_by(who, job["id"])["files"]} == {
            "open-notes.md",
            "retention.md",
        }
    # deleted, the document stays hidden (by the visibility recorded with the result)
    assert client.delete(f"/documents/{secret_id}", headers=auth("admin")).status_code == 200
    assert "retention.md" not in json.dumps(seen_by("organiser", job["id"]))

    # an upload restricted as a whole: every name hidden, the count kept
    restricted = ingest(
        client,
        {"quarterly.md": "# Quarterly\n\nThe kiwiplum numbers.", "broken.ipynb": "{not json"},
        visibility="recsys",
    )
    outsider = seen_by("organiser", restricted["id"])
    assert [f["status"] for f in outsider["files"]] == ["added", "failed"]
    assert outsider["hidden_files"] == 2 and outsider["visibility"] == []
    assert outsider["visibility_hidden"] is True
    text = json.dumps(outsider)
    for name in ("quarterly.md", "broken.ipynb", restricted["files"][0]["doc_id"], "recsys"):
        assert name not in text, name
    insider = seen_by("organiser_recsys", restricted["id"])
    assert insider["visibility"] == ["recsys"] and not insider["hidden_files"]
    assert [u["name"] for u in insider["uploads"]] == ["quarterly.md", "broken.ipynb"]
