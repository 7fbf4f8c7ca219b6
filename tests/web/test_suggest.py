"""The search box's suggestions and "Did you mean", in headless Chromium against the real service
(the seeded service of tests/web/test_pages.py: the sample catalogue and its small corpus)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kb import Embedder
from tests.web import test_pages as web
from tests.web.test_pages import Console, bearer, seeded_service, sign_in

try:
    from playwright.sync_api import Page, expect
except ImportError:  # `_browser_available` says so, before any test here runs
    pass

_browser_available = web._browser_available
browser = web.browser
page = web.page

SKILL = "Hyperparameter tuning"  # the catalogue's, suggested for "hyperpa"


def _suggested(client: httpx.Client, q: str) -> list[dict[str, Any]]:
    response = client.get("/suggest", params={"q": q}, headers=bearer("liam"))
    assert response.status_code == 200, response.text
    return list(response.json()["suggestions"])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """The seeded service, once its suggestions are built from the catalogue and the corpus
    (they are rebuilt in the background after the seeding, within seconds)."""
    with seeded_service(tmp_path_factory.mktemp("web-suggest"), embedder) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            deadline = time.monotonic() + 60
            while SKILL not in [s["text"] for s in _suggested(client, "hyperpa")]:
                assert time.monotonic() < deadline, "the suggestions were never rebuilt"
                time.sleep(0.5)
        yield url


def test_typing_shows_suggestions_and_the_keyboard_chooses_one(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam")
    box = tab.get_by_role("combobox", name="Search for")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-expanded", "false")
    tab.keyboard.type("hyperpa")
    listbox = tab.get_by_role("listbox", name="Suggestions")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(box).to_have_attribute("aria-controls", "q-suggestions")
    options = listbox.get_by_role("option")
    expect(options.first).to_contain_text(SKILL)
    expect(options.first).to_contain_text("skill")  # its kind, in words

    tab.keyboard.press("ArrowDown")
    first_id = options.first.get_attribute("id")
    expect(box).to_have_attribute("aria-activedescendant", first_id or "")
    expect(options.first).to_have_attribute("aria-selected", "true")
    tab.keyboard.press("ArrowDown")
    tab.keyboard.press("ArrowUp")  # back to the first
    expect(options.first).to_have_attribute("aria-selected", "true")

    tab.keyboard.press("Enter")  # takes the suggestion and searches for it
    expect(box).to_have_value(SKILL)
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(tab.locator("#hits > li").first).to_be_visible()
    assert "q=Hyperparameter+tuning" in tab.url
    console.assert_clean()


def test_escape_closes_the_suggestions_and_enter_searches_what_was_typed(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam")
    tab.keyboard.type("hyperpa")
    listbox = tab.get_by_role("listbox", name="Suggestions")
    expect(listbox).to_be_visible()
    tab.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(tab.get_by_role("combobox", name="Search for")).to_have_value("hyperpa")
    tab.keyboard.type("rameter search")
    expect(listbox).to_be_visible()
    tab.keyboard.press("Enter")  # no option chosen: the typed words are searched
    expect(tab.locator("#hits > li").first).to_be_visible()
    expect(listbox).to_be_hidden()
    assert "q=hyperparameter+search" in tab.url
    console.assert_clean()


def test_did_you_mean_runs_the_search_it_names(base_url: str, page: tuple[Page, Console]) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam")
    tab.keyboard.type("hyperparamter serch")
    tab.keyboard.press("Enter")
    meant = tab.locator("#did-you-mean")
    expect(meant).to_be_visible()
    expect(meant).to_contain_text("Did you mean")
    link = meant.get_by_role("link", name="hyperparameter search")
    link.click()
    expect(tab.get_by_role("combobox", name="Search for")).to_have_value("hyperparameter search")
    expect(tab.locator("#hits > li").first).to_contain_text("Hyperparameter search")
    expect(meant).to_be_hidden()  # the corrected search found what it looked for
    console.assert_clean()


def test_the_suggestions_speak_chinese_on_a_chinese_page(base_url: str, browser: Any) -> None:
    from tests.web.test_i18n import sign_in_zh, tab_in

    with tab_in(browser, "zh-CN") as (tab, console):
        sign_in_zh(tab, base_url, "liam")
        tab.keyboard.type("hyperpa")
        listbox = tab.get_by_role("listbox", name="搜索建议")
        expect(listbox).to_be_visible()
        expect(listbox.get_by_role("option").first).to_contain_text("技能")
        console.assert_clean()
