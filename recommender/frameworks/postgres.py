"""The framework and its mapping in PostgreSQL: `PgFrameworkStore`, the same contract as
`SqliteFrameworkStore`, in `fw_` tables of the kb's database (schema part "frameworks",
listed by `api.backends`). Values are stored as the SQLite store stores them (JSON as text)."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from kb.db.postgres import DatabaseError, Migration, connect, ensure_schema, is_database_url, redact
from recommender.frameworks.base import (
    DECISION_COLUMNS,
    concept_rows,
    decision_from_row,
    decision_params,
    framework_from_rows,
    framework_meta,
    gone_decisions,
    proposal_from_row,
    proposal_rows,
)
from recommender.frameworks.types import Decision, Framework, Proposal

PART = "frameworks"

# Append-only: a change to the schema is a new Migration, never an edit of an applied one.
MIGRATIONS = (
    Migration(
        1,
        """
CREATE TABLE fw_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE fw_concepts (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL);
CREATE TABLE fw_proposals (position INTEGER PRIMARY KEY, skill TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL);
CREATE TABLE fw_decisions (
    skill TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('approved', 'rejected')),
    framework_id TEXT,
    decided_at TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT ''
);
""",
    ),
)


class PgFrameworkStore:
    """Owns one PostgreSQL connection (autocommit; a transaction per change). Opening applies
    the part's migrations not yet applied and refuses a schema newer than this code."""

    def __init__(self, database_url: str) -> None:
        self._where = redact(database_url)
        if not is_database_url(database_url):
            raise DatabaseError(
                f"{self._where} is not a PostgreSQL URL: give "
                "postgresql://user:password@host:port/database (KB_DATABASE_URL)."
            )
        self._db = connect(database_url)
        try:
            ensure_schema(self._db, PART, MIGRATIONS)
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"PgFrameworkStore({self._where!r})"

    def save_framework(self, framework: Framework, imported_at: str) -> list[str]:
        with self._db.transaction():
            self._db.execute("LOCK TABLE fw_concepts IN EXCLUSIVE MODE")  # one import at a time
            gone = gone_decisions(self.decisions().values(), framework)
            with self._db.cursor() as cursor:
                if gone:
                    cursor.executemany(
                        "DELETE FROM fw_decisions WHERE skill = %s", [(s,) for s in gone]
                    )
                for table in ("fw_concepts", "fw_proposals", "fw_meta"):
                    cursor.execute(f"DELETE FROM {table}")  # constant names
                cursor.executemany(
                    "INSERT INTO fw_concepts (position, id, data) VALUES (%s, %s, %s)",
                    concept_rows(framework),
                )
                cursor.executemany(
                    "INSERT INTO fw_meta (key, value) VALUES (%s, %s)",
                    framework_meta(framework, imported_at),
                )
        return gone

    def framework(self) -> Framework | None:
        meta: dict[str, str] = dict(self._db.execute("SELECT key, value FROM fw_meta").fetchall())
        rows = self._db.execute("SELECT data FROM fw_concepts ORDER BY position").fetchall()
        return framework_from_rows(meta, rows)

    def save_proposals(self, proposals: Sequence[Proposal]) -> None:
        with self._db.transaction(), self._db.cursor() as cursor:
            cursor.execute("DELETE FROM fw_proposals")
            rows = proposal_rows(proposals)
            if rows:
                cursor.executemany(
                    "INSERT INTO fw_proposals (position, skill, data) VALUES (%s, %s, %s)", rows
                )

    def proposals(self) -> list[Proposal]:
        rows = self._db.execute("SELECT skill, data FROM fw_proposals ORDER BY position").fetchall()
        return [proposal_from_row(skill, data) for skill, data in rows]

    def decide(self, decision: Decision) -> None:
        self._db.execute(
            f"INSERT INTO fw_decisions ({DECISION_COLUMNS}) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (skill) DO UPDATE SET status = EXCLUDED.status,"
            " framework_id = EXCLUDED.framework_id, decided_at = EXCLUDED.decided_at,"
            " decided_by = EXCLUDED.decided_by",
            decision_params(decision),
        )

    def undecide(self, skill: str) -> bool:
        cursor = self._db.execute("DELETE FROM fw_decisions WHERE skill = %s", (skill,))
        return cursor.rowcount > 0

    def decisions(self) -> dict[str, Decision]:
        rows = self._db.execute(
            f"SELECT {DECISION_COLUMNS} FROM fw_decisions ORDER BY skill"
        ).fetchall()
        return {row[0]: decision_from_row(row) for row in rows}

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PgFrameworkStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
