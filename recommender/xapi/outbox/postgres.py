"""The xAPI outbox in PostgreSQL: `rec_xapi_outbox`, the "xapi" part's migrations."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from kb.db.postgres import Migration, connect, ensure_schema, redact
from recommender.xapi.outbox.base import OutboxStatus, Waiting, actor_of

PART = "xapi"

# Append-only: a change to the schema is a new Migration, never an edit of an applied one.
MIGRATIONS = (
    Migration(
        1,
        """
CREATE TABLE rec_xapi_outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    statement_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    enqueued_at TEXT NOT NULL,
    sent_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    tried_at TEXT
);
CREATE INDEX rec_xapi_outbox_waiting ON rec_xapi_outbox (seq) WHERE sent_at IS NULL;
""",
    ),
)


class PgOutbox:
    """`recommender.xapi.outbox.base.XapiOutbox` in PostgreSQL (one connection, autocommit;
    each write its own transaction)."""

    def __init__(self, database_url: str) -> None:
        self._where = redact(database_url)
        self._db = connect(database_url)
        try:
            ensure_schema(self._db, PART, MIGRATIONS)
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"PgOutbox({self._where!r})"

    def known(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT statement_id FROM rec_xapi_outbox")}

    def enqueue(self, statements: Sequence[tuple[str, str]], at: str) -> int:
        added = 0
        with self._db.transaction():
            for sid, body in statements:
                cursor = self._db.execute(
                    "INSERT INTO rec_xapi_outbox (statement_id, body, enqueued_at)"
                    " VALUES (%s, %s, %s) ON CONFLICT (statement_id) DO NOTHING",
                    (sid, body, at),
                )
                added += cursor.rowcount
        return added

    def waiting(self, limit: int) -> list[Waiting]:
        rows = self._db.execute(
            "SELECT seq, statement_id, body FROM rec_xapi_outbox WHERE sent_at IS NULL"
            " ORDER BY seq LIMIT %s",
            (limit,),
        ).fetchall()
        return [Waiting(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def mark_sent(self, seqs: Sequence[int], at: str) -> None:
        self._db.execute(
            "UPDATE rec_xapi_outbox SET sent_at = %s, last_error = NULL WHERE seq = ANY(%s)",
            (at, list(seqs)),
        )

    def mark_failed(self, seqs: Sequence[int], error: str, at: str) -> None:
        self._db.execute(
            "UPDATE rec_xapi_outbox SET attempts = attempts + 1, last_error = %s, tried_at = %s"
            " WHERE seq = ANY(%s)",
            (error, at, list(seqs)),
        )

    def status(self) -> OutboxStatus:
        row = self._db.execute(
            "SELECT count(*) FILTER (WHERE sent_at IS NULL), count(sent_at), max(sent_at)"
            " FROM rec_xapi_outbox"
        ).fetchone()
        assert row is not None
        oldest = self._db.execute(
            "SELECT attempts, last_error FROM rec_xapi_outbox WHERE sent_at IS NULL"
            " ORDER BY seq LIMIT 1"
        ).fetchone()
        return OutboxStatus(
            int(row[0]),
            int(row[1]),
            int(oldest[0]) if oldest else 0,
            oldest[1] if oldest else None,
            row[2],
        )

    def forget(self, employee: str) -> int:
        with self._db.transaction():
            rows = self._db.execute("SELECT seq, body FROM rec_xapi_outbox FOR UPDATE").fetchall()
            seqs = [int(seq) for seq, body in rows if actor_of(body) == employee]
            if seqs:
                self._db.execute("DELETE FROM rec_xapi_outbox WHERE seq = ANY(%s)", (seqs,))
        return len(seqs)

    def drop_sent_before(self, at: str) -> int:
        cursor = self._db.execute(
            "DELETE FROM rec_xapi_outbox WHERE sent_at IS NOT NULL AND sent_at < %s", (at,)
        )
        return cursor.rowcount

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PgOutbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
