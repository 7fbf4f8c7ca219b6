"""The organisers' section "What the knowledge base is missing", in headless Chromium against
the real service: a hit followed from the search page is recorded as opened from its search,
and the section shows the trend, the missed searches by topic, skills and modules with little
material and the material nobody opened, in English and in Chinese, without naming a document
restricted to another team. The hashing model stands in: these are mechanics, not ranking.
With KB_CONTENT_GAPS_SCREENSHOT=PATH set, the section's screenshot is also written to PATH
(docs/content-gaps.md shows docs/content-gaps.png, made so)."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import HashingEmbedder
from tests.web import test_pages as web
from tests.web.test_pages import Console, api_get, seeded_service, sign_in

try:
    from playwright.sync_api import Page, expect
except ImportError:  # `_browser_available` says so, before any test here runs
    pass

# The page tests' fixtures, found here by name: the check that there is a browser, the
# browser, and a fresh tab.
_browser_available = web._browser_available
browser = web.browser
page = web.page

WAIT = 20_000  # ms: the first search of a busy machine may take a while
FOLLOWED = "model keeps favouring the majority label"
MISSED = "kubernetes autoscaling"


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[str]:
    with seeded_service(tmp_path_factory.mktemp("web-gaps"), fake_embedder) as url:
        yield url


def report_when(base_url: str, ready: Any, timeout: float = 20.0) -> dict[str, Any]:
    """The organiser's report once `ready(report)` holds (the log is written in the
    background, and the page's open is sent as it leaves)."""
    deadline = time.monotonic() + timeout
    while True:
        report: dict[str, Any] = api_get(base_url, "/analytics/content", "organiser")
        if ready(report) or time.monotonic() > deadline:
            return report
        time.sleep(0.2)


def test_a_followed_hit_counts_as_opened_and_the_section_shows_what_is_missing(
    base_url: str, page: tuple[Page, Console], tmp_path: Path
) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam")
    tab.get_by_label("Search for").fill(FOLLOWED)
    tab.get_by_role("button", name="Search").click()
    link = tab.locator("#hits > li").first.get_by_role("link")
    expect(link).to_have_attribute("href", re.compile(r"&from_search=[0-9a-f]{16}$"), timeout=WAIT)
    link.click()
    expect(tab.locator(".chunk.hit-chunk")).to_be_visible(timeout=WAIT)
    tab.goto(f"{base_url}/web/search?q={MISSED.replace(' ', '+')}")
    expect(tab.locator("#hits > li").first).to_be_visible(timeout=WAIT)
    console.assert_clean()

    # Two searches: the first had its hit opened from it, the second found nothing good.
    report = report_when(base_url, lambda r: r["searches"] == 2 and r["opens"] >= 1)
    assert (report["searches"], report["failed"], report["unopened"]) == (2, 1, 0)

    sign_in(tab, base_url, "organiser", "/web/organiser")
    section = tab.locator("#missing")
    expect(tab.get_by_role("heading", name="What the knowledge base is missing")).to_be_visible()
    expect(tab.locator("#missing-summary")).to_contain_text(
        "2 searches in the last 8 weeks: 1 found nothing good, 0 had hits nobody opened",
        timeout=WAIT,
    )
    expect(tab.locator("#missing-trend .bar-row")).to_have_count(8)
    topics = tab.locator("#missing-topics tbody tr")
    expect(topics).to_have_count(1)
    expect(topics.first.get_by_role("rowheader")).to_have_text("kubernetes · autoscaling")
    expect(topics.first).to_contain_text(f"“{MISSED}”")
    expect(topics.first).to_contain_text("nothing good")
    expect(tab.locator("#missing-skills")).to_contain_text("Vector search")  # no material
    expect(tab.locator("#missing-modules")).to_contain_text("llm-rag")
    unopened = tab.locator("#missing-unopened li")
    expect(unopened.first).to_be_visible()
    expect(section).to_contain_text("1 more document restricted to other teams is not listed.")
    expect(section).not_to_contain_text("Recsys private tuning notes")  # not this organiser's
    shot = tmp_path / "content-gaps.png"
    section.screenshot(path=str(shot))
    assert 0 < shot.stat().st_size < 1_000_000
    target = os.environ.get("KB_CONTENT_GAPS_SCREENSHOT")
    if target:
        shutil.copyfile(shot, target)

    # Another period, then the same section in Chinese.
    tab.get_by_label("Weeks").fill("2")
    tab.locator("#missing-form").get_by_role("button", name="Show").click()
    expect(tab.locator("#missing-trend .bar-row")).to_have_count(2)
    tab.locator("header.site button.lang-switch").click()
    expect(tab.get_by_role("heading", name="知识库缺少什么")).to_be_visible()
    expect(tab.locator("#missing-summary")).to_contain_text("最近 2 周共 2 次搜索")
    expect(topics.first).to_contain_text("没有好的结果")
    expect(section).to_contain_text("另有 1 篇仅限其他团队查看的文档未列出。")
    console.assert_clean()
