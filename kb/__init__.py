"""Knowledge base: stores documents and chunks, indexes them, and answers hybrid searches."""

from kb.embed import DEFAULT_MODEL_NAME, Embedder, SentenceTransformerEmbedder, default_model_path
from kb.errors import (
    EmptyQueryError,
    EmptyStoreError,
    KBError,
    ModelLoadError,
    NotFoundError,
    StoreMismatchError,
)
from kb.knowledge_base import KnowledgeBase, read_manifest
from kb.store import doc_id_for
from kb.types import (
    DOC_TYPES,
    SEARCH_MODES,
    ChunkInfo,
    ChunkInput,
    DocumentInfo,
    DocumentInput,
    DocumentMeta,
    Hit,
    Location,
    SearchFilters,
    WriteResult,
)

__all__ = [
    "DEFAULT_MODEL_NAME",
    "DOC_TYPES",
    "SEARCH_MODES",
    "ChunkInfo",
    "ChunkInput",
    "DocumentInfo",
    "DocumentInput",
    "DocumentMeta",
    "Embedder",
    "EmptyQueryError",
    "EmptyStoreError",
    "Hit",
    "KBError",
    "KnowledgeBase",
    "Location",
    "ModelLoadError",
    "NotFoundError",
    "SearchFilters",
    "SentenceTransformerEmbedder",
    "StoreMismatchError",
    "WriteResult",
    "default_model_path",
    "doc_id_for",
    "read_manifest",
]
