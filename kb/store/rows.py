"""Rows and SQL that every document store shares: ids and hashes, a document from its
columns, locations as JSON, the manifest file, and the one rule for filters and visibility
(`filters_in`), which each backend writes in its own SQL dialect (`FilterSql`)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.errors import StoreMismatchError
from kb.sessions import infer_session
from kb.store.base import MANIFEST
from kb.types import DocumentInfo, DocumentInput, Location, Place, SearchFilters

if TYPE_CHECKING:
    pass


def read_manifest(home: Path) -> dict[str, Any] | None:
    """The manifest of the embedded store in `home` (None: no store there yet)."""
    path = home / MANIFEST
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StoreMismatchError(
            f"{path} is unreadable ({exc}); restore it or use another --home."
        ) from exc
    return data


def write_atomically(path: Path, text: str) -> None:
    """Two processes creating one home at once each write the whole file or nothing."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def doc_id_for(origin: str) -> str:
    """Stable id: the same file keeps its id across re-ingests and edits."""
    return hashlib.sha1(origin.encode("utf-8")).hexdigest()[:16]


def vectors_key(model: str, variant: str) -> str:
    """How the store's meta names what its vectors are of."""
    return json.dumps({"model": model, "variant": variant}, sort_keys=True)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def doc_from_row(
    row: Sequence[Any], as_list: Callable[[Any], Sequence[str]] = json.loads
) -> DocumentInfo:
    """A document from the columns `_DOC_COLUMNS` lists (both backends select the same);
    `as_list` reads a list column (JSON text in SQLite, an array in PostgreSQL)."""
    return DocumentInfo(
        doc_id=row[0],
        source=row[1],
        title=row[2],
        type=row[3],
        team=row[4],
        course=row[5],
        module=row[6],
        skills=tuple(as_list(row[7])),
        tags=tuple(as_list(row[8])),
        author=row[9],
        date=row[10],
        visibility=tuple(as_list(row[11])),
        origin=row[12],
        content_hash=row[13],
        n_chunks=int(row[14]),
        root=row[15],
        date_source=row[16],
        review_by=row[17],
        owner=row[18],
        session=row[19] if len(row) > 19 else None,
        link=row[20] if len(row) > 20 else None,
    )


def document_values(
    doc: DocumentInput, doc_id: str, now: str, as_list: Callable[[Sequence[str]], Any]
) -> tuple[Any, ...]:
    """A document's column values in the order both stores insert them (doc_id, origin,
    source, root, type, title, team, course, module, author, date, skills, tags, visibility,
    content_hash, ingested_at, date_source, review_by, owner, session, link); `as_list` writes a
    list column (JSON text, or an array)."""
    meta = doc.meta
    return (
        doc_id,
        doc.origin,
        doc.source,
        doc.root,
        doc.type,
        meta.title,
        meta.team,
        meta.course,
        meta.module,
        meta.author,
        meta.date,
        as_list(meta.skills),
        as_list(meta.tags),
        as_list(meta.visibility),
        doc.content_hash,
        now,
        meta.date_source,
        meta.review_by,
        meta.owner,
        meta.session,
        meta.link,
    )


def sessions_to_backfill(
    rows: Sequence[Sequence[Any]],
) -> list[tuple[str, str]]:
    """(session, doc_id) for the rows (doc_id, source, course, module, date) of documents
    stored before sessions existed that the inference rules put in one (kb.sessions): what a
    store writes once, when it first has the column. Declared sessions need a re-ingest."""
    out: list[tuple[str, str]] = []
    for doc_id, source, course, module, date in rows:
        session = infer_session(source, course, module, date)
        if session is not None:
            out.append((session, doc_id))
    return out


def location_to_json(location: Location) -> str:
    return json.dumps(
        {"label": location.label, "anchor": location.anchor, "detail": location.detail},
        ensure_ascii=False,
    )


def location_from_json(raw: str) -> Location:
    data = json.loads(raw)
    return Location(
        label=data["label"], anchor=data.get("anchor", ""), detail=data.get("detail", {})
    )


def places_to_json(places: Sequence[Place]) -> str | None:
    """A chunk's places as both stores keep them (NULL for a chunk of one piece)."""
    if not places:
        return None
    return json.dumps(
        [
            {"start": p.start, "label": p.location.label, "anchor": p.location.anchor}
            | ({"detail": p.location.detail} if p.location.detail else {})
            for p in places
        ],
        ensure_ascii=False,
    )


def places_from_json(raw: str | None) -> tuple[Place, ...]:
    """The places `places_to_json` wrote; () for NULL (a store from before places were kept,
    or a chunk of one piece: its location is its one place)."""
    if not raw:
        return ()
    return tuple(
        Place(int(p["start"]), Location(p["label"], p.get("anchor", ""), p.get("detail", {})))
        for p in json.loads(raw)
    )


@dataclass(frozen=True)
class FilterSql:
    """How one SQL dialect writes the filters' three kinds of test, over alias `d`."""

    everything: str  # the clause of no filter
    equals: str  # a column equal to a value, case aside; {column}
    holds: str  # a list column holding a value, case aside; {column}
    visible: Callable[[tuple[str, ...]], tuple[str, list[Any]]]  # kb.types.visible_to


def filters_in(sql: FilterSql, filters: SearchFilters | None) -> tuple[str, list[Any]]:
    """The WHERE clause of the filters (and the viewer's visibility) with its parameters:
    one rule for both backends, each in its own SQL."""
    if filters is None:
        return sql.everything, []
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("team", "course", "type", "module", "session"):
        value = getattr(filters, column)
        if value is not None:
            clauses.append(sql.equals.format(column=column))
            params.append(value)
    for column, value in (("skills", filters.skill), ("tags", filters.tag)):
        if value is not None:
            clauses.append(sql.holds.format(column=column))
            params.append(value)
    if filters.viewer_teams is not None:
        clause, teams = sql.visible(filters.viewer_teams)
        clauses.append(clause)
        params.extend(teams)
    return (" AND ".join(clauses) or sql.everything), params
