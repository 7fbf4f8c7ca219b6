"""Database URLs as messages may show them: which strings name a PostgreSQL database, and the
same with any password replaced. Apart from `kb.db.postgres` so that what logs about a
database (`kb.db.outage`) needs neither psycopg nor the connection code."""

from __future__ import annotations

import re

URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(value: str | None) -> bool:
    return bool(value) and str(value).startswith(URL_SCHEMES)


def redact(url: str) -> str:
    """The connection string with any password replaced by ***, for messages and logs."""
    redacted = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", redacted)


__all__ = ["URL_SCHEMES", "is_database_url", "redact"]
