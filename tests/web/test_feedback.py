"""Readers' thumbs on the search page, in headless Chromium against the real service: a thumb
pressed is sent with the search it came from and shows as pressed, a second click withdraws
it, the other thumb replaces it; the organiser page lists the votes per query and document.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

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
QUERY = "model keeps favouring the majority label"


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[str]:
    with seeded_service(tmp_path_factory.mktemp("web-feedback"), fake_embedder) as url:
        yield url


def votes_when(base_url: str, ready: Any, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The organisers' list once `ready(items)` holds (votes are written in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        items: list[dict[str, Any]] = api_get(base_url, "/analytics/feedback", "organiser")["items"]
        if ready(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.2)


def test_a_thumb_is_pressed_withdrawn_changed_and_shown_to_organisers(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam")
    tab.get_by_label("Search for").fill(QUERY)
    tab.get_by_role("button", name="Search").click()
    first = tab.locator("#hits > li").first
    title = first.get_by_role("link").inner_text(timeout=WAIT)
    up = first.get_by_role("button", name="Yes, this result helps")
    down = first.get_by_role("button", name="No, this result does not help")
    expect(up).to_have_attribute("aria-pressed", "false")

    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(first.locator(".vote-status")).to_have_text("Thanks: your vote is counted.")
    up.click()  # again: withdrawn
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(first.locator(".vote-status")).to_have_text("Your vote is withdrawn.")
    down.click()
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    console.assert_clean()

    items = votes_when(base_url, lambda rows: any(r["down"] == 1 for r in rows))
    [row] = items
    assert (row["query"], row["title"], row["up"], row["down"]) == (QUERY, title, 0, 1)

    sign_in(tab, base_url, "organiser", "/web/organiser")
    expect(tab.get_by_role("heading", name="What readers said about the results")).to_be_visible()
    rows = tab.locator("#feedback-votes tbody tr")
    expect(rows).to_have_count(1, timeout=WAIT)
    expect(rows.first).to_contain_text(QUERY)
    expect(rows.first).to_contain_text(title)
    tab.locator("header.site button.lang-switch").click()
    expect(tab.get_by_role("heading", name="读者对搜索结果的评价")).to_be_visible()
    expect(tab.locator("#feedback-votes thead")).to_contain_text("踩")
    console.assert_clean()
