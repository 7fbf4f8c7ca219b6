"""The HTTP service: `create_app` wires settings, the knowledge base, the recommender's store,
the ingest worker and the routes together.

Nothing heavy happens at import or in `create_app` except reading the API keys file (so that
a malformed one stops the service before it listens); the model, the stores and the worker
thread are built in the lifespan and kept on ``app.state.services``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.auth import KeyRing, load_api_keys
from api.deps import Catalogs, Services
from api.errors import install_error_handlers
from api.jobs import JobManager
from api.routes import ingest, kb, recommender, system
from api.settings import Settings
from api.uploads import MB
from ingest import Limits
from kb import Embedder, KnowledgeBase, SentenceTransformerEmbedder

log = logging.getLogger("api")

JSON_BODY_LIMIT = 1 * MB  # every body but uploads is a small JSON document
MULTIPART_SLACK = 1 * MB  # part headers and boundaries on top of the files themselves

DESCRIPTION = """
Search and recommendations over the training programme's material, for many users at once.

**Authentication.** Every endpoint but `/health` needs `Authorization: Bearer <key>`. Keys
come from the YAML file named by `KB_API_KEYS_FILE` (a list of `{key, role, employee, team}`).
Roles: `employee` (search, read documents, read its own gaps, next module, recommendations and
plan, post its own events), `organiser` (also ingest, delete documents, load the catalogue,
read any employee, team and ingest job), `admin` (everything, and sees every document).
No key or an unknown key: 401; a key without the right: 403.

**Visibility.** A document may be restricted to teams (front matter `visibility: [team
ids]`, or the `visibility` field at upload). Others never see it: not in search hits or
snippets, not in recommendations, and `GET /documents/{id}` answers 404. An employee's team
comes from the catalogue; an organiser's from the optional `team` of its key.

**Errors.** Every error is `{"error": {"status", "code", "message", ...}}`; the message says
what to fix. Validation errors add `fields`, a faulty catalogue adds `faults`, a refused
upload adds `file`.

**Catalogue upload.** `PUT /catalog` takes multipart parts named `files`: either the four
files `skills.yaml`, `teams.yaml`, `courses.yaml`, `employees.yaml` (the file names decide
which is which) or one `.zip` holding them. It is validated as `kb catalog load`: any fault
answers 422 listing them all, and nothing is loaded.

**Development.** `KB_AUTH_DISABLED=1` runs without a keys file, every caller being admin;
the service logs a warning at start. Never use it on a shared machine.
"""


class ConfigurationError(RuntimeError):
    """The service cannot start with these settings; the message says what to change."""


def _keyring(settings: Settings) -> KeyRing | None:
    if settings.auth_disabled:
        log.warning(
            "AUTHENTICATION IS DISABLED (KB_AUTH_DISABLED=1): every caller is admin and sees "
            "every document. Development only."
        )
        return None
    if settings.api_keys_file is None:
        raise ConfigurationError(
            "No API keys: set KB_API_KEYS_FILE to a YAML list of {key, role, employee} "
            "(or KB_AUTH_DISABLED=1 for local development only)."
        )
    return KeyRing(load_api_keys(settings.api_keys_file))


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """The FastAPI application over `settings.home`.

    `embedder` lets tests share one loaded model; by default the lifespan loads the model
    named by the settings. Raises ApiKeysError or ConfigurationError at once when the keys
    file is malformed or missing.
    """
    settings = settings or Settings()
    keyring = _keyring(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = embedder or SentenceTransformerEmbedder(settings.model)
        knowledge_base = KnowledgeBase(settings.home, model)
        model.encode_query("warm up")  # load the model now, not on the first user's search
        catalogs = Catalogs(settings.home)
        catalogs.loaded()  # create or check the recommender's store before serving
        jobs = JobManager(
            knowledge_base,
            settings.home,
            Limits(
                max_file_bytes=int(settings.upload_max_file_mb * MB),
                max_zip_entries=settings.zip_max_entries,
                max_zip_bytes=int(settings.zip_max_uncompressed_mb * MB),
            ),
            settings.chunk_tokens,
        )
        jobs.recover()
        jobs.start()
        app.state.services = Services(settings, knowledge_base, catalogs, jobs, keyring)
        try:
            yield
        finally:
            stopped = jobs.stop(settings.shutdown_wait_seconds)
            if stopped:
                knowledge_base.close()
            else:  # the worker still writes: leave the store to the process exit
                knowledge_base.flush()

    app = FastAPI(
        title="kb: training knowledge base",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        max_body_size=JSON_BODY_LIMIT,
    )
    upload_limit = int(settings.upload_max_total_mb * MB) + MULTIPART_SLACK
    app.state.body_limit_hint = (
        f"uploads: at most {settings.upload_max_total_mb:g} MB per request "
        f"(KB_UPLOAD_MAX_TOTAL_MB); the catalogue: {settings.catalog_max_mb:g} MB; "
        f"other requests: {JSON_BODY_LIMIT // MB} MB"
    )
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(kb.router)
    app.include_router(
        ingest.router,
        max_body_size=upload_limit,
        form_limits={"max_files": settings.upload_max_files, "max_fields": 100},
    )
    app.include_router(
        recommender.router,
        max_body_size=int(settings.catalog_max_mb * MB) + MULTIPART_SLACK,
        form_limits={"max_files": 10, "max_fields": 10},
    )
    return app


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document (for tests and tools that do not start the lifespan)."""
    return app.openapi()
