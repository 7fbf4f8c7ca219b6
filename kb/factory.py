"""The one way to build a knowledge base: the command line, the HTTP app and the tests all
call `open_knowledge_base`, so a new backend or embedder is chosen here and nowhere else."""

from __future__ import annotations

from pathlib import Path

from kb.embed import Embedder, SentenceTransformerEmbedder
from kb.knowledge_base import KnowledgeBase


def open_knowledge_base(
    home: Path, *, model: str | None = None, embedder: Embedder | None = None
) -> KnowledgeBase:
    """Open (or create) the knowledge base in `home`.

    `embedder` shares a model that is already loaded (tests, benchmarks); otherwise the model
    folder `model` (default: all-MiniLM-L6-v2 from its PyPI package) loads on first embedding.
    """
    return KnowledgeBase(home, embedder or SentenceTransformerEmbedder(model))
