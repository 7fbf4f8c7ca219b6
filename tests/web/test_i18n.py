"""The web pages in English and simplified Chinese, in headless Chromium against the real service.

The browser's language picks the pages' language (a context with locale zh-CN reads Chinese, en-US
English); the header's switch overrides it, and the choice is kept in localStorage. The server is
the one of tests/web/test_pages.py (same fixtures and corpus) with one Chinese document more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from kb import Embedder
from tests.web import test_pages as web
from tests.web.test_pages import KEYS, Console, _markdown, bearer, seeded_service, wait_for_job

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # `_browser_available` says so, before any test here runs
    pass

# The page tests' fixtures, found here by name: the check that there is a browser, and the browser.
_browser_available = web._browser_available
browser = web.browser

PAGES = ("search", "document", "learning", "organiser", "signin")
CHINESE_TITLE = "类别不平衡的处理方法"
CHINESE_QUERY = "多数类别"
CHINESE_DOC = _markdown(
    CHINESE_TITLE,
    {
        "为什么重要": "当多数类别的标签占了绝大部分时，准确率会掩盖少数类别的表现。",
        "重新加权损失": "如果模型总是偏向多数类别，可以按类别频率的倒数给损失加权，"
        "或者对少数类别进行过采样。",
    },
    team="nlp",
    course="nlp-sentiment",
    author="王小明",
)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """The seeded service of the page tests, with a Chinese document ingested as well."""
    with seeded_service(tmp_path_factory.mktemp("web-i18n"), embedder) as url:
        with httpx.Client(base_url=url, timeout=120) as client:
            files = [("files", ("imbalance-zh.md", CHINESE_DOC.encode()))]
            response = client.post("/ingest", files=files, headers=bearer("admin"))
            assert response.status_code == 202, response.text
            job = wait_for_job(client, response.json()["job_id"])
            assert job["state"] == "done" and not job["summary"]["failed"], job
        yield url


@contextmanager
def tab_in(browser: Browser, locale: str, **options: Any) -> Iterator[tuple[Page, Console]]:
    """A tab of a fresh context whose browser speaks `locale` (navigator.languages)."""
    options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(locale=locale, **options)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    try:
        yield tab, Console(tab)
    finally:
        context.close()


@pytest.fixture
def zh_tab(browser: Browser) -> Iterator[tuple[Page, Console]]:
    with tab_in(browser, "zh-CN") as opened:
        yield opened


@pytest.fixture
def en_tab(browser: Browser) -> Iterator[tuple[Page, Console]]:
    with tab_in(browser, "en-US") as opened:
        yield opened


def sign_in_zh(page: Page, base_url: str, who: str, path: str = "/web/search") -> None:
    """Sign in through the form by its Chinese labels, and land on `path`."""
    page.goto(f"{base_url}/web/signin?next={quote(path, safe='')}")
    page.get_by_label("API 密钥").fill(KEYS[who])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}{path}")


def untranslated(page: Page) -> list[str]:
    """Marked texts and attributes whose key the tables lack (t() then shows the key itself)."""
    found: list[str] = page.evaluate(
        """async () => {
            const { en } = await import("/web/static/i18n.js");
            const bad = [];
            for (const node of document.querySelectorAll("*")) {
                for (const { name, value } of [...node.attributes]) {
                    if (!name.startsWith("data-i18n") || name === "data-i18n-params") continue;
                    if (!(value in en)) bad.push(`${name}=${value}: not in the tables`);
                    const shown = name === "data-i18n"
                        ? node.textContent : node.getAttribute(name.slice("data-i18n-".length));
                    if (shown === value) bad.push(`${name}=${value}: shown as its key`);
                }
            }
            return bad;
        }"""
    )
    return found


# -- the tables ---------------------------------------------------------------------------
def test_every_key_is_in_both_tables_with_the_same_parameters(
    base_url: str, en_tab: tuple[Page, Console]
) -> None:
    tab, console = en_tab
    tab.goto(f"{base_url}/web/signin")
    tables: dict[str, dict[str, str]] = tab.evaluate(
        """async () => {
            const { en, zh } = await import("/web/static/i18n.js");
            return { en, zh };
        }"""
    )
    en, zh = tables["en"], tables["zh"]
    assert sorted(set(en) - set(zh)) == [], "keys with no Chinese"
    assert sorted(set(zh) - set(en)) == [], "Chinese keys with no English"
    for key, text in en.items():
        assert text.strip() and zh[key].strip(), f"{key} is empty"
        params = set(re.findall(r"\{(\w+)\}", text))
        assert params == set(re.findall(r"\{(\w+)\}", zh[key])), f"{key}: other parameters"
    assert any(re.search(r"[\u4e00-\u9fff]", text) for text in zh.values())
    console.assert_clean()


def test_every_key_the_pages_name_is_in_the_tables(base_url: str) -> None:
    """The HTML files' data-i18n* keys (the modules' keys are checked page by page below)."""
    tables = httpx.get(f"{base_url}/web/static/i18n.js", timeout=30).text
    for page in PAGES:
        response = httpx.get(f"{base_url}/web/{page}", timeout=30)
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        html = response.text
        assert '<meta charset="utf-8">' in html
        keys = re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', html)
        assert keys, f"{page} marks no text"
        missing = [k for k in keys if f"{json.dumps(k)}:" not in tables]
        assert not missing, f"{page}: {missing}"


# -- choosing the language ---------------------------------------------------------------
def test_a_chinese_browser_reads_chinese_and_the_switch_to_english_is_kept(
    base_url: str, zh_tab: tuple[Page, Console]
) -> None:
    tab, console = zh_tab
    tab.goto(f"{base_url}/web/signin?next=%2Fweb%2Fsearch")
    expect(tab.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(tab).to_have_title("登录 · 培训知识库")
    expect(tab.get_by_role("heading", name="登录")).to_be_visible()
    expect(tab.get_by_label("员工 ID")).to_have_attribute("placeholder", "例如：liam-chen")
    expect(tab.get_by_role("button", name="English")).to_be_visible()
    assert untranslated(tab) == []

    sign_in_zh(tab, base_url, "liam")
    expect(tab.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(tab.get_by_role("heading", level=1)).to_have_text("搜索培训资料")
    expect(tab.get_by_label("搜索内容")).to_have_attribute(
        "placeholder", "例如：模型总是偏向多数类别"
    )
    expect(tab.get_by_label("类型").locator("option").first).to_have_text("任意类型")
    expect(tab.locator("header.site")).to_contain_text("当前登录：liam-chen")
    expect(tab.get_by_role("navigation", name="页面")).to_contain_text("我的学习")

    tab.get_by_label("搜索内容").fill("macro F1 per-class recall")
    tab.get_by_role("button", name="搜索", exact=True).click()
    expect(tab.get_by_role("status")).to_contain_text("条结果")
    hits = tab.locator("#hits > li")
    expect(hits.first).to_be_visible()
    shown = hits.count()
    expect(hits.first.locator(".place")).to_contain_text("章节")
    assert untranslated(tab) == []

    # The switch translates the page in place: the results and the query stay.
    tab.get_by_role("button", name="English").click()
    expect(tab.locator("html")).to_have_attribute("lang", "en")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Search the training material")
    expect(tab.get_by_label("Search for")).to_have_value("macro F1 per-class recall")
    expect(tab.get_by_role("status")).to_have_text(
        f"{shown} result{'' if shown == 1 else 's'} for “macro F1 per-class recall”."
    )
    expect(hits).to_have_count(shown)
    expect(hits.first.locator(".place")).to_contain_text("Section")
    expect(tab.locator("header.site")).to_contain_text("Signed in as liam-chen")
    expect(tab).to_have_title("Search · Training knowledge base")
    assert untranslated(tab) == []

    tab.reload()  # the choice is kept, over the browser's language
    expect(tab.get_by_label("Search for")).to_be_visible()
    expect(tab.locator("html")).to_have_attribute("lang", "en")
    expect(tab.get_by_role("button", name="中文")).to_be_visible()
    tab.goto(f"{base_url}/web/learning")
    expect(tab.get_by_role("heading", level=1)).to_have_text("My learning")

    tab.get_by_role("button", name="中文").click()  # and back
    expect(tab.get_by_role("heading", level=1)).to_have_text("我的学习")
    expect(tab.get_by_label("可用小时数")).to_be_visible()
    console.assert_clean()


def test_an_english_browser_reads_english(base_url: str, en_tab: tuple[Page, Console]) -> None:
    tab, console = en_tab
    tab.goto(f"{base_url}/web/signin")
    expect(tab.locator("html")).to_have_attribute("lang", "en")
    expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(tab.get_by_label("API key")).to_be_visible()
    expect(tab.get_by_role("button", name="中文")).to_have_attribute("title", re.compile("Chinese"))
    tab.get_by_label("API key").fill(KEYS["liam"])
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{base_url}/web/search")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Search the training material")
    expect(tab.get_by_label("Search for")).to_be_visible()
    expect(tab.get_by_role("button", name="Search", exact=True)).to_be_visible()
    assert untranslated(tab) == []
    assert not re.search(r"[\u4e00-\u9fff]", tab.locator("main").inner_text())
    console.assert_clean()


# -- Chinese text ------------------------------------------------------------------------
def test_a_chinese_query_finds_the_chinese_document_and_opens_it_at_the_hit(
    base_url: str, zh_tab: tuple[Page, Console]
) -> None:
    tab, console = zh_tab
    sign_in_zh(tab, base_url, "liam")
    tab.get_by_label("搜索内容").fill(CHINESE_QUERY)
    tab.get_by_role("button", name="搜索", exact=True).click()
    tab.wait_for_url(re.compile(re.escape(quote(CHINESE_QUERY))))
    expect(tab.get_by_role("status")).to_contain_text(f"“{CHINESE_QUERY}”共有")
    hit = tab.locator("#hits > li", has_text=CHINESE_TITLE).first
    expect(hit.get_by_role("link")).to_have_text(CHINESE_TITLE)
    expect(hit.locator(".snippet")).to_contain_text("类别")
    expect(hit).to_contain_text("作者：王小明")

    hit.get_by_role("link").click()
    chunk = tab.locator(".chunk.hit-chunk")
    expect(chunk).to_be_focused()
    expect(chunk).to_contain_text("你的搜索命中处")
    expect(chunk.locator("mark").first).to_have_text(CHINESE_QUERY)
    expect(tab.locator("#doc h1")).to_have_text(CHINESE_TITLE)
    expect(tab).to_have_title(f"{CHINESE_TITLE} · 培训知识库")
    expect(tab.get_by_role("status")).to_contain_text("已定位到")
    assert untranslated(tab) == []

    tab.get_by_role("button", name="English").click()  # the opened document stays as it is
    expect(chunk).to_contain_text("Your search hit")
    expect(tab.get_by_role("status")).to_contain_text("Opened at")
    expect(tab.locator(".meta")).to_contain_text("Author王小明")
    expect(chunk.locator("mark").first).to_have_text(CHINESE_QUERY)
    expect(tab).to_have_title(f"{CHINESE_TITLE} · Training knowledge base")
    console.assert_clean()


def test_every_page_in_chinese_at_phone_width(base_url: str, browser: Browser) -> None:
    """Each page translated throughout (no key shown, none missing), without console errors,
    and no wider than a phone with Chinese labels and the Chinese document in the results."""
    with tab_in(browser, "zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True) as opened:
        tab, console = opened
        sign_in_zh(tab, base_url, "organiser", "/web/organiser")
        pages = {
            "/web/organiser": "table.heat",
            "/web/learning?employee=liam-chen": "#next-module",
            f"/web/search?q={quote(CHINESE_QUERY)}": "#hits > li",
            "/web/search?q=drift+alerts&type=transcript": "#hits > li",
        }
        for path, ready in pages.items():
            tab.goto(base_url + path)
            tab.locator(ready).first.wait_for()
            expect(tab.locator("html")).to_have_attribute("lang", "zh-CN")
            assert untranslated(tab) == [], path
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} scrolls sideways in Chinese ({width} px)"
        expect(tab.get_by_role("heading", level=1)).to_have_text("搜索培训资料")
        tab.locator("#hits > li a").first.click()
        expect(tab.locator(".chunk.hit-chunk")).to_be_focused()
        assert untranslated(tab) == []
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390
        console.assert_clean()
