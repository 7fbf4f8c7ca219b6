"""Files to knowledge base, incrementally, searchable by their words at once.

A file whose content (and sidecar, and the defaults it was given) hashes as before is not
read further: nothing is parsed or embedded. Each parsed document is stored at once, in its
own transaction, with every chunk in the lexical index (findable by its words seconds after
it was read; never half visible); its chunks' vectors come after, from the store's queue
(`KnowledgeBase.embed_pending`): on a thread of this ingest while it goes on reading, or, with
`embed=False`, from whoever embeds next (`kb serve`, `kb worker`, the next `kb ingest`). The
encoder bounds a first ingest; reading and storing the words costs a small part of it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest import dense
from ingest.chunking import (
    TokenCounter,
    estimate_tokens,
    piece_cost,
    split_places,
    split_to_budget,
)
from ingest.errors import UnreadableFile
from ingest.exports import discover_with_exports
from ingest.formats.parsed import Parsed
from ingest.formats.registry import parse_bytes
from ingest.metadata import merge, parse_yaml_mapping, to_meta
from ingest.reading import ReadLimits
from ingest.sources.files import Failure, Limits, SourceFile
from kb import ChunkInput, DocumentInput, DocumentMeta, KnowledgeBase
from kb.background import BackgroundEmbedder
from kb.knowledge_base import EmbeddingProgress
from kb.sessions import infer_session
from kb.types import view_as

# Bump when parsing changes, so that every file is re-read once (4: .txt files shaped like a
# Zoom chat log are read as one; 5: slides, PDFs, Word files, web pages and chat logs get
# document types of their own; 6: notebook outputs are indexed for their words only, not
# embedded; 7: packed chunks keep each piece's place, and every document gets a date, where
# it came from, its review date and owner). Re-reading costs parsing only: the store reuses
# the vectors of chunk texts it already holds.
PARSER_VERSION = "7"
# A chunk's text (heading and body, special tokens included) in model tokens: the whole
# window of the default model (256 word pieces); a larger value is capped at the model's.
# Chosen on the labelled sample queries (see ingest.formats.markdown.MERGE_LEVEL).
DEFAULT_CHUNK_TOKENS = 256
# Without the model's tokenizer, chunks are sized by an estimate and kept to this many
# estimated tokens (the earlier default): some code and CJK still overflow a 256 window.
ESTIMATED_MAX_TOKENS = 200
# Chunks the ingest's embedder claims from the queue at a time (each claim is encoded
# shortest first, in the model's batches, then stored in one transaction).
BATCH_CHUNKS = 128

Progress = Callable[[int, int, str], None]


@dataclass
class IngestSummary:
    """What an ingest did, as `kb ingest --json` prints it and an ingest job's `summary`.

    failed: one {"path", "error"} per file skipped; embedded: chunk texts this run encoded;
    pending_embeddings: chunks of the store still waiting for their vectors when it returned
    (0 unless it was told not to wait); searchable_seconds: when every document read was
    findable by its words; seconds: wall time, to the millisecond.
    """

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    pending_embeddings: int = 0
    searchable_seconds: float = 0.0
    seconds: float = 0.0


@dataclass
class IngestReport(IngestSummary):
    """The summary plus each stored document ({"source", "doc_id", "status"}), for jobs."""

    documents: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> IngestSummary:
        return view_as(self, IngestSummary)


@dataclass(frozen=True)
class Defaults:
    """Metadata given for the whole run; a file's own metadata overrides it."""

    team: str | None = None
    course: str | None = None
    visibility: tuple[str, ...] = ()

    def as_layer(self) -> dict[str, Any]:
        return {"team": self.team, "course": self.course, "visibility": list(self.visibility)}


