"""The one place where the pieces are put together: model + store = knowledge base."""

from __future__ import annotations

from pathlib import Path

from kb import KnowledgeBase, SentenceTransformerEmbedder


def open_knowledge_base(home: Path, model: str | None = None) -> KnowledgeBase:
    """Open (or create) the knowledge base in `home`; the model loads on first embedding."""
    return KnowledgeBase(home, SentenceTransformerEmbedder(model))
