"""The backends, in one place: SQLite in a home folder (embedded, the default) or PostgreSQL.

A `Backend` opens everything that keeps state (the document store and with it the knowledge
base, the search log, the recommender's state, the ingest job queue) and lists the schema
migrations it owns. The CLI, `kb serve`, `kb worker` and the tests get all of these from the
backend that `open_backend` chooses, so this module is the only one that branches on where
the state is kept; each package below holds its contract (`kb.store.base`,
`kb.searchlog.base`, `recommender.state.base`, `ingest.jobs.base`) and one module per backend.

A third backend is one class here (its modules in `kb/store/`, `kb/searchlog/`,
`recommender/state/` and `ingest/jobs/`), one entry in `BACKENDS`, and one in the contract
tests' list (`tests/contracts/`). Heavy modules (faiss, psycopg, the recommender) are imported
when a backend first opens something, so choosing one costs nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from kb.db.postgres import URL_SCHEMES, DatabaseError, Migration, redact
from kb.errors import KBError

if TYPE_CHECKING:
    import sqlite3

    from limits.storage import Storage

    from ingest import Limits
    from ingest.jobs.base import JobQueue, SharedJobQueue
    from ingest.jobs.postgres import PgJobManager
    from kb import Embedder, KnowledgeBase
    from kb.audit.base import AuditLog
    from kb.searchlog.base import SearchLog
    from kb.sources.base import SourceRegistry
    from kb.store.base import DocumentStore
    from recommender import FrameworkStore, RecommenderStore, XapiOutbox


class RecommenderSessions(Protocol):
    """The recommender's store for one use at a time (a request, a command): opened per use
    where opening is cheap (SQLite), borrowed from a pool where it is not (PostgreSQL)."""

    def session(self) -> AbstractContextManager[RecommenderStore]: ...

    def close(self) -> None: ...


class Backend(ABC):
    """Where one deployment keeps its state; `home` is the kb home folder, which keeps what is
    local to a machine (API keys, spooled uploads) whatever the backend."""

    name: ClassVar[str]  # what the store's manifest records: "sqlite", "postgresql"
    url_schemes: ClassVar[tuple[str, ...]] = ()  # a database URL starting so chooses it
    shares_job_queue: ClassVar[bool]  # other processes (`kb worker`, replicas) run its jobs
    reembeds_in_place: ClassVar[bool]  # `kb reembed` can move its vectors to another variant

    def __init__(self, home: Path) -> None:
        self.home = home

    @classmethod
    def at_url(cls, home: Path, database_url: str) -> Backend:
        """This backend at `database_url` (for those chosen by a URL: see `url_schemes`)."""
        raise DatabaseError(f"The {cls.name} backend is not chosen by a database URL.")

    @abstractmethod
    def open_store(self) -> DocumentStore:
        """The document store: documents, chunks, vectors, the lexical index, the manifest."""

    @abstractmethod
    def open_search_log(self) -> SearchLog: ...

    @abstractmethod
    def open_audit_log(self) -> AuditLog:
        """The audit trail (kb.audit, docs/audit.md): append-only, hash-chained."""

    @abstractmethod
    def open_source_registry(self) -> SourceRegistry:
        """The named sources and their sync records (kb.sources, docs/sources.md)."""

    @abstractmethod
    def open_recommender_store(self) -> RecommenderStore: ...

    @abstractmethod
    def recommender_sessions(self) -> RecommenderSessions:
        """The recommender's store for a server, which uses it from many threads."""

    def open_framework_store(self) -> FrameworkStore:
        """The skills framework and its mapping (recommender.frameworks, docs/frameworks.md);
        opened per use (one request, one command)."""
        raise KBError(f"The {self.name} backend keeps no skills framework.")

    @abstractmethod
    def open_xapi_outbox(self) -> XapiOutbox:
        """The statements waiting for the Learning Record Store (docs/xapi.md)."""

    def open_job_queue(
        self,
        knowledge_base: KnowledgeBase,
        limits: Limits,
        chunk_tokens: int,
        *,
        run_worker: bool = True,
    ) -> JobQueue:
        """The ingest job queue of `kb serve`; `run_worker=False` leaves running its jobs to
        other processes (only where `shares_job_queue`)."""
        return self._job_queue(knowledge_base, limits, chunk_tokens, run_worker)

    @abstractmethod
    def _job_queue(self, kb: KnowledgeBase, limits: Limits, tokens: int, worker: bool) -> JobQueue:
        """The backend's own queue (see `open_job_queue`)."""

    def open_shared_job_queue(
        self, knowledge_base: KnowledgeBase, limits: Limits, chunk_tokens: int
    ) -> SharedJobQueue:
        """The queue `kb worker` runs, shared with every replica (only where
        `shares_job_queue`; elsewhere `kb serve` runs its uploads in its own thread)."""
        raise KBError(
            f"The {self.name} backend keeps no job queue that other processes share: "
            "`kb serve` runs its uploads itself."
        )

    def schema_parts(self) -> list[tuple[str, list[Migration]]]:
        """Every part that keeps state in this backend's database with its migrations, in
        dependency order (none: each SQLite file creates its own schema when opened)."""
        return []

    def upgrade_schema(self) -> dict[str, dict[str, int]]:
        """Apply each part's migrations not yet applied (`kb db upgrade`; safe from many
        machines at once): per part, how many it took and the schema version it is now at."""
        return {}

    def schema_status(self) -> dict[str, dict[str, int]]:
        """Each part's schema version in the database and the one this kb needs."""
        return {}

    def schema_behind(self) -> list[str]:
        """The parts whose schema in the database is older than this kb needs, as
        "part (database N, needs M)"; empty when every migration is applied (`kb db status`'s
        question, asked by `/health/ready`). Raises when the database cannot be reached."""
        return [
            f"{part} (database {versions['database']}, needs {versions['needed']})"
            for part, versions in self.schema_status().items()
            if versions["database"] < versions["needed"]
        ]

    def compact(self) -> None:
        """Rewrite the backend's files so that deleted rows leave nothing behind (after a
        person's erasure, `api.person`): SQLite's free pages, write-ahead log and full-text
        segments; PostgreSQL's dead row versions (VACUUM). Nothing to do by default."""
        return None

    def open_rate_storage(self) -> Storage:
        """Where per-key rate limits are counted (`api.ratelimit`): this process's memory,
        unless the backend is shared by replicas, which must count together."""
        from api.ratelimit import QuietMemoryStorage

        return QuietMemoryStorage()

    def open_knowledge_base(
        self,
        *,
        model: str | None = None,
        variant: str | None = None,
        embedder: Embedder | None = None,
    ) -> KnowledgeBase:
        """The knowledge base over this backend's document store (see
        `kb.open_knowledge_base` for how the model and variant are chosen)."""
        from kb import open_knowledge_base

        return open_knowledge_base(
            self.home, model=model, variant=variant, embedder=embedder, store=self.open_store()
        )


