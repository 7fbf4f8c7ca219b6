"""The web pages, driven in headless Chromium against the real service and the real model.

The app runs under uvicorn in a background thread on a free loopback port, over a tmp home
with the sample catalogue and a small corpus written here (one document restricted to the
recsys team). Every test fails on a console error or an uncaught exception in the page.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
import yaml

from api.http.app import create_app
from api.http.auth import hash_key
from api.settings import Settings
from kb import Embedder

try:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        FilePayload,
        Page,
        expect,
        sync_playwright,
    )
except ImportError as exc:  # reported by `_browser_available`: a failure under CI/make test
    PLAYWRIGHT_MISSING: str | None = f"playwright is not installed ({exc}): pip install -e '.[dev]'"
else:
    PLAYWRIGHT_MISSING = None

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "data" / "sample" / "catalog"
CHROMIUM = Path(os.environ.get("KB_CHROMIUM") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

KEYS = {
    "admin": "web-admin-key-0123456789abcdef",
    "organiser": "web-organiser-key-0123456789abcdef",
    "liam": "web-liam-key-0123456789abcdef",  # liam-chen, team nlp
    "hannah": "web-hannah-key-0123456789abcdef",  # hannah-okafor, team nlp
    "daniel": "web-daniel-key-0123456789abcdef",  # daniel-kowalski, team recsys
}
KEY_ENTRIES = [  # as `kb keys add` writes them: only each key's SHA-256
    {"key_sha256": hash_key(KEYS["admin"]), "role": "admin"},
    {"key_sha256": hash_key(KEYS["organiser"]), "role": "organiser"},
    {"key_sha256": hash_key(KEYS["liam"]), "role": "employee", "employee": "liam-chen"},
    {"key_sha256": hash_key(KEYS["hannah"]), "role": "employee", "employee": "hannah-okafor"},
    {"key_sha256": hash_key(KEYS["daniel"]), "role": "employee", "employee": "daniel-kowalski"},
]
SECRET_WORD = "quokkaplaybook"

NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kb": {
            "title": "Hyperparameter search with Optuna",
            "team": "nlp",
            "course": "nlp-sentiment",
            "module": "nlp-optimisation",
            "skills": ["hyperparameter-tuning", "model-optimisation"],
            "tags": ["nlp-optimisation"],
            "author": "Tomás Ferreira",
        }
    },
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": "# Hyperparameter search\n\nRandom search first, then Optuna's TPE "
            "sampler over learning rate and weight decay.",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "best lr 3e-5\n"}],
            "source": "study = optuna.create_study(direction='maximize')\n"
            "study.optimize(objective, n_trials=40)\n"
            "print('best lr', study.best_params['lr'])",
        },
    ],
}

TRANSCRIPT = """WEBVTT

NOTE
title: Drift office hours
team: mlops
course: mlops-foundations
skills: [model-monitoring]
tags: [model-monitoring]

1
00:00:01.000 --> 00:00:05.000
Ana Silva: Welcome to office hours, today we talk about drift alerts.

2
00:00:05.500 --> 00:00:12.000
Ben Okoro: Our population stability index alert fires every Monday morning.

