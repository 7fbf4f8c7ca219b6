"""Copy a knowledge base from one store to another without re-embedding: the embedded home
into PostgreSQL (`kb migrate --to postgresql://...`), or back.

Each document is copied in one transaction of the target with its chunks and their stored
vectors, and documents the target already holds unchanged (same origin, same content hash)
are skipped: an interrupted migration is resumed by running it again. The target must be
empty or hold vectors of the same model, variant and dimension. What the organisers wrote
and the store keeps beside its documents (`COPIED_META`: their glossary) comes along.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kb.errors import StoreMismatchError
from kb.store.base import ORGANISERS_KEY, DocumentStore

Progress = Callable[[int, int, str], None]
# Kept beside the documents and copied as is, when the source holds them; the rest of the meta
# is the store's own (its format, its vectors' model) or is rebuilt (the learned ranking).
COPIED_META = (ORGANISERS_KEY,)


@dataclass(frozen=True)
class MigrationReport:
    documents: int  # in the source
    copied: int
    unchanged: int  # already in the target (a resumed run)
    chunks: int  # copied


def _vectors_key(manifest: dict[str, object]) -> tuple[object, object, object]:
    return manifest.get("model"), manifest.get("variant"), manifest.get("dim")


def migrate_store(
    source: DocumentStore, target: DocumentStore, progress: Progress | None = None
) -> MigrationReport:
    """Copy every document of `source` into `target`, vectors as stored."""
    manifest = source.read_manifest()
    if manifest is None:
        raise StoreMismatchError(
            f"There is no knowledge base in {source.location} to migrate: ingest into it "
            "first, or point --home at the one to copy."
        )
    held = target.read_manifest()
    if held is None:
        held = target.write_manifest({**manifest, "backend": target.backend})
    if _vectors_key(held) != _vectors_key(manifest):
        raise StoreMismatchError(
            f"{target.location} holds vectors of {held.get('model')} ({held.get('variant')}, "
            f"dimension {held.get('dim')}), {source.location} of {manifest.get('model')} "
            f"({manifest.get('variant')}, dimension {manifest.get('dim')}): vectors of two "
            "models never mix; migrate into an empty database, or `kb reembed` one first."
        )
    documents = source.list_documents()
    copied = unchanged = chunks = 0
    for done, doc in enumerate(documents, start=1):
        if target.content_hash_of(doc.origin) == doc.content_hash:
            unchanged += 1
        else:
            stored = source.get_chunks(doc.doc_id)
            ids, vectors = source.vectors_of([chunk.chunk_id for chunk in stored])
            by_id = dict(zip(ids.tolist(), vectors, strict=True))
            now = [chunk.chunk_id for chunk in source.get_chunks(doc.doc_id)]
            if now != [chunk.chunk_id for chunk in stored]:  # changed meanwhile: next run
                continue
            # A chunk still waiting for its vector in the source waits for it in the target.
            ordered = [by_id.get(chunk.chunk_id) for chunk in stored]
            target.replace_document(doc.as_input(stored), ordered)
            copied += 1
            chunks += len(stored)
        if progress is not None:
            progress(done, len(documents), doc.source)
    for key in COPIED_META:
        value = source.get_meta(key)
        if value is not None:
            target.set_meta(key, value)
    return MigrationReport(len(documents), copied, unchanged, chunks)


__all__ = ["COPIED_META", "MigrationReport", "migrate_store"]