class SqliteBackend(Backend):
    """Everything in the home folder: `kb.sqlite` (+ the faiss mirror), `analytics.sqlite`,
    `catalog.sqlite`, and job records under `jobs/`; one machine, any number of processes."""

    name = "sqlite"
    shares_job_queue = False
    reembeds_in_place = True

    def open_store(self) -> DocumentStore:
        from kb.store.sqlite import open_in_home

        return open_in_home(self.home)

    def open_search_log(self) -> SearchLog:
        from kb.searchlog.sqlite import DATABASE, SqliteSearchLog

        return SqliteSearchLog(self.home / DATABASE)

    def open_audit_log(self) -> AuditLog:
        from kb.audit.sqlite import DATABASE, SqliteAuditLog

        return SqliteAuditLog(self.home / DATABASE)

    def open_source_registry(self) -> SourceRegistry:
        from kb.sources.sqlite import SqliteSourceRegistry

        return SqliteSourceRegistry.in_home(self.home)

    def open_recommender_store(self) -> RecommenderStore:
        from recommender.state.sqlite import CatalogStore

        return CatalogStore.open(self.home)

    def recommender_sessions(self) -> RecommenderSessions:
        return _StorePerUse(self.open_recommender_store)

    def open_framework_store(self) -> FrameworkStore:
        from recommender.frameworks.sqlite import SqliteFrameworkStore

        return SqliteFrameworkStore.open(self.home)

    def compact(self) -> None:
        """Every SQLite file under the home folder: full-text indexes merged (a deleted row's
        words otherwise stay in old segments), VACUUM (free pages rewritten away), and the
        write-ahead log checkpointed and truncated."""
        import sqlite3

        from kb.db import sqlite as sqlite_files

        for path in sorted(self.home.rglob("*.sqlite")):
            try:
                self._compact_file(sqlite_files.connect(path))
            except sqlite3.OperationalError as exc:
                raise KBError(
                    f"{path} could not be compacted ({exc}): another process holds it. Stop "
                    "`kb serve` and the other kb commands on this home, then run the same "
                    "command again (what was deleted stays deleted)."
                ) from None

    @staticmethod
    def _compact_file(connection: sqlite3.Connection) -> None:
        with closing(connection) as db:
            fts = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND sql LIKE 'CREATE VIRTUAL TABLE%USING fts5%'"
            ).fetchall()
            for (name,) in fts:
                db.execute(f'INSERT INTO "{name}"("{name}") VALUES (\'optimize\')')
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def open_xapi_outbox(self) -> XapiOutbox:
        from recommender.xapi.outbox.sqlite import SqliteOutbox

        return SqliteOutbox.open(self.home)

    def _job_queue(self, kb: KnowledgeBase, limits: Limits, tokens: int, worker: bool) -> JobQueue:
        from ingest.jobs.local import JobManager

        return JobManager(kb, self.home, limits, tokens)  # its worker: this process's thread


