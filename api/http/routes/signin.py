"""Company sign-in for the web pages (docs/sign-in.md): ``/auth/login`` starts the
authorisation code flow with PKCE, ``/auth/callback`` finishes it and sets the session cookie,
``/auth/logout`` ends it; ``/auth/config`` tells the sign-in page whether to offer it.

Every sign-in and sign-out is in the audit log (actor: the session's ``sso-...`` id), and so is
an employee record made for a person the catalogue did not have yet.
"""

from __future__ import annotations

import hmac
import logging
import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse

from api.audit import Auditor
from api.http.deps import Audit, Catalogs, CatalogsDep, Services, ServicesDep, client_ip
from api.http.errors import ApiError
from api.http.oidc import OidcError, ProviderUnavailable
from api.http.routes import errors
from api.http.session import CSRF_HEADER, FLOW_COOKIE, SESSION_COOKIE, Flow, csrf_ok
from api.http.sso import SignIn, map_identity
from recommender import CatalogInvalidError, NoCatalogError, add_employee

log = logging.getLogger("api.http.signin")

router = APIRouter(prefix="/auth", tags=["sign-in"])

# Where a sign-in may return to: one of this site's pages, never another site.
_NEXT = re.compile(r"^/web/[a-z]+(\?[^#]*)?$")
DEFAULT_NEXT = "/web/search"


def _sign_in(services: Services) -> SignIn:
    sign_in: SignIn | None = services.sign_in
    if sign_in is None:
        raise ApiError(
            404,
            "Company sign-in is not configured on this service (KB_OIDC_ISSUER): sign in "
            "with an API key at /web/signin.",
        )
    return sign_in


def _redirect_uri(sign_in: SignIn, request: Request) -> str:
    configured = sign_in.settings.oidc_redirect_url
    return configured or str(request.url_for("auth_callback"))


@router.get("/config", summary="Whether company sign-in is offered (no key needed)")
def config(services: ServicesDep) -> dict[str, Any]:
    return {"enabled": services.sign_in is not None, "login": "/auth/login"}


@router.get(
    "/login",
    summary="Start a company sign-in (the browser is sent to the provider)",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "To the identity provider"}, **errors(404, 503)},
)
def login(
    request: Request,
    services: ServicesDep,
    next: Annotated[str, Query(max_length=500)] = DEFAULT_NEXT,
) -> RedirectResponse:
    """A fresh state, nonce and PKCE verifier, kept in a signed cookie for ten minutes; the
    browser goes to the provider's authorisation endpoint."""
    sign_in = _sign_in(services)
    redirect_uri = _redirect_uri(sign_in, request)
    try:
        start = sign_in.provider.start(redirect_uri)
    except ProviderUnavailable as exc:
        raise ApiError(503, str(exc), headers={"Retry-After": "30"}) from None
    flow = Flow(
        state=start.state,
        nonce=start.nonce,
        verifier=start.verifier,
        next=next if _NEXT.match(next) else DEFAULT_NEXT,
        redirect_uri=redirect_uri,
    )
    response = RedirectResponse(start.url, status_code=302)
    sign_in.cookies.set_flow(response, request, flow)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/callback",
    name="auth_callback",
    summary="Where the provider sends the browser back",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: {"description": "Signed in: to the sign-in page"},
        **errors(400, 401, 404, 503),
    },
)
def callback(
    request: Request,
    services: ServicesDep,
    catalogs: CatalogsDep,
    audit: Audit,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> RedirectResponse:
    """Check the state against this browser's flow cookie, exchange the code with the PKCE
    verifier, validate the ID token (signature, issuer, audience, expiry, nonce), map the
    person's groups, make their employee record if the catalogue lacks them, audit the
    sign-in, and set the session; then on to the sign-in page, which keeps the session for
    the tab and goes to the page the person asked for."""
    sign_in = _sign_in(services)
    flow = sign_in.cookies.read_flow(request.cookies.get(FLOW_COOKIE))
    if error:
        raise ApiError(401, f"The identity provider did not sign you in ({error}): try again.")
    if flow is None:
        raise ApiError(
            400,
            "This sign-in was not started in this browser, or took over ten minutes: start "
            "again from the sign-in page.",
        )
    if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise ApiError(400, "The sign-in's state does not match this browser's: start again.")
    if not code:
        raise ApiError(400, "The identity provider sent no code: start the sign-in again.")
    try:
        _claims, identity = sign_in.provider.finish(
            flow.redirect_uri, code, flow.verifier, flow.nonce
        )
    except ProviderUnavailable as exc:
        raise ApiError(503, str(exc), headers={"Retry-After": "30"}) from None
    except OidcError as exc:
        raise ApiError(401, f"Sign-in refused: {exc}") from None
    try:
        catalog = catalogs.current()
    except NoCatalogError:
        catalog = None
    mapping = map_identity(catalog, identity)
    session = sign_in.cookies.new_session(
        identity.subject, identity.employee, identity.name, mapping.role, mapping.team
    )
    where = client_ip(request)
    if catalog is not None and identity.employee not in catalog.employees:
        _add_employee(
            catalogs, audit, session.key_id, identity.employee, identity.name, mapping.team, where
        )
    detail = {"via": "oidc", "role": mapping.role, "employee": identity.employee}
    if mapping.team:
        detail["team"] = mapping.team
    audit.record(session.key_id, "sign_in", "", detail, where)
    response = RedirectResponse(
        "/web/signin?sso=1&next=" + quote(flow.next, safe=""), status_code=303
    )
    sign_in.cookies.clear_flow(response, request)
    sign_in.cookies.set_session(response, request, session)
    response.headers["Cache-Control"] = "no-store"
    return response


def _add_employee(
    catalogs: Catalogs,
    audit: Auditor,
    actor: str,
    employee: str,
    name: str,
    team: str | None,
    where: str | None,
) -> None:
    """A person new to the catalogue gets an employee record, in the team their groups give;
    without one (no `sign_in.yaml` rule names a team for their groups) there is no team to
    put them in, and they sign in with no record: unrestricted documents only, as a key
    whose employee the catalogue lacks."""
    if team is None:
        log.info("%s signed in with no team from their groups: no employee record made", actor)
        return
    audit.record(actor, "employee.create", employee, {"team": team, "via": "oidc"}, where)
    try:
        with catalogs.session() as store:
            add_employee(store, employee, name, team)
    except CatalogInvalidError as exc:  # cannot be with a validated mapping; said, not hidden
        log.error("could not add %s to the catalogue: %s", employee, exc)


@router.post("/logout", summary="End the page session (sign-out)", responses=errors(403, 404, 503))
def logout(request: Request, services: ServicesDep, audit: Audit) -> JSONResponse:
    """Clears the session cookies; audited as `sign_out`. With the session cookie, the page's
    CSRF token must come in ``X-CSRF-Token`` (a cross-site page cannot sign people out)."""
    sign_in = _sign_in(services)
    response = JSONResponse({"signed_out": True})
    value = request.cookies.get(SESSION_COOKIE)
    session = sign_in.cookies.read_session(value) if value else None
    if session is not None:
        if not csrf_ok(request, session):
            raise ApiError(
                403, f"Signing out needs the page's {CSRF_HEADER} header: reload the page."
            )
        audit.record(
            session.key_id,
            "sign_out",
            "",
            {"via": "oidc", "employee": session.employee},
            client_ip(request),
        )
    sign_in.cookies.clear(response, request)
    return response
