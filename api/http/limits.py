"""The service's rate limits built from the settings, over the backend's storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.ratelimit import RateLimits
from api.settings import Settings

if TYPE_CHECKING:
    from api.backends import Backend


def open_rate_limits(settings: Settings, backend: Backend) -> RateLimits | None:
    """The limits of KB_RATE_LIMIT_SEARCH/UPLOAD/INGEST, counted in the backend's storage
    (shared by the replicas with PostgreSQL); None, and no storage opened, when none is set."""
    values = {
        "search": settings.rate_limit_search,
        "upload": settings.rate_limit_upload,
        "ingest": settings.rate_limit_ingest,
    }
    if not any(values.values()):
        return None
    return RateLimits.from_settings(values, backend.open_rate_storage())  # type: ignore[arg-type]


def close_rate_limits(limits: RateLimits | None) -> None:
    close = getattr(limits.storage, "close", None) if limits is not None else None
    if callable(close):
        close()