3
00:01:10.000 --> 00:01:18.000
Ana Silva: Then recompute the reference window weekly and alert on a sustained shift.
"""


def _markdown(title: str, sections: dict[str, str], **front: Any) -> str:
    head = yaml.safe_dump({"title": title, **front}, sort_keys=False).strip()
    body = "\n\n".join(f"## {name}\n\n{text}" for name, text in sections.items())
    return f"---\n{head}\n---\n\n# {title}\n\n{body}\n"


CORPUS: dict[str, str] = {
    "imbalance.md": _markdown(
        "Handling class imbalance",
        {
            "Why it matters": "Accuracy hides the minority class when one label dominates. "
            + "A long introduction keeps this section apart from the next one. " * 30,
            "Reweighting the loss": "When the model keeps favouring the majority label, weight "
            "the loss by inverse class frequency or oversample the minority class.",
            "Evaluation": "Use macro F1 and per-class recall rather than accuracy.",
        },
        team="nlp",
        course="nlp-sentiment",
        skills=["model-evaluation"],
        tags=["nlp-evaluation"],
        author="Priya Raman",
    ),
    "optuna-search.ipynb": json.dumps(NOTEBOOK),
    "drift-office-hours.vtt": TRANSCRIPT,
    "serving.md": _markdown(
        "Serving models with low latency",
        {"Batching": "Dynamic batching and quantisation keep p95 latency under budget."},
        team="mlops",
        course="mlops-foundations",
        skills=["model-serving"],
    ),
    "markup.md": _markdown(
        "Escaping <b>markup</b> in write-ups",
        {
            "Pitfall": "A zebrafinch note: never paste <script>alert('x')</script> or "
            '<img src=x onerror="alert(1)"> into a page unescaped.'
        },
        team="nlp",
    ),
    "recsys-secret.md": _markdown(
        "Recsys private tuning notes",
        {
            "Tuning": f"Our {SECRET_WORD} for matrix factorisation: Bayesian search over the "
            "learning rate and regularisation, with early stopping."
        },
        team="recsys",
        skills=["hyperparameter-tuning"],
        visibility=["recsys"],
    ),
}


# -- the service -------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    home: Path,
    keys_file: Path,
    embedder: Embedder,
    port: int | None = None,
    **settings: Any,
) -> Iterator[str]:
    """The app under uvicorn in a thread on 127.0.0.1 (loopback only); yields its base URL.
    `settings` are more Settings fields (company sign-in's, for one)."""
    app = create_app(Settings(home=home, api_keys_file=keys_file, **settings), embedder=embedder)
    port = port or _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="web-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def bearer(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[who]}"}


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/ingest/jobs/{job_id}", headers=bearer("admin")).json()
        if job["state"] in ("done", "failed", "interrupted"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
        time.sleep(0.1)


def seed(base_url: str) -> None:
    """Load the sample catalogue and ingest the corpus through the HTTP API itself."""
    with httpx.Client(base_url=base_url, timeout=120) as client:
        parts = [("files", (p.name, p.read_bytes())) for p in sorted(CATALOG.glob("*.yaml"))]
        response = client.put("/catalog", files=parts, headers=bearer("organiser"))
        assert response.status_code == 200, response.text
        files = [("files", (name, text.encode())) for name, text in CORPUS.items()]
        response = client.post("/ingest", files=files, headers=bearer("admin"))
        assert response.status_code == 202, response.text
        job = wait_for_job(client, response.json()["job_id"])
        assert job["state"] == "done" and not job["summary"]["failed"], job


@contextmanager
def seeded_service(tmp: Path, embedder: Embedder) -> Iterator[str]:
    """A running, seeded service in `tmp` (its own home and keys file)."""
    keys_file = tmp / "keys.yaml"
    keys_file.write_text(yaml.safe_dump(KEY_ENTRIES))
    with serve(tmp / "home", keys_file, embedder) as base_url:
        seed(base_url)
        yield base_url


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, base_url: str, who: str, path: str = "/web/search") -> None:
    """Sign in through the form with the key alone, as a user would, and land on `path`:
    an employee key signs in as its employee (the page asks `POST /me/signin`: audited)."""
    page.goto(f"{base_url}/web/signin?next={quote(path, safe='')}")
    page.get_by_label("API key").fill(KEYS[who])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{path}")


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    with seeded_service(tmp_path_factory.mktemp("web"), embedder) as url:
        yield url


def browser_required() -> bool:
    """Under CI, and under `make test` (which installs the browser first), a missing browser
    fails these tests: a skip there would hide that the pages went untested."""
    return os.environ.get("CI", "").lower() in ("1", "true") or bool(
        os.environ.get("KB_REQUIRE_BROWSER")
    )


