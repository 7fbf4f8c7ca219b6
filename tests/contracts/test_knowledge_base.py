"""One contract, two backends: the knowledge base's mechanics on SQLite (the home folder) and on
PostgreSQL (a fresh database on the session's private server), each test run on both.

Ingestion (incremental, edits, pruning), reads, every filter and team visibility, lexical
matching in English and Chinese, snippets, errors and the hits' shape must not depend on the
backend; where a test compares the two directly it says so. The deterministic test model
(`fake_embedder`) is enough here: these are mechanics, not ranking quality (see
tests/contracts/test_sample.py for that, with the real model).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import psycopg
import pytest

from api.backends import open_backend
from api.cli.common import to_json
from ingest import ingest_paths
from kb import (
    ChunkInput,
    DocumentInput,
    DocumentMeta,
    EmptyQueryError,
    EmptyStoreError,
    Hit,
    KnowledgeBase,
    Location,
    NotFoundError,
    SearchFilters,
    open_knowledge_base,
    visible_to,
)
from kb.types import SEARCH_MODES
from tests.backend_corpus import (
    FILES,
    LEXICAL_QUERIES,
    TieFreeEmbedder,
    chunk_view,
    document_view,
    documents_of,
    hit_view,
    sources,
    write_corpus,
)
from tests.contracts import BACKENDS, fresh_backend
from tests.contracts.test_visibility import RESTRICTIONS, VIEWERS
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc, write
from tests.pg_helpers import postings_in_step

EVERYONE = set(FILES)


@pytest.fixture
def kb_on(
    backend_url: str | None, tmp_path: Path, fake_embedder: HashingEmbedder
) -> Iterator[KnowledgeBase]:
    """An empty knowledge base on this run's backend."""
    base = open_backend(tmp_path / "home", backend_url).open_knowledge_base(embedder=fake_embedder)
    yield base
    base.close()


@pytest.fixture
def stocked(kb_on: KnowledgeBase, tmp_path: Path) -> KnowledgeBase:
    """The corpus of tests/backend_corpus.py ingested on this run's backend."""
    report = ingest_paths(kb_on, [write_corpus(tmp_path / "corpus")])
    assert report.failed == [] and report.added == len(FILES), report
    return kb_on


@pytest.fixture(scope="module", params=BACKENDS)
def corpus_kb(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_embedder: HashingEmbedder,
) -> Iterator[KnowledgeBase]:
    """The same corpus on each backend, ingested once for the tests that only read it."""
    folder = tmp_path_factory.mktemp("corpus")
    backend = fresh_backend(request.param, folder / "home", request)
    base = backend.open_knowledge_base(embedder=fake_embedder)
    report = ingest_paths(base, [write_corpus(folder / "corpus")])
    assert report.failed == [] and report.added == len(FILES), report
    yield base
    base.close()


# -- ingestion --------------------------------------------------------------------------------
def test_ingest_is_incremental_and_edits_and_prunes_reach_every_index(
    kb_on: KnowledgeBase, tmp_path: Path, backend: str
) -> None:
    folder = write_corpus(tmp_path / "corpus")
    first = ingest_paths(kb_on, [folder])
    assert (first.added, first.updated, first.unchanged, first.failed) == (len(FILES), 0, 0, [])
    assert kb_on.stats()["backend"] == backend
    assert kb_on.stats()["documents"] == len(FILES)
    assert kb_on.stats()["chunks"] == sum(d.n_chunks for d in kb_on.list_documents())

    again = ingest_paths(kb_on, [folder])
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, len(FILES), 0)

    write(
        folder / "drift.md",
        markdown_doc(
            "Drift alerts",
            {"Recalibration": "We recalibrated the PSI thresholds monthly."},
            team="mlops",
        ),
    )
    edited = ingest_paths(kb_on, [folder])
    assert (edited.updated, edited.unchanged) == (1, len(FILES) - 1)
    assert sources(kb_on.search("recalibrating", mode="lexical")) == ["drift.md"]
    assert kb_on.search("histogram", mode="lexical") == []  # the old words left the index
    drift = kb_on.find_documents("drift.md")[0]
    assert (drift.team, drift.course, drift.skills) == ("mlops", None, ())
    assert [c.heading for c in kb_on.get_chunks(drift.doc_id)] == ["Drift alerts > Recalibration"]

    (folder / "lora.md").unlink()
    pruned = ingest_paths(kb_on, [folder], prune=True)
    assert (pruned.removed, pruned.unchanged) == (1, len(FILES) - 1)
    assert kb_on.find_documents("lora.md") == []
    assert kb_on.search("lora_alpha", mode="lexical") == []
    for mode in SEARCH_MODES:
        hits = kb_on.search("lora alpha rank adapters attention projections", k=20, mode=mode)
        assert "lora.md" not in sources(hits), mode
    assert kb_on.stats()["documents"] == len(FILES) - 1
    assert kb_on.stats()["chunks"] == sum(d.n_chunks for d in kb_on.list_documents())