def _fingerprint(
    data: bytes, sidecar: bytes | None, defaults: Defaults, trail: tuple[str, ...] = ()
) -> str:
    digest = hashlib.sha256()
    digest.update(PARSER_VERSION.encode())
    digest.update(json.dumps(defaults.as_layer(), sort_keys=True).encode())
    digest.update(data)
    digest.update(b"\0sidecar\0" + (sidecar or b""))
    if trail:  # an export's page moved in its tree is read again (its headings change)
        digest.update(b"\0trail\0" + json.dumps(trail).encode())
    return digest.hexdigest()


_TOO_DEEP = "is nested too deeply to read (lists or mappings inside each other): flatten it"


def _unexpected(exc: Exception) -> str:
    """A failure entry for an error no parser meant to raise; short, one line."""
    detail = " ".join(str(exc).split())[:200]
    return f"could not be read ({type(exc).__name__}: {detail}); the rest of the batch went on"


def _title_from(source: str) -> str:
    stem = re.sub(r"^[\d_\-\s.]+", "", Path(source).name.split(".")[0]) or Path(source).name
    return stem.replace("_", " ").replace("-", " ").strip().capitalize() or source


def dated(meta: DocumentMeta, modified: str | None) -> DocumentMeta:
    """`meta` with its date and where that came from (kb.freshness): its own ("metadata":
    front matter, sidecar, the file's properties) or else the day the file was last modified
    ("file"); neither: no date."""
    if meta.date:
        return replace(meta, date_source="metadata")
    if modified:
        return replace(meta, date=modified, date_source="file")
    return meta


def _parse(
    file: SourceFile,
    data: bytes,
    budget: int,
    count_tokens: TokenCounter,
    limits: ReadLimits | None,
) -> Parsed:
    """The file's own parse when it has one (an export's Slack thread), else its format's."""
    if file.parse is not None:
        return file.parse(data, budget, count_tokens)
    return parse_bytes(data, file.suffix, budget, count_tokens, limits)


def build_document(
    file: SourceFile,
    data: bytes,
    sidecar: bytes | None,
    fingerprint: str,
    defaults: Defaults,
    budget: int,
    count_tokens: TokenCounter = estimate_tokens,
    limits: ReadLimits | None = None,
) -> DocumentInput:
    """Parse one file into a document with merged metadata and title-prefixed chunk headings,
    each chunk's text (heading and body) at most `budget` tokens by `count_tokens`.

    Metadata, weakest first: the run's defaults, the format's document properties, the
    sidecar, what the file's own text says (front matter, a NOTE block, notebook metadata)."""
    side = (
        parse_yaml_mapping(sidecar.decode("utf-8-sig", "replace"), "the sidecar") if sidecar else {}
    )
    parsed = _parse(file, data, budget, count_tokens, limits)
    raw = merge(defaults.as_layer(), parsed.properties, side, parsed.meta)
    meta = dated(to_meta(raw, parsed.title or _title_from(file.source)), file.modified)
    # the declared session, or the one its name or metadata gives (kb.sessions); a date
    # taken from the file's modification time says nothing of the event, so it infers none
    declared_date = meta.date if meta.date_source == "metadata" else None
    meta = replace(
        meta,
        session=infer_session(file.source, meta.course, meta.module, declared_date, meta.session),
    )
    # An export's page has the page tree above its title (`SourceFile.trail`).
    trail = "".join(f"{step} > " for step in file.trail)
    if trail or any(not chunk.heading.startswith(meta.title) for chunk in parsed.chunks):
        # Headings that do not start with the title get it in front: leave it room.
        room = budget - piece_cost(count_tokens)(f"{trail}{meta.title} > ")
        if parsed.rechunk is not None:  # the content already read, cut again
            parsed = replace(parsed, chunks=parsed.rechunk(room))
        else:
            parsed = _parse(file, data, room, count_tokens, limits)
    chunks = []
    for chunk in parsed.chunks:
        heading = chunk.heading
        if not heading.startswith(meta.title):
            heading = f"{meta.title} > {heading}" if heading else meta.title
        heading = trail + heading
        titled = ChunkInput(
            heading, chunk.body, chunk.location, dense.dense_body(chunk), chunk.places
        )
        if count_tokens(titled.embedding_text) <= budget:
            chunks.append(titled)
            continue
        room = budget - count_tokens(heading)  # a safety net: the parsers fit their budget
        pieces = split_to_budget(chunk.body, room, piece_cost(count_tokens))
        for piece, places in zip(
            pieces, split_places(chunk.body, pieces, chunk.places), strict=True
        ):
            # (the format's dense text no longer lines up with the pieces: they are embedded
            # whole, unless the chunk was to be found by its words only)
            lexical_only = chunk.dense_body == ""
            dense_body = "" if lexical_only else None
            chunks.append(ChunkInput(heading, piece, chunk.location, dense_body, places))
    return DocumentInput(
        origin=file.origin,
        source=file.source,
        type=parsed.type,
        content_hash=fingerprint,
        meta=meta,
        chunks=tuple(chunks),
        root=file.root,
    )


