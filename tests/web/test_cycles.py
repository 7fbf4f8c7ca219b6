"""The training cycles page in headless Chromium, against the real service (the hashing
stand-in model: the page's mechanics are tested here, not the grouping of comments).

Never skipped: without a browser these tests fail, saying how to install one. With
KB_CYCLES_SCREENSHOT=PATH set, the report's screenshot is also written to PATH (docs/cycles.md
shows docs/cycle-report.png, made so).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from recommender import load_catalog
from recommender.state.sqlite import CatalogStore
from tests.fakes import HashingEmbedder
from tests.web.test_i18n import untranslated
from tests.web.test_pages import CHROMIUM, KEY_ENTRIES, Console, bearer, chromium, serve, sign_in

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError as exc:  # pragma: no cover - the dev extra installs it
    raise RuntimeError(f"playwright is not installed ({exc}): pip install -e '.[dev]'") from exc

CATALOG = Path(__file__).resolve().parents[2] / "data" / "sample" / "catalog"
LAB = "nlp-optimisation-2024-06"
CYCLES = ("recsys-cf-2024-02", "llm-support-2024-04", LAB)


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[str]:
    assert os.access(CHROMIUM, os.X_OK), (
        f"no browser at {CHROMIUM}: `make browser` (or apt-get install chromium)"
    )
    tmp = tmp_path_factory.mktemp("web-cycles")
    keys = tmp / "keys.yaml"
    keys.write_text(yaml.safe_dump(KEY_ENTRIES))
    with CatalogStore.open(tmp / "home") as store:
        load_catalog(store, CATALOG)
    with serve(tmp / "home", keys, fake_embedder) as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            for cycle in CYCLES:
                files = [
                    ("files", (p.name, p.read_bytes()))
                    for p in sorted((CATALOG / "cycles").glob(f"{cycle}.*.csv"))
                ]
                response = client.post(
                    f"/cycles/{cycle}/imports", files=files, headers=bearer("organiser")
                )
                assert response.status_code == 201, response.text
            # the first report imports scikit-learn (seconds on a busy machine): not the page's
            warm = client.get(f"/cycles/{LAB}/report", headers=bearer("organiser"), timeout=300)
            assert warm.status_code == 200, warm.text
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Console]]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", accept_downloads=True
    )
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab, Console(tab)
    context.close()


def test_the_report_page_draws_the_cycle_and_exports_it(
    base_url: str, page: tuple[Page, Console], tmp_path: Path
) -> None:
    tab, console = page
    sign_in(tab, base_url, "organiser", "/web/cycles")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Training cycles")
    expect(tab.get_by_role("link", name="Cycles")).to_have_attribute("aria-current", "page")
    options = tab.locator("#cycle option")
    expect(options).to_have_count(3)
    expect(tab.locator("#cycle")).to_have_value(LAB)  # the latest first
    expect(tab.locator("#summary-title")).to_have_text("Fine-tuning and hyperparameter search lab")
    figures = tab.locator("#figures .figure")
    expect(figures.first).to_contain_text("0.708")
    expect(figures.first).to_contain_text("figure of merit")
    expect(tab.locator("#figures")).to_contain_text("pass rate (pass mark 60%)")
    expect(tab.locator("#levels svg g[data-skill]")).to_have_count(4)
    expect(tab.locator("#levels svg g[data-skill]").first).to_contain_text("Model optimisation")
    expect(tab.locator("#distribution svg g[data-skill]")).to_have_count(4)
    expect(tab.locator("#merit svg g[data-cycle]")).to_have_count(3)
    expect(tab.locator(f'#merit svg g[data-cycle="{LAB}"]')).to_contain_text("0.708")
    expect(tab.locator("#survey svg g[data-question]")).to_have_count(5)
    expect(tab.locator("#theme-list blockquote")).to_have_count(5)
    expect(tab.locator("#people-table tbody tr")).to_have_count(6)
    expect(tab.locator("#follow-list li").first).to_contain_text("Ravi Subramanian")
    expect(tab.locator("#follow-list li").first).to_contain_text("took no post-assessment")
    assert untranslated(tab) == []

    shot = tmp_path / "cycle-report.png"
    tab.locator("main").screenshot(path=str(shot))
    assert 0 < shot.stat().st_size < 1_000_000
    target = os.environ.get("KB_CYCLES_SCREENSHOT")
    if target:
        shutil.copyfile(shot, target)

    with tab.expect_download() as info:
        tab.get_by_role("button", name="Export Markdown").click()
    download = info.value
    assert download.suggested_filename == f"cycle-{LAB}.md"
    saved = tmp_path / "report.md"
    download.save_as(saved)
    assert saved.read_text().startswith("# Cycle report: Fine-tuning and hyperparameter search lab")

    tab.locator("#cycle").select_option("llm-support-2024-04")
    expect(tab.locator("#summary-title")).to_have_text("Prompting and LoRA for support agents")
    expect(tab.locator("#merit svg g[data-cycle]")).to_have_count(2)  # it and the one before
    assert "id=llm-support-2024-04" in tab.url
    console.assert_clean()


def test_importing_from_the_page_names_faulty_lines(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "organiser", "/web/cycles?id=recsys-cf-2024-02")
    expect(tab.locator("#summary-title")).to_have_text("Collaborative filtering bootcamp")
    bad = (
        b"employee,phase,module,score,max_score\n"
        b"aiko-tanaka,post,recsys-cf,31,30\n"
        b"zed,pre,recsys-cf,3,30\n"
    )
    tab.locator("#import-files").set_input_files(
        files=[{"name": "late.csv", "mimeType": "text/csv", "buffer": bad}]
    )
    tab.get_by_role("button", name="Import").click()
    faults = tab.locator("#import-faults tbody tr")
    expect(faults).to_have_count(2)
    expect(faults.first).to_contain_text("line 2")
    expect(faults.nth(1)).to_contain_text("unknown employee 'zed'")
    expect(tab.get_by_role("alert")).to_contain_text("nothing was imported")

    attendance = b"employee_id,session,attended\naiko-tanaka,day 3,yes\nchloe-dubois,day 3,no\n"
    tab.locator("#import-files").set_input_files(
        files=[{"name": "day3.csv", "mimeType": "text/csv", "buffer": attendance}]
    )
    tab.locator("#import-kind").select_option("attendance")
    tab.get_by_role("button", name="Import").click()
    expect(tab.locator("#import-result")).to_contain_text(
        "day3.csv: 2 rows of attendance imported."
    )
    expect(tab.locator("#figures")).to_contain_text("attendance over 3 sessions")
    console.assert_clean(422)


def test_the_page_in_chinese_and_for_an_employee(browser: Browser, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    console = Console(tab)
    try:
        tab.goto(f"{base_url}/web/signin?next=%2Fweb%2Fcycles")
        tab.get_by_label("API 密钥").fill(
            "web-organiser-key-0123456789abcdef"  # tests.web.test_pages.KEYS["organiser"]
        )
        tab.get_by_role("button", name="登录").click()
        tab.wait_for_url(f"{base_url}/web/cycles")
        expect(tab.get_by_role("heading", level=1)).to_have_text("培训周期")
        expect(tab.locator("#levels svg").first).to_contain_text("培训前")
        expect(tab.locator("#figures")).to_contain_text("通过率（及格线 60%）")
        expect(tab.locator("#survey svg")).to_contain_text("节奏适合我")
        assert untranslated(tab) == []
        tab.get_by_role("button", name="English").click()
        expect(tab.get_by_role("heading", level=1)).to_have_text("Training cycles")
        expect(tab.locator("#survey svg")).to_contain_text("The pace was right for me")
        assert untranslated(tab) == []
        console.assert_clean()

        sign_in(tab, base_url, "liam", "/web/cycles")  # an employee: the API says no
        expect(tab.get_by_role("status")).to_contain_text("organiser")
        expect(tab.locator("#report")).to_be_hidden()
        console.assert_clean(403)
    finally:
        context.close()