def test_an_edit_embeds_only_the_chunk_texts_never_embedded(
    kb_on: KnowledgeBase, tmp_path: Path
) -> None:
    """Stored vectors are reused by text (the store's `embeddings_for`), on either backend."""
    sections = {f"Part {i}": f"Topic {i}: notes on drift and serving. " * 20 for i in range(3)}
    path = write(tmp_path / "c" / "doc.md", markdown_doc("Doc", sections))
    first = ingest_paths(kb_on, [path.parent])
    assert first.embedded == first.chunks == 3
    sections["Part 1"] = "A rewritten middle part about retraining. " * 20
    write(path, markdown_doc("Doc", sections))
    edited = ingest_paths(kb_on, [path.parent])
    assert (edited.updated, edited.embedded) == (1, 1)
    assert sources(kb_on.search("retraining", mode="lexical")) == ["doc.md"]
    write(tmp_path / "c" / "copy.md", markdown_doc("Doc", sections))  # the same texts again
    copied = ingest_paths(kb_on, [path.parent])
    assert (copied.added, copied.embedded) == (1, 0)


def test_both_backends_store_and_read_the_same_documents(
    tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str
) -> None:
    """Compared directly: one folder ingested into each backend reads back the same, field by
    field (ids, origins, hashes, metadata, chunk texts and locations), in the same order."""
    folder = write_corpus(tmp_path / "corpus")
    here = open_knowledge_base(tmp_path / "home", embedder=fake_embedder)
    there = open_backend(tmp_path / "pg", database_url).open_knowledge_base(embedder=fake_embedder)
    try:
        for base in (here, there):
            assert ingest_paths(base, [folder]).added == len(FILES)
        assert documents_of(here) == documents_of(there)
        for doc in here.list_documents():
            for ref in (doc.doc_id, doc.source, doc.origin):
                assert [document_view(d) for d in here.find_documents(ref)] == [
                    document_view(d) for d in there.find_documents(ref)
                ], ref
            other = there.get_document(doc.doc_id)
            assert other is not None and document_view(other) == document_view(doc)
        assert here.get_document("0" * 16) is there.get_document("0" * 16) is None
        assert here.find_documents("nothing.md") == there.find_documents("nothing.md") == []
        mine, theirs = here.stats(), there.stats()
        assert (mine.pop("backend"), theirs.pop("backend")) == ("sqlite", "postgresql")
        assert mine == theirs
    finally:
        here.close()
        there.close()


# -- filters and visibility -------------------------------------------------------------------
FILTERS: list[tuple[SearchFilters, set[str]]] = [
    (SearchFilters(team="MLOPS"), {"drift.md", "office-hours.vtt"}),
    (SearchFilters(course="LLM-Finetuning"), {"lora.md"}),
    (SearchFilters(type="transcript"), {"office-hours.vtt"}),
    (SearchFilters(type="NOTEBOOK"), {"search.ipynb"}),
    (SearchFilters(module="DRIFT"), {"drift.md"}),
    (SearchFilters(skill="statistics"), {"drift.md"}),
    (SearchFilters(skill="Hyperparameter-Tuning"), {"secret.md", "search.ipynb"}),
    (SearchFilters(tag="lora"), {"lora.md"}),
    (SearchFilters(tag="中文"), {"attention.md"}),
    (SearchFilters(team="nlp", skill="attention"), {"attention.md"}),
    (SearchFilters(team="nlp", type="markdown", course="nlp-sentiment"), {"attention.md"}),
    (SearchFilters(team="nobody"), set()),
    (SearchFilters(viewer_teams=("mlops",)), EVERYONE - {"lora.md"}),
    (SearchFilters(viewer_teams=()), EVERYONE - {"lora.md", "secret.md"}),
    (SearchFilters(skill="hyperparameter-tuning", viewer_teams=("nlp",)), {"search.ipynb"}),
]


