"""PostgreSQL's keyword search reads postings (kb_postings), kept by every write: a database
made before them gets them when it is upgraded, and ranks exactly as one that kept them all
along. (Writes keeping them exact under updates, deletes and concurrent writers: the backend
and concurrency suites check `postings_in_step` after theirs.)"""

from __future__ import annotations

from pathlib import Path

import psycopg

from api.backends import open_backend
from ingest import ingest_paths
from tests.backend_corpus import LEXICAL_QUERIES, TieFreeEmbedder, sources, write_corpus
from tests.pg_helpers import postings_in_step


def test_a_database_from_before_the_postings_gets_them_on_upgrade(
    tmp_path: Path, database_url: str
) -> None:
    embedder = TieFreeEmbedder()
    kb = open_backend(tmp_path / "home", database_url).open_knowledge_base(embedder=embedder)
    ingest_paths(kb, [write_corpus(tmp_path / "corpus")])
    ranked = {
        query: [(hit.source, hit.score) for hit in kb.search(query, mode="lexical")]
        for query in LEXICAL_QUERIES
    }
    assert any(ranked.values())
    kb.close()
    with psycopg.connect(database_url) as conn:  # the schema as it was before migration 2
        conn.execute("DROP TABLE kb_postings")
        conn.execute("DELETE FROM schema_migrations WHERE part = 'kb' AND version = 2")

    again = open_backend(tmp_path / "home", database_url).open_knowledge_base(embedder=embedder)
    try:
        postings_in_step(database_url)
        for query, expected in ranked.items():
            hits = again.search(query, mode="lexical")
            assert [(h.source, h.score) for h in hits] == expected, query
            assert sources(hits) == [source for source, _ in expected]
    finally:
        again.close()
