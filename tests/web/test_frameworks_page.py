"""The organiser page's skills-framework section in headless Chromium: import the ESCO-shaped
fixture, propose, approve one skill with its first proposal, edit another to a typed id,
reject a third; the answers change; the section fits 390 px; the console stays clean. With
KB_SCREENSHOTS=1 it also saves docs/frameworks.png (the section on a phone)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kb import Embedder
from tests.web import test_pages as web
from tests.web.test_pages import Console, bearer, seeded_service, sign_in

try:
    from playwright.sync_api import Browser, expect
except ImportError:  # `_browser_available` says so, before any test here runs
    pass

_browser_available = web._browser_available
browser = web.browser

FIXTURES = Path(__file__).parents[1] / "fixtures" / "frameworks"
IDS = dict(line.split() for line in (FIXTURES / "ids.txt").read_text().splitlines())


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, fake_embedder: Embedder) -> Iterator[str]:
    with seeded_service(tmp_path_factory.mktemp("web-fw"), fake_embedder) as url:
        yield url


def test_import_propose_and_decide_on_a_phone(base_url: str, browser: Browser) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-US"
    )
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    console = Console(tab)
    try:
        sign_in(tab, base_url, "organiser", "/web/organiser")
        section = tab.locator("#framework-panel")
        expect(section.get_by_role("heading", name="Skills framework")).to_be_visible()
        expect(section).to_contain_text("No framework imported yet.")
        section.get_by_label("Framework files (.csv, or one SKOS file)").set_input_files(
            [
                str(FIXTURES / "esco" / n)
                for n in ("skills_en.csv", "skills_zh.csv", "broaderRelationsSkillPillar.csv")
            ]
        )
        section.get_by_label("Name").fill("ESCO")
        section.get_by_role("button", name="Import").click()
        expect(section).to_contain_text("Imported ESCO: 34 skills, labels in en, zh.")
        section.get_by_role("button", name="Propose a mapping").click()
        items = section.locator(".fw-skills > li")
        expect(items).to_have_count(14)
        expect(section).to_contain_text("0 approved, 0 rejected, 14 proposed")

        tuning = items.filter(has_text="hyperparameter-tuning")
        tuning.get_by_role("button", name="Approve").click()
        expect(tuning.locator(".fw-mapped")).to_have_text(
            f"tune hyperparameters ({IDS['tune-hyperparameters']})"
        )
        serving = items.filter(has_text="model-serving")
        serving.get_by_placeholder("or a framework id").fill(IDS["deploy-software"])
        serving.get_by_role("button", name="Approve").click()
        expect(serving.locator(".fw-mapped")).to_contain_text("deploy software")
        items.filter(has_text="vector-search").get_by_role("button", name="No match").click()
        expect(section).to_contain_text("2 approved, 1 rejected, 11 proposed")
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390
        if os.environ.get("KB_SCREENSHOTS"):
            section.scroll_into_view_if_needed()
            section.screenshot(path=Path(__file__).parents[2] / "docs" / "frameworks.png")
        console.assert_clean()
    finally:
        context.close()
    gaps = httpx.get(f"{base_url}/employees/liam-chen/gaps", headers=bearer("organiser")).json()
    mapped = {
        g["skill"]: g["framework_skill"]["id"] for g in gaps["gaps"] if "framework_skill" in g
    }
    assert mapped == {"hyperparameter-tuning": IDS["tune-hyperparameters"]}