@pytest.mark.parametrize(("filters", "expected"), FILTERS, ids=[str(f) for f, _ in FILTERS])
def test_every_filter_selects_the_same_documents_in_listings_and_searches(
    corpus_kb: KnowledgeBase, filters: SearchFilters, expected: set[str]
) -> None:
    """Values compared without regard to case, applied before the cut in every mode: dense
    search ranks every chunk, so with k above the corpus size it returns exactly the
    documents that pass."""
    assert {d.source for d in corpus_kb.list_documents(filters)} == expected
    for mode in SEARCH_MODES:
        hits = corpus_kb.search("tuning drift alerts 注意力 LoRA", k=20, filters=filters, mode=mode)
        found = set(sources(hits))
        assert found <= expected, mode
        if mode != "lexical":
            assert found == expected, mode


def test_filters_ignore_case_in_every_script(kb_on: KnowledgeBase, tmp_path: Path) -> None:
    """Équipe and ÉQUIPE are one team on both backends (SQLite's NOCASE folds only A-Z)."""
    folder = tmp_path / "corpus"
    write(
        folder / "equipe.md",
        "---\nteam: Équipe-IA\ncourse: Été-2026\ntags: [Données, ÖKO]\n---\n\n"
        "# Réunion\n\nNotes de l'équipe sur la qualité des données.\n",
    )
    write(folder / "other.md", markdown_doc("Other", {"Notes": "Nothing in common here."}))
    assert ingest_paths(kb_on, [folder]).added == 2
    for filters in (
        SearchFilters(team="équipe-ia"),
        SearchFilters(team="ÉQUIPE-IA"),
        SearchFilters(course="ÉTÉ-2026"),
        SearchFilters(tag="données"),
        SearchFilters(tag="öko"),
    ):
        assert [d.source for d in kb_on.list_documents(filters)] == ["equipe.md"], filters
        for mode in SEARCH_MODES:
            hits = kb_on.search("équipe données notes", k=5, filters=filters, mode=mode)
            assert sources(hits) == ["equipe.md"], (filters, mode)


def test_the_visibility_sql_of_each_store_agrees_with_the_rule(
    kb_on: KnowledgeBase, backend_url: str | None
) -> None:
    """`kb.types.visible_to` against the store's SQL (kb.store.sqlite.filter_clause on SQLite,
    kb.store.postgres.filter_clause on PostgreSQL) in listings, in the dense side and in BM25."""
    for i, visibility in enumerate(RESTRICTIONS):
        kb_on.add_documents(
            [
                DocumentInput(
                    origin=f"/docs/{i}.md",
                    source=f"{i}.md",
                    type="markdown",
                    content_hash=str(i),
                    meta=DocumentMeta(title=f"Doc {i}", visibility=visibility),
                    chunks=(
                        ChunkInput("", f"notes on drift, part {i}", Location("Doc")),
                        ChunkInput("", f"drift thresholds, part {i}", Location("Doc")),
                    ),
                )
            ]
        )
    kb_on.refresh()
    vector = kb_on.embedder.encode_query("notes on drift")
    for teams in VIEWERS:
        filters = SearchFilters(viewer_teams=teams)
        by_rule = {f"{i}.md" for i, v in enumerate(RESTRICTIONS) if visible_to(v, teams)}
        assert {d.source for d in kb_on.list_documents(filters)} == by_rule, teams
        dense = kb_on.vectors.search(vector, 100, filters)
        lexical = kb_on.store.lexical_search("drift", 100, filters)
        for found in (dense, lexical):
            rows = kb_on.store.chunk_rows([chunk_id for chunk_id, _ in found])
            assert len(found) == 2 * len(by_rule), teams  # every visible chunk, no other
            assert {doc.source for _, doc in rows.values()} == by_rule, teams
    if backend_url is not None:  # PostgreSQL's clause itself, as any query of the store uses it
        from kb.store.postgres import filter_clause

        with psycopg.connect(backend_url) as conn:
            for teams in VIEWERS:
                where, params = filter_clause(SearchFilters(viewer_teams=teams))
                listed = conn.execute(
                    f"SELECT d.source FROM kb_documents d WHERE {where}", params
                ).fetchall()
                expected = {f"{i}.md" for i, v in enumerate(RESTRICTIONS) if visible_to(v, teams)}
                assert {r[0] for r in listed} == expected, teams


