"""One error shape for every failure the API answers, so that clients parse a single format.

Every error body is ``{"error": {"status": int, "code": str, "message": str, ...}}``: the
message is a sentence saying what to fix; extra keys (``fields``, ``faults``, ``file``) carry
the details a program may want. Request validation errors, unknown routes, body-size limits
and the knowledge base's and recommender's own errors are all mapped to it here.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ingest.errors import UploadRefused
from kb import EmptyQueryError, EmptyStoreError, KBError, NotFoundError
from kb.db.postgres import DatabaseError, redact
from recommender import (
    CatalogInvalidError,
    InvalidValueError,
    NoCatalogError,
    RecommenderError,
    UnknownIdError,
)

log = logging.getLogger("api")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


class ApiError(HTTPException):
    """An answer other than success: a status, a sentence for the user, and optional details.

    A subclass of Starlette's HTTPException so that it also passes untouched through
    FastAPI's body parsing (which turns any other exception there into a bare 400).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.message = message
        self.details = details


def error_payload(status: int, message: str, **details: Any) -> dict[str, Any]:
    return {
        "error": {
            "status": status,
            "code": CODES.get(status, "error"),
            "message": message,
            **details,
        }
    }


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, **details: Any
) -> JSONResponse:
    return JSONResponse(error_payload(status, message, **details), status, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "path", "body", "header", "cookie"):
        where, rest = parts[0], parts[1:]
        return f"{where} {'.'.join(rest)}" if rest else where
    return ".".join(parts)


def _validation_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {"location": _location(err.get("loc", ())), "message": str(err.get("msg", "invalid"))}
        for err in exc.errors()
    ]
    summary = "; ".join(f"{f['location']}: {f['message']}" for f in fields[:5])
    if len(fields) > 5:
        summary += f"; and {len(fields) - 5} more"
    return error_response(
        422, f"The request is invalid ({summary}); see /docs for what it accepts.", fields=fields
    )


_DEFAULT_MESSAGES = {
    404: "No such route: {method} {path}; see /docs for the endpoints.",
    405: "{method} is not allowed on {path}; see /docs for the methods it accepts.",
}


def _http_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if isinstance(exc, ApiError):
        return error_response(status, exc.message, headers or None, **exc.details)
    if status in _DEFAULT_MESSAGES and exc.detail in ("Not Found", "Method Not Allowed"):
        message = _DEFAULT_MESSAGES[status].format(method=request.method, path=request.url.path)
    else:
        message = str(exc.detail)
        cause = exc.__cause__
        if status == 400 and cause is not None and str(cause):
            message = f"{message}: {cause}"  # e.g. multipart limits: "Too many files. ..."
    return error_response(status, message, headers or None)


def _recommender_response(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, UnknownIdError):
        return error_response(404, str(exc), kind=exc.kind, id=exc.ident)
    if isinstance(exc, NoCatalogError):
        return error_response(
            409, "No catalogue loaded yet: load one with PUT /catalog (organisers), then retry."
        )
    if isinstance(exc, CatalogInvalidError):
        shown = "" if exc.total == len(exc.faults) else f" (the first {len(exc.faults)} listed)"
        return error_response(
            422,
            f"The catalogue has {exc.total} fault(s){shown} and nothing was loaded; fix them "
            "all and upload it again.",
            faults=[f.to_dict() for f in exc.faults],
            total_faults=exc.total,
        )
    if isinstance(exc, InvalidValueError):
        return error_response(422, str(exc))
    return error_response(400, str(exc))


# Rule kinds of refused uploads, as HTTP statuses.
_UPLOAD_STATUS = {"too_large": 413, "unsupported": 415, "invalid": 422}


def _upload_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UploadRefused)
    details: dict[str, Any] = {} if exc.file is None else {"file": exc.file}
    return error_response(_UPLOAD_STATUS[exc.kind], exc.message, **details)


# How long a client is told to wait when the database is away (a restart takes seconds).
DATABASE_RETRY_AFTER_S = 5


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return redact(lines[0].strip()) if lines else type(exc).__name__


def _database_response(request: Request, exc: Exception) -> JSONResponse:
    """The database is down, restarting or out of reach (psycopg's OperationalError, a pool
    that timed out waiting for a connection, the stores' own DatabaseError): 503 naming the
    database, with Retry-After; one warning line in the log, no traceback, since it is not a
    bug. Nothing is kept broken: the pools check a connection before lending it
    (`kb.db.postgres.open_pool`), so the first request after the database returns succeeds."""
    reason = _first_line(exc)
    log.warning(
        "database unreachable on %s %s: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        reason,
    )
    return error_response(
        503,
        f"The database is unreachable: {reason}; retry shortly.",
        {"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def _kb_response(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, DatabaseError):
        return _database_response(request, exc)
    if isinstance(exc, EmptyQueryError):
        return error_response(422, str(exc))
    if isinstance(exc, NotFoundError):
        return error_response(404, str(exc))
    if isinstance(exc, EmptyStoreError):
        return error_response(409, "The knowledge base is empty: ingest material first.")
    log.error("knowledge base error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(503, f"The knowledge base is unavailable: {exc}")


def _unexpected_response(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "Internal error: this is a bug in the service, not in your request; it was logged."
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure through the one error shape."""
    app.add_exception_handler(RequestValidationError, _validation_response)
    app.add_exception_handler(HTTPException, _http_response)
    app.add_exception_handler(RecommenderError, _recommender_response)
    app.add_exception_handler(KBError, _kb_response)
    app.add_exception_handler(UploadRefused, _upload_response)
    try:  # the PostgreSQL backend's driver, when installed: its connection errors are a 503
        import psycopg
    except ImportError:  # pragma: no cover - depends on the installation
        pass
    else:
        # handled here, not by the catch-all below, which Starlette follows with a traceback
        app.add_exception_handler(psycopg.OperationalError, _database_response)
    app.add_exception_handler(Exception, _unexpected_response)
