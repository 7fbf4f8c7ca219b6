"""The knowledge base's value types: what goes in (DocumentInput) and what comes out (Hit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

DocType = Literal["markdown", "notebook", "transcript", "text"]
DOC_TYPES: tuple[str, ...] = ("markdown", "notebook", "transcript", "text")
SearchMode = Literal["hybrid", "dense", "lexical"]
SEARCH_MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")


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
class ChunkInput:
    """One piece of a document to index. `heading` gives context and is embedded with `body`."""

    heading: str
    body: str
    location: Location

    @property
    def embedding_text(self) -> str:
        return f"{self.heading}\n{self.body}" if self.heading else self.body


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


@dataclass(frozen=True)
class DocumentInput:
    """A parsed document ready to store.

    origin identifies the document across runs (an absolute path, "zip!/inner", "upload:name");
    source is what users see (the path relative to the folder given); root is the folder the
    document was found under, so that `--prune` knows what a vanished file belonged to.
    """

    origin: str
    source: str
    type: str
    content_hash: str
    meta: DocumentMeta
    chunks: tuple[ChunkInput, ...]
    root: str | None = None


def visible_to(visibility: Sequence[str], teams: tuple[str, ...] | None) -> bool:
    """The visibility rule: `teams` None (a trusted caller) sees everything; otherwise a
    document restricted to some teams needs one of them in `teams`.

    `kb.store.visibility_clause` is the same rule in SQL, for searches and listings; a test
    checks the two against each other.
    """
    return teams is None or not visibility or bool(set(visibility) & set(teams))


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    source: str
    title: str
    type: str
    team: str | None
    course: str | None
    module: str | None
    skills: tuple[str, ...]
    tags: tuple[str, ...]
    author: str | None
    date: str | None
    n_chunks: int
    visibility: tuple[str, ...] = ()
    origin: str = ""
    content_hash: str = ""

    def visible_to(self, teams: tuple[str, ...] | None) -> bool:
        return visible_to(self.visibility, teams)

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "type": self.type,
            "team": self.team,
            "course": self.course,
            "module": self.module,
            "skills": list(self.skills),
            "tags": list(self.tags),
            "author": self.author,
            "date": self.date,
            "n_chunks": self.n_chunks,
            "visibility": list(self.visibility),
        }


@dataclass(frozen=True)
class ChunkInfo:
    chunk_id: int
    doc_id: str
    ordinal: int
    heading: str
    body: str
    location: Location

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "ordinal": self.ordinal,
            "heading": self.heading,
            "text": self.body,
            "location": self.location.label,
            "anchor": self.location.anchor,
            "detail": self.location.detail,
        }


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

    def is_empty(self) -> bool:
        return (
            all(
                value is None
                for value in (self.team, self.course, self.type, self.skill, self.module, self.tag)
            )
            and self.viewer_teams is None
        )


@dataclass(frozen=True)
class Hit:
    doc_id: str
    chunk_id: int
    source: str
    title: str
    type: str
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "chunk_id": self.chunk_id,
            "source": self.source,
            "title": self.title,
            "type": self.type,
            "location": self.location,
            "anchor": self.anchor,
            "score": round(self.score, 6),
            "snippet": self.snippet,
            "team": self.team,
            "course": self.course,
            "module": self.module,
            "skills": list(self.skills),
            "tags": list(self.tags),
            "author": self.author,
        }


@dataclass(frozen=True)
class WriteResult:
    """What storing one document did: 'added', 'updated' or 'unchanged', and how many chunk
    texts had to be embedded (the rest were reused)."""

    doc_id: str
    status: str
    embedded: int = 0