def test_restricted_documents_never_reach_hits_or_snippets(corpus_kb: KnowledgeBase) -> None:
    for mode in SEARCH_MODES:
        hits = corpus_kb.search(
            "zanzibarquokka tuning playbook",
            k=20,
            filters=SearchFilters(viewer_teams=("nlp",)),
            mode=mode,
        )
        assert "secret.md" not in sources(hits), mode
        assert "zanzibarquokka" not in json.dumps(to_json(hits)), mode
        allowed = corpus_kb.search(
            "zanzibarquokka", mode=mode, filters=SearchFilters(viewer_teams=("recsys",))
        )
        assert "secret.md" in sources(allowed), mode
    [hit] = corpus_kb.search(
        "zanzibarquokka", mode="lexical", filters=SearchFilters(viewer_teams=("recsys",))
    )
    assert hit.source == "secret.md" and "<mark>zanzibarquokka</mark>" in hit.snippet


# -- lexical matching, snippets ---------------------------------------------------------------
LEXICAL_EXPECTED: list[tuple[str, str]] = [
    ("histograms", "drift.md"),  # histogram: plural meets singular
    ("tuning", "drift.md"),  # tuned
    ("naive", "drift.md"),  # naïve: diacritics folded
    ("alpha", "lora.md"),  # lora_alpha: an identifier's parts are words
    ("escalate", "office-hours.vtt"),  # Escalation
    ("系数", "attention.md"),  # inside 加权系数
    ("网络", "attention.md"),  # inside 循环神经网络
    ("加权系数", "attention.md"),
    ("升级", "office-hours.vtt"),  # inside 告警升级之前
    ("ｓｔｕｄｙ．ｏｐｔｉｍｉｚｅ", "search.ipynb"),  # full-width letters
]


@pytest.mark.parametrize(("query", "expected"), LEXICAL_EXPECTED)
def test_lexical_search_finds_words_as_the_index_cuts_them(
    corpus_kb: KnowledgeBase, query: str, expected: str
) -> None:
    assert expected in sources(corpus_kb.search(query, mode="lexical"))


# Snippets are made by kb.search.snippets on either backend, from kb.language.terms' words: a light
# suffix stripper where the indexes use Porter, jieba's precise cut where the indexes hold the
# search-mode words too, identifiers kept whole, no diacritics folded. So these hits, found
# by both indexes, come back with nothing marked (on both backends alike).
@pytest.mark.parametrize(("query", "expected"), LEXICAL_EXPECTED)
def test_the_snippet_of_a_lexical_hit_marks_what_matched(
    corpus_kb: KnowledgeBase, query: str, expected: str
) -> None:
    hits = corpus_kb.search(query, mode="lexical")
    assert "<mark>" in hits[sources(hits).index(expected)].snippet


def test_snippets_mark_the_words_where_they_stand(corpus_kb: KnowledgeBase) -> None:
    [hit] = corpus_kb.search("加权系数", mode="lexical", k=1)
    assert "<mark>加权</mark><mark>系数</mark>由" in hit.snippet
    [hit] = corpus_kb.search("histograms", mode="lexical", k=1)
    assert "<mark>histogram</mark>" in hit.snippet
    hits = corpus_kb.search("ＬｏＲＡ，ｒａｎｋ？", mode="lexical")
    assert sources(hits) == sources(corpus_kb.search("lora rank", mode="lexical"))
    assert "lora-zh.md" in sources(hits)


