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
    import psycopg

    # A throwaway server: no durability, so that creating a database per test and the
    # shutdown's checkpoint do not wait on the disk.
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")  # constants, not input
        conn.execute("SELECT pg_reload_conf()")
    return server, server.get_uri()


def stop_private_server(server: Any) -> None:
    """Stop at once (its data is thrown away): no shutdown checkpoint to wait for."""
    from pgserver import pg_ctl

    try:
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)
    except Exception:  # already stopped, or pg_ctl failed: pgserver's own way
        pass
    server.cleanup()


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


def postings_in_step(url: str) -> None:
    """The postings (kb_postings) hold exactly each stored chunk's stems with their frequency
    and the chunk's length, as `kb.store.lexical.postgres.chunk_lexemes` makes them from its
    text."""
    import psycopg

    from kb.store.lexical.postgres import chunk_lexemes

    with psycopg.connect(url) as conn:
        stored = set(conn.execute("SELECT lexeme, chunk_id, tf, n_words FROM kb_postings"))
        chunks = conn.execute("SELECT chunk_id, heading, body FROM kb_chunks").fetchall()
    expected = set()
    for chunk_id, heading, body in chunks:
        words = chunk_lexemes(heading, body)
        expected |= {(lex, chunk_id, tf, words.n_words) for lex, tf in words.frequencies.items()}
    assert stored == expected, (len(stored - expected), len(expected - stored))


def pause_server(server: Any) -> None:
    """Stop the server at once, keeping its data (a database outage); `resume_server` starts
    it again on the same socket, so every URL stays valid."""
    from pgserver import pg_ctl

    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)


def resume_server(server: Any) -> None:
    """Start a server stopped by `pause_server` again, as pgserver started it."""
    server.ensure_postgres_running()
