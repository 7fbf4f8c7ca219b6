"""The HTTP routes, one module per area; `create_app` includes their routers."""

from __future__ import annotations

from typing import Any

from api.http.models import ErrorResponse

_DESCRIPTIONS = {
    400: "The request could not be read",
    401: "No API key, or an unknown one",
    403: "The key's role does not allow this",
    404: "Not found (or not visible to this key)",
    409: "The service is not ready for this (e.g. no catalogue loaded)",
    413: "An upload or body over a configured limit",
    415: "An unsupported file type (the file is named)",
    422: "Invalid input; the message and `fields` or `faults` say what to fix",
    429: "Over the key's rate limit (KB_RATE_LIMIT_*); `Retry-After` says when to retry",
    503: "The database is unreachable, or the service is not ready; retry shortly",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses, all with the one error shape."""
    return {
        code: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(code, "Error")}
        for code in codes
    }
