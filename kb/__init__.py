"""Knowledge base: stores documents and chunks, indexes them, and answers hybrid searches.

- `types.py` (the value types), `errors.py`; `store.py` (SQLite: documents, chunks,
  embeddings, FTS5, the change log other processes replay); `vectors.py` (the vector index
  seam, `VectorIndex`, and faiss behind it); `embed.py` (the `Embedder` seam and the
  sentence-transformers model); `search.py` (dense + lexical, fused); `knowledge_base.py`
  (the three kept in step, across threads and processes); `factory.py`
  (`open_knowledge_base`, the one constructor every interface and test uses).

A new embedder implements `Embedder` and is chosen in `factory.py`; a new vector index
implements `VectorIndex`; a new store backend is chosen in `factory.py` too. `KnowledgeBase`
(and with it faiss) is imported on first use, so that the value types and errors (`kb.types`,
`kb.errors`, `kb.safe_yaml`) cost nothing to import for ingest and the recommender.
"""

from typing import TYPE_CHECKING, Any

from kb.embed.base import DEFAULT_MODEL_NAME, Embedder, default_model_path
from kb.embed.onnx import OnnxEmbedder, default_cache_dir
from kb.embed.registry import VARIANTS, make_embedder
from kb.embed.scheduler import BatchEncoder, EncoderScheduler
from kb.embed.torch import SentenceTransformerEmbedder
from kb.errors import (
    EmptyQueryError,
    EmptyStoreError,
    KBError,
    ModelLoadError,
    NotFoundError,
    StoreMismatchError,
)
from kb.store.rows import doc_id_for
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
    visible_to,
)

if TYPE_CHECKING:
    from kb.factory import open_knowledge_base
    from kb.knowledge_base import KnowledgeBase, read_manifest
    from kb.reembed import ReembedReport, reembed

_LAZY = {
    "KnowledgeBase": "kb.knowledge_base",
    "read_manifest": "kb.knowledge_base",
    "open_knowledge_base": "kb.factory",
    "reembed": "kb.reembed",
    "ReembedReport": "kb.reembed",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kb' has no attribute {name!r}")


__all__ = [
    "DEFAULT_MODEL_NAME",
    "DOC_TYPES",
    "SEARCH_MODES",
    "VARIANTS",
    "BatchEncoder",
    "ChunkInfo",
    "ChunkInput",
    "DocumentInfo",
    "DocumentInput",
    "DocumentMeta",
    "Embedder",
    "EncoderScheduler",
    "EmptyQueryError",
    "EmptyStoreError",
    "Hit",
    "KBError",
    "KnowledgeBase",
    "Location",
    "ModelLoadError",
    "NotFoundError",
    "OnnxEmbedder",
    "ReembedReport",
    "SearchFilters",
    "SentenceTransformerEmbedder",
    "StoreMismatchError",
    "WriteResult",
    "default_cache_dir",
    "default_model_path",
    "doc_id_for",
    "open_knowledge_base",
    "make_embedder",
    "read_manifest",
    "reembed",
    "visible_to",
]
