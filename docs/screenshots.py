"""Screenshots of the three web pages that the docs pages show (docs/http.md), from a
throwaway seeded service.

Run from the repository root: ``.venv/bin/python docs/screenshots.py [--phone]``. It starts
the service exactly as the browser tests do (tmp home, sample catalogue, the tests' small
corpus, the real model), signs in through the form and saves ``docs/search.png``,
``docs/learning.png`` and ``docs/organiser.png`` at laptop width (``--phone``: a 390 px wide
set under /tmp, to check the narrow layout by eye).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kb import SentenceTransformerEmbedder  # noqa: E402
from tests.web.test_pages import chromium, seeded_service, sign_in  # noqa: E402

SEARCH = "q=model+keeps+favouring+the+majority+label&course=nlp-sentiment"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phone", action="store_true", help="390 px wide, saved under /tmp")
    args = parser.parse_args()
    if args.phone:
        width, height, out = 390, 844, Path(tempfile.gettempdir())
    else:
        width, height, out = 1280, 860, ROOT / "docs"
    suffix = "-phone" if args.phone else ""
    embedder = SentenceTransformerEmbedder()
    with tempfile.TemporaryDirectory() as tmp, seeded_service(Path(tmp), embedder) as base:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": width, "height": height})
            sign_in(page, base, "liam", "/web/search?" + SEARCH)
            page.locator("#hits > li").first.wait_for()
            page.locator("main").click(position={"x": 5, "y": 5})  # no focus ring in the shot
            page.screenshot(path=out / f"search{suffix}.png", full_page=not args.phone)
            page.goto(f"{base}/web/learning")
            page.locator("#next-module").wait_for()
            page.locator("#materials .hit").first.wait_for()
            page.get_by_role("button", name="Make a plan").click()
            page.locator("#plan li").first.wait_for()
            page.screenshot(path=out / f"learning{suffix}.png", full_page=not args.phone)
            page.evaluate("sessionStorage.clear()")
            sign_in(page, base, "organiser", "/web/organiser")
            page.locator("table.heat").wait_for()
            page.locator("#teams").fill("nlp, recsys, mlops, support-ai")
            page.get_by_role("button", name="Show").click()
            page.locator("table.heat tbody tr").nth(3).wait_for()
            page.screenshot(path=out / f"organiser{suffix}.png", full_page=not args.phone)
    for name in ("search", "learning", "organiser"):
        path = out / f"{name}{suffix}.png"
        print(f"{path}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