def test_both_backends_rank_and_mark_alike(tmp_path: Path, database_url: str) -> None:
    """Compared directly, one folder in each backend: BM25 matches the same chunks with the
    same scores (FTS5 on one side, SQL over tsvectors on the other), and every mode gives the
    same hits, snippets included, with and without filters. Chunks are told apart by their
    document and place, as each store numbers them its own way."""
    folder = write_corpus(tmp_path / "corpus")
    model = TieFreeEmbedder()
    here = open_knowledge_base(tmp_path / "home", embedder=model)
    there = open_backend(tmp_path / "pg", database_url).open_knowledge_base(embedder=model)
    try:
        for base in (here, there):
            ingest_paths(base, [folder])

        def bm25(base: KnowledgeBase, query: str) -> dict[tuple[str, int], float]:
            found = base.store.lexical_search(query, 1000)
            rows = base.store.chunk_rows([chunk_id for chunk_id, _ in found])
            return {
                (rows[chunk_id][1].source, rows[chunk_id][0].ordinal): score
                for chunk_id, score in found
            }

        for query in LEXICAL_QUERIES:
            mine, theirs = bm25(here, query), bm25(there, query)
            assert mine, query
            assert set(mine) == set(theirs), query
            for place, score in mine.items():
                assert theirs[place] == pytest.approx(score, rel=1e-6), (query, place)

        for filters in (None, SearchFilters(team="nlp"), SearchFilters(viewer_teams=("mlops",))):
            for mode in SEARCH_MODES:
                for query in [*LEXICAL_QUERIES, "how do we keep alerts quiet"]:
                    mine_hits = here.search(query, k=5, filters=filters, mode=mode)
                    theirs_hits = there.search(query, k=5, filters=filters, mode=mode)
                    assert [hit_view(h) for h in mine_hits] == [hit_view(h) for h in theirs_hits], (
                        query,
                        mode,
                        filters,
                    )
    finally:
        here.close()
        there.close()


# -- errors and shapes ------------------------------------------------------------------------
def test_an_empty_store_and_an_empty_query_raise_the_same_errors(
    kb_on: KnowledgeBase, tmp_path: Path
) -> None:
    for mode in SEARCH_MODES:
        with pytest.raises(EmptyQueryError, match="The query is empty"):
            kb_on.search("   ", mode=mode)
        with pytest.raises(EmptyStoreError, match="ingest some material first"):
            kb_on.search("anything", mode=mode)
    with pytest.raises(NotFoundError, match="No document with id"):
        kb_on.delete("0" * 16)
    # Emptied again: the same message as before anything was stored.
    ingest_paths(kb_on, [write(tmp_path / "c" / "one.md", markdown_doc("One", {"A": "drift"}))])
    kb_on.delete(kb_on.list_documents()[0].doc_id)
    with pytest.raises(EmptyStoreError, match="ingest some material first"):
        kb_on.search("drift")
    assert kb_on.list_documents() == [] and kb_on.stats()["chunks"] == 0


def test_unknown_mode_and_questions_that_match_nothing(corpus_kb: KnowledgeBase) -> None:
    with pytest.raises(ValueError, match="Unknown mode"):
        corpus_kb.search("drift", mode="fuzzy")
    assert corpus_kb.search("qwertyuiopasdf", mode="lexical") == []
    for query in ('"unbalanced', "C++ AND OR NOT", "team:nlp (drift*", "-", "😀", "的"):
        for mode in SEARCH_MODES:
            corpus_kb.search(query, k=3, mode=mode)  # no syntax ever reaches the index


def test_hits_have_the_contract_fields_and_json_shape(corpus_kb: KnowledgeBase) -> None:
    hits = corpus_kb.search("tuned thresholds", k=3)
    assert hits
    contract = [f.name for f in fields(Hit)]
    for hit in hits:
        assert list(asdict(hit)) == contract
        payload = to_json(hit)
        assert list(payload) == contract
        assert isinstance(payload["chunk_id"], int) and isinstance(payload["score"], float)
        assert isinstance(payload["skills"], list) and isinstance(payload["tags"], list)
        json.dumps(payload)
    drift = next(h for h in hits if h.source == "drift.md")
    assert (drift.team, drift.course, drift.module) == ("mlops", "mlops-foundations", "drift")
    assert (drift.skills, drift.tags, drift.author) == (
        ("model-monitoring", "Statistics"),
        ("alerts",),
        "Jonas Weber",
    )
    assert drift.location.startswith("Drift alerts") and drift.anchor


def test_chunks_read_back_with_their_places(corpus_kb: KnowledgeBase) -> None:
    """What `kb show` and GET /documents/{id} print, per format."""
    by_source = {d.source: d for d in corpus_kb.list_documents()}
    notebook = corpus_kb.get_chunks(by_source["search.ipynb"].doc_id)
    assert notebook[0].location.label.startswith("cells") and notebook[0].location.anchor
    transcript = corpus_kb.get_chunks(by_source["office-hours.vtt"].doc_id)
    assert transcript[0].location.anchor.startswith("t=")
    assert transcript[0].location.detail["speakers"] == ["Ana Silva", "林佳慧"]
    doc = by_source["office-hours.vtt"]
    assert (doc.title, doc.type, doc.team, doc.module) == (
        "Drift office hours",
        "transcript",
        "mlops",
        "monitoring",
    )
    assert [
        chunk_view(c)["ordinal"] for c in corpus_kb.get_chunks(by_source["drift.md"].doc_id)
    ] == [*range(by_source["drift.md"].n_chunks)]


