"""Freshness on the pages, in headless Chromium against the real service: a hit past its review
date shows its date and the "may be out of date" mark with the reason (in its tooltip and
beside it), a fresh hit only its date; in Chinese too; and the organisers' page lists what may
be out of date per skill, with the owner (GET /analytics/stale)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc
from tests.web import test_pages as web
from tests.web.test_pages import Console, api_get, bearer, seeded_service, sign_in, wait_for_job

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # `_browser_available` says so, before any test here runs
    pass

_browser_available = web._browser_available
browser = web.browser
page = web.page

WAIT = 20_000  # ms
WORD = "quagmirelora"  # only in the two documents below: they are the only hits
REVIEW_BY = (date.today() - timedelta(days=3)).isoformat()
WRITTEN = (date.today() - timedelta(days=40)).isoformat()
DOCS = {
    "stale-lora.md": markdown_doc(
        "Stale LoRA recipe",
        {"Recipe": f"The {WORD} recipe: rank 8, alpha 16, dropout 0.05."},
        skills=["llm-fine-tuning"],
        date=WRITTEN,
        review_by=REVIEW_BY,
        owner="mei-lin-wong",
    ),
    "fresh-lora.md": markdown_doc(
        "Fresh LoRA recipe",
        {"Recipe": f"The new {WORD} recipe: rank 16 for the larger model."},
        skills=["llm-fine-tuning"],
        date=WRITTEN,
    ),
}


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[str]:
    with seeded_service(tmp_path_factory.mktemp("web-freshness"), fake_embedder) as url:
        with httpx.Client(base_url=url, timeout=120) as client:
            files = [("files", (name, text.encode())) for name, text in DOCS.items()]
            response = client.post("/ingest", files=files, headers=bearer("admin"))
            assert response.status_code == 202, response.text
            job = wait_for_job(client, response.json()["job_id"])
            assert job["state"] == "done" and not job["summary"]["failed"], job
        yield url


def search_for(tab: Page, button: str = "Search") -> None:
    tab.locator("#q").fill(WORD)
    tab.get_by_role("button", name=button, exact=True).click()


def test_a_stale_hit_shows_its_date_and_the_mark_with_the_reason(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam")
    search_for(tab)
    stale = tab.locator("#hits > li", has_text="Stale LoRA recipe")
    fresh = tab.locator("#hits > li", has_text="Fresh LoRA recipe")
    mark = stale.locator(".stale-mark")
    expect(mark).to_have_text("May be out of date", timeout=WAIT)
    expect(mark).to_have_attribute("title", f"past its review date ({REVIEW_BY})")
    expect(stale.locator(".stale-reason")).to_have_text(f"past its review date ({REVIEW_BY})")
    expect(stale.locator(".hit-date")).to_have_text(f"Dated {WRITTEN}")
    expect(fresh.locator(".hit-date")).to_have_text(f"Dated {WRITTEN}")
    expect(fresh.locator(".stale-mark")).to_have_count(0)
    console.assert_clean()


def test_the_document_page_of_a_stale_hit_carries_the_same_mark(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam")
    search_for(tab)
    tab.locator("#hits > li", has_text="Stale LoRA recipe").locator(
        "a[href*='document']"
    ).first.click()
    meta = tab.locator("#doc .meta")
    expect(meta.locator(".stale-mark")).to_have_text("May be out of date", timeout=WAIT)
    expect(meta.locator(".stale-reason")).to_have_text(f"past its review date ({REVIEW_BY})")
    expect(meta).to_contain_text(WRITTEN)
    tab.go_back()
    search_for(tab)
    tab.locator("#hits > li", has_text="Fresh LoRA recipe").locator(
        "a[href*='document']"
    ).first.click()
    expect(tab.locator("#doc h1")).to_have_text("Fresh LoRA recipe", timeout=WAIT)
    expect(tab.locator("#doc .stale-mark")).to_have_count(0)
    console.assert_clean()


def test_the_mark_reads_chinese_in_a_chinese_browser(base_url: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        tab = context.new_page()
        tab.set_default_timeout(WAIT)
        console = Console(tab)
        tab.goto(f"{base_url}/web/signin?next=%2Fweb%2Fsearch")
        tab.locator("#key").fill(web.KEYS["liam"])
        tab.locator("form button[type=submit]").click()
        tab.wait_for_url(f"{base_url}/web/search")
        search_for(tab, "搜索")
        stale = tab.locator("#hits > li", has_text="Stale LoRA recipe")
        expect(stale.locator(".stale-mark")).to_have_text("可能已过时")
        expect(stale.locator(".stale-reason")).to_have_text(f"已过复审日期（{REVIEW_BY}）")
        expect(stale.locator(".hit-date")).to_have_text(f"日期：{WRITTEN}")
        console.assert_clean()
    finally:
        context.close()


def test_the_organisers_page_lists_what_may_be_out_of_date_per_skill(
    base_url: str, page: tuple[Page, Console]
) -> None:
    listed = api_get(base_url, "/analytics/stale", "organiser")
    assert [d["source"] for g in listed["skills"] for d in g["documents"]] == ["stale-lora.md"]
    tab, console = page
    sign_in(tab, base_url, "organiser", "/web/organiser")
    section = tab.locator("#stale")
    expect(tab.get_by_role("heading", name="Material that may be out of date")).to_be_visible()
    expect(section.get_by_role("heading", name="LLM fine-tuning (after 365 days)")).to_be_visible(
        timeout=WAIT
    )
    row = section.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Stale LoRA recipe")
    expect(row).to_contain_text("mei-lin-wong")
    expect(row).to_contain_text(f"past its review date ({REVIEW_BY})")
    expect(section).to_contain_text("1 document may be out of date")
    console.assert_clean()
