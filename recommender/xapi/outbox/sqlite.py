"""The xAPI outbox in the home folder's own file, `<home>/xapi.sqlite`."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType

from kb.db import sqlite as sqlite_files
from recommender.xapi.outbox.base import OutboxStatus, Waiting, actor_of

STORE_FILE = "xapi.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS xapi_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    statement_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    enqueued_at TEXT NOT NULL,
    sent_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    tried_at TEXT
)"""
_WAITING_INDEX = "CREATE INDEX IF NOT EXISTS xapi_outbox_waiting ON xapi_outbox (sent_at, seq)"


class SqliteOutbox:
    """`recommender.xapi.outbox.base.XapiOutbox` in SQLite; one connection per opener."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite_files.connect(path)
        with self._transaction():
            self._db.execute(_SCHEMA)
            self._db.execute(_WAITING_INDEX)

    @classmethod
    def open(cls, home: Path) -> SqliteOutbox:
        return cls(home / STORE_FILE)

    def _transaction(self) -> AbstractContextManager[None]:
        return sqlite_files.write_transaction(self._db)

    def known(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT statement_id FROM xapi_outbox")}

    def enqueue(self, statements: Sequence[tuple[str, str]], at: str) -> int:
        with self._transaction():
            before = self._db.total_changes
            self._db.executemany(
                "INSERT INTO xapi_outbox (statement_id, body, enqueued_at) VALUES (?, ?, ?)"
                " ON CONFLICT (statement_id) DO NOTHING",
                [(sid, body, at) for sid, body in statements],
            )
            return self._db.total_changes - before

    def waiting(self, limit: int) -> list[Waiting]:
        rows = self._db.execute(
            "SELECT seq, statement_id, body FROM xapi_outbox WHERE sent_at IS NULL"
            " ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [Waiting(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def mark_sent(self, seqs: Sequence[int], at: str) -> None:
        with self._transaction():
            self._db.executemany(
                "UPDATE xapi_outbox SET sent_at = ?, last_error = NULL WHERE seq = ?",
                [(at, seq) for seq in seqs],
            )

    def mark_failed(self, seqs: Sequence[int], error: str, at: str) -> None:
        with self._transaction():
            self._db.executemany(
                "UPDATE xapi_outbox SET attempts = attempts + 1, last_error = ?, tried_at = ?"
                " WHERE seq = ?",
                [(error, at, seq) for seq in seqs],
            )

    def status(self) -> OutboxStatus:
        waiting, sent, last_sent = self._db.execute(
            "SELECT count(*) FILTER (WHERE sent_at IS NULL), count(sent_at), max(sent_at)"
            " FROM xapi_outbox"
        ).fetchone()
        oldest = self._db.execute(
            "SELECT attempts, last_error FROM xapi_outbox WHERE sent_at IS NULL"
            " ORDER BY seq LIMIT 1"
        ).fetchone()
        return OutboxStatus(
            int(waiting),
            int(sent),
            int(oldest[0]) if oldest else 0,
            oldest[1] if oldest else None,
            last_sent,
        )

    def forget(self, employee: str) -> int:
        with self._transaction():
            rows = self._db.execute("SELECT seq, body FROM xapi_outbox").fetchall()
            seqs = [(seq,) for seq, body in rows if actor_of(body) == employee]
            self._db.executemany("DELETE FROM xapi_outbox WHERE seq = ?", seqs)
        return len(seqs)

    def drop_sent_before(self, at: str) -> int:
        with self._transaction():
            cursor = self._db.execute(
                "DELETE FROM xapi_outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (at,)
            )
        return cursor.rowcount

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteOutbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
