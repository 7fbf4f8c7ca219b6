"""The cycles page lists the modules whose measured gain is near zero, in English and
Chinese, and fits a 390 px wide phone (headless Chromium; never skipped, as
tests/web/test_cycles.py). With KB_GAINS_SCREENSHOT=FOLDER, each run's screen is written
there."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
import yaml

from recommender import load_catalog
from recommender.state.sqlite import CatalogStore
from tests.fakes import HashingEmbedder
from tests.recommender.evaluation_cohort import cohort
from tests.recommender.test_evaluation import write_raw
from tests.web.test_i18n import untranslated
from tests.web.test_pages import CHROMIUM, KEY_ENTRIES, Console, bearer, chromium, serve, sign_in

try:
    from playwright.sync_api import Browser, expect
except ImportError as exc:  # pragma: no cover - the dev extra installs it
    raise RuntimeError(f"playwright is not installed ({exc}): pip install -e '.[dev]'") from exc


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[str]:
    assert os.access(CHROMIUM, os.X_OK), (
        f"no browser at {CHROMIUM}: `make browser` (or apt-get install chromium)"
    )
    tmp = tmp_path_factory.mktemp("web-gains")
    keys = tmp / "keys.yaml"
    keys.write_text(yaml.safe_dump(KEY_ENTRIES))
    raw, events = cohort(0)
    with CatalogStore.open(tmp / "home") as store:
        load_catalog(store, write_raw(tmp / "catalog", raw))
        store.add_events(events)
    with serve(tmp / "home", keys, fake_embedder) as url:
        # the first report imports scikit-learn and scipy (seconds on a busy machine)
        with httpx.Client(base_url=url, timeout=300) as client:
            for path in ("/cycles/cycle-fe-planted/report", "/cycles/gains"):
                assert client.get(path, headers=bearer("organiser")).status_code == 200
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_near_zero_modules_are_listed_on_a_phone(
    browser: Browser, base_url: str, locale: str
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale=locale)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    console = Console(tab)
    try:
        if locale == "en-US":
            sign_in(tab, base_url, "organiser", "/web/cycles")
            heading = "Modules whose measured gain is near zero"
        else:
            tab.goto(f"{base_url}/web/signin?next=%2Fweb%2Fcycles")
            tab.get_by_label("API 密钥").fill("web-organiser-key-0123456789abcdef")
            tab.get_by_role("button", name="登录").click()
            tab.wait_for_url(f"{base_url}/web/cycles")
            heading = "实测提升接近零的模块"
        expect(tab.locator("#gains-title")).to_have_text(heading)
        rows = tab.locator("#gains-table tbody tr")
        expect(rows).to_have_count(2)
        modules = {rows.nth(i).locator("td").first.inner_text() for i in range(2)}
        assert modules == {"fe-short", "fe-lab"}
        expect(tab.locator("#gains-hint")).to_contain_text("8")
        assert untranslated(tab) == []
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        console.assert_clean()
        shot = os.environ.get("KB_GAINS_SCREENSHOT")  # a folder: look at the section
        if shot:
            tab.locator("#gains-title").scroll_into_view_if_needed()
            tab.screenshot(path=f"{shot}/gains-{locale}.png")
    finally:
        context.close()
