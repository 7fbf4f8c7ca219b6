"""The web pages' session after a company sign-in: a signed cookie, and its CSRF token.

``kb_session`` holds who signed in (employee id, display name, role, team), when, and a
random CSRF token, signed with ``KB_SESSION_SECRET`` (itsdangerous: HMAC-SHA1 over the
payload and its time; an altered or expired cookie reads as no session). It is HttpOnly (page
scripts never see it), SameSite=Lax (a cross-site form post does not carry it), Secure when
the request came over HTTPS or ``KB_COOKIE_SECURE`` says so, and expires after
``KB_SESSION_HOURS`` both in the browser and in the signature's check.

CSRF: a double-submit token bound to the session. ``kb_csrf`` (readable by the pages'
scripts, same attributes otherwise) holds the token that the signed session also holds; every
state-changing request made with the session cookie must send it back in ``X-CSRF-Token``.
A site that is not this one can neither read the cookie nor forge the signed session, so it
cannot send a matching pair. Bearer callers (API keys, access tokens) send no cookie and are
not asked for the token.

``kb_oidc_flow`` carries one sign-in's state, nonce and PKCE verifier from ``/auth/login`` to
``/auth/callback`` (signed, HttpOnly, path ``/auth``, ten minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "kb_session"
CSRF_COOKIE = "kb_csrf"
FLOW_COOKIE = "kb_oidc_flow"
CSRF_HEADER = "X-CSRF-Token"
FLOW_SECONDS = 600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class WebSession:
    """One signed-in person, as the session cookie carries them."""

    subject: str  # the provider's iss|sub
    employee: str
    name: str
    role: str
    team: str | None
    csrf: str
    signed_in_at: float

    @property
    def key_id(self) -> str:
        """The session's stable id (`subject_key_id`), never the subject in a log line."""
        return subject_key_id(self.subject)


def subject_key_id(subject: str) -> str:
    """A signed-in person's stable id in logs, the audit log and rate limits: "sso-" and 16
    hex digits of the SHA-256 of the provider's iss|sub."""
    return "sso-" + hashlib.sha256(subject.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Flow:
    """A sign-in under way: what `/auth/callback` checks the provider's answer against."""

    state: str
    nonce: str
    verifier: str
    next: str
    redirect_uri: str


class SessionCookies:
    """Writes and reads the three cookies; `secret` signs them, `max_age_s` is a session's
    life, `secure` forces the Secure attribute on (True), off (False) or follows the request
    (None)."""

    def __init__(self, secret: str, max_age_s: float, secure: bool | None) -> None:
        self._sessions = URLSafeTimedSerializer(secret, salt="kb.session")
        self._flows = URLSafeTimedSerializer(secret, salt="kb.oidc-flow")
        self.max_age_s = int(max_age_s)
        self._secure = secure

    def secure(self, request: Request) -> bool:
        if self._secure is not None:
            return self._secure
        forwarded = request.headers.get("x-forwarded-proto", "")
        return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"

    # -- the session ------------------------------------------------------------------------
    def new_session(
        self, subject: str, employee: str, name: str, role: str, team: str | None
    ) -> WebSession:
        return WebSession(
            subject=subject,
            employee=employee,
            name=name,
            role=role,
            team=team,
            csrf=secrets.token_urlsafe(32),
            signed_in_at=time.time(),
        )

    def set_session(self, response: Response, request: Request, session: WebSession) -> None:
        secure = self.secure(request)
        value = self._sessions.dumps(asdict(session))
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=self.max_age_s,
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
        response.set_cookie(
            CSRF_COOKIE,
            session.csrf,
            max_age=self.max_age_s,
            path="/",
            secure=secure,
            httponly=False,  # the pages' scripts read it to send it back in X-CSRF-Token
            samesite="lax",
        )

    def read_session(self, value: str) -> WebSession | None:
        """The session a cookie holds, or None when it was altered, signed with another key,
        is older than a session's life, or is not a session."""
        try:
            data: Any = self._sessions.loads(value, max_age=self.max_age_s)
        except BadSignature:  # SignatureExpired is a BadSignature too
            return None
        try:
            return WebSession(**data)
        except TypeError:
            return None

    def clear(self, response: Response, request: Request) -> None:
        """Sign-out: both cookies expired at once (same path and attributes as when set)."""
        secure = self.secure(request)
        for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
            response.delete_cookie(name, path="/", secure=secure, httponly=httponly, samesite="lax")

    # -- a sign-in under way ----------------------------------------------------------------
    def set_flow(self, response: Response, request: Request, flow: Flow) -> None:
        response.set_cookie(
            FLOW_COOKIE,
            self._flows.dumps(asdict(flow)),
            max_age=FLOW_SECONDS,
            path="/auth",
            secure=self.secure(request),
            httponly=True,
            samesite="lax",  # the provider's redirect back is a top-level GET: it is sent
        )

    def read_flow(self, value: str | None) -> Flow | None:
        if not value:
            return None
        try:
            data: Any = self._flows.loads(value, max_age=FLOW_SECONDS)
            return Flow(**data)
        except (BadSignature, TypeError):
            return None

    def clear_flow(self, response: Response, request: Request) -> None:
        response.delete_cookie(
            FLOW_COOKIE, path="/auth", secure=self.secure(request), httponly=True, samesite="lax"
        )


def csrf_ok(request: Request, session: WebSession) -> bool:
    """Whether a request made with the session cookie may go ahead: a safe method, or the
    session's CSRF token in ``X-CSRF-Token`` (compared in constant time)."""
    if request.method in SAFE_METHODS:
        return True
    sent = request.headers.get(CSRF_HEADER, "")
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf.encode())