def _parse_one(
    file: SourceFile,
    data: bytes,
    sidecar: bytes | None,
    fingerprint: str,
    defaults: Defaults,
    budget: int,
    count_tokens: TokenCounter,
    limits: ReadLimits,
) -> DocumentInput | str:
    """The document, or why it failed: whatever parsing one file raises costs that file only
    (KeyboardInterrupt and other BaseExceptions still stop the run)."""
    try:
        return build_document(
            file, data, sidecar, fingerprint, defaults, budget, count_tokens, limits
        )
    except UnreadableFile as exc:
        return str(exc)
    except RecursionError:
        return _TOO_DEEP
    except Exception as exc:  # a parser's bug must cost one file, never the batch
        return _unexpected(exc)


def _read_and_parse(
    item: SourceFile,
    kb: KnowledgeBase,
    defaults: Defaults,
    budget: Callable[[], int],
    counter: TokenCounter,
    report: IngestReport,
    limits: ReadLimits,
) -> DocumentInput | None:
    """The file's document if it is new or changed; None when it is unchanged or failed (the
    report says which)."""
    try:
        data = item.read()
        sidecar = item.read_sidecar()
    except UnreadableFile as exc:
        report.failed.append({"path": item.source, "error": str(exc)})
        return None
    except OSError as exc:
        report.failed.append({"path": item.source, "error": f"cannot read: {exc}"})
        return None
    fingerprint = _fingerprint(data, sidecar, defaults, item.trail)
    if kb.is_unchanged(item.origin, fingerprint):
        report.unchanged += 1
        return None
    doc = _parse_one(item, data, sidecar, fingerprint, defaults, budget(), counter, limits)
    if isinstance(doc, str):
        report.failed.append({"path": item.source, "error": doc})
        return None
    return doc


# What other ways in (synced sources: ingest.sources.sync) use to read one file as this
# pipeline does: its fingerprint (content, sidecar, defaults) and its document or failure.
fingerprint = _fingerprint
parse_one = _parse_one


def chunk_budget(kb: KnowledgeBase, chunk_tokens: int, counter: TokenCounter) -> int:
    """The chunk budget `ingest_paths` uses: `chunk_tokens`, at most the model's window (and
    ESTIMATED_MAX_TOKENS when chunks are sized by an estimate)."""
    max_tokens = getattr(kb.embedder, "max_tokens", None) or chunk_tokens
    if counter is estimate_tokens:
        max_tokens = min(max_tokens, ESTIMATED_MAX_TOKENS)
    return min(chunk_tokens, max_tokens)


