"""The web pages: plain HTML, CSS and JS modules served by the API's own process.

Employees will not use curl, and the company network may have no internet, so every asset is
a local file under ``api/web/static`` (no CDN, no build step). The pages are static: they carry no
data and no key. Each page asks the signed-in user's browser for the API key it keeps in
``sessionStorage`` and calls the same HTTP endpoints as any other client, with a Bearer
header, so the API's checks (roles, visibility) are the only ones, and nothing here can widen
them. Keys never appear in URLs: the sign-in form posts (its body is never read) should its
script fail, rather than fall back to a GET with the key in the query string.

A strict Content-Security-Policy on the pages (scripts and styles from this origin only, no
inline script) is a second line of defence behind the pages' own escaping of snippets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.http.errors import ApiError

STATIC = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class Page:
    """One page: `name` is its URL (`/web/<name>`) and its file (`static/<name>.html`)."""

    name: str
    in_header: bool = False  # linked from every page's header (api.js reads this list)
    organisers_only: bool = False  # left out of an employee's header (its data would be a 403)


# The one list of pages: the server serves these, and the header's links come from it too
# (`/web/pages.js`, which api.js imports), so a new page is a file plus one entry here.
SITE: tuple[Page, ...] = (
    Page("search", in_header=True),
    Page("document"),
    Page("learning", in_header=True),
    Page("graph", in_header=True),
    Page("organiser", in_header=True, organisers_only=True),
    Page("cycles", in_header=True, organisers_only=True),
    Page("signin"),
)
PAGES = tuple(page.name for page in SITE)
PREFIX = "/web"

# No inline scripts or styles, nothing from elsewhere; `style-src 'self'` still lets the
# modules set element.style (CSSOM), which the bar charts and the heat map use.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / f"{name}.html", media_type="text/html", headers=PAGE_HEADERS)


def mount_web(app: FastAPI) -> None:
    """Serve the pages under ``/web/<page>`` and their assets under ``/web/static``.

    ``/`` and ``/web`` lead to the search page, the one most people want. The routes stay
    out of the OpenAPI schema: they are not part of the HTTP API.
    """
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="web-static")

    @app.get("/", include_in_schema=False)
    @app.get(PREFIX, include_in_schema=False)
    @app.get(f"{PREFIX}/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/search", status_code=307)

    @app.get(f"{PREFIX}/pages.js", include_in_schema=False)
    def pages_module() -> Response:
        """The header's links, as a JavaScript module made from `SITE`."""
        header = [page.name for page in SITE if page.in_header]
        organisers = [page.name for page in SITE if page.organisers_only]
        body = (
            f"export const HEADER_PAGES = {json.dumps(header)};\n"
            f"export const ORGANISERS_ONLY = {json.dumps(organisers)};\n"
        )
        return Response(body, media_type="text/javascript", headers=PAGE_HEADERS)

    @app.get(PREFIX + "/{page}", include_in_schema=False)
    def page(page: str) -> FileResponse:
        if page not in PAGES:
            raise ApiError(
                404, f"No page {page[:50]!r}: the pages are {', '.join(PAGES)} under {PREFIX}/."
            )
        return _page(page)

    @app.post(f"{PREFIX}/signin", include_in_schema=False)
    def signin_without_script() -> RedirectResponse:
        """The sign-in form posts here only when its script did not run: the key came in the
        request body (so not in any URL or log line) and is not read. Back to the form."""
        return RedirectResponse(f"{PREFIX}/signin", status_code=303)
