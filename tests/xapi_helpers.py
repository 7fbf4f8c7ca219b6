"""A small Learning Record Store for the tests: a real HTTP server on loopback that stores
the statements posted to `/xapi/statements` (in the order received, one per id, as an LRS
does), checks the version header and Basic credentials, and can be told to fail the next N
requests (503), so that retries and ordering are tested over a real connection."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USER, PASSWORD = "kb-push", "lrs-secret"


class LrsStub:
    def __init__(self) -> None:
        self.statements: list[dict[str, Any]] = []
        self.requests = 0
        self.fail_next = 0
        self.lock = threading.Lock()
        self.url = ""

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {s["id"]: s for s in self.statements}


def _handler(lrs: LrsStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: Any = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Experience-API-Version", "1.0.3")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _allowed(self) -> bool:
            token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {token}":
                self._answer(401, {"error": "bad credentials"})
                return False
            if not self.headers.get("X-Experience-API-Version", "").startswith("1.0"):
                self._answer(400, {"error": "X-Experience-API-Version missing"})
                return False
            return True

        def do_POST(self) -> None:
            with lrs.lock:
                lrs.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if not self._allowed():
                    return
                if lrs.fail_next > 0:
                    lrs.fail_next -= 1
                    self._answer(503, {"error": "the LRS is busy"})
                    return
                if self.path.rstrip("/") != "/xapi/statements":
                    self._answer(404, {"error": "no such resource"})
                    return
                posted = json.loads(body)
                posted = posted if isinstance(posted, list) else [posted]
                known = {s["id"] for s in lrs.statements}
                for statement in posted:
                    if statement["id"] not in known:
                        lrs.statements.append(statement)
                        known.add(statement["id"])
                self._answer(200, [s["id"] for s in posted])

        def do_GET(self) -> None:
            with lrs.lock:
                if not self._allowed():
                    return
                page = 2
                start = int(self.path.partition("start=")[2] or 0)
                chunk = lrs.statements[start : start + page]
                more = (
                    f"/xapi/statements?start={start + page}"
                    if start + page < len(lrs.statements)
                    else ""
                )
                self._answer(200, {"statements": chunk, "more": more})

    return Handler


@contextmanager
def running_lrs() -> Iterator[LrsStub]:
    lrs = LrsStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(lrs))
    lrs.url = f"http://127.0.0.1:{server.server_address[1]}/xapi"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield lrs
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