# -- the term counts BM25 relies on -----------------------------------------------------------
def stored_term_counts(kb: KnowledgeBase, url: str | None) -> tuple[dict[str, int], int]:
    """(df of every term with df != 0, chunks counted) as the store keeps them."""
    if url is None:
        import sqlite3

        with sqlite3.connect(kb.home / "kb.sqlite") as db:
            df = dict(db.execute("SELECT term, df FROM term_df WHERE df != 0").fetchall())
        return df, kb.stats()["chunks"]
    with psycopg.connect(url) as conn:
        df = dict(conn.execute("SELECT term, df FROM kb_term_df WHERE df != 0").fetchall())
        counts: dict[str, int] = dict(conn.execute("SELECT name, value FROM kb_counts").fetchall())
        words = conn.execute("SELECT COALESCE(SUM(n_words), 0) FROM kb_chunks").fetchone()
        assert words is not None and counts["words"] == words[0]
    return df, int(counts["chunks"])


def recounted_term_counts(kb: KnowledgeBase) -> dict[str, int]:
    """The same counts recomputed from the stored chunks by the backend's own rule."""
    chunks = [c for d in kb.list_documents() for c in kb.get_chunks(d.doc_id)]
    if kb.store.backend == "sqlite":
        from kb.language.terms import document_frequencies

        return dict(document_frequencies(f"{c.heading}\n{c.body}" for c in chunks))
    from kb.store.lexical.postgres import chunk_lexemes

    counts: Counter[str] = Counter()
    for chunk in chunks:
        counts.update(chunk_lexemes(chunk.heading, chunk.body)[1])
    return dict(counts)


def test_term_counts_follow_updates_and_deletes(
    stocked: KnowledgeBase, tmp_path: Path, backend_url: str | None
) -> None:
    folder = tmp_path / "corpus"
    write(folder / "drift.md", markdown_doc("Drift", {"Checks": "Population checks run daily."}))
    (folder / "lora-zh.md").unlink()
    ingest_paths(stocked, [folder], prune=True)
    stocked.delete(stocked.find_documents("search.ipynb")[0].doc_id)
    df, chunks = stored_term_counts(stocked, backend_url)
    assert df == recounted_term_counts(stocked)
    if backend_url is not None:
        postings_in_step(backend_url)
    assert all(n > 0 for n in df.values())
    assert chunks == sum(d.n_chunks for d in stocked.list_documents())


