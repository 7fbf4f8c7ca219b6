"""The Chinese stand-in, one contract on every backend: an English question about a Chinese
page reaches it first when `chinese_stand_in` is on, and not otherwise (the store's lexical
search and chunk rows are all it reads). Real model, the four small pages of
tests/kb/test_chinese_stand_in.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.backends import open_backend
from ingest import ingest_paths
from kb import KnowledgeBase, SentenceTransformerEmbedder
from kb.language.organisers import parse_glossary
from tests.helpers import write
from tests.kb.test_chinese_stand_in import CHINESE, ENGLISH, GLOSSARY, QUERY


@pytest.fixture
def mixed_on(
    backend_url: str | None, tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> Iterator[KnowledgeBase]:
    for name, text in {**ENGLISH, **CHINESE}.items():
        write(tmp_path / "pages" / name, text)
    base = open_backend(tmp_path / "home", backend_url).open_knowledge_base(embedder=embedder)
    report = ingest_paths(base, [tmp_path / "pages"])
    assert not report.failed, report.failed
    base.searcher.glossary.set_organisers(parse_glossary(GLOSSARY, "glossary.yaml"))
    yield base
    base.close()


def test_the_stand_in_leads_with_the_chinese_page_on_every_backend(
    mixed_on: KnowledgeBase,
) -> None:
    first: dict[bool, str] = {}
    for on in (False, True):
        mixed_on.searcher.chinese_stand_in = on
        first[on] = mixed_on.search(QUERY, k=3)[0].source
    assert first == {False: "validation.md", True: "overfitting-zh.md"}