def ingest_paths(
    kb: KnowledgeBase,
    paths: Sequence[Path | str],
    team: str | None = None,
    course: str | None = None,
    *,
    visibility: Sequence[str] = (),
    prune: bool = False,
    limits: Limits | None = None,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    progress: Progress | None = None,
    names: Mapping[Path, str] | None = None,
    count_tokens: TokenCounter | None = None,
    batch_chunks: int = BATCH_CHUNKS,
    embed: bool = True,
    embedding_progress: EmbeddingProgress | None = None,
    files: Iterable[SourceFile | Failure] | None = None,
) -> IngestReport:
    """Ingest files, folders and .zip archives; never raises for a bad file, reports it.

    `names` maps uploaded (spooled) files to the names their uploader gave them. Chunks are
    packed up to `chunk_tokens` (at most the model's window) as counted by `count_tokens`:
    by default the embedder's own tokenizer when it offers one, else an estimate.

    Every document is searchable by its words as soon as it is read. With `embed` (the
    default) this call also gives the store's queued chunks their vectors, `batch_chunks` at
    a time, while it reads, and returns when none is left (`embedding_progress` is told how
    far it got); without, it returns once the words are stored, leaving the vectors to the
    next embedder. Interrupted (Ctrl-C), it stops after the chunks being encoded: what is
    stored stays searchable by its words, and the rest of its vectors are made next time.

    `files`, when given, are the files to read instead of what `paths` hold (a watched
    folder's changes, from `ingest.sources.files.discover_files`); `paths` then only name the
    roots that `prune` looks under.
    """
    counter = count_tokens or getattr(kb.embedder, "count_tokens", None) or estimate_tokens
    window: list[int] = []  # the model's, asked on the first parse (it may load the model)

    def budget() -> int:
        if not window:
            max_tokens = getattr(kb.embedder, "max_tokens", None) or chunk_tokens
            if counter is estimate_tokens:  # an estimate misjudges code and CJK: keep a margin
                max_tokens = min(max_tokens, ESTIMATED_MAX_TOKENS)
            window.append(min(chunk_tokens, max_tokens))
        return window[0]

    started = time.perf_counter()
    limits = limits or Limits()
    defaults = Defaults(team, course, tuple(visibility))
    report = IngestReport()
    found = list(
        discover_with_exports([Path(p) for p in paths], limits, names) if files is None else files
    )
    total = len(found)
    seen: set[str] = set()
    embedder = (
        BackgroundEmbedder(kb, claim=batch_chunks, progress=embedding_progress).start()
        if embed
        else None
    )

    def store(doc: DocumentInput) -> None:
        (result,) = kb.write_documents([doc])
        if result.status == "added":
            report.added += 1
        else:
            report.updated += 1
        report.chunks += len(doc.chunks)
        report.documents.append(
            {"doc_id": result.doc_id, "source": doc.source, "status": result.status}
        )

    try:
        for done, item in enumerate(found, start=1):
            if isinstance(item, Failure):
                report.failed.append({"path": item.path, "error": item.error})
            else:
                seen.add(item.origin)
                doc = _read_and_parse(item, kb, defaults, budget, counter, report, limits.reading())
                if doc is not None:
                    store(doc)
            if progress is not None:
                progress(done, total, item.source if isinstance(item, SourceFile) else item.path)
        # A newer export of a space replaces the older: its pages no longer there go (only
        # under that export's root, whatever --prune says; a page that failed is kept).
        for root in sorted({i.root for i in found if isinstance(i, SourceFile) and i.synced}):
            for origin, doc_id in kb.doc_ids_under(root).items():
                if origin not in seen:
                    kb.delete(doc_id)
                    report.removed += 1
        if prune:
            for given in paths:
                path = Path(given)
                if not path.exists():
                    continue  # a vanished argument is reported failed, never mass-deleted
                for origin, doc_id in kb.doc_ids_under(str(path.resolve())).items():
                    if origin not in seen:
                        kb.delete(doc_id)
                        report.removed += 1
        report.searchable_seconds = round(time.perf_counter() - started, 3)
        if embedder is not None:
            embedded = embedder.finish()
            report.embedded = embedded.embedded
    finally:
        if embedder is not None:
            embedder.stop()  # after Ctrl-C or an error: the chunks being encoded, no more
    report.pending_embeddings = kb.pending().chunks
    kb.flush()
    report.seconds = round(time.perf_counter() - started, 3)
    return report
