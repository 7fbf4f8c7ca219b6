"""One rule for words: the index, its term counts and the recommender's topic words count
the same words, and the source keeps one English stop-word list."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

from ingest import ingest_paths
from kb.knowledge_base import KnowledgeBase
from kb.language.terms import STOPWORDS, document_frequencies, lexemes, query_words
from recommender.content_gaps import topic_words
from tests.helpers import markdown_doc, write

ROOT = Path(__file__).resolve().parents[2]
TUNING = "Tuning LoRA adapters: tuned ranks, tunes and how to tune them."


def fts5_terms(text: str) -> set[str]:
    """The terms SQLite's FTS5 itself indexes for `text` (`porter unicode61`, the embedded
    store's tokenizer), read back through fts5vocab: the oracle for our own rule."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
    db.execute("INSERT INTO t(body) VALUES (?)", (text,))
    return {row[0] for row in db.execute("SELECT term FROM v")}


def test_our_lexemes_are_the_ones_fts5_indexes() -> None:
    """`lexemes` is the index's rule, not an approximation: "tuning" is "tune" to both."""
    assert set(lexemes(TUNING)) == fts5_terms(TUNING)
    assert lexemes("tuning tuned tunes tune") == ["tune"] * 4


def test_the_content_gap_report_counts_tuning_as_the_index_does() -> None:
    """Topic words are counted by the index's lexemes: three queries about tuning are one
    word asked three times (a lighter stemmer of its own had "tuning" as "tun")."""
    queries = [("tuning lora", 1), ("lora tuned badly", 1), ("how to tune", 1)]
    assert topic_words(queries, n=2) == ("tuning", "lora")  # tune: 3 times, lora: twice
    assert topic_words([("tuning", 1), ("tuned", 1), ("tune", 2)], n=3) == ("tune",)


def test_the_stored_term_counts_key_tuning_as_the_index_does(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """The embedded store's term counts (which the postings budget reads) hold the lexemes
    FTS5 holds, so a query for "tuning" is priced by the chunks that FTS5 matches."""
    corpus = tmp_path / "c"
    write(corpus / "a.md", markdown_doc("Adapters", {"Rank": TUNING}))
    write(corpus / "b.md", markdown_doc("Serving", {"Latency": "We tune the batch size."}))
    ingest_paths(kb, [corpus])
    with sqlite3.connect(kb.home / "kb.sqlite") as db:
        stored = dict(db.execute("SELECT term, df FROM term_df WHERE df > 0").fetchall())
    assert stored["tune"] == 2 and "tun" not in stored and "tuning" not in stored
    assert document_frequencies([TUNING, "We tune the batch size."])["tune"] == 2
    assert {h.source for h in kb.search("tuning", k=5, mode="lexical")} == {"a.md", "b.md"}


def _module_names(tree: ast.Module) -> set[str]:
    """The names a module assigns at its top level (where a word list would live)."""
    names: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def test_one_english_stop_word_list_exists_and_everyone_imports_it() -> None:
    """kb.language.terms.STOPWORDS is the only English stop-word list in the source: no other
    module defines one (a name with STOPWORDS or STOP_WORDS in it) or borrows scikit-learn's."""
    owners = []
    for package in ("kb", "ingest", "recommender", "api", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            assert "ENGLISH_STOP_WORDS" not in source, f"{path}: use kb.language.terms.STOPWORDS"
            names = _module_names(ast.parse(source))
            if any("STOPWORDS" in n.upper() or "STOP_WORDS" in n.upper() for n in names):
                owners.append(str(path.relative_to(ROOT)))
    assert owners == ["kb/language/terms.py"]


def test_the_stop_words_leave_a_question_its_topic() -> None:
    """A question loses its function words and filler, never its topic; a query of nothing
    but stop words keeps them all rather than search for nothing."""
    assert query_words("How do I get LoRA tuning to work with fewer ranks?") == [
        "lora",
        "tuning",
        "work",
        "fewer",
        "ranks",
    ]
    assert query_words("what is it") == ["what", "is", "it"]
    assert {"the", "how", "get", "want"} <= STOPWORDS