class PostgresBackend(Backend):
    """Everything in one PostgreSQL database (pgvector for the vectors) that any number of
    replicas, CLI commands and `kb worker`s share; the home keeps keys and spooled uploads."""

    name = "postgresql"
    url_schemes = URL_SCHEMES
    shares_job_queue = True
    reembeds_in_place = False

    def __init__(self, home: Path, database_url: str) -> None:
        super().__init__(home)
        self.database_url = database_url

    @classmethod
    def at_url(cls, home: Path, database_url: str) -> Backend:
        return cls(home, database_url)

    def __repr__(self) -> str:
        return f"PostgresBackend({redact(self.database_url)!r})"  # never the password

    def open_store(self) -> DocumentStore:
        from kb.store.postgres import PgStore

        return PgStore(self.database_url)

    def open_search_log(self) -> SearchLog:
        from kb.searchlog.postgres import PgSearchLog

        return PgSearchLog(self.database_url)

    def open_audit_log(self) -> AuditLog:
        from kb.audit.postgres import PgAuditLog

        return PgAuditLog(self.database_url)

    def open_source_registry(self) -> SourceRegistry:
        from kb.sources.postgres import PgSourceRegistry

        return PgSourceRegistry(self.database_url)

    def open_recommender_store(self) -> RecommenderStore:
        from recommender.state.postgres import PgCatalogStore

        return PgCatalogStore(self.database_url)

    def recommender_sessions(self) -> RecommenderSessions:
        from recommender.state.postgres import PgCatalogPool

        return PgCatalogPool(self.database_url)

    def open_framework_store(self) -> FrameworkStore:
        from recommender.frameworks.postgres import PgFrameworkStore

        return PgFrameworkStore(self.database_url)

    def open_xapi_outbox(self) -> XapiOutbox:
        from recommender.xapi.outbox.postgres import PgOutbox

        return PgOutbox(self.database_url)

    def _job_queue(self, kb: KnowledgeBase, limits: Limits, tokens: int, worker: bool) -> JobQueue:
        return self._job_manager(kb, limits, tokens, worker)

    def open_shared_job_queue(
        self, knowledge_base: KnowledgeBase, limits: Limits, chunk_tokens: int
    ) -> SharedJobQueue:
        return self._job_manager(knowledge_base, limits, chunk_tokens, False)

    def _job_manager(
        self, kb: KnowledgeBase, limits: Limits, tokens: int, worker: bool
    ) -> PgJobManager:
        from ingest.jobs.postgres import PgJobManager

        url = self.database_url
        return PgJobManager(kb, self.home, limits, tokens, database_url=url, run_worker=worker)

    def schema_parts(self) -> list[tuple[str, list[Migration]]]:
        from ingest.jobs.postgres import MIGRATIONS as INGEST
        from kb.audit.postgres import MIGRATIONS as AUDIT
        from kb.audit.postgres import PART as AUDIT_PART
        from kb.searchlog.postgres import MIGRATIONS as ANALYTICS
        from kb.searchlog.postgres import PART as ANALYTICS_PART
        from kb.sources.postgres import MIGRATIONS as SOURCES
        from kb.sources.postgres import PART as SOURCES_PART
        from kb.store.postgres import (
            DUPLICATES_MIGRATIONS,
            DUPLICATES_PART,
            LINKS_MIGRATIONS,
            LINKS_PART,
        )
        from kb.store.postgres import MIGRATIONS as KB
        from kb.store.postgres import PART as KB_PART
        from recommender.frameworks.postgres import MIGRATIONS as FRAMEWORKS
        from recommender.frameworks.postgres import PART as FRAMEWORKS_PART
        from recommender.state.postgres import MIGRATIONS as RECOMMENDER
        from recommender.state.postgres import PART as RECOMMENDER_PART
        from recommender.xapi.outbox.postgres import MIGRATIONS as XAPI
        from recommender.xapi.outbox.postgres import PART as XAPI_PART

        return [
            (KB_PART, list(KB)),
            (DUPLICATES_PART, list(DUPLICATES_MIGRATIONS)),
            (LINKS_PART, list(LINKS_MIGRATIONS)),
            (RECOMMENDER_PART, list(RECOMMENDER)),
            ("ingest", list(INGEST)),
            (ANALYTICS_PART, list(ANALYTICS)),
            (SOURCES_PART, list(SOURCES)),
            (AUDIT_PART, list(AUDIT)),
            (FRAMEWORKS_PART, list(FRAMEWORKS)),
            (XAPI_PART, list(XAPI)),
        ]

    def upgrade_schema(self) -> dict[str, dict[str, int]]:
        from kb.db.postgres import connect, schema_version, upgrade

        with closing(connect(self.database_url)) as conn:
            return {
                part: {"applied": upgrade(conn, part, steps), "version": schema_version(conn, part)}
                for part, steps in self.schema_parts()
            }

    def compact(self) -> None:
        """VACUUM every table of the database: deleted rows' old versions are removed from
        the tables' pages (the server's write-ahead log and backups keep theirs until they
        age out: docs/person-data.md)."""
        from kb.db.postgres import connect

        with closing(connect(self.database_url)) as conn:
            conn.execute("VACUUM")

    def open_rate_storage(self) -> Storage:
        """The counts in this database, shared by every replica (`api.ratelimit.postgres`)."""
        from api.ratelimit.postgres import PgRateStorage

        return PgRateStorage(self.database_url)

    def schema_status(self) -> dict[str, dict[str, int]]:
        from kb.db.postgres import connect, schema_version

        with closing(connect(self.database_url)) as conn:
            return {
                part: {
                    "database": schema_version(conn, part),
                    "needed": max(step.version for step in steps),
                }
                for part, steps in self.schema_parts()
            }


