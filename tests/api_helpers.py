"""Building the HTTP app for tests: a tmp home, a keys file, a tiny corpus, the real model."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.auth import hash_key
from api.settings import Settings
from kb import Embedder
from tests.helpers import markdown_doc

CATALOG = Path(__file__).resolve().parent.parent / "data" / "sample" / "catalog"

KEYS = {
    "admin": "admin-key-0123456789abcdef",
    "organiser": "organiser-key-0123456789abcdef",
    "organiser_recsys": "organiser-recsys-key-0123456789",
    "liam": "employee-liam-key-0123456789abcdef",  # liam-chen, team nlp
    "daniel": "employee-daniel-key-0123456789ab",  # daniel-kowalski, team recsys
    "nobody": "employee-nobody-key-0123456789ab",  # not in the catalogue
}

# As `kb keys add` writes them (only the SHA-256 of each key), except the admin's: a plain key,
# as older files hold them, which is still read.
KEY_ENTRIES = [
    {"key": KEYS["admin"], "role": "admin"},
    {"key_sha256": hash_key(KEYS["organiser"]), "role": "organiser"},
    {"key_sha256": hash_key(KEYS["organiser_recsys"]), "role": "organiser", "team": "recsys"},
    {"key_sha256": hash_key(KEYS["liam"]), "role": "employee", "employee": "liam-chen"},
    {"key_sha256": hash_key(KEYS["daniel"]), "role": "employee", "employee": "daniel-kowalski"},
    {"key_sha256": hash_key(KEYS["nobody"]), "role": "employee", "employee": "nobody-at-all"},
]

SECRET_WORD = "zanzibarquokka"

CORPUS: dict[str, str] = {
    "imbalance.md": markdown_doc(
        "Handling class imbalance",
        {
            "Reweighting": "When the model keeps favouring the majority label, weight the "
            "loss by inverse class frequency or oversample the minority class.",
            "Evaluation": "Use macro F1 and per-class recall rather than accuracy.",
        },
        team="nlp",
        course="nlp-sentiment",
        skills=["model-evaluation"],
    ),
    "tuning.md": markdown_doc(
        "Hyperparameter search for sentiment models",
        {
            "Search": "Random search over learning rate, warmup and weight decay beats grid "
            "search; hyperparameter tuning needs a fixed validation split.",
        },
        team="nlp",
        skills=["hyperparameter-tuning"],
    ),
    "serving.md": markdown_doc(
        "Serving models with low latency",
        {"Batching": "Dynamic batching and quantisation keep p95 latency under budget."},
        team="mlops",
    ),
    "secret.md": markdown_doc(
        "Recsys private tuning notes",
        {
            "Tuning": f"Our {SECRET_WORD} hyperparameter tuning playbook: Bayesian search "
            "over learning rate and regularisation for matrix factorisation, hyperparameter "
            "tuning with early stopping.",
        },
        team="recsys",
        skills=["hyperparameter-tuning"],
        visibility=["recsys"],
    ),
}


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[who]}"}


def write_keys(path: Path, entries: Any = None) -> Path:
    path.write_text(yaml.safe_dump(entries if entries is not None else KEY_ENTRIES))
    return path


def settings_for(home: Path, keys_file: Path | None, **overrides: Any) -> Settings:
    return Settings(home=home, api_keys_file=keys_file, **overrides)


@contextmanager
def running_client(tmp: Path, embedder: Embedder, **overrides: Any) -> Iterator[TestClient]:
    """A TestClient over a fresh app (lifespan started) with the standard keys file."""
    tmp.mkdir(parents=True, exist_ok=True)
    keys = write_keys(tmp / "keys.yaml")
    app = create_app(settings_for(tmp / "home", keys, **overrides), embedder=embedder)
    with TestClient(app) as client:
        yield client


def files_part(files: Mapping[str, bytes | str]) -> list[tuple[str, tuple[str, bytes]]]:
    return [
        ("files", (name, data.encode() if isinstance(data, str) else data))
        for name, data in files.items()
    ]


def zip_bytes(entries: Mapping[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def wait_for_job(client: TestClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/ingest/jobs/{job_id}", headers=auth("admin")).json()
        if body["state"] in ("done", "failed", "interrupted"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {body['state']} after {timeout}s")
        time.sleep(0.05)


def ingest(client: TestClient, files: Mapping[str, bytes | str], **form: Any) -> dict[str, Any]:
    response = client.post("/ingest", files=files_part(files), data=form, headers=auth("admin"))
    assert response.status_code == 202, response.text
    return wait_for_job(client, response.json()["job_id"])


def load_sample_catalog(client: TestClient) -> None:
    parts = {p.name: p.read_bytes() for p in sorted(CATALOG.glob("*.yaml"))}
    response = client.put("/catalog", files=files_part(parts), headers=auth("organiser"))
    assert response.status_code == 200, response.text
