"""A private PostgreSQL for the tests: pgserver's PostgreSQL 16 with pgvector, in a temporary
folder, with a fresh database per test (`CREATE DATABASE` is quick; no test sees another's)."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def start_private_server(folder: Path) -> tuple[Any, str]:
    """(server, URL of its `postgres` database); raises with the reason if it cannot start."""
    try:
        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError as exc:
        raise RuntimeError(
            "The PostgreSQL tests need pgserver (a dev dependency): run `make install`."
        ) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(folder, cleanup_mode="stop")
    except Exception as exc:
        raise RuntimeError(f"The private PostgreSQL server did not start: {exc}") from exc
    return server, server.get_uri()


def database_in(url: str, name: str) -> str:
    """`url` pointing at the database `name` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def fresh_database(server_url: str) -> str:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # a generated identifier, not user input
    return database_in(server_url, name)
