"""A training session on the search page, in headless Chromium against the real service: the
session is one result listing its other parts as links, and a transcript hit links the slide
that was on screen; the same in Chinese (docs/sessions.md)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import SAMPLE
from tests.fakes import HashingEmbedder
from tests.web import test_pages as web
from tests.web.test_pages import Console, bearer, seeded_service, sign_in, wait_for_job

try:
    from playwright.sync_api import Page, expect
except ImportError:  # `_browser_available` says so, before any test here runs
    pass

_browser_available = web._browser_available
browser = web.browser
page = web.page

WAIT = 20_000  # ms
SESSION = "2026-04-14-labelling-guidelines"


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[str]:
    with seeded_service(tmp_path_factory.mktemp("web-sessions"), fake_embedder) as url:
        files = [
            ("files", (p.name, p.read_bytes()))
            for p in sorted((SAMPLE / "sessions").iterdir())
            if p.suffix in {".vtt", ".pptx", ".md"}
        ]
        with httpx.Client(base_url=url, timeout=120) as client:
            response = client.post("/ingest", files=files, headers=bearer("admin"))
            assert response.status_code == 202, response.text
            job = wait_for_job(client, response.json()["job_id"])
            assert job["state"] == "done" and not job["summary"]["failed"], job
        yield url


def search_the_session(tab: Page, base_url: str) -> None:
    """Signed in as an employee, the search whose results hold the session."""
    sign_in(tab, base_url, "liam")
    tab.get_by_label("Search for").fill("gold questions annotator quality")
    tab.get_by_role("button", name="Search").click()


def test_a_session_is_one_result_with_its_parts_and_slide(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    search_the_session(tab, base_url)
    hits = tab.locator("#hits > li")
    expect(hits.first).to_be_visible(timeout=WAIT)
    session_hits = hits.filter(has=tab.locator(".session-parts"))
    expect(session_hits).to_have_count(1)  # the three files, one result
    lead = session_hits.first
    expect(lead.locator(".session-parts")).to_contain_text("From the same session (2 more):")
    parts = lead.locator(".session-parts li a")
    expect(parts).to_have_count(2)
    for i in range(2):
        assert "/web/document?id=" in (parts.nth(i).get_attribute("href") or "")
    slide_or_moment = lead.locator(".session-slide a, .session-moment a")
    expect(slide_or_moment).to_have_count(1)
    href = slide_or_moment.first.get_attribute("href") or ""
    assert "at=slide-" in href or "at=t%3D" in href, href  # opens the document at the place
    console.assert_clean()

    tab.get_by_role("button", name="中文").click()
    expect(lead.locator(".session-parts")).to_contain_text("同一场培训的其他材料（另 2 份）")
    console.assert_clean()


def test_a_session_link_opens_the_other_document_at_its_place(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    search_the_session(tab, base_url)
    lead = tab.locator("#hits > li").filter(has=tab.locator(".session-parts")).first
    link = lead.locator(".session-slide a, .session-moment a").first
    expect(link).to_be_visible(timeout=WAIT)
    # "deck.pptx · Slide 3" or "talk.vtt · 00:00:02-00:00:57": where it begins
    label = (link.text_content() or "").split(" · ")[1].split("-", 1)[0]
    link.click()
    opened = tab.locator("#doc .hit-chunk")
    expect(opened).to_have_count(1, timeout=WAIT)  # the chunk holding the place, opened at it
    expect(opened).to_be_in_viewport()
    expect(tab.locator("#doc-status")).to_contain_text(f"Opened at {label}")
    console.assert_clean()
