"""PostgreSQL plumbing shared by every part that keeps its state there: connections, the
schema migrations each part owns, and a connection string that is never shown whole.

The PostgreSQL backend is chosen by `KB_DATABASE_URL=postgresql://...` (or
`--database-url`). Each part (`kb`, the recommender, the ingest job queue) lists its own
numbered migrations; `upgrade` applies those not yet applied, under an advisory lock, so that
replicas starting at once never race to create a table. psycopg is imported here and in the
PostgreSQL modules only: the embedded backend never needs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb.db.urls import URL_SCHEMES, is_database_url, redact
from kb.errors import KBError

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

CONNECT_TIMEOUT = 10  # seconds
# A pool with no connection to lend after this long asks the server whether it is there
# (within PROBE_TIMEOUT_S), so that an outage is reported in about a second, not 30.
FIRST_WAIT_S = 1.0
PROBE_TIMEOUT_S = 3
# pg_advisory_xact_lock key for schema changes ("kbschema" in ASCII).
_SCHEMA_LOCK = 0x6B62736368656D61


class DatabaseError(KBError):
    """The database could not be reached or used; the message never holds a password."""


@dataclass(frozen=True)
class Migration:
    """One step of a part's schema: applied once, in order, in one transaction."""

    version: int
    sql: str


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise DatabaseError(
            "The PostgreSQL backend needs psycopg: pip install 'kb-training[postgres]'."
        ) from exc


def connect(url: str, *, autocommit: bool = True) -> psycopg.Connection:
    """One connection, with pgvector's types registered when the extension exists."""
    _require_psycopg()
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.Error as exc:
        raise DatabaseError(
            f"Cannot connect to {redact(url)}: {_first_line(exc)}. Check KB_DATABASE_URL "
            "(or --database-url) and that the server is running."
        ) from None
    _register_vector(conn)
    return conn


def open_pool(url: str, *, max_size: int = 8) -> ConnectionPool:
    """A pool of autocommit connections (threads of one process share it).

    Each connection is checked (an empty query, a fraction of a millisecond) before it is
    lent: after the database restarts, every pooled connection is dead, and without the check
    each would fail one request before the pool replaced it."""
    _require_psycopg()
    from psycopg_pool import ConnectionPool

    def configure(conn: psycopg.Connection) -> None:
        conn.autocommit = True
        _register_vector(conn)

    class FailFastPool(ConnectionPool):
        """Waits `FIRST_WAIT_S` for a connection, then asks the server itself: if it does
        not answer, the caller gets its reason at once (a psycopg OperationalError, which
        the service answers 503) instead of waiting out the pool's 30 s; if it does (the
        pool is merely busy), the caller waits the rest of the time as before."""

        def getconn(self, timeout: float | None = None) -> psycopg.Connection:
            from psycopg_pool import PoolTimeout

            total = self.timeout if timeout is None else timeout
            started = time.monotonic()
            try:
                return super().getconn(timeout=min(FIRST_WAIT_S, total))
            except PoolTimeout:
                if total <= FIRST_WAIT_S:
                    raise
            import psycopg

            psycopg.connect(url, connect_timeout=PROBE_TIMEOUT_S).close()  # raises if down
            return super().getconn(timeout=max(total - (time.monotonic() - started), 0.1))

    connect(url).close()  # an unreachable server or a wrong password: say so at once
    pool = FailFastPool(
        url,
        min_size=1,
        max_size=max_size,
        configure=configure,
        open=False,
        timeout=30.0,
        check=ConnectionPool.check_connection,
    )
    from kb.db.outage import watch_pool

    watch_pool(pool.name, redact(url))  # its reconnection warnings told once per outage
    try:
        pool.open(wait=True, timeout=15.0)
    except Exception as exc:  # PoolTimeout and friends: say where, not the password
        pool.close()
        raise DatabaseError(
            f"Cannot connect to {redact(url)}: {_first_line(exc)}. Check KB_DATABASE_URL "
            "(or --database-url) and that the server is running."
        ) from None
    return pool


def _register_vector(conn: psycopg.Connection) -> None:
    from pgvector.psycopg import register_vector

    try:
        register_vector(conn)
    except Exception:  # psycopg.ProgrammingError: the extension is not created yet
        pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return redact(text[0]) if text else type(exc).__name__


def upgrade(conn: psycopg.Connection, part: str, migrations: Sequence[Migration]) -> int:
    """Apply `part`'s migrations not yet applied, each in its own transaction, under a lock
    that serialises every process upgrading this database. Returns how many were applied."""
    applied = 0
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (part TEXT NOT NULL, "
            "version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
            "PRIMARY KEY (part, version))"
        )
    for migration in sorted(migrations, key=lambda m: m.version):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            done = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE part = %s AND version = %s",
                (part, migration.version),
            ).fetchone()
            if done:
                continue
            conn.execute(migration.sql.encode("utf-8"))
            conn.execute(
                "INSERT INTO schema_migrations (part, version) VALUES (%s, %s)",
                (part, migration.version),
            )
            applied += 1
    _register_vector(conn)
    return applied


def schema_version(conn: psycopg.Connection, part: str) -> int:
    """The last migration of `part` applied to this database (0: none)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if exists is None or exists[0] is None:
        return 0
    row = conn.execute(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE part = %s", (part,)
    ).fetchone()
    return int(row[0]) if row else 0


def require_schema(conn: psycopg.Connection, part: str, migrations: Sequence[Migration]) -> None:
    """Refuse a database whose schema for `part` is older or newer than this version's."""
    have = schema_version(conn, part)
    want = max(m.version for m in migrations)
    if have < want:
        raise DatabaseError(
            f"The database's {part} schema is at version {have}, this version of kb needs "
            f"{want}: run `kb db upgrade` (with the same KB_DATABASE_URL) first."
        )
    if have > want:
        raise DatabaseError(
            f"The database's {part} schema is at version {have}, newer than this version of "
            f"kb knows ({want}): upgrade kb on this machine."
        )


def ensure_schema(conn: psycopg.Connection, part: str, migrations: Sequence[Migration]) -> None:
    """`part` brought up to date (`upgrade`) and then checked (`require_schema`): what every
    PostgreSQL store does when it opens."""
    upgrade(conn, part, migrations)
    require_schema(conn, part, migrations)


def open_schema_pool(
    url: str,
    part: str,
    migrations: Sequence[Migration],
    *,
    max_size: int = 2,
    prepare: Callable[[psycopg.Connection], None] | None = None,
) -> ConnectionPool:
    """`open_pool`, then the schema part `part` made current on one of its connections
    (`ensure_schema`) and `prepare` run on that same connection (a store's one-off fill-in);
    if either fails the pool is closed before the error goes on, so a store that cannot
    start leaves no connections behind. What the audit log, the source registry and the
    search log each did in their constructor, written once."""
    pool = open_pool(url, max_size=max_size)
    try:
        with pool.connection() as conn:
            ensure_schema(conn, part, migrations)
            if prepare is not None:
                prepare(conn)
    except BaseException:
        pool.close()
        raise
    return pool


__all__ = [
    "URL_SCHEMES",
    "DatabaseError",
    "Migration",
    "connect",
    "is_database_url",
    "open_pool",
    "open_schema_pool",
    "redact",
    "require_schema",
    "schema_version",
    "upgrade",
]
