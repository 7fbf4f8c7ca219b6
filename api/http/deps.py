"""What routes receive: the services on app.state, the caller, and what the caller may see.

Routes declare these through the ``Annotated`` aliases at the bottom, so that a route's
signature says what it needs (``kb: KB, caller: Organiser``) and the checks live here once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.audit import Auditor
from api.http.auth import ADMIN, KeyRing, Principal
from api.http.errors import ApiError
from api.http.oidc import OidcError, ProviderUnavailable, looks_like_jwt
from api.http.session import CSRF_HEADER, SESSION_COOKIE, csrf_ok
from api.http.sso import SignIn, bearer_principal, session_principal
from api.ratelimit import Action, RateLimits
from api.settings import Settings
from api.sources import SourcesService
from ingest.jobs.base import JobQueue
from kb import DocumentInfo, Hit, KnowledgeBase, SearchFilters
from kb.search.suggest import EMPTY, Suggester, SuggestIndex
from kb.searchlog.base import SEARCH_ID_PATTERN
from kb.searchlog.recorder import DISABLED, SearchRecorder
from recommender import (
    Catalog,
    FrameworkStore,
    FrameworkTerms,
    GainEvidence,
    GraphCache,
    NoCatalogError,
    RecommenderStore,
    current_catalog,
    framework_terms,
    measure_gains,
)

if TYPE_CHECKING:
    from api.backends import Backend, RecommenderSessions


log = logging.getLogger("api.analytics")
# How long the catalogue read for a caller's teams is reused (see `Catalogs.current`).
CATALOG_RECHECK_S = 1.0


class Catalogs:
    """The recommender's store for each use (`api.backends.RecommenderSessions`: opened per use
    and closed in the same thread on SQLite, borrowed from a pool on PostgreSQL), and the
    current catalogue read through it."""

    def __init__(self, sessions: RecommenderSessions) -> None:
        self._sessions = sessions
        self._current: tuple[Catalog, float] | None = None  # (catalogue, when read)
        self._evidence: tuple[GainEvidence, float] | None = None

    def session(self) -> AbstractContextManager[RecommenderStore]:
        """The store, for a route that may change it: the cached catalogue is dropped."""
        self._current = None
        self._evidence = None
        return self._sessions.session()

    def close(self) -> None:
        self._sessions.close()

    def current(self) -> Catalog:
        """The catalogue with every event applied. Every search by an employee asks (for the
        teams they may see), and reading it is a catalogue load and a replay of every event
        (10% of a busy server's samples): it is kept for `CATALOG_RECHECK_S`, and dropped
        whenever a route of this service opens the store; a change made by another process
        is seen within that time."""
        cached = self._current
        now = time.monotonic()
        if cached is not None and now - cached[1] < CATALOG_RECHECK_S:
            return cached[0]
        with self._sessions.session() as store:
            catalog = current_catalog(store)
        self._current = (catalog, now)
        return catalog

    def evidence(self) -> GainEvidence:
        """The gains modules proved in cycles (for `next` and plans), kept as `current` is."""
        cached = self._evidence
        now = time.monotonic()
        if cached is not None and now - cached[1] < CATALOG_RECHECK_S:
            return cached[0]
        with self._sessions.session() as store:
            evidence = measure_gains(current_catalog(store), store.events())
        self._evidence = (evidence, now)
        return evidence

    def loaded(self) -> bool:
        with self.session() as store:
            return store.load_raw() is not None


@dataclass
class Services:
    """Everything the lifespan builds, kept on ``app.state.services``."""

    settings: Settings
    kb: KnowledgeBase
    catalogs: Catalogs
    jobs: JobQueue
    keyring: KeyRing | None  # None: authentication disabled (development only)
    sign_in: SignIn | None = None  # company sign-in (api.http.sso); None: KB_OIDC_ISSUER unset


class VisibleSource:
    """The knowledge base as a recommender MaterialSource, limited to what a caller may see.

    The recommender already limits materials to the employee's team; when someone else asks
    (an organiser bound to a team), both limits apply: the viewer sets are intersected, which
    may hide a document visible to both through different teams, never show a hidden one.
    """

    def __init__(self, kb: KnowledgeBase, teams: tuple[str, ...] | None) -> None:
        self._kb = kb
        self._teams = teams

    def _merge(self, filters: SearchFilters | None) -> SearchFilters | None:
        if self._teams is None:
            return filters
        base = filters or SearchFilters()
        if base.viewer_teams is None:
            teams = self._teams
        else:
            teams = tuple(t for t in base.viewer_teams if t in self._teams)
        return replace(base, viewer_teams=teams)

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        return self._kb.search(query, k=k, filters=self._merge(filters), mode=mode)

    def get_document(self, doc_id: str) -> DocumentInfo | None:
        doc = self._kb.get_document(doc_id)
        return doc if doc is not None and doc.visible_to(self._teams) else None


@dataclass(frozen=True)
class Viewer:
    """The caller and the teams whose restricted documents it may see (None: all)."""

    principal: Principal
    teams: tuple[str, ...] | None


# -- providers --------------------------------------------------------------------------------
def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_kb(services: ServicesDep) -> KnowledgeBase:
    return services.kb


def get_catalogs(services: ServicesDep) -> Catalogs:
    return services.catalogs


def get_jobs(services: ServicesDep) -> JobQueue:
    return services.jobs


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


class Frameworks:
    """The skills framework's store for each use (opened per request, closed after it) and the
    approved mappings that answers speak in (`terms`), kept for `CATALOG_RECHECK_S` and
    dropped whenever a route opens the store (docs/frameworks.md)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._terms: tuple[float, FrameworkTerms] | None = None

    @contextmanager
    def session(self) -> Iterator[FrameworkStore]:
        self._terms = None
        store = self._backend.open_framework_store()
        try:
            yield store
        finally:
            store.close()
            self._terms = None

    def terms(self) -> FrameworkTerms:
        cached = self._terms
        if cached is not None and time.monotonic() - cached[0] < CATALOG_RECHECK_S:
            return cached[1]
        store = self._backend.open_framework_store()
        try:
            terms = framework_terms(store)
        finally:
            store.close()
        self._terms = (time.monotonic(), terms)
        return terms


def get_frameworks(request: Request) -> Frameworks:
    """The service's `Frameworks`, made on first use over the backend the lifespan opened."""
    frameworks: Frameworks | None = getattr(request.app.state, "frameworks", None)
    if frameworks is None:
        frameworks = request.app.state.frameworks = Frameworks(request.app.state.backend)
    return frameworks


_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from the service's keys file: `Authorization: Bearer <key>`.",
)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_principal(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who calls: an API key, else (with company sign-in) a bearer access token from the
    identity provider, else the page session's cookie; 401 without any, or with one that is
    unknown, refused or expired; with authentication disabled, an admin.

    A request made with the session cookie that changes something (not GET, HEAD, OPTIONS)
    must carry the session's CSRF token in ``X-CSRF-Token`` (403 without it); bearer callers
    send no cookie and need none. The caller's stable id is left in the request's state for
    the request's log line."""
    if services.keyring is None:
        return ADMIN
    sign_in = services.sign_in
    if credentials is not None and credentials.credentials:
        token = credentials.credentials
        principal = services.keyring.identify(token)
        if principal is None and sign_in is not None and looks_like_jwt(token):
            principal = _token_principal(sign_in, token, services.catalogs)
        if principal is None:
            raise ApiError(
                401,
                "Unknown API key: check the key you sent, or ask for a new one.",
                headers=_CHALLENGE,
            )
    elif sign_in is not None and request.cookies.get(SESSION_COOKIE):
        session = sign_in.cookies.read_session(request.cookies[SESSION_COOKIE])
        if session is None:
            raise ApiError(
                401,
                "Your sign-in has ended or its cookie is not valid: sign in again.",
                headers=_CHALLENGE,
            )
        if not csrf_ok(request, session):
            raise ApiError(
                403,
                f"This request changes something but lacks the page's {CSRF_HEADER} header: "
                "reload the page and try again (scripts must send the kb_csrf cookie's value).",
            )
        principal = session_principal(session)
        request.state.key_id = principal.key_id
        return principal  # the session's sign-in was audited at /auth/callback
    else:
        raise ApiError(
            401,
            "No API key: send the header 'Authorization: Bearer <key>' (ask an organiser for "
            "a key)" + (", or sign in at /auth/login." if sign_in is not None else "."),
            headers=_CHALLENGE,
        )
    request.state.key_id = principal.key_id  # api.http.observability logs it, never the key
    auditor: Auditor | None = getattr(request.app.state, "audit", None)
    if auditor is not None:  # a key's first request of the day is its sign-in (api.audit)
        auditor.key_used(principal, client_ip(request))
    return principal


def _token_principal(sign_in: SignIn, token: str, catalogs: Catalogs) -> Principal:
    """A bearer access token's caller; 401 naming why it is refused, 503 when the provider's
    keys cannot be read."""
    try:
        catalog = catalogs.current()
    except NoCatalogError:
        catalog = None
    try:
        return bearer_principal(sign_in, token, catalog)
    except ProviderUnavailable as exc:
        raise ApiError(503, str(exc), headers={"Retry-After": "30"}) from None
    except OidcError as exc:
        raise ApiError(
            401,
            f"Access token refused: {exc}",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None


Caller = Annotated[Principal, Depends(get_principal)]


def client_ip(request: Request) -> str | None:
    """The address the request came from, as the audit log records it."""
    return request.client.host if request.client else None


def get_audit(request: Request) -> Auditor:
    """The service's audit log (api.audit), opened in the lifespan."""
    auditor: Auditor | None = getattr(request.app.state, "audit", None)
    if auditor is None:
        raise ApiError(503, "The audit log is not open: restart the service (`kb serve`).")
    return auditor


Audit = Annotated[Auditor, Depends(get_audit)]


def require_organiser(caller: Caller) -> Principal:
    if not caller.at_least("organiser"):
        raise ApiError(403, f"This needs an organiser or admin key; yours is {caller.describe()}.")
    return caller


def check_employee_access(caller: Principal, employee_id: str) -> None:
    """Employees may only act on themselves; organisers and admins on anyone."""
    if caller.role == "employee" and caller.employee != employee_id:
        raise ApiError(
            403,
            f"Your key is bound to employee {caller.employee!r}: you may only read or post "
            "your own data.",
        )


def get_viewer(caller: Caller, catalogs: Annotated[Catalogs, Depends(get_catalogs)]) -> Viewer:
    """Resolve the teams whose restricted documents the caller may see.

    Admins see everything; an organiser sees its key's team (if any); an employee, the team
    the current catalogue gives them (none while no catalogue is loaded or if they are not
    in it, so that only unrestricted documents show).
    """
    if caller.role == "admin":
        return Viewer(caller, None)
    if caller.role == "organiser":
        return Viewer(caller, (caller.team,) if caller.team else ())
    try:
        catalog = catalogs.current()
    except NoCatalogError:
        return Viewer(caller, ())
    employee = catalog.employees.get(caller.employee or "")
    return Viewer(caller, (employee.team,) if employee else ())


KB = Annotated[KnowledgeBase, Depends(get_kb)]
CatalogsDep = Annotated[Catalogs, Depends(get_catalogs)]
FrameworksDep = Annotated[Frameworks, Depends(get_frameworks)]
Jobs = Annotated[JobQueue, Depends(get_jobs)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Organiser = Annotated[Principal, Depends(require_organiser)]
ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def start_recorder(settings: Settings, backend: Backend) -> SearchRecorder:
    """The service's recorder: the log beside the knowledge base (`<home>/analytics.sqlite`,
    or PostgreSQL with a database URL), or none when KB_ANALYTICS_ENABLED is off. A log that
    cannot be opened is reported and leaves searches unrecorded, never the service down."""
    if not settings.analytics_enabled:
        return DISABLED
    try:
        search_log = backend.open_search_log()
    except Exception as exc:
        log.error("searches will not be recorded: the search log could not be opened: %s", exc)
        return DISABLED
    return SearchRecorder(
        search_log,
        record_employee=settings.analytics_record_employee,
        retention_days=settings.analytics_retention_days,
    )


def get_recorder(request: Request) -> SearchRecorder:
    recorder: SearchRecorder = getattr(request.app.state, "search_recorder", DISABLED)
    return recorder


Recorder = Annotated[SearchRecorder, Depends(get_recorder)]
FromSearch = Annotated[
    str | None,
    Query(
        pattern=SEARCH_ID_PATTERN,
        description="the `search_id` of the search this document was opened from (recorded "
        "for the organisers' report)",
    ),
]


def get_graph_cache(request: Request) -> GraphCache:
    """The app's graph cache, created on first use (one per app, shared by its threads)."""
    state = request.app.state
    cache: GraphCache | None = getattr(state, "graph_cache", None)
    if cache is None:
        cache = GraphCache()
        state.graph_cache = cache
    return cache


GraphCacheDep = Annotated[GraphCache, Depends(get_graph_cache)]


def get_suggester(request: Request) -> Suggester:
    """The latest suggestions (`api.http.suggestions`): never waits for a build, and empty
    before the first one is done or on an app whose lifespan built none."""
    index: SuggestIndex | None = getattr(request.app.state, "suggestions", None)
    return EMPTY if index is None else index.current()


def invalidate_suggestions(request: Request) -> None:
    """Rebuild the suggestions soon: something changed that the store's version does not show."""
    index: SuggestIndex | None = getattr(request.app.state, "suggestions", None)
    if index is not None:
        index.invalidate()


SuggesterDep = Annotated[Suggester, Depends(get_suggester)]


def get_sources(request: Request) -> SourcesService:
    """The named sources' registry, syncer and scheduler (api.sources), built in the lifespan."""
    sources: SourcesService = request.app.state.sources
    return sources


SourcesDep = Annotated[SourcesService, Depends(get_sources)]


# -- rate limits (api.ratelimit): per API key, counted where every replica sees them ---------
def rate_limit(action: Action) -> Callable[..., None]:
    """A route dependency that counts one `action` for the caller's key and answers 429, with
    ``Retry-After`` and the limit in the message, when it is over (after authentication, so an
    unknown key is still a 401). Off when the action has no KB_RATE_LIMIT_* setting."""

    def check(request: Request, caller: Caller) -> None:
        limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
        if not limits:
            return
        refusal = limits.hit(action, caller.key_id or "service")
        if refusal is not None:
            raise ApiError(
                429, refusal.message(), headers={"Retry-After": str(refusal.retry_after)}
            )

    return check
