"""The knowledge base's value types: what goes in (DocumentInput) and what comes out (Hit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

if TYPE_CHECKING:
    import numpy as np

DocType = Literal[
    "markdown", "notebook", "transcript", "text", "slides", "pdf", "word", "webpage", "chat"
]
DOC_TYPES: tuple[DocType, ...] = get_args(DocType)
SearchMode = Literal["hybrid", "dense", "lexical"]
SEARCH_MODES: tuple[SearchMode, ...] = get_args(SearchMode)

# The value types below that leave the process (Hit, Document, DocumentDetail, ChunkView) are
# their own JSON shape: the CLI's `--json` and the HTTP responses serialise their fields as
# they are, so a field added here shows up in both (and in the OpenAPI schema) by itself.

_View = TypeVar("_View")


def view_as(value: object, shape: type[_View]) -> _View:
    """`value`'s public view: the dataclass `shape` (a base class of its type) built from the
    fields they share, leaving out what only the process needs (origins, hashes...)."""
    return shape(**{f.name: getattr(value, f.name) for f in fields(shape)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Location:
    """Where a chunk sits in its document: a human label and a machine anchor to open it at.

    label: "Setup > Installing", "cells 3-5", "00:01:02-00:02:10".
    anchor: a heading slug, "cell-3", or "t=62" (seconds), for links that open at the place.
    """

    label: str
    anchor: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Place:
    """Where one piece packed into a chunk begins: the character offset in the chunk's body
    at which its text starts, and its own location (a page, a cell, a message's time).

    A chunk packed from several pieces keeps one per piece, in order, so that a hit (or a
    quoted sentence) points at the piece it is in rather than at the chunk's first
    (`kb.search.places`)."""

    start: int
    location: Location


def embedding_text(heading: str, body: str) -> str:
    """The text a chunk is embedded (and hashed) as: its heading path, then its body."""
    return f"{heading}\n{body}" if heading else body


@dataclass(frozen=True)
class ChunkInput:
    """One piece of a document to index. `heading` gives context and is embedded with `body`.

    Every word of `body` is indexed for lexical search; the dense side embeds the heading
    with `dense_body` instead when a format gives one (a notebook cell without its outputs),
    and nothing when it is "" (the chunk is found by its words only)."""

    heading: str
    body: str
    location: Location
    dense_body: str | None = None
    # Where each packed piece begins in `body` (in order, the first at 0); () for a chunk of
    # one piece, whose place is its `location`.
    places: tuple[Place, ...] = ()

    @property
    def embedding_text(self) -> str:
        """The chunk's whole text: heading, then body (what its size is counted on)."""
        return embedding_text(self.heading, self.body)

    @property
    def dense_text(self) -> str | None:
        """What the model encodes for this chunk; None when it has no vector."""
        if self.dense_body == "":
            return None
        return embedding_text(
            self.heading, self.body if self.dense_body is None else self.dense_body
        )

    @property
    def text_key(self) -> str:
        """What the chunk's text hash is of: the text encoded (so that a vector is reused for
        the same text only), or the whole text when nothing is."""
        return self.dense_text if self.dense_text is not None else self.embedding_text


@dataclass(frozen=True)
class DocumentMeta:
    """Descriptive metadata, from front matter, notebook metadata, sidecars or CLI defaults."""

    title: str = ""
    team: str | None = None
    course: str | None = None
    module: str | None = None
    author: str | None = None
    date: str | None = None
    skills: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    visibility: tuple[str, ...] = ()  # team ids allowed to see it; empty = everyone
    # freshness (kb.freshness): where `date` came from ("metadata", "file", "commit"), the
    # day the material is due for review, and who looks after it (an employee id)
    date_source: str | None = None
    review_by: str | None = None
    owner: str | None = None
    session: str | None = None  # the training event it belongs to (declared or inferred)
    # where to read it at its origin: a synced source's link template filled in with the
    # commit and path it was read at (kb.sources, docs/sources.md); None: no link
    link: str | None = None


@dataclass(frozen=True)
class DocumentInput:
    """A parsed document ready to store.

    origin identifies the document across runs (an absolute path, "zip!/inner", "upload:name");
    source is what users see (the path relative to the folder given); root is the folder the
    document was found under, so that `--prune` knows what a vanished file belonged to.
    """

    origin: str
    source: str
    type: DocType
    content_hash: str
    meta: DocumentMeta
    chunks: tuple[ChunkInput, ...]
    root: str | None = None


def visible_to(visibility: Sequence[str], teams: tuple[str, ...] | None) -> bool:
    """The visibility rule: `teams` None (a trusted caller) sees everything; otherwise a
    document restricted to some teams needs one of them in `teams`.

    `kb.store.sqlite.visibility_clause` is the same rule in SQL, for searches and listings; a test
    checks the two against each other.
    """
    return teams is None or not visibility or bool(set(visibility) & set(teams))


@dataclass(frozen=True)
class Document:
    """A stored document as clients see it (`kb docs --json`, `GET /documents`).

    visibility: the team ids allowed to see it; empty: everyone. date_source: where `date`
    came from ("metadata", "file": the file's modification time at ingest; None for a document
    stored before dates were kept); review_by, owner: from its metadata (kb.freshness).
    """

    doc_id: str
    source: str
    title: str
    type: DocType
    team: str | None
    course: str | None
    module: str | None
    skills: tuple[str, ...]
    tags: tuple[str, ...]
    author: str | None
    date: str | None
    n_chunks: int
    visibility: tuple[str, ...] = ()
    date_source: str | None = None
    review_by: str | None = None
    owner: str | None = None
    # the training event it belongs to: `session:` in its metadata, or inferred from a shared
    # dated file stem or course+module+date (kb.sessions.infer_session); None: none
    session: str | None = None
    # where to read it at its origin (a Git source's file at the commit read; docs/sources.md)
    link: str | None = None

    def visible_to(self, teams: tuple[str, ...] | None) -> bool:
        return visible_to(self.visibility, teams)


@dataclass(frozen=True)
class DocumentInfo(Document):
    """A stored document with what only ingestion needs: where it came from, its hash, the
    folder it was ingested from (for `--prune`)."""

    origin: str = ""
    content_hash: str = ""
    root: str | None = None

    def as_input(self, chunks: Sequence[ChunkInfo]) -> DocumentInput:
        """The document as it was given to the store, to copy it into another store."""
        meta = DocumentMeta(
            title=self.title,
            team=self.team,
            course=self.course,
            module=self.module,
            author=self.author,
            date=self.date,
            skills=self.skills,
            tags=self.tags,
            visibility=self.visibility,
            date_source=self.date_source,
            review_by=self.review_by,
            owner=self.owner,
            session=self.session,
            link=self.link,
        )
        return DocumentInput(
            origin=self.origin,
            source=self.source,
            type=self.type,
            content_hash=self.content_hash,
            meta=meta,
            chunks=tuple(
                ChunkInput(c.heading, c.body, c.location, places=c.places) for c in chunks
            ),
            root=self.root,
        )

    def public(self) -> Document:
        return view_as(self, Document)


@dataclass(frozen=True)
class ChunkView:
    """A chunk as clients see it (`kb show`, `GET /documents/{id}`): its text (heading not
    repeated), the place's label and anchor, and the format's details (cells, times...)."""

    chunk_id: int
    ordinal: int
    heading: str
    text: str
    location: str
    anchor: str
    detail: dict[str, Any]
    # The pieces packed into it, each {"start" (offset in `text`), "label", "anchor"}; empty
    # for a chunk of one piece (or stored before places were kept).
    places: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ChunkInfo:
    chunk_id: int
    doc_id: str
    ordinal: int
    heading: str
    body: str
    location: Location
    places: tuple[Place, ...] = ()  # see ChunkInput.places

    def view(self) -> ChunkView:
        return ChunkView(
            chunk_id=self.chunk_id,
            ordinal=self.ordinal,
            heading=self.heading,
            text=self.body,
            location=self.location.label,
            anchor=self.location.anchor,
            detail=self.location.detail,
            places=tuple(
                {"start": p.start, "label": p.location.label, "anchor": p.location.anchor}
                for p in self.places
            ),
        )


@dataclass(frozen=True)
class DocumentDetail(Document):
    """A document with its chunks, in order (`kb show`, `GET /documents/{id}`), and whether
    it may be out of date as a hit on it says (`stale`, `stale_reason`: kb.freshness, the
    same rule as search's)."""

    chunks: tuple[ChunkView, ...] = ()
    stale: bool = False
    stale_reason: str | None = None

    @classmethod
    def of(
        cls,
        doc: Document,
        chunks: Sequence[ChunkInfo],
        stale: bool = False,
        stale_reason: str | None = None,
    ) -> DocumentDetail:
        return cls(
            **vars(view_as(doc, Document)),
            chunks=tuple(c.view() for c in chunks),
            stale=stale,
            stale_reason=stale_reason,
        )


@dataclass(frozen=True)
class SearchFilters:
    """Restrict a search; every field set must match.

    `viewer_teams` enforces visibility: None means no restriction (a trusted caller); a tuple
    hides the documents restricted to teams outside it.
    """

    team: str | None = None
    course: str | None = None
    type: str | None = None
    skill: str | None = None
    module: str | None = None
    tag: str | None = None
    viewer_teams: tuple[str, ...] | None = None
    session: str | None = None  # one training event's material (kb.sessions)

    def is_empty(self) -> bool:
        return (
            all(
                value is None
                for value in (
                    self.team,
                    self.course,
                    self.type,
                    self.skill,
                    self.module,
                    self.tag,
                    self.session,
                )
            )
            and self.viewer_teams is None
        )


@dataclass(frozen=True)
class AlsoIn:
    """Another document of a hit's duplicate group (kb.dedupe): a near copy stored elsewhere."""

    doc_id: str
    source: str
    title: str


@dataclass(frozen=True)
class Hit:
    """One search result: the best chunk of a document, with the document's metadata.

    location/anchor: the place of the chunk's best-matching piece for the query (a page, a
    cell, a message's time: `kb.search.places`), else the chunk's own; chunk_location: the
    whole chunk's label (a range when pieces were packed into it); score: the
    fused (or dense, or BM25) score, rounded to 6 decimals; snippet: HTML-escaped text with the
    matched words in <mark>.
    also_in: the other documents of its near-duplicate group the reader may see (kb.dedupe):
    search shows a group once, at its best-ranked member.

    date, date_source, review_by, owner: the document's (kb.freshness); stale: it may be out
    of date (past `review_by`, or older than its skills' threshold), stale_reason: why, as a
    sentence (None when fresh).
    """

    doc_id: str
    chunk_id: int
    source: str
    title: str
    type: DocType
    location: str
    anchor: str
    score: float
    snippet: str
    team: str | None
    course: str | None
    module: str | None
    skills: tuple[str, ...]
    tags: tuple[str, ...]
    author: str | None
    chunk_location: str = ""
    also_in: tuple[AlsoIn, ...] = ()
    date: str | None = None
    date_source: str | None = None
    review_by: str | None = None
    owner: str | None = None
    stale: bool = False
    stale_reason: str | None = None
    # Sessions (kb.search.sessions, docs/sessions.md): the training event the document
    # belongs to; the session's other parts when its hits were collapsed into this one; the
    # slide on screen at a transcript hit's moment, or the moment that discusses a slide hit.
    session: str | None = None
    parts: tuple[SessionPart, ...] = ()
    slide: MatchedPlace | None = None
    moment: MatchedPlace | None = None
    # where to read the document at its origin (a synced source's link; docs/sources.md)
    link: str | None = None


@dataclass(frozen=True)
class SessionPart:
    """Another document of a hit's session (`Hit.parts`): where it matched the query
    (`matched`, at `location`/`anchor`), or, when it did not, its first place."""

    doc_id: str
    source: str
    title: str
    type: DocType
    location: str
    anchor: str
    matched: bool


@dataclass(frozen=True)
class MatchedPlace:
    """A place in another document of the session that goes with a hit's place: the slide
    whose text best matches a transcript moment (`Hit.slide`), or the transcript moment that
    best discusses a slide (`Hit.moment`); `score` is their TF-IDF cosine similarity."""

    doc_id: str
    source: str
    location: str
    anchor: str
    score: float


@dataclass(frozen=True)
class EmbeddedBatch:
    """Documents with a vector for each chunk text (by text hash), ready to be stored;
    `fresh` are the hashes this batch had to encode, the others were reused."""

    docs: tuple[DocumentInput, ...]
    hashes: list[str]
    vectors: dict[str, np.ndarray]
    fresh: frozenset[str]


@dataclass(frozen=True)
class WriteResult:
    """What storing one document did: 'added', 'updated' or 'unchanged', and how many chunk
    texts had to be embedded (the rest were reused)."""

    doc_id: str
    status: str
    embedded: int = 0