def test_vectors_are_stored_as_given(kb_on: KnowledgeBase) -> None:
    """What `kb migrate` copies and the dense side searches: the vectors themselves."""
    doc = DocumentInput(
        origin="/docs/v.md",
        source="v.md",
        type="text",
        content_hash="v",
        meta=DocumentMeta(title="V"),
        chunks=(ChunkInput("", "first", Location("a")), ChunkInput("", "second", Location("b"))),
    )
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(2, kb_on.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    kb_on.add_embedded(doc, vectors)
    ids = [c.chunk_id for c in kb_on.get_chunks(kb_on.find_documents("v.md")[0].doc_id)]
    got_ids, got = kb_on.store.vectors_of(ids)
    assert sorted(got_ids.tolist()) == sorted(ids)
    by_id = dict(zip(got_ids.tolist(), got, strict=True))
    np.testing.assert_allclose(np.stack([by_id[i] for i in ids]), vectors, rtol=1e-6)
    assert kb_on.store.embeddings_for([]) == {}
    for chunk_id, vector in zip(ids, vectors, strict=True):
        assert kb_on.vectors.search(vector, 1, None)[0][0] == chunk_id


# -- the reference oracle for the PostgreSQL index's words ------------------------------------
def fts5_words(text: str) -> list[str]:
    """`text`'s words as the embedded index stores them: SQLite's own `porter unicode61`
    tokenizer, read back through fts5vocab."""
    import sqlite3

    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        db.execute("INSERT INTO t(rowid, body) VALUES (1, ?)", (text,))
        return [str(row[0]) for row in db.execute("SELECT term FROM v ORDER BY offset")]
    finally:
        db.close()


def test_the_postgresql_index_cuts_and_stems_words_as_fts5_does() -> None:
    """kb.store.lexical.postgres against FTS5 itself, on every file of the sample and on the words
    that told them apart (identifiers, two-letter words, diacritics, full-width letters).
    unicode61's tables take a few emoji for letters (🙁, not 😀): those are left out."""
    import unicodedata

    from kb.language.terms import index_text, query_words
    from kb.store.lexical.postgres import index_words, query_phrases, stem
    from tests.conftest import SAMPLE

    texts = [
        path.read_text(encoding="utf-8")
        for path in sorted(SAMPLE.rglob("*.*"))
        if path.suffix in (".md", ".ipynb", ".vtt", ".srt", ".yaml", ".jsonl")
    ]
    texts += [
        "lora_alpha target_modules __init__ min_df=2 q_proj",
        "us as is s t a I'm it's the team's naïve café résumé Ångström façade",
        "ＬｏＲＡ ｒａｎｋ ２５６ Ｔｕｎｉｎｇ",
        "tuning tuned tunes ponies caresses relational hopefulness generalizations",
        "x" * 70 + " " + "tuning" * 12,
    ]
    for text in texts:
        indexed = index_text(text)
        theirs = [
            word
            for word in fts5_words(indexed)
            if not any(unicodedata.category(char).startswith("S") for char in word)
        ]
        assert [stem(word) for word in index_words(indexed)] == theirs
    for query in ("lora_alpha target modules", "the team's naïve café", "ＬｏＲＡ 的 rank"):
        assert query_phrases(query) == [
            tuple(fts5_words(word)) for word in query_words(query) if fts5_words(word)
        ]


def test_a_database_indexed_by_earlier_rules_is_reindexed_when_opened(
    tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str
) -> None:
    """PostgreSQL's lexemes are made in Python: a database whose lexemes were made by other
    rules (an earlier kb, another jieba) is re-indexed once by the first process to open it,
    as the embedded store re-indexes its FTS5 table."""
    base = open_backend(tmp_path / "home", database_url).open_knowledge_base(embedder=fake_embedder)
    ingest_paths(base, [write_corpus(tmp_path / "corpus")])
    expected = {query: sources(base.search(query, mode="lexical")) for query in LEXICAL_QUERIES}
    base.close()
    with psycopg.connect(database_url) as conn:  # lexemes of other rules, counts gone astray
        conn.execute("UPDATE kb_chunks SET tsv = to_tsvector('simple', body), n_words = 1")
        conn.execute("UPDATE kb_term_df SET df = df + 7")
        conn.execute("UPDATE kb_meta SET value = 'earlier' WHERE key = 'lexical_format'")
    reopened = open_backend(tmp_path / "home", database_url).open_knowledge_base(
        embedder=fake_embedder
    )
    try:
        for query, found in expected.items():
            assert sources(reopened.search(query, mode="lexical")) == found, query
        df, chunks = stored_term_counts(reopened, database_url)
        assert df == recounted_term_counts(reopened)
        assert chunks == reopened.stats()["chunks"]
    finally:
        reopened.close()


def test_words_are_stemmed_alike_by_many_threads_at_once() -> None:
    """Requests stem query and snippet words on many threads: each must get its own words'
    stems (a shared stemmer garbled them under load, answering 500)."""
    from concurrent.futures import ThreadPoolExecutor

    from kb.language.terms import index_stem

    words = [
        f"{stem}{suffix}{n}"
        for n in range(400)
        for stem in ("calibrat", "tun", "escalat")
        for suffix in ("ion", "ing", "ed")
    ]
    alone = [index_stem.__wrapped__(w) for w in words]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(index_stem.__wrapped__, words)) == alone


# -- what the store keeps beside its documents -------------------------------------------------


def test_meta_values_are_kept_replaced_and_deleted_without_a_new_version(
    kb_on: KnowledgeBase,
) -> None:
    store = kb_on.store
    before = store.version
    store.set_meta("ranking_model", '{"trees": 1}')
    store.set_meta("ranking_model", '{"trees": 2, "名": "排序"}')
    assert store.get_meta("ranking_model") == '{"trees": 2, "名": "排序"}'
    assert store.version == before  # no document changed: nothing to re-read
    store.set_meta("ranking_model", None)
    assert store.get_meta("ranking_model") is None
    store.set_meta("ranking_model", None)  # deleting what is not there is no error
