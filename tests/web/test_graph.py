"""The knowledge graph page in headless Chromium against the real service (the page tests'
seeded service: the sample catalogue and a small corpus with one document restricted to the
recsys team), with the hashing stand-in model: what is checked here is the page's mechanics.

Drawing, zoom, filtering by team, clicking nodes on the canvas through to a document and a
person's learning page, the questions, visibility (the restricted document is never drawn for
another team; that its own team sees it is checked over HTTP in test_graph_interfaces.py), and
both languages. With KB_SCREENSHOTS=1
the first test also saves docs/graph.png.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import HashingEmbedder
from tests.web import test_pages as web
from tests.web.test_pages import SECRET_WORD, Console, seeded_service, sign_in

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # `_browser_available` says so, before any test here runs
    pass

# The page tests' fixtures, found here by name: the check that there is a browser, the browser.
_browser_available = web._browser_available
browser = web.browser

ROOT = Path(__file__).resolve().parents[2]
SECRET_TITLE = "Recsys private tuning notes"


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[str]:
    with seeded_service(tmp_path_factory.mktemp("web-graph"), fake_embedder) as url:
        yield url


@pytest.fixture
def tab(browser: Browser) -> Iterator[tuple[Page, Console]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    console = Console(page)
    yield page, console
    context.close()


def drawn(page: Page) -> dict[str, Any]:
    """The nodes drawn now (id -> label), the zoom, once the page has finished starting."""
    result: dict[str, Any] = page.evaluate(
        """async () => {
            const { view } = await import("/web/static/graph.js");
            await view.ready;
            const nodes = {};
            view.cy.nodes().forEach((n) => { nodes[n.id()] = n.data("label"); });
            return { nodes, zoom: view.cy.zoom() };
        }"""
    )
    return result


def click_node(page: Page, node: str) -> None:
    """Click `node` on the canvas, as a user would: centred first, then clicked where it is."""
    point = page.evaluate(
        """async (id) => {
            const { view } = await import("/web/static/graph.js");
            const node = view.cy.getElementById(id);
            view.cy.center(node);
            return node.renderedPosition();
        }""",
        node,
    )
    box = page.locator("#graph").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def node_by_label(page: Page, label: str) -> str:
    return next(node for node, text in drawn(page)["nodes"].items() if text == label)


def test_the_graph_is_drawn_filtered_and_clicked_through(
    base_url: str, tab: tuple[Page, Console]
) -> None:
    page, console = tab
    sign_in(page, base_url, "liam", "/web/graph")
    status = page.locator("#graph-status")
    expect(status).to_contain_text("nodes and")
    nodes = drawn(page)["nodes"]
    assert {"person:liam-chen", "team:nlp", "module:nlp-features", "skill:model-evaluation"} <= set(
        nodes
    )
    assert "Handling class imbalance" in nodes.values()
    assert SECRET_TITLE not in nodes.values()  # recsys only; liam is in nlp
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("Knowledge graph")
    expect(page.locator("#bottlenecks li").first).to_be_visible()
    expect(page.locator("#bridges li").first).to_be_visible()
    if os.environ.get("KB_SCREENSHOTS"):
        page.locator("#g-node").select_option("skill:hyperparameter-tuning")
        expect(page.locator("#details h3").first).to_have_text("Hyperparameter tuning")
        page.locator("main h1").click()  # no focus ring in the shot
        page.screenshot(path=ROOT / "docs" / "graph.png")

    before = drawn(page)["zoom"]
    page.get_by_role("button", name="Zoom in").click()
    assert drawn(page)["zoom"] == pytest.approx(before * 1.25)

    whole = status.inner_text()
    page.get_by_label("Team", exact=True).select_option("nlp")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(f"{base_url}/web/graph?team=nlp")
    expect(status).not_to_have_text(whole)
    expect(status).to_contain_text("nodes and")
    team_nodes = drawn(page)["nodes"]
    assert "team:nlp" in team_nodes and "course:nlp-sentiment" in team_nodes
    assert "course:recsys-101" not in team_nodes and len(team_nodes) < len(nodes)

    document = node_by_label(page, "Handling class imbalance")
    click_node(page, document)
    details = page.locator("#details")
    expect(details.get_by_role("heading", name="Handling class imbalance")).to_be_visible()
    expect(details).to_contain_text("Priya Raman")  # its author, among what it connects to
    details.get_by_role("link", name="Open the document").click()
    expect(page.locator(".chunk").first).to_be_visible()
    assert f"id={document.split(':', 1)[1]}" in page.url

    page.go_back()
    expect(status).to_contain_text("nodes and")
    click_node(page, "person:liam-chen")
    expect(details.get_by_role("heading", name="Liam Chen")).to_be_visible()
    details.get_by_role("link", name="Open their learning page").click()
    expect(page).to_have_url(f"{base_url}/web/learning?employee=liam-chen")
    expect(page.locator("#next-module")).to_be_visible()
    console.assert_clean()


def test_the_questions_answer_in_the_page(base_url: str, tab: tuple[Page, Console]) -> None:
    page, console = tab
    sign_in(page, base_url, "liam", "/web/graph")
    expect(page.locator("#graph-status")).to_contain_text("nodes and")
    page.get_by_label("Topic").fill("optuna hyperparameter search")
    page.get_by_role("button", name="Ask").click()
    experts = page.locator("#experts li")
    expect(experts.first).to_contain_text("Tomás Ferreira")  # wrote the Optuna notebook
    experts.first.get_by_role("button").click()
    expect(page.locator("#details").get_by_role("heading", name="Tomás Ferreira")).to_be_visible()
    page.locator("#g-node").select_option("skill:model-evaluation")  # the keyboard's way
    expect(page.locator("#details").get_by_role("heading", name="Model evaluation")).to_be_visible()

    expect(page.locator("#path-person")).to_have_value("liam-chen")
    page.locator("#path-skill").select_option("llm-fine-tuning")
    page.locator("#path-level").select_option("4")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#path li").last).to_contain_text("Instruction data and LoRA")
    assert SECRET_WORD not in page.content() and SECRET_TITLE not in page.content()
    console.assert_clean()


def test_the_page_in_chinese(base_url: str, browser: Browser) -> None:
    from tests.web.test_i18n import sign_in_zh, untranslated

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    console = Console(page)
    try:
        sign_in_zh(page, base_url, "liam", "/web/graph")
        expect(page.get_by_role("heading", level=1)).to_have_text("知识图谱")
        expect(page).to_have_title("知识图谱 · 培训知识库")
        expect(page.locator("#graph-status")).to_contain_text("个节点")
        expect(page.locator("#bottlenecks li").first).to_contain_text("个模块依赖它")
        click_node(page, "person:liam-chen")
        expect(page.locator("#details")).to_contain_text("相连的节点")
        assert untranslated(page) == []
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Knowledge graph")
        expect(page.locator("#details")).to_contain_text("Connected to")
        assert untranslated(page) == []
        console.assert_clean()
    finally:
        context.close()
