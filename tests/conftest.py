"""Shared fixtures: the real embedding model, loaded once per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from api.backends import open_backend  # noqa: E402
from kb import KnowledgeBase, SentenceTransformerEmbedder, open_knowledge_base  # noqa: E402
from tests.contracts import BACKENDS, fresh_url  # noqa: E402
from tests.fakes import HashingEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The default all-MiniLM-L6-v2 model from its PyPI package: real, and loaded once."""
    model = SentenceTransformerEmbedder()
    model.encode_query("warm up")
    return model


@pytest.fixture(scope="session")
def fake_embedder() -> HashingEmbedder:
    """For tests of mechanics, not of search quality: deterministic and instant."""
    return HashingEmbedder()


@pytest.fixture
def kb(tmp_path: Path, fake_embedder: HashingEmbedder) -> Iterator[KnowledgeBase]:
    """A fresh knowledge base for checks of ingestion and storage (not of ranking quality)."""
    base = open_knowledge_base(tmp_path / "home", embedder=fake_embedder)
    yield base
    base.close()


@pytest.fixture(scope="session")
def sample_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[KnowledgeBase]:
    """The whole sample corpus, ingested once for the search-quality tests."""
    from ingest import ingest_paths

    home = tmp_path_factory.mktemp("sample-home")
    base = open_knowledge_base(home, embedder=embedder)
    report = ingest_paths(base, [SAMPLE])
    assert not report.failed, report.failed
    yield base
    base.close()


# -- PostgreSQL: a private server (pgserver: PostgreSQL 16 + pgvector) for the whole session --
@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a private PostgreSQL with pgvector, started once per session.

    Never skipped: a server that cannot start fails every PostgreSQL test with the reason.
    """
    import shutil
    import tempfile

    from tests.pg_helpers import start_private_server, stop_private_server

    # Not under pytest's own temporary folders: pytest prunes old ones, another session's
    # included, and a server's data folder must outlive any of that.
    folder = Path(tempfile.mkdtemp(prefix="kb-test-pg-"))
    server, url = start_private_server(folder)
    try:
        yield url
    finally:
        stop_private_server(server)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(pg_server_url: str) -> str:
    """A new, empty database on the session's server for this test alone."""
    from tests.pg_helpers import fresh_database

    return fresh_database(pg_server_url)


# -- both backends: the contract suites (tests/contracts/) run on each -----------------
@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend for this run of the test: each name of `tests.contracts.BACKENDS`."""
    return str(request.param)


@pytest.fixture
def backend_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """What `api.backends.open_backend(home, ...)` takes for a fresh, empty `backend`: None
    (the test's home folder) or, for PostgreSQL, a fresh database on the session's server."""
    return fresh_url(backend, request)


@pytest.fixture(scope="session")
def pg_sample_kb(
    tmp_path_factory: pytest.TempPathFactory,
    sample_kb: KnowledgeBase,
    embedder: SentenceTransformerEmbedder,
    pg_server_url: str,
) -> Iterator[KnowledgeBase]:
    """`sample_kb` copied into PostgreSQL by kb.store.migrate: the same documents, chunks and
    vectors (nothing embedded twice), opened as a PostgreSQL replica would open it."""
    from kb.store.migrate import migrate_store
    from kb.store.postgres import PgStore
    from tests.pg_helpers import fresh_database

    url = fresh_database(pg_server_url)
    target = PgStore(url)
    try:
        report = migrate_store(sample_kb.store, target)
    finally:
        target.close()
    assert report.copied == report.documents == sample_kb.stats()["documents"], report
    base = open_backend(tmp_path_factory.mktemp("pg-sample-home"), url).open_knowledge_base(
        embedder=embedder
    )
    yield base
    base.close()
