"""Company sign-in against a real OpenID Connect provider on loopback (tests/oidc_provider.py,
Authlib's provider side): the code flow with PKCE through the service's /auth routes, the
session cookie and its CSRF token, groups mapped by the catalogue's sign_in.yaml, a first
sign-in's employee record, the audit trail, and bearer access tokens, accepted when the
provider signed them for this service and refused otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from api.backends import open_backend
from api.http.oidc import JwksCache, OidcError
from api.http.session import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from api.settings import Settings
from kb.audit import AuditRecord
from recommender import load_catalog_dir
from recommender.errors import CatalogInvalidError
from tests.api_helpers import CATALOG, auth, files_part, running_client
from tests.fakes import HashingEmbedder
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, User

SIGN_IN_RULES = [
    {"group": "ai-organisers", "role": "organiser"},
    {"group": "grp-nlp", "team": "nlp"},
    {"group": "grp-recsys", "team": "recsys"},
    {"group": "kb-admins", "role": "admin"},
]
USERS = [
    User("liam-chen", "Liam Chen", ["grp-nlp"]),  # in the catalogue
    User("zoe-new", "Zoë New", ["grp-recsys", "everyone"]),  # not in the catalogue yet
    User("olga-org", "Olga Organiser", ["ai-organisers", "grp-nlp"]),
    User("no-team", "No Team", ["everyone"]),
]
CALLBACK = "http://testserver/auth/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    running = Provider(USERS).start()
    running.client.redirect_uris.append(CALLBACK)
    try:
        yield running
    finally:
        running.stop()


def oidc_settings(provider: Provider, **more: Any) -> dict[str, Any]:
    return {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "session_secret": "s" * 40,
        **more,
    }


def load_catalog_with_rules(client: TestClient) -> None:
    parts: dict[str, bytes | str] = {p.name: p.read_bytes() for p in CATALOG.glob("*.yaml")}
    parts["sign_in.yaml"] = yaml.safe_dump(SIGN_IN_RULES)
    response = client.put("/catalog", files=files_part(parts), headers=auth("organiser"))
    assert response.status_code == 200, response.text


@pytest.fixture
def client(
    tmp_path: Path, fake_embedder: HashingEmbedder, provider: Provider
) -> Iterator[TestClient]:
    with running_client(tmp_path, fake_embedder, **oidc_settings(provider)) as client:
        load_catalog_with_rules(client)
        yield client


def audit(home: Path) -> list[AuditRecord]:
    log = open_backend(home).open_audit_log()
    try:
        return log.records()
    finally:
        log.close()


def set_cookies(response: httpx.Response) -> dict[str, Any]:
    """The response's Set-Cookie headers by name, with their attributes."""
    out: dict[str, Any] = {}
    for header in response.headers.get_list("set-cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            out[name] = morsel
    return out


def provider_approves(authorize_url: str, username: str) -> str:
    """The provider's page, as a person uses it: open it, give the username, continue; the
    redirect back to the service (its callback URL with code and state)."""
    page = httpx.get(authorize_url)
    assert page.status_code == 200, page.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    split = urlsplit(authorize_url)
    answer = httpx.post(
        f"{split.scheme}://{split.netloc}{split.path}", data={**query, "username": username}
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def sign_in(client: TestClient, username: str, next: str = "/web/learning") -> httpx.Response:
    """The whole code flow; the callback's answer (its cookies are in the client's jar)."""
    start = client.get("/auth/login", params={"next": next}, follow_redirects=False)
    assert start.status_code == 302, start.text
    back = provider_approves(start.headers["location"], username)
    assert back.startswith(CALLBACK)
    split = urlsplit(back)
    return client.get(f"{split.path}?{split.query}", follow_redirects=False)


def csrf(client: TestClient) -> dict[str, str]:
    return {CSRF_HEADER: client.cookies[CSRF_COOKIE]}


# -- the code flow ---------------------------------------------------------------------------
def test_login_sends_the_browser_to_the_provider_with_state_nonce_and_an_s256_challenge(
    client: TestClient, provider: Provider
) -> None:
    start = client.get("/auth/login", params={"next": "/web/graph"}, follow_redirects=False)
    assert start.status_code == 302
    url = urlsplit(start.headers["location"])
    assert f"{url.scheme}://{url.netloc}" == provider.issuer  # from the discovery document
    query = parse_qs(url.query)
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43  # base64url of a SHA-256
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    flow = set_cookies(start)["kb_oidc_flow"]
    assert flow["httponly"] and flow["samesite"] == "lax" and flow["path"] == "/auth"
    again = client.get("/auth/login", follow_redirects=False)
    assert parse_qs(urlsplit(again.headers["location"]).query)["state"] != query["state"]


def test_a_sign_in_sets_a_signed_httponly_lax_session_and_is_audited(
    client: TestClient, tmp_path: Path
) -> None:
    done = sign_in(client, "liam-chen", next="/web/learning")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/web/signin?sso=1&next=%2Fweb%2Flearning"
    cookies = set_cookies(done)
    session, token = cookies[SESSION_COOKIE], cookies[CSRF_COOKIE]
    assert session["httponly"] and session["samesite"] == "lax" and session["path"] == "/"
    assert int(session["max-age"]) == 8 * 3600
    assert not session["secure"]  # plain http here; see the TLS test below
    assert not token["httponly"] and token["samesite"] == "lax"  # the pages' scripts read it
    me = client.get("/me")
    assert me.status_code == 200, me.text
    assert me.json() == {"role": "employee", "employee": "liam-chen", "team": None}
    [record] = [
        r for r in audit(tmp_path / "home") if r.action == "sign_in" and r.detail["via"] == "oidc"
    ]
    assert record.detail["employee"] == "liam-chen" and record.detail["role"] == "employee"
    assert record.actor.startswith("sso-") and record.source_ip


def test_groups_map_to_role_and_team_through_the_catalogue(client: TestClient) -> None:
    sign_in(client, "olga-org")
    assert client.get("/me").json() == {
        "role": "organiser",
        "employee": "olga-org",
        "team": "nlp",
    }
    # an organiser may read another employee's gaps; an employee may not
    assert client.get("/employees/liam-chen/gaps").status_code == 200
    sign_in(client, "liam-chen")
    assert client.get("/employees/daniel-kowalski/gaps").status_code == 403


def test_a_person_new_to_the_catalogue_gets_an_employee_record_in_their_groups_team(
    client: TestClient, tmp_path: Path
) -> None:
    assert client.get("/employees/zoe-new/gaps", headers=auth("admin")).status_code == 404
    sign_in(client, "zoe-new")
    gaps = client.get("/employees/zoe-new/gaps")
    assert gaps.status_code == 200, gaps.text
    assert gaps.json()["team"] == "recsys"
    created = [r for r in audit(tmp_path / "home") if r.action == "employee.create"]
    assert [(r.target, r.detail["team"]) for r in created] == [("zoe-new", "recsys")]
    sign_in(client, "zoe-new")  # the second time: already there, nothing made
    assert len([r for r in audit(tmp_path / "home") if r.action == "employee.create"]) == 1


def test_a_person_whose_groups_name_no_team_signs_in_without_a_record(
    client: TestClient,
) -> None:
    sign_in(client, "no-team")
    assert client.get("/me").json()["employee"] == "no-team"
    assert client.get("/employees/no-team/gaps").status_code == 404


def test_the_session_cookie_is_secure_over_tls(
    tmp_path: Path, fake_embedder: HashingEmbedder, provider: Provider
) -> None:
    with running_client(tmp_path, fake_embedder, **oidc_settings(provider)) as client:
        start = client.get(
            "/auth/login", headers={"X-Forwarded-Proto": "https"}, follow_redirects=False
        )
        assert set_cookies(start)["kb_oidc_flow"]["secure"]
    with running_client(
        tmp_path / "forced", fake_embedder, **oidc_settings(provider, cookie_secure=True)
    ) as client:
        start = client.get("/auth/login", follow_redirects=False)
        assert set_cookies(start)["kb_oidc_flow"]["secure"]


def test_a_callback_with_another_state_or_a_used_code_is_refused(client: TestClient) -> None:
    start = client.get("/auth/login", follow_redirects=False)
    back = urlsplit(provider_approves(start.headers["location"], "liam-chen"))
    query = parse_qs(back.query)
    forged = client.get(
        "/auth/callback",
        params={"code": query["code"][0], "state": "not-the-state"},
        follow_redirects=False,
    )
    assert forged.status_code == 400 and "state" in forged.json()["error"]["message"]
    ok = client.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert ok.status_code == 303
    client.cookies.delete(SESSION_COOKIE)
    replay = client.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert replay.status_code == 400  # the flow cookie went with the first use


def test_a_callback_without_this_browsers_flow_is_refused(
    client: TestClient, provider: Provider
) -> None:
    start = client.get("/auth/login", follow_redirects=False)
    back = urlsplit(provider_approves(start.headers["location"], "liam-chen"))
    client.cookies.clear()  # another browser: the attacker's link in the victim's browser
    answer = client.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert answer.status_code == 400
    assert "not started in this browser" in answer.json()["error"]["message"]


# -- the session: CSRF, tampering, sign-out ---------------------------------------------------
def test_a_state_changing_request_with_the_cookie_needs_the_csrf_token(
    client: TestClient,
) -> None:
    sign_in(client, "liam-chen")
    missing = client.post("/me/signin")
    assert missing.status_code == 403, missing.text
    assert CSRF_HEADER in missing.json()["error"]["message"]
    wrong = client.post("/me/signin", headers={CSRF_HEADER: "x" * 43})
    assert wrong.status_code == 403
    right = client.post("/me/signin", headers=csrf(client))
    assert right.status_code == 200, right.text
    assert client.get("/me").status_code == 200  # reads need no token


def test_bearer_callers_need_no_csrf_token_and_requests_with_neither_are_401(
    client: TestClient,
) -> None:
    assert client.post("/me/signin", headers=auth("liam")).status_code == 200
    bare = client.get("/me")
    assert bare.status_code == 401
    assert "sign in at /auth/login" in bare.json()["error"]["message"]


def use_session(client: TestClient, value: str) -> None:
    """The browser's session cookie replaced by `value` (and nothing else sent)."""
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value)


def test_a_tampered_or_foreign_session_cookie_is_refused(client: TestClient) -> None:
    sign_in(client, "liam-chen")
    value = client.cookies[SESSION_COOKIE]
    _, data = URLSafeTimedSerializer("unused", salt="kb.session").loads_unsafe(value)
    assert data["employee"] == "liam-chen"
    # the same session made admin, signed with a key that is not the service's
    foreign = URLSafeTimedSerializer("another-secret-" * 3, salt="kb.session")
    use_session(client, foreign.dumps({**data, "role": "admin"}))
    answer = client.get("/me")
    assert answer.status_code == 401, answer.text
    assert "sign in again" in answer.json()["error"]["message"]
    # one character of the payload changed, signature kept
    flipped = ("B" if value[1] != "B" else "C").join((value[:1], value[2:]))
    use_session(client, flipped)
    assert client.get("/me").status_code == 401
    use_session(client, value)
    assert client.get("/me").status_code == 200  # the cookie as issued still works


def test_sign_out_needs_the_csrf_token_clears_the_cookies_and_is_audited(
    client: TestClient, tmp_path: Path
) -> None:
    sign_in(client, "liam-chen")
    assert client.post("/auth/logout").status_code == 403
    out = client.post("/auth/logout", headers=csrf(client))
    assert out.status_code == 200, out.text
    cleared = set_cookies(out)
    assert cleared[SESSION_COOKIE].value == "" and int(cleared[SESSION_COOKIE]["max-age"]) == 0
    assert cleared[CSRF_COOKIE].value == ""
    assert client.get("/me").status_code == 401
    [record] = [r for r in audit(tmp_path / "home") if r.action == "sign_out"]
    assert record.detail == {"via": "oidc", "employee": "liam-chen"}


# -- bearer access tokens ---------------------------------------------------------------------
def access_token_for(client: TestClient, provider: Provider, username: str) -> str:
    sign_in(client, username)
    client.cookies.clear()
    return provider.access_tokens[-1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_providers_access_token_is_accepted_as_a_bearer_token(
    client: TestClient, provider: Provider
) -> None:
    token = access_token_for(client, provider, "olga-org")
    me = client.get("/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json() == {"role": "organiser", "employee": "olga-org", "team": "nlp"}
    # and a state-changing request with it needs no CSRF token (no cookie is involved)
    assert client.post("/me/signin", headers=bearer(token)).status_code == 200
    assert client.get("/me", headers=auth("admin")).json()["role"] == "admin"  # keys still work


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("expired", "expired"),
        ("audience", "another audience"),
        ("other_key", "signature does not verify"),
        ("alg_none", "'none' is not accepted"),
        ("hs256_public_key", "'HS256' is not accepted"),
        ("issuer", "another identity provider"),
        ("unknown_kid", "does not publish"),
        ("no_employee", "no 'preferred_username' claim"),
    ],
)
def test_a_bad_token_is_refused_with_its_reason(
    client: TestClient, provider: Provider, case: str, why: str
) -> None:
    claims = {"preferred_username": "liam-chen", "groups": ["kb-admins"]}
    if case == "expired":
        token = provider.mint(claims, exp=1_600_000_000, iat=1_599_999_000)
    elif case == "audience":
        token = provider.mint(claims, aud="another-service")
    elif case == "other_key":
        token = provider.mint(claims, key=provider.other_key)  # same kid, another key
    elif case == "alg_none":
        good = jwt.decode(provider.mint(claims), provider.key).claims
        token = provider.unsigned(good)
    elif case == "hs256_public_key":
        public = json.dumps(provider.key.as_dict(private=False)).encode()
        token = jwt.encode(
            {"alg": "HS256", "kid": "test-key-1"},
            jwt.decode(provider.mint(claims), provider.key).claims,
            OctKey.import_key(public),
        )
    elif case == "issuer":
        token = provider.mint(claims, iss="http://127.0.0.1:1")
    elif case == "no_employee":
        token = provider.mint(claims, preferred_username=None)
    else:
        token = provider.mint(claims, key=provider.other_key, kid="nobody-publishes-this")
    answer = client.get("/me", headers=bearer(token))
    assert answer.status_code == 401, answer.text
    assert why in answer.json()["error"]["message"]
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_keys_are_cached_and_unknown_kids_do_not_hammer_the_provider(
    client: TestClient, provider: Provider
) -> None:
    token = provider.mint({"preferred_username": "liam-chen"})
    assert client.get("/me", headers=bearer(token)).status_code == 200
    fetched = provider.jwks_requests
    for _ in range(3):
        assert client.get("/me", headers=bearer(token)).status_code == 200
    assert provider.jwks_requests == fetched  # cached
    stranger = provider.mint(key=provider.other_key, kid="made-up-key")
    for _ in range(5):
        assert client.get("/me", headers=bearer(stranger)).status_code == 401
    assert provider.jwks_requests == fetched  # within the refresh period: no new fetch


def test_an_unknown_kid_refreshes_the_keys_once_per_period() -> None:
    now = [1000.0]
    fetches: list[float] = []
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})

    def fetch() -> dict[str, Any]:
        fetches.append(now[0])
        return KeySet([key]).as_dict(private=False)

    cache = JwksCache(fetch, min_refresh_s=60, clock=lambda: now[0])
    assert cache.keys_for("k1") and len(fetches) == 1
    with pytest.raises(OidcError, match="does not publish"):
        cache.keys_for("k9")
    assert len(fetches) == 1  # fetched just now: not again
    now[0] += 61
    for _ in range(4):
        with pytest.raises(OidcError):
            cache.keys_for("k9")
    assert fetches == [1000.0, 1061.0]  # one refresh for the period, not one per token


