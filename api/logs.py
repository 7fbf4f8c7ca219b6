"""One logging set-up for every entry point (`kb ...`, `kb serve`, `kb worker`).

`configure_logging(settings)` puts one handler on the root logger, writing to stderr: human
lines (``2026-05-01 12:00:00,123 INFO api.access: GET /search 200 12.3 ms``) by default, or
one JSON object per line with ``KB_LOG_FORMAT=json``:

    {"time": "2026-05-01T12:00:00.123Z", "level": "INFO", "logger": "api.access",
     "message": "GET /search 200 12.3 ms", "request_id": "...", "key_id": "3f2a...",
     "route": "/search", "method": "GET", "status": 200, "latency_ms": 12.3}

Every line written while a request is served carries its `request_id` (the caller's
``X-Request-ID``, or one made up; `api.http.observability` echoes it back). The API key is
never logged: only its stable id (the first 16 hex digits of its SHA-256, as
`api.http.auth` computes it).

Calling it again replaces its own handler and leaves any other alone (pytest's capture, an
embedding application's), so it is safe in tests and in long-lived processes.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Literal

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# the request being served in this context (set by api.http.observability's middleware)
request_id_var: ContextVar[str | None] = ContextVar("kb_request_id", default=None)

# what every LogRecord has: the rest came from `extra=` and goes into the JSON object
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _Stderr(logging.StreamHandler):
    """A handler on whatever `sys.stderr` is at the time of each line (as logging's own last
    resort does), so that a swapped stream (click's test runner) is never written closed."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


class _RequestId(logging.Filter):
    """Gives each record the request id of the context it was logged in (if any)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = request_id_var.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601 with milliseconds), level, logger,
    message, then the record's extra fields (request_id, key_id, route, status, latency_ms,
    ...), and `exception` with the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def make_handler(log_format: LogFormat) -> logging.Handler:
    """The handler `configure_logging` installs (tests build one on a stream of their own)."""
    handler = _Stderr()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(_RequestId())
    handler.set_name("kb")
    return handler


def configure_logging(settings: Any, level: str | int | None = None) -> logging.Handler:
    """Log to stderr in `settings.log_format` ("text" or "json") at `level` (default:
    `settings.log_level`), on the root logger, so that the app's, uvicorn's and the
    libraries' lines all come out one way. Returns the handler installed."""
    log_format: LogFormat = getattr(settings, "log_format", "text")
    chosen = level if level is not None else getattr(settings, "log_level", "warning")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "kb"]:
        root.removeHandler(old)
    handler = make_handler(log_format)
    root.addHandler(handler)
    root.setLevel(chosen.upper() if isinstance(chosen, str) else chosen)
    return handler


__all__ = ["JsonFormatter", "configure_logging", "make_handler", "request_id_var"]
