"""Hybrid search: right documents for paraphrased questions, filters before the cut, one hit
per document, clear messages for empty input, and a faiss index that matches brute force."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from api.cli.common import to_json
from ingest import ingest_paths
from kb import (
    EmptyQueryError,
    EmptyStoreError,
    KnowledgeBase,
    SearchFilters,
    SentenceTransformerEmbedder,
    StoreMismatchError,
    open_knowledge_base,
)
from kb.search.evaluation import compare_modes, load_queries
from kb.store.vectors import FaissIndex
from tests.conftest import SAMPLE
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc, write


def test_paraphrase_finds_the_document_that_shares_no_words(sample_kb: KnowledgeBase) -> None:
    hits = sample_kb.search("how do I stop the model from favouring the majority label", k=5)
    assert any("imbalance" in (h.title + h.source).lower() for h in hits[:3]), [
        h.source for h in hits
    ]


def test_hits_carry_the_contract_fields(sample_kb: KnowledgeBase) -> None:
    hit = to_json(sample_kb.search("LoRA rank and alpha", k=1)[0])
    for key in (
        "doc_id",
        "chunk_id",
        "source",
        "title",
        "type",
        "location",
        "score",
        "snippet",
        "team",
        "course",
        "skills",
    ):
        assert key in hit
    assert "<mark>" in hit["snippet"]
    assert json.dumps(hit)


def test_one_hit_per_document(sample_kb: KnowledgeBase) -> None:
    for mode in ("hybrid", "dense", "lexical"):
        hits = sample_kb.search("evaluate a sentiment classifier", k=20, mode=mode)
        assert len({h.doc_id for h in hits}) == len(hits) == 20


def test_filters_apply_before_the_top_k_is_cut(sample_kb: KnowledgeBase) -> None:
    """A filter matching documents that rank low overall still fills k with them."""
    filters = SearchFilters(type="transcript")
    for mode in ("hybrid", "dense", "lexical"):
        hits = sample_kb.search(
            "matrix factorisation for recommendations", k=3, filters=filters, mode=mode
        )
        assert len(hits) == 3 if mode != "lexical" else len(hits) >= 1
        assert all(h.type == "transcript" for h in hits)
    by_team = sample_kb.search("prompt", k=5, filters=SearchFilters(team="mlops", skill=None))
    assert by_team and all(h.team == "mlops" for h in by_team)
    by_skill = sample_kb.search(
        "what to watch", k=5, filters=SearchFilters(skill="model-monitoring")
    )
    assert by_skill and all("model-monitoring" in h.skills for h in by_skill)


def test_pagination_continues_where_the_first_page_ended(sample_kb: KnowledgeBase) -> None:
    first = sample_kb.search("deploying a model", k=10)
    second = sample_kb.search("deploying a model", k=5, offset=5)
    assert [h.doc_id for h in second] == [h.doc_id for h in first[5:10]]


def test_hybrid_beats_dense_and_lexical_on_the_sample_queries(sample_kb: KnowledgeBase) -> None:
    queries = load_queries(SAMPLE / "queries.jsonl")
    assert len(queries) >= 30
    scores = compare_modes(sample_kb.search, queries)
    assert scores["hybrid"]["ndcg@10"] > scores["dense"]["ndcg@10"]
    assert scores["hybrid"]["ndcg@10"] > scores["lexical"]["ndcg@10"]
    assert scores["hybrid"]["recall@10"] >= 0.85


def test_empty_query_and_empty_store_get_clear_messages(kb: KnowledgeBase) -> None:
    with pytest.raises(EmptyQueryError, match="empty"):
        kb.search("   ")
    with pytest.raises(EmptyStoreError, match="ingest some material first"):
        kb.search("anything")


def test_operators_and_punctuation_in_queries_are_safe(sample_kb: KnowledgeBase) -> None:
    for query in ('"unbalanced', "C++ AND OR NOT", "team:nlp (drift*", "-", "😀"):
        sample_kb.search(query, k=3)


def test_a_home_kept_by_another_backend_is_refused(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    home = tmp_path / "home"
    open_knowledge_base(home, embedder=fake_embedder).close()
    manifest = json.loads((home / "manifest.json").read_text())
    assert manifest["backend"] == "sqlite"
    (home / "manifest.json").write_text(json.dumps({**manifest, "backend": "postgresql"}))
    with pytest.raises(StoreMismatchError, match="keeps its data in postgresql"):
        open_knowledge_base(home, embedder=fake_embedder)


def test_store_made_with_another_model_is_refused(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    home = tmp_path / "home"
    open_knowledge_base(home, embedder=embedder).close()
    manifest = json.loads((home / "manifest.json").read_text())
    manifest["model"] = "intfloat/e5-small-v2"
    (home / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreMismatchError, match="built with the model 'intfloat/e5-small-v2'"):
        open_knowledge_base(home, embedder=embedder)


def test_stale_vector_index_is_rebuilt_from_the_store(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """As after a crash between a committed document and the index save."""
    home = tmp_path / "home"
    corpus = tmp_path / "c"
    write(corpus / "a.md", markdown_doc("Drift", {"Alerts": "Population stability index alerts."}))
    base = open_knowledge_base(home, embedder=embedder)
    ingest_paths(base, [corpus])
    base.close()
    write(corpus / "b.md", markdown_doc("Serving", {"Latency": "Batch requests to cut p95."}))
    base = open_knowledge_base(home, embedder=embedder)
    ingest_paths(base, [corpus])
    base.store.close()  # "crash": the new index is never saved
    (home / "vectors.json").write_text(json.dumps({"version": 1, "count": 1}))
    reopened = open_knowledge_base(home, embedder=embedder)
    assert len(reopened.index) == reopened.stats()["chunks"] == 2
    assert reopened.search("tail latency of requests", k=1, mode="dense")[0].source == "b.md"
    reopened.close()


def test_faiss_matches_brute_force_numpy() -> None:
    """The reference oracle: exact cosine by NumPy, with and without an id filter."""
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1000, 1500, dtype=np.int64)
    index = FaissIndex(32)
    index.add(ids, vectors)
    index.remove([1003, 1010])
    keep = ~np.isin(ids, [1003, 1010])
    for _ in range(5):
        query = rng.normal(size=32).astype(np.float32)
        query /= np.linalg.norm(query)
        scores = vectors[keep] @ query
        expected = ids[keep][np.argsort(-scores)[:10]]
        assert [i for i, _ in index.search(query, 10)] == list(expected)
        allowed = ids[::7]
        mask = np.isin(ids, allowed) & keep
        expected_allowed = ids[mask][np.argsort(-(vectors[mask] @ query))[:5]]
        assert [i for i, _ in index.search(query, 5, allowed)] == list(expected_allowed)


def test_common_words_are_left_to_the_dense_side_only_when_over_budget() -> None:
    from kb.store.lexical.base import affordable_words

    df = {"model": 40_000, "label": 12_000, "major": 500, "stop": 3_000}
    words = ["stop", "model", "majority", "label"]
    assert affordable_words(words, df, 6_000) == ["stop", "majority"]
    assert affordable_words(words, df, 10**9) == words
    assert affordable_words(["model"], df, 6_000) == []


def test_term_counts_follow_updates_and_deletes(kb: KnowledgeBase, tmp_path: Path) -> None:
    from kb.language.terms import document_frequencies

    corpus = tmp_path / "c"
    write(corpus / "a.md", markdown_doc("Drift", {"Alerts": "Drift alerts fire weekly."}))
    write(corpus / "b.md", markdown_doc("Serving", {"Latency": "Serving latency alerts."}))
    ingest_paths(kb, [corpus])
    write(corpus / "a.md", markdown_doc("Drift", {"Checks": "Population checks run daily."}))
    ingest_paths(kb, [corpus])
    kb.delete(kb.find_documents("b.md")[0].doc_id)
    texts = [f"{c.heading}\n{c.body}" for d in kb.list_documents() for c in kb.get_chunks(d.doc_id)]
    expected = dict(document_frequencies(texts))
    with sqlite3.connect(kb.home / "kb.sqlite") as db:
        stored = dict(db.execute("SELECT term, df FROM term_df WHERE df != 0").fetchall())
    assert stored == expected
