"""Company sign-in wired together (docs/sign-in.md): the provider (`api.http.oidc`), the
cookies (`api.http.session`) and the catalogue's `sign_in.yaml`, turned into the `Principal`
that every route already understands.

Role and team come from the person's groups through the catalogue's mapping, read when they
sign in (kept in the signed session until it ends) and on every bearer access token (a token
is short-lived; the mapping in force is the one that applies).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from api.http.auth import Principal, Role
from api.http.oidc import Identity, OidcProvider
from api.http.session import SessionCookies, WebSession, subject_key_id
from api.settings import Settings
from recommender import Catalog, SignInMapping

log = logging.getLogger("api.http.sso")


class SignInConfigurationError(RuntimeError):
    """The sign-in settings cannot work; the message names the setting to fix."""


@dataclass
class SignIn:
    """Everything the sign-in routes and `get_principal` need; None on `Services` when
    KB_OIDC_ISSUER is unset (then the service behaves exactly as with API keys alone)."""

    provider: OidcProvider
    cookies: SessionCookies
    settings: Settings

    def close(self) -> None:
        self.provider.close()


def open_sign_in(settings: Settings) -> SignIn | None:
    """The sign-in of these settings, or None without KB_OIDC_ISSUER. Nothing is fetched here
    (the provider is asked on first use); incomplete settings raise at once."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_client_id:
        raise SignInConfigurationError(
            "KB_OIDC_ISSUER is set but KB_OIDC_CLIENT_ID is not: register this service with "
            "the identity provider and set its client id (and KB_OIDC_CLIENT_SECRET)."
        )
    secret = settings.session_secret
    if secret is None:
        log.warning(
            "KB_SESSION_SECRET is unset: session cookies are signed with a random key of this "
            "process, so every page session ends when it restarts and replicas cannot share "
            "them. Set it (32+ characters, the same on every replica)."
        )
        secret = secrets.token_urlsafe(48)
    provider = OidcProvider(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        scopes=settings.oidc_scopes,
        audience=settings.oidc_audience,
        employee_claim=settings.oidc_employee_claim,
        name_claim=settings.oidc_name_claim,
        groups_claim=settings.oidc_groups_claim,
        jwks_refresh_s=settings.oidc_jwks_refresh_seconds,
    )
    cookies = SessionCookies(secret, settings.session_hours * 3600, settings.cookie_secure)
    return SignIn(provider=provider, cookies=cookies, settings=settings)


def map_identity(catalog: Catalog | None, identity: Identity) -> SignInMapping:
    """The role and team the person's groups give by the catalogue's `sign_in.yaml`
    (employee and no team without a catalogue or without a matching group)."""
    if catalog is None:
        return SignInMapping(role="employee", team=None)
    return catalog.map_groups(identity.groups)


def principal_for(role: str, employee: str, team: str | None, key_id: str) -> Principal:
    """The caller a signed-in person is: always bound to their employee id (so an employee
    acts only on themselves); an organiser carries the team its groups gave (for restricted
    documents), an employee's team comes from the catalogue as for a key."""
    checked: Role = role if role in ("employee", "organiser", "admin") else "employee"  # type: ignore[assignment]
    return Principal(
        role=checked,
        employee=employee,
        team=team if checked == "organiser" else None,
        key_id=key_id,
    )


def session_principal(session: WebSession) -> Principal:
    return principal_for(session.role, session.employee, session.team, session.key_id)


def bearer_principal(sign_in: SignIn, token: str, catalog: Catalog | None) -> Principal:
    """The caller of a bearer access token signed by the provider for this service's
    audience; `OidcError` (the reason) when it is refused."""
    claims = sign_in.provider.validate(token)
    identity = sign_in.provider.identity(claims)
    mapping = map_identity(catalog, identity)
    return principal_for(
        mapping.role, identity.employee, mapping.team, subject_key_id(identity.subject)
    )