class _StorePerUse:
    """A store opened for each use and closed in the same thread: a SQLite connection may only
    be used by the thread that opened it, requests run on a pool of threads, and opening costs
    about a millisecond (concurrent writers are serialised by SQLite's BEGIN IMMEDIATE)."""

    def __init__(self, open_store: Callable[[], RecommenderStore]) -> None:
        self._open = open_store

    def session(self) -> AbstractContextManager[RecommenderStore]:
        return closing(self._open())

    def close(self) -> None:
        pass


# name -> class: the contract tests and `--backend`-style tooling read the names from here.
BACKENDS: dict[str, type[Backend]] = {
    SqliteBackend.name: SqliteBackend,
    PostgresBackend.name: PostgresBackend,
}


def open_backend(home: Path, database_url: str | None = None) -> Backend:
    """The backend in use: the one whose `url_schemes` a database URL (`KB_DATABASE_URL`,
    `--database-url`) starts with, PostgreSQL's; with no URL, SQLite in `home`. Nothing is
    opened yet; a URL of another kind is a `DatabaseError` that never shows its password."""
    if not database_url:
        return SqliteBackend(home)
    for backend in BACKENDS.values():
        if database_url.startswith(backend.url_schemes):
            return backend.at_url(home, database_url)
    raise DatabaseError(
        f"{redact(database_url)} is not a PostgreSQL URL: give "
        "postgresql://user:password@host:port/database (KB_DATABASE_URL)."
    )


__all__ = [
    "BACKENDS",
    "Backend",
    "PostgresBackend",
    "RecommenderSessions",
    "SqliteBackend",
    "open_backend",
]
