"""The organisers' page lists the term pairs search uses across languages (GET /glossary): the
sample catalogue's glossary.yaml first, marked as theirs, then the pairs mined from the
material, and the pairs they block; in English and in Chinese."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes import HashingEmbedder
from tests.web import test_pages as web
from tests.web.test_pages import Console, api_get, seeded_service, sign_in

try:
    from playwright.sync_api import Page, expect
except ImportError:  # `_browser_available` says so, before any test here runs
    pass

_browser_available = web._browser_available
browser = web.browser
page = web.page

WAIT = 20_000  # ms


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[str]:
    with seeded_service(tmp_path_factory.mktemp("web-glossary"), fake_embedder) as url:
        yield url


def test_the_organisers_page_lists_their_glossary_before_the_mined_pairs(
    base_url: str, page: tuple[Page, Console]
) -> None:
    listed = api_get(base_url, "/glossary", "organiser")
    theirs = [pair for pair in listed["pairs"] if pair["source"] == "organisers"]
    assert theirs and listed["pairs"][: len(theirs)] == theirs  # theirs come first
    tab, console = page
    sign_in(tab, base_url, "organiser", "/web/organiser")
    expect(tab.get_by_role("heading", name="Terms across languages")).to_be_visible()
    rows = tab.locator("#glossary-pairs tbody tr")
    expect(rows).to_have_count(len(listed["pairs"]), timeout=WAIT)
    first = rows.first
    expect(first).to_contain_text(theirs[0]["chinese"])
    expect(first).to_contain_text(theirs[0]["english"])
    expect(first).to_contain_text("your glossary")
    if listed["blocked"]:
        blocked = listed["blocked"][0]
        expect(tab.locator("#glossary")).to_contain_text(
            f"{blocked['chinese']} = {blocked['english']}"
        )
    console.assert_clean()
