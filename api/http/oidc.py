"""Company sign-in with OpenID Connect (docs/sign-in.md): the provider's discovery document,
its signing keys, the authorisation code flow with PKCE, and the validation of the ID tokens
and bearer access tokens it signs.

The protocol's moving parts come from maintained libraries: Authlib's OAuth 2 client builds
the authorisation URL (with the S256 code challenge) and exchanges the code at the token
endpoint; joserfc (Authlib's JOSE library) verifies signatures. What is ours is the policy:

- Only asymmetric algorithms are accepted (RS*, PS*, ES*, EdDSA). ``alg: none`` is refused,
  and so is HS256, whose "secret" would be the provider's *public* key: the classic
  algorithm-confusion forgery.
- The key must be one the provider publishes at its ``jwks_uri``. Keys are cached; a token
  naming a key id not in the cache makes one fetch, at most once per
  ``KB_OIDC_JWKS_REFRESH_SECONDS`` (a provider rotating its keys is followed; a flood of tokens
  with made-up key ids costs the provider one request per period, not one per token).
- ``iss`` must be the configured issuer, ``aud`` must name this service, ``exp`` must be in
  the future (one minute of leeway for clocks), and an ID token's ``nonce`` must be the one
  this browser's sign-in started with.

Nothing here knows about cookies, routes or the catalogue: `api.http.session` and
`api.http.routes.signin` use it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

# Signature algorithms a provider's tokens may use: public-key ones only.
ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
LEEWAY_S = 60  # clock skew tolerated on exp, nbf and iat
HTTP_TIMEOUT_S = 10.0
MAX_ID_CHARS = 200  # an employee id, as the HTTP API's paths accept them
MAX_CLIENTS = 8  # OAuth 2 clients kept, one per callback URL


class OidcError(Exception):
    """A token or a sign-in refused; the message says why, in words for the person or the
    operator (never the token itself)."""


class ProviderUnavailable(OidcError):
    """The identity provider could not be reached or answered nonsense; try again later."""


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the provider's discovery document this service uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None


@dataclass(frozen=True)
class Identity:
    """Who a validated token says the person is: the catalogue's employee id, their display
    name and their groups, read from the claims the settings name; `subject` is the
    provider's own stable id (``iss`` + ``sub``)."""

    subject: str
    employee: str
    name: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class FlowStart:
    """One sign-in started: the URL to send the browser to, and the secrets to keep (in a
    signed cookie) until the callback: `state` against cross-site requests, `nonce` against
    a replayed ID token, `verifier` for PKCE."""

    url: str
    state: str
    nonce: str
    verifier: str


def discover(issuer: str, http: httpx.Client) -> ProviderMetadata:
    """Read ``<issuer>/.well-known/openid-configuration``; its ``issuer`` must be `issuer`
    exactly (OpenID Connect Discovery 1.0, section 4.3), else every token would be checked
    against the wrong name."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = http.get(url)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(
            f"The identity provider's discovery document at {url} could not be read ({exc}); "
            "check KB_OIDC_ISSUER and that the provider is up."
        ) from None
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{url} is not a JSON object: check KB_OIDC_ISSUER.")
    if document.get("issuer") != issuer:
        raise ProviderUnavailable(
            f"{url} names the issuer {document.get('issuer')!r}, not {issuer!r}: set "
            "KB_OIDC_ISSUER to the provider's issuer exactly (with or without its final '/')."
        )
    missing = [
        name
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(document.get(name), str)
    ]
    if missing:
        raise ProviderUnavailable(f"{url} lacks {', '.join(missing)}: is this an OIDC provider?")
    end_session = document.get("end_session_endpoint")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        end_session_endpoint=end_session if isinstance(end_session, str) else None,
    )


class JwksCache:
    """The provider's published keys, fetched on first use and again when a token names an
    unknown key id, at most once per `min_refresh_s` (thread-safe)."""

    def __init__(
        self,
        fetch: Callable[[], Mapping[str, Any]],
        min_refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._min_refresh_s = min_refresh_s
        self._clock = clock
        self._keys: KeySet | None = None
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0  # how many times the keys were fetched (for tests and metrics)

    def _refresh(self) -> None:
        try:
            document = self._fetch()
            keys = KeySet.import_key_set(dict(document))  # type: ignore[arg-type]
        except ProviderUnavailable:
            raise
        except (httpx.HTTPError, ValueError, JoseError, TypeError) as exc:
            raise ProviderUnavailable(
                f"The identity provider's keys could not be read ({exc}); try again shortly."
            ) from None
        self._keys = keys
        self._fetched_at = self._clock()
        self.fetches += 1

    def keys_for(self, kid: str | None) -> KeySet:
        """The key set to verify a token whose header names `kid`; raises `OidcError` when
        the provider does not publish that key (after one refresh, if the period allows)."""
        with self._lock:
            if self._keys is None:
                self._refresh()
            assert self._keys is not None
            if kid is not None and not _has_kid(self._keys, kid):
                due = self._fetched_at is None or (
                    self._clock() - self._fetched_at >= self._min_refresh_s
                )
                if due:
                    self._refresh()
                if not _has_kid(self._keys, kid):
                    raise OidcError(
                        "The token is signed with a key the identity provider does not publish."
                    )
            return self._keys


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def _header(token: str) -> dict[str, Any]:
    """A compact JWS's header, read before any key is chosen (to refuse its algorithm or find
    its key id); `OidcError` when it is not a JWT at all."""
    parts = token.split(".")
    if len(parts) != 3:
        raise OidcError("The token is not a signed JWT (three dot-separated parts).")
    try:
        padded = parts[0] + "=" * (-len(parts[0]) % 4)
        header = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error):
        raise OidcError("The token's header is not valid base64url JSON.") from None
    if not isinstance(header, dict):
        raise OidcError("The token's header is not a JSON object.")
    return header


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer credential has a JWT's shape (an API key never has two dots)."""
    return token.count(".") == 2


