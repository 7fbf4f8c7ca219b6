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
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.audit import Auditor
from api.backends import open_backend
from api.freshness import freshness_source
from api.http.auth import KeyRing, load_api_keys
from api.http.deps import Catalogs, Services, start_recorder
from api.http.errors import ApiError, error_response, install_error_handlers
from api.http.limits import close_rate_limits, open_rate_limits
from api.http.observability import attach_metrics, detach_metrics, install_observability
from api.http.routes import analytics as analytics_routes
from api.http.routes import cycles as cycles_routes
from api.http.routes import duplicates as duplicates_routes
from api.http.routes import feedback as feedback_routes
from api.http.routes import frameworks as frameworks_routes
from api.http.routes import freshness as freshness_routes
from api.http.routes import glossary as glossary_routes
from api.http.routes import graph as graph_routes
from api.http.routes import ingest, kb, recommender, system
from api.http.routes import person as person_routes
from api.http.routes import signin as signin_routes
from api.http.routes import sources as sources_routes
from api.http.routes import xapi as xapi_routes
from api.http.sso import SignInConfigurationError, open_sign_in
from api.http.suggestions import open_suggestions
from api.settings import Settings
from api.watching import missing_folders, start_watching
from api.web import mount_web
from ingest import Limits
from ingest.uploads import MB
from kb import Embedder
from kb.background import BackgroundEmbedder
from kb.language.bilingual import warm as warm_glossary
from kb.searchlog.recorder import ReaderSignals
from recommender import Catalog, NoCatalogError

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
which is which) or one `.zip` holding them, with `cycles.yaml` and the organisers'
`glossary.yaml` when there are. It is validated as `kb catalog load`: any fault answers 422
listing them all, and nothing is loaded.

**Company sign-in.** With `KB_OIDC_ISSUER`, the pages sign people in with the company's
identity provider (`/auth/login`; a session cookie, whose state-changing requests must carry
`X-CSRF-Token`), and an access token from that provider is accepted as a bearer token
(validated against its published keys, audience and expiry). See docs/sign-in.md.

**Development.** `KB_AUTH_DISABLED=1` runs without a keys file, every caller being admin;
the service logs a warning at start. Never use it on a shared machine.
"""


class BodyLimit:
    """Refuse request bodies over a per-path limit, before they are read whole.

    A declared Content-Length over the limit is answered at once; a body streamed without one
    is counted as it arrives and cut off. Both answer 413 in the service's error shape.
    """

    def __init__(
        self, app: ASGIApp, limits: dict[str, tuple[int, str]], default: tuple[int, str]
    ) -> None:
        self.app = app
        self.limits = limits
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, label = self.limits.get(scope["path"], self.default)
        message = f"The request body is over the limit of {label}; send less per request."
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > limit:
            await error_response(413, message)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    raise ApiError(413, message)
            return event

        await self.app(scope, counting_receive, send)


class ConfigurationError(RuntimeError):
    """The service cannot start with these settings; the message says what to change."""


def _keyring(settings: Settings) -> KeyRing | None:
    if settings.auth_disabled:
        log.warning(
            "AUTHENTICATION IS DISABLED (KB_AUTH_DISABLED=1): every caller is admin and sees "
            "every document. Development only."
        )
        return None
    if settings.api_keys_file is None and settings.oidc_issuer:
        return KeyRing(())  # company sign-in alone (docs/sign-in.md): no API keys
    if settings.api_keys_file is None:
        raise ConfigurationError(
            "No API keys: set KB_API_KEYS_FILE to a YAML list of {key, role, employee}, "
            "KB_OIDC_ISSUER for company sign-in (docs/sign-in.md), or KB_AUTH_DISABLED=1 for "
            "local development only."
        )
    return KeyRing(load_api_keys(settings.api_keys_file))


DOCS_ASSETS = "/docs-assets"


def _mount_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc from the assets that the fastapi-offline package ships,
    instead of FastAPI's default CDN links, which an offline network cannot load."""
    import fastapi_offline

    assets = Path(fastapi_offline.__file__).resolve().parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API reference",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


