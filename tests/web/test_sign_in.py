"""Company sign-in through the pages, in headless Chromium: the sign-in page offers the
identity provider (a real one on loopback, tests/oidc_provider.py), the person signs in there
and lands on the page they asked for, signed in as themselves; the pages' scripts send the
CSRF token with what they change; sign-out clears the session cookie."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml

from tests.fakes import HashingEmbedder
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, User
from tests.web import test_pages as web
from tests.web.test_pages import CATALOG, KEY_ENTRIES, Console, _free_port, bearer, serve

try:
    from playwright.sync_api import Page, expect
except ImportError:  # `_browser_available` says so, before any test here runs
    pass

_browser_available = web._browser_available
browser = web.browser
page = web.page

RULES = [{"group": "ai-organisers", "role": "organiser"}, {"group": "grp-recsys", "team": "recsys"}]


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    running = Provider([User("zoe-new", "Zoë New", ["grp-recsys"])]).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder, provider: Provider
) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("web-sign-in")
    keys = tmp / "keys.yaml"
    keys.write_text(yaml.safe_dump(KEY_ENTRIES))
    port = _free_port()
    provider.client.redirect_uris.append(f"http://127.0.0.1:{port}/auth/callback")
    settings: dict[str, Any] = {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "session_secret": "browser-test-session-secret-0123456789",
    }
    with serve(tmp / "home", keys, fake_embedder, port=port, **settings) as url:
        parts: list[tuple[str, tuple[str, bytes]]] = [
            ("files", (p.name, p.read_bytes())) for p in sorted(CATALOG.glob("*.yaml"))
        ]
        parts.append(("files", ("sign_in.yaml", yaml.safe_dump(RULES).encode())))
        loaded = httpx.put(f"{url}/catalog", files=parts, headers=bearer("organiser"), timeout=60)
        assert loaded.status_code == 200, loaded.text
        yield url


def _sign_in_at_the_provider(tab: Page, base_url: str, path: str) -> None:
    tab.goto(f"{base_url}/web/signin?next={quote(path, safe='')}")
    tab.get_by_role("link", name="Sign in with your company account").click()
    tab.get_by_label("Username").fill("zoe-new")  # the provider's own page
    tab.get_by_role("button", name="Continue").click()
    tab.wait_for_url(base_url + path)


def test_a_person_signs_in_with_the_company_account_and_lands_where_they_asked(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    _sign_in_at_the_provider(tab, base_url, "/web/learning")
    expect(tab.locator("header.site .who strong")).to_have_text("zoe-new")
    # the record made at first sign-in: the learning page reads the person's gaps
    cookies = {c["name"]: c for c in tab.context.cookies()}
    assert cookies["kb_session"]["httpOnly"] and cookies["kb_session"]["sameSite"] == "Lax"
    assert not cookies["kb_csrf"]["httpOnly"]
    assert "kb_oidc_flow" not in cookies  # used once, then gone
    me = tab.evaluate("fetch('/me').then(r => r.json())")
    assert me == {"role": "employee", "employee": "zoe-new", "team": None}
    console.assert_clean()


def test_the_pages_send_the_csrf_token_and_a_bare_post_is_refused(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    _sign_in_at_the_provider(tab, base_url, "/web/search")
    bare = tab.evaluate("fetch('/me/signin', {method: 'POST'}).then(r => r.status)")
    assert bare == 403  # the cookie alone does not change anything
    through_the_page = tab.evaluate(
        "import('/web/static/api.js').then(m => m.api('/me/signin', {method: 'POST'}))"
    )
    assert through_the_page["employee"] == "zoe-new"
    console.assert_clean(403)


def test_sign_out_clears_the_session(base_url: str, page: tuple[Page, Console]) -> None:
    tab, console = page
    _sign_in_at_the_provider(tab, base_url, "/web/search")
    tab.get_by_role("button", name="Sign out").click()
    tab.wait_for_url(f"{base_url}/web/signin?signedOut=1")
    names = {c["name"] for c in tab.context.cookies()}
    assert "kb_session" not in names and "kb_csrf" not in names
    assert tab.evaluate("fetch('/me').then(r => r.status)") == 401
    tab.goto(base_url + "/web/learning")  # signed out: back to the sign-in page
    tab.wait_for_url(f"{base_url}/web/signin?next=*")
    # the learning page's module stops itself with "not signed in" as it sends the browser on
    console.errors = [e for e in console.errors if e != "uncaught: not signed in"]
    console.assert_clean(401)


def test_the_key_form_still_signs_in_beside_the_company_button(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    web.sign_in(tab, base_url, "liam")
    expect(tab.locator("header.site .who strong")).to_have_text("liam-chen")
    console.assert_clean()
