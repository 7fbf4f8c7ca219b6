"""The framework and its mapping in SQLite: `<home>/frameworks.sqlite`, its own file beside the
catalogue's, so that neither's schema moves for the other."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from kb.db import sqlite as sqlite_files
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

STORE_FILE = "frameworks.sqlite"
SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS fw_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fw_concepts (position INTEGER PRIMARY KEY, id TEXT NOT NULL"
    " UNIQUE, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fw_proposals (position INTEGER PRIMARY KEY, skill TEXT NOT NULL"
    " UNIQUE, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fw_decisions (skill TEXT PRIMARY KEY, status TEXT NOT NULL CHECK"
    " (status IN ('approved', 'rejected')), framework_id TEXT, decided_at TEXT NOT NULL,"
    " decided_by TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS fw_schema (version INTEGER NOT NULL)",
)


class SqliteFrameworkStore:
    """Owns one SQLite connection; safe to open many times over the same home folder."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite_files.connect(path)
        with sqlite_files.write_transaction(self._db):
            for statement in _SCHEMA:
                self._db.execute(statement)
            if self._db.execute("SELECT count(*) FROM fw_schema").fetchone()[0] == 0:
                self._db.execute("INSERT INTO fw_schema (version) VALUES (?)", (SCHEMA_VERSION,))

    @classmethod
    def open(cls, home: Path) -> SqliteFrameworkStore:
        return cls(home / STORE_FILE)

    def save_framework(self, framework: Framework, imported_at: str) -> list[str]:
        with sqlite_files.write_transaction(self._db):
            gone = gone_decisions(self.decisions().values(), framework)
            self._db.executemany("DELETE FROM fw_decisions WHERE skill = ?", [(s,) for s in gone])
            for table in ("fw_concepts", "fw_proposals", "fw_meta"):
                self._db.execute(f"DELETE FROM {table}")  # constant names
            self._db.executemany(
                "INSERT INTO fw_concepts (position, id, data) VALUES (?, ?, ?)",
                concept_rows(framework),
            )
            self._db.executemany(
                "INSERT INTO fw_meta (key, value) VALUES (?, ?)",
                framework_meta(framework, imported_at),
            )
        return gone

    def framework(self) -> Framework | None:
        meta = dict(self._db.execute("SELECT key, value FROM fw_meta").fetchall())
        rows = self._db.execute("SELECT data FROM fw_concepts ORDER BY position").fetchall()
        return framework_from_rows(meta, rows)

    def save_proposals(self, proposals: Sequence[Proposal]) -> None:
        with sqlite_files.write_transaction(self._db):
            self._db.execute("DELETE FROM fw_proposals")
            self._db.executemany(
                "INSERT INTO fw_proposals (position, skill, data) VALUES (?, ?, ?)",
                proposal_rows(proposals),
            )

    def proposals(self) -> list[Proposal]:
        rows = self._db.execute("SELECT skill, data FROM fw_proposals ORDER BY position")
        return [proposal_from_row(skill, data) for skill, data in rows.fetchall()]

    def decide(self, decision: Decision) -> None:
        with sqlite_files.write_transaction(self._db):
            self._db.execute(
                f"INSERT INTO fw_decisions ({DECISION_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(skill) DO UPDATE SET status = excluded.status,"
                " framework_id = excluded.framework_id, decided_at = excluded.decided_at,"
                " decided_by = excluded.decided_by",
                decision_params(decision),
            )

    def undecide(self, skill: str) -> bool:
        with sqlite_files.write_transaction(self._db):
            cursor = self._db.execute("DELETE FROM fw_decisions WHERE skill = ?", (skill,))
        return cursor.rowcount > 0

    def decisions(self) -> dict[str, Decision]:
        rows = self._db.execute(f"SELECT {DECISION_COLUMNS} FROM fw_decisions ORDER BY skill")
        return {row[0]: decision_from_row(row) for row in rows.fetchall()}

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteFrameworkStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