def test_a_rotated_key_is_followed_on_its_first_token(
    tmp_path: Path, fake_embedder: HashingEmbedder, provider: Provider
) -> None:
    settings = oidc_settings(provider, oidc_jwks_refresh_seconds=0)
    with running_client(tmp_path, fake_embedder, **settings) as client:
        first = provider.mint({"preferred_username": "liam-chen"})
        assert client.get("/me", headers=bearer(first)).status_code == 200
        rotated = RSAKey.generate_key(2048, parameters={"kid": "test-key-2"})
        provider.published.append(rotated)
        try:
            token = provider.mint(
                {"preferred_username": "liam-chen"}, key=rotated, kid="test-key-2"
            )
            assert client.get("/me", headers=bearer(token)).status_code == 200
        finally:
            provider.published.remove(rotated)


# -- settings and the catalogue's mapping -----------------------------------------------------
def test_an_issuer_without_a_client_id_stops_the_service_with_the_setting_to_fix(
    tmp_path: Path,
) -> None:
    from api.http.app import ConfigurationError, create_app

    with pytest.raises(ConfigurationError, match="KB_OIDC_CLIENT_ID"):
        create_app(Settings(home=tmp_path, auth_disabled=False, oidc_issuer="http://127.0.0.1:9"))


def test_the_sign_in_mapping_is_validated_with_every_fault_named(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    for path in CATALOG.glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "sign_in.yaml").write_text(
        yaml.safe_dump(
            [
                {"group": "grp-x"},
                {"group": "grp-y", "role": "boss"},
                {"group": "grp-z", "team": "no-such-team"},
                {"group": "grp-y", "team": "nlp"},
                {"grup": "typo", "role": "admin"},
            ]
        )
    )
    with pytest.raises(CatalogInvalidError) as raised:
        load_catalog_dir(folder)
    messages = [f"{f.entry}: {f.message}" for f in raised.value.faults if f.file == "sign_in.yaml"]
    assert any("grp-x" in m and "maps to nothing" in m for m in messages), messages
    assert any("role 'boss'" in m for m in messages), messages
    assert any("unknown team 'no-such-team'" in m for m in messages), messages
    assert any("duplicate group 'grp-y'" in m for m in messages), messages
    assert any("unknown field 'grup'" in m for m in messages), messages
