"""xAPI over the network: fetching statements from an LRS (`kb xapi import URL`) and posting
ours to one (`kb xapi push`, `kb worker`), with the standard library's HTTP client, as the
spec asks (Basic auth, `X-Experience-API-Version`). The statements themselves are the
recommender's (`recommender.import_statements`, `export_statements`, `push_statements`)."""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from api.backends import Backend
from api.settings import Settings
from kb.db.postgres import redact
from recommender import XAPI_VERSION, PushReport, SendError, push_statements

log = logging.getLogger(__name__)
TIMEOUT = 30.0
MAX_PAGES = 1000


class LrsClient:
    """One LRS endpoint (`.../xapi`), its statements resource at `{endpoint}/statements`."""

    def __init__(
        self, endpoint: str, username: str | None = None, password: str | None = None
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.where = redact(self.endpoint)
        self._headers = {"X-Experience-API-Version": XAPI_VERSION}
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"

    @classmethod
    def from_settings(cls, settings: Settings) -> LrsClient | None:
        if not settings.xapi_lrs_url:
            return None
        return cls(settings.xapi_lrs_url, settings.xapi_lrs_username, settings.xapi_lrs_password)

    @property
    def statements_url(self) -> str:
        if self.endpoint.endswith("/statements"):
            return self.endpoint
        return self.endpoint + "/statements"

    def _open(self, request: urllib.request.Request) -> bytes:
        for name, value in self._headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310
                return bytes(answer.read())
        except urllib.error.HTTPError as exc:
            text = exc.read(300).decode("utf-8", "replace").strip()
            raise SendError(
                f"the LRS at {self.where} answered {exc.code} {exc.reason}"
                + (f": {text}" if text else "")
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SendError(f"cannot reach the LRS at {self.where}: {reason}") from None

    def send(self, bodies: list[str]) -> None:
        """POST the statements (JSON texts) as one array; raise `SendError` unless taken."""
        data = ("[" + ",".join(bodies) + "]").encode()
        request = urllib.request.Request(self.statements_url, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        self._open(request)

    def fetch(self, url: str | None = None) -> list[Any]:
        """Every statement at `url` (default: the statements resource), following `more`
        (never to another host: the credentials go only where they were given for)."""
        statements: list[Any] = []
        start = url or self.statements_url
        first = _origin(start)
        next_url: str | None = start
        for _ in range(MAX_PAGES):
            if not next_url:
                break
            if _origin(next_url) != first:
                raise SendError(
                    f"the LRS at {self.where} points its next page to another host "
                    f"({redact(_origin(next_url))}); not followed"
                )
            page = json.loads(self._open(urllib.request.Request(next_url)))
            if isinstance(page, list):
                return statements + page
            if not isinstance(page, dict) or not isinstance(page.get("statements"), list):
                return statements + [page]  # one statement; the import will judge it
            statements += page["statements"]
            more = page.get("more") or None
            next_url = urllib.parse.urljoin(next_url, more) if more else None
        return statements


def _origin(url: str) -> str:
    split = urllib.parse.urlsplit(url)
    return f"{split.scheme.lower()}://{split.netloc.lower()}"


def client_for_url(url: str, settings: Settings) -> LrsClient:
    """A client for fetching `url`: with the LRS's credentials (KB_XAPI_LRS_USERNAME and
    _PASSWORD) only when `url` is on the host of KB_XAPI_LRS_URL, so that they never go to
    another host."""
    lrs = settings.xapi_lrs_url
    if lrs and _origin(lrs) == _origin(url):
        return LrsClient(url, settings.xapi_lrs_username, settings.xapi_lrs_password)
    return LrsClient(url)


def push_once(backend: Backend, settings: Settings, client: LrsClient) -> PushReport:
    """Enqueue our new statements and send what waits to the LRS, in order (docs/xapi.md)."""
    with backend.open_recommender_store() as store, backend.open_xapi_outbox() as outbox:
        return push_statements(store, outbox, client.send, base=settings.xapi_base)


class XapiPusher:
    """`kb worker`'s thread that pushes every `xapi_push_seconds` while an LRS is set."""

    def __init__(self, backend: Backend, settings: Settings, client: LrsClient) -> None:
        self._backend, self._settings, self._client = backend, settings, client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xapi-push", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = push_once(self._backend, self._settings, self._client)
                if report.error:
                    log.warning("xAPI push: %s (%d waiting)", report.error, report.waiting)
                elif report.sent:
                    log.info("xAPI push: %d statement(s) sent", report.sent)
            except Exception as exc:  # the database down: tried again next time
                log.warning("xAPI push failed: %s", redact(str(exc)))
            self._stop.wait(self._settings.xapi_push_seconds)