class OidcProvider:
    """One configured identity provider: discovery (read once, on first use), its keys, the
    code flow, and token validation. Built at start-up from the settings, kept on
    `app.state`; thread-safe."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        *,
        scopes: str = "openid profile email",
        audience: str | None = None,
        employee_claim: str = "preferred_username",
        name_claim: str = "name",
        groups_claim: str = "groups",
        jwks_refresh_s: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = scopes
        self.audience = audience or client_id
        self.employee_claim = employee_claim
        self.name_claim = name_claim
        self.groups_claim = groups_claim
        self._http = http or httpx.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False)
        # Authlib's OAuth 2 client per callback URL, kept: building one (its connection pool
        # and TLS context) per sign-in cost 43 ms each (bench/sign_in.py)
        self._clients: dict[str, OAuth2Client] = {}
        self._metadata: ProviderMetadata | None = None
        self._lock = threading.Lock()
        self.jwks = JwksCache(self._fetch_jwks, jwks_refresh_s)

    # -- discovery and keys ------------------------------------------------------------------
    def metadata(self) -> ProviderMetadata:
        """The discovery document, read on first use (a provider down at start-up does not
        keep the service down: API keys keep working, and sign-in works once it is back)."""
        with self._lock:
            if self._metadata is None:
                self._metadata = discover(self.issuer, self._http)
            return self._metadata

    def _fetch_jwks(self) -> Mapping[str, Any]:
        uri = self.metadata().jwks_uri
        response = self._http.get(uri)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError(f"{uri} is not a JSON Web Key Set")
        return document

    def close(self) -> None:
        self._http.close()
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    # -- the authorisation code flow with PKCE ---------------------------------------------
    def _client(self, redirect_uri: str) -> OAuth2Client:
        """Authlib's client for sign-ins coming back to `redirect_uri`, kept for the next
        one. Its methods used here keep no per-sign-in state (state, nonce and verifier are
        passed in; the token is returned). At most `MAX_CLIENTS` are kept: the callback URL
        follows the request's Host header unless KB_OIDC_REDIRECT_URL is set."""
        with self._lock:
            client = self._clients.get(redirect_uri)
            if client is None:
                client = OAuth2Client(
                    client_id=self.client_id,
                    client_secret=self._client_secret,
                    scope=self.scopes,
                    redirect_uri=redirect_uri,
                    code_challenge_method="S256",
                    timeout=HTTP_TIMEOUT_S,
                )
                if len(self._clients) < MAX_CLIENTS:
                    self._clients[redirect_uri] = client
            return client

    def start(self, redirect_uri: str) -> FlowStart:
        """A new sign-in: fresh random state, nonce and PKCE verifier, and the provider's
        authorisation URL carrying the state, the nonce and the verifier's S256 challenge."""
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters: within RFC 7636's 43..128
        url, _ = self._client(redirect_uri).create_authorization_url(
            self.metadata().authorization_endpoint,
            state=state,
            code_verifier=verifier,
            nonce=nonce,
        )
        return FlowStart(url=url, state=state, nonce=nonce, verifier=verifier)

    def finish(
        self, redirect_uri: str, code: str, verifier: str, nonce: str
    ) -> tuple[dict[str, Any], Identity]:
        """Exchange the code (with the PKCE verifier) at the token endpoint and validate the
        ID token it returns, `nonce` included; its claims and the identity they give."""
        try:
            token = self._client(redirect_uri).fetch_token(
                self.metadata().token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=verifier,
            )
        except ProviderUnavailable:
            raise
        except Exception as exc:  # Authlib's OAuthError, httpx's errors: the provider said no
            raise OidcError(
                f"The identity provider refused the sign-in code ({_short(exc)}); sign in again."
            ) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("The identity provider returned no ID token: is 'openid' a scope?")
        claims = self.validate(id_token, audience=self.client_id)
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
            claims["nonce"], nonce
        ):
            raise OidcError("The ID token's nonce is not this sign-in's: sign in again.")
        return claims, self.identity(claims)

    # -- tokens -----------------------------------------------------------------------------
    def validate(self, token: str, audience: str | None = None) -> dict[str, Any]:
        """The claims of a JWT signed by the provider for `audience` (default: the configured
        audience), or `OidcError` saying what is wrong: its algorithm, its key, its
        signature, its issuer, its audience, or its age."""
        header = _header(token)
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise OidcError(
                f"The token's algorithm {alg!r} is not accepted (only {', '.join(ALGORITHMS)})."
            )
        kid = header.get("kid")
        keys = self.jwks.keys_for(kid if isinstance(kid, str) else None)
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except JoseError as exc:
            raise OidcError(f"The token's signature does not verify ({exc.error}).") from None
        claims = dict(decoded.claims)
        expected = audience or self.audience
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_S,
            iss={"essential": True, "value": self.issuer},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcError(_claim_problem(exc)) from None
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if expected not in audiences:
            raise OidcError(f"The token is for another audience, not {expected!r}.")
        # an ID token for several audiences must say it was issued to us (OIDC Core 3.1.3.7)
        if expected == self.client_id and len(audiences) > 1 and claims.get("azp") != expected:
            raise OidcError("The token was issued to another client (azp).")
        return claims

    def identity(self, claims: Mapping[str, Any]) -> Identity:
        """The person in validated claims, by the configured claim names; `OidcError` when the
        employee id claim is missing (the provider must be told to send it)."""
        employee = claims.get(self.employee_claim)
        if not isinstance(employee, str) or not employee.strip():
            raise OidcError(
                f"The token has no {self.employee_claim!r} claim to use as the employee id: "
                "ask the provider's administrator to add it, or set KB_OIDC_EMPLOYEE_CLAIM."
            )
        if len(employee) > MAX_ID_CHARS or not employee.strip().isprintable():
            raise OidcError(
                f"The token's {self.employee_claim!r} claim is not an employee id (over "
                f"{MAX_ID_CHARS} characters, or control characters)."
            )
        name = claims.get(self.name_claim)
        raw_groups = claims.get(self.groups_claim) or []
        if isinstance(raw_groups, str):
            raw_groups = [raw_groups]
        groups = (
            tuple(g for g in raw_groups if isinstance(g, str))
            if isinstance(raw_groups, list)
            else ()
        )
        return Identity(
            subject=f"{claims.get('iss')}|{claims.get('sub')}",
            employee=employee.strip(),
            name=name.strip() if isinstance(name, str) and name.strip() else employee.strip(),
            groups=groups,
        )


def _claim_problem(exc: JoseError) -> str:
    text = str(exc.description or exc.error)
    if "exp" in text or exc.error == "expired_token":
        return "The token has expired: sign in again (or fetch a new access token)."
    if "iss" in text:
        return "The token was issued by another identity provider."
    return f"The token's claims are not valid ({text})."


def _short(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return text[:200] if text else type(exc).__name__