def _catalog_or_none(catalogs: Catalogs) -> Catalog | None:
    try:
        return catalogs.current()
    except NoCatalogError:
        return None


def _cap_encodes(embedder: Embedder, at_once: int | None) -> Any:
    """KB_MAX_CONCURRENT_ENCODES on the embedder's scheduler (`EncoderScheduler.cap_queries`);
    the scheduler, to lift the cap at shutdown, or None when there is no cap to set."""
    scheduler: Any = getattr(embedder, "scheduler", None)
    if at_once is None or not hasattr(scheduler, "cap_queries"):
        return None
    scheduler.cap_queries(at_once)
    return scheduler


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """The FastAPI application over `settings.home`.

    `embedder` lets tests share one loaded model; by default the lifespan loads the model
    named by the settings. Raises ApiKeysError or ConfigurationError at once when the keys
    file is malformed or missing.
    """
    settings = settings or Settings()
    keyring = _keyring(settings)
    try:  # company sign-in (docs/sign-in.md); None without KB_OIDC_ISSUER
        sign_in = open_sign_in(settings) if keyring is not None else None
    except SignInConfigurationError as exc:
        raise ConfigurationError(str(exc)) from None
    missing = missing_folders(settings)
    if missing:
        raise ConfigurationError(
            f"KB_WATCH names {', '.join(map(str, missing))}, which is not a folder: create "
            "it, mount the share, or take it out of KB_WATCH."
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend = open_backend(settings.home, settings.database_url)
        knowledge_base = backend.open_knowledge_base(
            model=settings.model, variant=settings.model_variant, embedder=embedder
        )
        knowledge_base.embedder.encode_query("warm up")  # load the model before the first user
        warm_glossary()  # the dictionary for cross-language queries, in the background
        catalogs = Catalogs(backend.recommender_sessions())
        catalogs.loaded()  # create or check the recommender's store before serving
        # every hit's staleness mark: the settings' thresholds and the catalogue's per skill
        knowledge_base.searcher.freshness_of = freshness_source(
            settings, lambda: _catalog_or_none(catalogs)
        )
        knowledge_base.searcher.chinese_stand_in = settings.chinese_stand_in
        knowledge_base.answer_model = settings.answer_model  # quoted answers' scorer
        limits = Limits(
            max_file_bytes=int(settings.upload_max_file_mb * MB),
            max_zip_entries=settings.zip_max_entries,
            max_zip_bytes=int(settings.zip_max_uncompressed_mb * MB),
        )
        # with a shared queue (PostgreSQL), any replica or `kb worker` runs the jobs
        jobs = backend.open_job_queue(
            knowledge_base, limits, settings.chunk_tokens, run_worker=settings.ingest_worker
        )
        jobs.recover()
        jobs.start()
        # Chunks stored for their words wait for vectors (`kb ingest --no-wait`, a crash):
        # the process that runs jobs makes them, searches going first on the encoder.
        embedding = None
        if settings.database_url is None or settings.ingest_worker:
            embedding = BackgroundEmbedder(knowledge_base, watch=True).start()
        # KB_WATCH folders, synced by the process that runs jobs (api.watching)
        watching = []
        if settings.watch and (settings.database_url is None or settings.ingest_worker):
            nudge = embedding.nudge if embedding is not None else None
            watching = start_watching(knowledge_base, settings, nudge)
        app.state.services = Services(settings, knowledge_base, catalogs, jobs, keyring, sign_in)
        attach_metrics(app, knowledge_base, jobs)  # /metrics (api.http.observability)
        app.state.backend = backend  # /health/ready asks it about the database
        # the parts a request opens on demand (the skills framework, the xAPI outbox) are made
        # current at start too, so that /health/ready and `kb db status` find every part upgraded
        for open_on_demand in (backend.open_framework_store, backend.open_xapi_outbox):
            open_on_demand().close()
        app.state.audit = Auditor(backend.open_audit_log())  # api.audit, docs/audit.md
        app.state.rate_limits = open_rate_limits(settings, backend)  # per key; none when unset
        encodes = _cap_encodes(knowledge_base.embedder, settings.max_concurrent_encodes)
        # named sources (docs/sources.md): their timed syncs run where the jobs run
        from api.sources import SourcesService

        app.state.sources = SourcesService(
            backend,
            knowledge_base,
            schedule=settings.database_url is None or settings.ingest_worker,
        )
        recorder = start_recorder(settings, backend)  # the search log
        app.state.search_recorder = recorder
        if recorder.log is not None:  # readers' thumbs and opens, for a trained ranking model
            knowledge_base.searcher.reader_signals = ReaderSignals(recorder.log)
        # suggestions as you type: built in the background, rebuilt when the store changes
        app.state.suggestions = open_suggestions(knowledge_base, catalogs, recorder.log)
        try:
            yield
        finally:
            detach_metrics(app)
            if encodes is not None:
                encodes.cap_queries(None)
            close_rate_limits(app.state.rate_limits)
            knowledge_base.searcher.reader_signals = None
            app.state.search_recorder.close()  # writes what is queued, then stops its thread
            app.state.suggestions.wait(settings.shutdown_wait_seconds)  # it reads the stores
            for watched in watching:  # the batch being stored is finished, the rest waits
                watched.stop(settings.shutdown_wait_seconds)
            stopped = jobs.stop(settings.shutdown_wait_seconds)
            stopped = app.state.sources.close(settings.shutdown_wait_seconds) and stopped
            if embedding is not None:  # the chunks being encoded are stored, the rest wait
                embedding.stop(settings.shutdown_wait_seconds)
            catalogs.close()
            app.state.audit.close()
            if sign_in is not None:
                sign_in.close()
            if stopped:
                knowledge_base.close()
            else:  # the worker still writes: leave the store to the process exit
                knowledge_base.flush()

    app = FastAPI(
        title="kb: training knowledge base",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from local files: the company network may be offline
        redoc_url=None,
    )
    _mount_docs(app)
    app.add_middleware(
        BodyLimit,
        limits={
            "/ingest": (
                int(settings.upload_max_total_mb * MB) + MULTIPART_SLACK,
                f"{settings.upload_max_total_mb:g} MB per upload (KB_UPLOAD_MAX_TOTAL_MB)",
            ),
            "/catalog": (
                int(settings.catalog_max_mb * MB) + MULTIPART_SLACK,
                f"{settings.catalog_max_mb:g} MB per catalogue (KB_CATALOG_MAX_MB)",
            ),
        },
        default=(JSON_BODY_LIMIT, f"{JSON_BODY_LIMIT // MB} MB"),
    )
    install_observability(app, settings)  # request log lines, /metrics (KB_METRICS)
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(kb.router)
    app.include_router(ingest.router)  # counts, sizes and types: checked by the route itself
    app.include_router(recommender.router)
    app.include_router(graph_routes.router)  # the knowledge graph: /graph, /graph/...
    app.include_router(analytics_routes.router)  # the search log's report: /analytics/...
    app.include_router(feedback_routes.router)  # readers' thumbs: /feedback, /analytics/feedback
    app.include_router(glossary_routes.router)  # GET /glossary (organisers)
    app.include_router(duplicates_routes.router)  # GET /analytics/duplicates (organisers)
    app.include_router(freshness_routes.router)  # GET /analytics/stale (organisers)
    app.include_router(cycles_routes.router)  # training cycles: /cycles, /cycles/...
    app.include_router(frameworks_routes.router)  # skills frameworks: /frameworks (organisers)
    app.include_router(sources_routes.router)  # named sources: /sources (organisers)
    app.include_router(person_routes.router)  # GET /people/{id}/export (admins)
    app.include_router(xapi_routes.router)  # xAPI statements in and out: /xapi/statements
    app.include_router(signin_routes.router)  # company sign-in: /auth/login, /callback, /logout
    mount_web(app)  # the web pages: /web/search, /web/learning, /web/organiser
    return app