@pytest.fixture(scope="module", autouse=True)
def _browser_available() -> None:
    """Checked before anything else in this module (no model, no server)."""
    missing = PLAYWRIGHT_MISSING
    if missing is None and not os.access(CHROMIUM, os.X_OK):
        missing = f"no browser at {CHROMIUM}: `make browser` (or apt-get install chromium)"
    if missing is None:
        return
    if browser_required():
        pytest.fail(f"{missing}; the web pages cannot be tested", pytrace=False)
    pytest.skip(missing)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


class Console:
    """Console errors and uncaught exceptions of one page. The browser also logs every answer
    of 4xx/5xx as a console error; a test that provokes one on purpose names its status."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def assert_clean(self, *expected_statuses: int) -> None:
        expected = tuple(f"status of {status} " for status in expected_statuses)
        unexpected = [
            e
            for e in self.errors
            if not (e.startswith("Failed to load resource") and any(s in e for s in expected))
        ]
        assert not unexpected, unexpected


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Console]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    console = Console(tab)
    yield tab, console
    context.close()


def api_get(base_url: str, path: str, who: str = "admin", **params: Any) -> Any:
    response = httpx.get(base_url + path, params=params, headers=bearer(who), timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


# -- tests -------------------------------------------------------------------------------
def test_search_from_the_box_to_the_document_opened_at_the_hit(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam")
    tab.get_by_label("Search for").fill("model keeps favouring the majority label")
    tab.get_by_label("Team").fill("nlp")
    tab.get_by_role("button", name="Search").click()

    first = tab.locator("#hits > li").first
    expect(first.get_by_role("link")).to_have_text("Handling class imbalance")
    expect(first.locator(".place")).to_contain_text("Reweighting the loss")
    marks = first.locator(".snippet mark")
    assert marks.count() > 0 and "majority" in marks.all_inner_texts()

    first.get_by_role("link").click()
    hit = tab.locator(".chunk.hit-chunk")
    expect(hit).to_be_visible()
    expect(hit).to_be_in_viewport()
    expect(hit).to_be_focused()
    expect(hit.locator(".place")).to_contain_text("Reweighting the loss")
    expect(hit.locator("mark").first).to_be_visible()
    assert tab.locator(".chunk").count() > 2  # the whole document, opened at the hit
    console.assert_clean()


def test_a_transcript_and_a_notebook_open_at_their_place(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam")
    tab.get_by_label("Search for").fill("recompute the reference window weekly")
    tab.get_by_label("Type").select_option("transcript")
    tab.get_by_role("button", name="Search").click()
    first = tab.locator("#hits > li").first
    expect(first.locator(".place")).to_contain_text("Transcript at")
    first.get_by_role("link").click()
    hit = tab.locator(".chunk.hit-chunk")
    expect(hit.locator(".speaker").first).to_have_text("Ana Silva: ")
    expect(hit.locator("time").first).to_be_visible()
    # the chunk packs three cues: the one that matched, at 00:01:10, is the one highlighted
    expect(hit.locator(".hit-place")).to_have_count(1)
    expect(hit.locator(".hit-place")).to_contain_text("recompute the reference window weekly")
    expect(hit.locator(".hit-place")).to_be_in_viewport()
    expect(tab.get_by_role("status")).to_contain_text("00:01:10")

    tab.goto(f"{base_url}/web/search?q=optuna+study&type=notebook")
    tab.locator("#hits > li a").first.click()
    expect(tab.locator(".chunk.hit-chunk .cell.code pre").first).to_contain_text("create_study")
    expect(tab.locator(".chunk.hit-chunk .cell.output pre").first).to_contain_text("best lr")
    expect(tab.locator(".chunk.hit-chunk .hit-place")).to_contain_text("create_study")  # cell 2
    console.assert_clean()


def test_marking_the_next_module_completed_changes_it(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "hannah", "/web/learning")  # the key alone: /me names her
    expect(tab.locator("header.site")).to_contain_text("Signed in as hannah-okafor")
    expect(tab.get_by_role("link", name="Organiser")).to_have_count(0)  # not hers to see
    before = api_get(base_url, "/employees/hannah-okafor/next-module", "hannah")["module"]
    next_title = tab.locator("#next-module")
    expect(next_title).to_have_text(before["title"])
    expect(tab.locator("#gaps .bar-row").first).to_be_visible()
    expect(tab.locator("#gaps")).to_contain_text("weight ×")

    tab.get_by_role("button", name="Mark completed").click()
    expect(tab.get_by_role("status")).to_contain_text(f"Recorded: {before['title']} completed")
    expect(next_title).not_to_have_text(before["title"])
    after = api_get(base_url, "/employees/hannah-okafor/next-module", "hannah")
    assert after["module"]["id"] != before["id"]
    expect(next_title).to_have_text(after["module"]["title"])

    tab.get_by_label("Hours available").fill("4")
    tab.get_by_role("button", name="Make a plan").click()
    expect(tab.locator("#plan")).to_contain_text("of 4 h")
    console.assert_clean()


def test_an_upload_with_a_bad_file_reports_it_and_stores_the_rest(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "organiser", "/web/organiser")
    expect(tab.locator("table.heat")).to_be_visible()
    good = _markdown("Canary releases", {"Rollout": "Shift five percent of traffic first."})
    files: list[FilePayload] = [
        {"name": "canary.md", "mimeType": "text/markdown", "buffer": good.encode()},
        {"name": "broken.ipynb", "mimeType": "application/json", "buffer": b"{not json"},
    ]
    tab.get_by_label("Files or .zip archives").set_input_files(files)
    tab.get_by_label("Default team").fill("mlops")
    tab.get_by_role("button", name="Upload").click()

    results = tab.locator("#job-files")
    expect(results).to_be_visible()
    broken = results.locator("tr", has_text="broken.ipynb")
    expect(broken.locator("td").nth(1)).to_have_text("failed")
    expect(broken.locator("td").nth(2)).to_contain_text("broken notebook")
    expect(results.locator("tr", has_text="canary.md").locator("td").nth(1)).to_have_text("added")
    expect(tab.locator("#job progress")).to_be_visible()
    stored = api_get(base_url, "/documents", team="mlops")["documents"]
    assert "Canary releases" in [d["title"] for d in stored]
    console.assert_clean()


def test_a_faulty_catalogue_shows_its_faults_in_the_page(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "organiser", "/web/organiser")
    parts = {p.name: p.read_bytes() for p in sorted(CATALOG.glob("*.yaml"))}
    parts["employees.yaml"] += b"\n- {id: ghost, name: Ghost, team: no-such-team}\n"
    files: list[FilePayload] = [
        {"name": name, "mimeType": "application/yaml", "buffer": data}
        for name, data in parts.items()
    ]
    tab.get_by_label("skills.yaml, teams.yaml").set_input_files(files)
    tab.get_by_role("button", name="Load catalogue").click()
    faults = tab.locator("#catalog-faults")
    expect(faults).to_contain_text("no-such-team")
    expect(faults).to_contain_text("employees.yaml")
    console.assert_clean(422)


def test_a_restricted_document_stays_hidden_from_other_teams(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    secret = api_get(base_url, "/search", "admin", q=SECRET_WORD)["hits"][0]
    sign_in(tab, base_url, "liam")  # team nlp; the document is for recsys only
    tab.get_by_label("Search for").fill(SECRET_WORD)
    tab.get_by_role("button", name="Search").click()
    expect(tab.get_by_role("status")).to_contain_text("result")
    assert "Recsys private tuning notes" not in tab.locator("main").inner_text()

    tab.goto(f"{base_url}/web/document?id={secret['doc_id']}&chunk={secret['chunk_id']}")
    expect(tab.get_by_role("status")).to_contain_text("does not exist, or you may not see it")
    assert "Recsys private" not in tab.locator("main").inner_text()
    console.assert_clean(404)


def test_the_restricted_document_shows_for_its_team(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "daniel", f"/web/search?q={SECRET_WORD}")
    expect(tab.locator("#hits > li").first).to_contain_text("Recsys private tuning notes")
    expect(tab.locator("#hits mark").first).to_have_text(SECRET_WORD)
    console.assert_clean()


def test_markup_in_documents_and_snippets_is_shown_as_text(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam", "/web/search?q=zebrafinch+script")
    first = tab.locator("#hits > li").first
    expect(first.get_by_role("link")).to_have_text("Escaping <b>markup</b> in write-ups")
    expect(first.locator(".snippet")).to_contain_text("<script>alert('x')</script>")
    expect(first.locator(".snippet mark").first).to_be_visible()
    first.get_by_role("link").click()
    expect(tab.locator(".chunk.hit-chunk")).to_contain_text('<img src=x onerror="alert(1)">')
    assert tab.locator("main script, main img, main b").count() == 0

    # A snippet that is not plain text with <mark> tags is not trusted, whatever the API sent.
    rendered = tab.evaluate(
        """async () => {
            const { snippetNodes } = await import("/web/static/api.js");
            const box = document.createElement("p");
            box.append(...snippetNodes('a <mark>b</mark> <img src=x onerror="alert(1)">'));
            const marked = document.createElement("p");
            marked.append(...snippetNodes("x &lt;y&gt; <mark>z &amp; w</mark>"));
            return [box.children.length, box.textContent, marked.innerHTML];
        }"""
    )
    assert rendered[0] == 0 and "<img" in rendered[1]
    assert rendered[2] == "x &lt;y&gt; <mark>z &amp; w</mark>"
    console.assert_clean()


def test_without_its_script_the_sign_in_form_never_puts_the_key_in_a_url(
    base_url: str, page: tuple[Page, Console]
) -> None:
    tab, _ = page  # the blocked script is logged as a console error, on purpose
    tab.route("**/signin.js", lambda route: route.abort())
    requests: list[tuple[str, str]] = []
    tab.on("request", lambda request: requests.append((request.method, request.url)))
    tab.goto(f"{base_url}/web/signin?next=%2Fweb%2Flearning")
    tab.get_by_label("API key").fill(KEYS["organiser"])
    with tab.expect_navigation():
        tab.get_by_role("button", name="Sign in").click()
    assert ("POST", f"{base_url}/web/signin") in requests, requests
    assert not [url for _, url in requests if KEYS["organiser"] in url]
    assert KEYS["organiser"] not in tab.url
    expect(tab.get_by_label("API key")).to_be_visible()  # back at the form, key not kept
    assert tab.evaluate("sessionStorage.length") == 0


def test_search_works_from_the_keyboard_alone(base_url: str, page: tuple[Page, Console]) -> None:
    tab, console = page
    sign_in(tab, base_url, "liam")
    expect(tab.get_by_label("Search for")).to_be_focused()
    tab.keyboard.type("macro F1 per-class recall")
    tab.keyboard.press("Enter")
    expect(tab.locator("#hits > li").first).to_be_visible()
    for _ in range(12):  # type, team, course, skill, the button, then the first hit
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.closest('#hits') !== null"):
            break
    focused = tab.locator("#hits a").first
    expect(focused).to_be_focused()
    outline = tab.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "focus must be visible"
    tab.keyboard.press("Enter")
    expect(tab.locator(".chunk.hit-chunk")).to_be_focused()
    console.assert_clean()


def test_pages_fit_a_phone_width(base_url: str, browser: Browser) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-US"
    )
    tab = context.new_page()
    console = Console(tab)
    try:
        sign_in(tab, base_url, "organiser", "/web/organiser")
        expect(tab.locator("table.heat")).to_be_visible()
        pages = {
            "/web/organiser": "table.heat",
            "/web/search?q=drift+alerts": "#hits > li",
            "/web/learning?employee=liam-chen": "#next-module",
        }
        for path, ready in pages.items():
            tab.goto(base_url + path)
            tab.locator(ready).first.wait_for()
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} scrolls sideways ({width} px)"
        console.assert_clean()
    finally:
        context.close()
