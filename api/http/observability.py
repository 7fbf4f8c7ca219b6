"""What operators see of the HTTP service: a log line per request and `GET /metrics`.

- `RequestLog` (ASGI middleware, outermost): takes the caller's ``X-Request-ID`` (or makes
  one), echoes it in the response, and after the response logs one line on ``api.access``
  with the request id, the key's stable id (never the key), the route's template, the
  method, the status and the latency in milliseconds. Every other line logged while the
  request is served carries the same request id (`api.logs.request_id_var`).
- `install_observability`: prometheus-fastapi-instrumentator's HTTP metrics and our own
  (`api.metrics`) on one registry, served at ``/metrics`` as `KB_METRICS` says: `off` (no
  route, 404), `organiser` (the default: an organiser or admin key, else 401/403), `open`
  (no key: for a scrape from a private network only).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import request_id_var
from api.metrics import Metrics

if TYPE_CHECKING:
    from api.settings import Settings
    from ingest.jobs.base import JobQueue
    from kb import KnowledgeBase

access_log = logging.getLogger("api.access")

REQUEST_ID_HEADER = b"x-request-id"
# a caller's id is kept if it looks like one (no spaces or control characters, not too
# long); anything else is replaced, so that a log line can never be forged through it
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == REQUEST_ID_HEADER:
            given = value.decode("latin-1").strip()
            if _SAFE_ID.match(given):
                return given
            break
    return uuid.uuid4().hex


class RequestLog:
    """One ``api.access`` line per HTTP request, and the request id on every line and in the
    ``X-Request-ID`` response header. The key id comes from the auth dependency
    (`api.http.deps.get_principal` leaves it in the request's state); requests it did not
    identify (no key, a wrong key, `/health`) have none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER
                ]
                headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            latency_ms = round((time.perf_counter() - start) * 1000.0, 2)
            route = getattr(scope.get("route"), "path", None) or "(unmatched)"
            method = scope.get("method", "")
            key_id = state.get("key_id")
            access_log.info(
                "%s %s %d %.1f ms",
                method,
                route,
                status,
                latency_ms,
                extra={
                    "request_id": request_id,
                    "key_id": key_id,
                    "route": route,
                    "method": method,
                    "status": status,
                    "latency_ms": latency_ms,
                },
            )
            request_id_var.reset(token)


def install_observability(app: FastAPI, settings: Settings) -> Metrics:
    """The request log, the HTTP metrics and `/metrics` on `app`, as `settings.metrics` says;
    returns the Metrics, which the lifespan attaches to the knowledge base
    (`attach_metrics`). With metrics off, nothing is counted either."""
    metrics = Metrics()
    app.state.metrics = metrics
    if settings.metrics != "off":
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from prometheus_fastapi_instrumentator import Instrumentator

        Instrumentator(
            registry=metrics.registry,
            excluded_handlers=["/metrics"],
            should_group_status_codes=False,
        ).instrument(app)

        def scrape() -> Response:
            return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

        description = "Prometheus metrics (docs/operations.md). " + (
            "No key (KB_METRICS=open)." if settings.metrics == "open" else "Organiser keys."
        )
        if settings.metrics == "open":
            app.add_api_route(
                "/metrics",
                scrape,
                methods=["GET"],
                include_in_schema=False,
                description=description,
            )
        else:
            from fastapi import Depends

            from api.http.deps import require_organiser

            app.add_api_route(
                "/metrics",
                scrape,
                methods=["GET"],
                include_in_schema=False,
                dependencies=[Depends(require_organiser)],
                description=description,
            )
    app.add_middleware(RequestLog)  # added last: outermost, so it times everything
    return metrics


def attach_metrics(app: FastAPI, knowledge_base: KnowledgeBase, jobs: JobQueue) -> None:
    """From the lifespan: count `knowledge_base`'s searches and `jobs`' outcomes (unless
    metrics are off)."""
    if app.state.services.settings.metrics != "off":
        app.state.metrics.attach(knowledge_base, jobs)


def detach_metrics(app: FastAPI) -> None:
    app.state.metrics.detach()


__all__ = ["RequestLog", "attach_metrics", "detach_metrics", "install_observability"]
