"""A real OpenID Connect provider on loopback, for the sign-in tests and bench/sign_in.py.

Built from Authlib's provider side (its Flask authorisation server, the authorisation code
grant with PKCE required (`CodeChallenge`), OpenID Connect's `OpenIDCode` extension for signed
ID tokens, RFC 9068's JWT access tokens) and served by werkzeug on 127.0.0.1 in a thread:
discovery, JWKS, an authorisation page with a username field (a browser signs in through
it), and the token endpoint. The people it knows and their groups are the test's.

`mint` signs any claims with the provider's key (or another, or none) for the refusal tests.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode, UserInfo
from flask import Flask, jsonify, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from markupsafe import escape
from werkzeug.serving import make_server

CLIENT_ID = "kb-test"
CLIENT_SECRET = "kb-test-secret-0123456789abcdef"


@dataclass
class User:
    username: str  # also the employee id (preferred_username)
    name: str
    groups: list[str] = field(default_factory=list)

    def get_user_id(self) -> str:
        return "sub-" + self.username


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "profile", "email", "groups"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class Provider:
    """The provider; `issuer` is its URL once `start` returned. `users` may change between
    tests (by username); `redirect_uris` must hold the kb service's callback."""

    def __init__(self, users: list[User] | None = None) -> None:
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
        self.published: list[RSAKey] = [self.key]
        self.users = {u.username: u for u in users or []}
        self.client = Client(CLIENT_ID, CLIENT_SECRET, [])
        self.codes: dict[str, Code] = {}
        self.jwks_requests = 0
        self.access_tokens: list[str] = []
        self.app = self._build()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- tokens for the refusal tests --------------------------------------------------------
    def mint(
        self,
        claims: dict[str, Any] | None = None,
        *,
        key: RSAKey | None = None,
        kid: str | None = "test-key-1",
        **overrides: Any,
    ) -> str:
        """A JWT with sensible claims for user `ana` (aud: the client), `overrides` applied
        (None removes a claim), signed with `key` (default: the published one)."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "sub-ana",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "preferred_username": "ana",
            "name": "Ana",
            "groups": [],
        }
        body.update(claims or {})
        for name, value in overrides.items():
            if value is None:
                body.pop(name, None)
            else:
                body[name] = value
        header = {"alg": "RS256"} | ({"kid": kid} if kid else {})
        return jwt.encode(header, body, key or self.key)

    @staticmethod
    def unsigned(claims: dict[str, Any]) -> str:
        """The same claims with ``alg: none`` and no signature."""
        return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."

    # -- the Flask app --------------------------------------------------------------------
    def _build(self) -> Flask:
        provider = self
        app = Flask("test-oidc-provider")

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                data = req.payload.data
                provider.codes[code] = Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.scope,
                    user=req.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                item = provider.codes.get(code)
                return item if item and item.client_id == client.client_id else None

            def delete_authorization_code(self, item: Code) -> None:
                provider.codes.pop(item.code, None)

            def authenticate_user(self, item: Code) -> User:
                return item.user

        class IdToken(OpenIDCode):  # type: ignore[misc]
            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.key

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, Any]:
                return {"alg": "RS256", "kid": provider.key.kid}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": [client.get_client_id()]}

            def exists_nonce(self, nonce: str, req: Any) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def generate_user_info(self, user: User, scope: str) -> UserInfo:
                return UserInfo(
                    sub=user.get_user_id(),
                    name=user.name,
                    preferred_username=user.username,
                    groups=list(user.groups),
                )

        class AccessTokens(JWTBearerTokenGenerator):  # type: ignore[misc]
            def get_jwks(self) -> KeySet:
                return KeySet([provider.key])

            def get_extra_claims(
                self, client: Client, grant_type: str, user: User, scope: str
            ) -> dict[str, Any]:
                return {
                    "preferred_username": user.username,
                    "name": user.name,
                    "groups": list(user.groups),
                }

        server = AuthorizationServer(app, query_client=self._query_client, save_token=self._save)
        server.register_grant(
            CodeGrant, [CodeChallenge(required=True), IdToken(require_nonce=True)]
        )
        server.register_token_generator("default", AccessTokens(issuer=self.issuer))

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return jsonify(
                issuer=provider.issuer,
                authorization_endpoint=f"{provider.issuer}/authorize",
                token_endpoint=f"{provider.issuer}/token",
                jwks_uri=f"{provider.issuer}/jwks",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
                token_endpoint_auth_methods_supported=["client_secret_basic"],
            )

        @app.get("/jwks")
        def jwks() -> Any:
            provider.jwks_requests += 1
            return jsonify(KeySet(provider.published).as_dict(private=False))

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            if request.method == "GET":
                try:
                    server.get_consent_grant(end_user=None)
                except Exception as exc:  # the request itself is wrong: say so
                    return f"<p>invalid request: {exc}</p>", 400
                hidden = "".join(
                    f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                    for k, v in request.args.items()
                )
                return (  # posted without the query: its fields travel in the body alone
                    "<!doctype html><title>Test provider</title>"
                    '<link rel="icon" href="data:,"><form method=post action="/authorize">'
                    f'{hidden}<label>Username <input name="username"></label>'
                    '<button type="submit">Continue</button></form>'
                )
            user = provider.users.get(request.form.get("username", ""))
            return server.create_authorization_response(grant_user=user)

        @app.post("/token")
        def token() -> Any:
            return server.create_token_response()

        return app

    def _query_client(self, client_id: str) -> Client | None:
        return self.client if client_id == self.client.client_id else None

    def _save(self, token: dict[str, Any], req: Any) -> None:
        self.access_tokens.append(token["access_token"])

    # -- serving ----------------------------------------------------------------------------
    def start(self) -> Provider:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="test-oidc-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
