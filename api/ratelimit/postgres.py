"""Rate-limit counts in the PostgreSQL database the replicas share: a `limits` storage.

One row per counter (``LIMITER/<action>/<key id>/<amount>/<multiple>/<granularity>``): its
hits and when its window ends. A hit is one statement, atomic under concurrency (``INSERT ...
ON CONFLICT DO UPDATE ... RETURNING``): a window that has ended starts again at this hit, so
two replicas can never both take the last place. Time is the database's clock
(``clock_timestamp()``), so replicas whose clocks differ still agree on the windows.

The table is UNLOGGED and created when the storage opens (``CREATE ... IF NOT EXISTS`` under
an advisory lock), not by a migration: counts a few seconds old are worthless after a crash,
and an unlogged table costs no WAL per search. `limits` uses fixed windows over it (see
`api.ratelimit.RateLimits`).
"""

from __future__ import annotations

from typing import Any

from limits.storage import Storage

from kb.db.postgres import open_pool

TABLE = "kb_rate_limits"
# pg_advisory_xact_lock key for creating the table ("kbrates" in ASCII)
_CREATE_LOCK = 0x6B627261746573

_CREATE = f"""
CREATE UNLOGGED TABLE IF NOT EXISTS {TABLE} (
    key TEXT PRIMARY KEY,
    hits INTEGER NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL  -- seconds since the epoch, the database's clock
)"""

_NOW = "extract(epoch FROM clock_timestamp())"

_INCR = f"""
INSERT INTO {TABLE} AS r (key, hits, expires_at) VALUES (%(key)s, %(amount)s, {_NOW} + %(expiry)s)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN r.expires_at <= {_NOW} THEN EXCLUDED.hits ELSE r.hits + EXCLUDED.hits END,
    expires_at = CASE WHEN r.expires_at <= {_NOW} THEN EXCLUDED.expires_at ELSE r.expires_at END
RETURNING hits"""


class PgRateStorage(Storage):
    """`limits` fixed-window storage over one table of the service's database.

    Thread-safe (a small pool of its own). Errors are psycopg's own, so that the service's
    database-outage answer (503, ``Retry-After``) covers them as any other query.
    """

    STORAGE_SCHEME = None  # built by api.backends, never from a storage URI

    def __init__(self, database_url: str, *, pool_size: int = 4) -> None:
        super().__init__()
        self._pool = open_pool(database_url, max_size=pool_size)
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK,))
            conn.execute(_CREATE)
        self._sweep_every = 1000
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        import psycopg

        return psycopg.Error

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(_INCR, {"key": key, "amount": amount, "expiry": expiry}).fetchone()
            self._hits += 1
            if self._hits % self._sweep_every == 0:  # counters of keys gone quiet
                conn.execute(f"DELETE FROM {TABLE} WHERE expires_at < {_NOW} - 3600")
        assert row is not None
        return int(row[0])

    def get(self, key: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT hits FROM {TABLE} WHERE key = %s AND expires_at > {_NOW}", (key,)
            ).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT GREATEST(expires_at, {_NOW}) FROM {TABLE} WHERE key = %s", (key,)
            ).fetchone()
            if row is None:
                row = conn.execute(f"SELECT {_NOW}").fetchone()
        assert row is not None
        return float(row[0])

    def check(self) -> bool:
        try:
            with self._pool.connection() as conn:
                conn.execute("SELECT 1")
        except Exception:
            return False
        return True

    def reset(self) -> int | None:
        with self._pool.connection() as conn:
            return conn.execute(f"DELETE FROM {TABLE}").rowcount

    def clear(self, key: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(f"DELETE FROM {TABLE} WHERE key = %s", (key,))

    def close(self) -> None:
        self._pool.close()

    def __getstate__(self) -> dict[str, Any]:  # pragma: no cover - never pickled
        raise TypeError("PgRateStorage holds a connection pool and cannot be pickled")
