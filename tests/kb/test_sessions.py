"""Sessions: the inference rules (kb.sessions), a store made before sessions gets them when
opened, and the slide matched to each labelled moment of the sample's session (>= 80%, the
issue's bar; bench/sessions.py reports the figures)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from ingest import ingest_paths
from kb import SentenceTransformerEmbedder, open_knowledge_base
from kb.search.sessions import PairMatch, chunk_text, group_by_session, similarities
from kb.sessions import dated_stem, infer_session
from tests.conftest import SAMPLE
from tests.fakes import HashingEmbedder

CHECKS = [
    json.loads(line)
    for line in (SAMPLE / "sessions" / "slide-checks.jsonl").read_text().splitlines()
]


@pytest.mark.parametrize(
    ("source", "course", "module", "date", "declared", "expected"),
    [
        # a declared session wins, kept as written
        ("notes.md", "c", "m", "2026-04-14", " Spring Kick-off ", "Spring Kick-off"),
        # a shared stem after an ISO date, whatever the folder and the suffixes
        ("talks/2024-04-12-lora.vtt", None, None, None, None, "2024-04-12-lora"),
        ("2024-04-12-lora.pptx", "c", "m", "2026-01-01", None, "2024-04-12-lora"),
        ("x.zip!/2024-04-12_LoRA.srt.txt", None, None, None, None, "2024-04-12-lora"),
        # then the same course, module and date
        ("chat.txt", "LLM", "llm-lora", "2026-04-14", None, "llm/llm-lora/2026-04-14"),
        # a month is not a date; a lone date is no stem; missing metadata is no session
        ("2026-05-recsys-als.md", "c", None, "2026-05-07", None, None),
        ("2024-04-12.vtt", None, None, None, None, None),
        ("notes.md", "c", "m", None, None, None),
        ("notes.md", "c", "m", "spring", None, None),
    ],
)
def test_inference_rules(
    source: str,
    course: str | None,
    module: str | None,
    date: str | None,
    declared: str | None,
    expected: str | None,
) -> None:
    assert infer_session(source, course, module, date, declared) == expected


def test_dated_stem_ignores_every_suffix() -> None:
    assert dated_stem("a/2026-04-14-labelling-guidelines.txt") == "2026-04-14-labelling-guidelines"
    assert dated_stem("labelling-guidelines.txt") is None


def test_grouping_keeps_order_and_the_documents_outside_sessions() -> None:
    fused = [("t", 1, 0.9), ("x", 2, 0.8), ("s", 3, 0.7), ("y", 4, 0.6), ("c", 5, 0.5)]
    grouped = group_by_session(fused, {"t": "A", "s": "A", "c": "A", "y": "B"})
    assert grouped.fused == [("t", 1, 0.9), ("x", 2, 0.8), ("y", 4, 0.6)]
    assert grouped.matched == {"t": [("s", 3), ("c", 5)], "y": []}


def test_a_store_made_before_sessions_gets_them_when_opened(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    shutil.copytree(SAMPLE / "sessions", tmp_path / "corpus")
    home = tmp_path / "home"
    base = open_knowledge_base(home, embedder=fake_embedder)
    ingest_paths(base, [tmp_path / "corpus"])
    base.close()
    with sqlite3.connect(home / "kb.sqlite") as db:  # as a store of the previous release
        db.execute("DROP INDEX documents_session")
        db.execute("ALTER TABLE documents DROP COLUMN session")
    base = open_knowledge_base(home, embedder=fake_embedder)
    try:
        sessions = {d.source: d.session for d in base.list_documents()}
    finally:
        base.close()
    # inferred from names and metadata again; a declared session needs a re-ingest
    assert sessions["2026-04-14-labelling-guidelines.vtt"] == "2026-04-14-labelling-guidelines"
    assert sessions["2026-04-14-labelling-guidelines.pptx"] == "2026-04-14-labelling-guidelines"
    assert sessions["labelling-guidelines-what-changed.md"] == (
        "nlp-sentiment/nlp-preprocessing/2026-04-16"
    )


def test_chinese_words_match_their_slide() -> None:
    scores = similarities(
        ["反讽的评论要标为负面，比如又坏了"], ["标注一致性 kappa", "反讽：又坏了，标为负面"]
    )
    assert PairMatch.of(scores).slide_for[0][0] == 1


def test_the_labelled_slide_is_matched_to_each_moment(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """The issue's bar: >= 80% of the labelled moments get the slide that was on screen, by
    TF-IDF alone (while vectors are pending) and by what search uses once they are stored."""
    base = open_knowledge_base(tmp_path / "home", embedder=embedder)
    try:
        ingest_paths(base, [SAMPLE / "sessions"])
        base.embed_pending()
        (transcript,) = base.find_documents(CHECKS[0]["transcript"])
        (deck,) = base.find_documents(CHECKS[0]["deck"])
        moments, slides = base.get_chunks(transcript.doc_id), base.get_chunks(deck.doc_id)
        words_only = PairMatch.of(
            similarities([chunk_text(c) for c in moments], [chunk_text(c) for c in slides])
        )
        searched = base.searcher.sessions.match(transcript, moments, deck, slides)
    finally:
        base.close()
    assert searched.with_vectors

    def accuracy(match: PairMatch) -> float:
        right = 0
        for check in CHECKS:
            index = next(
                i
                for i, c in enumerate(moments)
                if c.location.detail["start"] <= check["t"] <= c.location.detail["end"] + 1
            )
            slide = slides[match.slide_for[index][0]].location.detail["slide"]
            right += slide == check["slide"]
        return right / len(CHECKS)

    assert len(CHECKS) >= 10
    assert accuracy(words_only) >= 0.8
    assert accuracy(searched) >= 0.8
